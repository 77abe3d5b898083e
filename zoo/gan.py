"""What every GAN in the zoo shares: the base model class, the losses and
regularizers, and one training step with the alternating update.

A GAN plugin subclasses ``GAN`` (a generator ``G`` and a discriminator or critic
``D``) and picks its recipe with the options of ``GANTrainingStep``: the loss
(``logistic``: non-saturating, Goodfellow et al. 2014; ``wasserstein``: Arjovsky
et al. 2017; ``hinge``: Lim & Ye 2017; ``least-squares``: Mao et al. 2017), the
image pool of past fakes (Shrivastava et al. 2017), the gradient penalty of WGAN-GP
(Gulrajani et al. 2017), lazy R1 (Mescheder et al. 2018; Karras et al. 2020),
and the number of critic updates per generator update. The training loop keeps an
EMA of ``G`` only (``ema_prefix = "G."``), which is what sampling uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import BadInputError
from zoo.interfaces import LatentGenerator
from zoo.training import TrainingStep, fused_optimizer_options

# --------------------------------------------------------------------------- losses
# Each takes raw discriminator scores (B,) and returns a scalar to minimise.


def d_logistic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """-log D(x) - log(1 - D(G(z))), averaged (D outputs logits)."""
    return F.softplus(-real_scores).mean() + F.softplus(fake_scores).mean()


def g_logistic_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """Non-saturating -log D(G(z)): stronger gradients early in training than log(1 - D(G(z)))."""
    return F.softplus(-fake_scores).mean()


def d_wasserstein_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """The critic maximises E[D(x)] - E[D(G(z))]."""
    return fake_scores.mean() - real_scores.mean()


def g_wasserstein_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    return -fake_scores.mean()


def d_hinge_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def d_least_squares_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """LSGAN (Mao et al. 2017, eq. 2 with a = 0, b = 1): ½ E[(D(x) - 1)²] + ½ E[D(G(z))²].
    Scores of any shape (a PatchGAN's map too); halved as in the CycleGAN reference code."""
    return 0.5 * ((real_scores - 1).pow(2).mean() + fake_scores.pow(2).mean())


def g_least_squares_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """E[(D(G(z)) - 1)²] (Mao et al. 2017, eq. 2 with c = 1; not halved, as in the CycleGAN code)."""
    return (fake_scores - 1).pow(2).mean()


LOSSES: dict[str, tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]] = {
    "logistic": (d_logistic_loss, g_logistic_loss),
    "wasserstein": (d_wasserstein_loss, g_wasserstein_loss),
    "hinge": (d_hinge_loss, g_wasserstein_loss),  # G of the hinge GAN maximises D(G(z))
    "least-squares": (d_least_squares_loss, g_least_squares_loss),
}


