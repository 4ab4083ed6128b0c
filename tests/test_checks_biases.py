"""The bias-gradient self-check (chapter 6) names each planted mistake and passes a correct one.

``student_bias_grads`` is written the way a learner writes it (min-char-rnn style, a batch of
row vectors, 0-based loop), independently of bptt_core, with switches for the usual mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core.checks.biases import (
    BIAS_MISTAKES,
    bias_check_problem,
    check_bias_grads,
    hidden_deltas,
    mistaken_bias_grads,
)

BUGS = {  # switch -> the mistake the self-check should name
    "no_batch_sum": "not summed over the batch",
    "no_batch_sum_bo": "b_o not summed over the batch",
    "no_step_sum": "not summed over the steps",
    "batch_mean": "averaged over the batch",
    "overwrite": "gradients overwritten",
    "last_step": "only the last step used",
    "no_tanh_derivative": "tanh derivative missing",
    "slope_of_h_prev": "tanh slope of the previous state",
    "slope_of_a": "tanh derivative of the pre-activation",
    "no_dhnext": "no gradient through time",
    "no_transpose": "W_hh not transposed",
}


def student_bias_grads(params, cache, dy, bug=None):
    Whh, Woh = params.W_hh, params.W_oh
    T, B, _ = cache.xs.shape
    dbh = np.zeros((T, params.b_h.size)) if bug == "no_step_sum" else np.zeros(params.b_h.size)
    dbo = np.zeros(params.b_o.size)
    dhnext = np.zeros((B, Whh.shape[0]))  # one row per sequence
    for s in reversed(range(T)):  # s = 0..T-1; cache.h[s + 1] is this step's state
        hs = cache.h[s + 1]
        dout = dy[s]  # identity output, (B, O)
        if bug == "last_step" and s < T - 1:
            dout_used = np.zeros_like(dout)
        else:
            dout_used = dout
        dh = dout @ Woh  # rows: W_oh^T dout
        if bug != "no_dhnext":
            dh = dh + dhnext
        if bug == "slope_of_h_prev":
            hs = cache.h[s]
        elif bug == "slope_of_a":
            hs = cache.a[s]
        draw = dh if bug == "no_tanh_derivative" else (1 - hs * hs) * dh
        draw_used = draw if bug != "last_step" or s == T - 1 else np.zeros_like(draw)
        if bug == "no_batch_sum":
            dbh = dbh + draw_used  # broadcasts to (B, H)
            dbo = dbo + dout_used
        elif bug == "no_batch_sum_bo":
            dbh += draw_used.sum(axis=0)
            dbo = dbo + dout_used
        elif bug == "no_step_sum":
            dbh[s] = draw_used.sum(axis=0)
            dbo += dout_used.sum(axis=0)
        elif bug == "batch_mean":
            dbh += draw_used.mean(axis=0)
            dbo += dout_used.mean(axis=0)
        elif bug == "overwrite":
            dbh = draw_used.sum(axis=0)
            dbo = dout_used.sum(axis=0)
        else:
            dbh += draw_used.sum(axis=0)
            dbo += dout_used.sum(axis=0)
        dhnext = draw @ (Whh.T if bug == "no_transpose" else Whh)  # rows: W_hh^T draw
    return {"b_h": dbh, "b_o": dbo}


def test_the_correct_student_passes():
    result = check_bias_grads(student_bias_grads)
    assert result.correct and result.mistake is None and "correct" in str(result)


def test_the_correct_student_agrees_with_finite_differences():
    params, xs, targets, h0 = make_problem(61, T=4, D=2, H=3, O=2, B=3)

    def loss(name):
        return lambda value: bc.loss_and_grads(params.replace(**{name: value}), xs, targets,
                                               h0=h0)[0]

    cache = bc.rnn_forward(params, xs, h0)
    _, dy = bc.mse_loss(cache.y, targets)
    grads = student_bias_grads(params, cache, dy)
    for name in ("b_h", "b_o"):
        numeric = bc.numerical_gradient(loss(name), getattr(params, name).copy())
        assert bc.rel_error(grads[name], numeric) < 1e-7


@pytest.mark.parametrize("bug", BUGS)
def test_self_check_names_each_mistake(bug):
    result = check_bias_grads(lambda p, c, d: student_bias_grads(p, c, d, bug))
    assert not result
    assert result.mistake == BUGS[bug]
    assert BIAS_MISTAKES[BUGS[bug]] in result.message


def test_every_catalogued_mistake_is_planted_above():
    assert set(BUGS.values()) == set(BIAS_MISTAKES)


def test_the_mistakes_are_far_apart_on_the_check_problem():
    params, cache, dy = bias_check_problem()
    grads = bc.rnn_backward(params, cache, dy)
    outputs = {m: mistaken_bias_grads(params, cache, dy, m) for m in BIAS_MISTAKES}
    for m, theirs in outputs.items():  # every mistake changes what it returns
        for name, value in theirs.items():
            assert value.shape != grads[name].shape or bc.rel_error(value, grads[name]) > 0.1, m
    names = list(outputs)
    for i, m in enumerate(names):  # no two mistakes can be confused
        for n in names[i + 1:]:
            shared = [k for k in outputs[m] if k in outputs[n]
                      and outputs[m][k].shape == outputs[n][k].shape]
            assert not shared or max(bc.rel_error(outputs[m][k], outputs[n][k])
                                     for k in shared) > 0.1, (m, n)


def test_the_deltas_sum_to_the_hidden_bias_gradient():
    params, cache, dy = bias_check_problem()
    delta = hidden_deltas(params, cache, dy)
    assert delta.shape == cache.a.shape
    assert bc.rel_error(delta.sum(axis=(0, 1)), bc.rnn_backward(params, cache, dy)["b_h"]) < 1e-12


def test_unknown_error_reports_which_output_is_wrong_and_by_how_much():
    def b_o_off_by_ten_percent(params, cache, dy):
        return {"b_h": student_bias_grads(params, cache, dy)["b_h"],
                "b_o": 1.1 * dy.sum(axis=(0, 1))}

    result = check_bias_grads(b_o_off_by_ten_percent)
    assert not result and result.mistake is None
    assert "b_o (relative error 0.091)" in result.message  # |1.1 - 1| / 1.1


def test_missing_and_misshapen_gradients_are_reported():
    result = check_bias_grads(lambda p, c, d: {"b_h": np.zeros(4)})
    assert not result and "missing" in result.message and "b_o" in result.message
    result = check_bias_grads(lambda p, c, d: {"b_h": np.zeros(3), "b_o": np.zeros(2)})
    assert not result and "b_h: expected shape (4,), got (3,)" in result.message


def test_mistaken_bias_grads_rejects_unknown_mistakes():
    params, cache, dy = bias_check_problem()
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_bias_grads(params, cache, dy, "typo")
