"""Property-based tests (Hypothesis) of the public API.

Random shapes, dtypes, NaN/inf, empty and huge inputs and wrong types: every call either
works (and then returns finite numbers of the right shape) or raises a ``ValueError`` /
``TypeError`` with a message, raised by gradnetot's own checks rather than from deep inside
torch; no call leaves a model with NaN weights. A few hundred cases in all, seconds of run time.
"""
import traceback

import numpy as np
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import gradnetot as gn
from conftest import params_finite

FAST = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FEW = settings(FAST, max_examples=10)

SPECIAL = [0.0, -0.0, 1.0, -1.0, 1e-30, 1e30, -1e30, 3e38, float("nan"), float("inf"), -float("inf")]


PERTURB = ["ok"] * 8 + ["nan", "inf", "huge", "empty", "wrong_d", "flat", "3d", "int", "junk", "numpy",
                       "list", "float64", "bool"]


def _perturb(a, how, d):
    """``a`` (a float32 numpy array, mostly valid) turned into one kind of bad (or odd) input."""
    a = np.array(a, dtype=np.float32)
    if how == "nan" and a.size:
        a.flat[0] = np.nan
    elif how == "inf" and a.size:
        a.flat[-1] = -np.inf
    elif how == "huge":
        a = a * np.float32(1e30)
    elif how == "empty":
        a = a[:0]
    elif how == "wrong_d":
        a = np.concatenate([a, a], axis=-1) if a.ndim else a
    elif how == "flat":
        a = a.reshape(-1)
    elif how == "3d":
        a = a[None]
    elif how == "int":
        return torch.from_numpy(np.round(a).astype(np.int64))
    elif how == "junk":
        return "not an array"
    elif how == "numpy":
        return a
    elif how == "list":
        return a.tolist()
    elif how == "float64":
        return torch.from_numpy(a.astype(np.float64))
    elif how == "bool":
        return torch.from_numpy(a > 0)
    return torch.from_numpy(a)


ELEMENT = st.floats(-3, 3, width=32)


@st.composite
def points(draw, d, max_n=6, n=None):
    """An (n, d) batch of points, valid most of the time, else one kind of bad input."""
    n = draw(st.integers(1, max_n)) if n is None else n
    a = draw(hnp.arrays(np.float32, (n, d), elements=ELEMENT))
    return _perturb(a, draw(st.sampled_from(PERTURB)), d)


@st.composite
def vectors(draw, d):
    return _perturb(draw(hnp.arrays(np.float32, (d,), elements=ELEMENT)), draw(st.sampled_from(PERTURB)), d)


@st.composite
def spd(draw, d):
    """A symmetric positive-definite matrix, or (sometimes) one that is not, or bad input."""
    a = draw(hnp.arrays(np.float32, (d, d), elements=ELEMENT))
    m = a @ a.T + np.eye(d, dtype=np.float32)
    how = draw(st.sampled_from(PERTURB + ["negative", "asymmetric", "singular"]))
    if how == "negative":
        return torch.from_numpy(-m)
    if how == "asymmetric" and d > 1:
        m = m.copy()
        m[0, -1] += 1.0
        return torch.from_numpy(m)
    if how == "singular":
        return torch.zeros(d, d)
    return _perturb(m, how, d)


DIM = st.integers(1, 3)
def clean(fn, *args, **kwargs):
    """Call ``fn``; return ``(True, result)`` or ``(False, None)`` after a clean ValueError/TypeError."""
    name = getattr(fn, "__name__", type(fn).__name__)
    try:
        out = fn(*args, **kwargs)
        event(f"{name}: works")
        return True, out
    except (ValueError, TypeError) as exc:
        event(f"{name}: {type(exc).__name__}")
        assert str(exc).strip(), f"{type(exc).__name__} without a message"
        frames = traceback.extract_tb(exc.__traceback__)
        origin = frames[-1].filename
        in_pkg = any("gradnetot" in f.filename and "tests" not in f.filename for f in frames)
        assert in_pkg and ("gradnetot" in origin or "/numpy/" in origin or "tests" in origin), \
            f"{type(exc).__name__} raised inside {origin}: {exc}"
        return False, None


def finite(x):
    if isinstance(x, torch.Tensor):
        return bool(torch.isfinite(x).all())
    return bool(np.all(np.isfinite(np.asarray(x, dtype=np.float64))))


