"""Known non-affine OT maps in any dimension: gn.fit against the baselines an OT researcher would pick.

    python benchmarks/known_maps.py                                   # d = 2 ... 256, 3 seeds
    python benchmarks/known_maps.py --dims 2 4 8 16 --steps 500 --out benchmarks/results/cpu_known_maps.md
    python benchmarks/known_maps.py --fast                            # smoke config (seconds)

Pairs: ``gn.teacher_problem(d, teacher, source, seed)``: a source with a closed-form density
and the target ``grad phi # source`` for a strongly convex teacher ``phi``, so the Brenier map
``grad phi`` is known exactly (``--pair wishart`` gives the Gaussian pairs of
``gn.wishart_gaussian_problem`` as a sanity check: affine map, which the warm start contains).

For every (d, seed) every method sees the same pair and is scored on the same 10^4 held-out
source points (drawn once with their own generator) by L2-UVP (%) against ``grad phi``.

Two budgets for the neural methods:

* **equal steps**: ``--steps`` steps of batch ``--batch`` for every neural method;
* **equal time**: the wall time ``T`` of the slower of the two ``gn.fit`` default runs of the
  equal-steps budget (same d and seed) is given to every neural method: each takes
  ``round(T / its own time per step)`` steps (measured in its equal-steps run, capped at
  ``--time-cap`` x the step budget), with its own schedule over those steps. A run whose step
  count comes out within 10 % of ``--steps`` is not repeated: the equal-steps run is reused.

The non-neural baselines (entropic map, emd map, affine maps) are fitted once and appear,
unchanged, in both tables. Who wins at each d is computed from the table, never typed.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gradnetot as gn  # noqa: E402
from benchmarks._report import Report  # noqa: E402
from benchmarks.sample_maps import EPS_SCALE, EmdMap, EntropicMap, affine_map  # noqa: E402
from benchmarks.icnn_ot import CYCLE_WEIGHT, W2GN  # noqa: E402
from benchmarks.paper_recipe import PaperMGradNetC, PaperMGradNetM, Recipe, to_distribution  # noqa: E402

DEFAULT_DIMS = (2, 4, 8, 16, 32, 64, 128, 256)
N_TEST = 10_000
WARM_SAMPLES = 20_000  # gn.fit's warm_start_samples; the sample affine map and the ICNN start use as many


# ---------------------------------------------------------------------------------------------
# methods: what each one is and what it is allowed to know
# ---------------------------------------------------------------------------------------------

class Method:
    def __init__(self, key, label, kind, knows, what):
        self.key, self.label, self.kind, self.knows, self.what = key, label, kind, knows, what


def _paper_c_width(d):
    return max(32, d)


def _paper_m_modules(d):
    return max(8, math.ceil(d / 31) + 1)


_M, _C = gn.MGradNetM(2), gn.MGradNetC(2)  # the default sizes, named in the methods table
_M_SIZE = f"{_M.num_modules} modules x {_M.embed_dim}"
_C_SIZE = f"embedding {_C.embed_dim}, {_C.num_layers} layers"

METHODS = [
    Method("fit-C", "gn.fit mGradNet-C defaults", "density", "source sampler + both log-densities; 20k target samples (warm start)",
           f"`gn.fit(gn.MGradNetC(d), ...)` ({_C_SIZE}), all defaults"),
    Method("fit-M", "gn.fit mGradNet-M defaults", "density", "source sampler + both log-densities; 20k target samples (warm start)",
           f"`gn.fit(gn.MGradNetM(d), ...)` ({_M_SIZE}), all defaults"),
    Method("fit-C-nows", "gn.fit mGradNet-C warm_start=False", "density", "source sampler + both log-densities",
           "defaults but `warm_start=False`"),
    Method("fit-M-nows", "gn.fit mGradNet-M warm_start=False", "density", "source sampler + both log-densities",
           "defaults but `warm_start=False`"),
    Method("fit-C-nosc", "gn.fit mGradNet-C strongly_convex=False", "density", "source sampler + both log-densities; 20k target samples (warm start)",
           "`gn.MGradNetC(d, strongly_convex=False)`, fit defaults"),
    Method("fit-M-nosc", "gn.fit mGradNet-M strongly_convex=False", "density", "source sampler + both log-densities; 20k target samples (warm start)",
           "`gn.MGradNetM(d, strongly_convex=False)`, fit defaults"),
    Method("paper-C", "paper mGradNet-C + recipe", "density", "source sampler + both log-densities",
           "`PaperMGradNetC(d, max(32, d), 3)` (derivative-level cascade), autodiff Jacobian, Adam 1e-2, "
           "no warm start, no clipping, no schedule"),
    Method("paper-M", "paper mGradNet-M + recipe", "density", "source sampler + both log-densities",
           "`PaperMGradNetM(d, max(8, ceil(d/31)+1), 32, two_sided=True)` (softmax/softmin modules), "
           "autodiff Jacobian, Adam 1e-2, no warm start, no clipping, no schedule"),
    Method("icnn", "ICNN semi-dual (W2GN)", "samples", "source and target samples only (a fresh batch of each per step, "
           "plus 20k of each for the start)",
           f"two ICNN potentials, cycle weight {CYCLE_WEIGHT:g}, Adam 1e-2 + cosine decay, Bures-map start"),
    Method("entropic", "entropic map (Sinkhorn)", "samples", "n source + n target samples",
           f"Pooladian & Niles-Weed; POT `sinkhorn_log`, eps = {EPS_SCALE:g} x mean cost"),
    Method("emd", "emd barycentric map (1-NN)", "samples", "n source + n target samples",
           "`ot.emd` plan, barycentric projection, out of sample by nearest training source point"),
    Method("affine", "affine (Bures) map, sample moments", "samples", "20k source + 20k target samples",
           "Gaussian OT map between the samples' means and covariances"),
    Method("affine-exact", "affine (Bures) map, exact moments", "reference", "the pair's own moments (not a method)",
           "`problem.affine_map`: the best affine map; how far from affine the pair is"),
]
BY_KEY = {m.key: m for m in METHODS}
NEURAL = [m.key for m in METHODS if m.key.startswith(("fit", "paper", "icnn"))]
SAMPLE_ONLY = [m.key for m in METHODS if m.kind == "samples"]
DEFAULTS = ("fit-C", "fit-M")


# ---------------------------------------------------------------------------------------------
# pairs
# ---------------------------------------------------------------------------------------------

class _WishartPair:
    """``gn.wishart_gaussian_problem`` with the attributes a teacher pair has (sanity check only)."""

    def __init__(self, d, seed):
        p = gn.wishart_gaussian_problem(d, seed=seed)
        self.source, self.target, self.true_map, self.target_var, self.dim = (
            p.source, p.target, p.true_map, p.target_var, d)
        self.affine_map = p.true_map


def make_pair(d, seed, pair="maxquad", source="gaussian", teacher_kwargs=None):
    if pair == "wishart":
        return _WishartPair(d, seed)
    if not hasattr(gn, "teacher_problem"):
        raise RuntimeError("gn.teacher_problem is not available in this gradnetot; use --pair wishart")
    return gn.teacher_problem(d, teacher=pair, source=source, seed=seed, **(teacher_kwargs or {}))


def parse_kwargs(text):
    """``"num_pieces=4,spread=0.5"`` -> ``{"num_pieces": 4, "spread": 0.5}`` (ints, floats, else strings)."""
    out = {}
    for item in filter(None, (t.strip() for t in (text or "").split(","))):
        if "=" not in item:
            raise SystemExit(f"--teacher-kwargs: expected key=value, got {item!r}")
        k, v = item.split("=", 1)
        for conv in (int, float):
            try:
                v = conv(v)
                break
            except ValueError:
                pass
        out[k.strip()] = v
    return out


def held_out_points(problem, seed, n=N_TEST):
    """The held-out points for (d, seed): drawn once, with their own generator, shared by every method."""
    g = torch.Generator().manual_seed(1_000_003 + seed)
    src = problem.source.to("cpu") if hasattr(problem.source, "to") else problem.source
    x = gn.sample_from(src, n, g).float()
    true = problem.true_map(x.double()).float()
    return x, true


def predict(T, x, chunk=4096):
    if isinstance(T, torch.nn.Module):
        T = T.to("cpu").eval()
    with torch.no_grad():
        return torch.cat([T(c).detach().float().cpu() for c in x.split(chunk)])


# ---------------------------------------------------------------------------------------------
# runners: each returns (callable map, wall seconds, steps taken)
# ---------------------------------------------------------------------------------------------

def _run_fit(key, problem, steps, batch, seed, device):
    d = problem.dim
    net = gn.MGradNetC if key.startswith("fit-C") else gn.MGradNetM
    torch.manual_seed(seed)
    model = net(d, strongly_convex=not key.endswith("nosc"))
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        gn.fit(model, problem.source, problem.target, steps=steps, batch_size=batch, device=device, seed=seed,
               progress=False, warm_start=False if key.endswith("nows") else "auto")
    return model, time.perf_counter() - t0, steps


def _run_paper(key, problem, steps, batch, seed, device):
    d = problem.dim
    torch.manual_seed(seed)
    model = (PaperMGradNetC(d, _paper_c_width(d), 3) if key == "paper-C"
             else PaperMGradNetM(d, _paper_m_modules(d), 32, two_sided=True))
    t0 = time.perf_counter()
    rec = Recipe(model, to_distribution(problem.source, device), to_distribution(problem.target, device),
                 batch_size=batch, lr=1e-2, device=device)
    rec.run(steps)
    if not all(math.isfinite(v) for v in rec.losses[-5:]):
        raise FloatingPointError("the recipe's loss became NaN/inf")
    return rec.model, time.perf_counter() - t0, steps


def _run_icnn(problem, steps, batch, seed, device):
    t0 = time.perf_counter()
    w = W2GN(problem.dim, problem.source, problem.target, batch_size=batch, seed=seed, steps=steps,
             warm_samples=WARM_SAMPLES)
    w.run(steps)
    return w.model, time.perf_counter() - t0, steps


def run_neural(key, problem, steps, batch, seed, device):
    if key.startswith("fit"):
        return _run_fit(key, problem, steps, batch, seed, device)
    if key.startswith("paper"):
        return _run_paper(key, problem, steps, batch, seed, device)
    if key == "icnn":
        return _run_icnn(problem, steps, batch, seed, device)
    raise ValueError(f"not a neural method: {key!r}")


def warm_up(neural, device):
    """A few untimed steps of every neural method on a small pair: one-time costs (lazy imports,
    allocator, first kernels) would otherwise land on whichever method runs first."""
    problem = _WishartPair(2, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for k in neural:
            try:
                run_neural(k, problem, 3, 32, 0, device)
            except Exception:  # noqa: BLE001 -- only a warm-up
                pass


def run_plain(key, problem, seed, n_samples, emd_max_n):
    """Non-neural methods: fitted once on samples (their own generator per seed)."""
    g = torch.Generator().manual_seed(7 + seed)
    t0 = time.perf_counter()
    if key == "affine-exact":
        return problem.affine_map, 0.0, None
    if key == "affine":
        T = affine_map(gn.sample_from(problem.source, WARM_SAMPLES, g), gn.sample_from(problem.target, WARM_SAMPLES, g))
    elif key in ("entropic", "emd"):
        n = n_samples if key == "entropic" else min(n_samples, emd_max_n)
        xs, xt = gn.sample_from(problem.source, n, g), gn.sample_from(problem.target, n, g)
        T = EntropicMap(xs, xt) if key == "entropic" else EmdMap(xs, xt)
    else:
        raise ValueError(f"not a sample-based method: {key!r}")
    return T, time.perf_counter() - t0, None


# ---------------------------------------------------------------------------------------------
# tables and winners (computed from the numbers)
# ---------------------------------------------------------------------------------------------

def summarize(values):
    """Per-seed values (float, or None for a failed run) -> (mean, spread, n_ok, n).

    The spread is the sample standard deviation over the seeds that ran (0 for one seed)."""
    ok = [v for v in values if v is not None and math.isfinite(v)]
    if not ok:
        return float("nan"), float("nan"), 0, len(values)
    mean = sum(ok) / len(ok)
    sd = math.sqrt(sum((v - mean) ** 2 for v in ok) / (len(ok) - 1)) if len(ok) > 1 else 0.0
    return mean, sd, len(ok), len(values)


def winners(table, dims, methods=None):
    """``table[method][d]`` = per-seed L2-UVP list -> ``{d: (method, mean)}``: the lowest mean among the
    methods (default: every method in the table) that ran on every seed at that d; ``None`` if none did."""
    out = {}
    for d in dims:
        best = None
        for m, row in table.items():
            if methods is not None and m not in methods:
                continue
            vals = row.get(d)
            if not vals:
                continue
            mean, _, n_ok, n = summarize(vals)
            if n_ok == n and (best is None or mean < best[1]):
                best = (m, mean)
        out[d] = best
    return out


def cell(values, fmt="{:.3g}"):
    if not values:
        return "-"
    mean, sd, n_ok, n = summarize(values)
    if n_ok == 0:
        return "failed"
    s = f"{fmt.format(mean)} ± {fmt.format(sd)}"
    return s if n_ok == n else f"{s} ({n - n_ok}/{n} failed)"


def winner_lines(table, dims, keys):
    """Lines that say who wins at each d, from the table."""
    lines = []
    best = winners(table, dims, [k for k in keys if k != "affine-exact"])
    best_sample = winners(table, dims, [k for k in keys if k in SAMPLE_ONLY])
    best_default = winners(table, dims, [k for k in keys if k in DEFAULTS])
    for d in dims:
        if best[d] is None:
            lines.append(f"- d={d}: no method ran on every seed")
            continue
        m, v = best[d]
        s = f"- d={d}: **{BY_KEY[m].label}** ({v:.3g} %)"
        if best_default[d] is not None:
            dm, dv = best_default[d]
            if best_sample[d] is not None:
                sm, sv = best_sample[d]
                s += (f"; best gn.fit default {BY_KEY[dm].label} {dv:.3g} % vs best sample-only "
                      f"{BY_KEY[sm].label} {sv:.3g} %: gn.fit default {'wins' if dv < sv else 'loses'}")
            aff = table.get("affine-exact", {}).get(d)
            if aff:
                am = summarize(aff)[0]
                s += f"; affine (exact moments) / best default = {am / dv:.3g}x" if dv > 0 else ""
        lines.append(s)
    return lines


def markdown_table(out, table, dims, keys, fmt="{:.3g}"):
    out("| method | " + " | ".join(f"d={d}" for d in dims) + " |")
    out("|---|" + "---|" * len(dims))
    for k in keys:
        if k in table:
            out(f"| {BY_KEY[k].label} | " + " | ".join(cell(table[k].get(d), fmt) for d in dims) + " |")


# ---------------------------------------------------------------------------------------------
# main
# ---------------------------------------------------------------------------------------------

FAST = dict(dims=[2], seeds=1, steps=30, batch=64, n_samples=256, time_cap=3.0)


def parse(argv):
    ap = argparse.ArgumentParser(description="L2-UVP on pairs with known non-affine maps: gn.fit vs baselines")
    ap.add_argument("--dims", type=int, nargs="+", default=list(DEFAULT_DIMS))
    ap.add_argument("--seeds", type=int, default=3, help="seeds 0 .. SEEDS-1 (pair, held-out points, training)")
    ap.add_argument("--pair", default="maxquad", help="teacher: maxquad | icnn | quadsoftplus, or wishart")
    ap.add_argument("--source", default="gaussian", choices=["gaussian", "mixture"])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--n-samples", type=int, default=2048, help="samples of each law for the entropic and emd maps")
    ap.add_argument("--emd-max-n", type=int, default=4096, help="emd runs on min(n-samples, this)")
    ap.add_argument("--budgets", default="steps,time", help="steps, time, or both")
    ap.add_argument("--methods", default=",".join(m.key for m in METHODS))
    ap.add_argument("--time-cap", type=float, default=10.0,
                    help="equal time: at most this many times the step budget for a fast method")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--fast", action="store_true", help="tiny smoke config: d=2, 1 seed, 30 steps, batch 64, n=256")
    ap.add_argument("--teacher-kwargs", default="",
                    help="extra gn.teacher_problem arguments, e.g. num_pieces=4,spread=0.5 (default: its defaults)")
    ap.add_argument("--note", default=None, help="one line for the report's header (e.g. that the machine was shared)")
    ap.add_argument("--out", default=None, help="also write the Markdown report here")
    ap.add_argument("--json", default=None, help="also write every per-seed number here")
    ap.add_argument("--merge", nargs="+", default=None, metavar="JSON",
                    help="run nothing: write one report from the --json files of runs that split the "
                         "dimensions between them (same pair, seeds, budget and methods)")
    args = ap.parse_args(argv)
    if args.merge:
        return _merge_args(ap, args)
    if args.fast:
        for k, v in FAST.items():
            setattr(args, k, v)
    keys = [k for k in args.methods.split(",") if k]
    bad = [k for k in keys if k not in BY_KEY]
    if bad:
        ap.error(f"unknown methods {bad}; choose from {[m.key for m in METHODS]}")
    args.keys = [m.key for m in METHODS if m.key in keys]  # table order
    args.budgets = [b for b in args.budgets.split(",") if b]
    if any(b not in ("steps", "time") for b in args.budgets):
        ap.error("--budgets takes steps and/or time")
    if "time" in args.budgets and not all(k in args.keys for k in DEFAULTS):
        ap.error("the equal-time budget needs both gn.fit defaults (fit-C, fit-M) in --methods")
    return args


_MERGE_SAME = ("seeds", "pair", "source", "steps", "batch", "n_samples", "emd_max_n", "budgets", "methods",
               "time_cap", "device", "teacher_kwargs")


def _command_of(saved):
    """The command line that reproduces one recorded run, from its --json ``args``."""
    parts = ["--dims", *map(str, saved["dims"]), "--seeds", str(saved["seeds"]), "--pair", saved["pair"],
             "--source", saved["source"], "--steps", str(saved["steps"]), "--batch", str(saved["batch"])]
    if saved.get("teacher_kwargs"):
        parts += ["--teacher-kwargs", saved["teacher_kwargs"]]
    if saved.get("threads"):
        parts += ["--threads", str(saved["threads"])]
    if saved.get("device", "cpu") != "cpu":
        parts += ["--device", saved["device"]]
    return "python benchmarks/known_maps.py " + " ".join(parts)


def _merge_args(ap, args):
    """``--merge``: load the recorded runs, check that they agree, and return args describing them."""
    runs = []
    for path in args.merge:
        try:
            with open(path) as fh:
                runs.append(json.load(fh))
        except (OSError, ValueError) as exc:
            ap.error(f"--merge: cannot read {path}: {exc}")
    first = runs[0]["args"]
    for path, run_ in zip(args.merge, runs):
        diff = [k for k in _MERGE_SAME if run_["args"].get(k) != first.get(k)]
        if diff:
            ap.error(f"--merge: {path} differs from {args.merge[0]} in {diff}")
    dims = [d for r in runs for d in r["args"]["dims"]]
    if len(set(dims)) != len(dims):
        ap.error(f"--merge: a dimension appears in more than one file ({sorted(dims)})")
    merged = argparse.Namespace(**{**first, "dims": sorted(dims), "merge": args.merge, "out": args.out,
                                   "json": args.json, "note": args.note or first.get("note")})
    merged.runs = runs
    return merged


def _git_head():
    import subprocess
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=os.path.dirname(os.path.abspath(__file__))).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run(argv=None):
    """Run the benchmark; returns ``(results, args)`` with ``results[budget][method][d]`` per-seed lists."""
    args = parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda but CUDA is not available")
    dims, seeds = args.dims, list(range(args.seeds))
    out = Report()
    pair_name = "Gaussian pairs (wishart)" if args.pair == "wishart" else f"teacher `{args.pair}`, {args.source} source"
    out.header(f"Known maps: L2-UVP (%) on {pair_name}", "benchmarks/known_maps.py", argv, args.device)
    if getattr(args, "merge", None):
        out("- merged from runs that split the dimensions (the date and machine above are the merge's; each run "
            "printed its own):")
        for path, run_ in zip(args.merge, args.runs):
            out(f"  - `{_command_of(run_['args'])}` (d = {', '.join(map(str, run_['args']['dims']))}; "
                f"recorded in `{os.path.basename(path)}`)")
    out(f"- budget: {args.steps} steps x batch {args.batch} (equal steps); equal time = the slower gn.fit "
        f"default's wall time, in steps per method (cap {args.time_cap:g}x); seeds {seeds}; "
        f"{N_TEST} held-out points per (d, seed); entropic n = {args.n_samples}, "
        f"emd n = {min(args.n_samples, args.emd_max_n)}")
    teacher_kwargs = parse_kwargs(args.teacher_kwargs)
    if args.pair != "wishart":
        out(f"- pair: gn.teacher_problem(d, teacher={args.pair!r}, source={args.source!r}, seed=s"
            + "".join(f", {k}={v!r}" for k, v in teacher_kwargs.items()) + ")")
    out("- L2-UVP = 100 E|T(x) - grad phi(x)|^2 / Var(target); cells are mean ± sample std over seeds")
    out(f"- code: git {_git_head()}")
    if args.note:
        out(f"- note: {args.note}")
    out()
    out("## What each method is allowed to know")
    out()
    out("| method | kind | knows | what |")
    out("|---|---|---|---|")
    for k in args.keys:
        m = BY_KEY[k]
        out(f"| {m.label} | {m.kind} | {m.knows} | {m.what} |")
    out()

    res = {b: {k: {} for k in args.keys} for b in args.budgets}
    wall = {b: {k: {} for k in args.keys} for b in args.budgets}
    steps_taken = {k: {} for k in args.keys}
    notes = []
    neural = [k for k in args.keys if k in NEURAL]
    plain = [k for k in args.keys if k not in NEURAL]

    def record(budget, k, d, uvp, w):
        res[budget][k].setdefault(d, []).append(uvp)
        wall[budget][k].setdefault(d, []).append(w)

    titles = {"steps": f"Equal steps ({args.steps} x batch {args.batch})",
              "time": "Equal wall-clock time (the slower gn.fit default's time)"}

    def results_section(out, dims):
        for b in args.budgets:
            out(f"## {titles[b]}: L2-UVP (%)")
            out()
            markdown_table(out, res[b], dims, args.keys)
            out()
            out("Who wins (lowest mean L2-UVP among methods that ran on every seed; the exact-moment affine map "
                "is a reference, not a contender):")
            out()
            for line in winner_lines(res[b], dims, args.keys):
                out(line)
            out()
            out(f"Wall time per run (s), {b} budget:")
            out()
            markdown_table(out, wall[b], dims, [k for k in args.keys if k != "affine-exact"], fmt="{:.1f}")
            out()
        if "time" in args.budgets:
            out("Steps taken in the equal-time budget:")
            out()
            markdown_table(out, {k: v for k, v in steps_taken.items() if k in neural}, dims, neural, fmt="{:.0f}")
            out()
        if notes:
            out("## Failed runs")
            out()
            for n in notes:
                out(f"- {n}")
            out()

    def dump_json():
        if args.json:
            with open(args.json, "w") as fh:
                json.dump({"args": {k: v for k, v in vars(args).items() if k != "runs"}, "l2_uvp": res, "wall_s": wall,
                           "steps_equal_time": steps_taken, "notes": notes}, fh, indent=1)

    def partial(dims_done):
        """Write what is done so far (a long run that is stopped keeps its finished dimensions)."""
        if args.out and dims_done != dims:
            part = Report(quiet=True)
            part.lines = list(out.lines) + [f"_(partial: d = {', '.join(map(str, dims_done))} done)_", ""]
            results_section(part, dims_done)
            part.write(args.out)
        dump_json()

    if getattr(args, "merge", None):
        for run_ in args.runs:
            for b in args.budgets:
                for k in args.keys:
                    for d, v in run_["l2_uvp"][b].get(k, {}).items():
                        res[b][k][int(d)] = v
                    for d, v in run_["wall_s"][b].get(k, {}).items():
                        wall[b][k][int(d)] = v
            for k in neural:
                for d, v in run_["steps_equal_time"].get(k, {}).items():
                    steps_taken[k][int(d)] = v
            notes.extend(run_["notes"])
        dims = []  # nothing to run
    else:
        warm_up(neural, args.device)
    for d in dims:
        for seed in seeds:
            problem = make_pair(d, seed, args.pair, args.source, teacher_kwargs)
            x_test, true = held_out_points(problem, seed)
            tv = problem.target_var

            def score(T):
                return gn.l2_uvp(predict(T, x_test), true, tv)

            per_step = {}
            for k in neural:
                try:
                    T, w, _ = run_neural(k, problem, args.steps, args.batch, seed, args.device)
                    u = score(T)
                    per_step[k] = w / args.steps
                except Exception as exc:  # noqa: BLE001 -- record and go on
                    u, w = None, float("nan")
                    notes.append(f"d={d} seed={seed} {k} (equal steps): {type(exc).__name__}: {str(exc)[:120]}")
                if "steps" in args.budgets:
                    record("steps", k, d, u, w)
                if "time" in args.budgets:
                    record("time", k, d, u, w)  # replaced below when the step count differs
                print(f"  d={d} seed={seed} {k}: {'failed' if u is None else f'{u:.4g} %'} in {w:.1f} s", flush=True)
            for k in plain:
                try:
                    T, w, _ = run_plain(k, problem, seed, args.n_samples, args.emd_max_n)
                    u = score(T)
                except Exception as exc:  # noqa: BLE001
                    u, w = None, float("nan")
                    notes.append(f"d={d} seed={seed} {k}: {type(exc).__name__}: {str(exc)[:120]}")
                for b in args.budgets:
                    record(b, k, d, u, w)
                print(f"  d={d} seed={seed} {k}: {'failed' if u is None else f'{u:.4g} %'} in {w:.1f} s", flush=True)

            if "time" not in args.budgets:
                continue
            budget_s = max((per_step[k] * args.steps for k in DEFAULTS if k in per_step), default=None)
            for k in neural:
                if budget_s is None or k not in per_step:
                    steps_taken[k].setdefault(d, []).append(None)
                    continue
                n_steps = max(1, min(int(args.time_cap * args.steps), round(budget_s / per_step[k])))
                steps_taken[k].setdefault(d, []).append(n_steps)
                if abs(n_steps - args.steps) <= 0.1 * args.steps:
                    continue  # the equal-steps run is the equal-time run
                try:
                    T, w, _ = run_neural(k, problem, n_steps, args.batch, seed, args.device)
                    u = score(T)
                except Exception as exc:  # noqa: BLE001
                    u, w = None, float("nan")
                    notes.append(f"d={d} seed={seed} {k} (equal time, {n_steps} steps): {type(exc).__name__}: "
                                 f"{str(exc)[:120]}")
                res["time"][k][d][-1], wall["time"][k][d][-1] = u, w
                print(f"  d={d} seed={seed} {k} equal time ({n_steps} steps): "
                      f"{'failed' if u is None else f'{u:.4g} %'} in {w:.1f} s", flush=True)
        partial(dims[:dims.index(d) + 1])

    if getattr(args, "merge", None):
        dims = args.dims
    results_section(out, dims)
    out.write(args.out)
    dump_json()
    return res, args, out


def main(argv=None):
    run(argv)


if __name__ == "__main__":
    main()
