"""Generate chapters/05_monge_ampere_loss.ipynb (stored without outputs)."""
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
# 5. The Monge–Ampère loss

We now have the two ingredients: Brenier's theorem says the optimal map is $T = \nabla u$ with $u$ convex and
satisfies the Monge–Ampère equation (chapter 3), and mGradNets are maps of exactly that form with a closed-form
Jacobian (chapter 4). This chapter turns the equation into a training loss, as GradNetOT does
{cite}`chaudhari2025gradnetot`, trains on a 2-D Gaussian pair whose answer is known in closed form, and then shows
why the monotone-gradient architecture matters: an unconstrained network trained on the same loss can push the
source onto the target perfectly well and still not be the optimal map.

**Learning goals.** After this chapter you can

- derive the Monge–Ampère loss from the change-of-variables formula and say what each term needs;
- compute per-sample Jacobians with `torch.func` and compare them with the closed form, in value and in time;
- train an mGradNet on a Gaussian pair and score it against the closed-form map (L2-UVP);
- explain, with numbers and a figure, why a zero Monge–Ampère loss alone does not identify the OT map, and what
  the convexity constraint adds;
- implement the loss yourself for any PyTorch map.
""")
code(SETUP_CELL)
code(r"""
import time
steps = gn.scaled(2000, 400)          # training steps per model
batch = gn.scaled(1024, 256)          # samples per step
n_eval = gn.scaled(20_000, 4_000)     # fresh samples for the scores
print(f"steps={steps}, batch={batch}, n_eval={n_eval}")
""")
md(r"""
```{admonition} GPU
:class: note
No GPU is needed. Measured on the book's 2-core CPU machine (a fresh clone built with `make book`, nothing else running, 2026-11-26), the chapter ran in 11 s with
`GRADNETOT_FAST=1` (400 steps, batches of 256, one thread) and 48 s in full mode (2000 steps, batches of 1024),
most of it in the MLP baseline, whose Jacobian comes from `torch.func`. On a heavily shared CPU, limit torch to one
thread: oversubscribed threads made the same FAST run several times slower.
```

## From the equation to a loss

If $T$ pushes the source density $p$ onto the target density $q$ and is a diffeomorphism, the change of
variables gives, for every $x$,

$$
q\big(T(x)\big)\,\lvert\det J_T(x)\rvert = p(x).
$$

For $T = \nabla u$ with $u$ convex, $J_T = \nabla^2 u$ is symmetric positive definite, so the absolute value can be
dropped and this is the Monge–Ampère equation. Taking logs turns products into sums and makes the scale of the
densities harmless:

$$
r_T(x) = \log\det J_T(x) - \log p(x) + \log q\big(T(x)\big) = 0 .
$$

GradNetOT minimises the mean absolute residual over samples from the source,

$$
\mathcal L(\theta) = \mathbb E_{x\sim p}\,\big|r_{T_\theta}(x)\big| \approx \frac1n\sum_{i=1}^n
\Big|\log\det J_{T_\theta}(x_i) - \log p(x_i) + \log q\big(T_\theta(x_i)\big)\Big| ,
$$

which `gn.monge_ampere_loss` computes (`p=2` gives the mean square instead). Three things are needed: samples and
log-density of the source, the log-density of the target (evaluated at $T(x)$, not at $x$), and $\log\det J_T$ at
every sample. The last is the expensive part, and it is where the closed-form Jacobian of an mGradNet pays off:
$J$ is symmetric positive definite, so its log-determinant comes from a Cholesky factorisation (`gn.logdet_spd`).

Note what the loss does *not* contain: the transport cost $\lvert T(x) - x\rvert^2$. Optimality enters only through
the architecture, because Brenier's theorem says the *gradient of a convex function* that pushes $p$ onto $q$ is
the optimal map. We test that claim at the end of the chapter.

## Jacobians: `torch.func` against the closed form

`gn.autodiff_jacobian(model, x)` differentiates any module with `torch.func.vmap(jacrev(...))`: one
reverse-mode pass per output coordinate, vectorised over the batch. mGradNets also return their Jacobian in
closed form from the same intermediates as the forward pass (`model.forward_and_jacobian`). The two must agree;
the cell below checks that in $d = 2$ and $d = 16$ and times both (a few repeats, on this machine's CPU).
""")
code(r"""
def best_time(fn, repeats=5):
    fn()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); fn(); ts.append(time.perf_counter() - t0)
    return min(ts)

