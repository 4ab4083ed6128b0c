"""Run a student's notebook in a sandboxed kernel, then call its functions through the probe.

``KernelSession.run`` runs every code cell in order. Each cell gets at most ``cell_timeout``
seconds and the whole notebook at most ``timeout``. A cell that runs too long, or that kills
its kernel (``os._exit``, a crash, a resource limit), is recorded and skipped: a new kernel
replays the cells that ran before it, and the run goes on with the next cell, until the
notebook's time is up. Errors are recorded, never raised. The kernel stays up afterwards, and
``call`` asks the probe in it (coursework.probe) to call one of the notebook's functions.

The kernel is this interpreter (sys.executable) started as ``python -m coursework.kernel``,
inside the sandbox (coursework.sandbox) unless grading runs with --no-sandbox. Kernel and
grader talk over IPC sockets in a folder both see, so the kernel needs no network.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import struct
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode

from .sandbox import Sandbox, kernel_environment

KERNEL = "bptt-coursework"
MAX_RESTARTS = 3  # after that many dead or endless cells the notebook's other cells are skipped
MAX_OUTPUT_CHARS = 200_000  # per cell: a print in an endless loop must not fill the memory
MAX_REPLY = 64 * 2**20  # bytes from the probe
PROBE_WAIT = 30.0  # seconds for the probe's socket to appear after the kernel started


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


class KernelStartError(RuntimeError):
    """The kernel did not start: a problem of the grading environment, not of a submission."""


class KernelGone(RuntimeError):
    """The kernel died, or a call ran out of time: ``str`` says which, in the student's terms."""


class _NoHeartbeatClient(AsyncKernelClient):
    """A kernel client without jupyter_client's heartbeat thread, which nbclient never uses (it
    asks the kernel manager whether the kernel lives). A kernel can wedge that thread: bytes
    written into its end of the heartbeat connection make libzmq drop it, the next ping can
    then wait forever for a connection, and stop_channels() joins the thread with no timeout.
    A worker hung so for 900 s in CI (a red-team student that writes into every fd)."""

    def start_channels(self, shell: bool = True, iopub: bool = True, stdin: bool = True,
                       hb: bool = True, control: bool = True) -> None:
        super().start_channels(shell=shell, iopub=iopub, stdin=stdin, hb=False,
                               control=control)


class _CappedClient(NotebookClient):
    """A NotebookClient that keeps at most MAX_OUTPUT_CHARS of a cell's outputs (and errors)."""

    def output(self, outs, msg, display_id, cell_index):  # type: ignore[no-untyped-def]
        if msg.get("msg_type") != "error":
            size = sum(len(json.dumps(out)) for out in outs)
            if size > MAX_OUTPUT_CHARS:
                return None
        return super().output(outs, msg, display_id, cell_index)


def _error_of(cell: NotebookNode) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


