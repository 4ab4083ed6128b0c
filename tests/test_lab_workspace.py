"""make lab's folder (tools/lab_workspace.py): new chapters arrive, a reader's work stays."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lab_workspace  # noqa: E402


def notebook(*sources: str, outputs: bool = False) -> str:
    cells = [{"cell_type": "code", "metadata": {}, "source": s, "execution_count": 1 if outputs
              else None, "outputs": [{"output_type": "stream", "name": "stdout",
                                      "text": "ran\n"}] if outputs else []} for s in sources]
    return json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells})


@pytest.fixture
def folders(tmp_path):
    edition, into, style = tmp_path / "edition", tmp_path / "lab", tmp_path / "matplotlibrc"
    edition.mkdir()
    (edition / "01_a.ipynb").write_text(notebook("a = 1"))
    (edition / "02_b.ipynb").write_text(notebook("def f():\n    raise NotImplementedError"))
    style.write_text("lines.linewidth: 2.0\n")
    return edition, into, style


def test_first_run_copies_every_chapter_and_the_style(folders):
    edition, into, style = folders
    report = lab_workspace.update(edition, into, style)
    assert report["copied"] == ["01_a.ipynb", "02_b.ipynb", "matplotlibrc"]
    assert (into / "01_a.ipynb").read_text() == (edition / "01_a.ipynb").read_text()
    assert (into / "matplotlibrc").read_text() == style.read_text()
    assert lab_workspace.update(edition, into, style)["same"] == report["copied"]


def test_running_a_chapter_is_not_changing_it(folders):
    """Outputs are kept while the book is the same, replaced when the book changes."""
    edition, into, style = folders
    lab_workspace.update(edition, into, style)
    ran = notebook("a = 1", outputs=True)
    (into / "01_a.ipynb").write_text(ran)
    report = lab_workspace.update(edition, into, style)
    assert "01_a.ipynb" in report["same"] and (into / "01_a.ipynb").read_text() == ran
    (edition / "01_a.ipynb").write_text(notebook("a = 2"))  # the book fixed something
    report = lab_workspace.update(edition, into, style)
    assert report["updated"] == ["01_a.ipynb"]
    assert (into / "01_a.ipynb").read_text() == notebook("a = 2")


def test_a_new_version_never_replaces_the_readers_work(folders):
    edition, into, style = folders
    lab_workspace.update(edition, into, style)
    answer = notebook("def f():\n    return 42", outputs=True)
    (into / "02_b.ipynb").write_text(answer)
    report = lab_workspace.update(edition, into, style)  # the book is the same: nothing to say
    assert report["yours"] == ["02_b.ipynb"] and report["kept"] == []
    (edition / "02_b.ipynb").write_text(notebook("def f():\n    raise NotImplementedError('f')"))
    report = lab_workspace.update(edition, into, style)
    assert report["kept"] == ["02_b.ipynb"] and (into / "02_b.ipynb").read_text() == answer
    (into / "02_b.ipynb").unlink()  # a reader who deletes it gets the book's current one
    report = lab_workspace.update(edition, into, style)
    assert report["copied"] == ["02_b.ipynb"]


def test_a_file_made_before_the_record_is_the_readers(folders):
    edition, into, style = folders
    into.mkdir()
    (into / "01_a.ipynb").write_text(notebook("someone's own"))
    report = lab_workspace.update(edition, into, style)
    assert report["kept"] == ["01_a.ipynb"]
    assert (into / "01_a.ipynb").read_text() == notebook("someone's own")


def test_a_chapter_gone_from_the_book_goes_unless_the_reader_changed_it(folders):
    edition, into, style = folders
    lab_workspace.update(edition, into, style)
    (into / "02_b.ipynb").write_text(notebook("def f():\n    return 42"))
    (edition / "01_a.ipynb").unlink()
    (edition / "02_b.ipynb").rename(edition / "03_b.ipynb")  # renamed in the book
    report = lab_workspace.update(edition, into, style)
    assert report["removed"] == ["01_a.ipynb"] and not (into / "01_a.ipynb").exists()
    assert report["orphaned"] == ["02_b.ipynb"] and (into / "02_b.ipynb").exists()
    assert report["copied"] == ["03_b.ipynb"]


def test_an_empty_edition_is_an_error_that_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"edition_dir: .*make_notebooks"):
        lab_workspace.update(tmp_path, tmp_path / "lab")
