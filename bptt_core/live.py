"""Live sliders for Jupyter that keep up with the hand: ``explore(...)`` in a kernel.

One exploration is its sliders over one picture. Each setting of the sliders has its own
``ipywidgets.Image`` in nested ``Stack``s, and each slider is linked to its Stack *in the
browser* (``jslink``): a move shows the frame for the new values without asking the kernel,
as soon as the kernel has sent that frame once. The kernel fills the frames: the one asked
for, from a cache when those values were seen before, drawn otherwise with
``draw(fig, **values)`` on a fresh, off-screen Agg figure (no pyplot, no inline backend, no
output area cleared and rebuilt). While the reader looks, a background thread draws the
frames around the current position, nearest first (the way the reader was going first), so
the next moves usually find their frames ready and already in the browser: a key press or a
drag step then swaps two images in the page. (With more settings than ``STACKED_FRAMES``, one
Image whose value the kernel swaps.) Figures are drawn one at a time (matplotlib is not
thread-safe); ``draw`` only ever sees its own figure.

Under the figure, a caption says in words what the frame shows (``alt``, the same text the
website gives each frame), and a screen reader reads it out, politely, after each move: the
kernel rewrites both as soon as a slider moves, before any drawing. As on the website, what is
read out is a hidden polite live region that stays in the page while its text changes (a small
``anywidget``): a region that arrives with its text already in it, as a re-rendered
``ipywidgets.HTML`` does, is often not read. Without anywidget the caption itself is the live
region. Each image also carries its frame's text as its title, which is its accessible name
(ipywidgets' Image has no ``alt``).

The chapters never call this module: they call :func:`bptt_core.interactive.explore`, which
uses it in Jupyter and precomputes static frames for the website.
"""

from __future__ import annotations

import atexit
import functools
import html
import io
import itertools
import threading
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Sequence

import numpy as np

FIGSIZE = (7.0, 3.6)
DPI = 100  # the inline backend's resolution: the live figure looks as before
CACHE_FRAMES = 256  # frames kept per exploration (a few tens of kB each)
IDLE_SECONDS = 0.15  # prefetch only after the sliders have been still this long
PREFETCH_FRAMES = 48  # settings drawn ahead around the current one
STACKED_FRAMES = 150  # up to this many settings, each has its own Image in the browser
RENDER_LOCK = threading.RLock()  # matplotlib draws one figure at a time (see hold_during_cells)
CONTAIN_CSS = ".bptt-live-picture { contain: strict; overflow: hidden; }"
CAPTION_CLASS = "bptt-live-caption"  # the HTML widget under the figure that describes it
ANNOUNCER_CLASS = "bptt-live-announcer"  # the hidden live region a screen reader reads


def render_png(draw: Callable, values: dict, figsize: tuple[float, float] = FIGSIZE,
               dpi: int = DPI) -> bytes:
    """PNG bytes of ``draw(fig, **values)`` on a fresh off-screen figure (no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=dpi)
    FigureCanvasAgg(fig)
    draw(fig, **values)
    out = io.BytesIO()
    # fast zlib level: the image only travels from the kernel to the browser on this machine
    fig.savefig(out, format="png", dpi=dpi, facecolor="white",
                pil_kwargs={"compress_level": 1})
    return out.getvalue()


_HELD = threading.local()
_STOPPING = threading.Event()  # set at interpreter exit: prefetch threads stop drawing
_WORKERS: set[threading.Thread] = set()


def _stop_prefetching() -> None:
    """At interpreter exit, before Python tears down the modules a drawing needs: stop every
    prefetch thread and wait for the frame it is drawing (else the process can abort)."""
    _STOPPING.set()
    for worker in list(_WORKERS):
        worker.join(timeout=10.0)


atexit.register(_stop_prefetching)


def hold_during_cells() -> None:
    """While a cell runs, the kernel's main thread holds RENDER_LOCK: the cell's own figures
    (pyplot, the inline backend) are never drawn while the prefetch thread draws one (matplotlib,
    its mathtext parser included, is not thread-safe). Registered once per kernel."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None or getattr(shell, "_bptt_live_hold", False):
        return

    def before(*_):
        if not getattr(_HELD, "on", False):
            RENDER_LOCK.acquire()
            _HELD.on = True

    def after(*_):
        if getattr(_HELD, "on", False):
            _HELD.on = False
            RENDER_LOCK.release()

    shell.events.register("pre_run_cell", before)
    shell.events.register("post_run_cell", after)
    shell._bptt_live_hold = True
    before()  # this very cell is running now


