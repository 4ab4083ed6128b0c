"""bptt_core: the numpy engine behind the BPTT book.

h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h),  y_t = phi(W_oh h_t + b_o).
Arrays over steps are 0-based (xs[t - 1] is x_t); hidden states are h[0..T] with h[0] = h0.
"""

from .anatomy import contributions, hidden_jacobians
from .gradcheck import gradient_check, numerical_gradient, rel_error
from .losses import cross_entropy_loss, loss_and_grads, mse_loss
from .optim import AdamState, adam_init, adam_step, minibatches, sgd_step, train
from .rnn import (
    OUTPUTS,
    PARAM_NAMES,
    RNNCache,
    RNNParams,
    init_rnn,
    rnn_backward,
    rnn_forward,
    softmax,
)

__all__ = [
    "AdamState",
    "OUTPUTS",
    "PARAM_NAMES",
    "RNNCache",
    "RNNParams",
    "adam_init",
    "adam_step",
    "contributions",
    "cross_entropy_loss",
    "gradient_check",
    "hidden_jacobians",
    "init_rnn",
    "loss_and_grads",
    "minibatches",
    "mse_loss",
    "numerical_gradient",
    "rel_error",
    "rnn_backward",
    "rnn_forward",
    "sgd_step",
    "softmax",
    "train",
]
__version__ = "0.1.0"
