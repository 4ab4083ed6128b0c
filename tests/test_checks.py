"""Planted bugs: the gradient check catches them and the self-check names them.

``student_backward`` below is written the way a learner writes BPTT (min-char-rnn style,
one sequence, 0-based loop), independently of bptt_core, with switches for the usual mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core.checks import (
    BACKWARD_MISTAKES,
    check_rnn_backward,
    mistaken_rnn_backward,
    run_check,
)

BUGS = {  # switch -> the mistake the self-check should name
    "no_transpose": "W_hh not transposed",
    "no_tanh_derivative": "tanh derivative missing",
    "tanh_derivative_of_a": "tanh derivative of the wrong quantity",
    "overwrite": "gradients overwritten",
    "off_by_one": "hidden-state index off by one",
    "no_dhnext": "no gradient through time",
}


def student_backward(params, cache, dy, bug=None):
    Wxh, Whh, Woh = params.W_xh, params.W_hh, params.W_oh
    dWxh, dWhh, dWoh = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Woh)
    dbh, dbo = np.zeros_like(params.b_h), np.zeros_like(params.b_o)
    dhnext = np.zeros(Whh.shape[0])
    for s in reversed(range(len(cache.xs))):  # s = 0..T-1; h[s + 1] is this step's state
        x, hs, hprev = cache.xs[s], cache.h[s + 1], cache.h[s]
        dout = dy[s]  # identity output
        if bug == "overwrite":
            dWoh, dbo = np.outer(dout, hs), dout.copy()
        else:
            dWoh += np.outer(dout, hs)
            dbo += dout
        dh = Woh.T @ dout
        if bug != "no_dhnext":
            dh = dh + dhnext
        if bug == "no_tanh_derivative":
            draw = dh
        elif bug == "tanh_derivative_of_a":
            draw = (1 - cache.a[s] ** 2) * dh
        else:
            draw = (1 - hs * hs) * dh
        h_used = hs if bug == "off_by_one" else hprev
        if bug == "overwrite":
            dWxh, dWhh, dbh = np.outer(draw, x), np.outer(draw, h_used), draw.copy()
        else:
            dWxh += np.outer(draw, x)
            dWhh += np.outer(draw, h_used)
            dbh += draw
        dhnext = (Whh if bug == "no_transpose" else Whh.T) @ draw
    return {"W_xh": dWxh, "W_hh": dWhh, "W_oh": dWoh, "b_h": dbh, "b_o": dbo, "h0": dhnext}


def student_loss_and_grads(bug):
    def loss_and_grads(params, xs, targets, *, h0=None, loss="mse", output="identity"):
        cache = bc.rnn_forward(params, xs, h0, output=output)
        L, dy = bc.mse_loss(cache.y, targets)
        return L, student_backward(params, cache, dy, bug)
    return loss_and_grads


@pytest.fixture
def problem():
    return make_problem(21, T=5, D=3, H=4, O=2)


def test_the_correct_student_passes_both_checks(problem):
    params, xs, targets, h0 = problem
    errors = bc.gradient_check(params, xs, targets, h0=h0, grads_fn=student_loss_and_grads(None))
    assert max(errors.values()) < 1e-7
    result = check_rnn_backward(student_backward)
    assert result.correct and result.mistake is None and "correct" in str(result)


@pytest.mark.parametrize("bug", BUGS)
def test_gradient_check_catches_each_planted_bug(problem, bug):
    params, xs, targets, h0 = problem
    errors = bc.gradient_check(params, xs, targets, h0=h0, grads_fn=student_loss_and_grads(bug))
    assert max(errors.values()) > 1e-2, errors


@pytest.mark.parametrize("bug", BUGS)
def test_self_check_names_each_mistake(bug):
    result = check_rnn_backward(lambda p, c, d: student_backward(p, c, d, bug))
    assert not result
    assert result.mistake == BUGS[bug]
    assert BACKWARD_MISTAKES[BUGS[bug]] in result.message


def test_every_catalogued_mistake_is_planted_above():
    assert set(BUGS.values()) == set(BACKWARD_MISTAKES)


def test_unknown_error_reports_which_output_is_wrong_and_by_how_much():
    def off_by_ten_percent(params, cache, dy):
        grads = bc.rnn_backward(params, cache, dy)
        grads["b_o"] = grads["b_o"] * 1.1
        return grads

    result = check_rnn_backward(off_by_ten_percent)
    assert not result and result.mistake is None
    assert "b_o (relative error 0.091)" in result.message  # |1.1 - 1| / 1.1


def test_missing_and_misshapen_gradients_are_reported():
    result = check_rnn_backward(lambda p, c, d: {"W_xh": np.zeros((4, 3))})
    assert not result and "missing" in result.message and "W_hh" in result.message

    def wrong_shape(p, c, d):
        return {**bc.rnn_backward(p, c, d), "W_hh": np.zeros((4, 3))}

    result = check_rnn_backward(wrong_shape)
    assert not result and "W_hh: expected shape (4, 4), got (4, 3)" in result.message


def test_mistaken_backward_rejects_unknown_mistakes(problem):
    params, xs, targets, _ = problem
    cache = bc.rnn_forward(params, xs)
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_rnn_backward(params, cache, np.zeros_like(cache.y), "typo")


# --- the shared machinery, on a toy exercise: "return 2 x" --------------------------------

X = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
TOY_MISTAKES = {
    "forgot the 2": (X, "multiply by 2"),
    "transposed": (2 * X.T, "do not transpose"),
}


def toy_check(function):
    return run_check(function, (X,), 2 * X, TOY_MISTAKES)


@pytest.mark.parametrize("function, verdict_text, mistake", [
    (lambda x: 2 * x, "✓ correct", None),
    (lambda x: x, "likely mistake, forgot the 2: multiply by 2", "forgot the 2"),
    (lambda x: 2 * x.T, "likely mistake, transposed: do not transpose", "transposed"),
    (lambda x: 3 * x, "wrong: relative error 0.33; no common mistake fits", None),
    (lambda x: x[:1], "expected shape (2, 3), got (1, 3)", None),
    (lambda x: "two x", "your output: expected an array of real numbers, got dtype <U5", None),
    (lambda x: (2 * x).astype(np.float32), "computed in float32", None),
    (lambda x: 2 * x + 0j, "expected an array of real numbers, got dtype complex128", None),
    (lambda x: 2 * x * np.nan, "your output contains NaN or inf", None),
])
def test_verdicts_on_a_toy_exercise(function, verdict_text, mistake):
    result = toy_check(function)
    assert verdict_text in result.message
    assert result.mistake == mistake
    assert bool(result) == (mistake is None and "✓" in verdict_text)


def test_exceptions_in_the_learners_code_become_failed_checks():
    def not_done(x):
        raise NotImplementedError()

    def crashes(x):
        return x @ x

    assert "not implemented yet" in toy_check(not_done).message
    message = toy_check(crashes).message
    assert message.startswith("✗ your function raised ValueError")


def test_the_learners_function_gets_copies():
    def scribbles(x):
        x[:] = 0.0
        return 2 * x

    toy_check(scribbles)
    assert X[0, 0] == 1.0


def test_a_dict_with_a_string_names_the_entry():
    def half_done(params, cache, dy):
        return {**bc.rnn_backward(params, cache, dy), "W_hh": "todo"}

    result = check_rnn_backward(half_done)
    assert not result and "W_hh: expected an array of real numbers" in result.message
