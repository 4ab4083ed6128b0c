"""The GRU: forward equations, exact gradients (finite differences), validation."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import gradient_errors
from hypothesis import given, settings
from hypothesis import strategies as st

import bptt_core as bc
import bptt_core.cells as cells
from bptt_core.cells import GRU_PARAM_NAMES, GRUParams, gru_backward, gru_forward, init_gru

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


def make_gru_problem(seed, T, D, H, O, B=None, loss="mse"):
    """(params, xs, targets, h0) with every bias non-zero and a random initial state."""
    rng = np.random.default_rng(seed)
    params = init_gru(D, H, O, seed=seed)
    for name, value in params.items():
        if name.startswith("b_"):
            setattr(params, name, value + rng.normal(0.0, 0.5, size=value.shape))
    batch = () if B is None else (B,)
    xs = rng.normal(size=(T, *batch, D))
    h0 = rng.normal(0.0, 0.5, size=(*batch, H))
    if loss == "mse":
        targets = rng.normal(size=(T, *batch, O))
    else:
        targets = rng.integers(0, O, size=(T, *batch))
    return params, xs, targets, h0


# --- forward ----------------------------------------------------------------------------------


def test_forward_follows_the_equations_step_by_step():
    params, xs, _, h0 = make_gru_problem(1, T=4, D=2, H=3, O=2)
    p = params
    cache = gru_forward(params, xs, h0, output="sigmoid")
    h = h0
    for t in range(1, 5):
        x = xs[t - 1]
        u = sigmoid(p.W_xu @ x + p.W_hu @ h + p.b_u)
        r = sigmoid(p.W_xr @ x + p.W_hr @ h + p.b_r)
        n = np.tanh(p.W_xn @ x + p.W_hn @ (r * h) + p.b_n)
        h = u * h + (1.0 - u) * n
        for name, value in (("u", u), ("r", r), ("n", n)):
            assert bc.rel_error(getattr(cache, name)[t - 1], value) < 1e-14, name
        assert bc.rel_error(cache.h[t], h) < 1e-14
        assert bc.rel_error(cache.y[t - 1], sigmoid(p.W_oh @ h + p.b_o)) < 1e-14


def test_shapes_follow_the_batch_and_a_batch_is_separate_runs():
    params, xs, targets, h0 = make_gru_problem(2, T=3, D=2, H=3, O=2, B=3)
    batch = gru_forward(params, xs, h0)
    assert batch.h.shape == (4, 3, 3) and batch.u.shape == (3, 3, 3)
    # exact by construction: h0 = zeros, stored as is
    assert np.all(gru_forward(params, xs).h[0] == 0.0)
    _, dy = bc.mse_loss(batch.y, targets, reduction="sum")
    grads = gru_backward(params, batch, dy)
    total = {name: np.zeros_like(value) for name, value in params.items()}
    for b in range(3):
        alone = gru_forward(params, xs[:, b], h0[b])
        assert bc.rel_error(alone.h, batch.h[:, b]) < 1e-14
        g = gru_backward(params, alone, dy[:, b])
        for name in total:
            total[name] += g[name]
        assert bc.rel_error(g["h0"], grads["h0"][b]) < 1e-13
    for name in total:
        assert bc.rel_error(total[name], grads[name]) < 1e-13, name


def test_init_is_seeded_and_copies_are_independent():
    a, b = init_gru(2, 3, 1, seed=5), init_gru(2, 3, 1, seed=5)
    # exact by construction: the same seeded draw
    assert all(np.array_equal(v, getattr(b, n)) for n, v in a.items())
    # exact by construction: another seed's draw
    assert not np.array_equal(a.W_hu, init_gru(2, 3, 1, seed=6).W_hu)
    # exact by construction: biases start as zeros
    assert all(np.all(getattr(a, n) == 0.0) for n in ("b_u", "b_r", "b_n", "b_o"))
    assert [n for n, _ in a.items()] == list(GRU_PARAM_NAMES) and a.sizes == (2, 3, 1)
    copy = a.copy()
    copy.W_hn += 1.0
    # exact by construction: copies
    assert np.array_equal(a.W_hn, b.W_hn) and isinstance(copy, GRUParams)


# --- gradients --------------------------------------------------------------------------------


@given(shapes, st.sampled_from(sorted(bc.OUTPUTS)))
def test_mse_gradients_match_finite_differences(shape, output):
    params, xs, targets, h0 = make_gru_problem(**shape)
    errors = gradient_errors(params, xs, targets, h0, output=output)
    assert set(errors) == {*GRU_PARAM_NAMES, "h0"}
    assert max(errors.values()) < TOL, errors


@settings(max_examples=15)
@given(shapes)
def test_cross_entropy_gradients_match_finite_differences(shape):
    shape["O"] = max(shape["O"], 2)  # one class would make the loss identically zero
    params, xs, targets, h0 = make_gru_problem(**shape, loss="cross_entropy")
    errors = gradient_errors(params, xs, targets, h0, loss="cross_entropy")
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("B", [None, 3])
@pytest.mark.parametrize("setting", [*({"output": o} for o in sorted(bc.OUTPUTS)),
                                     {"loss": "cross_entropy"}], ids=str)
def test_gradient_check_accepts_gru_params_unchanged(B, setting):
    """bc.gradient_check itself (central differences, eps = 1e-5) on one well-scaled problem."""
    loss = setting.get("loss", "mse")
    params, xs, targets, h0 = make_gru_problem(7, T=4, D=3, H=4, O=3, B=B, loss=loss)
    errors = bc.gradient_check(params, xs, targets, h0=h0, **setting)
    assert set(errors) == {*GRU_PARAM_NAMES, "h0"}
    assert max(errors.values()) < TOL, errors


def test_an_open_update_gate_copies_the_state_and_its_gradient():
    # u_t = 1: h_t = h_{t-1}, so dL/dh_0 = dL/dh_T however long the sequence
    params = init_gru(2, 3, 1, seed=0).replace(
        W_xu=np.zeros((3, 2)), W_hu=np.zeros((3, 3)), b_u=np.full(3, 50.0))
    h0 = np.array([0.5, -0.2, 0.8])
    cache = gru_forward(params, np.random.default_rng(0).normal(size=(30, 2)), h0)
    # exact by construction: sigmoid(50) rounds to 1.0, so h_t = 1.0 h_{t-1} + 0.0 n_t
    assert np.all(cache.u == 1.0) and np.array_equal(cache.h[30], h0)
    dy = np.zeros((30, 1))
    dy[-1] = 1.0
    grads = gru_backward(params, cache, dy)
    assert bc.rel_error(grads["h0"], params.W_oh[0]) < 1e-15


def student_gru(params, xs, targets, *, h0, loss="mse", output="identity", bug=None):
    """A GRU's loss and gradients written apart from bptt_core: one sequence, MSE, identity
    output, column vectors and the chain rule one factor at a time. ``bug="reset"`` forgets
    the reset gate in the gradient of W_hn (outer product with h_{t-1}, not r_t * h_{t-1})."""
    assert loss == "mse" and output == "identity" and xs.ndim == 2
    p = params
    T = len(xs)
    hs, us, rs, ns = [h0], [], [], []
    for t in range(T):
        h = hs[-1]
        u = sigmoid(p.W_xu @ xs[t] + p.W_hu @ h + p.b_u)
        r = sigmoid(p.W_xr @ xs[t] + p.W_hr @ h + p.b_r)
        n = np.tanh(p.W_xn @ xs[t] + p.W_hn @ (r * h) + p.b_n)
        us.append(u), rs.append(r), ns.append(n), hs.append(u * h + (1 - u) * n)
    ys = np.array([p.W_oh @ h + p.b_o for h in hs[1:]])
    L = np.mean((ys - targets) ** 2)
    dys = 2 * (ys - targets) / ys.size
    g = {name: np.zeros_like(value) for name, value in params.items()}
    carry = np.zeros_like(h0)
    for t in reversed(range(T)):
        h_prev, u, r, n = hs[t], us[t], rs[t], ns[t]
        g["W_oh"] += np.outer(dys[t], hs[t + 1])
        g["b_o"] += dys[t]
        dh = p.W_oh.T @ dys[t] + carry
        dan = dh * (1 - u) * (1 - n * n)
        dau = dh * (h_prev - n) * u * (1 - u)
        drh = p.W_hn.T @ dan
        dar = drh * h_prev * r * (1 - r)
        for gate, da in (("u", dau), ("r", dar), ("n", dan)):
            g[f"W_x{gate}"] += np.outer(da, xs[t])
            g[f"b_{gate}"] += da
        g["W_hu"] += np.outer(dau, h_prev)
        g["W_hr"] += np.outer(dar, h_prev)
        g["W_hn"] += np.outer(dan, h_prev if bug == "reset" else r * h_prev)
        carry = dh * u + drh * r + p.W_hu.T @ dau + p.W_hr.T @ dar
    g["h0"] = carry
    return L, g


def test_an_independent_implementation_agrees_and_a_planted_bug_is_caught():
    params, xs, targets, h0 = make_gru_problem(6, T=4, D=2, H=3, O=2)
    L, grads = student_gru(params, xs, targets, h0=h0)
    L_engine, engine = bc.loss_and_grads(params, xs, targets, h0=h0)
    assert abs(L - L_engine) < 1e-15
    assert all(bc.rel_error(grads[n], engine[n]) < 1e-13 for n in engine)
    assert max(bc.gradient_check(params, xs, targets, h0=h0, grads_fn=student_gru).values()) < TOL

    def buggy(*args, **kwargs):
        return student_gru(*args, **kwargs, bug="reset")

    errors = bc.gradient_check(params, xs, targets, h0=h0, grads_fn=buggy)
    assert errors["W_hn"] > 1e-2
    assert max(e for name, e in errors.items() if name != "W_hn") < TOL


# --- validation -------------------------------------------------------------------------------

P = init_gru(2, 3, 2, seed=0)
XS = np.ones((4, 2))
Y = np.zeros((4, 2))

CASES = {
    "W_hr not square": (lambda: P.replace(W_hr=np.zeros((3, 4))), "W_hr", "(3, 4)"),
    "b_n wrong size": (lambda: P.replace(b_n=np.zeros(4)), "b_n", "(4,)"),
    "W_xu wrong H": (lambda: P.replace(W_xu=np.zeros((4, 2))), "W_hu", "(3, 3)"),
    "W_hn NaN": (lambda: gru_forward(P.replace(W_hn=np.full((3, 3), np.nan)), XS), "W_hn",
                 "NaN"),
    "h0 wrong size": (lambda: gru_forward(P, XS, np.zeros(4)), "h0", "(4,)"),
    "an LSTM given": (lambda: gru_forward(cells.init_lstm(2, 3, 2, seed=0), XS), "params",
                      "LSTMParams"),
    "unknown output": (lambda: gru_forward(P, XS, output="relu"), "output", "'relu'"),
    "dy wrong shape": (lambda: gru_backward(P, gru_forward(P, XS), np.zeros((4, 3))), "dy",
                       "(4, 3)"),
    "cache of other params": (
        lambda: gru_backward(init_gru(2, 4, 2, seed=0), gru_forward(P, XS), Y), "cache.h",
        "(5, 3)"),
    "output_size zero": (lambda: init_gru(2, 3, 0, seed=0), "output_size", "got 0"),
    "negative seed": (lambda: init_gru(2, 3, 2, seed=-1), "seed", "-1"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_names_the_argument(case):
    call, name, fragment = CASES[case]
    with pytest.raises(ValueError) as error:
        call()
    message = str(error.value)
    assert message.startswith(f"{name}:"), message
    assert fragment in message, message
