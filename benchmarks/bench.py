"""Time bptt_core.loss_and_grads against a lean numpy reference (and PyTorch, if installed).

    make bench            # or: .venv/bin/python benchmarks/bench.py [--repeats N]

Forward + backward with a mean-squared-error loss, float64, for the RNN, LSTM and GRU at three
shapes (T, B, D, H, O): a real batch, a chapter's size, a long sequence. The lean reference is
the same mathematics written in this file with nothing but the arithmetic: no input checks, no
named caches, the input projections W x_t of every step in one matrix product, the weight
gradients summed in one product over all steps. Each time is the minimum over several
repeats (the least disturbed run); ratios are bptt_core / lean and bptt_core / PyTorch.
GFLOP/s of a large matrix product on the same machine says how fast this machine is. Before
timing, every reference is checked against bptt_core's gradients, so the race is between
implementations that compute the same numbers.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import bptt_core as bc
from bptt_core.cells import init_gru, init_lstm

SHAPES = {  # name: (T, B, D, H, O)
    "a real batch": (200, 32, 16, 128, 8),
    "a chapter's size": (50, 1, 3, 16, 2),
    "a long sequence": (1000, 1, 1, 32, 1),
}


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


# --- lean references: (params dict, xs (T, B, D), targets (T, B, O)) -> (L, grads) ----------


def lean_rnn(p, xs, targets):
    T, B, _ = xs.shape
    W_xh, W_hh, W_oh = p["W_xh"], p["W_hh"], p["W_oh"]
    H = W_hh.shape[0]
    ax = xs @ W_xh.T + p["b_h"]
    h = np.empty((T + 1, B, H))
    h[0] = 0.0
    for t in range(T):
        h[t + 1] = np.tanh(ax[t] + h[t] @ W_hh.T)
    y = h[1:] @ W_oh.T + p["b_o"]
    diff = y - targets
    L = np.mean(diff**2)
    dz = 2.0 * diff / diff.size
    dh = dz @ W_oh
    da = np.empty_like(h[1:])
    dnext = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        da[t] = (1.0 - h[t + 1] ** 2) * (dh[t] + dnext)
        dnext = da[t] @ W_hh
    da2, dz2 = da.reshape(-1, H), dz.reshape(-1, dz.shape[-1])
    return L, {"W_xh": da2.T @ xs.reshape(-1, xs.shape[-1]),
               "W_hh": da2.T @ h[:-1].reshape(-1, H),
               "W_oh": dz2.T @ h[1:].reshape(-1, H), "b_h": da2.sum(0), "b_o": dz2.sum(0)}


def lean_lstm(p, xs, targets):
    T, B, D = xs.shape
    H = p["W_hf"].shape[0]
    gates = "fic" + "q"
    Wx = np.concatenate([p[f"W_x{g}"] for g in gates])  # (4H, D)
    Wh = np.concatenate([p[f"W_h{g}"] for g in gates])  # (4H, H)
    b = np.concatenate([p[f"b_{g}"] for g in gates])
    ax = xs @ Wx.T + b
    h, c = np.zeros((T + 1, B, H)), np.zeros((T + 1, B, H))
    acts = np.empty((T, B, 4 * H))
    for t in range(T):
        a = ax[t] + h[t] @ Wh.T
        acts[t, :, :2 * H] = sigmoid(a[:, :2 * H])
        acts[t, :, 2 * H:3 * H] = np.tanh(a[:, 2 * H:3 * H])
        acts[t, :, 3 * H:] = sigmoid(a[:, 3 * H:])
        f, i, g, q = np.split(acts[t], 4, axis=1)
        c[t + 1] = f * c[t] + i * g
        h[t + 1] = q * np.tanh(c[t + 1])
    y = h[1:] @ p["W_oh"].T + p["b_o"]
    diff = y - targets
    L = np.mean(diff**2)
    dz = 2.0 * diff / diff.size
    dh_out = dz @ p["W_oh"]
    da = np.empty((T, B, 4 * H))
    dh_next, dc_next = np.zeros((B, H)), np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        f, i, g, q = np.split(acts[t], 4, axis=1)
        tc = np.tanh(c[t + 1])
        dh = dh_out[t] + dh_next
        dc = dh * q * (1.0 - tc**2) + dc_next
        da[t] = np.concatenate([dc * c[t] * f * (1 - f), dc * g * i * (1 - i),
                                dc * i * (1 - g**2), dh * tc * q * (1 - q)], axis=1)
        dh_next, dc_next = da[t] @ Wh, dc * f
    da2 = da.reshape(-1, 4 * H)
    dWx, dWh = da2.T @ xs.reshape(-1, D), da2.T @ h[:-1].reshape(-1, H)
    db = da2.sum(0)
    dz2 = dz.reshape(-1, dz.shape[-1])
    grads = {"W_oh": dz2.T @ h[1:].reshape(-1, H), "b_o": dz2.sum(0)}
    for k, g in enumerate(gates):
        rows = slice(k * H, (k + 1) * H)
        grads[f"W_x{g}"], grads[f"W_h{g}"], grads[f"b_{g}"] = dWx[rows], dWh[rows], db[rows]
    return L, grads


def lean_gru(p, xs, targets):
    T, B, D = xs.shape
    H = p["W_hu"].shape[0]
    Wx = np.concatenate([p["W_xu"], p["W_xr"], p["W_xn"]])
    b = np.concatenate([p["b_u"], p["b_r"], p["b_n"]])
    Wur = np.concatenate([p["W_hu"], p["W_hr"]])
    W_hn = p["W_hn"]
    ax = xs @ Wx.T + b
    h = np.zeros((T + 1, B, H))
    u, r, n = (np.empty((T, B, H)) for _ in range(3))
    for t in range(T):
        ur = sigmoid(ax[t, :, :2 * H] + h[t] @ Wur.T)
        u[t], r[t] = ur[:, :H], ur[:, H:]
        n[t] = np.tanh(ax[t, :, 2 * H:] + (r[t] * h[t]) @ W_hn.T)
        h[t + 1] = u[t] * h[t] + (1.0 - u[t]) * n[t]
    y = h[1:] @ p["W_oh"].T + p["b_o"]
    diff = y - targets
    L = np.mean(diff**2)
    dz = 2.0 * diff / diff.size
    dh_out = dz @ p["W_oh"]
    da = np.empty((T, B, 3 * H))
    dh_next = np.zeros((B, H))
    for t in range(T - 1, -1, -1):
        dh = dh_out[t] + dh_next
        da_u = dh * (h[t] - n[t]) * u[t] * (1 - u[t])
        da_n = dh * (1 - u[t]) * (1 - n[t] ** 2)
        d_rh = da_n @ W_hn
        da_r = d_rh * h[t] * r[t] * (1 - r[t])
        da[t] = np.concatenate([da_u, da_r, da_n], axis=1)
        dh_next = dh * u[t] + d_rh * r[t] + da[t, :, :2 * H] @ Wur
    da2 = da.reshape(-1, 3 * H)
    dWx, db = da2.T @ xs.reshape(-1, D), da2.sum(0)
    hp = h[:-1].reshape(-1, H)
    dWur = da2[:, :2 * H].T @ hp
    dz2 = dz.reshape(-1, dz.shape[-1])
    return L, {"W_xu": dWx[:H], "W_xr": dWx[H:2 * H], "W_xn": dWx[2 * H:],
               "W_hu": dWur[:H], "W_hr": dWur[H:], "W_hn": da2[:, 2 * H:].T @ (r.reshape(-1, H)
                                                                             * hp),
               "b_u": db[:H], "b_r": db[H:2 * H], "b_n": db[2 * H:],
               "W_oh": dz2.T @ h[1:].reshape(-1, H), "b_o": dz2.sum(0)}


CELLS = {"RNN": (bc.init_rnn, lean_rnn), "LSTM": (init_lstm, lean_lstm),
         "GRU": (init_gru, lean_gru)}


# --- PyTorch (optional) ------------------------------------------------------------------------


def torch_runner(cell, params, xs, targets):
    """nn.RNN/LSTM/GRU + a Linear head, loaded with the book's weights; None without torch."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(2)
    D, H = xs.shape[-1], params.W_oh.shape[1]
    module = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}[cell](
        D, H).double()
    head = torch.nn.Linear(H, params.W_oh.shape[0]).double()
    x, d = torch.from_numpy(xs), torch.from_numpy(targets)

    def run():
        module.zero_grad()
        head.zero_grad()
        out, _ = module(x)
        loss = torch.mean((head(out) - d) ** 2)
        loss.backward()
        return loss.item()

    return run