@functools.cache
def titled_image() -> type:
    """``ipywidgets.Image`` whose ``tooltip`` becomes the ``<img>``'s title, its accessible name.

    The browser side of every widget sets the title only when the model's ``description`` is
    empty, and reads ``description.length`` to find out: an Image has no ``description``, so a
    plain Image with a tooltip fails to render (the exploration showed nothing at all). This one
    syncs an empty ``description``, and nothing else changes.
    """
    import ipywidgets as widgets
    from traitlets import Unicode

    class TitledImage(widgets.Image):
        description = Unicode("").tag(sync=True)

    return TitledImage


ANNOUNCER_ESM = """
export default {
  render({ model, el }) {
    // one polite live region for the life of the view, visually hidden (the caption shows the
    // same words): a screen reader reads each new text put into it. Empty until the first
    // move, as on the website: the words of the first frame are the caption and image title.
    const said = document.createElement("div");
    said.setAttribute("role", "status");
    said.setAttribute("aria-live", "polite");
    said.setAttribute("aria-atomic", "true");
    said.style.cssText = "position: absolute; width: 1px; height: 1px; overflow: hidden; " +
      "clip: rect(0 0 0 0); white-space: nowrap";
    const say = () => { said.textContent = model.get("text"); };  // text, never markup
    model.on("change:text", say);
    el.appendChild(said);
    return () => model.off("change:text", say);
  },
};
"""


@functools.cache
def announcer_class() -> type | None:
    """The live region's widget class (an anywidget whose region stays in the page), or None
    without anywidget: then the caption itself is the live region, re-rendered on each move."""
    try:
        import anywidget
    except ImportError:
        return None
    from traitlets import Unicode

    class Announcer(anywidget.AnyWidget):
        _esm = ANNOUNCER_ESM
        text = Unicode("").tag(sync=True)  # the words to read out: the frame's description

    return Announcer


def caption_html(text: str, live: bool) -> str:
    """The caption's HTML: the description, escaped; a polite live region when ``live``."""
    region = ' role="status" aria-live="polite" aria-atomic="true"' if live else ""
    return (f'<div{region} style="white-space: normal; line-height: 1.4; '
            f'margin: 0.3em 0 0.5em">{html.escape(text)}</div>')


