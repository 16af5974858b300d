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
metadata, otherwise from its file name), one submission per subprocess with a time limit (otter
itself has none: a cell or a test that never ends would stop it). If that run times out or fails,
the submission is graded again with the faults isolated:

1. its cells are run in a kernel one by one, with a per-cell time limit, then each question's tests
   in a cell of their own; a notebook cell that runs past the limit or kills the kernel is replaced
   by a ``raise`` (so it counts as a crashing cell, which otter grades as usual), and a question
   whose tests do so scores 0, with the reason in the ``note`` column;
2. the repaired notebook is graded by ``otter run`` on the remaining questions.

Crashing cells (exceptions) need none of this: otter runs every cell with errors allowed, so the
other questions are graded in the first run.
The result is ``<out>/grades.csv``: one row per submission and question.
"""
from __future__ import annotations

import argparse
import copy
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
    pip = [c for c in nb.cells if _is_pip_cell(c)]
    if len(pip) != 1:
        raise RuntimeError(f"{path.name}: expected otter's one Colab pip cell (runs_on: colab), found {len(pip)}")
    # otter's cell runs `%pip install otter-grader` every time; ours installs only what is missing
    setup = pip[0]
    setup.source = setup_cell_source(public_tests)
    setup.metadata = {"deletable": False, "editable": False, "tags": ["assignment-setup"]}
    cells = [setup] + [c for c in nb.cells if c is not setup]
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


def build(src: Path, out: Path, names=None, run_tests=True, jobs=1):
    mds = sorted(src.glob("[0-9][0-9]_*.md"))
    if names:
        mds = [m for m in mds if m.stem in names or m.stem[:2] in names]
    if not mds:
        raise SystemExit(f"no assignments found in {src}")
    if jobs > 1:  # each otter assign is a subprocess writing to its own folders
        from concurrent.futures import ThreadPoolExecutor
        with ThreadPoolExecutor(jobs) as ex:
            list(ex.map(lambda md: build_one(md, out, run_tests), mds))
    else:
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


def _is_check_cell(cell):
    return cell.cell_type == "code" and cell.source.lstrip().startswith("grader.check")


def probe(nb_path: Path, autograder_zip: Path, questions: list[str], out_path: Path,
          cell_timeout: float, locked_timeout: float = 600.0, max_rounds: int = 12):
    """Run a submission cell by cell, then each question's tests in a cell of its own, with a
    per-cell time limit, to find what hangs or kills the kernel.

    A notebook cell that runs past ``cell_timeout`` or kills the kernel is replaced by a ``raise``
    (it then counts as a crashing cell) and the run starts again. A question whose tests do so is
    reported. ``grader.check`` cells are dropped: the grader runs the tests itself. Writes the
    repaired notebook to ``out_path`` and returns ``({question: reason}, notes)``.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    nb = nbformat.read(nb_path, as_version=4)
    checks = [c for c in nb.cells if _is_check_cell(c)]
    if not checks:
        bad = {q: "the notebook has no grader.check cells (not an otter student notebook?)" for q in questions}
        return bad, ["no grader.check cells"]
    template = copy.deepcopy(checks[0])
    template.metadata = {}
    template.outputs, template.execution_count = [], None
    nb.cells = [c for c in nb.cells if not _is_check_cell(c)]
    n_own = len(nb.cells)
    work = out_path.parent / "probe"
    shutil.rmtree(work, ignore_errors=True)
    (work / "tests").mkdir(parents=True)
    with zipfile.ZipFile(autograder_zip) as z:
        for q in questions:
            (work / "tests" / f"{q}.py").write_bytes(z.read(f"tests/{q}.py"))
    bad, notes = {}, []

    def limit(cell):  # otter's own locked cells (setup, init) are not the student's: more time
        return cell_timeout if cell.metadata.get("editable", True) else max(cell_timeout, locked_timeout)

    for _ in range(max_rounds):
        pending = [q for q in questions if q not in bad]
        trial = copy.deepcopy(nb)
        for q in pending:  # each question's tests in a cell of its own, after the notebook
            cell = copy.deepcopy(template)
            cell.source = f'grader.check("{q}")'
            trial.cells.append(cell)
        current = {"index": None}

        def on_start(cell, cell_index, **_):
            current["index"] = cell_index

        client = NotebookClient(trial, timeout=cell_timeout, timeout_func=limit, allow_errors=True,
                                kernel_name="python3", resources={"metadata": {"path": str(work)}},
                                on_cell_start=on_start)
        try:
            # the kernel's own log (it complains when stopped in the middle of a cell) is noise here
            client.execute(stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            break
        except (CellTimeoutError, DeadKernelError, TimeoutError, RuntimeError) as exc:
            i = current["index"]
            why = "killed the kernel" if isinstance(exc, DeadKernelError) else f"ran longer than {cell_timeout:g} s"
            if i is None:
                notes.append(f"the kernel failed before any cell ran ({type(exc).__name__})")
                bad.update({q: "the kernel failed" for q in pending})
                break
            if i < n_own and not nb.cells[i].metadata.get("editable", True):
                notes.append(f"otter's cell {i} {why}")
                bad.update({q: f"otter's cell {i} {why}" for q in pending})
                break
            if i >= n_own:
                bad[pending[i - n_own]] = f"its tests {why}"
            else:
                notes.append(f"cell {i} {why} and was skipped")
                nb.cells[i].source = f'raise RuntimeError("the grader skipped this cell: it {why}")'
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    nbformat.write(nb, out_path)
    shutil.rmtree(work, ignore_errors=True)
    return bad, notes


def _zip_without(autograder_zip: Path, drop: set[str], dest: Path):
    with zipfile.ZipFile(autograder_zip) as src, zipfile.ZipFile(dest, "w") as out:
        for item in src.infolist():
            if item.filename.startswith("tests/") and Path(item.filename).stem in drop:
                continue
            out.writestr(item, src.read(item.filename))


def grade_submission(submission: Path, autograder_zip: Path, timeout: float, cell_timeout: float):
    """Grade one submission: ``({question: (earned, possible, note)}, note)``."""
    possible = questions_of(autograder_zip)
    results, note = _otter_run(submission, autograder_zip, timeout)
    if results is not None:
        sc = _scores(results)
        return {q: (*sc.get(q, (0.0, pts)), "" if q in sc else "no result") for q, pts in possible.items()}, ""
    # fallback: find the cells and questions that hang or kill the kernel, grade the rest
    with tempfile.TemporaryDirectory(prefix="otter-fallback-") as tmp:
        tmp = Path(tmp)
        try:
            nb_path = _notebook_of(submission, tmp)
        except (ValueError, zipfile.BadZipFile) as exc:
            return {q: (0.0, pts, str(exc)) for q, pts in possible.items()}, note
        safe_dir = tmp / "safe"
        safe_dir.mkdir()
        safe = safe_dir / nb_path.name
        bad, notes = probe(nb_path, autograder_zip, list(possible), safe, cell_timeout, timeout)
        grades = {q: (0.0, pts, reason) for q, (pts, reason) in
                  ((q, (possible[q], r)) for q, r in bad.items())}
        rest = [q for q in possible if q not in bad]
        if rest:
            zip_rest = tmp / "rest.zip"
            _zip_without(autograder_zip, set(bad), zip_rest)
            res, rnote = _otter_run(safe, zip_rest, timeout)
            sc = _scores(res) if res is not None else {}
            for q in rest:
                if q in sc:
                    grades[q] = (*sc[q], "")
                else:
                    grades[q] = (0.0, possible[q], rnote or "no result")
    grades = {q: grades[q] for q in possible}
    return grades, "; ".join([f"graded after a first run {note}", *notes])


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
    b.add_argument("--jobs", type=int, default=1, help="assignments built at the same time")
    g = sub.add_parser("grade", help="grade every submission in a folder into grades.csv")
    g.add_argument("submissions", type=Path)
    g.add_argument("--out", type=Path, default=ROOT / "_build" / "assignments")
    g.add_argument("--timeout", type=float, default=600.0, help="seconds for one otter run")
    g.add_argument("--cell-timeout", type=float, default=120.0,
                   help="seconds per cell when a submission is graded question by question")
    g.add_argument("--jobs", type=int, default=1, help="submissions graded at the same time")
    args = parser.parse_args(argv)
    if args.cmd == "build":
        build(args.src, args.out, args.names, run_tests=not args.no_run_tests, jobs=args.jobs)
    else:
        if not args.submissions.is_dir():
            parser.error(f"SUBMISSIONS must be a folder, got {args.submissions}")
        grade(args.submissions, args.out, args.timeout, args.cell_timeout, args.jobs)


if __name__ == "__main__":
    main()
