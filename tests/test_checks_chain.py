"""The chapter 3 self-check: planted mistakes in the single-step gradient get their own hints.

The "students" below are written independently of bptt_core and of the mistake generator: loops
over indices, or the long three-factor form, each with one mistake.
"""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core.checks.chain import (
    SINGLE_STEP_MISTAKES,
    check_single_step_grad,
    mistaken_single_step_grad,
    single_step_problem,
)


def student_loops(params, x_t, h_prev, dL_dy, bug=None):
    """Entry by entry, min-char-rnn style, with a switch for each usual mistake."""
    Wxh, Whh, Woh, bh = params.W_xh, params.W_hh, params.W_oh, params.b_h
    H, D = Wxh.shape
    O = Woh.shape[0]
    a = np.zeros(H)
    for i in range(H):
        a[i] = sum(Wxh[i, k] * x_t[k] for k in range(D))
        if bug != "no_recurrence":
            a[i] += sum(Whh[i, j] * h_prev[j] for j in range(H))
        if bug != "no_bias":
            a[i] += bh[i]
    h = np.tanh(a)
    dh = np.zeros(H)
    for i in range(H):
        if bug == "skip_Woh":
            dh[i] = dL_dy[i]  # O == H in the check, so this runs
        elif bug == "no_transpose":
            dh[i] = sum(Woh[i, o] * dL_dy[o] for o in range(O))
        else:
            dh[i] = sum(Woh[o, i] * dL_dy[o] for o in range(O))
    if bug == "no_tanh_derivative":
        draw = dh
    elif bug == "tanh_derivative_of_a":
        draw = (1 - a * a) * dh
    elif bug == "slope_of_h_prev":
        draw = np.array([(1 - h_prev[i] * h_prev[i]) * dh[i] for i in range(H)])
    else:
        draw = (1 - h * h) * dh
    if bug == "reversed":
        return np.array([[x_t[k] * draw[i] for i in range(H)] for k in range(D)])
    source = h_prev if bug == "h_prev" else x_t
    return np.array([[draw[i] * source[k] for k in range(len(source))] for i in range(H)])


def student_three_factors(params, x_t, h_prev, dL_dy):
    """The long form of chapter 3: three factor arrays multiplied with einsum."""
    h = np.tanh(params.W_xh @ x_t + params.W_hh @ h_prev + params.b_h)
    H, D = params.W_xh.shape
    dy_dh = params.W_oh  # identity output: diag(1) W_oh
    dh_dW = np.zeros((H, H, D))
    for i in range(H):
        dh_dW[i, i, :] = (1 - h[i] ** 2) * x_t
    return np.einsum("o,oi,ijk->jk", dL_dy, dy_dh, dh_dW)


BUGS = {  # switch -> the mistake the self-check should name
    "no_tanh_derivative": "tanh derivative missing",
    "tanh_derivative_of_a": "tanh derivative of the pre-activation",
    "slope_of_h_prev": "tanh derivative at the previous state",
    "no_transpose": "W_oh not transposed",
    "skip_Woh": "output weights skipped",
    "reversed": "outer product reversed",
    "h_prev": "h_prev used instead of x_t",
    "no_recurrence": "recurrent term missing from a_t",
    "no_bias": "bias missing from a_t",
}


@pytest.mark.parametrize("student", [student_loops, student_three_factors])
def test_a_correct_student_passes(student):
    result = check_single_step_grad(student)
    assert result and result.mistake is None and result.message == "✓ correct"


def test_the_expected_answer_is_the_gradient_of_the_one_step_loss():
    params, x_t, h_prev, dL_dy = single_step_problem()

    def loss(W):  # L = dL_dy . y_t, whose gradient with respect to y_t is dL_dy
        y = bc.rnn_forward(params.replace(W_xh=W), x_t[None, :], h_prev).y[0]
        return float(dL_dy @ y)

    numerical = bc.numerical_gradient(loss, params.W_xh.copy())
    assert bc.rel_error(student_loops(params, x_t, h_prev, dL_dy), numerical) < 1e-7


@pytest.mark.parametrize("bug", BUGS)
def test_self_check_names_each_mistake(bug):
    result = check_single_step_grad(lambda p, x, h, d: student_loops(p, x, h, d, bug))
    assert not result
    assert result.mistake == BUGS[bug]
    assert SINGLE_STEP_MISTAKES[BUGS[bug]] in result.message


def test_every_catalogued_mistake_is_planted_above():
    assert set(BUGS.values()) == set(SINGLE_STEP_MISTAKES)


def test_the_mistakes_are_distinguishable_on_the_check_problem():
    params, x_t, h_prev, dL_dy = single_step_problem()
    correct = student_loops(params, x_t, h_prev, dL_dy)
    outputs = [correct] + [mistaken_single_step_grad(params, x_t, h_prev, dL_dy, m)
                           for m in SINGLE_STEP_MISTAKES]
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            assert a.shape != b.shape or bc.rel_error(a, b) > 1e-3


def test_an_unknown_error_reports_the_relative_error():
    result = check_single_step_grad(lambda p, x, h, d: 1.1 * student_loops(p, x, h, d))
    assert not result and result.mistake is None
    assert "relative error 0.091; no common mistake fits" in result.message  # 0.1 / 1.1


def test_a_wrong_shape_and_a_crash_are_reported():
    result = check_single_step_grad(lambda p, x, h, d: np.zeros((4, 4, 3)))
    assert not result and "expected shape (4, 3), got (4, 4, 3)" in result.message
    result = check_single_step_grad(lambda p, x, h, d: x * d)  # (3,) * (4,) does not broadcast
    assert not result and result.message.startswith("✗ your function raised ValueError")


def test_not_implemented_is_reported():
    def skeleton(params, x_t, h_prev, dL_dy):
        raise NotImplementedError

    assert "not implemented yet" in check_single_step_grad(skeleton).message


def test_mistaken_grad_rejects_unknown_mistakes():
    params, x_t, h_prev, dL_dy = single_step_problem()
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_single_step_grad(params, x_t, h_prev, dL_dy, "typo")
