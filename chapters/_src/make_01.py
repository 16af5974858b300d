"""Generate chapters/01_introduction.ipynb (stored without outputs)."""
import pathlib
import sys

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell

from gradnetot._setup_cell import SETUP_CELL

OUT = pathlib.Path(__file__).resolve().parents[1] / "01_introduction.ipynb"

cells = []


def md(s):
    cells.append(new_markdown_cell(s.strip("\n")))


def code(s):
    cells.append(new_code_cell(s.strip("\n")))


md(r"""
# 1. Introduction: moving a disk onto a Gaussian

Take a cloud of points spread uniformly over a disk and a blob of points drawn from a Gaussian. Which way
should each point move so that the disk becomes the blob, if moving a point costs the square of the distance
it travels? That question is an **optimal transport** (OT) problem, and its answer is a map $T$ that sends
every point of the disk somewhere in the plane. This chapter trains a neural network to find that map, watches
it move the points, and then checks the answer against fresh samples and against the exact solution, which is
known in closed form for this pair.

**Learning goals.** After this chapter you can

- say what OT is for and name a few problems that are OT problems in disguise;
- run the book locally, on Colab, and on a GPU, and use the `GRADNETOT_FAST` switch;
- train a monotone gradient network (mGradNet) with `gn.fit` and plot its loss, its displacement
  interpolation and an animation of it;
- judge a learned map with a two-sample statistic against a *noise floor*, and with the L2-UVP error
  against a known map, and explain where the error concentrates;
- find your way around the other eight chapters.

```{admonition} GPU
:class: note
No GPU is needed: this chapter runs on a CPU. The training cell prints its own wall-clock time, so you can see
what it costs on your machine. Measured on the book's 2-core CPU machine (a fresh clone built with `make book`, nothing else running, 2026-11-26), the whole chapter ran in 9 s with
`GRADNETOT_FAST=1` (400 training steps, one thread) and 18 s in full mode (2,000 steps). For a problem this small,
one thread (`OMP_NUM_THREADS=1`) is faster than several on a busy machine.
On a GPU the same code runs unchanged: the setup cell picks `device`, and `gn.fit` trains there.
```
""")

code(SETUP_CELL)

