"""Shared fixtures: tiny data written as IDX files, throwaway plugins, an isolated HF cache."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest

from zoo import plugins


def write_idx(path: Path, array: np.ndarray) -> None:
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype(np.uint8).tobytes())


@pytest.fixture
def tiny_fashion(tmp_path: Path) -> Path:
    """A folder shaped like the Debian package: 64 train and 32 test random 28×28 images."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "fashion"
    folder.mkdir()
    for prefix, n in (("train", 64), ("t10k", 32)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    return folder


@pytest.fixture
def register_plugin():
    """Register throwaway plugins for one test; they are unregistered afterwards."""
    names = []

    def _register(plugin: object, name: str) -> None:
        plugins.register_plugin(plugin, name)
        names.append(name)

    yield _register
    for name in names:
        plugins.unregister_plugin(name)
    plugins.failures[:] = [f for f in plugins.failures if f.name not in names]


@pytest.fixture
def hf_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty Hugging Face cache, with the Hub offline."""
    cache = tmp_path / "hf-cache"
    cache.mkdir()
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return cache


def tiny(arch: str, **overrides):
    """An untrained model of ``arch`` on its tiny test config, seeded."""
    import torch

    import zoo

    torch.manual_seed(0)
    return zoo.create(arch, **{**zoo.model_spec(arch).test_config, **overrides})


def run(*args: str):
    """``zoo ARGS...`` through click's CliRunner (plugin commands included)."""
    from click.testing import CliRunner

    from zoo.cli import cli
    from zoo.plugins import call_each

    call_each("register_commands", cli=cli)  # as `zoo` does at start: plugins add theirs (zoo mix, zoo complete)
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def one_line_error(result, *fragments: str) -> None:
    """A failed command: non-zero exit, one 'Error:' line, no traceback."""
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    for fragment in fragments:
        assert fragment in errors[0], result.output


def architecture_ids() -> list[str]:
    import zoo

    return zoo.list_models(pretrained=False)


def pytest_collection_modifyitems(config, items):
    """Real-data tests skip where Fashion-MNIST is not installed, except in CI
    (ZOO_REQUIRE_REALDATA=1), where a missing data set must fail them."""
    import os

    from zoo.data import FASHION_MNIST_DIR

    if FASHION_MNIST_DIR.is_dir() or os.environ.get("ZOO_REQUIRE_REALDATA") == "1":
        return
    skip = pytest.mark.skip(reason="Fashion-MNIST not installed: apt-get install dataset-fashion-mnist")
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)
