"""Our DDPM plugin next to its peers: DDIM sampling against diffusers, training against
denoising-diffusion-pytorch, and the memory of a 10,000-image ``zoo sample``.

    python bench/ddpm_peers.py [sampling] [training] [memory]     # no part named: all three

* ``sampling``: a diffusers ``UNet2DModel`` with google/ddpm-cifar10-32's exact config and
  random (seeded) weights, and our ``DDPM`` loaded from the same files through the plugin's
  diffusers loader, so both run the same network. Ours: ``model.sample(n, seed=, sampler="ddim",
  steps=50)``; diffusers: ``DDIMPipeline(unet, DDIMScheduler.from_config(<the repo's scheduler
  config>))(batch_size=n, num_inference_steps=50, generator=, output_type="np")`` (both on the
  repo's own grid, ``leading``, under diffusers' rules: the same timesteps). Alternating timed runs, medians,
  images/s and the ratio ours/diffusers (target >= 1). Both start from the same x_T (the same
  seeded CPU generator), so the images are also compared. ``--compile`` puts both networks under
  ``torch.compile`` first (inductor, weights frozen); the compilation falls in the untimed warm-up.
* ``training``: our ``DDPMTrainingStep`` on ``zoo.create("ddpm")`` (the config ``zoo train ddpm``
  uses) against ``denoising_diffusion_pytorch.GaussianDiffusion(Unet(dim=32, dim_mults=(1, 2, 2),
  channels=1), image_size=28)`` updated as its own ``Trainer`` does (``loss = diffusion(images)``,
  backward, gradient-norm clip 1, Adam), on the same Fashion-MNIST batches, steps interleaved;
  img/s = steps x batch / summed wall clock of the step calls. Parameter counts and forward
  FLOPs per image of both are reported.
* ``memory``: peak RSS of ``zoo sample ddpm-fashion -n N --steps 1 --batch-size 250 --out-dir DIR``
  for N = 1,000 and 10,000, each in its own process (``os.wait4``); bounded memory means a ratio
  near 1.

The peer of ``training`` is not a dependency of the zoo: as ``bench/peers.py`` does (whose helpers
this script imports), it is pip-installed into ``bench/.venv-peers`` (which sees the packages of the
interpreter running this script, a virtualenv's included; torch/torchvision/numpy pinned to the
installed versions) and the script re-executes itself there. ``sampling`` and ``memory`` need only
diffusers (a test extra of the zoo) and run in the current interpreter. Tables go to stdout, one
JSON per part to ``bench/results/`` (ignored by git). ``--check-venv`` only makes the virtualenv and
checks what it sees. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path[:0] = [str(Path(__file__).resolve().parent), str(Path(__file__).resolve().parents[1])]
import peers  # noqa: E402  (bench/peers.py: the venv and timing helpers)
from peers import ROOT, _Backward, _ensure_peer, in_venv, n_params, prepare_venv, reexec_in_venv, version_of  # noqa: E402

PARTS = ("sampling", "training", "memory")
PEER = "denoising-diffusion-pytorch"
peers.IMPORT_PROBES.setdefault(PEER, "from denoising_diffusion_pytorch import GaussianDiffusion, Unet")
ATTEMPT_ENV = "ZOO_BENCH_DDPM_PEER_ATTEMPT"


# --------------------------------------------------------------------------- the peers' virtualenv


def setup_venv_and_reexec() -> None:
    """Make (or reuse) bench/.venv-peers, install denoising-diffusion-pytorch there, exec this script in it."""
    torch_version, constraints = prepare_venv("ddpm-peers")
    attempt = _ensure_peer(PEER, constraints)
    print(f"[ddpm-peers] {PEER}: {'ok' if attempt['ok'] else attempt['error']}", file=sys.stderr, flush=True)
    reexec_in_venv(__file__, torch_version, {ATTEMPT_ENV: json.dumps(attempt)})


# --------------------------------------------------------------------------- shared bits


def run_info(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    return {
        "benchmark": "bench/ddpm_peers.py", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "command": " ".join(["python", "bench/ddpm_peers.py", *sys.argv[1:]]),
        "torch": torch.__version__, "diffusers": version_of("diffusers"), PEER: version_of(PEER),
        "python": platform.python_version(), "seed": args.seed,
        "hardware": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                     "machine": platform.machine(), "processor": platform.processor() or None, "device": "cpu",
                     "load_average_at_start": os.getloadavg()},
    }


def forward_mflops(network, x, t) -> float:
    """Forward FLOPs of one call, in millions (torch's FlopCounterMode: convolutions and matmuls)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        network(x, t)
    return counter.get_total_flops() / 1e6


def table(rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for k, r in enumerate(rows):
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
        if k == 0:
            print("-" * (sum(widths) + 2 * (len(widths) - 1)))


def footer(info: dict[str, Any]) -> str:
    hw = info["hardware"]
    return (f"torch {info['torch']}, diffusers {info['diffusers']}, {PEER} {info[PEER] or 'not installed here'}; "
            f"{hw['cpu_count']} CPUs, {hw['torch_threads']} torch thread(s), "
            f"load average at start {hw['load_average_at_start'][0]:.2f}")


# --------------------------------------------------------------------------- sampling: DDIM-50 against diffusers


def build_cifar_pair(seed: int, folder: Path):
    """A random-weight diffusers UNet2DModel with google/ddpm-cifar10-32's config and scheduler config,
    written to ``folder`` as that repo lays it out, and our DDPM loaded from it by the plugin's loader."""
    import diffusers
    import torch
    from zoo_plugins.ddpm.from_diffusers import CIFAR_SCHEDULER, CIFAR_UNET, load_diffusers_folder

    import zoo

    torch.manual_seed(seed)
    unet = diffusers.UNet2DModel(**CIFAR_UNET).eval()
    unet.save_pretrained(folder)
    diffusers.DDPMScheduler(**CIFAR_SCHEDULER).save_config(folder)
    ours = load_diffusers_folder(folder, zoo.model_spec("ddpm-cifar")).eval()
    return unet, ours, diffusers.DDPMScheduler.load_config(folder)


def lockstep(ours, unet, scheduler, steps: int, seed: int) -> tuple[float, float]:
    """Walk diffusers' own DDIM trajectory for one image and, at every step, run our network and our
    DDIM step on exactly diffusers' inputs; the largest differences of network output and of step output.
    (End to end, a random-weight UNet amplifies ~1e-6 differences from step to step.)"""
    import torch
    from zoo_plugins.ddpm.samplers import DDIMSampler

    from zoo.diffusion import model_output

    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps.tolist()
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(seed))
    net = step = 0.0
    with torch.no_grad():
        for i, t in enumerate(timesteps):
            out = unet(x, t).sample
            net = max(net, (model_output(ours, x, t) - out).abs().max().item())
            ref = scheduler.step(out, t, x, eta=0.0).prev_sample
            t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
            mine = DDIMSampler().step(ours.schedule, out, t, t_prev, x, torch.Generator(), eta=0.0).prev_sample
            step, x = max(step, (mine - ref).abs().max().item()), ref
    return net, step


def run_sampling(args: argparse.Namespace) -> dict[str, Any]:
    import diffusers
    import torch

    diffusers.utils.logging.set_verbosity_error()  # from_config names the DDPM-only keys it ignores
    info = run_info(args)
    with tempfile.TemporaryDirectory() as tmp:
        unet, ours, scheduler_config = build_cifar_pair(args.seed, Path(tmp))
    # The repo's scheduler config as DDIM: ddpm-cifar samples on the repo's own grid ("leading", 980 ... 0)
    # under diffusers' rules, so both visit the same timesteps: the same work, comparable images.
    scheduler = diffusers.DDIMScheduler.from_config(scheduler_config)
    pipe = diffusers.DDIMPipeline(unet=unet, scheduler=scheduler)
    pipe.set_progress_bar_config(disable=True)
    scheduler.set_timesteps(args.ddim_steps)
    same_timesteps = scheduler.timesteps.tolist() == ours.schedule.timesteps(args.ddim_steps)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0, 537])
    with torch.no_grad():
        network_diff = (ours(x, t) - unet(x, t).sample).abs().max().item()

    n = args.sample_batch

    def run_ours(steps: int) -> torch.Tensor:
        return ours.sample(n, seed=args.seed, sampler="ddim", steps=steps, eta=0.0, batch_size=n)

    def run_diffusers(steps: int) -> torch.Tensor:
        out = pipe(batch_size=n, generator=torch.Generator().manual_seed(args.seed), eta=0.0,
                   num_inference_steps=steps, output_type="np")
        return torch.from_numpy(out.images).permute(0, 3, 1, 2)  # (n, H, W, C) in [0, 1] → (n, C, H, W)

    print("[ddpm-peers] sampling: lock-step check ...", file=sys.stderr, flush=True)
    net_max, step_max = lockstep(ours, unet, scheduler, args.ddim_steps, args.seed)
    mflops = forward_mflops(ours, x[:1], t[:1])  # before any compilation: counted in eager mode
    compile_s: dict[str, float] = {}
    if args.compile:  # both networks under torch.compile (inductor, weights frozen as constants), in place
        import torch._inductor.config

        torch._inductor.config.freezing = True
        ours.compile()
        unet.compile()
    runners = {"ours": run_ours, "diffusers": run_diffusers}
    for who, run in runners.items():  # warm-up, untimed (and the compilation)
        t0 = time.perf_counter()
        run(2)
        compile_s[who] = time.perf_counter() - t0
    times: dict[str, list[float]] = {"ours": [], "diffusers": []}
    images: dict[str, torch.Tensor] = {}
    for r in range(args.repeat):
        for who in ("ours", "diffusers") if r % 2 == 0 else ("diffusers", "ours"):
            print(f"[ddpm-peers] sampling: {who}, run {r + 1}/{args.repeat} ...", file=sys.stderr, flush=True)
            t0 = time.perf_counter()
            images[who] = runners[who](args.ddim_steps)
            times[who].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    ips = {k: n / v for k, v in med.items()}
    result = {
        **info, "part": "sampling",
        "network": "diffusers UNet2DModel, google/ddpm-cifar10-32 config, random weights (torch.manual_seed(seed)); "
                   "ours loaded from the same files by zoo_plugins.ddpm.from_diffusers.load_diffusers_folder",
        "params": {"ours": n_params(ours), "diffusers": n_params(unet)},
        "forward_mflops_per_image": mflops,
        "network_max_abs_diff": network_diff,
        "sampler": f"DDIM, {args.ddim_steps} steps, eta 0, trailing timesteps (same grid both: {same_timesteps})",
        "compiled": args.compile, "warmup_seconds": compile_s,  # 2-step runs, with the compilation if any
        "batch": n, "repeat": args.repeat, "seconds": times, "median_seconds": med, "img_per_s": ips,
        "ratio_img_per_s_ours_over_diffusers": ips["ours"] / ips["diffusers"],
        "images_max_abs_diff": (images["ours"] - images["diffusers"]).abs().max().item(),
        "images_mean_abs_diff": (images["ours"] - images["diffusers"]).abs().mean().item(),
        "lockstep": {"what": "diffusers' DDIM trajectory of one image; ours fed the same x_t at every step",
                     "network_max_abs_diff": net_max, "step_max_abs_diff": step_max},
    }
    label = f"DDIM-{args.ddim_steps}, CIFAR UNet" + (", compiled" if args.compile else "")
    table([(label, "img/s", "median s", "runs (s)"),
           *((who, f"{ips[who]:.3f}", f"{med[who]:.2f}", " ".join(f"{s:.2f}" for s in times[who]))
             for who in ("ours", "diffusers"))])
    print(f"ratio ours/diffusers {result['ratio_img_per_s_ours_over_diffusers']:.3f} (target >= 1.0); batch {n}, "
          f"{args.repeat} alternating runs each; {result['params']['ours'] / 1e6:.2f}M parameters, "
          f"{result['forward_mflops_per_image'] / 1e3:.2f} GFLOPs per image per step"
          + (f"; the warm-up with the compilation took {compile_s['ours']:.0f} s (ours) and "
             f"{compile_s['diffusers']:.0f} s (diffusers)"
             if args.compile else ""))
    print(f"same x_T, same timesteps: images differ by at most {result['images_max_abs_diff']:.2e} "
          f"(mean {result['images_mean_abs_diff']:.2e}) in [0, 1]; fed the same x_t at each of the {args.ddim_steps} "
          f"steps, the networks differ by at most {net_max:.2e} and the DDIM steps by {step_max:.2e}: the "
          f"random-weight UNet amplifies float rounding along the chain")
    print(footer(info))
    return result


