"""The LSTM: forward equations, exact gradients (finite differences), validation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import gradient_errors
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt_core as bc
import bptt_core.cells as cells
from bptt_core.cells import (
    LSTM_PARAM_NAMES,
    LSTMParams,
    init_lstm,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
)

TOL = 1e-7

shapes = st.fixed_dictionaries({
    "seed": st.integers(0, 10_000),
    "T": st.integers(1, 5),
    "D": st.integers(1, 3),
    "H": st.integers(1, 4),
    "O": st.integers(1, 3),
    "B": st.one_of(st.none(), st.integers(1, 3)),
})


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def make_lstm_problem(seed, T, D, H, O, B=None, loss="mse"):
    """(params, xs, targets, h0, c0) with every bias non-zero and random initial states."""
    rng = np.random.default_rng(seed)
    params = init_lstm(D, H, O, seed=seed)
    for name, value in params.items():
        if name.startswith("b_"):
            setattr(params, name, value + rng.normal(0.0, 0.5, size=value.shape))
    batch = () if B is None else (B,)
    xs = rng.normal(size=(T, *batch, D))
    h0 = rng.normal(0.0, 0.5, size=(*batch, H))
    c0 = rng.normal(0.0, 0.5, size=(*batch, H))
    if loss == "mse":
        targets = rng.normal(size=(T, *batch, O))
    else:
        targets = rng.integers(0, O, size=(T, *batch))
    return params, xs, targets, h0, c0


# --- forward ----------------------------------------------------------------------------------


def test_forward_follows_the_equations_step_by_step():
    params, xs, _, h0, c0 = make_lstm_problem(1, T=4, D=2, H=3, O=2)
    p = params
    cache = lstm_forward(params, xs, h0, c0, output="tanh")
    h, c = h0, c0
    for t in range(1, 5):
        x = xs[t - 1]
        f = sigmoid(p.W_xf @ x + p.W_hf @ h + p.b_f)
        i = sigmoid(p.W_xi @ x + p.W_hi @ h + p.b_i)
        g = np.tanh(p.W_xc @ x + p.W_hc @ h + p.b_c)
        q = sigmoid(p.W_xq @ x + p.W_hq @ h + p.b_q)
        c = f * c + i * g
        h = q * np.tanh(c)
        for name, value in (("f", f), ("i", i), ("c_tilde", g), ("q", q)):
            assert bc.rel_error(getattr(cache, name)[t - 1], value) < 1e-14, name
        assert bc.rel_error(cache.c[t], c) < 1e-14
        assert bc.rel_error(cache.h[t], h) < 1e-14
        assert bc.rel_error(cache.y[t - 1], np.tanh(p.W_oh @ h + p.b_o)) < 1e-14


def test_initial_states_default_to_zero_and_shapes_follow_the_batch():
    params = init_lstm(2, 3, 4, seed=0)
    cache = lstm_forward(params, np.ones((5, 6, 2)))
    assert cache.h.shape == cache.c.shape == (6, 6, 3)
    assert cache.f.shape == (5, 6, 3) and cache.y.shape == (5, 6, 4)
    # exact by construction: zeros stored as is
    assert np.all(cache.h[0] == 0.0) and np.all(cache.c[0] == 0.0)


def test_a_batch_is_the_separate_runs_side_by_side():
    params, xs, targets, h0, c0 = make_lstm_problem(2, T=3, D=2, H=3, O=2, B=3)
    batch = lstm_forward(params, xs, h0, c0)
    _, dy = bc.mse_loss(batch.y, targets, reduction="sum")
    grads = lstm_backward(params, batch, dy)
    total = {name: np.zeros_like(value) for name, value in params.items()}
    for b in range(3):
        alone = lstm_forward(params, xs[:, b], h0[b], c0[b])
        assert bc.rel_error(alone.c, batch.c[:, b]) < 1e-14
        g = lstm_backward(params, alone, dy[:, b])
        for name in total:
            total[name] += g[name]
        assert bc.rel_error(g["c0"], grads["c0"][b]) < 1e-13
    for name in total:
        assert bc.rel_error(total[name], grads[name]) < 1e-13, name


def test_init_is_seeded_with_the_forget_bias_and_copies_are_independent():
    a, b = init_lstm(2, 3, 1, seed=5), init_lstm(2, 3, 1, seed=5)
    # exact by construction: the same seeded draw
    assert all(np.array_equal(v, getattr(b, n)) for n, v in a.items())
    # exact by construction: another seed's draw
    assert not np.array_equal(a.W_hf, init_lstm(2, 3, 1, seed=6).W_hf)
    assert np.all(a.b_f == 1.0) and np.all(init_lstm(2, 3, 1, seed=5, forget_bias=3).b_f == 3.0)
    # exact by construction: biases start as zeros
    assert all(np.all(getattr(a, n) == 0.0) for n in ("b_i", "b_c", "b_q", "b_o"))
    assert [n for n, _ in a.items()] == list(LSTM_PARAM_NAMES) and a.sizes == (2, 3, 1)
    copy = a.copy()
    copy.W_hc += 1.0
    # exact by construction: copies
    assert np.array_equal(a.W_hc, b.W_hc)
    # exact by construction: arrays stored as given
    assert np.array_equal(a.replace(b_q=np.ones(3)).b_q, np.ones(3)) and np.all(a.b_q == 0)


# --- gradients --------------------------------------------------------------------------------


@given(shapes, st.sampled_from(sorted(bc.OUTPUTS)))
def test_mse_gradients_match_finite_differences(shape, output):
    params, xs, targets, h0, _ = make_lstm_problem(**shape)
    errors = gradient_errors(params, xs, targets, h0, output=output)
    assert set(errors) == {*LSTM_PARAM_NAMES, "h0"}
    assert max(errors.values()) < TOL, errors


@settings(max_examples=15)
@given(shapes)
def test_cross_entropy_gradients_match_finite_differences(shape):
    shape["O"] = max(shape["O"], 2)  # one class would make the loss identically zero
    params, xs, targets, h0, _ = make_lstm_problem(**shape, loss="cross_entropy")
    errors = gradient_errors(params, xs, targets, h0, loss="cross_entropy")
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("setting", [*({"output": o} for o in sorted(bc.OUTPUTS)),
                                     {"loss": "cross_entropy"}], ids=str)
def test_gradient_check_accepts_lstm_params_unchanged(B, setting):
    """bc.gradient_check itself (central differences, eps = 1e-5) on one well-scaled problem."""
    loss = setting.get("loss", "mse")
    params, xs, targets, h0, _ = make_lstm_problem(7, T=4, D=3, H=4, O=3, B=B, loss=loss)
    errors = bc.gradient_check(params, xs, targets, h0=h0, **setting)
    assert set(errors) == {*LSTM_PARAM_NAMES, "h0"}
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("B", [None, 2])
def test_the_initial_cell_gradient_matches_finite_differences(B):
    params, xs, targets, h0, c0 = make_lstm_problem(3, T=4, D=2, H=3, O=2, B=B)

    def loss(c0_value):
        return bc.mse_loss(lstm_forward(params, xs, h0, c0_value).y, targets)[0]

    cache = lstm_forward(params, xs, h0, c0)
    _, dy = bc.mse_loss(cache.y, targets)
    grads = lstm_backward(params, cache, dy)
    assert grads["c0"].shape == c0.shape
    assert bc.rel_error(grads["c0"], bc.numerical_gradient(loss, c0.copy())) < TOL


def test_loss_and_grads_dispatches_to_the_lstm():
    params, xs, targets, h0, _ = make_lstm_problem(4, T=3, D=2, H=3, O=2, B=2)
    L, grads = bc.loss_and_grads(params, xs, targets, h0=h0, output="sigmoid")
    cache = lstm_forward(params, xs, h0, output="sigmoid")
    L_direct, dy = bc.mse_loss(cache.y, targets)
    assert abs(L - L_direct) <= 1e-12 * L_direct
    direct = lstm_backward(params, cache, dy)
    assert set(grads) == {*LSTM_PARAM_NAMES, "h0", "c0"}
    assert all(bc.rel_error(grads[n], direct[n]) < 1e-12 for n in direct)


def test_one_step_backward_gives_the_bias_and_c0_gradients_of_a_one_step_sequence():
    params, xs, _, h0, c0 = make_lstm_problem(5, T=1, D=2, H=3, O=2)
    cache = lstm_forward(params, xs, h0, c0)
    dy = np.array([[0.3, -1.0]])
    grads = lstm_backward(params, cache, dy)
    # one step: dL/db_g = dL/da^g_1 and dL/dc_0 = what step 1 sends back
    da = lstm_step_backward(cache.step(1), params.W_oh.T @ dy[0], np.zeros(3))
    for g in ("f", "i", "c", "q"):
        assert bc.rel_error(grads[f"b_{g}"], da[f"da_{g}"]) < 1e-14, g
    assert bc.rel_error(grads["c0"], da["dc_prev"]) < 1e-14


def test_the_constant_error_carousel():
    # forget gate 1 and input gate 0: the cell is copied and so is its gradient
    params = init_lstm(2, 3, 1, seed=0).replace(
        W_xf=np.zeros((3, 2)), W_hf=np.zeros((3, 3)), b_f=np.full(3, 50.0),
        W_xi=np.zeros((3, 2)), W_hi=np.zeros((3, 3)), b_i=np.full(3, -50.0))
    c0 = np.array([0.5, -1.0, 2.0])
    cache = lstm_forward(params, np.random.default_rng(0).normal(size=(30, 2)), c0=c0)
    assert np.all(cache.f == 1.0)  # exact: sigmoid(50) rounds to 1.0 in float64
    assert bc.rel_error(cache.c[30], c0) < 1e-15
    dc = np.array([1.0, 2.0, 3.0])
    da = lstm_step_backward(cache.step(30), np.zeros(3), dc)
    assert np.array_equal(da["dc_prev"], dc)  # exact: dc * f_t with f_t == 1.0 exactly


def test_a_planted_bug_is_caught(monkeypatch):
    """The forget gate's gradient without c_{t-1}: the gradient check must fail."""
    params, xs, targets, h0, c0 = make_lstm_problem(6, T=4, D=2, H=3, O=2)
    correct = cells.lstm_step_backward

    def forgets_c_prev(step, dh, dc_next):
        da = correct(step, dh, dc_next)
        tanh_c = np.tanh(step.c)
        dc = dh * step.q * (1.0 - tanh_c**2) + dc_next
        return {**da, "da_f": dc * step.f * (1.0 - step.f)}

    assert max(bc.gradient_check(params, xs, targets, h0=h0).values()) < TOL
    monkeypatch.setattr(cells, "lstm_step_backward", forgets_c_prev)
    errors = bc.gradient_check(params, xs, targets, h0=h0)
    assert errors["W_xf"] > 1e-2 and errors["b_f"] > 1e-2
    assert errors["W_oh"] < TOL  # the output layer does not depend on the forget gate


