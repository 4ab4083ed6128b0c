"""BPTT(k1, k2): the windows, the kept pairs, and truncated_bptt against three independent
references: full BPTT (k2 >= T), the masked sum of chapter 4's contributions, and finite
differences of the loss with the window starts frozen."""

from __future__ import annotations

import tracemalloc
from functools import partial

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core.truncation import (
    Window,
    truncated_bptt,
    truncation_mask,
    truncation_windows,
)

NAMES = [*bc.PARAM_NAMES, "h0"]


def max_error(a, b, names=NAMES):
    return max(bc.rel_error(a[name], b[name]) for name in names)


# --- windows and kept pairs -------------------------------------------------------------------


def test_windows_end_every_k1_steps_and_at_T():
    assert truncation_windows(11, 3, 5) == [
        Window(first_loss=1, end=3, first_use=1), Window(first_loss=4, end=6, first_use=2),
        Window(first_loss=7, end=9, first_use=5), Window(first_loss=10, end=11, first_use=7)]
    assert truncation_windows(6, 3, 3) == [Window(1, 3, 1), Window(4, 6, 4)]
    assert truncation_windows(4, 9, 9) == [Window(1, 4, 1)]  # k1 > T: one window


def test_mask_written_out_by_hand():
    # T = 5, k1 = 2, k2 = 3: windows (0, 2] from step 1, (2, 4] from step 2, (4, 5] from step 3
    expected = np.array([[1, 0, 0, 0, 0],
                         [1, 1, 0, 0, 0],
                         [0, 1, 1, 0, 0],
                         [0, 1, 1, 1, 0],
                         [0, 0, 1, 1, 1]], dtype=bool)
    assert np.array_equal(truncation_mask(5, 2, 3), expected)


@pytest.mark.parametrize("T,k1,k2", [(1, 1, 1), (7, 1, 1), (7, 2, 3), (12, 4, 4), (9, 3, 20)])
def test_mask_reach_of_each_loss(T, k1, k2):
    mask = truncation_mask(T, k1, k2)
    assert not np.any(np.triu(mask, k=1))  # never k > t
    assert np.all(np.diag(mask))  # every loss reaches its own step
    for window in truncation_windows(T, k1, k2):
        for t in range(window.first_loss, window.end + 1):
            reach = mask[t - 1].sum()  # how many uses the loss at step t reaches
            assert reach == t - max(0, window.end - k2)
            assert min(t, k2 - k1 + 1) <= reach <= k2


def test_k2_at_least_T_keeps_every_pair_whatever_k1():
    for k1 in range(1, 8):
        assert np.array_equal(truncation_mask(7, k1, 7), np.tri(7, dtype=bool))


# --- truncated_bptt: full BPTT when nothing is truncated --------------------------------------


@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("output", sorted(bc.OUTPUTS))
def test_k1_T_and_k2_at_least_T_is_full_bptt(B, output):
    params, xs, targets, h0 = make_problem(0, T=6, D=3, H=4, O=2, B=B)
    L, grads = bc.loss_and_grads(params, xs, targets, output=output, h0=h0)
    for k2 in (6, 7, 50):
        L_trunc, trunc = truncated_bptt(params, xs, targets, 6, k2, output=output, h0=h0)
        assert L_trunc == L
        assert max_error(trunc, grads) < 1e-12


def test_cross_entropy_full_and_truncated():
    params, xs, targets, h0 = make_problem(1, T=7, D=3, H=4, O=3, B=2, loss="cross_entropy")
    L, grads = bc.loss_and_grads(params, xs, targets, loss="cross_entropy", h0=h0)
    L_trunc, trunc = truncated_bptt(params, xs, targets, 7, 7, loss="cross_entropy", h0=h0)
    assert L_trunc == L and max_error(trunc, grads) < 1e-12
    L_trunc, trunc = truncated_bptt(params, xs, targets, 2, 3, loss="cross_entropy", h0=h0)
    assert abs(L_trunc - L) < 1e-14 * L
    assert bc.rel_error(trunc["W_hh"], grads["W_hh"]) > 1e-3


@pytest.mark.parametrize("k1", [1, 2, 3, 5])
def test_any_k1_with_k2_at_least_T_is_full_bptt(k1):
    params, xs, targets, h0 = make_problem(2, T=7, D=2, H=3, O=2, B=2)
    _, grads = bc.loss_and_grads(params, xs, targets, h0=h0)
    assert max_error(truncated_bptt(params, xs, targets, k1, 7, h0=h0)[1], grads) < 1e-12


# --- truncated_bptt: the masked sum of the contributions --------------------------------------