print(f"{'network':>12} {'d':>3} {'max |J_closed - J_autodiff|':>28} {'closed form':>12} {'torch.func':>11}")
for d in (2, 16):
    xj = torch.randn(gn.scaled(2048, 512), d)
    for name, net in [("mGradNet-C", gn.MGradNetC(d, embed_dim=32)), ("mGradNet-M", gn.MGradNetM(d, 8, 16))]:
        with torch.no_grad():
            diff = (net.jacobian(xj) - gn.autodiff_jacobian(net, xj)).abs().max()
            t_closed = best_time(lambda: net.forward_and_jacobian(xj))
            t_auto = best_time(lambda: (net(xj), gn.autodiff_jacobian(net, xj)))
        print(f"{name:>12} {d:3d} {float(diff):28.1e} {1e3 * t_closed:9.2f} ms {1e3 * t_auto:8.2f} ms")
""")
md(r"""
The two Jacobians agree to float32 round-off. The timings are single measurements on whatever CPU runs this page
(on a shared machine they can be noisy); chapter 6 measures the comparison carefully on CPU and GPU. The closed form needs no second backward pass, which also
matters during training, where the loss is differentiated once more with respect to the weights.

## Training on a Gaussian pair

The GradNetOT paper's Gaussian benchmark draws a source $\mathcal N(\mu, \Sigma)$ with $\mu \sim \mathcal N(0, I)$ and
$\Sigma$ from a Wishart distribution, and a standard normal target {cite}`chaudhari2025gradnetot`.
`gn.wishart_gaussian_problem(2)` builds that pair in 2-D. The OT map between Gaussians is affine and known in
closed form (chapter 2),

$$
T^\star(x) = A(x - \mu), \qquad A = \Sigma^{-1/2}\big(\Sigma^{1/2}\, I\, \Sigma^{1/2}\big)^{1/2}\Sigma^{-1/2} =
\Sigma^{-1/2},
$$

so we can score a learned map with the L2 unexplained-variance percentage of Korotin et al.
{cite}`korotin2021benchmark`, $\text{L2-UVP} = 100\,\mathbb E|\hat T(x) - T^\star(x)|^2/\operatorname{Var}(q)$.
""")
code(r"""
problem = gn.wishart_gaussian_problem(2, seed=0)
src, tgt, T_star = problem.source, problem.target, problem.true_map
print("source mean:", src.mean.numpy().round(3))
print("source covariance:\n", src.cov.numpy().round(3))
print("closed-form map matrix A = Σ^(-1/2):\n", T_star.A.numpy().round(3))
""")
md(r"""
`gn.fit` normally starts from a *warm start*: it sets the network's affine part to the Gaussian (Bures) map between
the first two moments of the samples. For a Gaussian pair that *is* the answer, so here we switch it off
(`warm_start=False`) and let the loss do all the work from a random initialisation.
""")
code(r"""
gn.set_seed(0)
models = {"mGradNet-C": gn.MGradNetC(2, embed_dim=32, num_layers=3),
          "mGradNet-M": gn.MGradNetM(2, num_modules=8, embed_dim=16)}
fits = {}
for name, model in models.items():
    fits[name] = gn.fit(model, src, tgt, steps=steps, batch_size=batch, lr=1e-2, seed=0,
                        warm_start=False, progress=False, device=device)
x_eval = src.sample(n_eval, generator=torch.Generator().manual_seed(1))
x_eval_dev = x_eval.to(device)
print(f"{'model':>12} {'eval loss':>11} {'L2-UVP %':>9} {'ms/step':>8}")
for name, model in models.items():
    loss_eval = float(gn.monge_ampere_loss(model, x_eval_dev[:4096], src.to(device), tgt.to(device)).detach())
    fits[name].uvp = problem.l2_uvp(model, n=n_eval)
    print(f"{name:>12} {loss_eval:11.4f} {fits[name].uvp:9.3f} {1e3 * fits[name].time_per_step:8.2f}")
""")
code(r"""
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
for name, r in fits.items():
    gn.plot_losses(r, ax=axes[0], label=name)
axes[0].legend(); axes[0].set_title("Monge–Ampère loss during training")

ax = axes[1]
xa = x_eval[:120]
with torch.no_grad():
    t_true = T_star(xa)
    t_c = models["mGradNet-C"](xa.to(device)).cpu()
ax.scatter(*xa.T, s=6, c="grey", label="source samples $x$")
ax.quiver(*xa.T, *(t_true - xa).T, angles="xy", scale_units="xy", scale=1, color="k", width=0.004,
          alpha=0.6, label="closed form $T^*(x)-x$")
