"""The notebook edition: the chapters as plain Jupyter notebooks that render anywhere.

``make notebooks`` runs this script. It writes every chapter of the table of contents twice,

* ``_build/jupyter/full/NN_name.ipynb``: with the solutions, each collapsed in ``<details>``;
* ``_build/jupyter/student/NN_name.ipynb``: no solution at all, and every function a gated
  solution defines is left as a stub that raises ``NotImplementedError``,

in plain Jupyter Markdown that Colab, Binder, VS Code and classic Jupyter show as the website
does: labelled equations as ``$$\\begin{equation*} ... \\tag{n} \\end{equation*}$$`` with the
website's numbers (Sphinx numbers them through the whole book in the order of ``_toc.yml``;
the starred environment keeps jupyterlab-myst from numbering them again), references as the
number or title they show on the website (a link to the website when ``html.baseurl`` is set
in _config.yml, to the sibling notebook otherwise), citations as "(Author, year)" from
book/references.bib, exercises as headed blocks, admonitions as quotes, glued numbers as their
values. No output is stored. A MyST construct it does not know makes it fail, naming the
notebook and the cell.

Glued values come from the notebooks ``make book`` executed (``_build/jupyter_execute``),
when their code is the chapter's and make book's execution cache is the current engine's;
otherwise a chapter that glues values is executed here first (nbclient) and its run kept in
``<out>/executed``, keyed on the engine like make book's cache (tools/prepare_site.py).
Each run replaces the edition's folders, so a chapter gone from the book is gone from them.

    python tools/make_notebooks.py [--out _build/jupyter] [--site _build/html]

``--site DIR`` also copies the full edition over the website's downloadable sources
(``DIR/_sources/book/NN_name.ipynb``), so the download button gives the notebook edition;
``--student-site DIR`` does the same with the student edition for the student website.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import normalize_notebooks  # noqa: E402  (tools/, beside this file)

ROOT = Path(__file__).resolve().parent.parent
STALE = "\0stale-ok"  # a key no glue() call can make: glued values may be missing
GLUE_FILE_KEY = "\0glue-file"  # the executed copy's NN_name.glue.json, inside the notebook

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|:{3,})\{(?P<name>[^}\s]+)\}[ \t]*"
                   r"(?P<arg>.*?)[ \t]*$")
PLAIN_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})")
OPTION = re.compile(r"^[ \t]*:(?P<key>[\w-]+):[ \t]*(?P<value>.*?)[ \t]*$")
TARGET = re.compile(r"^[ \t]*\((?P<label>[^()\s]+)\)=[ \t]*$")
ROLE = re.compile(r"\{(?P<name>[a-z][\w:-]*)\}`(?P<body>[^`]*)`")
DOLLAR_LABEL = re.compile(r"(?<!\\)\$\$[ \t]*\((?P<label>[^()\s]+)\)[ \t]*$", re.M)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$")
INLINE = re.compile(r"\{(?P<name>[a-z][\w:-]*)\}`(?P<body>[^`]*)`|(?P<code>``[^`]+``|`[^`]+`)")
DISPLAY_MATH = re.compile(r"(?<!\\)\$\$(?P<body>.+?)(?<!\\)\$\$", re.S)  # not \$$
CODE_SPAN = re.compile(r"(``[^`]+``|`[^`]+`)")
AMS_ENVIRONMENT = re.compile(r"\s*\\begin\{(?P<name>equation|align|alignat|gather|multline|"
                             r"flalign|eqnarray)(?P<star>\*?)\}")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)

ADMONITIONS = {"note": "Note", "warning": "Warning", "tip": "Tip", "important": "Important",
               "hint": "Hint", "caution": "Caution", "attention": "Attention",
               "danger": "Danger", "error": "Error", "seealso": "See also",
               "admonition": None, "dropdown": None}


class ConversionError(ValueError):
    """A construct the converter does not know, with where it is."""


# --------------------------------------------------------------------------------------------
# reading the book: documents, titles, labels and numbers, in table-of-contents order


@dataclass
class Target:
    kind: str  # "eq", "exercise", "section", "doc"
    doc: str  # document name relative to the root, without suffix: "book/04_multi_step"
    number: int | None = None
    title: str = ""


@dataclass
class Book:
    root: Path
    docs: list[str]
    baseurl: str = ""
    targets: dict[str, Target] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)
    bib: dict[str, dict] = field(default_factory=dict)
    edition: set[str] = field(default_factory=set)  # the documents that become notebooks


def toc_docs(root: Path) -> list[str]:
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    docs = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                docs.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    walk(toc.get("parts"))
    walk(toc.get("chapters"))
    return docs


def doc_path(root: Path, doc: str) -> Path:
    for suffix in (".ipynb", ".md"):
        if (root / (doc + suffix)).is_file():
            return root / (doc + suffix)
    raise ConversionError(f"{doc}: no {doc}.ipynb or {doc}.md in {root}")


def markdown_cells(path: Path) -> list[str]:
    if path.suffix == ".md":
        text = path.read_text(encoding="utf-8")
        if text.startswith("---\n"):  # front matter
            text = text[text.index("\n---", 3) + 4:]
        return [text]
    nb = json.loads(path.read_text(encoding="utf-8"))
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def fenced(lines: list[str]):
    """(index, line, role) for each line: "open" and "close" for a directive's fences (with the
    FENCE match as a fourth item on "open"), "code" for plain code fences and what is inside
    them, "text" for everything else, directives' bodies included."""
    in_code = None
    open_fences: list[str] = []
    for i, line in enumerate(lines):
        stripped = line.strip()
        if in_code:
            if stripped.startswith(in_code) and not stripped.strip(in_code[0]):
                in_code = None
            yield i, line, "code", None
            continue
        match = FENCE.match(line)
        if match:
            open_fences.append(match.group("fence"))
            yield i, line, "open", match
        elif open_fences and stripped == open_fences[-1]:
            open_fences.pop()
            yield i, line, "close", None
        elif PLAIN_FENCE.match(line):
            in_code = PLAIN_FENCE.match(line).group(1)
            yield i, line, "code", None
        else:
            yield i, line, "text", None


