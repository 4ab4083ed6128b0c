"""The chapter 16 self-check: bits per character from logits, and the mistakes it names.

The learners below write the formula in the usual ways, independently of bptt_core.text.
"""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core.checks.text import BITS_MISTAKES, check_bits_per_char, mistaken_bits


def log_probs(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def right(z, c):
    return -np.mean(log_probs(z)[np.arange(len(c)), c]) / np.log(2)


def right_via_probabilities(z, c):
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    return float(np.mean([-np.log2(p[t, c[t]]) for t in range(len(c))]))


STUDENTS = {
    "nats instead of bits": lambda z, c: -np.mean(log_probs(z)[np.arange(len(c)), c]),
    "log10": lambda z, c: -np.mean(log_probs(z)[np.arange(len(c)), c]) / np.log(10),
    "sum instead of mean": lambda z, c: -np.sum(log_probs(z)[np.arange(len(c)), c]) / np.log(2),
    "logits used as log-probabilities":
        lambda z, c: -np.mean(z[np.arange(len(c)), c]) / np.log(2),
    "off by one": lambda z, c: right(z[:-1], c[1:]),
    "sign flipped": lambda z, c: np.mean(log_probs(z)[np.arange(len(c)), c]) / np.log(2),
}


def test_correct_students_pass():
    assert check_bits_per_char(right)
    assert check_bits_per_char(right_via_probabilities)


@pytest.mark.parametrize("mistake", list(STUDENTS))
def test_each_mistake_is_named(mistake):
    result = check_bits_per_char(STUDENTS[mistake])
    assert not result and result.mistake == mistake, result.message


def test_the_mistakes_are_distinct():
    rng = np.random.default_rng(16)
    z, c = rng.normal(0.0, 2.0, size=(9, 6)), rng.integers(0, 6, size=9)
    values = [mistaken_bits(z, c, m) for m in BITS_MISTAKES] + [right(z, c)]
    assert min(abs(a - b) for i, a in enumerate(values) for b in values[i + 1:]) > 0.01
