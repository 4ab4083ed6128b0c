"""Self-check for the weight gradients of chapter 5: dL/dW_hh and dL/dW_oh for one sequence.

The exercise: ``weight_grads(params, cache, dy)`` -> {"W_hh": (H, H), "W_oh": (O, H)} with an
identity output, so that dL/dz_t = dL/dy_t:

    dL/dW_oh = sum_t (dL/dz_t) h_t^T
    dL/dW_hh = sum_t delta_t h_{t-1}^T,
    delta_t  = (1 - h_t^2) * (W_oh^T dL/dz_t + W_hh^T delta_{t+1}),   delta_{T+1} = 0

Each mistake below changes only the output(s) it names, so a learner who gets one gradient
right and the other wrong is told about the wrong one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..losses import mse_loss
from ..rnn import RNNCache, RNNParams, init_rnn, outer_sum, rnn_backward, rnn_forward
from ._core import CheckResult, run_check

# The mistakes people make when they write dL/dW_hh and dL/dW_oh by hand, and what to say.
WEIGHT_MISTAKES: dict[str, str] = {
    "hidden-state index off by one": (
        "W_hh multiplies the previous state at step t, so its gradient pairs delta_t with "
        "h_{t-1} (h[t - 1] in bptt_core's storage, where h[0] = h0), not with h_t (h[t])"
    ),
    "W_oh paired with h_{t-1}": (
        "z_t = W_oh h_t + b_o reads the state of the same step: dL/dW_oh pairs dL/dz_t with "
        "h_t (h[t]), not with h_{t-1} (h[t - 1])"
    ),
    "gradients overwritten": (
        "W_hh is used at every step, so dL/dW_hh is a sum over steps: accumulate with "
        "dW_hh += ..., not dW_hh = ... (only one step's term survives)"
    ),
    "W_oh gradient overwritten": (
        "W_oh is used at every step, so dL/dW_oh is a sum over steps: accumulate with "
        "dW_oh += ..., not dW_oh = ... (only one step's term survives)"
    ),
    "W_hh not transposed": (
        "the gradient that reaches h_t from step t+1 is W_hh^T delta_{t+1} (transposed), "
        "not W_hh delta_{t+1}"
    ),
    "outer product reversed": (
        "the term of step t is delta_t h_{t-1}^T = np.outer(delta_t, h_{t-1}), an (H, H) "
        "matrix whose row i belongs to unit i of a_t; np.outer(h_{t-1}, delta_t) is its "
        "transpose"
    ),
    "no gradient through time": (
        "h_t also feeds the later steps through a_{t+1}: dL/dh_t = W_oh^T dL/dz_t + "
        "W_hh^T delta_{t+1}; carry delta back from step to step"
    ),
    "tanh derivative missing": (
        "delta_t is the gradient at the pre-activation a_t: multiply dL/dh_t by the tanh "
        "derivative, delta_t = (1 - h_t^2) * dL/dh_t"
    ),
}


def mistaken_weight_grads(
    params: RNNParams, cache: RNNCache, dy: np.ndarray, mistake: str
) -> dict[str, np.ndarray]:
    """The output(s) that ``mistake`` (a key of WEIGHT_MISTAKES) changes, as that mistake
    computes them; identity output, one sequence.

    A deliberately broken twin of the exercise, used only to recognise learners' mistakes.
    Returns {"W_hh": (H, H)} or {"W_oh": (O, H)}: only the gradient the mistake affects.
    """
    if mistake not in WEIGHT_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, WEIGHT_MISTAKES))}, "
                         f"got {mistake!r}")
    W_hh, W_oh, h = params.W_hh, params.W_oh, cache.h
    dz = dy  # identity output: dL/dz_t = dL/dy_t
    dW_hh, dW_oh = np.zeros_like(W_hh), np.zeros_like(W_oh)
    delta_next = np.zeros_like(h[0])  # delta_{T+1} = 0
    for t in range(cache.T, 0, -1):
        h_for_W_oh = h[t - 1] if mistake == "W_oh paired with h_{t-1}" else h[t]
        step_W_oh = outer_sum(dz[t - 1], h_for_W_oh)
        dW_oh = step_W_oh if mistake == "W_oh gradient overwritten" else dW_oh + step_W_oh
        from_later = {"W_hh not transposed": W_hh @ delta_next,
                      "no gradient through time": 0.0}.get(mistake, W_hh.T @ delta_next)
        dh = W_oh.T @ dz[t - 1] + from_later
        slope = 1.0 if mistake == "tanh derivative missing" else 1.0 - h[t] ** 2
        delta = slope * dh
        h_for_W_hh = h[t] if mistake == "hidden-state index off by one" else h[t - 1]
        step_W_hh = outer_sum(delta, h_for_W_hh)
        if mistake == "outer product reversed":
            step_W_hh = outer_sum(h_for_W_hh, delta)
        dW_hh = step_W_hh if mistake == "gradients overwritten" else dW_hh + step_W_hh
        delta_next = delta
    W_oh_mistakes = ("W_oh paired with h_{t-1}", "W_oh gradient overwritten")
    return {"W_oh": dW_oh} if mistake in W_oh_mistakes else {"W_hh": dW_hh}


def weights_problem(seed: int = 5) -> tuple[RNNParams, RNNCache, np.ndarray]:
    """The fixed problem of the check: D = 3, H = 4, O = 2, T = 5, one sequence, h0 != 0.

    W_hh is far from symmetric (so a missing transpose shows), the biases and h0 are non-zero
    (so the step-1 term delta_1 h_0^T is not zero), and tanh is far from linear.
    Returns (params, cache, dy) with dy = dL/dy of the MSE against random targets.
    """
    rng = np.random.default_rng(seed)
    params = init_rnn(3, 4, 2, seed=seed, scale=1.5)
    params.W_hh = params.W_hh + 0.6 * (params.W_hh - params.W_hh.T)  # stress the asymmetry
    params.b_h = rng.normal(0.0, 0.5, size=4)
    params.b_o = rng.normal(0.0, 0.5, size=2)
    cache = rnn_forward(params, rng.normal(size=(5, 3)), rng.normal(0.0, 0.7, size=4))
    _, dy = mse_loss(cache.y, rng.normal(size=cache.y.shape))
    return params, cache, dy


def check_weight_grads(
    weight_grads: Callable[[RNNParams, RNNCache, np.ndarray], Mapping[str, object]],
) -> CheckResult:
    """Check ``weight_grads(params, cache, dy)`` -> {"W_hh": (H, H), "W_oh": (O, H)}.

    One sequence, identity output, dy (T, O) = dL/dy_t. The expected answer is rnn_backward's.
    Returns a CheckResult (truthy when correct); print it to read the hint. Chapter 5.
    """
    params, cache, dy = weights_problem()
    grads = rnn_backward(params, cache, dy)
    expected = {"W_hh": grads["W_hh"], "W_oh": grads["W_oh"]}
    mistakes = {m: (mistaken_weight_grads(params, cache, dy, m), hint)
                for m, hint in WEIGHT_MISTAKES.items()}
    return run_check(weight_grads, (params, cache, dy), expected, mistakes)
