"""Non-neural baselines for the known-map benchmark, from samples only.

* :func:`affine_map` -- the Bures map between the samples' first two moments
  (the Brenier map if both laws were Gaussian);
* :class:`EntropicMap` -- the entropic map estimator of Pooladian & Niles-Weed (2021),
  from POT's log-domain Sinkhorn potentials;
* :class:`EmdMap` -- the exact discrete OT (``ot.emd``) barycentric map, extended out of
  sample by nearest neighbour.

Each is fitted on ``n`` source samples and ``n`` target samples and is then a
callable ``T(x)`` on any new ``(m, d)`` batch, so every method is scored on the same
held-out points. The neural sample-only baseline (ICNN potentials) is in
``benchmarks/icnn_ot.py``; the paper's architectures are in ``benchmarks/paper_recipe.py``.
"""
from __future__ import annotations

import math

import torch

import gradnetot as gn

__all__ = ["affine_map", "EntropicMap", "EmdMap", "entropic_epsilon", "EPS_SCALE"]

# The stated rule for the entropic regularisation: epsilon = EPS_SCALE x the mean entry of
# the squared-Euclidean cost matrix between the two samples (the default of OTT-JAX's point
# clouds). It scales with the data (the mean cost is about 2 x the total variance), so the
# same rule is used at every d; nothing is tuned on the true map.
EPS_SCALE = 0.05


def _as64(x):
    return torch.as_tensor(x).detach().to("cpu", torch.float64)


def affine_map(xs, xt):
    """``T(x) = m_t + A (x - m_s)`` with ``A`` the Bures (Gaussian OT) matrix of the sample covariances."""
    xs, xt = _as64(xs), _as64(xt)
    d = xs.shape[1]
    eye = torch.eye(d, dtype=torch.float64)
    cs = torch.cov(xs.T).reshape(d, d) + 1e-10 * eye
    ct = torch.cov(xt.T).reshape(d, d) + 1e-10 * eye
    A = gn.gaussian_ot_matrix(cs, ct)
    ms, mt = xs.mean(0), xt.mean(0)

    def T(x):
        x = _as64(x)
        return ((x - ms) @ A + mt).float()

    T.A, T.b = A, mt - ms @ A
    return T


def entropic_epsilon(xs, xt, scale=EPS_SCALE):
    """``scale`` x the mean squared distance between the two samples (the stated rule)."""
    xs, xt = _as64(xs), _as64(xt)
    # E|x - y|^2 over independent pairs, without forming the n x n matrix
    mean_cost = (xs.pow(2).sum(1).mean() + xt.pow(2).sum(1).mean() - 2 * xs.mean(0) @ xt.mean(0))
    return float(scale * mean_cost)


class EntropicMap:
    """Entropic OT map (Pooladian & Niles-Weed 2021) from log-domain Sinkhorn.

    Solves the entropic OT problem between the two uniform empirical measures with
    cost ``|x - y|^2`` and regularisation ``eps`` by ``ot.sinkhorn(..., method="sinkhorn_log")``.
    With the target-side log-scaling ``log v`` (``= g / eps`` up to the uniform weights), the
    map at any point ``x`` is the conditional mean of the entropic plan extended out of sample:

        ``T(x) = sum_j w_j(x) y_j``,  ``w(x) = softmax_j(log v_j - |x - y_j|^2 / eps)``.

    At the training points this is the barycentric projection of the Sinkhorn plan.
    """

    def __init__(self, xs, xt, eps=None, eps_scale=EPS_SCALE, max_iter=2000):
        import ot

        xs, xt = _as64(xs), _as64(xt)
        if xs.ndim != 2 or xt.ndim != 2 or xs.shape[1] != xt.shape[1]:
            raise ValueError(f"xs and xt must be (n, d) and (m, d), got {tuple(xs.shape)} and {tuple(xt.shape)}")
        self.eps = float(eps) if eps is not None else entropic_epsilon(xs, xt, eps_scale)
        if not self.eps > 0:
            raise ValueError(f"eps must be positive, got {self.eps}")
        n, m = xs.shape[0], xt.shape[0]
        a = torch.full((n,), 1.0 / n, dtype=torch.float64)
        b = torch.full((m,), 1.0 / m, dtype=torch.float64)
        M = torch.cdist(xs, xt).pow(2)
        # stop when the target marginal is off by about 1e-3 relative per entry (err is an l2 norm)
        _, log = ot.sinkhorn(a, b, M, self.eps, method="sinkhorn_log", numItermax=max_iter,
                             stopThr=1e-3 / math.sqrt(m), log=True, warn=False)
        self.log_v, self.y, self.iterations = log["log_v"], xt, int(log["niter"])

    def weights_logits(self, x):
        x = _as64(x)
        return self.log_v - torch.cdist(x, self.y).pow(2) / self.eps

    def __call__(self, x, chunk=2048):
        out = [torch.softmax(self.weights_logits(c), dim=1) @ self.y for c in _as64(x).split(chunk)]
        return torch.cat(out).float()


class EmdMap:
    """Exact discrete OT (``ot.emd``) barycentric map, extended out of sample by nearest neighbour.

    With ``n`` source and ``n`` target samples of equal weight, the ``emd`` plan is a
    permutation, so the barycentric map sends ``x_i`` to its matched ``y_sigma(i)``. A new
    point ``x`` goes where its nearest training source point goes:
    ``T(x) = T(x_{nn(x)})`` (piecewise constant on the Voronoi cells of the source sample).
    """

    def __init__(self, xs, xt):
        import ot

        xs, xt = _as64(xs), _as64(xt)
        n, m = xs.shape[0], xt.shape[0]
        a = torch.full((n,), 1.0 / n, dtype=torch.float64)
        b = torch.full((m,), 1.0 / m, dtype=torch.float64)
        plan = ot.emd(a, b, torch.cdist(xs, xt).pow(2), numItermax=10_000_000)
        self.x, self.tx = xs, (plan @ xt) / plan.sum(1, keepdim=True)

    def __call__(self, x, chunk=2048):
        out = [self.tx[torch.cdist(c, self.x).argmin(1)] for c in _as64(x).split(chunk)]
        return torch.cat(out).float()
