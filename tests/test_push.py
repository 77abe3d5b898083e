"""``zoo push``: the folder is checked, then sent as one commit through huggingface_hub. The Hub is not
reachable from here, so only the calls that would reach it are replaced (``HfApi.create_repo``,
``create_branch``, ``create_commit``); the operations handed to them are checked exactly, and the
pushed files, put in a Hugging Face cache, load back offline."""

from __future__ import annotations

import json

import pytest
import torch
from huggingface_hub import CommitInfo, HfApi, constants

import zoo
from zoo.cards import Measurement, card_data, with_front_matter
from zoo.testing import role_outputs
from zoo.weights import save_model_folder

from .conftest import one_line_error, run, tiny


@pytest.fixture
def hub(monkeypatch):
    """A token, the Hub online, and the three calls that would reach it recorded instead."""
    calls: list[tuple[str, tuple, dict]] = []
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)

    def record(name):
        def call(self, *args, **kwargs):
            calls.append((name, args, kwargs))
            if name == "create_commit":
                ops = args[1]
                calls[-1] = (name, args, {**kwargs, "files": {op.path_in_repo: open(op.path_or_fileobj, "rb").read()
                                                              for op in ops}})
                pr = "https://huggingface.co/me/x/discussions/1" if kwargs.get("create_pr") else None
                return CommitInfo(commit_url="https://huggingface.co/me/x/commit/abc123", commit_message="",
                                  commit_description="", oid="abc123", pr_url=pr)
        return call

    for name in ("create_repo", "create_branch", "create_commit"):
        monkeypatch.setattr(HfApi, name, record(name))
    return calls


def model_folder(tmp_path, arch="dcgan", dataset="fashion-mnist"):
    """A tiny model saved as a release folder: weights, config, a card built by zoo.cards."""
    model = tiny(arch)
    spec = zoo.model_spec(arch)
    from dataclasses import replace

    spec = replace(spec, id=f"{arch}-tiny", dataset=dataset)
    card = with_front_matter(card_data(spec, [Measurement("FD (1,000 samples)", 12.5, f"zoo eval {arch}-tiny")]),
                             f"# {arch}-tiny\n")
    folder = save_model_folder(model, tmp_path / f"{arch}-tiny", card=card)
    return model, folder


def test_push_sends_the_folder_as_one_commit(hub, tmp_path):
    _, folder = model_folder(tmp_path)
    result = run("push", str(folder), "me/dcgan-tiny", "--private")
    assert result.exit_code == 0, result.output
    assert [c[0] for c in hub] == ["create_repo", "create_commit"]
    assert hub[0][1] == ("me/dcgan-tiny",) and hub[0][2] == {"private": True, "exist_ok": True, "repo_type": "model"}
    _, args, kwargs = hub[1]
    assert args[0] == "me/dcgan-tiny"
    files = kwargs.pop("files")
    assert files == {name: (folder / name).read_bytes() for name in ("README.md", "config.json", "model.safetensors")}
    assert [op.path_in_repo for op in args[1]] == ["README.md", "config.json", "model.safetensors"]
    assert kwargs["commit_message"] == "Upload dcgan-tiny with zoo push"
    assert kwargs["revision"] is None and kwargs["create_pr"] is False and kwargs["repo_type"] == "model"
    assert "https://huggingface.co/me/x/commit/abc123" in result.output
    assert 'zoo.load("hf-hub:me/dcgan-tiny")' in result.output


def test_revision_branch_and_pull_request(hub, tmp_path):
    _, folder = model_folder(tmp_path)
    assert run("push", str(folder), "me/d", "--revision", "v2", "-m", "New weights").exit_code == 0
    assert [c[0] for c in hub] == ["create_repo", "create_branch", "create_commit"]
    assert hub[1][2]["branch"] == "v2" and hub[1][2]["exist_ok"] is True
    assert hub[2][2]["revision"] == "v2" and hub[2][2]["commit_message"] == "New weights"
    hub.clear()
    result = run("push", str(folder), "me/d", "--revision", "main", "--create-pr")
    assert [c[0] for c in hub] == ["create_repo", "create_commit"]  # a pull request needs no branch of ours
    assert hub[1][2]["create_pr"] is True and hub[1][2]["revision"] == "main"
    assert "discussions/1" in result.output


