"""Training step of latent diffusion: the denoiser regresses on ε or v of the autoencoder's scaled
latents (Ho et al. 2020 Algorithm 1 in latent space, with the min-SNR weights of ``zoo.diffusion``),
the autoencoder frozen. The training images are encoded once, cached in the run folder, and the
latent scale factor s = 1 / std is measured on them (Rombach et al. 2022, §4.3.2)."""

from __future__ import annotations

import dataclasses
import hashlib
from pathlib import Path
from typing import Any

import torch

from zoo.diffusion import DenoisingTrainingStep, denoising_loss


def fingerprint(tensors: list[torch.Tensor]) -> str:
    """A digest of tensors' values (weights, or images): changes whenever any value does."""
    h = hashlib.sha256()
    for t in tensors:
        h.update(str(tuple(t.shape)).encode())
        h.update(t.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class LatentDiffusionTrainingStep(DenoisingTrainingStep):
    """One AdamW update of the denoiser on the weighted loss, with a linear warm-up and gradient-norm
    clipping; the loop keeps an EMA of the denoiser (what is released).

    Args:
        model: A ``LatentDiffusion``.
        lr, weight_decay: AdamW's.
        min_snr_gamma: γ of the min-SNR weights (5; 0 turns them off).
        warmup_steps: Linear learning-rate warm-up.
        max_grad_norm: Gradient-norm clipping (0: off).
    """

    ema_prefix = "denoiser."

    def network(self) -> torch.nn.Module:
        return self.model.denoiser

    @torch.no_grad()
    def encode(self, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
        ae = self.model.autoencoder
        return torch.cat([ae.encode(b.to(ae.device)).cpu() for b in images.split(batch_size)])

    def prepare_data(self, data: dict[str, Any], run_folder: Path) -> dict[str, Any]:
        """Encode the training images once (the posterior means), cached as ``latents-KEY.safetensors`` in the
        run folder, KEY a digest of the autoencoder's weights and of the images: another autoencoder or other
        data is encoded anew. Sets the model's scale factor to 1 / std of the latents; the step then sees the
        scaled latents."""
        from safetensors.torch import load_file, save

        from zoo.weights import atomic_write_bytes

        (name, source), = data.items()
        ae = self.model.autoencoder
        key = f"{fingerprint(list(ae.state_dict().values()))}-{fingerprint([source.images])}"
        path = Path(run_folder) / f"latents-{key}.safetensors"
        latents = None
        if path.is_file():
            try:
                latents = load_file(str(path))["latents"]
            except Exception:  # a damaged cache is recomputed, never trusted
                latents = None
        if latents is None or len(latents) != len(source.images):
            latents = self.encode(source.images)
            atomic_write_bytes(path, save({"latents": latents.contiguous()}))
        self.latent_cache = path
        scale = 1.0 / latents.float().std().item()
        self.model.scale_factor.fill_(scale)
        return {name: dataclasses.replace(source, images=latents * scale)}

    @torch.no_grad()
    def evaluate(self, model, images, labels) -> dict[str, float]:
        """The weighted loss on the scaled latents of (up to 2,000) test images, fixed timesteps and noise."""
        gen = torch.Generator().manual_seed(0)
        total, count = 0.0, 0
        for batch in images[:2000].split(250):
            z = model.latents(batch.to(model.device))
            total += denoising_loss(model.denoiser, model.schedule, z, self.min_snr_gamma, gen).item() * len(batch)
            count += len(batch)
        return {"test_loss": total / max(count, 1), "scale_factor": float(model.scale_factor)}
