"""The Colab-safe setup cell: identical in every chapter, and working in a fresh
environment that has torch but not gradnetot (as on Colab)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import torch

from gradnetot._setup_cell import BRANCH, REPO_URL, SETUP_CELL

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))


def _code_cells(path):
    nb = json.loads(path.read_text())
    return ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
            for c in nb["cells"] if c["cell_type"] == "code"]


def test_there_are_chapters():
    assert len(CHAPTERS) >= 1


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_is_the_setup_cell(path):
    cells = _code_cells(path)
    assert cells, f"{path.name} has no code cells"
    assert cells[0].strip() == SETUP_CELL.strip(), (
        f"{path.name}: the first code cell differs from gradnetot/_setup_cell.py SETUP_CELL")


def test_setup_cell_installs_from_the_configured_repository():
    config = (ROOT / "_config.yml").read_text()
    assert f"url: {REPO_URL}" in config, "_config.yml repository.url and _setup_cell.REPO_URL disagree"
    assert f"branch: {BRANCH}" in config
    assert f"git+{REPO_URL}@{BRANCH}" in SETUP_CELL
    # no hard pins: Colab's preinstalled torch must stay
    assert "torch==" not in SETUP_CELL


@pytest.mark.fresh_env
def test_setup_cell_in_fresh_colab_like_env(tmp_path):
    """New venv with torch only; the setup cell pip-installs the local checkout, then
    chapter 1's first experiment cell runs.

    Opt-in (it downloads a large torch wheel): ``pytest --run-fresh-env`` or
    ``GRADNETOT_TEST_FRESH_ENV=1``."""
    env_dir = tmp_path / "colab"
    venv.create(env_dir, with_pip=True)
    py = env_dir / "bin" / "python"
    torch_version = torch.__version__.split("+")[0]
    subprocess.run([str(py), "-m", "pip", "install", "-q", f"torch=={torch_version}"], check=True,
                   stdout=subprocess.DEVNULL)
    probe = subprocess.run([str(py), "-c", "import gradnetot"], capture_output=True)
    assert probe.returncode != 0, "the fresh env must not have gradnetot yet"

    cells = _code_cells(ROOT / "chapters" / "01_introduction.ipynb")
    experiment = cells[1]
    assert "%" not in "".join(l for l in experiment.splitlines() if l.lstrip().startswith("%")), \
        "the first experiment cell must be plain Python"
    script = "\n".join([
        "display = print",
        SETUP_CELL,
        "import gradnetot, os",
        "assert os.path.realpath(gradnetot.__file__).startswith(os.path.realpath(os.environ['VENV']))",
        experiment,
        "print('EXPERIMENT-OK')",
    ])
    env = dict(os.environ, GRADNETOT_PIP_SPEC=str(ROOT), GRADNETOT_FAST="1", MPLBACKEND="Agg",
               VENV=str(env_dir), PYTHONPATH="")
    out = subprocess.run([str(py), "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "device: cpu" in out.stdout
    assert "EXPERIMENT-OK" in out.stdout
