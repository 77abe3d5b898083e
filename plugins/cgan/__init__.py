"""Class-conditional GAN plugin: conditional batch norm in the generator and a
projection discriminator (Miyato & Koyama 2018)."""

from dataclasses import replace

from zoo import ModelSpec, hookimpl
from zoo.data import FASHION_MNIST_CLASSES  # zoo.data imports torch only when loading data

CGAN = ModelSpec(
    id="cgan", factory="zoo_plugins.cgan.model:CGAN", trainer="zoo_plugins.cgan.model:CGANTrainingStep",
    family="gan", capabilities=("generator", "conditional", "interpolation"), image_shape=(1, 28, 28),
    config={"z_dim": 100, "g_channels": 48, "d_channels": 48, "class_names": list(FASHION_MNIST_CLASSES)},
    test_config={"z_dim": 8, "g_channels": 4, "d_channels": 4, "class_names": list("abcdefghij")},
    classes=FASHION_MNIST_CLASSES,
    paper="Mirza & Osindero, Conditional Generative Adversarial Nets, 2014 (arXiv:1411.1784); "
          "Miyato & Koyama, cGANs with Projection Discriminator, ICLR 2018 (arXiv:1802.05637)",
    license="Apache-2.0",
    description="Class-conditional GAN for 28×28 images: conditional batch norm in G, spectral-norm "
                "projection discriminator, hinge loss.",
)


@hookimpl
def register_models(register):
    register(CGAN)
    register(replace(CGAN, id="cgan-fashion", arch="cgan", dataset="fashion-mnist", weights="bundled",
                     description="Class-conditional GAN trained on the Fashion-MNIST train split; "
                                 "`--label sneaker` picks the class."))
