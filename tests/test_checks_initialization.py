"""The chapter 12 self-checks: rho and sigma_max of a matrix, and an orthogonal init.

The "students" below are written the way a learner writes these functions, independently of
the check's mistake generators, each with one of the usual mistakes.
"""

from __future__ import annotations

import numpy as np
import pytest

import bptt_core as bc
from bptt_core.checks.initialization import (
    GAIN_MISTAKES,
    ORTHOGONAL_CASES,
    ORTHOGONAL_MISTAKES,
    check_gains,
    check_orthogonal_init,
    gain_matrices,
    mistaken_gains,
    mistaken_singular_values,
)

# --- rho and sigma_max ------------------------------------------------------------------------


def rho_right(W):
    return np.abs(np.linalg.eigvals(W)).max()


def sigma_right(W):
    return np.linalg.svd(W, compute_uv=False)[0]


def rho_from_polynomial(W):
    # another correct way: the eigenvalues are the roots of the characteristic polynomial
    return max(abs(r) for r in np.roots(np.poly(W)))


def sigma_from_gram(W):
    # another correct way: sigma_max^2 is the largest eigenvalue of W^T W
    return float(np.sqrt(np.linalg.eigvalsh(W.T @ W).max()))


RHO_STUDENTS = {  # a learner's spectral_radius -> the mistake the check should name
    "singular value for the spectral radius": lambda W: np.linalg.norm(W, 2),
    "real part instead of modulus": lambda W: np.linalg.eigvals(W).real.max(),
    "abs() forgotten": lambda W: np.max(np.linalg.eigvals(W)),
}

SIGMA_STUDENTS = {  # a learner's max_singular_value -> the mistake the check should name
    "Frobenius norm for the largest singular value": lambda W: np.linalg.norm(W),
    "spectral radius for the largest singular value":
        lambda W: max(abs(v) for v in np.linalg.eigvals(W)),
    "squared singular value": lambda W: np.linalg.eigvalsh(W.T @ W)[-1],
    "smallest singular value": lambda W: np.linalg.svd(W)[1][-1],
    "largest entry for the largest singular value": lambda W: abs(W).max(),
}


def test_correct_gains_pass():
    result = check_gains(rho_right, sigma_right)
    assert result and result.mistake is None and "correct" in str(result)


def test_other_correct_routes_pass_too():
    assert check_gains(rho_from_polynomial, sigma_from_gram)


@pytest.mark.parametrize("mistake", RHO_STUDENTS)
def test_each_spectral_radius_mistake_is_named(mistake):
    result = check_gains(RHO_STUDENTS[mistake], sigma_right)
    assert not result and result.mistake == mistake
    assert GAIN_MISTAKES[mistake] in result.message


@pytest.mark.parametrize("mistake", SIGMA_STUDENTS)
def test_each_singular_value_mistake_is_named(mistake):
    result = check_gains(rho_right, SIGMA_STUDENTS[mistake])
    assert not result and result.mistake == mistake
    assert GAIN_MISTAKES[mistake] in result.message


def test_every_catalogued_gain_mistake_is_planted_above():
    assert set(RHO_STUDENTS) | set(SIGMA_STUDENTS) == set(GAIN_MISTAKES)


def test_the_gain_mistakes_are_told_apart():
    right = {"spectral_radius": np.array([rho_right(W) for W in gain_matrices()]),
             "max_singular_value": np.array([sigma_right(W) for W in gain_matrices()])}
    outputs = [mistaken_gains(m) for m in GAIN_MISTAKES if m != "abs() forgotten"] + [right]
    for i, a in enumerate(outputs):
        for b in outputs[i + 1:]:
            assert max(bc.rel_error(a[k], b[k]) for k in a) > 1e-3


def test_the_test_matrices_separate_rho_from_sigma():
    gaps = [sigma_right(W) / rho_right(W) for W in gain_matrices()]
    assert max(gaps) > 5  # the non-normal matrix: rho = 0.5, sigma_max about 3.1
    assert np.iscomplexobj(np.linalg.eigvals(gain_matrices()[0]))  # complex eigenvalues


def test_an_unrelated_gain_error_reports_the_relative_error():
    result = check_gains(rho_right, lambda W: 1.2 * sigma_right(W))
    assert not result and result.mistake is None
    assert "max_singular_value (relative error" in result.message


def test_unfinished_or_crashing_gains_are_reported():
    def skeleton(W):
        raise NotImplementedError

    assert "not implemented yet" in str(check_gains(skeleton, sigma_right))
    assert "raised LinAlgError" in str(check_gains(rho_right, lambda W: np.linalg.inv(W * 0)))


