"""The grader at scale: --jobs 2 gives the rows of --jobs 1, shards merged give the whole
class, an interrupted run resumes without grading again, and without a sandbox grading refuses
to start unless told --no-sandbox (and then warns).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from coursework import __main__ as cli
from coursework import sandbox
from coursework.gradebook import MergeError, merge

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "book" / "assignments"
A1, A2 = "A1_forward_and_loss", "A2_bptt"

pytestmark = pytest.mark.skipif(
    sandbox.sandbox_problem(sandbox.find_bwrap()) is not None
    and not __import__("os").environ.get("CI"),
    reason=f"no sandbox here: {sandbox.sandbox_problem(sandbox.find_bwrap())}")


def grade(submissions: Path, source: Path, out: Path, *options: str
          ) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "coursework", "grade", str(submissions), "-o",
                           str(out), "--source", str(source), "--cell-timeout", "10",
                           *options], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("scale")
    source = root / "source"
    source.mkdir()
    for name in (A1, A2):
        shutil.copy(SOURCE / f"{name}.ipynb", source)
    subs = root / "submissions"
    for name in (A1, A2):  # a perfect student, one with a bug in A2, one with A1 only
        for student in ("ada", "bob"):
            (subs / student).mkdir(parents=True, exist_ok=True)
            shutil.copy(SOURCE / f"{name}.ipynb", subs / student)
    nb = json.loads((subs / "bob" / f"{A2}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell["metadata"].get("nbgrader", {}).get("grade_id") == "a2-step-grads-solution":
            source_text = "".join(cell["source"])
            cell["source"] = source_text.replace('"h_prev": params.W_hh.T @ da',
                                                 '"h_prev": params.W_hh @ da')
    (subs / "bob" / f"{A2}.ipynb").write_text(json.dumps(nb))
    (subs / "cy").mkdir()
    shutil.copy(SOURCE / f"{A1}.ipynb", subs / "cy")
    serial = grade(subs, source, root / "serial" / "grades.csv", "--jobs", "1")
    parallel = grade(subs, source, root / "parallel" / "grades.csv", "--jobs", "2")
    grade(subs, source, root / "shard1" / "grades.csv", "--jobs", "2", "--shard", "1/2")
    grade(subs, source, root / "shard2" / "grades.csv", "--jobs", "2", "--shard", "2/2")
    again = grade(subs, source, root / "parallel" / "grades.csv", "--jobs", "2")
    return {"root": root, "subs": subs, "source": source, "serial": serial,
            "parallel": parallel, "again": again}


def test_jobs_2_gives_the_rows_of_jobs_1(klass):
    root = klass["root"]
    serial, parallel = rows(root / "serial" / "grades.csv"), rows(root / "parallel" /
                                                                   "grades.csv")
    assert parallel == serial
    assert {r["student"] for r in serial} == {"ada", "bob", "cy"}
    bob = {r["task"]: r for r in serial if r["student"] == "bob"}
    assert bob["a2-step-grads"]["points"] == "0" and bob["a2-bptt"]["points"] == "4"
    assert "(1 jobs" in klass["serial"].stdout and "(2 jobs" in klass["parallel"].stdout


def test_shards_merged_give_the_whole_class(klass):
    root = klass["root"]
    one, two = rows(root / "shard1" / "grades.csv"), rows(root / "shard2" / "grades.csv")
    assert {r["student"] for r in one} == {"ada", "cy"}  # positions 0 and 2 of 3
    assert {r["student"] for r in two} == {"bob"}
    out = root / "merged" / "grades.csv"
    code = cli.main(["merge", str(root / "shard2" / "grades.csv"),
                     str(root / "shard1" / "grades.csv"), "-o", str(out)])
    assert code == 0
    assert rows(out) == rows(root / "serial" / "grades.csv")
    assert (out.with_name("grades-gradebook.csv").read_text()
            == (root / "serial" / "grades-gradebook.csv").read_text())


def test_merge_refuses_a_student_with_two_different_results(klass, tmp_path):
    root = klass["root"]
    changed = tmp_path / "changed.csv"
    text = (root / "shard2" / "grades.csv").read_text(encoding="utf-8")
    changed.write_text(text.replace("bob,A2_bptt,a2-step-grads,0,",
                                    "bob,A2_bptt,a2-step-grads,3,"), encoding="utf-8")
    with pytest.raises(MergeError, match="bob is in"):
        merge([root / "shard2" / "grades.csv", changed])


def test_a_second_run_resumes_without_grading_again(klass):
    again = klass["again"]
    assert "resumed: 6 of 6 notebooks" in again.stderr
    assert rows(klass["root"] / "parallel" / "grades.csv") == rows(
        klass["root"] / "serial" / "grades.csv")


def test_without_a_sandbox_grading_refuses_unless_told(klass, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sandbox, "find_bwrap", lambda: None)
    out = tmp_path / "grades.csv"
    code = cli.main(["grade", str(klass["subs"]), "-o", str(out), "--source",
                     str(klass["source"]), "--jobs", "1"])
    assert code == 2 and not out.exists()
    assert "no sandbox can start here" in capsys.readouterr().err
    empty = tmp_path / "empty"
    (empty / "nobody").mkdir(parents=True)
    code = cli.main(["grade", str(empty), "-o", str(out), "--source", str(klass["source"]),
                     "--jobs", "1", "--no-sandbox"])
    assert code == 0
    assert "WARNING: --no-sandbox: the students' code runs with your permissions" in \
        capsys.readouterr().err


def test_an_interrupted_run_resumes_without_grading_finished_notebooks_again(klass):
    root, out = klass["root"], klass["root"] / "interrupted" / "grades.csv"
    state = out.with_name("grades.state")
    scratch = root / "interrupted-tmp"
    scratch.mkdir()
    run = subprocess.Popen([sys.executable, "-m", "coursework", "grade", str(klass["subs"]),
                            "-o", str(out), "--source", str(klass["source"]), "--jobs", "1",
                            "--cell-timeout", "10"],  # the options of grade(), which resumes
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env={**os.environ, "TMPDIR": str(scratch)})  # what SIGKILL leaves
    deadline = time.monotonic() + 300
    while not len(list(state.rglob("*.json"))) >= 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    run.kill()  # as a crash, a closed laptop or a cluster's time limit would
    run.wait()
    kept = len(list(state.rglob("*.json")))
    assert 2 <= kept < 6 and not out.exists()
    done = grade(klass["subs"], klass["source"], out, "--jobs", "2")
    assert f"resumed: {kept} of 6 notebooks" in done.stderr
    assert rows(out) == rows(root / "serial" / "grades.csv")