# --------------------------------------------------------------------------- training: against the peer


class _Accelerator(_Backward):
    """The two methods of an Accelerate accelerator that DDPMTrainingStep calls."""

    def clip_grad_norm_(self, parameters, max_norm: float):
        import torch

        return torch.nn.utils.clip_grad_norm_(parameters, max_norm)


def run_training(args: argparse.Namespace) -> dict[str, Any]:
    import torch
    from zoo_plugins.ddpm.train import DDPMTrainingStep

    import zoo
    from zoo.data import load_fashion_mnist

    info = run_info(args)
    attempt = json.loads(os.environ.get(ATTEMPT_ENV, "null")) or {
        "package": PEER, "ok": version_of(PEER) is not None,
        "error": None if version_of(PEER) else f"{PEER} is not installed in this interpreter"}
    x_train, _ = load_fashion_mnist("train")  # (60000, 1, 28, 28) in [0, 1]
    torch.manual_seed(args.seed)
    ours = zoo.create("ddpm", **json.loads(args.ours_config)).train()
    step = DDPMTrainingStep(ours)
    step.optimizers = step.configure_optimizers()
    acc = _Accelerator()
    probe_x, probe_t = torch.randn(1, 1, 28, 28), torch.tensor([500])
    result: dict[str, Any] = {
        **info, "part": "training", "data": "Fashion-MNIST train, 28×28, the same shuffled batches for both",
        "steps": args.train_steps, "batch_size": args.train_batch,
        "ours": {"model": f"zoo.create('ddpm', **{args.ours_config}) + DDPMTrainingStep (AdamW lr "
                          f"{step.lr}, min-SNR γ {step.min_snr_gamma}, clip {step.max_grad_norm})",
                 "params": n_params(ours), "forward_mflops_per_image": forward_mflops(ours, probe_x, probe_t)},
        "peer": {"package": PEER, "version": version_of(PEER), "error": attempt["error"]},
    }
    losses: dict[str, float] = {}

    def ours_step(i, idx):
        losses["ours"] = step.step(x_train[idx], None, i, acc)["loss"]

    peer_step = None
    if attempt["ok"]:
        from denoising_diffusion_pytorch import GaussianDiffusion, Unet

        torch.manual_seed(args.seed)
        unet = Unet(dim=args.peer_dim, dim_mults=tuple(args.peer_dim_mults), channels=1)
        # the loss settings of ours: v-prediction, cosine schedule, min-SNR γ = 5
        diffusion = GaussianDiffusion(unet, image_size=28, timesteps=1000, objective="pred_v",
                                      beta_schedule="cosine", min_snr_loss_weight=True, min_snr_gamma=5).train()
        opt = torch.optim.Adam(diffusion.parameters(), lr=step.lr, betas=(0.9, 0.99))  # its Trainer's betas

        def peer_step(i, idx):  # what its Trainer.train does per step, without EMA, accelerate or sampling
            loss = diffusion(x_train[idx])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(diffusion.parameters(), 1.0)
            opt.step()
            opt.zero_grad()
            losses["peer"] = loss.item()

        result["peer"].update({
            "model": f"GaussianDiffusion(Unet(dim={args.peer_dim}, dim_mults={tuple(args.peer_dim_mults)}, "
                     f"channels=1), image_size=28, timesteps=1000, objective='pred_v', beta_schedule='cosine', "
                     f"min_snr_loss_weight=True); Adam(lr {step.lr}, betas (0.9, 0.99)), clip 1",
            "params": n_params(unet), "forward_mflops_per_image": forward_mflops(unet, probe_x, probe_t)})

    batches = peers.batch_indices(len(x_train), args.train_steps + 2, args.train_batch, args.seed)
    for i, idx in enumerate(batches[:2]):  # warm-up, untimed
        ours_step(i, idx)
        if peer_step:
            peer_step(i, idx)
    print(f"[ddpm-peers] training: {args.train_steps} steps of batch {args.train_batch} each ...", file=sys.stderr,
          flush=True)
    t_ours, t_peer, error = peers.race(batches[2:], ours_step, peer_step)
    images = args.train_steps * args.train_batch
    result["ours"].update({"train_seconds": t_ours, "img_per_s": images / t_ours,
                           "final_loss": peers.as_float(losses.get("ours"))})
    result["peer"]["error"] = result["peer"]["error"] or error
    if peer_step and not error:
        result["peer"].update({"train_seconds": t_peer, "img_per_s": images / t_peer, "final_loss": losses["peer"]})
    o, p = result["ours"], result["peer"]
    result["ratio_img_per_s_ours_over_peer"] = o["img_per_s"] / p["img_per_s"] if p.get("img_per_s") else None

    def fmt(v, spec):
        return "-" if v is None else format(v, spec)

    table([("training", "img/s", "params", "MFLOPs/img fwd", "final loss"),
           ("ours (zoo ddpm)", fmt(o["img_per_s"], ".1f"), f"{o['params']:,}",
            fmt(o["forward_mflops_per_image"], ".0f"), fmt(o["final_loss"], ".4f")),
           (f"{PEER} {p['version']}", fmt(p.get("img_per_s"), ".1f"), fmt(p.get("params"), ","),
            fmt(p.get("forward_mflops_per_image"), ".0f"), fmt(p.get("final_loss"), ".4f"))])
    if p["error"]:
        print(f"peer failed: {p['error']}")
    print(f"ratio ours/peer {fmt(result['ratio_img_per_s_ours_over_peer'], '.3f')} (above 1: ours trains faster); "
          f"{args.train_steps} interleaved steps of batch {args.train_batch} each")
    print(footer(info))
    return result


