"""Strongly convex teacher potentials and the densities they push forward.

A *teacher* is a strongly convex potential ``φ`` with ``potential``, ``grad`` and
``hessian`` in closed form. Pushing a source density ``p`` through ``∇φ`` gives a
target ``q = ∇φ # p`` whose Brenier map is known exactly: it is ``∇φ``. The target's
log-density comes from the inverse map::

    y = ∇φ(z)   ⇒   log q(y) = log p(z) − log det ∇²φ(z),

with ``z`` found by a batched, damped Newton solve (see :class:`PushforwardDensity`).

Every tensor a teacher holds is kept in float64 on the CPU; a call follows its
input's device and dtype (the parameters are cast once per device/dtype and cached).
"""
from __future__ import annotations

import copy
import math

import torch

from . import _checks
from .densities import Density

__all__ = ["Teacher", "MaxQuadTeacher", "QuadSoftplusTeacher", "ICNNTeacher", "PushforwardDensity"]


class Teacher:
    """Base class of strongly convex potentials ``φ(x) = α|x|²/2 + ψ(x)``, ``ψ`` convex.

    Subclasses set ``self.dim``, ``self.alpha`` and a dict ``self._master`` of float64
    CPU tensors, and implement ``_potential(x, P)`` and ``_grad_hess(x, P, need_hess)``
    where ``P`` is that dict cast to ``x``'s device and dtype.
    """

    dim: int
    alpha: float
    name = "teacher"

    def _p(self, ref):
        key = (ref.device, ref.dtype)
        cache = self.__dict__.setdefault("_cache", {})
        if key not in cache:
            cache[key] = {k: v.to(device=ref.device, dtype=ref.dtype) for k, v in self._master.items()}
        return cache[key]

    def _in(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (n, {self.dim}), got {type(x).__name__}")
        return _checks.batch(x, self.dim, "x")

    def potential(self, x):
        """``φ(x)``, shape ``(n,)``."""
        x = self._in(x)
        return 0.5 * self.alpha * (x * x).sum(1) + self._potential(x, self._p(x))

    def grad(self, x):
        """``∇φ(x)``, shape ``(n, d)``: the Brenier map of the pair."""
        x = self._in(x)
        return self.alpha * x + self._grad_hess(x, self._p(x), False)[0]

    __call__ = grad

    def grad_and_hessian(self, x):
        """``(∇φ(x), ∇²φ(x))`` from one pass, shapes ``(n, d)`` and ``(n, d, d)``."""
        x = self._in(x)
        g, H = self._grad_hess(x, self._p(x), True)
        eye = torch.eye(self.dim, device=x.device, dtype=x.dtype)
        return self.alpha * x + g, H + self.alpha * eye

    def hessian(self, x):
        """``∇²φ(x)``, shape ``(n, d, d)``, symmetric with eigenvalues ``≥ α``."""
        return self.grad_and_hessian(x)[1]

    def to(self, device=None, dtype=None):
        """Kept for symmetry with densities: a teacher follows its input anyway."""
        return self

    def __repr__(self):
        return f"{type(self).__name__}(dim={self.dim}, alpha={self.alpha:g})"


def _rng(seed):
    return torch.Generator().manual_seed(int(seed))


def _random_orthogonal(d, g):
    q, r = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
    return q * torch.sign(torch.diagonal(r))


class MaxQuadTeacher(Teacher):
    """A smooth maximum of strongly convex quadratics (not an mGradNet)::

        φ(x) = α|x|²/2 + τ · logsumexp_k( q_k(x) / τ ),   q_k(x) = ½ (x − c_k)ᵀ A_k (x − c_k)

    ``A_k = scale · Q_k diag(λ_k) Q_kᵀ`` with a random rotation ``Q_k`` and spectrum
    ``λ_k`` uniform in ``[0, 2]``; centres ``c_k ~ N(0, spread² I)``; temperature
    ``τ = temperature · √d`` (the spread of ``q_k − q_j`` grows like ``√d``). ``∇φ`` is a
    softmax-weighted blend of ``K = num_pieces`` affine maps, the blend itself depending
    on ``x`` through quadratics: no finite mGradNet-M or -C equals it.
    """

    name = "maxquad"

    def __init__(self, dim, num_pieces=8, *, alpha=0.5, scale=2.0, spread=0.75, temperature=1.0, seed=0):
        self.dim = _checks.positive_int(dim, "dim")
        K = _checks.positive_int(num_pieces, "num_pieces")
        self.alpha = _checks.positive_float(alpha, "alpha")
        scale = _checks.positive_float(scale, "scale")
        spread = _checks.positive_float(spread, "spread", allow_zero=True)
        temperature = _checks.positive_float(temperature, "temperature")
        g = _rng(seed)
        d = self.dim
        A = []
        for _ in range(K):
            Q = _random_orthogonal(d, g)
            lam = 2.0 * torch.rand(d, generator=g, dtype=torch.float64)
            A.append(scale * (Q * lam) @ Q.T)
        A = torch.stack(A)
        A = 0.5 * (A + A.transpose(1, 2))
        c = spread * torch.randn(K, d, generator=g, dtype=torch.float64)
        self.num_pieces, self.tau = K, temperature * math.sqrt(d)
        self._master = {"A": A, "Aflat": A.reshape(K, d * d), "c": c}

    def _pieces(self, x, P):
        diff = x[:, None, :] - P["c"]  # (n, K, d)
        gk = torch.einsum("nkd,ked->nke", diff, P["A"])  # A_k (x − c_k)
        s = 0.5 * (diff * gk).sum(-1) / self.tau  # q_k / τ
        return gk, s

    def _potential(self, x, P):
        _, s = self._pieces(x, P)
        return self.tau * torch.logsumexp(s, dim=-1)

    def _grad_hess(self, x, P, need_hess):
        gk, s = self._pieces(x, P)
        p = torch.softmax(s, dim=-1)  # (n, K)
        gbar = torch.einsum("nk,nkd->nd", p, gk)
        if not need_hess:
            return gbar, None
        n, d = x.shape
        H = (p @ P["Aflat"]).view(n, d, d)
        H = H + ((p[:, :, None] * gk).transpose(1, 2) @ gk - gbar[:, :, None] * gbar[:, None, :]) / self.tau
        return gbar, H


class QuadSoftplusTeacher(Teacher):
    """A quadratic plus ridge softplus bumps (inside the mGradNet-C function class)::

        φ(x) = α|x|²/2 + Σ_j a_j softplus(w_jᵀ x + b_j),   a_j > 0

    with ``m = num_ridges`` random unit directions ``w_j`` scaled by ``sharpness``,
    ``b_j ~ N(0, 1)`` and ``a_j = scale · u_j`` (``u_j`` uniform in ``[0.5, 1.5]``).
    """

    name = "quadsoftplus"

    def __init__(self, dim, num_ridges=None, *, alpha=0.5, scale=2.0, sharpness=3.0, seed=0):
        self.dim = _checks.positive_int(dim, "dim")
        m = _checks.positive_int(num_ridges if num_ridges is not None else 2 * self.dim, "num_ridges")
        self.alpha = _checks.positive_float(alpha, "alpha")
        scale = _checks.positive_float(scale, "scale")
        sharpness = _checks.positive_float(sharpness, "sharpness")
        g = _rng(seed)
        W = torch.randn(m, self.dim, generator=g, dtype=torch.float64)
        W = sharpness * W / W.norm(dim=1, keepdim=True)
        b = torch.randn(m, generator=g, dtype=torch.float64)
        a = scale * (0.5 + torch.rand(m, generator=g, dtype=torch.float64))
        self.num_ridges = m
        self._master = {"W": W, "b": b, "a": a}

    def _potential(self, x, P):
        h = x @ P["W"].T + P["b"]
        return torch.nn.functional.softplus(h) @ P["a"]

    def _grad_hess(self, x, P, need_hess):
        h = x @ P["W"].T + P["b"]
        sig = torch.sigmoid(h)
        g = (P["a"] * sig) @ P["W"]
        if not need_hess:
            return g, None
        coef = P["a"] * sig * (1 - sig)  # (n, m)
        H = (coef[:, None, :] * P["W"].T) @ P["W"]
        return g, H


class ICNNTeacher(Teacher):
    """A randomly initialised two-layer input-convex network (not an mGradNet), as the
    teacher potentials of the Wasserstein-2 benchmark of Korotin et al. (2021)::

        h₁ = W₀x + b₀,  z₁ = softplus(h₁),  h₂ = U z₁ + W₁x + b₁,  z₂ = softplus(h₂)
        φ(x) = α|x|²/2 + scale · ( vᵀ z₁ + wᵀ z₂ )

    ``U, v, w ≥ 0`` (so ``φ`` is convex), ``W₀, W₁`` Gaussian with rows of norm ``sharpness``,
    ``width = max(16, dim)`` hidden units per layer by default.
    """

    name = "icnn"

    def __init__(self, dim, width=None, *, alpha=0.5, scale=1.0, sharpness=3.0, seed=0):
        self.dim = _checks.positive_int(dim, "dim")
        m = _checks.positive_int(width if width is not None else max(16, self.dim), "width")
        self.alpha = _checks.positive_float(alpha, "alpha")
        scale = _checks.positive_float(scale, "scale")
        sharpness = _checks.positive_float(sharpness, "sharpness")
        g = _rng(seed)
        f64 = torch.float64

        def rows(k):
            W = torch.randn(k, self.dim, generator=g, dtype=f64)
            return sharpness * W / W.norm(dim=1, keepdim=True)

        W0, W1 = rows(m), rows(m)
        b0 = torch.randn(m, generator=g, dtype=f64)
        b1 = torch.randn(m, generator=g, dtype=f64)
        U = torch.rand(m, m, generator=g, dtype=f64) * (2.0 / m)  # U z₁ stays O(1)
        v = scale * (0.5 + torch.rand(m, generator=g, dtype=f64)) / math.sqrt(2)
        w = scale * (0.5 + torch.rand(m, generator=g, dtype=f64)) / math.sqrt(2)
        self.width = m
        self._master = {"W0": W0, "W1": W1, "b0": b0, "b1": b1, "U": U, "v": v, "w": w}

    def _potential(self, x, P):
        sp = torch.nn.functional.softplus
        z1 = sp(x @ P["W0"].T + P["b0"])
        z2 = sp(z1 @ P["U"].T + x @ P["W1"].T + P["b1"])
        return z1 @ P["v"] + z2 @ P["w"]

    def _grad_hess(self, x, P, need_hess):
        h1 = x @ P["W0"].T + P["b0"]
        s1 = torch.sigmoid(h1)
        h2 = torch.nn.functional.softplus(h1) @ P["U"].T + x @ P["W1"].T + P["b1"]
        s2 = torch.sigmoid(h2)
        d2 = P["w"] * s2  # ∂φ/∂h₂
        d1 = (P["v"] + d2 @ P["U"]) * s1  # ∂φ/∂h₁
        g = d1 @ P["W0"] + d2 @ P["W1"]
        if not need_hess:
            return g, None
        # J of h₂: M = U diag(s₁) W₀ + W₁, per sample (n, m, d)
        M = (P["U"] * s1[:, None, :]) @ P["W0"] + P["W1"]
        c2 = P["w"] * s2 * (1 - s2)
        c1 = (P["v"] + d2 @ P["U"]) * s1 * (1 - s1)
        H = (c2[:, :, None] * M).transpose(1, 2) @ M + (c1[:, None, :] * P["W0"].T) @ P["W0"]
        return g, H


# ---------------------------------------------------------------------------
# The pushed-forward density
# ---------------------------------------------------------------------------

_LINE_STEPS = (1.0, 0.5, 0.25, 0.125, 1.0 / 16, 1.0 / 64, 1.0 / 256)


def _logdet_chol(L):
    return 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)


