"""numerical_gradient and rel_error, the tools every proof uses."""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc


def test_numerical_gradient_of_a_known_function():
    x = np.array([[0.5, -1.0], [2.0, 0.25]])
    grad = bc.numerical_gradient(lambda v: np.sum(np.sin(v) * v), x)
    assert bc.rel_error(grad, np.cos(x) * x + np.sin(x)) < 1e-9


def test_numerical_gradient_restores_x_exactly_even_when_f_raises():
    x = np.array([0.1, 0.2, 0.3])
    original = x.copy()
    bc.numerical_gradient(lambda v: float(v @ v), x)
    # exact by construction: the array must be restored from a copy
    assert np.array_equal(x, original)
    calls = []

    def fails_on_second_call(v):
        calls.append(v.copy())
        if len(calls) == 2:
            raise RuntimeError("boom")
        return 0.0

    with pytest.raises(RuntimeError):
        bc.numerical_gradient(fails_on_second_call, x)
    # exact by construction: restored from a copy
    assert np.array_equal(x, original)
    # exact by construction: nudged by eps
    assert not np.array_equal(calls[0], original)  # f really saw the nudged array


def test_rel_error_scale():
    a = np.array([1.0, 2.0])
    # exact by construction: the same array
    assert bc.rel_error(a, a) == 0.0
    # exact by construction: zeros
    assert bc.rel_error(np.zeros(2), np.zeros(2)) == 0.0
    assert bc.rel_error(a, -a) == pytest.approx(2.0)
    assert bc.rel_error(a, a * (1 + 1e-9)) == pytest.approx(1e-9 / (1 + 1e-9), rel=1e-6)


def test_rel_error_of_non_finite_values_is_infinite():
    """A NaN gradient must fail every `rel_error(...) < tol` check (max() would skip a NaN)."""
    assert bc.rel_error(np.array([1.0, np.nan]), np.array([1.0, 2.0])) == np.inf
    assert bc.rel_error(np.array([np.inf]), np.array([np.inf])) == np.inf
