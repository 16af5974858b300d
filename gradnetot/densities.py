"""Probability densities with ``sample(n, generator=None)`` and ``log_prob(x)``.

Any object with these two methods (a ``torch.distributions`` object included)
can be used wherever the package takes a density; the classes here add a
``.dim`` attribute, a ``.to(device)`` method and strict input checks.
"""
from __future__ import annotations

import contextlib
import copy
import inspect
import math

import torch

from . import _checks

__all__ = [
    "Density",
    "Gaussian",
    "GaussianMixture",
    "ImageDensity",
    "UniformShape",
    "density_dim",
    "sample_from",
]


class Density:
    """Base class: subclasses implement ``_sample`` and ``_log_prob``."""

    dim: int

    def sample(self, n, generator=None):
        n = _checks.positive_int(n, "n")
        return self._sample(n, generator)

    def log_prob(self, x):
        x = _checks.batch(x, self.dim, "x")
        return self._log_prob(x.to(self.device, self.dtype))

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.dim})"

    # -- device handling -------------------------------------------------
    def _tensors(self):
        return [k for k, v in vars(self).items() if isinstance(v, torch.Tensor)]

    def to(self, device=None, dtype=None):
        """A copy with every tensor on ``device`` (like ``Tensor.to``: ``self`` is not changed)."""
        new = copy.copy(self)
        for k in self._tensors():
            v = getattr(self, k)
            setattr(new, k, v.to(device=device, dtype=dtype if v.is_floating_point() else None))
        return new

    @property
    def device(self):
        return getattr(self, self._tensors()[0]).device

    @property
    def dtype(self):
        return getattr(self, self._tensors()[0]).dtype


def _other_device(generator, device):
    """True when ``generator`` lives on another device than ``device`` ("cuda" == "cuda:0")."""
    if generator is None:
        return False
    a, b = torch.device(generator.device), torch.device(device)
    if a.type != b.type:
        return True
    if a.type == "cuda":
        cur = torch.cuda.current_device()
        return (a.index if a.index is not None else cur) != (b.index if b.index is not None else cur)
    return False


def _randn(shape, generator, device, dtype):
    if _other_device(generator, device):
        return torch.randn(shape, generator=generator, dtype=dtype).to(device)
    return torch.randn(shape, generator=generator, device=device, dtype=dtype)


def _rand(shape, generator, device, dtype):
    if _other_device(generator, device):
        return torch.rand(shape, generator=generator, dtype=dtype).to(device)
    return torch.rand(shape, generator=generator, device=device, dtype=dtype)


class Gaussian(Density):
    """Multivariate normal ``N(mean, cov)``.

    >>> g = Gaussian(torch.zeros(2), torch.eye(2))
    >>> g.sample(5).shape
    torch.Size([5, 2])
    """

    def __init__(self, mean, cov):
        mean = _checks.as_tensor(mean, "mean", ndim=1)
        cov = _checks.as_tensor(cov, "cov", ndim=2, device=mean.device)
        if cov.shape != (mean.shape[0], mean.shape[0]):
            raise ValueError(
                f"cov must have shape ({mean.shape[0]}, {mean.shape[0]}) to match mean, got {tuple(cov.shape)}"
            )
        self.dim = int(mean.shape[0])
        self.mean = mean
        self.cov = cov
        self.scale_tril = _checks.positive_definite(cov, "cov")
        self._log_norm = 0.5 * self.dim * math.log(2 * math.pi) + float(
            torch.log(torch.diagonal(self.scale_tril.double())).sum()
        )

    def _sample(self, n, generator):
        z = _randn((n, self.dim), generator, self.device, self.dtype)
        return self.mean + z @ self.scale_tril.T

    def _log_prob(self, x):
        diff = (x - self.mean).T
        z = torch.linalg.solve_triangular(self.scale_tril, diff, upper=False)
        return -0.5 * (z * z).sum(0) - self._log_norm


