"""The vanilla RNN, forward and backward through time (chapters 1, 4, 5 and 6).

The book's equations, for steps t = 1..T:

    a_t = W_xh x_t + W_hh h_{t-1} + b_h        (hidden pre-activation)
    h_t = tanh(a_t)                             (or relu(a_t): chapter 12)
    z_t = W_oh h_t + b_o                        (output pre-activation)
    y_t = phi(z_t)                              (phi: identity, tanh, sigmoid or softmax)

Time convention, stated once for the whole package: arrays over steps are 0-based, so
``xs[t - 1]`` is x_t, ``a[t - 1]`` is a_t, ``y[t - 1]`` is y_t; hidden states are stored as
``h[0..T]`` with ``h[0] = h0``, so ``h[t]`` is h_t. The loops below run over the book's t.

Shapes use letters: T steps, B sequences in a batch, D inputs, H hidden units, O outputs. One
sequence is ``(T, D)``; a batch is ``(T, B, D)``; every function accepts both.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from ._validate import (
    as_float_array,
    coerce_params,
    require_choice,
    require_finite,
    require_ndim,
    require_nonempty,
    require_shape,
)

PARAM_NAMES = ("W_xh", "W_hh", "W_oh", "b_h", "b_o")


def mv(W: np.ndarray, v: np.ndarray) -> np.ndarray:
    """W v: the matrix W applied to the last axis of v (one vector, or a batch of them)."""
    return v @ W.T


def outer_sum(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """u v^T, summed over every leading axis u and v carry (steps, sequences of a batch)."""
    u, v = u.reshape(-1, u.shape[-1]), v.reshape(-1, v.shape[-1])  # (B, .) rows, or one row
    return u.T @ v


def batch_sum(u: np.ndarray) -> np.ndarray:
    """u, summed over every leading axis (steps, sequences of a batch): the bias gradients."""
    return u.reshape(-1, u.shape[-1]).sum(axis=0)


@dataclass
class RNNParams:
    """The five parameters of the vanilla RNN (notation chapter).

    W_xh (H, D), W_hh (H, H), W_oh (O, H), b_h (H,), b_o (O,). Arrays are float64; shapes are
    checked against each other when the parameters are made.
    """

    W_xh: np.ndarray
    W_hh: np.ndarray
    W_oh: np.ndarray
    b_h: np.ndarray
    b_o: np.ndarray

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check dtypes and shapes against each other (again, after any assignment).

        Integer arrays become float64; anything else that does not fit raises a ValueError
        naming the parameter. rnn_forward calls this, so ``params.W_hh = ...`` is checked too.
        """
        coerce_params(self, PARAM_NAMES)
        H, D = self.W_xh.shape
        O = self.W_oh.shape[0]
        require_shape("W_hh", self.W_hh, (H, H), "(H, H), H from W_xh")
        require_shape("W_oh", self.W_oh, (O, H), "(O, H), H from W_xh")
        require_shape("b_h", self.b_h, (H,), "(H,), H from W_xh")
        require_shape("b_o", self.b_o, (O,), "(O,), O from W_oh")

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(D, H, O): input, hidden and output sizes."""
        return self.W_xh.shape[1], self.W_xh.shape[0], self.W_oh.shape[0]

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) pairs in the book's order W_xh, W_hh, W_oh, b_h, b_o."""
        return ((name, getattr(self, name)) for name in PARAM_NAMES)

    def copy(self) -> RNNParams:
        """A deep copy: training one copy leaves the other as it was."""
        return RNNParams(**{name: value.copy() for name, value in self.items()})

    def replace(self, **arrays: np.ndarray) -> RNNParams:
        """A new RNNParams with some arrays swapped, e.g. ``params.replace(W_hh=W)``."""
        return dataclasses.replace(self, **arrays)

    def require_finite(self) -> None:
        """Raise a ValueError naming the first parameter that holds NaN or inf."""
        for name, value in self.items():
            require_finite(name, value)


