"""Self-check for chapter 16: bits per character from a model's logits.

The learner writes ``bits_fn(logits, targets)``: logits (T, V) are z_t, the model's scores for
the character after step t, targets (T,) the classes of those characters; the result is

    bpc = -(1/T) sum_t log2 softmax(z_t)[targets_t],

what bptt_core.text.bits_per_char returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..losses import log_softmax
from ..text import bits_per_char
from ._core import CheckResult, run_check

BITS_MISTAKES: dict[str, str] = {
    "nats instead of bits": (
        "the natural log gives nats; bits are log2, i.e. divide the cross-entropy by ln 2"
    ),
    "log10": "bits per character use log2, not log10",
    "sum instead of mean": (
        "bits per character are an average over the characters: divide by their number"
    ),
    "logits used as log-probabilities": (
        "z_t are scores, not log-probabilities: take log softmax(z_t) (subtract "
        "log sum exp z_t) before reading the target's entry"
    ),
    "off by one": (
        "logits[t] already scores the character targets[t] (the one after step t): do not "
        "shift them against each other"
    ),
    "sign flipped": "the cross-entropy is minus the mean log-probability: it is positive",
}


def _problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(16)
    return rng.normal(0.0, 2.0, size=(9, 6)), rng.integers(0, 6, size=9)


def mistaken_bits(logits: np.ndarray, targets: np.ndarray, mistake: str) -> float:
    """Bits per character as computed with ``mistake`` (a key of BITS_MISTAKES)."""
    if mistake not in BITS_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, BITS_MISTAKES))}, "
                         f"got {mistake!r}")
    if mistake == "off by one":
        return bits_per_char(logits[:-1], targets[1:])
    if mistake == "logits used as log-probabilities":
        return float(-np.mean(logits[np.arange(len(targets)), targets]) / np.log(2.0))
    logp = log_softmax(logits)[np.arange(len(targets)), targets]  # natural logs
    return {"nats instead of bits": -np.mean(logp),
            "log10": -np.mean(logp) / np.log(10.0),
            "sum instead of mean": -np.sum(logp) / np.log(2.0),
            "sign flipped": np.mean(logp) / np.log(2.0)}[mistake]


def check_bits_per_char(bits_fn: Callable[[np.ndarray, np.ndarray], float]) -> CheckResult:
    """Check ``bits_fn(logits, targets)`` -> bits per character, on a fixed (9, 6) problem.

    Compares with bptt_core.text.bits_per_char and names the usual mistakes. Chapter 16.
    """
    logits, targets = _problem()
    mistakes = {m: (np.float64(mistaken_bits(logits, targets, m)), hint)
                for m, hint in BITS_MISTAKES.items()}
    expected = np.float64(bits_per_char(logits, targets))
    return run_check(bits_fn, (logits, targets), expected, mistakes)
