"""Auto-checks for chapter 4 (duality, the convex conjugate and the entropic map)."""
from __future__ import annotations

import numpy as np
import torch

from ._base import fail

__all__ = ["check_convex_conjugate", "check_entropic_map"]


def _np(a):
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    return np.asarray(a, dtype=np.float64)


def _conjugate_cases():
    rng = np.random.default_rng(4)
    grid1 = np.linspace(-3, 3, 241)[:, None]
    g = np.linspace(-2, 2, 41)
    grid2 = np.stack(np.meshgrid(g, g, indexing="ij"), -1).reshape(-1, 2)
    return [
        ("f(x) = |x|²/2 on a 1-D grid", grid1, 0.5 * (grid1 ** 2).sum(1), np.linspace(-2, 2, 17)[:, None]),
        ("f(x) = |x|⁴/4 + x on a 1-D grid", grid1, 0.25 * grid1[:, 0] ** 4 + grid1[:, 0],
         np.linspace(-4, 4, 17)[:, None]),
        ("a non-convex f (a double well) on a 1-D grid", grid1, (grid1[:, 0] ** 2 - 1) ** 2,
         np.linspace(-3, 3, 13)[:, None]),
        ("f(x) = |x|²/2 + 0.3·cos(3 x₁) on a 2-D grid", grid2, 0.5 * (grid2 ** 2).sum(1) + 0.3 * np.cos(3 * grid2[:, 0]),
         rng.uniform(-1.5, 1.5, size=(25, 2))),
    ]


def check_convex_conjugate(my_conjugate, atol=1e-6):
    """Check a student's discrete convex conjugate ``my_conjugate(x, f, y) -> (m,)``.

    ``x`` is an ``(n, d)`` array of grid points, ``f`` the ``(n,)`` values of a function
    on them, ``y`` an ``(m, d)`` array of slopes. The answer must be the discrete
    Legendre–Fenchel transform ``f*(y_k) = max_i (⟨x_i, y_k⟩ − f_i)``. Checked on four
    functions (one non-convex); on a mismatch the message names the likely mistake.
    """
    if not callable(my_conjugate):
        fail("pass your function itself, e.g. check_convex_conjugate(my_conjugate).")
    for name, x, f, y in _conjugate_cases():
        try:
            out = my_conjugate(x.copy(), f.copy(), y.copy())
        except Exception as exc:  # noqa: BLE001 - report any student error clearly
            fail(f"your function raised {type(exc).__name__}: {exc} (on {name}). It is called as "
                 f"my_conjugate(x, f, y) with numpy arrays x of shape {x.shape}, f of shape {f.shape} "
                 f"and y of shape {y.shape}.")
        out = _np(out)
        if out.ndim == 2 and out.shape[1] == 1:
            out = out[:, 0]
        if out.shape != (y.shape[0],):
            fail(f"expected one value per slope y_k, shape ({y.shape[0]},), got {out.shape} on {name}. "
                 "Take the maximum over the grid points i (axis of x), not over the slopes.")
        if not np.isfinite(out).all():
            fail(f"your conjugate has NaN/inf values on {name}.")
        inner = y @ x.T  # (m, n): ⟨x_i, y_k⟩
        ref = (inner - f[None, :]).max(1)
        if np.allclose(out, ref, atol=atol):
            continue
        guesses = [
            ((inner - f[None, :]).min(1), "you took the minimum over i; the conjugate is a maximum"),
            ((inner + f[None, :]).max(1), "the sign of f is flipped: it is max_i ⟨x_i, y⟩ − f_i"),
            (x[(inner - f[None, :]).argmax(1), 0],
             "you returned the maximiser x_i (the argmax), not the maximum value"),
            ((0.5 * ((y[:, None, :] - x[None, :, :]) ** 2).sum(-1) - f[None, :]).min(1),
             "you computed the c-transform min_i |x_i − y|²/2 − f_i; the convex conjugate is "
             "max_i ⟨x_i, y⟩ − f_i (the two differ by |y|²/2 and a sign)"),
            (-(inner - f[None, :]).max(1), "the overall sign is flipped"),
        ]
        for cand, why in guesses:
            if cand.shape == out.shape and np.allclose(out, cand, atol=atol):
                fail(f"wrong conjugate on {name}: {why}.")
        err = float(np.abs(out - ref).max())
        fail(f"wrong conjugate on {name}: max |yours − reference| = {err:.3g}. Form the (m, n) matrix "
             "y @ x.T − f[None, :] and take its maximum along axis 1.")
    return True


