"""The folder ``make lab`` opens: the chapters as the notebook edition, keeping a reader's work.

``make lab`` does not open ``book/``: those are the MyST sources, and jupyterlab-myst renders one
notebook at a time, so a reference to another chapter shows a file name, an equation is
numbered from (1) in each notebook and a citation shows its key. The notebook edition
(tools/make_notebooks.py) has all of these as on the website: the website's equation numbers,
chapter titles as links (to the sibling notebooks; to the website's pages when ``html.baseurl``
is set), "(Author, year)". (``make lab-source`` opens ``book/`` itself, for authors.)

    python tools/lab_workspace.py [full|student] [--edition-dir _build/jupyter] [--into lab]

copies the edition's chapters, and book/matplotlibrc (the book's colour-blind-safe figure
style, read from the working directory), into ``lab/<edition>/``. What the reader wrote is the
text of the cells (their types and sources); outputs, execution counts and metadata are what
running a notebook changes, not the reader's work:

* a chapter not there yet is copied;
* a chapter whose text is the book's current one is left as it is (with the reader's outputs);
* a chapter whose cells the reader has not changed since this script copied it (their text
  as recorded in ``.copied.json``) is replaced by the book's new version;
* a chapter whose cells the reader changed is kept as it is; when the book's version is newer
  than the one the reader started from, the run says where it is;
* a chapter the book no longer has is removed when the reader has not changed it, and named
  when they have.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RECORD = ".copied.json"  # file name -> fingerprint of what this script last copied there
EDITIONS = ("full", "student")


def fingerprint(path: Path) -> str:
    """A notebook's cell types and sources (not outputs, counts, metadata); other files' bytes."""
    data = path.read_bytes()
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(data)["cells"]
            data = json.dumps([[c["cell_type"], "".join(c["source"])] for c in cells]).encode()
        except (ValueError, KeyError, TypeError):  # not a notebook any more: compare the bytes
            pass
    return hashlib.sha256(data).hexdigest()


def update(edition_dir: Path, into: Path, style: Path = ROOT / "book" / "matplotlibrc"
           ) -> dict[str, list[str]]:
    """Copy ``edition_dir``'s notebooks (and ``style``) into ``into``; keep what a reader changed.

    Returns the file names under "copied", "updated", "same", "kept" (changed by the reader,
    and the book has a newer version), "yours" (changed by the reader, the book's version is
    the one they started from), "removed" (gone from the book, unchanged here) and "orphaned"
    (gone from the book, changed here: left in place).
    """
    notebooks = sorted(edition_dir.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"edition_dir: expected the notebook edition's chapters "
                                f"(NN_name.ipynb) in {edition_dir}, found none; run "
                                f"tools/make_notebooks.py first")
    into.mkdir(parents=True, exist_ok=True)
    record_path = into / RECORD
    record = json.loads(record_path.read_text()) if record_path.is_file() else {}
    report: dict[str, list[str]] = {k: [] for k in ("copied", "updated", "same", "kept",
                                                    "yours", "removed", "orphaned")}
    sources = [*notebooks, style]
    for source in sources:
        target = into / source.name
        new = fingerprint(source)
        mine = fingerprint(target) if target.exists() else None
        if mine is None:
            kind = "copied"
        elif mine == new:  # the book's text: the reader's outputs, if any, stay
            kind = "same"
        elif mine == record.get(source.name):  # the book changed, the reader's text did not
            kind = "updated"
        else:  # the reader wrote something: theirs stays
            report["yours" if record.get(source.name) == new else "kept"].append(source.name)
            continue
        if kind != "same":
            shutil.copyfile(source, target)
        record[source.name] = new
        report[kind].append(source.name)
    for name in sorted(set(record) - {s.name for s in sources}):
        target = into / name
        if target.exists() and fingerprint(target) != record[name]:
            report["orphaned"].append(name)
            continue
        target.unlink(missing_ok=True)
        del record[name]
        report["removed"].append(name)
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
        print(f"  kept your {into / name}; the book has a new version of it: "
              f"{args.edition_dir / args.edition / name} (delete yours to get it)")
    for name in report["orphaned"]:
        print(f"  {into / name} is no longer in the book; kept, as you changed it")
    print(f"JupyterLab folder {into}: {len(report['copied'])} copied, "
          f"{len(report['updated'])} updated, {len(report['same'])} unchanged, "
          f"{len(report['kept']) + len(report['yours'])} with your changes kept, "
          f"{len(report['removed'])} removed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
