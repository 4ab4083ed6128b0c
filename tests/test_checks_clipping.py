"""The clipping self-check names each mistake a learner makes, written here as a learner would."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bptt_core.checks.clipping import (
    CLIP_MISTAKES,
    check_clip_by_global_norm,
    clip_problem,
    mistaken_clip,
)
from bptt_core.clipping import clip_grad_norm
from bptt_core.gradcheck import rel_error

PARAMS = ["W_xh", "W_hh", "W_oh", "b_h", "b_o"]


def right(grads, max_norm):
    total = 0.0
    for name in PARAMS:
        total += (grads[name] ** 2).sum()
    norm = math.sqrt(total)
    if norm > max_norm:
        return {name: grads[name] * (max_norm / norm) for name in PARAMS}
    return {name: grads[name] for name in PARAMS}


def elementwise(grads, max_norm):
    return {name: np.minimum(np.maximum(grads[name], -max_norm), max_norm) for name in PARAMS}


def per_parameter(grads, max_norm):
    out = {}
    for name in PARAMS:
        n = np.sqrt((grads[name] ** 2).sum())
        out[name] = grads[name] * max_norm / n if n > max_norm else grads[name]
    return out


def always_rescale(grads, max_norm):
    norm = math.sqrt(sum((grads[name] ** 2).sum() for name in PARAMS))
    return {name: grads[name] * max_norm / norm for name in PARAMS}


def divide_by_max_norm(grads, max_norm):
    norm = math.sqrt(sum((grads[name] ** 2).sum() for name in PARAMS))
    if norm > max_norm:
        return {name: grads[name] / max_norm for name in PARAMS}
    return dict(grads)


def upside_down(grads, max_norm):
    norm = math.sqrt(sum((grads[name] ** 2).sum() for name in PARAMS))
    if norm > max_norm:
        return {name: grads[name] * (norm / max_norm) for name in PARAMS}
    return dict(grads)


def no_square_root(grads, max_norm):
    norm = sum((grads[name] ** 2).sum() for name in PARAMS)
    if norm > max_norm:
        return {name: grads[name] * (max_norm / norm) for name in PARAMS}
    return dict(grads)


def with_h0(grads, max_norm):
    norm = math.sqrt(sum((value**2).sum() for value in grads.values()))  # every key, h0 too
    factor = max_norm / norm if norm > max_norm else 1.0
    return {name: value * factor for name, value in grads.items()}


STUDENTS = {  # a learner's code -> the mistake the check should name
    "element-wise clipping instead of norm clipping": elementwise,
    "per-parameter norm instead of the global norm": per_parameter,
    "rescaled even below the threshold": always_rescale,
    "divided by max_norm instead of multiplying by max_norm / ||g||": divide_by_max_norm,
    "factor upside down (||g|| / max_norm)": upside_down,
    "norm without the square root": no_square_root,
    "h0 included in the norm": with_h0,
}


def test_a_correct_clip_passes():
    result = check_clip_by_global_norm(right)
    assert result and result.mistake is None and "correct" in str(result)


def test_the_engine_itself_passes_returning_clipped_and_norm():
    assert check_clip_by_global_norm(clip_grad_norm)


def test_an_in_place_clip_passes_too():
    def in_place(grads, max_norm):
        norm = np.sqrt(sum(np.sum(grads[name] ** 2) for name in PARAMS))
        for name in PARAMS:
            grads[name] *= min(1.0, max_norm / norm)
        return grads

    assert check_clip_by_global_norm(in_place)


@pytest.mark.parametrize("mistake", STUDENTS)
def test_each_mistake_gets_its_own_hint(mistake):
    result = check_clip_by_global_norm(STUDENTS[mistake])
    assert not result and result.mistake == mistake
    assert CLIP_MISTAKES[mistake] in result.message


def test_every_catalogued_mistake_is_planted_above():
    assert set(STUDENTS) == set(CLIP_MISTAKES)


def test_the_right_twin_is_the_engine():
    for grads, max_norm in clip_problem().values():
        engine, _ = clip_grad_norm(grads, max_norm)
        twin = mistaken_clip(grads, max_norm)
        assert all(rel_error(twin[name], engine[name]) < 1e-15 for name in PARAMS)


def test_the_fixed_problems_tell_every_mistake_apart():
    problems = clip_problem()
    long_grads, _ = problems["long gradient"]
    short_grads, max_norm = problems["short gradient"]
    assert np.sqrt(sum(np.sum(long_grads[n] ** 2) for n in PARAMS)) > max_norm
    assert np.sqrt(sum(np.sum(short_grads[n] ** 2) for n in PARAMS)) < max_norm
    outputs = [None] + list(CLIP_MISTAKES)
    results = [{case: mistaken_clip(*args, mistake=m) for case, args in problems.items()}
               for m in outputs]
    for i, a in enumerate(results):
        for b in results[i + 1:]:
            worst = max(rel_error(a[case][n], b[case][n]) for case in a for n in PARAMS)
            assert worst > 1e-2


def test_an_unrelated_error_reports_the_relative_error():
    def off_by_ten_percent(grads, max_norm):
        return {name: 0.9 * value for name, value in right(grads, max_norm).items()}

    result = check_clip_by_global_norm(off_by_ten_percent)
    assert not result and result.mistake is None
    assert "relative error" in result.message and "W_hh, long gradient" in result.message


def test_a_wrong_return_type_missing_keys_unfinished_and_crashing_code_are_reported():
    result = check_clip_by_global_norm(lambda grads, max_norm: [1.0, 2.0, 3.0])
    assert not result and "expected a dict" in result.message
    result = check_clip_by_global_norm(
        lambda grads, max_norm: {n: v for n, v in right(grads, max_norm).items() if n != "b_o"})
    assert not result and "missing output(s): b_o, long gradient" in result.message

    def unfinished(grads, max_norm):
        raise NotImplementedError

    assert "not implemented yet" in check_clip_by_global_norm(unfinished).message
    assert "raised ZeroDivisionError" in check_clip_by_global_norm(lambda g, m: 1 / 0).message


def test_the_mistake_generator_rejects_unknown_mistakes():
    grads, max_norm = clip_problem()["long gradient"]
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_clip(grads, max_norm, mistake="typo")
