"""Gradient clipping (chapter 9): shorten a gradient that is too long before an update uses it.

Clipping sits between the gradient and the update, never inside ``loss_and_grads``, so the
gradient that function reports stays the exact gradient of its loss:

    L, grads = loss_and_grads(params, xs, targets)    # the exact gradient g
    grads, norm = clip_grad_norm(grads, max_norm)     # g <- g min(1, tau / ||g||)
    params = sgd_step(params, grads, lr)

With g the gradients of all parameters laid end to end:

    global norm      ||g|| = sqrt( sum over parameters theta, sum over entries (dL/dtheta)^2 )
    norm clipping    g <- (tau / ||g||) g   if ||g|| > tau, else g unchanged
                     (Pascanu, Mikolov & Bengio 2013): one factor for every parameter, so the
                     direction of g is kept
    value clipping   g_i <- min(max(g_i, -c), c)   for every entry of every parameter

The parameters are every key of ``grads`` except the initial states "h0" (and the LSTM's
"c0"). The gradients with respect to the initial states, which ``loss_and_grads`` also
returns, belong to no parameter that an update changes (h0 and c0 are fixed): they are left
out of the norm and passed through unchanged, by both functions. Gradients holding NaN or inf
raise a ValueError naming the parameter: clipping never turns them into finite numbers.
Nothing given is changed; every returned array is new.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ._validate import as_float_array, require_finite

INITIAL_STATES = ("h0", "c0")  # reported by loss_and_grads, but h0 and c0 are not updated


def _require_positive(name: str, value: object) -> float:
    """`value` as a float, finite and > 0, or a ValueError naming `name`."""
    real = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    number = float(value) if real and abs(value) < 1e308 else np.nan  # 10**400 is not finite
    if not (np.isfinite(number) and number > 0):
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return number


def _check_grads(grads: object) -> dict[str, np.ndarray]:
    """{name: float64 array}, every one finite, with at least one parameter among them."""
    if not isinstance(grads, Mapping):
        raise ValueError(f"grads: expected a dict {{parameter name: gradient array}} as "
                         f"loss_and_grads returns, got {type(grads).__name__}")
    checked = {}
    for name, value in grads.items():
        label = f"grads[{name!r}]"
        array = as_float_array(label, value)
        try:
            require_finite(label, array)
        except ValueError as exc:
            raise ValueError(f"{exc}; clipping cannot make it finite (has the training "
                             f"diverged?)") from None
        checked[name] = array
    if all(name in INITIAL_STATES for name in checked):
        raise ValueError(f"grads: expected at least one parameter's gradient besides the "
                         f"initial states {INITIAL_STATES}, got keys {list(checked)}")
    return checked


def _norm(arrays: list[np.ndarray]) -> float:
    """sqrt of the sum of the squares of every entry of every array.

    Computed as m sqrt(sum (g / m)^2) with m the largest |entry|: the same number, but squaring
    an entry of 1e200 cannot overflow to inf (which would clip the gradient to zero).
    """
    m = max((float(np.max(np.abs(g))) for g in arrays if g.size), default=0.0)
    if m == 0.0:
        return 0.0
    return m * float(np.sqrt(sum(np.sum((g / m) ** 2) for g in arrays)))


def global_norm(grads: Mapping[str, object]) -> float:
    """||g|| = sqrt(sum_theta sum_i (dL/dtheta)_i^2) over every parameter (h0, c0 left out).

    grads: {name: dL/dtheta}, e.g. from loss_and_grads. Returns a float >= 0. Chapter 9.
    """
    grads = _check_grads(grads)
    norm = _norm([g for name, g in grads.items() if name not in INITIAL_STATES])
    if not np.isfinite(norm):
        raise ValueError(f"grads: expected a global norm that float64 can hold, got {norm} "
                         f"(entries near the largest float64)")
    return norm


def clip_grad_norm(
    grads: Mapping[str, object], max_norm: float
) -> tuple[dict[str, np.ndarray], float]:
    """g <- g min(1, max_norm / ||g||): rescale all parameters' gradients by one factor.

    grads: {name: dL/dtheta}, each any shape, e.g. from loss_and_grads; every key but "h0" and
    "c0" counts as a parameter. max_norm (tau): a finite number > 0.
    Returns (clipped, norm): clipped has the keys and shapes of grads, in new arrays; norm is
    ||g|| before clipping, over the parameters only. When norm <= max_norm the clipped arrays
    equal the given ones exactly; otherwise their global norm is max_norm and their direction
    is the gradient's. "h0" and "c0" are neither counted nor rescaled: they are copied.
    Raises a ValueError naming the parameter if a gradient holds NaN or inf. Chapter 9.
    """
    tau = _require_positive("max_norm", max_norm)
    grads = _check_grads(grads)
    norm = global_norm(grads)
    scale = tau / norm if norm > tau else 1.0  # clipping only ever shrinks
    clipped = {name: g.copy() if name in INITIAL_STATES else scale * g
               for name, g in grads.items()}
    return clipped, norm


def clip_grad_value(grads: Mapping[str, object], limit: float) -> dict[str, np.ndarray]:
    """g_i <- min(max(g_i, -limit), limit) for every entry of every parameter's gradient.

    grads: {name: dL/dtheta}, each any shape; every key but "h0" and "c0" counts as a
    parameter. limit (c): a finite number > 0. Returns a dict with the keys and shapes of
    grads, in new arrays; "h0" and "c0" are copied as they are. Each entry is clipped on its
    own, so the direction of the gradient changes as soon as one entry is clipped. Raises a
    ValueError naming the parameter if a gradient holds NaN or inf. Chapter 9.
    """
    c = _require_positive("limit", limit)
    grads = _check_grads(grads)
    return {name: g.copy() if name in INITIAL_STATES else np.clip(g, -c, c)
            for name, g in grads.items()}
