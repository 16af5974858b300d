"""Monotone gradient networks: convexity, potential/forward/Jacobian agreement."""
import pytest
import torch

import gradnetot as gn

DIMS = [1, 2, 3, 7]
NETS = [
    pytest.param(lambda d, sc: gn.MGradNetC(d, embed_dim=16, num_layers=3, strongly_convex=sc), id="C"),
    pytest.param(lambda d, sc: gn.MGradNetM(d, num_modules=4, embed_dim=8, strongly_convex=sc), id="M"),
]


def _make(factory, d, sc, seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    model = factory(d, sc).to(dtype)
    with torch.no_grad():  # make the nets "busier" than at init: larger random weights
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    return model


def _points(n, d, seed=1, dtype=torch.float64, scale=2.0):
    g = torch.Generator().manual_seed(seed)
    return scale * torch.randn(n, d, generator=g, dtype=dtype)


@pytest.mark.parametrize("factory", NETS)
@pytest.mark.parametrize("strongly_convex", [True, False])
@pytest.mark.parametrize("d", DIMS)
def test_jacobian_symmetric_psd(factory, strongly_convex, d):
    model = _make(factory, d, strongly_convex)
    x = _points(64, d)
    J = model.jacobian(x).detach()
    assert J.shape == (64, d, d)
    assert torch.allclose(J, J.transpose(1, 2), atol=1e-12)
    evals = torch.linalg.eigvalsh(J)
    scale = float(J.detach().abs().amax())
    if strongly_convex:
        # J = (nonlinear PSD part) + L Lᵀ + ε I  ⪰  ε I
        assert float(evals.min()) >= model.eps - 1e-9 * scale
    else:
        assert float(evals.min()) >= -1e-10 * max(scale, 1.0)


@pytest.mark.parametrize("factory", NETS)
@pytest.mark.parametrize("strongly_convex", [True, False])
@pytest.mark.parametrize("d", DIMS)
def test_map_is_monotone_on_random_pairs(factory, strongly_convex, d):
    model = _make(factory, d, strongly_convex)
    x, y = _points(500, d, seed=2), _points(500, d, seed=3)
    with torch.no_grad():
        inner = ((model(x) - model(y)) * (x - y)).sum(1)
    sq = ((x - y) ** 2).sum(1)
    assert float(inner.min()) >= -1e-10
    if strongly_convex:
        # strong monotonicity: <T(x)-T(y), x-y> >= eps |x-y|^2
        assert float((inner - model.eps * sq).min()) >= -1e-9
    # and the metric helper agrees
    assert gn.monotonicity_gap(model.float(), x.float(), y.float()) >= -1e-4


def test_plain_net_rank_is_bounded_by_width():
    """strongly_convex=False gives the paper's nets: rank J <= total embedding width."""
    torch.manual_seed(0)
    model = gn.MGradNetC(7, embed_dim=3, strongly_convex=False).double()
    J = model.jacobian(_points(10, 7))
    assert int(torch.linalg.matrix_rank(J).max()) <= 3
    model_sc = gn.MGradNetC(7, embed_dim=3, strongly_convex=True).double()
    assert int(torch.linalg.matrix_rank(model_sc.jacobian(_points(10, 7))).min()) == 7


def _autograd_of_potential(model, x):
    x = x.clone().requires_grad_(True)
    u = model.potential(x)
    assert u.shape == (x.shape[0],)
    (g,) = torch.autograd.grad(u.sum(), x)
    return g


@pytest.mark.parametrize("factory", NETS)
@pytest.mark.parametrize("strongly_convex", [True, False])
@pytest.mark.parametrize("d", [1, 2, 5])
def test_potential_gradient_equals_forward(factory, strongly_convex, d):
    model = _make(factory, d, strongly_convex)
    x = _points(50, d)
    # 1e-8, not 1e-15: F.softplus switches to the identity above 20, where
    # sigmoid (its exact derivative, used by forward) differs from 1 by ~2e-9
    assert torch.allclose(_autograd_of_potential(model, x), model(x), atol=1e-8, rtol=1e-8)


@pytest.mark.parametrize("factory", NETS)
@pytest.mark.parametrize("strongly_convex", [True, False])
def test_potential_gradient_equals_forward_after_warm_start(factory, strongly_convex):
    d = 3
    model = _make(factory, d, strongly_convex)
    g = torch.Generator().manual_seed(5)
    xs = torch.randn(400, d, generator=g, dtype=torch.float64) * torch.tensor([3.0, 0.5, 1.0]) + 2.0
    xt = torch.randn(400, d, generator=g, dtype=torch.float64) - 1.0
    model.warm_start(xs, xt)
    # warm_start must have changed the whitening buffers
    assert not torch.allclose(model.in_shift, torch.zeros(d, dtype=torch.float64))
    x = xs[:50]
    assert torch.allclose(_autograd_of_potential(model, x), model(x), atol=1e-9, rtol=1e-9)
    # ... and the Jacobian is still the Hessian of the potential
    H = torch.func.vmap(torch.func.hessian(lambda xi: model.potential(xi[None])[0]))(x)
    assert torch.allclose(H, model.jacobian(x), atol=1e-8, rtol=1e-8)


def test_potential_is_convex_along_segments():
    """u(t x + (1-t) y) <= t u(x) + (1-t) u(y)."""
    for factory in (p.values[0] for p in NETS):
        model = _make(factory, 3, False)
        x, y = _points(200, 3, seed=7), _points(200, 3, seed=8)
        for t in (0.25, 0.5, 0.8):
            with torch.no_grad():
                lhs = model.potential(t * x + (1 - t) * y)
                rhs = t * model.potential(x) + (1 - t) * model.potential(y)
            assert float((lhs - rhs).max()) <= 1e-10


@pytest.mark.parametrize("factory", NETS)
@pytest.mark.parametrize("strongly_convex", [True, False])
@pytest.mark.parametrize("d", [1, 2, 3, 7])
def test_closed_form_jacobian_matches_autodiff(factory, strongly_convex, d):
    model = _make(factory, d, strongly_convex)
    x = _points(40, d)
    J_closed = model.jacobian(x)
    J_auto = gn.autodiff_jacobian(model, x)
    assert J_auto.shape == (40, d, d)
    assert torch.allclose(J_closed, J_auto, atol=1e-10, rtol=1e-9)
    T, J = model.forward_and_jacobian(x)
    assert torch.allclose(T, model(x), atol=1e-12)
    assert torch.allclose(J, J_closed, atol=1e-12)


def test_closed_form_jacobian_matches_autodiff_float32_after_warm_start(gauss2):
    src, tgt = gauss2
    g = torch.Generator().manual_seed(0)
    for cls in (gn.MGradNetC, gn.MGradNetM):
        torch.manual_seed(0)
        model = cls(2).warm_start(src.sample(2000, generator=g), tgt.sample(2000, generator=g))
        x = src.sample(100, generator=g)
        assert torch.allclose(model.jacobian(x), gn.autodiff_jacobian(model, x), atol=1e-5, rtol=1e-4)


def test_warm_start_gives_gaussian_map(gauss2):
    """The warm start is the moment-matched affine map, so on a Gaussian pair it is near-exact."""
    src, tgt = gauss2
    g = torch.Generator().manual_seed(0)
    true = gn.gaussian_ot_map(src.mean, src.cov, tgt.mean, tgt.cov)
    for cls in (gn.MGradNetC, gn.MGradNetM):
        torch.manual_seed(0)
        model = cls(2)
        x = src.sample(2000, generator=g)
        with torch.no_grad():
            before = gn.l2_uvp(model(x), true(x), 2.0)
            model.warm_start(src.sample(20000, generator=g), tgt.sample(20000, generator=g))
            after = gn.l2_uvp(model(x), true(x), 2.0)
        assert after < 1.0 < before


@pytest.mark.parametrize("d", [1, 2, 5])
def test_logdet_spd_matches_slogdet(d):
    g = torch.Generator().manual_seed(d)
    B = torch.randn(30, d, d, generator=g, dtype=torch.float64)
    J = B @ B.transpose(1, 2) + 0.1 * torch.eye(d, dtype=torch.float64)
    sign, ref = torch.linalg.slogdet(J)
    assert bool((sign > 0).all())
    assert torch.allclose(gn.logdet_spd(J), ref, atol=1e-10, rtol=1e-10)
    # float32 too
    assert torch.allclose(gn.logdet_spd(J.float()), ref.float(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("d", [1, 2, 5])
def test_logdet_spd_is_nan_for_non_pd(d):
    J = -torch.eye(d, dtype=torch.float64).expand(3, d, d).clone()
    if d == 2:
        J[:, 0, 0] = 1.0  # det < 0
    assert bool(torch.isnan(gn.logdet_spd(J)).all())


def test_mlp_map_is_identity_plus_mlp_and_differentiable():
    torch.manual_seed(0)
    model = gn.MLPMap(3, hidden=16, num_layers=2).double()
    x = _points(20, 3)
    with torch.no_grad():
        assert torch.allclose(model(x), x + model.net(x))
    J = gn.autodiff_jacobian(model, x)
    # compare one row with finite differences
    h = 1e-6
    e = torch.zeros(1, 3, dtype=torch.float64)
    e[0, 1] = h
    with torch.no_grad():
        fd = (model(x[:1] + e) - model(x[:1] - e)) / (2 * h)
    assert torch.allclose(J[0, :, 1], fd[0], atol=1e-6)
