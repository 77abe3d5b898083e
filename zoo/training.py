"""The shared training loop, on Hugging Face Accelerate.

Plugins give a ``TrainingStep`` (the data it needs, optimizers, one update, optional
evaluation); the loop owns everything else: data loading (one data set, or several
unpaired ones), device placement, gradient synchronisation across processes, an EMA
of the weights, atomic resumable checkpoints, a preview grid per epoch, a JSON-lines
log, and the export of the model folder that goes under ``model_cards/`` or to the Hub.

Several processes (``torchrun``, ``accelerate launch --multi_gpu``): every process starts
from rank 0's weights, draws its own noise and its own share of each batch, and every
``accelerator.backward`` a step calls averages the gradients of all parameters across the
processes. So a step is correct on N processes whichever of its modules it calls, and how
(DDP would only synchronise what runs through the wrapped module's ``forward``).
Buffers (batch-norm statistics) follow rank 0 after each step. Only the main process
prints, logs, and writes checkpoints, previews and the export.
"""

from __future__ import annotations

import functools
import json
import math
import platform
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import torch
from torch import nn

from zoo import weights as W
from zoo.errors import BadInputError
from zoo.images import save_grid


class TrainingStep(ABC):
    """What a plugin supplies to train its architecture.

    Attributes:
        data_sources: The data the step trains on, by name. One name (the default, ``("data",)``):
            ``step`` gets one batch of images and labels from ``zoo train --data SOURCE``. Several
            (CycleGAN's ``("a", "b")``): one data source each, read independently (unpaired), and
            ``step``, ``on_train_end`` and ``evaluate`` get dicts of images and of labels keyed by
            these names.
        model: The model, on the training device.
        optimizers: Set by the loop from ``configure_optimizers`` after preparation.
        ema_prefix: Only parameters whose names start with it (or with one of them, for a tuple)
            get an EMA ("" = all).
        total_steps: Set by the loop before training: the number of steps the run will take
            (for learning-rate schedules).
        channels_last: Store the model's weights channels-last when it trains on the CPU (set by
            the subclass; see ``to_channels_last``). On for convolutional networks where it was
            measured faster, off by default.
    """

    data_sources: tuple[str, ...] = ("data",)
    ema_prefix: str | tuple[str, ...] = ""
    channels_last: bool = False

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        if self.channels_last:
            to_channels_last(model)
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.total_steps = 0

    @classmethod
    def config_from_data(cls, data: dict[str, Any]) -> dict[str, Any]:
        """Architecture config the model takes from its training data, before it is built
        (a translator names its domains after the data sources, say); ``data`` maps each of
        ``data_sources`` to its ``zoo.data.Data``. Options the user gave with ``--config`` win."""
        return {}

    def unwrap(self) -> nn.Module:
        """The bare model (the loop no longer wraps it; kept for steps written against DDP)."""
        return getattr(self.model, "module", self.model)

    @abstractmethod
    def configure_optimizers(self) -> dict[str, torch.optim.Optimizer]:
        """Optimizers by name (checkpointed under these names)."""

    @abstractmethod
    def step(self, images: Any, labels: Any, step: int, accelerator: Any) -> Mapping[str, float | torch.Tensor]:
        """One update on a batch: images ``(B, C, H, W)`` in ``[0, 1]``, labels ``(B,)`` (dicts of
        them by source name for a step with several ``data_sources``).

        Call ``accelerator.backward(loss)`` for every backward pass: it averages the gradients
        across processes. ``step`` counts from 0 over the whole run.

        Returns:
            Scalars to log (losses), as Python floats or as detached 0-dim tensors
            (``loss.detach()``). Prefer tensors: ``loss.item()`` waits for the device on every
            step, while the loop reads tensors only when it logs (every ``LOG_EVERY`` steps),
            refreshes the progress bar or checks for divergence. A non-finite value stops the
            run either way ("training diverged at step N"), at most ``LOG_EVERY`` steps later
            for a tensor.
        """

    def prepare_data(self, data: dict[str, Any], run_folder: Path) -> dict[str, Any]:
        """Called once before training, on every process, with each data source's ``zoo.data.Data``:
        return what ``step`` should see instead (the latents of a frozen autoencoder, say). Work worth
        keeping goes under ``run_folder`` (written atomically: several processes may write it).
        ``on_train_end`` and ``evaluate`` still get the images."""
        return data

    def on_train_end(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
        """Called once with the final (EMA) model and the training data, before export;
        for statistics a model needs at sampling time (a fitted latent prior, say)."""
        return None

    def evaluate(self, model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """Held-out metrics for the model card, computed on the final model after training."""
        return {}


def to_channels_last(model: nn.Module) -> None:
    """Store a model's 4-d weights and buffers channels-last (NHWC) if it sits on the CPU; elsewhere
    leave it. The same values in another memory layout: oneDNN's CPU convolutions then skip the
    reordering of activations around every call and run 1.1-1.4x faster on the zoo's small
    convolutional networks (bench/README.md). Outputs come out channels-last too; saved weights
    are made contiguous as always."""
    tensors = [*model.parameters(), *model.buffers()]
    if tensors and all(t.device.type == "cpu" for t in tensors):
        model.to(memory_format=torch.channels_last)


def fused_optimizer_options(params: Iterable[torch.Tensor]) -> dict[str, Any]:
    """Keyword arguments for ``torch.optim.Adam``/``AdamW`` that run the same update faster:
    ``{"fused": True}`` (one kernel for all parameters instead of a handful per tensor) where torch
    has a fused kernel for every parameter's device and dtype (the CPU and CUDA among them), else
    ``{}``, torch's own default. A training step passes them on:
    ``torch.optim.Adam(params, lr=lr, **fused_optimizer_options(params))``."""
    from torch.utils._foreach_utils import _get_fused_kernels_supported_devices

    devices = set(_get_fused_kernels_supported_devices())
    params = list(params)
    if params and all(p.device.type in devices and p.is_floating_point() and not p.is_sparse for p in params):
        return {"fused": True}
    return {}


def align_optimizer_state(optimizers: Iterable[torch.optim.Optimizer]) -> None:
    """Give every per-parameter state tensor (Adam's moments) its parameter's memory layout.

    Optimizer states come back from a checkpoint in the layout they were saved in, which need not
    be the parameter's now (a checkpoint written before the weights were channels-last, or on the
    CPU and resumed on a GPU); torch's fused Adam reads the two as flat memory and would pair the
    wrong elements. Called by the loop after it reads a checkpoint."""
    for opt in optimizers:
        for group in opt.param_groups:
            for p in group["params"]:
                state = opt.state.get(p, {})
                for key, value in state.items():
                    if isinstance(value, torch.Tensor) and value.shape == p.shape and value.stride() != p.stride():
                        state[key] = torch.empty_like(p, dtype=value.dtype).copy_(value)


class EMA:
    """Exponential moving average of floating-point weights (Polyak averaging), with a
    warm-up so early averages are not dominated by the random initialisation.

    ``shadow`` maps state-dict names to the averaged tensors (what checkpoints store). Each
    ``update`` lerps the parameters towards the model's in one ``torch._foreach_lerp_`` call
    and copies the floating-point buffers (batch-norm statistics are already running averages).
    """

    def __init__(self, model: nn.Module, decay: float, prefix: str | tuple[str, ...] = "") -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()
                       if k.startswith(prefix) and v.is_floating_point()}
        self.num_updates = 0

    @property
    def shadow(self) -> dict[str, torch.Tensor]:
        return self._shadow

    @shadow.setter
    def shadow(self, tensors: dict[str, torch.Tensor]) -> None:
        self._shadow = tensors
        self._pairs: tuple[int, list[torch.Tensor], list[torch.Tensor], list[torch.Tensor],
                           list[torch.Tensor]] | None = None  # rebuilt for the next update

    def _match(self, model: nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor], list[torch.Tensor],
                                                 list[torch.Tensor]]:
        """(shadow parameters, model parameters, shadow buffers, model buffers), in matching order;
        cached per model (the loop keeps one model, whose tensors are updated in place)."""
        if self._pairs is None or self._pairs[0] != id(model):
            params = {k: p.detach() for k, p in model.named_parameters() if k in self._shadow}
            buffers = {k: b.detach() for k, b in model.named_buffers() if k in self._shadow}
            missing = self._shadow.keys() - params.keys() - buffers.keys()
            if missing:
                raise KeyError(f"EMA tensors missing from the model: {sorted(missing)[:5]}")
            for k, v in {**params, **buffers}.items():  # a shadow read from a checkpoint may sit on the CPU
                if self._shadow[k].device != v.device or self._shadow[k].dtype != v.dtype:
                    self._shadow[k] = self._shadow[k].to(v.device, v.dtype)
            self._pairs = (id(model), [self._shadow[k] for k in params], list(params.values()),
                           [self._shadow[k] for k in buffers], list(buffers.values()))
        return self._pairs[1:]

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.num_updates += 1
        decay = min(self.decay, (1 + self.num_updates) / (10 + self.num_updates))
        shadow_params, params, shadow_buffers, buffers = self._match(model)
        if shadow_params:
            torch._foreach_lerp_(shadow_params, params, 1 - decay)
        if shadow_buffers:
            torch._foreach_copy_(shadow_buffers, buffers)

    def copy_to(self, model: nn.Module) -> None:
        model.load_state_dict(self.shadow, strict=False)


