"""VAE plugin: a convolutional variational autoencoder (Kingma & Welling 2014)."""

from zoo import ModelSpec, hookimpl

PAPER = "Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014. arXiv:1312.6114"
CAPABILITIES = ("generator", "encoder", "likelihood", "interpolation")


@hookimpl
def register_models(register):
    register(ModelSpec(
        id="vae", factory="zoo_plugins.vae.model:VAE", trainer="zoo_plugins.vae.train:VAETrainingStep",
        family="autoencoder", capabilities=CAPABILITIES, image_shape=(1, 28, 28),
        config={"z_dim": 16, "base_channels": 32, "hidden_dim": 256},
        test_config={"z_dim": 4, "base_channels": 4, "hidden_dim": 16},
        paper=PAPER, license="Apache-2.0",
        description="Convolutional VAE with a discretized-logistic decoder (ELBO in bits/dim).",
    ))
    register(ModelSpec(
        id="vae-fashion", arch="vae", factory="zoo_plugins.vae.model:VAE",
        family="autoencoder", capabilities=CAPABILITIES, image_shape=(1, 28, 28),
        dataset="fashion-mnist", paper=PAPER, license="Apache-2.0",
        weights="bundled", description="VAE trained on the Fashion-MNIST train split.",
    ))
