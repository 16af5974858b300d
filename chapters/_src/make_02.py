"""Generate chapters/02_optimal_transport.ipynb (stored without outputs)."""
import nbformat as nbf
from gradnetot._setup_cell import SETUP_CELL

import pathlib
import sys
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _nbtools import write_notebook  # noqa: E402

cells = []


def md(s):
    cells.append(nbf.v4.new_markdown_cell(s.strip("\n")))


def code(s):
    cells.append(nbf.v4.new_code_cell(s.strip("\n")))


md(r"""
# 2. Optimal transport, from Monge to Kantorovich

Chapter 1 moved a disk onto a Gaussian with a learned map. This chapter steps back and asks what
"optimal transport" means in the first place, using problems small enough to solve exactly. Everything here
runs in seconds on a CPU.

**Learning goals.** After this chapter you can

- state Monge's problem (find a map) and Kantorovich's relaxation (find a plan), and say why the second is a
  linear program;
- solve small discrete OT problems with POT's `ot.emd` and `ot.sinkhorn` {cite}`flamary2021pot`, read a plan
  as lines and as a matrix, and describe what entropic regularisation does to it;
- solve 1-D OT by sorting, and write the continuous 1-D map as the monotone rearrangement
  $T = F_\nu^{-1}\circ F_\mu$;
- write down the closed-form OT map between two Gaussians and check it against an exact discrete solver;
- explain, with a two-point example, why an optimal *map* need not exist between discrete measures, which is
  the gap that Brenier's theorem (chapter 3) closes for densities.

```{admonition} GPU
:class: note
No GPU is needed: everything in this chapter runs on a CPU. Measured on the book's 2-core CPU machine (a fresh clone built with `make book`, nothing else running, 2026-11-26), the
chapter ran in 5 s with `GRADNETOT_FAST=1` and 13 s in full mode, most of it in the exact solver on up to 3,200
points per measure.
```
""")

code(SETUP_CELL)

code(r"""
import time
import ot  # POT, the Python Optimal Transport library

def draw_plan(ax, xs, xt, P, color="k", max_lw=3.0):
    # one line per nonzero entry of the plan, width proportional to the mass it moves
    big = P.max()
    for i, j in zip(*np.nonzero(P > 1e-9 * big)):
        ax.plot([xs[i, 0], xt[j, 0]], [xs[i, 1], xt[j, 1]], color=color,
                lw=max_lw * P[i, j] / big, alpha=0.3 + 0.7 * P[i, j] / big, zorder=1)
""")

md(r"""
## Monge's problem

Let $\mu$ be a probability measure on $\mathbb{R}^d$ (the *source*: where mass sits now) and $\nu$ another one
(the *target*: where we want it). A map $T:\mathbb{R}^d\to\mathbb{R}^d$ **pushes $\mu$ forward to $\nu$**,
written $T_\#\mu=\nu$, if $\mu(T^{-1}(B)) = \nu(B)$ for every set $B$: sampling $x\sim\mu$ and returning $T(x)$
gives a sample of $\nu$. Monge's problem (1781) asks for the cheapest such map, with the quadratic cost used
throughout this book:

$$
\min_{T:\;T_\#\mu=\nu}\ \int \|x - T(x)\|^2 \, d\mu(x).
$$

The constraint $T_\#\mu=\nu$ is nonlinear in $T$, and for some pairs $(\mu,\nu)$ no map satisfies it at all
(we build one below). Kantorovich's relaxation fixes both problems {cite}`villani2009,peyre2019computational`.

## Kantorovich's relaxation: plans instead of maps

Instead of sending each $x$ to one place, a **transport plan** $\pi$ is a joint distribution on pairs $(x,y)$
whose first marginal is $\mu$ and second marginal is $\nu$; $\pi(x,y)$ says how much mass goes from $x$ to $y$,
and mass at one $x$ may be *split*. The problem

$$
W_2^2(\mu,\nu) \;=\; \min_{\pi\in\Pi(\mu,\nu)} \int \|x-y\|^2\, d\pi(x,y)
$$

always has a solution, and its value defines the squared 2-Wasserstein distance. For discrete measures
$\mu=\sum_i a_i\delta_{x_i}$ and $\nu=\sum_j b_j\delta_{y_j}$, a plan is a nonnegative matrix $P\in\mathbb{R}^{n\times m}$
with row sums $a$ and column sums $b$, and the problem is a **linear program**:

$$
\min_{P\ge 0}\ \sum_{ij} C_{ij} P_{ij}
\quad\text{s.t.}\quad P\mathbf 1_m = a,\;\; P^\top \mathbf 1_n = b,
\qquad C_{ij}=\|x_i-y_j\|^2 .
$$

A map is the special case where each row of $P$ has a single nonzero entry.
`ot.emd` solves this linear program exactly with a network-simplex method. Below, 6 source points carry mass
$1/6$ each and 9 target points carry $1/9$ each, so no plan can be a map: every source point has to split.
""")

