"""Self-check for chapter 3: the gradient of W_xh for one step, with h_{t-1} given.

dL/dW_xh = delta_t x_t^T, delta_t = (1 - h_t^2) * (W_oh^T dL/dy_t) for an identity output.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..rnn import RNNParams, init_rnn, rnn_backward, rnn_forward
from ._core import CheckResult, run_check

# The mistakes people make when they write the single-step gradient by hand, and the hints.
SINGLE_STEP_MISTAKES: dict[str, str] = {
    "tanh derivative missing": (
        "go back through the tanh before taking the outer product: "
        "delta_t = (1 - h_t^2) * (W_oh^T dL/dy_t)"
    ),
    "tanh derivative of the pre-activation": (
        "the tanh derivative is 1 - h_t^2 with h_t = tanh(a_t), the hidden state; "
        "you used 1 - a_t^2, with the pre-activation a_t"
    ),
    "tanh derivative at the previous state": (
        "the tanh derivative belongs to this step: 1 - h_t^2 with h_t = tanh(a_t), which you "
        "must first compute from x_t and h_{t-1}; you used 1 - h_{t-1}^2"
    ),
    "W_oh not transposed": (
        "W_oh has shape (O, H) and maps h_t to z_t; the gradient goes the other way, "
        "dL/dh_t = W_oh^T dL/dy_t (W_oh.T @ dL_dy), not W_oh dL/dy_t"
    ),
    "output weights skipped": (
        "dL/dy_t lives on the outputs; bring it back to the hidden units through the output "
        "layer first: dL/dh_t = W_oh^T dL/dy_t"
    ),
    "outer product reversed": (
        "the gradient has the shape of W_xh, (H, D): delta_t x_t^T = np.outer(delta, x_t), "
        "not np.outer(x_t, delta)"
    ),
    "h_prev used instead of x_t": (
        "W_xh multiplies the input, so its gradient is delta_t x_t^T; delta_t h_{t-1}^T is "
        "the gradient of W_hh"
    ),
    "recurrent term missing from a_t": (
        "recompute the step in full: a_t = W_xh x_t + W_hh h_{t-1} + b_h; without "
        "W_hh h_{t-1} the state h_t, and so its tanh derivative, is wrong"
    ),
    "bias missing from a_t": (
        "recompute the step in full: a_t = W_xh x_t + W_hh h_{t-1} + b_h; without b_h "
        "the state h_t, and so its tanh derivative, is wrong"
    ),
}


def mistaken_single_step_grad(
    params: RNNParams, x_t: np.ndarray, h_prev: np.ndarray, dL_dy: np.ndarray, mistake: str
) -> np.ndarray:
    """What dL/dW_xh = delta_t x_t^T becomes when it makes ``mistake``.

    A key of SINGLE_STEP_MISTAKES. Identity output; x_t (D,), h_prev (H,), dL_dy (O,).
    A deliberately broken formula, used to recognise learners' mistakes; never train with it.
    """
    if mistake not in SINGLE_STEP_MISTAKES:
        raise ValueError(f"mistake: expected one of "
                         f"{', '.join(map(repr, SINGLE_STEP_MISTAKES))}, got {mistake!r}")
    W_xh, W_hh, W_oh, b_h = params.W_xh, params.W_hh, params.W_oh, params.b_h
    # forward: a_t = W_xh x_t + W_hh h_{t-1} + b_h, h_t = tanh(a_t)
    recurrent = 0.0 if mistake == "recurrent term missing from a_t" else W_hh @ h_prev
    bias = 0.0 if mistake == "bias missing from a_t" else b_h
    a_t = W_xh @ x_t + recurrent + bias
    h_t = np.tanh(a_t)
    # back through the output layer: dL/dh_t = W_oh^T dL/dz_t, dL/dz_t = dL/dy_t (identity)
    dL_dh = {"W_oh not transposed": W_oh @ dL_dy,
             "output weights skipped": dL_dy}.get(mistake, W_oh.T @ dL_dy)
    # back through tanh: delta_t = (1 - h_t^2) * dL/dh_t
    slope = {"tanh derivative missing": 1.0,
             "tanh derivative of the pre-activation": 1.0 - a_t**2,
             "tanh derivative at the previous state": 1.0 - h_prev**2}.get(mistake, 1.0 - h_t**2)
    delta = slope * dL_dh
    # dL/dW_xh = delta_t x_t^T
    if mistake == "outer product reversed":
        return np.outer(x_t, delta)
    return np.outer(delta, h_prev if mistake == "h_prev used instead of x_t" else x_t)


def single_step_problem(
    seed: int = 0,
) -> tuple[RNNParams, np.ndarray, np.ndarray, np.ndarray]:
    """(params, x_t, h_prev, dL_dy) with D = 3, H = O = 4, non-zero biases and h_prev.

    O = H, so that an untransposed W_oh or a skipped output layer gives wrong numbers rather
    than a shape error; D != H, so that the reversed outer product (D, H) and the one with
    h_prev (H, H) have shapes of their own. The pre-activations are far from zero, so that
    1 - a_t^2 is far from 1 - h_t^2.
    """
    rng = np.random.default_rng(seed)
    params = init_rnn(3, 4, 4, seed=seed, scale=1.5)
    params.b_h = rng.normal(0.0, 0.5, size=4)
    params.b_o = rng.normal(0.0, 0.5, size=4)
    x_t = rng.normal(size=3)
    h_prev = np.tanh(rng.normal(size=4))
    dL_dy = rng.normal(size=4)
    return params, x_t, h_prev, dL_dy


def check_single_step_grad(
    grad_fn: Callable[[RNNParams, np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> CheckResult:
    """Check ``grad_fn(params, x_t, h_prev, dL_dy)`` -> dL/dW_xh = delta_t x_t^T, (H, D).

    One step with h_{t-1} = h_prev given and an identity output, so dL/dz_t = dL/dy_t.
    x_t (D,), h_prev (H,), dL_dy (O,). The expected answer is rnn_backward's on the one-step
    sequence starting from h_prev. Returns a CheckResult; print it or assert it. Chapter 3.
    """
    params, x_t, h_prev, dL_dy = single_step_problem()
    cache = rnn_forward(params, x_t[None, :], h_prev)
    expected = rnn_backward(params, cache, dL_dy[None, :])["W_xh"]
    mistakes = {m: (mistaken_single_step_grad(params, x_t, h_prev, dL_dy, m), hint)
                for m, hint in SINGLE_STEP_MISTAKES.items()}
    return run_check(grad_fn, (params, x_t, h_prev, dL_dy), expected, mistakes)
