"""Graded assignments with otter-grader: build them (`make assignments`) and grade them (`make grade`).

    python _ext/assignments.py build [--src assignments] [--out _build/assignments] [--no-run-tests] [NAME ...]
    python _ext/assignments.py grade SUBMISSIONS [--out _build/assignments] [--timeout 600] [--cell-timeout 120]

build: each ``assignments/NN_name.md`` (an otter master notebook written as MyST Markdown) is
converted to ``.ipynb`` with jupytext and passed to ``otter assign``. From otter's output this
writes

* ``<out>/student/NN_name.ipynb``: what students get. Solutions and hidden tests removed by otter;
  its first cell installs gradnetot and otter-grader when they are missing (Colab) and writes the
  public tests next to the notebook, so ``grader.check`` works from the single file;
* ``<out>/autograder/NN_name/``: what the instructor keeps: the solution notebook, every test
  (public and hidden) in ``tests/``, and otter's grading bundle ``autograder.zip``.

grade: every ``.ipynb`` (or otter export ``.zip``) in SUBMISSIONS is graded locally, without Docker,
with ``otter run`` against the autograder bundle of its assignment (read from the notebook's
metadata, otherwise from its file name), one submission per subprocess with a time limit. If that
run times out or fails, the submission is graded question by question instead:

1. its cells are run once in a kernel with a per-cell time limit; a cell that runs past it or kills
   the kernel is replaced by a ``raise`` (so it counts as an error, like any crashing cell);
2. each question is then graded by ``otter run`` on its own, against a bundle holding only that
   question's tests and without the notebook's ``grader.check`` cells, again with a time limit.

A question whose own run still times out or fails scores 0, with the reason in the ``note`` column.
The result is ``<out>/grades.csv``: one row per submission and question.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

REPO_URL = "https://github.com/gradnetot/gradnetot-book"
BRANCH = "main"
try:  # one place for the install URL: the chapters' setup cell
    from gradnetot._setup_cell import BRANCH, REPO_URL  # noqa: F811
except Exception:  # pragma: no cover - only when gradnetot cannot be imported at all
    pass

SETUP_MARK = "# Assignment setup (Colab or any Jupyter)"


def setup_cell_source(public_tests: dict[str, str]) -> str:
    """The first cell of a student notebook: install what is missing, write the public tests."""
    tests = json.dumps(public_tests, indent=1, sort_keys=True)
    return f'''{SETUP_MARK}: install gradnetot and otter-grader if they are missing,
# and write this assignment's public tests to ./tests so that grader.check works. Run it first.
import importlib.util, os, subprocess, sys
_missing = []
if importlib.util.find_spec("gradnetot") is None:
    _missing.append(os.environ.get("GRADNETOT_PIP_SPEC", "gradnetot @ git+{REPO_URL}@{BRANCH}"))
if importlib.util.find_spec("otter") is None:
    _missing.append("otter-grader>=7.0,<8")
if _missing:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *_missing], check=True)
_public_tests = {tests}
os.makedirs("tests", exist_ok=True)
for _name, _text in _public_tests.items():
    _path = os.path.join("tests", _name)
    if not os.path.exists(_path):  # never overwrite: when grading, ./tests holds the full tests
        with open(_path, "w", encoding="utf-8") as _f:
            _f.write(_text)'''


# ----------------------------------------------------------------------------------------- build

def _run(cmd, **kw):
    print("+", " ".join(str(c) for c in cmd), flush=True)
    return subprocess.run([str(c) for c in cmd], check=True, **kw)


def _bin(name):
    """An executable next to this Python (the venv's), else from PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def _is_pip_cell(cell):
    return cell.cell_type == "code" and cell.source.strip().startswith("%pip install") and "otter-grader" in cell.source


def finish_notebook(path: Path, public_tests: dict[str, str], name: str):
    """Put the setup cell first (instead of otter's Colab pip cell) and tidy the metadata."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if not _is_pip_cell(c)]
    setup = nbformat.v4.new_code_cell(setup_cell_source(public_tests))
    setup.metadata = {"deletable": False, "editable": False, "tags": ["assignment-setup"]}
    cells.insert(0, setup)
    # otter leaves an empty markdown cell at the end
    while cells and cells[-1].cell_type == "markdown" and not cells[-1].source.strip():
        cells.pop()
    nb.cells = cells
    nb.metadata.pop("jupytext", None)
    nb.metadata.setdefault("otter", {})["assignment_name"] = name
    nb.metadata["colab"] = {"provenance": []}
    nbformat.write(nb, path)


def build_one(md: Path, out: Path, run_tests: bool = True):
    name = md.stem
    work = out / "otter" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    master = work / f"{name}.ipynb"
    _run([_bin("jupytext"), "--quiet", "--to", "ipynb", "--output", master, md])
    cmd = [_bin("otter"), "assign", master, work / "dist"]
    if not run_tests:
        cmd.append("--no-run-tests")
    _run(cmd)
    dist = work / "dist"
    public = {p.name: p.read_text() for p in sorted((dist / "student" / "tests").glob("*.py"))}

    student_dir = out / "student"
    student_dir.mkdir(parents=True, exist_ok=True)
    student_nb = student_dir / f"{name}.ipynb"
    shutil.copy(dist / "student" / f"{name}.ipynb", student_nb)
    finish_notebook(student_nb, public, name)

    ag = out / "autograder" / name
    shutil.rmtree(ag, ignore_errors=True)
    ag.mkdir(parents=True)
    zips = sorted((dist / "autograder").glob("*-autograder_*.zip"))
    if len(zips) != 1:
        raise RuntimeError(f"otter assign made {len(zips)} autograder zips for {name}, expected one")
    shutil.copy(zips[0], ag / "autograder.zip")
    shutil.copytree(dist / "autograder" / "tests", ag / "tests")
    shutil.copy(dist / "autograder" / f"{name}.ipynb", ag / f"{name}.ipynb")
    finish_notebook(ag / f"{name}.ipynb", public, name)
    shutil.copy(dist / "autograder" / "otter_config.json", ag / "otter_config.json")
    print(f"{name}: student notebook {student_nb}, autograder {ag}")


def build(src: Path, out: Path, names=None, run_tests=True):
    mds = sorted(src.glob("[0-9][0-9]_*.md"))
    if names:
        mds = [m for m in mds if m.stem in names or m.stem[:2] in names]
    if not mds:
        raise SystemExit(f"no assignments found in {src}")
    for md in mds:
        build_one(md, out, run_tests)
    shutil.rmtree(out / "otter", ignore_errors=True)


# ----------------------------------------------------------------------------------------- grade

def assignment_of(path: Path, known: list[str]) -> str | None:
    """The assignment a submission belongs to: notebook metadata first, then the file name."""
    nb_meta = None
    try:
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as z:
                nbs = [n for n in z.namelist() if n.endswith(".ipynb") and "/" not in n.strip("/")]
                if nbs:
                    nb_meta = json.loads(z.read(nbs[0])).get("metadata", {})
        else:
            nb_meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, ValueError, zipfile.BadZipFile):
        nb_meta = None
    name = ((nb_meta or {}).get("otter") or {}).get("assignment_name")
    if name in known:
        return name
    for k in sorted(known, key=len, reverse=True):
        if path.name.startswith(k) or path.name.startswith(k[:2] + "_"):
            return k
    return None


def questions_of(autograder_zip: Path) -> dict[str, float]:
    """Question name -> points possible, read from the tests in otter's bundle."""
    out = {}
    with zipfile.ZipFile(autograder_zip) as z:
        for n in sorted(z.namelist()):
            if re.fullmatch(r"tests/[^/]+\.py", n):
                text = z.read(n).decode()
                m = re.search(r"^points\s*=\s*([0-9.]+)", text, re.M)
                out[Path(n).stem] = float(m.group(1)) if m else 1.0
    return out


def _otter_run(submission: Path, autograder_zip: Path, timeout: float):
    """One `otter run` in a subprocess. Returns (results dict or None, note)."""
    with tempfile.TemporaryDirectory(prefix="otter-run-") as tmp:
        cmd = [sys.executable, "-m", "otter", "run", "--no-logo", "-a", str(autograder_zip),
               "-o", tmp, str(submission)]
        # a session of its own, so that a time-out ends otter *and* the kernel it started
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            return None, f"timed out after {timeout:g} s"
        finally:
            _kill_group(proc)  # a kernel left behind by a finished run
        res = Path(tmp) / "results.json"
        if proc.returncode != 0 or not res.exists():
            tail = (output or "").strip().splitlines()[-1:] or ["no output"]
            return None, f"otter run failed (exit {proc.returncode}): {tail[0][:200]}"
        return json.loads(res.read_text()), ""


def _kill_group(proc):
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError):
        pass


