"""Variational autoencoder (Kingma & Welling 2014, "Auto-Encoding Variational Bayes").

Convolutional encoder q(z|x) and decoder p(x|z) for 1×28×28 images. The decoder
gives a discretized logistic distribution per pixel (Salimans et al. 2017,
PixelCNN++ §2.1, one mixture component), so the ELBO is a bound on the
log-likelihood of the 8-bit images and converts to honest bits/dim.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from zoo.interfaces import Encoder, LatentGenerator, Likelihood


def discretized_logistic_log_prob(x: torch.Tensor, mean: torch.Tensor, log_scale: torch.Tensor) -> torch.Tensor:
    """log P(x) per pixel for 8-bit data scaled to [-1, 1] (bins of width 2/255).

    The edge bins take the tails of the logistic (PixelCNN++ eq. 2). Shapes all (B, C, H, W).
    """
    centered = x - mean
    inv_s = torch.exp(-log_scale)
    plus_in = inv_s * (centered + 1.0 / 255)
    min_in = inv_s * (centered - 1.0 / 255)
    log_cdf_plus = plus_in - F.softplus(plus_in)  # log sigmoid(plus_in): the x = -1 bin
    log_one_minus_cdf_min = -F.softplus(min_in)  # log (1 - sigmoid(min_in)): the x = 1 bin
    cdf_delta = torch.sigmoid(plus_in) - torch.sigmoid(min_in)
    mid_in = inv_s * centered
    # when the bin mass underflows, fall back to the density at the centre times the bin width
    log_pdf_mid = mid_in - log_scale - 2.0 * F.softplus(mid_in) - math.log(127.5)
    log_mid = torch.where(cdf_delta > 1e-5, torch.log(cdf_delta.clamp_min(1e-12)), log_pdf_mid)
    return torch.where(x < -0.999, log_cdf_plus, torch.where(x > 0.999, log_one_minus_cdf_min, log_mid))


class VAE(LatentGenerator, Encoder, Likelihood):
    exact_likelihood = False  # log_prob is the ELBO, a lower bound

    def __init__(self, z_dim: int = 16, base_channels: int = 32, hidden_dim: int = 256,
                 image_size: int = 28, in_channels: int = 1) -> None:
        super().__init__()
        if image_size % 4:
            raise ValueError("image_size must be divisible by 4")
        self.z_dim = z_dim
        self.image_shape = (in_channels, image_size, image_size)
        c, s = base_channels, image_size // 4
        self.encoder = nn.Sequential(
            nn.Conv2d(in_channels, c, 4, 2, 1), nn.SiLU(),  # (B, c, H/2, W/2)
            nn.Conv2d(c, 2 * c, 4, 2, 1), nn.SiLU(),  # (B, 2c, H/4, W/4)
            nn.Flatten(), nn.Linear(2 * c * s * s, hidden_dim), nn.SiLU(),
            nn.Linear(hidden_dim, 2 * z_dim),  # mean and log-variance of q(z|x)
        )
        self.decoder = nn.Sequential(
            nn.Linear(z_dim, hidden_dim), nn.SiLU(),
            nn.Linear(hidden_dim, 2 * c * s * s), nn.SiLU(),
            nn.Unflatten(1, (2 * c, s, s)),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.SiLU(),  # (B, c, H/2, W/2)
            nn.ConvTranspose2d(c, 2 * in_channels, 4, 2, 1),  # mean and log-scale per pixel
        )

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z|x) for images in [0, 1]: mean and log-variance, each (B, z_dim)."""
        mu, logvar = self.encoder(images * 2 - 1).chunk(2, dim=1)
        return mu, logvar.clamp(-30, 20)

    def likelihood_params(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """p(x|z): mean in [-1, 1] and log-scale, each (B, C, H, W)."""
        mean, log_scale = self.decoder(z).chunk(2, dim=1)
        return torch.tanh(mean), log_scale.clamp(-7.0, 2.0)

    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        mean, _ = self.likelihood_params(z)
        return (mean + 1) / 2

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.posterior(images.to(self.device, self.dtype))[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.synthesize(z)

    def neg_elbo(self, images: torch.Tensor, generator: torch.Generator | None = None) -> dict[str, torch.Tensor]:
        """Negative ELBO in nats per image, with its two terms (each (B,)).

        -ELBO = E_q[-log p(x|z)] + KL(q(z|x) || N(0, I))  (Kingma & Welling eq. 3, one sample).
        """
        mu, logvar = self.posterior(images)
        eps = torch.randn(mu.shape, generator=generator).to(mu) if generator is not None else torch.randn_like(mu)
        z = mu + torch.exp(0.5 * logvar) * eps  # reparameterization trick (§2.4)
        mean, log_scale = self.likelihood_params(z)
        x = images * 2 - 1
        recon = -discretized_logistic_log_prob(x, mean, log_scale).flatten(1).sum(1)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)  # closed form, Appendix B
        return {"nll_bound": recon + kl, "recon": recon, "kl": kl}

    def log_prob(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """The ELBO (one posterior sample), a lower bound on log p(x); (B,) nats."""
        return -self.neg_elbo(images.to(self.device, self.dtype), generator)["nll_bound"]

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.neg_elbo(images)
