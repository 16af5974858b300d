"""Generate chapters/04_monotone_gradient_networks.ipynb (stored without outputs)."""
import nbformat as nbf
from gradnetot._setup_cell import SETUP_CELL

import pathlib
import sys
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _nbtools import write_notebook  # noqa: E402

cells = []
md = lambda s: cells.append(nbf.v4.new_markdown_cell(s.strip("\n")))
code = lambda s: cells.append(nbf.v4.new_code_cell(s.strip("\n")))

md(r"""
# 4. Convex potentials and monotone gradients

Brenier's theorem (chapter 3) says that the optimal map for the squared distance is the gradient of a convex
function, $T = \nabla u$. To learn $T$ we therefore need a family of maps that are gradients of convex functions
*by construction*. This chapter builds the two families the book uses, the monotone gradient networks
mGradNet-C and mGradNet-M {cite}`chaudhari2023mgn,chaudhari2024gradientnetworks`, exactly as `gradnetot`
implements them, and checks every claim numerically.

**Learning goals.** After this chapter you can

- say how an input-convex neural network (ICNN) and a gradient network differ, and why the second suits
  transport maps;
- write down the mGradNet-C and mGradNet-M maps, their potentials and their Jacobians, and prove that each is
  the gradient of a convex function;
- verify numerically that a map is a monotone gradient (symmetric PSD Jacobian, monotonicity inequality,
  potential ↔ gradient);
- explain why a narrow network has a rank-deficient Jacobian ($\operatorname{rank} J \le$ width), why that breaks
  $\log\det J$, and how a strongly convex term repairs it;
- explore a 2-D mGradNet's potential and map interactively.

```{admonition} GPU
:class: note
No GPU is needed: this chapter builds and inspects networks but trains none. Measured on the book's 2-core CPU machine (a fresh clone built with `make book`, nothing else running, 2026-11-26),
it ran in 5 s, with or without `GRADNETOT_FAST=1`.
```
""")
code(SETUP_CELL)

