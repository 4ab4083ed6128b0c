"""The chapters in JupyterLab, as a student meets them: open, read, Run All, move a slider.

One JupyterLab server from this venv (``python -m jupyterlab``, on 127.0.0.1, ``--allow-root``
when root) serves, for every test of this module, what ``make lab`` opens: the notebook
edition of the chapters (tools/make_notebooks.py) copied by tools/lab_workspace.py into
``lab/full``; and a copy of ``book/`` (the MyST sources, ``make lab-source``). Autosave is off
and both are copies, so nothing is ever written into ``book/``. Headless Chromium (Debian's
``/usr/bin/chromium`` or ``BPTT_CHROMIUM``, through Playwright's Python package) opens each
chapter of ``lab/full`` and checks:

* the notebook is not marked modified on open (the stored metadata is what JupyterLab writes);
* every text cell is rendered by jupyterlab-myst and no raw MyST is left in it;
* it reads as on the website: each equation shows the website's number (its ``\\tag``) and no
  other (jupyterlab-myst numbers a plain ``$$`` block (1), (2), ... itself); no citation shows
  its key; no reference shows a file name and every link to a chapter finds its notebook;
  every solution is collapsed, its text in a closed ``<details>``, its code folded;
* Run All runs every code cell with no error output;
* the first exploration's figure changes when its slider moves, and so does its text
  alternative (the caption under it, and the polite live region a screen reader reads);
  how long the figure took to change, from the key press to the new image loaded in the
  page, goes to ``test-output/lab-latency.json``. Only the 100 ms ceiling is asserted
  (machines are noisy); the target is 50 ms median.

Each chapter and assignment of ``book/`` is opened too, to check that jupyterlab-myst renders
the sources with no raw MyST (assignments are released from them).

Without a browser these tests are skipped with the reason, unless ``CI`` is set.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
sys.path.insert(0, str(ROOT / "tools"))
import lab_workspace  # noqa: E402
import make_notebooks  # noqa: E402
import normalize_notebooks  # noqa: E402

OUTPUT = ROOT / "test-output"
CHAPTERS = sorted(p.name for p in BOOK.glob("[0-9][0-9]_*.ipynb"))
ASSIGNMENTS = sorted(p.relative_to(BOOK).as_posix() for p in BOOK.glob("assignments/*.ipynb"))
TOKEN = "bptt-lab-test"
RAW_MYST = (":label:", "{eq}`", "{doc}`", "{cite", "{ref}`", "{glue", ":::{", "```{",
            ":class:")
CEILING_MS = 100.0
RUN_ALL_SECONDS = 300
MOVES = 6  # three steps one way, three back: the way a reader tries a slider
READING_SECONDS = 2.0  # after Run All, before the first move
LATENCIES: dict[str, list[float]] = {}
SERVED: dict[str, Path] = {}  # "root": the folder the JupyterLab server serves
EDITION = "lab/full"  # what make lab opens, under the server's root
BIB_KEYS = re.findall(r"^@\w+\{([^,\s]+),", (BOOK / "references.bib").read_text(), re.M)

SETTINGS = {  # JupyterLab settings for the test (JUPYTERLAB_SETTINGS_DIR)
    # never save: the served files are a copy, but a test must not depend on that
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    # render every cell at once, so that every text cell can be read without scrolling
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str):
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def api(base: str, path: str, method: str = "GET"):
    request = urllib.request.Request(f"{base}{path}", method=method,
                                     headers={"Authorization": f"token {TOKEN}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        body = response.read()
    return json.loads(body) if body else None


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        unavailable("JupyterLab is not installed (pip install -r requirements.txt)")
    home = tmp_path_factory.mktemp("lab")
    served = home / "served"  # the server's root: lab/full as make lab makes it, and book/
    shutil.copytree(BOOK, served / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    # the notebook edition from the current sources (quick after make book, whose executed
    # notebooks give the glued values; otherwise each chapter runs once here)
    make_notebooks.build(ROOT, out=home / "jupyter")
    for edition in ("full", "student"):
        lab_workspace.update(home / "jupyter" / edition, served / "lab" / edition)
    SERVED["root"] = served
    for plugin, values in SETTINGS.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    port = free_port()
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces")}
    env.pop("BPTT_STATIC_WIDGETS", None)  # live sliders, as in make lab
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
               f"--port={port}", f"--IdentityProvider.token={TOKEN}",
               f"--ServerApp.root_dir={served}"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    log = open(home / "lab.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited: {(home / 'lab.log').read_text()[-2000:]}")
            try:
                api(base, "/api/status")
                break
            except OSError:
                time.sleep(0.25)
        else:
            pytest.fail("JupyterLab did not answer within 60 s")
        yield base
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        write_latencies()


# `browser` (conftest.py) is the session's one Chromium, shared with tests/test_site.py: a
# second sync_playwright() in the same worker fails ("Sync API inside the asyncio loop").


@pytest.fixture
def page(browser, lab):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    # nothing leaves this machine: JupyterLab and its extensions are served locally
    context.route("**/*", lambda route: route.continue_()
                  if route.request.url.startswith(("http://127.0.0.1", "data:", "blob:"))
                  else route.abort())
    page = context.new_page()
    yield page
    context.close()
    for kernel in api(lab, "/api/kernels"):  # one chapter's kernel never slows the next
        api(lab, f"/api/kernels/{kernel['id']}", method="DELETE")


def open_notebook(page, lab: str, name: str) -> None:
    page.goto(f"{lab}/lab/tree/{name}?reset&token={TOKEN}")
    page.wait_for_function("() => (document.querySelector('#jp-main-statusbar') || {})"
                           ".innerText?.includes('Idle')", timeout=90_000)
    # every text cell rendered by jupyterlab-myst
    page.wait_for_function("""() => {
        const cells = [...document.querySelectorAll('.jp-Notebook .jp-MarkdownCell')];
        // a cell holding only a solution-end gate renders as nothing: present is enough
        return cells.length > 0 && cells.every(c => c.querySelector('.myst'));
    }""", timeout=60_000)


def modified_on_open(page) -> bool:
    return page.locator(".jp-mod-dirty").count() > 0


def check_rendering(page, name: str) -> None:
    texts = page.eval_on_selector_all(".jp-Notebook .jp-MarkdownCell .myst",
                                      "els => els.map(e => e.innerText)")
    raw = [(i, mark) for i, text in enumerate(texts) for mark in RAW_MYST if mark in text]
    assert not raw, f"{name}: raw MyST in rendered text cells (cell, text): {raw}"
    errors = page.locator(".jp-Notebook .myst .error, .jp-Notebook .myst [class*='error']")
    assert errors.count() == 0, f"{name}: jupyterlab-myst reports " \
        f"{errors.first.inner_text()[:200]!r}"


def check_as_on_the_website(page, name: str) -> None:
    """Numbers, citations, references and solutions as the website shows them."""
    nb = json.loads((SERVED["root"] / EDITION / name).read_text(encoding="utf-8"))
    markdown = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]
    tags = [n for text in markdown for n in re.findall(r"\\tag\{(\d+)\}", text)]
    shown = page.eval_on_selector_all(".jp-MarkdownCell .myst .katex-display .tag",
                                      "els => els.map(e => e.innerText.trim())")
    assert shown == [f"({n})" for n in tags], f"{name}: equation numbers shown {shown}, " \
        f"expected the website's {tags}"
    own = page.locator('.jp-MarkdownCell .myst a[aria-label="Link to this Equation"]')
    assert own.count() == 0, f"{name}: jupyterlab-myst numbered {own.count()} equations " \
        f"itself (first: {own.first.inner_text()!r}), beside the website's numbers"
    text = "\n".join(page.eval_on_selector_all(".jp-MarkdownCell .myst",
                                               "els => els.map(e => e.innerText)"))
    keys = [key for key in BIB_KEYS if re.search(rf"\b{re.escape(key)}\b", text)]
    assert not keys, f"{name}: citations show their keys {keys}, not (Author, year)"
    links = page.eval_on_selector_all(
        ".jp-MarkdownCell .myst a[href*='.ipynb']",
        "els => els.map(e => [e.getAttribute('href'), e.innerText.trim()])")
    written = sum(len(re.findall(r"\]\([^()\s]+\.ipynb[)#]", text)) for text in markdown)
    assert len(links) == written, f"{name}: {len(links)} links to notebooks shown, " \
        f"{written} in the text"
    for href, label in links:
        # JupyterLab rewrites a relative link to /files/<path from the root>?_xsrf=...
        target = urllib.parse.unquote(urllib.parse.urlsplit(href).path).split("/")[-1]
        assert (SERVED["root"] / EDITION / target).is_file(), \
            f"{name}: the link {label!r} leads to {href}, which is not in {EDITION}"
        assert ".ipynb" not in label and not re.fullmatch(r"\d\d_\w+", label), \
            f"{name}: a reference shows a file name: {label!r} ({href})"
    solutions = sum(text.count("<details>") for text in markdown)
    closed = page.locator(".jp-MarkdownCell .myst details:not([open])").count()
    opened = page.locator(".jp-MarkdownCell details[open]").count()
    assert closed == solutions and opened == 0, f"{name}: of {solutions} collapsed blocks " \
        f"(solutions, dropdowns) {closed} are shown closed and {opened} open"
    # the code of each gated solution in book/ (between solution-start and solution-end)
    source = json.loads((BOOK / name).read_text(encoding="utf-8"))
    gated = sum(1 for c in normalize_notebooks.collapse_gated_solutions(source["cells"])
                if c["metadata"].get("jupyter", {}).get("source_hidden"))
    placeholders = page.locator(".jp-CodeCell .jp-InputPlaceholder").count()
    assert placeholders == gated, f"{name}: {placeholders} code cells folded, expected the " \
        f"{gated} of the solutions' code"


def run_all(page, name: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    deadline = time.monotonic() + RUN_ALL_SECONDS
    while time.monotonic() < deadline:
        state = page.evaluate("""() => {
            const prompts = [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]
                .map(p => p.textContent.trim());
            const errors = [...document.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
                .map(e => e.innerText).filter(t => t.includes('Traceback'));
            // a folded input (a gated solution's code) shows no prompt: the other prompts and
            // the kernel's status tell when Run All is over
            const status = (document.querySelector('#jp-main-statusbar') || {}).innerText;
            const waiting = prompts.some(p => p === '[*]:' || p === '[ ]:');
            return {done: !waiting && (status || '').includes('Idle')
                          && prompts.some(p => /[0-9]/.test(p)),
                    errors: errors};
        }""")
        assert not state["errors"], f"{name}: error output:\n{state['errors'][0][-1500:]}"
        if state["done"]:
            return
        time.sleep(0.5)
    pytest.fail(f"{name}: Run All did not finish in {RUN_ALL_SECONDS} s")


def frame_words(page, box) -> str:
    """The caption under the exploration's figure, once it names the frame shown (the image's
    title): the kernel sends the words after the browser has swapped the image."""
    try:
        page.wait_for_function("""(box) => {
            const norm = s => (s || '').replace(/\\s+/g, ' ').trim();
            const img = [...box.querySelectorAll('img')].find(i => i.offsetParent);
            const caption = box.querySelector('.bptt-live-caption');
            return !!img && !!caption && norm(img.title).length >= 10
                   && norm(img.title) === norm(caption.innerText);
        }""", arg=box.element_handle(), timeout=5_000)
    except Exception:  # noqa: BLE001 - say what is missing, not "timeout"
        caption = box.locator(".bptt-live-caption")
        shown = caption.inner_text() if caption.count() else None
        title = box.locator("img:visible").first.get_attribute("title")
        pytest.fail(f"the caption under the figure does not describe the frame shown within "
                    f"5 s: caption {shown!r}, image title {title!r}")
    return " ".join(box.locator(".bptt-live-caption").inner_text().split())


def move_slider(page, name: str) -> list[float]:
    """Latencies (ms) from a key press on the first slider to the new figure, per move."""
    box = page.locator(".jp-OutputArea-output .widget-vbox:has(img)").first
    try:
        box.wait_for(timeout=30_000)
    except Exception:  # noqa: BLE001
        pytest.fail(f"{name}: no exploration is shown after Run All (is explore(...) the last "
                    f"expression of its cell?)")
    box.scroll_into_view_if_needed()
    handle = box.locator(".widget-slider .noUi-handle").first
    # the figure shown is the visible <img> of the exploration: with one Image per setting the
    # browser swaps elements, with one shared Image it swaps the source; both fire "load"
    page.evaluate("""(box) => {
        const visible = () => [...box.querySelectorAll('img')].find(i => i.offsetParent);
        let shown = (visible() || {}).src;
        if (window.__bptt) { window.__bptt = {start: null, times: []}; return; }  // again
        window.__bptt = {start: null, times: []};
        document.addEventListener('keydown', () => { window.__bptt.start = performance.now(); },
                                  true);
        const check = () => {
            const img = visible();
            if (window.__bptt.start === null || !img || !img.complete || !img.naturalWidth
                || img.src === shown) return;
            shown = img.src;
            window.__bptt.times.push(performance.now() - window.__bptt.start);
            window.__bptt.start = null;
        };
        box.addEventListener('load', check, true);  // a new image, or a new source, loaded
        new MutationObserver(check).observe(box, {subtree: true, childList: true,
                                                  attributes: true});
    }""", box.element_handle())
    now, top = (float(handle.get_attribute(a)) for a in ("aria-valuenow", "aria-valuemax"))
    there, back = ("ArrowRight", "ArrowLeft") if now < top else ("ArrowLeft", "ArrowRight")
    handle.focus()
    time.sleep(READING_SECONDS)  # a reader looks at the figure before touching the slider
    src = box.locator("img:visible").first.get_attribute("src")
    words = [frame_words(page, box)]  # the figure's text alternative, as a caption
    changed = False
    for key in [there] * (MOVES // 2) + [back] * (MOVES - MOVES // 2):
        count = page.evaluate("() => window.__bptt.times.length")
        handle.press(key)
        try:
            page.wait_for_function(f"() => window.__bptt.times.length > {count}",
                                   timeout=5_000)
        except Exception:  # noqa: BLE001 - a step that shows the same picture loads nothing
            page.evaluate("() => { window.__bptt.start = null; }")
        changed = changed or box.locator("img:visible").first.get_attribute("src") != src
        words.append(frame_words(page, box))  # after the move's time was taken
        time.sleep(0.6)  # and at each new figure before the next move
    assert changed, f"{name}: the first exploration's figure did not change on a slider move"
    assert len(set(words)) > 1, f"{name}: the caption under the figure did not change: " \
        f"{words[0]!r}"
    region = box.locator(".bptt-live-announcer [aria-live=polite]")
    assert region.count() == 1 and region.get_attribute("role") == "status", \
        f"{name}: no polite live region reads the frame's words"
    assert " ".join(region.text_content().split()) == words[-1], \
        f"{name}: the live region does not read the words of the frame shown"
    return page.evaluate("() => window.__bptt.times")


def write_latencies() -> None:
    if not LATENCIES:
        return
    every = [t for times in LATENCIES.values() for t in times]
    summary = {"median_ms": statistics.median(every), "max_ms": max(every),
               "moves": len(every), "per_chapter_ms": LATENCIES}
    OUTPUT.mkdir(exist_ok=True)
    (OUTPUT / "lab-latency.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"\nslider redraw in JupyterLab: median {summary['median_ms']:.0f} ms, "
          f"max {summary['max_ms']:.0f} ms over {len(every)} moves")


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_in_jupyterlab(page, lab, name):
    t0 = time.monotonic()
    open_notebook(page, lab, f"{EDITION}/{name}")
    modified = modified_on_open(page)
    check_rendering(page, name)
    check_as_on_the_website(page, name)
    t1 = time.monotonic()
    run_all(page, name)
    t2 = time.monotonic()
    times = first = move_slider(page, name)
    if times and max(times) >= CEILING_MS:
        # one slow move can be the machine (another test, a garbage collection): the reader
        # tries again, the same six moves between the same figures; a redraw that is really
        # slow is slow both times. Both rounds recorded.
        print(f"{name}: a move took {max(times):.0f} ms; the six moves again")
        LATENCIES[name + " (first round)"] = [round(t, 1) for t in times]
        times = move_slider(page, name)
    # each move is as slow as the faster of its tries
    slowest = max(map(min, zip(first, times)) if len(first) == len(times) else times,
                  default=0.0)
    if times:
        LATENCIES[name] = [round(t, 1) for t in times]
    print(f"{name}: open {t1 - t0:.1f} s, Run All {t2 - t1:.1f} s, sliders "
          f"{time.monotonic() - t2:.1f} s, moves (ms) {LATENCIES.get(name)}")
    assert not modified, f"{name} is marked modified as soon as it opens: run " \
        "tools/normalize_notebooks.py on it"
    if times:
        assert slowest < CEILING_MS, f"{name}: a slider move took {slowest:.0f} ms every " \
            f"time (ceiling {CEILING_MS:.0f} ms; all: {LATENCIES[name]}, first round " \
            f"{LATENCIES.get(name + ' (first round)')})"


@pytest.mark.parametrize("name", ["04_multi_step.ipynb", "07_updates.ipynb",
                                  "11_lstm_gru.ipynb"])
def test_student_edition_renders_in_jupyterlab(page, lab, name):
    """make lab EDITION=student: rendered, no solution anywhere, the exercises' stubs shown."""
    open_notebook(page, lab, f"lab/student/{name}")
    check_rendering(page, f"lab/student/{name}")
    text = page.locator(".jp-Notebook").inner_text()
    assert "Solution to Exercise" not in text and page.locator(".jp-Notebook details").count() \
        == 0, f"lab/student/{name}: a solution is shown"
    assert "raise NotImplementedError" in text, f"lab/student/{name}: no exercise stub shown"


