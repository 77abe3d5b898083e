"""``zoo new-plugin``: the rendered distribution installs, lists, and passes its own tests (the
conformance kit), so the template cannot rot. It is installed into a throwaway virtual environment
that sees this one's packages, never into this environment."""

from __future__ import annotations

import os
import subprocess
import sys

from .conftest import one_line_error, run


def test_new_plugin_installs_lists_and_passes_its_tests(tmp_path):
    result = run("new-plugin", "tiny-flow", "--dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    folder = tmp_path / "zoo-tiny-flow"
    assert sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()) == [
        "README.md", "pyproject.toml", "tests/test_conformance.py",
        "zoo_tiny_flow/__init__.py", "zoo_tiny_flow/model.py", "zoo_tiny_flow/train.py"]
    pyproject = (folder / "pyproject.toml").read_text()
    assert 'dependencies = ["zoo-gen>=' in pyproject and 'tiny_flow = "zoo_tiny_flow"' in pyproject
    assert "{{" not in "".join(p.read_text() for p in folder.rglob("*") if p.is_file())

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}

    def call(*args, cwd=None):
        done = subprocess.run([python, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        return done.stdout

    call("-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", str(folder))
    out = call("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=folder)
    assert "10 passed" in out, out  # spec, build, sample, determinism, options, interpolation, encoder,
    #                                 round trip, training through the real loop, metadata-only registration
    listing = call("-m", "zoo", "list", "tiny*")
    assert "tiny-flow" in listing and "generator,encoder,interpolation" in listing and "tiny_flow" in listing


def test_bad_names_and_taken_ids_are_one_line(tmp_path):
    one_line_error(run("new-plugin", "Tiny Flow!", "--dir", str(tmp_path)), "must be lowercase")
    one_line_error(run("new-plugin", "dcgan", "--dir", str(tmp_path)), "'dcgan' is registered already")
    one_line_error(run("new-plugin", "tiny", "--dir", str(tmp_path / "missing")), "does not exist")
    (tmp_path / "zoo-tiny").mkdir()
    one_line_error(run("new-plugin", "tiny", "--dir", str(tmp_path)), "exists")
