"""Every verdict, reached in the grader's own process.

The source notebook's setup cells and test cells (hidden tests included) are the instructor's
code: they run here, in a fresh namespace per student and assignment, where each function the
solution cells define (``forward``, ``bptt``, ...) is a ``RemoteFunction`` standing for the
student's one. The checks of ``bptt_core.checks`` call it, receive plain data, and decide; the
assertion's message is the feedback. The student's kernel only ever runs the student's cells
and the calls the checks make.

One bug costs one task: when a graded function uses an earlier task's helper (``HELPERS``), the
reference helper is swapped in while the grader calls it.
"""

from __future__ import annotations

import ast
import contextlib
import io
import time
from dataclasses import dataclass

from .notebooks import Assignment, grade_id, is_solution, is_test
from .remote import GraderError, RemoteFunction
from .runner import KernelGone, KernelSession, KernelStartError

# graded function -> the earlier tasks' helpers it calls, replaced by the engine's reference
# while it is graded (coursework.probe holds the references)
HELPERS: dict[str, tuple[str, ...]] = {
    "forward": ("rnn_step",),
    "bptt": ("rnn_step_grads",),
    "clip_by_global_norm": ("grad_norm",),
    "lstm_bptt": ("lstm_step_grads",),
}


@dataclass
class Verdict:
    """A task's verdict: passed, and the message of the first assertion that failed."""

    passed: bool
    message: str = ""


def graded_functions(assignment: Assignment) -> list[str]:
    """The names of the functions the source's solution cells define at the top level."""
    names = []
    for cell in assignment.notebook.cells:
        if cell.cell_type == "code" and is_solution(cell):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                continue
            names += [node.name for node in tree.body
                      if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))]
    return list(dict.fromkeys(names))


def _setup_code(assignment: Assignment) -> list[str]:
    """The source's code cells that are neither solutions nor tests (imports, constants)."""
    return [cell.source for cell in assignment.notebook.cells
            if cell.cell_type == "code" and not is_solution(cell) and not is_test(cell)]


def judge(assignment: Assignment, session: KernelSession, *, call_timeout: float
          ) -> dict[str, Verdict]:
    """{task grade_id: Verdict} for every task, from the source's test cells run here."""
    namespace: dict = {"__name__": f"grader_{assignment.name}"}
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        for code in _setup_code(assignment):
            exec(compile(code, f"<{assignment.name} setup>", "exec"), namespace)  # noqa: S102
    functions = {name: RemoteFunction(session, name, helpers=HELPERS.get(name, ()),
                                      call_timeout=call_timeout)
                 for name in graded_functions(assignment)}
    tests = {grade_id(cell): cell.source for cell in assignment.notebook.cells if is_test(cell)}
    session.calls_deadline = time.monotonic() + session.timeout  # all calls of all tasks
    verdicts: dict[str, Verdict] = {}
    for task in assignment.tasks:
        if session.link is None:  # the last task's call ended the kernel: one bug, one task
            try:
                if not session.revive():
                    verdicts[task.grade_id] = Verdict(False, "not graded: the kernel could not "
                                                             "be started again")
                    continue
            except KernelStartError as error:
                verdicts[task.grade_id] = Verdict(False, f"grader error: {error}")
                continue
        scope = {**namespace, **functions}
        try:
            with contextlib.redirect_stdout(io.StringIO()), \
                    contextlib.redirect_stderr(io.StringIO()):
                exec(compile(tests[task.grade_id], f"<{task.grade_id}>", "exec"),  # noqa: S102
                     scope)
            verdicts[task.grade_id] = Verdict(True, "✓ correct")
        except AssertionError as error:
            verdicts[task.grade_id] = Verdict(False, str(error) or "the test failed")
        except KernelGone as error:
            verdicts[task.grade_id] = Verdict(False, f"your function {error}")
        except GraderError as error:
            verdicts[task.grade_id] = Verdict(False, f"grader error: {error}")
        except Exception as error:  # noqa: BLE001 -- e.g. NameError: the function is missing
            verdicts[task.grade_id] = Verdict(False, f"the test failed: "
                                                     f"{type(error).__name__}: {error}")
    return verdicts
