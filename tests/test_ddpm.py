"""The DDPM plugin: equivalence with diffusers (network and sampler steps, offline through a
pre-filled Hugging Face cache), reproducible sampling with every sampler, clear errors for
bad input, and a third-party sampler registered by a throwaway plugin."""

from __future__ import annotations

import json
import math
import types

import pytest
import torch
from click.testing import CliRunner
from zoo_plugins.ddpm.from_diffusers import CIFAR_SCHEDULER, CIFAR_UNET

import zoo
from zoo import SamplerSpec, hookimpl
from zoo.cli import cli
from zoo.diffusion import NoiseSchedule, initial_noise, model_output
from zoo.weights import save_model_folder

from .conftest import tiny

REPO = "google/ddpm-cifar10-32"  # the spec leaves the revision unpinned: refs/main is used
# the same block structure, narrower, for the sampler tests
SMALL_UNET = {**CIFAR_UNET, "block_out_channels": (32, 32, 64, 64), "layers_per_block": 1}
# and tiny, for whole sampling runs
TINY_UNET = {**CIFAR_UNET, "sample_size": 8, "block_out_channels": (8, 8, 16, 16), "norm_num_groups": 4,
             "layers_per_block": 1}
# the repo's scheduler_config.json: no timestep_spacing, so diffusers' default grid, "leading"
REPO_SCHEDULER = {"_class_name": "DDPMScheduler", "_diffusers_version": "0.1.1", **CIFAR_SCHEDULER,
                  "trained_betas": None}
LEGACY_ATTENTION_NAMES = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}


def write_unet(snapshot, unet_config=SMALL_UNET, legacy_names=False):
    """A random-weight diffusers UNet2DModel and its DDPMScheduler config as the files of
    google/ddpm-cifar10-32 (in a ``hub_snapshot``); returns the diffusers model."""
    diffusers = pytest.importorskip("diffusers")
    from safetensors.torch import load_file, save_file

    torch.manual_seed(0)
    unet = diffusers.UNet2DModel(**unet_config).eval()
    unet.save_pretrained(snapshot)  # config.json + diffusion_pytorch_model.safetensors
    (snapshot / "scheduler_config.json").write_text(json.dumps(REPO_SCHEDULER))
    if legacy_names:  # the names diffusers wrote before 0.14 (query/key/value/proj_attn)
        path = snapshot / "diffusion_pytorch_model.safetensors"
        state = load_file(path)
        for new, old in LEGACY_ATTENTION_NAMES.items():
            state = {k.replace(f".{new}.", f".{old}."): v for k, v in state.items()}
        save_file(state, path, metadata={"format": "pt"})
    return unet


def tiny_ddpm(**config):
    return tiny("ddpm", **config).eval()


# --------------------------------------------------------------------------- (a) equivalence with diffusers


@pytest.mark.slow
def test_the_exact_cifar_config_loads_from_the_cache_and_matches_diffusers(hub_snapshot):
    reference = write_unet(hub_snapshot(REPO), CIFAR_UNET, legacy_names=True)
    model = zoo.load("ddpm-cifar")
    assert model.image_shape == (3, 32, 32)
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    assert model.schedule.config() == {**model.schedule.config(), **CIFAR_SCHEDULER, "prediction_type": "epsilon"}
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([537])
    with torch.no_grad():
        assert (model(x, t) - reference(x, t).sample).abs().max() <= 1e-4
    assert "Hub (cached)" in CliRunner().invoke(cli, ["list", "ddpm-cifar"]).output


def test_the_network_matches_diffusers_on_a_batch(hub_snapshot):
    reference = write_unet(hub_snapshot(REPO))
    model = zoo.load("ddpm-cifar")
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    t = torch.tensor([0, 500, 999])
    with torch.no_grad():
        assert (model(x, t) - reference(x, t).sample).abs().max() <= 1e-4


