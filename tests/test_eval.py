"""`zoo eval` and `zoo compare`: the maths checked against known answers, the command on
tiny data with a random-weight classifier, and each kind of bad input."""

from __future__ import annotations

import json
import types

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import zoo
from zoo import ModelSpec, hookimpl
from zoo.cli import cli
from zoo.metrics import quality
from zoo.weights import save_model_folder


def gaussians(n=2000, d=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, d, generator=g)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    a, _ = gaussians()
    assert quality.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_matches_the_closed_form_for_gaussians():
    # N(m1, s1² I) vs N(m2, s2² I) in d dims: ||m1 - m2||² + d (s1 - s2)²
    a, b = gaussians(n=20000, d=4)
    fd = quality.frechet_distance(a * 2.0 + 1.0, b * 0.5)
    assert fd == pytest.approx(4 * 1.0 + 4 * 1.5**2, rel=0.03)


@pytest.mark.slow
def test_kid_is_near_zero_for_one_distribution_and_large_for_two():
    a, b = gaussians()
    same, _ = quality.kernel_distance(a, b, subset_size=500)
    far, _ = quality.kernel_distance(a, b + 2, subset_size=500)
    assert abs(same) < 0.05 < far


def test_precision_recall_density_coverage_of_a_set_with_itself():
    a, b = gaussians()
    assert quality.precision_recall(a, a) == (1.0, 1.0)
    density, coverage = quality.density_coverage(b, a)
    assert 0.8 < density < 1.2 and coverage > 0.9
    p_far, r_far = quality.precision_recall(a + 10, a)
    assert p_far == 0.0 and r_far == 0.0


@pytest.fixture
def eval_env(tmp_path, tiny_fashion, monkeypatch, register_plugin):
    """Tiny Fashion-MNIST, a random-weight classifier folder, an empty feature cache, and a
    tiny pretrained VAE registered as 'tiny-eval'."""
    from zoo.metrics import classifier as C

    monkeypatch.setenv("ZOO_DATA", str(tiny_fashion))
    monkeypatch.setenv("ZOO_CACHE", str(tmp_path / "cache"))
    torch.manual_seed(0)
    folder = tmp_path / "clf"
    folder.mkdir()
    model = C.FashionClassifier()
    from safetensors.torch import save_file

    save_file(model.state_dict(), str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({"architecture": C.CLASSIFIER_ID, **model.config}))
    monkeypatch.setattr(C, "classifier_folder", lambda: folder)
    vae = tmp_path / "tiny-eval"
    save_model_folder(zoo.create("vae", **zoo.model_spec("vae").test_config), vae)

    @hookimpl
    def register_models(register):
        register(ModelSpec(id="tiny-eval", arch="vae", factory="zoo_plugins.vae.model:VAE", family="autoencoder",
                           capabilities=("generator", "encoder", "likelihood"), weights="bundled", path=str(vae)))
        register(ModelSpec(id="tiny-gan", arch="dcgan", factory="zoo_plugins.dcgan.model:DCGAN", family="gan",
                           weights="bundled", path=str(gan)))

    gan = tmp_path / "tiny-gan"
    save_model_folder(zoo.create("dcgan", **zoo.model_spec("dcgan").test_config), gan)
    register_plugin(types.SimpleNamespace(register_models=register_models), "eval-plugin")
    return tmp_path


def test_eval_json_has_scores_floor_and_reference(eval_env):
    args = ["eval", "tiny-eval", "--metrics", "fd,kid,pr,dc,bpd", "--num-samples", "20", "--json"]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    for key in ("fd", "kid", "precision", "recall", "density", "coverage", "bpd"):
        assert np.isfinite(out[key]), key
    assert set(out["floor"]) >= {"fd", "kid", "precision", "recall"}
    assert "train" in out["reference"] and out["seconds"] > 0
    assert any("upper bound" in n for n in out["notes"])
    # the reference features were cached; a second run reuses them and gives the same numbers
    assert len(list((eval_env / "cache" / "features").glob("*.safetensors"))) == 1
    again = json.loads(CliRunner().invoke(cli, args).output)
    assert again["fd"] == out["fd"] and again["floor"] == out["floor"]


