"""Self-check for chapter 11: one LSTM step backward, by hand.

Given step t's gates, dL/dh_t and the cell gradient arriving from step t+1:

    dL/dc_t   = dL/dh_t * q_t * (1 - tanh^2 c_t) + dc_next
    dL/da^f_t = dL/dc_t * c_{t-1} * f_t (1 - f_t)
    dL/da^i_t = dL/dc_t * c~_t * i_t (1 - i_t)
    dL/da^c_t = dL/dc_t * i_t * (1 - c~_t^2)
    dL/da^q_t = dL/dh_t * tanh(c_t) * q_t (1 - q_t)
    dL/dc_{t-1} (through step t) = dL/dc_t * f_t
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..cells import LSTMStep, init_lstm, lstm_forward, lstm_step_backward
from ._core import CheckResult, run_check

OUTPUT_NAMES = ("da_f", "da_i", "da_c", "da_q", "dc_prev")

# The mistakes people make when they write an LSTM step backward, and what to tell them.
LSTM_STEP_MISTAKES: dict[str, str] = {
    "forget gate gradient missing c_{t-1}": (
        "c_t = f_t * c_{t-1} + i_t * c~_t, so dc_t/df_t = c_{t-1}: "
        "da_f = dc * c_prev * f * (1 - f), with the previous cell state in it"
    ),
    "sigmoid derivative missing": (
        "the gates are sigmoids of their pre-activations: multiply by sigmoid'(a) = s (1 - s) "
        "with s the gate's value, e.g. da_f = dc * c_prev * f * (1 - f)"
    ),
    "tanh derivative of the cell missing": (
        "h_t = q_t * tanh(c_t): the path from h_t into the cell goes through tanh, "
        "dc = dh * q * (1 - tanh(c)^2) + dc_next"
    ),
    "dc_prev missing the forget gate": (
        "c_{t-1} enters c_t multiplied by f_t, so the gradient it receives is "
        "dc_prev = dc * f, not dc"
    ),
    "cell gradient from step t+1 missing": (
        "c_t also feeds c_{t+1}: add the gradient arriving through the cell, "
        "dc = dh * q * (1 - tanh(c)^2) + dc_next"
    ),
    "candidate tanh derivative missing": (
        "the candidate is c~_t = tanh(a^c_t): da_c = dc * i * (1 - c_tilde^2)"
    ),
    "tanh derivative taken at c_t instead of tanh(c_t)": (
        "the slope of tanh at c_t is 1 - tanh(c_t)^2, computed from tanh(c_t), "
        "not 1 - c_t^2 from the cell state itself"
    ),
    "output gate gradient uses c_t instead of tanh(c_t)": (
        "h_t = q_t * tanh(c_t), so dh_t/dq_t = tanh(c_t): "
        "da_q = dh * tanh(c) * q * (1 - q)"
    ),
}


def mistaken_lstm_step_backward(
    step: LSTMStep, dh: np.ndarray, dc_next: np.ndarray, mistake: str
) -> dict[str, np.ndarray]:
    """What lstm_step_backward computes when it makes ``mistake`` (a key of LSTM_STEP_MISTAKES).

    A deliberately broken twin of bptt_core.cells.lstm_step_backward, used to recognise
    learners' mistakes. Never use it for training.
    """
    if mistake not in LSTM_STEP_MISTAKES:
        raise ValueError(f"mistake: expected one of "
                         f"{', '.join(map(repr, LSTM_STEP_MISTAKES))}, got {mistake!r}")
    f, i, c_tilde, q, c_prev, c = step.f, step.i, step.c_tilde, step.q, step.c_prev, step.c
    tanh_c = np.tanh(c)
    no_sigmoid = mistake == "sigmoid derivative missing"

    def sigmoid_slope(s: np.ndarray) -> np.ndarray | float:
        return 1.0 if no_sigmoid else s * (1.0 - s)

    cell_slope = {"tanh derivative of the cell missing": 1.0,
                  "tanh derivative taken at c_t instead of tanh(c_t)": 1.0 - c**2
                  }.get(mistake, 1.0 - tanh_c**2)
    from_next = 0.0 if mistake == "cell gradient from step t+1 missing" else dc_next
    dc = dh * q * cell_slope + from_next
    df = dc if mistake == "forget gate gradient missing c_{t-1}" else dc * c_prev
    candidate_slope = 1.0 if mistake == "candidate tanh derivative missing" else 1.0 - c_tilde**2
    shown = c if mistake == "output gate gradient uses c_t instead of tanh(c_t)" else tanh_c
    return {
        "da_f": df * sigmoid_slope(f),
        "da_i": dc * c_tilde * sigmoid_slope(i),
        "da_c": dc * i * candidate_slope,
        "da_q": dh * shown * sigmoid_slope(q),
        "dc_prev": dc if mistake == "dc_prev missing the forget gate" else dc * f,
    }


def lstm_step_problem(seed: int = 3) -> tuple[LSTMStep, np.ndarray, np.ndarray]:
    """The small fixed problem the check uses: step t = 4 of an LSTM with H = 5, one sequence.

    Forget bias about 1 (as init_lstm), random other biases, inputs and c0, so that the cell
    states reach |c_t| > 1 and the gates spread over (0, 1): each mistake in
    LSTM_STEP_MISTAKES then moves the answer by more than 10% (tested), far above the
    tolerance. Returns (step, dh, dc_next), all float64 of shape (5,).
    """
    rng = np.random.default_rng(seed)
    params = init_lstm(3, 5, 2, seed=seed)
    for name in ("b_f", "b_i", "b_c", "b_q"):
        setattr(params, name, rng.normal(0.0, 0.7, size=5))
    params.b_f += 1.0
    xs, c0 = rng.normal(0.0, 1.5, size=(4, 3)), rng.normal(0.0, 1.5, size=5)
    cache = lstm_forward(params, xs, c0=c0)
    return cache.step(4), rng.normal(size=5), rng.normal(size=5)


def check_lstm_step_backward(
    backward: Callable[[LSTMStep, np.ndarray, np.ndarray], Mapping[str, object]],
) -> CheckResult:
    """Check a hand-written LSTM step backward: ``backward(step, dh, dc_next)`` -> dict.

    step has the attributes f, i, c_tilde, q (the gates of step t), c_prev (c_{t-1}) and
    c (c_t); dh is dL/dh_t, dc_next the cell gradient arriving from step t+1. The function
    must return {"da_f", "da_i", "da_c", "da_q", "dc_prev"} like
    bptt_core.cells.lstm_step_backward. Returns a CheckResult; print it or assert it.
    """
    step, dh, dc_next = lstm_step_problem()
    mistakes = {m: (mistaken_lstm_step_backward(step, dh, dc_next, m), hint)
                for m, hint in LSTM_STEP_MISTAKES.items()}
    return run_check(backward, (step, dh, dc_next), lstm_step_backward(step, dh, dc_next),
                     mistakes)
