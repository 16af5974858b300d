"""Generate chapters/03_brenier_monge_ampere.ipynb (stored without outputs)."""
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
# 3. Brenier's theorem and the Monge–Ampère equation

Chapter 2 showed that an optimal *map* may fail to exist between discrete measures. This chapter states the
theorem that guarantees one when the source has a density, and turns the push-forward condition into a
partial differential equation whose residual we can evaluate point by point. That residual becomes the
training loss of GradNetOT in chapter 5 {cite}`chaudhari2025gradnetot`.

**Learning goals.** After this chapter you can

- state Brenier's theorem (and McCann's extension) and explain its three ingredients: a convex potential, a
  monotone gradient, and cyclic monotonicity of the optimal plan;
- derive the Monge–Ampère equation $\det\nabla^2u(x)=p(x)/q(\nabla u(x))$ from the change-of-variables formula,
  and its log form;
- evaluate the Monge–Ampère residual of any map written as an `nn.Module` with `gn.monge_ampere_residual`,
  and check that the closed-form Gaussian map and the disk-to-Gaussian map have (numerically) zero residual
  while wrong maps do not;
- explain why a zero residual alone does not make a map optimal, and what the convexity of $u$ adds.

```{admonition} GPU
:class: note
No GPU is needed: everything in this chapter runs on a CPU. Measured on the book's 2-core CPU machine (a fresh clone built with `make book`, nothing else running, 2026-11-26), the
chapter ran in 6 s with `GRADNETOT_FAST=1` and 7 s in full mode (20,000 instead of 5,000 test points).
```
""")

code(SETUP_CELL)

code(r"""
import ot
from torch import nn
""")

md(r"""
## Brenier's theorem

```{prf:theorem} Brenier
:label: ch03-thm-brenier

Let $\mu$ and $\nu$ be probability measures on $\mathbb{R}^d$ with finite second moments, and let $\mu$ be
absolutely continuous (it has a density $p$). Then the quadratic-cost Kantorovich problem
$\min_{\pi\in\Pi(\mu,\nu)}\int\|x-y\|^2\,d\pi$ has a unique solution, and it is induced by a map: $\pi=(\mathrm{id},T)_\#\mu$
with

$$
T = \nabla u \qquad\text{for a convex function } u:\mathbb{R}^d\to\mathbb{R}\cup\{+\infty\}.
$$

$T$ is uniquely determined $\mu$-almost everywhere, and it also solves Monge's problem.
```

The theorem is due to {cite}`brenier1991`; see {cite}`villani2009` (Theorem 9.4) and
{cite}`peyre2019computational` for modern treatments. McCann removed the moment assumption, at the price
of dropping the word "optimal":

```{prf:theorem} McCann
:label: ch03-thm-mccann

If $\mu$ is absolutely continuous and $\nu$ is any probability measure on $\mathbb{R}^d$, there is a convex
function $u$ whose gradient pushes $\mu$ forward to $\nu$, $(\nabla u)_\#\mu=\nu$, and $\nabla u$ is
uniquely determined $\mu$-almost everywhere {cite}`mccann1995`.
```

```{prf:proof}
*(Sketch of Brenier's theorem.)* Expanding $\|x-y\|^2=\|x\|^2+\|y\|^2-2\langle x,y\rangle$ shows that minimising the cost is the
same as maximising the correlation $\int\langle x,y\rangle\,d\pi$. The support of an optimal plan is
**cyclically monotone**: for any pairs $(x_1,y_1),\dots,(x_k,y_k)$ in it,
$\sum_i \|x_i-y_i\|^2 \le \sum_i\|x_{i+1}-y_i\|^2$ (with $x_{k+1}=x_1$). If this failed, moving a little mass
along the cycle would lower the cost. Rockafellar's theorem says that a cyclically monotone set lies in the
graph of the subdifferential $\partial u$ of a convex function $u$. A convex function is differentiable almost
everywhere, and $\mu$ does not charge null sets because it has a density, so $\mu$-almost every $x$ has exactly one
partner $y=\nabla u(x)$. Uniqueness follows from the strict convexity of the dual problem in $\nabla u$; see
{cite}`villani2009` for the details.
```

**Intuition.** Three views of the same fact:

