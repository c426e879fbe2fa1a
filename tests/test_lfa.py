"""Local Fourier analysis (mgcore.analysis.lfa): known values, exactness, predicted vs measured."""

import numpy as np
import pytest
import scipy.sparse as sp

from mgcore.analysis import (
    Stencil,
    compare,
    format_table,
    low_frequencies,
    measure_factor,
    smoother_symbol,
    smoothing_factor,
    smoothing_map,
    two_grid_factor,
)
from mgcore.analysis.lfa import cycle_factor, cycle_symbol, harmonics
from mgcore.problems import anisotropic2d, poisson2d, poisson3d
from mgcore.sparse.smoothers import build_smoother

LAP2, LAP3 = Stencil.laplacian(2), Stencil.laplacian(3)


# ------------------------------------------------------------ known values
def test_smoothing_factors_known_values():
    assert smoothing_factor(LAP2, ("jacobi", {"omega": 0.8})) == pytest.approx(0.6, abs=1e-9)
    assert smoothing_factor(LAP2, "gauss-seidel") == pytest.approx(0.5, abs=1e-9)
    assert smoothing_factor(LAP2, "rbgs") == pytest.approx(0.25, abs=1e-9)
    assert smoothing_factor(LAP2, "rbgs", nu=2) == pytest.approx(0.25, abs=1e-9)
    assert smoothing_factor(Stencil.laplacian(1), ("jacobi", {"omega": 2 / 3})) == pytest.approx(1 / 3, abs=1e-9)
    assert smoothing_factor(LAP3, "jacobi") == pytest.approx(5 / 7, abs=1e-9)  # default omega 6/7
    # line smoothers (Trottenberg, Oosterlee & Schueller 2001, Sec. 5.1): x-line lexicographic 1/sqrt(5), zebra 1/4
    assert smoothing_factor(LAP2, ("line-gs", {"axis": "x", "pattern": "lexicographic"})) == pytest.approx(
        5 ** -0.5, abs=1e-9)
    assert smoothing_factor(LAP2, ("line-gs", {"axis": "y"})) == pytest.approx(0.25, abs=1e-9)


def test_two_grid_factors_known_values():
    assert two_grid_factor(LAP2, "rbgs", (1, 0), samples=16) == pytest.approx(0.25, abs=1e-6)
    assert two_grid_factor(LAP2, "rbgs", (1, 1), samples=16) == pytest.approx(2 / 27, abs=1e-6)
    assert two_grid_factor(LAP2, "rbgs", (2, 2), samples=16) == pytest.approx(0.04096, abs=1e-5)
    assert two_grid_factor(LAP3, "rbgs", (1, 1), samples=8) == pytest.approx(16 / 81, abs=1e-6)
    assert two_grid_factor(LAP2, ("jacobi", {"omega": 0.8}), (1, 1), samples=16) == pytest.approx(0.36, abs=1e-6)
    # Galerkin and re-discretised coarse operators coincide for the 5-point Laplacian only approximately
    assert two_grid_factor(LAP2, "rbgs", (1, 1), coarse="galerkin", samples=16) < 0.1


def test_anisotropy_needs_lines_in_the_strong_direction():
    A = Stencil.from_problem(anisotropic2d(n=63, eps=0.01))  # -(0.01 u_xx + u_yy): strong coupling along y
    assert smoothing_factor(A, "gs") > 0.95 and smoothing_factor(A, "rbgs") > 0.95
    assert smoothing_factor(A, ("line-gs", {"axis": "x"})) > 0.95
    assert smoothing_factor(A, ("line-gs", {"axis": "y"})) < 0.2
    assert smoothing_factor(A, ("line-gs", {"axis": "y", "pattern": "lexicographic"})) < 0.5
    assert two_grid_factor(A, ("line-gs", {"axis": "y"}), (1, 1), samples=16) < 0.2


