"""Truncated BPTT: BPTT(k1, k2) in the sense of Williams & Peng (1990) (chapter 10).

The network runs forward over the whole sequence. Every k1 steps, at the window ends
s = k1, 2 k1, ... and at the last step T, the losses of the steps since the previous window end
are backpropagated to step u = max(1, s - k2 + 1) and no further: the state h_{u-1} that the
backward pass would have to go through is treated as a constant. With chapter 4's terms
C_{t,k} (the part of dL/dW that the loss at step t sends to W's use at step k),

    truncated dL/dW = sum over windows (s', s]  sum_{t = s'+1..s}  sum_{k = u..t}  C_{t,k},

s' the previous window end (0 for the first window). The newest loss of a window reaches back
over k2 steps (its own included), the oldest over k2 - k1 + 1; k2 >= k1 makes every loss reach
at least its own step. k1 = T with k2 >= T keeps every pair k <= t: full BPTT.

Time convention as in rnn.py: xs[t - 1] is x_t, h[t] is h_t with h[0] = h0.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, require_choice, require_finite, require_shape
from .losses import LOSSES, cross_entropy_loss, mse_loss
from .rnn import PARAM_NAMES, RNNParams, check_inputs, rnn_backward, rnn_forward


class Window(NamedTuple):
    """One backward pass of BPTT(k1, k2), in the book's step numbers (1-based).

    Its losses are those of steps first_loss..end; its backward pass runs from step end down
    to step first_use (first_use <= first_loss), starting from h_{first_use - 1} held fixed.
    """

    first_loss: int
    end: int
    first_use: int


def _require_steps(name: str, value: object, low: int, meaning: str) -> int:
    """`value` as an int >= low, or a ValueError naming the argument and what it means."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
        raise ValueError(f"{name}: expected an integer >= {low} ({meaning}), got {value!r}")
    return int(value)


def truncation_windows(T: int, k1: int, k2: int) -> list[Window]:
    """The windows of BPTT(k1, k2) on T steps: ends s = k1, 2 k1, ..., and T.

    Window with end s: losses of steps s' + 1..s (s' the previous end, 0 at first), backward
    pass over steps u..s with u = max(1, s - k2 + 1). k1 >= 1 and k2 >= k1 (a smaller k2
    would leave the oldest losses of a window without any gradient, not even through their
    own step); k1 > T gives one window ending at T. Chapter 10.
    """
    return list(iter_windows(T, k1, k2))


def iter_windows(T: int, k1: int, k2: int) -> Iterator[Window]:
    """truncation_windows one at a time (a list of them would grow with T); checks at once."""
    T = _require_steps("T", T, 1, "the number of steps")
    k1 = _require_steps("k1", k1, 1, "steps between two backward passes")
    if not isinstance(k2, (int, np.integer)) or isinstance(k2, bool):
        raise ValueError(f"k2: expected an integer >= k1 = {k1} (steps each backward pass "
                         f"goes back), got {k2!r}")
    if k2 < k1:
        raise ValueError(
            f"k2: expected k2 >= k1 = {k1}, got k2 = {k2}: each backward pass must reach back "
            f"at least over the k1 steps whose losses it carries, or the oldest of them would "
            f"get no gradient at all"
        )
    return _windows(T, k1, int(k2))


def _windows(T: int, k1: int, k2: int) -> Iterator[Window]:
    previous = 0
    while previous < T:
        end = min(previous + k1, T)  # k1, 2 k1, ..., and the final, partial window's T
        yield Window(first_loss=previous + 1, end=end, first_use=max(1, end - k2 + 1))
        previous = end


def truncation_mask(T: int, k1: int, k2: int) -> np.ndarray:
    """The pairs (loss step t, use step k) that BPTT(k1, k2) keeps: mask[t - 1, k - 1].

    True iff t lies in a window (s', s] and u <= k <= t with u = max(1, s - k2 + 1).
    Returns a boolean (T, T) array, lower triangular. Chapter 10.
    """
    mask = np.zeros((T, T), dtype=bool)
    for window in truncation_windows(T, k1, k2):
        for t in range(window.first_loss, window.end + 1):
            mask[t - 1, window.first_use - 1:t] = True  # k = first_use..t
    return mask


# --- the loss of some of the steps, normalised as the loss of the whole sequence --------------


def check_targets(targets: object, y_shape: tuple[int, ...], loss: str) -> np.ndarray:
    """Validate the targets of the whole sequence against y's shape (T, [B,] O), cheaply.

    "mse": real numbers shaped like y. "cross_entropy": integer classes in [0, O) shaped
    (T, [B]). Returns them as an array (float64 for "mse").
    """
    require_choice("loss", loss, LOSSES)
    if loss == "mse":
        targets = as_float_array("targets", targets)
        require_shape("targets", targets, y_shape, "(T, [B,] O), the shape of y")
        require_finite("targets", targets)
        return targets
    c = np.asarray(targets)
    if not np.issubdtype(c.dtype, np.integer):
        raise ValueError(f"targets: expected integer class indices for cross-entropy, got "
                         f"dtype {c.dtype}")
    require_shape("targets", c, y_shape[:-1], "(T,) or (T, B): y's shape without O")
    O = y_shape[-1]
    if c.min() < 0 or c.max() >= O:
        bad = c[(c < 0) | (c >= O)][0]
        raise ValueError(f"targets: expected classes in [0, {O - 1}] (O = {O}), got {bad}")
    return c


