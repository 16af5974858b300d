"""Tests for the chapter 2 and 3 exercise checks: right answers pass, typical mistakes fail with a useful message."""
import numpy as np
import ot
import pytest
import torch

import gradnetot as gn
from gradnetot.exercises import ExerciseCheckError


@pytest.fixture
def plan_problem():
    rng = np.random.default_rng(0)
    xs, xt = rng.normal(size=(5, 2)), rng.normal(size=(7, 2)) + 1.0
    a, b = np.full(5, 1 / 5), np.full(7, 1 / 7)
    return ot.emd(a, b, ot.dist(xs, xt)), a, b


def test_exports():
    for name in ["check_transport_plan", "check_sorting_assignment", "check_gaussian_ot_matrix",
                 "check_monge_ampere_residual"]:
        assert name in gn.exercises.__all__
        assert callable(getattr(gn.exercises, name))


# ---- check_transport_plan -------------------------------------------------------------------
def test_plan_accepts_emd_and_independent(plan_problem):
    P, a, b = plan_problem
    assert gn.exercises.check_transport_plan(P, a, b) is True
    assert gn.exercises.check_transport_plan(np.outer(a, b), a, b) is True
    assert gn.exercises.check_transport_plan(torch.as_tensor(P), torch.as_tensor(a), b) is True


def test_plan_transposed(plan_problem):
    P, a, b = plan_problem
    with pytest.raises(ExerciseCheckError, match="transposed"):
        gn.exercises.check_transport_plan(P.T, a, b)


def test_plan_row_marginal_named(plan_problem):
    _, a, b = plan_problem
    # one Sinkhorn half-step: columns right, rows wrong
    K = np.exp(-np.arange(35).reshape(5, 7) / 10.0)
    Q = K * (b / K.sum(0))[None, :]
    with pytest.raises(ExerciseCheckError, match=r"source marginal \(row sums\)") as exc:
        gn.exercises.check_transport_plan(Q, a, b)
    assert "target marginal" not in str(exc.value)
    assert "more iterations" in str(exc.value)


def test_plan_column_marginal_named(plan_problem):
    _, a, b = plan_problem
    K = np.exp(-np.arange(35).reshape(5, 7) / 10.0)
    Q = K * (a / K.sum(1))[:, None]
    with pytest.raises(ExerciseCheckError, match=r"target marginal \(column sums\)") as exc:
        gn.exercises.check_transport_plan(Q, a, b)
    assert "source marginal" not in str(exc.value)


def test_plan_negative_and_nan(plan_problem):
    P, a, b = plan_problem
    Q = P.copy(); Q[0, 0] = np.nan
    with pytest.raises(ExerciseCheckError, match="NaN"):
        gn.exercises.check_transport_plan(Q, a, b)
    Q = P.copy(); Q[0, 0] = -0.01
    with pytest.raises(ExerciseCheckError, match=r"P\[0, 0\] = -0.01 is negative"):
        gn.exercises.check_transport_plan(Q, a, b)
    with pytest.raises(ExerciseCheckError, match="different total mass"):
        gn.exercises.check_transport_plan(P, a, 2 * b)


# ---- check_sorting_assignment ---------------------------------------------------------------
def _sorted_perm(x, y):
    perm = np.empty(len(x), dtype=int)
    perm[np.argsort(x)] = np.argsort(y)
    return perm


def test_sorting_right_and_wrong():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=30), rng.exponential(size=30)
    assert gn.exercises.check_sorting_assignment(_sorted_perm(x, y), x, y) is True
    # emd agrees
    P = ot.emd(np.full(30, 1 / 30), np.full(30, 1 / 30), ot.dist(x[:, None], y[:, None]))
    assert gn.exercises.check_sorting_assignment(P.argmax(1), x, y) is True
    with pytest.raises(ExerciseCheckError, match="x is not"):
        gn.exercises.check_sorting_assignment(np.argsort(y), x, y)
    with pytest.raises(ExerciseCheckError, match="decreasing"):
        gn.exercises.check_sorting_assignment(_sorted_perm(x, -y), x, y)
    with pytest.raises(ExerciseCheckError, match="permutation"):
        gn.exercises.check_sorting_assignment(np.zeros(30, dtype=int), x, y)
    p = _sorted_perm(x, y); i, j = np.argsort(x)[3], np.argsort(x)[4]
    p[i], p[j] = p[j], p[i]
    with pytest.raises(ExerciseCheckError, match="not optimal"):
        gn.exercises.check_sorting_assignment(p, x, y)