def test_smoother_symbol_equals_the_sparse_smoother_on_sine_modes():
    p = poisson2d(n=15)
    A = p.level_data().matrix()
    S = smoother_symbol("jacobi", Stencil.from_problem(p))
    J = build_smoother("jacobi", {}, A, grid=p.level_data())
    x = np.arange(1, 16) / 16
    for k, l in [(1, 1), (3, 12), (15, 8)]:
        mode = np.outer(np.sin(k * np.pi * x), np.sin(l * np.pi * x)).ravel()
        out = J.smooth(None, np.zeros_like(mode), mode, 1)
        sym = S.diag(np.array([k * np.pi / 16, l * np.pi / 16])).real
        np.testing.assert_allclose(out, sym * mode, atol=1e-12)


# ---------------------------------------------------- exactness (periodic)
def _p1(n):
    P = np.zeros((n, n // 2))
    for X in range(n // 2):
        P[2 * X, X] = 1.0
        P[(2 * X + 1) % n, X] += 0.5
        P[(2 * X - 1) % n, X] += 0.5
    return P


def _prolongation(shape):
    P = np.ones((1, 1))
    for n in shape:
        P = np.kron(P, _p1(n))
    return P


def _block_gs(A, blocks):
    """Error propagator of one block Gauss-Seidel sweep over ``blocks`` in order (dense reference)."""
    pos = np.empty(A.shape[0], dtype=int)
    for k, b in enumerate(blocks):
        pos[b] = k
    L = np.where(pos[None, :] <= pos[:, None], A, 0.0)
    return np.eye(A.shape[0]) - np.linalg.solve(L, A)


def _colours(shape, axes):
    par = np.indices(shape).reshape(len(shape), -1)[list(axes)].sum(axis=0) % 2
    return [np.flatnonzero(par == 0), np.flatnonzero(par == 1)]


def _shifted(dim, h, sigma=0.5, weights=None):
    e = Stencil.laplacian(dim, h=h, weights=weights).entries()
    e[(0,) * dim] += sigma
    return Stencil(e)


@pytest.mark.parametrize("dim, n", [(2, 16), (3, 8)])
def test_two_grid_lfa_is_exact_on_periodic_grids(dim, n):
    """On a periodic grid the Fourier modes are exact: LFA = dense spectral radius to round-off."""
    shape = (n,) * dim
    w = (0.3,) + (1.0,) * (dim - 1)
    S, Sc = _shifted(dim, 1.0, weights=w), _shifted(dim, 2.0, weights=w)  # non-singular: theta = 0 included
    A = S.matrix(shape, "periodic").toarray()
    Ac = Sc.matrix(tuple(m // 2 for m in shape), "periodic").toarray()
    P = _prolongation(shape)
    K = np.eye(A.shape[0]) - P @ np.linalg.solve(Ac, (P.T / 2 ** dim) @ A)
    d = np.diag(A)
    from mgcore.polynomials import PolynomialSmoother, chebyshev_roots

    roots = chebyshev_roots(3, 2.0 / 30, 2.2)
    DA = A / d[:, None]
    cheb = np.eye(A.shape[0])
    for z in roots:
        cheb = (np.eye(A.shape[0]) - DA / z) @ cheb
    cases = [
        (("jacobi", {"omega": 0.8}), np.eye(A.shape[0]) - 0.8 * DA),
        ("rbgs", _block_gs(A, _colours(shape, range(dim)))),
        (("line-gs", {"axis": "x"}), _block_gs(A, _colours(shape, range(1, dim)))),
        (("line-gs", {"axis": "y"}), _block_gs(A, _colours(shape, [a for a in range(dim) if a != 1]))),
        (("chebyshev", {"lower": 2.0 / 30, "upper": 2.2}), cheb),
        (("polynomial", {"roots": [2.2, (1.0, 0.5)], "precondition": "jacobi"}),
         (np.eye(A.shape[0]) - DA / 2.2) @ (np.eye(A.shape[0]) - 2.0 * DA / 1.25 + DA @ DA / 1.25)),
    ]
    assert PolynomialSmoother([2.2, (1.0, 0.5)]).degree == 3
    for spec, Sm in cases:
        for nu in [(1, 0), (1, 1), (2, 1)]:
            M = np.linalg.matrix_power(Sm, nu[1]) @ K @ np.linalg.matrix_power(Sm, nu[0])
            dense = np.abs(np.linalg.eigvals(M)).max()
            lfa = two_grid_factor(S, spec, nu, n=n, coarse_stencil=Sc, bc="periodic")
            assert lfa == pytest.approx(dense, rel=1e-10, abs=1e-12), (spec, nu)


def test_three_grid_lfa_is_exact_on_periodic_grids():
    n = 16
    levels = [_shifted(2, h, weights=(0.5, 1.0)) for h in (1.0, 2.0, 4.0)]
    mats = [S.matrix((n // 2 ** l,) * 2, "periodic").toarray() for l, S in enumerate(levels)]
    Ps = [_prolongation((n // 2 ** l,) * 2) for l in range(2)]
    Sm = [_block_gs(A, _colours((n // 2 ** l,) * 2, range(2))) for l, A in enumerate(mats[:2])]
    nu = (1, 1)
    # V-cycle error propagator: M_1 = S (I - P (I - M_2) A_2^-1 R A_1) S, M_2 = two-grid on level 2
    M2 = Sm[1] @ (np.eye(mats[1].shape[0]) - Ps[1] @ np.linalg.solve(mats[2], Ps[1].T / 4 @ mats[1])) @ Sm[1]
    inner = (np.eye(mats[1].shape[0]) - M2) @ np.linalg.solve(mats[1], Ps[0].T / 4 @ mats[0])
    M1 = Sm[0] @ (np.eye(mats[0].shape[0]) - Ps[0] @ inner) @ Sm[0]
    dense = np.abs(np.linalg.eigvals(M1)).max()
    ax = 2 * np.pi * np.arange(-2, 2) / 4  # coarsest (4x4) frequencies
    Theta = np.stack(np.meshgrid(ax, ax, indexing="ij"), -1).reshape(-1, 2)
    M = cycle_symbol(levels, "rbgs", nu, Theta, "V", bc="periodic")
    assert M.shape == (16, 16, 16)
    assert np.abs(np.linalg.eigvals(M)).max() == pytest.approx(dense, rel=1e-10)
    assert cycle_factor(levels[:2], "rbgs", nu) == pytest.approx(two_grid_factor(levels[0], "rbgs", nu,
                                                                                  coarse_stencil=levels[1]), rel=2e-2)


# ------------------------------------------------- predicted vs measured
@pytest.mark.parametrize("problem", [poisson2d(n=63), pytest.param(poisson3d(n=31), marks=pytest.mark.slow)],
                         ids=["2d", "3d"])
def test_predicted_rbgs_factors_match_the_solver(problem):
    rows = compare(problem, "rbgs", [(1, 1), (2, 2)], cycles=30, samples=8 if problem.dim == 3 else 16)
    print(format_table(rows))
    for r in rows:
        # two levels (exact coarse solve): the two-grid analysis on the grid's frequencies
        assert r["measured_2g"] == pytest.approx(r["rho_2g_n"], rel=0.10)
        # the solver's own V-cycle: the k-grid analysis over its levels
        assert r["measured_V"] == pytest.approx(r["rho_V_n"], rel=0.10)
        assert r["levels"] == 3
        assert r["mu"] < 0.5 and r["rho_2g"] < r["mu"]


@pytest.mark.parametrize("problem, spec", [
    (anisotropic2d(n=63, eps=0.01), "line-gs"),                                        # lines along the strong y
    (anisotropic2d(n=63, eps=0.1), ("line-gs", {"axis": 0})),                          # the wrong direction
    (poisson2d(n=63), ("line-gs", {"axis": "alternating", "order": "symmetric"})),
], ids=["aniso-auto", "aniso-x-lines", "alternating"])
def test_predicted_line_gs_factors_match_the_solver(problem, spec):
    rows = compare(problem, spec, [(1, 1)], cycles=25, samples=16, fast=False)
    print(format_table(rows))
    r = rows[0]
    assert r["measured_2g"] == pytest.approx(r["rho_2g_n"], rel=0.10)
    assert r["measured_V"] == pytest.approx(r["rho_V_n"], rel=0.10)


def test_measure_factor_and_gauss_seidel_prediction():
    p = poisson2d(n=31)
    m = measure_factor(p, "gs", (1, 1), cycles=25, two_grid=True, fast=False)
    pred = two_grid_factor(Stencil.from_problem(p), "gs", (1, 1), n=31, coarse_stencil=Stencil.from_problem(p, 2))
    assert m["levels"] == 2 and len(m["residuals"]) == 26
    assert m["factor"] == pytest.approx(pred, rel=0.10)


# ----------------------------------------------------------------- helpers
def test_frequencies_harmonics_and_map():
    th = low_frequencies(2, samples=4)
    assert th.shape == (24, 2) and np.all(np.abs(th) <= np.pi / 2)
    assert low_frequencies(2, n=7).shape == (49, 2)  # k in [-4, 4), k != 0, per axis
    assert low_frequencies(1, n=8, bc="periodic").tolist() == [[-np.pi / 2], [-np.pi / 4], [0.0], [np.pi / 4]]
    H = harmonics(np.array([[0.1, -0.2]]))
    assert H.shape == (1, 4, 2) and np.allclose(H[0, 3], [0.1 - np.pi, -0.2 + np.pi])
    ax, vals, blocks = smoothing_map(LAP2, "rbgs", samples=16)
    assert blocks and ax.shape == (16,) and vals.shape == (16, 16) and vals.max() <= 0.25 + 1e-12
    assert np.all(np.abs(ax) < np.pi / 2)
    ax, vals, blocks = smoothing_map(LAP3, "jacobi", samples=8)
    assert not blocks and vals.shape == (8, 8) and 0.9 < vals.max() < 1.0


def test_bad_input_gives_clear_errors():
    with pytest.raises(ValueError, match="allowed names"):
        smoothing_factor(LAP2, "sor")
    with pytest.raises(ValueError, match="unknown option"):
        smoothing_factor(LAP2, ("jacobi", {"weight": 1.0}))
    with pytest.raises(ValueError, match="nu must be"):
        two_grid_factor(LAP2, "rbgs", (-1, 1))
    with pytest.raises(ValueError, match="nu must be an int >= 1"):
        smoothing_factor(LAP2, "rbgs", nu=0)
    with pytest.raises(ValueError, match="n must be odd"):
        two_grid_factor(LAP2, "rbgs", (1, 1), n=8)
    with pytest.raises(ValueError, match="multiple of 4"):
        two_grid_factor(LAP2, "rbgs", (1, 1), n=6, bc="periodic")
    with pytest.raises(ValueError, match="bc must be one of"):
        smoothing_factor(LAP2, "rbgs", bc="robin")
    with pytest.raises(ValueError, match="axis must be"):
        smoothing_factor(LAP2, ("line-gs", {"axis": "z"}))
    with pytest.raises(ValueError, match="pattern must be"):
        smoothing_factor(LAP2, ("line-gs", {"pattern": "diagonal"}))
    with pytest.raises(ValueError, match="coarse must be one of"):
        two_grid_factor(LAP2, "rbgs", (1, 1), coarse="aggregation")
    with pytest.raises(ValueError, match="restriction must be one of"):
        two_grid_factor(LAP2, "rbgs", (1, 1), restriction="half")
    with pytest.raises(TypeError, match="Stencil"):
        smoother_symbol("jacobi", sp.eye(3))
    with pytest.raises(ValueError, match="cycle must be 'V' or 'W'"):
        cycle_symbol([LAP2, LAP2.coarse()], cycle="F")
    with pytest.raises(ValueError, match="at least 2 levels"):
        cycle_symbol([LAP2])
    with pytest.raises(ValueError, match="cycles must be"):
        measure_factor(poisson2d(n=7), cycles=1)
