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
# 6. Training on GPUs

Chapters 1–5 trained 2-D maps in seconds on a laptop CPU. The paper's claims are about *scale*: many
samples per step, high dimensions, large image mixtures. This chapter is about running the same code
fast and correctly on whatever device you have, and about what changes when that device is a GPU.

**Learning goals.** After this chapter you can

- write device-agnostic training code (`gn.resolve_device`, `.to(device)`, generators that live on the device)
  and say why a training loop should not read the loss back every step;
- measure training throughput (steps/s and samples/s) as a function of batch size;
- explain why the closed-form Jacobian of an mGradNet is faster than `torch.func` autodiff, and measure it;
- recognise when reduced precision (TF32, bfloat16/AMP) breaks the $\log\det J$ in the Monge–Ampère loss;
- run the paper's high-dimensional Gaussian benchmark (d = 2…128) with both networks and read its L2-UVP table
  against the paper's recipe.

```{admonition} GPU
:class: tip
Everything in this chapter runs on a CPU. With `GRADNETOT_FAST=1` (what `make test` sets) the high-dimensional
experiment uses only d ∈ {2, 8} and 200 steps of batch 256, and the sweeps use few, small batches; the chapter
is sized for about two minutes on 2 idle CPU cores, and the "Runtime" cell near the end prints how long each
part took on *your* machine.
Without the switch the chapter runs d = 2…128 (up to 64 on a CPU) with 1000 steps for both networks: on a CPU
the cost is dominated by d = 64, and the cell "What would the full run cost here?" measures a few steps at those
sizes and extrapolates, so you can decide before you start. On a GPU (Colab: *Runtime → Change runtime type →
GPU*) the same notebook runs unchanged, because every cell takes its device from `device`.
Measured: on an NVIDIA H200 each 1000-step fit of section 5 took 4–8 s up to d = 64 (the recorded file
`benchmarks/results/gpu_h200_high_dim_defaults.md`, written by `benchmarks/gpu_check.sh` and shown in
section 6). Measured on the book's 2-core CPU machine (a fresh clone built with `make book`, nothing else running, 2026-11-26), the whole chapter ran in 9 s in
FAST mode and 6.1 min in full mode (d up to 64); the instructors' page lists every chapter,
[How long each chapter takes](teaching.md).
```
""")

code(SETUP_CELL)

code(r"""
import re
import time
from pathlib import Path

import torch.nn.functional as F
from IPython.display import Markdown, display

timings = {}          # wall time of each section, printed at the end
_t_section = time.perf_counter()


def section_done(name):
    global _t_section
    now = time.perf_counter()
    timings[name] = now - _t_section
    _t_section = now


def sync():
    if device.type == "cuda":
        torch.cuda.synchronize()
""")

md(r"""
## 1. Device-agnostic code

The setup cell chose `device = gn.resolve_device("auto")`: CUDA when PyTorch sees a GPU, the CPU otherwise.
Write every cell against that variable and the notebook runs unchanged on both. Three things have to live on
the device:

1. **the model** — `model.to(device)` moves its parameters and buffers (in place);
2. **the densities** — `gn` densities have `.to(device)`, which returns a moved copy like `Tensor.to` (assign it); any other object with `sample`
   and `log_prob` is wrapped by `gn.fit` and its samples are moved for you;
3. **the random numbers** — a `torch.Generator(device=device)` draws samples *on* the device, so a batch
   never travels from host to GPU memory.

`gn.fit(..., device=device)` does all three. Here they are by hand, on the paper's 2-D Gaussian pair.
""")

code(r"""
source = gn.Gaussian(torch.tensor([1.0, -0.5]), torch.tensor([[2.0, 0.9], [0.9, 0.8]])).to(device)
target = gn.Gaussian(torch.zeros(2), torch.eye(2)).to(device)
model = gn.MGradNetM(2).to(device)
gen = torch.Generator(device=device).manual_seed(0)

x = source.sample(1000, generator=gen)
loss = gn.monge_ampere_loss(model, x, source, target)
print("batch on", x.device, "| parameters on", next(model.parameters()).device, "| loss on", loss.device)
""")

md(r"""
**Host syncs.** A GPU runs asynchronously: Python queues kernels and moves on. Anything that needs a value
on the host — `loss.item()`, `float(loss)`, `print(loss)`, an `if` on a tensor — makes Python wait until the
GPU has caught up, so the queue drains and the GPU idles while Python prepares the next step. For small
models such as a 2-D mGradNet a step is only a few dozen short kernels, and one sync per step can cost more
than the step. The remedy is to keep the losses in a tensor on the device and read them once:
""")

code(r"""
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
n_steps = gn.scaled(100, 20)
losses = torch.zeros(n_steps, device=device)          # stays on the device
for k in range(n_steps):
    x = source.sample(1000, generator=gen)
    loss = gn.monge_ampere_loss(model, x, source, target)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    losses[k] = loss.detach()                          # no .item(): no sync
