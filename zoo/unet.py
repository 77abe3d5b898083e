"""The UNet of DDPM (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", arXiv:2006.11239,
Appendix B), a building block of every diffusion model in the zoo: pixel-space DDPM and the
denoiser of latent diffusion alike import it from here (plugins never import each other).

A sinusoidal time embedding, residual blocks with GroupNorm, single-head self-attention at chosen
resolutions and in the middle, strided-convolution downsampling and nearest-neighbour upsampling
(to the skip's size, so odd sizes such as a 7×7 latent work). Module names follow diffusers'
``UNet2DModel`` (``down_blocks.1.resnets.0.conv1`` ...), so the weights of a diffusers repo such as
``google/ddpm-cifar10-32`` load by a name mapping that is almost the identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import BadInputError


def timestep_embedding(t: torch.Tensor, dim: int, flip_sin_to_cos: bool, freq_shift: float,
                       max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps ``t`` ``(B,)`` → ``(B, dim)`` (Vaswani et al. 2017 §3.5,
    as in DDPM's code): ``[sin(t ω_i), cos(t ω_i)]`` with ω_i = max_period^(-i / (dim/2 - freq_shift))."""
    half = dim // 2
    exponent = -math.log(max_period) * torch.arange(half, dtype=torch.float32, device=t.device) / (half - freq_shift)
    angles = t[:, None].float() * torch.exp(exponent)[None, :]  # (B, half)
    emb = torch.cat([torch.sin(angles), torch.cos(angles)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2:
        emb = F.pad(emb, (0, 1))
    return emb


class TimestepEmbedding(nn.Module):
    """MLP on the sinusoidal embedding: Linear → SiLU → Linear."""

    def __init__(self, in_dim: int, embed_dim: int) -> None:
        super().__init__()
        self.linear_1 = nn.Linear(in_dim, embed_dim)
        self.act = nn.SiLU()
        self.linear_2 = nn.Linear(embed_dim, embed_dim)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return self.linear_2(self.act(self.linear_1(emb)))


class ResnetBlock2D(nn.Module):
    """GroupNorm → SiLU → conv, add the projected time embedding, GroupNorm → SiLU → dropout → conv,
    plus a (1×1-projected) skip."""

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, groups: int, eps: float,
                 dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, in_channels, eps=eps)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb_channels, out_channels)
        self.norm2 = nn.GroupNorm(groups, out_channels, eps=eps)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.nonlinearity = nn.SiLU()
        self.conv_shortcut = nn.Conv2d(in_channels, out_channels, 1) if in_channels != out_channels else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(self.nonlinearity(self.norm1(x)))
        h = h + self.time_emb_proj(self.nonlinearity(temb))[:, :, None, None]
        h = self.conv2(self.dropout(self.nonlinearity(self.norm2(h))))
        skip = x if self.conv_shortcut is None else self.conv_shortcut(x)
        return skip + h


