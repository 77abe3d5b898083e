"""Samplers for any diffusion network (``zoo.diffusion.DiffusionNetwork``): DDPM ancestral
sampling (Ho et al. 2020, Algorithm 2) and DDIM (Song et al. 2021, eq. 12).

Each has a ``step()`` that takes one network output and returns a ``SamplerOutput``, as
diffusers' schedulers do, and a ``sample()`` loop. Every random draw comes from the
CPU ``torch.Generator`` passed in, so a seed gives the same images with every sampler
and on every device.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from zoo.diffusion import NoiseSchedule, initial_noise, model_output, step_noise
from zoo.errors import BadInputError
from zoo.interfaces import Sampler


@dataclass
class SamplerOutput:
    """Result of one sampler step.

    Attributes:
        prev_sample: x_{t_prev} ``(B, C, H, W)``, the input of the next step.
        pred_original_sample: The predicted clean sample x̂_0 ``(B, C, H, W)`` at this step.
    """

    prev_sample: torch.Tensor
    pred_original_sample: torch.Tensor


class _Loop(Sampler):
    """The shared loop: x_T ~ N(0, I), then one ``step`` per timestep, from T - 1 down."""

    name = ""
    options: tuple[str, ...] = ()

    def step(self, schedule: NoiseSchedule, output: torch.Tensor, t: int, t_prev: int, sample: torch.Tensor,
             generator: torch.Generator, **options: Any) -> SamplerOutput:
        raise NotImplementedError

    @torch.no_grad()
    def sample(self, network: nn.Module, shape: tuple[int, ...], generator: torch.Generator, *,
               steps: int | None = None, progress: bool = False, **options: Any) -> torch.Tensor:
        """Draw a batch ``shape`` from the network's model of the data, in [-1, 1].

        Args:
            network: A ``DiffusionNetwork`` (``network(x_t, t)`` and ``network.schedule``).
            shape: ``(B, C, H, W)``.
            generator: CPU random generator for x_T and every step's noise.
            steps: Number of network evaluations (default: all ``num_train_timesteps``).
            progress: Show a tqdm bar.
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            takes = f"it takes {', '.join(self.options)}" if self.options else "it takes only steps"
            raise BadInputError(f"sampler '{self.name}' got unknown options {unknown}; {takes}")
        schedule: NoiseSchedule = network.schedule
        timesteps = schedule.timesteps(schedule.num_train_timesteps if steps is None else steps)
        x = initial_noise(network, shape, generator)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(timesteps), desc=self.name, leave=False)
        for i, t in enumerate(timesteps):
            t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            x = self.step(schedule, model_output(network, x, t), t, t_prev, x, generator, **options).prev_sample
            if progress:
                bar.update(1)
        if progress:
            bar.close()
        return x


class DDPMSampler(_Loop):
    """Ancestral sampling (Ho et al. 2020, Algorithm 2): x_{t-1} ~ N(μ̃_t(x_t, x̂_0), σ_t² I).

    With fewer steps than T it walks a strided chain t → t_prev, whose β is 1 - ᾱ_t / ᾱ_{t_prev}
    (Nichol & Dhariwal 2021 §4). σ_t² is β̃ (``fixed_small``) or β (``fixed_large``), as the
    schedule says.
    """

    name = "ddpm"

    def step(self, schedule: NoiseSchedule, output: torch.Tensor, t: int, t_prev: int, sample: torch.Tensor,
             generator: torch.Generator, **options: Any) -> SamplerOutput:
        """One step from x_t to x_{t_prev} (``t_prev = -1`` ends at the data)."""
        a_t, a_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
        beta = 1 - a_t / a_prev  # β of the strided chain
        pred = schedule.predict(output, sample, t)
        # 1. posterior mean μ̃_t(x_t, x̂_0), Ho et al. 2020 eq. 7
        x0_coeff = math.sqrt(a_prev) * beta / (1 - a_t)
        xt_coeff = math.sqrt(1 - beta) * (1 - a_prev) / (1 - a_t)
        prev = x0_coeff * pred.x0 + xt_coeff * sample
        # 2. add σ_t z except on the last step (Algorithm 2, line 3: z = 0 when t = 1)
        if t_prev >= 0:
            if schedule.variance_type == "fixed_large":
                variance = beta
            else:
                variance = max((1 - a_prev) / (1 - a_t) * beta, 1e-20)  # β̃_t, eq. 7
            prev = prev + math.sqrt(variance) * step_noise(sample, generator)
        return SamplerOutput(prev_sample=prev, pred_original_sample=pred.x0)


class DDIMSampler(_Loop):
    """DDIM (Song et al. 2021, eq. 12): x_{t-1} = √ᾱ_{t-1} x̂_0 + √(1 - ᾱ_{t-1} - σ_t²) ε̂ + σ_t z,
    with σ_t = η √((1 - ᾱ_{t-1}) / (1 - ᾱ_t)) √(1 - ᾱ_t / ᾱ_{t-1}) (eq. 16). η = 0 is deterministic
    given x_T; η = 1 has the variance of DDPM's ``fixed_small``.
    """

    name = "ddim"
    options = ("eta",)

    def step(self, schedule: NoiseSchedule, output: torch.Tensor, t: int, t_prev: int, sample: torch.Tensor,
             generator: torch.Generator, eta: float = 0.0, **options: Any) -> SamplerOutput:
        """One step from x_t to x_{t_prev} (``t_prev = -1`` ends at the data)."""
        if isinstance(eta, bool) or not isinstance(eta, (int, float)) or not 0 <= eta <= 1:
            raise BadInputError(f"eta must be a number in [0, 1], got {eta!r}")
        a_t, a_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
        pred = schedule.predict(output, sample, t)
        sigma = eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))  # eq. 16
        # eq. 12: "predicted x_0" + "direction pointing to x_t" + random noise
        prev = math.sqrt(a_prev) * pred.x0 + math.sqrt(max(1 - a_prev - sigma**2, 0.0)) * pred.epsilon
        if sigma > 0:
            prev = prev + sigma * step_noise(sample, generator)
        return SamplerOutput(prev_sample=prev, pred_original_sample=pred.x0)
