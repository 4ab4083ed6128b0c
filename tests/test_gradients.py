"""Every gradient of loss_and_grads agrees with central differences, on random shapes."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem
from hypothesis import given
from hypothesis import strategies as st

import bptt_core as bc

TOL = 1e-7

shapes = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000),
    "T": st.integers(1, 5),
    "D": st.integers(1, 4),
    "H": st.integers(1, 4),
    "O": st.integers(1, 3),
    "B": st.one_of(st.none(), st.integers(1, 3)),
})


@given(shapes, st.sampled_from(sorted(bc.OUTPUTS)))
def test_mse_gradients_match_finite_differences(shape, output):
    params, xs, targets, h0 = make_problem(**shape)
    errors = bc.gradient_check(params, xs, targets, output=output, h0=h0)
    assert set(errors) == {*bc.PARAM_NAMES, "h0"}
    assert max(errors.values()) < TOL, errors


@given(shapes)
def test_cross_entropy_gradients_match_finite_differences(shape):
    shape["O"] = max(shape["O"], 2)  # one class would make the loss identically zero
    params, xs, targets, h0 = make_problem(**shape, loss="cross_entropy")
    errors = bc.gradient_check(params, xs, targets, loss="cross_entropy", h0=h0)
    assert max(errors.values()) < TOL, errors


def test_gradients_have_the_shapes_of_their_variables():
    params, xs, targets, h0 = make_problem(0, T=3, D=2, H=4, O=3, B=2)
    _, grads = bc.loss_and_grads(params, xs, targets, h0=h0)
    for name, value in params.items():
        assert grads[name].shape == value.shape
    assert grads["h0"].shape == h0.shape


def test_reported_loss_is_the_mse_of_the_forward_outputs():
    params, xs, targets, _ = make_problem(1, T=4, D=2, H=3, O=2)
    loss, _ = bc.loss_and_grads(params, xs, targets)
    y = bc.rnn_forward(params, xs).y
    assert abs(loss - np.mean((y - targets) ** 2)) < 1e-15


def test_gradient_check_leaves_parameters_unchanged():
    params, xs, targets, h0 = make_problem(2, T=3, D=2, H=3, O=2)
    before = params.copy()
    bc.gradient_check(params, xs, targets, h0=h0)
    for name, value in params.items():
        # exact by construction: the inputs must not be written into
        assert np.array_equal(value, getattr(before, name)), name


def test_gradient_check_reports_a_misshapen_or_missing_gradient():
    params, xs, targets, h0 = make_problem(3, T=3, D=2, H=3, O=2)

    def transposed_W_xh(*args, **kwargs):
        loss, grads = bc.loss_and_grads(*args, **kwargs)
        return loss, {**grads, "W_xh": grads["W_xh"].T}

    def no_h0(*args, **kwargs):
        loss, grads = bc.loss_and_grads(*args, **kwargs)
        return loss, {name: g for name, g in grads.items() if name != "h0"}

    with pytest.raises(ValueError, match=r"grads_fn: expected grads\['W_xh'\] of shape \(3, 2\)"):
        bc.gradient_check(params, xs, targets, h0=h0, grads_fn=transposed_W_xh)
    with pytest.raises(ValueError, match=r"grads\['h0'\] of shape \(3,\), got nothing"):
        bc.gradient_check(params, xs, targets, h0=h0, grads_fn=no_h0)


def test_a_nan_gradient_fails_the_check():
    params, xs, targets, h0 = make_problem(4, T=3, D=2, H=3, O=2)

    def nan_W_hh(*args, **kwargs):
        loss, grads = bc.loss_and_grads(*args, **kwargs)
        return loss, {**grads, "W_hh": grads["W_hh"] * np.nan}

    errors = bc.gradient_check(params, xs, targets, h0=h0, grads_fn=nan_W_hh)
    assert errors["W_hh"] == np.inf and not max(errors.values()) < 1e-7


@pytest.mark.parametrize("batch", [None, 2])
def test_relu_rnn_gradients_match_finite_differences(batch):
    """The IRNN of chapter 12: h_t = relu(W_xh x_t + W_hh h_{t-1} + b_h)."""
    params, xs, targets, h0 = make_problem(8, T=4, D=2, H=5, O=2, B=batch)
    params = params.replace(W_hh=np.eye(5))  # identity recurrent weights, as in Le et al.

    def loss(p, h0=h0):
        return bc.mse_loss(bc.rnn_forward(p, xs, h0, activation="relu").y, targets)[0]

    cache = bc.rnn_forward(params, xs, h0, activation="relu")
    # exact by construction: relu's max(a, 0) returns exact zeros
    assert np.any(cache.h[1:] == 0.0) and np.any(cache.h[1:] > 0.0)  # both sides of the kink
    _, dy = bc.mse_loss(cache.y, targets)
    grads = bc.rnn_backward(params, cache, dy)
    for name, value in params.items():
        numeric = bc.numerical_gradient(lambda v, n=name: loss(params.replace(**{n: v})),
                                        value.copy())
        assert bc.rel_error(grads[name], numeric) < 1e-7, name
    numeric_h0 = bc.numerical_gradient(lambda v: loss(params, v), h0.copy())
    assert bc.rel_error(grads["h0"], numeric_h0) < 1e-7
    C = bc.contributions(params, cache, dy, "W_hh")
    assert bc.rel_error(C.sum(axis=(0, 1)), grads["W_hh"]) < 1e-12