def directive_blocks(text: str):
    """(name, arg, options) of every directive in ``text``, in order, nested ones included."""
    lines = text.split("\n")
    for i, _line, role, match in fenced(lines):
        if role == "open":
            options = {}
            for following in lines[i + 1 + argument_lines(lines[i + 1:]):]:
                opt = OPTION.match(following)
                if not opt:
                    break
                options[opt.group("key")] = opt.group("value")
            yield match.group("name"), match.group("arg"), options


def argument_lines(body: list[str]) -> int:
    """How many lines after a directive's first line still belong to its argument.

    MyST continues an argument (an admonition's long title) over the next lines when options
    follow them with no blank line in between.
    """
    for count, line in enumerate(body):
        if not line.strip() or FENCE.match(line) or PLAIN_FENCE.match(line):
            return 0
        if OPTION.match(line):
            return count
    return 0


def prose_lines(text: str):
    """The lines of ``text`` outside code fences and directive fences: a ``# comment`` or a
    ``$$ (label)`` shown as code is neither a heading nor an equation."""
    return [line for _i, line, role, _match in fenced(text.split("\n")) if role == "text"]


def read_book(root: Path = ROOT) -> Book:
    config = yaml.safe_load((root / "_config.yml").read_text())
    baseurl = ((config.get("sphinx") or {}).get("config") or {}).get("html_baseurl") or \
        (config.get("html") or {}).get("baseurl") or ""
    book = Book(root=root, docs=toc_docs(root), baseurl=baseurl.rstrip("/"))
    for bibfile in config.get("bibtex_bibfiles", []):
        book.bib.update(parse_bib((root / bibfile).read_text(encoding="utf-8")))
    equation = exercise = 0
    for doc in book.docs:
        cells = markdown_cells(doc_path(root, doc))
        pending: list[str] = []  # (label)= targets waiting for their heading
        for text in cells:
            for line in prose_lines(text):
                target = TARGET.match(line)
                heading = HEADING.match(line)
                if target:
                    pending.append(target.group("label"))
                elif heading:
                    title = strip_inline(heading.group(2))
                    if doc not in book.titles and heading.group(1) == "#":
                        book.titles[doc] = title
                    for label in pending:
                        book.targets[label] = Target("section", doc, title=title)
                    pending = []
                elif line.strip():
                    pending = []
                dollar = DOLLAR_LABEL.search(line)
                if dollar:
                    equation += 1
                    book.targets[dollar.group("label")] = Target("eq", doc, equation)
            for name, _arg, options in directive_blocks(text):
                if name == "math" and "label" in options:
                    equation += 1
                    book.targets[options["label"]] = Target("eq", doc, equation)
                elif name in ("exercise", "exercise-start") and "nonumber" not in options:
                    exercise += 1
                    if "label" in options:
                        book.targets[options["label"]] = Target("exercise", doc, exercise)
        book.titles.setdefault(doc, Path(doc).name)
    book.edition = set(chapters(book))
    return book


