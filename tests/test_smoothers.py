"""Sparse smoothers: definitions (He & Xu, MgNet, 2019, eq. 3.20, 5.6, 3.23), ordering, symmetry, smoothing factors."""

import pickle

import numpy as np
import pytest
import scipy.fft as fft
import scipy.sparse as sp
from scipy.sparse.linalg import spsolve_triangular

from mgcore.iterations import ChebyshevSemiIteration, ResidualCorrection
from mgcore.polynomials import chebyshev_roots
from mgcore.problems.grid import GridProblem
from mgcore.sparse.smoothers import (
    SMOOTHERS,
    Chebyshev,
    GaussSeidel,
    Jacobi,
    Polynomial,
    RedBlackGaussSeidel,
    Richardson,
    build_smoother,
    is_symmetric,
    jacobi_default_omega,
)


class Mat:
    def __init__(self, M):
        self.M = M

    def __call__(self, u):
        return self.M @ u


class TriSolve:
    """``r -> T^{-1} r`` for a triangular sparse T (reference Gauss-Seidel B)."""

    def __init__(self, T, lower):
        self.T, self.lower = T.tocsr(), lower

    def __call__(self, r):
        return spsolve_triangular(self.T, r, lower=self.lower)


@pytest.fixture(scope="module")
def poisson2d():
    rng = np.random.default_rng(0)
    prob = GridProblem((15, 15), cells=rng.uniform(0.5, 2.0, (16, 16)))
    data = prob.level_data()
    return data, data.matrix()


def smoother_matrix(S, n, post=False):
    """Matrix B of one step from the zero iterate: u = B f."""
    return np.column_stack([S.smooth(None, np.eye(n)[:, j], None, 1) for j in range(n)])


