"""Self-check for chapter 15: the book's LSTM in Keras's layout.

Keras's LSTM computes, for a batch of rows x_t (B, D) and h_{t-1} (B, H),

    x_t @ kernel + h_{t-1} @ recurrent_kernel + bias,   kernel (D, 4H), recurrent_kernel (H, 4H),
    bias (4H,), whose four column blocks are the gates i, f, c, o in that order.

So kernel = [W_xi^T  W_xf^T  W_xc^T  W_xq^T] (columns), recurrent_kernel likewise with W_h<g>,
and bias = [b_i, b_f, b_c, b_q].
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..cells import LSTMParams, init_lstm
from ._core import CheckResult, run_check

KERAS_ORDER = ("i", "f", "c", "q")  # the book's names of Keras's i, f, c, o

KERAS_MISTAKES: dict[str, str] = {
    "the book's gate order f, i, c, q": (
        "Keras stacks the gates i, f, c, o: the input gate's columns come first, then the "
        "forget gate's (the book lists f before i)"
    ),
    "PyTorch's layout, not transposed": (
        "Keras multiplies rows from the right, x_t @ kernel, so kernel is (D, 4H): each block "
        "is W_x<g>.T, concatenated along the columns (axis=1)"
    ),
    "gates interleaved unit by unit": (
        "the four gates are four blocks of H columns each, [i | f | c | o]; np.stack(..., "
        "axis=-1).reshape puts unit 1's four gates side by side instead"
    ),
    "candidate and output gate swapped": (
        "the third block is the candidate cell c (tanh), the fourth the output gate o: "
        "the order is i, f, c, o"
    ),
    "kernel and recurrent kernel swapped": (
        "kernel multiplies the input x_t (W_x<g>, D rows), recurrent_kernel the state "
        "h_{t-1} (W_h<g>, H rows)"
    ),
}


def keras_layout(params: LSTMParams, mistake: str | None = None) -> dict[str, np.ndarray]:
    """{"kernel", "recurrent_kernel", "bias"} of keras.layers.LSTM computing ``params``; with
    ``mistake`` (a key of KERAS_MISTAKES), what that mistake produces instead."""
    if mistake is not None and mistake not in KERAS_MISTAKES:
        raise ValueError(f"mistake: expected None or one of {', '.join(map(repr, KERAS_MISTAKES))}"
                         f", got {mistake!r}")
    order = {"the book's gate order f, i, c, q": ("f", "i", "c", "q"),
             "candidate and output gate swapped": ("i", "f", "q", "c")}.get(mistake, KERAS_ORDER)
    x, h = ("h", "x") if mistake == "kernel and recurrent kernel swapped" else ("x", "h")

    def stack(prefix: str) -> np.ndarray:
        blocks = [getattr(params, f"{prefix}{g}") for g in order]
        if mistake == "PyTorch's layout, not transposed":
            return np.concatenate(blocks, axis=0)
        if mistake == "gates interleaved unit by unit":
            return np.stack([b.T for b in blocks], axis=-1).reshape(blocks[0].shape[1], -1)
        return np.concatenate([b.T for b in blocks], axis=1)

    return {"kernel": stack(f"W_{x}"), "recurrent_kernel": stack(f"W_{h}"),
            "bias": np.concatenate([getattr(params, f"b_{g}") for g in order])}


def keras_problem(seed: int = 15) -> LSTMParams:
    """An LSTM with D = 3, H = 4, O = 2 and distinct random biases for every gate."""
    params = init_lstm(3, 4, 2, seed=seed)
    rng = np.random.default_rng(seed)
    for g in ("f", "i", "c", "q"):
        setattr(params, f"b_{g}", rng.normal(size=4))
    return params


def check_keras_lstm(convert: Callable[[LSTMParams], object]) -> CheckResult:
    """Check ``convert(params) -> {"kernel", "recurrent_kernel", "bias"}`` for an LSTMParams:
    the weights of keras.layers.LSTM(H) computing the book's LSTM. Names the usual mistakes."""
    params = keras_problem()
    mistakes = {m: (keras_layout(params, m), hint) for m, hint in KERAS_MISTAKES.items()}
    return run_check(convert, (params,), keras_layout(params), mistakes)
