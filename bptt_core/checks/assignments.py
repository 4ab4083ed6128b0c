"""Self-checks for the graded assignments (book/assignments): "correct", or the likely mistake.

The chapters' checks cover some of the assignments' tasks as they are. This module adds the
tasks they do not cover, and the chapters' checks on other problems, which the grader's
hidden tests use (``seed`` picks the problem; the notebooks' visible self-checks use the
defaults). Every check takes the learner's function and returns a CheckResult.

A mistake is named when the learner's outputs are those the mistake produces, as in
``verdict``, and also when the learner made it in some outputs only (gradients overwritten for
W_hh but added up for W_oh, say): every output that is wrong must then be the mistake's.

    A1  check_step_on, check_forward, check_mse, check_mse_gradient_on
    A2  check_step_grads, check_bptt, check_numerical_gradient
    A3  check_grad_norm, check_clip_on, check_clip_rules, check_kept_pairs_on, check_truncated
    A4  check_lstm_step, check_lstm_step_grads_on, check_lstm_bptt

check_own_code(function, *names) fails when a graded function calls the bptt_core function it
is asked to write (bc.rnn_backward inside a hand-written BPTT passes every other check).
"""

from __future__ import annotations

import copy
import functools
import importlib
import types
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ..cells import (
    LSTM_GATES,
    LSTMCache,
    LSTMParams,
    init_lstm,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    sigmoid,
)
from ..clipping import clip_grad_norm, global_norm
from ..gradcheck import numerical_gradient, rel_error
from ..losses import loss_and_grads, mse_loss
from ..rnn import (
    PARAM_NAMES,
    RNNCache,
    RNNParams,
    init_rnn,
    outer_sum,
    rnn_backward,
    rnn_forward,
)
from ..truncation import truncated_bptt, truncation_mask
from ._core import TOLERANCE, CheckResult, _as_named, verdict
from .backward import BACKWARD_MISTAKES, check_problem, mistaken_rnn_backward
from .clipping import CLIP_MISTAKES, clip_problem, mistaken_clip
from .loss import MSE_GRADIENT_MISTAKES, mistaken_mse_gradient
from .lstm import LSTM_STEP_MISTAKES, lstm_step_problem, mistaken_lstm_step_backward
from .truncation import KEPT_PAIRS_MISTAKES, mistaken_kept_pairs

Mistakes = Mapping[str, tuple[object, str]]
NOT_IMPLEMENTED = "✗ not implemented yet: replace `raise NotImplementedError`"


# --- the shared machinery ------------------------------------------------------------------------


def diagnose(got: object, expected: object, mistakes: Mistakes | None = None) -> CheckResult:
    """``verdict``, then the mistakes the learner made in some outputs only.

    got, expected: one array, or {name: array}; mistakes: {name: (its outputs, hint)}. A
    mistake fits part of the outputs when every wrong output equals the mistake's version of
    it (which then differs from the expected one).
    """
    mistakes = mistakes or {}
    result = verdict(got, expected, mistakes)
    if result.correct or result.mistake is not None or not result.errors:
        return result
    want = _as_named(expected, None)
    have = _as_named(got, list(want))
    wrong = [name for name, error in result.errors.items() if not error < TOLERANCE]
    for mistake, (theirs, hint) in mistakes.items():
        theirs = _as_named(theirs, list(want))
        if isinstance(theirs, str) or any(name not in theirs for name in wrong):
            continue
        if all(theirs[n].shape == have[n].shape and rel_error(have[n], theirs[n]) < TOLERANCE
               for n in wrong):
            return CheckResult(False, f"✗ likely mistake, {mistake} (in {', '.join(wrong)}): "
                                      f"{hint}", mistake=mistake, errors=result.errors)
    return result


def _call(function: Callable, args: tuple) -> tuple[object, CheckResult | None]:
    """The learner's output on copies of args, or a failed CheckResult naming what went wrong."""
    try:
        return function(*copy.deepcopy(args)), None
    except NotImplementedError:
        return None, CheckResult(False, NOT_IMPLEMENTED)
    except Exception as error:  # the learner's code: report it, do not crash the page
        return None, CheckResult(False, f"✗ your function raised {type(error).__name__}: "
                                        f"{error}")


def _check(function: Callable, args: tuple, expected: object,
           mistakes: Mistakes | None = None) -> CheckResult:
    """run_check with ``diagnose``: call on copies of args, compare, name the mistake."""
    got, failed = _call(function, args)
    if failed is not None:
        return failed
    if isinstance(got, CheckResult):  # the output had the wrong form: _named says which
        return got
    return diagnose(got, expected, mistakes)


# Engine functions that give the answer of the function named on the left: calling any of them
# inside the graded function counts as calling it ("x.*" stands for every function of module x).
ROUTES: dict[str, tuple[str, ...]] = {
    "rnn_backward": ("rnn_backward", "backward_with_future", "contributions", "loss_and_grads",
                     "checkpointed_loss_and_grads", "truncated_bptt", "rtrl",
                     "tape_loss_and_grads", "bptt_core.autodiff.*", "gradient_check"),
    "loss_and_grads": ("loss_and_grads", "checkpointed_loss_and_grads", "tape_loss_and_grads",
                       "bptt_core.autodiff.*"),
    "rnn_forward": ("rnn_forward", "loss_and_grads"),
    "numerical_gradient": ("numerical_gradient", "gradient_check"),
    "global_norm": ("global_norm", "clip_grad_norm"),
    "truncation_mask": ("truncation_mask", "truncation_windows"),
    "lstm_step_backward": ("lstm_step_backward", "lstm_backward"),
    "lstm_backward": ("lstm_backward", "loss_and_grads", "tape_loss_and_grads",
                      "bptt_core.autodiff.*"),
    "mse_loss": ("mse_loss", "loss_and_grads"),
}
ALWAYS_ROUTES = ("bptt_core.checks.*",)  # the self-checks compute every answer


