"""Reference maps: closed forms and exact discrete OT (via POT).

These are the ground truths the book scores learned maps against.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from . import _checks

__all__ = [
    "gaussian_ot_matrix",
    "gaussian_ot_map",
    "discrete_ot_map",
    "discrete_ot_plan",
    "monotone_rearrangement",
    "disk_to_gaussian_map",
]


def _sqrtm_psd(S):
    w, V = torch.linalg.eigh(S)
    return (V * w.clamp_min(0).sqrt()) @ V.T


def gaussian_ot_matrix(cov_s, cov_t):
    """The symmetric PD matrix ``A`` of the OT map between centred Gaussians:
    ``A = Σs^{-1/2} (Σs^{1/2} Σt Σs^{1/2})^{1/2} Σs^{-1/2}``."""
    cov_s = torch.as_tensor(cov_s, dtype=torch.float64)
    cov_t = torch.as_tensor(cov_t, dtype=torch.float64, device=cov_s.device)
    rs = _sqrtm_psd(cov_s)
    w, V = torch.linalg.eigh(cov_s)
    rs_inv = (V * w.clamp_min(1e-300).rsqrt()) @ V.T
    mid = _sqrtm_psd(rs @ cov_t @ rs)
    A = rs_inv @ mid @ rs_inv
    return 0.5 * (A + A.T)


def gaussian_ot_map(mean_s, cov_s, mean_t, cov_t):
    """Closed-form OT (Brenier) map between ``N(mean_s, cov_s)`` and ``N(mean_t, cov_t)``.

    Returns a callable ``T(x) = mean_t + A (x - mean_s)`` with attributes ``A``
    (the symmetric matrix) and ``b``.
    """
    mean_s = _checks.as_tensor(mean_s, "mean_s", ndim=1)
    mean_t = _checks.as_tensor(mean_t, "mean_t", ndim=1)
    d = mean_s.shape[0]
    if mean_t.shape[0] != d:
        raise ValueError(f"mean_t has {mean_t.shape[0]} entries but mean_s has {d}")
    cs = _checks.as_tensor(cov_s, "cov_s", ndim=2)
    ct = _checks.as_tensor(cov_t, "cov_t", ndim=2)
    for name, c in (("cov_s", cs), ("cov_t", ct)):
        if c.shape != (d, d):
            raise ValueError(f"{name} must have shape ({d}, {d}), got {tuple(c.shape)}")
        _checks.positive_definite(c.double(), name)
    A = gaussian_ot_matrix(cs.double(), ct.double())

    class _AffineMap:
        def __init__(self):
            self.A = A.float()
            self.b = mean_t - mean_s @ self.A
            self.dim = d

        def __call__(self, x):
            x = _checks.batch(torch.as_tensor(x, dtype=torch.float32), d, "x")
            A, b = self.A.to(x), self.b.to(x)
            return x @ A + b

        def jacobian(self, x):
            return self.A.to(x).expand(x.shape[0], d, d)

        def __repr__(self):
            return f"GaussianOTMap(dim={d})"

    return _AffineMap()


def _np(x, name):
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n, d), got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def discrete_ot_plan(xs, xt, a=None, b=None, method="emd", reg=0.05):
    """Exact (``ot.emd``) or entropic (``ot.sinkhorn``) plan between two point clouds,
    squared Euclidean cost. Weights default to uniform."""
    import ot

    xs, xt = _np(xs, "xs"), _np(xt, "xt")
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(f"xs and xt must have the same dimension, got {xs.shape[1]} and {xt.shape[1]}")
    a = np.full(len(xs), 1.0 / len(xs)) if a is None else np.asarray(a, np.float64) / np.sum(a)
    b = np.full(len(xt), 1.0 / len(xt)) if b is None else np.asarray(b, np.float64) / np.sum(b)
    M = ot.dist(xs, xt)
    if method == "emd":
        return ot.emd(a, b, M, numItermax=10_000_000)
    if method == "sinkhorn":
        reg = _checks.positive_float(reg, "reg")
        return ot.sinkhorn(a, b, M / M.max(), reg, numItermax=5000)
    raise ValueError(f"method must be 'emd' or 'sinkhorn', got {method!r}")


def discrete_ot_map(xs, xt, a=None, b=None, method="emd", reg=0.05):
    """Barycentric projection of the discrete OT plan: ``T(xs_i) = Σ_j π_ij xt_j / Σ_j π_ij``.

    Returns an ``(n, d)`` tensor of mapped source points (POT's ``ot.emd`` by
    default; ``method="sinkhorn"`` for the entropic plan).
    """
    plan = discrete_ot_plan(xs, xt, a, b, method=method, reg=reg)
    xt_np = _np(xt, "xt")
    mass = plan.sum(1, keepdims=True)
    mapped = plan @ xt_np / np.maximum(mass, 1e-300)
    return torch.as_tensor(mapped, dtype=torch.float32)


def monotone_rearrangement(source_samples, target_samples):
    """The 1-D OT map as a function: ``T = F_t^{-1} ∘ F_s`` from samples.

    Uses the empirical CDF of the source (linearly interpolated) and the
    empirical quantiles of the target. Returns a callable on 1-D arrays or
    ``(n, 1)`` tensors.
    """
    xs = np.sort(_np(source_samples, "source_samples")[:, 0])
    xt = np.sort(_np(target_samples, "target_samples")[:, 0])
    if xs.size < 2 or xt.size < 2:
        raise ValueError("monotone_rearrangement needs at least 2 samples of each")
    qs = (np.arange(xs.size) + 0.5) / xs.size
    qt = (np.arange(xt.size) + 0.5) / xt.size

    def T(x):
        is_t = isinstance(x, torch.Tensor)
        arr = x.detach().cpu().numpy() if is_t else np.asarray(x, dtype=np.float64)
        shape = arr.shape
        u = np.interp(arr.reshape(-1), xs, qs)
        y = np.interp(u, qt, xt).reshape(shape)
        return torch.as_tensor(y, dtype=torch.float32) if is_t else y

    return T


def disk_to_gaussian_map(x, radius=1.0, center=(0.0, 0.0), mean=(0.0, 0.0), std=1.0):
    """Closed-form OT map from the uniform disk to an isotropic Gaussian in 2-D.

    Both are radially symmetric, so the map is radial: a point at radius ``r``
    goes to radius ``ρ`` with equal CDFs, ``r²/R² = 1 - exp(-ρ²/(2σ²))``.
    """
    x = _checks.batch(torch.as_tensor(x, dtype=torch.float32), 2, "x")
    radius = _checks.positive_float(radius, "radius")
    std = _checks.positive_float(std, "std")
    c = torch.as_tensor(center, dtype=x.dtype, device=x.device)
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device)
    v = x - c
    r = v.norm(dim=1, keepdim=True)
    u = (r / radius).clamp(max=1.0 - 1e-7) ** 2
    rho = std * torch.sqrt(-2.0 * torch.log1p(-u))
    direction = v / r.clamp_min(1e-12)
    return m + rho * direction
