"""The wheel carries every package: a non-editable install must work like the checkout."""

from __future__ import annotations

from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")  # Python 3.11+
ROOT = Path(__file__).resolve().parent.parent


def test_every_python_package_is_listed_for_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed, dirs = set(config["packages"]), config["package-dir"]
    for name, folder in dirs.items():
        if name == "zoo_model_cards":
            continue
        for init in (ROOT / folder).rglob("__init__.py"):
            sub = init.parent.relative_to(ROOT / folder).parts
            assert ".".join((name, *sub)) in listed, f"{init.parent} is not in [tool.setuptools] packages"
    entry_points = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["zoo"]
    for module in entry_points.values():
        assert module in listed


def test_the_distribution_has_a_name_free_on_pypi_and_plugins_depend_on_it():
    """"zoo" on PyPI is another project: a plugin that required it would install the wrong package."""
    from zoo.scaffold import DISTRIBUTION

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == DISTRIBUTION == "zoo-gen"
    assert project["scripts"] == {"zoo": "zoo.cli:main"}  # the command and the import package stay `zoo`
    assert project["entry-points"]["pytest11"] == {"zoo": "zoo.pytest_plugin"}  # the kit's pytest plugin
    example = tomllib.loads((ROOT / "examples" / "zoo-autoencoder" / "pyproject.toml").read_text())["project"]
    assert [d.split(">")[0] for d in example["dependencies"]] == [DISTRIBUTION]


def test_the_plugin_template_ships_with_the_wheel():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    patterns = config["package-data"]["zoo"]
    templates = [p.relative_to(ROOT / "zoo") for p in (ROOT / "zoo" / "templates").rglob("*") if p.is_file()]
    assert templates
    for path in templates:
        assert any(path.match(pattern) for pattern in patterns), f"zoo/{path} is not in package-data"
