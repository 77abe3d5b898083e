"""WGAN-GP (Gulrajani, Ahmed, Arjovsky, Dumoulin & Courville 2017, "Improved Training
of Wasserstein GANs"), laid out like the paper's MNIST model for 1×28×28 images.

The critic has no batch norm (§4: the penalty is per example, and batch norm would
couple the examples of a batch); it is a plain stack of strided convolutions with
LeakyReLU and a linear output, an unbounded score rather than a logit. The generator
may use batch norm. Training follows Algorithm 1: λ = 10, n_critic = 5 real batches
per generator step, Adam(α = 1e-4, β1 = 0, β2 = 0.9).
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.gan import GAN, GANTrainingStep


class WGANGenerator(nn.Module):
    """G: z (B, z_dim) -> image (B, C, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim: int, base_channels: int, out_channels: int) -> None:
        super().__init__()
        c = base_channels
        self.project = nn.Sequential(nn.Linear(z_dim, 4 * c * 7 * 7, bias=False), nn.BatchNorm1d(4 * c * 7 * 7),
                                     nn.ReLU(True))
        self.net = nn.Sequential(
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False),  # (B, 2c, 14, 14)
            nn.BatchNorm2d(2 * c), nn.ReLU(True),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False),  # (B, c, 28, 28)
            nn.BatchNorm2d(c), nn.ReLU(True),
            nn.Conv2d(c, out_channels, 3, 1, 1), nn.Tanh(),
        )
        self.base_channels = c

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(self.project(z).view(len(z), 4 * self.base_channels, 7, 7))


class WGANCritic(nn.Module):
    """D: image (B, C, 28, 28) in [-1, 1] -> score (B,). No normalization layers."""

    def __init__(self, base_channels: int, in_channels: int) -> None:
        super().__init__()
        c = base_channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, c, 4, 2, 1), nn.LeakyReLU(0.2, True),  # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.2, True),  # (B, 2c, 7, 7)
            nn.Conv2d(2 * c, 4 * c, 3, 2, 1), nn.LeakyReLU(0.2, True),  # (B, 4c, 4, 4)
        )
        self.head = nn.Linear(4 * c * 4 * 4, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.net(images).flatten(1)).flatten()


class WGANGP(GAN):
    """Generator ``G`` and critic ``D``; sampling uses only ``G``."""

    def __init__(self, z_dim: int = 128, g_channels: int = 32, d_channels: int = 32,
                 image_size: int = 28, channels: int = 1) -> None:
        super().__init__()
        if image_size != 28:
            raise ValueError("this WGAN-GP is laid out for 28×28 images")
        self.z_dim = z_dim
        self.image_shape = (channels, image_size, image_size)
        self.G = WGANGenerator(z_dim, g_channels, channels)
        self.D = WGANCritic(d_channels, channels)


class WGANGPTrainingStep(GANTrainingStep):
    """``GANTrainingStep`` with the paper's recipe as defaults (Algorithm 1)."""

    def __init__(self, model: GAN, loss: str = "wasserstein", lr: float = 1e-4, beta1: float = 0.0,
                 beta2: float = 0.9, n_critic: int = 5, gp_weight: float = 10.0, **options: float) -> None:
        super().__init__(model, loss=loss, lr=lr, beta1=beta1, beta2=beta2, n_critic=n_critic,
                         gp_weight=gp_weight, **options)  # type: ignore[arg-type]
