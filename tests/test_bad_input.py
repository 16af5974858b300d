"""Every public entry point rejects bad input with a ValueError/TypeError naming the argument."""
import math

import numpy as np
import pytest
import torch

import gradnetot as gn
from conftest import CountingDensity

NAN = float("nan")


def _src_tgt(d=2):
    return gn.Gaussian(torch.zeros(d), torch.eye(d)), gn.Gaussian(torch.ones(d), 0.5 * torch.eye(d))


FIT_KW = dict(steps=5, batch_size=16, device="cpu", seed=0, progress=False)


# ---------------------------------------------------------------------------
# densities
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("mean, cov, exc, match", [
    ([0.0, 0.0], [[1.0, 0.0], [0.0, -1.0]], ValueError, "cov.*positive definite"),
    ([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]], ValueError, "cov.*positive definite"),
    ([0.0, 0.0], [[0.0, 0.0], [0.0, 0.0]], ValueError, "cov.*positive definite"),
    ([0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]], ValueError, "cov.*symmetric"),
    ([0.0, 0.0], [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]], ValueError, "cov.*shape"),
    ([0.0, 0.0], [1.0, 1.0], ValueError, "cov"),
    ([[0.0, 0.0]], [[1.0, 0.0], [0.0, 1.0]], ValueError, "mean"),
    ([NAN, 0.0], [[1.0, 0.0], [0.0, 1.0]], ValueError, "mean.*NaN"),
    ([0.0, 0.0], [[NAN, 0.0], [0.0, 1.0]], ValueError, "cov.*NaN"),
    ("abc", [[1.0]], TypeError, "mean"),
])
def test_gaussian_rejects(mean, cov, exc, match):
    with pytest.raises(exc, match=match):
        gn.Gaussian(mean, cov)


@pytest.mark.parametrize("weights, means, bw, match", [
    ([1.0, 1.0], [[0.0, 0.0], [1.0, 1.0]], 0.0, "bandwidth"),
    ([1.0, 1.0], [[0.0, 0.0], [1.0, 1.0]], -0.1, "bandwidth"),
    ([1.0, 1.0], [[0.0, 0.0], [1.0, 1.0]], NAN, "bandwidth"),
    ([1.0, 1.0, 1.0], [[0.0, 0.0], [1.0, 1.0]], 0.1, "weights"),
    ([1.0, -1.0], [[0.0, 0.0], [1.0, 1.0]], 0.1, "weights.*non-negative"),
    ([0.0, 0.0], [[0.0, 0.0], [1.0, 1.0]], 0.1, "weights.*zero"),
    ([1.0, NAN], [[0.0, 0.0], [1.0, 1.0]], 0.1, "weights.*NaN"),
    ([1.0, 1.0], [[0.0, NAN], [1.0, 1.0]], 0.1, "means.*NaN"),
    ([1.0, 1.0], [0.0, 1.0], 0.1, "means"),
])
def test_gaussian_mixture_rejects(weights, means, bw, match):
    with pytest.raises(ValueError, match=match):
        gn.GaussianMixture(weights, means, bw)


def test_gaussian_mixture_bandwidth_type():
    with pytest.raises(TypeError, match="bandwidth"):
        gn.GaussianMixture([1.0], [[0.0, 0.0]], "wide")


@pytest.mark.parametrize("image, bw, match", [
    (-torch.ones(4, 4), 0.02, "image.*non-negative"),
    (torch.tensor([[0.5, -0.1], [0.2, 0.3]]), 0.02, "image.*non-negative"),
    (torch.zeros(5, 5), 0.02, "image.*zero"),
    (torch.ones(4, 4, 3), 0.02, "image"),
    (torch.tensor([[NAN, 1.0], [1.0, 1.0]]), 0.02, "image.*NaN"),
    (torch.ones(4, 4), 0.0, "bandwidth"),
    (torch.ones(4, 4), -1.0, "bandwidth"),
])
def test_image_density_rejects(image, bw, match):
    with pytest.raises(ValueError, match=match):
        gn.ImageDensity(image, bw)


def test_image_density_with_bandwidth_rejects():
    dens = gn.ImageDensity(torch.ones(3, 3))
    with pytest.raises(ValueError, match="bandwidth"):
        dens.with_bandwidth(0)