ax.quiver(*xa.T, *(t_c - xa).T, angles="xy", scale_units="xy", scale=1, color="tab:orange", width=0.0022,
          label="mGradNet-C $\\hat T(x)-x$")
ax.set_aspect("equal"); ax.legend(fontsize=8, loc="upper left")
ax.set_title("learned map vs closed form")
plt.tight_layout(); plt.show()
""")
md(r"""
Both networks drive the loss down from a random start (the eval loss above is on fresh samples), and their
L2-UVP against the closed form is a small fraction of a percent: on the right, each thin orange arrow (learned) lies on top of its black arrow
(closed form). Nothing in the loss mentioned the closed form or the transport cost; the convex-gradient structure
plus "push $p$ onto $q$" was enough.

## An unconstrained network: right pushforward, wrong map

Now replace the mGradNet by `gn.MLPMap`, an ordinary residual MLP $T(x) = x + \mathrm{MLP}(x)$ with no
convexity or symmetry constraint. It trains on the same loss (with $\log\lvert\det J\rvert$ and Jacobians from
`torch.func`, since it has no closed form). The loss asks only that $T_\#p = q$, and many maps do that.
For instance, if $R_\theta$ rotates by angle $\theta$, the **twist** $S(z) = R_{\theta(|z|)}\,z$ rotates each circle
around the origin by its own angle. It preserves every rotationally symmetric density such as $q = \mathcal
N(0, I)$, with $\det J_S = 1$, so $S\circ T^\star$ also pushes $p$ onto $q$ and its Monge–Ampère residual is
**zero** everywhere, yet it moves mass further than $T^\star$.

We train two MLPs for the same number of steps: one from its default initialisation (close to the identity) and
one first fitted (by plain regression, for a few hundred cheap steps) to the twisted map
$S\circ T^\star$ with $\theta(r) = 0.8\,r$, then trained on the Monge–Ampère loss. The second mimics an
optimiser that has wandered into another zero of the loss.
""")
code(r"""
def twist(z, strength=0.8):
    th = strength * z.norm(dim=1, keepdim=True)
    c, s = torch.cos(th), torch.sin(th)
    return torch.cat([c * z[:, :1] - s * z[:, 1:], s * z[:, :1] + c * z[:, 1:]], dim=1)

def pretrain_to(model, target_map, steps_sup=300, seed=0):
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps_sup):
        xb = src.sample(512, generator=g)
        loss = ((model(xb) - target_map(xb)) ** 2).sum(1).mean()
        opt.zero_grad(); loss.backward(); opt.step()
    return model

gn.set_seed(0)
mlps = {"MLP, identity start": gn.MLPMap(2, hidden=64, num_layers=3),
        "MLP, twisted start": pretrain_to(gn.MLPMap(2, hidden=64, num_layers=3), lambda x: twist(T_star(x)))}
for name, mlp in mlps.items():
    fits[name] = gn.fit(mlp, src, tgt, steps=steps, batch_size=batch, lr=3e-3, seed=0,
                        progress=False, device=device)
    mlp.cpu()
""")
code(r"""
x_cpu = x_eval[:4096]
y_ref = tgt.sample(2000, generator=torch.Generator().manual_seed(2))
maps = {"closed form T*": T_star, "mGradNet-C": models["mGradNet-C"].cpu(), **mlps}
rows = {}
for name, T in maps.items():
    with torch.no_grad():
        tx = T(x_cpu)
    if isinstance(T, torch.nn.Module):
        ma = float(gn.monge_ampere_loss(T, x_cpu, src.to("cpu"), tgt.to("cpu")).detach())
        lam = float(gn.min_jacobian_eigenvalue(T, x_cpu[:1000]).min())
    else:
        ma = float((torch.logdet(T.A) - src.log_prob(x_cpu) + tgt.log_prob(tx)).abs().mean())
        lam = float(torch.linalg.eigvalsh(T.A).min())
    rows[name] = dict(ma=ma, energy=gn.energy_distance(tx[:2000], y_ref), cost=gn.transport_cost(x_cpu, tx),
                      gap=gn.monotonicity_gap(T, x_cpu), lam=lam,
                      uvp=gn.l2_uvp(tx, T_star(x_cpu), problem.target_var))
print(f"{'map':>22} {'MA loss':>8} {'energy dist':>11} {'cost E|T(x)-x|^2':>17} {'monot. gap':>10} "
      f"{'min eig sym J':>13} {'L2-UVP %':>9}")
for name, r in rows.items():
    print(f"{name:>22} {r['ma']:8.4f} {r['energy']:11.5f} {r['cost']:17.3f} {r['gap']:10.3f} "
          f"{r['lam']:13.3f} {r['uvp']:9.2f}")
