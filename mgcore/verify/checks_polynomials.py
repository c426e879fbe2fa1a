"""Identities of the polynomial smoothers (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, eq. 10-21).

Each function is one registered check of :mod:`mgcore.verify`; the property
tests in ``tests/properties/test_polynomial_properties.py`` run the same
functions on hypothesis instances.
"""

from __future__ import annotations

from ..testing import G_COEFFICIENTS, ROOTS, Complex, Floats, Integers, Lists
from .registry import Measure, register

POLY = "van Betteray et al., Poly-MgNet, 2025"


class _Diag:
    """``u -> d * u``: a diagonal operator whose spectrum is ``d`` (numpy or torch)."""

    def __init__(self, d):
        self.d = d

    def __call__(self, u):
        return self.d * u


def _factor_value(x, r):
    if isinstance(r, tuple):
        z = complex(*r)
        return (1 - x / z) * (1 - x / z.conjugate())
    return 1 - x / r


@register("poly-factors/core", identity="q = product of factors = coefficients",
          statement="q = product of linear, conjugate-pair and g factors = coefficient form; q(0) = 1",
          reference=f"{POLY}, eq. 13-15, 17-18, 20-21", backend="core",
          params={"roots": ROOTS, "g": G_COEFFICIENTS, "x": Complex(5.0)})
def check_polynomial_factors(roots, g, x):
    from ..polynomials import residual_polynomial, roots_to_coefficients

    expected = 1.0 + 0j
    for a in g:
        expected *= 1 - a * x * x
    for r in roots:
        expected *= _factor_value(x, r)
    got = residual_polynomial(x, roots=roots, g=g)
    c = roots_to_coefficients(roots, g=g)
    via_c = residual_polynomial(x, coefficients=c)
    cscale = max(1.0, abs(expected), *(abs(v) * abs(x) ** (i + 1) for i, v in enumerate(c)))
    return [
        Measure("root form vs product of factors (rel.)", abs(got - expected) / max(1.0, abs(expected)), 1e-9),
        Measure("coefficient form vs product (rel. to term size)", abs(via_c - expected) / cscale, 1e-8),
        Measure.fact("q(0) == 1", residual_polynomial(0.0, roots=roots, g=g) == 1.0),
    ]


def _root_vs_coefficients(roots, g, seed, nu, backend):
    import numpy as np

    from ..polynomials import PolynomialSmoother, residual_polynomial, roots_to_coefficients

    rng = np.random.default_rng(seed)
    d = rng.uniform(0.1, 3.0, 7)
    f, u = rng.standard_normal(7), rng.standard_normal(7)
    if backend == "torch":
        import torch

        op, ft, ut = _Diag(torch.tensor(d)), torch.tensor(f), torch.tensor(u)
    else:
        op, ft, ut = _Diag(d), f, u
    a = PolynomialSmoother(roots, g=g).smooth(op, ft, ut, nu)
    b = PolynomialSmoother(coefficients=roots_to_coefficients(roots, g=g)).smooth(op, ft, ut, nu)
    a, b = np.asarray(a), np.asarray(b)
    # exact: the error e = u - A^{-1} f is multiplied by q(d)^nu componentwise (eq. 13, 16)
    e = u - f / d
    q = np.array([residual_polynomial(float(x), roots=roots, g=g) for x in d])
    exact = f / d + q**nu * e
    scale = max(1.0, float(np.abs(exact).max()), float(np.abs(q).max() ** nu * np.abs(e).max()))
    return [
        Measure("root-form smoother vs exact error propagation q(A)^nu", float(np.abs(a - exact).max()) / scale, 1e-9),
        Measure("coefficient-form smoother vs exact", float(np.abs(b - exact).max()) / scale, 1e-8),
    ]


_RC_PARAMS = {"roots": ROOTS, "g": G_COEFFICIENTS, "seed": Integers(0, 2**16), "nu": Integers(1, 2)}
_RC_STATEMENT = "smoother u + p(A)(f - Au): root form = coefficient form = exact q(A)^nu error propagation"
_RC_IDENTITY = "root form = coefficient form smoother"
register("poly-smoother/sparse", identity=_RC_IDENTITY, statement=_RC_STATEMENT, reference=f"{POLY}, eq. 10-16, 19, Alg. 2", backend="sparse",
         params=_RC_PARAMS, fixed={"backend": "sparse"})(_root_vs_coefficients)
register("poly-smoother/torch", identity=_RC_IDENTITY, statement=_RC_STATEMENT, reference=f"{POLY}, eq. 10-16, 19, Alg. 2", backend="torch",
         params=_RC_PARAMS, fixed={"backend": "torch"}, requires=("torch",))(_root_vs_coefficients)


@register("poly-roots/core", identity="coefficients -> roots round trip",
          statement="coefficients -> roots recovers separated real roots",
          reference=f"{POLY}, eq. 14-15", backend="core",
          params={"rs": Lists(Floats(0.5, 10.0), min_size=1, max_size=5, unique=True)})
def check_coefficients_to_roots(rs):
    from ..polynomials import coefficients_to_roots, roots_to_coefficients

    rs = sorted(rs)
    if any(b - a < 0.2 for a, b in zip(rs, rs[1:])):
        rs = rs[:1]
    back = coefficients_to_roots(roots_to_coefficients(rs))
    ms = [Measure.fact("as many roots as given", len(back) == len(rs)),
          Measure.fact("real roots come back as floats", all(isinstance(r, float) for r in back))]
    if len(back) == len(rs):
        ms.append(Measure("recovered roots (rel.)", max(abs(a - b) / abs(b) for a, b in zip(back, rs)), 1e-6))
    return ms


@register("chebyshev-bound/core", identity="Chebyshev polynomial bound",
          statement="Chebyshev roots: |q| <= bound on [lmin, lmax], attained at lmax",
          reference="He & Xu, MgNet, 2019, eq. 3.23-3.24", backend="core",
          params={"degree": Integers(1, 10), "lmin": Floats(0.01, 1.0), "width": Floats(0.1, 50.0), "t": Floats(0.0, 1.0)})
def check_chebyshev_bound(degree, lmin, width, t):
    from ..iterations import chebyshev_bound
    from ..polynomials import chebyshev_roots, residual_polynomial

    lmax = lmin + width
    r = chebyshev_roots(degree, lmin, lmax)
    x = lmin + t * width
    bound = chebyshev_bound(degree, lmin, lmax)
    return [
        Measure.fact("degree roots inside (lmin, lmax)", len(r) == degree and all(lmin < z < lmax for z in r)),
        Measure("|q(x)| - bound (rel.), x in [lmin, lmax]", max(0.0, abs(residual_polynomial(x, roots=r)) / bound - 1.0), 1e-7),
        Measure("|q(lmax)| vs bound (rel.)", abs(abs(residual_polynomial(lmax, roots=r)) - bound) / bound, 1e-6),
    ]
