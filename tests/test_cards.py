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
             "density": "density", "coverage": "coverage", "bits/dim": "bpd", "class accuracy": "class_acc",
             "reconstruction L1 per pixel": "recon_l1", "reconstruction MSE per pixel": "recon_mse",
             "reconstruction PSNR": "psnr", "FD of the reconstructions": "recon_fd"}


TRANSLATION_KEYS = {"FD to target": "fd", "target rate": "target", "class kept": "class_kept", "cycle L1": "cycle"}


def measured(out: dict, name: str) -> float:
    """The figure of ``zoo eval --json`` that a card row reports: a generator's ``FD (1,000
    samples)`` is ``out["fd"]``; a translator's ``a2b target rate (1,000 test images), source only``
    is ``out["source_only"]["a2b.target"]``."""
    label = name.split(" (")[0]
    direction, _, rest = label.partition(" ")
    if direction in ("a2b", "b2a"):
        key = f"{direction}.{TRANSLATION_KEYS[rest]}"
        return out["source_only"][key] if name.endswith(", source only") else out[key]
    return out[JSON_KEYS[label]]


def card_rows():
    rows = []
    for card in sorted(bundled_root().glob("*/README.md")):
        for m in ROW.finditer(card.read_text()):
            rows.append((card.parent.name, m["name"], float(m["value"]), float(m["tol"]), m["cmd"]))
    return rows


def small_commands():
    """The cheap commands of each card (1,000 samples, bits/dim or reconstructions, or 10 sampler steps),
    each with its rows."""
    chosen: dict[str, list] = {}
    for model_id, name, value, tol, cmd in card_rows():
        # bits/dim of the whole test split when it is quick (a VAE); a slow exact likelihood gives a subset
        whole_split = ("--metrics bpd " in cmd or "--metrics recon " in cmd) and "--num-samples" not in cmd
        cheap = "--num-samples 1000 " in cmd + " " or whole_split or "--steps 10 " in cmd + " "
        if cheap and "floor" not in name:
            chosen.setdefault(cmd, []).append((model_id, name, value, tol))
    return sorted(chosen.items())


def test_every_evaluation_row_names_its_command():
    assert card_rows(), "bundled cards carry evaluation rows"
    for model_id, _, _, _, cmd in card_rows():
        assert cmd.startswith(f"zoo eval {model_id} ")


@pytest.mark.realdata
@pytest.mark.cards
@pytest.mark.parametrize(("cmd", "rows"), small_commands())
def test_small_case_reproduces(cmd, rows, fashion_reference):
    import json

    result = CliRunner().invoke(cli, shlex.split(cmd)[1:] + ["--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    for model_id, name, value, tol in rows:
        assert measured(out, name) == pytest.approx(value, rel=tol / 100, abs=1e-6), f"{model_id}: {name}"


def card_table(text: str) -> list[tuple[str, float]]:
    return [(m["name"], float(m["value"])) for m in ROW.finditer(text)
            if "floor" not in m["name"] and "source only" not in m["name"]]


@pytest.mark.parametrize("folder", sorted(p.parent.name for p in bundled_root().glob("*/README.md")))
def test_card_metadata_is_huggingface_hubs_and_carries_the_tables_numbers(folder):
    from huggingface_hub import ModelCard

    from zoo.cards import check_card, refresh_card
    from zoo.errors import UnknownModelError
    from zoo.plugins import get_registry

    readme = bundled_root() / folder / "README.md"
    data = check_card(readme)
    assert data.library_name == "zoo" and data.license == "apache-2.0"
    try:
        spec = get_registry().get(folder)
    except UnknownModelError:  # the evaluation classifier
        spec = None
        assert data.pipeline_tag == "image-classification"
    else:
        from zoo.cards import pipeline_tag

        translator = "translation" in spec.capabilities
        expected = "image-to-image" if translator else "unconditional-image-generation" \
            if "generator" in spec.capabilities else "image-feature-extraction"
        assert data.pipeline_tag == expected == pipeline_tag(spec)
        assert data.datasets and (translator or data.datasets == ["zalando-datasets/fashion_mnist"])
        indexed = [(r.metric_name, r.metric_value) for r in ModelCard(readme.read_text()).data.eval_results]
        assert indexed == card_table(readme.read_text()) and indexed  # the same numbers, none left out
    # the committed card is what the code makes of it: regenerating changes nothing
    assert refresh_card(readme, spec) == readme.read_text()


def test_a_translator_is_image_to_image_and_a_generator_unconditional_generation():
    import zoo
    from zoo.cards import Measurement, card_data

    assert card_data(zoo.model_spec("cyclegan")).pipeline_tag == "image-to-image"
    data = card_data(zoo.model_spec("dcgan-fashion"), [Measurement("FD (1,000 samples)", 1.5, "zoo eval x"),
                                                       Measurement("FD (1,000 samples), real test vs train floor",
                                                                   0.1, "zoo eval x")])
    assert data.pipeline_tag == "unconditional-image-generation"
    [result] = data.eval_results  # the floor is not the model's number
    assert (result.metric_type, result.metric_value, result.dataset_type) == ("fd", 1.5,
                                                                             "zalando-datasets/fashion_mnist")
    assert result.metric_args == {"command": "zoo eval x"}
    # an autoencoder that does not generate maps images to latents; its reconstruction rows are its numbers
    data = card_data(zoo.model_spec("autoencoder-kl"), [Measurement("FD of the reconstructions (test split)", 0.1,
                                                                    "zoo eval x")])
    assert data.pipeline_tag == "image-feature-extraction" and "image-generation" not in data.tags


@pytest.mark.parametrize(("front", "message"), [
    ("library_name: diffusers\nlicense: mit\npipeline_tag: image-to-image", "library_name is 'diffusers'"),
    ("library_name: zoo\npipeline_tag: image-to-image", "no license"),
    ("library_name: zoo\nlicense: mit\npipeline_tag: text-generation", "pipeline_tag 'text-generation'"),
    ("library_name: zoo\nlicense: [unclosed", "is not valid"),
])
def test_invalid_card_metadata_is_one_clear_error(tmp_path, front, message):
    from zoo.cards import check_card
    from zoo.errors import WeightsError

    (tmp_path / "README.md").write_text(f"---\n{front}\n---\n\n# a card\n")
    with pytest.raises(WeightsError, match=re.escape(message)) as err:
        check_card(tmp_path / "README.md")
    assert "\n" not in str(err.value)
    with pytest.raises(WeightsError, match="is missing"):
        check_card(tmp_path / "nothing" / "README.md")
