"""Truncation in practice (chapter 14): a long stream, windows, and randomized truncation.

Stateful training cuts one long stream (or B streams side by side) into consecutive windows of
k1 steps and makes one update per window. The forward pass of window w starts from the state
the previous window ended in, carried across as a constant; the backward pass stays inside the
window. For windows (e_{w-1}, e_w] this is BPTT(k1, k1) with an update after every window:

    L_w = loss of steps e_{w-1}+1..e_w,  run from h_{e_{w-1}} (a constant),
    theta <- update(theta, dL_w/dtheta),  h_{e_w} carried to window w + 1.

Randomized truncation (Tallec & Ollivier 2017) keeps the link from h_j back to h_{j-1} in the
backward pass with probability pi, independently for every j = 1..T, and divides what crosses a
kept link by pi. The loss at step t then sends to the use of the weights at step k <= t

    C_{t,k} * prod_{j=k+1..t} xi_j / pi,        xi_j = 1 (kept, probability pi) or 0 (cut),

and since E[xi_j / pi] = 1 and the xi_j are independent, the expectation of the estimate is
sum_{t, k <= t} C_{t,k}: the full gradient. The gaps between cuts have mean length 1 / (1 - pi).

Time convention as in rnn.py: xs[t - 1] is x_t, h[t] is h_t with h[0] = h0.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._validate import as_float_array, require_choice, require_finite, require_ndim
from .clipping import clip_grad_norm
from .losses import NETWORKS
from .optim import AdamState, adam_init, adam_step
from .rnn import (
    ACTIVATIONS,
    RNNParams,
    batch_sum,
    check_upstream,
    mv,
    outer_sum,
    output_backward,
    rnn_forward,
)
from .truncation import check_loss_settings, check_targets, loss_count, steps_loss

# --- randomized truncation --------------------------------------------------------------------


def _require_probability(pi: object) -> float:
    ok = isinstance(pi, (int, float, np.integer, np.floating)) and not isinstance(pi, bool)
    if not ok or not np.isfinite(pi) or not 0.0 < pi <= 1.0:
        raise ValueError(f"pi: expected the probability of keeping a link, a number in (0, 1], "
                         f"got {pi!r}")
    return float(pi)


def mean_window_length(pi: float) -> float:
    """1 / (1 - pi): the mean gap between two cuts when each link is cut with probability 1 - pi.

    inf for pi = 1 (nothing is ever cut). Chapter 14.
    """
    pi = _require_probability(pi)
    return np.inf if pi == 1.0 else 1.0 / (1.0 - pi)


def draw_links(T: int, pi: float, *, seed: object) -> np.ndarray:
    """xi_j for j = 1..T: kept[j - 1] is True iff the backward pass crosses from h_j to h_{j-1}.

    Each link is kept with probability pi, independently; seed: anything np.random.default_rng
    accepts. Returns a boolean (T,) array. Chapter 14.
    """
    if not isinstance(T, (int, np.integer)) or isinstance(T, bool) or T < 1:
        raise ValueError(f"T: expected an integer >= 1 (the number of steps), got {T!r}")
    pi = _require_probability(pi)
    return np.random.default_rng(seed).random(int(T)) < pi


def _check_kept(kept: object) -> np.ndarray:
    kept = np.asarray(kept)
    if kept.dtype != bool or kept.ndim != 1:
        raise ValueError(f"kept: expected a boolean (T,) array (draw_links), got dtype "
                         f"{kept.dtype} and shape {kept.shape}")
    return kept


def link_factors(kept: object, pi: float, *, reweight: bool = True) -> np.ndarray:
    """The factor by which the backward pass multiplies what crosses link j: xi_j / pi.

    kept (T,) booleans from draw_links; reweight=False gives xi_j itself (randomized
    truncation without the correction, which is biased). Returns a float (T,) array.
    """
    kept = _check_kept(kept)
    pi = _require_probability(pi)
    return kept / pi if reweight else kept.astype(np.float64)


def pair_weights(kept: object, pi: float, *, reweight: bool = True) -> np.ndarray:
    """zeta[t - 1, k - 1] = prod_{j=k+1..t} xi_j / pi for k <= t, 0 above the diagonal.

    The weight of the term C_{t,k} in the randomized gradient: 0 if a cut lies between k and t,
    pi^{-(t-k)} otherwise (1 without reweighting). Returns a (T, T) array. Chapter 14.
    """
    factors = link_factors(kept, pi, reweight=reweight)
    T = factors.shape[0]
    w = np.zeros((T, T))
    for t in range(1, T + 1):
        w[t - 1, t - 1] = 1.0  # k = t: no link crossed, an empty product
        for k in range(t - 1, 0, -1):
            w[t - 1, k - 1] = w[t - 1, k] * factors[k]  # one more link: j = k + 1 (index k)
    return w


def reweighted_backward(
    params: RNNParams, cache: object, dy: object, factors: object
) -> dict[str, np.ndarray]:
    """rnn_backward with the gradient crossing from h_t to h_{t-1} multiplied by factors[t - 1].

    dL/dh_{t-1} (from step t) = factors[t - 1] * W_hh^T da_t. factors (T,): all 1 gives
    rnn_backward, 0 at window boundaries gives chunked truncation, link_factors gives
    randomized truncation. Returns grads named like the parameters plus "h0". Chapter 14.
    """
    dy = check_upstream(params, cache, dy)
    factors = as_float_array("factors", factors)
    if factors.shape != (cache.T,):
        raise ValueError(f"factors: expected shape (T,) = ({cache.T},), one factor per link, "
                         f"got {factors.shape}")
    require_finite("factors", factors)
    xs, h = cache.xs, cache.h
    dz = output_backward(cache, dy)
    _, slope = ACTIVATIONS[cache.activation]  # tanh: slope(h_t) = 1 - h_t^2
    dh_out = mv(params.W_oh.T, dz)  # h_t feeds y_t: W_oh^T dL/dz_t, every step at once
    da = np.empty_like(cache.a)  # delta_t = dL/da_t, filled from t = T down to 1
    dh_next = np.zeros_like(h[0])  # dL/dh_t arriving from step t+1
    for t in range(cache.T, 0, -1):
        # both roads into h_t add; back through tanh
        da[t - 1] = slope(h[t]) * (dh_out[t - 1] + dh_next)
        # across link t, from h_t back to h_{t-1}: cut (0), kept (1), or kept and reweighted
        dh_next = factors[t - 1] * mv(params.W_hh.T, da[t - 1])
    # the same weights at every step: their gradients sum over t, as in rnn_backward
    grads = {"W_xh": outer_sum(da, xs), "W_hh": outer_sum(da, h[:-1]),
             "W_oh": outer_sum(dz, h[1:]), "b_h": batch_sum(da), "b_o": batch_sum(dz)}
    grads["h0"] = dh_next
    return grads


def randomized_truncation(
    params: RNNParams,
    xs: object,
    targets: object,
    pi: float,
    *,
    seed: object,
    reweight: bool = True,
    loss: str = "mse",
    output: str = "identity",
    h0: object = None,
) -> tuple[float, dict[str, np.ndarray], np.ndarray]:
    """The loss L and a randomized truncated gradient: sum of C_{t,k} prod_{j=k+1..t} xi_j / pi.

    Every link h_j -> h_{j-1} of the backward pass is kept with probability pi (draw_links with
    ``seed``) and what crosses it is divided by pi (reweight=True): the expectation over the
    draws is the full gradient of L (Tallec & Ollivier 2017). reweight=False keeps the cuts
    without the correction: cheaper in variance, biased. params: RNNParams; xs, targets, loss,
    output, h0 as for loss_and_grads; 0 < pi <= 1 (pi = 1: full BPTT).
    Returns (L, grads, kept): grads named like the parameters plus "h0"; kept the links drawn.
    Chapter 14.
    """
    check_loss_settings(loss, output)
    cache = rnn_forward(params, xs, h0, output=output)
    y_shape = cache.y.shape
    targets = check_targets(targets, y_shape, loss)
    L, dy = steps_loss(cache.y, targets, loss, loss_count(y_shape, loss))
    kept = draw_links(cache.T, pi, seed=seed)
    grads = reweighted_backward(params, cache, dy, link_factors(kept, pi, reweight=reweight))
    return L, grads, kept


# --- stateful training on a long stream -------------------------------------------------------


def _network(params: object) -> tuple:
    kinds = [kind for kind in NETWORKS if isinstance(params, kind)]
    if not kinds:
        raise ValueError(f"params: expected one of {', '.join(k.__name__ for k in NETWORKS)}, "
                         f"got {type(params).__name__}")
    return NETWORKS[kinds[0]]


def final_state(cache: object) -> dict[str, np.ndarray]:
    """The state a window ends in, as the next window's starting state: {"h0": h_T[, "c0": c_T]}.

    Copies, so that nothing of the window's cache (or its graph) is kept: the state is carried
    across as a constant. Chapter 14.
    """
    state = {"h0": cache.h[-1].copy()}
    if hasattr(cache, "c"):  # the LSTM carries its cell too
        state["c0"] = cache.c[-1].copy()
    return state


def one_hot(ids: object, size: int) -> np.ndarray:
    """One-hot codes: ids (...) of integers in [0, size) -> float64 (..., size)."""
    ids = np.asarray(ids)
    if not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"ids: expected integer symbols, got dtype {ids.dtype}")
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        bad = ids[(ids < 0) | (ids >= size)].ravel()[0]
        raise ValueError(f"ids: expected symbols in [0, {size - 1}] (size = {size}), got {bad}")
    return np.eye(size)[ids]


def window_loss_and_grads(
    params: object,
    xs: object,
    targets: object,
    state: dict[str, np.ndarray] | None = None,
    *,
    loss: str = "cross_entropy",
    output: str = "identity",
) -> tuple[float, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One window: forward from the carried state, the window's loss, BPTT inside the window.

    params: RNNParams or LSTMParams (GRUParams too); xs (k, [B,] D); targets as for
    loss_and_grads; state: {"h0": ...[, "c0": ...]} from final_state of the previous window
    (None: zeros, the start of the stream). The state is a constant: no gradient goes back
    through it into earlier windows.
    Returns (L, grads, next_state): L the window's mean loss, grads its exact gradient with the
    state held fixed (plus "h0"[, "c0"]), next_state = final_state of this window. Chapter 14.
    """
    forward, backward = _network(params)
    check_loss_settings(loss, output)
    cache = forward(params, xs, **(state or {}), output=output)
    targets = check_targets(targets, cache.y.shape, loss)
    L, dy = steps_loss(cache.y, targets, loss, loss_count(cache.y.shape, loss))
    return L, backward(params, cache, dy), final_state(cache)


