"""Time ``gn.fit``'s training step against the paper's recipe, interleaved in one run.

    python benchmarks/train_step.py                    # CPU, full run
    python benchmarks/train_step.py --quick            # short smoke run
    python benchmarks/train_step.py --device cuda --compile --out gpu.md

How the two are timed (same sizes, same batch, same device, same process):

* ``gn.fit`` is the real code path: one ``gn.fit(model, src, tgt, steps=R*k,
  check_every=k, progress=False, callback=cb)`` call. Every ``k`` steps fit calls
  ``cb``; ``cb`` reads the clock (the fit segment's time: k steps including
  sampling, the NaN check and the snapshot), then runs ``k`` steps of the recipe
  and times them, then restarts the clock. Fit and recipe thus alternate in
  blocks of ``k`` steps; the first block of each is a warm-up and is dropped;
  we report medians over blocks.
* The recipe is ``benchmarks/paper_recipe.py``: ``vmap(jacrev)`` + ``slogdet`` +
  ``torch.distributions`` densities + per-step ``.item()``.

Sections: (1) the two paper configs at batch 1000; (2) throughput and peak
memory at large batches; (3) time to accuracy on Gaussian problems.

    python benchmarks/train_step.py --sweep --threads 1   # only the dimension sweep (4)

(4) ``--sweep``: the two ``log det J`` paths of the mGradNets side by side, d = 16 … 512,
batch 1000, default widths: the *full* path (build J, one d×d Cholesky per sample) and the
*low-rank* path (matrix determinant lemma, one r×r LU per sample). A training step here is
``monge_ampere_residual`` -> mean |r| -> backward -> Adam step on a Wishart Gaussian problem;
the two paths alternate in blocks in one process. Peak memory: CUDA max_memory_allocated, or
on a CPU the growth of the peak RSS during one step in a fresh subprocess per cell.
"""
from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
import subprocess
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gradnetot as gn  # noqa: E402
from benchmarks._report import Report  # noqa: E402
from benchmarks.paper_recipe import PaperCodeLoop, PaperCodeMGradNetM, PaperMGradNetM, Recipe, to_distribution  # noqa: E402


# -- problems -----------------------------------------------------------------------

def gaussian_pair():
    """The 2-D Gaussian pair: a correlated, shifted source onto N(0, I)."""
    src = gn.Gaussian(torch.tensor([1.0, -0.5]), torch.tensor([[2.0, 0.9], [0.9, 0.8]]))
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    return src, tgt, "2-D Gaussian pair"


def morph_pair():
    """Two ~150-component isotropic image mixtures (MNIST digits if available)."""
    try:
        images, labels = gn.load_digits()
        imgs = []
        for lab in (3, 8):
            cand = [i for i in range(len(labels)) if int(labels[i]) == lab]
            # the image of that label whose number of lit pixels is closest to 150
            best = min(cand[:50], key=lambda i: abs(int((images[i] > 0).sum()) - 150))
            imgs.append(images[best])
        src, tgt = gn.ImageDensity(imgs[0]), gn.ImageDensity(imgs[1])
        return src, tgt, f"MNIST 3 -> 8 ({src.means.shape[0]} and {tgt.means.shape[0]} components)"
    except Exception:  # data module not available: synthetic mixtures of the same size
        out = []
        for seed in (1, 2):
            g = torch.Generator().manual_seed(seed)
            out.append(gn.GaussianMixture(torch.rand(150, generator=g), 0.15 + 0.7 * torch.rand(150, 2, generator=g),
                                          0.02))
        return out[0], out[1], "synthetic 150-component mixtures on [0,1]^2"


CONFIGS = {
    "gauss": dict(K=4, m=32, pair=gaussian_pair, label="2-D Gaussian, mGradNet-M 4x32"),
    "morph": dict(K=32, m=128, pair=morph_pair, label="MNIST morph, mGradNet-M 32x128"),
}


# -- interleaved timing ---------------------------------------------------------------

