"""StyleGAN2 plugin: sampling, truncation, style mixing, interpolation in W, the training
step and ``zoo mix``, on the tiny test config."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from click.testing import CliRunner

import zoo
from zoo.cli import cli
from zoo.errors import BadInputError
from zoo.weights import save_model_folder

from .conftest import one_line_error, tiny


def trained_like(**overrides):
    """The tiny StyleGAN2 with w_avg and noise strengths as training leaves them."""
    model = tiny("stylegan2", **overrides)
    with torch.no_grad():  # as after training: w_avg away from 0, noise inputs switched on
        model.G.mapping.w_avg.normal_()
        for name, p in model.G.named_parameters():
            if name.endswith("noise.strength"):
                p.fill_(0.5)
    return model.eval()


@pytest.fixture(scope="module")
def model():
    return trained_like()


def close(a: torch.Tensor, b: torch.Tensor) -> bool:
    return torch.allclose(a, b, atol=1e-5)


def test_specs_are_registered():
    arch, fashion = zoo.model_spec("stylegan2"), zoo.model_spec("stylegan2-fashion")
    assert arch.family == "gan" and {"truncation", "style-mixing", "interpolation"} <= set(arch.capabilities)
    assert fashion.architecture == "stylegan2" and fashion.dataset == "fashion-mnist" and fashion.weights == "bundled"
    assert fashion.image_shape == (1, 28, 28)


def test_plugin_and_command_modules_import_no_torch():
    code = ("import sys, zoo_plugins.stylegan2, zoo_plugins.stylegan2.commands; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_shapes_and_range(model):
    images = model.sample(3, seed=0)
    assert images.shape == (3, 1, 28, 28) and 0 <= images.min() and images.max() <= 1
    assert model.num_ws == 8  # 2 per resolution, 4×4 to 32×32
    z = torch.randn(2, model.z_dim)
    assert model.G(z).shape == (2, 1, 32, 32)  # the networks run at 32×32; samples are the centre crop
    assert model.critic(model.generator_forward(z, None), None).shape == (2,)


@pytest.mark.parametrize("options", [{}, {"truncation": 0.7}, {"noise": "random"},
                                     {"truncation": 0.5, "noise": "random"}])
def test_same_seed_same_images(model, options):
    a, b = model.sample(4, seed=3, **options), model.sample(4, seed=3, **options)
    assert torch.equal(a, b)
    assert not torch.equal(a, model.sample(4, seed=4, **options))


def test_noise_modes_differ_and_truncation_changes_images(model):
    const = model.sample(2, seed=0)
    assert not torch.equal(const, model.sample(2, seed=0, noise="random"))
    assert not torch.equal(const, model.sample(2, seed=0, truncation=0.5))
    assert torch.equal(const, model.sample(2, seed=0, truncation=1.0))


def test_truncation_zero_gives_the_average_image_for_every_seed(model):
    images = torch.cat([model.sample(2, seed=s, truncation=0) for s in (0, 1, 2)])
    assert all(close(images[0], x) for x in images[1:])
    w_avg = model.G.mapping.w_avg[None]
    average = (model.synthesis(model.broadcast(w_avg)) + 1) / 2
    assert close(images[0], average[0].clamp(0, 1))


def test_truncation_pulls_w_towards_the_average(model):
    z = torch.randn(4, model.z_dim)
    w, w_half = model.mapping(z), model.mapping(z, 0.5)
    assert close(w_half - model.G.mapping.w_avg, 0.5 * (w - model.G.mapping.w_avg))


@pytest.mark.parametrize("psi", [-0.1, 1.5, "0.5", True, float("nan")])
def test_bad_truncation_is_refused(model, psi):
    with pytest.raises(BadInputError, match="truncation"):
        model.sample(1, seed=0, truncation=psi)
    with pytest.raises(BadInputError, match="truncation"):
        model.mix(0, 1, [0], truncation=psi)


def test_unknown_option_and_load_time_defaults(tmp_path):
    model = trained_like()
    with pytest.raises(BadInputError, match="unknown options"):
        model.sample(1, seed=0, steps=3)
    with pytest.raises(BadInputError, match="noise"):
        model.sample(1, seed=0, noise="fresh")
    save_model_folder(model, tmp_path / "m")
    loaded = zoo.load(str(tmp_path / "m"))
    assert close(loaded.sample(2, seed=0), model.sample(2, seed=0))  # w_avg and noise_const travel
    model.configure_sampling(truncation=0.6)
    assert torch.equal(model.sample(2, seed=0), model.sample(2, seed=0, truncation=0.6))
    with pytest.raises(BadInputError):
        model.configure_sampling(truncation=3)


def test_mix_with_no_layers_is_a_and_with_all_layers_is_b(model):
    a, b = model.sample(1, seed=1), model.sample(1, seed=2)
    assert close(model.mix(1, 2, layers=[]), a)
    assert close(model.mix(1, 2, layers=range(model.num_ws)), b)
    coarse = model.mix(1, 2, layers=[0, 1, 2, 3])
    assert coarse.shape == (1, 1, 28, 28) and not close(coarse, a) and not close(coarse, b)
    assert close(model.mix(1, 2, layers=[0], truncation=0.0), model.sample(1, seed=5, truncation=0.0))
    pairs = model.mix([1, 3], 2, layers=[])
    assert pairs.shape == (2, 1, 28, 28) and close(pairs[1:], model.sample(1, seed=3))


@pytest.mark.parametrize("layers", [[8], [-1], [0, 99], ["a"], [1.5]])
def test_bad_layers_are_refused(model, layers):
    with pytest.raises(BadInputError, match="out of range"):
        model.mix(0, 1, layers)
    with pytest.raises(BadInputError, match="out of range"):
        model.mixing_grid([0], [1], layers)


def test_mixing_grid_layout(model):
    grid = model.mixing_grid([1, 2], [3, 4, 5], layers=[4, 5, 6, 7], truncation=0.8)
    assert grid.shape == (3 * 4, 1, 28, 28)
    assert grid[0].abs().sum() == 0  # blank corner
    assert close(grid[1:4], torch.cat([model.sample(1, seed=s, truncation=0.8) for s in (3, 4, 5)]))
    assert close(grid[4], model.sample(1, seed=1, truncation=0.8)[0])  # row source
    assert close(grid[6], model.mix(1, 4, [4, 5, 6, 7], truncation=0.8)[0])  # row 1, column seed 4
    assert close(grid[11], model.mix(2, 5, [4, 5, 6, 7], truncation=0.8)[0])
    assert model.mixing_grid([0], [1]).shape == (4, 1, 28, 28)  # default: the coarse layers


def test_interpolation_is_linear_in_w(model):
    strip = model.interpolate(0, 1, num_steps=5)
    assert strip.shape == (5, 1, 28, 28)
    assert close(strip[0], model.sample(1, seed=0)[0]) and close(strip[-1], model.sample(1, seed=1)[0])
    w = model._ws_of_seeds([0, 1], None)
    middle = ((model.synthesis(model.broadcast((w[:1] + w[1:]) / 2)) + 1) / 2).clamp(0, 1)
    assert close(strip[2], middle[0])
    with pytest.raises(BadInputError):
        model.interpolate(0, 1, 4, label=2)


def test_training_step_updates_both_networks_with_r1_and_style_mixing():
    from zoo_plugins.stylegan2.train import StyleGAN2TrainingStep

    model = trained_like(mixing_prob=1.0).train()

    class Accelerator:
        def backward(self, loss):
            loss.backward()

    step = StyleGAN2TrainingStep(model)
    assert (step.lr, step.betas, step.r1_every, step.loss) == (0.002, (0.0, 0.99), 16, "logistic")
    step.optimizers = step.configure_optimizers()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls = []
    model.G.mapping.register_forward_hook(lambda *args: calls.append(1))
    images = torch.rand(8, 1, 28, 28)
    logs = step.step(images, torch.zeros(8, dtype=torch.long), 0, Accelerator())
    assert {"d_loss", "g_loss", "r1"} <= set(logs) and all(torch.isfinite(torch.tensor(list(logs.values()))))
    assert len(calls) == 2  # two latents: style mixing with probability 1
    after = model.state_dict()
    for prefix in ("G.mapping.layers", "G.synthesis", "D."):
        assert any(not torch.equal(before[k], after[k]) for k in after if k.startswith(prefix)), prefix
    assert not torch.equal(before["G.mapping.w_avg"], after["G.mapping.w_avg"])
    assert "r1" not in step.step(images, torch.zeros(8, dtype=torch.long), 1, Accelerator())


def test_training_fakes_use_fresh_noise():
    model = trained_like(mixing_prob=0.0).train()
    torch.manual_seed(1)
    a = model.training_fakes(2, None, torch.device("cpu"))
    assert a.shape == (2, 1, 28, 28) and a.requires_grad


# --------------------------------------------------------------------------- zoo mix


@pytest.fixture
def mix_cli():
    from zoo_plugins.stylegan2 import register_commands

    register_commands(cli)
    yield CliRunner()
    cli.commands.pop("mix", None)


def test_zoo_mix_writes_the_grid_and_refuses_bad_input(mix_cli, tmp_path):
    from PIL import Image

    folder = tmp_path / "sg2"
    save_model_folder(trained_like(), folder)
    out = tmp_path / "grid.png"
    args = ["mix", str(folder), "--rows", "1", "2", "--cols", "3", "4", "5", "--layers", "0-3", "-o", str(out)]
    result = mix_cli.invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert Image.open(out).size == (4 * 30 + 2, 3 * 30 + 2)  # 3 rows × 4 columns of 28 px, 2 px borders
    one_line_error(mix_cli.invoke(cli, args), "already exists")
    result = mix_cli.invoke(cli, [*args, "--truncation", "0.7", "--layers", "0,1", "--force"])
    assert result.exit_code == 0, result.output
    one_line_error(mix_cli.invoke(cli, [*args[:-1], str(tmp_path / "b.png"), "--layers", "9"]), "out of range")
    one_line_error(mix_cli.invoke(cli, [*args[:-1], str(tmp_path / "b.png"), "--layers", "x"]), "--layers")
    one_line_error(mix_cli.invoke(cli, [*args[:-1], str(tmp_path / "b.png"), "--truncation", "2"]), "truncation")


def test_zoo_mix_on_a_model_without_style_mixing(mix_cli, tmp_path):
    torch.manual_seed(0)
    folder = tmp_path / "dcgan"
    save_model_folder(zoo.create("dcgan", **zoo.model_spec("dcgan").test_config), folder)
    result = mix_cli.invoke(cli, ["mix", str(folder), "--rows", "1", "--cols", "2", "-o", str(tmp_path / "g.png")])
    one_line_error(result, "no style mixing")


def test_parse_int_list():
    from zoo_plugins.stylegan2.commands import parse_int_list

    assert parse_int_list("0-3", "x") == [0, 1, 2, 3]
    assert parse_int_list("0,1, 5", "x") == [0, 1, 5]
    assert parse_int_list("1 2 3", "x") == [1, 2, 3]
    assert parse_int_list("0-1,6", "x") == [0, 1, 6]
    for bad in ("a", "3-1", "", "-1"):
        with pytest.raises(BadInputError):
            parse_int_list(bad, "x")
