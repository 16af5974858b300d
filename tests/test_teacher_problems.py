"""Teacher-potential pairs: closed forms, the Newton inverse, the target density and fit."""
import math

import pytest
import torch

import gradnetot as gn

TEACHERS = ["maxquad", "icnn", "quadsoftplus"]


@pytest.fixture(scope="module")
def problems():
    cache = {}

    def get(d, teacher="maxquad", source="gaussian", seed=0):
        key = (d, teacher, source, seed)
        if key not in cache:
            cache[key] = gn.teacher_problem(d, teacher=teacher, source=source, seed=seed)
        return cache[key]

    return get


@pytest.mark.parametrize("teacher", TEACHERS)
def test_grad_and_hessian_match_autograd(teacher):
    t = gn.teacher_problem(3, teacher=teacher).teacher
    x = torch.randn(7, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0)) * 2
    xv = x.clone().requires_grad_(True)
    g_auto = torch.autograd.grad(t.potential(xv).sum(), xv, create_graph=True)[0]
    assert torch.allclose(t.grad(x), g_auto, atol=1e-10)
    H_auto = torch.stack([torch.autograd.grad(g_auto[:, i].sum(), xv, retain_graph=True)[0] for i in range(3)], 1)
    g, H = t.grad_and_hessian(x)
    assert torch.allclose(g, g_auto, atol=1e-10)
    assert torch.allclose(H, H_auto, atol=1e-9)
    assert torch.allclose(t.hessian(x), H)
    # symmetric and strongly convex: every eigenvalue >= alpha
    assert torch.allclose(H, H.transpose(1, 2))
    assert float(torch.linalg.eigvalsh(H).min()) >= t.alpha - 1e-9


@pytest.mark.parametrize("teacher", TEACHERS)
@pytest.mark.parametrize("source", ["gaussian", "mixture"])
def test_inverse_round_trip(problems, teacher, source):
    pb = problems(16, teacher, source)
    g = torch.Generator().manual_seed(3)
    x = pb.source.sample(300, generator=g)
    y = pb.true_map(x)
    z = pb.target.inverse(y)
    assert float((z - x).abs().max()) < 2e-3  # float32
    assert float((pb.true_map(z) - y).abs().max()) < 1e-3 * (1 + float(y.abs().max()))
    y64, x64 = y.double(), x.double()
    z64 = pb.target.inverse(pb.true_map(x64))
    assert z64.dtype == torch.float64
    assert float((z64 - x64).abs().max()) < 1e-8
    assert pb.target.last_iterations <= pb.target.max_iter


@pytest.mark.parametrize("teacher", TEACHERS)
@pytest.mark.parametrize("source", ["gaussian", "mixture"])
def test_target_density_integrates_to_one_in_2d(problems, teacher, source):
    pb = problems(2, teacher, source)
    # the image of the circle of radius 8 around the source bounds the image of the disk,
    # which holds all but ~1e-14 of the source's mass
    th = torch.linspace(0, 2 * math.pi, 721, dtype=torch.float64)
    circ = torch.stack([th.cos(), th.sin()], 1)
    centres = pb.source.means.double() if source == "mixture" else torch.zeros(1, 2, dtype=torch.float64)
    edge = torch.cat([pb.true_map(c + 8.5 * circ) for c in centres])
    lo, hi = edge.min(0).values, edge.max(0).values
    n = 301
    gx = torch.linspace(float(lo[0]), float(hi[0]), n, dtype=torch.float64)
    gy = torch.linspace(float(lo[1]), float(hi[1]), n, dtype=torch.float64)
    yy = torch.stack(torch.meshgrid(gx, gy, indexing="ij"), -1).reshape(-1, 2)
    with torch.no_grad():
        q = torch.exp(pb.target.log_prob(yy)).reshape(n, n)
    w = torch.ones(n, dtype=torch.float64)
    w[0] = w[-1] = 0.5
    mass = float((w[:, None] * w[None, :] * q).sum()) * float(gx[1] - gx[0]) * float(gy[1] - gy[0])
    assert abs(mass - 1.0) < 1e-3, mass


