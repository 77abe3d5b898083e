"""The conformance kit itself (``zoo.testing``): it picks checks by capability, passes a plugin that
keeps the contract, and names each check a broken plugin fails."""

from __future__ import annotations

import pytest
import torch

import zoo
from zoo import ModelSpec, hookimpl
from zoo.interfaces import Generator
from zoo.testing import check_plugin, plugin_checks


class Noise(Generator):
    """A 1×8×8 generator that keeps the contract: uniform noise drawn from the given generator."""

    def __init__(self, scale: float = 1.0) -> None:
        super().__init__()
        self.image_shape = (1, 8, 8)
        self.scale = torch.nn.Parameter(torch.tensor(scale))

    def generate(self, n, generator, labels=None, **kwargs):
        return torch.rand(n, *self.image_shape, generator=generator) * self.scale


class Broken(Noise):
    """Ignores the seed (global random state) and makes 4×4 images for an 8×8 spec."""

    def generate(self, n, generator, labels=None, **kwargs):
        return torch.rand(n, 1, 4, 4)


def spec(id: str, factory: str, **kwargs) -> ModelSpec:
    return ModelSpec(id=id, factory=factory, family="gan", image_shape=(1, 8, 8), test_config={"scale": 0.5},
                     **kwargs)


class GoodPlugin:
    @hookimpl
    def register_models(self, register):
        register(spec("kit-good", "tests.test_testing:Noise", capabilities=("generator",)))


class BrokenPlugin:
    @hookimpl
    def register_models(self, register):
        # declares interpolation, which its type lacks
        register(spec("kit-broken", "tests.test_testing:Broken", capabilities=("generator", "interpolation")))


def test_checks_are_chosen_by_capability(register_plugin):
    register_plugin(GoodPlugin(), "kit-good")
    names = [c.name for c in plugin_checks("kit-good")]
    assert names == ["spec", "build", "sample", "determinism", "unknown_option", "round_trip", "metadata_only"]
    assert [c.id for c in plugin_checks("kit-good", ids=["kit-good"])][:2] == ["kit-good::spec", "kit-good::build"]


def test_a_plugin_that_keeps_the_contract_passes(register_plugin):
    register_plugin(GoodPlugin(), "kit-good")
    outcomes = {r.check.name: r.outcome for r in check_plugin("kit-good")}
    assert outcomes.pop("metadata_only") == "skipped"  # registered in-process, not through an entry point
    assert set(outcomes.values()) == {"passed"}


def test_a_broken_plugin_fails_the_checks_it_breaks(register_plugin):
    register_plugin(BrokenPlugin(), "kit-broken")
    with pytest.raises(AssertionError) as failed:
        check_plugin("kit-broken")
    report = str(failed.value)
    for name in ("build", "sample", "determinism", "interpolation"):
        assert f"kit-broken::{name}: " in report, report
    assert "kit-broken::spec:" not in report and "kit-broken::unknown_option:" not in report
    assert "spec declares ['generator', 'interpolation']" in report


def test_an_unknown_plugin_is_one_clear_error():
    with pytest.raises(zoo.PluginError, match="no-such-plugin registered no architecture"):
        plugin_checks("no-such-plugin")
