"""Tests for the chapter 5 and 6 exercise checks: right answers pass, typical mistakes fail with a useful message."""
import pytest
import torch
import torch.nn.functional as F

import gradnetot as gn
from gradnetot.exercises import ExerciseCheckError


def test_exports():
    for name in ["check_softmax_module_jacobian", "check_monotone", "check_monge_ampere_loss",
                 "softmax_module_jacobian"]:
        assert name in gn.exercises.__all__
        assert callable(getattr(gn.exercises, name))


# ---- softmax module Jacobian -----------------------------------------------------------------
def test_reference_module_jacobian_matches_autodiff():
    torch.manual_seed(0)
    W, b, beta = torch.randn(5, 3, dtype=torch.float64), torch.randn(5, dtype=torch.float64), 1.7
    z = torch.randn(4, 3, dtype=torch.float64)
    T = lambda zi: W.T @ torch.softmax(beta * (W @ zi + b), 0)  # noqa: E731
    J = torch.func.vmap(torch.func.jacrev(T))(z)
    assert torch.allclose(gn.exercises.softmax_module_jacobian(z, W, b, beta), J, atol=1e-10)


def test_module_jacobian_accepts_autodiff_answer():
    def mine(z, W, b, beta):
        T = lambda zi: W.T @ torch.softmax(beta * (W @ zi + b), 0)  # noqa: E731
        return torch.func.vmap(torch.func.jacrev(T))(z)
    assert gn.exercises.check_softmax_module_jacobian(mine) is True


def _diag_only(z, W, b, beta):
    p = torch.softmax(beta * (z @ W.T + b), -1)
    return beta * torch.einsum("md,nm,me->nde", W, p, W)


@pytest.mark.parametrize("fn, msg", [
    (lambda z, W, b, beta: gn.exercises.softmax_module_jacobian(z, W, b, beta) / beta, "factor β"),
    (_diag_only, "p pᵀ"),
    (lambda z, W, b, beta: -gn.exercises.softmax_module_jacobian(z, W, b, beta), "wrong sign"),
    (lambda z, W, b, beta: torch.zeros(z.shape[0], W.shape[0], W.shape[0]), "expected shape"),
    (lambda z, W, b, beta: 1 / 0, "ZeroDivisionError"),
    (lambda z, W, b, beta: gn.exercises.softmax_module_jacobian(z, W, b, beta) + 0.1, "differs"),
])
def test_module_jacobian_mistakes(fn, msg):
    with pytest.raises(ExerciseCheckError, match=msg):
        gn.exercises.check_softmax_module_jacobian(fn)


# ---- check_monotone ----------------------------------------------------------------------------
def test_monotone_accepts_mgradnets_and_a_hand_layer():
    torch.manual_seed(0)
    assert gn.exercises.check_monotone(gn.MGradNetM(2, strongly_convex=False)) is True
    assert gn.exercises.check_monotone(gn.MGradNetC(3, embed_dim=8), dim=3) is True
    W, b, a = torch.randn(6, 2), torch.randn(6), torch.rand(6)
    assert gn.exercises.check_monotone(lambda x: torch.sigmoid(x @ W.T + b) * a @ W) is True


def test_monotone_rejects_non_gradient_and_non_convex():
    R = torch.tensor([[0.0, -1.0], [1.0, 0.0]])
    with pytest.raises(ExerciseCheckError, match="not symmetric"):
        gn.exercises.check_monotone(lambda x: x @ R.T + 0.5 * x)
    torch.manual_seed(0)
    W, b = torch.randn(6, 2), torch.randn(6)
    a = -torch.rand(6) - 0.1  # negative weights: a concave potential
    with pytest.raises(ExerciseCheckError, match="negative eigenvalue"):
        gn.exercises.check_monotone(lambda x: torch.sigmoid(x @ W.T + b) * a @ W)
    with pytest.raises(ExerciseCheckError, match="shape"):
        gn.exercises.check_monotone(lambda x: x[:, :1])
    with pytest.raises(ExerciseCheckError, match="callable"):
        gn.exercises.check_monotone(3)


# ---- check_monge_ampere_loss ---------------------------------------------------------------------
def _my_loss(model, x, source, target):
    def f(xi):
        return torch.func.functional_call(model, dict(model.named_parameters()), (xi[None],))[0]
    J = torch.func.vmap(torch.func.jacrev(f))(x)
    r = torch.linalg.slogdet(J)[1] - source.log_prob(x) + target.log_prob(model(x))
    return r.abs().mean()


def test_ma_loss_accepts_correct_answers():
    assert gn.exercises.check_monge_ampere_loss(_my_loss) is True
    assert gn.exercises.check_monge_ampere_loss(gn.monge_ampere_loss) is True


def _detached_jac(model, x, source, target):
    from torch.func import jacrev, vmap
    with torch.no_grad():
        J = vmap(jacrev(lambda xi: model(xi[None])[0]))(x)
    r = torch.linalg.slogdet(J)[1] - source.log_prob(x) + target.log_prob(model(x))
    return r.abs().mean()


@pytest.mark.parametrize("fn, msg", [
    (lambda m, x, s, t: gn.monge_ampere_residual(m, x, s, t).mean(), "absolute value"),
    (lambda m, x, s, t: gn.monge_ampere_loss(m, x, s, t, p=2), "squared"),
    (lambda m, x, s, t: gn.monge_ampere_residual(m, x, s, t).abs().sum(), "summed"),
    (lambda m, x, s, t: gn.monge_ampere_residual(m, x, s, t).abs(), "one number"),
    (lambda m, x, s, t: gn.monge_ampere_loss(m, x, s, t).item(), "torch.Tensor"),
    (lambda m, x, s, t: gn.monge_ampere_loss(m, x, s, t).detach(), "requires_grad"),
    (_detached_jac, "gradient for parameter"),
    (lambda m, x, s, t: (gn.autodiff_jacobian(m, x).det().log() * 0 - s.log_prob(x)
                         + t.log_prob(x)).abs().mean(), "reference"),
])
def test_ma_loss_mistakes(fn, msg):
    with pytest.raises(ExerciseCheckError, match=msg):
        gn.exercises.check_monge_ampere_loss(fn)