def forbidden(qualified: str, names: tuple[str, ...]) -> bool:
    """Does the engine function ``qualified`` (e.g. "bptt_core.rnn.rnn_backward") give the
    answer of one of the engine functions ``names``, directly or by another route (ROUTES)?"""
    short = qualified.rsplit(".", 1)[-1]
    for route in (*[r for n in names for r in ROUTES.get(n, (n,))], *ALWAYS_ROUTES):
        if route.endswith(".*"):
            if qualified.startswith(route[:-1]):
                return True
        elif short == route:
            return True
    return False


def _engine_name(obj: object) -> str | None:
    """"module.qualname" when ``obj`` is a function of bptt_core (by identity), else None."""
    module = getattr(obj, "__module__", None) or ""
    name = getattr(obj, "__name__", None)
    if not (module == "bptt_core" or module.startswith("bptt_core.")) or name is None:
        return None
    try:
        found = getattr(importlib.import_module(module), name, None)
    except ImportError:
        return None
    return f"{module}.{getattr(obj, '__qualname__', name)}" if found is obj else None


def reachable_engine_functions(function: Callable, skip: frozenset[str] = frozenset()
                               ) -> set[str]:
    """The engine functions ``function`` can reach without running it, found by identity.

    Follows the names its code (and the code nested in it) uses, through its globals, the
    attributes of modules it uses (``bc.rnn_backward``), its defaults and closure, and the
    learner's own functions it reaches in turn; an alias (``from bptt_core.rnn import
    rnn_backward as rb``) is the engine's function, a learner's function that merely shares an
    engine name is not. Names in ``skip`` are not followed.
    """
    found: set[str] = set()
    seen: set[int] = set()
    todo: list[object] = [function]
    while todo:
        current = todo.pop()
        if isinstance(current, functools.partial):
            todo += [current.func, *current.args, *current.keywords.values()]
            continue
        if isinstance(current, types.MethodType):
            todo.append(current.__func__)
            continue
        engine = _engine_name(current)
        if engine is not None:
            found.add(engine)
            continue
        code = getattr(current, "__code__", None)
        if not isinstance(code, types.CodeType) or id(code) in seen:
            continue
        seen.add(id(code))
        names: set[str] = set()
        codes = [code]
        while codes:
            c = codes.pop()
            names.update(c.co_names)
            codes += [k for k in c.co_consts if isinstance(k, types.CodeType)]
        namespace = getattr(current, "__globals__", {})
        values = [namespace[n] for n in names if n in namespace and n not in skip]
        for module in [v for v in values if isinstance(v, types.ModuleType)]:
            values += [getattr(module, n) for n in names if n in vars(module)]
        values += list(getattr(current, "__defaults__", None) or ())
        values += list((getattr(current, "__kwdefaults__", None) or {}).values())
        for cell in getattr(current, "__closure__", None) or ():
            try:
                values.append(cell.cell_contents)
            except ValueError:  # a closure variable not assigned yet
                continue
        todo += [v for v in values if callable(v) and not isinstance(v, type)]
    return found


def check_own_code(function: Callable, *names: str) -> CheckResult:
    """✓ unless ``function`` reaches one of the engine functions ``names`` (by identity, through
    aliases, or by another engine route to the same answer: ROUTES).

    The grader runs this check in its own process on a stand-in for the learner's function,
    which answers it from the learner's kernel (and adds the engine functions the graded calls
    entered).
    """
    remote = getattr(function, "remote_own_code", None)
    if callable(remote):
        return remote(tuple(names))
    found = sorted(q for q in reachable_engine_functions(function) if forbidden(q, names))
    if found:
        shown = ", ".join(q.removeprefix("bptt_core.") for q in found[:3])
        return CheckResult(False, f"✗ {getattr(function, '__name__', 'your function')} calls "
                                  f"{shown}: this task asks you to write it yourself; "
                                  f"bptt_core is there to compare with, not to call",
                           mistake="called the engine")
    return CheckResult(True, "✓ your own code")


def _named(names: tuple[str, ...], function: Callable) -> Callable:
    """function returning a tuple (a, b, ...) -> one returning {names[0]: a, ...}.

    Anything that is not a tuple of len(names) is passed on for the verdict to describe.
    """
    def wrapped(*args: Any) -> object:
        out = function(*args)
        if isinstance(out, (tuple, list)) and len(out) == len(names):
            return dict(zip(names, out))
        if isinstance(out, Mapping):
            return out
        return CheckResult(False, f"✗ expected a tuple ({', '.join(names)}), got "
                                  f"{type(out).__name__}")
    return wrapped


def _problem_rnn(seed: int, D: int, H: int, O: int, T: int) -> tuple[RNNParams, np.ndarray,
                                                                      np.ndarray, np.ndarray]:
    """(params, xs (T, D), h0 (H,), targets (T, O)) with pre-activations far from zero."""
    rng = np.random.default_rng(seed)
    params = init_rnn(D, H, O, seed=seed, scale=1.5)
    params.b_h = rng.normal(0.0, 0.5, size=H)
    params.b_o = rng.normal(0.0, 0.5, size=O)
    return (params, rng.normal(size=(T, D)), np.tanh(rng.normal(size=H)),
            rng.normal(size=(T, O)))


# --- A1: one step, the forward pass, the MSE -----------------------------------------------------

STEP_HINTS: dict[str, str] = {
    "tanh missing": "that is the pre-activation a_t; the state is h_t = tanh(a_t)",
    "bias missing": "add the hidden bias b_h inside the tanh",
    "previous state ignored": "the recurrence is the point: add W_hh h_{t-1}",
    "bias outside the tanh": (
        "b_h belongs to the pre-activation: h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)"),
    "W_hh transposed": (
        "W_hh multiplies h_{t-1} from the left: W_hh @ h_prev, not h_prev @ W_hh "
        "(which is W_hh^T h_{t-1})"),
}


