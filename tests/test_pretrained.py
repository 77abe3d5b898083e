"""The bundled pretrained models: present, small, documented, and sampling as promised."""

from __future__ import annotations

import json
import re

import pytest
import torch
from click.testing import CliRunner

import zoo
from zoo.cli import cli
from zoo.weights import bundled_root

BUNDLED = ["vae-fashion", "dcgan-fashion", "ddpm-fashion", "wgan-gp-fashion", "cgan-fashion", "stylegan2-fashion",
           "pixelcnn-fashion", "ldm-fashion"]
TRANSLATORS = ["cyclegan-sneaker-boot", "cyclegan-digits-mnist"]
ENCODERS = ["autoencoder-kl-fashion"]  # autoencoders that do not generate: a reconstruction grid
SLOW_SAMPLERS = ("ddpm-fashion", "pixelcnn-fashion")  # 50 DDIM steps of a UNet; 784 pixel steps, twice each


def test_every_bundled_model_is_checked_here():
    from zoo.plugins import get_registry

    bundled = {s.id for s in get_registry().filter(pretrained=True) if s.weights == "bundled"}
    assert bundled - {"ae-fashion"} == set(BUNDLED + TRANSLATORS + ENCODERS)  # ae-fashion: the example plugin's


@pytest.mark.parametrize("model_id", BUNDLED + TRANSLATORS + ENCODERS)
def test_bundled_folder_is_complete_and_small(model_id):
    folder = bundled_root() / model_id
    grids = ("a2b.png", "b2a.png") if model_id in TRANSLATORS else ("reconstructions.png",) \
        if model_id in ENCODERS else ("samples.png",)
    for name in ("README.md", "config.json", "model.safetensors", *grids):
        assert (folder / name).is_file(), name
    assert (folder / "model.safetensors").stat().st_size < 10 * 2**20
    config = json.loads((folder / "config.json").read_text())
    assert config["architecture"] == zoo.model_spec(model_id).architecture


@pytest.mark.parametrize("model_id", BUNDLED + TRANSLATORS + ENCODERS)
def test_card_has_front_matter_and_the_training_command(model_id):
    card = (bundled_root() / model_id / "README.md").read_text()
    front = re.match(r"^---\n(.*?)\n---\n", card, re.S)
    assert front, "Hugging Face YAML front matter"
    for key in ("library_name: zoo", "license:", "tags:", "datasets:"):
        assert key in front.group(1)
    assert "zoo train" in card and "Wall time" in card and "Hardware" in card


@pytest.mark.parametrize("model_id", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW_SAMPLERS else m
                                      for m in BUNDLED])
def test_bundled_model_samples_deterministically(model_id):
    model = zoo.load(model_id)
    a, b = model.sample(8, seed=0), model.sample(8, seed=0)
    assert a.shape == (8, 1, 28, 28) and torch.equal(a, b)
    assert a.std() > 0.05  # not a blank or constant image


@pytest.mark.realdata
def test_cyclegan_sneaker_boot_turns_test_sneakers_into_boots():
    from zoo.metrics.classifier import load_classifier

    model = zoo.load("cyclegan-sneaker-boot")
    sneakers = model.draw_images("a2b", 64, seed=1)
    boots = model.translate(sneakers)
    assert torch.equal(boots, model.translate(sneakers))
    with torch.no_grad():
        classes = load_classifier()(boots).argmax(1)
    assert (classes == 9).float().mean() > 0.8  # ankle boot; the card measures 0.931 on all 1,000


def test_quick_start_command(tmp_path):
    out = tmp_path / "grid.png"
    result = CliRunner().invoke(cli, ["sample", "dcgan-fashion", "-n", "64", "--seed", "0", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.realdata
@pytest.mark.parametrize("model_id", ["vae-fashion", "autoencoder-kl-fashion"])
def test_autoencoders_reconstruct_real_test_images(model_id):
    from zoo.data import load_fashion_mnist

    model = zoo.load(model_id)
    x = load_fashion_mnist("test")[0][:256]
    err = (model.reconstruct(x) - x).pow(2).mean()
    assert err < 0.25 * (x - x.mean()).pow(2).mean()  # far better than predicting the mean image


@pytest.mark.realdata
@pytest.mark.slow  # zoo eval's reference features: 60,000 train images through the classifier, once per run
def test_cgan_fashion_draws_the_class_asked_for(fashion_reference):
    from zoo.metrics.evaluate import evaluate

    result = evaluate("cgan-fashion", ["class-acc"], num_samples=200, seed=0)
    assert result.scores["class_acc"] > 0.8


def test_stylegan2_fashion_truncation_and_mixing():
    model = zoo.load("stylegan2-fashion")
    full, truncated = model.sample(32, seed=0), model.sample(32, seed=0, truncation=0.5)
    assert truncated.std(0).mean() < full.std(0).mean()  # pulled towards the average image
    grid = model.mixing_grid([1, 2], [3, 4], layers=[0, 1, 2, 3])
    assert grid.shape[0] == 9 and grid.shape[1:] == (1, 28, 28)
