"""Gated cells, the LSTM and the GRU, forward and backward through time (chapter 11).

LSTM (Hochreiter & Schmidhuber 1997, with the forget gate of Gers, Schmidhuber & Cummins
2000), for steps t = 1..T:

    f_t  = sigmoid(W_xf x_t + W_hf h_{t-1} + b_f)        forget gate
    i_t  = sigmoid(W_xi x_t + W_hi h_{t-1} + b_i)        input gate
    c~_t = tanh(W_xc x_t + W_hc h_{t-1} + b_c)           candidate cell
    q_t  = sigmoid(W_xq x_t + W_hq h_{t-1} + b_q)        output gate (o_t in the papers)
    c_t  = f_t * c_{t-1} + i_t * c~_t                    cell state
    h_t  = q_t * tanh(c_t)                               hidden state

GRU (Cho et al. 2014):

    u_t = sigmoid(W_xu x_t + W_hu h_{t-1} + b_u)         update gate (z_t in the papers)
    r_t = sigmoid(W_xr x_t + W_hr h_{t-1} + b_r)         reset gate
    n_t = tanh(W_xn x_t + W_hn (r_t * h_{t-1}) + b_n)    candidate state (h~_t in the paper)
    h_t = u_t * h_{t-1} + (1 - u_t) * n_t                hidden state

Both read out like the RNN: z_t = W_oh h_t + b_o, y_t = phi(z_t). Products * are entry by
entry. The output gate is q_t and the update gate u_t because o and z already name the output
layer (W_oh, b_o, z_t). The pre-activation of gate g is a^g_t (``a_f`` ... in code), so that
``da_f`` is dL/da^f_t.

Storage as in the RNN (bptt_core.rnn): arrays over steps hold step t at index t - 1; hidden
states are h[0..T] with h[0] = h0, and the LSTM's cells are c[0..T] with c[0] = c0 (zero unless
given). One sequence is (T, D), a batch (T, B, D).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import ClassVar, TypeVar

import numpy as np

from ._validate import (
    as_float_array,
    coerce_params,
    require_choice,
    require_finite,
    require_shape,
)
from .rnn import (
    OUTPUTS,
    _sigmoid,
    batch_sum,
    check_cache_and_dy,
    check_inputs,
    mv,
    outer_sum,
    output_backward,
    state_gradient,
)

sigmoid = _sigmoid  # 1 / (1 + e^{-a}), computed without overflow

LSTM_GATES = ("f", "i", "c", "q")  # forget, input, candidate cell, output
GRU_GATES = ("u", "r", "n")  # update, reset, candidate state

P = TypeVar("P", bound="GatedParams")


def _names(gates: tuple[str, ...]) -> tuple[str, ...]:
    """W_x<g>, W_h<g>, b_<g> for every gate, then the output layer W_oh, b_o."""
    return tuple(n for g in gates for n in (f"W_x{g}", f"W_h{g}", f"b_{g}")) + ("W_oh", "b_o")


LSTM_PARAM_NAMES = _names(LSTM_GATES)
GRU_PARAM_NAMES = _names(GRU_GATES)


# --- parameters -------------------------------------------------------------------------------


class GatedParams:
    """What LSTMParams and GRUParams share with RNNParams: validate, sizes, items, copy...

    Gate g has W_x<g> (H, D), W_h<g> (H, H) and b_<g> (H,); the output layer has W_oh (O, H)
    and b_o (O,). Arrays are float64; shapes are checked against each other.
    """

    GATES: ClassVar[tuple[str, ...]] = ()
    NAMES: ClassVar[tuple[str, ...]] = ()

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Check dtypes and shapes against each other (again, after any assignment).

        Integer arrays become float64; anything else that does not fit raises a ValueError
        naming the parameter. The forward passes call this, so assignments are checked too.
        """
        coerce_params(self, self.NAMES)
        first = f"W_x{self.GATES[0]}"
        H, D = getattr(self, first).shape
        O = self.W_oh.shape[0]
        for g in self.GATES:
            require_shape(f"W_x{g}", getattr(self, f"W_x{g}"), (H, D), f"(H, D) from {first}")
            require_shape(f"W_h{g}", getattr(self, f"W_h{g}"), (H, H), f"(H, H), H from {first}")
            require_shape(f"b_{g}", getattr(self, f"b_{g}"), (H,), f"(H,), H from {first}")
        require_shape("W_oh", self.W_oh, (O, H), f"(O, H), H from {first}")
        require_shape("b_o", self.b_o, (O,), "(O,), O from W_oh")

    @property
    def sizes(self) -> tuple[int, int, int]:
        """(D, H, O): input, hidden and output sizes."""
        H, D = getattr(self, f"W_x{self.GATES[0]}").shape
        return D, H, self.W_oh.shape[0]

    def items(self) -> Iterator[tuple[str, np.ndarray]]:
        """(name, array) pairs, gate by gate (W_x<g>, W_h<g>, b_<g>), then W_oh, b_o."""
        return ((name, getattr(self, name)) for name in self.NAMES)

    def copy(self: P) -> P:
        """A deep copy: training one copy leaves the other as it was."""
        return type(self)(**{name: value.copy() for name, value in self.items()})

    def replace(self: P, **arrays: np.ndarray) -> P:
        """A new parameter set with some arrays swapped, e.g. ``params.replace(b_f=b)``."""
        return dataclasses.replace(self, **arrays)

    def require_finite(self) -> None:
        """Raise a ValueError naming the first parameter that holds NaN or inf."""
        for name, value in self.items():
            require_finite(name, value)


