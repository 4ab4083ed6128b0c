"""Self-checks for chapters 0 and 1: array layout and one step of the forward pass."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..rnn import RNNParams, init_rnn, rnn_forward
from ._core import CheckResult, run_check


def step_problem(seed: int = 0) -> tuple[RNNParams, np.ndarray, np.ndarray]:
    """(params, x_t, h_prev) with D = H = 4, O = 2, non-zero biases and non-symmetric weights.

    D = H, so that the mistakes that swap W_xh and W_hh, or transpose one of them, give
    wrong numbers rather than a shape error, and can be recognised.
    """
    rng = np.random.default_rng(seed)
    params = init_rnn(4, 4, 2, seed=seed)
    params.b_h = rng.normal(0.0, 0.5, size=4)
    return params, rng.normal(size=4), rng.normal(0.0, 0.5, size=4)


def check_rnn_step(step: Callable[[RNNParams, np.ndarray, np.ndarray], np.ndarray]
                   ) -> CheckResult:
    """Check ``step(params, x_t, h_prev)`` -> h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h).

    x_t (D,), h_prev (H,), returns (H,). Chapter 1.
    """
    params, x_t, h_prev = step_problem()
    W_xh, W_hh, b_h = params.W_xh, params.W_hh, params.b_h
    expected = rnn_forward(params, x_t[None, :], h_prev).h[1]
    mistakes = {
        "W_hh applied to the input": (
            np.tanh(W_hh @ x_t + W_hh @ h_prev + b_h),
            "the input has its own matrix: W_xh x_t, not W_hh x_t (the first article's slip)"),
        "tanh missing": (
            W_xh @ x_t + W_hh @ h_prev + b_h,
            "that is the pre-activation a_t; the state is h_t = tanh(a_t)"),
        "bias missing": (
            np.tanh(W_xh @ x_t + W_hh @ h_prev),
            "add the hidden bias b_h inside the tanh"),
        "previous state ignored": (
            np.tanh(W_xh @ x_t + b_h),
            "the recurrence is the point: add W_hh h_{t-1}"),
        "bias outside the tanh": (
            np.tanh(W_xh @ x_t + W_hh @ h_prev) + b_h,
            "b_h belongs to the pre-activation: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)"),
        "weights transposed": (
            np.tanh(W_xh.T @ x_t + W_hh.T @ h_prev + b_h),
            "W_xh has shape (H, D) and multiplies x_t from the left: W_xh @ x_t, not "
            "x_t @ W_xh (which is W_xh^T x_t)"),
        "W_hh transposed": (
            np.tanh(W_xh @ x_t + W_hh.T @ h_prev + b_h),
            "W_hh multiplies h_{t-1} from the left: W_hh @ h_prev, not h_prev @ W_hh "
            "(which is W_hh^T h_{t-1}; entry i of W_hh h_{t-1} uses row i of W_hh)"),
        "W_xh transposed": (
            np.tanh(W_xh.T @ x_t + W_hh @ h_prev + b_h),
            "W_xh multiplies x_t from the left: W_xh @ x_t, not x_t @ W_xh (which only runs "
            "here because D = H)"),
    }
    return run_check(step, (params, x_t, h_prev), expected, mistakes)


def check_to_time_major(convert: Callable[[np.ndarray], np.ndarray]) -> CheckResult:
    """Check ``convert(x)``: a batch stored (B, T, D), batch first, -> bptt_core's (T, B, D).

    Chapter 0.
    """
    B, T, D = 2, 3, 4
    x = np.arange(B * T * D, dtype=np.float64).reshape(B, T, D)
    mistakes = {
        "reshape instead of transpose": (
            x.reshape(T, B, D),
            "reshape keeps the numbers in memory order and cuts them anew, mixing steps and "
            "sequences; swap the axes instead: x.transpose(1, 0, 2) or np.swapaxes(x, 0, 1)"),
        "all axes reversed": (
            x.T,
            "x.T reverses every axis, giving (D, T, B); swap only the first two: "
            "x.transpose(1, 0, 2)"),
    }
    return run_check(convert, (x,), x.transpose(1, 0, 2), mistakes)
