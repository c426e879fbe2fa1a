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


# ------------------------------------------------ root selection (mgcore.analysis.roots)
import warnings  # noqa: E402

from mgcore.analysis import (  # noqa: E402
    alg3_roots,
    conv_eigenvalues,
    conv_matrix,
    equispaced_roots,
    leja_order,
    leja_points,
    max_residual,
    partial_products,
    poly_roots_for_kernel,
    polynomial_roots_from_spectrum,
)
from mgcore.analysis.roots import spectrum_part  # noqa: E402
from mgcore.polynomials import PolynomialSmoother, chebyshev_roots, select_roots  # noqa: E402
from mgcore.problems import poisson2d, poisson3d, variable2d  # noqa: E402


def kernel_spectrum_of(seed, C=8, n=16):
    """Spectrum of an A-like kernel (identity-dominant plus noise): complex, in the right half-plane mostly."""
    rng = np.random.default_rng(seed)
    W = 0.3 * rng.standard_normal((C, C, 3, 3))
    W[np.arange(C), np.arange(C), 1, 1] += 3.0
    return W, conv_eigenvalues(W, n).ravel()


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("kind, degree", [("q", 1), ("q", 2), ("q", 3), ("q", 4), ("q", 7), ("g", 4), ("g", 8)])
def test_vectorised_alg3_equals_the_core_select_roots(seed, kind, degree):
    rng = np.random.default_rng(seed)
    z = rng.standard_normal(40) + 1j * rng.standard_normal(40)
    lam = np.concatenate([z, z.conj(), rng.standard_normal(5)])
    assert alg3_roots(lam, degree, kind=kind) == select_roots(lam.tolist(), degree, kind=kind)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("degree", [4, 6, 8])
def test_alg3_beats_equally_spaced_roots_on_the_upper_part_of_kernel_spectra(seed, degree):
    _, lam = kernel_spectrum_of(seed)
    upper = lam[lam.real >= lam.real.max() / 4]
    a = alg3_roots(upper, degree)
    e = equispaced_roots(upper.real.min(), upper.real.max(), degree)
    assert max_residual(a["roots"], upper) < max_residual(e["roots"], upper)


def test_on_real_spectra_chebyshev_is_minimax_and_alg3_is_not_better():
    """The documented caveat: on an interval Chebyshev roots are optimal, Alg. 3 (greedy) is not."""
    lam = spectrum_part(poisson2d(n=31), "high", precondition="jacobi")
    lo, hi = lam.real.min(), lam.real.max()
    for d in (2, 4, 6):
        cheb = polynomial_roots_from_spectrum(lam, d, "chebyshev")["roots"]
        alg3 = polynomial_roots_from_spectrum(lam, d, "alg3")["roots"]
        assert max_residual(cheb, lam) < max_residual(alg3, lam)
    assert max_residual(alg3_roots(lam, 4)["roots"], lam) > max_residual(equispaced_roots(lo, hi, 4)["roots"], lam)


def test_conjugate_pairs_give_a_real_operator():
    W, lam = kernel_spectrum_of(5, C=3, n=6)
    A = conv_matrix(W, 6).toarray()
    sel = alg3_roots(lam, 6)
    pairs = [r for r in sel["roots"] if isinstance(r, tuple)]
    assert len(pairs) >= 1 and all(b > 0 for _, b in pairs)
    # complex arithmetic over every root and its conjugate ...
    zs = []
    for r in sel["roots"]:
        zs += [complex(*r), complex(r[0], -r[1])] if isinstance(r, tuple) else [complex(r)]
    Q = np.eye(A.shape[0], dtype=complex)
    for z in zs:
        Q = Q @ (np.eye(A.shape[0]) - A / z)
    assert np.abs(Q.imag).max() < 1e-10 * np.abs(Q.real).max()
    # ... equals the real factored smoother (eq. 17, 19) applied to the unit vectors
    S = PolynomialSmoother(sel["roots"])
    cols = [S.smooth(lambda u: A @ u, np.zeros(A.shape[0]), e, 1) for e in np.eye(A.shape[0])]
    np.testing.assert_allclose(np.array(cols).T, Q.real, atol=1e-9 * np.abs(Q.real).max())


