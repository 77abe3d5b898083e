"""Translation as a role of its own: the CycleGAN plugin, `zoo translate`, two-domain training data,
data sets found by name (`zoo datasets`, the register_datasets hook), `zoo eval` for translators,
and each kind of bad input."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import torch

import zoo
from zoo import hookimpl
from zoo.interfaces import Translator
from zoo.registry import DatasetSpec
from zoo.weights import save_model_folder

from .conftest import one_line_error, run, tiny


@pytest.fixture
def translator(tmp_path, tiny_fashion):
    """A tiny untrained CycleGAN whose domains are the tiny IDX folder, saved as a model folder."""
    model = tiny("cyclegan", domains=["x", "y"], domain_data=[str(tiny_fashion), str(tiny_fashion)])
    folder = tmp_path / "cg"
    save_model_folder(model, folder)
    return folder


def png(path, size=(40, 30), mode="RGB"):
    from PIL import Image

    Image.fromarray(np.random.default_rng(0).integers(0, 255, (*size[::-1], 3), np.uint8)).convert(mode).save(path)
    return path


# --------------------------------------------------------------------------- the role


def test_a_translator_is_not_a_generator_and_says_so(translator, tmp_path):
    model = zoo.load(str(translator))
    assert isinstance(model, Translator) and not hasattr(model, "sample")
    assert model.domains == ("x", "y")
    one_line_error(run("sample", str(translator), "-o", str(tmp_path / "s.png")),
                   "does not generate from noise", "it is a translator", f"zoo translate {translator}")
    one_line_error(run("translate", "dcgan-fashion", "--from-data", "test", "-o", str(tmp_path / "t.png")),
                   "'dcgan-fashion' does not translate", "zoo sample dcgan-fashion")
    one_line_error(run("eval", str(translator), "--metrics", "kid"), "kid is not one for translators")


def test_directions_and_domains_by_name(translator):
    model = zoo.load(str(translator))
    x = torch.rand(2, 1, 28, 28)
    assert torch.equal(model.translate(x, "x2y"), model.translate(x, "a2b"))
    assert torch.equal(model.translate(x, to="x"), model.translate(x, "b2a"))
    with pytest.raises(zoo.BadInputError, match="unknown domain 'z'; this model translates between 'x' .A. and 'y'"):
        model.translate(x, to="z")
    with pytest.raises(zoo.BadInputError, match="must be a tensor"):
        model.translate([[0.5]])
    with pytest.raises(zoo.BadInputError, match="the batch is empty"):
        model.translate(torch.rand(0, 1, 28, 28))


# --------------------------------------------------------------------------- zoo translate


def test_translate_files_into_a_grid_and_a_folder(translator, tmp_path):
    from PIL import Image

    inputs = [str(png(tmp_path / f"in{i}.png")) for i in range(3)]  # 40×30 colour: converted and resized
    result = run("translate", str(translator), *inputs, "-o", str(tmp_path / "grid.png"), "--to", "x")
    assert result.exit_code == 0, result.output
    assert "3 y → x" in result.output
    grid = Image.open(tmp_path / "grid.png")
    assert grid.size == (3 * 30 + 2, 2 * 30 + 2)  # a row of inputs, their translations below
    result = run("translate", str(translator), *inputs, "--out-dir", str(tmp_path / "out"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["00000.png", "00001.png", "00002.png"]
    assert Image.open(tmp_path / "out" / "00000.png").size == (28, 28)
    one_line_error(run("translate", str(translator), *inputs, "--out-dir", str(tmp_path / "out")), "already exists")


def test_translate_from_the_models_own_data(translator, tmp_path):
    args = ("translate", str(translator), "--from-data", "test", "-n", "5", "--seed", "1", "-o")
    a, b = run(*args, str(tmp_path / "a.png")), run(*args, str(tmp_path / "b.png"))
    assert a.exit_code == 0 and b.exit_code == 0, a.output
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    one_line_error(run("translate", str(translator), "--from-data", "test", "-n", "500", "-o", str(tmp_path / "c.png")),
                   "test split of domain 'x' has 32 images, fewer than the 500 asked for")


@pytest.mark.parametrize("args, fragments", [
    (["--from-data", "test", "--direction", "up"], ["unknown direction 'up'", "a2b (x → y)"]),
    (["--from-data", "test", "--to", "z"], ["unknown domain 'z'", "'x' (A) and 'y' (B)"]),
    ([], ["give image files to translate, or --from-data"]),
    (["--from-data", "test", "--direction", "a2b", "--to", "y"], ["a direction or a target domain, not both"]),
    (["missing.png"], ["image missing.png does not exist"]),
    (["--from-data", "test", "--nrow", "0"], ["--nrow must be a positive integer"]),
])
def test_bad_translate_input_is_one_line(translator, tmp_path, args, fragments):
    one_line_error(run("translate", str(translator), *args, "-o", str(tmp_path / "g.png")), *fragments)


# --------------------------------------------------------------------------- data sources and training


@pytest.mark.slow
def test_training_reads_two_unpaired_domains(tiny_fashion, tmp_path):
    out = tmp_path / "run"
    result = run("train", "cyclegan", "--data", f"b={tiny_fashion}", "--data", f"a={tiny_fashion}", "--out", str(out),
                 "--max-steps", "2", "--batch-size", "8", *sum((["--config", f"{k}={v}"] for k, v in
                                                                zoo.model_spec("cyclegan").test_config.items()), []))
    assert result.exit_code == 0, result.output
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["domains"] == ["fashion-a", "fashion-b"]  # both named after the folder: told apart
    assert config["domain_data"] == [str(tiny_fashion)] * 2
    info = json.loads((out / "model" / "training.json").read_text())
    assert info["data"] == {"a": str(tiny_fashion), "b": str(tiny_fashion)}
    assert set(info["eval"]) == {"cycle_l1_a2b", "cycle_l1_b2a"}
    assert "--data b=" in info["commands"][0]


def test_the_unpaired_dataset_draws_from_every_domain():
    from zoo.training import UnpairedDataset

    a = (torch.arange(10.0)[:, None], torch.zeros(10, dtype=torch.long))
    b = (100 + torch.arange(3.0)[:, None], torch.ones(3, dtype=torch.long))
    data = UnpairedDataset({"a": a, "b": b}, seed=0)
    assert len(data) == 10
    items = [data[i] for i in range(10)]
    assert [int(x["a"]) for x, _ in items] == list(range(10))
    assert {int(x["b"]) for x, _ in items} == {100, 101, 102}  # the small domain cycles, shuffled once


@pytest.mark.parametrize("data, fragments", [
    (["fashion-mnist"], ["reads 2 data sources (a, b), got 1", "--data A --data B"]),
    (["digits", "{fashion}"], ["different image shapes: digits 1×8×8", "fashion 1×28×28", "--data digits@28"]),
    (["{empty}", "{fashion}"], ["no .png or .jpg images under"]),
    (["{three}", "{fashion}"], ["holds 3 training images, fewer than one batch of 16"]),
    (["a={fashion}", "a={fashion}"], ["data source 'a' is given twice"]),
    (["fashion-mnist:shoe", "{fashion}"], ["no class 'shoe'", "sneaker, bag, ankle-boot"]),
])
def test_bad_training_data_is_one_line(data, fragments, tiny_fashion, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_DATA", str(tiny_fashion))
    (tmp_path / "empty").mkdir()
    (tmp_path / "three").mkdir()
    for i in range(3):
        png(tmp_path / "three" / f"{i}.png")
    paths = {"fashion": str(tiny_fashion), "empty": str(tmp_path / "empty"), "three": str(tmp_path / "three")}
    args = sum((["--data", d.format(**paths)] for d in data), [])
    result = run("train", "cyclegan", *args, "--out", str(tmp_path / "run"), "--batch-size", "16")
    one_line_error(result, *fragments)
    assert not (tmp_path / "run" / "checkpoint").exists()


def test_data_sets_are_registered_by_name_and_a_plugin_adds_one(register_plugin, monkeypatch):
    import sys

    from zoo.data import load_source

    def load_toy(split):
        images = torch.linspace(0, 1, 12).reshape(12, 1, 1, 1).expand(12, 1, 4, 4).contiguous()
        return images, torch.arange(12) % 2

    module = types.ModuleType("zoo_toy_data")
    module.load_toy = load_toy
    monkeypatch.setitem(sys.modules, "zoo_toy_data", module)

    @hookimpl
    def register_datasets(register):
        register(DatasetSpec(id="toy", loader="zoo_toy_data:load_toy", image_shape=(1, 4, 4), classes=("even", "odd"),
                             description="twelve grey squares"))

    register_plugin(types.SimpleNamespace(register_datasets=register_datasets), "toydata")
    odd = load_source("toy:odd@8")
    assert odd.name == "odd" and odd.images.shape == (6, 1, 8, 8) and (odd.labels == 1).all()
    rows = json.loads(run("datasets", "--json").output)
    assert {r["id"]: r["plugin"] for r in rows}["toy"] == "toydata"
    assert {"fashion-mnist", "mnist", "digits"} <= {r["id"] for r in rows}
    listing = run("datasets").output
    assert "toy" in listing and "fashion-mnist" in listing and "NAME:CLASS" in listing


def test_a_folder_named_like_a_data_set_does_not_shadow_it(tmp_path, monkeypatch):
    from zoo.data import parse_source

    (tmp_path / "mnist").mkdir()
    monkeypatch.chdir(tmp_path)
    assert parse_source("mnist").dataset == "mnist" and parse_source("./mnist").path == "./mnist"
    assert parse_source("data/horses@32").path == "data/horses" and parse_source("data/horses@32").size == 32


# --------------------------------------------------------------------------- evaluation


@pytest.mark.slow
def test_eval_scores_both_directions_against_their_baselines(translator, tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    result = run("eval", str(translator), "--num-samples", "8", "--json")
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    for direction in ("a2b", "b2a"):
        for key in ("fd", "target", "cycle", "class_kept"):
            assert f"{direction}.{key}" in scores
        assert 0 <= scores[f"{direction}.target"] <= 1 and scores[f"{direction}.cycle"] > 0
        assert f"{direction}.class_kept" in scores["source_only"] and f"{direction}.fd" in scores["floor"]
    table = run("eval", str(translator), "--num-samples", "8", "--metrics", "target,cycle").output
    assert "source only" in table and "target rate" in table and "fd (to target)" not in table


@pytest.mark.slow
def test_release_of_a_translator_draws_both_directions_and_measures_them(translator, tmp_path, monkeypatch,
                                                                          register_plugin):
    from zoo.cards import release, translation_measurements
    from zoo.registry import ModelSpec

    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    (translator / "training.json").write_text(json.dumps({"commands": ["zoo train cyclegan --data x --data y"],
                                                          "epochs": 1, "steps": 2, "batch_size": 4}))
    dest = tmp_path / "tiny-cg"

    @hookimpl
    def register_models(register):
        register(ModelSpec(id="tiny-cg", arch="cyclegan", factory="zoo_plugins.cyclegan.model:CycleGAN",
                           family="gan", capabilities=("translation",), weights="bundled", path=str(dest)))

    register_plugin(types.SimpleNamespace(register_models=register_models), "tiny-cg-plugin")
    release(translator, "tiny-cg", dest)
    rows = translation_measurements("tiny-cg", 8)
    release(translator, "tiny-cg", dest, measurements=rows)
    card = (dest / "README.md").read_text()
    assert not (dest / "samples.png").exists()
    for direction in ("a2b", "b2a"):
        assert (dest / f"{direction}.png").read_bytes()[:4] == b"\x89PNG"
        command = f"zoo translate tiny-cg --from-data test -n 32 --seed 0 --direction {direction} -o {direction}.png"
        assert command in card
        for label in ("FD to target", "target rate", "cycle L1"):
            assert f"| {direction} {label} (8 test images) |" in card
        assert f"| {direction} target rate (8 test images), source only |" in card
    assert "`zoo eval tiny-cg --num-samples 8 --seed 0`" in card and "model.translate(x" in card
    assert "zoo sample" not in card
