"""Monge–Ampère loss and ``fit``: exactness, recovery, determinism, NaN guard, checkpoints."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

import gradnetot as gn
from conftest import CountingDensity, params_finite, state_equal


class Affine(nn.Module):
    """T(x) = x A + b with fixed A, b (no closed-form Jacobian: the loss uses torch.func)."""

    def __init__(self, A, b):
        super().__init__()
        self.A = nn.Parameter(A.clone().float())
        self.b = nn.Parameter(b.clone().float())
        self.dim = A.shape[0]

    def forward(self, x):
        return x @ self.A + self.b


class AffineWithJacobian(Affine):
    def forward_and_jacobian(self, x):
        return self(x), self.A.T.expand(x.shape[0], self.dim, self.dim)


def _gaussians(d, seed=0):
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(d, d, generator=g)
    cov_s = B @ B.T + 0.5 * torch.eye(d)
    C = torch.randn(d, d, generator=g)
    cov_t = C @ C.T + 0.3 * torch.eye(d)
    return (gn.Gaussian(torch.randn(d, generator=g), cov_s), gn.Gaussian(torch.randn(d, generator=g), cov_t))


@pytest.mark.parametrize("d", [1, 2, 5])
@pytest.mark.parametrize("cls", [Affine, AffineWithJacobian])
def test_loss_is_zero_at_exact_gaussian_map(d, cls):
    src, tgt = _gaussians(d, seed=d)
    T = gn.gaussian_ot_map(src.mean, src.cov, tgt.mean, tgt.cov)
    exact = cls(T.A, T.b)
    x = src.sample(512, generator=torch.Generator().manual_seed(0))
    loss = float(gn.monge_ampere_loss(exact, x, src, tgt).detach())
    assert loss < 1e-5  # measured ~1e-7 (float32 round-off)
    r = gn.monge_ampere_residual(exact, x, src, tgt).detach()
    assert r.shape == (512,) and float(r.abs().max()) < 1e-4
    assert float(gn.monge_ampere_loss(exact, x, src, tgt, p=2).detach()) < 1e-8
    # a wrong map (scaled by 1.3, shifted) has a clearly larger loss
    wrong = cls(1.3 * T.A, T.b + 0.5)
    assert float(gn.monge_ampere_loss(wrong, x, src, tgt).detach()) > 0.2
    # the identity is not the OT map either
    ident = cls(torch.eye(d), torch.zeros(d))
    assert float(gn.monge_ampere_loss(ident, x, src, tgt).detach()) > 0.1


def test_loss_closed_form_path_equals_autodiff_path(gauss2):
    """The mGradNet closed-form Jacobian and a torch.func wrapper give the same loss."""
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MGradNetC(2)

    class Wrapped(nn.Module):  # hides _fused / forward_and_jacobian -> autodiff path
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x)

    x = src.sample(256, generator=torch.Generator().manual_seed(0))
    a = gn.monge_ampere_loss(model, x, src, tgt)
    b = gn.monge_ampere_loss(Wrapped(model), x, src, tgt)
    assert float(a.detach()) == pytest.approx(float(b.detach()), rel=1e-4)
    # gradients agree too
    ga = torch.autograd.grad(a, model.W)[0]
    gb = torch.autograd.grad(b, model.W)[0]
    assert torch.allclose(ga, gb, atol=1e-5, rtol=1e-3)


@pytest.mark.parametrize("cls", [gn.MGradNetC, gn.MGradNetM])
def test_short_fit_recovers_gaussian_map_from_scratch(cls, gauss2):
    """No warm start: the network itself must learn the closed-form map."""
    src, tgt = gauss2
    true = gn.gaussian_ot_map(src.mean, src.cov, tgt.mean, tgt.cov)
    x = src.sample(4000, generator=torch.Generator().manual_seed(99))
    torch.manual_seed(0)
    model = cls(2)
    with torch.no_grad():
        before = gn.l2_uvp(model(x), true(x), 2.0)
    res = gn.fit(model, src, tgt, steps=250, batch_size=256, device="cpu", seed=0, progress=False,
                 warm_start=False)
    with torch.no_grad():
        after = gn.l2_uvp(model(x), true(x), 2.0)
    assert before > 10.0
    assert after < 1.0, f"L2-UVP {after:.3f}% after 250 steps"
    assert res.losses[-20:].mean() < 0.2 * res.losses[:20].mean()
    assert res.final_loss < 0.1
    assert res.steps == 250 and res.device == "cpu" and res.time_per_step > 0
    assert res.model is model
    assert gn.min_jacobian_eigenvalue(model, x).min() >= 0


def test_default_fit_is_near_exact_on_gaussians(gauss2):
    """With the default warm start a short fit is within 0.05% L2-UVP of the closed form."""
    src, tgt = gauss2
    true = gn.gaussian_ot_map(src.mean, src.cov, tgt.mean, tgt.cov)
    x = src.sample(4000, generator=torch.Generator().manual_seed(99))
    torch.manual_seed(0)
    model = gn.MGradNetM(2)
    gn.fit(model, src, tgt, steps=60, batch_size=256, device="cpu", seed=0, progress=False)
    with torch.no_grad():
        assert gn.l2_uvp(model(x), true(x), 2.0) < 0.05


def test_mlp_map_trains_through_autodiff_path(gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MLPMap(2, hidden=32, num_layers=2)
    assert not hasattr(model, "jacobian")
    res = gn.fit(model, src, tgt, steps=120, batch_size=128, device="cpu", seed=0, progress=False)
    assert np.isfinite(res.losses).all()
    assert res.losses[-10:].mean() < 0.5 * res.losses[:10].mean()
    x = src.sample(2000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = model(x)
    # pushes the source roughly onto N(0, I)
    assert gn.energy_distance(y, tgt.sample(2000, generator=torch.Generator().manual_seed(2))) < \
        0.5 * gn.energy_distance(x, tgt.sample(2000, generator=torch.Generator().manual_seed(2)))


def test_fit_is_deterministic_on_cpu(gauss2):
    src, tgt = gauss2
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = gn.MGradNetC(2, embed_dim=16)
        res = gn.fit(model, src, tgt, steps=40, batch_size=128, device="cpu", seed=123, progress=False)
        runs.append((res.losses, model))
    assert np.array_equal(runs[0][0], runs[1][0])
    assert state_equal(runs[0][1], runs[1][1])
    # a different seed gives a different run
    torch.manual_seed(0)
    other = gn.MGradNetC(2, embed_dim=16)
    res = gn.fit(other, src, tgt, steps=40, batch_size=128, device="cpu", seed=124, progress=False)
    assert not np.array_equal(res.losses, runs[0][0])


def test_checkpoint_resume_matches_uninterrupted_run(tmp_path, gauss2):
    src, tgt = gauss2
    kw = dict(steps=60, batch_size=64, device="cpu", seed=7, progress=False, presample=10,
              checkpoint_every=20)
    torch.manual_seed(0)
    ref = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    init = copy.deepcopy(ref)
    ref_res = gn.fit(ref, src, tgt, **kw)

    ck = tmp_path / "ck.pt"

    def interrupt(step, model):  # called every check_every (25) steps and at the end
        if step == 50:
            raise KeyboardInterrupt("simulated interruption")

    # interrupted at step 50: the last checkpoint (every 20 steps, at chunk ends) is step 40
    model = copy.deepcopy(init)
    with pytest.raises(KeyboardInterrupt):
        gn.fit(model, src, tgt, checkpoint=ck, callback=interrupt, **kw)
    assert ck.exists()
    assert torch.load(ck, weights_only=True)["step"] == 40

    # resume with a *fresh* model with other weights: everything comes from the checkpoint
    torch.manual_seed(1)
    resumed = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    assert not state_equal(resumed, ref)
    res = gn.fit(resumed, src, tgt, checkpoint=ck, **kw)
    assert res.resumed_from == 40
    assert state_equal(resumed, ref)
    np.testing.assert_array_equal(res.losses, ref_res.losses)

    # a finished checkpoint resumes to the same end state without training
    again = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    res2 = gn.fit(again, src, tgt, checkpoint=ck, **kw)
    assert res2.resumed_from == 60 and state_equal(again, ref)

    # resuming with other steps / batch_size is refused with a clear message
    with pytest.raises(ValueError, match="steps"):
        gn.fit(gn.MGradNetM(2, num_modules=4, embed_dim=8), src, tgt, checkpoint=ck,
               **{**kw, "steps": 80})
    with pytest.raises(ValueError, match="batch_size"):
        gn.fit(gn.MGradNetM(2, num_modules=4, embed_dim=8), src, tgt, checkpoint=ck,
               **{**kw, "batch_size": 32})


def test_checkpoint_default_alignment_resumes_exactly(tmp_path, gauss2):
    """Default chunking/checkpoint_every, interrupted by an exception in target.log_prob."""
    src, tgt = gauss2
    kw = dict(steps=50, batch_size=64, device="cpu", seed=3, progress=False)
    torch.manual_seed(0)
    ref = gn.MGradNetC(2, embed_dim=8)
    init = copy.deepcopy(ref)
    ref_res = gn.fit(ref, src, tgt, **kw)

    class Boom(Exception):
        pass

    class FailingTarget(CountingDensity):
        def log_prob(self, x):
            if self.log_prob_calls == 35:  # 1 validation call, then one per step -> step 34
                raise Boom()
            return super().log_prob(x)

    ck = tmp_path / "ck.pt"
    with pytest.raises(Boom):
        gn.fit(copy.deepcopy(init), src, FailingTarget(tgt), checkpoint=ck, **kw)
    saved = torch.load(ck, weights_only=True)["step"]
    assert 0 < saved < 50
    resumed = gn.MGradNetC(2, embed_dim=8)
    res = gn.fit(resumed, src, tgt, checkpoint=ck, **kw)
    assert res.resumed_from == saved
    assert state_equal(resumed, ref)
    np.testing.assert_array_equal(res.losses, ref_res.losses)


@pytest.mark.parametrize("lr", [1e6, 1e10])
def test_absurd_learning_rate_raises_and_restores(lr, gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    with pytest.raises(gn.TrainingDivergedError) as info:
        gn.fit(model, src, tgt, steps=100, batch_size=64, lr=lr, device="cpu", seed=0, progress=False)
    assert "restored" in str(info.value)
    assert params_finite(model)
    x = src.sample(100)
    with torch.no_grad():
        assert bool(torch.isfinite(model(x)).all())
    # the partial result travels with the error
    assert info.value.result is not None
    assert np.isfinite(info.value.result.losses).all()


def test_target_that_turns_nan_mid_fit(gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MGradNetC(2, embed_dim=8)
    bad = CountingDensity(tgt, nan_after=12)  # NaN from the 11th training step on
    with pytest.raises(ValueError, match="target") as info:
        gn.fit(model, src, bad, steps=60, batch_size=64, device="cpu", seed=0, progress=False)
    assert "NaN" in str(info.value)
    assert params_finite(model)
    with torch.no_grad():
        assert bool(torch.isfinite(model(src.sample(50))).all())


def test_target_nan_for_one_step_is_a_divergence(gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MGradNetC(2, embed_dim=8)
    bad = CountingDensity(tgt, nan_after=12, nan_once=True)
    with pytest.raises(gn.TrainingDivergedError):
        gn.fit(model, src, bad, steps=60, batch_size=64, device="cpu", seed=0, progress=False)
    assert params_finite(model)


def test_source_log_prob_that_turns_nan_mid_fit(gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    # log_prob calls on the source: 1 validation, then one per chunk of 10 steps
    bad = CountingDensity(src, nan_after=3)
    with pytest.raises(ValueError, match="source"):
        gn.fit(model, bad, tgt, steps=60, batch_size=64, device="cpu", seed=0, progress=False, presample=10)
    assert params_finite(model)


@pytest.mark.parametrize("which", ["source", "target"])
def test_density_that_is_always_nan_is_rejected_before_training(which, gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    before = copy.deepcopy(model)
    dens = {"source": src, "target": tgt}
    dens[which] = CountingDensity(dens[which], nan_after=1)
    with pytest.raises(ValueError, match=f"{which}.log_prob"):
        gn.fit(model, dens["source"], dens["target"], steps=20, batch_size=64, device="cpu", seed=0,
               progress=False)
    assert state_equal(model, before)


def test_fit_result_fields(gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    res = gn.fit(gn.MGradNetM(2, num_modules=2, embed_dim=4), src, tgt, steps=10, batch_size=32,
                 device="cpu", seed=0, progress=False)
    assert res.losses.shape == (10,) and res.losses.dtype.kind == "f"
    assert res.wall_time > 0 and res.steps_per_second == pytest.approx(1 / res.time_per_step)
    assert res.final_loss == pytest.approx(float(res.losses[-1:].mean()))
    assert "FitResult" in repr(res)
    assert gn.resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    assert gn.resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize("progress", [True, False])
def test_static_progress_prints_one_summary_line_instead_of_a_bar(monkeypatch, capsys, progress):
    """`make book` sets GRADNETOT_STATIC_PROGRESS=1: a static page gets one text line, not a widget bar."""
    monkeypatch.setenv("GRADNETOT_STATIC_PROGRESS", "1")
    src = gn.Gaussian(torch.zeros(2), torch.eye(2))
    tgt = gn.Gaussian(torch.ones(2), 2 * torch.eye(2))
    gn.fit(gn.MGradNetM(2, num_modules=2, embed_dim=4), src, tgt, steps=7, batch_size=32, seed=0,
           progress=progress, desc="tiny")
    out, err = capsys.readouterr()
    if progress:
        assert out.count("\n") == 1 and out.startswith("tiny: 7 steps in ") and "final loss" in out
    else:
        assert out == ""
    assert "it/s]" not in err  # no tqdm bar on stderr either way


def test_live_progress_bar_without_the_static_switch(monkeypatch, capsys):
    monkeypatch.delenv("GRADNETOT_STATIC_PROGRESS", raising=False)
    src = gn.Gaussian(torch.zeros(2), torch.eye(2))
    gn.fit(gn.MGradNetM(2, num_modules=2, embed_dim=4), src, src, steps=5, batch_size=16, seed=0,
           progress=True, desc="live")
    out, err = capsys.readouterr()
    assert "live" in err and "5/5" in err  # tqdm's text bar (not a notebook here) on stderr
    assert out == ""
