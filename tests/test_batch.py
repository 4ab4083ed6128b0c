"""A batch is B independent sequences: its loss and gradients combine theirs."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc


@pytest.mark.parametrize("loss", ["mse", "cross_entropy"])
def test_batch_gradient_is_the_mean_of_the_sequences_gradients(loss):
    B = 4
    params, xs, targets, h0 = make_problem(11, T=5, D=3, H=4, O=3, B=B, loss=loss)
    batch_loss, batch_grads = bc.loss_and_grads(params, xs, targets, loss=loss, h0=h0)
    # both losses average over the sequences (mse: over every element, which is the same
    # thing when all sequences have T steps), so the batch is the mean of B single runs
    singles = [bc.loss_and_grads(params, xs[:, b], targets[:, b], loss=loss, h0=h0[b])
               for b in range(B)]
    assert abs(batch_loss - np.mean([L for L, _ in singles])) < 1e-14
    for name in bc.PARAM_NAMES:
        mean = np.mean([grads[name] for _, grads in singles], axis=0)
        assert bc.rel_error(batch_grads[name], mean) < 1e-12, name
    for b, (_, grads) in enumerate(singles):  # h0 is per sequence: no mixing across the batch
        assert bc.rel_error(batch_grads["h0"][b], grads["h0"] / B) < 1e-12


def test_batch_of_one_equals_one_sequence():
    params, xs, targets, h0 = make_problem(12, T=4, D=2, H=3, O=2)
    L1, g1 = bc.loss_and_grads(params, xs, targets, h0=h0)
    LB, gB = bc.loss_and_grads(params, xs[:, None], targets[:, None], h0=h0[None])
    assert L1 == pytest.approx(LB, rel=1e-12)  # one sequence vs a batch: other BLAS calls
    for name in bc.PARAM_NAMES:
        assert bc.rel_error(g1[name], gB[name]) < 1e-14