md(r"""
## ICNNs versus gradient networks

There are two ways to make a neural network produce the gradient of a convex function.

**Input-convex neural networks** {cite}`amos2017icnn` parametrise the *potential*: a scalar network
$u_\theta(x)$ that is convex in $x$ because its hidden-to-hidden weights are nonnegative and its activations
convex and nondecreasing. The map is then obtained by automatic differentiation, $T = \nabla_x u_\theta$, and its
Jacobian (needed by the Monge–Ampère loss of chapter 5) by differentiating again. Makkuva et al.
{cite}`makkuva2020` learn OT maps this way, with a min–max objective over two ICNNs.

**Gradient networks** {cite}`chaudhari2023mgn,chaudhari2024gradientnetworks` parametrise the *gradient*
directly: the forward pass computes $T_\theta(x)$, and the architecture guarantees that $T_\theta = \nabla u_\theta$
for a convex $u_\theta$ that we can also write down. The Jacobian $J = \nabla^2 u_\theta$ then has a closed form
that costs about as much as the forward pass. This is what the GradNetOT method {cite}`chaudhari2025gradnetot`
trains.

Both families are *monotone*: $\langle T(x)-T(y),\, x-y\rangle \ge 0$ for all $x, y$, which is the
multivariate version of "nondecreasing". The difference is where the constraint lives and what a Jacobian costs.

## mGradNet-C: a cascade of convex 1-D functions

Let $z \in \mathbb R^d$ be the (whitened, see below) input, $W \in \mathbb R^{m\times d}$ an embedding with $m$
rows (the *width*, `embed_dim`) and $s = Wz + b$. Each coordinate $s_e$ goes through its own 1-D **cascade**

$$
h_0 = s, \qquad h_\ell = a_\ell \odot s + b_\ell + \operatorname{softplus}(h_{\ell-1}), \quad \ell = 1,\dots,L,
$$

with free parameters $a_\ell, b_\ell \in \mathbb R^m$. The potential and the map are

$$
u_C(z) = \sum_{e=1}^m \alpha_e\, h_{L,e}(s_e), \qquad
T_C(z) = \nabla u_C(z) = W^\top\big(\alpha \odot h_L'(s)\big),
$$

with $\alpha = \operatorname{softplus}(\cdot) > 0$. The derivatives follow the same cascade:
$h_\ell' = a_\ell + \sigma(h_{\ell-1})\, h_{\ell-1}'$ and
$h_\ell'' = \sigma(h_{\ell-1})\, h_{\ell-1}'' + \sigma(h_{\ell-1})(1-\sigma(h_{\ell-1}))\,(h_{\ell-1}')^2$ with
$h_0' = 1$, $h_0'' = 0$ and $\sigma$ the logistic sigmoid. So the Jacobian is

$$
J_C(z) = W^\top \operatorname{diag}\big(\alpha \odot h_L''(s)\big)\, W .
$$

```{prf:theorem} mGradNet-C is a monotone gradient
:label: ch04-thm-c

For any parameters, $u_C$ is convex and $T_C = \nabla u_C$. Hence $J_C(z)$ is symmetric positive semidefinite and
$T_C$ is monotone.
```

```{prf:proof}
By induction, each $h_{\ell,e}$ is a convex function of the scalar $s_e$: $h_0 = s_e$ is affine; if
$h_{\ell-1}$ is convex, then $\operatorname{softplus}(h_{\ell-1})$ is convex because softplus is convex and
nondecreasing (a convex nondecreasing function of a convex function is convex), and adding the affine term
$a_\ell s_e + b_\ell$ keeps it convex. The same induction on the recursion for $h_\ell''$ shows $h_\ell'' \ge 0$
(every term is a product of nonnegative factors). The map $z \mapsto s_e = w_e^\top z + b_e$ is affine, so
$z\mapsto h_{L,e}(w_e^\top z + b_e)$ is convex, and a positive combination ($\alpha_e > 0$) of convex
functions is convex. The chain rule gives $\nabla u_C = \sum_e \alpha_e h_{L,e}'(s_e) w_e = W^\top(\alpha\odot
h_L')$ and $\nabla^2 u_C = \sum_e \alpha_e h_{L,e}''(s_e) w_e w_e^\top$, a nonnegative combination of rank-one
PSD matrices. A $C^1$ function is convex iff its gradient is monotone, which gives the last claim.
```

Note that $a_\ell$ may be negative: it enters affinely, so it shifts $h_\ell'$ but never $h_\ell''$.

## mGradNet-M: a sum of softmax modules

The modular network sums $K$ modules, each with its own embedding $W_k \in \mathbb R^{m\times d}$, bias $b_k$,
temperature $\beta_k > 0$ and weight $\alpha_k > 0$:

$$
u_M(z) = \sum_{k=1}^K \frac{\alpha_k}{\beta_k}\operatorname{logsumexp}\big(\beta_k (W_k z + b_k)\big), \qquad
T_M(z) = \sum_{k=1}^K \alpha_k W_k^\top p_k(z), \quad p_k = \operatorname{softmax}\big(\beta_k(W_k z + b_k)\big),
$$

$$
J_M(z) = \sum_{k=1}^K \alpha_k \beta_k\, W_k^\top\big(\operatorname{diag}(p_k) - p_k p_k^\top\big) W_k .
$$

```{prf:theorem} mGradNet-M is a monotone gradient
:label: ch04-thm-m

For any parameters with $\alpha_k, \beta_k > 0$, $u_M$ is convex, $T_M = \nabla u_M$ and $J_M \succeq 0$.
```

```{prf:proof}
The gradient of $\operatorname{logsumexp}(v)$ is $\operatorname{softmax}(v)$ and its Hessian is
$\operatorname{diag}(p) - pp^\top$. This matrix is the covariance of the one-hot vector $e_I$ with
$I \sim p$, so it is PSD: $c^\top(\operatorname{diag}(p) - pp^\top)c = \sum_i p_i c_i^2 - (\sum_i p_i c_i)^2 =
\operatorname{Var}(c_I) \ge 0$. With $v = \beta_k(W_k z + b_k)$ the chain rule gives the gradient
$\frac{\alpha_k}{\beta_k}\beta_k W_k^\top p_k$ and Hessian $\alpha_k\beta_k W_k^\top(\operatorname{diag}(p_k) -
p_kp_k^\top)W_k$, a congruence of a PSD matrix, hence PSD. Summing over $k$ preserves all of this.
```

A large $\beta_k$ makes $p_k$ nearly one-hot, so the module approaches the gradient of the piecewise-linear
$\alpha_k\max_i(W_kz+b_k)_i$: a map that is nearly piecewise constant. A small $\beta_k$ makes it smooth.

## Whitening and the strongly convex term

`gradnetot` wraps both nonlinear parts in the same affine frame. The input is whitened by a fixed matrix $P$ and
shift $m$ (buffers that `warm_start` sets from data, identity and zero otherwise), $z = P(x - m)$, and an optional
strongly convex quadratic is added (`strongly_convex=True`, the default):

$$
u(x) = u_{\text{nl}}\big(P(x-m)\big) + \tfrac12 x^\top A x + c^\top x, \qquad A = LL^\top + \varepsilon I ,
$$

$$
T(x) = P^\top \nabla u_{\text{nl}}(z) + A x + c, \qquad J(x) = P^\top J_{\text{nl}}(z)\, P + A .
$$

Adding a convex quadratic keeps $u$ convex and makes it $\varepsilon$-strongly convex, so $J \succeq \varepsilon I$.
Without it (`strongly_convex=False`) the model is the plain nonlinear network, as in the papers, plus the bias $c$.
""")

