"""The peer benchmarks start where users run them: from this interpreter, and from a virtualenv made
from it. The peers' own virtualenv must see the packages of the interpreter that runs the benchmark (a
virtualenv's own torch and zoo), not the base interpreter's. The throughput script written for a GPU
runs, tiny, on the CPU."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).resolve().parents[1] / "bench"
SCRIPTS = ("peers.py", "ddpm_peers.py")


def check_venv(python: Path | str, env: dict[str, str]) -> None:
    for script in SCRIPTS:
        result = subprocess.run([str(python), str(BENCH / script), "--check-venv"], env=env, capture_output=True,
                                text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        assert "ready" in result.stdout, result.stdout


def test_the_peer_benchmarks_start_from_this_interpreter_and_from_a_virtualenv(tmp_path):
    pytest.importorskip("ensurepip", reason="this Python cannot make virtualenvs with pip (Debian: python3-venv)")
    peers_venv = tmp_path / "peers"
    env = {**os.environ, "ZOO_BENCH_VENV": str(peers_venv)}
    check_venv(sys.executable, env)

    # A user's virtualenv: this interpreter's packages (torch, the zoo) are seen through a .pth file, as
    # if installed there, and one package is installed in it alone.
    user = tmp_path / "user"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(user)], check=True)
    python = user / "bin" / "python"
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    dirs = [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])]
    (Path(purelib) / "parent.pth").write_text("".join(f"import site; site.addsitedir({d!r})\n" for d in dirs))
    (Path(purelib) / "zoo_bench_marker.py").write_text("")
    dist_info = Path(purelib) / "zoo_bench_marker-1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-bench-marker\nVersion: 1.0\n")

    check_venv(python, env)  # reuses the peers' venv made above, now for the user's interpreter
    seen = subprocess.run([str(peers_venv / "bin" / "python"), "-c",
                           "import zoo_bench_marker, importlib.metadata as m; print(m.version('zoo-bench-marker'))"],
                          capture_output=True, text=True)
    assert seen.stdout.strip() == "1.0", seen.stderr


def test_the_ddpm_cifar_throughput_benchmark_runs(tmp_path):
    """The script written for the GPU timing of issue 15 runs end to end (here on the CPU, tiny)."""
    out = tmp_path / "throughput.json"
    result = subprocess.run([sys.executable, str(BENCH / "ddpm_cifar_throughput.py"), "--device", "cpu", "--n", "3",
                             "--batch-size", "2", "--steps", "1", "--dtype", "float32", "--random-weights",
                             "--json", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(out.read_text())
    assert report["n"] == 3 and report["img_per_s"] > 0 and report["params"] == 35_746_307
    assert "50,000 would take" in result.stdout