def steps_loss(
    y: np.ndarray, targets: np.ndarray, loss: str, count: int
) -> tuple[float, np.ndarray]:
    """The part of the whole sequence's loss that comes from some of its steps, and its dL/dy.

    y (S, [B,] O): outputs of S consecutive steps (logits for cross-entropy); targets: theirs.
    count: the number of terms the whole sequence's loss averages over (T B O for "mse",
    T B for "cross_entropy"), so that the parts of consecutive stretches add up to the
    loss_and_grads loss, and their dL/dy to its dL/dy.
    """
    if loss == "mse":
        L, dy = mse_loss(y, targets, reduction="sum")
        return L / count, dy / count
    L, dz = cross_entropy_loss(y, targets)  # averaged over this stretch's targets.size terms
    share = targets.size / count
    return L * share, dz * share


def loss_count(y_shape: tuple[int, ...], loss: str) -> int:
    """How many terms the whole sequence's loss averages over: T B O (mse) or T B (CE)."""
    shape = y_shape if loss == "mse" else y_shape[:-1]
    return int(np.prod(shape))


def check_loss_settings(loss: str, output: str) -> None:
    """The settings loss_and_grads accepts: a known loss; softmax inside cross-entropy only."""
    require_choice("loss", loss, LOSSES)
    if loss == "cross_entropy" and output != "identity":
        raise ValueError(
            f"output: expected 'identity' with loss='cross_entropy' (the loss applies softmax "
            f"to the logits z_t itself), got {output!r}"
        )


# --- BPTT(k1, k2) -----------------------------------------------------------------------------


def truncated_bptt(
    params: RNNParams,
    xs: object,
    targets: object,
    k1: int,
    k2: int,
    *,
    loss: str = "mse",
    output: str = "identity",
    h0: object = None,
) -> tuple[float, dict[str, np.ndarray]]:
    """The loss L and the truncated gradient of BPTT(k1, k2): sum of C_{t,k} over kept pairs.

    Every k1 steps (window ends s = k1, 2 k1, ..., T) the losses of steps s' + 1..s are
    backpropagated over steps s, s - 1, ..., u = max(1, s - k2 + 1), with h_{u-1} held fixed.
    params: RNNParams; xs (T, D) or (T, B, D); targets, loss, output, h0 as for
    loss_and_grads. k1 >= 1 and k2 >= k1 (ValueError otherwise).
    Returns (L, grads): L the loss of the whole sequence (loss_and_grads' L); grads named like
    the parameters plus "h0", summed over the windows with the weights held fixed; "h0"
    collects only the windows whose backward pass reaches step 1. Not the gradient of L
    unless k2 >= T: the exact gradient of L with every window's h_{u-1} frozen.

    Memory holds the current window and the previous window's states: each window's states are
    recomputed from the stored h_{u-1} (the same numbers as one long forward pass), so memory
    grows with k2, not with T. Chapter 10.
    """
    check_loss_settings(loss, output)
    xs, h0 = check_inputs(params, xs, h0)
    T = xs.shape[0]
    windows = iter_windows(T, k1, k2)  # checks k1 and k2 now, makes each window when needed
    y_shape = xs.shape[:-1] + (params.sizes[2],)
    targets = check_targets(targets, y_shape, loss)
    count = loss_count(y_shape, loss)

    grads = {name: np.zeros_like(value) for name, value in params.items()}
    grads["h0"] = np.zeros_like(h0)
    L = 0.0
    first, states = 0, h0[None]  # stored states: states[j] is h_{first + j}
    for window in windows:
        u, s = window.first_use, window.end
        # forward over steps u..s from h_{u-1} (k2 >= k1 puts it among the stored states)
        cache = rnn_forward(params, xs[u - 1:s], states[u - 1 - first], output=output)
        own = slice(window.first_loss - u, None)  # this window's losses within the cache
        L_window, dy_own = steps_loss(cache.y[own], targets[window.first_loss - 1:s], loss,
                                      count)
        L += L_window
        dy = np.zeros_like(cache.y)  # the window's older steps carry no loss in this pass
        dy[own] = dy_own
        window_grads = rnn_backward(params, cache, dy)  # stops at h_{u-1}: the truncation
        for name in PARAM_NAMES:
            grads[name] += window_grads[name]
        if u == 1:  # h_{u-1} is h0 itself only when the backward pass reaches step 1
            grads["h0"] += window_grads["h0"]
        first, states = u - 1, cache.h  # cache.h[j] is h_{u-1+j}; the older states can go
    return L, grads