losses = losses.cpu().numpy()                          # one sync, after the loop
print(f"loss: first step {losses[0]:.3f}, last step {losses[-1]:.3f}")
""")

md(r"""
`gn.fit` goes further: it draws many batches in one call (fewer, larger kernels), checks for NaN only every
`check_every` steps, and, with `compile=True`, hands the step to `torch.compile` (CUDA graphs on a GPU,
which replay the whole step as one launch). The `checkpoint=` argument matters on Colab, where a session
can die in the middle of a long run: `fit` resumes from the file with the same result as an uninterrupted run.
""")

code(r"""
section_done("device-agnostic code")
""")

md(r"""
## 2. Batch size vs throughput

Each step of the Monge–Ampère loss is embarrassingly parallel over the batch: every sample needs its own
$T(x)$, $J(x)$ and $\log\det J(x)$, and nothing couples them until the mean. So the cost of a step is a fixed
overhead (kernel launches, the optimiser, Python) plus a part proportional to the batch. At small batches
the overhead dominates and samples/s grows almost linearly with the batch; at large batches the hardware
is saturated and samples/s flattens. On a GPU the flat part starts orders of magnitude later than on a
CPU. We time a few short `gn.fit` runs on the current device; `FitResult.time_per_step` excludes the warm
start and includes sampling, the step and the periodic NaN check.
""")

code(r"""
if device.type == "cuda":
    batch_sizes = gn.scaled([2**k for k in range(8, 21, 2)], [256, 4096, 65536])
else:
    batch_sizes = gn.scaled([64, 256, 1024, 4096, 16384, 65536], [64, 512, 4096])
sweep_steps = gn.scaled(30, 10)

rows = []
sweep_budget_s = 90.0   # a time budget, so that a slow device cannot stall the chapter
t_sweep = time.perf_counter()
for bs in batch_sizes:
    if time.perf_counter() - t_sweep > sweep_budget_s:
        print(f"(sweep stopped before batch {bs}: it used its {sweep_budget_s:.0f} s budget)")
        break
    m = gn.MGradNetM(2)
    fit_bs = gn.fit(m, source, target, steps=sweep_steps, batch_size=bs, device=device, seed=0,
                    progress=False, check_every=sweep_steps)
    rows.append((bs, fit_bs.steps_per_second, bs * fit_bs.steps_per_second))
print(f"device: {device}, mGradNet-M (8 modules x 32), d = 2, {sweep_steps} steps per batch size")
print(f"{'batch':>8} {'steps/s':>10} {'samples/s':>12}")
for bs, sps, smp in rows:
    print(f"{bs:>8} {sps:>10.1f} {smp:>12.3g}")
""")

code(r"""
bs_arr = np.array([r[0] for r in rows])
fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
axes[0].loglog(bs_arr, [r[1] for r in rows], "o-")
axes[0].set(xlabel="batch size", ylabel="steps / s", title="steps per second")
axes[1].loglog(bs_arr, [r[2] for r in rows], "o-", color="C1")
axes[1].set(xlabel="batch size", ylabel="samples / s", title="samples per second")
for ax in axes:
    ax.grid(True, which="both", alpha=0.3)
fig.suptitle(f"Throughput on {device.type.upper()}", y=1.02)
plt.tight_layout()
plt.show()
""")

md(r"""
The left panel falls as the batch grows (each step does more work); the right panel rises for as long as the
fixed per-step overhead dominates, and flattens once the device is saturated. Where the bend comes depends on
the device: on a CPU within the batch sizes of the full sweep, on a GPU several factors of four later (the
FAST sweep has only three batch sizes and may stop before the bend). Throughput is not the whole story: the gradient
noise falls like $1/\sqrt{\text{batch}}$, so past some batch size more samples per step stop buying
accuracy per step, and the learning rate may need to change with the batch.

```{admonition} Measure on the machine you will use
:class: note
The numbers above come from whatever this notebook ran on. On a shared or busy machine they are noisy:
time a few repeats and keep the fastest, or use the benchmark script below, which interleaves the
configurations it compares.
```
""")

code(r"""
section_done("batch-size sweep")
""")

md(r"""
## 3. Closed-form vs autodiff Jacobians

