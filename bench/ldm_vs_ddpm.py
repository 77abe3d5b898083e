"""Latent diffusion against pixel-space DDPM, side by side, on the same machine in one run.

    python bench/ldm_vs_ddpm.py --ldm RUN/model [--ddpm ddpm-fashion] [--sampler ddim] [--steps 50]
                                [--batch-size 64] [--repeats 3] [--train-steps 20] [--fd-samples 0]

Three ratios (the targets of latent diffusion's issue in parentheses):

* sampling: seconds per image of ``model.sample`` at the same sampler and steps, both models
  timed alternately, medians; ratio LDM / DDPM (≤ 0.25);
* training: images/s of each model's own training step (``zoo train``'s step, real data batches
  of the same size, alternated); the LDM step reads the cached latents, as ``zoo train ldm`` does;
  ratio LDM / DDPM (≥ 4);
* quality: ``--fd-samples N`` also runs ``zoo eval --metrics fd`` on both at N samples with the same
  sampler and steps (10,000 for the card; it takes long on a CPU); ratio LDM / DDPM (≤ 1).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any

import torch

import zoo


class _Accelerator:
    """The two methods of an Accelerate accelerator that the diffusion training steps call."""

    num_processes = 1

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def clip_grad_norm_(self, params: Any, max_norm: float) -> Any:
        return torch.nn.utils.clip_grad_norm_(params, max_norm)


def training_steps(model_id: str, images: torch.Tensor) -> tuple[Any, Any]:
    """A fresh trainable copy of a model and its registered training step, ready to step on ``images``."""
    import copy

    from zoo.registry import import_object

    model = copy.deepcopy(zoo.load(model_id)).train()
    for p in model.parameters():
        p.requires_grad_(True)
    spec = zoo.model_spec(model_id)
    step = import_object(spec.trainer if spec.trainer else zoo.model_spec(spec.architecture).trainer)(model)
    step.optimizers = step.configure_optimizers()
    step.total_steps = 10**6
    if hasattr(step, "encode"):  # latent diffusion trains on cached, scaled latents
        images = step.encode(images) * model.scale_factor
    return step, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ldm", required=True, help="a latent diffusion id or model folder (runs/ldm/model)")
    parser.add_argument("--ddpm", default="ddpm-fashion")
    parser.add_argument("--sampler", default="ddim")
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-steps", type=int, default=20)
    parser.add_argument("--fd-samples", type=int, default=0)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    from zoo.data import load_fashion_mnist

    where = f"CPU ({platform.machine()}, {torch.get_num_threads()} torch threads), torch {torch.__version__}"
    print(f"{args.ldm} vs {args.ddpm} on {where}; {args.sampler} {args.steps} steps, batch {args.batch_size}")
    ids = (args.ldm, args.ddpm)
    models = {i: zoo.load(i) for i in ids}
    out: dict[str, Any] = {"device": where, "sampler": args.sampler, "steps": args.steps, "batch": args.batch_size}

    # 1. sampling: seconds per image, alternated
    times: dict[str, list[float]] = {i: [] for i in ids}
    for r in range(args.repeats):
        for i in (ids if r % 2 == 0 else ids[::-1]):
            t0 = time.perf_counter()
            models[i].sample(args.batch_size, seed=r, sampler=args.sampler, steps=args.steps,
                             batch_size=args.batch_size)
            times[i].append((time.perf_counter() - t0) / args.batch_size)
    per_image = {i: statistics.median(t) for i, t in times.items()}
    out["sampling_s_per_image"] = per_image
    out["sampling_ratio"] = per_image[args.ldm] / per_image[args.ddpm]
    print(f"sampling   s/image  {args.ldm} {per_image[args.ldm]:.4f}  {args.ddpm} {per_image[args.ddpm]:.4f}  "
          f"ratio {out['sampling_ratio']:.3f} (target <= 0.25)")

    # 2. training: images/s of each step on the same real batches, alternated
    images, _ = load_fashion_mnist("train")
    batches = images[torch.randperm(len(images), generator=torch.Generator().manual_seed(0))]
    steps = {i: training_steps(i, batches[: args.batch_size * args.train_steps]) for i in ids}
    acc = _Accelerator()
    seconds = {i: 0.0 for i in ids}
    for k in range(args.train_steps):
        for i in (ids if k % 2 == 0 else ids[::-1]):
            step, data = steps[i]
            batch = data[k * args.batch_size : (k + 1) * args.batch_size]
            t0 = time.perf_counter()
            step.step(batch, None, k, acc)
            seconds[i] += time.perf_counter() - t0
    rate = {i: args.batch_size * args.train_steps / seconds[i] for i in ids}
    out["training_images_per_s"] = rate
    out["training_ratio"] = rate[args.ldm] / rate[args.ddpm]
    print(f"training   img/s    {args.ldm} {rate[args.ldm]:.1f}  {args.ddpm} {rate[args.ddpm]:.1f}  "
          f"ratio {out['training_ratio']:.2f} (target >= 4)")

    # 3. quality: FD at the same sampler and steps
    if args.fd_samples:
        from zoo.metrics.evaluate import evaluate

        fd = {i: evaluate(i, ["fd"], num_samples=args.fd_samples, seed=0,
                          sample_options={"sampler": args.sampler, "steps": args.steps}).scores["fd"] for i in ids}
        out["fd"] = fd
        out["fd_ratio"] = fd[args.ldm] / fd[args.ddpm]
        print(f"quality    FD ({args.fd_samples} samples)  {args.ldm} {fd[args.ldm]:.3f}  "
              f"{args.ddpm} {fd[args.ddpm]:.3f}  ratio {out['fd_ratio']:.3f} (target <= 1)")
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