def interleaved(cfg, batch, device, reps, block, compile=False, recipe=True, seed=0, paper_code=False):
    """Median seconds per step for gn.fit and the recipe, alternating blocks of ``block`` steps.

    ``paper_code=True`` also times ``PaperCodeLoop`` (the public code's structure: module
    loop, per-step full-covariance mixtures, AdamW + clipping) in the same rotation; its
    median is ``res.paper_code_med``.
    """
    dev = torch.device(device)
    src, tgt, _ = cfg["pair"]()
    torch.manual_seed(seed)
    model = gn.MGradNetM(2, num_modules=cfg["K"], embed_dim=cfg["m"])
    rec = None
    if recipe:
        rec = Recipe(PaperMGradNetM(2, cfg["K"], cfg["m"]), to_distribution(src, dev), to_distribution(tgt, dev),
                     batch_size=batch, device=dev)
    pcl = None
    if paper_code:
        torch.manual_seed(seed)
        pcl = PaperCodeLoop(PaperCodeMGradNetM(2, cfg["K"], cfg["m"]), src, tgt, batch_size=batch, device=dev)
    fit_t, rec_t, pcl_t = [], [], []
    state = {"t": None}

    cuda = dev.type == "cuda"
    peaks = {"fit": 0, "recipe": 0}  # CUDA: peak allocated memory during each path's blocks

    def record_peak(key):
        if cuda:
            peaks[key] = max(peaks.get(key, 0), torch.cuda.max_memory_allocated())
            torch.cuda.reset_peak_memory_stats()

    def time_baseline(loop, times, key):
        t = time.perf_counter()
        for _ in range(block):
            loop.step()  # ends with .item(): synced
        times.append((time.perf_counter() - t) / block)
        record_peak(key)

    def cb(step, _model):
        now = time.perf_counter()  # fit has just synced (its NaN check reads a flag)
        fit_t.append((now - state["t"]) / block)
        record_peak("fit")
        if rec is not None:
            time_baseline(rec, rec_t, "recipe")
        if pcl is not None:
            time_baseline(pcl, pcl_t, "public_code")
        state["t"] = time.perf_counter()

    if cuda:
        torch.cuda.reset_peak_memory_stats()
    state["t"] = time.perf_counter()
    # the first segment also covers fit's set-up after warm start; it is dropped below
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = gn.fit(model, src, tgt, steps=(reps + 1) * block, batch_size=batch, device=dev, seed=seed,
                     progress=False, check_every=block, callback=cb, compile=compile)
    peak = peaks if cuda else None
    res.fell_back = any("eager" in str(w.message) for w in caught)  # compile=True fell back to eager
    fit_med = statistics.median(fit_t[1:])
    rec_med = statistics.median(rec_t[1:]) if rec_t else float("nan")
    res.paper_code_med = statistics.median(pcl_t[1:]) if pcl_t else float("nan")
    return fit_med, rec_med, peak, res


def peak_rss_mb():
    # ru_maxrss is in KiB on Linux: the process's high-water mark so far
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fmt_rate(sec):
    return f"{1.0 / sec:,.1f}" if sec == sec and sec > 0 else "-"




# -- time to accuracy ---------------------------------------------------------------------

