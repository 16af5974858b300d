"""Exercise checks of chapters 9 (robot swarms) and 10 (claims tested)."""
import pytest
import torch

import gradnetot as gn

E = gn.exercises


# ---- chapter 9 --------------------------------------------------------------
def _good_min(x):
    d = torch.cdist(x, x)
    d.fill_diagonal_(float("inf"))
    return float(d.min())


def test_min_pairwise_distance_reference():
    x = torch.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    assert E.min_pairwise_distance(x) == pytest.approx(1.0)


def test_check_min_pairwise_distance_accepts_correct():
    assert E.check_min_pairwise_distance(_good_min) is True


@pytest.mark.parametrize("bad, msg", [
    (lambda x: float(torch.cdist(x, x).min()), "diagonal"),
    (lambda x: _good_min(x) ** 2, "expected"),
])
def test_check_min_pairwise_distance_rejects(bad, msg):
    with pytest.raises(E.ExerciseCheckError, match=msg):
        E.check_min_pairwise_distance(bad)


def test_collision_free_accepts_monotone_maps():
    x = torch.rand(80, 2, generator=torch.Generator().manual_seed(0))
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    assert E.check_collision_free(lambda z: z @ A + 1.0, x)
    assert E.check_collision_free(gn.MGradNetC(2), x)


def test_collision_free_rejects_reflection_and_random_matching():
    x = torch.rand(80, 2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(E.ExerciseCheckError, match="not monotone"):
        E.check_collision_free(lambda z: -z, x)
    y = x[torch.randperm(80, generator=torch.Generator().manual_seed(1))]
    with pytest.raises(E.ExerciseCheckError, match="robots"):
        E.check_collision_free(y, x)


def test_collision_free_rejects_bad_input():
    with pytest.raises(E.ExerciseCheckError, match="same position"):
        E.check_collision_free(lambda z: z, torch.zeros(5, 2))
    with pytest.raises(E.ExerciseCheckError, match="shape"):
        E.check_collision_free(torch.zeros(4, 2), torch.rand(5, 2))


# ---- chapter 10 --------------------------------------------------------------
def test_blocking_pairs_reference():
    x = torch.tensor([[0.0], [1.0], [2.0]])
    assert E.blocking_pairs(x, x) == 0
    assert E.blocking_pairs(x, -x) == 3
    assert E.blocking_pairs(x, torch.tensor([[1.0], [0.0], [2.0]])) == 1


def test_check_blocking_pairs():
    def good(x, y):
        g = ((x[:, None] - x[None]) * (y[:, None] - y[None])).sum(-1)
        return int((g < -1e-9).sum()) // 2

    assert E.check_blocking_pairs(good) is True
    with pytest.raises(E.ExerciseCheckError, match="twice"):
        E.check_blocking_pairs(lambda x, y: 2 * good(x, y))
    with pytest.raises(E.ExerciseCheckError, match="expected"):
        E.check_blocking_pairs(lambda x, y: 0)


def _sqrtm(S):
    w, V = torch.linalg.eigh(S.double())
    return (V * w.clamp_min(0).sqrt()) @ V.T


def test_check_bures_map():
    def good(xs, xt):
        return gn.gaussian_ot_map(xs.mean(0), torch.cov(xs.T), xt.mean(0), torch.cov(xt.T))

    assert E.check_bures_map(good) is True

    def not_symmetric(xs, xt):
        ms, mt = xs.mean(0), xt.mean(0)
        A = (_sqrtm(torch.cov(xt.T)) @ torch.linalg.inv(_sqrtm(torch.cov(xs.T)))).float()
        return lambda x: mt + (x - ms) @ A.T

    with pytest.raises(E.ExerciseCheckError, match="not symmetric"):
        E.check_bures_map(not_symmetric)

    def wrong_mean(xs, xt):
        T = good(xs, xt)
        return lambda x: T(x) + 0.5

    with pytest.raises(E.ExerciseCheckError, match="L2-UVP"):
        E.check_bures_map(wrong_mean)
    with pytest.raises(E.ExerciseCheckError, match="callable"):
        E.check_bures_map(lambda xs, xt: 3)