md(r"""
## What optimal transport is for

Monge's 1781 question was practical: move a pile of earth into a hole of the same volume with the least total
effort. In modern terms, we are given two probability distributions, a *source* $\mu$ with density $p$ and a
*target* $\nu$ with density $q$, and we look for a map $T$ that *pushes* $\mu$ onto $\nu$ (if $x\sim\mu$ then
$T(x)\sim\nu$, written $T_\#\mu=\nu$) while minimising the average cost

$$
\mathbb{E}_{x\sim\mu}\,\|T(x)-x\|^2 .
$$

Many problems have this shape {cite}`villani2009,peyre2019computational`:

- **logistics and matching markets**: ship goods from warehouses to shops, or pair workers with firms, at least
  total cost (chapter 9 has a matching market);
- **graphics**: recolour a photograph with the palette of another by transporting one colour distribution onto the
  other (chapter 9), or morph one shape into another (chapter 7);
- **robotics**: send a swarm of robots from one formation to another along paths that do not cross (chapter 8);
- **machine learning**: compare distributions, align data sets from different domains, and build generative models
  that push a simple distribution onto a complicated one.

For the squared cost, Brenier's theorem {cite}`brenier1991` says the optimal map is the **gradient of a convex
function**, $T=\nabla u$. GradNetOT {cite}`chaudhari2025gradnetot` builds on that: it parameterises $T$
directly with a *monotone gradient network* {cite}`chaudhari2023mgn,chaudhari2024gradientnetworks`, a network that
is the gradient of a convex function by construction, and trains it so that it satisfies the Monge–Ampère
equation in log form,

$$
\log\det J_T(x) \;=\; \log p(x) - \log q\big(T(x)\big),
$$

which says that $T$ moves mass without creating or destroying any. Because $T$ is a convex gradient, *any* map of
this form that pushes $\mu$ onto $\nu$ is the optimal one, so matching the densities is all the training has to do.
Chapters 3–5 derive all of this; here we simply use it.

## How to read and run this book

Every chapter is a Jupyter notebook that runs top to bottom. Read the text, run the cells, and change things.

- **Locally.** Clone the repository and run `make test` (creates `.venv`, installs the package, runs the tests and
  every chapter in FAST mode) or `make book` (builds this book as executed HTML under `_build/html`). To work in a
  chapter, open it with `jupyter lab` from the same environment.
- **On Colab.** Use the rocket icon at the top of a chapter's page and pick *Colab*. The first code cell of every
  chapter (the *setup cell*, below) installs the `gradnetot` package when it is missing, so the notebook runs as is.
- **On a GPU.** On Colab choose *Runtime → Change runtime type → GPU*. The setup cell prints the device it found;
  `gn.fit(..., device="auto")` then trains on it. Chapter 6 is about training on GPUs.
- **FAST mode.** With the environment variable `GRADNETOT_FAST=1` every chapter shrinks its experiments (fewer
  steps, fewer samples) so that it runs in a minute or two on a laptop CPU; `make test` sets it. Sizes in the code
  are written `gn.scaled(full, fast)`. Numbers printed in FAST mode are noisier than in the full book.
- **Exercises** sit at the end of each chapter, with solutions folded away. Some come with a checker,
  `gn.exercises.check_*`, that tests your answer and says what is wrong.

## A map of the book

| Chapter | What it does |
|---|---|
| 1. Introduction | this chapter: the disk → Gaussian example, end to end |
| 2. Optimal transport, from Monge to Kantorovich | discrete OT with POT, 1-D OT as sorting, Gaussian OT, why maps may not exist |
| 3. Brenier's theorem and the Monge–Ampère equation | the theorem, the equation from the change of variables, a numerical check |
| 4. Convex potentials and monotone gradients | ICNNs vs gradient networks, the mGradNet-C and mGradNet-M constructions, an interactive explorer |
| 5. The Monge–Ampère loss | the loss, Jacobians by autodiff vs closed form, why an unconstrained network is not the OT map |
| 6. Training on GPUs | device-agnostic code, throughput, precision, the high-dimensional Gaussian benchmark |
| 7. Image morphing | MNIST digits as densities, bandwidth annealing, a morph animation, comparison with exact OT |
| 8. Robot swarm reconfiguration | paths that do not cross, and a learned map vs an exact assignment as the swarm grows |
| 9. The seed's claims, tested | accuracy in high dimension, interpretability, colour transfer, a matching market, and where the method loses |

Chapters are independent: each one runs on its own after its setup cell.

## The problem: a disk and a Gaussian blob

The source $\mu$ is uniform on the disk of radius $R=1$ and the target $\nu$ is the Gaussian $N(0,\sigma^2 I)$
with $\sigma=0.5$. `gn.UniformShape` gives the disk a slightly smoothed edge so that its log-density is finite
everywhere (the loss evaluates it), which also means a few samples land just outside radius 1.

A detail worth noticing before we train: a uniform disk of radius $R$ has covariance $\tfrac{R^2}{4}I$, which for
$R=1$ equals the target's $\sigma^2 I$. The two distributions have the same mean and covariance, so the best
*affine* map (the closed-form Gaussian OT map between their first two moments, chapter 2) is close to the identity:
every bit of the work must be done by the non-linear part of the network. The cell below checks this.
""")

code(r"""
R, sigma = 1.0, 0.5
source = gn.UniformShape("disk", radius=R)
target = gn.Gaussian(torch.zeros(2), sigma**2 * torch.eye(2))
target_var = 2 * sigma**2  # total variance of the target, trace of its covariance (for L2-UVP)

g = torch.Generator().manual_seed(0)
xs = source.sample(20_000, generator=g)
xt = target.sample(20_000, generator=g)
affine = gn.gaussian_ot_map(xs.mean(0), torch.cov(xs.T), torch.zeros(2), sigma**2 * torch.eye(2))
print("sample covariance of the disk:\n", torch.cov(xs.T).numpy().round(4))
print("matrix A of the best affine map x -> A x + b:\n", affine.A.numpy().round(3))
print(f"share of disk samples outside radius 1 (smoothed edge): {(xs.norm(dim=1) > R).float().mean():.3%}")

fig, axes = plt.subplots(1, 2, figsize=(7, 3.4), sharex=True, sharey=True)
axes[0].scatter(*xs[:2000].T, s=3, c=gn.color_by_position(xs[:2000]), linewidths=0)
axes[0].set_title("source: uniform disk")
axes[1].scatter(*xt[:2000].T, s=3, c="0.4", linewidths=0)
axes[1].set_title(r"target: $N(0, \sigma^2 I)$, $\sigma = 0.5$")
for ax in axes:
    ax.set_aspect("equal")
    ax.set_xlim(-1.8, 1.8)
    ax.set_ylim(-1.8, 1.8)
fig.tight_layout()
""")

