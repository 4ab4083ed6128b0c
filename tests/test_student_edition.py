"""The student edition gives no answer away (issue 11).

``make student-book`` builds the book with sphinx-exercise's ``hide_solutions: true``: every
``{solution}`` directive disappears, and ``tools/sphinx_bptt.py`` removes everything between a
gated ``{solution-start}`` and its ``{solution-end}`` (code cells included); every other cell
stays, source and output. These tests apply the same transformation to the notebooks
themselves, so they need no build and see what a student sees: the exercise cells and the
Markdown around them, not only the solution boxes.

1. Every function handed to a ``check_*`` self-check is, on the student page, still a stub:
   every definition shown there contains ``raise NotImplementedError`` or ``...``, and a function
   the page asks for (names it, or hands it to a shown self-check) is shown as such a stub (in a
   code cell or in a skeleton in the exercise's text). A function defined and checked only
   inside a hidden solution (a planted mistake the solution shows being caught) is no exercise.
2. No line of any solution's code appears on a student page: not one on the solution's own
   page, not two of the same solution on any other page (one generic line, such as a Jacobian
   product, is no answer). Lines that carry no answer are left out: signatures, docstrings,
   block headers, a bare ``return x``, lines shorter than 12 characters, the self-check calls,
   and the lines of the skeletons the exercises hand out (a skeleton is scaffolding: check 1
   makes sure it holds a ``...`` or ``raise NotImplementedError``).
3. When the student edition is built (``make test`` builds it first), its HTML agrees: every
   stub's first line is on the page and no answer line is.

Code cells tagged ``remove-cell`` or ``remove-input`` show no source on the site; their source
counts as hidden. The assignments (``book/assignments``) hide their solution cells with
``remove-input`` and are released to students by nbgrader: they take part in check 2.
The planted pages at the end show each check failing on a page that gives an answer away.
"""

from __future__ import annotations

import ast
import functools
import html
import io
import json
import os
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BOOK = Path(__file__).resolve().parent.parent / "book"
CHAPTERS = sorted(BOOK.glob("[0-9][0-9]_*.ipynb"))
PAGES = CHAPTERS + sorted(BOOK.glob("assignments/*.ipynb"))

# a directive that sphinx-exercise removes from the student edition, with its fence
DIRECTIVE = re.compile(r"^\s*(?P<fence>`{3,}|:{3,})\{(?P<name>solution|solution-start|"
                       r"solution-end)\}")
# a fenced block of Python in Markdown (a skeleton in an exercise, code in a solution)
CODE_BLOCK = re.compile(r"^(?P<fence>`{3,})[ \t]*(?:python|python3|py|ipython3?)?[ \t]*\n"
                        r"(?P<code>.*?)^(?P=fence)[ \t]*$", re.M | re.S)
HIDDEN_TAGS = {"remove-cell", "remove-input"}


@dataclass
class Edition:
    """One page as the student edition shows it, and what it hides."""

    shown_code: list[str] = field(default_factory=list)  # code cells, skeletons in Markdown
    shown_text: list[str] = field(default_factory=list)  # all Markdown shown, code cells too
    hidden_code: list[str] = field(default_factory=list)  # solution cells, solutions' code
    all_code: list[str] = field(default_factory=list)  # every code cell, shown or hidden


def closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return (len(stripped) >= len(fence) and set(stripped) == {fence[0]})


def student_edition(cells: list[dict]) -> Edition:
    """Split a notebook's cells as ``hide_solutions: true`` does."""
    edition = Edition()
    gated = False  # between {solution-start} and {solution-end}
    for cell in cells:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            edition.all_code.append(source)
            tags = set(cell.get("metadata", {}).get("tags", []))
            if gated or tags & HIDDEN_TAGS:
                edition.hidden_code.append(source)
            else:
                edition.shown_code.append(source)
                edition.shown_text.append(source)
            continue
        if cell["cell_type"] != "markdown":
            continue
        shown, hidden, fence, name = [], [], None, None
        for line in source.splitlines(keepends=True):
            if fence is not None:  # inside a directive the student edition removes
                hidden.append(line)
                if closes(line, fence):
                    if name == "solution-start":
                        gated = True
                    elif name == "solution-end":
                        gated = False
                    fence = None
                continue
            opened = DIRECTIVE.match(line)
            if opened:
                fence, name = opened["fence"], opened["name"]
                hidden.append(line)
            elif gated:
                hidden.append(line)
            else:
                shown.append(line)
        assert fence is None, f"an unclosed {{{name}}} directive in: {source[:80]!r}"
        text = "".join(shown)
        edition.shown_text.append(text)
        edition.shown_code += [m["code"] for m in CODE_BLOCK.finditer(text)]
        edition.hidden_code += [m["code"] for m in CODE_BLOCK.finditer("".join(hidden))]
    return edition


