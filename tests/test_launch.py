"""The README's launch line for several processes, run for real: ``torchrun`` starts 2 CPU processes of
``python -m zoo.cli train``, they stay in step, and only the main process prints."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_torchrun_trains_on_two_cpu_processes(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    env.pop("RANK", None)
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
               "-m", "zoo.cli", "train", "vae", "--data", str(tiny_fashion), "--out", str(out), "--epochs", "1",
               "--batch-size", "8", "--max-steps", "3", "--config", "z_dim=4", "--config", "base_channels=4",
               "--config", "hidden_dim=16"]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-4000:]
    info = json.loads((out / "model" / "training.json").read_text())
    assert info["processes"] == 2
    assert info["max_weight_difference_across_processes"] == 0.0
    assert info["images_seen"] == 3 * 8 * 2
    assert result.stdout.count(f"exported {out / 'model'}") == 1  # the main process only
    assert result.stderr.count("epoch 1/1 step 3") == 1
