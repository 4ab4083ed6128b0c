"""Self-check for a hand-written BPTT (chapter 4 onwards): "correct" or the likely mistake."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..losses import mse_loss
from ..rnn import (
    RNNCache,
    RNNParams,
    batch_sum,
    init_rnn,
    mv,
    outer_sum,
    output_backward,
    rnn_backward,
    rnn_forward,
)
from ._core import CheckResult, run_check

# The mistakes people make when they write BPTT by hand, and what to tell them.
BACKWARD_MISTAKES: dict[str, str] = {
    "W_hh not transposed": (
        "the gradient passed back to h_{t-1} must use W_hh transposed: "
        "dL/dh_{t-1} = W_hh^T (dL/da_t), not W_hh (dL/da_t)"
    ),
    "tanh derivative missing": (
        "multiply by the tanh derivative before using the gradient: "
        "dL/da_t = (1 - h_t^2) * dL/dh_t"
    ),
    "tanh derivative of the wrong quantity": (
        "the tanh derivative is 1 - h_t^2 with h_t = tanh(a_t), the hidden state; "
        "you applied it to the pre-activation a_t"
    ),
    "gradients overwritten": (
        "the same weights are used at every step, so their gradients add up over steps: "
        "use += (dW_hh += ...), not = (dW_hh = ...)"
    ),
    "hidden-state index off by one": (
        "dL/dW_hh at step t pairs dL/da_t with the previous state h_{t-1} (h[t - 1] in "
        "bptt_core's storage, where h[0] = h0), not with h_t"
    ),
    "no gradient through time": (
        "h_t also feeds h_{t+1}: add the gradient arriving from step t+1 (dh_next) to "
        "dL/dh_t before going through tanh"
    ),
}


def mistaken_rnn_backward(
    params: RNNParams, cache: RNNCache, dy: np.ndarray, mistake: str
) -> dict[str, np.ndarray]:
    """What rnn_backward computes when it makes ``mistake`` (a key of BACKWARD_MISTAKES).

    A deliberately broken twin of rnn_backward, used to recognise mistakes in learners' code
    and to plant bugs in the tests. Never use it for training.
    """
    if mistake not in BACKWARD_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, BACKWARD_MISTAKES))}, "
                         f"got {mistake!r}")
    W_hh = params.W_hh if mistake == "W_hh not transposed" else params.W_hh.T
    xs, h, a = cache.xs, cache.h, cache.a
    dz = output_backward(cache, dy)
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    add = (lambda old, new: new) if mistake == "gradients overwritten" else np.add
    dh_next = np.zeros_like(h[0])
    for t in range(cache.T, 0, -1):
        grads["W_oh"] = add(grads["W_oh"], outer_sum(dz[t - 1], h[t]))
        grads["b_o"] = add(grads["b_o"], batch_sum(dz[t - 1]))
        dh = mv(params.W_oh.T, dz[t - 1])
        if mistake != "no gradient through time":
            dh = dh + dh_next
        slope = {"tanh derivative missing": 1.0,
                 "tanh derivative of the wrong quantity": 1.0 - a[t - 1] ** 2}
        da = slope.get(mistake, 1.0 - h[t] ** 2) * dh
        h_prev = h[t] if mistake == "hidden-state index off by one" else h[t - 1]
        grads["W_xh"] = add(grads["W_xh"], outer_sum(da, xs[t - 1]))
        grads["W_hh"] = add(grads["W_hh"], outer_sum(da, h_prev))
        grads["b_h"] = add(grads["b_h"], batch_sum(da))
        dh_next = mv(W_hh, da)
    grads["h0"] = dh_next
    return grads


def check_problem(seed: int = 0) -> tuple[RNNParams, RNNCache, np.ndarray]:
    """The small fixed problem the checks use: D = 3, H = 4, O = 2, T = 5, one sequence.

    W_hh is far from symmetric and the pre-activations are far from zero, so that every
    mistake in BACKWARD_MISTAKES changes the gradient by much more than the tolerance.
    Returns (params, cache, dy) with dy = dL/dy of the MSE against random targets.
    """
    rng = np.random.default_rng(seed)
    params = init_rnn(3, 4, 2, seed=seed, scale=1.5)
    params.b_h = rng.normal(0.0, 0.5, size=4)
    params.b_o = rng.normal(0.0, 0.5, size=2)
    cache = rnn_forward(params, rng.normal(size=(5, 3)))
    _, dy = mse_loss(cache.y, rng.normal(size=cache.y.shape))
    return params, cache, dy


def check_rnn_backward(
    backward: Callable[[RNNParams, RNNCache, np.ndarray], Mapping[str, object]],
) -> CheckResult:
    """Check a hand-written BPTT: ``backward(params, cache, dy)`` -> gradients by name.

    The problem is one sequence with the identity output (phi(z) = z, so dL/dz_t = dL/dy_t),
    the setting of the chapter 4 exercise.

    The function gets what rnn_backward gets and must return the same dict
    (W_xh, W_hh, W_oh, b_h, b_o, h0). Returns a CheckResult; print it or assert it.
    """
    params, cache, dy = check_problem()
    mistakes = {m: (mistaken_rnn_backward(params, cache, dy, m), hint)
                for m, hint in BACKWARD_MISTAKES.items()}
    return run_check(backward, (params, cache, dy), rnn_backward(params, cache, dy), mistakes)
