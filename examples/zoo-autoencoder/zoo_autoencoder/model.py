"""A plain convolutional autoencoder for 1×28×28 images."""

from __future__ import annotations

import torch
from torch import nn

from zoo.interfaces import Encoder, LatentGenerator


class Autoencoder(LatentGenerator, Encoder):
    def __init__(self, z_dim: int = 16, base_channels: int = 32) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.image_shape = (1, 28, 28)
        c = base_channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1), nn.SiLU(),  # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.SiLU(),  # (B, 2c, 7, 7)
            nn.Flatten(), nn.Linear(2 * c * 49, z_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(z_dim, 2 * c * 49), nn.SiLU(), nn.Unflatten(1, (2 * c, 7, 7)),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.SiLU(),  # (B, c, 14, 14)
            nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Sigmoid(),  # (B, 1, 28, 28)
        )
        # A Gaussian fitted to the training codes after training: z = mean + L ε.
        self.register_buffer("latent_mean", torch.zeros(z_dim))
        self.register_buffer("latent_scale_tril", torch.eye(z_dim))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images.to(self.device, self.dtype))

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        # LatentGenerator draws ε ~ N(0, I); map it onto the fitted code distribution
        return self.decode(self.latent_mean + z @ self.latent_scale_tril.T)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(images))
