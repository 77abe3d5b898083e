"""StyleGAN2 (Karras, Laine, Aittala, Hellsten, Lehtinen & Aila 2020, "Analyzing and
Improving the Image Quality of StyleGAN", CVPR; arXiv:1912.04958), sized for 28×28
grayscale images on a CPU.

What is here, with the paper's sections:

- a mapping network z → w (StyleGAN, Karras et al. 2019, §2): pixel norm of z, a few
  fully connected layers with a 100× smaller learning rate, and an EMA ``w_avg`` of w
  for the truncation trick (StyleGAN Appendix B);
- a synthesis network from a learned constant 4×4 input, built of modulated and
  demodulated 3×3 convolutions (§2.2, eq. 1–3), per-layer noise inputs with learned
  per-channel strengths outside the style block (§2.1, Fig. 2c), and the output-skip
  architecture: a ToRGB (modulated 1×1, no demodulation) at every resolution, upsampled and
  summed (§4.1, Fig. 7b);
- a residual discriminator (§4.1, Fig. 7c) with a minibatch standard-deviation layer
  before the last convolution (Karras et al. 2018, ProGAN §3);
- equalized learning rate everywhere: weights drawn from N(0, 1) and scaled at run time by
  He's constant (ProGAN §4.1).

Up- and downsampling use the [1, 3, 3, 1] filter of the paper (bilinear; Zhang 2019), as
``F.interpolate(..., "bilinear")`` up and a depthwise blur with stride 2 down. Modulation is
written in its "activation" form, ``conv(x · s, W) · d``, which equals the per-sample
modulated weights of eq. 1–3 (``w'' = d · W · s``) but runs as one ordinary convolution
for the whole batch instead of a grouped one.

28×28 data: the networks work at 32×32 (``4 · 2^(len(g_channels) - 1)``). G's 32×32 output is
centre-cropped to 28×28, which is what ``sample`` returns and what D sees; D pads every
28×28 image (real or fake) back to 32×32 with −1 (black, the Fashion-MNIST background), so
real and fake images reach D in exactly the same form and G's 2-pixel border is never used.

Noise inputs: training draws fresh noise from the global RNG. Sampling, ``mix``,
``mixing_grid`` and ``interpolate`` use a fixed noise image per layer (``noise_const``
buffers, saved with the weights; the official code's ``noise_mode='const'``), so an image
is a deterministic function of its w. ``sample(..., noise="random")`` draws the noise from
the seeded generator instead (after the latents), which is just as repeatable.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from zoo_plugins.stylegan2 import NOISE, TRUNCATION

from zoo.errors import BadInputError
from zoo.gan import GAN
from zoo.interfaces import check_count, check_seed, make_generator

SQRT2 = math.sqrt(2)
MAPPING_LR_MUL = 0.01  # the mapping network learns 100× slower (StyleGAN, Appendix C)


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """Leaky ReLU (slope 0.2) with gain √2, so unit-variance inputs stay unit variance."""
    return F.leaky_relu(x, 0.2) * SQRT2


def upsample2x(x: torch.Tensor) -> torch.Tensor:
    """×2 upsampling with the [1, 3, 3, 1] filter (bilinear)."""
    return F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)


def downsample2x(x: torch.Tensor) -> torch.Tensor:
    """Blur with the separable [1, 3, 3, 1] filter and keep every second pixel: (B, C, H, W) → (B, C, H/2, W/2)."""
    c = x.shape[1]
    f = torch.tensor([1.0, 3.0, 3.0, 1.0], device=x.device, dtype=x.dtype)
    kernel = (f[:, None] * f[None, :] / 64).expand(c, 1, 4, 4)
    return F.conv2d(F.pad(x, (1, 1, 1, 1)), kernel, stride=2, groups=c)


# --------------------------------------------------------------------------- equalized layers


class EqualLinear(nn.Module):
    """Fully connected layer with equalized learning rate: y = (W · c) x + b, W ~ N(0, 1/lr_mul²),
    c = lr_mul / √in; ``lr_mul`` < 1 slows the layer down under Adam."""

    def __init__(self, in_features: int, out_features: int, bias_init: float = 0.0, lr_mul: float = 1.0,
                 activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.bias = nn.Parameter(torch.full((out_features,), bias_init / lr_mul))
        self.scale, self.lr_mul, self.activate = lr_mul / math.sqrt(in_features), lr_mul, activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return lrelu(x) if self.activate else x


class EqualConv2d(nn.Module):
    """Convolution (stride 1, same padding) with equalized learning rate (scale 1/√(in·k·k))."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)


