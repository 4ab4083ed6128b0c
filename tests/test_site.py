"""The website in a real browser: every page of the table of contents, in both editions.

The sites are served from ``_build/html`` and ``_build/student/html`` on 127.0.0.1 and read by
headless Chromium (Debian's ``/usr/bin/chromium``, or the path in ``BPTT_CHROMIUM``) through
Playwright's Python package; ``playwright install`` is never needed. ``make test`` builds both
sites first (``make book``, ``make student-book``).

Without a browser or a built site these tests are skipped with the reason; when the
environment variable ``CI`` is set they fail instead, so CI cannot pass without them.
"""

from __future__ import annotations

import functools
import html as htmllib
import http.server
import os
import re
import shutil
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import make_notebooks  # noqa: E402  (the one reading of _toc.yml)

ROOT = Path(__file__).resolve().parent.parent
SITE = ROOT / "_build" / "html"
STUDENT_SITE = ROOT / "_build" / "student" / "html"
OUTPUT = ROOT / "test-output"
VIEWPORT = {"width": 1280, "height": 800}
CHROMIUM_ARGS = [
    "--no-sandbox",  # root in a container
    "--disable-background-networking",  # no update checks, safe browsing, ...
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
    "--metrics-recording-only",
    "--disable-features=Translate,OptimizationHints,MediaRouter",
]

# Console errors and page errors that are harmless, as (regular expression, why). Keep it
# short: anything else a page logs as an error fails its test. It is empty: the two known
# sources of noise are fixed at their source instead (tools/sphinx_bptt.py loads
# sphinx-thebe's configuration script once, so "THEBE_JS_URL has already been declared" is
# gone; _config.yml gives the theme a default mode, so "Got invalid theme mode" is gone).
ALLOWED_ERRORS: list[tuple[str, str]] = []

RAW_TEX = ("$$", "\\frac", "\\partial", "\\begin{", "\\tanh", "\\sum_")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str):
    """Skip with the reason; under CI, fail: the browser tests are part of the CI run."""
    if in_ci():
        pytest.fail(f"{reason} (CI is set, so the browser tests may not be skipped)",
                    pytrace=False)
    pytest.skip(reason)


def toc_pages() -> list[str]:
    """Every page of _toc.yml in reading order, as paths such as 'book/intro.html'."""
    return [f"{doc}.html" for doc in make_notebooks.toc_docs(ROOT)]


def notebook_pages() -> list[str]:
    return [p for p in toc_pages() if (ROOT / p).with_suffix(".ipynb").exists()]


def repository_url() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["repository"]["url"].rstrip("/")


PAGES = toc_pages()
SCREENSHOT_PAGE = "book/04_multi_step.html"  # saved as test-output/chapter.png


# ---------------------------------------------------------------------------------------------
# Serving and browsing


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass


@contextmanager
def serve(directory: Path):
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def chromium_path() -> str | None:
    for candidate in (os.environ.get("BPTT_CHROMIUM"), shutil.which("chromium"),
                      "/usr/bin/chromium", shutil.which("chromium-browser")):
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None


# `browser`, the one headless Chromium of the session, is in conftest.py: Playwright's sync API
# allows one instance per thread, and tests/test_lab.py drives the same browser.


def built(directory: Path, command: str) -> Path:
    missing = [p for p in PAGES if not (directory / p).is_file()]
    if missing:
        unavailable(f"{directory.relative_to(ROOT)} lacks {', '.join(missing[:3])}: run "
                    f"{command} first (make test does)")
    return directory


@pytest.fixture(scope="module")
def site():
    with serve(built(SITE, "make book")) as base:
        yield base


@pytest.fixture(scope="module")
def student_site():
    with serve(built(STUDENT_SITE, "make student-book")) as base:
        yield base


