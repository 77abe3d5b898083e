"""Gated PixelCNN (van den Oord, Kalchbrenner, Vinyals, Espeholt, Graves & Kavukcuoglu 2016,
"Conditional Image Generation with PixelCNN Decoders", arXiv:1606.05328) for 8-bit grayscale
images, class-conditional through a label embedding.

p(x | y) = Π_i p(x_i | x_<i, y) in raster order, each factor a 256-way softmax. Two stacks
remove the blind spot of the masked PixelCNN (§2.2):

- the vertical stack ``v`` sees the rows above: v[i, j] depends on rows < i only;
- the horizontal stack ``h`` sees the row so far and the vertical stack: h[i, j] depends on
  rows < i and on row i left of j.

The first layer gets those by shifting its input (down by one row for ``v``, right by one
column for ``h``); every later layer keeps them with causal kernels: ``v`` reads rows ≤ i of
``v`` (k//2 + 1 rows, k columns), ``h`` reads columns ≤ j of ``h`` (1 row, k//2 + 1 columns)
and ``v`` at (i, j) through a 1×1 convolution. Gated units tanh(W_f * x) ⊙ σ(W_g * x) (eq. 4),
plus the class embedding as a bias of both halves (eq. 5, a one-hot h).

The horizontal stack runs with the rows folded into the batch (``(B·H, C, 1, W)``), so that the
fast sampler, which recomputes one row at a time, performs the very same convolutions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.interfaces import Likelihood, SampledGenerator


def down_shift(x: torch.Tensor) -> torch.Tensor:
    """Move every row one down (zeros in row 0): position i then holds row i - 1."""
    return F.pad(x, (0, 0, 1, 0))[:, :, :-1]


def right_shift(x: torch.Tensor) -> torch.Tensor:
    """Move every column one right (zeros in column 0)."""
    return F.pad(x, (1, 0))[..., :-1]


class VerticalConv(nn.Module):
    """A causal k×k convolution over rows i - k//2 .. i (all k columns): output row i reads input rows ≤ i."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.k = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel_size // 2 + 1, kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        p = self.k // 2
        return self.conv(F.pad(x, (p, p, p, 0)))  # (B, C, H, W): pad k//2 rows on top only


class HorizontalConv(nn.Module):
    """A causal 1×(k//2 + 1) convolution over columns j - k//2 .. j of each row, on ``(N, C, 1, W)``."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int) -> None:
        super().__init__()
        self.k = kernel_size
        self.conv = nn.Conv2d(in_channels, out_channels, (1, kernel_size // 2 + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(F.pad(x, (self.k // 2, 0, 0, 0)))


def rows_to_batch(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B·H, C, 1, W)."""
    B, C, H, W = x.shape
    return x.permute(0, 2, 1, 3).reshape(B * H, C, 1, W)