def check_step_on(step: Callable, seed: int = 1) -> CheckResult:
    """Check ``step(params, x_t, h_prev)`` -> h_t on a problem with D = 3, H = 5 (A1).

    The chapter's check_rnn_step poses D = H; this one has D != H and another draw.
    """
    params, xs, h_prev, _ = _problem_rnn(seed, 3, 5, 2, 1)
    x_t = xs[0]
    W_xh, W_hh, b_h = params.W_xh, params.W_hh, params.b_h
    expected = rnn_forward(params, xs, h_prev).h[1]
    outputs = {
        "tanh missing": W_xh @ x_t + W_hh @ h_prev + b_h,
        "bias missing": np.tanh(W_xh @ x_t + W_hh @ h_prev),
        "previous state ignored": np.tanh(W_xh @ x_t + b_h),
        "bias outside the tanh": np.tanh(W_xh @ x_t + W_hh @ h_prev) + b_h,
        "W_hh transposed": np.tanh(W_xh @ x_t + W_hh.T @ h_prev + b_h),
    }
    mistakes = {m: (outputs[m], hint) for m, hint in STEP_HINTS.items()}
    return _check(step, (params, x_t, h_prev), expected, mistakes)


FORWARD_MISTAKES: dict[str, str] = {
    "hidden-state index off by one (h0 not stored)": (
        "store the states as h[0..T] with h[0] = h0, so that h[t] is h_t: h has T + 1 rows, "
        "the first of them h0"),
    "hidden-state index off by one (y_t from h_{t-1})": (
        "the output of step t reads the new state: y_t = W_oh h_t + b_o with h_t = h[t]; "
        "you used h[t - 1], which is h_{t-1}"),
    "loop stops one step early": (
        "the steps are t = 1..T: range(1, T + 1), not range(1, T); the last state h_T and "
        "output y_T were never computed"),
    "state not carried forward": (
        "each step starts from the state the previous step computed: "
        "h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h), not W_hh h_0 at every step"),
    "h0 ignored": "the first step starts from the given h0, not from zeros",
}


def mistaken_forward(params: RNNParams, xs: np.ndarray, h0: np.ndarray,
                     mistake: str) -> dict[str, np.ndarray]:
    """{"h", "y"} of the forward pass with ``mistake`` (a key of FORWARD_MISTAKES)."""
    if mistake not in FORWARD_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, FORWARD_MISTAKES))}, "
                         f"got {mistake!r}")
    T, H = len(xs), params.b_h.size
    h = np.zeros((T + 1, H))
    h[0] = 0.0 if mistake == "h0 ignored" else h0
    last = T - 1 if mistake == "loop stops one step early" else T
    for t in range(1, last + 1):
        previous = h0 if mistake == "state not carried forward" else h[t - 1]
        h[t] = np.tanh(params.W_xh @ xs[t - 1] + params.W_hh @ previous + params.b_h)
    read = h[:-1] if mistake == "hidden-state index off by one (y_t from h_{t-1})" else h[1:]
    y = read @ params.W_oh.T + params.b_o
    if mistake == "loop stops one step early":
        y[-1] = 0.0  # y = np.zeros((T, O)) filled in the loop
    if mistake == "hidden-state index off by one (h0 not stored)":
        h = h[1:]
    return {"h": h, "y": y}


def check_forward(forward: Callable, seed: int = 0) -> CheckResult:
    """Check ``forward(params, xs, h0)`` -> (h, y): h (T+1, H) with h[0] = h0, y (T, O) (A1).

    Identity output, one sequence of T = 6 steps with D = 3, H = 4, O = 2.
    """
    params, xs, h0, _ = _problem_rnn(seed, 3, 4, 2, 6)
    cache = rnn_forward(params, xs, h0)
    mistakes = {m: (mistaken_forward(params, xs, h0, m), hint)
                for m, hint in FORWARD_MISTAKES.items()}
    return _check(_named(("h", "y"), forward), (params, xs, h0), {"h": cache.h, "y": cache.y},
                  mistakes)


MSE_MISTAKES: dict[str, str] = {
    "sum instead of mean": (
        "the mean squared error divides the sum of squares by N = y.size, the number of "
        "entries (steps times outputs)"),
    "divided by the number of steps": (
        "the mean runs over every entry: N = y.size = T*O, not the number of steps T"),
    "square root taken": "that is the root mean square error; the MSE has no square root",
    "absolute instead of squared": "square the differences: (y - target)**2, not |y - target|",
    "factor 1/2": (
        "the book's MSE is L = (1/N) sum (y - target)^2, without the factor 1/2 some texts use"),
}


def check_mse(mse: Callable, seed: int = 0) -> CheckResult:
    """Check ``mse(y, target)`` -> L = (1/N) sum (y - target)^2 with N = y.size (A1)."""
    rng = np.random.default_rng(seed)
    target = rng.normal(size=(5, 3))
    y = target + rng.normal(0.3, 1.0, size=(5, 3))
    diff = y - target
    outputs = {
        "sum instead of mean": np.sum(diff**2),
        "divided by the number of steps": np.sum(diff**2) / len(y),
        "square root taken": np.sqrt(np.mean(diff**2)),
        "absolute instead of squared": np.mean(np.abs(diff)),
        "factor 1/2": 0.5 * np.mean(diff**2),
    }
    mistakes = {m: (outputs[m], hint) for m, hint in MSE_MISTAKES.items()}
    return _check(mse, (y, target), mse_loss(y, target)[0], mistakes)


def check_mse_gradient_on(gradient: Callable, seed: int = 1) -> CheckResult:
    """Check ``gradient(y, target)`` -> dL/dy = (2/N)(y - target) on a batch (T, B, O) (A1)."""
    rng = np.random.default_rng(seed)
    target = rng.normal(size=(3, 2, 4))
    y = target + rng.normal(0.5, 1.0, size=target.shape)
    mistakes = {m: (mistaken_mse_gradient(y, target, m), hint)
                for m, hint in MSE_GRADIENT_MISTAKES.items()}
    return _check(gradient, (y, target), mse_loss(y, target)[1], mistakes)


