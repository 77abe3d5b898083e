"""The noise schedule of a diffusion model, and what any diffusion network offers to any sampler.

A diffusion network is a callable ``network(x_t, t) -> output`` with a ``schedule``
attribute (a ``NoiseSchedule``); ``output`` is the network's prediction of the
kind ``schedule.prediction_type`` names. A sampler (``zoo.interfaces.Sampler``)
needs nothing else: it draws ``x_T`` with ``initial_noise``, calls
``model_output`` at each timestep and turns the output into a predicted clean
image and noise with ``schedule.predict``. So a sampler from one plugin drives a
network from another.

Notation follows Ho et al. 2020, "Denoising Diffusion Probabilistic Models"
(arXiv:2006.11239): ``alpha_bar_t`` is the product of ``1 - beta_s`` for
``s <= t`` (ᾱ_t). Song et al. 2021, "Denoising Diffusion Implicit Models"
(arXiv:2010.02502) write α_t for the same quantity. Timesteps are 0-based,
``0 .. num_train_timesteps - 1``, as in diffusers; ``alpha_bar(-1) = 1`` is the
clean data.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import torch

from zoo.errors import BadInputError
from zoo.interfaces import check_count

BETA_SCHEDULES = ("linear", "cosine")
PREDICTION_TYPES = ("epsilon", "v_prediction")
VARIANCE_TYPES = ("fixed_small", "fixed_large")
TIMESTEP_SPACINGS = ("trailing", "leading")


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise BadInputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def cosine_betas(num_timesteps: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """The cosine schedule of Nichol & Dhariwal 2021 ("Improved DDPM", arXiv:2102.09672, eq. 17):
    ᾱ(t) = cos²((t/T + s) / (1 + s) · π/2), β_t = 1 - ᾱ(t+1)/ᾱ(t) clipped at ``max_beta``.
    Float64, ``(T,)``."""
    def f(t: float) -> float:
        return math.cos((t / num_timesteps + s) / (1 + s) * math.pi / 2) ** 2

    betas = [min(1 - f(i + 1) / f(i), max_beta) for i in range(num_timesteps)]
    return torch.tensor(betas, dtype=torch.float64)


@dataclass(frozen=True)
class Prediction:
    """A network output turned into the two quantities samplers use.

    Attributes:
        x0: The predicted clean sample x̂_0 ``(B, C, H, W)``, clipped to [-1, 1] when the
            schedule says ``clip_sample``.
        epsilon: The predicted noise ε̂ ``(B, C, H, W)``, from the unclipped prediction (as diffusers).
    """

    x0: torch.Tensor
    epsilon: torch.Tensor


class NoiseSchedule:
    """The forward process q(x_t | x_0) of a DDPM and the conventions of its network.

    Args:
        num_train_timesteps: T, the number of diffusion steps the network was trained on.
        beta_schedule: ``"linear"`` (Ho et al. 2020 §4: β from ``beta_start`` to ``beta_end``)
            or ``"cosine"`` (Nichol & Dhariwal 2021 eq. 17).
        beta_start: First β of the linear schedule.
        beta_end: Last β of the linear schedule.
        prediction_type: What the network predicts: ``"epsilon"`` (the noise, Ho et al. 2020
            eq. 14) or ``"v_prediction"`` (v = √ᾱ ε - √(1-ᾱ) x_0, Salimans & Ho 2022 §4).
        clip_sample: Clip the predicted x_0 to [-1, 1] before a sampler uses it.
        variance_type: Variance of the ancestral DDPM step (Ho et al. 2020 §3.2): ``"fixed_small"``
            is the posterior variance β̃_t (eq. 7), ``"fixed_large"`` is β_t.
        timestep_spacing: Which timesteps a sampler with fewer steps than T visits: ``"trailing"``
            always starts at T - 1 (Lin et al. 2024, arXiv:2305.08891, Table 2); ``"leading"``
            is diffusers' default (0, k, 2k, ...).
    """

    def __init__(
        self,
        num_train_timesteps: int = 1000,
        beta_schedule: str = "linear",
        beta_start: float = 1e-4,
        beta_end: float = 0.02,
        prediction_type: str = "epsilon",
        clip_sample: bool = True,
        variance_type: str = "fixed_small",
        timestep_spacing: str = "trailing",
    ) -> None:
        self.num_train_timesteps = check_count(num_train_timesteps, "num_train_timesteps")
        self.beta_schedule = _choice(beta_schedule, "beta_schedule", BETA_SCHEDULES)
        self.prediction_type = _choice(prediction_type, "prediction_type", PREDICTION_TYPES)
        self.variance_type = _choice(variance_type, "variance_type", VARIANCE_TYPES)
        self.timestep_spacing = _choice(timestep_spacing, "timestep_spacing", TIMESTEP_SPACINGS)
        self.clip_sample = bool(clip_sample)
        self.beta_start, self.beta_end = float(beta_start), float(beta_end)
        if self.beta_schedule == "linear":
            if not 0 < self.beta_start <= self.beta_end < 1:
                raise BadInputError(f"need 0 < beta_start <= beta_end < 1, got {beta_start}, {beta_end}")
            betas = torch.linspace(self.beta_start, self.beta_end, self.num_train_timesteps, dtype=torch.float64)
        else:
            betas = cosine_betas(self.num_train_timesteps)
        # float64 on the CPU: ᾱ_t near t = T is tiny and a sampler divides by its square root
        self.betas = betas
        self.alphas_cumprod = torch.cumprod(1 - betas, dim=0)  # ᾱ_t, (T,)

    def __repr__(self) -> str:
        return f"NoiseSchedule({', '.join(f'{k}={v!r}' for k, v in self.config().items())})"

    def config(self) -> dict[str, Any]:
        """The constructor arguments (JSON-serialisable)."""
        return {"num_train_timesteps": self.num_train_timesteps, "beta_schedule": self.beta_schedule,
                "beta_start": self.beta_start, "beta_end": self.beta_end, "prediction_type": self.prediction_type,
                "clip_sample": self.clip_sample, "variance_type": self.variance_type,
                "timestep_spacing": self.timestep_spacing}

    # ------------------------------------------------------------------ schedule values

    def alpha_bar(self, t: int) -> float:
        """ᾱ_t for one timestep; ``alpha_bar(-1) = 1`` (no noise)."""
        return 1.0 if t < 0 else float(self.alphas_cumprod[t])

    def _per_sample(self, values: torch.Tensor, t: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """``values[t]`` shaped ``(B, 1, 1, 1)`` to broadcast against ``like`` ``(B, C, H, W)``."""
        out = values.to(t.device)[t].to(like.dtype)
        return out.reshape(-1, *([1] * (like.ndim - 1)))

    def snr(self, t: torch.Tensor) -> torch.Tensor:
        """Signal-to-noise ratio ᾱ_t / (1 - ᾱ_t) of timesteps ``t`` ``(B,)``, float32 ``(B,)``."""
        a = self.alphas_cumprod.to(t.device)[t]
        return (a / (1 - a)).float()

    def add_noise(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Sample q(x_t | x_0) = N(√ᾱ_t x_0, (1 - ᾱ_t) I) (Ho et al. 2020 eq. 4); ``t`` is ``(B,)``."""
        a = self._per_sample(self.alphas_cumprod, t, x0)
        return a.sqrt() * x0 + (1 - a).sqrt() * noise

    def target(self, x0: torch.Tensor, noise: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """What the network regresses on: ε, or v = √ᾱ_t ε - √(1-ᾱ_t) x_0 (Salimans & Ho 2022 eq. in §4)."""
        if self.prediction_type == "epsilon":
            return noise
        a = self._per_sample(self.alphas_cumprod, t, x0)
        return a.sqrt() * noise - (1 - a).sqrt() * x0

    def predict(self, model_output: torch.Tensor, x_t: torch.Tensor, t: int) -> Prediction:
        """Turn a network output at timestep ``t`` into predicted x_0 and ε.

        epsilon: x̂_0 = (x_t - √(1-ᾱ_t) ε̂) / √ᾱ_t (Ho et al. 2020 eq. 15, rearranged).
        v_prediction: x̂_0 = √ᾱ_t x_t - √(1-ᾱ_t) v̂ and ε̂ = √(1-ᾱ_t) x_t + √ᾱ_t v̂ (Salimans & Ho 2022 §4).
        """
        a = self.alpha_bar(t)
        if self.prediction_type == "epsilon":
            epsilon = model_output
            x0 = (x_t - math.sqrt(1 - a) * model_output) / math.sqrt(a)
        else:
            x0 = math.sqrt(a) * x_t - math.sqrt(1 - a) * model_output
            epsilon = math.sqrt(1 - a) * x_t + math.sqrt(a) * model_output
        if self.clip_sample:
            x0 = x0.clamp(-1, 1)
        return Prediction(x0=x0, epsilon=epsilon)

    # ------------------------------------------------------------------ sampling timesteps

    def check_steps(self, steps: Any) -> int:
        """``steps`` as an int in ``1 .. num_train_timesteps``, else ``BadInputError``."""
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= self.num_train_timesteps:
            raise BadInputError(
                f"steps must be an integer from 1 to {self.num_train_timesteps} (the timesteps the model was"
                f" trained on), got {steps!r}"
            )
        return steps

    def timesteps(self, steps: int) -> list[int]:
        """The ``steps`` timesteps a sampler visits, in decreasing order (all T when ``steps == T``)."""
        steps = self.check_steps(steps)
        T = self.num_train_timesteps
        if self.timestep_spacing == "leading":
            ratio = T // steps
            return [i * ratio for i in reversed(range(steps))]
        return [round(T - i * T / steps) - 1 for i in range(steps)]


@runtime_checkable
class DiffusionNetwork(Protocol):
    """What a diffusion model offers to any sampler: its schedule, and ``network(x_t, t)``
    for ``x_t`` ``(B, C, H, W)`` and integer timesteps ``t`` ``(B,)``, returning the prediction
    ``(B, C, H, W)`` of the kind ``schedule.prediction_type`` names."""

    schedule: NoiseSchedule

    def __call__(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor: ...


def initial_noise(network: torch.nn.Module, shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """x_T ~ N(0, I), drawn on the CPU from ``generator`` (same seed, same images on every
    device), then moved to the network's device and dtype."""
    param = next(network.parameters())
    return torch.randn(shape, generator=generator).to(param.device, param.dtype)


def step_noise(like: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Fresh N(0, I) noise shaped like ``like``, drawn on the CPU from ``generator``."""
    return torch.randn(like.shape, generator=generator).to(like.device, like.dtype)


def model_output(network: DiffusionNetwork, x_t: torch.Tensor, t: int) -> torch.Tensor:
    """The network's prediction for a batch ``x_t`` at one timestep ``t``."""
    return network(x_t, torch.full((x_t.shape[0],), t, dtype=torch.long, device=x_t.device))
