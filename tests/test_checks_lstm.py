"""The chapter 11 self-check: one LSTM step backward, and the mistakes it names.

``student_step_backward`` below is written the way a learner writes it, unit by unit with the
chain rule spelled out in scalars, independently of bptt_core.cells and of the mistake
generator, with a switch for each usual mistake.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import assert_answers_far_apart

import bptt_core as bc
from bptt_core.cells import LSTMStep, lstm_step_backward
from bptt_core.checks.lstm import (
    LSTM_STEP_MISTAKES,
    OUTPUT_NAMES,
    check_lstm_step_backward,
    lstm_step_problem,
    mistaken_lstm_step_backward,
)

BUGS = {  # switch -> the mistake the self-check should name
    "forget_without_c_prev": "forget gate gradient missing c_{t-1}",
    "no_sigmoid_slope": "sigmoid derivative missing",
    "no_cell_tanh_slope": "tanh derivative of the cell missing",
    "carousel_without_f": "dc_prev missing the forget gate",
    "no_dc_next": "cell gradient from step t+1 missing",
    "no_candidate_slope": "candidate tanh derivative missing",
    "slope_of_c": "tanh derivative taken at c_t instead of tanh(c_t)",
    "q_times_c": "output gate gradient uses c_t instead of tanh(c_t)",
}


def student_step_backward(step, dh, dc_next, bug=None):
    H = len(dh)
    out = {name: np.zeros(H) for name in OUTPUT_NAMES}
    for j in range(H):
        f, i, g, q = step.f[j], step.i[j], step.c_tilde[j], step.q[j]
        c, c_prev = step.c[j], step.c_prev[j]
        s = math.tanh(c)
        # h = q * tanh(c)
        dh_dc = q if bug == "no_cell_tanh_slope" else q * (1 - (c * c if bug == "slope_of_c"
                                                                   else s * s))
        dc = dh[j] * dh_dc + (0.0 if bug == "no_dc_next" else dc_next[j])
        dh_dq = c if bug == "q_times_c" else s

        def sig_slope(v):
            return 1.0 if bug == "no_sigmoid_slope" else v * (1 - v)

        # c = f * c_prev + i * g
        out["da_q"][j] = dh[j] * dh_dq * sig_slope(q)
        out["da_f"][j] = dc * (1.0 if bug == "forget_without_c_prev" else c_prev) * sig_slope(f)
        out["da_i"][j] = dc * g * sig_slope(i)
        out["da_c"][j] = dc * i * (1.0 if bug == "no_candidate_slope" else 1 - g * g)
        out["dc_prev"][j] = dc if bug == "carousel_without_f" else dc * f
    return out


def test_the_correct_student_passes():
    result = check_lstm_step_backward(student_step_backward)
    assert result and result.mistake is None and "correct" in str(result)


def test_the_engine_passes_its_own_check():
    assert check_lstm_step_backward(lstm_step_backward)


@pytest.mark.parametrize("bug", BUGS)
def test_self_check_names_each_mistake(bug):
    result = check_lstm_step_backward(lambda s, dh, dc: student_step_backward(s, dh, dc, bug))
    assert not result
    assert result.mistake == BUGS[bug]
    assert LSTM_STEP_MISTAKES[BUGS[bug]] in result.message


def test_every_catalogued_mistake_is_planted_above():
    assert set(BUGS.values()) == set(LSTM_STEP_MISTAKES)


def test_mistakes_are_far_apart_from_each_other_and_from_the_answer():
    step, dh, dc_next = lstm_step_problem()
    answers = {m: mistaken_lstm_step_backward(step, dh, dc_next, m) for m in LSTM_STEP_MISTAKES}
    answers["correct"] = lstm_step_backward(step, dh, dc_next)
    assert_answers_far_apart(answers, OUTPUT_NAMES)


def test_an_unrelated_error_gets_the_relative_error_message():
    def sloppy(step, dh, dc_next):
        out = student_step_backward(step, dh, dc_next)
        return {**out, "da_i": out["da_i"] * 1.01}

    result = check_lstm_step_backward(sloppy)
    assert not result and result.mistake is None
    assert "da_i (relative error" in result.message and "the others match" in result.message


def test_missing_outputs_and_exceptions_are_reported():
    def partial(step, dh, dc_next):
        out = student_step_backward(step, dh, dc_next)
        return {name: v for name, v in out.items() if name != "dc_prev"}

    def unfinished(step, dh, dc_next):
        raise NotImplementedError

    assert "missing output(s): dc_prev" in check_lstm_step_backward(partial).message
    assert "not implemented" in check_lstm_step_backward(unfinished).message


def test_the_check_problem_is_a_real_step_with_spread_gates():
    step, dh, dc_next = lstm_step_problem()
    assert isinstance(step, LSTMStep) and dh.shape == dc_next.shape == (5,)
    assert np.max(np.abs(step.c)) > 1.0
    assert bc.rel_error(step.c, step.f * step.c_prev + step.i * step.c_tilde) < 1e-15


def test_an_unknown_mistake_is_refused():
    step, dh, dc_next = lstm_step_problem()
    with pytest.raises(ValueError, match="^mistake: expected one of"):
        mistaken_lstm_step_backward(step, dh, dc_next, "typo")
