"""Self-checks for chapter 8: the Jacobian products dh_t/dh_k, and the one-unit memory.

check_jacobian_products: the learner writes ``jacobian_products_fn(params, cache)`` returning
P (T+1, T+1, H, H) for one sequence, with

    P[t, k] = dh_t/dh_k = J_t J_{t-1} ... J_{k+1},   J_j = diag(1 - h_j^2) W_hh,

the identity for k = t and 0 for k > t: what bptt_core.flow.jacobian_products returns.

check_latch: the learner writes ``fixed_point_and_gain(w)`` returning (a*, gain) for the unit
a_t = w tanh(a_{t-1}): a* > 0 with a* = w tanh(a*), gain = w (1 - tanh(a*)^2); checked for
w = 1.5, 2 and 3, as bptt_core.flow.latch_fixed_point gives them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..flow import jacobian_products, latch_fixed_point
from ..rnn import RNNCache, RNNParams
from ._core import CheckResult, run_check
from .backward import check_problem

# The mistakes people make when they multiply the Jacobians by hand, and what to tell them.
JACOBIAN_PRODUCT_MISTAKES: dict[str, str] = {
    "product in the wrong order": (
        "the latest step goes on the left: dh_t/dh_k = J_t J_{t-1} ... J_{k+1}, so build it as "
        "P[t, k] = J_t @ P[t-1, k]; you multiplied J_{k+1} ... J_t"
    ),
    "W_hh transposed": (
        "h_j = tanh(W_hh h_{j-1} + ...), so dh_j/dh_{j-1} = diag(1 - h_j^2) W_hh with W_hh "
        "itself; the transpose W_hh^T belongs to the backward pass, which multiplies a row "
        "vector from the left"
    ),
    "Jacobians transposed": (
        "you built J_j^T = W_hh^T diag(1 - h_j^2), the matrix that carries a gradient back "
        "one step as a column vector; the Jacobian dh_j/dh_{j-1} is diag(1 - h_j^2) W_hh"
    ),
    "tanh slope missing": (
        "each step goes through tanh: J_j = diag(1 - h_j^2) W_hh, not W_hh alone (that is the "
        "Jacobian of a linear RNN)"
    ),
    "slope of the previous state": (
        "J_j = dh_j/dh_{j-1} takes the tanh slope of the state it produces, 1 - h_j^2 with "
        "h_j = cache.h[j]; you used 1 - h_{j-1}^2"
    ),
    "product one factor too short": (
        "dh_t/dh_k has t - k factors, J_t down to J_{k+1}; you stopped at J_{k+2} (in Python, "
        "range(t, k, -1) gives j = t, ..., k+1; range(t, k + 1, -1) misses k+1)"
    ),
    "identity above the diagonal": (
        "h_t does not depend on a later state h_k (k > t), so P[t, k] = 0 there; the empty "
        "product is the identity only for k = t"
    ),
}

# The mistakes people make with the fixed point and gain of a_t = w tanh(a_{t-1}).
LATCH_MISTAKES: dict[str, str] = {
    "the unstable fixed point": (
        "a = 0 is a fixed point too, but its gain is w > 1: it repels, so it stores nothing; "
        "the bit lives at a* > 0 with a* = w tanh(a*) (iterate the map from a = 1)"
    ),
    "the negative fixed point": (
        "-a* is the other stored value of the bit; the exercise asks for the positive one"
    ),
    "the fixed point of h instead of a": (
        "you returned h* = tanh(a*), the fixed point of h_t = tanh(w h_{t-1}); the unit is "
        "written in pre-activations, and its fixed point is a* = w h*"
    ),
    "tanh slope missing in the gain": (
        "the gain is the derivative of the map a -> w tanh(a) at a*: w (1 - tanh(a*)^2), "
        "not w"
    ),
    "w missing from the gain": (
        "the gain is the derivative of the map a -> w tanh(a) at a*: w (1 - tanh(a*)^2); you "
        "left out the factor w"
    ),
    "slope taken at a instead of tanh(a)": (
        "tanh'(a) = 1 - tanh(a)^2; 1 - a^2 is that slope only when written in h = tanh(a): "
        "the gain is w (1 - tanh(a*)^2), not w (1 - a*^2)"
    ),
}

LATCH_WEIGHTS = (1.5, 2.0, 3.0)  # the three units the chapter studies


def mistaken_jacobian_products(
    params: RNNParams, cache: RNNCache, mistake: str
) -> np.ndarray:
    """dh_t/dh_k for every pair as computed with ``mistake`` (a JACOBIAN_PRODUCT_MISTAKES key).

    One sequence only; returns P (T+1, T+1, H, H). A deliberately broken twin of
    bptt_core.flow.jacobian_products, used to recognise mistakes in learners' code.
    """
    if mistake not in JACOBIAN_PRODUCT_MISTAKES:
        raise ValueError(f"mistake: expected one of "
                         f"{', '.join(map(repr, JACOBIAN_PRODUCT_MISTAKES))}, got {mistake!r}")
    h, W_hh = cache.h, params.W_hh
    T, H = len(h) - 1, W_hh.shape[0]
    slope = {"tanh slope missing": np.ones_like(h[1:]),
             "slope of the previous state": 1.0 - h[:-1] ** 2}.get(mistake, 1.0 - h[1:] ** 2)
    W = W_hh.T if mistake == "W_hh transposed" else W_hh
    J = slope[:, :, None] * W  # J[j - 1] = dh_j/dh_{j-1} as this mistake builds it
    if mistake == "Jacobians transposed":
        J = np.swapaxes(J, -1, -2)
    P = np.zeros((T + 1, T + 1, H, H))
    for t in range(T + 1):
        for k in range(T + 1 if mistake == "identity above the diagonal" else t + 1):
            last = k + 2 if mistake == "product one factor too short" else k + 1
            factors = [J[j - 1] for j in range(t, last - 1, -1)]  # J_t, ..., J_last
            if mistake == "product in the wrong order":
                factors = factors[::-1]
            product = np.eye(H)
            for factor in factors:
                product = product @ factor
            P[t, k] = product
    return P


def check_jacobian_products(
    jacobian_products_fn: Callable[[RNNParams, RNNCache], np.ndarray],
) -> CheckResult:
    """Check hand-made Jacobian products: ``jacobian_products_fn(params, cache)`` -> P.

    P (T+1, T+1, H, H) with P[t, k] = dh_t/dh_k (identity for k = t, 0 for k > t), as
    bptt_core.flow.jacobian_products; one sequence, T = 5, H = 4. Returns a CheckResult;
    print it or assert it. Chapter 8.
    """
    params, cache, _ = check_problem()
    mistakes = {m: (mistaken_jacobian_products(params, cache, m), hint)
                for m, hint in JACOBIAN_PRODUCT_MISTAKES.items()}
    return run_check(jacobian_products_fn, (params, cache),
                     jacobian_products(params, cache), mistakes)


def mistaken_latch(w: float, mistake: str) -> tuple[float, float]:
    """(fixed point, gain) of a_t = w tanh(a_{t-1}) as computed with ``mistake``.

    ``mistake`` is a LATCH_MISTAKES key. Used to recognise mistakes in learners' code.
    """
    if mistake not in LATCH_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, LATCH_MISTAKES))}, "
                         f"got {mistake!r}")
    a, gain = latch_fixed_point(w)
    return {
        "the unstable fixed point": (0.0, w),
        "the negative fixed point": (-a, gain),
        "the fixed point of h instead of a": (np.tanh(a), gain),
        "tanh slope missing in the gain": (a, w),
        "w missing from the gain": (a, 1.0 - np.tanh(a) ** 2),
        "slope taken at a instead of tanh(a)": (a, w * (1.0 - a**2)),
    }[mistake]


def _latch_table(pairs: list[tuple[float, float]]) -> dict[str, np.ndarray]:
    return {"fixed_point": np.array([p[0] for p in pairs]),
            "gain": np.array([p[1] for p in pairs])}


def check_latch(fixed_point_and_gain: Callable[[float], tuple[float, float]]) -> CheckResult:
    """Check ``fixed_point_and_gain(w)`` -> (a*, gain) for w = 1.5, 2 and 3.

    a* > 0 solves a* = w tanh(a*); gain = w (1 - tanh(a*)^2), the slope of the map at a*, as
    bptt_core.flow.latch_fixed_point. Returns a CheckResult; print it or assert it. Chapter 8.
    """

    def all_weights(weights: tuple[float, ...]) -> dict[str, np.ndarray]:
        pairs = []
        for w in weights:
            pair = fixed_point_and_gain(w)
            if not (isinstance(pair, (tuple, list, np.ndarray)) and np.shape(pair) == (2,)):
                raise TypeError(f"expected two numbers (a_star, gain) for w = {w}, got {pair!r}")
            pairs.append(pair)
        return _latch_table(pairs)

    expected = _latch_table([latch_fixed_point(w) for w in LATCH_WEIGHTS])
    mistakes = {m: (_latch_table([mistaken_latch(w, m) for w in LATCH_WEIGHTS]), hint)
                for m, hint in LATCH_MISTAKES.items()}
    return run_check(all_weights, (LATCH_WEIGHTS,), expected, mistakes)
