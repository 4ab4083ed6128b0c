"""Self-checks for chapter 12: the gains of a recurrent matrix, and an orthogonal init.

check_gains: the learner writes ``spectral_radius(W)`` and ``max_singular_value(W)``,

    rho(W) = max_i |lambda_i(W)|            (lambda_i: the eigenvalues, complex in general)
    sigma_max(W) = max_{||v|| = 1} ||W v||  (the largest singular value, the spectral norm)

for a square W (H, H), each returning one real number. Both are checked on four fixed
matrices chosen so that every usual mistake gives different numbers: a Gaussian one, a
non-normal one (rho far below sigma_max), a symmetric one whose dominant eigenvalue is
negative, and a scaled rotation (complex eigenvalues).

check_orthogonal_init: the learner writes ``orthogonal_init(H, scale, seed)`` returning
W_hh = scale Q (H, H) with Q a random orthogonal matrix drawn from ``seed``: every singular
value of W_hh equals scale. The check looks at properties, not at one particular draw: the
singular values, triangularity, reproducibility for one seed and variety across seeds.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ._core import CheckResult, call_learner, verdict

# --- rho and sigma_max ------------------------------------------------------------------------

GAIN_OUTPUTS = ("spectral_radius", "max_singular_value")

# The mistakes people make when they compute rho(W) or sigma_max(W), and what to tell them.
GAIN_MISTAKES: dict[str, str] = {
    "singular value for the spectral radius": (
        "the spectral radius is the largest modulus of an eigenvalue, max |lambda_i| with "
        "lambda_i from np.linalg.eigvals(W); the largest singular value equals it only for "
        "normal matrices (symmetric, orthogonal, ...), and a random W_hh is not one"
    ),
    "real part instead of modulus": (
        "eigenvalues of a real matrix can be complex or negative: take their modulus, "
        "np.abs(np.linalg.eigvals(W)).max(), not the largest real part"
    ),
    "abs() forgotten": (
        "np.linalg.eigvals returns complex numbers when W has complex eigenvalues, and max() "
        "of them compares real parts first; take the modulus, np.abs(...), before the max"
    ),
    "Frobenius norm for the largest singular value": (
        "np.linalg.norm(W) without ord is the Frobenius norm sqrt(sum of all W_ij^2) = "
        "sqrt(sum of all sigma_i^2), larger than sigma_max; use np.linalg.norm(W, 2) or the "
        "first value of np.linalg.svd(W, compute_uv=False)"
    ),
    "spectral radius for the largest singular value": (
        "sigma_max is the largest stretch max ||W v|| / ||v||, the largest singular value; "
        "the largest |eigenvalue| can be much smaller when W is not normal"
    ),
    "squared singular value": (
        "the eigenvalues of W^T W are the squares sigma_i^2: take the square root of the "
        "largest one, or use np.linalg.svd(W, compute_uv=False)[0]"
    ),
    "smallest singular value": (
        "np.linalg.svd returns the singular values in decreasing order: the largest is the "
        "first, [0], not the last, [-1]"
    ),
    "largest entry for the largest singular value": (
        "max |W_ij| is not a gain: sigma_max = max ||W v|| / ||v|| over all vectors v, "
        "np.linalg.norm(W, 2)"
    ),
}


def gain_matrices() -> list[np.ndarray]:
    """The four fixed matrices check_gains uses (see the module docstring)."""
    rng = np.random.default_rng(12)
    gaussian = rng.normal(0.0, 1.0 / np.sqrt(6), size=(6, 6))
    non_normal = np.array([[0.5, 3.0], [0.0, 0.5]])  # rho = 0.5, sigma_max about 3.08
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    negative = Q @ np.diag([-1.5, 0.6, 0.3]) @ Q.T  # symmetric, dominant eigenvalue -1.5
    angle = 0.7
    rotation = 0.9 * np.array([[np.cos(angle), -np.sin(angle)],
                               [np.sin(angle), np.cos(angle)]])  # eigenvalues 0.9 e^{+-0.7i}
    return [gaussian, non_normal, negative, rotation]


def _gains(W: np.ndarray) -> dict[str, float]:
    """Every candidate value for one matrix: the right ones and each mistake's."""
    eigenvalues = np.linalg.eigvals(W)
    singular = np.linalg.svd(W, compute_uv=False)  # decreasing
    return {
        "rho": float(np.max(np.abs(eigenvalues))),
        "sigma_max": float(singular[0]),
        "real part": float(np.max(eigenvalues.real)),
        "frobenius": float(np.linalg.norm(W)),
        "sigma_max^2": float(singular[0] ** 2),
        "sigma_min": float(singular[-1]),
        "largest entry": float(np.max(np.abs(W))),
    }


