"""The benchmark baselines must be what they claim: same objective, monotone nets, right densities."""
import math
import sys
from pathlib import Path

import pytest
import torch
from torch.func import jacrev, vmap

import gradnetot as gn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.paper_recipe import (FullCovMixture, PaperCodeLoop, PaperCodeMGradNetM, PaperMGradNetC,  # noqa: E402
                                     PaperMGradNetM, recipe_loss, to_distribution)


@pytest.fixture
def pair():
    src = gn.Gaussian(torch.tensor([1.0, -0.5]), torch.tensor([[2.0, 0.9], [0.9, 0.8]]))
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    return src, tgt


@pytest.mark.parametrize("make", [lambda: PaperMGradNetM(2, 4, 8), lambda: PaperMGradNetC(2, 8, 3),
                                  lambda: PaperCodeMGradNetM(2, 3, 8)])
def test_baseline_nets_are_monotone_gradients(make):
    torch.manual_seed(0)
    net = make()
    J = vmap(jacrev(lambda xi: net(xi[None])[0]))(torch.randn(64, 2))
    assert torch.allclose(J, J.transpose(1, 2), atol=1e-5)
    assert torch.linalg.eigvalsh(0.5 * (J + J.transpose(1, 2))).min() > -1e-5


def test_recipe_loss_is_the_same_objective_as_gn(pair):
    src, tgt = pair
    torch.manual_seed(0)
    net = PaperMGradNetM(2, 4, 8)
    x = src.sample(256)
    ours = gn.monge_ampere_loss(net, x, src, tgt)
    theirs = recipe_loss(net, x, to_distribution(src), to_distribution(tgt))
    assert torch.allclose(ours, theirs, rtol=1e-4, atol=1e-5)


def test_full_cov_mixture_matches_isotropic_mixture():
    g = torch.Generator().manual_seed(0)
    w, mu = torch.rand(20, generator=g), torch.rand(20, 2, generator=g)
    var = 4e-3
    ours = gn.GaussianMixture(w, mu, math.sqrt(var))  # bandwidth is a standard deviation here
    theirs = FullCovMixture(w, mu, var)              # the public code's "bandwidth" is a variance
    x = torch.rand(100, 2, generator=g)
    assert torch.allclose(ours.log_prob(x), theirs.log_prob(x), atol=1e-4)
    torch.manual_seed(0)
    s = theirs.sample((20_000,))
    assert s.shape == (20_000, 2)
    assert torch.allclose(s.mean(0), (w[:, None] * mu).sum(0) / w.sum(), atol=0.01)


def test_paper_code_loop_takes_finite_steps_and_anneals():
    g = torch.Generator().manual_seed(1)
    mk = lambda: gn.GaussianMixture(torch.rand(30, generator=g), torch.rand(30, 2, generator=g), 0.05)  # noqa: E731
    torch.manual_seed(0)
    loop = PaperCodeLoop(PaperCodeMGradNetM(2, 2, 8), mk(), mk(), batch_size=64, steps_total=4)
    first = loop._densities()[0].comp.covariance_matrix[0, 0, 0].item()
    losses = [loop.step() for _ in range(4)]
    last = loop._densities()[0].comp.covariance_matrix[0, 0, 0].item()
    assert all(math.isfinite(v) for v in losses)
    assert first == pytest.approx(1e-2) and last == pytest.approx(1e-4)


def test_train_step_interleaving_times_all_paths():
    from benchmarks.train_step import CONFIGS, interleaved

    cfg = dict(CONFIGS["gauss"], K=2, m=8)
    f, r, peak, res = interleaved(cfg, 64, "cpu", reps=2, block=2, paper_code=True)
    for t in (f, r, res.paper_code_med):
        assert 0 < t < 10
    assert peak is None  # CPU: no CUDA peak memory


def test_dimension_sweep_times_both_logdet_paths(capsys):
    from benchmarks._report import Report
    from benchmarks.train_step import SWEEP_PATHS, dimension_sweep, mem_probe

    out = Report()
    lines = out.lines
    res = dimension_sweep(out, "cpu", dims=(4, 80), nets=("C",), batch=16, reps=1, block=1,
                          fit_steps=2, memory=False)
    for d in (4, 80):
        t = res["C", d]["t"]
        assert set(t) == set(SWEEP_PATHS) and all(0 < t[p][0] < 10 and t[p][1] >= 1 for p in SWEEP_PATHS)
    assert res["C", 4]["auto"] == "full" and res["C", 80]["auto"] == "low-rank"  # r = 64
    assert any(line.startswith("| mGradNet-C (embed 64) | 80 | 64 | low-rank |") for line in lines)
    assert any("gn.fit at d = 80" in line for line in lines)
    capsys.readouterr()
    mem_probe("C:4:low_rank:16")
    assert float(capsys.readouterr().out.strip()) >= 0
