"""Model folders and safetensors weights, and where to find them.

A model folder holds ``README.md`` (the model card), ``config.json`` and
``model.safetensors``; it is also what goes to and comes from the Hugging Face
Hub. Pickled weights are refused: nothing is ever unpickled or executed.

Resolution order for a registered id: an explicit path, the bundled folder
(``model_cards/<id>`` or the plugin's own ``path``), the Hugging Face cache,
then the Hub at the pinned revision with the sha256 checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import WeightsError

if TYPE_CHECKING:
    import torch

    from zoo.registry import ModelSpec

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"
CARD_NAME = "README.md"
PICKLE_SUFFIXES = (".pt", ".pth", ".bin", ".pkl", ".ckpt")


def bundled_root() -> Path:
    """The folder of bundled model cards: ``model_cards/`` of a source checkout, or the
    copy installed as package data (``zoo_model_cards``)."""
    env = os.environ.get("ZOO_MODEL_CARDS")
    if env:
        return Path(env)
    checkout = Path(__file__).resolve().parent.parent / "model_cards"
    if checkout.is_dir():
        return checkout
    try:
        import zoo_model_cards  # installed as package data

        return Path(next(iter(zoo_model_cards.__path__)))
    except (ImportError, StopIteration):
        return checkout


def _is_model_folder(folder: Path) -> bool:
    return (folder / CONFIG_NAME).is_file() and (folder / WEIGHTS_NAME).is_file()


def pull_command(spec: ModelSpec) -> str:
    return f"zoo pull {spec.id}"


def resolve_folder(spec: ModelSpec, *, allow_download: bool = True) -> Path:
    """Find the folder holding ``spec``'s config and weights (see module docstring)."""
    # a folder with a config is taken even without weights: loading then says what is wrong there
    for folder in ([Path(spec.path)] if spec.path else []) + [bundled_root() / spec.id]:
        if (folder / CONFIG_NAME).is_file():
            return folder
    bundled = bundled_root() / spec.id
    if spec.hub_repo:
        return hub_folder(spec, allow_download=allow_download)
    raise WeightsError(
        f"no weights found for '{spec.id}': expected {bundled}/{WEIGHTS_NAME}"
        + (" (the plugin ships none)" if spec.weights == "none" else "")
    )


def hub_folder(spec: ModelSpec, *, allow_download: bool = True) -> Path:
    """Fetch (or find in the cache) the files of ``spec.hub_repo`` at its pinned revision."""
    return fetch_hub_repo(spec.hub_repo, revision=spec.hub_revision or None, weights_file=spec.hub_weights_file,
                          sha256=spec.hub_sha256, pull_hint=pull_command(spec), allow_download=allow_download,
                          extra_files=spec.hub_extra_files)


def fetch_hub_repo(
    repo: str,
    *,
    revision: str | None = None,
    weights_file: str = WEIGHTS_NAME,
    sha256: str = "",
    pull_hint: str = "",
    allow_download: bool = True,
    extra_files: tuple[str, ...] = (),
) -> Path:
    """Fetch (or find in the Hugging Face cache) ``config.json``, the weights and any
    ``extra_files`` of a Hub repo through ``huggingface_hub``, check the sha256 of the
    weights, and return the snapshot folder.

    Offline (``HF_HUB_OFFLINE=1``, or no network) with a file missing, the error
    names the repo and the command that fetches it. Nothing is unpickled or run.
    """
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import EntryNotFoundError, LocalEntryNotFoundError, RepositoryNotFoundError

    pull_hint = pull_hint or f"huggingface-cli download {repo}"
    where = f"Hub repo {repo}" + (f" @ {revision[:12]}" if revision else "")
    unreachable = (
        f"the files of {where} are not in the Hugging Face cache and cannot be downloaded now"
        f" (offline or no network); run `{pull_hint}` where the Hub is reachable"
    )
    paths = {}
    local_only = not allow_download or not _hub_reachable()
    try:
        for filename in (CONFIG_NAME, weights_file, *extra_files):
            paths[filename] = Path(
                hf_hub_download(repo, filename, revision=revision, local_files_only=local_only)
            )
    except LocalEntryNotFoundError:  # a subclass of EntryNotFoundError, so caught first
        raise WeightsError(unreachable) from None
    except EntryNotFoundError as err:
        raise WeightsError(f"{where} has no file {err}") from None
    except RepositoryNotFoundError:
        raise WeightsError(f"{where} does not exist or is private") from None
    except OSError:  # connection refused, DNS failure, timeouts
        raise WeightsError(unreachable) from None
    except Exception as err:  # huggingface_hub raises many HTTP error types
        raise WeightsError(f"could not fetch {where}: {type(err).__name__}: {err}") from None
    weights = paths[weights_file]
    if sha256:
        digest = sha256_file(weights)
        if digest != sha256:
            raise WeightsError(
                f"sha256 of {weights} is {digest}, expected {sha256}: the file is corrupted"
                f" or not the pinned release; delete it and run `{pull_hint}`"
            )
    return weights.parent