@dataclass
class TrainConfig:
    """Options of ``zoo train`` (also written to ``train_config.json`` in the run folder).

    ``data`` is one data source (``zoo.data``), or one per source the training step names, in
    its order or as ``NAME=SOURCE`` (``["a=fashion-mnist:sneaker", "b=fashion-mnist:ankle-boot"]``).
    """

    arch: str
    data: str | list[str] = "fashion-mnist"
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


def _checkpoint_copies(folder: Path) -> tuple[Path, Path]:
    """The other names a checkpoint passes through: ``<name>.tmp`` while written, ``<name>.old`` while swapped."""
    return folder.with_name(folder.name + ".tmp"), folder.with_name(folder.name + ".old")


def _checkpoint_complete(folder: Path) -> bool:
    """Whether ``folder`` holds a whole checkpoint: its ``state.json``, written last, parses and gives every
    other file's size, and the files have those sizes (a checkpoint from before sizes were kept: the files exist)."""
    try:
        state = json.loads((folder / "state.json").read_text())
        files = state.get("files", {"model.safetensors": None, "optimizers.pt": None})
        for name, size in files.items():
            path = folder / name
            if not path.is_file() or (size is not None and path.stat().st_size != size):
                return False
    except (OSError, ValueError, AttributeError, TypeError):
        return False
    return True