def _compare_steps(model, sampler_id, reference, timesteps, num_checked, **options):
    """Feed our step() and diffusers' step() the same model output and the same noise."""
    from zoo.plugins import get_registry
    from zoo.registry import import_object

    sampler = import_object(get_registry().get_sampler(sampler_id).factory)()
    x = initial_noise(model, (2, *model.image_shape), torch.Generator().manual_seed(0))
    for i, t in enumerate(timesteps[:num_checked]):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        with torch.no_grad():
            out = model_output(model, x, t)
        ours = sampler.step(model.schedule, out, t, t_prev, x, torch.Generator().manual_seed(10 + i), **options)
        ref = reference.step(out, t, x, generator=torch.Generator().manual_seed(10 + i), **options)
        assert (ours.prev_sample - ref.prev_sample).abs().max() <= 1e-5, (sampler_id, t)
        # x̂_0 = (x_t - √(1-ᾱ_t) ε̂) / √ᾱ_t magnifies float32 rounding by 1/√ᾱ_t (157 at t = 999)
        x0_tolerance = 1e-5 / math.sqrt(model.schedule.alpha_bar(t))
        assert (ours.pred_original_sample - ref.pred_original_sample).abs().max() <= x0_tolerance, (sampler_id, t)
        x = ref.prev_sample


def with_float64_schedule(scheduler):
    betas = scheduler.betas.double()
    if scheduler.config.beta_schedule == "linear":
        betas = torch.linspace(scheduler.config.beta_start, scheduler.config.beta_end,
                               scheduler.config.num_train_timesteps, dtype=torch.float64)
    scheduler.alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    scheduler.one = torch.tensor(1.0, dtype=torch.float64)
    return scheduler


@pytest.mark.slow
def test_sampler_steps_match_diffusers_schedulers(hub_snapshot):
    diffusers = pytest.importorskip("diffusers")
    write_unet(hub_snapshot(REPO))
    model = zoo.load("ddpm-cifar")

    ddpm = diffusers.DDPMScheduler(**CIFAR_SCHEDULER)
    ddpm.set_timesteps(1000)
    assert model.schedule.timesteps(1000) == ddpm.timesteps.tolist()
    _compare_steps(model, "ddpm", ddpm, model.schedule.timesteps(1000), 3)
    # The last steps (with noise, then without). diffusers keeps ᾱ in float32, where the β of a step near
    # t = 0, 1 - ᾱ_t / ᾱ_{t-1}, keeps only ~4 digits (its step differs from ours by ~5e-5 there); with its
    # ᾱ in float64, as ours, the same formulas agree to 1e-5.
    _compare_steps(model, "ddpm", with_float64_schedule(ddpm), [1, 0], 2)

    strided = diffusers.DDPMScheduler(**CIFAR_SCHEDULER, timestep_spacing="trailing")
    strided.set_timesteps(10)
    assert model.schedule.timesteps(10, "trailing") == strided.timesteps.tolist()
    _compare_steps(model, "ddpm", strided, model.schedule.timesteps(10, "trailing"), 3)

    ddim = diffusers.DDIMScheduler(**{k: v for k, v in CIFAR_SCHEDULER.items() if k != "variance_type"},
                                   timestep_spacing="trailing")
    ddim.set_timesteps(10)
    for eta in (0.0, 0.5, 1.0):
        _compare_steps(model, "ddim", ddim, model.schedule.timesteps(10, "trailing"), 10, eta=eta)


@pytest.mark.parametrize("beta_schedule,prediction_type,variance_type,clip", [
    ("cosine", "v_prediction", "fixed_small", True),
    ("linear", "epsilon", "fixed_small", False),
    ("cosine", "epsilon", "fixed_large", True),
])
def test_schedules_and_steps_match_diffusers(beta_schedule, prediction_type, variance_type, clip):
    diffusers = pytest.importorskip("diffusers")
    from zoo_plugins.ddpm.samplers import DDIMSampler, DDPMSampler

    schedule = NoiseSchedule(200, beta_schedule, prediction_type=prediction_type, clip_sample=clip,
                             variance_type=variance_type)
    config = {"num_train_timesteps": 200, "prediction_type": prediction_type, "clip_sample": clip,
              "beta_schedule": "squaredcos_cap_v2" if beta_schedule == "cosine" else "linear",
              "timestep_spacing": "trailing"}
    ddpm = diffusers.DDPMScheduler(**config, variance_type=variance_type)
    ddim = diffusers.DDIMScheduler(**config)
    assert torch.allclose(schedule.alphas_cumprod.float(), ddpm.alphas_cumprod, rtol=1e-5, atol=1e-7)
    ddpm.set_timesteps(20)
    ddim.set_timesteps(20)
    timesteps = schedule.timesteps(20)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 1, 8, 8, generator=gen)
    for i, t in enumerate(timesteps[:-1]):  # diffusers' DDPM adds noise on a strided last step; we do not
        out = torch.randn(x.shape, generator=gen)
        seed = 100 + i
        ours = DDPMSampler().step(schedule, out, t, timesteps[i + 1], x, torch.Generator().manual_seed(seed))
        ref = ddpm.step(out, t, x, generator=torch.Generator().manual_seed(seed))
        assert (ours.prev_sample - ref.prev_sample).abs().max() <= 1e-5
        ours = DDIMSampler().step(schedule, out, t, timesteps[i + 1], x, torch.Generator().manual_seed(seed), eta=0.3)
        ref = ddim.step(out, t, x, eta=0.3, generator=torch.Generator().manual_seed(seed))
        assert (ours.prev_sample - ref.prev_sample).abs().max() <= 1e-5
        x = ref.prev_sample


