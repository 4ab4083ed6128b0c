"""Shared fixtures: small random problems with fixed seeds."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings

import bptt_core as bc

settings.register_profile(
    "book", deadline=None, max_examples=40, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("book")


def make_problem(seed, T, D, H, O, B=None, loss="mse"):
    """(params, xs, targets, h0) with non-zero biases and h0, so that every gradient is tested.

    B=None gives one sequence (T, D); an integer gives a batch (T, B, D).
    """
    rng = np.random.default_rng(seed)
    params = bc.init_rnn(D, H, O, seed=seed)
    params.b_h = rng.normal(0.0, 0.3, size=H)
    params.b_o = rng.normal(0.0, 0.3, size=O)
    batch = () if B is None else (B,)
    xs = rng.normal(size=(T, *batch, D))
    h0 = rng.normal(0.0, 0.5, size=(*batch, H))
    if loss == "mse":
        targets = rng.normal(size=(T, *batch, O))
    else:
        targets = rng.integers(0, O, size=(T, *batch))
    return params, xs, targets, h0