def has_checkpoint(folder: Path) -> bool:
    """Whether a run left a checkpoint at ``folder``, under its own name or one it passes through while swapped."""
    return folder.exists() or any(_checkpoint_complete(p) for p in _checkpoint_copies(folder))


def newest_checkpoint(folder: Path) -> Path | None:
    """The newest whole copy of the checkpoint at ``folder`` (see ``recover_checkpoint``), or None. Reading
    only: every process of a resumed run reads it; only the main process, when it next writes, tidies up."""
    tmp, old = _checkpoint_copies(folder)
    return next((p for p in (tmp, folder, old) if _checkpoint_complete(p)), None)


def recover_checkpoint(folder: Path) -> bool:
    """After a crash at any instant of ``_write_checkpoint``, put the newest complete checkpoint back at
    ``folder`` and remove the other copies. Returns False where no complete checkpoint exists.

    A write fills ``.tmp`` (``state.json`` last), renames ``folder`` to ``.old``, renames ``.tmp`` to
    ``folder`` and removes ``.old``, syncing each step. So a complete ``.tmp`` is always the newest copy,
    then ``folder``, then ``.old``; and this function, made of the same steps, is safe to crash in too.
    """
    from zoo.safety import fsync_folder, remove_tree

    tmp, old = _checkpoint_copies(folder)
    best = newest_checkpoint(folder)
    if best is None:
        remove_tree(tmp)  # half-written copies: nothing to recover from them
        remove_tree(old)
        return False
    if best is not folder:
        if best is tmp and folder.exists():
            remove_tree(old)
            folder.rename(old)
            fsync_folder(folder.parent)
        else:
            remove_tree(folder)  # not a whole checkpoint
        best.rename(folder)
        fsync_folder(folder.parent)
    remove_tree(tmp)
    remove_tree(old)
    return True


def _write_checkpoint(folder: Path, model: nn.Module, ema: EMA | None,
                      optimizers: dict[str, torch.optim.Optimizer], state: dict[str, Any]) -> None:
    """Write the checkpoint into ``<folder>.tmp`` and swap it in, every file and rename synced: a crash at
    any instant leaves the previous checkpoint or the new one (``recover_checkpoint`` finds it). A full or
    read-only disk is one ``OutputError`` line, the half-written copy removed, the previous one intact."""
    import io

    from safetensors.torch import save

    from zoo.safety import fsync_folder, output_error, remove_tree, write_synced

    blobs = {"model.safetensors": save({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()})}
    if ema is not None:
        blobs["ema.safetensors"] = save({k: v.cpu().contiguous() for k, v in ema.shadow.items()})
    buffer = io.BytesIO()
    torch.save({k: o.state_dict() for k, o in optimizers.items()}, buffer)
    blobs["optimizers.pt"] = buffer.getvalue()
    state = {**state, "ema_updates": ema.num_updates if ema else 0, "rng": torch.get_rng_state().tolist(),
             "files": {name: len(data) for name, data in blobs.items()}}
    blobs["state.json"] = json.dumps(state).encode()  # last: a folder holding it is complete
    tmp, old = _checkpoint_copies(folder)
    try:
        recover_checkpoint(folder)  # what a crash left: the newest whole copy in place, half-written ones gone
        tmp.mkdir(parents=True)
        for name, data in blobs.items():
            write_synced(tmp / name, functools.partial(_write_all, data))
        fsync_folder(tmp)
        if folder.exists():
            remove_tree(old)
            folder.rename(old)
            fsync_folder(folder.parent)
        tmp.rename(folder)
        fsync_folder(folder.parent)
        remove_tree(old)
    except OSError as err:
        try:
            recover_checkpoint(folder)  # the previous checkpoint back in place, the partial copy removed
        except OSError:
            pass
        kept = "no checkpoint was written"
        if _checkpoint_complete(folder):
            previous = json.loads((folder / "state.json").read_text()).get("step")
            kept = f"the checkpoint of step {previous} is intact"
        raise output_error(err, f"checkpoint {folder}", kept=kept) from None


