"""Run a notebook's cells in a fresh kernel of the current Python, whatever its code does.

Each cell gets at most ``cell_timeout`` seconds and the whole notebook at most ``timeout``.
A cell that runs too long, or that kills its kernel (``os._exit``, a crash), is recorded and
skipped: a new kernel replays the cells that ran before it, and the run goes on with the next
cell, until the notebook's time is up. Errors are recorded, never raised. The kernel is this
process's interpreter (sys.executable), so no kernelspec needs to be installed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

KERNEL = "bptt-coursework"
MAX_RESTARTS = 3  # after that many dead or endless cells the notebook's other cells are skipped
MAX_OUTPUT_CHARS = 200_000  # per cell: a print in an endless loop must not fill the memory


@dataclass
class CellRun:
    """What happened to one cell: status "ok", "error", "timeout", "died" or "not run"."""

    status: str
    ename: str = ""
    evalue: str = ""
    reason: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> bool:
        return self.status != "ok"


class _CappedClient(NotebookClient):
    """A NotebookClient that keeps at most MAX_OUTPUT_CHARS of a cell's outputs (and errors)."""

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def]
        if msg.get("msg_type") != "error":
            size = sum(len(json.dumps(out)) for out in outs)
            if size > MAX_OUTPUT_CHARS:
                return None
        return super().output(outs, msg, display_id, cell_index)


def _kernel_specs(folder: Path) -> KernelSpecManager:
    """A kernelspec for this interpreter, in a private folder: no installed kernel is needed."""
    spec = folder / "kernels" / KERNEL
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python ({sys.executable})",
        "language": "python",
    }))
    return KernelSpecManager(kernel_dirs=[str(folder / "kernels")], ensure_native_kernel=False)