md(r"""
The disk's sample covariance is close to $0.25\,I$ and the affine map's matrix is close to the identity, as
predicted. The picture shows the difference that remains: the Gaussian piles mass up in the middle and spreads a
thin tail far beyond the disk's edge, so the map must pull points toward the centre and fling those near the
rim outward. The disk is coloured by position (hue = angle, saturation = distance from the centre); the same colours
follow the points through every figure below.

## Training an mGradNet-M

`gn.MGradNetM(2)` is the *modular* monotone gradient network of chapter 4. `gn.fit` draws fresh batches from the
source at every step, evaluates the Monge–Ampère residual with the network's closed-form Jacobian, and minimises
its mean absolute value with Adam. It starts from the affine map above (a *warm start*), so the first loss values
are those of that map. The number of steps comes from `gn.scaled(full, fast)`.
""")

code(r"""
steps = gn.scaled(2000, 400)
model = gn.MGradNetM(2)
result = gn.fit(model, source, target, steps=steps, batch_size=1000, seed=0, device=device, progress=False)
print(result)
print(f"{steps} steps in {result.wall_time:.1f} s ({result.steps_per_second:.0f} steps/s on {result.device})")
""")

code(r"""
ax = gn.plot_losses(result, label="mGradNet-M")
ax.set_title("Monge–Ampère loss (mean |residual|) during training");
""")

md(r"""
The faint curve is the loss of each batch and the solid one its moving average. The loss falls quickly from its
warm-start value and then keeps decreasing more slowly while the learning rate decays; its noise comes from the
fresh batch drawn at every step. A small loss says that the residual of the Monge–Ampère equation is small *on
average over the disk*; it does not say directly how close the map is to the true one, which we measure below.

## Watching the map move the points

The **displacement interpolation** $x_t=(1-t)\,x+t\,T(x)$, $0\le t\le 1$, moves each point in a straight line
from where it starts to where the map sends it. For the optimal map these straight paths never cross
{cite}`mccann1995`, a fact chapter 8 uses for robot swarms. The points below are new disk samples, not the ones
the network was trained on; the last panel overlays fresh target samples in grey.
""")

code(r"""
g_new = torch.Generator().manual_seed(1)
x_show = source.sample(1500, generator=g_new)
fig = gn.plot_displacement(model, x_show, target=target.sample(1500, generator=g_new))
""")

md(r"""
Colours stay in their angular sectors from $t=0$ to $t=1$: the map moves points along rays, which is what one
expects from the symmetry of the problem (both distributions look the same after any rotation about the origin).
Points near the centre are pulled inward and points near the rim are pushed outward into the Gaussian's tail,
and at $t=1$ the coloured points are spread like the grey target sample: denser in the middle, with a tail
beyond the disk's edge. The animation shows the same interpolation in
motion (use the controls to step through it).
""")

code(r"""
gn.animate_displacement(model, x_show[:800], frames=gn.scaled(30, 16), target=target.sample(800, generator=g_new))
""")

md(r"""
## Did the points land on the Gaussian?

A picture can hide a lot, so we measure. We map **new** disk points and compare them with **fresh** Gaussian
samples using the energy distance

$$
\mathcal{E}(X,Y)=2\,\mathbb{E}\|X-Y\|-\mathbb{E}\|X-X'\|-\mathbb{E}\|Y-Y'\|,
$$

which is zero exactly when $X$ and $Y$ have the same distribution, and the sliced 2-Wasserstein distance (the
average 1-D OT distance over random projections). On finite samples neither statistic is exactly zero even for
a perfect map, so every number needs a yardstick: the **noise floor**, the same statistic between two independent
samples of the target of the same size. A map whose statistic sits at the noise floor is indistinguishable from the
target at this sample size.

Because this pair has a closed-form OT map $T^\star$ (radial; the first exercise derives it), we can also measure how far the
learned map is from the *right* map, not just from *a* map that pushes the disk onto the Gaussian. The L2-UVP
{cite}`korotin2021benchmark` is the mean squared error $\mathbb{E}\|T(x)-T^\star(x)\|^2$ as a percentage of the
target's total variance; we report it on all points and on the bulk away from the rim ($\|x\|\le 0.95$). The
closed form is the map for the sharp-edged disk, so the new points are drawn from the sharp disk
(radius $R\sqrt{U}$ with $U$ uniform, angle uniform) rather than from the smoothed training density. We compare
three maps: the best affine map (the
starting point of training), the trained network, and $T^\star$ itself.
""")

