"""Training step of the Gated PixelCNN: maximum likelihood, the mean negative log-likelihood per
pixel (cross-entropy of the 256-way softmax at the true levels, teacher-forced in one pass),
with Adam, a linear warm-up and gradient-norm clipping; the loop keeps the EMA that is released."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from zoo.training import TrainingStep, fused_optimizer_options


class PixelCNNTrainingStep(TrainingStep):
    """Args:
        model: A ``GatedPixelCNN``.
        lr: Peak Adam learning rate (1e-3), reached after ``warmup_steps`` of linear warm-up, then
            cosine-decayed to ``lr / 20`` at the last step of the run.
        max_grad_norm: Clip the gradient norm (1.0; 0 turns it off).
    """

    def __init__(self, model, lr: float = 1e-3, warmup_steps: int = 200, max_grad_norm: float = 1.0) -> None:
        super().__init__(model)
        self.lr, self.warmup_steps, self.max_grad_norm = float(lr), int(warmup_steps), float(max_grad_norm)

    def learning_rate(self, step: int) -> float:
        """Warm-up, then a half cosine to lr/20 (a function of the step: a resumed run continues it)."""
        if self.warmup_steps and step < self.warmup_steps:
            return self.lr * (step + 1) / self.warmup_steps
        if self.total_steps <= self.warmup_steps:
            return self.lr
        done = min(1.0, (step - self.warmup_steps) / (self.total_steps - self.warmup_steps))
        return self.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * done)))

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = list(self.model.parameters())
        return {"pixelcnn": torch.optim.Adam(params, lr=self.lr, **fused_optimizer_options(params))}

    def step(self, images, labels, step, accelerator) -> dict[str, torch.Tensor]:
        opt = self.optimizers["pixelcnn"]
        lr = self.learning_rate(step)
        for group in opt.param_groups:
            group["lr"] = lr
        model = self.model
        logits = model(images, labels if model.conditional else None)  # (B, 256, H, W)
        loss = F.cross_entropy(logits, model.to_levels(images))  # nats per pixel
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        if self.max_grad_norm:
            accelerator.clip_grad_norm_(model.parameters(), self.max_grad_norm)
        opt.step()
        loss = loss.detach()  # read by the loop when it logs: no wait per step
        return {"nll": loss, "bpd": loss / math.log(2)}

    @torch.no_grad()
    def evaluate(self, model, images, labels) -> dict[str, float]:
        """Bits/dim of p(x | y) on (up to 2,000) test images with their true labels (``zoo eval --metrics
        bpd`` gives the exact marginal p(x) of the whole test split)."""
        total, count = 0.0, 0
        for x, y in zip(images[:2000].split(500), labels[:2000].split(500)):
            nll = -model.conditional_log_prob(x.to(model.device), y.to(model.device) if model.conditional else None)
            total += nll.sum().item()
            count += x[0].numel() * len(x)
        return {"test_bpd_given_label": total / count / math.log(2)}
