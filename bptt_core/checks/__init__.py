"""Self-checks for exercises and coursework: "correct", or the name of the likely mistake.

Each check takes the learner's function, runs it on a small fixed problem and returns a
CheckResult (truthy when correct; print it to read the hint). One module per chapter:

    forward    chapters 0-1  check_to_time_major, check_rnn_step
    loss       chapter 2     check_mse_gradient
    chain      chapter 3     check_single_step_grad
    backward   chapter 4     check_rnn_backward
    multistep  chapter 4     check_contributions
    weights    chapter 5     check_weight_grads
    biases     chapter 6     check_bias_grads
    updates    chapter 7     check_sgd_update, check_adam_update
    vanishing  chapter 8     check_jacobian_products, check_latch
    clipping   chapter 9     check_clip_by_global_norm
    truncation chapter 10    check_kept_pairs
    lstm       chapter 11    check_lstm_step_backward
    gru        chapter 11    check_gru_step_backward
    initialization chapter 12 check_gains, check_orthogonal_init
    rtrl       chapter 13    check_rtrl_step
    stateful   chapter 14    check_pair_weights
    interop    chapter 15    check_keras_lstm
    text       chapter 16    check_bits_per_char
"""

from ._core import TOLERANCE, CheckResult, run_check, verdict
from .backward import BACKWARD_MISTAKES, check_problem, check_rnn_backward, mistaken_rnn_backward
from .biases import BIAS_MISTAKES, check_bias_grads
from .chain import SINGLE_STEP_MISTAKES, check_single_step_grad
from .clipping import CLIP_MISTAKES, check_clip_by_global_norm
from .forward import check_rnn_step, check_to_time_major
from .gru import GRU_STEP_MISTAKES, check_gru_step_backward
from .initialization import (
    GAIN_MISTAKES,
    ORTHOGONAL_MISTAKES,
    check_gains,
    check_orthogonal_init,
)
from .interop import KERAS_MISTAKES, check_keras_lstm
from .loss import MSE_GRADIENT_MISTAKES, check_mse_gradient
from .lstm import LSTM_STEP_MISTAKES, check_lstm_step_backward
from .multistep import CONTRIBUTION_MISTAKES, check_contributions
from .rtrl import RTRL_STEP_MISTAKES, check_rtrl_step
from .stateful import PAIR_WEIGHT_MISTAKES, check_pair_weights
from .text import BITS_MISTAKES, check_bits_per_char
from .truncation import KEPT_PAIRS_MISTAKES, check_kept_pairs
from .updates import ADAM_MISTAKES, SGD_MISTAKES, check_adam_update, check_sgd_update
from .vanishing import (
    JACOBIAN_PRODUCT_MISTAKES,
    LATCH_MISTAKES,
    check_jacobian_products,
    check_latch,
)
from .weights import WEIGHT_MISTAKES, check_weight_grads

__all__ = [
    "ADAM_MISTAKES",
    "BACKWARD_MISTAKES",
    "BIAS_MISTAKES",
    "BITS_MISTAKES",
    "CLIP_MISTAKES",
    "CONTRIBUTION_MISTAKES",
    "CheckResult",
    "GAIN_MISTAKES",
    "GRU_STEP_MISTAKES",
    "JACOBIAN_PRODUCT_MISTAKES",
    "KERAS_MISTAKES",
    "KEPT_PAIRS_MISTAKES",
    "LATCH_MISTAKES",
    "LSTM_STEP_MISTAKES",
    "MSE_GRADIENT_MISTAKES",
    "ORTHOGONAL_MISTAKES",
    "PAIR_WEIGHT_MISTAKES",
    "RTRL_STEP_MISTAKES",
    "SGD_MISTAKES",
    "SINGLE_STEP_MISTAKES",
    "TOLERANCE",
    "WEIGHT_MISTAKES",
    "check_adam_update",
    "check_bias_grads",
    "check_bits_per_char",
    "check_clip_by_global_norm",
    "check_contributions",
    "check_gains",
    "check_gru_step_backward",
    "check_jacobian_products",
    "check_keras_lstm",
    "check_kept_pairs",
    "check_latch",
    "check_lstm_step_backward",
    "check_mse_gradient",
    "check_orthogonal_init",
    "check_pair_weights",
    "check_problem",
    "check_rnn_backward",
    "check_rnn_step",
    "check_rtrl_step",
    "check_sgd_update",
    "check_single_step_grad",
    "check_to_time_major",
    "check_weight_grads",
    "mistaken_rnn_backward",
    "run_check",
    "verdict",
]
