"""Two other ways to learn an OT map, for comparison with Monge–Ampère training.

* :class:`ICNN` and :func:`fit_semidual`: an input-convex neural potential
  (Amos et al. 2017) trained on the semi-dual of the quadratic-cost Kantorovich
  problem with a second ICNN standing in for the convex conjugate, as in the
  minimax formulation of Makkuva et al. (2020). Uses **samples only**.
* :func:`entropic_map`: the entropic map estimator of Pooladian & Niles-Weed (2021)
  built from the Sinkhorn potentials of two point clouds (POT, log domain).
  Also samples only.

Conventions: the cost is ``c(x, y) = |x − y|² / 2`` throughout, so that the
Brenier potential ``φ`` has ``∇φ = T`` and ``½ W₂² = ½(E|X|² + E|Y|²) − min_φ (E_μ φ + E_ν φ*)``.
"""
from __future__ import annotations

import math
import time
import warnings

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from . import _checks
from .densities import sample_from

__all__ = ["ICNN", "fit_semidual", "entropic_map", "EntropicMap"]


def _inv_softplus(y):
    y = torch.as_tensor(y, dtype=torch.float32)
    return y + torch.log(-torch.expm1(-y))


class ICNN(nn.Module):
    """Input-convex neural network potential ``φ: R^d → R`` and its gradient map.

    ``φ(x) = h(z) + ½ xᵀ(L Lᵀ + α I) x + bᵀx`` with ``z = P(x − m)`` a fixed whitening
    (identity until :meth:`warm_start`) and ``h`` the ICNN of Amos et al. (2017)::

        s₁ = σ(W₀ z + c₀),   s_{k+1} = σ(W⁺_k s_k + V_k z + c_k),   h = w⁺ · s_K + vᵀz

    The weights ``W⁺_k`` and ``w⁺`` acting on hidden units are kept non-negative, by
    clamping at 0 (``positive="clamp"``, the default: the forward pass clamps and
    :meth:`project_` projects after each step) or by a softplus reparametrisation
    (``positive="softplus"``; small weights then move slowly, by multiplicative steps), and ``σ`` = softplus is convex and non-decreasing,
    so ``h`` is convex in ``z``, hence in ``x``. The quadratic term (``quadratic=True``)
    is convex too; ``strongly_convex = α > 0`` makes ``φ`` α-strongly convex.

    ``forward(x)`` returns the map ``∇φ(x)`` (computed by autograd, differentiable
    when gradients are enabled), so the module is scored like any other map;
    :meth:`potential` returns ``φ(x)``.
    """

    def __init__(self, dim, hidden=64, num_layers=3, *, quadratic=True, strongly_convex=0.0,
                 positive="clamp"):
        super().__init__()
        if positive not in ("clamp", "softplus"):
            raise ValueError(f"positive must be 'clamp' or 'softplus', got {positive!r}")
        self.positive = positive
        self.dim = _checks.positive_int(dim, "dim")
        self.hidden = _checks.positive_int(hidden, "hidden")
        self.num_layers = _checks.positive_int(num_layers, "num_layers")
        self.alpha = _checks.positive_float(strongly_convex, "strongly_convex", allow_zero=True)
        self.quadratic = bool(quadratic)
        d, h = self.dim, self.hidden
        self.register_buffer("in_shift", torch.zeros(d))
        self.register_buffer("in_precond", torch.eye(d))
        self.register_buffer("warm_started", torch.tensor(False))
        self.x_layers = nn.ModuleList([nn.Linear(d, h) for _ in range(self.num_layers)])
        # raw parameters of the non-negative hidden-to-hidden weights (see _pos)
        self.z_raw = nn.ParameterList([
            nn.Parameter(self._raw(torch.empty(h, h).uniform_(0.1, 1.0) / h))
            for _ in range(self.num_layers - 1)])
        self.out_raw = nn.Parameter(self._raw(torch.full((h,), 1.0 / h)))
        self.out_lin = nn.Parameter(torch.zeros(d))
        if self.quadratic:
            self.quad = nn.Parameter(torch.eye(d))  # L; the PSD term is L Lᵀ
        self.bias = nn.Parameter(torch.zeros(d))

    def _raw(self, w):
        return _inv_softplus(w) if self.positive == "softplus" else w.clone()

    def _pos(self, raw):
        """The non-negative weight of a raw parameter: softplus, or a clamp at 0."""
        return F.softplus(raw) if self.positive == "softplus" else raw.clamp_min(0.0)

    @torch.no_grad()
    def project_(self):
        """Clamp negative raw hidden weights to 0 (``positive="clamp"``); called after each optimiser step
        so that the raw parameters stay where they act. (The forward pass clamps anyway.)"""
        if self.positive == "clamp":
            for raw in (*self.z_raw, self.out_raw):
                raw.clamp_(min=0.0)
        return self

    def _check(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (n, {self.dim}), got {type(x).__name__}")
        return _checks.check_finite(_checks.batch(x, self.dim, "x"), "x")

    def quadratic_matrix(self):
        """The PSD matrix ``L Lᵀ + α I`` of the quadratic term (``α I`` without one)."""
        eye = torch.eye(self.dim, device=self.bias.device, dtype=self.bias.dtype)
        A = self.alpha * eye
        if self.quadratic:
            A = A + self.quad @ self.quad.T
        return A

    def _potential(self, x):
        z = (x - self.in_shift) @ self.in_precond.T
        s = F.softplus(self.x_layers[0](z))
        for lin, raw in zip(self.x_layers[1:], self.z_raw):
            s = F.softplus(s @ self._pos(raw).T + lin(z))
        h = s @ self._pos(self.out_raw) + z @ self.out_lin
        A = self.quadratic_matrix()
        return h + 0.5 * ((x @ A) * x).sum(1) + x @ self.bias

    def potential(self, x):
        """The convex potential ``φ(x)``, shape ``(n,)``."""
        return self._potential(self._check(x))

    def forward(self, x):
        """The gradient map ``∇φ(x)``, shape ``(n, d)``."""
        x = self._check(x)
        keep_graph = torch.is_grad_enabled()
        with torch.enable_grad():
            xr = x if x.requires_grad else x.detach().requires_grad_(True)
            (g,) = torch.autograd.grad(self._potential(xr).sum(), xr, create_graph=keep_graph)
        return g if keep_graph else g.detach()

    @torch.no_grad()
    def warm_start(self, x_source, x_target, nonlinear_scale=0.1):
        """Start from the moment-matched (Bures) affine map, as the mGradNets do.

        Whitens the input with the source samples' moments, sets the quadratic and linear
        terms so that ``∇φ`` is the closed-form Gaussian OT map between the two samples'
        first two moments, and scales the ICNN part's output down to ``nonlinear_scale``.
        Needs ``quadratic=True``.
        """
        from .reference import gaussian_ot_matrix

        if not self.quadratic:
            raise ValueError("warm_start needs an ICNN built with quadratic=True")
        xs = _checks.check_finite(_checks.batch(x_source, self.dim, "x_source"), "x_source").double()
        xt = _checks.check_finite(_checks.batch(x_target, self.dim, "x_target"), "x_target").double()
        if xs.shape[0] < 2 or xt.shape[0] < 2:
            raise ValueError("warm_start needs at least 2 samples of each density")
        d = self.dim
        eye = torch.eye(d, dtype=torch.float64, device=xs.device)
        ms, mt = xs.mean(0), xt.mean(0)
        cs = torch.cov(xs.T).reshape(d, d) + 1e-8 * eye
        ct = torch.cov(xt.T).reshape(d, d) + 1e-8 * eye
        w, V = torch.linalg.eigh(cs)
        self.in_shift.copy_(ms.to(self.in_shift))
        self.in_precond.copy_((V @ torch.diag(w.clamp_min(1e-6 * float(w.max())).rsqrt()) @ V.T).to(self.in_precond))
        A = gaussian_ot_matrix(cs, ct)
        w, V = torch.linalg.eigh(A)
        self.quad.copy_((V @ torch.diag((w - self.alpha).clamp_min(1e-6).sqrt()) @ V.T).to(self.quad))
        self.out_raw.copy_(self._raw(nonlinear_scale * self._pos(self.out_raw)))
        self.out_lin.mul_(nonlinear_scale)
        self.bias.copy_((mt - ms @ A).to(self.bias))
        # remove the ICNN part's gradient at the source mean so that ∇φ(ms) = mt
        self.bias.sub_(self(ms[None].to(self.bias))[0] - mt.to(self.bias))
        self.warm_started.fill_(True)
        return self


class _Sampler:
    """Draw batches from a density-like object or, with replacement, from a fixed sample."""

    def __init__(self, obj, name, dim, device):
        self.name, self.device = name, device
        if isinstance(obj, (torch.Tensor, np.ndarray)):
            x = _checks.as_tensor(obj, name, ndim=2).float().to(device)
            if x.shape[1] != dim:
                raise ValueError(f"{name} must have {dim} columns, got {x.shape[1]}")
            if x.shape[0] < 2:
                raise ValueError(f"{name} needs at least 2 samples")
            self.data = x
        elif hasattr(obj, "sample") or isinstance(obj, torch.distributions.Distribution):
            self.data, self.obj = None, obj
        else:
            raise TypeError(f"{name} must be a density with a sample method or an (n, {dim}) tensor of "
                            f"samples, got {type(obj).__name__}")

    def __call__(self, n, gen):
        if self.data is not None:
            idx = torch.randint(0, self.data.shape[0], (n,), generator=gen, device=gen.device)
            return self.data[idx]
        x = sample_from(self.obj, n, gen).to(self.device).float()
        if x.ndim != 2 or not bool(torch.isfinite(x).all()):
            raise ValueError(f"{self.name}.sample must return finite samples of shape (n, d)")
        return x


def fit_semidual(potential, source, target, steps=2000, batch_size=1000, lr=1e-3, *, conjugate=None,
                 inner_steps=5, warm_start="auto", warm_start_samples=20_000, final_lr=0.01, device="auto",
                 seed=None, progress=True, desc=None):
    """Train an ICNN potential ``φ`` on the semi-dual of quadratic-cost OT, from samples only.

    Minimises over ``φ`` and maximises over a second convex potential ``ψ`` (the
    ``conjugate``, an ICNN on the target side) the objective

    ``J(φ, ψ) = E_μ[φ(X)] + E_ν[⟨Y, ∇ψ(Y)⟩ − φ(∇ψ(Y))]``.

    For fixed ``φ`` the inner maximum is ``E_ν φ*(Y)``, reached at ``∇ψ = ∇φ*``, so the
    outer problem is the semi-dual ``min_φ E_μ φ + E_ν φ*`` whose minimiser's gradient is the
    Brenier map ``μ → ν`` (and ``∇ψ`` its inverse). This is the minimax scheme of
    Makkuva et al. (2020); each outer step makes ``inner_steps`` Adam steps on ``ψ`` and one
    on ``φ``, each on fresh batches.

    Parameters
    ----------
    potential : :class:`ICNN` for ``φ``; ``potential(x)`` is the learned map afterwards.
    source, target : objects with ``sample(n, generator=...)`` or fixed ``(n, d)`` tensors of
        samples (batches are then drawn from them with replacement). No density is evaluated.
    steps : outer steps (updates of ``φ``); ``ψ`` gets ``steps * inner_steps`` updates.
    batch_size, lr : batch size and Adam learning rate of both networks (linear warm-up over
        2 % of the steps, then cosine decay to ``final_lr * lr``, as in :func:`gradnetot.fit`).
    conjugate : the ICNN for ``ψ``; by default a copy of ``potential``'s architecture.
    warm_start : ``"auto"`` warm-starts a potential that has not been warm-started (``φ``
        to the moment-matched affine map ``μ → ν``, ``ψ`` to the one ``ν → μ``); ``True``
        always; ``False`` never.
    seed, device, progress, desc : as in :func:`gradnetot.fit` (``progress=False``: no bar).

    Returns
    -------
    :class:`gradnetot.FitResult` whose ``losses`` are the per-step estimates of ``J`` and whose
    ``history["conjugate"]`` is the trained ``ψ``. ``½(E|X|² + E|Y|²) − J`` estimates ``½ W₂²``.
    """
    from .train import FitResult, TrainingDivergedError, resolve_device

    if not isinstance(potential, ICNN):
        raise TypeError(f"potential must be a gn.ICNN, got {type(potential).__name__}")
    if conjugate is not None and not isinstance(conjugate, ICNN):
        raise TypeError(f"conjugate must be a gn.ICNN or None, got {type(conjugate).__name__}")
    if conjugate is not None and conjugate.dim != potential.dim:
        raise ValueError(f"conjugate has dim {conjugate.dim}, potential has dim {potential.dim}")
    steps = _checks.positive_int(steps, "steps")
    batch_size = _checks.positive_int(batch_size, "batch_size")
    inner_steps = _checks.positive_int(inner_steps, "inner_steps")
    lr = _checks.positive_float(lr, "lr")
    final_lr = _checks.positive_float(final_lr, "final_lr", allow_zero=True)
    if warm_start not in ("auto", True, False, None):
        raise ValueError(f"warm_start must be 'auto', True or False, got {warm_start!r}")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    dev = resolve_device(device)
    d = potential.dim
    if seed is not None:
        torch.manual_seed(seed)
    if conjugate is None:
        conjugate = ICNN(d, potential.hidden, potential.num_layers, quadratic=potential.quadratic,
                         strongly_convex=potential.alpha, positive=potential.positive)
    gen = torch.Generator(device=dev)
    gen.manual_seed(seed if seed is not None else int(torch.randint(0, 2**62, (1,))))
    phi, psi = potential.to(dev), conjugate.to(dev)
    draw_x, draw_y = _Sampler(source, "source", d, dev), _Sampler(target, "target", d, dev)

    if warm_start is True or (warm_start == "auto" and not bool(phi.warm_started)):
        xs, yt = draw_x(warm_start_samples, gen), draw_y(warm_start_samples, gen)
        phi.warm_start(xs, yt)
        if warm_start is True or not bool(psi.warm_started):
            psi.warm_start(yt, xs)

    opt_phi = torch.optim.Adam(phi.parameters(), lr=lr)
    opt_psi = torch.optim.Adam(psi.parameters(), lr=lr)
    n_warm = int(0.02 * steps)

    def factor(k):
        if k < n_warm:
            return (k + 1) / n_warm
        t = (k - n_warm) / max(1, steps - n_warm)
        return final_lr + (1 - final_lr) * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))

    sched_phi = torch.optim.lr_scheduler.LambdaLR(opt_phi, factor)
    sched_psi = torch.optim.lr_scheduler.LambdaLR(opt_psi, lambda k: factor(k // inner_steps))

    from tqdm.auto import tqdm

    losses = np.zeros(steps)
    bar = tqdm(total=steps, disable=not progress, desc=desc or "ICNN semi-dual", leave=True, mininterval=0.5)
    phi.train(), psi.train()
    t0 = time.perf_counter()
    try:
        for k in range(steps):
            for _ in range(inner_steps):  # ascend J in ψ: ∇ψ(y) approaches argmax_x ⟨x, y⟩ − φ(x)
                y = draw_y(batch_size, gen)
                gy = psi(y)
                loss_psi = -((gy * y).sum(1) - phi.potential(gy)).mean()
                opt_psi.zero_grad(set_to_none=True)
                loss_psi.backward()
                opt_psi.step()
                psi.project_()
                sched_psi.step()
            x, y = draw_x(batch_size, gen), draw_y(batch_size, gen)
            with torch.no_grad():
                gy = psi(y)
            fx = phi.potential(x)
            loss_phi = fx.mean() - phi.potential(gy).mean()  # J up to a term constant in φ
            opt_phi.zero_grad(set_to_none=True)
            loss_phi.backward()
            opt_phi.step()
            phi.project_()
            sched_phi.step()
            with torch.no_grad():
                J = float(fx.mean() + ((gy * y).sum(1) - phi.potential(gy)).mean())
            if not math.isfinite(J):
                raise TrainingDivergedError(f"the semi-dual objective became NaN/inf at step {k} "
                                            "(learning rate too high?)")
            losses[k] = J
            if progress and (k + 1) % 25 == 0:
                bar.update(k + 1 - bar.n)
                bar.set_postfix(J=f"{J:.4f}")
        bar.update(steps - bar.n)
    finally:
        bar.close()
    wall = time.perf_counter() - t0
    phi.eval(), psi.eval()
    return FitResult(model=phi, losses=losses, steps=steps, wall_time=wall, time_per_step=wall / steps,
                     device=str(dev), lr=lr, batch_size=batch_size, history={"conjugate": psi})


class EntropicMap:
    """The entropic map ``T_ε(x) = Σ_j softmax_j((g_j − |x − y_j|²/2)/ε) y_j``.

    Built by :func:`entropic_map`. Attributes: ``y`` (target points), ``g`` (their
    Sinkhorn potential ``ε log v``), ``eps``, ``n_iter`` and ``err``
    (Sinkhorn's final marginal error).
    """

    def __init__(self, y, g, eps, n_iter, err):
        self.y, self.g, self.eps = y, g, eps
        self.n_iter, self.err = n_iter, err
        self.dim = y.shape[1]

    def __call__(self, x, chunk=4096):
        is_np = isinstance(x, np.ndarray)
        xt = torch.as_tensor(x, dtype=torch.float64) if is_np else x
        if not isinstance(xt, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor or numpy array, got {type(x).__name__}")
        xt = _checks.batch(xt.detach().cpu().double(), self.dim, "x")
        _checks.check_finite(xt, "x")
        out = []
        for c in xt.split(chunk):
            cost = 0.5 * torch.cdist(c, self.y) ** 2
            w = torch.softmax((self.g[None, :] - cost) / self.eps, dim=1)
            out.append(w @ self.y)
        res = torch.cat(out) if out else xt.new_zeros(0, self.dim)
        if is_np:
            return res.numpy()
        return res.to(dtype=x.dtype if x.is_floating_point() else torch.float32, device=x.device)

    def __repr__(self):
        return f"EntropicMap(n_target={self.y.shape[0]}, eps={self.eps:g}, sinkhorn_iters={self.n_iter})"


def entropic_map(x_src, y_tgt, eps, *, a=None, b=None, max_iter=20_000, tol=1e-6, eps_scaling=True):
    """Entropic OT map estimator (Pooladian & Niles-Weed 2021) from two samples.

    Solves the entropic OT problem between the empirical measures
    ``Σ a_i δ_{x_i}`` and ``Σ b_j δ_{y_j}`` (uniform weights by default) with POT's
    log-domain Sinkhorn (``ot.sinkhorn(..., method="sinkhorn_log")``):

    ``min_π Σ_ij π_ij |x_i − y_j|²/2 + ε Σ_ij π_ij log π_ij``   (the ``reg`` of POT is ``ε``,
    and the cost matrix is **half** the squared distance, in the same units as ``ε``).

    With ``g_j = ε log v_j`` the target-side potential, the returned map is
    ``T_ε(x) = Σ_j softmax_j((g_j − |x − y_j|²/2)/ε) y_j`` (with non-uniform weights ``g``
    includes the ``ε log b_j`` term). At ``x = x_i`` it equals the barycentric
    projection of the entropic plan; elsewhere it extends it out of sample.

    ``tol`` bounds Sinkhorn's marginal error (POT's ``stopThr``); a warning says when
    ``max_iter`` iterations did not reach it. With ``eps_scaling`` (default) the solve starts
    at a large ``ε`` and halves it, warm-starting from the previous potentials: same result,
    fewer iterations for small ``ε``.

    Small ``ε``: less blur (bias) but more noise from the finite sample; large ``ε``: a
    smooth map shrunk towards the target mean. Costs ``O(n m)`` memory and time per iteration.

    Returns
    -------
    :class:`EntropicMap`, a callable on ``(n, d)`` tensors or arrays.
    """
    import ot

    eps = _checks.positive_float(eps, "eps")
    max_iter = _checks.positive_int(max_iter, "max_iter")
    tol = _checks.positive_float(tol, "tol")
    xs = _checks.as_tensor(x_src, "x_src", dtype=torch.float64, ndim=2).detach().cpu().double()
    yt = _checks.as_tensor(y_tgt, "y_tgt", dtype=torch.float64, ndim=2).detach().cpu().double()
    if xs.shape[1] != yt.shape[1]:
        raise ValueError(f"x_src and y_tgt must have the same dimension, got {xs.shape[1]} and {yt.shape[1]}")
    if xs.shape[0] < 1 or yt.shape[0] < 1:
        raise ValueError("x_src and y_tgt must hold at least one point each")

    def weights(w, n, name):
        if w is None:
            return np.full(n, 1.0 / n)
        w = np.asarray(w, dtype=np.float64).reshape(-1)
        if w.shape[0] != n:
            raise ValueError(f"{name} must have {n} entries, got {w.shape[0]}")
        if not np.isfinite(w).all() or (w < 0).any() or w.sum() <= 0:
            raise ValueError(f"{name} must be non-negative and finite with a positive sum")
        return w / w.sum()

    a_t = torch.as_tensor(weights(a, xs.shape[0], "a"))
    b_t = torch.as_tensor(weights(b, yt.shape[0], "b"))
    M = 0.5 * torch.cdist(xs, yt) ** 2
    # ε-scaling: solve for a large ε first and halve it, warm-starting each solve from the last
    # one's potentials (log u = f/ε), down to the requested ε; only the last solve uses ``tol``
    e = max(eps, float(M.mean())) if eps_scaling else eps
    warm, total = None, 0
    while True:
        last = e <= eps
        _, log = ot.sinkhorn(a_t, b_t, M, e, method="sinkhorn_log", numItermax=max_iter,
                             stopThr=tol if last else max(tol, 1e-4), log=True, warmstart=warm, warn=False)
        total += int(log["niter"]) + 1
        if last:
            break
        e_next = max(eps, 0.5 * e)
        warm = (log["log_u"] * (e / e_next), log["log_v"] * (e / e_next))
        e = e_next
    err = float(log["err"][-1]) if len(log["err"]) else float("nan")
    if not err <= 10 * tol:
        warnings.warn(f"entropic_map: Sinkhorn stopped at marginal error {err:.2g} > tol={tol:g} after "
                      f"{max_iter} iterations; raise max_iter or eps", RuntimeWarning, stacklevel=2)
    # POT's plan is diag(u) K diag(v) with K = exp(-M/ε): π_ij = exp((f_i + g_j − M_ij)/ε) with
    # f = ε log u, g = ε log v. (With non-uniform b, g carries the ε log b_j term.)
    return EntropicMap(yt, eps * log["log_v"].double(), eps, total, err)
