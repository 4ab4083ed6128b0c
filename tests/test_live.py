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


def test_the_widget_is_sliders_then_the_picture_then_errors():
    box = make().widget
    assert isinstance(box, ipywidgets.VBox)
    kinds = [type(child) for child in box.children]
    assert kinds == [ipywidgets.SelectionSlider, ipywidgets.SelectionSlider, ipywidgets.Box,
                     ipywidgets.HTML, ipywidgets.HTML]
    assert isinstance(box.children[2].children[0], ipywidgets.Stack)
    assert box.children[2].layout.height == "360px"  # the figure's size: FIGSIZE at DPI


def test_each_setting_has_its_image_and_each_slider_picks_in_the_browser():
    explorer = make()
    outer = explorer.widget.children[2].children[0]
    assert len(outer.children) == 4 and all(len(inner.children) == 2 for inner in outer.children)
    assert outer.children[1].children[0] is explorer.images[(1, 0)]
    links = [(link.source, link.target) for link in explorer._links]
    assert (explorer.sliders[0], "index") in [src for src, _ in links]
    assert all(dst[0] in outer.children or dst[0] is outer for _, dst in links)
    assert len(links) == 1 + 4  # slope picks the outer stack, shift every inner one


def test_too_many_settings_share_one_image():
    explorer = LiveExplorer(draw_line, ["slope", "shift"], [list(range(20)), list(range(10))],
                            [0, 0], prefetch=False)
    assert isinstance(explorer.widget.children[2].children[0], ipywidgets.Image)
    assert not explorer.images
    first = bytes(explorer.image.value)
    explorer.sliders[0].value = 3
    assert bytes(explorer.image.value) != first


def test_idle_time_draws_the_other_settings_and_sends_them():
    explorer = make()
    deadline = time.monotonic() + 20
    while len(explorer.cache) < 8 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(explorer.cache) == 8  # every setting: there are fewer than PREFETCH_FRAMES
    assert all(bytes(explorer.images[p].value) == explorer.cache[p] for p in explorer.cache)
    explorer.sliders[0].value = 1  # a prefetched frame: no drawing on the move
    assert explorer.hits == 1


def test_the_nearest_settings_are_drawn_first_and_the_way_the_reader_goes():
    explorer = make(prefetch=False)
    assert set(explorer.ahead((1, 0))[:3]) == {(0, 0), (2, 0), (1, 1)}  # one step away
    explorer.sliders[0].value = 1  # one step up the slope: index 2
    assert explorer.ahead((2, 0))[0] == (3, 0)  # the next step up comes first
    assert len(explorer.ahead((2, 0))) == 7  # every other setting: fewer than the cap


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
    explorer.sliders[0].value = 2
    assert bytes(explorer.image.value) == b""  # nothing drawn for this setting
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


def test_the_interpreter_exits_cleanly_while_frames_are_drawn_ahead():
    # a prefetch thread still drawing when Python shuts down used to abort the process
    # ("terminate called without an active exception", exit code 134)
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent("""
        import time
        from bptt_core.live import LiveExplorer

        def draw(fig, slope):
            ax = fig.subplots()
            for k in range(40):
                ax.plot([0, 1], [0, slope + k], label=f"$a_{{{k}}}$")
            ax.legend()

        explorer = LiveExplorer(draw, ["slope"], [list(range(60))], [0], prefetch=True)
        explorer.sliders[0].value = 1
        time.sleep(float(sys.argv[1]))  # the worker is drawing neighbours now
    """)
    for pause in ("0.2", "0.3", "0.5"):  # exits at different moments of a drawing
        done = subprocess.run([sys.executable, "-c", "import sys\n" + script, pause],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (pause, done.stderr[-2000:])
