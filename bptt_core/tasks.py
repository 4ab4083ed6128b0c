"""The adding problem of Hochreiter & Schmidhuber (1997), a test of long memory (chapter 11).

Each step carries two inputs: a value drawn from U(-1, 1) and a marker, 1 at exactly two
steps of the sequence and 0 elsewhere. After the last step the network must report

    d = 0.5 + (X_1 + X_2) / 4,

where X_1 and X_2 are the two marked values: their sum, scaled into [0, 1]. Both marked steps
lie in the first half of the sequence, so the answer must be carried for at least T / 2 steps.
Always answering 0.5 scores the mean squared error Var(X_1 + X_2) / 16 = (2 / 3) / 16 = 1/24.
"""

from __future__ import annotations

import numpy as np

ADDING_BASELINE = 1.0 / 24.0  # MSE of always predicting 0.5: Var(X_1 + X_2) / 16


def adding_problem(n_sequences: int, T: int, *, seed: object) -> tuple[np.ndarray, np.ndarray]:
    """N sequences of the adding problem: d = 0.5 + (X_1 + X_2) / 4 from two marked values.

    n_sequences N >= 1; T >= 4 steps; seed: anything np.random.default_rng accepts.
    xs[t - 1, n] = (value, marker) of sequence n at step t: the values are U(-1, 1); the
    markers are 1 at two different steps drawn uniformly from 1..T // 2, and 0 elsewhere.
    Returns (xs (T, N, 2), targets (N, 1)): the target is read after the last step.
    Simplified from Hochreiter & Schmidhuber (1997), whose lengths vary between T and
    1.1 T, whose first mark falls among the first ten steps, and whose first and last steps
    carry a marker -1; here T is fixed, both marks are uniform over the first half and there
    is no begin or end marker. Chapter 11.
    """
    for name, value, low in (("n_sequences", n_sequences, 1), ("T", T, 4)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < low:
            raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    rng = np.random.default_rng(seed)
    N = int(n_sequences)
    values = rng.uniform(-1.0, 1.0, size=(T, N))
    # two different marked steps per sequence, both among the first T // 2
    marked = np.argsort(rng.random(size=(T // 2, N)), axis=0)[:2]  # (2, N), 0-based steps
    markers = np.zeros((T, N))
    markers[marked, np.arange(N)] = 1.0
    X_1, X_2 = values[marked[0], np.arange(N)], values[marked[1], np.arange(N)]
    xs = np.stack([values, markers], axis=-1)
    targets = (0.5 + (X_1 + X_2) / 4.0)[:, None]
    return xs, targets
