"""Accuracy on the paper's high-dimensional Gaussians: L2-UVP (%) vs the closed-form map.

    python benchmarks/high_dim_gaussians.py --dims 2,4,8 --out results.md
    python benchmarks/high_dim_gaussians.py --device cuda           # all dims 2..128

Problem (``gn.wishart_gaussian_problem(d)``): source N(mu, Sigma), mu ~ randn(d),
Sigma ~ Wishart(d+1, I); target N(0, I); map Sigma^{-1/2}(x - mu).

Rows, each at the paper's budget (1000 steps, batch 1000, Adam lr 1e-2):

* ``gn.fit`` defaults: ``MGradNetC(d)`` / ``MGradNetM(d)`` with their default sizes,
  ``gn.fit(model, src, tgt, steps=1000, seed=0)`` (warm start, schedule, clipping on);
* the same with ``warm_start=False`` (an honest ablation: no moment-matched start);
* the recipe (``benchmarks/paper_recipe.py``): the paper's plain nets (width 32:
  mGradNet-C with 32 units, mGradNet-M with 8 modules x 32), autodiff Jacobian,
  constant lr, no warm start; run for d <= ``--recipe-max-dim``.

L2-UVP is measured on 10 000 fresh source samples (``problem.l2_uvp``).
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import time
import warnings

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gradnetot as gn  # noqa: E402
from benchmarks._report import Report  # noqa: E402
from benchmarks.paper_recipe import PaperMGradNetC, PaperMGradNetM, Recipe, to_distribution  # noqa: E402

NETS = {
    "mGradNet-C": (lambda d: gn.MGradNetC(d), lambda d: PaperMGradNetC(d, 32, 3)),
    "mGradNet-M": (lambda d: gn.MGradNetM(d), lambda d: PaperMGradNetM(d, 8, 32)),
}


def run_fit(problem, net, device, steps, batch, seed, warm_start):
    torch.manual_seed(seed)
    model = NETS[net][0](problem.dim)
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # copies: problem.l2_uvp moves problem.source to the CPU in place
        gn.fit(model, copy.deepcopy(problem.source), copy.deepcopy(problem.target), steps=steps,
               batch_size=batch, device=device, seed=seed, progress=False, warm_start=warm_start)
    wall = time.perf_counter() - t
    return problem.l2_uvp(model), wall


def run_recipe(problem, net, device, steps, batch, seed):
    torch.manual_seed(seed)
    rec = Recipe(NETS[net][1](problem.dim), to_distribution(problem.source, device),
                 to_distribution(problem.target, device), batch_size=batch, device=device)
    wall = rec.run(steps)
    return problem.l2_uvp(rec.model), wall




def main(argv=None):
    ap = argparse.ArgumentParser(description="L2-UVP on the paper's high-dimensional Gaussians")
    ap.add_argument("--dims", default="2,4,8,16,32,64,128")
    ap.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--nets", default="mGradNet-C,mGradNet-M")
    ap.add_argument("--paths", default="defaults,ablation,recipe",
                    help="which rows: defaults (gn.fit), ablation (warm_start=False), recipe")
    ap.add_argument("--recipe-max-dim", type=int, default=None,
                    help="run the recipe for d <= this (default 8 on CPU, 128 on CUDA; 0 = never)")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default=None, help="also write the Markdown to this file")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.device == "cuda" and not torch.cuda.is_available():
        sys.exit("--device cuda but CUDA is not available")
    dims = [int(x) for x in args.dims.split(",") if x]
    nets = [n for n in args.nets.split(",") if n]
    rmax = args.recipe_max_dim if args.recipe_max_dim is not None else (128 if args.device == "cuda" else 8)

    paths = set(args.paths.split(","))
    variants = []
    if "defaults" in paths:
        variants.append(("gn.fit defaults", dict(warm_start="auto")))
    if "ablation" in paths:
        variants.append(("gn.fit warm_start=False", dict(warm_start=False)))
    if "recipe" in paths:
        variants.append(("paper recipe", None))

    uvp, wall = {}, {}
    out = Report()
    out.header("L2-UVP (%) on the paper's high-dimensional Gaussians", "benchmarks/high_dim_gaussians.py", argv, args.device)
    out(f"- budget: {args.steps} steps, batch {args.batch}, seed {args.seed}; recipe for d <= {rmax}")
    out()
    for d in dims:
        problem = gn.wishart_gaussian_problem(d)
        for net in nets:
            for name, kw in variants:
                key = (net, name, d)
                try:
                    if kw is None:
                        if d > rmax:
                            continue
                        uvp[key], wall[key] = run_recipe(problem, net, args.device, args.steps, args.batch, args.seed)
                    else:
                        uvp[key], wall[key] = run_fit(problem, net, args.device, args.steps, args.batch, args.seed,
                                                      kw["warm_start"])
                except Exception as exc:  # record and go on
                    uvp[key], wall[key] = f"failed ({type(exc).__name__})", float("nan")
                v = uvp[key]
                print(f"  d={d} {net} {name}: L2-UVP {v if isinstance(v, str) else f'{v:.3g}'} % "
                      f"in {wall[key]:.1f} s", flush=True)

    def table(title, values, fmt):
        """One row per (net, path), one column per d; "-" where it did not run, text where it failed."""
        out()
        out(f"## {title}")
        out()
        out("| net | path | " + " | ".join(f"d={d}" for d in dims) + " |")
        out("|---|---|" + "---|" * len(dims))
        for net in nets:
            for name, _ in variants:
                row = [values.get((net, name, d), "-") for d in dims]
                out(f"| {net} | {name} | " + " | ".join(v if isinstance(v, str) else fmt(v) for v in row) + " |")

    table("L2-UVP (%)", uvp, lambda v: f"{v:.3g}")
    table("Wall time per run (s)", wall, lambda v: f"{v:.1f}")
    out()
    out.write(args.out)


if __name__ == "__main__":
    main()