@dataclass
class LSTMParams(GatedParams):
    """The LSTM's parameters: four gates (f, i, c, q), each W_x<g> (H, D), W_h<g> (H, H),
    b_<g> (H,), and the output layer W_oh (O, H), b_o (O,). Chapter 11."""

    W_xf: np.ndarray
    W_hf: np.ndarray
    b_f: np.ndarray
    W_xi: np.ndarray
    W_hi: np.ndarray
    b_i: np.ndarray
    W_xc: np.ndarray
    W_hc: np.ndarray
    b_c: np.ndarray
    W_xq: np.ndarray
    W_hq: np.ndarray
    b_q: np.ndarray
    W_oh: np.ndarray
    b_o: np.ndarray

    GATES: ClassVar[tuple[str, ...]] = LSTM_GATES
    NAMES: ClassVar[tuple[str, ...]] = LSTM_PARAM_NAMES


@dataclass
class GRUParams(GatedParams):
    """The GRU's parameters: three gates (u, r, n), each W_x<g> (H, D), W_h<g> (H, H),
    b_<g> (H,), and the output layer W_oh (O, H), b_o (O,). Chapter 11."""

    W_xu: np.ndarray
    W_hu: np.ndarray
    b_u: np.ndarray
    W_xr: np.ndarray
    W_hr: np.ndarray
    b_r: np.ndarray
    W_xn: np.ndarray
    W_hn: np.ndarray
    b_n: np.ndarray
    W_oh: np.ndarray
    b_o: np.ndarray

    GATES: ClassVar[tuple[str, ...]] = GRU_GATES
    NAMES: ClassVar[tuple[str, ...]] = GRU_PARAM_NAMES


def _random_gates(
    gates: tuple[str, ...], D: int, H: int, O: int, seed: object
) -> dict[str, np.ndarray]:
    """Weights ~ N(0, 1 / fan_in) drawn gate by gate in the order of ``gates``, then W_oh."""
    for name, size in (("input_size", D), ("hidden_size", H), ("output_size", O)):
        if not _is_int(size) or size < 1:
            raise ValueError(f"{name}: expected a positive integer, got {size!r}")
    if not _is_int(seed) or seed < 0:
        raise ValueError(f"seed: expected an integer >= 0 (every draw in the book is seeded), "
                         f"got {seed!r}")
    rng = np.random.default_rng(seed)
    arrays = {}
    for g in gates:
        arrays[f"W_x{g}"] = rng.normal(0.0, 1.0 / np.sqrt(D), size=(H, D))
        arrays[f"W_h{g}"] = rng.normal(0.0, 1.0 / np.sqrt(H), size=(H, H))
        arrays[f"b_{g}"] = np.zeros(H)
    arrays["W_oh"] = rng.normal(0.0, 1.0 / np.sqrt(H), size=(O, H))
    arrays["b_o"] = np.zeros(O)
    return arrays


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def init_lstm(
    input_size: int, hidden_size: int, output_size: int, *, seed: int, forget_bias: float = 1.0
) -> LSTMParams:
    """Random LSTM parameters: weights ~ N(0, 1 / fan_in), biases zero except b_f = forget_bias.

    input_size D, hidden_size H, output_size O; ``seed`` fixes the draw. A positive forget
    bias starts the forget gate near sigmoid(forget_bias) (0.73 for 1): the cell keeps most
    of its content, and gradients along the cell fade slowly. Chapter 11.
    """
    ok = isinstance(forget_bias, (int, float, np.integer, np.floating))
    if not ok or isinstance(forget_bias, bool) or not np.isfinite(forget_bias):
        raise ValueError(f"forget_bias: expected a finite number, got {forget_bias!r}")
    arrays = _random_gates(LSTM_GATES, input_size, hidden_size, output_size, seed)
    arrays["b_f"] = np.full(hidden_size, float(forget_bias))
    return LSTMParams(**arrays)


