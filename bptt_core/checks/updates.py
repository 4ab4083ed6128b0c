"""Self-checks for hand-written updates (chapter 7): one SGD step and one Adam step on one array.

The learner's functions work on a single parameter array, the way the update rules are written:

    sgd_update(theta, g, lr) -> theta_new
    adam_update(theta, g, m, v, t, lr, beta1, beta2, eps) -> (theta_new, m_new, v_new)

where t is the number of the step being taken, counted from 1 (the first update has t = 1),
and m, v are the moments left by step t - 1.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._core import CheckResult, call_learner, verdict

ADAM_OUTPUTS = ("theta_new", "m_new", "v_new")

SGD_MISTAKES: dict[str, str] = {
    "sign flipped": (
        "gradient descent moves against the gradient: theta - lr * g, not theta + lr * g "
        "(the gradient points uphill)"
    ),
    "learning rate forgotten": (
        "scale the gradient by the learning rate: theta - lr * g, not theta - g"
    ),
    "step returned instead of the new parameters": (
        "return the updated parameter theta - lr * g, not only the change -lr * g"
    ),
}

ADAM_MISTAKES: dict[str, str] = {
    "no bias correction": (
        "divide the moments by (1 - beta^t) before using them: m_hat = m / (1 - beta1**t), "
        "v_hat = v / (1 - beta2**t); m and v start at 0 and are too small in the first steps"
    ),
    "t missing from the bias correction": (
        "the correction uses the step number as a power: 1 - beta1**t and 1 - beta2**t, "
        "not 1 - beta1 and 1 - beta2"
    ),
    "step count off by one (t - 1)": (
        "t is already the number of this step (the first update has t = 1): use "
        "1 - beta**t, not 1 - beta**(t - 1)"
    ),
    "step count off by one (t + 1)": (
        "t is already the number of this step (the first update has t = 1): do not add 1 "
        "to it; use 1 - beta**t"
    ),
    "eps inside the square root": (
        "eps is added after the square root: m_hat / (sqrt(v_hat) + eps), "
        "not m_hat / sqrt(v_hat + eps)"
    ),
    "v accumulates g instead of g^2": (
        "the second moment is a running mean of the squared gradient: "
        "v = beta2 * v + (1 - beta2) * g**2"
    ),
    "beta and 1 - beta swapped": (
        "the old moment keeps the weight beta and the new gradient gets 1 - beta: "
        "m = beta1 * m + (1 - beta1) * g (likewise v)"
    ),
    "bias-corrected moments returned": (
        "return the running moments m and v themselves; m_hat and v_hat are only used for "
        "this step's update (storing them corrects the bias again at every step)"
    ),
    "sign flipped": (
        "Adam steps against the (averaged) gradient: theta - lr * m_hat / (sqrt(v_hat) + eps), "
        "not theta + ..."
    ),
}


# --- the fixed problems ----------------------------------------------------------------------


def sgd_problem(seed: int = 7) -> tuple[np.ndarray, np.ndarray, float]:
    """(theta (3, 4), g (3, 4), lr = 0.3): lr far from 1, so that forgetting it shows."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(3, 4)), rng.normal(size=(3, 4)), 0.3


def adam_problem(seed: int = 7) -> tuple[np.ndarray, ...]:
    """theta (3, 4), g, m, v at step t = 3 with lr = 0.05, beta1 = 0.9, beta2 = 0.999, eps = 1e-3.

    The columns hold gradients of sizes 1e-3, 1e-2, 0.1 and 1, and m, v are what two earlier
    steps with larger gradients leave. t = 3 makes every bias-correction mistake visible;
    eps is comparable to the smallest sqrt(v_hat), so that where it sits matters. Negative
    gradients sit only in the last column, where v is large enough to stay positive even when
    it wrongly accumulates g, so no mistake produces NaN.
    Returns (theta, g, m, v, t, lr, beta1, beta2, eps).
    """
    rng = np.random.default_rng(seed)
    beta1, beta2 = 0.9, 0.999
    scale = np.array([1e-3, 1e-2, 0.1, 1.0])  # gradients of very different sizes per column
    g_1, g_2 = (scale * (1.0 + rng.random((3, 4))) for _ in range(2))  # steps 1 and 2
    sign = np.where(np.arange(4) == 3, rng.choice([-1.0, 1.0], (3, 4)), 1.0)
    g = sign * scale * (0.2 + 0.5 * rng.random((3, 4)))  # step 3: smaller gradients
    m = beta1 * (1 - beta1) * g_1 + (1 - beta1) * g_2
    v = beta2 * (1 - beta2) * g_1**2 + (1 - beta2) * g_2**2
    theta = 0.1 * rng.normal(size=(3, 4))
    return theta, g, m, v, 3, 0.05, beta1, beta2, 1e-3


