"""Self-check for the double sum of chapter 4: the terms C[t-1, k-1] of dL/dW_xh.

The learner writes ``contributions_fn(params, cache, dy)`` returning C with shape (T, T, H, D),

    C[t - 1, k - 1] = dL_t/dh_t (prod_{j=k+1..t} dh_j/dh_{j-1}) dh_k/dW_xh|local   (k <= t),

and 0 for k > t: what bptt_core.contributions(params, cache, dy, "W_xh") returns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..anatomy import contributions, hidden_jacobians
from ..rnn import RNNCache, RNNParams, output_backward
from ._core import CheckResult, run_check
from .backward import check_problem

# The mistakes people make when they write the double sum by hand, and what to tell them.
CONTRIBUTION_MISTAKES: dict[str, str] = {
    "Jacobian product in the wrong order": (
        "the latest step goes on the left: prod_{j=k+1..t} dh_j/dh_{j-1} = J_t J_{t-1} ... "
        "J_{k+1}, so a row vector dL_t/dh_t meets J_t first; you multiplied J_{k+1} ... J_t"
    ),
    "Jacobians transposed": (
        "a row vector goes back one step as (dL_t/dh_j) J_j, i.e. J_j^T times the column "
        "vector; you applied J_j itself to the column (J_j @ g instead of g @ J_j)"
    ),
    "future steps included": (
        "the loss at step t cannot depend on W_xh's use at a later step k > t, so "
        "C[t-1, k-1] = 0 for k > t; an empty product is the identity only for k = t"
    ),
    "the first article's pairing": (
        "the product J_t ... J_{k+1} carries a change of h_k to h_t, so it must meet the loss "
        "at step t, dL_t/dy_t dy_t/dh_t, not the loss at the use step k"
    ),
    "tanh derivative missing in the local term": (
        "dh_k/dW_xh|local goes through tanh at step k: C[t-1, k-1] = ((1 - h_k^2) * g) x_k^T "
        "with g = dL_t/dh_k, not g x_k^T"
    ),
    "Jacobian product one factor too long": (
        "the product runs from j = k+1 to t (empty when k = t); you included "
        "dh_k/dh_{k-1} = J_k (J[k - 1] in bptt_core's 0-based array) as well"
    ),
    "Jacobian product one factor too short": (
        "the product runs from j = k+1 to t: J_t ... J_{k+1}, t - k factors; you stopped at "
        "J_{k+2} (in Python, range(t, k, -1) gives j = t, ..., k+1; range(t, k + 1, -1) "
        "misses k+1)"
    ),
    "input of the loss step in the local term": (
        "the local term belongs to the use step k: C[t-1, k-1] = ((1 - h_k^2) * g) x_k^T "
        "with x_k = xs[k - 1]; you used x_t, the input of the loss step"
    ),
}


def mistaken_contributions(
    params: RNNParams, cache: RNNCache, dy: np.ndarray, mistake: str
) -> np.ndarray:
    """The contributions to dL/dW_xh as computed with ``mistake`` (a CONTRIBUTION_MISTAKES key).

    One sequence only: dy (T, O); returns C (T, T, H, D). A deliberately broken twin of
    bptt_core.contributions, used to recognise mistakes in learners' code. Never train with it.
    """
    if mistake not in CONTRIBUTION_MISTAKES:
        raise ValueError(f"mistake: expected one of "
                         f"{', '.join(map(repr, CONTRIBUTION_MISTAKES))}, got {mistake!r}")
    xs, h = cache.xs, cache.h
    T, H, D = cache.T, params.W_hh.shape[0], xs.shape[-1]
    J = hidden_jacobians(params, cache)  # J[j - 1] = dh_j/dh_{j-1}
    if mistake == "Jacobians transposed":
        J = np.swapaxes(J, -1, -2)
    g = output_backward(cache, dy) @ params.W_oh  # g[t - 1] = dL_t/dy_t dy_t/dh_t
    C = np.zeros((T, T, H, D))
    for t in range(1, T + 1):
        last_k = T if mistake == "future steps included" else t
        for k in range(1, last_k + 1):
            first_j = {"Jacobian product one factor too long": k,
                       "Jacobian product one factor too short": k + 2}.get(mistake, k + 1)
            factors = [J[j - 1] for j in range(t, first_j - 1, -1)]  # J_t, ..., J_{first_j}
            if mistake == "Jacobian product in the wrong order":
                factors = factors[::-1]
            product = np.eye(H)
            for factor in factors:
                product = product @ factor
            loss_row = g[k - 1] if mistake == "the first article's pairing" else g[t - 1]
            dh_k = loss_row @ product  # dL_t/dh_k, a row vector
            slope = 1.0 if mistake == "tanh derivative missing in the local term" else (
                1.0 - h[k] ** 2)
            x_k = xs[t - 1] if mistake == "input of the loss step in the local term" else (
                xs[k - 1])
            C[t - 1, k - 1] = np.outer(slope * dh_k, x_k)
    return C


def check_contributions(
    contributions_fn: Callable[[RNNParams, RNNCache, np.ndarray], np.ndarray],
) -> CheckResult:
    """Check a hand-written double sum: ``contributions_fn(params, cache, dy)`` -> C.

    C (T, T, H, D) with C[t - 1, k - 1] the part of dL/dW_xh that the loss at step t sends to
    W_xh's use at step k (zero for k > t), as bptt_core.contributions(..., "W_xh"). One
    sequence, identity output. Returns a CheckResult; print it or assert it. Chapter 4.
    """
    params, cache, dy = check_problem()
    mistakes = {m: (mistaken_contributions(params, cache, dy, m), hint)
                for m, hint in CONTRIBUTION_MISTAKES.items()}
    expected = contributions(params, cache, dy, "W_xh")
    return run_check(contributions_fn, (params, cache, dy), expected, mistakes)
