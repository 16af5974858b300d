"""Checks for chapter 5 (convex potentials and monotone gradients)."""
from __future__ import annotations

import torch

from ._base import fail

__all__ = ["softmax_module_jacobian", "check_softmax_module_jacobian", "check_monotone"]


def softmax_module_jacobian(z, W, b, beta):
    """Reference: Jacobian of ``T(z) = Wᵀ softmax(β (W z + b))``, shape ``(n, d, d)``.

    ``J = β Wᵀ (diag p − p pᵀ) W`` with ``p = softmax(β (W z + b))``.
    """
    p = torch.softmax(beta * (z @ W.T + b), dim=-1)
    cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    return beta * torch.einsum("md,nmk,ke->nde", W, cov, W)


def _module_case(seed, n=16, d=3, m=5):
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, d, generator=g, dtype=torch.float64)
    W = torch.randn(m, d, generator=g, dtype=torch.float64)
    b = torch.randn(m, generator=g, dtype=torch.float64)
    beta = 0.5 + 2.0 * float(torch.rand(1, generator=g))
    return z, W, b, beta


def check_softmax_module_jacobian(fn):
    """Check ``fn(z, W, b, beta) -> (n, d, d)``, the Jacobian of one softmax module
    ``T(z) = Wᵀ softmax(β (W z + b))`` for a batch ``z`` of shape ``(n, d)``,
    ``W`` of shape ``(m, d)``, ``b`` of shape ``(m,)`` and a positive float ``beta``.

    Returns True, or raises ``ExerciseCheckError`` saying what looks wrong.
    """
    if not callable(fn):
        fail(f"pass your function itself (callable), got {type(fn).__name__}")
    for seed in range(3):
        z, W, b, beta = _module_case(seed)
        n, d = z.shape
        try:
            J = fn(z.clone(), W.clone(), b.clone(), beta)
        except Exception as exc:  # the student's bug, reported with its type
            fail(f"your function raised {type(exc).__name__}: {exc}. It is called as fn(z, W, b, beta) "
                 f"with z {tuple(z.shape)}, W {tuple(W.shape)}, b {tuple(b.shape)} and a float beta.")
        if not isinstance(J, torch.Tensor):
            fail(f"return a torch.Tensor, got {type(J).__name__}")
        if tuple(J.shape) != (n, d, d):
            fail(f"expected shape {(n, d, d)} (one d×d matrix per sample), got {tuple(J.shape)}. "
                 "Hint: the Jacobian of z ↦ Wᵀ softmax(...) is d×d, not m×m.")
        J = J.to(torch.float64)
        ref = softmax_module_jacobian(z, W, b, beta)
        if torch.allclose(J, ref, atol=1e-6, rtol=1e-5):
            continue
        p = torch.softmax(beta * (z @ W.T + b), dim=-1)
        no_outer = beta * torch.einsum("md,nm,me->nde", W, p, W)
        if torch.allclose(J, ref / beta, atol=1e-6, rtol=1e-5):
            fail("your Jacobian is off by a factor β: the chain rule through softmax(β s) brings out β.")
        if torch.allclose(J, no_outer, atol=1e-6, rtol=1e-5) or torch.allclose(J, no_outer / beta, atol=1e-6):
            fail("you have the β Wᵀ diag(p) W part but not − β Wᵀ p pᵀ W: the softmax Jacobian is "
                 "diag(p) − p pᵀ, because the entries of p must keep summing to one.")
        if torch.allclose(J, -ref, atol=1e-6, rtol=1e-5):
            fail("your Jacobian has the wrong sign: diag(p) − p pᵀ is positive semidefinite.")
        if not torch.allclose(J, J.transpose(1, 2), atol=1e-6):
            fail("your Jacobian is not symmetric, but the Jacobian of a gradient must be. "
                 "Check the order of Wᵀ … W in your product.")
        err = float((J - ref).abs().max())
        fail(f"your Jacobian differs from the reference by up to {err:.3g}. Compare it with "
             "torch.func.jacrev on a single sample to find the mistake.")
    return True


def check_monotone(T, dim=2, n=256, box=3.0, tol=1e-4, seed=0):
    """Check that the map ``T: (n, dim) -> (n, dim)`` is a monotone gradient map:
    its Jacobian is symmetric (T is a gradient) and positive semidefinite (the
    potential is convex), and ``⟨T(x) − T(y), x − y⟩ ≥ 0`` on random pairs.

    ``T`` is evaluated on uniform points in ``[-box, box]^dim``. Returns True or
    raises ``ExerciseCheckError``.
    """
    from ..loss import autodiff_jacobian
    from ..metrics import monotonicity_gap

    if not callable(T):
        fail(f"pass your map itself (a callable or nn.Module), got {type(T).__name__}")
    g = torch.Generator().manual_seed(seed)
    x = (2 * torch.rand(n, dim, generator=g) - 1) * box
    try:
        y = T(x)
    except Exception as exc:
        fail(f"calling your map on a batch of shape {(n, dim)} raised {type(exc).__name__}: {exc}")
    if not isinstance(y, torch.Tensor) or tuple(y.shape) != (n, dim):
        shape = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
        fail(f"your map must return a tensor of shape {(n, dim)} for an input of shape {(n, dim)}, got {shape}")
    if not bool(torch.isfinite(y).all()):
        fail("your map returned NaN or inf on points in the box; check for overflow (e.g. exp of large values)")
    module = T if isinstance(T, torch.nn.Module) else _Wrap(T)
    try:
        J = autodiff_jacobian(module, x).detach()
    except Exception as exc:
        fail(f"torch.func could not differentiate your map ({type(exc).__name__}: {exc}). "
             "Use torch operations only (no .item(), numpy or in-place edits).")
    asym = float((J - J.transpose(1, 2)).abs().max())
    scale = float(J.abs().max()) + 1e-12
    if asym > 1e-3 * scale + tol:
        fail(f"the Jacobian of your map is not symmetric (max |J − Jᵀ| = {asym:.3g}), so it is not the "
             "gradient of any potential. A map of the form Wᵀ σ(W x + b) has a symmetric Jacobian; "
             "W₂ σ(W₁ x) with unrelated W₁, W₂ does not.")
    lam = torch.linalg.eigvalsh(0.5 * (J + J.transpose(1, 2)))[:, 0]
    worst = float(lam.min())
    if worst < -tol * max(1.0, scale):
        i = int(lam.argmin())
        fail(f"the Jacobian has a negative eigenvalue {worst:.3g} at x = {x[i].tolist()}: the potential "
             "is not convex there. Weights multiplying σ'(·) must be nonnegative and σ must be increasing.")
    gap = monotonicity_gap(T, x)
    if gap < -tol * max(1.0, scale):
        fail(f"⟨T(x) − T(y), x − y⟩ / |x − y|² reaches {gap:.3g} < 0 on some pair: the map is not monotone.")
    return True


class _Wrap(torch.nn.Module):
    def __init__(self, f):
        super().__init__()
        self.f = f

    def forward(self, x):
        return self.f(x)
