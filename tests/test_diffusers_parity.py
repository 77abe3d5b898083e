"""Full sampling trajectories of the zoo's samplers against diffusers' ``DDPMScheduler`` and
``DDIMScheduler`` on google/ddpm-cifar10-32's exact scheduler config, in float64.

Both sides run the same network (a fixed smooth function of x_t and t standing in for the UNet),
start from the same x_T and draw the same noise in the same order; every network input of the
whole chain is compared, not single steps. Float64 everywhere, so that float32 rounding, which
the chain amplifies, cannot hide a difference: tolerance 1e-6. Last, ``zoo.load("ddpm-cifar")``
itself (a tiny random UNet in the repo's layout, from a filled Hugging Face cache) against
diffusers' ``DDIMPipeline`` and ``DDPMPipeline`` on the same files.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn
from zoo_plugins.ddpm.from_diffusers import CIFAR_SCHEDULER, schedule_config
from zoo_plugins.ddpm.samplers import DDIMSampler, DDPMSampler

import zoo
from zoo.diffusion import NoiseSchedule, timestep_grid

from .test_ddpm import REPO, TINY_UNET, write_unet

diffusers = pytest.importorskip("diffusers")

# The repo's scheduler_config.json: a DDPMScheduler that names no timestep_spacing, so diffusers' "leading".
REPO_SCHEDULER = {"_class_name": "DDPMScheduler", "_diffusers_version": "0.1.1", **CIFAR_SCHEDULER,
                  "trained_betas": None}
SHAPE = (2, 3, 8, 8)
TOLERANCE = 1e-6
SAMPLERS = [("ddpm", None), ("ddim", 0.0), ("ddim", 1.0)]
# 50, 100 divide 1000; 30, 48, 61 do not (48: a .5 tie on the trailing grid; 61: diffusers' trailing grid
# gets a 62nd timestep of -1, its bug, which the zoo does not reproduce)
CASES = [(spacing, steps) for spacing in ("leading", "trailing", "linspace") for steps in (30, 48, 61, 100)]
CASES += [("leading", 50), ("leading", 1000), ("trailing", 50)]


class SmoothNetwork(nn.Module):
    """Stands in for the UNet on both sides: a fixed smooth function of x_t and t that records its inputs."""

    def __init__(self, schedule: NoiseSchedule) -> None:
        super().__init__()
        self.schedule = schedule
        self.scale = nn.Parameter(torch.tensor(1.0, dtype=torch.float64))  # gives x_T its dtype
        self.calls: list[tuple[int, torch.Tensor]] = []

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        self.calls.append((int(t[0]), x.clone()))
        s = t.to(x.dtype)[:, None, None, None] / 1000
        return self.scale * (torch.sin(1.7 * x + 3 * s) * (1 - s) + 0.4 * torch.tanh(x.roll(1, -1)) * torch.cos(5 * s))


@pytest.fixture
def same_noise(monkeypatch):
    """diffusers draws noise in the model's dtype, the zoo in float32 and then casts it (so that a seed gives
    the same images in every dtype); in float32 the two draw the same numbers. In float64, make diffusers
    draw as the zoo does."""
    def randn_tensor(shape, generator=None, device=None, dtype=None, layout=None):
        return torch.randn(shape, generator=generator).to(device=device, dtype=dtype)

    for module in (diffusers.schedulers.scheduling_ddpm, diffusers.schedulers.scheduling_ddim,
                   diffusers.pipelines.ddpm.pipeline_ddpm, diffusers.pipelines.ddim.pipeline_ddim):
        monkeypatch.setattr(module, "randn_tensor", randn_tensor)


def with_float64_schedule(scheduler):
    """diffusers keeps ᾱ in float32 (its β near t = 0 keeps ~4 digits); give it ours, in float64."""
    c = scheduler.config
    betas = torch.linspace(c.beta_start, c.beta_end, c.num_train_timesteps, dtype=torch.float64)
    scheduler.alphas_cumprod = torch.cumprod(1 - betas, dim=0)
    scheduler.one = scheduler.final_alpha_cumprod = torch.tensor(1.0, dtype=torch.float64)
    return scheduler


def float64_scheduler(name: str, spacing: str):
    """diffusers' scheduler from the repo's config (as DDIMPipeline converts it), ᾱ in float64."""
    cls = diffusers.DDPMScheduler if name == "ddpm" else diffusers.DDIMScheduler
    scheduler = cls.from_config(diffusers.DDPMScheduler.from_config(REPO_SCHEDULER).config, timestep_spacing=spacing)
    return with_float64_schedule(scheduler)


def diffusers_chain(scheduler, network: SmoothNetwork, steps: int, seed: int, eta: float | None) -> torch.Tensor:
    """The loop of diffusers' DDPMPipeline / DDIMPipeline."""
    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps.tolist()
    if len(timesteps) == steps + 1:  # diffusers' extra timestep -1 (see zoo.diffusion.RULES): not reproduced
        assert timesteps[-1] == -1
        timesteps = timesteps[:-1]
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(SHAPE, generator=generator).double()
    for t in timesteps:
        out = network(x, torch.full((SHAPE[0],), t))
        x = scheduler.step(out, t, x, generator=generator, **({} if eta is None else {"eta": eta})).prev_sample
    return x