def strip_inline(text: str) -> str:
    """A heading as plain text: roles and markup removed (for link texts)."""
    text = ROLE.sub(lambda m: m.group("body"), text)
    return text.replace("`", "").replace("**", "").strip()


def parse_bib(text: str) -> dict[str, dict]:
    """key -> {field: value} of a BibTeX file (the small subset the book uses)."""
    entries = {}
    for match in re.finditer(r"@\w+\s*\{\s*([^,\s]+)\s*,(.*?)\n\}", text, re.S):
        fields = {}
        for f in re.finditer(r"(\w+)\s*=\s*\{((?:[^{}]|\{[^{}]*\})*)\}", match.group(2)):
            fields[f.group(1).lower()] = re.sub(r"\s+", " ", f.group(2).replace("{", "")
                                                .replace("}", "")).strip()
        entries[match.group(1)] = fields
    return entries


def author_names(entry: dict) -> str:
    """'Werbos', 'Williams and Zipser', 'Bengio et al.' as author_year style shows them."""
    people = [p.strip() for p in entry.get("author", "").split(" and ") if p.strip()]
    last = [p.split(",")[0].strip() if "," in p else p.split()[-1] for p in people]
    if not last:
        return entry.get("editor", "Anonymous")
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


# --------------------------------------------------------------------------------------------
# converting one notebook


@dataclass
class Context:
    book: Book
    doc: str
    edition: str  # "full" or "student"
    glue: dict[str, object]
    where: str = ""


def link(ctx: Context, doc: str, text: str, anchor: str = "") -> str:
    if ctx.book.baseurl:
        url = f"{ctx.book.baseurl}/{doc}.html" + (f"#{anchor}" if anchor else "")
        return f"[{text}]({url})"
    if doc == ctx.doc or doc not in ctx.book.edition:
        return text  # the same notebook, or a page that has no notebook in this edition
    here = Path(ctx.doc).parent
    return f"[{text}]({Path(doc).relative_to(here).as_posix()}.ipynb)" \
        if Path(doc).is_relative_to(here) else text


def resolve_doc(ctx: Context, target: str) -> str:
    if target.startswith("/"):
        name = target.lstrip("/")
    else:
        name = (Path(ctx.doc).parent / target).as_posix()
    parts: list[str] = []
    for part in name.split("/"):
        if part == "..":
            parts.pop()
        elif part not in ("", "."):
            parts.append(part)
    name = "/".join(parts)
    if name not in ctx.book.titles:
        raise ConversionError(f"{ctx.where}: {{doc}} `{target}` is not in the table of contents")
    return name


def format_glue(ctx: Context, body: str) -> str:
    name, _, spec = body.partition(":")
    if name not in ctx.glue and ctx.glue.get(STALE):
        return f"[{name}]"  # --stale-ok: a quick look, with a visible gap
    if name not in ctx.glue:
        raise ConversionError(f"{ctx.where}: no glued value {name!r} (the notebook does not "
                              f"glue it, or was not executed)")
    value = ctx.glue[name]
    return format(value, spec) if spec else str(value)


def cite(ctx: Context, keys: str, textual: bool) -> str:
    parts = []
    for key in (k.strip() for k in keys.split(",")):
        if key not in ctx.book.bib:
            raise ConversionError(f"{ctx.where}: citation {key!r} is not in the bibliography")
        entry = ctx.book.bib[key]
        names, year = author_names(entry), entry.get("year", "n.d.")
        parts.append(f"{names} ({year})" if textual else f"{names}, {year}")
    return "; ".join(parts) if textual else "(" + "; ".join(parts) + ")"