code(r"""
n_eval, repeats = gn.scaled(4000, 2000), 5
g_eval = torch.Generator().manual_seed(2)

def sharp_disk(n, generator):
    # exact uniform samples of the disk of radius R (no smoothed edge)
    radius = R * torch.sqrt(torch.rand(n, generator=generator))
    angle = 2 * torch.pi * torch.rand(n, generator=generator)
    return torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], 1)

x_new = sharp_disk(n_eval, g_eval)
fresh = [target.sample(n_eval, generator=g_eval) for _ in range(repeats)]
other = [target.sample(n_eval, generator=g_eval) for _ in range(repeats)]

with torch.no_grad():
    maps = {
        "affine (Gaussian) map": affine(x_new),
        "mGradNet-M, trained": model(x_new.to(device)).cpu(),
        "closed-form radial T*": gn.disk_to_gaussian_map(x_new, radius=R, std=sigma),
    }
exact = maps["closed-form radial T*"]
bulk = x_new.norm(dim=1) <= 0.95 * R

def two_sample(y):
    ed = [gn.energy_distance(y, f) for f in fresh]
    sw = [gn.sliced_wasserstein(y, f) for f in fresh]
    return np.mean(ed), np.mean(sw)

floor_ed = [gn.energy_distance(o, f) for o, f in zip(other, fresh)]
floor_sw = [gn.sliced_wasserstein(o, f) for o, f in zip(other, fresh)]
table = {name: (*two_sample(y), gn.l2_uvp(y, exact, target_var),
                gn.l2_uvp(y[bulk], exact[bulk], target_var)) for name, y in maps.items()}

print(f"{n_eval} new disk points, statistics averaged over {repeats} fresh target samples")
print(f"{'map':<24}{'energy dist.':>14}{'sliced W2':>12}{'L2-UVP % all':>17}{'L2-UVP % |x|<=0.95':>21}")
for name, (ed, sw, uvp_all, uvp_bulk) in table.items():
    print(f"{name:<24}{ed:>14.5f}{sw:>12.4f}{uvp_all:>17.3f}{uvp_bulk:>21.3f}")
print(f"{'noise floor (mean)':<24}{np.mean(floor_ed):>14.5f}{np.mean(floor_sw):>12.4f}")
print(f"{'noise floor (std)':<24}{np.std(floor_ed):>14.5f}{np.std(floor_sw):>12.4f}")

ed_affine, ed_learned = table["affine (Gaussian) map"][0], table["mGradNet-M, trained"][0]
excess_removed = 1 - (ed_learned - np.mean(floor_ed)) / (ed_affine - np.mean(floor_ed))
print(f"\ntraining removed {excess_removed:.0%} of the affine map's energy distance above the noise floor")
print("trained map within 2 std of the noise floor (energy distance):",
      bool(ed_learned <= np.mean(floor_ed) + 2 * np.std(floor_ed)))
""")

md(r"""
How to read the table:

- **Two-sample columns.** The affine map leaves the disk essentially unchanged, and its energy distance and sliced
  W2 to the target sit well above the noise floor: a uniform disk is easy to tell apart from a Gaussian with the
  same covariance. Training removes the share of that excess printed below the table, and the last line says
  whether the trained map's energy distance is within two standard deviations of the floor, that is, whether its
  output is statistically indistinguishable from the target with this many samples. The closed-form map's row
  shows where the exact map lands at this sample size.
- **L2-UVP columns.** These compare each map with $T^\star$ point by point. The affine map has the largest error,
  and the trained map's is much smaller. Its error on the bulk is far smaller than on the whole disk: most of the
  error sits in the thin ring next to the rim, which the next figure shows.
""")

