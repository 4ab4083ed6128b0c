"""The bridge to PyTorch (chapter 15): the state dict computes the book's network under
PyTorch's documented equations, written here in numpy; the same with real torch.nn when
PyTorch is installed (skipped otherwise: PyTorch is not a dependency of the book)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_problem

import bptt_core as bc
from bptt_core import interop
from bptt_core.interop import TORCH_KEYS, from_torch_state_dict, to_torch_state_dict


def sigmoid(a):
    return 1.0 / (1.0 + np.exp(-a))


def torch_equations(state, xs, h0=None, kind="rnn"):
    """Outputs y_t of torch.nn.RNN/LSTM (one layer, seq-first) + Linear, as PyTorch documents
    them, for xs (T, B, D): gate order i, f, g, o and two biases per gate."""
    W_ih, W_hh = state["rnn.weight_ih_l0"], state["rnn.weight_hh_l0"]
    b_ih, b_hh = state["rnn.bias_ih_l0"], state["rnn.bias_hh_l0"]
    H = W_hh.shape[1]
    h = np.zeros((xs.shape[1], H)) if h0 is None else h0
    c = np.zeros_like(h)
    ys = []
    for x in xs:
        pre = x @ W_ih.T + b_ih + h @ W_hh.T + b_hh
        if kind == "rnn":
            h = np.tanh(pre)
        else:
            i, f, g, o = (pre[:, n * H:(n + 1) * H] for n in range(4))
            c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
            h = sigmoid(o) * np.tanh(c)
        ys.append(h @ state["head.weight"].T + state["head.bias"])
    return np.stack(ys)


def lstm_problem(seed=0, B=3):
    _, xs, _, h0 = make_problem(seed, T=6, D=3, H=4, O=2, B=B)
    params = bc.init_lstm(3, 4, 2, seed=seed)
    rng = np.random.default_rng(seed + 100)
    for g in "fciq":
        setattr(params, f"b_{g}", rng.normal(0.0, 0.5, size=4))
    params.b_o = rng.normal(size=2)
    return params, xs, h0


def test_keys_and_shapes():
    params, *_ = make_problem(0, T=3, D=3, H=4, O=2)
    state = to_torch_state_dict(params)
    assert tuple(state) == TORCH_KEYS
    assert state["rnn.weight_ih_l0"].shape == (4, 3) and state["head.weight"].shape == (2, 4)
    lstm_state = to_torch_state_dict(lstm_problem()[0])
    assert lstm_state["rnn.weight_ih_l0"].shape == (16, 3)
    assert lstm_state["rnn.weight_hh_l0"].shape == (16, 4)
    assert lstm_state["rnn.bias_hh_l0"].shape == (16,) and not lstm_state["rnn.bias_hh_l0"].any()


def test_rnn_state_dict_computes_the_book_network():
    params, xs, _, h0 = make_problem(0, T=7, D=3, H=4, O=2, B=3)
    y_book = bc.rnn_forward(params, xs, h0).y
    y_torch = torch_equations(to_torch_state_dict(params), xs, h0)
    assert bc.rel_error(y_torch, y_book) < 1e-12


def test_lstm_state_dict_computes_the_book_network():
    params, xs, h0 = lstm_problem()
    y_book = bc.lstm_forward(params, xs, h0).y
    y_torch = torch_equations(to_torch_state_dict(params), xs, h0, kind="lstm")
    assert bc.rel_error(y_torch, y_book) < 1e-12


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_from_torch_sums_the_two_biases(kind):
    rng = np.random.default_rng(5)
    gates = 1 if kind == "rnn" else 4
    H, D, O = 4, 3, 2
    state = {"rnn.weight_ih_l0": rng.normal(size=(gates * H, D)),
             "rnn.weight_hh_l0": rng.normal(size=(gates * H, H)) / 2,
             "rnn.bias_ih_l0": rng.normal(size=gates * H),
             "rnn.bias_hh_l0": rng.normal(size=gates * H),
             "head.weight": rng.normal(size=(O, H)), "head.bias": rng.normal(size=O)}
    params = from_torch_state_dict(state, kind=kind)
    xs = rng.normal(size=(5, 2, D))
    forward = bc.rnn_forward if kind == "rnn" else bc.lstm_forward
    assert bc.rel_error(forward(params, xs).y, torch_equations(state, xs, kind=kind)) < 1e-12
    # and back: the book keeps one bias, so bias_ih_l0 holds the sum
    again = to_torch_state_dict(params)
    assert np.allclose(again["rnn.bias_ih_l0"], state["rnn.bias_ih_l0"] + state["rnn.bias_hh_l0"],
                       rtol=0, atol=1e-15)


def test_round_trip_is_exact():
    params, *_ = make_problem(1, T=3, D=3, H=4, O=2)
    back = from_torch_state_dict(to_torch_state_dict(params))
    for name, value in params.items():  # exact: copies, and adding zeros changes nothing
        np.testing.assert_array_equal(getattr(back, name), value)
    lstm = lstm_problem(2)[0]
    back = from_torch_state_dict(to_torch_state_dict(lstm), kind="lstm")
    for name, value in lstm.items():
        np.testing.assert_array_equal(getattr(back, name), value)


def test_result_does_not_share_memory():
    params, *_ = make_problem(1, T=3, D=3, H=4, O=2)
    state = to_torch_state_dict(params)
    state["rnn.weight_hh_l0"][0, 0] += 1.0
    back = from_torch_state_dict(state)
    state["rnn.weight_hh_l0"][0, 0] += 1.0
    assert back.W_hh[0, 0] == params.W_hh[0, 0] + 1.0  # exact: one addition of 1.0


def test_planted_bug_book_gate_order_is_caught(monkeypatch):
    # stacking the gates in the book's order f, i, c, q instead of PyTorch's i, f, g, o
    monkeypatch.setattr(interop, "TORCH_LSTM_ORDER", ("f", "i", "c", "q"))
    params, xs, h0 = lstm_problem()
    y_torch = torch_equations(to_torch_state_dict(params), xs, h0, kind="lstm")
    assert bc.rel_error(y_torch, bc.lstm_forward(params, xs, h0).y) > 1e-3


def test_gru_is_refused_with_the_reason():
    with pytest.raises(ValueError, match="reset gate after the recurrent product"):
        to_torch_state_dict(bc.init_gru(3, 4, 2, seed=0))
    with pytest.raises(ValueError, match="kind: expected 'rnn' or 'lstm', got 'gru'"):
        from_torch_state_dict(to_torch_state_dict(make_problem(0, 2, 3, 4, 2)[0]), kind="gru")


def test_bad_input_names_the_argument():
    state = to_torch_state_dict(make_problem(0, 2, 3, 4, 2)[0])
    with pytest.raises(ValueError, match="kind: expected one of"):
        from_torch_state_dict(state, kind="transformer")
    with pytest.raises(ValueError, match=r"missing \['head.bias'\]"):
        from_torch_state_dict({k: v for k, v in state.items() if k != "head.bias"})
    with pytest.raises(ValueError, match=r"unexpected \['rnn.weight_ih_l1'\]"):
        from_torch_state_dict({**state, "rnn.weight_ih_l1": state["rnn.weight_ih_l0"]})
    with pytest.raises(ValueError, match=r"weight_ih_l0'\]: expected shape \(4H, D\)"):
        from_torch_state_dict(to_torch_state_dict(make_problem(0, 2, 3, 3, 2)[0]), kind="lstm")
    with pytest.raises(ValueError, match=r"weight_hh_l0'\]: expected shape \(4H, H\)"):
        from_torch_state_dict(state, kind="lstm")  # H = 4 rows read as 4 gates of 1 unit
    with pytest.raises(ValueError, match=r"state\['head.bias'\]"):
        from_torch_state_dict({**state, "head.bias": np.zeros(3)})
    with pytest.raises(ValueError, match="state: expected a dict"):
        from_torch_state_dict(list(state.items()))
    with pytest.raises(ValueError, match="params: expected RNNParams or LSTMParams"):
        to_torch_state_dict({"W_xh": 1})


# --- with real PyTorch, when it is installed ------------------------------------------------

torch_reason = "PyTorch is not installed (it is not a dependency of the book)"


def torch_module(kind, D, H, O):
    torch = pytest.importorskip("torch", reason=torch_reason)

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = (torch.nn.RNN if kind == "rnn" else torch.nn.LSTM)(D, H)
            self.head = torch.nn.Linear(H, O)

        def forward(self, xs):
            return self.head(self.rnn(xs)[0])

    return torch, Net().double()


@pytest.mark.parametrize("kind", ["rnn", "lstm"])
def test_real_torch_module_computes_the_book_network_and_its_gradients(kind):
    if kind == "rnn":
        params, xs, targets, _ = make_problem(3, T=7, D=3, H=4, O=2, B=3)
    else:
        params, xs, _ = lstm_problem(3)
        targets = np.random.default_rng(3).normal(size=(6, 3, 2))
    torch, net = torch_module(kind, 3, 4, 2)
    state = to_torch_state_dict(params)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    assert {k: tuple(v.shape) for k, v in net.state_dict().items()} == \
        {k: v.shape for k, v in state.items()}
    y = net(torch.from_numpy(xs))
    loss = torch.nn.functional.mse_loss(y, torch.from_numpy(targets))
    loss.backward()  # BPTT
    L, grads = bc.loss_and_grads(params, xs, targets)
    assert abs(loss.item() - L) < 1e-12 * L
    torch_grads = {k: p.grad.numpy() for k, p in net.named_parameters()}
    book = to_torch_state_dict(params.replace(**{n: grads[n] for n, _ in params.items()}))
    for key in TORCH_KEYS:
        # each gate's two biases receive the same gradient, dL/db
        expected = book["rnn.bias_ih_l0"] if key == "rnn.bias_hh_l0" else book[key]
        assert bc.rel_error(torch_grads[key], expected) < 1e-12, key
    back = from_torch_state_dict(net.state_dict(), kind=kind)
    assert bc.rel_error(bc.loss_and_grads(back, xs, targets)[0], L) < 1e-14


def test_real_torch_clip_norm_counts_the_bias_twice():
    params, xs, targets, _ = make_problem(4, T=5, D=3, H=4, O=2, B=2)
    torch, net = torch_module("rnn", 3, 4, 2)
    net.load_state_dict({k: torch.from_numpy(v) for k, v in to_torch_state_dict(params).items()})
    torch.nn.functional.mse_loss(net(torch.from_numpy(xs)), torch.from_numpy(targets)).backward()
    total = torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm=1e9).item()
    _, grads = bc.loss_and_grads(params, xs, targets)
    expected = np.sqrt(bc.global_norm(grads) ** 2 + np.sum(grads["b_h"] ** 2))
    assert abs(total - expected) < 1e-12 * expected