def convert_role(ctx: Context, name: str, body: str) -> str:
    explicit = EXPLICIT.match(body)
    text, target = (explicit.group("text"), explicit.group("target")) if explicit else \
        (None, body)
    if name == "eq":
        found = ctx.book.targets.get(target)
        if not found or found.kind != "eq":
            raise ConversionError(f"{ctx.where}: {{eq}} `{target}` is not a labelled equation")
        return link(ctx, found.doc, f"({found.number})", f"equation-{target}")
    if name == "doc":
        doc = resolve_doc(ctx, target)
        return link(ctx, doc, text or ctx.book.titles[doc])
    if name in ("ref", "numref"):
        found = ctx.book.targets.get(target)
        if not found:
            raise ConversionError(f"{ctx.where}: {{{name}}} `{target}` is not a label")
        if found.kind == "section":
            shown = text or found.title
        else:
            shown = (text or f"{found.kind.capitalize()} {{number}}").replace(
                "{number}", str(found.number)).replace("%s", str(found.number))
        return link(ctx, found.doc, shown, target)
    if name in ("cite", "cite:p", "cite:ps"):
        return cite(ctx, body, textual=False)
    if name in ("cite:t", "cite:ts"):
        return cite(ctx, body, textual=True)
    if name == "math":
        return f"${body}$"
    if name.startswith("py:") or name in ("func", "class", "mod", "meth", "attr"):
        return f"`{text or target}`"
    if name in ("glue:text", "glue"):
        return format_glue(ctx, body)
    if name in ("sub",):
        return f"<sub>{body}</sub>"
    if name in ("sup",):
        return f"<sup>{body}</sup>"
    raise ConversionError(f"{ctx.where}: unknown role {{{name}}}`{body}`")


def convert_inline(ctx: Context, text: str) -> str:
    """Roles, targets and labelled $$ of MyST text without code blocks."""
    def replace(match: re.Match) -> str:
        if match.group("code"):  # a role inside an inline code span is an example: kept
            return match.group("code")
        return convert_role(ctx, match.group("name"), match.group("body"))

    text = INLINE.sub(replace, text)
    text = "\n".join(line for line in text.split("\n") if not TARGET.match(line))
    # display math never holds a backtick: the pieces between code spans are text or math
    pieces = CODE_SPAN.split(text)
    for i in range(0, len(pieces), 2):
        piece = DOLLAR_LABEL.sub(lambda m: tagged_close(ctx, m.group("label")), pieces[i])
        pieces[i] = DISPLAY_MATH.sub(lambda m: unnumbered(ctx, m.group("body")), piece)
    return "".join(pieces)


def unnumbered(ctx: Context, body: str) -> str:
    """Display math that no renderer numbers by itself: only its ``\\tag`` (if any) shows.

    jupyterlab-myst (mystmd) numbers every ``$$`` block, (1), (2), ... per notebook, beside
    the website's number in ``\\tag{n}``; a starred amsmath environment it leaves alone, and
    KaTeX (Colab, VS Code, jupyterlab-myst) and MathJax 3 (JupyterLab, classic Jupyter) all
    render ``$$\\begin{equation*} ... \\tag{n} \\end{equation*}$$``.
    """
    env = AMS_ENVIRONMENT.match(body)
    if env:
        if env.group("star"):  # already unnumbered
            return f"$${body}$$"
        raise ConversionError(f"{ctx.where}: \\begin{{{env.group('name')}}} at the top of "
                              f"display math is numbered in JupyterLab; use aligned (or the "
                              f"starred environment) inside $$ ... $$")
    # on the lines of the $$ themselves: every line keeps its indent or quote marks
    return f"$$\\begin{{equation*}}{body}\\end{{equation*}}$$"


def tagged_close(ctx: Context, label: str) -> str:
    found = ctx.book.targets[label]
    return f"\\tag{{{found.number}}} $$"


@dataclass
class Directive:
    name: str
    arg: str
    options: dict
    body: list[str]
    indent: str


