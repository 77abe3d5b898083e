"""Every number in a bundled model card comes with the command that measured it; rerunning
the small-case commands reproduces the numbers within the tolerance the card states."""

from __future__ import annotations

import re
import shlex

import pytest
from click.testing import CliRunner

from zoo.cli import cli
from zoo.weights import bundled_root

ROW = re.compile(
    r"^\| (?P<name>[^|]+?) \| (?P<value>[-\d.e+]+)[^|]* \| ±(?P<tol>[\d.]+)% \| `(?P<cmd>zoo eval [^`]+)` \|$", re.M
)
JSON_KEYS = {"FD": "fd", "NLL": "nll_nats", "KID": "kid", "precision": "precision", "recall": "recall",
             "density": "density", "coverage": "coverage", "bits/dim": "bpd", "class accuracy": "class_acc"}


TRANSLATION_KEYS = {"FD to target": "fd", "target rate": "target", "class kept": "class_kept", "cycle L1": "cycle"}


def measured(out: dict, name: str) -> float:
    """The figure of ``zoo eval --json`` that a card row reports: a generator's ``FD (1,000
    samples)`` is ``out["fd"]``; a translator's ``a2b target rate (1,000 test images), source only``
    is ``out["source_only"]["a2b.target"]``."""
    label = name.split(" (")[0]
    direction, _, rest = label.partition(" ")
    if direction in ("a2b", "b2a"):
        key = f"{direction}.{TRANSLATION_KEYS[rest]}"
        return out["source_only"][key] if name.endswith(", source only") else out[key]
    return out[JSON_KEYS[label]]


def card_rows():
    rows = []
    for card in sorted(bundled_root().glob("*/README.md")):
        for m in ROW.finditer(card.read_text()):
            rows.append((card.parent.name, m["name"], float(m["value"]), float(m["tol"]), m["cmd"]))
    return rows


def small_commands():
    """The cheap commands of each card (1,000 samples, bits/dim, or 10 sampler steps), each with its rows."""
    chosen: dict[str, list] = {}
    for model_id, name, value, tol, cmd in card_rows():
        cheap = "--num-samples 1000 " in cmd + " " or "--metrics bpd " in cmd or "--steps 10 " in cmd + " "
        if cheap and "floor" not in name:
            chosen.setdefault(cmd, []).append((model_id, name, value, tol))
    return sorted(chosen.items())


def test_every_evaluation_row_names_its_command():
    assert card_rows(), "bundled cards carry evaluation rows"
    for model_id, _, _, _, cmd in card_rows():
        assert cmd.startswith(f"zoo eval {model_id} ")


@pytest.mark.realdata
@pytest.mark.cards
@pytest.mark.parametrize(("cmd", "rows"), small_commands())
def test_small_case_reproduces(cmd, rows, fashion_reference):
    import json

    result = CliRunner().invoke(cli, shlex.split(cmd)[1:] + ["--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    for model_id, name, value, tol in rows:
        assert measured(out, name) == pytest.approx(value, rel=tol / 100, abs=1e-6), f"{model_id}: {name}"
