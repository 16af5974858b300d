"""The book's configuration: one GitHub URL, a complete table of contents, offline MathJax,
the student edition, and FAST/full builds that never share an execution cache."""
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from gradnetot._setup_cell import BRANCH, REPO_URL

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def _toc_files():
    files = [TOC["root"]]
    for part in TOC.get("parts", []):
        files += [c["file"] for c in part["chapters"]]
    return files


def test_repository_url_is_the_setup_cell_url():
    repo = CONFIG["repository"]
    assert repo["url"] == REPO_URL
    assert repo["branch"] == BRANCH
    assert repo["path_to_book"] in (".", "")
    assert REPO_URL.startswith("https://github.com/") and not REPO_URL.endswith("/")


def test_readme_colab_links_use_the_repository_url():
    readme = (ROOT / "README.md").read_text()
    slug = REPO_URL.removeprefix("https://github.com/")
    links = re.findall(r"https://colab\.research\.google\.com/github/([^)\s\"<>`]+\.ipynb)", readme)
    assert links, "README.md has no Colab link"
    for link in links:
        assert link.startswith(f"{slug}/blob/{BRANCH}/chapters/"), link


def test_launch_buttons_and_execution():
    assert CONFIG["launch_buttons"]["colab_url"] == "https://colab.research.google.com"
    assert CONFIG["html"]["use_repository_button"] is True
    ex = CONFIG["execute"]
    assert ex["execute_notebooks"] == "cache"
    assert isinstance(ex["timeout"], int) and ex["timeout"] >= 600
    # "remove-warn"/"warn" would turn every tqdm line into a build error under -W
    assert ex["stderr_output"] == "remove"


def test_extensions_and_bibliography():
    sph = CONFIG["sphinx"]
    for ext in ("sphinx_exercise", "sphinx_proof", "sphinx_togglebutton"):
        assert ext in sph["extra_extensions"]
    assert sph["config"]["hide_solutions"] is False
    for bib in CONFIG["bibtex_bibfiles"]:
        assert (ROOT / bib).is_file()
    assert (ROOT / CONFIG["logo"]).is_file()


def test_toc_lists_every_chapter_and_only_existing_files():
    files = _toc_files()
    assert files[0] == "index" and len(files) == len(set(files))
    missing = [f for f in files if not any((ROOT / f).with_suffix(s).is_file() for s in (".md", ".ipynb"))]
    assert not missing, f"_toc.yml lists files that do not exist: {missing}"
    chapters = sorted(p.with_suffix("").relative_to(ROOT).as_posix()
                      for p in (ROOT / "chapters").glob("[0-9][0-9]_*.ipynb"))
    assert set(chapters) <= set(files), f"chapters missing from _toc.yml: {set(chapters) - set(files)}"
    assert CONFIG["only_build_toc_files"] is True


def test_offline_mathjax_is_vendored():
    path = CONFIG["sphinx"]["config"]["mathjax_path"]
    assert "://" not in path and not path.startswith("//"), "MathJax must not come from a CDN"
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import offline_mathjax
    finally:
        sys.path.pop(0)
    src = offline_mathjax.mathjax_source()
    rel = Path(path).relative_to("mathjax")
    assert (src / rel).is_file()
    assert (src / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    assert "offline_mathjax" in CONFIG["sphinx"]["local_extensions"]


def test_student_config_hides_solutions_and_reuses_cache():
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import student_config
    finally:
        sys.path.pop(0)
    cfg = student_config.student_config(CONFIG, cache="/tmp/cache")
    assert cfg["sphinx"]["config"]["hide_solutions"] is True
    assert cfg["execute"]["cache"] == "/tmp/cache"
    assert "student" in cfg["title"]
    # the base config is untouched
    assert CONFIG["sphinx"]["config"]["hide_solutions"] is False
    assert cfg["repository"] == CONFIG["repository"]


def test_exclude_patterns():
    for pattern in ("_build", "_build_fast", ".venv", "data", "benchmarks", "tests", "README.md",
                    "CONTRIBUTING.md", "chapters/*.ipynb"):
        assert pattern in CONFIG["exclude_patterns"]


def _make_dry_run(*args, stamp):
    # STAMP points at a fresh file (newer than requirements.txt/pyproject.toml) so that make
    # considers the install done. Never point it at a tracked file: make remakes an out-of-date
    # prerequisite's rule even with -n when that file is the Makefile itself.
    out = subprocess.run(["make", "-n", *args, f"STAMP={stamp}"], cwd=ROOT, capture_output=True, text=True,
                         check=True)
    return out.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="make not installed")
def test_fast_and_full_books_do_not_share_a_cache(tmp_path):
    stamp = tmp_path / "installed"
    stamp.write_text("x")
    full = _make_dry_run("book", "GRADNETOT_FAST=0", stamp=stamp)
    fast = _make_dry_run("book", "GRADNETOT_FAST=1", stamp=stamp)
    out_full = re.search(r"jupyter-book build \. --path-output (\S+)", full).group(1)
    out_fast = re.search(r"jupyter-book build \. --path-output (\S+)", fast).group(1)
    # the jupyter-cache lives in <path-output>/_build/.jupyter_cache
    assert Path(out_full).resolve() != Path(out_fast).resolve()
    assert "-W" in full and "-W" in fast
    # the student edition reuses the cache of its own mode
    student_fast = _make_dry_run("assignments", "GRADNETOT_FAST=1", stamp=stamp)
    assert "_build_fast/_build/.jupyter_cache" in student_fast and "hide" not in student_fast


def test_requirements_keep_colab_torch():
    req = (ROOT / "requirements.txt").read_text()
    lines = [l.split("#")[0].strip() for l in req.splitlines() if l.split("#")[0].strip()]
    names = {re.split(r"[<>=!~ \[]", l, maxsplit=1)[0].lower() for l in lines}
    for pkg in ("torch", "jupyter-book", "sphinx-exercise", "sphinx-proof", "sphinxcontrib-bibtex",
                "sphinx-togglebutton", "nbval", "pytest", "ipywidgets", "pot", "django-static-mathjax",
                "playwright"):
        assert pkg in names, pkg
    assert not any("==" in l for l in lines), "no hard pins: Colab's preinstalled packages must stay"


def test_widget_cells_are_not_executed_by_the_book_build():
    """`ipywidgets.interact` under nbclient can deadlock (jupyter/nbclient#312): `make book` stalled for good
    after chapter 5's explorer cell. Such cells carry `skip-execution` (nbclient skips them in the book build;
    Jupyter, Colab and nbval still run them) and define nothing later cells need."""
    import nbformat

    found = 0
    for nb_path in sorted((ROOT / "chapters").glob("*.ipynb")):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type == "code" and re.search(r"\binteract(ive)?\(", cell.source):
                found += 1
                tags = cell.metadata.get("tags", [])
                assert "skip-execution" in tags, f"{nb_path.name}: a widget cell without skip-execution"
                assert not re.search(r"^(def|class)\s|^\w+\s*=", cell.source, flags=re.M), \
                    f"{nb_path.name}: a skipped widget cell must not define names later cells use"
    assert found >= 1, "chapter 5's interactive explorer is missing"
