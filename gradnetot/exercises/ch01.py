"""Chapter 1 checks: the radial disk -> Gaussian map."""
from __future__ import annotations

import math

import torch

from ._base import fail

__all__ = ["check_disk_to_gaussian_map"]


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
