"""Grade a class: every student's notebooks, each in a sandboxed kernel, one CSV row per task.

A submission is never trusted for anything but its solution cells. The notebook that runs is
the source notebook with each solution cell replaced by the student's cell of the same
grade_id, and without the test cells: the setup cells and the order of the cells are the
source's. Cells the student added ride along after the cell they followed. Then the source's
test cells, hidden tests included, run in the grader's own process (coursework.verdict) and
call the student's functions in the kernel through the probe. Whatever a notebook does (a
syntax error, an exception, an endless loop, a dead kernel, a resource limit), its tasks are
scored and the run goes on; submissions are read, never written: each student's folder is
copied to a scratch folder, the only place the sandboxed kernel can write.

Notebooks are graded in parallel (``jobs`` worker processes, one per notebook, one kernel
each; coursework.workers stops a worker that outlives ``hard_limit``); the rows come out in the
same order as a serial run. Each finished notebook's result is kept in a state
folder, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbformat import NotebookNode

from .gradebook import COLUMNS  # noqa: F401 -- re-exported
from .notebooks import (
    SOLUTION,
    STUB,
    Assignment,
    grade_id,
    is_solution,
    load_assignment,
    read_notebook,
    replace_regions,
)
from .runner import CellRun, KernelSession, KernelStartError
from .sandbox import Sandbox, matplotlib_cache
from .verdict import Verdict, judge
from .workers import run_all

DEFAULT_TIMEOUT = 120.0  # seconds per notebook; the book's assignments run in a few seconds
DEFAULT_CELL_TIMEOUT = 30.0  # seconds per cell, and per call of a graded function
# seconds a notebook's worker may take beyond its two budgets of --timeout (its cells, then the
# grader's calls of its functions), to start and stop kernels; then it is stopped
KERNEL_ALLOWANCE = 120.0
MAX_FEEDBACK = 700  # characters: a traceback's first lines, not a page of it
SKIPPED_NAMES = frozenset({".git", ".ipynb_checkpoints", "__pycache__", "__MACOSX", ".venv",
                           "venv", "node_modules"})
MAX_COPIED_FILE = 50 * 2**20  # bytes: larger files stay behind (a notebook needs none)


@dataclass
class Row:
    """One line of the CSV: a student's result on one task."""

    student: str
    assignment: str
    task: str
    points: float
    max_points: float
    feedback: str

    def as_csv(self) -> list[str]:
        return [self.student, self.assignment, self.task, f"{self.points:g}",
                f"{self.max_points:g}", self.feedback]


@dataclass
class NotebookResult:
    """A student's result on one assignment: its rows, a problem worth a line in the summary."""

    rows: list[Row]
    problem: str = ""
    grader_error: bool = False
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return sum(row.points for row in self.rows)


@dataclass
class Report:
    """Everything a grading run produced, in order: student by student, assignment by
    assignment."""

    assignments: list[Assignment]
    results: dict[str, dict[str, NotebookResult]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)
    seconds: float = 0.0
    resumed: int = 0  # notebooks whose result came from the state of an earlier run

    @property
    def rows(self) -> list[Row]:
        return [row for by_assignment in self.results.values()
                for result in by_assignment.values() for row in result.rows]

    @property
    def grader_errors(self) -> int:
        return sum(result.grader_error for by_assignment in self.results.values()
                   for result in by_assignment.values())


# --- which cells run ---------------------------------------------------------------------------


@dataclass
class Assembled:
    """The notebook that runs, the role of each of its cells, and notes per solution cell.

    roles[i] is ("source", grade_id or None), ("solution", grade_id) or ("extra", None).
    """

    notebook: NotebookNode
    roles: list[tuple[str, str | None]]
    notes: dict[str, str]