def split_blocks(ctx: Context, lines: list[str]):
    """Yield plain line runs (lists of str) and Directive objects, at the top level."""
    i, plain = 0, []
    while i < len(lines):
        line = lines[i]
        code = PLAIN_FENCE.match(line)
        if code and not FENCE.match(line):  # a code block: copied as it is
            fence = code.group(1)
            j = i + 1
            while j < len(lines) and not (lines[j].strip().startswith(fence)
                                           and not lines[j].strip().strip(fence[0])):
                j += 1
            plain.append(("code", lines[i:j + 1]))
            i = j + 1
            continue
        match = FENCE.match(line)
        if not match:
            plain.append(("text", [line]))
            i += 1
            continue
        fence, indent = match.group("fence"), match.group("indent")
        depth, j = 1, i + 1
        while j < len(lines):
            stripped = lines[j].strip()
            inner = FENCE.match(lines[j])
            if inner and inner.group("fence") == fence:
                depth += 1
            elif stripped == fence or (fence[0] == "`" and stripped.startswith(fence)
                                       and not stripped.strip("`")):
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(lines):
            raise ConversionError(f"{ctx.where}: directive {{{match.group('name')}}} is never "
                                  f"closed")
        body = [b[len(indent):] if b.startswith(indent) else b.lstrip() for b in lines[i + 1:j]]
        arg = match.group("arg")
        continued = argument_lines(body)
        if continued:  # MyST: a long argument goes on until the options start
            arg = " ".join([arg, *(line.strip() for line in body[:continued])])
            body = body[continued:]
        options = {}
        while body and OPTION.match(body[0]):
            opt = OPTION.match(body[0])
            options[opt.group("key")] = opt.group("value")
            body.pop(0)
        if plain:
            yield plain
            plain = []
        yield Directive(match.group("name"), arg, options, body, indent)
        i = j + 1
    if plain:
        yield plain


def convert_text(ctx: Context, text: str) -> str:
    return "\n".join(convert_lines(ctx, text.split("\n")))


def convert_lines(ctx: Context, lines: list[str]) -> list[str]:
    out: list[str] = []
    for block in split_blocks(ctx, lines):
        if isinstance(block, Directive):
            converted = convert_directive(ctx, block)
            out.extend(block.indent + line if line else line for line in converted)
            continue
        run: list[str] = []
        for kind, piece in block:
            if kind == "code":
                out.extend(convert_inline(ctx, "\n".join(run)).split("\n") if run else [])
                run = []
                out.extend(piece)
            else:
                run.extend(piece)
        if run:
            out.extend(convert_inline(ctx, "\n".join(run)).split("\n"))
    return out


def quote(lines: list[str]) -> list[str]:
    return [("> " + line) if line.strip() else ">" for line in lines]


def exercise_title(ctx: Context, d: Directive) -> str:
    label = d.options.get("label")
    number = ctx.book.targets[label].number if label in ctx.book.targets else None
    title = f"Exercise {number}" if number else "Exercise"
    if d.arg:
        title += f" ({strip_inline(convert_inline(ctx, d.arg))})"
    return title


def solution_title(ctx: Context, label: str) -> str:
    found = ctx.book.targets.get(label.strip())
    if not found or found.kind != "exercise":
        raise ConversionError(f"{ctx.where}: solution to {label!r}, which is not an exercise")
    return f"Solution to Exercise {found.number}"


def details(summary: str, body: list[str]) -> list[str]:
    return ["<details>", f"<summary>{summary}</summary>", "", *body, "", "</details>"]


def convert_directive(ctx: Context, d: Directive) -> list[str]:
    body = convert_lines(ctx, d.body)
    if d.name == "math":
        if "label" in d.options:
            number = ctx.book.targets[d.options["label"]].number
            return ["$$", r"\begin{equation*}", *d.body, f"\\tag{{{number}}}",
                    r"\end{equation*}", "$$"]
        return ["$$", r"\begin{equation*}", *d.body, r"\end{equation*}", "$$"]
    if d.name == "exercise":
        return [f"**{exercise_title(ctx, d)}**", "", *quote(body)]
    if d.name == "solution":
        if ctx.edition == "student":
            return []
        return details(solution_title(ctx, d.arg), body)
    if d.name in ADMONITIONS:
        title = d.arg or ADMONITIONS[d.name] or ""
        title = convert_inline(ctx, title)
        if d.name == "dropdown" or "dropdown" in d.options.get("class", "").split():
            return details(title or "Details", body)
        return quote([f"**{title}**", "", *body] if title else body)
    raise ConversionError(f"{ctx.where}: unknown directive {{{d.name}}}")