def init_gru(input_size: int, hidden_size: int, output_size: int, *, seed: int) -> GRUParams:
    """Random GRU parameters: weights ~ N(0, 1 / fan_in), biases zero.

    input_size D, hidden_size H, output_size O; ``seed`` fixes the draw. Chapter 11.
    """
    return GRUParams(**_random_gates(GRU_GATES, input_size, hidden_size, output_size, seed))


# --- checks shared by the forward and backward passes -----------------------------------------


def _check_params(params: object, kind: type) -> None:
    if not isinstance(params, kind):
        raise ValueError(f"params: expected {kind.__name__}, got {type(params).__name__}")


def _check_c0(c0: object, h0: np.ndarray, batched: bool) -> np.ndarray:
    """c0 as a float64 array shaped like h0 (zeros if None), or a ValueError naming it."""
    if c0 is None:
        return np.zeros_like(h0)
    c0 = as_float_array("c0", c0)
    require_shape("c0", c0, h0.shape, "(B, H), B from xs" if batched else "(H,) for one sequence")
    require_finite("c0", c0)
    return c0


def _check_upstream(
    params: GatedParams, cache: LSTMCache | GRUCache, dy: object, states: tuple[str, ...],
    gates: tuple[str, ...],
) -> np.ndarray:
    """Validate the cache against params and dL/dy against the cache: shapes, finite values."""
    params.validate()
    params.require_finite()
    D, H, O = params.sizes
    T = cache.xs.shape[0]
    batch = cache.xs.shape[1:-1]
    hidden = {name: (T + 1, *batch, H) for name in states}
    hidden.update({name: (T, *batch, H) for name in gates})
    return check_cache_and_dy(cache, dy, hidden, D, O)


# --- LSTM -------------------------------------------------------------------------------------


@dataclass
class LSTMStep:
    """The numbers of one LSTM step t that its backward pass needs (chapter 11).

    f, i, c_tilde, q: the gates f_t, i_t, c~_t, q_t; c_prev: c_{t-1}; c: c_t. Each ([B,] H).
    """

    f: np.ndarray
    i: np.ndarray
    c_tilde: np.ndarray
    q: np.ndarray
    c_prev: np.ndarray
    c: np.ndarray


@dataclass
class LSTMCache:
    """What lstm_forward keeps for the backward pass, by name.

    xs (T, [B,] D); h and c (T+1, [B,] H) with h[0] = h0, c[0] = c0; the gates f, i, c_tilde, q
    (T, [B,] H), step t at index t - 1; z, y (T, [B,] O); output: the name of phi.
    """

    xs: np.ndarray
    h: np.ndarray
    c: np.ndarray
    f: np.ndarray
    i: np.ndarray
    c_tilde: np.ndarray
    q: np.ndarray
    z: np.ndarray
    y: np.ndarray
    output: str

    @property
    def T(self) -> int:
        """Number of steps."""
        return self.xs.shape[0]

    def step(self, t: int) -> LSTMStep:
        """The numbers of step t = 1..T (the book's step number), for lstm_step_backward."""
        if not _is_int(t) or not 1 <= t <= self.T:
            raise ValueError(f"t: expected a step number in 1..{self.T}, got {t!r}")
        return LSTMStep(f=self.f[t - 1], i=self.i[t - 1], c_tilde=self.c_tilde[t - 1],
                        q=self.q[t - 1], c_prev=self.c[t - 1], c=self.c[t])


