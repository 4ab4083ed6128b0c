"""The chapter 2 self-check: a correct MSE gradient passes, each usual mistake is named.

The "students" below are written independently of bptt_core and of the mistake generator,
the way learners write them: loops over steps, or one vectorised line.
"""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core.checks.loss import (
    BATCH_ONLY_MISTAKES,
    MSE_GRADIENT_MISTAKES,
    check_mse_gradient,
    mistaken_mse_gradient,
    mse_check_problems,
)


def correct_loops(y, target):
    flat_y, flat_d = y.reshape(y.shape[0], -1), target.reshape(target.shape[0], -1)
    N = flat_y.shape[0] * flat_y.shape[1]
    grad = np.zeros_like(flat_y)
    for t in range(flat_y.shape[0]):
        for k in range(flat_y.shape[1]):
            grad[t, k] = 2.0 / N * (flat_y[t, k] - flat_d[t, k])
    return grad.reshape(y.shape)


def correct_vectorised(y, target):
    return 2 * (y - target) / np.prod(y.shape)


def wrong_sign(y, target):
    return 2 * (target - y) / y.size


def factor_two_missing(y, target):
    return (y - target) / y.size


def divided_by_steps(y, target):
    T = len(y)
    return 2 * (y - target) / T


def batch_left_out(y, target):
    T, O = y.shape[0], y.shape[-1]  # N = T*O: right for one sequence, not for a batch
    return 2 * (y - target) / (T * O)


def no_division(y, target):
    return 2 * (y - target)


def summed_over_steps(y, target):
    N = y.size
    total = sum(y[t] - target[t] for t in range(len(y)))
    return np.stack([2 / N * total for _ in range(len(y))])


def article_formula(y, target):
    n = y.size
    grad = np.empty_like(y)
    for t in range(len(y)):
        grad[t] = 2 / n * np.sum(target - y, axis=0)  # (2/n) sum_t (y - y_t), y the target
    return grad


STUDENTS = {
    wrong_sign: "wrong sign",
    factor_two_missing: "factor 2 missing",
    divided_by_steps: "divided by the number of steps",
    no_division: "no division by N",
    summed_over_steps: "summed over steps",
    article_formula: "the first article's formula",
}


@pytest.mark.parametrize("student", [correct_loops, correct_vectorised])
def test_a_correct_gradient_passes(student):
    result = check_mse_gradient(student)
    assert result and result.mistake is None and "✓ correct" in result.message


@pytest.mark.parametrize("student", STUDENTS, ids=lambda f: f.__name__)
def test_each_mistake_gets_its_own_hint(student):
    result = check_mse_gradient(student)
    assert not result
    assert result.mistake == STUDENTS[student]
    assert MSE_GRADIENT_MISTAKES[STUDENTS[student]] in result.message
    assert "one sequence (T, O) = (4, 3)" in result.message  # caught on the first problem


def test_a_mistake_seen_only_in_a_batch_is_named_on_the_batch():
    result = check_mse_gradient(batch_left_out)
    assert not result and result.mistake == "batch left out of N"
    assert MSE_GRADIENT_MISTAKES["batch left out of N"] in result.message
    assert "a batch (T, B, O) = (4, 2, 3)" in result.message


def test_every_catalogued_mistake_is_planted_above():
    planted = set(STUDENTS.values()) | {"batch left out of N"}
    assert planted == set(MSE_GRADIENT_MISTAKES)
    assert BATCH_ONLY_MISTAKES <= set(MSE_GRADIENT_MISTAKES)


def test_an_unrelated_error_reports_the_relative_error():
    result = check_mse_gradient(lambda y, target: 1.1 * correct_vectorised(y, target))
    assert not result and result.mistake is None
    assert "relative error 0.091" in result.message  # |1.1 - 1| / 1.1


def test_the_batch_is_checked_too():
    def divides_by_first_two_axes(y, target):  # right for (T, O), wrong for (T, B, O)
        return 2 * (y - target) / (y.shape[0] * y.shape[1])

    result = check_mse_gradient(divides_by_first_two_axes)
    assert not result and result.mistake is None
    assert "a batch (T, B, O) = (4, 2, 3)" in result.message
    assert "relative error" in result.message


def test_shape_and_unfinished_functions_are_reported():
    def one_number(y, target):
        return np.mean(2 * (y - target))

    def unfinished(y, target):
        raise NotImplementedError

    assert "expected shape (4, 3), got ()" in check_mse_gradient(one_number).message
    assert "not implemented yet" in check_mse_gradient(unfinished).message


def test_the_mistakes_are_distinguishable_on_the_fixed_problems():
    for y, target in mse_check_problems():
        outputs = [bc.mse_loss(y, target)[1]]
        outputs += [mistaken_mse_gradient(y, target, m) for m in MSE_GRADIENT_MISTAKES
                    if y.ndim == 3 or m not in BATCH_ONLY_MISTAKES]
        for i, first in enumerate(outputs):
            for second in outputs[i + 1:]:
                assert bc.rel_error(first, second) > 0.1


def test_the_fixed_problems_have_more_elements_than_steps():
    for y, _ in mse_check_problems():
        assert y.shape[0] >= 3 and y.shape[-1] >= 2 and y.size > y.shape[0]


def test_unknown_mistakes_are_rejected():
    y, target = mse_check_problems()[0]
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_mse_gradient(y, target, "typo")