def test_the_repo_pipeline_is_one_flag_away_and_named_in_info(hub_snapshot, monkeypatch):
    write_unet(hub_snapshot(REPO), TINY_UNET)
    model = zoo.load("ddpm-cifar")
    calls = []
    monkeypatch.setattr(model, "forward", lambda x, t: calls.append(int(t[0])) or torch.zeros_like(x))
    model.sample(1, seed=0)
    assert len(calls) == 50 and calls[:2] == [980, 960] and calls[-1] == 0  # DDIM 50 on the leading grid
    calls.clear()
    model.sample(1, seed=0, sampler="ddpm")  # DDPMPipeline: all 1,000 steps
    assert calls == list(range(999, -1, -1))
    info = CliRunner().invoke(cli, ["info", "ddpm-cifar"]).output
    assert "zoo sample ddpm-cifar --sampler ddpm" in info and "leading" in info


def test_the_scheduler_configs_of_the_repo_are_understood():
    from zoo_plugins.ddpm.from_diffusers import schedule_config

    expected = {"num_train_timesteps": 1000, "beta_schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02,
                "prediction_type": "epsilon", "clip_sample": True, "variance_type": "fixed_large",
                "timestep_spacing": "leading", "steps_offset": 0, "rules": "diffusers"}
    old = {"_class_name": "GaussianDDPMScheduler", "beta_end": 0.02, "beta_schedule": "linear",
           "beta_start": 0.0001, "timesteps": 1000, "variance_type": "fixed_large"}
    assert schedule_config(old) == expected  # 2022
    assert schedule_config(REPO_SCHEDULER) == expected
    assert schedule_config({**REPO_SCHEDULER, "timestep_spacing": "trailing", "steps_offset": 1}) == {
        **expected, "timestep_spacing": "trailing", "steps_offset": 1}
    with pytest.raises(zoo.WeightsError, match="scaled_linear"):
        schedule_config({"beta_schedule": "scaled_linear"})
    with pytest.raises(zoo.WeightsError, match="timestep_spacing 'karras' is not supported"):
        schedule_config({**REPO_SCHEDULER, "timestep_spacing": "karras"})
    with pytest.raises(zoo.WeightsError, match="set_alpha_to_one=False"):
        schedule_config({**REPO_SCHEDULER, "_class_name": "DDIMScheduler", "set_alpha_to_one": False})


def test_an_unsupported_diffusers_unet_is_a_clear_error():
    from zoo_plugins.ddpm.from_diffusers import unet_config

    with pytest.raises(zoo.WeightsError, match="resnet_time_scale_shift='scale_shift'"):
        unet_config({**CIFAR_UNET, "resnet_time_scale_shift": "scale_shift"})


# --------------------------------------------------------------------------- (b) reproducible sampling


@pytest.mark.parametrize("options", [{"sampler": "ddpm"}, {"sampler": "ddim"}, {"sampler": "ddim", "eta": 0.7},
                                     {"sampler": "ddpm", "steps": 20}])
def test_same_seed_same_images_for_every_sampler(options):
    model = tiny_ddpm()
    a, b, c = (model.sample(3, seed=s, **options) for s in (5, 5, 6))
    assert a.shape == (3, 1, 28, 28) and 0 <= a.min() and a.max() <= 1
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.slow
def test_samplers_draw_different_images_and_load_time_options_are_defaults(tmp_path):
    model = tiny_ddpm()
    assert not torch.equal(model.sample(2, seed=0, sampler="ddpm"), model.sample(2, seed=0, sampler="ddim"))
    save_model_folder(model, tmp_path / "m")
    loaded = zoo.load(str(tmp_path / "m"), sampler="ddpm", steps=7)
    assert (loaded.sampler, loaded.steps) == ("ddpm", 7)
    assert torch.equal(loaded.sample(2, seed=0), model.sample(2, seed=0, sampler="ddpm", steps=7))


