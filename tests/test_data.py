"""Data loading from local files: IDX, ZOO_DATA, folders of images, and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import zoo
from zoo import DataError
from zoo.data import FASHION_MNIST_CLASSES, load_dataset, load_fashion_mnist, read_idx

from .conftest import write_idx


def test_idx_round_trip(tmp_path):
    array = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    write_idx(tmp_path / "a.gz", array)
    assert np.array_equal(read_idx(tmp_path / "a.gz"), array)
    (tmp_path / "bad.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="cannot read IDX"):
        read_idx(tmp_path / "bad.gz")


def test_fashion_layout_from_a_path_and_from_zoo_data(tiny_fashion, monkeypatch):
    images, labels = load_fashion_mnist("train", tiny_fashion)
    assert images.shape == (64, 1, 28, 28) and images.dtype == torch.float32
    assert 0 <= images.min() and images.max() <= 1 and labels.dtype == torch.int64
    monkeypatch.setenv("ZOO_DATA", str(tiny_fashion))
    assert load_dataset("fashion-mnist", "test")[0].shape == (32, 1, 28, 28)


def test_missing_data_says_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.delenv("ZOO_DATA", raising=False)
    monkeypatch.setattr("zoo.data.FASHION_MNIST_DIR", tmp_path / "absent")
    with pytest.raises(DataError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist")
    with pytest.raises(DataError, match="nowhere does not exist"):
        load_dataset(str(tmp_path / "nowhere"))
    with pytest.raises(zoo.UnknownModelError, match="unknown data set 'fashon-mnist'. Did you mean: fashion-mnist"):
        load_dataset("fashon-mnist")


def test_a_folder_of_images(tmp_path):
    from PIL import Image

    for i in range(3):
        Image.fromarray(np.full((40, 30), 60 * i, np.uint8)).save(tmp_path / f"{i}.png")
    images, labels = load_dataset(str(tmp_path))
    assert images.shape == (3, 1, 28, 28) and (labels == -1).all()
    assert images[2].mean().item() == pytest.approx(120 / 255, abs=1e-3)


@pytest.mark.realdata
def test_the_real_fashion_mnist():
    images, labels = load_fashion_mnist("test")
    assert images.shape == (10_000, 1, 28, 28)
    assert torch.bincount(labels).tolist() == [1000] * len(FASHION_MNIST_CLASSES)