def _scores(results: dict) -> dict[str, tuple[float, float]]:
    return {t["name"]: (float(t.get("score") or 0.0), float(t.get("max_score") or 0.0))
            for t in results.get("tests", []) if t.get("max_score") is not None}


def _notebook_of(submission: Path, tmp: Path) -> Path:
    if submission.suffix != ".zip":
        return submission
    with zipfile.ZipFile(submission) as z:
        z.extractall(tmp / "unzipped")
    nbs = sorted((tmp / "unzipped").glob("*.ipynb"))
    if not nbs:
        raise ValueError(f"{submission.name} holds no notebook")
    return nbs[0]


def neutralise_stuck_cells(nb_path: Path, out_path: Path, cell_timeout: float, max_rounds: int = 8) -> list[str]:
    """Run the notebook cell by cell; replace cells that time out or kill the kernel by a raise.

    ``grader.check`` cells are dropped (grading runs the tests itself). Returns notes.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(nb_path, as_version=4)
    nb.cells = [c for c in nb.cells if not (c.cell_type == "code" and c.source.lstrip().startswith("grader.check"))]
    notes = []
    for _ in range(max_rounds):
        current = {"index": None}

        def on_start(cell, cell_index, **_):
            current["index"] = cell_index

        client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                                resources={"metadata": {"path": str(nb_path.parent)}},
                                on_cell_execute=on_start)
        try:
            client.execute()
            break
        except (CellTimeoutError, DeadKernelError, TimeoutError) as exc:
            i = current["index"]
            if i is None:
                notes.append(f"kernel failed before any cell ran: {type(exc).__name__}")
                break
            why = "ran longer than %g s" % cell_timeout if not isinstance(exc, DeadKernelError) \
                else "killed the kernel"
            notes.append(f"cell {i} {why}")
            nb.cells[i].source = f'raise RuntimeError("the grader skipped this cell: it {why}")'
            nb.cells[i].outputs = []
        finally:
            try:
                client._cleanup_kernel()  # nbclient >= 0.6; harmless when already stopped
            except Exception:
                pass
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbformat.write(nb, out_path)
    return notes


def _single_question_zip(autograder_zip: Path, question: str, dest: Path):
    with zipfile.ZipFile(autograder_zip) as src, zipfile.ZipFile(dest, "w") as out:
        for item in src.infolist():
            if item.filename.startswith("tests/") and item.filename != f"tests/{question}.py":
                continue
            out.writestr(item, src.read(item.filename))


def grade_submission(submission: Path, autograder_zip: Path, timeout: float, cell_timeout: float):
    """Grade one submission: {question: (earned, possible, note)} and a general note."""
    possible = questions_of(autograder_zip)
    results, note = _otter_run(submission, autograder_zip, timeout)
    if results is not None:
        sc = _scores(results)
        return {q: (*sc.get(q, (0.0, pts)), "" if q in sc else "no result") for q, pts in possible.items()}, ""
    # fallback: question by question
    grades = {}
    with tempfile.TemporaryDirectory(prefix="otter-fallback-") as tmp:
        tmp = Path(tmp)
        try:
            nb_path = _notebook_of(submission, tmp)
        except (ValueError, zipfile.BadZipFile) as exc:
            return {q: (0.0, pts, str(exc)) for q, pts in possible.items()}, note
        safe = tmp / nb_path.name
        notes = neutralise_stuck_cells(nb_path, safe, cell_timeout)
        for q, pts in possible.items():
            qzip = tmp / f"{q}.zip"
            _single_question_zip(autograder_zip, q, qzip)
            res, qnote = _otter_run(safe, qzip, timeout)
            if res is None:
                grades[q] = (0.0, pts, qnote)
            else:
                earned, maxp = _scores(res).get(q, (0.0, pts))
                grades[q] = (earned, maxp, "graded on its own")
    return grades, "; ".join([f"whole notebook: {note}", *notes])


def grade(submissions: Path, out: Path, timeout: float, cell_timeout: float, jobs: int = 1):
    ag_root = out / "autograder"
    known = sorted(p.name for p in ag_root.iterdir() if (p / "autograder.zip").exists()) if ag_root.exists() else []
    if not known:
        raise SystemExit(f"no autograder bundles in {ag_root}: run `make assignments` first")
    subs = sorted(p for p in submissions.iterdir() if p.suffix in (".ipynb", ".zip") and not p.name.startswith("."))
    if not subs:
        raise SystemExit(f"no .ipynb or .zip submissions in {submissions}")

    def one(sub):
        name = assignment_of(sub, known)
        if name is None:
            return sub, None, {}, "cannot tell which assignment this is (no otter metadata, unknown file name)"
        grades, note = grade_submission(sub, ag_root / name / "autograder.zip", timeout, cell_timeout)
        return sub, name, grades, note

    if jobs > 1:
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(jobs) as ex:
            done = list(ex.map(one, subs))
    else:
        done = [one(s) for s in subs]

    rows = []
    for sub, name, grades, note in done:
        if name is None:
            rows.append({"submission": sub.name, "assignment": "", "question": "", "points_earned": 0,
                         "points_possible": 0, "note": note})
            print(f"{sub.name}: {note}")
            continue
        total = sum(g[0] for g in grades.values())
        maxp = sum(g[1] for g in grades.values())
        print(f"{sub.name} ({name}): {total:g} / {maxp:g}" + (f"  [{note}]" if note else ""))
        for q, (earned, possible, qnote) in grades.items():
            rows.append({"submission": sub.name, "assignment": name, "question": q,
                         "points_earned": round(earned, 4), "points_possible": round(possible, 4),
                         "note": "; ".join(x for x in (qnote, note) if x)})
    out.mkdir(parents=True, exist_ok=True)
    csv_path = out / "grades.csv"
    with open(csv_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=["submission", "assignment", "question", "points_earned",
                                          "points_possible", "note"])
        w.writeheader()
        w.writerows(rows)
    print(f"wrote {csv_path} ({len(rows)} rows)")
    return csv_path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="otter assign every assignments/NN_name.md")
    b.add_argument("names", nargs="*", help="only these assignments (NN or NN_name)")
    b.add_argument("--src", type=Path, default=ROOT / "assignments")
    b.add_argument("--out", type=Path, default=ROOT / "_build" / "assignments")
    b.add_argument("--no-run-tests", action="store_true",
                   help="skip otter's check that the solutions pass their tests")
    g = sub.add_parser("grade", help="grade every submission in a folder into grades.csv")
    g.add_argument("submissions", type=Path)
    g.add_argument("--out", type=Path, default=ROOT / "_build" / "assignments")
    g.add_argument("--timeout", type=float, default=600.0, help="seconds for one otter run")
    g.add_argument("--cell-timeout", type=float, default=120.0,
                   help="seconds per cell when a submission is graded question by question")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        build(args.src, args.out, args.names, run_tests=not args.no_run_tests)
    else:
        if not args.submissions.is_dir():
            parser.error(f"SUBMISSIONS must be a folder, got {args.submissions}")
        grade(args.submissions, args.out, args.timeout, args.cell_timeout, args.jobs)


if __name__ == "__main__":
    main()
