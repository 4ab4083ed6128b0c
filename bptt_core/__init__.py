"""bptt_core: the numpy engine behind the BPTT book.

h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h),  y_t = phi(W_oh h_t + b_o).
Arrays over steps are 0-based (xs[t - 1] is x_t); hidden states are h[0..T] with h[0] = h0.
"""

from .anatomy import contributions, hidden_jacobians
from .autodiff import Tape, tape_loss_and_grads
from .cells import (
    GRUParams,
    LSTMParams,
    gru_backward,
    gru_forward,
    init_gru,
    init_lstm,
    lstm_backward,
    lstm_forward,
)
from .checkpointing import checkpointed_loss_and_grads
from .clipping import clip_grad_norm, clip_grad_value, global_norm
from .flow import jacobian_products, latch_fixed_point, product_norms, reach
from .gradcheck import gradient_check, numerical_gradient, rel_error
from .interop import from_torch_state_dict, to_torch_state_dict
from .losses import cross_entropy_loss, loss_and_grads, mse_loss
from .optim import AdamState, adam_init, adam_step, minibatches, sgd_step, train
from .rnn import (
    ACTIVATIONS,
    OUTPUTS,
    PARAM_NAMES,
    RNNCache,
    RNNParams,
    init_rnn,
    rnn_backward,
    rnn_forward,
    softmax,
)
from .rtrl import rtrl_loss_and_grads
from .stateful import randomized_truncation, train_stateful, window_loss_and_grads
from .tasks import ADDING_BASELINE, adding_problem
from .truncation import truncated_bptt, truncation_mask, truncation_windows

__all__ = [
    "ACTIVATIONS",
    "ADDING_BASELINE",
    "AdamState",
    "GRUParams",
    "LSTMParams",
    "OUTPUTS",
    "PARAM_NAMES",
    "RNNCache",
    "RNNParams",
    "Tape",
    "adam_init",
    "adam_step",
    "adding_problem",
    "checkpointed_loss_and_grads",
    "clip_grad_norm",
    "clip_grad_value",
    "contributions",
    "cross_entropy_loss",
    "from_torch_state_dict",
    "global_norm",
    "gradient_check",
    "gru_backward",
    "gru_forward",
    "hidden_jacobians",
    "init_gru",
    "init_lstm",
    "init_rnn",
    "jacobian_products",
    "latch_fixed_point",
    "loss_and_grads",
    "lstm_backward",
    "lstm_forward",
    "minibatches",
    "mse_loss",
    "numerical_gradient",
    "product_norms",
    "randomized_truncation",
    "reach",
    "rel_error",
    "rnn_backward",
    "rnn_forward",
    "rtrl_loss_and_grads",
    "sgd_step",
    "softmax",
    "tape_loss_and_grads",
    "to_torch_state_dict",
    "train",
    "train_stateful",
    "truncated_bptt",
    "truncation_mask",
    "truncation_windows",
    "window_loss_and_grads",
]
__version__ = "0.1.0"
