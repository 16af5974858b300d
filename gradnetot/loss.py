"""The Monge–Ampère loss: the residual of ``log det J_T(x) = log p(x) - log q(T(x))``.

One Jacobian protocol for every map
-----------------------------------
:func:`forward_and_jacobian` and :func:`jacobian` work for any map: a module or a
plain function of an ``(n, d)`` tensor. A map may provide its own closed form as a
public method ``forward_and_jacobian(x) -> (T(x), J(x))`` (the mGradNets do), and may
declare with the attribute ``jacobian_is_spd = True`` that its ``J`` is symmetric
positive (semi-)definite by construction, so that ``log det J`` can use a Cholesky
factorisation (:func:`~gradnetot.logdet_spd`); otherwise ``torch.linalg.slogdet`` is
used. Anything else is differentiated by ``torch.func``.
"""
from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .densities import density_dim, log_prob_of
from .networks import MonotoneGradientNet, logdet_spd

__all__ = ["monge_ampere_residual", "monge_ampere_loss", "autodiff_jacobian", "map_and_jacobian",
           "forward_and_jacobian", "jacobian", "jacobian_is_spd"]


def _check_map(T, name="model"):
    if not callable(T):
        raise TypeError(f"{name} must be an nn.Module or a callable map, got {type(T).__name__}")


def autodiff_jacobian(model, x):
    """Per-sample Jacobian of any map by ``torch.func`` (``vmap(jacrev)``).

    ``model`` is an ``nn.Module`` (differentiated through its parameters with
    ``functional_call``) or any callable mapping ``(n, d)`` to ``(n, d)``.
    """
    from torch.func import functional_call, jacrev, vmap

    _check_map(model)
    if isinstance(model, nn.Module):
        params = dict(model.named_parameters())
        buffers = dict(model.named_buffers())

        def f(xi):
            return functional_call(model, (params, buffers), (xi[None],))[0]
    else:
        def f(xi):
            return model(xi[None])[0]

    return vmap(jacrev(f))(x)


def jacobian_is_spd(T):
    """True when the map declares (``T.jacobian_is_spd = True``) that its Jacobian is SPD."""
    return getattr(T, "jacobian_is_spd", False) is True


def map_and_jacobian(model, x):
    """``(T(x), J(x))`` without input checks (the training hot path).

    mGradNets use their fused closed form, a map with a public ``forward_and_jacobian``
    method uses it, and anything else goes through :func:`autodiff_jacobian`.
    """
    if isinstance(model, MonotoneGradientNet):
        return model._fused(x)  # the package's own class: unchecked fused pass, no host sync
    fj = getattr(model, "forward_and_jacobian", None)
    if callable(fj):
        return fj(x)
    return model(x), autodiff_jacobian(model, x)


def _checked_batch(T, x, name="x"):
    _check_map(T, "T")
    x = _checks.input_for(x, T, name)
    d = getattr(T, "dim", None)
    if isinstance(d, int) and not isinstance(d, bool):
        _checks.batch(x, d, name)
    if x.shape[0] == 0:
        raise ValueError(f"{name} must contain at least one point, got shape {tuple(x.shape)}")
    _checks.check_finite(x, name)
    return x


