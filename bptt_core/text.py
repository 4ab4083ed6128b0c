"""Characters for the capstone (chapter 16): an offline text, its codes, baselines and samples.

The text is the documentation that ships with every Python: the docstrings of a fixed list of
standard-library modules, lower-cased, with every run of white space made one space and every
character outside a small alphabet made "#". Nothing is downloaded; the text differs a little
between Python versions, so the book's numbers are computed on the page.

A character model reads c_1, ..., c_t and gives p(c_{t+1} | c_1..c_t) = softmax(z_t). Its
quality on held-out text is measured in bits per character,

    bpc = -(1/N) sum_t log2 p(c_{t+1} | c_1..c_t) = (cross-entropy in nats) / ln 2,

and compared with the unigram model p(c) and the bigram model p(c | previous character),
both counted on the training text with add-alpha smoothing.
"""

from __future__ import annotations

import importlib
import inspect
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ._validate import as_float_array, require_finite
from .losses import cross_entropy_loss
from .rnn import softmax
from .stateful import _network, final_state, one_hot

# Modules whose docstrings make the text (those missing on some platform are skipped).
STDLIB_MODULES = (
    "textwrap", "string", "json", "argparse", "collections", "functools", "itertools",
    "random", "statistics", "fractions", "decimal", "datetime", "calendar", "heapq", "bisect",
    "shutil", "pathlib", "re", "csv", "logging", "unittest", "subprocess", "threading",
    "email", "urllib.parse", "difflib", "pickle", "typing", "dataclasses", "enum", "abc",
    "contextlib", "inspect", "ast", "tokenize", "zipfile", "tarfile", "configparser",
    "gettext", "locale", "socket", "asyncio", "queue", "sched", "operator", "copy", "pprint",
    "reprlib", "weakref", "types", "io", "codecs", "glob", "fnmatch", "tempfile", "hashlib",
    "hmac", "secrets", "base64", "struct", "mimetypes", "smtplib", "imaplib", "ftplib",
    "html.parser", "webbrowser", "doctest", "pdb", "timeit", "trace", "warnings",
    "traceback", "platform", "getopt", "optparse", "cmd", "shlex", "wave", "colorsys",
)
ALPHABET = " abcdefghijklmnopqrstuvwxyz0123456789.,:;'\"()-_=#"
UNKNOWN = "#"  # what every character outside the alphabet becomes


def stdlib_docstrings(modules: Sequence[str] = STDLIB_MODULES) -> str:
    """The docstrings of ``modules`` and of their public members, in a fixed order.

    Returns the raw text (several hundred thousand characters for the default list).
    """
    docs = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ImportError:  # e.g. a module some platform's Python is built without
            continue
        doc = inspect.getdoc(module)
        if doc:
            docs.append(doc)
        with warnings.catch_warnings():  # e.g. typing.re is deprecated: we only read it
            warnings.simplefilter("ignore", DeprecationWarning)
            for member_name, member in sorted(vars(module).items()):
                if member_name.startswith("_") or getattr(member, "__module__", None) != name:
                    continue
                doc = inspect.getdoc(member)
                if doc:
                    docs.append(doc)
    return "\n\n".join(docs)


def normalize(text: str, alphabet: str = ALPHABET) -> str:
    """Lower case, every run of white space one space, characters outside ``alphabet`` -> "#".

    The alphabet must contain the space and "#".
    """
    if not isinstance(text, str):
        raise ValueError(f"text: expected a str, got {type(text).__name__}")
    if " " not in alphabet or UNKNOWN not in alphabet:
        raise ValueError(f"alphabet: expected a str containing ' ' and {UNKNOWN!r}, "
                         f"got {alphabet!r}")
    text = re.sub(r"\s+", " ", text.lower())
    allowed = set(alphabet)
    return "".join(ch if ch in allowed else UNKNOWN for ch in text)


@dataclass(frozen=True)
class Vocabulary:
    """The characters of a model, in a fixed order: chars[i] is the symbol of class i."""

    chars: str

    def __post_init__(self) -> None:
        if not isinstance(self.chars, str) or len(set(self.chars)) != len(self.chars) \
                or len(self.chars) < 2:
            raise ValueError(f"chars: expected a str of at least 2 distinct characters, "
                             f"got {self.chars!r}")

    @property
    def size(self) -> int:
        """V, the number of characters: the model's input size D and output size O."""
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """The class of every character of ``text``: an integer (len(text),) array."""
        index = {ch: i for i, ch in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"text: expected only characters of the vocabulary, got "
                             f"{''.join(unknown)!r} (normalize the text first)")
        return np.array([index[ch] for ch in text], dtype=np.int64)

    def decode(self, ids: object) -> str:
        """The characters of the classes ``ids``: the inverse of encode."""
        return "".join(self.chars[int(i)] for i in np.asarray(ids).ravel())


