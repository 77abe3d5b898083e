"""The contract every registered architecture and sampler keeps: the conformance kit (``zoo.testing``)
run over every installed plugin, exactly as a third-party plugin runs it in its own repository
(``parametrize_with_checks(plugin="NAME")``). The checks live in the kit only."""

from __future__ import annotations

import zoo
from zoo.testing import parametrize_with_checks


@parametrize_with_checks()
def test_contract(check, tmp_path):
    check(tmp_path)


def test_every_role_has_an_architecture():
    archs = zoo.list_models(pretrained=False)
    assert {"vae", "dcgan", "cyclegan", "ddpm", "pixelcnn", "ldm"} <= set(archs)
    for role in ("generator", "translation", "encoder", "likelihood"):
        assert any(role in zoo.model_spec(a).capabilities for a in archs), role
