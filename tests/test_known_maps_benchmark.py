"""The known-map benchmark: its smoke config runs, its winners come from its numbers, its baselines are sound."""
import math
import sys
from pathlib import Path

import pytest
import torch
from torch.func import jacrev, vmap

import gradnetot as gn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks import known_maps as km  # noqa: E402
from benchmarks.sample_maps import EmdMap, EntropicMap, affine_map  # noqa: E402
from benchmarks.icnn_ot import W2GN  # noqa: E402
from benchmarks.paper_recipe import PaperMGradNetM  # noqa: E402

PAIR = "maxquad"  # a teacher pair: the non-affine case the benchmark is for


@pytest.fixture
def gauss2():
    src = gn.Gaussian(torch.tensor([1.0, -0.5]), torch.tensor([[2.0, 0.9], [0.9, 0.8]]))
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    return src, tgt, gn.gaussian_ot_map(src.mean, src.cov, tgt.mean, tgt.cov)


def test_winners_come_from_the_table():
    table = {"fit-C": {2: [1.0, 1.2], 4: [5.0, 5.2]},
             "entropic": {2: [2.0, 2.5], 4: [1.0, None]},      # a failed seed cannot win
             "affine": {2: [3.0, 3.0], 4: [4.0, 4.5]},
             "affine-exact": {2: [0.1, 0.1], 4: [0.1, 0.1]}}
    w = km.winners(table, [2, 4])
    assert w[2][0] == "affine-exact" and w[4][0] == "affine-exact"
    w = km.winners(table, [2, 4], ["fit-C", "entropic", "affine"])
    assert w[2] == ("fit-C", pytest.approx(1.1)) and w[4] == ("affine", pytest.approx(4.25))
    lines = km.winner_lines(table, [2, 4], list(table))
    assert lines[0].startswith("- d=2: **gn.fit mGradNet-C defaults** (1.1 %)")
    assert "wins" in lines[0] and "loses" in lines[1]          # vs the best sample-only method at d=4
    assert "affine (Bures) map, sample moments" in lines[1]
    # change a number and the winner changes with it
    table["fit-C"][4] = [0.5, 0.7]
    assert km.winners(table, [4], ["fit-C", "entropic", "affine"])[4][0] == "fit-C"
    assert km.cell([1.0, None]) == "1 ± 0 (1/2 failed)" and km.cell([None]) == "failed"


def test_fast_run_gives_a_consistent_table(tmp_path):
    out = tmp_path / "r.md"
    res, args, rep = km.run(["--fast", "--pair", PAIR, "--out", str(out), "--json", str(tmp_path / "r.json")])
    assert args.dims == [2] and args.seeds == 1
    for budget in ("steps", "time"):
        for k in args.keys:
            assert len(res[budget][k][2]) == 1
        for k in ("fit-C", "fit-M", "affine", "affine-exact", "entropic", "emd"):
            assert math.isfinite(res[budget][k][2][0]), (budget, k)
    for k in [k for k in args.keys if k not in km.NEURAL]:  # non-neural methods: fitted once, same number in both tables
        assert res["steps"][k][2] == res["time"][k][2]
    text = out.read_text()
    for budget in ("steps", "time"):
        best = km.winners(res[budget], [2], [k for k in args.keys if k != "affine-exact"])[2]
        assert f"- d=2: **{km.BY_KEY[best[0]].label}** ({best[1]:.3g} %)" in text
    assert "What each method is allowed to know" in text and "Equal wall-clock time" in text
    assert (tmp_path / "r.json").stat().st_size > 0


def test_entropic_map_beats_identity_on_a_gaussian_pair(gauss2):
    src, tgt, T = gauss2
    g = torch.Generator().manual_seed(0)
    em = EntropicMap(src.sample(1000, generator=g), tgt.sample(1000, generator=g))
    x = src.sample(4000, generator=g)
    uvp = gn.l2_uvp(em(x), T(x), 2.0)
    assert uvp < 0.1 * gn.l2_uvp(x, T(x), 2.0)
    assert uvp < 10.0
    assert em.eps > 0 and em.iterations > 0


