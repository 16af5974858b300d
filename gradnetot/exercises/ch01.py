"""Chapter 1 checks: the radial disk -> Gaussian map, and where two straight paths meet."""
from __future__ import annotations

import math

import torch

from ._base import fail

__all__ = ["check_disk_to_gaussian_map", "path_meeting", "check_path_meeting"]


def check_disk_to_gaussian_map(my_map, radius=1.0, std=0.5, n=2000, rtol=1e-3):
    """Check a student's closed-form OT map from the uniform disk of ``radius`` to N(0, std² I).

    ``my_map`` takes an ``(n, 2)`` tensor of points inside the disk and returns an
    ``(n, 2)`` tensor. The check compares it with :func:`gradnetot.disk_to_gaussian_map`
    on points away from the rim (radius ≤ 0.98 R), where the map is well conditioned.
    Returns True or raises :class:`~gradnetot.exercises.ExerciseCheckError`.
    """
    from ..reference import disk_to_gaussian_map

    if not callable(my_map):
        fail(f"my_map must be a function of an (n, 2) tensor, got {type(my_map).__name__}")
    g = torch.Generator().manual_seed(1234)
    r = radius * 0.98 * torch.sqrt(torch.rand(n, generator=g))
    theta = 2 * math.pi * torch.rand(n, generator=g)
    x = torch.stack([r * torch.cos(theta), r * torch.sin(theta)], 1)
    try:
        with torch.no_grad():
            y = my_map(x.clone())
    except Exception as exc:  # report the student's error in words
        fail(f"my_map raised {type(exc).__name__}: {exc}")
    y = torch.as_tensor(y, dtype=torch.float32)
    if y.shape != x.shape:
        fail(f"my_map must return shape {tuple(x.shape)} (one 2-D point per input row), got {tuple(y.shape)}")
    if not bool(torch.isfinite(y).all()):
        fail("my_map returned NaN/inf inside the disk; watch the log of (1 - r²/R²) and the division by r at 0")
    ref = disk_to_gaussian_map(x, radius=radius, std=std)
    scale = std
    if float((y - ref).norm(dim=1).max()) <= rtol * scale + 1e-5:
        return True
    # diagnose: direction first, then radius
    ny, nx = y.norm(dim=1), x.norm(dim=1)
    keep = (nx > 1e-3 * radius) & (ny > 1e-6)
    cos = ((y[keep] * x[keep]).sum(1) / (ny[keep] * nx[keep])).min()
    if float(cos) < 0.999:
        fail("my_map is not radial: T(x) should point in the same direction as x "
             "(an OT map between rotation-invariant measures centred at 0 only changes the radius)")
    order = torch.argsort(nx)
    if bool((ny[order].diff() < -1e-5 * scale).any()):
        fail("the new radius must increase with the old one (the map is the gradient of a convex function)")
    ratio = ny[keep] / ref.norm(dim=1)[keep]
    if float(ratio.std()) < 1e-3:
        fail(f"the radii are off by a constant factor (about {float(ratio.mean()):.3g}); "
             "check the Gaussian's standard deviation and the disk's radius in your formula")
    worst = int((y - ref).norm(dim=1).argmax())
    fail(f"the new radius is wrong: at |x| = {float(nx[worst]):.3f} you give {float(ny[worst]):.4f}, expected "
         f"{float(ref[worst].norm()):.4f}. Equate the CDFs of the radius: r²/R² = 1 - exp(-ρ²/(2σ²))")


def path_meeting(x0, y0, x1, y1):
    """Where the segments ``x0 -> y0`` and ``x1 -> y1`` in the plane meet.

    Returns ``(s, t)`` with ``x0 + s (y0 - x0) = x1 + t (y1 - x1)`` and ``s, t`` in ``[0, 1]``: the
    first particle passes the meeting point at time ``s``, the second at time ``t``. Returns ``None``
    when the segments do not meet or are parallel. The package's reference answer.
    """
    pts = [torch.as_tensor(v, dtype=torch.float64).reshape(-1) for v in (x0, y0, x1, y1)]
    if any(v.shape != (2,) for v in pts):
        raise ValueError("x0, y0, x1, y1 must be points in the plane (two coordinates each)")
    x0, y0, x1, y1 = pts
    M = torch.stack([y0 - x0, -(y1 - x1)], 1)
    det = float(torch.linalg.det(M))
    scale = float((y0 - x0).norm() * (y1 - x1).norm())
    if scale == 0 or abs(det) <= 1e-12 * scale:
        return None
    s, t = (float(v) for v in torch.linalg.solve(M, x1 - x0))
    tol = 1e-12
    if -tol <= s <= 1 + tol and -tol <= t <= 1 + tol:
        return min(max(s, 0.0), 1.0), min(max(t, 0.0), 1.0)
    return None


_MEETING_CASES = [
    # (x0, y0, x1, y1): crossing at different times, parallel, lines meeting outside the segments,
    # a crossing at the same time, and one touching at an end point
    ((0.0, 0.0), (4.0, 0.0), (2.0, 1.0), (5.0, -1.0)),
    ((0.0, 0.0), (1.0, 0.0), (0.0, 1.0), (1.0, 1.0)),
    ((0.0, 0.0), (1.0, 0.0), (3.0, 1.0), (3.0, -1.0)),
    ((-1.0, -1.0), (1.0, 1.0), (-1.0, 1.0), (1.0, -1.0)),
    ((0.0, 0.0), (2.0, 2.0), (2.0, 0.0), (1.0, 1.0)),
    ((1.0, 2.0), (3.0, 0.5), (0.0, 0.0), (0.5, 3.0)),
]


def check_path_meeting(my_meeting):
    """Check ``my_meeting(x0, y0, x1, y1)``: ``(s, t)`` where two straight paths meet, or ``None``.

    The cases include two paths that cross at different times, parallel paths, and lines that meet
    outside the segments. Returns True or raises :class:`~gradnetot.exercises.ExerciseCheckError`.
    """
    if not callable(my_meeting):
        fail(f"my_meeting must be a function of four points, got {type(my_meeting).__name__}")
    for x0, y0, x1, y1 in _MEETING_CASES:
        want = path_meeting(x0, y0, x1, y1)
        try:
            got = my_meeting(torch.tensor(x0), torch.tensor(y0), torch.tensor(x1), torch.tensor(y1))
        except Exception as exc:  # report the student's error in words
            fail(f"my_meeting{(x0, y0, x1, y1)} raised {type(exc).__name__}: {exc}")
        case = f"for the paths {x0} -> {y0} and {x1} -> {y1}"
        if want is None:
            if got is not None:
                fail(f"{case} you return {got}, but the segments do not meet: check that both times lie in "
                     "[0, 1] (the lines may meet outside the segments) and that parallel paths give None")
            continue
        if got is None:
            fail(f"{case} the segments meet (at times {want[0]:.4g} and {want[1]:.4g}), but you return None")
        try:
            s, t = (float(v) for v in got)
        except (TypeError, ValueError):
            fail(f"{case} return a pair (s, t) of times, got {got!r}")
        if abs(s - want[0]) > 1e-6 or abs(t - want[1]) > 1e-6:
            if abs(s - want[1]) <= 1e-6 and abs(t - want[0]) <= 1e-6:
                fail(f"{case} the two times are swapped: s belongs to the first path x0 -> y0")
            fail(f"{case} expected times ({want[0]:.4g}, {want[1]:.4g}), got ({s:.4g}, {t:.4g}); "
                 "solve x0 + s (y0 - x0) = x1 + t (y1 - x1) for (s, t)")
    return True
