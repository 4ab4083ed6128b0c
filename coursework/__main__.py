"""python -m coursework {release,grade,merge}: see coursework.

Exit status: 0 when everything was released, merged, or every submission was graded (however
badly); 1 when the grader itself failed on some notebook (the CSV holds everything else); 2
when it could not start (a bad source folder, a missing submissions folder, a bad option, no
sandbox without --no-sandbox).
"""

from __future__ import annotations

import argparse
import math
import os
import signal
import sys
from pathlib import Path

from .gradebook import MergeError, merge, read_csv, write_csv, write_feedback, write_gradebook
from .notebooks import FormatError, load_source
from .releasing import release


def _positive(text: str) -> float:
    value = float(text)
    if not (value > 0 and math.isfinite(value)):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def _interrupt(signum, frame):  # type: ignore[no-untyped-def]
    raise KeyboardInterrupt


def _count(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text}")
    return value


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _outputs(parser_: argparse.ArgumentParser) -> None:
    parser_.add_argument("-o", "--output", type=Path, required=True,
                         help="the long CSV: one row per student and task")
    parser_.add_argument("--gradebook", type=Path,
                         help="one row per student (default: OUTPUT's name + -gradebook.csv)")
    parser_.add_argument("--feedback", type=Path,
                         help="a folder for a Markdown file per student (default: OUTPUT's "
                              "name + -feedback/)")


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m coursework",
                                   description="Release, grade and merge the book's "
                                               "assignments.")
    commands = main.add_subparsers(dest="command", required=True)
    rel = commands.add_parser("release", help="write the students' notebooks")
    rel.add_argument("source", type=Path, help="the folder of source notebooks, e.g. "
                                               "book/assignments")
    rel.add_argument("-o", "--output", type=Path, required=True,
                     help="where the student notebooks go (outside the source folder)")
    grade = commands.add_parser("grade", help="grade a class's submissions into CSVs")
    grade.add_argument("submissions", type=Path,
                       help="a folder with one folder per student holding their notebooks")
    _outputs(grade)
    grade.add_argument("--source", type=Path, default=Path("book/assignments"),
                       help="the folder of source notebooks (default: book/assignments)")
    grade.add_argument("--jobs", "-j", type=_count, default=_cores(),
                       help=f"notebooks graded at once (default: the cores, {_cores()})")
    grade.add_argument("--shard", help="grade shard i of n of the students, e.g. 3/10 (merge "
                                       "the shards' CSVs with the merge command)")
    grade.add_argument("--state", type=Path,
                       help="where finished notebooks are kept so that an interrupted run "
                            "resumes (default: OUTPUT's name + .state/)")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run the students' code without a sandbox (see the warning)")
    grade.add_argument("--timeout", type=_positive, default=None,
                       help="seconds per notebook for its cells, and again for the grader's "
                            "calls of its functions (default 120); a worker still running "
                            "after twice that plus 120 s is stopped")
    grade.add_argument("--cell-timeout", type=_positive, default=None,
                       help="seconds per cell and per graded call (default 30)")
    grade.add_argument("--memory-mb", type=_count, default=None,
                       help="memory (address space) per kernel (default 2048)")
    grade.add_argument("--cpu-seconds", type=_count, default=None,
                       help="CPU time per kernel (default 300)")
    mer = commands.add_parser("merge", help="join the CSVs of several shards")
    mer.add_argument("shards", type=Path, nargs="+", help="the shards' long CSVs")
    _outputs(mer)
    return main


def _derived(output: Path, given: Path | None, suffix: str) -> Path:
    return given if given is not None else output.with_name(output.stem + suffix)