def time_to_accuracy(dim, device, steps=1000, every=25, seed=0, ablation=True):
    """Recipe: 1000 steps -> final L2-UVP and wall time. gn.fit defaults (1000 steps): wall time at
    which L2-UVP (checked every ``every`` steps, check time excluded) first reaches that value."""
    dev = torch.device(device)
    if dim == 2:
        src, tgt, _ = gaussian_pair()
        problem = gn.GaussianProblem(src, tgt)
    else:
        problem = gn.wishart_gaussian_problem(dim)
    torch.manual_seed(seed)
    rec = Recipe(PaperMGradNetM(dim, 8, 32), to_distribution(problem.source, dev),
                 to_distribution(problem.target, dev), device=dev)
    rec_wall = rec.run(steps)
    rec_uvp = problem.l2_uvp(rec.model)

    rows = dict(dim=dim, rec_uvp=rec_uvp, rec_wall=rec_wall)
    for ws in (["auto", False] if ablation else ["auto"]):
        hit = {"step": None, "time": None, "uvp": None, "last": None}
        clock = {"excluded": 0.0}

        def cb(step, model):
            c0 = time.perf_counter()
            uvp = problem.l2_uvp(model)
            hit["last"] = uvp
            if uvp <= rec_uvp and hit["step"] is None:
                hit.update(step=step, time=c0 - t0 - clock["excluded"], uvp=uvp)
            clock["excluded"] += time.perf_counter() - c0
            return hit["step"] is not None  # stop once reached

        torch.manual_seed(seed)
        model = gn.MGradNetM(dim)
        t0 = time.perf_counter()
        # copies: problem.l2_uvp moves problem.source to the CPU in place, which must not affect fit's densities
        gn.fit(model, copy.deepcopy(problem.source), copy.deepcopy(problem.target), steps=steps, device=dev,
               seed=seed, progress=False, check_every=every, callback=cb, warm_start=ws)
        # time-to-hit includes gn.fit's set-up (validation, warm start); the L2-UVP checks are excluded
        rows[ws] = dict(step=hit["step"], time=hit["time"], uvp=hit["uvp"] if hit["step"] else hit["last"])
    return rows


# -- dimension sweep: full vs low-rank log det -------------------------------------------------------

SWEEP_DIMS = (16, 32, 64, 128, 256, 512)
SWEEP_NETS = {
    "C": ("mGradNet-C (embed 64)", lambda d: gn.MGradNetC(d)),
    "M": ("mGradNet-M (8x32)", lambda d: gn.MGradNetM(d)),
}
SWEEP_PATHS = ("full", "low_rank")


def _sweep_setup(net, d, device, seed=0, warm=True):
    """The problem and one warm-started model (Adam included) per log det path, same weights."""
    dev = torch.device(device)
    problem = gn.wishart_gaussian_problem(d, seed=seed)
    src, tgt = problem.source.to(dev), problem.target.to(dev)
    torch.manual_seed(seed)
    base = SWEEP_NETS[net][1](d).to(dev)
    if warm:
        g = torch.Generator(device=dev).manual_seed(seed)
        n_ws = max(4 * d, 2000)
        base.warm_start(src.sample(n_ws, generator=g), tgt.sample(n_ws, generator=g))
    runs = {}
    for path in SWEEP_PATHS:
        model = copy.deepcopy(base)
        model.logdet_path = path
        runs[path] = (model, torch.optim.Adam(model.parameters(), lr=1e-3))
    return src, tgt, base, runs


def _sweep_step(model, opt, x, log_p, src, tgt):
    loss = gn.monge_ampere_residual(model, x, src, tgt, log_p=log_p).abs().mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss.detach()


def sweep_times(net, d, batch, reps, block, device, seed=0, budget_s=60.0, slow_s=30.0):
    """Median seconds per training step of each log det path, the paths alternating in blocks.

    A path whose first (warm-up, dropped) step says ``reps * block`` steps would take more than
    ``budget_s`` gets blocks of one step and fewer of them (at least 2); one whose warm-up step
    alone takes more than ``slow_s`` is measured by that step only. Returns ``{path: (median,
    number of timed steps, peak CUDA bytes or None)}``.
    """
    dev = torch.device(device)
    cuda = dev.type == "cuda"
    src, tgt, _, runs = _sweep_setup(net, d, device, seed)
    g = torch.Generator(device=dev).manual_seed(seed + 1)
    plan = {path: (reps, block) for path in SWEEP_PATHS}
    times = {path: [] for path in SWEEP_PATHS}
    peaks = {path: 0 for path in SWEEP_PATHS}

    def sync():
        if cuda:
            torch.cuda.synchronize()

    for rep in range(reps + 1):
        x = src.sample(batch, generator=g)
        lp = src.log_prob(x)
        for path in SWEEP_PATHS:
            n_rep, n_blk = plan[path]
            if rep > n_rep:
                continue
            model, opt = runs[path]
            if cuda:
                torch.cuda.reset_peak_memory_stats()
            sync()
            t = time.perf_counter()
            for _ in range(1 if rep == 0 else n_blk):
                _sweep_step(model, opt, x, lp, src, tgt)
            sync()
            dt = time.perf_counter() - t
            if rep == 0:  # warm-up step: dropped, but it sizes the plan
                if dt > slow_s:  # too slow to repeat: this step is the measurement
                    plan[path] = (0, 1)
                    times[path].append(dt)
                elif dt * reps * block > budget_s:
                    plan[path] = (max(2, min(reps, int(budget_s / dt))), 1)
            else:
                times[path].append(dt / n_blk)
            if cuda:
                peaks[path] = max(peaks[path], torch.cuda.max_memory_allocated())
    return {path: (statistics.median(times[path]), len(times[path]) * plan[path][1],
                   peaks[path] if cuda else None) for path in SWEEP_PATHS}


