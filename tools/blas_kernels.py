"""Run the engine's unit tests again under other OpenBLAS kernels (issue 9).

    python tools/blas_kernels.py            # Prescott, and SkylakeX where the CPU has AVX-512

The same float64 expression computed two ways can agree to the last bit under one BLAS kernel
and differ by 1e-17 under another, so a test that compares floats exactly can pass on one CPU
and fail on the next. Running the engine's tests under the generic x86-64 kernel (Prescott,
which runs on every such CPU) and, where the hardware has it, the AVX-512 kernel (SkylakeX)
makes such a test fail here, not on a reader's machine. Each run first checks with
threadpoolctl that numpy really uses the kernel asked for: OpenBLAS silently falls back to
another one when the name is unknown or the CPU cannot run it.

The engine's unit tests are tests/test_*.py without the ones that build or drive the website,
JupyterLab, the notebooks or the grader (see NOT_ENGINE): those do no BLAS arithmetic of their
own that the engine's tests do not already cover, and take minutes.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOT_ENGINE = ("test_site*", "test_lab*", "test_notebook*", "test_student_edition*",
              "test_pdf*", "test_coursework*", "test_grader*", "test_a11y*")
# OPENBLAS_CORETYPE -> the names threadpoolctl may report for it (numpy's OpenBLAS calls its
# generic Prescott kernel "Katmai")
KERNELS = {"Prescott": ("Prescott", "Katmai"), "SkylakeX": ("SkylakeX",)}

CHECK = """
import numpy, threadpoolctl
print(" ".join(sorted({i.get("architecture") or "?" for i in threadpoolctl.threadpool_info()
                       if i.get("internal_api") == "openblas"})) or "none")
"""


def has_avx512() -> bool:
    try:
        return "avx512f" in Path("/proc/cpuinfo").read_text().split()
    except OSError:
        return False


def engine_tests() -> list[str]:
    files = sorted((ROOT / "tests").glob("test_*.py"))
    return [str(f.relative_to(ROOT)) for f in files
            if not any(fnmatch.fnmatch(f.name, pattern) for pattern in NOT_ENGINE)]


def run(kernel: str) -> int:
    env = {**os.environ, "OPENBLAS_CORETYPE": kernel, "OPENBLAS_NUM_THREADS": "1"}
    found = subprocess.run([sys.executable, "-c", CHECK], env=env, capture_output=True,
                           text=True, check=True).stdout.split()
    if not set(found) & set(KERNELS[kernel]):
        print(f"blas_kernels: asked OpenBLAS for {kernel}, numpy runs {found}: not tested",
              file=sys.stderr)
        return 1
    print(f"blas_kernels: the engine's unit tests under OpenBLAS {kernel} (numpy reports "
          f"{', '.join(found)})", flush=True)
    return subprocess.run([sys.executable, "-m", "pytest", *engine_tests(), "-q", "-n", "2",
                           "-p", "no:cacheprovider"], env=env, cwd=ROOT).returncode


def main() -> int:
    kernels = ["Prescott"] + (["SkylakeX"] if has_avx512() else [])
    if not has_avx512():
        print("blas_kernels: no avx512f in /proc/cpuinfo: SkylakeX cannot run here, skipped")
    failed = [kernel for kernel in kernels if run(kernel) != 0]
    if failed:
        print(f"blas_kernels: FAILED under {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
