"""The low-rank log det path (matrix determinant lemma) equals the full Cholesky path."""
import pytest
import torch

import gradnetot as gn


def _gaussians(d, dtype=torch.float64):
    g = torch.Generator().manual_seed(d)
    Q = torch.randn(d, d, generator=g, dtype=dtype) / d ** 0.5
    src = gn.Gaussian(torch.randn(d, generator=g, dtype=dtype), Q @ Q.T + 0.5 * torch.eye(d, dtype=dtype))
    tgt = gn.Gaussian(torch.zeros(d, dtype=dtype), torch.eye(d, dtype=dtype))
    return src, tgt


def _net(kind, d, width, strongly_convex=True, seed=0):
    """A float64 net with a non-trivial whitening and a nonlinear part of the same size as the affine one."""
    torch.manual_seed(seed)
    if kind == "C":
        net = gn.MGradNetC(d, embed_dim=width, strongly_convex=strongly_convex)
    else:
        K, m = width
        net = gn.MGradNetM(d, num_modules=K, embed_dim=m, strongly_convex=strongly_convex)
    net = net.double()
    with torch.no_grad():
        M = torch.randn(d, d, dtype=torch.float64) / d ** 0.5
        net.in_precond.copy_(M @ M.T + 0.5 * torch.eye(d, dtype=torch.float64))
        net.in_shift.normal_()
        if strongly_convex:
            net.quad.add_(0.3 * torch.randn(d, d, dtype=torch.float64) / d ** 0.5)
    return net


def _loss_and_grads(net, path, x, src, tgt):
    net.logdet_path = path
    loss = gn.monge_ampere_loss(net, x, src, tgt)
    params = [p for p in net.parameters()]
    return loss, torch.autograd.grad(loss, params)


# (kind, d, width): r = width (C) or K·m (M); r < d, r = d and r > d
CASES = [("C", 12, 5), ("C", 8, 8), ("C", 5, 11), ("M", 20, (3, 4)), ("M", 12, (3, 4)), ("M", 6, (2, 5)),
         ("M", 3, (4, 3))]


def _assert_paths_agree(net, x, src, tgt, loss_tol, grad_rtol, grad_atol):
    """The low-rank path gives the full path's loss and finite, equal gradients."""
    l0, g0 = _loss_and_grads(net, "full", x, src, tgt)
    l1, g1 = _loss_and_grads(net, "low_rank", x, src, tgt)
    torch.testing.assert_close(l1, l0, rtol=loss_tol, atol=loss_tol)
    for a, b in zip(g1, g0):
        assert bool(torch.isfinite(a).all())
        torch.testing.assert_close(a, b, rtol=grad_rtol, atol=grad_atol)


@pytest.mark.parametrize("kind,d,width", CASES)
def test_low_rank_loss_and_gradients_equal_full_path(kind, d, width):
    net = _net(kind, d, width)
    src, tgt = _gaussians(d)
    x = src.sample(64, generator=torch.Generator().manual_seed(1))
    T0, ld0 = (net.__setattr__("logdet_path", "full"), net.forward_and_logdet(x))[1]
    T1, ld1 = (net.__setattr__("logdet_path", "low_rank"), net.forward_and_logdet(x))[1]
    torch.testing.assert_close(T1, T0, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ld1, ld0, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ld0, torch.linalg.slogdet(net.jacobian(x))[1], rtol=1e-10, atol=1e-10)
    l0, g0 = _loss_and_grads(net, "full", x, src, tgt)
    l1, g1 = _loss_and_grads(net, "low_rank", x, src, tgt)
    torch.testing.assert_close(l1, l0, rtol=1e-11, atol=1e-11)
    for a, b in zip(g1, g0):
        torch.testing.assert_close(a, b, rtol=1e-8, atol=1e-10)


@pytest.mark.parametrize("kind,width", [("C", 4), ("M", (2, 3))])
def test_without_strongly_convex_term_the_full_path_is_used(kind, width):
    d = 10
    net = _net(kind, d, width, strongly_convex=False)
    assert net.low_rank_width() < d and not net.uses_low_rank_logdet()
    src, tgt = _gaussians(d)
    x = src.sample(32, generator=torch.Generator().manual_seed(2))
    T, ld = net.forward_and_logdet(x)
    T0, J = net.forward_and_jacobian(x)
    torch.testing.assert_close(T, T0)
    torch.testing.assert_close(ld, gn.logdet_spd(J), equal_nan=True)
    net.logdet_path = "low_rank"
    with pytest.raises(ValueError, match="strongly_convex"):
        net.forward_and_logdet(x)


