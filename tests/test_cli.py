"""The `zoo` command, through click's CliRunner, and each kind of bad input."""

from __future__ import annotations

import json
import os
import types

import pytest
import torch
from click.testing import CliRunner

import zoo
from zoo import ModelSpec, hookimpl
from zoo.weights import save_model_folder

from .conftest import one_line_error, run

runner = CliRunner()


@pytest.fixture
def tiny_vae(tmp_path, register_plugin):
    """A pretrained-looking tiny VAE, registered by a throwaway plugin as 'tiny-vae'."""
    torch.manual_seed(0)
    folder = tmp_path / "tiny-vae"
    save_model_folder(zoo.create("vae", **zoo.model_spec("vae").test_config), folder, card="# tiny-vae\n")
    plugin = types.SimpleNamespace()

    @hookimpl
    def register_models(register):
        register(ModelSpec(id="tiny-vae", arch="vae", factory="zoo_plugins.vae.model:VAE", family="autoencoder",
                           capabilities=("generator", "encoder", "interpolation"), weights="bundled",
                           path=str(folder), dataset="noise"))

    plugin.register_models = register_models
    register_plugin(plugin, "tiny-vae-plugin")
    return folder


def test_list_table_filters_and_json():
    result = run("list")
    assert result.exit_code == 0
    assert result.output.splitlines()[0].split()[:4] == ["id", "family", "capabilities", "samplers"]
    assert "ddim,ddpm" in next(line for line in result.output.splitlines() if line.startswith("ddpm "))
    assert "dcgan-fashion" in result.output and "vae" in result.output
    gans = run("list", "*gan*").output
    assert "dcgan" in gans and "vae" not in gans
    auto = run("list", "--family", "autoencoder").output
    assert "vae-fashion" in auto and "dcgan" not in auto
    pretrained = [row["id"] for row in json.loads(run("list", "--pretrained", "--json").output)]
    assert "vae-fashion" in pretrained and "vae" not in pretrained
    one_line_error(run("list", "--family", "transformers"), "unknown family")


def test_info_and_plugins():
    result = run("info", "dcgan-fashion")
    assert result.exit_code == 0 and "architecture:" in result.output and "Radford" in result.output
    plugins = json.loads(run("plugins", "--json").output)
    by_name = {p["name"]: p for p in plugins["plugins"]}
    assert "register_models" in by_name["vae"]["hooks"]
    assert by_name["vae"]["version"]


def test_unknown_id_suggests_close_matches(tmp_path):
    one_line_error(run("sample", "dcgan-fashon", "-o", str(tmp_path / "x.png")), "dcgan-fashion")
    one_line_error(run("info", "vea"), "unknown model 'vea'")


def test_sample_grid_and_out_dir(tiny_vae, tmp_path):
    result = run("sample", "tiny-vae", "-n", "6", "--seed", "0", "-o", str(tmp_path / "g.png"),
                 "--out-dir", str(tmp_path / "each"))
    assert result.exit_code == 0, result.output
    assert (tmp_path / "g.png").stat().st_size > 0
    assert sorted(os.listdir(tmp_path / "each")) == [f"{i:05d}.png" for i in range(6)]


def test_out_dir_streams_batches_and_keeps_the_images_of_sample(tiny_vae, tmp_path, monkeypatch):
    import numpy as np
    from PIL import Image

    import zoo.images

    written: list[int] = []
    real_write = zoo.images.write_images
    monkeypatch.setattr(zoo.images, "write_images", lambda images, paths: (written.append(len(images)),
                                                                            real_write(images, paths)))
    result = run("sample", "tiny-vae", "-n", "7", "--seed", "2", "--batch-size", "3", "--out-dir", str(tmp_path / "e"))
    assert result.exit_code == 0, result.output
    assert written == [3, 3, 1]  # written batch by batch, never all at once
    expected = zoo.load("tiny-vae").sample(7, seed=2, batch_size=3)
    last = np.asarray(Image.open(tmp_path / "e" / "00006.png"), dtype=np.float32) / 255
    assert np.abs(last - expected[6, 0].numpy()).max() <= 1 / 255