@dataclass
class Visit:
    page: object
    status: int | None
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@contextmanager
def visit(browser, url: str, viewport: dict | None = None):
    """Open url in a fresh context; every request leaving 127.0.0.1 is counted and aborted."""
    context = browser.new_context(viewport=viewport or VIEWPORT, service_workers="block")
    context.set_default_timeout(30_000)
    found = Visit(page=None, status=None)

    def route(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            found.external.append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    found.page = page
    page.on("console", lambda m: found.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: found.errors.append(f"page error: {e}"))
    try:
        response = page.goto(url, wait_until="load")
        found.status = response.status if response else None
        yield found
    finally:
        context.close()


def unexpected(errors: list[str]) -> list[str]:
    return [e for e in errors if not any(re.search(p, e) for p, _ in ALLOWED_ERRORS)]


# ---------------------------------------------------------------------------------------------
# What every page must do

WAIT_FOR_MATHJAX = """async () => {
  if (!document.querySelector(".math")) return "no math";
  for (let i = 0; i < 200 && !(window.MathJax && MathJax.startup && MathJax.startup.promise);
       i++) {
    await new Promise(r => setTimeout(r, 50));
  }
  if (!(window.MathJax && MathJax.startup)) return "MathJax did not load";
  await MathJax.startup.promise;
  return "typeset";
}"""

UNTYPESET = """() => Array.from(document.querySelectorAll(".math"))
  .filter(e => !e.querySelector("mjx-container") && e.tagName !== "MJX-CONTAINER")
  .map(e => e.textContent.trim().slice(0, 60))"""

VISIBLE_TEXT = """() => {
  const skip = "pre, code, script, style, textarea, mjx-container, .highlight";
  const root = document.querySelector("article") || document.body;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const parts = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest(skip)) parts.push(node.textContent);
  }
  return parts.join(" ");
}"""

BROKEN_IMAGES = """async () => {
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = "eager"; });
  await Promise.all(images.map(img => img.complete ? null : new Promise(resolve => {
    img.addEventListener("load", resolve); img.addEventListener("error", resolve);
    setTimeout(resolve, 10000);
  })));
  return images.filter(img => !(img.complete && img.naturalWidth > 0))
               .map(img => (img.currentSrc || img.src).slice(0, 80));
}"""


def check_sliders(page) -> list[str]:
    """Every static slider must change the displayed frame when moved."""
    problems = []
    explorers = page.locator("div.bptt-explore")
    for e in range(explorers.count()):
        explorer = explorers.nth(e)
        image = explorer.locator("img.bptt-explore-frame")
        inputs = explorer.locator("input[type=range]")
        if inputs.count() == 0:
            problems.append(f"exploration {e + 1} has no slider")
        for i in range(inputs.count()):
            slider = inputs.nth(i)
            name = slider.get_attribute("data-slider")
            start = slider.input_value()
            before = image.get_attribute("src")
            low, high = int(slider.get_attribute("min")), int(slider.get_attribute("max"))
            changed = False
            for position in [high, low, *range(low + 1, high)]:
                if str(position) == start:
                    continue
                slider.fill(str(position))
                if image.get_attribute("src") != before:
                    changed = True
                    break
            slider.fill(start)
            problems += check_keyboard(slider, image, name)
            if not changed:
                problems.append(f"slider {name!r} of exploration {e + 1} never changes "
                                f"the frame")
            elif image.get_attribute("src") != before:
                problems.append(f"slider {name!r}: moving back does not restore the frame")
    return problems


def check_keyboard(slider, image, name: str) -> list[str]:
    """A static slider is labelled, moves with the arrow keys, and says its value."""
    problems = []
    label = slider.evaluate("e => e.labels.length ? e.labels[0].textContent.trim() : ''")
    if label != name:
        problems.append(f"slider {name!r} is labelled {label!r}")
    before = image.get_attribute("src")
    key = "ArrowLeft" if slider.input_value() == slider.get_attribute("max") else "ArrowRight"
    slider.focus()
    slider.press(key)
    value = slider.evaluate("e => e.nextElementSibling.textContent")
    said = slider.get_attribute("aria-valuetext")
    if image.get_attribute("src") == before:
        problems.append(f"slider {name!r}: {key} does not change the frame")
    if said != f"{name} = {value}":
        problems.append(f"slider {name!r}: aria-valuetext is {said!r}, expected "
                        f"{name + ' = ' + value!r}")
    expected = image.evaluate("img => JSON.parse(img.closest('.bptt-explore')"
                              ".querySelector('.bptt-explore-data').textContent)"
                              ".alts[img.dataset.frame]")
    if image.get_attribute("alt") != expected:
        problems.append(f"slider {name!r}: the frame's alt is {image.get_attribute('alt')!r}, "
                        f"not that of the frame shown ({expected!r})")
    slider.press("ArrowRight" if key == "ArrowLeft" else "ArrowLeft")
    return problems


def check_navigation(visit_: Visit, url: str, index: int, pages: list[str]) -> list[str]:
    """Previous and next links lead to the neighbours in the table of contents, and load."""
    problems = []
    page = visit_.page
    for selector, neighbour in (("a.left-prev", index - 1), ("a.right-next", index + 1)):
        link = page.locator(selector)
        expected = pages[neighbour] if 0 <= neighbour < len(pages) else None
        if expected is None:
            if link.count():
                problems.append(f"{selector} exists on the first/last page")
            continue
        if link.count() != 1:
            problems.append(f"{selector}: expected a link to {expected}, found none")
            continue
        target = urljoin(url, link.get_attribute("href")).split("#")[0]
        if urlparse(target).path.lstrip("/") != expected:
            problems.append(f"{selector} leads to {target}, expected {expected}")
        status = page.request.get(target).status
        if status != 200:
            problems.append(f"{selector} -> {target} answers {status}")
    return problems


def check_page(visit_: Visit, url: str) -> list[str]:
    page = visit_.page
    problems = []
    if visit_.status != 200:
        problems.append(f"status {visit_.status}")
    mathjax = page.evaluate(WAIT_FOR_MATHJAX)
    if mathjax == "MathJax did not load":
        problems.append(mathjax)
    if mathjax == "typeset":
        if page.locator("mjx-container").count() == 0:
            problems.append("MathJax typeset nothing (no mjx-container)")
        left = page.evaluate(UNTYPESET)
        if left:
            problems.append(f"{len(left)} formulas not typeset, e.g. {left[0]!r}")
    text = page.evaluate(VISIBLE_TEXT)
    for raw in RAW_TEX:
        if raw in text:
            at = text.index(raw)
            problems.append(f"raw TeX {raw!r} in the text: ...{text[max(0, at - 40):at + 40]}...")
    broken = page.evaluate(BROKEN_IMAGES)
    if broken:
        problems.append(f"{len(broken)} images do not load: {broken}")
    widgets = page.locator('script[type="application/vnd.jupyter.widget-state+json"]').count()
    if widgets:
        problems.append("a live ipywidget, dead without a kernel: use "
                        "bptt_core.interactive.explore for a static slider")
    return problems


def screenshot(page, path: Path) -> None:
    """The chapter with its first exploration in view, as a reader sees it."""
    path.parent.mkdir(exist_ok=True)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.mouse.move(0, 0)
    explorer = page.locator("div.bptt-explore").first
    if explorer.count():
        explorer.evaluate("""e => {
          // the exploration with its section's heading above it, if both fit in the window
          const heading = e.closest("section").querySelector("h1, h2, h3");
          const top = heading.getBoundingClientRect().top + window.scrollY - 70;
          const bottom = e.getBoundingClientRect().bottom + window.scrollY;
          const fits = bottom - top < window.innerHeight;
          window.scrollTo(0, fits ? top : bottom - window.innerHeight + 20);
        }""")
    page.wait_for_timeout(300)  # the theme's scroll-dependent header settles
    page.screenshot(path=str(path))


def finish(visit_: Visit, problems: list[str]) -> None:
    page_errors = unexpected(visit_.errors)
    if visit_.external:
        problems.append(f"{len(visit_.external)} requests left 127.0.0.1: {visit_.external[:5]}")
    if page_errors:
        problems.append(f"console/page errors: {page_errors}")
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------------------------------------
# The tests


def test_install_cells_use_the_repository_url():
    """A chapter that installs bptt_core from git (for Colab) uses repository.url."""
    import json

    repo = repository_url()
    wrong = []
    for notebook in sorted((ROOT / "book").glob("*.ipynb")):
        cells = json.loads(notebook.read_text())["cells"]
        for cell in cells:
            source = "".join(cell["source"]) if cell["cell_type"] == "code" else ""
            for url in re.findall(r"git\+(https?://[^\s\"'@#]+)", source):
                if url.rstrip("/").removesuffix(".git") != repo:
                    wrong.append(f"{notebook.name}: {url} (repository.url is {repo})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize("path", PAGES)
def test_page(browser, site, path):
    """Status 200, math typeset, images loaded, sliders alive, links resolve, nothing leaves."""
    url = site + path
    with visit(browser, url) as found:
        problems = check_page(found, url)
        problems += check_sliders(found.page)
        problems += check_navigation(found, url, PAGES.index(path), PAGES)
        if path == SCREENSHOT_PAGE:
            screenshot(found.page, OUTPUT / "chapter.png")
        finish(found, problems)


@pytest.mark.parametrize("path", notebook_pages())
def test_launch_buttons(browser, site, path):
    """Binder, Colab and JupyterHub open this chapter's notebook from repository.url."""
    repo = urlparse(repository_url()).path.strip("/")  # e.g. your-org/bptt-book
    notebook = path.replace(".html", ".ipynb")
    with visit(browser, site + path) as found:
        hrefs = found.page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    wanted = {
        "Binder": f"mybinder.org/v2/gh/{repo}/",
        "Colab": f"colab.research.google.com/github/{repo}/blob/",
        "JupyterHub": "/hub/user-redirect/git-pull?repo=",
    }
    for name, fragment in wanted.items():
        matches = [h for h in hrefs if fragment in h]
        assert matches, f"no {name} launch link on {path}"
        assert any(notebook in h for h in matches), f"{name} link does not open {notebook}"
    # Binder and Colab open the notebook edition, published to repository.branch from
    # _build/jupyter/publish (make publish-notebooks): the file they ask for is there
    branch = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["branch"]
    colab = next(h for h in hrefs if wanted["Colab"] in h)
    assert f"/blob/{branch}/{notebook}" in colab, f"Colab opens {colab}, not {notebook} " \
        f"on the branch {branch}"
    binder = next(h for h in hrefs if wanted["Binder"] in h)
    assert f"/{branch}?" in binder or f"/{branch}/" in binder, binder
    assert (ROOT / "_build" / "jupyter" / "publish" / notebook).is_file(), \
        f"{notebook} is not in _build/jupyter/publish, which the buttons' branch publishes"


def test_search_finds_the_multi_step_sum(browser, site):
    """The search page finds the chapter on the multi-step sum when asked for "Jacobian"."""
    with visit(browser, site + "search.html?q=Jacobian") as found:
        found.page.wait_for_selector("ul.search li a", timeout=30_000)
        # Sphinx lists the results one at a time and writes "Search finished, found N
        # page(s)" into p.search-summary after the last one (this theme has no
        # #search-progress): read the links only then
        found.page.wait_for_function(
            "() => { const s = document.querySelector('p.search-summary');"
            " return s !== null && /search finished|did not match/i.test(s.textContent); }",
            timeout=30_000)
        hrefs = found.page.eval_on_selector_all("ul.search li a",
                                                "links => links.map(a => a.href)")
        assert any("book/04_multi_step.html" in h for h in hrefs), hrefs
        finish(found, [])


def test_landing_page_fits_one_screen(browser, site):
    """What the book teaches, for whom, how to run it, and its figure: all in one screen."""
    with visit(browser, site + PAGES[0]) as found:
        page = found.page
        for title in ("What you will learn", "Who it is for", "How to run it"):
            box = page.locator(".sd-card-title", has_text=title).bounding_box()
            assert box and box["y"] + box["height"] <= VIEWPORT["height"], title
        figure = page.locator("#landing-figure img").bounding_box()
        assert figure and figure["y"] + figure["height"] <= VIEWPORT["height"], figure
        assert page.evaluate(BROKEN_IMAGES) == []
        finish(found, [])


@pytest.mark.parametrize("path", PAGES)
def test_student_page(browser, student_site, path):
    """The student edition: no solution anywhere, and the same checks as the book."""
    url = student_site + path
    with visit(browser, url) as found:
        problems = check_page(found, url)
        problems += check_navigation(found, url, PAGES.index(path), PAGES)
        solutions = found.page.locator(".solution").count()
        if solutions:
            problems.append(f"{solutions} solutions shown")
        if "Solution to Exercise" in found.page.inner_text("body"):
            problems.append("the text 'Solution to Exercise' is on the page")
        finish(found, problems)


class SolutionCode(HTMLParser):
    """The text of every <pre> inside a div.solution of one page."""

    def __init__(self):
        super().__init__()
        self.stack: list[bool] = []  # per open div: is it a solution?
        self.pre = 0
        self.snippets: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag == "div":
            self.stack.append("solution" in (dict(attrs).get("class") or "").split())
        elif tag == "pre" and any(self.stack):
            self.pre += 1
            self.snippets.append("")

    def handle_endtag(self, tag):
        if tag == "div" and self.stack:
            self.stack.pop()
        elif tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data):
        if self.pre:
            self.snippets[-1] += data


def solution_code(html: str) -> list[str]:
    parser = SolutionCode()
    parser.feed(html)
    return [s.strip() for s in parser.snippets if len(s.strip()) >= 20]


def test_student_edition_differs_only_by_solutions(site, student_site):
    """Not vacuous: the book shows solutions (with code), the student edition keeps every
    exercise and shows none of the solutions' code, not even that of gated solutions."""
    counts = {}
    for name, directory in (("book", SITE), ("student", STUDENT_SITE)):
        html = "".join((directory / path).read_text() for path in PAGES)
        counts[name] = {kind: len(re.findall(rf'<div class="{kind}[ "]', html))
                        for kind in ("exercise", "solution")}
    assert counts["book"]["solution"] > 0, counts
    assert counts["student"]["solution"] == 0, counts
    assert counts["student"]["exercise"] == counts["book"]["exercise"] > 0, counts
    leaked, total = [], 0
    for path in PAGES:
        student_text = htmllib.unescape(re.sub(r"<[^>]+>", "", (STUDENT_SITE / path).read_text()))
        student_text = " ".join(student_text.split())
        for code in solution_code((SITE / path).read_text()):
            total += 1
            if " ".join(code.split()) in student_text:
                leaked.append(f"{path}: {code[:70]!r}")
    assert total > 0, "the book's solutions hold no code: is this check still meaningful?"
    assert not leaked, "solution code in the student edition:\n" + "\n".join(leaked)


# ---------------------------------------------------------------------------------------------
# Accessibility: WCAG 2.1 AA, checked by axe-core inside the page, at a desktop and a phone
# width, on every page of both editions

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # pinned in package.json (npm ci)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
BLOCKING = ("serious", "critical")
WIDTHS = {"desktop": VIEWPORT, "phone": {"width": 390, "height": 844}}
SHOWN_PER_RULE = 4  # elements printed per failing rule (and how many more there are)

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, help: v.help,
    nodes: v.nodes.map(n => ({impact: n.impact, target: n.target.join(" "),
                              html: n.html.replace(/\\s+/g, " ").slice(0, 150)}))}));
}"""

IMAGES = """() => Array.from(document.images).map(img => ({
  src: (img.getAttribute("src") || "").slice(0, 90), alt: img.getAttribute("alt"),
  where: img.closest("[id]") ? "#" + img.closest("[id]").id : ""}))"""

# The elements that stick out of the window on the right, outermost first.
OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  const scrolled = document.scrollingElement.scrollWidth;
  if (scrolled <= width) return null;
  const name = e => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") +
    (e.classList.length ? "." + Array.from(e.classList).slice(0, 3).join(".") : "");
  const out = [];
  for (const e of document.body.querySelectorAll("*")) {
    const box = e.getBoundingClientRect();
    if (box.width === 0 || box.right <= width + 1) continue;
    const style = getComputedStyle(e);  // off-canvas drawers do not widen the page
    if (style.position === "fixed" || style.visibility === "hidden") continue;
    let parent = e.parentElement, reported = false;
    for (; parent && parent !== document.body; parent = parent.parentElement) {
      if (out.includes(parent)) { reported = true; break; }
      if (getComputedStyle(parent).overflowX !== "visible") break;  // scrolls inside it
    }
    if (!reported && (!parent || parent === document.body ||
                      parent.getBoundingClientRect().right > width + 1)) out.push(e);
  }
  return {scrolled, width, culprits: out.slice(0, 5).map(e =>
    `${name(e)} (right edge at ${Math.round(e.getBoundingClientRect().right)} px)`)};
}"""