def test_eval_table_and_compare_with_plot(eval_env):
    result = CliRunner().invoke(cli, ["eval", "tiny-gan", "--num-samples", "16"])
    assert result.exit_code == 0, result.output
    assert "floor (test vs train)" in result.output and "precision" in result.output
    plot = eval_env / "bars.png"
    result = CliRunner().invoke(cli, ["compare", "tiny-gan", "tiny-eval", "--metrics", "fd", "--num-samples", "16",
                                      "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    assert "rank" in result.output and "(real test vs train)" in result.output
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_recon_scores_an_autoencoder_by_its_reconstructions(eval_env, monkeypatch):
    """L1, MSE and PSNR per pixel match their definitions on the scored test images; the FD of
    perfect reconstructions equals the floor (the test images' own FD)."""
    from zoo.data import load_fashion_mnist
    from zoo.metrics.evaluate import evaluate

    model = zoo.load("tiny-eval")
    scored = load_fashion_mnist("test")[0]
    result = evaluate("tiny-eval", ["recon"], num_samples=len(scored), seed=0, model=model)
    assert not result.notes  # the whole test split
    recon = model.reconstruct(scored)
    mse = (recon.double() - scored.double()).pow(2).mean().item()
    assert result.scores["recon_mse"] == pytest.approx(mse, rel=1e-6)
    assert result.scores["recon_l1"] == pytest.approx((recon.double() - scored.double()).abs().mean().item(), rel=1e-6)
    assert result.scores["psnr"] == pytest.approx(10 * np.log10(1 / mse), rel=1e-6)
    assert result.scores["recon_fd"] > 0 and "recon_fd" in result.floor
    monkeypatch.setattr(type(model), "reconstruct", lambda self, x: x)  # a perfect autoencoder
    perfect = evaluate("tiny-eval", ["recon"], num_samples=len(scored), seed=0, model=model)
    assert perfect.scores["recon_l1"] == 0 and perfect.scores["recon_fd"] == pytest.approx(perfect.floor["recon_fd"])


def test_recon_is_for_encoders_and_the_default_of_one_that_does_not_generate(eval_env):
    result = CliRunner().invoke(cli, ["eval", "tiny-gan", "--metrics", "recon", "--num-samples", "8"])
    assert result.exit_code == 1 and "has no encoder" in result.output and "Traceback" not in result.output
    from zoo.metrics.evaluate import evaluate

    ae = zoo.create("autoencoder-kl", **zoo.model_spec("autoencoder-kl").test_config)
    out = evaluate("tiny-ae", None, num_samples=4, seed=0, model=ae)
    assert {"recon_l1", "recon_mse", "psnr", "recon_fd"} <= set(out.scores) and "fd" not in out.scores
    assert any("recon on 4 of the" in n for n in out.notes)


@pytest.mark.parametrize(("args", "message"), [
    (["--metrics", "fd,bogus"], "unknown metric bogus"),
    (["--num-samples", "1"], "above 1"),
    (["--metrics", "bpd"], "no log_prob"),
    (["--metrics", "class-acc"], "not class-conditional"),
    (["--metrics", "fid"], "--inception-weights"),
    (["--metrics", "fid", "--inception-weights", "/nonexistent/pt_inception.pth"], "does not exist"),
])
def test_eval_bad_input(eval_env, args, message):
    result = CliRunner().invoke(cli, ["eval", "tiny-gan", "--num-samples", "8", *args])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert message in result.output


def test_eval_without_reference_data(eval_env, monkeypatch, tmp_path):
    monkeypatch.setenv("ZOO_DATA", str(tmp_path / "absent"))
    result = CliRunner().invoke(cli, ["eval", "tiny-gan", "--num-samples", "8"])
    assert result.exit_code == 1 and "reference data" in result.output and "apt-get install" in result.output


def test_fid_gives_torch_fidelity_the_loaded_weights(eval_env, monkeypatch):
    """The weights file is read once; torch-fidelity's network gets the tensors, its feature extraction
    the uint8 RGB images (the network is stubbed: Inception-v3 is too slow for a fast test)."""
    import zoo.metrics.inception as inception

    weights = eval_env / "pt_inception.pth"
    torch.save({"conv.weight": torch.zeros(1)}, weights)
    seen = {}

    def extractor(state):
        seen["state"] = state
        return "extractor"

    def fid(extractor, fake, real, batch_size):
        seen.update(extractor=extractor, fake=fake, real=real)
        return 12.5

    monkeypatch.setattr(inception, "inception_extractor", extractor)
    monkeypatch.setattr(inception, "fid", fid)
    args = ["eval", "tiny-gan", "--metrics", "fid", "--inception-weights", str(weights), "--num-samples", "8", "--json"]
    out = json.loads(CliRunner().invoke(cli, args).output)
    assert out["fid"] == 12.5 and seen["extractor"] == "extractor"
    assert set(seen["state"]) == {"conv.weight"} and isinstance(seen["state"]["conv.weight"], torch.Tensor)
    assert seen["fake"][0].dtype == torch.uint8 and tuple(seen["fake"][0].shape) == (3, 28, 28)
    assert len(seen["fake"]) == 8 and len(seen["real"]) == 32  # the test split of the tiny data


def test_fid_refuses_a_weights_file_that_would_run_code(eval_env):
    weights = eval_env / "evil.pth"
    torch.save({"f": print}, weights)  # a pickled function: weights_only loading refuses it
    result = CliRunner().invoke(cli, ["eval", "tiny-gan", "--metrics", "fid", "--inception-weights", str(weights),
                                      "--num-samples", "8"])
    assert result.exit_code == 1 and "refusing" in result.output


@pytest.mark.slow
def test_eval_passes_sampler_options_to_the_model(eval_env, register_plugin):
    """`zoo eval ID --sampler ddim --steps N` scores a diffusion model at that sampler setting."""
    folder = eval_env / "tiny-ddpm"
    torch.manual_seed(0)
    save_model_folder(zoo.create("ddpm", **zoo.model_spec("ddpm").test_config), folder)

    @hookimpl
    def register_models(register):
        register(ModelSpec(id="tiny-ddpm", arch="ddpm", factory="zoo_plugins.ddpm.model:DDPM", family="diffusion",
                           weights="bundled", path=str(folder), samplers=("ddpm", "ddim")))

    register_plugin(types.SimpleNamespace(register_models=register_models), "ddpm-eval-plugin")
    runs = {}
    for steps in ("2", "3"):
        result = CliRunner().invoke(cli, ["eval", "tiny-ddpm", "--metrics", "fd", "--num-samples", "8",
                                          "--sampler", "ddim", "--steps", steps, "--json"])
        assert result.exit_code == 0, result.output
        runs[steps] = json.loads(result.output)
    assert runs["2"]["sample_options"] == {"sampler": "ddim", "steps": 2}
    assert runs["2"]["fd"] != runs["3"]["fd"]
    bad = CliRunner().invoke(cli, ["eval", "tiny-ddpm", "--num-samples", "8", "--sampler", "nope"])
    assert bad.exit_code == 1 and "unknown sampler" in bad.output


def test_release_writes_fp16_weights_samples_and_a_card_with_commands(eval_env):
    from zoo.cards import eval_measurements, release

    run = eval_env / "run-model"
    save_model_folder(zoo.create("vae", **zoo.model_spec("vae").test_config), run)
    (run / "training.json").write_text(json.dumps({"commands": ["zoo train vae --out runs/x"], "epochs": 1,
                                                   "steps": 2, "batch_size": 4, "wall_time_s": 6.0}))
    dest = eval_env / "tiny-eval"  # the folder the 'tiny-eval' spec points at
    release(run, "tiny-eval", dest)
    rows = eval_measurements("tiny-eval", ["fd"], 16)
    release(run, "tiny-eval", dest, measurements=rows, notes="- tiny")
    from safetensors.torch import load_file

    assert all(t.dtype == torch.float16 for t in load_file(str(dest / "model.safetensors")).values())
    card = (dest / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: zoo\n") and "zoo train vae --out runs/x" in card
    assert "`zoo eval tiny-eval --metrics fd --num-samples 16 --seed 0`" in card and "real test vs train floor" in card
    assert (dest / "samples.png").read_bytes()[:4] == b"\x89PNG"


def test_release_of_an_autoencoder_draws_reconstructions_and_measures_them(eval_env, register_plugin):
    """An autoencoder that does not generate gets the grid of its card's `zoo reconstruct` command
    (the same pixels as that command draws) and its reconstruction rows; no samples.png."""
    from PIL import Image

    from zoo.cards import eval_measurements, release

    run, dest = eval_env / "ae-run", eval_env / "tiny-aekl"
    save_model_folder(zoo.create("autoencoder-kl", **zoo.model_spec("autoencoder-kl").test_config), run)
    (run / "training.json").write_text(json.dumps({"commands": ["zoo train autoencoder-kl --out runs/x"],
                                                   "data": "fashion-mnist", "epochs": 1, "steps": 2, "batch_size": 4}))

    @hookimpl
    def register_models(register):
        register(ModelSpec(id="tiny-aekl", arch="autoencoder-kl", factory="zoo_plugins.autoencoder_kl.model:"
                           "AutoencoderKL", family="autoencoder", capabilities=("encoder",), dataset="fashion-mnist",
                           weights="bundled", path=str(dest)))

    register_plugin(types.SimpleNamespace(register_models=register_models), "aekl-release")
    release(run, "tiny-aekl", dest)
    rows = eval_measurements("tiny-aekl", ["recon"], 10_000, tolerance="±1%")
    release(run, "tiny-aekl", dest, measurements=rows)
    card = (dest / "README.md").read_text()
    assert "pipeline_tag: image-feature-extraction" in card and not (dest / "samples.png").exists()
    assert "| FD of the reconstructions (test split) |" in card
    assert "`zoo eval tiny-aekl --metrics recon --seed 0`" in card  # the whole test split: no --num-samples
    command = "zoo reconstruct tiny-aekl --from-data test -n 32 --seed 0 -o"
    assert command in card
    drawn = eval_env / "drawn.png"
    assert CliRunner().invoke(cli, [*command.split()[1:], str(drawn)]).exit_code == 0
    assert Image.open(drawn).tobytes() == Image.open(dest / "reconstructions.png").tobytes()
