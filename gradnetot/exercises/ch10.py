"""Chapter 10 (claims tested): a Bures map from samples, and blocking pairs in a matching market."""
from __future__ import annotations

import torch

from ._base import fail

__all__ = ["blocking_pairs", "check_blocking_pairs", "check_bures_map"]


def blocking_pairs(x, y, tol=1e-9):
    """Number of pairs ``i < j`` that would rather swap partners under the surplus ``⟨x, y⟩``:
    ``⟨x_i, y_j⟩ + ⟨x_j, y_i⟩ > ⟨x_i, y_i⟩ + ⟨x_j, y_j⟩``, i.e. ``⟨x_i − x_j, y_i − y_j⟩ < 0``."""
    x = torch.as_tensor(x, dtype=torch.float64)
    y = torch.as_tensor(y, dtype=torch.float64)
    if x.ndim != 2 or x.shape != y.shape:
        raise ValueError(f"x and y must be (n, d) arrays of the same shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    gain = -((x[:, None] - x[None]) * (y[:, None] - y[None])).sum(-1)
    scale = tol * (1.0 + (x * x).sum(1)[:, None] + (y * y).sum(1)[None])
    return int(torch.triu(gain > scale, diagonal=1).sum())


def check_blocking_pairs(fn):
    """Check ``fn(x, y) -> int``: the number of blocking pairs when worker ``x[i]`` works at firm ``y[i]``."""
    g = torch.Generator().manual_seed(9)
    x = torch.randn(60, 2, generator=g)
    cases = [(x, x.clone(), "the identity matching"),
             (x, 2 * x + 1, "a monotone matching"),
             (x, x[torch.randperm(60, generator=g)], "a random matching"),
             (x, -x, "the reversed matching")]
    for x_, y_, what in cases:
        want = blocking_pairs(x_, y_)
        try:
            got = int(fn(x_.clone(), y_.clone()))
        except Exception as exc:  # noqa: BLE001
            fail(f"fn raised {type(exc).__name__}: {exc} on {what}")
        if got != want:
            hint = ""
            if want == 0:
                hint = " A monotone matching has no blocking pair."
            elif got == 2 * want:
                hint = " You counted each pair twice: count i < j only."
            elif got == want + x_.shape[0] or got == 2 * want + x_.shape[0]:
                hint = " Do not count a worker paired with itself (i = j)."
            fail(f"on {what}: expected {want} blocking pairs, got {got}.{hint} A pair blocks when "
                 "<x_i, y_j> + <x_j, y_i> > <x_i, y_i> + <x_j, y_j>.")
    return True


def check_bures_map(fn, dim=3, n=4000, seed=0):
    """Check ``fn(xs, xt) -> callable T``, the Gaussian (Bures) OT map fitted from sample moments."""
    from ..problems import GaussianProblem, wishart_gaussian_problem
    from ..metrics import l2_uvp

    # two non-trivial covariances, so a non-symmetric "square-root" map is caught
    a, b = wishart_gaussian_problem(dim, seed=seed), wishart_gaussian_problem(dim, seed=seed + 1)
    prob = GaussianProblem(a.source, b.source)
    g = torch.Generator().manual_seed(seed + 1)
    xs, xt = prob.source.sample(n, generator=g), prob.target.sample(n, generator=g)
    try:
        T = fn(xs.clone(), xt.clone())
    except Exception as exc:  # noqa: BLE001
        fail(f"fn raised {type(exc).__name__}: {exc}")
    if not callable(T):
        fail(f"fn must return a callable map T, got {type(T).__name__}")
    x = prob.source.sample(2000, generator=g)
    with torch.no_grad():
        y = torch.as_tensor(T(x), dtype=torch.float32)
    if tuple(y.shape) != tuple(x.shape):
        fail(f"T(x) must have shape {tuple(x.shape)}, got {tuple(y.shape)}")
    # recover the affine map's matrix by finite differences and test its symmetry
    base = torch.zeros(1, dim) + x.mean(0)
    with torch.no_grad():
        cols = [torch.as_tensor(T(base + torch.eye(dim)[k:k + 1]), dtype=torch.float32)
                - torch.as_tensor(T(base), dtype=torch.float32) for k in range(dim)]
    A = torch.cat(cols).double()
    if float((A - A.T).norm() / A.norm()) > 1e-3:
        fail("the map's matrix is not symmetric, so it is not the gradient of a convex function. "
             "Σt^{1/2} Σs^{-1/2} pushes N(ms, Σs) to N(mt, Σt) too, but the OT map uses "
             "A = Σs^{-1/2} (Σs^{1/2} Σt Σs^{1/2})^{1/2} Σs^{-1/2}.")
    if float(torch.linalg.eigvalsh(0.5 * (A + A.T)).min()) <= 0:
        fail("the map's matrix has a non-positive eigenvalue: an OT map between Gaussians uses a "
             "positive-definite A (take the positive square roots).")
    uvp = l2_uvp(y, prob.true_map(x), prob.target_var)
    if uvp > 2.0:
        fail(f"L2-UVP against the closed form is {uvp:.3g}% (should be below 2% with {n} samples). "
             "Check the means: T(x) = mt + A (x - ms), with the sample means and covariances.")
    return True