# --- timing ------------------------------------------------------------------------------------


def best_of(f, repeats: int) -> float:
    """The minimum wall time of f() over `repeats` runs (after one warm-up run), in seconds."""
    return best_of_each([f], repeats)[0]


def best_of_each(fs, repeats: int) -> list[float]:
    """The minimum wall time of each f in fs, timed in turns (f1, f2, f1, f2, ...), so that a
    busy machine slows each of them alike and their ratio stays fair."""
    for f in fs:
        f()  # warm-up
    best = [float("inf")] * len(fs)
    for _ in range(repeats):
        for k, f in enumerate(fs):
            start = time.perf_counter()
            f()
            best[k] = min(best[k], time.perf_counter() - start)
    return best


def matmul_gflops() -> float:
    n = 512
    a, b = np.random.default_rng(0).normal(size=(2, n, n))
    return 2 * n**3 / best_of(lambda: a @ b, 10) / 1e9


def problem(cell, shape):
    T, B, D, H, O = shape
    params = CELLS[cell][0](D, H, O, seed=0)
    rng = np.random.default_rng(1)
    xs, targets = rng.normal(size=(T, B, D)), rng.normal(size=(T, B, O))
    return params, xs, targets


def check_reference(cell, shape) -> None:
    params, xs, targets = problem(cell, shape)
    L, grads = bc.loss_and_grads(params, xs, targets)
    L_lean, lean = CELLS[cell][1](dict(params.items()), xs, targets)
    assert abs(L - L_lean) <= 1e-12 * abs(L), (cell, "loss")
    for name, value in lean.items():
        assert bc.rel_error(grads[name], value) < 1e-10, (cell, name)


