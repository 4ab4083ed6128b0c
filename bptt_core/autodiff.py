"""Reverse-mode automatic differentiation on numpy arrays, with a tape (chapter 13).

A ``Tape`` records every operation in the order the forward computation performs it. Each
record keeps its inputs and a function ``vjp`` that turns dL/d(output) into dL/d(input) for
every input: the local vector-Jacobian products of the chain rule. ``Tape.gradients`` walks
the records in reverse and adds up each input's shares. That is all of reverse mode; run on
an RNN unrolled over T steps it is BPTT, and the tape holds a record per operation per step.

    tape = Tape()
    W, x = tape.variable(W_array), tape.variable(x_array)
    L = total(square(tanh(mv(W, x))))
    grads = tape.gradients(L, {"W": W})      # {"W": dL/dW}
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array
from .rnn import RNNParams, check_inputs, outer_sum


class Var:
    """A value on a tape: ``value`` (a float64 array) and its record's position ``index``."""

    __slots__ = ("tape", "value", "index")

    def __init__(self, tape: Tape, value: np.ndarray, index: int) -> None:
        self.tape, self.value, self.index = tape, value, index

    def __add__(self, other: object) -> Var:
        return add(self, other)

    __radd__ = __add__

    def __sub__(self, other: object) -> Var:
        return sub(self, other)

    def __rsub__(self, other: object) -> Var:
        return sub(other, self)

    def __mul__(self, other: object) -> Var:
        return mul(self, other)

    __rmul__ = __mul__

    def __repr__(self) -> str:
        return f"Var(shape={self.value.shape}, index={self.index})"


@dataclass
class Record:
    """One operation on the tape: its name, its inputs, and dL/dout -> (dL/dinput, ...)."""

    op: str
    inputs: tuple[Var, ...]
    vjp: Callable[[np.ndarray], tuple[np.ndarray, ...]] | None  # None for a leaf


class Tape:
    """The list of operations of one forward computation, in the order they happened."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def __len__(self) -> int:
        """Number of records: leaves (parameters, inputs, constants) and operations."""
        return len(self.records)

    def operations(self) -> int:
        """Number of recorded operations (leaves not counted): what backward() walks."""
        return sum(record.vjp is not None for record in self.records)

    def variable(self, value: object, name: str = "leaf") -> Var:
        """A leaf: a parameter, an input or a constant, with no inputs of its own."""
        return self.record(as_float_array(name, value), "leaf", (), None)

    def record(self, value: np.ndarray, op: str, inputs: tuple[Var, ...],
               vjp: Callable | None) -> Var:
        """Append one operation's result and how to send gradients back to its inputs."""
        self.records.append(Record(op, inputs, vjp))
        return Var(self, value, len(self.records) - 1)

    def gradients(self, loss: Var, wrt: Mapping[str, Var]) -> dict[str, np.ndarray]:
        """dL/dv for every v in ``wrt``: the chain rule, applied to the records in reverse.

        loss: a Var holding one number. Returns {name: gradient shaped like the Var}; a Var
        that the loss does not depend on gets zeros.
        """
        if loss.value.size != 1:
            raise ValueError(f"loss: expected a Var holding one number, got shape "
                             f"{loss.value.shape}")
        grad: list[np.ndarray | None] = [None] * len(self.records)
        grad[loss.index] = np.ones_like(loss.value)  # dL/dL = 1
        for index in range(loss.index, -1, -1):  # reverse order of the forward computation
            record, g = self.records[index], grad[index]
            if g is None or record.vjp is None:
                continue  # nothing reaches this record, or it is a leaf
            for var, share in zip(record.inputs, record.vjp(g)):
                # a value used several times (a shared weight) adds the shares of every use
                grad[var.index] = share if grad[var.index] is None else grad[var.index] + share
        return {name: np.zeros_like(v.value) if grad[v.index] is None else grad[v.index]
                for name, v in wrt.items()}


# --- operations: value, and the vector-Jacobian product of each input -----------------------


def _lift(tape: Tape, value: object) -> Var:
    """A Var as it is; a plain number or array becomes a constant leaf on the tape."""
    return value if isinstance(value, Var) else tape.variable(value, "constant")