def read(path: Path) -> Edition:
    return student_edition(json.loads(path.read_text())["cells"])


@functools.cache
def parse(code: str) -> ast.Module | None:
    """The code as Python, or None (IPython magics, a skeleton that is not Python)."""
    try:
        return ast.parse(code)
    except SyntaxError:
        return None


def functions(code: str) -> dict[str, list[ast.FunctionDef]]:
    found: dict[str, list[ast.FunctionDef]] = {}
    tree = parse(code)
    for node in ast.walk(tree) if tree else ():
        if isinstance(node, ast.FunctionDef):
            found.setdefault(node.name, []).append(node)
    return found


def is_stub(function: ast.FunctionDef) -> bool:
    """The body holds ``...`` or ``raise NotImplementedError``: it cannot give the answer."""
    for node in ast.walk(function):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and node.value.value is Ellipsis:
            return True
        if isinstance(node, ast.Raise) and node.exc is not None:
            raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(raised, ast.Name) and raised.id == "NotImplementedError":
                return True
    return False


def checked_functions(edition: Edition) -> set[str]:
    """Names of the notebook's own functions handed to a ``check_*`` self-check."""
    defined: set[str] = set()
    for code in edition.all_code + edition.hidden_code:
        defined |= set(functions(code))
    handed: set[str] = set()
    for code in edition.all_code:
        tree = parse(code)
        for node in ast.walk(tree) if tree else ():
            if not isinstance(node, ast.Call):
                continue
            callee = node.func.attr if isinstance(node.func, ast.Attribute) else \
                getattr(node.func, "id", "")
            if callee.startswith("check_"):
                handed |= {arg.id for arg in node.args
                           if isinstance(arg, ast.Name) and arg.id in defined}
    return handed


def stub_problems(edition: Edition) -> list[str]:
    """What the student page gives away of the functions its self-checks test."""
    shown: dict[str, list[ast.FunctionDef]] = {}
    for code in edition.shown_code:
        for name, defs in functions(code).items():
            shown.setdefault(name, []).extend(defs)
    visible_checks = checked_functions(Edition(all_code=edition.shown_code))
    problems = []
    for name in sorted(checked_functions(edition)):
        # a function the student page asks for (names it, or hands it to a shown self-check)
        # needs a stub there; one defined and checked only inside a hidden solution (a planted
        # mistake, say) is not an exercise
        asked = name in visible_checks or any(re.search(rf"\b{name}\b", block)
                                              for block in edition.shown_text)
        if name not in shown and asked:
            problems.append(f"{name}: handed to a self-check, but the student page shows no "
                            f"stub of it (a skeleton with `...` or `raise NotImplementedError`)")
        for function in shown.get(name, []):
            if not is_stub(function):
                problems.append(f"{name}: the student page shows a working definition (line "
                                f"{function.lineno} of its cell): {ast.unparse(function)[:160]!r}")
    return problems