def init_rnn(
    input_size: int,
    hidden_size: int,
    output_size: int,
    *,
    seed: int,
    scale: float = 1.0,
    recurrent: str = "gaussian",
    recurrent_scale: float | None = None,
) -> RNNParams:
    """Random RNN parameters: weights ~ N(0, scale^2 / fan_in), biases zero.

    input_size D, hidden_size H, output_size O; ``seed`` fixes the draw. ``scale = 1`` keeps
    the pre-activations of order one; chapters 8 and 12 vary it. ``recurrent`` chooses W_hh:
    "gaussian" as above, "orthogonal": W_hh = scale Q with Q a random orthogonal matrix (every
    singular value equal to scale), "identity": W_hh = scale I. ``recurrent_scale``, when
    given, replaces ``scale`` for W_hh alone (W_xh and W_oh keep ``scale``), from the same
    draw: chapter 8 varies the recurrence without changing the input and output layers.
    """
    for name, size in (("input_size", input_size), ("hidden_size", hidden_size),
                       ("output_size", output_size)):
        if not _is_int(size) or size < 1:
            raise ValueError(f"{name}: expected a positive integer, got {size!r}")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0 (every draw in the book is seeded), "
                         f"got {seed!r}")
    if not isinstance(scale, (int, float, np.integer, np.floating)) or isinstance(scale, bool) \
            or not np.isfinite(scale) or scale < 0:
        raise ValueError(f"scale: expected a finite number >= 0, got {scale!r}")
    if recurrent_scale is not None and (
            not isinstance(recurrent_scale, (int, float, np.integer, np.floating))
            or isinstance(recurrent_scale, bool) or not np.isfinite(recurrent_scale)
            or recurrent_scale < 0):
        raise ValueError(f"recurrent_scale: expected None or a finite number >= 0, "
                         f"got {recurrent_scale!r}")
    r_scale = scale if recurrent_scale is None else recurrent_scale
    require_choice("recurrent", recurrent, ("gaussian", "orthogonal", "identity"))
    rng = np.random.default_rng(seed)
    D, H, O = input_size, hidden_size, output_size
    W_xh = rng.normal(0.0, scale / np.sqrt(D), size=(H, D))
    W_hh = rng.normal(0.0, r_scale / np.sqrt(H), size=(H, H))
    if recurrent == "orthogonal":
        Q, R = np.linalg.qr(W_hh)
        W_hh = r_scale * Q * np.sign(np.diag(R))  # signs fixed so that Q is uniformly random
    elif recurrent == "identity":
        W_hh = r_scale * np.eye(H)
    W_oh = rng.normal(0.0, scale / np.sqrt(H), size=(O, H))
    return RNNParams(W_xh=W_xh, W_hh=W_hh, W_oh=W_oh, b_h=np.zeros(H), b_o=np.zeros(O))


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# --- output activations phi and their backward passes ---------------------------------------


def softmax(z: np.ndarray) -> np.ndarray:
    """softmax over the last axis, shifted by the maximum so that exp never overflows."""
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    # 1 / (1 + e^{-z}) written so that no exp overflows for large |z|
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


# Each entry: phi(z), and dL/dz from (dL/dy, y) -- the Jacobian of phi applied to dL/dy.
OUTPUTS: dict[str, tuple[Callable, Callable]] = {
    "identity": (lambda z: z.copy(), lambda dy, y: dy),
    "tanh": (np.tanh, lambda dy, y: (1.0 - y**2) * dy),
    "sigmoid": (_sigmoid, lambda dy, y: y * (1.0 - y) * dy),
    # softmax Jacobian diag(y) - y y^T applied to dy
    "softmax": (softmax, lambda dy, y: y * (dy - (dy * y).sum(axis=-1, keepdims=True))),
}


# The hidden activation f, h_t = f(a_t), and its slope f'(a_t) written from h_t = f(a_t).
# The book's RNN uses tanh; chapter 12 uses relu for the identity-initialised IRNN.
ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    "tanh": (np.tanh, lambda h: 1.0 - h**2),  # tanh'(a_t) = 1 - tanh(a_t)^2 = 1 - h_t^2
    "relu": (lambda a: np.maximum(a, 0.0), lambda h: (h > 0.0).astype(np.float64)),
}


# --- forward ----------------------------------------------------------------------------------