def zoo_chain(network: SmoothNetwork, name: str, steps: int, seed: int, eta: float | None, **options) -> torch.Tensor:
    sampler = DDPMSampler() if name == "ddpm" else DDIMSampler()
    if eta is not None:
        options["eta"] = eta
    return sampler.sample(network, SHAPE, torch.Generator().manual_seed(seed), steps=steps, **options)


def assert_same_trajectory(ours: SmoothNetwork, theirs: SmoothNetwork, x_ours: torch.Tensor, x_theirs: torch.Tensor):
    assert [t for t, _ in ours.calls] == [t for t, _ in theirs.calls]
    worst = max((a - b).abs().max().item() for (_, a), (_, b) in zip(ours.calls, theirs.calls))
    assert max(worst, (x_ours - x_theirs).abs().max().item()) <= TOLERANCE


@pytest.mark.parametrize("name,eta", SAMPLERS)
@pytest.mark.parametrize("spacing,steps", CASES)
def test_the_diffusers_rules_give_diffusers_trajectories(same_noise, name, eta, spacing, steps):
    schedule = NoiseSchedule(**schedule_config(REPO_SCHEDULER))  # what zoo.load("ddpm-cifar") samples with
    assert (schedule.timestep_spacing, schedule.rules) == ("leading", "diffusers")
    ours, theirs = SmoothNetwork(schedule), SmoothNetwork(schedule)
    seed = 1000 + steps
    x_ours = zoo_chain(ours, name, steps, seed, eta, timestep_spacing=spacing)
    x_theirs = diffusers_chain(float64_scheduler(name, spacing), theirs, steps, seed, eta)
    assert len(ours.calls) == steps
    assert_same_trajectory(ours, theirs, x_ours, x_theirs)


@pytest.mark.parametrize("name,eta", SAMPLERS)
@pytest.mark.parametrize("steps", [30, 48, 61, 100])
def test_the_zoo_rules_agree_with_diffusers_on_the_leading_grid(same_noise, name, eta, steps):
    schedule = NoiseSchedule(**{**schedule_config(REPO_SCHEDULER), "rules": "zoo"})
    ours, theirs = SmoothNetwork(schedule), SmoothNetwork(schedule)
    x_ours = zoo_chain(ours, name, steps, 7, eta)
    x_theirs = diffusers_chain(float64_scheduler(name, "leading"), theirs, steps, 7, eta)
    assert_same_trajectory(ours, theirs, x_ours, x_theirs)


