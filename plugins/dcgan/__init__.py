"""DCGAN plugin (Radford, Metz & Chintala 2016)."""

from zoo import ModelSpec, hookimpl

PAPER = ("Radford, Metz & Chintala, Unsupervised Representation Learning with Deep "
         "Convolutional Generative Adversarial Networks, ICLR 2016. arXiv:1511.06434")
CAPABILITIES = ("generator", "interpolation")


@hookimpl
def register_models(register):
    register(ModelSpec(
        id="dcgan", factory="zoo_plugins.dcgan.model:DCGAN",
        trainer="zoo_plugins.dcgan.train:DCGANTrainingStep",
        family="gan", capabilities=CAPABILITIES, image_shape=(1, 28, 28),
        config={"z_dim": 100, "g_channels": 64, "d_channels": 64},
        test_config={"z_dim": 8, "g_channels": 4, "d_channels": 4},
        paper=PAPER, license="Apache-2.0",
        description="DCGAN generator and discriminator for 28×28 images.",
    ))
    register(ModelSpec(
        id="dcgan-fashion", arch="dcgan", factory="zoo_plugins.dcgan.model:DCGAN",
        family="gan", capabilities=CAPABILITIES, image_shape=(1, 28, 28),
        dataset="fashion-mnist", paper=PAPER, license="Apache-2.0", weights="bundled",
        description="DCGAN trained on the Fashion-MNIST train split.",
    ))
