"""Updates: gradient descent, Adam, mini-batches and a small training loop (chapter 7).

Every optimiser here is a pure function of (params, grads[, state]) that returns new values and
changes nothing it is given. The gradients come from ``loss_and_grads`` untouched: nothing is
clipped, averaged or rescaled on the way, so they stay the exact gradient of the loss it
reports. For every parameter theta in (W_xh, W_hh, W_oh, b_h, b_o):

    gradient descent   theta <- theta - lr dL/dtheta
    Adam, step t       g_t = dL/dtheta at the current theta
                       m_t = beta1 m_{t-1} + (1 - beta1) g_t,    m_hat = m_t / (1 - beta1^t)
                       v_t = beta2 v_{t-1} + (1 - beta2) g_t^2,  v_hat = v_t / (1 - beta2^t)
                       theta <- theta - lr m_hat / (sqrt(v_hat) + eps)

``grads["h0"]``, which ``loss_and_grads`` also returns, is ignored: h0 is not a parameter here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array, require_choice, require_finite, require_ndim
from .clipping import clip_grad_norm
from .losses import loss_and_grads
from .rnn import RNNParams

OPTIMIZERS = ("sgd", "adam")


# --- input checks -----------------------------------------------------------------------------


def _require_real(name: str, value: object, low: float, high: float, *, closed_low: bool,
                  what: str) -> float:
    """`value` as a float in the interval (low, high) / [low, high), or a ValueError naming it."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    number = float(value) if ok else np.nan
    inside = (number >= low if closed_low else number > low) and number < high
    if not (ok and np.isfinite(number) and inside):
        raise ValueError(f"{name}: expected {what}, got {value!r}")
    return number


def _require_lr(lr: object) -> float:
    return _require_real("lr", lr, 0.0, np.inf, closed_low=False, what="a finite number > 0")


def _require_positive_int(name: str, value: object, high: int | None = None) -> int:
    ok = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not ok or value < 1 or (high is not None and value > high):
        bound = "an integer >= 1" if high is None else f"an integer in [1, {high}]"
        raise ValueError(f"{name}: expected {bound}, got {value!r}")
    return int(value)


def _check_arrays(name: str, arrays: object, params: RNNParams) -> dict[str, np.ndarray]:
    """{parameter name: float64 array} shaped like params, all finite, or a ValueError."""
    names = [key for key, _ in params.items()]
    if not isinstance(arrays, Mapping):
        raise ValueError(f"{name}: expected a dict with keys {', '.join(names)}, "
                         f"got {type(arrays).__name__}")
    missing = [key for key in names if key not in arrays]
    if missing:
        raise ValueError(f"{name}: expected a dict with keys {', '.join(names)}, "
                         f"got one without {', '.join(missing)}")
    checked = {}
    for key, value in params.items():
        label = f"{name}[{key!r}]"
        array = as_float_array(label, arrays[key])
        if array.shape != value.shape:
            raise ValueError(f"{label}: expected the shape of {key}, {value.shape}, "
                             f"got {array.shape}")
        require_finite(label, array)
        checked[key] = array
    return checked


# --- gradient descent -------------------------------------------------------------------------


def sgd_step(params: RNNParams, grads: Mapping[str, object], lr: float) -> RNNParams:
    """theta <- theta - lr dL/dtheta for theta in W_xh, W_hh, W_oh, b_h, b_o.

    params: RNNParams; grads: {name: dL/dtheta} shaped like each parameter (extra keys such as
    "h0" are ignored); lr > 0, the learning rate (alpha in the book). Returns new RNNParams;
    params and grads are left unchanged. Chapter 7.
    """
    lr = _require_lr(lr)
    grads = _check_arrays("grads", grads, params)
    return params.replace(**{name: theta - lr * grads[name] for name, theta in params.items()})


# --- Adam -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AdamState:
    """Adam's memory between steps, passed in and returned explicitly (no hidden counters).

    m, v: {parameter name: array shaped like the parameter}, the running means of g and g^2;
    t: the number of steps taken so far (0 before the first). Chapter 7.
    """

    m: dict[str, np.ndarray]
    v: dict[str, np.ndarray]
    t: int


def adam_init(params: RNNParams) -> AdamState:
    """m_0 = 0, v_0 = 0, t = 0 for every parameter: the state before Adam's first step.

    Returns an AdamState whose arrays are shaped like the parameters. Chapter 7.
    """
    zeros = {name: np.zeros_like(value) for name, value in params.items()}
    return AdamState(m=zeros, v={name: z.copy() for name, z in zeros.items()}, t=0)


