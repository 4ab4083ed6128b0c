"""The book as one PDF, printed from the built website by Chromium: no LaTeX.

    python tools/pdf.py full      # _build/html         -> _build/pdf/book.pdf
    python tools/pdf.py student   # _build/student/html -> _build/pdf/book-student.pdf

Run it after ``make book`` (or ``make student-book``); ``make pdf`` does both editions. Each
page of ``_toc.yml`` is served from the built site on 127.0.0.1 (every other request is
aborted: the PDF is made offline) and printed by Debian's Chromium (``/usr/bin/chromium``, or
``BPTT_CHROMIUM``) through Playwright's ``page.pdf`` once MathJax has typeset its formulas and
every image has loaded; each static slider prints at its initial frame, as the page opens, and
the full edition prints its solutions opened. pypdf then joins a contents page (parts,
chapters, their first pages, each a link) and the pages in TOC order, adds bookmarks and
stamps a page number on every page. A copy goes into the site's root as ``book.pdf``: the
landing page links it, so each edition offers its own PDF (the student one has no answers).
"""

from __future__ import annotations

import functools
import html
import http.server
import io
import os
import shutil
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import yaml

ROOT = Path(__file__).resolve().parent.parent
EDITIONS = {  # edition -> (built site, output file, the command that builds the site)
    "full": (ROOT / "_build" / "html", ROOT / "_build" / "pdf" / "book.pdf", "make book"),
    "student": (ROOT / "_build" / "student" / "html",
                ROOT / "_build" / "pdf" / "book-student.pdf", "make student-book"),
}
IN_SITE = "book.pdf"  # the copy in the site's root, linked from the landing page
A4 = (595.28, 841.89)  # points
PX = 0.75  # points per CSS pixel (72 / 96)
MARGIN = {"top": "16mm", "bottom": "18mm", "left": "14mm", "right": "14mm"}
SCALE = 0.8  # pages are laid out 1 / SCALE wider than the paper, then shrunk onto it
# the window the pages are laid out in: the paper's width inside the margins, in CSS pixels
LAYOUT = {"width": round((210 - 28) / 25.4 * 96 / SCALE), "height": 1200}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]

# What printing needs besides the theme's own print styles: wrapped code instead of code cut
# off at the margin, no page break inside a figure or an equation, no navigation chrome.
PRINT_CSS = """
@media print {
  pre { white-space: pre-wrap !important; word-break: break-word; }
  pre, div.highlight, div.cell, div.cell_input, div.cell_output, div.output {
    break-inside: auto !important; }
  img, figure, .bptt-explore, mjx-container[display="true"] { break-inside: avoid; }
  mjx-container[display="true"] { overflow: visible !important; }
  /* a table fits the paper: its cells wrap instead of scrolling out of sight */
  .pst-scrollable-table-container { overflow: visible !important; }
  .pst-scrollable-table-container table { width: 100% !important; font-size: 80%; }
  th, td { overflow-wrap: break-word; }
  h1, h2, h3 { break-after: avoid; }
  .prev-next-area, .bd-header-article, .bd-footer-article, .bd-footer, .headerlink,
  .bd-sidebar-primary, .bd-sidebar-secondary, .skip-link {
    display: none !important; }
  .bd-main .bd-content .bd-article-container { max-width: 100% !important; }
}
"""

WAIT_FOR_PAGE = """async () => {
  for (let i = 0; i < 200 && document.querySelector(".math") &&
       !(window.MathJax && MathJax.startup && MathJax.startup.promise); i++) {
    await new Promise(r => setTimeout(r, 50));
  }
  if (window.MathJax && MathJax.startup) await MathJax.startup.promise;
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener("load", resolve); img.addEventListener("error", resolve);
    setTimeout(resolve, 10000);
  })));
  // solutions and other dropdowns print opened (the student edition has no solutions)
  document.querySelectorAll("details.dropdown, details.sd-dropdown").forEach(d => {
    d.open = true; });
  document.querySelectorAll(".toggle-hidden").forEach(e => {
    e.classList.remove("toggle-hidden"); });
  document.querySelectorAll("button.toggle-button").forEach(b => { b.remove(); });
  // a display formula wider than the paper is set smaller until it fits (MathJax 3 does
  // not break lines), rather than being cut off at the margin
  await document.fonts.ready;  // MathJax's web fonts decide the formulas' widths
  document.querySelectorAll('mjx-container[display="true"]').forEach(m => {
    const math = m.querySelector("mjx-math");
    if (!math) return;
    for (let pass = 0; pass < 8; pass++) {  // the glyphs' box against the column's
      const range = document.createRange();
      range.selectNodeContents(math);
      const ink = range.getBoundingClientRect();
      const column = m.parentElement.getBoundingClientRect();
      const over = Math.max(column.left - ink.left, 0) + Math.max(ink.right - column.right, 0);
      if (over < 1) break;
      const size = parseFloat(m.style.fontSize) || 100;  // MathJax may have set one
      const shrink = Math.min(0.97, (column.width - 4) / (ink.width + over));  // always smaller
      m.style.fontSize = `${size * shrink}%`;
    }
  });
  const h1 = document.querySelector("article h1, main h1, h1");
  return h1 ? h1.textContent.replace(/[¶#]\\s*$/, "").trim() : document.title;
}"""


