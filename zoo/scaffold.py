"""``zoo new-plugin NAME``: render a working plugin distribution from the template in
``zoo/templates/plugin/`` (pyproject with the ``zoo`` entry point, a tiny model, its training step, a
README and a test file that runs the conformance kit). Right after it is made, ``pip install -e`` and
``pytest`` in it pass, and ``zoo list`` shows it."""

from __future__ import annotations

import re
from pathlib import Path

from zoo.errors import BadInputError, OutputError

DISTRIBUTION = "zoo-gen"  # the zoo's distribution on PyPI ("zoo" is another project); the import is `zoo`
TEMPLATE = Path(__file__).parent / "templates" / "plugin"
NAME = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")


def names(name: str) -> dict[str, str]:
    """The names a plugin called ``name`` goes by: model id, entry point, package, distribution, class."""
    if not isinstance(name, str) or not NAME.match(name) or len(name) > 40:
        raise BadInputError(f"plugin name {name!r} must be lowercase letters and digits, words joined by '-' or "
                            "'_', starting with a letter (e.g. tiny-vae)")
    from zoo import __version__

    entry = name.replace("-", "_")
    return {"name": name.replace("_", "-"), "entry": entry, "package": f"zoo_{entry}",
            "dist": f"zoo-{entry.replace('_', '-')}", "class": "".join(w.title() for w in entry.split("_")),
            "zoo_dist": DISTRIBUTION, "zoo_version": __version__}


def render(name: str, parent: Path | str = ".") -> Path:
    """Write the plugin distribution ``zoo-NAME`` into ``parent``.

    Returns:
        The new folder.

    Raises:
        BadInputError: The name is not a valid plugin name, or an installed plugin already registers it.
        OutputError: The folder exists already (nothing is overwritten).
    """
    from zoo.errors import UnknownModelError
    from zoo.plugins import get_registry

    values = names(name)
    try:
        taken = get_registry().get(values["name"])
    except UnknownModelError:
        pass
    else:
        raise BadInputError(f"'{values['name']}' is registered already (plugin {taken.plugin}); choose another name")
    folder = Path(parent) / values["dist"]
    if folder.exists():
        raise OutputError(f"{folder} exists; choose another name or folder (nothing was overwritten)")
    if not Path(parent).is_dir():
        raise OutputError(f"folder {parent} does not exist")
    for source in sorted(TEMPLATE.rglob("*.tmpl")):
        rel = source.relative_to(TEMPLATE).with_suffix("")  # README.md.tmpl -> README.md
        target = folder / Path(*(values["package"] if part == "package" else part for part in rel.parts))
        text = source.read_text()
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", value)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    return folder