md(r"""
## Checking the claims numerically

We build both networks in $d = 3$ with random weights and `strongly_convex=False`, so that all the structure
comes from the nonlinear part, and run four checks on a batch of random points:

1. `model.potential` differentiated by autograd equals the forward pass (the map is the gradient of the stated
   potential);
2. the closed-form `model.jacobian` equals the Jacobian of the forward pass computed by `torch.func`
   (`gn.autodiff_jacobian`), and is symmetric;
3. its smallest eigenvalue is $\ge 0$ (PSD);
4. the monotonicity ratio $\min_{x,y}\langle T(x)-T(y), x-y\rangle / |x-y|^2$ over random pairs is $\ge 0$
   (`gn.monotonicity_gap`).
""")
code(r"""
def verify(model, x):
    x = x.clone().requires_grad_(True)
    grad_u = torch.autograd.grad(model.potential(x).sum(), x)[0]
    x = x.detach()
    with torch.no_grad():
        T = model(x)
        J = model.jacobian(x)
    J_auto = gn.autodiff_jacobian(model, x).detach()
    eig = torch.linalg.eigvalsh(J)
    return {
        "|grad u - T|": float((grad_u - T).abs().max()),
        "|J - J_autodiff|": float((J - J_auto).abs().max()),
        "|J - J^T|": float((J - J.transpose(1, 2)).abs().max()),
        "min eig J": float(eig.min()),
        "monotonicity gap": gn.monotonicity_gap(model, x),
    }

d, n = 3, gn.scaled(4096, 512)
x = 2 * torch.randn(n, d)
gn.set_seed(1)
nets = {"mGradNet-C": gn.MGradNetC(d, embed_dim=16, num_layers=3, strongly_convex=False),
        "mGradNet-M": gn.MGradNetM(d, num_modules=4, embed_dim=8, strongly_convex=False)}
checks = {name: verify(net, x) for name, net in nets.items()}
print(f"{'check':>18} " + " ".join(f"{k:>12}" for k in checks))
for key in checks["mGradNet-C"]:
    print(f"{key:>18} " + " ".join(f"{checks[k][key]:12.2e}" for k in checks))
""")
md(r"""
Both rows of differences are at float32 round-off ($\sim 10^{-6}$ or below), the smallest eigenvalue is
nonnegative up to round-off, and the monotonicity ratio is nonnegative. These hold for *any* weights: they are
properties of the architecture, which is the whole point. The next cell repeats the eigenvalue test on many
random initialisations, with inflated slopes $a_\ell$ and sharper softmaxes, on a wider range of inputs and in
float64. Any negative value it prints is of the order of float64 round-off ($10^{-16}$ times the largest
eigenvalue), not a violation.
""")
code(r"""
worst = {"mGradNet-C": np.inf, "mGradNet-M": np.inf}
for seed in range(gn.scaled(50, 10)):
    gn.set_seed(seed)
    for name, net in [("mGradNet-C", gn.MGradNetC(d, embed_dim=16, strongly_convex=False)),
                      ("mGradNet-M", gn.MGradNetM(d, num_modules=4, embed_dim=8, strongly_convex=False))]:
        with torch.no_grad():
            net.a.mul_(10) if hasattr(net, "a") else net.beta_raw.add_(2.0)  # stress: big slopes / sharp softmax
        net.double()  # float64, so that round-off does not blur the sign
        xs = 5 * torch.randn(256, d, dtype=torch.float64)
        worst[name] = min(worst[name], float(torch.linalg.eigvalsh(net.jacobian(xs).detach()).min()))
print("smallest Jacobian eigenvalue over all seeds (float64):", {k: f"{v:.1e}" for k, v in worst.items()})
""")

