"""bptt_core.live: one image per exploration, frames cached and drawn ahead."""

import time

import ipywidgets
import pytest

from bptt_core.live import LiveExplorer


def draw_line(fig, slope, shift=0.0):
    ax = fig.subplots()
    ax.plot([0, 1], [shift, shift + slope], "k-")
    ax.set_ylim(-3, 3)


def make(draw=draw_line, prefetch=True, **kw):
    return LiveExplorer(draw, ["slope", "shift"], [[-1, 0, 1, 2], [0.0, 0.5]], [0, 0.0],
                        prefetch=prefetch, **kw)


def test_a_move_shows_the_new_frame_and_a_move_back_comes_from_the_cache():
    explorer = make()
    first = bytes(explorer.image.value)
    assert first.startswith(b"\x89PNG")
    explorer.sliders[0].value = 1
    assert bytes(explorer.image.value) != first
    explorer.sliders[0].value = 0
    assert bytes(explorer.image.value) == first  # the same bytes: the cached frame, not a redraw
    assert explorer.hits == 1 and len(explorer.latencies) == 2


def test_the_widget_is_sliders_then_the_image():
    box = make().widget
    assert isinstance(box, ipywidgets.VBox)
    kinds = [type(child) for child in box.children]
    assert kinds[:3] == [ipywidgets.SelectionSlider, ipywidgets.SelectionSlider,
                         ipywidgets.Image]


def test_idle_time_draws_the_neighbours_one_step_away():
    explorer = make()
    deadline = time.monotonic() + 10
    while len(explorer.cache) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    # slope -1 and 1 on either side, shift 0.5 above: every reachable one-step move
    assert set(explorer.cache) == {(1, 0), (0, 0), (2, 0), (1, 1)}
    explorer.sliders[0].value = 1  # a prefetched frame: no drawing on the move
    assert explorer.hits == 1


def test_the_way_the_reader_goes_is_drawn_first():
    explorer = make()
    explorer.sliders[0].value = 1  # one step up: index 2
    assert explorer.neighbours((2, 0))[0] == (3, 0)
    assert explorer._prefetch_queue[:1] in ([(3, 0)], [])  # next up first (or already drawn)


def test_outside_a_kernel_nothing_is_drawn_ahead():
    explorer = LiveExplorer(draw_line, ["slope"], [[1, 2, 3]], [2])
    time.sleep(0.5)
    assert set(explorer.cache) == {(1,)}


def test_neighbours_stay_on_the_grid():
    explorer = make()
    assert explorer.neighbours((0, 0)) == [(1, 0), (0, 1)]
    assert explorer.neighbours((3, 1)) == [(2, 1), (3, 0)]


def test_a_draw_that_fails_on_a_move_says_so_under_the_figure():
    def fragile(fig, slope, shift):
        if slope == 2:
            raise RuntimeError("bug in draw")
        draw_line(fig, slope, shift)

    explorer = make(fragile)
    before = explorer.image.value
    explorer.sliders[0].value = 2
    assert explorer.image.value == before  # the last good frame stays
    assert "bug in draw" in explorer.errors.value
    explorer.sliders[0].value = 1
    assert explorer.errors.value == ""


def test_the_tooltip_describes_the_frame():
    explorer = make(alt=lambda slope, shift: f"a line of slope {slope} through {shift}")
    assert explorer.image.tooltip == "a line of slope 0 through 0.0"
    explorer.sliders[1].value = 0.5
    assert explorer.image.tooltip == "a line of slope 0 through 0.5"


def test_bad_arguments_are_refused_by_name():
    with pytest.raises(ValueError, match="draw: expected a function"):
        LiveExplorer("not a function", ["a"], [[1, 2]], [1])
    with pytest.raises(ValueError, match="names, grids, initial"):
        LiveExplorer(draw_line, ["slope"], [[1, 2], [3, 4]], [1])