BAD_NUMBERS = [0, -1, -2.5, float("nan"), float("inf"), True, None, "2", 1e300, [1]]


def number(*valid):
    """One of the ``valid`` values most of the time, else a bad number or a wrong type."""
    return st.one_of(st.sampled_from(valid), st.sampled_from(valid), st.sampled_from(valid),
                     st.sampled_from(BAD_NUMBERS))


# --------------------------------------------------------------------------- densities
@FAST
@given(data=st.data(), d=DIM)
def test_gaussian_any_input(data, d):
    ok, g = clean(gn.Gaussian, data.draw(vectors(d)), data.draw(spd(d)))
    if not ok:
        return
    s = g.sample(3, generator=torch.Generator().manual_seed(0))
    assert s.shape == (3, g.dim) and finite(s)
    ok, lp = clean(g.log_prob, data.draw(points(d)))
    if ok:
        assert lp.ndim == 1 and not bool(torch.isnan(lp).any())


@FAST
@given(data=st.data(), d=DIM, k=st.integers(1, 4))
def test_mixture_any_input(data, d, k):
    w = data.draw(st.one_of(hnp.arrays(np.float32, (k,), elements=st.floats(0, 2, width=32)).map(torch.from_numpy),
                            points(1).map(lambda t: t.reshape(-1) if isinstance(t, torch.Tensor) else t)))
    ok, m = clean(gn.GaussianMixture, w, data.draw(points(d, n=k)), data.draw(number(0.1, 1.0, 3.0)))
    if not ok:
        return
    s = m.sample(4, generator=torch.Generator().manual_seed(0))
    assert s.shape == (4, m.dim) and finite(s)
    ok, lp = clean(m.log_prob, data.draw(points(d)))
    if ok:
        assert lp.ndim == 1 and not bool(torch.isnan(lp).any())


@FEW
@given(data=st.data(), kind=st.sampled_from(["disk", "ellipse", "rectangle", "triangle", "polygon", "blob", 3]))
def test_uniform_shape_any_input(data, kind):
    kw = dict(radius=data.draw(number(1.0, 0.3)), axes=data.draw(st.one_of(st.just((1.0, 0.5)), vectors(2))),
              size=data.draw(st.one_of(st.just((2.0, 1.0)), vectors(2))),
              vertices=data.draw(st.one_of(st.none(), st.just([[0, 0], [1, 0], [0, 1]]), points(2))))
    ok, u = clean(gn.UniformShape, kind, **kw)
    if not ok:
        return
    ok, s = clean(u.sample, data.draw(number(3, 10)), generator=torch.Generator().manual_seed(0))
    if ok:
        assert s.shape[1] == 2 and finite(s) and finite(u.log_prob(s))


# --------------------------------------------------------------------------- networks, loss, Jacobians
MODELS = st.sampled_from(["C", "M", "C-plain", "M-plain", "MLP"])


def _model(kind, d):
    torch.manual_seed(0)
    if kind == "C":
        return gn.MGradNetC(d, embed_dim=4, num_layers=2)
    if kind == "M":
        return gn.MGradNetM(d, num_modules=2, embed_dim=3)
    if kind == "C-plain":
        return gn.MGradNetC(d, embed_dim=4, num_layers=1, strongly_convex=False)
    if kind == "M-plain":
        return gn.MGradNetM(d, num_modules=2, embed_dim=3, strongly_convex=False)
    return gn.MLPMap(d, hidden=4, num_layers=1)


@FAST
@given(dim=number(1, 2, 5), width=number(1, 4), layers=number(1, 2), eps=number(0.0, 1e-3),
       cls=st.sampled_from([gn.MGradNetC, gn.MGradNetM, gn.MLPMap]))
def test_network_constructors(dim, width, layers, eps, cls):
    kw = {} if cls is gn.MLPMap else {"eps": eps}
    ok, m = clean(cls, dim, width, layers, **kw)
    if ok:
        assert params_finite(m)
        x = torch.zeros(2, m.dim)
        assert finite(m(x))


