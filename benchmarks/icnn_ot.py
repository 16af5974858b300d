"""A sample-only neural OT baseline: ICNN potentials trained on the semi-dual (W2GN).

Our own PyTorch code, written from the papers' descriptions:

* the potential is an input convex neural network (Amos et al. 2017): with ``z = P(x - m)``
  (a fixed whitening from sample moments, an affine change of variables, so convexity is
  kept), ``h_1 = softplus(A_1 z + c_1)``, ``h_{l+1} = softplus(W_l h_l + A_{l+1} z + c_{l+1})``
  with ``W_l >= 0``, and ``f(x) = w^T h_L + 1/2 |L^T z|^2 + b^T z`` with ``w >= 0``
  (softplus is convex and non-decreasing, so ``f`` is convex); the non-negative weights
  are clamped at 0 after every optimiser step;
* the map is ``T = grad f`` by autograd (so it is the gradient of a convex function);
* training (Korotin et al. 2021, "Wasserstein-2 generative networks", the cycle-regularised
  form of the minimax semi-dual of Makkuva et al. 2020): a second ICNN ``g`` whose gradient
  approximates the inverse map, and the joint minimisation over ``(f, g)`` of

      ``E_P f(x) + E_Q [<grad g(y), y> - f(grad g(y))] + lambda E_Q |grad f(grad g(y)) - y|^2``.

  The first two terms are the semi-dual ``E_P f + E_Q f*`` with ``f*(y)`` replaced by its
  lower bound at ``x = grad g(y)``; the cycle term keeps ``grad g`` near the inverse of
  ``grad f``, which makes that bound tight. Only samples of ``P`` and ``Q`` are used.
* start: the quadratic term of ``f`` (and of ``g``) is set to the Bures map between the
  moments of 20 000 samples of each law -- the same start ``gn.fit``'s warm start gives the
  mGradNets -- and the ICNN part starts small. Adam with lr 1e-2 and, when the number of steps
  is known, cosine decay to 1 % of it (W2GN used a constant 1e-3 over far longer runs; at this
  benchmark's budgets 1e-2 with decay learned much faster on a 2-D pair: 0.6 % vs 1.6 % L2-UVP
  after 1000 steps, so the baseline gets the better of the two).
"""
from __future__ import annotations

import math
import time

import torch
from torch import nn
from torch.nn import functional as F

import gradnetot as gn

__all__ = ["ICNNPotential", "W2GN", "CYCLE_WEIGHT"]

CYCLE_WEIGHT = 1.0