# --- A2: one step backward, BPTT, a numerical gradient -------------------------------------------

STEP_GRAD_MISTAKES: dict[str, str] = {
    "W_hh not transposed": BACKWARD_MISTAKES["W_hh not transposed"],
    "tanh derivative missing": BACKWARD_MISTAKES["tanh derivative missing"],
    "tanh derivative of the wrong quantity": BACKWARD_MISTAKES[
        "tanh derivative of the wrong quantity"],
    "tanh derivative of the wrong quantity (tanh applied twice)": (
        "h_t is already tanh(a_t), so the derivative is 1 - h_t**2; 1 - np.tanh(h_t)**2 "
        "applies tanh a second time"),
    "tanh derivative of the wrong quantity (h_{t-1})": (
        "the tanh derivative belongs to this step: 1 - h_t^2 with h_t = tanh(a_t); you used "
        "the previous state, 1 - h_{t-1}^2"),
    "tanh derivative missing on the way back": (
        "the gradient handed to h_{t-1} also goes through tanh first: "
        "dL/dh_{t-1} = W_hh^T ((1 - h_t^2) * dL/dh_t), not W_hh^T dL/dh_t"),
    "hidden-state index off by one": BACKWARD_MISTAKES["hidden-state index off by one"],
    "outer product reversed": (
        "a weight's gradient has the weight's shape: dW_xh = np.outer(da, x_t) (H, D) and "
        "dW_hh = np.outer(da, h_prev), with da first"),
}


def step_grads_problem(seed: int = 0) -> tuple[RNNParams, np.ndarray, np.ndarray, np.ndarray,
                                               np.ndarray]:
    """(params, x_t, h_prev, h_t, dh) for one step with D = 3, H = 4, |a_t| of order one."""
    params, xs, h_prev, _ = _problem_rnn(seed, 3, 4, 2, 1)
    h_t = rnn_forward(params, xs, h_prev).h[1]
    dh = np.random.default_rng(seed + 100).normal(size=4)
    return params, xs[0], h_prev, h_t, dh


def mistaken_step_grads(params: RNNParams, x_t: np.ndarray, h_prev: np.ndarray,
                        h_t: np.ndarray, dh: np.ndarray, mistake: str | None = None
                        ) -> dict[str, np.ndarray]:
    """One step backward, right (mistake None) or with a key of STEP_GRAD_MISTAKES.

    Returns {"W_xh", "W_hh", "b_h": step t's share of those gradients, "h_prev": dL/dh_{t-1}}.
    """
    if mistake is not None and mistake not in STEP_GRAD_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, STEP_GRAD_MISTAKES))}"
                         f", got {mistake!r}")
    a_t = params.W_xh @ x_t + params.W_hh @ h_prev + params.b_h
    slope = {
        "tanh derivative missing": 1.0,
        "tanh derivative of the wrong quantity": 1.0 - a_t**2,
        "tanh derivative of the wrong quantity (tanh applied twice)": 1.0 - np.tanh(h_t) ** 2,
        "tanh derivative of the wrong quantity (h_{t-1})": 1.0 - h_prev**2,
    }.get(mistake, 1.0 - h_t**2)
    da = slope * dh  # back through tanh: dL/da_t = (1 - h_t^2) * dL/dh_t
    W_hh = params.W_hh if mistake == "W_hh not transposed" else params.W_hh.T
    back = dh if mistake == "tanh derivative missing on the way back" else da
    previous = h_t if mistake == "hidden-state index off by one" else h_prev
    if mistake == "outer product reversed":
        return {"W_xh": np.outer(x_t, da), "W_hh": np.outer(previous, da), "b_h": da,
                "h_prev": W_hh @ back}
    return {"W_xh": np.outer(da, x_t), "W_hh": np.outer(da, previous), "b_h": da,
            "h_prev": W_hh @ back}


def check_step_grads(step_grads: Callable, seed: int = 0) -> CheckResult:
    """Check ``step_grads(params, x_t, h_prev, h_t, dh)`` -> one step of BPTT (A2).

    dh is dL/dh_t, everything that reaches h_t. Expected: {"W_xh": da x_t^T, "W_hh":
    da h_{t-1}^T, "b_h": da, "h_prev": W_hh^T da} with da = (1 - h_t^2) * dh, which is
    rnn_backward on the one-step sequence from h_prev with W_oh = I (so that dL/dh_t = dy).
    """
    params, x_t, h_prev, h_t, dh = step_grads_problem(seed)
    H = h_t.size
    through = params.replace(W_oh=np.eye(H), b_o=np.zeros(H))  # y_1 = h_1: dy is dL/dh_1
    grads = rnn_backward(through, rnn_forward(through, x_t[None], h_prev), dh[None])
    expected = {"W_xh": grads["W_xh"], "W_hh": grads["W_hh"], "b_h": grads["b_h"],
                "h_prev": grads["h0"]}
    mistakes = {m: (mistaken_step_grads(params, x_t, h_prev, h_t, dh, m), hint)
                for m, hint in STEP_GRAD_MISTAKES.items()}
    return _check(step_grads, (params, x_t, h_prev, h_t, dh), expected, mistakes)


def mistaken_bptt_with_step(params: RNNParams, cache: RNNCache, dy: np.ndarray,
                            step_mistake: str) -> dict[str, np.ndarray]:
    """BPTT (identity output, one sequence) whose every step makes ``step_mistake``.

    step_mistake: a key of STEP_GRAD_MISTAKES; the sweep around the steps is right.
    """
    xs, h = cache.xs, cache.h
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    dh_next = np.zeros_like(h[0])
    for t in range(cache.T, 0, -1):
        grads["W_oh"] += np.outer(dy[t - 1], h[t])
        grads["b_o"] += dy[t - 1]
        dh = params.W_oh.T @ dy[t - 1] + dh_next
        step = mistaken_step_grads(params, xs[t - 1], h[t - 1], h[t], dh, step_mistake)
        for name in ("W_xh", "W_hh", "b_h"):
            grads[name] = grads[name] + step[name]
        dh_next = step["h_prev"]
    grads["h0"] = dh_next
    return grads


