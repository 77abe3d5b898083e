"""Pixel-by-pixel sampling of a ``GatedPixelCNN``: the naive reference and the fast sampler.

Both draw pixel (i, j) of every image from softmax(logits / T) in raster order, with one
uniform number per pixel from the CPU generator (inverse CDF, in float64), so a seed gives
the same images with either sampler.

- ``NaiveSampler`` runs the whole network once per pixel: H·W forward passes.
- ``FastSampler`` uses what the two stacks guarantee (``model.py``): the vertical stack at row
  i depends on rows < i only, so it is computed once per row (H passes of the vertical stack),
  and within the row only the horizontal stack of that one row is recomputed per pixel
  (H·W passes over one row). This is the "compute only what a new pixel can see" idea of
  Ramachandran et al. 2017 ("Fast Generation for Convolutional Autoregressive Models",
  arXiv:1704.06001) at the granularity of rows. Each convolution it runs is the one the naive
  sampler's forward pass runs on the same inputs (the vertical stack on the whole image; the
  horizontal stack on single rows, which the network folds into the batch), so the logits,
  and thus the pixels, are the same: ``tests/test_pixelcnn.py`` checks every pixel.
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.interfaces import Sampler


def draw_levels(logits: torch.Tensor, temperature: float, generator: torch.Generator) -> torch.Tensor:
    """One level 0..L-1 per row of ``logits`` ``(B, L)`` from softmax(logits / T): a uniform u per
    row from ``generator`` (on the CPU), then the inverse CDF in float64. Returns ``(B,)`` long."""
    u = torch.rand(logits.shape[0], generator=generator, dtype=torch.float64)
    cdf = torch.softmax(logits.double().cpu() / temperature, dim=1).cumsum(1)
    return torch.searchsorted(cdf, u[:, None]).clamp(max=logits.shape[1] - 1)[:, 0]


class _PixelLoop(Sampler):
    name = ""

    @torch.no_grad()
    def sample(self, network: Any, shape: tuple[int, ...], generator: torch.Generator, *,
               labels: torch.Tensor | None = None, temperature: float = 1.0, start: torch.Tensor | None = None,
               start_rows: int = 0, progress: bool = False, **options: Any) -> torch.Tensor:
        """Images ``shape`` = (B, 1, H, W) in [0, 1] (multiples of 1/(L - 1), L = ``network.num_levels``).

        Args:
            network: A ``GatedPixelCNN``.
            labels: ``(B,)`` classes of a conditional network.
            temperature: Divides the logits (1: the model's distribution; < 1 sharper).
            start, start_rows: Images whose top ``start_rows`` rows are kept (completion).
            progress: A bar over the rows.
        """
        if options:
            from zoo.errors import BadInputError

            raise BadInputError(f"sampler '{self.name}' got unknown options {sorted(options)}; it takes temperature")
        B, C, H, W = shape
        param = next(network.parameters())
        x = torch.zeros(shape, dtype=param.dtype, device=param.device)
        if start is not None and start_rows:
            x[:, :, :start_rows] = start[:, :, :start_rows].to(x)
        biases = network.class_biases(labels, B)
        rows = range(start_rows, H)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(rows), desc=self.name, unit="row", leave=False)
        for i in rows:
            self.row(network, x, i, biases, float(temperature), generator)
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        return x

    def row(self, network: Any, x: torch.Tensor, i: int, biases: list[Any], temperature: float,
            generator: torch.Generator) -> None:
        raise NotImplementedError


class NaiveSampler(_PixelLoop):
    """The reference: the whole network on the whole image for every pixel."""

    name = "pixelcnn-naive"

    def row(self, network, x, i, biases, temperature, generator) -> None:
        for j in range(x.shape[-1]):
            logits = network.logits(network.scale(x), biases)[:, :, i, j]  # (B, 256): a full pass per pixel
            x[:, 0, i, j] = draw_levels(logits, temperature, generator).to(x) / (network.num_levels - 1)


class FastSampler(_PixelLoop):
    """The vertical stack once per row, the horizontal stack of one row once per pixel."""

    name = "pixelcnn-fast"

    def row(self, network, x, i, biases, temperature, generator) -> None:
        from zoo_plugins.pixelcnn.model import rows_to_batch

        v_pres = [rows_to_batch(p[:, :, i : i + 1]) for p in network.vertical_stack(network.scale(x), biases)]
        for j in range(x.shape[-1]):
            row = network.scale(x[:, :, i : i + 1])  # (B, 1, 1, W): row i so far
            logits = network.horizontal_stack(row, v_pres, biases)[:, :, 0, j]
            x[:, 0, i, j] = draw_levels(logits, temperature, generator).to(x) / (network.num_levels - 1)