def measure(cell, shape, repeats):
    params, xs, targets = problem(cell, shape)
    p = dict(params.items())
    runs = [lambda: bc.loss_and_grads(params, xs, targets),
            lambda: CELLS[cell][1](p, xs, targets)]
    torch_run = torch_runner(cell, params, xs, targets)
    times = best_of_each(runs + ([] if torch_run is None else [torch_run]), repeats)
    return times[0], times[1], (None if torch_run is None else times[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="timed runs per case (min)")
    parser.add_argument("--cells", default="RNN,LSTM,GRU", help="comma-separated")
    args = parser.parse_args()
    print(f"large matmul on this machine: {matmul_gflops():.1f} GFLOP/s (float64, 512x512)")
    header = (f"{'cell':5} {'shape (T, B, D, H, O)':24} {'bptt_core':>10} {'lean':>10} "
              f"{'ratio':>6} {'PyTorch':>10} {'ratio':>6}")
    print(header)
    print("-" * len(header))
    worst = {}
    for cell in args.cells.split(","):
        for name, shape in SHAPES.items():
            check_reference(cell, shape)
            book, lean, torch_time = measure(cell, shape, args.repeats)
            ratio = book / lean
            worst[cell] = max(worst.get(cell, 0.0), ratio)
            torch_text = ("not installed", "") if torch_time is None else \
                (f"{1e3 * torch_time:8.2f}ms", f"{book / torch_time:6.2f}")
            print(f"{cell:5} {str(shape):24} {1e3 * book:8.2f}ms {1e3 * lean:8.2f}ms "
                  f"{ratio:6.2f} {torch_text[0]:>10} {torch_text[1]:>6}   ({name})", flush=True)
    for cell, ratio in worst.items():
        print(f"{cell}: bptt_core within {ratio:.2f}x of the lean reference at every shape")


if __name__ == "__main__":
    main()
