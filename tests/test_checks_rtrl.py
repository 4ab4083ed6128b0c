"""The chapter 13 self-check: one RTRL step, and the mistakes it names.

``student_step`` is written with scalar loops, the way a learner writes it from the formula,
independently of bptt_core.rtrl and of the mistake generator, with a switch per mistake.
"""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core.checks.rtrl import (
    RTRL_STEP_MISTAKES,
    check_rtrl_step,
    mistaken_rtrl_step,
    rtrl_step_problem,
)

BUGS = {
    "no_slope": "tanh derivative missing",
    "no_recurrence": "recurrence W_hh P_{t-1} missing",
    "no_direct": "direct term missing",
    "h_not_h_prev": "direct term uses h_t instead of h_{t-1}",
    "slope_on_direct": "slope applied to the direct term only",
    "transposed": "W_hh transposed in the recurrence",
}


def student_step(W_hh, P_prev, h_prev, h, bug=None):
    H = len(h)
    P = np.zeros((H, H, H))
    for i in range(H):
        for k in range(H):
            for j in range(H):
                carried = 0.0
                if bug != "no_recurrence":
                    for m in range(H):
                        w = W_hh[m, i] if bug == "transposed" else W_hh[i, m]
                        carried += w * P_prev[m, k, j]
                direct = 0.0
                if i == k and bug != "no_direct":
                    direct = h[j] if bug == "h_not_h_prev" else h_prev[j]
                slope = 1.0 - h[i] ** 2
                if bug == "no_slope":
                    P[i, k, j] = carried + direct
                elif bug == "slope_on_direct":
                    P[i, k, j] = carried + slope * direct
                else:
                    P[i, k, j] = slope * (carried + direct)
    return P


def test_correct_step_passes():
    result = check_rtrl_step(student_step)
    assert result and result.message == "✓ correct"


def test_engine_rtrl_uses_the_same_step():
    # the check's reference step, iterated, gives the W_hh gradient of bptt_core.rtrl
    params = bc.init_rnn(2, 3, 1, seed=0)
    rng = np.random.default_rng(0)
    xs, targets = rng.normal(size=(5, 2)), rng.normal(size=(5, 1))
    cache = bc.rnn_forward(params, xs)
    P, dW = np.zeros((3, 3, 3)), np.zeros((3, 3))
    for t in range(1, 6):
        P = mistaken_rtrl_step(params.W_hh, P, cache.h[t - 1], cache.h[t])
        dz = 2.0 * (cache.y[t - 1] - targets[t - 1]) / targets.size
        dW += np.einsum("i,ikj->kj", params.W_oh.T @ dz, P)
    _, grads = bc.rtrl_loss_and_grads(params, xs, targets)
    assert bc.rel_error(dW, grads["W_hh"]) < 1e-12


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_mistake_is_named(bug):
    result = check_rtrl_step(lambda *args: student_step(*args, bug=bug))
    assert not result
    assert result.mistake == BUGS[bug], result.message


def test_mistakes_are_far_from_the_answer():
    args = rtrl_step_problem()
    good = mistaken_rtrl_step(*args)
    for mistake in RTRL_STEP_MISTAKES:
        assert bc.rel_error(mistaken_rtrl_step(*args, mistake=mistake), good) > 0.1


def test_stub_and_unknown_mistake():
    def stub(*args):
        raise NotImplementedError

    assert "not implemented" in check_rtrl_step(stub).message
    with pytest.raises(ValueError, match="mistake: expected None or one of"):
        mistaken_rtrl_step(*rtrl_step_problem(), mistake="typo")