# --- what each mistake computes ------------------------------------------------------------


def mistaken_sgd_update(theta: np.ndarray, g: np.ndarray, lr: float,
                        mistake: str | None = None) -> np.ndarray:
    """theta - lr g, or what a learner who makes ``mistake`` (a key of SGD_MISTAKES) returns."""
    if mistake is not None and mistake not in SGD_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, SGD_MISTAKES))}, "
                         f"got {mistake!r}")
    if mistake == "sign flipped":
        return theta + lr * g
    if mistake == "learning rate forgotten":
        return theta - g
    if mistake == "step returned instead of the new parameters":
        return -lr * g
    return theta - lr * g


def mistaken_adam_update(
    theta: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float,
    beta1: float, beta2: float, eps: float, mistake: str | None = None,
) -> dict[str, np.ndarray]:
    """One Adam step on one array, right (mistake None) or with ``mistake`` (ADAM_MISTAKES).

    m = beta1 m + (1 - beta1) g, v = beta2 v + (1 - beta2) g^2, m_hat = m / (1 - beta1^t),
    v_hat = v / (1 - beta2^t), theta_new = theta - lr m_hat / (sqrt(v_hat) + eps).
    Returns {"theta_new", "m_new", "v_new"}. A deliberately breakable twin of adam_step, used
    to recognise learners' mistakes; never use it for training.
    """
    if mistake is not None and mistake not in ADAM_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, ADAM_MISTAKES))}, "
                         f"got {mistake!r}")
    if mistake == "beta and 1 - beta swapped":
        m_new = (1 - beta1) * m + beta1 * g
        v_new = (1 - beta2) * v + beta2 * g**2
    else:
        m_new = beta1 * m + (1 - beta1) * g
        g_v = g if mistake == "v accumulates g instead of g^2" else g**2
        v_new = beta2 * v + (1 - beta2) * g_v
    power = {"t missing from the bias correction": 1, "step count off by one (t - 1)": t - 1,
             "step count off by one (t + 1)": t + 1}.get(mistake, t)
    if mistake == "no bias correction":
        m_hat, v_hat = m_new, v_new
    else:
        m_hat, v_hat = m_new / (1 - beta1**power), v_new / (1 - beta2**power)
    if mistake == "eps inside the square root":
        step = lr * m_hat / np.sqrt(v_hat + eps)
    else:
        step = lr * m_hat / (np.sqrt(v_hat) + eps)
    theta_new = theta + step if mistake == "sign flipped" else theta - step
    if mistake == "bias-corrected moments returned":
        m_new, v_new = m_hat, v_hat
    return {"theta_new": theta_new, "m_new": m_new, "v_new": v_new}


# --- the checks ------------------------------------------------------------------------------



def check_sgd_update(sgd_update: Callable[[np.ndarray, np.ndarray, float], object]
                     ) -> CheckResult:
    """Check ``sgd_update(theta, g, lr)`` -> theta - lr g on one array (chapter 7).

    Returns a CheckResult: truthy when correct; print it to read the hint.
    """
    args = sgd_problem()
    got, failed = call_learner(sgd_update, args)
    if failed is not None:
        return failed
    mistakes = {name: (mistaken_sgd_update(*args, mistake=name), hint)
                for name, hint in SGD_MISTAKES.items()}
    return verdict(got, mistaken_sgd_update(*args), mistakes)


def check_adam_update(adam_update: Callable[..., object]) -> CheckResult:
    """Check ``adam_update(theta, g, m, v, t, lr, beta1, beta2, eps)`` -> (theta, m, v) new.

    t is the number of the step being taken (the first has t = 1); the fixed problem is step
    t = 3, so that bias-correction mistakes show. Returns a CheckResult: truthy when
    correct; print it to read the hint. Chapter 7.
    """
    args = adam_problem()
    got, failed = call_learner(adam_update, args)
    if failed is not None:
        return failed
    if not (isinstance(got, (tuple, list)) and len(got) == 3):
        kind = f"a {type(got).__name__} of length {len(got)}" if isinstance(
            got, (tuple, list)) else type(got).__name__
        return CheckResult(False, f"✗ expected a tuple (theta_new, m_new, v_new), got {kind}")
    mistakes = {name: (mistaken_adam_update(*args, mistake=name), hint)
                for name, hint in ADAM_MISTAKES.items()}
    return verdict(dict(zip(ADAM_OUTPUTS, got)), mistaken_adam_update(*args), mistakes)
