"""python -m coursework.kernel --probe SOCKET [--cpu-marker FILE] -f CONNECTION_FILE

The student's kernel, as the sandbox starts it: the grader's probe (coursework.probe) starts
first, then ipykernel. The engine and the libraries a notebook needs are imported before the
probe's audit hook is installed, so that their own start-up is not refused anything.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import sys


def limit(which: int, soft: int, hard: int | None = None) -> None:
    """Lower a resource limit (never raise it above what the grader itself has)."""
    old_soft, old_hard = resource.getrlimit(which)
    hard = soft if hard is None else hard
    if old_hard != resource.RLIM_INFINITY:
        hard = min(hard, old_hard)
    try:
        resource.setrlimit(which, (min(soft, hard), hard))
    except (ValueError, OSError):  # e.g. RLIMIT_AS on macOS: that limit is not enforced there
        pass


def main() -> None:
    options = argparse.ArgumentParser(prog="python -m coursework.kernel")
    options.add_argument("--probe", required=True, help="the Unix socket the grader connects to")
    options.add_argument("--cpu-marker", help="a file written when the CPU time runs out")
    options.add_argument("--memory-mb", type=int, default=0, help="address space, 0: no limit")
    options.add_argument("--cpu-seconds", type=int, default=0, help="CPU time, 0: no limit")
    options.add_argument("--processes", type=int, default=0,
                         help="processes and threads of this user, 0: no limit")
    options.add_argument("--file-mb", type=int, default=0, help="largest file, 0: no limit")
    options.add_argument("-f", dest="connection_file", required=True)
    args, rest = options.parse_known_args()
    limit(resource.RLIMIT_CORE, 0)
    if args.memory_mb:
        limit(resource.RLIMIT_AS, args.memory_mb * 2**20)
    if args.cpu_seconds:  # SIGXCPU at the limit, SIGKILL 5 s later
        limit(resource.RLIMIT_CPU, args.cpu_seconds, args.cpu_seconds + 5)
    if args.processes:
        limit(resource.RLIMIT_NPROC, args.processes)
    if args.file_mb:
        limit(resource.RLIMIT_FSIZE, args.file_mb * 2**20)

    if args.cpu_marker:
        marker = args.cpu_marker

        def out_of_cpu(signum, frame):  # type: ignore[no-untyped-def]
            try:
                with open(marker, "w") as out:
                    out.write("cpu\n")
            finally:
                os._exit(152)

        signal.signal(signal.SIGXCPU, out_of_cpu)

    import ctypes  # noqa: F401 -- loaded now: the audit hook refuses ctypes later
    import platform

    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp

    platform.platform()  # cached now: later, it would start a process (refused)
    try:
        import ipykernel.debugger  # noqa: F401
    except ImportError:
        pass
    import numpy  # noqa: F401

    import bptt_core  # noqa: F401

    from . import probe

    probe.start(args.probe)
    sys.argv = [sys.argv[0], "-f", args.connection_file, "--HistoryManager.enabled=False",
                *rest]
    ipykernel.kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