The loss needs the full $d\times d$ Jacobian $J(x)=\nabla^2 u(x)$ at every sample. A generic module gets it
from `torch.func`: `vmap(jacrev(model))` runs one backward pass per output coordinate, vectorised over the
batch ($d$ vector–Jacobian products per sample). An mGradNet knows its Jacobian in closed form (chapter 4):
for mGradNet-M,

$$
J(x) = \sum_k \alpha_k\beta_k\, W_k^\top\bigl(\operatorname{diag} p_k - p_k p_k^\top\bigr) W_k \;+\; A ,
$$

where $p_k$ are the softmax activations the forward pass already computed. `gn` assembles the first term as
one matrix product against the outer products of the embedding rows, so $T$ and $J$ come out of a single
pass. We check that both give the same $J$ and time them.
""")

code(r"""
def best_times(fns, repeats=7):
    # fastest of a few runs of each function, interleaved: robust to a busy machine
    for fn in fns:
        fn(); sync()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for i, fn in enumerate(fns):
            t0 = time.perf_counter(); fn(); sync()
            best[i] = min(best[i], time.perf_counter() - t0)
    return best


jac_dims = gn.scaled([2, 8, 32, 64], [2, 16])
jac_batch = gn.scaled(1000, 500)
jac_rows = []
for d in jac_dims:
    m = gn.MGradNetM(d).to(device)
    xb = torch.randn(jac_batch, d, device=device)
    with torch.no_grad():
        J_closed = m.jacobian(xb)
        J_auto = gn.autodiff_jacobian(m, xb)
    diff = float((J_closed - J_auto).abs().max() / J_auto.abs().max())
    t_closed, t_auto = best_times([lambda: m.forward_and_jacobian(xb),
                                   lambda: (m(xb), gn.autodiff_jacobian(m, xb))])
    jac_rows.append((d, t_closed, t_auto, diff))

print(f"mGradNet-M (8 x 32), batch {jac_batch}, device {device}: forward + Jacobian, best of 7")
print(f"{'d':>4} {'closed (ms)':>12} {'autodiff (ms)':>14} {'speed-up':>9} {'max rel. diff':>14}")
for d, tc, ta, diff in jac_rows:
    print(f"{d:>4} {1e3 * tc:>12.2f} {1e3 * ta:>14.2f} {ta / tc:>8.1f}x {diff:>14.1e}")
faster = [d for d, tc, ta, _ in jac_rows if tc < ta]
print(f"closed form faster at d = {faster}; slower at d = {[d for d, tc, ta, _ in jac_rows if tc >= ta]}")
""")

md(r"""
The two Jacobians agree to float32 round-off (last column). The speed-up grows with $d$: autodiff pays
one backward pass per output coordinate, the closed form one matrix product; the last line says where the
closed form won on this run (at $d=2$ both take well under a millisecond on an idle machine, and timings on a
busy one are noise). In training the closed form gains more than this table shows, because the
backward pass through the closed form is also cheaper than a backward pass through `vmap(jacrev)`, and
because $J$ is symmetric positive definite by construction, so $\log\det J$ can use a Cholesky factorisation
(`gn.logdet_spd`; closed form for $d\le 2$) instead of a general LU-based `slogdet`.
""")

code(r"""
section_done("closed-form vs autodiff Jacobians")
""")

md(r"""
## 4. Precision: the log-determinant is the fragile part

Everything in the loss is well conditioned except $\log\det J$. If $J$ has eigenvalues
$\lambda_1\ge\dots\ge\lambda_d>0$ then $\log\det J=\sum_i\log\lambda_i$, and an absolute error $\delta$ in the
entries of $J$ moves the smallest eigenvalue by about $\delta$ — a *relative* error
$\delta/\lambda_d$ in the term $\log\lambda_d$. Entries of size $\lambda_1$ rounded to a relative precision
$u$ give $\delta\approx u\lambda_1$, so the error in $\log\det J$ grows like $u\,\kappa(J)$ with the condition
number $\kappa=\lambda_1/\lambda_d$; once $u\,\kappa\gtrsim 1$, the rounded $J$ may not even be positive
definite and the Cholesky factorisation fails (NaN).

Three precisions matter in practice, by their unit round-off $u$:

| format | mantissa bits | $u$ | where it appears |
|---|---|---|---|
| float64 | 52 | $1.1\times10^{-16}$ | our reference here |
| float32 | 23 | $6.0\times10^{-8}$ | the default everywhere |
| TF32 | 10 | $4.9\times10^{-4}$ | float32 *matmuls* on NVIDIA GPUs since Ampere, when allowed |
| bfloat16 | 7 | $3.9\times10^{-3}$ | mixed precision (AMP, `torch.autocast`) |

