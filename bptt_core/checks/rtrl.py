"""Self-check for chapter 13: one step of RTRL's sensitivity recursion for W_hh.

    P_t[i, p, q] = dh_t,i / d(W_hh)_pq
    P_t = diag(1 - h_t^2) (W_hh P_{t-1} + Phi_t),  Phi_t[i, p, q] = [i == p] h_{t-1,q},  i.e.
    P_t[i, p, q] = (1 - h_t,i^2) (sum_m W_hh[i, m] P_{t-1}[m, p, q] + [i == p] h_{t-1,q})
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..rnn import init_rnn, rnn_forward
from ._core import CheckResult, run_check

RTRL_STEP_MISTAKES: dict[str, str] = {
    "tanh derivative missing": (
        "h_t = tanh(a_t): every row i of P_t is multiplied by 1 - h_t,i^2, the slope of step t"
    ),
    "recurrence W_hh P_{t-1} missing": (
        "a_t depends on W_hh also through h_{t-1}, which depends on W_hh: add "
        "W_hh P_{t-1} (contract W_hh's columns with P_{t-1}'s first axis)"
    ),
    "direct term missing": (
        "a_t = W_hh h_{t-1} + ... depends on (W_hh)_pq directly, by h_{t-1,q} in row p: "
        "add eye(H)[:, :, None] * h_prev[None, None, :]"
    ),
    "direct term uses h_t instead of h_{t-1}": (
        "W_hh multiplies the previous state in a_t = W_xh x_t + W_hh h_{t-1} + b_h: "
        "the direct term holds h_{t-1,q} in row p for (W_hh)_pq: use h_prev"
    ),
    "slope applied to the direct term only": (
        "both terms are inside tanh: P_t = diag(1 - h_t^2) (W_hh P_{t-1} + direct), the slope "
        "multiplies their sum"
    ),
    "W_hh transposed in the recurrence": (
        "row i of a_t is sum_m W_hh[i, m] h_{t-1, m}: contract P_{t-1}'s first axis with "
        "W_hh's second (W_hh @ P), not with its first (W_hh.T @ P)"
    ),
}


def mistaken_rtrl_step(W_hh: np.ndarray, P_prev: np.ndarray, h_prev: np.ndarray,
                       h: np.ndarray, mistake: str | None = None) -> np.ndarray:
    """P_t from P_{t-1} as above; with ``mistake`` (a key of RTRL_STEP_MISTAKES) as that
    mistake computes it. The correct version (mistake None) is what bptt_core.rtrl does."""
    if mistake is not None and mistake not in RTRL_STEP_MISTAKES:
        raise ValueError(f"mistake: expected None or one of "
                         f"{', '.join(map(repr, RTRL_STEP_MISTAKES))}, got {mistake!r}")
    H = h.shape[0]
    W = W_hh.T if mistake == "W_hh transposed in the recurrence" else W_hh
    carried = np.einsum("im,mpq->ipq", W, P_prev)
    state = h if mistake == "direct term uses h_t instead of h_{t-1}" else h_prev
    direct = np.eye(H)[:, :, None] * state[None, None, :]
    if mistake == "recurrence W_hh P_{t-1} missing":
        carried = 0.0 * carried
    if mistake == "direct term missing":
        direct = 0.0 * direct
    slope = (1.0 - h**2)[:, None, None]
    if mistake == "tanh derivative missing":
        return carried + direct
    if mistake == "slope applied to the direct term only":
        return carried + slope * direct
    return slope * (carried + direct)


def rtrl_step_problem(seed: int = 13) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(W_hh, P_{t-1}, h_{t-1}, h_t) of step t = 4 of a tanh RNN with H = 4, one sequence,
    with P_{t-1} computed by the correct recursion: every mistake moves the answer by far
    more than the tolerance (tested)."""
    rng = np.random.default_rng(seed)
    params = init_rnn(2, 4, 1, seed=seed, scale=1.5)
    params.b_h = rng.normal(0.0, 0.5, size=4)
    cache = rnn_forward(params, rng.normal(size=(4, 2)), rng.normal(0.0, 0.5, size=4))
    P = np.zeros((4, 4, 4))
    for t in range(1, 4):
        P = mistaken_rtrl_step(params.W_hh, P, cache.h[t - 1], cache.h[t])
    return params.W_hh, P, cache.h[3], cache.h[4]


def check_rtrl_step(step: Callable[..., object]) -> CheckResult:
    """Check ``step(W_hh, P_prev, h_prev, h) -> P``, one step of the W_hh sensitivities of a
    tanh RNN: W_hh (H, H), P_prev (H, H, H), h_prev = h_{t-1} (H,), h = h_t (H,). Returns a
    CheckResult that names the usual mistakes; print it or assert it."""
    args = rtrl_step_problem()
    mistakes = {m: (mistaken_rtrl_step(*args, mistake=m), hint)
                for m, hint in RTRL_STEP_MISTAKES.items()}
    return run_check(step, args, mistaken_rtrl_step(*args), mistakes)
