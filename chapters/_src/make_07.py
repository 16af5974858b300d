import nbformat as nbf
from gradnetot._setup_cell import SETUP_CELL

cells = []
md = lambda s: cells.append(nbf.v4.new_markdown_cell(s.strip("\n")))
code = lambda s: cells.append(nbf.v4.new_code_cell(s.strip("\n")))

md(r"""
# 7. Image morphing

A grey-level image is a density: normalise the pixel intensities and you have a probability distribution on
the unit square. Transport one digit onto another and the displacement interpolation *morphs* one into the
other. This is the paper's image experiment {cite}`chaudhari2025gradnetot`, on handwritten digits from
MNIST {cite}`lecun1998mnist`. It is a hard target for the Monge–Ampère loss: the densities are mixtures of a
few hundred narrow bumps with empty space between the strokes.

**Learning goals.** After this chapter you can

- turn an image into a density (`gn.ImageDensity`) and explain what its bandwidth does;
- train with **bandwidth annealing**: several `gn.fit` stages on ever sharper versions of the same densities,
  continuing the same model;
- animate a morph by pushing particles along the displacement interpolation and rendering them as images;
- score a learned map against the exact discrete OT map (`ot.emd` + barycentric projection) on the same
  particles, and know what that score can and cannot tell you.

```{admonition} GPU
:class: tip
With `GRADNETOT_FAST=1` (what `make test` sets) the chapter trains the default mGradNet-M (8 modules × 32) for
3 stages of 80 steps on 2 digit pairs, with a few thousand particles; it is sized for about two minutes on 2
idle CPU cores, and the last code cell prints this run's wall time. The FAST maps are visibly unfinished.
Without the switch it trains the paper's size (32 modules × 128) for 3 stages of 1500 steps on each of 6 pairs,
27 000 steps in all; the training cell of section 2 prints the time per step, so multiply to see what the full
run costs on your machine (the project's recorded CPU benchmark, `benchmarks/results/cpu_train_step.md`,
times this network size too). A GPU (Colab: *Runtime → Change runtime type → GPU*) is the
right place for the full run; every cell takes its device from `device`.
```
""")

code(SETUP_CELL)

code(r"""
import time

import torch.nn.functional as F
from IPython.display import HTML, Markdown, display
from matplotlib import animation

t_chapter = time.perf_counter()
images, labels = gn.load_digits()
print(f"{len(images)} digits of size {images.shape[1]}x{images.shape[2]}, labels {sorted(set(labels.tolist()))}")

fig, axes = plt.subplots(1, 10, figsize=(10, 1.3))
for digit, ax in enumerate(axes):
    ax.imshow(images[np.flatnonzero(labels == digit)[0]], cmap="gray_r")
    ax.set_title(str(digit), fontsize=9)
    ax.axis("off")
plt.show()
""")

md(r"""
## 1. Digits as densities

`gn.ImageDensity(image, bandwidth=b)` places an isotropic Gaussian of standard deviation $b$ at the centre of
every lit pixel, with weight proportional to the intensity:

$$
p(x) = \sum_{i,j} w_{ij}\,\mathcal N\!\bigl(x;\,c_{ij},\, b^2 I\bigr),\qquad
w_{ij}=\frac{I_{ij}}{\sum I},\qquad c_{ij}=\Bigl(\tfrac{j+1/2}{28},\;1-\tfrac{i+1/2}{28}\Bigr),
$$

so the square is $[0,1]^2$ with $y$ pointing *up* (row 0 of the image is the top, $y\approx1$).
`gn.digit_density(label, index, bandwidth)` does this for the `index`-th digit of a class. The bandwidth
decides how hard the problem is: a pixel is $1/28\approx0.036$ wide, so with $b$ well below that the density
is a bed of separate spikes, and with $b$ well above it the strokes blur into a blob.
""")

