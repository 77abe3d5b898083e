"""Training step of the DCGAN: the non-saturating GAN loss (Goodfellow et al. 2014, §3)
with Adam(2e-4, β1 = 0.5) for both networks (Radford et al. 2016, §4)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from zoo.training import TrainingStep


def d_logistic_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))), averaged."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()


def g_nonsaturating_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """-log D(G(z)): stronger gradients early in training than log(1 - D(G(z)))."""
    return F.softplus(-fake_logits).mean()


class DCGANTrainingStep(TrainingStep):
    ema_prefix = "G."  # keep an exponential moving average of the generator only

    def __init__(self, model, lr: float = 2e-4, beta1: float = 0.5, beta2: float = 0.999) -> None:
        super().__init__(model)
        self.lr, self.betas = lr, (beta1, beta2)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        net = self.unwrap()
        return {
            "G": torch.optim.Adam(net.G.parameters(), lr=self.lr, betas=self.betas),
            "D": torch.optim.Adam(net.D.parameters(), lr=self.lr, betas=self.betas),
        }

    def step(self, images, labels, step, accelerator) -> dict[str, float]:
        net = self.unwrap()
        real = images * 2 - 1
        z = torch.randn(len(real), net.z_dim, device=real.device)
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]

        # 1. discriminator step on a real and a fake batch
        fake = net.G(z)
        d_loss = d_logistic_loss(net.D(real), net.D(fake.detach()))
        opt_d.zero_grad(set_to_none=True)
        accelerator.backward(d_loss)
        opt_d.step()

        # 2. generator step through the updated discriminator
        g_loss = g_nonsaturating_loss(net.D(fake))
        opt_g.zero_grad(set_to_none=True)
        accelerator.backward(g_loss)
        opt_g.step()
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}
