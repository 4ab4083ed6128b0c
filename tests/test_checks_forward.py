"""The chapter 0 and 1 self-checks: planted mistakes get their own hints."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core import rel_error
from bptt_core.checks.forward import check_rnn_step, check_to_time_major, step_problem


def good_step(params, x_t, h_prev):
    return np.tanh(params.W_xh @ x_t + params.W_hh @ h_prev + params.b_h)


STEP_BUGS = {
    "W_hh applied to the input":
        lambda p, x, h: np.tanh(p.W_hh @ x + p.W_hh @ h + p.b_h),
    "tanh missing":
        lambda p, x, h: p.W_xh @ x + p.W_hh @ h + p.b_h,
    "bias missing":
        lambda p, x, h: np.tanh(np.dot(p.W_xh, x) + np.dot(p.W_hh, h)),
    "previous state ignored":
        lambda p, x, h: np.tanh(p.W_xh @ x + p.b_h),
    "bias outside the tanh":
        lambda p, x, h: np.tanh(p.W_xh @ x + p.W_hh @ h) + p.b_h,
    "weights transposed":
        lambda p, x, h: np.tanh(x @ p.W_xh + h @ p.W_hh + p.b_h),
    "W_hh transposed":
        lambda p, x, h: np.tanh(p.W_xh @ x + h @ p.W_hh + p.b_h),
    "W_xh transposed":
        lambda p, x, h: np.tanh(np.einsum("d,dh->h", x, p.W_xh) + p.W_hh @ h + p.b_h),
}


def test_a_correct_step_passes():
    result = check_rnn_step(good_step)
    assert result and result.message == "✓ correct"


@pytest.mark.parametrize("mistake", STEP_BUGS)
def test_each_step_mistake_gets_its_hint(mistake):
    result = check_rnn_step(STEP_BUGS[mistake])
    assert not result and result.mistake == mistake


def test_an_unknown_step_error_reports_the_relative_error():
    result = check_rnn_step(lambda p, x, h: 1.01 * good_step(p, x, h))
    assert not result and result.mistake is None and "relative error 0.0099" in result.message


def test_a_wrong_shape_is_reported():
    result = check_rnn_step(lambda p, x, h: p.W_oh @ x)  # (2, 4) @ (4,) runs, wrong shape
    assert not result and "expected shape (4,), got (2,)" in result.message


def test_a_crashing_step_is_reported():
    result = check_rnn_step(lambda p, x, h: p.W_xh @ np.append(x, 1.0))  # (4, 4) @ (5,)
    assert not result and "your function raised ValueError" in result.message


def test_the_step_mistakes_are_distinguishable():
    params, x_t, h_prev = step_problem()
    outputs = [good_step(params, x_t, h_prev)]
    outputs += [bug(params, x_t, h_prev) for bug in STEP_BUGS.values()]
    for i, first in enumerate(outputs):
        for second in outputs[i + 1:]:
            assert rel_error(first, second) > 1e-3  # far above the check's 1e-7


LAYOUT_BUGS = {
    "reshape instead of transpose": lambda x: x.reshape(x.shape[1], x.shape[0], x.shape[2]),
    "all axes reversed": lambda x: np.transpose(x),
}


@pytest.mark.parametrize("convert", [lambda x: x.transpose(1, 0, 2),
                                     lambda x: np.swapaxes(x, 0, 1),
                                     lambda x: np.stack([x[:, t] for t in range(x.shape[1])])])
def test_correct_layout_conversions_pass(convert):
    assert check_to_time_major(convert)


@pytest.mark.parametrize("mistake", LAYOUT_BUGS)
def test_each_layout_mistake_gets_its_hint(mistake):
    result = check_to_time_major(LAYOUT_BUGS[mistake])
    assert not result and result.mistake == mistake


def test_an_unchanged_batch_is_a_shape_error():
    result = check_to_time_major(lambda x: x)
    assert not result and "expected shape (3, 2, 4), got (2, 3, 4)" in result.message