def _write_all(data: bytes, f: IO[bytes]) -> None:
    f.write(data)


def _read_checkpoint(folder: Path, model: nn.Module, ema: EMA | None,
                     optimizers: dict[str, torch.optim.Optimizer]) -> dict[str, Any]:
    """Load a checkpoint into the model, EMA and optimizers; one ``BadInputError`` line where it does not fit
    them (another architecture or config) or is damaged."""
    import pickle

    folder = newest_checkpoint(folder) or folder  # after a crash mid-swap, the whole copy left
    try:
        model.load_state_dict(W.load_state_dict(folder / "model.safetensors"))
        if ema is not None and (folder / "ema.safetensors").exists():
            ema.shadow = W.load_state_dict(folder / "ema.safetensors")
        # our own file; weights_only=True refuses anything but tensors and plain containers
        opt_states = torch.load(folder / "optimizers.pt", weights_only=True)
        for k, o in optimizers.items():
            o.load_state_dict(opt_states[k])
        state = json.loads((folder / "state.json").read_text())
        torch.set_rng_state(torch.tensor(state.pop("rng"), dtype=torch.uint8))
    except (RuntimeError, ValueError, KeyError, TypeError, pickle.UnpicklingError) as err:
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
        raise BadInputError(f"--resume: the checkpoint in {folder} does not fit this run's model and optimizers, "
                            f"or is damaged ({reason[:200]})") from None
    if ema is not None:
        ema.num_updates = state.get("ema_updates", 0)
    return state


def _resume_config(cfg: TrainConfig, out: Path, ckpt: Path) -> TrainConfig:
    """Check that a run can be resumed as asked, before anything is built: a whole checkpoint (the copy a
    crash left, if need be), a readable ``train_config.json`` of the same architecture, and the same model
    config. Returns ``cfg`` with the run's own model config where none was given."""
    import dataclasses

    import zoo

    if newest_checkpoint(ckpt) is None:  # read only: the other processes of the run read it too
        raise BadInputError(f"--resume: no checkpoint in {ckpt}")
    path = out / "train_config.json"
    try:
        saved = json.loads(path.read_text())
    except OSError as err:
        raise BadInputError(f"--resume: cannot read {path} ({err.strerror or err})") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise BadInputError(f"--resume: {path} is damaged (not JSON: {err}); the run cannot be resumed, start a new "
                            "one with another --out") from None
    types = {"arch": str, "model_config": dict, "commands": list}
    wrong = [k for k, t in types.items() if not isinstance(saved, dict) or not isinstance(saved.get(k), t)]
    if wrong:
        raise BadInputError(f"--resume: {path} is damaged ({', '.join(wrong)} missing or of the wrong type); the run "
                            "cannot be resumed, start a new one with another --out")
    arch = saved["arch"]
    if arch != cfg.arch and zoo.model_spec(cfg.arch).id != zoo.model_spec(arch).id:
        raise BadInputError(f"--resume: {out} is a run of '{arch}', not '{cfg.arch}': resume it with "
                            f"`zoo train {arch} --out {out} --resume`")
    given = json.loads(json.dumps(cfg.model_config))
    if given and given != saved["model_config"]:
        raise BadInputError(f"--resume: --config {given} differs from the run's {saved['model_config']}; leave "
                            "--config out to resume with the run's own")
    return dataclasses.replace(cfg, model_config=dict(saved["model_config"]))


def _check_step_config(step_cls: type, cfg: TrainConfig) -> None:
    """One line for a ``--step-config`` key the training step does not take, or a value of the wrong type."""
    from zoo.safety import check_config

    check_config(step_cls, cfg.arch, cfg.step_config, owner=f"the training step of '{cfg.arch}'",
                 kind="--step-config key", fixed=("model",))


