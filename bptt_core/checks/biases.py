"""Self-check for the bias gradients of a batch (chapter 6): "correct" or the likely mistake.

For a batch xs (T, B, D) and the identity output, the biases' gradients are

    dL/db_o = sum_t sum_b dL/dz_{t,b},     dL/db_h = sum_t sum_b delta_{t,b},
    delta_t = (1 - h_t^2) * (W_oh^T dL/dz_t + W_hh^T delta_{t+1}),  delta_{T+1} = 0,

where delta_t = dL/da_t is the gradient at the hidden pre-activation of step t.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..losses import mse_loss
from ..rnn import RNNCache, RNNParams, init_rnn, mv, rnn_backward, rnn_forward
from ._core import CheckResult, run_check

# The mistakes people make in the bias gradients of a batch, and what to tell them.
BIAS_MISTAKES: dict[str, str] = {
    "not summed over the batch": (
        "every sequence of the batch uses the same b_h and b_o, so their gradients add up over "
        "the batch as well as over the steps: sum delta_t over the batch axis "
        "(delta_t.sum(axis=0)), so that dL/db_h has shape (H,) and dL/db_o shape (O,)"
    ),
    "b_o not summed over the batch": (
        "dL/db_o must be summed over the batch axis too: add dL/dz_t.sum(axis=0) at every "
        "step, so that dL/db_o has shape (O,)"
    ),
    "not summed over the steps": (
        "b_h is shared by all steps: add delta_t of every step into one vector of shape (H,), "
        "dL/db_h = sum_t delta_t, instead of keeping one row per step"
    ),
    "averaged over the batch": (
        "sum over the batch, do not average: dL/dy already carries the loss's 1/N, and a "
        "parameter shared by B sequences gets the sum of their B gradients"
    ),
    "gradients overwritten": (
        "the biases are used at every step, so their gradients accumulate: "
        "db_h += ... and db_o += ..., not db_h = ... (you kept only the step processed last)"
    ),
    "only the last step used": (
        "the biases act at every step, not only at t = T: sum the terms of all steps, "
        "dL/db_h = sum_t delta_t and dL/db_o = sum_t dL/dz_t"
    ),
    "tanh derivative missing": (
        "b_h sits inside the tanh: delta_t = (1 - h_t^2) * dL/dh_t, with h_t = h[t] "
        "(multiply before adding it to dL/db_h and before passing it back to h_{t-1})"
    ),
    "tanh slope of the previous state": (
        "the slope belongs to the step's own state: delta_t = (1 - h_t^2) * dL/dh_t with "
        "h_t = h[t], not h_{t-1} = h[t - 1] (h[0] is h0, so h[t] is the state of step t)"
    ),
    "tanh derivative of the pre-activation": (
        "the tanh derivative is 1 - h_t^2 with h_t = tanh(a_t), the hidden state; you "
        "applied it to the pre-activation a_t (1 - a_t^2)"
    ),
    "no gradient through time": (
        "h_t also feeds h_{t+1}: dL/dh_t = W_oh^T dL/dz_t + W_hh^T delta_{t+1}; carry "
        "delta back from step t+1 instead of using the output's gradient alone"
    ),
    "W_hh not transposed": (
        "the gradient sent back to h_{t-1} is W_hh^T delta_t, not W_hh delta_t "
        "(with a batch of rows: delta_t @ W_hh, not delta_t @ W_hh.T)"
    ),
}


def hidden_deltas(
    params: RNNParams, cache: RNNCache, dy: np.ndarray, mistake: str | None = None
) -> np.ndarray:
    """delta_t = dL/da_t = (1 - h_t^2) * (W_oh^T dL/dz_t + W_hh^T delta_{t+1}), t = T..1.

    Identity output (dL/dz_t = dL/dy_t). dy (T, [B,] O). Returns delta (T, [B,] H) with
    delta[t - 1] = delta_t. ``mistake`` (a key of BIAS_MISTAKES) makes the recursion go
    wrong the way that mistake does; None gives the right deltas. Chapter 6.
    """
    h = cache.h
    W_hh = params.W_hh if mistake == "W_hh not transposed" else params.W_hh.T
    delta = np.zeros(cache.a.shape)
    delta_next = np.zeros_like(h[0])  # delta_{T+1} = 0: nothing after the last step
    for t in range(cache.T, 0, -1):
        dh = mv(params.W_oh.T, dy[t - 1])  # dL/dh_t through the output z_t
        if mistake != "no gradient through time":
            dh = dh + delta_next  # ... and through h_{t+1}: W_hh^T delta_{t+1}
        slope = {"tanh derivative missing": 1.0,
                 "tanh slope of the previous state": 1.0 - h[t - 1] ** 2,
                 "tanh derivative of the pre-activation": 1.0 - cache.a[t - 1] ** 2,
                 }.get(mistake, 1.0 - h[t] ** 2)  # dh_t/da_t = 1 - h_t^2
        delta[t - 1] = slope * dh
        delta_next = mv(W_hh, delta[t - 1])
    return delta


def mistaken_bias_grads(
    params: RNNParams, cache: RNNCache, dy: np.ndarray, mistake: str
) -> dict[str, np.ndarray]:
    """What a batched bias_grads returns when it makes ``mistake`` (a key of BIAS_MISTAKES).

    Only the gradients the mistake changes are returned. A deliberately broken twin, used to
    recognise mistakes in learners' code; never use it for training.
    """
    if mistake not in BIAS_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, BIAS_MISTAKES))}, "
                         f"got {mistake!r}")
    delta = hidden_deltas(params, cache, dy, mistake)  # (T, B, H)
    dz = np.asarray(dy)  # identity output: dL/dz_t = dL/dy_t, (T, B, O)
    B = dz.shape[1]
    if mistake == "not summed over the batch":
        return {"b_h": delta.sum(axis=0)}  # (B, H): summed over steps only
    if mistake == "b_o not summed over the batch":
        return {"b_o": dz.sum(axis=0)}  # (B, O)
    if mistake == "not summed over the steps":
        return {"b_h": delta.sum(axis=1)}  # (T, H): summed over the batch only
    if mistake == "averaged over the batch":
        return {"b_h": delta.sum(axis=(0, 1)) / B, "b_o": dz.sum(axis=(0, 1)) / B}
    if mistake == "gradients overwritten":  # a backward loop ends at t = 1
        return {"b_h": delta[0].sum(axis=0), "b_o": dz[0].sum(axis=0)}
    if mistake == "only the last step used":
        return {"b_h": delta[-1].sum(axis=0), "b_o": dz[-1].sum(axis=0)}
    return {"b_h": delta.sum(axis=(0, 1))}  # the recursion itself went wrong


def bias_check_problem(seed: int = 6) -> tuple[RNNParams, RNNCache, np.ndarray]:
    """The fixed batched problem: T = 5 steps, B = 3 sequences, D = 3, H = 4, O = 2.

    Non-zero biases and h0, identity output, dy = dL/dy of the mean squared error against
    random targets. T, B, H and O all differ, so that a sum over the wrong axis shows as a
    wrong shape. Returns (params, cache, dy) with dy (T, B, O).
    """
    rng = np.random.default_rng(seed)
    T, B, D, H, O = 5, 3, 3, 4, 2
    params = init_rnn(D, H, O, seed=seed, scale=1.5)
    params.b_h = rng.normal(0.0, 0.5, size=H)
    params.b_o = rng.normal(0.0, 0.5, size=O)
    xs = rng.normal(size=(T, B, D))
    h0 = rng.normal(0.0, 0.5, size=(B, H))
    cache = rnn_forward(params, xs, h0)
    _, dy = mse_loss(cache.y, rng.normal(size=cache.y.shape))
    return params, cache, dy


def check_bias_grads(
    bias_grads: Callable[[RNNParams, RNNCache, np.ndarray], Mapping[str, object]],
) -> CheckResult:
    """Check ``bias_grads(params, cache, dy)`` -> {"b_h": (H,), "b_o": (O,)} on a batch.

    The function gets a batched problem (xs (T, B, D), identity output, dy (T, B, O)) and
    must return dL/db_h and dL/db_o, summed over steps and sequences. Returns a CheckResult;
    print it or assert it. Chapter 6.
    """
    params, cache, dy = bias_check_problem()
    grads = rnn_backward(params, cache, dy)
    expected = {"b_h": grads["b_h"], "b_o": grads["b_o"]}
    mistakes = {m: (mistaken_bias_grads(params, cache, dy, m), hint)
                for m, hint in BIAS_MISTAKES.items()}
    return run_check(bias_grads, (params, cache, dy), expected, mistakes)
