"""Small CNN classifiers the evaluation trains on demand, for data the bundled Fashion-MNIST
classifier does not cover: which of two domains an image belongs to (a translator's target
rate), and which class it shows in a domain's own style (whether a translation keeps the
digit). Each is trained deterministically from a data source's train split and cached under
``~/.cache/zoo/classifiers`` (or ``$ZOO_CACHE``), keyed by what it was trained on, so a
rerun of ``zoo eval`` uses the same classifier.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo import weights as W

VERSION = 1  # bump when the network or the recipe changes: cached classifiers are then retrained


class SmallCNN(nn.Module):
    """Images ``(B, C, H, W)`` in [0, 1] → logits ``(B, num_classes)``: two conv-ReLU-pool stages,
    then two linear layers."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4), nn.Flatten(), nn.Linear(64 * 16, 128), nn.ReLU(), nn.Linear(128, num_classes),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images * 2 - 1)


def shift(x: torch.Tensor, generator: torch.Generator, pixels: int = 2) -> torch.Tensor:
    """A random shift of the whole batch by up to ``pixels`` in each direction (zero padding)."""
    h, w = x.shape[-2:]
    padded = F.pad(x, (pixels,) * 4)
    dx, dy = torch.randint(0, 2 * pixels + 1, (2,), generator=generator).tolist()
    return padded[..., dy : dy + h, dx : dx + w]


def fit(images: torch.Tensor, labels: torch.Tensor, num_classes: int, *, epochs: int = 6, batch_size: int = 64,
        lr: float = 1e-3, seed: int = 0) -> SmallCNN:
    """Train a ``SmallCNN`` with Adam and random shifts; the same inputs give the same weights."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = SmallCNN(images.shape[1], num_classes)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        perm = torch.randperm(len(images), generator=gen)
        for i in range(0, len(images) - batch_size + 1, batch_size):
            idx = perm[i : i + batch_size]
            loss = F.cross_entropy(model(shift(images[idx], gen)), labels[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval()


def cache_dir() -> Path:
    from zoo.metrics.evaluate import cache_dir as features_dir

    return features_dir().parent / "classifiers"


def cached_classifier(what: dict[str, Any], data: Callable[[], tuple[torch.Tensor, torch.Tensor, int]]
                      ) -> tuple[SmallCNN, dict[str, Any]]:
    """The classifier described by ``what`` (JSON-serialisable: its data sources and task), from the
    cache or trained now on ``data()`` → ``(images, labels, num_classes)``. Returns it with its info
    (``what``, training seconds)."""
    key = hashlib.sha256(json.dumps({**what, "version": VERSION}, sort_keys=True).encode()).hexdigest()[:16]
    folder = cache_dir() / key
    if (folder / W.WEIGHTS_NAME).is_file() and (folder / "info.json").is_file():
        try:
            info = json.loads((folder / "info.json").read_text())
            model = SmallCNN(info["channels"], info["num_classes"])
            model.load_state_dict(W.load_state_dict(folder / W.WEIGHTS_NAME))
            return model.eval(), info
        except Exception:  # a damaged cache entry is retrained, never trusted
            pass
    images, labels, num_classes = data()
    t0 = time.perf_counter()
    model = fit(images, labels, num_classes)
    info = {**what, "channels": int(images.shape[1]), "num_classes": num_classes, "train_images": len(images),
            "seconds": round(time.perf_counter() - t0, 1)}
    folder.mkdir(parents=True, exist_ok=True)
    from safetensors.torch import save

    W.atomic_write_bytes(folder / W.WEIGHTS_NAME, save({k: v.contiguous() for k, v in model.state_dict().items()}))
    W.atomic_write_bytes(folder / "info.json", json.dumps(info, indent=2).encode())
    return model, info


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Predicted classes ``(N,)``."""
    return torch.cat([model(b.float()).argmax(1) for b in images.split(batch_size)])
