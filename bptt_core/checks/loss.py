"""Self-check for chapter 2: the gradient of the mean squared error, dL/dy_t for every step."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..losses import mse_loss
from ._core import CheckResult, run_check

# The mistakes people make when they differentiate the MSE, and what to tell them.
MSE_GRADIENT_MISTAKES: dict[str, str] = {
    "wrong sign": (
        "the derivative of (y - d)^2 with respect to y is +2 (y - d): the gradient points "
        "from the target towards the prediction, dL/dy_t = (2/N)(y_t - d_t), not (2/N)(d_t - y_t)"
    ),
    "factor 2 missing": (
        "differentiating the square brings down a factor 2: dL/dy_t = (2/N)(y_t - d_t)"
    ),
    "divided by the number of steps": (
        "the mean runs over every element, so N = T*O for one sequence and T*B*O for a batch "
        "(y.size), not the number of steps T"
    ),
    "batch left out of N": (
        "in a batch the mean runs over the sequences too: N = T*B*O, which is y.size, "
        "not T*O"
    ),
    "no division by N": (
        "2 (y_t - d_t) is the gradient of the plain sum E = sum_t E_t; the mean "
        "L = E / N also divides the gradient by N = y.size"
    ),
    "summed over steps": (
        "y_t appears in one term of the loss only, so dL/dy_t depends on step t alone: "
        "(2/N)(y_t - d_t), one value per step and unit, with no sum over the steps"
    ),
    "the first article's formula": (
        "(2/n) sum_t (y - y_t) has the sign flipped and keeps the sum over steps; each step "
        "gets its own (2/N)(y_t - d_t)"
    ),
}
# Mistakes that only show on a batch (T, B, O): on one sequence they give the right answer.
BATCH_ONLY_MISTAKES = frozenset({"batch left out of N"})


def mistaken_mse_gradient(y: np.ndarray, target: np.ndarray, mistake: str) -> np.ndarray:
    """What dL/dy of the "mean" MSE comes out as when it makes ``mistake``.

    y, target (T, O) or (T, B, O); ``mistake`` a key of MSE_GRADIENT_MISTAKES. Returns an
    array shaped like y. Used to recognise learners' mistakes and in the tests; never for
    training.
    """
    if mistake not in MSE_GRADIENT_MISTAKES:
        raise ValueError(f"mistake: expected one of "
                         f"{', '.join(map(repr, MSE_GRADIENT_MISTAKES))}, got {mistake!r}")
    N, T = y.size, y.shape[0]
    diff = y - target  # y_t - d_t for every step (axis 0) and unit
    if mistake == "wrong sign":
        return -2.0 * diff / N
    if mistake == "factor 2 missing":
        return diff / N
    if mistake == "divided by the number of steps":
        return 2.0 * diff / T
    if mistake == "batch left out of N":
        return 2.0 * diff / (T * y.shape[-1])
    if mistake == "no division by N":
        return 2.0 * diff
    summed = np.broadcast_to(diff.sum(axis=0), y.shape)  # the same sum at every step
    if mistake == "summed over steps":
        return 2.0 * summed / N
    return -2.0 * summed / N  # the first article's: (2/n) sum_t (y - y_t)


def mse_check_problems(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """The fixed problems of check_mse_gradient: one sequence, then a batch.

    Returns [(y, target)] with shapes (T, O) = (4, 3), then (T, B, O) = (4, 2, 3). T and O
    are both above 1, so that N = T*O differs from T; the residuals do not sum to zero over
    the steps, so that summing over steps is visible.
    """
    rng = np.random.default_rng(seed)
    problems = []
    for shape in ((4, 3), (4, 2, 3)):
        target = rng.normal(size=shape)
        y = target + rng.normal(0.5, 1.0, size=shape)  # residuals with a non-zero mean
        problems.append((y, target))
    return problems


def check_mse_gradient(gradient: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> CheckResult:
    """Check ``gradient(y, target)`` -> dL/dy of L = (1/N) sum (y - target)^2, N = y.size.

    Expected: dL/dy_t = (2/N)(y_t - target_t), shaped like y. It is tried on one sequence
    (T, O) and then on a batch (T, B, O). Returns a CheckResult; print it or assert it.
    Chapter 2.
    """
    result = CheckResult(False, "✗ no problem was checked")
    for y, target in mse_check_problems():
        _, expected = mse_loss(y, target)
        mistakes = {name: (mistaken_mse_gradient(y, target, name), hint)
                    for name, hint in MSE_GRADIENT_MISTAKES.items()
                    if y.ndim == 3 or name not in BATCH_ONLY_MISTAKES}
        result = run_check(gradient, (y, target), expected, mistakes)
        if not result:
            shape = "one sequence (T, O)" if y.ndim == 2 else "a batch (T, B, O)"
            result.message = f"on {shape} = {y.shape}: {result.message}"
            return result
    return result
