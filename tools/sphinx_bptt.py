"""A local Sphinx extension for the book: the API reference of bptt_core, warning-free.

1. ``book/api.md`` holds the marker line ``% bptt-api``. It is replaced, when the page is read,
   by one section per public module of ``bptt_core`` (found by walking the package, so that a
   new module is documented without editing the page), each an ``automodule`` of the members
   that no earlier section documented: the package's ``__all__`` first, then what each module
   defines itself. Nothing is documented twice, and every name gets one target
   (``bptt_core.rnn_forward``, ``bptt_core.checks.check_rnn_backward``, ...).
2. bptt_core's docstrings are plain text written for ``help()``: ASCII formulas, indented
   blocks, ``*`` and ``|`` in norms. Read as reStructuredText they would give warnings (and
   ``-W`` makes warnings errors). Before autodoc parses a docstring, this extension turns it
   into reStructuredText that shows the same text: indented blocks and doctests become literal
   blocks, inline markup characters outside ``double backquotes`` are escaped, `single
   backquotes` become code. Docstrings keep reading well in ``help()`` and on the page.
3. The student edition really hides every solution. sphinx-exercise 1.2.1's
   ``hide_solutions`` drops a ``solution`` and a ``solution-start`` directive but keeps what a
   gated solution holds between ``solution-start`` and ``solution-end`` (the solution's code
   cells) and leaves the ``solution-end`` node, which the HTML writer cannot write. With
   ``hide_solutions`` on, both gates become markers and everything from one to the other is
   removed; a gate without its partner in the same section is an error, so nothing leaks.
4. Each page loads each script once: sphinx-thebe registers its inline configuration script
   twice (once as ``None``, once as ``""``), and the second ``const THEBE_JS_URL`` is a
   JavaScript error on every page.
5. Accessible markup (WCAG 2.1 AA, checked by axe-core in tests/test_site.py) where the
   theme, myst-nb or docutils emit markup that fails it:

   - myst-nb's "Show code cell source" toggle is a ``<summary aria-label="Toggle hidden
     content">``: its visible text is not part of its name (label-content-name-mismatch,
     WCAG 2.5.3). Written here without the aria-label, so its name is what it says.
   - docutils wraps citations in ``<div role="list">`` whose children have the role
     ``doc-biblioentry``, deprecated in ARIA 1.2, so the list has no list items
     (aria-required-children, critical). Written here as list items.
   - the theme's search button and colour-mode switch: ``book/_templates`` (put first on
     the template path here) overrides the two components, naming each by what it shows.
   - colours and narrow screens: ``book/_static/custom.css``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from html import escape
from pathlib import Path

from docutils import nodes
from sphinx.errors import ExtensionError
from sphinx.transforms import SphinxTransform
from sphinx.util.docutils import SphinxDirective

PACKAGE = "bptt_core"
MARKER = "% bptt-api"

# ---------------------------------------------------------------------------------------------
# 1. The API page


def public_modules(package: str = PACKAGE) -> list[str]:
    """The package and its public submodules (no part of the name starting with "_"). The
    coursework grader is a package of its own (``coursework/``), with the instructors' guide."""
    root = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(root.__path__, prefix=f"{package}."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return [names[0], *sorted(names[1:])]


def module_members(module, documented: set[int]) -> tuple[list[str], list[str]]:
    """(members to document here, members documented earlier) for one module."""
    if hasattr(module, "__all__"):
        candidates = list(module.__all__)
    else:
        candidates = [name for name, obj in vars(module).items()
                      if not name.startswith("_")
                      and (inspect.isfunction(obj) or inspect.isclass(obj))
                      and getattr(obj, "__module__", None) == module.__name__]
    new, earlier = [], []
    for name in candidates:
        obj = getattr(module, name)
        key = id(obj)
        if key in documented and (inspect.isfunction(obj) or inspect.isclass(obj)):
            earlier.append(name)
        else:
            new.append(name)
            if inspect.isfunction(obj) or inspect.isclass(obj):
                documented.add(key)
    return new, earlier


def api_markdown(package: str = PACKAGE) -> str:
    documented: set[int] = set()
    where: dict[int, str] = {}  # object id -> the name it is documented under
    sections = []
    for modname in public_modules(package):
        module = importlib.import_module(modname)
        new, earlier = module_members(module, documented)
        for name in new:
            where.setdefault(id(getattr(module, name)), f"{modname}.{name}")
        heading = ("The package: `bptt_core`" if modname == package else f"`{modname}`")
        lines = [f"## {heading}", "", "```{eval-rst}", f".. automodule:: {modname}"]
        if new:
            lines.append(f"   :members: {', '.join(new)}")
        lines += ["```", ""]
        if earlier:
            refs = ", ".join(f"{{py:obj}}`~{where[id(getattr(module, name))]}`"
                             for name in earlier)
            lines += [f"Also in this module, documented above: {refs}.", ""]
        sections.append("\n".join(lines))
    return "\n".join(sections)


def expand_api(app, docname: str, source: list[str]) -> None:
    if MARKER in source[0]:
        source[0] = source[0].replace(MARKER, api_markdown())


# ---------------------------------------------------------------------------------------------
# 2. Plain-text docstrings as reStructuredText

_LITERAL = re.compile(r"(``.+?``)")
_SINGLE_TICKS = re.compile(r"(?<![`\\])`([^`]+)`(?![`_])")
_TRAILING_UNDERSCORE = re.compile(r"(?<=\S)_(?=[\s.,;:!?)\]}'\"]|$)")
_UNDERLINE = re.compile(r"^([-=~^\"'`#*+_:.])\1{2,}\s*$")
_LINE_START = re.compile(r"^(\s*)([-+*]\s|\d+[.)]\s|#\.\s|\.\.\s|:\w[^:]*:(\s|$)|\|)")


def escape_inline(text: str) -> str:
    """Escape inline markup outside ``double backquotes``; `single` ones become literals."""
    parts = _LITERAL.split(text)
    for i in range(0, len(parts), 2):  # the even parts are outside ``...``
        part = parts[i].replace("\\", "\\\\")
        part = part.replace("*", "\\*").replace("|", "\\|")
        part = _TRAILING_UNDERSCORE.sub("\\_", part)
        part = _SINGLE_TICKS.sub(r"``\1``", part)
        parts[i] = part
    text = "".join(parts)
    return _LINE_START.sub(lambda m: m.group(1) + "\\" + m.group(2), text)


def plain_to_rst(lines: list[str]) -> list[str]:
    """Turn a plain-text docstring (already dedented by autodoc) into safe reST."""
    out: list[str] = []
    literal = False
    for index, line in enumerate(lines):
        if not line.strip():
            out.append("")
            continue
        indent = len(line) - len(line.lstrip())
        doctest = line.lstrip().startswith(">>>")
        if literal:
            if indent > 0 or doctest:
                out.append(line if indent > 0 else "    " + line)
                continue
            literal = False
            if out and out[-1] != "":
                out.append("")
        if indent > 0 or doctest:
            # an indented block or a doctest: shown as typed, in a literal block
            previous = out[-1] if out else ""
            if previous.rstrip().endswith("::") and previous.strip() != "::":
                out.append("")
            else:
                if out and out[-1] != "":
                    out.append("")
                out += ["::", ""]
            out.append(line if indent > 0 else "    " + line)
            literal = True
            continue
        nxt = lines[index + 1] if index + 1 < len(lines) else ""
        if _UNDERLINE.match(nxt) and line.strip() and not _UNDERLINE.match(line):
            out += ["", f".. rubric:: {escape_inline(line.strip())}", ""]
            continue
        if _UNDERLINE.match(line):
            continue  # the underline of a heading made a rubric above
        if line.rstrip().endswith("::"):
            out.append(escape_inline(line[:-2].rstrip()) + "::")
        else:
            out.append(escape_inline(line))
    return out


def process_docstring(app, what, name, obj, options, lines: list[str]) -> None:
    if not name.startswith(PACKAGE):
        return
    lines[:] = plain_to_rst(lines)


# ---------------------------------------------------------------------------------------------
# 3. Gated solutions in the student edition


class hidden_solution_gate(nodes.Element):
    """Where a hidden gated solution starts or ends (removed before anything is written)."""


class _HiddenSolutionEnd(SphinxDirective):
    def run(self):
        return [hidden_solution_gate(edge="end", line=self.lineno)]


def hide_gated_solutions(app) -> None:
    if not app.config.hide_solutions:
        return
    from sphinx_exercise.directive import SolutionStartDirective

    class HiddenSolutionStart(SolutionStartDirective):
        def run(self):
            return [hidden_solution_gate(edge="start", line=self.lineno)]

    app.add_directive("solution-start", HiddenSolutionStart, override=True)
    app.add_directive("solution-end", _HiddenSolutionEnd, override=True)


class RemoveHiddenSolutions(SphinxTransform):
    default_priority = 5  # before sphinx-exercise merges gated directives (10)

    def apply(self) -> None:
        where = self.env.docname
        for start in list(self.document.findall(hidden_solution_gate)):
            if start.parent is None or start["edge"] != "start":
                continue
            parent = start.parent
            first = parent.index(start)
            for last in range(first + 1, len(parent)):
                child = parent[last]
                if isinstance(child, hidden_solution_gate):
                    if child["edge"] != "end":
                        raise ExtensionError(f"{where}: solution-start (line {start['line']}) "
                                             "is followed by another solution-start")
                    break
            else:
                raise ExtensionError(f"{where}: solution-start (line {start['line']}) has no "
                                     "solution-end in the same section")
            del parent[first:last + 1]
        for orphan in self.document.findall(hidden_solution_gate):
            raise ExtensionError(f"{where}: solution-end (line {orphan['line']}) has no "
                                 "solution-start before it in the same section")


# ---------------------------------------------------------------------------------------------
# 4. No script twice


def unique_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in sorted(scripts, key=lambda js: getattr(js, "priority", 500)):
        attributes = getattr(js, "attributes", {})
        key = (getattr(js, "filename", js) or "", tuple(sorted(attributes.items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


# ---------------------------------------------------------------------------------------------
# 5. Accessible markup

TEMPLATES = Path(__file__).resolve().parent.parent / "book" / "_templates"


def visit_hidden_cell(self, node) -> None:
    """myst-nb's toggle of a hidden cell, named by its visible text (no aria-label)."""
    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}'
                     '</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}'
                     '</p>\n</summary>\n')


def depart_hidden_cell(self, node) -> None:
    self.body.append("</details>\n")


def visit_citation(self, node) -> None:
    """A bibliography entry: a list item of the citation list (docutils' own markup, with
    role="listitem" for the deprecated role="doc-biblioentry")."""
    if not isinstance(node.previous_sibling(), type(node)):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def depart_citation(self, node) -> None:
    self.body.append("</div>\n")
    if not isinstance(node.next_node(descend=False, siblings=True), type(node)):
        self.body.append("</div>\n")


def accessible_templates(app, config) -> None:
    """The book's template overrides come before the theme's components."""
    config.templates_path.insert(0, str(TEMPLATES))


def setup(app):
    from myst_nb.sphinx_ import HideCodeCellNode

    app.setup_extension("myst_nb")  # its node first, so that the override below wins
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_hidden_cell))
    app.add_node(nodes.citation, override=True, html=(visit_citation, depart_citation))
    app.connect("config-inited", accessible_templates)
    app.connect("source-read", expand_api)
    app.connect("autodoc-process-docstring", process_docstring)
    app.connect("html-page-context", unique_scripts, priority=900)
    app.add_node(hidden_solution_gate)
    app.add_transform(RemoveHiddenSolutions)
    app.connect("builder-inited", hide_gated_solutions)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
