"""The contract every registered architecture keeps, checked on its tiny test config: each
role it declares (generator, translation, encoder, likelihood) is really there, and works."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo.interfaces import Encoder, Generator, Likelihood, Model, Translator, capabilities_of
from zoo.registry import ROLES
from zoo.weights import save_model_folder

from .conftest import architecture_ids, tiny

ARCHS = architecture_ids()


def with_role(role: str) -> list[str]:
    return [a for a in ARCHS if role in zoo.model_spec(a).capabilities]


def some_images(model: Model, n: int, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, *model.image_shape, generator=torch.Generator().manual_seed(seed))


def outputs(model: Model) -> torch.Tensor:
    """What the model makes, by role: samples, translations both ways, or reconstructions."""
    if isinstance(model, Generator):
        return model.sample(3, seed=1)
    x = some_images(model, 3)
    if isinstance(model, Translator):
        return torch.cat([model.translate(x, "a2b"), model.translate(x, "b2a")])
    assert isinstance(model, Encoder)
    return model.reconstruct(x)


def test_every_role_has_an_architecture():
    assert {"vae", "dcgan", "cyclegan"} <= set(ARCHS)
    assert with_role("translation") and with_role("generator") and with_role("encoder")


@pytest.mark.parametrize("arch", ARCHS)
def test_capabilities_match_the_type(arch):
    model, spec = tiny(arch), zoo.model_spec(arch)
    assert isinstance(model, Model)
    declared = set(spec.capabilities) & (set(ROLES) | {"conditional", "interpolation"})
    assert declared == set(capabilities_of(model))
    assert ("conditional" in spec.capabilities) == model.conditional


@pytest.mark.parametrize("arch", with_role("generator"))
def test_sample_shape_range_and_type(arch):
    model = tiny(arch)
    spec = zoo.model_spec(arch)
    images = model.sample(5, seed=0, batch_size=2)
    assert images.shape == (5, *model.image_shape) and model.image_shape[0] == spec.image_shape[0]
    assert images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1


@pytest.mark.parametrize("arch", with_role("generator"))
def test_same_seed_same_images_other_seed_other_images(arch):
    model = tiny(arch)
    a, b, c = model.sample(4, seed=3), model.sample(4, seed=3), model.sample(4, seed=4)
    assert torch.equal(a, b)
    assert not torch.equal(a, c)


@pytest.mark.parametrize("arch", with_role("generator"))
def test_interpolation(arch):
    model, spec = tiny(arch), zoo.model_spec(arch)
    if "interpolation" not in spec.capabilities:
        pytest.skip("no interpolation")
    strip = model.interpolate(0, 1, num_steps=4)
    assert strip.shape == (4, *model.image_shape)
    assert torch.allclose(strip[0], model.sample(1, seed=0)[0], atol=1e-5)


@pytest.mark.parametrize("arch", with_role("translation"))
def test_translate_shape_range_determinism_and_cycle(arch):
    model = tiny(arch)
    assert isinstance(model, Translator) and not isinstance(model, Generator)
    x = some_images(model, 5)
    for direction in ("a2b", "b2a"):
        y = model.translate(x, direction, batch_size=2)
        assert y.shape == x.shape and y.dtype == torch.float32
        assert 0 <= y.min() and y.max() <= 1
        assert torch.equal(y, model.translate(x, direction, batch_size=2))  # the same input, the same output
        assert torch.allclose(y, model.translate(x, direction), atol=1e-5)  # whatever the batch size
        assert torch.allclose(model.translate(x[0], direction), y[:1], atol=1e-5)  # one (C, H, W) image works too
        assert model.cycle(x, direction).shape == x.shape
    assert not torch.equal(model.translate(x, "a2b"), model.translate(x, "b2a"))  # two generators
    a, b = model.domains
    assert model.resolve_direction(to=b) == "a2b" and model.resolve_direction(to=a) == "b2a"
    with pytest.raises(zoo.BadInputError, match="unknown direction 'sideways'; use a2b"):
        model.translate(x, "sideways")
    with pytest.raises(zoo.BadInputError, match=r"must be \(B, "):
        model.translate(torch.rand(2, 3, 5, 5))


@pytest.mark.parametrize("arch", with_role("encoder"))
def test_encoder_shapes(arch):
    model = tiny(arch)
    x = some_images(model, 2)
    z = model.encode(x)
    assert tuple(z.shape[1:]) == tuple(model.latent_shape) and z.shape[0] == 2
    assert model.decode(z).shape == x.shape
    assert model.reconstruct(x).shape == x.shape


@pytest.mark.parametrize("arch", with_role("likelihood"))
def test_likelihood(arch):
    model = tiny(arch)
    x = some_images(model, 2)
    logp = model.log_prob(x)
    assert isinstance(model, Likelihood) and logp.shape == (2,) and torch.isfinite(logp).all()


@pytest.mark.parametrize("arch", ARCHS)
def test_safetensors_round_trip(arch, tmp_path):
    model = tiny(arch)
    save_model_folder(model, tmp_path / "m")
    loaded = zoo.load(str(tmp_path / "m"))
    assert type(loaded) is type(model)
    assert not loaded.training
    assert torch.equal(outputs(model.eval()), outputs(loaded))


@pytest.mark.parametrize("arch", [pytest.param(a, marks=pytest.mark.slow) if a == "ddpm" else a
                                  for a in ARCHS])  # ddpm: its export samples and scores with its UNet
def test_a_few_training_steps_run_and_export(arch, tiny_fashion, tmp_path):
    from zoo.registry import import_object
    from zoo.training import TrainConfig, train

    spec = zoo.model_spec(arch)
    sources = import_object(spec.trainer).data_sources
    size = tiny(arch).image_shape[-1]  # tiny configs may work on smaller images: resize the data to fit
    data = str(tiny_fashion) + (f"@{size}" if size != 28 else "")
    cfg = TrainConfig(arch=arch, data=[data] * len(sources), out=str(tmp_path / "run"), epochs=2,
                      batch_size=16, max_steps=3, model_config=spec.test_config, checkpoint_every=2)
    export = train(cfg, progress=False)
    assert (export / "model.safetensors").is_file() and (export / "config.json").is_file()
    assert (export / "samples.png").is_file() and (tmp_path / "run" / "samples" / "epoch_001.png").is_file()
    assert (tmp_path / "run" / "checkpoint" / "state.json").is_file()
    assert outputs(zoo.load(str(export))).shape[1:] == tiny(arch).image_shape
