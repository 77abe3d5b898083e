"""Training step of DDPM: regress the network on ε or v at uniformly drawn timesteps
(Ho et al. 2020, Algorithm 1), with min-SNR-γ loss weights (Hang et al. 2023,
"Efficient Diffusion Training via Min-SNR Weighting Strategy", arXiv:2303.09556), AdamW.
"""

from __future__ import annotations

import torch

from zoo.diffusion import DenoisingTrainingStep, NoiseSchedule, denoising_loss, min_snr_weights  # noqa: F401


def diffusion_loss(model: torch.nn.Module, schedule: NoiseSchedule, images: torch.Tensor, gamma: float,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """The weighted regression loss on a batch of images in [0, 1] (the network works in [-1, 1])."""
    return denoising_loss(model, schedule, images * 2 - 1, gamma, generator)


class DDPMTrainingStep(DenoisingTrainingStep):
    """One AdamW update of the UNet on the min-SNR-weighted loss of images mapped to [-1, 1], with a
    linear learning-rate warm-up and gradient-norm clipping (``zoo.diffusion.DenoisingTrainingStep``).
    The loop keeps the EMA used for sampling."""

    optimizer_name = "unet"

    def to_network_space(self, batch: torch.Tensor) -> torch.Tensor:
        return batch * 2 - 1

    @torch.no_grad()
    def evaluate(self, model, images, labels) -> dict[str, float]:
        """The weighted loss on (up to 2,000) test images, fixed timesteps and noise."""
        gen = torch.Generator().manual_seed(0)
        total, count = 0.0, 0
        for batch in images[:2000].split(250):
            loss = diffusion_loss(model, model.schedule, batch.to(model.device), self.min_snr_gamma, gen)
            total += loss.item() * len(batch)
            count += len(batch)
        return {"test_loss": total / max(count, 1)}
