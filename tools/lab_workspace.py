"""The folder ``make lab`` opens: the chapters as the notebook edition, keeping a reader's work.

``make lab`` does not open ``book/``: those are the MyST sources, and jupyterlab-myst renders one
notebook at a time, so a reference to another chapter shows a file name, an equation is
numbered from (1) in each notebook and a citation shows its key. The notebook edition
(tools/make_notebooks.py) has all of these as on the website: the website's equation numbers,
chapter titles as links to the sibling notebooks, "(Author, year)". (``make lab-source`` opens
``book/`` itself, for authors.)

    python tools/lab_workspace.py [full|student] [--edition-dir _build/jupyter] [--into lab]

copies the edition's chapters, and book/matplotlibrc (the book's colour-blind-safe figure
style, read from the working directory), into ``lab/<edition>/``:

* a chapter not there yet is copied;
* a chapter unchanged since this script copied it (the same bytes as recorded in
  ``.copied.json``) is replaced by the new version;
* a chapter the reader has changed (edited, or run and saved) is kept as it is, and the new
  version is named so the reader can compare.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = ".copied.json"  # file name -> sha256 of the bytes this script last copied
EDITIONS = ("full", "student")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def update(edition_dir: Path, into: Path, style: Path = ROOT / "book" / "matplotlibrc"
           ) -> dict[str, list[str]]:
    """Copy ``edition_dir``'s notebooks (and ``style``) into ``into``; keep what a reader changed.

    Returns the file names under "copied", "updated", "kept" (changed by the reader; the new
    version was not copied) and "same".
    """
    notebooks = sorted(edition_dir.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"edition_dir: expected the notebook edition's chapters "
                                f"(NN_name.ipynb) in {edition_dir}, found none; run "
                                f"tools/make_notebooks.py first")
    into.mkdir(parents=True, exist_ok=True)
    record_path = into / RECORD
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    report: dict[str, list[str]] = {"copied": [], "updated": [], "kept": [], "same": []}
    for source in [*notebooks, style]:
        target = into / source.name
        new = sha256(source)
        if not target.exists():
            kind = "copied"
        elif sha256(target) == new:
            kind = "same"
        elif record.get(source.name) == sha256(target):  # untouched since we copied it
            kind = "updated"
        else:
            report["kept"].append(source.name)
            continue
        if kind != "same":
            shutil.copyfile(source, target)
        record[source.name] = new
        report[kind].append(source.name)
    record_path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("edition", nargs="?", default="full", choices=EDITIONS)
    parser.add_argument("--edition-dir", type=Path, default=ROOT / "_build" / "jupyter")
    parser.add_argument("--into", type=Path, default=ROOT / "lab")
    args = parser.parse_args(argv)
    into = args.into / args.edition
    try:
        report = update(args.edition_dir / args.edition, into)
    except FileNotFoundError as error:
        print(f"lab_workspace: {error}", file=sys.stderr)
        return 1
    for name in report["kept"]:
        print(f"  kept your {into / name}; the book's new version is "
              f"{args.edition_dir / args.edition / name}")
    print(f"JupyterLab folder {into}: {len(report['copied'])} copied, "
          f"{len(report['updated'])} updated, {len(report['same'])} unchanged, "
          f"{len(report['kept'])} kept as you left them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
