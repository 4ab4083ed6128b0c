"""RTRL (chapter 13): the same loss and gradient as BPTT, computed forward in time, with
memory that does not grow with T."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core import rtrl as rtrl_module
from bptt_core.rtrl import rtrl_loss_and_grads as rtrl

NAMES = [*bc.PARAM_NAMES, "h0"]


@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_rtrl_equals_bptt(B, activation):
    params, xs, targets, h0 = make_problem(0, T=9, D=3, H=5, O=2, B=B)
    L, grads = bc.loss_and_grads(params, xs, targets, h0=h0, activation=activation)
    L_rtrl, rtrl_grads = rtrl(params, xs, targets, h0, activation=activation)
    assert abs(L_rtrl - L) < 1e-12 * L
    assert set(rtrl_grads) == set(NAMES)
    assert max(bc.rel_error(rtrl_grads[n], grads[n]) for n in NAMES) < 1e-10


def test_rtrl_against_finite_differences():
    params, xs, targets, h0 = make_problem(3, T=6, D=2, H=3, O=2)
    errors = bc.gradient_check(params, xs, targets, h0=h0,
                               grads_fn=lambda p, x, y, h0=None, **_: rtrl(p, x, y, h0))
    assert max(errors.values()) < 1e-7


def test_memory_does_not_grow_with_T():
    peaks = []
    for T in (10, 80):
        params, xs, targets, h0 = make_problem(1, T=T, D=2, H=6, O=1)
        tracemalloc.start()
        tracemalloc.reset_peak()
        rtrl(params, xs, targets, h0)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[1] < 1.1 * peaks[0]


def test_planted_bug_is_caught(monkeypatch):
    # sensitivities that forget the recurrence W_hh P_{t-1}: only the first step is right
    monkeypatch.setattr(rtrl_module, "_through_W_hh", lambda W_hh, P, batch: 0.0 * P)
    params, xs, targets, h0 = make_problem(0, T=6, D=2, H=3, O=1)
    _, grads = bc.loss_and_grads(params, xs, targets, h0=h0)
    _, bad = rtrl(params, xs, targets, h0)
    assert bc.rel_error(bad["W_hh"], grads["W_hh"]) > 1e-3


def test_bad_inputs_name_the_argument():
    params, xs, targets, h0 = make_problem(0, T=4, D=2, H=3, O=1)
    with pytest.raises(ValueError, match="params: expected RNNParams"):
        rtrl(bc.init_lstm(2, 3, 1, seed=0), xs, targets)
    with pytest.raises(ValueError, match="targets: expected shape"):
        rtrl(params, xs, np.zeros((4, 2)))
    with pytest.raises(ValueError, match="activation"):
        rtrl(params, xs, targets, activation="sigmoid")
    with pytest.raises(ValueError, match="h0"):
        rtrl(params, xs, targets, np.zeros(4))