def assemble(assignment: Assignment, submitted: NotebookNode) -> Assembled:
    """The source notebook with the student's solution cells (matched by grade_id) and added
    code cells in it.

    A solution cell the student deleted (or turned into Markdown) becomes the released stub and
    gets a note. A code cell the student added runs after the source cell it followed in the
    student's notebook (before the first solution cell when it followed none); a student's copy
    of a locked or test cell is ignored: the source's copy runs.
    """
    source_cells = assignment.notebook.cells
    known = {grade_id(cell) for cell in source_cells} - {None}
    solutions = {grade_id(cell) for cell in source_cells if is_solution(cell)}
    theirs: dict[str, NotebookNode] = {}
    extras: dict[str | None, list[NotebookNode]] = {}
    anchor: str | None = None
    for cell in submitted.cells:
        gid = grade_id(cell)
        if gid in solutions and gid not in theirs:
            theirs[gid] = cell
            anchor = gid
        elif gid in known and gid not in solutions:
            anchor = gid  # the student's copy of a locked or test cell: the source's runs
        elif cell.get("cell_type") == "code" and cell.get("source", "").strip():
            extras.setdefault(anchor, []).append(cell)  # added, or a copied solution cell

    cells, roles, notes = [], [], {}

    def add(cell: NotebookNode, role: tuple[str, str | None]) -> None:
        cell = copy.deepcopy(cell)
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
        cells.append(cell)
        roles.append(role)

    first_solution = True
    for cell in source_cells:
        gid = grade_id(cell)
        if gid in solutions and cell.cell_type == "code":
            if first_solution:
                for extra in extras.get(None, []):
                    add(extra, ("extra", None))
                first_solution = False
            mine = theirs.get(gid)
            if mine is None or mine.get("cell_type") != "code":
                notes[gid] = (f"the cell {gid} with your code is missing from your notebook"
                              if mine is None else f"the cell {gid} should be code, not "
                                                   f"{mine.get('cell_type')}")
                stub = copy.deepcopy(cell)
                stub.source = replace_regions(cell.source, SOLUTION, STUB)
                add(stub, ("solution", gid))
            else:
                add(mine, ("solution", gid))
        else:
            add(cell, ("source", gid))
        for extra in extras.get(gid, []) if gid is not None else []:
            add(extra, ("extra", None))
    if first_solution:  # no solution cell at all in the source: added cells run at the end
        for extra in extras.get(None, []):
            add(extra, ("extra", None))
    nb = copy.deepcopy(assignment.notebook)
    nb.cells = cells
    return Assembled(nb, roles, notes)


# Student code that touches the checks: legitimate code never needs to, so it is worth a look
SUSPICIOUS = re.compile(
    r"^\s*def\s+(check_\w+|verdict|run_check)\b"  # a check redefined
    r"|^\s*(check_\w+|verdict|run_check)\s*="  # or rebound
    r"|\bbptt_core\.checks\b|\bCheckResult\b|\bshowtraceback\b",  # or reached into
    re.MULTILINE)


def tampering(assembled: Assembled) -> list[str]:
    """Notes on the student's cells that mention or redefine the checks (for a human to look)."""
    found = []
    for cell, (kind, gid) in zip(assembled.notebook.cells, assembled.roles):
        if kind in ("solution", "extra") and cell.get("cell_type") == "code":
            match = SUSPICIOUS.search(cell.get("source", ""))
            if match:
                where = f"cell {gid}" if gid else "a cell you added"
                found.append(f"{where} touches the checks ({match.group(0).strip()}): "
                             f"look at it by hand")
    return found


# --- from cell runs to points and feedback ------------------------------------------------------


def _one_line(text: str, limit: int = MAX_FEEDBACK) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _what_happened(run: CellRun) -> str:
    if run.status == "error":
        return f"raised {run.ename}: {run.evalue}" if run.evalue else f"raised {run.ename}"
    if run.status in ("timeout", "died"):
        return run.evalue
    return run.reason


def score(assignment: Assignment, assembled: Assembled, runs: list[CellRun],
          verdicts: dict[str, Verdict]) -> list[tuple[str, float, str]]:
    """(task, points, feedback) for every task, from the verdicts and the cells' runs."""
    position = {role: index for index, role in enumerate(assembled.roles)}
    setup_failures = [
        f"the notebook's cell {gid} failed ({_what_happened(runs[index])})"
        for index, (kind, gid) in enumerate(assembled.roles)
        if kind == "source" and runs[index].status in ("error", "timeout", "died")
        and not any(gid == task.grade_id for task in assignment.tasks)]
    results, previous = [], -1
    for task in assignment.tasks:
        here = position[("source", task.grade_id)]
        verdict = verdicts.get(task.grade_id, Verdict(False, "not graded"))
        if verdict.passed:
            results.append((task.grade_id, task.points, "✓ correct"))
            previous = here
            continue
        causes = [assembled.notes[sid] for sid in task.solution_ids if sid in assembled.notes]
        for index in range(previous + 1, here):  # this task's cells: the student's code
            kind, gid = assembled.roles[index]
            if kind in ("solution", "extra") and runs[index].status in ("error", "timeout",
                                                                         "died", "not run"):
                cell = f"cell {gid}" if gid else "a cell you added"
                causes.append(f"your code ({cell}) {_what_happened(runs[index])}")
        message = verdict.message
        if causes and not message.startswith("✗"):
            message = f"then {message}"
        context = [f for f in setup_failures if f not in causes][:1]
        results.append((task.grade_id, 0.0, _one_line("; ".join([*causes, *context, message]))))
        previous = here
    return results


