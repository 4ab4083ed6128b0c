"""The chapter 5 self-check: a correct dL/dW_hh, dL/dW_oh passes, each planted bug is named.

Every "student" below is written independently of bptt_core (explicit index loops, 0-based
steps s = 0..T-1 as a learner writes them), and each makes exactly one mistake.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core.checks.weights import (
    WEIGHT_MISTAKES,
    check_weight_grads,
    mistaken_weight_grads,
    weights_problem,
)


def student(params, cache, dy, bug=None):
    """dW_hh = sum_t delta_t h_{t-1}^T, dW_oh = sum_t dy_t h_t^T, with one optional bug."""
    Whh, Woh, hs = params.W_hh, params.W_oh, cache.h
    H, O = Whh.shape[0], Woh.shape[0]
    dWhh, dWoh = np.zeros((H, H)), np.zeros((O, H))
    carry = np.zeros(H)  # dL/da of the step after this one
    for s in range(len(dy) - 1, -1, -1):  # s = t - 1; hs[s + 1] is h_t, hs[s] is h_{t-1}
        h_now, h_before = hs[s + 1], hs[s]
        h_out = h_before if bug == "Woh_prev" else h_now
        if bug == "Woh_overwrite":
            dWoh = np.array([[dy[s][o] * h_out[i] for i in range(H)] for o in range(O)])
        else:
            dWoh += np.array([[dy[s][o] * h_out[i] for i in range(H)] for o in range(O)])
        dh = np.array([sum(Woh[o, i] * dy[s][o] for o in range(O)) for i in range(H)])
        if bug == "no_transpose":
            dh += np.array([sum(Whh[i, j] * carry[j] for j in range(H)) for i in range(H)])
        elif bug != "no_time":
            dh += np.array([sum(Whh[j, i] * carry[j] for j in range(H)) for i in range(H)])
        d = dh if bug == "no_tanh" else (1 - h_now**2) * dh
        h_in = h_now if bug == "off_by_one" else h_before
        if bug == "reversed":
            term = np.array([[h_in[i] * d[j] for j in range(H)] for i in range(H)])
        else:
            term = np.array([[d[i] * h_in[j] for j in range(H)] for i in range(H)])
        dWhh = term if bug == "overwrite" else dWhh + term
        carry = d
    return {"W_hh": dWhh, "W_oh": dWoh}


BUGS = {  # switch -> the mistake the self-check should name
    "off_by_one": "hidden-state index off by one",
    "Woh_prev": "W_oh paired with h_{t-1}",
    "overwrite": "gradients overwritten",
    "Woh_overwrite": "W_oh gradient overwritten",
    "no_transpose": "W_hh not transposed",
    "reversed": "outer product reversed",
    "no_time": "no gradient through time",
    "no_tanh": "tanh derivative missing",
}


def test_the_student_is_right_on_an_unrelated_problem_too():
    params, xs, targets, h0 = make_problem(8, T=6, D=2, H=3, O=2)
    cache = bc.rnn_forward(params, xs, h0)
    _, dy = bc.mse_loss(cache.y, targets)
    grads, mine = bc.rnn_backward(params, cache, dy), student(params, cache, dy)
    assert bc.rel_error(mine["W_hh"], grads["W_hh"]) < 1e-12
    assert bc.rel_error(mine["W_oh"], grads["W_oh"]) < 1e-12


def test_a_correct_student_passes():
    result = check_weight_grads(student)
    assert result and result.mistake is None and "correct" in str(result)
    assert max(result.errors.values()) < 1e-12


@pytest.mark.parametrize("bug", BUGS)
def test_each_mistake_gets_its_own_hint(bug):
    result = check_weight_grads(lambda p, c, d: student(p, c, d, bug))
    assert not result
    assert result.mistake == BUGS[bug]
    assert WEIGHT_MISTAKES[BUGS[bug]] in result.message


def test_every_catalogued_mistake_is_planted_above():
    assert set(BUGS.values()) == set(WEIGHT_MISTAKES)


def test_the_problem_makes_every_mistake_visible():
    params, cache, dy = weights_problem()
    asymmetry = np.linalg.norm(params.W_hh - params.W_hh.T) / np.linalg.norm(params.W_hh)
    assert asymmetry > 0.5  # a missing transpose changes the answer a lot
    assert np.linalg.norm(cache.h[0]) > 0.1  # delta_1 h_0^T is not zero
    grads = bc.rnn_backward(params, cache, dy)
    outputs = {m: mistaken_weight_grads(params, cache, dy, m) for m in WEIGHT_MISTAKES}
    for mistake, wrong in outputs.items():
        (name, value), = wrong.items()
        assert bc.rel_error(value, grads[name]) > 0.1, mistake
    names = list(outputs)
    for i, first in enumerate(names):  # no two mistakes look alike
        for second in names[i + 1:]:
            shared = set(outputs[first]) & set(outputs[second])
            for name in shared:
                assert bc.rel_error(outputs[first][name], outputs[second][name]) > 0.1


def test_both_outer_products_reversed_is_still_named():
    def both_reversed(params, cache, dy):
        grads = bc.rnn_backward(params, cache, dy)
        return {"W_hh": grads["W_hh"].T, "W_oh": grads["W_oh"].T}  # W_oh.T has shape (H, O)

    result = check_weight_grads(both_reversed)
    assert not result and result.mistake == "outer product reversed"


def test_an_unrelated_error_reports_the_relative_error():
    def W_oh_scaled(params, cache, dy):
        grads = bc.rnn_backward(params, cache, dy)
        return {"W_hh": grads["W_hh"], "W_oh": 0.5 * grads["W_oh"]}

    result = check_weight_grads(W_oh_scaled)
    assert not result and result.mistake is None
    assert "W_oh (relative error 0.5)" in result.message and "the others match" in result.message


def test_missing_key_and_unimplemented_are_reported():
    result = check_weight_grads(lambda p, c, d: {"W_hh": np.zeros((4, 4))})
    assert not result and "missing output(s): W_oh" in result.message

    def not_done(params, cache, dy):
        raise NotImplementedError

    assert "not implemented yet" in check_weight_grads(not_done).message


def test_unknown_mistake_is_rejected():
    params, cache, dy = weights_problem()
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_weight_grads(params, cache, dy, "typo")
