"""The shared GAN machinery (zoo/gan.py) and the DCGAN, WGAN-GP and cGAN plugins."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from zoo_plugins.cgan.model import CGANTrainingStep
from zoo_plugins.wgan_gp.model import WGANGPTrainingStep

from zoo.errors import BadInputError
from zoo.gan import (
    LOSSES,
    GANTrainingStep,
    d_hinge_loss,
    d_logistic_loss,
    d_wasserstein_loss,
    g_logistic_loss,
    gradient_penalty,
    r1_penalty,
)

from .conftest import one_line_error, run, tiny


class Backward:
    """What the training loop's Accelerator does in a step: backward only."""

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()


def bound(step: GANTrainingStep) -> GANTrainingStep:
    step.optimizers = step.configure_optimizers()
    return step


def params(module: nn.Module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def changed(before: list[torch.Tensor], module: nn.Module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


# --------------------------------------------------------------------------- losses and penalties


def test_losses_on_known_scores():
    real, fake = torch.tensor([2.0, 0.0]), torch.tensor([-1.0, 1.0])
    softplus = torch.nn.functional.softplus
    assert torch.isclose(d_logistic_loss(real, fake), softplus(-real).mean() + softplus(fake).mean())
    assert torch.isclose(g_logistic_loss(fake), softplus(-fake).mean())
    assert d_wasserstein_loss(real, fake) == pytest.approx(0.0 - 1.0)
    assert d_hinge_loss(real, fake) == pytest.approx((0 + 1) / 2 + (0 + 2) / 2)
    # least squares (real → 1, fake → 0): ½((2-1)² + (0-1)²)/2 + ½((-1)² + 1²)/2 for D; ((-2)² + 0²)/2 for G
    d_ls, g_ls = LOSSES["least-squares"]
    assert d_ls(real, fake) == pytest.approx(0.5 * (1.0 + 1.0))
    assert g_ls(fake) == pytest.approx((4 + 0) / 2)
    assert set(LOSSES) == {"logistic", "wasserstein", "hinge", "least-squares"}


def test_the_image_pool_fills_then_swaps_half_the_time():
    from zoo.gan import ImagePool

    torch.manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).reshape(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first)  # filling: the new fakes come back
    new = 100 + torch.arange(200.0).reshape(200, 1, 1, 1)
    out = pool.query(new)
    swapped = (out != new).float().mean().item()
    assert 0.35 < swapped < 0.65  # about half of the fakes D sees are older ones
    assert set(out[out != new].tolist()) <= set(range(4)) | set((100 + torch.arange(200.0)).tolist())
    assert len(pool.images) == 4
    assert torch.equal(ImagePool(0).query(first), first)


def test_penalties_of_a_linear_critic_are_closed_form():
    # D(x) = <w, x>: the gradient is w everywhere, so GP = (|w| - 1)^2 and R1 = |w|^2.
    w = torch.randn(1, 3, 4, 4)

    def critic(x: torch.Tensor) -> torch.Tensor:
        return (x * w).flatten(1).sum(1)

    real, fake = torch.randn(5, 3, 4, 4), torch.randn(5, 3, 4, 4)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx((w.norm().item() - 1) ** 2, rel=1e-5)
    assert r1_penalty(critic, real).item() == pytest.approx(w.pow(2).sum().item(), rel=1e-5)


def test_gradient_penalty_reaches_the_critic_weights():
    critic = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, 1))
    gp = gradient_penalty(lambda x: critic(x).flatten(), torch.randn(4, 1, 4, 4), torch.randn(4, 1, 4, 4))
    gp.backward()
    assert critic[1].weight.grad is not None and critic[1].weight.grad.abs().sum() > 0


def test_bad_training_options_are_one_clear_error():
    with pytest.raises(BadInputError, match="unknown GAN loss 'squares'"):
        GANTrainingStep(tiny("dcgan"), loss="squares")
    with pytest.raises(BadInputError, match="n_critic"):
        GANTrainingStep(tiny("dcgan"), n_critic=0)


# --------------------------------------------------------------------------- the alternating update


def test_generator_moves_once_every_n_critic_steps():
    model = tiny("wgan-gp")
    step = bound(WGANGPTrainingStep(model))
    assert (step.n_critic, step.gp_weight, step.betas, step.lr) == (5, 10.0, (0.0, 0.9), 1e-4)
    images, labels = torch.rand(8, 1, 28, 28), torch.zeros(8, dtype=torch.long)
    g_before, d_before = params(model.G), params(model.D)
    for i in range(4):
        logs = step.step(images, labels, i, Backward())
        assert "gp" in logs and "g_loss" not in logs
    assert changed(d_before, model.D) and not changed(g_before, model.G)
    logs = step.step(images, labels, 4, Backward())
    assert "g_loss" in logs and changed(g_before, model.G)


