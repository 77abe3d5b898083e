"""Weights from the Hugging Face Hub, offline: a pre-filled cache read by the real
``hf_hub_download`` with ``HF_HUB_OFFLINE=1``."""

from __future__ import annotations

import types

import pytest
from click.testing import CliRunner

import zoo
from zoo import ModelSpec, hookimpl
from zoo.cli import cli
from zoo.weights import save_model_folder, sha256_file

from .conftest import HUB_COMMIT as COMMIT
from .conftest import tiny

REPO = "zoo-test/tiny-vae"


def write_tiny_vae(snapshot):
    """A tiny VAE's model folder as the repo's files (in a ``hub_snapshot``)."""
    save_model_folder(tiny("vae"), snapshot, card="# tiny\n")
    return snapshot


@pytest.fixture
def hub_plugin(register_plugin):
    def _register(sha256="", repo=REPO, revision=COMMIT):
        @hookimpl
        def register_models(register):
            register(ModelSpec(id="tiny-hub", arch="vae", factory="zoo_plugins.vae.model:VAE", family="autoencoder",
                               weights="hub", hub_repo=repo, hub_revision=revision, hub_sha256=sha256))

        register_plugin(types.SimpleNamespace(register_models=register_models), "hub-plugin")

    return _register


def test_load_from_a_prefilled_cache_offline(hub_snapshot, hub_plugin, monkeypatch):
    snapshot = write_tiny_vae(hub_snapshot(REPO))
    hub_plugin(sha256=sha256_file(snapshot / "model.safetensors"))
    import huggingface_hub

    calls = []
    real = huggingface_hub.hf_hub_download
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", lambda *a, **k: calls.append(a) or real(*a, **k))
    images = zoo.load("tiny-hub").sample(2, seed=0)
    assert images.shape == (2, 1, 28, 28)
    assert (REPO, "config.json") in calls and (REPO, "model.safetensors") in calls
    assert "Hub (cached)" in CliRunner().invoke(cli, ["list", "tiny-hub"]).output
    assert CliRunner().invoke(cli, ["pull", "tiny-hub"]).exit_code == 0


def test_hf_hub_ids_load(hub_snapshot):
    write_tiny_vae(hub_snapshot(REPO))
    assert zoo.load(f"hf-hub:{REPO}").sample(1, seed=0).shape == (1, 1, 28, 28)
    assert zoo.load(f"hf-hub:{REPO}@{COMMIT}").sample(1, seed=0).shape == (1, 1, 28, 28)


def test_missing_offline_is_one_clear_line(hf_cache, hub_plugin):
    hub_plugin()
    with pytest.raises(zoo.WeightsError) as err:
        zoo.load("tiny-hub")
    assert REPO in str(err.value) and "zoo pull tiny-hub" in str(err.value)
    assert "hub" in CliRunner().invoke(cli, ["list", "tiny-hub"]).output.lower()
    for args in (["pull", "tiny-hub"], ["sample", "tiny-hub", "-o", str(hf_cache / "x.png")]):
        result = CliRunner().invoke(cli, args)
        assert result.exit_code == 1 and "Traceback" not in result.output
        assert REPO in result.output and "zoo pull tiny-hub" in result.output


def test_sha256_mismatch_is_refused(hub_snapshot, hub_plugin):
    write_tiny_vae(hub_snapshot(REPO))
    hub_plugin(sha256="0" * 64)
    with pytest.raises(zoo.WeightsError, match="sha256"):
        zoo.load("tiny-hub")


def test_pull_of_a_bundled_model_says_so():
    result = CliRunner().invoke(cli, ["pull", "vae-fashion"])
    assert result.exit_code == 1 and "no Hub repo" in result.output


def test_no_network_without_the_offline_flag_fails_at_once(hf_cache, hub_snapshot, hub_plugin, monkeypatch):
    import socket
    import time

    import huggingface_hub.constants as constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_HUB_OFFLINE")

    def no_dns(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    hub_plugin()
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, ["sample", "tiny-hub", "-o", str(hf_cache / "x.png")])
    assert result.exit_code == 1 and "zoo pull tiny-hub" in result.output and "Traceback" not in result.output
    assert time.perf_counter() - t0 < 10  # no half-minute of retries
    write_tiny_vae(hub_snapshot(REPO))  # with the files cached, the same call works without a network
    assert CliRunner().invoke(cli, ["sample", "tiny-hub", "-o", str(hf_cache / "y.png")]).exit_code == 0