def test_emd_and_affine_maps(gauss2):
    src, tgt, T = gauss2
    g = torch.Generator().manual_seed(1)
    xs, xt = src.sample(200, generator=g), tgt.sample(200, generator=g)
    em = EmdMap(xs, xt)
    # equal weights: the plan is a permutation, so the training points go onto the target sample
    assert torch.allclose(em(xs).sort(0)[0], xt.sort(0)[0], atol=1e-5)
    assert torch.equal(em(xs[:5] + 1e-4), em(xs[:5]))  # nearest-neighbour extension
    A = affine_map(src.sample(50_000, generator=g), tgt.sample(50_000, generator=g))
    x = src.sample(2000, generator=g)
    assert gn.l2_uvp(A(x), T(x), 2.0) < 0.5


def test_icnn_baseline_is_a_monotone_gradient(gauss2):
    src, tgt, _ = gauss2
    w = W2GN(2, src, tgt, batch_size=64, seed=0, steps=15, warm_samples=2000)
    w.run(15)
    f = w.model
    assert all(bool((W >= 0).all()) for W in f.Wz) and bool((f.w_out >= 0).all())
    x = src.sample(64, generator=torch.Generator().manual_seed(2)).requires_grad_(True)
    y = f(x)
    J = torch.stack([torch.autograd.grad(y[:, i].sum(), x, retain_graph=True)[0] for i in range(2)], 1)
    assert torch.allclose(J, J.transpose(1, 2), atol=1e-4)
    assert torch.linalg.eigvalsh(0.5 * (J + J.transpose(1, 2))).min() > -1e-5
    # the map is the gradient of the potential (central differences)
    h, xd = 1e-3, x.detach().double()
    f64 = f.double()
    fd = torch.stack([(f64.potential(xd + h * e) - f64.potential(xd - h * e)) / (2 * h)
                      for e in torch.eye(2, dtype=torch.float64)], 1)
    assert torch.allclose(f64(xd), fd, atol=1e-5)
    assert gn.monotonicity_gap(f.float(), src.sample(256)) >= 0


def test_two_sided_paper_module_is_a_monotone_gradient():
    torch.manual_seed(0)
    net = PaperMGradNetM(3, 4, 8, two_sided=True)
    J = vmap(jacrev(lambda xi: net(xi[None])[0]))(torch.randn(64, 3))
    assert torch.allclose(J, J.transpose(1, 2), atol=1e-5)
    assert torch.linalg.eigvalsh(0.5 * (J + J.transpose(1, 2))).min() > -1e-5
    # the softmin half is there: with the max-side weight at zero the map is still not constant
    with torch.no_grad():
        net.max_raw.fill_(-30.0)
    x = torch.randn(16, 3)
    assert (net(x) - net(x).mean(0)).abs().max() > 1e-3


def test_merge_joins_runs_that_split_the_dimensions(tmp_path):
    small = ["--seeds", "1", "--steps", "5", "--batch", "32", "--budgets", "steps",
             "--methods", "affine,affine-exact", "--pair", PAIR]
    r2, _, _ = km.run(["--dims", "2", *small, "--json", str(tmp_path / "a.json")])
    r3, _, _ = km.run(["--dims", "3", *small, "--json", str(tmp_path / "b.json")])
    out = tmp_path / "m.md"
    res, args, _ = km.run(["--merge", str(tmp_path / "a.json"), str(tmp_path / "b.json"), "--out", str(out)])
    assert args.dims == [2, 3]
    assert res["steps"]["affine"][2] == r2["steps"]["affine"][2]
    assert res["steps"]["affine"][3] == r3["steps"]["affine"][3]
    text = out.read_text()
    assert "| method | d=2 | d=3 |" in text and "--dims 3 --seeds 1" in text
    # runs that differ in anything but their dimensions are refused
    km.run(["--dims", "4", *small[:-2], "--pair", "icnn", "--json", str(tmp_path / "c.json")])
    with pytest.raises(SystemExit):
        km.run(["--merge", str(tmp_path / "a.json"), str(tmp_path / "c.json")])
    with pytest.raises(SystemExit):  # the same dimension twice
        km.run(["--merge", str(tmp_path / "a.json"), str(tmp_path / "a.json")])
