"""BPTT taken apart: the Jacobians between hidden states and who sends gradient where
(chapters 4 and 8).

rnn_backward folds everything into one backward sweep. Here the same gradient is split into
its terms, written with explicit Jacobian products:

    dL/dW = sum_{t=1..T} sum_{k=1..t}  dL_t/dh_t  J_t J_{t-1} ... J_{k+1}  dh_k/dW|local

with the gradient dL_t/dh_t a row vector on the left, J_j = dh_j/dh_{j-1} = diag(1 - h_j^2) W_hh
(the product runs from the latest step down to k+1, empty when k = t), and "local" meaning
through step k's use of W only.
"""

from __future__ import annotations

import numpy as np

from ._validate import require_choice
from .rnn import (
    ACTIVATIONS,
    PARAM_NAMES,
    RNNCache,
    RNNParams,
    batch_sum,
    check_upstream,
    mv,
    outer_sum,
    output_backward,
)


def hidden_jacobians(params: RNNParams, cache: RNNCache) -> np.ndarray:
    """dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh for t = 1..T (diag(f'(a_t)) W_hh for another f).

    Returns J (T, [B,] H, H) with J[t - 1] = dh_t/dh_{t-1} (0-based over steps, like y).
    Chapter 4.
    """
    _, slope = ACTIVATIONS[cache.activation]  # tanh: 1 - h_t^2
    return slope(cache.h[1:])[..., :, None] * params.W_hh


def contributions(
    params: RNNParams, cache: RNNCache, dy: object, wrt: str
) -> np.ndarray:
    """The gradient of parameter ``wrt`` split by the loss step t and the step k that used it.

    C[t - 1, k - 1] = dL_t/dh_t J_t J_{t-1} ... J_{k+1} dh_k/dW|local: the part of
    dL/dW that flows from the loss at step t back to W's use at step k. It is zero for k > t
    (the future does not change the past) and, for W_oh and b_o, zero unless k = t.
    Summed over t and k it is exactly rnn_backward's gradient.

    dy (T, [B,] O): dL/dy_t as for rnn_backward; wrt: one of W_xh, W_hh, W_oh, b_h, b_o.
    Returns C with shape (T, T) + shape of ``wrt``. Chapter 4.
    """
    require_choice("wrt", wrt, PARAM_NAMES)
    dy = check_upstream(params, cache, dy)
    xs, h = cache.xs, cache.h
    T = cache.T
    dz = output_backward(cache, dy)
    J = hidden_jacobians(params, cache)
    _, slope = ACTIVATIONS[cache.activation]
    local = {  # dL_t/dW through step k alone, given da = dL_t/da_k
        "W_xh": lambda da, k: outer_sum(da, xs[k - 1]),
        "W_hh": lambda da, k: outer_sum(da, h[k - 1]),
        "b_h": lambda da, k: batch_sum(da),
    }
    C = np.zeros((T, T) + getattr(params, wrt).shape)
    for t in range(1, T + 1):
        if wrt == "W_oh":  # W_oh acts only at the step whose loss it feeds
            C[t - 1, t - 1] = outer_sum(dz[t - 1], h[t])
            continue
        if wrt == "b_o":
            C[t - 1, t - 1] = batch_sum(dz[t - 1])
            continue
        g = mv(params.W_oh.T, dz[t - 1])  # dL_t/dh_t, as a row vector
        for k in range(t, 0, -1):
            C[t - 1, k - 1] = local[wrt](slope(h[k]) * g, k)  # dL_t/da_k = (1 - h_k^2) g
            g = np.einsum("...i,...ij->...j", g, J[k - 1])  # dL_t/dh_{k-1} = dL_t/dh_k J_k
    return C
