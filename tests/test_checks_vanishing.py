"""The chapter 8 self-checks: Jacobian products dh_t/dh_k, and the one-unit memory.

``student_products`` and ``student_latch`` below are written the way a learner writes them,
independently of bptt_core.flow and of the mistake generators, with switches for the usual
mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core.checks.backward import check_problem
from bptt_core.checks.vanishing import (
    JACOBIAN_PRODUCT_MISTAKES,
    LATCH_MISTAKES,
    check_jacobian_products,
    check_latch,
    mistaken_jacobian_products,
    mistaken_latch,
)
from bptt_core.flow import jacobian_products

PRODUCT_BUGS = {  # switch -> the mistake the self-check should name
    "reversed": "product in the wrong order",
    "whh_transposed": "W_hh transposed",
    "jacobian_transposed": "Jacobians transposed",
    "no_slope": "tanh slope missing",
    "previous_slope": "slope of the previous state",
    "short": "product one factor too short",
    "upper_identity": "identity above the diagonal",
}


def student_products(params, cache, bug=None):
    hs, Whh = cache.h, params.W_hh  # hs[t] is h_t
    T, H = hs.shape[0] - 1, Whh.shape[0]

    def jac(j):  # dh_j/dh_{j-1}
        if bug == "no_slope":
            return Whh.copy()
        d = 1 - (hs[j - 1] if bug == "previous_slope" else hs[j]) ** 2
        if bug == "jacobian_transposed":
            return Whh.T @ np.diag(d)
        return np.diag(d) @ (Whh.T if bug == "whh_transposed" else Whh)

    out = np.zeros((T + 1, T + 1, H, H))
    for t in range(T + 1):
        for k in range(T + 1):
            if k > t and bug != "upper_identity":
                continue
            lo = k + 2 if bug == "short" else k + 1
            js = list(range(lo, t + 1))  # k+1, ..., t
            if bug != "reversed":
                js = js[::-1]  # t first
            M = np.eye(H)
            for j in js:
                M = M @ jac(j)
            out[t, k] = M
    return out


def test_the_correct_student_passes():
    result = check_jacobian_products(student_products)
    assert result.correct and result.mistake is None and "correct" in str(result)
    params, cache, _ = check_problem()
    assert bc.rel_error(student_products(params, cache), jacobian_products(params, cache)) < 1e-12


@pytest.mark.parametrize("bug", PRODUCT_BUGS)
def test_the_products_check_names_each_mistake(bug):
    result = check_jacobian_products(lambda p, c: student_products(p, c, bug))
    assert not result
    assert result.mistake == PRODUCT_BUGS[bug]
    assert JACOBIAN_PRODUCT_MISTAKES[PRODUCT_BUGS[bug]] in result.message


@pytest.mark.parametrize("bug", PRODUCT_BUGS)
def test_each_product_mistake_is_really_wrong(bug):
    params, cache, _ = check_problem()
    wrong = student_products(params, cache, bug)
    assert bc.rel_error(wrong, jacobian_products(params, cache)) > 1e-2


def test_every_catalogued_product_mistake_is_planted_above():
    assert set(PRODUCT_BUGS.values()) == set(JACOBIAN_PRODUCT_MISTAKES)


def test_the_product_mistakes_are_told_apart():
    params, cache, _ = check_problem()
    outputs = [mistaken_jacobian_products(params, cache, m) for m in JACOBIAN_PRODUCT_MISTAKES]
    outputs.append(jacobian_products(params, cache))
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            assert bc.rel_error(a, b) > 1e-3


def test_an_unrelated_product_error_reports_the_relative_error():
    def scaled(params, cache):
        return 1.1 * jacobian_products(params, cache)

    result = check_jacobian_products(scaled)
    assert not result and result.mistake is None
    assert "relative error 0.091" in result.message and "no common mistake fits" in result.message


def test_products_of_the_wrong_shape_are_reported():
    def without_h0(params, cache):
        return jacobian_products(params, cache)[1:, 1:]

    result = check_jacobian_products(without_h0)
    assert not result and "expected shape (6, 6, 4, 4), got (5, 5, 4, 4)" in result.message


def test_an_unfinished_products_function_is_reported():
    def skeleton(params, cache):
        raise NotImplementedError

    assert "not implemented yet" in str(check_jacobian_products(skeleton))


def test_mistaken_products_rejects_unknown_mistakes():
    params, cache, _ = check_problem()
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_jacobian_products(params, cache, "typo")


LATCH_BUGS = {
    "zero": "the unstable fixed point",
    "negative": "the negative fixed point",
    "h": "the fixed point of h instead of a",
    "no_slope": "tanh slope missing in the gain",
    "no_w": "w missing from the gain",
    "slope_at_a": "slope taken at a instead of tanh(a)",
}


def student_latch(w, bug=None):
    # bisection on a - w tanh(a) = 0 over (0.5, w]: the positive root
    lo, hi = 0.5, float(w)
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if mid - w * np.tanh(mid) > 0:
            hi = mid
        else:
            lo = mid
    a = 0.5 * (lo + hi)
    if bug == "zero":
        a = 0.0
    t = np.tanh(a)
    gains = {"no_slope": w, "no_w": 1 - t * t, "slope_at_a": w * (1 - a * a)}
    gain = gains.get(bug, w * (1 - t * t))
    if bug == "negative":
        a = -a
    if bug == "h":
        a = t
    return a, gain


def test_the_correct_latch_passes():
    result = check_latch(student_latch)
    assert result.correct and "correct" in str(result)


@pytest.mark.parametrize("bug", LATCH_BUGS)
def test_the_latch_check_names_each_mistake(bug):
    result = check_latch(lambda w: student_latch(w, bug))
    assert not result
    assert result.mistake == LATCH_BUGS[bug]
    assert LATCH_MISTAKES[LATCH_BUGS[bug]] in result.message


def test_every_catalogued_latch_mistake_is_planted_above():
    assert set(LATCH_BUGS.values()) == set(LATCH_MISTAKES)


def test_an_unrelated_latch_error_reports_the_relative_error():
    result = check_latch(lambda w: (student_latch(w)[0], 1.1 * student_latch(w)[1]))
    assert not result and result.mistake is None
    assert "gain (relative error 0.091)" in result.message and "the others match" in result.message


def test_a_latch_that_returns_one_number_is_reported():
    result = check_latch(lambda w: 1.0)
    assert not result and "expected two numbers (a_star, gain) for w = 1.5" in result.message


def test_a_latch_fixed_point_iterated_too_briefly_is_caught():
    def five_steps(w):
        a = 1.0
        for _ in range(5):
            a = w * np.tanh(a)
        return a, w * (1 - np.tanh(a) ** 2)

    assert not check_latch(five_steps)


def test_mistaken_latch_rejects_unknown_mistakes():
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_latch(2.0, "typo")
