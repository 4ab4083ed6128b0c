"""nbgrader's notebook format as the release and grade commands read it.

A source notebook holds the solutions. Its cells carry nbgrader metadata,
``{"nbgrader": {"grade_id", "solution", "grade", "locked", "points", "schema_version": 3}}``:

* solution cells (``solution: true``) hold the learner's code; the solution itself sits between
  ``### BEGIN SOLUTION`` and ``### END SOLUTION``, and the release replaces it with
  ``raise NotImplementedError()``, keeping everything around it (the signature, scaffolding);
* test cells (``grade: true``, with ``points``) are a task each: the task's points are earned
  when the cell runs without an error. Lines between ``### BEGIN HIDDEN TESTS`` and
  ``### END HIDDEN TESTS`` are removed from the release and restored when grading;
* every other cell is read-only (``locked: true``): the grader always runs the source's copy.

A task's solution cells are those between the previous test cell and its own.
"""

from __future__ import annotations

import copy
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

# jsonschema (which nbformat imports) loads the optional rfc3987_syntax when it is installed,
# and that module builds a grammar for seconds at import; nbformat's notebook schema checks no
# IRI, so the grader does without it (3 s less for every grading run and worker)
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import nbformat  # noqa: E402
from nbformat import NotebookNode  # noqa: E402

SOLUTION = ("### BEGIN SOLUTION", "### END SOLUTION")
HIDDEN = ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
MARKDOWN_STUB = "YOUR ANSWER HERE"
# Jupyter Book's cell tags: they shape the book's pages and mean nothing in a student's notebook
BOOK_TAGS = frozenset({"remove-input", "remove-output", "remove-cell", "hide-input",
                       "hide-output", "hide-cell"})


class FormatError(ValueError):
    """A source notebook that does not follow the format above (the instructor must fix it)."""


def nbgrader(cell: NotebookNode) -> dict:
    """The cell's nbgrader metadata, or {} when it has none (or something that is not a dict)."""
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell: NotebookNode) -> str | None:
    """The cell's nbgrader grade_id, or None."""
    value = nbgrader(cell).get("grade_id")
    return value if isinstance(value, str) and value else None


def is_solution(cell: NotebookNode) -> bool:
    return bool(nbgrader(cell).get("solution"))


def is_test(cell: NotebookNode) -> bool:
    return bool(nbgrader(cell).get("grade")) and cell.get("cell_type") == "code"


@dataclass
class Task:
    """One graded test cell: its grade_id and points, and the solution cells it grades."""

    grade_id: str
    points: float
    solution_ids: list[str] = field(default_factory=list)


@dataclass
class Assignment:
    """A source notebook: its file name, its cells, its tasks in order."""

    path: Path
    notebook: NotebookNode
    tasks: list[Task]

    @property
    def filename(self) -> str:
        return self.path.name

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def max_points(self) -> float:
        return sum(task.points for task in self.tasks)


def regions(source: str, markers: tuple[str, str]) -> list[tuple[int, int]]:
    """(begin line, end line) of every marked region, or a FormatError if they do not pair."""
    begin, end = markers
    found, opened = [], None
    for number, line in enumerate(source.splitlines()):
        text = line.strip()
        if text == begin:
            if opened is not None:
                raise FormatError(f"line {number + 1}: {begin} inside another one")
            opened = number
        elif text == end:
            if opened is None:
                raise FormatError(f"line {number + 1}: {end} without {begin}")
            found.append((opened, number))
            opened = None
    if opened is not None:
        raise FormatError(f"line {opened + 1}: {begin} is never closed by {end}")
    return found


def replace_regions(source: str, markers: tuple[str, str], stub: tuple[str, ...]) -> str:
    """``source`` with every marked region (markers included) replaced by ``stub``'s lines.

    The stub takes the indentation of the region's first marker, so that it stays the body of
    the function or loop the region was in.
    """
    lines = source.splitlines()
    out, previous = [], 0
    for first, last in regions(source, markers):
        out += lines[previous:first]
        indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
        out += [indent + line for line in stub]
        previous = last + 1
    out += lines[previous:]
    return "\n".join(out)


