"""Bad input raises ValueError naming the argument, what was expected and what came."""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc

D, H, O, T = 2, 3, 2, 4
P = bc.init_rnn(D, H, O, seed=0)
XS = np.ones((T, D))
Y = np.zeros((T, O))
CLASSES = np.zeros(T, dtype=int)


def with_nan(array, index=0):
    array = np.array(array, dtype=float)
    array.flat[index] = np.nan
    return array


CASES = {
    # name: (call, the argument named, a fragment of what came)
    "xs 1-D": (lambda: bc.rnn_forward(P, np.ones(D)), "xs", "1-D"),
    "xs wrong D": (lambda: bc.rnn_forward(P, np.ones((T, D + 1))), "xs", "(4, 3) with 3"),
    "xs no steps": (lambda: bc.rnn_forward(P, np.ones((0, D))), "xs", "(0, 2)"),
    "xs not numbers": (lambda: bc.rnn_forward(P, [["a", "b"]]), "xs", "list"),
    "xs NaN": (lambda: bc.rnn_forward(P, with_nan(XS, 3)), "xs", "NaN"),
    "h0 wrong size": (lambda: bc.rnn_forward(P, XS, np.zeros(H + 1)), "h0", "(4,)"),
    "h0 not broadcast over a batch": (
        lambda: bc.rnn_forward(P, np.ones((T, 5, D)), np.zeros(H)), "h0", "(3,)"),
    "h0 inf": (lambda: bc.rnn_forward(P, XS, np.array([0.0, np.inf, 0.0])), "h0", "inf"),
    "W_hh NaN": (lambda: bc.rnn_forward(P.replace(W_hh=with_nan(P.W_hh)), XS), "W_hh", "NaN"),
    "b_o inf": (lambda: bc.rnn_forward(P.replace(b_o=np.array([np.inf, 0.0])), XS), "b_o",
                "inf"),
    "W_hh not square": (lambda: P.replace(W_hh=np.zeros((H, H + 1))), "W_hh", "(3, 4)"),
    "b_h wrong size": (lambda: P.replace(b_h=np.zeros(H + 1)), "b_h", "(4,)"),
    "W_oh is a vector": (lambda: P.replace(W_oh=np.zeros(H)), "W_oh", "1-D"),
    "hidden_size zero": (lambda: bc.init_rnn(D, 0, O, seed=0), "hidden_size", "got 0"),
    "unknown output": (lambda: bc.rnn_forward(P, XS, output="relu"), "output", "'relu'"),
    "unknown loss": (lambda: bc.loss_and_grads(P, XS, Y, loss="l1"), "loss", "'l1'"),
    "targets wrong shape": (lambda: bc.loss_and_grads(P, XS, np.zeros((T, O + 1))), "targets",
                            "(4, 3)"),
    "targets not broadcast": (lambda: bc.loss_and_grads(P, XS, np.zeros(O)), "targets", "(2,)"),
    "targets NaN": (lambda: bc.loss_and_grads(P, XS, with_nan(Y)), "targets", "NaN"),
    "class out of range": (
        lambda: bc.loss_and_grads(P, XS, np.array([0, 1, 2, 0]), loss="cross_entropy"),
        "targets", "[0, 1] (O = 2), got 2"),
    "negative class": (
        lambda: bc.loss_and_grads(P, XS, np.array([0, -1, 0, 0]), loss="cross_entropy"),
        "targets", "got -1"),
    "float classes": (
        lambda: bc.loss_and_grads(P, XS, CLASSES.astype(float), loss="cross_entropy"),
        "targets", "float64"),
    "softmax twice": (
        lambda: bc.loss_and_grads(P, XS, CLASSES, loss="cross_entropy", output="softmax"),
        "output", "'softmax'"),
    "dy wrong shape": (lambda: bc.rnn_backward(P, bc.rnn_forward(P, XS), np.zeros((T, O + 1))),
                       "dy", "(4, 3)"),
    "dy NaN": (lambda: bc.rnn_backward(P, bc.rnn_forward(P, XS), with_nan(Y)), "dy", "NaN"),
    "unknown reduction": (lambda: bc.mse_loss(Y, Y, reduction="avg"), "reduction", "'avg'"),
    "logits 1-D": (lambda: bc.cross_entropy_loss(np.zeros(3), np.zeros(3, dtype=int)),
                   "logits", "1-D"),
    "x not float": (lambda: bc.numerical_gradient(lambda v: 0.0, np.zeros(3, dtype=int)), "x",
                    "int"),
    "eps zero": (lambda: bc.numerical_gradient(lambda v: 0.0, np.zeros(3), eps=0.0), "eps",
                 "0.0"),
    "rel_error shapes": (lambda: bc.rel_error(np.zeros(3), np.zeros(4)), "b", "(4,)"),
    "xs booleans": (lambda: bc.rnn_forward(P, np.ones((T, D), dtype=bool)), "xs", "bool"),
    "xs complex": (lambda: bc.rnn_forward(P, np.ones((T, D)) + 1j), "xs", "complex128"),
    "xs strings": (lambda: bc.rnn_forward(P, [["1.5", "2"]]), "xs", "<U3"),
    "empty batch": (lambda: bc.rnn_forward(P, np.ones((T, 0, D))), "xs", "(4, 0, 2)"),
    "no hidden units": (lambda: bc.RNNParams(np.zeros((0, D)), np.zeros((0, 0)),
                                             np.zeros((O, 0)), np.zeros(0), np.zeros(O)),
                        "W_xh", "(0, 2)"),
    "seed missing": (lambda: bc.init_rnn(D, H, O, seed=None), "seed", "None"),
    "seed negative": (lambda: bc.init_rnn(D, H, O, seed=-1), "seed", "-1"),
    "seed boolean": (lambda: bc.init_rnn(D, H, O, seed=True), "seed", "True"),
    "unknown recurrent init": (lambda: bc.init_rnn(D, H, O, seed=0, recurrent="eye"),
                               "recurrent", "'eye'"),
    "unknown activation": (lambda: bc.rnn_forward(P, XS, activation="sigmoid"), "activation",
                           "'sigmoid'"),
    "scale text": (lambda: bc.init_rnn(D, H, O, seed=0, scale="a"), "scale", "'a'"),
    "W_hh reassigned with a wrong shape": (
        lambda: bc.rnn_forward(reassigned("W_hh", np.ones((1, H))), XS), "W_hh", "(1, 3)"),
    "b_h reassigned with NaN": (
        lambda: bc.rnn_forward(reassigned("b_h", np.full(H, np.nan)), XS), "b_h", "NaN"),
    "cache from other params": (
        lambda: bc.rnn_backward(P, bc.rnn_forward(bc.init_rnn(D, H + 1, O, seed=0), XS), Y),
        "cache.h", "(5, 4)"),
    "cache with NaN": (lambda: bc.rnn_backward(P, nan_cache(), Y), "cache.h", "NaN"),
    "cache with an unknown output": (
        lambda: bc.rnn_backward(P, relabelled_cache("relu"), Y), "cache.output", "'relu'"),
}