""")
md(r"""
Read the table column by column.

- **MA loss and energy distance.** All four maps have a small Monge–Ampère loss, and the energy distance between
  $T_\#p$ and fresh target samples is at the level of sampling noise for all of them: every one pushes the source
  onto the target.
- **Transport cost.** The closed-form map has the lowest cost $\mathbb E|T(x) - x|^2$, as Brenier's theorem says,
  and the mGradNet nearly matches it. The twisted MLP pays far more for the same pushforward.
- **Monotonicity.** The gap $\min\langle T(x)-T(y), x-y\rangle/|x-y|^2$ and the smallest eigenvalue of the
  symmetrised Jacobian $\tfrac12(J + J^\top)$ are positive for the convex-gradient maps and negative for the
  twisted MLP: it is not monotone, so it cannot be the gradient of a convex function, and Brenier's theorem rules
  it out as the OT map.
- **The MLP from an identity start** happens to land close to the OT map here (small L2-UVP): starting near the
  identity, it has no reason to twist. Nothing in the loss guarantees that, though; the twisted start shows that
  the loss is equally happy elsewhere.

The figure colours each source sample by its position and draws it at $T(x)$. All four panels show the same
Gaussian cloud, but the colours are arranged differently: the twisted MLP has wound the colours around the centre.
""")
code(r"""
xs_plot = x_eval[:3000]
colors = gn.color_by_position(xs_plot)
fig, axes = plt.subplots(1, 5, figsize=(17, 3.6))
axes[0].scatter(*xs_plot.T, c=colors, s=3)
axes[0].set_title("source $x \\sim p$")
for ax, (name, T) in zip(axes[1:], maps.items()):
    with torch.no_grad():
        tx = T(xs_plot)
    ax.scatter(*tx.T, c=colors, s=3)
    ax.set_title(f"{name}\ncost {rows[name]['cost']:.2f}, gap {rows[name]['gap']:.2f}", fontsize=9)
    ax.set_xlim(-3.5, 3.5); ax.set_ylim(-3.5, 3.5)
for ax in axes:
    ax.set_aspect("equal"); ax.set_xticks([]); ax.set_yticks([])
plt.tight_layout(); plt.show()
""")
md(r"""
The lesson: the Monge–Ampère loss only enforces the pushforward constraint $T_\#p = q$. Among the many maps that
satisfy it, the optimal one is singled out by being the gradient of a convex function, and an mGradNet cannot
represent anything else. An unconstrained network needs an explicit transport-cost term, or luck, to find it.

## Exercises

```{exercise} Implement the Monge–Ampère loss for any map
:label: ch05-ex-loss

Write `my_ma_loss(model, x, source, target)` that returns the L1 Monge–Ampère loss (a scalar tensor) for *any*
`nn.Module` `model` mapping `(n, d)` to `(n, d)`, computing the per-sample Jacobians yourself with `torch.func`
(`functional_call`, `jacrev`, `vmap`), and $\log\lvert\det J\rvert$ with `torch.linalg.slogdet`. It must be
differentiable with respect to the model's parameters so that it can be trained. Check it with

    gn.exercises.check_monge_ampere_loss(my_ma_loss)

which compares value *and* parameter gradients with the reference and names common mistakes (no absolute value,
sum instead of mean, a detached Jacobian, ...). Then train a `gn.MLPMap` with it for a few hundred steps of Adam
on the Gaussian pair of this chapter.
```

```{solution} ch05-ex-loss
:class: dropdown

    from torch.func import functional_call, jacrev, vmap

    def my_ma_loss(model, x, source, target):
        params = dict(model.named_parameters())
        def f(xi):                                  # one sample (d,) -> (d,)
            return functional_call(model, params, (xi[None],))[0]
        J = vmap(jacrev(f))(x)                      # (n, d, d), differentiable in params
        r = (torch.linalg.slogdet(J)[1]             # log|det J|
             - source.log_prob(x)
             + target.log_prob(model(x)))           # target density at T(x)
        return r.abs().mean()

    gn.exercises.check_monge_ampere_loss(my_ma_loss)   # True

Training: `opt = torch.optim.Adam(mlp.parameters(), 3e-3)`, then repeat
`loss = my_ma_loss(mlp, src.sample(256), src, tgt); opt.zero_grad(); loss.backward(); opt.step()`.
`functional_call` takes the module's own buffers for anything missing from the dictionary, so models with
buffers (the mGradNets have two) work too.
```

