"""CycleGAN (Zhu, Park, Isola & Efros 2017, "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", arXiv:1703.10593), scaled down to 28×28 images.

Names in the code and in the paper (§3):

    G    : A → B   the paper's G: X → Y     (the reference code's netG_A)
    F    : B → A   the paper's F: Y → X     (netG_B)
    D_B  : judges B, real b against G(a)    the paper's D_Y (netD_A in the reference code)
    D_A  : judges A, real a against F(b)    the paper's D_X (netD_B)

The generator is the paper's ResNet generator (Appendix 7.2; Johnson et al. 2016):
c7s1-k, d2k, d4k, n residual blocks, u2k, uk, c7s1-C with instance norm and reflection
padding. The discriminator is the PatchGAN of pix2pix (Isola et al. 2017): strided 4×4
convolutions with instance norm and LeakyReLU(0.2) that score overlapping patches; its
70×70 patches on 256×256 images become, with ``d_layers=2`` on 28×28, a 5×5 map of
34×34 receptive fields (the whole image, judged from five offsets per axis).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from zoo.interfaces import Translator


class ResnetBlock(nn.Module):
    """Two 3×3 convolutions with reflection padding and instance norm, plus the identity."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels), nn.ReLU(True),
            nn.ReflectionPad2d(1), nn.Conv2d(channels, channels, 3), nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """Images ``(B, C, H, W)`` in [-1, 1] → images of the other domain, same shape, in [-1, 1]."""

    def __init__(self, channels: int, base_channels: int, num_blocks: int) -> None:
        super().__init__()
        k = base_channels
        layers: list[nn.Module] = [  # c7s1-k: (B, k, H, W)
            nn.ReflectionPad2d(3), nn.Conv2d(channels, k, 7), nn.InstanceNorm2d(k), nn.ReLU(True),
        ]
        for mult in (1, 2):  # d2k, d4k: (B, 4k, H/4, W/4)
            layers += [nn.Conv2d(k * mult, k * mult * 2, 3, stride=2, padding=1),
                       nn.InstanceNorm2d(k * mult * 2), nn.ReLU(True)]
        layers += [ResnetBlock(4 * k) for _ in range(num_blocks)]
        for mult in (4, 2):  # u2k, uk: (B, k, H, W)
            layers += [nn.ConvTranspose2d(k * mult, k * mult // 2, 3, stride=2, padding=1, output_padding=1),
                       nn.InstanceNorm2d(k * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(k, channels, 7), nn.Tanh()]  # c7s1-C
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """Images ``(B, C, H, W)`` in [-1, 1] → a map of patch scores ``(B, 1, h, w)`` (raw, for the
    least-squares loss). ``num_layers`` strided layers after the first, as pix2pix's ``n_layers``."""

    def __init__(self, channels: int, base_channels: int, num_layers: int) -> None:
        super().__init__()
        k = base_channels
        layers: list[nn.Module] = [nn.Conv2d(channels, k, 4, 2, 1), nn.LeakyReLU(0.2, True)]  # no norm at the input
        mult = 1
        for n in range(1, num_layers):
            prev, mult = mult, min(2**n, 8)
            layers += [nn.Conv2d(k * prev, k * mult, 4, 2, 1), nn.InstanceNorm2d(k * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2**num_layers, 8)
        layers += [nn.Conv2d(k * prev, k * mult, 4, 1, 1), nn.InstanceNorm2d(k * mult), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(k * mult, 1, 4, 1, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def init_weights(module: nn.Module) -> None:
    """N(0, 0.02) for convolutions, zero biases (the reference code's ``init_type='normal'``)."""
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        nn.init.normal_(module.weight, 0.0, 0.02)
        if module.bias is not None:
            nn.init.zeros_(module.bias)


class CycleGAN(Translator):
    """The four networks; translating uses ``G`` (a2b) and ``F`` (b2a) only.

    Args:
        domains: Names of domain A and B (set from the training data by the training step).
        domain_data: Data sources of A and B (``"fashion-mnist:sneaker"``), where test images come from.
        g_channels: k of the generator (64 in the paper); ``g_blocks``: its residual blocks (6 for 128², 9 for 256²).
        d_channels: First width of the PatchGAN (64 in the paper); ``d_layers``: its strided layers after the first.
        image_size, channels: Image shape.
    """

    def __init__(self, domains: Sequence[str] = ("a", "b"), domain_data: Sequence[str] = ("", ""),
                 g_channels: int = 32, g_blocks: int = 6, d_channels: int = 32, d_layers: int = 2,
                 image_size: int = 28, channels: int = 1) -> None:
        super().__init__()
        if len(domains) != 2 or len(set(domains)) != 2 or not all(isinstance(d, str) and d for d in domains):
            raise ValueError(f"domains must be two different names, got {list(domains)}")
        if len(domain_data) != 2:
            raise ValueError(f"domain_data must name two data sources, got {list(domain_data)}")
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (two stride-2 stages), got {image_size}")
        if min(g_channels, g_blocks, d_channels, d_layers) < 1:
            raise ValueError("g_channels, g_blocks, d_channels and d_layers must be positive")
        self.domains = (str(domains[0]), str(domains[1]))
        self.domain_data = (str(domain_data[0]), str(domain_data[1]))
        self.image_shape = (channels, image_size, image_size)
        self.G = ResnetGenerator(channels, g_channels, g_blocks)  # A → B
        self.F = ResnetGenerator(channels, g_channels, g_blocks)  # B → A
        self.D_A = PatchDiscriminator(channels, d_channels, d_layers)  # real A vs F(b)
        self.D_B = PatchDiscriminator(channels, d_channels, d_layers)  # real B vs G(a)
        self.apply(init_weights)

    def translate_batch(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        net = self.G if direction == "a2b" else self.F
        return (net(images * 2 - 1) + 1) / 2