def test_sample_bad_counts_and_seeds(tiny_vae, tmp_path):
    out = str(tmp_path / "g.png")
    one_line_error(run("sample", "tiny-vae", "-n", "0", "-o", out), "positive integer")
    one_line_error(run("sample", "tiny-vae", "-n", "-3", "-o", out), "positive integer")
    result = run("sample", "tiny-vae", "--seed", "1.5", "-o", out)
    assert result.exit_code == 2 and "not a valid integer" in result.output and "Traceback" not in result.output
    with pytest.raises(zoo.BadInputError, match="seed"):
        zoo.load("tiny-vae").sample(2, seed=1.5)
    with pytest.raises(zoo.BadInputError, match="positive"):
        zoo.load("tiny-vae").sample(0)


def test_output_paths_are_checked_and_nothing_is_overwritten(tiny_vae, tmp_path):
    one_line_error(run("sample", "tiny-vae", "-o", str(tmp_path / "missing" / "g.png")), "does not exist")
    existing = tmp_path / "mine.png"
    existing.write_bytes(b"precious")
    one_line_error(run("sample", "tiny-vae", "-o", str(existing)), "already exists", "--force")
    assert existing.read_bytes() == b"precious"
    (tmp_path / "each").mkdir()
    (tmp_path / "each" / "00001.png").write_bytes(b"precious")
    one_line_error(run("sample", "tiny-vae", "-n", "3", "--out-dir", str(tmp_path / "each")), "already exists")
    assert sorted(os.listdir(tmp_path / "each")) == ["00001.png"]  # none written, none lost
    assert run("sample", "tiny-vae", "-o", str(existing), "--force").exit_code == 0
    assert existing.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder(tiny_vae, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    one_line_error(run("sample", "tiny-vae", "-o", str(locked / "g.png")), "not writable")


def test_unwritable_output_folder_as_root(tiny_vae, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    monkeypatch.setattr(os, "access", lambda path, mode: str(path) != str(locked))
    one_line_error(run("sample", "tiny-vae", "-o", str(locked / "g.png")), "not writable")


def test_damaged_and_pickled_weights(tiny_vae, tmp_path):
    out = str(tmp_path / "g.png")
    weights = tiny_vae / "model.safetensors"
    good = weights.read_bytes()
    weights.write_bytes(good[: len(good) // 2])
    one_line_error(run("sample", "tiny-vae", "-o", out), "truncated or corrupted")
    weights.write_bytes(b"\x00" * 8 + good[8:])
    one_line_error(run("sample", "tiny-vae", "-o", out), "truncated or corrupted")
    torch.save({"w": torch.zeros(2)}, weights)  # a pickle under the safetensors name
    one_line_error(run("sample", "tiny-vae", "-o", out), "pickle")
    weights.write_bytes(good)
    (tiny_vae / "model.safetensors").unlink()
    torch.save({"w": torch.zeros(2)}, tiny_vae / "pytorch_model.bin")
    one_line_error(run("sample", "tiny-vae", "-o", out), "pickle", "pytorch_model.bin")
    pickle_file = tmp_path / "model.pt"
    torch.save({"w": torch.zeros(2)}, pickle_file)
    with pytest.raises(zoo.WeightsError, match="pickle"):
        from zoo.weights import load_state_dict

        load_state_dict(pickle_file)


def test_devices(tiny_vae, tmp_path):
    out = str(tmp_path / "g.png")
    one_line_error(run("sample", "tiny-vae", "--device", "tpu9", "-o", out), "unknown device")
    if not torch.cuda.is_available():
        one_line_error(run("sample", "tiny-vae", "--device", "cuda", "-o", out), "no CUDA GPU")
    assert not (tmp_path / "g.png").exists()


def test_reconstruct_and_interpolate(tiny_vae, tmp_path):
    from zoo.images import save_grid

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    images = zoo.load("tiny-vae").sample(2, seed=0)
    save_grid(images[:1], a)
    save_grid(images[1:], b)
    assert run("reconstruct", "tiny-vae", str(a), str(b), "-o", str(tmp_path / "r.png")).exit_code == 0
    assert run("interpolate", "tiny-vae", "--seeds", "0", "1", "--steps", "5",
               "-o", str(tmp_path / "i.png")).exit_code == 0
    assert run("interpolate", "tiny-vae", "--images", str(a), str(b),
               "-o", str(tmp_path / "j.png")).exit_code == 0
    one_line_error(run("reconstruct", "tiny-vae", str(tmp_path / "nope.png"), "-o", str(tmp_path / "s.png")),
                   "does not exist")
    one_line_error(run("interpolate", "tiny-vae", "-o", str(tmp_path / "k.png")), "exactly one")


def test_reconstruct_images_drawn_from_data(tiny_vae, tiny_fashion, tmp_path, monkeypatch):
    """--from-data draws the same test images for the same seed; the grid is inputs over reconstructions."""
    from PIL import Image

    monkeypatch.setenv("ZOO_DATA", str(tiny_fashion))
    args = ("reconstruct", "tiny-vae", "--from-data", "test", "-n", "5", "--seed", "1", "-o")
    a, b = run(*args, str(tmp_path / "a.png")), run(*args, str(tmp_path / "b.png"))
    assert a.exit_code == 0 and b.exit_code == 0, a.output
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert Image.open(tmp_path / "a.png").size[1] > Image.open(tmp_path / "a.png").size[0] / 5 * 1.5  # two rows
    one_line_error(run("reconstruct", "tiny-vae", "--from-data", "test", "-n", "500", "-o", str(tmp_path / "c.png")),
                   "the test split of fashion-mnist has 32 images, fewer than the 500 asked for")
    one_line_error(run("reconstruct", "tiny-vae", "-o", str(tmp_path / "d.png")), "or --from-data")
    one_line_error(run("reconstruct", "tiny-vae", str(tmp_path / "a.png"), "--from-data", "test",
                       "-o", str(tmp_path / "d.png")), "not both")
    assert not (tmp_path / "c.png").exists() and not (tmp_path / "d.png").exists()


def test_train_resume_and_missing_data(tiny_fashion, tmp_path, monkeypatch):
    out = tmp_path / "run"
    cfg = ["--config", "z_dim=4", "--config", "base_channels=4", "--config", "hidden_dim=16"]
    result = run("train", "vae", "--data", str(tiny_fashion), "--out", str(out), "--epochs", "1",
                 "--batch-size", "16", "--ema-decay", "0", *cfg)
    assert result.exit_code == 0, result.output
    assert (out / "model" / "model.safetensors").is_file() and list((out / "samples").glob("*.png"))
    # a second run into the same folder is refused; --resume continues it
    one_line_error(run("train", "vae", "--data", str(tiny_fashion), "--out", str(out), *cfg), "--resume")
    result = run("train", "vae", "--data", str(tiny_fashion), "--out", str(out), "--epochs", "2",
                 "--batch-size", "16", "--resume", *cfg)
    assert result.exit_code == 0, result.output
    state = json.loads((out / "checkpoint" / "state.json").read_text())
    assert state["epoch"] == 2 and state["step"] == 8
    commands = json.loads((out / "model" / "training.json").read_text())["commands"]
    assert commands[0] == (f"zoo train vae --data {tiny_fashion} --out {out} --epochs 1 --batch-size 16 "
                           "--ema-decay 0.0 --config z_dim=4 --config base_channels=4 --config hidden_dim=16")
    assert commands[1].endswith("--resume") and "--epochs 2" in commands[1]
    one_line_error(run("train", "vae", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "r2")),
                   "nowhere does not exist")
    one_line_error(run("train", "vae", "--data", "fashon-mnist", "--out", str(tmp_path / "r2")),
                   "unknown data set 'fashon-mnist'", "Did you mean: fashion-mnist")
    monkeypatch.setattr("zoo.data.FASHION_MNIST_DIR", tmp_path / "absent")
    monkeypatch.delenv("ZOO_DATA", raising=False)
    one_line_error(run("train", "vae", "--out", str(tmp_path / "r3")), "apt-get install dataset-fashion-mnist")


def test_a_model_without_weights(tmp_path):
    one_line_error(run("sample", "vae", "-o", str(tmp_path / "g.png")), "without weights", "zoo.create")


def test_a_safetensors_header_length_that_looks_like_a_pickle_opcode_loads(tmp_path):
    """The first byte of a safetensors file is the low byte of its header length; 0x80 must
    not be mistaken for pickle's PROTO opcode."""
    from safetensors.torch import save

    from zoo.weights import load_state_dict

    for pad in range(300):
        data = save({"w" + "x" * pad: torch.zeros(2)})
        if data[0] == 0x80:
            break
    path = tmp_path / "model.safetensors"
    path.write_bytes(data)
    assert list(load_state_dict(path)) == ["w" + "x" * pad]
