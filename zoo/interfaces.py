"""The roles of the zoo's models, and the Sampler.

A model has the roles it has, visible from its type; none is faked:

- ``Generator``: makes images from noise, ``sample(n, seed=...)`` → ``(n, C, H, W)`` in ``[0, 1]``.
- ``Translator``: maps images of domain A to domain B and back (``translate``, ``cycle``).
- ``Encoder``: images to latents of shape ``latent_shape`` and back (``encode``, ``decode``).
- ``Likelihood``: scores images, ``log_prob`` in nats per image of 8-bit data.

Every role derives from ``Model`` (an ``nn.Module`` with an image shape and class
names); a class may take several (a VAE is a Generator, an Encoder and a
Likelihood). ``capabilities_of`` reads the roles off a model, and the commands,
the contract kit and the training loop ask it what a model can do. A ``Sampler``
is an iterative procedure that turns a network into samples and is a separate
object from the network, as in diffusers.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from zoo.errors import BadInputError


def check_count(n: Any, name: str = "n") -> int:
    """Return ``n`` as an int if it is a positive whole number, else raise ``BadInputError``."""
    if isinstance(n, bool) or not isinstance(n, int) or n <= 0:
        raise BadInputError(f"{name} must be a positive integer, got {n!r}")
    return n


def check_seed(seed: Any) -> int | None:
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise BadInputError(f"seed must be a non-negative integer, got {seed!r}")
    return seed


def make_generator(seed: int | None) -> torch.Generator:
    """A CPU random generator: noise is drawn on the CPU so a seed gives the same
    images on every device (bit for bit on CPU)."""
    gen = torch.Generator(device="cpu")
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(seed)
    return gen


class Model(nn.Module):
    """What every model of the zoo is, whatever its roles: an ``nn.Module`` that works on
    images of ``image_shape`` ``(C, H, W)`` with values in ``[0, 1]``.

    ``class_names`` is non-empty for class-conditional models. ``zoo.create`` and
    ``zoo.load`` set ``zoo_config`` (what config.json holds) and ``zoo_spec`` (the
    registered ``ModelSpec``).
    """

    image_shape: tuple[int, int, int] = (1, 28, 28)
    class_names: tuple[str, ...] = ()
    zoo_config: dict[str, Any]
    zoo_spec: Any

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @property
    def dtype(self) -> torch.dtype:
        return next(self.parameters()).dtype

    @property
    def conditional(self) -> bool:
        return bool(self.class_names)

    def randn(self, *shape: int, generator: torch.Generator) -> torch.Tensor:
        """Standard normal noise drawn on the CPU, then moved to the model's device."""
        return torch.randn(*shape, generator=generator).to(self.device, self.dtype)

    def random_labels(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Uniform class labels ``(n,)`` drawn from ``generator``, on the model's device."""
        return torch.randint(len(self.class_names), (n,), generator=generator).to(self.device)

    def resolve_labels(self, labels: Sequence[int | str] | int | str | None, n: int) -> torch.Tensor | None:
        """Turn class names or indices (one, or one per image) into a ``(n,)`` tensor."""
        if labels is None:
            return None
        if not self.conditional:
            raise BadInputError(f"{type(self).__name__} is not class-conditional; labels are not accepted")
        items = [labels] if isinstance(labels, (int, str)) else list(labels)
        idx = []
        for item in items:
            if isinstance(item, str) and item.isdigit():
                item = int(item)
            if isinstance(item, str):
                if item not in self.class_names:
                    raise BadInputError(
                        f"unknown class '{item}'; valid classes: {', '.join(self.class_names)}"
                    )
                idx.append(self.class_names.index(item))
            elif isinstance(item, int) and 0 <= item < len(self.class_names):
                idx.append(item)
            else:
                raise BadInputError(
                    f"class index {item!r} out of range 0..{len(self.class_names) - 1}"
                )
        if len(idx) == 1:
            idx = idx * n
        if len(idx) != n:
            raise BadInputError(f"got {len(idx)} labels for {n} images; give one or {n}")
        return torch.tensor(idx, dtype=torch.long)

    def check_images(self, images: Any, what: str = "images") -> torch.Tensor:
        """``images`` as a float tensor ``(B, C, H, W)`` of this model's shape on its device, or one
        clear ``BadInputError`` (the CLI resizes and converts files before they get here)."""
        if not isinstance(images, torch.Tensor):
            raise BadInputError(f"{what} must be a tensor (B, C, H, W) in [0, 1], got {type(images).__name__}")
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or tuple(images.shape[1:]) != tuple(self.image_shape):
            c, h, w = self.image_shape
            raise BadInputError(f"{what} must be (B, {c}, {h}, {w}) for {type(self).__name__}, "
                                f"got {tuple(images.shape)}")
        if len(images) == 0:
            raise BadInputError(f"{what}: the batch is empty")
        return images.to(self.device, self.dtype)

    def preview(self, data: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, int]:
        """A grid that shows what the model does, for training previews and model cards:
        ``(images, images per row)``. Each role draws its own (samples, translations,
        reconstructions); ``data`` holds real images by data-source name, for roles that need
        inputs."""
        raise BadInputError(f"{type(self).__name__} has no role that can draw a preview")


class Generator(Model, ABC):
    """A model that makes images from noise: ``sample(n, seed=...)``.

    Subclasses set ``image_shape`` and implement ``generate``.
    """

    @abstractmethod
    def generate(
        self, n: int, generator: torch.Generator, labels: torch.Tensor | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Make ``n`` images ``(n, C, H, W)`` in ``[0, 1]`` from the given random generator."""

    @torch.no_grad()
    def sample(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: Sequence[int | str] | int | str | None = None,
        batch_size: int = 256,
        progress: bool = False,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Draw ``n`` images.

        Args:
            n: Number of images (> 0).
            seed: Non-negative integer; the same seed gives the same images. ``None``: random.
            labels: For conditional models, class names or indices, one or ``n``.
            batch_size: Images per forward pass, to bound memory.
            progress: Show a progress bar on stderr: images done, and each batch's sampler
                steps for models whose ``generate`` takes ``progress`` (diffusion).
            **kwargs: Passed to ``generate`` (for example ``sampler``, ``steps``).

        Returns:
            Float tensor ``(n, C, H, W)`` in ``[0, 1]``, on the CPU.
        """
        return torch.cat(list(self.iter_samples(n, seed=seed, labels=labels, batch_size=batch_size,
                                                progress=progress, **kwargs)))

    @torch.no_grad()
    def iter_samples(
        self,
        n: int,
        *,
        seed: int | None = None,
        labels: Sequence[int | str] | int | str | None = None,
        batch_size: int = 256,
        progress: bool = False,
        **kwargs: Any,
    ) -> Iterator[torch.Tensor]:
        """``sample`` one batch at a time (the same images, in the same order), so that
        writing 100,000 images to disk needs the memory of one batch."""
        n = check_count(n)
        batch_size = check_count(batch_size, "batch_size")
        kwargs = self.check_sample_options(kwargs)
        gen = make_generator(check_seed(seed))
        label_tensor = self.resolve_labels(labels, n)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=n, unit="img", desc=f"sampling {type(self).__name__}", leave=False)
            if "progress" in inspect.signature(self.generate).parameters:  # a bar over each batch's steps
                kwargs = {**kwargs, "progress": True}
        was_training = self.training
        self.eval()
        try:
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                lab = None if label_tensor is None else label_tensor[start : start + size].to(self.device)
                yield self.generate(size, gen, lab, **kwargs).float().clamp(0, 1).cpu()
                if bar is not None:
                    bar.update(size)
        finally:
            self.train(was_training)
            if bar is not None:
                bar.close()


    def preview(self, data: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, int]:
        """64 samples, seed 0, eight per row."""
        return self.sample(64, seed=0), 8

    def declared_options(self, sampler: str | None = None) -> dict[str, Any]:
        """The sampling options this model takes, by name (``zoo.options.Option``): those its spec
        declares (``truncation``)."""
        spec = getattr(self, "zoo_spec", None)
        return {o.name: o for o in getattr(spec, "options", ())}

    def check_sample_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Check sampling options against the declarations (``declared_options``): each value with its
        ``Option.check``; an option the model does not take is one line listing those it takes.
        Options left at None are dropped."""
        options = {k: v for k, v in options.items() if v is not None}
        if "progress" in options:  # a display switch, not a sampling option
            options["progress"] = bool(options["progress"])
        declared = self.declared_options(options.get("sampler"))
        given = [k for k in options if k != "progress"]
        if getattr(self, "zoo_spec", None) is None:
            return options  # built by hand, with no spec: generate checks what it takes
        unknown = sorted(k for k in given if k not in declared)
        if unknown:
            takes = f"it takes {', '.join(declared)}" if declared else "it takes none"
            raise BadInputError(f"{type(self).__name__}.sample got unknown options {unknown}; {takes}")
        return {k: (declared[k].check(v) if k in declared else v) for k, v in options.items()}


def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between latent vectors ``a`` and ``b`` (each ``(D,)``) at
    fractions ``t`` ``(T,)``; stays on the shell where Gaussian samples live (White 2016)."""
    a_n, b_n = a / a.norm(), b / b.norm()
    omega = torch.acos((a_n * b_n).sum().clamp(-1 + 1e-7, 1 - 1e-7))
    so = torch.sin(omega)
    t = t[:, None]
    return (torch.sin((1 - t) * omega) / so) * a + (torch.sin(t * omega) / so) * b


class LatentGenerator(Generator):
    """A Generator that decodes a standard normal latent ``z`` of size ``z_dim``."""

    z_dim: int = 0

    @abstractmethod
    def synthesize(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Map latents ``(B, z_dim)`` to images ``(B, C, H, W)`` in ``[0, 1]``."""

    def generate(
        self, n: int, generator: torch.Generator, labels: torch.Tensor | None = None, **kwargs: Any
    ) -> torch.Tensor:
        if kwargs:
            raise BadInputError(f"{type(self).__name__}.sample got unknown options {sorted(kwargs)}")
        return self.synthesize(self.randn(n, self.z_dim, generator=generator), labels)

    @torch.no_grad()
    def interpolate(self, seed_a: int, seed_b: int, num_steps: int = 8, label: int | str | None = None) -> torch.Tensor:
        """Images along the great circle between the latents of two seeds.

        Args:
            label: For class-conditional models, the class of the whole strip (name or
                index); by default the class that ``seed_a`` draws when sampling.

        Returns:
            ``(num_steps, C, H, W)`` in ``[0, 1]``, the first from ``seed_a``, the last from ``seed_b``.
        """
        num_steps = check_count(num_steps, "num_steps")
        gen_a = make_generator(check_seed(seed_a))
        za = self.randn(1, self.z_dim, generator=gen_a)[0]
        zb = self.randn(1, self.z_dim, generator=make_generator(check_seed(seed_b)))[0]
        labels = None
        if self.conditional:
            if label is None:  # the class seed A draws when sampling (latents first, then labels)
                label = int(self.random_labels(1, gen_a))
            labels = self.resolve_labels(label, num_steps)
            assert labels is not None
            labels = labels.to(self.device)
        elif label is not None:
            self.resolve_labels(label, num_steps)  # raises: not class-conditional
        t = torch.linspace(0, 1, num_steps, device=self.device, dtype=self.dtype)
        self.eval()
        return self.synthesize(slerp(za, zb, t), labels).float().clamp(0, 1).cpu()


class SampledGenerator(Generator):
    """A Generator whose images come from a registered ``Sampler`` driving its network: the
    diffusion models (DDPM ancestral, DDIM, ...) and the autoregressive ones (PixelCNN's pixel
    loops). The network and the procedure are separate objects; the sampler is chosen by name,
    at load time (``zoo.load(id, sampler="ddim", steps=50)``: ``configure_sampling``) or per call,
    among the samplers registered for the model's ``family``.

    Subclasses set ``family``, call ``configure_sampling`` in ``__init__`` with their defaults, and
    implement ``to_images`` (the sampler's output to ``[0, 1]``); they may override ``check_steps``.
    """

    family: str = ""
    takes_steps: bool = True  # False where the number of steps is fixed (a PixelCNN's one per pixel)

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """The shape of one sample in the space the sampler works in (``image_shape``, or a latent's)."""
        return tuple(self.image_shape)

    def sampler_spec(self, name: str) -> Any:
        """The registered ``SamplerSpec`` of ``name``, which must drive this model's family."""
        from zoo.plugins import get_registry

        if not isinstance(name, str):
            raise BadInputError(f"sampler must be a sampler id, got {name!r}")
        spec = get_registry().get_sampler(name)  # UnknownModelError with close matches
        if self.family not in spec.families:
            raise BadInputError(
                f"sampler '{name}' drives {', '.join(spec.families) or 'no'} models, not {self.family} models"
            )
        return spec

    def build_sampler(self, name: str) -> Sampler:
        """A new instance of the registered sampler ``name`` (which must drive this model's family)."""
        from zoo.registry import import_object

        return import_object(self.sampler_spec(name).factory)()

    def check_steps(self, steps: Any) -> int:
        """``steps`` as a positive int (models with a bound, like a diffusion model's T, narrow it)."""
        from zoo.options import STEPS

        return int(STEPS.check(steps))

    def declared_options(self, sampler: str | None = None) -> dict[str, Any]:
        """``sampler``, ``steps``, the spec's own options, and those of ``sampler`` (default: the
        model's current one)."""
        from zoo.options import SAMPLER, STEPS

        name = sampler or getattr(self, "sampler", "")
        sampler_options = {o.name: o for o in self.sampler_spec(name).options} if name else {}
        steps = {STEPS.name: STEPS} if self.takes_steps else {}
        return {SAMPLER.name: SAMPLER, **steps, **super().declared_options(), **sampler_options}

    def check_sample_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """As ``Generator.check_sample_options``, against the options of the chosen sampler (an option
        of another sampler is named as such); ``steps`` goes through ``check_steps``."""
        from zoo.plugins import get_registry

        options = {k: v for k, v in options.items() if v is not None}
        name = options.get("sampler") or getattr(self, "sampler", "")
        declared = self.declared_options(name)
        unknown = sorted(k for k in options if k not in declared and k != "progress")
        if unknown:
            owners = {k: [s.id for s in get_registry().samplers_for(self.family) if k in {o.name for o in s.options}]
                      for k in unknown}
            takes = ", ".join(k for k in declared if k != "sampler")
            if any(owners.values()):
                raise BadInputError(f"sampler '{name}' got unknown options {unknown}; it takes {takes}" + "".join(
                    f" ({k} is an option of {', '.join(v)})" for k, v in owners.items() if v))
            raise BadInputError(f"{type(self).__name__}.sample got unknown options {unknown}; it takes {takes}")
        checked = {k: (declared[k].check(v) if k in declared else bool(v)) for k, v in options.items()
                   if k != "steps"}
        if "steps" in options:  # the model's own bound (a diffusion model's T) and message
            steps = options["steps"]
            if isinstance(steps, str) and steps.strip().lstrip("-").isdigit():  # from the command line
                steps = int(steps)
            checked["steps"] = self.check_steps(steps)
        return checked

    def configure_sampling(self, sampler: str | None = None, steps: int | None = None, **options: Any) -> None:
        """Set the defaults ``sample`` uses; ``zoo.load(id, **options)`` calls this. Every value is
        checked against the declarations, as at sampling time."""
        if not hasattr(self, "sampling_options"):
            self.sampler, self.steps = "", None
            self.sampling_options: dict[str, Any] = {}
        if sampler is not None:
            self.sampler_spec(sampler)
            self.sampler = sampler
        if steps is not None:
            self.steps = self.check_steps(steps)
        if options:
            checked = self.check_sample_options({"sampler": self.sampler, **options}) if self.sampler else options
            self.sampling_options.update({k: v for k, v in checked.items() if k != "sampler"})

    @abstractmethod
    def to_images(self, output: torch.Tensor) -> torch.Tensor:
        """What the sampler returns, in the network's range, to images ``(B, C, H, W)`` in ``[0, 1]``."""

    def generate(self, n: int, generator: torch.Generator, labels: torch.Tensor | None = None, *,
                 sampler: str | None = None, steps: int | None = None, progress: bool = False,
                 **options: Any) -> torch.Tensor:
        """Run the sampler (``sampler`` or the default) on this network for ``n`` images in ``[0, 1]``.

        Args:
            sampler, steps, **options: Override the defaults of ``configure_sampling`` for this call.
            labels: Class labels ``(n,)`` for conditional models, passed on to the sampler.
            progress: A progress bar over the sampler's steps.
        """
        name = sampler or self.sampler
        given = self.check_sample_options({"sampler": name, "steps": steps, **options})
        given.pop("sampler", None)
        keep = set(self.declared_options(name))
        options = {**{k: v for k, v in self.sampling_options.items() if k in keep}, **given}
        steps = options.pop("steps", None) or self.steps
        if steps is not None:
            options["steps"] = steps
        if progress:
            options["progress"] = True
        if self.conditional and labels is None:
            labels = self.random_labels(n, generator)
        if labels is not None:
            options["labels"] = labels
        procedure = self.build_sampler(name)
        return self.to_images(procedure.sample(self, (n, *self.sample_shape), generator, **options))


class Encoder(Model, ABC):
    """A model with an inference network: images to latents and back.

    ``latent_shape`` is the shape of one latent: ``(z_dim,)`` for a flat code, ``(C, H, W)``
    for a spatial one (the autoencoder of a latent diffusion model).
    """

    _latent_shape: tuple[int, ...] = ()

    @property
    def latent_shape(self) -> tuple[int, ...]:
        """``(z_dim,)`` for a model with a flat ``z_dim`` unless set otherwise (``(C, H, W)``)."""
        if self._latent_shape:
            return self._latent_shape
        z_dim = getattr(self, "z_dim", 0)
        return (int(z_dim),) if z_dim else ()

    @latent_shape.setter
    def latent_shape(self, shape: tuple[int, ...]) -> None:
        self._latent_shape = tuple(int(s) for s in shape)

    @abstractmethod
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` in ``[0, 1]`` to latents ``(B, *latent_shape)`` (the posterior mean)."""

    @abstractmethod
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, *latent_shape)`` to images ``(B, C, H, W)`` in ``[0, 1]``."""

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Encode then decode; ``(B, C, H, W)`` in ``[0, 1]``."""
        return self.decode(self.encode(images)).clamp(0, 1)

    @torch.no_grad()
    def interpolate_images(self, a: torch.Tensor, b: torch.Tensor, num_steps: int = 8) -> torch.Tensor:
        """Decode a straight line between the latents of two images ``(C, H, W)``."""
        num_steps = check_count(num_steps, "num_steps")
        z = self.encode(torch.stack([a, b]))
        t = torch.linspace(0, 1, num_steps, device=z.device, dtype=z.dtype)
        t = t.reshape(-1, *([1] * (z.ndim - 1)))
        return self.decode((1 - t) * z[0] + t * z[1]).clamp(0, 1)

    @torch.no_grad()
    def preview(self, data: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, int]:
        """Eight real images (the first data source's) above their reconstructions."""
        if not data:
            raise BadInputError(f"{type(self).__name__} needs real images to preview reconstructions")
        x = next(iter(data.values()))[:8].to(self.device, self.dtype)
        return torch.cat([x.cpu().float(), self.reconstruct(x).cpu().float()]), len(x)


DIRECTIONS = ("a2b", "b2a")


class Translator(Model, ABC):
    """A model that maps images of domain A to domain B and back (CycleGAN's G and F).

    ``domains`` names A and B (``("sneaker", "ankle-boot")``); ``domain_data`` gives the data
    source of each (``"fashion-mnist:sneaker"``), where the model's own test images come from.
    Both are set from the training data and saved in config.json.
    """

    domains: tuple[str, str] = ("a", "b")
    domain_data: tuple[str, str] = ("", "")

    @abstractmethod
    def translate_batch(self, images: torch.Tensor, direction: str) -> torch.Tensor:
        """One batch ``(B, C, H, W)`` in ``[0, 1]``, on the model's device, to the other domain,
        in ``[0, 1]``; ``direction`` is ``"a2b"`` or ``"b2a"``."""

    def resolve_direction(self, direction: str | None = None, *, to: str | None = None) -> str:
        """``"a2b"`` or ``"b2a"`` from a direction (``a2b``, ``b2a``, or ``A2B`` with domain names:
        ``sneaker2ankle-boot``) or the name of the target domain (``to="ankle-boot"``, or ``"b"``)."""
        a, b = self.domains
        if direction is not None and to is not None:
            raise BadInputError("give a direction or a target domain, not both")
        if to is not None:
            targets = {b: "a2b", "b": "a2b", a: "b2a", "a": "b2a"}
            if to not in targets:
                raise BadInputError(f"unknown domain '{to}'; this model translates between '{a}' (A) and '{b}' (B)")
            return targets[to]
        direction = direction or "a2b"
        names = {"a2b": "a2b", "b2a": "b2a", f"{a}2{b}": "a2b", f"{b}2{a}": "b2a"}
        if direction not in names:
            raise BadInputError(f"unknown direction '{direction}'; use a2b ({a} → {b}) or b2a ({b} → {a})")
        return names[direction]

    def direction_domains(self, direction: str) -> tuple[str, str]:
        """(source, target) domain names of a direction."""
        a, b = self.domains
        return (a, b) if self.resolve_direction(direction) == "a2b" else (b, a)

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str | None = "a2b", *, to: str | None = None,
                  batch_size: int = 256) -> torch.Tensor:
        """Translate images to the other domain.

        Args:
            images: ``(B, C, H, W)`` (or one ``(C, H, W)``) in ``[0, 1]``, of the model's image shape.
            direction: ``"a2b"`` (default) or ``"b2a"``; ``to`` names the target domain instead.
            batch_size: Images per forward pass, to bound memory.

        Returns:
            ``(B, C, H, W)`` in ``[0, 1]``, on the CPU; the same input gives the same output.
        """
        direction = self.resolve_direction(None if to is not None else direction, to=to)
        images = self.check_images(images)
        batch_size = check_count(batch_size, "batch_size")
        was_training = self.training
        self.eval()
        try:
            out = [self.translate_batch(b, direction).float().clamp(0, 1).cpu() for b in images.split(batch_size)]
        finally:
            self.train(was_training)
        return torch.cat(out)

    @torch.no_grad()
    def cycle(self, images: torch.Tensor, direction: str | None = "a2b", *, batch_size: int = 256) -> torch.Tensor:
        """The round trip: images of the source domain of ``direction`` translated there and back,
        ``(B, C, H, W)`` in ``[0, 1]`` (CycleGAN's F(G(x)) for ``a2b``)."""
        direction = self.resolve_direction(direction)
        back = "b2a" if direction == "a2b" else "a2b"
        return self.translate(self.translate(images, direction, batch_size=batch_size), back, batch_size=batch_size)

    def domain_images(self, domain: str, split: str = "test") -> torch.Tensor:
        """Real images of one of the model's domains (``"a"``, ``"b"`` or a domain name), from
        the data source it was trained on (``domain_data``)."""
        direction = self.resolve_direction(to=domain)  # the direction whose target is ``domain``
        source = self.domain_data[1 if direction == "a2b" else 0]
        if not source:
            raise BadInputError(f"{type(self).__name__} does not know the data of domain '{domain}'")
        from zoo.data import load_source

        return load_source(source, split).images

    def draw_images(self, direction: str | None = "a2b", n: int = 16, *, seed: int = 0,
                    split: str = "test") -> torch.Tensor:
        """``n`` real images of the source domain of ``direction``, drawn without replacement
        with ``seed`` from the ``split`` of its data (what ``zoo translate --from-data`` uses)."""
        from zoo.data import draw

        n = check_count(n)
        source = self.direction_domains(direction or "a2b")[0]
        return draw(self.domain_images(source, split), n, seed, f"the {split} split of domain '{source}'")

    @torch.no_grad()
    def preview(self, data: dict[str, torch.Tensor] | None = None) -> tuple[torch.Tensor, int]:
        """Rows: 8 images of A, their translations to B, 8 images of B, their translations to A.
        ``data`` maps ``"a"`` and ``"b"`` to real images; by default the test images of each domain."""
        rows = []
        for domain, direction in (("a", "a2b"), ("b", "b2a")):
            x = (data[domain] if data else self.domain_images(domain))[:8]
            rows += [x.cpu().float(), self.translate(x, direction)]
        return torch.cat(rows), len(rows[0])


class Sampler(ABC):
    """An iterative procedure that turns a network into samples (DDPM ancestral, DDIM,
    PixelCNN's pixel loop). Registered by plugins through ``register_samplers`` and
    chosen at load time: ``zoo.load(id, sampler="ddim", steps=50)``."""

    @abstractmethod
    def sample(
        self,
        network: nn.Module,
        shape: tuple[int, ...],
        generator: torch.Generator,
        *,
        steps: int | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """Run the procedure from noise drawn with ``generator`` to a batch of ``shape``.

        Returns:
            The final batch in the network's data range.
        """


class Likelihood(Model, ABC):
    """A model that scores images: ``log_prob`` in nats per image of 8-bit data.

    ``exact_likelihood`` is False where ``log_prob`` is a lower bound (a VAE's ELBO);
    then bits/dim computed from it is an upper bound.
    """

    exact_likelihood: bool = True

    @abstractmethod
    def log_prob(self, images: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """log p(x) (or its lower bound) in nats for images ``(B, C, H, W)`` in ``[0, 1]``; ``(B,)``."""


def bits_per_dim(nll_nats: torch.Tensor, num_dims: int) -> torch.Tensor:
    """Convert a negative log-likelihood in nats per image to bits per dimension."""
    return nll_nats / (num_dims * math.log(2))


ROLES: dict[str, type[Model]] = {
    "generator": Generator, "translation": Translator, "encoder": Encoder, "likelihood": Likelihood,
}


def capabilities_of(model: Model | type[Model]) -> tuple[str, ...]:
    """The roles a model (or model class) has, read off its type, plus ``conditional`` (class
    names) and ``interpolation`` (``interpolate`` between seeds), in ``zoo.registry.CAPABILITIES``
    order. ``zoo list`` shows what specs declare; the contract kit checks they agree with this."""
    cls = model if isinstance(model, type) else type(model)
    found = {name for name, role in ROLES.items() if issubclass(cls, role)}
    if isinstance(model, Model) and model.conditional:
        found.add("conditional")
    if callable(getattr(cls, "interpolate", None)):
        found.add("interpolation")
    from zoo.registry import CAPABILITIES

    return tuple(c for c in CAPABILITIES if c in found)


def require_role(model: Model, role: str, name: str = "") -> None:
    """Raise one clear ``BadInputError`` when ``model`` lacks ``role``, pointing at what it can do."""
    if isinstance(model, ROLES[role]):
        return
    name = name or type(model).__name__
    commands = {"generator": "zoo sample", "translation": "zoo translate", "encoder": "zoo reconstruct",
                "likelihood": "zoo eval --metrics bpd"}
    what = {"generator": "does not generate from noise", "translation": "does not translate between domains",
            "encoder": "has no encoder", "likelihood": "has no log_prob"}
    has = [r for r in ROLES if isinstance(model, ROLES[r])]
    kinds = " and ".join(r if r != "translation" else "translator" for r in has)
    hint = f"; it is {'an' if kinds[:1] in 'aeiou' else 'a'} {kinds}" if has else ""
    use = f": use {', '.join(f'`{commands[r]} {name}`' for r in has)}" if has else ""
    raise BadInputError(f"'{name}' {what[role]}{hint}{use}")
