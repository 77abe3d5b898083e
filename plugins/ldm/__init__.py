"""Latent diffusion plugin (Rombach et al. 2022): a composite of an autoencoder and a diffusion
denoiser, each from its own plugin (autoencoder-kl and ddpm), found through the core."""

from dataclasses import replace

from zoo import ModelSpec, hookimpl

# the denoiser over 4×7×7 latents: a DDPM UNet two levels deep (7 → 4), cosine schedule, v-prediction, no
# clipping of x̂_0 (latents are not bounded to [-1, 1]). Widths 48/96 rather than 64/128 so that a training
# step stays ≥ 4× the pixel-space ddpm's: 4.85× by `python bench/ldm_vs_ddpm.py --ldm ldm-fashion` (ldm-fashion's card)
DENOISER = {"architecture": "ddpm", "in_channels": 4, "image_size": 7, "block_out_channels": [48, 96],
            "layers_per_block": 2, "attention_resolutions": [4], "norm_num_groups": 16, "beta_schedule": "cosine",
            "prediction_type": "v_prediction", "clip_sample": False}

LDM = ModelSpec(
    id="ldm", factory="zoo_plugins.ldm.model:LatentDiffusion",
    trainer="zoo_plugins.ldm.train:LatentDiffusionTrainingStep",
    family="diffusion", capabilities=("generator",), image_shape=(1, 28, 28), samplers=("ddpm", "ddim"),
    components=(("autoencoder", "encoder"), ("denoiser", "generator")),
    # no default autoencoder: it must be a trained one (`zoo train ldm --autoencoder ID_OR_FOLDER`)
    config={"autoencoder": None, "denoiser": DENOISER},
    test_config={"autoencoder": {"architecture": "autoencoder-kl", "latent_channels": 2, "base_channels": 4,
                                 "groups": 2},
                 "denoiser": {"architecture": "ddpm", "in_channels": 2, "image_size": 7, "block_out_channels": [8, 16],
                              "layers_per_block": 1, "attention_resolutions": [4], "norm_num_groups": 4,
                              "num_train_timesteps": 20, "clip_sample": False, "steps": 3},
                 "steps": 3},
    paper="Rombach, Blattmann, Lorenz, Esser & Ommer, High-Resolution Image Synthesis with Latent Diffusion Models, "
          "CVPR 2022. arXiv:2112.10752",
    license="Apache-2.0",
    description="Latent diffusion: a DDPM denoiser in the 4×7×7 latent space of a frozen KL autoencoder; "
                "`zoo train ldm --autoencoder ID`.",
)


@hookimpl
def register_models(register):
    register(LDM)
    register(replace(LDM, id="ldm-fashion", arch="ldm", dataset="fashion-mnist", weights="bundled",
                     description="Latent diffusion trained on Fashion-MNIST in the 4×7×7 latents of "
                                 "autoencoder-kl-fashion (referenced by id, pinned by its weights' sha256)."))
