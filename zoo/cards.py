"""Model cards: the README.md of a model folder, its front matter built with ``huggingface_hub``'s
``ModelCardData`` (library_name, pipeline_tag, tags, datasets, license, and the measured numbers in
``model-index`` form), so that the Hub shows them.

A card states only what was measured, each figure next to the command that measured it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from zoo.errors import WeightsError
from zoo.registry import ModelSpec

if TYPE_CHECKING:
    from huggingface_hub import ModelCardData

HF_DATASET_IDS = {"fashion-mnist": "zalando-datasets/fashion_mnist", "mnist": "ylecun/mnist"}


@dataclass(frozen=True)
class Measurement:
    """One measured figure for a card: name, value, unit, and the command that produced it."""

    name: str
    value: float | str
    command: str
    unit: str = ""
    hardware: str = ""
    tolerance: str = ""  # how close a rerun of the command lands, e.g. "±1%"


GENERATION, TRANSLATION = "unconditional-image-generation", "image-to-image"  # the Hub's pipeline tags
ENCODING = "image-feature-extraction"  # an autoencoder that does not generate: images to latents (and back)
PIPELINE_TAGS = (GENERATION, TRANSLATION, ENCODING, "image-classification")
TASK_TAGS = {GENERATION: "image-generation", ENCODING: "latent-space"}  # a tag beside the pipeline tag
# model-index metric types of the Evaluation table's rows, by the label before " ("
METRIC_TYPES = {"FD": "fd", "KID": "kid", "precision": "precision", "recall": "recall", "density": "density",
                "coverage": "coverage", "bits/dim": "bits_per_dim", "NLL": "nll", "class accuracy": "accuracy",
                "test accuracy": "accuracy", "reconstruction L1 per pixel": "recon_l1",
                "reconstruction MSE per pixel": "recon_mse", "reconstruction PSNR": "psnr",
                "FD of the reconstructions": "recon_fd"}
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n+", re.S)
# a row of the Evaluation table: | name | value[ unit] | [tolerance |] `command` |
TABLE_ROW = re.compile(r"^\| (?P<name>[^|]+?) \| (?P<value>-?[\d.]+(?:e[-+]?\d+)?)(?P<unit>[^|]*?) \|"
                       r"(?: (?P<tol>±[\d.]+%|-) \|)? `(?P<cmd>[^`]+)` \|$", re.M)


def pipeline_tag(spec: ModelSpec) -> str:
    """What the Hub should show the model as: a translator maps images to images, an autoencoder that
    does not generate maps them to latents, the rest generate."""
    if "generator" in spec.capabilities:
        return GENERATION
    if "translation" in spec.capabilities:
        return TRANSLATION
    return ENCODING if "encoder" in spec.capabilities else GENERATION


def dataset_ids(dataset: str) -> list[str]:
    """The Hub's data set ids of a spec's ``dataset`` (data sources, comma-separated for a
    translator's two domains: ``fashion-mnist:sneaker,fashion-mnist:ankle-boot``)."""
    from zoo.data import parse_source

    ids = [HF_DATASET_IDS.get(parse_source(s).dataset or s, parse_source(s).dataset or s)
           for s in dataset.split(",") if s]
    return list(dict.fromkeys(ids))


def _metric_type(label: str) -> str | None:
    """The model-index type of a row's label: ``FD`` → fd; a translator's ``a2b cycle L1`` → a2b_cycle_l1."""
    direction, _, rest = label.partition(" ")
    if direction in ("a2b", "b2a") and rest in TRANSLATION_LABELS.values():
        return f"{direction}_{rest.lower().replace(' ', '_')}"
    return METRIC_TYPES.get(label)


def _eval_results(task: str, dataset: str, measurements: Sequence[Measurement]) -> list[Any]:
    """The measured rows as ``model-index`` results (the real-vs-real floors and the untranslated
    inputs' baselines are not the model's numbers)."""
    from huggingface_hub import EvalResult

    results = []
    for m in measurements:
        label = m.name.split(" (")[0]
        kind = _metric_type(label)
        if "floor" in m.name or "source only" in m.name or kind is None or not isinstance(m.value, float):
            continue
        split = "test" if "test split" in m.name or "test images" in m.name else "train"
        results.append(EvalResult(task_type=task, dataset_type=dataset_ids(dataset)[0],
                                  dataset_name=dataset, dataset_split=split, metric_type=kind,
                                  metric_name=m.name, metric_value=float(f"{m.value:.4g}"),  # as the table shows it
                                  metric_args={"command": m.command}))
    return results


def card_data(spec: ModelSpec, measurements: Sequence[Measurement] = ()) -> ModelCardData:
    """The card metadata of a pretrained model: what the Hub indexes and shows."""
    from huggingface_hub import ModelCardData

    task = pipeline_tag(spec)
    results = _eval_results(task, spec.dataset, measurements) if spec.dataset else []
    return ModelCardData(
        library_name="zoo", pipeline_tag=task, license=spec.license.lower() or "other",
        tags=["zoo", TASK_TAGS.get(task, "image-to-image"), spec.family, spec.architecture],
        datasets=dataset_ids(spec.dataset) or None,
        model_name=spec.id if results else None, eval_results=results or None,
    )


def with_front_matter(data: ModelCardData, body: str) -> str:
    """A card's text: ``data`` as YAML front matter, then the Markdown ``body``."""
    return f"---\n{data.to_yaml()}\n---\n\n{body.lstrip()}"


def parse_measurements(text: str) -> list[Measurement]:
    """The rows of a card's Evaluation table, as written (the numbers are not re-measured)."""
    hardware = re.search(r"^Measured on: (.*)\.$", text, re.M)
    return [Measurement(m["name"], float(m["value"]), m["cmd"], unit=m["unit"].strip(),
                        hardware=hardware.group(1) if hardware else "",
                        tolerance="" if m["tol"] in (None, "-") else m["tol"])
            for m in TABLE_ROW.finditer(text)]


def refresh_card(readme: Path | str, spec: ModelSpec | None = None) -> str:
    """The card at ``readme`` with its front matter built again from ``spec`` (the folder's registered
    model) and the numbers of its own Evaluation table; the Markdown below the front matter is kept
    byte for byte. A card of no registered model (the evaluation classifier) keeps its metadata and
    gets its numbers in ``model-index`` form."""
    from huggingface_hub import ModelCard

    text = Path(readme).read_text()
    front = FRONT_MATTER.match(text)
    body = text[front.end():] if front else text
    measurements = parse_measurements(body)
    if spec is not None:
        return with_front_matter(card_data(spec, measurements), body)
    data: Any = ModelCard(text).data
    tags = data.tags or []
    task = data.pipeline_tag or ("image-classification" if "image-classification" in tags else GENERATION)
    data.pipeline_tag = task
    dataset = next(iter(data.datasets or []), "")
    named = {v: k for k, v in HF_DATASET_IDS.items()}.get(dataset, dataset)
    results = _eval_results(task, named, measurements) if named else []
    data.metrics = None  # the metric names now come with their values, in model-index
    if results:
        data.model_name, data.eval_results = Path(readme).parent.name, results
    return with_front_matter(data, body)


def check_card(readme: Path | str) -> ModelCardData:
    """The metadata of the card at ``readme``, checked as ``zoo push`` needs it: the zoo's
    library_name, a license, a pipeline tag the Hub knows, and a well-formed model-index.

    Raises:
        WeightsError: The card is missing or its metadata is not valid; the message says what.
    """
    from huggingface_hub import ModelCard

    readme = Path(readme)
    if not readme.is_file():
        raise WeightsError(f"{readme} is missing: a model folder needs its card (zoo.cards.release writes one)")
    try:
        data: Any = ModelCard(readme.read_text()).data
    except Exception as err:  # yaml errors, a model-index that does not parse, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise WeightsError(f"the metadata of {readme} is not valid: {first}") from None
    problems = []
    if data.library_name != "zoo":
        problems.append(f"library_name is {data.library_name!r}, not 'zoo'")
    if not data.license:
        problems.append("no license")
    if data.pipeline_tag not in PIPELINE_TAGS:
        problems.append(f"pipeline_tag {data.pipeline_tag!r} is not one of {', '.join(PIPELINE_TAGS)}")
    for result in data.eval_results or []:
        if not isinstance(result.metric_value, (int, float)):
            problems.append(f"model-index value {result.metric_value!r} of {result.metric_type} is not a number")
    if problems:
        raise WeightsError(f"the metadata of {readme} is not valid: {'; '.join(problems)}")
    return data


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
    c, h, w = spec.image_shape
    lines = [
        f"# {spec.id}", "", spec.description, "",
        f"- Architecture: `{spec.architecture}` ({spec.paper})",
        f"- Images: {c}×{h}×{w}, values in [0, 1]",
        f"- Capabilities: {', '.join(spec.capabilities)}",
        "", "## Use", "",
        *(_translator_use(spec) if "translation" in spec.capabilities else _generator_use(spec)
          if "generator" in spec.capabilities else _encoder_use(spec)),
        "## Training", "",
        *(f"- Command: `{c}`" for c in training.get("commands", [training.get("command", "")])),
        f"- Data: {spec.dataset.replace(',', ' ↔ ')} train split, {training.get('images_seen', 0):,} images seen "
        f"({training.get('epochs')} epochs, {training.get('steps')} steps of batch {training.get('batch_size')})",
        f"- Hardware: {training.get('hardware', '')}; torch {training.get('torch', '')}",
        f"- Wall time: {training.get('wall_time_s', 0) / 60:.1f} min, "
        f"{training.get('images_per_s', 0):.0f} training images/s",
        f"- EMA decay {training.get('ema_decay')}, seed {training.get('seed')}",
        f"- Config: `{json.dumps(training.get('config', {}))}`",
        "",
    ]
    if measurements:
        lines += ["## Evaluation", "", "| metric | value | rerun tolerance | command |", "| --- | --- | --- | --- |"]
        for m in measurements:
            value = f"{m.value:.4g}" if isinstance(m.value, float) else str(m.value)
            unit = f" {m.unit}" if m.unit else ""
            lines.append(f"| {m.name} | {value}{unit} | {m.tolerance or '-'} | `{m.command}` |")
        hw = {m.hardware for m in measurements if m.hardware}
        if hw:
            lines += ["", f"Measured on: {'; '.join(sorted(hw))}."]
        lines.append("")
    if notes:
        lines += ["## Notes", "", notes.strip(), ""]
    if reference:
        lines += ["## Reference", "", reference.strip(), ""]
    return with_front_matter(card_data(spec, measurements), "\n".join(lines))


def _generator_use(spec: ModelSpec) -> list[str]:
    c, h, w = spec.image_shape
    return ["```python", "import zoo", "",
            f'model = zoo.load("{spec.id}")',
            f"images = model.sample(16, seed=0)  # (16, {c}, {h}, {w}) float tensor in [0, 1]",
            "```", "", "```bash", f"zoo sample {spec.id} -n 64 --seed 0 -o samples.png", "```", "",
            "## Samples", "",
            f"![64 samples, seed 0](samples.png)  \n`zoo sample {spec.id} -n 64 --seed 0 -o samples.png`", ""]


RECONSTRUCTION_GRID = "reconstructions.png"  # an autoencoder that does not generate: test images over their
RECONSTRUCTION_COMMAND = "zoo reconstruct {id} --from-data test -n 32 --seed 0 -o " + RECONSTRUCTION_GRID


def _encoder_use(spec: ModelSpec) -> list[str]:
    c, h, w = spec.image_shape
    command = RECONSTRUCTION_COMMAND.format(id=spec.id)
    return ["```python", "import zoo", "",
            f'model = zoo.load("{spec.id}")',
            f"z = model.encode(images)       # images (B, {c}, {h}, {w}) in [0, 1] → latents (B, *model.latent_shape)",
            "recon = model.decode(z)         # back to images",
            "```", "", "```bash", command,
            f"zoo interpolate {spec.id} --images a.png b.png -o strip.png", "```", "",
            "## Reconstructions", "",
            f"![test images, their reconstructions below]({RECONSTRUCTION_GRID})  \n`{command}`", ""]


TRANSLATION_GRIDS = {"a2b": "a2b.png", "b2a": "b2a.png"}  # test images on odd rows, translations below


def _translation_command(model_id: str, direction: str) -> str:
    return (f"zoo translate {model_id} --from-data test -n 32 --seed 0 --direction {direction}"
            f" -o {TRANSLATION_GRIDS[direction]}")


def _translator_use(spec: ModelSpec) -> list[str]:
    c, h, w = spec.image_shape
    lines = ["```python", "import zoo", "",
             f'model = zoo.load("{spec.id}")',
             f"x = model.draw_images('a2b', 16, seed=0)  # 16 test images of domain A, (16, {c}, {h}, {w}) in [0, 1]",
             "y = model.translate(x, direction='a2b')      # their translations to domain B",
             "back = model.cycle(x)                        # the round trip A → B → A",
             "```", "", "```bash", _translation_command(spec.id, "a2b"),
             f"zoo translate {spec.id} my_image.png --direction b2a -o translated.png", "```", "",
             "## Translations", ""]
    for direction, grid in TRANSLATION_GRIDS.items():
        lines += [f"![{direction}: test images, their translations below]({grid})  \n"
                  f"`{_translation_command(spec.id, direction)}`", ""]
    return lines


TRANSLATION_LABELS = {"fd": "FD to target", "target": "target rate", "class_kept": "class kept",
                      "cycle": "cycle L1"}


def translation_measurements(model_id: str, num_samples: int, seed: int = 0,
                             tolerance: str = "±2%") -> list[Measurement]:
    """``zoo eval`` of a translator, one row per direction and metric, then its source-only
    baseline (the untranslated inputs) and its floor (the target's real images) as their own rows."""
    import torch

    from zoo.metrics.evaluate import evaluate
    from zoo.training import hardware_description

    result = evaluate(model_id, None, num_samples=num_samples, seed=seed)
    command = f"zoo eval {model_id} --num-samples {num_samples} --seed {seed}"
    hardware = hardware_description(torch.device("cpu"))
    rows = []
    for direction in ("a2b", "b2a"):
        for key, label in TRANSLATION_LABELS.items():
            k = f"{direction}.{key}"
            if k not in result.scores:
                continue
            name = f"{direction} {label} ({num_samples:,} test images)"
            rows.append(Measurement(name, float(result.scores[k]), command, tolerance=tolerance, hardware=hardware))
            if k in result.baseline:
                rows.append(Measurement(f"{name}, source only", float(result.baseline[k]), command,
                                        tolerance=tolerance, hardware=hardware))
            if k in result.floor:
                rows.append(Measurement(f"{name}, real target floor", float(result.floor[k]), command,
                                        tolerance=tolerance, hardware=hardware))
    return rows


def eval_measurements(model_id: str, metrics: Sequence[str], num_samples: int, seed: int = 0,
                      tolerance: str = "±2%", sample_options: dict[str, Any] | None = None) -> list[Measurement]:
    """Run ``zoo eval`` in-process and turn each score into a Measurement carrying the
    exact command that reproduces it (and the real-vs-real floor as its own row)."""
    import torch

    from zoo.metrics.evaluate import evaluate
    from zoo.training import hardware_description

    options = dict(sample_options or {})
    result = evaluate(model_id, list(metrics), num_samples=num_samples, seed=seed, sample_options=options)
    command = f"zoo eval {model_id} --metrics {','.join(metrics)}"
    # bits/dim and reconstructions score test images: the whole split, or a subset
    test_metrics = ("bpd", "nll_nats", "recon_l1", "recon_mse", "psnr", "recon_fd")
    whole_split = set(metrics) <= {"bpd", "recon"} and num_samples >= 10_000
    if not whole_split:
        command += f" --num-samples {num_samples}"
    command += f" --seed {seed}" + "".join(f" --{k} {v}" for k, v in options.items())
    described = "".join(f", {k} {v}" for k, v in options.items())
    hardware = hardware_description(torch.device("cpu"))
    labels = {"fd": "FD", "kid": "KID", "precision": "precision", "recall": "recall", "density": "density",
              "coverage": "coverage", "bpd": "bits/dim", "nll_nats": "NLL (nats/image)", "class_acc": "class accuracy",
              "recon_l1": "reconstruction L1 per pixel", "recon_mse": "reconstruction MSE per pixel",
              "psnr": "reconstruction PSNR", "recon_fd": "FD of the reconstructions"}
    rows = []
    for key, label in labels.items():
        if key in result.scores:
            suffix = f" ({num_samples:,} samples{described})" if key not in test_metrics else \
                " (test split)" if whole_split else f" ({num_samples:,} test images)"
            unit = "dB" if key == "psnr" else ""
            if key == "bpd" and not whole_split and "bpd_se" in result.scores:  # a subset: say how far it may be
                unit = f"± {result.scores['bpd_se']:.2g} (standard error over the images)"
            rows.append(Measurement(label + suffix, float(result.scores[key]), command, unit=unit, tolerance=tolerance,
                                    hardware=hardware))
            if key in result.floor:
                rows.append(Measurement(f"{label}{suffix}, real test vs train floor", float(result.floor[key]),
                                        command, tolerance=tolerance, hardware=hardware))
    return rows


def release(run_model: str | Path, model_id: str, dest: str | Path, *, measurements: Sequence[Measurement] = (),
            notes: str = "", reference: str = "", half: bool = True) -> Path:
    """Turn a training run's exported folder into a release folder: fp16 weights (when
    ``half``), config, a 64-image grid drawn from the released weights, and the card."""
    import zoo
    from zoo.images import save_grid
    from zoo.interfaces import Generator, Translator
    from zoo.safety import atomic_write_text
    from zoo.weights import save_model_folder

    run_model, dest = Path(run_model), Path(dest)
    training = json.loads((run_model / "training.json").read_text())
    model = zoo.load_folder(run_model)
    training["config"] = {k: v for k, v in model.zoo_config.items() if k not in ("architecture", "zoo_version")}
    save_model_folder(model, dest, half=half)
    released = zoo.load_folder(dest)
    if isinstance(released, Translator):  # the grids the card's zoo translate commands draw
        from zoo.images import pairs_grid

        for direction, grid in TRANSLATION_GRIDS.items():
            x = released.draw_images(direction, 32, seed=0)
            save_grid(pairs_grid(x, released.translate(x, direction), 8), dest / grid, nrow=8, force=True)
    elif isinstance(released, Generator):
        save_grid(released.sample(64, seed=0), dest / "samples.png", nrow=8, force=True)
    else:  # an autoencoder: the grid of the card's zoo reconstruct command
        from zoo.data import draw_images
        from zoo.images import pairs_grid

        x = draw_images(training.get("data", "fashion-mnist"), "test", 32, seed=0)
        save_grid(pairs_grid(x, released.reconstruct(x), 8), dest / RECONSTRUCTION_GRID, nrow=8, force=True)
    atomic_write_text(dest / "training.json", json.dumps(training, indent=2) + "\n")
    spec = zoo.model_spec(model_id)
    card = render_card(spec, training, measurements, notes=notes, reference=reference)
    atomic_write_text(dest / "README.md", card)
    return dest


def refresh_folders(folders: Sequence[Path | str]) -> list[Path]:
    """Build the front matter of each model folder's card again (``refresh_card``), with the
    folder's registered model where there is one; returns the cards rewritten."""
    from zoo.errors import UnknownModelError
    from zoo.plugins import get_registry
    from zoo.safety import atomic_write_text

    written = []
    for folder in map(Path, folders):
        try:
            spec: ModelSpec | None = get_registry().get(folder.name)
        except UnknownModelError:
            spec = None
        readme = folder / "README.md"
        text = refresh_card(readme, spec)
        if text != readme.read_text():
            atomic_write_text(readme, text)
            written.append(readme)
    return written


def main() -> None:
    """``python -m zoo.cards RUN/model MODEL_ID DEST``: release a trained run with a measured card;
    ``python -m zoo.cards refresh FOLDER...``: build the metadata of existing cards again.

    Measures with ``zoo eval`` in-process: FD/KID/precision/recall at 10,000 samples, a
    1,000-sample FD that ``tests/test_cards.py`` reruns, and bits/dim for likelihood models.
    """
    import argparse
    import sys

    import zoo

    if sys.argv[1:2] == ["refresh"]:
        for readme in refresh_folders(sys.argv[2:]):
            print(readme)
        return
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("run_model", help="the run's exported folder (runs/NAME/model)")
    parser.add_argument("model_id", help="the registered id of the release (dcgan-fashion)")
    parser.add_argument("dest", help="release folder (model_cards/ID)")
    parser.add_argument("--notes", help="Markdown file for the card's Notes")
    parser.add_argument("--reference", help="Markdown file for the card's Reference (published numbers)")
    parser.add_argument("--num-samples", type=int, default=10_000)
    args = parser.parse_args()
    notes = Path(args.notes).read_text() if args.notes else ""
    reference = Path(args.reference).read_text() if args.reference else ""
    release(args.run_model, args.model_id, args.dest, notes=notes, reference=reference)  # eval reads these weights
    rows: list[Measurement] = []
    if "translation" in zoo.model_spec(args.model_id).capabilities:  # every test image of both domains
        rows = translation_measurements(args.model_id, min(args.num_samples, 1000), tolerance="±2%")
        release(args.run_model, args.model_id, args.dest, measurements=rows, notes=notes, reference=reference)
        print(Path(args.dest) / "README.md")
        return
    if "generator" not in zoo.model_spec(args.model_id).capabilities:  # an autoencoder: its reconstructions
        rows = eval_measurements(args.model_id, ["recon"], 10_000, tolerance="±1%")  # the whole test split
        release(args.run_model, args.model_id, args.dest, measurements=rows, notes=notes, reference=reference)
        print(Path(args.dest) / "README.md")
        return
    if "likelihood" in zoo.model_spec(args.model_id).capabilities:
        rows += eval_measurements(args.model_id, ["bpd"], args.num_samples, tolerance="±1%")
    rows += eval_measurements(args.model_id, ["fd", "kid", "pr"], args.num_samples)
    capabilities = zoo.model_spec(args.model_id).capabilities
    if "conditional" in capabilities:  # does --label give the class asked for?
        rows += eval_measurements(args.model_id, ["class-acc"], args.num_samples)
    if "truncation" in capabilities:  # the fidelity/diversity trade of the truncation trick
        rows += eval_measurements(args.model_id, ["fd", "pr"], args.num_samples, sample_options={"truncation": 0.7})
    rows += eval_measurements(args.model_id, ["fd"], 1000, tolerance="±1%")
    release(args.run_model, args.model_id, args.dest, measurements=rows, notes=notes, reference=reference)
    print(Path(args.dest) / "README.md")


if __name__ == "__main__":
    main()
