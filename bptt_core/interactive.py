"""One way to explore, in Jupyter and on the website: ``explore(draw, **sliders)``.

``draw(fig, **values)`` draws one picture into an empty matplotlib figure. In Jupyter the
call shows live sliders that redraw it. When the book is built (``make book`` sets
``BPTT_STATIC_WIDGETS=1``) the same call precomputes one frame per slider setting and shows a
static slider that swaps frames in the browser, with no kernel behind it. Both use the same
grid of values, so the website shows exactly what Jupyter shows.

A slider is ``(start, stop, step)`` or ``(start, stop, step, initial)`` (``stop`` included),
or an explicit list of values (the first is initial).
"""

from __future__ import annotations

import base64
import hashlib
import html
import inspect
import io
import itertools
import json
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

STATIC_ENV = "BPTT_STATIC_WIDGETS"
MAX_FRAMES = 120
MAX_VALUES = 200  # per slider
FIGSIZE = (7.0, 3.6)


def slider_values(name: str, spec: object) -> tuple[list, object]:
    """The grid of values for one slider and its initial value, or a ValueError naming it."""
    if isinstance(spec, tuple) and len(spec) in (3, 4):
        start, stop, step = spec[:3]
        if not all(isinstance(v, (int, float)) and np.isfinite(v) for v in spec):
            raise ValueError(f"{name}: expected finite numbers (start, stop, step[, initial]), "
                             f"got {spec!r}")
        if step <= 0 or stop < start:
            raise ValueError(f"{name}: expected step > 0 and stop >= start, got {spec!r}")
        count = int(np.floor((stop - start) / step + 1e-9)) + 1
        if count > MAX_VALUES:
            raise ValueError(f"{name}: expected at most {MAX_VALUES} values, got {count} from "
                             f"{spec!r}; use a larger step")
        integral = all(isinstance(v, int) for v in spec[:3])
        values = [start + i * step if integral else round(start + i * step, 10)
                  for i in range(count)]
        if count < 2:
            raise ValueError(f"{name}: expected a range with at least 2 values, got {spec!r}")
        initial = spec[3] if len(spec) == 4 else values[0]
        if not any(np.isclose(initial, v) for v in values):
            raise ValueError(f"{name}: expected the initial value on the grid {values}, "
                             f"got {initial!r}")
        initial = min(values, key=lambda v: abs(v - initial))
        return values, initial
    if isinstance(spec, (list, np.ndarray)) and len(spec) > 1:
        values = list(spec)
        return values, values[0]
    raise ValueError(f"{name}: expected (start, stop, step), (start, stop, step, initial) or "
                     f"a list of at least 2 values, got {spec!r}")


def render_frame(draw: Callable, values: dict, figsize: tuple[float, float] = FIGSIZE,
                 dpi: int = 80, colours: int = 64) -> bytes:
    """PNG bytes of draw(fig, **values) on a fresh figure, reduced to a palette of ``colours``.

    Line plots survive the palette unharmed and the frames get about three times smaller,
    which matters on a page that carries dozens of them.
    """
    import matplotlib.pyplot as plt
    from PIL import Image  # Pillow comes with matplotlib

    fig = plt.figure(figsize=figsize)
    try:
        draw(fig, **values)
        raw = io.BytesIO()
        fig.savefig(raw, format="png", dpi=dpi)
    finally:
        plt.close(fig)
    image = Image.open(raw).convert("RGB").quantize(colors=colours,
                                                     method=Image.Quantize.MEDIANCUT)
    small = io.BytesIO()
    image.save(small, format="PNG", optimize=True)
    return small.getvalue()


@dataclass
class StaticExplorer:
    """Precomputed frames with a range input per slider; shows itself as HTML."""

    names: list[str]
    grids: list[list]
    initial: list[int]
    frames: list[str]  # base64 PNGs in row-major order over the grids
    seconds_per_frame: float
    alts: list[str]  # the text alternative of each frame, same order as frames

    def frame_index(self, positions: Sequence[int]) -> int:
        """The frame shown when slider i sits at positions[i] (row-major, like the JS)."""
        return int(np.ravel_multi_index(tuple(positions), [len(g) for g in self.grids]))

    def _repr_html_(self) -> str:
        """A range input per slider, the initial frame, and a script that swaps frames.

        Accessible by keyboard and screen reader: each input has a label (the slider's name),
        arrow keys move it, ``aria-valuetext`` says the value it stands for ("t = 3", not the
        position "2"), the frame's ``alt`` says what this frame shows, and a polite live
        region reads the new frame's description after each move.
        """
        data = json.dumps({"grids": [[str(v) for v in g] for g in self.grids],
                           "frames": self.frames, "alts": self.alts})
        data = data.replace("<", "\\u003c")  # no "</script>" can end the script block early
        # the same figure gives the same id, so that rebuilding the book changes nothing
        uid = "bptt-explore-" + hashlib.sha1(data.encode()).hexdigest()[:12]
        controls = []
        for i, (name, grid, start) in enumerate(zip(self.names, self.grids, self.initial)):
            field, value = html.escape(name), html.escape(str(grid[start]))
            controls.append(
                f'<div class="bptt-explore-control" style="font-family:monospace">'
                f'<label for="{uid}-{i}">{field}</label> '
                f'<input type="range" min="0" max="{len(grid) - 1}" step="1" value="{start}" '
                f'id="{uid}-{i}" data-slider="{field}" aria-valuetext="{field} = {value}" '
                f'style="width:60%;max-width:24em;vertical-align:middle"> '
                f'<output for="{uid}-{i}">{value}</output></div>'
            )
        first = self.frame_index(self.initial)
        sliders = "the slider" if len(self.names) == 1 else "the sliders"
        return f"""<div class="bptt-explore" id="{uid}" role="group"
 aria-label="Exploration: move {sliders} to change the figure">
{''.join(controls)}
<img class="bptt-explore-frame" alt="{html.escape(self.alts[first])}" style="max-width:100%"
 src="data:image/png;base64,{self.frames[first]}">
<div class="bptt-explore-said" aria-live="polite" style="position:absolute;width:1px;height:1px;
 overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap"></div>
<script type="application/json" class="bptt-explore-data">{data}</script>
<script>
(function () {{
  var root = document.getElementById("{uid}");
  var data = JSON.parse(root.querySelector(".bptt-explore-data").textContent);
  var inputs = root.querySelectorAll("input[type=range]");
  var img = root.querySelector("img.bptt-explore-frame");
  var said = root.querySelector(".bptt-explore-said");
  function show(event) {{
    var index = 0;
    inputs.forEach(function (input, i) {{
      var position = parseInt(input.value, 10);
      var value = data.grids[i][position];
      index = index * data.grids[i].length + position;
      input.nextElementSibling.textContent = value;
      input.setAttribute("aria-valuetext", input.dataset.slider + " = " + value);
    }});
    img.src = "data:image/png;base64," + data.frames[index];
    img.alt = data.alts[index];
    img.dataset.frame = index;
    if (event) said.textContent = data.alts[index];  // read out after a move, not on load
  }}
  inputs.forEach(function (input) {{ input.addEventListener("input", show); }});
  show();  // a browser may restore slider positions on reload: show the matching frame
}})();
</script>
</div>"""


