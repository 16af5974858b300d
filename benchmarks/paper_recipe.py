"""The paper's public training recipe, re-implemented as the autodiff baseline.

What "the recipe" means here (our own code, written from the paper's description):

* the paper's plain nets: mGradNet-M / mGradNet-C **without** the strongly
  convex affine term and **without** input whitening (``PaperMGradNetM``,
  ``PaperMGradNetC``); they only implement ``forward`` -- no closed forms;
* the Jacobian by ``torch.func.vmap(jacrev(model))`` and the log-determinant by
  ``torch.linalg.slogdet``;
* source and target as ``torch.distributions`` objects: ``MultivariateNormal``
  for Gaussians, ``MixtureSameFamily`` of ``Independent(Normal)`` for the
  isotropic image mixtures;
* a fresh batch of 1000 source samples every step, Adam with lr 1e-2 (no
  schedule, no clipping), and the loss read back with ``.item()`` every step
  for logging, as the paper's script does.

Import it from other scripts::

    from benchmarks.paper_recipe import Recipe, PaperMGradNetM, to_distribution
    rec = Recipe(PaperMGradNetM(2, 4, 32), to_distribution(src), to_distribution(tgt))
    rec.run(1000)

The loss is the same L1 Monge-Ampere residual that ``gn.fit`` minimises
(``p=1``), so the two code paths optimise the same objective.
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.func import functional_call, jacrev, vmap
from torch.nn import functional as F

__all__ = ["PaperMGradNetM", "PaperMGradNetC", "to_distribution", "mixture_distribution",
           "gaussian_distribution", "Recipe", "recipe_loss",
           "PaperCodeMGradNetM", "FullCovMixture", "PaperCodeLoop"]


class PaperMGradNetM(nn.Module):
    """mGradNet-M as in the paper: ``T(x) = sum_k a_k W_k^T sigma_k(b_k (W_k x + c_k)) + bias``.

    ``two_sided=False``: ``sigma_k = softmax`` (the gradient of log-sum-exp).
    ``two_sided=True``: the paper's two-sided module activation
    ``sigma_k(z) = softplus(p_k) softmax(z) - softplus(q_k) softmin(z)``, the gradient of the
    convex ``softplus(p_k) lse(z) + softplus(q_k) lse(-z)`` (two learnable scalars per module,
    raw value 0.5 at init as in the public code), vectorised over the modules.
    """

    def __init__(self, dim, num_modules=4, embed_dim=32, two_sided=False):
        super().__init__()
        self.dim, self.K, self.m = dim, num_modules, embed_dim
        self.two_sided = bool(two_sided)
        self.W = nn.Parameter(torch.randn(num_modules, embed_dim, dim) / math.sqrt(dim))
        self.b = nn.Parameter(0.5 * torch.randn(num_modules, embed_dim))
        self.beta_raw = nn.Parameter(torch.full((num_modules,), 0.5413))   # softplus^-1(1)
        self.alpha_raw = nn.Parameter(torch.full((num_modules,), math.log(math.expm1(1.0 / num_modules))))
        if self.two_sided:
            self.max_raw = nn.Parameter(torch.full((num_modules,), 0.5))
            self.min_raw = nn.Parameter(torch.full((num_modules,), 0.5))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        beta, alpha = F.softplus(self.beta_raw), F.softplus(self.alpha_raw)
        z = beta[:, None] * (torch.einsum("kmd,nd->nkm", self.W, x) + self.b)
        p = torch.softmax(z, dim=-1)
        if self.two_sided:
            p = F.softplus(self.max_raw)[:, None] * p - F.softplus(self.min_raw)[:, None] * torch.softmax(-z, dim=-1)
        return torch.einsum("nkm,kmd->nd", alpha[:, None] * p, self.W) + self.bias


class PaperMGradNetC(nn.Module):
    """mGradNet-C as in the paper: a cascade of monotone activations sharing one embedding ``W``.

    ``T(x) = W^T (alpha * h_L'(Wx + b)) + bias`` with the derivative cascade
    ``h_l' = a_l + sigmoid(h_{l-1}) h_{l-1}'`` (the gradient of a sum of
    1-D convex cascades ``h_l = a_l s + b_l + softplus(h_{l-1})``).
    """

    def __init__(self, dim, embed_dim=32, num_layers=3):
        super().__init__()
        self.dim, self.m, self.L = dim, embed_dim, num_layers
        self.W = nn.Parameter(torch.randn(embed_dim, dim) / math.sqrt(dim))
        self.b = nn.Parameter(0.5 * torch.randn(embed_dim))
        self.a = nn.Parameter(0.1 * torch.randn(num_layers, embed_dim))
        self.bl = nn.Parameter(0.1 * torch.randn(num_layers, embed_dim))
        self.alpha_raw = nn.Parameter(torch.full((embed_dim,), math.log(math.expm1(1.0 / math.sqrt(embed_dim)))))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        s = x @ self.W.T + self.b
        h, dh = s, torch.ones_like(s)
        for l in range(self.L):
            dh = self.a[l] + torch.sigmoid(h) * dh
            if l < self.L - 1:
                h = self.a[l] * s + self.bl[l] + F.softplus(h)
        return (F.softplus(self.alpha_raw) * dh) @ self.W + self.bias


class _TwoSidedSoftmax(nn.Module):
    """``softplus(a) softmax(z) - softplus(c) softmin(z)``: the gradient of the convex
    ``softplus(a) lse(z) + softplus(c) lse(-z)``; two learnable scalars (the public code's activation)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.5))
        self.c = nn.Parameter(torch.tensor(0.5))

    def forward(self, z):
        return F.softplus(self.a) * torch.softmax(z, -1) - F.softplus(self.c) * torch.softmax(-z, -1)


class _PaperCodeModule(nn.Module):
    def __init__(self, dim, embed_dim):
        super().__init__()
        self.W = nn.Parameter(nn.init.xavier_uniform_(torch.empty(embed_dim, dim)))
        self.b = nn.Parameter(torch.zeros(embed_dim))
        self.beta = nn.Parameter(torch.rand(1))
        self.act = _TwoSidedSoftmax()

    def forward(self, x):
        return self.act(F.softplus(self.beta) * F.linear(x, self.W, self.b)) @ self.W


class PaperCodeMGradNetM(nn.Module):
    """mGradNet-M **structured like the paper's public code**, for timing its per-step cost.

    Unlike the vectorised ``PaperMGradNetM``, the ``K`` modules are separate
    ``nn.Module``s summed in a Python loop, and each module's activation is the
    two-sided softmax above (a softmax and a softmin per module). Mathematically it is
    still an mGradNet-M; what changes is the number of (small) kernels per step, which
    is what makes the public code launch-bound on a GPU.
    """

    def __init__(self, dim, num_modules=4, embed_dim=32):
        super().__init__()
        self.dim = dim
        self.blocks = nn.ModuleList(_PaperCodeModule(dim, embed_dim) for _ in range(num_modules))
        self.alpha = nn.Parameter(torch.rand(num_modules))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x):
        out = 0
        for k, block in enumerate(self.blocks):
            out = out + F.softplus(self.alpha[k]) * block(x)
        return out + self.bias


# -- densities as torch.distributions ----------------------------------------------

def gaussian_distribution(mean, cov):
    return torch.distributions.MultivariateNormal(torch.as_tensor(mean, dtype=torch.float32),
                                                  covariance_matrix=torch.as_tensor(cov, dtype=torch.float32))


def mixture_distribution(weights, means, bandwidth):
    """Isotropic mixture ``sum_k w_k N(means_k, bandwidth^2 I)`` through ``torch.distributions``."""
    means = torch.as_tensor(means, dtype=torch.float32)
    weights = torch.as_tensor(weights, dtype=torch.float32)
    comp = torch.distributions.Independent(
        torch.distributions.Normal(means, torch.full_like(means, float(bandwidth))), 1)
    return torch.distributions.MixtureSameFamily(torch.distributions.Categorical(probs=weights / weights.sum()),
                                                 comp)


class _TorchStyle:
    """A gn density with no torch.distributions twin (e.g. ``UniformShape``) in the call style the
    recipe uses: ``sample(shape)`` and ``log_prob(x)``."""

    def __init__(self, density):
        self.density = density

    def sample(self, shape):
        return self.density.sample(shape[0])

    def log_prob(self, x):
        return self.density.log_prob(x)


def to_distribution(density, device="cpu"):
    """Turn a ``gn.Gaussian`` / ``gn.GaussianMixture`` (or ``ImageDensity``) into its torch distribution;
    any other gn density (``UniformShape``...) is wrapped as it is, on ``device``."""
    if hasattr(density, "means") and hasattr(density, "bandwidth"):
        return mixture_distribution(density.weights.to(device), density.means.to(device), density.bandwidth)
    if hasattr(density, "mean") and hasattr(density, "cov"):
        return gaussian_distribution(density.mean.to(device), density.cov.to(device))
    if isinstance(density, torch.distributions.Distribution):
        return density
    if hasattr(density, "sample") and hasattr(density, "log_prob") and hasattr(density, "to"):
        return _TorchStyle(density.to(device))
    if hasattr(density, "sample") and hasattr(density, "log_prob") and torch.device(device).type == "cpu":
        return _TorchStyle(density)  # e.g. a teacher-potential target: CPU tensors already
    raise TypeError(f"no torch.distributions equivalent for {type(density).__name__}")


class FullCovMixture:
    """A mixture the way the public morph script builds one, every training step.

    ``Categorical`` weights plus a batch of ``MultivariateNormal`` components with a
    full ``(N, 2, 2)`` covariance each (``bandwidth * I``, as in the public code, where the
    bandwidth is a variance). ``sample(n)`` draws one point from *every* component for
    each of the ``n`` samples and keeps the one the categorical picked; ``log_prob``
    evaluates all components and takes a ``logsumexp``. Semantics only: our own code.
    """

    def __init__(self, weights, means, variance):
        n, d = means.shape
        self.cat = torch.distributions.Categorical(probs=weights / weights.sum())
        cov = torch.eye(d, device=means.device).expand(n, d, d) * variance
        self.comp = torch.distributions.MultivariateNormal(loc=means, covariance_matrix=cov)

    def sample(self, shape):
        n = shape[0] if isinstance(shape, tuple) else int(shape)
        pick = self.cat.sample((n,))
        every = self.comp.sample((n,))  # (n, N, d)
        return every[torch.arange(n, device=every.device), pick]

    def log_prob(self, x):
        return torch.logsumexp(torch.log(self.cat.probs) + self.comp.log_prob(x[..., None, :]), dim=-1)


class PaperCodeLoop:
    """One training step as the public morph script takes it (the faithful baseline).

    Per step: rebuild both mixtures at the annealed bandwidth (``FullCovMixture``),
    sample 1000 points, ``vmap(jacrev)`` + ``slogdet``, L1 residual, backward,
    ``clip_grad_norm_(10)``, AdamW + ``StepLR``, and ``loss.item()`` for the bar.
    ``source`` / ``target`` are ``gn.GaussianMixture``-like (``weights``, ``means``).
    For a Gaussian (no ``means``) the densities are built once as ``MultivariateNormal``.
    """

    def __init__(self, model, source, target, batch_size=1000, device="cpu", steps_total=10_000,
                 bw_start=1e-2, bw_end=1e-4):
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.src, self.tgt = source, target
        self.batch_size = batch_size
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=1e-2, weight_decay=1e-4)
        self.sched = torch.optim.lr_scheduler.StepLR(self.opt, step_size=1000, gamma=0.5)
        self.steps_total, self.bw = steps_total, (bw_start, bw_end)
        self.i = 0
        self.jac = vmap(jacrev(self.model))
        self.fixed = None
        if not hasattr(source, "means"):
            self.fixed = (to_distribution(source, self.device), to_distribution(target, self.device))

    def _densities(self):
        if self.fixed is not None:
            return self.fixed
        b0, b1 = self.bw
        var = b0 * (b1 / b0) ** (min(self.i, self.steps_total) / self.steps_total)
        mk = lambda m: FullCovMixture(m.weights.to(self.device), m.means.to(self.device), var)  # noqa: E731
        return mk(self.src), mk(self.tgt)

    def step(self):
        self.opt.zero_grad()
        src, tgt = self._densities()
        x = src.sample((self.batch_size,))
        logdet = torch.linalg.slogdet(self.jac(x))[1]
        loss = F.l1_loss(logdet, src.log_prob(x) - tgt.log_prob(self.model(x)))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 10.0)
        self.opt.step()
        self.sched.step()
        self.i += 1
        return loss.item()