GATE = re.compile(r"^[ \t]*(`{3,}|:{3,})\{(solution-start|solution-end)\}[ \t]*(.*?)[ \t]*\n"
                  r"(?:[ \t]*:[\w-]+:.*\n)*[ \t]*\1[ \t]*$", re.M)


def stub(source: str, exercise: str) -> str | None:
    """The functions a solution cell defines, each reduced to a stub; None if it defines none."""
    tree = ast.parse(source)
    lines = source.split("\n")
    stubs = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            first = node.body[0]
            header = "\n".join(lines[node.lineno - 1 - len(node.decorator_list):
                                     first.lineno - 1])
            doc = ast.get_docstring(node)
            docstring = f'    """{doc}"""\n' if doc and isinstance(first, ast.Expr) else ""
            stubs.append(f"{header}\n{docstring}    # {exercise}: your code here\n"
                         f"    raise NotImplementedError(\"{exercise}: write {node.name}\")")
    return "\n\n\n".join(stubs) if stubs else None


def convert_notebook(ctx: Context, nb: dict) -> dict:
    out = copy.deepcopy(nb)
    cells = []
    gated: str | None = None  # the exercise whose gated solution we are inside
    for index, cell in enumerate(nb["cells"]):
        ctx.where = f"{ctx.doc}, cell {index}"
        cell = copy.deepcopy(cell)
        source = "".join(cell["source"])
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
            if gated is not None:
                if ctx.edition == "student":
                    stubbed = stub(source, gated.replace("Solution to ", ""))
                    if stubbed is None:
                        continue
                    cell["source"] = stubbed
                    cell["metadata"] = {}
                else:
                    cell["metadata"].setdefault("jupyter", {})["source_hidden"] = True
            cells.append(cell)
            continue
        if cell["cell_type"] != "markdown":
            cells.append(cell)
            continue
        pieces = []  # (inside a gated solution?, text)
        position = 0
        for gate in GATE.finditer(source):
            pieces.append((gated, source[position:gate.start()]))
            if gate.group(2) == "solution-start":
                if gated is not None:
                    raise ConversionError(f"{ctx.where}: solution-start inside a solution")
                gated = solution_title(ctx, gate.group(3))
            else:
                if gated is None:
                    raise ConversionError(f"{ctx.where}: solution-end without solution-start")
                gated = None
            pieces.append(("gate-" + gate.group(2), ""))
            position = gate.end()
        pieces.append((gated, source[position:]))
        text_out: list[str] = []
        open_details = False
        for inside, text in pieces:
            if inside == "gate-solution-start":
                if ctx.edition == "full":
                    text_out.append("<details>\n<summary>" + (gated or "") + "</summary>\n")
                    open_details = True
                continue
            if inside == "gate-solution-end":
                if open_details:
                    text_out.append("\n</details>\n")
                    open_details = False
                continue
            if inside is not None and ctx.edition == "student":
                continue
            text_out.append(convert_text(ctx, text))
        if open_details:
            text_out.append("\n</details>")
        if ctx.edition == "student" and gated is not None and not text_out:
            continue
        if ctx.edition == "student" and any(p[0] == "gate-solution-start" for p in pieces):
            text_out.append(f"\n**Your answer to {gated.replace('Solution to ', '')}**" if gated
                            else "")
        text = "".join(text_out).strip("\n")
        if not text.strip():
            continue
        cell["source"] = text
        cells.append(cell)
    out["cells"] = cells
    out["metadata"] = {k: v for k, v in nb["metadata"].items()
                       if k in ("kernelspec", "language_info")}
    return out


# --------------------------------------------------------------------------------------------
# glued values