The next cell shows the check on a typical mistake (a squared instead of an absolute residual) and on the
package's own loss, which passes. Neither reveals the solution, so the cell stays in the student edition.
""")
code(r"""
def reference_loss(model, x, source, target):
    return gn.monge_ampere_loss(model, x, source, target)          # L1: the package's own answer

def squared_loss(model, x, source, target):
    return gn.monge_ampere_loss(model, x, source, target, p=2)     # the mistake: mean r^2 instead of mean |r|

try:
    gn.exercises.check_monge_ampere_loss(squared_loss)
except gn.exercises.ExerciseCheckError as err:
    print("check says:", err)
print("reference passes:", gn.exercises.check_monge_ampere_loss(reference_loss))
""")
md(r"""
```{exercise} Why the twist costs nothing in the loss
:label: ch05-ex-twist

Let $S(z) = R_{\theta(|z|)}\,z$ in 2-D with a smooth $\theta: [0,\infty) \to \mathbb R$.
(a) Show that $\det J_S(z) = 1$ and that $S_\#\mathcal N(0, I) = \mathcal N(0, I)$. Conclude that
$r_{S\circ T^\star} \equiv 0$.
(b) Why does the same trick *not* give a second zero of the loss inside the mGradNet family?
```

```{solution} ch05-ex-twist
:class: dropdown

(a) In polar coordinates $S(r, \varphi) = (r, \varphi + \theta(r))$. Its Jacobian in $(r, \varphi)$ is
$\begin{pmatrix}1 & 0\\ \theta'(r) & 1\end{pmatrix}$ with determinant 1, and the area element $r\,dr\,d\varphi$ is
unchanged because $r$ is, so $\det J_S = 1$ in Cartesian coordinates too. $S$ keeps $|z|$, and the standard normal
density depends only on $|z|$, so $q(S(z)) = q(z)$: $S$ is a bijection that preserves $q$. Then
$\det J_{S\circ T^\star}(x) = \det J_S(T^\star x)\det J_{T^\star}(x) = p(x)/q(T^\star x) = p(x)/q(S(T^\star x))$, so
the residual vanishes.

(b) By Brenier's theorem the gradient of a convex function that pushes $p$ onto $q$ is unique ($p$-a.e.). Every
mGradNet is the gradient of a convex function, so an mGradNet with zero loss must equal $T^\star$. For the same
reason $S\circ T^\star$ (with $S \ne \mathrm{id}$) cannot be the gradient of a convex function: it pushes $p$ onto
$q$, so it would have to equal $T^\star$. The table above shows the symptom on the learned twisted MLP: a negative
eigenvalue of the symmetrised Jacobian.
```

```{exercise} Squared or absolute residual?
:label: ch05-ex-p

Train `gn.MGradNetC(2)` on the Gaussian pair with `gn.fit(..., p=2, warm_start=False)` and compare the L2-UVP with
the `p=1` run above at the same number of steps. Which samples does each loss weight most, and when would you
prefer one or the other?
```

```{solution} ch05-ex-p
:class: dropdown

`p=2` weights large residuals quadratically, so the rare samples in the tails (where $\log p$ and $\log q\circ T$
are large in magnitude) dominate the gradient; `p=1` gives each sample a bounded gradient and is more robust to
such outliers, which is why it is the default in `gradnetot`. Near the optimum, where all residuals are small,
the square gives gradients that shrink with the residual, while the absolute value keeps a constant magnitude and
makes Adam jitter more. On this Gaussian pair both losses should reach a small L2-UVP; compare the numbers from
`problem.l2_uvp(model)` for a few seeds before drawing a conclusion, since one run is noisy.
```

## Summary

- The Monge–Ampère loss is the mean of $|\log\det J_T(x) - \log p(x) + \log q(T(x))|$ over source samples: the
  change-of-variables identity in log form.
- For mGradNets the Jacobian is available in closed form, equal to the `torch.func` Jacobian up to round-off, and
  its log-determinant comes from a Cholesky factorisation.
- Trained from a random start on a Gaussian pair, both mGradNets recover the closed-form map to a small L2-UVP.
- The loss is zero for *every* map that pushes $p$ onto $q$. An unconstrained MLP can reach such a map with a
  higher transport cost and a non-monotone Jacobian; the convex-gradient architecture is what makes the learned
  map optimal.

## Next steps

Chapter 6 moves training to GPUs, measures closed-form against autodiff Jacobians at scale, and runs the
high-dimensional version of this chapter's Gaussian benchmark.

## References

```{bibliography}
:filter: docname in docnames
```
""")

write_notebook(cells, "05_monge_ampere_loss.ipynb")