def in_kernel() -> bool:
    """True inside a Jupyter kernel (not in a plain script or a test run)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class LiveExplorer:
    """Sliders over fixed grids and one image that shows ``draw(fig, **values)``.

    draw: ``draw(fig, **values)`` draws into an empty figure. names, grids, initial: one slider
    per name over its grid of values, starting at ``initial``. alt: a text alternative, a string
    or ``alt(**values) -> str`` (checked as in :func:`bptt_core.interactive.frame_alt`), shown
    in ``caption`` under the figure (``said`` is its text), read out after each move by
    ``announcer``'s polite live region (None without anywidget: the caption is the region),
    and as each image's title; None: no description (only for tests of the mechanics).
    ``widget`` is what to display;
    ``latencies`` holds the seconds each move took in the kernel, and ``hits`` how many moves
    found their frame in the cache. prefetch: draw the neighbours of the shown frame in the
    background (None: only in a Jupyter kernel, where a reader moves the sliders).
    """

    def __init__(self, draw: Callable, names: Sequence[str], grids: Sequence[list],
                 initial: Sequence, alt: str | Callable[..., str] | None = None,
                 figsize: tuple[float, float] = FIGSIZE, dpi: int = DPI,
                 prefetch: bool | None = None):
        import ipywidgets as widgets

        if not callable(draw):
            raise ValueError(f"draw: expected a function draw(fig, **values), got "
                             f"{type(draw).__name__}")
        if not (len(names) == len(grids) == len(initial)) or not names:
            raise ValueError(f"names, grids, initial: expected one of each per slider, got "
                             f"{len(names)}, {len(grids)}, {len(initial)}")
        self.draw, self.alt, self.figsize, self.dpi = draw, alt, figsize, dpi
        self.names, self.grids = list(names), [list(g) for g in grids]
        self.cache: OrderedDict[tuple[int, ...], bytes] = OrderedDict()
        self.latencies: list[float] = []
        self.hits = 0
        self._last_move = 0.0
        self._prefetch_queue: list[tuple[int, ...]] = []
        self._cache_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self._last_step: tuple[int, ...] | None = None
        self._single = None
        self.prefetch = in_kernel() if prefetch is None else prefetch
        if self.prefetch and in_kernel():
            hold_during_cells()
        self.sliders = [
            widgets.SelectionSlider(options=grid, value=value, description=name,
                                    continuous_update=True, layout=widgets.Layout(width="60%"),
                                    style={"description_width": "initial"})
            for name, grid, value in zip(self.names, self.grids, initial)
        ]
        position = self._shown = self.position()
        self.images: dict[tuple[int, ...], object] = {}
        self._links: list = []
        shape = [len(g) for g in self.grids]
        width, height = (round(v * dpi) for v in figsize)
        # what the frame shows, in words: checked (a bad alt fails here) before anything is drawn
        said = self.describe(position)
        announcer = announcer_class()
        self.announcer = None if announcer is None else announcer()
        self.said = said  # the caption's text: what the frame shown shows, in words
        self.caption = widgets.HTML(caption_html(said, live=self.announcer is None),
                                    layout=widgets.Layout(max_width=f"{width}px"))
        self.caption.add_class(CAPTION_CLASS)
        if int(np.prod(shape)) <= STACKED_FRAMES:
            picture = self._stack((), shape)
        else:  # too many settings for one image each: one image whose value the kernel swaps
            self._single = titled_image()(format="png", layout=widgets.Layout(max_width="100%"))
            picture = self._single
        self._show(position, self.frame(position), said)
        self.errors = widgets.HTML()  # a failing draw's traceback, empty otherwise
        for slider in self.sliders:
            slider.observe(self._moved, names="index")
        # The picture has the figure's size and is contained (CSS): swapping its image is
        # laid out and painted inside it, never as a change of the whole notebook's page.
        style = widgets.HTML(f"<style>{CONTAIN_CSS}</style>",
                             layout=widgets.Layout(display="none"))
        hidden = [style] if self.announcer is None else [style, self.announcer]
        if self.announcer is not None:
            self.announcer.add_class(ANNOUNCER_CLASS)
        frame = widgets.Box([picture, *hidden], layout=widgets.Layout(width=f"{width}px",
                                                                      height=f"{height}px"))
        frame.add_class("bptt-live-picture")
        self.widget = widgets.VBox([*self.sliders, frame, self.caption, self.errors])
        self._schedule_prefetch(position)

    def _stack(self, prefix: tuple[int, ...], shape: list[int]):
        """Nested Stacks of one Image per setting; each slider picks in the browser (jslink)."""
        import ipywidgets as widgets

        depth = len(prefix)
        if depth == len(shape):
            image = titled_image()(format="png", layout=widgets.Layout(max_width="100%"))
            self.images[prefix] = image
            return image
        stack = widgets.Stack([self._stack(prefix + (i,), shape) for i in range(shape[depth])],
                              selected_index=self._shown[depth])
        self._links.append(widgets.jslink((self.sliders[depth], "index"),
                                          (stack, "selected_index")))
        return stack

    @property
    def image(self):
        """The Image widget that shows the current setting."""
        return self.images.get(self.position()) or self._single

    def _say(self, text: str) -> None:
        """Show ``text`` under the figure and have a screen reader read it."""
        self.said = text
        self.caption.value = caption_html(text, live=self.announcer is None)
        if self.announcer is not None:
            self.announcer.text = text

    def _show(self, position: tuple[int, ...], png: bytes, title: str) -> None:
        """Put a frame where the browser shows it (its own Image, or the single one), with
        ``title``, its description, as the image's accessible name."""
        image = self.images.get(position)
        if image is None:
            if position != self.position():
                return  # a prefetched frame with nowhere to go yet: kept in the cache
            image = self._single
        if bytes(image.value) != png:
            image.value = png
        if image.tooltip != title:
            image.tooltip = title

    def position(self) -> tuple[int, ...]:
        return tuple(int(slider.index) for slider in self.sliders)

    def values(self, position: Sequence[int]) -> dict:
        return {name: grid[i] for name, grid, i in zip(self.names, self.grids, position)}

    def describe(self, position: Sequence[int]) -> str:
        """What the frame at ``position`` shows, in words (``alt`` for its slider values)."""
        from .interactive import frame_alt

        return "" if self.alt is None else frame_alt(self.alt, self.values(position))

    def frame(self, position: tuple[int, ...]) -> bytes:
        """The PNG for the sliders at ``position`` (indices into the grids), cached."""
        with self._cache_lock:
            if position in self.cache:
                self.cache.move_to_end(position)
                return self.cache[position]
        with RENDER_LOCK:  # one figure drawn at a time: matplotlib is not thread-safe
            with self._cache_lock:  # drawn by the other thread while this one waited?
                if position in self.cache:
                    return self.cache[position]
            png = render_png(self.draw, self.values(position), self.figsize, self.dpi)
        with self._cache_lock:
            self.cache[position] = png
            while len(self.cache) > CACHE_FRAMES:
                self.cache.popitem(last=False)
        return png

    def _moved(self, change) -> None:
        start = time.perf_counter()
        self._last_move = time.monotonic()
        position = self.position()
        self._last_step = tuple(a - b for a, b in zip(position, self._shown))
        self._shown = position
        if position in self.cache:
            self.hits += 1
        failed = ""  # what went wrong for this setting, said under the figure
        try:  # the words first: a screen reader hears them while the frame is on its way
            said = self.describe(position)
        except Exception:  # an alt that fails for one setting: no stale words, the reason
            said = ""
            failed = f"alt failed for {self.values(position)}:\n{traceback.format_exc()}"
        self._say(said)
        try:
            png = self.frame(position)
        except Exception:  # a draw that fails for one setting
            failed += f"draw failed for {self.values(position)}:\n{traceback.format_exc()}"
            self.errors.value = f"<pre>{html.escape(failed)}</pre>"
            return
        self._show(position, png, said)
        self.errors.value = f"<pre>{html.escape(failed)}</pre>" if failed else ""
        self.latencies.append(time.perf_counter() - start)
        self._schedule_prefetch(position)

    # -- drawing ahead while the reader looks -------------------------------------------------

    def neighbours(self, position: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The positions one step away on each slider, the nearest moves a reader can make."""
        out = []
        for axis, grid in enumerate(self.grids):
            for step in (1, -1):
                i = position[axis] + step
                if 0 <= i < len(grid):
                    out.append(position[:axis] + (i,) + position[axis + 1:])
        return out

    def ahead(self, position: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The settings to draw ahead, nearest first (steps on the sliders), at most
        ``PREFETCH_FRAMES``; among equally near ones, the way the reader was going first."""
        step = self._last_step or (0,) * len(position)
        settings = itertools.product(*(range(len(g)) for g in self.grids))

        def order(p):
            distance = sum(abs(a - b) for a, b in zip(p, position))
            along = sum((a - b) * s for a, b, s in zip(p, position, step))
            return distance, -along

        return sorted((p for p in settings if p != position), key=order)[:PREFETCH_FRAMES]

    def _schedule_prefetch(self, position: tuple[int, ...]) -> None:
        """Draw the neighbours of ``position`` in a background thread once the reader pauses.

        The kernel's main thread stays free: a move to a cached frame is answered at once,
        even while a neighbour is being drawn (only a move to an unseen frame waits for it).
        """
        if not self.prefetch:
            return
        ahead = self.ahead(position)
        with self._cache_lock:
            self._prefetch_queue = [p for p in ahead if p not in self.cache]
            if not self._prefetch_queue or self._worker is not None:
                return
            if _STOPPING.is_set():
                return
            self._worker = threading.Thread(target=self._prefetch, daemon=True,
                                            name="bptt-live-prefetch")
            _WORKERS.add(self._worker)
        self._worker.start()

    def _prefetch(self) -> None:
        """The worker: draw waiting frames while the sliders are still; end when none is left."""
        while True:
            idle = time.monotonic() - self._last_move
            if idle < IDLE_SECONDS and not _STOPPING.is_set():
                time.sleep(IDLE_SECONDS - idle)
                continue
            with self._cache_lock:
                if not self._prefetch_queue or _STOPPING.is_set():
                    _WORKERS.discard(self._worker)
                    self._worker = None
                    return
                position = self._prefetch_queue.pop(0)
            try:  # on its way to the browser now, with its words
                png = self.frame(position)
                with RENDER_LOCK:  # alt, like draw, never runs while a cell runs
                    title = self.describe(position)
                self._show(position, png, title)
            except Exception:  # noqa: BLE001 - shown when the reader gets there, not now
                pass
            time.sleep(0.01)  # let the kernel's main thread answer a move in between


def live_explorer(draw: Callable, names: Sequence[str], grids: Sequence[list],
                  initial: Sequence, alt: str | Callable[..., str] | None = None) -> object:
    """The widget for one live exploration (see :class:`LiveExplorer`)."""
    return LiveExplorer(draw, names, grids, initial, alt=alt).widget