class ICNNPotential(nn.Module):
    """Convex potential ``f``; ``forward(x)`` returns the map ``grad f(x)``, ``potential(x)`` returns ``f(x)``."""

    def __init__(self, dim, hidden=(64, 64, 32), out_scale=0.1):
        super().__init__()
        self.dim = int(dim)
        hidden = tuple(int(h) for h in hidden)
        self.skip = nn.ModuleList(nn.Linear(dim, h) for h in hidden)
        self.Wz = nn.ParameterList(nn.Parameter(torch.rand(h1, h0) / h0) for h0, h1 in zip(hidden[:-1], hidden[1:]))
        self.w_out = nn.Parameter(out_scale * torch.rand(hidden[-1]) / hidden[-1])
        self.L = nn.Parameter(torch.eye(dim))
        self.lin = nn.Parameter(torch.zeros(dim))
        self.register_buffer("shift", torch.zeros(dim))
        self.register_buffer("precond", torch.eye(dim))

    def _z(self, x):
        return (x - self.shift) @ self.precond.T

    @torch.no_grad()
    def init_affine(self, xs, xt):
        """Whiten with ``xs``'s moments (``z = P(x - m)``, ``P`` symmetric) and set the quadratic part so
        that ``grad f`` starts as the Bures map ``xs -> xt``: in ``z`` coordinates ``A_z = P^-1 A P^-1``,
        and the linear term cancels the ICNN part's own gradient at the source mean."""
        from benchmarks.baselines import affine_map

        T = affine_map(xs, xt)
        xs64 = xs.double()
        ev, evec = torch.linalg.eigh(torch.cov(xs64.T).reshape(self.dim, self.dim))
        ev = ev.clamp_min(1e-8 * float(ev.max()))
        P, P_inv = (evec * ev.rsqrt()) @ evec.T, (evec * ev.sqrt()) @ evec.T
        self.precond.copy_(P.float())
        self.shift.copy_(xs64.mean(0).float())
        w, V = torch.linalg.eigh(P_inv @ T.A @ P_inv)
        self.L.copy_((V * w.clamp_min(1e-8).sqrt()).float())
        z0 = torch.zeros(1, self.dim, requires_grad=True)
        with torch.enable_grad():
            g0 = torch.autograd.grad(self._icnn(z0).sum(), z0)[0][0]
        mt = T(xs64.mean(0, keepdim=True))[0].double()  # = the target mean
        self.lin.copy_((P_inv @ mt).float() - g0)
        return self

    def _icnn(self, z):
        h = F.softplus(self.skip[0](z))
        for W, A in zip(self.Wz, self.skip[1:]):
            h = F.softplus(h @ W.T + A(z))
        return h @ self.w_out

    def potential(self, x):
        z = self._z(x)
        return self._icnn(z) + 0.5 * (z @ self.L).pow(2).sum(1) + z @ self.lin

    def forward(self, x):
        need_graph = torch.is_grad_enabled()
        with torch.enable_grad():
            xi = x if x.requires_grad else x.detach().requires_grad_(True)
            g = torch.autograd.grad(self.potential(xi).sum(), xi, create_graph=need_graph)[0]
        return g if need_graph else g.detach()

    @torch.no_grad()
    def clamp_(self):
        for W in self.Wz:
            W.clamp_(min=0)
        self.w_out.clamp_(min=0)


def _hidden(dim):
    w = max(64, 2 * dim)
    return (w, w, max(32, dim))


class W2GN:
    """Train ``f`` (forward map ``grad f``) and ``g`` (inverse) on samples only; see the module docstring.

    ``source`` and ``target`` need only ``sample(n, generator=...)``.
    """

    def __init__(self, dim, source, target, batch_size=512, lr=1e-2, cycle=CYCLE_WEIGHT, seed=0,
                 warm_samples=20_000, steps=None):
        self.source, self.target = source, target
        self.batch_size, self.cycle = int(batch_size), float(cycle)
        torch.manual_seed(seed)
        self.gen = torch.Generator().manual_seed(seed)
        xs = gn.sample_from(source, warm_samples, self.gen).float()
        xt = gn.sample_from(target, warm_samples, self.gen).float()
        self.f = ICNNPotential(dim, _hidden(dim)).init_affine(xs, xt)
        self.g = ICNNPotential(dim, _hidden(dim)).init_affine(xt, xs)
        self.opt = torch.optim.Adam([*self.f.parameters(), *self.g.parameters()], lr=lr)
        self.sched = None
        if steps:
            total = int(steps)
            self.sched = torch.optim.lr_scheduler.LambdaLR(
                self.opt, lambda k: 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, k / total))))
        self.losses = []

    def loss(self, x, y):
        gy = self.g(y)
        corr = self.f.potential(x).mean() + ((gy * y).sum(1) - self.f.potential(gy)).mean()
        cyc = (self.f(gy) - y).pow(2).sum(1).mean()
        return corr + self.cycle * cyc

    def step(self):
        x = gn.sample_from(self.source, self.batch_size, self.gen).float()
        y = gn.sample_from(self.target, self.batch_size, self.gen).float()
        loss = self.loss(x, y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        if self.sched is not None:
            self.sched.step()
        self.f.clamp_()
        self.g.clamp_()
        val = float(loss.detach())
        self.losses.append(val)
        if not math.isfinite(val):
            raise FloatingPointError("W2GN loss became NaN/inf")
        return val

    def run(self, steps):
        """Take ``steps`` steps; returns the wall time in seconds."""
        t0 = time.perf_counter()
        for _ in range(int(steps)):
            self.step()
        return time.perf_counter() - t0

    @property
    def model(self):
        return self.f