def glued_values(nb: dict) -> dict[str, object]:
    values = {}
    # myst-nb keeps what a notebook glued with display=False beside its executed copy
    # (NN_name.glue.json), not in the copy's outputs: executed() puts it under this key
    outputs = [output for cell in nb["cells"] for output in cell.get("outputs", [])]
    outputs += list(nb.get(GLUE_FILE_KEY, {}).values())
    for output in outputs:
        scrapbook = output.get("metadata", {}).get("scrapbook", {})
        if "name" not in scrapbook:
            continue
        name = scrapbook["name"]
        data = output.get("data", {})
        # outputs of the notebook carry the prefixed type; the .glue.json the plain one
        mime = scrapbook.get("mime_prefix", "") + "text/plain"
        text = "".join(data.get(mime, data.get("text/plain", "")))
        text = re.sub(r"^np\.\w+\((.*)\)$", r"\1", text.strip())
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text.strip("'\"")
    return values


def code_of(nb: dict) -> list[str]:
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def engine_keys(root: Path) -> tuple[str, str]:
    """(the key of make book's execution cache, ours): tools/prepare_site.py's cache_key, a
    hash of the engine, the pinned requirements, the Python and BPTT_STATIC_WIDGETS."""
    import prepare_site

    if prepare_site.ROOT != root:  # a test's tiny book: no engine of its own
        return "", ""
    return prepare_site.cache_key(static_widgets="1"), prepare_site.cache_key()  # make book's


def executed(root: Path, doc: str, nb: dict, stale_ok: bool = False,
             out: Path | None = None) -> dict:
    """The notebook with outputs: make book's copy when its code is current and make book ran
    with this engine, else our own earlier run's with this engine (``<out>/executed/<key>``,
    when ``make lab`` ran without ``make book``), else run it now and keep that run."""
    book_key, our_key = engine_keys(root)
    ours_dir = (out or root / "_build" / "jupyter") / "executed"
    ours = ours_dir / our_key / (doc + ".ipynb")
    copies = [ours]
    if stale_ok or (root / "_build" / ".jupyter_cache" / book_key).is_dir():
        copies.insert(0, root / "_build" / "jupyter_execute" / (doc + ".ipynb"))
    for copy_path in copies:
        if not copy_path.is_file():
            continue
        done = json.loads(copy_path.read_text(encoding="utf-8"))
        if stale_ok or code_of(done) == code_of(nb):
            glue_path = copy_path.with_suffix(".glue.json")
            if glue_path.is_file():
                done[GLUE_FILE_KEY] = json.loads(glue_path.read_text(encoding="utf-8"))
            return done
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    print(f"  executing {doc} for its glued values (no current copy from make book)")
    run = nbformat.reads(json.dumps(nb), as_version=4)
    try:
        NotebookClient(run, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str((root / doc).parent)}}).execute()
    except CellExecutionError as error:
        raise ConversionError(f"{doc}: executing it for its glued values failed:\n"
                              f"{str(error)[-2000:]}") from None
    if ours_dir.is_dir():  # runs made with another engine are of no use any more
        for old in ours_dir.iterdir():
            if old.name != our_key:
                shutil.rmtree(old, ignore_errors=True)
    ours.parent.mkdir(parents=True, exist_ok=True)
    ours.write_text(nbformat.writes(run), encoding="utf-8")
    return json.loads(nbformat.writes(run))


# --------------------------------------------------------------------------------------------


def chapters(book: Book) -> list[str]:
    return [doc for doc in book.docs if doc_path(book.root, doc).suffix == ".ipynb"
            and re.match(r"\d\d_", Path(doc).name)]


def assignments(book: Book) -> list[str]:
    """The assignments (A1_name, ...): in the edition too, so their launch buttons open them in
    plain Markdown; they have no solution to hide, so both editions hold the same text."""
    return [doc for doc in book.docs if doc_path(book.root, doc).suffix == ".ipynb"
            and re.match(r"A\d+_", Path(doc).name)]


def edition_path(doc: str) -> Path:
    """Where a document goes inside an edition's folder: its path below book/."""
    return Path(*Path(doc).parts[1:]).with_suffix(".ipynb") if "/" in doc else \
        Path(doc + ".ipynb")


