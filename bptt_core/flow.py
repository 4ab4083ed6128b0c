"""How far a gradient travels back in time: Jacobian products, their norms, their reach, and
the one-unit memory of Bengio, Simard & Frasconi (chapter 8).

The gradient that the loss at step t sends to the hidden state at an earlier step k goes
through the product of the one-step Jacobians between them,

    dh_t/dh_k = J_t J_{t-1} ... J_{k+1},   J_j = dh_j/dh_{j-1} = diag(1 - h_j^2) W_hh,

with the latest step on the left and the identity when k = t. Its size decides whether the
gradient vanishes or explodes with the distance t - k: since |tanh'| <= 1 and the spectral norm
is submultiplicative, ||dh_t/dh_k|| <= sigma_max(W_hh)^(t - k) (Pascanu, Mikolov & Bengio 2013).
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, require_finite, require_ndim, require_shape
from .anatomy import hidden_jacobians
from .rnn import RNNCache, RNNParams


def jacobian_products(params: RNNParams, cache: RNNCache) -> np.ndarray:
    """dh_t/dh_k = J_t J_{t-1} ... J_{k+1} for every pair of steps 0 <= k <= t <= T.

    params, cache: an RNN and one forward pass of it (one sequence or a batch).
    Returns P (T+1, T+1, [B,] H, H), indexed like cache.h by the book's step numbers:
    P[t, k] = dh_t/dh_k, the identity for k = t, and 0 for k > t (h_t does not depend on a
    later state). k = 0 is h0. Chapter 8.
    """
    params.validate()
    H = params.W_hh.shape[0]
    h = as_float_array("cache.h", cache.h)
    require_ndim("cache.h", h, (2, 3), "hidden states (T+1, H) or (T+1, B, H)")
    require_shape("cache.h", h, (h.shape[0], *h.shape[1:-1], H),
                  "(T+1, [B,] H) with H from params.W_hh (was the cache made with these params?)")
    require_finite("cache.h", h)
    T = h.shape[0] - 1
    J = hidden_jacobians(params, cache)  # J[j - 1] = dh_j/dh_{j-1}
    P = np.zeros((T + 1, T + 1, *h.shape[1:-1], H, H))
    for k in range(T + 1):
        P[k, k] = np.eye(H)  # the empty product: h_k itself
        for t in range(k + 1, T + 1):
            P[t, k] = J[t - 1] @ P[t - 1, k]  # dh_t/dh_k = J_t (dh_{t-1}/dh_k): J_t on the left
    return P


def product_norms(params: RNNParams, cache: RNNCache) -> np.ndarray:
    """||dh_t/dh_k||, the spectral norm (largest singular value), for every pair k <= t.

    Returns N (T+1, T+1, [B]) with N[t, k] = sigma_max(P[t, k]) for P = jacobian_products;
    N[t, t] = 1 and N[t, k] = 0 for k > t. Chapter 8.
    """
    return np.linalg.norm(jacobian_products(params, cache), ord=2, axis=(-2, -1))


def reach(ratios: object, threshold: float = 1e-3) -> int | None:
    """The first distance d at which ratios[d] < threshold: how far back a gradient counts.

    ratios (n,): a size measured at distances d = 0, 1, ..., n-1 from a loss step, divided by
    the one at distance 0 (e.g. ||C_{t,t-d}|| / ||C_{t,t}||), so ratios[0] = 1.
    Returns that distance, or None if no entry falls below ``threshold`` (the gradient still
    counts at the longest distance measured). Chapter 8.
    """
    ratios = as_float_array("ratios", ratios)
    require_ndim("ratios", ratios, (1,), "one size per distance d = 0, 1, ..., (n,)")
    require_finite("ratios", ratios)
    if not (isinstance(threshold, (int, float, np.floating)) and np.isfinite(threshold)
            and threshold > 0):
        raise ValueError(f"threshold: expected a finite number > 0, got {threshold!r}")
    below = np.flatnonzero(ratios < threshold)
    return int(below[0]) if below.size else None


def latch_fixed_point(w: float) -> tuple[float, float]:
    """The stable fixed point a* > 0 of a_t = w tanh(a_{t-1}) and its local gain, for w > 1.

    a* solves a* = w tanh(a*); the gain is the slope of the map there,
    da_t/da_{t-1} = w (1 - tanh(a*)^2), which lies in (0, 1): a* attracts. (For w <= 1 the
    only fixed point is 0 and nothing can be stored.) Returns (a*, gain). The fixed point is
    found by Newton's method from a = w, where a - w tanh(a) > 0 and the function is convex
    for a > 0, so the iterates fall monotonically to a*. Chapter 8.
    """
    if not (isinstance(w, (int, float, np.integer, np.floating)) and not isinstance(w, bool)
            and np.isfinite(w) and w > 1):
        raise ValueError(f"w: expected a finite number > 1 (a unit that can store a bit), "
                         f"got {w!r}")
    w = float(w)
    a = w
    for _ in range(100):
        slope = w * (1.0 - np.tanh(a) ** 2)  # d(w tanh a)/da
        step = (a - w * np.tanh(a)) / (1.0 - slope)  # Newton on a - w tanh(a) = 0
        a -= step
        if abs(step) <= 1e-15 * a:
            break
    return float(a), float(w * (1.0 - np.tanh(a) ** 2))
