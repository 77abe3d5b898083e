"""DDPM: the model that samples with a UNet noise predictor (Ho et al. 2020, "Denoising Diffusion
Probabilistic Models", arXiv:2006.11239).

The network (``zoo.unet.UNet2D``, the core's building block), the noise schedule
(``zoo.diffusion.NoiseSchedule``) and the sampling procedure (a registered ``Sampler``, chosen
by name through ``zoo.interfaces.SampledGenerator``) are three objects, so any plugin's sampler
drives this network.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from zoo.diffusion import NoiseSchedule
from zoo.interfaces import SampledGenerator
from zoo.unet import UNet2D


class DDPM(SampledGenerator):
    """An unconditional diffusion model: a ``UNet2D`` that predicts noise (or v) and its ``NoiseSchedule``.

    ``sample``/``generate`` run a registered sampler (``"ddim"`` and ``"ddpm"`` from this plugin, or any
    sampler whose spec names the ``diffusion`` family) from noise to images.

    Args:
        image_size, in_channels, block_out_channels, layers_per_block, attention_resolutions,
        attention_head_dim, norm_num_groups, norm_eps, dropout, downsample_padding, flip_sin_to_cos,
        freq_shift: The UNet (see ``UNet2D``).
        num_train_timesteps, beta_schedule, beta_start, beta_end, prediction_type, clip_sample,
        variance_type, timestep_spacing, steps_offset, rules: The schedule (see
        ``zoo.diffusion.NoiseSchedule``); ``timestep_spacing`` and ``rules`` are the samplers' defaults.
        sampler: Default sampler id.
        steps: Default number of sampler steps (``None``: the sampler's own default, all T for DDPM
            ancestral and 50 for DDIM, as diffusers' pipelines).
        eta: Default DDIM η (``None``: the sampler's own default).
    """

    family = "diffusion"

    def __init__(
        self,
        image_size: int = 28,
        in_channels: int = 1,
        block_out_channels: Sequence[int] = (32, 64, 64),
        layers_per_block: int = 2,
        attention_resolutions: Sequence[int] = (7,),
        attention_head_dim: int | None = None,
        norm_num_groups: int = 16,
        norm_eps: float = 1e-6,
        dropout: float = 0.0,
        downsample_padding: int = 1,
        flip_sin_to_cos: bool = True,
        freq_shift: int = 0,
        num_train_timesteps: int = 1000,
        beta_schedule: str = "cosine",
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        prediction_type: str = "v_prediction",
        clip_sample: bool = True,
        variance_type: str = "fixed_small",
        timestep_spacing: str = "trailing",
        steps_offset: int = 0,
        rules: str = "zoo",
        sampler: str = "ddim",
        steps: int | None = 50,
        eta: float | None = None,
    ) -> None:
        super().__init__()
        self.image_shape = (in_channels, image_size, image_size)
        self.unet = UNet2D(image_size, in_channels, in_channels, block_out_channels, layers_per_block,
                           attention_resolutions, attention_head_dim, norm_num_groups, norm_eps, dropout,
                           downsample_padding, flip_sin_to_cos, freq_shift)
        self.schedule = NoiseSchedule(num_train_timesteps, beta_schedule, beta_start, beta_end, prediction_type,
                                      clip_sample, variance_type, timestep_spacing, steps_offset, rules)
        # the defaults of sample(); the sampler's options left at None take the sampler's (or the schedule's)
        self.configure_sampling(sampler=sampler, steps=steps, eta=eta)

    def forward(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The network's prediction (ε or v) for noisy images ``x_t`` in [-1, 1] at timesteps ``t`` ``(B,)``."""
        return self.unet(x_t, t)

    # ------------------------------------------------------------------ sampling (zoo.interfaces.SampledGenerator)

    def check_steps(self, steps: Any) -> int:
        """1 to ``num_train_timesteps`` (a sampler cannot visit more timesteps than the model was trained on)."""
        return self.schedule.check_steps(steps)

    @property
    def eta(self) -> float | None:
        """The default DDIM η set at load time (``None``: the sampler's own, 0)."""
        return self.sampling_options.get("eta")

    def to_images(self, output: torch.Tensor) -> torch.Tensor:
        """The sampler's x_0 in [-1, 1] to images in [0, 1]."""
        return (output + 1) / 2