def test_where_the_zoo_rules_differ_from_diffusers(same_noise):
    schedule = NoiseSchedule(**{**schedule_config(REPO_SCHEDULER), "rules": "zoo"})
    # strided DDPM on the trailing grid: the same chain, but diffusers adds noise on its last step (t = 9)
    ours, theirs = SmoothNetwork(schedule), SmoothNetwork(schedule)
    x_ours = zoo_chain(ours, "ddpm", 100, 3, None, timestep_spacing="trailing")
    x_theirs = diffusers_chain(float64_scheduler("ddpm", "trailing"), theirs, 100, 3, None)
    assert [t for t, _ in ours.calls] == [t for t, _ in theirs.calls] and ours.calls[-1][0] == 9
    assert max((a - b).abs().max().item() for (_, a), (_, b) in zip(ours.calls, theirs.calls)) <= TOLERANCE
    assert (x_ours - x_theirs).abs().max() > 0.1
    # DDIM with 30 steps on the trailing grid: the zoo steps 999 → 966 → 932, diffusers 999 → 966 → 933
    ours, theirs = SmoothNetwork(schedule), SmoothNetwork(schedule)
    x_ours = zoo_chain(ours, "ddim", 30, 3, 0.0, timestep_spacing="trailing")
    x_theirs = diffusers_chain(float64_scheduler("ddim", "trailing"), theirs, 30, 3, 0.0)
    assert (ours.calls[1][1] - theirs.calls[1][1]).abs().max() <= TOLERANCE
    assert (ours.calls[2][1] - theirs.calls[2][1]).abs().max() > 1e-4
    assert (x_ours - x_theirs).abs().max() > 1e-4


@pytest.mark.parametrize("spacing", ["leading", "trailing", "linspace"])
def test_every_grid_is_diffusers_grid_under_its_rules(spacing):
    scheduler = diffusers.DDPMScheduler.from_config(REPO_SCHEDULER, timestep_spacing=spacing)
    extra, rounded = [], []
    for steps in range(1, 1001):
        scheduler.set_timesteps(steps)
        theirs = scheduler.timesteps.tolist()
        if len(theirs) == steps + 1:
            assert theirs[-1] == -1
            extra.append(steps)
        assert timestep_grid(1000, steps, spacing, rules="diffusers") == theirs[:steps]
        zoo = timestep_grid(1000, steps, spacing, rules="zoo")
        assert len(set(zoo)) == steps and zoo == sorted(zoo, reverse=True) and 0 <= zoo[-1] <= zoo[0] <= 999
        rounded += [steps] if zoo != theirs[:steps] else []
    if spacing == "leading":
        assert extra == rounded == []
    elif spacing == "trailing":  # np.arange's floats: a (k+1)-th point for 62 counts, other .5 ties for 50
        assert extra[:3] == [61, 103, 121] and len(extra) == 62
        assert rounded[:3] == [48, 96, 112] and len(rounded) == 50
    else:
        assert extra == [] and rounded[:3] == [27, 31, 47]


def test_steps_offset_shifts_the_leading_grid_as_diffusers():
    config = {**REPO_SCHEDULER, "steps_offset": 1}
    schedule = NoiseSchedule(**schedule_config(config))
    scheduler = diffusers.DDPMScheduler.from_config(config)
    scheduler.set_timesteps(50)
    assert schedule.timesteps(50) == scheduler.timesteps.tolist() == list(range(981, 0, -20))
    assert schedule.timesteps(50, "trailing")[-1] == 19  # the offset is the leading grid's only


@pytest.mark.slow
def test_zoo_load_ddpm_cifar_samples_as_the_repo_pipelines(hub_snapshot, same_noise):
    """The whole model: the zoo's default is DDIMPipeline's default on the repo's files (DDIM, 50 steps, η = 0,
    leading grid); ``sampler="ddpm"`` is DDPMPipeline (strided here, 20 steps, to stay fast)."""
    snapshot = hub_snapshot(REPO)
    unet = write_unet(snapshot, TINY_UNET).double()
    model = zoo.load("ddpm-cifar", dtype="float64")
    scheduler = diffusers.DDPMScheduler.from_pretrained(snapshot)

    def pipeline(cls, **kwargs):
        pipe = cls(unet=unet, scheduler=scheduler)
        with_float64_schedule(pipe.scheduler)
        pipe.set_progress_bar_config(disable=True)
        return pipe(batch_size=2, generator=torch.Generator().manual_seed(0), output_type="pt", **kwargs).images

    assert (model.sample(2, seed=0) - pipeline(diffusers.DDIMPipeline)).abs().max() <= TOLERANCE
    ddpm = model.sample(2, seed=0, sampler="ddpm", steps=20)
    assert (ddpm - pipeline(diffusers.DDPMPipeline, num_inference_steps=20)).abs().max() <= TOLERANCE