# --- validation -------------------------------------------------------------------------------

P = init_lstm(2, 3, 2, seed=0)
XS = np.ones((4, 2))
Y = np.zeros((4, 2))

CASES = {
    "W_hf not square": (lambda: P.replace(W_hf=np.zeros((3, 4))), "W_hf", "(3, 4)"),
    "b_q wrong size": (lambda: P.replace(b_q=np.zeros(4)), "b_q", "(4,)"),
    "W_xc wrong D": (lambda: P.replace(W_xc=np.zeros((3, 3))), "W_xc", "(3, 3)"),
    "W_oh is a vector": (lambda: P.replace(W_oh=np.zeros(3)), "W_oh", "1-D"),
    "W_hi NaN": (lambda: lstm_forward(P.replace(W_hi=np.full((3, 3), np.nan)), XS), "W_hi",
                 "NaN"),
    "xs wrong D": (lambda: lstm_forward(P, np.ones((4, 3))), "xs", "3"),
    "h0 wrong size": (lambda: lstm_forward(P, XS, np.zeros(4)), "h0", "(4,)"),
    "c0 wrong size": (lambda: lstm_forward(P, XS, None, np.zeros(4)), "c0", "(4,)"),
    "c0 not broadcast": (lambda: lstm_forward(P, np.ones((4, 2, 2)), None, np.zeros(3)), "c0",
                         "(3,)"),
    "c0 inf": (lambda: lstm_forward(P, XS, None, np.array([0.0, np.inf, 0.0])), "c0", "inf"),
    "an RNN given": (lambda: lstm_forward(bc.init_rnn(2, 3, 2, seed=0), XS), "params",
                     "RNNParams"),
    "unknown output": (lambda: lstm_forward(P, XS, output="relu"), "output", "'relu'"),
    "dy wrong shape": (lambda: lstm_backward(P, lstm_forward(P, XS), np.zeros((4, 3))), "dy",
                       "(4, 3)"),
    "cache of other params": (
        lambda: lstm_backward(init_lstm(2, 4, 2, seed=0), lstm_forward(P, XS), Y), "cache.h",
        "(5, 3)"),
    "step 0": (lambda: lstm_forward(P, XS).step(0), "t", "got 0"),
    "forget_bias NaN": (lambda: init_lstm(2, 3, 2, seed=0, forget_bias=np.nan), "forget_bias",
                        "nan"),
    "hidden_size zero": (lambda: init_lstm(2, 0, 2, seed=0), "hidden_size", "got 0"),
    "seed missing": (lambda: init_lstm(2, 3, 2, seed=None), "seed", "None"),
    "unknown params": (lambda: bc.loss_and_grads({"W_xh": 1}, XS, Y), "params", "dict"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_names_the_argument(case):
    call, name, fragment = CASES[case]
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert message.startswith(f"{name}:"), message
    assert fragment in message, message


def test_the_params_type_error_lists_every_network():
    with pytest.raises(ValueError, match="RNNParams, LSTMParams, GRUParams"):
        bc.loss_and_grads(object(), XS, Y)


def test_assignments_are_validated_on_the_next_forward_pass():
    params = init_lstm(2, 3, 2, seed=0)
    params.b_i = np.zeros(5)
    with pytest.raises(ValueError, match=r"^b_i: expected shape"):
        lstm_forward(params, XS)
    assert isinstance(init_lstm(2, 3, 2, seed=0), LSTMParams)