@dataclass
class RNNCache:
    """What the forward pass keeps for the backward pass, by name.

    xs (T, [B,] D); h (T+1, [B,] H) with h[0] = h0; a (T, [B,] H) hidden pre-activations;
    z (T, [B,] O) output pre-activations; y (T, [B,] O) outputs; output: the name of phi;
    activation: the name of the hidden activation f (tanh unless chosen otherwise).
    """

    xs: np.ndarray
    h: np.ndarray
    a: np.ndarray
    z: np.ndarray
    y: np.ndarray
    output: str
    activation: str = "tanh"

    @property
    def T(self) -> int:
        """Number of steps."""
        return self.xs.shape[0]


def check_inputs(
    params: RNNParams, xs: object, h0: object = None
) -> tuple[np.ndarray, np.ndarray]:
    """Validate (xs, h0) against params; return them as float64 arrays (h0 = zeros if None)."""
    params.validate()
    D, H, _ = params.sizes
    xs = as_float_array("xs", xs)
    require_ndim("xs", xs, (2, 3), "one sequence (T, D) or a batch (T, B, D)")
    require_nonempty("xs", xs, "(T, D) or (T, B, D): at least one step and one sequence")
    if xs.shape[-1] != D:
        raise ValueError(
            f"xs: expected {D} inputs per step (the columns of W_xh, D = {D}), "
            f"got shape {xs.shape} with {xs.shape[-1]}"
        )
    require_finite("xs", xs)
    h0_shape = xs.shape[1:-1] + (H,)
    if h0 is None:
        h0 = np.zeros(h0_shape)
    else:
        h0 = as_float_array("h0", h0)
        meaning = "(B, H), B from xs" if xs.ndim == 3 else "(H,) for one sequence"
        require_shape("h0", h0, h0_shape, meaning)
        require_finite("h0", h0)
    params.require_finite()
    return xs, h0


def rnn_forward(
    params: RNNParams,
    xs: object,
    h0: object = None,
    *,
    output: str = "identity",
    activation: str = "tanh",
) -> RNNCache:
    """h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h), y_t = phi(W_oh h_t + b_o) for t = 1..T.

    params: RNNParams; xs (T, D) or (T, B, D); h0 (H,) or (B, H), zeros if None;
    output: phi, one of identity, tanh, sigmoid, softmax; activation: tanh (the book's RNN) or
    relu (chapter 12), the function in place of tanh.
    Returns an RNNCache with h (T+1, [B,] H), h[0] = h0, and y (T, [B,] O). Chapter 1.
    """
    xs, h0 = check_inputs(params, xs, h0)
    phi, _ = OUTPUTS[require_choice("output", output, OUTPUTS)]
    f, _ = ACTIVATIONS[require_choice("activation", activation, ACTIVATIONS)]
    W_xh, W_hh, W_oh, b_h, b_o = params.W_xh, params.W_hh, params.W_oh, params.b_h, params.b_o
    T = xs.shape[0]
    H = b_h.shape[0]
    batch = xs.shape[1:-1]
    h = np.empty((T + 1, *batch, H))
    h[0] = h0
    # W_xh x_t + b_h does not depend on the recurrence: every step's in one matrix product
    a = mv(W_xh, xs) + b_h
    for t in range(1, T + 1):
        a[t - 1] += mv(W_hh, h[t - 1])  # a_t = W_xh x_t + W_hh h_{t-1} + b_h
        h[t] = f(a[t - 1])
    z = mv(W_oh, h[1:]) + b_o  # z_t = W_oh h_t + b_o, every step at once
    return RNNCache(xs=xs, h=h, a=a, z=z, y=phi(z), output=output, activation=activation)


# --- backward ---------------------------------------------------------------------------------


def check_upstream(params: RNNParams, cache: RNNCache, dy: object) -> np.ndarray:
    """Validate the cache against params and dL/dy against the cache: shapes, finite values."""
    params.validate()
    params.require_finite()
    D, H, O = params.sizes
    T = cache.xs.shape[0]
    batch = cache.xs.shape[1:-1]
    require_choice("cache.activation", cache.activation, ACTIVATIONS)
    return check_cache_and_dy(cache, dy, {"h": (T + 1, *batch, H), "a": (T, *batch, H)},
                              D, O)


