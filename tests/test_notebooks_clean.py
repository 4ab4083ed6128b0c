"""Notebooks are committed without outputs; execution belongs to the build and to nbval."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

import bptt_core

BOOK = Path(__file__).resolve().parent.parent / "book"
NOTEBOOKS = sorted(p for p in BOOK.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def stored_outputs(path: Path) -> list[str]:
    """Code cells of a notebook file that carry outputs or an execution count."""
    cells = json.loads(path.read_text())["cells"]
    return [f"cell {i}" for i, cell in enumerate(cells) if cell["cell_type"] == "code"
            and (cell.get("outputs") or cell.get("execution_count") is not None)]


def test_there_are_notebooks():
    assert NOTEBOOKS, f"no notebooks under {BOOK}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_is_stored_without_outputs(path):
    assert stored_outputs(path) == [], f"{path.name}: clear outputs before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_neither_edits_sys_path_nor_redefines_bptt_core(path):
    source = "\n".join("".join(cell["source"]) for cell in json.loads(path.read_text())["cells"]
                       if cell["cell_type"] == "code")
    assert "sys.path" not in source
    defined = set(re.findall(r"^\s*def (\w+)", source, flags=re.M))
    assert not defined & set(bptt_core.__all__), "call bptt_core instead of re-implementing it"


def test_a_notebook_with_outputs_is_caught(tmp_path):
    planted = tmp_path / "dirty.ipynb"
    planted.write_text(json.dumps({"cells": [
        {"cell_type": "markdown", "source": "# title", "metadata": {}},
        {"cell_type": "code", "source": "1 + 1", "metadata": {}, "execution_count": 3,
         "outputs": []},
        {"cell_type": "code", "source": "print(1)", "metadata": {}, "execution_count": None,
         "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}]},
    ]}))
    assert stored_outputs(planted) == ["cell 1", "cell 2"]


CHAPTERS = sorted(BOOK.glob("*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_first_code_cell_installs_the_engine_when_it_is_missing(path):
    """Colab opens a bare notebook: the first code cell installs bptt_core if it is missing,
    and does nothing where it is installed (hidden on the website)."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    first = "".join(cells[0]["source"])
    assert "import bptt_core" in first and "except ImportError:" in first
    assert "%pip install" in first and "git+" in first
    assert "remove-cell" in cells[0]["metadata"].get("tags", [])


def hidden_explorations(source: str) -> list[int]:
    """Lines of top-level explore(...) calls that are not the cell's last statement: Jupyter
    and the website show only a cell's last value, so such an exploration never appears."""
    import ast

    try:
        body = ast.parse(source).body
    except SyntaxError:  # IPython magics: such cells hold no exploration
        return []
    return [node.lineno for node in body[:-1]
            if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
            and getattr(node.value.func, "id", getattr(node.value.func, "attr", "")) == "explore"]


def test_a_hidden_exploration_is_caught():
    assert hidden_explorations("x = 1\nexplore(draw, a=[1, 2], alt=alt)\ny = 2\n") == [2]
    assert hidden_explorations("x = 1\nbc.explore(draw, a=[1, 2], alt=alt)\n") == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_every_exploration_is_its_cells_last_statement(path):
    cells = json.loads(path.read_text())["cells"]
    hidden = [(i, hidden_explorations("".join(c["source"]))) for i, c in enumerate(cells)
              if c["cell_type"] == "code"]
    assert not [(i, lines) for i, lines in hidden if lines], \
        f"{path.name}: explore(...) must end its cell, or it is never shown: {hidden}"
