"""The shared training loop, on Hugging Face Accelerate.

Plugins give a ``TrainingStep`` (optimizers, one update, optional evaluation);
the loop owns everything else: data loading, device placement (one process, or
many under ``accelerate launch``), an EMA of the weights, atomic resumable
checkpoints, a sample grid per epoch, a JSON-lines log, and the export of the
model folder that goes under ``model_cards/`` or to the Hub.
"""

from __future__ import annotations

import json
import math
import platform
import shutil
import sys
import time
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo import weights as W
from zoo.errors import BadInputError
from zoo.images import save_grid


class TrainingStep(ABC):
    """What a plugin supplies to train its architecture.

    Attributes:
        model: The model (possibly wrapped by Accelerate/DDP after ``bind``).
        optimizers: Set by the loop from ``configure_optimizers`` after preparation.
        ema_prefix: Only parameters whose names start with it get an EMA ("" = all).
    """

    ema_prefix: str = ""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.optimizers: dict[str, torch.optim.Optimizer] = {}

    def unwrap(self) -> nn.Module:
        """The bare model, under any DDP wrapper."""
        return getattr(self.model, "module", self.model)

    @abstractmethod
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by name (checkpointed under these names)."""

    @abstractmethod
    def step(self, images: torch.Tensor, labels: torch.Tensor, step: int, accelerator: Any) -> dict[str, float]:
        """One update on a batch: images ``(B, C, H, W)`` in ``[0, 1]``, labels ``(B,)``.

        Returns:
            Scalars to log (losses).
        """

    def on_train_end(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Called once with the final (EMA) model and the training data, before export;
        for statistics a model needs at sampling time (a fitted latent prior, say)."""
        return None

    def evaluate(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Held-out metrics for the model card, computed on the final model after training."""
        return {}


class EMA:
    """Exponential moving average of floating-point weights (Polyak averaging), with a
    warm-up so early averages are not dominated by the random initialisation."""

    def __init__(self, model: nn.Module, decay: float, prefix: str = "") -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()
                       if k.startswith(prefix) and v.is_floating_point()}
        self.num_updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.num_updates += 1
        decay = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        state = model.state_dict()
        for k, v in self.shadow.items():
            v.lerp_(state[k].detach(), 1 - decay)

    def copy_to(self, model: nn.Module) -> None:
        model.load_state_dict(self.shadow, strict=False)


@dataclass
class TrainConfig:
    """Options of ``zoo train`` (also written to ``train_config.json`` in the run folder)."""

    arch: str
    data: str = "fashion-mnist"
    out: str = "runs/model"
    epochs: int = 10
    batch_size: int = 128
    seed: int = 0
    ema_decay: float = 0.999  # 0 disables the EMA
    sample_every: int = 1  # epochs between sample grids
    checkpoint_every: int = 500  # steps between checkpoints (and one per epoch)
    num_workers: int = 0
    max_steps: int = 0  # 0: no limit; stops early for quick runs and tests
    device: str | None = None
    mixed_precision: str = "no"
    model_config: dict[str, Any] = field(default_factory=dict)
    step_config: dict[str, Any] = field(default_factory=dict)


def _write_checkpoint(folder: Path, model: nn.Module, ema: EMA | None,
                      optimizers: dict[str, torch.optim.Optimizer], state: dict[str, Any]) -> None:
    """Write the checkpoint into a fresh folder and swap it in: a crash leaves the previous one."""
    from safetensors.torch import save_file

    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
              str(tmp / "model.safetensors"))
    if ema is not None:
        save_file({k: v.cpu().contiguous() for k, v in ema.shadow.items()}, str(tmp / "ema.safetensors"))
    torch.save({k: o.state_dict() for k, o in optimizers.items()}, tmp / "optimizers.pt")
    state = {**state, "ema_updates": ema.num_updates if ema else 0,
             "rng": torch.get_rng_state().tolist()}
    (tmp / "state.json").write_text(json.dumps(state))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _read_checkpoint(folder: Path, model: nn.Module, ema: EMA | None,
                     optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
    model.load_state_dict(W.load_state_dict(folder / "model.safetensors"))
    if ema is not None and (folder / "ema.safetensors").exists():
        ema.shadow = W.load_state_dict(folder / "ema.safetensors")
    # our own file; weights_only=True refuses anything but tensors and plain containers
    opt_states = torch.load(folder / "optimizers.pt", weights_only=True)
    for k, o in optimizers.items():
        o.load_state_dict(opt_states[k])
    state = json.loads((folder / "state.json").read_text())
    torch.set_rng_state(torch.tensor(state.pop("rng"), dtype=torch.uint8))
    if ema is not None:
        ema.num_updates = state.get("ema_updates", 0)
    return state


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os

    cpu = platform.processor() or platform.machine()
    return f"CPU ({cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()})"


def train(cfg: TrainConfig, *, resume: bool = False, command: str = "", progress: bool | None = None) -> Path:
    """Train ``cfg.arch`` on ``cfg.data``; return the exported model folder (``<out>/model``).

    The run folder holds ``checkpoint/`` (resumable), ``samples/epoch_NNN.png``,
    ``log.jsonl``, ``train_config.json`` and, at the end, ``model/``.
    """
    from accelerate import Accelerator
    from accelerate.utils import set_seed
    from tqdm.auto import tqdm

    import zoo
    from zoo.api import resolve_device
    from zoo.data import load_dataset
    from zoo.registry import import_object

    out = Path(cfg.out)
    ckpt = out / "checkpoint"
    if resume and not (ckpt / "state.json").exists():
        raise BadInputError(f"--resume: no checkpoint in {ckpt}")
    if not resume and ckpt.exists():
        raise BadInputError(f"{out} already holds a run; pass --resume to continue it or choose another --out")

    spec = zoo.model_spec(cfg.arch)
    if not spec.trainer:
        raise BadInputError(f"architecture '{cfg.arch}' has no training step registered")
    device = resolve_device(cfg.device)
    images, labels = load_dataset(cfg.data, "train")
    if images.shape[1:] != tuple(spec.image_shape):
        raise BadInputError(
            f"data images are {tuple(images.shape[1:])} but '{cfg.arch}' makes {tuple(spec.image_shape)}"
        )
    set_seed(cfg.seed)
    accelerator = Accelerator(cpu=device.type == "cpu", mixed_precision=cfg.mixed_precision)
    model = zoo.create(cfg.arch, **cfg.model_config)
    step_fn: TrainingStep = import_object(spec.trainer)(model, **cfg.step_config)
    opts = step_fn.configure_optimizers()
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, labels), batch_size=cfg.batch_size, shuffle=True,
        drop_last=True, num_workers=cfg.num_workers,
        generator=torch.Generator().manual_seed(cfg.seed),
    )
    prepared = accelerator.prepare(model, *opts.values(), loader)
    step_fn.model = prepared[0]
    step_fn.optimizers = dict(zip(opts, prepared[1:-1]))
    loader = prepared[-1]
    bare = step_fn.unwrap()
    ema = EMA(bare, cfg.ema_decay, step_fn.ema_prefix) if cfg.ema_decay > 0 else None

    state: dict[str, Any] = {"epoch": 0, "step": 0, "wall_time_s": 0.0, "images_seen": 0}
    if resume:
        state = _read_checkpoint(ckpt, bare, ema, step_fn.optimizers)
        run_config = json.loads((out / "train_config.json").read_text())
    else:
        out.mkdir(parents=True, exist_ok=True)
        run_config = {**asdict(cfg), "commands": []}
    run_config["commands"].append(command)  # every invocation, so a resumed run's history is known
    (out / "train_config.json").write_text(json.dumps(run_config, indent=2))
    (out / "samples").mkdir(exist_ok=True)
    steps_per_epoch = len(loader)
    log = open(out / "log.jsonl", "a")
    main = accelerator.is_main_process

    def save() -> None:
        if main:
            _write_checkpoint(ckpt, bare, ema, step_fn.optimizers, state)

    def ema_model() -> Any:
        if ema is None:
            return bare
        import copy

        shadow = copy.deepcopy(bare)
        ema.copy_to(shadow)
        return shadow.eval()

    done = False
    start_epoch = state["epoch"]
    skip = state["step"] - start_epoch * steps_per_epoch  # batches already done in this epoch
    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        bar = tqdm(total=steps_per_epoch, initial=max(skip, 0), desc=f"epoch {epoch + 1}/{cfg.epochs}",
                   disable=(None if main else True) if progress is None else not progress, leave=False)
        bare.train()
        for i, (x, y) in enumerate(loader):
            if i < skip:
                continue
            metrics = step_fn.step(x, y, state["step"], accelerator)
            if ema is not None:
                ema.update(bare)
            state["step"] += 1
            state["images_seen"] += len(x) * accelerator.num_processes
            if any(not math.isfinite(v) for v in metrics.values()):
                save()
                raise BadInputError(f"training diverged at step {state['step']}: {metrics}")
            bar.update(1)
            bar.set_postfix({k: f"{v:.3f}" for k, v in metrics.items()})
            if state["step"] % 50 == 0 and main:
                log.write(json.dumps({"epoch": epoch, "step": state["step"], **metrics}) + "\n")
                log.flush()
            if cfg.checkpoint_every and state["step"] % cfg.checkpoint_every == 0:
                state["wall_time_s"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                save()
            if cfg.max_steps and state["step"] >= cfg.max_steps:
                done = True
                break
        bar.close()
        skip = 0
        state["wall_time_s"] += time.perf_counter() - t0
        if not done:
            state["epoch"] = epoch + 1
        save()
        if main:
            rate = state["images_seen"] / max(state["wall_time_s"], 1e-9)
            print(f"epoch {epoch + 1}/{cfg.epochs} step {state['step']} "
                  f"{', '.join(f'{k} {v:.4f}' for k, v in metrics.items())} "
                  f"({state['wall_time_s']:.0f} s, {rate:.0f} img/s)", file=sys.stderr, flush=True)
            if (epoch + 1) % cfg.sample_every == 0 or done or epoch + 1 == cfg.epochs:
                grid = ema_model().to(device).sample(64, seed=0)
                save_grid(grid, out / "samples" / f"epoch_{epoch + 1:03d}.png", nrow=8, force=True)
        if done:
            break

    final = ema_model()
    export = out / "model"
    if main:
        step_fn.on_train_end(final, images, labels)
        test_images, test_labels = _test_split(cfg.data)
        has_test = test_images is not None and test_labels is not None
        metrics = step_fn.evaluate(final, test_images, test_labels) if has_test else {}  # type: ignore[arg-type]
        run_info = {
            "commands": run_config["commands"], "epochs": state["epoch"], "steps": state["step"],
            "batch_size": cfg.batch_size, "images_seen": state["images_seen"],
            "wall_time_s": round(state["wall_time_s"], 1),
            "images_per_s": round(state["images_seen"] / max(state["wall_time_s"], 1e-9), 1),
            "hardware": hardware_description(device), "torch": torch.__version__,
            "data": cfg.data, "seed": cfg.seed, "ema_decay": cfg.ema_decay, "eval": metrics,
        }
        W.save_model_folder(final, export, card=None, half=False)
        (export / "training.json").write_text(json.dumps(run_info, indent=2) + "\n")
        save_grid(final.sample(64, seed=0), export / "samples.png", nrow=8, force=True)
        print(json.dumps(run_info, indent=2), file=sys.stderr)
    log.close()
    return export


def _test_split(data: str) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    from zoo.data import load_dataset
    from zoo.errors import DataError

    if data != "fashion-mnist":
        return None, None
    try:
        return load_dataset(data, "test")
    except DataError:
        return None, None