def lstm_forward(
    params: LSTMParams, xs: object, h0: object = None, c0: object = None, *,
    output: str = "identity",
) -> LSTMCache:
    """c_t = f_t * c_{t-1} + i_t * c~_t, h_t = q_t * tanh(c_t), y_t = phi(W_oh h_t + b_o).

    params: LSTMParams; xs (T, D) or (T, B, D); h0, c0 (H,) or (B, H), zeros if None;
    output: phi, one of identity, tanh, sigmoid, softmax.
    Returns an LSTMCache with h, c (T+1, [B,] H) and y (T, [B,] O). Chapter 11.
    """
    _check_params(params, LSTMParams)
    xs, h0 = check_inputs(params, xs, h0)
    c0 = _check_c0(c0, h0, xs.ndim == 3)
    phi, _ = OUTPUTS[require_choice("output", output, OUTPUTS)]
    p = params
    T, H = xs.shape[0], params.sizes[1]
    batch = xs.shape[1:-1]
    h, c = np.empty((T + 1, *batch, H)), np.empty((T + 1, *batch, H))
    f, i, c_tilde, q = (np.empty((T, *batch, H)) for _ in range(4))
    h[0], c[0] = h0, c0
    # W_xg x_t + b_g does not depend on the recurrence: every step's in one product per gate
    ax_f, ax_i, ax_c, ax_q = (mv(getattr(p, f"W_x{g}"), xs) + getattr(p, f"b_{g}")
                              for g in LSTM_GATES)
    for t in range(1, T + 1):
        h_prev = h[t - 1]
        f[t - 1] = sigmoid(ax_f[t - 1] + mv(p.W_hf, h_prev))  # forget gate
        i[t - 1] = sigmoid(ax_i[t - 1] + mv(p.W_hi, h_prev))  # input gate
        c_tilde[t - 1] = np.tanh(ax_c[t - 1] + mv(p.W_hc, h_prev))  # candidate
        q[t - 1] = sigmoid(ax_q[t - 1] + mv(p.W_hq, h_prev))  # output gate
        # the cell keeps a share f_t of the old content and adds a share i_t of the new
        c[t] = f[t - 1] * c[t - 1] + i[t - 1] * c_tilde[t - 1]
        h[t] = q[t - 1] * np.tanh(c[t])
    z = mv(p.W_oh, h[1:]) + p.b_o  # z_t = W_oh h_t + b_o, every step at once
    return LSTMCache(xs=xs, h=h, c=c, f=f, i=i, c_tilde=c_tilde, q=q, z=z, y=phi(z),
                     output=output)


def lstm_step_backward(
    step: LSTMStep, dh: np.ndarray, dc_next: np.ndarray
) -> dict[str, np.ndarray]:
    """One LSTM step backward: (dL/dh_t, cell gradient from step t+1) -> dL/da^g_t, dL/dc_{t-1}.

    step: the LSTMStep of step t; dh ([B,] H): dL/dh_t, everything that reaches h_t (its own
    output and step t+1); dc_next ([B,] H): the part of dL/dc_t that arrives through c_{t+1},
    f_{t+1} * dL/dc_{t+1} (zero at t = T).
    Returns {"da_f", "da_i", "da_c", "da_q": dL/da^g_t, the gradients at the four gate
    pre-activations, and "dc_prev": f_t * dL/dc_t, what step t sends to c_{t-1}}. Chapter 11.
    """
    f, i, c_tilde, q = step.f, step.i, step.c_tilde, step.q
    tanh_c = np.tanh(step.c)
    # c_t reaches the loss through h_t = q_t * tanh(c_t) and through c_{t+1}: both add
    dc = dh * q * (1.0 - tanh_c**2) + dc_next
    return {
        "da_f": dc * step.c_prev * f * (1.0 - f),  # dc_t/df_t = c_{t-1}; sigmoid' = f (1 - f)
        "da_i": dc * c_tilde * i * (1.0 - i),  # dc_t/di_t = c~_t
        "da_c": dc * i * (1.0 - c_tilde**2),  # dc_t/dc~_t = i_t; tanh' = 1 - c~_t^2
        "da_q": dh * tanh_c * q * (1.0 - q),  # dh_t/dq_t = tanh(c_t)
        "dc_prev": dc * f,  # dc_t/dc_{t-1} = f_t: the constant error carousel when f_t = 1
    }