def check_bptt(backward: Callable, seed: int = 0) -> CheckResult:
    """Check ``backward(params, cache, dy)`` -> every gradient and "h0", as rnn_backward (A2).

    Seed 0 is check_rnn_backward's problem. Besides BACKWARD_MISTAKES it names every mistake
    of one step backward (STEP_GRAD_MISTAKES) made at every step, and a mistake made in some
    gradients only.
    """
    params, cache, dy = check_problem(seed)
    mistakes = {m: (mistaken_rnn_backward(params, cache, dy, m), hint)
                for m, hint in BACKWARD_MISTAKES.items()}
    for m, hint in STEP_GRAD_MISTAKES.items():
        if m not in mistakes and m != "outer product reversed":  # a shape error, named above
            mistakes[f"{m} (in the step)"] = (mistaken_bptt_with_step(params, cache, dy, m),
                                              hint)
    return _check(backward, (params, cache, dy), rnn_backward(params, cache, dy), mistakes)


NUMERICAL_MISTAKES: dict[str, str] = {
    "one-sided difference": (
        "use the central difference (f(x + eps e_i) - f(x - eps e_i)) / (2 eps): the "
        "one-sided (f(x + eps e_i) - f(x)) / eps is off by O(eps), too much for a check "
        "at 1e-7"),
    "divided by eps instead of 2 eps": (
        "the two points x + eps e_i and x - eps e_i are 2 eps apart: divide by 2 * eps"),
    "f called with the unchanged x": (
        "nudge the entry in the array you pass to f: f must see x + eps e_i and x - eps e_i"),
    "x not restored": (
        "put every entry back after nudging it (old = x[i]; ...; x[i] = old): the next entries "
        "and the caller must see the original x"),
}


def numerical_problem(seed: int = 0, name: str = "W_hh") -> tuple[Callable, np.ndarray]:
    """(f, x): the MSE of a small RNN as a function of one parameter, and that parameter."""
    params, xs, h0, targets = _problem_rnn(seed, 3, 4, 2, 5)

    def loss(value: np.ndarray) -> float:
        return loss_and_grads(params.replace(**{name: value}), xs, targets, h0=h0)[0]

    # how the grader rebuilds f inside a learner's kernel (coursework sends recipes, not code)
    loss.recipe = {"call": "bptt_core.checks.assignments:numerical_problem",  # type: ignore
                   "args": [seed, name], "pick": 0}
    return loss, getattr(params, name).copy()


def mistaken_numerical_gradient(f: Callable, x: np.ndarray, eps: float,
                                mistake: str) -> np.ndarray:
    """A central difference gone wrong (a key of NUMERICAL_MISTAKES); x is left as given."""
    if mistake not in NUMERICAL_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, NUMERICAL_MISTAKES))}"
                         f", got {mistake!r}")
    x = x.copy()
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        if mistake == "f called with the unchanged x":
            grad[i] = (f(x) - f(x)) / (2 * eps)
            continue
        x[i] = old + eps
        f_plus = f(x)
        x[i] = old if mistake == "one-sided difference" else old - eps
        f_minus = f(x)
        step = {"one-sided difference": eps, "divided by eps instead of 2 eps": eps}
        grad[i] = (f_plus - f_minus) / step.get(mistake, 2 * eps)
        if mistake != "x not restored":
            x[i] = old
    return grad


def check_numerical_gradient(numerical: Callable, seed: int = 0,
                             name: str = "W_hh") -> CheckResult:
    """Check ``numerical(f, x, eps)`` -> df/dx by central differences, x any shape (A2).

    f is the MSE of a small RNN as a function of parameter ``name``; eps = 1e-5. The function
    must leave x as it found it. Expected: bptt_core.numerical_gradient.
    """
    f, x = numerical_problem(seed, name)
    eps = 1e-5
    given = x.copy()
    try:
        got = numerical(f, given, eps)
    except NotImplementedError:
        return CheckResult(False, NOT_IMPLEMENTED)
    except Exception as error:  # the learner's code: report it, do not crash the page
        return CheckResult(False, f"✗ your function raised {type(error).__name__}: {error}")
    if given.shape != x.shape or not np.array_equal(given, x):
        hint = NUMERICAL_MISTAKES["x not restored"]
        if given.shape == x.shape and np.allclose(given, x, rtol=1e-12, atol=1e-15):
            hint = ("x is back only up to rounding: x[i] += eps, then -= 2 * eps, then "
                    "+= eps does not give the old float back exactly (each step rounds). "
                    "Save old = x[i] before nudging and assign x[i] = old at the end")
        return CheckResult(False, f"✗ likely mistake, x not restored: {hint}",
                           mistake="x not restored")
    mistakes = {m: (mistaken_numerical_gradient(f, x, eps, m), hint)
                for m, hint in NUMERICAL_MISTAKES.items()}
    return diagnose(got, numerical_gradient(f, x.copy(), eps), mistakes)


# --- A3: the global norm, clipping, truncated BPTT -----------------------------------------------

NORM_MISTAKES: dict[str, str] = {
    "h0 included in the norm": (
        "leave grads['h0'] out: h0 is not a parameter the update changes; the norm runs over "
        "W_xh, W_hh, W_oh, b_h and b_o"),
    "norm without the square root": (
        "the norm is the square root of the sum of squares: np.sqrt(sum of np.sum(g**2))"),
    "sum of the per-parameter norms": (
        "square every entry of every parameter, add them all, then take ONE square root; "
        "adding the parameters' own norms gives a larger number"),
}


