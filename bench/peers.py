"""Side by side with peer packages: our VAE vs pythae's VAE, our DCGAN vs a DCGAN from PyPI.

    python bench/peers.py [--steps 300] [--batch-size 64] [--num-samples 2000] [--json bench/results/peers.json]

Each pair trains for the same number of optimizer steps on the same Fashion-MNIST
train batches, with the steps of the two models interleaved (ours, peer, peer, ours,
...) so that both see the same load on a busy machine; images/s counts the wall clock
of the training steps only. Then N samples (seed 0) from each model go through our
Fashion-MNIST classifier and get a Fréchet distance to the train split, next to the
real-vs-real floor (N test images against the same reference).

The peers are not dependencies of the zoo: this script makes (or reuses) a virtualenv
at bench/.venv-peers that sees every package of the interpreter running it (a virtualenv's
too, through a .pth file, so the installed torch and the zoo are reused, never downloaded),
pip-installs the peers there with torch pinned to the installed version, and re-executes
itself inside it. ``--check-venv`` only makes the virtualenv and checks what it sees.
See bench/README.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

ROOT = Path(__file__).resolve().parents[1]
# where the peers are installed; ZOO_BENCH_VENV moves it (the tests use a temporary folder)
VENV = Path(os.environ.get("ZOO_BENCH_VENV") or ROOT / "bench" / ".venv-peers").resolve()
VENV_PYTHON = VENV / "bin" / "python"
PARENT_PTH = "_zoo_bench_parent.pth"  # in the venv's site-packages: the packages of the interpreter that made it
ATTEMPTS_ENV = "ZOO_BENCH_PEER_ATTEMPTS"

VAE_PEER = "pythae"
# DCGAN peers in order of preference; the first that installs and imports is used.
DCGAN_CANDIDATES = ("torchgan", "torch-mimicry", "vegans", "lightning-bolts")
IMPORT_PROBES = {
    "pythae": "from pythae.models import VAE, VAEConfig; from pythae.samplers import NormalSampler",
    "torchgan": "from torchgan.models import DCGANGenerator, DCGANDiscriminator; "
                "from torchgan.losses import MinimaxGeneratorLoss, MinimaxDiscriminatorLoss",
    "torch-mimicry": "from torch_mimicry.nets.dcgan import dcgan_32",
    "vegans": "import vegans",
    "lightning-bolts": "from pl_bolts.models.gans import DCGAN",
}
# the peers this script can drive; the others are probed and reported only
DCGAN_ADAPTERS = ("torchgan",)


# --------------------------------------------------------------------------- venv and installs


def _tail(text: str, lines: int = 3) -> str:
    keep = [ln.strip() for ln in text.strip().splitlines()
            if ln.strip() and not ln.startswith("WARNING: Location")]  # pip's noise about absent mirrors
    return " | ".join(keep[-lines:])


def _venv_run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_PYTHON), "-c", code], capture_output=True, text=True)


def _probe(package: str) -> str | None:
    """None when the package imports in the venv, else why not."""
    res = _venv_run(IMPORT_PROBES[package])
    if res.returncode == 0:
        return None
    if res.returncode < 0:
        return f"import crashed with signal {-res.returncode} ({IMPORT_PROBES[package]!r})"
    return f"import failed: {_tail(res.stderr, 1)}"


def _installed(package: str) -> bool:
    res = _venv_run(f"import importlib.metadata as m; m.version({package!r})")
    return res.returncode == 0


def _pip_install(package: str, constraints: Path) -> str | None:
    """None on success, else the end of pip's error output."""
    print(f"[peers] pip install {package} into {_venv_rel(VENV)} ...", file=sys.stderr, flush=True)
    res = subprocess.run([str(VENV_PYTHON), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                          "-c", str(constraints), package], capture_output=True, text=True)
    if res.returncode == 0:
        return None
    return f"pip install failed (exit {res.returncode}): {_tail(res.stdout + res.stderr, 4)}"


