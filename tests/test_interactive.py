"""explore(): one call, live sliders in Jupyter, working static sliders on the website."""

from __future__ import annotations

import base64
import json
import re

import ipywidgets
import numpy as np
import pytest

from bptt_core.interactive import StaticExplorer, explore, slider_values

ALT = "a straight line whose slope and shift the sliders set"


def draw_line(fig, slope, shift):
    ax = fig.subplots()
    x = np.linspace(0, 1, 5)
    ax.plot(x, slope * x + shift)
    ax.set_ylim(-3, 3)


def test_slider_grids_include_the_stop_and_the_initial_value():
    assert slider_values("s", (0.25, 2.0, 0.25, 0.75)) == (
        [0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75, 2.0], 0.75)
    assert slider_values("n", (1, 5, 2)) == ([1, 3, 5], 1)
    assert slider_values("c", ["a", "b"]) == (["a", "b"], "a")


@pytest.mark.parametrize("spec, fragment", [
    ((1.0, 0.0, 0.1), "stop >= start"),
    ((0.0, 1.0, 0.0), "step > 0"),
    ((0.0, 1.0, 0.5, 0.3), "initial value on the grid"),
    ((0.0, 0.1, 0.5), "at least 2 values"),
    ([3.0], "at least 2 values"),
    ("fast", "(start, stop, step)"),
])
def test_bad_slider_specs_name_the_slider(spec, fragment):
    with pytest.raises(ValueError) as error:
        slider_values("speed", spec)
    assert str(error.value).startswith("speed: expected") and fragment in str(error.value)


def test_static_explorer_has_one_distinct_frame_per_setting_in_row_major_order():
    result = explore(draw_line, alt=ALT, mode="static", slope=(-2, 2, 1, 1), shift=[0.0, 0.5])
    assert isinstance(result, StaticExplorer)
    assert len(result.frames) == 10 and len(set(result.frames)) == 10
    assert result.initial == [3, 0]
    # frame_index agrees with the order in which explore rendered the frames
    again = explore(draw_line, alt=ALT, mode="static", slope=[1, -2], shift=[0.5, 0.0])
    assert again.frames[again.frame_index([0, 0])] == result.frames[result.frame_index([3, 1])]
    assert again.frames[again.frame_index([1, 1])] == result.frames[result.frame_index([0, 0])]
    assert base64.b64decode(result.frames[0]).startswith(b"\x89PNG")


def test_static_html_carries_inputs_the_frames_and_the_script():
    html = explore(draw_line, alt=ALT, mode="static", slope=(-2, 2, 1, 1),
                   shift=[0.0, 0.5])._repr_html_()
    inputs = re.findall(r'<input type="range" min="0" max="(\d+)" step="1" value="(\d+)"', html)
    assert inputs == [("4", "3"), ("1", "0")]
    data = json.loads(re.search(r'class="bptt-explore-data">(.*?)</script>', html).group(1))
    assert data["grids"] == [["-2", "-1", "0", "1", "2"], ["0.0", "0.5"]]
    assert len(data["frames"]) == 10
    assert 'addEventListener("input", show)' in html
    # the script's row-major index: index = index * len(grid_i) + position_i
    assert "index = index * data.grids[i].length + position" in html


def test_a_slider_that_changes_nothing_is_refused():
    def ignores_shift(fig, slope, shift):
        draw_line(fig, slope, 0.0)

    with pytest.raises(ValueError, match="moving shift never does"):
        explore(ignores_shift, alt=ALT, mode="static", slope=[1, 2], shift=[0.0, 1.0])


def test_static_mode_follows_the_environment(monkeypatch):
    monkeypatch.setenv("BPTT_STATIC_WIDGETS", "1")
    assert isinstance(explore(draw_line, alt=ALT, slope=[1, 2], shift=[0.0, 1.0]), StaticExplorer)
    monkeypatch.setenv("BPTT_STATIC_WIDGETS", "0")
    assert isinstance(explore(draw_line, alt=ALT, slope=[1, 2], shift=[0.0, 1.0]), ipywidgets.VBox)


def test_live_sliders_redraw_with_the_new_value():
    seen = []

    def record(fig, slope, shift):
        seen.append((slope, shift))
        draw_line(fig, slope, shift)

    box = explore(record, alt=ALT, mode="live", slope=(-2, 2, 1, 1), shift=[0.0, 0.5])
    sliders = [child for child in box.children if isinstance(child, ipywidgets.SelectionSlider)]
    assert [s.description for s in sliders] == ["slope", "shift"]
    assert seen == [(1, 0.0)]
    sliders[0].value = -2
    sliders[1].value = 0.5
    assert seen == [(1, 0.0), (-2, 0.0), (-2, 0.5)]


def test_too_many_frames_for_a_static_page_is_refused():
    with pytest.raises(ValueError, match="sliders: expected at most"):
        explore(draw_line, alt=ALT, mode="static", slope=(0, 20, 1), shift=(0, 10, 1))


def test_slider_values_cannot_break_out_of_the_script_block():
    def draw_label(fig, label):
        fig.subplots().set_title(label)

    html = explore(draw_label, alt=ALT, mode="static",
                   label=["</script><b>x", "plain"])._repr_html_()
    data = re.search(r'class="bptt-explore-data">(.*?)</script>', html, re.S).group(1)
    assert "</script>" not in data and "<" not in data
    assert json.loads(data)["grids"] == [["</script><b>x", "plain"]]


def test_the_page_shows_the_frame_of_the_restored_slider_positions():
    html = explore(draw_line, alt=ALT, mode="static", slope=[1, 2], shift=[0.0, 1.0])._repr_html_()
    assert html.rstrip().endswith("show();  // a browser may restore slider positions on "
                                  "reload: show the matching frame\n})();\n</script>\n</div>")


def test_static_html_is_the_same_on_every_build():
    first = explore(draw_line, alt=ALT, mode="static", slope=[1, 2],
                    shift=[0.0, 1.0])._repr_html_()
    second = explore(draw_line, alt=ALT, mode="static", slope=[1, 2],
                     shift=[0.0, 1.0])._repr_html_()
    assert first == second


def test_a_huge_grid_is_refused_before_it_is_built():
    with pytest.raises(ValueError, match="slope: expected at most 200 values"):
        slider_values("slope", (0.0, 1.0, 1e-7))


def test_a_failing_draw_leaves_no_figure_open():
    import matplotlib.pyplot as plt

    def broken(fig, slope):
        fig.subplots()
        raise RuntimeError("bug in draw")

    plt.close("all")
    with pytest.raises(RuntimeError):
        explore(broken, alt=ALT, mode="live", slope=[1, 2])
    assert plt.get_fignums() == []


def test_alt_describes_each_frame_and_the_js_swaps_it():
    def alt(slope, shift):
        return f"a line of slope {slope} shifted by {shift}"

    result = explore(draw_line, alt=alt, mode="static", slope=[1, 2], shift=[0.0, 1.0])
    assert result.alts == [alt(s, h) for s in (1, 2) for h in (0.0, 1.0)]
    html = result._repr_html_()
    assert 'alt="a line of slope 1 shifted by 0.0"' in html
    assert "img.alt = data.alts[index]" in html


@pytest.mark.parametrize("alt", [None, "", "figure", 3, lambda slope, shift: ""])
def test_alt_must_describe_the_figure(alt):
    with pytest.raises(ValueError, match="alt"):
        explore(draw_line, alt=alt, mode="static", slope=[1, 2], shift=[0.0, 1.0])