def mistaken_gains(mistake: str) -> dict[str, np.ndarray]:
    """(rho, sigma_max) over gain_matrices() as computed with ``mistake`` (a GAIN_MISTAKES key).

    "abs() forgotten" gives complex numbers, which check_gains recognises by their type; its
    real part is returned here. Used to recognise mistakes in learners' code.
    """
    if mistake not in GAIN_MISTAKES:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, GAIN_MISTAKES))}, "
                         f"got {mistake!r}")
    rho_from, sigma_from = {
        "singular value for the spectral radius": ("sigma_max", "sigma_max"),
        "real part instead of modulus": ("real part", "sigma_max"),
        "abs() forgotten": ("real part", "sigma_max"),
        "Frobenius norm for the largest singular value": ("rho", "frobenius"),
        "spectral radius for the largest singular value": ("rho", "rho"),
        "squared singular value": ("rho", "sigma_max^2"),
        "smallest singular value": ("rho", "sigma_min"),
        "largest entry for the largest singular value": ("rho", "largest entry"),
    }[mistake]
    table = [_gains(W) for W in gain_matrices()]
    return {"spectral_radius": np.array([g[rho_from] for g in table]),
            "max_singular_value": np.array([g[sigma_from] for g in table])}



def check_gains(
    spectral_radius: Callable[[np.ndarray], float],
    max_singular_value: Callable[[np.ndarray], float],
) -> CheckResult:
    """Check ``spectral_radius(W)`` -> max |lambda_i(W)| and ``max_singular_value(W)`` ->
    sigma_max(W), each one real number, on the four matrices of gain_matrices().

    Returns a CheckResult; print it or assert it. Chapter 12.
    """
    got = {}
    for name, function in zip(GAIN_OUTPUTS, (spectral_radius, max_singular_value)):
        values = []
        for W in gain_matrices():
            value, failure = call_learner(function, (W,))
            if failure is not None:
                return failure
            values.append(value)
        try:
            got[name] = np.array(values)
        except ValueError:  # ragged: some calls returned arrays
            return CheckResult(False, f"✗ {name}: expected one number per matrix, got "
                                      f"{[np.shape(v) for v in values]}")
    if np.iscomplexobj(got["spectral_radius"]):
        hint = GAIN_MISTAKES["abs() forgotten"]
        return CheckResult(False, f"✗ likely mistake, abs() forgotten: {hint}",
                           mistake="abs() forgotten")
    table = [_gains(W) for W in gain_matrices()]
    expected = {"spectral_radius": np.array([g["rho"] for g in table]),
                "max_singular_value": np.array([g["sigma_max"] for g in table])}
    mistakes = {m: (mistaken_gains(m), hint) for m, hint in GAIN_MISTAKES.items()
                if m != "abs() forgotten"}  # recognised above, by its complex numbers
    return verdict(got, expected, mistakes)


# --- an orthogonal initialisation ---------------------------------------------------------------

ORTHOGONAL_CASES = ((5, 1.0, 0), (8, 0.9, 1), (8, 0.9, 2), (16, 1.3, 3))  # (H, scale, seed)

