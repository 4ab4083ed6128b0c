"""The grader's side of a graded call: its inputs out as plain data, the answer back as plain data.

``RemoteFunction`` stands for a function of the student's notebook in the grader's own
process. The checks of ``bptt_core.checks`` call it like the function itself; each call goes to
the probe in the student's kernel (coursework.probe) and comes back as numbers, lists, strings
and dicts, turned into numpy arrays here: nothing that came from a submission is ever unpickled
or turned into an object with behaviour. Arrays the student's function changed in place are
changed here too, so that a check can see it (A2's "x not restored"). The engine functions
the call entered are kept for ``check_own_code``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from bptt_core.checks._core import CheckResult
from bptt_core.checks.assignments import forbidden

from .runner import KernelGone, KernelSession

MAX_DEPTH = 20
MAX_ITEMS = 1_000_000  # numbers in one answer: the book's problems need a few hundred

class GraderError(BaseException):
    """A problem of the grader, not of the submission: a BaseException, so that the checks'
    ``except Exception`` (meant for the learner's errors) lets it through."""


# --- plain data ------------------------------------------------------------------------------


def encode(value: object) -> object:
    """The grader's inputs as plain data (arrays, the engine's dataclasses, problem recipes)."""
    if value is None or isinstance(value, (bool, str, int, float)):
        return value
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if isinstance(value, np.ndarray):
        return {"__nd__": str(value.dtype), "shape": list(value.shape),
                "data": value.tolist() if value.ndim else [value.tolist()]}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, Mapping):
        return {"__dict__": [[k, encode(v)] for k, v in value.items()]}
    if dataclasses.is_dataclass(value) and type(value).__module__.startswith("bptt_core"):
        cls = type(value)
        return {"__obj__": f"{cls.__module__}:{cls.__qualname__}",
                "fields": {f.name: encode(getattr(value, f.name))
                           for f in dataclasses.fields(value) if f.init}}
    recipe = getattr(value, "recipe", None)
    if callable(value) and isinstance(recipe, Mapping):
        return {"__recipe__": recipe["call"], "args": [encode(a) for a in recipe["args"]],
                "pick": recipe.get("pick")}
    raise GraderError(f"the grader cannot send a {type(value).__name__} to a kernel")


class Unreadable(ValueError):
    """An answer that is not plain data of the expected form."""


def decode(value: object, depth: int = 0, count: list[int] | None = None) -> object:
    """An answer from the kernel, as plain Python and numpy values; never anything else."""
    count = count if count is not None else [0]
    count[0] += 1
    if count[0] > MAX_ITEMS or depth > MAX_DEPTH:
        raise Unreadable("the answer is too large or too deeply nested")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, float)):
        return value
    if isinstance(value, list):
        return [decode(v, depth + 1, count) for v in value]
    if isinstance(value, dict):
        if "__nd__" in value:
            dtype = np.dtype(str(value["__nd__"]))
            if dtype.kind not in "biuf":
                raise Unreadable(f"an array of dtype {dtype}")
            data, shape = value.get("data"), value.get("shape")
            if not (isinstance(shape, list) and all(isinstance(n, int) and n >= 0
                                                     for n in shape)):
                raise Unreadable("an array without a shape")
            size = math.prod(shape)
            count[0] += size
            if count[0] > MAX_ITEMS:
                raise Unreadable("the answer is too large")
            array = np.asarray(_numbers(data, depth + 1), dtype=dtype)
            if array.size != size:
                raise Unreadable("an array whose data does not fit its shape")
            return array.reshape(shape)
        if "__unencodable__" in value:
            return f"<{str(value['__unencodable__'])[:100]}>"
        if "__dict__" in value and isinstance(value["__dict__"], list):
            out = {}
            for pair in value["__dict__"]:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise Unreadable("a malformed dict")
                key = decode(pair[0], depth + 1, count)
                if not isinstance(key, (str, int, float, bool)) and key is not None:
                    key = str(key)
                out[key] = decode(pair[1], depth + 1, count)
            return out
    raise Unreadable(f"a {type(value).__name__} where plain data was expected")


