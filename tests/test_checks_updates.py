"""The update self-checks name each mistake a learner makes, written here as a learner would."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bptt_core.checks.updates import (
    ADAM_MISTAKES,
    SGD_MISTAKES,
    adam_problem,
    check_adam_update,
    check_sgd_update,
    mistaken_adam_update,
    mistaken_sgd_update,
)
from bptt_core.gradcheck import rel_error

# --- SGD ------------------------------------------------------------------------------------


def sgd_right(theta, g, lr):
    return theta - lr * g


SGD_STUDENTS = {  # a learner's code -> the mistake the check should name
    "sign flipped": lambda theta, g, lr: theta + lr * g,
    "learning rate forgotten": lambda theta, g, lr: theta - g,
    "step returned instead of the new parameters": lambda theta, g, lr: -lr * g,
}


def test_a_correct_sgd_update_passes():
    result = check_sgd_update(sgd_right)
    assert result and result.mistake is None and "correct" in str(result)


def test_an_in_place_sgd_update_passes_too():
    def in_place(theta, g, lr):
        theta -= lr * g
        return theta

    assert check_sgd_update(in_place)


@pytest.mark.parametrize("mistake", SGD_STUDENTS)
def test_each_sgd_mistake_gets_its_own_hint(mistake):
    result = check_sgd_update(SGD_STUDENTS[mistake])
    assert not result and result.mistake == mistake
    assert SGD_MISTAKES[mistake] in result.message


def test_an_unrelated_sgd_error_reports_the_relative_error():
    result = check_sgd_update(lambda theta, g, lr: theta - 0.9 * lr * g)
    assert not result and result.mistake is None
    assert "relative error" in result.message and "no common mistake fits" in result.message


# --- Adam -----------------------------------------------------------------------------------


def adam_student(theta, g, m, v, t, lr, beta1, beta2, eps, bug=None):
    """A learner's Adam on one array, with a switch for each usual mistake."""
    if bug == "swap":
        m = beta1 * g + (1 - beta1) * m
        v = beta2 * g * g + (1 - beta2) * v
    else:
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g if bug == "v_of_g" else g * g)
    if bug == "no_correction":
        m_hat, v_hat = m, v
    else:
        k = {"t_unused": 1, "t_minus_1": t - 1, "t_plus_1": t + 1}.get(bug, t)
        m_hat = m / (1 - math.pow(beta1, k))
        v_hat = v / (1 - math.pow(beta2, k))
    if bug == "eps_inside":
        update = lr * m_hat / np.sqrt(v_hat + eps)
    else:
        update = lr * m_hat / (np.sqrt(v_hat) + eps)
    theta = theta + update if bug == "ascent" else theta - update
    if bug == "store_hat":
        return theta, m_hat, v_hat
    return theta, m, v


ADAM_BUGS = {  # switch -> the mistake the check should name
    "no_correction": "no bias correction",
    "t_unused": "t missing from the bias correction",
    "t_minus_1": "step count off by one (t - 1)",
    "t_plus_1": "step count off by one (t + 1)",
    "eps_inside": "eps inside the square root",
    "v_of_g": "v accumulates g instead of g^2",
    "swap": "beta and 1 - beta swapped",
    "store_hat": "bias-corrected moments returned",
    "ascent": "sign flipped",
}


def test_a_correct_adam_update_passes():
    result = check_adam_update(adam_student)
    assert result and result.mistake is None and "correct" in str(result)


@pytest.mark.parametrize("bug", ADAM_BUGS)
def test_each_adam_mistake_gets_its_own_hint(bug):
    result = check_adam_update(lambda *args: adam_student(*args, bug=bug))
    assert not result
    assert result.mistake == ADAM_BUGS[bug]
    assert ADAM_MISTAKES[ADAM_BUGS[bug]] in result.message


def test_every_catalogued_mistake_is_planted_above():
    assert set(ADAM_BUGS.values()) == set(ADAM_MISTAKES)
    assert set(SGD_STUDENTS) == set(SGD_MISTAKES)


def test_the_fixed_problem_tells_every_mistake_apart():
    args = adam_problem()
    outputs = [mistaken_adam_update(*args)]
    outputs += [mistaken_adam_update(*args, mistake=m) for m in ADAM_MISTAKES]
    for out in outputs:
        assert all(np.isfinite(value).all() for value in out.values())
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            assert max(rel_error(a[k], b[k]) for k in a) > 1e-2


def test_an_unrelated_adam_error_says_which_output_is_wrong():
    def lr_doubled(*args):
        theta, g, m, v, t, lr, beta1, beta2, eps = args
        return adam_student(theta, g, m, v, t, 2 * lr, beta1, beta2, eps)

    result = check_adam_update(lr_doubled)
    assert not result and result.mistake is None
    assert "theta_new (relative error" in result.message and "the others match" in result.message


def test_a_wrong_return_type_is_explained():
    result = check_adam_update(lambda *args: adam_student(*args)[0])
    assert not result and "expected a tuple (theta_new, m_new, v_new)" in result.message
    result = check_adam_update(lambda *args: adam_student(*args)[:2])
    assert not result and "a tuple of length 2" in result.message


def test_unfinished_and_crashing_functions_are_reported():
    def unfinished(*args):
        raise NotImplementedError

    assert "not implemented yet" in check_adam_update(unfinished).message
    assert "raised ZeroDivisionError" in check_sgd_update(lambda theta, g, lr: 1 / 0).message


def test_mistake_generators_reject_unknown_mistakes():
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_adam_update(*adam_problem(), mistake="typo")
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_sgd_update(np.zeros(2), np.ones(2), 0.1, mistake="typo")
