"""Gradient clipping (chapter 9): each rule equals its formula, written again here another way."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from conftest import make_problem
from hypothesis import given
from hypothesis import strategies as st

import bptt_core as bc
from bptt_core.clipping import clip_grad_norm, clip_grad_value, global_norm
from bptt_core.optim import sgd_step

NAMES = ("W_xh", "W_hh", "W_oh", "b_h", "b_o")


@pytest.fixture
def grads():
    """The exact gradient of a small batched problem, scaled up so that its norm is about 60."""
    params, xs, targets, h0 = make_problem(9, T=6, D=3, H=4, O=2, B=3)
    _, g = bc.loss_and_grads(params, xs, targets, h0=h0)
    factor = 60.0 / np.sqrt(sum(np.sum(g[n] ** 2) for n in NAMES))
    return {name: factor * value for name, value in g.items()}


def flat(grads):
    """The parameters' gradients laid end to end (h0 left out), in the book's order."""
    return np.concatenate([np.ravel(grads[name]) for name in NAMES])


def cosine(a, b):
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# --- the global norm ----------------------------------------------------------------------------


def test_global_norm_is_the_length_of_all_parameter_gradients_end_to_end(grads):
    by_loops = 0.0
    for name in NAMES:
        for entry in np.ravel(grads[name]):
            by_loops += entry * entry
    assert abs(global_norm(grads) - np.sqrt(by_loops)) <= 1e-12 * np.sqrt(by_loops)
    assert abs(global_norm(grads) - np.linalg.norm(flat(grads))) <= 1e-12 * global_norm(grads)


def test_h0_is_left_out_of_the_norm(grads):
    without = {name: grads[name] for name in NAMES}
    huge_h0 = {**grads, "h0": 1e6 * np.ones_like(grads["h0"])}
    assert global_norm(grads) == global_norm(without) == global_norm(huge_h0)


def test_the_lstm_initial_cell_state_is_left_out_and_passed_through_too(grads):
    with_c0 = {**grads, "c0": 1e6 * np.ones_like(grads["h0"])}
    assert global_norm(with_c0) == global_norm(grads)  # exact: the same entries, same order
    clipped, _ = clip_grad_norm(with_c0, 1.0)
    valued = clip_grad_value(with_c0, 1.0)
    # exact by construction: c0 is passed through, not scaled
    assert np.array_equal(clipped["c0"], with_c0["c0"]) and np.array_equal(valued["c0"],
                                                                          with_c0["c0"])


def test_squaring_huge_entries_does_not_overflow_the_norm():
    grads = {"W": np.array([3e200, 4e200]), "b": np.array([0.0])}
    assert abs(global_norm(grads) - 5e200) <= 1e-12 * 5e200
    clipped, norm = clip_grad_norm(grads, 1.0)
    assert np.allclose(clipped["W"], [0.6, 0.8], rtol=1e-12, atol=0.0)


def test_a_zero_gradient_has_norm_zero_and_stays_zero():
    zero = {name: np.zeros(3) for name in ("a", "b")}
    clipped, norm = clip_grad_norm(zero, 1.0)
    # exact: zeros in, zeros out (the zero norm is guarded, never divided by)
    assert norm == 0.0 and all(np.array_equal(v, np.zeros(3)) for v in clipped.values())


# --- norm clipping ------------------------------------------------------------------------------


@pytest.mark.parametrize("max_norm", [0.5, 7.0, 59.0])
def test_norm_clipping_is_tau_over_norm_times_the_gradient(grads, max_norm):
    norm = np.linalg.norm(flat(grads))
    clipped, reported = clip_grad_norm(grads, max_norm)
    assert abs(reported - norm) <= 1e-12 * norm
    for name in NAMES:
        assert bc.rel_error(clipped[name], max_norm / norm * grads[name]) < 1e-12, name
    assert abs(np.linalg.norm(flat(clipped)) - max_norm) <= 1e-12 * max_norm


def test_norm_clipping_keeps_the_direction(grads):
    clipped, _ = clip_grad_norm(grads, 1.0)
    assert abs(cosine(flat(clipped), flat(grads)) - 1.0) < 1e-12


@given(st.floats(-12, 12), st.floats(-6, 6), st.integers(0, 2**16))
def test_norm_after_clipping_is_the_smaller_of_norm_and_tau(log_size, log_tau, seed):
    rng = np.random.default_rng(seed)
    g = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
    g = {k: v * 10.0**log_size / np.linalg.norm(flat_of(g)) for k, v in g.items()}
    tau = 10.0**log_tau
    clipped, norm = clip_grad_norm(g, tau)
    after = np.linalg.norm(flat_of(clipped))
    assert abs(after - min(norm, tau)) <= 1e-12 * min(norm, tau)
    assert after <= norm * (1 + 1e-15)  # it never lengthens a gradient
    assert abs(cosine(flat_of(clipped), flat_of(g)) - 1.0) < 1e-12


def flat_of(g):
    return np.concatenate([np.ravel(v) for v in g.values()])


def test_below_or_at_the_threshold_nothing_changes(grads):
    norm = global_norm(grads)
    for max_norm in (norm, 2 * norm, 1e9):
        clipped, reported = clip_grad_norm(grads, max_norm)
        assert abs(reported - norm) <= 1e-15 * norm
        for name, value in grads.items():
            assert np.array_equal(clipped[name], value), name  # exact: returned unscaled
            assert clipped[name] is not value and not np.shares_memory(clipped[name], value)


def test_h0_is_passed_through_unchanged_by_norm_clipping(grads):
    clipped, _ = clip_grad_norm(grads, 1.0)
    # exact by construction: h0 is passed through
    assert np.array_equal(clipped["h0"], grads["h0"])
    assert not np.shares_memory(clipped["h0"], grads["h0"])
    assert list(clipped) == list(grads)


def test_clipping_is_pure(grads):
    kept = copy.deepcopy(grads)
    clipped, _ = clip_grad_norm(grads, 1.0)
    valued = clip_grad_value(grads, 0.1)
    for name in grads:
        # exact by construction: the input must not be written into
        assert np.array_equal(grads[name], kept[name]), name
        assert not np.shares_memory(clipped[name], grads[name])
        assert not np.shares_memory(valued[name], grads[name])
    clipped["W_hh"][...] = 0.0  # writing into a result leaves the input alone
    # exact by construction: the input must not be written into
    assert np.array_equal(grads["W_hh"], kept["W_hh"])


def test_any_parameter_names_work_and_integers_become_floats():
    clipped, norm = clip_grad_norm({"W_f": [[3, 0]], "b_f": [4]}, 2.5)
    assert norm == 5.0  # exact by construction: sqrt(9 + 16), integers and a rounded sqrt
    assert clipped["W_f"].dtype == np.float64
    # exact by construction: scale 2.5 / 5 = 0.5 exactly
    assert np.array_equal(clipped["W_f"], [[1.5, 0.0]]) and np.array_equal(clipped["b_f"], [2.0])


def test_a_clipped_sgd_step_moves_the_parameters_at_most_lr_times_tau():
    params, xs, targets, h0 = make_problem(2, T=5, D=2, H=3, O=2, B=2)
    params = params.replace(W_hh=3.0 * params.W_hh)
    _, g = bc.loss_and_grads(params, xs, targets, h0=h0)
    lr, tau = 0.1, 0.01
    assert global_norm(g) > tau
    stepped = sgd_step(params, clip_grad_norm(g, tau)[0], lr)
    moved = np.sqrt(sum(np.sum((getattr(stepped, n) - getattr(params, n)) ** 2) for n in NAMES))
    assert abs(moved - lr * tau) <= 1e-12


def test_loss_and_grads_is_not_clipped():
    # clipping lives outside: the reported gradient is still the exact one
    params, xs, targets, h0 = make_problem(4, T=4, D=2, H=3, O=1)
    params = params.replace(W_hh=4.0 * params.W_hh)
    L, g = bc.loss_and_grads(params, xs, targets, h0=h0)

    def loss_of(W_hh):
        return bc.loss_and_grads(params.replace(W_hh=W_hh), xs, targets, h0=h0)[0]

    numeric = bc.numerical_gradient(loss_of, params.W_hh.copy())
    assert bc.rel_error(g["W_hh"], numeric) < 1e-7
    clipped, norm = clip_grad_norm(g, 1e-3)
    assert bc.rel_error(clipped["W_hh"], 1e-3 / norm * numeric) < 1e-7


# --- value clipping -----------------------------------------------------------------------------


def test_value_clipping_clips_every_entry_on_its_own(grads):
    limit = 0.3
    clipped = clip_grad_value(grads, limit)
    for name in NAMES:
        expected = np.array([min(max(v, -limit), limit) for v in np.ravel(grads[name])])
        # exact: clipping by value picks one of its inputs, no arithmetic
        assert np.array_equal(clipped[name], expected.reshape(grads[name].shape)), name
    assert np.array_equal(clipped["h0"], grads["h0"])  # h0 is not a parameter: untouched


def test_value_clipping_can_turn_the_gradient():
    g = {"W": np.array([10.0, 1.0])}
    clipped = clip_grad_value(g, 1.0)
    # exact by construction: value clipping picks its inputs
    assert np.array_equal(clipped["W"], [1.0, 1.0])
    assert abs(cosine(clipped["W"], g["W"]) - 11.0 / np.sqrt(2.0 * 101.0)) < 1e-12  # about 0.77
    by_norm, _ = clip_grad_norm(g, 1.0)
    assert abs(cosine(by_norm["W"], g["W"]) - 1.0) < 1e-12


def test_value_clipping_below_the_limit_changes_nothing(grads):
    limit = 1.0 + max(np.max(np.abs(grads[name])) for name in NAMES)
    clipped = clip_grad_value(grads, limit)
    # exact by construction: returned unscaled
    assert all(np.array_equal(clipped[name], grads[name]) for name in grads)


# --- what is refused ----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["W_hh", "b_o", "h0"])
def test_non_finite_gradients_raise_naming_the_parameter(grads, bad, where):
    broken = {name: value.copy() for name, value in grads.items()}
    broken[where].flat[1] = bad
    message = rf"grads\['{where}'\]: expected finite numbers.*cannot make it finite"
    with pytest.raises(ValueError, match=message):
        clip_grad_norm(broken, 1.0)
    with pytest.raises(ValueError, match=message):
        clip_grad_value(broken, 1.0)
    with pytest.raises(ValueError, match=message):
        global_norm(broken)


def test_a_norm_beyond_float64_raises_instead_of_clipping_to_zero():
    with pytest.raises(ValueError, match="grads: expected a global norm that float64 can hold"):
        clip_grad_norm({"W": np.full(4, 1.5e308)}, 1.0)


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, np.nan, np.inf, 10**400, True, "1", None, [1.0]])
def test_bad_thresholds_raise_naming_the_argument(grads, bad):
    with pytest.raises(ValueError, match=r"max_norm: expected a finite number > 0, got"):
        clip_grad_norm(grads, bad)
    with pytest.raises(ValueError, match=r"limit: expected a finite number > 0, got"):
        clip_grad_value(grads, bad)


@pytest.mark.parametrize("bad, message", [
    ([np.ones(2)], "grads: expected a dict"),
    ({}, "grads: expected at least one parameter's gradient besides the initial states"),
    ({"h0": np.ones(2), "c0": np.ones(2)},
     "grads: expected at least one parameter's gradient besides the initial states"),
    ({"W": np.array(["a"])}, r"grads\['W'\]: expected an array of real numbers"),
])
def test_malformed_gradients_raise(bad, message):
    with pytest.raises(ValueError, match=message):
        clip_grad_norm(bad, 1.0)


# --- these checks can fail: a planted bug is caught ---------------------------------------------


def per_parameter_clip(grads, max_norm):
    """A planted bug: each parameter clipped by its own norm instead of the global one."""
    clipped = {}
    for name, g in grads.items():
        n = np.linalg.norm(g)
        clipped[name] = g * max_norm / n if n > max_norm and name != "h0" else g.copy()
    return clipped, np.linalg.norm(flat(grads))


def always_rescale(grads, max_norm):
    """A planted bug: rescaled to max_norm even when the gradient is already shorter."""
    norm = np.linalg.norm(flat(grads))
    return {n: g * max_norm / norm if n != "h0" else g.copy() for n, g in grads.items()}, norm


def norm_with_h0(grads, max_norm):
    """A planted bug: dL/dh0 counted in the norm."""
    norm = np.sqrt(np.sum(flat(grads) ** 2) + np.sum(grads["h0"] ** 2))
    scale = min(1.0, max_norm / norm)
    return {n: g * scale if n != "h0" else g.copy() for n, g in grads.items()}, norm


def assert_clips_like_the_formula(clip, grads):
    """What the tests above assert, gathered so that it can be run on a planted bug."""
    norm = np.linalg.norm(flat(grads))
    clipped, reported = clip(grads, 0.5)
    assert abs(reported - norm) <= 1e-12 * norm
    assert abs(np.linalg.norm(flat(clipped)) - 0.5) <= 1e-12
    assert abs(cosine(flat(clipped), flat(grads)) - 1.0) < 1e-12
    below, _ = clip(grads, 2 * norm)
    # exact by construction: returned unscaled
    assert all(np.array_equal(below[name], grads[name]) for name in grads)


def test_the_engine_passes_and_each_planted_bug_is_caught(grads):
    assert_clips_like_the_formula(clip_grad_norm, grads)
    for bug in (per_parameter_clip, always_rescale, norm_with_h0):
        with pytest.raises(AssertionError):
            assert_clips_like_the_formula(bug, grads)
