"""The training steps of this checkout against those of an earlier revision, change by change.

    python bench/steps_ab.py --rev 615412c [--archs vae,dcgan] [--steps 60] [--batch-size 64] [--threads 1]

For each architecture, these sides train on the same Fashion-MNIST batches, their steps
interleaved in one process (the order rotates every step, so a busy machine slows all alike):

* ``old``: the step class as it was at ``--rev`` (its module's source from ``git show``, run
  against this checkout's core and model);
* ``new``: the step class of this checkout;
* ``new -fused``: the same, with the optimizers' fused kernel switched off (torch's default
  for-each-tensor Adam), which isolates ``fused_optimizer_options``;
* ``new -channels_last``: the same, with the model kept contiguous (NCHW), which isolates
  ``TrainingStep.channels_last`` (only for steps that turn it on).

img/s = steps x batch / the summed time of that side's step calls (the first two calls,
which set up kernels, are not counted). It also times the loop's EMA update of the model,
the revision's (``state_dict`` and a lerp per tensor) against this checkout's (one
``torch._foreach_lerp_``), alternating, per update. Only steps whose module imports nothing
else of the revision can be loaded from it: ``zoo.gan`` (dcgan) and a plugin's own
``train.py`` (vae, ddpm, cyclegan, ae).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import types
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class _Backward:
    def backward(self, loss) -> None:
        loss.backward()

    def clip_grad_norm_(self, parameters, max_norm: float):
        import torch

        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)


def module_at(rev: str, module: str) -> types.ModuleType:
    """``module`` (dotted) as it was at ``rev``, executed as a fresh module against this checkout."""
    if module.startswith("zoo."):
        path = module.replace(".", "/") + ".py"
    elif module.startswith("zoo_plugins."):
        path = "plugins/" + module.removeprefix("zoo_plugins.").replace(".", "/") + ".py"
    elif module.startswith("zoo_autoencoder."):
        path = "examples/zoo-autoencoder/" + module.replace(".", "/") + ".py"
    else:
        raise SystemExit(f"cannot map {module} to a file of the repository")
    source = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True)
    if source.returncode:
        raise SystemExit(f"git show {rev}:{path}: {source.stderr.strip()}")
    mod = types.ModuleType(f"_at_{rev}_{module.replace('.', '_')}")
    mod.__file__ = f"{rev}:{path}"
    sys.modules[mod.__name__] = mod  # dataclasses and pickling look modules up by name
    exec(compile(source.stdout, mod.__file__, "exec"), mod.__dict__)
    return mod


def make_side(arch: str, cls: type, variant: str, seed: int):
    import torch

    import zoo

    torch.manual_seed(seed)
    model = zoo.create(arch).train()
    channels_last = getattr(cls, "channels_last", False)
    if variant == "-channels_last":
        cls = type(cls.__name__, (cls,), {"channels_last": False})
    step = cls(model)
    step.optimizers = step.configure_optimizers()
    step.total_steps = 10_000
    if variant == "-fused":
        for opt in step.optimizers.values():
            opt.defaults["fused"] = None
            for group in opt.param_groups:
                group["fused"] = None
    return step, channels_last


def ema_timing(arch: str, rev: str, updates: int) -> dict[str, float]:
    """Microseconds per EMA update of the model, the revision's EMA against this checkout's, alternating."""
    import torch

    import zoo
    from zoo.registry import import_object
    from zoo.training import EMA

    OldEMA = module_at(rev, "zoo.training").EMA
    model = zoo.create(arch)
    prefix = import_object(zoo.model_spec(arch).trainer).ema_prefix
    emas = {"old": OldEMA(model, 0.999, prefix), "new": EMA(model, 0.999, prefix)}
    spent = {"old": 0.0, "new": 0.0}
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for i in range(updates):
            for p in model.parameters():  # as if a step had changed the weights (not timed)
                p.add_(torch.randn(p.shape, generator=gen), alpha=1e-3)
            for who in ("old", "new") if i % 2 == 0 else ("new", "old"):
                t0 = time.perf_counter()
                emas[who].update(model)
                spent[who] += time.perf_counter() - t0
    for name, _ in model.named_parameters():  # the same average of the weights (buffers: lerped then, copied now)
        if name in emas["new"].shadow and not torch.allclose(emas["old"].shadow[name], emas["new"].shadow[name],
                                                             rtol=1e-5, atol=1e-6):
            raise SystemExit(f"the EMA of {name} differs between {rev} and this checkout")
    return {k: v / updates * 1e6 for k, v in spent.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", required=True, help="the earlier revision (a commit, tag or branch)")
    parser.add_argument("--archs", default="vae,dcgan")
    parser.add_argument("--steps", type=int, default=60, help="timed steps per side (default 60)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--ema-updates", type=int, default=200)
    args = parser.parse_args()

    import torch

    import zoo
    from zoo.data import load_fashion_mnist

    torch.set_num_threads(args.threads)
    x, y = load_fashion_mnist("train")
    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {args.batch_size}, {args.steps} timed steps "
          f"per side, against {args.rev}; load average at start {os.getloadavg()[0]:.2f}")
    for arch in [a.strip() for a in args.archs.split(",") if a.strip()]:
        module, _, name = zoo.model_spec(arch).trainer.partition(":")
        from zoo.registry import import_object

        new_cls = import_object(f"{module}:{name}")
        old_cls = getattr(module_at(args.rev, module), name)
        sides: dict[str, Any] = {"old": make_side(arch, old_cls, "", args.seed)[0]}
        step, channels_last = make_side(arch, new_cls, "", args.seed)
        sides["new"] = step
        sides["new -fused"] = make_side(arch, new_cls, "-fused", args.seed)[0]
        if channels_last:
            sides["new -channels_last"] = make_side(arch, new_cls, "-channels_last", args.seed)[0]
        gen = torch.Generator().manual_seed(args.seed)
        spent = dict.fromkeys(sides, 0.0)
        acc = _Backward()
        names = list(sides)
        for i in range(args.steps + 2):
            idx = torch.randperm(len(x), generator=gen)[: args.batch_size]
            k = i % len(names)
            for who in names[k:] + names[:k]:
                t0 = time.perf_counter()
                out = sides[who].step(x[idx], y[idx], i, acc)
                {key: float(v) for key, v in out.items()}  # as the loop would read them, at some point
                if i >= 2:
                    spent[who] += time.perf_counter() - t0
        ips = {k: args.steps * args.batch_size / v for k, v in spent.items()}
        print(f"\n{arch} ({module}:{name})")
        for who in names:
            print(f"  {who:20s} {ips[who]:8.1f} img/s   x{ips[who] / ips['old']:.3f} of old"
                  + (f"   new is x{ips['new'] / ips[who]:.3f} of this" if who.startswith("new -") else ""))
        ema = ema_timing(arch, args.rev, args.ema_updates)
        step_us = spent["new"] / args.steps * 1e6
        print(f"  EMA update: old {ema['old']:.0f} us, new {ema['new']:.0f} us (x{ema['old'] / ema['new']:.2f} "
              f"faster; {ema['old'] / step_us:.2%} and {ema['new'] / step_us:.2%} of a new step)")
    print(f"\nload average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
