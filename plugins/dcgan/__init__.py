"""DCGAN plugin (Radford, Metz & Chintala 2016)."""

from dataclasses import replace

from zoo import ModelSpec, hookimpl

DCGAN = ModelSpec(
    id="dcgan", factory="zoo_plugins.dcgan.model:DCGAN", trainer="zoo.gan:GANTrainingStep",
    family="gan", capabilities=("generator", "interpolation"), image_shape=(1, 28, 28),
    config={"z_dim": 100, "g_channels": 64, "d_channels": 64},
    test_config={"z_dim": 8, "g_channels": 4, "d_channels": 4},
    paper="Radford, Metz & Chintala, Unsupervised Representation Learning with Deep Convolutional "
          "Generative Adversarial Networks, ICLR 2016. arXiv:1511.06434",
    license="Apache-2.0",
    description="DCGAN generator and discriminator for 28×28 images; trained with the non-saturating loss "
                "and Adam(2e-4, β1 = 0.5) (the defaults of zoo.gan.GANTrainingStep).",
)


@hookimpl
def register_models(register):
    register(DCGAN)
    register(replace(DCGAN, id="dcgan-fashion", arch="dcgan", dataset="fashion-mnist", weights="bundled",
                     description="DCGAN trained on the Fashion-MNIST train split."))
