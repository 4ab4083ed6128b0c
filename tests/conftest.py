"""Shared fixtures: small random problems with fixed seeds."""

from __future__ import annotations

import numpy as np
import pytest
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


def fourth_order_gradient(f, x, eps=1e-3):
    """df/dx by the five-point stencil [8 (f(+e) - f(-e)) - (f(+2e) - f(-2e))] / (12 e).

    Gated cells have gradient entries as small as 1e-5 next to a loss of order 1. Plain
    central differences (bc.gradient_check, eps = 1e-5) carry a rounding error near
    1e-16 / 1e-5 = 1e-11 there, 1e-6 relative; this stencil's truncation error is O(eps^4)
    and its rounding error near 1e-13, so the relative error stays below 1e-7 everywhere.
    """
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        values = {}
        for k in (2, 1, -1, -2):
            x[i] = old + k * eps
            values[k] = f(x)
        x[i] = old
        grad[i] = (8.0 * (values[1] - values[-1]) - (values[2] - values[-2])) / (12.0 * eps)
    return grad


def gradient_errors(params, xs, targets, h0, **settings):
    """Error of every gradient of loss_and_grads against fourth_order_gradient.

    ||g - n|| / max(||g||, ||n||, floor): the relative error, except for a gradient smaller
    than floor = max(1e-4 G, 1e-5 |L|), with G the largest gradient norm of any parameter and
    L the loss. Gated cells can give such tiny gradients (a reset or forget gate of one unit on
    one step, a saturated softmax: 1e-9 next to a loss of order 1), and no finite difference of
    L in float64 resolves them to 1e-7 of themselves: its rounding error is near 1e-13 |L|. They
    are held to an absolute error of 1e-7 floor instead, still far below what a wrong factor
    produces.
    """
    L, grads = bc.loss_and_grads(params, xs, targets, h0=h0, **settings)
    numeric = {}
    for name, value in params.items():
        def loss(v, name=name):
            return bc.loss_and_grads(params.replace(**{name: v}), xs, targets, h0=h0,
                                     **settings)[0]
        numeric[name] = fourth_order_gradient(loss, value.copy())
    numeric["h0"] = fourth_order_gradient(
        lambda v: bc.loss_and_grads(params, xs, targets, h0=v, **settings)[0], h0.copy())
    G = max(np.linalg.norm(grads[name]) for name, _ in params.items())
    floor = max(1e-4 * G, 1e-5 * abs(L), 1e-300)
    return {name: float(np.linalg.norm(grads[name] - n)
                        / max(np.linalg.norm(grads[name]), np.linalg.norm(n), floor))
            for name, n in numeric.items()}


def assert_answers_far_apart(answers: dict, output_names, minimum: float = 0.1) -> None:
    """Each pair of answers (dicts of arrays, e.g. every named mistake and the correct one)
    differs by a relative error above ``minimum``, so that a check can tell them apart."""
    def flat(d):
        return np.concatenate([np.ravel(d[name]) for name in output_names])

    names = list(answers)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            assert bc.rel_error(flat(answers[names[a]]), flat(answers[names[b]])) > minimum, \
                (names[a], names[b])


@pytest.fixture(scope="session")
def browser():
    """The one headless Chromium of a test session (tests/test_site.py, tests/test_lab.py):
    Playwright's sync API allows one instance per thread, so the two share it."""
    from test_site import CHROMIUM_ARGS, chromium_path, unavailable

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright's Python package is not installed (pip install -r "
                    "requirements.txt)")
    executable = chromium_path()
    if executable is None:
        unavailable("no Chromium found: apt-get install chromium (or set BPTT_CHROMIUM)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=executable,
                                                  args=CHROMIUM_ARGS)
        except Exception as error:  # a browser that does not start is a missing browser
            unavailable(f"Chromium at {executable} does not start: {error}")
        yield chromium
        chromium.close()
