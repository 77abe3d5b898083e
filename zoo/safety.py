"""Guards between the zoo and what it does not control: the file system, the terminal, other
processes, and the config values of model folders and command lines.

- Every output file (grids, images, weights, configs, checkpoints) is written by ``atomic_write``:
  a temporary file beside the target, flushed and fsynced, renamed over it, the folder fsynced.
  A full disk, a read-only file system or an immutable file is one ``OutputError`` line; the
  temporary file is removed and the previous file is intact.
- Text that comes from a model folder, the Hub or a plugin goes through ``escape_control``
  before it reaches the terminal, so it cannot move the cursor, recolour or hide what follows.
- ``build_model`` checks config values against the factory's signature (names and types), builds
  the model on the meta device to count its parameters and refuses one above ``MAX_PARAMETERS``
  before anything is allocated, and turns the factory's own complaint into one line naming the
  architecture and the values given.

This module imports torch only inside ``build_model``.
"""

from __future__ import annotations

import errno
import inspect
import math
import os
import shutil
import tempfile
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

from zoo.errors import BadInputError, OutputError

# --------------------------------------------------------------------------- terminal

# C0 controls (but \n and \t in multi-line text), DEL, C1 controls, and the Unicode controls that
# reorder or hide text (bidirectional overrides and isolates, Trojan Source, CVE-2021-42574).
_BIDI = {0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}


def _escape_char(ch: str) -> str:
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_control(text: Any, *, multiline: bool = False) -> str:
    """``text`` with every control character written as an escape (``\\x1b``, ``\\u202e``), for the terminal.

    Args:
        text: Any value; it is converted with ``str``.
        multiline: Keep newlines and tabs (a model card); otherwise they are escaped too, so one
            value stays on one line.

    Returns:
        The escaped text; printable text, accents and emoji included, is unchanged.
    """
    text = str(text)
    keep = "\n\t" if multiline else ""
    out = []
    for ch in text:
        code = ord(ch)
        if (code < 0x20 and ch not in keep) or 0x7F <= code < 0xA0 or code in _BIDI:
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    return "".join(out)


def is_main_process() -> bool:
    """Whether this is the main process of a launch (rank 0 of ``torchrun``/``accelerate launch``), or
    the only one. Read from the launcher's environment, so it is known before torch.distributed starts."""
    return os.environ.get("RANK", "0") in ("", "0")


# --------------------------------------------------------------------------- output files

DISK_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))
READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)


def output_error(err: OSError, path: Path | str, *, kept: str = "") -> OutputError:
    """One line for an ``OSError`` met while writing ``path``.

    Args:
        err: The error (``ENOSPC``, ``EROFS``, ``EACCES``, ``EPERM``, ...).
        path: The output being written.
        kept: What is still intact, said at the end (``"the previous checkpoint is intact"``).

    Returns:
        The ``OutputError`` to raise.
    """
    if isinstance(err, OutputError):
        return err
    tail = f"; {kept}" if kept else ""
    if err.errno in DISK_FULL:
        return OutputError(f"disk full: could not write {path} (no space left on the device){tail}")
    if err.errno == errno.EROFS:
        return OutputError(f"cannot write {path}: the file system is read-only{tail}")
    if err.errno in (errno.EACCES, errno.EPERM):
        return OutputError(f"cannot write {path}: permission denied (the file or its folder is read-only or "
                           f"immutable){tail}")
    return OutputError(f"cannot write {path}: {err.strerror or err}{tail}")


