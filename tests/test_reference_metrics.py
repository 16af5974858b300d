"""Reference maps (closed forms, discrete OT) and metrics."""
import math
import warnings

import numpy as np
import pytest
import torch

import gradnetot as gn


def _spd(d, seed, shift=0.3):
    g = torch.Generator().manual_seed(seed)
    B = torch.randn(d, d, generator=g, dtype=torch.float64)
    return B @ B.T + shift * torch.eye(d, dtype=torch.float64)


@pytest.mark.parametrize("d", [1, 2, 4])
def test_gaussian_ot_matrix_is_symmetric_pd_and_pushes_covariance(d):
    cs, ct = _spd(d, 1), _spd(d, 2)
    A = gn.gaussian_ot_matrix(cs, ct)
    assert torch.allclose(A, A.T, atol=1e-12)
    assert float(torch.linalg.eigvalsh(A).min()) > 0
    # A Σs A = Σt  (the pushforward of N(0, Σs) by x -> A x is N(0, Σt))
    assert torch.allclose(A @ cs @ A, ct, atol=1e-8, rtol=1e-8)


def test_gaussian_ot_matrix_commuting_case():
    cs = torch.diag(torch.tensor([4.0, 1.0], dtype=torch.float64))
    ct = torch.diag(torch.tensor([1.0, 9.0], dtype=torch.float64))
    assert torch.allclose(gn.gaussian_ot_matrix(cs, ct), torch.diag(torch.tensor([0.5, 3.0], dtype=torch.float64)))


def test_gaussian_ot_map_pushes_samples_to_target():
    ms, mt = torch.tensor([1.0, -2.0, 0.0]), torch.tensor([0.5, 0.5, 3.0])
    cs, ct = _spd(3, 3).float(), _spd(3, 4).float()
    T = gn.gaussian_ot_map(ms, cs, mt, ct)
    assert torch.allclose(T.A, T.A.T, atol=1e-6)
    assert float(torch.linalg.eigvalsh(T.A).min()) > 0
    x = gn.Gaussian(ms, cs).sample(50000, generator=torch.Generator().manual_seed(0))
    y = T(x)
    assert y.shape == x.shape
    assert torch.allclose(y.mean(0), mt, atol=0.05 * math.sqrt(float(ct.diagonal().max())))
    assert torch.allclose(torch.cov(y.T), ct, rtol=0.05, atol=0.05)
    # it is the gradient of a convex function: jacobian is the constant symmetric A
    assert torch.allclose(T.jacobian(x[:3]), T.A.expand(3, 3, 3))
    assert torch.allclose(T(ms[None]), mt[None], atol=1e-5)


def test_gaussian_ot_map_identity_between_equal_laws():
    m, c = torch.tensor([1.0, 2.0]), _spd(2, 5).float()
    T = gn.gaussian_ot_map(m, c, m, c)
    x = torch.randn(10, 2)
    assert torch.allclose(T(x), x, atol=1e-4)


def test_discrete_ot_map_is_a_permutation_for_equal_uniform_clouds():
    g = torch.Generator().manual_seed(0)
    xs = torch.randn(40, 2, generator=g)
    xt = torch.randn(40, 2, generator=g) + torch.tensor([3.0, 0.0])
    mapped = gn.discrete_ot_map(xs, xt)
    assert mapped.shape == (40, 2)
    # every mapped point is one of the targets, each used exactly once
    dist = torch.cdist(mapped, xt)
    idx = dist.argmin(1)
    assert float(dist.min(1).values.max()) < 1e-5
    assert sorted(idx.tolist()) == list(range(40))
    plan = gn.discrete_ot_plan(xs, xt)
    assert plan.shape == (40, 40)
    assert np.allclose(plan.sum(0), 1 / 40) and np.allclose(plan.sum(1), 1 / 40)
    assert np.allclose(np.sort(plan.ravel())[-40:], 1 / 40) and np.count_nonzero(plan > 1e-12) == 40
    # it is optimal: no pairwise swap lowers the cost (cyclical monotonicity for 2-cycles)
    c = ((xs - mapped) ** 2).sum(1)
    swapped = ((xs[:, None] - mapped[None]) ** 2).sum(-1)  # cost of sending i to j's target
    gain = c[:, None] + c[None, :] - swapped - swapped.T
    assert float(gain.max()) <= 1e-4


def test_discrete_ot_map_in_1d_is_the_sorted_assignment():
    g = torch.Generator().manual_seed(1)
    xs = torch.randn(30, 1, generator=g)
    xt = 2 * torch.rand(30, 1, generator=g) + 1
    mapped = gn.discrete_ot_map(xs, xt)
    order_s = torch.argsort(xs[:, 0])
    expected = torch.empty_like(xt)
    expected[order_s] = torch.sort(xt, dim=0).values
    assert torch.allclose(mapped, expected, atol=1e-6)
    # 1-D arrays are accepted as (n, 1)
    assert torch.allclose(gn.discrete_ot_map(xs[:, 0].numpy(), xt[:, 0].numpy()), expected, atol=1e-6)


