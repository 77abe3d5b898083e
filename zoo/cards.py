"""Model cards: the README.md of a model folder, with Hugging Face YAML front matter.

A card states only what was measured, each figure next to the command that measured it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from zoo.registry import ModelSpec

HF_DATASET_IDS = {"fashion-mnist": "zalando-datasets/fashion_mnist", "mnist": "ylecun/mnist"}


@dataclass(frozen=True)
class Measurement:
    """One measured figure for a card: name, value, unit, and the command that produced it."""

    name: str
    value: float | str
    command: str
    unit: str = ""
    hardware: str = ""


def _yaml_list(key: str, items: Sequence[str]) -> str:
    return f"{key}:\n" + "".join(f"- {item}\n" for item in items) if items else ""


def render_card(
    spec: ModelSpec,
    training: dict[str, Any],
    measurements: Sequence[Measurement] = (),
    *,
    notes: str = "",
    reference: str = "",
) -> str:
    """The card of a pretrained model.

    Args:
        spec: The registered spec (id, family, paper, dataset...).
        training: The run's ``training.json`` (command, wall time, hardware, config...).
        measurements: Figures with the commands that measured them.
        notes: Free Markdown for limitations and remarks.
        reference: Published numbers for context (never presented as ours).
    """
    tags = ["zoo", "image-generation", spec.family, spec.architecture]
    datasets = [HF_DATASET_IDS.get(spec.dataset, spec.dataset)] if spec.dataset else []
    front = (
        "---\nlibrary_name: zoo\n"
        + f"license: {spec.license.lower() or 'other'}\n"
        + _yaml_list("tags", tags)
        + _yaml_list("datasets", datasets)
        + _yaml_list("metrics", sorted({m.name.split(" ")[0].lower() for m in measurements}))
        + "---\n\n"
    )
    c, h, w = spec.image_shape
    lines = [
        f"# {spec.id}", "", spec.description, "",
        f"- Architecture: `{spec.architecture}` ({spec.paper})",
        f"- Images: {c}×{h}×{w}, values in [0, 1]",
        f"- Capabilities: {', '.join(spec.capabilities)}",
        "", "## Use", "", "```python", "import zoo", "",
        f'model = zoo.load("{spec.id}")',
        f"images = model.sample(16, seed=0)  # (16, {c}, {h}, {w}) float tensor in [0, 1]",
        "```", "", "```bash", f"zoo sample {spec.id} -n 64 --seed 0 -o samples.png", "```", "",
        "## Samples", "",
        f"![64 samples, seed 0](samples.png)  \n`zoo sample {spec.id} -n 64 --seed 0 -o samples.png`", "",
        "## Training", "",
        f"- Command: `{training.get('command', '')}`",
        f"- Data: {spec.dataset} train split, {training.get('images_seen', 0):,} images seen "
        f"({training.get('epochs')} epochs, {training.get('steps')} steps of batch {training.get('batch_size')})",
        f"- Hardware: {training.get('hardware', '')}; torch {training.get('torch', '')}",
        f"- Wall time: {training.get('wall_time_s', 0) / 60:.1f} min, "
        f"{training.get('images_per_s', 0):.0f} training images/s",
        f"- EMA decay {training.get('ema_decay')}, seed {training.get('seed')}",
        f"- Config: `{json.dumps(training.get('config', {}))}`",
        "",
    ]
    if measurements:
        lines += ["## Evaluation", "", "| metric | value | command |", "| --- | --- | --- |"]
        for m in measurements:
            value = f"{m.value:.4g}" if isinstance(m.value, float) else str(m.value)
            lines.append(f"| {m.name} | {value} {m.unit} | `{m.command}` |")
        hw = {m.hardware for m in measurements if m.hardware}
        if hw:
            lines += ["", f"Measured on: {'; '.join(sorted(hw))}."]
        lines.append("")
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    if reference:
        lines += ["## Reference", "", reference.strip(), ""]
    return front + "\n".join(lines)