class ImagePool:
    """A buffer of past generated images for the discriminator (Shrivastava et al. 2017, §2.3;
    CycleGAN §4 uses 50): each fake of a new batch is stored and, half of the time, a random
    stored one is returned in its place, so D does not just chase G's latest output.
    Random draws come from the global RNG (each process its own)."""

    def __init__(self, size: int = 50) -> None:
        self.size = int(size)
        self.images: list[torch.Tensor] = []

    @torch.no_grad()
    def query(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` fakes in, ``(B, C, H, W)`` out (detached)."""
        if self.size <= 0:
            return images.detach()
        out = []
        for image in images.detach():
            if len(self.images) < self.size:  # fill the pool first
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()) < 0.5:  # swap in: return an old fake, keep the new one
                i = int(torch.randint(len(self.images), ()))
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


# --------------------------------------------------------------------------- regularizers


def gradient_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                     fake: torch.Tensor) -> torch.Tensor:
    """WGAN-GP: E[(||∇D(x̂)||₂ - 1)²] at random points x̂ between real and fake images
    (Gulrajani et al. 2017, Algorithm 1)."""
    eps = torch.rand(len(real), *([1] * (real.dim() - 1)), device=real.device, dtype=real.dtype)
    mixed = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def r1_penalty(critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor) -> torch.Tensor:
    """R1: E[||∇D(x)||²] on real images (Mescheder, Geiger & Nowozin 2018)."""
    real = real.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(real).sum(), real, create_graph=True)
    return grad.flatten(1).pow(2).sum(1).mean()


# --------------------------------------------------------------------------- model


class GAN(LatentGenerator):
    """A generator ``G`` (latent ``(B, z_dim)`` [and labels] → images in ``[-1, 1]``)
    and a discriminator ``D`` (images [and labels] → scores ``(B,)``). Sampling uses ``G``
    only. For class-conditional models (``class_names`` set) both take the labels."""

    G: nn.Module
    D: nn.Module

    def generator_forward(self, z: torch.Tensor, labels: torch.Tensor | None, **options: Any) -> torch.Tensor:
        """``G`` on latents, in ``[-1, 1]``; subclasses with options (truncation) extend it."""
        return self.G(z, labels) if self.conditional else self.G(z)

    def critic(self, images: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.D(images, labels) if self.conditional else self.D(images)

    def training_fakes(self, n: int, labels: torch.Tensor | None, device: torch.device) -> torch.Tensor:
        """A batch of fakes for one training update (fresh latents from the global RNG)."""
        return self.generator_forward(torch.randn(n, self.z_dim, device=device), labels)

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None, **options: Any) -> torch.Tensor:
        if self.conditional and labels is None:
            raise BadInputError(f"{type(self).__name__} is class-conditional: give labels")
        return (self.generator_forward(z, labels, **options) + 1) / 2

    def generate(self, n: int, generator: torch.Generator, labels: torch.Tensor | None = None,
                 **options: Any) -> torch.Tensor:
        self.check_options(options)
        z = self.randn(n, self.z_dim, generator=generator)
        if self.conditional and labels is None:
            labels = self.random_labels(n, generator)
        return self.synthesize(z, labels, **options)

    def check_options(self, options: dict[str, Any]) -> None:
        """Refuse sampling options this model does not take (StyleGAN takes ``truncation``)."""
        if options:
            raise BadInputError(f"{type(self).__name__}.sample got unknown options {sorted(options)}")


# --------------------------------------------------------------------------- training


class GANTrainingStep(TrainingStep):
    """One discriminator update per batch, and one generator update every
    ``n_critic`` batches (so ``n_critic`` real batches per generator step, as in
    WGAN-GP's Algorithm 1).

    Args:
        model: A ``GAN``.
        loss: ``logistic``, ``wasserstein`` or ``hinge``.
        lr, lr_d: Adam learning rates of G and of D (``lr_d`` defaults to ``lr``).
        beta1, beta2: Adam betas of both.
        n_critic: Discriminator updates per generator update.
        gp_weight: λ of the WGAN-GP gradient penalty (0: off).
        r1_gamma: γ of R1 on real images (0: off), applied lazily every ``r1_every``
            batches with the weight scaled by ``r1_every`` (Karras et al. 2020, §3.1).
    """

    ema_prefix = "G."
    channels_last = True  # faster convolutions on the CPU (zoo.training.to_channels_last)

    def __init__(self, model: GAN, loss: str = "logistic", lr: float = 2e-4, lr_d: float | None = None,
                 beta1: float = 0.5, beta2: float = 0.999, n_critic: int = 1, gp_weight: float = 0.0,
                 r1_gamma: float = 0.0, r1_every: int = 16) -> None:
        super().__init__(model)
        if loss not in LOSSES:
            raise BadInputError(f"unknown GAN loss '{loss}'; choose from {', '.join(LOSSES)}")
        if int(n_critic) < 1 or int(r1_every) < 1:
            raise BadInputError("n_critic and r1_every must be positive integers")
        self.loss = loss
        self.d_loss_fn, self.g_loss_fn = LOSSES[loss]
        self.lr, self.lr_d = float(lr), float(lr if lr_d is None else lr_d)
        self.betas = (float(beta1), float(beta2))
        self.n_critic, self.gp_weight = int(n_critic), float(gp_weight)
        self.r1_gamma, self.r1_every = float(r1_gamma), int(r1_every)

    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        net: Any = self.unwrap()
        g, d = list(net.G.parameters()), list(net.D.parameters())
        return {
            "G": torch.optim.Adam(g, lr=self.lr, betas=self.betas, **fused_optimizer_options(g)),
            "D": torch.optim.Adam(d, lr=self.lr_d, betas=self.betas, **fused_optimizer_options(d)),
        }

    def step(self, images, labels, step, accelerator) -> dict[str, float | torch.Tensor]:
        net: Any = self.unwrap()  # a GAN
        real = images * 2 - 1
        labels = labels if net.conditional else None
        if labels is not None and int(labels.max()) >= len(net.class_names):
            raise BadInputError(f"the data has class {int(labels.max())}, but the model has "
                                f"{len(net.class_names)} classes; set class_names to the data's")
        opt_g, opt_d = self.optimizers["G"], self.optimizers["D"]
        update_g = (step + 1) % self.n_critic == 0

        # 1. discriminator (critic) update on a real and a fake batch. On steps that also
        # update G, the fakes keep their graph so the G update below reuses them.
        if update_g:
            fake = net.training_fakes(len(real), labels, real.device)
        else:
            with torch.no_grad():
                fake = net.training_fakes(len(real), labels, real.device)
        logs: dict[str, float | torch.Tensor] = {}  # detached tensors: the loop reads them when it logs
        d_loss = self.d_loss_fn(net.critic(real, labels), net.critic(fake.detach(), labels))
        logs["d_loss"] = d_loss.detach()
        if self.gp_weight:
            gp = gradient_penalty(lambda x: net.critic(x, labels), real, fake)
            d_loss = d_loss + self.gp_weight * gp
            logs["gp"] = gp.detach()
        opt_d.zero_grad(set_to_none=True)
        accelerator.backward(d_loss)
        if self.r1_gamma and step % self.r1_every == 0:
            r1 = r1_penalty(lambda x: net.critic(x, labels), real)
            accelerator.backward(0.5 * self.r1_gamma * self.r1_every * r1)
            logs["r1"] = r1.detach()
        opt_d.step()

        # 2. generator update through the updated discriminator. D's own gradients are not needed
        # here (its next update starts from zero), so D's weights are frozen for this pass: the
        # backward goes through D to the fakes without computing D's weight gradients.
        if update_g:
            d_params = [p for p in net.D.parameters() if p.requires_grad]
            for p in d_params:
                p.requires_grad_(False)
            try:
                g_loss = self.g_loss_fn(net.critic(fake, labels))
                opt_g.zero_grad(set_to_none=True)
                accelerator.backward(g_loss)
            finally:
                for p in d_params:
                    p.requires_grad_(True)
            opt_g.step()
            logs["g_loss"] = g_loss.detach()
        return logs
