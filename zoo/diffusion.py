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

A sampler with fewer steps than T visits a grid of timesteps (``timestep_grid``): ``leading``,
``trailing`` or ``linspace`` (Lin et al. 2024, "Common Diffusion Noise Schedules and Sample Steps
are Flawed", arXiv:2305.08891, Table 2). Two sets of rules say how: ``"zoo"`` follows the papers
(and rounds exactly), ``"diffusers"`` reproduces diffusers' ``DDPMScheduler``/``DDIMScheduler``
step for step (see ``RULES``). The sampling options of the diffusion samplers are validated here,
in ``check_sampling_option``, and nowhere else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Protocol, runtime_checkable

import numpy as np
import torch

from zoo.errors import BadInputError
from zoo.interfaces import check_count
from zoo.options import DIFFUSION_RULES, ETA, RULES, TIMESTEP_SPACING, TIMESTEP_SPACINGS  # noqa: F401
from zoo.training import TrainingStep, fused_optimizer_options

BETA_SCHEDULES = ("linear", "cosine")
PREDICTION_TYPES = ("epsilon", "v_prediction")
VARIANCE_TYPES = ("fixed_small", "fixed_large")
# The grids (TIMESTEP_SPACINGS) and rules (RULES) are declared in zoo.options, with the other options of the
# diffusion samplers, so that plugins register them and the CLI builds their flags without importing torch.
# How a sampler walks its grid where the papers and diffusers differ:
# - "zoo": DDPM adds no noise on its last step (Ho et al. 2020, Algorithm 2, line 3: z = 0 when t = 1);
#   DDIM steps from each grid point to the next one (Song et al. 2021 §4.2, the sub-sequence τ);
#   the trailing and linspace grids round the exact rationals T(k-i)/k and (T-1)j/(k-1), ties to even.
# - "diffusers": what diffusers' schedulers do. DDPM adds noise whenever t > 0, so a grid ending above 0
#   (trailing, or leading with steps_offset) gets noise on its last step; DDIM steps from t to
#   t - T // k, which is not the next grid point when k does not divide T (trailing, linspace); the
#   grids are rounded from numpy's floats (np.arange / np.linspace), so some .5 ties go the other way.
#   Not reproduced: for some k (61, 103, ...), np.arange gives diffusers' trailing grid a (k+1)-th
#   timestep of -1, where it evaluates the network at t = -1 with ᾱ_{-1} read as ᾱ_{T-1} (Python's
#   negative index): a bug. The zoo runs the first k timesteps, as asked.
DIFFUSION_OPTIONS = {o.name: o for o in (ETA, TIMESTEP_SPACING, DIFFUSION_RULES)}


def _choice(value: Any, name: str, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise BadInputError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def check_sampling_option(name: str, value: Any) -> Any:
    """Validate one sampling option of the diffusion samplers; the one place their values are checked.

    Args:
        name: ``"eta"`` (DDIM's η, Song et al. 2021 eq. 16, in [0, 1]), ``"timestep_spacing"``
            (one of ``TIMESTEP_SPACINGS``) or ``"rules"`` (one of ``RULES``).
        value: The value a user gave.

    Returns:
        The value, normalised (η as a float).

    Raises:
        BadInputError: A bad value, in one line that names the option and the allowed values.
    """
    if name not in DIFFUSION_OPTIONS:
        raise BadInputError(f"unknown sampling option {name!r}")
    return DIFFUSION_OPTIONS[name].check(value)


def timestep_grid(num_train_timesteps: int, steps: int, timestep_spacing: str = "trailing", steps_offset: int = 0,
                  rules: str = "zoo") -> list[int]:
    """The ``steps`` timesteps a sampler visits, in decreasing order (Lin et al. 2024, Table 2).

    With T = ``num_train_timesteps`` and k = ``steps``:

    - ``leading``: ``(k-1)·(T//k), ..., T//k, 0``, each plus ``steps_offset``;
    - ``trailing``: ``round(T(k-i)/k) - 1`` for i = 0 .. k-1: it always starts at T - 1;
    - ``linspace``: ``round((T-1)j/(k-1))`` for j = k-1 .. 0 (``[0]`` when k = 1).

    Args:
        num_train_timesteps: T.
        steps: k, from 1 to T (checked by ``NoiseSchedule.check_steps``).
        timestep_spacing: ``"leading"``, ``"trailing"`` or ``"linspace"``.
        steps_offset: Added to the leading grid only (as diffusers does).
        rules: ``"zoo"`` rounds the exact rationals (ties to even); ``"diffusers"`` rounds numpy's
            floats as diffusers' ``set_timesteps`` does (see ``RULES``).

    Returns:
        k distinct integer timesteps, decreasing.
    """
    T, k = num_train_timesteps, steps
    if timestep_spacing == "leading":
        ratio = T // k
        return [i * ratio + steps_offset for i in reversed(range(k))]
    if timestep_spacing == "trailing":
        if rules == "diffusers":
            # np.arange(T, 0, -T/k) may hold a (k+1)-th point near 0 (a timestep of -1): not reproduced
            return [int(v) - 1 for v in np.round(np.arange(T, 0, -T / k))[:k]]
        return [round(Fraction(T * (k - i), k)) - 1 for i in range(k)]
    if rules == "diffusers":
        return [int(v) for v in np.linspace(0, T - 1, k).round()[::-1]]
    return [round(Fraction((T - 1) * (k - 1 - i), max(k - 1, 1))) for i in range(k)]


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
        timestep_spacing: The default grid of a sampler with fewer steps than T (``timestep_grid``):
            ``"trailing"`` always starts at T - 1 (Lin et al. 2024, arXiv:2305.08891, Table 2), the
            zoo's choice for the models it trains; ``"leading"`` (0, T//k, 2·T//k, ...) is diffusers'
            default, so the grid of a diffusers repo whose scheduler config names none; ``"linspace"``.
        steps_offset: Added to every timestep of the leading grid (diffusers' ``steps_offset``).
        rules: The default ``rules`` of the samplers (``RULES``): ``"zoo"``, or ``"diffusers"`` for a
            model converted from a diffusers repo, so that it samples as diffusers samples it.
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
        steps_offset: int = 0,
        rules: str = "zoo",
    ) -> None:
        self.num_train_timesteps = check_count(num_train_timesteps, "num_train_timesteps")
        self.beta_schedule = _choice(beta_schedule, "beta_schedule", BETA_SCHEDULES)
        self.prediction_type = _choice(prediction_type, "prediction_type", PREDICTION_TYPES)
        self.variance_type = _choice(variance_type, "variance_type", VARIANCE_TYPES)
        self.timestep_spacing = check_sampling_option("timestep_spacing", timestep_spacing)
        self.rules = check_sampling_option("rules", rules)
        if isinstance(steps_offset, bool) or not isinstance(steps_offset, int) or steps_offset < 0:
            raise BadInputError(f"steps_offset must be an integer >= 0, got {steps_offset!r}")
        self.steps_offset = steps_offset
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
                "timestep_spacing": self.timestep_spacing, "steps_offset": self.steps_offset, "rules": self.rules}

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

    def timesteps(self, steps: int, timestep_spacing: str | None = None, rules: str | None = None) -> list[int]:
        """The ``steps`` timesteps a sampler visits, in decreasing order (``timestep_grid``).

        Args:
            steps: How many, 1 to ``num_train_timesteps``.
            timestep_spacing: The grid; ``None``: the schedule's ``timestep_spacing``.
            rules: ``"zoo"`` or ``"diffusers"`` rounding; ``None``: the schedule's ``rules``.

        Returns:
            The timesteps, decreasing; ``steps_offset`` is added to a leading grid.
        """
        steps = self.check_steps(steps)
        spacing = self.timestep_spacing if timestep_spacing is None else check_sampling_option(
            "timestep_spacing", timestep_spacing)
        rules = self.rules if rules is None else check_sampling_option("rules", rules)
        grid = timestep_grid(self.num_train_timesteps, steps, spacing, self.steps_offset, rules)
        if grid[0] >= self.num_train_timesteps:
            raise BadInputError(
                f"steps={steps} on the leading grid with steps_offset={self.steps_offset} reaches timestep {grid[0]},"
                f" beyond the model's 0 .. {self.num_train_timesteps - 1}: use fewer steps"
            )
        return grid


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


# ------------------------------------------------------------------ training (Hang et al. 2023, "Efficient Diffusion
# Training via Min-SNR Weighting Strategy", arXiv:2303.09556)


def min_snr_weights(snr: torch.Tensor, gamma: float, prediction_type: str) -> torch.Tensor:
    """Per-sample loss weights ``(B,)`` for the SNR of each timestep.

    Hang et al. weight the x_0-space loss by min(SNR, γ) (§3.4). An ε loss equals SNR times the
    x_0 loss and a v loss equals SNR + 1 times it, so the weights become min(SNR, γ) / SNR
    and min(SNR, γ) / (SNR + 1). ``gamma <= 0`` turns the weighting off (all ones).
    """
    if gamma <= 0:
        return torch.ones_like(snr)
    clipped = snr.clamp(max=gamma)
    return clipped / (snr + 1) if prediction_type == "v_prediction" else clipped / snr.clamp(min=1e-8)


def denoising_loss(network: torch.nn.Module, schedule: NoiseSchedule, x0: torch.Tensor, gamma: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """The min-SNR-weighted regression loss of a diffusion network on clean samples ``x0`` in the
    network's own space (pixels in [-1, 1], or scaled latents); a scalar.

    Algorithm 1 of Ho et al. 2020: t ~ U{0..T-1}, ε ~ N(0, I), x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε (eq. 4),
    then ||target - network(x_t, t)||² with target ε or v, weighted by ``min_snr_weights``.
    """
    B = x0.shape[0]
    if generator is None:
        t = torch.randint(0, schedule.num_train_timesteps, (B,), device=x0.device)
        noise = torch.randn_like(x0)
    else:
        t = torch.randint(0, schedule.num_train_timesteps, (B,), generator=generator).to(x0.device)
        noise = torch.randn(x0.shape, generator=generator).to(x0)
    x_t = schedule.add_noise(x0, noise, t)
    target = schedule.target(x0, noise, t)
    mse = (network(x_t, t).float() - target.float()).pow(2).mean(dim=(1, 2, 3))  # (B,)
    return (min_snr_weights(schedule.snr(t), gamma, schedule.prediction_type) * mse).mean()


class DenoisingTrainingStep(TrainingStep):
    """The training step of a diffusion network, for any plugin to build on: one AdamW update on
    ``denoising_loss`` (min-SNR weights), a linear learning-rate warm-up and gradient-norm clipping;
    the loop keeps the EMA used for sampling.

    A subclass says what is trained and in which space: ``network()`` (default: the model) and
    ``to_network_space(batch)`` (default: the batch as it comes; pixels in [0, 1] become [-1, 1] in
    DDPM, latents stay as they are in latent diffusion). ``optimizer_name`` names the optimizer in
    checkpoints.

    Args:
        model: The model the loop trains.
        lr, weight_decay: AdamW's.
        min_snr_gamma: γ of the min-SNR weights (5, Hang et al. 2023; 0 turns them off).
        warmup_steps: Linear learning-rate warm-up (0: none).
        max_grad_norm: Gradient-norm clipping (0: off).
    """

    optimizer_name = "denoiser"

    def __init__(self, model: Any, lr: float = 2e-4, weight_decay: float = 0.0, min_snr_gamma: float = 5.0,
                 warmup_steps: int = 500, max_grad_norm: float = 1.0) -> None:
        super().__init__(model)
        self.lr, self.weight_decay, self.min_snr_gamma = float(lr), float(weight_decay), float(min_snr_gamma)
        self.warmup_steps, self.max_grad_norm = int(warmup_steps), float(max_grad_norm)

    def network(self) -> torch.nn.Module:
        """The diffusion network that is trained (it has a ``schedule``, or the unwrapped model has)."""
        return self.model

    def schedule(self) -> NoiseSchedule:
        schedule = getattr(self.network(), "schedule", None)
        if schedule is None:  # a wrapped network (DDP): the schedule is the unwrapped model's
            schedule = self.unwrap().schedule
        assert isinstance(schedule, NoiseSchedule)
        return schedule

    def to_network_space(self, batch: torch.Tensor) -> torch.Tensor:
        return batch

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = list(self.network().parameters())
        return {self.optimizer_name: torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay,
                                                       **fused_optimizer_options(params))}

    def learning_rate(self, step: int) -> float:
        """A function of the step number, so a resumed run continues it."""
        return self.lr * min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else self.lr

    def step(self, batch: torch.Tensor, labels: Any, step: int, accelerator: Any) -> dict[str, torch.Tensor]:
        opt = self.optimizers[self.optimizer_name]
        for group in opt.param_groups:
            group["lr"] = self.learning_rate(step)
        network = self.network()
        loss = denoising_loss(network, self.schedule(), self.to_network_space(batch), self.min_snr_gamma)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if self.max_grad_norm:
            accelerator.clip_grad_norm_(network.parameters(), self.max_grad_norm)
        opt.step()
        return {"loss": loss.detach()}  # read by the loop when it logs: no wait per step
