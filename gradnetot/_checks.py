"""Argument checks shared by the public API.

Every public entry point validates its input here, so that a user sees a
``ValueError``/``TypeError`` that names the offending argument instead of an
opaque error from deep inside torch.
"""
from __future__ import annotations

import numbers

import torch

_FLOAT32_MAX = float(torch.finfo(torch.float32).max)


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
    if abs(value) > _FLOAT32_MAX:
        raise ValueError(f"{name} must be at most {_FLOAT32_MAX:.3g} (the float32 range), got {value:g}")
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
    """Raise ValueError if ``x`` holds NaN/inf. Inside ``torch.func`` transforms (vmap, jacrev), where a
    data-dependent check is not allowed, the check is skipped: the caller checked the batch already."""
    try:
        finite = bool(torch.isfinite(x).all())
    except RuntimeError:
        return x
    if not finite:
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


def model_place(model, default_dtype=torch.float32):
    """``(device, dtype)`` of a module's first floating-point parameter or buffer.

    A plain callable, or a module without floating tensors, gives ``(None, None)``:
    inputs then keep their own device (and ``default_dtype`` when they are not tensors).
    """
    if isinstance(model, torch.nn.Module):
        for t in (*model.parameters(), *model.buffers()):
            if t.is_floating_point():
                return t.device, t.dtype
    return None, None


def input_for(x, model, name="x", *, ndim=2):
    """``x`` as a floating tensor on ``model``'s device and in its dtype (a module's first
    floating parameter decides); for a plain callable, a tensor keeps its device and its
    floating dtype, anything else becomes float32 on the CPU."""
    device, dtype = model_place(model)
    if isinstance(x, torch.Tensor):
        if not x.is_floating_point() and not x.dtype == torch.bool and not x.is_complex():
            x = x.to(dtype or torch.float32)
        elif x.dtype == torch.bool or x.is_complex():
            raise TypeError(f"{name} must be a real floating-point tensor, got {x.dtype}")
        if device is not None:
            x = x.to(device=device, dtype=dtype)
    else:
        x = as_tensor(x, name, dtype=dtype or torch.float32, device=device, allow_nan=True)
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {tuple(x.shape)}")
    return x
