"""Densities: normalisation, sampling, determinism, duck typing."""
import math

import numpy as np
import pytest
import torch

import gradnetot as gn


def _grid_integral(density, lo, hi, n=401):
    """Trapezoid rule of exp(log_prob) over [lo0, hi0] x [lo1, hi1] in float64."""
    gx = torch.linspace(lo[0], hi[0], n, dtype=torch.float64)
    gy = torch.linspace(lo[1], hi[1], n, dtype=torch.float64)
    xx, yy = torch.meshgrid(gx, gy, indexing="ij")
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1).float()
    with torch.no_grad():
        vals = torch.exp(density.log_prob(pts).double()).reshape(n, n)
    assert bool(torch.isfinite(vals).all())
    return float(torch.trapezoid(torch.trapezoid(vals, gy, dim=1), gx))


def _checker_image():
    img = torch.zeros(8, 10)
    img[1:4, 2:8] = 1.0
    img[5:7, 1:9] = 0.5
    img[0, 0] = 2.0
    return img


SHAPES = {
    "disk": (dict(center=(0.5, -0.2), radius=0.8), math.pi * 0.8**2, (0.5, -0.2)),
    "ellipse": (dict(center=(0.0, 0.3), axes=(1.2, 0.5)), math.pi * 1.2 * 0.5, (0.0, 0.3)),
    "rectangle": (dict(center=(-0.3, 0.1), size=(1.6, 0.7)), 1.6 * 0.7, (-0.3, 0.1)),
    "triangle": (dict(vertices=[[0.0, 0.0], [1.5, 0.0], [0.4, 1.2]]), 0.5 * 1.5 * 1.2, (0.63, 0.4)),
    "polygon": (dict(vertices=[[0.0, 0.0], [1.0, -0.2], [1.4, 0.8], [0.5, 1.3], [-0.3, 0.7]]), None, (0.5, 0.5)),
}


def _polygon_area(v):
    v = np.asarray(v)
    return 0.5 * abs(np.dot(v[:, 0], np.roll(v[:, 1], -1)) - np.dot(np.roll(v[:, 0], -1), v[:, 1]))


def test_gaussian_integrates_to_one():
    g = gn.Gaussian(torch.tensor([0.3, -0.2]), torch.tensor([[1.0, 0.3], [0.3, 0.5]]))
    assert _grid_integral(g, (-7, -6), (7, 6)) == pytest.approx(1.0, abs=2e-3)


def test_gaussian_log_prob_matches_torch_distributions():
    mean, cov = torch.tensor([0.3, -0.2, 1.0]), torch.tensor([[1.0, 0.3, 0.0], [0.3, 0.5, 0.1], [0.0, 0.1, 2.0]])
    g = gn.Gaussian(mean, cov)
    ref = torch.distributions.MultivariateNormal(mean, cov)
    x = torch.randn(100, 3, generator=torch.Generator().manual_seed(0)) * 2
    assert torch.allclose(g.log_prob(x), ref.log_prob(x), atol=1e-4)


def test_gaussian_mixture_integrates_to_one():
    gm = gn.GaussianMixture(torch.tensor([1.0, 2.0, 0.5]),
                            torch.tensor([[0.0, 0.0], [1.5, 1.0], [-1.0, 2.0]]), 0.4)
    assert _grid_integral(gm, (-4, -3), (4, 5)) == pytest.approx(1.0, abs=2e-3)


def test_gaussian_mixture_log_prob_matches_direct_sum():
    w = torch.tensor([0.2, 0.3, 0.5])
    means = torch.tensor([[0.0, 0.0], [1.5, 1.0], [-1.0, 2.0]])
    gm = gn.GaussianMixture(w, means, 0.7)
    x = torch.randn(50, 2, generator=torch.Generator().manual_seed(0)) * 2
    direct = sum(w[k] * torch.distributions.MultivariateNormal(means[k], 0.49 * torch.eye(2)).log_prob(x).exp()
                 for k in range(3)).log()
    assert torch.allclose(gm.log_prob(x), direct, atol=1e-4)