@FAST
@given(data=st.data(), kind=MODELS, d=DIM, double=st.booleans(), p=number(1, 2))
def test_forward_jacobian_and_loss_any_input(data, kind, d, double, p):
    model = _model(kind, d)
    if double:
        model = model.double()
    dtype = next(model.parameters()).dtype
    x = data.draw(points(d))
    # the public Jacobian protocol moves x to the model's dtype and device
    ok, J = clean(gn.jacobian, model, x)
    if ok:
        assert J.shape[1:] == (d, d) and J.dtype == dtype and finite(J)
    ok, out = clean(gn.forward_and_jacobian, model, x)
    if ok:
        y, J = out
        assert y.shape == (J.shape[0], d) and y.dtype == dtype and finite(y) and finite(J)
    src = gn.Gaussian(torch.zeros(d), torch.eye(d))
    ok, loss = clean(gn.monge_ampere_loss, model, x, src, src, p=p)
    if ok:
        assert loss.ndim == 0 and finite(loss.detach())
        loss.backward()
    ok, r = clean(gn.monge_ampere_residual, model, x, src, src)
    if ok:
        assert r.ndim == 1
    ok, ev = clean(gn.min_jacobian_eigenvalue, model, x)
    if ok and kind != "MLP":
        assert bool((ev > -1e-4).all())
    ok, gap = clean(gn.monotonicity_gap, model, x)
    assert params_finite(model)


@FAST
@given(data=st.data(), d=st.integers(1, 4), n=st.integers(0, 3))
def test_logdet_spd_any_input(data, d, n):
    J = data.draw(st.one_of(spd(d), spd(d).map(lambda m: m[None].expand(n, d, d) if isinstance(m, torch.Tensor)
                                                    and tuple(m.shape) == (d, d) else m)))
    ok, out = clean(gn.logdet_spd, J)
    if ok:
        assert out.shape == J.shape[:-2] and not bool(torch.isposinf(out).any())


@FAST
@given(d=st.integers(1, 4), n=st.integers(1, 4), seed=st.integers(0, 2**16),
       scale=st.sampled_from([1e-3, 1.0, 1e3]), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_logdet_spd_agrees_with_slogdet_on_spd(d, n, seed, scale, dtype):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, d, d, generator=g, dtype=torch.float64)
    J = scale * (a @ a.transpose(1, 2) + 0.5 * torch.eye(d, dtype=torch.float64))
    out = gn.logdet_spd(J.to(dtype))
    torch.testing.assert_close(out.double(), torch.linalg.slogdet(J.to(dtype).double())[1],
                               rtol=1e-4, atol=1e-3)
    assert bool(torch.isnan(gn.logdet_spd(-J.to(dtype))).all())  # negative definite: NaN in every d


# --------------------------------------------------------------------------- metrics, reference maps
@FAST
@given(data=st.data(), d=DIM,
       which=st.sampled_from(["l2_uvp", "energy_distance", "sliced_wasserstein", "transport_cost"]))
def test_metrics_any_input(data, d, which):
    a = data.draw(points(d))
    b = data.draw(st.one_of(st.just(a), points(d)))
    fn = getattr(gn, which)
    args = (a, b, data.draw(st.one_of(number(1.0, 2.5), points(d)))) if which == "l2_uvp" else (a, b)
    ok, out = clean(fn, *args)
    if ok:
        assert isinstance(out, float) and np.isfinite(out) and (which == "energy_distance" or out >= 0)


@FEW
@given(data=st.data(), d=DIM, method=st.sampled_from(["emd", "emd", "sinkhorn", "nope", 1]))
def test_discrete_ot_any_input(data, d, method):
    reg = data.draw(st.one_of(st.none(), number(0.5, 2.0)))
    ok, out = clean(gn.discrete_ot_map, data.draw(points(d)), data.draw(points(d)), method=method, reg=reg)
    if ok:
        assert out.ndim == 2 and out.shape[1] == d and finite(out)


@FAST
@given(data=st.data(), d=DIM)
def test_gaussian_ot_map_any_input(data, d):
    ok, T = clean(gn.gaussian_ot_map, data.draw(vectors(d)), data.draw(spd(d)), data.draw(vectors(d)),
                  data.draw(spd(d)))
    if not ok:
        return
    ok, y = clean(T, data.draw(points(d)))
    if ok:
        assert finite(y)
    ok, J = clean(gn.jacobian, T, data.draw(points(d)))
    if ok:
        assert J.shape[1:] == (d, d)


