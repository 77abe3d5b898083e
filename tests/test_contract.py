"""The contract every registered architecture keeps, checked on its tiny test config."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.interfaces import Encoder, Generator, Likelihood
from zoo.weights import save_model_folder

from .conftest import architecture_ids

ARCHS = architecture_ids()


def tiny(arch: str) -> Generator:
    torch.manual_seed(0)
    return zoo.create(arch, **zoo.model_spec(arch).test_config)


def test_every_plugin_registers_an_architecture():
    assert {"vae", "dcgan"} <= set(ARCHS)


@pytest.mark.parametrize("arch", ARCHS)
def test_sample_shape_range_and_type(arch):
    model = tiny(arch)
    spec = zoo.model_spec(arch)
    images = model.sample(5, seed=0, batch_size=2)
    assert isinstance(model, Generator)
    assert images.shape == (5, *spec.image_shape)
    assert images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1


@pytest.mark.parametrize("arch", ARCHS)
def test_same_seed_same_images_other_seed_other_images(arch):
    model = tiny(arch)
    a, b, c = model.sample(4, seed=3), model.sample(4, seed=3), model.sample(4, seed=4)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("arch", ARCHS)
def test_safetensors_round_trip(arch, tmp_path):
    model = tiny(arch)
    save_model_folder(model, tmp_path / "m")
    loaded = zoo.load(str(tmp_path / "m"))
    assert type(loaded) is type(model)
    assert torch.equal(model.sample(3, seed=1), loaded.sample(3, seed=1))


@pytest.mark.parametrize("arch", ARCHS)
def test_capabilities_match_the_type(arch):
    model, spec = tiny(arch), zoo.model_spec(arch)
    assert ("encoder" in spec.capabilities) == isinstance(model, Encoder)
    assert ("conditional" in spec.capabilities) == model.conditional
    assert ("likelihood" in spec.capabilities) == isinstance(model, Likelihood)
    if isinstance(model, Likelihood):
        x = model.sample(2, seed=0)
        assert model.log_prob(x).shape == (2,)
    if "interpolation" in spec.capabilities:
        strip = model.interpolate(0, 1, num_steps=4)
        assert strip.shape == (4, *spec.image_shape)
        assert torch.allclose(strip[0], model.sample(1, seed=0)[0], atol=1e-5)
    if isinstance(model, Encoder):
        x = model.sample(2, seed=0)
        assert model.encode(x).ndim == 2
        assert model.reconstruct(x).shape == x.shape


@pytest.mark.parametrize("arch", ARCHS)
def test_a_few_training_steps_run_and_export(arch, tiny_fashion, tmp_path):
    from zoo.training import TrainConfig, train

    spec = zoo.model_spec(arch)
    cfg = TrainConfig(arch=arch, data=str(tiny_fashion), out=str(tmp_path / "run"), epochs=2, batch_size=16,
                      max_steps=3, model_config=spec.test_config, checkpoint_every=2)
    export = train(cfg, progress=False)
    assert (export / "model.safetensors").is_file() and (export / "config.json").is_file()
    assert (tmp_path / "run" / "checkpoint" / "state.json").is_file()
    assert zoo.load(str(export)).sample(2, seed=0).shape == (2, *spec.image_shape)