@pytest.mark.parametrize("B", [None, 2])
@pytest.mark.parametrize("k1,k2", [(1, 1), (1, 3), (2, 2), (3, 5), (4, 6), (2, 9)])
def test_truncated_gradient_is_the_sum_of_the_kept_contributions(B, k1, k2):
    T = 9
    params, xs, targets, h0 = make_problem(3, T=T, D=3, H=4, O=2, B=B)
    cache = bc.rnn_forward(params, xs, h0)
    L, dy = bc.mse_loss(cache.y, targets)
    L_trunc, trunc = truncated_bptt(params, xs, targets, k1, k2, h0=h0)
    mask = truncation_mask(T, k1, k2)
    assert abs(L_trunc - L) < 1e-14 * L
    for name in bc.PARAM_NAMES:
        C = bc.contributions(params, cache, dy, name)
        kept = sum(C[t - 1, k - 1] for t in range(1, T + 1) for k in range(1, T + 1)
                   if mask[t - 1, k - 1])
        assert bc.rel_error(trunc[name], kept) < 1e-12, name


def test_a_wrong_mask_is_caught():
    # the comparison above can fail: the pairs of BPTT(3, 6) are not those of BPTT(3, 5)
    params, xs, targets, h0 = make_problem(3, T=9, D=3, H=4, O=2)
    cache = bc.rnn_forward(params, xs, h0)
    _, dy = bc.mse_loss(cache.y, targets)
    C = bc.contributions(params, cache, dy, "W_hh")
    wrong = C[truncation_mask(9, 3, 6)].sum(axis=0)
    assert bc.rel_error(truncated_bptt(params, xs, targets, 3, 5, h0=h0)[1]["W_hh"],
                        wrong) > 1e-3


def test_output_weights_are_never_truncated():
    params, xs, targets, h0 = make_problem(4, T=8, D=2, H=3, O=2)
    _, grads = bc.loss_and_grads(params, xs, targets, h0=h0)
    _, trunc = truncated_bptt(params, xs, targets, 2, 2, h0=h0)
    assert max_error(trunc, grads, ["W_oh", "b_o"]) < 1e-12
    assert bc.rel_error(trunc["W_xh"], grads["W_xh"]) > 1e-3


# --- what the truncated gradient is the gradient of ----------------------------------------


def frozen_start_loss(params, xs, targets, h0, frozen, k1, k2):
    """L with every window's backward start state h_{u-1} replaced by a constant.

    frozen[j] = h_j of the unperturbed forward pass. Written as plain loops, independently of
    bptt_core.truncation: windows end at k1, 2 k1, ... and T; the first use is s - k2 + 1.
    """
    T = len(xs)
    ends = sorted(set(range(k1, T + 1, k1)) | {T})
    total, previous = 0.0, 0
    for s in ends:
        u = max(1, s - k2 + 1)
        h = h0 if u == 1 else frozen[u - 1]
        for t in range(u, s + 1):
            h = np.tanh(params.W_xh @ xs[t - 1] + params.W_hh @ h + params.b_h)
            if t > previous:
                y = params.W_oh @ h + params.b_o
                total += np.sum((y - targets[t - 1]) ** 2) / targets.size
        previous = s
    return total


@pytest.mark.parametrize("k1,k2", [(1, 1), (2, 3), (3, 3), (3, 5)])
def test_truncated_gradient_is_the_gradient_with_frozen_window_starts(k1, k2):
    params, xs, targets, h0 = make_problem(5, T=8, D=3, H=4, O=2)
    frozen = bc.rnn_forward(params, xs, h0).h
    _, trunc = truncated_bptt(params, xs, targets, k1, k2, h0=h0)
    L = bc.loss_and_grads(params, xs, targets, h0=h0)[0]
    assert abs(frozen_start_loss(params, xs, targets, h0, frozen, k1, k2) - L) < 1e-14
    for name in bc.PARAM_NAMES:
        numeric = bc.numerical_gradient(
            lambda value, name=name: frozen_start_loss(params.replace(**{name: value}), xs,
                                                       targets, h0, frozen, k1, k2),
            getattr(params, name).copy())
        assert bc.rel_error(trunc[name], numeric) < 1e-7, name
    numeric_h0 = bc.numerical_gradient(
        lambda value: frozen_start_loss(params, xs, targets, value, frozen, k1, k2), h0.copy())
    assert bc.rel_error(trunc["h0"], numeric_h0) < 1e-7


