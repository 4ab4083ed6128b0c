"""python -m coursework {release,grade}: see coursework.

Exit status: 0 when everything was released, or every submission was graded (however badly);
1 when the grader itself failed on some notebook (the CSV holds everything else); 2 when it
could not start (a bad source folder, a missing submissions folder, a bad option).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .grading import (
    DEFAULT_CELL_TIMEOUT,
    DEFAULT_TIMEOUT,
    ProgressBar,
    grade_class,
    summary,
    write_csv,
)
from .notebooks import FormatError, load_source
from .release import release


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds > 0, got {text}")
    return value


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m coursework",
                                   description="Release and grade the book's assignments.")
    commands = main.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="write the students' notebooks")
    rel.add_argument("source", type=Path, help="the folder of source notebooks, e.g. "
                                               "book/assignments")
    rel.add_argument("-o", "--output", type=Path, required=True,
                     help="where the student notebooks go (outside the source folder)")
    grade = commands.add_parser("grade", help="grade a class's submissions into a CSV")
    grade.add_argument("submissions", type=Path,
                       help="a folder with one folder per student holding their notebooks")
    grade.add_argument("-o", "--output", type=Path, required=True, help="the CSV to write")
    grade.add_argument("--source", type=Path, default=Path("book/assignments"),
                       help="the folder of source notebooks (default: book/assignments)")
    grade.add_argument("--timeout", type=_positive, default=DEFAULT_TIMEOUT,
                       help=f"seconds per notebook (default {DEFAULT_TIMEOUT:g})")
    grade.add_argument("--cell-timeout", type=_positive, default=DEFAULT_CELL_TIMEOUT,
                       help=f"seconds per cell (default {DEFAULT_CELL_TIMEOUT:g})")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        assignments = load_source(args.source)
    except FormatError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "release":
        try:
            paths = release(assignments, args.output)
        except FormatError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        for path, assignment in zip(paths, assignments):
            print(f"{path}  ({len(assignment.tasks)} tasks, {assignment.max_points:g} points)")
        return 0
    submissions = args.submissions.resolve()
    if not submissions.is_dir():
        print(f"error: submissions folder {args.submissions} not found", file=sys.stderr)
        return 2
    output = args.output.resolve()
    if submissions in output.parents:
        print(f"error: -o {args.output} is inside the submissions; grading never writes there",
              file=sys.stderr)
        return 2
    report = grade_class(submissions, assignments, timeout=args.timeout,
                         cell_timeout=args.cell_timeout, progress=ProgressBar())
    write_csv(report.rows, output)
    print(summary(report))
    students, notebooks = len(report.results), len(report.results) * len(assignments)
    print(f"\nGraded {students} students, {notebooks} notebooks in {report.seconds:.0f} s: "
          f"{len(report.rows)} rows in {args.output}")
    if report.grader_errors:
        print(f"error: the grader failed on {report.grader_errors} notebooks (their tasks are "
              f"in the CSV with 'grader error')", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
