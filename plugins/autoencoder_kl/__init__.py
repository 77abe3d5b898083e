"""Autoencoder-KL plugin: the spatial-latent, KL-regularized autoencoder of latent diffusion
(Rombach et al. 2022); an encoder role only (reconstruct, interpolate between images)."""

from dataclasses import replace

from zoo import ModelSpec, hookimpl

AUTOENCODER_KL = ModelSpec(
    id="autoencoder-kl", factory="zoo_plugins.autoencoder_kl.model:AutoencoderKL",
    trainer="zoo_plugins.autoencoder_kl.train:AutoencoderKLTrainingStep",
    family="autoencoder", capabilities=("encoder",), image_shape=(1, 28, 28),
    config={"latent_channels": 4, "base_channels": 32, "groups": 8},
    test_config={"latent_channels": 2, "base_channels": 4, "groups": 2},
    paper="Rombach, Blattmann, Lorenz, Esser & Ommer, High-Resolution Image Synthesis with Latent Diffusion "
          "Models, CVPR 2022. arXiv:2112.10752",
    license="Apache-2.0",
    description="KL-regularized autoencoder, 1×28×28 ↔ 4×7×7 latents (f = 4): the first stage of latent diffusion.",
)


@hookimpl
def register_models(register):
    register(AUTOENCODER_KL)
    register(replace(AUTOENCODER_KL, id="autoencoder-kl-fashion", arch="autoencoder-kl", dataset="fashion-mnist",
                     weights="bundled", description="KL autoencoder (1×28×28 ↔ 4×7×7 latents) trained on "
                                                    "Fashion-MNIST; the first stage of ldm-fashion."))
