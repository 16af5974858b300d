"""Plots for 2-D transport maps: displacement interpolation, animation, potential, det J, losses.

Every function takes any map ``T`` (an ``nn.Module`` such as an mGradNet, or a plain
function of an ``(n, 2)`` tensor), evaluates it under ``torch.no_grad()`` on the
model's device, and accepts torch tensors or NumPy arrays. Only matplotlib is used,
so everything works with the non-interactive Agg backend.

Single-panel functions return the ``Axes`` they drew on; :func:`plot_displacement`
returns the ``Figure`` (it draws several panels) and :func:`animate_displacement`
returns an ``IPython.display.HTML`` object.
"""
from __future__ import annotations

import numbers

import numpy as np
import torch

from . import _checks

__all__ = [
    "color_by_position",
    "plot_displacement",
    "animate_displacement",
    "plot_potential",
    "plot_det_jacobian",
    "plot_losses",
]


# --------------------------------------------------------------------------- helpers
def _points(x, name="x"):
    """``x`` as a finite float32 CPU tensor of shape ``(n, 2)``, n >= 1."""
    if isinstance(x, torch.Tensor):
        t = x.detach().cpu()
        if not t.is_floating_point():
            t = t.float()
        t = t.float()
    else:
        try:
            t = torch.as_tensor(np.asarray(x, dtype=np.float32))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be an array of 2-D points, got {type(x).__name__}") from exc
    if t.ndim != 2 or t.shape[1] != 2:
        raise ValueError(f"{name} must have shape (n, 2) (2-D points, one per row), got shape {tuple(t.shape)}")
    if t.shape[0] < 1:
        raise ValueError(f"{name} must contain at least one point")
    _checks.check_finite(t, name)
    return t


def _place_of(T):
    """``(device, dtype)`` on which to evaluate ``T``: a module's first floating parameter
    decides (so a float64 or CUDA model gets float64 / CUDA points); a plain function gets
    float32 CPU points."""
    dev, dtype = _checks.model_place(T)
    return (dev or torch.device("cpu")), (dtype or torch.float32)


def _device_of(T):
    return _place_of(T)[0]


def _check_map(T, name="T"):
    if not callable(T):
        raise TypeError(f"{name} must be a callable map (an nn.Module or a function), got {type(T).__name__}")


def _apply(T, x, name="T"):
    """``T(x)`` as a NumPy ``(n, 2)`` array, evaluated without gradients on T's device."""
    dev, dtype = _place_of(T)
    with torch.no_grad():
        y = T(x.to(dev, dtype))
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu().numpy()
    y = np.asarray(y, dtype=np.float64)
    if y.shape != tuple(x.shape):
        raise ValueError(f"{name}(x) must return an array of shape {tuple(x.shape)}, got {y.shape}")
    if not np.isfinite(y).all():
        raise ValueError(f"{name}(x) returned NaN or infinite values")
    return y


def _target_points(target, n):
    """Samples of ``target``: an ``(m, 2)`` array/tensor, or a density with ``.sample``."""
    if target is None:
        return None
    if hasattr(target, "sample") and not isinstance(target, (np.ndarray, torch.Tensor)):
        from .densities import sample_from
        pts = sample_from(target, n)
        return _points(pts, "target").numpy()
    return _points(target, "target").numpy()


def _limits(name, value):
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {value!r}") from exc
    if not (np.isfinite(lo) and np.isfinite(hi)) or not lo < hi:
        raise ValueError(f"{name} must be a finite pair with low < high, got {value!r}")
    return lo, hi


