"""Image utilities: tensors in [0, 1] to PNG files and grids. No torchvision needed."""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import BadInputError

if TYPE_CHECKING:
    import numpy as np
    import torch


def check_output_path(path: Path | str, *, force: bool = False) -> Path:
    """Refuse an output path whose folder is missing or unwritable, or that exists (without force)."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BadInputError(f"output folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise BadInputError(f"output folder {folder} is not writable")
    if path.is_dir():
        raise BadInputError(f"output path {path} is a folder")
    if path.exists() and not force:
        raise BadInputError(f"{path} already exists; pass --force to overwrite it")
    if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
        raise BadInputError(f"output {path} must end in .png, .jpg or .webp")
    return path


def max_pixels() -> int:
    """The largest image, in pixels, the zoo reads or writes: Pillow's own decompression-bomb limit
    (``PIL.Image.MAX_IMAGE_PIXELS``, 89 megapixels unless changed), so every grid can be read back."""
    from PIL import Image

    return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def grid_size(n: int, image_shape: Sequence[int], nrow: int | None = None, padding: int = 2) -> tuple[int, int]:
    """(height, width) in pixels of the grid ``make_grid`` makes of ``n`` images of shape ``(C, H, W)``."""
    _, h, w = image_shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    return ncol * (h + padding) + padding, nrow * (w + padding) + padding


def check_grid(n: int, image_shape: Sequence[int], nrow: int | None = None) -> None:
    """Refuse, before any image is made, a grid that could not be written: ``nrow`` below 1, or more
    pixels than ``max_pixels()`` (``zoo sample -n 100000000 -o x.png``); the way out is ``--out-dir``."""
    if nrow is not None and (isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1):
        raise BadInputError(f"--nrow must be a positive integer, got {nrow!r}")
    height, width = grid_size(n, image_shape, nrow)
    if height * width > max_pixels():
        c, h, w = image_shape
        raise BadInputError(f"a grid of {n:,} images of {c}×{h}×{w} would be {width:,}×{height:,} pixels, above the "
                            f"{max_pixels():,} one image may hold: write one PNG per image with --out-dir DIR")


def open_image(path: Path | str) -> Any:
    """Open an image file with Pillow, refusing up front one whose header declares more than
    ``max_pixels()`` (a decompression bomb), before anything is decoded.

    Returns:
        The lazily opened ``PIL.Image`` (use it in a ``with`` block).

    Raises:
        BadInputError: Not an image, unreadable, or too large.
    """
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(path)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise BadInputError(f"image {path} declares more than {max_pixels():,} pixels; refusing it as a possible "
                            "decompression bomb (resize it first)") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise BadInputError(f"cannot read image {path}: {err}") from None
    width, height = im.size
    if width * height > max_pixels():
        im.close()
        raise BadInputError(f"image {path} is {width:,}×{height:,} pixels, above {max_pixels():,}; refusing it as a "
                            "possible decompression bomb (resize it first)")
    return im


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """(N, C, H, W) float in [0, 1] -> (N, H, W, C) uint8, rounding to nearest."""
    return (images.detach().float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).cpu().numpy()


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2) -> np.ndarray:
    """Tile (N, C, H, W) images into one (H', W', C) uint8 array with a white border."""
    import numpy as np

    check_grid(len(images), images.shape[1:], nrow)
    arr = to_uint8(images)
    n, h, w, c = arr.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    ncol = math.ceil(n / nrow)
    grid = np.full((ncol * (h + padding) + padding, nrow * (w + padding) + padding, c), 255, np.uint8)
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y : y + h, x : x + w] = arr[i]
    return grid


def _write(array: np.ndarray, path: Path) -> None:
    from PIL import Image

    _save_atomic(Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array), path)


def _save_atomic(img: Any, path: Path) -> None:
    """Save a PIL image through ``zoo.safety.atomic_write``: no half-written file, and a full disk or a
    read-only output is one ``OutputError`` line with the previous file intact."""
    from PIL import Image

    from zoo.safety import atomic_write

    image_format = Image.registered_extensions().get(path.suffix.lower(), "PNG")
    atomic_write(path, lambda f: img.save(f, format=image_format), what="image")


def save_grid(images: torch.Tensor, path: Path | str, *, nrow: int | None = None, force: bool = False) -> Path:
    """Save images as one grid picture (written atomically)."""
    path = check_output_path(path, force=force)
    _write(make_grid(images, nrow), path)
    return path


def pairs_grid(inputs: torch.Tensor, outputs: torch.Tensor, per_row: int) -> torch.Tensor:
    """Images for a grid of ``per_row`` columns in which each row of inputs has its outputs
    (translations, completions) right below it."""
    import torch

    return torch.cat([t for i in range(0, len(inputs), per_row)
                      for t in (inputs[i : i + per_row], outputs[i : i + per_row])])


def image_paths(folder: Path | str, count: int, *, prefix: str = "", force: bool = False) -> list[Path]:
    """The paths ``folder/<prefix>00000.png``... of ``count`` images, the folder made if needed;
    refuses (before anything is written) any that exists, unless ``force``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise BadInputError(f"{folder} exists and is not a folder")
    if not folder.exists():
        if not folder.parent.is_dir():
            raise BadInputError(f"output folder {folder.parent} does not exist")
        folder.mkdir()
    paths = [folder / f"{prefix}{i:05d}.png" for i in range(count)]
    for p in paths:
        check_output_path(p, force=force)
    return paths