def test_progress_bars_show_images_and_steps_and_change_no_image(capsys):
    model = tiny_ddpm()
    quiet = model.sample(3, seed=0, batch_size=2, sampler="ddim", steps=4)
    assert capsys.readouterr().err == ""
    shown = model.sample(3, seed=0, batch_size=2, sampler="ddim", steps=4, progress=True)
    err = capsys.readouterr().err
    assert torch.equal(quiet, shown)
    assert "sampling DDPM:" in err and "/3 [" in err  # images done
    assert "ddim:" in err and "/4 [" in err  # each batch's steps


def test_the_cli_shows_progress_only_on_a_terminal(tmp_path, monkeypatch):
    import zoo.cli

    save_model_folder(tiny_ddpm(), tmp_path / "m")
    args = ["sample", str(tmp_path / "m"), "-n", "2", "--steps", "3", "--force", "-o", str(tmp_path / "x.png")]
    piped = CliRunner().invoke(cli, args)  # CliRunner's stderr is no terminal
    assert piped.exit_code == 0 and "%|" not in piped.output, piped.output
    monkeypatch.setattr(zoo.cli, "_progress", lambda: True)
    watched = CliRunner().invoke(cli, args)
    assert watched.exit_code == 0 and "ddim:" in watched.output and "%|" in watched.output, watched.output


def test_the_registry_lists_both_samplers_and_the_models():
    from zoo.plugins import get_registry

    registry = get_registry()
    assert {"ddpm", "ddim"} <= set(registry.samplers)
    for model_id in ("ddpm", "ddpm-cifar"):
        assert zoo.model_spec(model_id).samplers == ("ddpm", "ddim")
    info = CliRunner().invoke(cli, ["info", "ddpm-cifar"]).output
    samplers = info.split("samplers (--sampler ID")[1].splitlines()
    assert any(line.startswith("  ddim ") for line in samplers) and any(line.startswith("  ddpm ") for line in samplers)
    assert "--eta (float in [0, 1])" in info and "--timestep-spacing (leading | trailing | linspace)" in info


def test_min_snr_weights():
    from zoo_plugins.ddpm.train import min_snr_weights

    snr = torch.tensor([0.5, 5.0, 50.0])
    assert torch.allclose(min_snr_weights(snr, 5.0, "epsilon"), torch.tensor([1.0, 1.0, 0.1]))
    assert torch.allclose(min_snr_weights(snr, 5.0, "v_prediction"), torch.tensor([0.5 / 1.5, 5 / 6, 5 / 51]))
    assert torch.equal(min_snr_weights(snr, 0, "epsilon"), torch.ones(3))


# --------------------------------------------------------------------------- (c) bad input


@pytest.mark.parametrize("options,error,match", [
    ({"steps": 0}, zoo.BadInputError, "steps must be an integer from 1 to 20"),
    ({"steps": -3}, zoo.BadInputError, "steps"),
    ({"steps": 21}, zoo.BadInputError, "trained on"),
    ({"steps": 2.5}, zoo.BadInputError, "steps"),
    ({"sampler": "ddmi"}, zoo.UnknownModelError, "unknown sampler .ddmi.. Did you mean: .*ddim"),
    ({"eta": -0.1}, zoo.BadInputError, r"eta must be a number in \[0, 1\]"),
    ({"eta": 1.5}, zoo.BadInputError, "eta"),
    ({"sampler": "ddpm", "eta": 0.5}, zoo.BadInputError, "sampler 'ddpm' got unknown options"),
    ({"temperature": 2}, zoo.BadInputError, "unknown options"),
    ({"timestep_spacing": "middle"}, zoo.BadInputError,
     "^timestep_spacing must be one of leading, trailing, linspace, got 'middle'$"),
    ({"timestep_spacing": None, "rules": "pytorch"}, zoo.BadInputError,
     "^rules must be one of zoo, diffusers, got 'pytorch'$"),
    ({"sampler": "ddpm", "timestep_spacing": 3}, zoo.BadInputError, "timestep_spacing must be one of"),
])
def test_bad_sampling_options_are_clear_errors(options, error, match, tmp_path):
    model = tiny_ddpm()
    with pytest.raises(error, match=match):
        model.sample(1, seed=0, **options)
    if options.get("sampler") == "ddpm" and "eta" in options:
        return  # load-time options are checked one by one
    save_model_folder(model, tmp_path / "m")
    with pytest.raises(error, match=match):
        zoo.load(str(tmp_path / "m"), **options)