@pytest.mark.parametrize("kind, kwargs, match", [
    ("circle", {}, "kind"),
    ("disk", dict(radius=0.0), "radius"),
    ("disk", dict(radius=-1.0), "radius"),
    ("disk", dict(center=(0.0, 0.0, 0.0)), "center"),
    ("disk", dict(center=(NAN, 0.0)), "center"),
    ("disk", dict(smoothing=0.0), "smoothing"),
    ("disk", dict(smoothing=-0.01), "smoothing"),
    ("ellipse", dict(axes=(1.0, 0.0)), "axes"),
    ("ellipse", dict(axes=(1.0,)), "axes"),
    ("rectangle", dict(size=(-1.0, 1.0)), "size"),
    ("triangle", dict(vertices=[[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]), "vertices"),
    ("triangle", dict(vertices=[[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]), "vertices"),
    ("polygon", {}, "vertices"),
    ("polygon", dict(vertices=[[0.0, 0.0], [1.0, 0.0]]), "vertices"),
    ("polygon", dict(vertices=[[0.0, 0.0, 0.0], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]), "vertices"),
])
def test_uniform_shape_rejects(kind, kwargs, match):
    with pytest.raises(ValueError, match=match):
        gn.UniformShape(kind, **kwargs)


def test_uniform_shape_kind_type():
    with pytest.raises((TypeError, ValueError), match="kind"):
        gn.UniformShape(3)


DENSITIES = {
    "gaussian": lambda: gn.Gaussian(torch.zeros(2), torch.eye(2)),
    "mixture": lambda: gn.GaussianMixture([1.0, 1.0], [[0.0, 0.0], [1.0, 1.0]], 0.3),
    "image": lambda: gn.ImageDensity(torch.ones(3, 3)),
    "disk": lambda: gn.UniformShape("disk"),
}


@pytest.mark.parametrize("name", list(DENSITIES))
def test_density_methods_reject(name):
    dens = DENSITIES[name]()
    for n in (0, -3):
        with pytest.raises(ValueError, match="n"):
            dens.sample(n)
    for n in (2.5, "10", True):
        with pytest.raises(TypeError, match="n"):
            dens.sample(n)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        dens.log_prob(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="x"):
        dens.log_prob(torch.zeros(2))
    with pytest.raises(TypeError, match="x"):
        dens.log_prob(torch.zeros(5, 2, dtype=torch.long))


# ---------------------------------------------------------------------------
# networks
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("ctor, match", [
    (lambda: gn.MGradNetC(0), "dim"),
    (lambda: gn.MGradNetC(-2), "dim"),
    (lambda: gn.MGradNetC(2, embed_dim=0), "embed_dim"),
    (lambda: gn.MGradNetC(2, num_layers=0), "num_layers"),
    (lambda: gn.MGradNetC(2, eps=-1e-3), "eps"),
    (lambda: gn.MGradNetM(0), "dim"),
    (lambda: gn.MGradNetM(2, num_modules=0), "num_modules"),
    (lambda: gn.MGradNetM(2, embed_dim=-4), "embed_dim"),
    (lambda: gn.MLPMap(0), "dim"),
    (lambda: gn.MLPMap(2, hidden=0), "hidden"),
    (lambda: gn.MLPMap(2, num_layers=0), "num_layers"),
    (lambda: gn.MLPMap(2, activation="relu6"), "activation"),
])
def test_network_constructors_reject_non_positive_sizes(ctor, match):
    with pytest.raises(ValueError, match=match):
        ctor()


@pytest.mark.parametrize("ctor, match", [
    (lambda: gn.MGradNetC(2.5), "dim"),
    (lambda: gn.MGradNetC("2"), "dim"),
    (lambda: gn.MGradNetM(2, num_modules=2.0), "num_modules"),
    (lambda: gn.MGradNetC(2, embed_dim=None), "embed_dim"),
    (lambda: gn.MLPMap(2, hidden=True), "hidden"),
])
def test_network_constructors_reject_wrong_types(ctor, match):
    with pytest.raises(TypeError, match=match):
        ctor()


NET_CTORS = {
    "C": lambda d: gn.MGradNetC(d, embed_dim=8),
    "M": lambda d: gn.MGradNetM(d, num_modules=2, embed_dim=4),
    "MLP": lambda d: gn.MLPMap(d, hidden=8),
}


@pytest.mark.parametrize("name", list(NET_CTORS))
def test_forward_rejects_bad_x(name):
    model = NET_CTORS[name](2)
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\).*3 columns"):
        model(torch.zeros(4, 3))
    with pytest.raises(ValueError, match="x"):
        model(torch.zeros(2))
    with pytest.raises(ValueError, match="x"):
        model(torch.zeros(2, 2, 2))
    with pytest.raises(TypeError, match="x"):
        model(np.zeros((4, 2), dtype=np.float32))
    with pytest.raises(TypeError, match="x"):
        model(torch.zeros(4, 2, dtype=torch.int64))


@pytest.mark.parametrize("name", ["C", "M"])
def test_forward_names_a_dtype_mismatch(name):
    model = NET_CTORS[name](2)
    x64 = torch.zeros(4, 2, dtype=torch.float64)
    for call in (model, model.forward_and_jacobian, model.forward_and_logdet, model.potential):
        with pytest.raises(TypeError, match=r"x is torch.float64 but the model is torch.float32"):
            call(x64)
    assert model.double()(x64).dtype == torch.float64  # the fix the message names works


@pytest.mark.parametrize("name", list(NET_CTORS))
def test_forward_rejects_nan_x(name):
    model = NET_CTORS[name](2)
    for bad in (NAN, math.inf):
        x = torch.zeros(4, 2)
        x[2, 1] = bad
        with pytest.raises(ValueError, match="x.*NaN"):
            model(x)


@pytest.mark.parametrize("name", ["C", "M"])
def test_closed_forms_reject_bad_x(name):
    model = NET_CTORS[name](3)
    x_nan = torch.zeros(4, 3)
    x_nan[0, 0] = NAN
    for method in (model.potential, model.jacobian, model.forward_and_jacobian):
        with pytest.raises(ValueError, match=r"x must have shape \(n, 3\)"):
            method(torch.zeros(4, 2))
        with pytest.raises(ValueError, match="x.*NaN"):
            method(x_nan)


def test_warm_start_rejects_bad_samples():
    model = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    ok = torch.randn(50, 2)
    with pytest.raises(ValueError, match="x_source"):
        model.warm_start(torch.randn(50, 3), ok)
    with pytest.raises(ValueError, match="x_target"):
        model.warm_start(ok, torch.randn(50, 1))
    with pytest.raises(ValueError, match="2 samples"):
        model.warm_start(ok[:1], ok)
    bad = ok.clone()
    bad[3, 0] = NAN
    with pytest.raises(ValueError, match="x_source.*NaN"):
        model.warm_start(bad, ok)
    # the model is unchanged by a rejected warm start
    assert torch.equal(model.in_shift, torch.zeros(2)) and torch.equal(model.in_precond, torch.eye(2))


# ---------------------------------------------------------------------------
# loss
# ---------------------------------------------------------------------------

def test_loss_rejects_bad_input():
    src, tgt = _src_tgt(2)
    model = gn.MGradNetC(2, embed_dim=8)
    x = torch.randn(16, 2)
    with pytest.raises(ValueError, match="model has dimension 3"):
        gn.monge_ampere_loss(gn.MGradNetC(3, embed_dim=8), x, src, tgt)
    with pytest.raises(ValueError, match="source has dimension 2 but target has dimension 3"):
        gn.monge_ampere_loss(model, x, src, _src_tgt(3)[1])
    with pytest.raises(ValueError, match=r"x must have shape \(n, 2\)"):
        gn.monge_ampere_loss(model, torch.randn(16, 3), src, tgt)
    xn = x.clone()
    xn[0, 0] = NAN
    with pytest.raises(ValueError, match="x.*NaN"):
        gn.monge_ampere_loss(model, xn, src, tgt)
    with pytest.raises(TypeError, match="x"):
        gn.monge_ampere_loss(model, x.numpy(), src, tgt)
    with pytest.raises(ValueError, match="p must be 1 or 2"):
        gn.monge_ampere_loss(model, x, src, tgt, p=3)
    with pytest.raises(TypeError, match="source"):
        gn.monge_ampere_loss(model, x, object(), tgt)
    with pytest.raises(TypeError, match="target"):
        gn.monge_ampere_loss(model, x, src, "N(0, 1)")
    with pytest.raises(TypeError, match="model"):
        gn.monge_ampere_loss(42, x, src, tgt)


# ---------------------------------------------------------------------------
# fit
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(steps=0), ValueError, "steps"),
    (dict(steps=-10), ValueError, "steps"),
    (dict(steps=2.5), TypeError, "steps"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=-1), ValueError, "batch_size"),
    (dict(batch_size="big"), TypeError, "batch_size"),
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=-1e-3), ValueError, "lr"),
    (dict(lr=NAN), ValueError, "lr"),
    (dict(lr=math.inf), ValueError, "lr"),
    (dict(lr="fast"), TypeError, "lr"),
    (dict(device="gpu0"), ValueError, "device"),
    (dict(device="tpu"), ValueError, "device"),
    (dict(device=3.5), ValueError, "device"),
    (dict(seed="0"), TypeError, "seed"),
    (dict(seed=1.5), TypeError, "seed"),
    (dict(p=3), ValueError, "p must be"),
    (dict(clip_grad=0.0), ValueError, "clip_grad"),
    (dict(clip_grad=-1.0), ValueError, "clip_grad"),
    (dict(warmup=1.5), ValueError, "warmup"),
    (dict(warm_start="yes"), ValueError, "warm_start"),
    (dict(checkpoint=123), TypeError, "checkpoint"),
    (dict(checkpoint_every=0), ValueError, "checkpoint_every"),
    (dict(check_every=0), ValueError, "check_every"),
])
def test_fit_rejects_bad_arguments(kwargs, exc, match):
    src, tgt = _src_tgt(2)
    model = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    with pytest.raises(exc, match=match):
        gn.fit(model, src, tgt, **{**FIT_KW, **kwargs})


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-CUDA message")
def test_fit_rejects_cuda_without_cuda():
    src, tgt = _src_tgt(2)
    with pytest.raises(ValueError, match="cuda"):
        gn.fit(gn.MGradNetM(2), src, tgt, **{**FIT_KW, "device": "cuda"})
    with pytest.raises(ValueError, match="device|cuda"):
        gn.resolve_device("cuda:0")


