"""Each notebook graded in a worker process of its own, stopped if it outlives a hard limit.

The limits on a student's code (per cell, per notebook, per call of a graded function) are
kept inside the worker, by ``coursework.runner``. This is the last line behind them: whatever
happens in a worker, a call into a library that never returns included, the class goes on.
``run_all`` starts at most ``jobs`` workers at once, one per call, and gives back each call's
outcome as it ends. A worker still running ``limit`` seconds after it started is killed with
everything it started (its kernels and their sandboxes), and its outcome says so; so does the
outcome of a worker that died without an answer. Workers die with the grader (Linux:
PR_SET_PDEATHSIG), so a grader that is killed leaves nothing grading behind it.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import Any

import psutil

PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


@dataclass
class Outcome:
    """How one call ended: its return value, or ``failure``, a sentence saying why there is
    none."""

    key: Hashable
    value: Any = None
    failure: str = ""
    seconds: float = 0.0


@dataclass
class _Running:
    key: Hashable
    process: Any  # multiprocessing's Process of the chosen context
    started: float


def context() -> Any:
    """fork on Linux: a worker starts with the grader's modules already imported (nbformat
    alone takes seconds to import) and the assignments already read. spawn elsewhere (macOS's
    system libraries are not safe to fork)."""
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def run_all(calls: list[tuple[Hashable, Callable[..., Any], tuple]], *, jobs: int,
            limit: float) -> Iterator[Outcome]:
    """Run ``function(*args)`` for each ``(key, function, args)`` in ``calls``, each in its own
    process, ``jobs`` at a time; yield an Outcome per call in the order they end."""
    if jobs < 1:
        raise ValueError(f"jobs: expected at least 1, got {jobs}")
    if not limit > 0:
        raise ValueError(f"limit: expected a positive number of seconds, got {limit}")
    ctx = context()
    pending = deque(calls)
    running: dict[Connection, _Running] = {}
    try:
        while pending or running:
            while pending and len(running) < jobs:
                key, function, args = pending.popleft()
                receiving, sending = ctx.Pipe(duplex=False)
                process = ctx.Process(target=_work, args=(sending, os.getpid(), function, args),
                                      daemon=True)
                try:
                    process.start()
                except OSError as error:  # out of processes or memory: this call fails alone
                    receiving.close()
                    yield Outcome(key, failure=f"could not start a worker process ({error})")
                    continue
                finally:
                    sending.close()  # the worker holds the only writing end: EOF when it dies
                running[receiving] = _Running(key, process, time.monotonic())
            if not running:
                continue
            first_deadline = min(r.started for r in running.values()) + limit
            # at most a minute at a time: poll() takes its timeout in milliseconds as a C int
            wait(list(running), timeout=min(60.0, max(0.0, first_deadline - time.monotonic())))
            for link in list(running):
                outcome = _ended(link, running[link], limit)
                if outcome is not None:
                    del running[link]
                    link.close()
                    yield outcome
    finally:  # an interrupted run (Ctrl-C, an error in the caller) stops its workers too
        for run in running.values():
            _kill_tree(run.process)


def _ended(link: Connection, run: _Running, limit: float) -> Outcome | None:
    """The outcome of a worker that has ended or outlived ``limit``; None while it runs."""
    seconds = time.monotonic() - run.started
    if link.poll():  # an answer, or the end of the pipe when the worker died without one
        try:
            ok, value = link.recv()
        except (EOFError, OSError):
            run.process.join(timeout=10)
            _kill_tree(run.process)  # if it closed its end of the pipe and went on
            code = run.process.exitcode
            how = (f"was killed by signal {-code}" if code is not None and code < 0
                   else f"ended with exit code {code}")
            return Outcome(run.key, failure=f"the worker process {how} without an answer",
                           seconds=seconds)
        run.process.join(timeout=1)
        _kill_tree(run.process)  # if it lingers: it answered, so nothing it still does matters
        return Outcome(run.key, value=value, seconds=seconds) if ok else \
            Outcome(run.key, failure=value, seconds=seconds)
    if seconds < limit:
        return None
    _kill_tree(run.process)
    return Outcome(run.key, failure=f"did not end within the grader's hard limit of {limit:g} s "
                                    f"per notebook, so the grader stopped it and everything it "
                                    f"had started", seconds=seconds)


def _work(sending: Connection, parent: int, function: Callable[..., Any], args: tuple) -> None:
    """A worker's life: die with the grader, run the call, send (True, value) or (False, why)."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):  # no prctl: the finally of run_all still holds
            pass
    if os.getppid() != parent:  # the grader died before this worker could follow it
        os._exit(1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the grader's handler is for the grader
    try:
        answer = (True, function(*args))
    except BaseException as error:  # noqa: BLE001 -- reported to the grader, never lost
        answer = (False, f"the worker process failed: {type(error).__name__}: {error}")
    sending.send(answer)
    sending.close()


def _kill_tree(worker: Any) -> None:
    """Kill a worker (a multiprocessing Process) first, so that it starts nothing more, then
    all its descendants, and the process groups of those that lead one (kernels do: a child a
    kernel started after the list was taken dies with its group); reap the worker."""
    if worker.exitcode is not None:  # reaped already: its pid may belong to another process
        return
    try:
        root = psutil.Process(worker.pid)
        family = [root, *root.children(recursive=True)]
    except psutil.Error:
        family = []
    own_group = os.getpgrp()
    for process in family:
        try:
            group = os.getpgid(process.pid)
            process.kill()
            if group == process.pid and group != own_group:
                os.killpg(group, signal.SIGKILL)
        except (psutil.Error, OSError):
            pass
    worker.join(timeout=10)  # the worker is this process's child: reaped here, not by psutil
    psutil.wait_procs(family[1:], timeout=10)