class GaussianMixture(Density):
    """Isotropic Gaussian mixture ``sum_k w_k N(mean_k, bandwidth^2 I)``.

    ``log_prob`` costs one squared-distance matrix and one logsumexp, with no
    Python loop over the components.
    """

    def __init__(self, weights, means, bandwidth):
        means = _checks.as_tensor(means, "means", ndim=2)
        weights = _checks.as_tensor(weights, "weights", ndim=1, device=means.device)
        if weights.shape[0] != means.shape[0]:
            raise ValueError(
                f"weights has {weights.shape[0]} entries but means has {means.shape[0]} rows"
            )
        if means.shape[0] == 0:
            raise ValueError("means must contain at least one component")
        if bool((weights < 0).any()):
            raise ValueError("weights must be non-negative")
        total = float(weights.sum())
        if total <= 0:
            raise ValueError("weights must not all be zero")
        self.bandwidth = _checks.positive_float(bandwidth, "bandwidth")
        self.dim = int(means.shape[1])
        self.means = means
        self.weights = weights / total
        self._log_w = torch.log(self.weights)

    def _sample(self, n, generator):
        w = self.weights
        if _other_device(generator, w.device):
            idx = torch.multinomial(w.cpu(), n, replacement=True, generator=generator).to(w.device)
        else:
            idx = torch.multinomial(w, n, replacement=True, generator=generator)
        noise = _randn((n, self.dim), generator, self.device, self.dtype)
        return self.means[idx] + self.bandwidth * noise

    def _log_prob(self, x):
        inv = 1.0 / (2.0 * self.bandwidth**2)
        # squared distances as |x|^2 - 2 x.m + |m|^2, computed as one matmul, after moving the
        # origin to the centre of the means: expanded far from the origin, the three terms are
        # huge and cancel (float32 loses every digit of |x - m|^2 at |x| ~ 1e3 and bandwidth 0.1)
        c = self.means.mean(0)
        m, xc = self.means - c, x - c
        sq = (xc * xc).sum(1, keepdim=True) - 2.0 * xc @ m.T + (m * m).sum(1)
        # points so far out that the terms overflow (inf - inf): infinitely far, density 0
        sq = torch.where(torch.isnan(sq), torch.full_like(sq, float("inf")), sq)
        logits = self._log_w - inv * sq.clamp_min(0)
        norm = 0.5 * self.dim * math.log(2 * math.pi * self.bandwidth**2)
        return torch.logsumexp(logits, dim=1) - norm


class ImageDensity(GaussianMixture):
    """A grey-level image as a density on ``[0, 1]^2`` (y axis pointing up).

    Each pixel with intensity ``I[i, j] > 0`` is a Gaussian bump of width
    ``bandwidth`` at the pixel centre ``((j + 0.5) / W, 1 - (i + 0.5) / H)``,
    with weight proportional to ``I[i, j]``.
    """

    def __init__(self, image, bandwidth=0.02):
        img = _checks.as_tensor(image, "image", ndim=2)
        if bool((img < 0).any()):
            raise ValueError("image must be non-negative")
        if float(img.sum()) <= 0:
            raise ValueError("image must have at least one positive pixel (it is all zero)")
        h, w = img.shape
        ii, jj = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
        centres = torch.stack([(jj + 0.5) / w, 1.0 - (ii + 0.5) / h], dim=-1).reshape(-1, 2)
        flat = img.reshape(-1)
        keep = flat > 0
        super().__init__(flat[keep], centres[keep].to(img.device, img.dtype), bandwidth)
        self.image = img
        self.shape = (h, w)

    def with_bandwidth(self, bandwidth):
        """A copy with another bandwidth (used for annealing)."""
        return ImageDensity(self.image, bandwidth)


# ---------------------------------------------------------------------------
# Smoothed uniform shapes
# ---------------------------------------------------------------------------

def _convex_polygon_sdf(x, vertices):
    """Max over edges of the signed distance to each edge line (exact inside)."""
    v = vertices
    nxt = torch.roll(v, -1, 0)
    edge = nxt - v
    normal = torch.stack([edge[:, 1], -edge[:, 0]], 1)
    normal = normal / normal.norm(dim=1, keepdim=True)
    # orient normals outwards
    centroid = v.mean(0)
    sign = torch.sign(((v - centroid) * normal).sum(1, keepdim=True))
    normal = normal * sign
    offsets = (v * normal).sum(1)
    return (x @ normal.T - offsets).max(dim=1).values