class PushforwardDensity(Density):
    """``q = ∇φ # p``: sample by pushing source samples through the teacher, and
    evaluate ``log q`` through the inverse map.

    ``log_prob(y)`` solves ``∇φ(z) = y`` for all points at once by damped Newton on the
    strongly convex objective ``f(z) = φ(z) − ⟨y, z⟩``: direction ``H⁻¹∇f`` (batched
    Cholesky), step sizes ``1, ½, ¼, …`` tried for every point in one batched potential
    evaluation (Armijo rule), at most ``max_iter`` iterations with an early exit once
    every point has converged. The start is ``start(y)`` (the inverse of the pair's affine
    approximation when the problem supplies one). Then
    ``log q(y) = log p(z) − log det ∇²φ(z)``.

    It is differentiable in ``y``, with the derivative one implicit Newton step
    ``z ← z − H⁻¹(∇φ(z) − y)`` gives (``dz/dy = H⁻¹``): ``∇_y log q = H⁻¹ ∇_z[log p − log det H]``,
    computed from the one Hessian evaluation at the solution that the value needs anyway
    (the Newton step's first-order effect on the value is added too, so a loose solver
    tolerance costs ``O(|residual|²)`` in the value).
    Device and dtype follow the input ``y``.
    """

    def __init__(self, source, teacher, *, start=None, max_iter=30, chord_iter=None):
        if not (hasattr(source, "sample") and hasattr(source, "log_prob")):
            raise TypeError(f"source must be a density with sample() and log_prob(), got {type(source).__name__}")
        if not isinstance(teacher, Teacher):
            raise TypeError(f"teacher must be a gradnetot Teacher, got {type(teacher).__name__}")
        if source.dim != teacher.dim:
            raise ValueError(f"source has dimension {source.dim} but the teacher has dimension {teacher.dim}")
        self.source, self.teacher = source, teacher
        self.dim = teacher.dim
        self.start = start  # None or (A_inv, shift, A): z0 = (y − shift) @ A_inv
        self.max_iter = _checks.positive_int(max_iter, "max_iter")
        if chord_iter is None:  # chord steps pay off where a Hessian costs much more than a gradient
            chord_iter = 8 if self.dim >= 32 else 0
        self.chord_iter = _checks.positive_int(chord_iter, "chord_iter", minimum=0)
        self.last_iterations = self.last_chord_steps = 0
        self._sources = {}

    # -- device handling: the source moves, the teacher follows its input --
    def _tensors(self):
        return []

    @property
    def device(self):
        return self.source.device if hasattr(self.source, "device") else torch.device("cpu")

    @property
    def dtype(self):
        return self.source.dtype if hasattr(self.source, "dtype") else torch.float32

    def to(self, device=None, dtype=None):
        new = copy.copy(self)
        new.source = self.source.to(device=device, dtype=dtype) if hasattr(self.source, "to") else self.source
        new._sources = {}
        return new

    def _source_like(self, ref):
        key = (ref.device, ref.dtype)
        if key not in self._sources:
            src = self.source
            if hasattr(src, "to") and hasattr(src, "_tensors"):
                src = src.to(device=ref.device, dtype=ref.dtype)
            self._sources[key] = src
        return self._sources[key]

    # -- sampling ------------------------------------------------------------
    def _sample(self, n, generator):
        x = self.source.sample(n, generator=generator)
        return self.teacher.grad(x)

    # -- the inverse map -----------------------------------------------------
    def _z0(self, y):
        if self.start is None:
            return y.clone()
        A_inv, shift = self.start[:2]
        return (y - shift.to(y)) @ A_inv.to(y)

    def _armijo(self, z, y, r, delta):
        """Step sizes from ``_LINE_STEPS`` by the Armijo rule on ``f = φ − ⟨y, ·⟩``, per point.

        The full step is tried for every point first; only the points that reject it
        try the shorter steps, all of them in one batched potential evaluation."""
        teacher, d = self.teacher, self.dim
        eps = torch.finfo(y.dtype).eps
        f0 = teacher.potential(z) - (y * z).sum(1)
        slope = (r * delta).sum(1)  # = −∇f(z)·(−delta) ≥ 0
        room = 50 * eps * (1.0 + f0.abs())  # round-off near the solution

        def accept(t, zc, yc, f0c, slopec, roomc):
            fc = teacher.potential(zc.reshape(-1, d)).view(zc.shape[:-1]) - (yc * zc).sum(-1)
            return fc <= f0c - 1e-4 * t * slopec + roomc

        t = torch.ones_like(f0)
        bad = torch.nonzero(~accept(1.0, z - delta, y, f0, slope, room)).flatten()
        if bad.numel():
            ts = torch.tensor(_LINE_STEPS[1:], device=y.device, dtype=y.dtype)[:, None]
            cand = z[bad][None] - ts[:, :, None] * delta[bad][None]  # (T, b, d)
            ok = accept(ts, cand, y[bad][None], f0[bad], slope[bad], room[bad])
            ok[-1] = True  # the shortest step as the fallback
            t[bad] = ts[:, 0][torch.argmax(ok.to(torch.uint8), dim=0)]
        return t

    @torch.no_grad()
    def _solve(self, y, tol=None):
        """``z`` with ``∇φ(z) = y`` to a relative residual ``tol``, all points at once.

        1. Chord steps ``z ← z − A⁻¹(∇φ(z) − y)`` with the fixed matrix ``A`` of the affine
           start (one gradient per step, no Hessian), kept for a point only while the
           full step passes the Armijo test; at most ``chord_iter`` of them (by default 8
           from ``d = 32`` on, none below, where a Hessian is cheap).
        2. Damped Newton on the points still active (not converged): direction
           ``H⁻¹(∇φ(z) − y)`` by batched Cholesky, Armijo backtracking per point.
        Both phases shrink the active set as points converge and stop when it is empty.
        """
        teacher = self.teacher
        if tol is None:
            tol = 3e-4 if y.dtype != torch.float64 else 1e-9
        n, d = y.shape
        scale = 1.0 + y.abs().amax(1)
        z = self._z0(y)
        idx = torch.arange(n, device=y.device)  # the active points
        self.last_chord_steps = 0
        if self.start is not None and self.chord_iter > 0:
            A = self.start[2].to(y)
            A_inv = self.start[0].to(y)
            stuck = torch.zeros(0, dtype=torch.long, device=y.device)
            for _ in range(self.chord_iter):
                za, ya = z[idx], y[idx]
                r = teacher.grad(za) - ya
                conv = (r.abs().amax(1) / scale[idx]) <= tol
                keep = ~conv
                if not bool(keep.any()):
                    idx = stuck
                    break
                idx, za, ya, r = idx[keep], za[keep], ya[keep], r[keep]
                delta = r @ A_inv
                ok = self._armijo_full(za, ya, r, delta)
                z[idx[ok]] = za[ok] - delta[ok]
                stuck = torch.cat([stuck, idx[~ok]])
                idx = idx[ok]
                self.last_chord_steps += 1
            else:
                idx = torch.cat([stuck, idx])
            del A
        it = 0
        while idx.numel():
            za, ya = z[idx], y[idx]
            g, H = teacher.grad_and_hessian(za)
            r = g - ya
            conv = (r.abs().amax(1) / scale[idx]) <= tol
            if it >= self.max_iter or bool(conv.all()):
                break
            ri = torch.nonzero(~conv).flatten()
            idx, za, ya, r, H = idx[ri], za[ri], ya[ri], r[ri], H[ri]
            L, _ = torch.linalg.cholesky_ex(H)
            delta = torch.cholesky_solve(r[:, :, None], L)[:, :, 0]
            t = self._armijo(za, ya, r, delta)
            z[idx] = za - t[:, None] * delta
            it += 1
        self.last_iterations = it
        return z

    def _armijo_full(self, z, y, r, delta):
        """Does the full step ``z − delta`` pass the Armijo test on ``f = φ − ⟨y, ·⟩``?"""
        teacher = self.teacher
        eps = torch.finfo(y.dtype).eps
        f0 = teacher.potential(z) - (y * z).sum(1)
        z1 = z - delta
        f1 = teacher.potential(z1) - (y * z1).sum(1)
        return f1 <= f0 - 1e-4 * (r * delta).sum(1) + 50 * eps * (1.0 + f0.abs())

    def inverse(self, y, tol=None):
        """``z`` with ``∇φ(z) = y`` (the inverse Brenier map), shape ``(n, d)``, to a relative
        residual ``tol`` (default ``1e-5`` in float32, ``1e-10`` in float64)."""
        y = _checks.batch(y, self.dim, "y")
        if tol is None:
            tol = 1e-5 if y.dtype != torch.float64 else 1e-10
        return self._solve(y.detach(), tol=tol)

    def log_prob(self, y):
        y = _checks.batch(y, self.dim, "y")
        return self._log_prob(y)

    def _log_prob(self, y):
        if torch.is_grad_enabled() and y.requires_grad:
            return _InverseLogProb.apply(y, self)
        return self._value(y)[0]

    def _value(self, y):
        """``log q(y)``, the Cholesky factor ``L`` of ``H = ∇²φ(z)`` and ``v = ∇_z[log p − log det H](z)``.

        ``z`` solves ``∇φ(z) = y`` to the solver's tolerance; the value is corrected to first
        order for the remaining residual ``r = ∇φ(z) − y`` (one Newton step ``−H⁻¹r`` taken
        in the value: ``+ v·(−H⁻¹r)``), so its error is ``O(|r|²)``.
        """
        z = self._solve(y.detach())
        with torch.enable_grad():
            zv = z.detach().requires_grad_(True)
            g, H = self.teacher.grad_and_hessian(zv)
            L, _ = torch.linalg.cholesky_ex(H.detach())
            lp = self._source_like(y).log_prob(zv)
            # ∇_z log det H(z) = Σ_ij (H⁻¹)_ij ∇_z H_ij: differentiate ⟨H(z), H⁻¹⟩ with H⁻¹ held
            # fixed, which back-propagates through the Hessian's formula but not the factorisation
            (v,) = torch.autograd.grad(lp.sum() - (H * torch.cholesky_inverse(L)).sum(), zv)
        ell = lp.detach() - _logdet_chol(L)
        step = torch.cholesky_solve((g.detach() - y.detach())[:, :, None], L)[:, :, 0]
        return ell - (v * step).sum(1), L, v

    def __repr__(self):
        return f"PushforwardDensity(dim={self.dim}, teacher={self.teacher!r})"


class _InverseLogProb(torch.autograd.Function):
    """``log q(y)`` with its exact derivative ``∇_y log q = H⁻¹ ∇_z[log p(z) − log det H(z)]``.

    This is what one implicit Newton step ``z ← z − H⁻¹(∇φ(z) − y)`` taken with autograd
    gives (``dz/dy = H⁻¹``), computed from the single Hessian evaluation at the solution
    ``z`` that the value needs anyway: ``∇_z`` of the value is taken in the forward pass,
    and the backward pass is one batched Cholesky solve.
    """

    @staticmethod
    def forward(ctx, y, dens):
        val, L, v = dens._value(y)
        ctx.save_for_backward(L, v)
        return val

    @staticmethod
    def backward(ctx, grad_out):
        L, v = ctx.saved_tensors
        gy = torch.cholesky_solve((grad_out[:, None] * v)[:, :, None], L)[:, :, 0]
        return gy, None