def test_dry_run_prints_files_and_metadata_and_sends_nothing(hub, tmp_path, monkeypatch):
    monkeypatch.delenv("HF_TOKEN")  # no token needed
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    _, folder = model_folder(tmp_path)
    result = run("push", str(folder), "me/d", "--dry-run")
    assert result.exit_code == 0, result.output
    assert hub == []
    assert "would upload 3 files" in result.output and "model.safetensors" in result.output
    assert "library_name: zoo" in result.output and "pipeline_tag: unconditional-image-generation" in result.output
    assert "value: 12.5" in result.output


@pytest.mark.parametrize("arch", ["dcgan", "cyclegan", "ldm"])  # a generator, a translator, a composite
def test_round_trip_loads_back_from_the_hub_cache(hub_snapshot, hub, tmp_path, arch, monkeypatch):
    model, folder = model_folder(tmp_path, arch, dataset="" if arch == "cyclegan" else "fashion-mnist")
    assert run("push", str(folder), f"me/{arch}-tiny").exit_code == 0
    files = hub[-1][2]["files"]
    if arch == "ldm":  # the components travel in their subfolders
        assert {"autoencoder/config.json", "denoiser/model.safetensors"} <= set(files)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the Hub is offline now: the cache has the files
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    snapshot = hub_snapshot(f"me/{arch}-tiny")  # the cache `zoo pull` would fill
    for name, content in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_bytes(content)
    loaded = zoo.load(f"hf-hub:me/{arch}-tiny")
    assert type(loaded) is type(model)
    assert torch.equal(role_outputs(loaded), role_outputs(model.eval()))


def test_offline_or_without_token_is_one_line(hub, tmp_path, monkeypatch):
    _, folder = model_folder(tmp_path)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    one_line_error(run("push", str(folder), "me/d"), "offline", "HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN")
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no-token"))
    one_line_error(run("push", str(folder), "me/d"), "no Hugging Face token", "hf auth login")
    assert hub == []


def test_no_network_is_one_line(tmp_path, monkeypatch):
    """Nothing replaced: the real create_repo meets a closed port."""
    monkeypatch.setenv("HF_TOKEN", "hf_test_token")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")
    _, folder = model_folder(tmp_path)
    one_line_error(run("push", str(folder), "me/d"), "could not push to me/d", "cannot be reached")


def test_the_hub_refusing_is_one_line(hub, tmp_path, monkeypatch):
    import httpx2 as httpx  # huggingface_hub's HTTP client
    from huggingface_hub.errors import HfHubHTTPError

    def refuse(self, *args, **kwargs):
        response = httpx.Response(403, request=httpx.Request("POST", "https://huggingface.co/api/models/me/d/commit"))
        raise HfHubHTTPError("403 Forbidden: you may not write to me/d", response=response)

    monkeypatch.setattr(HfApi, "create_commit", refuse)
    _, folder = model_folder(tmp_path)
    one_line_error(run("push", str(folder), "me/d"), "could not push to me/d", "HTTP 403")


def test_a_folder_that_fails_a_check_is_not_sent(hub, tmp_path):
    _, folder = model_folder(tmp_path)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architecture": "no-such-arch"}))
    one_line_error(run("push", str(folder), "me/d"), "architecture 'no-such-arch'", "no installed plugin")
    (folder / "config.json").write_text(json.dumps(config))
    card = (folder / "README.md").read_text()
    (folder / "README.md").write_text(card.replace("library_name: zoo", "library_name: diffusers"))
    one_line_error(run("push", str(folder), "me/d"), "library_name is 'diffusers'")
    (folder / "README.md").write_text(card)
    (folder / "old.pt").write_bytes(b"\x80\x04pickle")
    one_line_error(run("push", str(folder), "me/d"), "old.pt is a pickle")
    (folder / "old.pt").unlink()
    (folder / "model.safetensors").write_bytes(b"not safetensors")
    one_line_error(run("push", str(folder), "me/d"))
    one_line_error(run("push", str(tmp_path / "missing/"), "me/d"), "does not exist")
    one_line_error(run("push", "dcgan", "me/d"), "architecture without weights")
    one_line_error(run("push", str(folder), "not-a-repo-id"), "not a Hub repo id")
    assert hub == []


def test_a_bundled_model_pushes_by_id(hub):
    result = run("push", "vae-fashion", "me/vae-fashion")
    assert result.exit_code == 0, result.output
    files = hub[-1][2]["files"]
    assert {"README.md", "config.json", "model.safetensors", "samples.png"} <= set(files)