code(r"""
def log_density_image(density, n=112):
    g = (torch.arange(n) + 0.5) / n
    yy, xx = torch.meshgrid(1 - g, g, indexing="ij")          # row 0 = top = y near 1
    pts = torch.stack([xx.reshape(-1), yy.reshape(-1)], 1)
    return density.log_prob(pts).reshape(n, n).numpy()


zero = gn.digit_density(0, bandwidth=0.02)
bands = [0.08, 0.04, 0.02, 0.01]
fig, axes = plt.subplots(1, len(bands), figsize=(9, 2.5))
for ax, b in zip(axes, bands):
    lp = log_density_image(zero.with_bandwidth(b))
    ax.imshow(np.exp(lp), cmap="magma", extent=(0, 1, 0, 1))
    ax.set_title(f"bandwidth {b}", fontsize=9)
    ax.set_xticks([]); ax.set_yticks([])
plt.suptitle(f"digit 0 as a density ({zero.means.shape[0]} lit pixels = mixture components)", y=1.02)
plt.show()
""")

md(r"""
From left to right the same mixture gets sharper. At the largest bandwidth the map between two digits is
close to affine and easy to learn; at the smallest, $\log q$ swings by tens of nats between a stroke and the
gap next to it, and its gradient (which drives $T$) is large and points in all directions.

## 2. Bandwidth annealing

The loss $\mathbb E_p\,\bigl|\log\det J_T(x) - \log p(x) + \log q(T(x))\bigr|$ only "sees" $q$ where $T$ sends
the samples. If the target is a set of narrow spikes and $T$ starts far from them, the loss is flat or wildly
varying, and gradient steps make little progress. Annealing is a continuation method: solve an easy, blurred
problem first, then use its solution as the starting point for a sharper one. Three details matter:

1. the **same model** continues from stage to stage, and so does its optimiser state within a stage;
2. `gn.fit` warm-starts by default (`warm_start="auto"` sets the affine part from the densities' moments):
   pass `warm_start=False` after the first stage, or each stage would reset the affine part;
3. both densities shrink together, so every stage is a consistent OT problem (the bandwidths of source and
   target must not differ much, or the map has to squeeze or inflate every bump).
""")

code(r"""
stage_bands = [0.08, 0.04, 0.02]
stage_steps = gn.scaled(1500, 80)
batch = gn.scaled(1000, 500)
lr = gn.scaled(1e-2, 3e-2)          # FAST: fewer steps, so a larger step size
make_model = lambda: (gn.MGradNetM(2, num_modules=32, embed_dim=128) if not gn.FAST else gn.MGradNetM(2))
print(f"{len(stage_bands)} stages x {stage_steps} steps, batch {batch}, lr {lr}, "
      f"model {'32 x 128' if not gn.FAST else '8 x 32'} mGradNet-M" + (" (FAST mode)" if gn.FAST else ""))


def train_annealed(src_digit, tgt_digit, seed=0, after_stage=None):
    # one model, several gn.fit stages on sharper and sharper densities
    src0, tgt0 = gn.digit_density(src_digit), gn.digit_density(tgt_digit)
    model = make_model()
    losses, secs, scores = [], 0.0, []
    for k, b in enumerate(stage_bands):
        res = gn.fit(model, src0.with_bandwidth(b), tgt0.with_bandwidth(b), steps=stage_steps,
                     batch_size=batch, lr=lr, device=device, seed=seed + k, progress=not gn.FAST,
                     warm_start="auto" if k == 0 else False, desc=f"{src_digit}->{tgt_digit} b={b}")
        losses.append(res.losses)
        secs += res.wall_time
        if after_stage is not None:
            scores.append(after_stage(model))
    return model, losses, secs, scores


# the exact discrete OT map on particles, used to score the model after every stage (section 4)
n_eval = gn.scaled(2000, 800)
def emd_reference(src_digit, tgt_digit, seed=0):
    # source particles, their emd map, and a second emd map (independent targets) for the noise floor
    b = stage_bands[-1]
    g = torch.Generator().manual_seed(100 + seed)
    src, tgt = gn.digit_density(src_digit, bandwidth=b), gn.digit_density(tgt_digit, bandwidth=b)
    xs = src.sample(n_eval, generator=g)
    y1, y2 = tgt.sample(n_eval, generator=g), tgt.sample(n_eval, generator=g)
    t0 = time.perf_counter()
    emd1 = gn.discrete_ot_map(xs, y1)
    t_emd = time.perf_counter() - t0
    emd2 = gn.discrete_ot_map(xs, y2)
    return {"xs": xs, "emd": emd1, "floor": F.mse_loss(emd2, emd1).item(),
            "identity": F.mse_loss(xs, emd1).item(), "t_emd": t_emd}


def mse_vs_emd(model, ref):
    with torch.no_grad():
        return F.mse_loss(model(ref["xs"].to(device)).cpu(), ref["emd"]).item()


ref04 = emd_reference(0, 4)
model04, losses04, secs04, stages04 = train_annealed(0, 4, after_stage=lambda m: mse_vs_emd(m, ref04))
print(f"0 -> 4: {len(stage_bands)} stages x {stage_steps} steps of batch {batch} in {secs04:.1f} s "
      f"({1e3 * secs04 / (len(stage_bands) * stage_steps):.1f} ms/step on {device})")
for b, l in zip(stage_bands, losses04):
    print(f"  bandwidth {b}: loss {l[0]:.3f} -> {l[-max(1, len(l) // 10):].mean():.3f}")
""")

