"""StyleGAN2 plugin (Karras et al. 2020): mapping network, modulated/demodulated convolutions,
noise inputs, output skips, a residual discriminator; truncation, style mixing and
interpolation in W; and the ``zoo mix`` command that draws the style-mixing grid."""

from dataclasses import replace

from zoo import ModelSpec, hookimpl
from zoo.options import Option

NOISE_MODES = ("const", "random")
TRUNCATION = Option("truncation", "float", "Truncation ψ in W (StyleGAN, Appendix B).", min=0, max=1,
                    note="1: off, 0: the average image")
NOISE = Option("noise", "str", "Noise inputs: const (the stored images) or random (drawn from the seed).",
               choices=NOISE_MODES)

STYLEGAN2 = ModelSpec(
    id="stylegan2", factory="zoo_plugins.stylegan2.model:StyleGAN2",
    trainer="zoo_plugins.stylegan2.train:StyleGAN2TrainingStep",
    family="gan", capabilities=("generator", "interpolation", "truncation", "style-mixing"), image_shape=(1, 28, 28),
    options=(TRUNCATION, NOISE),
    # sized to train on one CPU core (see the card); the networks run at 32×32, samples are cropped to 28×28
    config={"z_dim": 128, "w_dim": 128, "mapping_layers": 4, "g_channels": [128, 64, 32, 16],
            "d_channels": [128, 64, 32, 16]},
    test_config={"z_dim": 8, "w_dim": 8, "mapping_layers": 2, "g_channels": [8, 8, 4, 4],
                 "d_channels": [8, 8, 4, 4]},
    paper="Karras, Laine, Aittala, Hellsten, Lehtinen & Aila, Analyzing and Improving the Image Quality "
          "of StyleGAN, CVPR 2020. arXiv:1912.04958",
    license="Apache-2.0",
    description="StyleGAN2 for 28×28 images: logistic loss, lazy R1, style-mixing regularization, "
                "Adam(0.002, (0, 0.99)); sample(..., truncation=ψ), mix(seed_a, seed_b, layers), `zoo mix`.",
)


@hookimpl
def register_models(register):
    register(STYLEGAN2)
    register(replace(STYLEGAN2, id="stylegan2-fashion", arch="stylegan2", dataset="fashion-mnist",
                     weights="bundled", description="StyleGAN2 trained on the Fashion-MNIST train split."))


@hookimpl
def register_commands(cli):
    from zoo_plugins.stylegan2.commands import add_commands

    add_commands(cli)
