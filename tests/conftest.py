"""Shared fixtures: tiny data written as IDX files, throwaway plugins, an isolated HF cache and a
prefilled snapshot in it, one feature cache for the whole run, and the helpers the test files share
(``tiny``, ``run``, ``one_line_error``).

Markers: ``slow`` (long tests) and ``cards`` (the bundled cards' numbers, reproduced) are left out
of a plain ``pytest`` (pyproject's addopts); ``pytest -m "slow or cards"`` runs them, as .ci/run does."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from zoo import plugins
from zoo.testing import tiny_model, write_tiny_fashion
from zoo.testing import write_idx as write_idx  # re-exported: test files import it from here


@pytest.fixture
def tiny_fashion(tmp_path: Path) -> Path:
    """A folder shaped like the Debian package: 64 train and 32 test random 28×28 images."""
    return write_tiny_fashion(tmp_path / "fashion", num_train=64, num_test=32)


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


@pytest.fixture(scope="session", autouse=True)
def zoo_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """One ``ZOO_CACHE`` for the whole run: reference features and probe classifiers are built once
    per test run and shared by the tests that need the same ones, and the user's ~/.cache/zoo is
    neither read nor written (a fresh machine and a warm one test the same thing)."""
    folder = tmp_path_factory.mktemp("zoo-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("ZOO_CACHE", str(folder))
        yield folder


@pytest.fixture(scope="session")
def fashion_reference(zoo_cache: Path):
    """The bundled classifier's features of the Fashion-MNIST train split (what ``zoo eval`` scores a
    model against), extracted once per run into the run's cache."""
    from zoo.metrics.classifier import load_classifier
    from zoo.metrics.evaluate import reference_features

    return reference_features("train", load_classifier())


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


HUB_COMMIT = "0123456789abcdef0123456789abcdef01234567"  # the revision hub_snapshot lays out by default


@pytest.fixture
def hub_snapshot(hf_cache: Path) -> Callable[..., Path]:
    """``hub_snapshot(repo, commit=HUB_COMMIT)``: the folder in which huggingface_hub caches ``repo``
    at ``commit``, made in the test's empty cache with refs/main pointing at it; the test writes the
    repo's files into it."""

    def _snapshot(repo: str, commit: str = HUB_COMMIT) -> Path:
        repo_dir = hf_cache / ("models--" + repo.replace("/", "--"))
        snapshot = repo_dir / "snapshots" / commit
        snapshot.mkdir(parents=True, exist_ok=True)
        (repo_dir / "refs").mkdir(exist_ok=True)
        (repo_dir / "refs" / "main").write_text(commit)
        return snapshot

    return _snapshot


def tiny(arch: str, **overrides):
    """An untrained model of ``arch`` on its tiny test config, seeded (the conformance kit's ``tiny_model``)."""
    return tiny_model(arch, **overrides)


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
