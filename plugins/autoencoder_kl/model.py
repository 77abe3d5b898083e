"""A KL-regularized autoencoder with a spatial latent, the first stage of latent diffusion
(Rombach, Blattmann, Lorenz, Esser & Ommer 2022, "High-Resolution Image Synthesis with Latent
Diffusion Models", arXiv:2112.10752, §3 and Appendix G: the "KL-reg." autoencoder, their
``AutoencoderKL``), sized for 28×28 images.

The encoder downsamples by f = 4 (28×28 → 7×7) with residual blocks at 14×14 and 7×7 (none at
full resolution, where they would cost most on a CPU) and predicts a diagonal
Gaussian q(z|x) over a ``latent_channels``×7×7 latent; the decoder mirrors it. A small KL
penalty toward N(0, I) keeps the latent space from drifting to arbitrary scales (the paper's
"slight KL-penalty"); the latent diffusion model later rescales latents to unit variance.
Only an encoder role: nothing here samples from the prior.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from zoo.interfaces import Encoder


class ResBlock(nn.Module):
    """GroupNorm → SiLU → 3×3 conv, twice, plus the (1×1-projected) input."""

    def __init__(self, in_channels: int, out_channels: int, groups: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.GroupNorm(groups, in_channels), nn.SiLU(), nn.Conv2d(in_channels, out_channels, 3, padding=1),
            nn.GroupNorm(groups, out_channels), nn.SiLU(), nn.Conv2d(out_channels, out_channels, 3, padding=1),
        )
        self.skip = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.block(x)


class AutoencoderKL(Encoder):
    """Images ``(B, C, H, W)`` in [0, 1] ↔ latents ``(B, latent_channels, H/4, W/4)``.

    Args:
        latent_channels: Channels of the latent (4 in the paper's f = 4 models).
        base_channels: Width at full resolution (doubled at each lower one).
        groups: GroupNorm groups.
        image_size, in_channels: Image shape.
    """

    def __init__(self, latent_channels: int = 4, base_channels: int = 32, groups: int = 8, image_size: int = 28,
                 in_channels: int = 1) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (f = 4), got {image_size}")
        c = base_channels
        if c % groups or min(latent_channels, c) < 1:
            raise ValueError(f"base_channels {c} must be a positive multiple of groups {groups}")
        self.image_shape = (in_channels, image_size, image_size)
        self.latent_shape = (latent_channels, image_size // 4, image_size // 4)
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, c, 3, padding=1), nn.SiLU(),  # (B, c, H, W)
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), ResBlock(2 * c, 2 * c, groups),  # (B, 2c, H/2, W/2)
            nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1), ResBlock(2 * c, 2 * c, groups),  # (B, 2c, H/4, W/4)
            ResBlock(2 * c, 2 * c, groups),
            nn.GroupNorm(groups, 2 * c), nn.SiLU(), nn.Conv2d(2 * c, 2 * latent_channels, 3, padding=1),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(latent_channels, 2 * c, 3, padding=1), ResBlock(2 * c, 2 * c, groups),  # (B, 2c, H/4, W/4)
            ResBlock(2 * c, 2 * c, groups),
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(2 * c, 2 * c, 3, padding=1),
            ResBlock(2 * c, c, groups),  # (B, c, H/2, W/2)
            nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(c, c, 3, padding=1),  # (B, c, H, W)
            nn.GroupNorm(groups, c), nn.SiLU(), nn.Conv2d(c, in_channels, 3, padding=1),
        )

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x): mean and log-variance, each ``(B, *latent_shape)``."""
        mean, logvar = self.encoder(images * 2 - 1).chunk(2, dim=1)
        return mean, logvar.clamp(-30.0, 20.0)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The posterior mean ``(B, *latent_shape)``."""
        return self.posterior(images.to(self.device, self.dtype))[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents to images in [0, 1]."""
        return (torch.tanh(self.decoder(z)) + 1) / 2

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        """Per-image losses ``(B,)`` of one posterior sample: L1 reconstruction (summed over pixels, in
        [0, 1]) and KL(q(z|x) || N(0, I)) (summed over latent dimensions)."""
        mean, logvar = self.posterior(images)
        z = mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)  # reparameterization
        recon = F.l1_loss(self.decode(z), images, reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1 - logvar).flatten(1).sum(1)
        return {"recon": recon, "kl": kl}