code(r"""
rng = np.random.default_rng(0)
n, m = 6, 9
xs = rng.normal(size=(n, 2)) * 0.6 + np.array([-1.5, 0.0])
xt = rng.normal(size=(m, 2)) * 0.8 + np.array([1.5, 0.3])
a, b = np.full(n, 1 / n), np.full(m, 1 / m)
C = ot.dist(xs, xt)            # squared Euclidean cost matrix, shape (n, m)
P = ot.emd(a, b, C)            # exact optimal plan

print(f"cost <C, P> = {np.sum(C * P):.4f}")
print(f"row sums = a: {np.allclose(P.sum(1), a)}, column sums = b: {np.allclose(P.sum(0), b)}")
print(f"nonzero entries: {np.count_nonzero(P > 1e-12)} (a vertex of the LP has at most n + m - 1 = {n + m - 1})")
""")

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(10, 4))
ax = axes[0]
draw_plan(ax, xs, xt, P)
ax.scatter(*xs.T, s=60, c="tab:blue", label="source $x_i$ (mass 1/6)", zorder=2)
ax.scatter(*xt.T, s=60, c="tab:orange", marker="s", label="target $y_j$ (mass 1/9)", zorder=2)
ax.set_title("optimal plan: line width = mass moved")
ax.legend(loc="upper left", fontsize=8); ax.set_aspect("equal")
im = axes[1].imshow(P, cmap="Greys")
axes[1].set_xlabel("target index j"); axes[1].set_ylabel("source index i")
axes[1].set_title("the same plan as a matrix $P_{ij}$")
fig.colorbar(im, ax=axes[1], fraction=0.035)
plt.tight_layout(); plt.show()
""")

md(r"""
Left: each source point splits its mass over a few target points, and points on the left of the source cloud
tend to be matched with points on the left of the target cloud. In the plane the segments of a
squared-cost plan *may* cross; the property they do satisfy is the cyclic monotonicity of chapter 3. Right: the same
plan as a matrix. It is sparse, as the printed count shows: an optimal vertex of the linear program has at most
$n+m-1$ nonzero entries.

## Entropic regularisation and Sinkhorn

The exact LP costs roughly $O(n^3)$ time. Adding an entropy term,

$$
\min_{P\in\Pi(a,b)}\ \langle C,P\rangle - \varepsilon H(P),\qquad H(P) = -\sum_{ij}P_{ij}(\log P_{ij}-1),
$$

makes the problem strictly convex, and its solution has the form $P=\operatorname{diag}(u)\,K\operatorname{diag}(v)$
with $K=e^{-C/\varepsilon}$. Sinkhorn's algorithm finds $u$ and $v$ by alternately rescaling rows and columns
{cite}`peyre2019computational`. The price is blur: the plan spreads mass over more pairs as $\varepsilon$ grows,
and as $\varepsilon\to\infty$ it tends to the independent coupling $ab^\top$. We normalise $C$ by its maximum so
that $\varepsilon$ is on a fixed scale.
""")

code(r"""
Cn = C / C.max()
regs = [0.003, 0.03, 0.3]
plans = {"exact (ot.emd)": P}
for reg in regs:
    plans[f"sinkhorn, eps={reg}"] = ot.sinkhorn(a, b, Cn, reg, numItermax=20000)

