"""Gradient checkpointing: full BPTT that stores about sqrt(T) hidden states (chapter 10).

Split the T steps into segments of S steps: (0, S], (S, 2S], ..., the last one shorter.

    forward    run the segments in order; keep only the checkpoints h_0, h_S, h_2S, ... and L
    backward   for the segments from last to first: recompute the segment's states from its
               checkpoint, then backpropagate through it; the gradient dL/dh_b that the
               later steps send to the segment's last state h_b enters at its last step

The gradient is exactly loss_and_grads' (up to rounding); the memory is about T/S stored
states plus one segment's cache, smallest near S = sqrt(T); the price is one more forward pass.
Time convention as in rnn.py: xs[t - 1] is x_t, h[t] is h_t with h[0] = h0.
"""

from __future__ import annotations

import math

import numpy as np

from .rnn import (
    PARAM_NAMES,
    RNNCache,
    RNNParams,
    check_inputs,
    rnn_backward,
    rnn_forward,
)
from .truncation import check_loss_settings, check_targets, loss_count, steps_loss


def backward_with_future(
    params: RNNParams, cache: RNNCache, dy: np.ndarray, dh_future: np.ndarray
) -> dict[str, np.ndarray]:
    """rnn_backward over one segment whose last state h_b also gets dh_future from later steps.

    dL/dh_b = W_oh^T dL/dz_b + dh_future (chapter 10's handover): rnn_backward starts its
    backward pass with dh_last = dh_future instead of zeros. cache: the segment's RNNCache
    (h[0] its checkpoint); dy (S, [B,] O): dL/dy of its steps; dh_future ([B,] H).
    Returns the segment's gradients, "h0" being dL/dh of its checkpoint.
    """
    return rnn_backward(params, cache, dy, dh_last=dh_future)


def checkpointed_loss_and_grads(
    params: RNNParams,
    xs: object,
    targets: object,
    *,
    segment: int | None = None,
    loss: str = "mse",
    output: str = "identity",
    h0: object = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """loss_and_grads' (L, grads), storing only h_0, h_S, h_2S, ... during the forward pass.

    params, xs (T, D) or (T, B, D), targets, loss, output, h0: as for loss_and_grads.
    segment: S, the steps between two stored states (an integer >= 1); ceil(sqrt(T)) if None.
    Returns (L, grads) with grads named like the parameters plus "h0", equal to
    loss_and_grads' up to rounding. Memory: about T/S + S states instead of T; time: one
    extra forward pass. Chapter 10.
    """
    check_loss_settings(loss, output)
    xs, h0 = check_inputs(params, xs, h0)
    T = xs.shape[0]
    S = math.ceil(math.sqrt(T)) if segment is None else segment
    if not isinstance(S, (int, np.integer)) or isinstance(S, bool) or S < 1:
        raise ValueError(f"segment: expected an integer >= 1 (steps between two stored hidden "
                         f"states) or None for ceil(sqrt(T)), got {segment!r}")
    y_shape = xs.shape[:-1] + (params.sizes[2],)
    targets = check_targets(targets, y_shape, loss)
    count = loss_count(y_shape, loss)
    starts = range(0, T, S)  # the segment from `start` covers steps start+1..min(start+S, T)

    # forward: the loss, and the checkpoints h_start; each segment's cache is dropped
    checkpoints, L = {0: h0}, 0.0
    for start in starts:
        end = min(start + S, T)
        cache = rnn_forward(params, xs[start:end], checkpoints[start], output=output)
        L += steps_loss(cache.y, targets[start:end], loss, count)[0]
        if end < T:
            checkpoints[end] = cache.h[-1].copy()  # a copy, so the cache itself can go
    del cache  # nothing of the forward pass is kept but the checkpoints and L

    # backward: recompute each segment from its checkpoint, last segment first
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dh_future = np.zeros_like(h0)  # dL/dh_T from later steps: there are none
    for start in reversed(starts):
        end = min(start + S, T)
        cache = rnn_forward(params, xs[start:end], checkpoints[start], output=output)
        _, dy = steps_loss(cache.y, targets[start:end], loss, count)
        segment_grads = backward_with_future(params, cache, dy, dh_future)
        for name in PARAM_NAMES:
            grads[name] += segment_grads[name]
        dh_future = segment_grads["h0"]  # dL/dh_start: what this segment hands to the earlier
        del cache, segment_grads  # one segment at a time: let this one go before the next
    grads["h0"] = dh_future
    return L, grads