def ngram_bits(train: object, test: object, size: int, *, order: int,
               alpha: float = 1.0) -> float:
    """Bits per character of the unigram (order 1) or bigram (order 2) model on ``test``.

    Counted on ``train`` with add-alpha smoothing: p(c) = (n_c + alpha) / (N + alpha V),
    p(c | a) = (n_ac + alpha) / (n_a + alpha V). Both are scored on the same characters,
    test[1:], each predicted from the one before it (the bigram) or from nothing (the unigram).
    train, test: integer classes in [0, size); size V. Chapter 16.
    """
    train, test = np.asarray(train), np.asarray(test)
    for name, ids in (("train", train), ("test", test)):
        if not np.issubdtype(ids.dtype, np.integer) or ids.ndim != 1 or ids.size < 2:
            raise ValueError(f"{name}: expected a 1-D integer array of at least 2 classes, "
                             f"got dtype {ids.dtype} and shape {ids.shape}")
        if ids.min() < 0 or ids.max() >= size:
            raise ValueError(f"{name}: expected classes in [0, {size - 1}] (size = {size}), "
                             f"got values from {ids.min()} to {ids.max()}")
    if order not in (1, 2):
        raise ValueError(f"order: expected 1 (unigram) or 2 (bigram), got {order!r}")
    if not (isinstance(alpha, (int, float)) and alpha > 0):
        raise ValueError(f"alpha: expected a number > 0 (add-alpha smoothing), got {alpha!r}")
    if order == 1:
        counts = np.bincount(train, minlength=size) + alpha
        p = counts[test[1:]] / counts.sum()
    else:
        pairs = np.zeros((size, size))
        np.add.at(pairs, (train[:-1], train[1:]), 1.0)  # pairs[a, c] = n_ac
        pairs += alpha
        p = pairs[test[:-1], test[1:]] / pairs[test[:-1]].sum(axis=1)
    return float(-np.mean(np.log2(p)))


def bits_per_char(logits: object, targets: object) -> float:
    """-(1/N) sum log2 softmax(z_t)[c_{t+1}]: the cross-entropy in bits instead of nats.

    logits (T, [B,] V); targets (T, [B]): the class of the next character. Chapter 16.
    """
    L, _ = cross_entropy_loss(logits, targets)
    return L / np.log(2.0)


def streams(ids: object, n_streams: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut a text into B contiguous streams side by side: (inputs (T, B), targets (T, B)).

    Stream b reads ids[b L .. (b + 1) L - 1] and must predict each next character, so
    targets[t - 1, b] = inputs[t, b] within a stream; L = (len(ids) - 1) // B (the rest of the
    text is left out). Chapter 16.
    """
    ids = np.asarray(ids)
    if not isinstance(n_streams, (int, np.integer)) or n_streams < 1:
        raise ValueError(f"n_streams: expected an integer >= 1, got {n_streams!r}")
    length = (ids.size - 1) // int(n_streams)
    if length < 1:
        raise ValueError(f"ids: expected at least {n_streams + 1} characters for {n_streams} "
                         f"streams, got {ids.size}")
    starts = np.arange(int(n_streams)) * length
    positions = starts[None, :] + np.arange(length)[:, None]  # (T, B)
    return ids[positions], ids[positions + 1]


def evaluate_bits(params: object, ids: object, n_streams: int = 1) -> float:
    """Bits per character of a model on a text, read as ``n_streams`` streams from zero states.

    params: RNNParams or LSTMParams with D = O = V; ids: the text's classes. Every stream
    starts from h0 = 0 (and c0 = 0), so its first characters are predicted with less context;
    more streams make the evaluation faster and a little pessimistic. Chapter 16.
    """
    forward, _ = _network(params)
    inputs, targets = streams(ids, n_streams)
    cache = forward(params, one_hot(inputs, params.sizes[0]))
    return bits_per_char(cache.z, targets)


def temperature_probs(logits: object, temperature: float) -> np.ndarray:
    """p = softmax(z / Omega), Omega the temperature: Omega < 1 sharpens p, > 1 flattens it."""
    z = as_float_array("logits", logits)
    require_finite("logits", z)
    if not (isinstance(temperature, (int, float, np.floating)) and temperature > 0):
        raise ValueError(f"temperature: expected a number > 0, got {temperature!r}")
    return softmax(z / float(temperature))


def sample(
    params: object,
    prompt: object,
    n: int,
    *,
    temperature: float = 1.0,
    seed: object,
) -> np.ndarray:
    """n characters drawn one at a time from p(c_{t+1} | ...) = softmax(z_t / temperature).

    params: RNNParams or LSTMParams with D = O = V; prompt: at least one class, read first
    (its last character's output gives the first draw); each drawn character is fed back as
    the next input. seed: anything np.random.default_rng accepts. Returns the n drawn classes.
    Chapter 16.
    """
    forward, _ = _network(params)
    prompt = np.asarray(prompt)
    if not np.issubdtype(prompt.dtype, np.integer) or prompt.ndim != 1 or prompt.size < 1:
        raise ValueError(f"prompt: expected a 1-D integer array of at least one class, got "
                         f"dtype {prompt.dtype} and shape {prompt.shape}")
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n: expected an integer >= 0, got {n!r}")
    V = params.sizes[0]
    rng = np.random.default_rng(seed)
    cache = forward(params, one_hot(prompt, V))
    drawn = np.empty(int(n), dtype=np.int64)
    for i in range(int(n)):
        p = temperature_probs(cache.z[-1], temperature)
        drawn[i] = rng.choice(V, p=p)
        # the drawn character is the next input; the state carries on from the last step
        cache = forward(params, one_hot(drawn[i:i + 1], V), **final_state(cache))
    return drawn
