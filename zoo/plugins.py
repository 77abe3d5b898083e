"""The plugin manager: finds plugins through the ``zoo`` entry-point group.

First-party plugins (``plugins/`` in this repository) are found the same way as
third-party ones. ``ZOO_LOAD_PLUGINS`` restricts which load: a comma-separated
list of entry-point names, an empty value loads none. A plugin that fails to
import or to register is recorded in ``failures`` and skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

import pluggy

from zoo import hookspecs
from zoo.registry import DatasetSpec, ModelSpec, Registry, SamplerSpec

GROUP = "zoo"

pm = pluggy.PluginManager(GROUP)
pm.add_hookspecs(hookspecs)


@dataclass(frozen=True)
class PluginFailure:
    """A plugin that was skipped, and why (one line)."""

    name: str
    stage: str  # "import", "register", or the name of the hook that raised
    error: str


@dataclass(frozen=True)
class PluginInfo:
    name: str
    module: str
    version: str
    distribution: str
    hooks: tuple[str, ...]


failures: list[PluginFailure] = []
_distributions: dict[str, tuple[str, str]] = {}  # entry-point name -> (distribution, version)
_entry_points_loaded = False
_registry: Registry | None = None


def _allowed() -> set[str] | None:
    value = os.environ.get("ZOO_LOAD_PLUGINS")
    if value is None:
        return None
    return {name.strip() for name in value.split(",") if name.strip()}


def load_entry_points() -> None:
    """Import every plugin of the ``zoo`` entry-point group once (honouring ``ZOO_LOAD_PLUGINS``)."""
    global _entry_points_loaded
    if _entry_points_loaded:
        return
    _entry_points_loaded = True
    allowed = _allowed()
    for ep in sorted(metadata.entry_points(group=GROUP), key=lambda e: e.name):
        if allowed is not None and ep.name not in allowed:
            continue
        if pm.has_plugin(ep.name):
            continue
        try:
            module = ep.load()
            pm.register(module, name=ep.name)
        except Exception as err:  # a broken plugin must not break the zoo
            failures.append(PluginFailure(ep.name, "import", f"{type(err).__name__}: {err}"))
            continue
        dist = getattr(ep, "dist", None)
        if dist is not None:
            _distributions[ep.name] = (dist.metadata["Name"], dist.version)



def call_each(hook_name: str, **kwargs: Any) -> None:
    """Call a hook plugin by plugin, so one that raises is reported and skipped, not fatal."""
    load_entry_points()
    caller = getattr(pm.hook, hook_name)
    for impl in reversed(caller.get_hookimpls()):
        name = pm.get_name(impl.plugin) or repr(impl.plugin)
        try:
            impl.function(**kwargs)
        except Exception as err:
            failures.append(PluginFailure(name, hook_name, f"{type(err).__name__}: {err}"))


def get_registry(*, reload: bool = False) -> Registry:
    """The registry of every loaded plugin's models and samplers (built once, cached)."""
    global _registry
    if _registry is not None and not reload:
        return _registry
    load_entry_points()
    failures[:] = [f for f in failures if f.stage != "register"]  # rebuilt below
    registry = Registry()
    from zoo.data import BUILTIN_DATASETS  # the core's own data sets, present whatever plugins load

    for dataset in BUILTIN_DATASETS:
        registry.add_dataset(dataset)
    for hook_name, add in (
        ("register_models", registry.add_model),
        ("register_samplers", registry.add_sampler),
        ("register_datasets", registry.add_dataset),
    ):
        caller = getattr(pm.hook, hook_name)
        for impl in reversed(caller.get_hookimpls()):
            plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
            staged: list[Any] = []
            try:
                impl.function(register=staged.append)
                staged = [_stamp(spec, plugin_name) for spec in staged]
            except Exception as err:  # skip this plugin's registrations, keep the rest
                failures.append(
                    PluginFailure(plugin_name, "register", f"{type(err).__name__}: {err}")
                )
                continue
            for spec in staged:
                add(spec)
    _registry = registry
    return registry


def _stamp(spec: Any, plugin_name: str) -> Any:
    if not isinstance(spec, (ModelSpec, SamplerSpec, DatasetSpec)):
        raise TypeError(f"register() takes a ModelSpec, SamplerSpec or DatasetSpec, got {type(spec).__name__}")
    from dataclasses import replace

    return replace(spec, plugin=plugin_name)


def register_plugin(plugin: object, name: str) -> None:
    """Register an in-process plugin (a module or object with hookimpls); for tests and
    notebooks. The registry is rebuilt on next use."""
    load_entry_points()
    pm.register(plugin, name=name)
    invalidate()


def unregister_plugin(name: str) -> None:
    plugin = pm.get_plugin(name)
    if plugin is not None:
        pm.unregister(plugin)
    invalidate()


def invalidate() -> None:
    global _registry
    _registry = None


def reset() -> None:
    """Forget every loaded plugin and failure (for tests that change ``ZOO_LOAD_PLUGINS``)."""
    global _entry_points_loaded
    for _name, plugin in list(pm.list_name_plugin()):
        pm.unregister(plugin)
    failures.clear()
    _distributions.clear()
    _entry_points_loaded = False
    invalidate()


def plugin_infos() -> list[PluginInfo]:
    """Every loaded plugin with its version and the hooks it implements."""
    load_entry_points()
    infos = []
    for name, plugin in sorted(pm.list_name_plugin(), key=lambda item: item[0]):
        hooks = tuple(sorted(h.name for h in pm.get_hookcallers(plugin) or ()))
        dist, version = _distributions.get(name, ("", ""))
        module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__name__
        infos.append(PluginInfo(name, module, version, dist, hooks))
    return infos
