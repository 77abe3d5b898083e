"""The registry: metadata of every model and sampler the installed plugins register.

Registration is metadata only. A spec names its factory by a dotted path
(``"package.module:callable"``) that is imported on ``load``/``create``, never
while listing, so ``zoo list`` runs without importing torch.
"""

from __future__ import annotations

import fnmatch
import importlib
from dataclasses import asdict, dataclass, field
from typing import Any

from zoo.errors import DuplicateModelError, PluginError, UnknownModelError
from zoo.options import Option

FAMILIES = ("autoencoder", "gan", "diffusion", "autoregressive")
# The roles (a model has at least one: zoo.interfaces.ROLES), then optional abilities.
ROLES = ("generator", "translation", "encoder", "likelihood")
CAPABILITIES = ("generator", "translation", "encoder", "likelihood", "conditional", "interpolation", "truncation",
                "style-mixing")


@dataclass(frozen=True)
class ModelSpec:
    """What a plugin says about one model: everything ``zoo list`` and ``zoo info`` show.

    An entry without weights is an architecture to train (``zoo.create(id)``); an
    entry with weights is a pretrained model (``zoo.load(id)``).

    Attributes:
        id: Unique name, lower case with dashes (``"dcgan-fashion"``).
        factory: Dotted path ``"module:callable"``; the callable takes the config
            keyword arguments and returns the model (a ``zoo.Generator``).
        family: One of ``FAMILIES``.
        capabilities: Subset of ``CAPABILITIES``, with at least one of the ``ROLES``: ``"generator"``
            (samples from noise), ``"translation"``, ``"encoder"``, ``"likelihood"``. They must
            match the model's type (``zoo.interfaces.capabilities_of``); the contract kit checks it.
        image_shape: ``(C, H, W)`` of the images the model makes.
        arch: The architecture id this model is an instance of (itself if empty).
        config: Keyword arguments for ``factory`` (the architecture's hyperparameters).
        trainer: Dotted path of the training step class, for ``zoo train``.
        aliases: Other names that resolve to this id.
        dataset: Data the weights were trained on ("" for an untrained architecture).
        classes: Class names, for conditional models and for display.
        paper: Citation or URL of the paper.
        license: License of the weights (or the code, for an architecture).
        weights: ``"bundled"`` (a folder under ``model_cards/``), ``"hub"`` or ``"none"``.
        path: Folder holding the weights, for plugins that ship their own.
        hub_repo: Hugging Face Hub repo id, ``hub_revision`` the pinned commit and
            ``hub_sha256`` the digest of the weights file there.
        hub_weights_file: Name of the weights file in the Hub repo.
        hub_extra_files: Other files of the Hub repo that ``loader`` reads (fetched with the weights).
        loader: Dotted path ``"module:callable"`` of a plugin's own loader, for weights not in the
            zoo's folder format (a diffusers repo, say): it takes ``(folder: Path, spec)`` and
            returns the model. Empty: ``zoo.load_folder``.
        samplers: Ids of the samplers the plugin ships for this model (diffusion, autoregressive): a
            non-empty tuple says the model is driven by samplers; any registered sampler of its
            family runs it too (``zoo info`` lists them all).
        options: Sampling options the model itself takes (``truncation``), as ``zoo.options.Option``;
            sampler-driven models also take ``sampler``, ``steps`` and their sampler's options.
        components: For a composite architecture, its components as ``(name, role)`` pairs
            (``("autoencoder", "encoder")``): models of any plugin that the factory receives by
            those names (see ``zoo.components``).
        description: One line for ``zoo info``.
        test_config: A tiny config (overriding ``config``) for the shared contract tests,
            which build and check every registered architecture in seconds.
        plugin: Filled in by the plugin manager: the plugin that registered it.
    """

    id: str
    factory: str
    family: str
    capabilities: tuple[str, ...] = ("generator",)
    image_shape: tuple[int, int, int] = (1, 28, 28)
    arch: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    trainer: str = ""
    aliases: tuple[str, ...] = ()
    dataset: str = ""
    classes: tuple[str, ...] = ()
    paper: str = ""
    license: str = ""
    weights: str = "none"
    path: str = ""
    hub_repo: str = ""
    hub_revision: str = ""
    hub_sha256: str = ""
    hub_weights_file: str = "model.safetensors"
    hub_extra_files: tuple[str, ...] = ()
    loader: str = ""
    samplers: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()
    components: tuple[tuple[str, str], ...] = ()
    description: str = ""
    test_config: dict[str, Any] = field(default_factory=dict)
    plugin: str = ""

    def __post_init__(self) -> None:
        problems = []
        if self.family not in FAMILIES:
            problems.append(f"family '{self.family}' is not one of {', '.join(FAMILIES)}")
        unknown = set(self.capabilities) - set(CAPABILITIES)
        if unknown:
            problems.append(f"unknown capabilities {sorted(unknown)}")
        if not set(self.capabilities) & set(ROLES):
            problems.append(f"capabilities name no role (one of {', '.join(ROLES)})")
        bad_roles = [r for _, r in self.components if r not in ROLES]
        if bad_roles:
            problems.append(f"component roles {bad_roles} are not among {', '.join(ROLES)}")
        if ":" not in self.factory:
            problems.append(f"factory '{self.factory}' is not 'module:callable'")
        if self.loader and ":" not in self.loader:
            problems.append(f"loader '{self.loader}' is not 'module:callable'")
        if self.weights not in ("bundled", "hub", "none"):
            problems.append(f"weights '{self.weights}' is not bundled, hub or none")
        if self.weights == "hub" and not self.hub_repo:
            problems.append("weights='hub' needs hub_repo")
        if problems:
            raise PluginError(f"model spec '{self.id}': " + "; ".join(problems))

    @property
    def architecture(self) -> str:
        return self.arch or self.id

    @property
    def pretrained(self) -> bool:
        return self.weights != "none"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class SamplerSpec:
    """A sampling procedure (DDPM ancestral, DDIM, ...), usable by any model whose
    family it names.

    Attributes:
        id: Unique name (``"ddim"``).
        factory: Dotted path ``"module:callable"`` returning the sampler object.
        families: Families whose networks this sampler can drive.
        options: The sampling options it takes beyond ``steps`` (``eta``), as ``zoo.options.Option``:
            the CLI builds a flag for each, and the core checks values against them.
        description: One line for ``zoo info``.
        plugin: Filled in by the plugin manager.
    """

    id: str
    factory: str
    families: tuple[str, ...] = ("diffusion",)
    options: tuple[Option, ...] = ()
    description: str = ""
    plugin: str = ""


