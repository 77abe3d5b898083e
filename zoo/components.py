"""Composite models: a model built from named component models, each the model of some plugin
(a latent diffusion model = an autoencoder + a diffusion denoiser).

An architecture declares its components in its spec (``ModelSpec.components``: a name and the
role each must have); its factory receives them as built models, keyword arguments of those
names. A component is given to ``zoo.create`` as:

- a registered pretrained id, a model folder path or ``hf-hub:org/name``: loaded (the composite
  usually freezes it) and kept as a *reference* pinned by the sha256 of its weights;
- an architecture id, or ``{"architecture": ID, **config}``: built untrained, to be trained;
- a model object.

A composite's model folder (diffusers' ``model_index.json`` is the anchor) holds its own
``config.json``, whose ``components`` map each name to where that component is::

    {"architecture": "ldm", "scale_factor": 0.87, ...,
     "components": {"autoencoder": {"id": "my-autoencoder-kl", "sha256": "3f1c..."},
                    "denoiser": {"folder": "denoiser"}}}

``{"folder": NAME}`` is a subfolder that is itself a model folder (``denoiser/config.json`` and
``denoiser/model.safetensors``); ``{"id": ..., "sha256": ...}`` is resolved like ``zoo.load(id)``
(bundled folder, then the Hugging Face cache, offline) and refused unless its weights have that
digest, so the composite loads the same way everywhere. The composite's ``model.safetensors``
holds its own tensors only (not its components').
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo import weights as W
from zoo.errors import BadInputError, WeightsError

if TYPE_CHECKING:
    from zoo.interfaces import Model
    from zoo.registry import ModelSpec


def _check_role(model: Any, role: str, composite: str, name: str) -> None:
    from zoo.interfaces import ROLES

    if not isinstance(model, ROLES[role]):
        raise BadInputError(f"component '{name}' of '{composite}' must be a model with the {role} role; "
                            f"got a {type(model).__name__}")


def resolve_reference(ref: str) -> tuple[Model, dict[str, str]]:
    """Load a pretrained model by id, path or ``hf-hub:`` name, and its pinned description
    ``{"id": ref, "sha256": digest of its weights}``."""
    import zoo
    from zoo.api import HUB_PREFIX, load_folder, model_spec
    from zoo.data import is_path

    if ref.startswith(HUB_PREFIX):
        repo, _, revision = ref[len(HUB_PREFIX):].partition("@")
        folder = W.fetch_hub_repo(repo, revision=revision or None, pull_hint=f"zoo pull {ref}")
        model = load_folder(folder)
    elif is_path(ref):
        folder = Path(ref).expanduser()
        model = load_folder(folder)
    else:
        spec = model_spec(ref)
        if not spec.pretrained:
            raise BadInputError(f"'{ref}' is an architecture, not a pretrained model")
        folder = W.resolve_folder(spec)
        model = zoo.load(ref)
    weights = folder / W.WEIGHTS_NAME
    return model, {"id": ref, "sha256": W.sha256_file(weights)}


def build_component(composite: str, name: str, role: str, value: Any) -> tuple[Any, dict[str, Any]]:
    """One component model from its description (see the module docstring), and what to record of it."""
    import zoo
    from zoo.interfaces import Model

    model: Any
    described: dict[str, Any]
    if value is None:
        raise BadInputError(f"'{composite}' needs its component '{name}' (a pretrained id, an architecture id or"
                            " a model folder)")
    if isinstance(value, Model):
        model = value
        described = getattr(model, "zoo_reference", None) or _own_description(model)
    elif isinstance(value, dict) and "id" in value:
        model, described = resolve_reference(str(value["id"]))
        if value.get("sha256") and value["sha256"] != described["sha256"]:
            raise WeightsError(f"component '{name}' of '{composite}' is pinned to {value['id']} with sha256"
                               f" {value['sha256'][:12]}…, but those weights have {described['sha256'][:12]}…:"
                               " not the model it was trained with")
    elif isinstance(value, dict) and "architecture" in value:
        options = {k: v for k, v in value.items() if k not in ("architecture", "zoo_version")}
        model = zoo.create(str(value["architecture"]), **options)
        described = _own_description(model)
    elif isinstance(value, str):
        target = _registered(value)
        if target is not None and not target.pretrained:
            model = zoo.create(value)
            described = _own_description(model)
        else:
            model, described = resolve_reference(value)
    else:
        raise BadInputError(f"component '{name}' of '{composite}': cannot use {value!r}")
    _check_role(model, role, composite, name)
    if "id" in described:
        model.zoo_reference = described
    return model, described


def build_components(spec: ModelSpec, config: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The component models of a composite ``spec`` from the descriptions in ``config``, and the
    descriptions to record in its config. One clear error for a component that is missing or of the
    wrong kind."""
    models: dict[str, Any] = {}
    described: dict[str, Any] = {}
    for name, role in spec.components:
        if config.get(name) is None:
            names = ", ".join(n for n, _ in spec.components)
            flag = "--" + name.replace("_", "-")
            raise BadInputError(f"'{spec.architecture}' is made of components {names}; give '{name}' (`zoo train"
                                f" {spec.architecture} {flag} ID`, or {name}=... in Python): a pretrained id, a"
                                " model folder or an architecture id")
        models[name], described[name] = build_component(spec.architecture, name, role, config[name])
    return models, described


