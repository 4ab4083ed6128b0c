"""The grader's last line of defence (coursework.workers): each notebook in a worker process
of its own, stopped with everything it started when it outlives a hard limit, so that nothing,
not even a library call that never returns, holds up a class. A worker that dies or fails is
reported, never lost, and workers die with the grader. Inside a worker, a reply from a
kernel that trickles in byte by byte still runs out of time, and kernel clients start no
heartbeat thread (which a kernel could wedge).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from jupyter_client.channels import HBChannel

from coursework import __main__ as cli
from coursework import grading
from coursework.notebooks import load_source
from coursework.runner import KernelSession, _receive
from coursework.sandbox import Sandbox
from coursework.workers import run_all

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "book" / "assignments"
A1 = "A1_forward_and_loss"


def answer(value):
    return value * 2


def hang_with_a_child(pid_file: str):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    Path(pid_file + ".part").write_text(f"{os.getpid()} {child.pid}")
    os.replace(pid_file + ".part", pid_file)  # never seen half written
    time.sleep(600)


def die(code: int):
    os._exit(code)


def fail():
    raise RuntimeError("a bug in the grader")


def gone(pid: int, within: float = 10.0) -> bool:
    until = time.monotonic() + within
    while time.monotonic() < until:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.1)
    return False


def test_answers_come_back_with_their_keys():
    outcomes = list(run_all([(k, answer, (k,)) for k in range(5)], jobs=2, limit=60))
    assert sorted((o.key, o.value, o.failure) for o in outcomes) == [
        (k, 2 * k, "") for k in range(5)]


def test_a_worker_past_the_limit_is_stopped_with_what_it_started(tmp_path):
    pids = tmp_path / "pids"
    started = time.monotonic()
    outcomes = {o.key: o for o in run_all(
        [("hangs", hang_with_a_child, (str(pids),)), ("fine", answer, (21,))],
        jobs=2, limit=10)}
    assert time.monotonic() - started < 60
    assert outcomes["fine"].value == 42 and not outcomes["fine"].failure
    assert "did not end within the grader's hard limit of 10 s" in outcomes["hangs"].failure
    worker, child = (int(p) for p in pids.read_text().split())
    assert gone(worker) and gone(child)


def test_a_worker_that_dies_or_fails_is_reported():
    outcomes = {o.key: o for o in run_all([("dies", die, (3,)), ("fails", fail, ())],
                                          jobs=1, limit=60)}
    assert outcomes["dies"].failure == "the worker process ended with exit code 3 without an " \
                                       "answer"
    assert outcomes["fails"].failure == ("the worker process failed: RuntimeError: a bug in "
                                         "the grader")


def test_bad_arguments_are_refused(capsys):
    with pytest.raises(ValueError, match="jobs: expected at least 1, got 0"):
        list(run_all([], jobs=0, limit=1))
    with pytest.raises(ValueError, match="limit: expected a positive number of seconds, got 0"):
        list(run_all([], jobs=1, limit=0))
    for timeout in ("inf", "nan", "0"):
        with pytest.raises(SystemExit):
            cli.parser().parse_args(["grade", "class", "-o", "g.csv", "--timeout", timeout])
        assert "--timeout: expected a finite number > 0" in capsys.readouterr().err


def test_a_limit_of_years_is_a_limit_not_a_crash():
    # poll() takes milliseconds as a C int: 1e9 s is beyond it, so the waits are cut up
    [outcome] = run_all([("one", answer, (1,))], jobs=1, limit=1e9)
    assert outcome.value == 2 and not outcome.failure


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_die_with_the_grader(tmp_path):
    pids = tmp_path / "pids"
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT)!r}, {str(Path(__file__).parent)!r}]
        from coursework.workers import run_all
        from test_grader_workers import hang_with_a_child
        list(run_all([("hangs", hang_with_a_child, ({str(pids)!r},))], jobs=1, limit=600))
    """)
    grader = subprocess.Popen([sys.executable, "-c", script])
    until = time.monotonic() + 60
    while not pids.exists() and time.monotonic() < until:
        time.sleep(0.1)
    worker, child = (int(p) for p in pids.read_text().split())
    grader.kill()  # as a closed laptop or a cluster's time limit would
    grader.wait()
    assert gone(worker)
    psutil.Process(child).kill()  # not a kernel: nothing of the grader's ends it


def sleepy_class(root: Path) -> list[str]:
    """A class of one student whose notebook says when its kernel is asleep (root / "asleep"),
    and the grade command for it, without a sandbox: nothing but the grader ends its kernel."""
    nb = json.loads((SOURCE / f"{A1}.ipynb").read_text())
    nb["cells"].insert(1, {"cell_type": "code", "execution_count": None, "metadata": {},
                           "outputs": [], "source": f"import time\nopen({str(root / 'asleep')!r},"
                                                    f" 'w').close()\ntime.sleep(600)\n"})
    (root / "class" / "sleepy").mkdir(parents=True)
    (root / "class" / "sleepy" / f"{A1}.ipynb").write_text(json.dumps(nb))
    (root / "source").mkdir()
    shutil.copy(SOURCE / f"{A1}.ipynb", root / "source")
    (root / "tmp").mkdir()
    return [sys.executable, "-m", "coursework", "grade", str(root / "class"), "-o",
            str(root / "out" / "grades.csv"), "--source", str(root / "source"), "--jobs", "1",
            "--no-sandbox", "--cell-timeout", "600", "--timeout", "600"]


