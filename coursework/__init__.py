"""Coursework: graded assignment notebooks, their student release, and a grader that explains.

    python -m coursework release book/assignments -o release/
    python -m coursework grade submissions/ -o grades.csv [--jobs N] [--shard i/n]
    python -m coursework merge shard1.csv shard2.csv ... -o grades.csv

The source notebooks (book/assignments) are in nbgrader's format (see notebooks.py), so an
instructor who uses nbgrader can take them as they are. ``release`` writes the students'
notebooks: solutions replaced by ``raise NotImplementedError()``, hidden tests removed, outputs
cleared. ``grade`` runs each student's notebook in a sandboxed kernel (sandbox.py, runner.py),
then reaches every verdict in its own process: the source's test cells, hidden tests included,
run here with each graded function standing for the student's one (remote.py, verdict.py), so
nothing a submission does to its own interpreter can turn a wrong answer into points. It
writes one CSV row per student and task (student, assignment, task, points, max_points,
feedback), a gradebook with one row per student, and a feedback file per student. The
feedback of a lost point is the self-check's verdict (bptt_core.checks): the likely mistake and
how to fix it, or which output is wrong and by how much.

This package is the instructors' tool; students import only the engine, ``bptt_core``.
"""

from __future__ import annotations

import importlib
from typing import Any

# Lazy: the student's kernel imports coursework.kernel and coursework.probe, and must not pay
# for nbformat (whose schema validator takes seconds to import) or nbclient.
_EXPORTS = {
    "COLUMNS": "gradebook", "Report": "grading", "assemble": "grading",
    "grade_class": "grading", "grade_notebook": "grading", "summary": "grading",
    "write_csv": "gradebook", "Assignment": "notebooks", "FormatError": "notebooks",
    "load_assignment": "notebooks", "load_source": "notebooks",
    "student_version": "notebooks", "release": "releasing",
}
__all__ = ["COLUMNS", "Assignment", "FormatError", "Report", "assemble", "grade_class",
           "grade_notebook", "load_assignment", "load_source", "release", "student_version",
           "summary", "write_csv"]


def __getattr__(name: str) -> Any:  # the kernel imports coursework.kernel: keep that light
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module 'coursework' has no attribute {name!r}")
