"""The conformance kit: the contract every plugin's models and samplers keep, runnable from any
plugin's own repository (scikit-learn's ``check_estimator`` and ``parametrize_with_checks`` are the
anchor). The zoo's own ``tests/test_contract.py`` runs exactly these checks, over every plugin.

In a plugin's test file::

    from zoo.testing import parametrize_with_checks

    @parametrize_with_checks(plugin="my_plugin")   # the entry-point name in your pyproject
    def test_zoo_conformance(check, tmp_path):
        check(tmp_path)

or, outside pytest, ``zoo.testing.check_plugin("my_plugin")``, which raises ``AssertionError`` listing
every failed check. Which checks run depends on what each registration can do:

- every architecture (a spec without weights): its spec resolves (factory, training step, samplers),
  it builds from ``test_config``, and its declared capabilities are the ones its type has;
- generators: sample shape, dtype, range ``[0, 1]``, seed determinism, training mode left as it was,
  an unknown sampling option refused in one line, class labels (conditional), interpolation;
- translators: translation both ways, shape, range, determinism, cycle, bad directions refused;
- encoders: ``encode``/``decode`` shapes against ``latent_shape``, reconstructions in range;
- likelihoods: ``log_prob`` finite, one value per image, at most 0 (nats per image of 8-bit data, so
  bits/dim is positive), the same with the same generator, and batch-independent where exact;
- the safetensors round trip: saved, loaded back in eval mode, the same outputs (composites load
  their component subfolders);
- a training step or two through the real loop (``zoo.training.train``) on tiny data, exported and
  loaded back: marked ``zoo_training``, so a project may skip them (``pytest -m "not zoo_training"``);
- each sampler the plugin registers runs on a tiny model of each family it names;
- registration stays metadata only: the plugin alone, in a fresh process, registers without importing
  torch or any factory module (plugins found through the ``zoo`` entry-point group).

Checks work on tiny configs and tiny random data: the whole suite of a plugin takes seconds.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import struct
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

    from zoo.registry import ModelSpec, SamplerSpec

TRAINING_MARK = "zoo_training"  # the pytest mark of the checks that run the real training loop

__all__ = ["Check", "CheckResult", "TRAINING_MARK", "check_plugin", "parametrize_with_checks", "plugin_checks",
           "role_outputs", "tiny_model", "write_tiny_fashion"]


class CheckSkipped(Exception):
    """A check that does not apply here (raised as ``pytest.skip`` under pytest)."""


def _skip(reason: str) -> None:
    if "pytest" in sys.modules:
        import pytest

        pytest.skip(reason)
    raise CheckSkipped(reason)


@contextmanager
def _one_thread() -> Iterator[None]:
    """Tiny models gain nothing from intra-op threads, and on a busy machine their spin-waits cost
    10x (the kit over the first-party plugins: 26 s on one thread, 144 s on two, 2 loaded CPU cores)."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class Check:
    """One check of one registration.

    Attributes:
        name: What is checked (``"sample"``, ``"round_trip"``...).
        target: What it is checked on: a model id, ``sampler:ID`` or ``plugin:NAME``.
        function: Runs the check in a scratch folder; raises ``AssertionError`` (or any error) on failure.
        training: It runs the real training loop (marked ``zoo_training`` under pytest).
    """

    name: str
    target: str
    function: Callable[[Path], None]
    training: bool = False

    @property
    def id(self) -> str:
        return f"{self.target}::{self.name}"

    def __call__(self, tmp_path: Path | str | None = None) -> None:
        """Run the check, in ``tmp_path`` or a temporary folder removed afterwards, on one torch thread."""
        with _one_thread():
            if tmp_path is not None:
                self.function(Path(tmp_path))
                return
            with tempfile.TemporaryDirectory(prefix="zoo-check-") as folder:
                self.function(Path(folder))

    def __repr__(self) -> str:
        return self.id


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check in ``check_plugin``: ``"passed"``, ``"failed"`` or ``"skipped"``."""

    check: Check
    outcome: str
    message: str = ""


# ------------------------------------------------------------------ helpers a plugin's own tests may use


def tiny_model(arch: str, seed: int = 0, **overrides: Any) -> Any:
    """An untrained model of ``arch`` built from its spec's ``test_config`` (updated by ``overrides``),
    with torch's global seed set first so that its weights are the same every time."""
    import torch

    import zoo

    torch.manual_seed(seed)
    return zoo.create(arch, **{**zoo.model_spec(arch).test_config, **overrides})


