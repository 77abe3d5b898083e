"""Faults and hostile input: a full or read-only disk, weights and config values that do not fit,
text that would drive the terminal, images and grids too large to hold, a folder that looks like an
id, and an Inception weights file swapped under the zoo's feet. Each gives one line, leaves no
temporary file, and keeps what was there (the README's reliability table lists them)."""

from __future__ import annotations

import ast
import errno
import json
import os
import struct
import tempfile
import types
import zlib
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import zoo
from zoo import ModelSpec, hookimpl
from zoo.cli import cli
from zoo.safety import atomic_write, escape_control
from zoo.weights import save_model_folder

from .conftest import one_line_error, run

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_vae(tmp_path, register_plugin):
    """A pretrained-looking tiny VAE, registered by a throwaway plugin as 'tiny-vae'."""
    torch.manual_seed(0)
    folder = tmp_path / "tiny-vae"
    save_model_folder(zoo.create("vae", **zoo.model_spec("vae").test_config), folder, card="# tiny-vae\n")

    @hookimpl
    def register_models(register):
        register(ModelSpec(id="tiny-vae", arch="vae", factory="zoo_plugins.vae.model:VAE", family="autoencoder",
                           capabilities=("generator", "encoder", "interpolation"), weights="bundled",
                           path=str(folder)))

    register_plugin(types.SimpleNamespace(register_models=register_models), "tiny-vae-plugin")
    return folder


# --------------------------------------------------------------------------- a full or read-only disk


class _FullFile:
    """A file on a disk with ``room`` bytes left: the write that goes past it fails with ENOSPC."""

    def __init__(self, f, room: int) -> None:
        self._f, self._room = f, room

    def write(self, data) -> int:
        data = bytes(data)
        taken = data[: self._room]
        self._f.write(taken)
        self._room -= len(taken)
        if len(taken) < len(data):
            raise OSError(errno.ENOSPC, "No space left on device")
        return len(data)

    def __getattr__(self, name):
        return getattr(self._f, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self._f.close()


@pytest.fixture
def disk_full(monkeypatch):
    """Every file opened from now on can take 10 bytes (a temporary file is left half-written)."""
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FullFile(real(fd, *a, **k), 10))


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp" in p.name)


def test_disk_full_writing_a_grid_keeps_the_previous_one(tiny_vae, tmp_path, monkeypatch):
    grid = tmp_path / "grid.png"
    grid.write_bytes(b"previous grid")
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FullFile(real(fd, *a, **k), 10))
    one_line_error(run("sample", "tiny-vae", "-n", "4", "-o", str(grid), "--force"), "disk full", str(grid),
                   "previous grid.png is intact")
    assert grid.read_bytes() == b"previous grid" and leftovers(tmp_path) == []


def test_disk_full_writing_images_to_a_folder(tiny_vae, tmp_path, disk_full):
    one_line_error(run("sample", "tiny-vae", "-n", "3", "--out-dir", str(tmp_path / "each")), "disk full")
    assert os.listdir(tmp_path / "each") == []  # no partial PNG, no temporary file


def test_disk_full_writing_a_model_folder(tmp_path, monkeypatch):
    model = zoo.create("vae", **zoo.model_spec("vae").test_config)
    folder = save_model_folder(model, tmp_path / "m")
    before = (folder / "model.safetensors").read_bytes()
    real = os.fdopen
    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **k: _FullFile(real(fd, *a, **k), 10))
    with pytest.raises(zoo.OutputError, match="disk full"):
        save_model_folder(model, folder)
    assert (folder / "model.safetensors").read_bytes() == before and leftovers(folder) == []


@pytest.mark.parametrize(("where", "code", "message"), [
    ("mkstemp", errno.EROFS, "read-only"),  # a read-only file system: no temporary file can be made
    ("replace", errno.EPERM, "permission denied"),  # an immutable file (chattr +i): it cannot be replaced
    ("replace", errno.EACCES, "permission denied"),
])
def test_read_only_and_immutable_outputs(tiny_vae, tmp_path, monkeypatch, where, code, message):
    grid = tmp_path / "grid.png"
    grid.write_bytes(b"kept")

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    if where == "mkstemp":
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    else:
        monkeypatch.setattr(os, "replace", refuse)
    one_line_error(run("sample", "tiny-vae", "-n", "2", "-o", str(grid), "--force"), message)
    assert grid.read_bytes() == b"kept" and leftovers(tmp_path) == []


def test_atomic_write_removes_its_temporary_file_on_any_error(tmp_path):
    def explode(f):
        f.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "x.bin", explode)
    assert os.listdir(tmp_path) == []
    atomic_write(tmp_path / "x.bin", lambda f: f.write(b"whole"))
    assert (tmp_path / "x.bin").read_bytes() == b"whole" and oct((tmp_path / "x.bin").stat().st_mode)[-3:] != "600"


