"""``zoo eval`` for translators: for each direction, how well the translations land in the
target domain, how far they are from its real images, whether the round trip comes back,
and, for labelled domains of the same classes, whether the class survives.

For a direction X → Y, with N test images x of X (the source domain's test split):

- ``fd``: Fréchet distance between the features of the translations and of Y's real train
  images (the project's Fashion-MNIST classifier, penultimate layer); floor: Y's test images.
- ``target``: the share of translations a classifier puts in Y. For two classes of
  Fashion-MNIST, the project's 10-way classifier (the translation must be that class, not
  just "not X"); otherwise a small CNN trained here on X's and Y's train images
  (``zoo.metrics.probe``). Source only: the same share for the untranslated x; floor: for
  Y's real test images.
- ``cycle``: the mean absolute error of the round trip, ``|F(G(x)) - x|`` in [0, 1] pixels.
- ``class-kept``: the share of translations whose class a classifier of Y's style (a small
  CNN trained here on Y's labelled train images) reads as x's own label. Source only: the
  untranslated x through the same classifier, the baseline translation must beat (CyCADA's
  "source only"); floor: that classifier's accuracy on Y's real test images.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from zoo.errors import BadInputError

METRICS = {
    "fd": "Fréchet distance of the translations to the target domain (classifier features)",
    "target": "share of translations a classifier puts in the target domain (class)",
    "cycle": "mean |F(G(x)) - x| of the round trip, in [0, 1] pixels",
    "class-kept": "share of translations that keep their class (labelled domains of the same classes)",
}
DEFAULT_METRICS = ("fd", "target", "cycle", "class-kept")


def _fashion_class(source: str) -> int | None:
    """The Fashion-MNIST class index a data source selects, if it selects one."""
    from zoo.data import FASHION_MNIST_CLASSES, parse_source

    parsed = parse_source(source)
    if parsed.dataset != "fashion-mnist" or not parsed.class_name or parsed.size:
        return None
    name = parsed.class_name
    if name in FASHION_MNIST_CLASSES:
        return FASHION_MNIST_CLASSES.index(name)
    return int(name) if name.isdigit() and int(name) < len(FASHION_MNIST_CLASSES) else None


def _subset(n: int, size: int, seed: int) -> torch.Tensor:
    return torch.randperm(size, generator=torch.Generator().manual_seed(seed))[:n]


def _target_judge(model: Any, data: dict[str, Any], fashion: Any, fashion_classes: list[int | None], tgt: str,
                  batch_size: int) -> tuple[Callable[[torch.Tensor], float], str]:
    """A function giving the share of images a classifier puts in domain ``tgt``, and what it is."""
    from zoo.metrics import probe
    from zoo.metrics.evaluate import extract

    want = fashion_classes[0 if tgt == "a" else 1]
    if want is not None and None not in fashion_classes:  # two Fashion-MNIST classes: the project's classifier
        def share(images: torch.Tensor) -> float:
            return (extract(fashion, images, batch_size)[1].argmax(1) == want).float().mean().item()

        return share, f"the Fashion-MNIST classifier's class {want}"

    def domain_data() -> tuple[torch.Tensor, torch.Tensor, int]:
        a, b = data["a"]["train"].images, data["b"]["train"].images
        labels = torch.cat([torch.zeros(len(a), dtype=torch.long), torch.ones(len(b), dtype=torch.long)])
        return torch.cat([a, b]), labels, 2

    net, info = probe.cached_classifier({"task": "domain", "sources": list(model.domain_data), "split": "train"},
                                        domain_data)
    label = 1 if tgt == "b" else 0

    def share_cnn(images: torch.Tensor) -> float:
        return (probe.predict(net, images) == label).float().mean().item()

    return share_cnn, f"a CNN trained here on the two domains' train images ({info['train_images']} images)"


def evaluate_translator(model: Any, model_id: str, metrics: list[str] | None, *, num_samples: int, seed: int,
                        batch_size: int, device: Any, result: Any) -> Any:
    """Fill ``result`` (an ``EvalResult``) with the metrics of both directions; keys ``a2b.fd`` ..."""
    from zoo.data import load_source
    from zoo.metrics import probe, quality
    from zoo.metrics.classifier import classifier_digest, load_classifier
    from zoo.metrics.evaluate import extract

    chosen = list(metrics) if metrics else list(DEFAULT_METRICS)
    unknown = [m for m in chosen if m not in METRICS]
    if unknown:
        raise BadInputError(f"metric {', '.join(unknown)} is not one for translators; they take {', '.join(METRICS)}")
    if not all(model.domain_data):
        raise BadInputError(f"'{model_id}' does not name its domains' data (config.json domain_data), so there is"
                            " nothing to evaluate it on")
    data = {d: {split: load_source(model.domain_data[i], split) for split in ("train", "test")}
            for i, d in enumerate(("a", "b"))}
    # class-kept needs both domains labelled with the same classes (digits 0-9 in two hands), not
    # two single classes of one data set (sneakers and boots share no class to keep)
    labels = {d: set(data[d]["train"].labels.tolist()) for d in data}
    labelled = all(data[d]["train"].classes and min(labels[d]) >= 0 for d in data) and \
        data["a"]["train"].classes == data["b"]["train"].classes and labels["a"] == labels["b"] and len(labels["a"]) > 1
    if "class-kept" in chosen and not labelled:
        if metrics:
            raise BadInputError(f"metric class-kept needs two labelled domains of the same classes; '{model_id}'"
                                f" translates {model.domain_data[0]} ↔ {model.domain_data[1]}")
        chosen.remove("class-kept")
    fashion = load_classifier(device=device)
    fashion_classes = [_fashion_class(s) for s in model.domain_data]
    result.extractor = f"fashion-mnist-classifier@{classifier_digest()} penultimate"
    result.reference = "each direction: the source domain's test split translated; the target domain's real images"
    counts = []
    for direction, (src, tgt) in (("a2b", ("a", "b")), ("b2a", ("b", "a"))):
        source, target = data[src]["test"], data[tgt]["test"]
        idx = _subset(num_samples, len(source.images), seed)
        x, x_labels = source.images[idx], source.labels[idx]
        counts.append(f"{direction} {len(x)}")
        y = model.translate(x, direction, batch_size=batch_size)
        target_test = target.images[_subset(num_samples, len(target.images), seed)]
        key = direction + "."
        if "fd" in chosen:
            real = extract(fashion, data[tgt]["train"].images, batch_size)[0]
            result.scores[key + "fd"] = quality.frechet_distance(extract(fashion, y, batch_size)[0], real)
            result.baseline[key + "fd"] = quality.frechet_distance(extract(fashion, x, batch_size)[0], real)
            result.floor[key + "fd"] = quality.frechet_distance(extract(fashion, target_test, batch_size)[0], real)
        if "target" in chosen:
            in_target, note = _target_judge(model, data, fashion, fashion_classes, tgt, batch_size)
            result.notes.append(f"{direction} target: {note}")
            result.scores[key + "target"] = in_target(y)
            result.baseline[key + "target"] = in_target(x)
            result.floor[key + "target"] = in_target(target_test)
        if "cycle" in chosen:
            result.scores[key + "cycle"] = (model.cycle(x, direction, batch_size=batch_size) - x).abs().mean().item()
        if "class-kept" in chosen:
            tgt_source = model.domain_data[0 if tgt == "a" else 1]

            def class_data(tgt: str = tgt) -> tuple[torch.Tensor, torch.Tensor, int]:
                train = data[tgt]["train"]
                return train.images, train.labels, len(train.classes)

            net, info = probe.cached_classifier({"task": "class", "sources": [tgt_source], "split": "train"},
                                                class_data)
            result.scores[key + "class_kept"] = (probe.predict(net, y) == x_labels).float().mean().item()
            result.baseline[key + "class_kept"] = (probe.predict(net, x) == x_labels).float().mean().item()
            t_idx = _subset(num_samples, len(target.images), seed)
            result.floor[key + "class_kept"] = (probe.predict(net, target.images[t_idx])
                                                == target.labels[t_idx]).float().mean().item()
            result.notes.append(f"{direction} class-kept: a CNN trained here on {tgt_source} train"
                                f" ({info['train_images']} labelled images)")
    result.notes.insert(0, "test images per direction: " + ", ".join(counts))
    return result