def some_images(model: Any, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` random 8-bit images ``(n, C, H, W)`` in ``[0, 1]`` of the model's shape."""
    import torch

    levels = torch.randint(0, 256, (n, *model.image_shape), generator=torch.Generator().manual_seed(seed))
    return levels.float() / 255


def role_outputs(model: Any, n: int = 3, seed: int = 1) -> torch.Tensor:
    """What the model makes, by role: samples of a generator, translations both ways of a translator,
    or reconstructions of an encoder; ``(B, C, H, W)`` on the CPU."""
    import torch

    from zoo.interfaces import Encoder, Generator, Translator

    if isinstance(model, Generator):
        return model.sample(n, seed=seed)
    x = some_images(model, n, seed)
    if isinstance(model, Translator):
        return torch.cat([model.translate(x, "a2b"), model.translate(x, "b2a")])
    if isinstance(model, Encoder):
        return model.reconstruct(x.to(model.device)).cpu()
    raise AssertionError(f"{type(model).__name__} has no role that makes images (generator, translator, encoder)")


def write_idx(path: Path, array: Any) -> None:
    """Write a uint8 numpy array as a gzipped IDX file (LeCun's MNIST format)."""
    header = struct.pack(">HBB", 0, 0x08, array.ndim) + struct.pack(">" + "I" * array.ndim, *array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.astype("uint8").tobytes())


def write_tiny_fashion(folder: Path | str, num_train: int = 64, num_test: int = 32, seed: int = 0) -> Path:
    """A folder laid out like the Fashion-MNIST Debian package, of random 28×28 images and labels:
    a data source for ``zoo train --data FOLDER`` (``FOLDER@SIZE`` resizes it)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, n in (("train", num_train), ("t10k", num_test)):
        write_idx(folder / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", rng.integers(0, 10, (n,)))
    return folder


def _all_eval(model: Any) -> bool:
    return not any(m.training for m in model.modules())


# ------------------------------------------------------------------ checks of an architecture


def check_spec(arch: str) -> None:
    """The spec resolves: factory (and training step) import, its samplers exist and drive its family."""
    import zoo
    from zoo.plugins import get_registry
    from zoo.registry import import_object
    from zoo.training import TrainingStep

    spec = zoo.model_spec(arch)
    assert callable(import_object(spec.factory)), f"factory {spec.factory} is not callable"
    assert len(spec.image_shape) == 3 and all(int(s) > 0 for s in spec.image_shape), spec.image_shape
    if spec.trainer:
        step = import_object(spec.trainer)
        assert isinstance(step, type) and issubclass(step, TrainingStep), \
            f"trainer {spec.trainer} is not a zoo.TrainingStep subclass"
        assert step.data_sources and all(isinstance(s, str) for s in step.data_sources), \
            f"{spec.trainer}.data_sources must name at least one data source"
    registry = get_registry()
    for sampler in spec.samplers:
        assert spec.family in registry.get_sampler(sampler).families, \
            f"sampler '{sampler}' does not drive {spec.family} models"


def check_build(arch: str) -> None:
    """It builds from ``test_config``, and its declared capabilities are those of its type."""
    import torch

    import zoo
    from zoo.interfaces import Model, capabilities_of
    from zoo.registry import ROLES

    spec, model = zoo.model_spec(arch), tiny_model(arch)
    assert isinstance(model, Model), f"the factory returned a {type(model).__name__}, not a zoo.Model"
    declared = set(spec.capabilities) & (set(ROLES) | {"conditional", "interpolation"})
    assert declared == set(capabilities_of(model)), \
        f"spec declares {sorted(declared)}, the model's type has {sorted(capabilities_of(model))}"
    assert ("conditional" in spec.capabilities) == model.conditional, "'conditional' and class_names disagree"
    assert model.image_shape[0] == spec.image_shape[0], \
        f"spec says {spec.image_shape[0]} channels, the model makes {model.image_shape[0]}"
    assert all(torch.isfinite(p).all() for p in model.parameters()), "initial parameters are not finite"
    assert model.zoo_config["architecture"] == spec.architecture


def check_sample(arch: str) -> None:
    """``sample``: ``(n, C, H, W)`` float32 in ``[0, 1]`` in batches, and the training mode left as it was."""
    import torch

    model = tiny_model(arch)
    model.train()
    images = model.sample(5, seed=0, batch_size=2)
    assert images.shape == (5, *model.image_shape), f"sample(5) gave {tuple(images.shape)}"
    assert images.dtype == torch.float32, images.dtype
    assert images.device.type == "cpu"
    assert 0 <= images.min() and images.max() <= 1, "samples outside [0, 1]"
    assert model.training, "sample() left the model in eval mode"


def check_determinism(arch: str) -> None:
    """The same seed gives the same images; another seed other images."""
    import torch

    model = tiny_model(arch)
    a, b, c = model.sample(4, seed=3), model.sample(4, seed=3), model.sample(4, seed=4)
    assert torch.equal(a, b), "the same seed gave different images"
    assert not torch.equal(a, c), "two seeds gave the same images"


def check_unknown_option(arch: str) -> None:
    """A sampling option the model does not take is one ``BadInputError`` naming those it takes."""
    import zoo

    model = tiny_model(arch)
    try:
        model.sample(1, seed=0, no_such_option=1)
    except zoo.BadInputError as err:
        assert "no_such_option" in str(err) and "takes" in str(err), str(err)
    else:
        raise AssertionError("sample(no_such_option=1) was accepted")


def check_labels(arch: str) -> None:
    """A conditional model samples the class asked for by name or index; an unknown class is refused."""
    import torch

    import zoo

    model = tiny_model(arch)
    name = model.class_names[-1]
    by_name = model.sample(2, seed=0, labels=name)
    by_index = model.sample(2, seed=0, labels=len(model.class_names) - 1)
    assert torch.equal(by_name, by_index), "a class by name and by index gave different images"
    try:
        model.sample(1, seed=0, labels="no-such-class")
    except zoo.BadInputError:
        pass
    else:
        raise AssertionError("an unknown class name was accepted")


def check_interpolation(arch: str) -> None:
    """``interpolate(seed_a, seed_b)`` starts at ``seed_a``'s sample."""
    import torch

    model = tiny_model(arch)
    strip = model.interpolate(0, 1, num_steps=4)
    assert strip.shape == (4, *model.image_shape)
    assert torch.allclose(strip[0], model.sample(1, seed=0)[0], atol=1e-5), "the strip does not start at seed A"


def check_translation(arch: str) -> None:
    """``translate`` both ways: shape, range, determinism, batch-size independence, one image, ``cycle``,
    and bad directions or shapes refused in one line."""
    import torch

    import zoo
    from zoo.interfaces import Generator, Translator

    model = tiny_model(arch)
    assert isinstance(model, Translator) and not isinstance(model, Generator)
    x = some_images(model, 5)
    for direction in ("a2b", "b2a"):
        y = model.translate(x, direction, batch_size=2)
        assert y.shape == x.shape and y.dtype == torch.float32
        assert 0 <= y.min() and y.max() <= 1, "translations outside [0, 1]"
        assert torch.equal(y, model.translate(x, direction, batch_size=2)), "the same input gave another output"
        assert torch.allclose(y, model.translate(x, direction), atol=1e-5), "the output depends on the batch size"
        assert torch.allclose(model.translate(x[0], direction), y[:1], atol=1e-5), "one (C, H, W) image differs"
        assert model.cycle(x, direction).shape == x.shape
    assert not torch.equal(model.translate(x, "a2b"), model.translate(x, "b2a")), "a2b and b2a are one generator"
    a, b = model.domains
    assert model.resolve_direction(to=b) == "a2b" and model.resolve_direction(to=a) == "b2a"
    for bad in (lambda: model.translate(x, "sideways"), lambda: model.translate(torch.rand(2, 3, 5, 5))):
        try:
            bad()
        except zoo.BadInputError:
            continue
        raise AssertionError("a bad direction or image shape was accepted")


def check_encoder(arch: str) -> None:
    """``encode`` gives ``(B, *latent_shape)``; ``decode`` and ``reconstruct`` give images back."""
    model = tiny_model(arch)
    x = some_images(model, 2)
    z = model.encode(x)
    assert z.shape[0] == 2 and tuple(z.shape[1:]) == tuple(model.latent_shape), \
        f"encode gave {tuple(z.shape)}, latent_shape is {model.latent_shape}"
    assert model.decode(z).shape == x.shape
    recon = model.reconstruct(x)
    assert recon.shape == x.shape and 0 <= recon.min() and recon.max() <= 1


def check_likelihood(arch: str) -> None:
    """``log_prob`` in nats per image of 8-bit data: one finite value per image, at most 0 (a
    probability of discrete data; bits/dim = -log_prob / (C·H·W·ln 2) is then positive), the same with
    the same generator, and independent of the batch for an exact likelihood."""
    import torch

    from zoo.interfaces import Likelihood, bits_per_dim

    model = tiny_model(arch).eval()
    assert isinstance(model, Likelihood)
    x = some_images(model, 3)
    with torch.no_grad():
        logp = model.log_prob(x, torch.Generator().manual_seed(0))
        again = model.log_prob(x, torch.Generator().manual_seed(0))
        first = model.log_prob(x[:1], torch.Generator().manual_seed(0))
    assert logp.shape == (3,), f"log_prob of 3 images gave shape {tuple(logp.shape)}"
    assert torch.isfinite(logp).all(), "log_prob is not finite"
    assert (logp <= 1e-3).all(), f"log_prob {logp.tolist()} > 0: not nats per image of 8-bit (discrete) data"
    assert torch.equal(logp, again), "the same generator gave another log_prob"
    if model.exact_likelihood:
        assert torch.allclose(first, logp[:1], rtol=1e-4, atol=1e-3), "log_prob depends on the rest of the batch"
    bpd = bits_per_dim(-logp, x[0].numel())
    assert (bpd >= 0).all() and torch.allclose(bpd * x[0].numel() * math.log(2), -logp)


def check_round_trip(arch: str, folder: Path) -> None:
    """Saved as a model folder (safetensors) and loaded back with ``zoo.load``: the same type, in eval
    mode, with the same outputs."""
    import torch

    import zoo
    from zoo.weights import save_model_folder

    model = tiny_model(arch)
    save_model_folder(model, folder / "model")
    loaded = zoo.load(str(folder / "model"))
    assert type(loaded) is type(model), f"loaded a {type(loaded).__name__}, saved a {type(model).__name__}"
    assert _all_eval(loaded), "zoo.load returned a model (or submodule) in training mode"
    assert torch.equal(role_outputs(model.eval()), role_outputs(loaded)), "the loaded model makes other images"


def check_training(arch: str, folder: Path) -> None:
    """Two or three steps of the real training loop on tiny random data, checkpointed, exported and
    loaded back."""
    import zoo
    from zoo.registry import import_object
    from zoo.training import TrainConfig, train

    spec = zoo.model_spec(arch)
    shape = tiny_model(arch).image_shape
    if shape[0] != 1:
        _skip(f"the kit's tiny data are single-channel; {arch} works on {shape[0]} channels")
    sources = import_object(spec.trainer).data_sources
    data = str(write_tiny_fashion(folder / "data")) + (f"@{shape[-1]}" if shape[-1] != 28 else "")
    cfg = TrainConfig(arch=arch, data=[data] * len(sources), out=str(folder / "run"), epochs=2, batch_size=16,
                      max_steps=3, model_config=dict(spec.test_config), checkpoint_every=2)
    export = train(cfg, progress=False)
    for name in ("model.safetensors", "config.json", "samples.png"):
        assert (export / name).is_file(), f"the export lacks {name}"
    assert (folder / "run" / "samples" / "epoch_001.png").is_file()
    assert (folder / "run" / "checkpoint" / "state.json").is_file()
    loaded = zoo.load(str(export))
    assert _all_eval(loaded)
    assert role_outputs(loaded).shape[1:] == tuple(shape)


# ------------------------------------------------------------------ checks of a sampler and of a plugin


def _models_for(sampler: SamplerSpec, family: str) -> list[ModelSpec]:
    """Architectures of ``family`` that samplers drive, the sampler's own plugin's first."""
    from zoo.plugins import get_registry

    candidates = [s for s in get_registry().filter(family=family, pretrained=False) if s.samplers]
    return sorted(candidates, key=lambda s: (s.plugin != sampler.plugin, s.id))


def check_sampler(sampler_id: str, family: str) -> None:
    """The sampler runs on a tiny model of ``family``: shape, range, determinism."""
    import torch

    from zoo.plugins import get_registry

    sampler = get_registry().get_sampler(sampler_id)
    candidates = _models_for(sampler, family)
    if not candidates:
        _skip(f"no installed architecture of family '{family}' is driven by samplers")
    model = tiny_model(candidates[0].id)
    a = model.sample(2, seed=0, sampler=sampler_id)
    assert a.shape == (2, *model.image_shape) and 0 <= a.min() and a.max() <= 1, \
        f"sampler '{sampler_id}' on {candidates[0].id}: shape {tuple(a.shape)}, range [{a.min()}, {a.max()}]"
    assert torch.equal(a, model.sample(2, seed=0, sampler=sampler_id)), "the same seed gave different images"
    for option in sampler.options:
        assert option.name in model.declared_options(sampler_id), f"option {option.name} is not taken"


_METADATA_PROBE = """
import json, sys
from zoo.plugins import failures, get_registry, pm
from click.testing import CliRunner
from zoo.cli import cli
name = sys.argv[1]
registry = get_registry()
specs = [*registry.models.values(), *registry.samplers.values(), *registry.datasets.values()]
mine = [s for s in specs if s.plugin == name]
listing = CliRunner().invoke(cli, ["list"])
infos = [CliRunner().invoke(cli, ["info", s.id]).exit_code for s in registry.models.values() if s.plugin == name]
modules = {getattr(s, "factory", "") for s in mine} | {getattr(s, "loader", "") for s in mine}
own = {getattr(p, "__name__", "") for _, p in pm.list_name_plugin()}  # the plugin module itself is imported
print(json.dumps({"count": len(mine), "failures": [f"{f.stage}: {f.error}" for f in failures if f.name == name],
                  "torch": "torch" in sys.modules, "list": listing.exit_code, "info": infos,
                  "imported": sorted(m.split(":")[0] for m in modules
                               if m and m.split(":")[0] in sys.modules and m.split(":")[0] not in own)}))
"""


def check_metadata_only(plugin: str) -> None:
    """In a fresh process with this plugin alone (``ZOO_LOAD_PLUGINS``), registering, ``zoo list`` and
    ``zoo info`` import neither torch nor any factory module, and nothing fails."""
    from importlib import metadata

    if plugin not in {ep.name for ep in metadata.entry_points(group="zoo")}:
        _skip(f"plugin '{plugin}' is registered in-process, not through the 'zoo' entry-point group")
    env = {**os.environ, "ZOO_LOAD_PLUGINS": plugin, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", _METADATA_PROBE, plugin], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert not report["failures"], f"plugin '{plugin}' failed alone: {report['failures']}"
    assert report["count"] > 0, f"plugin '{plugin}' registered nothing"
    assert not report["torch"], f"registering plugin '{plugin}' (or zoo list/info) imported torch"
    assert not report["imported"], f"registering plugin '{plugin}' imported its factory modules {report['imported']}"
    assert report["list"] == 0 and all(code == 0 for code in report["info"]), "zoo list or zoo info failed"


# ------------------------------------------------------------------ collecting and running


def _plugins(plugin: str | Iterable[str] | None) -> set[str] | None:
    if plugin is None:
        return None
    return {plugin} if isinstance(plugin, str) else set(plugin)


def _bind(function: Callable[..., None], *args: str, folder: bool = False) -> Callable[[Path], None]:
    """``function(*args)`` as a check body, given the scratch folder as last argument if it takes one."""

    def body(path: Path) -> None:
        function(*args, path) if folder else function(*args)

    return body


def plugin_checks(plugin: str | Iterable[str] | None = None, *, ids: Iterable[str] | None = None,
                  training: bool = True) -> list[Check]:
    """Every check that applies to what ``plugin`` registers, by capability.

    Args:
        plugin: Entry-point name(s) of the plugin(s) (``spec.plugin``); ``None``: every loaded plugin.
        ids: Only these architecture and sampler ids (default: all of the plugin's).
        training: Include the real-loop training checks.

    Returns:
        The checks, in a stable order: per architecture, then per sampler, then per plugin.

    Raises:
        PluginError: The plugin is not loaded, or registers nothing (a typo in the name, or it failed:
            the message says why).
    """
    from zoo.errors import PluginError
    from zoo.plugins import failures, get_registry

    wanted, only = _plugins(plugin), set(ids) if ids is not None else None
    registry = get_registry()

    def chosen(spec: Any) -> bool:
        return (wanted is None or spec.plugin in wanted) and (only is None or spec.id in only)

    archs = [s for s in registry.filter(pretrained=False) if chosen(s)]
    samplers = sorted((s for s in registry.samplers.values() if chosen(s)), key=lambda s: s.id)
    if wanted is not None and not archs and not samplers:
        broken = [f"{f.name}: {f.stage} failed: {f.error}" for f in failures if f.name in wanted]
        raise PluginError(f"plugin(s) {', '.join(sorted(wanted))} registered no architecture or sampler"
                          + (f" ({'; '.join(broken)})" if broken else " (is it installed? `zoo plugins` lists them)"))
    checks: list[Check] = []

    def add(name: str, target: str, function: Callable[[Path], None], is_training: bool = False) -> None:
        checks.append(Check(name, target, function, is_training))

    for spec in archs:
        a, caps = spec.id, set(spec.capabilities)
        add("spec", a, _bind(check_spec, a))
        add("build", a, _bind(check_build, a))
        if "generator" in caps:
            add("sample", a, _bind(check_sample, a))
            add("determinism", a, _bind(check_determinism, a))
            add("unknown_option", a, _bind(check_unknown_option, a))
            if "conditional" in caps:
                add("labels", a, _bind(check_labels, a))
            if "interpolation" in caps:
                add("interpolation", a, _bind(check_interpolation, a))
        if "translation" in caps:
            add("translation", a, _bind(check_translation, a))
        if "encoder" in caps:
            add("encoder", a, _bind(check_encoder, a))
        if "likelihood" in caps:
            add("likelihood", a, _bind(check_likelihood, a))
        add("round_trip", a, _bind(check_round_trip, a, folder=True))
        if training and spec.trainer:
            add("training", a, _bind(check_training, a, folder=True), True)
    for sampler in samplers:
        for family in sampler.families:
            add(f"runs_{family}", f"sampler:{sampler.id}", _bind(check_sampler, sampler.id, family))
    names = sorted({s.plugin for s in archs} | {s.plugin for s in samplers})
    if only is None:
        for name in names:
            add("metadata_only", f"plugin:{name}", _bind(check_metadata_only, name))
    return checks


def parametrize_with_checks(plugin: str | Iterable[str] | None = None, *, ids: Iterable[str] | None = None,
                            training: bool = True) -> Any:
    """A ``pytest.mark.parametrize`` over ``plugin_checks(...)``, one test per check, named
    ``TARGET::CHECK``; the training checks carry the ``zoo_training`` mark.

    Use it on a test taking ``check`` (and, usually, ``tmp_path``)::

        @parametrize_with_checks(plugin="my_plugin")
        def test_zoo_conformance(check, tmp_path):
            check(tmp_path)
    """
    import pytest

    checks = plugin_checks(plugin, ids=ids, training=training)
    params = [pytest.param(c, id=c.id, marks=[getattr(pytest.mark, TRAINING_MARK)] if c.training else [])
              for c in checks]
    return pytest.mark.parametrize("check", params)


def check_plugin(plugin: str | Iterable[str] | None = None, *, ids: Iterable[str] | None = None,
                 training: bool = True, verbose: bool = False) -> list[CheckResult]:
    """Run every check of ``plugin`` (see ``plugin_checks``) and return the results.

    Raises:
        AssertionError: One or more checks failed; the message lists each with its reason.
    """
    results = []
    for check in plugin_checks(plugin, ids=ids, training=training):
        try:
            check()
        except CheckSkipped as err:
            results.append(CheckResult(check, "skipped", str(err)))
        except Exception as err:
            results.append(CheckResult(check, "failed", f"{type(err).__name__}: {err}".strip()))
        except BaseException as err:  # pytest.skip raised under pytest
            if type(err).__name__ != "Skipped":
                raise
            results.append(CheckResult(check, "skipped", str(err)))
        else:
            results.append(CheckResult(check, "passed"))
        if verbose:
            print(f"{results[-1].outcome:8} {check.id} {results[-1].message}".rstrip())
    failed = [r for r in results if r.outcome == "failed"]
    if failed:
        raise AssertionError(f"{len(failed)} of {len(results)} zoo checks failed:\n"
                             + "\n".join(f"  {r.check.id}: {r.message}" for r in failed))
    return results
