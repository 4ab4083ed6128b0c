"""The machinery every self-check shares: run the learner's function, compare, diagnose.

A check runs the learner's function on a small fixed problem and compares each output with
bptt_core's. When something is off it compares the learner's numbers with what each
well-known mistake would produce; a match names the mistake and says how to fix it. No match
says which output is wrong and by how much.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from ..gradcheck import rel_error

TOLERANCE = 1e-7  # a correct float64 implementation lands near 1e-15; a mistake near 1e-1


@dataclass
class CheckResult:
    """The verdict of a self-check: truthy when correct; ``message`` says what to fix."""

    correct: bool
    message: str
    mistake: str | None = None
    errors: dict[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.correct

    def __str__(self) -> str:
        return self.message

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.correct else "#b35900"
        return f'<p style="color:{colour}"><strong>{self.message}</strong></p>'


def _as_named(value: object, names: list[str] | None) -> dict[str, np.ndarray] | str:
    """{name: float64 array} from a dict, or from one array (named "output").

    Returns a message instead when the value is not real numbers in float64 (or integers).
    """
    if isinstance(value, Mapping):
        items = dict(value)
    elif names is None or names == ["output"]:
        items = {"output": value}
    else:
        return f"expected a dict with keys {', '.join(names)}, got {type(value).__name__}"
    named = {}
    for name, v in items.items():
        label = "your output" if name == "output" else f"{name}"
        try:
            raw = np.asarray(v)
        except (TypeError, ValueError):
            return f"{label}: expected an array of numbers, got {type(v).__name__}"
        if raw.dtype.kind not in "iuf":
            return f"{label}: expected an array of real numbers, got dtype {raw.dtype}"
        if raw.dtype.kind == "f" and raw.dtype.itemsize < 8:
            return (f"{label}: computed in {raw.dtype}, which carries about 7 digits; the "
                    f"check needs float64 (keep the arrays as numpy gives them)")
        named[name] = raw.astype(np.float64)
    return named


def _matches(got: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> bool:
    return all(name in got and got[name].shape == value.shape
               and rel_error(got[name], value) < TOLERANCE for name, value in theirs.items())


def verdict(
    got: object,
    expected: object,
    mistakes: Mapping[str, tuple[object, str]] | None = None,
) -> CheckResult:
    """Compare a learner's output(s) with the expected ones and name the mistake that fits.

    got, expected: one array, or {name: array}.
    mistakes: {mistake name: (the output(s) that mistake produces, the hint to show)}.
    """
    mistakes = mistakes or {}
    want = _as_named(expected, None)
    names = list(want)
    have = _as_named(got, names)
    if isinstance(have, str):
        return CheckResult(False, f"✗ {have}")
    missing = [name for name in names if name not in have]
    if missing:
        return CheckResult(False, f"✗ missing output(s): {', '.join(missing)} "
                                  f"(return a dict with keys {', '.join(names)})")
    for mistake, (theirs, hint) in mistakes.items():  # a mistake may show as a wrong shape
        theirs = _as_named(theirs, names)
        if any(have[n].shape != want[n].shape for n in names) and _matches(have, theirs):
            return CheckResult(False, f"✗ likely mistake, {mistake}: {hint}", mistake=mistake)
    for name in names:
        if not np.all(np.isfinite(have[name])):
            label = "your output" if name == "output" else name
            return CheckResult(False, f"✗ {label} contains NaN or inf")
        if have[name].shape != want[name].shape:
            label = "" if name == "output" else f"{name}: "
            return CheckResult(False, f"✗ {label}expected shape {want[name].shape}, "
                                      f"got {have[name].shape}")
    errors = {name: rel_error(have[name], want[name]) for name in names}
    wrong = [name for name in names if not errors[name] < TOLERANCE]
    if not wrong:
        return CheckResult(True, "✓ correct", errors=errors)
    for mistake, (theirs, hint) in mistakes.items():
        if _matches(have, _as_named(theirs, names)):
            return CheckResult(False, f"✗ likely mistake, {mistake}: {hint}", mistake=mistake,
                               errors=errors)
    if names == ["output"]:
        detail = f"relative error {errors['output']:.2g}"
        return CheckResult(False, f"✗ wrong: {detail}; no common mistake fits", errors=errors)
    detail = ", ".join(f"{name} (relative error {errors[name]:.2g})" for name in wrong)
    return CheckResult(False, f"✗ wrong: {detail}; the others match", errors=errors)


def call_learner(function: Callable, args: tuple) -> tuple[object, CheckResult | None]:
    """(``function(*args)`` on copies of ``args``, None), or (None, a failed CheckResult).

    An exception from the learner's code becomes a failed check that names it.
    """
    try:
        return function(*copy.deepcopy(args)), None
    except NotImplementedError:
        return None, CheckResult(False, "✗ not implemented yet: replace "
                                        "`raise NotImplementedError`")
    except Exception as error:  # the learner's code: report it, do not crash the page
        return None, CheckResult(False, f"✗ your function raised {type(error).__name__}: "
                                        f"{error}")


def run_check(
    function: Callable,
    args: tuple,
    expected: object,
    mistakes: Mapping[str, tuple[object, str]] | None = None,
) -> CheckResult:
    """Call the learner's ``function(*args)`` on copies of ``args`` and give the verdict.

    An exception from the learner's code becomes a failed check that names it.
    """
    got, failed = call_learner(function, args)
    if failed is not None:  # (a failed CheckResult is falsy: test it against None)
        return failed
    return verdict(got, expected, mistakes)