(These are properties of the formats, $u=2^{-(\text{bits}+1)}$, not measurements.) We build symmetric
positive definite $J = Q\,\operatorname{diag}(\lambda)\,Q^\top$ with $d=16$, a random rotation $Q$ and
eigenvalues log-spaced from 1 down to $1/\kappa$, and *assemble it the way `gn` assembles an mGradNet's
Jacobian*: as $J=\sum_m g_m\,e_m e_m^\top$, one matrix product of the weights $g$ against the flattened outer
products $e_m e_m^\top$ (here $e_m=\sqrt{\lambda_m/g_m}\,q_m$ with random $g_m>0$). Both operands of that
product are rounded to each format, and $\log\det J$ is compared with the exact value
$\sum_i\log\lambda_i$. TF32 is emulated on the CPU by rounding the float32 operands to 10 mantissa bits
before a float32 matmul, which is what the tensor cores do with their inputs.
""")

code(r"""
def round_mantissa(x, bits):
    # round float32 values to `bits` mantissa bits (round to nearest), like TF32 does with matmul inputs
    xi = x.float().contiguous().view(torch.int32)
    drop = 23 - bits
    xi = (xi + (1 << (drop - 1))) & ~((1 << drop) - 1)
    return xi.view(torch.float32)


d_prec = 16
g_prec = torch.Generator().manual_seed(0)
Q, _ = torch.linalg.qr(torch.randn(d_prec, d_prec, generator=g_prec, dtype=torch.float64))
conds = [1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7]
prec_rows = []
for kappa in conds:
    lam = torch.logspace(0, -np.log10(kappa), d_prec, dtype=torch.float64)
    exact = float(torch.log(lam).sum())
    g = torch.rand(d_prec, generator=g_prec, dtype=torch.float64) + 0.5
    E = (Q * (lam / g).sqrt()).T                          # rows e_m
    outer = (E[:, :, None] * E[:, None, :]).reshape(d_prec, -1).float()
    gv = g[None].float()
    J32 = gv @ outer                                      # float32 (the default)
    Jtf = round_mantissa(gv, 10) @ round_mantissa(outer, 10)   # TF32 inputs, float32 accumulation
    Jbf = (gv.bfloat16() @ outer.bfloat16()).float()      # what autocast does to this matmul
    row = [kappa, exact]
    for J in (J32, Jtf, Jbf):
        J = J.reshape(d_prec, d_prec)
        row.append(abs(float(gn.logdet_spd(0.5 * (J + J.T)[None])[0]) - exact))
    prec_rows.append(row)

print(f"d = {d_prec}: |error| in log det J (exact value in the 2nd column); nan = Cholesky failed")
print(f"{'cond':>8} {'log det':>9} {'float32':>10} {'TF32 (emul.)':>13} {'bfloat16':>10}")
for kappa, exact, e32, etf, ebf in prec_rows:
    print(f"{kappa:>8.0e} {exact:>9.2f} {e32:>10.2e} {etf:>13.2e} {ebf:>10.2e}")
for col, name in ((2, "float32"), (3, "TF32"), (4, "bfloat16")):
    bad = [r[0] for r in prec_rows if not (r[col] < 1e-2)]
    print(f"{name:>9}: first condition number with error > 0.01 or NaN: "
          + (f"{bad[0]:.0e}" if bad else "none up to 1e7"))
""")

code(r"""
P = np.array(prec_rows)
fig, ax = plt.subplots(figsize=(5.5, 3.6))
for col, name, mk, y_nan in ((2, "float32", "o-", 30), (3, "TF32 (emulated)", "s-", 60), (4, "bfloat16", "^-", 120)):
    vals = P[:, col].copy()
    ok = np.isfinite(vals)
    line, = ax.loglog(P[ok, 0], np.maximum(vals[ok], 1e-12), mk, label=name)
    if (~ok).any():
        ax.scatter(P[~ok, 0], np.full((~ok).sum(), y_nan), marker="x", color=line.get_color())
ax.axhline(1e-2, color="grey", lw=0.8, ls=":")
ax.set(xlabel=r"condition number $\kappa(J)$", ylabel=r"$|$error in $\log\det J|$",
       title=f"log det of a {d_prec}x{d_prec} SPD matrix built by a matmul")
