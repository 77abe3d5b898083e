"""Checkpoints under faults: a crash at every point of the write leaves a whole checkpoint (the previous
one or the new one) that --resume finds; a full disk keeps the previous one; a run folder whose saved
config does not fit, and data smaller than one batch, are one line each."""

from __future__ import annotations

import errno
import json
import os
import shutil

import pytest
import torch

from zoo.training import (
    EMA,
    _read_checkpoint,
    _write_checkpoint,
    has_checkpoint,
    newest_checkpoint,
    recover_checkpoint,
)

from .conftest import one_line_error, run


class Crash(BaseException):
    """The process dies here (not an error anyone handles)."""


def _model(value: float) -> tuple[torch.nn.Module, EMA, dict[str, torch.optim.Optimizer]]:
    model = torch.nn.Linear(4, 3)
    with torch.no_grad():
        for p in model.parameters():
            p.fill_(value)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 4)).sum().backward()
    opt.step()  # momentum buffers: optimizer state worth checking
    return model, EMA(model, 0.9), {"opt": opt}


def _crashing(monkeypatch: pytest.MonkeyPatch, at: int) -> list[str]:
    """Make the ``at``-th file-system step die: a write (half its bytes land), an fsync, a rename, a
    mkdir, or a folder removal (its first file goes). Returns the names of the steps taken."""
    steps: list[str] = []

    def step(name: str) -> bool:
        steps.append(name)
        return len(steps) == at

    real_fdopen, real_fsync, real_rename, real_mkdir, real_rmtree = (os.fdopen, os.fsync, os.rename, os.mkdir,
                                                                     shutil.rmtree)

    class File:
        def __init__(self, f):
            self._f = f

        def write(self, data):
            data = bytes(data)
            if step("write"):
                self._f.write(data[: len(data) // 2])
                self._f.flush()
                raise Crash
            return self._f.write(data)

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

    def fsync(fd):
        if step("fsync"):
            raise Crash
        real_fsync(fd)

    def rename(a, b, **kw):
        if step("rename"):
            raise Crash
        real_rename(a, b, **kw)

    def mkdir(path, *a, **kw):
        if step("mkdir"):
            raise Crash
        real_mkdir(path, *a, **kw)

    def rmtree(path, *a, **kw):
        if os.path.isdir(path) and step("rmtree"):
            first = sorted(os.listdir(path))[:1]
            for name in first:
                os.unlink(os.path.join(path, name))
            raise Crash
        real_rmtree(path, *a, **kw)

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: File(real_fdopen(fd, *a, **k)))
    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "rename", rename)
    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(shutil, "rmtree", rmtree)
    return steps


def _weights_of(folder) -> tuple[int, float]:
    model, ema, opts = _model(0.0)
    state = _read_checkpoint(folder, model, ema, opts)
    return state["step"], model.weight[0, 0].item()


def _value(start: float) -> float:
    return _model(start)[0].weight[0, 0].item()  # after its optimizer step


@pytest.mark.parametrize("previous", [True, False], ids=["over-a-checkpoint", "first-checkpoint"])
def test_a_crash_at_every_point_of_the_write_leaves_a_whole_checkpoint(tmp_path, previous):
    outcomes = set()
    at = 1
    while True:
        folder = tmp_path / f"run{at}" / "checkpoint"
        folder.parent.mkdir()
        if previous:
            _write_checkpoint(folder, *_model(1.0), {"step": 1, "epoch": 0})
        expected = {(1, _value(1.0))} if previous else set()
        with pytest.MonkeyPatch.context() as mp:
            steps = _crashing(mp, at)
            try:
                _write_checkpoint(folder, *_model(2.0), {"step": 2, "epoch": 0})
                crashed = False
            except Crash:
                crashed = True
        expected.add((2, _value(2.0)))
        assert has_checkpoint(folder) or not previous
        if newest_checkpoint(folder) is not None:
            got = _weights_of(folder)  # what --resume reads, before anything is tidied
            assert got in expected, (at, steps[-1], got)
            assert recover_checkpoint(folder) and _weights_of(folder) == got  # the next write's tidying
            outcomes.add(got[0])
        else:
            assert not previous, (at, steps[-1])  # only before the first checkpoint is whole
            assert not recover_checkpoint(folder)
            outcomes.add(0)
        assert sorted(p.name for p in folder.parent.iterdir()) == (["checkpoint"] if folder.exists() else []), at
        if not crashed:
            break
        at += 1
    assert at > 12  # every write, fsync, rename and removal was a crash point
    assert outcomes == ({1, 2} if previous else {0, 2})