def rand_fu(n, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal(n), rng.standard_normal(n)


# ------------------------------------------------------------- definitions
def test_jacobi_is_residual_correction_with_omega_Dinv(poisson2d):
    data, A = poisson2d
    f, u = rand_fu(A.shape[0])
    S = build_smoother("jacobi", {}, A, grid=data)
    assert S.omega == pytest.approx(0.8)  # 2D default 4/5
    ref = ResidualCorrection(_Scale(0.8 / A.diagonal())).smooth(Mat(A), f, u, 3)
    np.testing.assert_allclose(S.smooth(Mat(A), f, u, 3), ref, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(S.smooth(None, f, None, 1), 0.8 * f / A.diagonal(), rtol=1e-14)


class _Scale:
    def __init__(self, s):
        self.s = s

    def __call__(self, r):
        return self.s * r


def test_jacobi_default_omega_per_dimension():
    assert [jacobi_default_omega(d) for d in (None, 1, 2, 3)] == pytest.approx([2 / 3, 2 / 3, 4 / 5, 6 / 7])
    A = GridProblem((7, 7, 7)).level_data()
    assert Jacobi(A.matrix(), grid=A).omega == pytest.approx(6 / 7)
    assert Jacobi(A.matrix(), dim=2).omega == pytest.approx(4 / 5)


def test_richardson_default_omega_is_one_over_lambda_max(poisson2d):
    _, A = poisson2d
    lmax = np.linalg.eigvalsh(A.toarray())[-1]
    S = Richardson(A)
    assert S.omega * lmax == pytest.approx(1.0, rel=0.01)
    f, u = rand_fu(A.shape[0])
    np.testing.assert_allclose(Richardson(A, omega=1e-3).smooth(None, f, u, 1), u + 1e-3 * (f - A @ u), rtol=1e-14)


@pytest.mark.parametrize("sweep,lower", [("forward", True), ("backward", False)])
def test_gauss_seidel_is_residual_correction_with_triangular_B(poisson2d, sweep, lower):
    _, A = poisson2d
    f, u = rand_fu(A.shape[0])
    T = sp.tril(A) if lower else sp.triu(A)
    ref = ResidualCorrection(TriSolve(T, lower)).smooth(Mat(A), f, u, 2)
    got = GaussSeidel(A, sweep=sweep).smooth(None, f, u, 2)
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)
    ref0 = ResidualCorrection(TriSolve(T, lower)).smooth(Mat(A), f, None, 1)
    np.testing.assert_allclose(GaussSeidel(A, sweep=sweep).smooth(None, f, None, 1), ref0, rtol=1e-12, atol=1e-12)


def test_symmetric_gauss_seidel_is_forward_then_backward_and_symmetric(poisson2d):
    _, A = poisson2d
    f, u = rand_fu(A.shape[0])
    fw, bw = GaussSeidel(A, "forward"), GaussSeidel(A, "backward")
    np.testing.assert_allclose(
        GaussSeidel(A, "symmetric").smooth(None, f, u, 1), bw.smooth(None, f, fw.smooth(None, f, u, 1), 1), rtol=1e-13
    )
    small = GridProblem((7, 7)).level_data().matrix()
    M = smoother_matrix(build_smoother("sgs", {}, small), small.shape[0])
    assert np.abs(M - M.T).max() < 1e-14 * np.abs(M).max()
    assert np.abs(M).max() > 1e-3
    # forward GS alone is not symmetric; its post-smoother (backward) is its transpose
    F = smoother_matrix(build_smoother("gs", {}, small), small.shape[0])
    Bk = smoother_matrix(build_smoother("gs", {}, small, post=True), small.shape[0])
    assert np.abs(F - F.T).max() > 0.1 * np.abs(F).max()
    np.testing.assert_allclose(Bk, F.T, atol=1e-14)


def explicit_red_black(A, shape, f, u, red_first):
    """Two-colour update written out: all points of one colour from the current values, then the other."""
    idx = np.indices(shape).sum(axis=0).ravel() % 2
    d = A.diagonal()
    u = u.copy()
    for colour in ((0, 1) if red_first else (1, 0)):
        m = idx == colour
        r = f - A @ u
        u[m] += r[m] / d[m]
    return u


@pytest.mark.parametrize("shape,bc", [((15, 15), "dirichlet"), ((7, 7, 7), "dirichlet"), ((9, 5), "neumann")])
def test_red_black_equals_explicit_two_colour_update(shape, bc):
    rng = np.random.default_rng(3)
    cshape = tuple(n + 1 if bc == "dirichlet" else n - 1 for n in shape)
    data = GridProblem(shape, bc=bc, cells=rng.uniform(0.5, 2.0, cshape)).level_data()
    A = data.matrix()
    f, u = rand_fu(A.shape[0], 4)
    pre = build_smoother("rbgs", {}, A, grid=data)
    post = build_smoother("red-black", {}, A, grid=data, post=True)
    np.testing.assert_allclose(pre.smooth(None, f, u, 1), explicit_red_black(A, shape, f, u, True), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(post.smooth(None, f, u, 1), explicit_red_black(A, shape, f, u, False), rtol=1e-12, atol=1e-12)
    two = explicit_red_black(A, shape, f, explicit_red_black(A, shape, f, u, True), True)
    np.testing.assert_allclose(pre.smooth(None, f, u, 2), two, rtol=1e-12, atol=1e-12)
    # order="red-black": the post-smoother also sweeps red first
    same = build_smoother("rbgs", {"order": "red-black"}, A, grid=data, post=True)
    np.testing.assert_allclose(same.smooth(None, f, u, 1), pre.smooth(None, f, u, 1), rtol=0, atol=0)


def test_red_black_colouring_and_ordering():
    c = RedBlackGaussSeidel.colours((3, 2))
    assert c.tolist() == [0, 1, 1, 0, 0, 1]  # (0,0) red, (0,1) black, (1,0) black, (1,1) red, ...
    assert RedBlackGaussSeidel.ordering((3, 2)).tolist() == [0, 3, 4, 1, 2, 5]
    assert RedBlackGaussSeidel.ordering((3, 2), red_first=False).tolist() == [5, 2, 1, 4, 3, 0]


def test_red_black_post_is_adjoint_of_pre():
    data = GridProblem((7, 7)).level_data()
    A = data.matrix()
    n = A.shape[0]
    pre = smoother_matrix(build_smoother("rbgs", {}, A, grid=data), n)
    post = smoother_matrix(build_smoother("rbgs", {}, A, grid=data, post=True), n)
    assert np.abs(pre - pre.T).max() > 0.1 * np.abs(pre).max()
    np.testing.assert_allclose(post, pre.T, atol=1e-14)


def test_red_black_matches_the_compiled_structured_kernel():
    from mgcore.sparse.structured import StructuredLevel

    rng = np.random.default_rng(5)
    for shape in ((15, 15), (7, 7, 7)):
        data = GridProblem(shape, cells=rng.uniform(0.5, 2.0, tuple(n + 1 for n in shape))).level_data()
        A = data.matrix()
        f, u = rand_fu(A.shape[0], 6)
        for post in (False, True):
            mine = build_smoother("rbgs", {}, A, grid=data, post=post).smooth(None, f, u, 2)
            L = StructuredLevel(data, "rbgs", finest=True)
            theirs = np.asarray(L.smooth(f.reshape(shape), u.reshape(shape).copy(), 2, post=post)).ravel()
            np.testing.assert_allclose(mine, theirs, rtol=1e-13, atol=1e-13)


def test_chebyshev_is_one_polynomial_of_degree_per_step(poisson2d):
    _, A = poisson2d
    f, u = rand_fu(A.shape[0])
    S = build_smoother("cheb", {"degree": 4}, A)
    lo, hi = S.interval
    assert hi == pytest.approx(1.1 * S.lmax) and lo == pytest.approx(S.lmax / 30)
    lam = np.linalg.eigvals(np.diag(1 / A.diagonal()) @ A.toarray()).real.max()
    assert S.lmax == pytest.approx(lam, rel=0.02)
    semi = ChebyshevSemiIteration(_Scale(1 / A.diagonal()), lo, hi)
    ref = semi.smooth(Mat(A), f, semi.smooth(Mat(A), f, u, 4), 4)
    np.testing.assert_allclose(S.smooth(None, f, u, 2), ref, rtol=1e-12, atol=1e-12)
    # the same operator in root form (Polynomial smoother with Jacobi preconditioning)
    P = build_smoother("polynomial", {"roots": chebyshev_roots(4, lo, hi), "precondition": "jacobi"}, A)
    np.testing.assert_allclose(P.smooth(None, f, u, 2), ref, rtol=1e-10, atol=1e-10)
    # explicit interval, as in the structured kernels
    E = Chebyshev(A, degree=2, lower=0.5, upper=2.0)
    assert E.interval == (0.5, 2.0)


def test_polynomial_smoother_roots_coefficients_and_default(poisson2d):
    _, A = poisson2d
    f, u = rand_fu(A.shape[0])
    lmax = np.linalg.eigvalsh(A.toarray())[-1]
    roots = [lmax, lmax / 3]
    P = build_smoother("poly", {"roots": roots}, A)
    ref = u.copy()
    for z in roots:
        ref = ref + (f - A @ ref) / z
    np.testing.assert_allclose(P.smooth(None, f, u, 1), ref, rtol=1e-12)
    from mgcore.polynomials import roots_to_coefficients

    C = build_smoother("polynomial", {"coefficients": roots_to_coefficients(roots)}, A)
    np.testing.assert_allclose(C.smooth(None, f, u, 1), ref, rtol=1e-10)
    D = Polynomial(A)  # default: Chebyshev roots of degree 3 on [lmax/30, 1.1 lmax] of A
    assert D.poly.degree == 3


# ------------------------------------------------------------ smoothing factors
N_SF = 31


@pytest.fixture(scope="module")
def laplace_hf():
    data = GridProblem((N_SF, N_SF)).level_data()
    k = np.arange(1, N_SF + 1)
    K1, K2 = np.meshgrid(k, k, indexing="ij")
    high = np.maximum(K1, K2) >= (N_SF + 1) // 2  # theta >= pi/2 in some direction

    def QH(e):
        c = fft.dstn(e.reshape(N_SF, N_SF), type=1, norm="ortho")
        c[~high] = 0.0
        return fft.idstn(c, type=1, norm="ortho").ravel()

    return data, data.matrix(), QH


def smoothing_factors(S, QH, n, seed=0):
    """(reduction of a random high-frequency error, worst-case rate by power iteration) per step."""
    rng = np.random.default_rng(seed)
    f = np.zeros(n)
    e = QH(rng.standard_normal(n))
    rand = np.linalg.norm(QH(S.smooth(None, f, e, 1))) / np.linalg.norm(e)
    x = e / np.linalg.norm(e)
    for _ in range(40):
        y = QH(S.smooth(None, f, x, 1))
        rate = np.linalg.norm(y)
        x = y / rate
    return rand, rate


@pytest.mark.parametrize(
    "spec,rand_max,rate_max",
    [
        # measured (n = 31): random HF / power-iteration rate; LFA values 0.6, 0.5, 0.25, 1/T_3
        ("jacobi", 0.33, 0.60),
        ("gs", 0.31, 0.50),
        ("sgs", 0.12, 0.25),
        ("rbgs", 0.18, 0.25),
        ("richardson", 0.46, 0.75),
        ("cheb", 0.45, 0.63),  # degree 3 on [lmax/30, 1.1 lmax]: bound 1/T_3 = 0.618
        (("cheb", {"ratio": 4}), 0.08, 0.10),
    ],
)
def test_smoothers_damp_high_frequencies_of_2d_poisson(laplace_hf, spec, rand_max, rate_max):
    data, A, QH = laplace_hf
    name, kw = (spec, {}) if isinstance(spec, str) else spec
    S = build_smoother(name, kw, A, grid=data)
    rand, rate = smoothing_factors(S, QH, A.shape[0])
    assert rand <= rand_max
    assert rate <= rate_max
    assert rate >= 0.5 * rate_max  # the measurement sees the true smoothing factor, not noise


def test_chebyshev_rate_is_its_bound(laplace_hf):
    data, A, QH = laplace_hf
    S = build_smoother("chebyshev", {}, A, grid=data)
    _, rate = smoothing_factors(S, QH, A.shape[0])
    assert rate <= S.bound() * (1 + 1e-6)
    assert rate >= 0.9 * S.bound()


# ------------------------------------------------------------- plumbing
@pytest.mark.parametrize("name", sorted(SMOOTHERS))
def test_every_smoother_pickles_copies_u_and_keeps_float32(name, poisson2d):
    data, A = poisson2d
    S = build_smoother(name, {}, A, grid=data)
    f, u = rand_fu(A.shape[0])
    u_before = u.copy()
    out = S.smooth(None, f, u, 2)
    np.testing.assert_array_equal(u, u_before)
    T = pickle.loads(pickle.dumps(S))
    np.testing.assert_allclose(T.smooth(None, f, u, 2), out, rtol=1e-14, atol=1e-14)
    S32 = build_smoother(name, {}, A.astype(np.float32), grid=data)
    out32 = S32.smooth(None, f.astype(np.float32), u.astype(np.float32), 2)
    assert out32.dtype == np.float32
    np.testing.assert_allclose(out32, out, rtol=1e-3, atol=1e-3 * np.abs(out).max())
    # smoothing reduces the error of A x = f
    x = np.linalg.solve(A.toarray(), f)
    assert np.linalg.norm(out - x) < np.linalg.norm(u - x)


def test_is_symmetric():
    assert is_symmetric("jacobi") and is_symmetric("sgs") and is_symmetric("cheb") and is_symmetric("richardson")
    assert not is_symmetric("gs") and not is_symmetric("gauss-seidel", {"sweep": "backward"})
    assert not is_symmetric("rbgs")


def test_bad_specs_raise_with_allowed_names(poisson2d):
    data, A = poisson2d
    with pytest.raises(ValueError, match="allowed names: richardson, jacobi, gauss-seidel, red-black, line-gs, chebyshev, polynomial"):
        build_smoother("sor", {}, A)
    with pytest.raises(ValueError, match="allowed: omega, dim"):
        build_smoother("jacobi", {"omaga": 0.5}, A)
    with pytest.raises(ValueError, match="sweep must be one of"):
        build_smoother("gs", {"sweep": "sideways"}, A)
    with pytest.raises(ValueError, match="grid shape"):
        build_smoother("rbgs", {}, A)
    with pytest.raises(ValueError, match="order must be one of"):
        build_smoother("rbgs", {"order": "black-first"}, A, grid=data)
    with pytest.raises(ValueError, match="'post' is not a smoother option"):
        build_smoother("jacobi", {"post": True}, A)
    with pytest.raises(ValueError, match="cannot be combined"):
        build_smoother("sgs", {"sweep": "forward"}, A)
    with pytest.raises(ValueError, match="omega must be a positive number"):
        build_smoother("jacobi", {"omega": -1.0}, A)
    with pytest.raises(ValueError, match="degree must be an int"):
        build_smoother("chebyshev", {"degree": 0}, A)
    with pytest.raises(ValueError, match="both lower and upper"):
        build_smoother("chebyshev", {"lower": 0.5}, A)
    with pytest.raises(ValueError, match="zero diagonal"):
        Jacobi(sp.csr_matrix(np.array([[0.0, 1.0], [1.0, 2.0]])))
    with pytest.raises(ValueError, match="f must be a vector"):
        Jacobi(A).smooth(None, np.zeros(3), None, 1)
    with pytest.raises(TypeError, match="scipy.sparse matrix"):
        Jacobi([[1.0]])
