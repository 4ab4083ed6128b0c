"""Red team: submissions that try to score without solving, or to damage the grader.

One class, graded once with --jobs 2 in the sandbox: every cheat starts from the released A1
(nothing implemented, 8 points) and tries one route to points or to harm: IPython hooks and
transformers, patching the checks through sys.modules, importlib and builtins, writing outside
its scratch folder (the engine, the source notebooks, the submissions, the grades), looking for
the source notebooks, ending the kernel, printing or injecting fake results, calling the
engine through routes a text search misses, and using up memory, processes or time. Each must
get 0 on the tasks it did not solve; honest students graded beside them keep full marks, and
every file of the grader is byte-identical afterwards.
"""

from __future__ import annotations

import csv
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from coursework.sandbox import find_bwrap, sandbox_problem

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "book" / "assignments"
A1, A2 = "A1_forward_and_loss", "A2_bptt"
A1_TASKS = ("a1-rnn-step", "a1-forward", "a1-mse", "a1-mse-grad")
CELL_TIMEOUT = 5

pytestmark = pytest.mark.skipif(
    sandbox_problem(find_bwrap()) is not None and not __import__("os").environ.get("CI"),
    reason=f"no sandbox here: {sandbox_problem(find_bwrap())}")

HEARTBEAT_BREAKER = """\
import json, os, random, socket, struct, sys, time
time.sleep(random.random())
connection = json.load(open(sys.argv[sys.argv.index("-f") + 1]))
heartbeat = f"{connection['ip']}-{connection['hb_port']}"
fake = json.dumps({"status": "ok", "value": 0.0, "args": [], "entered": []}).encode()
written = 0
for fd in range(3, 256):
    try:
        end = socket.fromfd(fd, socket.AF_UNIX, socket.SOCK_STREAM)
    except OSError:
        continue
    try:
        if end.getsockname() == heartbeat:
            written += os.write(fd, struct.pack(">I", len(fake)) + fake)
    except OSError:
        pass
    finally:
        end.close()
if not written:
    raise RuntimeError("wrote nothing into the heartbeat connection")
time.sleep(1.5)
os._exit(0)
"""

