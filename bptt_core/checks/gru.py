"""Self-check for chapter 11: one GRU step backward, by hand.

Given step t's gates u_t, r_t, n_t, the previous state h_{t-1} and dL/dh_t:

    dL/da^u_t = dL/dh_t * (h_{t-1} - n_t) * u_t (1 - u_t)
    dL/da^n_t = dL/dh_t * (1 - u_t) * (1 - n_t^2)
    dL/da^r_t = (W_hn^T dL/da^n_t) * h_{t-1} * r_t (1 - r_t)
    dL/dh_{t-1} (through step t) = u_t * dL/dh_t + r_t * (W_hn^T dL/da^n_t)
                                   + W_hu^T dL/da^u_t + W_hr^T dL/da^r_t

The expected values come from bptt_core.cells.gru_backward run on a one-step cache.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..cells import GRUParams, gru_backward, gru_forward, init_gru
from ._core import CheckResult, run_check

OUTPUT_NAMES = ("da_u", "da_r", "da_n", "dh_prev")


@dataclass
class GRUStep:
    """The numbers of one GRU step t that its backward pass needs (chapter 11).

    u, r, n: the update gate u_t, the reset gate r_t, the candidate n_t; h_prev: h_{t-1}.
    Each of shape (H,).
    """

    u: np.ndarray
    r: np.ndarray
    n: np.ndarray
    h_prev: np.ndarray


# The mistakes people make when they write a GRU step backward, and what to tell them.
GRU_STEP_MISTAKES: dict[str, str] = {
    "reset gate missing from the path through the candidate": (
        "the candidate sees W_hn (r_t * h_{t-1}), so h_{t-1} receives r * (W_hn.T @ da_n) "
        "along that path, not W_hn.T @ da_n"
    ),
    "u_t and 1 - u_t swapped": (
        "h_t = u_t * h_{t-1} + (1 - u_t) * n_t: the old state is kept with weight u_t and the "
        "candidate enters with 1 - u_t, so da_n = dh * (1 - u) * (1 - n^2), the direct path "
        "is dh * u and da_u = dh * (h_prev - n) * u * (1 - u)"
    ),
    "sigmoid derivative missing": (
        "the gates are sigmoids of their pre-activations: multiply by sigmoid'(a) = s (1 - s) "
        "with s the gate's value, e.g. da_u = dh * (h_prev - n) * u * (1 - u)"
    ),
    "tanh derivative of the candidate missing": (
        "the candidate is n_t = tanh(a^n_t): da_n = dh * (1 - u) * (1 - n^2)"
    ),
    "direct path dh * u_t missing": (
        "h_{t-1} also enters h_t directly, weighted by u_t: add dh * u to dh_prev"
    ),
    "update gate gradient missing -n_t": (
        "u_t multiplies h_{t-1} and 1 - u_t multiplies n_t, so dh_t/du_t = h_{t-1} - n_t: "
        "da_u = dh * (h_prev - n) * u * (1 - u)"
    ),
    "reset gate gradient missing h_{t-1}": (
        "r_t enters as r_t * h_{t-1}, so its gradient is the product's gradient times "
        "h_{t-1}: da_r = (W_hn.T @ da_n) * h_prev * r * (1 - r)"
    ),
    "recurrent matrices not transposed": (
        "a gradient goes back through a matrix transposed: W_hn.T @ da_n, W_hu.T @ da_u, "
        "W_hr.T @ da_r, not W_hn @ da_n, ..."
    ),
    "paths through the gates missing": (
        "h_{t-1} also feeds the update and reset gates: add W_hu.T @ da_u + W_hr.T @ da_r "
        "to dh_prev"
    ),
}


def gru_step_reference(params: GRUParams, step: GRUStep, dh: np.ndarray
                       ) -> dict[str, np.ndarray]:
    """The right answer, from bptt_core.cells.gru_backward run on a one-step cache.

    With dL/dy = 0 and dh_last = dh, the gradient arriving at h_1 is dh; the biases' gradients
    of a one-step sweep are the three delta^chi_1, and grads["h0"] is what goes back to h_0.
    """
    H = params.sizes[1]
    x = np.zeros((1, params.sizes[0]))  # any input: the gates are given, not recomputed
    cache = gru_forward(params, x, step.h_prev)
    cache.u[0], cache.r[0], cache.n[0] = step.u, step.r, step.n
    grads = gru_backward(params, cache, np.zeros((1, params.sizes[2])), dh)
    assert grads["b_u"].shape == (H,)
    return {"da_u": grads["b_u"], "da_r": grads["b_r"], "da_n": grads["b_n"],
            "dh_prev": grads["h0"]}


def mistaken_gru_step_backward(
    params: GRUParams, step: GRUStep, dh: np.ndarray, mistake: str
) -> dict[str, np.ndarray]:
    """What a GRU step backward computes when it makes ``mistake`` (a key of GRU_STEP_MISTAKES).

    A deliberately broken step, used to recognise learners' mistakes. Never use it for
    training.
    """
    if mistake not in GRU_STEP_MISTAKES:
        raise ValueError(f"mistake: expected one of "
                         f"{', '.join(map(repr, GRU_STEP_MISTAKES))}, got {mistake!r}")
    u, r, n, h_prev = step.u, step.r, step.n, step.h_prev
    no_sigmoid = mistake == "sigmoid derivative missing"

    def sigmoid_slope(s: np.ndarray) -> np.ndarray | float:
        return 1.0 if no_sigmoid else s * (1.0 - s)

    def back(W: np.ndarray, v: np.ndarray) -> np.ndarray:
        return W @ v if mistake == "recurrent matrices not transposed" else W.T @ v

    swapped = mistake == "u_t and 1 - u_t swapped"
    keep, take = (1.0 - u, u) if swapped else (u, 1.0 - u)  # weights of h_{t-1} and n_t
    du = (n - h_prev) if swapped else (h_prev if mistake == "update gate gradient missing -n_t"
                                       else h_prev - n)
    da_u = dh * du * sigmoid_slope(u)
    n_slope = 1.0 if mistake == "tanh derivative of the candidate missing" else 1.0 - n**2
    da_n = dh * take * n_slope
    d_rh = back(params.W_hn, da_n)
    da_r = d_rh * (1.0 if mistake == "reset gate gradient missing h_{t-1}" else h_prev) \
        * sigmoid_slope(r)
    direct = 0.0 if mistake == "direct path dh * u_t missing" else dh * keep
    through_n = d_rh if mistake == "reset gate missing from the path through the candidate" \
        else d_rh * r
    gates = 0.0 if mistake == "paths through the gates missing" \
        else back(params.W_hu, da_u) + back(params.W_hr, da_r)
    return {"da_u": da_u, "da_r": da_r, "da_n": da_n, "dh_prev": direct + through_n + gates}


def gru_step_problem(seed: int = 223) -> tuple[GRUParams, GRUStep, np.ndarray]:
    """The small fixed problem the check uses: step t = 4 of a GRU with H = 5, one sequence.

    Random biases, inputs and h_0, so that the gates spread over (0, 1) and h_{t-1} differs
    from n_t: each mistake in GRU_STEP_MISTAKES then moves the answer by more than 10% (tested),
    far above the tolerance. Returns (params, step, dh) with float64 arrays of shape (5,).
    """
    rng = np.random.default_rng(seed)
    params = init_gru(3, 5, 2, seed=seed)
    for name in ("b_u", "b_r", "b_n"):
        setattr(params, name, rng.normal(0.0, 0.7, size=5))
    xs, h0 = rng.normal(0.0, 1.5, size=(4, 3)), rng.normal(0.0, 0.8, size=5)
    cache = gru_forward(params, xs, h0)
    step = GRUStep(u=cache.u[3], r=cache.r[3], n=cache.n[3], h_prev=cache.h[3])
    return params, step, rng.normal(size=5)


def check_gru_step_backward(
    backward: Callable[[GRUParams, GRUStep, np.ndarray], Mapping[str, object]],
) -> CheckResult:
    """Check a hand-written GRU step backward: ``backward(params, step, dh)`` -> dict.

    params is a GRUParams (the recurrent matrices are params.W_hu, params.W_hr, params.W_hn);
    step has the attributes u, r, n (the gates of step t) and h_prev (h_{t-1}); dh is dL/dh_t.
    The function must return {"da_u", "da_r", "da_n", "dh_prev"}: the gradients at the three
    pre-activations and what step t sends back to h_{t-1}. They are compared with
    bptt_core.cells.gru_backward on a one-step cache. Returns a CheckResult; print or assert it.
    """
    params, step, dh = gru_step_problem()
    mistakes = {m: (mistaken_gru_step_backward(params, step, dh, m), hint)
                for m, hint in GRU_STEP_MISTAKES.items()}
    return run_check(backward, (params, step, dh), gru_step_reference(params, step, dh),
                     mistakes)
