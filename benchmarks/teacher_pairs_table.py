"""How far from affine the teacher pairs are, and what their target density costs.

    python benchmarks/teacher_pairs_table.py --out benchmarks/results/teacher_pairs.md

For each teacher (``maxquad``, ``icnn``, ``quadsoftplus``), source (``gaussian``,
``mixture``) and dimension, ``gn.teacher_problem(d, teacher, source, seed=0)`` with its
default scales: the affine (Bures) map's L2-UVP (%) on the pair's held-out points, and the
target's total variance. With ``--timing``: the cost of ``target.log_prob`` on a batch of
512 target points (value only; value + backward), the solver's chord and Newton step
counts on that batch, and for scale one training step of ``gn.fit`` with ``MGradNetM(d)``
on a Gaussian target (``log q`` in closed form) at the same batch, so the difference is
what the Newton solve adds to a step.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import gradnetot as gn  # noqa: E402
from benchmarks._report import Report  # noqa: E402


def _ms(f, reps):
    f()
    t = time.perf_counter()
    for _ in range(reps):
        f()
    return 1e3 * (time.perf_counter() - t) / reps


def timing(pb, batch=512, reps=5):
    tgt = pb.target
    y = tgt.sample(batch, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        val = _ms(lambda: tgt.log_prob(y), reps)
    chords, newton = tgt.last_chord_steps, tgt.last_iterations

    def with_grad():
        yv = y.clone().requires_grad_(True)
        tgt.log_prob(yv).sum().backward()

    grad = _ms(with_grad, reps)
    d = pb.dim
    model = gn.MGradNetM(d)
    g = gn.Gaussian(torch.zeros(d), torch.eye(d))
    res = gn.fit(model, g, gn.Gaussian(torch.zeros(d), 2.0 * torch.eye(d)), steps=4 * reps, batch_size=batch,
                 device="cpu", seed=0, progress=False)
    return val, grad, chords, newton, 1e3 * res.time_per_step


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dims", default="2,4,8,16,32,64")
    ap.add_argument("--teachers", default="maxquad,icnn,quadsoftplus")
    ap.add_argument("--sources", default="gaussian,mixture")
    ap.add_argument("--timing", action="store_true", help="also time log_prob (Gaussian source only)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    dims = [int(x) for x in args.dims.split(",")]
    rep = Report()
    rep.header("Teacher pairs: distance from affine and cost of the target density",
               "benchmarks/teacher_pairs_table.py", argv, "cpu")
    rep("- pairs: `gn.teacher_problem(d, teacher, source, seed=0)` with default scales; affine = the Bures map "
        "between the source's and the target's moments (200 000 fixed-seed samples); L2-UVP (%) on 10 000 "
        "held-out source points")
    rep("- the machine was shared with other jobs (2 cores): times are indicative only")
    rep()
    rep("| teacher | source | " + " | ".join(f"d={d}" for d in dims) + " |")
    rep("|---|---|" + "---|" * len(dims))
    timings = []
    for t in args.teachers.split(","):
        for s in args.sources.split(","):
            cells = []
            for d in dims:
                pb = gn.teacher_problem(d, teacher=t, source=s, seed=0)
                cells.append(f"{pb.affine_l2_uvp:.2f}")
                if args.timing and s == "gaussian":
                    timings.append((t, d, pb.target_var) + timing(pb))
            rep(f"| {t} | {s} | " + " | ".join(cells) + " |")
    if timings:
        rep()
        rep("Cost of `target.log_prob` on 512 points (ms, 1 thread), Gaussian source; the solver's chord "
            "and Newton step counts on that batch; one `gn.fit` step of `MGradNetM(d)` at batch 512 with a "
            "closed-form Gaussian target, for scale:")
        rep()
        rep("| teacher | d | target var | log_prob (ms) | log_prob + backward (ms) | chord steps | Newton steps "
            "| gn.fit step, Gaussian target (ms) |")
        rep("|---|---|---|---|---|---|---|---|")
        for t, d, var, val, grad, ch, nw, step in timings:
            rep(f"| {t} | {d} | {var:.1f} | {val:.1f} | {grad:.1f} | {ch} | {nw} | {step:.1f} |")
    rep.write(args.out)


if __name__ == "__main__":
    main()
