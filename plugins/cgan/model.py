"""A class-conditional GAN for 1×28×28 images.

* Generator: the DCGAN layout (Radford et al. 2016) with *conditional* batch norm
  (de Vries et al. 2017; Miyato & Koyama 2018, §5): each normalization has a
  per-class scale and shift, so the label acts at every resolution, not only at
  the input as in Mirza & Osindero (2014).
* Discriminator: the projection discriminator (Miyato & Koyama 2018, eq. 3):
  ``D(x, y) = ψ(φ(x)) + embed(y)ᵀ φ(x)``, with spectral normalization on every
  weight (Miyato et al. 2018) and no batch norm.
* Loss: hinge (Lim & Ye 2017), as in both papers; Adam(2e-4, (0.5, 0.999)), one D
  step per G step.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from zoo.gan import GAN, GANTrainingStep


class ConditionalBatchNorm2d(nn.Module):
    """Batch norm without its own affine part, followed by a per-class scale and shift."""

    def __init__(self, channels: int, num_classes: int) -> None:
        super().__init__()
        self.norm = nn.BatchNorm2d(channels, affine=False)
        self.scale = nn.Embedding(num_classes, channels)
        self.shift = nn.Embedding(num_classes, channels)
        nn.init.ones_(self.scale.weight)
        nn.init.zeros_(self.shift.weight)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.scale(labels)[:, :, None, None] + self.shift(labels)[:, :, None, None]


class ConditionalGenerator(nn.Module):
    """G: z (B, z_dim), labels (B,) -> image (B, C, 28, 28) in [-1, 1]."""

    def __init__(self, z_dim: int, base_channels: int, out_channels: int, num_classes: int) -> None:
        super().__init__()
        c = base_channels
        self.up = nn.ModuleList([
            nn.ConvTranspose2d(z_dim, 4 * c, 7, 1, 0, bias=False),  # (B, 4c, 7, 7)
            nn.ConvTranspose2d(4 * c, 2 * c, 4, 2, 1, bias=False),  # (B, 2c, 14, 14)
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1, bias=False),  # (B, c, 28, 28)
        ])
        self.norms = nn.ModuleList([ConditionalBatchNorm2d(ch, num_classes) for ch in (4 * c, 2 * c, c)])
        self.to_image = nn.Conv2d(c, out_channels, 3, 1, 1)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        x = z[:, :, None, None]
        for up, norm in zip(self.up, self.norms):
            x = torch.relu(norm(up(x), labels))
        return torch.tanh(self.to_image(x))


class ProjectionDiscriminator(nn.Module):
    """D: image (B, C, 28, 28) in [-1, 1], labels (B,) -> score (B,)."""

    def __init__(self, base_channels: int, in_channels: int, num_classes: int) -> None:
        super().__init__()
        c = base_channels
        self.features = nn.Sequential(
            spectral_norm(nn.Conv2d(in_channels, c, 4, 2, 1)), nn.LeakyReLU(0.1, True),  # (B, c, 14, 14)
            spectral_norm(nn.Conv2d(c, c, 3, 1, 1)), nn.LeakyReLU(0.1, True),
            spectral_norm(nn.Conv2d(c, 2 * c, 4, 2, 1)), nn.LeakyReLU(0.1, True),  # (B, 2c, 7, 7)
            spectral_norm(nn.Conv2d(2 * c, 4 * c, 3, 1, 1)), nn.LeakyReLU(0.1, True),
        )
        self.linear = spectral_norm(nn.Linear(4 * c, 1))
        self.embed = spectral_norm(nn.Embedding(num_classes, 4 * c))

    def forward(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        phi = self.features(images).sum(dim=(2, 3))  # global sum pooling, (B, 4c)
        return self.linear(phi).flatten() + (self.embed(labels) * phi).sum(1)


class CGAN(GAN):
    """Class-conditional generator ``G`` and projection discriminator ``D``."""

    def __init__(self, z_dim: int = 100, g_channels: int = 48, d_channels: int = 48,
                 class_names: Sequence[str] = (), image_size: int = 28, channels: int = 1) -> None:
        super().__init__()
        if image_size != 28:
            raise ValueError("this cGAN is laid out for 28×28 images")
        if len(class_names) < 2:
            raise ValueError("a class-conditional GAN needs at least two class names")
        self.z_dim = z_dim
        self.image_shape = (channels, image_size, image_size)
        self.class_names = tuple(class_names)
        self.G = ConditionalGenerator(z_dim, g_channels, channels, len(class_names))
        self.D = ProjectionDiscriminator(d_channels, channels, len(class_names))
        for module in self.G.modules():  # DCGAN initialisation of G (the D keeps PyTorch's, under SN)
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
                nn.init.normal_(module.weight, 0.0, 0.02)


class CGANTrainingStep(GANTrainingStep):
    """``GANTrainingStep`` with the hinge loss by default."""

    def __init__(self, model: GAN, loss: str = "hinge", **options: float) -> None:
        super().__init__(model, loss=loss, **options)  # type: ignore[arg-type]