def test_a_full_disk_met_outside_an_atomic_write_is_still_one_line(tiny_vae, tmp_path, monkeypatch):
    import zoo.images

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "g.png"))

    monkeypatch.setattr(zoo.images, "save_grid", full)
    one_line_error(run("sample", "tiny-vae", "-n", "2", "-o", str(tmp_path / "g.png")), "disk full")


# --------------------------------------------------------------------------- the terminal


def test_escape_control_keeps_text_and_escapes_controls():
    assert escape_control("vae-fashion, Fashion-MNIST, ψ ≤ 1, 🙂") == "vae-fashion, Fashion-MNIST, ψ ≤ 1, 🙂"
    assert escape_control("\x1b[2J\x07red\x9b") == "\\x1b[2J\\x07red\\x9b"
    assert escape_control("a\u202eb\u2066") == "a\\u202eb\\u2066"  # bidirectional overrides (Trojan Source)
    assert escape_control("two\nlines\ttab") == "two\\x0alines\\x09tab"
    assert escape_control("two\nlines\ttab", multiline=True) == "two\nlines\ttab"


def test_text_from_a_model_folder_reaches_the_terminal_escaped(tmp_path, register_plugin):
    folder = tmp_path / "evil"
    save_model_folder(zoo.create("vae", **zoo.model_spec("vae").test_config), folder,
                      card="# evil\n\x1b]0;pwned\x07\x1b[31mred\n")

    @hookimpl
    def register_models(register):
        register(ModelSpec(id="evil", arch="vae", factory="zoo_plugins.vae.model:VAE", family="autoencoder",
                           weights="bundled", path=str(folder), description="fine\x1b[2Jcleared",
                           dataset="data\rset"))

    register_plugin(types.SimpleNamespace(register_models=register_models), "evil-plugin\x1b[5m")
    for args in (["info", "evil"], ["list"], ["plugins"]):
        output = run(*args).output
        assert "\x1b" not in output.replace("\x1b[1m", "").replace("\x1b[0m", "") and "\r" not in output, args
    info = run("info", "evil").output
    assert "\\x1b]0;pwned\\x07" in info and "fine\\x1b[2Jcleared" in info and "# evil\n" in info
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "architecture": "vae\x1b[31m"}))
    result = run("sample", "evil", "-o", str(tmp_path / "g.png"))
    one_line_error(result, "vae\\x1b[31m")  # escaped, not the raw character
    assert "\x1b" not in result.output