def test_a_sampler_of_another_family_is_refused(register_plugin):
    @hookimpl
    def register_samplers(register):
        register(SamplerSpec(id="pixel-loop", factory="tests.test_ddpm:OneStepSampler", families=("autoregressive",)))

    register_plugin(types.SimpleNamespace(register_samplers=register_samplers), "autoregressive-samplers")
    with pytest.raises(zoo.BadInputError, match="'pixel-loop' drives autoregressive models, not diffusion"):
        tiny_ddpm().sample(1, seed=0, sampler="pixel-loop")


def test_dtype_names_cover_float64_and_device_errors_name_the_device(tmp_path):
    save_model_folder(tiny_ddpm(), tmp_path / "m")
    model = zoo.load(str(tmp_path / "m"), dtype="float64", steps=2)
    assert next(model.parameters()).dtype == torch.float64
    assert torch.allclose(model.sample(2, seed=0), zoo.load(str(tmp_path / "m"), steps=2).sample(2, seed=0),
                          atol=1e-4)  # the same noise in every dtype
    assert zoo.api.resolve_dtype("fp64") is torch.float64 and zoo.api.resolve_dtype(torch.float64) is torch.float64
    with pytest.raises(zoo.BadInputError, match="unknown dtype 'float128'.*float64"):
        zoo.api.resolve_dtype("float128")
    with pytest.raises(zoo.BadInputError, match="not a floating-point type"):
        zoo.api.resolve_dtype(torch.int64)
    if not torch.cuda.is_available():
        with pytest.raises(zoo.BadInputError, match="^device 'cuda:0' was asked for but no CUDA GPU"):
            zoo.api.resolve_device("cuda:0")


@pytest.mark.slow
def test_ddpm_fashion_samples_as_before_by_default():
    """Its config.json names no grid and no rules: DDPM's defaults, trailing and the zoo's, as it was trained."""
    model = zoo.load("ddpm-fashion")
    assert (model.sampler, model.steps, model.eta) == ("ddim", 50, None)
    assert (model.schedule.timestep_spacing, model.schedule.steps_offset, model.schedule.rules) == ("trailing", 0,
                                                                                                    "zoo")
    assert model.schedule.timesteps(50) == list(range(999, 0, -20))
    images = model.sample(2, seed=0)
    # measured before timestep_spacing and rules became sampling options (commit 851f853)
    assert math.isclose(images.double().sum().item(), 807.1942291855812, abs_tol=1e-2)
    before = torch.tensor([[0.89258, 0.95321, 0.91236, 0.85118, 0.86896, 0.81494, 0.91596, 0.88877],
                           [0.87806, 0.75611, 0.93928, 0.88379, 0.89158, 0.88919, 0.90064, 0.93386]])
    assert (torch.stack([images[0, 0, 14, 6:14], images[1, 0, 20, 6:14]]) - before).abs().max() <= 1e-4


def test_cli_bad_options_are_one_line(tmp_path):
    save_model_folder(tiny_ddpm(), tmp_path / "m")
    for args in (["--steps", "0"], ["--steps", "999"], ["--sampler", "nope"], ["--eta", "2"]):
        result = CliRunner().invoke(cli, ["sample", str(tmp_path / "m"), "-o", str(tmp_path / "x.png"), *args])
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1, result.output
    result = CliRunner().invoke(cli, ["sample", str(tmp_path / "m"), "-o", str(tmp_path / "x.png"), "--steps", "2"])
    assert result.exit_code == 0 and (tmp_path / "x.png").is_file()


def test_cifar_offline_without_the_cache_is_one_clear_line(hf_cache):
    with pytest.raises(zoo.WeightsError) as err:
        zoo.load("ddpm-cifar")
    assert REPO in str(err.value) and "zoo pull ddpm-cifar" in str(err.value)
    result = CliRunner().invoke(cli, ["sample", "ddpm-cifar", "-o", str(hf_cache / "x.png")])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert REPO in result.output and "zoo pull ddpm-cifar" in result.output


