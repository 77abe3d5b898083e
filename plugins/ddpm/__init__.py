"""DDPM plugin (Ho, Jain & Abbeel 2020) with swappable samplers: DDPM ancestral and DDIM."""

from dataclasses import replace

from zoo import ModelSpec, SamplerSpec, hookimpl
from zoo.options import DIFFUSION_RULES, ETA, TIMESTEP_SPACING

PAPER = "Ho, Jain & Abbeel, Denoising Diffusion Probabilistic Models, NeurIPS 2020. arXiv:2006.11239"
# The Hub release of the paper's CIFAR-10 model, in diffusers' format (UNet2DModel + DDPMScheduler).
CIFAR_CONFIG = {
    "image_size": 32, "in_channels": 3, "block_out_channels": [128, 256, 256, 256], "layers_per_block": 2,
    "attention_resolutions": [16], "norm_num_groups": 32, "dropout": 0.1, "downsample_padding": 0,
    "flip_sin_to_cos": False, "freq_shift": 1, "beta_schedule": "linear", "prediction_type": "epsilon",
    "variance_type": "fixed_large",
    # DDIM with no step count: its 50 steps, as diffusers' DDIMPipeline (fast); --sampler ddpm: all 1,000
    # steps, the repo's own DDPMPipeline. The grid (leading) and rules come from the repo's scheduler_config.json.
    "sampler": "ddim", "steps": None,
}


DDPM = ModelSpec(
    id="ddpm", factory="zoo_plugins.ddpm.model:DDPM", trainer="zoo_plugins.ddpm.train:DDPMTrainingStep",
    family="diffusion", image_shape=(1, 28, 28), samplers=("ddpm", "ddim"),
    # 1.6M parameters; cosine schedule (Nichol & Dhariwal 2021) with v-prediction (Salimans & Ho 2022)
    config={"block_out_channels": [32, 64, 64], "attention_resolutions": [7], "norm_num_groups": 16,
            "beta_schedule": "cosine", "prediction_type": "v_prediction", "sampler": "ddim", "steps": 50},
    test_config={"block_out_channels": [8, 16], "layers_per_block": 1, "attention_resolutions": [14],
                 "norm_num_groups": 4, "num_train_timesteps": 20, "steps": 3},
    paper=PAPER, license="Apache-2.0",
    description="UNet diffusion model with swappable samplers (DDPM ancestral, DDIM).",
)


@hookimpl
def register_models(register):
    register(DDPM)
    register(replace(DDPM, id="ddpm-fashion", arch="ddpm", dataset="fashion-mnist", weights="bundled",
                     description="DDPM (v-prediction, cosine schedule) trained on the Fashion-MNIST train split."))
    register(replace(
        DDPM, id="ddpm-cifar", arch="ddpm", image_shape=(3, 32, 32), config=CIFAR_CONFIG, dataset="cifar10",
        license="apache-2.0", weights="hub", hub_repo="google/ddpm-cifar10-32",
        hub_weights_file="diffusion_pytorch_model.safetensors",
        # Not pinned: not verified offline. The Hub's pages show main at 267b167dc01f0e4e61923ea244e8b988f84deb80
        # with this file's sha256 1558dbe3fb093b0857d473e376b711eeda1b186c557be5e85b3a56300cd49f0f.
        hub_revision="", hub_sha256="",
        hub_extra_files=("scheduler_config.json",), loader="zoo_plugins.ddpm.from_diffusers:load_diffusers_folder",
        description="The DDPM paper's CIFAR-10 model (35.7M parameters), from the diffusers release on the Hub,"
                    " sampled as diffusers samples it (the repo's scheduler: leading grid, fixed_large variance,"
                    " clipping; diffusers' step rules). Default DDIM 50 steps, for speed; the repo's own"
                    " pipeline (DDPM ancestral, 1,000 steps): zoo sample ddpm-cifar --sampler ddpm",
    ))


@hookimpl
def register_samplers(register):
    grid = (TIMESTEP_SPACING, DIFFUSION_RULES)
    register(SamplerSpec(id="ddpm", factory="zoo_plugins.ddpm.samplers:DDPMSampler", options=grid,
                         description="Ancestral sampling, Ho et al. 2020 Algorithm 2 (strided when steps < T)."))
    register(SamplerSpec(id="ddim", factory="zoo_plugins.ddpm.samplers:DDIMSampler", options=(ETA, *grid),
                         description="DDIM, Song et al. 2021 eq. 12; eta=0 deterministic, eta=1 DDPM-like."))
