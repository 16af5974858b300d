"""Auto-checks for chapter 2 (optimal transport, from Monge to Kantorovich)."""
from __future__ import annotations

import numpy as np
import torch

from ._base import fail

__all__ = ["check_transport_plan", "check_sorting_assignment", "check_gaussian_ot_matrix"]


def _to_numpy(x, name):
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{name} must be an array of numbers, got {type(x).__name__}.")
    return arr


def check_transport_plan(P, a, b, atol=1e-6):
    """Check that ``P`` is a transport plan between the weight vectors ``a`` and ``b``.

    A plan is an ``(n, m)`` matrix with nonnegative entries whose row sums are
    ``a`` (the source marginal) and whose column sums are ``b`` (the target
    marginal). On failure the message says which condition fails: the shape,
    a negative entry, or which marginal is off, at which index and by how much.
    """
    P = _to_numpy(P, "P")
    a = _to_numpy(a, "a").reshape(-1)
    b = _to_numpy(b, "b").reshape(-1)
    n, m = a.size, b.size
    if P.ndim != 2:
        fail(f"P must be a 2-D matrix, got an array with shape {P.shape}.")
    if P.shape != (n, m):
        hint = " It looks transposed: rows index source points, columns target points." \
            if P.shape == (m, n) else ""
        fail(f"P has shape {P.shape}, but a has {n} entries and b has {m}, so P must be ({n}, {m}).{hint}")
    if not np.isfinite(P).all():
        fail("P contains NaN or infinite values (in Sinkhorn this usually means exp(-C/reg) underflowed: "
             "try a larger reg or work in the log domain).")
    if abs(a.sum() - b.sum()) > atol:
        fail(f"a sums to {a.sum():.6g} but b sums to {b.sum():.6g}: no plan exists between measures "
             "of different total mass. Normalise both.")
    if P.min() < -atol:
        i, j = np.unravel_index(np.argmin(P), P.shape)
        fail(f"P[{i}, {j}] = {P[i, j]:.3g} is negative; a plan moves nonnegative amounts of mass.")
    rows, cols = P.sum(1), P.sum(0)
    row_err, col_err = np.abs(rows - a), np.abs(cols - b)
    problems = []
    if row_err.max() > atol:
        i = int(np.argmax(row_err))
        problems.append(f"source marginal (row sums) is off: row {i} sums to {rows[i]:.6g} but a[{i}] = "
                        f"{a[i]:.6g} (max error {row_err.max():.2e} over {int((row_err > atol).sum())} rows)")
    if col_err.max() > atol:
        j = int(np.argmax(col_err))
        problems.append(f"target marginal (column sums) is off: column {j} sums to {cols[j]:.6g} but "
                        f"b[{j}] = {b[j]:.6g} (max error {col_err.max():.2e} over "
                        f"{int((col_err > atol).sum())} columns)")
    if problems:
        msg = "; ".join(problems) + "."
        if len(problems) == 1 and "row" in problems[0]:
            msg += " If this came from Sinkhorn, the last update fixed the columns: run more iterations."
        elif len(problems) == 1:
            msg += " If this came from Sinkhorn, the last update fixed the rows: run more iterations."
        fail(msg)
    return True


def check_sorting_assignment(perm, x, y):
    """Check that ``perm`` solves 1-D OT between equal-size samples ``x`` and ``y``.

    ``perm[i]`` is the index of the target point that ``x[i]`` is sent to. The
    optimal assignment for the squared cost pairs the k-th smallest ``x`` with
    the k-th smallest ``y``.
    """
    x = _to_numpy(x, "x").reshape(-1)
    y = _to_numpy(y, "y").reshape(-1)
    perm = _to_numpy(perm, "perm").reshape(-1)
    if x.size != y.size:
        fail(f"x has {x.size} points and y has {y.size}; this exercise uses samples of equal size.")
    if perm.size != x.size:
        fail(f"perm has {perm.size} entries but there are {x.size} source points: give one target index per x[i].")
    if not np.all(perm == np.round(perm)):
        fail("perm must contain integer indices into y.")
    perm = perm.astype(np.int64)
    if perm.min() < 0 or perm.max() >= y.size:
        fail(f"perm has an index outside 0..{y.size - 1}.")
    if np.unique(perm).size != perm.size:
        fail("perm repeats a target index, so some y[j] receives two points and another none: "
             "an assignment must be a permutation.")
    cost = np.mean((x - y[perm]) ** 2)
    best = np.mean((np.sort(x) - np.sort(y)) ** 2)
    if cost > best * (1 + 1e-9) + 1e-12:
        order = np.argsort(x)
        if np.allclose(y[perm], np.sort(y)):
            fail("y[perm] is sorted, but x is not: you sent x[i] to the i-th smallest y. "
                 "Send the i-th smallest x (index argsort(x)[i]) to the i-th smallest y instead.")
        if np.all(np.diff(y[perm][order]) <= 0):
            fail("your matching is decreasing (smallest x to largest y): that is the worst assignment, "
                 "not the best. The optimal one is increasing.")
        fail(f"perm is a valid permutation but not optimal: mean squared cost {cost:.4g} vs the optimum "
             f"{best:.4g}. Hint: y[perm] should increase along argsort(x).")
    return True


def check_gaussian_ot_matrix(A, cov_s, cov_t, rtol=1e-4):
    """Check that ``A`` is the matrix of the OT map ``x -> A x`` from ``N(0, cov_s)`` to ``N(0, cov_t)``.

    The OT matrix is the unique symmetric positive-definite ``A`` with
    ``A cov_s A = cov_t``. The message says which property fails.
    """
    A = _to_numpy(A, "A")
    Ss = _to_numpy(cov_s, "cov_s")
    St = _to_numpy(cov_t, "cov_t")
    d = Ss.shape[0]
    if A.shape != (d, d):
        fail(f"A must have shape ({d}, {d}), got {A.shape}.")
    if not np.isfinite(A).all():
        fail("A contains NaN or infinite values.")
    scale = max(np.abs(A).max(), 1e-12)
    pushed = A @ Ss @ A.T
    push_ok = np.allclose(pushed, St, rtol=rtol, atol=rtol * np.abs(St).max())
    asym = np.abs(A - A.T).max() / scale
    if not push_ok:
        if np.allclose(A @ A.T, St, rtol=1e-3, atol=1e-3 * np.abs(St).max()):
            fail("A Aᵀ equals cov_t, so A maps N(0, I) to the target, not N(0, cov_s): "
                 "the source covariance is missing from your formula.")
        fail("your matrix A does not push the source to the target: A cov_s Aᵀ differs from cov_t by "
             f"{np.abs(pushed - St).max():.3g} (max entry). Check the order of the matrix square roots.")
    if asym > rtol:
        fail(f"your matrix pushes N(0, cov_s) to N(0, cov_t), but it is not symmetric (max |A - Aᵀ| / max|A| = {asym:.2e}). "
             "A non-symmetric linear map is not the gradient of a convex function, so it is a transport map "
             "but not the optimal one (a Cholesky factor or a rotation gives this).")
    w = np.linalg.eigvalsh(0.5 * (A + A.T))
    if w.min() <= 0:
        fail(f"your matrix is symmetric with A cov_s A = cov_t, but has eigenvalue {w.min():.3g} <= 0: its potential "
             "x·Ax/2 is not convex. Take the positive square roots.")
    return True
