"""make lab's folder (tools/lab_workspace.py): new chapters arrive, a reader's work stays."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import lab_workspace  # noqa: E402


@pytest.fixture
def folders(tmp_path):
    edition, into, style = tmp_path / "edition", tmp_path / "lab", tmp_path / "matplotlibrc"
    edition.mkdir()
    (edition / "01_a.ipynb").write_text("a, first version")
    (edition / "02_b.ipynb").write_text("b, first version")
    style.write_text("lines.linewidth: 2.0\n")
    return edition, into, style


def test_first_run_copies_every_chapter_and_the_style(folders):
    edition, into, style = folders
    report = lab_workspace.update(edition, into, style)
    assert report["copied"] == ["01_a.ipynb", "02_b.ipynb", "matplotlibrc"]
    assert (into / "01_a.ipynb").read_text() == "a, first version"
    assert (into / "matplotlibrc").read_text() == style.read_text()
    assert lab_workspace.update(edition, into, style)["same"] == report["copied"]


def test_a_new_version_replaces_an_untouched_copy_but_never_the_readers_work(folders):
    edition, into, style = folders
    lab_workspace.update(edition, into, style)
    (into / "02_b.ipynb").write_text("b, with the reader's answers")  # run and saved
    (edition / "01_a.ipynb").write_text("a, second version")
    (edition / "02_b.ipynb").write_text("b, second version")
    report = lab_workspace.update(edition, into, style)
    assert report["updated"] == ["01_a.ipynb"] and report["kept"] == ["02_b.ipynb"]
    assert (into / "01_a.ipynb").read_text() == "a, second version"
    assert (into / "02_b.ipynb").read_text() == "b, with the reader's answers"
    # still the reader's on the next run, and a chapter the reader deleted comes back
    (into / "01_a.ipynb").unlink()
    report = lab_workspace.update(edition, into, style)
    assert report["kept"] == ["02_b.ipynb"] and report["copied"] == ["01_a.ipynb"]


def test_a_copy_made_before_the_record_is_kept(folders):
    """A file already there that this script never copied is the reader's."""
    edition, into, style = folders
    into.mkdir()
    (into / "01_a.ipynb").write_text("someone's own notebook")
    report = lab_workspace.update(edition, into, style)
    assert report["kept"] == ["01_a.ipynb"]
    assert (into / "01_a.ipynb").read_text() == "someone's own notebook"


def test_an_empty_edition_is_an_error_that_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"edition_dir: .*make_notebooks"):
        lab_workspace.update(tmp_path, tmp_path / "lab")