def check_cache_and_dy(cache: object, dy: object, hidden: dict[str, tuple[int, ...]], D: int,
                       O: int) -> np.ndarray:
    """Shared by every network's backward pass: the cache's arrays have the shapes the params
    imply (xs, z, y, and the ``hidden`` ones given by name) and finite values, its output is
    known, and dy has the shape of y. Returns dy as float64."""
    T = cache.xs.shape[0]
    batch = cache.xs.shape[1:-1]
    require_choice("cache.output", cache.output, OUTPUTS)
    expected = {"xs": (T, *batch, D), **hidden, "z": (T, *batch, O), "y": (T, *batch, O)}
    for name, shape in expected.items():
        value = getattr(cache, name)
        require_shape(f"cache.{name}", value, shape,
                      "sizes of params and cache.xs (was the cache made with these params?)")
        require_finite(f"cache.{name}", value)
    dy = as_float_array("dy", dy)
    require_shape("dy", dy, cache.y.shape, "(T, [B,] O), the shape of y")
    require_finite("dy", dy)
    return dy


def state_gradient(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    """A gradient arriving at the last state from later steps, as float64: zeros if None."""
    if value is None:
        return np.zeros(shape)
    value = as_float_array(name, value)
    require_shape(name, value, shape, "the shape of one hidden state, ([B,] H)")
    require_finite(name, value)
    return value.copy()  # the backward pass adds into nothing it was given


def output_backward(cache: RNNCache, dy: np.ndarray) -> np.ndarray:
    """dL/dz_t = (dy_t/dz_t)^T dL/dy_t for every step: back through phi. Shape of y."""
    _, phi_backward = OUTPUTS[cache.output]
    return phi_backward(dy, cache.y)


def rnn_backward(
    params: RNNParams, cache: RNNCache, dy: object, dh_last: object = None, *,
    checked: bool = False,
) -> dict[str, np.ndarray]:
    """Backpropagation through time: dL/dtheta for every parameter, and dL/dh0.

    dy (T, [B,] O): dL/dy_t for each step, the gradient of the loss with respect to each
    output on its own -- not the gradient carried between steps, which is dh_next below.
    dh_last ([B,] H): dL/dh_T arriving from steps after the cache's last one, when the
    sequence goes on beyond it (chapter 10's handover); None for zeros: nothing comes after T.
    checked: True only when the caller has just made the cache with rnn_forward(params) and dy
    with a loss (loss_and_grads does): then params, cache and dy are not checked a second time.
    Returns {"W_xh", "W_hh", "W_oh", "b_h", "b_o", "h0"}, each shaped like its variable.
    Chapters 4-6 derive every line.
    """
    if not checked:
        dy = check_upstream(params, cache, dy)
    W_hh, W_oh = params.W_hh, params.W_oh
    xs, h = cache.xs, cache.h
    dz = output_backward(cache, dy)
    _, slope = ACTIVATIONS[cache.activation]  # tanh: slope(h_t) = 1 - h_t^2
    # h_t feeds y_t and h_{t+1}: the first road, W_oh^T dL/dz_t, for every step at once
    dh_out = mv(W_oh.T, dz)
    da = np.empty_like(cache.a)  # delta_t = dL/da_t, filled from t = T down to 1
    # dL/dh_t arriving from step t+1; at t = T, what the later steps send (nothing, or dh_last)
    dh_next = state_gradient("dh_last", dh_last, h[0].shape)
    for t in range(cache.T, 0, -1):
        # both roads into h_t add; back through tanh: dh_t/da_t = diag(1 - h_t^2)
        da[t - 1] = slope(h[t]) * (dh_out[t - 1] + dh_next)
        # pass the gradient back to h_{t-1} through W_hh (transposed)
        dh_next = mv(W_hh.T, da[t - 1])
    # the same weights are used at every step, so their gradients sum over t:
    # dL/dW_xh = sum_t delta_t x_t^T, dL/dW_hh = sum_t delta_t h_{t-1}^T, dL/db_h = sum_t delta_t
    grads = {"W_xh": outer_sum(da, xs), "W_hh": outer_sum(da, h[:-1]),
             # output layer: z_t = W_oh h_t + b_o
             "W_oh": outer_sum(dz, h[1:]), "b_h": batch_sum(da), "b_o": batch_sum(dz)}
    grads["h0"] = dh_next
    return grads
