"""The zoo's pytest plugin (the ``pytest11`` entry point): registers the ``zoo_training`` mark of the
conformance kit's real-loop training checks, so that ``pytest -m "not zoo_training"`` skips them and
``--strict-markers`` accepts them. Importing it imports neither torch nor any plugin."""

from __future__ import annotations

from typing import Any

from zoo.testing import TRAINING_MARK


def pytest_configure(config: Any) -> None:
    """Register the kit's marks."""
    config.addinivalue_line("markers", f"{TRAINING_MARK}: a zoo.testing check that runs the real training loop "
                                       "(skip with -m 'not zoo_training')")
