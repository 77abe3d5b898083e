"""The out-of-tree example plugin (examples/zoo-autoencoder), installed as its own distribution."""

from __future__ import annotations

from importlib import metadata

import torch
from click.testing import CliRunner

import zoo
from zoo.cli import cli


def test_it_is_a_separate_distribution_found_through_the_entry_point():
    eps = {ep.name: ep for ep in metadata.entry_points(group="zoo")}
    assert eps["autoencoder"].value == "zoo_autoencoder"
    assert eps["autoencoder"].dist.metadata["Name"] == "zoo-autoencoder"
    assert zoo.model_spec("ae").plugin == "autoencoder"


def test_it_lists_and_its_shipped_weights_load():
    listing = CliRunner().invoke(cli, ["list", "ae*"]).output
    assert "ae-fashion" in listing and "bundled" in listing
    model = zoo.load("ae-fashion")
    images = model.sample(4, seed=0)
    assert images.shape == (4, 1, 28, 28) and torch.equal(images, model.sample(4, seed=0))
    # the fitted code distribution is not the untrained identity
    assert not torch.equal(model.latent_scale_tril, torch.eye(model.z_dim))
