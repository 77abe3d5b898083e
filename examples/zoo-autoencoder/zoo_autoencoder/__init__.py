"""A plain (deterministic) autoencoder as a zoo plugin.

The lecture's foil to the VAE: it reconstructs well, but nothing shapes its latent
space, so sampling needs a Gaussian fitted to the training codes afterwards, and
those samples are worse than the VAE's. This package is the template for a
third-party plugin: a hookimpl with specs here, modules in ``model.py``, the
training step in ``train.py``, and weights shipped inside the package.
"""

from pathlib import Path

from zoo import ModelSpec, hookimpl

CAPABILITIES = ("generator", "encoder", "interpolation")
PAPER = "Hinton & Salakhutdinov, Reducing the Dimensionality of Data with Neural Networks, Science 2006"


@hookimpl
def register_models(register):
    register(ModelSpec(
        id="ae", factory="zoo_autoencoder.model:Autoencoder", trainer="zoo_autoencoder.train:AETrainingStep",
        family="autoencoder", capabilities=CAPABILITIES, image_shape=(1, 28, 28),
        config={"z_dim": 16, "base_channels": 32}, paper=PAPER, license="Apache-2.0",
        test_config={"z_dim": 4, "base_channels": 4},
        description="Plain convolutional autoencoder; samples from a Gaussian fitted to its codes.",
    ))
    register(ModelSpec(
        id="ae-fashion", arch="ae", factory="zoo_autoencoder.model:Autoencoder",
        family="autoencoder", capabilities=CAPABILITIES, image_shape=(1, 28, 28),
        dataset="fashion-mnist", paper=PAPER, license="Apache-2.0", weights="bundled",
        path=str(Path(__file__).parent / "weights" / "ae-fashion"),
        description="Autoencoder trained on Fashion-MNIST, weights shipped in this package.",
    ))