md(r"""
## The rank ceiling of narrow networks

Look again at the Jacobians: $J_C = W^\top D W$ with $W \in \mathbb R^{m\times d}$, so
$\operatorname{rank} J_C \le m$. For mGradNet-M each module contributes
$W_k^\top(\operatorname{diag}p_k - p_kp_k^\top)W_k$, and $\operatorname{diag}p_k - p_kp_k^\top$ annihilates the
all-ones vector, so its rank is at most $m-1$ and $\operatorname{rank} J_M \le K(m-1)$. When the width is smaller
than the dimension, $J$ is **singular everywhere**, $\det J = 0$, and the Monge–Ampère loss
$\log\det J - \log p + \log q\circ T$ of chapter 5 is $-\infty$ or dominated by round-off.

We take $d = 64$ and an mGradNet-C with width 32 (the paper's plain network, `strongly_convex=False`), and an
mGradNet-M with a single module of width 32.
""")
code(r"""
d, width = 64, 32
gn.set_seed(0)
narrow = {"mGradNet-C, m=32": gn.MGradNetC(d, embed_dim=width, strongly_convex=False),
          "mGradNet-M, K=1, m=32": gn.MGradNetM(d, num_modules=1, embed_dim=width, strongly_convex=False),
          "mGradNet-C, m=32, + (LL^T+εI)x": gn.MGradNetC(d, embed_dim=width, strongly_convex=True, eps=1e-3)}
xh = torch.randn(gn.scaled(256, 64), d, dtype=torch.float64)
spectra, rows = {}, []
for name, net in narrow.items():
    net.double()  # float64 so that "zero" eigenvalues are ~1e-16, not float32 noise
    with torch.no_grad():
        J = net.jacobian(xh)
        J32 = net.float().jacobian(xh.float())  # what training in float32 would see
    ev = torch.linalg.eigvalsh(J)
    spectra[name] = ev[0].abs().clamp_min(1e-20).numpy()[::-1]
    ranks = torch.linalg.matrix_rank(J, hermitian=True)
    slog = torch.linalg.slogdet(J)[1]
    chol = gn.logdet_spd(J32)
    rows.append((name, int(ranks.max()), float(ev.min()), float(slog.median()),
                 float(torch.isfinite(chol).float().mean())))
print(f"{'network':>32} {'max rank':>9} {'min eig':>10} {'median slogdet':>15} {'finite float32 Cholesky':>24}")
for r in rows:
    print(f"{r[0]:>32} {r[1]:9d} {r[2]:10.2e} {r[3]:15.1f} {r[4]:23.0%}")
""")
code(r"""
fig, ax = plt.subplots(figsize=(6.4, 3.4))
for name, ev in spectra.items():
    ax.semilogy(np.arange(1, d + 1), ev, "o-", ms=3, label=name)
ax.axvline(width, color="grey", ls=":", lw=1)
ax.axhline(1e-3, color="grey", ls="--", lw=1)
ax.text(width + 0.5, 1e-8, "width = 32", color="grey")
ax.text(1, 2e-3, "ε = 1e-3", color="grey")
ax.set(xlabel="eigenvalue index (descending)", ylabel="|eigenvalue| of $J(x)$ (float64)",
       title="Jacobian spectrum at one point, d = 64")
ax.legend(fontsize=8, loc="lower left")
plt.tight_layout()
plt.show()
""")
md(r"""
The table and the spectrum tell the same story. The plain mGradNet-C of width 32 never exceeds rank 32 and the
single softmax module never exceeds rank 31: the remaining eigenvalues are zero up to float64 round-off, so
`slogdet` returns a huge negative number (or $-\infty$) that measures round-off rather than the network, and in
float32, as in training, the Cholesky log-determinant fails (NaN) on the fraction of points shown in the last
column. Adding the strongly convex term lifts every
eigenvalue to at least $\varepsilon$, so the log-determinant is finite and meaningful, without changing the
convexity argument.

In practice this is why `gradnetot` defaults to `strongly_convex=True`: the width can stay small while $J$ stays
full rank in any dimension. (An alternative is to make the width at least $d$, which costs $O(md)$ parameters per
layer and still gives no lower bound on the eigenvalues.)
""")

