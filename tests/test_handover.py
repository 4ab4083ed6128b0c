"""dh_last (and the LSTM's dc_last): the gradient that later steps send to the last state.

f = L + <dh_last, h_T> (+ <dc_last, c_T>) stands in for steps after the cache's last one: its
gradient is what each backward pass returns when given dh_last (chapter 10's handover).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fourth_order_gradient

import bptt_core as bc
from bptt_core.cells import (
    gru_backward,
    gru_forward,
    init_gru,
    init_lstm,
    lstm_backward,
    lstm_forward,
)

TOL = 1e-7


def network(kind, seed, D=2, H=3, O=2):
    if kind == "rnn":
        return bc.init_rnn(D, H, O, seed=seed), bc.rnn_forward, bc.rnn_backward
    if kind == "lstm":
        return init_lstm(D, H, O, seed=seed), lstm_forward, lstm_backward
    return init_gru(D, H, O, seed=seed), gru_forward, gru_backward


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("B", [None, 2])
def test_the_later_gradient_enters_at_the_last_state(kind, B):
    params, forward, backward = network(kind, seed=3)
    rng = np.random.default_rng(4)
    batch = () if B is None else (B,)
    xs, targets = rng.normal(size=(4, *batch, 2)), rng.normal(size=(4, *batch, 2))
    dh_last = rng.normal(size=(*batch, 3))
    dc_last = rng.normal(size=(*batch, 3))
    extra = {"dc_last": dc_last} if kind == "lstm" else {}

    def f(p):
        run = forward(p, xs)
        later = np.sum(dh_last * run.h[-1])
        if kind == "lstm":
            later += np.sum(dc_last * run.c[-1])
        return bc.mse_loss(run.y, targets)[0] + later

    cache = forward(params, xs)
    _, dy = bc.mse_loss(cache.y, targets)
    grads = backward(params, cache, dy, dh_last=dh_last, **extra)
    for name, value in params.items():
        numeric = fourth_order_gradient(lambda v, n=name: f(params.replace(**{n: v})),
                                        value.copy())
        assert bc.rel_error(grads[name], numeric) < TOL, name
    # and it matters: without it the gradient is another one
    plain = backward(params, cache, dy)
    hidden = "W_hh" if kind == "rnn" else ("W_hf" if kind == "lstm" else "W_hu")
    assert bc.rel_error(plain[hidden], grads[hidden]) > 1e-3


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_none_means_nothing_comes_after_the_last_step(kind):
    params, forward, backward = network(kind, seed=5)
    xs = np.random.default_rng(5).normal(size=(3, 2))
    cache = forward(params, xs)
    dy = np.ones((3, 2))
    zero = backward(params, cache, dy, dh_last=np.zeros(3))
    none = backward(params, cache, dy)
    for name in none:  # exact by construction: both start from zeros, then the same arithmetic
        assert np.array_equal(zero[name], none[name]), name


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bad, message", [
    (np.zeros(4), r"dh_last.*\(3,\)"),
    (np.zeros((2, 3)), r"dh_last.*\(3,\)"),
    (np.array([0.0, np.nan, 0.0]), r"dh_last.*NaN|dh_last.*finite"),
    (np.array(["a", "b", "c"]), r"dh_last"),
])
def test_bad_dh_last_is_named(kind, bad, message):
    params, forward, backward = network(kind, seed=6)
    cache = forward(params, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=message):
        backward(params, cache, np.ones((3, 2)), dh_last=bad)


def test_bad_dc_last_is_named():
    params, forward, backward = network("lstm", seed=7)
    cache = forward(params, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"dc_last"):
        backward(params, cache, np.ones((3, 2)), dc_last=np.zeros(5))


def test_the_given_array_is_not_written_into():
    params, forward, backward = network("rnn", seed=8)
    cache = forward(params, np.ones((3, 2)))
    dh_last = np.ones(3)
    backward(params, cache, np.ones((3, 2)), dh_last=dh_last)
    assert np.array_equal(dh_last, np.ones(3))  # exact by construction: must stay as given