@dataclass(frozen=True)
class DatasetSpec:
    """A data set the zoo can train and evaluate on, found by name (``zoo datasets`` lists them).

    Attributes:
        id: Unique name (``"fashion-mnist"``).
        loader: Dotted path ``"module:callable"``; the callable takes ``split`` (one of ``splits``)
            and returns ``(images, labels)``: float ``(N, C, H, W)`` in ``[0, 1]`` and int64 ``(N,)``
            (``-1`` where there are no labels).
        image_shape: ``(C, H, W)`` of its images.
        splits: The splits ``loader`` accepts.
        classes: Class names, by label index; a class is a data source too (``fashion-mnist:sneaker``).
        num_images: Images per split, for the listing.
        status: Dotted path of a cheap check ``() -> str`` (no torch import): ``""`` when the data is
            there, else how to get it. Empty: always available.
        description: One line for ``zoo datasets``.
        license: License of the data.
        plugin: Filled in by the plugin manager.
    """

    id: str
    loader: str
    image_shape: tuple[int, int, int]
    splits: tuple[str, ...] = ("train", "test")
    classes: tuple[str, ...] = ()
    num_images: dict[str, int] = field(default_factory=dict)
    status: str = ""
    description: str = ""
    license: str = ""
    plugin: str = ""

    def __post_init__(self) -> None:
        if ":" not in self.loader:
            raise PluginError(f"data set spec '{self.id}': loader '{self.loader}' is not 'module:callable'")
        if not self.id or any(ch in self.id for ch in ":@/ "):
            raise PluginError(f"data set id '{self.id}' must be non-empty, without ':', '@', '/' or spaces")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def import_object(path: str) -> Any:
    """Import ``"package.module:attr"`` and return the attribute."""
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        if err.name and (module_name == err.name or module_name.startswith(err.name + ".")):
            raise PluginError(f"'{path}' names module '{module_name}', which does not exist") from None
        raise PluginError(f"module '{module_name}' (of '{path}') imports '{err.name}', which is not installed"
                          ) from None
    except Exception as err:  # a plugin's module that fails while importing: one line, not a traceback
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise PluginError(f"importing '{module_name}' (of '{path}') failed: {type(err).__name__}: {first}") from None
    try:
        obj: Any = module
        for part in attr.split("."):
            obj = getattr(obj, part)
    except AttributeError as err:
        raise PluginError(f"'{path}' names nothing: {err}") from None
    return obj


