"""Training step of the autoencoder: mean squared reconstruction error with Adam."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.training import TrainingStep, fused_optimizer_options


class AETrainingStep(TrainingStep):
    channels_last = True  # faster convolutions on the CPU (zoo.training.to_channels_last)

    def __init__(self, model, lr: float = 1e-3) -> None:
        super().__init__(model)
        self.lr = lr

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = list(self.model.parameters())
        return {"ae": torch.optim.Adam(params, lr=self.lr, **fused_optimizer_options(params))}

    def step(self, images, labels, step, accelerator) -> dict[str, torch.Tensor]:
        loss = F.mse_loss(self.model(images), images)
        opt = self.optimizers["ae"]
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        opt.step()
        return {"mse": loss.detach()}  # read by the loop when it logs: no wait per step

    @torch.no_grad()
    def on_train_end(self, model, images, labels) -> None:
        """Fit the Gaussian that sampling draws codes from, on the training codes."""
        codes = torch.cat([model.encode(b) for b in images.split(1000)])
        cov = torch.cov(codes.T) + 1e-5 * torch.eye(codes.shape[1])
        model.latent_mean.copy_(codes.mean(0))
        model.latent_scale_tril.copy_(torch.linalg.cholesky(cov))

    @torch.no_grad()
    def evaluate(self, model, images, labels) -> dict[str, float]:
        """Test-set mean squared reconstruction error per pixel."""
        err = sum(F.mse_loss(model(b), b, reduction="sum").item() for b in images.split(1000))
        return {"test_mse": err / images.numel()}