def _pos_number(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _grid(xlim, ylim, n):
    gx = np.linspace(xlim[0], xlim[1], n)
    gy = np.linspace(ylim[0], ylim[1], n)
    X, Y = np.meshgrid(gx, gy)
    pts = torch.as_tensor(np.stack([X.ravel(), Y.ravel()], 1), dtype=torch.float32)
    return X, Y, pts


def _bounds(*arrays, pad=0.08, q=0.002):
    """Square limits that hold all but the most extreme ``q`` fraction of points on each side."""
    a = np.concatenate([np.asarray(v) for v in arrays if v is not None], 0)
    lo, hi = np.quantile(a, q, axis=0), np.quantile(a, 1 - q, axis=0)
    center, half = (lo + hi) / 2, (hi - lo).max() / 2 * (1 + pad) + 1e-9
    return (center[0] - half, center[0] + half), (center[1] - half, center[1] + half)


# --------------------------------------------------------------------------- colours
def color_by_position(x, center=None, scale=None):
    """RGB colours in [0, 1], shape ``(n, 3)``, from 2-D positions by a smooth 2-D colormap.

    Hue follows the angle around ``center`` (default: the centre of the points'
    bounding box) and saturation/brightness grow with the distance from it
    (normalised by ``scale``, default the largest distance), so a point's colour
    tells where it started: neighbours get similar colours, and the centre is grey.
    """
    from matplotlib.colors import hsv_to_rgb

    x = _points(x).double().numpy()
    if center is None:
        c = (x.min(0) + x.max(0)) / 2
    else:
        c = np.asarray(center, dtype=np.float64)
        if c.shape != (2,) or not np.isfinite(c).all():
            raise ValueError(f"center must be a pair of finite numbers, got {center!r}")
    v = x - c
    r = np.hypot(v[:, 0], v[:, 1])
    if scale is None:
        scale = r.max() if r.max() > 0 else 1.0
    scale = _pos_number(scale, "scale")
    rr = np.clip(r / scale, 0.0, 1.0)
    hue = (np.arctan2(v[:, 1], v[:, 0]) / (2 * np.pi)) % 1.0
    hsv = np.stack([hue, rr, 0.55 + 0.4 * rr], 1)  # grey at the centre, saturated at the rim
    return np.clip(hsv_to_rgb(hsv), 0.0, 1.0)


# --------------------------------------------------------------------------- displacement
def _check_times(times):
    try:
        ts = [float(t) for t in times]
    except (TypeError, ValueError) as exc:
        raise ValueError(f"times must be a sequence of numbers in [0, 1], got {times!r}") from exc
    if not ts or any(not (0.0 <= t <= 1.0) for t in ts):
        raise ValueError(f"times must be a non-empty sequence of numbers in [0, 1], got {times!r}")
    return ts


def plot_displacement(T, x, times=(0, .25, .5, .75, 1), ax=None, target=None, s=4):
    """Panels of the displacement interpolation ``x_t = (1 - t) x + t T(x)``.

    Points keep the colour of their source position (:func:`color_by_position`),
    so one can follow them from panel to panel. ``target`` (an ``(m, 2)`` sample or
    a density with ``.sample``) is drawn faintly in grey in the last panel.
    ``ax``: ``None`` (a new row of panels) or a sequence of Axes, one per time.
    Returns the Figure.
    """
    import matplotlib.pyplot as plt

    _check_map(T)
    xt = _points(x)
    ts = _check_times(times)
    s = _pos_number(s, "s")
    y = _apply(T, xt)
    x0 = xt.double().numpy()
    tgt = _target_points(target, x0.shape[0])
    if ax is None:
        fig, axes = plt.subplots(1, len(ts), figsize=(2.4 * len(ts), 2.6), squeeze=False)
        axes = list(axes[0])
    else:
        axes = [ax] if hasattr(ax, "scatter") else list(ax)
        if len(axes) != len(ts) or not all(hasattr(a, "scatter") for a in axes):
            raise ValueError(f"ax must be None or a sequence of {len(ts)} Axes (one per time), got {ax!r}")
        fig = axes[0].figure
    colors = color_by_position(x0)
    xlim, ylim = _bounds(x0, y, tgt)
    for i, (a, t) in enumerate(zip(axes, ts)):
        if tgt is not None and i == len(ts) - 1:
            a.scatter(tgt[:, 0], tgt[:, 1], s=s, c="0.6", alpha=0.25, linewidths=0, label="target sample")
        p = (1 - t) * x0 + t * y
        a.scatter(p[:, 0], p[:, 1], s=s, c=colors, linewidths=0)
        a.set_title(f"t = {t:g}")
        a.set_xlim(*xlim)
        a.set_ylim(*ylim)
        a.set_aspect("equal")
        a.set_xticks([])
        a.set_yticks([])
    if ax is None:
        fig.tight_layout()
    return fig


def animate_displacement(T, x, frames=30, interval=80, target=None, s=4, dpi=72, figsize=(4, 4),
                         frame_format="jpeg"):
    """An HTML animation (``to_jshtml``) of ``x_t = (1 - t) x + t T(x)`` for t from 0 to 1.

    Points are coloured by source position; ``target`` samples (array or density)
    are shown faintly in grey throughout. The figure is closed so that the notebook
    shows only the animation. Size grows with ``frames``, ``dpi`` and ``figsize``;
    ``frame_format="jpeg"`` (default) embeds frames about 2.5x smaller than ``"png"``.
    """
    import matplotlib
    import matplotlib.pyplot as plt
    from matplotlib import animation
    from IPython.display import HTML

    _check_map(T)
    xt = _points(x)
    frames = _checks.positive_int(frames, "frames", minimum=2)
    interval = _pos_number(interval, "interval")
    s = _pos_number(s, "s")
    dpi = _pos_number(dpi, "dpi")
    if frame_format not in ("jpeg", "png"):
        raise ValueError(f"frame_format must be 'jpeg' or 'png', got {frame_format!r}")
    y = _apply(T, xt)
    x0 = xt.double().numpy()
    tgt = _target_points(target, x0.shape[0])
    colors = color_by_position(x0)
    xlim, ylim = _bounds(x0, y, tgt)

    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    try:
        if tgt is not None:
            ax.scatter(tgt[:, 0], tgt[:, 1], s=s, c="0.6", alpha=0.3, linewidths=0)
        scat = ax.scatter(x0[:, 0], x0[:, 1], s=s, c=colors, linewidths=0)
        title = ax.set_title("t = 0.00")
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_aspect("equal")
        ax.set_xticks([])
        ax.set_yticks([])
        fig.tight_layout()
        ts = np.linspace(0.0, 1.0, frames)

        def update(i):
            t = ts[i]
            scat.set_offsets((1 - t) * x0 + t * y)
            title.set_text(f"t = {t:.2f}")
            return scat, title

        anim = animation.FuncAnimation(fig, update, frames=frames, interval=interval, blit=False)
        with matplotlib.rc_context({"animation.frame_format": frame_format}):
            html = anim.to_jshtml(default_mode="reflect")
    finally:
        plt.close(fig)
    return HTML(html)


# --------------------------------------------------------------------------- potential, det J
def plot_potential(model, xlim, ylim, ax=None, arrows=True, n=60, n_arrows=12):
    """Contours of the potential ``u`` (``model.potential``) with arrows from x to T(x).

    The arrows are the actual displacements ``T(x) - x`` on a coarse
    ``n_arrows × n_arrows`` grid (drawn to scale, in data units). Returns the Axes.
    """
    import matplotlib.pyplot as plt

    _check_map(model, "model")
    if not callable(getattr(model, "potential", None)):
        raise TypeError("model must have a .potential(x) method (an mGradNet); "
                        "for any other map use plot_displacement")
    xlim, ylim = _limits("xlim", xlim), _limits("ylim", ylim)
    n = _checks.positive_int(n, "n", minimum=2)
    n_arrows = _checks.positive_int(n_arrows, "n_arrows", minimum=2)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.4, 4))
    dev, dtype = _place_of(model)
    X, Y, pts = _grid(xlim, ylim, n)
    with torch.no_grad():
        u = model.potential(pts.to(dev, dtype)).detach().cpu().double().numpy().reshape(X.shape)
    if not np.isfinite(u).all():
        raise ValueError("model.potential returned NaN or infinite values on the grid")
    cf = ax.contourf(X, Y, u, levels=20, cmap="viridis", alpha=0.85)
    ax.contour(X, Y, u, levels=20, colors="k", linewidths=0.3, alpha=0.5)
    ax.figure.colorbar(cf, ax=ax, label="potential $u(x)$", shrink=0.85)
    if arrows:
        Xa, Ya, pa = _grid(xlim, ylim, n_arrows)
        ta = _apply(model, pa, "model")
        d = ta - pa.double().numpy()
        ax.quiver(Xa.ravel(), Ya.ravel(), d[:, 0], d[:, 1], angles="xy", scale_units="xy", scale=1.0,
                  color="white", edgecolor="k", linewidth=0.4, width=0.006)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_title("potential $u$, arrows $x \\to T(x)$" if arrows else "potential $u$")
    return ax