def test_resolve_device_rejects_bad_strings():
    for bad in ("gpu", "cuda:x", "", "auto "):
        with pytest.raises(ValueError, match="device"):
            gn.resolve_device(bad)


def test_fit_rejects_mismatched_dimensions():
    src2, tgt2 = _src_tgt(2)
    src3, tgt3 = _src_tgt(3)
    with pytest.raises(ValueError, match="model has dimension 3"):
        gn.fit(gn.MGradNetC(3, embed_dim=4), src2, tgt2, **FIT_KW)
    with pytest.raises(ValueError, match="source has dimension 2 but target has dimension 3"):
        gn.fit(gn.MGradNetC(2, embed_dim=4), src2, tgt3, **FIT_KW)
    with pytest.raises(ValueError, match="model has dimension 2"):
        gn.fit(gn.MLPMap(2, hidden=4), src3, tgt3, **FIT_KW)


def test_fit_rejects_non_densities_and_non_modules():
    src, tgt = _src_tgt(2)
    with pytest.raises(TypeError, match="model"):
        gn.fit(lambda x: x, src, tgt, **FIT_KW)
    with pytest.raises(TypeError, match="source"):
        gn.fit(gn.MGradNetC(2), object(), tgt, **FIT_KW)
    with pytest.raises(TypeError, match="target"):
        gn.fit(gn.MGradNetC(2), src, np.zeros(3), **FIT_KW)

    class NoDim:
        def sample(self, n, generator=None):
            return torch.zeros(n, 2)

        def log_prob(self, x):
            return torch.zeros(x.shape[0])

    with pytest.raises(TypeError, match="dimension of source"):
        gn.fit(gn.MGradNetC(2), NoDim(), tgt, **FIT_KW)


