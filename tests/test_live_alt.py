"""Live explorations in Jupyter carry their text alternative, as the website's frames do.

Without a browser: the widget ``explore(...)`` returns in a kernel has, under the figure, a
caption with the escaped alt of the frame shown that follows the sliders, a polite live region
that a screen reader reads after each move, and each image's title is its frame's alt. The
live region is a hidden anywidget that stays in the page (as the website's); without
anywidget, the caption itself. Every test runs both ways. tests/test_lab.py checks JupyterLab.
"""

from __future__ import annotations

import html
import re
import time

import ipywidgets
import pytest

from bptt_core import live as live_module
from bptt_core.interactive import explore
from bptt_core.live import ANNOUNCER_CLASS, CAPTION_CLASS, LiveExplorer

LIVE_REGION = '<div role="status" aria-live="polite" aria-atomic="true"'


@pytest.fixture(autouse=True, params=["anywidget", "html"])
def region(request, monkeypatch):
    """Each test twice: the live region an anywidget, and (without anywidget) the caption."""
    if request.param == "anywidget":
        pytest.importorskip("anywidget", reason="anywidget is not installed (requirements.txt)")
        assert live_module.announcer_class() is not None
    else:
        monkeypatch.setattr(live_module, "announcer_class", lambda: None)
    return request.param


def draw_line(fig, slope, shift):
    ax = fig.subplots()
    ax.plot([0, 1], [shift, shift + slope], "k-")
    ax.set_ylim(-3, 4)


def line_alt(slope, shift):
    # "<" and "&" must reach the page as text, not as markup
    return f"a line of slope {slope} & shift {shift}, <steep> when slope > 1"


def live(alt=line_alt, draw=draw_line):
    return explore(draw, alt=alt, mode="live", slope=[-1, 0, 1, 2], shift=[0.0, 0.5])


def caption_of(box: ipywidgets.VBox) -> ipywidgets.HTML:
    captions = [child for child in box.children if CAPTION_CLASS in child._dom_classes]
    assert len(captions) == 1, [type(child).__name__ for child in box.children]
    assert isinstance(captions[0], ipywidgets.HTML)
    return captions[0]


def announcer_of(box: ipywidgets.VBox):
    """The hidden live region's widget (in the picture's box), None when the caption is it."""
    found = [child for child in box.children[len(sliders_of(box))].children
             if ANNOUNCER_CLASS in child._dom_classes]
    assert len(found) <= 1
    return found[0] if found else None


def said(caption: ipywidgets.HTML) -> str:
    """The words the caption shows: its text, unescaped."""
    match = re.fullmatch(r'<div( [^>]*)?>(.*)</div>', caption.value, re.S)
    assert match, f"not one block of text: {caption.value!r}"
    assert "<" not in match.group(2), "the alt reached the page as markup"
    return html.unescape(match.group(2))


def read_out(box: ipywidgets.VBox) -> str:
    """What a screen reader is given to read in the polite live region (checked to be one)."""
    announcer = announcer_of(box)
    if announcer is None:  # the caption is the live region
        caption = caption_of(box)
        assert caption.value.startswith(LIVE_REGION), caption.value
        return said(caption)
    assert LIVE_REGION not in caption_of(box).value  # one region: the words are read once
    # the anywidget's script makes one region that stays, and puts the words in as text
    script = announcer.get_state()["_esm"]
    for line in ('said.setAttribute("role", "status");',
                 'said.setAttribute("aria-live", "polite");',
                 'said.textContent = model.get("text");', 'model.on("change:text", say);'):
        assert line in script, f"the live region's script lacks {line}"
    assert "innerHTML" not in script
    return announcer.text


def sliders_of(box: ipywidgets.VBox) -> list[ipywidgets.SelectionSlider]:
    return [child for child in box.children if isinstance(child, ipywidgets.SelectionSlider)]


def shown_image(box: ipywidgets.VBox) -> ipywidgets.Image:
    """The Image the browser shows: at each Stack, the child its slider picks (jslink)."""
    picture = box.children[len(sliders_of(box))].children[0]
    for slider in sliders_of(box):
        assert isinstance(picture, ipywidgets.Stack)
        picture = picture.children[slider.index]
    return picture


def test_the_caption_under_the_figure_is_the_escaped_alt_of_the_frame_shown():
    box = live()
    caption = caption_of(box)
    assert box.children.index(caption) == len(sliders_of(box)) + 1  # right under the picture
    assert said(caption) == line_alt(-1, 0.0)
    assert html.escape(line_alt(-1, 0.0)) in caption.value