ORTHOGONAL_MISTAKES: dict[str, str] = {
    "R instead of Q": (
        "np.linalg.qr(A) returns (Q, R): Q is the orthogonal factor, R the upper-triangular "
        "one; your matrix is upper triangular, so you returned R"
    ),
    "not reproducible": (
        "the same seed must give the same matrix: draw from np.random.default_rng(seed), not "
        "from np.random.normal (the global random state) or an unseeded generator"
    ),
    "seed ignored": (
        "different seeds gave the same matrix: draw the Gaussian matrix from "
        "np.random.default_rng(seed) with the seed you are given"
    ),
    "not orthogonal": (
        "an orthogonal Q has every singular value 1, so scale * Q has every singular value "
        "equal to scale; yours are spread out. A Gaussian matrix is not orthogonal: "
        "orthogonalise it, Q, R = np.linalg.qr(A), and use Q"
    ),
    "scale forgotten": (
        "multiply Q by scale: W_hh = scale * Q. (Scaling the Gaussian matrix before the QR "
        "has no effect: QR divides its size out again, and Q always has singular values 1.)"
    ),
    "divided by sqrt(H) again": (
        "Q already has every singular value 1; the 1/sqrt(H) of a Gaussian init is what keeps "
        "a random matrix's gain near 1 and must not be applied to Q: W_hh = scale * Q, "
        "whose singular values are all scale, not scale / sqrt(H)"
    ),
}


def mistaken_singular_values(mistake: str) -> np.ndarray:
    """The singular values of an init made with ``mistake``, case after case of
    ORTHOGONAL_CASES, in one array.

    Only the mistakes that show in the singular values alone ("scale forgotten",
    "divided by sqrt(H) again"); the others are recognised by the matrices' structure.
    """
    factor = {"scale forgotten": lambda H, scale: 1.0,
              "divided by sqrt(H) again": lambda H, scale: scale / np.sqrt(H)}
    if mistake not in factor:
        raise ValueError(f"mistake: expected one of {', '.join(map(repr, factor))}, "
                         f"got {mistake!r}")
    return np.concatenate([np.full(H, factor[mistake](H, scale))
                           for H, scale, _ in ORTHOGONAL_CASES])


def _structural_mistake(mistake: str) -> CheckResult:
    return CheckResult(False, f"✗ likely mistake, {mistake}: {ORTHOGONAL_MISTAKES[mistake]}",
                       mistake=mistake)


def check_orthogonal_init(
    orthogonal_init: Callable[[int, float, int], np.ndarray],
) -> CheckResult:
    """Check ``orthogonal_init(H, scale, seed)`` -> W_hh = scale Q (H, H), Q^T Q = I.

    Runs it for (H, scale, seed) in ORTHOGONAL_CASES and once more for the first case, and
    checks, in this order: shapes, upper triangularity (R returned), the same matrix for the
    same seed, different matrices for different seeds, and finally that every singular value
    equals scale (to a relative error of 1e-7). Any orthogonal Q passes, with or without the
    sign correction that makes it uniformly distributed. Returns a CheckResult. Chapter 12.
    """
    drawn = []
    for case in ORTHOGONAL_CASES + ORTHOGONAL_CASES[:1]:
        value, failure = call_learner(orthogonal_init, tuple(case))
        if failure is not None:
            return failure
        H = case[0]
        W = np.asarray(value)
        if W.shape != (H, H):
            return CheckResult(False, f"✗ expected shape ({H}, {H}) for H = {H}, "
                                      f"got {W.shape}")
        if W.dtype.kind not in "iuf" or not np.all(np.isfinite(W)):
            return CheckResult(False, f"✗ expected a matrix of finite real numbers, got "
                                      f"dtype {W.dtype}")
        drawn.append(W.astype(np.float64))
    *matrices, again = drawn
    for W in matrices:
        triangular = np.allclose(np.tril(W, -1), 0.0)
        if triangular and not np.allclose(np.triu(W, 1), 0.0):
            return _structural_mistake("R instead of Q")
    if not np.array_equal(again, matrices[0]):
        return _structural_mistake("not reproducible")
    if np.allclose(matrices[1], matrices[2]):  # same H and scale, seeds 1 and 2
        return _structural_mistake("seed ignored")
    singular = [np.linalg.svd(W, compute_uv=False) for W in matrices]  # decreasing
    if any(s[-1] < (1.0 - 1e-6) * s[0] for s in singular):
        return _structural_mistake("not orthogonal")
    got = np.concatenate(singular)
    expected = np.concatenate([np.full(H, float(scale)) for H, scale, _ in ORTHOGONAL_CASES])
    mistakes = {m: (mistaken_singular_values(m), ORTHOGONAL_MISTAKES[m])
                for m in ("scale forgotten", "divided by sqrt(H) again")}
    return verdict(got, expected, mistakes)