ax.legend(fontsize=8)
ax.text(0.02, 0.97, "x at the top: Cholesky failed (NaN), in the line's colour", transform=ax.transAxes, va="top", fontsize=8)
plt.tight_layout()
plt.show()
""")

md(r"""
Read the plot against the estimate $u\,\kappa$: each format's error climbs with the condition number, and the
curves are offset roughly by the ratio of their round-offs. The last lines of the table give, for each
format, the first condition number at which the log-determinant is off by more than 0.01 or the Cholesky
factorisation fails (the crosses: the rounded $J$ is no longer positive definite). An error in $\log\det J$ enters the loss *directly* — it is the same size as the
residual we are trying to drive to zero — so it biases the learned map, not just the loss curve.

**What to do.**

- Keep the Jacobian assembly and the log-determinant in float32 (or float64 if $J$ is very ill-conditioned).
  PyTorch's default for float32 matmuls on CUDA is full float32:
  `torch.backends.cuda.matmul.allow_tf32` is `False` unless you set it, and
  `torch.set_float32_matmul_precision("high")` (or `"medium"`) turns TF32 (or bfloat16) on for *all*
  float32 matmuls, including the one that builds $J$. `gn` never changes these settings.
- If you use `torch.autocast` for speed elsewhere, leave the loss outside it, or wrap the $J$/log-det part in
  `torch.autocast(device.type, enabled=False)`. PyTorch's autocast already runs `cholesky`/`slogdet` in
  float32, but the matmul that assembles $J$ is on its low-precision list.
- Prefer a well-conditioned $J$: the strongly convex term $J\succeq\varepsilon I$ in `gn`'s nets bounds
  $\lambda_d$ from below, and input whitening (the warm start) keeps $\lambda_1/\lambda_d$ near the
  conditioning of the true map.
""")

code(r"""
print("this session: torch.backends.cuda.matmul.allow_tf32 =", torch.backends.cuda.matmul.allow_tf32,
      "| float32 matmul precision =", torch.get_float32_matmul_precision())
section_done("precision of log det")
""")

md(r"""
## 5. The high-dimensional Gaussian benchmark

The paper's accuracy experiment: source $\mathcal N(\mu,\Sigma)$ with $\mu\sim\mathcal N(0,I_d)$ and
$\Sigma\sim\mathrm{Wishart}(d+1, I_d)$, target $\mathcal N(0,I_d)$, and the closed-form map
$T^\star(x)=\Sigma^{-1/2}(x-\mu)$ (the general Gaussian formula of chapter 2 with $\Sigma_t=I$). Maps are
scored by the unexplained-variance percentage of {cite}`korotin2021benchmark`,

$$
\mathrm{L^2\text{-}UVP}(T) = 100\cdot\frac{\mathbb E_{x\sim p}\,\lVert T(x)-T^\star(x)\rVert^2}{\operatorname{Var}(q)} \;\%,
$$

on fresh source samples (`gn.wishart_gaussian_problem(d).l2_uvp(model)`). We train both networks with
`gn.fit`'s defaults (width 32 for mGradNet-M's modules, 64 for mGradNet-C, with the strongly convex term and
the moment-matched warm start) at the paper's budget of 1000 steps of batch 1000.
""")

code(r"""
# full mode: every d up to 128 on a GPU; on 2 CPU cores d = 128 alone took 10 + 13 min for the two nets
# (benchmarks/results/cpu_high_dim_128.md, shown in section 6), so a CPU stops at 64
hd_dims = gn.scaled([2, 4, 8, 16, 32, 64, 128] if device.type == "cuda" else [2, 4, 8, 16, 32, 64], [2, 8])
hd_steps = gn.scaled(1000, 200)
hd_batch = gn.scaled(1000, 256)
nets = {"mGradNet-C": lambda d: gn.MGradNetC(d), "mGradNet-M": lambda d: gn.MGradNetM(d)}
if not gn.FAST and device.type != "cuda":
    print("CPU: the full run stops at d = 64; the recorded d = 128 CPU run is shown in section 6")
print(f"d in {hd_dims}, {hd_steps} steps of batch {hd_batch} per fit"
      + ("  (FAST mode: reduced; the full run uses 1000 steps of batch 1000)" if gn.FAST else ""))