# --------------------------------------------------------------------------- memory: zoo sample -n 10000


# Runs argv[2:] and writes its peak RSS (KiB) and exit code to argv[1]. A small launcher, because Linux counts
# the RSS of the process a child was forked from in that child's ru_maxrss (exec records the parent's mm
# high-water mark): measured straight from this script, a child could never report less than this script holds.
_LAUNCHER = ("import os, subprocess, sys; p = subprocess.Popen(sys.argv[2:]); _, s, u = os.wait4(p.pid, 0); "
             "open(sys.argv[1], 'w').write(f'{u.ru_maxrss} {os.waitstatus_to_exitcode(s)}')")


def peak_rss(cmd: list[str], env: dict[str, str], log: Path) -> tuple[int, float, int]:
    """Run ``cmd`` in its own process; its peak RSS in bytes, its wall time and its exit code."""
    report = log.with_suffix(".rss")
    with open(log, "w") as out:
        t0 = time.perf_counter()
        launcher = subprocess.run([sys.executable, "-c", _LAUNCHER, str(report), *cmd], stdout=out,
                                  stderr=subprocess.STDOUT, env=env)
        seconds = time.perf_counter() - t0
    if not report.is_file():
        return 0, seconds, launcher.returncode or 1
    kib, code = map(int, report.read_text().split())
    return kib * 1024, seconds, code