md(r"""
## An explorer for 2-D mGradNets

In two dimensions we can look at a network directly: the contours of its potential $u$ and the displacement
arrows $x \to T(x)$. The sliders below set, for a randomly initialised mGradNet-M without the quadratic term,

- `beta`: a common temperature $\beta$ for all modules (sharp softmax → nearly piecewise-constant map),
- `modules`: the number of modules $K$,
- `scale`: a factor on the module weights $\alpha_k$ (how far points move),
- `seed`: the random initialisation.

Convexity shows in the contours: every sublevel set is convex. Without the quadratic term $T$ is bounded (a
convex combination of the rows of $W_k$, times $\alpha_k$), so far from the origin the arrows mostly point back
towards the bounded range of $T$. The interactive widget needs a running kernel (Jupyter or Colab); on the web page its output is replaced by
the static figure after it.
""")
code(r"""
import ipywidgets as widgets

def explorer_net(beta=1.0, modules=4, scale=1.0, seed=0):
    gn.set_seed(seed)
    net = gn.MGradNetM(2, num_modules=modules, embed_dim=6, strongly_convex=False)
    with torch.no_grad():
        net.W.mul_(1.5)
        net.beta_raw.copy_(torch.log(torch.expm1(torch.full_like(net.beta_raw, beta))))
        alpha = torch.full_like(net.alpha_raw, 2.0 * scale / modules ** 0.5)
        net.alpha_raw.copy_(torch.log(torch.expm1(alpha)))
    return net

def show(beta=1.0, modules=4, scale=1.0, seed=0):
    fig, ax = plt.subplots(figsize=(4.6, 4))
    gn.plot_potential(explorer_net(beta, modules, scale, seed), (-3, 3), (-3, 3), ax=ax, n_arrows=10)
    ax.set_title(f"β={beta:.1f}, K={modules}, scale={scale:.1f}, seed={seed}", fontsize=9)
    plt.show()
""")
code(r"""
widgets.interact(show,
                 beta=widgets.FloatLogSlider(value=1.0, base=10, min=-1, max=1.3, step=0.1),
                 modules=widgets.IntSlider(value=4, min=1, max=16),
                 scale=widgets.FloatSlider(value=1.0, min=0.2, max=3.0, step=0.1),
                 seed=widgets.IntSlider(value=0, min=0, max=20));
""")
# A static web page has no kernel to drive the sliders (and, offline, no widget JavaScript), so the
# static figure below stands in for this cell on the web. The book build also does not run it:
# `skip-execution` (honoured by nbclient, which executes the book) avoids a known nbclient deadlock with
# `interact` (jupyter/nbclient#312), which stalled `make book` here for good. Jupyter, Colab and nbval
# (`make test`) still run the cell.
cells[-1].metadata["tags"] = ["skip-execution", "remove-output"]
md(r"""
The static figure below shows three settings of the same seed side by side: a smooth map ($\beta = 0.3$), the
default ($\beta = 1$), and a sharp one ($\beta = 10$) whose potential is nearly a maximum of affine functions:
its contours become polygons, and on each face $T$ is nearly constant, so the arrows from one face end near the
same point.
""")
code(r"""
fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
for ax, beta in zip(axes, [0.3, 1.0, 10.0]):
    gn.plot_potential(explorer_net(beta=beta, modules=4, scale=1.0, seed=0), (-3, 3), (-3, 3), ax=ax, n_arrows=10)
    ax.set_title(f"mGradNet-M, K=4, β={beta}", fontsize=10)
plt.tight_layout()
plt.show()
""")

