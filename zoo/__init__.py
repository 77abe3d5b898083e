"""zoo: a model zoo for generative image models.

    import zoo
    images = zoo.load("dcgan-fashion").sample(16, seed=0)   # (16, 1, 28, 28) in [0, 1]

Importing ``zoo`` does not import torch; ``load`` and ``create`` do.
"""

from __future__ import annotations

from typing import Any

from zoo.errors import (
    BadInputError,
    DataError,
    DuplicateModelError,
    HubError,
    OutputError,
    PluginError,
    UnknownModelError,
    WeightsError,
    ZooError,
)
from zoo.hookspecs import hookimpl
from zoo.registry import ModelSpec, SamplerSpec

__version__ = "0.1.0"

__all__ = [
    "BadInputError", "DataError", "DuplicateModelError", "HubError", "ModelSpec", "OutputError", "PluginError",
    "SamplerSpec", "UnknownModelError", "WeightsError", "ZooError", "create", "hookimpl",
    "list_models", "load", "model_spec", "Generator", "Encoder", "Sampler", "LatentGenerator",
    "TrainingStep",
]

_LAZY = {
    "list_models": "zoo.api", "load": "zoo.api", "create": "zoo.api", "model_spec": "zoo.api",
    "load_folder": "zoo.api",
    "Generator": "zoo.interfaces", "LatentGenerator": "zoo.interfaces",
    "Encoder": "zoo.interfaces", "Sampler": "zoo.interfaces",
    "TrainingStep": "zoo.training",
}


def __getattr__(name: str) -> Any:  # PEP 562: heavy modules load on first use
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute '{name}'")