def _hub_reachable() -> bool:
    """Whether the Hub's host resolves. Without a network huggingface_hub would retry for
    half a minute before failing; a failed name lookup answers at once, and the cached files
    are used (or the clear offline error given)."""
    import socket
    from urllib.parse import urlparse

    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return False
    try:
        socket.getaddrinfo(urlparse(constants.ENDPOINT).hostname or "huggingface.co", 443)
    except OSError:
        return False
    return True


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file, with one clear WeightsError for a missing or malformed file."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise WeightsError(f"{path} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise WeightsError(f"{path} is not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise WeightsError(f"{path} is not a JSON object")
    return data


def read_config(folder: Path) -> dict[str, Any]:
    """The ``config.json`` of a zoo model folder; it must name an ``architecture``."""
    path = Path(folder) / CONFIG_NAME
    if not path.is_file():
        raise WeightsError(f"{path} is missing: a model folder needs {CONFIG_NAME}")
    config = read_json(path)
    if "architecture" not in config:
        raise WeightsError(f"{path} does not name an 'architecture'")
    return config


def check_not_pickle(path: Path) -> None:
    """Refuse pickled weights by name or by content: they can run code when loaded."""
    if path.suffix in PICKLE_SUFFIXES:
        raise WeightsError(
            f"{path} is a pickle ({path.suffix}); the zoo loads safetensors only, because"
            " unpickling can run arbitrary code. Convert it with safetensors.torch.save_file"
        )
    with open(path, "rb") as f:
        head = f.read(9)
    if head[8:9] == b"{":  # safetensors: an 8-byte header length, then the JSON header
        return
    if head[:1] == b"\x80" or head[:4] == b"PK\x03\x04":  # pickle protocol opcode / torch zip archive
        raise WeightsError(
            f"{path} holds a pickle or torch archive, not safetensors; refusing to load it"
        )


def load_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """Read a safetensors file, with a clear error for pickles and damaged files."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    check_not_pickle(path)
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise WeightsError(
            f"{path} is truncated or corrupted (safetensors could not read it: {err})"
        ) from None


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: a reader never sees half a file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; give the file the usual permissions
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model_folder(
    model: Any,
    folder: Path | str,
    *,
    card: str | None = None,
    half: bool = False,
) -> Path:
    """Write ``config.json``, ``model.safetensors`` (and ``README.md`` if given) for a model
    built by ``zoo.create``/``zoo.load``.

    Args:
        model: A model carrying ``zoo_config`` (set by the zoo when it builds one).
        folder: Created if missing.
        card: Model card text (Hugging Face YAML front matter + Markdown).
        half: Store floating-point tensors as fp16 (halves the size; loaded back in fp32).
    """
    import torch
    from safetensors.torch import save

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = {}
    for key, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous()
        if half and tensor.is_floating_point():
            tensor = tensor.to(torch.float16)
        state[key] = tensor
    atomic_write_bytes(folder / WEIGHTS_NAME, save(state, metadata={"format": "pt"}))
    config = dict(model.zoo_config)
    atomic_write_bytes(folder / CONFIG_NAME, (json.dumps(config, indent=2) + "\n").encode())
    if card is not None:
        atomic_write_bytes(folder / CARD_NAME, card.encode())
    return folder


def hf_cache_dir() -> Path:
    """The Hugging Face hub cache folder, computed without importing huggingface_hub."""
    if os.environ.get("HF_HUB_CACHE"):
        return Path(os.environ["HF_HUB_CACHE"])
    home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "huggingface"
    )
    return Path(home) / "hub"


def weights_status(spec: ModelSpec) -> str:
    """A cheap look (no imports, no network) at where a model's weights are:
    ``bundled``, ``cached``, ``hub`` (to download), ``missing`` or ``none``."""
    if spec.weights == "none":
        return "none"
    if spec.path and _is_model_folder(Path(spec.path)):
        return "bundled"
    if _is_model_folder(bundled_root() / spec.id):
        return "bundled"
    if spec.hub_repo:
        repo_dir = hf_cache_dir() / ("models--" + spec.hub_repo.replace("/", "--"))
        revision = spec.hub_revision
        if not revision and (repo_dir / "refs" / "main").is_file():
            revision = (repo_dir / "refs" / "main").read_text().strip()
        if revision and (repo_dir / "snapshots" / revision / spec.hub_weights_file).exists():
            return "cached"
        return "hub"
    return "missing"