print(f"{'plan':<22} {'cost <C,P>':>10} {'entropy H(P)':>13} {'entries > 1% of max':>20}")
for name, Q in plans.items():
    H = -np.sum(Q[Q > 0] * np.log(Q[Q > 0]))
    print(f"{name:<22} {np.sum(C * Q):>10.4f} {H:>13.3f} {np.count_nonzero(Q > 0.01 * Q.max()):>20d}")
print(f"independent plan a b^T: cost {np.sum(C * np.outer(a, b)):.4f}, entropy {np.log(n * m):.3f}")
""")

code(r"""
fig, axes = plt.subplots(2, 4, figsize=(13, 5.6), gridspec_kw={"height_ratios": [1.3, 1]})
for k, (name, Q) in enumerate(plans.items()):
    ax = axes[0, k]
    draw_plan(ax, xs, xt, Q)
    ax.scatter(*xs.T, s=30, c="tab:blue", zorder=2)
    ax.scatter(*xt.T, s=30, c="tab:orange", marker="s", zorder=2)
    ax.set_title(name, fontsize=10); ax.set_xticks([]); ax.set_yticks([]); ax.set_aspect("equal")
    axes[1, k].imshow(Q, cmap="Greys", vmin=0)
    axes[1, k].set_xticks([]); axes[1, k].set_yticks([])
axes[1, 0].set_ylabel("plan matrix")
plt.tight_layout(); plt.show()
""")

md(r"""
From left to right the regularisation grows. With the smallest $\varepsilon$ the Sinkhorn plan is close to the
exact one; with the largest, every source point sends some mass to every target point and the cost rises toward
that of the independent plan $ab^\top$ (the last line of the table). The entropic plan is never sparse, which is
why a barycentric projection of it (used in later chapters) is pulled toward the mean of the target.

## When no Monge map exists

Take a single source point with all the mass and two target points with half each. A map sends the point to
*one* place, so $T_\#\mu$ is always a single Dirac, never $\nu$: the set of maps with $T_\#\mu=\nu$ is empty and
Monge's problem has no solution. Kantorovich's problem has one, the plan that splits the point. The reverse
problem, two points merging into one, does have a map.
""")

code(r"""
x_one = np.array([[0.0, 0.0]]); a_one = np.array([1.0])
y_two = np.array([[1.0, 0.8], [1.0, -0.8]]); b_two = np.array([0.5, 0.5])
P_split = ot.emd(a_one, b_two, ot.dist(x_one, y_two))
P_merge = ot.emd(b_two, a_one, ot.dist(y_two, x_one))
print("one -> two plan:\n", P_split)
print("two -> one plan:\n", P_merge)
print("nonzeros per row, one -> two:", np.count_nonzero(P_split, axis=1),
      "| two -> one:", np.count_nonzero(P_merge, axis=1))
""")

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(8, 3.4))
for ax, (src, tgt, Q, title) in zip(axes, [(x_one, y_two, P_split, "one point -> two: a split, no map"),
                                          (y_two, x_one, P_merge, "two points -> one: a map")]):
    draw_plan(ax, src, tgt, Q, max_lw=4)
    for pts, w, c, mk in [(src, Q.sum(1), "tab:blue", "o"), (tgt, Q.sum(0), "tab:orange", "s")]:
        ax.scatter(*pts.T, s=400 * w, c=c, marker=mk, zorder=2)
        for p_, w_ in zip(pts, w):
            ax.annotate(f"{w_:.2g}", p_, textcoords="offset points", xytext=(12, 12))
    ax.set_title(title, fontsize=10); ax.set_xlim(-0.4, 1.4); ax.set_ylim(-1.2, 1.2)
plt.tight_layout(); plt.show()
""")

md(r"""
Left: the optimal plan sends half of the mass up and half down. Its row has two nonzero entries (printed
above), so it is not the graph of a function. Right: in the reverse direction each source row has exactly
one nonzero entry, which is a map. The obstruction is atoms: a map cannot divide a point mass. When $\mu$ has a
density no single point carries mass, and Brenier's theorem (chapter 3) shows that the optimal plan is then
concentrated on the graph of a map $T=\nabla u$. That map is what the rest of the book learns.

## One dimension: optimal transport is sorting

On the line with a convex cost, the optimal plan never lets two transport paths cross: if $x_1<x_2$ were sent to
$y_1>y_2$, swapping the targets would lower the cost, since
$(x_1-y_2)^2+(x_2-y_1)^2 < (x_1-y_1)^2+(x_2-y_2)^2$ exactly when $(x_2-x_1)(y_1-y_2)>0$. So for two samples of
equal size, the optimal assignment pairs the $k$-th smallest $x$ with the $k$-th smallest $y$. We check this
against `ot.emd`.
""")