# -- the training step ----------------------------------------------------------------

def recipe_loss(model, x, source, target, params=None):
    """L1 Monge-Ampere residual with ``vmap(jacrev)`` Jacobians and ``slogdet``."""
    params = dict(model.named_parameters()) if params is None else params

    def f(xi):
        return functional_call(model, params, (xi[None],))[0]

    T = model(x)
    J = vmap(jacrev(f))(x)
    logdet = torch.linalg.slogdet(J)[1]
    r = logdet - source.log_prob(x) + target.log_prob(T)
    return r.abs().mean()


class Recipe:
    """The paper's loop: sample, autodiff loss, Adam step, ``loss.item()`` log."""

    def __init__(self, model, source, target, batch_size=1000, lr=1e-2, device="cpu"):
        self.device = torch.device(device)
        self.model = model.to(self.device)
        self.source, self.target = source, target
        self.batch_size = batch_size
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.losses = []

    def step(self):
        x = self.source.sample((self.batch_size,))
        loss = recipe_loss(self.model, x, self.source, self.target)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        val = loss.item()  # per-step host sync: the paper logs every step
        self.losses.append(val)
        return val

    def run(self, steps, callback=None, every=None):
        """Run ``steps`` steps; returns wall time in seconds (callback time excluded)."""
        t0 = time.perf_counter()
        excluded = 0.0
        for k in range(1, steps + 1):
            self.step()
            if callback is not None and every and k % every == 0:
                c0 = time.perf_counter()
                callback(k, self.model)
                excluded += time.perf_counter() - c0
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - t0 - excluded


def recipe_l2_uvp(problem, model, n=10_000, seed=1):
    """L2-UVP (%) of a recipe model (lives on any device) against the problem's closed form."""
    return problem.l2_uvp(model, n=n, seed=seed)