def write_images(images: torch.Tensor, paths: Sequence[Path]) -> None:
    """One PNG per image, to paths checked by ``image_paths``."""
    for p, arr in zip(paths, to_uint8(images), strict=True):
        _write(arr, p)


def save_images(images: torch.Tensor, folder: Path | str, *, prefix: str = "", force: bool = False) -> list[Path]:
    """Save one PNG per image as ``folder/<prefix>00000.png``...; nothing is overwritten
    without ``force`` (checked for every file before any is written)."""
    paths = image_paths(folder, len(images), prefix=prefix, force=force)
    write_images(images, paths)
    return paths


def load_image(path: Path | str, channels: int, size: int) -> torch.Tensor:
    """Read an image file as (C, size, size) float in [0, 1]."""
    import numpy as np
    import torch

    path = Path(path)
    if not path.is_file():
        raise BadInputError(f"image {path} does not exist")
    try:
        with open_image(path) as im:
            arr = np.asarray(im.convert("L" if channels == 1 else "RGB").resize((size, size)), np.float32)
    except (OSError, ValueError, SyntaxError) as err:  # damaged data after a good header
        raise BadInputError(f"cannot read image {path}: {err}") from None
    arr = arr[None] if channels == 1 else arr.transpose(2, 0, 1)
    return torch.from_numpy(arr / 255.0)


def bar_chart(
    bars: list[tuple[str, float]], title: str, path: Path | str, *, floor: float | None = None, force: bool = False
) -> Path:
    """A horizontal bar chart as a PNG (PIL only), with an optional dashed floor line."""
    from PIL import Image, ImageDraw

    path = check_output_path(path, force=force)
    label_w, bar_w, row_h, top = 170, 360, 28, 40
    width, height = label_w + bar_w + 90, top + row_h * len(bars) + 20
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 12), title, fill="black")
    top_value = max([v for _, v in bars] + [floor or 0.0]) or 1.0
    for i, (name, value) in enumerate(bars):
        y = top + i * row_h
        draw.text((10, y + 7), name[:26], fill="black")
        length = int(bar_w * max(value, 0.0) / top_value)
        draw.rectangle([label_w, y + 4, label_w + length, y + row_h - 6], fill=(70, 110, 180))
        draw.text((label_w + length + 6, y + 7), f"{value:.4g}", fill="black")
    if floor is not None:
        x = label_w + int(bar_w * max(floor, 0.0) / top_value)
        for y in range(top, height - 16, 8):
            draw.line([(x, y), (x, y + 4)], fill=(200, 40, 40), width=2)
        draw.text((x + 4, height - 16), f"real floor {floor:.3g}", fill=(200, 40, 40))
    _save_atomic(img, path)
    return path
