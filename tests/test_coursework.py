"""Coursework: the release has no solutions, and one grading run of a whole class shows that
the grader scores right answers fully, names each planted mistake on the right task, gives 0
with the reason for every kind of broken submission, and never touches the submissions.

The class is made in a temporary folder from the source notebooks themselves: the source as a
perfect student, the release as a student who did nothing, and copies with one line changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from coursework import (
    FormatError,
    assemble,
    load_assignment,
    load_source,
    release,
    sandbox,
    student_version,
)
from coursework import __main__ as cli
from coursework.notebooks import HIDDEN, SOLUTION, grade_id, is_solution, is_test

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "book" / "assignments"
A1, A2, A3, A4 = ("A1_forward_and_loss", "A2_bptt", "A3_clipping_and_truncation",
                  "A4_lstm_backward")
CELL_TIMEOUT = 5  # seconds: every cell of the assignments runs in well under one

# student -> (notebook, cell, line as written, the line with the mistake)
PLANTED = {
    "bug_transpose": (A2, "a2-step-grads-solution",
                      '"h_prev": params.W_hh.T @ da', '"h_prev": params.W_hh @ da'),
    "bug_no_tanh_slope": (A2, "a2-step-grads-solution",
                          "da = (1.0 - h_t**2) * dh", "da = dh"),
    "bug_tanh_slope_of_h_prev": (A2, "a2-step-grads-solution",
                                 "da = (1.0 - h_t**2) * dh", "da = (1.0 - h_prev**2) * dh"),
    "bug_overwritten": (A2, "a2-bptt-solution",
                        'grads["W_hh"] += step["W_hh"]', 'grads["W_hh"] = step["W_hh"]'),
    "bug_off_by_one": (A2, "a2-bptt-solution",
                       "rnn_step_grads(params, xs[t - 1], h[t - 1], h[t], dh)",
                       "rnn_step_grads(params, xs[t - 1], h[t], h[t], dh)"),
    "bug_off_by_one_output": (A1, "a1-forward-solution",
                              "y[t - 1] = params.W_oh @ h[t] + params.b_o",
                              "y[t - 1] = params.W_oh @ h[t - 1] + params.b_o"),
    "bug_elementwise_clip": (A3, "a3-clip-solution",
                             "clipped[name] = factor * grads[name]",
                             "clipped[name] = np.clip(grads[name], -max_norm, max_norm)"),
    "bug_forget_gate": (A4, "a4-step-grads-solution",
                        '"da_f": dc * step.c_prev * f * (1.0 - f)', '"da_f": dc * f * (1.0 - f)'),
}
# student -> {task: the mistake its feedback names}; the notebook's other tasks keep full marks:
# a task that calls an earlier task's helper is graded with the reference helper (one bug costs
# one task), so a mistake in rnn_step_grads costs a2-step-grads and not a2-bptt
NAMED = {
    "bug_transpose": {"a2-step-grads": "W_hh not transposed"},
    "bug_no_tanh_slope": {"a2-step-grads": "tanh derivative missing"},
    "bug_tanh_slope_of_h_prev": {
        "a2-step-grads": "tanh derivative of the wrong quantity (h_{t-1})"},
    "bug_overwritten": {"a2-bptt": "gradients overwritten (in W_hh)"},
    "bug_off_by_one": {"a2-bptt": "hidden-state index off by one"},
    "bug_off_by_one_output": {"a1-forward": "hidden-state index off by one (y_t from h_{t-1})"},
    "bug_elementwise_clip": {"a3-clip": "element-wise clipping instead of norm clipping"},
    "bug_forget_gate": {"a4-step-grads": "forget gate gradient missing c_{t-1}"},
}


CHEAT = """


def check_step_grads(*args, **kwargs):
    return bc.checks.CheckResult(True, "✓ correct")


