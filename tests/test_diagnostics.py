"""gn.pushforward_check: a check that depends on training (unlike monotonicity or blocking pairs)."""
import pytest
import torch

import gradnetot as gn


def test_exact_map_passes_and_a_wrong_map_fails():
    src = gn.Gaussian(torch.zeros(2), torch.eye(2))
    tgt = gn.Gaussian(torch.tensor([1.0, -1.0]), 0.25 * torch.eye(2))
    g = torch.Generator().manual_seed(0)
    x = src.sample(600, generator=g)
    good = gn.pushforward_check(0.5 * x + torch.tensor([1.0, -1.0]), tgt, generator=g)
    bad = gn.pushforward_check(x, tgt, generator=g)              # the identity: an untrained map
    assert good.passes and not bad.passes
    assert bad.statistic > 10 * bad.threshold
    assert good.floor_std > 0 and good.threshold == pytest.approx(good.floor + 3 * good.floor_std)
    assert "indistinguishable" in str(good) and "distinguishable from" in str(bad)


def test_monotone_but_untrained_network_fails():
    # an untrained mGradNet is monotone (so it passes the structural checks) but does not push forward
    gn.set_seed(0)
    net = gn.MGradNetC(2, embed_dim=8)
    tgt = gn.Gaussian(torch.tensor([3.0, 0.0]), 0.1 * torch.eye(2))
    x = torch.randn(500, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y = net(x)
    assert gn.monotonicity_gap(net, x) >= 0
    assert not gn.pushforward_check(y, tgt, generator=torch.Generator().manual_seed(2)).passes


def test_bad_input():
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    with pytest.raises(ValueError):
        gn.pushforward_check(torch.zeros(1, 2), tgt)
    with pytest.raises(TypeError):
        gn.pushforward_check(torch.zeros(5, 2), object())
    with pytest.raises(ValueError):
        gn.pushforward_check(torch.zeros(5, 2), tgt, repeats=1)
