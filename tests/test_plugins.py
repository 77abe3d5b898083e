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


def test_two_plugins_claiming_one_id_withdraw_only_that_id(register_plugin):
    """Both claimants are named with where they come from and how to resolve it; the rest of the zoo
    (`zoo list` included) works, and only the contested id refuses to load."""
    register_plugin(spec_plugin(toy_spec("vae-fashion"), toy_spec("impostor-ae", aliases=("dcgan-fashion",))),
                    "impostor")
    ids = zoo.list_models()
    assert "vae-fashion" not in ids and "impostor-ae" in ids and "dcgan-fashion" not in ids and "vae" in ids
    with pytest.raises(zoo.DuplicateModelError) as err:
        zoo.model_spec("vae-fashion")
    message = str(err.value)
    assert "'vae' (pip distribution zoo" in message and "'impostor' (registered in-process" in message
    assert "ZOO_LOAD_PLUGINS" in message
    assert zoo.model_spec("impostor-ae").aliases == ()  # the contested alias is withdrawn, the model stays
    assert zoo.model_spec("vae").id == "vae"
    with pytest.raises(zoo.DuplicateModelError):
        zoo.load("dcgan-fashion")
    result = CliRunner().invoke(cli, ["list"])
    assert result.exit_code == 0 and "ddpm-fashion" in result.output
    assert "warning: model id 'vae-fashion' is claimed by 2 plugins" in result.output
    result = CliRunner().invoke(cli, ["sample", "vae-fashion", "-o", "x.png"])
    assert result.exit_code == 1 and "claimed by 2 plugins" in result.output and "Traceback" not in result.output
    assert CliRunner().invoke(cli, ["info", "ddpm-fashion"]).exit_code == 0


def test_duplicate_names_the_pip_distributions(register_plugin, monkeypatch):
    monkeypatch.setitem(plugins._distributions, "impostor", ("zoo-impostor", "0.3"))
    register_plugin(spec_plugin(toy_spec("vae-fashion")), "impostor")
    with pytest.raises(zoo.DuplicateModelError, match="pip uninstall zoo-impostor"):
        zoo.model_spec("vae-fashion")
    assert "'impostor' (pip distribution zoo-impostor 0.3)" in str(
        next(f.error for f in plugins.failures if f.stage == "conflict"))


def test_a_contested_sampler_or_data_set_refuses_only_itself(register_plugin):
    @hookimpl
    def register_samplers(register):
        register(zoo.SamplerSpec(id="ddim", factory="x.y:Z"))

    @hookimpl
    def register_datasets(register):
        from zoo.registry import DatasetSpec

        register(DatasetSpec(id="digits", loader="x.y:load", image_shape=(1, 8, 8)))

    register_plugin(types.SimpleNamespace(register_samplers=register_samplers, register_datasets=register_datasets),
                    "clash")
    registry = plugins.get_registry()
    with pytest.raises(zoo.DuplicateModelError, match="sampler id 'ddim'"):
        registry.get_sampler("ddim")
    with pytest.raises(zoo.DuplicateModelError, match="'zoo' \\(the zoo itself\\)"):
        registry.get_dataset("digits")
    assert registry.get_sampler("ddpm").id == "ddpm" and registry.get_dataset("mnist").id == "mnist"


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


def test_a_plugin_that_exits_while_importing_is_reported_and_skipped(monkeypatch, tmp_path):
    (tmp_path / "zoo_exiting_plugin.py").write_text("import sys\nsys.exit(3)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    real = metadata.entry_points

    def with_exiting(group=None, **kw):
        eps = list(real(group=group, **kw))
        if group == "zoo":
            eps.append(metadata.EntryPoint("exiter", "zoo_exiting_plugin", "zoo"))
        return eps

    monkeypatch.setattr(metadata, "entry_points", with_exiting)
    plugins.reset()
    try:
        assert "vae-fashion" in zoo.list_models()
        assert [f.error for f in plugins.failures if f.name == "exiter"] == ["called sys.exit(3)"]
        result = CliRunner().invoke(cli, ["list"])
        assert result.exit_code == 0 and "plugin 'exiter' skipped (import failed): called sys.exit(3)" in result.output
    finally:
        monkeypatch.undo()
        plugins.reset()


def test_a_plugin_that_exits_while_registering_is_skipped(register_plugin):
    @hookimpl
    def register_models(register):
        raise SystemExit("bye")

    register_plugin(types.SimpleNamespace(register_models=register_models), "exits-late")
    assert "vae-fashion" in zoo.list_models()
    assert any(f.name == "exits-late" and f.error == "called sys.exit('bye')" for f in plugins.failures)


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


def test_a_factory_naming_a_missing_module_is_one_line(register_plugin, tmp_path, monkeypatch):
    (tmp_path / "zoo_dep_broken.py").write_text("import zoo_not_installed_dependency\n")
    monkeypatch.syspath_prepend(str(tmp_path))

    class Ghost:
        @hookimpl
        def register_models(self, register):
            register(ModelSpec(id="ghost", factory="zoo_no_such_module.model:M", family="gan", image_shape=(1, 8, 8)))
            register(ModelSpec(id="ghost-dep", factory="zoo_dep_broken:M", family="gan", image_shape=(1, 8, 8)))

    register_plugin(Ghost(), "ghost")
    with pytest.raises(zoo.PluginError, match="names module 'zoo_no_such_module.model', which does not exist"):
        zoo.create("ghost")
    with pytest.raises(zoo.PluginError, match="imports 'zoo_not_installed_dependency', which is not installed"):
        zoo.create("ghost-dep")
    from zoo.testing import check_plugin

    with pytest.raises(AssertionError, match="ghost::build: PluginError: 'zoo_no_such_module.model:M' names module"):
        check_plugin("ghost", ids=["ghost"])