def test_fit_rejects_density_with_wrong_output_shapes():
    src, tgt = _src_tgt(2)

    class WrongSample(CountingDensity):
        def sample(self, n, generator=None):
            return super().sample(n, generator)[:, :1]

    class WrongLogProb(CountingDensity):
        def log_prob(self, x):
            return super().log_prob(x)[:, None]

    with pytest.raises(ValueError, match="source.sample"):
        gn.fit(gn.MGradNetC(2), WrongSample(src), tgt, **FIT_KW)
    with pytest.raises(ValueError, match="source.log_prob"):
        gn.fit(gn.MGradNetC(2), WrongLogProb(src), tgt, **FIT_KW)


@pytest.mark.parametrize("which", ["source", "target"])
def test_fit_rejects_density_returning_nan(which):
    src, tgt = _src_tgt(2)
    dens = {"source": src, "target": tgt}
    dens[which] = CountingDensity(dens[which], nan_after=1)
    with pytest.raises(ValueError, match=f"{which}.log_prob returned NaN"):
        gn.fit(gn.MGradNetC(2, embed_dim=4), dens["source"], dens["target"], **FIT_KW)


def test_fit_rejects_source_sampling_nan():
    src, tgt = _src_tgt(2)

    class NaNSampler(CountingDensity):
        def sample(self, n, generator=None):
            x = super().sample(n, generator)
            x[0, 0] = NAN
            return x

        def log_prob(self, x):  # pretend the density is fine
            return torch.zeros(x.shape[0])

    with pytest.raises(ValueError, match="source"):
        gn.fit(gn.MGradNetC(2, embed_dim=4), NaNSampler(src), tgt, **FIT_KW)