def _proc_status_kb(field):
    with open("/proc/self/status") as fh:
        return next(int(line.split()[1]) for line in fh if line.startswith(field + ":"))


def mem_probe(spec):
    """``net:d:path:batch``: peak RSS growth (MB) during one training step, printed (run in a fresh process).

    Linux: the high-water mark VmHWM is reset to the current RSS (``/proc/self/clear_refs``) after
    set-up, so the import's own peak does not hide the step's; elsewhere ru_maxrss growth.
    """
    net, d, path, batch = spec.split(":")
    d, batch = int(d), int(batch)
    src, tgt, _, runs = _sweep_setup(net, d, "cpu", warm=False)  # weights do not change the memory
    model, opt = runs[path]
    g = torch.Generator().manual_seed(1)
    x = src.sample(batch, generator=g)
    lp = src.log_prob(x)
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        before = _proc_status_kb("VmRSS")
        _sweep_step(model, opt, x, lp, src, tgt)
        print((_proc_status_kb("VmHWM") - before) / 1024)
    except OSError:
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        _sweep_step(model, opt, x, lp, src, tgt)
        print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024)


def _cpu_peak_mb(net, d, path, batch, threads):
    cmd = [sys.executable, os.path.abspath(__file__), "--mem-probe", f"{net}:{d}:{path}:{batch}"]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    try:
        return float(out.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):  # the probe failed (e.g. out of memory): say so in the table
        return float("nan")


def dimension_sweep(out, device, dims=SWEEP_DIMS, nets=("C", "M"), batch=1000, reps=5, block=2, threads=None,
                    fit_steps=20, fit_dim=None, memory=True, table=True):
    fit_dim = fit_dim or max(dims)
    cuda = str(device).startswith("cuda")
    res = {}
    if table:
        res = _sweep_table(out, cuda, device, dims, nets, batch, reps, block, threads, memory)
    if fit_steps:
        _sweep_fit(out, device, nets, batch, fit_steps, fit_dim)
    return res