def _entropic_case():
    rng = np.random.default_rng(7)
    x = rng.normal(size=(30, 2))
    y = rng.normal(size=(40, 2)) * np.array([0.7, 1.3]) + np.array([1.0, -0.5])
    g = rng.normal(size=40) * 0.3
    return x, y, g


def check_entropic_map(my_map, atol=1e-6):
    """Check a student's entropic map ``my_map(x, y, g, eps) -> (n, d)``.

    ``x``: ``(n, d)`` query points, ``y``: ``(m, d)`` target points, ``g``: their ``(m,)``
    Sinkhorn potential, ``eps > 0``. The answer must be
    ``T(x) = Σ_j softmax_j((g_j − |x − y_j|²/2)/ε) y_j`` for each query point.
    """
    if not callable(my_map):
        fail("pass your function itself, e.g. check_entropic_map(my_map).")
    x, y, g = _entropic_case()
    for eps in (0.5, 0.05):
        try:
            out = my_map(x.copy(), y.copy(), g.copy(), eps)
        except Exception as exc:  # noqa: BLE001
            fail(f"your function raised {type(exc).__name__}: {exc}. It is called as my_map(x, y, g, eps) "
                 f"with numpy arrays x {x.shape}, y {y.shape}, g {g.shape} and a float eps.")
        out = _np(out)
        if out.shape != x.shape:
            fail(f"expected one mapped point per query point, shape {x.shape}, got {out.shape} (eps={eps}).")
        if not np.isfinite(out).all():
            fail(f"your map has NaN/inf values at eps={eps}: subtract the row maximum before exp "
                 "(or use scipy.special.softmax / torch.softmax).")
        sq = ((x[:, None, :] - y[None, :, :]) ** 2).sum(-1)

        def bary(logits):
            w = np.exp(logits - logits.max(1, keepdims=True))
            return (w / w.sum(1, keepdims=True)) @ y

        ref = bary((g[None, :] - 0.5 * sq) / eps)
        if np.allclose(out, ref, atol=atol):
            continue
        guesses = [
            (bary((g[None, :] - sq) / eps), "the cost is |x − y|²/2, with the factor 1/2"),
            (bary((-g[None, :] - 0.5 * sq) / eps), "the potential enters with a plus sign: (g_j − c(x, y_j))/ε"),
            (bary(-0.5 * sq / eps), "the potential g is missing: without it the map is a kernel average of "
                                    "the y_j, not the transport map"),
            (bary(g[None, :] - 0.5 * sq), "divide the exponent by ε"),
        ]
        for cand, why in guesses:
            if np.allclose(out, cand, atol=atol):
                fail(f"wrong entropic map (eps={eps}): {why}.")
        w = np.exp((g[None, :] - 0.5 * sq) / eps)
        if np.allclose(out, w @ y, rtol=1e-4, atol=atol) or np.allclose(out, (w / w.sum(0, keepdims=True)) @ y,
                                                                         atol=atol):
            fail(f"wrong entropic map (eps={eps}): normalise the weights over j for each x (a softmax "
                 "along the target axis).")
        err = float(np.abs(out - ref).max())
        fail(f"wrong entropic map (eps={eps}): max |yours − reference| = {err:.3g}. Weights "
             "softmax_j((g_j − |x − y_j|²/2)/ε) along j, then the weighted average of the y_j.")
    return True
