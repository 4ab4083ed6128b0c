"""Store the notebooks as JupyterLab would save them, so that opening one changes nothing.

JupyterLab rewrites a notebook's metadata as soon as its kernel starts: the kernelspec's
display name and the kernel's full ``language_info``. A notebook stored with less shows the
unsaved-changes dot before anything runs, and closing it untouched asks whether to save. This
script writes those fields as the project's kernel reports them, in JupyterLab's own format
(nbformat 4.5, one-space indent, a final newline). It also collapses the code cells of gated
solutions (``"jupyter": {"source_hidden": true}``), so that JupyterLab folds the finished code
of a coding exercise away as the website does. Everything else stays as it is.

    python tools/normalize_notebooks.py            # every notebook under book/
    python tools/normalize_notebooks.py --check    # exit 1 and list those that would change

``language_info.version`` is the Python that runs the kernel: on another Python the kernel
reports another version, and only that field changes on open.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def language_info(version: str | None = None) -> dict:
    """The ``language_info`` that ipykernel sends for this Python (what JupyterLab stores)."""
    if version is None:
        version = sys.version.split()[0]
    return {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": version,
    }


def normalized(nb: dict) -> dict:
    """The notebook with the metadata JupyterLab would write on open; nothing else changes."""
    if nb.get("nbformat") != 4:
        raise ValueError(f"nbformat: expected 4, got {nb.get('nbformat')!r}")
    out = dict(nb)
    metadata = dict(nb.get("metadata", {}))
    metadata["kernelspec"] = dict(KERNELSPEC)
    metadata["language_info"] = language_info()
    out["metadata"] = metadata
    out["cells"] = collapse_gated_solutions(nb.get("cells", []))
    return out


GATE = re.compile(r"\{(solution-start|solution-end)\}")


def collapse_gated_solutions(cells: list[dict]) -> list[dict]:
    """Code cells between ``solution-start`` and ``solution-end`` get their input collapsed.

    That is how JupyterLab (and VS Code) hide a cell's code until it is clicked: the finished
    code of a coding exercise is folded away, as in the website's dropdown.
    """
    out, inside = [], False
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            gates = GATE.findall("".join(cell.get("source", "")))
            if gates:
                inside = gates[-1] == "solution-start"
        elif cell.get("cell_type") == "code" and inside:
            cell = dict(cell)
            metadata = dict(cell.get("metadata", {}))
            metadata["jupyter"] = {**metadata.get("jupyter", {}), "source_hidden": True}
            cell["metadata"] = metadata
        out.append(cell)
    return out


def dumps(nb: dict) -> str:
    """JSON as JupyterLab (and nbformat) writes it: indent 1, sorted keys, UTF-8, newline."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


def notebooks(root: Path = ROOT) -> list[Path]:
    book = root / "book"
    return sorted([*book.glob("*.ipynb"), *book.glob("assignments/*.ipynb")])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: book/)")
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if any "
                        "notebook is not normalised")
    args = parser.parse_args(argv)
    stale = []
    for path in args.paths or notebooks():
        text = path.read_text(encoding="utf-8")
        fixed = dumps(normalized(json.loads(text)))
        if fixed != text:
            stale.append(path)
            if not args.check:
                path.write_text(fixed, encoding="utf-8")
    for path in stale:
        print(("not normalised: " if args.check else "normalised: ") + str(path))
    return 1 if (args.check and stale) else 0


if __name__ == "__main__":
    sys.exit(main())