# --------------------------------------------------------------------------- generator


class MappingNetwork(nn.Module):
    """f: z (B, z_dim) → w (B, w_dim): pixel norm, then ``num_layers`` leaky-ReLU FC layers.

    ``w_avg`` is an EMA of w over training (updated by ``update_w_avg``), the centre of the
    truncation trick.
    """

    def __init__(self, z_dim: int, w_dim: int, num_layers: int, w_avg_beta: float = 0.995) -> None:
        super().__init__()
        dims = [z_dim] + [w_dim] * num_layers
        self.layers = nn.Sequential(*[EqualLinear(i, o, lr_mul=MAPPING_LR_MUL, activate=True)
                                      for i, o in zip(dims[:-1], dims[1:])])
        self.w_avg_beta = w_avg_beta
        self.register_buffer("w_avg", torch.zeros(w_dim))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z * torch.rsqrt(z.square().mean(1, keepdim=True) + 1e-8)  # pixel norm (ProGAN §4.2)
        return self.layers(z)

    @torch.no_grad()
    def update_w_avg(self, w: torch.Tensor) -> None:
        self.w_avg.lerp_(w.detach().mean(0).to(self.w_avg.dtype), 1 - self.w_avg_beta)


class ModulatedConv2d(nn.Module):
    """Modulated convolution (eq. 1) with optional demodulation (eq. 3) and ×2 upsampling.

    The style s = A(w) (a learned affine map, bias initialised to 1) scales the input channels;
    demodulation divides each output channel by the norm of its modulated weights,
    σ_j = √(Σ_{i,k} (s_i W_ijk)² + ε), which restores unit variance without instance norm.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, w_dim: int,
                 demodulate: bool = True, upsample: bool = False) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, in_channels, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size))
        self.scale = 1 / math.sqrt(in_channels * kernel_size**2)
        self.demodulate, self.upsample = demodulate, upsample

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        s = self.affine(w)  # (B, in)
        weight = self.weight * self.scale  # (out, in, k, k)
        x = x * s[:, :, None, None]  # modulation, eq. 1, applied to the activations
        if self.upsample:
            x = upsample2x(x)
        x = F.conv2d(x, weight, padding=weight.shape[-1] // 2)  # (B, out, H, W)
        if self.demodulate:  # eq. 3: d_j = 1/σ_j with σ_j² = Σ_i s_i² Σ_k W_ijk²
            d = torch.rsqrt(s.square() @ weight.square().sum((2, 3)).t() + 1e-8)  # (B, out)
            x = x * d[:, :, None, None]
        return x


class NoiseInjection(nn.Module):
    """Adds single-channel Gaussian noise scaled by a learned per-channel strength (initially 0).

    ``noise_const`` is the fixed noise image used when sampling with ``noise="const"``.
    """

    def __init__(self, channels: int, resolution: int) -> None:
        super().__init__()
        self.strength = nn.Parameter(torch.zeros(channels))
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution))

    def forward(self, x: torch.Tensor, noise: torch.Tensor | str) -> torch.Tensor:
        if isinstance(noise, str):
            if noise == "random":
                noise = torch.randn(x.shape[0], 1, *x.shape[2:], device=x.device, dtype=x.dtype)
            else:
                noise = self.noise_const
        return x + self.strength[None, :, None, None] * noise


class StyledConv(nn.Module):
    """One synthesis layer (Fig. 2c): modulated/demodulated 3×3 conv, noise, bias, leaky ReLU."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 upsample: bool = False) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, out_channels, 3, w_dim, upsample=upsample)
        self.noise = NoiseInjection(out_channels, resolution)
        self.bias = nn.Parameter(torch.zeros(out_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise: torch.Tensor | str) -> torch.Tensor:
        return lrelu(self.noise(self.conv(x, w), noise) + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    """Modulated 1×1 conv to image channels, without demodulation (§2.2), plus a bias."""

    def __init__(self, in_channels: int, image_channels: int, w_dim: int) -> None:
        super().__init__()
        self.conv = ModulatedConv2d(in_channels, image_channels, 1, w_dim, demodulate=False)
        self.bias = nn.Parameter(torch.zeros(image_channels))

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return self.conv(x, w) + self.bias[None, :, None, None]


class SynthesisBlock(nn.Module):
    """One resolution step: 2× upsampling conv, conv, and the ToRGB of the skip output."""

    def __init__(self, in_channels: int, out_channels: int, w_dim: int, resolution: int,
                 image_channels: int) -> None:
        super().__init__()
        self.conv0 = StyledConv(in_channels, out_channels, w_dim, resolution, upsample=True)
        self.conv1 = StyledConv(out_channels, out_channels, w_dim, resolution)
        self.to_rgb = ToRGB(out_channels, image_channels, w_dim)


class SynthesisNetwork(nn.Module):
    """g: per-layer styles ws (B, num_ws, w_dim) → image (B, C, R, R) with R = 4 · 2^(len(channels) - 1).

    Style layers (the rows of ws), in the official layout: 0 drives the 4×4 conv; block i (output
    8·2^i) takes 2i+1 for its upsampling conv and 2i+2 for its second conv; each ToRGB shares the w of
    the next conv and the last ToRGB has its own, so num_ws = 2 · len(channels) (8 at 32×32: 0 coarsest,
    1–2 at 8×8, 3–4 at 16×16, 5–7 at 32×32).
    """

    def __init__(self, w_dim: int, channels: Sequence[int], image_channels: int) -> None:
        super().__init__()
        self.const = nn.Parameter(torch.randn(1, channels[0], 4, 4))  # the learned constant input
        self.conv = StyledConv(channels[0], channels[0], w_dim, 4)
        self.to_rgb = ToRGB(channels[0], image_channels, w_dim)
        self.blocks = nn.ModuleList(
            SynthesisBlock(c_in, c_out, w_dim, 4 * 2 ** (i + 1), image_channels)
            for i, (c_in, c_out) in enumerate(zip(channels[:-1], channels[1:]))
        )
        self.num_ws = 2 * len(channels)
        self.num_noises = 1 + 2 * len(self.blocks)

    def noise_shapes(self) -> list[tuple[int, int, int]]:
        """(1, H, W) of each noise input, in order."""
        res = [4] + [4 * 2 ** (i // 2 + 1) for i in range(2 * len(self.blocks))]
        return [(1, r, r) for r in res]

    def forward(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | str = "random") -> torch.Tensor:
        noises = [noise] * self.num_noises if isinstance(noise, str) else list(noise)
        x = self.const.expand(len(ws), -1, -1, -1)
        x = self.conv(x, ws[:, 0], noises[0])  # (B, c4, 4, 4)
        rgb = self.to_rgb(x, ws[:, 1])
        for i, block in enumerate(self.blocks):  # (B, c, R, R) → (B, c', 2R, 2R)
            x = block.conv0(x, ws[:, 2 * i + 1], noises[2 * i + 1])
            x = block.conv1(x, ws[:, 2 * i + 2], noises[2 * i + 2])
            rgb = upsample2x(rgb) + block.to_rgb(x, ws[:, 2 * i + 3])  # output skips (Fig. 7b)
        return rgb


class StyleGAN2Generator(nn.Module):
    """G = synthesis ∘ mapping; ``forward(z)`` broadcasts one w to every layer."""

    def __init__(self, z_dim: int, w_dim: int, mapping_layers: int, channels: Sequence[int],
                 image_channels: int) -> None:
        super().__init__()
        self.mapping = MappingNetwork(z_dim, w_dim, mapping_layers)
        self.synthesis = SynthesisNetwork(w_dim, channels, image_channels)

    def forward(self, z: torch.Tensor, noise: Sequence[torch.Tensor] | str = "random") -> torch.Tensor:
        w = self.mapping(z)
        return self.synthesis(w[:, None].expand(-1, self.synthesis.num_ws, -1), noise)


# --------------------------------------------------------------------------- discriminator


class MinibatchStdDev(nn.Module):
    """Appends one feature map: the standard deviation of each feature over groups of
    ``group_size`` images, averaged (ProGAN §3), so D can see a lack of variety."""

    def __init__(self, group_size: int = 4) -> None:
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        g = min(self.group_size, b)
        while b % g:  # the largest group size that divides the batch
            g -= 1
        y = x.reshape(g, b // g, c, h, w)  # group i holds images i, i + b/g, ...
        y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean((1, 2, 3))  # (b/g,)
        y = y.reshape(1, b // g, 1, 1, 1).expand(g, -1, 1, h, w).reshape(b, 1, h, w)
        return torch.cat([x, y], 1)


class DiscriminatorBlock(nn.Module):
    """Residual block (Fig. 7c): two 3×3 convs with a downsampling, plus a 1×1 skip; sum ÷ √2."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv0 = EqualConv2d(in_channels, in_channels, 3)
        self.conv1 = EqualConv2d(in_channels, out_channels, 3)
        self.skip = EqualConv2d(in_channels, out_channels, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(downsample2x(x))
        x = lrelu(self.conv1(downsample2x(lrelu(self.conv0(x)))))
        return (x + skip) / SQRT2


class StyleGAN2Discriminator(nn.Module):
    """D: image (B, C, R, R) in [-1, 1] → logit (B,). ``channels`` lists 4×4 first, as for G."""

    def __init__(self, channels: Sequence[int], image_channels: int, mbstd_group: int = 4) -> None:
        super().__init__()
        top = list(reversed(channels))
        self.from_rgb = EqualConv2d(image_channels, top[0], 1)
        self.blocks = nn.Sequential(*[DiscriminatorBlock(i, o) for i, o in zip(top[:-1], top[1:])])
        c = channels[0]
        self.mbstd = MinibatchStdDev(mbstd_group)
        self.conv = EqualConv2d(c + 1, c, 3)
        self.fc = EqualLinear(c * 16, c, activate=True)
        self.out = EqualLinear(c, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.blocks(lrelu(self.from_rgb(images)))  # (B, c4, 4, 4)
        x = lrelu(self.conv(self.mbstd(x)))
        return self.out(self.fc(x.flatten(1))).flatten()


# --------------------------------------------------------------------------- the model


def _check_truncation(psi: Any) -> float:
    return float(TRUNCATION.check(psi))  # the declared option: one copy of the rule


def _check_noise(noise: Any) -> str:
    return str(NOISE.check(noise))


def _seed_list(seeds: int | Sequence[int], name: str) -> list[int]:
    items = [seeds] if isinstance(seeds, int) else list(seeds)
    if not items:
        raise BadInputError(f"{name}: give at least one seed")
    for s in items:
        if check_seed(s) is None:
            raise BadInputError(f"{name}: seeds must be non-negative integers, got None")
    return items


class StyleGAN2(GAN):
    """StyleGAN2 generator ``G`` (mapping + synthesis) and residual discriminator ``D``.

    Args:
        z_dim, w_dim: Sizes of the latent z and of the intermediate latent w.
        mapping_layers: FC layers of the mapping network (8 in the paper; fewer suffice at 32×32).
        g_channels, d_channels: Feature maps per resolution, 4×4 first (4, 8, 16, 32 for 32×32).
        image_size: Side of the images ``sample`` returns (a centre crop of the 32×32 output).
        channels: Image channels.
        mixing_prob: Probability of style-mixing regularization per training batch (StyleGAN §3.1: 90%).
        mbstd_group: Group size of the minibatch standard-deviation layer.
        truncation: Default ψ of ``sample`` (also set by ``zoo.load(id, truncation=...)``).
    """

    def __init__(self, z_dim: int = 128, w_dim: int = 128, mapping_layers: int = 4,
                 g_channels: Sequence[int] = (128, 64, 32, 16), d_channels: Sequence[int] = (128, 64, 32, 16),
                 image_size: int = 28, channels: int = 1, mixing_prob: float = 0.9, mbstd_group: int = 4,
                 truncation: float = 1.0) -> None:
        super().__init__()
        if len(g_channels) < 2 or len(g_channels) != len(d_channels):
            raise BadInputError("g_channels and d_channels need one entry per resolution (4×4 first), at least two")
        self.resolution = 4 * 2 ** (len(g_channels) - 1)
        if not 0 < image_size <= self.resolution or (self.resolution - image_size) % 2:
            raise BadInputError(f"image_size {image_size} does not fit the {self.resolution}×{self.resolution} "
                                "networks (it must be smaller by an even number of pixels)")
        self.z_dim, self.w_dim = z_dim, w_dim
        self.image_shape = (channels, image_size, image_size)
        self.mixing_prob = float(mixing_prob)
        self.G = StyleGAN2Generator(z_dim, w_dim, mapping_layers, g_channels, channels)
        self.D = StyleGAN2Discriminator(d_channels, channels, mbstd_group)
        self.truncation, self.noise = 1.0, "const"
        self.configure_sampling(truncation=truncation)

    @property
    def num_ws(self) -> int:
        """Number of style inputs (the layers that ``mix`` addresses): 2 per resolution."""
        return self.G.synthesis.num_ws

    # ------------------------------------------------------------------ building blocks

    def _crop(self, x: torch.Tensor) -> torch.Tensor:
        m = (self.resolution - self.image_shape[1]) // 2
        return x[:, :, m : self.resolution - m, m : self.resolution - m] if m else x

    def mapping(self, z: torch.Tensor, truncation: float = 1.0) -> torch.Tensor:
        """z (B, z_dim) → w (B, w_dim), pulled towards ``w_avg`` by ψ: w' = w̄ + ψ (w − w̄)."""
        w = self.G.mapping(z)
        return w if truncation == 1 else self.G.mapping.w_avg.lerp(w, truncation)

    def synthesis(self, ws: torch.Tensor, noise: Sequence[torch.Tensor] | str = "const") -> torch.Tensor:
        """Styles ws (B, num_ws, w_dim) → images (B, C, image_size, image_size) in about [-1, 1]."""
        return self._crop(self.G.synthesis(ws, noise))

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        """w (B, w_dim) → ws (B, num_ws, w_dim): the same style at every layer."""
        return w[:, None].expand(-1, self.num_ws, -1)

    def generator_forward(self, z: torch.Tensor, labels: torch.Tensor | None, truncation: float = 1.0,
                          noise: Sequence[torch.Tensor] | str = "const") -> torch.Tensor:
        return self.synthesis(self.broadcast(self.mapping(z, truncation)), noise)

    def critic(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """D on images (B, C, image_size, image_size) in [-1, 1], padded with −1 to the networks' size."""
        m = (self.resolution - images.shape[-1]) // 2
        return self.D(F.pad(images, (m, m, m, m), value=-1.0) if m else images)

    def training_fakes(self, n: int, labels: torch.Tensor | None, device: torch.device) -> torch.Tensor:
        """Fakes with style-mixing regularization (StyleGAN §3.1): with probability ``mixing_prob``
        a second latent takes over from a random layer on. Also updates ``w_avg``."""
        w = self.G.mapping(torch.randn(n, self.z_dim, device=device))
        self.G.mapping.update_w_avg(w)
        ws = self.broadcast(w)
        if self.mixing_prob > 0 and float(torch.rand(())) < self.mixing_prob:
            cutoff = int(torch.randint(1, self.num_ws, ()))
            w2 = self.G.mapping(torch.randn(n, self.z_dim, device=device))
            ws = torch.cat([ws[:, :cutoff], self.broadcast(w2)[:, cutoff:]], 1)
        return self.synthesis(ws, "random")

    # ------------------------------------------------------------------ sampling

    def configure_sampling(self, truncation: float | None = None, noise: str | None = None) -> None:
        """Set the defaults of ``sample`` (``zoo.load(id, truncation=0.7)`` calls this).

        Args:
            truncation: ψ in [0, 1]; 1 is off, 0 gives the average image for every seed.
            noise: ``"const"`` (the stored noise images) or ``"random"`` (drawn from the seed).
        """
        if truncation is not None:
            self.truncation = _check_truncation(truncation)
        if noise is not None:
            self.noise = _check_noise(noise)

    def check_options(self, options: dict[str, Any]) -> None:
        unknown = set(options) - {"truncation", "noise"}
        if unknown:
            raise BadInputError(f"{type(self).__name__}.sample got unknown options {sorted(unknown)}; "
                                "it takes truncation and noise")
        if options.get("truncation") is not None:
            _check_truncation(options["truncation"])
        if options.get("noise") is not None:
            _check_noise(options["noise"])

    def generate(self, n: int, generator: torch.Generator, labels: torch.Tensor | None = None,
                 **options: Any) -> torch.Tensor:
        """``n`` images in [0, 1]. Options: ``truncation`` ψ in [0, 1] and ``noise`` (``"const"``/``"random"``);
        z, then (with ``noise="random"``) the noise images, come from ``generator``."""
        self.check_options(options)
        psi = self.truncation if options.get("truncation") is None else float(options["truncation"])
        noise_mode = options.get("noise") or self.noise
        z = self.randn(n, self.z_dim, generator=generator)
        noise: Sequence[torch.Tensor] | str = noise_mode
        if noise_mode == "random":
            noise = [self.randn(n, *shape, generator=generator) for shape in self.G.synthesis.noise_shapes()]
        return (self.generator_forward(z, labels, psi, noise) + 1) / 2

    def _ws_of_seeds(self, seeds: Sequence[int], truncation: float | None) -> torch.Tensor:
        """w (len(seeds), w_dim) of each seed's first latent, the one ``sample(1, seed=s)`` draws."""
        psi = self.truncation if truncation is None else _check_truncation(truncation)
        z = torch.cat([self.randn(1, self.z_dim, generator=make_generator(s)) for s in seeds])
        return self.mapping(z, psi)

    def _to_images(self, ws: torch.Tensor) -> torch.Tensor:
        return ((self.synthesis(ws) + 1) / 2).float().clamp(0, 1).cpu()

    def check_layers(self, layers: Sequence[int]) -> list[int]:
        """The style layers as a sorted list of distinct ints in ``0..num_ws-1``, else ``BadInputError``."""
        if isinstance(layers, (int, str)):
            layers = [layers]  # type: ignore[list-item]
        out = set()
        for layer in layers:
            if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < self.num_ws:
                raise BadInputError(f"style layer {layer!r} out of range: this model has layers 0..{self.num_ws - 1} "
                                    "(0 the coarsest, 4×4)")
            out.add(layer)
        return sorted(out)

    @torch.no_grad()
    def interpolate(self, seed_a: int, seed_b: int, num_steps: int = 8, label: int | str | None = None,
                    truncation: float | None = None) -> torch.Tensor:
        """Images along the straight line in W between the w's of two seeds (the paper's
        perceptual-path-length space, StyleGAN §4.1), with the constant noise.

        Returns:
            ``(num_steps, C, H, W)`` in ``[0, 1]``, the first as ``sample(1, seed=seed_a)``, the last from ``seed_b``.
        """
        num_steps = check_count(num_steps, "num_steps")
        if label is not None:
            self.resolve_labels(label, num_steps)  # raises: not class-conditional
        was_training = self.training
        self.eval()
        try:
            w = self._ws_of_seeds(_seed_list([seed_a, seed_b], "interpolate"), truncation)
            t = torch.linspace(0, 1, num_steps, device=w.device, dtype=w.dtype)[:, None]
            return self._to_images(self.broadcast(w[0].lerp(w[1], t)))
        finally:
            self.train(was_training)

    @torch.no_grad()
    def mix(self, seed_a: int | Sequence[int], seed_b: int | Sequence[int], layers: Sequence[int],
            truncation: float | None = None) -> torch.Tensor:
        """Style mixing (StyleGAN §3.1, Fig. 3): the styles of ``seed_a`` with those of ``layers`` from ``seed_b``.

        Args:
            seed_a, seed_b: One seed each, or equally long lists (one seed broadcasts).
            layers: Style layers taken from B, in ``0..num_ws-1`` (0 the coarsest, 4×4; the last the
                finest; see ``SynthesisNetwork``). ``[]`` gives A's image, all layers B's.
            truncation: ψ in [0, 1] for both w's (default: the model's).

        Returns:
            ``(n, C, H, W)`` in ``[0, 1]``, n the number of seed pairs.
        """
        a, b = _seed_list(seed_a, "seed_a"), _seed_list(seed_b, "seed_b")
        if len(a) != len(b) and 1 not in (len(a), len(b)):
            raise BadInputError(f"got {len(a)} seeds for A and {len(b)} for B; give one or as many")
        n = max(len(a), len(b))
        a, b = a * (n // len(a)), b * (n // len(b))
        chosen = self.check_layers(layers)
        was_training = self.training
        self.eval()
        try:
            w = self._ws_of_seeds(a + b, truncation)
            return self._to_images(self._mixed(w[:n], w[n:], chosen))
        finally:
            self.train(was_training)

    def _mixed(self, w_a: torch.Tensor, w_b: torch.Tensor, layers: list[int]) -> torch.Tensor:
        """ws (B, num_ws, w_dim): w_a everywhere except ``layers``, which take w_b."""
        from_b = torch.zeros(self.num_ws, dtype=torch.bool, device=w_a.device)
        from_b[layers] = True
        return torch.where(from_b[None, :, None], self.broadcast(w_b), self.broadcast(w_a))

    def default_mix_layers(self) -> list[int]:
        """The coarse styles (up to 8×8: layers 0–3 at 32×32), as in the top rows of StyleGAN Fig. 3."""
        return list(range(min(4, self.num_ws)))

    @torch.no_grad()
    def mixing_grid(self, row_seeds: Sequence[int], col_seeds: Sequence[int], layers: Sequence[int] | None = None,
                    truncation: float | None = None) -> torch.Tensor:
        """The classic style-mixing figure (StyleGAN Fig. 3): a blank corner, the column sources along
        the top, the row sources down the left, and in cell (r, c) row r's image with the ``layers``
        of column c (default: the coarse layers, ``default_mix_layers()``).

        Returns:
            ``((R + 1) · (C + 1), C, H, W)`` in ``[0, 1]``, row by row: save with ``nrow = len(col_seeds) + 1``.
        """
        rows, cols = _seed_list(row_seeds, "row_seeds"), _seed_list(col_seeds, "col_seeds")
        chosen = self.check_layers(self.default_mix_layers() if layers is None else layers)
        was_training = self.training
        self.eval()
        try:
            w = self._ws_of_seeds(rows + cols, truncation)
            w_rows, w_cols = w[: len(rows)], w[len(rows):]
            r_idx = torch.arange(len(rows), device=w.device).repeat_interleave(len(cols))
            c_idx = torch.arange(len(cols), device=w.device).repeat(len(rows))
            sources = self._to_images(self.broadcast(w))
            mixed = self._to_images(self._mixed(w_rows[r_idx], w_cols[c_idx], chosen))
        finally:
            self.train(was_training)
        blank = torch.zeros(1, *self.image_shape)
        cells = [blank, sources[len(rows):]]
        for r in range(len(rows)):
            cells += [sources[r : r + 1], mixed[r * len(cols) : (r + 1) * len(cols)]]
        return torch.cat(cells)