code(r"""
with torch.no_grad():
    y_learned = maps["mGradNet-M, trained"]
r_in = x_new.norm(dim=1)
err = (y_learned - exact).norm(dim=1)

fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
order = torch.argsort(r_in)
axes[0].scatter(r_in, y_learned.norm(dim=1), s=3, alpha=0.4, label="mGradNet-M")
axes[0].plot(r_in[order], exact.norm(dim=1)[order], "k", lw=1.2, label="closed form $T^\\star$")
axes[0].set_xlabel("$\\|x\\|$ (radius in the disk)")
axes[0].set_ylabel("$\\|T(x)\\|$ (radius after the map)")
axes[0].set_ylim(0, 2.5)
axes[0].legend()
axes[1].scatter(r_in, err, s=3, alpha=0.4)
axes[1].set_yscale("log")
axes[1].axvline(0.95 * R, color="0.5", ls="--", lw=1)
axes[1].set_xlabel("$\\|x\\|$")
axes[1].set_ylabel("$\\|T(x) - T^\\star(x)\\|$")
fig.tight_layout()
""")

md(r"""
Left: the learned radius profile follows the closed form closely over most of the disk and falls below it only
near $\|x\|=1$, where $T^\star$ shoots off to infinity (the Gaussian has unbounded support, so the last sliver of
the disk must cover the whole tail). Right: the pointwise error grows by orders of magnitude toward the rim (the
dashed line marks $0.95\,R$). This is the honest picture of the L2-UVP numbers: the learned map is accurate where
the mass is, and the remaining error is in a thin ring carrying little mass, where the exact map is infinitely
steep and the smoothed edge of the training density differs from the sharp disk anyway.

## A look inside the network

The network is the gradient of a convex potential $u$, and it gives us $u$ and the Jacobian $J_T=\nabla^2u$ in
closed form. The left panel draws the contours of $u$ with arrows from $x$ to $T(x)$; the right panel colours the
disk by $\log\det J_T$, the log of the factor by which the map changes areas (blue: compressed, red: stretched).
Chapters 4 and 9 return to these pictures.
""")

code(r"""
fig, axes = plt.subplots(1, 2, figsize=(9.5, 4))
gn.plot_potential(model, (-1, 1), (-1, 1), ax=axes[0], n_arrows=11)
gn.plot_det_jacobian(model, (-1, 1), (-1, 1), ax=axes[1])
fig.tight_layout()
""")

