"""Load a diffusers ``UNet2DModel`` repo (``google/ddpm-cifar10-32``) as a zoo ``DDPM``.

Such a repo has diffusers' own files, not the zoo's: ``config.json`` (a ``UNet2DModel``
config, no ``architecture`` key), ``diffusion_pytorch_model.safetensors`` and
``scheduler_config.json``. ``load_diffusers_folder`` is the spec's ``loader``: it maps
both configs onto ``DDPM``'s and the state dict onto ``DDPM.unet`` by name. Only
JSON and safetensors are read; nothing is unpickled or executed.

The model samples as diffusers samples the repo: the scheduler config's grid
(``timestep_spacing``, diffusers' default ``leading`` when it names none), ``steps_offset``,
variance and clipping become the schedule's, and its samplers follow diffusers' rules
(``rules="diffusers"``, see ``zoo.diffusion.RULES``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from zoo import weights as W
from zoo.diffusion import TIMESTEP_SPACINGS
from zoo.errors import WeightsError

SCHEDULER_CONFIG_NAME = "scheduler_config.json"

# The UNet2DModel defaults (diffusers 0.x) that a config.json may leave out.
UNET_DEFAULTS: dict[str, Any] = {
    "sample_size": None, "in_channels": 3, "out_channels": 3, "center_input_sample": False,
    "time_embedding_type": "positional", "freq_shift": 0, "flip_sin_to_cos": True,
    "down_block_types": ("DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"),
    "up_block_types": ("AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"),
    "mid_block_type": "UNetMidBlock2D", "block_out_channels": (224, 448, 672, 896), "layers_per_block": 2,
    "mid_block_scale_factor": 1, "downsample_padding": 1, "downsample_type": "conv", "upsample_type": "conv",
    "dropout": 0.0, "act_fn": "silu", "attention_head_dim": 8, "norm_num_groups": 32, "attn_norm_num_groups": None,
    "norm_eps": 1e-5, "resnet_time_scale_shift": "default", "add_attention": True, "class_embed_type": None,
    "num_class_embeds": None, "time_embedding_dim": None,
}
# Settings of UNet2DModel our UNet2D does not implement: the value it must have.
UNET_REQUIRED = {
    "center_input_sample": False, "time_embedding_type": "positional", "mid_block_type": "UNetMidBlock2D",
    "mid_block_scale_factor": 1, "downsample_type": "conv", "upsample_type": "conv", "act_fn": "silu",
    "resnet_time_scale_shift": "default", "add_attention": True, "class_embed_type": None, "num_class_embeds": None,
    "time_embedding_dim": None,
}
# config.json of google/ddpm-cifar10-32, the repo this loader is written for (as in the snapshots 16ad61fe,
# ff056c9d and 267b167d seen on the Hub): the offline equivalence test and bench/ddpm_peers.py build
# diffusers' UNet2DModel from it.
CIFAR_UNET = {
    "sample_size": 32, "in_channels": 3, "out_channels": 3, "block_out_channels": (128, 256, 256, 256),
    "layers_per_block": 2, "down_block_types": ("DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "UpBlock2D", "AttnUpBlock2D", "UpBlock2D"), "attention_head_dim": None,
    "norm_num_groups": 32, "norm_eps": 1e-6, "resnet_time_scale_shift": "default", "freq_shift": 1,
    "flip_sin_to_cos": False, "act_fn": "silu", "center_input_sample": False, "downsample_padding": 0,
    "time_embedding_type": "positional", "dropout": 0.1, "mid_block_scale_factor": 1,
}
# scheduler_config.json of the repo (it names no timestep_spacing: diffusers' default, "leading")
CIFAR_SCHEDULER = {"num_train_timesteps": 1000, "beta_schedule": "linear", "beta_start": 1e-4, "beta_end": 0.02,
                   "variance_type": "fixed_large", "clip_sample": True}
# diffusers' DDPMScheduler/DDIMScheduler defaults of the sampling settings a config may leave out
SCHEDULER_SAMPLING_DEFAULTS: dict[str, Any] = {"timestep_spacing": "leading", "steps_offset": 0,
                                               "set_alpha_to_one": True}
# Old diffusers names of the attention layers (before 0.14) → today's (diffusers converts them the same way).
ATTENTION_RENAMES = {"query": "to_q", "key": "to_k", "value": "to_v", "proj_attn": "to_out.0"}


def unet_config(diffusers_config: dict[str, Any], where: str = "config.json") -> dict[str, Any]:
    """Map a ``UNet2DModel`` config onto the UNet keyword arguments of ``DDPM``."""
    cfg = {**UNET_DEFAULTS, **diffusers_config}
    if cfg.get("_class_name", "UNet2DModel") != "UNet2DModel":
        raise WeightsError(f"{where} describes a {cfg['_class_name']}, not a diffusers UNet2DModel")
    unsupported = [f"{k}={cfg[k]!r}" for k, v in UNET_REQUIRED.items() if cfg[k] != v]
    down, up = list(cfg["down_block_types"]), list(cfg["up_block_types"])
    channels = list(cfg["block_out_channels"])
    if not len(down) == len(up) == len(channels):
        unsupported.append("block lists of different lengths")
    known = {"DownBlock2D", "AttnDownBlock2D", "UpBlock2D", "AttnUpBlock2D"}
    unsupported += [f"block type {b}" for b in down + up if b not in known]
    attention = [b == "AttnDownBlock2D" for b in down]
    if [b == "AttnUpBlock2D" for b in reversed(up)] != attention:
        unsupported.append("attention in the up path that does not mirror the down path")
    if cfg["attn_norm_num_groups"] not in (None, cfg["norm_num_groups"]):
        unsupported.append(f"attn_norm_num_groups={cfg['attn_norm_num_groups']}")
    if cfg["out_channels"] != cfg["in_channels"]:
        unsupported.append("out_channels != in_channels")
    if unsupported:
        raise WeightsError(f"{where}: this diffusers UNet2DModel is not supported ({'; '.join(unsupported)})")
    size = cfg["sample_size"]
    if not isinstance(size, int):
        raise WeightsError(f"{where} has no integer sample_size (got {size!r})")
    return {
        "image_size": size, "in_channels": cfg["in_channels"], "block_out_channels": channels,
        "layers_per_block": cfg["layers_per_block"],
        "attention_resolutions": [-(-size // 2**i) for i, a in enumerate(attention) if a],
        "attention_head_dim": cfg["attention_head_dim"], "norm_num_groups": cfg["norm_num_groups"],
        "norm_eps": cfg["norm_eps"], "dropout": cfg["dropout"], "downsample_padding": cfg["downsample_padding"],
        "flip_sin_to_cos": cfg["flip_sin_to_cos"], "freq_shift": cfg["freq_shift"],
    }


def schedule_config(scheduler_config: dict[str, Any], where: str = SCHEDULER_CONFIG_NAME) -> dict[str, Any]:
    """Map a ``DDPMScheduler`` config (or the 2022 ``GaussianDDPMScheduler`` one) onto ``DDPM``'s schedule.

    Args:
        scheduler_config: The parsed ``scheduler_config.json``.
        where: Its path, for error messages.

    Returns:
        ``DDPM`` keyword arguments: the noise schedule, the grid (``timestep_spacing``,
        ``steps_offset``; diffusers' defaults where the file names none) and ``rules="diffusers"``.

    Raises:
        WeightsError: A setting the zoo's samplers do not reproduce.
    """
    cfg = {**SCHEDULER_SAMPLING_DEFAULTS, **scheduler_config}
    schedules = {"linear": "linear", "squaredcos_cap_v2": "cosine"}
    if cfg.get("beta_schedule", "linear") not in schedules or cfg.get("trained_betas") is not None:
        raise WeightsError(f"{where}: beta_schedule {cfg.get('beta_schedule')!r} is not supported (linear, "
                           "squaredcos_cap_v2)")
    if cfg.get("thresholding") or cfg.get("rescale_betas_zero_snr") or cfg.get("clip_sample_range", 1.0) != 1.0:
        raise WeightsError(f"{where}: thresholding, zero-SNR rescaling and clip ranges other than 1 are not supported")
    prediction = cfg.get("prediction_type", "epsilon")
    variance = cfg.get("variance_type", "fixed_small")
    if prediction not in ("epsilon", "v_prediction") or variance not in ("fixed_small", "fixed_large"):
        raise WeightsError(f"{where}: prediction_type {prediction!r} / variance_type {variance!r} are not supported")
    if cfg["timestep_spacing"] not in TIMESTEP_SPACINGS:
        raise WeightsError(f"{where}: timestep_spacing {cfg['timestep_spacing']!r} is not supported"
                           f" ({', '.join(TIMESTEP_SPACINGS)})")
    offset = cfg["steps_offset"]
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise WeightsError(f"{where}: steps_offset must be an integer >= 0, got {offset!r}")
    if cfg["set_alpha_to_one"] is not True:  # DDIM's last step would end at ᾱ_0 instead of the data
        raise WeightsError(f"{where}: set_alpha_to_one={cfg['set_alpha_to_one']!r} is not supported")
    return {
        "num_train_timesteps": cfg.get("num_train_timesteps", cfg.get("timesteps", 1000)),
        "beta_schedule": schedules[cfg.get("beta_schedule", "linear")],
        "beta_start": cfg.get("beta_start", 1e-4), "beta_end": cfg.get("beta_end", 0.02),
        "prediction_type": prediction, "clip_sample": cfg.get("clip_sample", True), "variance_type": variance,
        "timestep_spacing": cfg["timestep_spacing"], "steps_offset": offset, "rules": "diffusers",
    }


def state_dict_from_diffusers(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename a ``UNet2DModel`` state dict to ``DDPM``'s: the same names under ``unet.``, with
    old attention names (``query``/``key``/``value``/``proj_attn``) renamed and 1×1-conv
    attention weights squeezed to linear ones."""
    out = {}
    for key, value in state.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[-2] in ATTENTION_RENAMES and "attentions" in parts:
            parts[-2:-1] = ATTENTION_RENAMES[parts[-2]].split(".")
            if value.ndim == 4 and parts[-1] == "weight":
                value = value[:, :, 0, 0]
        out["unet." + ".".join(parts)] = value
    return out


def load_diffusers_folder(folder: Path, spec: Any) -> Any:
    """Build a ``DDPM`` from a diffusers repo folder (the ``loader`` of a ``ModelSpec``).

    Args:
        folder: Holds ``config.json``, ``scheduler_config.json`` and the weights file ``spec.hub_weights_file``.
        spec: The model's spec; its ``config`` supplies defaults (sampler, steps) the repo does not.

    Returns:
        The ``DDPM``, sampling with the repo's scheduler settings and diffusers' rules.
    """
    import zoo

    folder = Path(folder)
    config = {
        **spec.config,
        **unet_config(W.read_json(folder / W.CONFIG_NAME), f"{folder / W.CONFIG_NAME}"),
        **schedule_config(W.read_json(folder / SCHEDULER_CONFIG_NAME), f"{folder / SCHEDULER_CONFIG_NAME}"),
    }
    model = zoo.create(spec.architecture, **config)
    weights_file = folder / spec.hub_weights_file
    state = state_dict_from_diffusers(W.load_state_dict(weights_file))
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise WeightsError(f"{weights_file} does not fit its config.json: {' '.join(first[:3])}") from None
    model.zoo_spec = spec
    return model