FILE_NAME = re.compile(r"(^|[/\\])[\w.-]+\.(png|jpe?g|gif|svg|webp|pdf)$|^[0-9a-f]{16,}",
                       re.IGNORECASE)


def alt_problems(images: list[dict]) -> list[str]:
    """Every <img> needs a text alternative that says something: not empty, not a file name."""
    problems = []
    for image in images:
        alt = (image["alt"] or "").strip()
        if not alt or FILE_NAME.search(alt) or alt == image["src"]:
            problems.append(f"img-alt: {image['src']!r} in {image['where'] or 'the page'} "
                            f"has alt={image['alt']!r}: say what the figure shows")
    return problems


def axe_problems(violations: list[dict]) -> list[str]:
    """One line per failing element of a serious or critical violation (a few per rule)."""
    problems = []
    for violation in violations:
        nodes = [n for n in violation["nodes"] if n["impact"] in BLOCKING]
        for node in nodes[:SHOWN_PER_RULE]:
            problems.append(f"{violation['id']} [{node['impact']}] {violation['help']}: "
                            f"{node['target']}  {node['html']}")
        if len(nodes) > SHOWN_PER_RULE:
            problems.append(f"{violation['id']}: ... and {len(nodes) - SHOWN_PER_RULE} more "
                            "elements")
    return problems