- *Convex potential.* The map is the gradient of a bowl-shaped function $u$. In 1-D, $u'$ of a convex $u$ is
  nondecreasing, which is the monotone rearrangement of chapter 2.
- *Monotone gradient.* Convexity of $u$ is equivalent to $\langle\nabla u(x)-\nabla u(y),\,x-y\rangle\ge 0$ for
  all $x,y$: two particles never swap order along the line joining them. Where $u$ is twice differentiable, the
  Jacobian $J_T=\nabla^2u$ is **symmetric** positive semidefinite.
- *Cyclic monotonicity.* No cyclic reshuffling of destinations lowers the total cost. This is the property a
  discrete optimal plan has, and Brenier's theorem says that in the limit it forces the gradient structure.

We check cyclic monotonicity on the exact optimal assignment of two point clouds (`ot.emd` returns a
permutation when both clouds have $n$ points of equal mass) against a random assignment: for random cycles of
length 2 to 5, we compute the change in cost obtained by shifting the destinations along the cycle.
""")

code(r"""
rng = np.random.default_rng(0)
n_pts = 60
xs = rng.normal(size=(n_pts, 2))
yt = rng.normal(size=(n_pts, 2)) * np.array([0.5, 1.5]) + np.array([3.0, 0.0])
w = np.full(n_pts, 1 / n_pts)
perm_opt = ot.emd(w, w, ot.dist(xs, yt)).argmax(1)
perm_rand = rng.permutation(n_pts)

def cycle_gains(perm, n_cycles=5000):
    # cost after shifting destinations along a random cycle minus cost before (>= 0 means no improvement)
    out = []
    for _ in range(n_cycles):
        k = rng.integers(2, 6)
        idx = rng.choice(n_pts, size=k, replace=False)
        y = yt[perm[idx]]
        before = ((xs[idx] - y)**2).sum()
        after = ((np.roll(xs[idx], -1, axis=0) - y)**2).sum()
        out.append(after - before)
    return np.array(out)

for name, perm in [("emd (optimal)", perm_opt), ("random", perm_rand)]:
    gains = cycle_gains(perm)
    print(f"{name:<14} fraction of cycles that would lower the cost: {np.mean(gains < -1e-12):.3f}"
          f"   min change: {gains.min():+.3f}")
""")

md(r"""
No cycle improves the optimal assignment (its smallest change is nonnegative), while roughly half of the
random cycles improve the random assignment. Cyclic monotonicity is what singles out the optimal plan.

## From the change of variables to the Monge–Ampère equation

Let $\mu$ and $\nu$ have densities $p$ and $q$, and let $T$ be a smooth bijection with $T_\#\mu=\nu$. For any
test function $f$,

$$
\int f(y)\,q(y)\,dy \;=\; \int f(T(x))\,p(x)\,dx ,
$$

because the right side is the expectation of $f(T(x))$ for $x\sim\mu$, which by assumption equals the expectation
of $f(y)$ for $y\sim\nu$. Substituting $y=T(x)$ on the left gives $dy=|\det J_T(x)|\,dx$, so

$$
\int f(T(x))\,q(T(x))\,|\det J_T(x)|\,dx = \int f(T(x))\,p(x)\,dx \quad\text{for all } f
\qquad\Longrightarrow\qquad
p(x) = q(T(x))\,|\det J_T(x)|.
$$

This is the **Jacobian equation**: mass is conserved locally, so where the map expands volume
($|\det J_T|>1$) the density drops, and vice versa. By Brenier, the optimal map is $T=\nabla u$ with $u$ convex, so
$J_T=\nabla^2u$ is symmetric positive semidefinite and the absolute value can be dropped:

$$
\det \nabla^2 u(x) \;=\; \frac{p(x)}{q(\nabla u(x))}.
$$

This is the **Monge–Ampère equation** (with the "second boundary condition" $\nabla u(\operatorname{supp}\mu)=\operatorname{supp}\nu$).
It is a fully nonlinear second-order PDE for $u$, and convexity is what selects the right solution. Taking logarithms
gives the form used for training,

$$
\log\det\nabla^2u(x) \;=\; \log p(x) - \log q(\nabla u(x)),
$$

and the **Monge–Ampère residual** of a candidate map $T$ is

