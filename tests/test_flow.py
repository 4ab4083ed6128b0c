"""bptt_core.flow (chapter 8): Jacobian products, their norms, the reach, the one-unit memory.

Each engine function is replayed another way: products by explicit np.diag loops and by finite
differences of the forward pass restarted at step k, norms by an SVD, the fixed point by
iterating the map.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core.flow import jacobian_products, latch_fixed_point, product_norms, reach


def literal_products(params, h):
    """dh_t/dh_k = J_t ... J_{k+1} for one sequence, each factor written with np.diag."""
    T, H = len(h) - 1, params.W_hh.shape[0]
    P = np.zeros((T + 1, T + 1, H, H))
    for t in range(T + 1):
        for k in range(t + 1):
            product = np.eye(H)
            for j in range(t, k, -1):  # J_t first, J_{k+1} last
                product = product @ (np.diag(1.0 - h[j] ** 2) @ params.W_hh)
            P[t, k] = product
    return P


def numerical_product(params, xs, h, t, k):
    """dh_t/dh_k by central differences: the forward pass restarted at step k from h_k."""
    H = params.W_hh.shape[0]
    return np.array([bc.numerical_gradient(
        lambda v, i=i: bc.rnn_forward(params, xs[k:t], h0=v).h[-1][i], h[k].copy())
        for i in range(H)])


@pytest.fixture
def problem():
    params, xs, _, h0 = make_problem(8, T=5, D=3, H=4, O=2)
    params = params.replace(W_hh=1.5 * params.W_hh)  # far from symmetric, units partly saturated
    return params, xs, bc.rnn_forward(params, xs, h0)


def test_products_equal_the_literal_products(problem):
    params, _, cache = problem
    P = jacobian_products(params, cache)
    assert P.shape == (6, 6, 4, 4)
    assert bc.rel_error(P, literal_products(params, cache.h)) < 1e-12


def test_products_equal_finite_differences(problem):
    params, xs, cache = problem
    P = jacobian_products(params, cache)
    for t in range(1, 6):
        for k in range(t):
            assert bc.rel_error(P[t, k], numerical_product(params, xs, cache.h, t, k)) < 1e-7


def test_identity_on_the_diagonal_and_zero_above(problem):
    params, _, cache = problem
    P = jacobian_products(params, cache)
    for t in range(6):
        assert np.array_equal(P[t, t], np.eye(4))  # exact: written as np.eye, no arithmetic
    assert np.all(P[np.triu_indices(6, k=1)] == 0.0)  # exact: never written


def test_one_step_products_are_the_hidden_jacobians(problem):
    params, _, cache = problem
    P = jacobian_products(params, cache)
    J = bc.hidden_jacobians(params, cache)
    for t in range(1, 6):
        # exact by construction: J times the identity adds only exact zeros to each entry
        assert np.array_equal(P[t, t - 1], J[t - 1])


def test_a_reversed_product_is_caught_by_finite_differences(problem):
    # the check above can fail: the product with the factors in the wrong order does not pass
    params, xs, cache = problem
    h = cache.h
    reversed_order = np.eye(4)
    for j in range(1, 5):  # J_1 J_2 J_3 J_4 instead of J_4 J_3 J_2 J_1
        reversed_order = reversed_order @ (np.diag(1.0 - h[j] ** 2) @ params.W_hh)
    assert bc.rel_error(reversed_order, numerical_product(params, xs, h, 4, 0)) > 1e-2


def test_a_batch_gives_each_sequence_its_own_products():
    params, xs, _, h0 = make_problem(9, T=4, D=3, H=3, O=2, B=2)
    cache = bc.rnn_forward(params, xs, h0)
    P = jacobian_products(params, cache)
    assert P.shape == (5, 5, 2, 3, 3)
    for b in range(2):
        one = bc.rnn_forward(params, xs[:, b], h0[b])
        assert bc.rel_error(P[:, :, b], literal_products(params, one.h)) < 1e-12
    assert product_norms(params, cache).shape == (5, 5, 2)


def test_norms_are_the_largest_singular_values(problem):
    params, _, cache = problem
    N = product_norms(params, cache)
    P = literal_products(params, cache.h)
    expected = np.array([[np.linalg.svd(P[t, k], compute_uv=False)[0] for k in range(6)]
                         for t in range(6)])
    assert bc.rel_error(N, expected) < 1e-12
    assert np.allclose(np.diag(N), 1.0)


@pytest.mark.parametrize("seed,scale", [(0, 0.5), (1, 1.0), (2, 2.0), (3, 4.0)])
def test_the_bound_holds_for_every_pair(seed, scale):
    # ||dh_t/dh_k|| <= sigma_max(W_hh)^(t-k) (Pascanu, Mikolov & Bengio 2013), gamma = 1 for tanh
    params, xs, _, h0 = make_problem(seed, T=20, D=3, H=6, O=2)
    params = params.replace(W_hh=scale * params.W_hh)
    N = product_norms(params, bc.rnn_forward(params, xs, h0))
    sigma = np.linalg.norm(params.W_hh, 2)
    for t in range(21):
        for k in range(t + 1):
            assert N[t, k] <= sigma ** (t - k) * (1 + 1e-12)


def test_an_orthogonal_w_hh_with_tiny_inputs_comes_close_to_the_bound():
    params = bc.init_rnn(2, 5, 1, seed=4, scale=0.8, recurrent="orthogonal")
    xs = 1e-6 * np.random.default_rng(4).normal(size=(10, 2))
    N = product_norms(params, bc.rnn_forward(params, xs))
    ratios = [N[t, k] / 0.8 ** (t - k) for t in range(11) for k in range(t)]
    assert 1 - 1e-9 < min(ratios) and max(ratios) <= 1 + 1e-12


def test_products_reject_a_cache_from_other_parameters(problem):
    params, _, cache = problem
    wider = bc.init_rnn(3, 5, 2, seed=0)
    with pytest.raises(ValueError, match="cache.h: expected shape"):
        jacobian_products(wider, cache)


def test_reach_is_the_first_distance_below_the_threshold():
    assert reach([1.0, 0.1, 0.01, 5e-4, 2e-3, 1e-5]) == 3
    assert reach([1.0, 0.5, 0.2], threshold=0.3) == 2
    assert reach(np.ones(10)) is None
    assert reach(0.5 ** np.arange(20)) == 10  # 0.5^10 < 1e-3 < 0.5^9


@pytest.mark.parametrize("ratios,threshold,message", [
    ([[1.0, 0.5]], 1e-3, "ratios: expected one size per distance"),
    ([1.0, np.nan], 1e-3, "ratios: expected finite numbers"),
    ([1.0, 0.5], 0.0, "threshold: expected a finite number > 0"),
    ([1.0, 0.5], "1e-3", "threshold: expected a finite number > 0"),
])
def test_reach_rejects_bad_input(ratios, threshold, message):
    with pytest.raises(ValueError, match=message):
        reach(ratios, threshold)


@pytest.mark.parametrize("w", [1.05, 1.5, 2.0, 3.0, 10.0])
def test_latch_fixed_point_solves_the_fixed_point_equation(w):
    a_star, gain = latch_fixed_point(w)
    assert a_star > 0 and abs(w * np.tanh(a_star) - a_star) <= 1e-15 * w
    assert gain == w * (1.0 - np.tanh(a_star) ** 2)
    assert 0.0 <= gain < 1.0


@pytest.mark.parametrize("w", [1.5, 2.0, 3.0])
def test_latch_fixed_point_is_where_the_map_goes(w):
    a = 0.01  # any state above 0 is pulled to a*
    for _ in range(400):
        a = w * np.tanh(a)
    a_star, gain = latch_fixed_point(w)
    assert abs(a - a_star) < 1e-12
    slope = (w * np.tanh(a_star + 1e-6) - w * np.tanh(a_star - 1e-6)) / 2e-6
    assert abs(slope - gain) < 1e-8


def test_latch_fixed_point_known_values():
    a_star, gain = latch_fixed_point(2.0)
    assert abs(a_star - 1.9150080481545375) < 1e-12 and abs(gain - 0.16637208775167434) < 1e-12


@pytest.mark.parametrize("w", [1.0, 0.5, -2.0, np.inf, np.nan, True, "2"])
def test_latch_fixed_point_rejects_units_that_cannot_store_a_bit(w):
    with pytest.raises(ValueError, match="w: expected a finite number > 1"):
        latch_fixed_point(w)
