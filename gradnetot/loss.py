"""The Monge–Ampère loss: the residual of ``log det J_T(x) = log p(x) - log q(T(x))``."""
from __future__ import annotations

import torch
from torch import nn

from . import _checks
from .densities import density_dim, log_prob_of
from .networks import logdet_spd

__all__ = ["monge_ampere_residual", "monge_ampere_loss", "autodiff_jacobian", "map_and_jacobian"]


def autodiff_jacobian(model, x):
    """Per-sample Jacobian of any map by ``torch.func`` (``vmap(jacrev)``)."""
    from torch.func import functional_call, jacrev, vmap

    params = dict(model.named_parameters())
    buffers = dict(model.named_buffers())

    def f(xi):
        return functional_call(model, (params, buffers), (xi[None],))[0]

    return vmap(jacrev(f))(x)


def map_and_jacobian(model, x):
    """``(T(x), J(x))``: closed form when the model has one, autodiff otherwise."""
    if hasattr(model, "_fused"):
        return model._fused(x)
    if hasattr(model, "forward_and_jacobian"):
        return model.forward_and_jacobian(x)
    return model(x), autodiff_jacobian(model, x)


def _logdet(model, J):
    if getattr(model, "strongly_convex", None) is not None and hasattr(model, "_fused"):
        # mGradNets: J is symmetric PSD by construction -> Cholesky / closed form
        return logdet_spd(J)
    return torch.linalg.slogdet(J)[1]


def _map_and_logdet(model, x):
    """``(T(x), log det J_T(x))``: mGradNets pick their cheaper exact path (``forward_and_logdet``:
    the matrix determinant lemma when the embedding is narrower than ``d``), anything else builds ``J``."""
    if hasattr(model, "_fused_logdet"):
        return model._fused_logdet(x)
    T, J = map_and_jacobian(model, x)
    return T, _logdet(model, J)


def monge_ampere_residual(model, x, source, target, log_p=None):
    """``r(x) = log det J_T(x) - log p(x) + log q(T(x))`` for a batch ``x``."""
    T, logdet = _map_and_logdet(model, x)
    if log_p is None:
        log_p = log_prob_of(source, x)
    log_q = log_prob_of(target, T)
    return logdet - log_p + log_q


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


def monge_ampere_loss(model, x, source, target, p=1, log_p=None):
    """Mean ``|r(x)|^p`` of the Monge–Ampère residual (``p=1``: L1, the default).

    ``model`` is any ``nn.Module`` mapping ``(n, d) -> (n, d)``: mGradNets use
    their closed-form Jacobian, anything else goes through ``torch.func``.
    """
    if not isinstance(model, nn.Module) and not callable(model):
        raise TypeError(f"model must be an nn.Module or callable, got {type(model).__name__}")
    d = check_problem(model, source, target)
    if not isinstance(x, torch.Tensor):
        raise TypeError("x must be a torch.Tensor")
    _checks.batch(x, d, "x")
    _checks.check_finite(x, "x")
    if p not in (1, 2):
        raise ValueError(f"p must be 1 or 2, got {p!r}")
    r = monge_ampere_residual(model, x, source, target, log_p=log_p)
    return r.abs().mean() if p == 1 else (r * r).mean()