def hardware_description(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import os

    cpu = platform.processor() or platform.machine()
    return f"CPU ({cpu}, {os.cpu_count()} cores, torch threads {torch.get_num_threads()})"


def resolve_data_sources(data: str | list[str] | tuple[str, ...], names: tuple[str, ...]) -> dict[str, str]:
    """Map a step's ``data_sources`` names to data source strings: ``data`` gives one source per
    name, in order or as ``NAME=SOURCE``. One clear ``BadInputError`` for a wrong count or name."""
    items = [data] if isinstance(data, str) else list(data)
    named: dict[str, str] = {}
    ordered = []
    for item in items:
        key, eq, value = item.partition("=")
        if eq and key in names:
            if key in named:
                raise BadInputError(f"data source '{key}' is given twice")
            named[key] = value
        else:
            ordered.append(item)
    rest = [n for n in names if n not in named]
    if len(ordered) != len(rest):
        need = " ".join(f"--data {n.upper()}" for n in names) if len(names) > 1 else "--data SOURCE"
        raise BadInputError(
            f"this training step reads {len(names)} data source{'s' if len(names) > 1 else ''}"
            f" ({', '.join(names)}), got {len(items)}: give {need}"
            + (f" (or {' '.join(f'--data {n}=SOURCE' for n in names)})" if len(names) > 1 else "")
        )
    named.update(zip(rest, ordered))
    return {n: named[n] for n in names}


class UnpairedDataset(torch.utils.data.Dataset):
    """Several data sets read side by side without pairing (CycleGAN's unaligned mode): as long
    as the largest; item ``i`` takes image ``i`` of the largest and, of each smaller set, the image
    a fixed random permutation puts at ``i`` modulo its size. The loader's shuffling does the rest."""

    def __init__(self, tensors: dict[str, tuple[torch.Tensor, torch.Tensor]], seed: int) -> None:
        self.tensors = tensors
        self.length = max(len(images) for images, _ in tensors.values())
        gen = torch.Generator().manual_seed(seed)
        self.perms = {k: torch.randperm(len(images), generator=gen) for k, (images, _) in tensors.items()}

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        images, labels = {}, {}
        for key, (x, y) in self.tensors.items():
            j = i if len(x) == self.length else int(self.perms[key][i % len(x)])
            images[key], labels[key] = x[j], y[j]
        return images, labels


class _SyncedAccelerator:
    """The Accelerator as a training step sees it: ``backward`` also averages every parameter's
    gradient across processes (see the module docstring); everything else is Accelerate's."""

    def __init__(self, accelerator: Any, model: nn.Module) -> None:
        self._accelerator = accelerator
        self._params = [p for p in model.parameters() if p.requires_grad]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._accelerator, name)

    def backward(self, loss: torch.Tensor, **kwargs: Any) -> None:
        self._accelerator.backward(loss, **kwargs)
        if self._accelerator.num_processes > 1:
            # a parameter frozen for this pass (a GAN's D during G's update) got no new gradient
            average_gradients([p for p in self._params if p.requires_grad])


def average_gradients(params: list[nn.Parameter]) -> None:
    """All-reduce the gradients that exist, flattened into one buffer, and divide by the world size.
    Every process must hold gradients for the same parameters (the same code path runs on each)."""
    import torch.distributed as dist
    from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors

    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return
    flat = _flatten_dense_tensors(grads)
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for grad, synced in zip(grads, _unflatten_dense_tensors(flat, grads)):
        grad.copy_(synced)


def divergence_from_main(tensors: list[torch.Tensor]) -> float:
    """The largest absolute difference between these tensors on any process and on rank 0 (0.0 when
    the processes are in step), the same number on every process."""
    import torch.distributed as dist

    worst = torch.zeros((), dtype=torch.float64)
    for t in tensors:
        ref = t.detach().clone()
        dist.broadcast(ref, src=0)
        if t.is_floating_point():
            worst = torch.maximum(worst, (t.detach() - ref).abs().max().double().cpu())
        elif not torch.equal(t, ref):
            worst = torch.maximum(worst, torch.tensor(float("inf"), dtype=torch.float64))
    dist.all_reduce(worst, op=dist.ReduceOp.MAX)
    return float(worst)


def broadcast_from_main(tensors: list[torch.Tensor]) -> None:
    """Overwrite ``tensors`` on every process with rank 0's (start weights, batch-norm statistics)."""
    import torch.distributed as dist

    for t in tensors:
        dist.broadcast(t.data, src=0)


LOG_EVERY = 50  # steps between lines of log.jsonl, and between divergence checks of tensor losses
STATUS_EVERY_S = 60.0  # seconds between status lines when there is no progress bar (output not a terminal)


