"""Latent diffusion (Rombach, Blattmann, Lorenz, Esser & Ommer 2022, "High-Resolution Image
Synthesis with Latent Diffusion Models", arXiv:2112.10752): a diffusion model that denoises the
latents of a frozen autoencoder instead of pixels.

A composite of two components from two other plugins, found by the role they play
(``zoo.components``): ``autoencoder`` (any encoder with a spatial latent, here the
``autoencoder-kl`` plugin's) and ``denoiser`` (any diffusion model over that latent shape, here
a ``ddpm`` from the DDPM plugin). This plugin imports neither: it gets built models. Sampling is
any registered diffusion sampler (``zoo.interfaces.SampledGenerator``) run in latent space, then
decoded: x = D(z / s), with s = 1 / std of the training latents (§4.3.2, "rescale the latent by a
component-wise factor ... 1/σ"), measured once on the data and saved with the model.
"""

from __future__ import annotations

from typing import Any

import torch

from zoo.interfaces import Model, SampledGenerator


class LatentDiffusion(SampledGenerator):
    """Args:
        autoencoder: The first stage (an ``Encoder`` with ``latent_shape`` (C, h, w)); frozen.
        denoiser: A diffusion model whose samples have the latent's shape (its network and noise
            schedule are used; its own sampling defaults are not).
        scale_factor: s, multiplying latents before diffusion (set from the data by the training step).
        sampler, steps, eta: Sampling defaults, as for DDPM (DDIM with 50 steps).
    """

    family = "diffusion"

    def __init__(self, autoencoder: Model, denoiser: Model, scale_factor: float = 1.0, sampler: str = "ddim",
                 steps: int | None = 50, eta: float | None = None) -> None:
        super().__init__()
        latent = tuple(getattr(autoencoder, "latent_shape", ()))
        if len(latent) != 3:
            raise ValueError(f"the autoencoder's latent must be spatial (C, h, w), got {latent}")
        if tuple(denoiser.image_shape) != latent:
            raise ValueError(f"the denoiser works on {tuple(denoiser.image_shape)}, the autoencoder's latents are "
                             f"{latent}: build the denoiser with in_channels={latent[0]}, image_size={latent[1]}")
        if not hasattr(denoiser, "schedule"):
            raise ValueError("the denoiser must be a diffusion model (a network with a noise schedule)")
        self.autoencoder = autoencoder.eval().requires_grad_(False)  # frozen: latent diffusion trains the denoiser
        self.denoiser = denoiser
        self.image_shape = tuple(autoencoder.image_shape)  # type: ignore[assignment]
        self.register_buffer("scale_factor", torch.tensor(float(scale_factor)))
        self.configure_sampling(sampler=sampler, steps=steps, eta=eta)

    def train(self, mode: bool = True) -> LatentDiffusion:
        super().train(mode)
        self.autoencoder.eval()  # frozen, whatever the loop does
        return self

    @property
    def schedule(self) -> Any:
        """The denoiser's noise schedule: what a diffusion sampler reads."""
        return self.denoiser.schedule

    @property
    def sample_shape(self) -> tuple[int, ...]:
        return tuple(self.autoencoder.latent_shape)

    def forward(self, z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """The denoiser's prediction for noisy scaled latents ``z_t`` at timesteps ``t`` ``(B,)``."""
        return self.denoiser(z_t, t)

    def check_steps(self, steps: Any) -> int:
        return self.denoiser.schedule.check_steps(steps)

    @torch.no_grad()
    def latents(self, images: torch.Tensor) -> torch.Tensor:
        """Scaled latents s · E(x) ``(B, C, h, w)`` of images in [0, 1]: what the denoiser learns."""
        return self.autoencoder.encode(images) * self.scale_factor

    def to_images(self, output: torch.Tensor) -> torch.Tensor:
        """Scaled latents from the sampler to images in [0, 1]: D(z / s)."""
        return self.autoencoder.decode(output / self.scale_factor)