def test_eps_zero_and_bad_path():
    net = gn.MGradNetC(16, embed_dim=4, eps=0.0)
    assert not net.uses_low_rank_logdet()  # A = L Lᵀ may be singular: full path
    net.logdet_path = "cheap"
    with pytest.raises(ValueError, match="logdet_path"):
        net.forward_and_logdet(torch.randn(3, 16))
    with pytest.raises(TypeError):
        gn.MGradNetC(4).forward_and_logdet([[0.0] * 4])


def test_auto_picks_the_low_rank_path_when_r_below_d():
    assert gn.MGradNetC(128).uses_low_rank_logdet()             # r = 64 < 128
    assert gn.MGradNetC(64).uses_low_rank_logdet()              # r = d: measured faster too
    assert not gn.MGradNetC(32).uses_low_rank_logdet()          # r = 64 > 32
    assert gn.MGradNetM(512).uses_low_rank_logdet()             # r = 8·32 = 256 < 512
    assert not gn.MGradNetM(128).uses_low_rank_logdet()         # r = 256 > 128
    assert gn.MGradNetM(16, num_modules=2, embed_dim=4).uses_low_rank_logdet()


@pytest.mark.parametrize("kind,width", [("C", 6), ("M", (2, 4))])
def test_loss_and_fit_go_through_the_low_rank_path(kind, width, monkeypatch):
    d = 16
    net = _net(kind, d, width).float()
    assert net.uses_low_rank_logdet()

    def no_full(*a, **k):
        raise AssertionError("the full path was used")

    monkeypatch.setattr(net, "_fused", no_full)  # building J at all would fail
    src, tgt = _gaussians(d, torch.float32)
    loss = gn.monge_ampere_loss(net, src.sample(32), src, tgt)
    assert torch.isfinite(loss)
    res = gn.fit(net, src, tgt, steps=3, batch_size=32, seed=0, progress=False, device="cpu")
    assert res.steps == 3 and bool(torch.isfinite(torch.as_tensor(res.losses)).all())


def test_zero_curvature_entries_keep_gradients_finite_and_exact():
    # saturated units: sigmoid(h) == 1 exactly in float64, so H has exact zeros (no H^{1/2} in the path)
    d = 12
    net = _net("C", d, 6)
    with torch.no_grad():
        net.b[:3] = 80.0
    src, tgt = _gaussians(d)
    x = src.sample(32, generator=torch.Generator().manual_seed(3))
    gvec = net._nonlinear(net._whiten(x), need_jac=True)[2]
    assert bool((gvec == 0).any())
    _assert_paths_agree(net, x, src, tgt, loss_tol=1e-11, grad_rtol=1e-8, grad_atol=1e-10)


def test_underflowed_softmax_keeps_gradients_finite_and_exact():
    # sharp softmax: some p_k entries are exactly 0
    d = 10
    net = _net("M", d, (2, 5))
    with torch.no_grad():
        net.beta_raw.fill_(60.0)
    src, tgt = _gaussians(d)
    x = src.sample(32, generator=torch.Generator().manual_seed(4))
    p = net._probs_x(x)[3]
    assert bool((p == 0).any())
    _assert_paths_agree(net, x, src, tgt, loss_tol=1e-10, grad_rtol=1e-7, grad_atol=1e-9)


@pytest.mark.parametrize("kind,width", [("C", 16), ("M", (4, 8))])
def test_float32_low_rank_is_as_accurate_as_full(kind, width):
    d = 64
    net64 = _net(kind, d, width)
    src, tgt = _gaussians(d)
    x = src.sample(128, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        net64.logdet_path = "full"
        truth = net64.forward_and_logdet(x)[1]
        net32 = net64.float()  # .float() converts in place: truth was computed first
        err = {}
        for path in ("full", "low_rank"):
            net32.logdet_path = path
            err[path] = float((net32.forward_and_logdet(x.float())[1].double() - truth).abs().max())
    assert err["low_rank"] < 1e-3 * float(truth.abs().max())
    assert err["low_rank"] <= 10 * err["full"] + 1e-5