def _write_all(rows: list, output: Path, gradebook: Path | None, feedback: Path | None
               ) -> tuple[Path, Path]:
    write_csv(rows, output)
    plain = read_csv(output)
    book = _derived(output, gradebook, "-gradebook.csv")
    folder = _derived(output, feedback, "-feedback")
    write_gradebook(plain, book)
    write_feedback(plain, folder)
    return book, folder


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.command == "merge":
        try:
            rows = merge(args.shards)
        except (MergeError, OSError) as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        book, folder = _write_all(rows, args.output, args.gradebook, args.feedback)
        students = len({row[0] for row in rows})
        print(f"Merged {len(args.shards)} files: {students} students, {len(rows)} rows in "
              f"{args.output}; gradebook {book}; feedback in {folder}/")
        return 0
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
    return _grade(args, assignments)


def _grade(args: argparse.Namespace, assignments: list) -> int:
    from .grading import (
        DEFAULT_CELL_TIMEOUT,
        DEFAULT_TIMEOUT,
        ProgressBar,
        grade_class,
        parse_shard,
        summary,
    )
    from .sandbox import NO_SANDBOX_WARNING, Limits, Sandbox, find_bwrap, sandbox_problem

    submissions = args.submissions.resolve()
    if not submissions.is_dir():
        print(f"error: submissions folder {args.submissions} not found", file=sys.stderr)
        return 2
    output = args.output.resolve()
    if submissions in output.parents:
        print(f"error: -o {args.output} is inside the submissions; grading never writes there",
              file=sys.stderr)
        return 2
    try:
        shard = parse_shard(args.shard) if args.shard else None
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    defaults = Limits()
    limits = Limits(memory_mb=args.memory_mb or defaults.memory_mb,
                    cpu_seconds=args.cpu_seconds or defaults.cpu_seconds)
    if args.no_sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr)
        sandbox = Sandbox(None, limits=limits)
    else:
        bwrap = find_bwrap()
        problem = sandbox_problem(bwrap)
        if problem is not None:
            print(f"error: no sandbox can start here: {problem}.\nGrading runs the students' "
                  f"code; without a sandbox it runs with your permissions. Fix the sandbox, "
                  f"or grade inside a container or virtual machine with --no-sandbox.",
                  file=sys.stderr)
            return 2
        sandbox = Sandbox(bwrap, limits=limits)
    state = _derived(output, args.state, ".state")
    # invisible in the sandbox besides the sources and submissions: where the grades go, the
    # instructor's home and working folder (the engine and the venv are put back, read-only)
    sandbox.hidden += [output.parent, Path.home(), Path.cwd()]
    # a time limit's SIGTERM (SLURM, CI) ends the run as Ctrl-C does: workers and kernels
    # stopped, scratch copies of the students' work removed, finished notebooks kept
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        report = grade_class(submissions, assignments, sandbox=sandbox, jobs=args.jobs,
                             shard=shard, state=state,
                             timeout=args.timeout or DEFAULT_TIMEOUT,
                             cell_timeout=args.cell_timeout or DEFAULT_CELL_TIMEOUT,
                             progress=ProgressBar())
    except KeyboardInterrupt:
        print(f"\ninterrupted: the notebooks graded so far are kept in {state}; run the same "
              f"command again to go on from there", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    book, folder = _write_all(report.rows, output, args.gradebook, args.feedback)
    print(summary(report))
    students, notebooks = len(report.results), len(report.results) * len(assignments)
    graded = notebooks - report.resumed
    rate = graded / report.seconds * 60 if report.seconds > 0 and graded else 0.0
    print(f"\nGraded {students} students, {notebooks} notebooks in {report.seconds:.0f} s "
          f"({args.jobs} jobs{', ' + str(report.resumed) + ' resumed' if report.resumed else ''}"
          f"{f', {rate:.1f} notebooks per minute' if rate else ''}"
          f"{', shard ' + args.shard if args.shard else ''}): {len(report.rows)} rows in "
          f"{args.output}; gradebook {book}; feedback in {folder}/")
    if report.grader_errors:
        print(f"error: the grader failed on {report.grader_errors} notebooks (their tasks are "
              f"in the CSV with 'grader error'; run the same command again to retry them)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