def test_fit_rejects_target_with_zero_density_on_its_samples():
    src, _ = _src_tgt(2)
    hard = gn.Gaussian(torch.zeros(2), torch.eye(2))

    class Truncated(CountingDensity):  # log q = -inf on half of its own samples
        def log_prob(self, x):
            lp = super().log_prob(x)
            return torch.where(x[:, 0] > 0, torch.full_like(lp, -math.inf), lp)

    with pytest.raises(ValueError, match="target.log_prob"):
        gn.fit(gn.MGradNetC(2, embed_dim=4), src, Truncated(hard), **FIT_KW)


def test_fit_rejects_model_without_parameters():
    src, tgt = _src_tgt(2)

    class Fixed(torch.nn.Module):
        dim = 2

        def forward(self, x):
            return 2 * x

    with pytest.raises(ValueError, match="parameters"):
        gn.fit(Fixed(), src, tgt, **{**FIT_KW, "warm_start": False})


def test_fit_warm_start_true_needs_method():
    src, tgt = _src_tgt(2)
    with pytest.raises(ValueError, match="warm_start"):
        gn.fit(gn.MLPMap(2, hidden=4), src, tgt, **{**FIT_KW, "warm_start": True})


# ---------------------------------------------------------------------------
# references and metrics
# ---------------------------------------------------------------------------

def test_gaussian_ot_map_rejects():
    I2 = torch.eye(2)
    with pytest.raises(ValueError, match="cov_s.*positive definite"):
        gn.gaussian_ot_map(torch.zeros(2), -I2, torch.zeros(2), I2)
    with pytest.raises(ValueError, match="cov_t.*positive definite"):
        gn.gaussian_ot_map(torch.zeros(2), I2, torch.zeros(2), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="cov_t.*shape"):
        gn.gaussian_ot_map(torch.zeros(2), I2, torch.zeros(2), torch.eye(3))
    with pytest.raises(ValueError, match="mean_t"):
        gn.gaussian_ot_map(torch.zeros(2), I2, torch.zeros(3), I2)
    with pytest.raises(ValueError, match="mean_s.*NaN"):
        gn.gaussian_ot_map(torch.tensor([NAN, 0.0]), I2, torch.zeros(2), I2)
    T = gn.gaussian_ot_map(torch.zeros(2), I2, torch.zeros(2), I2)
    with pytest.raises(ValueError, match="x"):
        T(torch.zeros(3, 3))


