"""``zoo push``: a model folder to the Hugging Face Hub as one commit, after checking that it loads.

The folder is what ``zoo.load`` reads back (``config.json``, ``model.safetensors``, ``README.md``, the
components' subfolders of a composite, images the card shows), so ``zoo.load("hf-hub:ORG/NAME")``
brings the same model back. The checks run before anything is sent:

1. ``config.json`` names an architecture of an installed plugin;
2. the weights load into it (safetensors only) and the model makes finite images in ``[0, 1]``;
3. the card's metadata is valid (``zoo.cards.check_card``: library_name, license, pipeline_tag,
   model-index).

Then ``HfApi.create_repo`` (if needed) and one ``HfApi.create_commit`` of ``CommitOperationAdd``
operations, with the user's usual Hub token (``hf auth login`` or ``HF_TOKEN``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from zoo.errors import BadInputError, HubError, WeightsError
from zoo.weights import PICKLE_SUFFIXES

REPO_ID = re.compile(r"^[A-Za-z0-9][\w.-]{0,95}/[A-Za-z0-9][\w.-]{0,95}$")
SKIPPED = {"__pycache__", ".git", ".cache", ".ipynb_checkpoints"}  # never part of a model repo


@dataclass
class PushPlan:
    """What ``push`` sends (or, with ``dry_run``, would send).

    Attributes:
        folder: The model folder.
        repo_id: ``ORG/NAME`` on the Hub.
        files: Paths inside the repo, in upload order, each with its local file.
        metadata: The card's metadata, as YAML.
        commit_message: The commit's title.
        url: The commit (or pull request) made; empty for a dry run.
    """

    folder: Path
    repo_id: str
    files: list[tuple[str, Path]]
    metadata: str
    commit_message: str
    url: str = ""
    checked: list[str] = field(default_factory=list)


def resolve_folder(folder_or_id: str) -> Path:
    """A model folder from a path (with a ``/`` or starting with ``.``) or a registered pretrained id."""
    from zoo.api import model_spec
    from zoo.data import is_path
    from zoo.weights import resolve_folder as spec_folder

    if is_path(folder_or_id):  # as zoo.load: paths are paths, ids are ids
        folder = Path(folder_or_id).expanduser()
        if not folder.is_dir():
            raise WeightsError(f"model folder {folder} does not exist")
        return folder
    spec = model_spec(folder_or_id)
    if not spec.pretrained:
        raise BadInputError(f"'{spec.id}' is an architecture without weights: push a trained model folder "
                            f"(`zoo train {spec.id} --out RUN` exports RUN/model)")
    if spec.loader:
        source = spec.hub_repo or "a folder its loader reads"
        raise BadInputError(f"'{spec.id}' is stored in its plugin's own format ({source}); "
                            "zoo push sends zoo model folders")
    return spec_folder(spec, allow_download=False)


def repo_files(folder: Path) -> list[tuple[str, Path]]:
    """Every file of the folder, by its path in the repo (POSIX), sorted; pickles are refused."""
    files = []
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or any(part in SKIPPED or part.startswith(".") for part in rel.parts):
            continue
        if path.suffix in PICKLE_SUFFIXES:
            raise WeightsError(f"{path} is a pickle: the zoo publishes safetensors only; remove it before pushing")
        files.append((rel.as_posix(), path))
    return files


def check_folder(folder: Path) -> tuple[Any, list[str]]:
    """The checks of the module docstring; returns the card's metadata and what was checked.

    Raises:
        UnknownModelError: ``config.json`` names an architecture no installed plugin registers.
        WeightsError: The weights do not load, the model makes no valid images, or the card is invalid.
    """
    import torch

    from zoo.api import load_folder
    from zoo.cards import check_card
    from zoo.weights import read_config

    architecture = read_config(folder).get("architecture")
    model = load_folder(folder).eval()  # unknown architecture, pickles, bad or non-finite weights: one clear error
    from zoo.testing import role_outputs

    with torch.no_grad():
        images = role_outputs(model, n=2, seed=0)
    if not torch.isfinite(images).all() or images.min() < 0 or images.max() > 1:
        raise WeightsError(f"the model in {folder} makes images outside [0, 1] or not finite")
    data = check_card(folder / "README.md")
    checked = [f"config.json names '{architecture}' (installed)",
               f"the weights load and make {tuple(images.shape[1:])} images in [0, 1]",
               f"card metadata valid (pipeline_tag {data.pipeline_tag}, "
               f"{len(data.eval_results or [])} model-index results)"]
    return data, checked


def _token() -> str:
    from huggingface_hub import get_token

    token = get_token()
    if not token:
        raise HubError("no Hugging Face token: run `hf auth login` (or set HF_TOKEN) with a token that may write "
                       "to the repo")
    return token


def push(folder_or_id: str | Path, repo_id: str, *, private: bool = False, revision: str | None = None,
         create_pr: bool = False, dry_run: bool = False, commit_message: str | None = None) -> PushPlan:
    """Check a model folder, then upload it to ``repo_id`` as one commit.

    Args:
        folder_or_id: A model folder, or the id of a pretrained model whose folder is here (bundled).
        repo_id: ``ORG/NAME``; the repo is created (``private`` if asked) when it does not exist.
        private: Create the repo private (an existing repo keeps its visibility).
        revision: The branch to commit to (created from main if missing); default main.
        create_pr: Open a pull request with the commit instead of committing to the branch.
        dry_run: Check and plan only: nothing is sent, no token needed.
        commit_message: The commit's title (default: "Upload FOLDER with zoo push").

    Returns:
        The plan, with the url of the commit or pull request when sent.

    Raises:
        BadInputError: ``repo_id`` is not ``ORG/NAME``.
        WeightsError, UnknownModelError: The folder fails a check (nothing is sent).
        HubError: Offline, no token, or the Hub refused (the message says which).
    """
    from huggingface_hub import constants

    if not REPO_ID.match(repo_id or "") or ".." in repo_id or "--" in repo_id:
        raise BadInputError(f"'{repo_id}' is not a Hub repo id: use ORG/NAME (letters, digits, '-', '_', '.')")
    if revision is not None and not re.match(r"^[\w.][\w./-]*$", revision):
        raise BadInputError(f"'{revision}' is not a branch name")
    token = ""
    if not dry_run:  # fail before the checks, which load the model
        if constants.HF_HUB_OFFLINE:
            raise HubError(f"cannot push to {repo_id}: the Hub is offline here (HF_HUB_OFFLINE=1); "
                           "unset it where the Hub is reachable, or use --dry-run")
        token = _token()
    folder = resolve_folder(str(folder_or_id))
    data, checked = check_folder(folder)
    files = repo_files(folder)
    plan = PushPlan(folder, repo_id, files, data.to_yaml(), commit_message or f"Upload {folder.name} with zoo push",
                    checked=checked)
    if dry_run:
        return plan
    from huggingface_hub import CommitOperationAdd, HfApi

    api = HfApi(token=token)
    operations = [CommitOperationAdd(path_in_repo=path, path_or_fileobj=str(local)) for path, local in files]
    try:
        api.create_repo(repo_id, private=private, exist_ok=True, repo_type="model")
        if revision and not create_pr:
            api.create_branch(repo_id, branch=revision, exist_ok=True, repo_type="model")
        info = api.create_commit(repo_id, operations, commit_message=plan.commit_message,
                                 commit_description=f"{len(files)} files, checked by zoo push: " + "; ".join(checked),
                                 revision=revision, create_pr=create_pr, repo_type="model")
    except Exception as err:  # HTTP errors, refused connections, DNS failures: one line, never a traceback
        raise HubError(f"could not push to {repo_id}: {_hub_reason(err)}") from None
    plan.url = (info.pr_url if create_pr else None) or info.commit_url
    return plan


def _hub_reason(err: Exception) -> str:
    """The first line of a Hub error, with the usual causes named."""
    from huggingface_hub.errors import HfHubHTTPError

    status = getattr(getattr(err, "response", None), "status_code", None)
    if isinstance(err, HfHubHTTPError) and status in (401, 403):
        return f"the token may not write there (HTTP {status}); check `hf auth whoami` and the org's permissions"
    lines = str(err).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(err, OSError) or "connect" in type(err).__name__.lower() or "connect" in text.lower():
        return f"the Hub cannot be reached from here (no network?): {type(err).__name__}: {text}"
    return f"{type(err).__name__}: {text}"
