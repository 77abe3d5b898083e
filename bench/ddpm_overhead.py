"""Sampling overhead of the zoo's samplers against bare network forwards.

    python bench/ddpm_overhead.py [--model ddpm-fashion] [--n 64] [--steps 50] [--repeat 3]

Times ``model.sample(n, sampler=S, steps=K)`` against K bare calls of the network on a
batch of the same shape (no sampler arithmetic, no noise draws), alternately in one
run; reports the medians and the overhead (sample / bare - 1). Target: at most 10 %.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    import zoo

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="ddpm-fashion")
    parser.add_argument("--n", type=int, default=64)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    model = zoo.load(args.model)
    x = torch.randn(args.n, *model.image_shape)
    timesteps = torch.linspace(model.schedule.num_train_timesteps - 1, 0, args.steps).long()

    @torch.no_grad()
    def bare() -> None:
        for t in timesteps:
            model(x, t.expand(args.n))

    results: dict[str, list[float]] = {"bare": [], "ddim": [], "ddpm": []}
    for _ in range(args.repeat):
        for name in results:
            t0 = time.perf_counter()
            if name == "bare":
                bare()
            else:
                model.sample(args.n, seed=0, sampler=name, steps=args.steps, batch_size=args.n)
            results[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in results.items()}
    print(f"{args.model}: {args.n} images, {args.steps} steps, torch threads {torch.get_num_threads()}, "
          f"{args.repeat} runs each (medians)")
    for name in ("ddim", "ddpm"):
        overhead = med[name] / med["bare"] - 1
        print(f"{name:5} {med[name]:.3f} s  bare forwards {med['bare']:.3f} s  overhead {overhead:+.1%}")


if __name__ == "__main__":
    main()