def run_memory(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    import zoo

    info = run_info(args)
    shape = zoo.model_spec(args.memory_model).image_shape
    threads = str(args.threads)
    env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        torch_rss = peak_rss([sys.executable, "-c", "import torch"], env, Path(tmp) / "torch.log")[0]
        for n in args.memory_n:
            out_dir = Path(tmp) / f"n{n}"
            cmd = [sys.executable, "-m", "zoo", "sample", args.memory_model, "-n", str(n), "--seed", str(args.seed),
                   "--steps", str(args.memory_steps), "--batch-size", str(args.memory_batch_size),
                   "--out-dir", str(out_dir)]
            print(f"[ddpm-peers] memory: zoo sample -n {n} ...", file=sys.stderr, flush=True)
            rss, seconds, rc = peak_rss(cmd, env, Path(tmp) / f"n{n}.log")
            written = len(list(out_dir.glob("*.png"))) if out_dir.is_dir() else 0
            tail = (Path(tmp) / f"n{n}.log").read_text().strip().splitlines()[-1:]
            runs.append({"n": n, "command": " ".join(["zoo", *cmd[3:-1], "DIR"]), "peak_rss_bytes": rss,
                         "seconds": seconds, "exit_code": rc, "pngs_written": written, "output": tail,
                         "images_tensor_bytes": n * int(torch.Size(shape).numel()) * 4})
    base = runs[0]
    for r in runs:
        r["ratio_rss_to_first"] = r["peak_rss_bytes"] / base["peak_rss_bytes"]
    mib = 2**20
    table([("zoo sample", "peak RSS MiB", "ratio", "images held MiB", "PNGs", "s", "exit"),
           *((f"-n {r['n']}", f"{r['peak_rss_bytes'] / mib:.0f}", f"{r['ratio_rss_to_first']:.3f}",
              f"{r['images_tensor_bytes'] / mib:.1f}", str(r["pngs_written"]), f"{r['seconds']:.0f}",
              str(r["exit_code"])) for r in runs)])
    for r in runs:
        if r["exit_code"]:
            print(f"-n {r['n']} failed (exit {r['exit_code']}): {' '.join(r['output'])}")
    print(f"{args.memory_model}, --steps {args.memory_steps} --batch-size {args.memory_batch_size}, each in its "
          f"own process with OMP_NUM_THREADS={threads}; 'images held' is the float32 tensor sample() returns "
          f"(all n images are kept until the PNGs are written); `python -c 'import torch'` alone peaks at "
          f"{torch_rss / mib:.0f} MiB")
    print(footer(info))
    return {**info, "part": "memory", "model": args.memory_model, "steps": args.memory_steps,
            "batch_size": args.memory_batch_size, "import_torch_peak_rss_bytes": torch_rss, "runs": runs}


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("parts", nargs="*", metavar="PART", help="sampling, training, memory (default: all three)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json-dir", type=Path, default=ROOT / "bench" / "results",
                        help="where ddpm_peers_<part>.json go (default bench/results)")
    group = parser.add_argument_group("sampling")
    group.add_argument("--sample-batch", type=int, default=4, help="images per sample() / pipeline call (default 4)")
    group.add_argument("--ddim-steps", type=int, default=50)
    group.add_argument("--repeat", type=int, default=3, help="timed runs of each side, alternating (default 3)")
    group.add_argument("--compile", action="store_true",
                       help="both networks under torch.compile (nn.Module.compile, inductor with frozen weights); "
                            "the compilation is in the untimed warm-up")
    group = parser.add_argument_group("training")
    group.add_argument("--train-steps", type=int, default=40, help="timed steps of each model (default 40)")
    group.add_argument("--train-batch", type=int, default=32)
    group.add_argument("--ours-config", default="{}", help="JSON config for zoo.create('ddpm') (default: its own)")
    group.add_argument("--peer-dim", type=int, default=32)
    group.add_argument("--peer-dim-mults", type=int, nargs="+", default=[1, 2, 2])
    group.add_argument("--no-venv", action="store_true", help="do not install the peer: run in this interpreter")
    group.add_argument("--check-venv", action="store_true",
                       help="only make (or reuse) the peers' virtualenv and check that it sees torch and the zoo")
    group = parser.add_argument_group("memory")
    group.add_argument("--memory-model", default="ddpm-fashion")
    group.add_argument("--memory-n", type=int, nargs="+", default=[1000, 10000])
    group.add_argument("--memory-steps", type=int, default=1)
    group.add_argument("--memory-batch-size", type=int, default=250)
    args = parser.parse_args()
    if args.check_venv:
        peers.check_venv("ddpm-peers")  # does not return
    if set(args.parts) - set(PARTS):
        parser.error(f"unknown parts {sorted(set(args.parts) - set(PARTS))}; choose from {', '.join(PARTS)}")
    parts = [p for p in PARTS if p in args.parts] or list(PARTS)
    if min(args.threads, args.sample_batch, args.ddim_steps, args.repeat, args.train_steps, args.train_batch,
           args.memory_steps, args.memory_batch_size, *args.memory_n) < 1:
        parser.error("counts must be positive")
    if "training" in parts and not args.no_venv and not in_venv():
        setup_venv_and_reexec()  # does not return

    import torch

    torch.set_num_threads(args.threads)
    args.json_dir.mkdir(parents=True, exist_ok=True)
    for part in parts:
        print(f"\n== {part}")
        result = {"sampling": run_sampling, "training": run_training, "memory": run_memory}[part](args)
        suffix = "_compiled" if args.compile and part == "sampling" else ""
        path = args.json_dir / f"ddpm_peers_{part}{suffix}.json"
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
