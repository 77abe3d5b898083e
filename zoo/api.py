"""The Python entry points: ``list_models``, ``create``, ``load``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import __version__
from zoo import weights as W
from zoo.data import is_path
from zoo.errors import BadInputError, PluginError, UnknownModelError, WeightsError
from zoo.plugins import get_registry
from zoo.registry import ModelSpec, import_object

if TYPE_CHECKING:
    import torch

    from zoo.interfaces import Generator

HUB_PREFIX = "hf-hub:"


def list_models(
    pattern: str | None = None, *, family: str | None = None, pretrained: bool | None = None
) -> list[str]:
    """Ids of the installed models, sorted.

    Args:
        pattern: Shell-style wildcard matched against ids and aliases (``"*gan*"``).
        family: Keep one family (``"gan"``, ``"autoencoder"``, ...).
        pretrained: ``True`` keeps models with weights, ``False`` architectures without.
    """
    return [s.id for s in get_registry().filter(pattern, family=family, pretrained=pretrained)]


def model_spec(name: str) -> ModelSpec:
    """The registered spec of a model id or alias (``UnknownModelError`` with close matches)."""
    return get_registry().get(name)


def resolve_device(device: str | torch.device | None) -> torch.device:
    """The ``torch.device`` a user asked for, checked against this machine.

    Args:
        device: ``None`` (the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"mps"`` or a ``torch.device``.

    Returns:
        The device.

    Raises:
        BadInputError: An unknown name, or a device this machine lacks; the message names the device asked for.
    """
    import torch

    if device is None:
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BadInputError(f"unknown device '{device}' (use cpu, cuda or cuda:N)") from None
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise BadInputError(f"device '{device}' was asked for but no CUDA GPU is available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise BadInputError(f"device '{device}' does not exist ({torch.cuda.device_count()} GPUs)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise BadInputError(f"device '{device}' was asked for but MPS is not available here")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise BadInputError(f"unsupported device '{device}' (use cpu, cuda or cuda:N)")
    return dev


def resolve_dtype(dtype: str | torch.dtype | None) -> torch.dtype:
    """The floating-point ``torch.dtype`` a user asked for.

    Args:
        dtype: ``None`` (float32), a name (``"float32"``/``"fp32"``, ``"float16"``/``"fp16"``,
            ``"bfloat16"``/``"bf16"``, ``"float64"``/``"fp64"``) or a floating-point ``torch.dtype``.

    Returns:
        The dtype.

    Raises:
        BadInputError: An unknown name, or a dtype that is not floating point.
    """
    import torch

    table = {"float32": torch.float32, "fp32": torch.float32, "float16": torch.float16, "fp16": torch.float16,
             "bfloat16": torch.bfloat16, "bf16": torch.bfloat16, "float64": torch.float64, "fp64": torch.float64}
    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        if not dtype.is_floating_point:
            raise BadInputError(f"dtype {dtype} is not a floating-point type (use one of {', '.join(table)})")
        return dtype
    if dtype not in table:
        raise BadInputError(f"unknown dtype '{dtype}' (use one of {', '.join(table)})")
    return table[dtype]


def _build(spec: ModelSpec, config: dict[str, Any]) -> Generator:
    from zoo.safety import build_model

    components: dict[str, Any] = {}
    described: dict[str, Any] = {}
    if spec.components:  # a composite: build or load its component models first (zoo.components)
        from zoo.components import build_components

        components, described = build_components(spec, config)
        config = {k: v for k, v in config.items() if k not in components}
    model = build_model(import_object(spec.factory), spec.architecture, {**config, **components})  # values checked
    model.zoo_config = {"architecture": spec.architecture, "zoo_version": __version__, **config,
                        **({"components": described} if described else {})}
    model.zoo_spec = spec
    return model


def _arch_spec(architecture: str) -> ModelSpec:
    registry = get_registry()
    try:
        return registry.get(architecture)
    except KeyError:
        raise PluginError(
            f"config.json names architecture '{architecture}', which no installed plugin provides"
        ) from None


def create(arch: str, **config: Any) -> Generator:
    """Build an untrained model of an architecture (to train it).

    Args:
        arch: A registered id; its default config is used, updated by ``config``.
        **config: Hyperparameters of the architecture.
    """
    spec = model_spec(arch)
    arch_spec = _arch_spec(spec.architecture) if spec.arch else spec
    return _build(arch_spec, {**arch_spec.config, **spec.config, **config})


def load_folder(folder: Path | str, spec: ModelSpec | None = None) -> Generator:
    """Build a model from a model folder (config.json + model.safetensors)."""
    folder = Path(folder)
    if not folder.is_dir():
        hint = f" (for a Hub repo, use hf-hub:{folder})" if len(folder.parts) == 2 and not folder.is_absolute() else ""
        raise WeightsError(f"model folder {folder} does not exist{hint}")
    if not (folder / W.WEIGHTS_NAME).exists():  # only a pickle there: say why it is not loaded
        for candidate in sorted(folder.iterdir()):
            if candidate.suffix in W.PICKLE_SUFFIXES:
                W.check_not_pickle(candidate)
    config = W.read_config(folder)
    architecture = config.pop("architecture")
    config.pop("zoo_version", None)
    arch_spec = _arch_spec(architecture)
    entries = config.pop("components", None)
    if arch_spec.components:  # a composite: its components come from subfolders or pinned ids
        from zoo.components import load_components

        config.update(load_components(folder, arch_spec, entries))
    elif entries is not None:
        raise WeightsError(f"{folder / W.CONFIG_NAME} names components, but '{architecture}' has none")
    model = _build(arch_spec, config)
    weights_file = folder / (spec.hub_weights_file if spec else W.WEIGHTS_NAME)
    if not weights_file.exists():
        weights_file = folder / W.WEIGHTS_NAME
    state = W.load_state_dict(weights_file)  # NaN and infinite values refused
    expected = model.state_dict()
    if arch_spec.components:  # the components' tensors are loaded already, from their own folders
        names = {name for name, _ in arch_spec.components}
        expected = {k: v for k, v in expected.items() if k.split(".", 1)[0] not in names}
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        if missing or unexpected:
            raise WeightsError(f"{weights_file} does not fit architecture '{architecture}': missing {missing[:3]},"
                               f" unexpected {unexpected[:3]}")
    W.check_dtypes(state, expected, weights_file)
    state = {k: v.to(expected[k].dtype) if k in expected else v for k, v in state.items()}
    try:
        model.load_state_dict(state, strict=not arch_spec.components)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise WeightsError(
            f"{weights_file} does not fit architecture '{architecture}': {' '.join(first[:3])}"
        ) from None
    if spec is not None:
        model.zoo_spec = spec
    return model


def load(
    name: str,
    *,
    device: str | torch.device | None = None,
    dtype: str | torch.dtype | None = None,
    **options: Any,
) -> Generator:
    """Load a pretrained model, ready to sample.

    Args:
        name: A registered id or alias, a path to a model folder, or
            ``"hf-hub:org/name"`` (a Hub repo whose config.json names an installed architecture).
            A path has a ``/`` (or ``\\``) or starts with ``.`` or ``~`` (``./vae-fashion``, ``runs/vae/model``);
            anything else is an id, even where a folder of that name exists in the current directory.
        device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:1"``...
        dtype: ``"float32"`` (default), ``"float16"``, ``"bfloat16"``.
        **options: Sampling options the model accepts (``sampler``, ``steps``...).

    Returns:
        The model in eval mode, a ``zoo.Generator``.
    """
    dev, dt = resolve_device(device), resolve_dtype(dtype)
    if name.startswith(HUB_PREFIX):
        repo, _, revision = name[len(HUB_PREFIX):].partition("@")
        model = load_folder(W.fetch_hub_repo(repo, revision=revision or None, pull_hint=f"zoo pull {name}"))
    elif is_path(name):  # paths are paths, ids are ids: a folder named like an id never shadows it
        model = load_folder(name)
    else:
        try:
            spec = model_spec(name)
        except UnknownModelError as err:
            if Path(name).is_dir():  # say how to load the folder; never load it in the id's place
                err.args = (f"{err}; a folder '{name}' is here: a path needs a '/', so load it as ./{name}",)
            raise err from None
        if not spec.pretrained:
            raise WeightsError(
                f"'{spec.id}' is an architecture without weights: build an untrained one with"
                f" zoo.create('{spec.id}') and train it with `zoo train {spec.id}`"
            )
        folder = W.resolve_folder(spec)
        if spec.loader:  # the plugin reads its own format (a diffusers repo, say)
            model = import_object(spec.loader)(folder, spec)
        else:
            model = load_folder(folder, spec)
    if options:
        configure = getattr(model, "configure_sampling", None)
        if configure is None:
            raise BadInputError(f"'{name}' takes no sampling options, got {sorted(options)}")
        configure(**options)
    return model.to(device=dev, dtype=dt).eval()
