"""The assignments' self-checks: right answers pass, each named mistake is named, and the
mistakes are far apart from the right answer and from each other (so a name is never a guess).
"""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core.cells import lstm_backward, lstm_forward, lstm_step_backward
from bptt_core.checks import assignments as A
from bptt_core.checks.backward import BACKWARD_MISTAKES, mistaken_rnn_backward
from bptt_core.checks.clipping import CLIP_MISTAKES, mistaken_clip
from bptt_core.checks.lstm import LSTM_STEP_MISTAKES, mistaken_lstm_step_backward


def engine_forward(params, xs, h0):
    cache = bc.rnn_forward(params, xs, h0)
    return cache.h, cache.y


def engine_step_grads(params, x_t, h_prev, h_t, dh):
    da = (1.0 - h_t**2) * dh
    return {"W_xh": np.outer(da, x_t), "W_hh": np.outer(da, h_prev), "b_h": da,
            "h_prev": params.W_hh.T @ da}


def engine_lstm_step(params, x_t, h_prev, c_prev):
    cache = lstm_forward(params, x_t[None], h_prev, c_prev)
    return cache.h[1], cache.c[1]


def engine_truncated(params, xs, targets, k1, k2):
    return bc.truncated_bptt(params, xs, targets, k1, k2)


RIGHT = [
    (A.check_step_on, lambda p, x, h: np.tanh(p.W_xh @ x + p.W_hh @ h + p.b_h)),
    (A.check_forward, engine_forward),
    (A.check_mse, lambda y, d: bc.mse_loss(y, d)[0]),
    (A.check_mse_gradient_on, lambda y, d: bc.mse_loss(y, d)[1]),
    (A.check_step_grads, engine_step_grads),
    (A.check_bptt, bc.rnn_backward),
    (A.check_numerical_gradient, bc.numerical_gradient),
    (A.check_grad_norm, bc.global_norm),
    (A.check_clip_on, bc.clip_grad_norm),
    (A.check_kept_pairs_on, bc.truncation_mask),
    (A.check_truncated, engine_truncated),
    (A.check_lstm_step, engine_lstm_step),
    (A.check_lstm_step_grads_on, lstm_step_backward),
    (A.check_lstm_bptt, lstm_backward),
]


@pytest.mark.parametrize("check, right", RIGHT, ids=lambda v: getattr(v, "__name__", ""))
def test_the_engine_passes(check, right):
    result = check(right)
    assert result, result.message


@pytest.mark.parametrize("check, _", RIGHT, ids=lambda v: getattr(v, "__name__", ""))
def test_not_implemented_is_said(check, _):
    def stub(*args):
        raise NotImplementedError()

    result = check(stub)
    assert not result and "not implemented" in result.message


def named(result, mistake):
    assert not result, f"{mistake}: passed"
    assert result.mistake == mistake, f"expected {mistake!r}, got: {result.message}"
    assert "likely mistake" in result.message


@pytest.mark.parametrize("mistake", A.FORWARD_MISTAKES)
def test_forward_mistakes_are_named(mistake):
    named(A.check_forward(lambda p, xs, h0: tuple(
        A.mistaken_forward(p, xs, h0, mistake).values())), mistake)


@pytest.mark.parametrize("mistake", A.STEP_GRAD_MISTAKES)
def test_step_grad_mistakes_are_named(mistake):
    named(A.check_step_grads(lambda *args: A.mistaken_step_grads(*args, mistake)), mistake)


@pytest.mark.parametrize("seed", [0, 11])
@pytest.mark.parametrize("mistake", BACKWARD_MISTAKES)
def test_bptt_mistakes_are_named_on_any_seed(mistake, seed):
    named(A.check_bptt(lambda p, c, dy: mistaken_rnn_backward(p, c, dy, mistake), seed), mistake)


@pytest.mark.parametrize("mistake", [m for m in A.STEP_GRAD_MISTAKES
                                     if m not in BACKWARD_MISTAKES and "reversed" not in m])
def test_a_step_mistake_inside_bptt_is_named(mistake):
    named(A.check_bptt(lambda p, c, dy: A.mistaken_bptt_with_step(p, c, dy, mistake)),
          f"{mistake} (in the step)")


def test_a_mistake_in_one_gradient_only_is_named():
    def overwrites_W_hh_only(params, cache, dy):
        grads = bc.rnn_backward(params, cache, dy)
        grads["W_hh"] = mistaken_rnn_backward(params, cache, dy, "gradients overwritten")["W_hh"]
        return grads

    result = A.check_bptt(overwrites_W_hh_only)
    named(result, "gradients overwritten")
    assert "(in W_hh)" in result.message