def test_a_plain_rerun_never_deletes_what_a_crash_left(tiny_fashion, tmp_path):
    """A crash between the two renames leaves the new checkpoint only in checkpoint.tmp: a plain rerun
    refuses, and --resume continues from it."""
    out = tmp_path / "run"
    args = ["train", "vae", "--data", str(tiny_fashion), "--out", str(out), "--batch-size", "16", "--ema-decay", "0",
            "--config", "z_dim=4", "--config", "base_channels=4", "--config", "hidden_dim=16"]
    assert run(*args, "--epochs", "1").exit_code == 0
    ckpt = out / "checkpoint"
    ckpt.rename(out / "checkpoint.tmp")  # the state a crash between the renames leaves
    one_line_error(run(*args, "--epochs", "1"), "already holds a run", "--resume")
    assert (out / "checkpoint.tmp" / "state.json").is_file()
    result = run(*args, "--epochs", "2", "--resume")
    assert result.exit_code == 0, result.output
    assert json.loads((ckpt / "state.json").read_text())["step"] == 8 and not (out / "checkpoint.tmp").exists()


def test_disk_full_while_checkpointing_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    folder = tmp_path / "checkpoint"
    _write_checkpoint(folder, *_model(1.0), {"step": 1, "epoch": 0})
    real = os.fdopen

    class Full:
        def __init__(self, f):
            self._f = f

        def write(self, data):
            self._f.write(bytes(data)[:10])
            raise OSError(errno.ENOSPC, "No space left on device")

        def __getattr__(self, name):
            return getattr(self._f, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self._f.close()

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: Full(real(fd, *a, **k)))
    with pytest.raises(OSError, match="disk full.*checkpoint of step 1 is intact"):
        _write_checkpoint(folder, *_model(2.0), {"step": 2, "epoch": 0})
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint"]
    assert _weights_of(folder) == (1, _value(1.0))


@pytest.fixture(scope="module")
def one_run(tmp_path_factory):
    """One short run (trained once for the module) and its data."""
    import numpy as np

    from .conftest import write_idx

    root = tmp_path_factory.mktemp("one-run")
    data = root / "fashion"
    data.mkdir()
    rng = np.random.default_rng(0)
    for prefix, n in (("train", 64), ("t10k", 32)):
        write_idx(data / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(data / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    out = root / "run"
    result = run("train", "vae", "--data", str(data), "--out", str(out), "--epochs", "1", "--batch-size",
                 "16", "--config", "z_dim=4", "--config", "base_channels=4", "--config", "hidden_dim=16")
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def finished_run(one_run, tmp_path):
    """A copy of the module's run, for one test to change."""
    return shutil.copytree(one_run, tmp_path / "run")


def _resume(out, tiny_fashion, *args):
    return run("train", *args, "--data", str(tiny_fashion), "--out", str(out), "--epochs", "2", "--batch-size", "16",
               "--resume")


def test_resuming_as_another_architecture_is_one_line(finished_run, tiny_fashion):
    one_line_error(_resume(finished_run, tiny_fashion, "dcgan"), "is a run of 'vae', not 'dcgan'",
                   "zoo train vae")


def test_resuming_with_another_model_config_is_one_line(finished_run, tiny_fashion):
    one_line_error(_resume(finished_run, tiny_fashion, "vae", "--config", "z_dim=8"), "differs from the run's")


def test_resuming_takes_the_runs_own_model_config(finished_run, tiny_fashion):
    result = _resume(finished_run, tiny_fashion, "vae")  # no --config: the saved one
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("damage", ["{not json", "[1, 2]", '{"arch": 7, "model_config": {}, "commands": []}', ""])
def test_resuming_with_a_damaged_train_config_is_one_line(finished_run, tiny_fashion, damage):
    (finished_run / "train_config.json").write_text(damage)
    one_line_error(_resume(finished_run, tiny_fashion, "vae"), "train_config.json is damaged")


def test_resuming_from_a_checkpoint_that_does_not_fit_is_one_line(finished_run, tiny_fashion):
    config = json.loads((finished_run / "train_config.json").read_text())
    config["model_config"]["z_dim"] = 6  # the saved config no longer matches the checkpoint's tensors
    (finished_run / "train_config.json").write_text(json.dumps(config))
    one_line_error(_resume(finished_run, tiny_fashion, "vae"), "does not fit")


def test_resuming_without_a_checkpoint(tmp_path, tiny_fashion):
    one_line_error(_resume(tmp_path / "nothing", tiny_fashion, "vae"), "no checkpoint")


def test_data_smaller_than_one_batch_writes_nothing(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    one_line_error(run("train", "vae", "--data", str(tiny_fashion), "--out", str(out), "--batch-size", "65"),
                   "fewer than one batch of 65")
    assert not out.exists()