def _registered(name: str) -> Any:
    """The spec of a registered id, or None (a path, an ``hf-hub:`` name)."""
    import zoo
    from zoo.data import is_path

    if name.startswith("hf-hub:") or is_path(name):
        return None
    return zoo.model_spec(name)  # an unknown id: UnknownModelError with close matches


def _own_description(model: Any) -> dict[str, Any]:
    return {k: v for k, v in model.zoo_config.items() if k != "zoo_version"}


def save_components(model: Any, folder: Path, *, half: bool = False) -> dict[str, Any]:
    """Write each component that is not a pinned reference as a subfolder of ``folder``; return the
    ``components`` entry of the composite's config.json."""
    from zoo.weights import save_model_folder

    entries: dict[str, Any] = {}
    for name, _role in model.zoo_spec.components:
        component = getattr(model, name)
        reference = getattr(component, "zoo_reference", None)
        if reference:
            entries[name] = dict(reference)
        else:
            save_model_folder(component, folder / name, half=half)
            entries[name] = {"folder": name}
    return entries


def load_components(folder: Path, spec: ModelSpec, entries: Any) -> dict[str, Any]:
    """The component models a composite's config.json names (``save_components``'s entries)."""
    from zoo.api import load_folder

    if not isinstance(entries, dict):
        raise WeightsError(f"{folder / W.CONFIG_NAME}: 'components' must map each component to where it is")
    out: dict[str, Any] = {}
    for name, role in spec.components:
        entry = entries.get(name)
        if isinstance(entry, dict) and isinstance(entry.get("folder"), str):
            sub = folder / entry["folder"]
            if Path(entry["folder"]).is_absolute() or ".." in Path(entry["folder"]).parts:
                raise WeightsError(f"{folder / W.CONFIG_NAME}: component '{name}' must be a subfolder, got {sub}")
            if not (sub / W.CONFIG_NAME).is_file():
                raise WeightsError(f"component '{name}' of {folder} is missing: expected a model folder at {sub}")
            model = load_folder(sub)
        elif isinstance(entry, dict) and isinstance(entry.get("id"), str):
            model, _ = build_component(spec.architecture, name, role, entry)
        else:
            raise WeightsError(f"{folder / W.CONFIG_NAME} does not say where component '{name}' is"
                               " ({\"folder\": NAME} or {\"id\": ID, \"sha256\": DIGEST})")
        _check_role(model, role, spec.architecture, name)
        out[name] = model
    return out