$$
r_T(x) = \log\det J_T(x) - \log p(x) + \log q(T(x)).
$$

The log form only needs log-densities (which `log_prob` gives, and which stay finite in the tails where $p$
and $q$ underflow) and the log-determinant of a positive definite matrix (stable by a Cholesky factorisation).
GradNetOT minimises $\mathbb E_{x\sim\mu}|r_T(x)|$ over monotone gradient networks $T=\nabla u_\theta$
{cite}`chaudhari2025gradnetot`. `gn.monge_ampere_residual(model, x, source, target)` computes $r_T$ for any
`nn.Module` $T$, using the closed-form Jacobian of an mGradNet or `torch.func` for anything else.

## Check 1: the Gaussian map has zero residual

We wrap an affine map $T(x)=Ax+b$ in a tiny module. With the closed-form matrix from `gn.gaussian_ot_map`, the
residual should vanish up to float32 rounding. Two wrong maps follow: a mis-scaled one ($1.2A$) and a rotated
one ($R_{30°}A$, which has the same determinant as $A$, so only the $\log q(T(x))$ term can tell it apart).
""")

code(r"""
class AffineMap(nn.Module):
    # T(x) = A x + b for a batch x of shape (n, d); its Jacobian is A everywhere
    def __init__(self, A, b):
        super().__init__()
        self.register_buffer("A", torch.as_tensor(A, dtype=torch.float32))
        self.register_buffer("b", torch.as_tensor(b, dtype=torch.float32))

    def forward(self, x):
        return x @ self.A.T + self.b

m_s, m_t = torch.tensor([0.0, 0.0]), torch.tensor([3.0, 1.0])
S_s = torch.tensor([[1.0, 0.6], [0.6, 0.8]])
S_t = torch.tensor([[0.5, -0.3], [-0.3, 1.2]])
source, target = gn.Gaussian(m_s, S_s), gn.Gaussian(m_t, S_t)
T_ref = gn.gaussian_ot_map(m_s, S_s, m_t, S_t)
A = T_ref.A

def affine_through_means(M):
    # x -> m_t + M (x - m_s)
    return AffineMap(M, m_t - M @ m_s)

th = np.deg2rad(30.0)
R = torch.tensor([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]], dtype=torch.float32)
maps = {"closed form A": affine_through_means(A),
        "mis-scaled 1.2 A": affine_through_means(1.2 * A),
        "rotated R(30°) A": affine_through_means(R @ A)}

n_check = gn.scaled(20000, 5000)
x = source.sample(n_check, generator=torch.Generator().manual_seed(1))
residuals = {}
with torch.no_grad():
    for name, T in maps.items():
        residuals[name] = gn.monge_ampere_residual(T, x, source, target)
print(f"n = {n_check} source samples")
print(f"{'map':<18} {'mean |r|':>10} {'max |r|':>10} {'log det J':>10}")
for name, r in residuals.items():
    print(f"{name:<18} {r.abs().mean().item():>10.2e} {r.abs().max().item():>10.2e} "
          f"{torch.linalg.slogdet(maps[name].A)[1].item():>10.4f}")
""")

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
r0 = residuals["closed form A"].numpy()
axes[0].hist(r0 * 1e6, bins=60, color="tab:green")
axes[0].set_xlabel("residual $r_T(x)$  [units of $10^{-6}$]"); axes[0].set_ylabel("count")
axes[0].set_title("closed-form map: float32 round-off only")
bins = np.linspace(-4, 3, 120)
for name, c in [("closed form A", "tab:green"), ("mis-scaled 1.2 A", "tab:red"), ("rotated R(30°) A", "tab:purple")]:
    axes[1].hist(residuals[name].numpy().clip(bins[0], bins[-1]), bins=bins, alpha=0.6, color=c, label=name)
axes[1].set_yscale("log"); axes[1].set_xlabel("residual $r_T(x)$"); axes[1].legend(fontsize=8)
axes[1].set_title("wrong maps: residuals spread over O(1)")
plt.tight_layout(); plt.show()
""")

