"""The notebook edition (tools/make_notebooks.py): plain Jupyter Markdown, full and student.

The first tests convert small pieces of MyST; the rest read the edition `make book` (and so
`make test`) writes into _build/jupyter, and are skipped with the reason when it is missing
(they fail instead when the environment variable CI is set).
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
import make_notebooks as mk  # noqa: E402

EDITION = ROOT / "_build" / "jupyter"
SITE = ROOT / "_build" / "html"
# what only MyST understands: roles, directives, targets, directive options
MYST_ONLY = re.compile(r"\{[a-z][\w:-]*\}`|^[ \t>]*(`{3,}|:{3,})\{|^[ \t>]*\([^()\s]+\)=[ \t]*$"
                       r"|^[ \t>]*:(label|class|nonumber):", re.M)


def tiny_book() -> mk.Book:
    book = mk.Book(root=ROOT, docs=["book/01_a", "book/02_b"], baseurl="")
    book.titles = {"book/01_a": "1. First", "book/02_b": "2. Second"}
    book.edition = {"book/01_a", "book/02_b"}
    book.targets = {
        "a-eq": mk.Target("eq", "book/01_a", 1),
        "b-eq": mk.Target("eq", "book/02_b", 2),
        "b-ex": mk.Target("exercise", "book/02_b", 3),
        "b-sec": mk.Target("section", "book/02_b", title="A section"),
    }
    book.bib = mk.parse_bib("@article{w90,\n  author = {Werbos, Paul J.},\n  year = {1990}\n}\n"
                            "@article{wz89,\n  author = {Williams, R. and Zipser, D.},\n"
                            "  year = {1989}\n}\n@book{b94,\n  author = {Bengio, Y. and "
                            "Simard, P. and Frasconi, P.},\n  year = {1994}\n}\n")
    return book


def convert(cells: list[dict], edition: str = "full", glue: dict | None = None,
            doc: str = "book/02_b") -> list[dict]:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(c["md"]) if "md" in c else
                nbformat.v4.new_code_cell(c["code"]) for c in cells]
    ctx = mk.Context(tiny_book(), doc, edition, glue or {})
    return mk.convert_notebook(ctx, json.loads(nbformat.writes(nb)))["cells"]


def test_labelled_math_gets_the_websites_number_as_a_tag():
    text = convert([{"md": "(b-top)=\n# 2. Second\n\n```{math}\n:label: b-eq\na = b\n```\n"}])
    assert text[0]["source"] == ("# 2. Second\n\n$$\n\\begin{equation*}\na = b\n\\tag{2}\n"
                                 "\\end{equation*}\n$$")


def test_display_math_is_numbered_only_by_its_tag():
    """jupyterlab-myst numbers a plain $$ block itself; a starred environment it does not."""
    md = ("$$\nx = 1\n$$ (b-eq)\n\nand $$y = 2$$ inline, and\n\n"
          "$$\n\\begin{align*}\nz\n\\end{align*}\n$$")
    assert convert([{"md": md}])[0]["source"] == (
        "$$\\begin{equation*}\nx = 1\n\\tag{2} \\end{equation*}$$\n\n"
        "and $$\\begin{equation*}y = 2\\end{equation*}$$ inline, and\n\n"
        "$$\n\\begin{align*}\nz\n\\end{align*}\n$$")
    with pytest.raises(mk.ConversionError, match=r"begin\{align\}.*numbered in JupyterLab"):
        convert([{"md": "$$\n\\begin{align}\nz\n\\end{align}\n$$"}])


def test_display_math_keeps_its_lines_and_leaves_code_and_escaped_dollars_alone():
    md = ("* a list item:\n\n   $$\n   x = 1\n   $$\n\nCode: `$$ (b-eq)` and ``$$x$$``, "
          "money: \\$$5 or \\$$6, then\n\n$$\ny\n$$ (b-eq)")
    assert convert([{"md": md}])[0]["source"] == (
        "* a list item:\n\n   $$\\begin{equation*}\n   x = 1\n   \\end{equation*}$$\n\n"
        "Code: `$$ (b-eq)` and ``$$x$$``, money: \\$$5 or \\$$6, then\n\n"
        "$$\\begin{equation*}\ny\n\\tag{2} \\end{equation*}$$")


def test_references_become_numbers_titles_and_links():
    md = "See {eq}`b-eq`, {eq}`a-eq`, {doc}`01_a`, {ref}`b-sec` and {py:func}`bc.f <x.f>`."
    assert convert([{"md": md}])[0]["source"] == (
        "See (2), [(1)](01_a.ipynb), [1. First](01_a.ipynb), A section and `bc.f`.")


def test_citations_are_author_year():
    md = "{cite:p}`w90`, {cite:t}`wz89`, {cite:p}`b94,w90`"
    assert convert([{"md": md}])[0]["source"] == (
        "(Werbos, 1990), Williams and Zipser (1989), (Bengio et al., 1994; Werbos, 1990)")


def test_roles_inside_inline_code_are_left_alone():
    md = "write ``{eq}`label` `` to refer to an equation"
    assert convert([{"md": md}])[0]["source"] == md


def test_glued_values_are_formatted_as_on_the_website():
    md = "a ratio of {glue:text}`r:.1%` after {glue:text}`n` steps"
    out = convert([{"md": md}], glue={"r": 0.4567, "n": 12})
    assert out[0]["source"] == "a ratio of 45.7% after 12 steps"


def test_exercises_are_headed_and_solutions_collapsed_or_gone():
    md = (":::{exercise}\n:label: b-ex\nWhy?\n:::\n\n:::{solution} b-ex\n:class: dropdown\n"
          "Because.\n:::\n")
    full = convert([{"md": md}])[0]["source"]
    assert full.startswith("**Exercise 3**\n\n> Why?")
    assert "<details>\n<summary>Solution to Exercise 3</summary>\n\nBecause." in full
    student = convert([{"md": md}], "student")[0]["source"]
    assert "Because" not in student and "Solution" not in student


def test_a_gated_solution_is_collapsed_in_full_and_a_stub_in_student():
    cells = [{"md": "```{solution-start} b-ex\n:class: dropdown\n```\nThe idea."},
             {"code": "def my_f(x):\n    \"\"\"Twice x.\"\"\"\n    return 2 * x"},
             {"code": "assert my_f(2) == 4"},
             {"md": "```{solution-end}\n```\nAfter."}]
    full = convert(cells)
    assert full[0]["source"].startswith("<details>\n<summary>Solution to Exercise 3</summary>")
    assert "The idea." in full[0]["source"] and full[0]["source"].endswith("</details>")
    assert all(c["metadata"]["jupyter"]["source_hidden"] for c in full[1:3])
    assert full[3]["source"] == "After."
    student = convert(cells, "student")
    sources = [c["source"] for c in student]
    assert "The idea." not in "".join(sources) and "return 2 * x" not in "".join(sources)
    assert sources[1] == ('def my_f(x):\n    """Twice x."""\n    # Exercise 3: your code here\n'
                          '    raise NotImplementedError("Exercise 3: write my_f")')
    assert sources[-1] == "After."
    assert len(student) == 3  # the check cell of the solution is gone with it


def test_admonitions_become_quotes_and_dropdowns_details():
    md = ":::{admonition} Erratum: a sign\n:class: warning\nThe sign is wrong.\n:::\n"
    assert convert([{"md": md}])[0]["source"] == (
        "> **Erratum: a sign**\n>\n> The sign is wrong.")


def test_a_long_title_goes_on_until_the_options():
    md = ":::{admonition} A title that goes\non here\n:class: warning\nBody.\n:::\n"
    assert convert([{"md": md}])[0]["source"] == "> **A title that goes on here**\n>\n> Body."


def test_unknown_constructs_fail_with_the_place():
    with pytest.raises(mk.ConversionError, match=r"book/02_b, cell 0: unknown directive"):
        convert([{"md": ":::{margin}\nx\n:::"}])
    with pytest.raises(mk.ConversionError, match=r"cell 1: .*not a labelled equation"):
        convert([{"code": "1"}, {"md": "{eq}`nope`"}])


def test_code_shown_in_the_text_is_neither_a_heading_nor_an_equation(tmp_path):
    (tmp_path / "_config.yml").write_text("title: t\n")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: book/01_a\n")
    text = ("```python\n# not a title\nprint('$$ (not-an-equation)')\n$$ (not-either)\n```\n\n"
            "```{note}\nA directive's closing fence opens no code.\n```\n\n"
            "# 1. First\n\n$$\nx\n$$ (an-equation)\n")
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "01_a.ipynb").write_text(json.dumps({
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": text}],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    book = mk.read_book(tmp_path)
    assert book.titles["book/01_a"] == "1. First"
    assert book.targets == {"an-equation": mk.Target("eq", "book/01_a", 1)}


def test_outputs_are_not_stored():
    nb_cells = convert([{"code": "1 + 1"}])
    assert nb_cells[0]["outputs"] == [] and nb_cells[0]["execution_count"] is None


# -- the edition as built ----------------------------------------------------------------------


def built_edition() -> Path:
    if not (EDITION / "full").is_dir() or not (EDITION / "student").is_dir():
        reason = "no notebook edition in _build/jupyter: run make notebooks (make test does)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(reason)
        pytest.skip(reason)
    return EDITION


CHAPTERS = sorted(Path(doc).name + ".ipynb" for doc in mk.chapters(mk.read_book(ROOT)))
ASSIGNMENTS = sorted(f"assignments/{Path(doc).name}.ipynb"
                     for doc in mk.assignments(mk.read_book(ROOT)))


@pytest.mark.parametrize("name", CHAPTERS + ASSIGNMENTS)
def test_both_editions_are_plain_jupyter_markdown(name):
    edition = built_edition()
    for folder in ("full", "student"):
        path = edition / folder / name
        assert path.is_file(), f"{path} is missing"
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        for index, cell in enumerate(nb.cells):
            if cell.cell_type == "markdown":
                found = MYST_ONLY.search(cell.source)
                assert not found, f"{folder}/{name} cell {index}: MyST left: {found.group(0)!r}"
            else:
                assert cell.outputs == [] and cell.execution_count is None


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_student_edition_has_no_solution(name):
    edition = built_edition()
    full = nbformat.read(edition / "full" / name, as_version=4)
    student = nbformat.read(edition / "student" / name, as_version=4)
    text = "\n".join(c.source for c in student.cells)
    assert "Solution to Exercise" not in text and "<details>" not in text
    hidden = [c.source for c in full.cells if c.metadata.get("jupyter", {}).get("source_hidden")]
    for source in hidden:  # every cell of a gated solution: gone, or a stub
        assert source not in text
    stubs = [c.source for c in student.cells if "raise NotImplementedError" in c.source]
    defined = {m for s in hidden for m in re.findall(r"^def (\w+)\(", s, re.M)}
    assert {m for s in stubs for m in re.findall(r"^def (\w+)\(", s, re.M)} == defined


@pytest.mark.parametrize("name", CHAPTERS)
def test_equation_numbers_are_the_websites(name):
    edition = built_edition()
    page = SITE / "book" / name.replace(".ipynb", ".html")
    if not page.is_file():
        pytest.skip("no website in _build/html: run make book")
    site = [int(n) for n in re.findall(r'<span class="eqno">\((\d+)\)', page.read_text())]
    full = nbformat.read(edition / "full" / name, as_version=4)
    tags = [int(n) for c in full.cells if c.cell_type == "markdown"
            for n in re.findall(r"\\tag\{(\d+)\}", c.source)]
    assert tags == site


def scratch_git(repo: Path, *args: str) -> str:
    """git in a scratch repository, with an author of its own; its output."""
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                          cwd=repo, check=True, capture_output=True, text=True).stdout


def test_the_published_branch_holds_what_the_launch_buttons_open(tmp_path):
    """make publish-notebooks: ghp-import commits _build/jupyter/publish as the branch's tree."""
    publish = built_edition() / "publish"
    branch = mk.yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["branch"]

    git = functools.partial(scratch_git, tmp_path)

    git("init", "-q")
    git("commit", "-q", "--allow-empty", "-m", "0")
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    subprocess.run([str(Path(sys.executable).parent / "ghp-import"), "-n", "-b", branch,
                    str(publish)], cwd=tmp_path, check=True, env=env)
    files = set(git("ls-tree", "-r", "--name-only", branch).split())
    assert files == {".nojekyll", "requirements.txt", "book/matplotlibrc",
                     *(f"book/{name}" for name in CHAPTERS + ASSIGNMENTS)}
    for name in CHAPTERS + ASSIGNMENTS:  # the full edition, as make notebooks wrote it
        assert git("show", f"{branch}:book/{name}") == \
            (built_edition() / "full" / name).read_text(encoding="utf-8")
    requirements = git("show", f"{branch}:requirements.txt")
    assert "bptt_core[interactive] @ git+" in requirements  # Binder installs the engine


