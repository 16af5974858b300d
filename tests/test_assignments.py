"""Graded assignments (assignments/*.md, _ext/assignments.py, otter-grader).

For every assignment: the solution notebook earns full marks, the untouched student notebook earns
less and is graded without error, and the student notebook holds no solution line and no hidden
test. A submission with an infinite loop in one question, and one with a crashing cell, still get
their other questions graded.

`otter assign` runs once per session (module fixture, without otter's own test run: the grading
below checks the same thing) and every submission is graded by the real `otter run` in a
subprocess, two at a time. Measured on a shared 2-core machine, see the report of this test file;
the slow tests are marked ``slow`` (deselect with ``-m "not slow"``).
"""
from __future__ import annotations

import csv
import importlib.util
import json
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("otter", reason="otter-grader is not installed (requirements.txt)")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "assignments"
NAMES = sorted(p.stem for p in SRC.glob("[0-9][0-9]_*.md"))

_spec = importlib.util.spec_from_file_location("assignments_tool", ROOT / "_ext" / "assignments.py")
tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tool)


def _cells(md_text):
    """(kind, body) of each fenced cell of a MyST notebook: kind is 'code' or 'raw'."""
    return [(m.group(1).split("-")[0], m.group(2)) for m in
            re.finditer(r"^```\{(code-cell|raw-cell)\}[^\n]*\n(.*?)^```\s*$", md_text, re.M | re.S)]


def _solution_lines(md_text):
    """Every code line between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` comments."""
    lines = []
    for kind, body in _cells(md_text):
        if kind != "code":
            continue
        inside = False
        for line in body.splitlines():
            tag = line.strip()
            if tag == "# BEGIN SOLUTION":
                inside = True
            elif tag == "# END SOLUTION":
                inside = False
            elif inside and tag:
                lines.append(tag)
    return lines


def _hidden_test_names(md_text):
    names = []
    for kind, body in _cells(md_text):
        if kind == "code" and "BEGIN TEST CONFIG" in body and re.search(r"^hidden:\s*true", body, re.M):
            names += re.findall(r"^def (test_\w+)", body, re.M)
    return names


def _code_text(nb):
    return "\n".join(c.source for c in nb.cells if c.cell_type == "code")


# ---------------------------------------------------------------- the sources (fast, no otter run)

def test_at_least_the_chapters_with_implementation_exercises():
    numbers = {n[:2] for n in NAMES}
    assert {"02", "03", "05", "06", "07", "08", "09"} <= numbers, NAMES


@pytest.mark.parametrize("name", NAMES)
def test_master_notebook_structure(name):
    text = (SRC / f"{name}.md").read_text()
    cells = _cells(text)
    config = cells[0]
    assert config[0] == "raw" and config[1].startswith("# ASSIGNMENT CONFIG"), "first cell: otter's config"
    assert f"\nname: {name}\n" in config[1], "the assignment name must be the file name"
    questions = [b for k, b in cells if k == "raw" and b.startswith("# BEGIN QUESTION")]
    assert len(questions) >= 2
    for q in questions:
        assert re.search(r"^points:\s*\d", q, re.M), f"question without points: {q!r}"
    # each question: solution cells marked for removal, a public and a hidden test
    blocks = re.split(r"# BEGIN QUESTION", text)[1:]
    for block in blocks:
        qname = re.search(r"^name:\s*(\S+)", block, re.M).group(1)
        tests = block.split("# BEGIN TESTS", 1)[1].split("# END TESTS", 1)[0]
        n_tests = len(re.findall(r"^def test_", tests, re.M))
        n_hidden = len(re.findall(r"^hidden:\s*true", tests, re.M))
        assert n_hidden >= 1 and n_tests > n_hidden, f"{qname}: needs public and hidden tests"
        assert "# BEGIN SOLUTION" in block.split("# BEGIN TESTS", 1)[0], f"{qname}: no solution block"
    assert _solution_lines(text), "no solution lines found"


def test_question_names_are_unique_across_assignments():
    # the student setup cell writes public tests to ./tests without overwriting: names must not clash
    seen = {}
    for name in NAMES:
        for q in re.findall(r"# BEGIN QUESTION\nname:\s*(\S+)", (SRC / f"{name}.md").read_text()):
            assert q not in seen, f"question {q} is in {seen.get(q)} and {name}"
            seen[q] = name


# ---------------------------------------------------------------- otter assign, once per session

@pytest.fixture(scope="module")
def built(tmp_path_factory):
    out = tmp_path_factory.mktemp("assignments")
    tool.build(SRC, out, run_tests=False, jobs=2)
    return out


