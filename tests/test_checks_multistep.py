"""The chapter 4 self-check: the terms of the double sum for dL/dW_xh, and their mistakes.

``student_contributions`` below is written the way a learner writes the double sum, column
vectors and explicit loops over (t, k), independently of bptt_core's anatomy module, with
switches for the usual mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core.checks.backward import check_problem
from bptt_core.checks.multistep import (
    CONTRIBUTION_MISTAKES,
    check_contributions,
    mistaken_contributions,
)

BUGS = {  # switch -> the mistake the self-check should name
    "reversed_product": "Jacobian product in the wrong order",
    "untransposed": "Jacobians transposed",
    "all_k": "future steps included",
    "article": "the first article's pairing",
    "no_slope": "tanh derivative missing in the local term",
    "long_product": "Jacobian product one factor too long",
    "short_product": "Jacobian product one factor too short",
    "x_of_t": "input of the loss step in the local term",
}


def student_contributions(params, cache, dy, bug=None):
    Whh, Woh = params.W_hh, params.W_oh
    xs, hs = cache.xs, cache.h  # hs[t] is h_t, hs[0] is h0
    T, H, D = len(xs), Whh.shape[0], xs.shape[1]
    C = np.zeros((T, T, H, D))
    for t in range(1, T + 1):
        for k in range(1, (T if bug == "all_k" else t) + 1):
            # dL_t/dh_t as a column vector (identity output)
            v = Woh.T @ (dy[k - 1] if bug == "article" else dy[t - 1])
            stop = {"long_product": k - 1, "short_product": k + 1}.get(bug, k)
            steps = list(range(t, stop, -1))  # j = t, t-1, ..., k+1
            if bug == "reversed_product":
                steps = steps[::-1]
            for j in steps:  # back through step j: dL_t/dh_{j-1} = J_j^T dL_t/dh_j
                Jj = np.diag(1 - hs[j] ** 2) @ Whh
                v = (Jj if bug == "untransposed" else Jj.T) @ v
            da = v if bug == "no_slope" else (1 - hs[k] ** 2) * v
            C[t - 1, k - 1] = np.outer(da, xs[t - 1] if bug == "x_of_t" else xs[k - 1])
    return C


def test_the_correct_student_passes_and_sums_to_the_gradient():
    result = check_contributions(student_contributions)
    assert result.correct and result.mistake is None and "correct" in str(result)
    params, cache, dy = check_problem()
    total = student_contributions(params, cache, dy).sum(axis=(0, 1))
    assert bc.rel_error(total, bc.rnn_backward(params, cache, dy)["W_xh"]) < 1e-12


@pytest.mark.parametrize("bug", BUGS)
def test_self_check_names_each_mistake(bug):
    result = check_contributions(lambda p, c, d: student_contributions(p, c, d, bug))
    assert not result
    assert result.mistake == BUGS[bug]
    assert CONTRIBUTION_MISTAKES[BUGS[bug]] in result.message


@pytest.mark.parametrize("bug", BUGS)
def test_each_mistake_gives_a_wrong_gradient(bug):
    params, xs, targets, h0 = make_problem(4, T=4, D=3, H=4, O=2)
    cache = bc.rnn_forward(params, xs, h0)
    _, dy = bc.mse_loss(cache.y, targets)
    wrong = student_contributions(params, cache, dy, bug).sum(axis=(0, 1))
    assert bc.rel_error(wrong, bc.rnn_backward(params, cache, dy)["W_xh"]) > 1e-2


def test_every_catalogued_mistake_is_planted_above():
    assert set(BUGS.values()) == set(CONTRIBUTION_MISTAKES)


def test_the_mistakes_are_told_apart():
    params, cache, dy = check_problem()
    outputs = [mistaken_contributions(params, cache, dy, m) for m in CONTRIBUTION_MISTAKES]
    outputs.append(bc.contributions(params, cache, dy, "W_xh"))
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            assert bc.rel_error(a, b) > 1e-3


def test_an_unrelated_error_reports_the_relative_error():
    def scaled(params, cache, dy):
        return 1.1 * bc.contributions(params, cache, dy, "W_xh")

    result = check_contributions(scaled)
    assert not result and result.mistake is None
    assert "relative error 0.091" in result.message and "no common mistake fits" in result.message


def test_a_wrong_shape_is_reported():
    def one_row(params, cache, dy):
        return bc.contributions(params, cache, dy, "W_xh")[-1]

    result = check_contributions(one_row)
    assert not result and "expected shape (5, 5, 4, 3), got (5, 4, 3)" in result.message


def test_mistaken_contributions_rejects_unknown_mistakes():
    params, cache, dy = check_problem()
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_contributions(params, cache, dy, "typo")