# --- one student, one assignment ----------------------------------------------------------------


def find_submission(folder: Path, filename: str) -> tuple[Path | None, str]:
    """The student's file named ``filename`` anywhere in their folder, and a note if several."""
    found = sorted((p for p in folder.rglob(filename) if p.is_file()
                    and not any(part in SKIPPED_NAMES for part in p.relative_to(folder).parts)),
                   key=lambda p: (len(p.relative_to(folder).parts), str(p)))
    if not found:
        return None, ""
    note = (f"{len(found)} files named {filename}; graded {found[0].relative_to(folder)}"
            if len(found) > 1 else "")
    return found[0], note


def _misnamed(folder: Path, assignment: Assignment) -> str:
    """A hint when the notebook is missing: another notebook of the student that holds it."""
    ids = {grade_id(cell) for cell in assignment.notebook.cells} - {None}
    for path in sorted(folder.rglob("*.ipynb")):
        if not path.is_file() or any(part in SKIPPED_NAMES
                                     for part in path.relative_to(folder).parts):
            continue
        try:
            cells = read_notebook(path).cells
        except (ValueError, OSError):
            continue
        if ids & {grade_id(cell) for cell in cells}:
            return (f"; {path.relative_to(folder)} holds this assignment's cells: submit it as "
                    f"{assignment.filename}")
    return ""


def _zero(student: str, assignment: Assignment, feedback: str) -> list[Row]:
    return [Row(student, assignment.name, task.grade_id, 0.0, task.points, _one_line(feedback))
            for task in assignment.tasks]


def _copy_folder(folder: Path, target: Path) -> None:
    """Copy a student's folder for a run: regular files and folders only, no links, no giants."""
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set()
        for name in names:
            try:
                info = os.lstat(os.path.join(directory, name))
            except OSError:
                skipped.add(name)
                continue
            regular = stat.S_ISREG(info.st_mode) and info.st_size <= MAX_COPIED_FILE
            if name in SKIPPED_NAMES or not (stat.S_ISDIR(info.st_mode) or regular):
                skipped.add(name)
        return skipped

    try:
        shutil.copytree(folder, target, ignore=ignore, symlinks=True)
    except (OSError, shutil.Error):  # unreadable files stay behind; the notebook runs anyway
        target.mkdir(parents=True, exist_ok=True)


def kernel_notebook(assignment: Assignment, assembled: Assembled) -> NotebookNode:
    """The notebook the kernel runs: the assembled one with the test cells emptied (their
    code runs in the grader; the cells stay, so that positions match ``assembled.roles``)."""
    nb = copy.deepcopy(assembled.notebook)
    tasks = {task.grade_id for task in assignment.tasks}
    for cell, (kind, gid) in zip(nb.cells, assembled.roles):
        if kind == "source" and gid in tasks:
            cell.source = ""
    return nb