class StatefulRun(NamedTuple):
    """What train_stateful returns: the trained params, the loss of every window (measured
    before its update), the state the stream ended in, and Adam's state (to go on training)."""

    params: object
    losses: np.ndarray
    state: dict[str, np.ndarray]
    adam: AdamState


def train_stateful(
    params: object,
    xs: object,
    targets: object,
    *,
    window: int,
    lr: float,
    max_norm: float | None = None,
    carry: bool = True,
    loss: str = "cross_entropy",
    output: str = "identity",
    state: dict[str, np.ndarray] | None = None,
    adam: AdamState | None = None,
) -> StatefulRun:
    """One pass over a stream in windows of ``window`` steps, an Adam update after each.

    xs (T, B, D) floats, or (T, B) integer symbols that are one-hot coded on the fly with D =
    the params' input size (a long text needs no (T, B, D) array); targets (T, B) classes for
    cross-entropy, (T, B, O) for mse. Window w covers steps (w - 1) k + 1..min(w k, T); its
    forward pass starts from the state the previous window ended in (carry=True, "stateful")
    or from zeros (carry=False); max_norm clips each window's gradient (clip_grad_norm).
    state, adam: where an earlier pass ended (None: zeros, a fresh Adam).
    Returns a StatefulRun. Chapter 14.
    """
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 1:
        raise ValueError(f"window: expected an integer >= 1 (steps per window), got {window!r}")
    if not isinstance(carry, bool):
        raise ValueError(f"carry: expected True or False, got {carry!r}")
    _network(params)
    raw = np.asarray(xs)
    symbols = np.issubdtype(raw.dtype, np.integer)
    if symbols:
        require_ndim("xs", raw, (2,), "integer symbols (T, B)")
    else:
        raw = as_float_array("xs", xs)
        require_ndim("xs", raw, (3,), "streams (T, B, D)")
    require_choice("loss", loss, ("mse", "cross_entropy"))
    T = raw.shape[0]
    D = params.sizes[0]
    adam = adam_init(params) if adam is None else adam
    losses = np.empty(-(-T // int(window)))
    for w, start in enumerate(range(0, T, int(window))):
        stop = min(start + int(window), T)
        x_w = one_hot(raw[start:stop], D) if symbols else raw[start:stop]
        L, grads, next_state = window_loss_and_grads(params, x_w, targets[start:stop],
                                                     state if carry else None, loss=loss,
                                                     output=output)
        if max_norm is not None:
            grads, _ = clip_grad_norm(grads, max_norm)
        params, adam = adam_step(params, grads, adam, lr)
        state = next_state  # h_{e_w}: computed with the weights before this update
        losses[w] = L
    return StatefulRun(params, losses, state, adam)


__all__ = [
    "StatefulRun",
    "draw_links",
    "final_state",
    "link_factors",
    "mean_window_length",
    "one_hot",
    "pair_weights",
    "randomized_truncation",
    "reweighted_backward",
    "train_stateful",
    "window_loss_and_grads",
]