def _ensure_peer(package: str, constraints: Path) -> dict[str, Any]:
    attempt: dict[str, Any] = {"package": package, "ok": False, "error": None}
    if not _installed(package):
        attempt["error"] = _pip_install(package, constraints)
        if attempt["error"]:
            return attempt
    attempt["error"] = _probe(package)
    attempt["ok"] = attempt["error"] is None
    return attempt


def parent_site_dirs() -> list[str]:
    """The site-packages folders of the interpreter running this script: a virtualenv's own (and the
    base interpreter's, if it was made with --system-site-packages), or the system's, and the user's."""
    import site

    dirs = list(site.getsitepackages())
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    return [d for d in dict.fromkeys(dirs) if Path(d).is_dir()]


def _venv_rel(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def prepare_venv(tag: str) -> tuple[str, Path]:
    """Make (or reuse) the peers' virtualenv; return the torch version it must keep and its pip constraints file.

    The venv is made without --system-site-packages: that option would show it the *base* interpreter's
    packages, which, for a script run from a virtualenv, lack the torch and the zoo of that virtualenv.
    Instead a .pth file in the venv adds the site-packages of the interpreter running this script
    (``site.addsitedir``, so their own .pth files, the zoo's editable install among them, work too).
    It is rewritten on every run, so the venv follows whichever interpreter runs the benchmark.
    """
    torch_version = importlib.metadata.version("torch")
    version = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if VENV_PYTHON.exists():
        made_by = _venv_run("import sys; print(f'{sys.version_info[0]}.{sys.version_info[1]}')").stdout.strip()
        if made_by != version:  # a venv of another Python cannot load this interpreter's packages: start over
            print(f"[{tag}] {_venv_rel(VENV)} is Python {made_by or '?'}, this is {version}: making it again",
                  file=sys.stderr, flush=True)
            import shutil

            shutil.rmtree(VENV)
    if not VENV_PYTHON.exists():
        print(f"[{tag}] creating {_venv_rel(VENV)}", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    purelib = _venv_run("import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    lines = [f"import site; site.addsitedir({d!r})" for d in parent_site_dirs()]
    (Path(purelib) / PARENT_PTH).write_text("\n".join(lines) + "\n")
    check = _venv_run("import importlib.metadata as m, zoo; print(m.version('torch'))")
    if check.returncode != 0 or check.stdout.strip() != torch_version:
        sys.exit(f"{VENV} does not see torch {torch_version} and the zoo ({_tail(check.stderr or check.stdout)});"
                 f" delete it and rerun")
    # keep what the zoo runs on: torch (never re-downloaded), torchvision and numpy as installed
    pins = [f"{name}=={version.split('+')[0]}" for name in ("torch", "torchvision", "numpy")
            if (version := version_of(name))]
    constraints = VENV / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")
    return torch_version, constraints


def check_venv(tag: str) -> None:
    """``--check-venv``: make (or reuse) the peers' virtualenv, say what it sees, install nothing, and exit."""
    torch_version, _ = prepare_venv(tag)
    seen = _venv_run("import sys, zoo, torch; print(sys.prefix, torch.__version__, zoo.__file__)").stdout.split()
    print(f"[{tag}] {_venv_rel(VENV)} ready: python {seen[0]}, torch {seen[1]}, zoo from {seen[2]} "
          f"(packages of {sys.prefix})")
    sys.exit(0)


def reexec_in_venv(script: str, torch_version: str, env: dict[str, str]) -> NoReturn:
    """Check that the peer installs left torch alone, then exec ``script`` inside the venv with ``env`` added."""
    after = _venv_run("import importlib.metadata as m, torch; print(m.version('torch'))").stdout.strip()
    if after != torch_version:
        sys.exit(f"a peer install changed torch in {VENV} from {torch_version} to {after}; delete the venv")
    sys.stdout.flush()
    os.execve(str(VENV_PYTHON), [str(VENV_PYTHON), str(Path(script).resolve()), *sys.argv[1:]],
              {**os.environ, **env})


def setup_venv_and_reexec(args: argparse.Namespace) -> None:
    """Make bench/.venv-peers, install the peers there and exec this script inside it."""
    torch_version, constraints = prepare_venv("peers")
    attempts: dict[str, list] = {"vae": [], "dcgan": []}
    if "vae" in args.pairs:
        attempts["vae"].append(_ensure_peer(VAE_PEER, constraints))
    for package in DCGAN_CANDIDATES if "dcgan" in args.pairs else ():
        attempt = _ensure_peer(package, constraints)
        if attempt["ok"] and package not in DCGAN_ADAPTERS:
            attempt["ok"] = False
            attempt["error"] = "installs and imports, but this script has no adapter for it yet"
        attempts["dcgan"].append(attempt)
        if attempt["ok"]:
            break
    for kind, tried in attempts.items():
        for a in tried:
            print(f"[peers] {kind} peer {a['package']}: {'ok' if a['ok'] else a['error']}", file=sys.stderr)
    reexec_in_venv(__file__, torch_version, {ATTEMPTS_ENV: json.dumps(attempts)})


def in_venv() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


# --------------------------------------------------------------------------- the benchmark proper


class _Backward:
    """The one method of an Accelerate accelerator that the zoo's training steps call."""

    def backward(self, loss) -> None:
        loss.backward()


def as_float(values: Any) -> Any:
    """A step's returned losses (floats, tensors, or a dict of them) as floats, for the JSON."""
    if isinstance(values, dict):
        return {k: as_float(v) for k, v in values.items()}
    return None if values is None else float(values)


def version_of(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None


def batch_indices(n: int, steps: int, batch_size: int, seed: int) -> list:
    """Shuffled epochs of indices, drop-last, shared by both models of a pair."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    out, perm, pos = [], torch.randperm(n, generator=gen), 0
    for _ in range(steps):
        if pos + batch_size > n:
            perm, pos = torch.randperm(n, generator=gen), 0
        out.append(perm[pos : pos + batch_size])
        pos += batch_size
    return out


def race(steps: list, ours, peer) -> tuple[float, float, str | None]:
    """Run both step functions over the same batches, alternating who goes first, and
    time each call. Returns (seconds ours, seconds peer, peer error). A failing peer is
    dropped and ours trains on alone."""
    t_ours = t_peer = 0.0
    error = None
    for i, idx in enumerate(steps):
        for who in (("ours", "peer") if i % 2 == 0 else ("peer", "ours")):
            if who == "peer" and peer is None:
                continue
            t0 = time.perf_counter()
            if who == "ours":
                ours(i, idx)
                t_ours += time.perf_counter() - t0
            else:
                try:
                    peer(i, idx)
                except Exception as err:  # a peer that breaks on this torch is a result, not a crash
                    error = f"training step {i} failed: {type(err).__name__}: {err}"
                    peer = None
                    continue
                t_peer += time.perf_counter() - t0
    return t_ours, t_peer, error


def build_pythae_vae(z_dim: int = 16, c: int = 32, hidden: int = 256):
    """pythae's VAE with an encoder and decoder laid out like ours (two stride-2 4×4 convs,
    a 256-unit layer, latent 16, mirrored decoder), Bernoulli (BCE) reconstruction loss."""
    from pythae.models import VAE, VAEConfig
    from pythae.models.base.base_utils import ModelOutput
    from pythae.models.nn import BaseDecoder, BaseEncoder
    from torch import nn

    s = 7

    class Encoder(BaseEncoder):
        def __init__(self) -> None:
            BaseEncoder.__init__(self)
            self.net = nn.Sequential(
                nn.Conv2d(1, c, 4, 2, 1), nn.SiLU(), nn.Conv2d(c, 2 * c, 4, 2, 1), nn.SiLU(),
                nn.Flatten(), nn.Linear(2 * c * s * s, hidden), nn.SiLU())
            self.mu, self.log_var = nn.Linear(hidden, z_dim), nn.Linear(hidden, z_dim)

        def forward(self, x):
            h = self.net(x * 2 - 1)  # same input scaling as ours
            return ModelOutput(embedding=self.mu(h), log_covariance=self.log_var(h))

    class Decoder(BaseDecoder):
        def __init__(self) -> None:
            BaseDecoder.__init__(self)
            self.net = nn.Sequential(
                nn.Linear(z_dim, hidden), nn.SiLU(), nn.Linear(hidden, 2 * c * s * s), nn.SiLU(),
                nn.Unflatten(1, (2 * c, s, s)), nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.SiLU(),
                nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Sigmoid())

        def forward(self, z):
            return ModelOutput(reconstruction=self.net(z))

    config = VAEConfig(input_dim=(1, 28, 28), latent_dim=z_dim, reconstruction_loss="bce")
    return VAE(config, encoder=Encoder(), decoder=Decoder())


def n_params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def run_vae_pair(args, x, y, attempts) -> dict[str, Any]:
    import torch
    from zoo_plugins.vae.train import VAETrainingStep

    import zoo

    peer_attempt = attempts[0] if attempts else {"package": VAE_PEER, "ok": False, "error": "not attempted"}
    torch.manual_seed(args.seed)
    ours = zoo.create("vae").train()
    kw = {} if args.vae_kl_warmup is None else {"kl_warmup_steps": args.vae_kl_warmup}
    step = VAETrainingStep(ours, **kw)
    beta = min(1.0, (args.steps - 1) / step.kl_warmup_steps) if step.kl_warmup_steps else 1.0
    step.optimizers = step.configure_optimizers()
    acc = _Backward()
    losses: dict[str, float] = {}

    def ours_step(i, idx):
        losses["ours"] = step.step(x[idx], y[idx], i, acc)["loss"]

    peer = peer_step = None
    peer_error = peer_attempt["error"]
    if peer_attempt["ok"]:
        from pythae.data.datasets import DatasetOutput

        torch.manual_seed(args.seed)
        peer = build_pythae_vae().train()
        opt = torch.optim.Adam(peer.parameters(), lr=1e-3)

        def peer_step(i, idx):
            loss = peer(DatasetOutput(data=x[idx])).loss  # pythae's own forward and ELBO
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            losses["peer"] = loss.item()

    print(f"[peers] vae pair: {args.steps} steps of batch {args.batch_size} ...", file=sys.stderr, flush=True)
    t_ours, t_peer, err = race(batch_indices(len(x), args.steps, args.batch_size, args.seed), ours_step, peer_step)
    peer_error = peer_error or err
    images = args.steps * args.batch_size
    out = {
        "pair": "vae", "steps": args.steps, "batch_size": args.batch_size,
        "ours": {"model": "zoo vae (default config) + VAETrainingStep", "params": n_params(ours),
                 "train_seconds": t_ours, "img_per_s": images / t_ours,
                 "final_loss": as_float(losses.get("ours")), "samples": ours.sample(args.num_samples, seed=args.seed),
                 "kl_warmup_steps": step.kl_warmup_steps, "final_kl_weight": beta},
        "peer": {"package": VAE_PEER, "version": version_of(VAE_PEER), "error": peer_error, "attempts": attempts,
                 "model": "pythae.models.VAE, our-layout conv encoder/decoder, BCE loss, Adam(1e-3)"},
    }
    if peer is not None and not peer_error:
        from pythae.samplers import NormalSampler

        peer.eval()
        torch.manual_seed(args.seed)
        with torch.no_grad():
            samples = NormalSampler(peer).sample(num_samples=args.num_samples, batch_size=500, return_gen=True)
        out["peer"].update({"params": n_params(peer), "train_seconds": t_peer, "img_per_s": images / t_peer,
                            "final_loss": losses.get("peer"), "samples": samples.clamp(0, 1).cpu()})
    return out


def resize(images, size: int):
    import torch.nn.functional as F

    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)


def forward_mflops(module, *inputs) -> float:
    """Forward FLOPs of one call in millions (torch's FlopCounterMode: convolutions and matmuls)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        module(*inputs)
    return counter.get_total_flops() / 1e6


def matched_width(build, probe, target: float) -> int:
    """The ``step_channels`` whose network (``build(step_channels)``) has the forward FLOPs per image
    closest to ``target`` (FLOPs grow with the width, so a bisection finds it)."""
    lo, hi = 4, 512
    while hi - lo > 1:  # smallest width with FLOPs >= target is hi
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if forward_mflops(build(mid), probe) < target else (lo, mid)
    return min((lo, hi), key=lambda w: abs(forward_mflops(build(w), probe) - target))


def run_dcgan_pair(args, x, y, attempts) -> dict[str, Any]:
    import torch

    import zoo
    from zoo.gan import GANTrainingStep

    chosen = next((a for a in attempts if a["ok"]), None)
    torch.manual_seed(args.seed)
    ours = zoo.create("dcgan").train()
    ours_flops = {"G": forward_mflops(ours.G.eval(), torch.randn(1, ours.z_dim)),
                  "D": forward_mflops(ours.D.eval(), torch.randn(1, 1, 28, 28))}
    ours.train()
    step = GANTrainingStep(ours)
    step.optimizers = step.configure_optimizers()
    acc = _Backward()
    losses: dict[str, Any] = {}

    def ours_step(i, idx):
        losses["ours"] = step.step(x[idx], y[idx], i, acc)

    peer_step = generator = None
    peer_error = None if chosen else "no candidate worked: " + "; ".join(
        f"{a['package']}: {a['error']}" for a in attempts)
    package = chosen["package"] if chosen else None
    if package == "torchgan":
        from torchgan.losses import MinimaxDiscriminatorLoss, MinimaxGeneratorLoss
        from torchgan.models import DCGANDiscriminator, DCGANGenerator

        def build_g(width):
            return DCGANGenerator(encoding_dims=100, out_size=32, out_channels=1, step_channels=width).eval()

        def build_d(width):
            return DCGANDiscriminator(in_size=32, in_channels=1, step_channels=width).eval()

        # torchgan's own modules for 32×32 and one channel, at the same size as ours: by default each
        # network is as wide as makes its forward FLOPs per image closest to our network's
        if args.dcgan_peer_channels == "auto":
            widths = (matched_width(build_g, torch.randn(1, 100), ours_flops["G"]),
                      matched_width(build_d, torch.randn(1, 1, 32, 32), ours_flops["D"]))
        else:
            widths = tuple(int(w) for w in args.dcgan_peer_channels.split(","))
        peer_flops = {"G": forward_mflops(build_g(widths[0]), torch.randn(1, 100)),
                      "D": forward_mflops(build_d(widths[1]), torch.randn(1, 1, 32, 32))}
        torch.manual_seed(args.seed)
        generator = build_g(widths[0]).train()
        discriminator = build_d(widths[1]).train()
        opt_g = torch.optim.Adam(generator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        opt_d = torch.optim.Adam(discriminator.parameters(), lr=2e-4, betas=(0.5, 0.999))
        loss_d, loss_g = MinimaxDiscriminatorLoss(), MinimaxGeneratorLoss()  # non-saturating G loss by default
        x32 = resize(x, 32) * 2 - 1  # torchgan's DCGAN needs a power-of-two size; [-1, 1] for its tanh
        device = torch.device("cpu")

        def peer_step(i, idx):
            # torchgan's own update procedure (what its Trainer calls): D's train_ops, then G's
            real = x32[idx]
            d = loss_d.train_ops(generator, discriminator, opt_d, real, device)
            g = loss_g.train_ops(generator, discriminator, opt_g, device, len(real))
            losses["peer"] = {"d_loss": d, "g_loss": g}

    print(f"[peers] dcgan pair: {args.steps} steps of batch {args.batch_size} ...", file=sys.stderr, flush=True)
    t_ours, t_peer, err = race(batch_indices(len(x), args.steps, args.batch_size, args.seed), ours_step, peer_step)
    peer_error = peer_error or err
    images = args.steps * args.batch_size
    out = {
        "pair": "dcgan", "steps": args.steps, "batch_size": args.batch_size,
        "ours": {"model": "zoo dcgan (default config) + zoo.gan.GANTrainingStep, no EMA", "params": n_params(ours),
                 "params_G_D": [n_params(ours.G), n_params(ours.D)], "forward_mflops_per_image": ours_flops,
                 "train_seconds": t_ours, "img_per_s": images / t_ours,
                 "final_loss": as_float(losses.get("ours")),
                 "samples": ours.sample(args.num_samples, seed=args.seed)},
        "peer": {"package": package, "version": version_of(package) if package else None, "error": peer_error,
                 "attempts": attempts},
    }
    if generator is not None and not peer_error:
        generator.eval()  # as ours: model.sample runs G in eval mode (batch-norm running statistics)
        torch.manual_seed(args.seed)
        chunks = []
        with torch.no_grad():
            for start in range(0, args.num_samples, 500):
                z = torch.randn(min(500, args.num_samples - start), generator.encoding_dims)
                chunks.append(resize((generator(z) + 1) / 2, 28).clamp(0, 1))
        out["peer"].update({
            "model": f"torchgan DCGANGenerator/DCGANDiscriminator (32×32, step_channels {widths[0]} and {widths[1]}), "
                     "Minimax losses (non-saturating) via their train_ops, Adam(2e-4, (0.5, 0.999)); data resized "
                     "28→32 bilinear, samples 32→28 bilinear",
            "step_channels_G_D": list(widths), "forward_mflops_per_image": peer_flops,
            "params": n_params(generator) + n_params(discriminator),
            "params_G_D": [n_params(generator), n_params(discriminator)], "train_seconds": t_peer,
            "img_per_s": images / t_peer, "final_loss": losses.get("peer"), "samples": torch.cat(chunks)})
    return out


def load_extractor(random_classifier: bool):
    import torch

    from zoo.metrics.classifier import FashionClassifier, classifier_digest, load_classifier

    if random_classifier:
        torch.manual_seed(0)
        return FashionClassifier().eval(), "RANDOM-INIT FashionClassifier (smoke test only; FDs meaningless)"
    clf = load_classifier()
    return clf, f"fashion-mnist-classifier@{classifier_digest()} penultimate ({clf.num_features}-d)"


def require_classifier(args) -> None:
    from zoo.metrics.classifier import classifier_folder

    path = classifier_folder() / "model.safetensors"
    if not args.random_classifier and not path.is_file():
        sys.exit(f"the evaluation classifier is missing ({path}); train it with "
                 f"`python -m zoo.metrics.classifier --out {classifier_folder()}`, or pass --random-classifier "
                 f"for a smoke test (its FDs mean nothing)")


def fmt(v: Any, spec: str) -> str:
    return "-" if v is None else format(v, spec)


def print_table(result: dict[str, Any]) -> None:
    cols = ("pair", "steps", "batch", "img/s ours", "img/s peer", "ratio", "FD ours", "FD peer", "ratio",
            "FD floor", "peer")
    rows = []
    for p in result["pairs"]:
        o, q = p["ours"], p["peer"]
        rows.append((p["pair"], str(p["steps"]), str(p["batch_size"]), fmt(o.get("img_per_s"), ".0f"),
                     fmt(q.get("img_per_s"), ".0f"), fmt(p["ratio_img_per_s"], ".2f"), fmt(o.get("fd"), ".4g"),
                     fmt(q.get("fd"), ".4g"), fmt(p["ratio_fd"], ".2f"), fmt(p["floor_fd"], ".3g"),
                     f"{q['package']} {q['version']}" if q.get("package") else "none"))
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    line = "  ".join(c.rjust(w) if i not in (0, 10) else c.ljust(w) for i, (c, w) in enumerate(zip(cols, widths)))
    print(line.rstrip())
    print("-" * len(line.rstrip()))
    for r in rows:
        print("  ".join(c.rjust(w) if i not in (0, 10) else c.ljust(w)
                        for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    print("ratios are ours/peer: img/s above 1 = ours trains faster; FD below 1 = ours samples closer to the data")
    for p in result["pairs"]:
        if p["peer"].get("error"):
            print(f"{p['pair']}: peer failed: {p['peer']['error']}")
        for note in p.get("notes", []):
            print(f"{p['pair']}: {note}")
    hw = result["hardware"]
    print(f"torch {result['torch']}, {hw['cpu_count']} CPUs, {hw['torch_threads']} torch threads, "
          f"N = {result['num_samples']} samples, extractor: {result['extractor']}")


def benchmark(args: argparse.Namespace) -> dict[str, Any]:
    import torch

    from zoo.data import load_fashion_mnist
    from zoo.metrics.evaluate import extract, reference_features
    from zoo.metrics.quality import frechet_distance

    torch.set_num_threads(args.threads)
    attempts = json.loads(os.environ.get(ATTEMPTS_ENV, "null")) or {
        "vae": [{"package": VAE_PEER, "ok": version_of(VAE_PEER) is not None, "error": None}],
        "dcgan": [{"package": "torchgan", "ok": version_of("torchgan") is not None, "error": None}]}
    for tried in attempts.values():  # --no-venv: say plainly what is missing
        for a in tried:
            if not a["ok"] and a["error"] is None:
                a["error"] = f"{a['package']} is not installed in this interpreter"
    x_train, y_train = load_fashion_mnist("train")
    x_test, _ = load_fashion_mnist("test")
    classifier, extractor = load_extractor(args.random_classifier)

    pairs = []
    if "vae" in args.pairs:
        pairs.append(run_vae_pair(args, x_train, y_train, attempts["vae"]))
    if "dcgan" in args.pairs:
        pairs.append(run_dcgan_pair(args, x_train, y_train, attempts["dcgan"]))

    print("[peers] features and Fréchet distances ...", file=sys.stderr, flush=True)
    if args.random_classifier:
        real = extract(classifier, x_train)[0]  # not cached: the cache is keyed by the bundled classifier
    else:
        real = reference_features("train", classifier)
    gen = torch.Generator().manual_seed(args.seed)
    floor_idx = torch.randperm(len(x_test), generator=gen)[: args.num_samples]
    floor_images = x_test[floor_idx]
    floor_fd = frechet_distance(extract(classifier, floor_images)[0], real)
    for p in pairs:
        p["floor_fd"] = floor_fd
        p["notes"] = []
        for side in ("ours", "peer"):
            samples = p[side].pop("samples", None)
            p[side]["fd"] = None if samples is None else frechet_distance(extract(classifier, samples)[0], real)
        if p["pair"] == "vae" and p["ours"]["final_kl_weight"] < 1:
            p["notes"].append(f"our VAE's KL weight warms up over {p['ours']['kl_warmup_steps']} steps, so it ends "
                              f"at β = {p['ours']['final_kl_weight']:.2f} (pythae's VAE uses β = 1 throughout); "
                              f"see --vae-kl-warmup")
        if p["pair"] == "dcgan" and p["peer"].get("forward_mflops_per_image"):
            o, q = p["ours"], p["peer"]
            p["notes"].append(
                "sizes, forward MFLOPs per image G/D: ours {:.1f}/{:.1f}, peer {:.1f}/{:.1f} (step_channels {}/{}); "
                "parameters G/D: ours {:,}/{:,}, peer {:,}/{:,}".format(
                    o["forward_mflops_per_image"]["G"], o["forward_mflops_per_image"]["D"],
                    q["forward_mflops_per_image"]["G"], q["forward_mflops_per_image"]["D"], *q["step_channels_G_D"],
                    *o["params_G_D"], *q["params_G_D"]))
        if p["pair"] == "dcgan" and p["peer"].get("fd") is not None:
            # what the 28→32→28 round trip alone costs real images
            p["floor_fd_resampled"] = frechet_distance(extract(classifier, resize(resize(floor_images, 32), 28))[0],
                                                       real)
            p["notes"].append(f"real test images after the peer's 28→32→28 resizing score FD "
                              f"{p['floor_fd_resampled']:.3g} (floor {floor_fd:.3g})")
        o, q = p["ours"], p["peer"]
        p["ratio_img_per_s"] = o["img_per_s"] / q["img_per_s"] if q.get("img_per_s") else None
        p["ratio_fd"] = o["fd"] / q["fd"] if q.get("fd") else None
    if len(floor_idx) < args.num_samples:
        for p in pairs:
            p["notes"].append(f"floor uses all {len(floor_idx)} test images (fewer than {args.num_samples})")
    return {
        "benchmark": "bench/peers.py", "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "data": f"fashion-mnist train ({len(x_train)} images), same shuffled batches for both models of a pair",
        "metric": "Fréchet distance of classifier features of N samples to the whole train split",
        "extractor": extractor, "random_classifier": args.random_classifier,
        "num_samples": args.num_samples, "seed": args.seed,
        "floor": {"fd": floor_fd, "what": f"{len(floor_idx)} Fashion-MNIST test images vs the train split"},
        "torch": torch.__version__, "python": platform.python_version(),
        "hardware": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                     "machine": platform.machine(), "processor": platform.processor() or None,
                     "device": "cpu"},
        "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
        "pairs": pairs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=300, help="optimizer steps per model (default 300)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--num-samples", type=int, default=2000, help="samples per model for the FD (default 2000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    parser.add_argument("--pairs", default="vae,dcgan", help="comma-separated subset of vae,dcgan")
    parser.add_argument("--dcgan-peer-channels", default="auto",
                        help="torchgan's step_channels of G and D as 'G,D' (64,64 is torchgan's usual width), or "
                             "'auto' (default): each network as wide as makes its forward FLOPs closest to ours")
    parser.add_argument("--vae-kl-warmup", type=int, default=None,
                        help="our VAE's KL warm-up steps (default: the plugin's own, 2000)")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "peers.json")
    parser.add_argument("--random-classifier", action="store_true",
                        help="smoke test: a randomly initialised classifier instead of the bundled one")
    parser.add_argument("--no-venv", action="store_true",
                        help="run in this interpreter, installing nothing (peers must already be importable)")
    parser.add_argument("--check-venv", action="store_true",
                        help="only make (or reuse) the peers' virtualenv and check that it sees torch and the zoo")
    args = parser.parse_args()
    if args.check_venv:
        check_venv("peers")  # does not return
    args.pairs = [p.strip() for p in args.pairs.split(",") if p.strip()]
    if not set(args.pairs) <= {"vae", "dcgan"} or not args.pairs:
        parser.error("--pairs takes vae, dcgan or both")
    if args.dcgan_peer_channels != "auto" and not re.fullmatch(r"\d+,\d+", args.dcgan_peer_channels):
        parser.error("--dcgan-peer-channels takes 'auto' or two widths as G,D (64,64)")
    if args.steps < 1 or args.batch_size < 1 or args.num_samples < 2 or args.threads < 1:
        parser.error("--steps, --batch-size and --threads must be positive, --num-samples above 1")
    require_classifier(args)
    if not args.no_venv and not in_venv():
        setup_venv_and_reexec(args)  # does not return
    result = benchmark(args)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
