"""Chapter 9 (robot swarms): minimum distances and collision-free paths."""
from __future__ import annotations

import torch

from ._base import fail

__all__ = ["min_pairwise_distance", "check_min_pairwise_distance", "check_collision_free"]


def _as_points(x, name):
    x = torch.as_tensor(x, dtype=torch.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        fail(f"{name} must be an (n, d) array with n >= 2 points, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        fail(f"{name} contains NaN or infinite values")
    return x


def min_pairwise_distance(x):
    """Smallest distance between two different rows of ``x`` (reference answer)."""
    x = _as_points(x, "x")
    d = torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist")
    d.fill_diagonal_(float("inf"))
    return float(d.min())


def check_min_pairwise_distance(fn):
    """Check ``fn(x) -> float``, the smallest distance between two distinct robots."""
    g = torch.Generator().manual_seed(8)
    cases = [torch.rand(50, 2, generator=g), torch.randn(200, 3, generator=g),
             torch.tensor([[0.0, 0.0], [3.0, 4.0]])]
    dup = torch.rand(30, 2, generator=g)
    dup[7] = dup[3]
    cases.append(dup)
    for k, x in enumerate(cases):
        x = x.double()
        want = min_pairwise_distance(x)
        try:
            got = float(fn(x.clone()))
        except Exception as exc:  # noqa: BLE001 - report any student error
            fail(f"fn raised {type(exc).__name__}: {exc} on an input of shape {tuple(x.shape)}")
        if got == 0.0 and want > 0:
            fail("fn returned 0 for points that are all distinct: did you include the distance of each "
                 "point to itself (the diagonal of the distance matrix)? Mask it with +inf.")
        if abs(got - want) > 1e-6 + 1e-5 * want:
            hint = (" Two robots sit on the same spot here, so the answer is 0." if k == 3 else
                    " Use Euclidean distances (not squared), over pairs i != j.")
            fail(f"test {k}: expected {want:.6g}, got {got:.6g}.{hint}")
    return True


def check_collision_free(T, x, num_times=41, tol=1e-6):
    """Check that straight-line paths ``x_t = (1-t) x + t T(x)`` never bring two robots closer
    than ``(1-t)`` times their starting distance, the bound a monotone map guarantees.

    ``T`` is a callable map or an ``(n, d)`` array of end positions (an assignment).
    """
    x = _as_points(x, "x")
    if callable(T):
        with torch.no_grad():
            y = T(x.float())
    else:
        y = T
    y = _as_points(y, "T(x)")
    if y.shape != x.shape:
        fail(f"T(x) must have the same shape as x {tuple(x.shape)}, got {tuple(y.shape)}")
    d0 = torch.cdist(x, x)
    off = ~torch.eye(x.shape[0], dtype=torch.bool)
    if float(d0[off].min()) <= 0:
        fail("two robots start at the same position: the initial formation must have distinct points")
    for t in torch.linspace(0, 1, num_times)[1:-1].tolist():
        xt = (1 - t) * x + t * y
        dt = torch.cdist(xt, xt)
        ratio = (dt[off] / ((1 - t) * d0[off]))
        worst = int(torch.argmin(ratio))
        if float(ratio[worst]) < 1 - tol:
            i, j = [int(v) for v in off.nonzero()[worst]]
            fail(f"at t={t:.3f} robots {i} and {j} are {float(dt[i, j]):.4g} apart, less than "
                 f"(1-t)*{float(d0[i, j]):.4g} = {(1 - t) * float(d0[i, j]):.4g}: their paths come too "
                 "close, so this assignment is not monotone (⟨T(x_i) - T(x_j), x_i - x_j⟩ < 0 for this pair).")
    return True
