"""Checks for chapter 6 (the Monge–Ampère loss)."""
from __future__ import annotations

import torch

from ._base import fail

__all__ = ["check_monge_ampere_loss"]


class _Affine(torch.nn.Module):
    """A trainable affine map with a non-symmetric matrix (no closed-form Jacobian)."""

    def __init__(self, A, c):
        super().__init__()
        self.A = torch.nn.Parameter(A)
        self.c = torch.nn.Parameter(c)
        self.dim = A.shape[0]

    def forward(self, x):
        return x @ self.A.T + self.c


def _cases():
    from ..densities import Gaussian
    from ..networks import MLPMap

    src = Gaussian(torch.tensor([1.0, -0.5]), torch.tensor([[2.0, 0.6], [0.6, 0.8]]))
    tgt = Gaussian(torch.zeros(2), torch.eye(2))
    torch.manual_seed(0)
    mlp = MLPMap(2, hidden=8, num_layers=2, activation="tanh")
    aff = _Affine(torch.tensor([[0.8, 0.3], [-0.2, 1.1]]), torch.tensor([0.1, -0.3]))
    x = src.sample(64, generator=torch.Generator().manual_seed(1))
    return [("a non-symmetric affine map", aff, x, src, tgt), ("a small MLPMap", mlp, x, src, tgt)]


def _reference(model, x, src, tgt):
    from ..loss import autodiff_jacobian

    J = autodiff_jacobian(model, x)
    r = torch.linalg.slogdet(J)[1] - src.log_prob(x) + tgt.log_prob(model(x))
    return r


def check_monge_ampere_loss(fn):
    """Check ``fn(model, x, source, target) -> scalar``: the L1 Monge–Ampère loss
    ``mean_i |log det J_T(x_i) − log p(x_i) + log q(T(x_i))|`` for *any*
    ``nn.Module`` ``T`` (Jacobians by ``torch.func``), differentiable in the
    model's parameters so that it can be trained.

    Returns True or raises ``ExerciseCheckError`` with a hint.
    """
    if not callable(fn):
        fail(f"pass your function itself, got {type(fn).__name__}")
    for name, model, x, src, tgt in _cases():
        model.zero_grad(set_to_none=True)
        try:
            loss = fn(model, x.clone(), src, tgt)
        except Exception as exc:
            fail(f"on {name}, your function raised {type(exc).__name__}: {exc}")
        if not isinstance(loss, torch.Tensor):
            fail(f"return a torch.Tensor (a scalar), got {type(loss).__name__}; do not call .item() "
                 "or convert to numpy, or the optimiser cannot differentiate it")
        if loss.numel() != 1:
            fail(f"return one number (the mean over the batch), got shape {tuple(loss.shape)}")
        r = _reference(model, x, src, tgt)
        ref_l1 = r.abs().mean()
        rd = r.detach()
        val = float(loss.detach())
        close = lambda a: abs(val - float(a)) <= 1e-3 * max(1.0, abs(float(a)))  # noqa: E731
        if not close(ref_l1.detach()):
            if close(rd.mean()):
                fail(f"on {name} you averaged the signed residual: positive and negative residuals "
                     "cancel. Take the absolute value before the mean.")
            if close((rd * rd).mean()):
                fail(f"on {name} you computed the mean squared residual; this exercise asks for the "
                     "mean absolute residual (p=1).")
            if close(rd.abs().sum()):
                fail(f"on {name} you summed over the batch; take the mean instead.")
            fail(f"on {name} your loss is {val:.5g} but the reference is {float(ref_l1.detach()):.5g}. Check each "
                 "term of r(x) = log det J − log p(x) + log q(T(x)) (note: log q at T(x)).")
        if not loss.requires_grad:
            fail(f"on {name} your loss does not depend on the model's parameters through autograd "
                 "(requires_grad is False). Did you compute it under torch.no_grad() or detach T(x)?")
        loss.backward()
        mine = [p.grad.clone() if p.grad is not None else torch.zeros_like(p) for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        ref_l1.backward()
        ref = [p.grad.clone() for p in model.parameters()]
        model.zero_grad(set_to_none=True)
        for (pname, _), g1, g2 in zip(model.named_parameters(), mine, ref):
            if not torch.allclose(g1, g2, atol=1e-4, rtol=1e-3):
                fail(f"on {name} the value is right but the gradient for parameter {pname!r} is not: "
                     "some term is detached from the graph. The Jacobian must be built with "
                     "torch.func (functional_call + jacrev) on the model's live parameters, or with "
                     "torch.autograd.grad(..., create_graph=True).")
    return True