code(r"""
fig, ax = plt.subplots(figsize=(7, 2.8))
start = 0
for b, l in zip(stage_bands, losses04):
    steps_axis = np.arange(start, start + len(l))
    ax.plot(steps_axis, l, lw=0.8, label=f"bandwidth {b}")
    ax.axvline(start, color="grey", lw=0.5, ls=":")
    start += len(l)
ax.set(xlabel="step", ylabel="Monge–Ampère loss (L1)", title="0 → 4 with bandwidth annealing")
ax.legend(fontsize=8)
plt.tight_layout()
plt.show()
""")

md(r"""
Each stage's loss falls, and jumps *up* at the start of the next: the sharper densities have a larger
residual for the same map, because $\log p$ and $\log q$ vary more. The loss values of different stages are
therefore not comparable with each other — only within a stage. Whether a stage brings the map *closer to the
OT map* is a different question, which section 4 measures after every stage.

## 3. The morph

The displacement interpolation $x_t=(1-t)\,x+t\,T(x)$ pushes source particles along straight lines
(chapter 2). To *see* a density at time $t$, we push many source particles and render them as an image: a
2-D histogram on the pixel grid with $y$ up, smoothed by nothing but the number of particles.
""")

code(r"""
def render(points, size=56):
    # histogram of points in [0,1]^2 as an image array with y up (row 0 = top)
    p = np.asarray(points, dtype=np.float64)
    h, _, _ = np.histogram2d(p[:, 0], p[:, 1], bins=size, range=[[0, 1], [0, 1]])
    return h.T[::-1] / max(len(p), 1)


n_particles = gn.scaled(40_000, 6000)
x0 = gn.digit_density(0, bandwidth=stage_bands[-1]).sample(n_particles, generator=torch.Generator().manual_seed(1))
with torch.no_grad():
    Tx = torch.cat([model04(c.to(device)).cpu() for c in x0.split(8192)])
times = [0, 0.25, 0.5, 0.75, 1.0]
fig, axes = plt.subplots(1, len(times) + 1, figsize=(11, 2.1))
for ax, t in zip(axes, times):
    ax.imshow(render((1 - t) * x0 + t * Tx), cmap="gray_r", extent=(0, 1, 0, 1))
    ax.set_title(f"t = {t}", fontsize=9)
tgt_img = images[np.flatnonzero(labels == 4)[0]]
axes[-1].imshow(tgt_img, cmap="gray_r", extent=(0, 1, 0, 1))
axes[-1].set_title("target image", fontsize=9)
for ax in axes:
    ax.set_xticks([]); ax.set_yticks([])
plt.show()
""")