# student -> code added to the released A1 as a cell after its setup cell, or
# (solution cell's grade_id, new source) pairs replacing the stubs
CHEATS: dict[str, str | dict[str, str]] = {
    # IPython: hooks that run around every later cell, and transformers that rewrite them
    "post_run_cell": """
ip = get_ipython()
def passed(result):
    result.error_in_exec = None
    result.error_before_exec = None
    print("✓ correct")
ip.events.register("post_run_cell", passed)
ip.showtraceback = lambda *a, **k: None
""",
    "input_transformer": """
get_ipython().input_transformers_post.append(lambda lines: ["print('✓ correct')\\n"])
""",
    "ast_transformer": """
import ast
class NoAsserts(ast.NodeTransformer):
    def visit_Assert(self, node):
        return ast.Pass()
get_ipython().ast_transformers.append(NoAsserts())
""",
    # the checks patched where they live: sys.modules, importlib, builtins
    "patched_checks": """
import sys
import bptt_core.checks as checks
import bptt_core.checks.assignments as assignments
from bptt_core.checks._core import CheckResult
yes = lambda *a, **k: CheckResult(True, "✓ correct")
for module in list(sys.modules.values()):
    if getattr(module, "__name__", "").startswith("bptt_core.checks"):
        for name in dir(module):
            if name.startswith("check_") or name in ("verdict", "run_check", "diagnose"):
                setattr(module, name, yes)
""",
    "fake_modules": """
import importlib, sys, types
from bptt_core.checks._core import CheckResult
fake = types.ModuleType("bptt_core.checks.assignments")
fake.__getattr__ = lambda name: (lambda *a, **k: CheckResult(True, "✓ correct"))
sys.modules["bptt_core.checks.assignments"] = fake
sys.modules["bptt_core.checks"] = fake
importlib.invalidate_caches()
import builtins
builtins.AssertionError = type("Never", (Exception,), {})
real_import = builtins.__import__
builtins.__import__ = lambda name, *a, **k: (
    fake if "checks" in name else real_import(name, *a, **k))
""",
    # writing where a kernel must not: the engine, the sources, the submissions, the grades
    "writer": """
import os, pathlib, bptt_core
targets = [pathlib.Path(bptt_core.__file__).parent / "checks" / "_core.py",
           pathlib.Path(bptt_core.__file__).parent / "evil.py",
           pathlib.Path(bptt_core.__file__).parent.parent / "book" / "assignments" / "x.ipynb",
           pathlib.Path(bptt_core.__file__).parent.parent / "coursework" / "verdict.py"]
for arg in ("SUBMISSIONS", "OUTPUT"):
    targets.append(pathlib.Path(os.environ.get(arg, "/nonexistent")) / "evil.txt")
targets += [pathlib.Path(p) / "evil.txt" for p in ("/", "/work", "/root", "/usr", "/etc")]
for target in targets:
    try:
        target.write_text("def check_forward(*a, **k): return True\\n")
    except OSError:
        pass
""",
    # looking for the solutions and hidden tests, to use them
    "snooper": """
import glob, json, os, pathlib, bptt_core
found = []
root = pathlib.Path(bptt_core.__file__).parent.parent
patterns = [str(root / "book" / "assignments" / "*.ipynb"), str(root / "**" / "A1_*.ipynb"),
            "/tmp/**/*.ipynb", "/work/**/A1_*.ipynb", os.path.expanduser("~/*/*.ipynb")]
for pattern in patterns:
    try:
        found += glob.glob(pattern, recursive=True)
    except OSError:
        pass
for path in found:
    try:
        cells = json.load(open(path))["cells"]
    except Exception:
        continue
    for cell in cells:
        code = "".join(cell.get("source", ""))
        if "### BEGIN SOLUTION" in code and "raise NotImplementedError" not in code:
            exec(code, globals())
here = os.getcwd()  # its own folder holds its own notebook, the stubs
solutions = [p for p in found if not os.path.abspath(p).startswith(here)]
raise RuntimeError(f"found {len(solutions)} source notebooks {solutions[:3]}")
""",
    # ending the kernel or pretending to be the grader
    "exits": {"a1-rnn-step-solution": "import os\nos._exit(0)",
              "a1-forward-solution": "raise SystemExit(0)",
              "a1-mse-solution": "exit()",
              "a1-mse-grad-solution": "def mse_grad(y, target):\n    import os\n"
                                      "    os._exit(0)\n"},
    "fake_output": """
import json, os, struct
print(json.dumps({"status": "ok", "points": 8, "feedback": "✓ correct"}))
print("✓ correct")
fake = json.dumps({"status": "ok", "value": 0.0, "args": [], "entered": []}).encode()
for fd in range(3, 64):
    try:
        os.write(fd, struct.pack(">I", len(fake)) + fake)
    except OSError:
        pass
""",
    # bytes written into the grader's heartbeat connection alone, one heartbeat before the
    # kernel ends: once in a few tries this wedged jupyter_client's heartbeat thread, and with
    # it the grader's worker (CI, 900 s); four tries, one per solution cell. The grader now
    # keeps no heartbeat connection, so there is nothing to write to
    "heartbeat_breaker": {gid: HEARTBEAT_BREAKER for gid in (
        "a1-rnn-step-solution", "a1-forward-solution", "a1-mse-solution",
        "a1-mse-grad-solution")},
    "self_check_result": {"a1-mse-solution": (
        "from bptt_core.checks._core import CheckResult\n"
        "def mse(y, target):\n    return CheckResult(True, '✓ correct')\n")},
    # the engine through routes a text search does not see
    "engine_routes": {
        "a1-forward-solution": (
            "import bptt_core as bc\n"
            "def forward(params, xs, h0):\n"
            "    run = getattr(bc, 'rnn_' + 'forward')\n"
            "    cache = run(params, xs, h0)\n"
            "    return cache.h, cache.y\n"),
        "a1-mse-solution": (
            "from bptt_core.losses import mse_loss as m\n"
            "def mse(y, target):\n    return m(y, target)[0]\n"),
        "a1-mse-grad-solution": (
            "import importlib, sys\n"
            "def mse_grad(y, target):\n"
            "    sys.setprofile(None)\n"
            "    losses = importlib.import_module('bptt_core.' + 'losses')\n"
            "    return losses.mse_loss(y, target)[1]\n")},
    "probe_hunter": """
import gc, sys, threading
for action in (lambda: gc.get_objects(), lambda: sys._current_frames(),
               lambda: [t._target for t in threading.enumerate()]):
    try:
        action()
    except Exception:
        pass
import coursework.probe as probe
probe.start = None
""",
    # resources: memory, processes, time
    "memory_hog": """
import numpy as np
hog = []
while True:  # 512 MB at a time: the limit is on address space, reached before memory is used
    hog.append(np.empty(2**26))
""",
    "big_array": {"a1-mse-solution": (
        "import numpy as np\n"
        "def mse(y, target):\n"
        "    return float(np.zeros((60000, 60000)).sum())  # 29 GB\n")},
    "fork_bomb": """
import os
while True:
    os.fork()
""",
    "process_bomb": """
import subprocess
subprocess.Popen(["sh", "-c", ":(){ :|:& };:"])
""",
    "sleeper": "import time\nwhile True:\n    time.sleep(1)\n",
}
# what each resource hog's feedback must say
REASONS = {"memory_hog": "ran out of memory", "big_array": "ran out of memory",
           "fork_bomb": "does not allow os.fork",
           "process_bomb": "does not allow subprocess.Popen",
           "sleeper": f"still running after the time limit of {CELL_TIMEOUT} s per cell"}
