"""The three roles of the zoo: Generator, Encoder and Sampler.

Every pretrained model is a ``Generator``: ``sample(n, seed=...)`` returns a float
tensor ``(n, C, H, W)`` in ``[0, 1]``. Models with a latent prior also
interpolate; models with an inference network are also ``Encoder``s. A
``Sampler`` is an iterative procedure that turns a network into samples and is
a separate object from the network, as in diffusers.
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


class Generator(nn.Module, ABC):
    """A model that makes images.

    Subclasses set ``image_shape`` and implement ``generate``. ``class_names`` is
    non-empty for class-conditional models.
    """

    image_shape: tuple[int, int, int] = (1, 28, 28)
    class_names: tuple[str, ...] = ()
    zoo_config: dict[str, Any]  # set by zoo.create/zoo.load: what config.json holds
    zoo_spec: Any  # set by zoo.create/zoo.load: the registered ModelSpec

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

    @abstractmethod
    def generate(
        self, n: int, generator: torch.Generator, labels: torch.Tensor | None = None, **kwargs: Any
    ) -> torch.Tensor:
        """Make ``n`` images ``(n, C, H, W)`` in ``[0, 1]`` from the given random generator."""

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


class Encoder(ABC):
    """A model with an inference network: images to latents and back."""

    @abstractmethod
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Images ``(B, C, H, W)`` in ``[0, 1]`` to latents ``(B, z_dim)`` (the posterior mean)."""

    @abstractmethod
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Latents ``(B, z_dim)`` to images ``(B, C, H, W)`` in ``[0, 1]``."""

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> torch.Tensor:
        """Encode then decode; ``(B, C, H, W)`` in ``[0, 1]``."""
        return self.decode(self.encode(images)).clamp(0, 1)

    @torch.no_grad()
    def interpolate_images(self, a: torch.Tensor, b: torch.Tensor, num_steps: int = 8) -> torch.Tensor:
        """Decode a straight line between the latents of two images ``(C, H, W)``."""
        num_steps = check_count(num_steps, "num_steps")
        z = self.encode(torch.stack([a, b]))
        t = torch.linspace(0, 1, num_steps, device=z.device, dtype=z.dtype)[:, None]
        return self.decode((1 - t) * z[0] + t * z[1]).clamp(0, 1)


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


class Likelihood(ABC):
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