class Attention(nn.Module):
    """Self-attention over the H·W positions, with a GroupNorm in front and a residual connection."""

    def __init__(self, channels: int, heads: int, groups: int, eps: float) -> None:
        super().__init__()
        self.heads = heads
        self.group_norm = nn.GroupNorm(groups, channels, eps=eps)
        self.to_q = nn.Linear(channels, channels)
        self.to_k = nn.Linear(channels, channels)
        self.to_v = nn.Linear(channels, channels)
        self.to_out = nn.ModuleList([nn.Linear(channels, channels), nn.Dropout(0.0)])  # diffusers' layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        h = self.group_norm(x).flatten(2).transpose(1, 2)  # (B, HW, C)

        def split(t: torch.Tensor) -> torch.Tensor:
            return t.view(B, H * W, self.heads, C // self.heads).transpose(1, 2)  # (B, heads, HW, C/heads)

        h = F.scaled_dot_product_attention(split(self.to_q(h)), split(self.to_k(h)), split(self.to_v(h)))
        h = self.to_out[1](self.to_out[0](h.transpose(1, 2).reshape(B, H * W, C)))
        return x + h.transpose(1, 2).reshape(B, C, H, W)


class Downsample2D(nn.Module):
    """Stride-2 3×3 convolution; ``padding=0`` pads right and bottom by one (the TF original's "SAME")."""

    def __init__(self, channels: int, padding: int) -> None:
        super().__init__()
        self.padding = padding
        self.conv = nn.Conv2d(channels, channels, 3, stride=2, padding=padding)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding == 0:
            x = F.pad(x, (0, 1, 0, 1))
        return self.conv(x)


class Upsample2D(nn.Module):
    """Nearest-neighbour upsampling (×2, or to the size of the skip it meets) then a 3×3 convolution."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor, size: Sequence[int] | None = None) -> torch.Tensor:
        if size is None or tuple(size) == (2 * x.shape[-2], 2 * x.shape[-1]):
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
        else:  # odd feature maps (7 → 4 → 7): meet the skip connection's size
            x = F.interpolate(x, size=tuple(size), mode="nearest")
        return self.conv(x)


class DownBlock2D(nn.Module):
    """``num_layers`` residual blocks (each followed by attention if ``attention``), then a downsampler.
    Every intermediate output is kept for the skip connections."""

    def __init__(self, in_channels: int, out_channels: int, temb_channels: int, num_layers: int, attention: bool,
                 heads: int, add_downsample: bool, downsample_padding: int, groups: int, eps: float,
                 dropout: float) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock2D(in_channels if i == 0 else out_channels, out_channels, temb_channels, groups, eps, dropout)
            for i in range(num_layers)
        )
        self.attentions = nn.ModuleList(
            Attention(out_channels, heads, groups, eps) for _ in range(num_layers if attention else 0)
        )
        self.downsamplers = nn.ModuleList([Downsample2D(out_channels, downsample_padding)]) if add_downsample else None

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        skips = []
        for i, resnet in enumerate(self.resnets):
            x = resnet(x, temb)
            if len(self.attentions):
                x = self.attentions[i](x)
            skips.append(x)
        if self.downsamplers is not None:
            x = self.downsamplers[0](x)
            skips.append(x)
        return x, skips


class UpBlock2D(nn.Module):
    """``num_layers`` residual blocks, each on the concatenation with one skip connection (and followed by
    attention if ``attention``), then an upsampler."""

    def __init__(self, in_channels: int, prev_output_channels: int, out_channels: int, temb_channels: int,
                 num_layers: int, attention: bool, heads: int, add_upsample: bool, groups: int, eps: float,
                 dropout: float) -> None:
        super().__init__()
        resnets = []
        for i in range(num_layers):
            skip_channels = in_channels if i == num_layers - 1 else out_channels
            resnet_in = prev_output_channels if i == 0 else out_channels
            resnets.append(ResnetBlock2D(resnet_in + skip_channels, out_channels, temb_channels, groups, eps, dropout))
        self.resnets = nn.ModuleList(resnets)
        self.attentions = nn.ModuleList(
            Attention(out_channels, heads, groups, eps) for _ in range(num_layers if attention else 0)
        )
        self.upsamplers = nn.ModuleList([Upsample2D(out_channels)]) if add_upsample else None

    def forward(self, x: torch.Tensor, skips: list[torch.Tensor], temb: torch.Tensor,
                upsample_size: Sequence[int] | None = None) -> torch.Tensor:
        for i, resnet in enumerate(self.resnets):
            x = resnet(torch.cat([x, skips.pop()], dim=1), temb)
            if len(self.attentions):
                x = self.attentions[i](x)
        if self.upsamplers is not None:
            x = self.upsamplers[0](x, upsample_size)
        return x


class UNetMidBlock2D(nn.Module):
    """Residual block → attention → residual block, at the lowest resolution."""

    def __init__(self, channels: int, temb_channels: int, heads: int, groups: int, eps: float, dropout: float) -> None:
        super().__init__()
        self.resnets = nn.ModuleList(
            ResnetBlock2D(channels, channels, temb_channels, groups, eps, dropout) for _ in range(2)
        )
        self.attentions = nn.ModuleList([Attention(channels, heads, groups, eps)])

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        return self.resnets[1](self.attentions[0](self.resnets[0](x, temb)), temb)


class UNet2D(nn.Module):
    """The DDPM UNet (Ho et al. 2020, Appendix B; diffusers' ``UNet2DModel`` with plain and attention blocks).

    Level ``i`` works at ``image_size / 2**i`` with ``block_out_channels[i]`` channels; a level gets
    self-attention when its resolution is in ``attention_resolutions``. ``attention_head_dim=None``
    means one head per attention layer. ``flip_sin_to_cos``/``freq_shift`` choose the variant of the
    time embedding (the DDPM release: False/1).
    """

    def __init__(self, image_size: int = 28, in_channels: int = 1, out_channels: int | None = None,
                 block_out_channels: Sequence[int] = (32, 64, 64), layers_per_block: int = 2,
                 attention_resolutions: Sequence[int] = (7,), attention_head_dim: int | None = None,
                 norm_num_groups: int = 16, norm_eps: float = 1e-6, dropout: float = 0.0,
                 downsample_padding: int = 1, flip_sin_to_cos: bool = True, freq_shift: int = 0) -> None:
        super().__init__()
        channels = [int(c) for c in block_out_channels]
        if any(c % norm_num_groups for c in channels):
            raise BadInputError(f"norm_num_groups {norm_num_groups} must divide every block_out_channels {channels}")
        if attention_head_dim is not None and any(c % attention_head_dim for c in channels):
            raise BadInputError(f"attention_head_dim {attention_head_dim} must divide every channel count {channels}")

        def heads(c: int) -> int:
            return 1 if attention_head_dim is None else c // attention_head_dim

        self.flip_sin_to_cos, self.freq_shift = flip_sin_to_cos, freq_shift
        resolutions = [math.ceil(image_size / 2**i) for i in range(len(channels))]
        attention = [r in set(attention_resolutions) for r in resolutions]
        temb_channels = 4 * channels[0]
        groups, eps, n = norm_num_groups, norm_eps, len(channels)

        self.conv_in = nn.Conv2d(in_channels, channels[0], 3, padding=1)
        self.time_embedding = TimestepEmbedding(channels[0], temb_channels)
        self.down_blocks = nn.ModuleList(
            DownBlock2D(channels[max(i - 1, 0)], channels[i], temb_channels, layers_per_block, attention[i],
                        heads(channels[i]), i < n - 1, downsample_padding, groups, eps, dropout)
            for i in range(n)
        )
        self.mid_block = UNetMidBlock2D(channels[-1], temb_channels, heads(channels[-1]), groups, eps, dropout)
        up_blocks, prev = [], channels[-1]
        for i in range(n):
            level = n - 1 - i
            up_blocks.append(UpBlock2D(channels[max(level - 1, 0)], prev, channels[level], temb_channels,
                                       layers_per_block + 1, attention[level], heads(channels[level]), i < n - 1,
                                       groups, eps, dropout))
            prev = channels[level]
        self.up_blocks = nn.ModuleList(up_blocks)
        self.conv_norm_out = nn.GroupNorm(groups, channels[0], eps=eps)
        self.conv_act = nn.SiLU()
        self.conv_out = nn.Conv2d(channels[0], out_channels or in_channels, 3, padding=1)

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, C, H, W)``, integer timesteps ``t`` ``(B,)`` → ``(B, C_out, H, W)``."""
        emb = timestep_embedding(t, self.conv_in.out_channels, self.flip_sin_to_cos, self.freq_shift)
        temb = self.time_embedding(emb.to(x.dtype))  # (B, 4 * C0)
        h = self.conv_in(x)
        skips = [h]
        for block in self.down_blocks:
            h, block_skips = block(h, temb)
            skips += block_skips
        h = self.mid_block(h, temb)
        for block in self.up_blocks:
            n = len(block.resnets)  # type: ignore[arg-type]  # an UpBlock2D's ModuleList
            level_skips = skips[-n:]
            del skips[-n:]
            h = block(h, level_skips, temb, skips[-1].shape[-2:] if skips else None)
        return self.conv_out(self.conv_act(self.conv_norm_out(h)))
