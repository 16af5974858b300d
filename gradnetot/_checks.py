"""Argument checks shared by the public API.

Every public entry point validates its input here, so that a user sees a
``ValueError``/``TypeError`` that names the offending argument instead of an
opaque error from deep inside torch.
"""
from __future__ import annotations

import numbers

import torch


def as_tensor(x, name, *, dtype=torch.float32, device=None, ndim=None, allow_nan=False):
    """Convert ``x`` to a float tensor and check its rank and finiteness."""
    if isinstance(x, torch.Tensor):
        t = x
        if not t.is_floating_point():
            t = t.to(dtype)
        if device is not None:
            t = t.to(device)
    else:
        try:
            t = torch.as_tensor(x, dtype=dtype, device=device)
        except (TypeError, ValueError, RuntimeError) as exc:
            raise TypeError(f"{name} must be array-like of numbers, got {type(x).__name__}") from exc
    if ndim is not None:
        dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if t.ndim not in dims:
            want = " or ".join(str(d) for d in dims)
            raise ValueError(f"{name} must have {want} dimension(s), got shape {tuple(t.shape)}")
    if not allow_nan and t.numel() and not bool(torch.isfinite(t).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return t


def positive_int(value, name, *, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def positive_float(value, name, *, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        if isinstance(value, torch.Tensor) and value.numel() == 1:
            value = float(value)
        else:
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value}")
    if value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}, got {value}")
    return value


def batch(x, dim, name="x"):
    """Check that ``x`` is a finite ``(n, dim)`` tensor."""
    if not isinstance(x, torch.Tensor):
        x = as_tensor(x, name)
    if x.ndim != 2:
        raise ValueError(f"{name} must have shape (n, {dim}), got shape {tuple(x.shape)}")
    if x.shape[1] != dim:
        raise ValueError(f"{name} must have shape (n, {dim}), got {x.shape[1]} columns")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got {x.dtype}")
    return x


def check_finite(x, name):
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def positive_definite(cov, name):
    """Return the Cholesky factor of ``cov`` or raise a ValueError naming it."""
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(cov.shape)}")
    if not torch.allclose(cov, cov.T, atol=1e-5 * (1 + float(cov.abs().max()))):
        raise ValueError(f"{name} must be symmetric")
    chol, info = torch.linalg.cholesky_ex(cov.double())
    if int(info) != 0:
        raise ValueError(f"{name} must be positive definite (Cholesky failed)")
    return chol.to(cov.dtype)