def grade_notebook(student: str, folder: Path, assignment: Assignment, workdir: Path, *,
                   sandbox: Sandbox, timeout: float = DEFAULT_TIMEOUT,
                   cell_timeout: float = DEFAULT_CELL_TIMEOUT) -> NotebookResult:
    """Grade one assignment of one student, whose files are in ``folder`` (read only).

    ``workdir`` is an empty scratch folder; the student's folder is copied into it and the
    notebook runs there, in ``sandbox``.
    """
    started = time.monotonic()
    path, note = find_submission(folder, assignment.filename)
    if path is None:
        problem = f"no {assignment.filename}{_misnamed(folder, assignment)}"
        return NotebookResult(_zero(student, assignment, f"not submitted: {problem}"),
                              problem=problem)
    where = path.relative_to(folder)
    try:
        submitted = read_notebook(path)
    except (ValueError, OSError) as error:
        problem = f"{where} is {error}" if isinstance(error, ValueError) else \
            f"{where} could not be read: {error}"
        return NotebookResult(_zero(student, assignment, problem), problem=problem)
    assembled = assemble(assignment, submitted)
    scratch = workdir / "submission"
    _copy_folder(folder, scratch)
    if sandbox.matplotlib_cache is not None:  # where kernel_environment's MPLCONFIGDIR points
        shutil.copytree(sandbox.matplotlib_cache, scratch / ".config" / "matplotlib",
                        dirs_exist_ok=True)
    cwd = scratch / where.parent
    cwd.mkdir(parents=True, exist_ok=True)
    session = KernelSession(kernel_notebook(assignment, assembled), cwd, scratch, sandbox,
                            timeout=timeout, cell_timeout=cell_timeout)
    try:
        runs = session.run()
        verdicts = judge(assignment, session, call_timeout=cell_timeout)
    except KernelStartError as error:
        problem = f"grader error: {error}"
        return NotebookResult(_zero(student, assignment, problem), problem=problem,
                              grader_error=True, seconds=time.monotonic() - started)
    finally:
        session.close()
    rows = [Row(student, assignment.name, task, points, max_points, feedback)
            for (task, points, feedback), max_points
            in zip(score(assignment, assembled, runs, verdicts),
                   (t.points for t in assignment.tasks))]
    problems = [note] if note else []
    for (kind, gid), run in zip(assembled.roles, runs):
        if run.status in ("timeout", "died") or run.ename.endswith("MemoryError"):
            problems.append(f"{'a cell you added' if kind == 'extra' else f'cell {gid}'} "
                            f"{run.evalue}")
    if any(run.status == "not run" for run in runs):
        problems.append(next(run.reason for run in runs if run.status == "not run"))
    problems += [f"{task}: {v.message}" for task, v in verdicts.items()
                 if not v.passed and v.message.startswith(("your function", "grader error"))]
    problems += list(assembled.notes.values())
    problems += tampering(assembled)
    failed = any(v.message.startswith("grader error") for v in verdicts.values())
    return NotebookResult(rows, problem="; ".join(dict.fromkeys(problems)),
                          grader_error=failed, seconds=time.monotonic() - started)


# --- the class ---------------------------------------------------------------------------------


def students_in(submissions: Path) -> tuple[list[tuple[str, Path]], list[str]]:
    """(student, folder) for every folder in ``submissions``, and the names of what was ignored."""
    students, ignored = [], []
    for entry in sorted(submissions.iterdir(), key=lambda p: p.name):
        if entry.name.startswith(".") or entry.name in SKIPPED_NAMES:
            continue
        if entry.is_dir() and not entry.is_symlink():
            students.append((entry.name, entry))
        else:
            ignored.append(entry.name)
    return students, ignored


Progress = Callable[[int, int, str, str, NotebookResult | None], None]


def parse_shard(text: str) -> tuple[int, int]:
    """"i/n" -> (i, n) with 1 <= i <= n; ValueError otherwise."""
    try:
        i, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise ValueError(f"--shard: expected i/n such as 2/8, got {text!r}") from None
    if not 1 <= i <= n:
        raise ValueError(f"--shard: expected 1 <= i <= n, got {text!r}")
    return i, n


def shard_of(students: list[tuple[str, Path]], shard: tuple[int, int] | None
             ) -> list[tuple[str, Path]]:
    """Shard i of n: the students at positions i-1, i-1+n, ... of the sorted list (fixed by
    the names alone, so every machine of a cluster picks the same slice)."""
    if shard is None:
        return students
    i, n = shard
    return [entry for position, entry in enumerate(students) if position % n == i - 1]


def repository_of(path: Path) -> Path | None:
    """The git repository (or checkout) that holds ``path``, if any."""
    for folder in [path, *path.parents]:
        if (folder / ".git").exists():
            return folder
    return None


def _fingerprint(folder: Path, assignment: Assignment, options: tuple) -> str:
    """What a notebook's grade depends on: the source, the student's files, the options."""
    digest = hashlib.sha256(repr(options).encode())
    digest.update(assignment.path.read_bytes())
    for path in sorted(folder.rglob("*")):
        parts = path.relative_to(folder).parts
        if any(part in SKIPPED_NAMES for part in parts) or not path.is_file() \
                or path.is_symlink():
            continue
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        try:
            if path.stat().st_size <= MAX_COPIED_FILE:
                digest.update(path.read_bytes())
        except OSError:
            continue
    return digest.hexdigest()


def _state_file(state: Path, student: str, assignment: Assignment) -> Path:
    return state / student / f"{assignment.name}.json"