hd = {}      # (net, d) -> (L2-UVP %, seconds per step)
hd_ws = {}   # (net, d) -> L2-UVP % of the warm start alone (0 steps)
for d in hd_dims:
    prob = gn.wishart_gaussian_problem(d, seed=0)
    for name, make in nets.items():
        g_ws = torch.Generator().manual_seed(0)
        m0 = make(d).warm_start(prob.source.sample(20_000, generator=g_ws),
                                prob.target.sample(20_000, generator=g_ws))
        hd_ws[name, d] = prob.l2_uvp(m0)
        m = make(d)
        res = gn.fit(m, prob.source, prob.target, steps=hd_steps, batch_size=hd_batch, device=device,
                     seed=0, progress=not gn.FAST and d >= 32, desc=f"{name} d={d}")
        hd[name, d] = (prob.l2_uvp(m), res.time_per_step)
""")

md(r"""
For comparison, the foundation issue of this project (issue 2) quotes the L2-UVP of **the paper's recipe** —
the paper's plain networks (width 32, no strongly convex term, no warm start), 1000 steps of batch 1000,
Adam at $10^{-2}$ — as measured by running the paper's public code. These are **external measurements, copied
from that issue's table, not produced by this notebook**; they are shown only as the baseline to beat.
""")

code(r"""
# External numbers: L2-UVP (%) of the paper's recipe, measured with the paper's public code,
# as tabulated in this project's issue 2 ("Foundation"). Not computed here.
PAPER_RECIPE_L2UVP = {
    "mGradNet-C": {2: 0.067, 4: 0.10, 8: 0.11, 16: 0.26, 32: 0.86, 64: 67.7, 128: 88.4},
    "mGradNet-M": {2: 0.0037, 4: 0.0061, 8: 0.0096, 16: 0.097, 32: 0.45, 64: 0.94, 128: 7.6},
}

lines = ["| d | C: warm start only | C: after fit | M: warm start only | M: after fit "
         "| C: paper's recipe (external) | M: paper's recipe (external) | s/step C, M (this run) |",
         "|---|---|---|---|---|---|---|---|"]
for d in hd_dims:
    c, m_ = hd["mGradNet-C", d], hd["mGradNet-M", d]
    lines.append(f"| {d} | {hd_ws['mGradNet-C', d]:.3g} | {c[0]:.3g} | {hd_ws['mGradNet-M', d]:.3g} | {m_[0]:.3g} "
                 f"| {PAPER_RECIPE_L2UVP['mGradNet-C'][d]} | {PAPER_RECIPE_L2UVP['mGradNet-M'][d]} "
                 f"| {c[1]:.3f}, {m_[1]:.3f} |")
display(Markdown(f"**L2-UVP (%)**, C = mGradNet-C, M = mGradNet-M; {hd_steps} steps of batch {hd_batch}, "
                 f"device `{device}`" + (" — FAST mode" if gn.FAST else "") + "\n\n" + "\n".join(lines)))
""")

code(r"""
fig, ax = plt.subplots(figsize=(6, 3.8))
all_d = sorted(PAPER_RECIPE_L2UVP["mGradNet-M"])
for i, name in enumerate(nets):
    ax.semilogy(hd_dims, [hd[name, d][0] for d in hd_dims], "o-", color=f"C{i}",
                label=f"{name}, gn.fit ({hd_steps} steps)")
    ax.semilogy(all_d, [PAPER_RECIPE_L2UVP[name][d] for d in all_d], "x--", color=f"C{i}", alpha=0.6,
                label=f"{name}, paper's recipe (external, issue 2)")
ax.axhline(0.1, color="grey", lw=0.8, ls=":")
ax.set_xscale("log", base=2)
ax.set(xlabel="dimension d", ylabel="L2-UVP (%)", title="High-dimensional Gaussians")
ax.legend(fontsize=7)
plt.tight_layout()
plt.show()
""")

md(r"""
**Read this table with care.** `gn.fit` starts from the moment-matched affine map (the warm start). For a
Gaussian pair that affine map *is* the OT map, up to the sampling error of the estimated moments, so the
"warm start only" columns are already small, and training mostly has to not spoil them. The recipe starts from
random weights. The comparison is therefore between two *recipes* (initialisation, strongly convex term,
schedule), not between architectures; chapters 7–9 test the networks on targets where no affine map is right.

The dashed lines are the recipe's measured errors: mGradNet-C's jumps by two orders of magnitude past
$d=32$, because a plain net of width 32 has $\operatorname{rank} J\le 32$ (chapter 4) and cannot represent a
full-rank linear map in 64 or 128 dimensions. The solid lines are this run. The dotted grey line marks 0.1 %.
In FAST mode only the smallest dimensions are trained, for only 200 steps, so compare the solid points with
the dashed line *at the same d* and keep in mind the shorter budget; the full run covers every $d$ up to 128 on a GPU (up to 64 on a CPU) with the
same 1000 steps as the recipe.
""")

md(r"""
### What would the full run cost here?

