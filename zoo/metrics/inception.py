"""Inception FID (Heusel et al. 2017) from a weights file the user gives, read once and safely.

torch-fidelity's ``FeatureExtractorInceptionV3`` opens its weights file itself, with full unpickling
(``torch.load`` with ``weights_only`` off): a file swapped between a check and that load would run
code. Here the file is read once into memory and parsed with ``weights_only=True`` (or as
safetensors); the loaded tensors go into torch-fidelity's own network, built below layer by layer
as its constructor builds it (its blocks, its TensorFlow-compatible resize and its ``forward``), and
torch-fidelity's feature-to-metric functions give the score. The path is never opened again.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch

from zoo.errors import BadInputError


def read_inception_weights(path: Path | str) -> dict[str, torch.Tensor]:
    """The state dict in a weights file, read once: safetensors, or a torch file of plain tensors
    (``weights_only=True``: anything that would run code when unpickled is refused).

    Raises:
        BadInputError: The file is missing, would run code, or is not a dict of tensors.
    """
    path = Path(path)
    try:
        data = path.read_bytes()  # the only time the file is opened
    except OSError as err:
        raise BadInputError(f"cannot read Inception weights {path}: {err.strerror or err}") from None
    if data[8:9] == b"{":  # safetensors: an 8-byte header length, then the JSON header
        from safetensors.torch import load

        try:
            state: Any = load(data)
        except Exception as err:
            raise BadInputError(f"{path} is not a valid safetensors file ({err})") from None
    else:
        try:
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
        except Exception as err:
            reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
            raise BadInputError(f"{path} is not a plain Inception state dict; refusing to unpickle it "
                                f"({reason[:200]})") from None
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise BadInputError(f"{path} does not hold a state dict (names to tensors)")
    return state


def inception_network() -> Any:
    """torch-fidelity's Inception-v3 feature extractor (``"2048"`` pool features), randomly initialised:
    its layers built here as its constructor builds them, without the constructor's file read."""
    import torch_fidelity.feature_extractor_inceptionv3 as tf

    class SafeInceptionV3(tf.FeatureExtractorInceptionV3):
        """``FeatureExtractorInceptionV3`` whose weights are given afterwards, not read from a path."""

        def __init__(self) -> None:
            tf.FeatureExtractorBase.__init__(self, "inception-v3-compat", ["2048"])
            self.feature_extractor_internal_dtype = torch.float32
            # the layers of torch-fidelity's constructor, in its order (tests/test_safety.py checks them)
            self.Conv2d_1a_3x3 = tf.BasicConv2d(3, 32, kernel_size=3, stride=2)
            self.Conv2d_2a_3x3 = tf.BasicConv2d(32, 32, kernel_size=3)
            self.Conv2d_2b_3x3 = tf.BasicConv2d(32, 64, kernel_size=3, padding=1)
            self.MaxPool_1 = torch.nn.MaxPool2d(kernel_size=3, stride=2)
            self.Conv2d_3b_1x1 = tf.BasicConv2d(64, 80, kernel_size=1)
            self.Conv2d_4a_3x3 = tf.BasicConv2d(80, 192, kernel_size=3)
            self.MaxPool_2 = torch.nn.MaxPool2d(kernel_size=3, stride=2)
            self.Mixed_5b = tf.InceptionA(192, pool_features=32)
            self.Mixed_5c = tf.InceptionA(256, pool_features=64)
            self.Mixed_5d = tf.InceptionA(288, pool_features=64)
            self.Mixed_6a = tf.InceptionB(288)
            self.Mixed_6b = tf.InceptionC(768, channels_7x7=128)
            self.Mixed_6c = tf.InceptionC(768, channels_7x7=160)
            self.Mixed_6d = tf.InceptionC(768, channels_7x7=160)
            self.Mixed_6e = tf.InceptionC(768, channels_7x7=192)
            self.Mixed_7a = tf.InceptionD(768)
            self.Mixed_7b = tf.InceptionE_1(1280)
            self.Mixed_7c = tf.InceptionE_2(2048)
            self.AvgPool = torch.nn.AdaptiveAvgPool2d(output_size=(1, 1))
            self.fc = torch.nn.Linear(2048, 1008)

    network = SafeInceptionV3()
    network.requires_grad_(False)
    return network.eval()


def inception_extractor(state_dict: dict[str, torch.Tensor]) -> Any:
    """``inception_network()`` holding ``state_dict``.

    Raises:
        BadInputError: The tensors are not those of torch-fidelity's Inception-v3.
    """
    network = inception_network()
    try:
        network.load_state_dict(state_dict)
    except RuntimeError as err:
        first = " ".join(str(err).strip().splitlines()[:2])
        raise BadInputError(f"the weights are not torch-fidelity's Inception-v3 (pt_inception-2015-12-05): "
                            f"{first[:300]}") from None
    return network


def fid(extractor: Any, fake: torch.utils.data.Dataset, real: torch.utils.data.Dataset, batch_size: int) -> float:
    """Fréchet distance between the extractor's features of two data sets of uint8 ``(3, H, W)`` images,
    with torch-fidelity's feature extraction and statistics."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.utils import get_featuresdict_from_dataset

    cuda = torch.cuda.is_available()
    extractor = extractor.cuda() if cuda else extractor
    layer = extractor.get_requested_features_list()[0]  # "2048" for Inception-v3
    stats = []
    for images in (fake, real):
        features = get_featuresdict_from_dataset(images, extractor, batch_size, cuda, True, False)[layer]
        stats.append(fid_features_to_statistics(features.double()))
    return float(fid_statistics_to_metric(stats[0], stats[1], False)[KEY_METRIC_FID])
