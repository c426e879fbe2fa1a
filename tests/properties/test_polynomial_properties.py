"""Property tests of the polynomial smoothers (seed 000 eq. 10-21)."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mgcore.iterations import chebyshev_bound
from mgcore.polynomials import (
    PolynomialSmoother,
    chebyshev_roots,
    coefficients_to_roots,
    residual_polynomial,
    roots_to_coefficients,
)

real_root = st.one_of(st.floats(0.5, 8.0), st.floats(-8.0, -0.5))
pair = st.tuples(st.floats(-4.0, 4.0), st.floats(0.5, 4.0))
root = st.one_of(real_root, pair)
roots_st = st.lists(root, min_size=1, max_size=4)
g_st = st.lists(st.floats(0.001, 0.2), max_size=2)


class Diag:
    def __init__(self, d):
        self.d = d

    def __call__(self, u):
        return self.d * u


def _factor_value(x, r):
    if isinstance(r, tuple):
        z = complex(*r)
        return (1 - x / z) * (1 - x / z.conjugate())
    return 1 - x / r


@settings(max_examples=60, deadline=None)
@given(roots=roots_st, g=g_st, x=st.complex_numbers(max_magnitude=5.0, allow_nan=False, allow_infinity=False))
def test_q_is_the_product_of_its_factors_and_matches_coefficients(roots, g, x):
    expected = 1.0 + 0j
    for a in g:
        expected *= 1 - a * x * x
    for r in roots:
        expected *= _factor_value(x, r)
    got = residual_polynomial(x, roots=roots, g=g)
    assert abs(got - expected) <= 1e-9 * max(1.0, abs(expected))
    c = roots_to_coefficients(roots, g=g)
    via_c = residual_polynomial(x, coefficients=c)
    assert abs(via_c - expected) <= 1e-8 * max(1.0, abs(expected), *(abs(v) * abs(x) ** (i + 1) for i, v in enumerate(c)))
    assert residual_polynomial(0.0, roots=roots, g=g) == 1.0


@settings(max_examples=40, deadline=None)
@given(roots=roots_st, g=g_st, seed=st.integers(0, 2**16), nu=st.integers(1, 2))
def test_root_form_equals_coefficient_form_on_a_diagonal_operator(roots, g, seed, nu):
    rng = np.random.default_rng(seed)
    d = rng.uniform(0.1, 3.0, 7)
    f, u = rng.standard_normal(7), rng.standard_normal(7)
    a = PolynomialSmoother(roots, g=g).smooth(Diag(d), f, u, nu)
    b = PolynomialSmoother(coefficients=roots_to_coefficients(roots, g=g)).smooth(Diag(d), f, u, nu)
    # exact: the error e = u - A^{-1} f is multiplied by q(d)^nu componentwise
    e = u - f / d
    q = np.array([residual_polynomial(float(x), roots=roots, g=g) for x in d])
    exact = f / d + q**nu * e
    scale = max(1.0, float(np.abs(exact).max()), float(np.abs(q).max() ** nu * np.abs(e).max()))
    assert np.abs(a - exact).max() <= 1e-9 * scale
    assert np.abs(b - exact).max() <= 1e-8 * scale


@settings(max_examples=40, deadline=None)
@given(rs=st.lists(st.floats(0.5, 10.0), min_size=1, max_size=5, unique=True))
def test_coefficients_to_roots_recovers_separated_real_roots(rs):
    rs = sorted(rs)
    if any(b - a < 0.2 for a, b in zip(rs, rs[1:])):
        rs = rs[:1]
    back = coefficients_to_roots(roots_to_coefficients(rs))
    assert len(back) == len(rs)
    assert all(isinstance(r, float) for r in back)
    np.testing.assert_allclose(back, rs, rtol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    degree=st.integers(1, 10),
    lmin=st.floats(0.01, 1.0),
    width=st.floats(0.1, 50.0),
    t=st.floats(0.0, 1.0),
)
def test_chebyshev_roots_polynomial_is_bounded_on_the_interval(degree, lmin, width, t):
    lmax = lmin + width
    r = chebyshev_roots(degree, lmin, lmax)
    assert len(r) == degree and all(lmin < z < lmax for z in r)
    x = lmin + t * width
    bound = chebyshev_bound(degree, lmin, lmax)
    assert abs(residual_polynomial(x, roots=r)) <= bound * (1 + 1e-7)
    # the bound is attained at the end points
    assert math.isclose(abs(residual_polynomial(lmax, roots=r)), bound, rel_tol=1e-6)
