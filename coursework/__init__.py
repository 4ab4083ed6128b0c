"""Coursework: graded assignment notebooks, their student release, and a grader that explains.

    python -m coursework release book/assignments -o release/
    python -m coursework grade submissions/ -o grades.csv [--source book/assignments]

The source notebooks (book/assignments) are in nbgrader's format (see notebooks.py), so an
instructor who uses nbgrader can take them as they are. ``release`` writes the students'
notebooks: solutions replaced by ``raise NotImplementedError()``, hidden tests removed, outputs
cleared. ``grade`` runs each student's notebooks, one kernel each, with the source's test
cells (hidden tests included), and writes one CSV row per student and task: student,
assignment, task, points, max_points, feedback. The feedback of a lost point is the
self-check's verdict (bptt_core.checks): the likely mistake and how to fix it, or which output
is wrong and by how much.
"""

from .grading import COLUMNS, Report, assemble, grade_class, grade_notebook, summary, write_csv
from .notebooks import Assignment, FormatError, load_assignment, load_source, student_version
from .release import release

__all__ = [
    "COLUMNS",
    "Assignment",
    "FormatError",
    "Report",
    "assemble",
    "grade_class",
    "grade_notebook",
    "load_assignment",
    "load_source",
    "release",
    "student_version",
    "summary",
    "write_csv",
]