def _load_state(path: Path, key: str) -> NotebookResult | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") != key:
            return None
        return NotebookResult([Row(**row) for row in data["rows"]], problem=data["problem"],
                              grader_error=data["grader_error"], seconds=data["seconds"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _save_state(path: Path, key: str, result: NotebookResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    partial.write_text(json.dumps({"key": key, "rows": [asdict(row) for row in result.rows],
                                   "problem": result.problem,
                                   "grader_error": result.grader_error,
                                   "seconds": result.seconds}), encoding="utf-8")
    os.replace(partial, path)


@functools.cache
def _assignment(path: str) -> Assignment:
    return load_assignment(Path(path))


def hard_limit(timeout: float) -> float:
    """Seconds after which a notebook's worker is stopped, whatever it is doing (workers)."""
    return 2 * timeout + KERNEL_ALLOWANCE


def _grade_one(student: str, folder: Path, assignment_path: str, scratch: Path,
               sandbox: Sandbox, timeout: float, cell_timeout: float) -> NotebookResult:
    """One notebook, in a worker process: never raises."""
    assignment = _assignment(assignment_path)
    workdir = Path(tempfile.mkdtemp(dir=scratch))
    try:
        return grade_notebook(student, folder, assignment, workdir, sandbox=sandbox,
                              timeout=timeout, cell_timeout=cell_timeout)
    except Exception as error:  # noqa: BLE001 -- one notebook must not stop the class
        problem = f"grader error: {type(error).__name__}: {error}"
        return NotebookResult(_zero(student, assignment, problem), problem=problem,
                              grader_error=True)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def grade_class(submissions: Path, assignments: list[Assignment], *,
                sandbox: Sandbox | None = None, jobs: int = 1,
                shard: tuple[int, int] | None = None, state: Path | None = None,
                timeout: float = DEFAULT_TIMEOUT, cell_timeout: float = DEFAULT_CELL_TIMEOUT,
                progress: Progress | None = None) -> Report:
    """Grade every student folder in ``submissions`` (or shard i of n) on every assignment.

    ``jobs`` notebooks at a time, each in its own worker process and kernel; a worker still
    running after ``hard_limit(timeout)`` seconds is stopped, and its notebook is a grader
    error. The report is in the order of a serial run. With ``state``, each finished
    notebook's result is kept there and reused by a later run when nothing it depends on
    changed (resume).
    ``progress(done, total, student, assignment, result)`` is called after each notebook (and
    once with result None at the start).
    """
    started = time.monotonic()
    sandbox = sandbox or Sandbox(None)
    report = Report(assignments)
    everyone, report.ignored = students_in(submissions)
    students = shard_of(everyone, shard)
    order = [(student, folder, a) for student, folder in students for a in assignments]
    total, done = len(order), 0
    results: dict[tuple[str, str], NotebookResult] = {}
    options = (timeout, cell_timeout, sandbox.on, sandbox.limits)
    keys = {}
    if state is not None:
        for student, folder, a in order:
            key = keys[(student, a.name)] = _fingerprint(folder, a, options)
            kept = _load_state(_state_file(state, student, a), key)
            if kept is not None:
                results[(student, a.name)] = kept
    report.resumed = len(results)
    done = len(results)
    if progress:
        progress(done, total, "", "", None)
    todo = [(s, f, a) for s, f, a in order if (s, a.name) not in results]
    with tempfile.TemporaryDirectory(prefix="bptt-grading-") as scratch_root:
        scratch = Path(scratch_root)
        hidden = [p for p in (submissions.resolve(), state.resolve() if state else None,
                              scratch, *[a.path.resolve().parent for a in assignments],
                              *[repository_of(a.path.resolve()) for a in assignments],
                              repository_of(submissions.resolve())) if p is not None]
        sandbox = Sandbox(sandbox.bwrap, hidden=[*sandbox.hidden, *hidden],
                          limits=sandbox.limits,
                          matplotlib_cache=matplotlib_cache(scratch / "matplotlib") if todo
                          else None)

        def finished(student: str, a: Assignment, result: NotebookResult) -> None:
            nonlocal done
            results[(student, a.name)] = result
            if state is not None and not result.grader_error:
                _save_state(_state_file(state, student, a), keys[(student, a.name)], result)
            done += 1
            if progress:
                progress(done, total, student, a.name, result)

        for a in assignments:  # read once here: forked workers start with them read
            _assignment(str(a.path))
        calls = [((student, a), _grade_one, (student, folder, str(a.path), scratch, sandbox,
                                             timeout, cell_timeout))
                 for student, folder, a in todo]
        for outcome in run_all(calls, jobs=jobs, limit=hard_limit(timeout)):
            student, a = outcome.key
            result = outcome.value
            if outcome.failure:
                problem = f"grader error: grading this notebook {outcome.failure}"
                result = NotebookResult(_zero(student, a, problem), problem=problem,
                                        grader_error=True, seconds=outcome.seconds)
            finished(student, a, result)
    for student, _folder in students:
        report.results[student] = {a.name: results[(student, a.name)] for a in assignments}
    report.seconds = time.monotonic() - started
    return report


def summary(report: Report) -> str:
    """The terminal summary: each student's points per assignment, then what went wrong."""
    names = [a.name for a in report.assignments]
    short = [name.split("_")[0] for name in names]
    if len(set(short)) != len(short):
        short = names
    maxima = {a.name: a.max_points for a in report.assignments}
    width = max([len("student")] + [len(s) for s in report.results])
    head = f"{'student':<{width}}  " + "  ".join(f"{s:>7}" for s in short) + "    total"
    lines = [head, "-" * len(head)]
    full = sum(maxima.values())
    for student, by_assignment in report.results.items():
        cells = [f"{by_assignment[n].points:g}/{maxima[n]:g}" for n in names]
        total = sum(r.points for r in by_assignment.values())
        lines.append(f"{student:<{width}}  " + "  ".join(f"{c:>7}" for c in cells)
                     + f"  {total:>3g}/{full:g}")
    if report.results:
        means = [sum(report.results[s][n].points for s in report.results) / len(report.results)
                 for n in names]
        lines.append("-" * len(head))
        lines.append(f"{'mean':<{width}}  " + "  ".join(f"{m:>7.3g}" for m in means))
    problems = []
    for student, by_assignment in report.results.items():
        missing = [name for name, result in by_assignment.items()
                   if result.problem.startswith("no ") and not result.grader_error]
        if missing:
            problems.append(f"  {student}: not submitted: {', '.join(missing)}"
                            + (" (a notebook under another name? see the CSV)"
                               if any("holds this assignment" in by_assignment[n].problem
                                      for n in missing) else ""))
        problems += [f"  {student} / {name}: {result.problem}"
                     for name, result in by_assignment.items()
                     if result.problem and name not in missing]
    if problems:
        lines += ["", "Problems with submissions (the tasks concerned got 0, with the reason):",
                  *problems]
    if report.ignored:
        lines += ["", f"Ignored (not a student folder): {', '.join(report.ignored)}"]
    return "\n".join(lines)


class ProgressBar:
    """A progress bar with an ETA on a terminal, one line per notebook otherwise (logs, CI)."""

    def __init__(self, stream=None) -> None:  # type: ignore[no-untyped-def]
        self.stream = stream or sys.stderr
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.monotonic()
        self.first = 0  # notebooks already done (resumed) when the run started

    def eta(self, done: int, total: int) -> str:
        graded = done - self.first
        if graded <= 0 or done >= total:
            return ""
        seconds = (time.monotonic() - self.started) / graded * (total - done)
        minutes, seconds = divmod(int(seconds + 0.5), 60)
        hours, minutes = divmod(minutes, 60)
        return f"ETA {hours:d}:{minutes:02d}:{seconds:02d}"

    def __call__(self, done: int, total: int, student: str, assignment: str,
                 result: NotebookResult | None) -> None:
        if result is None:  # the start: what was resumed
            self.started, self.first = time.monotonic(), done
            if done:
                self.stream.write(f"resumed: {done} of {total} notebooks were graded by an "
                                  f"earlier run\n")
            return
        width = 30
        filled = width * done // total if total else width
        bar = "#" * filled + "-" * (width - filled)
        eta = self.eta(done, total)
        if self.tty:
            self.stream.write(f"\r\x1b[2K[{bar}] {done}/{total} {eta} {student} / "
                              f"{assignment}"[:160])
            if done == total:
                self.stream.write("\n")
        else:
            maximum = sum(row.max_points for row in result.rows)
            self.stream.write(f"[{bar}] {done}/{total} {eta + ' ' if eta else ''}{student} / "
                              f"{assignment}: {result.points:g}/{maximum:g} "
                              f"({result.seconds:.1f} s)\n")
        self.stream.flush()
