"""WGAN-GP plugin (Gulrajani et al. 2017): a critic without batch norm, trained with
the gradient penalty."""

from dataclasses import replace

from zoo import ModelSpec, hookimpl

WGAN_GP = ModelSpec(
    id="wgan-gp", factory="zoo_plugins.wgan_gp.model:WGANGP", trainer="zoo_plugins.wgan_gp.model:WGANGPTrainingStep",
    family="gan", capabilities=("generator", "interpolation"), image_shape=(1, 28, 28),
    config={"z_dim": 128, "g_channels": 32, "d_channels": 32},  # sized to train on 2 CPU cores
    test_config={"z_dim": 8, "g_channels": 4, "d_channels": 4},
    paper="Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville, Improved Training of Wasserstein GANs, "
          "NeurIPS 2017. arXiv:1704.00028",
    license="Apache-2.0",
    description="Wasserstein GAN with gradient penalty (λ = 10, 5 critic steps per generator step, "
                "Adam(1e-4, (0, 0.9))) for 28×28 images.",
)


@hookimpl
def register_models(register):
    register(WGAN_GP)
    register(replace(WGAN_GP, id="wgan-gp-fashion", arch="wgan-gp", dataset="fashion-mnist", weights="bundled",
                     description="WGAN-GP trained on the Fashion-MNIST train split."))