def check_grad_norm(norm_fn: Callable, seed: int = 9) -> CheckResult:
    """Check ``norm_fn(grads)`` -> ||g|| over the five parameters, "h0" left out (A3)."""
    grads, _ = clip_problem(seed)["long gradient"]
    params = [np.asarray(grads[name]) for name in PARAM_NAMES]
    squares = sum(np.sum(g**2) for g in params)
    outputs = {
        "h0 included in the norm": np.sqrt(squares + np.sum(grads["h0"] ** 2)),
        "norm without the square root": squares,
        "sum of the per-parameter norms": sum(np.linalg.norm(g) for g in params),
    }
    mistakes = {m: (outputs[m], hint) for m, hint in NORM_MISTAKES.items()}
    return _check(norm_fn, (grads,), global_norm(grads), mistakes)


def _by_case(outputs: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
    """{"W_hh, long gradient": array, ...}: both cases' outputs in one dict for the verdict."""
    return {f"{name}, {case}": value for case, out in outputs.items()
            for name, value in out.items()}


CLIP_RULE_MISTAKES: dict[str, str] = {
    "h0 left out": (
        "return h0 with the clipped gradients, as it came: the caller still needs dL/dh0"),
    "h0 rescaled": (
        "h0 is not a parameter: keep grads['h0'] as it is, only the five parameters' "
        "gradients are multiplied by the factor"),
    "the given arrays changed": (
        "do not change the arrays you are given (no grads[name] *= factor): the caller may "
        "still use the unclipped gradient; write the clipped ones into new arrays"),
}


def check_clip_rules(clip: Callable, seed: int = 9) -> CheckResult:
    """Check the two rules of A3's clipping task: ``clip(grads, max_norm)`` returns "h0" as it
    came, and leaves the arrays it was given unchanged (on a long and a short gradient)."""
    for case, (grads, max_norm) in clip_problem(seed).items():
        given = copy.deepcopy(grads)
        try:
            out = clip(given, max_norm)
        except NotImplementedError:
            return CheckResult(False, NOT_IMPLEMENTED)
        except Exception as error:  # the learner's code: report it, do not crash the page
            return CheckResult(False, f"✗ your function raised {type(error).__name__}: "
                                      f"{error}")
        if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[0], Mapping):
            out = out[0]
        if not isinstance(out, Mapping):
            return CheckResult(False, f"✗ expected a dict {{name: clipped gradient}}, got "
                                      f"{type(out).__name__}")
        # exact comparisons: a copy, or an untouched array, is equal by construction
        changed = [name for name in grads
                   if not np.array_equal(np.asarray(given[name]), grads[name])]
        if changed:
            return CheckResult(False, f"✗ likely mistake, the given arrays changed (in "
                                      f"{', '.join(changed)}, {case}): "
                                      f"{CLIP_RULE_MISTAKES['the given arrays changed']}",
                               mistake="the given arrays changed")
        if "h0" not in out:
            return CheckResult(False, f"✗ likely mistake, h0 left out: "
                                      f"{CLIP_RULE_MISTAKES['h0 left out']}",
                               mistake="h0 left out")
        h0 = np.asarray(out["h0"], dtype=float)
        if h0.shape != grads["h0"].shape or not np.array_equal(h0, grads["h0"]):
            return CheckResult(False, f"✗ likely mistake, h0 rescaled ({case}): "
                                      f"{CLIP_RULE_MISTAKES['h0 rescaled']}",
                               mistake="h0 rescaled")
    return CheckResult(True, "✓ h0 kept, the given arrays unchanged")


def check_clip_on(clip: Callable, seed: int = 21) -> CheckResult:
    """Check ``clip(grads, max_norm)`` -> {name: clipped}, on another draw of clip_problem (A3).

    Both cases: a long gradient, which must be shortened, and a short one, kept as it is.
    """
    problems = clip_problem(seed)
    got = {}
    for case, args in problems.items():
        out, failed = _call(clip, args)
        if failed is not None:
            return failed
        if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[0], Mapping):
            out = out[0]  # (clipped, norm), like clip_grad_norm
        if not isinstance(out, Mapping):
            return CheckResult(False, f"✗ expected a dict {{name: clipped gradient}}, got "
                                      f"{type(out).__name__}")
        got[case] = {name: out[name] for name in out if name in PARAM_NAMES}
    expected = _by_case({case: {name: g for name, g in clip_grad_norm(*args)[0].items()
                                if name in PARAM_NAMES} for case, args in problems.items()})
    mistakes = {m: (_by_case({case: mistaken_clip(*args, mistake=m)
                              for case, args in problems.items()}), hint)
                for m, hint in CLIP_MISTAKES.items()}
    return diagnose(_by_case(got), expected, mistakes)


def check_kept_pairs_on(kept_pairs: Callable, T: int = 10, k1: int = 4,
                        k2: int = 6) -> CheckResult:
    """Check ``kept_pairs(T, k1, k2)`` -> the (T, T) mask of BPTT(k1, k2) on other sizes (A3)."""
    def as_numbers(mask: object) -> object:
        array = np.asarray(mask)
        return array.astype(np.float64) if array.dtype == bool else mask

    args = (T, k1, k2)
    mistakes = {m: (as_numbers(mistaken_kept_pairs(*args, m)), hint)
                for m, hint in KEPT_PAIRS_MISTAKES.items()}
    return _check(lambda *a: as_numbers(kept_pairs(*a)), args,
                  as_numbers(truncation_mask(*args)), mistakes)