code(r"""
x1 = rng.normal(size=12)
y1 = rng.exponential(size=12)
P1 = ot.emd(np.full(12, 1 / 12), np.full(12, 1 / 12), ot.dist(x1[:, None], y1[:, None]))
perm_emd = P1.argmax(1)                        # emd plan is a permutation matrix here
perm_sort = np.empty(12, dtype=int)
perm_sort[np.argsort(x1)] = np.argsort(y1)     # k-th smallest x -> k-th smallest y
print("emd assignment equals the sorted assignment:", np.array_equal(perm_emd, perm_sort))
print(f"cost of sorted assignment {np.mean((x1 - y1[perm_sort])**2):.4f}, "
      f"of a random one {np.mean((x1 - y1[rng.permutation(12)])**2):.4f}")
""")

md(r"""
For continuous measures on $\mathbb{R}$ with CDFs $F_\mu$ and $F_\nu$, the same idea gives the **monotone
rearrangement**: the point at quantile level $t=F_\mu(x)$ goes to the point at the same level in the target,

$$
T(x) = F_\nu^{-1}\big(F_\mu(x)\big).
$$

$T$ is nondecreasing, so it is the derivative of a convex function, the 1-D case of Brenier's theorem.
`gn.monotone_rearrangement(src_samples, tgt_samples)` builds $T$ from samples with the empirical CDF and
quantile function. We take a bimodal Gaussian mixture as source and an exponential distribution as target,
where the exact map $T(x)=-\log(1-F_\mu(x))$ is known.
""")

code(r"""
n1d = gn.scaled(20000, 5000)
def mix_cdf(x):   # CDF of 0.5 N(-1.5, 0.5^2) + 0.5 N(1.5, 0.5^2)
    x = torch.as_tensor(x, dtype=torch.float64)
    return 0.5 * torch.special.ndtr((x + 1.5) / 0.5) + 0.5 * torch.special.ndtr((x - 1.5) / 0.5)

def sample_mix(k, gen):
    sign = torch.where(torch.rand(k, generator=gen) < 0.5, -1.0, 1.0)
    return sign * 1.5 + 0.5 * torch.randn(k, generator=gen)

g = torch.Generator().manual_seed(1)
src1 = sample_mix(n1d, g)
tgt1 = torch.distributions.Exponential(1.0).sample((n1d,))
T1 = gn.monotone_rearrangement(src1, tgt1)

grid = np.linspace(-2.8, 2.8, 400)
T_exact = (-torch.log1p(-mix_cdf(grid))).numpy()
inner = (mix_cdf(grid).numpy() > 0.05) & (mix_cdf(grid).numpy() < 0.95)
err_1d = np.abs(T1(grid) - T_exact)[inner].max()
print(f"n = {n1d} samples each; max |T_samples - T_exact| on the 5%-95% quantile range: {err_1d:.3f}")

fresh = sample_mix(n1d, g)
pushed = T1(fresh.numpy())
w1_push = np.mean(np.abs(np.sort(pushed) - np.sort(tgt1.numpy())))
w1_raw = np.mean(np.abs(np.sort(fresh.numpy()) - np.sort(tgt1.numpy())))
print(f"W1(T#fresh source, target) = {w1_push:.4f}   vs   W1(source, target) = {w1_raw:.4f}")
""")

