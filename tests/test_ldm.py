"""Latent diffusion: a composite of two plugins' models (an autoencoder and a diffusion denoiser),
saved and loaded as one folder, components pinned by id or stored in subfolders, the latent cache of
training, and clear errors for a missing or wrong component."""

from __future__ import annotations

import json
import types

import pytest
import torch

import zoo
from zoo import hookimpl
from zoo.weights import save_model_folder

from .conftest import one_line_error, run, tiny

TINY = zoo.model_spec("ldm").test_config


@pytest.fixture
def tiny_autoencoder(tmp_path, register_plugin):
    """A tiny KL autoencoder registered as the pretrained 'tiny-aekl' by a throwaway plugin."""
    folder = tmp_path / "tiny-aekl"
    save_model_folder(tiny("autoencoder-kl", latent_channels=2, base_channels=4, groups=2), folder)
    spec = zoo.model_spec("autoencoder-kl")

    @hookimpl
    def register_models(register):
        from dataclasses import replace

        register(replace(spec, id="tiny-aekl", arch="autoencoder-kl", weights="bundled", path=str(folder),
                         config={"latent_channels": 2, "base_channels": 4, "groups": 2}))

    register_plugin(types.SimpleNamespace(register_models=register_models), "tinyae")
    return folder


def test_a_composed_folder_round_trips(tmp_path):
    model = tiny("ldm")
    assert model.sample_shape == (2, 7, 7) and model.image_shape == (1, 28, 28)
    assert not any(p.requires_grad for p in model.autoencoder.parameters())  # frozen
    save_model_folder(model, tmp_path / "ldm")
    config = json.loads((tmp_path / "ldm" / "config.json").read_text())
    assert config["components"] == {"autoencoder": {"folder": "autoencoder"}, "denoiser": {"folder": "denoiser"}}
    assert json.loads((tmp_path / "ldm" / "denoiser" / "config.json").read_text())["architecture"] == "ddpm"
    loaded = zoo.load(str(tmp_path / "ldm"))
    assert torch.equal(model.sample(3, seed=1), loaded.sample(3, seed=1))
    for sampler in ("ddpm", "ddim"):  # every diffusion sampler runs it unchanged
        assert loaded.sample(2, seed=0, sampler=sampler, steps=2).shape == (2, 1, 28, 28)


def test_a_component_referenced_by_id_is_pinned(tiny_autoencoder, tmp_path):
    model = zoo.create("ldm", **{**TINY, "autoencoder": "tiny-aekl"})
    save_model_folder(model, tmp_path / "ldm")
    entry = json.loads((tmp_path / "ldm" / "config.json").read_text())["components"]["autoencoder"]
    assert entry["id"] == "tiny-aekl" and len(entry["sha256"]) == 64
    assert not (tmp_path / "ldm" / "autoencoder").exists()  # referenced, not copied
    assert torch.equal(zoo.load(str(tmp_path / "ldm")).sample(2, seed=0), model.sample(2, seed=0))
    # other weights under the same id: refused, naming the component
    save_model_folder(tiny("autoencoder-kl", latent_channels=2, base_channels=4, groups=2, image_size=28)
                      .apply(lambda m: torch.nn.init.zeros_(m.bias) if getattr(m, "bias", None) is not None else None),
                      tiny_autoencoder)
    with pytest.raises(zoo.WeightsError, match="component 'autoencoder' of 'ldm' is pinned to tiny-aekl"):
        zoo.load(str(tmp_path / "ldm"))


def test_a_missing_or_wrong_component_is_one_clear_line(tmp_path):
    import shutil

    save_model_folder(tiny("ldm"), tmp_path / "ldm")
    shutil.rmtree(tmp_path / "ldm" / "denoiser")
    one_line_error(run("sample", str(tmp_path / "ldm"), "-o", str(tmp_path / "x.png")),
                   "component 'denoiser'", "is missing")
    with pytest.raises(zoo.BadInputError, match="component 'autoencoder' of 'ldm' must be a model with the encoder"):
        zoo.create("ldm", **{**TINY, "autoencoder": {"architecture": "dcgan", **zoo.model_spec("dcgan").test_config}})
    with pytest.raises(zoo.BadInputError, match="made of components autoencoder, denoiser; give 'autoencoder'"):
        zoo.create("ldm", **{**TINY, "autoencoder": None})
    with pytest.raises(zoo.BadInputError, match="in_channels=2, image_size=7"):
        zoo.create("ldm", **{**TINY, "denoiser": {**TINY["denoiser"], "in_channels": 3}})


def test_the_latent_cache_follows_the_autoencoder_and_the_data(tiny_fashion, tmp_path):
    from zoo_plugins.ldm.train import LatentDiffusionTrainingStep

    from zoo.data import load_source

    model = tiny("ldm")
    step = LatentDiffusionTrainingStep(model)
    data = {"data": load_source(str(tiny_fashion))}
    first = step.prepare_data(data, tmp_path)["data"].images
    cache = step.latent_cache
    assert cache.is_file() and first.shape == (64, 2, 7, 7)
    assert first.std().item() == pytest.approx(1.0, rel=1e-4)  # scaled by 1 / std, measured on the data
    assert model.scale_factor.item() != 1.0
    assert torch.equal(step.prepare_data(data, tmp_path)["data"].images, first) and step.latent_cache == cache
    other_data = {"data": load_source(str(tiny_fashion), "test")}
    step.prepare_data(other_data, tmp_path)
    assert step.latent_cache != cache
    with torch.no_grad():
        model.autoencoder.encoder[0].weight.mul_(2)
    step.prepare_data(data, tmp_path)
    assert step.latent_cache not in (cache,) and len(list(tmp_path.glob("latents-*.safetensors"))) == 3


def test_zoo_train_ldm_takes_the_autoencoder_as_a_flag(tiny_autoencoder, tiny_fashion, tmp_path):
    out = tmp_path / "run"
    denoiser = json.dumps(TINY["denoiser"])
    result = run("train", "ldm", "--autoencoder", "tiny-aekl", "--config", f"denoiser={denoiser}", "--config",
                 "steps=2", "--data", str(tiny_fashion), "--out", str(out), "--max-steps", "2", "--batch-size", "16")
    assert result.exit_code == 0, result.output
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["components"]["autoencoder"]["id"] == "tiny-aekl"
    assert list(out.glob("latents-*.safetensors"))
    info = json.loads((out / "model" / "training.json").read_text())
    assert "--autoencoder tiny-aekl" in info["commands"][0] and info["eval"]["scale_factor"] > 0
    assert zoo.load(str(out / "model")).sample(2, seed=0).shape == (2, 1, 28, 28)
