"""Chapter 16's engine: the offline text, its codes, the n-gram baselines, bits per character,
the streams, temperature and sampling."""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core import text as tx


def test_the_text_is_offline_long_and_normalized():
    raw = tx.stdlib_docstrings()
    assert len(raw) > 100_000
    text = tx.normalize(raw)
    assert set(text) <= set(tx.ALPHABET) and "  " not in text and text == text.lower()
    assert tx.normalize("A\n\t b\u00e9!") == "a b##"


def test_vocabulary_round_trip_and_bad_characters():
    vocab = tx.Vocabulary(tx.ALPHABET)
    ids = vocab.encode("the rnn (bptt).")
    assert vocab.decode(ids) == "the rnn (bptt)." and ids.dtype == np.int64
    with pytest.raises(ValueError, match=r"^text: expected only characters.*'A'"):
        vocab.encode("A")
    with pytest.raises(ValueError, match=r"^chars: expected a str of at least 2 distinct"):
        tx.Vocabulary("aa")


def test_ngram_bits_written_out_by_hand():
    train = np.array([0, 1, 0, 1, 0])  # n_0 = 3, n_1 = 2; pairs 01, 10, 01, 10
    test = np.array([0, 1, 1])
    # unigram, alpha = 1, V = 2: p(1) = 3/7 for both scored characters test[1:] = 1, 1
    assert abs(tx.ngram_bits(train, test, 2, order=1) - (-np.log2(3 / 7))) < 1e-15
    # bigram: p(1|0) = (2 + 1)/(2 + 2) = 3/4, p(1|1) = (0 + 1)/(2 + 2) = 1/4
    expected = -(np.log2(3 / 4) + np.log2(1 / 4)) / 2
    assert abs(tx.ngram_bits(train, test, 2, order=2) - expected) < 1e-15
    with pytest.raises(ValueError, match=r"^order: expected 1 \(unigram\) or 2"):
        tx.ngram_bits(train, test, 2, order=3)


def test_bits_per_char_is_cross_entropy_over_ln2():
    rng = np.random.default_rng(0)
    z, c = rng.normal(size=(7, 3, 5)), rng.integers(0, 5, size=(7, 3))
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    literal = -np.mean(np.take_along_axis(logp, c[..., None], -1)) / np.log(2)
    assert abs(tx.bits_per_char(z, c) - literal) < 1e-12 * literal
    uniform = tx.bits_per_char(np.zeros((4, 8)), np.arange(4))
    assert abs(uniform - 3.0) < 1e-15  # 8 equally likely characters: 3 bits


def test_streams_line_up_inputs_and_next_characters():
    ids = np.arange(23)
    inputs, targets = tx.streams(ids, 4)  # L = 22 // 4 = 5
    assert inputs.shape == targets.shape == (5, 4)
    assert np.array_equal(inputs[:, 1], np.arange(5, 10))
    assert np.array_equal(targets, inputs + 1)  # the next character, in every stream
    with pytest.raises(ValueError, match=r"^ids: expected at least 5 characters"):
        tx.streams(np.arange(4), 4)


def test_evaluate_bits_equals_the_model_run_by_hand():
    params = bc.init_rnn(4, 6, 4, seed=0)
    ids = np.random.default_rng(1).integers(0, 4, size=41)
    cache = bc.rnn_forward(params, np.eye(4)[ids[:-1]])
    literal = bc.cross_entropy_loss(cache.z, ids[1:])[0] / np.log(2)
    assert abs(tx.evaluate_bits(params, ids) - literal) < 1e-12 * literal
    lstm = bc.init_lstm(4, 3, 4, seed=0)
    assert np.isfinite(tx.evaluate_bits(lstm, ids, n_streams=4))


def test_temperature():
    z = np.array([2.0, 1.0, 0.0])
    assert np.allclose(tx.temperature_probs(z, 1.0), bc.softmax(z), rtol=1e-15)
    cold, hot = tx.temperature_probs(z, 0.1), tx.temperature_probs(z, 10.0)
    assert cold[0] > 0.9999 and np.ptp(hot) < 0.07
    with pytest.raises(ValueError, match=r"^temperature: expected a number > 0"):
        tx.temperature_probs(z, 0)


def test_sample_matches_a_step_by_step_draw_and_is_seeded():
    params = bc.init_rnn(5, 7, 5, seed=2)
    prompt = np.array([1, 2, 3])
    drawn = tx.sample(params, prompt, 12, temperature=0.7, seed=4)
    assert np.array_equal(drawn, tx.sample(params, prompt, 12, temperature=0.7, seed=4))
    rng, h = np.random.default_rng(4), np.zeros(7)
    by_hand = []
    x = list(prompt)
    for _ in range(12):
        cache = bc.rnn_forward(params, np.eye(5)[x], h)
        h, x = cache.h[-1], []
        p = bc.softmax(cache.z[-1] / 0.7)
        by_hand.append(rng.choice(5, p=p))
        x = [by_hand[-1]]
    assert np.array_equal(drawn, by_hand)
    lstm = tx.sample(bc.init_lstm(5, 3, 5, seed=0), prompt, 6, seed=0)
    assert lstm.shape == (6,) and lstm.max() < 5


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"^test: expected classes in \[0, 1\]"):
        tx.ngram_bits(np.array([0, 1, 0]), np.array([0, 2]), 2, order=1)
    with pytest.raises(ValueError, match=r"^params: expected one of RNNParams"):
        tx.evaluate_bits({"W_xh": 1}, np.arange(3))
    with pytest.raises(ValueError, match=r"^params: expected one of RNNParams"):
        tx.sample(None, np.array([0]), 3, seed=0)
    with pytest.raises(ValueError, match=r"^prompt: expected a 1-D integer array"):
        tx.sample(bc.init_rnn(3, 2, 3, seed=0), np.array([]), 3, seed=0)
