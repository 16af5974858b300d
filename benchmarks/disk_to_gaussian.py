"""Non-Gaussian accuracy check: uniform disk -> standard normal in 2-D (radial closed-form map).

Compares ``gn.fit`` defaults with the paper's recipe (``benchmarks/paper_recipe.py``) at the
same budget (steps, batch 1000), over several seeds. The error is the L2-UVP (%) against
``gn.disk_to_gaussian_map`` on fresh points of the *sharp* unit disk (the closed form is for
the sharp disk; the training density has a smoothed edge of width 0.01, so points in that thin
band outside the disk have no closed-form image and are left out of the score).

    python benchmarks/disk_to_gaussian.py [--steps 1000] [--seeds 0 1 2] [--out FILE]
"""
from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gradnetot as gn  # noqa: E402
from benchmarks._report import Report  # noqa: E402
from benchmarks.paper_recipe import PaperMGradNetC, PaperMGradNetM, Recipe, to_distribution  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    dev = gn.resolve_device(args.device)

    src = gn.UniformShape("disk", radius=1.0)
    tgt = gn.Gaussian(torch.zeros(2), torch.eye(2))
    g = torch.Generator().manual_seed(12345)
    pts = torch.rand(40_000, 2, generator=g) * 2 - 1
    x_eval = pts[pts.norm(dim=1) < 1.0][:20_000]
    true = gn.disk_to_gaussian_map(x_eval)

    def score(model):
        model.eval()
        with torch.no_grad():
            pred = model(x_eval.to(dev)).cpu()
        return gn.l2_uvp(pred, true, 2.0)

    rows = {}
    for seed in args.seeds:
        for name, make in [("mGradNet-M", lambda: PaperMGradNetM(2, 4, 32)),
                           ("mGradNet-C", lambda: PaperMGradNetC(2, 32, 3))]:
            torch.manual_seed(seed)
            rec = Recipe(make(), to_distribution(src, dev), to_distribution(tgt, dev), batch_size=args.batch,
                         device=dev)
            t = rec.run(args.steps)
            rows.setdefault((name, "paper recipe"), []).append((score(rec.model), t))
        for name, make in [("mGradNet-M", lambda: gn.MGradNetM(2)), ("mGradNet-C", lambda: gn.MGradNetC(2))]:
            torch.manual_seed(seed)
            model = make()
            res = gn.fit(model, src, tgt, steps=args.steps, batch_size=args.batch, seed=seed, device=dev,
                         progress=False)
            rows.setdefault((name, "gn.fit defaults"), []).append((score(model), res.wall_time))
        print(f"seed {seed} done", file=sys.stderr, flush=True)

    out = Report()
    out.header("Disk -> N(0, I), 2-D: L2-UVP (%) vs the radial closed form", "benchmarks/disk_to_gaussian.py",
               argv, dev)
    out()
    out("| net | method | L2-UVP % (mean over seeds) | per seed | wall time per run (s) |")
    out("|---|---|---|---|---|")
    for (net, method), vals in rows.items():
        uvps = [v[0] for v in vals]
        times = [v[1] for v in vals]
        out(f"| {net} | {method} | {np.mean(uvps):.4f} | {', '.join(f'{u:.4f}' for u in uvps)} | "
            f"{np.mean(times):.1f} |")
    if args.out:
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    out.write(args.out)

if __name__ == "__main__":
    main()
