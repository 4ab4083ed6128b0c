"""The book's parameters in PyTorch's layout and back (chapter 15). PyTorch is not needed.

A state dict here is what ``module.state_dict()`` returns for a module with two children,
``rnn = torch.nn.RNN(D, H)`` (or ``torch.nn.LSTM(D, H)``) and ``head = torch.nn.Linear(H, O)``,
with numpy arrays in place of tensors. PyTorch's documented equations (one layer):

    RNN:   h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    LSTM:  i, f, g, o = the four blocks of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh, in that order,
           through sigmoid, sigmoid, tanh, sigmoid;  c_t = f c_{t-1} + i g,  h_t = o tanh(c_t)
    head:  y_t = W h_t + b      (``head.weight`` (O, H), ``head.bias`` (O,))

So ``weight_ih_l0`` stacks the book's W_xi, W_xf, W_xc, W_xq (4H, D), ``weight_hh_l0`` the
W_h.. likewise (4H, H): the order i, f, c~ (PyTorch's g), q (PyTorch's o); the book's one
bias per gate goes into ``bias_ih_l0`` and zeros into ``bias_hh_l0``, since only their sum
matters.

PyTorch's GRU is a different function from the book's (chapter 11): it applies the reset gate
after the recurrent product, n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn)), where the
book (like Keras's ``GRU(reset_after=False)``) has W_hn (r_t * h_{t-1}). No choice of weights
makes one equal the other, so GRUs are refused with a ValueError that says so.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array, require_choice, require_finite, require_shape
from .cells import GRUParams, LSTMParams
from .rnn import RNNParams

TORCH_KEYS = ("rnn.weight_ih_l0", "rnn.weight_hh_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0",
              "head.weight", "head.bias")
TORCH_LSTM_ORDER = ("i", "f", "c", "q")  # the book's names of PyTorch's i, f, g, o

GRU_MESSAGE = (
    "PyTorch's GRU applies the reset gate after the recurrent product, "
    "n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_(t-1) + b_hn)), while the book's GRU (chapter "
    "11, like Keras's GRU(reset_after=False)) computes n_t = tanh(W_xn x_t + W_hn (r_t * "
    "h_(t-1)) + b_n); the two are different functions and no conversion of weights makes them "
    "equal (chapter 15 shows the difference)"
)


def to_torch_state_dict(params: RNNParams | LSTMParams) -> dict[str, np.ndarray]:
    """The state dict of torch.nn.RNN(D, H) (or LSTM(D, H)) plus Linear(H, O) computing the
    book's network, as numpy arrays keyed like ``state_dict()`` (``rnn.weight_ih_l0``, ...).

    Weights are stacked in PyTorch's gate order i, f, g, o; ``bias_ih_l0`` holds the book's
    biases and ``bias_hh_l0`` zeros. The RNN must use tanh (torch.nn.RNN's default). Chapter 15.
    """
    if isinstance(params, GRUParams):
        raise ValueError(f"params: expected RNNParams or LSTMParams, got GRUParams: "
                         f"{GRU_MESSAGE}")
    if isinstance(params, RNNParams):
        W_ih, W_hh, bias = params.W_xh, params.W_hh, params.b_h
    elif isinstance(params, LSTMParams):
        # PyTorch stacks the gates i, f, g, o; the book names them i, f, c (candidate), q
        W_ih = np.concatenate([getattr(params, f"W_x{g}") for g in TORCH_LSTM_ORDER])
        W_hh = np.concatenate([getattr(params, f"W_h{g}") for g in TORCH_LSTM_ORDER])
        bias = np.concatenate([getattr(params, f"b_{g}") for g in TORCH_LSTM_ORDER])
    else:
        raise ValueError(f"params: expected RNNParams or LSTMParams, got "
                         f"{type(params).__name__}")
    params.validate()
    arrays = (W_ih, W_hh, bias, np.zeros_like(bias), params.W_oh, params.b_o)
    return {key: value.copy() for key, value in zip(TORCH_KEYS, arrays)}


def from_torch_state_dict(state: dict, kind: str = "rnn") -> RNNParams | LSTMParams:
    """The book's parameters from the state dict of torch.nn.RNN/LSTM(D, H) + Linear(H, O).

    state: {key: array or CPU tensor} with exactly the keys of ``TORCH_KEYS`` (a tensor is
    converted with numpy, float32 becomes float64); kind: "rnn" or "lstm". The two biases of
    each gate are summed, b = b_ih + b_hh. Returns RNNParams or LSTMParams. Chapter 15.
    """
    if kind == "gru":
        raise ValueError(f"kind: expected 'rnn' or 'lstm', got 'gru': {GRU_MESSAGE}")
    require_choice("kind", kind, ("rnn", "lstm"))
    if not isinstance(state, dict):
        raise ValueError(f"state: expected a dict like module.state_dict(), got "
                         f"{type(state).__name__}")
    missing = [key for key in TORCH_KEYS if key not in state]
    extra = [key for key in state if key not in TORCH_KEYS]
    if missing or extra:
        raise ValueError(f"state: expected exactly the keys {', '.join(TORCH_KEYS)} (a module "
                         f"with children rnn and head, one layer); missing {missing or 'none'}, "
                         f"unexpected {extra or 'none'}")
    arrays = {}
    for key in TORCH_KEYS:
        value = state[key]
        if hasattr(value, "detach"):  # a torch tensor: to numpy without importing torch
            value = value.detach().cpu().numpy()
        arrays[key] = as_float_array(f"state[{key!r}]", value).copy()  # never shared
        require_finite(f"state[{key!r}]", arrays[key])
    W_ih, W_hh = arrays["rnn.weight_ih_l0"], arrays["rnn.weight_hh_l0"]
    gates = 1 if kind == "rnn" else 4
    if W_ih.ndim != 2 or W_ih.shape[0] % gates:
        raise ValueError(f"state['rnn.weight_ih_l0']: expected shape ({gates}H, D) for "
                         f"kind={kind!r}, got {W_ih.shape}")
    H = W_ih.shape[0] // gates
    require_shape("state['rnn.weight_hh_l0']", W_hh, (gates * H, H), f"({gates}H, H)")
    for key in ("rnn.bias_ih_l0", "rnn.bias_hh_l0"):
        require_shape(f"state[{key!r}]", arrays[key], (gates * H,), f"({gates}H,)")
    if arrays["head.weight"].ndim != 2:
        raise ValueError(f"state['head.weight']: expected shape (O, H) with H = {H}, got "
                         f"{arrays['head.weight'].shape}")
    O = arrays["head.weight"].shape[0]
    require_shape("state['head.weight']", arrays["head.weight"], (O, H), "(O, H)")
    require_shape("state['head.bias']", arrays["head.bias"], (O,), "(O,)")
    bias = arrays["rnn.bias_ih_l0"] + arrays["rnn.bias_hh_l0"]  # only the sum enters a gate
    head = {"W_oh": arrays["head.weight"], "b_o": arrays["head.bias"]}
    if kind == "rnn":
        return RNNParams(W_xh=W_ih, W_hh=W_hh, b_h=bias, **head)
    blocks = {}
    for n, g in enumerate(TORCH_LSTM_ORDER):  # block n of PyTorch's i, f, g, o
        rows = slice(n * H, (n + 1) * H)
        blocks.update({f"W_x{g}": W_ih[rows], f"W_h{g}": W_hh[rows], f"b_{g}": bias[rows]})
    return LSTMParams(**blocks, **head)
