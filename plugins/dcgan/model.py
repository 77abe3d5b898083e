"""DCGAN (Radford, Metz & Chintala 2016, "Unsupervised Representation Learning with
Deep Convolutional Generative Adversarial Networks"), sized for 1×28×28 images.

Following §3 of the paper: strided (transposed) convolutions instead of pooling,
batch norm in both networks except the generator output and discriminator input,
ReLU in the generator with tanh at the output, LeakyReLU(0.2) in the discriminator.
"""

from __future__ import annotations

import torch
from torch import nn

from zoo.gan import GAN


class DCGANGenerator(nn.Module):
    """G: z (B, z_dim) -> image (B, C, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim: int, base_channels: int, out_channels: int) -> None:
        super().__init__()
        c = base_channels
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, 4 * c, 7, 1, 0, bias=False),  # (B, 4c, 7, 7)
            nn.BatchNorm2d(4 * c), nn.ReLU(True),
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False),  # (B, 2c, 14, 14)
            nn.BatchNorm2d(2 * c), nn.ReLU(True),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False),  # (B, c, 28, 28)
            nn.BatchNorm2d(c), nn.ReLU(True),
            nn.Conv2d(c, out_channels, 3, 1, 1), nn.Tanh(),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """D: image (B, C, 28, 28) in [-1, 1] -> real/fake logit (B,)."""

    def __init__(self, base_channels: int, in_channels: int) -> None:
        super().__init__()
        c = base_channels
        self.net = nn.Sequential(
            nn.Conv2d(in_channels, c, 4, 2, 1), nn.LeakyReLU(0.2, True),  # (B, c, 14, 14)
            nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False),  # (B, 2c, 7, 7)
            nn.BatchNorm2d(2 * c), nn.LeakyReLU(0.2, True),
            nn.Conv2d(2 * c, 4 * c, 3, 2, 1, bias=False),  # (B, 4c, 4, 4)
            nn.BatchNorm2d(4 * c), nn.LeakyReLU(0.2, True),
            nn.Conv2d(4 * c, 1, 4, 1, 0),  # (B, 1, 1, 1)
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.net(images).flatten()


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions, N(1, 0.02) for batch-norm scales (paper §4)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.normal_(module.weight, 1.0, 0.02)
        nn.init.zeros_(module.bias)


class DCGAN(GAN):
    """Generator ``G`` and discriminator ``D``; sampling uses only ``G``."""

    def __init__(self, z_dim: int = 100, g_channels: int = 64, d_channels: int = 64,
                 image_size: int = 28, channels: int = 1) -> None:
        super().__init__()
        if image_size != 28:
            raise ValueError("this DCGAN is laid out for 28×28 images")
        self.z_dim = z_dim
        self.image_shape = (channels, image_size, image_size)
        self.G = DCGANGenerator(z_dim, g_channels, channels)
        self.D = DCGANDiscriminator(d_channels, channels)
        self.apply(init_weights)
