"""gn.ICNN, gn.fit_semidual and gn.entropic_map: the chapter 4 baselines."""
import numpy as np
import pytest
import torch

import gradnetot as gn


@pytest.fixture(scope="module")
def problem():
    src = gn.Gaussian(torch.tensor([0.5, -0.2]), torch.tensor([[1.0, 0.3], [0.3, 0.5]]))
    tgt = gn.Gaussian(torch.tensor([-1.0, 1.0]), torch.tensor([[0.6, -0.2], [-0.2, 1.5]]))
    return gn.GaussianProblem(src, tgt)


def _identity_uvp(problem, x):
    return gn.l2_uvp(x, problem.true_map(x), problem.target_var)


# ---- ICNN -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [dict(), dict(quadratic=False), dict(strongly_convex=0.5, num_layers=4),
                                    dict(positive="softplus")])
def test_icnn_potential_is_convex_along_random_lines(kwargs):
    torch.manual_seed(0)
    net = gn.ICNN(3, hidden=16, **kwargs)
    with torch.no_grad():  # make the nonlinear part matter: larger raw weights than the init
        for p in net.parameters():
            p.add_(0.5 * torch.randn_like(p))
    g = torch.Generator().manual_seed(1)
    a, b = torch.randn(200, 3, generator=g) * 2, torch.randn(200, 3, generator=g) * 2
    t = torch.linspace(0, 1, 21)
    with torch.no_grad():
        vals = torch.stack([net.potential((1 - s) * a + s * b) for s in t], 1)  # (200, 21)
    second_diff = vals[:, :-2] - 2 * vals[:, 1:-1] + vals[:, 2:]
    assert second_diff.min() > -1e-4 * (1 + vals.abs().max())
    # a non-convex function would fail this very check
    bad = -vals
    assert (bad[:, :-2] - 2 * bad[:, 1:-1] + bad[:, 2:]).min() < 0


def test_icnn_gradient_map_is_monotone_and_matches_autograd():
    torch.manual_seed(0)
    net = gn.ICNN(2, hidden=16, num_layers=3, strongly_convex=0.1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.5 * torch.randn_like(p))
    x = torch.randn(400, 2, generator=torch.Generator().manual_seed(2)) * 2
    assert gn.monotonicity_gap(net, x) >= 0.1 - 1e-4  # α-strongly convex: gap ≥ α
    with torch.no_grad():
        y = net(x)
    assert not y.requires_grad
    xr = x.clone().requires_grad_(True)
    (ref,) = torch.autograd.grad(net.potential(xr).sum(), xr)
    assert torch.allclose(y, ref, atol=1e-5)
    # with gradients enabled the map is differentiable in the parameters
    out = net(x).pow(2).sum()
    out.backward()
    assert net.out_raw.grad is not None and torch.isfinite(net.out_raw.grad).all()


def test_icnn_warm_start_is_the_affine_gaussian_map(problem):
    g = torch.Generator().manual_seed(0)
    net = gn.ICNN(2, hidden=16)
    net.warm_start(problem.source.sample(20000, generator=g), problem.target.sample(20000, generator=g))
    assert bool(net.warm_started)
    assert problem.l2_uvp(net) < 1.0  # the pair is Gaussian: the moment-matched map is nearly exact
    with pytest.raises(ValueError, match="quadratic=True"):
        gn.ICNN(2, quadratic=False).warm_start(torch.randn(10, 2), torch.randn(10, 2))


def test_icnn_bad_input():
    with pytest.raises(TypeError):
        gn.ICNN(2.5)
    with pytest.raises(ValueError):
        gn.ICNN(0)
    with pytest.raises(ValueError):
        gn.ICNN(2, strongly_convex=-1.0)
    with pytest.raises(ValueError, match="positive"):
        gn.ICNN(2, positive="relu")
    net = gn.ICNN(2)
    with pytest.raises(ValueError, match="shape"):
        net(torch.randn(5, 3))
    with pytest.raises(TypeError):
        net(np.zeros((5, 2)))
    with pytest.raises(ValueError, match="NaN"):
        net(torch.tensor([[float("nan"), 0.0]]))


# ---- fit_semidual ---------------------------------------------------------------------------
def test_fit_semidual_beats_identity_from_samples_only(problem):
    g = torch.Generator().manual_seed(0)
    xs = problem.source.sample(4000, generator=g)
    yt = problem.target.sample(4000, generator=g)  # fixed samples: no density is evaluated
    net = gn.ICNN(2, hidden=16, num_layers=2)
    res = gn.fit_semidual(net, xs, yt, steps=150, batch_size=256, lr=1e-2, inner_steps=2,
                          warm_start=False, seed=0, progress=False)
    x = problem.source.sample(4000, generator=g)
    uvp = problem.l2_uvp(net)
    assert uvp < 0.5 * _identity_uvp(problem, x), uvp
    assert res.steps == 150 and len(res.losses) == 150 and np.isfinite(res.losses).all()
    assert isinstance(res.history["conjugate"], gn.ICNN)
    # the hidden weights were projected back to >= 0 after every step
    assert all(bool((w >= 0).all()) for w in (*net.z_raw, net.out_raw))
    # the semi-dual value estimates ½W₂²: ½(E|X|² + E|Y|²) − J
    half_w2 = 0.5 * (xs.pow(2).sum(1).mean() + yt.pow(2).sum(1).mean()) - res.final_loss
    x2 = problem.source.sample(20000, generator=g)
    exact = 0.5 * (problem.true_map(x2) - x2).pow(2).sum(1).mean()
    assert abs(float(half_w2) - float(exact)) < 0.25 * float(exact)