def test_discrete_references_reject():
    xs, xt = torch.randn(10, 2), torch.randn(10, 3)
    with pytest.raises(ValueError, match="xs and xt"):
        gn.discrete_ot_map(xs, xt)
    with pytest.raises(ValueError, match="method"):
        gn.discrete_ot_map(xs, torch.randn(10, 2), method="exact")
    bad = xs.clone()
    bad[0, 0] = NAN
    with pytest.raises(ValueError, match="xs.*NaN"):
        gn.discrete_ot_map(bad, torch.randn(10, 2))
    with pytest.raises(ValueError, match="reg"):
        gn.discrete_ot_map(xs, torch.randn(10, 2), method="sinkhorn", reg=0.0)
    with pytest.raises(ValueError, match="xs"):
        gn.discrete_ot_plan(torch.randn(2, 3, 4), torch.randn(10, 2))
    with pytest.raises(ValueError, match="2 samples"):
        gn.monotone_rearrangement(torch.randn(1), torch.randn(10))
    with pytest.raises(ValueError, match="target_samples.*NaN"):
        gn.monotone_rearrangement(torch.randn(10), torch.tensor([0.0, NAN, 1.0]))


def test_disk_to_gaussian_map_rejects():
    with pytest.raises(ValueError, match="x"):
        gn.disk_to_gaussian_map(torch.zeros(5, 3))
    with pytest.raises(ValueError, match="radius"):
        gn.disk_to_gaussian_map(torch.zeros(5, 2), radius=0.0)
    with pytest.raises(ValueError, match="std"):
        gn.disk_to_gaussian_map(torch.zeros(5, 2), std=-1.0)


def test_metrics_reject():
    a, b = torch.randn(10, 2), torch.randn(10, 2)
    with pytest.raises(ValueError, match="target_var"):
        gn.l2_uvp(a, b, 0.0)
    with pytest.raises(ValueError, match="target_var"):
        gn.l2_uvp(a, b, -1.0)
    with pytest.raises(ValueError, match="same number of rows"):
        gn.l2_uvp(a, b[:5], 1.0)
    with pytest.raises(ValueError, match="pred and true"):
        gn.l2_uvp(a, torch.randn(10, 3), 1.0)
    an = a.clone()
    an[1, 1] = NAN
    with pytest.raises(ValueError, match="pred.*NaN"):
        gn.l2_uvp(an, b, 1.0)
    with pytest.raises(ValueError, match="x and y"):
        gn.energy_distance(a, torch.randn(10, 3))
    with pytest.raises(ValueError, match="y.*NaN"):
        gn.energy_distance(a, an)
    with pytest.raises(ValueError, match="2 samples"):
        gn.energy_distance(a[:1], b)
    with pytest.raises(ValueError, match="x and y"):
        gn.sliced_wasserstein(a, torch.randn(10, 3))
    with pytest.raises(ValueError, match="num_projections"):
        gn.sliced_wasserstein(a, b, num_projections=0)
    with pytest.raises(ValueError, match="x.*NaN"):
        gn.monotonicity_gap(lambda z: z, an)
    with pytest.raises(ValueError, match="x and tx"):
        gn.transport_cost(a, torch.randn(10, 3))


def test_min_jacobian_eigenvalue_rejects_bad_x():
    model = gn.MGradNetC(2, embed_dim=4)
    with pytest.raises(ValueError, match="x"):
        gn.min_jacobian_eigenvalue(model, torch.zeros(4, 3))
    x = torch.zeros(4, 2)
    x[0, 0] = NAN
    with pytest.raises(ValueError, match="x.*NaN"):
        gn.min_jacobian_eigenvalue(model, x)


def test_problem_and_config_reject():
    with pytest.raises(ValueError, match="dim"):
        gn.wishart_gaussian_problem(0)
    with pytest.raises(TypeError, match="dim"):
        gn.wishart_gaussian_problem(2.5)


def test_problem_l2_uvp_scores_a_float64_model():
    prob = gn.wishart_gaussian_problem(2, seed=0)
    m32 = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    m64 = gn.MGradNetM(2, num_modules=2, embed_dim=4)
    m64.load_state_dict(m32.state_dict())
    u32, u64 = prob.l2_uvp(m32), prob.l2_uvp(m64.double())
    assert math.isfinite(u64) and u64 == pytest.approx(u32, rel=1e-4)
