"""The chapter 14 self-check: the weights of randomized truncation, and the mistakes it names.

``student_weights`` is written the way a learner writes it (a double loop with a running
product), independently of bptt_core.stateful, with switches for the usual mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core.checks.stateful import (
    CHECK_KEPT,
    CHECK_PI,
    PAIR_WEIGHT_MISTAKES,
    check_pair_weights,
    mistaken_pair_weights,
)
from bptt_core.stateful import pair_weights

BUGS = {
    "plain": "no reweighting",
    "times": "multiplied by pi",
    "extra": "one link too many",
    "shift": "links shifted by one",
    "nocut": "cuts ignored",
    "upper": "upper triangle filled",
    "nodiag": "diagonal left out",
}


def student_weights(kept, pi, bug=None):
    T = len(kept)
    w = np.zeros((T, T))
    for t in range(1, T + 1):
        for k in range(1, t + 1):
            product = 1.0 if bug != "nodiag" or k < t else 0.0
            first = k if bug == "extra" else k + 1
            for j in range(first, t + 1):
                eps = kept[j] if (bug == "shift" and j < T) else (True if bug == "shift"
                                                                  else kept[j - 1])
                if bug == "nocut":
                    eps = True
                factor = {"plain": 1.0, "times": pi}.get(bug, 1.0 / pi)
                product *= factor if eps else 0.0
            w[t - 1, k - 1] = product
            if bug == "upper":
                w[k - 1, t - 1] = product
    return w


def test_correct_student_passes():
    result = check_pair_weights(student_weights)
    assert result, result.message
    assert check_pair_weights(pair_weights)


@pytest.mark.parametrize("bug", list(BUGS))
def test_each_mistake_is_named(bug):
    result = check_pair_weights(lambda kept, pi: student_weights(kept, pi, bug))
    assert not result and result.mistake == BUGS[bug], result.message


def test_the_mistakes_are_distinct_and_wrong():
    right = pair_weights(CHECK_KEPT, CHECK_PI)
    outputs = [mistaken_pair_weights(CHECK_KEPT, CHECK_PI, m) for m in PAIR_WEIGHT_MISTAKES]
    for i, a in enumerate(outputs):
        assert np.max(np.abs(a - right)) > 0.1
        for b in outputs[i + 1:]:
            assert np.max(np.abs(a - b)) > 0.1


def test_not_implemented_and_unknown_mistake():
    def stub(kept, pi):
        raise NotImplementedError

    assert "not implemented" in check_pair_weights(stub).message
    with pytest.raises(ValueError, match=r"^mistake: expected one of"):
        mistaken_pair_weights(CHECK_KEPT, CHECK_PI, "typo")
