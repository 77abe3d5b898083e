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
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as err:
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
    if not isinstance(config["architecture"], str) or not config["architecture"].strip():
        raise WeightsError(f"{path}: 'architecture' must be the name of an installed architecture, got "
                           f"{json.dumps(config['architecture'])[:60]}")
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


# safetensors dtypes and their sizes in bytes
SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2, "F16": 2,
                      "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8, "F64": 8}
MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit


def check_safetensors_header(path: Path | str) -> dict[str, Any]:
    """Read and check the header of a safetensors file before any tensor is read: its length, its JSON,
    and every entry's dtype, shape and byte range (inside the file, the size the shape needs, no overlaps).

    Returns:
        The header (tensor names to ``{"dtype", "shape", "data_offsets"}``, and ``__metadata__``).

    Raises:
        WeightsError: One line saying what is wrong.
    """
    import struct

    path = Path(path)
    bad = f"{path} is truncated or corrupted (not valid safetensors)"
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8:
            raise WeightsError(f"{bad}: {size} bytes, too short for a header")
        (length,) = struct.unpack("<Q", head)
        if length > min(MAX_HEADER_BYTES, size - 8):
            raise WeightsError(f"{bad}: its header claims {length:,} bytes, the file has {size - 8:,} after the"
                               " length")
        raw = f.read(length)
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise WeightsError(f"{bad}: its header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise WeightsError(f"{bad}: its header is not a JSON object")
    data_size = size - 8 - length
    spans = []
    for name, entry in header.items():
        if name == "__metadata__":
            if not isinstance(entry, dict) or not all(isinstance(v, str) for v in entry.values()):
                raise WeightsError(f"{bad}: __metadata__ must map names to strings")
            continue
        where = f"{bad}: tensor {json.dumps(name)[:80]}"
        if not isinstance(entry, dict) or set(entry) - {"dtype", "shape", "data_offsets"}:
            raise WeightsError(f"{where} is not described by dtype, shape and data_offsets")
        dtype, shape, offsets = entry.get("dtype"), entry.get("shape"), entry.get("data_offsets")
        if not isinstance(dtype, str) or dtype not in SAFETENSORS_DTYPES:
            raise WeightsError(f"{where} has unknown dtype {json.dumps(dtype)[:40]}")
        if not isinstance(shape, list) or not all(type(d) is int and 0 <= d < 2**62 for d in shape):
            raise WeightsError(f"{where} has a malformed shape")
        if (not isinstance(offsets, list) or len(offsets) != 2 or not all(type(o) is int for o in offsets)
                or not 0 <= offsets[0] <= offsets[1] <= data_size):
            raise WeightsError(f"{where} has byte offsets outside the file")
        numel = 1
        for d in shape:
            numel *= d
        if numel * SAFETENSORS_DTYPES[dtype] != offsets[1] - offsets[0]:
            raise WeightsError(f"{where}: shape {shape} of {dtype} does not match its {offsets[1] - offsets[0]:,}"
                               " bytes")
        spans.append((offsets[0], offsets[1]))
    spans.sort()
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            raise WeightsError(f"{bad}: two tensors share bytes")
    return header


def load_state_dict(path: Path | str) -> dict[str, torch.Tensor]:
    """Read a safetensors file, with a clear error for pickles and damaged files, and refuse
    tensors holding NaN or infinite values (they would make every image NaN)."""
    from safetensors.torch import load_file

    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    check_not_pickle(path)
    check_safetensors_header(path)
    try:
        state = load_file(str(path))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as err:  # safetensors' errors, and a panic of its Rust code (a BaseException)
        raise WeightsError(
            f"{path} is truncated or corrupted (safetensors could not read it: {type(err).__name__}: {err})"
        ) from None
    check_finite(state, path)
    return state


def check_finite(state: dict[str, torch.Tensor], path: Path | str) -> None:
    """Refuse weights with NaN or infinite values, naming the tensors (at most three, and how many)."""
    import torch

    bad = [k for k, v in state.items() if v.is_floating_point() and not bool(torch.isfinite(v).all())]
    if bad:
        names = ", ".join(json.dumps(k) for k in bad[:3]) + (f" and {len(bad) - 3} more" if len(bad) > 3 else "")
        raise WeightsError(f"{path} holds NaN or infinite values in {names}: refusing weights that would make "
                           "every output NaN (retrain, or restore a good checkpoint)")


def check_dtypes(state: dict[str, torch.Tensor], expected: dict[str, torch.Tensor], path: Path | str) -> None:
    """Refuse tensors whose kind does not fit the model: integers or booleans where it holds floating point
    (and floats where it holds integers); precision alone (fp16 for fp32) is converted on load."""
    wrong = [(k, v.dtype, expected[k].dtype) for k, v in state.items()
             if k in expected and v.is_floating_point() != expected[k].is_floating_point()]
    if wrong:
        k, got, want = wrong[0]
        more = f" (and {len(wrong) - 1} more)" if len(wrong) > 1 else ""
        raise WeightsError(f"{path}: tensor {json.dumps(k)} is {str(got).replace('torch.', '')} where the model "
                           f"holds {str(want).replace('torch.', '')}{more}: these are not weights of this model")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write to a temporary file in the same folder, then rename: a reader never sees half a file
    (``zoo.safety.atomic_write``: a full disk or read-only folder is one ``OutputError``)."""
    from zoo.safety import atomic_write

    atomic_write(path, lambda f: f.write(data))


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
    config = dict(model.zoo_config)
    components = tuple(name for name, _ in getattr(getattr(model, "zoo_spec", None), "components", ()))
    if components:  # a composite: each component in its own subfolder (or pinned by id), see zoo.components
        from zoo.components import save_components

        config["components"] = save_components(model, folder, half=half)
    state = {}
    for key, tensor in model.state_dict().items():
        if key.split(".", 1)[0] in components:
            continue
        tensor = tensor.detach().cpu().contiguous()
        if half and tensor.is_floating_point():
            tensor = tensor.to(torch.float16)
        state[key] = tensor
    atomic_write_bytes(folder / WEIGHTS_NAME, save(state, metadata={"format": "pt"}))
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
