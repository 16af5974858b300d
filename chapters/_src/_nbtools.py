"""Shared helpers for the chapter generator scripts (make_NN.py)."""
import re as _re

import nbformat

from gradnetot._setup_cell import SETUP_CELL


def _keep_ids(nb, path):
    """Reuse the existing notebook's cell ids when the cell count is unchanged (no churn on regeneration)."""
    import os

    if os.path.exists(path):
        old = nbformat.read(path, as_version=4)
        if len(old.cells) == len(nb.cells):
            for a, b in zip(old.cells, nb.cells):
                b["id"] = a["id"]


def setup():
    return ("code", SETUP_CELL)

def _fence_solutions(src):
    def conv(m):
        lines = m.group(0).splitlines()
        out, in_code = [], False
        for l in lines[1:-1]:
            if l.startswith("    "):
                if not in_code:
                    out.append("```python"); in_code = True
                out.append(l[4:])
            else:
                if in_code and l.strip() == "":
                    out.append(l); continue
                if in_code:
                    while out and out[-1].strip() == "":
                        out.pop()
                    out.append("```"); in_code = False
                    if l.strip(): out.append("")
                out.append(l)
        if in_code:
            while out and out[-1].strip() == "":
                out.pop()
            out.append("```")
        return "\n".join(["`" + lines[0]] + out + ["````"])
    return _re.sub(r"^```\{solution\}.*?^```$", conv, src, flags=_re.S | _re.M)

def build(cells, path):
    """Write ``(kind, source)`` pairs (kind "md" or "code") to ``path``; indented code in
    ``{solution}`` blocks becomes fenced Python."""
    out = []
    for kind, src in cells:
        src = src.strip("\n")
        if kind == "md":
            out.append(nbformat.v4.new_markdown_cell(_fence_solutions(src)))
        else:
            out.append(nbformat.v4.new_code_cell(src))
    _write(out, path)


def write_notebook(cells, filename):
    """Write ``cells`` (nbformat cells) to ``chapters/<filename>`` without outputs."""
    import pathlib

    _write(list(cells), pathlib.Path(__file__).resolve().parents[1] / filename)


def _write(cells, path):
    """The one notebook writer: Python 3 kernelspec, no outputs, cell ids kept (see ``_keep_ids``)."""
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python"}
    _keep_ids(nb, str(path))
    nbformat.validate(nb)
    nbformat.write(nb, str(path))
    print("wrote", path, len(cells), "cells")
