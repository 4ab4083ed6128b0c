"""hidden_jacobians and contributions: BPTT taken apart must add up to BPTT."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc


@pytest.fixture(params=[None, 3], ids=["one sequence", "batch of 3"])
def problem(request):
    params, xs, targets, h0 = make_problem(5, T=6, D=2, H=4, O=3, B=request.param)
    cache = bc.rnn_forward(params, xs, h0, output="tanh")
    _, dy = bc.mse_loss(cache.y, targets)
    return params, cache, dy


@pytest.mark.parametrize("wrt", bc.PARAM_NAMES)
def test_contributions_sum_to_the_gradient(problem, wrt):
    params, cache, dy = problem
    C = bc.contributions(params, cache, dy, wrt)
    T = cache.T
    assert C.shape == (T, T) + getattr(params, wrt).shape
    assert bc.rel_error(C.sum(axis=(0, 1)), bc.rnn_backward(params, cache, dy)[wrt]) < 1e-12


@pytest.mark.parametrize("wrt", bc.PARAM_NAMES)
def test_no_contribution_from_a_loss_to_a_later_step(problem, wrt):
    params, cache, dy = problem
    C = bc.contributions(params, cache, dy, wrt)
    t, k = np.triu_indices(cache.T, k=1)  # pairs with k > t
    assert np.all(C[t, k] == 0.0)  # exact: zeros that no arithmetic produced (never written)
    assert np.any(C[np.tril_indices(cache.T)] != 0.0)


@pytest.mark.parametrize("wrt", ["W_oh", "b_o"])
def test_output_parameters_only_contribute_at_their_own_step(problem, wrt):
    params, cache, dy = problem
    C = bc.contributions(params, cache, dy, wrt)
    off_diagonal = ~np.eye(cache.T, dtype=bool)
    assert np.all(C[off_diagonal] == 0.0)  # exact: never written


@pytest.mark.parametrize("wrt", ["W_xh", "W_hh", "b_h"])
def test_hidden_parameters_receive_gradient_from_earlier_steps(problem, wrt):
    params, cache, dy = problem
    C = bc.contributions(params, cache, dy, wrt)
    assert np.any(C[np.tril_indices(cache.T, k=-1)] != 0.0)


def test_contribution_of_one_loss_step_matches_finite_differences():
    """[t, :] summed over k is the gradient of the loss at step t alone."""
    params, xs, targets, h0 = make_problem(7, T=5, D=2, H=3, O=2)
    cache = bc.rnn_forward(params, xs, h0)
    t = 4  # the book's t: loss at step 4 only
    dy = np.zeros_like(cache.y)
    dy[t - 1] = cache.y[t - 1] - targets[t - 1]  # d/dy of 0.5 * ||y_t - target_t||^2

    def loss_at_t(W_hh):
        y = bc.rnn_forward(params.replace(W_hh=W_hh), xs, h0).y
        return 0.5 * np.sum((y[t - 1] - targets[t - 1]) ** 2)

    C = bc.contributions(params, cache, dy, "W_hh")
    numeric = bc.numerical_gradient(loss_at_t, params.W_hh.copy())
    assert bc.rel_error(C[t - 1].sum(axis=0), numeric) < 1e-7
    assert np.all(C[np.arange(5) != t - 1] == 0.0)


def test_hidden_jacobians_are_the_formula_and_match_finite_differences(problem):
    params, cache, _ = problem
    J = bc.hidden_jacobians(params, cache)
    H = params.W_hh.shape[0]
    assert J.shape == (cache.T, *cache.h.shape[1:], H)  # (T, [B,] H, H)
    single = cache.h.ndim == 2
    for t in range(1, cache.T + 1):
        h_t = cache.h[t] if single else cache.h[t, 0]
        J_t = J[t - 1] if single else J[t - 1, 0]
        assert bc.rel_error(J_t, np.diag(1 - h_t**2) @ params.W_hh) < 1e-14
    # finite differences of one step h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h), t = 3
    x_3 = cache.xs[2] if single else cache.xs[2, 0]
    h_2 = (cache.h[2] if single else cache.h[2, 0]).copy()
    J_3 = J[2] if single else J[2, 0]
    for i in range(len(h_2)):
        def h_3_entry(h_prev, i=i):
            return np.tanh(params.W_xh @ x_3 + params.W_hh @ h_prev + params.b_h)[i]
        assert bc.rel_error(J_3[i], bc.numerical_gradient(h_3_entry, h_2)) < 1e-8


def test_contributions_rejects_an_unknown_parameter(problem):
    params, cache, dy = problem
    with pytest.raises(ValueError, match=r"wrt: expected one of 'W_xh'.*got 'W_hx'"):
        bc.contributions(params, cache, dy, "W_hx")


def test_each_contribution_is_the_derivative_with_respect_to_one_use_of_the_weights():
    """C[t-1, k-1] for W_hh, computed independently: give every step its own copy W_k of the
    recurrent weights (all equal to W_hh) and differentiate the loss at step t with respect
    to the copy used at step k only."""
    params, xs, targets, h0 = make_problem(9, T=4, D=2, H=3, O=2)
    T = 4

    def loss_at(t, W_per_step):
        h = h0
        for step in range(1, t + 1):
            h = np.tanh(params.W_xh @ xs[step - 1] + W_per_step[step - 1] @ h + params.b_h)
        y_t = params.W_oh @ h + params.b_o
        return 0.5 * np.sum((y_t - targets[t - 1]) ** 2)

    cache = bc.rnn_forward(params, xs, h0)
    dy = cache.y - targets  # dL_t/dy_t for L = sum_t 0.5 ||y_t - target_t||^2
    C = bc.contributions(params, cache, dy, "W_hh")
    for t in range(1, T + 1):
        for k in range(1, T + 1):
            copies = np.stack([params.W_hh] * T)

            def loss_through_copy_k(W_k, t=t, k=k, copies=copies):
                copies[k - 1] = W_k
                return loss_at(t, copies)

            numeric = bc.numerical_gradient(loss_through_copy_k, params.W_hh.copy())
            if k > t:
                # exact: the loss at step t never reads copy k > t, so both evaluations of
                # the central difference are the same computation, and C there is never written
                assert np.all(numeric == 0.0) and np.all(C[t - 1, k - 1] == 0.0)
            else:
                assert bc.rel_error(C[t - 1, k - 1], numeric) < 1e-7, (t, k)
