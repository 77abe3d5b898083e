"""Declared sampling options: what a model or a sampler takes at sampling time.

A ``ModelSpec`` (``truncation`` of StyleGAN2) and a ``SamplerSpec`` (``eta`` of DDIM,
``temperature`` of PixelCNN's samplers) list the ``Option``s they take. From those
declarations alone (no torch import) the CLI builds ``--truncation``, ``--eta``,
``--temperature`` ... for ``zoo sample``, ``zoo eval`` and ``zoo compare``, so a
third-party sampler's new option gets its flag with no edit to the core; and the
core checks every value against them before a sampler runs (``Option.check``), so
a bad value or an option the model does not take is one clear line.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from zoo.errors import BadInputError

KINDS = ("int", "float", "str")


@dataclass(frozen=True)
class Option:
    """One sampling option.

    Attributes:
        name: Keyword argument of ``sample`` (``"timestep_spacing"``); the flag is ``--timestep-spacing``.
        kind: ``"int"``, ``"float"`` or ``"str"``.
        help: One line for ``--help`` and ``zoo info``.
        min, max: Inclusive bounds of a number (``None``: unbounded).
        min_exclusive: The lower bound itself is not allowed (a temperature > 0).
        choices: The allowed values of a string.
        note: Said after the range in an error (``"0: deterministic DDIM, 1: DDPM-like"``).
    """

    name: str
    kind: str = "float"
    help: str = ""
    min: float | None = None
    max: float | None = None
    min_exclusive: bool = False
    choices: tuple[str, ...] = ()
    note: str = ""

    def __post_init__(self) -> None:
        from zoo.errors import PluginError

        if self.kind not in KINDS:
            raise PluginError(f"option '{self.name}': kind '{self.kind}' is not one of {', '.join(KINDS)}")
        if not self.name.isidentifier():
            raise PluginError(f"option name '{self.name}' is not a Python identifier")

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def describe(self) -> str:
        """``eta (float in [0, 1]): help`` for ``zoo info``."""
        if self.choices:
            what = " | ".join(self.choices)
        else:
            what = f"{self.kind} {self._bounds()}".strip()
        return f"{self.name} ({what}): {self.help}" if self.help else f"{self.name} ({what})"

    def check(self, value: Any) -> Any:
        """``value`` checked against the option (an int is taken for a float; a string is not a number:
        the command line converts its text first, ``zoo.options.from_text``).

        Raises:
            BadInputError: one line naming the option, what it takes, and the value given.
        """
        if self.kind == "str":
            if not isinstance(value, str) or (self.choices and value not in self.choices):
                allowed = f"one of {', '.join(self.choices)}" if self.choices else "a string"
                raise BadInputError(f"{self.name} must be {allowed}, got {value!r}")
            return value
        number = self._number(value)
        if number is None or not self._in_range(number):
            raise BadInputError(f"{self.name} must be {self._range_text()}, got {value!r}")
        return number

    def _number(self, value: Any) -> int | float | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        if self.kind == "int":
            return value if isinstance(value, int) else None
        return float(value) if math.isfinite(value) else None

    def _in_range(self, number: float) -> bool:
        if self.min is not None and (number < self.min or (self.min_exclusive and number == self.min)):
            return False
        return self.max is None or number <= self.max

    def _bounds(self) -> str:
        """``in [0, 1]``, ``> 0``, ``<= 5`` or ``""``."""
        if self.min is not None and self.max is not None:
            return f"in {'(' if self.min_exclusive else '['}{self.min:g}, {self.max:g}]"
        if self.min is not None:
            return f"{'>' if self.min_exclusive else '>='} {self.min:g}"
        return f"<= {self.max:g}" if self.max is not None else ""

    def _range_text(self) -> str:
        text = f"{'an integer' if self.kind == 'int' else 'a number'} {self._bounds()}".strip()
        return f"{text} ({self.note})" if self.note else text


# ------------------------------------------------------------------ options of every sampler-driven model

SAMPLER = Option("sampler", "str", "Sampling procedure: a registered sampler of the model's family (`zoo info ID`).")
STEPS = Option("steps", "int", "Sampler steps (network evaluations).", min=1)

# ------------------------------------------------------------------ options of the diffusion samplers
# (zoo.diffusion validates with these; the ddpm plugin's samplers declare them)

TIMESTEP_SPACINGS = ("leading", "trailing", "linspace")
RULES = ("zoo", "diffusers")
ETA = Option("eta", "float", "DDIM noise scale η (Song et al. 2021, eq. 16).", min=0, max=1,
             note="0: deterministic DDIM, 1: DDPM-like")
TIMESTEP_SPACING = Option("timestep_spacing", "str", "Timestep grid of a sampler with fewer steps than T.",
                          choices=TIMESTEP_SPACINGS)
DIFFUSION_RULES = Option("rules", "str", "Step rules: zoo (the papers') or diffusers (diffusers' schedulers exactly).",
                         choices=RULES)


def options_text(options: dict[str, Option]) -> str:
    return ", ".join(options) if options else "none"


def from_text(text: str) -> int | float | str:
    """A command-line value as the Python value it spells: ``"50"`` → 50, ``"0.5"`` → 0.5, else the
    text itself (``"ddim"``); the option it is given to then checks it like any other value."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
