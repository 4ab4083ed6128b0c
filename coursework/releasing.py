"""The student release: every source notebook without its solutions and hidden tests."""

from __future__ import annotations

from pathlib import Path

import nbformat

from .notebooks import HIDDEN, SOLUTION, Assignment, FormatError, student_version

README = """\
Assignments of "Backpropagation Through Time, proved in code"

{table}

Open each notebook in Jupyter (JupyterLab, Notebook, VS Code or Colab) with bptt_core
installed, write your code where it says "# YOUR CODE HERE" (in place of the line
"raise NotImplementedError()"), and run the test cell after each task: it prints "correct",
or names the likely mistake and how to fix it. The grader runs the same checks and more.
Keep the function names, the cells and the file names; run "Restart & Run All" before you
hand the notebooks in.
"""


def release(assignments: list[Assignment], out: Path) -> list[Path]:
    """Write each assignment's student version into ``out``, plus a README; return the paths.

    Refuses (FormatError) to write into the source folder, and checks that no solution or
    hidden test survived.
    """
    out = Path(out).resolve()
    for assignment in assignments:
        source = assignment.path.resolve().parent
        if out == source or source in out.parents:
            raise FormatError(f"-o {out}: the release must go outside the source folder "
                              f"{source}, or it would mix with (or overwrite) the solutions")
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for assignment in assignments:
        nb = student_version(assignment.notebook)
        for index, cell in enumerate(nb.cells):
            leftover = [m for m in (*SOLUTION, *HIDDEN) if m in cell.get("source", "")]
            if leftover:
                raise FormatError(f"{assignment.filename}, cell {index}: {leftover[0]} left "
                                  f"in the release")
        nbformat.validate(nb)
        path = out / assignment.filename
        nbformat.write(nb, path)
        written.append(path)
    rows = [f"  {a.filename:<40} {len(a.tasks)} tasks, {a.max_points:g} points"
            for a in assignments]
    (out / "README.txt").write_text(README.format(table="\n".join(rows)), encoding="utf-8")
    return written