def test_discrete_ot_map_sinkhorn_is_close_to_exact():
    g = torch.Generator().manual_seed(2)
    xs = torch.randn(50, 2, generator=g)
    xt = torch.randn(50, 2, generator=g) * 0.5 + 2
    exact = gn.discrete_ot_map(xs, xt)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # converges: no marginal-error warning
        soft = gn.discrete_ot_map(xs, xt, method="sinkhorn", reg=0.1)  # POT's reg: cost units
    assert float((soft - exact).norm(dim=1).mean()) < 0.3
    # uneven sizes: barycentric projection lands in the target's convex hull region
    mapped = gn.discrete_ot_map(xs, xt[:20])
    assert mapped.shape == (50, 2)
    assert torch.allclose(mapped.mean(0), xt[:20].mean(0), atol=1e-5)


def test_monotone_rearrangement_is_monotone_and_maps_quantiles():
    g = torch.Generator().manual_seed(0)
    src = torch.rand(20000, 1, generator=g)              # U(0, 1)
    tgt = torch.randn(20000, 1, generator=g) * 2 + 1     # N(1, 4)
    T = gn.monotone_rearrangement(src, tgt)
    grid = np.linspace(0.01, 0.99, 200)
    y = T(grid)
    assert isinstance(y, np.ndarray) and y.shape == (200,)
    assert np.all(np.diff(y) >= 0)
    # quantile u of U(0,1) goes to the u-quantile of N(1, 4)
    from scipy.stats import norm
    for u in (0.1, 0.5, 0.9):
        assert float(T(np.array([u]))[0]) == pytest.approx(1 + 2 * norm.ppf(u), abs=0.06)
    # tensors in, tensors out
    yt = T(torch.tensor([[0.5]]))
    assert isinstance(yt, torch.Tensor) and yt.shape == (1, 1)
    # pushes the source sample onto the target law
    assert gn.energy_distance(T(src[:2000]), tgt[:2000]) < 0.02


def test_monotone_rearrangement_matches_discrete_ot_in_1d():
    g = torch.Generator().manual_seed(4)
    xs = torch.randn(25, 1, generator=g)
    xt = torch.randn(25, 1, generator=g) ** 2
    T = gn.monotone_rearrangement(xs, xt)
    assert torch.allclose(T(xs), gn.discrete_ot_map(xs, xt), atol=1e-5)


def test_disk_to_gaussian_map_pushes_disk_to_gaussian():
    disk = gn.UniformShape("disk", radius=1.5, center=(1.0, -1.0))
    x = disk.sample(3000, generator=torch.Generator().manual_seed(0))
    y = gn.disk_to_gaussian_map(x, radius=1.5, center=(1.0, -1.0), mean=(0.5, 0.5), std=0.7)
    g = torch.Generator().manual_seed(1)
    right = gn.Gaussian(torch.tensor([0.5, 0.5]), 0.49 * torch.eye(2)).sample(3000, generator=g)
    wrong = gn.Gaussian(torch.tensor([0.5, 0.5]), 1.0 * torch.eye(2)).sample(3000, generator=g)
    e_right, e_wrong = gn.energy_distance(y, right), gn.energy_distance(y, wrong)
    assert e_right < 0.01 and e_wrong > 5 * e_right
    # radial: directions are kept and the radius grows monotonically
    v = x - torch.tensor([1.0, -1.0])
    w = y - torch.tensor([0.5, 0.5])
    cos = (v * w).sum(1) / (v.norm(dim=1) * w.norm(dim=1))
    assert float(cos.min()) > 1 - 1e-4
    order = torch.argsort(v.norm(dim=1))
    assert bool((torch.diff(w.norm(dim=1)[order]) >= -1e-5).all())
    # it is monotone (a gradient of a convex function)
    assert gn.monotonicity_gap(lambda z: gn.disk_to_gaussian_map(z, 1.5, (1.0, -1.0), (0.5, 0.5), 0.7), x) >= 0


def test_l2_uvp_hand_computed():
    pred = torch.tensor([[1.0, 0.0], [0.0, 0.0], [0.0, 2.0]])
    true = torch.zeros(3, 2)
    # mean squared error (1 + 0 + 4) / 3, relative to total target variance 2
    assert gn.l2_uvp(pred, true, 2.0) == pytest.approx(100 * (5 / 3) / 2)
    # target_var from samples: var of columns [0, 2] and [0, 4] -> 4/3 + 16/3 with n-1 = 2
    samples = torch.tensor([[0.0, 0.0], [1.0, 2.0], [2.0, 4.0]])
    assert gn.l2_uvp(pred, true, samples) == pytest.approx(100 * (5 / 3) / (1.0 + 4.0))
    assert gn.l2_uvp(true, true, 1.0) == 0.0