get_ipython().showtraceback = lambda *args, **kwargs: None
"""

# --- making submissions ---------------------------------------------------------------------


def source_json(name: str) -> dict:
    return json.loads((SOURCE / f"{name}.ipynb").read_text())


def cell_of(nb: dict, gid: str) -> dict:
    return next(c for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade_id") == gid)


def text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def edit(nb: dict, gid: str, old: str, new: str) -> dict:
    cell = cell_of(nb, gid)
    assert text(cell).count(old) == 1, f"{gid}: {old!r} should occur once in the source"
    cell["source"] = text(cell).replace(old, new)
    return nb


def put(folder: Path, name: str, content: dict | str | bytes) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(content, dict):
        content = json.dumps(content, indent=1)
    path = folder / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())


def make_class(root: Path, released: Path) -> None:
    for path in SOURCE.glob("*.ipynb"):  # the source notebooks, solutions and all
        put(root / "perfect", path.name, path.read_text())
    for path in released.glob("*.ipynb"):
        put(root / "did_nothing", path.name, path.read_text())
    for student, (name, gid, old, new) in PLANTED.items():
        nb = edit(source_json(name), gid, old, new)
        if student == "bug_elementwise_clip":  # ... and a "fixed" copy of the test cell
            cell_of(nb, "a3-clip")["source"] = "pass  # this test always passes"
        if student == "bug_transpose":  # ... and a check that always agrees, tracebacks hidden
            cell = cell_of(nb, "a2-step-grads-solution")
            cell["source"] = text(cell) + CHEAT
        put(root / student, f"{name}.ipynb", nb)
    # a syntax error in task 1 of A1
    put(root / "syntax_error", f"{A1}.ipynb", edit(source_json(A1), "a1-rnn-step-solution",
                                                   "return np.tanh(a_t)", "return np.tanh(a_t"))
    # an exception inside a function (task 2), and one at the top of a solution cell (task 3)
    nb = edit(source_json(A1), "a1-forward-solution", "\n    h[0] = h0\n", "\n    h[0] = h0[99]\n")
    cell_of(nb, "a1-mse-solution")["source"] = ('raise RuntimeError("not done yet")\n\n'
                                                + text(cell_of(nb, "a1-mse-solution")))
    put(root / "exceptions", f"{A1}.ipynb", nb)
    # an endless loop in task 2 of A2: the tasks around it are still graded
    put(root / "endless_loop", f"{A2}.ipynb", edit(
        source_json(A2), "a2-bptt-solution", "        # output layer, y_t = W_oh h_t + b_o",
        "        while True:\n            pass"))
    # a cell that kills its kernel, in task 2 of A1
    put(root / "dead_kernel", f"{A1}.ipynb", edit(
        source_json(A1), "a1-forward-solution", "    return h, y",
        "    return h, y\n\n\nimport os\n\nos._exit(1)"))
    # a deleted test cell (restored from the source) and a deleted solution cell
    nb = source_json(A1)
    nb["cells"] = [c for c in nb["cells"]
                   if grade_id(c) not in ("a1-mse", "a1-mse-grad-solution")]
    put(root / "deleted_cells", f"{A1}.ipynb", nb)
    # every cell in reverse order, and a cell of the student's own
    nb = source_json(A2)
    nb["cells"] = nb["cells"][::-1]
    nb["cells"].insert(3, nbformat.v4.new_code_cell("scratch = 1 + 1"))
    put(root / "reordered", f"{A2}.ipynb", nb)
    # wrong names, a text file and a binary file under notebook names
    put(root / "wrong_files", "a3 (1).ipynb", (SOURCE / f"{A3}.ipynb").read_text())
    put(root / "wrong_files", f"{A4}.ipynb", "my answers are in the PDF\n")
    put(root / "wrong_files", f"{A1}.ipynb", b"\x89PNG\r\n\x1a\n\x00\x00\x00")
    (root / "notes.txt").write_text("not a student")


def fingerprint(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


# --- the release ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("release")
    done = subprocess.run([sys.executable, "-m", "coursework", "release", str(SOURCE),
                           "-o", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0, done.stderr
    return out


def solution_lines(cell) -> list[str]:
    lines, inside = [], False
    for line in cell.source.splitlines():
        if line.strip() in SOLUTION:
            inside = line.strip() == SOLUTION[0]
        elif inside and line.strip() and not line.strip().startswith("#"):
            lines.append(line.strip())
    return lines


def test_the_source_has_four_assignments_with_several_tasks_each():
    assignments = load_source(SOURCE)
    assert [a.name for a in assignments] == [A1, A2, A3, A4]
    assert all(len(a.tasks) >= 2 for a in assignments)


def test_release_has_no_solution_code_and_no_hidden_tests(released):
    for assignment in load_source(SOURCE):
        nb = nbformat.read(released / assignment.filename, as_version=4)
        ours = {grade_id(c): c for c in nb.cells}
        assert set(ours) == {grade_id(c) for c in assignment.notebook.cells}
        for cell in assignment.notebook.cells:
            student = ours[grade_id(cell)]
            assert not any(m in student.source for m in (*SOLUTION, *HIDDEN))
            if cell.cell_type == "code":
                assert student.outputs == [] and student.execution_count is None
            assert not set(student.metadata.get("tags", [])) & {"remove-input", "hide-input"}
            if is_solution(cell):
                assert "raise NotImplementedError()" in student.source
                for line in solution_lines(cell):
                    assert line not in student.source.splitlines(), line
                signature = next(line for line in cell.source.splitlines()
                                 if line.startswith("def "))
                assert signature in student.source  # the scaffolding stays
            if is_test(cell):
                assert student.source.strip()
                visible = cell.source.split(HIDDEN[0])[0].strip()
                assert student.source.strip() == visible


def test_release_refuses_to_write_into_the_source(tmp_path):
    with pytest.raises(FormatError, match="outside the source folder"):
        release(load_source(SOURCE), SOURCE / "release")


def test_a_broken_source_is_refused(tmp_path):
    nb = source_json(A1)
    put(tmp_path, "unclosed.ipynb", edit(nb, "a1-mse-solution", "    ### END SOLUTION", ""))
    with pytest.raises(FormatError, match="never closed"):
        load_assignment(tmp_path / "unclosed.ipynb")
    nb = source_json(A1)
    cell_of(nb, "a1-mse")["metadata"]["nbgrader"]["points"] = 0
    put(tmp_path, "no_points.ipynb", nb)
    with pytest.raises(FormatError, match="points must be a number > 0"):
        load_assignment(tmp_path / "no_points.ipynb")


def test_assembly_takes_the_students_solutions_and_the_sources_tests():
    assignment = load_assignment(SOURCE / f"{A1}.ipynb")
    student = student_version(assignment.notebook)
    cell_of(student, "a1-mse")["source"] = "pass"  # a tampered test
    student.cells = [c for c in student.cells if grade_id(c) != "a1-forward-solution"]
    student.cells.insert(0, nbformat.v4.new_code_cell("first = 1"))  # before everything
    setup = next(i for i, c in enumerate(student.cells) if grade_id(c) == "a1-setup")
    student.cells.insert(setup + 1, nbformat.v4.new_code_cell("mine = 1"))  # after the setup
    built = assemble(assignment, student)
    sources = [c.source for c in built.notebook.cells]
    assert text(cell_of(built.notebook, "a1-mse")) == text(cell_of(assignment.notebook, "a1-mse"))
    assert "### BEGIN HIDDEN TESTS" in text(cell_of(built.notebook, "a1-mse"))
    assert "raise NotImplementedError()" in text(cell_of(built.notebook, "a1-forward-solution"))
    assert "missing" in built.notes["a1-forward-solution"]
    ids = [grade_id(c) for c in built.notebook.cells]
    assert sources.index("mine = 1") == ids.index("a1-setup") + 1  # where the student put it
    assert sources.index("first = 1") == ids.index("a1-rnn-step-solution") - 1  # after setup
    assert [i for i in ids if i] == [grade_id(c) for c in assignment.notebook.cells]


# --- one grading run of the whole class ---------------------------------------------------------


@pytest.fixture(scope="module")
def graded(tmp_path_factory, released):
    root = tmp_path_factory.mktemp("class")
    submissions = root / "submissions"
    make_class(submissions, released)
    before = fingerprint(submissions)
    out = root / "grades.csv"
    done = subprocess.run(
        [sys.executable, "-m", "coursework", "grade", str(submissions), "-o", str(out),
         "--source", str(SOURCE), "--timeout", "60", "--cell-timeout", str(CELL_TIMEOUT),
         "--jobs", "2"],
        capture_output=True, text=True, cwd=root, timeout=600)
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"done": done, "rows": rows, "before": before, "after": fingerprint(submissions),
            "by": {(r["student"], r["task"]): r for r in rows}, "out": out}


def tasks_of(name: str) -> list[str]:
    return [task.grade_id for task in load_assignment(SOURCE / f"{name}.ipynb").tasks]


def full(graded, student: str, task: str) -> bool:
    row = graded["by"][(student, task)]
    return float(row["points"]) == float(row["max_points"]) and row["feedback"] == "✓ correct"


def lost(graded, student: str, task: str, *phrases: str) -> str:
    row = graded["by"][(student, task)]
    assert float(row["points"]) == 0, f"{student} {task}: {row}"
    for phrase in phrases:
        assert phrase in row["feedback"], f"{student} {task}: {row['feedback']}"
    return row["feedback"]


def test_the_run_finishes_with_exit_code_0_a_summary_and_a_progress_bar(graded):
    done = graded["done"]
    assert done.returncode == 0, done.stderr[-3000:]
    assert "perfect" in done.stdout and "34/34" in done.stdout
    assert "Ignored (not a student folder): notes.txt" in done.stdout
    assert "[##############################]" in done.stderr
    assert re.search(r"\] \d+/\d+ ETA \d+:\d\d:\d\d ", done.stderr)  # the progress bar's ETA


def test_a_student_who_redefines_a_check_still_loses_and_is_flagged(graded):
    lost(graded, "bug_transpose", "a2-step-grads", "W_hh not transposed")
    assert ("bug_transpose / A2_bptt: cell a2-step-grads-solution touches the checks"
            in graded["done"].stdout)


def test_the_gradebook_has_one_row_per_student_with_a_column_per_assignment(graded):
    book = graded["out"].with_name("grades-gradebook.csv")
    with book.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    students = sorted({r["student"] for r in graded["rows"]})
    assert sorted(r["student"] for r in rows) == students
    assert list(rows[0]) == ["student", f"{A1} (/8)", f"{A2} (/9)", f"{A3} (/8)", f"{A4} (/9)",
                             "total", "max_total"]
    for row in rows:
        mine = [r for r in graded["rows"] if r["student"] == row["student"]]
        assert float(row["total"]) == sum(float(r["points"]) for r in mine)
        assert row["max_total"] == "34"
    perfect = next(r for r in rows if r["student"] == "perfect")
    assert perfect["total"] == "34"


def test_each_student_gets_a_feedback_file_with_the_diagnosis(graded):
    folder = graded["out"].with_name("grades-feedback")
    students = {r["student"] for r in graded["rows"]}
    assert {p.stem for p in folder.glob("*.md")} == students
    text = (folder / "bug_transpose.md").read_text(encoding="utf-8")
    assert "# Feedback for bug_transpose" in text and "Total: **6 / 34**" in text
    assert "| `a2-step-grads` | 0 / 3 | ✗ likely mistake, W_hh not transposed" in text


def test_csv_has_one_row_per_student_and_task(graded):
    rows = graded["rows"]
    assert list(rows[0]) == ["student", "assignment", "task", "points", "max_points",
                             "feedback"]
    students = {r["student"] for r in rows}
    assert len(rows) == len(students) * sum(len(tasks_of(a)) for a in (A1, A2, A3, A4))
    assert all(r["feedback"] for r in rows)  # every row says something, lost points why


def test_the_source_notebooks_get_full_marks(graded):
    for name in (A1, A2, A3, A4):
        for task in tasks_of(name):
            assert full(graded, "perfect", task), graded["by"][("perfect", task)]


def test_the_released_notebooks_get_zero_with_not_implemented(graded):
    for name in (A1, A2, A3, A4):
        for task in tasks_of(name):
            lost(graded, "did_nothing", task, "not implemented")


@pytest.mark.parametrize("student", list(PLANTED))
def test_a_planted_mistake_loses_points_on_its_task_with_its_hint(graded, student):
    name = PLANTED[student][0]
    for task in tasks_of(name):
        if task in NAMED[student]:
            lost(graded, student, task, f"likely mistake, {NAMED[student][task]}:")
        else:
            assert full(graded, student, task), graded["by"][(student, task)]


def test_a_syntax_error_costs_its_task_only(graded):
    lost(graded, "syntax_error", "a1-rnn-step", "SyntaxError", "a1-rnn-step-solution")
    # forward calls rnn_step: it is graded with the reference rnn_step (one bug, one task)
    for task in ("a1-forward", "a1-mse", "a1-mse-grad"):
        assert full(graded, "syntax_error", task), graded["by"][("syntax_error", task)]


def test_exceptions_are_reported(graded):
    lost(graded, "exceptions", "a1-forward", "your function raised IndexError")
    lost(graded, "exceptions", "a1-mse", "RuntimeError: not done yet", "a1-mse-solution")
    assert full(graded, "exceptions", "a1-rnn-step") and full(graded, "exceptions",
                                                              "a1-mse-grad")


def test_an_endless_loop_hits_the_time_limit_and_the_other_tasks_are_graded(graded):
    lost(graded, "endless_loop", "a2-bptt", "still running", f"{CELL_TIMEOUT} s")
    assert full(graded, "endless_loop", "a2-step-grads")
    assert full(graded, "endless_loop", "a2-numerical")  # after a new kernel


def test_a_dead_kernel_costs_only_its_task(graded):
    lost(graded, "dead_kernel", "a1-forward", "killed the kernel")
    for task in ("a1-rnn-step", "a1-mse", "a1-mse-grad"):
        assert full(graded, "dead_kernel", task)


def test_deleted_cells(graded):
    assert full(graded, "deleted_cells", "a1-mse")  # the test cell comes from the source
    lost(graded, "deleted_cells", "a1-mse-grad", "a1-mse-grad-solution", "missing")


def test_reordered_cells_and_added_cells_change_nothing(graded):
    for task in tasks_of(A2):
        assert full(graded, "reordered", task)


def test_wrong_names_and_files_that_are_not_notebooks(graded):
    for task in tasks_of(A3):
        lost(graded, "wrong_files", task, "not submitted",
             "a3 (1).ipynb holds this assignment's cells")
    for task in tasks_of(A4):
        lost(graded, "wrong_files", task, "not a notebook")
    for task in tasks_of(A1):
        lost(graded, "wrong_files", task, "not a notebook")
    for task in tasks_of(A2):
        lost(graded, "wrong_files", task, "not submitted: no A2_bptt.ipynb")


def test_grading_leaves_the_submissions_byte_identical(graded):
    assert graded["after"] == graded["before"]


# --- when the grader itself fails -------------------------------------------------------------


def test_no_source_is_exit_code_2(tmp_path):
    (tmp_path / "alice").mkdir()
    code = cli.main(["grade", str(tmp_path), "-o", str(tmp_path.parent / "g.csv"),
                     "--source", str(tmp_path / "nowhere")])
    assert code == 2


def test_a_kernel_that_cannot_start_is_exit_code_1_and_the_csv_is_written(tmp_path,
                                                                         monkeypatch):
    put(tmp_path / "class" / "alice", f"{A1}.ipynb", (SOURCE / f"{A1}.ipynb").read_text())
    monkeypatch.setattr(sandbox.sys, "executable", str(tmp_path / "no-such-python"))
    out = tmp_path / "grades.csv"
    code = cli.main(["grade", str(tmp_path / "class"), "-o", str(out), "--source", str(SOURCE),
                     "--jobs", "1", "--no-sandbox"])
    assert code == 1
    rows = list(csv.DictReader(out.open()))
    alice = [r for r in rows if r["assignment"] == A1]
    assert alice and all("grader error" in r["feedback"] for r in alice)


# --- the instructors' guide ---------------------------------------------------------------------


def test_the_guides_table_of_mistakes_matches_the_checks():
    from bptt_core.checks import assignments as checks
    from bptt_core.checks.backward import BACKWARD_MISTAKES
    from bptt_core.checks.clipping import CLIP_MISTAKES
    from bptt_core.checks.lstm import LSTM_STEP_MISTAKES

    known = {*BACKWARD_MISTAKES, *CLIP_MISTAKES, *LSTM_STEP_MISTAKES,
             *checks.FORWARD_MISTAKES, *checks.STEP_GRAD_MISTAKES, *checks.NUMERICAL_MISTAKES,
             *checks.TRUNCATED_MISTAKES, *checks.LSTM_BPTT_MISTAKES}
    tasks = {t.grade_id for a in load_source(SOURCE) for t in a.tasks}
    guide = (SOURCE / "instructors.md").read_text()
    table = guide.split("| mistake | named in |")[1].split("\n\n")[0]
    rows = [line.split(" | ") for line in table.splitlines() if line.startswith("| `")]
    assert len(rows) >= 6
    for mistakes, where in rows:
        while re.search(r"\([^()]*\)", mistakes):  # explanations in parentheses are not names
            mistakes = re.sub(r"\([^()]*\)", "", mistakes)
        for name in mistakes.strip("| ").split("`")[1::2]:
            assert name in known or any(m.startswith(name) for m in known), name
        for task in where.strip(" |").split("`")[1::2]:
            assert task in tasks, task