md(r"""
Left: the closed-form map's residuals are of order $10^{-6}$, float32 round-off (see the table). Right, on a
common axis: the closed-form residuals collapse into a single bin at zero, while both wrong maps have residuals of
order one, spread over the sample. The mis-scaled map has
$\log\det(1.2A)=\log\det A+2\log 1.2$, a constant offset, plus a $\log q$ term that varies with $x$; the rotated map
has exactly the right determinant, and its residual comes entirely from $\log q(T(x))$, because $T$ sends mass to
the wrong places.

## A caveat: zero residual does not mean optimal

The residual only checks the push-forward condition. Between $\mathcal N(0,I)$ and $\mathcal N(0,4I)$, every map
$T_\theta(x)=2R_\theta x$ with $R_\theta$ a rotation pushes the source to the target, since a rotation preserves an
isotropic Gaussian. All of them have zero residual; only $\theta=0$ is the OT map, the only one whose Jacobian is symmetric
positive definite (the gradient of a convex function). At $\theta=180°$ the Jacobian $-2I$ is symmetric, but it is the
gradient of a *concave* function.
""")

code(r"""
iso_s, iso_t = gn.Gaussian(torch.zeros(2), torch.eye(2)), gn.Gaussian(torch.zeros(2), 4 * torch.eye(2))
xi = iso_s.sample(n_check, generator=torch.Generator().manual_seed(2))
print(f"{'theta':>6} {'max |r|':>9} {'cost E|x - T(x)|^2':>19} {'|J - J^T|':>10} {'J sym. pos. def.':>17}")
for deg in [0, 30, 90, 180]:
    t = np.deg2rad(deg)
    Rt = torch.tensor([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]], dtype=torch.float32)
    T_th = AffineMap(2 * Rt, torch.zeros(2))
    with torch.no_grad():
        r = gn.monge_ampere_residual(T_th, xi, iso_s, iso_t)
        cost = ((xi - T_th(xi))**2).sum(1).mean().item()
    asym = (T_th.A - T_th.A.T).abs().max().item()
    spd = asym < 1e-6 and torch.linalg.eigvalsh(T_th.A).min().item() > 0
    print(f"{deg:>6} {r.abs().max().item():>9.1e} {cost:>19.3f} {asym:>10.3f} {str(spd):>17}")
""")

md(r"""
All four maps have residuals at round-off level, but the transport cost grows with the angle, and only the map whose
Jacobian is symmetric positive definite ($\theta=0$) is optimal. This is why GradNetOT does not minimise the residual over *all*
networks: it restricts the search to gradients of convex functions, where McCann's theorem makes the map that
solves the Monge–Ampère equation unique, and Brenier's theorem makes it the optimal one. Chapter 5 shows that an
unconstrained network trained on the same loss finds a map with a small residual that is not the OT map.

## Check 2: a non-Gaussian pair, the disk and the Gaussian

For the uniform density on the unit disk and an isotropic Gaussian $\mathcal N(0,\sigma^2I)$, symmetry forces the OT
map to be radial, $T(x)=\rho(\|x\|)\,x/\|x\|$. Equating the mass inside radius $r$ of the disk, $r^2$, with the
mass inside radius $\rho$ of the Gaussian, $1-e^{-\rho^2/2\sigma^2}$, gives $\rho(r)=\sigma\sqrt{-2\log(1-r^2)}$,
a nondecreasing profile and hence the gradient of a convex radial potential. `gn.disk_to_gaussian_map` implements
it. We wrap it in a module, get its Jacobian with `gn.autodiff_jacobian` (`torch.func`), check that the
Jacobian is symmetric positive definite, and evaluate the residual. The uniform density is
$p=1/\pi$ inside the disk, and we pass its log exactly (`log_p=`). We sample inside radius 0.98, because $\rho(r)\to\infty$
at the boundary, where float32 loses accuracy. As a wrong map we take the radial scaling $T(x)=cx$, which is also a gradient of a convex
function but pushes the disk to a larger uniform disk, not to a Gaussian.
""")