@FEW
@given(data=st.data())
def test_monotone_rearrangement_and_disk_map_any_input(data):
    ok, R = clean(gn.monotone_rearrangement, data.draw(points(1)), data.draw(points(1)))
    ok, y = clean(gn.disk_to_gaussian_map, data.draw(points(2)), radius=data.draw(number(1.0, 2.0)))
    if ok:
        assert finite(y)


# --------------------------------------------------------------------------- fit
VALID_FIT = dict(steps=number(1, 3, 6), batch_size=number(1, 8, 16), lr=number(1e-2, 1e-3, 1e3, 1e12),
                 p=number(1, 2), seed=number(0, 7, 2**40), warm_start=st.sampled_from(["auto", True, False, "yes", 1]),
                 clip_grad=st.one_of(st.none(), number(1.0, 0.1)), warmup=number(0.0, 0.2, 0.5),
                 final_lr=number(0.01, 0.0, 1.0), check_every=number(1, 2, 25), presample=st.one_of(st.none(), number(1, 2)),
                 device=st.sampled_from(["cpu", "cpu", "auto", "tpu", 3.5]),
                 checkpoint_every=st.one_of(st.none(), number(1, 3)),
                 callback=st.sampled_from([None, None, 3, lambda k, m: None, lambda k, m: True]),
                 desc=st.sampled_from([None, "x", 5]))


@st.composite
def fit_kwargs(draw):
    """Valid arguments, with at most one of them replaced by a bad value."""
    kw = dict(steps=3, batch_size=8, seed=0, device="cpu")
    bad = draw(st.sampled_from([None, None] + sorted(VALID_FIT)))
    if bad is not None:
        kw[bad] = draw(VALID_FIT[bad])
    return kw


@settings(FAST, max_examples=50)
@given(kind=MODELS, kwargs=fit_kwargs(), double=st.booleans())
def test_fit_any_arguments(kind, kwargs, double):
    src = gn.Gaussian(torch.tensor([0.5, -0.5]), torch.tensor([[1.0, 0.3], [0.3, 0.5]]))
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    model = _model(kind, 2)
    if double:
        model = model.double()
    try:
        ok, res = clean(gn.fit, model, src, tgt, progress=False, warm_start_samples=64, **kwargs)
    except gn.TrainingDivergedError as exc:  # an absurd learning rate: a clear error, restored weights
        event("fit: TrainingDivergedError")
        assert "restored" in str(exc)
        ok, res = False, None
    assert params_finite(model)
    assert all(t.dtype == (torch.float64 if double else torch.float32) for t in model.parameters())
    if ok:
        assert np.isfinite(res.losses).all() and res.steps == len(res.losses)


@FEW
@given(source=st.sampled_from(["nan-sample", "nan-logp", "wrong-shape", "no-methods", "dim-3", "ok"]))
def test_fit_bad_densities(source):
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))

    class Bad:
        dim = 3 if source == "dim-3" else 2

        def sample(self, n, generator=None):
            x = torch.randn(n, 2, generator=generator)
            if source == "nan-sample":
                x[0, 0] = float("nan")
            if source == "wrong-shape":
                x = x[:, :1]
            return x

        def log_prob(self, x):
            out = tgt.log_prob(x)
            return out * float("nan") if source == "nan-logp" else out

    src = object() if source == "no-methods" else Bad()
    model = _model("M", 2)
    ok, res = clean(gn.fit, model, src, tgt, steps=2, batch_size=4, progress=False, seed=0, device="cpu",
                    warm_start_samples=16)
    assert ok == (source == "ok")
    assert params_finite(model)


# --------------------------------------------------------------------------- plotting
@FEW
@given(data=st.data(), double=st.booleans())
def test_plotting_any_input(data, double):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    model = _model("M", 2)
    if double:
        model = model.double()
    lim = data.draw(st.one_of(st.just((-1, 1)), st.tuples(number(-1.0), number(1.0)), vectors(2)))
    try:
        clean(gn.plot_displacement, model, data.draw(points(2)), times=(0, 1))
        clean(gn.plot_det_jacobian, model, lim, (-1, 1), n=data.draw(number(3, 5)))
        clean(gn.plot_potential, model, (-1, 1), lim, n=4, n_arrows=2)
        clean(gn.plot_losses, data.draw(points(1)))
    finally:
        plt.close("all")
