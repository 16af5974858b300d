"""Reference maps: closed forms and exact discrete OT (via POT).

These are the ground truths the book scores learned maps against.
"""
from __future__ import annotations

import math
import warnings

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
        jacobian_is_spd = True  # A is symmetric positive definite

        def __init__(self):
            self._A64 = A
            self._b64 = mean_t.double() - mean_s.double() @ A
            self.A = A.float()
            self.b = self._b64.float()
            self.dim = d

        def __call__(self, x):
            x = _input(x, d)
            return x @ self._A64.to(x) + self._b64.to(x)

        def jacobian(self, x):
            x = _input(x, d)
            return self._A64.to(x).expand(x.shape[0], d, d)

        def forward_and_jacobian(self, x):
            x = _input(x, d)
            return self(x), self.jacobian(x)

        def __repr__(self):
            return f"GaussianOTMap(dim={d})"

    return _AffineMap()


def _input(x, d, name="x"):
    """A finite (n, d) floating tensor: a tensor keeps its device and floating dtype (float64
    stays float64), anything else becomes float32 on the CPU."""
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point():
            if x.dtype == torch.bool or x.is_complex():
                raise TypeError(f"{name} must be a real floating-point tensor, got {x.dtype}")
            x = x.float()
    else:
        x = _checks.as_tensor(x, name)
    x = _checks.batch(x, d, name)
    return _checks.check_finite(x, name)