def test_image_density_integrates_to_one_and_is_y_up():
    img = _checker_image()
    dens = gn.ImageDensity(img, bandwidth=0.03)
    assert _grid_integral(dens, (-0.3, -0.3), (1.3, 1.3), n=501) == pytest.approx(1.0, abs=3e-3)
    # the bright top-left pixel (row 0, col 0) sits at (0.05, 1 - 1/16): y points up
    assert dens.log_prob(torch.tensor([[0.05, 1 - 0.5 / 8]])) > dens.log_prob(torch.tensor([[0.05, 0.5 / 8]]))
    # zero pixels are not components
    assert dens.means.shape[0] == int((img > 0).sum())
    wider = dens.with_bandwidth(0.1)
    assert isinstance(wider, gn.ImageDensity) and wider.bandwidth == 0.1
    assert _grid_integral(wider, (-0.6, -0.6), (1.6, 1.6)) == pytest.approx(1.0, abs=3e-3)


@pytest.mark.parametrize("kind", list(SHAPES))
def test_uniform_shape_integrates_to_one_and_is_flat_inside(kind):
    kwargs, area, inside = SHAPES[kind]
    if area is None:
        area = _polygon_area(kwargs["vertices"])
    shape = gn.UniformShape(kind, **kwargs)
    assert _grid_integral(shape, (-1.6, -1.6), (2.0, 2.0), n=721) == pytest.approx(1.0, abs=5e-3)
    # inside, the density is 1 / area (the smoothed edge changes the area by O(smoothing^2))
    dens_in = float(shape.log_prob(torch.tensor([inside])).exp())
    assert dens_in == pytest.approx(1.0 / area, rel=2e-2)
    # log_prob is finite far outside (smoothed edge)
    far = shape.log_prob(torch.tensor([[30.0, -30.0]]))
    assert bool(torch.isfinite(far).all()) and float(far) < -100
    # samples land in the shape (up to a few smoothing widths)
    xs = shape.sample(2000, generator=torch.Generator().manual_seed(0))
    assert xs.shape == (2000, 2)
    assert float(shape.sdf(xs).max()) < 8 * shape.smoothing
    assert float(shape.sdf(torch.tensor([inside]))) < 0


def test_disk_samples_are_uniform():
    shape = gn.UniformShape("disk", radius=1.0)
    xs = shape.sample(20000, generator=torch.Generator().manual_seed(0))
    r2 = (xs**2).sum(1)
    # for a uniform disk r^2 ~ U(0, 1): mean 1/2, and the mean is 0
    assert float(r2.mean()) == pytest.approx(0.5, abs=0.01)
    assert torch.allclose(xs.mean(0), torch.zeros(2), atol=0.02)


def test_gaussian_samples_have_right_moments():
    mean = torch.tensor([1.0, -2.0, 0.5])
    cov = torch.tensor([[2.0, 0.5, 0.0], [0.5, 1.0, -0.3], [0.0, -0.3, 0.5]])
    xs = gn.Gaussian(mean, cov).sample(40000, generator=torch.Generator().manual_seed(0))
    assert xs.shape == (40000, 3)
    assert torch.allclose(xs.mean(0), mean, atol=0.03)
    assert torch.allclose(torch.cov(xs.T), cov, atol=0.05)


