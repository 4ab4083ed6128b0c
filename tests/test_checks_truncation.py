"""The chapter 10 self-check: the (t, k) pairs BPTT(k1, k2) keeps, and the mistakes it names.

``student_kept_pairs`` below is written the way a learner writes it, a loop over the window
ends with the window's losses and uses inside, independently of bptt_core.truncation, with
switches for the usual mistakes. ``student_slices`` is a second learner who fills each row
with a slice instead of a loop over k.
"""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core.checks.truncation import (
    KEPT_PAIRS_MISTAKES,
    check_kept_pairs,
    mistaken_kept_pairs,
)
from bptt_core.truncation import truncated_bptt, truncation_mask

BUGS = {  # switch -> the mistake the self-check should name
    "per_loss": "k2 counted from each loss step",
    "from_start": "k2 counted from the window's first step",
    "long": "backward pass one step too long",
    "no_tail": "final partial window forgotten",
    "no_end_loss": "window's last loss left out",
    "no_diagonal": "own step left out",
    "future": "future uses included",
    "no_clip": "first use not clipped at step 1",
}


def student_kept_pairs(T, k1, k2, bug=None):
    mask = np.zeros((T, T), dtype=bool)
    window_ends = list(range(k1, T + 1, k1))
    if T % k1 != 0 and bug != "no_tail":
        window_ends.append(T)
    start = 1  # first loss step of the current window
    for end in window_ends:
        last = end if bug != "no_end_loss" else end - 1
        for t in range(start, last + 1):
            if bug == "per_loss":
                first = t - k2 + 1
            elif bug == "from_start":
                first = start - k2 + 1
            elif bug == "long":
                first = end - k2
            else:
                first = end - k2 + 1
            if bug != "no_clip":
                first = max(first, 1)
            stop = {"no_diagonal": t, "future": end + 1}.get(bug, t + 1)
            for k in range(first, stop):
                mask[t - 1][k - 1] = True
        start = end + 1
    return mask


def student_slices(T, k1, k2, clip=True):
    mask = np.zeros((T, T))  # 0/1 floats are accepted as well as booleans
    for end in sorted({*range(k1, T + 1, k1), T}):
        first = max(1, end - k2 + 1) if clip else end - k2 + 1
        for t in range(end - k1 + 1, end + 1):
            if t >= 1:
                mask[t - 1, first - 1:t] = 1.0
    return mask


def test_the_correct_students_pass():
    for student in (student_kept_pairs, student_slices):
        result = check_kept_pairs(student)
        assert result.correct and result.mistake is None and "correct" in str(result)


@pytest.mark.parametrize("T,k1,k2", [(11, 3, 5), (12, 4, 4), (7, 1, 2), (9, 2, 30), (1, 1, 1)])
def test_the_correct_students_agree_with_bptt_core_elsewhere(T, k1, k2):
    expected = truncation_mask(T, k1, k2)
    # exact by construction: boolean masks
    assert np.array_equal(student_kept_pairs(T, k1, k2), expected)
    # exact by construction: boolean masks
    assert np.array_equal(student_slices(T, k1, k2).astype(bool), expected)


@pytest.mark.parametrize("bug", BUGS)
def test_self_check_names_each_mistake(bug):
    result = check_kept_pairs(lambda T, k1, k2: student_kept_pairs(T, k1, k2, bug))
    assert not result
    assert result.mistake == BUGS[bug]
    assert KEPT_PAIRS_MISTAKES[BUGS[bug]] in result.message


def test_the_unclipped_slice_is_named_too():
    result = check_kept_pairs(lambda T, k1, k2: student_slices(T, k1, k2, clip=False))
    assert not result and result.mistake == "first use not clipped at step 1 (slice)"


def test_every_catalogued_mistake_is_planted_above():
    assert set(BUGS.values()) | {"first use not clipped at step 1 (slice)"} \
        == set(KEPT_PAIRS_MISTAKES)


def test_the_mistakes_are_told_apart():
    outputs = [mistaken_kept_pairs(11, 3, 5, m) for m in KEPT_PAIRS_MISTAKES]
    outputs.append(truncation_mask(11, 3, 5))
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            # exact by construction: boolean masks
            assert not np.array_equal(a, b)


def test_each_mistake_gives_a_wrong_truncated_gradient():
    # summing the contributions over a mistaken mask does not give truncated_bptt's gradient,
    # except for the mistakes that only add pairs k > t, whose contributions are exactly zero
    rng = np.random.default_rng(0)
    params = bc.init_rnn(3, 4, 2, seed=0)
    xs, targets = rng.normal(size=(11, 3)), rng.normal(size=(11, 2))
    cache = bc.rnn_forward(params, xs)
    _, dy = bc.mse_loss(cache.y, targets)
    C = bc.contributions(params, cache, dy, "W_hh")
    right = truncated_bptt(params, xs, targets, 3, 5)[1]["W_hh"]
    assert bc.rel_error(C[truncation_mask(11, 3, 5)].sum(axis=0), right) < 1e-12
    for bug in BUGS:
        wrong = C[student_kept_pairs(11, 3, 5, bug)].sum(axis=0)
        if bug in ("future", "no_clip"):
            assert bc.rel_error(wrong, right) < 1e-12, bug
        else:
            assert bc.rel_error(wrong, right) > 1e-3, bug


def test_an_unrelated_error_reports_the_relative_error():
    def one_pair_more(T, k1, k2):
        mask = truncation_mask(T, k1, k2)
        mask[T - 1, 0] = True
        return mask

    result = check_kept_pairs(one_pair_more)
    assert not result and result.mistake is None
    assert "relative error" in result.message and "no common mistake fits" in result.message


def test_a_wrong_shape_and_an_exception_are_reported():
    result = check_kept_pairs(lambda T, k1, k2: truncation_mask(T, k1, k2)[:-1])
    assert not result and "expected shape (11, 11), got (10, 11)" in result.message

    def zero_based(T, k1, k2):
        mask = np.zeros((T, T), dtype=bool)
        mask[T, T] = True
        return mask

    result = check_kept_pairs(zero_based)
    assert not result and "your function raised IndexError" in result.message


def test_mistaken_kept_pairs_rejects_unknown_mistakes():
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_kept_pairs(11, 3, 5, "typo")
