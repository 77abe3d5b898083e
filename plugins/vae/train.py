"""Training step of the VAE: minimise the negative ELBO with Adam."""

from __future__ import annotations

import torch

from zoo.interfaces import bits_per_dim
from zoo.training import TrainingStep, fused_optimizer_options


class VAETrainingStep(TrainingStep):
    channels_last = True  # faster convolutions on the CPU (zoo.training.to_channels_last)

    def __init__(self, model, lr: float = 1e-3, kl_warmup_steps: int = 2000) -> None:
        super().__init__(model)
        self.lr = lr
        self.kl_warmup_steps = kl_warmup_steps  # β from 0 to 1 avoids early posterior collapse

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = list(self.model.parameters())
        return {"vae": torch.optim.Adam(params, lr=self.lr, **fused_optimizer_options(params))}

    def step(self, images, labels, step, accelerator) -> dict[str, torch.Tensor]:
        out = self.model(images)  # VAE.forward is neg_elbo; through DDP when distributed
        beta = min(1.0, step / self.kl_warmup_steps) if self.kl_warmup_steps else 1.0
        loss = (out["recon"] + beta * out["kl"]).mean()
        opt = self.optimizers["vae"]
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        opt.step()
        # detached tensors, not floats: the loop reads them only when it logs (no wait per step)
        return {"loss": loss.detach(), "nelbo": out["nll_bound"].detach().mean(), "kl": out["kl"].detach().mean()}

    @torch.no_grad()
    def evaluate(self, model, images, labels) -> dict[str, float]:
        """Test-set negative ELBO (nats per image) and its bits/dim, one posterior sample."""
        gen = torch.Generator().manual_seed(0)
        total, count = 0.0, 0
        for batch in images.split(500):
            total += model.neg_elbo(batch.to(model.device), gen)["nll_bound"].sum().item()
            count += len(batch)
        nats = total / count
        dims = images[0].numel()
        return {"neg_elbo_nats": nats, "bits_per_dim": bits_per_dim(torch.tensor(nats), dims).item()}
