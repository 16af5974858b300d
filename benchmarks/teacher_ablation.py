"""Why do ``gn.fit``'s defaults lose to the affine map on non-affine pairs? An ablation.

    python benchmarks/teacher_ablation.py --dim 16 --steps 600 --batch 512 --jobs 2 \\
        --out benchmarks/results/teacher_ablation.md
    python benchmarks/teacher_ablation.py --suite gaussian --dims 2,8,16 --configs M:defaults,M:new

Pair: ``gn.teacher_problem(dim, teacher, source)`` (default: the smooth maximum of
quadratics, Gaussian source), whose Brenier map is known. Every row trains one model from
the same seed on the same pair, and reports the L2-UVP (%) on the pair's 10 000 held-out
points at a few checkpoints and at the end, with the wall time. ``--suite gaussian`` runs
the chosen configs on ``gn.wishart_gaussian_problem(d)`` instead (the check that a change
of defaults does not hurt the Gaussian pairs).

Configs are ``NET:NAME`` (NET = M for ``MGradNetM(d)``, C for ``MGradNetC(d)``), where NAME
is one of ``CONFIGS`` below (keyword arguments of ``gn.fit``, plus a few model-side
switches), or ``recipe`` (``benchmarks/paper_recipe.py``: the paper's plain mGradNet-M 8x32
or -C 32x3, autodiff Jacobian, Adam 1e-2, no schedule, no clipping, no warm start).
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gradnetot as gn  # noqa: E402
from benchmarks._report import Report  # noqa: E402

# name -> (gn.fit keyword arguments, model-side options). Every config but "defaults" starts
# from the defaults this ablation was run against (OLD: lr 1e-2, cosine to 1 % of it), so
# that the recorded tables stay reproducible after the change of defaults it led to.
OLD = {"lr": 1e-2, "final_lr": 0.01}
CONFIGS = {
    "defaults": ({}, {}),  # gn.fit's current defaults
    "old-defaults": ({}, {}),
    "no-warm": ({"warm_start": False}, {}),
    "no-clip": ({"clip_grad": None}, {}),
    "clip10": ({"clip_grad": 10.0}, {}),
    "no-warm,no-clip": ({"warm_start": False, "clip_grad": None}, {}),
    "no-warm,no-clip,no-sc": ({"warm_start": False, "clip_grad": None}, {"strongly_convex": False}),
    "const-lr": ({"warmup": 0.0, "final_lr": 1.0}, {}),
    "no-warm,const-lr": ({"warm_start": False, "warmup": 0.0, "final_lr": 1.0}, {}),
    "lr3e-3": ({"lr": 3e-3}, {}),
    "lr3e-2": ({"lr": 3e-2}, {}),
    "nl-scale1": ({}, {"nonlinear_scale": 1.0}),
    "nl-scale1,no-clip": ({"clip_grad": None}, {"nonlinear_scale": 1.0}),
    "no-sc": ({}, {"strongly_convex": False}),
    "final-lr0.1": ({"final_lr": 0.1}, {}),
    "lr3e-2,nl-scale1": ({"lr": 3e-2}, {"nonlinear_scale": 1.0}),
    "lr3e-2,final-lr0.0033": ({"lr": 3e-2, "final_lr": 1 / 300}, {}),
    "const-lr,nl-scale1": ({"warmup": 0.0, "final_lr": 1.0}, {"nonlinear_scale": 1.0}),
    "final-lr0.1,nl-scale1": ({"final_lr": 0.1}, {"nonlinear_scale": 1.0}),
    "no-whiten": ({}, {"whiten": False}),
    "p2": ({"p": 2}, {}),
    "modules16": ({}, {"num_modules": 16}),   # M only: 16 modules (the default since these runs)
    "modules8": ({}, {"num_modules": 8}),     # M only: 8 modules (the default when the budget runs were recorded)
    "embed64": ({}, {"embed_dim": 64}),       # M: 64 units per module; C: a 64 -> 128 wide embedding
}


def make_model(net, d, opts):
    kw = {k: opts[k] for k in ("strongly_convex", "num_modules") if k in opts}
    if "embed_dim" in opts:
        kw["embed_dim"] = opts["embed_dim"] if net == "M" else 2 * opts["embed_dim"]
    if net != "M" and "num_modules" in kw:
        raise ValueError("modules8/modules16 are mGradNet-M options")
    return gn.MGradNetM(d, **kw) if net == "M" else gn.MGradNetC(d, **kw)


def run_fit(problem, net, name, steps, batch, seed, every):
    fit_kw, opts = CONFIGS[name]
    fit_kw = fit_kw if name == "defaults" else {**OLD, **fit_kw}
    torch.manual_seed(seed)
    model = make_model(net, problem.dim, opts)
    fit_kw = dict(fit_kw)
    if "nonlinear_scale" in opts or "whiten" in opts:
        # the warm start by hand, with the model-side switch, then fit without another one
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            xs, xt = problem.source.sample(20_000, generator=g), problem.target.sample(20_000, generator=g)
            model.warm_start(xs, xt, nonlinear_scale=opts.get("nonlinear_scale", 0.1))
            if opts.get("whiten") is False:
                model.in_shift.zero_()
                model.in_precond.copy_(torch.eye(problem.dim))
        fit_kw["warm_start"] = False
    curve = []

    def cb(k, m):
        if k % every == 0 or k == steps:
            curve.append((k, problem.l2_uvp(m)))

    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = gn.fit(model, copy.deepcopy(problem.source), copy.deepcopy(problem.target), steps=steps,
                     batch_size=batch, device="cpu", seed=seed, progress=False, check_every=every,
                     callback=cb, **fit_kw)
    return curve, res.wall_time, res.final_loss


def run_recipe(problem, net, steps, batch, seed, every):
    from benchmarks.paper_recipe import PaperMGradNetC, PaperMGradNetM, Recipe, to_distribution

    torch.manual_seed(seed)
    model = PaperMGradNetM(problem.dim, 8, 32) if net == "M" else PaperMGradNetC(problem.dim, 32, 3)
    rec = Recipe(model, to_distribution(problem.source), to_distribution(problem.target), batch_size=batch)
    curve = []
    wall = rec.run(steps, callback=lambda k, m: curve.append((k, problem.l2_uvp(m))), every=every)
    if not curve or curve[-1][0] != steps:
        curve.append((steps, problem.l2_uvp(rec.model)))
    tail = rec.losses[-max(1, len(rec.losses) // 20):]
    return curve, wall, sum(tail) / len(tail)


_PROBLEMS = {}


def get_problem(suite, d, teacher, source, seed, tkw):
    key = (suite, d, teacher, source, seed, tkw)
    if key not in _PROBLEMS:
        if suite == "gaussian":
            _PROBLEMS[key] = gn.wishart_gaussian_problem(d, seed=seed)
        else:
            _PROBLEMS[key] = gn.teacher_problem(d, teacher=teacher, source=source, seed=seed, **json.loads(tkw))
    return _PROBLEMS[key]


def job(args):
    suite, d, teacher, source, pseed, tkw, cfg, steps, batch, seed, every = args
    torch.set_num_threads(1)
    pb = get_problem(suite, d, teacher, source, pseed, tkw)
    net, name = cfg.split(":", 1)
    if name == "recipe":
        curve, wall, loss = run_recipe(pb, net, steps, batch, seed, every)
    else:
        curve, wall, loss = run_fit(pb, net, name, steps, batch, seed, every)
    aff = getattr(pb, "affine_l2_uvp", float("nan"))
    print(f"[done] d={d} {cfg}: " + " ".join(f"{k}:{v:.2f}" for k, v in curve) + f" ({wall:.0f} s)",
          file=sys.stderr, flush=True)
    return d, cfg, curve, wall, loss, aff


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--suite", default="teacher", choices=["teacher", "gaussian"])
    ap.add_argument("--dims", "--dim", default="16")
    ap.add_argument("--teacher", default="maxquad")
    ap.add_argument("--source", default="gaussian")
    ap.add_argument("--problem-seed", type=int, default=0)
    ap.add_argument("--teacher-kwargs", default="{}", help="JSON dict of teacher keyword arguments")
    ap.add_argument("--steps", type=int, default=600)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", type=int, default=None,
                    help="run seeds 0..SEEDS-1, each with its own pair (problem seed = training seed = s); "
                         "cells are then means over seeds, with the per-seed final values in a last column")
    ap.add_argument("--every", type=int, default=None, help="L2-UVP checkpoint interval (default steps/4)")
    ap.add_argument("--configs", default="M:defaults,M:no-warm,M:no-clip,M:no-warm,no-clip,M:recipe")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--json", default=None, help="also write every row (per seed) here, for pages that read it")
    args = ap.parse_args(argv)
    every = args.every or max(1, args.steps // 4)
    # configs: split on ",N:" boundaries so that names may contain commas
    cfgs, cur = [], None
    for part in args.configs.split(","):
        if len(part) > 2 and part[1] == ":" and part[0] in "MC":
            cur = part
            cfgs.append(cur)
        else:
            cfgs[-1] = cfgs[-1] + "," + part
    for c in cfgs:
        net, name = c.split(":", 1)
        if name != "recipe" and name not in CONFIGS:
            raise SystemExit(f"unknown config {c!r}; known: {sorted(CONFIGS)} and recipe")
    dims = [int(x) for x in args.dims.split(",")]
    seeds = [(args.problem_seed, args.seed)] if args.seeds is None else [(s, s) for s in range(args.seeds)]
    tasks = [(args.suite, d, args.teacher, args.source, ps, args.teacher_kwargs, c, args.steps, args.batch, ts,
              every) for d in dims for c in cfgs for ps, ts in seeds]
    rep = Report()
    pseed = "s" if args.seeds is not None else args.problem_seed
    pair = (f"gn.wishart_gaussian_problem(d, seed={pseed})" if args.suite == "gaussian" else
            f"gn.teacher_problem(d, teacher={args.teacher!r}, source={args.source!r}, seed={pseed}"
            + "".join(f", {k}={v!r}" for k, v in json.loads(args.teacher_kwargs).items()) + ")")
    rep.header("Teacher-pair ablation of gn.fit's defaults", "benchmarks/teacher_ablation.py", argv, "cpu")
    which = (f"training seed {args.seed}" if args.seeds is None else
             f"seeds s = 0..{args.seeds - 1} (pair and training), cells are means over seeds")
    rep(f"- pair: `{pair}`; {args.steps} steps x batch {args.batch}, {which}; "
        f"L2-UVP (%) on the pair's 10 000 held-out points")
    m_def, c_def = gn.MGradNetM(2), gn.MGradNetC(2)
    rep(f"- M = `gn.MGradNetM(d)` ({m_def.num_modules} modules x {m_def.embed_dim}), C = `gn.MGradNetC(d)` "
        f"({c_def.embed_dim} x {c_def.num_layers} layers); "
        "recipe = benchmarks/paper_recipe.py (plain net, Adam 1e-2, no schedule/clip/warm start); "
        "every config but `defaults` starts from lr 1e-2, final_lr 0.01 (`old-defaults`)")
    rep("- the machine was shared with other jobs (2 cores): wall times are indicative only")
    rep()
    if args.jobs > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(args.jobs) as pool:
            results = pool.map(job, tasks, chunksize=1)
    else:
        results = [job(t) for t in tasks]
    def mean(v):
        return sum(v) / len(v)

    for d in dims:
        rows = [r for r in results if r[0] == d]
        affs = [r[5] for r in rows if r[1] == cfgs[0] and r[5] == r[5]]  # one per seed's pair
        aff = mean(affs) if affs else float("nan")
        multi = args.seeds is not None
        rep(f"## d = {d}" + (f" (affine map: {aff:.2f} %" + (" mean over the seeds' pairs" if multi else "") + ")"
                             if aff == aff else ""))
        rep()
        ks = [k for k, _ in rows[0][2]]
        rep("| config | " + " | ".join(f"step {k}" for k in ks) + " | final loss | wall (s) |"
            + (" final, per seed |" if multi else ""))
        rep("|---|" + "---|" * (len(ks) + 2 + multi))
        for cfg in cfgs:
            group = [r for r in rows if r[1] == cfg]
            curves = [dict(r[2]) for r in group]
            cells = [f"{mean([c[k] for c in curves]):.3g}" if all(k in c for c in curves) else "" for k in ks]
            line = (f"| {cfg} | " + " | ".join(cells) + f" | {mean([r[4] for r in group]):.3f} "
                    f"| {mean([r[3] for r in group]):.0f} |")
            if multi:
                line += " " + ", ".join(f"{r[2][-1][1]:.3g}" for r in group) + " |"
            rep(line)
        rep()
    rep.write(args.out)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"args": vars(args), "rows": [
                {"d": r[0], "config": r[1], "seed": t[9], "problem_seed": t[4], "curve": r[2], "wall_s": r[3],
                 "final_loss": r[4], "affine_l2_uvp": r[5]} for r, t in zip(results, tasks)]}, fh, indent=1)


if __name__ == "__main__":
    main()