def batch_to_rows(x: torch.Tensor, B: int) -> torch.Tensor:
    """(B·H, C, 1, W) → (B, C, H, W)."""
    N, C, _, W = x.shape
    return x.reshape(B, N // B, C, W).permute(0, 2, 1, 3)


def gate(x: torch.Tensor) -> torch.Tensor:
    """tanh(a) ⊙ σ(b) for x = [a, b] along channels (eq. 4)."""
    a, b = x.chunk(2, dim=1)
    return torch.tanh(a) * torch.sigmoid(b)


class GatedLayer(nn.Module):
    """One layer of both stacks (Figure 2 of the paper). ``first``: the layer that reads the image,
    without residuals (its inputs are shifted by the caller)."""

    def __init__(self, in_channels: int, channels: int, kernel_size: int, num_classes: int, first: bool) -> None:
        super().__init__()
        self.first = first
        self.vertical = VerticalConv(in_channels, 2 * channels, kernel_size)
        self.horizontal = HorizontalConv(in_channels, 2 * channels, kernel_size)
        self.v_to_h = nn.Conv2d(2 * channels, 2 * channels, 1)
        self.h_out = nn.Conv2d(channels, channels, 1)
        self.class_bias = nn.Embedding(num_classes, 2 * channels) if num_classes else None

    def vertical_step(self, v: torch.Tensor, bias: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The vertical stack: its pre-activation (for the horizontal stack) and its output, (B, ·, H, W)."""
        pre = self.vertical(v)
        out = gate(pre if bias is None else pre + bias[:, :, None, None])
        return pre, out if self.first else v + out

    def horizontal_step(self, h_rows: torch.Tensor, v_pre: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
        """The horizontal stack on rows folded into the batch: ``h_rows`` (N, C, 1, W) and the vertical
        pre-activation of the same rows (N, 2C, 1, W); ``bias`` (N, 2C) or None."""
        pre = self.horizontal(h_rows) + self.v_to_h(v_pre)
        out = self.h_out(gate(pre if bias is None else pre + bias[:, :, None, None]))
        return out if self.first else h_rows + out


class GatedPixelCNN(SampledGenerator, Likelihood):
    """The network and its likelihood; sampling is a registered sampler's (``pixelcnn-naive``, the
    reference: the whole network once per pixel; ``pixelcnn-fast``: one row at a time).

    Args:
        channels: Feature maps per stack (each gated unit has 2×).
        num_layers: Gated layers (the first reads the image).
        kernel_size: k of the vertical k×k and horizontal 1×k kernels (odd).
        head_channels: Width of the 1×1 output head.
        class_names: Classes of the conditional model (``()``: unconditional).
        image_size, in_channels: Image shape (grayscale: one channel).
        sampler: Default sampler id; ``temperature``: default softmax temperature (1: the model's own).
    """

    family = "autoregressive"
    takes_steps = False  # one pixel per step
    exact_likelihood = True

    def __init__(self, channels: int = 64, num_layers: int = 8, kernel_size: int = 5, head_channels: int = 256,
                 class_names: Sequence[str] = (), image_size: int = 28, in_channels: int = 1, num_levels: int = 256,
                 sampler: str = "pixelcnn-fast", temperature: float | None = None) -> None:
        super().__init__()
        if not 2 <= num_levels <= 256:
            raise ValueError(f"num_levels must be from 2 to 256, got {num_levels}")
        self.num_levels = num_levels  # 256 for 8-bit pixels; 2 for the binary toys of the tests
        if kernel_size % 2 == 0 or kernel_size < 3:
            raise ValueError(f"kernel_size must be odd and at least 3, got {kernel_size}")
        if in_channels != 1:
            raise ValueError("this PixelCNN models grayscale images (in_channels=1)")
        if num_layers < 1 or channels < 1:
            raise ValueError("num_layers and channels must be positive")
        self.image_shape = (in_channels, image_size, image_size)
        self.class_names = tuple(class_names)
        n = len(self.class_names)
        self.layers = nn.ModuleList(
            [GatedLayer(in_channels, channels, kernel_size, n, first=True)]
            + [GatedLayer(channels, channels, kernel_size, n, first=False) for _ in range(num_layers - 1)]
        )
        self.head = nn.Sequential(nn.ReLU(), nn.Conv2d(channels, head_channels, 1), nn.ReLU(),
                                  nn.Conv2d(head_channels, num_levels * in_channels, 1))
        # the rows above a pixel that can reach it: the first layer sees one row up, each later one k//2 more
        self.receptive_rows = 1 + (kernel_size // 2) * num_layers
        self.configure_sampling(sampler=sampler, temperature=temperature)

    # ------------------------------------------------------------------ network

    @staticmethod
    def scale(images: torch.Tensor) -> torch.Tensor:
        """Pixel values in [0, 1] (multiples of 1/255) to the network's input range [-1, 1]."""
        return images * 2 - 1

    def class_biases(self, labels: torch.Tensor | None, n: int) -> list[torch.Tensor | None]:
        if not self.conditional:
            return [None] * len(self.layers)
        if labels is None:
            raise ValueError("a class-conditional PixelCNN needs labels")
        return [layer.class_bias(labels) for layer in self.layers]  # each (B, 2C)

    def vertical_stack(self, x: torch.Tensor, biases: list[torch.Tensor | None]) -> list[torch.Tensor]:
        """Every layer's vertical pre-activation ``(B, 2C, H, W)`` for network inputs ``x`` in [-1, 1]."""
        v = down_shift(x)
        pres = []
        for layer, bias in zip(self.layers, biases):
            pre, v = layer.vertical_step(v, bias)
            pres.append(pre)
        return pres

    def horizontal_stack(self, x_rows: torch.Tensor, v_pres: list[torch.Tensor],
                         biases: list[torch.Tensor | None]) -> torch.Tensor:
        """Logits ``(N, 256, 1, W)`` of rows folded into the batch: ``x_rows`` (N, 1, 1, W) in [-1, 1],
        ``v_pres`` the vertical pre-activations of the same rows, ``biases`` (N, 2C) or None."""
        h = right_shift(x_rows)
        for layer, v_pre, bias in zip(self.layers, v_pres, biases):
            h = layer.horizontal_step(h, v_pre, bias)
        return self.head(h)

    def logits(self, x: torch.Tensor, biases: list[torch.Tensor | None]) -> torch.Tensor:
        """Logits ``(B, 256, H, W)`` for network inputs ``x`` in [-1, 1] and looked-up class biases."""
        B, _, H, _ = x.shape
        v_pres = [rows_to_batch(p) for p in self.vertical_stack(x, biases)]
        row_biases = [None if b is None else b.repeat_interleave(H, dim=0) for b in biases]
        return batch_to_rows(self.horizontal_stack(rows_to_batch(x), v_pres, row_biases), B)

    def forward(self, images: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Logits ``(B, L, H, W)`` of p(x_i | x_<i, y) over the L = ``num_levels`` pixel values, for
        images ``(B, 1, H, W)`` in [0, 1]."""
        return self.logits(self.scale(images), self.class_biases(labels, len(images)))

    # ------------------------------------------------------------------ likelihood

    def to_levels(self, images: torch.Tensor) -> torch.Tensor:
        """Images in [0, 1] to integer levels 0..L-1 ``(B, H, W)`` (rounded: 8-bit data for L = 256)."""
        top = self.num_levels - 1
        return (images[:, 0] * top).round().clamp(0, top).long()

    def conditional_log_prob(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """log p(x | y) in nats ``(B,)``: the sum over pixels of the log-softmax at the true level."""
        logits = self(images, labels)  # (B, 256, H, W)
        return -F.cross_entropy(logits, self.to_levels(images), reduction="none").flatten(1).sum(1)

    def log_prob(self, images: torch.Tensor, generator: torch.Generator | None = None,
                 labels: torch.Tensor | None = None) -> torch.Tensor:
        """The exact log-likelihood in nats per image ``(B,)`` of 8-bit images in [0, 1].

        For a conditional model without ``labels``: log p(x) = log Σ_y p(y) p(x | y), summed exactly
        over the classes with the uniform p(y) the model was trained under (Fashion-MNIST is balanced).
        """
        images = self.check_images(images)
        if not self.conditional or labels is not None:
            return self.conditional_log_prob(images, labels)
        per_class = torch.stack([self.conditional_log_prob(images, torch.full((len(images),), k, device=self.device))
                                 for k in range(len(self.class_names))], dim=1)  # (B, K)
        return torch.logsumexp(per_class, dim=1) - math.log(len(self.class_names))

    # ------------------------------------------------------------------ sampling

    def to_images(self, output: torch.Tensor) -> torch.Tensor:
        """The samplers return images in [0, 1] already (levels / 255)."""
        return output

    def check_steps(self, steps: object) -> int:
        from zoo.errors import BadInputError

        raise BadInputError("a PixelCNN draws one pixel per step: steps do not apply (its samplers take temperature)")

    @torch.no_grad()
    def complete(self, images: torch.Tensor, rows: int, *, seed: int | None = None,
                 labels: Sequence[int | str] | int | str | None = None, sampler: str | None = None,
                 temperature: float | None = None) -> torch.Tensor:
        """Keep the top ``rows`` rows of each image and sample the rest from p(x | those rows, y)
        (the occluded completions of the PixelRNN paper, Figure 1).

        Args:
            images: ``(B, 1, H, W)`` in [0, 1].
            rows: Rows kept, 0 to H.
            seed: Seed of the completions.
            labels: Class of each image (conditional models; default: drawn at random from ``seed``).
            sampler, temperature: As for ``sample`` (defaults: the model's).

        Returns:
            ``(B, 1, H, W)`` in [0, 1] on the CPU; the kept rows are the input's, rounded to the levels.
        """
        from zoo.errors import BadInputError
        from zoo.interfaces import check_seed, make_generator

        images = self.check_images(images)
        H = self.image_shape[1]
        if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= H:
            raise BadInputError(f"rows must be an integer from 0 to {H}, got {rows!r}")
        options = self.check_sample_options({"sampler": sampler, "temperature": temperature})
        name = options.pop("sampler", None) or self.sampler
        options = {**{k: v for k, v in self.sampling_options.items() if k in self.declared_options(name)}, **options}
        gen = make_generator(check_seed(seed))
        label_tensor = self.resolve_labels(labels, len(images))
        if self.conditional and label_tensor is None:
            label_tensor = self.random_labels(len(images), gen)
        start = self.to_levels(images).to(images.dtype)[:, None] / (self.num_levels - 1)
        procedure = self.build_sampler(name)
        was_training = self.training
        self.eval()
        try:
            out = procedure.sample(self, tuple(images.shape), gen, start=start, start_rows=rows,
                                   labels=None if label_tensor is None else label_tensor.to(self.device), **options)
        finally:
            self.train(was_training)
        return out.float().cpu()