def _unbroadcast(g: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum g over the axes that broadcasting added or stretched, back to ``shape``."""
    while g.ndim > len(shape):
        g = g.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and g.shape[axis] != 1:
            g = g.sum(axis=axis, keepdims=True)
    return g


def _tape_of(*values: object) -> Tape:
    """The one tape the Vars among ``values`` live on, or a ValueError."""
    tapes = {id(v.tape): v.tape for v in values if isinstance(v, Var)}
    if len(tapes) != 1:
        found = "no Var" if not tapes else "Vars from different tapes"
        raise ValueError(f"inputs: expected Vars of one tape (plain numbers and arrays are "
                         f"lifted onto it), got {found}")
    return next(iter(tapes.values()))


def add(a: object, b: object) -> Var:
    """a + b (broadcasting, e.g. a bias added to a batch): d/da = d/db = identity."""
    tape = _tape_of(a, b)
    a, b = _lift(tape, a), _lift(tape, b)
    return tape.record(a.value + b.value, "add", (a, b),
                       lambda g: (_unbroadcast(g, a.value.shape), _unbroadcast(g, b.value.shape)))


def sub(a: object, b: object) -> Var:
    """a - b (broadcasting): d/da = identity, d/db = minus the identity."""
    tape = _tape_of(a, b)
    a, b = _lift(tape, a), _lift(tape, b)
    return tape.record(a.value - b.value, "sub", (a, b),
                       lambda g: (_unbroadcast(g, a.value.shape), -_unbroadcast(g, b.value.shape)))


def mul(a: object, b: object) -> Var:
    """a * b entry by entry: d/da = b, d/db = a."""
    tape = _tape_of(a, b)
    a, b = _lift(tape, a), _lift(tape, b)
    return tape.record(a.value * b.value, "mul", (a, b),
                       lambda g: (_unbroadcast(g * b.value, a.value.shape),
                                  _unbroadcast(g * a.value, b.value.shape)))


def mv(W: Var, v: Var) -> Var:
    """W v (v one vector, or a batch of rows): dL/dW = sum of g v^T, dL/dv = W^T g."""
    tape = _tape_of(W, v)
    W, v = _lift(tape, W), _lift(tape, v)
    return tape.record(v.value @ W.value.T, "mv", (W, v),
                         lambda g: (outer_sum(g, v.value), g @ W.value))


def tanh(a: Var) -> Var:
    """tanh(a): d/da = 1 - tanh(a)^2, written from the output."""
    y = np.tanh(a.value)
    return a.tape.record(y, "tanh", (a,), lambda g: (g * (1.0 - y**2),))


def sigmoid(a: Var) -> Var:
    """1 / (1 + e^{-a}): d/da = s (1 - s), written from the output s."""
    e = np.exp(-np.abs(a.value))  # no exp overflows for large |a|
    s = np.where(a.value >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return a.tape.record(s, "sigmoid", (a,), lambda g: (g * s * (1.0 - s),))


def relu(a: Var) -> Var:
    """max(a, 0): d/da = 1 where a > 0, else 0."""
    return a.tape.record(np.maximum(a.value, 0.0), "relu", (a,),
                         lambda g: (g * (a.value > 0.0),))


def square(a: Var) -> Var:
    """a^2 entry by entry: d/da = 2 a."""
    return a.tape.record(a.value**2, "square", (a,), lambda g: (2.0 * g * a.value,))


def total(a: Var) -> Var:
    """The sum of every entry of a: d/da = a ones array shaped like a."""
    return a.tape.record(np.sum(a.value), "total", (a,),
                         lambda g: (np.full(a.value.shape, float(g)),))


# --- the book's networks, unrolled on a tape ------------------------------------------------

ACTIVATIONS = {"tanh": tanh, "relu": relu}


def tape_loss_and_grads(params: object, xs: object, targets: object, h0: object = None, *,
                        activation: str = "tanh") -> tuple[float, dict[str, np.ndarray], Tape]:
    """The mean squared error of an RNN (or LSTM) with identity output, and its gradients by
    reverse mode: the network is unrolled on a tape, one record per operation per step.

    params: RNNParams or LSTMParams; xs (T, [B,] D); targets (T, [B,] O); h0 zeros if None.
    Returns (L, grads, tape): grads named like the parameters plus "h0", equal to
    ``loss_and_grads`` up to rounding. Chapter 13.
    """
    from .cells import LSTMParams  # here: cells imports rnn, and rnn is imported above

    if not isinstance(params, (RNNParams, LSTMParams)):
        raise ValueError(f"params: expected RNNParams or LSTMParams, got "
                         f"{type(params).__name__}")
    if activation not in ACTIVATIONS or (activation != "tanh" and isinstance(params,
                                                                             LSTMParams)):
        raise ValueError(f"activation: expected 'tanh' or, for the RNN, 'relu', got "
                         f"{activation!r}")
    xs, h0_array = check_inputs(params, xs, h0)
    targets = as_float_array("targets", targets)
    expected = xs.shape[:-1] + (params.sizes[2],)
    if targets.shape != expected:
        raise ValueError(f"targets: expected shape (T, [B,] O) = {expected}, got "
                         f"{targets.shape}")
    tape = Tape()
    theta = {name: tape.variable(value, name) for name, value in params.items()}
    theta["h0"] = h = tape.variable(h0_array, "h0")
    f = ACTIVATIONS[activation]
    if isinstance(params, LSTMParams):
        theta["c0"] = c = tape.variable(np.zeros_like(h0_array), "c0")  # c_0 = 0
    p = theta

    def gate(chi: str, nonlinearity: Callable, x_t: Var, h_prev: Var) -> Var:
        # an LSTM gate chi: nonlinearity(W_x.chi x_t + W_h.chi h_{t-1} + b_chi), chapter 11
        return nonlinearity(mv(p[f"W_x{chi}"], x_t) + mv(p[f"W_h{chi}"], h_prev)
                            + p[f"b_{chi}"])

    loss = None
    for t in range(1, xs.shape[0] + 1):
        x_t = tape.variable(xs[t - 1], "x_t")
        if isinstance(params, RNNParams):
            # h_t = f(W_xh x_t + W_hh h_{t-1} + b_h)
            h = f(mv(p["W_xh"], x_t) + mv(p["W_hh"], h) + p["b_h"])
        else:
            f_t, i_t = gate("f", sigmoid, x_t, h), gate("i", sigmoid, x_t, h)
            c_tilde, q_t = gate("c", tanh, x_t, h), gate("q", sigmoid, x_t, h)
            c = f_t * c + i_t * c_tilde  # c_t = f_t c_{t-1} + i_t c~_t
            h = q_t * tanh(c)  # h_t = q_t tanh(c_t)
        y_t = mv(p["W_oh"], h) + p["b_o"]  # identity output: y_t = z_t
        L_t = total(square(y_t - targets[t - 1]))
        loss = L_t if loss is None else loss + L_t
    loss = loss * (1.0 / targets.size)  # the mean over every entry, as mse_loss
    return float(loss.value), tape.gradients(loss, theta), tape
