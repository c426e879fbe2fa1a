"""Polynomial smoothers of van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, (eq. 10-21, Alg. 2-3) in the backend-neutral core."""

import math

import numpy as np
import pytest

from mgcore.iterations import ChebyshevSemiIteration, ResidualCorrection
from mgcore.iterations import chebyshev_bound
from mgcore.polynomials import (
    PolynomialSmoother,
    chebyshev_roots,
    coefficients_to_roots,
    residual_polynomial,
    roots_to_coefficients,
    select_roots,
)


class Mat:
    """Picklable ``u -> M @ u``."""

    def __init__(self, M):
        self.M = M

    def __call__(self, u):
        return self.M @ u


def spd_with_spectrum(lams, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((len(lams), len(lams))))
    return Q @ np.diag(lams) @ Q.T, Q


def operator_matrix(S, A, n, nu=1):
    """Matrix of the error propagation e -> S(A, 0, e, nu) (f = 0, so u is the error)."""
    cols = [S.smooth(Mat(A), np.zeros(n), np.eye(n)[:, j], nu) for j in range(n)]
    return np.column_stack(cols)


def real_matrix_with_pairs(seed=0):
    """Real 8x8 matrix with eigenvalues 1, 3, 5, 7 and the pairs 2 +- i, 4 +- 2i (block basis X)."""
    rng = np.random.default_rng(seed)
    blocks = np.zeros((8, 8))
    blocks[0, 0], blocks[1, 1], blocks[2, 2], blocks[3, 3] = 1.0, 3.0, 5.0, 7.0
    for k, (a, b) in zip((4, 6), ((2.0, 1.0), (4.0, 2.0))):
        blocks[k : k + 2, k : k + 2] = [[a, b], [-b, a]]
    X = rng.standard_normal((8, 8)) + 4 * np.eye(8)
    return X @ blocks @ np.linalg.inv(X), X


def test_roots_at_eigenvalues_annihilate_their_eigencomponents():
    A, X = real_matrix_with_pairs()
    # roots: the real eigenvalues 1 and 5 and the pair 2 +- i (given as a complex number)
    S = PolynomialSmoother([1.0, 5.0, complex(2.0, 1.0)])
    assert S.degree == 4
    coeffs = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])
    e = X @ coeffs  # every eigencomponent 1 in the real block basis
    e_new = S.smooth(Mat(A), np.zeros(8), e, 1)
    c_new = np.linalg.solve(X, e_new)
    # killed: eigenvalue 1 (index 0), 5 (index 2), the pair 2 +- i (indices 4, 5)
    assert np.abs(c_new[[0, 2, 4, 5]]).max() < 1e-10
    # the others survive with factor |q(lambda)|
    assert abs(c_new[1]) == pytest.approx(abs(S.q(3.0)), rel=1e-9)
    assert abs(S.q(3.0)) > 0.1


def test_pair_given_as_tuple_equals_pair_given_as_complex_and_real_blocks():
    A, _ = real_matrix_with_pairs(1)
    rng = np.random.default_rng(3)
    f, u = rng.standard_normal(8), rng.standard_normal(8)
    a = PolynomialSmoother([(4.0, 2.0)]).smooth(Mat(A), f, u, 2)
    b = PolynomialSmoother([complex(4.0, -2.0)]).smooth(Mat(A), f, u, 2)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_conjugate_pair_step_equals_complex_product_of_two_richardson_steps():
    rng = np.random.default_rng(2)
    A = rng.standard_normal((6, 6)) + 6 * np.eye(6)
    f, u0 = rng.standard_normal(6), rng.standard_normal(6)
    z = complex(3.0, 1.5)
    real = PolynomialSmoother([(z.real, z.imag)]).smooth(Mat(A), f, u0, 1)
    # two complex residual-correction steps with B = 1/z and B = 1/conj(z) (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, eq. 17)
    u = u0.astype(complex)
    for w in (z, z.conjugate()):
        u = u + (f - A @ u) / w
    assert np.abs(u.imag).max() < 1e-12
    np.testing.assert_allclose(real, u.real, rtol=0, atol=1e-12)


