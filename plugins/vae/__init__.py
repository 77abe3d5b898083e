"""VAE plugin: a convolutional variational autoencoder (Kingma & Welling 2014)."""

from dataclasses import replace

from zoo import ModelSpec, hookimpl

VAE = ModelSpec(
    id="vae", factory="zoo_plugins.vae.model:VAE", trainer="zoo_plugins.vae.train:VAETrainingStep",
    family="autoencoder", capabilities=("generator", "encoder", "likelihood", "interpolation"),
    image_shape=(1, 28, 28),
    config={"z_dim": 16, "base_channels": 32, "hidden_dim": 256},
    test_config={"z_dim": 4, "base_channels": 4, "hidden_dim": 16},
    paper="Kingma & Welling, Auto-Encoding Variational Bayes, ICLR 2014. arXiv:1312.6114",
    license="Apache-2.0",
    description="Convolutional VAE with a discretized-logistic decoder (ELBO in bits/dim).",
)


@hookimpl
def register_models(register):
    register(VAE)
    register(replace(VAE, id="vae-fashion", arch="vae", dataset="fashion-mnist", weights="bundled",
                     description="VAE trained on the Fashion-MNIST train split."))