def _sweep_table(out, cuda, device, dims, nets, batch, reps, block, threads, memory):
    out("## Dimension sweep: log det J, full path vs low-rank path")
    out()
    out(f"Batch {batch}, default widths, a training step = residual -> mean |r| -> backward -> Adam. *full*: build "
        "J (n×d×d) and a d×d Cholesky per sample; *low-rank*: log det A (one d×d Cholesky per step) + an r×r LU "
        "of I + H(x) E A⁻¹ Eᵀ per sample (r = embedding rows: 64 for mGradNet-C, 8·32 = 256 for mGradNet-M). "
        f"The two paths alternate: {reps} blocks of {block} steps after one dropped warm-up step (a path whose "
        "warm-up step says it would need more than 60 s gets fewer, single-step blocks, and one whose warm-up step "
        "alone takes more than 30 s is measured by that step: see *steps timed*). "
        "*auto* is what `logdet_path='auto'` (the default, used by `gn.fit`) picks.")
    out()
    mem = ("peak CUDA memory (torch.cuda.max_memory_allocated) during the path's blocks" if cuda else
           "growth of the peak RSS over one training step (the first: it also allocates Adam's state) in a "
           "fresh subprocess per cell: the high-water mark VmHWM, reset to the current RSS after set-up through "
           "/proc/self/clear_refs, minus that RSS. It counts pages touched, so it is coarse (a few MB) for "
           "small cells")
    out(f"Memory: {mem}.")
    out()
    out("| net | d | r | auto | full ms/step | low-rank ms/step | full / low-rank | steps timed (full, low-rank) "
        "| full peak MB | low-rank peak MB |")
    out("|---|---|---|---|---|---|---|---|---|---|")
    res = {}
    for net in nets:
        label = SWEEP_NETS[net][0]
        for d in dims:
            try:
                t = sweep_times(net, d, batch, reps, block, device)
            except Exception as exc:
                out(f"| {label} | {d} | failed: {type(exc).__name__}: {str(exc)[:80]} | | | | | | | |")
                continue
            probe = SWEEP_NETS[net][1](d)
            r, auto = probe.low_rank_width(), "low-rank" if probe.uses_low_rank_logdet() else "full"
            if cuda:
                mems = [t[p][2] / 2**20 for p in SWEEP_PATHS]
            elif memory:
                mems = [_cpu_peak_mb(net, d, p, batch, threads) for p in SWEEP_PATHS]
            else:
                mems = [float("nan")] * 2
            res[net, d] = dict(t=t, r=r, auto=auto)
            tf, tl = t["full"][0], t["low_rank"][0]
            out(f"| {label} | {d} | {r} | {auto} | {1e3 * tf:,.1f} | {1e3 * tl:,.1f} | {tf / tl:.2f}x | "
                f"{t['full'][1]}, {t['low_rank'][1]} | {mems[0]:,.0f} | {mems[1]:,.0f} |")
    out()
    for net in nets:
        if (net, 64) in res and (net, 256) in res:
            a = res[net, 256]["t"]["low_rank"][0] / res[net, 64]["t"]["low_rank"][0]
            f = res[net, 256]["t"]["full"][0] / res[net, 64]["t"]["full"][0]
            out(f"- {SWEEP_NETS[net][0]}: step time at d = 256 / at d = 64: low-rank path **{a:.2f}x**, "
                f"full path {f:.2f}x")
    out()
    return res


def crossover(out, device, d=64, widths=(32, 48, 64, 80, 96, 128), batch=1000, reps=3, block=1):
    """Where the low-rank path stops paying: mGradNet-C at fixed ``d``, embedding width r around d."""
    out(f"## Crossover: mGradNet-C at d = {d}, embedding width r around d (batch {batch})")
    out()
    out(f"Same timing as the sweep ({reps} blocks of {block} steps, paths alternating, medians). "
        "`logdet_path='auto'` takes the low-rank path when r <= d.")
    out()
    out("| r | r / d | full ms/step | low-rank ms/step | full / low-rank |")
    out("|---|---|---|---|---|")
    for r in widths:
        SWEEP_NETS["_x"] = (f"mGradNet-C (embed {r})", lambda dd, r=r: gn.MGradNetC(dd, embed_dim=r))
        try:
            t = sweep_times("_x", d, batch, reps, block, device)
        finally:
            del SWEEP_NETS["_x"]
        tf, tl = t["full"][0], t["low_rank"][0]
        out(f"| {r} | {r / d:.2f} | {1e3 * tf:,.1f} | {1e3 * tl:,.1f} | {tf / tl:.2f}x |")
    out()