def fsync_folder(folder: Path | str) -> None:
    """Make the names in ``folder`` durable (a rename is only safe once its folder is synced)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # some platforms cannot open a folder; their renames are durable anyway
        return
    try:
        os.fsync(fd)
    except OSError as err:
        if err.errno not in (errno.EINVAL, errno.EBADF):  # file systems without folder fsync
            raise
    finally:
        os.close(fd)


def _fill(fd: int, write: Callable[[IO[bytes]], Any]) -> None:
    with os.fdopen(fd, "wb") as f:
        write(f)
        f.flush()
        os.fsync(f.fileno())


def write_synced(path: Path | str, write: Callable[[IO[bytes]], Any]) -> None:
    """Create ``path`` (it must not exist), let ``write`` fill it, then flush and fsync it. On any
    error the half-written file is removed and the error raised as it is."""
    path = Path(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        _fill(fd, write)
    except BaseException:
        path.unlink(missing_ok=True)
        raise


def atomic_write(path: Path | str, write: Callable[[IO[bytes]], Any], *, what: str = "") -> Path:
    """Write one output file atomically; every file the zoo writes goes through here.

    ``write`` fills a temporary file in the same folder; it is flushed, fsynced and renamed over
    ``path``, then the folder is fsynced. A reader sees the old file or the new one, never half of
    one, and a crash at any instant leaves one of the two.

    Args:
        path: The output file.
        write: Fills the open binary file.
        what: What the file is, for the error line (``"grid"``); default: the path only.

    Returns:
        ``path``.

    Raises:
        OutputError: The disk is full, the file system read-only, the file or folder immutable or
            not writable: one line, the temporary file removed, the previous ``path`` intact.
    """
    path = Path(path)
    existed = path.exists()
    tmp: Path | None = None
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        tmp = Path(name)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
        _fill(fd, write)
        os.replace(tmp, path)
        tmp = None
        fsync_folder(path.parent)
    except OSError as err:
        kept = f"the previous {path.name} is intact" if existed else "nothing was written"
        raise output_error(err, f"{what} {path}".strip(), kept=kept) from None
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: Path | str, text: str, *, what: str = "") -> Path:
    """``atomic_write`` of UTF-8 text."""
    data = text.encode()
    return atomic_write(path, lambda f: f.write(data), what=what)


def remove_tree(path: Path | str) -> None:
    """Remove a folder and everything in it, if it exists."""
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- config values

# A generous bound: the zoo's largest model has 36 million parameters. Refused above it, before
# anything is allocated (a typo such as g_channels=1e9 would otherwise run until killed).
MAX_PARAMETERS = 2_000_000_000


def _parameters(factory: Callable[..., Any]) -> tuple[dict[str, inspect.Parameter], dict[str, Any], bool]:
    """The keyword parameters ``factory`` takes, their type hints, and whether it takes any other keyword.
    For a class whose ``__init__`` passes ``**options`` on, the parents' parameters count too."""
    targets: list[Any] = [factory]
    if inspect.isclass(factory):
        targets = [vars(k)["__init__"] for k in factory.__mro__ if "__init__" in vars(k) and k is not object]
    named: dict[str, inspect.Parameter] = {}
    hints: dict[str, Any] = {}
    for target in targets:
        try:
            params = list(inspect.signature(target).parameters.values())
        except (TypeError, ValueError):
            return named, hints, True
        if inspect.isclass(factory) and params:
            params = params[1:]  # self
        try:
            found = typing.get_type_hints(target)
        except Exception:  # names the annotations refer to are not importable here: check by default values
            found = {}
        for p in params:
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name not in named:
                named[p.name] = p
                if p.name in found:
                    hints[p.name] = found[p.name]
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            return named, hints, False
    return named, hints, True


def _fits(value: Any, hint: Any) -> bool:
    """Whether a JSON-like ``value`` fits a type hint (the hints config values use; others pass)."""
    if hint is Any or hint is inspect.Parameter.empty:
        return True
    origin = typing.get_origin(hint)
    if origin is typing.Union or (hasattr(types, "UnionType") and isinstance(hint, types.UnionType)):
        return any(_fits(value, h) for h in typing.get_args(hint))
    if origin is typing.Literal:
        return value in typing.get_args(hint)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if hint is str:
        return isinstance(value, str)
    container = origin or hint
    if inspect.isclass(container) and issubclass(container, Mapping):
        return isinstance(value, Mapping)
    if inspect.isclass(container) and issubclass(container, Sequence) and container is not str:
        if not isinstance(value, (list, tuple)):
            return False
        args = typing.get_args(hint)
        if len(args) == 1 or (len(args) == 2 and args[1] is Ellipsis):  # Sequence[int], tuple[int, ...]
            return all(_fits(v, args[0]) for v in value)
        if args and container is tuple:  # tuple[int, str]
            return len(value) == len(args) and all(_fits(v, a) for v, a in zip(value, args))
    return True


