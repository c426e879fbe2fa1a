"""Spectral estimates and bounds (mgcore.spectrum)."""

import numpy as np
import pytest
import scipy.sparse as sp

from mgcore.problems.grid import GridProblem
from mgcore.spectrum import eigenvalues, estimate_lambda_max, gershgorin_bound


@pytest.fixture(scope="module")
def laplace():
    A = GridProblem((15, 15)).level_data().matrix()
    return A, np.linalg.eigvalsh(A.toarray())


def test_lanczos_estimate_of_A_and_of_Dinv_A(laplace):
    A, ev = laplace
    est = estimate_lambda_max(A, iters=20)
    assert ev[-1] * 0.99 <= est <= ev[-1] * (1 + 1e-10)  # a Ritz value: from below, close
    d = 1.0 / A.diagonal()
    ev_d = eigenvalues(A, B=d)
    est_d = estimate_lambda_max(A, B=d, iters=20)
    assert ev_d[-1] * 0.99 <= est_d <= ev_d[-1] * (1 + 1e-10)
    assert estimate_lambda_max(A, B=d, iters=20, safety=1.1) == pytest.approx(1.1 * est_d)
    # same seed, same answer; a callable operator works as well
    assert estimate_lambda_max(A, iters=20) == est


def test_power_method_for_nonsymmetric():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 6)) + 3 * np.eye(6)
    A = X @ np.diag([1.0, 2.0, 3.0, 4.0, 5.0, 9.0]) @ np.linalg.inv(X)
    assert estimate_lambda_max(A, iters=200, method="power") == pytest.approx(9.0, rel=1e-3)


def test_lanczos_falls_back_for_indefinite():
    A = np.diag([-5.0, 1.0, 2.0])
    assert estimate_lambda_max(A, iters=100) == pytest.approx(5.0, rel=1e-3)  # spectral radius by power iteration


def test_gershgorin_is_an_upper_bound(laplace):
    A, ev = laplace
    g = gershgorin_bound(A)
    assert g >= ev[-1] and g == pytest.approx(8 * 16**2)
    assert gershgorin_bound(A, 1.0 / A.diagonal()) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="d must have shape"):
        gershgorin_bound(A, np.ones(3))


def test_eigenvalues_dense():
    A = np.array([[2.0, -1.0], [-1.0, 2.0]])
    np.testing.assert_allclose(eigenvalues(A), [1.0, 3.0])
    np.testing.assert_allclose(eigenvalues(sp.csr_matrix(A), B=np.array([0.5, 0.5])), [0.5, 1.5])
    R = np.array([[1.0, 2.0], [-2.0, 1.0]])
    np.testing.assert_allclose(eigenvalues(R), [1 - 2j, 1 + 2j])
    with pytest.raises(ValueError, match="max_size"):
        eigenvalues(np.eye(5), max_size=4)


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        estimate_lambda_max(np.eye(2), method="arnoldi")
    with pytest.raises(ValueError, match="iters"):
        estimate_lambda_max(np.eye(2), iters=0)
    with pytest.raises(ValueError, match="safety"):
        estimate_lambda_max(np.eye(2), safety=0.5)
    with pytest.raises(TypeError, match="B must be"):
        estimate_lambda_max(np.eye(2), B="x")