def _sweep_fit(out, device, nets, batch, fit_steps, fit_dim):
    out(f"### gn.fit at d = {fit_dim} ({fit_steps} steps, batch {batch}, lr 1e-4, otherwise defaults: "
        "logdet_path='auto', warm start, clipping)")
    out()
    out("lr 1e-4: a run this short has no warm-up (2 % of the steps), and at d = 512 Adam's first steps move "
        "each of the d² entries of L by about lr, which at the default 1e-2 (or 1e-3) throws the map far from "
        "its warm start before it comes back.")
    out()
    out("| net | path taken | wall s (set-up excluded) | s/step | first loss | last loss |")
    out("|---|---|---|---|---|---|")
    for net in nets:
        problem = gn.wishart_gaussian_problem(fit_dim)
        torch.manual_seed(0)
        model = SWEEP_NETS[net][1](fit_dim)
        path = "low-rank" if model.uses_low_rank_logdet() else "full"
        fr = gn.fit(model, problem.source, problem.target, steps=fit_steps, batch_size=batch, device=device,
                    seed=0, progress=False, lr=1e-4, warm_start_samples=5000)
        out(f"| {SWEEP_NETS[net][0]} | {path} | {fr.wall_time:.1f} | {fr.time_per_step:.2f} | "
            f"{fr.losses[0]:.3f} | {fr.losses[-1]:.3f} |")
    out()


