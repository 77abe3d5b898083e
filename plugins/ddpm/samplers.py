"""Samplers for any diffusion network (``zoo.diffusion.DiffusionNetwork``): DDPM ancestral
sampling (Ho et al. 2020, Algorithm 2) and DDIM (Song et al. 2021, eq. 12).

Each has a ``step()`` that takes one network output and returns a ``SamplerOutput``, as
diffusers' schedulers do, and a ``sample()`` loop. Every random draw comes from the
CPU ``torch.Generator`` passed in, so a seed gives the same images with every sampler
and on every device.

Both take the sampling options ``timestep_spacing`` (the grid, ``zoo.diffusion.timestep_grid``)
and ``rules`` (``"zoo"``: the papers' rules; ``"diffusers"``: diffusers' ``DDPMScheduler`` and
``DDIMScheduler`` exactly, see ``zoo.diffusion.RULES``); ``None`` takes the network schedule's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from zoo.diffusion import NoiseSchedule, check_sampling_option, initial_noise, model_output, step_noise
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
    """The shared loop: x_T ~ N(0, I), then one ``step`` per timestep of the grid, from the top down."""

    name = ""
    options: tuple[str, ...] = ("timestep_spacing", "rules")  # declared sampling options, all validated
    default_steps: int | None = None  # steps when none are given (at most T); None: all T

    def step(self, schedule: NoiseSchedule, output: torch.Tensor, t: int, t_prev: int, sample: torch.Tensor,
             generator: torch.Generator, **options: Any) -> SamplerOutput:
        raise NotImplementedError

    def previous_timesteps(self, schedule: NoiseSchedule, timesteps: list[int], rules: str) -> list[int]:
        """Where each step lands: the next grid point, and -1 (the data) after the last one."""
        return [*timesteps[1:], -1]

    @torch.no_grad()
    def sample(self, network: nn.Module, shape: tuple[int, ...], generator: torch.Generator, *,
               steps: int | None = None, progress: bool = False, timestep_spacing: str | None = None,
               rules: str | None = None, **options: Any) -> torch.Tensor:
        """Draw a batch ``shape`` from the network's model of the data, in [-1, 1].

        Args:
            network: A ``DiffusionNetwork`` (``network(x_t, t)`` and ``network.schedule``).
            shape: ``(B, C, H, W)``.
            generator: CPU random generator for x_T and every step's noise.
            steps: Number of network evaluations (default: ``default_steps``).
            progress: Show a tqdm bar.
            timestep_spacing: ``"leading"``, ``"trailing"`` or ``"linspace"`` (default: the schedule's).
            rules: ``"zoo"`` or ``"diffusers"`` (default: the schedule's).
            **options: The sampler's own options (DDIM: ``eta``).

        Returns:
            The batch ``shape``, in the network's data range [-1, 1].
        """
        unknown = sorted(set(options) - set(self.options))
        if unknown:
            raise BadInputError(f"sampler '{self.name}' got unknown options {unknown}; it takes steps,"
                                f" {', '.join(self.options)}")
        options = {k: check_sampling_option(k, v) for k, v in options.items()}
        schedule: NoiseSchedule = network.schedule
        rules = schedule.rules if rules is None else check_sampling_option("rules", rules)
        if steps is None:
            steps = min(self.default_steps or schedule.num_train_timesteps, schedule.num_train_timesteps)
        timesteps = schedule.timesteps(steps, timestep_spacing, rules)
        x = initial_noise(network, shape, generator)
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=len(timesteps), desc=self.name, leave=False)
        for t, t_prev in zip(timesteps, self.previous_timesteps(schedule, timesteps, rules)):
            out = model_output(network, x, t)
            x = self.step(schedule, out, t, t_prev, x, generator, rules=rules, **options).prev_sample
            if progress:
                bar.update(1)
        if progress:
            bar.close()
        return x


class DDPMSampler(_Loop):
    """Ancestral sampling (Ho et al. 2020, Algorithm 2): x_{t-1} ~ N(μ̃_t(x_t, x̂_0), σ_t² I).

    With fewer steps than T it walks a strided chain t → t_prev over the grid, whose β is
    1 - ᾱ_t / ᾱ_{t_prev} (Nichol & Dhariwal 2021 §4). σ_t² is β̃ (``fixed_small``) or β
    (``fixed_large``), as the schedule says. The last step adds no noise under the ``"zoo"`` rules;
    under ``"diffusers"`` it adds noise when its timestep is above 0 (a trailing grid ends at T/k - 1).
    """

    name = "ddpm"

    def step(self, schedule: NoiseSchedule, output: torch.Tensor, t: int, t_prev: int, sample: torch.Tensor,
             generator: torch.Generator, rules: str | None = None, **options: Any) -> SamplerOutput:
        """One step from x_t to x_{t_prev} (``t_prev = -1`` ends at the data).

        Args:
            schedule: The network's noise schedule.
            output: The network's prediction at ``(sample, t)``.
            t: This step's timestep.
            t_prev: The timestep it lands on; -1 is the data.
            sample: x_t ``(B, C, H, W)``.
            generator: CPU generator of the noise.
            rules: ``"zoo"`` or ``"diffusers"`` (default: the schedule's).

        Returns:
            x_{t_prev} and the predicted x̂_0.
        """
        rules = schedule.rules if rules is None else check_sampling_option("rules", rules)
        a_t, a_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
        beta = 1 - a_t / a_prev  # β of the strided chain
        pred = schedule.predict(output, sample, t)
        # 1. posterior mean μ̃_t(x_t, x̂_0), Ho et al. 2020 eq. 7
        x0_coeff = math.sqrt(a_prev) * beta / (1 - a_t)
        xt_coeff = math.sqrt(1 - beta) * (1 - a_prev) / (1 - a_t)
        prev = x0_coeff * pred.x0 + xt_coeff * sample
        # 2. add σ_t z except on the last step (Algorithm 2, line 3: z = 0 when t = 1); diffusers adds it
        #    whenever t > 0, with the σ² of a step to ᾱ = 1 (β̃ = 0, clamped to 1e-20; or β = 1 - ᾱ_t)
        if (t > 0) if rules == "diffusers" else (t_prev >= 0):
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

    Under the ``"zoo"`` rules each step lands on the next grid point (Song et al. 2021 §4.2: the
    sub-sequence τ); under ``"diffusers"`` it lands on t - T // k, the next grid point only when k
    divides T or the grid is leading, and it draws the step's noise whenever η > 0.
    """

    name = "ddim"
    options = ("eta", "timestep_spacing", "rules")
    default_steps = 50  # as diffusers' DDIMPipeline

    def previous_timesteps(self, schedule: NoiseSchedule, timesteps: list[int], rules: str) -> list[int]:
        """The next grid point (``"zoo"``), or t - T // k (``"diffusers"``); below 0 is the data (ᾱ = 1)."""
        if rules != "diffusers":
            return super().previous_timesteps(schedule, timesteps, rules)
        stride = schedule.num_train_timesteps // len(timesteps)
        return [max(t - stride, -1) for t in timesteps]

    def step(self, schedule: NoiseSchedule, output: torch.Tensor, t: int, t_prev: int, sample: torch.Tensor,
             generator: torch.Generator, eta: float = 0.0, rules: str | None = None,
             **options: Any) -> SamplerOutput:
        """One step from x_t to x_{t_prev} (``t_prev = -1`` ends at the data).

        Args:
            schedule: The network's noise schedule.
            output: The network's prediction at ``(sample, t)``.
            t: This step's timestep.
            t_prev: The timestep it lands on; -1 is the data.
            sample: x_t ``(B, C, H, W)``.
            generator: CPU generator of the noise.
            eta: η in [0, 1] (eq. 16).
            rules: ``"zoo"`` or ``"diffusers"`` (default: the schedule's).

        Returns:
            x_{t_prev} and the predicted x̂_0.
        """
        eta = check_sampling_option("eta", eta)
        rules = schedule.rules if rules is None else check_sampling_option("rules", rules)
        a_t, a_prev = schedule.alpha_bar(t), schedule.alpha_bar(t_prev)
        pred = schedule.predict(output, sample, t)
        sigma = eta * math.sqrt((1 - a_prev) / (1 - a_t) * (1 - a_t / a_prev))  # eq. 16
        # eq. 12: "predicted x_0" + "direction pointing to x_t" + random noise
        prev = math.sqrt(a_prev) * pred.x0 + math.sqrt(max(1 - a_prev - sigma**2, 0.0)) * pred.epsilon
        if sigma > 0 or (rules == "diffusers" and eta > 0):  # diffusers draws z even where σ_t = 0 (last step)
            prev = prev + sigma * step_noise(sample, generator)
        return SamplerOutput(prev_sample=prev, pred_original_sample=pred.x0)
