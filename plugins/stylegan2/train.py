"""The StyleGAN2 training recipe (Karras et al. 2020, arXiv:1912.04958, §3.1 and Appendix B)
on the zoo's shared GAN step: the non-saturating logistic loss, lazy R1 on real images every
16 minibatches, Adam with lr 0.002 and β = (0, 0.99), and an EMA of G kept by the loop.
Style-mixing regularization lives in ``StyleGAN2.training_fakes``.

Not included: path-length regularization (§3.2; it smooths the W → image map for
projection and PPL, not needed for sample quality at 32×32: the official CIFAR-10 config of
StyleGAN2-ADA turns it off too), and the small rescaling of D's Adam hyper-parameters for
lazy regularization (Appendix B).
"""

from __future__ import annotations

from zoo.gan import GAN, GANTrainingStep

# R1 γ for 32×32: the paper used γ = 10 for FFHQ at 1024²; scaling γ with the image area, as the
# StyleGAN2-ADA code's heuristic γ = 0.0002 · N² / batch does (Karras et al. 2020b, "Training Generative
# Adversarial Networks with Limited Data", NeurIPS), gives 0.0064 at N = 32 and batch 32, and that code's
# CIFAR-10 config uses 0.01. We take 0.1: a margin of stability for small batches at lr 0.002 on one CPU
# core. A 1,500-step trial here (batch 32) trained stably to recognizable garments.
R1_GAMMA = 0.1


class StyleGAN2TrainingStep(GANTrainingStep):
    """``GANTrainingStep`` with the paper's defaults (every option can still be overridden with
    ``zoo train stylegan2 --step-config KEY=VALUE``).

    Args:
        model: A ``StyleGAN2``.
        lr: Adam learning rate of G and D (0.002, Appendix B).
        beta1, beta2: Adam's β (0 and 0.99).
        r1_gamma: γ of R1 (see ``R1_GAMMA``); ``r1_every``: lazy regularization interval (16, §3.1).
        **options: The other options of ``GANTrainingStep`` (``loss``, ``lr_d``, ``n_critic``...).
    """

    def __init__(self, model: GAN, lr: float = 0.002, beta1: float = 0.0, beta2: float = 0.99,
                 r1_gamma: float = R1_GAMMA, r1_every: int = 16, **options: object) -> None:
        super().__init__(model, lr=lr, beta1=beta1, beta2=beta2, r1_gamma=r1_gamma, r1_every=r1_every,
                         **options)  # type: ignore[arg-type]