def test_g_factor_is_one_minus_alpha_A_squared():
    rng = np.random.default_rng(4)
    A = rng.standard_normal((5, 5))
    alpha = 0.3
    E = operator_matrix(PolynomialSmoother(g=[alpha]), A, 5)
    np.testing.assert_allclose(E, np.eye(5) - alpha * A @ A, atol=1e-13)


def test_root_form_and_coefficient_form_agree():
    rng = np.random.default_rng(5)
    A, _ = spd_with_spectrum(np.linspace(0.5, 4.0, 10))
    roots = [4.0, 0.7, (2.0, 0.5), 1.3]
    g = [0.05]
    coeffs = roots_to_coefficients(roots, g=g)
    assert len(coeffs) == 7  # q has degree 1 + 1 + 2 + 1 + 2 (g-factor) = 7: alpha_0 .. alpha_6
    f, u = rng.standard_normal(10), rng.standard_normal(10)
    a = PolynomialSmoother(roots, g=g).smooth(Mat(A), f, u, 2)
    b = PolynomialSmoother(coefficients=coeffs).smooth(Mat(A), f, u, 2)
    np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-11)


def test_coefficient_form_is_horner_of_p():
    rng = np.random.default_rng(6)
    A = rng.standard_normal((4, 4))
    c = [0.5, -0.2, 0.03]
    f, u = rng.standard_normal(4), rng.standard_normal(4)
    p = c[0] * np.eye(4) + c[1] * A + c[2] * A @ A
    expected = u + p @ (f - A @ u)  # van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, eq. 10-11
    got = PolynomialSmoother(coefficients=c).smooth(Mat(A), f, u, 1)
    np.testing.assert_allclose(got, expected, atol=1e-13)
    # u = None is the zero iterate
    np.testing.assert_allclose(PolynomialSmoother(coefficients=c).smooth(Mat(A), f, None, 1), p @ f, atol=1e-13)


def test_roots_to_coefficients_and_back():
    roots = [0.5, 3.0, (1.0, 2.0)]
    c = roots_to_coefficients(roots)
    # q(x) = (1 - 2x)(1 - x/3)(1 - 2x/5 + x^2/5)
    for x in (0.3, -1.2, 2.5 + 0.5j):
        q = (1 - 2 * x) * (1 - x / 3) * (1 - 2 * x / 5 + x * x / 5)
        assert 1 - x * sum(a * x**i for i, a in enumerate(c)) == pytest.approx(q, rel=1e-13)
    back = coefficients_to_roots(c)
    assert back[:2] == pytest.approx([0.5, 3.0], rel=1e-10)
    assert back[2] == pytest.approx((1.0, 2.0), rel=1e-10)
    assert coefficients_to_roots([0.0, 0.0]) == []


def test_residual_polynomial_values():
    assert residual_polynomial([0.0, 1.0, 3.0], roots=[1.0, 2.0]) == [1.0, 0.0, 1.0]
    assert abs(residual_polynomial(2 - 3j, roots=[(2.0, 3.0)])) < 1e-15
    assert residual_polynomial(2.0, g=[0.25]) == 0.0
    assert residual_polynomial(2.0, coefficients=[0.5]) == 0.0
    S = PolynomialSmoother([4.0])
    assert residual_polynomial(1.0, S) == 0.75


def test_preconditioned_polynomial_is_polynomial_in_MA():
    rng = np.random.default_rng(7)
    A, _ = spd_with_spectrum(np.linspace(1, 9, 6), seed=7)
    d = 1.0 / np.diag(A)
    M = Mat(np.diag(d))
    S = PolynomialSmoother([2.0, (1.0, 0.5)], g=[0.1], M=M)
    E = operator_matrix(S, A, 6)
    MA = np.diag(d) @ A
    I = np.eye(6)
    q = (I - 0.1 * MA @ MA) @ (I - MA / 2.0) @ (I - 2 * 1.0 / 1.25 * MA + MA @ MA / 1.25)
    np.testing.assert_allclose(E, q, atol=1e-12)


