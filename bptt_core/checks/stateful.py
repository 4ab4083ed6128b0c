"""Self-check for chapter 14: the weights of randomized truncation with its reweighting.

The learner writes ``pair_weights_fn(kept, pi)`` returning the (T, T) array

    zeta[t - 1, k - 1] = prod_{j = k+1..t} xi_j / pi   for k <= t,   0 for k > t,

where xi_j = kept[j - 1] says whether the link from h_j back to h_{j-1} survived, what
bptt_core.stateful.pair_weights(kept, pi) returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..stateful import link_factors, pair_weights
from ._core import CheckResult, run_check

# links 1..8: link 5 is cut, so losses at steps >= 5 reach back to step 5 at most; link 1
# (h_1 -> h_0) is cut too, which no weight of the (T, T) array may notice
CHECK_KEPT = np.array([False, True, True, True, False, True, True, True])
CHECK_PI = 0.6

PAIR_WEIGHT_MISTAKES: dict[str, str] = {
    "no reweighting": (
        "a kept link must divide what crosses it by pi: the weight of C_{t,k} is pi^{-(t-k)}, "
        "not 1, or the mean of the estimates is sum pi^{t-k} C_{t,k} (biased towards short "
        "distances)"
    ),
    "multiplied by pi": (
        "each kept link divides by pi (E[xi / pi] = 1); multiplying by pi gives E = pi^{2(t-k)}"
    ),
    "one link too many": (
        "the loss at step t reaches the use at step k through the links j = k+1..t: t - k "
        "of them (none on the diagonal), not t - k + 1"
    ),
    "links shifted by one": (
        "link j (from h_j back to h_{j-1}) is kept[j - 1] in 0-based Python, not kept[j]"
    ),
    "cuts ignored": (
        "a cut link (kept = False) stops the gradient: every pair (t, k) with a cut between "
        "k and t gets weight 0"
    ),
    "upper triangle filled": (
        "the loss at step t does not depend on the weights' use at a later step k > t: those "
        "weights are 0"
    ),
    "diagonal left out": (
        "the use at step t itself (k = t) crosses no link: its weight is the empty product, 1"
    ),
}


def mistaken_pair_weights(kept: np.ndarray, pi: float, mistake: str) -> np.ndarray:
    """The weights as computed with ``mistake`` (a key of PAIR_WEIGHT_MISTAKES)."""
    if mistake not in PAIR_WEIGHT_MISTAKES:
        raise ValueError(f"mistake: expected one of "
                         f"{', '.join(map(repr, PAIR_WEIGHT_MISTAKES))}, got {mistake!r}")
    T = kept.shape[0]
    t, k = np.indices((T, T)) + 1  # the book's step numbers
    lower = k <= t
    if mistake == "no reweighting":
        return pair_weights(kept, pi, reweight=False)
    if mistake == "multiplied by pi":
        return pair_weights(kept, pi, reweight=False) * pi ** np.abs(t - k)
    if mistake == "one link too many":
        return pair_weights(kept, pi) * link_factors(kept, pi)[None, :]  # link k as well
    if mistake == "links shifted by one":
        return pair_weights(np.append(kept[1:], True), pi)
    if mistake == "cuts ignored":
        return np.where(lower, pi ** -np.abs(t - k), 0.0)
    w = pair_weights(kept, pi)
    if mistake == "upper triangle filled":
        return w + np.triu(w.T, 1)
    return w - np.eye(T)  # "diagonal left out"


def check_pair_weights(pair_weights_fn: Callable[[np.ndarray, float], np.ndarray]) -> CheckResult:
    """Check ``pair_weights_fn(kept, pi)`` -> (T, T) weights of randomized truncation.

    Asks for kept = CHECK_KEPT (T = 8, links 1 and 5 cut) and pi = 0.6; compares with
    bptt_core.stateful.pair_weights and names the usual mistakes. Chapter 14.
    """
    args = (CHECK_KEPT.copy(), CHECK_PI)
    mistakes = {m: (mistaken_pair_weights(*args, m), hint)
                for m, hint in PAIR_WEIGHT_MISTAKES.items()}
    return run_check(pair_weights_fn, args, pair_weights(*args), mistakes)
