"""The fast training path (closed-form fused T and J, Cholesky log-det) against autodiff.

Same loss and same parameter gradients to float32 round-off, for both nets, d = 2 and 5,
with and without the strongly convex term; plus the ``callback`` hook of ``gn.fit`` and,
opt-in (slow on CPU), ``fit(compile=True)`` against eager.
"""
import copy
import os
import warnings

import pytest
import torch

import gradnetot as gn
from gradnetot.networks import MonotoneGradientNet


def _densities(d):
    g = torch.Generator().manual_seed(d)
    a = torch.randn(d, d, generator=g)
    src = gn.Gaussian(torch.randn(d, generator=g), a @ a.T / d + 0.5 * torch.eye(d))
    tgt = gn.GaussianMixture(torch.rand(6, generator=g) + 0.1, torch.randn(6, d, generator=g), 0.7)
    return src, tgt


def _model(kind, d, sc, K=3):
    torch.manual_seed(10 * d + sc)
    m = gn.MGradNetM(d, num_modules=K, embed_dim=8, strongly_convex=sc) if kind == "M" \
        else gn.MGradNetC(d, embed_dim=16, strongly_convex=sc)
    src, tgt = _densities(d)
    # a non-trivial whitening and affine part, as gn.fit sets them
    m.warm_start(src.sample(4000, generator=torch.Generator().manual_seed(1)),
                 tgt.sample(4000, generator=torch.Generator().manual_seed(2)))
    with torch.no_grad():  # undo warm start's down-scaling so the nonlinear part matters
        m.alpha_raw.add_(1.0)
    return m, src, tgt


def _autodiff_loss(model, x, src, tgt):
    T = model(x)
    J = gn.autodiff_jacobian(model, x)
    r = torch.linalg.slogdet(J)[1] - src.log_prob(x) + tgt.log_prob(T)
    return r.abs().mean()


def _grads(model, loss):
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.autograd.grad(loss, params)


CASES = [(kind, d, sc, K) for kind in ("M", "C") for d in (2, 5) for sc in (True, False) for K in (3,)]
CASES += [("M", 5, True, 16), ("M", 5, False, 16)]  # K·d > 64: the batched-matmul branch for v_k


@pytest.mark.parametrize("kind,d,sc,K", CASES)
def test_fast_path_matches_autodiff(kind, d, sc, K):
    model, src, tgt = _model(kind, d, sc, K)
    x = src.sample(300, generator=torch.Generator().manual_seed(3))
    fast = gn.monge_ampere_loss(model, x, src, tgt)
    slow = _autodiff_loss(model, x, src, tgt)
    assert torch.isfinite(fast)
    torch.testing.assert_close(fast, slow, rtol=1e-5, atol=1e-5)
    gf, gs = _grads(model, fast), _grads(model, slow)
    for a, b in zip(gf, gs):
        scale = float(b.abs().max()) + 1e-3
        assert float((a - b).abs().max()) <= 2e-4 * scale, (a, b)
    # the gradients must not be trivially zero (the comparison would be vacuous)
    assert sum(float(g.abs().sum()) for g in gf) > 1e-3


@pytest.mark.parametrize("d,K", [(1, 3), (2, 4), (5, 3), (5, 16), (8, 2)])
def test_mgradnet_m_fast_jacobian_equals_generic(d, K):
    model, src, _ = _model("M", d, True, K) if d > 1 else (gn.MGradNetM(1, num_modules=K), None, None)
    model = model.double()
    x = torch.randn(64, d, dtype=torch.float64)
    T1, J1 = model._fused(x)
    T0, J0 = MonotoneGradientNet._fused(model, x)  # the generic closed form
    torch.testing.assert_close(T1, T0, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(J1, J0, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(T1, model(x), rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(J1, J1.transpose(1, 2))


def test_logdet_spd_matches_slogdet():
    g = torch.Generator().manual_seed(0)
    for d in (1, 2, 3, 7):
        a = torch.randn(20, d, d, generator=g, dtype=torch.float64)
        J = a @ a.transpose(1, 2) + 0.1 * torch.eye(d, dtype=torch.float64)
        torch.testing.assert_close(gn.logdet_spd(J), torch.linalg.slogdet(J)[1])


def test_fit_callback_every_check_and_early_stop():
    src, tgt = _densities(2)
    calls = []

    def cb(step, model):
        calls.append(step)
        assert isinstance(model, torch.nn.Module)
        return step >= 20

    res = gn.fit(gn.MGradNetM(2, 2, 8), src, tgt, steps=50, batch_size=64, seed=0, progress=False,
                 check_every=10, callback=cb)
    assert calls == [10, 20]
    assert res.steps == 20 and len(res.losses) == 20
    calls.clear()
    res = gn.fit(gn.MGradNetM(2, 2, 8), src, tgt, steps=25, batch_size=64, seed=0, progress=False,
                 check_every=10, callback=lambda s, m: calls.append(s))
    assert calls == [10, 20, 25] and res.steps == 25 and len(res.losses) == 25


@pytest.mark.skipif(os.environ.get("GRADNETOT_TEST_COMPILE") != "1",
                    reason="torch.compile takes minutes on a small CPU; set GRADNETOT_TEST_COMPILE=1")
def test_compile_matches_eager():
    src, tgt = _densities(2)
    torch.manual_seed(0)
    m0 = gn.MGradNetM(2, 4, 16)
    m1 = copy.deepcopy(m0)
    eager = gn.fit(m0, src, tgt, steps=30, batch_size=256, seed=0, progress=False, device="cpu")
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        comp = gn.fit(m1, src, tgt, steps=30, batch_size=256, seed=0, progress=False, device="cpu", compile=True)
    assert not any("eager" in str(x.message) for x in w), [str(x.message) for x in w]
    torch.testing.assert_close(torch.as_tensor(comp.losses), torch.as_tensor(eager.losses), rtol=1e-4, atol=1e-4)