def build(root: Path = ROOT, out: Path | None = None, site: Path | None = None,
          docs: list[str] | None = None, stale_ok: bool = False,
          student_site: Path | None = None) -> list[Path]:
    out = out or root / "_build" / "jupyter"
    book = read_book(root)
    written = []
    if docs is None:  # the whole book: a chapter renamed or removed leaves nothing behind
        for edition in ("full", "student"):
            for old in [*(out / edition).glob("*.ipynb"),
                        *(out / edition).glob("assignments/*.ipynb")]:
                old.unlink()
        shutil.rmtree(out / "publish", ignore_errors=True)
    for doc in docs or chapters(book) + assignments(book):
        nb = json.loads(doc_path(root, doc).read_text(encoding="utf-8"))
        needs_glue = any("{glue" in "".join(c["source"]) for c in nb["cells"]
                         if c["cell_type"] == "markdown")
        glue = glued_values(executed(root, doc, nb, stale_ok, out)) if needs_glue else {}
        glue[STALE] = stale_ok
        for edition in ("full", "student"):
            converted = convert_notebook(Context(book, doc, edition, glue), nb)
            target = out / edition / edition_path(doc)
            target.parent.mkdir(parents=True, exist_ok=True)
            # stored as JupyterLab writes it, so opening it does not mark it modified
            target.write_text(normalize_notebooks.dumps(normalize_notebooks.normalized(
                converted)), encoding="utf-8")
            written.append(target)
            into = {"full": site, "student": student_site}[edition]
            if into is not None:  # the website's download button serves _sources/
                source = into / "_sources" / (doc + ".ipynb")
                if not source.is_file():
                    raise ConversionError(f"{source}: no such file; build the website first")
                source.write_text(target.read_text(encoding="utf-8"), encoding="utf-8")
    publish(root, out)
    return written


def git(root: Path, *args: str) -> str:
    """git's answer in ``root``, or "" when there is no git or no repository."""
    try:
        done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True)
    except OSError:
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def publish(root: Path, out: Path) -> Path:
    """``out/publish``: the tree to push to the branch the launch buttons open (README).

    It holds the full edition where the website's pages expect it (``book/NN_name.ipynb``,
    ``book/assignments/A1_name.ipynb``), the book's figure style, and a ``requirements.txt``
    for Binder that installs bptt_core from the repository (at this commit when it is clean).
    """
    config = yaml.safe_load((root / "_config.yml").read_text())
    url = (config.get("repository") or {}).get("url", "").rstrip("/")
    tree = out / "publish"
    (tree / "book").mkdir(parents=True, exist_ok=True)
    full = out / "full"  # not rglob: no .ipynb_checkpoints of someone who opened it
    for notebook in sorted([*full.glob("*.ipynb"), *full.glob("assignments/*.ipynb")]):
        target = tree / "book" / notebook.relative_to(out / "full")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(notebook.read_text(encoding="utf-8"), encoding="utf-8")
    # the book's figure style, which matplotlib reads from the notebooks' folder
    (tree / "book" / "matplotlibrc").write_bytes((root / "book" / "matplotlibrc").read_bytes())
    # the engine of the commit these notebooks were made from (when that is a clean one)
    commit, dirty = (git(root, "rev-parse", "HEAD"),
                     git(root, "status", "--porcelain", "--", "bptt_core", "pyproject.toml"))
    at = f"@{commit}" if commit and not dirty else ""
    (tree / "requirements.txt").write_text(
        "# Binder: the book's engine and the widgets its sliders use\n"
        f"bptt_core[interactive] @ git+{url}{at}\n", encoding="utf-8")
    return tree


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "jupyter")
    parser.add_argument("--site", type=Path, default=None,
                        help="a built website whose _sources get the full edition")
    parser.add_argument("--student-site", type=Path, default=None,
                        help="a built student website whose _sources get the student edition")
    parser.add_argument("--stale-ok", action="store_true",
                        help="take glued values from make book's executed copies even when "
                        "their code is out of date (a quick look, not a release)")
    args = parser.parse_args(argv)
    try:
        written = build(ROOT, args.out, args.site, stale_ok=args.stale_ok,
                        student_site=args.student_site)
    except ConversionError as error:
        print(f"make_notebooks: {error}", file=sys.stderr)
        return 1
    print(f"The notebook edition: {len(written) // 2} notebooks in {args.out}/full and "
          f"{args.out}/student")
    return 0


if __name__ == "__main__":
    sys.exit(main())
