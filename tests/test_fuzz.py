"""Fuzzing the model-folder reader (``config.json`` and the safetensors header) with hypothesis: whatever
the bytes, ``zoo.load_folder`` gives a model or a ``zoo`` error, never another exception. Bounded in
examples (and the parameter limit lowered), so it runs in seconds."""

from __future__ import annotations

import json
import struct

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors.torch import save

import zoo
from zoo.weights import save_model_folder

FUZZ = settings(max_examples=120, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@pytest.fixture(scope="module")
def good_folder(tmp_path_factory):
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("good") / "ae"
    save_model_folder(zoo.create("vae", **zoo.model_spec("vae").test_config), folder)
    return folder


@pytest.fixture
def reader(tmp_path, good_folder, monkeypatch):
    """Writes a model folder from the given bytes and reads it; returns what happened."""
    import zoo.safety

    monkeypatch.setattr(zoo.safety, "MAX_PARAMETERS", 5_000_000)  # fuzzed sizes fail fast, not after allocating
    good = {name: (good_folder / name).read_bytes() for name in ("config.json", "model.safetensors")}

    def read(config: bytes | None = None, weights: bytes | None = None) -> object:
        folder = tmp_path / "m"
        folder.mkdir(exist_ok=True)
        (folder / "config.json").write_bytes(good["config.json"] if config is None else config)
        (folder / "model.safetensors").write_bytes(good["model.safetensors"] if weights is None else weights)
        try:
            return zoo.load_folder(folder)
        except zoo.ZooError as err:
            assert str(err) and "\n" not in str(err).strip()  # one line
            return err

    read.good = good  # type: ignore[attr-defined]
    return read


@FUZZ
@given(data=st.binary(max_size=200))
def test_any_config_bytes(reader, data):
    reader(config=data)


@FUZZ
@given(value=json_values)
def test_any_config_json(reader, value):
    reader(config=json.dumps(value).encode())


@FUZZ
@given(key=st.sampled_from(["architecture", "z_dim", "base_channels", "hidden_dim", "image_size", "in_channels",
                            "zoo_version", "extra"]), value=json_values)
def test_any_value_in_a_valid_config(reader, key, value):
    config = json.loads(reader.good["config.json"])
    config[key] = value
    reader(config=json.dumps(config).encode())


@FUZZ
@given(data=st.binary(max_size=300))
def test_any_weights_bytes(reader, data):
    reader(weights=data)


def _entry():
    return st.fixed_dictionaries({
        "dtype": st.sampled_from(["F32", "F16", "BF16", "I64", "U8", "BOOL", "F64", "X9"]) | json_values,
        "shape": st.lists(st.integers(-2, 2**40), max_size=4) | json_values,
        "data_offsets": st.lists(st.integers(-8, 2**40), min_size=2, max_size=2) | json_values,
    })


@FUZZ
@given(header=st.dictionaries(st.text(max_size=20), _entry() | json_values, max_size=4),
       length_delta=st.integers(-16, 16), body=st.binary(max_size=64))
def test_any_safetensors_header(reader, header, length_delta, body):
    raw = json.dumps(header).encode()
    reader(weights=struct.pack("<Q", max(len(raw) + length_delta, 0)) + raw + body)


@FUZZ
@given(flips=st.lists(st.tuples(st.integers(0, 2000), st.integers(0, 255)), min_size=1, max_size=6))
def test_a_valid_weights_file_with_bytes_changed(reader, flips):
    data = bytearray(reader.good["model.safetensors"])
    for where, byte in flips:
        data[where % len(data)] = byte
    reader(weights=bytes(data))


@FUZZ
@given(names=st.lists(st.sampled_from(["encoder.0.weight", "decoder.0.bias", "nope", ""]), max_size=3),
       dtype=st.sampled_from([torch.float32, torch.float16, torch.int32, torch.bool, torch.uint8]),
       shape=st.lists(st.integers(0, 3), max_size=3))
def test_well_formed_files_with_the_wrong_tensors(reader, names, dtype, shape):
    state = {name: torch.zeros(shape, dtype=dtype) for name in names}
    reader(weights=save(state))
