"""Benchmark problems with known OT maps."""
from __future__ import annotations

import numpy as np
import torch

from . import _checks
from .densities import Gaussian, GaussianMixture
from .reference import gaussian_ot_map
from .teachers import ICNNTeacher, MaxQuadTeacher, PushforwardDensity, QuadSoftplusTeacher, Teacher

__all__ = ["GaussianProblem", "wishart_gaussian_problem", "TeacherProblem", "teacher_problem"]


def _predict(model, x):
    """Apply a model (an ``nn.Module``, on its own device) or a plain callable to CPU points, in chunks."""
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    dev = params[0].device if params else torch.device("cpu")
    dtype = params[0].dtype if params and params[0].is_floating_point() else x.dtype  # a float64 model gets float64 points
    with torch.no_grad():
        return torch.cat([torch.as_tensor(model(c.to(dev, dtype))).detach().cpu().to(x.dtype) for c in x.split(4096)])


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
        return l2_uvp(_predict(model, x), self.true_map(x), self.target_var)


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


# ---------------------------------------------------------------------------
# Teacher-potential pairs: non-affine maps known in closed form, any dimension
# ---------------------------------------------------------------------------

def _source_moments(source):
    """Closed-form mean and covariance (float64) of a gn.Gaussian / gn.GaussianMixture, else None."""
    if isinstance(source, GaussianMixture):
        w, mu = source.weights.double().cpu(), source.means.double().cpu()
        m = w @ mu
        cov = (mu * w[:, None]).T @ mu - torch.outer(m, m)
        return m, cov + source.bandwidth ** 2 * torch.eye(source.dim, dtype=torch.float64)
    if isinstance(source, Gaussian):
        return source.mean.double().cpu(), source.cov.double().cpu()
    return None


def _moments(sample_chunk, n, chunk, d):
    """Mean and covariance (float64) from ``n`` points drawn ``chunk`` at a time."""
    s1 = torch.zeros(d, dtype=torch.float64)
    s2 = torch.zeros(d, d, dtype=torch.float64)
    done = 0
    while done < n:
        k = min(chunk, n - done)
        x = sample_chunk(k).double().cpu()
        s1 += x.sum(0)
        s2 += x.T @ x
        done += k
    m = s1 / n
    return m, (s2 - n * torch.outer(m, m)) / (n - 1)


class TeacherProblem:
    """A source density and the target ``∇φ # source`` for a strongly convex teacher ``φ``.

    The Brenier map is ``true_map = ∇φ`` exactly, in any dimension. Attributes:

    - ``source``: the source density (closed-form ``log_prob``);
    - ``target``: a :class:`~gradnetot.teachers.PushforwardDensity` (``sample``, and
      ``log_prob`` through a batched Newton inverse; works inside :func:`gn.fit`);
    - ``true_map``, ``teacher`` (``potential``, ``grad``, ``hessian``), ``dim``;
    - ``target_var``: trace of the target covariance, from ``n_moments`` fixed-seed samples;
    - ``affine_map``: the Bures (Gaussian) map between the source's and the target's
      first two moments (source moments in closed form where known), the best affine
      baseline, and ``affine_l2_uvp``: its L2-UVP (%) on the held-out points of
      :meth:`l2_uvp` (``n=10_000, seed=1``), i.e. how far from affine the pair is.
    """

    def __init__(self, source, teacher, *, n_moments=200_000, moment_seed=1234, max_iter=30):
        if not isinstance(teacher, Teacher):
            raise TypeError(f"teacher must be a gradnetot Teacher, got {type(teacher).__name__}")
        if not (hasattr(source, "sample") and hasattr(source, "log_prob")):
            raise TypeError(f"source must be a density with sample() and log_prob(), got {type(source).__name__}")
        if getattr(source, "dim", None) != teacher.dim:
            raise ValueError(f"source has dimension {getattr(source, 'dim', None)} but the teacher has "
                             f"dimension {teacher.dim}")
        n_moments = _checks.positive_int(n_moments, "n_moments", minimum=2 * teacher.dim + 2)
        self.source, self.teacher, self.dim = source, teacher, teacher.dim
        self.true_map = teacher.grad
        d, src64 = self.dim, (source.to(dtype=torch.float64) if hasattr(source, "to") else source)
        g = torch.Generator().manual_seed(moment_seed)
        mt, ct = _moments(lambda k: teacher.grad(src64.sample(k, generator=g).double()), n_moments, 20_000, d)
        ms_cs = _source_moments(source)
        if ms_cs is None:
            ms_cs = _moments(lambda k: src64.sample(k, generator=g), n_moments, 20_000, d)
        ms, cs = ms_cs
        self.target_var = float(torch.diagonal(ct).sum())
        self.target_mean, self.target_cov = mt, ct
        self.affine_map = gaussian_ot_map(ms.float(), cs.float(), mt.float(), ct.float())
        A = self.affine_map.A.double()
        A_inv = torch.linalg.inv(0.5 * (A + A.T))
        self.target = PushforwardDensity(source, teacher, max_iter=max_iter,
                                         start=(0.5 * (A_inv + A_inv.T), self.affine_map.b.double(), A))
        self.affine_l2_uvp = self.l2_uvp(self.affine_map)

    def l2_uvp(self, model, n=10_000, seed=1):
        """L2-UVP (%) of ``model`` (an ``nn.Module`` on any device, or a callable) against ``∇φ``
        on ``n`` fresh source samples drawn with ``seed`` (the same points for every model)."""
        from .metrics import l2_uvp
        if not callable(model):
            raise TypeError(f"model must be an nn.Module or a callable, got {type(model).__name__}")
        n = _checks.positive_int(n, "n")
        g = torch.Generator().manual_seed(seed)
        src = self.source.to("cpu") if hasattr(self.source, "to") else self.source
        x = src.sample(n, generator=g)
        return l2_uvp(_predict(model, x), self.true_map(x.double()).float(), self.target_var)

    def __repr__(self):
        return (f"TeacherProblem(dim={self.dim}, teacher={self.teacher!r}, "
                f"affine_l2_uvp={self.affine_l2_uvp:.3g})")