A few timed steps at the large dimensions give the full-mode cost on this device before you commit to it.
To keep the probe itself cheap it times 2 steps of batch 125 and multiplies by 8 — an *extrapolation* that
assumes the step time is proportional to the batch, which the batch-size sweep above shows for CPUs at these
sizes (it underestimates on a GPU, where small batches are launch-bound). Two steps are a small sample: on a
machine shared with other jobs the estimate can be off by a large factor, so treat it as an order of magnitude.
In the full run the cell reports the measured step times instead.
""")

code(r"""
probe_dims = [32, 64, 128]
est_total = 0.0
print(f"device {device}: seconds per step at batch 1000 and the cost of 1000 steps")
for d in probe_dims:
    prob = gn.wishart_gaussian_problem(d, seed=0)
    for name, make in nets.items():
        if (name, d) in hd and hd_steps >= 100:
            sps = hd[name, d][1]                       # measured in the full run above
        else:
            sps = 8 * gn.fit(make(d), prob.source, prob.target, steps=2, batch_size=125, device=device,
                             seed=0, progress=False, check_every=2, warm_start_samples=2000).time_per_step
        est_total += 1000 * sps
        print(f"  d={d:>3} {name}: {sps:.3f} s/step -> {1000 * sps / 60:.1f} min for 1000 steps")
small = sum(1000 * hd[k][1] * 1000 / hd_batch for k in hd if k[1] < 32)
print(f"estimated full-mode cost of the benchmark on {device}: about {(est_total + small) / 60:.0f} min "
      f"(d >= 32 from the probe; d < 32 from this run's step times scaled to 1000 steps of batch 1000)")
section_done("high-dimensional Gaussians")
""")

md(r"""
## 6. Recorded throughput: CPU and GPU, measured side by side with the paper's recipe

The project's benchmark script `benchmarks/train_step.py` times `gn.fit`'s training step against a
re-implementation of the paper's recipe (`vmap(jacrev)` Jacobians, `slogdet`, `torch.distributions`
densities and a `.item()` every step), interleaved in one run on the same device, for the paper's 2-D Gaussian
and MNIST-morph configurations and for large batches. Newer records also time a second, more faithful baseline,
the *public-code path*: the modules run in a Python loop, and both mixtures are rebuilt every step, as the paper's
public script does. That overhead should matter most on a GPU, where a small step is launch-bound; the records say whether it does.
`benchmarks/high_dim_gaussians.py` reproduces the table
of section 5 at full size. Their outputs are recorded under `benchmarks/results/` together with the command
that produced them, the machine and the card. This cell shows the recorded files as they are (numbers are
not retyped here); a GPU record names its card.
""")

code(r"""
def find_results_dir():
    candidates = [Path.cwd().parent / "benchmarks" / "results", Path.cwd() / "benchmarks" / "results",
                  Path(gn.__file__).resolve().parent.parent / "benchmarks" / "results"]
    return next((p for p in candidates if p.is_dir()), None)


results_dir = find_results_dir()
records = sorted(results_dir.glob("*.md")) if results_dir else []
if not records:
    display(Markdown("**Not yet recorded**: no `benchmarks/results/*.md` files were found next to this "
                     "notebook. Run `python benchmarks/train_step.py` (CPU) or "
                     "`python benchmarks/train_step.py --device cuda` (GPU) from the repository root."))
for path in records:
    # the file's headings become bold lines: a page section cannot start inside a cell output
    text = re.sub(r"^#{1,6} +(.*)$", r"**\1**", path.read_text(), flags=re.M)
    display(Markdown(f"**Recorded file `benchmarks/results/{path.name}`** (shown as written):\n\n" + text))
section_done("recorded benchmarks")
""")

md(r"""
## Runtime of this chapter
""")

code(r"""
total = sum(timings.values())
print(f"wall time on {device} ({'FAST' if gn.FAST else 'full'} mode): {total:.0f} s in total")
for name, sec in timings.items():
    print(f"  {name:<36} {sec:6.1f} s")
""")

md(r"""
## Exercises

````{exercise} A device-agnostic training step
:label: ch06-ex-step
Write `train_step(model, optimizer, source, target, batch_size, generator)` that draws one batch with
`source.sample(batch_size, generator=generator)`, takes one optimiser step on `gn.monge_ampere_loss`, and
returns the loss as a **detached 0-dim tensor on the model's device** — without `.item()` or `float()`.
Check it with `gn.exercises.check_training_step(train_step)` (it runs on the CPU, and on CUDA too when there
is one). Then use it in a loop to reproduce the steps/s of the batch-size sweep above for two batch sizes.
````