# -- main ----------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--quick", action="store_true", help="short smoke run")
    ap.add_argument("--reps", type=int, default=None, help="timed blocks per config (after 1 warm-up block)")
    ap.add_argument("--block", type=int, default=None, help="steps per block")
    ap.add_argument("--threads", type=int, default=None, help="torch CPU threads (both paths)")
    ap.add_argument("--compile", action="store_true", help="also time gn.fit(compile=True)")
    ap.add_argument("--batches", default=None, help="large batches, e.g. 1e4,1e5,1e6")
    ap.add_argument("--recipe-max-batch", type=float, default=None,
                    help="largest batch at which the recipe is also timed (default 1e4 CPU, 1e6 CUDA)")
    ap.add_argument("--morph-max-batch", type=float, default=None,
                    help="largest batch for the morph config (default 1e4 CPU, 1e5 CUDA: (batch, 4096) activations)")
    ap.add_argument("--tta-dims", default=None, help="time-to-accuracy dims (default 2 on CPU, 2,64 on CUDA)")
    ap.add_argument("--skip", default="", help="comma list of sections to skip: main,batch,tta")
    ap.add_argument("--no-paper-code", action="store_true",
                    help="skip the faithful public-code baseline (PaperCodeLoop) in the main section")
    ap.add_argument("--out", default=None, help="also write the tables as Markdown to this file")
    ap.add_argument("--sweep", action="store_true",
                    help="run only the dimension sweep: full vs low-rank log det J, d = 16 ... 512")
    ap.add_argument("--sweep-dims", default=None, help="dims for --sweep (default 16,32,64,128,256,512)")
    ap.add_argument("--sweep-nets", default="C,M", help="nets for --sweep: C (mGradNet-C), M (mGradNet-M)")
    ap.add_argument("--fit-steps", type=int, default=20, help="--sweep: gn.fit steps at the largest dim (0: skip)")
    ap.add_argument("--crossover", action="store_true",
                    help="run only the crossover table: mGradNet-C at d = 64 with r = 32 ... 128, both paths")
    ap.add_argument("--fit-only", action="store_true", help="--sweep: only the gn.fit run at the largest dim")
    ap.add_argument("--no-memory", action="store_true", help="--sweep on a CPU: skip the memory subprocesses")
    ap.add_argument("--mem-probe", default=None, help=argparse.SUPPRESS)  # internal: one memory cell
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.mem_probe:
        mem_probe(args.mem_probe)
        return
    cuda = args.device == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("--device cuda but CUDA is not available")
    reps = args.reps or (2 if args.quick else (10 if cuda else 5))
    block = args.block or (3 if args.quick else (20 if cuda else 5))
    batches = args.batches or ("1e4" if args.quick else ("1e4,1e5,1e6" if cuda else "1e4,1e5"))
    batches = [int(float(b)) for b in batches.split(",") if b]
    rmax = args.recipe_max_batch or (1e6 if cuda else 1e4)
    mmax = args.morph_max_batch or (1e5 if cuda else 1e4)
    tta_dims = args.tta_dims or ("2" if (args.quick or not cuda) else "2,64")
    tta_dims = [int(x) for x in tta_dims.split(",") if x]
    skip = set(args.skip.split(","))

    out = Report()
    if args.crossover:
        out.header("Crossover of the two log det J paths", "benchmarks/train_step.py", argv, args.device)
        out()
        crossover(out, args.device, reps=args.reps or (1 if args.quick else 3), block=args.block or 1)
        out.write(args.out)
        return
    if args.sweep:
        dims = [int(x) for x in (args.sweep_dims or ",".join(map(str, SWEEP_DIMS))).split(",") if x]
        out.header("Dimension sweep: log det J without a d×d factorisation per sample", "benchmarks/train_step.py",
                   argv, args.device)
        out()
        dimension_sweep(out, args.device, dims=dims, nets=[n for n in args.sweep_nets.split(",") if n],
                        reps=args.reps or (2 if args.quick else 5), block=args.block or (1 if args.quick else 2),
                        threads=args.threads, fit_steps=args.fit_steps, fit_dim=max(dims),
                        memory=not args.no_memory, table=not args.fit_only)
        out.write(args.out)
        return
    out.header("Training step: gn.fit vs the paper's recipe", "benchmarks/train_step.py", argv, args.device)
    out(f"- densities: gauss config = {gaussian_pair()[2]}; morph config = {morph_pair()[2]}")
    out(f"- timing: {reps} blocks of {block} steps each, fit and recipe alternating, medians; "
        f"gn.fit uses `MGradNetM` defaults (strongly convex term, whitening) at the config's K x m; "
        f"the recipe uses the paper's plain net of the same K x m")
    out()

    if "main" not in skip:
        out("## Paper configs, batch 1000")
        out()
        out("Two baselines, timed in the same rotation as gn.fit: the *recipe* (our lean re-implementation: "
            "vectorised modules, densities built once as `torch.distributions`) and the *public-code path* "
            "(`PaperCodeLoop`: the K modules in a Python loop with the two-sided softmax activation, both "
            "mixtures rebuilt every step as full-covariance `MultivariateNormal` batches at the annealed "
            "bandwidth, sampling from every component, AdamW + StepLR + gradient clipping). The last column "
            "gives gn.fit's speed-up over each: recipe / public-code path.")
        out()
        out("| config | path | it/s | samples/s | speed-up vs recipe / vs public-code path |")
        out("|---|---|---|---|---|")
        for key, cfg in CONFIGS.items():
            try:
                f, r, _, res = interleaved(cfg, 1000, args.device, reps, block, paper_code=not args.no_paper_code)
            except Exception as exc:  # keep going: report the failure in the table
                out(f"| {cfg['label']} | gn.fit | failed: {type(exc).__name__}: {str(exc)[:80]} | | |")
                continue
            pc = res.paper_code_med

            def both(t):
                return f"**{r / t:.1f}x**" + (f" / **{pc / t:.1f}x**" if pc == pc else "")

            if pc == pc:
                out(f"| {cfg['label']} | public-code path (module loop, per-step MVN mixtures) | {fmt_rate(pc)} | "
                    f"{1000 / pc:,.0f} | {r / pc:.2f}x / 1.0x |")
            out(f"| {cfg['label']} | recipe (vmap(jacrev)+slogdet+torch.distributions) | {fmt_rate(r)} | "
                f"{1000 / r:,.0f} | 1.0x" + (f" / {pc / r:.1f}x" if pc == pc else "") + " |")
            out(f"| {cfg['label']} | gn.fit | {fmt_rate(f)} | {1000 / f:,.0f} | {both(f)} |")
            if args.compile:
                # compiled fit: timed alone (the recipe was just timed above, same process, same sizes);
                # its first block, which includes compilation, is dropped like every first block
                try:
                    fc, _, _, res = interleaved(cfg, 1000, args.device, reps, block, compile=True, recipe=False)
                    note = " (fell back to eager)" if res.fell_back else ""
                    out(f"| {cfg['label']} | gn.fit compile=True{note} | {fmt_rate(fc)} | {1000 / fc:,.0f} | "
                        f"{both(fc)} |")
                except Exception as exc:
                    out(f"| {cfg['label']} | gn.fit compile=True | failed: {type(exc).__name__}: {str(exc)[:80]} | | |")
        out()

    if "batch" not in skip and batches:
        out("## Large batches: throughput and peak memory")
        out()
        mem = "peak CUDA memory in MB, gn.fit / recipe (torch.cuda.max_memory_allocated over each path's blocks)" if cuda else \
            "process peak RSS so far (resource.getrusage ru_maxrss; monotone over the run)"
        out(f"Memory column: {mem}.")
        out()
        out("| config | batch | gn.fit samples/s | recipe samples/s | speed-up | memory (MB) |")
        out("|---|---|---|---|---|---|")
        for key, cfg in CONFIGS.items():
            for b in batches:
                if key == "morph" and b > mmax:
                    out(f"| {cfg['label']} | {b:.0e} | (skipped: above --morph-max-batch {mmax:.0e}) | | | |")
                    continue
                nrep, nblk = (2, 2) if (args.quick or not cuda) else (3, 3)
                try:
                    f, r, peak, _ = interleaved(cfg, b, args.device, nrep, nblk, recipe=b <= rmax)
                    if peak is not None:  # CUDA: fit / recipe separately
                        memv = f"{peak['fit'] / 2**20:,.0f} / " + (f"{peak['recipe'] / 2**20:,.0f}" if r == r else "-")
                    else:
                        memv = f"{peak_rss_mb():,.0f}"
                    ratio = f"{r / f:.1f}x" if r == r else "-"
                    rs = f"{b / r:,.0f}" if r == r else "(not run)"
                    out(f"| {cfg['label']} | {b:.0e} | {b / f:,.0f} | {rs} | {ratio} | {memv} |")
                except torch.cuda.OutOfMemoryError:
                    out(f"| {cfg['label']} | {b:.0e} | out of memory | | | |")
                    torch.cuda.empty_cache()
                except Exception as exc:
                    out(f"| {cfg['label']} | {b:.0e} | failed: {type(exc).__name__}: {str(exc)[:80]} | | | |")
                    if cuda:
                        torch.cuda.empty_cache()
        out()

    if "tta" not in skip and tta_dims:
        out("## Time to accuracy (mGradNet-M)")
        out()
        out("Recipe: paper net 8x32 (the size of `MGradNetM(d)`), 1000 steps, batch 1000, Adam 1e-2. gn.fit: `MGradNetM(d)` defaults, "
            "`steps=1000`; L2-UVP checked every 25 steps on 10 000 fresh samples (check time excluded; "
            "fit's set-up and warm start included).")
        out()
        out("| d | gn.fit | recipe final L2-UVP % | recipe wall s | gn.fit reaches it at step | gn.fit wall s | speed-up |")
        out("|---|---|---|---|---|---|---|")
        for dim in tta_dims:
            try:
                r = time_to_accuracy(dim, args.device)
            except Exception as exc:
                out(f"| {dim} | failed: {type(exc).__name__}: {str(exc)[:80]} | | | | | |")
                continue
            for ws, label in (("auto", "defaults"), (False, "warm_start=False")):
                h = r[ws]
                if h["step"] is None:
                    out(f"| {dim} | {label} | {r['rec_uvp']:.4g} | {r['rec_wall']:.1f} | not reached in 1000 "
                        f"(final {h['uvp']:.4g}) | - | - |")
                else:
                    out(f"| {dim} | {label} | {r['rec_uvp']:.4g} | {r['rec_wall']:.1f} | {h['step']} "
                        f"(L2-UVP {h['uvp']:.4g}) | {h['time']:.1f} | **{r['rec_wall'] / h['time']:.1f}x** |")
        out()

    out.write(args.out)


if __name__ == "__main__":
    main()