code(r"""
fig, axes = plt.subplots(1, 3, figsize=(14, 3.8))
ax = axes[0]
ax.hist(src1.numpy(), bins=80, density=True, alpha=0.5, label="source $\\mu$ (mixture)")
ax.hist(tgt1.numpy(), bins=80, density=True, alpha=0.5, label="target $\\nu$ (exponential)")
ax.hist(pushed, bins=80, density=True, histtype="step", color="k", label="$T_\\#$(fresh source)")
ax.set_xlim(-3, 6); ax.legend(fontsize=8); ax.set_title("densities")

ax = axes[1]
xx = np.linspace(-3, 6, 500)
Fs = mix_cdf(xx).numpy(); Ft = 1 - np.exp(-np.clip(xx, 0, None))
ax.plot(xx, Fs, label="$F_\\mu$"); ax.plot(xx, Ft, label="$F_\\nu$")
for x0 in [-2.0, -1.0, 0.0, 1.2, 2.0]:
    t0 = float(mix_cdf(x0)); y0 = float(T1(np.array([x0]))[0])
    ax.annotate("", xy=(y0, t0), xytext=(x0, t0), arrowprops=dict(arrowstyle="->", color="gray"))
    ax.plot([x0], [t0], "o", color="tab:blue", ms=4); ax.plot([y0], [t0], "s", color="tab:orange", ms=4)
ax.set_xlim(-3, 6); ax.legend(fontsize=8, loc="lower right")
ax.set_title("same quantile level: $F_\\nu(T(x)) = F_\\mu(x)$")

ax = axes[2]
ax.plot(grid, T_exact, lw=4, alpha=0.4, label="exact $F_\\nu^{-1}\\circ F_\\mu$")
ax.plot(grid, T1(grid), "k", lw=1, label="from samples")
ax.set_xlabel("x"); ax.set_ylabel("T(x)"); ax.legend(fontsize=8); ax.set_title("the monotone map")
plt.tight_layout(); plt.show()
""")

md(r"""
Left: pushing fresh source samples through the sample-based map reproduces the exponential target (black
outline), and the printed $W_1$ distance drops accordingly. Middle: each grey arrow moves a point horizontally
from the source CDF to the target CDF at the same height, which is the quantile matching that defines $T$.
Right: the map is nondecreasing. It is steep where the source has little mass (between the two modes, where
it must spread a thin slice of source mass over the target) and flat inside the modes.

## Gaussians: a closed form

For $\mu=\mathcal N(m_\mu,\Sigma_\mu)$ and $\nu=\mathcal N(m_\nu,\Sigma_\nu)$ the optimal map is affine,

$$
T(x) = m_\nu + A(x-m_\mu),\qquad
A = \Sigma_\mu^{-1/2}\big(\Sigma_\mu^{1/2}\Sigma_\nu\Sigma_\mu^{1/2}\big)^{1/2}\Sigma_\mu^{-1/2},
$$

and the cost is
$W_2^2 = \|m_\mu-m_\nu\|^2 + \operatorname{tr}\big(\Sigma_\mu+\Sigma_\nu-2(\Sigma_\mu^{1/2}\Sigma_\nu\Sigma_\mu^{1/2})^{1/2}\big)$
{cite}`peyre2019computational`. $A$ is symmetric positive definite and satisfies $A\Sigma_\mu A=\Sigma_\nu$,
so $T$ pushes $\mu$ to $\nu$ and is the gradient of the convex quadratic
$u(x)=\tfrac12 (x-m_\mu)^\top A(x-m_\mu)+m_\nu^\top x$. This is the ground truth the book scores learned maps against
(`gn.gaussian_ot_map`).

To connect it with the discrete world, we draw $n$ samples from each Gaussian, solve the discrete problem with
`ot.emd`, and read off a map by the **barycentric projection** $\hat T(x_i)=\sum_j P_{ij}y_j/\sum_j P_{ij}$
(`gn.discrete_ot_map`). We score it by the mean squared distance to the closed form at the samples, as a
percentage of the target variance $\operatorname{tr}\Sigma_\nu$ (the L2-UVP metric of
{cite}`korotin2021benchmark`).
""")

code(r"""
m_s, m_t = torch.tensor([0.0, 0.0]), torch.tensor([3.0, 1.0])
S_s = torch.tensor([[1.0, 0.6], [0.6, 0.8]])
S_t = torch.tensor([[0.5, -0.3], [-0.3, 1.2]])
source, target = gn.Gaussian(m_s, S_s), gn.Gaussian(m_t, S_t)
T_gauss = gn.gaussian_ot_map(m_s, S_s, m_t, S_t)
A = T_gauss.A
print("A =\n", A.numpy().round(4))
print("symmetric:", torch.allclose(A, A.T), "| eigenvalues:", torch.linalg.eigvalsh(A).numpy().round(4))
print("max |A S_s A - S_t| =", f"{(A @ S_s @ A - S_t).abs().max().item():.1e}")

def sqrtm(S):
    w, V = torch.linalg.eigh(S.double()); return (V * w.sqrt()) @ V.T
rs = sqrtm(S_s)
W2_sq = ((m_s - m_t)**2).sum().item() + torch.trace(S_s + S_t - 2 * sqrtm(rs @ S_t.double() @ rs)).item()
print(f"closed-form W2^2 = {W2_sq:.4f}")
""")