def test_only_the_main_process_prints(tiny_vae, tmp_path, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    result = CliRunner().invoke(cli, ["sample", "tiny-vae", "-n", "2", "-o", str(tmp_path / "g.png")])
    assert result.exit_code == 0 and result.output == ""
    result = CliRunner().invoke(cli, ["sample", "no-such-model", "-o", str(tmp_path / "h.png")])
    assert result.exit_code == 1 and result.output == ""  # the main process says it
    monkeypatch.setenv("RANK", "0")
    assert "wrote" in run("sample", "tiny-vae", "-n", "2", "-o", str(tmp_path / "g.png"), "--force").output


# --------------------------------------------------------------------------- weights


def test_weights_with_nan_or_infinite_values_are_refused(tiny_vae, tmp_path):
    from safetensors.torch import load_file, save_file

    path = tiny_vae / "model.safetensors"
    state = load_file(str(path))
    names = [k for k, v in state.items() if v.is_floating_point()][:2]
    state[names[0]][0] = float("nan")
    state[names[1]].view(-1)[0] = float("inf")
    save_file(state, str(path))
    one_line_error(run("sample", "tiny-vae", "-o", str(tmp_path / "g.png")), "NaN or infinite", names[0],
                   names[1])


def test_integer_weights_where_floats_belong_are_refused(tiny_vae, tmp_path):
    from safetensors.torch import load_file, save_file

    path = tiny_vae / "model.safetensors"
    state = load_file(str(path))
    name = next(k for k, v in state.items() if v.is_floating_point())
    state[name] = state[name].to(torch.int32)
    save_file(state, str(path))
    one_line_error(run("sample", "tiny-vae", "-o", str(tmp_path / "g.png")), name, "int32", "float32")
    state[name] = state[name].to(torch.float16)  # lower precision is fine: converted on load
    save_file(state, str(path))
    assert run("sample", "tiny-vae", "-o", str(tmp_path / "g.png")).exit_code == 0


def test_nothing_in_the_zoo_unpickles_with_full_pickle():
    """Every torch.load in the zoo and its plugins passes weights_only=True; no pickle.load at all."""
    for path in [*(ROOT / "zoo").rglob("*.py"), *(ROOT / "plugins").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                name = f"{getattr(node.func.value, 'id', '?')}.{node.func.attr}"
                assert name not in ("pickle.load", "pickle.loads"), (path, node.lineno)
                if name == "torch.load":
                    safe = [k for k in node.keywords if k.arg == "weights_only" and getattr(k.value, "value", 0)]
                    assert safe, f"{path}:{node.lineno} calls torch.load without weights_only=True"


# --------------------------------------------------------------------------- Inception FID weights


class _RunsCode:
    """A pickle that, unpickled with full pickle, writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "code ran"))


@pytest.fixture
def fid_env(tmp_path, tiny_vae, monkeypatch):
    """Tiny Fashion-MNIST and a tiny-vae to score."""
    from .conftest import write_idx

    data = tmp_path / "fashion"
    data.mkdir()
    g = torch.Generator().manual_seed(0)
    for prefix, n in (("train", 16), ("t10k", 8)):
        write_idx(data / f"{prefix}-images-idx3-ubyte.gz", torch.randint(0, 256, (n, 28, 28), generator=g).numpy())
        write_idx(data / f"{prefix}-labels-idx1-ubyte.gz", torch.randint(0, 10, (n,), generator=g).numpy())
    monkeypatch.setenv("ZOO_DATA", str(data))
    return tmp_path


def test_an_inception_file_that_would_run_code_is_refused(fid_env):
    marker = fid_env / "marker"
    weights = fid_env / "evil.pth"
    torch.save({"w": _RunsCode(marker)}, weights)
    one_line_error(run("eval", "tiny-vae", "--metrics", "fid", "--inception-weights", str(weights),
                       "--num-samples", "4"), "refusing to unpickle")
    assert not marker.exists()


def test_a_swapped_inception_file_cannot_run_code(fid_env, monkeypatch):
    """The file is read once: swapped for a code-running pickle right after that read (where the old
    check-then-reopen path had its window), the evaluation goes on with what was read, and no code runs."""
    import torch_fidelity.feature_extractor_base as base

    import zoo.metrics.inception as inception

    marker = fid_env / "marker"
    weights = fid_env / "inception.pth"
    torch.save({"w": torch.eye(16)}, weights)

    class TinyExtractor(base.FeatureExtractorBase):
        """Stands in for Inception-v3 (too slow for a fast test): 16 features from the given weights."""

        def __init__(self, state):
            super().__init__("tiny", ["16"])
            self.w = torch.nn.Parameter(state["w"], requires_grad=False)

        @staticmethod
        def get_provided_features_list():
            return ("16",)

        def forward(self, x):
            return ((x.float().mean(1).flatten(1)[:, :16] / 255) @ self.w.T,)

    read = inception.read_inception_weights

    def read_then_swap(path):
        state = read(path)
        torch.save({"w": _RunsCode(marker)}, path)  # the attacker's swap
        return state

    monkeypatch.setattr(inception, "read_inception_weights", read_then_swap)
    monkeypatch.setattr(inception, "inception_extractor", TinyExtractor)
    result = run("eval", "tiny-vae", "--metrics", "fid", "--inception-weights", str(weights), "--num-samples", "4",
                 "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["fid"] >= 0 and not marker.exists()


@pytest.mark.slow
def test_the_inception_network_is_torch_fidelitys(monkeypatch):
    """The network built from given weights has torch-fidelity's layers (its own constructor accepts our
    state dict strictly; torch.load is stubbed, so no file is read) and gives the same features."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf

    from zoo.metrics.inception import inception_extractor, inception_network

    torch.manual_seed(0)
    state = inception_network().state_dict()
    ours = inception_extractor(state)
    monkeypatch.setattr(tf.torch, "load", lambda *a, **k: state)
    theirs = tf.FeatureExtractorInceptionV3("inception-v3-compat", ["2048"], feature_extractor_weights_path="-")
    x = torch.randint(0, 256, (2, 3, 28, 28), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.equal(ours(x)[0], theirs(x)[0])
    with pytest.raises(zoo.BadInputError, match="not torch-fidelity's Inception"):
        inception_extractor({"w": torch.zeros(1)})


# --------------------------------------------------------------------------- config values


@pytest.mark.parametrize(("change", "message"), [
    ({"architecture": 7}, "'architecture' must be the name"),
    ({"architecture": ""}, "'architecture' must be the name"),
    ({"z_dim": -4}, "negative dimension"),
    ({"z_dim": "4"}, "z_dim='4' of architecture 'vae' must be an integer"),
    ({"base_channels": 1e9}, "must be an integer"),
    ({"base_channels": 10**9}, "too large"),
    ({"base_channels": 20_000}, "above the zoo's limit"),
    ({"hidden_dim": None}, "must be an integer"),
    ({"colour": "red"}, "has no config key 'colour' (it takes: z_dim, base_channels"),
])
def test_config_values_of_the_wrong_type_or_range(tiny_vae, tmp_path, change, message):
    config = json.loads((tiny_vae / "config.json").read_text())
    (tiny_vae / "config.json").write_text(json.dumps({**config, **change}))
    one_line_error(run("sample", "tiny-vae", "-o", str(tmp_path / "g.png")), message)


def test_a_huge_config_is_refused_before_anything_is_allocated(monkeypatch):
    import zoo.safety

    monkeypatch.setattr(zoo.safety, "MAX_PARAMETERS", 1000)
    with pytest.raises(zoo.BadInputError, match=r"makes a model of [\d,]+ parameters, above the zoo's limit of 1,000"):
        zoo.create("vae", **zoo.model_spec("vae").test_config)


@pytest.mark.parametrize(("args", "message"), [
    (["--config", "z_dim=-3"], "negative dimension"),
    (["--config", "g_channels=1"], "has no config key 'g_channels'"),
    (["--step-config", "learning_rate=0.1"], "has no --step-config key 'learning_rate' (it takes: lr"),
    (["--step-config", "lr=fast"], "lr='fast' of the training step of 'vae' must be a finite number"),
    (["--seed", "-1"], "seed must be a non-negative integer"),
])
def test_train_options_of_the_wrong_type_or_range(tiny_fashion, tmp_path, args, message):
    out = tmp_path / "run"
    one_line_error(run("train", "vae", "--data", str(tiny_fashion), "--out", str(out), "--batch-size", "16",
                       *args), message)
    assert not (out / "checkpoint").exists()


@pytest.mark.parametrize("nrow", ["0", "-3"])
def test_nrow_must_be_positive(tiny_vae, tmp_path, nrow):
    one_line_error(run("sample", "tiny-vae", "-n", "4", "--nrow", nrow, "-o", str(tmp_path / "g.png")),
                   "--nrow must be a positive integer")
    assert not (tmp_path / "g.png").exists()


def test_eval_with_too_few_samples_for_its_metrics(tiny_vae):
    one_line_error(run("eval", "tiny-vae", "--num-samples", "2"), "--num-samples 2 is too few", "pr needs at least 4")
    one_line_error(run("eval", "tiny-vae", "--num-samples", "5", "--metrics", "dc"), "dc needs at least 6")


# --------------------------------------------------------------------------- big images and grids


def test_a_huge_grid_is_refused_up_front_with_the_way_out(tiny_vae, tmp_path, monkeypatch):
    import zoo.interfaces

    def never(*args, **kwargs):
        raise AssertionError("no image may be drawn")

    monkeypatch.setattr(zoo.interfaces.Generator, "iter_samples", never, raising=False)
    one_line_error(run("sample", "tiny-vae", "-n", "100000000", "-o", str(tmp_path / "x.png")),
                   "a grid of 100,000,000 images", "--out-dir")
    one_line_error(run("interpolate", "tiny-vae", "--seeds", "0", "1", "--steps", "10000000",
                       "-o", str(tmp_path / "y.png")), "--out-dir")


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG that declares width × height pixels: the header of a decompression bomb."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


@pytest.mark.parametrize("side", [10_000, 100_000])  # above the limit: Pillow's warning, then its error
def test_a_decompression_bomb_is_refused_before_decoding(tiny_vae, tmp_path, side):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, side, side)
    one_line_error(run("reconstruct", "tiny-vae", str(bomb), "-o", str(tmp_path / "r.png")),
                   "decompression bomb")
    folder = tmp_path / "photos"
    folder.mkdir()
    _png_header_only(folder / "bomb.png", side, side)
    with pytest.raises(zoo.DataError, match="decompression bomb"):
        from zoo.data import load_image_folder

        load_image_folder(folder)


# --------------------------------------------------------------------------- paths and ids


def test_a_folder_named_like_an_id_does_not_shadow_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    save_model_folder(zoo.create("dcgan", **zoo.model_spec("dcgan").test_config), tmp_path / "vae-fashion")
    assert type(zoo.load("vae-fashion")).__name__ == "VAE"  # the registered model
    assert type(zoo.load("./vae-fashion")).__name__ == "DCGAN"  # the folder, as a path
    (tmp_path / "my-model").mkdir()
    with pytest.raises(zoo.UnknownModelError, match="load it as ./my-model"):
        zoo.load("my-model")
