"""A plain (deterministic) autoencoder as a zoo plugin.

The lecture's foil to the VAE: it reconstructs well, but nothing shapes its latent
space, so sampling needs a Gaussian fitted to the training codes afterwards, and
those samples are worse than the VAE's. This package is the template for a
third-party plugin: a hookimpl with specs here, modules in ``model.py``, the
training step in ``train.py``, and weights shipped inside the package.
"""

from dataclasses import replace
from pathlib import Path

from zoo import ModelSpec, hookimpl

AE = ModelSpec(
    id="ae", factory="zoo_autoencoder.model:Autoencoder", trainer="zoo_autoencoder.train:AETrainingStep",
    family="autoencoder", capabilities=("generator", "encoder", "interpolation"), image_shape=(1, 28, 28),
    config={"z_dim": 16, "base_channels": 32}, test_config={"z_dim": 4, "base_channels": 4},
    paper="Hinton & Salakhutdinov, Reducing the Dimensionality of Data with Neural Networks, Science 2006",
    license="Apache-2.0",
    description="Plain convolutional autoencoder; samples from a Gaussian fitted to its codes.",
)


@hookimpl
def register_models(register):
    register(AE)
    register(replace(AE, id="ae-fashion", arch="ae", dataset="fashion-mnist", weights="bundled",
                     path=str(Path(__file__).parent / "weights" / "ae-fashion"),
                     description="Autoencoder trained on Fashion-MNIST, weights shipped in this package."))