def test_dcgan_updates_both_networks_every_step():
    model = tiny("dcgan")
    step = bound(GANTrainingStep(model))
    g_before, d_before = params(model.G), params(model.D)
    logs = step.step(torch.rand(8, 1, 28, 28), torch.zeros(8, dtype=torch.long), 0, Backward())
    assert set(logs) == {"d_loss", "g_loss"}
    assert changed(g_before, model.G) and changed(d_before, model.D)


def test_lazy_r1_runs_every_r1_every_steps():
    model = tiny("dcgan")
    step = bound(GANTrainingStep(model, r1_gamma=1.0, r1_every=2))
    batch = (torch.rand(4, 1, 28, 28), torch.zeros(4, dtype=torch.long))
    assert "r1" in step.step(*batch, 0, Backward())
    assert "r1" not in step.step(*batch, 1, Backward())


def test_wgan_critic_has_no_batch_norm():
    model = tiny("wgan-gp")
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.D.modules())


# --------------------------------------------------------------------------- the conditional GAN


def test_cgan_labels_pick_the_class_and_reach_both_networks():
    model = tiny("cgan")  # classes a ... j
    # Conditional batch norm starts class-blind (scale 1, shift 0); give the classes apart.
    for module in model.G.modules():
        if isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, 1.0, 0.5)
    assert model.class_names == tuple("abcdefghij")
    by_name = model.sample(3, seed=0, labels="b")
    assert torch.equal(by_name, model.sample(3, seed=0, labels=1))
    assert torch.equal(by_name, model.sample(3, seed=0, labels=["b", "b", "b"]))
    assert not torch.equal(by_name, model.sample(3, seed=0, labels="c"))
    mixed = model.sample(2, seed=0, labels=["a", "c"])
    assert torch.equal(mixed[1], model.sample(2, seed=0, labels="c")[1])
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert not torch.equal(model.critic(x, torch.tensor([0, 0])), model.critic(x, torch.tensor([2, 2])))


def test_cgan_bad_labels_are_one_clear_error():
    model = tiny("cgan")
    with pytest.raises(BadInputError, match="unknown class 'z'; valid classes: a, b, c, d"):
        model.sample(2, seed=0, labels="z")
    with pytest.raises(BadInputError, match="out of range 0..9"):
        model.sample(2, seed=0, labels=12)
    with pytest.raises(BadInputError, match="give one or 2"):
        model.sample(2, seed=0, labels=["a", "b", "c"])
    with pytest.raises(BadInputError, match="not class-conditional"):
        tiny("dcgan").sample(2, seed=0, labels="a")


def test_cgan_interpolation_keeps_one_class():
    model = tiny("cgan")
    strip = model.interpolate(0, 1, num_steps=3, label="c")
    assert torch.allclose(strip[0], model.sample(1, seed=0, labels="c")[0], atol=1e-5)
    # without a label the strip takes the class seed 0 draws when sampling
    assert torch.allclose(model.interpolate(0, 1, num_steps=3)[0], model.sample(1, seed=0)[0], atol=1e-5)
    with pytest.raises(BadInputError, match="not class-conditional"):
        tiny("dcgan").interpolate(0, 1, label="a")


def test_cgan_training_step_uses_the_hinge_loss_and_the_labels():
    model = tiny("cgan")
    step = bound(CGANTrainingStep(model))
    assert step.loss == "hinge"
    g_before = params(model.G)
    logs = step.step(torch.rand(6, 1, 28, 28), torch.tensor([0, 1, 2, 0, 1, 2]), 0, Backward())
    assert set(logs) == {"d_loss", "g_loss"} and changed(g_before, model.G)
    with pytest.raises(BadInputError, match="the data has class 12, but the model has 10 classes"):
        step.step(torch.rand(2, 1, 28, 28), torch.tensor([0, 12]), 1, Backward())


def test_cli_label_and_truncation_errors(tmp_path):
    from zoo.weights import save_model_folder

    save_model_folder(tiny("cgan"), tmp_path / "cgan")
    out = tmp_path / "g.png"
    one_line_error(run("sample", str(tmp_path / "cgan"), "--label", "sneaker", "-o", str(out)),
                   "unknown class 'sneaker'; valid classes: a, b, c")
    one_line_error(run("sample", str(tmp_path / "cgan"), "--truncation", "0.5", "-o", str(out)), "truncation")
    assert not out.exists()
    result = run("sample", str(tmp_path / "cgan"), "--label", "b", "--label", "2", "-n", "2", "-o", str(out))
    assert result.exit_code == 0, result.output
    result = run("interpolate", str(tmp_path / "cgan"), "--seeds", "0", "1", "--label", "c", "-o",
                 str(tmp_path / "strip.png"))
    assert result.exit_code == 0 and (tmp_path / "strip.png").is_file(), result.output