@pytest.fixture(scope="module")
def graded(built, tmp_path_factory):
    """Grade every solution notebook and every untouched student notebook (14 otter runs)."""
    subs = tmp_path_factory.mktemp("submissions")
    for name in NAMES:
        shutil.copy(built / "autograder" / name / f"{name}.ipynb", subs / f"solution-{name}.ipynb")
        shutil.copy(built / "student" / f"{name}.ipynb", subs / f"untouched-{name}.ipynb")
    csv_path = tool.grade(subs, built, timeout=900, cell_timeout=300, jobs=2)
    with open(csv_path) as f:
        return list(csv.DictReader(f))


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_build_outputs(built, name):
    student = built / "student" / f"{name}.ipynb"
    ag = built / "autograder" / name
    for path in (student, ag / "autograder.zip", ag / f"{name}.ipynb"):
        assert path.exists(), path
    assert sorted(p.stem for p in (ag / "tests").glob("*.py")) == sorted(tool.questions_of(ag / "autograder.zip"))
    nb = nbformat.read(student, as_version=4)
    nbformat.validate(nb)
    first, second = nb.cells[0], nb.cells[1]
    assert first.source.startswith(tool.SETUP_MARK)
    assert "gradnetot" in first.source and "otter-grader" in first.source and "find_spec" in first.source
    assert "otter.Notebook(" in second.source
    assert nb.metadata["otter"]["assignment_name"] == name
    assert not any(c.source.startswith("%pip") for c in nb.cells), "otter's unconditional pip cell is replaced"


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_student_notebook_holds_no_solution_and_no_hidden_test(built, name):
    text = (SRC / f"{name}.md").read_text()
    code = _code_text(nbformat.read(built / "student" / f"{name}.ipynb", as_version=4))
    leaked = [line for line in _solution_lines(text) if line in code]
    assert not leaked, f"solution lines in the student notebook: {leaked}"
    assert "BEGIN SOLUTION" not in code and "END SOLUTION" not in code
    hidden = _hidden_test_names(text)
    assert hidden
    assert not [h for h in hidden if h in code], "hidden tests in the student notebook"
    # ... and the instructor's copy has them all
    ag_tests = "\n".join(p.read_text() for p in (built / "autograder" / name / "tests").glob("*.py"))
    assert all(h in ag_tests for h in hidden)


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_solution_full_marks_untouched_less(graded, name):
    def rows(prefix):
        r = [row for row in graded if row["submission"] == f"{prefix}-{name}.ipynb"]
        assert r and all(row["assignment"] == name for row in r)
        return r

    sol, stu = rows("solution"), rows("untouched")
    assert [r["question"] for r in sol] == [r["question"] for r in stu]
    earned = sum(float(r["points_earned"]) for r in sol)
    possible = sum(float(r["points_possible"]) for r in sol)
    assert possible > 0 and earned == possible, sol
    assert all(r["note"] == "" for r in sol + stu), "graded in one otter run, no fallback needed"
    assert sum(float(r["points_earned"]) for r in stu) < possible
    assert sum(float(r["points_possible"]) for r in stu) == possible


# ---------------------------------------------------------------- faulty submissions

def _solution_with(built, name, question_fn, new_source):
    nb = nbformat.read(built / "autograder" / name / f"{name}.ipynb", as_version=4)
    hits = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(f"def {question_fn}")]
    assert len(hits) == 1
    hits[0].source = new_source(hits[0].source)
    return nb


@pytest.mark.slow
def test_infinite_loop_and_crash_leave_other_questions_graded(built, tmp_path):
    name = "09_robot_swarms"
    subs = tmp_path / "subs"
    subs.mkdir()
    # a function that never returns when the tests call it (question 1)
    nbformat.write(_solution_with(built, name, "min_distance",
                                  lambda s: "def min_distance(x):\n    while True:\n        pass\n"),
                   subs / "loop.ipynb")
    # a cell that raises before defining question 1's function
    nbformat.write(_solution_with(built, name, "min_distance",
                                  lambda s: 'raise RuntimeError("student bug")\n' + s),
                   subs / "crash.ipynb")
    out = tmp_path / "out"
    shutil.copytree(built / "autograder", out / "autograder")
    # the loop costs one whole-run time-out, then a per-cell one; both generous for a 2-core CI machine
    csv_path = tool.grade(subs, out, timeout=75, cell_timeout=25, jobs=2)
    rows = {(r["submission"], r["question"]): r for r in csv.DictReader(open(csv_path))}
    q1, q2 = "a9_q1_min_distance", "a9_q2_assignment"
    for sub in ("loop.ipynb", "crash.ipynb"):
        assert float(rows[sub, q1]["points_earned"]) == 0
        assert float(rows[sub, q2]["points_earned"]) == float(rows[sub, q2]["points_possible"]) > 0, rows[sub, q2]
    assert "ran longer than" in rows["loop.ipynb", q1]["note"]


def test_grade_reports_unknown_submissions(tmp_path):
    ag = tmp_path / "out" / "autograder" / "02_optimal_transport"
    ag.mkdir(parents=True)
    # an empty but valid bundle is enough to be listed as a known assignment
    import zipfile
    with zipfile.ZipFile(ag / "autograder.zip", "w") as z:
        z.writestr("tests/a2_q1_sinkhorn.py", "points = 4\n")
    subs = tmp_path / "subs"
    subs.mkdir()
    (subs / "mystery.ipynb").write_text(json.dumps(nbformat.v4.new_notebook()))
    csv_path = tool.grade(subs, tmp_path / "out", timeout=5, cell_timeout=5)
    rows = list(csv.DictReader(open(csv_path)))
    assert len(rows) == 1 and "cannot tell which assignment" in rows[0]["note"]
    assert tool.questions_of(ag / "autograder.zip") == {"a2_q1_sinkhorn": 4.0}