code(r"""
sizes = gn.scaled([100, 200, 400, 800, 1600, 3200], [100, 200, 400, 800])
reps = 3
var_t = torch.trace(S_t).item()
rows = []
t0 = time.perf_counter()
for n_s in sizes:
    uvp, w2 = [], []
    for rep in range(reps):
        gen = torch.Generator().manual_seed(100 + rep)
        xs_g, yt_g = source.sample(n_s, generator=gen), target.sample(n_s, generator=gen)
        T_emd = gn.discrete_ot_map(xs_g, yt_g)                 # barycentric map from ot.emd
        uvp.append(100 * ((T_emd - T_gauss(xs_g))**2).sum(1).mean().item() / var_t)
        w2.append(((xs_g - T_emd)**2).sum(1).mean().item())    # emd cost (a permutation here)
    rows.append((n_s, np.mean(uvp), np.std(uvp), np.mean(w2)))
print(f"({reps} repetitions per n, {time.perf_counter() - t0:.1f} s in total)")
print(f"{'n':>6} {'L2-UVP of emd map (%)':>22} {'emd cost':>10} {'closed-form W2^2':>17}")
for n_s, u, s, w in rows:
    print(f"{n_s:>6} {u:>15.2f} ± {s:<5.2f} {w:>10.4f} {W2_sq:>17.4f}")
""")

code(r"""
gen = torch.Generator().manual_seed(7)
xs_g, yt_g = source.sample(300, generator=gen), target.sample(300, generator=gen)
T_emd = gn.discrete_ot_map(xs_g, yt_g)
fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
ax = axes[0]
ax.scatter(*xs_g.T, s=6, c="tab:blue", alpha=0.5, label="source samples")
ax.scatter(*yt_g.T, s=6, c="tab:orange", alpha=0.5, label="target samples")
idx = torch.arange(0, 300, 10)
for k_, i in enumerate(idx):
    ax.plot(*torch.stack([xs_g[i], T_gauss(xs_g[i:i+1])[0]]).T, color="k", lw=1.2,
            label="closed-form $T(x)$" if k_ == 0 else None)
    ax.plot(*torch.stack([xs_g[i], T_emd[i]]).T, color="tab:red", lw=0.8, ls="--",
            label="emd match" if k_ == 0 else None)
ax.set_aspect("equal"); ax.legend(fontsize=8, loc="upper left"); ax.set_title("n = 300: two maps for 30 points")
ax = axes[1]
ns_ = np.array([r[0] for r in rows]); u_ = np.array([r[1] for r in rows]); s_ = np.array([r[2] for r in rows])
ax.errorbar(ns_, u_, yerr=s_, marker="o", capsize=3)
ax.set_xscale("log"); ax.set_yscale("log")
fmt = plt.matplotlib.ticker.FormatStrFormatter("%g")
for axis in (ax.xaxis, ax.yaxis):
    axis.set_major_formatter(fmt); axis.set_minor_formatter(fmt)
ax.set_xlabel("samples n per measure"); ax.set_ylabel("L2-UVP of emd map (%)")
ax.set_title("emd barycentric map -> closed form as n grows")
plt.tight_layout(); plt.show()
""")

md(r"""
Left: for 30 of the 300 points, the closed-form map (black) and the `ot.emd` match (red, dashed) head the same way,
but each emd match lands on an actual target *sample*, so it inherits the randomness of the target sample.
Right and in the table: the error of the discrete map falls as $n$ grows, and the emd cost approaches the
closed-form $W_2^2$. The decrease is slow: in $d$ dimensions the empirical OT error falls roughly like
$n^{-1/d}$ for large $d$, and the exact solver's cost grows roughly like $n^3$. A discrete plan also only tells
us where the *sample* points go. These are the reasons to learn a map $T$ defined everywhere, which the rest of the
book does.

## Exercises
""")

