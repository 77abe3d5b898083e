"""The training loop's own parts: the EMA, losses returned as tensors (read lazily, divergence still
caught), progress with img/s and an ETA, training.json after a --max-steps run, the fused optimizer
options and channels-last weights."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from torch import nn

from zoo.errors import BadInputError
from zoo.training import EMA, TrainConfig, align_optimizer_state, fused_optimizer_options, to_channels_last, train

from .conftest import tiny


def reference_ema(shadow: dict[str, torch.Tensor], model: nn.Module, decay: float) -> None:
    """The EMA as it was: a lerp of every floating-point state_dict entry, buffers included."""
    state = model.state_dict()
    for k, v in shadow.items():
        v.lerp_(state[k].detach(), 1 - decay)


@pytest.mark.parametrize(("arch", "prefix"), [("dcgan", "G."), ("vae", ""), ("cyclegan", ("G.", "F."))])
def test_ema_averages_the_parameters_as_before_and_copies_the_buffers(arch, prefix):
    model = tiny(arch)
    ema = EMA(model, 0.99, prefix)
    expected = {k: v.clone() for k, v in ema.shadow.items()}
    assert expected and all(k.startswith(prefix) for k in expected)
    gen = torch.Generator().manual_seed(0)
    params = dict(model.named_parameters())
    for _ in range(5):
        with torch.no_grad():
            for t in (*model.parameters(), *(b for b in model.buffers() if b.is_floating_point())):
                t.add_(torch.randn(t.shape, generator=gen))
        ema.update(model)
        reference_ema(expected, model, min(0.99, (1 + ema.num_updates) / (10 + ema.num_updates)))
    state = model.state_dict()
    for k, v in ema.shadow.items():
        if k in params:
            torch.testing.assert_close(v, expected[k], rtol=1e-5, atol=1e-6)
        else:  # batch-norm statistics: the model's own, already running averages
            assert torch.equal(v, state[k]), k


def test_an_ema_read_from_a_checkpoint_follows_the_model():
    model = tiny("vae")
    ema = EMA(model, 0.9)
    ema.shadow = {k: v.double() for k, v in ema.shadow.items()}  # as if loaded in another dtype, or on the CPU
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)
    assert all(v.dtype == torch.float32 for v in ema.shadow.values())
    name, p = next(iter(model.named_parameters()))
    assert not torch.equal(ema.shadow[name], p)


def test_fused_options_and_channels_last_on_the_cpu():
    model = tiny("dcgan")
    assert fused_optimizer_options(model.parameters()) == {"fused": True}
    assert fused_optimizer_options([torch.zeros(2, dtype=torch.int64)]) == {}
    before = {k: v.clone() for k, v in model.state_dict().items()}
    to_channels_last(model)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last) and not conv.weight.is_contiguous()
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the same values


def test_optimizer_state_from_a_checkpoint_takes_the_parameters_layout():
    """A checkpoint's Adam moments in another layout than the weights (saved before the weights were
    channels-last, say): fused Adam would pair the wrong elements unless the loop aligns them."""
    torch.manual_seed(0)
    weight = torch.randn(8, 4, 3, 3)
    grads = [torch.randn(8, 4, 3, 3) for _ in range(2)]
    saved = nn.Parameter(weight.clone())  # contiguous, as an older run saved it
    opt = torch.optim.Adam([saved], lr=0.1, fused=True)
    saved.grad = grads[0]
    opt.step()
    checkpoint = copy.deepcopy(opt.state_dict())  # as torch.save and torch.load give it back
    resumed = nn.Parameter(saved.detach().clone().contiguous(memory_format=torch.channels_last))
    opt_resumed = torch.optim.Adam([resumed], lr=0.1, fused=True)
    opt_resumed.load_state_dict(checkpoint)
    align_optimizer_state([opt_resumed])
    assert opt_resumed.state[resumed]["exp_avg"].is_contiguous(memory_format=torch.channels_last)
    saved.grad, resumed.grad = grads[1], grads[1].contiguous(memory_format=torch.channels_last)
    opt.step()
    opt_resumed.step()
    torch.testing.assert_close(resumed.detach(), saved.detach())


def vae_run(tiny_fashion, tmp_path, **options) -> TrainConfig:
    options = {"batch_size": 16, "epochs": 1, **options}
    return TrainConfig(arch="vae", data=str(tiny_fashion), out=str(tmp_path / "run"),
                       model_config={"z_dim": 4, "base_channels": 4, "hidden_dim": 16}, **options)


def test_a_max_steps_run_records_its_epochs_and_prints_rate_and_eta(tiny_fashion, tmp_path, capsys):
    export = train(vae_run(tiny_fashion, tmp_path, epochs=3, max_steps=6, ema_decay=0.9), progress=False)
    info = json.loads((export / "training.json").read_text())
    assert info["steps"] == 6 and info["epochs"] == 1.5  # 64 images, 4 steps of 16 an epoch
    assert info["images_per_s"] > 0
    err = capsys.readouterr().err
    first_epoch = next(line for line in err.splitlines() if line.startswith("epoch 1/3"))
    assert "img/s" in first_epoch and "ETA" in first_epoch


def test_tensor_losses_are_logged_as_numbers(tiny_fashion, tmp_path, monkeypatch):
    import zoo.training

    monkeypatch.setattr(zoo.training, "LOG_EVERY", 2)
    train(vae_run(tiny_fashion, tmp_path, max_steps=4), progress=True)
    lines = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert [line["step"] for line in lines] == [2, 4]
    assert all(isinstance(line["loss"], float) for line in lines)


def test_a_non_finite_tensor_loss_stops_the_run_at_the_next_check(tiny_fashion, tmp_path, monkeypatch):
    from zoo_plugins.vae.train import VAETrainingStep

    import zoo.training

    step = VAETrainingStep.step

    def failing(self, images, labels, i, accelerator):
        out = step(self, images, labels, i, accelerator)
        return {**out, "loss": out["loss"] * float("nan")} if i == 1 else out

    monkeypatch.setattr(VAETrainingStep, "step", failing)
    monkeypatch.setattr(zoo.training, "LOG_EVERY", 3)
    with pytest.raises(BadInputError, match=r"training diverged at step 2: \{'loss': nan"):
        train(vae_run(tiny_fashion, tmp_path, epochs=2), progress=False)
    assert (tmp_path / "run" / "checkpoint" / "state.json").is_file()  # saved for a look, as before


def test_divergence_names_the_first_bad_step_of_floats_and_tensors():
    from zoo.training import _Metrics

    metrics = _Metrics()
    metrics.add(1, {"loss": torch.tensor(1.0), "lr": 0.1})
    metrics.add(2, {"loss": torch.tensor(float("inf")), "lr": 0.1})
    metrics.add(3, {"loss": torch.tensor(1.0), "lr": float("nan")})  # a float: seen at once, but later
    assert metrics.diverged() == (2, {"loss": float("inf"), "lr": 0.1})
    clean = _Metrics()
    clean.add(1, {"loss": torch.tensor(1.0), "lr": 0.1})
    assert clean.diverged() is None and clean.floats() == {"loss": 1.0, "lr": 0.1}