def _numbers(data: object, depth: int) -> object:
    if depth > MAX_DEPTH:
        raise Unreadable("an array nested too deeply")
    if isinstance(data, list):
        return [_numbers(v, depth + 1) for v in data]
    if isinstance(data, (int, float)) and not isinstance(data, bool) or isinstance(data, bool):
        return data
    raise Unreadable("an array holding something that is not a number")


def _write_back(given: object, after: object) -> None:
    """Make ``given`` (the grader's argument) look as the student's function left it."""
    if isinstance(given, np.ndarray) and isinstance(after, np.ndarray):
        if given.shape == after.shape and given.flags.writeable:
            np.copyto(given, after.astype(given.dtype, copy=False), casting="unsafe")
        return
    if isinstance(given, dict) and isinstance(after, dict):
        for key, value in given.items():
            if key in after:
                _write_back(value, after[key])


# --- the stand-in -----------------------------------------------------------------------------


class RemoteError(Exception):
    """The student's function raised: its exception's name and message, as text."""


def _named_error(ename: str, evalue: str) -> RemoteError:
    """An exception named like the student's one, so that a check's message reads "your
    function raised IndexError: ..." (the name is text from the kernel, cleaned)."""
    name = "".join(c for c in ename if c.isalnum() or c == "_")[:60] or "Error"
    if not name[0].isalpha():
        name = "Error" + name
    return type(name, (RemoteError,), {})(evalue)


class RemoteFunction:
    """A function of the student's notebook, called in their kernel; see the module's doc."""

    def __init__(self, session: KernelSession, name: str, *, helpers: tuple[str, ...] = (),
                 call_timeout: float = 30.0) -> None:
        self.session, self.__name__, self.helpers = session, name, helpers
        self.__qualname__ = name
        self.call_timeout = call_timeout
        self.entered: set[str] = set()

    def _ask(self, message: dict) -> dict:
        reply = self.session.request(message, self.call_timeout)
        if reply.get("status") == "missing":
            raise NameError(f"name '{self.__name__}' is not defined (your notebook does not "
                            f"define it, or its cell failed)")
        if reply.get("status") == "probe error":
            raise RemoteError(f"the grader could not call it: {reply.get('evalue', '')}")
        return reply

    def __call__(self, *args: Any) -> object:
        try:
            reply = self._ask({"op": "call", "name": self.__name__, "args": encode(list(args)),
                               "helpers": list(self.helpers)})
        except KernelGone as error:
            text = str(error)
            raise _named_error("TimeoutError" if "still running" in text else "KernelDied",
                               text) from None
        self.entered.update(str(q) for q in reply.get("entered", []) if isinstance(q, str))
        try:
            after = decode(reply.get("args", []))
            if isinstance(after, list) and len(after) == len(args):
                for given, changed in zip(args, after):
                    _write_back(given, changed)
        except Unreadable:
            pass
        if reply.get("status") == "error":
            ename, evalue = str(reply.get("ename", "Error")), str(reply.get("evalue", ""))
            if ename == "NotImplementedError":
                raise NotImplementedError(evalue)
            if ename.endswith("MemoryError"):  # numpy's is _ArrayMemoryError
                evalue = (f"ran out of memory (the limit is "
                          f"{self.session.sandbox.limits.memory_mb} MB)")
            raise _named_error(ename, evalue)
        try:
            return decode(reply.get("value"))
        except Unreadable as error:
            raise RemoteError(f"its answer could not be read: {error}") from None

    def remote_own_code(self, names: tuple[str, ...]) -> CheckResult:
        """check_own_code's verdict: the engine functions reachable from the function (found
        in its kernel by identity) and those its graded calls entered."""
        reply = self._ask({"op": "own_code", "name": self.__name__,
                           "helpers": list(self.helpers)})
        reachable = {str(q) for q in reply.get("reachable", []) if isinstance(q, str)}
        found = sorted(q for q in reachable | self.entered if forbidden(q, names))
        if found:
            shown = ", ".join(q.removeprefix("bptt_core.") for q in found[:3])
            return CheckResult(False, f"✗ {self.__name__} calls {shown}: this task asks you "
                                      f"to write it yourself; bptt_core is there to compare "
                                      f"with, not to call", mistake="called the engine")
        return CheckResult(True, "✓ your own code")


__all__ = ["GraderError", "KernelGone", "RemoteError", "RemoteFunction", "decode", "encode"]
