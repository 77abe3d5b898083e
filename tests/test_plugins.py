"""Plugin discovery: entry points, ZOO_LOAD_PLUGINS, broken plugins, duplicate ids, no torch on listing."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from importlib import metadata

import pytest
from click.testing import CliRunner

import zoo
from zoo import ModelSpec, hookimpl, plugins
from zoo.cli import cli


def spec_plugin(*specs: ModelSpec) -> types.SimpleNamespace:
    @hookimpl
    def register_models(register):
        for spec in specs:
            register(spec)

    return types.SimpleNamespace(register_models=register_models)


def toy_spec(model_id: str, **kw) -> ModelSpec:
    return ModelSpec(id=model_id, factory="zoo_plugins.vae.model:VAE", family="autoencoder", **kw)


def test_first_party_plugins_come_through_the_entry_point_group():
    names = {ep.name: ep.value for ep in metadata.entry_points(group="zoo")}
    assert names["vae"] == "zoo_plugins.vae" and names["dcgan"] == "zoo_plugins.dcgan"
    assert zoo.model_spec("vae").plugin == "vae"


def test_throwaway_plugin_registers_and_unregisters(register_plugin):
    register_plugin(spec_plugin(toy_spec("toy-ae", aliases=("toy",))), "toy")
    assert "toy-ae" in zoo.list_models()
    assert zoo.model_spec("toy").id == "toy-ae"
    assert zoo.model_spec("toy-ae").plugin == "toy"
    plugins.unregister_plugin("toy")
    assert "toy-ae" not in zoo.list_models()


def test_duplicate_id_names_both_plugins(register_plugin):
    register_plugin(spec_plugin(toy_spec("vae-fashion")), "impostor")
    with pytest.raises(zoo.DuplicateModelError) as err:
        zoo.list_models()
    assert "'vae'" in str(err.value) and "'impostor'" in str(err.value)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 1 and "claimed by two plugins" in result.output and "Traceback" not in result.output


def test_a_plugin_that_raises_on_registration_is_skipped(register_plugin):
    @hookimpl
    def register_models(register):
        register(toy_spec("half-registered"))
        raise RuntimeError("boom")

    register_plugin(types.SimpleNamespace(register_models=register_models), "broken")
    ids = zoo.list_models()
    assert "vae-fashion" in ids and "half-registered" not in ids
    assert any(f.name == "broken" and "boom" in f.error for f in plugins.failures)
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0 and "plugin 'broken' skipped" in result.output


def test_a_plugin_that_fails_to_import_is_skipped(monkeypatch):
    real = metadata.entry_points

    def with_broken(group=None, **kw):
        eps = list(real(group=group, **kw))
        if group == "zoo":
            eps.append(metadata.EntryPoint("ghost", "zoo_no_such_module_anywhere", "zoo"))
        return eps

    monkeypatch.setattr(metadata, "entry_points", with_broken)
    plugins.reset()
    try:
        assert "vae-fashion" in zoo.list_models()
        assert [f.stage for f in plugins.failures if f.name == "ghost"] == ["import"]
        result = CliRunner().invoke(cli, ["plugins"])
        assert "ghost" in result.output and "FAILED (import)" in result.output
    finally:
        monkeypatch.undo()
        plugins.reset()


def test_zoo_load_plugins_restricts(monkeypatch):
    try:
        monkeypatch.setenv("ZOO_LOAD_PLUGINS", "")
        plugins.reset()
        assert zoo.list_models() == []
        monkeypatch.setenv("ZOO_LOAD_PLUGINS", "dcgan")
        plugins.reset()
        assert set(zoo.list_models()) == {"dcgan", "dcgan-fashion"}
    finally:
        monkeypatch.delenv("ZOO_LOAD_PLUGINS")
        plugins.reset()
    assert "vae" in zoo.list_models()


def test_bad_spec_is_a_plugin_error():
    with pytest.raises(zoo.PluginError, match="family"):
        ModelSpec(id="x", factory="a.b:C", family="transformer")


@pytest.mark.parametrize("command", [["list"], ["info", "vae-fashion"], ["plugins"], ["list", "--json"], ["datasets"]])
def test_listing_does_not_import_torch(command):
    code = (
        "import sys; from zoo.cli import cli\n"
        f"try: cli({command!r}, prog_name='zoo')\n"
        "except SystemExit: pass\n"
        "heavy = [m for m in ('torch', 'numpy', 'huggingface_hub', 'safetensors') if m in sys.modules]\n"
        "print('HEAVY', heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "HEAVY []"


def test_list_json_is_machine_readable():
    rows = json.loads(CliRunner().invoke(cli, ["list", "--json"]).output)
    row = next(r for r in rows if r["id"] == "dcgan-fashion")
    assert row["family"] == "gan" and row["image_shape"] == [1, 28, 28] and row["plugin"] == "dcgan"


def test_a_plugin_adds_a_command_and_a_broken_one_is_skipped(register_plugin):
    import click

    @hookimpl
    def register_commands(cli):
        @cli.command()
        def hello():
            """Say hello."""
            click.echo("hello from a plugin")

    @hookimpl(specname="register_commands")
    def broken(cli):
        raise RuntimeError("no commands today")

    register_plugin(types.SimpleNamespace(register_commands=register_commands), "greeter")
    register_plugin(types.SimpleNamespace(broken=broken), "grumpy")
    try:
        plugins.call_each("register_commands", cli=cli)
        assert CliRunner().invoke(cli, ["hello"]).output == "hello from a plugin\n"
        assert any(f.name == "grumpy" and f.stage == "register_commands" for f in plugins.failures)
    finally:
        cli.commands.pop("hello", None)
