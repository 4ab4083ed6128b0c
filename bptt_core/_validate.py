"""Input checks shared by the engine: every message names the argument, what was expected and
what came. Nothing here broadcasts, clips or converts silently (integers become float64,
nothing else changes)."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np


def as_float_array(name: str, value: object) -> np.ndarray:
    """`value` as a float64 array, or a ValueError naming `name`.

    Integers and lower-precision floats become float64; booleans, complex numbers, strings and
    other objects are refused rather than converted.
    """
    if isinstance(value, np.ndarray) and value.dtype == np.float64:
        return value
    try:
        raw = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name}: expected an array of real numbers, got "
                         f"{type(value).__name__} ({exc})") from None
    if raw.dtype.kind not in "iuf":
        raise ValueError(f"{name}: expected an array of real numbers (int or float), got "
                         f"dtype {raw.dtype} from {type(value).__name__}")
    return raw.astype(np.float64)


def require_nonempty(name: str, array: np.ndarray, meaning: str) -> None:
    """Raise if any axis of `array` has length 0; `meaning` names the axes."""
    if 0 in array.shape:
        raise ValueError(f"{name}: expected every axis of {meaning} to be at least 1, "
                         f"got shape {array.shape}")


def require_ndim(name: str, array: np.ndarray, allowed: Iterable[int], meaning: str) -> None:
    """Raise unless `array.ndim` is one of `allowed`; `meaning` spells out the shapes."""
    allowed = tuple(allowed)
    if array.ndim not in allowed:
        raise ValueError(
            f"{name}: expected {meaning} ({' or '.join(f'{n}-D' for n in allowed)}), "
            f"got a {array.ndim}-D array of shape {array.shape}"
        )


def require_shape(name: str, array: np.ndarray, expected: tuple[int, ...], meaning: str) -> None:
    """Raise unless `array.shape == expected`; `meaning` names the axes, e.g. '(T, B, H)'."""
    if array.shape != tuple(expected):
        raise ValueError(
            f"{name}: expected shape {meaning} = {tuple(expected)}, got {array.shape}"
        )


def require_finite(name: str, array: np.ndarray) -> None:
    """Raise if `array` holds NaN or ±inf, saying how many and where the first one is."""
    # the fast path: NaN makes min and max NaN, and an inf is the min or the max
    if array.size == 0 or (math.isfinite(array.min()) and math.isfinite(array.max())):
        return
    bad = ~np.isfinite(array)
    if bad.any():
        first = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(
            f"{name}: expected finite numbers, got {int(bad.sum())} NaN/inf value(s), "
            f"the first at index {first} ({array[first]})"
        )


def require_choice(name: str, value: object, choices: Iterable[str]) -> str:
    """Raise unless `value` is one of `choices`, listing them."""
    choices = tuple(choices)
    if value not in choices:
        raise ValueError(f"{name}: expected one of {', '.join(map(repr, choices))}, got {value!r}")
    return value  # type: ignore[return-value]


def coerce_params(params: object, names: Iterable[str]) -> None:
    """Check each named array of a parameter dataclass and store it back as float64.

    Names starting with "b_" are vectors, the others matrices; none may have an empty axis.
    Used by every parameter class (RNNParams, LSTMParams, GRUParams) before its shape checks.
    """
    for name in names:
        value = as_float_array(name, getattr(params, name))
        vector = name.startswith("b_")
        require_ndim(name, value, (1,) if vector else (2,), "a vector" if vector else "a matrix")
        require_nonempty(name, value, "(H,) or (O,)" if vector else "the matrix")
        if value is not getattr(params, name):
            setattr(params, name, value)