class Registry:
    """Models and samplers by id; aliases resolve to ids; duplicates are refused."""

    def __init__(self) -> None:
        self.models: dict[str, ModelSpec] = {}
        self.samplers: dict[str, SamplerSpec] = {}
        self.datasets: dict[str, DatasetSpec] = {}
        self._aliases: dict[str, str] = {}
        # (kind, name) -> why it refuses to load: two plugins claimed it (filled by zoo.plugins)
        self.contested: dict[tuple[str, str], str] = {}

    def _check_contested(self, kind: str, name: str) -> None:
        for key in ((kind, name), (kind, name.lower())):
            if key in self.contested:
                raise DuplicateModelError(self.contested[key])

    def add_model(self, spec: ModelSpec) -> None:
        for name in (spec.id, *spec.aliases):
            owner_id = self._aliases.get(name)
            if owner_id is not None:
                owner = self.models[owner_id]
                raise DuplicateModelError(
                    f"model id '{name}' is claimed by two plugins: "
                    f"'{owner.plugin}' ({owner_id}) and '{spec.plugin}' ({spec.id})"
                )
        self.models[spec.id] = spec
        for name in (spec.id, *spec.aliases):
            self._aliases[name] = spec.id

    def add_sampler(self, spec: SamplerSpec) -> None:
        if spec.id in self.samplers:
            owner = self.samplers[spec.id]
            raise DuplicateModelError(
                f"sampler id '{spec.id}' is claimed by two plugins: "
                f"'{owner.plugin}' and '{spec.plugin}'"
            )
        self.samplers[spec.id] = spec

    def add_dataset(self, spec: DatasetSpec) -> None:
        if spec.id in self.datasets:
            owner = self.datasets[spec.id]
            raise DuplicateModelError(
                f"data set id '{spec.id}' is claimed by two plugins: '{owner.plugin}' and '{spec.plugin}'"
            )
        self.datasets[spec.id] = spec

    def get_dataset(self, name: str) -> DatasetSpec:
        self._check_contested("data set", name)
        if name not in self.datasets:
            raise UnknownModelError(name, self.datasets, what="data set", listing="zoo datasets")
        return self.datasets[name]

    def get(self, name: str) -> ModelSpec:
        self._check_contested("model", name)
        key = self._aliases.get(name) or self._aliases.get(name.lower())
        if key is None:
            raise UnknownModelError(name, self._aliases)
        return self.models[key]

    def samplers_for(self, family: str) -> list[SamplerSpec]:
        """Every registered sampler that drives models of ``family``, by id."""
        return sorted((s for s in self.samplers.values() if family in s.families), key=lambda s: s.id)

    def declared_options(self) -> dict[str, Option]:
        """Every sampling option any model or sampler declares (the first declaration of a name wins),
        plus ``sampler`` and ``steps``: the flags of ``zoo sample``."""
        from zoo.options import SAMPLER, STEPS

        out = {SAMPLER.name: SAMPLER, STEPS.name: STEPS}
        specs: list[Any] = [*sorted(self.models.values(), key=lambda s: s.id),
                            *sorted(self.samplers.values(), key=lambda s: s.id)]
        for spec in specs:
            for option in spec.options:
                out.setdefault(option.name, option)
        return out

    def get_sampler(self, name: str) -> SamplerSpec:
        self._check_contested("sampler", name)
        if name not in self.samplers:
            raise UnknownModelError(name, self.samplers, what="sampler")
        return self.samplers[name]

    def filter(
        self,
        pattern: str | None = None,
        *,
        family: str | None = None,
        pretrained: bool | None = None,
    ) -> list[ModelSpec]:
        """Specs sorted by id, filtered by a wildcard pattern (matched against id and
        aliases), a family and whether weights exist."""
        out = []
        for spec in sorted(self.models.values(), key=lambda s: s.id):
            if pattern and not any(
                fnmatch.fnmatchcase(n, pattern.lower()) for n in (spec.id, *spec.aliases)
            ):
                continue
            if family and spec.family != family:
                continue
            if pretrained is not None and spec.pretrained != pretrained:
                continue
            out.append(spec)
        return out