def test_mistaken_gains_rejects_unknown_mistakes():
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_gains("typo")


# --- an orthogonal initialisation -------------------------------------------------------------


def orthogonal_right(H, scale, seed):
    A = np.random.default_rng(seed).normal(size=(H, H))
    Q, R = np.linalg.qr(A)
    return scale * Q * np.sign(np.diag(R))


def orthogonal_no_sign_fix(H, scale, seed):
    # still orthogonal, only not uniformly distributed: accepted
    return scale * np.linalg.qr(np.random.default_rng(seed).normal(size=(H, H)))[0]


def orthogonal_by_svd(H, scale, seed):
    U, _, Vt = np.linalg.svd(np.random.default_rng(seed).normal(size=(H, H)))
    return scale * U @ Vt


def uses_r(H, scale, seed):
    A = np.random.default_rng(seed).normal(0.0, 1.0 / np.sqrt(H), size=(H, H))
    _, R = np.linalg.qr(A)
    return scale * R


def global_state(H, scale, seed):
    Q, _ = np.linalg.qr(np.random.normal(size=(H, H)))
    return scale * Q


def no_seed(H, scale, seed):
    Q, _ = np.linalg.qr(np.random.default_rng(0).normal(size=(H, H)))
    return scale * Q


def gaussian_only(H, scale, seed):
    return np.random.default_rng(seed).normal(0.0, scale / np.sqrt(H), size=(H, H))


def scale_before_qr(H, scale, seed):
    A = scale * np.random.default_rng(seed).normal(size=(H, H))
    Q, _ = np.linalg.qr(A)
    return Q


def sqrt_h_twice(H, scale, seed):
    A = np.random.default_rng(seed).normal(size=(H, H))
    Q, _ = np.linalg.qr(A)
    return scale * Q / np.sqrt(H)


ORTHOGONAL_STUDENTS = {
    "R instead of Q": uses_r,
    "not reproducible": global_state,
    "seed ignored": no_seed,
    "not orthogonal": gaussian_only,
    "scale forgotten": scale_before_qr,
    "divided by sqrt(H) again": sqrt_h_twice,
}


@pytest.mark.parametrize("student", [orthogonal_right, orthogonal_no_sign_fix, orthogonal_by_svd])
def test_correct_orthogonal_inits_pass(student):
    result = check_orthogonal_init(student)
    assert result and result.mistake is None and "correct" in str(result)


def test_the_engine_init_passes():
    def engine(H, scale, seed):
        return bc.init_rnn(1, H, 1, seed=seed, scale=scale, recurrent="orthogonal").W_hh

    assert check_orthogonal_init(engine)


@pytest.mark.parametrize("mistake", ORTHOGONAL_STUDENTS)
def test_each_orthogonal_mistake_is_named(mistake):
    result = check_orthogonal_init(ORTHOGONAL_STUDENTS[mistake])
    assert not result and result.mistake == mistake
    assert ORTHOGONAL_MISTAKES[mistake] in result.message


def test_every_catalogued_orthogonal_mistake_is_planted_above():
    assert set(ORTHOGONAL_STUDENTS) == set(ORTHOGONAL_MISTAKES)


def test_an_unrelated_orthogonal_error_reports_the_relative_error():
    result = check_orthogonal_init(lambda H, scale, seed: 1.1 * orthogonal_right(H, scale, seed))
    assert not result and result.mistake is None
    assert "relative error 0.091; no common mistake fits" in result.message


def test_the_identity_is_orthogonal_but_ignores_the_seed():
    result = check_orthogonal_init(lambda H, scale, seed: scale * np.eye(H))
    assert not result and result.mistake == "seed ignored"


def test_wrong_shapes_and_crashes_are_reported():
    result = check_orthogonal_init(lambda H, scale, seed: orthogonal_right(H + 1, scale, seed))
    assert not result and "expected shape (5, 5) for H = 5, got (6, 6)" in result.message

    def skeleton(H, scale, seed):
        raise NotImplementedError

    assert "not implemented yet" in str(check_orthogonal_init(skeleton))


def test_mistaken_singular_values_match_the_planted_students():
    for mistake, student in (("scale forgotten", scale_before_qr),
                             ("divided by sqrt(H) again", sqrt_h_twice)):
        got = np.concatenate([np.linalg.svd(student(H, scale, seed), compute_uv=False)
                              for H, scale, seed in ORTHOGONAL_CASES])
        assert bc.rel_error(got, mistaken_singular_values(mistake)) < 1e-12
    with pytest.raises(ValueError, match="mistake: expected one of"):
        mistaken_singular_values("R instead of Q")