@pytest.mark.parametrize("teacher", TEACHERS)
@pytest.mark.parametrize("source", ["gaussian", "mixture"])
def test_log_prob_gradient_matches_finite_differences(teacher, source):
    pb = gn.teacher_problem(3, teacher=teacher, source=source)
    y = pb.target.sample(5, generator=torch.Generator().manual_seed(1)).double()
    yv = y.clone().requires_grad_(True)
    lq = pb.target.log_prob(yv)
    assert lq.dtype == torch.float64 and lq.requires_grad
    grad = torch.autograd.grad(lq.sum(), yv)[0]
    h = 1e-5
    fd = torch.zeros_like(y)
    with torch.no_grad():
        for i in range(3):
            e = torch.zeros(3, dtype=torch.float64)
            e[i] = h
            fd[:, i] = (pb.target.log_prob(y + e) - pb.target.log_prob(y - e)) / (2 * h)
    assert torch.allclose(grad, fd, atol=1e-6, rtol=1e-5), (grad, fd)
    # the value with and without autograd agree
    with torch.no_grad():
        assert torch.allclose(pb.target.log_prob(y), lq.detach(), atol=1e-12)


def test_log_prob_is_the_change_of_variables(problems):
    pb = problems(4, "icnn")
    x = pb.source.sample(50, generator=torch.Generator().manual_seed(2)).double()
    y = pb.true_map(x)
    want = pb.source.to(dtype=torch.float64).log_prob(x) - torch.logdet(pb.teacher.hessian(x))
    assert torch.allclose(pb.target.log_prob(y), want, atol=1e-8)


def test_sample_and_moments(problems):
    pb = problems(8, "maxquad")
    g1, g2 = torch.Generator().manual_seed(4), torch.Generator().manual_seed(4)
    a, b = pb.target.sample(20_000, generator=g1), pb.target.sample(20_000, generator=g2)
    assert a.shape == (20_000, 8) and torch.equal(a, b)
    assert pb.target.dim == 8 and pb.dim == 8
    var = float(a.double().var(0).sum())
    assert abs(var - pb.target_var) < 0.05 * pb.target_var
    # target_var is not the source's: the teacher changes the scale
    assert abs(pb.target_var - 8.0) > 0.1


@pytest.mark.parametrize("teacher", TEACHERS)
@pytest.mark.parametrize("d", [2, 8])
def test_pairs_are_clearly_non_affine(problems, teacher, d):
    pb = problems(d, teacher)
    assert pb.affine_l2_uvp > 1.0  # several % (see benchmarks/results/teacher_pairs.md)
    assert pb.l2_uvp(pb.true_map) < 1e-8
    ident = pb.l2_uvp(lambda x: x)
    assert ident > pb.affine_l2_uvp
    # the affine map is the Bures map between the moments: it matches the target mean
    x = pb.source.sample(20_000, generator=torch.Generator().manual_seed(0))
    assert float((pb.affine_map(x).mean(0).double() - pb.target_mean).norm()) < 0.05 * pb.target_var ** 0.5


def test_l2_uvp_accepts_modules_and_callables(problems):
    pb = problems(2, "maxquad")
    model = gn.MGradNetM(2)
    v1 = pb.l2_uvp(model)
    v2 = pb.l2_uvp(lambda x: model(x))
    assert v1 == pytest.approx(v2, rel=1e-6)
    with pytest.raises(TypeError):
        pb.l2_uvp(3.0)


def test_bad_arguments():
    with pytest.raises(ValueError, match="teacher"):
        gn.teacher_problem(2, teacher="nope")
    with pytest.raises(ValueError, match="source"):
        gn.teacher_problem(2, source="uniform")
    with pytest.raises(TypeError):
        gn.teacher_problem(2.5)
    with pytest.raises(ValueError):
        gn.teacher_problem(3, teacher=gn.MaxQuadTeacher(2))
    with pytest.raises(ValueError):
        gn.MaxQuadTeacher(2, alpha=0.0)
    with pytest.raises(ValueError, match="y"):
        gn.teacher_problem(2).target.log_prob(torch.zeros(4, 3))


def test_fit_on_a_teacher_pair_lowers_l2_uvp():
    torch.manual_seed(0)
    pb = gn.teacher_problem(2, teacher="maxquad")
    model = gn.MGradNetM(2)
    before = pb.l2_uvp(model)
    res = gn.fit(model, pb.source, pb.target, steps=150, batch_size=256, seed=0, progress=False)
    after = pb.l2_uvp(model)
    assert math.isfinite(res.final_loss)
    assert after < 0.2 * before


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_target_on_cuda():
    pb = gn.teacher_problem(4, teacher="icnn")
    tgt = pb.target.to("cuda")
    y = tgt.sample(64, generator=torch.Generator(device="cuda").manual_seed(0))
    assert y.device.type == "cuda"
    lq_gpu = tgt.log_prob(y.clone().requires_grad_(True))
    lq_cpu = pb.target.log_prob(y.cpu())
    assert lq_gpu.device.type == "cuda"
    assert torch.allclose(lq_gpu.detach().cpu(), lq_cpu, atol=1e-3)
    lq_gpu.sum().backward()
