"""Data-parallel scaling of ``gn.fit`` under ``torchrun``: samples/s at 1, 2, ... processes.

    python benchmarks/ddp_scaling.py                          # CPU: gloo, world sizes 1 and 2
    python benchmarks/ddp_scaling.py --quick                  # short smoke run
    python benchmarks/ddp_scaling.py --out benchmarks/results/cpu_ddp_scaling.md
    python benchmarks/ddp_scaling.py --device cuda            # NCCL, 1, 2, 4, ... up to every visible GPU

Weak scaling: every process keeps the same per-rank batch, so a step at world size ``W`` trains
on ``W`` times as many samples. For each world size the script starts
``python -m torch.distributed.run --standalone --nproc_per_node=W`` (that is ``torchrun``; the
standalone rendezvous picks a free port) on this same file in worker mode. Each worker calls
``gn.distributed.init()`` (gloo on a CPU, NCCL with one GPU per rank) and one ``gn.fit``, which
runs as DDP; rank 0 reads the clock every ``block`` steps through fit's callback. The first block
is a warm-up and is dropped; the table shows the median block.

``efficiency = samples/s at W / (W * samples/s at 1)``: 100 % is perfect scaling. On a CPU every
rank gets ``--threads`` torch threads (1 by default), so W processes use W cores; a machine with
fewer free cores than W processes cannot scale, and a shared machine adds noise.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
import gradnetot as gn  # noqa: E402
from benchmarks._report import Report  # noqa: E402


def make_problem(dim):
    if dim == 2:  # the paper's 2-D Gaussian pair
        src = gn.Gaussian(torch.tensor([1.0, -0.5]), torch.tensor([[2.0, 0.9], [0.9, 0.8]]))
        return src, gn.Gaussian(torch.zeros(2), torch.eye(2))
    prob = gn.wishart_gaussian_problem(dim)
    return prob.source, prob.target


def make_model(net, dim):
    torch.manual_seed(0)
    return gn.MGradNetM(dim) if net == "M" else gn.MGradNetC(dim)


# -- worker: one rank of one torchrun launch --------------------------------------------------

def worker(args):
    torch.set_num_threads(args.threads)
    if args.plain:  # started by torchrun, but no process group: gn.fit as a single process runs it
        device = torch.device("cuda" if args.device == "cuda" else "cpu")
    else:
        device = gn.distributed.init(timeout=120)
    src, tgt = make_problem(args.dim)
    marks = []

    def clock(step, model):
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        marks.append(time.perf_counter())

    res = gn.fit(make_model(args.net, args.dim), src, tgt, steps=args.steps, batch_size=args.batch, seed=0,
                 device=device, progress=False, check_every=args.block, callback=clock)
    if gn.distributed.is_main():
        blocks = [b - a for a, b in zip(marks[:-1], marks[1:])][1:] or [res.wall_time / max(1, args.steps)]
        sec_per_step = statistics.median(blocks) / args.block
        world = gn.distributed.world_size()
        with open(args.json, "w") as fh:
            backend = "none" if args.plain else torch.distributed.get_backend()
            json.dump({"world": world, "backend": backend, "device": str(device),
                       "sec_per_step": sec_per_step, "samples_per_s": world * args.batch / sec_per_step,
                       "final_loss": res.final_loss}, fh)
    gn.distributed.shutdown()


# -- launcher -------------------------------------------------------------------------------

def launch(world, args, tmp):
    """One torchrun call with ``world`` processes (``world=0``: one process that starts no process group)."""
    out = os.path.join(tmp, f"w{world}.json")
    runner = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={max(1, world)}"]
    cmd = runner + [os.path.abspath(__file__), "--worker", "--json", out, "--net", args.net, "--dim", str(args.dim),
                    "--batch", str(args.batch), "--steps", str(args.steps), "--block", str(args.block),
                    "--threads", str(args.threads), "--device", args.device] + (["--plain"] if world == 0 else [])
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               PYTHONPATH=os.pathsep.join([ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]))
    if args.device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # gloo on the CPU even on a GPU machine
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=args.timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"torchrun with {world} process(es) failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    with open(out) as fh:
        rec = json.load(fh)
    rec["launch_s"] = time.perf_counter() - t0
    return rec


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    ap.add_argument("--worlds", default=None, help="comma-separated world sizes (default: 1,2 on a CPU; "
                                                   "1, 2, 4, ... and the GPU count on CUDA)")
    ap.add_argument("--net", choices=["M", "C"], default="M", help="mGradNet-M (default) or -C, default widths")
    ap.add_argument("--dim", type=int, default=2)
    ap.add_argument("--batch", type=int, default=1000, help="per-rank batch (default 1000)")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--block", type=int, default=25, help="steps per timed block")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    ap.add_argument("--timeout", type=float, default=600, help="seconds per launch")
    ap.add_argument("--repeats", type=int, default=1,
                    help="launch every world size this many times, interleaved; the table shows medians")
    ap.add_argument("--quick", action="store_true", help="smoke run: 60 steps, batch 256")
    ap.add_argument("--out", default=None, help="also write the report to this Markdown file")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--plain", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        return worker(args)
    if args.quick:
        args.steps, args.batch, args.block = 60, 256, 10
    if args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if args.steps < 3 * args.block:
        ap.error("--steps must be at least 3 blocks (one warm-up block is dropped)")
    if args.device == "cuda":
        if not torch.cuda.is_available():
            ap.error("--device cuda: CUDA is not available")
        n = torch.cuda.device_count()
        default = sorted({w for w in (1, 2, 4, 8, 16) if w <= n} | {n})
    else:
        default = [1, 2]
    worlds = [int(w) for w in args.worlds.split(",")] if args.worlds else default
    if worlds[0] != 1:
        worlds = [1] + worlds  # efficiency is measured against one process

    torch.set_num_threads(args.threads)  # the header's thread count is the per-rank one
    rep = Report()
    rep.header("DDP scaling of gn.fit (torchrun, weak scaling)", "benchmarks/ddp_scaling.py", argv, args.device)
    net = "mGradNet-M" if args.net == "M" else "mGradNet-C"
    rep(f"- problem: d = {args.dim}, {net} (default widths), per-rank batch {args.batch}, {args.steps} steps, "
        f"median of {args.steps // args.block - 1} timed blocks of {args.block} steps (first block dropped)")
    if args.device == "cpu":
        rep(f"- backend gloo, {args.threads} torch thread(s) per rank")
        if hasattr(os, "getloadavg"):
            rep(f"- load average (1 min) when the run started: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
                "(a load above the core count means other jobs were competing for the CPU)")
    rep(f"- launches: {args.repeats} per row, interleaved (no group, 1, 2, ..., then in reverse order, ...); "
        "medians shown")
    rep()
    runs = {w: [] for w in [0] + worlds}
    with tempfile.TemporaryDirectory(prefix="gn-ddp-bench-") as tmp:
        for i in range(args.repeats):
            for w in (list(runs) if i % 2 == 0 else list(runs)[::-1]):  # alternate the order: drift cancels
                runs[w].append(launch(w, args, tmp))
    med = {w: statistics.median(r["samples_per_s"] for r in rs) for w, rs in runs.items()}
    base = med[worlds[0]]
    rep("| processes | backend | global batch | ms/step | samples/s | speed-up | efficiency | each launch: samples/s |")
    rep("|---|---|---:|---:|---:|---:|---:|---|")
    for w, rs in runs.items():
        world = max(1, w)
        speed = med[w] / base
        each = ", ".join(f"{r['samples_per_s']:,.0f}" for r in rs)
        name = "1, no process group" if w == 0 else str(w)
        rep(f"| {name} | {rs[0]['backend']} | {world * args.batch} | {1e3 * world * args.batch / med[w]:.2f} | "
            f"{med[w]:,.0f} | {speed:.2f}x | {100 * speed / world:.0f} % | {each} |")
    rep()
    total = sum(r["launch_s"] for rs in runs.values() for r in rs)
    rep("speed-up = samples/s over samples/s of 1 DDP process; efficiency = speed-up / processes. "
        "The row 'no process group' is the same torchrun launch with gn.fit as a single process "
        "(no DDP wrapper, no gloo): its difference from the row '1' is what DDP costs at one process. "
        f"Wall time of the launches (process start, imports, fit): {total:.0f} s.")
    rep.write(args.out)


if __name__ == "__main__":
    main()
