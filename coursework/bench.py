"""python -m coursework.bench [--students 10] [--jobs 1 2] [--source book/assignments]

Measure the grader's throughput on this machine: a made-up class (half the students hand in
the source notebooks, half the released ones with nothing done) graded once per ``--jobs``
value, in the sandbox, each run from scratch. Prints notebooks per minute, the speed-up over
the first ``--jobs`` value, the load average around each run (other work on the machine slows
it down), and what a class of 1,000 students would take.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    options = argparse.ArgumentParser(prog="python -m coursework.bench")
    options.add_argument("--students", type=int, default=10)
    options.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    options.add_argument("--source", type=Path, default=Path("book/assignments"))
    options.add_argument("--no-sandbox", action="store_true")
    args = options.parse_args(argv)
    source = args.source.resolve()
    with tempfile.TemporaryDirectory(prefix="bptt-bench-") as tmp:
        root = Path(tmp)
        done = subprocess.run([sys.executable, "-m", "coursework", "release", str(source),
                               "-o", str(root / "release")], capture_output=True, text=True)
        if done.returncode != 0:
            print(done.stderr, file=sys.stderr)
            return 2
        notebooks = sorted(source.glob("*.ipynb"))
        for i in range(args.students):
            folder = root / "class" / f"student{i:03d}"
            folder.mkdir(parents=True)
            for nb in notebooks:
                origin = nb if i % 2 == 0 else root / "release" / nb.name
                shutil.copy(origin, folder / nb.name)
        total = args.students * len(notebooks)
        print(f"{args.students} students x {len(notebooks)} notebooks = {total} notebooks, "
              f"{os.cpu_count()} cores")
        first = None
        for jobs in args.jobs:
            load = os.getloadavg()[0]
            started = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "coursework", "grade", str(root / "class"), "-o",
                 str(root / f"jobs{jobs}" / "grades.csv"), "--source", str(source),
                 "--jobs", str(jobs), *(["--no-sandbox"] if args.no_sandbox else [])],
                capture_output=True, text=True)
            seconds = time.monotonic() - started
            if done.returncode != 0:
                print(done.stderr[-2000:], file=sys.stderr)
                return 1
            rate = total / seconds * 60
            first = first or rate
            hours = 1000 * len(notebooks) / rate / 60
            print(f"--jobs {jobs}: {seconds:.1f} s, {rate:.1f} notebooks per minute, "
                  f"{rate / first:.2f}x --jobs {args.jobs[0]}; 1,000 students "
                  f"({1000 * len(notebooks)} notebooks): {hours:.1f} h; load average "
                  f"{load:.1f} before, {os.getloadavg()[0]:.1f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
