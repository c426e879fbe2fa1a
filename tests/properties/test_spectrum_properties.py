"""Property tests of Fourier symbols, LFA and root selection (mgcore.analysis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linear_sum_assignment

from mgcore.analysis import (
    Stencil,
    alg3_roots,
    conv_eigenvalues,
    conv_matrix,
    conv_singular_values,
    leja_order,
    smoother_symbol,
    smoothing_factor,
)
from mgcore.polynomials import residual_polynomial, roots_to_coefficients


def _matched(a, b):
    cost = np.abs(np.ravel(a)[:, None] - np.ravel(b)[None, :])
    i, j = linear_sum_assignment(cost)
    return float(cost[i, j].max())


@st.composite
def kernels(draw):
    dim = draw(st.sampled_from([1, 2]))
    C = draw(st.integers(1, 3))
    k = draw(st.integers(1, 3))
    n = draw(st.integers(max(k, 2), 5))
    seed = draw(st.integers(0, 2**31 - 1))
    W = np.random.default_rng(seed).standard_normal((C, C) + (k,) * dim)
    return W, n


@settings(max_examples=25, deadline=None)
@given(kernels())
def test_symbol_spectrum_is_the_dense_spectrum(case):
    W, n = case
    A = conv_matrix(W, n).toarray()
    lam = conv_eigenvalues(W, n)
    assert _matched(lam, np.linalg.eigvals(A)) < 1e-9 * max(1.0, np.abs(A).max())
    # trace and Frobenius identities of the block-circulant operator
    N = n ** (W.ndim - 2)
    c = tuple((s - 1) // 2 for s in W.shape[2:])
    assert abs(lam.sum() - N * sum(W[(i, i) + c] for i in range(W.shape[0]))) < 1e-9 * max(1.0, abs(lam).sum())
    s = conv_singular_values(W, n)
    assert np.isclose((s**2).sum(), N * (W**2).sum(), rtol=1e-10)


@settings(max_examples=25, deadline=None)
@given(st.floats(0.05, 20.0), st.floats(0.05, 1.0))
def test_diagonal_smoother_factor_is_the_high_frequency_maximum(eps, omega):
    A = Stencil.laplacian(2, weights=(eps, 1.0))
    S = smoother_symbol(("jacobi", {"omega": omega}), A)
    ax = np.linspace(-np.pi, np.pi, 81)
    th = np.stack(np.meshgrid(ax, ax, indexing="ij"), -1).reshape(-1, 2)
    high = th[np.abs(th).max(axis=1) >= np.pi / 2]
    sampled = np.abs(S.diag(high)).max()
    mu = smoothing_factor(A, ("jacobi", {"omega": omega}), samples=16)
    assert sampled - 1e-12 <= mu <= sampled + 0.02


spectra = st.lists(st.complex_numbers(min_magnitude=0.1, max_magnitude=10.0, allow_nan=False, allow_infinity=False),
                   min_size=1, max_size=30)


@settings(max_examples=40, deadline=None)
@given(spectra, st.integers(1, 8))
def test_alg3_roots_lie_in_the_spectrum_and_give_a_real_polynomial(z, degree):
    lam = np.array(z + [w.conjugate() for w in z])
    if np.abs(lam.real).min() == 0 or np.abs(lam.real.max()) < 1e-6 or np.abs(lam.real.min()) < 1e-6:
        return
    sel = alg3_roots(lam, degree)
    roots = sel["roots"]
    assert sum(2 if isinstance(r, tuple) else 1 for r in roots) == degree
    lo, hi = lam.real.min(), lam.real.max()
    for r in roots:
        a = r[0] if isinstance(r, tuple) else r
        # a real part of the spectrum, or |z| of a purely imaginary maximiser (the documented fallback for 0 = Re z)
        assert lo - 1e-12 <= a <= hi + 1e-12 or np.isclose(np.abs(lam), a).any()
        zr = complex(*r) if isinstance(r, tuple) else complex(r)
        assert abs(residual_polynomial(zr, roots=roots)) < 1e-8 * max(1.0, abs(zr)) ** degree
    coef = roots_to_coefficients(roots)
    assert all(isinstance(c, float) for c in coef)  # conjugate pairs: real coefficients
    order = leja_order(roots)
    assert sorted(map(repr, order)) == sorted(map(repr, roots))