def kernel_environment() -> dict[str, str]:
    """The grader's environment for a kernel: one thread for numpy, no GUI, no debugger noise."""
    env = dict(os.environ)
    env.update({"MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1",
                "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                "PYTHONDONTWRITEBYTECODE": "1"})
    return env


class KernelStartError(RuntimeError):
    """The kernel did not start: a problem of the grading environment, not of a submission."""


def _error_of(cell: NotebookNode) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def run_notebook(nb: NotebookNode, cwd: Path, *, timeout: float, cell_timeout: float,
                 startup_timeout: float = 60.0) -> list[CellRun]:
    """Run every code cell of ``nb`` in order, in ``cwd``; one CellRun per cell of nb.

    Markdown cells get status "ok". Raises KernelStartError when no kernel can be started.
    """
    runs: list[CellRun | None] = [None] * len(nb.cells)
    for index, cell in enumerate(nb.cells):
        if cell.get("cell_type") != "code" or not cell.get("source", "").strip():
            runs[index] = CellRun("ok")
    deadline = time.monotonic() + timeout
    done: list[int] = []  # cells that ran without killing their kernel, to replay after a restart
    restarts = 0
    with tempfile.TemporaryDirectory(prefix="bptt-kernel-") as scratch:
        specs = _kernel_specs(Path(scratch))
        position = 0
        while position < len(nb.cells):
            if restarts > MAX_RESTARTS:
                reason = f"not run: the kernel had to be restarted {MAX_RESTARTS} times"
                _skip(runs, position, reason)
                break
            position = _run_in_one_kernel(nb, runs, done, position, specs, cwd, deadline,
                                          cell_timeout, startup_timeout, timeout)
            restarts += 1
    return [run or CellRun("not run", reason="not run") for run in runs]


def _skip(runs: list[CellRun | None], start: int, reason: str) -> None:
    for index in range(start, len(runs)):
        if runs[index] is None:
            runs[index] = CellRun("not run", reason=reason)


def _run_in_one_kernel(nb: NotebookNode, runs: list[CellRun | None], done: list[int],
                       position: int, specs: KernelSpecManager, cwd: Path, deadline: float,
                       cell_timeout: float, startup_timeout: float, timeout: float) -> int:
    """Start a kernel, replay ``done``, run from ``position``; return where the next kernel
    starts (len(nb.cells) when finished)."""
    km = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = _CappedClient(nb, km=km, timeout=cell_timeout, allow_errors=True,
                           startup_timeout=int(startup_timeout), shutdown_kernel="immediate",
                           interrupt_on_timeout=False, raise_on_iopub_timeout=False,
                           iopub_timeout=4, record_timing=False)
    try:
        context = client.setup_kernel(cleanup_kc=True, cwd=str(cwd), env=kernel_environment(),
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        context.__enter__()
    except Exception as error:  # any failure to start is the environment's, not the student's
        raise KernelStartError(f"the kernel did not start: {type(error).__name__}: "
                               f"{error}") from None
    try:
        for index in list(done):  # a fresh kernel: bring it to where the last one was
            again = _execute(client, nb, index, deadline, cell_timeout, timeout, replay=True)
            if again.status != "ok":
                _skip(runs, position, "not run: the notebook could not be brought back after "
                                      "a restart")
                return len(nb.cells)
        for index in range(position, len(nb.cells)):
            if runs[index] is not None:
                continue
            run = _execute(client, nb, index, deadline, cell_timeout, timeout)
            runs[index] = run
            if run.status in ("timeout", "died"):
                if time.monotonic() >= deadline:
                    _skip(runs, index + 1, f"not run: the notebook's time limit of "
                                           f"{timeout:g} s ran out")
                    return len(nb.cells)
                return index + 1
            if run.status == "not run":  # the notebook's time is up
                _skip(runs, index + 1, run.reason)
                return len(nb.cells)
            done.append(index)
        return len(nb.cells)
    finally:
        try:
            context.__exit__(None, None, None)
        except Exception:  # noqa: BLE001 -- a kernel that is already gone cannot be shut down
            pass


def _execute(client: NotebookClient, nb: NotebookNode, index: int, deadline: float,
             cell_timeout: float, timeout: float, replay: bool = False) -> CellRun:
    """Run cell ``index``; never raises for what the cell's code does."""
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        return CellRun("not run", reason=f"not run: the notebook's time limit of {timeout:g} s "
                                         f"ran out")
    limit = min(cell_timeout, remaining)
    client.timeout = max(1, int(limit + 0.999))
    cell = nb.cells[index]
    replies: list[dict] = []
    client.on_cell_executed = lambda **hook: replies.append(hook.get("execute_reply") or {})
    started = time.monotonic()
    try:
        client.execute_cell(cell, index)
    except CellTimeoutError:
        ran_out = time.monotonic() >= deadline - 0.5
        limit_text = (f"the notebook's time limit of {timeout:g} s" if ran_out
                      else f"the time limit of {cell_timeout:g} s per cell")
        return CellRun("timeout", "TimeoutError", f"was still running after {limit_text}: "
                       f"an endless loop, or much too slow", seconds=time.monotonic() - started)
    except DeadKernelError:
        return CellRun("died", "DeadKernelError", "killed the kernel (os._exit, a crash, or "
                       "out of memory)",
                       seconds=time.monotonic() - started)
    seconds = time.monotonic() - started
    if replay:
        return CellRun("ok", seconds=seconds)
    # the kernel's reply says whether the cell failed, even if its code hid the traceback
    reply = replies[-1].get("content", {}) if replies else {}
    error = _error_of(cell)
    if reply.get("status") == "error":
        error = (reply.get("ename") or "Error", reply.get("evalue") or "")
    elif reply.get("status") == "aborted":
        error = ("Aborted", "the kernel aborted this cell")
    if error is not None:
        # IPython names a cell's code after a hash: "(3172394.py, line 3)" -> "(line 3)"
        evalue = re.sub(r"\((?:[\w.<>-]*?\.py|<[^>]*>), (line \d+)\)", r"(\1)", error[1])
        return CellRun("error", error[0], evalue, seconds=seconds)
    return CellRun("ok", seconds=seconds)