def say(message: str) -> None:
    print(f"[pdf] {message}", flush=True)


@dataclass
class Entry:
    path: str  # e.g. book/04_multi_step.html
    part: str | None  # the part's caption, when this entry opens a part
    title: str = ""
    first_page: int = 0  # 0-based, in the joined PDF
    pages: int = 0


def toc_entries() -> list[Entry]:
    """Every page of _toc.yml in reading order, with the part captions."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [Entry(f"{toc['root']}.html", None)]

    def walk(chapters, caption):
        for chapter in chapters or []:
            if "file" in chapter:
                entries.append(Entry(f"{chapter['file']}.html", caption))
                caption = None
            walk(chapter.get("sections"), None)

    for part in toc.get("parts", []):
        walk(part.get("chapters"), part.get("caption"))
    walk(toc.get("chapters"), None)
    return entries


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(directory: Path):
    handler = functools.partial(_Quiet, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium_path() -> str:
    for candidate in (os.environ.get("BPTT_CHROMIUM"), shutil.which("chromium"),
                      "/usr/bin/chromium", shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise SystemExit("pdf: no Chromium found: apt-get install chromium (or set BPTT_CHROMIUM)")


def offline(context) -> list[str]:
    """Abort every request that leaves 127.0.0.1; returns the list of those requests."""
    left: list[str] = []

    def route(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    return left


def print_page(context, url: str) -> tuple[str, bytes]:
    """(the page's title, the page printed as PDF)."""
    page = context.new_page()
    try:
        response = page.goto(url, wait_until="load")
        if response is None or response.status != 200:
            raise SystemExit(f"pdf: {url} answers {response and response.status}")
        page.emulate_media(media="print")  # measure the formulas in the printed layout
        page.add_style_tag(content=PRINT_CSS)
        title = page.evaluate(WAIT_FOR_PAGE)
        pdf = page.pdf(format="A4", margin=MARGIN, print_background=True, scale=SCALE,
                       prefer_css_page_size=False)
        return title, pdf
    finally:
        page.close()


CONTENTS_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Contents</title><style>
@page {{ size: A4; margin: 0; }}
body {{ font-family: "DejaVu Sans", sans-serif; margin: 0; padding: 22mm 20mm; color: #111; }}
h1 {{ font-size: 20pt; margin: 0 0 4pt; }}
.edition {{ font-size: 11pt; color: #333; margin: 0 0 18pt; }}
h2 {{ font-size: 14pt; margin: 0 0 8pt; }}
.part {{ font-weight: bold; margin: 12pt 0 3pt; font-size: 11pt; }}
a {{ display: flex; color: #111; text-decoration: none; font-size: 10.5pt;
     line-height: 1.55; }}
a .dots {{ flex: 1; border-bottom: 1px dotted #555; margin: 0 4pt 4pt; }}
</style></head><body>
<h1>{title}</h1><p class="edition">{edition}</p><h2>Contents</h2>
{rows}
</body></html>"""


def contents_html(book_title: str, edition: str, entries: list[Entry], offset: int) -> str:
    rows = []
    for i, entry in enumerate(entries):
        if entry.part:
            rows.append(f'<div class="part">{html.escape(entry.part)}</div>')
        rows.append(f'<a data-entry="{i}"><span>{html.escape(entry.title)}</span>'
                    f'<span class="dots"></span><span>{entry.first_page + offset + 1}</span></a>')
    label = ("Student edition: the exercises without their solutions" if edition == "student"
             else "The book with the solutions of its exercises")
    return CONTENTS_HTML.format(title=html.escape(book_title), edition=label,
                                rows="\n".join(rows))


def print_contents(context, source: str) -> tuple[bytes, list[tuple[int, int, list[float]]]]:
    """The contents printed as PDF, and per entry (entry, page, [x0, y0, x1, y1] in points)."""
    page = context.new_page()
    try:
        page.emulate_media(media="print")
        page.set_viewport_size({"width": round(A4[0] / PX), "height": round(A4[1] / PX)})
        page.set_content(source, wait_until="load")
        boxes = page.evaluate("""() => Array.from(document.querySelectorAll("a[data-entry]"))
          .map(a => { const r = a.getBoundingClientRect();
                      return [parseInt(a.dataset.entry), r.left, r.top, r.right, r.bottom]; })""")
        pdf = page.pdf(format="A4", print_background=True, prefer_css_page_size=True)
    finally:
        page.close()
    height = A4[1] / PX  # one printed page, in CSS pixels
    links = []
    for entry, left, top, right, bottom in boxes:
        index = int(top // height)
        top, bottom = top - index * height, bottom - index * height
        links.append((entry, index, [left * PX, A4[1] - bottom * PX,
                                     right * PX, A4[1] - top * PX]))
    return pdf, links


NUMBERS_HTML = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><style>
@page {{ size: A4; margin: 0; }}
body {{ margin: 0; font-family: "DejaVu Sans", sans-serif; font-size: 9pt; color: #333; }}
div {{ height: 297mm; position: relative; break-after: page; }}
span {{ position: absolute; bottom: 8mm; left: 0; right: 0; text-align: center; }}
</style></head><body>{pages}</body></html>"""


def print_numbers(context, count: int) -> bytes:
    """A PDF of `count` blank A4 pages, each with its number at the bottom."""
    pages = "".join(f"<div><span>{n}</span></div>" for n in range(1, count + 1))
    page = context.new_page()
    try:
        page.set_content(NUMBERS_HTML.format(pages=pages))
        return page.pdf(format="A4", prefer_css_page_size=True)
    finally:
        page.close()


def build(edition: str) -> Path:
    from playwright.sync_api import sync_playwright
    from pypdf import PdfReader, PdfWriter
    from pypdf.annotations import Link

    site, out, command = EDITIONS[edition]
    entries = toc_entries()
    missing = [e.path for e in entries if not (site / e.path).is_file()]
    if missing:
        raise SystemExit(f"pdf: {site.relative_to(ROOT)} lacks {', '.join(missing[:3])}: "
                         f"run {command} first")
    book_title = yaml.safe_load((ROOT / "_config.yml").read_text())["title"]
    with serve(site) as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(),
                                             args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=LAYOUT,
                                      color_scheme="light", service_workers="block")
        context.set_default_timeout(60_000)
        left = offline(context)
        parts = []
        for entry in entries:
            entry.title, pdf = print_page(context, base + entry.path)
            reader = PdfReader(io.BytesIO(pdf))
            entry.pages = len(reader.pages)
            entry.first_page = sum(len(r.pages) for r in parts)
            parts.append(reader)
            say(f"{entry.path}: {entry.pages} pages ({entry.title})")
        # the contents come first: print once to learn its length, then with the numbers
        contents, _ = print_contents(context, contents_html(book_title, edition, entries, 0))
        offset = len(PdfReader(io.BytesIO(contents)).pages)
        contents, links = print_contents(context,
                                         contents_html(book_title, edition, entries, offset))
        total = offset + sum(e.pages for e in entries)
        numbers = PdfReader(io.BytesIO(print_numbers(context, total)))
        browser.close()
    if left:
        raise SystemExit(f"pdf: {len(left)} requests tried to leave 127.0.0.1: {left[:3]}")

    writer = PdfWriter()
    contents_reader = PdfReader(io.BytesIO(contents))
    if len(contents_reader.pages) != offset:
        raise SystemExit("pdf: the contents changed length once numbered")
    for reader in [contents_reader, *parts]:
        for page in reader.pages:
            writer.add_page(page)
    for index, page in enumerate(writer.pages):
        page.merge_page(numbers.pages[index])
    for entry, page_index, rect in links:
        target = offset + entries[entry].first_page
        writer.add_annotation(page_index, Link(rect=rect, target_page_index=target))
    writer.add_outline_item(title="Contents", page_number=0)
    part = None
    for entry in entries:
        if entry.part:
            part = writer.add_outline_item(title=entry.part, page_number=offset + entry.first_page)
        writer.add_outline_item(title=entry.title, page_number=offset + entry.first_page,
                                parent=part)
    title = book_title + (" (student edition)" if edition == "student" else "")
    writer.add_metadata({"/Title": title, "/Author": "The BPTT book authors",
                         "/Subject": "Backpropagation through time"})
    writer.page_mode = "/UseOutlines"
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("wb") as handle:
        writer.write(handle)
    shutil.copy2(out, site / IN_SITE)
    say(f"{out.relative_to(ROOT)}: {total} pages ({out.stat().st_size / 1e6:.1f} MB); "
        f"copied to {(site / IN_SITE).relative_to(ROOT)}")
    return out


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in EDITIONS:
        print(f"usage: python tools/pdf.py {{{'|'.join(EDITIONS)}}}", file=sys.stderr)
        return 2
    build(argv[0])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
