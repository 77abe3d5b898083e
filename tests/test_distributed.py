"""Training on several processes (2 CPU processes on gloo, as Accelerate's debug launcher starts them):
every trainable architecture ends with the same weights on both ranks, and a model without
batch-dependent layers trained on 2 processes matches 1 process at twice the batch."""

from __future__ import annotations

import json
import time

import pytest
import torch

import zoo
from zoo.registry import import_object

from .conftest import architecture_ids

pytestmark = pytest.mark.slow


def trainable() -> list[str]:
    return [a for a in architecture_ids() if zoo.model_spec(a).trainer]


def _train(arch: str, data: str, out: str, batch_size: int, ema_decay: float = 0.999) -> None:
    from zoo.training import TrainConfig, train

    spec = zoo.model_spec(arch)
    sources = import_object(spec.trainer).data_sources
    size = zoo.create(arch, **spec.test_config).image_shape[-1]  # tiny configs may work on smaller images
    data = data + (f"@{size}" if size != 28 else "")
    train(TrainConfig(arch=arch, data=[data] * len(sources), out=out, epochs=1, batch_size=batch_size, max_steps=3,
                      model_config=spec.test_config, ema_decay=ema_decay, checkpoint_every=0), progress=False)


LAUNCH_TIMEOUT_S = 600


def launch(fn, *args) -> None:
    """``accelerate.debug_launcher(fn, args, num_processes=2)``, but in fresh interpreters on a free port.
    The debug launcher forks, and a fork of a process that has already run torch's OpenMP thread pool
    (any earlier test in the session) can hang the children at their first parallel operation."""
    import socket
    import tempfile

    from accelerate.utils import PrepareForLaunch, patch_environment
    from torch.multiprocessing import start_processes

    with socket.socket() as sock:  # another test run on this machine may hold accelerate's default port
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.NamedTemporaryFile() as rdv, patch_environment(
        world_size=2, master_addr="127.0.0.1", master_port=str(port), accelerate_mixed_precision="no",
        accelerate_debug_rdv_file=rdv.name, accelerate_use_cpu="yes", gloo_socket_ifname="lo",
    ):
        context = start_processes(PrepareForLaunch(fn, debug=True), args=args, nprocs=2, start_method="spawn",
                                  join=False)
        deadline = time.monotonic() + LAUNCH_TIMEOUT_S
        while not context.join(timeout=5):  # raises as soon as one process fails (and ends the other)
            if time.monotonic() > deadline:  # a hang fails this test instead of stalling the whole run
                for process in context.processes:
                    process.kill()
                pytest.fail(f"the two processes did not finish within {LAUNCH_TIMEOUT_S} s")


@pytest.mark.parametrize("arch", trainable())
def test_two_processes_stay_in_step(arch, tiny_fashion, tmp_path):
    launch(_train, arch, str(tiny_fashion), str(tmp_path / "run"), 8)
    info = json.loads((tmp_path / "run" / "model" / "training.json").read_text())
    assert info["processes"] == 2
    assert info["max_weight_difference_across_processes"] == 0.0
    assert info["images_seen"] == 3 * 8 * 2  # every process's share is counted


def test_two_processes_match_one_at_twice_the_batch(tiny_fashion, tmp_path):
    from zoo.weights import load_state_dict

    launch(_train, "ae", str(tiny_fashion), str(tmp_path / "two"), 8, 0.0)
    _train("ae", str(tiny_fashion), str(tmp_path / "one"), 16, 0.0)
    two = load_state_dict(tmp_path / "two" / "model" / "model.safetensors")
    one = load_state_dict(tmp_path / "one" / "model" / "model.safetensors")
    start = zoo.create("ae", **zoo.model_spec("ae").test_config).state_dict()
    for key in one:
        assert torch.allclose(two[key], one[key], atol=1e-5), key
    assert any(not torch.equal(one[k], start[k]) for k in one)  # the runs did train
