"""Auto-checks for chapter 3 (Brenier's theorem and the Monge–Ampère equation)."""
from __future__ import annotations

import torch
from torch import nn

from ._base import fail

__all__ = ["check_monge_ampere_residual"]


class _Affine(nn.Module):
    def __init__(self, A, b):
        super().__init__()
        self.register_buffer("A", torch.as_tensor(A, dtype=torch.float32))
        self.register_buffer("b", torch.as_tensor(b, dtype=torch.float32))

    def forward(self, x):
        return x @ self.A + self.b


class _Bent(nn.Module):
    """A smooth nonlinear monotone map: x -> A x + b + 0.3 tanh(x) (a gradient of a convex function)."""

    def __init__(self, A, b):
        super().__init__()
        self.register_buffer("A", torch.as_tensor(A, dtype=torch.float32))
        self.register_buffer("b", torch.as_tensor(b, dtype=torch.float32))

    def forward(self, x):
        return x @ self.A + self.b + 0.3 * torch.tanh(x)


def _cases():
    from ..densities import Gaussian
    from ..reference import gaussian_ot_map

    g = torch.Generator().manual_seed(3)
    ms, mt = torch.tensor([0.5, -0.2]), torch.tensor([-1.0, 1.0])
    cs = torch.tensor([[1.0, 0.3], [0.3, 0.5]])
    ct = torch.tensor([[0.6, -0.2], [-0.2, 1.5]])
    src, tgt = Gaussian(ms, cs), Gaussian(mt, ct)
    T = gaussian_ot_map(ms, cs, mt, ct)
    x = src.sample(256, generator=g)
    return [
        ("the closed-form Gaussian OT map", _Affine(T.A, T.b), x, src, tgt),
        ("a mis-scaled map 1.3·T", _Affine(1.3 * T.A, T.b), x, src, tgt),
        ("a nonlinear map x·A + b + 0.3·tanh(x)", _Bent(T.A, T.b), x, src, tgt),
    ]


def check_monge_ampere_residual(my_residual_fn, atol=1e-3):
    """Check a student's Monge–Ampère residual ``my_residual_fn(T, x, source, target) -> (n,)``.

    The residual is ``r(x) = log det J_T(x) - log p(x) + log q(T(x))`` where
    ``J_T`` is the Jacobian of the map ``T`` (an ``nn.Module``), ``p`` the
    source and ``q`` the target density (objects with ``log_prob``). It is
    compared with :func:`gradnetot.monge_ampere_residual` on three maps; on a
    mismatch the message names the most likely mistake.
    """
    from ..densities import log_prob_of
    from ..loss import autodiff_jacobian, monge_ampere_residual

    if not callable(my_residual_fn):
        fail("pass your function itself, e.g. check_monge_ampere_residual(my_residual).")
    for name, T, x, src, tgt in _cases():
        try:
            r = my_residual_fn(T, x.clone(), src, tgt)
        except Exception as exc:  # noqa: BLE001 - report any student error clearly
            fail(f"your function raised {type(exc).__name__}: {exc} (on {name}). It is called as "
                 "my_residual_fn(T, x, source, target) with T an nn.Module and x of shape (n, 2).")
        if not isinstance(r, torch.Tensor):
            r = torch.as_tensor(r)
        r = r.detach().float()
        if r.ndim == 2 and r.shape[1] == 1:
            r = r[:, 0]
        if r.shape != (x.shape[0],):
            fail(f"expected one residual per point, shape ({x.shape[0]},), got {tuple(r.shape)} on {name}. "
                 "Do not average: return r(x_i) for every i.")
        if not torch.isfinite(r).all():
            fail(f"your residual has NaN/inf values on {name}: use slogdet (or logdet of an SPD matrix), "
                 "not log(det(J)) of a possibly tiny determinant.")
        with torch.no_grad():
            ref = monge_ampere_residual(T, x, src, tgt).float()
            J = autodiff_jacobian(T, x)
            Tx = T(x)
            logdet = torch.linalg.slogdet(J)[1]
            lp, lqT, lqx = log_prob_of(src, x), log_prob_of(tgt, Tx), log_prob_of(tgt, x)
        if torch.allclose(r, ref, atol=atol):
            continue
        guesses = [
            (-ref, "the sign is flipped: r(x) = log det J - log p(x) + log q(T(x))"),
            (logdet - lp + lqx, "you evaluated the target density at x; it must be evaluated at T(x)"),
            (torch.linalg.det(J) - lp + lqT, "you used det J instead of log det J"),
            (-lp + lqT, "the log-determinant term is missing"),
            (logdet + lp - lqT, "the density terms have the wrong signs: it is - log p(x) + log q(T(x))"),
            (logdet - log_prob_of(src, Tx) + log_prob_of(tgt, x),
             "p and q are swapped: p is the source density (at x), q the target (at T(x))"),
        ]
        for cand, why in guesses:
            if torch.allclose(r, cand.float(), atol=atol):
                fail(f"wrong residual on {name}: {why}.")
        err = (r - ref).abs().max().item()
        fail(f"wrong residual on {name}: max |yours - reference| = {err:.3g}. "
             "Compute T(x), its Jacobian (gn.autodiff_jacobian(T, x)), then "
             "torch.linalg.slogdet(J)[1] - source.log_prob(x) + target.log_prob(T(x)).")
    return True