def _checked_pair(T, x, y, J):
    n, d = x.shape
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (n, d):
        raise ValueError(f"the map must return an ({n}, {d}) tensor, got "
                         f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
    if not isinstance(J, torch.Tensor) or tuple(J.shape) != (n, d, d):
        raise ValueError(f"the Jacobian must have shape ({n}, {d}, {d}), got "
                         f"{tuple(J.shape) if isinstance(J, torch.Tensor) else type(J).__name__}")
    return y, J


def forward_and_jacobian(T, x):
    """``(T(x), J(x))`` for any map ``T`` (a module or a plain callable), ``J`` of shape ``(n, d, d)``.

    Uses ``T.forward_and_jacobian`` when the map has that public method (the mGradNets'
    closed form), else ``torch.func``. ``x`` is moved to the module's device and dtype.
    See :func:`jacobian_is_spd` for the flag that says whether ``J`` is SPD.
    """
    x = _checked_batch(T, x)
    fj = getattr(T, "forward_and_jacobian", None)
    if callable(fj):
        y, J = fj(x)
    else:
        y, J = T(x), autodiff_jacobian(T, x)
    return _checked_pair(T, x, y, J)


def jacobian(T, x):
    """The Jacobian ``J_T(x)``, shape ``(n, d, d)``, of any map (module or callable).

    ``T.jacobian`` is used when the map has one (closed form), else
    :func:`forward_and_jacobian`.
    """
    x = _checked_batch(T, x)
    jf = getattr(T, "jacobian", None)
    if callable(jf):
        J = jf(x)
        n, d = x.shape
        if not isinstance(J, torch.Tensor) or tuple(J.shape) != (n, d, d):
            raise ValueError(f"T.jacobian must return shape ({n}, {d}, {d}), got "
                             f"{tuple(J.shape) if isinstance(J, torch.Tensor) else type(J).__name__}")
        return J
    return forward_and_jacobian(T, x)[1]


def _logdet(model, J):
    if jacobian_is_spd(model):
        # J is symmetric PSD by construction -> Cholesky / closed form
        return logdet_spd(J)
    return torch.linalg.slogdet(J)[1]


def _map_and_logdet(model, x):
    """``(T(x), log det J_T(x))``: mGradNets pick their cheaper exact path (``forward_and_logdet``:
    the matrix determinant lemma when the embedding is narrower than ``d``), anything else builds ``J``."""
    if hasattr(model, "_fused_logdet"):
        return model._fused_logdet(x)
    T, J = map_and_jacobian(model, x)
    return T, _logdet(model, J)


def _residual(model, x, log_p, target):
    """The one implementation of the residual (``fit``'s training step calls it too)."""
    T, ld = _map_and_logdet(model, x)
    return ld - log_p.to(ld) + log_prob_of(target, T).to(ld)


def _mean_residual(model, x, log_p, target, p=1):
    """``mean |r|^p`` of :func:`_residual`: the loss ``fit`` minimises."""
    r = _residual(model, x, log_p, target)
    return r.abs().mean() if p == 1 else (r * r).mean()


def check_problem(model, source, target):
    """Check that ``source``, ``target`` and ``model`` agree on the dimension; return it."""
    d = density_dim(source, "source")
    dt = density_dim(target, "target")
    if d != dt:
        raise ValueError(f"source has dimension {d} but target has dimension {dt}")
    mdim = getattr(model, "dim", d)
    if mdim != d:
        raise ValueError(f"model has dimension {mdim} but source/target have dimension {d}")
    return d


def _checked_inputs(model, x, source, target, log_p):
    _check_map(model)
    d = check_problem(model, source, target)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    x = _checks.input_for(x, model, "x")
    _checks.batch(x, d, "x")
    if x.shape[0] == 0:
        raise ValueError("x must contain at least one point")
    _checks.check_finite(x, "x")
    if log_p is None:
        log_p = log_prob_of(source, x)
    elif not isinstance(log_p, torch.Tensor):
        raise TypeError(f"log_p must be a torch.Tensor or None, got {type(log_p).__name__}")
    if tuple(log_p.shape) != (x.shape[0],):
        raise ValueError(f"log_p must have shape ({x.shape[0]},), got {tuple(log_p.shape)}")
    return x, log_p


def monge_ampere_residual(model, x, source, target, log_p=None):
    """``r(x) = log det J_T(x) - log p(x) + log q(T(x))`` for a batch ``x``.

    ``model`` is any map (module or callable); see the module docstring for the
    Jacobian protocol. ``log_p`` (optional) is ``source.log_prob(x)``, precomputed.
    """
    x, log_p = _checked_inputs(model, x, source, target, log_p)
    return _residual(model, x, log_p, target)


def monge_ampere_loss(model, x, source, target, p=1, log_p=None):
    """Mean ``|r(x)|^p`` of the Monge–Ampère residual (``p=1``: L1, the default).

    ``model`` is any ``nn.Module`` or callable mapping ``(n, d) -> (n, d)``:
    mGradNets use their closed-form Jacobian, anything else goes through ``torch.func``.
    """
    if isinstance(p, bool) or not isinstance(p, (int, float)) or p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    x, log_p = _checked_inputs(model, x, source, target, log_p)
    return _mean_residual(model, x, log_p, target, p)