def lstm_backward(
    params: LSTMParams, cache: LSTMCache, dy: object, dh_last: object = None,
    dc_last: object = None, *, checked: bool = False,
) -> dict[str, np.ndarray]:
    """Backpropagation through time for the LSTM: dL/dtheta for every parameter, dL/dh0, dL/dc0.

    dy (T, [B,] O): dL/dy_t for each step, the gradient of the loss with respect to each
    output on its own. Two gradients travel back between steps: dh_next into h_t and dc_next
    into c_t. dh_last, dc_last ([B,] H): what steps after the cache's last one send to h_T and
    c_T (None: zeros, nothing comes after T). checked: as for rnn_backward (loss_and_grads has
    just made cache and dy: they are not checked again). Returns {name: gradient} for every
    parameter, plus "h0" and "c0". Chapter 11.
    """
    if not checked:
        _check_params(params, LSTMParams)
        dy = _check_upstream(params, cache, dy, ("h", "c"), ("f", "i", "c_tilde", "q"))
    xs, h = cache.xs, cache.h
    dz = output_backward(cache, dy)
    # h_t feeds y_t and the four gates of step t+1: the first road for every step at once
    dh_out = mv(params.W_oh.T, dz)
    da = {g: np.empty_like(cache.f) for g in LSTM_GATES}  # dL/da^g_t, filled from t = T down
    # dL/dh_t arriving from step t+1, dL/dc_t arriving through c_{t+1}; at t = T, from later
    # steps (nothing unless dh_last, dc_last are given)
    dh_next = state_gradient("dh_last", dh_last, h[0].shape)
    dc_next = state_gradient("dc_last", dc_last, h[0].shape)
    for t in range(cache.T, 0, -1):
        step = lstm_step_backward(cache.step(t), dh_out[t - 1] + dh_next, dc_next)
        dh_next = np.zeros_like(dh_next)
        for g in LSTM_GATES:
            da[g][t - 1] = step[f"da_{g}"]
            # h_{t-1} feeds all four gates: W_hg transposed sends each share back
            dh_next = dh_next + mv(getattr(params, f"W_h{g}").T, da[g][t - 1])
        dc_next = step["dc_prev"]
    # a^g_t = W_xg x_t + W_hg h_{t-1} + b_g, the same weights at every step: sum over t
    grads = {}
    for g in LSTM_GATES:
        grads[f"W_x{g}"] = outer_sum(da[g], xs)
        grads[f"W_h{g}"] = outer_sum(da[g], h[:-1])
        grads[f"b_{g}"] = batch_sum(da[g])
    # output layer: z_t = W_oh h_t + b_o
    grads["W_oh"], grads["b_o"] = outer_sum(dz, h[1:]), batch_sum(dz)
    grads = {name: grads[name] for name, _ in params.items()}  # the parameters' own order
    grads["h0"] = dh_next
    grads["c0"] = dc_next
    return grads


# --- GRU --------------------------------------------------------------------------------------


@dataclass
class GRUCache:
    """What gru_forward keeps for the backward pass, by name.

    xs (T, [B,] D); h (T+1, [B,] H) with h[0] = h0; the gates u, r, n (T, [B,] H), step t at
    index t - 1; z, y (T, [B,] O); output: the name of phi.
    """

    xs: np.ndarray
    h: np.ndarray
    u: np.ndarray
    r: np.ndarray
    n: np.ndarray
    z: np.ndarray
    y: np.ndarray
    output: str

    @property
    def T(self) -> int:
        """Number of steps."""
        return self.xs.shape[0]


def gru_forward(
    params: GRUParams, xs: object, h0: object = None, *, output: str = "identity"
) -> GRUCache:
    """h_t = u_t * h_{t-1} + (1 - u_t) * n_t, y_t = phi(W_oh h_t + b_o) for t = 1..T.

    params: GRUParams; xs (T, D) or (T, B, D); h0 (H,) or (B, H), zeros if None;
    output: phi, one of identity, tanh, sigmoid, softmax.
    Returns a GRUCache with h (T+1, [B,] H) and y (T, [B,] O). Chapter 11.
    """
    _check_params(params, GRUParams)
    xs, h0 = check_inputs(params, xs, h0)
    phi, _ = OUTPUTS[require_choice("output", output, OUTPUTS)]
    p = params
    T, H = xs.shape[0], params.sizes[1]
    batch = xs.shape[1:-1]
    h = np.empty((T + 1, *batch, H))
    u, r, n = (np.empty((T, *batch, H)) for _ in range(3))
    h[0] = h0
    # W_xg x_t + b_g does not depend on the recurrence: every step's in one product per gate
    ax_u, ax_r, ax_n = (mv(getattr(p, f"W_x{g}"), xs) + getattr(p, f"b_{g}") for g in "urn")
    for t in range(1, T + 1):
        h_prev = h[t - 1]
        u[t - 1] = sigmoid(ax_u[t - 1] + mv(p.W_hu, h_prev))  # update gate
        r[t - 1] = sigmoid(ax_r[t - 1] + mv(p.W_hr, h_prev))  # reset gate
        # the candidate sees the previous state only through the reset gate
        n[t - 1] = np.tanh(ax_n[t - 1] + mv(p.W_hn, r[t - 1] * h_prev))
        # keep a share u_t of the old state, take the rest from the candidate
        h[t] = u[t - 1] * h_prev + (1.0 - u[t - 1]) * n[t - 1]
    z = mv(p.W_oh, h[1:]) + p.b_o  # z_t = W_oh h_t + b_o, every step at once
    return GRUCache(xs=xs, h=h, u=u, r=r, n=n, z=z, y=phi(z), output=output)


