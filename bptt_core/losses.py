"""Losses and the one call that gives a loss with its exact gradients (chapter 2).

Every loss returns ``(L, dL/dinput)``; the gradient is of exactly the number returned.
"""

from __future__ import annotations

import numpy as np

from ._validate import (
    as_float_array,
    require_choice,
    require_finite,
    require_ndim,
    require_shape,
)
from .cells import (
    GRUParams,
    LSTMParams,
    gru_backward,
    gru_forward,
    lstm_backward,
    lstm_forward,
)
from .rnn import RNNParams, rnn_backward, rnn_forward, softmax

LOSSES = ("mse", "cross_entropy")

# each kind of network with its forward and backward pass (chapters 1-7 and 11)
NETWORKS = {
    RNNParams: (rnn_forward, rnn_backward),
    LSTMParams: (lstm_forward, lstm_backward),
    GRUParams: (gru_forward, gru_backward),
}


def mse_loss(
    y: object, target: object, reduction: str = "mean"
) -> tuple[float, np.ndarray]:
    """L = (1/N) sum (y - target)^2 over every element ("mean", N elements), or the plain sum.

    y and target share one shape, e.g. (T, O) or (T, B, O). "sum" is the second article's
    per-step squared error E_t = (d_t - Y_t)^2 added over steps.
    Returns (L, dL/dy) with dL/dy = (2/N)(y - target) ("mean") or 2(y - target) ("sum").
    """
    require_choice("reduction", reduction, ("mean", "sum"))
    y = as_float_array("y", y)
    target = as_float_array("target", target)
    require_shape("target", target, y.shape, "the shape of y")
    require_finite("y", y)
    require_finite("target", target)
    N = y.size if reduction == "mean" else 1
    diff = y - target
    return float(np.sum(diff**2) / N), 2.0 * diff / N


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log softmax(z) over the last axis, via log-sum-exp: finite for logits of any size."""
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def cross_entropy_loss(logits: object, target: object) -> tuple[float, np.ndarray]:
    """L = -(1/N) sum log softmax(z_t)[c_t], averaged over the N (step, sequence) pairs.

    logits (T, O) or (T, B, O); target: integer classes c_t in [0, O), shape (T,) or (T, B).
    Returns (L, dL/dlogits) with dL/dz_t = (softmax(z_t) - onehot(c_t)) / N.
    """
    z = as_float_array("logits", logits)
    require_ndim("logits", z, (2, 3), "(T, O) or (T, B, O)")
    require_finite("logits", z)
    c = np.asarray(target)
    if not np.issubdtype(c.dtype, np.integer):
        raise ValueError(
            f"target: expected integer class indices for cross-entropy, got dtype {c.dtype}"
        )
    require_shape("target", c, z.shape[:-1], "(T,) or (T, B): logits' shape without O")
    O = z.shape[-1]
    if c.size and (c.min() < 0 or c.max() >= O):
        bad = c[(c < 0) | (c >= O)][0]
        raise ValueError(f"target: expected classes in [0, {O - 1}] (O = {O}), got {bad}")
    N = c.size
    log_p = np.take_along_axis(log_softmax(z), c[..., None], axis=-1)
    onehot = np.zeros_like(z)
    np.put_along_axis(onehot, c[..., None], 1.0, axis=-1)
    return float(-log_p.sum() / N), (softmax(z) - onehot) / N


def loss_and_grads(
    params: RNNParams | LSTMParams | GRUParams,
    xs: object,
    targets: object,
    *,
    loss: str = "mse",
    output: str = "identity",
    h0: object = None,
    activation: str = "tanh",
) -> tuple[float, dict[str, np.ndarray]]:
    """The loss of the network on (xs, targets) and its exact gradients: forward, loss, BPTT.

    params: RNNParams, LSTMParams or GRUParams; the matching forward and backward pass runs
    (for the LSTM the initial cell state c0 is zero).
    loss "mse": targets shaped like y, (T, [B,] O); phi = ``output``.
    loss "cross_entropy": targets integer classes (T,) or (T, B); the output layer's
    pre-activations z_t are the logits and the loss applies softmax itself, so ``output``
    must stay "identity".
    activation: the RNN's hidden activation, "tanh" or "relu" (chapter 12); gated cells have
    their own and accept only the default.
    Returns (L, grads) with grads named like the parameters plus "h0" (see rnn_backward;
    the LSTM adds "c0").
    """
    kinds = [kind for kind in NETWORKS if isinstance(params, kind)]
    if not kinds:
        raise ValueError(f"params: expected one of {', '.join(k.__name__ for k in NETWORKS)}, "
                         f"got {type(params).__name__}")
    forward, backward = NETWORKS[kinds[0]]
    require_choice("loss", loss, LOSSES)
    if loss == "cross_entropy" and output != "identity":
        raise ValueError(
            f"output: expected 'identity' with loss='cross_entropy' (the loss applies softmax "
            f"to the logits z_t itself), got {output!r}"
        )
    if isinstance(params, RNNParams):
        cache = forward(params, xs, h0, output=output, activation=activation)
    elif activation != "tanh":
        raise ValueError(f"activation: expected 'tanh' (the default) for "
                         f"{type(params).__name__}, whose gates fix their own activations, "
                         f"got {activation!r}")
    else:
        cache = forward(params, xs, h0, output=output)
    loss_fn = mse_loss if loss == "mse" else cross_entropy_loss
    try:
        L, dy = loss_fn(cache.y, targets)
    except ValueError as exc:  # the losses call it `target`; here the argument is `targets`
        message = str(exc)
        if message.startswith("target:"):
            raise ValueError("targets:" + message.removeprefix("target:")) from None
        raise
    # the cache and dy were made just now from checked inputs (and the loss checked y): the
    # backward pass need not check them again
    return L, backward(params, cache, dy, checked=True)
