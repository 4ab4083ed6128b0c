"""Updates (chapter 7): each optimiser equals its formula, written again here another way."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core.optim import (
    AdamState,
    adam_init,
    adam_step,
    minibatches,
    sgd_step,
    train,
)

NAMES = ("W_xh", "W_hh", "W_oh", "b_h", "b_o")


@pytest.fixture
def problem():
    return make_problem(5, T=6, D=3, H=4, O=2, B=5)


def grads_at(params, xs, targets, h0):
    return bc.loss_and_grads(params, xs, targets, h0=h0)


def sine_task(N=32, T=20, sigma=0.1, seed=7):
    """Predict the next value of a noisy sine wave: xs (T, N, 1), targets (T, N, 1)."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(0.0, 2.0 * np.pi, size=N)
    wave = np.sin(2.0 * np.pi / 10.0 * np.arange(T + 1)[:, None] + phase)
    noisy = wave + sigma * rng.normal(size=wave.shape)
    return noisy[:-1, :, None], noisy[1:, :, None]


def same_params(a, b, tol=1e-12):
    return all(bc.rel_error(getattr(a, n), getattr(b, n)) <= tol for n in NAMES)


def snapshot(params):
    return {name: value.copy() for name, value in params.items()}


# --- gradient descent -------------------------------------------------------------------------


def test_sgd_step_is_theta_minus_lr_times_gradient(problem):
    params, xs, targets, h0 = problem
    _, grads = grads_at(params, xs, targets, h0)
    new = sgd_step(params, grads, 0.05)
    for name in NAMES:
        expected = getattr(params, name) - 0.05 * grads[name]
        assert bc.rel_error(getattr(new, name), expected) < 1e-15, name


def test_sgd_step_is_pure_and_ignores_h0(problem):
    params, xs, targets, h0 = problem
    _, grads = grads_at(params, xs, targets, h0)
    before_p, before_g = snapshot(params), {k: v.copy() for k, v in grads.items()}
    without_h0 = {k: v for k, v in grads.items() if k != "h0"}
    assert same_params(sgd_step(params, grads, 0.1), sgd_step(params, without_h0, 0.1), 0.0)
    # exact by construction: nothing may write into the inputs
    assert all(np.array_equal(before_p[n], getattr(params, n)) for n in NAMES)
    # exact by construction: nothing may write into the inputs
    assert all(np.array_equal(before_g[k], grads[k]) for k in grads)


def test_a_small_sgd_step_lowers_the_loss_by_lr_times_the_squared_gradient(problem):
    params, xs, targets, h0 = problem
    L0, grads = grads_at(params, xs, targets, h0)
    squared_norm = sum(np.sum(grads[n] ** 2) for n in NAMES)
    for lr in (1e-3, 1e-4):
        L1, _ = grads_at(sgd_step(params, grads, lr), xs, targets, h0)
        assert L1 < L0
        assert (L0 - L1) / (lr * squared_norm) == pytest.approx(1.0, abs=50 * lr)


# --- Adam ---------------------------------------------------------------------------------------


def adam_literal(params, grad_fn, steps, lr, beta1=0.9, beta2=0.999, eps=1e-8,
                 bias_correction=True):
    """Adam written entry by entry with plain floats, independently of bptt_core.optim."""
    theta = {n: getattr(params, n).copy() for n in NAMES}
    m = {n: np.zeros_like(theta[n]) for n in NAMES}
    v = {n: np.zeros_like(theta[n]) for n in NAMES}
    for t in range(1, steps + 1):
        g = grad_fn(bc.RNNParams(**theta))
        for n in NAMES:
            for i in np.ndindex(theta[n].shape):
                m[n][i] = beta1 * m[n][i] + (1 - beta1) * g[n][i]
                v[n][i] = beta2 * v[n][i] + (1 - beta2) * g[n][i] * g[n][i]
                m_hat = m[n][i] / (1 - beta1**t) if bias_correction else m[n][i]
                v_hat = v[n][i] / (1 - beta2**t) if bias_correction else v[n][i]
                theta[n][i] = theta[n][i] - lr * m_hat / (v_hat**0.5 + eps)
    return bc.RNNParams(**theta), m, v


def adam_engine(params, grad_fn, steps, lr):
    state = adam_init(params)
    for _ in range(steps):
        params, state = adam_step(params, grad_fn(params), state, lr)
    return params, state