TRUNCATED_MISTAKES: dict[str, str] = {
    "state reset at each window": (
        "truncation cuts the gradient, not the forward pass: each window's backward pass "
        "starts from the state h_{u-1} of the one forward pass (held fixed), not from zeros"),
    "not truncated": (
        "that is full BPTT over the whole sequence; BPTT(k1, k2) sends each window's losses "
        "back from the window's end s to u = max(1, s - k2 + 1) and no further"),
    "gradients overwritten": (
        "every window adds its part to the gradients: grads[name] += window[name]; with = "
        "only the last window counts"),
    "older steps' losses counted again": (
        "a window backpropagates its own losses only, steps s' + 1..s; the older steps its "
        "backward pass runs through sent their losses back with their own window: their dy "
        "is zero here"),
    "backward pass one step too long": (
        "a backward pass over k2 steps from s covers s, s - 1, ..., s - k2 + 1: it starts "
        "from h_{u-1} with u = max(1, s - k2 + 1), not u = s - k2"),
    "each window's loss averaged over the window": (
        "the loss is the mean over the whole sequence, N = T*O: a window's dL/dy is "
        "2 (y - d) / N, not the mean over its own steps"),
}


def mistaken_truncated(params: RNNParams, xs: np.ndarray, targets: np.ndarray, k1: int,
                       k2: int, mistake: str) -> dict[str, object]:
    """{"L", W_xh, ...} of BPTT(k1, k2) with ``mistake`` (a key of TRUNCATED_MISTAKES).

    One forward pass from h_0 = 0 gives L and the states; each window (s', s] then runs
    forward again from h_{u-1} and backward over steps u..s with its own losses.
    """
    if mistake not in TRUNCATED_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, TRUNCATED_MISTAKES))}"
                         f", got {mistake!r}")
    T, N = len(xs), targets.size
    whole = rnn_forward(params, xs)
    L = float(np.sum((whole.y - targets) ** 2)) / N
    if mistake == "not truncated":
        grads = rnn_backward(params, whole, 2.0 * (whole.y - targets) / N)
        return {"L": L, **{name: grads[name] for name in PARAM_NAMES}}
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    previous = 0
    while previous < T:
        s = min(previous + k1, T)
        u = max(1, s - k2 if mistake == "backward pass one step too long" else s - k2 + 1)
        start = np.zeros_like(whole.h[0]) if mistake == "state reset at each window" \
            else whole.h[u - 1]
        window = rnn_forward(params, xs[u - 1:s], start)
        first = 0 if mistake == "older steps' losses counted again" else previous + 1 - u
        diff = window.y[first:] - targets[u - 1 + first:s]
        n = diff.size if mistake == "each window's loss averaged over the window" else N
        dy = np.zeros_like(window.y)
        dy[first:] = 2.0 * diff / n
        part = rnn_backward(params, window, dy)
        for name in PARAM_NAMES:
            grads[name] = part[name] + (0.0 if mistake == "gradients overwritten"
                                        else grads[name])
        previous = s
    return {"L": L, **grads}


def check_truncated(truncated: Callable, seed: int = 0, T: int = 8, k1: int = 3,
                    k2: int = 4) -> CheckResult:
    """Check ``truncated(params, xs, targets, k1, k2)`` -> (L, grads) of BPTT(k1, k2) (A3).

    One sequence, h_0 = 0, MSE; L the loss of the whole sequence, grads the truncated
    gradient of the five parameters. Expected: bptt_core.truncated_bptt.
    """
    params, xs, _, targets = _problem_rnn(seed, 3, 4, 2, T)
    L, grads = truncated_bptt(params, xs, targets, k1, k2)
    expected = {"L": L, **{name: grads[name] for name in PARAM_NAMES}}
    mistakes = {m: (mistaken_truncated(params, xs, targets, k1, k2, m), hint)
                for m, hint in TRUNCATED_MISTAKES.items()}

    def outputs(*args: Any) -> object:
        out = truncated(*args)
        if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], Mapping):
            return {"L": out[0], **out[1]}
        return CheckResult(False, f"✗ expected a tuple (L, grads) with grads a dict, got "
                                  f"{type(out).__name__}")

    return _check(outputs, (params, xs, targets, k1, k2), expected, mistakes)


# --- A4: the LSTM, one step forward, one step backward, BPTT -------------------------------------

LSTM_FORWARD_MISTAKES: dict[str, str] = {
    "forget gate missing": (
        "the old cell content is scaled by the forget gate: c_t = f_t * c_{t-1} + i_t * c~_t"),
    "previous cell state ignored": (
        "the cell keeps a share f_t of its old content: c_t = f_t * c_{t-1} + i_t * c~_t"),
    "tanh of the cell missing": "the state shows the squashed cell: h_t = q_t * tanh(c_t)",
    "output gate missing": "the output gate scales the state: h_t = q_t * tanh(c_t)",
    "candidate through a sigmoid": (
        "the candidate is a tanh, in (-1, 1), so it can lower the cell: "
        "c~_t = tanh(W_xc x_t + W_hc h_{t-1} + b_c)"),
}


def _lstm_problem(seed: int, T: int) -> tuple[LSTMParams, np.ndarray, np.ndarray, np.ndarray]:
    """(params, xs (T, 3), h0, c0) with H = 4, O = 2: random biases, |c_t| above 1."""
    rng = np.random.default_rng(seed)
    params = init_lstm(3, 4, 2, seed=seed)
    for gate in LSTM_GATES:
        setattr(params, f"b_{gate}", rng.normal(0.0, 0.7, size=4))
    params.b_f += 1.0
    params.b_o = rng.normal(0.0, 0.5, size=2)
    return (params, rng.normal(0.0, 1.5, size=(T, 3)), np.tanh(rng.normal(size=4)),
            rng.normal(0.0, 1.5, size=4))