def reassigned(name, value):
    params = P.copy()
    setattr(params, name, value)
    return params


def nan_cache():
    cache = bc.rnn_forward(P, XS)
    cache.h[2, 0] = np.nan
    return cache


def relabelled_cache(output):
    cache = bc.rnn_forward(P, XS)
    cache.output = output
    return cache


@pytest.mark.parametrize("case", CASES)
def test_bad_input_names_the_argument(case):
    call, argument, came = CASES[case]
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert message.startswith(f"{argument}:"), message
    assert "expected" in message, message
    assert came in message, message


def test_choices_are_listed():
    with pytest.raises(ValueError) as error:
        bc.rnn_forward(P, XS, output="relu")
    for choice in bc.OUTPUTS:
        assert repr(choice) in str(error.value)


def test_finite_check_accepts_huge_numbers_and_finds_nan_and_inf():
    from bptt_core._validate import require_finite

    require_finite("x", np.array([1e200, -3e200]))  # huge but finite: accepted
    with pytest.raises(ValueError, match=r"x: expected finite numbers, got 1 NaN/inf.*\(1,\)"):
        require_finite("x", np.array([1e200, np.inf]))
    with pytest.raises(ValueError, match=r"x: expected finite numbers, got 1 NaN/inf.*\(0, 1\)"):
        require_finite("x", np.array([[1.0, np.nan]]))
