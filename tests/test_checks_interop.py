"""The chapter 15 self-check: the book's LSTM in Keras's layout, and the mistakes it names.

``student_convert`` fills the Keras arrays column by column, independently of the checker's
generator, with a switch per mistake; ``keras_equations`` is Keras's documented LSTM in numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core.checks.interop import (
    KERAS_MISTAKES,
    check_keras_lstm,
    keras_layout,
    keras_problem,
)

BUGS = {
    "book_order": "the book's gate order f, i, c, q",
    "torch_layout": "PyTorch's layout, not transposed",
    "interleaved": "gates interleaved unit by unit",
    "swap_c_o": "candidate and output gate swapped",
    "swap_kernels": "kernel and recurrent kernel swapped",
}


def student_convert(p, bug=None):
    H, D = p.W_xi.shape
    gates = {"book_order": "fics", "swap_c_o": "ifsc"}.get(bug, "ifcs")  # s: the output gate
    name = {"i": "i", "f": "f", "c": "c", "s": "q"}
    x, h = ("h", "x") if bug == "swap_kernels" else ("x", "h")
    rows_x = getattr(p, f"W_{x}i").shape[1]
    kernel, recurrent = np.zeros((rows_x, 4 * H)), np.zeros((H if x == "x" else D, 4 * H))
    bias = np.zeros(4 * H)
    for n, g in enumerate(gates):
        for unit in range(H):
            column = unit * 4 + n if bug == "interleaved" else n * H + unit
            kernel[:, column] = getattr(p, f"W_{x}{name[g]}")[unit]
            recurrent[:, column] = getattr(p, f"W_{h}{name[g]}")[unit]
            bias[n * H + unit] = getattr(p, f"b_{name[g]}")[unit]
    if bug == "torch_layout":
        kernel, recurrent = kernel.T, recurrent.T
    return {"kernel": kernel, "recurrent_kernel": recurrent, "bias": bias}


def keras_equations(weights, xs):
    """Hidden states of keras.layers.LSTM as documented: gates i, f, c, o from
    x @ kernel + h @ recurrent_kernel + bias, sigmoid recurrent activation."""
    H = weights["recurrent_kernel"].shape[0]
    h = c = np.zeros((xs.shape[1], H))
    hs = []
    for x in xs:
        pre = x @ weights["kernel"] + h @ weights["recurrent_kernel"] + weights["bias"]
        i, f, g, o = (pre[:, n * H:(n + 1) * H] for n in range(4))
        sig = lambda a: 1 / (1 + np.exp(-a))  # noqa: E731
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
        hs.append(h)
    return np.stack(hs)


def test_correct_conversion_passes_and_computes_the_book_lstm():
    assert check_keras_lstm(student_convert)
    params = keras_problem()
    xs = np.random.default_rng(0).normal(size=(5, 2, 3))
    h_keras = keras_equations(keras_layout(params), xs)
    assert bc.rel_error(h_keras, bc.lstm_forward(params, xs).h[1:]) < 1e-12


@pytest.mark.parametrize("bug", sorted(BUGS))
def test_each_mistake_is_named(bug):
    result = check_keras_lstm(lambda p: student_convert(p, bug))
    assert not result and result.mistake == BUGS[bug], result.message


def test_mistakes_change_the_network():
    params = keras_problem()
    xs = np.random.default_rng(1).normal(size=(5, 2, 3))
    good = keras_equations(keras_layout(params), xs)
    for mistake in KERAS_MISTAKES:
        weights = keras_layout(params, mistake)
        if weights["kernel"].shape != (3, 16) or weights["recurrent_kernel"].shape != (4, 16):
            continue  # a shape error: Keras refuses it outright
        assert bc.rel_error(keras_equations(weights, xs), good) > 1e-2, mistake


def test_unknown_mistake():
    with pytest.raises(ValueError, match="mistake: expected None or one of"):
        keras_layout(keras_problem(), "typo")