def _jacobians(T, x):
    """Jacobians of ``T`` at ``x`` by the package's one protocol (:func:`gradnetot.jacobian`):
    closed form when the map has one, else ``torch.func``; as float64 on the CPU."""
    from .loss import jacobian

    with torch.no_grad():
        J = jacobian(T, x)
    J = torch.as_tensor(J).detach().cpu().double()
    if J.shape != (x.shape[0], 2, 2):
        raise ValueError(f"the Jacobian of model must have shape ({x.shape[0]}, 2, 2), got {tuple(J.shape)}")
    return J


def plot_det_jacobian(model, xlim, ylim, ax=None, n=80, log=True):
    """Heatmap of ``log det J_T(x)`` (or ``det J_T(x)`` when ``log=False``) with a colorbar.

    Uses the model's closed-form ``.jacobian`` when it has one, else ``torch.func``.
    Blue: the map compresses area (det J < 1); red: it stretches it. Returns the Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import TwoSlopeNorm

    _check_map(model, "model")
    xlim, ylim = _limits("xlim", xlim), _limits("ylim", ylim)
    n = _checks.positive_int(n, "n", minimum=2)
    if ax is None:
        _, ax = plt.subplots(figsize=(4.4, 4))
    X, Y, pts = _grid(xlim, ylim, n)
    dev, dtype = _place_of(model)
    J = _jacobians(model, pts.to(dev, dtype))
    sign, logabs = torch.linalg.slogdet(J)
    if log:
        vals = torch.where(sign > 0, logabs, torch.full_like(logabs, float("nan")))
        label, center = "$\\log\\det J_T(x)$", 0.0
    else:
        vals = sign * torch.exp(logabs)
        label, center = "$\\det J_T(x)$", 1.0
    V = vals.numpy().reshape(X.shape)
    finite = V[np.isfinite(V)]
    if finite.size == 0:
        raise ValueError("det J is not positive anywhere on the grid (is model monotone?)")
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmin < center < vmax:
        norm = TwoSlopeNorm(vcenter=center, vmin=vmin, vmax=vmax)
    else:
        norm = None
    mesh = ax.pcolormesh(X, Y, V, cmap="RdBu_r", norm=norm, shading="auto")
    ax.figure.colorbar(mesh, ax=ax, label=label, shrink=0.85)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_aspect("equal")
    ax.set_title(label)
    return ax


# --------------------------------------------------------------------------- losses
def plot_losses(result_or_losses, ax=None, label=None):
    """Training loss per step (faint) and its moving average (solid), log-scaled y.

    Accepts a :class:`~gradnetot.FitResult` (uses ``.losses``) or a 1-D array.
    Falls back to a linear y-axis if some loss is ≤ 0. Returns the Axes.
    """
    import matplotlib.pyplot as plt

    losses = getattr(result_or_losses, "losses", result_or_losses)
    if isinstance(losses, torch.Tensor):
        losses = losses.detach().cpu().numpy()
    try:
        losses = np.asarray(losses, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError("result_or_losses must be a FitResult or a 1-D array of losses, "
                        f"got {type(result_or_losses).__name__}") from exc
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"result_or_losses must hold a non-empty 1-D array of losses, got shape {losses.shape}")
    if not np.isfinite(losses).any():
        raise ValueError("result_or_losses contains no finite loss values")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    steps = np.arange(1, losses.size + 1)
    w = max(1, losses.size // 50)
    line = ax.plot(steps, losses, alpha=0.25, lw=0.8)[0]
    if w > 1:
        smooth = np.convolve(losses, np.ones(w) / w, mode="valid")
        ax.plot(steps[w - 1:], smooth, color=line.get_color(), lw=1.8, label=label)
    else:
        line.set_alpha(1.0)
        line.set_label(label)
    finite = losses[np.isfinite(losses)]
    if finite.min() > 0:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    if label is not None:
        ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    return ax
