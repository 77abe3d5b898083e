"""Typed errors of the zoo. Library code raises these; the CLI turns each into one line."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ZooError(Exception):
    """Base class of every error the zoo raises on purpose."""

    def __str__(self) -> str:  # KeyError would quote the message; we never want that
        return str(self.args[0]) if self.args else ""


class UnknownModelError(ZooError, KeyError):
    """An id that no installed plugin registered. The message lists close matches."""

    def __init__(self, name: str, known: Iterable[str], what: str = "model", listing: str = "zoo list") -> None:
        known = sorted(known)
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        super().__init__(f"unknown {what} '{name}'.{hint} (`{listing}` shows what is installed)")
        self.name = name
        self.close_matches = close


class DuplicateModelError(ZooError):
    """Two plugins claimed the same id or alias."""


class PluginError(ZooError):
    """A plugin is malformed (bad spec, bad factory path)."""


class WeightsError(ZooError):
    """Weights are missing, unsafe (pickle), truncated or do not fit the model."""


class HubError(ZooError):
    """The Hugging Face Hub cannot be reached, no token is set, or the Hub refused a request."""


class DataError(ZooError):
    """A data set is missing or unreadable."""


class BadInputError(ZooError, ValueError):
    """An argument outside what the function accepts (n <= 0, a float seed, ...)."""


class OutputError(ZooError, OSError):
    """An output file could not be written (disk full, read-only, immutable); the temporary file is gone
    and the previous file, if any, is intact."""
