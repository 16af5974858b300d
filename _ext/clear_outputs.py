"""Store notebooks without outputs: clear outputs and execution counts in place (cell ids kept).

Used by `make sync` after jupytext has re-paired the chapters.
"""
import sys

import nbformat


def clear(path):
    nb = nbformat.read(path, as_version=4)
    changed = False
    for cell in nb.cells:
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None):
            cell.outputs, cell.execution_count = [], None
            changed = True
    if changed:
        nbformat.write(nb, path)
        print(f"cleared outputs: {path}")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        clear(p)
