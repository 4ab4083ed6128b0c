"""The adding problem: two marked values in the first half, target 0.5 + (X_1 + X_2) / 4."""

from __future__ import annotations

import numpy as np
import pytest

from bptt_core.tasks import ADDING_BASELINE, adding_problem


def test_shapes_values_and_markers():
    xs, targets = adding_problem(500, 12, seed=0)
    assert xs.shape == (12, 500, 2) and targets.shape == (500, 1)
    values, markers = xs[..., 0], xs[..., 1]
    assert np.all((values >= -1.0) & (values < 1.0))
    assert set(np.unique(markers)) == {0.0, 1.0}
    assert np.all(markers.sum(axis=0) == 2)  # exactly two marked steps per sequence
    # exact by construction: zeros written as such
    assert np.all(markers[6:] == 0.0)  # both in the first half, steps 1..T // 2
    # every pair of steps in the first half occurs: the positions are not fixed
    assert np.all(markers[:6].sum(axis=1) > 0)


def test_the_target_is_the_scaled_sum_of_the_marked_values():
    xs, targets = adding_problem(50, 9, seed=1)
    for n in range(50):
        marked = np.flatnonzero(xs[:, n, 1])
        X_1, X_2 = xs[marked, n, 0]
        assert abs(targets[n, 0] - (0.5 + (X_1 + X_2) / 4.0)) < 1e-15
        assert marked.max() < 9 // 2


def test_seeded_and_different_seeds_differ():
    a, b = adding_problem(20, 10, seed=3), adding_problem(20, 10, seed=3)
    # exact by construction: the same seeded draw
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    # exact by construction: another seed's draw
    assert not np.array_equal(a[0], adding_problem(20, 10, seed=4)[0])


def test_always_answering_one_half_scores_one_twenty_fourth():
    _, targets = adding_problem(200_000, 4, seed=5)
    mse = np.mean((targets - 0.5) ** 2)
    # the standard error of this mean is about 0.05 / sqrt(200000) = 1.1e-4
    assert abs(mse - ADDING_BASELINE) < 5e-4
    assert ADDING_BASELINE == 1.0 / 24.0


def test_the_marked_values_are_uniform_and_the_targets_in_the_unit_interval():
    xs, targets = adding_problem(20_000, 6, seed=6)
    assert np.all((targets >= 0.0) & (targets <= 1.0))
    marked = xs[..., 0][xs[..., 1] == 1.0]
    assert abs(marked.mean()) < 0.02 and abs(marked.var() - 1.0 / 3.0) < 0.02


@pytest.mark.parametrize("args, name, fragment", [
    ((0, 10), "n_sequences", "got 0"),
    ((5, 3), "T", "got 3"),
    ((5, 10.0), "T", "10.0"),
    ((True, 10), "n_sequences", "True"),
])
def test_bad_sizes_are_refused(args, name, fragment):
    with pytest.raises(ValueError) as error:
        adding_problem(*args, seed=0)
    assert str(error.value).startswith(f"{name}:") and fragment in str(error.value)
