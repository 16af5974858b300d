"""Monotone gradient networks (mGradNets) and an unconstrained baseline.

Every network here maps a batch ``x`` of shape ``(n, d)`` to ``T(x)`` of the
same shape. The two mGradNets are gradients of convex potentials by
construction, and expose that potential and the Jacobian ``J = ∇²u`` in closed
form:

``T(x) = T_nl(x) + (L Lᵀ + ε I) x + c``

where ``T_nl`` is the paper's nonlinear part and the affine part is the
optional strongly convex term (``strongly_convex=True``, the default). It
makes ``J ⪰ ε I`` full rank in every dimension, which the paper's narrow nets
(rank ``J ≤`` width) cannot be.

``log det J`` has two paths (:meth:`MonotoneGradientNet.forward_and_logdet`).
Both nets have ``J = A + Eᵀ H(x) E`` with ``A = L Lᵀ + ε I`` shared by the batch,
``E`` the ``r × d`` embedding and ``H(x) ⪰ 0`` an ``r × r`` matrix (diagonal for
mGradNet-C, block diagonal for mGradNet-M). The *full* path builds ``J`` and
factorises it per sample (``O(d³)``); the *low-rank* path uses the matrix
determinant lemma, ``log det J = log det A + log det(I_r + H(x) E A⁻¹ Eᵀ)``: one
``d × d`` Cholesky per step and an ``r × r`` LU per sample.

Both nets work on a pre-whitened input ``P (x - m)``: ``P`` and ``m`` are fixed
buffers (identity and zero until :meth:`warm_start` sets them from data), so
Adam sees well-scaled weights whatever the scale of the problem.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from . import _checks

__all__ = ["MGradNetC", "MGradNetM", "MLPMap", "MonotoneGradientNet", "logdet_spd"]


def _inv_softplus(y):
    y = torch.as_tensor(y, dtype=torch.float32)
    return y + torch.log(-torch.expm1(-y))


def logdet_spd(J):
    """``log det J`` for a batch of symmetric positive-definite matrices.

    Closed form for d <= 2, a Cholesky factorisation otherwise. A matrix that is
    not positive definite gives NaN (in every dimension, d = 1 and 2 included)
    rather than raising; a singular positive semi-definite one gives ``-inf``
    (or NaN where rounding makes it indefinite).

    Low-precision fallback: a float32 (or half) Cholesky can fail on a matrix that
    *is* positive definite but badly conditioned (condition number beyond ~1e7).
    When any matrix of the batch fails in low precision, the whole batch is
    factorised again in float64 and the result is cast back to ``J``'s dtype, so
    such a matrix gets its true, finite log-determinant. This check costs one
    host synchronisation per call for float32/half input (none for float64).
    """
    if not isinstance(J, torch.Tensor):
        raise TypeError(f"J must be a torch.Tensor of shape (..., d, d), got {type(J).__name__}")
    if J.ndim < 2 or J.shape[-1] != J.shape[-2] or J.shape[-1] == 0:
        raise ValueError(f"J must have shape (..., d, d) with d >= 1, got {tuple(J.shape)}")
    if not J.is_floating_point():
        raise TypeError(f"J must be a floating-point tensor, got {J.dtype}")
    d = J.shape[-1]
    if d == 1:
        return torch.log(J[..., 0, 0])
    if d == 2:
        a = J[..., 0, 0]
        det = a * J[..., 1, 1] - J[..., 0, 1] * J[..., 1, 0]
        # det > 0 alone also holds for negative-definite matrices: require a > 0 too
        return torch.where(a > 0, torch.log(det), torch.full_like(det, float("nan")))
    L, info = torch.linalg.cholesky_ex(J)
    if J.dtype in (torch.float32, torch.float16, torch.bfloat16) and bool((info != 0).any()):
        L, info = torch.linalg.cholesky_ex(J.double())
        out = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
        out = torch.where(info == 0, out, torch.full_like(out, float("nan")))
        return out.to(J.dtype)
    out = 2.0 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)
    return torch.where(info == 0, out, torch.full_like(out, float("nan")))


_SYM_INDEX = {}
# logdet_path="auto": the low-rank path when r <= ratio·d (crossover: benchmarks/train_step.py --crossover)
_LOW_RANK_MAX_RATIO = 1.0
_LOGDET_PATHS = ("auto", "full", "low_rank")
_BLOCKDIAG_MAX = 64  # MGradNetM fast path: largest K·d for the block-diagonal trick (CPU: on par with bmm at K·d=64)


def _sym_index(d, device):
    """Indices (i, j), i <= j, of the unique entries of a symmetric d×d matrix, and
    for each of the d² entries of the full matrix the position of its unique entry."""
    key = (d, str(device))
    if key not in _SYM_INDEX:
        # built outside inference mode even when first called under torch.inference_mode():
        # an inference tensor in this cache would break every later training step
        # ("Inference tensors cannot be saved for backward")
        with torch.inference_mode(False):
            _SYM_INDEX[key] = _build_sym_index(d, device)
    return _SYM_INDEX[key]


def _build_sym_index(d, device):
    iu = torch.triu_indices(d, d, device=device)
    pos = torch.empty(d, d, dtype=torch.long, device=device)
    pos[iu[0], iu[1]] = torch.arange(iu.shape[1], device=device)
    pos[iu[1], iu[0]] = torch.arange(iu.shape[1], device=device)
    return iu[0], iu[1], pos.reshape(-1)


def _outer_unique(E):
    """Rows ``E_r`` of (m, d) -> (m, d(d+1)/2) unique entries of ``E_r E_rᵀ``."""
    i, j, _ = _sym_index(E.shape[1], E.device)
    return E[:, i] * E[:, j]


def _unpack_sym(u, d):
    """(n, d(d+1)/2) unique entries -> (n, d, d) symmetric matrices (one gather)."""
    _, _, pos = _sym_index(d, u.device)
    return u[:, pos].reshape(-1, d, d)


class MonotoneGradientNet(nn.Module):
    """Shared machinery: input whitening, strongly convex affine part, closed forms.

    Subclasses implement ``_nonlinear(z, need_jac)`` on whitened inputs
    ``z = (x - m) Pᵀ`` returning ``(u_nl or None, grad_z, gvec, low_rank)`` where
    the Jacobian wrt ``z`` is ``Eᵀ diag(gvec) E - Σ_k c_k v_k v_kᵀ`` with ``E``
    the subclass's embedding matrix (rows) and ``low_rank = (c, v)`` or None.

    ``jacobian_is_spd = True`` is the public flag of the Jacobian protocol: the ``J``
    returned by :meth:`forward_and_jacobian` is symmetric positive (semi-)definite by
    construction, so ``log det J`` may use a Cholesky factorisation
    (:func:`logdet_spd`). Any other map may set the same attribute on itself.
    """

    jacobian_is_spd = True

    def __init__(self, dim, *, strongly_convex=True, eps=1e-3):
        super().__init__()
        self.dim = _checks.positive_int(dim, "dim")
        self.strongly_convex = bool(strongly_convex)
        self.eps = _checks.positive_float(eps, "eps", allow_zero=True) if strongly_convex else 0.0
        self.register_buffer("in_shift", torch.zeros(dim))
        self.register_buffer("in_precond", torch.eye(dim))
        # set by warm_start(); gn.fit(warm_start="auto") does not warm-start a model twice
        self.register_buffer("warm_started", torch.tensor(False))
        self.bias_out = nn.Parameter(torch.zeros(dim))
        self.logdet_path = "auto"  # "auto" | "full" | "low_rank": see uses_low_rank_logdet()
        if self.strongly_convex:
            self.quad = nn.Parameter(0.1 * torch.eye(dim))  # L; the PSD term is L Lᵀ + εI

    # -- pieces subclasses provide --------------------------------------
    def _embedding(self):
        raise NotImplementedError

    def _nonlinear(self, z, need_jac, need_potential=False):
        raise NotImplementedError

    # -- affine part -----------------------------------------------------
    def quadratic_matrix(self):
        """The PSD matrix ``A = L Lᵀ + ε I`` of the strongly convex part (or None)."""
        if not self.strongly_convex:
            return None
        eye = torch.eye(self.dim, device=self.quad.device, dtype=self.quad.dtype)
        return self.quad @ self.quad.T + self.eps * eye

    def _whiten(self, x):
        return (x - self.in_shift) @ self.in_precond.T

    def _check(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (n, {self.dim}), got {type(x).__name__}")
        x = _checks.batch(x, self.dim, "x")
        ref = self.in_precond
        if x.dtype != ref.dtype:
            raise TypeError(f"x is {x.dtype} but the model is {ref.dtype}: convert one to the other "
                            f"(x.to({ref.dtype}) or model.to({x.dtype}))")
        if x.device != ref.device:
            raise ValueError(f"x is on {x.device} but the model is on {ref.device}: move one to the other "
                             f"(x.to('{ref.device}') or model.to('{x.device}'))")
        return _checks.check_finite(x, "x")

    # -- public closed forms --------------------------------------------
    def forward(self, x):
        x = self._check(x)
        _, gz, _, _ = self._nonlinear(self._whiten(x), need_jac=False)
        out = gz @ self.in_precond + self.bias_out
        A = self.quadratic_matrix()
        if A is not None:
            out = out + x @ A
        return out

    def forward_and_jacobian(self, x):
        """``(T(x), J(x))`` from one pass over shared intermediates.

        ``J`` is symmetric PSD (``jacobian_is_spd`` is True), and positive definite
        with the strongly convex term.
        """
        return self._fused(self._check(x))

    def _fused(self, x):
        # unchecked fused pass used inside the training step (no host sync)
        _, gz, gvec, low_rank = self._nonlinear(self._whiten(x), need_jac=True)
        P = self.in_precond
        T = gz @ P + self.bias_out
        E = self._embedding() @ P  # rows of the effective embedding, (m, d)
        # J = Eᵀ diag(g) E as one matmul against the outer products of E's rows,
        # restricted to the d(d+1)/2 unique entries (J is symmetric)
        J = _unpack_sym(gvec @ _outer_unique(E), self.dim)
        if low_rank is not None:
            c, v = low_rank  # (n, K), (n, K, d) in whitened coordinates
            v = v @ P
            J = J - (c[:, :, None] * v).transpose(1, 2) @ v
        A = self.quadratic_matrix()
        if A is not None:
            T = T + x @ A
            J = J + A
        return T, J

    # -- log det J without a d×d factorisation per sample -------------------
    def low_rank_width(self):
        """``r``: the number of embedding rows, which bounds the rank of ``J - A``."""
        return self._embedding().shape[0]

    def uses_low_rank_logdet(self):
        """Whether :meth:`forward_and_logdet` (and so the training loss) takes the low-rank path.

        Set ``model.logdet_path`` to ``"full"`` (build ``J``, one ``d×d`` Cholesky per
        sample), ``"low_rank"`` (matrix determinant lemma, one ``r×r`` LU per sample) or
        ``"auto"`` (the default): low-rank when the net has an invertible ``A``
        (``strongly_convex=True`` with ``eps > 0``) and ``r <= d``, where it was measured
        to be at least as fast as the full path (``benchmarks/train_step.py --sweep``).
        """
        path = getattr(self, "logdet_path", "auto")
        if path not in _LOGDET_PATHS:
            raise ValueError(f"logdet_path must be one of {_LOGDET_PATHS}, got {path!r}")
        if path == "full":
            return False
        possible = self.strongly_convex and self.eps > 0 and type(self)._low_rank_terms \
            is not MonotoneGradientNet._low_rank_terms
        if path == "low_rank":
            if not possible:
                raise ValueError("logdet_path='low_rank' needs strongly_convex=True with eps > 0 (an invertible "
                                 "A = L Lᵀ + εI); use 'auto' or 'full'")
            return True
        return possible and self.low_rank_width() <= _LOW_RANK_MAX_RATIO * self.dim

    def forward_and_logdet(self, x):
        """``(T(x), log det J(x))``, by the cheaper of two exact paths (see :meth:`uses_low_rank_logdet`).

        Like :func:`logdet_spd`, a matrix that is not positive definite gives NaN.
        """
        return self._fused_logdet(self._check(x))

    def _low_rank_terms(self, x, B):
        """Subclasses: ``(T_nl(x) + bias, H(x) B)`` with ``B = E A⁻¹ Eᵀ`` (r×r), ``H B`` of shape (n, r, r)."""
        raise NotImplementedError

    def _fused_logdet(self, x):
        # unchecked, no host sync: the training loss goes through here
        if not self.uses_low_rank_logdet():
            T, J = self._fused(x)
            return T, logdet_spd(J)
        # J = A + Eᵀ H E with A SPD: det J = det A · det(I_d + A⁻¹ Eᵀ H E) = det A · det(I_r + H E A⁻¹ Eᵀ)
        # (Sylvester). H ⪰ 0 may have zero entries (saturated sigmoids, underflowed softmax), so no H^{1/2}:
        # I + H B is not symmetric, but its eigenvalues are those of I + H^{1/2} B H^{1/2} (all >= 1),
        # and its LU needs no square root, so the gradient stays finite where H has zeros.
        A = self.quadratic_matrix()
        LA, info = torch.linalg.cholesky_ex(A)
        E = self._embedding() @ self.in_precond  # (r, d) embedding in x coordinates
        F = torch.linalg.solve_triangular(LA, E.T, upper=False)  # L_A⁻¹ Eᵀ, (d, r)
        B = F.T @ F  # E A⁻¹ Eᵀ, once per step
        T, HB = self._low_rank_terms(x, B)
        T = T + x @ A
        eye = torch.eye(B.shape[0], device=B.device, dtype=B.dtype)
        sign, logabs = torch.linalg.slogdet(HB + eye)
        out = 2.0 * torch.log(torch.diagonal(LA)).sum() + logabs
        ok = (sign > 0) & (info == 0)
        return T, torch.where(ok, out, torch.full_like(out, float("nan")))

    def jacobian(self, x):
        """Closed-form Jacobian ``J(x) = ∇²u(x)``, shape ``(n, d, d)``, symmetric PSD."""
        return self.forward_and_jacobian(x)[1]

    def potential(self, x):
        """The convex potential ``u(x)`` with ``∇u = T``, shape ``(n,)``."""
        x = self._check(x)
        u, _, _, _ = self._nonlinear(self._whiten(x), need_jac=False, need_potential=True)
        u = u + x @ self.bias_out
        A = self.quadratic_matrix()
        if A is not None:
            u = u + 0.5 * ((x @ A) * x).sum(1)
        return u

    # -- initialisation from data ---------------------------------------
    @torch.no_grad()
    def warm_start(self, x_source, x_target, nonlinear_scale=0.1):
        """Initialise from samples: whiten inputs and set the affine part to the
        closed-form Gaussian (Bures) map between the samples' first two moments.

        The nonlinear part is scaled down to ``nonlinear_scale`` of its output
        so that training starts from the best affine map and learns the rest.
        """
        from .reference import gaussian_ot_matrix

        xs = _checks.check_finite(_checks.batch(x_source, self.dim, "x_source"), "x_source").double()
        xt = _checks.check_finite(_checks.batch(x_target, self.dim, "x_target"), "x_target").double()
        if xs.shape[0] < 2 or xt.shape[0] < 2:
            raise ValueError("warm_start needs at least 2 samples of each density")
        ms, mt = xs.mean(0), xt.mean(0)
        eye = torch.eye(self.dim, dtype=torch.float64, device=xs.device)
        cs = torch.cov(xs.T).reshape(self.dim, self.dim) + 1e-8 * eye
        ct = torch.cov(xt.T).reshape(self.dim, self.dim) + 1e-8 * eye
        evals, evecs = torch.linalg.eigh(cs)
        floor = 1e-6 * float(evals.max())
        inv_sqrt = evecs @ torch.diag(evals.clamp_min(floor).rsqrt()) @ evecs.T
        self.in_shift.copy_(ms.to(self.in_shift))
        self.in_precond.copy_(inv_sqrt.to(self.in_precond))
        A = gaussian_ot_matrix(cs, ct)
        if self.strongly_convex:
            w, V = torch.linalg.eigh(A)
            w = (w - self.eps).clamp_min(1e-6)
            self.quad.copy_((V @ torch.diag(w.sqrt()) @ V.T).to(self.quad))
            shift = mt - ms @ A
        else:
            shift = mt - ms
        self._scale_nonlinear(nonlinear_scale)
        self.bias_out.copy_(shift.to(self.bias_out))
        # remove the nonlinear part's output at the source mean so T(ms) ≈ mt
        _, gz, _, _ = self._nonlinear(torch.zeros(1, self.dim, device=xs.device, dtype=self.in_shift.dtype),
                                      need_jac=False)
        self.bias_out.sub_((gz @ self.in_precond)[0])
        self.warm_started.fill_(True)
        return self

    def _scale_nonlinear(self, scale):
        raise NotImplementedError


class MGradNetC(MonotoneGradientNet):
    """Cascaded monotone gradient network (mGradNet-C).

    One shared embedding ``W`` (``embed_dim × dim``). With ``s = W z + b`` the
    potential is ``u(z) = Σ_e α_e ψ_e(s_e)`` where each ``ψ_e`` is a 1-D convex
    cascade::

        h_0 = s,   h_l = a_l ⊙ s + b_l + softplus(h_{l-1})   (l = 1..L)

    (softplus is convex and increasing, so each ``h_l`` is convex in ``s``).
    The gradient is ``Wᵀ (α ⊙ h_L'(s))`` with the cascade
    ``h_l' = a_l + sigmoid(h_{l-1}) ⊙ h_{l-1}'``, and the Jacobian is
    ``Wᵀ diag(α ⊙ h_L''(s)) W`` with ``h_L'' ≥ 0``: monotone by construction.
    """

    def __init__(self, dim, embed_dim=64, num_layers=3, *, strongly_convex=True, eps=1e-3):
        super().__init__(dim, strongly_convex=strongly_convex, eps=eps)
        m = _checks.positive_int(embed_dim, "embed_dim")
        L = _checks.positive_int(num_layers, "num_layers")
        self.embed_dim, self.num_layers = m, L
        self.W = nn.Parameter(torch.randn(m, dim) / math.sqrt(dim))
        self.b = nn.Parameter(0.5 * torch.randn(m))
        self.a = nn.Parameter(0.1 * torch.randn(L, m))
        self.bl = nn.Parameter(0.1 * torch.randn(L, m))
        self.alpha_raw = nn.Parameter(_inv_softplus(torch.full((m,), 1.0 / math.sqrt(m))))

    def _embedding(self):
        return self.W

    def _scale_nonlinear(self, scale):
        self.alpha_raw.copy_(_inv_softplus(F.softplus(self.alpha_raw) * scale))

    def _nonlinear(self, z, need_jac, need_potential=False):
        s = z @ self.W.T + self.b
        h, dh = s, torch.ones_like(s)
        d2h = torch.zeros_like(s) if need_jac else None
        for l in range(self.num_layers):
            sig = torch.sigmoid(h)
            if need_jac:
                d2h = sig * (1 - sig) * dh * dh + sig * d2h
            dh = self.a[l] + sig * dh
            if need_potential or l < self.num_layers - 1:
                h = self.a[l] * s + self.bl[l] + torch.logaddexp(h, torch.zeros_like(h))  # exact softplus (no threshold)
        alpha = F.softplus(self.alpha_raw)
        grad_z = (alpha * dh) @ self.W
        u = (alpha * h).sum(1) if need_potential else None
        gvec = alpha * d2h if need_jac else None
        return u, grad_z, gvec, None

    def _low_rank_terms(self, x, B):
        # H = diag(α ⊙ h_L''(s)): H B scales the rows of B
        _, gz, gvec, _ = self._nonlinear(self._whiten(x), need_jac=True)
        return gz @ self.in_precond + self.bias_out, gvec[:, :, None] * B


class MGradNetM(MonotoneGradientNet):
    """Modular monotone gradient network (mGradNet-M).

    ``T_nl(z) = Σ_k α_k W_kᵀ softmax(β_k (W_k z + b_k))`` — the gradient of the
    convex potential ``Σ_k (α_k/β_k) logsumexp(β_k (W_k z + b_k))`` — with
    ``α_k, β_k > 0``. Its Jacobian is
    ``Σ_k α_k β_k W_kᵀ (diag p_k − p_k p_kᵀ) W_k ⪰ 0``.

    The default size, 16 modules of 32 units, was chosen by ``benchmarks/teacher_ablation.py``
    (``results/teacher_budget_*.md``): on pairs with known non-affine maps it lowered the
    L2-UVP by about 1.5–1.9x against 8 modules at ``gn.fit``'s default budget, while on the
    Gaussian pairs its error was 0.85x (d = 8) and 1.01x (d = 16) that of 8 modules, within
    the spread over seeds; it took about 15–60 % more time per run (on a shared 2-core CPU).
    """

    def __init__(self, dim, num_modules=16, embed_dim=32, *, strongly_convex=True, eps=1e-3):
        super().__init__(dim, strongly_convex=strongly_convex, eps=eps)
        K = _checks.positive_int(num_modules, "num_modules")
        m = _checks.positive_int(embed_dim, "embed_dim")
        self.num_modules, self.embed_dim = K, m
        self.W = nn.Parameter(torch.randn(K, m, dim) / math.sqrt(dim))
        self.b = nn.Parameter(0.5 * torch.randn(K, m))
        self.beta_raw = nn.Parameter(_inv_softplus(torch.ones(K)))
        self.alpha_raw = nn.Parameter(_inv_softplus(torch.full((K,), 1.0 / K)))

    def _embedding(self):
        return self.W.reshape(-1, self.dim)

    def _scale_nonlinear(self, scale):
        self.alpha_raw.copy_(_inv_softplus(F.softplus(self.alpha_raw) * scale))

    def _nonlinear(self, z, need_jac, need_potential=False):
        K, m = self.num_modules, self.embed_dim
        beta = F.softplus(self.beta_raw)
        alpha = F.softplus(self.alpha_raw)
        pre = (z @ self.W.reshape(K * m, self.dim).T).reshape(-1, K, m) + self.b
        logits = beta[:, None] * pre
        p = torch.softmax(logits, dim=-1)
        ap = (alpha[:, None] * p).reshape(-1, K * m)
        grad_z = ap @ self.W.reshape(K * m, self.dim)
        u = gvec = low = None
        if need_potential:
            u = ((alpha / beta) * torch.logsumexp(logits, dim=-1)).sum(1)
        if need_jac:
            ab = alpha * beta
            gvec = (ab[:, None] * p).reshape(-1, K * m)
            v = torch.einsum("nkm,kmd->nkd", p, self.W)  # W_kᵀ p_k
            low = (ab.expand(p.shape[0], K), v)
        return u, grad_z, gvec, low

    def _probs_x(self, x):
        """``α, β``, the embedding ``We`` (K, m, d) in x coordinates, and the softmax ``p`` (n, K, m).

        Whitening, β and b are folded into one small weight: logits = x Ŵᵀ + b̂ (one addmm).
        """
        K, m, d = self.num_modules, self.embed_dim, self.dim
        beta = F.softplus(self.beta_raw)
        alpha = F.softplus(self.alpha_raw)
        We = (self.W.reshape(K * m, d) @ self.in_precond).reshape(K, m, d)
        be = self.b - We @ self.in_shift  # (K, m)
        logits = torch.addmm((beta[:, None] * be).reshape(-1), x,
                             (beta[:, None, None] * We).reshape(K * m, d).T)
        return alpha, beta, We, torch.softmax(logits.view(-1, K, m), dim=-1)

    def _low_rank_terms(self, x, B):
        # H = blockdiag_k α_k β_k (diag p_k − p_k p_kᵀ) ⪰ 0: the softmax's rank-K negative part
        # −Σ α_k β_k v_k v_kᵀ (v_k = W_kᵀ p_k) is inside H, so I + H B keeps eigenvalues >= 1.
        # Row block k of H B is α_k β_k p_k ⊙ (B_k − p_kᵀ B_k), with B_k the rows of B in block k.
        K, m, d = self.num_modules, self.embed_dim, self.dim
        alpha, beta, We, p = self._probs_x(x)
        T = (alpha[:, None] * p).reshape(-1, K * m) @ We.reshape(K * m, d) + self.bias_out
        Bk = B.view(K, m, K * m)
        pB = torch.bmm(p.transpose(0, 1), Bk).transpose(0, 1)  # (n, K, r): p_kᵀ B_k
        HB = ((alpha * beta)[:, None] * p)[..., None] * (Bk - pB[:, :, None, :])
        return T, HB.reshape(-1, K * m, K * m)

    def _fused(self, x):
        # Fast training path (same closed forms as the generic ``_fused``, reorganised
        # so that only three ops touch the (n, K·m) activations in the forward pass):
        #  * whitening, β and b are folded into one small weight: logits = x Ŵᵀ + b̂ (one addmm, _probs_x);
        #  * T_nl, the diagonal part Σ αβ Wᵀ diag(p) W (unique entries) and the per-module
        #    vectors v_k = W_kᵀ p_k all come from ONE matmul of p against a column-stacked
        #    (K·m, d + d(d+1)/2 + K·d) matrix, so backward also touches p only once.
        K, m, d = self.num_modules, self.embed_dim, self.dim
        alpha, beta, We, p = self._probs_x(x)
        p = p.view(-1, K * m)
        ab = alpha * beta
        nu = d * (d + 1) // 2
        cols = [(alpha[:, None, None] * We).reshape(K * m, d),                     # -> T_nl
                (ab[:, None, None] * _outer_unique(We.reshape(K * m, d)).view(K, m, nu)).reshape(K * m, nu)]
        blockdiag = K * d <= _BLOCKDIAG_MAX
        if blockdiag:  # few modules: v_k from the same matmul, via a block-diagonal (K·m, K·d) block
            eyeK = torch.eye(K, device=x.device, dtype=x.dtype)
            cols.append((We[:, :, None, :] * eyeK[:, None, :, None]).reshape(K * m, K * d))
        out = p @ torch.cat(cols, dim=1)
        T = out[:, :d] + self.bias_out
        if blockdiag:
            v = out[:, d + nu:].reshape(-1, K, d)
        else:  # many modules: a batched matmul is cheaper than a mostly-zero block
            v = torch.bmm(p.view(-1, K, m).transpose(0, 1), We).transpose(0, 1)
        J = _unpack_sym(out[:, d:d + nu], d) - (ab[:, None] * v).transpose(1, 2) @ v
        A = self.quadratic_matrix()
        if A is not None:
            T = T + x @ A
            J = J + A
        return T, J


class MLPMap(nn.Module):
    """Unconstrained baseline ``T(x) = x + MLP(x)``: no convexity, no monotonicity.

    Trained on the same Monge–Ampère loss it can push the source onto the
    target, but nothing makes it the *optimal* map.
    """

    def __init__(self, dim, hidden=64, num_layers=3, activation="softplus"):
        super().__init__()
        self.dim = _checks.positive_int(dim, "dim")
        hidden = _checks.positive_int(hidden, "hidden")
        num_layers = _checks.positive_int(num_layers, "num_layers")
        acts = {"softplus": nn.Softplus, "tanh": nn.Tanh, "silu": nn.SiLU, "gelu": nn.GELU}
        if activation not in acts:
            raise ValueError(f"activation must be one of {sorted(acts)}, got {activation!r}")
        layers, width = [], self.dim
        for _ in range(num_layers):
            layers += [nn.Linear(width, hidden), acts[activation]()]
            width = hidden
        layers.append(nn.Linear(width, self.dim))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"x must be a torch.Tensor of shape (n, {self.dim})")
        x = _checks.check_finite(_checks.batch(x, self.dim, "x"), "x")
        return x + self.net(x)