def test_leja_order_is_numerically_stable():
    n = 63
    M = (np.diag(2 * np.ones(n)) - np.diag(np.ones(n - 1), 1) - np.diag(np.ones(n - 1), -1)) / 2  # D^-1 A, 1D
    lam, V = np.linalg.eigh(M)
    e = np.random.default_rng(0).standard_normal(n)
    roots = chebyshev_roots(48, lam[0], lam[-1])
    exact = V @ (np.prod([1 - lam / z for z in roots], axis=0) * (V.T @ e))
    errs = {}
    for name, order in [("ascending", sorted(roots)), ("leja", leja_order(roots))]:
        out = PolynomialSmoother(order).smooth(lambda u: M @ u, np.zeros(n), e, 1)
        errs[name] = np.linalg.norm(out - exact) / np.linalg.norm(e)
    assert errs["leja"] < 1e-12 and errs["ascending"] > 1e-3
    assert partial_products(leja_order(roots), lam) < 1e5 and partial_products(sorted(roots), lam) > 1e15
    assert sorted(leja_order(roots)) == sorted(roots)
    # pairs move as one unit
    mixed = [0.5, (1.0, 0.5), 2.0, 1 + 2j]
    out = leja_order(mixed)
    assert sorted(map(str, out)) == sorted(map(str, mixed)) and out[0] == 1 + 2j


def test_leja_points_and_sources():
    lam = np.linspace(0.1, 2.0, 50)
    assert leja_points(lam, 3)["roots"][:2] == [2.0, 0.1]
    by_interval = polynomial_roots_from_spectrum((0.1, 2.0), 4, "leja", order="given")["roots"]
    assert by_interval[0] == pytest.approx(2.0) and by_interval[1] == pytest.approx(0.1)
    cheb = polynomial_roots_from_spectrum((0.1, 2.0), 5, "chebyshev", order="given")["roots"]
    assert cheb == pytest.approx(chebyshev_roots(5, 0.1, 2.0))
    p = poisson2d(n=15)
    A = p.level_data().matrix()
    from_matrix = polynomial_roots_from_spectrum(A, 3, precondition="jacobi", part="all")
    from_problem = polynomial_roots_from_spectrum(p, 3, precondition="jacobi", part="all")
    assert from_matrix["roots"] == pytest.approx(from_problem["roots"], rel=1e-10)
    # a large matrix: Lanczos lmax and the interval [lmax/ratio, lmax]
    big = polynomial_roots_from_spectrum(poisson2d(n=63).level_data().matrix(), 2, precondition="jacobi",
                                         max_dense=100, order="given")["roots"]
    assert big[0] == pytest.approx(1 + np.cos(np.pi / 64), rel=5e-3) and big[1] == pytest.approx(big[0] / 30, rel=1e-9)
    # variable coefficients fall back to the matrix
    assert len(polynomial_roots_from_spectrum(variable2d(n=15), 2, precondition="jacobi")["roots"]) == 2
    g = polynomial_roots_from_spectrum(np.array([1.0, -2.0, 0.5 + 1j, 0.5 - 1j]), 4, kind="g")
    assert g["g"] == [0.25, 0.25] and g["roots"] == []