md(r"""
```{exercise} Sinkhorn by hand
:label: ch02-ex-sinkhorn

Implement Sinkhorn's algorithm in a few lines of NumPy: start from $K=e^{-C/\varepsilon}$ and $v=\mathbf 1$,
then alternate $u\leftarrow a/(Kv)$ and $v\leftarrow b/(K^\top u)$, and return $P=\operatorname{diag}(u)K\operatorname{diag}(v)$.
Run it on the 6-to-9 point example above (with the normalised cost `Cn` and $\varepsilon=0.03$), check your
plan with `gn.exercises.check_transport_plan(P, a, b)`, and compare it with `ot.sinkhorn`. What does the check
say if you stop after a single iteration?
```
""")

md(r"""
````{solution} ch02-ex-sinkhorn
:class: dropdown

```python
def my_sinkhorn(a, b, C, eps, iters=2000):
    K = np.exp(-C / eps)
    v = np.ones_like(b)
    for _ in range(iters):
        u = a / (K @ v)
        v = b / (K.T @ u)
    return u[:, None] * K * v[None, :]

P_mine = my_sinkhorn(a, b, Cn, 0.03)
gn.exercises.check_transport_plan(P_mine, a, b)          # True
np.abs(P_mine - ot.sinkhorn(a, b, Cn, 0.03)).max()        # tiny
```

After one iteration the last update rescaled the columns, so the column sums are right and the row sums are
not: the check reports that the *source marginal (row sums)* is off. For very small $\varepsilon$,
$e^{-C/\varepsilon}$ underflows to zero and the plan fills with NaNs; the fix is to run the iterations on
$\log u$, $\log v$ (POT's `ot.sinkhorn(..., method="sinkhorn_log")`).
````
""")

code(r"""
# what the check reports for two broken plans, then for the emd plan
P_bad = P.copy(); P_bad[:, 0] *= 1.5                    # too much mass into target point 0
for name, Q in [("P transposed", P.T), ("P with column 0 scaled", P_bad)]:
    try:
        gn.exercises.check_transport_plan(Q, a, b)
    except gn.exercises.ExerciseCheckError as err:
        print(f"{name}: {err}")
print(gn.exercises.check_transport_plan(P, a, b))
""")

md(r"""
```{exercise} 1-D OT by sorting
:label: ch02-ex-sorting

Write a function `sort_assignment(x, y)` that, for two 1-D arrays of equal length, returns `perm` with
`perm[i]` the index of the point of `y` that `x[i]` is sent to in the optimal assignment for the cost
$(x-y)^2$. Use only `np.argsort`, no OT solver. Check it with
`gn.exercises.check_sorting_assignment(perm, x, y)` on fresh random data. Then argue why the same
assignment is optimal for every cost $c(x,y)=h(x-y)$ with $h$ strictly convex.
```
""")

md(r"""
````{solution} ch02-ex-sorting
:class: dropdown

```python
def sort_assignment(x, y):
    perm = np.empty(len(x), dtype=int)
    perm[np.argsort(x)] = np.argsort(y)     # k-th smallest x -> k-th smallest y
    return perm

x, y = np.random.randn(50), np.random.rand(50) * 4
gn.exercises.check_sorting_assignment(sort_assignment(x, y), x, y)   # True
```

A common mistake is `perm = np.argsort(y)`, which sends `x[i]` (in its original order) to the $i$-th smallest
$y$; the check detects it. For the general cost, take $x_1<x_2$ and $y_1<y_2$ and set $p=x_1-y_2$, $r=x_2-y_1$,
$q_1=x_1-y_1$, $q_2=x_2-y_2$. Both $q_1$ and $q_2$ lie strictly between $p$ and $r$, and $q_1+q_2=p+r$, so
$q_1=\lambda p+(1-\lambda)r$ and $q_2=(1-\lambda)p+\lambda r$ for some $\lambda\in(0,1)$. Strict convexity gives
$h(q_1)+h(q_2)<h(p)+h(r)$: the crossing pair $(x_1\to y_2,\ x_2\to y_1)$ costs more than the monotone one. Any
non-monotone assignment contains a crossing pair, and uncrossing it lowers the cost, so the optimum is monotone.
````
""")

