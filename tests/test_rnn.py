"""The forward pass and the parameter container."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc


def test_forward_follows_the_recursion_step_by_step():
    params, xs, _, h0 = make_problem(3, T=4, D=2, H=3, O=2)
    cache = bc.rnn_forward(params, xs, h0, output="sigmoid")
    # exact by construction: h0 stored as is
    assert np.array_equal(cache.h[0], h0)
    h = h0
    for t in range(1, 5):
        h = np.tanh(params.W_xh @ xs[t - 1] + params.W_hh @ h + params.b_h)
        z = params.W_oh @ h + params.b_o
        assert bc.rel_error(cache.h[t], h) < 1e-14
        assert bc.rel_error(cache.y[t - 1], 1 / (1 + np.exp(-z))) < 1e-14


def test_default_h0_is_zero_and_shapes_follow_the_batch():
    params = bc.init_rnn(2, 3, 4, seed=0)
    cache = bc.rnn_forward(params, np.ones((5, 6, 2)))
    assert cache.h.shape == (6, 6, 3) and cache.y.shape == (5, 6, 4)
    # exact by construction: zeros stored as is
    assert np.all(cache.h[0] == 0.0)


def test_init_is_seeded_and_copies_are_independent():
    a, b = bc.init_rnn(2, 3, 1, seed=5), bc.init_rnn(2, 3, 1, seed=5)
    c = bc.init_rnn(2, 3, 1, seed=6)
    # exact by construction: the same seeded draw
    assert all(np.array_equal(v, getattr(b, n)) for n, v in a.items())
    # exact by construction: another seed's draw
    assert not np.array_equal(a.W_hh, c.W_hh)
    copy = a.copy()
    copy.W_hh += 1.0
    # exact by construction: copies
    assert np.array_equal(a.W_hh, b.W_hh)
    assert a.W_hh.dtype == np.float64 and a.sizes == (2, 3, 1)


def test_integer_parameters_become_float64():
    params = bc.RNNParams(W_xh=[[1, 0]], W_hh=[[0]], W_oh=[[1]], b_h=[0], b_o=[0])
    assert all(value.dtype == np.float64 for _, value in params.items())


def test_recurrent_initialisations():
    orthogonal = bc.init_rnn(2, 5, 1, seed=3, scale=0.9, recurrent="orthogonal")
    assert np.allclose(orthogonal.W_hh.T @ orthogonal.W_hh, 0.81 * np.eye(5), atol=1e-14)
    assert np.allclose(np.linalg.svd(orthogonal.W_hh, compute_uv=False), 0.9)
    identity = bc.init_rnn(2, 5, 1, seed=3, recurrent="identity")
    # exact by construction: scale * I with scale 1
    assert np.array_equal(identity.W_hh, np.eye(5))
    gaussian = bc.init_rnn(2, 5, 1, seed=3, scale=0.9)
    assert not np.allclose(gaussian.W_hh.T @ gaussian.W_hh, 0.81 * np.eye(5))
    # the input and output weights do not depend on the choice for W_hh
    # exact by construction: the same seeded draws
    assert np.array_equal(orthogonal.W_xh, gaussian.W_xh)
    # exact by construction: the same seeded draws
    assert np.array_equal(orthogonal.W_oh, gaussian.W_oh)


def test_recurrent_scale_scales_W_hh_alone():
    base = bc.init_rnn(2, 5, 3, seed=4)
    scaled = bc.init_rnn(2, 5, 3, seed=4, recurrent_scale=1.7)
    # the same draw: W_xh and W_oh are the very same numbers (no arithmetic differs), and
    # W_hh is the draw for scale 1 times 1.7 up to rounding
    # exact by construction: the same seeded draws
    assert np.array_equal(scaled.W_xh, base.W_xh) and np.array_equal(scaled.W_oh, base.W_oh)
    assert bc.rel_error(scaled.W_hh, 1.7 * base.W_hh) < 1e-15
    # with scale and recurrent_scale both set, W_hh follows recurrent_scale alone
    both = bc.init_rnn(2, 5, 3, seed=4, scale=0.5, recurrent_scale=1.7)
    assert bc.rel_error(both.W_hh, scaled.W_hh) < 1e-15
    assert bc.rel_error(both.W_xh, 0.5 * base.W_xh) < 1e-15
    ortho = bc.init_rnn(2, 5, 3, seed=4, scale=0.5, recurrent="orthogonal", recurrent_scale=1.2)
    assert np.allclose(np.linalg.svd(ortho.W_hh, compute_uv=False), 1.2, rtol=1e-13)
    for bad in (-1.0, float("nan"), True, "1"):
        with pytest.raises(ValueError, match="recurrent_scale"):
            bc.init_rnn(2, 5, 3, seed=4, recurrent_scale=bad)