def test_adam_init_is_zero_moments_at_step_zero(problem):
    params = problem[0]
    state = adam_init(params)
    assert state.t == 0
    for n in NAMES:
        assert state.m[n].shape == state.v[n].shape == getattr(params, n).shape
        assert not state.m[n].any() and not state.v[n].any()
    state.m["W_hh"][0, 0] = 1.0  # the two moments are separate arrays
    assert state.v["W_hh"][0, 0] == 0.0  # exact: a zero no arithmetic produced


def test_adams_first_step_is_about_lr_times_the_sign_of_the_gradient(problem):
    params, xs, targets, h0 = problem
    _, grads = grads_at(params, xs, targets, h0)
    lr, eps = 0.01, 1e-8
    new, state = adam_step(params, grads, adam_init(params), lr, eps=eps)
    assert state.t == 1
    for n in NAMES:
        g = grads[n]
        step = getattr(params, n) - getattr(new, n)
        # m_hat = g and v_hat = g^2 after one step, so the step is lr g / (|g| + eps)
        assert bc.rel_error(step, lr * g / (np.abs(g) + eps)) < 1e-12, n
        assert np.allclose(step, lr * np.sign(g), rtol=1e-5, atol=0.0), n


def test_several_adam_steps_equal_a_literal_loop(problem):
    params, xs, targets, h0 = problem

    def grad_fn(p):
        return grads_at(p, xs, targets, h0)[1]

    engine, state = adam_engine(params, grad_fn, 6, 0.02)
    literal, m, v = adam_literal(params, grad_fn, 6, 0.02)
    assert state.t == 6
    assert same_params(engine, literal, 1e-12)
    for n in NAMES:
        assert bc.rel_error(state.m[n], m[n]) < 1e-12 and bc.rel_error(state.v[n], v[n]) < 1e-12


def test_the_comparison_catches_adam_without_bias_correction(problem):
    params, xs, targets, h0 = problem

    def grad_fn(p):
        return grads_at(p, xs, targets, h0)[1]

    engine, _ = adam_engine(params, grad_fn, 3, 0.02)
    planted, _, _ = adam_literal(params, grad_fn, 3, 0.02, bias_correction=False)
    assert not same_params(engine, planted, 1e-3)


def test_adam_step_is_pure(problem):
    params, xs, targets, h0 = problem
    _, grads = grads_at(params, xs, targets, h0)
    state = adam_step(params, grads, adam_init(params), 0.01)[1]
    before = (snapshot(params), {k: v.copy() for k, v in grads.items()},
              {k: v.copy() for k, v in state.m.items()}, {k: v.copy() for k, v in state.v.items()})
    adam_step(params, grads, state, 0.01)
    after = (snapshot(params), grads, state.m, state.v)
    for old, new in zip(before, after):
        # exact by construction: nothing may write into the inputs
        assert all(np.array_equal(old[k], new[k]) for k in old)
    assert state.t == 1


# --- mini-batches -------------------------------------------------------------------------------


