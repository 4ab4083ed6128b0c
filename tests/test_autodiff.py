"""The tape-based reverse mode of chapter 13: each operation against finite differences, the
unrolled RNN and LSTM against rnn_backward / lstm_backward, the tape's growth with T."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import fourth_order_gradient, make_problem

import bptt_core as bc
from bptt_core import autodiff as ad
from bptt_core.autodiff import Tape, tape_loss_and_grads

OPS = {  # name -> a scalar loss built from one (3, 4) input, touching the op
    "add": lambda a: ad.total(ad.square(a + np.arange(4.0))),
    "sub": lambda a: ad.total(ad.square(1.5 - a)),
    "mul": lambda a: ad.total(a * a * a),
    "mv": lambda a: ad.total(ad.square(ad.mv(a, a.tape.variable(np.arange(1.0, 5.0))))),
    "mv_batch": lambda a: ad.total(ad.square(ad.mv(a.tape.variable(np.ones((2, 4))), a))),
    "tanh": lambda a: ad.total(ad.tanh(a) * 3.0),
    "sigmoid": lambda a: ad.total(ad.square(ad.sigmoid(a))),
    "relu": lambda a: ad.total(ad.square(ad.relu(a))),
    "bias_broadcast": lambda a: ad.total(ad.square(a.tape.variable(np.ones((5, 3, 4))) + a)),
}


@pytest.mark.parametrize("op", sorted(OPS))
def test_each_operation_against_finite_differences(op):
    x = np.random.default_rng(0).normal(size=(3, 4))

    def value(x_):
        tape = Tape()
        return float(OPS[op](tape.variable(x_)).value)

    tape = Tape()
    a = tape.variable(x)
    grad = tape.gradients(OPS[op](a), {"a": a})["a"]
    assert grad.shape == x.shape
    assert bc.rel_error(grad, fourth_order_gradient(value, x.copy())) < 1e-8


@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_unrolled_rnn_equals_bptt(B, activation):
    params, xs, targets, h0 = make_problem(0, T=8, D=3, H=5, O=2, B=B)
    L, grads = bc.loss_and_grads(params, xs, targets, h0=h0, activation=activation)
    L_tape, tape_grads, _ = tape_loss_and_grads(params, xs, targets, h0, activation=activation)
    assert abs(L_tape - L) < 1e-12 * L
    assert set(tape_grads) == set(grads)
    assert max(bc.rel_error(tape_grads[n], grads[n]) for n in grads) < 1e-12


@pytest.mark.parametrize("B", [None, 2])
def test_unrolled_lstm_equals_lstm_backward(B):
    _, xs, targets, h0 = make_problem(1, T=6, D=3, H=4, O=2, B=B)
    params = bc.init_lstm(3, 4, 2, seed=1)
    L, grads = bc.loss_and_grads(params, xs, targets, h0=h0)
    L_tape, tape_grads, _ = tape_loss_and_grads(params, xs, targets, h0)
    assert abs(L_tape - L) < 1e-12 * L
    assert set(tape_grads) == set(grads)  # c0 included
    assert max(bc.rel_error(tape_grads[n], grads[n]) for n in grads) < 1e-12


def test_tape_grows_linearly_with_T():
    counts = []
    for T in (5, 10, 20):
        params, xs, targets, h0 = make_problem(2, T=T, D=2, H=3, O=1)
        counts.append(tape_loss_and_grads(params, xs, targets, h0)[2].operations())
    per_step = counts[1] - counts[0]
    assert per_step > 0 and counts[2] - counts[1] == 2 * per_step  # exact: integer counts


def test_shared_weight_accumulates_every_use():
    # L = sum(W x) + sum(W x'): dL/dW must hold both uses; overwriting keeps only one
    tape = Tape()
    W = tape.variable(np.ones((2, 3)))
    x1, x2 = tape.variable([1.0, 2.0, 3.0]), tape.variable([4.0, 5.0, 6.0])
    loss = ad.total(ad.mv(W, x1)) + ad.total(ad.mv(W, x2))
    grad = tape.gradients(loss, {"W": W})["W"]
    np.testing.assert_array_equal(grad, np.tile([5.0, 7.0, 9.0], (2, 1)))  # exact: small ints


def test_planted_bug_is_caught(monkeypatch):
    # a tanh whose backward forgets the slope 1 - h^2: the equality with BPTT must fail
    def bad_tanh(a):
        y = np.tanh(a.value)
        return a.tape.record(y, "tanh", (a,), lambda g: (g,))

    monkeypatch.setitem(ad.ACTIVATIONS, "tanh", bad_tanh)
    params, xs, targets, h0 = make_problem(0, T=5, D=2, H=3, O=1)
    _, grads = bc.loss_and_grads(params, xs, targets, h0=h0)
    _, tape_grads, _ = tape_loss_and_grads(params, xs, targets, h0)
    assert bc.rel_error(tape_grads["W_hh"], grads["W_hh"]) > 1e-3


def test_unused_variable_gets_zeros_and_loss_must_be_scalar():
    tape = Tape()
    a, b = tape.variable(np.ones(3)), tape.variable(np.ones(2))
    grads = tape.gradients(ad.total(ad.square(a)), {"a": a, "b": b})
    assert np.array_equal(grads["b"], np.zeros(2))  # exact: never reached
    with pytest.raises(ValueError, match="loss: expected a Var holding one number"):
        tape.gradients(ad.square(a), {"a": a})


def test_bad_inputs_name_the_argument():
    params, xs, targets, h0 = make_problem(0, T=4, D=2, H=3, O=1)
    with pytest.raises(ValueError, match="params: expected RNNParams or LSTMParams"):
        tape_loss_and_grads(bc.init_gru(2, 3, 1, seed=0), xs, targets)
    with pytest.raises(ValueError, match="targets: expected shape"):
        tape_loss_and_grads(params, xs, targets[:-1])
    with pytest.raises(ValueError, match="activation"):
        tape_loss_and_grads(params, xs, targets, activation="sigmoid")
    with pytest.raises(ValueError, match="xs"):
        tape_loss_and_grads(params, xs[..., :1], targets)


def test_operations_refuse_inputs_without_one_tape():
    with pytest.raises(ValueError, match="inputs: expected Vars of one tape.*got no Var"):
        ad.add(1.0, np.ones(2))
    a, b = Tape().variable(np.ones(2)), Tape().variable(np.ones(2))
    with pytest.raises(ValueError, match="Vars from different tapes"):
        ad.mul(a, b)
    with pytest.raises(ValueError, match="leaf: expected an array of real numbers"):
        Tape().variable("text")