@pytest.mark.parametrize("degree", [1, 2, 3, 5, 8])
def test_chebyshev_meets_and_nearly_attains_its_bound(degree):
    lmin, lmax = 1.0, 10.0
    lams = np.concatenate([[lmin, lmax], np.random.default_rng(degree).uniform(lmin, lmax, 28)])
    A, _ = spd_with_spectrum(lams, seed=degree)
    bound = chebyshev_bound(degree, lmin, lmax)
    E = operator_matrix(PolynomialSmoother(chebyshev_roots(degree, lmin, lmax)), A, 30)
    reduction = np.linalg.norm(E, 2)  # = max |q(lambda_i)|, attained at lmax
    assert reduction <= bound * (1 + 1e-8)
    assert reduction >= 0.5 * bound
    # the semi-iteration of He & Xu, MgNet, 2019, eq. 3.23 with the same interval is the same operator
    E2 = operator_matrix(ChebyshevSemiIteration(_Identity(), lmin, lmax), A, 30, nu=degree)
    np.testing.assert_allclose(E, E2, atol=1e-10)


class _Identity:
    def __call__(self, r):
        return r


def test_chebyshev_root_form_equals_semi_iteration_iterates():
    rng = np.random.default_rng(8)
    A, _ = spd_with_spectrum(np.linspace(0.1, 2.0, 20), seed=8)
    d = 1.0 / np.diag(A)
    lmin, lmax = 0.2, 2.2
    M = Mat(np.diag(d))
    f, u = rng.standard_normal(20), rng.standard_normal(20)
    a = PolynomialSmoother(chebyshev_roots(4, lmin, lmax), M=M).smooth(Mat(A), f, u, 1)
    b = ChebyshevSemiIteration(M, lmin, lmax).smooth(Mat(A), f, u, 4)
    np.testing.assert_allclose(a, b, rtol=0, atol=1e-11 * np.abs(b).max())


def test_chebyshev_roots_values_and_order():
    r = chebyshev_roots(3, 1.0, 3.0)
    expected = sorted(2.0 - math.cos((2 * k - 1) * math.pi / 6) for k in (1, 2, 3))
    assert r == pytest.approx([expected[2], expected[0], expected[1]], rel=1e-14)
    with pytest.raises(ValueError, match="degree"):
        chebyshev_roots(0, 1.0, 2.0)
    with pytest.raises(ValueError, match="lmin < lmax"):
        chebyshev_roots(2, 2.0, 1.0)


def test_one_linear_factor_is_richardson():
    rng = np.random.default_rng(9)
    A = rng.standard_normal((5, 5)) + 5 * np.eye(5)
    f, u = rng.standard_normal(5), rng.standard_normal(5)
    a = PolynomialSmoother([4.0]).smooth(Mat(A), f, u, 3)
    b = ResidualCorrection(_Scale(0.25)).smooth(Mat(A), f, u, 3)
    np.testing.assert_allclose(a, b, atol=1e-13)


class _Scale:
    def __init__(self, s):
        self.s = s

    def __call__(self, r):
        return self.s * r


# ------------------------------------------------------------- root selection
def test_select_roots_follows_algorithm_3():
    lam = [0.5, 6.0, 2 + 3j, 2 - 3j, 3 + 1j, 3 - 1j, 1.5 + 2j, 1.5 - 2j, 4.5 + 1.5j, 4.5 - 1.5j]
    out = select_roots(lam, 2)
    assert out == {"roots": [6.0, 0.5], "g": []}
    out4 = select_roots(lam, 4)
    assert out4["roots"] == [6.0, 0.5, (2.0, 3.0)]  # zeta3 = argmax Im, zeta4 its conjugate
    out6 = select_roots(lam, 6)
    # zeta5 = argmax |q_4(Lambda)| (brute force), zeta6 its conjugate
    q4 = [abs(residual_polynomial(z, roots=out4["roots"])) for z in lam]
    z = lam[int(np.argmax(q4))]
    assert out6["roots"][:3] == out4["roots"]
    assert z.imag != 0 and out6["roots"][3] == (z.real, abs(z.imag)) == (4.5, 1.5)
    # odd degree: the last single degree takes the real part of the maximiser
    assert select_roots(lam, 5)["roots"][3] == 4.5
    # the resulting polynomial is small on the spectrum compared with q_2
    q6 = max(abs(residual_polynomial(v, **out6)) for v in lam)
    assert q6 < max(q4)