def _np(x, name):
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        x = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an (n, d) array of numbers, got {type(x).__name__}") from exc
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] == 0:
        raise ValueError(f"{name} must have shape (n, d) with d >= 1, got {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def _weights(w, n, name):
    if w is None:
        return np.full(n, 1.0 / n)
    if isinstance(w, torch.Tensor):
        w = w.detach().cpu().numpy()
    try:
        w = np.asarray(w, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of {n} non-negative weights") from exc
    if w.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
        raise ValueError(f"{name} must be finite, non-negative and not all zero")
    return w / w.sum()


SINKHORN_TOL = 1e-6  # largest accepted marginal error (L1) of an entropic plan


def discrete_ot_plan(xs, xt, a=None, b=None, method="emd", reg=None, num_iter=20_000):
    """Exact (``ot.emd``) or entropic plan between two point clouds, squared Euclidean cost.

    Weights default to uniform. ``method="sinkhorn"`` solves the entropic problem with
    POT's log-domain solver (``ot.sinkhorn(..., method="sinkhorn_log")``), which is stable
    for small ``reg``. ``reg`` follows POT's convention: the entropic weight in the same
    units as the cost ``|x - y|²`` (not a fraction of it); the default ``None`` is
    ``0.05 · max |x_i - y_j|²``. A plan whose marginals are off by more than
    ``SINKHORN_TOL`` (L1) after ``num_iter`` iterations is returned with a
    ``RuntimeWarning`` that gives the marginal error: raise ``reg`` or ``num_iter``.
    """
    import ot

    xs, xt = _np(xs, "xs"), _np(xt, "xt")
    if xs.shape[1] != xt.shape[1]:
        raise ValueError(f"xs and xt must have the same dimension, got {xs.shape[1]} and {xt.shape[1]}")
    if len(xs) == 0 or len(xt) == 0:
        raise ValueError("xs and xt must each contain at least one point")
    a = _weights(a, len(xs), "a")
    b = _weights(b, len(xt), "b")
    M = ot.dist(xs, xt)
    if not isinstance(method, str) or method not in ("emd", "sinkhorn"):
        raise ValueError(f"method must be 'emd' or 'sinkhorn', got {method!r}")
    if method == "emd":
        return ot.emd(a, b, M, numItermax=10_000_000)
    if reg is None:
        reg = 0.05 * float(M.max()) if M.max() > 0 else 1.0
    reg = _checks.positive_float(reg, "reg")
    num_iter = _checks.positive_int(num_iter, "num_iter")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # POT's own non-convergence warning: ours below says more
        plan = ot.sinkhorn(a, b, M, reg, method="sinkhorn_log", numItermax=num_iter, stopThr=1e-10)
    err = float(np.abs(plan.sum(1) - a).sum() + np.abs(plan.sum(0) - b).sum())
    if not np.isfinite(plan).all():
        raise ValueError(f"the Sinkhorn plan is not finite (reg={reg:g}); raise reg")
    if err > SINKHORN_TOL:
        warnings.warn(f"Sinkhorn did not converge in {num_iter} iterations: the plan's marginals are "
                      f"off by {err:.2e} (L1); raise reg (now {reg:g}) or num_iter", RuntimeWarning,
                      stacklevel=2)
    return plan


def discrete_ot_map(xs, xt, a=None, b=None, method="emd", reg=None):
    """Barycentric projection of the discrete OT plan: ``T(xs_i) = Σ_j π_ij xt_j / Σ_j π_ij``.

    Returns an ``(n, d)`` tensor of mapped source points (POT's ``ot.emd`` by
    default; ``method="sinkhorn"`` for the entropic plan, ``reg`` as in
    :func:`discrete_ot_plan`). The result is float64 when ``xs`` is a float64 tensor,
    else float32, on ``xs``'s device when it is a tensor.
    """
    plan = discrete_ot_plan(xs, xt, a, b, method=method, reg=reg)
    xt_np = _np(xt, "xt")
    mass = plan.sum(1, keepdims=True)
    mapped = plan @ xt_np / np.maximum(mass, 1e-300)
    dtype, device = _out_type(xs)
    return torch.as_tensor(mapped, dtype=dtype, device=device)


def _out_type(x):
    """float64 for a float64 tensor (else float32), on the tensor's device (else the CPU)."""
    if isinstance(x, torch.Tensor):
        return (torch.float64 if x.dtype == torch.float64 else torch.float32), x.device
    return torch.float32, torch.device("cpu")


def monotone_rearrangement(source_samples, target_samples):
    """The 1-D OT map as a function: ``T = F_t^{-1} ∘ F_s`` from samples.

    Uses the empirical CDF of the source (linearly interpolated) and the
    empirical quantiles of the target. Returns a callable on 1-D arrays or
    ``(n, 1)`` tensors.
    """
    xs, xt = _np(source_samples, "source_samples"), _np(target_samples, "target_samples")
    for name, v in (("source_samples", xs), ("target_samples", xt)):
        if v.shape[1] != 1:
            raise ValueError(f"{name} must be 1-D samples, shape (n,) or (n, 1), got {v.shape}")
    xs, xt = np.sort(xs[:, 0]), np.sort(xt[:, 0])
    if xs.size < 2 or xt.size < 2:
        raise ValueError("monotone_rearrangement needs at least 2 samples of each")
    qs = (np.arange(xs.size) + 0.5) / xs.size
    qt = (np.arange(xt.size) + 0.5) / xt.size

    def T(x):
        is_t = isinstance(x, torch.Tensor)
        arr = x.detach().cpu().double().numpy() if is_t else np.asarray(x, dtype=np.float64)
        shape = arr.shape
        u = np.interp(arr.reshape(-1), xs, qs)
        y = np.interp(u, qt, xt).reshape(shape)
        if is_t:  # same dtype (float32 for non-float input) and device as x
            return torch.as_tensor(y, dtype=x.dtype if x.is_floating_point() else torch.float32,
                                   device=x.device)
        return y

    return T


def disk_to_gaussian_map(x, radius=1.0, center=(0.0, 0.0), mean=(0.0, 0.0), std=1.0):
    """Closed-form OT map from the uniform disk to an isotropic Gaussian in 2-D.

    Both are radially symmetric, so the map is radial: a point at radius ``r``
    goes to radius ``ρ`` with equal CDFs, ``r²/R² = 1 - exp(-ρ²/(2σ²))``.
    """
    x = _input(x, 2)
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
