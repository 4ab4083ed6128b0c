"""Chapter 14's engine: windows with the state carried across, and randomized truncation with
and without the reweighting, against full BPTT, BPTT(k, k), chapter 4's contributions, finite
differences and the exact expectation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core import stateful as st

NAMES = [*bc.PARAM_NAMES, "h0"]


def max_error(a, b, names=NAMES):
    return max(bc.rel_error(a[name], b[name]) for name in names)


# --- randomized truncation --------------------------------------------------------------------


def test_keeping_every_link_is_full_bptt():
    params, xs, targets, h0 = make_problem(0, 9, 3, 4, 2)
    L_full, full = bc.loss_and_grads(params, xs, targets, h0=h0)
    L, grads, kept = st.randomized_truncation(params, xs, targets, 1.0, seed=0, h0=h0)
    assert kept.all() and L == L_full  # the same forward pass and loss: exact
    assert max_error(grads, full) < 1e-12


def test_cuts_every_k_steps_are_chunked_truncation():
    params, xs, targets, h0 = make_problem(1, 9, 3, 4, 2, B=3)
    cache = bc.rnn_forward(params, xs, h0)
    _, dy = bc.mse_loss(cache.y, targets)
    factors = np.ones(9)
    factors[[3, 6]] = 0.0  # links from h_4 and h_7 back: windows (0, 3], (3, 6], (6, 9]
    grads = st.reweighted_backward(params, cache, dy, factors)
    _, chunks = bc.truncated_bptt(params, xs, targets, 3, 3, h0=h0)
    assert max_error(grads, chunks, bc.PARAM_NAMES) < 1e-12


@pytest.mark.parametrize("reweight", [True, False])
def test_randomized_gradient_is_the_weighted_sum_of_contributions(reweight):
    params, xs, targets, h0 = make_problem(2, 12, 3, 4, 2)
    cache = bc.rnn_forward(params, xs, h0)
    _, dy = bc.mse_loss(cache.y, targets)
    for seed in range(4):
        _, grads, kept = st.randomized_truncation(params, xs, targets, 0.6, seed=seed, h0=h0,
                                                  reweight=reweight)
        w = st.pair_weights(kept, 0.6, reweight=reweight)
        for name in bc.PARAM_NAMES:
            C = bc.contributions(params, cache, dy, name)
            assert bc.rel_error(grads[name], np.einsum("tk,tk...->...", w, C)) < 1e-12


def test_pair_weights_written_out():
    kept = np.array([True, True, False, True])  # link 3 (h_3 -> h_2) is cut
    w = st.pair_weights(kept, 0.5)
    expected = np.array([[1, 0, 0, 0], [2, 1, 0, 0], [0, 0, 1, 0], [0, 0, 2, 1]], float)
    assert np.array_equal(w, expected)  # powers of 2: exact
    assert np.array_equal(st.pair_weights(kept, 0.5, reweight=False), (expected > 0) * 1.0)


def expectation(weights, T, pi):
    """E[weights(kept, pi)] over all 2^T draws of the links, each kept with probability pi."""
    mean = np.zeros((T, T))
    for code in range(2**T):
        kept = np.array([(code >> j) & 1 for j in range(T)], dtype=bool)
        mean += np.prod(np.where(kept, pi, 1 - pi)) * weights(kept, pi)
    return mean


def test_the_reweighted_estimate_is_unbiased_and_the_plain_one_is_not():
    # exact expectation over all 2^T draws: E[w] must be 1 on and below the diagonal
    T, pi = 6, 0.4
    assert np.max(np.abs(expectation(st.pair_weights, T, pi) - np.tri(T))) < 1e-12
    plain = expectation(lambda kept, pi: st.pair_weights(kept, pi, reweight=False), T, pi)
    t, k = np.indices((T, T))
    assert np.max(np.abs(plain - np.tri(T) * pi ** np.abs(t - k))) < 1e-12  # biased: pi^(t-k)


def test_a_planted_bug_is_caught_by_the_expectation():
    # multiplying by pi instead of dividing by it: E[w] = pi^(2 (t - k)), not 1
    T, pi = 5, 0.5
    t, k = np.indices((T, T))

    def times_c(kept, pi):
        return st.pair_weights(kept, pi, reweight=False) * pi ** np.abs(t - k)

    assert np.max(np.abs(expectation(times_c, T, pi) - np.tri(T))) > 0.5


def test_draw_links_is_seeded_and_keeps_about_c():
    kept = st.draw_links(20000, 0.7, seed=3)
    assert np.array_equal(kept, st.draw_links(20000, 0.7, seed=3))
    assert abs(kept.mean() - 0.7) < 0.01
    assert st.mean_window_length(0.75) == 4.0 and st.mean_window_length(1.0) == np.inf


@pytest.mark.parametrize("bad", [0, 0.0, -0.1, 1.5, np.nan, True, "0.5"])
def test_bad_probability_names_pi(bad):
    with pytest.raises(ValueError, match=r"^pi: expected"):
        st.draw_links(5, bad, seed=0)


def test_bad_factors_and_kept_are_refused():
    params, xs, targets, h0 = make_problem(0, 4, 3, 4, 2)
    cache = bc.rnn_forward(params, xs, h0)
    _, dy = bc.mse_loss(cache.y, targets)
    with pytest.raises(ValueError, match=r"^factors: expected shape \(T,\) = \(4,\)"):
        st.reweighted_backward(params, cache, dy, np.ones(3))
    with pytest.raises(ValueError, match=r"^kept: expected a boolean"):
        st.pair_weights(np.ones(4), 0.5)


# --- windows with the state carried across ----------------------------------------------------


def test_windows_with_carried_state_are_bptt_k_k_of_one_forward_pass():
    # the gradients of the windows, at fixed weights, add up to BPTT(k, k) of the whole stream
    # (T = 12: a final window shorter than k would reach back k steps in truncated_bptt)
    params, xs, targets, h0 = make_problem(3, 12, 3, 4, 2, B=2, loss="cross_entropy")
    _, reference = bc.truncated_bptt(params, xs, targets, 4, 4, loss="cross_entropy", h0=h0)
    state, total = {"h0": h0}, {name: 0.0 for name in bc.PARAM_NAMES}
    for start in range(0, 12, 4):
        stop = start + 4
        _, grads, state = st.window_loss_and_grads(params, xs[start:stop],
                                                   targets[start:stop], state)
        for name in bc.PARAM_NAMES:  # each window's mean loss covers its share of the steps
            total[name] = total[name] + grads[name] * 4 / 12
    assert max_error(total, reference, bc.PARAM_NAMES) < 1e-12
    cache = bc.rnn_forward(params, xs, h0)
    assert bc.rel_error(state["h0"], cache.h[-1]) < 1e-15  # the state the stream ended in


def test_window_gradient_is_exact_with_the_state_held_fixed():
    params, xs, targets, h0 = make_problem(4, 5, 3, 4, 2)
    _, grads, _ = st.window_loss_and_grads(params, xs, targets, {"h0": h0}, loss="mse")
    errors = bc.gradient_check(params, xs, targets, h0=h0)
    assert max(errors.values()) < 1e-7
    _, full = bc.loss_and_grads(params, xs, targets, h0=h0)
    assert max_error(grads, full) < 1e-12


def test_lstm_carries_its_cell():
    lstm = bc.init_lstm(3, 4, 2, seed=0)
    xs = np.random.default_rng(0).normal(size=(6, 2, 3))
    targets = np.random.default_rng(1).integers(0, 2, size=(6, 2))
    _, _, s1 = st.window_loss_and_grads(lstm, xs[:3], targets[:3])
    _, _, s2 = st.window_loss_and_grads(lstm, xs[3:], targets[3:], s1)
    cache = bc.lstm_forward(lstm, xs)
    assert set(s2) == {"h0", "c0"}
    assert bc.rel_error(s2["h0"], cache.h[-1]) < 1e-14
    assert bc.rel_error(s2["c0"], cache.c[-1]) < 1e-14
    _, _, wrong = st.window_loss_and_grads(lstm, xs[3:], targets[3:], {"h0": s1["h0"]})
    assert bc.rel_error(wrong["c0"], cache.c[-1]) > 1e-3  # a dropped cell is caught


def test_train_stateful_symbols_equal_one_hot_floats_and_carry_matters():
    rng = np.random.default_rng(5)
    ids = rng.integers(0, 3, size=(20, 4))
    targets = np.roll(ids, 1, axis=0)
    params = bc.init_rnn(3, 5, 3, seed=1)
    a = st.train_stateful(params, ids, targets, window=6, lr=0.01, max_norm=1.0)
    b = st.train_stateful(params, st.one_hot(ids, 3), targets, window=6, lr=0.01,
                          max_norm=1.0)
    assert a.losses.shape == (4,) and np.array_equal(a.losses, b.losses)
    pi = st.train_stateful(params, ids, targets, window=6, lr=0.01, max_norm=1.0, carry=False)
    assert a.losses[0] == pi.losses[0] and a.losses[1] != pi.losses[1]
    assert a.adam.t == 4


def test_train_stateful_refuses_bad_window():
    with pytest.raises(ValueError, match=r"^window: expected an integer >= 1"):
        st.train_stateful(bc.init_rnn(3, 4, 3, seed=0), np.zeros((5, 2), int),
                          np.zeros((5, 2), int), window=0, lr=0.1)
    with pytest.raises(ValueError, match=r"^ids: expected symbols in \[0, 2\]"):
        st.one_hot(np.array([0, 3]), 3)


def test_the_contribution_check_catches_a_factor_on_the_wrong_link():
    # planted bug: the factor of link t applied to link t + 1 (np.roll) must not pass
    params, xs, targets, h0 = make_problem(6, 8, 3, 4, 2)
    cache = bc.rnn_forward(params, xs, h0)
    _, dy = bc.mse_loss(cache.y, targets)
    kept = st.draw_links(8, 0.5, seed=1)
    assert not kept.all() and kept.any()
    w = st.pair_weights(kept, 0.5)
    wrong = st.reweighted_backward(params, cache, dy, np.roll(st.link_factors(kept, 0.5), 1))
    C = bc.contributions(params, cache, dy, "W_hh")
    assert bc.rel_error(wrong["W_hh"], np.einsum("tk,tk...->...", w, C)) > 1e-3