def test_a_reference_to_a_chapter_opens_it_in_jupyterlab(page, lab):
    """Not the file's JSON in a browser tab: its notebook, in a JupyterLab tab beside this one."""
    open_notebook(page, lab, f"{EDITION}/04_multi_step.ipynb")
    link = page.locator(".jp-MarkdownCell .myst a[href*='03_single_step.ipynb']").first
    label = link.inner_text()
    link.click()
    page.wait_for_function("() => [...document.querySelectorAll('.lm-DockPanel-tabBar "
                           ".lm-TabBar-tabLabel')].some(t => t.innerText.includes("
                           "'03_single_step.ipynb'))", timeout=30_000)
    assert len(page.context.pages) == 1, f"the link {label!r} opened a browser tab"
    assert "/lab/" in page.url, f"the link {label!r} left JupyterLab for {page.url}"


@pytest.mark.parametrize("name", CHAPTERS + ASSIGNMENTS)
def test_source_renders_in_jupyterlab(page, lab, name):
    """book/ itself (make lab-source, and the assignments an instructor releases)."""
    open_notebook(page, lab, f"book/{name}")
    check_rendering(page, f"book/{name}")


def test_stored_notebooks_carry_what_jupyterlab_writes_on_open(capsys):
    """Without a browser: every notebook is stored normalised (tools/normalize_notebooks.py)."""
    sys.path.insert(0, str(ROOT / "tools"))
    import normalize_notebooks

    stale = normalize_notebooks.main(["--check"])
    assert stale == 0, f"run .venv/bin/python tools/normalize_notebooks.py:\n" \
        f"{capsys.readouterr().out}"


def test_the_normaliser_folds_gated_solutions_and_sets_the_kernel():
    sys.path.insert(0, str(ROOT / "tools"))
    import normalize_notebooks

    nb = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "```{solution-start} ex\n```"},
        {"cell_type": "code", "metadata": {}, "source": "x = 1", "outputs": [],
         "execution_count": None},
        {"cell_type": "markdown", "metadata": {}, "source": "```{solution-end}\n```"},
        {"cell_type": "code", "metadata": {}, "source": "y = 2", "outputs": [],
         "execution_count": None}]}
    out = normalize_notebooks.normalized(nb)
    assert out["cells"][1]["metadata"] == {"jupyter": {"source_hidden": True}}
    assert out["cells"][3]["metadata"] == {}  # after the solution: shown
    assert out["metadata"]["kernelspec"]["display_name"] == "Python 3 (ipykernel)"
    assert out["metadata"]["language_info"]["version"] == sys.version.split()[0]
