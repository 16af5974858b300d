"""Chapter 8 (image morphing): checks for the barycentric projection of a plan and
for rendering particles back into an image."""
from __future__ import annotations

import numpy as np
import torch

from ._base import fail

__all__ = ["check_barycentric_projection", "check_particle_image"]


def _to_numpy(x, what):
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{what} must be an array or tensor, got {type(x).__name__}")


def check_barycentric_projection(project):
    """Check ``project(plan, xt) -> (n, d)``: the barycentric projection
    ``T(x_i) = Σ_j π_ij y_j / Σ_j π_ij`` of a discrete plan ``π`` (numpy ``(n, m)``)
    onto target points ``xt`` (``(m, d)``)."""
    import gradnetot as gn

    if not callable(project):
        fail(f"project must be a function, got {type(project).__name__}")
    rng = np.random.default_rng(0)
    # unequal sizes and non-uniform weights, so a 1/n vs 1/m slip shows up
    xs, xt = rng.normal(size=(7, 2)), rng.normal(size=(11, 2)) + 3.0
    a, b = rng.random(7) + 0.2, rng.random(11) + 0.2
    plan = gn.discrete_ot_plan(xs, xt, a=a, b=b)
    out = _to_numpy(project(plan, xt), "project(plan, xt)")
    if out.shape != (7, 2):
        fail(f"with a (7, 11) plan and 11 target points in 2-D the result must have shape (7, 2), "
             f"got {out.shape}")
    expected = _to_numpy(gn.discrete_ot_map(xs, xt, a=a, b=b), "reference")
    if not np.allclose(out, expected, atol=1e-5):
        if np.allclose(out, plan @ xt, atol=1e-5):
            fail("you returned plan @ xt: divide each row by its mass Σ_j π_ij (the source weight), "
                 "otherwise the points shrink towards 0")
        fail(f"the projection differs from Σ_j π_ij y_j / Σ_j π_ij by up to "
             f"{np.abs(out - expected).max():.3g}")
    return True


def check_particle_image(render):
    """Check ``render(points, size) -> (size, size)``: a histogram of points in
    ``[0, 1]^2`` rendered as an image with **y pointing up** (row 0 is the top,
    ``y`` near 1), normalised to sum to 1 — the inverse of ``gn.ImageDensity``."""
    if not callable(render):
        fail(f"render must be a function, got {type(render).__name__}")
    size = 8
    # top-left pixel: 1 point, bottom-left: 2, bottom-right: 3, and one outside [0,1]^2
    pts = torch.tensor([[0.05, 0.95], [0.05, 0.05], [0.06, 0.04], [0.95, 0.05], [0.96, 0.04],
                        [0.97, 0.06], [1.5, 0.5]])
    img = _to_numpy(render(pts, size), "render(points, size)")
    if img.shape != (size, size):
        fail(f"render(points, {size}) must return a ({size}, {size}) image, got {img.shape}")
    if not np.isclose(img.sum(), 1.0, atol=1e-6):
        fail(f"the image must be normalised to sum to 1, it sums to {img.sum():.4g}")
    expected = np.zeros((size, size))
    expected[0, 0], expected[-1, 0], expected[-1, -1] = 1 / 6, 2 / 6, 3 / 6
    if np.allclose(img, expected, atol=1e-6):
        return True
    if np.allclose(img, expected[::-1], atol=1e-6) or np.allclose(img, expected[:, ::-1], atol=1e-6):
        fail("the image is flipped: point (x, y) belongs in column floor(x * size) and row "
             "floor((1 - y) * size), because image rows run top to bottom while y runs up")
    if np.allclose(img, expected.T, atol=1e-6):
        fail("rows and columns are swapped: x picks the column, y picks the row")
    fail("the image does not match a histogram of the points on the pixel grid of [0, 1]^2 "
         "(points outside [0, 1]^2 must be dropped before normalising)")
