"""Self-check for chapter 10: the (t, k) pairs that truncated BPTT, BPTT(k1, k2), keeps.

The learner writes ``kept_pairs_fn(T, k1, k2)`` returning a (T, T) boolean mask with
mask[t - 1, k - 1] True iff the loss at step t is backpropagated to the use at step k:

    t in a window (s', s] with s = k1, 2 k1, ..., and T,   max(1, s - k2 + 1) <= k <= t,

what bptt_core.truncation.truncation_mask(T, k1, k2) returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..truncation import truncation_mask
from ._core import CheckResult, run_check

# The problem the check poses: a final partial window (11 = 3 + 3 + 3 + 2), k2 > k1, and a
# first window whose backward pass would start before step 1 without the clip.
CHECK_T, CHECK_K1, CHECK_K2 = 11, 3, 5

# The mistakes people make when they list the kept pairs, and what to tell them.
KEPT_PAIRS_MISTAKES: dict[str, str] = {
    "k2 counted from each loss step": (
        "BPTT(k1, k2) runs one backward pass per window, from the window's end s down to "
        "u = max(1, s - k2 + 1), for all the window's losses at once; you sent each loss t "
        "back k2 steps from t itself"
    ),
    "k2 counted from the window's first step": (
        "the k2 steps are counted back from the window's end s (the step where the backward "
        "pass starts), not from its first loss step: u = max(1, s - k2 + 1)"
    ),
    "backward pass one step too long": (
        "a backward pass over k2 steps from s covers s, s - 1, ..., s - k2 + 1: the first use "
        "kept is u = s - k2 + 1, not s - k2"
    ),
    "final partial window forgotten": (
        "when k1 does not divide T the last window is shorter and ends at T; range(k1, T + 1, "
        "k1) stops at the last multiple of k1, so the losses after it got no pairs"
    ),
    "window's last loss left out": (
        "a window (s', s] holds the losses of steps s' + 1, ..., s, its end included: "
        "range(s' + 1, s) stops one step early, use range(s' + 1, s + 1)"
    ),
    "own step left out": (
        "the loss at step t reaches the use at step t itself (k = t, the diagonal, no "
        "Jacobian at all): k runs from u to t inclusive, range(u, t + 1)"
    ),
    "future uses included": (
        "the loss at step t cannot depend on a use at a later step: keep k <= t only, not "
        "every k up to the window's end (those C_{t,k} are zero, so a gradient would not "
        "show the mistake, but they are not pairs of the sum)"
    ),
    "first use not clipped at step 1": (
        "near the start s - k2 + 1 can be 0 or negative, and a negative index wraps around "
        "to the end of the array; clip it: u = max(1, s - k2 + 1)"
    ),
    "first use not clipped at step 1 (slice)": (
        "near the start s - k2 + 1 can be 0 or negative; as the start of a slice a negative "
        "index counts from the end, so mask[t - 1, u - 1:t] came out empty; clip it: "
        "u = max(1, s - k2 + 1)"
    ),
}


def mistaken_kept_pairs(T: int, k1: int, k2: int, mistake: str) -> np.ndarray:
    """The mask of kept pairs as computed with ``mistake`` (a key of KEPT_PAIRS_MISTAKES).

    A deliberately broken twin of truncation_mask, used to recognise mistakes in learners'
    code. Returns a boolean (T, T) array.
    """
    if mistake not in KEPT_PAIRS_MISTAKES:
        raise ValueError(f"mistake: expected one of "
                         f"{', '.join(map(repr, KEPT_PAIRS_MISTAKES))}, got {mistake!r}")
    mask = np.zeros((T, T), dtype=bool)
    ends = list(range(k1, T + 1, k1))
    if mistake != "final partial window forgotten" and ends[-1:] != [T]:
        ends.append(T)
    previous = 0
    for s in ends:
        last_loss = s - 1 if mistake == "window's last loss left out" else s
        for t in range(previous + 1, last_loss + 1):
            u = {"k2 counted from each loss step": t - k2 + 1,
                 "k2 counted from the window's first step": previous + 1 - k2 + 1,
                 "backward pass one step too long": s - k2}.get(mistake, s - k2 + 1)
            if not mistake.startswith("first use not clipped"):
                u = max(1, u)
            last_use = {"own step left out": t - 1, "future uses included": s}.get(mistake, t)
            if mistake == "first use not clipped at step 1 (slice)":
                mask[t - 1, u - 1:last_use] = True
            else:
                for k in range(u, last_use + 1):
                    mask[t - 1, k - 1] = True  # k - 1 < 0 wraps around, as in a learner's loop
        previous = s
    return mask


def _as_numbers(mask: object) -> object:
    """A boolean mask as 0/1 floats for the comparison; anything else is passed on as it is."""
    array = np.asarray(mask)
    return array.astype(np.float64) if array.dtype == bool else mask


def check_kept_pairs(kept_pairs_fn: Callable[[int, int, int], np.ndarray]) -> CheckResult:
    """Check a hand-written list of kept pairs: ``kept_pairs_fn(T, k1, k2)`` -> (T, T) mask.

    mask[t - 1, k - 1] must be True exactly for the pairs BPTT(k1, k2) keeps (booleans, or 0
    and 1), as bptt_core.truncation.truncation_mask. The check asks for T = 11, k1 = 3,
    k2 = 5. Returns a CheckResult; print it or assert it. Chapter 10.
    """
    args = (CHECK_T, CHECK_K1, CHECK_K2)
    mistakes = {m: (_as_numbers(mistaken_kept_pairs(*args, m)), hint)
                for m, hint in KEPT_PAIRS_MISTAKES.items()}
    expected = _as_numbers(truncation_mask(*args))
    return run_check(lambda *a: _as_numbers(kept_pairs_fn(*a)), args, expected, mistakes)