md(r"""
The potential is a convex bowl with nearly circular level sets. The arrows are short and point inward in the middle
of the disk and long and outward near its rim, as the radius profile above showed. (In the corners of the square,
outside the disk, the network extrapolates: no training point lives there.) $\log\det J_T$ is negative in the middle of the disk (the map compresses area
there, because the Gaussian is denser at its centre than the disk) and grows toward the rim, where the map
stretches a thin ring over the Gaussian's tail.

## Summary

- Optimal transport asks for the cheapest way to move one distribution onto another; for the squared cost the
  answer is the gradient of a convex function (Brenier).
- A monotone gradient network is such a gradient by construction, so training it to satisfy the Monge–Ampère
  equation gives the OT map. `gn.fit` does this with a handful of lines.
- The displacement interpolation and its animation show how the map moves mass: along rays, inward in the middle
  and outward near the rim.
- To trust a learned map, measure: a two-sample statistic on new points against a noise floor tells whether it
  pushes the source onto the target; L2-UVP against a known map tells whether it is the *optimal* map. Here both
  were computed above, and the error concentrates in a thin ring at the rim where the exact map is infinitely steep.

## Next steps

Chapter 2 starts the theory from the beginning: Monge's and Kantorovich's formulations, exact discrete OT with
POT, 1-D OT as sorting, and the Gaussian closed form that gave us the affine map above.

## Exercises

```{exercise} The closed-form map, by hand
:label: ch01-ex-radial
Both distributions are invariant under rotations about the origin, so the OT map only changes the radius:
$T(x)=\rho(\|x\|)\,x/\|x\|$ with $\rho$ increasing. Derive $\rho(r)$ by equating the probability that the
source radius is below $r$ with the probability that the target radius is below $\rho(r)$, write it as a function
`my_map(x)` of an `(n, 2)` tensor, and test it with `gn.exercises.check_disk_to_gaussian_map(my_map)`.
```

````{solution} ch01-ex-radial
:class: dropdown
For the uniform disk, $P(\|x\|\le r)=r^2/R^2$. For $N(0,\sigma^2I)$ in 2-D, $\|y\|^2/\sigma^2$ is $\chi^2_2$, so
$P(\|y\|\le\rho)=1-e^{-\rho^2/(2\sigma^2)}$. Equating the two gives
$\rho(r)=\sigma\sqrt{-2\log(1-r^2/R^2)}$.

```python
def my_map(x, R=1.0, sigma=0.5):
    r = x.norm(dim=1, keepdim=True)
    rho = sigma * torch.sqrt(-2 * torch.log1p(-(r / R) ** 2))
    return rho * x / r.clamp_min(1e-12)

gn.exercises.check_disk_to_gaussian_map(my_map)
```

`log1p` keeps the formula accurate for small $r$, and `clamp_min` avoids $0/0$ at the centre.
````

```{exercise} An elliptical target
:label: ch01-ex-ellipse
Replace the target by the elongated Gaussian $N\big(0,\operatorname{diag}(0.6^2, 0.25^2)\big)$ and train a new
`MGradNetM`. (a) Is the best affine map still close to the identity? (b) Measure the energy distance of the mapped
new disk points to fresh target samples, for the affine map and the trained map, against the noise floor. (c) Draw
the displacement interpolation. There is no closed-form map for this pair: which of the chapter's checks can you
still run?
```

````{solution} ch01-ex-ellipse
:class: dropdown
```python
cov = torch.diag(torch.tensor([0.6**2, 0.25**2]))
target2 = gn.Gaussian(torch.zeros(2), cov)
affine2 = gn.gaussian_ot_map(xs.mean(0), torch.cov(xs.T), torch.zeros(2), cov)
print(affine2.A)                         # (a) diagonal, far from the identity
model2 = gn.MGradNetM(2)
gn.fit(model2, source, target2, steps=steps, seed=0, device=device, progress=False)
with torch.no_grad():
    y2 = model2(x_new.to(device)).cpu()
f1, f2 = target2.sample(n_eval), target2.sample(n_eval)
print("affine :", gn.energy_distance(affine2(x_new), f1))
print("trained:", gn.energy_distance(y2, f1))
print("floor  :", gn.energy_distance(f2, f1))          # (b)
fig = gn.plot_displacement(model2, x_new[:1500], target=target2)  # (c)
```
Now the affine map already does much of the work (it squeezes the disk into an ellipse with the right
covariance), and training corrects the remaining non-Gaussian shape. The two-sample check still works because it
needs only samples of the target; the L2-UVP check needs a reference map, so it is unavailable here (chapter 9
compares against exact discrete OT instead).
````

```{exercise} Pushing forward is not enough
:label: ch01-ex-cost
Rotating the output of the closed-form map, $T_\theta(x)=\mathrm{Rot}_\theta\,T^\star(x)$, still pushes the disk
onto the same Gaussian (the Gaussian is rotation invariant). Compute the transport cost
$\mathbb{E}\|T_\theta(x)-x\|^2$ with `gn.transport_cost` on the new disk points `x_new` for a few angles $\theta\in[0,\pi]$, and compare with the cost of the trained network. Which $\theta$ is cheapest,
and why does a two-sample statistic alone not detect the difference?
```

````{solution} ch01-ex-cost
:class: dropdown
```python
x_in = x_new
with torch.no_grad():
    learned_cost = gn.transport_cost(x_in, model(x_in.to(device)).cpu())
for theta in np.linspace(0, np.pi, 5):
    c, s = np.cos(theta), np.sin(theta)
    rot = torch.tensor([[c, -s], [s, c]], dtype=torch.float32)
    y = gn.disk_to_gaussian_map(x_in, radius=R, std=sigma) @ rot.T
    print(f"theta = {theta:.2f}: cost {gn.transport_cost(x_in, y):.4f}")
print(f"trained network: cost {learned_cost:.4f}")
```
The cost grows with $|\theta|$ and is smallest at $\theta=0$, the OT map. Every $T_\theta$ produces exactly the
target distribution, so an energy distance or sliced W2 of the mapped points cannot tell them apart: those
statistics check $T_\#\mu=\nu$, not optimality. Optimality is what the convex-gradient structure of the network
adds (Brenier), and what the L2-UVP against $T^\star$ measures.

Do not be surprised if the trained network's cost comes out *below* that of $T^\star$. The network undershoots the
far tail of the Gaussian (the radius profile in the chapter bends below the closed form near the rim), so it moves
the rim points less far than it should. A map that does not quite push $\mu$ onto $\nu$ can be cheaper than the
optimal one; costs are only comparable between maps that satisfy the constraint. That is why the chapter checks
the push-forward and the distance to $T^\star$, not the cost alone.
````

## References

```{bibliography}
:filter: docname in docnames
```
""")

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from _nbtools import write_notebook  # noqa: E402

write_notebook(cells, OUT.name)
