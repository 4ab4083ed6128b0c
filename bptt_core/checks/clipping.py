"""Self-check for a hand-written global-norm clip (chapter 9): "correct" or the likely mistake.

The learner writes

    clip_by_global_norm(grads, max_norm) -> {name: clipped gradient}

which multiplies every parameter's gradient by min(1, max_norm / ||g||), where ||g|| is the
norm of all the parameters' gradients together (W_xh, W_hh, W_oh, b_h, b_o; "h0" is not a
parameter and stays out of the norm). The check runs it twice: on a long gradient, which must
be shortened, and on a short one, which must come back unchanged. Returning (clipped, norm),
as bptt_core.clipping.clip_grad_norm does, is accepted too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from ..rnn import PARAM_NAMES
from ._core import CheckResult, call_learner, verdict

CLIP_MISTAKES: dict[str, str] = {
    "element-wise clipping instead of norm clipping": (
        "clip the length of the whole gradient, not each entry: np.clip(g, -max_norm, max_norm) "
        "bounds every entry but turns the gradient; multiply every parameter's gradient by "
        "max_norm / ||g|| instead"
    ),
    "per-parameter norm instead of the global norm": (
        "measure ONE norm over all parameters together, ||g|| = sqrt(sum over W_xh, W_hh, W_oh, "
        "b_h, b_o of np.sum(g**2)), and rescale every gradient by the same factor; clipping "
        "each parameter by its own norm turns the gradient"
    ),
    "rescaled even below the threshold": (
        "only ever shrink: when ||g|| <= max_norm return the gradients unchanged; rescaling "
        "always stretches a short gradient up to max_norm"
    ),
    "divided by max_norm instead of multiplying by max_norm / ||g||": (
        "the factor is max_norm / ||g||: g * (max_norm / norm), not g / max_norm"
    ),
    "factor upside down (||g|| / max_norm)": (
        "the factor is max_norm / ||g||, which is below 1 when clipping, not ||g|| / max_norm, "
        "which lengthens the gradient"
    ),
    "norm without the square root": (
        "the norm is the square root of the sum of squares: np.sqrt(sum of np.sum(g**2)); "
        "without the root the factor is far too small"
    ),
    "h0 included in the norm": (
        "leave grads['h0'] out of the norm: h0 is not a parameter the update changes; sum the "
        "squares of W_xh, W_hh, W_oh, b_h and b_o only"
    ),
}

CASES = ("long gradient", "short gradient")


def clip_problem(seed: int = 9) -> dict[str, tuple[dict[str, np.ndarray], float]]:
    """Two fixed problems {case: (grads, max_norm)} with RNN shapes D = 3, H = 4, O = 2.

    "long gradient": the parameters' gradients have norms 0.5, 8, 3, 1.2, 0.4 (global norm
    about 8.9) and max_norm = 2.5, so two parameters lie above max_norm on their own and
    three below, and several entries exceed it. "short gradient": norms 0.9, 0.7, 0.5, 0.6,
    0.3 (global norm about 1.4), the same max_norm. In both, dL/dh0 has norm 3, enough to
    push the short gradient over the threshold if it were counted.
    """
    rng = np.random.default_rng(seed)
    shapes = {"W_xh": (4, 3), "W_hh": (4, 4), "W_oh": (2, 4), "b_h": (4,), "b_o": (2,),
              "h0": (4,)}
    norms = {"long gradient": (0.5, 8.0, 3.0, 1.2, 0.4, 3.0),
             "short gradient": (0.9, 0.7, 0.5, 0.6, 0.3, 3.0)}
    problems = {}
    for case in CASES:
        grads = {}
        for (name, shape), size in zip(shapes.items(), norms[case]):
            g = rng.normal(size=shape)
            grads[name] = size * g / np.linalg.norm(g)
        problems[case] = (grads, 2.5)
    return problems


def mistaken_clip(grads: Mapping[str, np.ndarray], max_norm: float,
                  mistake: str | None = None) -> dict[str, np.ndarray]:
    """The parameters' clipped gradients, right (mistake None) or with ``mistake``.

    A deliberately breakable twin of bptt_core.clipping.clip_grad_norm (which it must equal
    when mistake is None), used to recognise learners' mistakes; never use it for training.
    Returns {name: array} for W_xh, W_hh, W_oh, b_h, b_o.
    """
    if mistake is not None and mistake not in CLIP_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, CLIP_MISTAKES))}, "
                         f"got {mistake!r}")
    g = {name: np.asarray(grads[name], dtype=np.float64) for name in PARAM_NAMES}
    if mistake == "element-wise clipping instead of norm clipping":
        return {name: np.clip(value, -max_norm, max_norm) for name, value in g.items()}
    if mistake == "per-parameter norm instead of the global norm":
        return {name: value * min(1.0, max_norm / np.linalg.norm(value))
                for name, value in g.items()}
    squares = sum(np.sum(value**2) for value in g.values())
    if mistake == "h0 included in the norm":
        squares += np.sum(np.asarray(grads["h0"]) ** 2)
    norm = squares if mistake == "norm without the square root" else np.sqrt(squares)
    if mistake == "rescaled even below the threshold":
        factor = max_norm / norm
    elif norm <= max_norm:
        factor = 1.0
    elif mistake == "divided by max_norm instead of multiplying by max_norm / ||g||":
        factor = 1.0 / max_norm
    elif mistake == "factor upside down (||g|| / max_norm)":
        factor = norm / max_norm
    else:
        factor = max_norm / norm
    return {name: factor * value for name, value in g.items()}



def _by_case(outputs: Mapping[str, Mapping[str, object]]) -> dict[str, object]:
    """{"W_hh, long gradient": array, ...}: both cases' outputs in one dict for the verdict."""
    return {f"{name}, {case}": value for case, out in outputs.items()
            for name, value in out.items()}


def check_clip_by_global_norm(
    clip_by_global_norm: Callable[[dict[str, np.ndarray], float], object],
) -> CheckResult:
    """Check ``clip_by_global_norm(grads, max_norm)`` -> {name: g min(1, max_norm / ||g||)}.

    grads holds the five parameters' gradients and "h0" (which must stay out of the norm);
    only the parameters' outputs are compared. Returns a CheckResult: truthy when correct;
    print it to read the hint. Chapter 9.
    """
    problems = clip_problem()
    got = {}
    for case, args in problems.items():
        out, failed = call_learner(clip_by_global_norm, args)
        if failed is not None:
            return failed
        if isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[0], Mapping):
            out = out[0]  # (clipped, norm), like clip_grad_norm
        if not isinstance(out, Mapping):
            return CheckResult(False, f"✗ expected a dict {{name: clipped gradient}} with keys "
                                      f"{', '.join(PARAM_NAMES)}, got {type(out).__name__}")
        got[case] = {name: out[name] for name in out if name in PARAM_NAMES}
    expected = _by_case({case: mistaken_clip(*args) for case, args in problems.items()})
    mistakes = {mistake: (_by_case({case: mistaken_clip(*args, mistake=mistake)
                                    for case, args in problems.items()}), hint)
                for mistake, hint in CLIP_MISTAKES.items()}
    return verdict(_by_case(got), expected, mistakes)