class _Metrics:
    """The scalars the steps return, read lazily: tensors stay where the step left them until the
    loop needs numbers (a log line, the progress bar, a divergence check), so no step waits for the
    device. Every value is checked for finiteness, floats at once, tensors in one batch per check."""

    def __init__(self) -> None:
        self.latest: Mapping[str, float | torch.Tensor] = {}
        self._pending: list[tuple[int, Mapping[str, float | torch.Tensor]]] = []  # (step, values) with tensors
        self._bad: tuple[int, Mapping[str, float | torch.Tensor]] | None = None

    def add(self, step: int, values: Mapping[str, float | torch.Tensor]) -> None:
        self.latest = values
        floats = [v for v in values.values() if not isinstance(v, torch.Tensor)]
        if self._bad is None and not all(math.isfinite(v) for v in floats):
            self._bad = (step, values)
        if len(floats) < len(values):
            self._pending.append((step, values))

    def diverged(self) -> tuple[int, dict[str, float]] | None:
        """The first step that returned a non-finite value, with its values, or None (reads the
        tensors returned since the last call: one wait for the device)."""
        if self._pending:
            by_device: dict[torch.device, list[torch.Tensor]] = {}
            for _, values in self._pending:
                for v in values.values():
                    if isinstance(v, torch.Tensor):
                        by_device.setdefault(v.device, []).append(v.detach().float().reshape(()))
            if not all(bool(torch.isfinite(torch.stack(ts)).all()) for ts in by_device.values()):
                first = next((step, values) for step, values in self._pending
                             if not all(math.isfinite(float(v)) for v in values.values()))
                if self._bad is None or first[0] < self._bad[0]:
                    self._bad = first
            self._pending.clear()
        return None if self._bad is None else (self._bad[0], _floats(self._bad[1]))

    def floats(self) -> dict[str, float]:
        return _floats(self.latest)


def _floats(values: Mapping[str, float | torch.Tensor]) -> dict[str, float]:
    return {k: float(v) for k, v in values.items()}


def _epochs_done(steps: int, steps_per_epoch: int) -> float | int:
    """Passes over the data: a whole number after whole epochs, else rounded to 1/100 (a --max-steps run)."""
    epochs = steps / max(steps_per_epoch, 1)
    return int(epochs) if epochs == int(epochs) else round(epochs, 2)


