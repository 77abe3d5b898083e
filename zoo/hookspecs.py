"""The hooks a plugin may implement. Each one takes a callback or object and returns nothing.

A plugin is a module (usually a package's ``__init__``) exposed under the
``zoo`` entry-point group, with functions decorated by ``zoo.hookimpl``::

    [project.entry-points.zoo]
    my_ae = "my_ae_package"

The hooks are called once per process, when the registry is first needed.
They must stay cheap: no torch import, no file or network access.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from zoo.registry import DatasetSpec, ModelSpec, SamplerSpec

hookspec = pluggy.HookspecMarker("zoo")
hookimpl = pluggy.HookimplMarker("zoo")


@hookspec
def register_models(register: Callable[[ModelSpec], None]) -> None:
    """Called when the registry is built. Call ``register(ModelSpec(...))`` once per model.

    Args:
        register: Adds one spec. An id or alias another plugin also claims is withdrawn from
            both: it refuses to load (``DuplicateModelError`` naming both plugins and their
            distributions) and the conflict is reported; everything else loads.
    """


@hookspec
def register_samplers(register: Callable[[SamplerSpec], None]) -> None:
    """Called when the registry is built. Call ``register(SamplerSpec(...))`` once per
    sampling procedure (DDPM ancestral, DDIM, ...), for any model of the families it names.

    Args:
        register: Adds one sampler spec.
    """


@hookspec
def register_datasets(register: Callable[[DatasetSpec], None]) -> None:
    """Called when the registry is built. Call ``register(DatasetSpec(...))`` once per data set, so
    that ``zoo train --data NAME``, ``NAME:CLASS`` domains and ``zoo datasets`` know it. The
    spec's ``loader`` is imported only when the data is read.

    Args:
        register: Adds one data set spec; an id another plugin (or the zoo) registered is withdrawn
            from both and refuses to load (``DuplicateModelError`` naming both).
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Called when the ``zoo`` command starts. Add subcommands with ``@cli.command()``.

    Args:
        cli: The top-level click group.
    """