code(r"""
sigma = 0.4

class DiskToGaussian(nn.Module):
    def forward(self, x):
        return gn.disk_to_gaussian_map(x, radius=1.0, std=sigma)

class Scaling(nn.Module):
    def __init__(self, c):
        super().__init__(); self.c = c
    def forward(self, x):
        return self.c * x

gen = torch.Generator().manual_seed(3)
r_in = 0.98 * torch.sqrt(torch.rand(n_check, generator=gen))       # uniform on the disk of radius 0.98
phi = 2 * np.pi * torch.rand(n_check, generator=gen)
xd = torch.stack([r_in * torch.cos(phi), r_in * torch.sin(phi)], 1)
log_p = torch.full((n_check,), -np.log(np.pi))
gauss = gn.Gaussian(torch.zeros(2), sigma**2 * torch.eye(2))
disk = gn.UniformShape("disk", radius=1.0)

T_disk = DiskToGaussian()
J = gn.autodiff_jacobian(T_disk, xd).detach()
print(f"max |J - J^T| = {(J - J.transpose(1, 2)).abs().max().item():.1e}; "
      f"min eigenvalue of J = {torch.linalg.eigvalsh(J).min().item():.3f} (> 0: symmetric positive definite)")

c_scale = 2 * sigma   # matches the Gaussian's second moment: E|cx|^2 = c^2/2 = 2 sigma^2
res_disk = {}
for name, T in [("radial OT map", T_disk), (f"scaling {c_scale:g} x", Scaling(c_scale))]:
    r = gn.monge_ampere_residual(T, xd, disk, gauss, log_p=log_p).detach()
    res_disk[name] = r
    print(f"{name:<16} mean |r| = {r.abs().mean().item():.2e}   max |r| = {r.abs().max().item():.2e}")
""")

code(r"""
fig, axes = plt.subplots(1, 3, figsize=(14, 4))
sub = slice(0, 2000)
cols = plt.cm.viridis(r_in[sub].numpy() / 0.98)
axes[0].scatter(*xd[sub].T, s=3, c=cols); axes[0].set_aspect("equal"); axes[0].set_title("source: uniform disk")
Txd = T_disk(xd[sub]).detach()
axes[1].scatter(*Txd.T, s=3, c=cols); axes[1].set_aspect("equal")
axes[1].set_title(f"T(x): N(0, {sigma}² I), same colours")
order = torch.argsort(r_in)
for (name, r), c in zip(res_disk.items(), ["tab:green", "tab:red"]):
    axes[2].plot(r_in[order].numpy(), r[order].numpy(), ".", ms=2, color=c, label=name)
axes[2].axhline(0, color="k", lw=0.5)
axes[2].set_xlabel("radius |x|"); axes[2].set_ylabel("residual $r_T(x)$"); axes[2].legend(fontsize=8, markerscale=5)
axes[2].set_title("Monge–Ampère residual vs radius")
plt.tight_layout(); plt.show()
""")

md(r"""
Left and middle: the radial map keeps the angle and the ordering by radius (colour), compressing the centre of the
disk and stretching the rim out to the Gaussian tails. Right: the residual of the radial OT map is at round-off level
at every radius, while the scaling map is off by an amount that grows with the radius: it spreads mass uniformly, so
$\log q(T(x))=-\|cx\|^2/2\sigma^2+\text{const}$ varies with $|x|$ while its $\log\det J$ is constant. The
Jacobian check printed above confirms the other half of Brenier's characterisation: the map is the gradient of a
convex function.

## Exercises
""")

md(r"""
```{exercise} Implement the Monge–Ampère residual
:label: ch03-ex-residual

Write `my_residual(T, x, source, target)` that returns the vector $r_T(x_i)=\log\det J_T(x_i)-\log p(x_i)+\log q(T(x_i))$
for a batch `x` of shape `(n, d)`, where `T` is an `nn.Module` and `source`, `target` have a `log_prob` method.
Get the Jacobians with `gn.autodiff_jacobian(T, x)` (or write your own loop over `torch.autograd.functional.jacobian`),
and use `torch.linalg.slogdet`. Test it with `gn.exercises.check_monge_ampere_residual(my_residual)`, which
compares it with the package on three maps and names the most common mistakes (a flipped sign, $q$ evaluated at
$x$ instead of $T(x)$, $\det$ instead of $\log\det$).
```
""")

