"""Metrics: L2-UVP, two-sample statistics, and monotonicity/convexity checks."""
from __future__ import annotations

import numpy as np
import torch

from . import _checks

__all__ = [
    "l2_uvp",
    "energy_distance",
    "sliced_wasserstein",
    "min_jacobian_eigenvalue",
    "monotonicity_gap",
    "transport_cost",
]


def _floating(x, name, device=None):
    """``x`` as a floating tensor: float64 stays float64, other input becomes float32."""
    if isinstance(x, torch.Tensor):
        if x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must be a real array of numbers, got {x.dtype}")
        t = x.detach()
        if t.dtype != torch.float64:
            t = t.float()
        return t if device is None else t.to(device)
    return _checks.as_tensor(x, name, device=device, allow_nan=True)


def _pair(a, b, na, nb):
    """Two point sets as ``(n, d)`` tensors on ``a``'s device, in a common dtype (float64 when
    either is float64, else float32); a tensor on another device is moved, not rejected."""
    a = _floating(a, na)
    b = _floating(b, nb, device=a.device)
    if a.dtype != b.dtype:
        a, b = a.double(), b.double()
    if a.ndim == 1:
        a = a[:, None]
    if b.ndim == 1:
        b = b[:, None]
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{na} and {nb} must be 2-D (n, d) arrays, got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"{na} and {nb} must have the same dimension, got {a.shape[1]} and {b.shape[1]}")
    if a.shape[0] == 0 or b.shape[0] == 0:
        raise ValueError(f"{na} and {nb} must each contain at least one point")
    _checks.check_finite(a, na)
    _checks.check_finite(b, nb)
    return a, b


def l2_uvp(pred, true, target_var):
    """Unexplained-variance percentage (Korotin et al. 2021):
    ``100 · E|T̂(x) − T*(x)|² / Var(target)``.

    ``target_var`` is the total variance of the target (trace of its covariance),
    a positive number, or an ``(m, d)`` sample of the target from which it is computed.
    """
    pred, true = _pair(pred, true, "pred", "true")
    if pred.shape[0] != true.shape[0]:
        raise ValueError(f"pred and true must have the same number of rows, got {pred.shape[0]} and {true.shape[0]}")
    if isinstance(target_var, (torch.Tensor, np.ndarray)) and target_var.ndim == 2:
        tv = _floating(torch.as_tensor(target_var), "target_var")
        if tv.shape[1] != pred.shape[1]:
            raise ValueError("target_var samples must have the same dimension as pred")
        if tv.shape[0] < 2:
            raise ValueError("target_var samples must have at least 2 rows")
        _checks.check_finite(tv, "target_var")
        target_var = float(tv.double().var(0).sum())
    target_var = _checks.positive_float(target_var, "target_var")
    mse = float(((pred.double() - true.double()) ** 2).sum(1).mean())
    return 100.0 * mse / target_var


def energy_distance(x, y):
    """Energy distance ``2E|X−Y| − E|X−X'| − E|Y−Y'|`` (≥ 0, 0 iff same law).

    Uses the unbiased (U-statistic) within-sample terms, so the expected value is
    0 when x and y come from the same distribution.
    """
    x, y = _pair(x, y, "x", "y")
    if x.shape[0] < 2 or y.shape[0] < 2:
        raise ValueError("energy_distance needs at least 2 samples in x and in y")
    x, y = x.double(), y.double()
    n, m = x.shape[0], y.shape[0]
    dxy = torch.cdist(x, y).mean()
    dxx = torch.cdist(x, x).sum() / (n * (n - 1))
    dyy = torch.cdist(y, y).sum() / (m * (m - 1))
    return float(2 * dxy - dxx - dyy)


def sliced_wasserstein(x, y, num_projections=256, seed=0):
    """Sliced 2-Wasserstein distance between two samples (equal sizes not needed)."""
    x, y = _pair(x, y, "x", "y")
    num_projections = _checks.positive_int(num_projections, "num_projections")
    seed = _checks.positive_int(seed, "seed", minimum=0)
    g = torch.Generator().manual_seed(seed)
    theta = torch.randn(x.shape[1], num_projections, generator=g).to(x)
    theta = theta / theta.norm(dim=0, keepdim=True)
    x, y, theta = x.double(), y.double(), theta.double()  # no float32 overflow for large coordinates
    px, _ = torch.sort(x @ theta, dim=0)
    py, _ = torch.sort(y @ theta, dim=0)
    q = torch.linspace(0, 1, max(x.shape[0], y.shape[0]), device=x.device)
    ix = (q * (x.shape[0] - 1)).round().long()
    iy = (q * (y.shape[0] - 1)).round().long()
    return float(((px[ix] - py[iy]) ** 2).mean().sqrt())


def min_jacobian_eigenvalue(model, x):
    """Smallest eigenvalue of the symmetrised Jacobian at each point, shape ``(n,)``.

    ``≥ 0`` everywhere for a monotone map; also reports how far the Jacobian
    is from symmetric via :func:`torch.linalg.eigvalsh` of ``(J + Jᵀ)/2``.
    ``x`` is moved to the model's device and dtype (:func:`~gradnetot.jacobian`).
    """
    from .loss import jacobian

    J = jacobian(model, x).detach()
    return torch.linalg.eigvalsh(0.5 * (J + J.transpose(1, 2)))[:, 0]


def monotonicity_gap(T, x, y=None):
    """``min ⟨T(x) − T(y), x − y⟩ / |x − y|²`` over pairs: ≥ 0 for a monotone map.

    ``y`` defaults to a random permutation of ``x``. The points are moved to the
    model's device and dtype.
    """
    if not callable(T):
        raise TypeError(f"T must be a callable map, got {type(T).__name__}")
    x = _checks.input_for(x, T, "x")
    if y is None:
        if x.shape[0] < 2:
            raise ValueError("monotonicity_gap needs at least 2 points")
        y = x[torch.randperm(x.shape[0], generator=torch.Generator().manual_seed(0)).to(x.device)]
    else:
        y = _checks.input_for(y, T, "y")
    x, y = _pair(x, y, "x", "y")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"x and y must have the same number of rows, got {x.shape[0]} and {y.shape[0]}")
    with torch.no_grad():
        tx, ty = T(x), T(y)
    tx, ty = _pair(tx, ty, "T(x)", "T(y)")
    tx, ty = tx.to(x), ty.to(x)
    diff = x - y
    sq = (diff * diff).sum(1)
    keep = sq > 1e-12
    if not bool(keep.any()):
        raise ValueError("x and y must contain at least one pair of distinct points")
    return float((((tx - ty) * diff).sum(1)[keep] / sq[keep]).min())


def transport_cost(x, tx):
    """Mean squared displacement ``E|T(x) − x|²``."""
    x, tx = _pair(x, tx, "x", "tx")
    if x.shape[0] != tx.shape[0]:
        raise ValueError(f"x and tx must have the same number of rows, got {x.shape[0]} and {tx.shape[0]}")
    return float(((tx.double() - x.double()) ** 2).sum(1).mean())