md(r"""
```{exercise} The Gaussian OT matrix
:label: ch02-ex-gaussian

For $\Sigma_\mu=\begin{pmatrix}4&0\\0&1\end{pmatrix}$ and $\Sigma_\nu=\begin{pmatrix}1&0\\0&9\end{pmatrix}$,
compute the OT matrix $A$ by hand and check it with `gn.exercises.check_gaussian_ot_matrix(A, S_mu, S_nu)`.
Then take the Cholesky factors $L_\mu, L_\nu$ of the covariances of the example above (`S_s`, `S_t`):
$B = L_\nu L_\mu^{-1}$ also satisfies $B\Sigma_\mu B^\top = \Sigma_\nu$, so $x\mapsto Bx$ pushes $\mu$ to $\nu$.
What does the check say about $B$, and what is its transport cost compared with $A$'s?
```
""")

md(r"""
````{solution} ch02-ex-gaussian
:class: dropdown

The covariances commute (both diagonal), so $A=\Sigma_\mu^{-1/2}\Sigma_\nu^{1/2}=\operatorname{diag}(1/2,\,3)$:
each axis is rescaled by the ratio of standard deviations.

```python
gn.exercises.check_gaussian_ot_matrix(torch.diag(torch.tensor([0.5, 3.0])),
                                      torch.diag(torch.tensor([4.0, 1.0])),
                                      torch.diag(torch.tensor([1.0, 9.0])))      # True
L_s, L_t = torch.linalg.cholesky(S_s), torch.linalg.cholesky(S_t)
B = L_t @ torch.linalg.inv(L_s)
gn.exercises.check_gaussian_ot_matrix(B, S_s, S_t)   # fails: pushes forward, but not symmetric
x = source.sample(100000) - m_s
cost = lambda M: ((x - x @ M.T)**2).sum(1).mean()  # cost of the linear part (means cancel out)
cost(A), cost(B)                                     # B costs more
```

$B$ is lower-triangular, not symmetric, so it is not the gradient of a convex function. It is *a* transport
map but not the optimal one, and its cost is higher. Chapter 3 shows that symmetry and positivity (a gradient of a convex
function) single out the optimal map.
````
""")

code(r"""
L_s, L_t = torch.linalg.cholesky(S_s), torch.linalg.cholesky(S_t)
B = L_t @ torch.linalg.inv(L_s)
xc = source.sample(100000, generator=torch.Generator().manual_seed(3)) - m_s
lin_cost = lambda M: ((xc - xc @ M.T)**2).sum(1).mean().item()
print(f"cost of the linear part: symmetric A {lin_cost(A):.4f} | Cholesky map B {lin_cost(B):.4f}")
try:
    gn.exercises.check_gaussian_ot_matrix(B, S_s, S_t)
except gn.exercises.ExerciseCheckError as err:
    print("check on B says:", err)
""")

md(r"""
## Summary

- Monge looks for a map $T$ with $T_\#\mu=\nu$; Kantorovich looks for a plan $\pi\in\Pi(\mu,\nu)$, which always
  exists and, for discrete measures, is the solution of a linear program (`ot.emd`).
- Entropic regularisation (`ot.sinkhorn`) trades exactness for speed and smoothness: the plan blurs toward $ab^\top$ as
  $\varepsilon$ grows.
- Between discrete measures an optimal *map* may not exist, because a map cannot split an atom.
- In 1-D, OT is sorting, and the continuous map is the monotone rearrangement $F_\nu^{-1}\circ F_\mu$.
- Between Gaussians the OT map is affine with a symmetric positive-definite matrix; an exact discrete solver on
  samples approaches it only slowly as $n$ grows.

## Next steps

Chapter 3 states Brenier's theorem: when $\mu$ has a density, the optimal plan *is* a map, and that map is the
gradient of a convex function. Writing the push-forward condition for such a map gives the Monge–Ampère
equation, which becomes the training loss of chapter 5.

## References

```{bibliography}
:filter: docname in docnames
```
""")

write_notebook(cells, "02_optimal_transport.ipynb")