def test_truncated_gradient_fails_the_check_against_the_full_loss():
    params, xs, targets, h0 = make_problem(5, T=8, D=3, H=4, O=2)
    _, trunc = truncated_bptt(params, xs, targets, 3, 3, h0=h0)
    numeric = bc.numerical_gradient(
        lambda W: bc.loss_and_grads(params.replace(W_hh=W), xs, targets, h0=h0)[0],
        params.W_hh.copy())
    assert bc.rel_error(trunc["W_hh"], numeric) > 1e-3


def test_h0_gets_gradient_only_from_windows_that_reach_step_1():
    params, xs, targets, h0 = make_problem(6, T=8, D=2, H=3, O=2)
    _, trunc = truncated_bptt(params, xs, targets, 4, 4, h0=h0)
    _, first_window = bc.loss_and_grads(params, xs[:4], targets[:4] * 1.0, h0=h0)
    # the first window's losses are averaged over all 8 steps, not 4: half the weight
    assert bc.rel_error(trunc["h0"], first_window["h0"] / 2) < 1e-12
    _, trunc = truncated_bptt(params, xs, targets, 8, 8, h0=h0)
    assert bc.rel_error(trunc["h0"], bc.loss_and_grads(params, xs, targets, h0=h0)[1]["h0"]) \
        < 1e-12


def test_inputs_are_left_unchanged():
    params, xs, targets, h0 = make_problem(7, T=6, D=2, H=3, O=2)
    before = (params.copy(), xs.copy(), targets.copy(), h0.copy())
    truncated_bptt(params, xs, targets, 2, 3, h0=h0)
    for (_, a), (_, b) in zip(params.items(), before[0].items()):
        assert np.array_equal(a, b)
    for a, b in zip((xs, targets, h0), before[1:]):
        assert np.array_equal(a, b)


# --- memory ---------------------------------------------------------------------------------


def peak_bytes(f):
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        f()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_with_k2_not_with_T():
    params = bc.init_rnn(2, 32, 1, seed=0)
    rng = np.random.default_rng(0)
    peaks = {}
    for T in (400, 1600):
        xs, targets = rng.normal(size=(T, 2)), rng.normal(size=(T, 1))
        peaks[T] = (peak_bytes(partial(truncated_bptt, params, xs, targets, 10, 20)),
                    peak_bytes(partial(bc.loss_and_grads, params, xs, targets)))
    assert peaks[1600][0] < 1.3 * peaks[400][0]  # truncated: about flat
    assert peaks[1600][1] > 3.0 * peaks[400][1]  # full BPTT: about 4 times more


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize("k1,k2,message", [
    (0, 3, "k1: expected an integer >= 1"),
    (1.5, 3, "k1: expected an integer >= 1"),
    (True, 3, "k1: expected an integer >= 1"),
    (3, 2, "k2: expected k2 >= k1 = 3, got k2 = 2"),
    (2, 2.5, "k2: expected an integer >= k1 = 2"),
    (2, None, "k2: expected an integer >= k1 = 2"),
])
def test_bad_k1_or_k2_is_refused_by_name(k1, k2, message):
    params, xs, targets, h0 = make_problem(8, T=5, D=2, H=3, O=2)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        truncated_bptt(params, xs, targets, k1, k2, h0=h0)
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        truncation_mask(5, k1, k2)


def test_bad_targets_and_settings_are_refused_by_name():
    params, xs, targets, h0 = make_problem(8, T=5, D=2, H=3, O=2)
    with pytest.raises(ValueError, match=r"targets: expected shape \(T, \[B,\] O\)"):
        truncated_bptt(params, xs, targets[:4], 2, 2)
    with pytest.raises(ValueError, match="targets: expected finite numbers"):
        truncated_bptt(params, xs, np.where(targets > 0, np.nan, targets), 2, 2)
    classes = np.zeros(5, dtype=int)
    with pytest.raises(ValueError, match="targets: expected classes in"):
        truncated_bptt(params, xs, classes + 2, 2, 2, loss="cross_entropy")
    with pytest.raises(ValueError, match="targets: expected integer class indices"):
        truncated_bptt(params, xs, classes * 1.0, 2, 2, loss="cross_entropy")
    with pytest.raises(ValueError, match="output: expected 'identity'"):
        truncated_bptt(params, xs, classes, 2, 2, loss="cross_entropy", output="tanh")
    with pytest.raises(ValueError, match="loss: expected one of"):
        truncated_bptt(params, xs, targets, 2, 2, loss="mae")
    with pytest.raises(ValueError, match="xs: expected 2 inputs per step"):
        truncated_bptt(params, xs[..., :1], targets, 2, 2)