# ---- check_gaussian_ot_matrix ---------------------------------------------------------------
S_S = torch.tensor([[1.0, 0.6], [0.6, 0.8]])
S_T = torch.tensor([[0.5, -0.3], [-0.3, 1.2]])


def test_gaussian_matrix_right():
    A = gn.gaussian_ot_matrix(S_S, S_T)
    assert gn.exercises.check_gaussian_ot_matrix(A, S_S, S_T) is True
    assert gn.exercises.check_gaussian_ot_matrix(np.diag([0.5, 3.0]), np.diag([4.0, 1.0]), np.diag([1.0, 9.0]))


def test_gaussian_matrix_mistakes():
    A = gn.gaussian_ot_matrix(S_S, S_T)
    B = torch.linalg.cholesky(S_T) @ torch.linalg.inv(torch.linalg.cholesky(S_S))
    with pytest.raises(ExerciseCheckError, match="not symmetric"):
        gn.exercises.check_gaussian_ot_matrix(B, S_S, S_T)
    with pytest.raises(ExerciseCheckError, match="eigenvalue"):
        gn.exercises.check_gaussian_ot_matrix(-A, S_S, S_T)
    with pytest.raises(ExerciseCheckError, match="does not push"):
        gn.exercises.check_gaussian_ot_matrix(1.1 * A, S_S, S_T)
    with pytest.raises(ExerciseCheckError, match="source covariance is missing"):
        w, V = torch.linalg.eigh(S_T.double())
        gn.exercises.check_gaussian_ot_matrix((V * w.sqrt()) @ V.T, S_S, S_T)
    with pytest.raises(ExerciseCheckError, match="shape"):
        gn.exercises.check_gaussian_ot_matrix(np.eye(3), S_S, S_T)


# ---- check_monge_ampere_residual ------------------------------------------------------------
def _good(T, x, source, target):
    J = gn.autodiff_jacobian(T, x)
    return torch.linalg.slogdet(J)[1] - source.log_prob(x) + target.log_prob(T(x))


def test_residual_right():
    assert gn.exercises.check_monge_ampere_residual(_good) is True


@pytest.mark.parametrize("bad, pattern", [
    (lambda T, x, s, t: -_good(T, x, s, t), "sign is flipped"),
    (lambda T, x, s, t: torch.linalg.slogdet(gn.autodiff_jacobian(T, x))[1] - s.log_prob(x) + t.log_prob(x),
     "at T\\(x\\)"),
    (lambda T, x, s, t: torch.linalg.det(gn.autodiff_jacobian(T, x)) - s.log_prob(x) + t.log_prob(T(x)),
     "det J instead of log det J"),
    (lambda T, x, s, t: -s.log_prob(x) + t.log_prob(T(x)), "log-determinant term is missing"),
    (lambda T, x, s, t: _good(T, x, s, t).mean(), "one residual per point"),
    (lambda T, x, s, t: _good(T, x, s, t) + 0.1 * x[:, 0], "max \\|yours - reference\\|"),
    (lambda T, x, s, t: 1 / 0, "ZeroDivisionError"),
])
def test_residual_mistakes(bad, pattern):
    with pytest.raises(ExerciseCheckError, match=pattern):
        gn.exercises.check_monge_ampere_residual(bad)


def test_residual_not_callable():
    with pytest.raises(ExerciseCheckError):
        gn.exercises.check_monge_ampere_residual(3)