def code_lines(code: str) -> list[str]:
    """The lines of code without comments, whitespace removed (so formatting cannot hide one)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        tokens = None
    lines = code.splitlines()
    if tokens is not None:
        for token in reversed(tokens):  # cut each comment off its line
            if token.type == tokenize.COMMENT:
                row, col = token.start
                lines[row - 1] = lines[row - 1][:col]
    return ["".join(line.split()) for line in lines]


# lines of a solution that carry no answer: headers of blocks, bare returns, stub markers
STRUCTURE = re.compile(r"^(def|class|@|import|from|for|while|if|elif|else:|with|try:|except|"
                       r"return\w*(,\w+)*$|pass$|\.\.\.$|raiseNotImplementedError)")


def skeleton_lines(editions: list[Edition]) -> set[str]:
    """The lines of every stub (skeleton) the student pages hand out: scaffolding, not answers."""
    given = set()
    for edition in editions:
        for code in edition.shown_code:
            lines = code_lines(code)
            for defs in functions(code).values():
                for function in filter(is_stub, defs):
                    given |= set(lines[function.lineno - 1:function.end_lineno])
    return given


def answer_lines(edition: Edition, given: set[str] | None = None) -> dict[str, set[str]]:
    """{function: the lines of its body that carry the answer}, for each function the page's
    solutions define. Left out: docstrings, block headers, a bare ``return x``, self-check
    calls, lines shorter than 12 characters, and the lines of skeletons (``given``; by default
    the page's own)."""
    given = skeleton_lines([edition]) if given is None else given
    answers: dict[str, set[str]] = {}
    for code in edition.hidden_code:
        lines = code_lines(code)
        for name, defs in functions(code).items():
            for function in defs:
                skip = set()
                first = function.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                        and isinstance(first.value.value, str):  # the docstring
                    skip |= set(range(first.lineno, (first.end_lineno or first.lineno) + 1))
                for number in range(first.lineno, (function.end_lineno or 0) + 1):
                    line = lines[number - 1]
                    if number in skip or len(line) < 12 or STRUCTURE.match(line) \
                            or "check_" in line or line in given:
                        continue
                    answers.setdefault(name, set()).add(line)
    return answers


def shown_text(edition: Edition) -> str:
    """Everything the student page shows, whitespace removed."""
    return "".join("".join(block.split()) for block in edition.shown_text)


def leaks(answers: dict[str, set[str]], page: str, texts: dict[str, str]) -> list[str]:
    """Where the answers show (``texts``: page -> its shown_text): any line on the solution's
    own page; elsewhere two lines or more of one function (a single generic line such as a
    Jacobian product is no answer)."""
    found = []
    for other, text in texts.items():
        for name, lines in sorted(answers.items()):
            hits = sorted(line for line in lines if line in text)
            if hits and (other == page or len(hits) >= 2):
                found += [f"{other} shows {name}'s {line}" for line in hits]
    return found


@pytest.fixture(scope="module")
def editions() -> dict[str, Edition]:
    return {path.name: read(path) for path in PAGES}


@pytest.fixture(scope="module")
def given(editions) -> set[str]:
    return skeleton_lines(list(editions.values()))


@pytest.fixture(scope="module")
def texts(editions) -> dict[str, str]:
    return {name: shown_text(edition) for name, edition in editions.items()}


def test_there_are_chapters_with_self_checks(editions):
    with_checks = [name for name, e in editions.items() if checked_functions(e)]
    assert len(with_checks) >= 10, with_checks


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_every_checked_function_is_a_stub_for_the_student(path, editions):
    problems = stub_problems(editions[path.name])
    assert not problems, f"{path.name} gives answers away:\n" + "\n".join(problems)


@pytest.mark.parametrize("path", PAGES, ids=lambda p: p.name)
def test_no_solution_code_on_any_student_page(path, editions, given, texts):
    found = leaks(answer_lines(editions[path.name], given), path.name, texts)
    assert not found, f"code of {path.name}'s solutions on student pages:\n" + "\n".join(found)


# --- the checks can fail: pages that give the answer away are caught --------------------------

def md(text: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": text}


def code(text: str, **metadata) -> dict:
    return {"cell_type": "code", "metadata": metadata, "source": text, "outputs": [],
            "execution_count": None}


EXERCISE = ":::{exercise}\n:label: ex\nWrite `double(x)`.\n:::\n"
SOLUTION = "def double(x):\n    twice = 2.0 * x + 0.0\n    return twice\n"
STUB = "def double(x):\n    raise NotImplementedError  # your code here\n"
GATE_START = "```{solution-start} ex\n:class: dropdown\n```\nOne solution:"
GATE_END = "```{solution-end}\n```\nAfter the solution."
CHECK = "result = check_double(double)\nassert result"


def test_a_gated_solution_with_a_stub_passes():
    edition = student_edition([md(EXERCISE), code(STUB), md(GATE_START), code(SOLUTION),
                               code(CHECK), md(GATE_END)])
    assert checked_functions(edition) == {"double"}
    assert stub_problems(edition) == []
    assert answer_lines(edition) == {"double": {"twice=2.0*x+0.0"}}
    assert leaks(answer_lines(edition), "p", {"p": shown_text(edition)}) == []
    assert "Afterthesolution." in "".join("".join(t.split()) for t in edition.shown_text)


def test_the_answer_in_the_exercise_cell_is_caught():
    # chapter 7 before issue 11: the exercise cell itself held the answer
    edition = student_edition([md(EXERCISE), code(SOLUTION), code(CHECK),
                               md(":::{solution} ex\n:class: dropdown\n`return 2 * x`\n:::\n")])
    problems = stub_problems(edition)
    assert len(problems) == 1 and "working definition" in problems[0]


def test_solution_code_shown_elsewhere_is_caught():
    def found(cells, others=()):
        pages = {"p": student_edition(cells)}
        pages.update({f"o{i}": student_edition(c) for i, c in enumerate(others)})
        return leaks(answer_lines(pages["p"]), "p", {n: shown_text(e) for n, e in pages.items()})

    after = [md(GATE_START), code(SOLUTION), code(CHECK), md(GATE_END)]
    assert found([md(EXERCISE), code(STUB)] + after) == []
    # in a hint of the exercise's text, formatted differently
    hint = EXERCISE + "\nHint: `twice = 2.0*x + 0.0`.\n"
    assert found([md(hint), code(STUB)] + after) == ["p shows double's twice=2.0*x+0.0"]
    # in another code cell the student sees, with a comment
    shown = code("twice = 2.0 * x + 0.0  # why not")
    assert found([md(EXERCISE), code(STUB), shown] + after) == ["p shows double's twice=2.0*x+0.0"]
    # in the (non-gated) solution box's code: hidden, so no leak
    box = ":::{solution} ex\n:class: dropdown\n```python\ntwice = 2.0 * x + 0.0\n```\n:::\n"
    assert found([md(EXERCISE), code(STUB), md(box)] + after) == []
    # on another page: one generic line is no answer, two lines are
    longer = SOLUTION.replace("    return", "    thrice = 3.0 * x + 0.0\n    return")
    after = [md(GATE_START), code(longer), code(CHECK), md(GATE_END)]
    assert found([md(EXERCISE), code(STUB)] + after, [[shown]]) == []
    both = code("twice = 2.0 * x + 0.0\nthrice = 3.0 * x + 0.0")
    assert len(found([md(EXERCISE), code(STUB)] + after, [[both]])) == 2


def test_a_function_without_any_stub_on_the_page_is_caught():
    edition = student_edition([md(EXERCISE), md(GATE_START), code(SOLUTION), code(CHECK),
                               md(GATE_END)])
    problems = stub_problems(edition)
    assert len(problems) == 1 and "shows no stub" in problems[0]


def test_a_planted_mistake_inside_a_solution_needs_no_stub():
    planted = "def halve(x):\n    wrong = 0.5 * x + 0.0\n    return wrong\n"
    cells = [md(EXERCISE), code(STUB), md(GATE_START), code(SOLUTION), code(CHECK),
             code(planted + "assert not check_double(halve)"), md(GATE_END)]
    assert checked_functions(student_edition(cells)) == {"double", "halve"}
    assert stub_problems(student_edition(cells)) == []
    # once the page names it (an exercise asks for it), it needs its stub
    cells[0] = md(EXERCISE + "\nThen write `halve(x)`.\n")
    assert "halve: handed to a self-check" in stub_problems(student_edition(cells))[0]


def test_hidden_cells_and_an_unclosed_gate():
    edition = student_edition([code(SOLUTION, tags=["remove-input"]), code(CHECK)])
    assert "shows no stub" in stub_problems(edition)[0]
    with pytest.raises(AssertionError, match="unclosed"):
        student_edition([md("```{solution-start} ex\n:class: dropdown\n")])


# --- the built student edition agrees (after `make student-book`; make test builds it) ---------

STUDENT_HTML = BOOK.parent / "_build" / "student" / "html"


def html_text(path: Path) -> str:
    """The text of a built page, tags removed, entities decoded, whitespace removed."""
    page = re.sub(r"<(script|style)\b.*?</\1>", "", path.read_text(), flags=re.S)
    return "".join(html.unescape(re.sub(r"<[^>]+>", "", page)).split())


def built_page(path: Path, root: Path = STUDENT_HTML) -> Path:
    page = root / path.relative_to(BOOK.parent).with_suffix(".html")
    if not page.is_file():
        message = f"{page} is missing: run make student-book first (make test does)"
        if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
            pytest.fail(message)
        pytest.skip(message)
    if page.stat().st_mtime < path.stat().st_mtime:
        pytest.skip(f"{page.name} is older than {path.name}: rebuild the student edition")
    return page


def html_agrees(edition: Edition, text: str) -> list[str]:
    """The emulation is the edition: every shown stub is on the page, no answer line is."""
    problems = []
    for code in edition.shown_code:
        for defs in functions(code).values():
            for function in filter(is_stub, defs):
                line = code_lines(code)[function.lineno - 1]
                if line not in text:
                    problems.append(f"the stub's line {line!r} is not on the built page")
    for name, lines in answer_lines(edition).items():
        problems += [f"{name}'s {line!r} is on the built page" for line in sorted(lines)
                     if line in text]
    return problems


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_the_built_student_edition_agrees(path, editions):
    problems = html_agrees(editions[path.name], html_text(built_page(path)))
    assert not problems, f"{path.name}, student edition:\n" + "\n".join(problems)
