"""The PixelCNN plugin: causal masks without a blind spot (by gradients), an exact likelihood
(probabilities of every image of a binary toy sum to 1), the fast sampler drawing the naive
sampler's pixels, completion, temperature, and bad input."""

from __future__ import annotations

import itertools
import math

import pytest
import torch

import zoo
from zoo.interfaces import bits_per_dim

from .conftest import one_line_error, run, tiny


def toy(**overrides):
    """Double precision, so that a gradient is zero only where it must be."""
    config = {"channels": 6, "num_layers": 4, "kernel_size": 3, "head_channels": 8, "class_names": [],
              "image_size": 5, **overrides}
    return tiny("pixelcnn", **config).double().eval()


@pytest.mark.parametrize("conditional", [False, True])
def test_each_pixel_sees_exactly_the_pixels_before_it(conditional):
    model = toy(class_names=["a", "b"] if conditional else [])
    H = W = 5
    # 4 layers of k = 3 reach 5 rows up and 4 columns aside: the whole 5×5 image, so no earlier
    # pixel may be missed (no blind spot) and no later one seen
    assert model.receptive_rows >= H
    labels = torch.tensor([1]) if conditional else None
    for i in range(H * W):
        x = torch.rand(1, 1, H, W, dtype=torch.float64, requires_grad=True)
        logits = model(x, labels)  # (1, L, H, W)
        logits[0, :, i // W, i % W].sum().backward()
        seen = (x.grad[0, 0].flatten() != 0).tolist()
        assert seen == [j < i for j in range(H * W)], f"pixel {i} sees {seen}"


def test_probabilities_of_every_image_sum_to_one():
    # a 2×2 binary toy: 16 images; the chain rule of causal conditionals must give a distribution
    model = toy(num_levels=2, image_size=2)
    images = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)), dtype=torch.float64).reshape(16, 1, 2, 2)
    total = model.log_prob(images).exp().sum().item()
    assert total == pytest.approx(1.0, abs=1e-12)
    conditional = toy(num_levels=2, image_size=2, class_names=["a", "b", "c"])
    for label in range(3):
        p = conditional.log_prob(images, labels=torch.full((16,), label)).exp().sum().item()
        assert p == pytest.approx(1.0, abs=1e-12)
    assert conditional.log_prob(images).exp().sum().item() == pytest.approx(1.0, abs=1e-12)  # the marginal


def test_bits_per_dim_is_the_mean_per_pixel_cross_entropy():
    model = toy()
    x = torch.randint(0, 256, (3, 1, 5, 5)).double() / 255
    nll = -model.log_prob(x)
    logits = model(x)
    ce = torch.nn.functional.cross_entropy(logits, model.to_levels(x))  # mean over pixels, nats
    assert bits_per_dim(nll.mean(), 25).item() == pytest.approx(ce.item() / math.log(2), rel=1e-12)


@pytest.mark.parametrize("batch, conditional, temperature", [(1, False, 1.0), (3, True, 0.7), (4, False, 1.3)])
def test_the_fast_sampler_draws_the_naive_samplers_pixels(batch, conditional, temperature):
    model = tiny("pixelcnn", **({} if conditional else {"class_names": []}))  # 8×8, float32
    for seed in (0, 1, 2):
        naive = model.sample(batch, seed=seed, sampler="pixelcnn-naive", temperature=temperature)
        fast = model.sample(batch, seed=seed, sampler="pixelcnn-fast", temperature=temperature)
        assert torch.equal(naive, fast)  # every pixel, bit for bit
        assert ((naive * 255).round() == naive * 255).all()  # 8-bit levels


def test_labels_temperature_and_seeds():
    model = tiny("pixelcnn")
    a = model.sample(4, seed=0, labels="c")
    assert torch.equal(a, model.sample(4, seed=0, labels=2))
    assert not torch.equal(a, model.sample(4, seed=0, labels="d"))
    def agreement(temperature: float) -> float:  # share of pixels two seeds draw alike
        a, b = (model.sample(4, seed=s, labels="a", temperature=temperature) for s in (0, 1))
        return (a == b).float().mean().item()

    assert agreement(0.01) > 0.9 > agreement(1.0)  # near T = 0 every seed draws the most likely level
    with pytest.raises(zoo.BadInputError, match=r"temperature must be a number > 0, got 0"):
        model.sample(1, seed=0, temperature=0)
    with pytest.raises(zoo.BadInputError, match="unknown class 'z'"):
        model.sample(1, seed=0, labels="z")
    with pytest.raises(zoo.BadInputError, match="steps do not apply|unknown options"):
        model.sample(1, seed=0, steps=5)


def test_completion_keeps_the_top_rows():
    model = tiny("pixelcnn")
    images = torch.rand(3, 1, 8, 8)
    out = model.complete(images, rows=3, seed=0, labels="a")
    kept = (images[:, :, :3] * 255).round() / 255
    assert torch.equal(out[:, :, :3], kept)
    assert not torch.equal(out[:, :, 3:], (images[:, :, 3:] * 255).round() / 255)
    assert torch.equal(out, model.complete(images, rows=3, seed=0, labels="a", sampler="pixelcnn-naive"))
    assert torch.equal(model.complete(images, rows=8, seed=0, labels="a"), (images * 255).round() / 255)
    with pytest.raises(zoo.BadInputError, match="rows must be an integer from 0 to 8, got 9"):
        model.complete(images, rows=9)
    with pytest.raises(zoo.BadInputError, match=r"must be \(B, 1, 8, 8\)"):
        model.complete(torch.rand(1, 1, 28, 28), rows=2)


def test_zoo_complete_and_bad_input(tmp_path):
    from PIL import Image

    from zoo.weights import save_model_folder

    folder = tmp_path / "pcnn"
    save_model_folder(tiny("pixelcnn"), folder)
    for i in range(2):
        Image.new("L", (20, 20), 40 * i).save(tmp_path / f"{i}.png")
    files = [str(tmp_path / "0.png"), str(tmp_path / "1.png")]
    result = run("complete", str(folder), *files, "--rows", "4", "--seed", "0", "--label", "b", "-o",
                 str(tmp_path / "c.png"))
    assert result.exit_code == 0, result.output
    assert Image.open(tmp_path / "c.png").size == (2 * 10 + 2, 2 * 10 + 2)  # inputs above, completions below
    one_line_error(run("complete", str(folder), *files, "--rows", "9", "-o", str(tmp_path / "d.png")),
                   "rows must be an integer from 0 to 8")
    one_line_error(run("complete", str(folder), *files, "--rows", "2", "--temperature", "-1", "-o",
                       str(tmp_path / "d.png")), "temperature must be a number > 0")
    one_line_error(run("complete", "dcgan-fashion", *files, "--rows", "2", "-o", str(tmp_path / "d.png")),
                   "'dcgan-fashion' cannot complete images")
    one_line_error(run("sample", str(folder), "--temperature", "0", "-o", str(tmp_path / "e.png")),
                   "temperature must be a number > 0")
