"""PixelCNN sampling: the fast sampler against the naive reference, on the same network.

    python bench/pixelcnn_sampling.py [--model pixelcnn-fashion] [--batches 1 64] [--repeats 3] [--device cpu]
                                      [--rows R]

For each batch size, the two samplers run interleaved (naive, fast, fast, naive, ...) on the
same model, seed and temperature; the script prints the median seconds of each, the images/s,
the ratio naive/fast, and whether every pixel agrees. The naive sampler runs the whole network
once per pixel (H·W passes); the fast one the vertical stack once per row and one row of the
horizontal stack per pixel (see plugins/pixelcnn/samplers.py). ``--json FILE`` writes the rows.

``--rows R`` times only the last R rows of each image (``model.complete`` of blank images keeping
H - R rows) and scales both times by H / R. That is exact in expectation, not an estimate of a
trend: each row costs either sampler the same work whatever its content (the naive sampler W full
passes, the fast one a vertical pass and W one-row passes), so the ratio is the full-image ratio.
It makes the naive sampler at batch 64 measurable on a small CPU (the full run is 784 full passes
of 64 images).
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


def timed(model, n: int, sampler: str, seed: int, rows: int) -> tuple[float, torch.Tensor]:
    """Seconds for ``n`` whole images (the last ``rows`` rows drawn, scaled by H / rows)."""
    H = model.image_shape[1]
    t0 = time.perf_counter()
    if rows >= H:
        images = model.sample(n, seed=seed, sampler=sampler, batch_size=n)
    else:
        images = model.complete(torch.zeros(n, *model.image_shape), rows=H - rows, seed=seed, sampler=sampler)
    return (time.perf_counter() - t0) * H / min(rows, H), images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="pixelcnn-fashion", help="a PixelCNN id or model folder")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each sampler per batch size")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--rows", type=int, default=0, help="time the last R rows only, scaled (0: all rows)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = zoo.load(args.model, device=args.device)
    where = torch.cuda.get_device_name() if args.device.startswith("cuda") else \
        f"CPU ({platform.machine()}, {args.threads} torch threads)"
    H = model.image_shape[1]
    rows = args.rows or H
    timed_rows = "" if rows >= H else f"; the last {rows} of {H} rows timed, scaled by {H}/{rows}"
    print(f"{args.model} on {where}, torch {torch.__version__}{timed_rows}")
    print(f"{'batch':>5} {'naive s':>9} {'fast s':>8} {'naive img/s':>12} {'fast img/s':>11} {'ratio':>6} same pixels")
    results = []
    for n in args.batches:
        naive, fast = [], []
        same = True
        for r in range(args.repeats):
            order = ("pixelcnn-naive", "pixelcnn-fast") if r % 2 == 0 else ("pixelcnn-fast", "pixelcnn-naive")
            out = {}
            for sampler in order:
                seconds, out[sampler] = timed(model, n, sampler, seed=r, rows=rows)
                (naive if sampler == "pixelcnn-naive" else fast).append(seconds)
            same = same and torch.equal(out["pixelcnn-naive"], out["pixelcnn-fast"])
        row = {"batch": n, "naive_s": statistics.median(naive), "fast_s": statistics.median(fast), "same": same}
        row["ratio"] = row["naive_s"] / row["fast_s"]
        results.append(row)
        print(f"{n:>5} {row['naive_s']:>9.2f} {row['fast_s']:>8.2f} {n / row['naive_s']:>12.3f} "
              f"{n / row['fast_s']:>11.3f} {row['ratio']:>5.1f}x {same}")
    if args.json:
        args.json.write_text(json.dumps({"model": args.model, "device": where, "timed_rows": rows,
                                         "rows": results}, indent=2))


if __name__ == "__main__":
    main()