class UniformShape(Density):
    """Uniform density on a 2-D shape, with a smoothed edge.

    The density is proportional to ``sigmoid(-sdf(x) / smoothing)``, where
    ``sdf`` is the signed distance to the boundary (negative inside), so
    ``log_prob`` is finite everywhere. The normalising constant is computed
    numerically once, and ``sample`` draws exactly from this density by
    rejection.

    Shapes:

    - ``UniformShape("disk", center=(0, 0), radius=1)``
    - ``UniformShape("ellipse", center=(0, 0), axes=(1, 0.5))``
    - ``UniformShape("rectangle", center=(0, 0), size=(2, 1))``
    - ``UniformShape("triangle", vertices=[[0, 0], [1, 0], [0.5, 0.9]])``
    - ``UniformShape("polygon", vertices=...)`` for any convex polygon
    """

    KINDS = ("disk", "ellipse", "rectangle", "triangle", "polygon")

    def __init__(self, kind, *, center=(0.0, 0.0), radius=1.0, axes=(1.0, 0.5), size=(2.0, 1.0),
                 vertices=None, smoothing=None):
        if not isinstance(kind, str) or kind not in self.KINDS:
            raise ValueError(f"kind must be one of {self.KINDS}, got {kind!r}")
        self.kind = kind
        self.dim = 2
        self.center = _checks.as_tensor(center, "center", ndim=1)
        if self.center.shape[0] != 2:
            raise ValueError(f"center must have 2 entries, got {self.center.shape[0]}")
        if kind == "disk":
            self.radius = _checks.positive_float(radius, "radius")
            half = torch.tensor([self.radius, self.radius])
            scale = self.radius
        elif kind == "ellipse":
            ax = _checks.as_tensor(axes, "axes", ndim=1)
            if ax.shape[0] != 2 or bool((ax <= 0).any()):
                raise ValueError(f"axes must be two positive semi-axes, got {ax.tolist()}")
            self.axes = ax
            half = ax.clone()
            scale = float(ax.min())
        else:
            if kind == "rectangle":
                sz = _checks.as_tensor(size, "size", ndim=1)
                if sz.shape[0] != 2 or bool((sz <= 0).any()):
                    raise ValueError(f"size must be two positive side lengths, got {sz.tolist()}")
                w, h = (sz / 2).tolist()
                verts = torch.tensor([[-w, -h], [w, -h], [w, h], [-w, h]]) + self.center
            else:
                if vertices is None:
                    if kind != "triangle":
                        raise ValueError("vertices is required for kind='polygon'")
                    verts = torch.tensor([[-1.0, -0.8], [1.0, -0.8], [0.0, 0.93]]) + self.center
                else:
                    verts = _checks.as_tensor(vertices, "vertices", ndim=2)
                    if verts.shape[1] != 2 or verts.shape[0] < 3:
                        raise ValueError(f"vertices must have shape (k>=3, 2), got {tuple(verts.shape)}")
                    if kind == "triangle" and verts.shape[0] != 3:
                        raise ValueError(f"a triangle needs 3 vertices, got {verts.shape[0]}")
                area2 = (verts[:, 0] * torch.roll(verts[:, 1], -1) - torch.roll(verts[:, 0], -1) * verts[:, 1]).sum()
                if abs(float(area2)) < 1e-12:
                    raise ValueError("vertices are degenerate (zero area)")
            self.vertices = verts
            self.center = verts.mean(0)
            lo, hi = verts.min(0).values, verts.max(0).values
            half = torch.maximum(hi - self.center, self.center - lo)
            scale = float((hi - lo).min())
        if smoothing is None:
            smoothing = 0.01 * scale
        self.smoothing = _checks.positive_float(smoothing, "smoothing")
        self._half = half.float() + 12 * self.smoothing
        self._log_z = 0.0
        self._log_z = math.log(self._integral())

    def sdf(self, x):
        """Signed distance (negative inside) to the shape's boundary."""
        if self.kind == "disk":
            return (x - self.center).norm(dim=1) - self.radius
        if self.kind == "ellipse":
            q = (x - self.center) / self.axes
            return (q.norm(dim=1) - 1.0) * float(self.axes.min())
        return _convex_polygon_sdf(x, self.vertices)

    def _unnormalised_log(self, x):
        return torch.nn.functional.logsigmoid(-self.sdf(x) / self.smoothing)

    def _integral(self, n=1001):
        dev, dt = self.center.device, torch.float64
        c = self.center.to(dt)
        h = self._half.to(dev, dt)
        gx = torch.linspace(-1, 1, n, device=dev, dtype=dt)
        xx, yy = torch.meshgrid(c[0] + h[0] * gx, c[1] + h[1] * gx, indexing="ij")
        pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
        saved = [(k, getattr(self, k)) for k in self._tensors()]
        for k, v in saved:
            setattr(self, k, v.to(dt))
        vals = torch.exp(self._unnormalised_log(pts)).reshape(n, n)
        for k, v in saved:
            setattr(self, k, v)
        cell = float(4 * h[0] * h[1]) / (n - 1) ** 2
        # trapezoid rule
        wts = torch.ones(n, dtype=dt, device=dev)
        wts[0] = wts[-1] = 0.5
        return float((wts[:, None] * wts[None, :] * vals).sum()) * cell

    def _log_prob(self, x):
        return self._unnormalised_log(x) - self._log_z

    def _sample(self, n, generator):
        out = []
        have = 0
        while have < n:
            m = int(1.5 * (n - have)) + 64
            u = _rand((m, 2), generator, self.device, self.dtype)
            prop = self.center + (2 * u - 1) * self._half.to(self.device)
            acc = _rand((m,), generator, self.device, self.dtype)
            keep = prop[acc < torch.sigmoid(-self.sdf(prop) / self.smoothing)]
            out.append(keep)
            have += keep.shape[0]
        return torch.cat(out)[:n]


