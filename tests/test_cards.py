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
        measured = out[JSON_KEYS[name.split(" (")[0]]]
        assert measured == pytest.approx(value, rel=tol / 100, abs=1e-6), f"{model_id}: {name}"
