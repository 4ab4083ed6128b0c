"""The losses: values against their definitions, gradients, and stability."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import bptt_core as bc


def test_mse_mean_and_sum_against_their_definitions():
    rng = np.random.default_rng(0)
    y, target = rng.normal(size=(4, 2, 3)), rng.normal(size=(4, 2, 3))
    total = sum((a - b) ** 2 for a, b in zip(y.ravel(), target.ravel()))
    L_mean, dy_mean = bc.mse_loss(y, target)
    L_sum, dy_sum = bc.mse_loss(y, target, reduction="sum")
    assert L_mean == pytest.approx(total / 24, rel=1e-14)
    assert L_sum == pytest.approx(total, rel=1e-14)
    assert bc.rel_error(dy_mean, bc.numerical_gradient(lambda v: bc.mse_loss(v, target)[0],
                                                       y.copy())) < 1e-9
    assert bc.rel_error(dy_sum, dy_mean * 24) < 1e-15


def test_mse_gradient_points_from_target_to_output():
    """The sign the first article gets wrong: dL/dy_t = (2/N)(y_t - target_t)."""
    L, dy = bc.mse_loss(np.array([[2.0]]), np.array([[0.5]]))
    assert L == 2.25 and dy[0, 0] == 3.0


def test_cross_entropy_against_its_definition():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(5, 2, 4))
    c = rng.integers(0, 4, size=(5, 2))
    p = np.exp(z) / np.exp(z).sum(-1, keepdims=True)
    expected = -np.mean([np.log(p[t, b, c[t, b]]) for t in range(5) for b in range(2)])
    L, dz = bc.cross_entropy_loss(z, c)
    assert L == pytest.approx(expected, rel=1e-13)
    assert bc.rel_error(dz, bc.numerical_gradient(lambda v: bc.cross_entropy_loss(v, c)[0],
                                                  z.copy())) < 1e-8
    onehot = np.eye(4)[c]
    assert bc.rel_error(dz, (p - onehot) / 10) < 1e-13


def test_cross_entropy_is_stable_for_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4]])
    c = np.array([1, 2, 2])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        L, dz = bc.cross_entropy_loss(z, c)
    assert np.isfinite(L) and np.all(np.isfinite(dz))
    # step 1: true class at -1e4 against 1e4 costs 2e4; step 2: two tied classes cost log 2;
    # step 3: class 2 sits 1e4 below two tied classes, costing 1e4 + log 2
    assert L == pytest.approx((2e4 + np.log(2) + 1e4 + np.log(2)) / 3, rel=1e-12)
    assert np.allclose(dz.sum(axis=-1), 0.0, atol=1e-15)


def test_softmax_output_is_stable_for_huge_pre_activations():
    params = bc.init_rnn(2, 3, 3, seed=0)
    params.b_o = np.array([1e4, -1e4, 0.0])
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        cache = bc.rnn_forward(params, np.ones((2, 2)), output="softmax")
        _, dy = bc.mse_loss(cache.y, np.zeros_like(cache.y))
        grads = bc.rnn_backward(params, cache, dy)
    assert np.allclose(cache.y.sum(-1), 1.0)
    assert all(np.all(np.isfinite(g)) for g in grads.values())