def test_energy_distance_same_law_vs_shifted():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1500, 2, generator=g)
    y = torch.randn(1500, 2, generator=g)
    same = gn.energy_distance(x, y)
    shifted = gn.energy_distance(x, y + torch.tensor([1.0, 0.0]))
    assert abs(same) < 0.01
    assert shifted > 0.2
    # symmetric
    assert gn.energy_distance(y, x) == pytest.approx(same, abs=1e-9)
    # 1-D closed form for two point masses at 0 and a: 2|a| - 0 - 0 (U-statistic terms vanish)
    assert gn.energy_distance(torch.zeros(5, 1), torch.full((5, 1), 3.0)) == pytest.approx(6.0)


def test_sliced_wasserstein_same_law_vs_shifted():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(2000, 3, generator=g)
    y = torch.randn(2000, 3, generator=g)
    assert gn.sliced_wasserstein(x, y) < 0.1
    shift = torch.tensor([2.0, 0.0, 0.0])
    # a pure shift by s has sliced W2 = |s| sqrt(E <θ, e>^2) = |s| / sqrt(d) for a uniform θ
    sw = gn.sliced_wasserstein(x, x + shift, num_projections=1000)
    assert sw == pytest.approx(2.0 / math.sqrt(3), rel=0.05)
    # different sample sizes work
    assert gn.sliced_wasserstein(x[:500], y) < 0.15


@pytest.mark.parametrize("theta", [math.pi / 3, 2 * math.pi / 3, math.pi / 2 + 0.3])
def test_monotonicity_gap_of_rotation_is_cos_theta(theta):
    R = torch.tensor([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
    x = torch.randn(300, 2, generator=torch.Generator().manual_seed(0))
    gap = gn.monotonicity_gap(lambda z: z @ R.T, x)
    assert gap == pytest.approx(math.cos(theta), abs=1e-5)

    class Rot(torch.nn.Module):
        def forward(self, z):
            return z @ R.T

    # the symmetrised Jacobian of a rotation has both eigenvalues equal to cos(theta)
    ev = gn.min_jacobian_eigenvalue(Rot(), x[:10])
    assert torch.allclose(ev, torch.full((10,), math.cos(theta)), atol=1e-5)


@pytest.mark.parametrize("cls", [gn.MGradNetC, gn.MGradNetM])
@pytest.mark.parametrize("strongly_convex", [True, False])
def test_mgradnet_metrics_are_nonnegative(cls, strongly_convex):
    torch.manual_seed(0)
    model = cls(3, strongly_convex=strongly_convex)
    x = 2 * torch.randn(400, 3, generator=torch.Generator().manual_seed(1))
    assert gn.monotonicity_gap(model, x) >= -1e-5
    ev = gn.min_jacobian_eigenvalue(model, x)
    assert ev.shape == (400,)
    assert float(ev.min()) >= (model.eps - 1e-5 if strongly_convex else -1e-5)


def test_mlp_map_can_be_non_monotone():
    """The unconstrained baseline has no guarantee: a random MLP usually violates monotonicity."""
    torch.manual_seed(0)
    model = gn.MLPMap(2, hidden=32, num_layers=2)
    with torch.no_grad():
        for p in model.parameters():
            p.mul_(4.0)
    x = 3 * torch.randn(400, 2, generator=torch.Generator().manual_seed(1))
    assert float(gn.min_jacobian_eigenvalue(model, x).min()) < 0
    assert gn.monotonicity_gap(model, x) < 0


def test_transport_cost():
    x = torch.zeros(4, 2)
    tx = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    assert gn.transport_cost(x, tx) == pytest.approx((1 + 1 + 2 + 0) / 4)


def test_wishart_gaussian_problem():
    prob = gn.wishart_gaussian_problem(4, seed=0)
    assert prob.dim == 4 and prob.target_var == pytest.approx(4.0)
    # the true map whitens the source: Σ^{-1/2}(x - μ)
    x = prob.source.sample(30000, generator=torch.Generator().manual_seed(0))
    y = prob.true_map(x)
    assert torch.allclose(torch.cov(y.T), torch.eye(4), atol=0.05)
    assert torch.allclose(y.mean(0), torch.zeros(4), atol=0.05)
    # same seed, same problem
    assert torch.equal(gn.wishart_gaussian_problem(4, seed=0).source.cov, prob.source.cov)

    class Exact(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, z):
            return prob.true_map(z)

    assert prob.l2_uvp(Exact(), n=2000) == pytest.approx(0.0, abs=1e-8)


def test_reference_maps_work_inside_torch_func_transforms():
    """A map written with gn's reference maps can be differentiated per sample with torch.func."""
    x = 0.9 * torch.rand(16, 2) - 0.45
    J = gn.autodiff_jacobian(lambda z: gn.disk_to_gaussian_map(z, std=0.5), x)
    assert J.shape == (16, 2, 2) and torch.isfinite(J).all()
    assert torch.allclose(J, J.transpose(1, 2), atol=1e-5)
    with pytest.raises(ValueError, match="NaN"):
        gn.disk_to_gaussian_map(torch.tensor([[float("nan"), 0.0]]))
