"""Training step of the KL autoencoder: L1 reconstruction plus a small KL penalty (Rombach et al.
2022, Appendix G; no perceptual or adversarial term: at 28×28 grayscale the L1 reconstructions are
sharp enough to diffuse in, and the card reports how sharp), with Adam."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.training import TrainingStep, fused_optimizer_options


class AutoencoderKLTrainingStep(TrainingStep):
    """Args:
        model: An ``AutoencoderKL``.
        lr: Adam learning rate.
        kl_weight: Weight of the KL term (per image, against the L1 summed over pixels).
    """

    def __init__(self, model, lr: float = 1e-3, kl_weight: float = 1e-3) -> None:
        super().__init__(model)
        self.lr, self.kl_weight = float(lr), float(kl_weight)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        params = list(self.model.parameters())
        return {"autoencoder": torch.optim.Adam(params, lr=self.lr, **fused_optimizer_options(params))}

    def step(self, images, labels, step, accelerator) -> dict[str, torch.Tensor]:
        out = self.model(images)
        loss = (out["recon"] + self.kl_weight * out["kl"]).mean()
        opt = self.optimizers["autoencoder"]
        opt.zero_grad(set_to_none=True)
        accelerator.backward(loss)
        opt.step()
        return {"loss": loss.detach(), "recon_l1": out["recon"].detach().mean() / images[0].numel(),
                "kl": out["kl"].detach().mean()}  # read by the loop when it logs: no wait per step

    @torch.no_grad()
    def evaluate(self, model, images, labels) -> dict[str, float]:
        """Mean absolute and squared reconstruction error per pixel (posterior mean) on the test split."""
        l1 = l2 = 0.0
        for x in images.split(1000):
            recon = model.reconstruct(x.to(model.device)).cpu()
            l1 += F.l1_loss(recon, x, reduction="sum").item()
            l2 += F.mse_loss(recon, x, reduction="sum").item()
        return {"test_l1": l1 / images.numel(), "test_mse": l2 / images.numel()}