def test_an_unknown_error_says_which_output_and_by_how_much():
    def off(params, cache, dy):
        grads = bc.rnn_backward(params, cache, dy)
        grads["b_o"] = grads["b_o"] * 1.1
        return grads

    result = A.check_bptt(off)
    assert not result and result.mistake is None
    assert "b_o (relative error 0.091)" in result.message


@pytest.mark.parametrize("mistake", A.NUMERICAL_MISTAKES)
def test_numerical_gradient_mistakes_are_named(mistake):
    named(A.check_numerical_gradient(
        lambda f, x, eps: A.mistaken_numerical_gradient(f, x, eps, mistake)), mistake)


def test_a_numerical_gradient_that_moves_x_is_caught():
    def forgets_to_restore(f, x, eps):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            x[i] += eps
            f_plus = f(x)
            x[i] -= 2 * eps
            grad[i] = (f_plus - f(x)) / (2 * eps)
        return grad

    named(A.check_numerical_gradient(forgets_to_restore), "x not restored")


@pytest.mark.parametrize("mistake", A.NORM_MISTAKES)
def test_norm_mistakes_are_named(mistake):
    def norm(grads):
        g = [np.asarray(grads[n]) for n in bc.PARAM_NAMES]
        squares = sum(np.sum(v**2) for v in g)
        return {"h0 included in the norm": np.sqrt(squares + np.sum(grads["h0"] ** 2)),
                "norm without the square root": squares,
                "sum of the per-parameter norms": sum(np.linalg.norm(v) for v in g)}[mistake]

    named(A.check_grad_norm(norm), mistake)


@pytest.mark.parametrize("mistake", CLIP_MISTAKES)
def test_clip_mistakes_are_named_on_another_draw(mistake):
    named(A.check_clip_on(lambda g, t: mistaken_clip(g, t, mistake)), mistake)


@pytest.mark.parametrize("mistake", A.TRUNCATED_MISTAKES)
def test_truncation_mistakes_are_named(mistake):
    def truncated(params, xs, targets, k1, k2):
        out = A.mistaken_truncated(params, xs, targets, k1, k2, mistake)
        return out.pop("L"), out

    named(A.check_truncated(truncated), mistake)


@pytest.mark.parametrize("mistake", A.LSTM_FORWARD_MISTAKES)
def test_lstm_forward_mistakes_are_named(mistake):
    def step(params, x_t, h_prev, c_prev):
        f, i, q = (bc.rnn.OUTPUTS["sigmoid"][0](
            getattr(params, f"W_x{g}") @ x_t + getattr(params, f"W_h{g}") @ h_prev
            + getattr(params, f"b_{g}")) for g in "fiq")
        a_c = params.W_xc @ x_t + params.W_hc @ h_prev + params.b_c
        c_tilde = 1 / (1 + np.exp(-a_c)) if mistake == "candidate through a sigmoid" \
            else np.tanh(a_c)
        c = {"forget gate missing": c_prev + i * c_tilde,
             "previous cell state ignored": i * c_tilde}.get(mistake, f * c_prev + i * c_tilde)
        h = {"tanh of the cell missing": q * c,
             "output gate missing": np.tanh(c)}.get(mistake, q * np.tanh(c))
        return h, c

    named(A.check_lstm_step(step), mistake)


@pytest.mark.parametrize("mistake", LSTM_STEP_MISTAKES)
def test_lstm_step_mistakes_are_named_on_another_draw(mistake):
    named(A.check_lstm_step_grads_on(
        lambda s, dh, dc: mistaken_lstm_step_backward(s, dh, dc, mistake)), mistake)


@pytest.mark.parametrize("mistake", A.LSTM_BPTT_MISTAKES)
def test_lstm_bptt_mistakes_are_named(mistake):
    named(A.check_lstm_bptt(lambda p, c, dy: A.mistaken_lstm_bptt(p, c, dy, mistake)), mistake)