def test_select_roots_real_spectrum_and_odd_degree():
    lam = list(np.linspace(1.0, 10.0, 50))
    out = select_roots(lam, 3)
    assert out["roots"][:2] == [10.0, 1.0]
    q2 = [abs(residual_polynomial(v, roots=[10.0, 1.0])) for v in lam]
    assert out["roots"][2] == pytest.approx(lam[int(np.argmax(q2))])
    # real maximisers are added one at a time
    out5 = select_roots(lam, 5)
    assert len(out5["roots"]) == 5 and all(isinstance(r, float) for r in out5["roots"])


def test_select_roots_g_form():
    lam = [-3.0, 1.0, 2 + 2j, 2 - 2j, 0.0]  # the zero eigenvalue is ignored
    out = select_roots(lam, 4, kind="g")
    assert out == {"roots": [], "g": [1 / 9, 1 / 9]}  # alpha = 1/zeta^2, zeta = max(|max Re|, |min Re|) = 3
    out6 = select_roots(lam, 6, kind="g")
    assert out6["g"] == [1 / 9, 1 / 9] and out6["roots"] == [(2.0, 2.0)]
    assert PolynomialSmoother(**out6).degree == 6


def test_select_roots_bad_input():
    with pytest.raises(ValueError, match="kind"):
        select_roots([1.0], 2, kind="x")
    with pytest.raises(ValueError, match="even"):
        select_roots([1.0], 3, kind="g")
    with pytest.raises(ValueError, match="degree"):
        select_roots([1.0], 0)
    with pytest.raises(ValueError, match="all zero"):
        select_roots([0.0, 0.0], 2)
    with pytest.raises(ValueError, match="extreme real part"):
        select_roots([1j, -1j, 2j], 2)


# --------------------------------------------------------------- validation
def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="roots=, g= or coefficients="):
        PolynomialSmoother()
    with pytest.raises(ValueError, match="not both"):
        PolynomialSmoother([1.0], coefficients=[1.0])
    with pytest.raises(ValueError, match="0 is not a valid root"):
        PolynomialSmoother([0.0])
    with pytest.raises(ValueError, match="pair"):
        PolynomialSmoother([(1.0, 2.0, 3.0)])
    with pytest.raises(TypeError, match="root"):
        PolynomialSmoother(["a"])
    with pytest.raises(TypeError, match="M must be callable"):
        PolynomialSmoother([1.0], M=3)
    with pytest.raises(ValueError, match="finite"):
        coefficients_to_roots([float("nan")])


def test_pickle_roundtrip():
    import pickle

    S = PolynomialSmoother([2.0, (1.0, 1.0)], g=[0.1], M=_Scale(0.5))
    T = pickle.loads(pickle.dumps(S))
    assert T.roots == S.roots and T.g == S.g and T.degree == 5


def test_torch_scalars_keep_the_graph():
    import torch

    zeta = torch.tensor(3.0, dtype=torch.float64, requires_grad=True)
    a = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(1.0, dtype=torch.float64, requires_grad=True)
    alpha = torch.tensor(0.01, dtype=torch.float64, requires_grad=True)
    A = torch.tensor(np.diag([1.0, 2.0, 4.0]))
    S = PolynomialSmoother([zeta, (a, b)], g=[alpha])
    f = torch.ones(3, dtype=torch.float64)
    u = S.smooth(Mat(A), f, None, 1)
    u.sum().backward()
    assert zeta.grad is not None and a.grad is not None and b.grad is not None and alpha.grad is not None
    # same numbers as the float version
    ref = PolynomialSmoother([3.0, (2.0, 1.0)], g=[0.01]).smooth(Mat(np.diag([1.0, 2.0, 4.0])), np.ones(3), None, 1)
    np.testing.assert_allclose(u.detach().numpy(), ref, atol=1e-14)
    # and the stored roots are the very tensors given (learnable)
    assert S.factors[1][1] is zeta
