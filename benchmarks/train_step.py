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
"""
from __future__ import annotations

import argparse
import copy
import os
import resource
import statistics
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
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
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
