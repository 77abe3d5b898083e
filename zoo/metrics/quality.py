"""Distances between two sets of features (N, D): the maths of sample quality.

Fréchet distance and KID come from torch-fidelity's feature-to-metric functions
(the code behind its published FID/KID), precision and recall too
(Kynkäänniemi et al. 2019); density and coverage (Naeem et al. 2020) are written
here. Convention everywhere: ``fake`` are generated features, ``real`` the reference.
"""

from __future__ import annotations

import numpy as np
import torch


def gaussian_stats(features: torch.Tensor) -> dict[str, np.ndarray]:
    """Mean (D,) and covariance (D, D) in float64, as torch-fidelity's FID expects."""
    f = features.double().cpu().numpy()
    return {"mu": f.mean(axis=0), "sigma": np.cov(f, rowvar=False)}


def frechet_distance(fake: torch.Tensor, real: torch.Tensor) -> float:
    """||mu_f - mu_r||² + Tr(S_f + S_r - 2 (S_f S_r)^½) (Heusel et al. 2017, eq. 6)."""
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    return float(fid_statistics_to_metric(gaussian_stats(fake), gaussian_stats(real), verbose=False)[KEY_METRIC_FID])


def kernel_distance(fake: torch.Tensor, real: torch.Tensor, *, subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018): unbiased MMD² with the cubic polynomial kernel,
    mean and std over random subsets. Returns (mean, std)."""
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    size = min(subset_size, len(fake), len(real))
    out = kid_features_to_metric(fake.double(), real.double(), kid_subsets=subsets, kid_subset_size=size,
                                 kid_kernel="poly", kid_kernel_poly_degree=3, kid_kernel_poly_gamma=None,
                                 kid_kernel_poly_coef0=1, rng_seed=seed, verbose=False)
    return float(out[KEY_METRIC_KID_MEAN]), float(out[KEY_METRIC_KID_STD])


def precision_recall(fake: torch.Tensor, real: torch.Tensor, k: int = 3) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls.

    Precision: share of fake samples inside some real sample's k-NN ball (fidelity);
    recall: share of real samples inside some fake sample's ball (diversity).
    """
    from torch_fidelity.metric_prc import KEY_METRIC_PRECISION, KEY_METRIC_RECALL, prc_features_to_metric

    out = prc_features_to_metric(fake.float(), real.float(), prc_neighborhood=k, prc_batch_size=2000,
                                 save_cpu_ram=True, verbose=False)
    return float(out[KEY_METRIC_PRECISION]), float(out[KEY_METRIC_RECALL])


def _kth_neighbour_radius(x: torch.Tensor, k: int, batch: int = 2000) -> torch.Tensor:
    """Distance from each row of x to its k-th nearest other row, (N,)."""
    return torch.cat([torch.cdist(b, x).kthvalue(k + 1, dim=1).values for b in x.split(batch)])


def density_coverage(fake: torch.Tensor, real: torch.Tensor, k: int = 5, batch: int = 2000) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020, eqs. 3 and 4).

    Density: mean over fake samples of how many real k-NN balls contain it, divided by k
    (1 when fakes sit like reals; above 1 when they crowd the dense regions).
    Coverage: share of real samples whose k-NN ball contains at least one fake.
    """
    real, fake = real.float(), fake.float()
    radii = _kth_neighbour_radius(real, k, batch)  # (N_real,)
    inside = torch.zeros(len(real), dtype=torch.bool)
    count = 0.0
    for b in fake.split(batch):
        within = torch.cdist(b, real) <= radii[None, :]  # (B, N_real)
        count += within.sum().item()
        inside |= within.any(dim=0)
    density = count / (k * len(fake))
    return float(density), float(inside.float().mean().item())
