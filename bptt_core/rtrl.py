"""Real-Time Recurrent Learning (Williams & Zipser 1989): forward-mode BPTT (chapter 13).

RTRL carries the sensitivities of the current state to the recurrent parameters
theta_h = (W_xh, W_hh, b_h) forward in time, Pi_t = dh_t/dtheta_h (``P`` in code), instead of
keeping the states for a backward pass:

    a_t = W_xh x_t + W_hh h_{t-1} + b_h,   h_t = f(a_t)
    Pi_t = diag(f'(a_t)) (W_hh Pi_{t-1} + Phi_t),   Pi_0 = 0 (and dh_0/dh_0 = I)
    dL/dtheta_h = sum_t Pi_t^T g_t,   g_t = W_oh^T dL_t/dz_t

The direct term Phi_t = da_t/dtheta_h|direct is h_{t-1,q} in row p for (W_hh)_pq, x_{t,q} in
row p for (W_xh)_pq and 1 in row p for (b_h)_p. Pi_t for W_hh alone holds H^3 numbers and
W_hh Pi_{t-1} costs H^4 multiply-adds a step, whatever T is: memory O(H^3), time O(T H^4),
against BPTT's O(T H) and O(T H^2). In return, the gradient of the losses so far is ready at
every step, with nothing stored.
"""

from __future__ import annotations

import numpy as np

from ._validate import as_float_array
from .rnn import ACTIVATIONS, RNNParams, batch_sum, check_inputs, mv, outer_sum


def _through_W_hh(W_hh: np.ndarray, P: np.ndarray, batch: tuple[int, ...]) -> np.ndarray:
    """W_hh P: the sensitivities of h_{t-1} carried into a_t (a product over P's first H)."""
    H = W_hh.shape[0]
    flat = P.reshape(*batch, H, -1)  # (..., H, everything else): one matrix product
    return (W_hh @ flat).reshape(P.shape)


def _times_P(dh: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Pi^T g: sum_i g_i P[i, ...], summed over the batch too."""
    H = dh.shape[-1]
    rest = P.shape[dh.ndim:]  # the parameter's own shape
    return np.tensordot(dh.reshape(-1, H), P.reshape(-1, H, *rest), axes=([0, 1], [0, 1]))


def rtrl_loss_and_grads(params: RNNParams, xs: object, targets: object, h0: object = None, *,
                        activation: str = "tanh") -> tuple[float, dict[str, np.ndarray]]:
    """The mean squared error of the RNN (identity output) and its exact gradient, computed
    forward in time: the loss of ``loss_and_grads``, and the same gradient as BPTT.

    params: RNNParams; xs (T, [B,] D); targets (T, [B,] O); h0 zeros if None; activation:
    "tanh" or "relu". Keeps the sensitivities dh_t/dW_xh (H, H, D), dh_t/dW_hh (H, H, H),
    dh_t/db_h (H, H) and dh_t/dh_0 (H, H) per sequence, never the past states.
    Returns (L, grads) with grads named like the parameters plus "h0". Chapter 13.
    """
    if not isinstance(params, RNNParams):
        raise ValueError(f"params: expected RNNParams, got {type(params).__name__}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation: expected one of {', '.join(ACTIVATIONS)}, got "
                         f"{activation!r}")
    xs, h = check_inputs(params, xs, h0)
    D, H, O = params.sizes
    targets = as_float_array("targets", targets)
    if targets.shape != xs.shape[:-1] + (O,):
        raise ValueError(f"targets: expected shape (T, [B,] O) = {xs.shape[:-1] + (O,)}, got "
                         f"{targets.shape}")
    f, slope = ACTIVATIONS[activation]
    p, batch, N = params, h.shape[:-1], targets.size
    eye = np.eye(H)
    # sensitivities of h_0: nothing depends on the weights yet; dh_0/dh_0 = I
    P_xh = np.zeros((*batch, H, H, D))  # [..., i, p, q] = dh_t,i / d(W_xh)_pq
    P_hh = np.zeros((*batch, H, H, H))  # [..., i, p, q] = dh_t,i / d(W_hh)_pq
    P_b = np.zeros((*batch, H, H))  # [..., i, p] = dh_t,i / d(b_h)_p
    P_0 = np.broadcast_to(eye, (*batch, H, H)).copy()  # [..., i, q] = dh_t,i / dh_0,q
    grads = {name: np.zeros_like(value) for name, value in p.items()}
    grads["h0"] = np.zeros_like(h)
    L = 0.0
    for t in range(1, xs.shape[0] + 1):
        x_t, h_prev = xs[t - 1], h
        h = f(mv(p.W_xh, x_t) + mv(p.W_hh, h_prev) + p.b_h)
        s = slope(h)[..., :, None]  # diag(f'(a_t)) applied to the rows i of every P
        # Pi_t = diag(f'(a_t)) (W_hh Pi_{t-1} + Phi_t); Phi_t: x_{t,q}, h_{t-1,q}, 1 in row p
        P_xh = s[..., None] * (_through_W_hh(p.W_hh, P_xh, batch)
                               + eye[:, :, None] * x_t[..., None, None, :])
        P_hh = s[..., None] * (_through_W_hh(p.W_hh, P_hh, batch)
                               + eye[:, :, None] * h_prev[..., None, None, :])
        P_b = s * (_through_W_hh(p.W_hh, P_b, batch) + eye)
        P_0 = s * _through_W_hh(p.W_hh, P_0, batch)  # h_0 enters only through h_{t-1}
        # the loss of step t, and its gradient with respect to z_t and h_t
        diff = mv(p.W_oh, h) + p.b_o - targets[t - 1]
        L += float(np.sum(diff**2)) / N
        dz = 2.0 * diff / N
        dh = mv(p.W_oh.T, dz)  # g_t = dL_t/dh_t: only this step's loss; the future is unknown
        grads["W_oh"] += outer_sum(dz, h)
        grads["b_o"] += batch_sum(dz)
        # dL_t/dtheta_h = Pi_t^T g_t, summed over the batch (not for h_0: one per sequence)
        grads["W_xh"] += _times_P(dh, P_xh)
        grads["W_hh"] += _times_P(dh, P_hh)
        grads["b_h"] += _times_P(dh, P_b)
        grads["h0"] += np.einsum("...i,...ik->...k", dh, P_0)
    return L, grads
