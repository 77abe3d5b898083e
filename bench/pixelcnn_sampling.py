"""PixelCNN sampling: the fast sampler against the naive reference, on the same network.

    python bench/pixelcnn_sampling.py [--model pixelcnn-fashion] [--batches 1 64] [--repeats 3] [--device cpu]

For each batch size, the two samplers run interleaved (naive, fast, fast, naive, ...) on the
same model, seed and temperature; the script prints the median seconds of each, the images/s,
the ratio naive/fast, and whether every pixel agrees. The naive sampler runs the whole network
once per pixel (H·W passes); the fast one the vertical stack once per row and one row of the
horizontal stack per pixel (see plugins/pixelcnn/samplers.py). ``--json FILE`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import torch

import zoo


def timed(model, n: int, sampler: str, seed: int) -> tuple[float, torch.Tensor]:
    t0 = time.perf_counter()
    images = model.sample(n, seed=seed, sampler=sampler, batch_size=n)
    return time.perf_counter() - t0, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="pixelcnn-fashion", help="a PixelCNN id or model folder")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each sampler per batch size")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = zoo.load(args.model, device=args.device)
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else \
        f"CPU ({platform.machine()}, {args.threads} torch threads)"
    print(f"{args.model} on {where}, torch {torch.__version__}")
    print(f"{'batch':>5} {'naive s':>9} {'fast s':>8} {'naive img/s':>12} {'fast img/s':>11} {'ratio':>6} same pixels")
    rows = []
    for n in args.batches:
        naive, fast = [], []
        same = True
        for r in range(args.repeats):
            order = ("pixelcnn-naive", "pixelcnn-fast") if r % 2 == 0 else ("pixelcnn-fast", "pixelcnn-naive")
            out = {}
            for sampler in order:
                seconds, out[sampler] = timed(model, n, sampler, seed=r)
                (naive if sampler == "pixelcnn-naive" else fast).append(seconds)
            same = same and torch.equal(out["pixelcnn-naive"], out["pixelcnn-fast"])
        row = {"batch": n, "naive_s": statistics.median(naive), "fast_s": statistics.median(fast), "same": same}
        row["ratio"] = row["naive_s"] / row["fast_s"]
        rows.append(row)
        print(f"{n:>5} {row['naive_s']:>9.2f} {row['fast_s']:>8.2f} {n / row['naive_s']:>12.3f} "
              f"{n / row['fast_s']:>11.3f} {row['ratio']:>5.1f}x {same}")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "device": where, "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
