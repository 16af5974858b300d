"""Tests for the chapter 4 exercise checks: right answers pass, typical mistakes fail with a useful message."""
import numpy as np
import pytest
import torch

import gradnetot as gn
from gradnetot.exercises import ExerciseCheckError


def test_exports():
    for name in ["check_convex_conjugate", "check_entropic_map"]:
        assert name in gn.exercises.__all__
        assert callable(getattr(gn.exercises, name))


# ---- check_convex_conjugate -----------------------------------------------------------------
def good_conjugate(x, f, y):
    return (y @ x.T - f[None, :]).max(1)


def test_conjugate_right_answers_pass():
    assert gn.exercises.check_convex_conjugate(good_conjugate) is True
    # torch and a (m, 1) column are accepted too
    assert gn.exercises.check_convex_conjugate(
        lambda x, f, y: torch.as_tensor(y @ x.T - f[None, :]).max(1, keepdim=True).values) is True
    # a loop version
    assert gn.exercises.check_convex_conjugate(
        lambda x, f, y: np.array([max(xi @ yk - fi for xi, fi in zip(x, f)) for yk in y])) is True


@pytest.mark.parametrize("bad, msg", [
    (lambda x, f, y: (y @ x.T - f[None, :]).min(1), "minimum"),
    (lambda x, f, y: (y @ x.T + f[None, :]).max(1), "sign of f"),
    (lambda x, f, y: x[(y @ x.T - f[None, :]).argmax(1), 0], "argmax"),
    (lambda x, f, y: (0.5 * ((y[:, None] - x[None]) ** 2).sum(-1) - f[None, :]).min(1), "c-transform"),
    (lambda x, f, y: (y @ x.T - f[None, :]).max(0), "shape"),
    (lambda x, f, y: (y @ x.T - f[None, :]).max(1) + 0.1, "max |yours"),
    (lambda x, f, y: 1 / 0, "ZeroDivisionError"),
])
def test_conjugate_mistakes_fail_with_message(bad, msg):
    with pytest.raises(ExerciseCheckError, match=msg):
        gn.exercises.check_convex_conjugate(bad)


def test_conjugate_not_callable():
    with pytest.raises(ExerciseCheckError, match="function itself"):
        gn.exercises.check_convex_conjugate(np.zeros(3))


# ---- check_entropic_map ---------------------------------------------------------------------
def good_map(x, y, g, eps):
    logits = (g[None, :] - 0.5 * ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)) / eps
    w = np.exp(logits - logits.max(1, keepdims=True))
    return (w / w.sum(1, keepdims=True)) @ y


def test_entropic_right_answers_pass():
    assert gn.exercises.check_entropic_map(good_map) is True

    def torch_map(x, y, g, eps):
        x, y, g = map(torch.as_tensor, (x, y, g))
        w = torch.softmax((g[None] - 0.5 * torch.cdist(x, y) ** 2) / eps, dim=1)
        return w @ y
    assert gn.exercises.check_entropic_map(torch_map) is True


def _sq(x, y):
    return ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)


@pytest.mark.parametrize("bad, msg", [
    (lambda x, y, g, e: _soft((g[None] - _sq(x, y)) / e, y), "factor 1/2"),
    (lambda x, y, g, e: _soft((-g[None] - 0.5 * _sq(x, y)) / e, y), "plus sign"),
    (lambda x, y, g, e: _soft(-0.5 * _sq(x, y) / e, y), "potential g is missing"),
    (lambda x, y, g, e: _soft(g[None] - 0.5 * _sq(x, y), y), "divide the exponent"),
    (lambda x, y, g, e: np.exp((g[None] - 0.5 * _sq(x, y)) / e) @ y, "normalise"),
    (lambda x, y, g, e: good_map(x, y, g, e).T, "shape"),
])
def test_entropic_mistakes_fail_with_message(bad, msg):
    with pytest.raises(ExerciseCheckError, match=msg):
        gn.exercises.check_entropic_map(bad)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_entropic_overflow_is_explained():
    with pytest.raises(ExerciseCheckError, match="NaN/inf"):
        gn.exercises.check_entropic_map(lambda x, y, g, e: np.exp((g[None] - 0.5 * _sq(x, y)) / (1e-4 * e)) @ y)


def _soft(logits, y):
    w = np.exp(logits - logits.max(1, keepdims=True))
    return (w / w.sum(1, keepdims=True)) @ y


def test_entropic_check_agrees_with_the_package():
    # the package's map, fed its own potentials, passes the same reference formula
    rng = np.random.default_rng(0)
    xs, yt = rng.normal(size=(50, 2)), rng.normal(size=(60, 2)) + 1
    T = gn.entropic_map(xs, yt, eps=0.2)
    q = rng.normal(size=(10, 2))
    assert np.allclose(T(q), good_map(q, T.y.numpy(), T.g.numpy(), 0.2), atol=1e-8)