def read_notebook(path: Path) -> NotebookNode:
    """A notebook file as nbformat 4, or ValueError saying why it is not one."""
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not a notebook: the file is not text (UTF-8)") from None
    try:
        with warnings.catch_warnings():  # old or sloppy metadata: warned about, still readable
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for a file that is not JSON
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"not a notebook: {first[:200]}") from None
    if not isinstance(nb.get("cells"), list):
        raise ValueError("not a notebook: it has no list of cells")
    for cell in nb.cells:
        if not isinstance(cell, dict) or not isinstance(cell.get("source", ""), str):
            raise ValueError("not a notebook: a cell is malformed")
    return nb


def load_assignment(path: Path) -> Assignment:
    """Read and check one source notebook; FormatError names the cell and what is wrong."""
    try:
        nb = read_notebook(path)
    except ValueError as error:
        raise FormatError(f"{path}: {error}") from None
    tasks, pending, seen = [], [], set()
    for index, cell in enumerate(nb.cells):
        where = f"{path.name}, cell {index}"
        meta = nbgrader(cell)
        source = cell.get("source", "")
        if not meta:
            if any(marker in source for marker in (*SOLUTION, *HIDDEN)):
                raise FormatError(f"{where}: markers in a cell without nbgrader metadata")
            continue
        gid = grade_id(cell)
        if gid is None:
            raise FormatError(f"{where}: nbgrader metadata without a grade_id")
        if gid in seen:
            raise FormatError(f"{where}: grade_id {gid!r} is used twice")
        seen.add(gid)
        try:
            solution_regions = regions(source, SOLUTION)
            hidden_regions = regions(source, HIDDEN)
        except FormatError as error:
            raise FormatError(f"{where} ({gid}): {error}") from None
        if meta.get("solution") and meta.get("grade"):
            raise FormatError(f"{where} ({gid}): a cell is either a solution or a test, not both")
        if meta.get("solution"):
            if cell.cell_type == "code" and not solution_regions:
                raise FormatError(f"{where} ({gid}): a solution cell needs {SOLUTION[0]}")
            pending.append(gid)
        elif solution_regions:
            raise FormatError(f"{where} ({gid}): {SOLUTION[0]} outside a solution cell")
        if meta.get("grade"):
            points = meta.get("points")
            if cell.cell_type != "code":
                raise FormatError(f"{where} ({gid}): only code cells can be graded here")
            if isinstance(points, bool) or not isinstance(points, (int, float)) or points <= 0:
                raise FormatError(f"{where} ({gid}): points must be a number > 0, got {points!r}")
            tasks.append(Task(gid, float(points), pending))
            pending = []
        elif hidden_regions:
            raise FormatError(f"{where} ({gid}): hidden tests outside a test cell")
    if not tasks:
        raise FormatError(f"{path.name}: no graded test cell (nbgrader grade: true)")
    return Assignment(path, nb, tasks)


def load_source(folder: Path) -> list[Assignment]:
    """Every source notebook directly in ``folder``, by file name; FormatError if none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FormatError(f"source folder {folder} not found (run from the repository's root, "
                          f"or pass --source)")
    paths = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if not paths:
        raise FormatError(f"no notebooks in {folder}")
    return [load_assignment(path) for path in paths]


def student_version(nb: NotebookNode) -> NotebookNode:
    """The notebook a student gets: solutions stubbed, hidden tests gone, outputs cleared."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        clear(cell)
        if is_solution(cell):
            if cell.cell_type == "code":
                cell.source = replace_regions(cell.source, SOLUTION, STUB)
            else:
                cell.source = MARKDOWN_STUB
        if is_test(cell):
            cell.source = replace_regions(cell.source, HIDDEN, ())
        tags = [tag for tag in cell.metadata.get("tags", []) if tag not in BOOK_TAGS]
        if tags:
            cell.metadata["tags"] = tags
        else:
            cell.metadata.pop("tags", None)
    return nb


def clear(cell: NotebookNode) -> None:
    """Remove a cell's outputs and the traces of a run (execution count, timings)."""
    if cell.get("cell_type") == "code":
        cell["outputs"] = []
        cell["execution_count"] = None
    for key in ("execution", "collapsed", "scrolled"):
        cell.get("metadata", {}).pop(key, None)