# ---------------------------------------------------------------------------
# Duck typing helpers (any object with sample/log_prob works)
# ---------------------------------------------------------------------------

def density_dim(density, name="density"):
    """Dimension of a density: ``.dim`` or a torch distribution's event shape."""
    if not (hasattr(density, "sample") and hasattr(density, "log_prob")):
        raise TypeError(f"{name} must have sample() and log_prob() methods, got {type(density).__name__}")
    if hasattr(density, "dim") and isinstance(getattr(density, "dim"), int):
        return density.dim
    shape = getattr(density, "event_shape", None)
    if shape is not None:
        if len(shape) == 0:
            return 1
        if len(shape) == 1:
            return int(shape[0])
    raise TypeError(f"cannot tell the dimension of {name}: give it an integer .dim attribute")


def _takes_generator(method):
    """True when ``method`` accepts a ``generator=`` keyword (by its signature, not by trial)."""
    try:
        params = inspect.signature(method).parameters
    except (TypeError, ValueError):
        return False
    return "generator" in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


@contextlib.contextmanager
def _global_rng_from(generator):
    """Run a block whose sampling uses torch's *global* RNG, seeded from ``generator``,
    and restore the global RNG state afterwards (``torch.random.fork_rng``).

    For densities that cannot take a generator (``torch.distributions`` objects and
    ``sample(n)`` without a ``generator`` argument): their draws then come from
    ``generator``'s stream, so a resumed ``fit`` replays them exactly, and the caller's
    global RNG is left untouched.
    """
    gdev = torch.device(generator.device)
    seed = int(torch.randint(0, 2**62, (1,), generator=generator, device=gdev))
    with _forked_rng() as cuda:
        torch.random.default_generator.manual_seed(seed)
        if cuda:
            torch.cuda.manual_seed_all(seed)
        yield


@contextlib.contextmanager
def _forked_rng():
    """``torch.random.fork_rng`` over the CPU and every initialised CUDA device; yields
    whether CUDA devices are included."""
    cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    devices = list(range(torch.cuda.device_count())) if cuda else []
    with torch.random.fork_rng(devices=devices):
        yield cuda


