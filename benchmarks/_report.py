"""Shared header and output helpers for the benchmark scripts' Markdown reports."""
from __future__ import annotations

import datetime
import os
import platform
import shlex
import sys

import torch


def machine_line(device):
    """One line naming the card (CUDA) or the CPU, its cores and torch's thread count."""
    if str(device).startswith("cuda"):
        return f"GPU: {torch.cuda.get_device_name(0)}; torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"CPU: {cpu}; nproc {os.cpu_count()}; torch threads {torch.get_num_threads()}; torch {torch.__version__}"


class Report:
    """Print lines as they come and keep them, so that ``write`` can record the same text."""

    def __init__(self, quiet=False):
        self.lines = []
        self.quiet = quiet  # keep the lines without printing them (e.g. a partial report written mid-run)

    def __call__(self, s=""):
        if not self.quiet:
            print(s, flush=True)
        self.lines.append(s)

    def header(self, title, script, argv, device):
        """Title, the command that reproduces the run, the UTC date and the machine."""
        args = argv if argv is not None else sys.argv[1:]
        self(f"# {title}")
        self()
        self(f"- command: `python {shlex.join([script] + list(args))}`")
        self(f"- date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC")
        self(f"- {machine_line(device)}")

    def write(self, path):
        if path:
            with open(path, "w") as fh:
                fh.write("\n".join(self.lines) + "\n")
