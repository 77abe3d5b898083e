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
from zoo.registry import DatasetSpec, ModelSpec, SamplerSpec

__version__ = "0.1.0"

__all__ = [  # the public API a plugin may import (docs/plugin-guide.md)
    # using models
    "create", "list_models", "load", "load_folder", "model_spec",
    # registering: the hook marker and the specs
    "hookimpl", "ModelSpec", "SamplerSpec", "DatasetSpec", "Option",
    # roles (zoo.interfaces) and training
    "Model", "Generator", "LatentGenerator", "SampledGenerator", "Translator", "Encoder", "Likelihood", "Sampler",
    "capabilities_of", "bits_per_dim", "TrainingStep",
    # errors
    "ZooError", "BadInputError", "DataError", "DuplicateModelError", "HubError", "OutputError", "PluginError",
    "UnknownModelError", "WeightsError",
    # the conformance kit (zoo.testing)
    "check_plugin", "parametrize_with_checks",
    # helpers for a plugin's own commands (zoo.cli), so they behave like the zoo's
    "device_option", "force_option", "load_for_command", "write_outputs", "check_outputs",
]

_LAZY = {  # heavy modules load on first use: importing zoo imports no torch
    "list_models": "zoo.api", "load": "zoo.api", "create": "zoo.api", "model_spec": "zoo.api",
    "load_folder": "zoo.api",
    **dict.fromkeys(["Model", "Generator", "LatentGenerator", "SampledGenerator", "Translator", "Encoder",
                     "Likelihood", "Sampler", "capabilities_of", "bits_per_dim"], "zoo.interfaces"),
    "TrainingStep": "zoo.training",
    "Option": "zoo.options",
    "check_plugin": "zoo.testing", "parametrize_with_checks": "zoo.testing",
    **dict.fromkeys(["device_option", "force_option", "load_for_command", "write_outputs", "check_outputs"],
                    "zoo.cli"),
}


def __getattr__(name: str) -> Any:  # PEP 562: heavy modules load on first use
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute '{name}'")