def adam_step(
    params: RNNParams,
    grads: Mapping[str, object],
    state: AdamState,
    lr: float,
    beta1: float = 0.9,
    beta2: float = 0.999,
    eps: float = 1e-8,
) -> tuple[RNNParams, AdamState]:
    """theta <- theta - lr m_hat / (sqrt(v_hat) + eps), Adam (Kingma and Ba, 2015).

    With t = state.t + 1 and g = dL/dtheta, for each parameter:
    m = beta1 m + (1 - beta1) g,  v = beta2 v + (1 - beta2) g^2,
    m_hat = m / (1 - beta1^t),    v_hat = v / (1 - beta2^t).
    params: RNNParams; grads: {name: dL/dtheta} shaped like each parameter ("h0" ignored);
    state: the AdamState of the previous step (adam_init before the first); lr > 0;
    0 <= beta1, beta2 < 1; eps > 0. Returns (new params, new state); nothing given is changed.
    Chapter 7.
    """
    lr = _require_lr(lr)
    beta1 = _require_real("beta1", beta1, 0.0, 1.0, closed_low=True, what="a number in [0, 1)")
    beta2 = _require_real("beta2", beta2, 0.0, 1.0, closed_low=True, what="a number in [0, 1)")
    eps = _require_real("eps", eps, 0.0, np.inf, closed_low=False, what="a finite number > 0")
    if not isinstance(state, AdamState):
        raise ValueError(f"state: expected an AdamState (from adam_init), "
                         f"got {type(state).__name__}")
    if not isinstance(state.t, (int, np.integer)) or isinstance(state.t, bool) or state.t < 0:
        raise ValueError(f"state: expected a step count t >= 0, got t = {state.t!r}")
    grads = _check_arrays("grads", grads, params)
    m_old = _check_arrays("state.m", state.m, params)
    v_old = _check_arrays("state.v", state.v, params)
    t = int(state.t) + 1
    new_params, m, v = {}, {}, {}
    for name, theta in params.items():
        g = grads[name]
        m[name] = beta1 * m_old[name] + (1.0 - beta1) * g  # running mean of g
        v[name] = beta2 * v_old[name] + (1.0 - beta2) * g**2  # running mean of g^2
        m_hat = m[name] / (1.0 - beta1**t)  # bias correction: m_0 = 0 pulls m towards 0
        v_hat = v[name] / (1.0 - beta2**t)
        new_params[name] = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return params.replace(**new_params), AdamState(m=m, v=v, t=t)


# --- mini-batches and training ----------------------------------------------------------------


def minibatches(n_sequences: int, batch_size: int, *, seed: object) -> list[np.ndarray]:
    """A random partition of the sequence indices 0..N-1 into mini-batches of batch_size.

    n_sequences N >= 1; 1 <= batch_size <= N; seed: anything np.random.default_rng accepts (a
    Generator is used, and advanced, as it is). Returns a list of ceil(N / batch_size) integer
    arrays; every index appears exactly once; only the last batch may be smaller. Chapter 7.
    """
    N = _require_positive_int("n_sequences", n_sequences)
    size = _require_positive_int("batch_size", batch_size, high=N)
    order = np.random.default_rng(seed).permutation(N)
    return [order[start:start + size] for start in range(0, N, size)]


def train(
    params: RNNParams,
    xs: object,
    targets: object,
    *,
    steps: int,
    lr: float,
    optimizer: str = "sgd",
    batch_size: int | None = None,
    seed: int,
    loss: str = "mse",
    output: str = "identity",
    activation: str = "tanh",
    max_norm: float | None = None,
) -> tuple[RNNParams, np.ndarray]:
    """``steps`` updates theta <- sgd_step or adam_step, each on the gradient of one mini-batch.

    xs (T, N, D): N sequences; targets (T, N, O) for "mse" or (T, N) classes for
    "cross_entropy"; batch_size: sequences per update, None for all N (full-batch gradient
    descent); mini-batches run through random partitions of the N sequences (minibatches),
    a fresh one per pass, drawn from ``seed``. h0 = 0 for every sequence. params may be
    RNNParams, LSTMParams or GRUParams; activation is passed to loss_and_grads (RNN only);
    max_norm, if given, clips each gradient with clip_grad_norm before the update (chapter 9).
    Returns (trained params, history (steps,)): history[k] is the loss of the mini-batch used
    by update k + 1, measured before that update. The params given are left unchanged.
    Chapter 7.
    """
    require_choice("optimizer", optimizer, OPTIMIZERS)
    if max_norm is not None:
        _require_real("max_norm", max_norm, 0.0, np.inf, closed_low=False,
                      what="a finite number > 0, or None for no clipping")
    steps = _require_positive_int("steps", steps)
    lr = _require_lr(lr)
    xs = as_float_array("xs", xs)
    require_ndim("xs", xs, (3,), "a batch of sequences (T, N, D)")
    T, N = xs.shape[:2]
    targets = np.asarray(targets)
    if targets.ndim < 2 or targets.shape[:2] != (T, N):
        raise ValueError(f"targets: expected shape (T, N, ...) with (T, N) = {(T, N)} from xs, "
                         f"got {targets.shape}")
    size = N if batch_size is None else _require_positive_int("batch_size", batch_size, high=N)
    rng = np.random.default_rng(seed)
    state = adam_init(params)
    history = np.empty(steps)
    batches: list[np.ndarray] = []
    for k in range(steps):
        if not batches:  # a new pass over the data: a new random partition
            batches = [np.arange(N)] if size == N else minibatches(N, size, seed=rng)
        idx = batches.pop(0)
        try:
            L, grads = loss_and_grads(params, xs[:, idx], targets[:, idx], loss=loss,
                                      output=output, activation=activation)
            if not np.isfinite(L):
                raise ValueError(f"loss: expected a finite number, got {L}")
            if max_norm is not None:
                grads, _ = clip_grad_norm(grads, max_norm)
            if optimizer == "sgd":
                params = sgd_step(params, grads, lr)
            else:
                params, state = adam_step(params, grads, state, lr)
        except ValueError as exc:
            if k == 0:  # nothing has been updated yet: the inputs themselves are wrong
                raise
            raise ValueError(f"lr: expected a learning rate that keeps training finite, got "
                             f"{lr!r}, which diverged at update {k + 1} of {steps} ({exc})"
                             ) from None
        history[k] = L
    return params, history
