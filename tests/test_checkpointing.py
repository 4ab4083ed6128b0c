"""Gradient checkpointing: the same loss and gradients as loss_and_grads from about sqrt(T)
stored states, and the segment backward pass that takes the later steps' gradient."""

from __future__ import annotations

import tracemalloc
from functools import partial

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core.checkpointing import backward_with_future, checkpointed_loss_and_grads

NAMES = [*bc.PARAM_NAMES, "h0"]


def max_error(a, b):
    return max(bc.rel_error(a[name], b[name]) for name in NAMES)


@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("output", sorted(bc.OUTPUTS))
@pytest.mark.parametrize("segment", [None, 1, 2, 3, 4, 10, 11])
def test_same_loss_and_gradients_as_full_bptt(B, output, segment):
    params, xs, targets, h0 = make_problem(0, T=10, D=3, H=4, O=2, B=B)
    L, grads = bc.loss_and_grads(params, xs, targets, output=output, h0=h0)
    L_ckpt, ckpt = checkpointed_loss_and_grads(params, xs, targets, segment=segment,
                                               output=output, h0=h0)
    assert abs(L_ckpt - L) < 1e-12 * L
    assert max_error(ckpt, grads) < 1e-12


def test_cross_entropy():
    params, xs, targets, h0 = make_problem(1, T=9, D=3, H=4, O=3, B=2, loss="cross_entropy")
    L, grads = bc.loss_and_grads(params, xs, targets, loss="cross_entropy", h0=h0)
    L_ckpt, ckpt = checkpointed_loss_and_grads(params, xs, targets, loss="cross_entropy", h0=h0)
    assert abs(L_ckpt - L) < 1e-12 * L and max_error(ckpt, grads) < 1e-12


def test_one_step_and_one_segment():
    params, xs, targets, h0 = make_problem(2, T=1, D=2, H=3, O=2)
    L, grads = bc.loss_and_grads(params, xs, targets, h0=h0)
    L_ckpt, ckpt = checkpointed_loss_and_grads(params, xs, targets, h0=h0)
    # the same arithmetic in another order of calls: equal to rounding, whatever the BLAS kernel
    assert abs(L_ckpt - L) <= 1e-12 * abs(L) and max_error(ckpt, grads) < 1e-12


def test_backward_with_future_adds_the_later_gradient_at_the_last_state():
    # f = L_segment + <dh_future, h_b>: the segment's loss plus a linear stand-in for the
    # later steps, whose gradient with respect to h_b is dh_future
    params, xs, targets, h0 = make_problem(3, T=4, D=3, H=4, O=2)
    dh_future = np.random.default_rng(3).normal(size=4)
    cache = bc.rnn_forward(params, xs, h0, output="tanh")
    _, dy = bc.mse_loss(cache.y, targets)
    grads = backward_with_future(params, cache, dy, dh_future)

    def f(p, h_start):
        run = bc.rnn_forward(p, xs, h_start, output="tanh")
        return bc.mse_loss(run.y, targets)[0] + dh_future @ run.h[-1]

    for name in bc.PARAM_NAMES:
        numeric = bc.numerical_gradient(lambda v, name=name: f(params.replace(**{name: v}), h0),
                                        getattr(params, name).copy())
        assert bc.rel_error(grads[name], numeric) < 1e-7, name
    numeric_h0 = bc.numerical_gradient(lambda v: f(params, v), h0.copy())
    assert bc.rel_error(grads["h0"], numeric_h0) < 1e-7
    # with nothing arriving from later steps it is rnn_backward itself
    plain = backward_with_future(params, cache, dy, np.zeros(4))
    assert max_error(plain, bc.rnn_backward(params, cache, dy)) < 1e-15


def test_dropping_the_later_gradient_is_caught():
    # the equality above can fail: segments that ignore dh_future give another gradient
    params, xs, targets, h0 = make_problem(4, T=9, D=3, H=4, O=2)
    _, grads = bc.loss_and_grads(params, xs, targets, h0=h0)
    cache_1 = bc.rnn_forward(params, xs[:3], h0)
    cache_2 = bc.rnn_forward(params, xs[3:], cache_1.h[-1])
    _, dy = bc.mse_loss(np.concatenate([cache_1.y, cache_2.y]), targets)
    second = backward_with_future(params, cache_2, dy[3:], np.zeros(4))
    joined = backward_with_future(params, cache_1, dy[:3], second["h0"])
    ignored = backward_with_future(params, cache_1, dy[:3], np.zeros(4))
    assert bc.rel_error(joined["W_hh"] + second["W_hh"], grads["W_hh"]) < 1e-12
    assert bc.rel_error(ignored["W_hh"] + second["W_hh"], grads["W_hh"]) > 1e-3


def peak_bytes(f):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_like_sqrt_T():
    params = bc.init_rnn(2, 32, 1, seed=0)
    rng = np.random.default_rng(0)
    full, ckpt = {}, {}
    for T in (900, 3600):
        xs, targets = rng.normal(size=(T, 2)), rng.normal(size=(T, 1))
        full[T] = peak_bytes(partial(bc.loss_and_grads, params, xs, targets))
        ckpt[T] = peak_bytes(partial(checkpointed_loss_and_grads, params, xs, targets))
    assert full[3600] > 3.5 * full[900]  # 4 times the steps, about 4 times the memory
    assert ckpt[3600] < 2.0 * ckpt[900]  # about sqrt(4) = 2 times at most
    assert ckpt[3600] < full[3600] / 8


def test_inputs_are_left_unchanged():
    params, xs, targets, h0 = make_problem(5, T=7, D=2, H=3, O=2)
    before = (params.copy(), xs.copy(), targets.copy(), h0.copy())
    checkpointed_loss_and_grads(params, xs, targets, segment=3, h0=h0)
    # exact by construction: nothing may write into the caller's arrays
    for (_, a), (_, b) in zip(params.items(), before[0].items()):
        assert np.array_equal(a, b)
    for a, b in zip((xs, targets, h0), before[1:]):
        assert np.array_equal(a, b)


@pytest.mark.parametrize("segment", [0, -2, 2.0, True, "4"])
def test_bad_segment_is_refused_by_name(segment):
    params, xs, targets, h0 = make_problem(6, T=5, D=2, H=3, O=2)
    with pytest.raises(ValueError, match="segment: expected an integer >= 1"):
        checkpointed_loss_and_grads(params, xs, targets, segment=segment)


def test_bad_targets_and_settings_are_refused_by_name():
    params, xs, targets, h0 = make_problem(6, T=5, D=2, H=3, O=2)
    with pytest.raises(ValueError, match=r"targets: expected shape \(T, \[B,\] O\)"):
        checkpointed_loss_and_grads(params, xs, targets[:, :1])
    with pytest.raises(ValueError, match="output: expected 'identity'"):
        checkpointed_loss_and_grads(params, xs, np.zeros(5, dtype=int), loss="cross_entropy",
                                    output="softmax")
    with pytest.raises(ValueError, match=r"h0: expected shape \(H,\)"):
        checkpointed_loss_and_grads(params, xs, targets, h0=np.zeros(4))