def test_publishing_refuses_a_branch_that_holds_anything_else(tmp_path):
    """ghp-import replaces the branch's whole tree: never main, this branch, or a branch with
    other files; a branch with only an earlier edition, or a new one, is fine."""
    import publish_notebooks as pub

    git = functools.partial(scratch_git, tmp_path)

    git("init", "-q", "-b", "work")
    (tmp_path / "README.md").write_text("the sources\n")
    git("add", "README.md")
    git("commit", "-q", "-m", "sources")
    for branch, reason in ((None, "expected the name"), ("", "expected the name"),
                           ("main", "lose the book's sources"), ("work", "checked out here")):
        with pytest.raises(pub.Refused, match=rf"repository\.branch: .*{reason}"):
            pub.check_branch(tmp_path, branch)
    git("branch", "other")  # an existing branch with the sources on it
    with pytest.raises(pub.Refused, match=r"'other' holds files .*README\.md"):
        pub.check_branch(tmp_path, "other")
    assert pub.check_branch(tmp_path, "notebooks") == "notebooks"  # not there yet
    git("checkout", "-q", "--orphan", "notebooks")
    git("rm", "-q", "-r", "--cached", ".")
    (tmp_path / "README.md").unlink()
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "01_a.ipynb").write_text("{}")
    (tmp_path / "requirements.txt").write_text("x\n")
    git("add", "book", "requirements.txt")
    git("commit", "-q", "-m", "an earlier edition")
    git("checkout", "-q", "work")
    assert pub.check_branch(tmp_path, "notebooks") == "notebooks"