def all_twins():
    """(label, expected, {mistake: outputs}) for the checks whose twins take a problem."""
    params, cache, dy = A.check_problem(0)
    yield "bptt", bc.rnn_backward(params, cache, dy), {
        **{m: mistaken_rnn_backward(params, cache, dy, m) for m in BACKWARD_MISTAKES},
        **{m: A.mistaken_bptt_with_step(params, cache, dy, m) for m in A.STEP_GRAD_MISTAKES
           if "reversed" not in m}}
    problem = A.step_grads_problem(0)
    yield "step grads", engine_step_grads(*problem), {
        m: A.mistaken_step_grads(*problem, m) for m in A.STEP_GRAD_MISTAKES
        if "reversed" not in m}
    params, xs, h0, _ = A._problem_rnn(0, 3, 4, 2, 6)
    h, y = engine_forward(params, xs, h0)
    yield "forward", {"h": h, "y": y}, {m: A.mistaken_forward(params, xs, h0, m)
                                        for m in A.FORWARD_MISTAKES if "not stored" not in m}
    params, xs, _, targets = A._problem_rnn(0, 3, 4, 2, 8)
    L, grads = bc.truncated_bptt(params, xs, targets, 3, 4)
    yield "truncated", {"L": L, **{n: grads[n] for n in bc.PARAM_NAMES}}, {
        m: A.mistaken_truncated(params, xs, targets, 3, 4, m) for m in A.TRUNCATED_MISTAKES}
    params, cache, dy = A.lstm_bptt_problem(3)
    yield "lstm bptt", lstm_backward(params, cache, dy), {
        m: A.mistaken_lstm_bptt(params, cache, dy, m) for m in A.LSTM_BPTT_MISTAKES}


def distance(a, b):
    return max(bc.rel_error(a[name], b[name]) for name in a)


@pytest.mark.parametrize("label, expected, twins", list(all_twins()),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_every_mistake_is_far_from_the_answer_and_from_the_others(label, expected, twins):
    for mistake, outputs in twins.items():
        assert distance(outputs, expected) > 1e-2, f"{label}: {mistake} is close to right"
    names = list(twins)
    for i, first in enumerate(names):
        for second in names[i + 1:]:
            assert distance(twins[first], twins[second]) > 1e-2, (label, first, second)


def test_own_code_finds_the_engine_through_a_helper():
    def helper(params, cache, dy):
        return bc.rnn_backward(params, cache, dy)

    def bptt(params, cache, dy):
        return helper(params, cache, dy)

    result = A.check_own_code(bptt, "rnn_backward")
    assert not result and "calls rnn.rnn_backward" in result.message
    assert A.check_own_code(engine_step_grads, "rnn_backward")


def test_own_code_follows_aliases_defaults_and_other_routes():
    from bptt_core.anatomy import contributions
    from bptt_core.rnn import rnn_backward as rb

    def by_alias(params, cache, dy):
        return rb(params, cache, dy)

    def by_default(params, cache, dy, backward=bc.rnn_backward):
        return backward(params, cache, dy)

    def by_contributions(params, cache, dy):
        return contributions(params, cache, dy, "W_hh").sum(axis=(0, 1))

    for cheat in (by_alias, by_default, by_contributions):
        result = A.check_own_code(cheat, "rnn_backward", "loss_and_grads")
        assert not result and result.mistake == "called the engine", cheat.__name__


def test_own_code_does_not_flag_a_function_that_only_shares_an_engine_name():
    def rnn_backward(params, cache, dy):  # the learner's own, named like the engine's
        return {"W_hh": np.zeros_like(params.W_hh)}

    def bptt(params, cache, dy):
        return rnn_backward(params, cache, dy)

    assert A.check_own_code(bptt, "rnn_backward")


def test_a_wrong_form_of_output_is_described():
    result = A.check_forward(lambda params, xs, h0: 3)
    assert not result and "expected a tuple (h, y), got int" in result.message


def test_clip_rules_pass_the_engine_and_the_solution():
    def solution(grads, max_norm):
        clipped = {name: np.copy(value) for name, value in grads.items()}
        norm = bc.global_norm(grads)
        factor = max_norm / norm if norm > max_norm else 1.0
        for name in ("W_xh", "W_hh", "W_oh", "b_h", "b_o"):
            clipped[name] = factor * grads[name]
        return clipped

    assert A.check_clip_rules(solution)
    assert A.check_clip_rules(bc.clip_grad_norm)


@pytest.mark.parametrize("mistake", list(A.CLIP_RULE_MISTAKES))
def test_clip_rules_name_each_broken_rule(mistake):
    def clip(grads, max_norm):
        norm = bc.global_norm(grads)
        factor = min(1.0, max_norm / norm)
        if mistake == "the given arrays changed":
            for name in ("W_xh", "W_hh", "W_oh", "b_h", "b_o"):
                grads[name] *= factor
            return dict(grads)
        out = {name: factor * value for name, value in grads.items()}
        if mistake == "h0 left out":
            out.pop("h0")
        elif mistake == "h0 rescaled" and factor == 1.0:
            out["h0"] = 0.5 * grads["h0"]
        return out

    named(A.check_clip_rules(clip), mistake)