class _Rate:
    """Images per second and the time left, from the steps of this invocation (a resumed run's
    earlier steps ran at another time, maybe on another machine)."""

    def __init__(self, step: int, total_steps: int, images_per_step: int) -> None:
        self.start_step, self.total_steps, self.images_per_step = step, total_steps, images_per_step
        self.t0 = time.perf_counter()

    def images_per_s(self, step: int) -> float:
        return (step - self.start_step) * self.images_per_step / max(time.perf_counter() - self.t0, 1e-9)

    def eta(self, step: int) -> str:
        from tqdm import tqdm

        if step <= self.start_step:
            return "?"
        left = (self.total_steps - step) * (time.perf_counter() - self.t0) / (step - self.start_step)
        return tqdm.format_interval(left)


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
    from zoo.data import load_source
    from zoo.registry import import_object

    out = Path(cfg.out)
    ckpt = out / "checkpoint"
    from zoo.interfaces import check_seed

    check_seed(cfg.seed)
    if resume:
        cfg = _resume_config(cfg, out, ckpt)
    elif has_checkpoint(ckpt):  # never start over a run, nor over what a crash left of its checkpoint
        raise BadInputError(f"{out} already holds a run; pass --resume to continue it or choose another --out")

    spec = zoo.model_spec(cfg.arch)
    if not spec.trainer:
        raise BadInputError(f"architecture '{cfg.arch}' has no training step registered")
    device = resolve_device(cfg.device)
    step_cls = import_object(spec.trainer)
    _check_step_config(step_cls, cfg)
    sources = resolve_data_sources(cfg.data, tuple(step_cls.data_sources))
    data = {name: load_source(source, "train") for name, source in sources.items()}
    for d in data.values():
        if len(d.images) < cfg.batch_size:
            raise BadInputError(f"data source '{d.source}' holds {len(d.images)} training images, fewer than one"
                                f" batch of {cfg.batch_size}: lower --batch-size")
    shapes = {name: tuple(d.images.shape[1:]) for name, d in data.items()}
    if len(set(shapes.values())) > 1:  # a model works on one image shape
        size = max(s[-1] for s in shapes.values())
        raise BadInputError("the data sources have different image shapes: " + ", ".join(
            f"{data[n].source} {'×'.join(map(str, s))}" for n, s in shapes.items())
            + f"; resize with SOURCE@SIZE (--data {next(d.source for d in data.values() if d.images.shape[-1] != size)}"
            f"@{size})")
    set_seed(cfg.seed)
    accelerator = Accelerator(cpu=device.type == "cpu", mixed_precision=cfg.mixed_precision)
    rank, world = accelerator.process_index, accelerator.num_processes
    model_config = {**step_cls.config_from_data(data), **cfg.model_config}
    model = zoo.create(cfg.arch, **model_config).to(accelerator.device)
    for d in data.values():
        if tuple(d.images.shape[1:]) != tuple(model.image_shape):
            c, h, w = d.images.shape[1:]
            hint = f" (resize it: --data {d.source}@{model.image_shape[-1]})" if c == model.image_shape[0] else ""
            raise BadInputError(f"data source '{d.source}' has {c}×{h}×{w} images but '{cfg.arch}' works on "
                                f"{'×'.join(map(str, model.image_shape))}{hint}")
    if world > 1:  # every process starts from rank 0's weights, then draws its own noise
        broadcast_from_main(list(model.state_dict().values()))
        torch.manual_seed(cfg.seed + 100_003 * rank)
    step_fn: TrainingStep = step_cls(model, **cfg.step_config)
    opts = step_fn.configure_optimizers()
    out.mkdir(parents=True, exist_ok=True)
    step_data = step_fn.prepare_data(data, out)  # what the step trains on (latents, say); by default the data
    if len(step_data) == 1:
        (only,) = step_data.values()
        dataset: torch.utils.data.Dataset = torch.utils.data.TensorDataset(only.images, only.labels)
    else:
        dataset = UnpairedDataset({k: (d.images, d.labels) for k, d in step_data.items()}, cfg.seed)
    loader = torch.utils.data.DataLoader(
        dataset, batch_size=cfg.batch_size, shuffle=True, drop_last=True, num_workers=cfg.num_workers,
        generator=torch.Generator().manual_seed(cfg.seed),
    )
    prepared = accelerator.prepare(*opts.values(), loader)
    step_fn.optimizers = dict(zip(opts, prepared[:-1]))
    loader = prepared[-1]
    bare = model
    synced = _SyncedAccelerator(accelerator, bare)
    buffers = [b for b in bare.buffers()]
    ema = EMA(bare, cfg.ema_decay, step_fn.ema_prefix) if cfg.ema_decay > 0 else None

    state: dict[str, Any] = {"epoch": 0, "step": 0, "wall_time_s": 0.0, "images_seen": 0}
    if resume:
        state = _read_checkpoint(ckpt, bare, ema, step_fn.optimizers)
        align_optimizer_state(step_fn.optimizers.values())  # fused Adam needs the parameters' layout
        run_config = json.loads((out / "train_config.json").read_text())
    else:
        run_config = {**asdict(cfg), "commands": []}
    run_config["commands"].append(command)  # every invocation, so a resumed run's history is known
    main = accelerator.is_main_process
    if main:
        out.mkdir(parents=True, exist_ok=True)
        W.atomic_write_bytes(out / "train_config.json", json.dumps(run_config, indent=2).encode())
        (out / "samples").mkdir(exist_ok=True)
    steps_per_epoch = len(loader)
    step_fn.total_steps = min(cfg.epochs * steps_per_epoch, cfg.max_steps or cfg.epochs * steps_per_epoch)
    log = open(out / "log.jsonl", "a") if main else None
    pick = torch.Generator().manual_seed(0)  # the same real images in every preview: eight drawn at random
    preview_data = {k: d.images[torch.randperm(len(d.images), generator=pick)[:8]] for k, d in data.items()}

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

    def write_preview(model: Any, path: Path) -> None:
        images, nrow = model.to(device).preview(preview_data)
        save_grid(images, path, nrow=nrow, force=True)

    done = False
    losses = _Metrics()
    start_epoch = state["epoch"]
    skip = state["step"] - start_epoch * steps_per_epoch  # batches already done in this epoch
    # one bar for the whole run: tqdm's rate and remaining time are the run's; the postfix adds img/s
    bar = tqdm(total=step_fn.total_steps, initial=state["step"], unit="step", dynamic_ncols=True,
               disable=(None if main else True) if progress is None else not (progress and main), leave=False)
    rate = _Rate(state["step"], step_fn.total_steps, cfg.batch_size * world)
    shown = time.perf_counter()  # when the bar's postfix or a status line last showed numbers

    def check_divergence() -> None:
        bad = losses.diverged()
        if bad is not None:
            save()
            raise BadInputError(f"training diverged at step {bad[0]}: {bad[1]}")

    for epoch in range(start_epoch, cfg.epochs):
        t0 = time.perf_counter()
        bar.set_description(f"epoch {epoch + 1}/{cfg.epochs}", refresh=False)
        bare.train()
        for i, (x, y) in enumerate(loader):
            if i < skip:
                continue
            with accelerator.autocast():
                values = step_fn.step(x, y, state["step"], synced)
            if world > 1 and buffers:
                broadcast_from_main(buffers)
            if ema is not None:
                ema.update(bare)
            state["step"] += 1
            batch = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
            state["images_seen"] += batch * world
            losses.add(state["step"], values)
            bar.update(1)
            if main and time.perf_counter() - shown >= (1.0 if not bar.disable else STATUS_EVERY_S):
                shown = time.perf_counter()  # numbers at most once a second: reading tensors waits for the device
                numbers = {k: f"{v:.3f}" for k, v in losses.floats().items()}
                if not bar.disable:
                    bar.set_postfix({**numbers, "img/s": f"{rate.images_per_s(state['step']):.0f}"}, refresh=False)
                else:
                    print(f"step {state['step']}/{step_fn.total_steps} (epoch {epoch + 1}/{cfg.epochs}) "
                          f"{', '.join(f'{k} {v}' for k, v in numbers.items())}, "
                          f"{rate.images_per_s(state['step']):.0f} img/s, ETA {rate.eta(state['step'])}",
                          file=sys.stderr, flush=True)
            if state["step"] % LOG_EVERY == 0:  # every process checks here, so all stop together
                check_divergence()
                if log is not None:
                    log.write(json.dumps({"epoch": epoch, "step": state["step"], **losses.floats()}) + "\n")
                    log.flush()
            if cfg.checkpoint_every and state["step"] % cfg.checkpoint_every == 0:
                check_divergence()
                state["wall_time_s"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                save()
            if cfg.max_steps and state["step"] >= cfg.max_steps:
                done = True
                break
        skip = 0
        check_divergence()
        state["wall_time_s"] += time.perf_counter() - t0
        if not done:
            state["epoch"] = epoch + 1
        save()
        if main:
            total_rate = state["images_seen"] / max(state["wall_time_s"], 1e-9)
            eta = "" if done or epoch + 1 == cfg.epochs else f", ETA {rate.eta(state['step'])}"
            tqdm.write(f"epoch {epoch + 1}/{cfg.epochs} step {state['step']} "
                       f"{', '.join(f'{k} {v:.4f}' for k, v in losses.floats().items())} "
                       f"({state['wall_time_s']:.0f} s, {total_rate:.0f} img/s{eta})", file=sys.stderr)
            if (epoch + 1) % cfg.sample_every == 0 or done or epoch + 1 == cfg.epochs:
                write_preview(ema_model(), out / "samples" / f"epoch_{epoch + 1:03d}.png")
        if done:
            break
    bar.close()

    divergence = divergence_from_main(list(bare.state_dict().values())) if world > 1 else 0.0
    if divergence > 0 and main:  # a step changed weights outside accelerator.backward and its optimizers
        print(f"warning: the {world} processes ended with different weights (max difference {divergence:.3g});"
              " the export holds rank 0's", file=sys.stderr, flush=True)
    final = ema_model()
    export = out / "model"
    if main:
        train_images = {k: d.images for k, d in data.items()}
        train_labels = {k: d.labels for k, d in data.items()}
        single = len(data) == 1
        step_fn.on_train_end(final, *(_unwrap_single(train_images, train_labels) if single
                                      else (train_images, train_labels)))
        tests = {name: _test_split(source) for name, source in sources.items()}
        metrics = {}
        if all(t is not None for t in tests.values()):
            test_images = {k: t[0] for k, t in tests.items() if t is not None}
            test_labels = {k: t[1] for k, t in tests.items() if t is not None}
            metrics = step_fn.evaluate(final, *(_unwrap_single(test_images, test_labels) if single
                                                else (test_images, test_labels)))
        run_info = {
            "commands": run_config["commands"], "epochs": _epochs_done(state["step"], steps_per_epoch),
            "steps": state["step"],
            "batch_size": cfg.batch_size, "processes": world, "images_seen": state["images_seen"],
            "max_weight_difference_across_processes": divergence,
            "wall_time_s": round(state["wall_time_s"], 1),
            "images_per_s": round(state["images_seen"] / max(state["wall_time_s"], 1e-9), 1),
            "hardware": hardware_description(device), "torch": torch.__version__,
            "data": sources if not single else next(iter(sources.values())), "seed": cfg.seed,
            "ema_decay": cfg.ema_decay, "eval": metrics,
        }
        W.save_model_folder(final, export, card=None, half=False)
        W.atomic_write_bytes(export / "training.json", (json.dumps(run_info, indent=2) + "\n").encode())
        write_preview(final, export / "samples.png")
        print(json.dumps(run_info, indent=2), file=sys.stderr)
    if log is not None:
        log.close()
    accelerator.wait_for_everyone()
    return export


def _unwrap_single(images: dict[str, Any], labels: dict[str, Any]) -> tuple[Any, Any]:
    """The one source's tensors, as steps with a single data source receive them."""
    return next(iter(images.values())), next(iter(labels.values()))


def _test_split(source: str) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The test split of a data source, or None where it has none (a folder of images)."""
    from zoo.data import load_source
    from zoo.errors import DataError

    try:
        data = load_source(source, "test")
    except DataError:
        return None
    return data.images, data.labels
