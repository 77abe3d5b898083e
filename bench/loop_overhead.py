"""What the ``zoo train`` loop costs on top of the bare training steps, per architecture.

    python bench/loop_overhead.py [--archs vae,dcgan,...] [--steps 60] [--rounds 2] [--threads 1]
    python bench/loop_overhead.py --archs ldm --component autoencoder=autoencoder-kl-fashion

For each architecture with a training step (its default config, ``TrainConfig``'s defaults:
batch 128, EMA 0.999, a log line every 50 steps, a checkpoint every 500 steps and one per
epoch, a preview grid per epoch, the progress bar on), two sides run on the same data:

* **bare**: the step's ``step()`` called on in-memory batches (shuffled indices into the
  tensors ``zoo.data.load_source`` gives), with its own optimizers and an accelerator that
  only does ``backward``: no data loader, no EMA, no logging, no bar, no checkpoints.
* **loop**: ``zoo.training.train(TrainConfig(arch, max_steps=N, ...), progress=True)``, the
  whole loop as ``zoo train`` runs it.

Both record when each ``step()`` call starts and ends. The loop's cost is measured inside its
own runs: over iterations 3 to N - 1 (the first calls set up kernels), the time outside
``step()`` (the next batch from the data loader, the EMA update, the loss bookkeeping, the bar,
the log line at step 50) over the time inside it, the same iterations, so load that drifts
between runs does not enter. The costs that come once per 500 steps or once per epoch are
timed on their own afterwards (``_write_checkpoint`` of the model, its EMA and optimizers; the
EMA copy and the preview grid of an epoch's end) and spread over the steps between them at the
defaults. total = 1 + loop share + periodic share: the target is at most 1.05.

A composite architecture gets its components from ``--component NAME=ID`` (as ``zoo train ldm
--autoencoder ID``); both sides then train on what the step's ``prepare_data`` makes of the data (the
latents of the frozen autoencoder), encoded once per side into a temporary run folder, outside the timing.
Architectures that need components not given are skipped with a message.

The bare side is a cross-check of the same thing from outside: the sides alternate (bare,
loop, loop, bare, ...) for ``--rounds`` runs each, in one process, and the medians of whole
iterations are compared. It also catches costs the loop adds inside ``step()`` (Accelerate's
optimizer wrapper and ``backward``, the autocast context), but on a shared machine it is as
noisy as the load is between runs.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
TWO_DOMAINS = ["fashion-mnist:sneaker", "fashion-mnist:ankle-boot"]  # for steps that read two sources
SKIP = 2  # first step() calls left out of the span on both sides


class _Backward:
    """What an Accelerate accelerator does for a step on one process: backward, gradient clipping."""

    def backward(self, loss) -> None:
        loss.backward()

    def clip_grad_norm_(self, parameters, max_norm: float):
        import torch

        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)


def timed(cls: type) -> type:
    """``cls`` with ``step()`` recording when each call starts and ends (``starts``, ``ends``), and no
    ``evaluate``."""

    class Timed(cls):  # type: ignore[misc, valid-type]
        starts: list[float] = []
        ends: list[float] = []

        def step(self, images, labels, step, accelerator):
            Timed.starts.append(time.perf_counter())
            try:
                return super().step(images, labels, step, accelerator)
            finally:
                Timed.ends.append(time.perf_counter())

        def evaluate(self, model, images, labels):
            return {}  # the held-out metrics after training are no part of the loop: skipped to save time

    Timed.__name__ = Timed.__qualname__ = cls.__name__
    return Timed


def timing(cls: type) -> dict[str, float]:
    """From the recorded calls, over the iterations from step SKIP + 1 to the one before the last:
    seconds per iteration, seconds per step() call, and the seconds between the end of one call
    and the start of the next (what runs outside the step: the loop's own work)."""
    starts, ends = cls.starts, cls.ends
    n = len(starts) - 1 - SKIP
    inside = sum(ends[i] - starts[i] for i in range(SKIP, len(starts) - 1)) / n
    return {"iteration_s": (starts[-1] - starts[SKIP]) / n, "step_s": inside,
            "outside_s": (starts[-1] - starts[SKIP]) / n - inside}


def run_bare(arch: str, cls: type, data: dict[str, Any], steps: int, batch_size: int,
             seed: int, components: dict[str, str]) -> dict[str, float]:
    import torch

    import zoo

    torch.manual_seed(seed)
    model = zoo.create(arch, **cls.config_from_data(data), **components).train()
    step_fn = cls(model)
    step_fn.optimizers = step_fn.configure_optimizers()
    step_fn.total_steps = steps
    with tempfile.TemporaryDirectory() as tmp:
        data = step_fn.prepare_data(data, Path(tmp))  # as the loop does before its first step (latents, say)
    gen = torch.Generator().manual_seed(seed)
    acc = _Backward()
    cls.starts.clear()
    cls.ends.clear()
    for i in range(steps):
        picks = {k: torch.randint(len(d.images), (batch_size,), generator=gen) for k, d in data.items()}
        images = {k: d.images[picks[k]] for k, d in data.items()}
        labels = {k: d.labels[picks[k]] for k, d in data.items()}
        if len(data) == 1:
            images, labels = next(iter(images.values())), next(iter(labels.values()))
        step_fn.step(images, labels, i, acc)
    return timing(cls)


def run_loop(arch: str, cls: type, sources: list[str], steps: int, batch_size: int,
             seed: int, components: dict[str, str]) -> dict[str, float]:
    from zoo.training import TrainConfig, train

    cls.starts.clear()
    cls.ends.clear()
    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(arch=arch, data=sources[0] if len(sources) == 1 else sources, out=str(Path(tmp) / "run"),
                          batch_size=batch_size, max_steps=steps, seed=seed, model_config=dict(components))
        train(cfg, progress=True)
    return timing(cls)


def _median(runs: list[dict[str, float]], key: str) -> float:
    return statistics.median(run[key] for run in runs)


def periodic_costs(arch: str, cls: type, data: dict[str, Any], batch_size: int,
                   components: dict[str, str]) -> dict[str, float]:
    """Seconds of one checkpoint write and of one epoch's end (EMA copy and preview grid), as the loop does them."""
    import copy

    import torch

    import zoo
    from zoo.images import save_grid
    from zoo.training import EMA, TrainConfig, _write_checkpoint

    defaults = TrainConfig(arch=arch)
    model = zoo.create(arch, **cls.config_from_data(data), **components).train()
    step_fn = cls(model)
    step_fn.optimizers = step_fn.configure_optimizers()
    ema = EMA(model, defaults.ema_decay, step_fn.ema_prefix)
    state = {"epoch": 0, "step": 0, "wall_time_s": 0.0, "images_seen": 0}
    preview_data = {k: d.images[:8] for k, d in data.items()}
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        _write_checkpoint(Path(tmp) / "checkpoint", model, ema, step_fn.optimizers, state)
        checkpoint = time.perf_counter() - t0
        t0 = time.perf_counter()
        shadow = copy.deepcopy(model)
        ema.copy_to(shadow)
        with torch.no_grad():
            images, nrow = shadow.eval().preview(preview_data)
        save_grid(images, Path(tmp) / "preview.png", nrow=nrow, force=True)
        preview = time.perf_counter() - t0
    steps_per_epoch = min(len(d.images) for d in data.values()) // batch_size
    return {"checkpoint_s": checkpoint, "epoch_end_s": preview, "steps_per_epoch": steps_per_epoch,
            "checkpoint_every": defaults.checkpoint_every}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--archs", default="", help="comma-separated architectures (default: all with a training step)")
    parser.add_argument("--steps", type=int, default=60,
                        help="steps per run (default 60, so the span holds step 50's log line)")
    parser.add_argument("--rounds", type=int, default=2, help="runs of each side, alternating (default 2)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: TrainConfig's (128)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--component", action="append", default=[], metavar="NAME=ID",
                        help="a component of composite architectures (autoencoder=autoencoder-kl-fashion); repeatable")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "loop_overhead.json")
    args = parser.parse_args()
    if args.steps < SKIP + 3 or args.rounds < 1 or args.threads < 1:
        parser.error(f"--steps must be at least {SKIP + 3}, --rounds and --threads positive")
    if any("=" not in c for c in args.component):
        parser.error("--component takes NAME=ID (autoencoder=autoencoder-kl-fashion)")
    components = dict(c.split("=", 1) for c in args.component)

    import torch

    import zoo
    import zoo.registry
    from zoo.data import load_source
    from zoo.training import TrainConfig

    torch.set_num_threads(args.threads)
    batch_size = args.batch_size or TrainConfig(arch="").batch_size
    archs = [a.strip() for a in args.archs.split(",") if a.strip()] or [
        a for a in zoo.list_models(pretrained=False) if zoo.model_spec(a).trainer]
    import_object = zoo.registry.import_object
    results = []
    print(f"[loop-overhead] {', '.join(archs)}: {args.steps} steps of batch {batch_size}, {args.rounds} rounds, "
          f"{args.threads} torch thread(s), load average {os.getloadavg()[0]:.2f}", file=sys.stderr, flush=True)
    for arch in archs:
        spec = zoo.model_spec(arch)
        needed = [name for name, _ in spec.components if name not in components and spec.config.get(name) is None]
        if needed:
            print(f"[loop-overhead] {arch}: skipped, it needs --component {needed[0]}=ID", file=sys.stderr, flush=True)
            continue
        given = {name: components[name] for name, _ in spec.components if name in components}
        cls = timed(import_object(spec.trainer))
        # the loop imports the step by its dotted path: hand it the timed class
        zoo.registry.import_object = lambda path, _cls=cls, _spec=spec: _cls if path == _spec.trainer \
            else import_object(path)
        try:
            sources = TWO_DOMAINS if len(cls.data_sources) == 2 else ["fashion-mnist"]
            data = {name: load_source(source, "train") for name, source in zip(cls.data_sources, sources)}
            times: dict[str, list[dict[str, float]]] = {"bare": [], "loop": []}
            for r in range(args.rounds):
                for side in ("bare", "loop") if r % 2 == 0 else ("loop", "bare"):
                    print(f"[loop-overhead] {arch}: {side}, round {r + 1}/{args.rounds} ...", file=sys.stderr,
                          flush=True)
                    if side == "bare":
                        times[side].append(run_bare(arch, cls, data, args.steps, batch_size, args.seed, given))
                    else:
                        times[side].append(run_loop(arch, cls, sources, args.steps, batch_size, args.seed, given))
            periodic = periodic_costs(arch, cls, data, batch_size, given)
        finally:
            zoo.registry.import_object = import_object

        # 1. within the loop's own runs: the time outside step() (data loader, EMA, bookkeeping, bar)
        # over the time inside, the same iterations, so load that drifts between runs does not enter
        share = statistics.median(t["outside_s"] / t["step_s"] for t in times["loop"])
        # 2. the periodic costs, spread over the steps between them at the defaults
        per_epoch = periodic["steps_per_epoch"]
        amortized = (periodic["checkpoint_s"] * (1 / periodic["checkpoint_every"] + 1 / per_epoch)
                     + periodic["epoch_end_s"] / per_epoch)
        step_s = _median(times["loop"], "step_s")
        # 3. a cross-check, noisier on a shared machine: whole iterations of the two sides' runs
        whole = _median(times["loop"], "iteration_s") / _median(times["bare"], "iteration_s")
        results.append({"arch": arch, "components": given, "batch_size": batch_size, "steps": args.steps,
                        "runs": times, **periodic,
                        "step_s": step_s, "loop_share": share, "periodic_share": amortized / step_s,
                        "total": 1 + share + amortized / step_s, "iteration_ratio_loop_over_bare": whole,
                        "bare_share": statistics.median(t["outside_s"] / t["step_s"] for t in times["bare"])})
        r = results[-1]
        print(f"[loop-overhead] {arch}: loop {r['loop_share']:+.2%} of the step, periodic {r['periodic_share']:+.2%}"
              f", total {r['total']:.3f}; iterations loop/bare {whole:.3f}", file=sys.stderr, flush=True)

    rows = [("arch", "step ms", "loop ms/step", "loop share", "checkpoint s", "epoch end s", "periodic", "total",
             "iterations loop/bare")]
    for r in results:
        rows.append((r["arch"], f"{r['step_s'] * 1e3:.0f}", f"{r['loop_share'] * r['step_s'] * 1e3:.1f}",
                     f"{r['loop_share']:+.2%}", f"{r['checkpoint_s']:.2f}", f"{r['epoch_end_s']:.2f}",
                     f"{r['periodic_share']:+.2%}", f"{r['total']:.3f}", f"{r['iteration_ratio_loop_over_bare']:.3f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for k, row in enumerate(rows):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))))
        if k == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))
    print(f"batch {batch_size}, {args.steps} steps per run (iterations {SKIP + 1} to {args.steps - 1}), {args.rounds} "
          f"runs of each side, alternating, medians. loop share = time outside step() in the loop's runs over the "
          f"time inside; periodic = a checkpoint every {TrainConfig(arch='').checkpoint_every} steps and one per "
          f"epoch, an epoch's end per epoch, over the step time; total = 1 + both, target <= 1.05. iterations "
          f"loop/bare: whole iterations of the loop's runs over the bare runs' (a cross-check, noisy where the load "
          f"drifts between runs). torch {torch.__version__}, {torch.get_num_threads()} thread(s), load average now "
          f"{os.getloadavg()[0]:.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"benchmark": "bench/loop_overhead.py", "command": " ".join(sys.argv),
                                     "torch": torch.__version__, "threads": torch.get_num_threads(),
                                     "load_average_end": os.getloadavg(), "results": results}, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
