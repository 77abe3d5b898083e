"""Training step of DDPM: regress the network on ε or v at uniformly drawn timesteps
(Ho et al. 2020, Algorithm 1), with min-SNR-γ loss weights (Hang et al. 2023,
"Efficient Diffusion Training via Min-SNR Weighting Strategy", arXiv:2303.09556), AdamW.
"""

from __future__ import annotations

import torch

from zoo.diffusion import NoiseSchedule
from zoo.training import TrainingStep, fused_optimizer_options


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


def diffusion_loss(model: torch.nn.Module, schedule: NoiseSchedule, images: torch.Tensor, gamma: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """The weighted regression loss on a batch of images in [0, 1]; a scalar.

    Algorithm 1 of Ho et al.: t ~ U{0..T-1}, ε ~ N(0, I), x_t = √ᾱ_t x_0 + √(1-ᾱ_t) ε (eq. 4),
    then ||target - network(x_t, t)||² with target ε or v.
    """
    x0 = images * 2 - 1  # the network works in [-1, 1]
    B = x0.shape[0]
    if generator is None:
        t = torch.randint(0, schedule.num_train_timesteps, (B,), device=x0.device)
        noise = torch.randn_like(x0)
    else:
        t = torch.randint(0, schedule.num_train_timesteps, (B,), generator=generator).to(x0.device)
        noise = torch.randn(x0.shape, generator=generator).to(x0)
    x_t = schedule.add_noise(x0, noise, t)
    target = schedule.target(x0, noise, t)
    mse = (model(x_t, t).float() - target.float()).pow(2).mean(dim=(1, 2, 3))  # (B,)
    return (min_snr_weights(schedule.snr(t), gamma, schedule.prediction_type) * mse).mean()


class DDPMTrainingStep(TrainingStep):
    """One AdamW update on the min-SNR-weighted loss, with a linear learning-rate warm-up and
    gradient-norm clipping. The loop keeps the EMA used for sampling."""

    def __init__(self, model, lr: float = 2e-4, weight_decay: float = 0.0, min_snr_gamma: float = 5.0,
                 warmup_steps: int = 500, max_grad_norm: float = 1.0) -> None:
        super().__init__(model)
        self.lr = lr
        self.weight_decay = weight_decay
        self.min_snr_gamma = min_snr_gamma  # γ = 5 in Hang et al. 2023
        self.warmup_steps = warmup_steps
        self.max_grad_norm = max_grad_norm

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = list(self.model.parameters())
        return {"unet": torch.optim.AdamW(params, lr=self.lr, weight_decay=self.weight_decay,
                                          **fused_optimizer_options(params))}

    def step(self, images, labels, step, accelerator) -> dict[str, torch.Tensor]:
        opt = self.optimizers["unet"]
        lr = self.lr * min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else self.lr
        for group in opt.param_groups:  # a function of the step number, so a resumed run continues it
            group["lr"] = lr
        loss = diffusion_loss(self.model, self.unwrap().schedule, images, self.min_snr_gamma)
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if self.max_grad_norm:
            accelerator.clip_grad_norm_(self.model.parameters(), self.max_grad_norm)
        opt.step()
        return {"loss": loss.detach()}  # read by the loop when it logs: no wait per step

    @torch.no_grad()
    def evaluate(self, model, images, labels) -> dict[str, float]:
        """The weighted loss on (up to 2,000) test images, fixed timesteps and noise."""
        gen = torch.Generator().manual_seed(0)
        total, count = 0.0, 0
        for batch in images[:2000].split(250):
            loss = diffusion_loss(model, model.schedule, batch.to(model.device), self.min_snr_gamma, gen)
            total += loss.item() * len(batch)
            count += len(batch)
        return {"test_loss": total / max(count, 1)}