def dead_sliders(names: Sequence[str], grids: Sequence[list], frames: list[str]) -> list[str]:
    """The sliders whose movement never changes the frame, whatever the others show."""
    shaped = np.array(frames, dtype=object).reshape([len(g) for g in grids])
    dead = []
    for axis, name in enumerate(names):
        first = np.take(shaped, 0, axis=axis)
        if all(np.all(np.take(shaped, j, axis=axis) == first)
               for j in range(1, shaped.shape[axis])):
            dead.append(name)
    return dead


def frame_alt(alt: object, values: dict | None) -> str:
    """The text alternative of the frame drawn for ``values`` (None: only check ``alt``)."""
    if isinstance(alt, str):
        text = alt
    elif callable(alt):
        if values is None:
            return ""
        try:
            inspect.signature(alt).bind(**values)
        except TypeError as error:  # not a function of these sliders (a builtin: just call it)
            raise ValueError(f"alt: expected a function of the slider values "
                             f"({', '.join(values)}), got {alt!r}: {error}") from None
        except ValueError:  # no signature to read
            pass
        text = alt(**values)
    else:
        raise ValueError(f"alt: expected a string or a function of the slider values that "
                         f"describes the figure, got {type(alt).__name__}")
    if not isinstance(text, str) or len(text.strip()) < 10:
        raise ValueError(f"alt: expected a description of what the figure shows (at least 10 "
                         f"characters), got {text!r}")
    return text


def explore(draw: Callable, *, alt: str | Callable[..., str], mode: str | None = None,
            **sliders: object) -> object:
    """Sliders that redraw ``draw(fig, **values)``: live in Jupyter, static on the website.

    mode: "live" (ipywidgets), "static" (precomputed frames) or None: static when the
    environment variable BPTT_STATIC_WIDGETS is 1, live otherwise.
    alt: what the figure shows, for readers who cannot see it: a string, or better a function
    ``alt(**values) -> str`` that describes the frame for the sliders' current values (each
    static frame gets its own text; in Jupyter, a caption under the figure shows the text of
    the frame shown and a screen reader reads it after each move). Returns the object to
    display (a widget, or a StaticExplorer with the frames).
    """
    frame_alt(alt, None)  # a bad alt fails now, not after every frame is drawn
    if not sliders:
        raise ValueError("sliders: expected at least one slider, e.g. scale=(0.1, 2.0, 0.1)")
    if mode is None:
        mode = "static" if os.environ.get(STATIC_ENV) == "1" else "live"
    if mode not in ("live", "static"):
        raise ValueError(f"mode: expected 'live', 'static' or None, got {mode!r}")
    names = list(sliders)
    grids, initial = zip(*(slider_values(name, spec) for name, spec in sliders.items()))
    frame_alt(alt, dict(zip(names, initial)))  # and a bad alt function, before any drawing
    frames_needed = int(np.prod([len(g) for g in grids]))
    if mode == "static":
        if frames_needed > MAX_FRAMES:
            raise ValueError(f"sliders: expected at most {MAX_FRAMES} combinations for a "
                             f"static page, got {frames_needed}; use coarser steps")
        start = time.perf_counter()
        combos = [dict(zip(names, combo)) for combo in itertools.product(*grids)]
        frames = [base64.b64encode(render_frame(draw, values)).decode() for values in combos]
        alts = [frame_alt(alt, values) for values in combos]
        seconds = (time.perf_counter() - start) / len(frames)
        dead = dead_sliders(names, grids, frames)
        if dead:
            raise ValueError(f"sliders: expected every slider to change the figure, but moving "
                             f"{', '.join(dead)} never does; does draw() use it?")
        return StaticExplorer(names, [list(g) for g in grids],
                              [g.index(v) for g, v in zip(grids, initial)], frames, seconds,
                              alts)
    return _live(draw, names, grids, initial, alt=alt)


def _live(draw: Callable, names: list[str], grids: Sequence[list], initial: Sequence,
          alt: str | Callable[..., str] | None = None):
    # one persistent image per exploration, cached frames, drawn ahead while idle, and under
    # it the frame's alt as a caption that a screen reader reads after each move (live.py)
    from .live import live_explorer

    return live_explorer(draw, names, grids, initial, alt=alt)
