"""Gradient checking by central differences (chapter 1 onwards: every chapter's proof)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._validate import as_float_array
from .losses import loss_and_grads
from .rnn import RNNParams, check_inputs


def numerical_gradient(
    f: Callable[[np.ndarray], float], x: np.ndarray, eps: float = 1e-5
) -> np.ndarray:
    """df/dx by central differences: (f(x + eps e_i) - f(x - eps e_i)) / (2 eps) for each i.

    ``f`` must compute its value from the array it is given. ``x`` (any shape, float64) is
    nudged in place one entry at a time and every entry is put back exactly, even if ``f``
    raises. Returns an array shaped like x.
    """
    if not isinstance(x, np.ndarray) or x.dtype != np.float64:
        raise ValueError(
            f"x: expected a float64 numpy array (it is nudged in place), got "
            f"{type(x).__name__} of dtype {getattr(x, 'dtype', None)}"
        )
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps: expected a finite number > 0, got {eps!r}")
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        try:
            x[i] = old + eps
            f_plus = f(x)
            x[i] = old - eps
            f_minus = f(x)
        finally:
            x[i] = old
        grad[i] = (f_plus - f_minus) / (2.0 * eps)
    return grad


def rel_error(a: object, b: object) -> float:
    """||a - b|| / max(||a||, ||b||): 0 when equal, about 1 when unrelated; 0 if both are 0.

    NaN or inf in either array gives inf, so that ``rel_error(...) < tol`` fails for them.
    """
    a, b = as_float_array("a", a), as_float_array("b", b)
    if a.shape != b.shape:
        raise ValueError(f"b: expected the shape of a, {a.shape}, got {b.shape}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        return float("inf")
    scale = max(np.linalg.norm(a), np.linalg.norm(b))
    return 0.0 if scale == 0.0 else float(np.linalg.norm(a - b) / scale)


def gradient_check(
    params: RNNParams,
    xs: object,
    targets: object,
    *,
    loss: str = "mse",
    output: str = "identity",
    h0: object = None,
    activation: str = "tanh",
    eps: float = 1e-5,
    grads_fn: Callable[..., tuple[float, dict[str, np.ndarray]]] = loss_and_grads,
) -> dict[str, float]:
    """rel_error between ``grads_fn``'s gradients and central differences of the loss.

    ``grads_fn`` defaults to loss_and_grads; pass your own implementation (same signature)
    to check it. The numerical side always differentiates loss_and_grads' loss.
    Returns {"W_xh": err, ..., "b_o": err, "h0": err}.
    """
    xs, h0 = check_inputs(params, xs, h0)
    settings = dict(loss=loss, output=output)
    if activation != "tanh":  # passed on only when chosen, so older grads_fn keep working
        settings["activation"] = activation
    _, grads = grads_fn(params, xs, targets, h0=h0, **settings)
    names = [name for name, _ in params.items()] + ["h0"]
    for name in names:
        expected = h0.shape if name == "h0" else getattr(params, name).shape
        if name not in grads or np.shape(grads[name]) != expected:
            got = np.shape(grads[name]) if name in grads else "nothing"
            raise ValueError(f"grads_fn: expected grads[{name!r}] of shape {expected}, "
                             f"got {got}")

    def loss_with(name: str) -> Callable[[np.ndarray], float]:
        if name == "h0":
            return lambda value: loss_and_grads(params, xs, targets, h0=value, **settings)[0]
        return lambda value: loss_and_grads(
            params.replace(**{name: value}), xs, targets, h0=h0, **settings
        )[0]

    errors = {}
    for name in names:
        probe = (h0 if name == "h0" else getattr(params, name)).copy()
        errors[name] = rel_error(grads[name], numerical_gradient(loss_with(name), probe, eps))
    return errors