MARKER = "def check_forward(*a, **k): return True"  # what the writer tries to put everywhere


NOISY = """\
    print("debug", h0.shape)
    import logging, warnings
    warnings.warn("a warning from the student")
    logging.getLogger("student").warning("a log line")
"""
PLOT = """\
import matplotlib.pyplot as plt
plt.plot([1, 2], [3, 4])
plt.savefig("plot.png")
"""


def fingerprint(*roots: Path) -> dict[str, str]:
    out = {}
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                out[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def released_a1(tmp: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "coursework", "release", str(SOURCE), "-o",
                           str(tmp)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads((tmp / f"{A1}.ipynb").read_text())


def with_cheat(nb: dict, cheat: str | dict[str, str]) -> dict:
    nb = json.loads(json.dumps(nb))
    if isinstance(cheat, str):
        setup = next(i for i, c in enumerate(nb["cells"])
                     if c["metadata"].get("nbgrader", {}).get("grade_id") == "a1-setup")
        nb["cells"].insert(setup + 1, {"cell_type": "code", "execution_count": None,
                                       "metadata": {}, "outputs": [], "source": cheat})
        return nb
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if gid in cheat:
            cell["source"] = cheat[gid]
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("redteam")
    stub = released_a1(root / "release")
    submissions = root / "submissions"
    for student, cheat in CHEATS.items():
        (submissions / student).mkdir(parents=True)
        (submissions / student / f"{A1}.ipynb").write_text(json.dumps(with_cheat(stub, cheat)))
    for honest in ("honest_1", "honest_2", "honest_3"):  # graded beside the hogs
        (submissions / honest).mkdir(parents=True)
        for name in (A1, A2):
            (submissions / honest / f"{name}.ipynb").write_bytes(
                (SOURCE / f"{name}.ipynb").read_bytes())
    # an honest student who prints, warns, logs and plots, in and around the graded functions
    nb = json.loads((SOURCE / f"{A1}.ipynb").read_text())
    for cell in nb["cells"]:
        gid = cell["metadata"].get("nbgrader", {}).get("grade_id")
        text = "".join(cell["source"])
        if gid == "a1-forward-solution":
            cell["source"] = text.replace("    h[0] = h0\n", "    h[0] = h0\n" + NOISY)
        elif gid == "a1-mse-solution":
            cell["source"] = PLOT + text
    (submissions / "honest_noisy").mkdir(parents=True)
    (submissions / "honest_noisy" / f"{A1}.ipynb").write_text(json.dumps(nb))
    out = root / "out" / "grades.csv"
    # the engine is guarded by content below: other work may change it while this test runs
    guarded = (SOURCE, ROOT / "coursework", submissions)
    before = fingerprint(*guarded)
    engine_before = fingerprint(ROOT / "bptt_core")
    done = subprocess.run(
        [sys.executable, "-m", "coursework", "grade", str(submissions), "-o", str(out),
         "--source", str(SOURCE), "--jobs", "2", "--timeout", "60", "--cell-timeout",
         str(CELL_TIMEOUT), "--memory-mb", "1536"],
        capture_output=True, text=True, cwd=root, timeout=900)
    after = fingerprint(*guarded)
    engine_after = fingerprint(ROOT / "bptt_core")
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {"done": done, "rows": rows, "before": before, "after": after,
            "engine": (engine_before, engine_after),
            "by": {(r["student"], r["task"]): r for r in rows}}


def test_the_run_ends_normally(graded):
    assert graded["done"].returncode == 0, graded["done"].stderr[-3000:]


@pytest.mark.parametrize("student", list(CHEATS))
def test_a_cheat_scores_nothing_on_what_it_did_not_solve(graded, student):
    for task in A1_TASKS:
        row = graded["by"][(student, task)]
        assert float(row["points"]) == 0, f"{student} scored on {task}: {row}"


@pytest.mark.parametrize("student", list(REASONS))
def test_a_resource_hog_ends_with_its_reason(graded, student):
    feedback = " ".join(graded["by"][(student, task)]["feedback"] for task in A1_TASKS)
    assert REASONS[student] in feedback, feedback


def test_a_submission_looking_for_the_source_notebooks_finds_none(graded):
    assert "found 0 source notebooks" in graded["by"][("snooper", "a1-rnn-step")]["feedback"]


def test_the_grader_keeps_no_heartbeat_connection_a_kernel_could_break(graded):
    # without runner._NoHeartbeatClient the breaker writes into it and ends its kernel
    feedback = graded["by"][("heartbeat_breaker", "a1-rnn-step")]["feedback"]
    assert "raised RuntimeError: wrote nothing into the heartbeat connection" in feedback, \
        feedback


def test_engine_routes_are_named(graded):
    for task in ("a1-forward", "a1-mse", "a1-mse-grad"):
        feedback = graded["by"][("engine_routes", task)]["feedback"]
        assert "calls" in feedback or "does not allow sys.setprofile" in feedback, feedback


def test_honest_students_keep_full_marks(graded):
    for student in ("honest_1", "honest_2", "honest_3"):
        mine = [r for r in graded["rows"] if r["student"] == student]
        assert len(mine) == 4 + 3 + 4 + 3  # every task of the four assignments
        for row in mine:
            if row["assignment"] in (A1, A2):
                assert row["points"] == row["max_points"], row


def test_an_honest_student_who_prints_warns_logs_and_plots_keeps_full_marks(graded):
    for task in A1_TASKS:
        row = graded["by"][("honest_noisy", task)]
        assert row["points"] == row["max_points"], row


def test_the_graders_files_are_byte_identical(graded):
    assert graded["after"] == graded["before"]
    engine_before, engine_after = graded["engine"]
    assert not [p for p in set(engine_after) - set(engine_before) if "evil" in p]
    for path in engine_after:
        if engine_after[path] != engine_before[path]:  # changed by someone: not by the writer
            assert MARKER not in Path(path).read_text(encoding="utf-8"), path


def test_the_cpu_limit_stops_a_notebook_with_its_reason(tmp_path):
    stub = released_a1(tmp_path / "release")
    (tmp_path / "class" / "spinner").mkdir(parents=True)
    (tmp_path / "class" / "spinner" / f"{A1}.ipynb").write_text(json.dumps(with_cheat(
        stub, "x = 0\nwhile True:\n    x += 1\n")))
    out = tmp_path / "grades.csv"
    done = subprocess.run(
        [sys.executable, "-m", "coursework", "grade", str(tmp_path / "class"), "-o", str(out),
         "--source", str(SOURCE), "--jobs", "1", "--cpu-seconds", "4",
         "--cell-timeout", "60", "--timeout", "90"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = list(csv.DictReader(out.open(newline="", encoding="utf-8")))
    spinner = [r for r in rows if r["assignment"] == A1]
    assert all(float(r["points"]) == 0 for r in spinner)
    assert "used up its CPU time (4 s" in spinner[0]["feedback"], spinner[0]["feedback"]
