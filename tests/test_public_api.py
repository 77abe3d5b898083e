"""The public API of docs/plugin-guide.md is enough: first-party plugins and the example plugin import
only it (no private helper, no other plugin), and everything ``zoo`` exports resolves without torch."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# the modules docs/plugin-guide.md documents for plugins (the command helpers of zoo.cli are exported from zoo)
PUBLIC_MODULES = {"zoo", "zoo.interfaces", "zoo.training", "zoo.options", "zoo.errors", "zoo.data", "zoo.images",
                  "zoo.weights", "zoo.components", "zoo.gan", "zoo.diffusion", "zoo.unet", "zoo.testing", "zoo.cards"}
CLI_HELPERS = {"device_option", "force_option", "load_for_command", "write_outputs", "check_outputs"}
PLUGIN_FOLDERS = sorted(p.parent for p in [*(ROOT / "plugins").glob("*/__init__.py"),
                                           *(ROOT / "examples").glob("*/*/__init__.py")])


def zoo_imports(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module, [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name, []


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS, ids=lambda p: p.name)
def test_plugins_import_only_the_public_api(folder):
    own = f"zoo_plugins.{folder.name}" if folder.parent.name == "plugins" else folder.name
    for path, module, names in zoo_imports(folder):
        where = f"{path.relative_to(ROOT)} imports {module}"
        if module.startswith("zoo_plugins"):
            assert module == own or module.startswith(own + "."), f"{where}: another plugin"
        if module.split(".")[0] != "zoo":
            continue
        assert module in PUBLIC_MODULES, f"{where}: not a public module"
        assert not [n for n in names if n.startswith("_")], f"{where}: private names {names}"


def test_everything_zoo_exports_resolves_without_importing_torch():
    code = ("import sys, zoo\nnames = [n for n in zoo.__all__ if not hasattr(zoo, n)]\n"
            "print(names, 'torch' in sys.modules)")
    # hasattr loads the lazy names; importing zoo itself must not import torch
    done = subprocess.run([sys.executable, "-c", "import sys, zoo; print('torch' in sys.modules)"],
                          capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.startswith("[] "), done.stdout


def test_the_plugin_guide_imports_only_exported_names_and_the_readme_links_it():
    import re

    import zoo

    guide = (ROOT / "docs" / "plugin-guide.md").read_text()
    named = {n.strip() for line in re.findall(r"from zoo import ([\w, .]+)", guide) for n in line.split(",")}
    named.discard("...")
    assert named and named <= set(zoo.__all__), sorted(named - set(zoo.__all__))
    assert CLI_HELPERS <= named  # a plugin's commands get the zoo's own helpers from zoo
    assert "(docs/plugin-guide.md)" in (ROOT / "README.md").read_text()