md(r"""
````{solution} ch03-ex-residual
:class: dropdown

```python
def my_residual(T, x, source, target):
    y = T(x)
    J = gn.autodiff_jacobian(T, x)                  # (n, d, d)
    logdet = torch.linalg.slogdet(J)[1]             # log |det J|
    return logdet - source.log_prob(x) + target.log_prob(y)

gn.exercises.check_monge_ampere_residual(my_residual)   # True
```

`slogdet` returns the log of $|\det J|$. For a monotone gradient network $J$ is symmetric positive definite, so
this equals $\log\det J$, and a Cholesky factorisation computes it faster (`gn.logdet_spd`).
````
""")

code(r"""
# the check in action on a buggy residual (q evaluated at x instead of T(x)):
def buggy_residual(T, x, source, target):
    J = gn.autodiff_jacobian(T, x)
    return torch.linalg.slogdet(J)[1] - source.log_prob(x) + target.log_prob(x)

try:
    gn.exercises.check_monge_ampere_residual(buggy_residual)
except gn.exercises.ExerciseCheckError as err:
    print("check says:", err)
""")

md(r"""
```{exercise} Which rotation is optimal?
:label: ch03-ex-rotation

For $\mu=\mathcal N(0,I_2)$ and $T_\theta(x)=2R_\theta x$, compute the transport cost
$C(\theta)=\mathbb E\|x-T_\theta(x)\|^2$ in closed form, and check it against the table printed in the caveat
section above. Which $\theta$ minimises it? Verify that $\langle T_\theta(x)-T_\theta(y),x-y\rangle\ge0$ for all
$x,y$ exactly when $|\theta|\le 90°$. Why is $T_{30°}$ monotone and still not the OT map?
```
""")

md(r"""
````{solution} ch03-ex-rotation
:class: dropdown

$\|x-2R_\theta x\|^2=\|x\|^2+4\|x\|^2-4\langle x,R_\theta x\rangle=5\|x\|^2-4\cos\theta\,\|x\|^2$, since
$\langle x,R_\theta x\rangle=\cos\theta\,\|x\|^2$ in 2-D. With $\mathbb E\|x\|^2=2$:
$C(\theta)=10-8\cos\theta$, which is $2$ at $\theta=0$, $10$ at $90°$ and $18$ at $180°$, as in the table. The minimum is at
$\theta=0$. Monotonicity: $\langle 2R_\theta v, v\rangle = 2\cos\theta\,\|v\|^2\ge 0$ iff $\cos\theta\ge0$.

```python
for deg in [0, 30, 90, 180]:
    print(deg, 10 - 8 * np.cos(np.deg2rad(deg)))
```

$T_{30°}$ is monotone, but its Jacobian $2R_{30°}$ is not symmetric, so it is not the gradient of any function
(a gradient has a symmetric Hessian). Brenier's map is a gradient of a convex function, which is stronger than
monotone. This is why mGradNets are built as gradients (chapter 4), and not just as monotone maps.
````
""")

code(r"""
for deg in [0, 30, 90, 180]:
    print(f"theta = {deg:>3}: C(theta) = 10 - 8 cos(theta) = {10 - 8 * np.cos(np.deg2rad(deg)):.3f}")
""")

md(r"""
## Summary

- Brenier: if the source has a density, the quadratic-cost optimal plan is a map, $T=\nabla u$ with $u$ convex,
  unique almost everywhere. McCann: such a convex-gradient push-forward exists and is unique even without moments.
- The optimal plan is cyclically monotone, the optimal map is monotone, and its Jacobian $\nabla^2u$ is symmetric
  positive semidefinite.
- The change-of-variables formula gives the Monge–Ampère equation $\det\nabla^2u=p/q(\nabla u)$, and in log form the
  residual $r_T(x)=\log\det J_T(x)-\log p(x)+\log q(T(x))$, computable from samples with `gn.monge_ampere_residual`.
- The closed-form Gaussian map and the radial disk-to-Gaussian map have residuals at round-off level; mis-scaled or
  rotated maps do not.
- A zero residual only certifies the push-forward. Optimality comes from restricting to gradients of convex functions.

## Next steps

Chapter 4 builds neural networks that are gradients of convex functions by construction (mGradNet-C and
mGradNet-M {cite}`chaudhari2024gradientnetworks`), and chapter 5 trains them by minimising the mean absolute
Monge–Ampère residual.

## References

```{bibliography}
:filter: docname in docnames
```
""")

write_notebook(cells, "03_brenier_monge_ampere.ipynb")
