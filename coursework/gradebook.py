"""What grading writes: the long CSV, the gradebook, a feedback file per student; and merge.

* the long CSV, one row per student and task: student, assignment, task, points, max_points,
  feedback;
* the gradebook, one row per student: student, a column per assignment (its points), total,
  max_total: what an LMS gradebook imports;
* a feedback file per student, ``<student>.md``: each assignment and task, the points, and the
  diagnosis, ready to hand back.

The gradebook and the feedback follow from the long CSV alone, so ``merge`` (which joins the
long CSVs of several shards, each student once) writes them too.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable
from pathlib import Path

COLUMNS = ("student", "assignment", "task", "points", "max_points", "feedback")


class MergeError(ValueError):
    """Shard CSVs that cannot be joined (another header, a student in two shards)."""


def _write_rows(path: Path, header: Iterable[str], rows: Iterable[Iterable[str]]) -> None:
    """A CSV written to a temporary file first, then renamed: never half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(list(header))
        writer.writerows(list(row) for row in rows)
    os.replace(partial, path)


def write_csv(rows: Iterable, path: Path) -> None:
    """The long CSV: rows are grading.Row objects or lists in COLUMNS order."""
    _write_rows(path, COLUMNS, (row.as_csv() if hasattr(row, "as_csv") else row
                                for row in rows))


def read_csv(path: Path) -> list[list[str]]:
    """The rows of a long CSV (without its header); MergeError if it is not one."""
    with Path(path).open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or tuple(header) != COLUMNS:
            raise MergeError(f"{path}: expected the header {','.join(COLUMNS)}, got "
                             f"{','.join(header or [])!r}")
        return [row for row in reader if row]


def _number(text: str) -> float:
    return float(text) if text else 0.0


def _fmt(value: float) -> str:
    return f"{value:g}"


def write_gradebook(rows: list[list[str]], path: Path) -> None:
    """One row per student: a column per assignment (points), total, max_total."""
    assignments = list(dict.fromkeys(row[1] for row in rows))
    points: dict[str, dict[str, float]] = {}
    maxima: dict[str, float] = {}
    for student, assignment, _task, got, _most, _feedback in rows:
        points.setdefault(student, {}).setdefault(assignment, 0.0)
        points[student][assignment] += _number(got)
    for assignment in assignments:  # every student has every task: take the first student's
        first = next(row[0] for row in rows if row[1] == assignment)
        maxima[assignment] = sum(_number(row[4]) for row in rows
                                 if row[0] == first and row[1] == assignment)
    full = sum(maxima.values())
    table = []
    for student, by_assignment in points.items():
        total = sum(by_assignment.values())
        table.append([student, *[_fmt(by_assignment.get(a, 0.0)) for a in assignments],
                      _fmt(total), _fmt(full)])
    header = ["student", *[f"{a} (/{_fmt(maxima[a])})" for a in assignments], "total",
              "max_total"]
    _write_rows(path, header, table)


def _safe_name(student: str) -> str:
    name = "".join(c if c.isalnum() or c in "-_. " else "_" for c in student).strip(". ")
    return name or "student"


def write_feedback(rows: list[list[str]], folder: Path) -> list[Path]:
    """A Markdown file per student: each assignment, each task's points and diagnosis."""
    folder.mkdir(parents=True, exist_ok=True)
    by_student: dict[str, list[list[str]]] = {}
    for row in rows:
        by_student.setdefault(row[0], []).append(row)
    written = []
    for student, mine in by_student.items():
        total = sum(_number(r[3]) for r in mine)
        full = sum(_number(r[4]) for r in mine)
        lines = [f"# Feedback for {student}", "", f"Total: **{_fmt(total)} / {_fmt(full)}**",
                 ""]
        for assignment in dict.fromkeys(r[1] for r in mine):
            tasks = [r for r in mine if r[1] == assignment]
            got = sum(_number(r[3]) for r in tasks)
            most = sum(_number(r[4]) for r in tasks)
            lines += [f"## {assignment}: {_fmt(got)} / {_fmt(most)}", "",
                      "| task | points | feedback |", "| --- | --- | --- |"]
            for _s, _a, task, points, max_points, feedback in tasks:
                text = feedback.replace("|", "\\|").replace("\n", " ")
                lines.append(f"| `{task}` | {points} / {max_points} | {text} |")
            lines.append("")
        path = folder / f"{_safe_name(student)}.md"
        path.write_text("\n".join(lines), encoding="utf-8")
        written.append(path)
    return written


def merge(paths: list[Path]) -> list[list[str]]:
    """The rows of several shard CSVs, each student once, students in sorted order.

    A student found in two files is a MergeError unless their rows are identical (the same
    shard given twice, or a shard graded again).
    """
    owner: dict[str, tuple[Path, list[list[str]]]] = {}
    for path in paths:
        rows = read_csv(path)
        mine: dict[str, list[list[str]]] = {}
        for row in rows:
            if len(row) != len(COLUMNS):
                raise MergeError(f"{path}: a row with {len(row)} fields: {row[:3]}")
            mine.setdefault(row[0], []).append(row)
        for student, student_rows in mine.items():
            if student in owner and owner[student][1] != student_rows:
                raise MergeError(f"{student} is in {owner[student][0]} and in {path} with "
                                 f"different rows: grade each student in one shard only")
            owner[student] = (path, student_rows)
    return [row for student in sorted(owner) for row in owner[student][1]]
