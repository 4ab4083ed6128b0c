"""The chapter 11 self-check: one GRU step backward, and the mistakes it names.

``student_step_backward`` below is written the way a learner writes it, unit by unit with the
chain rule spelled out in scalars, independently of bptt_core.cells and of the mistake
generator, with a switch for each usual mistake.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import assert_answers_far_apart

import bptt_core as bc
from bptt_core.checks import GRU_STEP_MISTAKES, check_gru_step_backward
from bptt_core.checks.gru import (
    OUTPUT_NAMES,
    GRUStep,
    gru_step_problem,
    gru_step_reference,
    mistaken_gru_step_backward,
)

BUGS = {  # switch -> the mistake the self-check should name
    "no_r_in_candidate_path": "reset gate missing from the path through the candidate",
    "swapped_u": "u_t and 1 - u_t swapped",
    "no_sigmoid_slope": "sigmoid derivative missing",
    "no_tanh_slope": "tanh derivative of the candidate missing",
    "no_direct_path": "direct path dh * u_t missing",
    "du_without_n": "update gate gradient missing -n_t",
    "dr_without_h": "reset gate gradient missing h_{t-1}",
    "not_transposed": "recurrent matrices not transposed",
    "no_gate_paths": "paths through the gates missing",
}


def student_step_backward(params, step, dh, bug=None):
    H = len(dh)
    W_hu, W_hr, W_hn = params.W_hu, params.W_hr, params.W_hn
    if bug == "not_transposed":  # entry (p, q) read as (q, p) below
        W_hu, W_hr, W_hn = W_hu.T, W_hr.T, W_hn.T

    def sig_slope(v):
        return 1.0 if bug == "no_sigmoid_slope" else v * (1 - v)

    da_u, da_n = np.zeros(H), np.zeros(H)
    for j in range(H):
        u, n, hp = step.u[j], step.n[j], step.h_prev[j]
        # h = u * h_prev + (1 - u) * n   (or, swapped, (1 - u) * h_prev + u * n)
        dh_du = (n - hp) if bug == "swapped_u" else (hp if bug == "du_without_n" else hp - n)
        dh_dn = u if bug == "swapped_u" else 1 - u
        da_u[j] = dh[j] * dh_du * sig_slope(u)
        da_n[j] = dh[j] * dh_dn * (1.0 if bug == "no_tanh_slope" else 1 - n * n)
    # a^n = W_hn (r * h_prev) + ...: the gradient at the product r * h_prev, entry by entry
    d_rh = np.array([sum(W_hn[i, j] * da_n[i] for i in range(H)) for j in range(H)])
    da_r = np.zeros(H)
    dh_prev = np.zeros(H)
    for j in range(H):
        r, u = step.r[j], step.u[j]
        da_r[j] = d_rh[j] * (1.0 if bug == "dr_without_h" else step.h_prev[j]) * sig_slope(r)
        keep = 1 - u if bug == "swapped_u" else u
        dh_prev[j] += 0.0 if bug == "no_direct_path" else dh[j] * keep
        dh_prev[j] += d_rh[j] * (1.0 if bug == "no_r_in_candidate_path" else r)
    if bug != "no_gate_paths":
        for j in range(H):
            dh_prev[j] += sum(W_hu[i, j] * da_u[i] + W_hr[i, j] * da_r[i] for i in range(H))
    return {"da_u": da_u, "da_r": da_r, "da_n": da_n, "dh_prev": dh_prev}


def test_the_correct_student_passes():
    result = check_gru_step_backward(student_step_backward)
    assert result and result.mistake is None and "correct" in str(result)


@pytest.mark.parametrize("bug", BUGS)
def test_self_check_names_each_mistake(bug):
    result = check_gru_step_backward(lambda p, s, dh: student_step_backward(p, s, dh, bug))
    assert not result
    assert result.mistake == BUGS[bug]
    assert GRU_STEP_MISTAKES[BUGS[bug]] in result.message


def test_every_catalogued_mistake_is_planted_above():
    assert set(BUGS.values()) == set(GRU_STEP_MISTAKES)


def test_the_reference_agrees_with_finite_differences():
    params, step, dh = gru_step_problem()
    ref = gru_step_reference(params, step, dh)

    def pulled(a_u, a_r, a_n, h_prev):  # dh . h_t as a function of the step's inputs
        u, r = 1 / (1 + np.exp(-a_u)), 1 / (1 + np.exp(-a_r))
        n = np.tanh(a_n + params.W_hn @ (r * h_prev) - params.W_hn @ (step.r * step.h_prev))
        return dh @ (u * h_prev + (1 - u) * n)

    a_u, a_r = np.log(step.u / (1 - step.u)), np.log(step.r / (1 - step.r))
    a_n = np.arctanh(step.n)
    numeric = {
        "da_u": bc.numerical_gradient(lambda v: pulled(v, a_r, a_n, step.h_prev), a_u.copy()),
        "da_r": bc.numerical_gradient(lambda v: pulled(a_u, v, a_n, step.h_prev), a_r.copy()),
        "da_n": bc.numerical_gradient(lambda v: pulled(a_u, a_r, v, step.h_prev), a_n.copy()),
    }
    for name, value in numeric.items():
        assert bc.rel_error(ref[name], value) < 1e-7, name
    # h_{t-1} also moves the gates: a^u, a^r (and a^n) contain W_h* h_{t-1}

    def through_all(h_prev):
        da = {g: getattr(params, f"W_h{g}") @ (h_prev - step.h_prev) for g in "ur"}
        return pulled(a_u + da["u"], a_r + da["r"], a_n, h_prev)

    dh_prev = bc.numerical_gradient(through_all, step.h_prev.copy())
    assert bc.rel_error(ref["dh_prev"], dh_prev) < 1e-7


def test_mistakes_are_far_apart_from_each_other_and_from_the_answer():
    params, step, dh = gru_step_problem()
    answers = {m: mistaken_gru_step_backward(params, step, dh, m) for m in GRU_STEP_MISTAKES}
    answers["correct"] = gru_step_reference(params, step, dh)
    assert_answers_far_apart(answers, OUTPUT_NAMES)


def test_an_unrelated_error_gets_the_relative_error_message():
    def sloppy(params, step, dh):
        out = student_step_backward(params, step, dh)
        return {**out, "da_r": out["da_r"] * 1.01}

    result = check_gru_step_backward(sloppy)
    assert not result and result.mistake is None
    assert "da_r (relative error" in result.message and "the others match" in result.message


def test_bad_returns_get_a_clear_verdict():
    def as_tuple(params, step, dh):
        return tuple(student_step_backward(params, step, dh).values())

    def wrong_shape(params, step, dh):
        out = student_step_backward(params, step, dh)
        return {**out, "dh_prev": out["dh_prev"][:, None]}

    def with_nan(params, step, dh):
        out = student_step_backward(params, step, dh)
        out["da_u"][0] = np.nan
        return out

    def partial(params, step, dh):
        out = student_step_backward(params, step, dh)
        return {name: v for name, v in out.items() if name != "dh_prev"}

    def unfinished(params, step, dh):
        raise NotImplementedError

    def in_float32(params, step, dh):
        out = student_step_backward(params, step, dh)
        return {name: v.astype(np.float32) for name, v in out.items()}

    cases = {as_tuple: "expected a dict with keys da_u, da_r, da_n, dh_prev, got tuple",
             wrong_shape: "dh_prev: expected shape (5,), got (5, 1)",
             with_nan: "da_u contains NaN or inf",
             partial: "missing output(s): dh_prev",
             unfinished: "not implemented",
             in_float32: "float64"}
    for function, message in cases.items():
        result = check_gru_step_backward(function)
        assert not result and message in result.message, (function.__name__, result.message)


def test_the_learners_arguments_are_copies():
    def vandal(params, step, dh):
        out = student_step_backward(params, step, dh)
        step.u[:] = 0.0
        params.W_hn[:] = 0.0
        return out

    assert check_gru_step_backward(vandal)
    assert check_gru_step_backward(student_step_backward)


def test_the_check_problem_is_a_real_step_with_spread_gates():
    params, step, dh = gru_step_problem()
    assert isinstance(step, GRUStep) and dh.shape == step.u.shape == (5,)
    assert step.u.min() < 0.3 and step.u.max() > 0.7
    assert np.min(np.abs(step.h_prev - step.n)) > 0.01


def test_an_unknown_mistake_is_refused():
    params, step, dh = gru_step_problem()
    with pytest.raises(ValueError, match="^mistake: expected one of"):
        mistaken_gru_step_backward(params, step, dh, "typo")
