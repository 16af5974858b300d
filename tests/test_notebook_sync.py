"""Each chapter is a MyST Markdown notebook (chapters/NN_name.md, the source) paired with
chapters/NN_name.ipynb (what Colab opens and nbval runs). These tests fail when a pair differs,
and the message says the one command that fixes it."""
import pathlib
import re

import nbformat
import pytest

jupytext = pytest.importorskip("jupytext")

ROOT = pathlib.Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
FIX = "run `make sync` (it re-pairs every chapter from the file you edited last), then commit both files"


def _cells(nb):
    """What must agree between the two members: cell kinds, sources and cell metadata
    (tags and other options), not ids, outputs or execution counts."""
    out = []
    for c in nb.cells:
        meta = {k: v for k, v in c.metadata.items() if k not in ("execution", "collapsed", "scrolled")}
        out.append((c.cell_type, c.source.strip("\n"), meta))
    return out


def _pairs():
    mds = sorted(CHAPTERS.glob("[0-9][0-9]_*.md"))
    ipynbs = sorted(CHAPTERS.glob("[0-9][0-9]_*.ipynb"))
    return mds, ipynbs


def test_every_chapter_is_a_pair():
    mds, ipynbs = _pairs()
    assert mds, "no chapters/NN_name.md found"
    md_stems = {p.stem for p in mds}
    nb_stems = {p.stem for p in ipynbs}
    assert md_stems - nb_stems == set(), f"chapters without an .ipynb: {sorted(md_stems - nb_stems)}; {FIX}"
    assert nb_stems - md_stems == set(), (f"notebooks without a MyST source: {sorted(nb_stems - md_stems)}; "
                                          f"create it with `jupytext --to md:myst` or {FIX}")


def test_jupytext_config_pairs_the_chapters():
    from jupytext.config import find_jupytext_configuration_file, load_jupytext_configuration_file

    cfg_file = find_jupytext_configuration_file(str(CHAPTERS))
    assert cfg_file and pathlib.Path(cfg_file).resolve() == (ROOT / "jupytext.toml").resolve()
    cfg = load_jupytext_configuration_file(cfg_file)
    md = CHAPTERS / "01_introduction.md"
    formats = cfg.default_formats(str(md))
    assert formats and "ipynb" in formats and "md:myst" in formats, formats


@pytest.mark.parametrize("md", _pairs()[0], ids=lambda p: p.stem)
def test_pair_in_sync(md):
    text_nb = jupytext.read(md)
    assert text_nb.metadata.get("kernelspec", {}).get("name") == "python3", \
        f"{md.name}: the front matter needs the python3 kernelspec"
    ipynb = md.with_suffix(".ipynb")
    stored = nbformat.read(ipynb, as_version=4)
    a, b = _cells(text_nb), _cells(stored)
    if a != b:
        first = next((i for i, (x, y) in enumerate(zip(a, b)) if x != y), min(len(a), len(b)))
        detail = (f"{len(a)} cells in the .md, {len(b)} in the .ipynb" if len(a) != len(b)
                  else f"first difference in cell {first}")
        src = (a[first][1] if first < len(a) else b[first][1])[:80] if max(len(a), len(b)) > first else ""
        pytest.fail(f"{ipynb.relative_to(ROOT)} is out of sync with {md.relative_to(ROOT)} ({detail}: "
                    f"{src!r}). To fix: {FIX}.")


@pytest.mark.parametrize("ipynb", _pairs()[1], ids=lambda p: p.stem)
def test_notebooks_are_stored_without_outputs(ipynb):
    nb = nbformat.read(ipynb, as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.outputs or c.execution_count is not None)]
    assert not dirty, (f"{ipynb.relative_to(ROOT)} has outputs in cells {dirty[:5]}; the repository stores "
                       f"notebooks clean. To fix: {FIX}.")


def test_no_code_writes_notebooks_from_strings():
    """The chapters are edited as notebooks or as MyST text, never generated from Python strings."""
    assert not (CHAPTERS / "_src").exists()
    files = [p for d in ("gradnetot", "chapters", "_ext", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    offenders = [p.relative_to(ROOT).as_posix() for p in files
                 if re.search(r"nbformat\.v4\.new_(code|markdown)_cell", p.read_text(errors="ignore"))]
    assert offenders == [], f"scripts that build notebooks from strings: {offenders}"