def gru_backward(
    params: GRUParams, cache: GRUCache, dy: object, dh_last: object = None, *,
    checked: bool = False,
) -> dict[str, np.ndarray]:
    """Backpropagation through time for the GRU: dL/dtheta for every parameter, and dL/dh0.

    dy (T, [B,] O): dL/dy_t for each step, the gradient of the loss with respect to each
    output on its own -- not the gradient carried between steps, which is dh_next below.
    dh_last ([B,] H): what steps after the cache's last one send to h_T (None: zeros).
    checked: as for rnn_backward (loss_and_grads has just made cache and dy).
    Returns {name: gradient} for every parameter, plus "h0". Chapter 11.
    """
    if not checked:
        _check_params(params, GRUParams)
        dy = _check_upstream(params, cache, dy, ("h",), ("u", "r", "n"))
    p = params
    xs, h, u, r, n = cache.xs, cache.h, cache.u, cache.r, cache.n
    dz = output_backward(cache, dy)
    # h_t feeds y_t and step t+1: the first road for every step at once
    dh_out = mv(p.W_oh.T, dz)
    da_u_all, da_r_all, da_n_all = (np.empty_like(u) for _ in range(3))  # filled from t = T
    # dL/dh_t arriving from step t+1; at t = T, from later steps (nothing unless dh_last)
    dh_next = state_gradient("dh_last", dh_last, h[0].shape)
    for t in range(cache.T, 0, -1):
        u_t, r_t, n_t, h_prev = u[t - 1], r[t - 1], n[t - 1], h[t - 1]
        # both roads into h_t add
        dh = dh_out[t - 1] + dh_next
        # h_t = u_t h_{t-1} + (1 - u_t) n_t: dh_t/du_t = h_{t-1} - n_t, dh_t/dn_t = 1 - u_t
        da_u = dh * (h_prev - n_t) * u_t * (1.0 - u_t)
        da_n = dh * (1.0 - u_t) * (1.0 - n_t**2)
        # a^n_t contains W_hn (r_t * h_{t-1}): back to the product, then to r_t
        d_rh = mv(p.W_hn.T, da_n)
        da_r = d_rh * h_prev * r_t * (1.0 - r_t)
        da_u_all[t - 1], da_r_all[t - 1], da_n_all[t - 1] = da_u, da_r, da_n
        # h_{t-1} reaches h_t four ways: directly (u_t), through n_t (r_t), u_t and r_t
        dh_next = (dh * u_t + d_rh * r_t + mv(p.W_hu.T, da_u) + mv(p.W_hr.T, da_r))
    # the same weights at every step: their gradients sum over t
    grads = {
        "W_xu": outer_sum(da_u_all, xs), "W_hu": outer_sum(da_u_all, h[:-1]),
        "b_u": batch_sum(da_u_all),
        "W_xr": outer_sum(da_r_all, xs), "W_hr": outer_sum(da_r_all, h[:-1]),
        "b_r": batch_sum(da_r_all),
        "W_xn": outer_sum(da_n_all, xs), "W_hn": outer_sum(da_n_all, r * h[:-1]),
        "b_n": batch_sum(da_n_all),
        "W_oh": outer_sum(dz, h[1:]), "b_o": batch_sum(dz),  # output layer: z_t = W_oh h_t + b_o
    }
    grads = {name: grads[name] for name, _ in params.items()}  # the parameters' own order
    grads["h0"] = dh_next
    return grads