@pytest.mark.parametrize("problem", [poisson2d(n=63), poisson3d(n=31)], ids=["2d", "3d"])
def test_spectrum_chosen_polynomial_smoother_converges_at_least_as_well_as_chebyshev(problem):
    b = problem.rhs(1.0)
    from mgcore.sparse import MultigridSolver

    out = {}
    sel = polynomial_roots_from_spectrum(problem, 4, precondition="jacobi")
    specs = {"spectrum": {"name": "polynomial", "from": "spectrum", "degree": 4, "precondition": "jacobi"},
             "roots": ("polynomial", {"roots": sel["roots"], "precondition": "jacobi"}),
             "chebyshev": ("chebyshev", {"degree": 4})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, spec in specs.items():
            s = MultigridSolver(problem, smoother=spec, nu=(1, 1), fast=False)
            out[name] = s.solve(b, rtol=1e-8, maxiter=50)
    assert out["spectrum"].converged and out["chebyshev"].converged
    # the registry spec chooses roots per level; level 1's roots on every level do as well
    assert max(out["spectrum"].iterations, out["roots"].iterations) <= out["chebyshev"].iterations
    assert out["spectrum"].convergence_factor <= out["chebyshev"].convergence_factor
    # the asymptotic factors (zero right-hand side, random error) as well
    from mgcore.analysis import measure_factor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f_spec = measure_factor(problem, specs["spectrum"], (1, 1), cycles=20, fast=False)["factor"]
        f_cheb = measure_factor(problem, specs["chebyshev"], (1, 1), cycles=20, fast=False)["factor"]
    assert f_spec <= f_cheb


def test_spectrum_smoother_spec_errors():
    from mgcore.sparse import MultigridSolver

    p = poisson2d(n=15)
    with pytest.raises(ValueError, match="from"):
        MultigridSolver(p, smoother={"name": "polynomial", "from": "matrix"}, fast=False)
    with pytest.raises(ValueError, match="either from='spectrum' or roots"):
        MultigridSolver(p, smoother={"name": "polynomial", "from": "spectrum", "roots": [1.0]}, fast=False)
    with pytest.raises(ValueError, match="method"):
        MultigridSolver(p, smoother={"name": "polynomial", "from": "spectrum", "method": "best"}, fast=False)
    s = MultigridSolver(p, smoother={"name": "polynomial", "from": "spectrum", "degree": 3, "method": "chebyshev"},
                        fast=False)
    assert s.levels[0].B.poly.degree == 3


def test_poly_roots_for_kernel_has_polymgnet_form():
    W, lam = kernel_spectrum_of(3, C=4, n=8)
    q4 = poly_roots_for_kernel(W, 4, n=8)
    assert [type(r) for r in q4] == [float, float, complex]
    assert q4[0] == pytest.approx(lam.real.max()) and q4[1] == pytest.approx(lam.real.min())
    assert q4[2].imag == pytest.approx(lam.imag.max())
    q8 = poly_roots_for_kernel(W, 8, n=8)
    assert len(q8) == 5 and all(isinstance(z, complex) and z.imag >= 0 for z in q8[2:])
    g6 = poly_roots_for_kernel(W, 6, n=8, kind="g")
    zeta = max(abs(lam.real.max()), abs(lam.real.min()))
    assert g6[:2] == pytest.approx([zeta, zeta]) and isinstance(g6[2], complex)
    # the residual polynomial of the factors is small on the spectrum compared with q_2
    full = [q8[0], q8[1]] + [(z.real, z.imag) for z in q8[2:]]
    assert max_residual(full, lam) < max_residual(q8[:2], lam)
    zero = poly_roots_for_kernel(W, 2, n=4, boundary="zero")
    assert len(zero) == 2


def test_root_selection_bad_input():
    with pytest.raises(ValueError, match="empty"):
        alg3_roots([], 2)
    with pytest.raises(ValueError, match="empty"):
        polynomial_roots_from_spectrum(np.array([]), 2)
    with pytest.raises(ValueError, match="degree must be an int >= 1"):
        polynomial_roots_from_spectrum((0.1, 2.0), 0)
    with pytest.raises(ValueError, match="degree must be an int >= 1"):
        leja_points([1.0], 0.5)
    with pytest.raises(ValueError, match="method must be one of"):
        polynomial_roots_from_spectrum((0.1, 2.0), 2, method="random")
    with pytest.raises(ValueError, match="part must be one of"):
        polynomial_roots_from_spectrum((0.1, 2.0), 2, part="low")
    with pytest.raises(ValueError, match="NaN or Inf"):
        alg3_roots([1.0, np.nan], 2)
    with pytest.raises(ValueError, match="all zero"):
        alg3_roots([0.0, 0.0], 2)
    with pytest.raises(ValueError, match="lmin < lmax"):
        polynomial_roots_from_spectrum((2.0, 1.0), 2)
    with pytest.raises(TypeError, match="needs its interval"):
        polynomial_roots_from_spectrum(lambda x: x, 2)
    with pytest.raises(ValueError, match="positive real parts"):
        polynomial_roots_from_spectrum(np.array([-1.0, 1.0]), 2, method="chebyshev")
    with pytest.raises(ValueError, match="even degree"):
        poly_roots_for_kernel(np.ones((2, 2, 3, 3)), 3)
    with pytest.raises(ValueError, match="square channel blocks"):
        poly_roots_for_kernel(np.ones((3, 2, 3, 3)), 2)
    with pytest.raises(ValueError, match="rank 3, 4 or 5"):
        poly_roots_for_kernel(np.ones((2, 2, 3, 3, 3, 3)), 2)