def test_a_move_is_read_out_in_a_polite_live_region(region):
    box = live()
    # before any move: the anywidget's region is empty, as on the website (not read on load)
    assert read_out(box) == ("" if region == "anywidget" else line_alt(-1, 0.0))
    slope, shift = sliders_of(box)
    slope.value = 2
    assert read_out(box) == line_alt(2, 0.0)
    shift.value = 0.5
    assert read_out(box) == line_alt(2, 0.5)


def test_the_caption_follows_the_sliders():
    box = live()
    slope, shift = sliders_of(box)
    slope.value = 2
    assert said(caption_of(box)) == line_alt(2, 0.0)
    shift.value = 0.5
    assert said(caption_of(box)) == line_alt(2, 0.5)
    slope.value = 0
    assert said(caption_of(box)) == line_alt(0, 0.5)


def test_each_image_is_titled_with_its_frames_alt():
    box = live()
    slope, _ = sliders_of(box)
    assert shown_image(box).tooltip == line_alt(-1, 0.0)
    slope.value = 1
    assert shown_image(box).tooltip == line_alt(1, 0.0)


def test_a_titled_image_syncs_an_empty_description():
    # the browser side sets an element's title only after reading description.length; an Image
    # has no description, so a plain Image with a tooltip never rendered in JupyterLab
    state = shown_image(live()).get_state()
    assert state["description"] == "" and state["tooltip"] == line_alt(-1, 0.0)
    assert state["_model_name"] == "ImageModel"  # the stock browser model, nothing to install


def test_the_alt_function_is_called_with_the_slider_values():
    calls = []

    def alt(slope, shift):
        calls.append({"slope": slope, "shift": shift})
        return line_alt(slope, shift)

    box = LiveExplorer(draw_line, ["slope", "shift"], [[-1, 0, 1, 2], [0.0, 0.5]], [1, 0.5],
                       alt=alt, prefetch=False).widget
    assert calls[0] == {"slope": 1, "shift": 0.5}
    sliders_of(box)[0].value = 2
    assert calls[-1] == {"slope": 2, "shift": 0.5}


def test_a_string_alt_describes_every_frame():
    text = "a straight line whose slope and shift the sliders set"
    box = live(alt=text)
    sliders_of(box)[0].value = 2
    assert said(caption_of(box)) == text and shown_image(box).tooltip == text


@pytest.mark.parametrize("alt", [
    None, "", "figure", 3,  # no description, or far too short to be one
    lambda slope, shift: "",  # a function that describes nothing
    lambda slope: "a line of the given slope",  # not a function of these sliders
])
def test_a_bad_alt_is_refused_by_name_before_anything_is_drawn(alt):
    drawn = []

    def draw(fig, slope, shift):
        drawn.append(slope)
        draw_line(fig, slope, shift)

    with pytest.raises(ValueError, match=r"^alt: expected"):
        live(alt=alt, draw=draw)
    assert drawn == []


def test_an_alt_that_fails_for_one_setting_says_so_and_leaves_no_stale_words():
    def alt(slope, shift):
        if slope == 2:
            return "steep"  # too short to describe anything
        return line_alt(slope, shift)

    explorer = LiveExplorer(draw_line, ["slope", "shift"], [[-1, 0, 1, 2], [0.0, 0.5]],
                            [1, 0.0], alt=alt, prefetch=False)
    explorer.sliders[0].value = 2
    assert said(explorer.caption) == "" == explorer.said  # not the previous frame's words
    assert read_out(explorer.widget) == ""
    assert "alt failed" in explorer.errors.value and "at least 10" in explorer.errors.value
    assert bytes(explorer.image.value).startswith(b"\x89PNG")  # the frame is still drawn
    explorer.sliders[0].value = 0
    assert said(explorer.caption) == line_alt(0, 0.0) == explorer.said
    assert explorer.errors.value == ""


def test_frames_drawn_ahead_arrive_with_their_words():
    explorer = LiveExplorer(draw_line, ["slope", "shift"], [[-1, 0, 1, 2], [0.0, 0.5]],
                            [0, 0.0], alt=line_alt, prefetch=True)
    deadline = time.monotonic() + 20
    while len(explorer.cache) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(explorer.cache) == 8  # every setting drawn ahead, in the background
    titles = {p: image.tooltip for p, image in explorer.images.items()}
    assert titles == {p: line_alt(**explorer.values(p)) for p in explorer.images}