md(r"""
## Exercises

```{exercise} Implement the Jacobian of a softmax module
:label: ch04-ex-module-jacobian

Write a function `module_jacobian(z, W, b, beta)` that returns the Jacobians of one softmax module
$T(z) = W^\top \operatorname{softmax}(\beta(Wz + b))$ for a batch `z` of shape `(n, d)`, with `W` of shape
`(m, d)`, `b` of shape `(m,)` and a float `beta`. The result has shape `(n, d, d)`. Do not use autograd: write
the closed form. Check it with

    gn.exercises.check_softmax_module_jacobian(module_jacobian)

which returns `True` or raises an `ExerciseCheckError` that names the likely mistake (a missing factor $\beta$, a
missing $-pp^\top$ term, a wrong shape, ...).
```

```{solution} ch04-ex-module-jacobian
:class: dropdown

By the chain rule, $J = \beta\, W^\top(\operatorname{diag}p - pp^\top)W$ with $p = \operatorname{softmax}(\beta(Wz+b))$:

    def module_jacobian(z, W, b, beta):
        p = torch.softmax(beta * (z @ W.T + b), dim=-1)           # (n, m)
        cov = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]  # (n, m, m)
        return beta * W.T @ cov @ W                                 # (n, d, d) by broadcasting

The check then returns `True`.
```

The cell below shows what the check says about a typical wrong answer (the factor $\beta$ forgotten), and that it
accepts the package's reference implementation. Neither reveals the solution, so the cell stays in the student
edition.
""")
code(r"""
reference = gn.exercises.softmax_module_jacobian          # the package's own answer

def module_jacobian_wrong(z, W, b, beta):
    return reference(z, W, b, beta) / beta                 # as if the chain-rule factor beta were forgotten

try:
    gn.exercises.check_softmax_module_jacobian(module_jacobian_wrong)
except gn.exercises.ExerciseCheckError as err:
    print("check says:", err)
print("reference passes:", gn.exercises.check_softmax_module_jacobian(reference))
""")
md(r"""
```{exercise} A monotone gradient layer of your own
:label: ch04-ex-layer

Implement a one-layer monotone gradient map $T(x) = W^\top\big(a \odot \sigma(Wx + b)\big)$ in 2-D as a function
of an `(n, 2)` tensor, with $W \in \mathbb R^{8\times 2}$, $b \in\mathbb R^8$ random and $a \in\mathbb R^8$.

1. Which potential is $T$ the gradient of, and which condition on $a$ makes it convex?
2. Check your map with `gn.exercises.check_monotone(T)`. Then flip the sign of one entry of $a$ and run the check
   again: what does it report, and why?
3. Replace $W^\top$ by an independent random matrix $V^\top$. Which check fails now?
```

```{solution} ch04-ex-layer
:class: dropdown

1. $u(x) = \sum_i a_i \operatorname{softplus}(w_i^\top x + b_i)$, since $\operatorname{softplus}' = \sigma$. Each
   term is convex iff $a_i \ge 0$ (softplus is convex, composed with an affine map), so $a \ge 0$ suffices. The
   Jacobian is $W^\top\operatorname{diag}(a\odot\sigma'(Wx+b))W$.
2. With $a \ge 0$ the check passes. With $a_i < 0$ the term $a_i\sigma'(\cdot)w_iw_i^\top$ is negative
   semidefinite, and where it dominates the Jacobian has a negative eigenvalue: the check reports the point.

       W, b, a = torch.randn(8, 2), torch.randn(8), torch.rand(8)
       T = lambda x: (a * torch.sigmoid(x @ W.T + b)) @ W
       gn.exercises.check_monotone(T)          # True
       a[0] = -3.0
       gn.exercises.check_monotone(T)          # ExerciseCheckError: negative eigenvalue ...

3. With $V \ne W$ the Jacobian $V^\top\operatorname{diag}(\cdot)W$ is not symmetric, so $T$ is not the gradient of
   any function; the check reports "not symmetric".
```

```{exercise} How wide must the network be?
:label: ch04-ex-rank

(a) For mGradNet-M without the quadratic term, with $K$ modules of width $m$ in dimension $d$, what is the
largest possible rank of $J_M$? Why does each module lose one dimension?
(b) Confirm your answer numerically for $d = 64$, $m = 8$ and $K = 1, 4, 8, 10$ with `torch.linalg.matrix_rank`.
```

```{solution} ch04-ex-rank
:class: dropdown

(a) $\operatorname{rank} J_M \le \min(d, K(m-1))$. The matrix $\operatorname{diag}p - pp^\top$ maps the all-ones
vector to $p - p(\mathbf 1^\top p) = 0$, because $p$ sums to one: adding a constant to all logits does not change
the softmax. So each module's $m\times m$ middle factor has rank at most $m - 1$.

(b)

    for K in [1, 4, 8, 10]:
        net = gn.MGradNetM(64, num_modules=K, embed_dim=8, strongly_convex=False).double()
        J = net.jacobian(torch.randn(16, 64, dtype=torch.float64))
        print(K, int(torch.linalg.matrix_rank(J, hermitian=True).max()))   # 7, 28, 56, 64

Work in float64 (`.double()`): in float32 the "zero" eigenvalues are round-off of order $10^{-8}$, above
`matrix_rank`'s float64 tolerance, and every rank would come out as 64.
```

## Summary

- A gradient network outputs $T = \nabla u$ directly, with $u$ convex by construction and a closed-form Jacobian;
  an ICNN outputs $u$ and needs autograd for $T$ and $J$.
- mGradNet-C: $T = W^\top(\alpha\odot h_L'(Wz+b))$ from per-neuron convex cascades,
  $J = W^\top\operatorname{diag}(\alpha\odot h_L'')W$. mGradNet-M: $T = \sum_k\alpha_kW_k^\top\operatorname{softmax}
  (\beta_k(W_kz+b_k))$, $J = \sum_k\alpha_k\beta_kW_k^\top(\operatorname{diag}p_k - p_kp_k^\top)W_k$.
- Numerically, the potential's gradient equals the forward pass, the closed-form Jacobian equals autodiff, and
  the Jacobian is symmetric PSD for any weights.
- A network narrower than the dimension has $\operatorname{rank}J \le$ width, so $\log\det J$ is useless; the
  term $(LL^\top + \varepsilon I)x$ makes $J \succeq \varepsilon I$.

## Next steps

Chapter 5 turns Brenier's theorem and the Monge–Ampère equation into a loss, trains these networks on a Gaussian
pair against the closed-form answer, and shows what goes wrong when the network is *not* a monotone gradient.

## References

```{bibliography}
:filter: docname in docnames
```
""")

write_notebook(cells, "04_monotone_gradient_networks.ipynb")
