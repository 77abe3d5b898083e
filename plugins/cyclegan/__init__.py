"""CycleGAN plugin (Zhu et al. 2017): unpaired image-to-image translation between two domains."""

from dataclasses import replace

from zoo import ModelSpec, hookimpl

CYCLEGAN = ModelSpec(
    id="cyclegan", factory="zoo_plugins.cyclegan.model:CycleGAN",
    trainer="zoo_plugins.cyclegan.train:CycleGANTrainingStep",
    family="gan", capabilities=("translation",), image_shape=(1, 28, 28),
    # the paper's ResNet generator (k = 24 of 64, 4 of its 6-9 blocks) and PatchGAN (32 of 64): 28×28 on a CPU core
    config={"g_channels": 24, "g_blocks": 4, "d_channels": 32, "d_layers": 2},
    test_config={"g_channels": 4, "g_blocks": 1, "d_channels": 4, "d_layers": 1},
    paper="Zhu, Park, Isola & Efros, Unpaired Image-to-Image Translation using Cycle-Consistent "
          "Adversarial Networks, ICCV 2017. arXiv:1703.10593",
    license="Apache-2.0",
    description="CycleGAN: two ResNet translators G: A→B and F: B→A, two PatchGAN discriminators, least-squares "
                "GAN loss, cycle loss λ = 10, identity loss 0.5λ, a pool of 50 fakes. "
                "`zoo train cyclegan --data A --data B`.",
)


@hookimpl
def register_models(register):
    register(CYCLEGAN)
    register(replace(CYCLEGAN, id="cyclegan-sneaker-boot", arch="cyclegan", weights="bundled",
                     dataset="fashion-mnist:sneaker,fashion-mnist:ankle-boot",
                     description="Fashion-MNIST sneakers (A) ↔ ankle boots (B), trained unpaired on the 6,000 "
                                 "training images of each class."))
    register(replace(CYCLEGAN, id="cyclegan-digits-mnist", arch="cyclegan", weights="bundled",
                     dataset="digits@28,mnist",
                     description="scikit-learn's 8×8 digits upscaled to 28×28 (A) ↔ MNIST (B): the same "
                                 "classes in two hands and resolutions."))
