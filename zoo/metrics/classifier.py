"""The Fashion-MNIST classifier whose penultimate features measure sample quality.

A timm ResNet (He et al. 2016) with BasicBlocks [2, 2, 2, 2] at half the usual
widths, one input channel, fed 28×28 images resized to 32×32. Trained here
(``python -m zoo.metrics.classifier --out DIR``) and bundled as its own model
folder, ``model_cards/fashion-mnist-classifier``, with a card giving its test accuracy.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from zoo import weights as W
from zoo.errors import WeightsError

CLASSIFIER_ID = "fashion-mnist-classifier"
INPUT_SIZE = 32


class FashionClassifier(nn.Module):
    """Images (B, 1, 28, 28) in [0, 1] -> logits (B, 10); ``features`` gives the
    penultimate layer (B, 256)."""

    def __init__(self, channels: tuple[int, ...] = (32, 64, 128, 256), layers: tuple[int, ...] = (2, 2, 2, 2),
                 num_classes: int = 10) -> None:
        super().__init__()
        from timm.models.resnet import BasicBlock, ResNet

        self.backbone = ResNet(BasicBlock, tuple(layers), num_classes=num_classes, in_chans=1,  # type: ignore[arg-type]
                               channels=tuple(channels), stem_width=channels[0])
        self.config = {"channels": list(channels), "layers": list(layers), "num_classes": num_classes}

    @property
    def num_features(self) -> int:
        return self.backbone.num_features

    def _prepare(self, images: torch.Tensor) -> torch.Tensor:
        x = (images - 0.286) / 0.353  # Fashion-MNIST train mean and std
        return F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (after global average pooling), (B, 256)."""
        return self.backbone.forward_head(self.backbone.forward_features(self._prepare(images)), pre_logits=True)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.backbone(self._prepare(images))


def classifier_folder() -> Path:
    return W.bundled_root() / CLASSIFIER_ID


def load_classifier(folder: Path | None = None, device: str | torch.device = "cpu") -> FashionClassifier:
    """The bundled classifier, in eval mode."""
    folder = Path(folder or classifier_folder())
    if not (folder / W.WEIGHTS_NAME).is_file():
        raise WeightsError(f"the evaluation classifier is missing: expected {folder / W.WEIGHTS_NAME}")
    config = W.read_json(folder / W.CONFIG_NAME)
    model = FashionClassifier(tuple(config["channels"]), tuple(config["layers"]), config["num_classes"])
    state = W.load_state_dict(folder / W.WEIGHTS_NAME)
    model.load_state_dict({k: v.float() for k, v in state.items()})
    return model.to(device).eval()


def classifier_digest(folder: Path | None = None) -> str:
    """A short key of the classifier's weights, so cached reference features are
    recomputed whenever the extractor changes."""
    return W.sha256_file(Path(folder or classifier_folder()) / W.WEIGHTS_NAME)[:16]


@torch.no_grad()
def accuracy(model: FashionClassifier, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 1000) -> float:
    correct = 0
    for x, y in zip(images.split(batch_size), labels.split(batch_size)):
        correct += (model(x).argmax(1) == y).sum().item()
    return correct / len(labels)


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flip and a random shift of up to 2 pixels (zero padding)."""
    flip = torch.rand(len(x), generator=generator) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    padded = F.pad(x, (2, 2, 2, 2))
    dx, dy = torch.randint(0, 5, (2,), generator=generator).tolist()
    return padded[:, :, dy : dy + 28, dx : dx + 28]


def train_classifier(out: Path, epochs: int = 15, batch_size: int = 128, lr: float = 0.1, seed: int = 0) -> dict:
    """Train on the Fashion-MNIST train split with SGD + Nesterov, a one-cycle schedule
    and label smoothing; export the model folder with its card to ``out``."""
    from zoo.data import load_fashion_mnist

    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x_train, y_train = load_fashion_mnist("train")
    x_test, y_test = load_fashion_mnist("test")
    model = FashionClassifier()
    steps = epochs * (len(x_train) // batch_size)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=5e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.2)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x_train), generator=gen)
        for i in range(len(x_train) // batch_size):
            idx = perm[i * batch_size : (i + 1) * batch_size]
            loss = F.cross_entropy(model(augment(x_train[idx], gen)), y_train[idx], label_smoothing=0.1)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        acc = accuracy(model, x_test, y_test)
        print(f"epoch {epoch + 1}/{epochs} loss {loss.item():.3f} test accuracy {acc:.4f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    info = {"epochs": epochs, "batch_size": batch_size, "lr": lr, "seed": seed,
            "wall_time_s": round(time.perf_counter() - t0, 1), "test_accuracy": acc,
            "torch": torch.__version__, "threads": torch.get_num_threads()}
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16) if v.is_floating_point() else v for k, v in model.state_dict().items()}
    from safetensors.torch import save

    W.atomic_write_bytes(out / W.WEIGHTS_NAME, save(state))
    W.atomic_write_bytes(out / W.CONFIG_NAME, (json.dumps(
        {"architecture": CLASSIFIER_ID, **model.config, "input_size": INPUT_SIZE}, indent=2) + "\n").encode())
    W.atomic_write_bytes(out / "training.json", (json.dumps(info, indent=2) + "\n").encode())
    return info


def main() -> None:
    parser = argparse.ArgumentParser(description="Train (or --evaluate) the evaluation classifier on Fashion-MNIST.")
    parser.add_argument("--out", type=Path, help="Folder for the trained classifier.")
    parser.add_argument("--evaluate", type=Path, nargs="?", const=Path(""), default=None,
                        help="Print the test accuracy of a classifier folder (default: the bundled one).")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.evaluate is not None:
        from zoo.data import load_fashion_mnist

        model = load_classifier(args.evaluate if str(args.evaluate) not in ("", ".") else None)
        images, labels = load_fashion_mnist("test")
        print(f"test accuracy {accuracy(model, images, labels):.4f} on {len(labels)} Fashion-MNIST test images")
        return
    if args.out is None:
        parser.error("--out is required for training")
    print(json.dumps(train_classifier(args.out, args.epochs, args.batch_size, args.lr, args.seed), indent=2))


if __name__ == "__main__":
    main()