md(r"""
Left to right: the 0 (particles drawn from its density), three intermediate times, the pushed particles at
$t=1$, and the target image. At $t=1$ the particles should trace the 4; where they do not, the map is
unfinished (in FAST mode it has had only a few dozen steps per stage). The intermediate frames are not
cross-fades of the two images: mass *moves*, which is what distinguishes OT interpolation from blending.
The animation runs the same interpolation forward and back.
""")

code(r"""
n_frames = gn.scaled(40, 12)
ts = np.concatenate([np.linspace(0, 1, n_frames), np.linspace(1, 0, n_frames)])
fig, ax = plt.subplots(figsize=(2.6, 2.6), dpi=72)
im = ax.imshow(render(x0), cmap="gray_r", extent=(0, 1, 0, 1), vmin=0,
               vmax=float(np.quantile(render(Tx), 0.995)))
ax.set_xticks([]); ax.set_yticks([])
title = ax.set_title("t = 0.00", fontsize=9)


def frame(i):
    t = float(ts[i])
    im.set_data(render((1 - t) * x0 + t * Tx))
    title.set_text(f"t = {t:.2f}")
    return im, title


anim = animation.FuncAnimation(fig, frame, frames=len(ts), interval=80, blit=False)
html = anim.to_jshtml(default_mode="loop")
plt.close(fig)
HTML(html)
""")

md(r"""
## 4. Learned map vs the exact discrete OT map

For images there is no closed-form map. The reference is the exact OT plan between **samples**: draw $n$
particles $x_i$ from the source and $y_j$ from the target, solve the assignment problem with POT's `ot.emd`
{cite}`flamary2021pot`, and map each $x_i$ to the barycentre of where its mass goes (`gn.discrete_ot_map`,
chapter 2). We score the learned map on the *same* source particles by

$$
\mathrm{MSE} = \frac{1}{2n}\sum_{i=1}^n \bigl\lVert T_\theta(x_i) - T_{\text{emd}}(x_i)\bigr\rVert^2
$$

(mean over particles and both coordinates, in units of the unit square). The reference is itself noisy —
with a finite sample of targets, each $x_i$ is matched to one particular $y_j$. To know what MSE is
meaningful we also compute the **noise floor**: the MSE between two emd maps of the same source particles
computed with two independent target samples. A learned map cannot be expected to agree with the emd map
much better than the emd map agrees with itself.

The paper reports one pair, **0 → 4, MSE 0.00052** ({cite}`chaudhari2025gradnetot`). That is an external
number, not computed here, from the paper's own setup (its public code trains 32 modules × 128 for 10 000
steps of batch 1000, as described in this project's performance issue); its particle count, bandwidth and
exact MSE convention may differ from ours, so compare orders of magnitude only.
""")

code(r"""
pairs = gn.scaled([(0, 4), (1, 7), (3, 8), (2, 5), (6, 9), (7, 1)], [(0, 4), (1, 7)])


table = [((0, 4), ref04, stages04, secs04, model04)]          # trained in section 2
for a, b_ in pairs:
    if (a, b_) != (0, 4):
        ref = emd_reference(a, b_)
        model, _, secs, per_stage = train_annealed(a, b_, after_stage=lambda m: mse_vs_emd(m, ref))
        table.append(((a, b_), ref, per_stage, secs, model))

head = " | ".join(f"after b={b}" for b in stage_bands)
lines = [f"| pair | MSE vs emd: {head} | noise floor (emd vs emd) | identity vs emd | training (s) | one emd (s) |",
         "|---" * (5 + len(stage_bands)) + "|"]
for (a, b_), ref, per_stage, secs, _ in table:
    cells = " | ".join(f"{v:.2e}" for v in per_stage)
    lines.append(f"| {a} → {b_} | {cells} | {ref['floor']:.2e} | {ref['identity']:.2e} | {secs:.0f} "
                 f"| {ref['t_emd']:.1f} |")
display(Markdown(f"MSE against the `ot.emd` map at the final bandwidth {stage_bands[-1]}, {n_eval} particles "
                 f"per pair, measured after each annealing stage ({stage_steps} steps each)"
                 + (" — FAST mode" if gn.FAST else "") + "\n\n" + "\n".join(lines)
                 + "\n\nExternal reference: the paper reports MSE 0.00052 for 0 → 4 (not computed here)."))
best = {f"{a}->{b_}": stage_bands[int(np.argmin(ps))] for (a, b_), _, ps, _, _ in table}
below = {f"{a}->{b_}": ps[-1] < ref["identity"] for (a, b_), ref, ps, _, _ in table}
print("stage with the lowest MSE per pair (bandwidth):", best)
print("final map closer to emd than the identity map is:", below)
""")

