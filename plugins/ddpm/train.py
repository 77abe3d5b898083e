"""Training step of DDPM: regress the network on ε or v at uniformly drawn timesteps
(Ho et al. 2020, Algorithm 1), with min-SNR-γ loss weights (Hang et al. 2023,
"Efficient Diffusion Training via Min-SNR Weighting Strategy", arXiv:2303.09556), AdamW.
"""

from __future__ import annotations

import torch

from zoo.diffusion import NoiseSchedule, denoising_loss, min_snr_weights  # noqa: F401
from zoo.training import TrainingStep, fused_optimizer_options


def diffusion_loss(model: torch.nn.Module, schedule: NoiseSchedule, images: torch.Tensor, gamma: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """The weighted regression loss on a batch of images in [0, 1] (the network works in [-1, 1])."""
    return denoising_loss(model, schedule, images * 2 - 1, gamma, generator)


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