def _hint_name(hint: Any) -> str:
    if hint is int:
        return "an integer"
    if hint is float:
        return "a finite number"
    if hint is bool:
        return "true or false"
    if hint is str:
        return "a string"
    return f"of type {getattr(hint, '__name__', None) or str(hint).replace('typing.', '')}"


def check_config(factory: Callable[..., Any], architecture: str, config: Mapping[str, Any], *,
                 owner: str = "", kind: str = "config key", fixed: tuple[str, ...] = ()) -> None:
    """Check config values against the factory's signature before it runs.

    Args:
        factory: The architecture's model class or function (or a training step class).
        architecture: Its name, for the error line.
        config: The keyword arguments it will get.
        owner: Who takes them, for the error line (default: ``architecture 'NAME'``).
        kind: What a key is called there (``"config key"``, ``"--step-config key"``).
        fixed: Parameters the zoo passes itself, which ``config`` may not set (a training step's ``model``).

    Raises:
        BadInputError: An unknown key (with the valid ones), or a value of the wrong type (a string
            for an integer, ``1e9`` for an integer, a non-finite number, ...).
    """
    owner = owner or f"architecture '{architecture}'"
    named, hints, takes_any = _parameters(factory)
    for name in fixed:
        named.pop(name, None)
    for key, value in config.items():
        if key not in named:
            if takes_any and key not in fixed:
                continue
            raise BadInputError(f"{owner} has no {kind} '{escape_control(key)}'"
                                f" (it takes: {', '.join(named) or 'none'})")
        hint = hints.get(key, inspect.Parameter.empty)
        if hint is inspect.Parameter.empty:  # unannotated: the default's type, where there is one
            default = named[key].default
            hint = type(default) if isinstance(default, (bool, int, float, str)) else inspect.Parameter.empty
        if not _fits(value, hint):
            raise BadInputError(f"{kind.replace(' key', '')} value {key}={_show(value)} of {owner} must be "
                                f"{_hint_name(hint)}")


def _show(value: Any) -> str:
    text = repr(value)
    return escape_control(text if len(text) <= 60 else text[:57] + "...")


def build_model(factory: Callable[..., Any], architecture: str, config: Mapping[str, Any]) -> Any:
    """Build a model from checked config values: ``check_config``, then the parameter count on the
    meta device (nothing allocated), then the real model.

    Args:
        factory: The architecture's model class or function.
        architecture: Its name, for error lines.
        config: Its keyword arguments.

    Returns:
        The model the factory returns.

    Raises:
        BadInputError: A value ``check_config`` refuses, a model above ``MAX_PARAMETERS``, or a value the
            factory itself rejects (its ``ValueError``, ``TypeError``, ``OverflowError``, ``MemoryError``,
            ``RuntimeError`` such as a negative size, or a failed assertion): one line naming the architecture
            and the values.
    """
    import torch

    check_config(factory, architecture, config)
    given = ", ".join(f"{k}={_show(v)}" for k, v in config.items())
    failures = (ValueError, TypeError, OverflowError, MemoryError, RuntimeError, ZeroDivisionError, IndexError,
                KeyError, AssertionError)

    def refuse(err: BaseException) -> BadInputError:
        reason = escape_control(str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__)
        return BadInputError(f"bad config for architecture '{architecture}' ({given}): {reason}")

    try:
        with torch.device("meta"):
            skeleton = factory(**config)
        count = sum(t.numel() for t in skeleton.parameters()) + sum(t.numel() for t in skeleton.buffers())
    except failures + (NotImplementedError, AttributeError) as err:
        if "overflow" in str(err).lower():  # a size beyond 64 bits: no need to try it for real
            raise BadInputError(f"config of architecture '{architecture}' ({given}) makes a tensor too large to "
                                "address: check the values") from None
        # Not every factory can run on the meta device (one that reads a tensor's values, say): the real
        # build below then says what is wrong, or succeeds.
        count = 0
    if count > MAX_PARAMETERS:
        raise BadInputError(f"config of architecture '{architecture}' ({given}) makes a model of {count:,} "
                            f"parameters, above the zoo's limit of {MAX_PARAMETERS:,}: check the values")
    try:
        return factory(**config)
    except failures as err:
        raise refuse(err) from None