# --------------------------------------------------------------------------- (d) third-party samplers


class OneStepSampler(zoo.Sampler):
    """A third party's sampler: the network's x_0 prediction from pure noise, in one evaluation."""

    def sample(self, network, shape, generator, *, steps=None, **kwargs):
        x = initial_noise(network, shape, generator)
        t = network.schedule.num_train_timesteps - 1
        return network.schedule.predict(model_output(network, x, t), x, t).x0


def test_a_third_party_sampler_drives_the_ddpm_model_by_name(register_plugin, tmp_path):
    @hookimpl
    def register_samplers(register):
        register(SamplerSpec(id="one-step", factory="tests.test_ddpm:OneStepSampler",
                             description="x_0 prediction in one network evaluation"))

    register_plugin(types.SimpleNamespace(register_samplers=register_samplers), "one-step-plugin")
    model = tiny_ddpm()
    images = model.sample(2, seed=3, sampler="one-step")
    x = initial_noise(model, (2, 1, 28, 28), zoo.interfaces.make_generator(3))
    with torch.no_grad():
        expected = model.schedule.predict(model_output(model, x, 19), x, 19).x0
    assert torch.allclose(images, ((expected + 1) / 2).clamp(0, 1))
    save_model_folder(model, tmp_path / "m")
    assert torch.equal(zoo.load(str(tmp_path / "m"), sampler="one-step").sample(2, seed=3), images)


def test_the_timestep_grid():
    schedule = NoiseSchedule(1000)
    assert schedule.timesteps(4) == [999, 749, 499, 249]
    assert NoiseSchedule(1000, timestep_spacing="leading").timesteps(4) == [750, 500, 250, 0]
    assert schedule.timesteps(4, "linspace") == [999, 666, 333, 0]
    assert schedule.timesteps(1000) == list(range(999, -1, -1))
    assert math.isclose(schedule.alpha_bar(-1), 1.0)
    # a .5 tie: T - T·3/48 = 937.5 exactly; the zoo rounds it to even (938 → 937), diffusers' float
    # (np.arange: 937.4999999999999) down (937 → 936)
    assert schedule.timesteps(48)[3] == 937 and schedule.timesteps(48, rules="diffusers")[3] == 936
    with pytest.raises(zoo.BadInputError, match="reaches timestep 1000, beyond the model's 0 .. 999"):
        NoiseSchedule(1000, timestep_spacing="leading", steps_offset=1).timesteps(1000)


def test_grid_and_rules_are_sampling_options_at_load_and_per_call(tmp_path):
    model = tiny_ddpm()
    calls = []
    model.forward = lambda x, t: calls.append(int(t[0])) or torch.zeros_like(x)
    model.sample(1, seed=0, steps=4)
    assert calls == [19, 14, 9, 4]  # trailing, the zoo's default
    calls.clear()
    model.sample(1, seed=0, steps=4, timestep_spacing="leading")
    assert calls == [15, 10, 5, 0]
    calls.clear()
    model.configure_sampling(timestep_spacing="linspace", rules="diffusers")
    model.sample(1, seed=0, steps=4, sampler="ddpm")
    assert calls == [19, 13, 6, 0]
    save_model_folder(tiny_ddpm(), tmp_path / "m")
    loaded = zoo.load(str(tmp_path / "m"), timestep_spacing="leading", rules="diffusers", sampler="ddpm")
    assert loaded.sampling_options == {"timestep_spacing": "leading", "rules": "diffusers"}


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["ddpm", "ldm"])
def test_diffusion_sampling_compiles_to_one_graph_that_every_step_reuses(arch):
    """``model.compile()`` speeds sampling only if the network traces whole (no graph break) and the
    sampler's steps, whatever their timestep, reuse the graph (no recompilation per step)."""
    import torch._dynamo

    torch._dynamo.reset()
    model = tiny(arch).eval()
    reference = {s: model.sample(3, seed=0, sampler=s, steps=3, batch_size=3) for s in ("ddim", "ddpm")}
    model.compile(backend="aot_eager", fullgraph=True)  # fullgraph: a graph break is an error
    with torch._dynamo.config.patch(error_on_recompile=True):
        for sampler, images in reference.items():
            assert (model.sample(3, seed=0, sampler=sampler, steps=3, batch_size=3) - images).abs().max() < 1e-5
