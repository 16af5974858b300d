"""A package that cannot silently lie: safe checkpoints, exact resume, honest diagnoses,
numerics (log det, caches, mixtures, Sinkhorn), one dtype/device rule, one Jacobian protocol,
and a FitResult that records what fit did."""
import copy
import os
import pickle
import signal
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import gradnetot as gn
from conftest import CountingDensity, params_finite, state_equal

ROOT = Path(__file__).resolve().parents[1]
D = torch.distributions


def _mvn_pair():
    src = D.MultivariateNormal(torch.tensor([1.0, -0.5]), torch.tensor([[1.0, 0.6], [0.6, 0.8]]))
    tgt = D.MultivariateNormal(torch.zeros(2), torch.eye(2))
    return src, tgt


class Interrupt(Exception):
    pass


def _raise_at(step):
    def cb(k, model):
        if k == step:
            raise Interrupt(f"interrupted at step {k}")
    return cb


# --------------------------------------------------------------------------- checkpoints
class SqrtScale(nn.Module):
    """T(x) = (1 + sqrt(a)) x with a = 0: the loss is finite, its gradient in a is not."""

    def __init__(self):
        super().__init__()
        self.dim = 2
        self.a = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return (1 + torch.sqrt(self.a)) * x


class _Hostile:
    """Unpickling this object creates a file: proof that the pickle was executed."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("writer", ["pickle", "torch.save"])
def test_hostile_checkpoint_is_refused_and_not_executed(tmp_path, gauss2, writer):
    src, tgt = gauss2
    marker = tmp_path / "executed"
    ck = tmp_path / "ck.pt"
    payload = {"model": _Hostile(marker), "step": 0, "steps": 20, "batch_size": 32}
    if writer == "pickle":
        with open(ck, "wb") as f:
            pickle.dump(payload, f)
    else:
        torch.save(payload, ck)
    model = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    with pytest.raises(Exception) as info:
        gn.fit(model, src, tgt, steps=20, batch_size=32, seed=0, progress=False, device="cpu", checkpoint=ck)
    assert not marker.exists(), "unpickling the checkpoint ran code"
    assert isinstance(info.value, gn.CheckpointError) and isinstance(info.value, ValueError)
    assert "cannot be loaded safely" in str(info.value)
    assert "weights_only" not in str(info.value)  # no advice to turn the protection off


def test_checkpoint_holds_only_plain_data_and_the_run_configuration(tmp_path, gauss2):
    src, tgt = gauss2
    ck = tmp_path / "ck.pt"
    gn.fit(gn.MGradNetM(2, num_modules=2, embed_dim=4), src, tgt, steps=20, batch_size=32, seed=3,
           progress=False, device="cpu", checkpoint=ck, presample=10)
    state = torch.load(ck, weights_only=True)  # loads without any allow-listed class
    cfg = state["config"]
    assert cfg["steps"] == 20 and cfg["batch_size"] == 32 and cfg["seed"] == 3 and cfg["lr"] == 0.01
    assert cfg["model"] == "MGradNetM" and cfg["dtype"] == "float32" and cfg["p"] == 1

    def walk(v):
        if isinstance(v, dict):
            for k, w in v.items():
                assert isinstance(k, (str, int))
                walk(w)
        elif isinstance(v, (list, tuple)):
            for w in v:
                walk(w)
        else:
            assert v is None or isinstance(v, (torch.Tensor, bool, int, float, str)), type(v)
    walk(state)


@pytest.mark.parametrize("change, name", [
    (dict(lr=0.02), "lr"), (dict(p=2), "p"), (dict(clip_grad=None), "clip_grad"), (dict(seed=8), "seed"),
    (dict(final_lr=0.1), "final_lr"), (dict(warm_start=False), "warm_start"), (dict(steps=50), "steps"),
])
def test_resume_with_another_configuration_names_the_argument(tmp_path, gauss2, change, name):
    src, tgt = gauss2
    ck = tmp_path / "ck.pt"
    kw = dict(steps=40, batch_size=32, seed=7, progress=False, device="cpu", presample=10, checkpoint_every=10,
              check_every=10)
    with pytest.raises(Interrupt):
        gn.fit(gn.MGradNetM(2, 2, 4), src, tgt, checkpoint=ck, callback=_raise_at(20), **kw)
    with pytest.raises(ValueError, match=rf"\b{name}=") as info:
        gn.fit(gn.MGradNetM(2, 2, 4), src, tgt, checkpoint=ck, **{**kw, **change})
    assert "delete the file" in str(info.value) and isinstance(info.value, gn.CheckpointError)
    # another architecture is refused too, naming what differs
    with pytest.raises(ValueError, match="parameter_shapes|model="):
        gn.fit(gn.MGradNetM(2, 3, 4), src, tgt, checkpoint=ck, **kw)


@pytest.mark.parametrize("case", ["nan weights", "nan target"])
def test_no_checkpoint_is_written_without_a_finite_check(tmp_path, gauss2, case):
    """check_every=25 but chunks/checkpoints every 10 steps: the save at step 10 must check first."""
    src, tgt = gauss2
    ck = tmp_path / "ck.pt"
    if case == "nan weights":
        model, target, err = SqrtScale(), tgt, gn.TrainingDivergedError  # NaN weights after step 0
    else:
        model, err = gn.MGradNetM(2, num_modules=2, embed_dim=4), ValueError
        target = CountingDensity(tgt, nan_after=5)  # NaN log q from the 4th training step on
    with pytest.raises(err):
        gn.fit(model, src, target, steps=60, batch_size=32, seed=0, progress=False, device="cpu",
               checkpoint=ck, presample=10, checkpoint_every=10, check_every=25, clip_grad=None,
               warm_start=False)
    if ck.exists():
        state = torch.load(ck, weights_only=False)
        assert all(bool(torch.isfinite(v).all()) for v in state["model"].values() if v.is_floating_point())
        assert bool(torch.isfinite(torch.as_tensor(state["losses"])).all())
    assert params_finite(model)


def _resume_roundtrip(tmp_path, src, tgt, model_fn, interrupt_at=40):
    kw = dict(steps=60, batch_size=64, device="cpu", seed=11, progress=False, presample=10,
              checkpoint_every=20, check_every=10)
    torch.manual_seed(0)
    ref = model_fn()
    init = copy.deepcopy(ref)
    ref_res = gn.fit(ref, src, tgt, **kw)

    ck = tmp_path / "ck.pt"
    torch.manual_seed(100)  # the global RNG state must not matter
    with pytest.raises(Interrupt):
        gn.fit(copy.deepcopy(init), src, tgt, checkpoint=ck, callback=_raise_at(interrupt_at), **kw)
    assert torch.load(ck, weights_only=True)["step"] == interrupt_at  # saved before the callback ran
    torch.manual_seed(12345)
    torch.rand(17)
    resumed = model_fn()  # other weights: everything comes from the checkpoint
    res = gn.fit(resumed, src, tgt, checkpoint=ck, **kw)
    assert res.resumed_from == interrupt_at
    assert state_equal(resumed, ref)
    np.testing.assert_array_equal(res.losses, ref_res.losses)
    return res


def test_resume_is_exact_for_torch_distributions(tmp_path):
    src, tgt = _mvn_pair()
    _resume_roundtrip(tmp_path, src, tgt, lambda: gn.MGradNetM(2, num_modules=4, embed_dim=8))


def test_resume_is_exact_for_a_density_without_generator_argument(tmp_path, gauss2):
    src, tgt = gauss2

    class NoGen:  # sample(n) only: fit must still draw its randomness from its own generator
        dim = 2

        def sample(self, n):
            return src.sample(n)

        def log_prob(self, x):
            return src.log_prob(x)

    _resume_roundtrip(tmp_path, NoGen(), tgt, lambda: gn.MGradNetC(2, embed_dim=8), interrupt_at=20)


def test_fit_killed_hard_resumes_to_identical_weights(tmp_path):
    """SIGKILL in the middle of a run (no cleanup at all), then resume in this process with
    another global RNG state."""
    ck = tmp_path / "ck.pt"
    script = textwrap.dedent(f"""
        import os, signal, torch
        torch.set_num_threads(1)
        import gradnetot as gn
        src = torch.distributions.MultivariateNormal(torch.tensor([1.0, -0.5]),
                                                     torch.tensor([[1.0, 0.6], [0.6, 0.8]]))
        tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
        torch.manual_seed(0)
        model = gn.MGradNetM(2, num_modules=4, embed_dim=8)
        def cb(k, m):
            if k == 30:
                os.kill(os.getpid(), signal.SIGKILL)
        gn.fit(model, src, tgt, steps=60, batch_size=64, device="cpu", seed=5, progress=False,
               presample=10, checkpoint_every=20, check_every=10, checkpoint={str(ck)!r}, callback=cb)
    """)
    pkg_root = Path(gn.__file__).resolve().parents[1]  # the gradnetot this test imported
    env = dict(os.environ, PYTHONPATH=str(pkg_root), OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == -signal.SIGKILL, out.stderr[-2000:]
    assert torch.load(ck, weights_only=True)["step"] == 20

    src, _ = _mvn_pair()  # a torch distribution: its samples must come from fit's generator too
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    kw = dict(steps=60, batch_size=64, device="cpu", seed=5, progress=False, presample=10,
              checkpoint_every=20, check_every=10)
    torch.manual_seed(0)
    ref = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    gn.fit(ref, src, tgt, **kw)
    resumed = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    torch.rand(3)
    res = gn.fit(resumed, src, tgt, checkpoint=ck, **kw)
    assert res.resumed_from == 20 and state_equal(resumed, ref)


@pytest.mark.parametrize("kind", ["package", "torch.distributions"])
def test_fit_with_seed_leaves_the_global_rng_alone(kind, gauss2):
    src, tgt = gauss2 if kind == "package" else _mvn_pair()
    model = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    torch.manual_seed(2024)
    expected = torch.rand(5)
    torch.manual_seed(2024)
    gn.fit(model, src, tgt, steps=20, batch_size=32, seed=0, progress=False, device="cpu")
    assert torch.equal(torch.rand(5), expected)


def test_seed_none_is_recorded_and_reproduces_the_run(gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    m0 = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    m1 = copy.deepcopy(m0)
    r0 = gn.fit(m0, src, tgt, steps=20, batch_size=32, progress=False, device="cpu")
    assert isinstance(r0.seed, int)
    r1 = gn.fit(m1, src, tgt, steps=20, batch_size=32, progress=False, device="cpu", seed=r0.seed)
    np.testing.assert_array_equal(r0.losses, r1.losses)


# --------------------------------------------------------------------------- divergence diagnosis
def test_divergence_diagnosis_can_say_the_weights_became_nan(gauss2):
    src, tgt = gauss2
    model = SqrtScale()
    with pytest.raises(gn.TrainingDivergedError, match="weights became NaN") as info:
        gn.fit(model, src, tgt, steps=30, batch_size=32, seed=0, progress=False, device="cpu",
               clip_grad=None, check_every=10, warm_start=False)
    assert "first non-finite loss at step 1" in str(info.value)
    assert params_finite(model) and float(model.a.detach()) == 0.0  # restored


def test_divergence_diagnosis_uses_the_batch_that_failed(gauss2):
    """source.log_prob is NaN only for the first batch of the second chunk."""
    src, tgt = gauss2

    class OneBadBatch:
        dim = 2

        def __init__(self):
            self.calls = 0

        def sample(self, n, generator=None):
            return src.sample(n, generator=generator)

        def log_prob(self, x):
            self.calls += 1  # 1: validation, 2: chunk of steps 0-9, 3: steps 10-19
            out = src.log_prob(x)
            if self.calls == 3:
                out = out.clone()
                out[:32] = float("nan")
            return out

    model = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    with pytest.raises(ValueError, match="source.log_prob") as info:
        gn.fit(model, OneBadBatch(), tgt, steps=40, batch_size=32, seed=0, progress=False, device="cpu",
               presample=10, check_every=10)
    assert "first non-finite loss at step 10" in str(info.value)
    assert params_finite(model)


# --------------------------------------------------------------------------- numerics
def test_sym_index_cache_built_under_inference_mode_does_not_break_training(gauss2):
    from gradnetot import networks

    networks._SYM_INDEX.clear()
    src = gn.Gaussian(torch.zeros(3), torch.eye(3))
    model = gn.MGradNetC(3, embed_dim=8)
    with torch.inference_mode():
        model.forward_and_jacobian(torch.randn(4, 3))
    x = src.sample(16)
    loss = gn.monge_ampere_loss(model, x, src, src)
    loss.backward()  # raised "Inference tensors cannot be saved for backward"
    assert model.W.grad is not None
    res = gn.fit(model, src, src, steps=5, batch_size=16, seed=0, progress=False, device="cpu")
    assert np.isfinite(res.losses).all()


def test_logdet_spd_is_nan_for_negative_definite_2x2():
    J = torch.tensor([[[-2.0, 0.3], [0.3, -1.0]], [[2.0, 0.3], [0.3, 1.0]], [[-1.0, 0.0], [0.0, 2.0]]])
    out = gn.logdet_spd(J)
    assert torch.isnan(out[0]) and torch.isnan(out[2])  # det > 0 but not PD / det < 0
    torch.testing.assert_close(out[1], torch.linalg.slogdet(J[1])[1])
    # same answer as d >= 3 for a negative-definite matrix
    assert torch.isnan(gn.logdet_spd(-torch.eye(3)[None]))[0]


def _badly_conditioned_spd(d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    for _ in range(500):
        Q, _ = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
        J = (Q * torch.logspace(-9, 0, d, dtype=torch.float64)) @ Q.T
        J32 = (0.5 * (J + J.T)).float()
        if int(torch.linalg.cholesky_ex(J32)[1]) != 0 and float(torch.linalg.eigvalsh(J32.double()).min()) > 0:
            return J32
    raise AssertionError("no example found")


def test_logdet_spd_float32_falls_back_on_badly_conditioned_spd():
    J = _badly_conditioned_spd()
    assert int(torch.linalg.cholesky_ex(J)[1]) != 0  # plain float32 Cholesky fails
    good = torch.eye(3) * 2.0
    batch = torch.stack([J, good]).requires_grad_(True)
    out = gn.logdet_spd(batch)
    assert out.dtype == torch.float32 and bool(torch.isfinite(out).all())
    want = torch.linalg.slogdet(batch.detach().double())[1]
    torch.testing.assert_close(out.double(), want, rtol=1e-5, atol=1e-4)
    out.sum().backward()
    assert bool(torch.isfinite(batch.grad).all())
    # a truly indefinite matrix is still NaN after the retry
    assert torch.isnan(gn.logdet_spd(torch.diag(torch.tensor([1.0, -1.0, 1.0]))[None]))[0]


def test_mixture_log_prob_is_accurate_far_from_the_origin():
    means = torch.tensor([[1000.0, 1000.0], [1000.5, 999.5]])
    mix = gn.GaussianMixture(torch.tensor([0.3, 0.7]), means, bandwidth=0.05)
    x = means + torch.tensor([[0.01, -0.02], [0.03, 0.01]])
    lp = mix.log_prob(x).double()
    m64, x64 = means.double(), x.double()
    sq = ((x64[:, None, :] - m64[None]) ** 2).sum(-1)
    ref = torch.logsumexp(torch.log(torch.tensor([0.3, 0.7], dtype=torch.float64))
                          - sq / (2 * 0.05**2), dim=1) - np.log(2 * np.pi * 0.05**2)
    torch.testing.assert_close(lp, ref, rtol=0, atol=1e-3)


def test_sinkhorn_uses_pots_reg_and_the_log_domain_solver():
    import ot

    g = torch.Generator().manual_seed(0)
    xs = torch.randn(30, 2, generator=g).double()
    xt = (torch.randn(40, 2, generator=g) + 3).double()
    a, b = np.full(30, 1 / 30), np.full(40, 1 / 40)
    M = ot.dist(xs.numpy(), xt.numpy())
    want = ot.sinkhorn(a, b, M, 0.5, method="sinkhorn_log", numItermax=20_000, stopThr=1e-10)
    plan = gn.discrete_ot_plan(xs, xt, method="sinkhorn", reg=0.5)
    np.testing.assert_allclose(plan, want, atol=1e-9)
    np.testing.assert_allclose(plan.sum(1), a, atol=1e-7)
    # a reg so small that plain Sinkhorn on exp(-M/reg) underflows: still a plan, or a warning
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        tiny = gn.discrete_ot_plan(xs, xt, method="sinkhorn", reg=1e-3, num_iter=500)
    assert np.isfinite(tiny).all()
    err = np.abs(tiny.sum(1) - a).sum() + np.abs(tiny.sum(0) - b).sum()
    msgs = [str(x.message) for x in w if issubclass(x.category, RuntimeWarning)]
    assert err < 1e-6 or any("marginals are off by" in m for m in msgs), (err, msgs)


def test_sinkhorn_that_does_not_converge_warns_with_the_marginal_error():
    g = torch.Generator().manual_seed(1)
    xs, xt = torch.randn(40, 2, generator=g), torch.randn(40, 2, generator=g) * 3
    with pytest.warns(RuntimeWarning, match=r"marginals are off by \d"):
        gn.discrete_ot_plan(xs, xt, method="sinkhorn", reg=1e-3, num_iter=3)


# --------------------------------------------------------------------------- dtype and device
def test_fit_float64_model_end_to_end(gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MGradNetM(2, num_modules=4, embed_dim=8).double()
    res = gn.fit(model, src, tgt, steps=40, batch_size=64, seed=0, progress=False, device="cpu")
    assert res.dtype == "float64" and res.losses.dtype == np.float64
    assert all(p.dtype == torch.float64 for p in model.parameters())
    x = src.sample(200, generator=torch.Generator().manual_seed(1))  # float32 input
    true = gn.gaussian_ot_map(src.mean, src.cov, tgt.mean, tgt.cov)
    with torch.no_grad():
        pred = model(x.double())
    assert true(x.double()).dtype == torch.float64
    assert gn.l2_uvp(pred, true(x.double()), 2.0) < 1.0
    assert gn.min_jacobian_eigenvalue(model, x).dtype == torch.float64  # x follows the model
    assert gn.monotonicity_gap(model, x) >= 0
    assert gn.jacobian(model, x).dtype == torch.float64
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    gn.plot_det_jacobian(model, (-2, 2), (-2, 2), n=8)
    gn.plot_potential(model, (-2, 2), (-2, 2), n=8, n_arrows=3)
    gn.plot_displacement(model, x[:50])
    plt.close("all")
    # a torch distribution is placed once in the model's dtype as well
    s2, t2 = _mvn_pair()
    res = gn.fit(gn.MGradNetC(2, embed_dim=8).double(), s2, t2, steps=10, batch_size=32, seed=0,
                 progress=False, device="cpu")
    assert np.isfinite(res.losses).all()


def test_torch_distribution_is_moved_once_not_retried():
    from gradnetot.densities import place_density

    src, _ = _mvn_pair()
    placed = place_density(src, "cpu", torch.float64)
    assert isinstance(placed, D.Distribution)
    assert placed.loc.dtype == torch.float64 and src.loc.dtype == torch.float32  # a copy
    x = gn.sample_from(placed, 5, torch.Generator().manual_seed(0))
    assert x.dtype == torch.float64 and placed.log_prob(x).dtype == torch.float64


def test_reference_maps_follow_the_input_dtype():
    T = gn.gaussian_ot_map(torch.zeros(2), torch.eye(2), torch.ones(2), 4 * torch.eye(2))
    x64 = torch.randn(5, 2, dtype=torch.float64)
    torch.testing.assert_close(T(x64), 2 * x64 + 1)  # exact in float64
    assert gn.disk_to_gaussian_map(x64 * 0.1).dtype == torch.float64
    R = gn.monotone_rearrangement(torch.rand(100, 1), torch.rand(100, 1))
    assert R(torch.rand(4, 1, dtype=torch.float64)).dtype == torch.float64
    assert gn.discrete_ot_map(x64, x64 + 1).dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_model_with_cpu_inputs_to_metrics_and_plots():  # pragma: no cover - GPU only
    model = gn.MGradNetM(2, 2, 4).cuda()
    x = torch.randn(50, 2)
    assert gn.min_jacobian_eigenvalue(model, x).is_cuda
    assert np.isfinite(gn.monotonicity_gap(model, x))
    with torch.no_grad():
        assert gn.l2_uvp(model(x.cuda()), x, 2.0) >= 0
    src, tgt = _mvn_pair()
    res = gn.fit(model, src, tgt, steps=5, batch_size=16, seed=0, progress=False, device="cuda")
    assert res.device.startswith("cuda")


# --------------------------------------------------------------------------- Jacobian protocol
def test_one_jacobian_protocol_for_modules_and_callables():
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]])
    x = torch.randn(6, 2)

    def f(z):
        return z @ A + torch.sin(z)

    J = gn.jacobian(f, x)
    want = A.T[None] + torch.diag_embed(torch.cos(x))
    torch.testing.assert_close(J, want)
    y, J2 = gn.forward_and_jacobian(f, x)
    torch.testing.assert_close(y, f(x))
    torch.testing.assert_close(J2, want)
    model = gn.MGradNetC(2, embed_dim=8)
    torch.testing.assert_close(gn.jacobian(model, x), gn.autodiff_jacobian(model, x), rtol=1e-4, atol=1e-5)
    assert gn.jacobian_is_spd(model) and not gn.jacobian_is_spd(f) and not gn.jacobian_is_spd(gn.MLPMap(2))
    with pytest.raises(TypeError, match="callable"):
        gn.jacobian(3.0, x)
    with pytest.raises(ValueError, match="NaN"):
        gn.jacobian(f, torch.full((2, 2), float("nan")))


def test_monge_ampere_loss_accepts_any_callable(gauss2):
    src, tgt = gauss2
    T = gn.gaussian_ot_map(src.mean, src.cov, tgt.mean, tgt.cov)
    x = src.sample(256, generator=torch.Generator().manual_seed(0))
    assert float(gn.monge_ampere_loss(lambda z: z @ T.A + T.b, x, src, tgt)) < 1e-4
    assert float(gn.monge_ampere_loss(T, x, src, tgt)) < 1e-4  # has forward_and_jacobian + SPD flag


def test_a_declared_spd_map_uses_cholesky_and_others_slogdet(monkeypatch, gauss2):
    src, tgt = gauss2
    calls = []
    real = gn.loss.logdet_spd
    monkeypatch.setattr(gn.loss, "logdet_spd", lambda J: calls.append(1) or real(J))

    class Flagged(nn.Module):
        jacobian_is_spd = True
        dim = 2

        def forward(self, x):
            return 2 * x

    x = src.sample(16)
    gn.monge_ampere_residual(Flagged(), x, src, tgt)
    assert calls
    calls.clear()
    gn.monge_ampere_residual(gn.MLPMap(2), x, src, tgt)
    assert not calls


def test_fit_computes_its_loss_with_the_loss_modules_residual(monkeypatch, gauss2):
    src, tgt = gauss2
    calls = []
    real = gn.loss._residual

    def spy(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(gn.loss, "_residual", spy)
    gn.fit(gn.MGradNetM(2, 2, 4), src, tgt, steps=7, batch_size=16, seed=0, progress=False, device="cpu")
    assert len(calls) == 7


# --------------------------------------------------------------------------- FitResult
def test_fit_result_records_what_fit_did(gauss2):
    src, tgt = gauss2
    res = gn.fit(gn.MGradNetM(2, 2, 4), src, tgt, steps=10, batch_size=32, seed=4, progress=False,
                 device="cpu")
    assert (res.seed, res.warm_start, res.strongly_convex, res.clip_grad, res.p) == (4, True, True, 1.0, 1)
    assert res.dtype == "float32" and res.device == "cpu" and "cosine" in res.schedule
    assert res.extras == "+ warm start + affine term"
    assert "+ warm start + affine term" in res.describe() and "seed 4" in res.describe()
    plain = gn.fit(gn.MGradNetM(2, 2, 4, strongly_convex=False), src, tgt, steps=10, batch_size=32, seed=4,
                   progress=False, device="cpu", warm_start=False, clip_grad=None)
    assert (plain.warm_start, plain.strongly_convex, plain.clip_grad, plain.extras) == (False, False, None, "")
    assert "no clipping" in plain.describe()
    mlp = gn.fit(gn.MLPMap(2, hidden=8, num_layers=1), src, tgt, steps=5, batch_size=16, seed=0,
                 progress=False, device="cpu")
    assert mlp.warm_start is False and mlp.strongly_convex is None
    # a second fit on a warm-started model does not warm-start again, and says so
    model = gn.MGradNetM(2, 2, 4)
    gn.fit(model, src, tgt, steps=5, batch_size=16, seed=0, progress=False, device="cpu")
    again = gn.fit(model, src, tgt, steps=5, batch_size=16, seed=0, progress=False, device="cpu")
    assert again.warm_start is False


def test_callback_exception_interrupts_and_resume_reports_warm_start(tmp_path, gauss2):
    src, tgt = gauss2
    ck = tmp_path / "ck.pt"
    kw = dict(steps=30, batch_size=32, seed=1, progress=False, device="cpu", presample=10, check_every=10,
              checkpoint_every=10)
    with pytest.raises(Interrupt):
        gn.fit(gn.MGradNetM(2, 2, 4), src, tgt, checkpoint=ck, callback=_raise_at(10), **kw)
    res = gn.fit(gn.MGradNetM(2, 2, 4), src, tgt, checkpoint=ck, **kw)
    assert res.resumed_from == 10 and res.warm_start is True and res.seed == 1


# --------------------------------------------------------------------------- test-suite hygiene
def test_fresh_env_install_test_is_opt_in():
    """The Colab-like test downloads a torch wheel: behind a registered marker, skipped by default."""
    import tomllib

    import test_colab_setup

    marks = [m.name for m in getattr(test_colab_setup.test_setup_cell_in_fresh_colab_like_env, "pytestmark", [])]
    assert "fresh_env" in marks
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]
    assert any(m.startswith("fresh_env:") for m in cfg.get("markers", []))
    assert "hypothesis" in (ROOT / "requirements.txt").read_text()
