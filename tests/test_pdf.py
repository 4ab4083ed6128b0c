"""The book as one PDF (``make pdf``, tools/pdf.py): complete, in order, typeset, numbered.

``make test`` builds both sites and both PDFs first. Without a PDF these tests are skipped with
the reason; when the environment variable ``CI`` is set they fail instead.
"""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import sys
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

import pdf as book_pdf  # noqa: E402  (tools/pdf.py)

RAW_TEX = re.compile(r"\$\$|\\(frac|partial|begin|end|mathbf|mathrm|sum|prod|left|right"
                     r"|tanh|odot|top|quad|qquad|label)\b|\{eq\}|\{math\}")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str):
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so the PDF tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


def squeeze(text: str) -> str:
    """Text without any whitespace and ligatures ("ﬀ" is "ff"), for comparisons that survive
    line breaks, wrapping and typesetting."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def code_text() -> str:
    """Every code cell of the book's sources, squeezed: code may quote TeX in a label."""
    parts = []
    for notebook in sorted((ROOT / "book").rglob("*.ipynb")):
        if ".ipynb_checkpoints" in notebook.parts:
            continue
        for cell in json.loads(notebook.read_text())["cells"]:
            if cell["cell_type"] == "code":
                parts.append("".join(cell["source"]))
    for page in sorted((ROOT / "book").rglob("*.md")):
        parts += re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", page.read_text(), re.S)
    return squeeze("\n".join(parts))


def read(path: Path):
    from pypdf import PdfReader

    if not path.is_file():
        unavailable(f"{path.relative_to(ROOT)} is missing: run make pdf (make test does)")
    return PdfReader(str(path))


def chapter_titles(site: Path) -> list[str]:
    """The h1 of every page in TOC order, as the built site shows it."""
    titles = []
    for entry in book_pdf.toc_entries():
        page = site / entry.path
        if not page.is_file():
            unavailable(f"{page.relative_to(ROOT)} is missing: build the site first")
        # the page's own title: the h1 with a link to itself (not the print layout's copy)
        heading = [h for h in re.findall(r"<h1>(.*?)</h1>", page.read_text(), re.S)
                   if 'class="headerlink"' in h]
        assert heading, f"no h1 on {entry.path}"
        text = re.sub(r'<a class="headerlink".*?</a>', "", heading[0], flags=re.S)
        text = html.unescape(re.sub(r"<[^>]+>", "", text))
        titles.append(re.sub(r"\s+", " ", text).strip())
    return titles


def contents_rows(text: str) -> dict[str, int]:
    """{squeezed text of a contents row: its page number}; a row's text may wrap, and part
    captions (no number) run into the next row's key, hence endswith() when looking up."""
    rows, pending = {}, ""
    for line in text.splitlines():
        row = re.match(r"(.*?)\s*(\d+)$", f"{pending} {line}".strip())
        if row and row.group(1):
            rows[squeeze(row.group(1))] = int(row.group(2))
            pending = ""
        else:
            pending = f"{pending} {line}".strip()
    return rows


EDITIONS = ["full", "student"]


@pytest.fixture(scope="module", params=EDITIONS)
def edition(request):
    site, out, _ = book_pdf.EDITIONS[request.param]
    reader = read(out)
    pages = [page.extract_text() or "" for page in reader.pages]
    return request.param, site, out, reader, pages


def test_every_chapter_in_order_with_contents_and_bookmarks(edition):
    name, site, _, reader, pages = edition
    titles = chapter_titles(site)
    contents = squeeze(pages[0])
    rows = contents_rows(pages[0])
    whole = [squeeze(p) for p in pages]
    missing = [t for t in titles if not any(squeeze(t) in p for p in whole)]
    assert not missing, f"{name}: chapter titles not in the PDF's text: {missing}"
    # the contents page lists every title, in the order of the table of contents
    where = [contents.find(squeeze(t)) for t in titles]
    assert -1 not in where, f"{name}: contents page lacks {titles[where.index(-1)]!r}"
    assert where == sorted(where), f"{name}: contents out of order"
    # each chapter starts where the contents page says, and a bookmark leads there
    outline = []

    def walk(items):
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                outline.append((squeeze(item.title),
                                reader.get_destination_page_number(item)))

    walk(reader.outline)
    marks = dict(outline)
    first_pages = []
    for title in titles:
        assert squeeze(title) in marks, f"{name}: no bookmark for {title!r}"
        number = marks[squeeze(title)]
        first_pages.append(number)
        assert squeeze(title) in whole[number], f"{name}: {title!r} is not on page {number + 1}"
        listed = [page for row, page in rows.items() if row.endswith(squeeze(title))]
        assert listed == [number + 1], (f"{name}: the contents give {title!r} page(s) {listed}, "
                                        f"it starts on page {number + 1}")
    assert first_pages == sorted(first_pages)


def test_every_page_is_numbered(edition):
    name, _, _, _, pages = edition
    unnumbered = [i + 1 for i, text in enumerate(pages)
                  if str(i + 1) not in [line.strip() for line in text.splitlines()]]
    assert not unnumbered, f"{name}: pages without their number: {unnumbered[:10]}"


def test_no_raw_tex_survives(edition):
    """Every formula is typeset: TeX appears only where a code cell quotes it."""
    name, _, _, _, pages = edition
    code = code_text()
    raw = []
    for number, text in enumerate(pages, start=1):
        for line in text.splitlines():
            if RAW_TEX.search(line) and squeeze(line) not in code:
                raw.append(f"page {number}: {line.strip()[:100]}")
    assert not raw, f"{name}: raw TeX in the PDF:\n" + "\n".join(raw[:20])


def test_figures_and_bibliography(edition):
    name, _, _, reader, pages = edition
    images = sum(len(page.images) for page in reader.pages)
    assert images >= 30, f"{name}: only {images} images in the PDF"
    assert any("Werbos" in p and "Backpropagation through time" in p for p in pages), (
        f"{name}: the bibliography is missing")


def test_student_pdf_has_no_solutions():
    full = [p.extract_text() or "" for p in read(book_pdf.EDITIONS["full"][1]).pages]
    student = [p.extract_text() or "" for p in read(book_pdf.EDITIONS["student"][1]).pages]
    assert any("Solution to Exercise" in p for p in full), "the book's PDF shows no solution"
    assert not any("Solution to Exercise" in p for p in student), "a solution in the student PDF"
    assert any("Exercise" in p for p in student)


@pytest.mark.parametrize("name", EDITIONS)
def test_each_site_links_its_own_pdf(name):
    site, out, _ = book_pdf.EDITIONS[name]
    read(out)
    landing = (site / book_pdf.toc_entries()[0].path).read_text()
    assert f'href="../{book_pdf.IN_SITE}"' in landing, "no PDF link on the landing page"
    copy = site / book_pdf.IN_SITE
    assert copy.is_file(), f"{copy} is missing"
    assert hashlib.sha256(copy.read_bytes()).digest() == hashlib.sha256(out.read_bytes()).digest()