_TEACHERS = {"maxquad": MaxQuadTeacher, "quadsoftplus": QuadSoftplusTeacher, "icnn": ICNNTeacher}
_SOURCES = ("gaussian", "mixture")


def _make_source(kind, dim, seed):
    if kind == "gaussian":
        return Gaussian(torch.zeros(dim), torch.eye(dim))
    g = torch.Generator().manual_seed(10_000 + seed)
    k = 3
    u = torch.randn(k, dim, generator=g)
    means = 2.0 * u / u.norm(dim=1, keepdim=True)
    return GaussianMixture(torch.ones(k) / k, means, 1.0)


def teacher_problem(dim, teacher="maxquad", source="gaussian", seed=0, **kwargs):
    """A pair with a known, non-affine Brenier map in dimension ``dim``.

    ``teacher``:

    - ``"maxquad"`` (default): a smooth maximum of 8 strongly convex quadratics
      (:class:`~gradnetot.teachers.MaxQuadTeacher`); not in the mGradNet function class;
    - ``"icnn"``: a randomly initialised two-layer ICNN potential, as in the W2 benchmark
      of Korotin et al. (2021) (:class:`~gradnetot.teachers.ICNNTeacher`); not an mGradNet;
    - ``"quadsoftplus"``: a quadratic plus ridge softplus bumps
      (:class:`~gradnetot.teachers.QuadSoftplusTeacher`); an mGradNet-C can represent it.

    Every teacher is strongly convex: ``φ = α|x|²/2 + convex``, ``α = 0.5`` by default.
    ``source``: ``"gaussian"`` = ``N(0, I)``; ``"mixture"`` = 3 equal-weight components
    ``N(μ_k, I)`` with ``|μ_k| = 2`` in random directions (a ``gn.GaussianMixture``).
    ``seed`` draws the teacher (and the mixture's means); ``kwargs`` go to the teacher's
    class (e.g. ``scale``, ``alpha``). A ``Teacher`` instance may be passed as ``teacher``
    and a density as ``source``.

    How far from affine the default pairs are (affine-map L2-UVP, %, seed 0, measured by
    ``benchmarks/teacher_pairs_table.py``; see ``benchmarks/results/teacher_pairs.md``):

    ============  ========  =====  =====  =====  =====  =====  =====
    teacher       source    d=2    d=4    d=8    d=16   d=32   d=64
    ============  ========  =====  =====  =====  =====  =====  =====
    maxquad       gaussian  5.98   7.35   5.26   8.00   10.08  7.04
    maxquad       mixture   3.41   7.59   7.21   8.15   10.24  7.77
    icnn          gaussian  7.26   5.68   4.96   5.17   5.12   4.57
    icnn          mixture   9.61   6.72   5.73   5.30   5.52   4.75
    quadsoftplus  gaussian  9.15   6.73   6.13   5.57   5.31   5.05
    quadsoftplus  mixture   9.94   7.89   6.69   6.12   5.80   5.20
    ============  ========  =====  =====  =====  =====  =====  =====

    Other seeds draw other teachers; their distance from affine varies (for maxquad,
    seed 1 gave 1.7-10 % over the same dimensions). ``problem.affine_l2_uvp`` is the
    number for the pair at hand.
    """
    dim = _checks.positive_int(dim, "dim")
    if isinstance(teacher, Teacher):
        if kwargs:
            raise TypeError("keyword arguments are for a teacher given by name, not a Teacher instance")
        tch = teacher
    elif isinstance(teacher, str) and teacher in _TEACHERS:
        tch = _TEACHERS[teacher](dim, seed=seed, **kwargs)
    else:
        raise ValueError(f"teacher must be one of {sorted(_TEACHERS)} or a Teacher, got {teacher!r}")
    if tch.dim != dim:
        raise ValueError(f"the teacher has dimension {tch.dim} but dim={dim}")
    if isinstance(source, str):
        if source not in _SOURCES:
            raise ValueError(f"source must be one of {_SOURCES} or a density, got {source!r}")
        src = _make_source(source, dim, seed)
    else:
        src = source
    return TeacherProblem(src, tch)