def check_lstm_step(step: Callable, seed: int = 3) -> CheckResult:
    """Check ``step(params, x_t, h_prev, c_prev)`` -> (h_t, c_t), one LSTM step forward (A4)."""
    params, xs, h_prev, c_prev = _lstm_problem(seed, 1)
    cache = lstm_forward(params, xs, h_prev, c_prev)
    x_t, p = xs[0], params

    def pre(gate: str) -> np.ndarray:
        return (getattr(p, f"W_x{gate}") @ x_t + getattr(p, f"W_h{gate}") @ h_prev
                + getattr(p, f"b_{gate}"))

    f, i, q = sigmoid(pre("f")), sigmoid(pre("i")), sigmoid(pre("q"))
    c_tilde = np.tanh(pre("c"))
    c = f * c_prev + i * c_tilde
    outputs = {
        "forget gate missing": {"h": q * np.tanh(c_prev + i * c_tilde),
                                "c": c_prev + i * c_tilde},
        "previous cell state ignored": {"h": q * np.tanh(i * c_tilde), "c": i * c_tilde},
        "tanh of the cell missing": {"h": q * c, "c": c},
        "output gate missing": {"h": np.tanh(c), "c": c},
        "candidate through a sigmoid": {"h": q * np.tanh(f * c_prev + i * sigmoid(pre("c"))),
                                        "c": f * c_prev + i * sigmoid(pre("c"))},
    }
    mistakes = {m: (outputs[m], hint) for m, hint in LSTM_FORWARD_MISTAKES.items()}
    return _check(_named(("h", "c"), step), (params, x_t, h_prev, c_prev),
                  {"h": cache.h[1], "c": cache.c[1]}, mistakes)


def check_lstm_step_grads_on(step_grads: Callable, seed: int = 8) -> CheckResult:
    """Check ``step_grads(step, dh, dc_next)`` -> {"da_f", ..., "dc_prev"} on another draw (A4).

    The chapter's check_lstm_step_backward on lstm_step_problem(seed).
    """
    step, dh, dc_next = lstm_step_problem(seed)
    mistakes = {m: (mistaken_lstm_step_backward(step, dh, dc_next, m), hint)
                for m, hint in LSTM_STEP_MISTAKES.items()}
    return _check(step_grads, (step, dh, dc_next), lstm_step_backward(step, dh, dc_next),
                  mistakes)


LSTM_BPTT_MISTAKES: dict[str, str] = {
    "W_h not transposed": (
        "the gradient passed back to h_{t-1} uses each gate's W_h<g> transposed: "
        "dh_next = sum over g of W_hg^T da_g, not W_hg da_g"),
    "gradients overwritten": BACKWARD_MISTAKES["gradients overwritten"],
    "hidden-state index off by one": (
        "dL/dW_h<g> at step t pairs da_g with the previous state h_{t-1} (h[t - 1], where "
        "h[0] = h0), not with h_t"),
    "no gradient through time": (
        "h_t also feeds the gates of step t+1: add dh_next to dL/dh_t before the step's "
        "backward pass"),
    **{f"{m} (in the step)": hint for m, hint in LSTM_STEP_MISTAKES.items()},
}


def mistaken_lstm_bptt(params: LSTMParams, cache: LSTMCache, dy: np.ndarray,
                       mistake: str) -> dict[str, np.ndarray]:
    """lstm_backward (identity output) with ``mistake`` (a key of LSTM_BPTT_MISTAKES)."""
    if mistake not in LSTM_BPTT_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, LSTM_BPTT_MISTAKES))}"
                         f", got {mistake!r}")
    step_mistake = mistake.removesuffix(" (in the step)")
    if step_mistake in LSTM_STEP_MISTAKES:
        def step_back(step: Any, dh: np.ndarray, dc: np.ndarray) -> dict[str, np.ndarray]:
            return mistaken_lstm_step_backward(step, dh, dc, step_mistake)
    else:
        step_back = lstm_step_backward
    xs, h = cache.xs, cache.h
    grads = {name: np.zeros_like(value) for name, value in params.items()}
    add = (lambda old, new: new) if mistake == "gradients overwritten" else np.add
    dh_next, dc_next = np.zeros_like(h[0]), np.zeros_like(h[0])
    for t in range(cache.T, 0, -1):
        grads["W_oh"] = add(grads["W_oh"], outer_sum(dy[t - 1], h[t]))
        grads["b_o"] = add(grads["b_o"], dy[t - 1])
        dh = params.W_oh.T @ dy[t - 1]
        if mistake != "no gradient through time":
            dh = dh + dh_next
        da = step_back(cache.step(t), dh, dc_next)
        previous = h[t] if mistake == "hidden-state index off by one" else h[t - 1]
        dh_next = np.zeros_like(dh)
        for g in LSTM_GATES:
            grads[f"W_x{g}"] = add(grads[f"W_x{g}"], np.outer(da[f"da_{g}"], xs[t - 1]))
            grads[f"W_h{g}"] = add(grads[f"W_h{g}"], np.outer(da[f"da_{g}"], previous))
            grads[f"b_{g}"] = add(grads[f"b_{g}"], da[f"da_{g}"])
            W = getattr(params, f"W_h{g}")
            dh_next = dh_next + (W if mistake == "W_h not transposed" else W.T) @ da[f"da_{g}"]
        dc_next = da["dc_prev"]
    grads["h0"], grads["c0"] = dh_next, dc_next
    return grads


def lstm_bptt_problem(seed: int = 3) -> tuple[LSTMParams, LSTMCache, np.ndarray]:
    """(params, cache, dy): T = 5 steps of an LSTM with D = 3, H = 4, O = 2, h0 and c0 given."""
    params, xs, h0, c0 = _lstm_problem(seed, 5)
    cache = lstm_forward(params, xs, h0, c0)
    _, dy = mse_loss(cache.y, np.random.default_rng(seed + 100).normal(size=cache.y.shape))
    return params, cache, dy


def check_lstm_bptt(backward: Callable, seed: int = 3) -> CheckResult:
    """Check ``backward(params, cache, dy)`` -> every LSTM gradient, "h0" and "c0" (A4).

    Identity output, one sequence; expected: bptt_core.cells.lstm_backward.
    """
    params, cache, dy = lstm_bptt_problem(seed)
    mistakes = {m: (mistaken_lstm_bptt(params, cache, dy, m), hint)
                for m, hint in LSTM_BPTT_MISTAKES.items()}
    return _check(backward, (params, cache, dy), lstm_backward(params, cache, dy), mistakes)