def accessibility(page, width: str) -> dict:
    """What axe-core, the images and the page's width say, at the current window size."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.add_script_tag(path=str(AXE))
    violations = page.evaluate(RUN_AXE, AXE_TAGS)
    overflow = page.evaluate(OVERFLOW) if width == "phone" else None
    return {"violations": violations, "images": page.evaluate(IMAGES), "overflow": overflow}


def accessibility_problems(found: dict) -> list[str]:
    problems = axe_problems(found["violations"]) + alt_problems(found["images"])
    if found["overflow"]:
        over = found["overflow"]
        problems.append(f"horizontal scrolling: the page is {over['scrolled']} px wide in a "
                        f"{over['width']} px window; sticking out: {over['culprits']}")
    return problems


# pydata-sphinx-theme gives a scrollable code block or table tabindex 0 and one that fits -1,
# and redoes it when the window changes size: done when no element that scrolls is left at -1
SCROLLERS_ARE_TAB_STOPS = """() => [...document.querySelectorAll('[tabindex="-1"]')]
    .every(e => e.scrollWidth <= e.clientWidth && e.scrollHeight <= e.clientHeight)"""


def audit(browser, url: str):
    """(width, what accessibility() found) at each width, in one page load."""
    with visit(browser, url, WIDTHS["desktop"]) as found:
        page = found.page
        page.evaluate(WAIT_FOR_MATHJAX)
        page.evaluate(BROKEN_IMAGES)  # loads every image (lazy ones too) before the check
        for width, size in WIDTHS.items():
            page.set_viewport_size(size)
            page.wait_for_timeout(300)  # the theme's layout settles at the new width
            try:  # and its ResizeObserver makes what now scrolls a tab stop (late under load)
                page.wait_for_function(SCROLLERS_ARE_TAB_STOPS, timeout=5_000)
            except Exception:  # noqa: BLE001 - it never did: axe-core reports the element
                pass
            yield width, accessibility(page, width)


def check_accessible(browser, base: str, path: str, edition: str) -> None:
    """WCAG 2.1 AA: no serious or critical axe-core violation (wcag2a, wcag2aa, wcag21a,
    wcag21aa), every image has a real text alternative, and no page is wider than a phone's
    screen (390 px), at 1280 px and at 390 px."""
    if not AXE.is_file():
        unavailable(f"{AXE.relative_to(ROOT)} is missing: run npm ci (make book does)")
    problems = []
    for width, found in audit(browser, base + path):
        problems += [f"{width}: {p}" for p in accessibility_problems(found)]
    assert not problems, (f"{edition} edition, {path}: {len(problems)} accessibility "
                          "problems\n" + "\n".join(problems))


# One class per edition: pytest-xdist's --dist loadscope runs each class on its own worker.
class TestAccessibleBook:
    @pytest.mark.parametrize("path", PAGES)
    def test_page(self, browser, site, path):
        check_accessible(browser, site, path, "book")


class TestAccessibleStudentEdition:
    @pytest.mark.parametrize("path", PAGES)
    def test_page(self, browser, student_site, path):
        check_accessible(browser, student_site, path, "student")


PLANTED = """<!DOCTYPE html><html lang="en"><head><title>planted</title></head><body><main>
<h1>A page with four planted faults</h1>
<button aria-label="Close">Open the menu</button>
<p style="color:#aaaaaa;background:#ffffff">grey on white, 2.3 : 1</p>
<img src="data:image/png;base64,{png}" alt="../_images/0123abcd.png">
<div style="width:600px">wider than a phone</div>
</main></body></html>"""
CLEAN = """<!DOCTYPE html><html lang="en"><head><title>clean</title></head><body><main>
<h1>A page without faults</h1><button>Open the menu</button>
<img src="data:image/png;base64,{png}" alt="A red dot"></main></body></html>"""
DOT = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5"
       "ErkJggg==")


def test_the_accessibility_check_catches_planted_faults(browser, tmp_path):
    """Not vacuous: a mismatched button name, low contrast, a file name for alt and a page
    wider than a phone are each reported, with the width; a clean page passes."""
    if not AXE.is_file():
        unavailable(f"{AXE.relative_to(ROOT)} is missing: run npm ci (make book does)")
    (tmp_path / "planted.html").write_text(PLANTED.format(png=DOT))
    (tmp_path / "clean.html").write_text(CLEAN.format(png=DOT))
    with serve(tmp_path) as base:
        found = {width: accessibility_problems(f) for width, f in audit(browser,
                                                                         base + "planted.html")}
        clean = [p for _, f in audit(browser, base + "clean.html")
                 for p in accessibility_problems(f)]
    for width in WIDTHS:
        text = "\n".join(found[width])
        for rule in ("label-content-name-mismatch", "color-contrast", "img-alt"):
            assert rule in text, f"{width}: {rule} not caught:\n{text}"
    assert "horizontal scrolling" in "\n".join(found["phone"])
    assert "horizontal scrolling" not in "\n".join(found["desktop"])
    assert clean == [], clean
