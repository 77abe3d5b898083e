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
        except (Exception, SystemExit) as err:  # a broken plugin must not break the zoo, nor exit it
            failures.append(PluginFailure(ep.name, "import", _describe(err)))
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
        except (Exception, SystemExit) as err:
            failures.append(PluginFailure(name, hook_name, _describe(err)))


def _describe(err: BaseException) -> str:
    """One line for a plugin's exception (``sys.exit()`` included)."""
    if isinstance(err, SystemExit):
        return f"called sys.exit({err.code!r})"
    return f"{type(err).__name__}: {err}"


def get_registry(*, reload: bool = False) -> Registry:
    """The registry of every loaded plugin's models and samplers (built once, cached)."""
    global _registry
    if _registry is not None and not reload:
        return _registry
    load_entry_points()
    failures[:] = [f for f in failures if f.stage not in ("register", "conflict")]  # rebuilt below
    registry = Registry()
    from zoo.data import BUILTIN_DATASETS  # the core's own data sets, present whatever plugins load

    for hook_name, add, kind in (
        ("register_models", registry.add_model, "model"),
        ("register_samplers", registry.add_sampler, "sampler"),
        ("register_datasets", registry.add_dataset, "data set"),
    ):
        caller = getattr(pm.hook, hook_name)
        specs: list[Any] = list(BUILTIN_DATASETS) if kind == "data set" else []
        for impl in reversed(caller.get_hookimpls()):
            plugin_name = pm.get_name(impl.plugin) or repr(impl.plugin)
            staged: list[Any] = []
            try:
                impl.function(register=staged.append)
                staged = [_stamp(spec, plugin_name) for spec in staged]
            except (Exception, SystemExit) as err:  # skip this plugin's registrations, keep the rest
                failures.append(PluginFailure(plugin_name, "register", _describe(err)))
                continue
            specs += staged
        for spec in _withdraw_contested(registry, kind, specs):
            add(spec)
    _registry = registry
    return registry


def _names(spec: Any) -> tuple[str, ...]:
    return (spec.id, *spec.aliases) if isinstance(spec, ModelSpec) else (spec.id,)


def _withdraw_contested(registry: Registry, kind: str, specs: list[Any]) -> list[Any]:
    """The specs to add, without any name two of them claim. A contested name is withdrawn from every
    claimant (a spec whose id it is is left out; one that has it as an alias loses the alias), refuses to
    load with a line naming both claimants and their pip distributions (``registry.contested``), and is
    reported in ``failures``; the rest of the zoo works."""
    from dataclasses import replace

    claims: dict[str, list[Any]] = {}
    for spec in specs:
        for name in dict.fromkeys(_names(spec)):
            claims.setdefault(name, []).append(spec)
    contested = {name: owners for name, owners in claims.items() if len(owners) > 1}
    for name, owners in contested.items():
        message = _conflict_message(kind, name, owners)
        registry.contested[(kind, name)] = message
        failures.append(PluginFailure(owners[-1].plugin, "conflict", message))
    keep = []
    for spec in specs:
        if spec.id in contested:
            continue
        if isinstance(spec, ModelSpec) and set(spec.aliases) & set(contested):
            spec = replace(spec, aliases=tuple(a for a in spec.aliases if a not in contested))
        keep.append(spec)
    return keep


def _conflict_message(kind: str, name: str, owners: list[Any]) -> str:
    def origin(plugin: str) -> str:
        if plugin == "zoo":
            return "the zoo itself"
        dist, version = _distributions.get(plugin, ("", ""))
        return f"pip distribution {dist} {version}".strip() if dist else "registered in-process, no distribution"

    plugin_names = list(dict.fromkeys(o.plugin for o in owners))
    who = " and ".join(f"'{p}' ({origin(p)})" for p in plugin_names)
    if len(plugin_names) == 1:
        who = f"plugin {who} twice"
    else:
        who = f"{len(plugin_names)} plugins: {who}"
    dists = list(dict.fromkeys(_distributions[p][0] for p in plugin_names if p in _distributions))
    fix = ("uninstall one (" + " or ".join(f"`pip uninstall {d}`" for d in dists) + ")" if len(dists) > 1
           else "remove one of them")
    return (f"{kind} id '{name}' is claimed by {who}; it will not load until one is gone: {fix}, or set "
            "ZOO_LOAD_PLUGINS to the plugins you want without one of them (the rest of the zoo works)")


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