code(r"""
(a, b_), ref, per_stage, _, model_ab = table[0]
xs, emd1 = ref["xs"], ref["emd"]
with torch.no_grad():
    learned = model_ab(xs.to(device)).cpu()
colors = np.c_[xs[:, 0].numpy(), 0.3 * np.ones(len(xs)), xs[:, 1].numpy()]   # colour = source position
fig, axes = plt.subplots(1, 3, figsize=(9.5, 3.2), sharex=True, sharey=True)
axes[0].scatter(xs[:, 0], xs[:, 1], c=colors, s=3)
axes[0].set_title(f"source particles ({a})", fontsize=9)
axes[1].scatter(emd1[:, 0], emd1[:, 1], c=colors, s=3)
axes[1].set_title("ot.emd barycentric map", fontsize=9)
axes[2].scatter(learned[:, 0], learned[:, 1], c=colors, s=3)
axes[2].set_title(f"learned map (MSE {per_stage[-1]:.1e})", fontsize=9)
for ax in axes:
    ax.set_aspect("equal"); ax.set_xlim(0, 1); ax.set_ylim(0, 1)
plt.tight_layout()
plt.show()
""")

md(r"""
Colours encode where each particle started, so the middle and right panels agree when the same source
regions land in the same target regions. Read the table between two scales: the **identity** column (not
moving at all) is the error of a useless map, and the **noise floor** is the best agreement one can hope to
measure with this many particles. A learned map near the noise floor has found the OT map as well as `ot.emd`
on these samples can tell; one at or above the identity has not learned the morph. The per-stage columns show
whether each annealing stage moved the map towards the emd map or away from it, and the two printed lines
summarise that for this run. With the FAST budget — a few dozen steps per stage, against the paper's
10 000 — the learned maps are far from finished (the right panel shows how far), and the stage-by-stage
numbers describe a short run only; the full run is the one to judge the method by.

A failure to look for, whenever the right panel lacks a part of the middle one: the loss evaluates the target
density $q$ only at the mapped points $T(x)$. A stroke of the target that no mapped particle reaches is
"missed" only indirectly, through $\log\det J$ being too small elsewhere; there is no term that pulls mass
towards it. The emd map, which must cover every target particle, has no such blind spot.

Two things favour the learned map even where its MSE is larger. It is a *function*: once trained it maps
any number of new points in one batched call, while the emd map exists only on the sampled particles and
costs an $O(n^3)$ solve for each new sample (the last column times one solve at this $n$). And it is a
*gradient of a convex function*, so the map is monotone by construction, whereas the barycentric projection of
a sampled plan is only approximately so.
""")

code(r"""
print(f"chapter wall time on {device} ({'FAST' if gn.FAST else 'full'} mode): "
      f"{time.perf_counter() - t_chapter:.0f} s; training {sum(t[3] for t in table):.0f} s "
      f"for {len(pairs)} pairs x {len(stage_bands)} stages x {stage_steps} steps")
""")