````{solution} ch06-ex-step
:class: dropdown
```python
def train_step(model, optimizer, source, target, batch_size, generator):
    x = source.sample(batch_size, generator=generator)   # drawn on the generator's device
    loss = gn.monge_ampere_loss(model, x, source, target)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return loss.detach()                                  # no host sync

gn.exercises.check_training_step(train_step)
```
To time it, synchronise before reading the clock on a GPU (`torch.cuda.synchronize()`), run a few warm-up
steps first, and divide the elapsed time by the number of steps.
````

````{exercise} A Cholesky log-determinant
:label: ch06-ex-logdet
Write `logdet(J)` for a batch `(n, d, d)` of symmetric positive definite matrices using
`torch.linalg.cholesky`, and check it with `gn.exercises.check_logdet_cholesky(logdet)`. Why is it valid
for an mGradNet's Jacobian but not for the `MLPMap` baseline of chapter 5? What does your function return,
and what does `gn.logdet_spd` return, when $J$ is not positive definite?
````

````{solution} ch06-ex-logdet
:class: dropdown
With $J=LL^\top$, $\det J=\prod_i L_{ii}^2$, so $\log\det J = 2\sum_i\log L_{ii}$:
```python
def logdet(J):
    L = torch.linalg.cholesky(J)
    return 2 * torch.log(torch.diagonal(L, dim1=-2, dim2=-1)).sum(-1)

gn.exercises.check_logdet_cholesky(logdet)
```
An mGradNet's $J$ is a Hessian of a (strongly) convex potential: symmetric positive definite by
construction. The Jacobian of `MLPMap` is neither symmetric nor definite, so it needs `slogdet` (and its
log-determinant can even be undefined where $\det J<0$). On a non-PD input `torch.linalg.cholesky` raises an
error — a host sync and a crash in the middle of training — while `gn.logdet_spd` uses `cholesky_ex`, which
never syncs, and returns NaN for that sample; `gn.fit` then catches the NaN at its next check and restores the
last finite weights.
````

````{exercise} Where does TF32 start to hurt?
:label: ch06-ex-tf32
Repeat the precision experiment of section 4 with $d=64$ and with eigenvalues that are log-spaced only in the
bottom quarter of the spectrum (the rest equal to 1). Does the error depend on $d$, on $\kappa$, or on both?
If you have a GPU with TF32, compare the emulation with the real thing by setting
`torch.backends.cuda.matmul.allow_tf32 = True` and assembling $J$ on the GPU.
````

````{solution} ch06-ex-tf32
:class: dropdown
Change `d_prec` and build `lam = torch.cat([torch.ones(3 * d // 4), torch.logspace(0, -log10(kappa), d // 4)])`.
The error is driven by $u\,\kappa$ (the smallest eigenvalues move by about $u\lambda_1$), and grows mildly with
$d$ because each entry of $J$ is a sum of $d$ rounded products and because more small eigenvalues each
contribute an error. On an Ampere or newer GPU with `allow_tf32 = True` the GPU matmul gives errors of the same
order as the emulation (the hardware rounds the inputs and accumulates in float32, as the emulation does);
set the flag back to `False` afterwards.
````

## Summary

- Device-agnostic code needs three things on the device — model, densities, random numbers — and no per-step
  host syncs; `gn.fit(device=...)` does all of it and reads the loss back only when it needs to.
- Samples per second grow with the batch until the device saturates; a GPU saturates much later than a CPU.
- The closed-form Jacobian of an mGradNet agrees with `torch.func` to round-off and is faster; the SPD
  structure of $J$ allows a Cholesky log-determinant.
- $\log\det J$ loses about $u\,\kappa(J)$ to rounding: keep it (and the matmul that builds $J$) out of
  TF32/bfloat16, and keep $J$ well conditioned.
- On the paper's high-dimensional Gaussians, `gn.fit` with both networks was compared with the paper's recipe
  numbers (external) at equal steps; the full run covers d = 2…128 on a GPU (up to 64 on a CPU).

## Next steps

Chapter 7 uses this machinery on a harder, non-Gaussian target: morphing MNIST digits into one another,
where the densities are mixtures of a few hundred sharp bumps and the step is dominated by the target's
log-density.

## References

```{bibliography}
:filter: docname in docnames
```
""")


write_notebook(cells, "06_training_on_gpus.ipynb")