def test_fit_semidual_warm_start_and_bad_input(problem):
    net = gn.ICNN(2, hidden=8, num_layers=2)
    gn.fit_semidual(net, problem.source, problem.target, steps=5, batch_size=64, seed=0, progress=False,
                    warm_start_samples=2000)
    assert bool(net.warm_started) and problem.l2_uvp(net) < 2.0
    with pytest.raises(TypeError, match="gn.ICNN"):
        gn.fit_semidual(gn.MGradNetM(2), problem.source, problem.target, steps=5)
    with pytest.raises(TypeError, match="sample"):
        gn.fit_semidual(net, "disk", problem.target, steps=5)
    with pytest.raises(ValueError, match="columns"):
        gn.fit_semidual(net, torch.randn(100, 3), problem.target, steps=5)
    with pytest.raises(ValueError):
        gn.fit_semidual(net, problem.source, problem.target, steps=0)
    with pytest.raises(ValueError, match="warm_start"):
        gn.fit_semidual(net, problem.source, problem.target, steps=5, warm_start="yes")
    with pytest.raises(ValueError, match="dim"):
        gn.fit_semidual(net, problem.source, problem.target, steps=5, conjugate=gn.ICNN(3))


# ---- entropic_map ---------------------------------------------------------------------------
def test_entropic_map_close_to_closed_form_for_small_eps(problem):
    g = torch.Generator().manual_seed(0)
    n = 600
    T = gn.entropic_map(problem.source.sample(n, generator=g), problem.target.sample(n, generator=g), eps=0.05)
    x = problem.source.sample(3000, generator=g)
    uvp = gn.l2_uvp(T(x), problem.true_map(x), problem.target_var)
    assert uvp < 5.0, uvp
    assert uvp < 0.05 * _identity_uvp(problem, x)
    # a large ε blurs the map towards the target mean: much worse
    T_big = gn.entropic_map(problem.source.sample(n, generator=g), problem.target.sample(n, generator=g), eps=5.0)
    assert gn.l2_uvp(T_big(x), problem.true_map(x), problem.target_var) > 2 * uvp
    assert T.err <= 1e-5


def test_entropic_map_is_the_barycentric_projection_on_the_sample():
    import ot

    rng = np.random.default_rng(0)
    xs, yt = rng.normal(size=(40, 2)), rng.normal(size=(50, 2)) * 0.5 + 1.0
    T = gn.entropic_map(xs, yt, eps=0.1, tol=1e-10)
    a, b = np.full(40, 1 / 40), np.full(50, 1 / 50)
    P = ot.sinkhorn(a, b, 0.5 * ot.dist(xs, yt), 0.1, method="sinkhorn_log", numItermax=20000, stopThr=1e-12)
    bary = (P @ yt) / P.sum(1, keepdims=True)
    out = T(xs)
    assert isinstance(out, np.ndarray) and out.shape == (40, 2)
    assert np.allclose(out, bary, atol=1e-6)
    # torch in, torch out (float32 stays float32)
    out_t = T(torch.as_tensor(xs, dtype=torch.float32))
    assert out_t.dtype == torch.float32 and torch.allclose(out_t, torch.as_tensor(bary, dtype=torch.float32),
                                                           atol=1e-5)
    # no ε-scaling gives the same map
    T2 = gn.entropic_map(xs, yt, eps=0.1, tol=1e-10, eps_scaling=False)
    assert np.allclose(T2(xs), out, atol=1e-6)


def test_entropic_map_bad_input():
    x = torch.randn(20, 2)
    with pytest.raises(ValueError, match="eps"):
        gn.entropic_map(x, x, eps=0.0)
    with pytest.raises(TypeError):
        gn.entropic_map(x, x, eps="small")
    with pytest.raises(ValueError, match="dimension"):
        gn.entropic_map(x, torch.randn(20, 3), eps=0.1)
    with pytest.raises(ValueError, match="NaN"):
        gn.entropic_map(torch.tensor([[float("nan"), 0.0]]), x, eps=0.1)
    with pytest.raises(ValueError, match="b must"):
        gn.entropic_map(x, x, eps=0.1, b=np.ones(5))
    T = gn.entropic_map(x, x, eps=0.5)
    with pytest.raises(ValueError, match="shape"):
        T(torch.randn(4, 3))
    with pytest.raises(TypeError):
        T([[0.0, 1.0]])
    with pytest.warns(RuntimeWarning, match="max_iter"):
        gn.entropic_map(x, x * 3, eps=0.001, max_iter=3, eps_scaling=False)