md(r"""
## Exercises

````{exercise} Barycentric projection by hand
:label: ch07-ex-barycentric
Write `project(plan, xt)` that turns a discrete plan $\pi\in\mathbb R^{n\times m}$ (a NumPy array, rows =
source points) and target points `xt` of shape `(m, d)` into the mapped source points
$T(x_i)=\sum_j\pi_{ij}y_j\big/\sum_j\pi_{ij}$. Check it with `gn.exercises.check_barycentric_projection(project)`.
Why is the division needed even though every row of a uniform plan sums to $1/n$?
````

````{solution} ch07-ex-barycentric
:class: dropdown
```python
def project(plan, xt):
    plan, xt = np.asarray(plan), np.asarray(xt)
    return plan @ xt / plan.sum(1, keepdims=True)

gn.exercises.check_barycentric_projection(project)
```
`plan @ xt` is $\sum_j \pi_{ij} y_j$, a *mass-weighted* sum: each row carries only the source point's mass
($1/n$ for uniform weights, other values for weighted points), so without the division every mapped point is
shrunk towards the origin by that factor. Dividing by the row sum turns it into an average.
````

````{exercise} From particles back to an image
:label: ch07-ex-render
Write `render(points, size)` that turns points in $[0,1]^2$ into a `(size, size)` image normalised to sum to
1, with $y$ pointing up — the inverse of `gn.ImageDensity` — dropping points outside the square. Check it with
`gn.exercises.check_particle_image(render)`. Then render 20 000 samples of `gn.digit_density(3)` with
`size=28` and compare with the original image: which bandwidth makes the two look alike?
````

````{solution} ch07-ex-render
:class: dropdown
```python
def render(points, size):
    p = np.asarray(points, dtype=np.float64)
    p = p[((p >= 0) & (p < 1)).all(1)]
    cols = np.floor(p[:, 0] * size).astype(int)
    rows = np.floor((1 - p[:, 1]) * size).astype(int)     # y up: large y -> small row index
    img = np.zeros((size, size))
    np.add.at(img, (rows, cols), 1.0)
    return img / img.sum()

gn.exercises.check_particle_image(render)
```
With a bandwidth well below the pixel width ($1/28$) the rendered samples reproduce the image (up to
sampling noise); at larger bandwidths they blur across neighbouring pixels.
````

````{exercise} Does annealing pay?
:label: ch07-ex-anneal
Train a fresh model on 0 → 4 for the same total number of steps, but directly at the final bandwidth (one
`gn.fit` call, no annealing), and compare its MSE against the emd map with `mse_vs_emd(model, ref04)`. Repeat with two
seeds. Then try annealing with the stages in the wrong order (sharp first). What do you conclude, and how
sure can you be with this many seeds?
````

````{solution} ch07-ex-anneal
:class: dropdown
```python
total = len(stage_bands) * stage_steps
for seed in (0, 1):
    m = make_model()
    gn.fit(m, gn.digit_density(0, bandwidth=stage_bands[-1]), gn.digit_density(4, bandwidth=stage_bands[-1]),
           steps=total, batch_size=batch, device=device, seed=seed, progress=False)
    print(seed, mse_vs_emd(m, ref04))
```
Compare with the annealed model's MSE from the table, and with the noise floor. Two seeds only show whether
a difference is large compared with the seed-to-seed spread; a claim that annealing helps needs the
spread over more seeds (and pairs). Reversed stages end on the *blurred* problem, so the final map solves
the wrong (blurred) OT problem: expect a larger MSE against the sharp emd map.
````

## Summary

- An image is a density: a mixture of Gaussians at the lit pixels, weighted by intensity, on $[0,1]^2$ with
  $y$ up; its bandwidth sets how sharp, and how hard, the target is.
- Bandwidth annealing trains one model through several `gn.fit` stages on ever sharper densities; pass
  `warm_start=False` after the first stage so the model is continued, not reset.
- The morph is the displacement interpolation, rendered by pushing particles and histogramming them.
- The exact reference for images is `ot.emd` on samples with barycentric projection; score the learned map on
  the same particles, and compare with the identity map and with the emd-vs-emd noise floor. The paper's
  0 → 4 MSE is an external number from a longer run.

## Next steps

Chapter 8 moves particles that are robots: the same maps, between shapes, with collision-free paths as the
point of interest.

## References

```{bibliography}
:filter: docname in docnames
```
""")

nb = nbf.v4.new_notebook(cells=cells)
nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
nb.metadata["language_info"] = {"name": "python"}
nbf.write(nb, str(__import__("pathlib").Path(__file__).resolve().parents[1] / "07_image_morphing.ipynb"))
print("written", len(cells), "cells")