def _raw_sample(density, n, generator):
    if isinstance(density, torch.distributions.Distribution):
        x = density.sample((n,))
        return x[:, None] if x.ndim == 1 else x
    if generator is not None and _takes_generator(density.sample):
        return density.sample(n, generator=generator)
    return density.sample(n)


def sample_from(density, n, generator=None):
    """Draw ``(n, d)`` samples from any density-like object.

    With a ``generator``, every draw comes from it: a density whose ``sample`` cannot
    take one (a ``torch.distributions`` object, or ``sample(n)``) samples from torch's
    global RNG seeded from ``generator`` inside ``torch.random.fork_rng``, so the global
    RNG state is the same afterwards.
    """
    if generator is None:
        return _raw_sample(density, n, None)
    if not isinstance(density, torch.distributions.Distribution) and _takes_generator(density.sample):
        return density.sample(n, generator=generator)
    with _global_rng_from(generator):
        return _raw_sample(density, n, generator)


# ---------------------------------------------------------------------------
# Placing a density on a device / dtype once (used by ``fit``)
# ---------------------------------------------------------------------------

def _move_obj(obj, device, dtype):
    """A shallow copy of a torch distribution / transform with every tensor moved."""
    from torch.distributions import Distribution, Transform

    def move(v):
        if isinstance(v, torch.Tensor):
            return v.to(device=device, dtype=dtype if v.is_floating_point() else None)
        if isinstance(v, (Distribution, Transform)):
            return _move_obj(v, device, dtype)
        if isinstance(v, (list, tuple)) and any(isinstance(e, (torch.Tensor, Distribution, Transform))
                                                for e in v):
            return type(v)(move(e) for e in v)
        return v

    new = copy.copy(obj)
    for k, v in list(vars(obj).items()):
        if k == "_inv":  # a Transform's weak reference to its inverse: rebuilt lazily
            setattr(new, k, None)
            continue
        setattr(new, k, move(v))
    return new


class _Placed:
    """A density used on ``device``/``dtype`` whose own tensors could not be moved there.

    Its home device is fixed once (where its samples live); ``log_prob`` moves the points
    there and the result back. Nothing is retried at each step.
    """

    def __init__(self, density, device, dtype):
        self.density, self.device, self.dtype = density, device, dtype
        self.dim = density_dim(density)
        self.home = None

    def sample(self, n, generator=None):
        x = sample_from(self.density, n, generator)
        if isinstance(x, torch.Tensor) and self.home is None:
            self.home = x.device
        return torch.as_tensor(x).to(self.device, self.dtype)

    def log_prob(self, x):
        home = self.home if self.home is not None else x.device
        out = log_prob_of(self.density, x.to(home))
        return torch.as_tensor(out).to(x.device, self.dtype)


def place_density(density, device, dtype=None):
    """``density`` ready for use on ``device`` in ``dtype``: moved once, not at every call.

    Package densities are copied with ``.to(device, dtype)``; a ``torch.distributions``
    object is copied with all its tensors moved; any other object is wrapped so that its
    samples and ``log_prob`` values are converted (it keeps computing on its own device).
    """
    device = torch.device(device)
    if isinstance(density, Density):
        return density.to(device, dtype)
    if isinstance(density, torch.distributions.Distribution):
        try:
            moved = _move_obj(density, device, dtype)
            with _forked_rng():  # a probe that leaves the global RNG alone
                probe = sample_from(moved, 2)
                lp = log_prob_of(moved, probe)
            if probe.device == device and lp.device == device and (dtype is None or probe.dtype == dtype):
                return moved
        except Exception:  # noqa: BLE001 - an exotic distribution: fall back to the wrapper
            pass
    return _Placed(density, device, dtype)


def log_prob_of(density, x):
    """``log_prob`` for any density-like object, returning shape ``(n,)``."""
    if isinstance(density, torch.distributions.Distribution) and len(density.event_shape) == 0:
        return density.log_prob(x[:, 0])
    return density.log_prob(x)
