"""How long ``ddpm-cifar`` takes to draw N images (issue 15: 50,000 at DDIM 100 in bf16, goal <= 5 minutes
on one H100), with the settings that can make it fast.

    python bench/ddpm_cifar_throughput.py --device cuda --dtype bf16 --batch-size 1000 [--channels-last] [--compile]
    python bench/ddpm_cifar_throughput.py --device cpu --n 16 --batch-size 8 --steps 2      # a smoke test

The network is google/ddpm-cifar10-32's exact architecture (35.7 M parameters): the real weights when
the Hub cache holds them (``zoo pull ddpm-cifar``), otherwise random ones (``--random-weights`` forces
that; the time per image does not depend on the values). Sampling runs through the public API,
``model.iter_samples(n, seed=, sampler="ddim", steps=, batch_size=)``, batch by batch as ``zoo sample
--out-dir`` does, so the timing includes the sampler and the copy of each batch to the CPU. One untimed
warm-up batch (2 steps) comes first: with ``--compile`` it holds the compilation, reported apart. Prints
seconds, images/s, the time 50,000 images would take at that rate, and (CUDA) peak memory; writes
``bench/results/ddpm_cifar_throughput.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOAL_IMAGES = 50_000


def build(random_weights: bool, device: str, dtype: str):
    """The repo's model from the Hub cache, or (absent, or ``random_weights``) its architecture with random weights."""
    import torch

    import zoo
    from zoo.api import resolve_device, resolve_dtype
    from zoo.errors import ZooError

    if not random_weights:
        try:
            return zoo.load("ddpm-cifar", device=device, dtype=dtype), "google/ddpm-cifar10-32 (Hub cache)"
        except ZooError as err:
            print(f"[cifar-throughput] {err}; using random weights in the same architecture", file=sys.stderr)
    torch.manual_seed(0)
    model = zoo.create("ddpm-cifar").to(resolve_device(device), resolve_dtype(dtype)).eval()
    return model, "random weights, the repo's architecture"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=GOAL_IMAGES, help=f"images to draw (default {GOAL_IMAGES:,})")
    parser.add_argument("--steps", type=int, default=100, help="DDIM steps (default 100)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--device", default=None, help="cuda, cpu, ... (default: cuda when there is one)")
    parser.add_argument("--dtype", default="bf16", help="float32, bf16, fp16 (default bf16)")
    parser.add_argument("--channels-last", action="store_true", help="the network's weights in NHWC")
    parser.add_argument("--compile", action="store_true", help="model.compile() before sampling")
    parser.add_argument("--compile-mode", default=None, help="torch.compile's mode (max-autotune, reduce-overhead)")
    parser.add_argument("--random-weights", action="store_true", help="do not look for the repo's weights")
    parser.add_argument("--threads", type=int, default=None, help="torch threads on the CPU (default: torch's)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "ddpm_cifar_throughput.json")
    args = parser.parse_args()
    if min(args.n, args.steps, args.batch_size) < 1:
        parser.error("--n, --steps and --batch-size must be positive")

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    model, weights = build(args.random_weights, device, args.dtype)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
    if args.compile:
        model.compile(**({"mode": args.compile_mode} if args.compile_mode else {}))
    if args.n % args.batch_size:
        print(f"[cifar-throughput] note: the last batch holds {args.n % args.batch_size} images"
              + (" and compiles once more" if args.compile else ""), file=sys.stderr)
    cuda = torch.device(device).type == "cuda"

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize()

    options = {"seed": 0, "sampler": "ddim", "batch_size": args.batch_size}
    t0 = time.perf_counter()
    for _ in model.iter_samples(min(args.batch_size, args.n), steps=2, **options):  # warm-up (and compilation)
        pass
    sync()
    warmup_s = time.perf_counter() - t0
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    print(f"[cifar-throughput] {args.n:,} images, DDIM {args.steps}, batch {args.batch_size}, {device}, {args.dtype}"
          f"{', channels-last' if args.channels_last else ''}{', compiled' if args.compile else ''} ...",
          file=sys.stderr, flush=True)
    done, t0 = 0, time.perf_counter()
    for batch in model.iter_samples(args.n, steps=args.steps, **options):
        done += len(batch)
    sync()
    seconds = time.perf_counter() - t0
    rate = done / seconds
    result = {
        "benchmark": "bench/ddpm_cifar_throughput.py", "command": " ".join(sys.argv[1:]), "weights": weights,
        "params": sum(p.numel() for p in model.parameters()), "n": done, "ddim_steps": args.steps,
        "batch_size": args.batch_size, "device": device, "dtype": args.dtype, "channels_last": args.channels_last,
        "compiled": args.compile, "compile_mode": args.compile_mode, "warmup_seconds": warmup_s, "seconds": seconds,
        "img_per_s": rate, "projected_seconds_for_50000": GOAL_IMAGES / rate,
        "peak_cuda_memory_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,
        "device_name": torch.cuda.get_device_name() if cuda else platform.processor() or platform.machine(),
        "torch": torch.__version__, "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
    }
    print(f"{done:,} images in {seconds:.1f} s: {rate:.1f} img/s; 50,000 would take {GOAL_IMAGES / rate:.0f} s "
          f"({GOAL_IMAGES / rate / 60:.1f} min; goal <= 5 min on an H100); warm-up {warmup_s:.1f} s"
          + (f"; peak CUDA memory {result['peak_cuda_memory_gib']:.1f} GiB" if cuda else "")
          + f"; {result['device_name']}, torch {torch.__version__}; weights: {weights}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