@pytest.mark.parametrize("N, size", [(10, 3), (10, 10), (10, 1), (64, 16), (7, 5)])
def test_minibatches_partition_the_indices(N, size):
    batches = minibatches(N, size, seed=3)
    assert len(batches) == -(-N // size)
    assert all(len(b) == size for b in batches[:-1]) and 1 <= len(batches[-1]) <= size
    # exact by construction: integer indices
    assert np.array_equal(np.sort(np.concatenate(batches)), np.arange(N))
    again = minibatches(N, size, seed=3)
    # exact by construction: integer indices
    assert all(np.array_equal(a, b) for a, b in zip(batches, again))


def test_minibatches_are_shuffled():
    first = np.concatenate(minibatches(50, 10, seed=1))
    # exact by construction: integer indices
    assert not np.array_equal(first, np.arange(50))
    # exact by construction: integer indices
    assert not np.array_equal(first, np.concatenate(minibatches(50, 10, seed=2)))


def test_a_batch_gradient_is_the_mean_of_its_sequences_gradients(problem):
    params, xs, targets, h0 = problem
    _, batch = grads_at(params, xs, targets, h0)
    B = xs.shape[1]
    alone = [grads_at(params, xs[:, b], targets[:, b], h0[b])[1] for b in range(B)]
    for n in NAMES:
        assert bc.rel_error(batch[n], np.mean([g[n] for g in alone], axis=0)) < 1e-12, n


# --- training -----------------------------------------------------------------------------------


def test_full_batch_training_equals_a_literal_loop(problem):
    params, xs, targets, _ = problem
    trained, history = train(params, xs, targets, steps=4, lr=0.1, seed=0)
    p, losses = params, []
    for _ in range(4):
        L, grads = bc.loss_and_grads(p, xs, targets)
        losses.append(L)
        p = sgd_step(p, grads, 0.1)
    assert same_params(trained, p)
    assert bc.rel_error(history, losses) < 1e-12


def test_minibatch_adam_training_equals_a_literal_loop(problem):
    params, xs, targets, _ = problem
    trained, history = train(params, xs, targets, steps=5, lr=0.05, optimizer="adam",
                             batch_size=2, seed=11)
    rng = np.random.default_rng(11)
    order = minibatches(5, 2, seed=rng) + minibatches(5, 2, seed=rng)  # 3 batches per pass
    p, state, losses = params, adam_init(params), []
    for idx in order[:5]:
        L, grads = bc.loss_and_grads(p, xs[:, idx], targets[:, idx])
        losses.append(L)
        p, state = adam_step(p, grads, state, 0.05)
    assert same_params(trained, p)
    assert bc.rel_error(history, losses) < 1e-12


@pytest.mark.parametrize("optimizer, lr, batch_size", [
    ("sgd", 0.1, None), ("adam", 0.01, None), ("adam", 0.01, 8)])
def test_training_on_the_noisy_sine_lowers_the_loss_fourfold(optimizer, lr, batch_size):
    xs, targets = sine_task()
    params = bc.init_rnn(1, 8, 1, seed=0)
    before, _ = bc.loss_and_grads(params, xs, targets)
    trained, history = train(params, xs, targets, steps=150, lr=lr, optimizer=optimizer,
                             batch_size=batch_size, seed=1)
    after, _ = bc.loss_and_grads(trained, xs, targets)
    assert history.shape == (150,) and history[0] == pytest.approx(before, rel=0.5)
    assert after < 0.25 * before
    copy_last_input = np.mean((xs - targets) ** 2)  # the predictor y_t = x_t
    assert after < 0.2 * copy_last_input


def test_train_leaves_the_given_params_unchanged(problem):
    params, xs, targets, _ = problem
    before = snapshot(params)
    train(params, xs, targets, steps=3, lr=0.01, optimizer="adam", seed=0)
    # exact by construction: nothing may write into the inputs
    assert all(np.array_equal(before[n], getattr(params, n)) for n in NAMES)


def test_train_with_cross_entropy():
    params, xs, classes, _ = make_problem(2, T=5, D=3, H=6, O=3, B=8, loss="cross_entropy")
    before, _ = bc.loss_and_grads(params, xs, classes, loss="cross_entropy")
    _, history = train(params, xs, classes, steps=60, lr=0.05, optimizer="adam", seed=0,
                       loss="cross_entropy")
    assert history[0] == pytest.approx(before) and history[-1] < 0.5 * before


# --- bad input ----------------------------------------------------------------------------------

P, XS, TG, _ = make_problem(0, T=4, D=2, H=3, O=2, B=4)
G = bc.loss_and_grads(P, XS, TG)[1]
S = adam_init(P)


def without(name):
    return {k: v for k, v in G.items() if k != name}


def replaced(name, value):
    return {**G, name: value}


CASES = {
    # name: (call, the argument named, a fragment of what came)
    "lr zero": (lambda: sgd_step(P, G, 0.0), "lr", "0.0"),
    "lr negative": (lambda: sgd_step(P, G, -0.1), "lr", "-0.1"),
    "lr NaN": (lambda: sgd_step(P, G, float("nan")), "lr", "nan"),
    "lr inf": (lambda: adam_step(P, G, S, float("inf")), "lr", "inf"),
    "lr a string": (lambda: sgd_step(P, G, "0.1"), "lr", "'0.1'"),
    "lr in train": (lambda: train(P, XS, TG, steps=2, lr=0, seed=0), "lr", "0"),
    "grads missing W_hh": (lambda: sgd_step(P, without("W_hh"), 0.1), "grads", "W_hh"),
    "grads not a dict": (lambda: sgd_step(P, [1, 2], 0.1), "grads", "list"),
    "grads wrong shape": (lambda: sgd_step(P, replaced("W_oh", np.zeros((3, 2))), 0.1),
                          "grads['W_oh']", "(3, 2)"),
    "grads NaN": (lambda: sgd_step(P, replaced("b_h", np.array([0, np.nan, 0])), 0.1),
                  "grads['b_h']", "NaN"),
    "grads inf in adam": (lambda: adam_step(P, replaced("W_xh", np.full((3, 2), np.inf)), S,
                                            0.1), "grads['W_xh']", "inf"),
    "beta1 one": (lambda: adam_step(P, G, S, 0.1, beta1=1.0), "beta1", "1.0"),
    "beta2 negative": (lambda: adam_step(P, G, S, 0.1, beta2=-0.5), "beta2", "-0.5"),
    "eps zero": (lambda: adam_step(P, G, S, 0.1, eps=0.0), "eps", "0.0"),
    "state not AdamState": (lambda: adam_step(P, G, {"m": 0}, 0.1), "state", "dict"),
    "state negative t": (lambda: adam_step(P, G, AdamState(S.m, S.v, -1), 0.1), "state", "-1"),
    "state.m missing b_o": (lambda: adam_step(P, G, AdamState(
        {k: v for k, v in S.m.items() if k != "b_o"}, S.v, 0), 0.1), "state.m", "b_o"),
    "unknown optimizer": (lambda: train(P, XS, TG, steps=2, lr=0.1, optimizer="rmsprop",
                                        seed=0), "optimizer", "'rmsprop'"),
    "batch_size zero": (lambda: train(P, XS, TG, steps=2, lr=0.1, batch_size=0, seed=0),
                        "batch_size", "0"),
    "batch_size above N": (lambda: train(P, XS, TG, steps=2, lr=0.1, batch_size=5, seed=0),
                           "batch_size", "5"),
    "batch_size float": (lambda: minibatches(4, 2.0, seed=0), "batch_size", "2.0"),
    "n_sequences zero": (lambda: minibatches(0, 1, seed=0), "n_sequences", "0"),
    "steps zero": (lambda: train(P, XS, TG, steps=0, lr=0.1, seed=0), "steps", "0"),
    "xs one sequence": (lambda: train(P, XS[:, 0], TG[:, 0], steps=1, lr=0.1, seed=0), "xs",
                        "2-D"),
    "targets other N": (lambda: train(P, XS, TG[:, :3], steps=1, lr=0.1, seed=0), "targets",
                        "(4, 3, 2)"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_input_names_the_argument(case):
    call, argument, got = CASES[case]
    with pytest.raises(ValueError) as info:
        call()
    message = str(info.value)
    assert message.startswith(f"{argument}: expected"), message
    assert got in message, message


def test_diverging_training_stops_and_blames_the_learning_rate():
    xs, targets = sine_task(N=8)
    params = bc.init_rnn(1, 8, 1, seed=0)
    with np.errstate(over="ignore", invalid="ignore"):
        with pytest.raises(ValueError, match=r"^lr: expected .* diverged at update \d+ of 500"):
            train(params, xs, targets, steps=500, lr=50.0, seed=0)


def test_train_accepts_gated_cells_relu_and_clipping():
    """train() drives every network loss_and_grads knows, and clips outside it when asked."""
    rng = np.random.default_rng(5)
    xs, targets = rng.normal(size=(6, 8, 2)), rng.normal(size=(6, 8, 1))
    for params, activation in ((bc.init_lstm(2, 4, 1, seed=0), "tanh"),
                               (bc.init_gru(2, 4, 1, seed=0), "tanh"),
                               (bc.init_rnn(2, 4, 1, seed=0, recurrent="identity"), "relu")):
        trained, history = bc.train(params, xs, targets, steps=30, lr=0.01, optimizer="adam",
                                    seed=0, activation=activation, max_norm=1.0)
        assert type(trained) is type(params)
        assert history[-1] < history[0]
    with pytest.raises(ValueError, match="max_norm: expected a finite number > 0"):
        bc.train(bc.init_rnn(2, 4, 1, seed=0), xs, targets, steps=1, lr=0.1, seed=0,
                 max_norm=0.0)


def test_clipping_in_train_bounds_every_step():
    rng = np.random.default_rng(6)
    xs, targets = rng.normal(size=(5, 4, 2)), 100 * rng.normal(size=(5, 4, 1))
    params = bc.init_rnn(2, 3, 1, seed=1)
    trained, _ = bc.train(params, xs, targets, steps=1, lr=0.5, seed=0, max_norm=0.1)
    moved = np.sqrt(sum(np.sum((a - b) ** 2) for (_, a), (_, b)
                        in zip(trained.items(), params.items())))
    assert moved == pytest.approx(0.5 * 0.1, rel=1e-12)  # one SGD step of length lr * tau
