"""The CycleGAN objective (Zhu et al. 2017, §3 and §4) as a zoo training step.

    L(G, F, D_A, D_B) = L_GAN(G, D_B) + L_GAN(F, D_A) + λ L_cyc(G, F) + λ_id λ L_identity(G, F)

with the least-squares GAN loss (§4: "we replace the negative log likelihood objective by
a least-squares loss"), the L1 cycle loss (eq. 2), λ = 10, the identity loss
||G(b) - b||₁ + ||F(a) - a||₁ weighted 0.5 λ (§5.2, from Taigman et al. 2017), D updated
on fakes from a pool of 50 (§4) with its loss halved, Adam(2e-4, β1 = 0.5), and a
learning rate held for the first half of the run and decayed linearly to zero over the
second (the reference code's 100 + 100 epochs). The losses and the image pool are the
zoo's shared GAN pieces (``zoo.gan``); what is CycleGAN's own lives here.
"""

from __future__ import annotations

import itertools
from typing import Any

import torch
import torch.nn.functional as F

from zoo.gan import ImagePool, d_least_squares_loss, g_least_squares_loss
from zoo.training import TrainingStep, fused_optimizer_options


def set_requires_grad(modules: list[torch.nn.Module], flag: bool) -> None:
    for module in modules:
        for p in module.parameters():
            p.requires_grad_(flag)


class CycleGANTrainingStep(TrainingStep):
    """One update of G and F together, then of D_A and D_B together, per pair of unpaired batches.

    Args:
        model: A ``CycleGAN``.
        lr: Adam learning rate of all four networks (2e-4).
        beta1, beta2: Adam's β (0.5, 0.999).
        lambda_cycle: λ of the cycle loss, both directions (10).
        lambda_identity: Weight of the identity loss relative to λ (0.5; 0 turns it off).
        pool_size: Past fakes D sees (50; 0 turns the pool off).
        decay_start: Fraction of the run after which the learning rate decays linearly to 0 (0.5).
    """

    data_sources = ("a", "b")
    ema_prefix = ("G.", "F.")  # the translators; the discriminators need no average

    def __init__(self, model: Any, lr: float = 2e-4, beta1: float = 0.5, beta2: float = 0.999,
                 lambda_cycle: float = 10.0, lambda_identity: float = 0.5, pool_size: int = 50,
                 decay_start: float = 0.5) -> None:
        super().__init__(model)
        if not 0 <= float(decay_start) <= 1:
            raise ValueError(f"decay_start must be a fraction in [0, 1], got {decay_start}")
        self.lr, self.betas = float(lr), (float(beta1), float(beta2))
        self.lambda_cycle, self.lambda_identity = float(lambda_cycle), float(lambda_identity)
        self.decay_start = float(decay_start)
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)  # past F(b), past G(a)

    @classmethod
    def config_from_data(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Domains are named after their data (``fashion-mnist:sneaker`` → ``sneaker``)."""
        a, b = data["a"].name, data["b"].name
        if a == b:
            a, b = f"{a}-a", f"{b}-b"
        return {"domains": [a, b], "domain_data": [data["a"].source, data["b"].source],
                "image_size": int(data["a"].images.shape[-1]), "channels": int(data["a"].images.shape[1])}

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        m = self.model
        g = list(itertools.chain(m.G.parameters(), m.F.parameters()))
        d = list(itertools.chain(m.D_A.parameters(), m.D_B.parameters()))
        return {
            "G": torch.optim.Adam(g, lr=self.lr, betas=self.betas, **fused_optimizer_options(g)),
            "D": torch.optim.Adam(d, lr=self.lr, betas=self.betas, **fused_optimizer_options(d)),
        }

    def learning_rate(self, step: int) -> float:
        """Constant, then linear to 0 at the last step (a function of the step, so resuming continues it)."""
        start = int(self.decay_start * self.total_steps)
        if self.total_steps <= 0 or step < start:
            return self.lr
        return self.lr * max(0.0, 1 - (step - start) / max(self.total_steps - start, 1))

    def step(self, images, labels, step, accelerator) -> dict[str, float | torch.Tensor]:
        m = self.model
        real_a, real_b = images["a"] * 2 - 1, images["b"] * 2 - 1
        lr = self.learning_rate(step)
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["lr"] = lr
        discriminators = [m.D_A, m.D_B]

        # 1. G and F: fool the discriminators, close both cycles, leave the target domain alone
        set_requires_grad(discriminators, False)  # no discriminator gradients in this pass
        fake_b, fake_a = m.G(real_a), m.F(real_b)
        rec_a, rec_b = m.F(fake_b), m.G(fake_a)  # F(G(a)) ≈ a, G(F(b)) ≈ b: eq. 2
        adv = g_least_squares_loss(m.D_B(fake_b)) + g_least_squares_loss(m.D_A(fake_a))
        cyc = F.l1_loss(rec_a, real_a) + F.l1_loss(rec_b, real_b)
        loss_g = adv + self.lambda_cycle * cyc
        logs: dict[str, float | torch.Tensor] = {"g_adv": adv.detach(), "cycle": cyc.detach()}  # read when logged
        if self.lambda_identity > 0:
            idt = F.l1_loss(m.G(real_b), real_b) + F.l1_loss(m.F(real_a), real_a)
            loss_g = loss_g + self.lambda_identity * self.lambda_cycle * idt
            logs["identity"] = idt.detach()
        opt_g = self.optimizers["G"]
        opt_g.zero_grad(set_to_none=True)
        accelerator.backward(loss_g)
        opt_g.step()

        # 2. D_A and D_B: real against a mix of new and pooled fakes, loss halved
        set_requires_grad(discriminators, True)
        pooled_b, pooled_a = self.pool_b.query(fake_b), self.pool_a.query(fake_a)
        loss_d_b = d_least_squares_loss(m.D_B(real_b), m.D_B(pooled_b))
        loss_d_a = d_least_squares_loss(m.D_A(real_a), m.D_A(pooled_a))
        opt_d = self.optimizers["D"]
        opt_d.zero_grad(set_to_none=True)
        accelerator.backward(loss_d_a + loss_d_b)
        opt_d.step()
        logs.update(d_a=loss_d_a.detach(), d_b=loss_d_b.detach(), lr=lr)
        return logs

    @torch.no_grad()
    def evaluate(self, model, images, labels) -> dict[str, float]:
        """Cycle L1 (in [0, 1] pixels) of up to 1,000 test images per direction."""
        out = {}
        for domain, direction in (("a", "a2b"), ("b", "b2a")):
            x = images[domain][:1000]
            out[f"cycle_l1_{direction}"] = (model.cycle(x, direction) - x).abs().mean().item()
        return out
