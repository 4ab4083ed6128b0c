"""Self-checks for exercises and coursework: "correct", or the name of the likely mistake.

Each check takes the learner's function, runs it on a small fixed problem and returns a
CheckResult (truthy when correct; print it to read the hint).
"""

from ._core import TOLERANCE, CheckResult, run_check, verdict
from .backward import BACKWARD_MISTAKES, check_problem, check_rnn_backward, mistaken_rnn_backward

__all__ = [
    "BACKWARD_MISTAKES",
    "TOLERANCE",
    "CheckResult",
    "check_problem",
    "check_rnn_backward",
    "mistaken_rnn_backward",
    "run_check",
    "verdict",
]