def asleep(grader: subprocess.Popen, root: Path) -> list[psutil.Process]:
    """The grader's kernels, once the student's cell is asleep."""
    until = time.monotonic() + 120
    while not (root / "asleep").exists() and time.monotonic() < until:
        time.sleep(0.2)
    assert (root / "asleep").exists(), "the kernel never reached the student's cell"
    kernels = []
    for process in psutil.Process(grader.pid).children(recursive=True):
        try:
            if "coursework.kernel" in " ".join(process.cmdline()):
                kernels.append(process)
        except psutil.Error:  # a short-lived helper that has ended
            pass
    assert kernels
    return kernels


def test_a_killed_grader_leaves_no_kernel_behind_even_without_a_sandbox(tmp_path):
    # the worker dies with the grader (PR_SET_PDEATHSIG), then ipykernel with its parent
    grader = subprocess.Popen(sleepy_class(tmp_path), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL,
                              env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
    kernels = []
    try:
        kernels = asleep(grader, tmp_path)
        grader.kill()  # as a crash or a closed laptop would: nothing of the grader runs on
        grader.wait()
        assert all(gone(kernel.pid) for kernel in kernels)
    finally:
        grader.kill()
        for kernel in kernels:
            kernel.kill() if kernel.is_running() else None


def test_a_time_limits_sigterm_stops_the_run_and_removes_its_scratch(tmp_path):
    grader = subprocess.Popen(sleepy_class(tmp_path), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "TMPDIR": str(tmp_path / "tmp")})
    kernels = []
    try:
        kernels = asleep(grader, tmp_path)
        assert list((tmp_path / "tmp").glob("bptt-grading-*"))  # the students' work, copied
        grader.terminate()  # SIGTERM, as SLURM or a CI time limit sends it
        _out, err = grader.communicate(timeout=60)
        assert grader.returncode == 130, err
        assert "interrupted: the notebooks graded so far are kept in" in err
        assert all(gone(kernel.pid) for kernel in kernels)
        assert not list((tmp_path / "tmp").glob("bptt-grading-*"))
    finally:
        grader.kill()
        for kernel in kernels:
            kernel.kill() if kernel.is_running() else None


def test_a_notebook_that_holds_up_its_worker_is_a_grader_error_and_the_class_goes_on(
        tmp_path, monkeypatch):
    for student in ("stuck", "fine"):
        (tmp_path / "class" / student).mkdir(parents=True)
    real = grading.grade_notebook

    def grade_notebook(student, *args, **kwargs):  # a worker that never comes back
        if student == "stuck":
            time.sleep(120)
        return real(student, *args, **kwargs)

    monkeypatch.setattr(grading, "grade_notebook", grade_notebook)
    monkeypatch.setattr(grading, "KERNEL_ALLOWANCE", 8.0)
    a1 = [a for a in load_source(SOURCE) if a.name == A1]
    started = time.monotonic()
    report = grading.grade_class(tmp_path / "class", a1, jobs=2, timeout=1)
    assert time.monotonic() - started < 60
    stuck, fine = report.results["stuck"][A1], report.results["fine"][A1]
    assert stuck.grader_error and stuck.points == 0
    assert stuck.problem == ("grader error: grading this notebook did not end within the "
                             "grader's hard limit of 10 s per notebook, so the grader stopped it "
                             "and everything it had started")
    assert all(row.feedback.startswith(stuck.problem) for row in stuck.rows)
    assert not fine.grader_error and fine.problem.startswith("no A1_forward_and_loss.ipynb")
    assert report.grader_errors == 1


def test_a_reply_trickling_in_from_a_kernel_runs_out_of_time():
    grader, kernel = socket.socketpair()

    def trickle():  # promises 100 bytes, then sends one every 0.2 s: each recv would be quick
        kernel.sendall(struct.pack(">I", 100))
        for _ in range(100):
            time.sleep(0.2)
            try:
                kernel.sendall(b" ")
            except OSError:
                return

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        _receive(grader, deadline=started + 1.0)
    assert time.monotonic() - started < 3
    grader.close()
    kernel.close()


def test_kernel_clients_start_no_heartbeat_thread(tmp_path):
    # a kernel could wedge that thread, and with it the worker (runner._NoHeartbeatClient)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    (tmp_path / "scratch").mkdir()
    session = KernelSession(nb, tmp_path / "scratch", tmp_path / "scratch", Sandbox(None),
                            timeout=60, cell_timeout=30)
    try:
        runs = session.run()
        assert [run.status for run in runs] == ["ok"]
        assert session.client.kc is not None and session.client.kc.shell_channel.is_alive()
        assert session.client.kc._hb_channel is None
        assert not [t for t in threading.enumerate() if isinstance(t, HBChannel)]
    finally:
        session.close()
