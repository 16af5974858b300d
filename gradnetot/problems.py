"""Benchmark problems with known OT maps."""
from __future__ import annotations

import numpy as np
import torch

from . import _checks
from .densities import Gaussian
from .reference import gaussian_ot_map

__all__ = ["GaussianProblem", "wishart_gaussian_problem"]


class GaussianProblem:
    """Source, target and the closed-form map between two Gaussians."""

    def __init__(self, source, target):
        self.source, self.target = source, target
        self.dim = source.dim
        self.true_map = gaussian_ot_map(source.mean, source.cov, target.mean, target.cov)
        self.target_var = float(torch.diagonal(target.cov).sum())

    def l2_uvp(self, model, n=10_000, seed=1):
        """L2-UVP (%) of ``model`` against the closed-form map on fresh source samples."""
        from .metrics import l2_uvp
        g = torch.Generator().manual_seed(seed)
        x = self.source.to("cpu").sample(n, generator=g)
        dev = next(model.parameters()).device
        with torch.no_grad():
            pred = torch.cat([model(c.to(dev)).cpu() for c in x.split(4096)])
        return l2_uvp(pred, self.true_map(x), self.target_var)


def wishart_gaussian_problem(dim, seed=0):
    """The paper's high-dimensional problem: source ``N(μ, Σ)`` with ``μ ~ randn(d)``
    and ``Σ ~ Wishart(d+1, I)``; target ``N(0, I)``; map ``Σ^{-1/2}(x − μ)``."""
    from scipy.stats import wishart

    dim = _checks.positive_int(dim, "dim")
    rng = np.random.default_rng(seed)
    mu = rng.standard_normal(dim)
    cov = np.atleast_2d(wishart(df=dim + 1, scale=np.eye(dim)).rvs(random_state=rng))
    cov = 0.5 * (cov + cov.T)
    src = Gaussian(torch.tensor(mu, dtype=torch.float32), torch.tensor(cov, dtype=torch.float32))
    tgt = Gaussian(torch.zeros(dim), torch.eye(dim))
    return GaussianProblem(src, tgt)