def test_gaussian_mixture_samples_have_right_moments():
    w = torch.tensor([0.25, 0.75])
    means = torch.tensor([[-2.0, 0.0], [2.0, 1.0]])
    xs = gn.GaussianMixture(w, means, 0.3).sample(40000, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(xs.mean(0), w @ means, atol=0.03)
    assert float((xs[:, 0] < 0).float().mean()) == pytest.approx(0.25, abs=0.01)


def _all_densities():
    return {
        "gaussian": gn.Gaussian(torch.zeros(2), torch.eye(2)),
        "mixture": gn.GaussianMixture(torch.ones(3), torch.randn(3, 2, generator=torch.Generator().manual_seed(0)), 0.2),
        "image": gn.ImageDensity(_checker_image(), 0.02),
        "disk": gn.UniformShape("disk"),
        "triangle": gn.UniformShape("triangle"),
    }


@pytest.mark.parametrize("name", list(_all_densities()))
def test_sampling_shapes_and_generator_determinism(name):
    dens = _all_densities()[name]
    assert dens.dim == 2
    a = dens.sample(300, generator=torch.Generator().manual_seed(7))
    b = dens.sample(300, generator=torch.Generator().manual_seed(7))
    c = dens.sample(300, generator=torch.Generator().manual_seed(8))
    assert a.shape == (300, 2) and a.dtype == torch.float32
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    assert dens.sample(1).shape == (1, 2)
    lp = dens.log_prob(a)
    assert lp.shape == (300,) and bool(torch.isfinite(lp).all())
    # without a generator the global seed drives sampling
    torch.manual_seed(3)
    d1 = dens.sample(10)
    torch.manual_seed(3)
    assert torch.equal(d1, dens.sample(10))


def test_one_dimensional_gaussian():
    g = gn.Gaussian(torch.tensor([0.5]), torch.tensor([[4.0]]))
    x = torch.linspace(-15, 15, 3001)[:, None]
    assert float(torch.trapezoid(g.log_prob(x).exp(), x[:, 0])) == pytest.approx(1.0, abs=1e-4)
    assert g.sample(5).shape == (5, 1)


def test_density_to_moves_and_keeps_values():
    g = gn.Gaussian(torch.tensor([0.3, -0.2]), torch.tensor([[1.0, 0.3], [0.3, 0.5]]))
    x = torch.randn(10, 2)
    lp32 = g.log_prob(x)
    g64 = g.to("cpu", torch.float64)
    assert g64.dtype == torch.float64 and g64.device.type == "cpu"
    assert torch.allclose(g64.log_prob(x.double()).float(), lp32, atol=1e-5)


def test_density_helpers_with_torch_distributions():
    mvn = torch.distributions.MultivariateNormal(torch.zeros(3), torch.eye(3))
    assert gn.density_dim(mvn) == 3
    assert gn.sample_from(mvn, 7).shape == (7, 3)
    normal = torch.distributions.Normal(0.0, 1.0)
    assert gn.density_dim(normal) == 1
    assert gn.sample_from(normal, 7).shape == (7, 1)
    assert gn.density_dim(gn.UniformShape("disk")) == 2
    with pytest.raises(TypeError, match="density"):
        gn.density_dim(object())


def test_torch_distribution_gives_same_loss_as_package_gaussian(gauss2):
    src, tgt = gauss2
    torch.manual_seed(0)
    model = gn.MGradNetM(2)
    x = src.sample(256, generator=torch.Generator().manual_seed(0))
    mvn_src = torch.distributions.MultivariateNormal(src.mean, src.cov)
    mvn_tgt = torch.distributions.MultivariateNormal(tgt.mean, tgt.cov)
    a = gn.monge_ampere_loss(model, x, src, tgt)
    b = gn.monge_ampere_loss(model, x, mvn_src, mvn_tgt)
    assert float(a.detach()) == pytest.approx(float(b.detach()), rel=1e-4)


def test_fit_accepts_torch_distributions():
    mvn_src = torch.distributions.MultivariateNormal(torch.tensor([1.0, 0.0]), torch.tensor([[2.0, 0.3], [0.3, 0.5]]))
    mvn_tgt = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
    torch.manual_seed(0)
    model = gn.MGradNetM(2, num_modules=4, embed_dim=8)
    res = gn.fit(model, mvn_src, mvn_tgt, steps=30, batch_size=128, device="cpu", seed=0, progress=False)
    assert res.losses.shape == (30,) and np.isfinite(res.losses).all()
    # 1-D torch distributions (event_shape == ()) work too
    torch.manual_seed(0)
    model1 = gn.MGradNetC(1, embed_dim=8)
    res1 = gn.fit(model1, torch.distributions.Normal(2.0, 0.5), torch.distributions.Normal(0.0, 1.0),
                  steps=30, batch_size=128, device="cpu", seed=0, progress=False)
    assert np.isfinite(res1.losses).all()
    with torch.no_grad():
        # 1-D Gaussian OT map is (x - 2) / 0.5 * 1: the warm start already gets it right
        y = model1(torch.tensor([[2.0], [2.5]]))
    assert torch.allclose(y, torch.tensor([[0.0], [1.0]]), atol=0.1)


def test_log_prob_nan_rows_do_not_contaminate_others():
    """NaN inputs to log_prob propagate (no host sync in the hot loop) but stay in their rows."""
    for dens in _all_densities().values():
        x = torch.tensor([[0.2, 0.3], [float("nan"), 0.0], [0.5, 0.5]])
        lp = dens.log_prob(x)
        assert bool(torch.isfinite(lp[[0, 2]]).all()), type(dens).__name__
