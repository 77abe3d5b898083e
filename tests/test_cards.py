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


def small_rows():
    return [r for r in card_rows()
            if ("--num-samples 1000 " in r[4] + " " or "--metrics bpd " in r[4]) and "floor" not in r[1]]


def test_every_evaluation_row_names_its_command():
    assert card_rows(), "bundled cards carry evaluation rows"
    for model_id, _, _, _, cmd in card_rows():
        assert cmd.startswith(f"zoo eval {model_id} ")


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize(("model_id", "name", "value", "tol", "cmd"), small_rows())
def test_small_case_reproduces(model_id, name, value, tol, cmd):
    import json

    args = shlex.split(cmd)[1:] + ["--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    key = JSON_KEYS[name.split(" (")[0]]
    measured = json.loads(result.output)[key]
    assert measured == pytest.approx(value, rel=tol / 100, abs=1e-6), f"{model_id}: {name}"