class KernelSession:
    """One student's notebook in one (sandboxed) kernel at a time; see the module's doc."""

    def __init__(self, nb: NotebookNode, cwd: Path, scratch: Path, sandbox: Sandbox, *,
                 timeout: float, cell_timeout: float, startup_timeout: float = 60.0) -> None:
        self.nb, self.cwd, self.scratch, self.sandbox = nb, cwd, scratch, sandbox
        self.timeout, self.cell_timeout, self.startup_timeout = (timeout, cell_timeout,
                                                                 startup_timeout)
        self.deadline = time.monotonic() + timeout
        self.done: list[int] = []  # cells that ran without killing their kernel
        self.restarts = 0
        self.client: NotebookClient | None = None
        self.context = None
        self.link: socket.socket | None = None
        self.ipc: Path | None = None
        self.kernels = 0
        self.calls_deadline = float("inf")  # set by the grader before it calls the functions

    # --- kernels -------------------------------------------------------------------------------

    def _start(self) -> None:
        """A fresh kernel with the probe connected; KernelStartError if it does not start."""
        self.close()
        self.kernels += 1
        # a Unix socket's path has at most 107 bytes: under a long TMPDIR the sockets go to /tmp
        # (the sandbox binds the folder where it is, and shows a kernel no other one)
        base = self.scratch.parent if len(os.fsencode(self.scratch.parent)) <= 60 else \
            Path("/tmp")
        self.ipc = Path(tempfile.mkdtemp(prefix=f"ipc{self.kernels}-", dir=base))
        os.chmod(self.ipc, 0o700)
        spec = self.ipc / "kernels" / KERNEL
        spec.mkdir(parents=True)
        argv = self.sandbox.kernel_argv(self.scratch, self.ipc, self.cwd)
        (spec / "kernel.json").write_text(json.dumps({
            "argv": argv, "display_name": "coursework", "language": "python"}))
        specs = KernelSpecManager(kernel_dirs=[str(self.ipc / "kernels")],
                                  ensure_native_kernel=False)
        km = AsyncKernelManager(kernel_name=KERNEL, kernel_spec_manager=specs, transport="ipc",
                                ip=str(self.ipc / "k"),
                                connection_file=str(self.ipc / "kernel.json"),
                                client_factory=_NoHeartbeatClient)
        self.client = _CappedClient(
            self.nb, km=km, timeout=self.cell_timeout, allow_errors=True,
            startup_timeout=int(self.startup_timeout), shutdown_kernel="immediate",
            interrupt_on_timeout=False, raise_on_iopub_timeout=False, iopub_timeout=4,
            record_timing=False)
        env = kernel_environment(self.scratch)
        try:
            self.context = self.client.setup_kernel(
                cleanup_kc=True, cwd=str(self.cwd), env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
            self.context.__enter__()
        except Exception as error:  # any failure to start is the environment's, not the student's
            self.context = None
            raise KernelStartError(f"the kernel did not start: {type(error).__name__}: "
                                   f"{error}") from None
        self._connect()

    def _connect(self) -> None:
        path = str(self.ipc / "probe")
        until = time.monotonic() + PROBE_WAIT
        while True:
            link = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                link.connect(path)
                self.link = link
                return
            except OSError as error:
                link.close()
                if time.monotonic() > until:
                    raise KernelStartError(f"the grader's probe did not answer: {error}") \
                        from None
                time.sleep(0.05)

    def close(self) -> None:
        if self.link is not None:
            self.link.close()
            self.link = None
        if self.context is not None:
            try:
                self.context.__exit__(None, None, None)
            except Exception:  # noqa: BLE001 -- a kernel that is already gone cannot be shut down
                pass
            self.context = None
        if self.ipc is not None:
            shutil.rmtree(self.ipc, ignore_errors=True)
            self.ipc = None

    def stop_reason(self) -> str:
        """Why the kernel died, when a limit of the sandbox says so."""
        if self.ipc is not None and (self.ipc / "cpu").exists():
            return (f"used up its CPU time ({self.sandbox.limits.cpu_seconds} s for the whole "
                    f"notebook)")
        return ""

    # --- cells ---------------------------------------------------------------------------------

    def run(self) -> list[CellRun]:
        """Run every code cell of the notebook in order; one CellRun per cell."""
        nb = self.nb
        runs: list[CellRun | None] = [None] * len(nb.cells)
        for index, cell in enumerate(nb.cells):
            if cell.get("cell_type") != "code" or not cell.get("source", "").strip():
                runs[index] = CellRun("ok")
        position = 0
        while position < len(nb.cells):
            if self.restarts > MAX_RESTARTS:
                _skip(runs, position, f"not run: the kernel had to be restarted "
                                      f"{MAX_RESTARTS} times")
                break
            position = self._run_in_one_kernel(runs, position)
            if position < len(nb.cells):
                self.restarts += 1
        return [run or CellRun("not run", reason="not run") for run in runs]

    def revive(self) -> bool:
        """A new kernel brought to where the notebook's run left off; False if impossible."""
        if self.restarts > MAX_RESTARTS or time.monotonic() >= self.deadline:
            return False
        self.restarts += 1
        self._start()
        for index in list(self.done):
            if self._execute(index, replay=True).status != "ok":
                return False
        return True

    def _run_in_one_kernel(self, runs: list[CellRun | None], position: int) -> int:
        """Start a kernel, replay ``done``, run from ``position``; return where the next kernel
        starts (len(nb.cells) when finished)."""
        nb = self.nb
        self._start()
        for index in list(self.done):  # a fresh kernel: bring it to where the last one was
            if self._execute(index, replay=True).status != "ok":
                _skip(runs, position, "not run: the notebook could not be brought back after "
                                      "a restart")
                return len(nb.cells)
        for index in range(position, len(nb.cells)):
            if runs[index] is not None:
                continue
            run = self._execute(index)
            runs[index] = run
            if run.status in ("timeout", "died"):
                if time.monotonic() >= self.deadline:
                    _skip(runs, index + 1, f"not run: the notebook's time limit of "
                                           f"{self.timeout:g} s ran out")
                    return len(nb.cells)
                return index + 1
            if run.status == "not run":  # the notebook's time is up
                _skip(runs, index + 1, run.reason)
                return len(nb.cells)
            self.done.append(index)
        return len(nb.cells)

    def _execute(self, index: int, replay: bool = False) -> CellRun:
        """Run cell ``index``; never raises for what the cell's code does."""
        client, cell = self.client, self.nb.cells[index]
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            return CellRun("not run", reason=f"not run: the notebook's time limit of "
                                             f"{self.timeout:g} s ran out")
        limit = min(self.cell_timeout, remaining)
        client.timeout = max(1, int(limit + 0.999))
        replies: list[dict] = []
        client.on_cell_executed = lambda **hook: replies.append(hook.get("execute_reply") or {})
        started = time.monotonic()
        try:
            client.execute_cell(cell, index)
        except CellTimeoutError:
            ran_out = time.monotonic() >= self.deadline - 0.5
            limit_text = (f"the notebook's time limit of {self.timeout:g} s" if ran_out
                          else f"the time limit of {self.cell_timeout:g} s per cell")
            return CellRun("timeout", "TimeoutError", f"was still running after {limit_text}: "
                           f"an endless loop, a sleep, or much too slow",
                           seconds=time.monotonic() - started)
        except DeadKernelError:
            why = self.stop_reason() or ("killed the kernel (os._exit, exit(), a crash, or a "
                                         "resource limit)")
            return CellRun("died", "DeadKernelError", why, seconds=time.monotonic() - started)
        except Exception as error:  # noqa: BLE001 -- e.g. garbage written into the kernel's sockets
            self.close()
            return CellRun("died", "DeadKernelError", f"broke the kernel's connection to the "
                           f"grader ({type(error).__name__}: {str(error)[:100]})",
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
            if error[0].endswith("MemoryError"):  # numpy's is _ArrayMemoryError
                evalue = (f"ran out of memory (the limit is "
                          f"{self.sandbox.limits.memory_mb} MB per notebook)")
            return CellRun("error", error[0], evalue, seconds=seconds)
        return CellRun("ok", seconds=seconds)

    # --- the probe -----------------------------------------------------------------------------

    def request(self, message: dict, timeout: float) -> dict:
        """Send one request to the probe, wait for its reply; KernelGone when there is none."""
        if self.link is None:
            raise KernelGone("the kernel had stopped before this call")
        remaining = self.calls_deadline - time.monotonic()
        if remaining <= 0:
            raise KernelGone(f"was not called: the notebook's time limit of {self.timeout:g} s "
                             f"for the grader's calls ran out")
        timeout = min(timeout, remaining)
        nonce = secrets.token_hex(16)
        data = json.dumps({**message, "nonce": nonce}, allow_nan=True).encode()
        link, deadline = self.link, time.monotonic() + timeout
        try:
            link.settimeout(timeout)
            link.sendall(struct.pack(">I", len(data)) + data)
            while True:  # a reply without our nonce was not written by the probe: skip it
                reply = _receive(link, deadline)
                if reply is None:
                    raise KernelGone(self.stop_reason() or "ended the kernel (os._exit, "
                                     "exit(), a crash, or a resource limit)")
                if isinstance(reply, dict) and reply.get("nonce") == nonce:
                    return reply
        except TimeoutError:
            self._kill()
            raise KernelGone(f"was still running after {timeout:.3g} s: an endless loop, a "
                             f"sleep, or much too slow") from None
        except OSError as error:
            self._kill()
            raise KernelGone(f"ended the kernel ({error})") from None

    def _kill(self) -> None:
        self.close()


def _receive(link: socket.socket, deadline: float) -> object:
    """One length-prefixed JSON message; TimeoutError once ``deadline`` (time.monotonic()) has
    passed, however the bytes trickle in."""
    def recv(size: int) -> bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("the reply did not arrive in time")
        link.settimeout(remaining)
        return link.recv(size)

    head = b""
    while len(head) < 4:
        chunk = recv(4 - len(head))
        if not chunk:
            return None
        head += chunk
    (size,) = struct.unpack(">I", head)
    if size > MAX_REPLY:
        raise OSError(f"a reply of {size} bytes")
    body = bytearray()
    while len(body) < size:
        chunk = recv(min(1 << 20, size - len(body)))
        if not chunk:
            return None
        body += chunk
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError):  # not the probe's: skipped by the caller
        return {}


def _skip(runs: list[CellRun | None], start: int, reason: str) -> None:
    for index in range(start, len(runs)):
        if runs[index] is None:
            runs[index] = CellRun("not run", reason=reason)
