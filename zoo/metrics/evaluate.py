"""``zoo eval``: score a model against Fashion-MNIST, with the real-vs-real floor beside it.

Generated samples and real images go through the same extractor (the bundled
Fashion-MNIST classifier's penultimate layer). The reference is the train split;
the floor scores N test images against it with the same sizes and extractor, so
a score can be read against what real data gets.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from zoo.errors import BadInputError, DataError
from zoo.metrics import quality
from zoo.metrics.classifier import FashionClassifier, classifier_digest, load_classifier

METRICS = {
    "fd": "Fréchet distance in classifier features",
    "kid": "kernel distance (KID) in classifier features, ×1e3 is common; reported raw",
    "pr": "precision and recall (Kynkäänniemi et al. 2019), k = 3",
    "dc": "density and coverage (Naeem et al. 2020), k = 5",
    "class-acc": "share of samples of class k the classifier assigns to k (conditional models)",
    "bpd": "bits per dimension on the test split, or a seeded subset of --num-samples of its images (models "
           "with log_prob)",
    "fid": "Inception FID against the test split (needs --inception-weights)",
    "recon": "reconstructions of the test split, or a seeded subset of --num-samples of its images, through "
             "encode → decode (encoders): L1, MSE and PSNR per pixel, and the FD of the reconstructions to the "
             "train split (the best FD a latent diffusion model on this autoencoder can reach)",
}
DEFAULT_METRICS = ("fd", "kid", "pr")


@dataclass
class EvalResult:
    model: str
    num_samples: int
    seed: int
    scores: dict[str, float] = field(default_factory=dict)
    floor: dict[str, float] = field(default_factory=dict)
    baseline: dict[str, float] = field(default_factory=dict)  # translators: the untranslated inputs' scores
    reference: str = ""
    extractor: str = ""
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    sample_options: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        extra = {"source_only": self.baseline} if self.baseline else {}
        return {"model": self.model, **self.scores, "floor": self.floor, **extra, "num_samples": self.num_samples,
                "seed": self.seed, "sample_options": self.sample_options, "reference": self.reference,
                "extractor": self.extractor, "seconds": round(self.seconds, 1), "notes": self.notes}


# k-nearest-neighbour metrics need more samples than k (precision/recall: k = 3; density/coverage: k = 5)
MIN_SAMPLES = {"pr": 3 + 1, "dc": 5 + 1}


def parse_metrics(text: str | list[str] | tuple[str, ...]) -> list[str]:
    """Comma-separated metric names, checked against those of generators and of translators."""
    from zoo.metrics.translation import METRICS as TRANSLATION_METRICS

    known = {**METRICS, **TRANSLATION_METRICS}
    names = [m.strip().lower() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    unknown = [m for m in names if m not in known]
    if unknown or not names:
        raise BadInputError(f"unknown metric {', '.join(unknown) or '(none given)'}; choose from {', '.join(known)}")
    return list(dict.fromkeys(names))


def cache_dir() -> Path:
    root = os.environ.get("ZOO_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "zoo")
    return Path(root) / "features"


@torch.no_grad()
def extract(
    classifier: FashionClassifier, images: torch.Tensor, batch_size: int = 500
) -> tuple[torch.Tensor, torch.Tensor]:
    """Penultimate features (N, D) and logits (N, 10), batched to bound memory."""
    device = next(classifier.parameters()).device
    feats, logits = [], []
    for b in images.split(batch_size):
        f = classifier.features(b.to(device, torch.float32))
        feats.append(f.cpu())
        logits.append(classifier.backbone.get_classifier()(f).cpu())
    return torch.cat(feats), torch.cat(logits)


def reference_features(split: str, classifier: FashionClassifier) -> torch.Tensor:
    """Features of a Fashion-MNIST split, cached on disk under a key of the extractor's
    weights and the data files, so a changed classifier or data set is never mixed up."""
    import hashlib

    from safetensors.torch import load_file, save

    from zoo.data import fashion_mnist_dir, load_fashion_mnist
    from zoo.weights import atomic_write_bytes

    folder = fashion_mnist_dir()
    stamp = ";".join(f"{p.resolve()}:{p.stat().st_size}" for p in sorted(folder.glob("*idx*")))
    key = f"{classifier_digest()}-{split}-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}"
    path = cache_dir() / f"{key}.safetensors"
    if path.is_file():
        try:
            return load_file(str(path))["features"]
        except Exception:  # a damaged cache file is recomputed, never trusted
            path.unlink(missing_ok=True)
    images, _ = load_fashion_mnist(split)
    feats, _ = extract(classifier, images)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, save({"features": feats.contiguous()}))
    return feats


def _set_scores(out: dict[str, float], metrics: list[str], fake: torch.Tensor, real: torch.Tensor,
                real_subset: torch.Tensor, seed: int) -> None:
    if "fd" in metrics:
        out["fd"] = quality.frechet_distance(fake, real)
    if "kid" in metrics:
        out["kid"], out["kid_std"] = quality.kernel_distance(fake, real, seed=seed)
    if "pr" in metrics:
        out["precision"], out["recall"] = quality.precision_recall(fake, real_subset)
    if "dc" in metrics:
        out["density"], out["coverage"] = quality.density_coverage(fake, real_subset)


def evaluate(
    model_id: str,
    metrics: list[str] | tuple[str, ...] | None = None,
    *,
    num_samples: int = 10_000,
    seed: int = 0,
    batch_size: int = 500,
    device: str | None = None,
    inception_weights: str | None = None,
    sample_options: dict[str, Any] | None = None,
    model: Any = None,
    progress: bool = False,
) -> EvalResult:
    """Score a model. Args as in ``zoo eval --help``; ``metrics`` default to those of the model's
    role (``DEFAULT_METRICS`` for generators, ``zoo.metrics.translation.DEFAULT_METRICS`` for
    translators); ``sample_options`` go to ``model.sample`` (``sampler``, ``steps``, ``eta`` of
    diffusion models); ``model`` skips loading (for tests); ``progress`` shows a bar while the
    samples are drawn."""
    import zoo
    from zoo.api import resolve_device
    from zoo.interfaces import Encoder, Generator, Likelihood, Translator, check_count, require_role

    given = parse_metrics(list(metrics)) if metrics else None
    if isinstance(num_samples, bool) or not isinstance(num_samples, int) or num_samples <= 1:
        raise BadInputError(f"--num-samples must be an integer above 1, got {num_samples!r}")
    check_count(batch_size, "--batch-size")
    if "fid" in (given or ()):
        if not inception_weights:
            raise BadInputError("metric fid needs --inception-weights PATH (the standard pt_inception-2015-12-05 file);"
                                " nothing is downloaded")
        if not Path(inception_weights).is_file():
            raise BadInputError(f"Inception weights file {inception_weights} does not exist")
        from zoo.metrics.inception import read_inception_weights

        inception_state = read_inception_weights(inception_weights)  # read once, safely, before any work
    dev = resolve_device(device)
    t0 = time.perf_counter()
    model = model if model is not None else zoo.load(model_id, device=dev)
    if isinstance(model, Translator) and not ({"bpd", "fid"} & set(given or ())):
        from zoo.metrics.translation import evaluate_translator

        if sample_options:
            raise BadInputError(f"'{model_id}' is a translator; sampling options {sorted(sample_options)} do not apply")
        result = EvalResult(model_id, num_samples, seed)
        evaluate_translator(model, model_id, given, num_samples=num_samples, seed=seed, batch_size=batch_size,
                            device=dev, result=result)
        result.seconds = time.perf_counter() - t0
        return result
    # an autoencoder that does not generate is scored by how well it reconstructs
    metrics = given or (["recon"] if isinstance(model, Encoder) and not isinstance(model, Generator)
                        else list(DEFAULT_METRICS))
    too_few = [f"{m} needs at least {k}" for m, k in MIN_SAMPLES.items() if m in metrics and num_samples < k]
    if too_few:
        raise BadInputError(f"--num-samples {num_samples} is too few: {', '.join(too_few)}")
    from zoo.metrics.translation import METRICS as TRANSLATION_METRICS

    only_translation = [m for m in metrics if m in TRANSLATION_METRICS and m not in METRICS]
    if only_translation:
        raise BadInputError(f"metric {', '.join(only_translation)} is for translators; '{model_id}' is not one")
    if any(m not in ("bpd", "recon") for m in metrics):  # every other metric scores samples
        require_role(model, "generator", model_id)
    if "recon" in metrics:
        require_role(model, "encoder", model_id)
    if "bpd" in metrics and not isinstance(model, Likelihood):
        raise BadInputError(f"'{model_id}' has no log_prob, so no bits/dim; metric bpd needs a likelihood model")
    if "class-acc" in metrics and not model.conditional:
        raise BadInputError(f"'{model_id}' is not class-conditional; metric class-acc needs labels")
    if tuple(model.image_shape) != (1, 28, 28):
        raise BadInputError(
            f"'{model_id}' makes {model.image_shape} images; the evaluation set is 1×28×28 Fashion-MNIST"
        )

    from zoo.data import load_fashion_mnist

    try:
        test_images, test_labels = load_fashion_mnist("test")
    except DataError as err:
        raise DataError(f"evaluation needs the Fashion-MNIST reference data: {err}") from None
    result = EvalResult(model_id, num_samples, seed, sample_options=dict(sample_options or {}))
    feature_metrics = [m for m in metrics if m in ("fd", "kid", "pr", "dc", "class-acc")]
    if feature_metrics:
        classifier = load_classifier(device=dev)
        real = reference_features("train", classifier)
        gen = torch.Generator().manual_seed(seed)
        real_subset = real[torch.randperm(len(real), generator=gen)[:num_samples]]
        labels = None
        if model.conditional:
            labels = torch.arange(num_samples) % len(model.class_names)
        fake_images = model.sample(num_samples, seed=seed, batch_size=batch_size, **(sample_options or {}),
                                   labels=labels.tolist() if labels is not None else None, progress=progress)
        fake, fake_logits = extract(classifier, fake_images, batch_size)
        _set_scores(result.scores, metrics, fake, real, real_subset, seed)
        if "class-acc" in metrics and labels is not None:
            result.scores["class_acc"] = (fake_logits.argmax(1) == labels).float().mean().item()
        if num_samples > len(test_images):
            result.notes.append(f"floor uses all {len(test_images)} test images (fewer than {num_samples})")
        floor_idx = torch.randperm(len(test_images), generator=gen)[:num_samples]
        test_feats, test_logits = extract(classifier, test_images[floor_idx], batch_size)
        _set_scores(result.floor, metrics, test_feats, real, real_subset, seed)
        if "class-acc" in metrics:
            result.floor["class_acc"] = (test_logits.argmax(1) == test_labels[floor_idx]).float().mean().item()
        result.reference = f"fashion-mnist train ({len(real)} images; precision/recall/density/coverage on " \
                           f"{len(real_subset)} of them, seed {seed})"
        result.extractor = f"fashion-mnist-classifier@{classifier_digest()} penultimate ({real.shape[1]}-d)"
    if "recon" in metrics:
        _score_reconstructions(model, _test_subset(test_images, num_samples, seed, "recon", result), batch_size,
                               result, dev)
    if "bpd" in metrics:
        from zoo.interfaces import bits_per_dim

        gen = torch.Generator().manual_seed(seed)
        # a seeded subset, for models whose exact likelihood is slow (PixelCNN)
        scored = _test_subset(test_images, num_samples, seed, "bpd", result)
        with torch.no_grad():
            nll = torch.cat([-model.log_prob(b.to(dev), gen).double().cpu() for b in scored.split(batch_size)])
        result.scores["bpd"] = bits_per_dim(nll.mean(), scored[0].numel()).item()
        result.scores["nll_nats"] = nll.mean().item()
        if len(nll) > 1:  # the standard error of the mean over the images scored
            result.scores["bpd_se"] = bits_per_dim(nll.std() / len(nll) ** 0.5, scored[0].numel()).item()
        if not getattr(model, "exact_likelihood", True):
            result.notes.append("bpd is an upper bound: the model's log_prob is an ELBO (one posterior sample)")
    if "fid" in metrics:
        result.scores["fid"] = inception_fid(model, inception_state, num_samples, seed, batch_size, test_images,
                                             sample_options or {}, progress=progress)
        result.notes.append("fid: Inception features, test split as reference; comparable in kind to published FIDs")
    result.seconds = time.perf_counter() - t0
    return result


def _test_subset(test_images: torch.Tensor, num_samples: int, seed: int, metric: str,
                 result: EvalResult) -> torch.Tensor:
    """The whole test split, or a seeded subset of ``num_samples`` of its images (said in the notes)."""
    if num_samples >= len(test_images):
        return test_images
    result.notes.append(f"{metric} on {num_samples} of the {len(test_images)} test images (seed {seed})")
    return test_images[torch.randperm(len(test_images), generator=torch.Generator().manual_seed(seed))[:num_samples]]


def _score_reconstructions(model: Any, images: torch.Tensor, batch_size: int, result: EvalResult,
                           device: torch.device) -> None:
    """Per-pixel L1, MSE and PSNR of encode → decode on ``images``, and the FD of the reconstructions to
    the train split's features, with the FD of the images themselves as the floor."""
    with torch.no_grad():
        recon = torch.cat([model.reconstruct(b.to(device)).float().cpu() for b in images.split(batch_size)])
    err = recon.double() - images.double()
    mse = err.pow(2).mean()
    result.scores["recon_l1"] = err.abs().mean().item()
    result.scores["recon_mse"] = mse.item()
    result.scores["psnr"] = (10 * torch.log10(1 / mse)).item()  # images in [0, 1]: peak 1
    classifier = load_classifier(device=device)
    real = reference_features("train", classifier)
    result.scores["recon_fd"] = quality.frechet_distance(extract(classifier, recon, batch_size)[0], real)
    result.floor["recon_fd"] = quality.frechet_distance(extract(classifier, images, batch_size)[0], real)
    result.reference = result.reference or f"fashion-mnist train ({len(real)} images)"
    result.extractor = f"fashion-mnist-classifier@{classifier_digest()} penultimate ({real.shape[1]}-d)"


class _UInt8RGB(torch.utils.data.Dataset):
    """Images in [0, 1] as the uint8 3-channel tensors torch-fidelity takes."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int) -> torch.Tensor:
        return (self.images[i] * 255).round().to(torch.uint8).expand(3, -1, -1).contiguous()


def inception_fid(model: Any, weights: str | dict[str, torch.Tensor], num_samples: int, seed: int, batch_size: int,
                  test_images: torch.Tensor, sample_options: dict[str, Any], progress: bool = False) -> float:
    """Inception FID with torch-fidelity's network and statistics, from a local weights file or the state
    dict read from one.

    The file is read once, with ``weights_only=True`` (nothing in it can run); torch-fidelity gets the
    loaded weights, never the path (``zoo.metrics.inception``).
    """
    from zoo.metrics.inception import fid, inception_extractor, read_inception_weights

    state = weights if isinstance(weights, dict) else read_inception_weights(weights)
    extractor = inception_extractor(state)
    fake = model.sample(num_samples, seed=seed, batch_size=batch_size, progress=progress, **sample_options)
    return fid(extractor, _UInt8RGB(fake), _UInt8RGB(test_images), batch_size)
