"""Robust defaults and honest reports: anisotropy, FEM, any grid size, stopping, bad input."""

import math
import os
import stat
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import mgcore
from mgcore.coarsening import InsufficientMemoryError, level_shapes
from mgcore.problems import GridProblem, anisotropic2d, poisson, poisson2d, poisson3d, variable2d
from mgcore.solve import IncompatibleRHSWarning, StopReason, ZeroRHSWarning
from mgcore.sparse import MultigridSolver


def solve(p, **kw):
    opts = {k: kw.pop(k) for k in list(kw) if k in ("rtol", "maxiter", "accel", "x0", "cycle")}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = MultigridSolver(p, **kw)
        return s, s.solve(p.rhs(1.0) if p.bc == "dirichlet" else _zero_mean(p), **opts)


def _zero_mean(p):
    return p.rhs(lambda *X: np.cos(np.pi * X[0]) + 0.5 * np.cos(2 * np.pi * X[-1]))


# ------------------------------------------------------------------ anisotropy
@pytest.mark.parametrize("eps", [1e-2, 1e-3, 1e-4])
@pytest.mark.parametrize("fast", [None, False])
def test_anisotropic2d_default_is_robust(eps, fast):
    s, r = solve(anisotropic2d(n=127, eps=eps), fast=fast)
    assert s.smoothers[0][0] == "line-gs"
    assert r.converged and r.iterations <= 8 and r.convergence_factor < 0.1


def test_strong_direction_x_and_isotropic_default():
    s, r = solve(GridProblem((63, 63), aniso=(1.0, 1e-3)))
    assert s.smoothers[0][0] == "line-gs" and s.levels[0].smoother_impl.lines.axes == (0,)
    assert r.converged and r.iterations <= 8
    s, r = solve(poisson2d(n=63))
    assert s.smoothers[0][0] == "red-black" and r.iterations <= 7


def test_line_gs_fast_and_matrix_paths_agree():
    p = GridProblem((31, 31), aniso=(0.02, 1.0))
    b = np.random.default_rng(2).standard_normal(p.shape[0] * p.shape[1])
    r = {}
    for fast in (True, False):
        s = MultigridSolver(p, smoother="line-gs", fast=fast, coarse_size=10)
        r[fast] = s.solve(b, rtol=1e-10)
    assert r[True].iterations == r[False].iterations
    np.testing.assert_allclose(r[True].residuals, r[False].residuals, rtol=1e-8, atol=1e-11 * r[False].residuals[0])
    assert np.abs(r[True].x - r[False].x).max() <= 1e-9 * np.abs(r[False].x).max()


def test_line_gs_cg_symmetric_and_alternating():
    p = anisotropic2d(n=63, eps=1e-3)
    s, r = solve(p, smoother=("line-gs", {"axis": "alternating"}), accel="cg", rtol=1e-10)
    assert r.converged and r.iterations <= 10
    s, r = solve(variable2d(n=63), smoother=("line-gs", {"axis": "alternating"}), rtol=1e-7)
    assert r.converged and r.iterations <= 12


@pytest.mark.parametrize("aniso", [(0.01, 1.0, 1.0), (1.0, 1.0, 0.001)])
def test_3d_one_weak_direction_semi_coarsening(aniso):
    s, r = solve(GridProblem((31, 31, 31), aniso=aniso))
    assert s.coarsening == "semi"
    weak = int(np.argmin(aniso))
    assert s.levels[1].shape[weak] == 31  # the weak axis is not coarsened first
    assert r.converged and r.iterations <= 10


def test_3d_one_strong_direction_line_smoothing():
    s, r = solve(GridProblem((31, 31, 31), aniso=(1.0, 0.01, 0.01)))
    assert s.coarsening == "full" and s.smoothers[0][0] == "line-gs" and s.fast
    assert r.converged and r.iterations <= 8


# ------------------------------------------------------------------ FEM
@pytest.mark.parametrize("bc,n", [("dirichlet", 63), ("neumann", 65)])
@pytest.mark.parametrize("coarse", ["rediscretize", "galerkin"])
def test_fem_coarse_operators_converge(bc, n, coarse):
    s, r = solve(poisson(2, n, bc, discretization="fem"), coarse=coarse)
    assert r.converged and r.convergence_factor <= 0.1


def test_fem_cli_and_api_default_bc_agree():
    assert mgcore.get_problem("poisson2d-fem", 31).bc == poisson(2, 31, discretization="fem").bc == "dirichlet"


# ------------------------------------------------------------------ any grid size
@pytest.mark.parametrize("shape,bc", [((100, 100), "dirichlet"), ((30, 20), "dirichlet"), ((40, 26), "neumann"),
                                      ((10, 12, 9), "dirichlet"), ((1000,), "dirichlet")])
def test_any_grid_size_and_rectangles(shape, bc):
    s, r = solve(GridProblem(shape, bc=bc), rtol=1e-8)
    assert r.converged and r.iterations <= 25


def test_matrix_on_any_grid():
    p = GridProblem((40, 40))
    A = p.level_data().matrix()
    s = MultigridSolver(A, grid_shape=(40, 40))
    r = s.solve(np.ones(1600), rtol=1e-8)
    assert r.converged and r.iterations <= 12 and s.J >= 2


def test_level_shapes_any_size():
    assert level_shapes((1000, 1000), "dirichlet", coarse_size=100)[1] == (500, 500)
    assert level_shapes((63,), "dirichlet", coarse_size=1)[-1] == (1,)
    assert level_shapes((8, 63), "dirichlet", coarse_size=1, axes=[(1,), (1,)])[:3] == [(8, 63), (8, 31), (8, 15)]


# ------------------------------------------------------------------ honest stopping
def test_stagnation_is_detected_and_reported():
    p = poisson2d(n=127)
    s, r = solve(p, dtype=np.float32, rtol=1e-12, maxiter=100)
    assert r.reason is StopReason.STAGNATED and r.iterations < 40
    assert 1e-9 < r.attainable_rtol < 1e-3
    assert "stagnated" in r.message and "reachable" in r.message
    k = int(np.argmin(r.residuals))
    assert 0 < k < r.iterations
    assert r.convergence_factor == pytest.approx((r.residuals[k] / r.residuals[0]) ** (1 / k), rel=1e-6)


def test_cg_converged_means_true_residual_below_tolerance():
    p = variable2d(n=127)
    b = p.rhs(1.0)
    s = MultigridSolver(p)
    r = s.solve(b, rtol=1e-8, accel="cg")
    A = p.level_data().matrix()
    true = np.linalg.norm(b - A @ r.x.ravel()) / np.linalg.norm(b)
    assert r.reason in (StopReason.CONVERGED, StopReason.STAGNATED)
    if r.converged:
        assert true <= 1e-8 and r.info["true_residual"] / np.linalg.norm(b) <= 1e-8
    # at this level the residual is round-off: another summation order changes its digits
    assert r.residuals[-1] / np.linalg.norm(b) == pytest.approx(true, rel=0.1)


def test_incompatible_and_zero_rhs_are_reported():
    p = poisson2d(n=65, bc="neumann")
    with pytest.warns(IncompatibleRHSWarning, match="nothing is left"):
        b = p.rhs(1.0)
    assert not np.any(np.abs(b) > 1e-12)
    s = MultigridSolver(p)
    with pytest.warns(ZeroRHSWarning, match="x = 0"):
        s.solve(b)
    with pytest.warns(IncompatibleRHSWarning, match="projected out"):
        r = s.solve(np.ones(65 * 65) + np.random.default_rng(0).standard_normal(65 * 65))
    assert r.converged and r.info["projected_rhs_fraction"] > 0.1 and abs(r.x.mean()) < 1e-12


def test_extreme_rhs_scales_solve():
    p = poisson2d(n=31)
    s = MultigridSolver(p)
    ref = s.solve(p.rhs(1.0))
    for scale in (1e155, 1e-160):
        r = s.solve(p.rhs(1.0) * scale)
        assert r.converged and r.iterations == ref.iterations
        assert np.abs(r.x / scale - ref.x).max() <= 1e-12 * np.abs(ref.x).max()


# ------------------------------------------------------------------ bad input, named
def test_memory_is_checked_before_allocating():
    with pytest.raises(InsufficientMemoryError, match=r"n = 2047.*GiB") as exc:
        poisson3d(n=2047)
    assert isinstance(exc.value, MemoryError) and isinstance(exc.value, ValueError)


def test_numpy_scalars_accepted():
    p = poisson2d(n=np.int64(31))
    s = MultigridSolver(p, nu=np.int64(1), coarse_size=np.int32(50), max_levels=np.int16(4))
    r = s.solve(p.rhs(1.0), rtol=np.float32(1e-6), maxiter=np.int64(40))
    assert r.converged and s.nu_pre == 1


@pytest.mark.parametrize("kwargs,word", [
    (dict(restriction="foo"), "restriction"),
    (dict(smoother={"name": "jacobi", "omega": "x"}), "omega"),
    (dict(smoother={"name": "polynomial", "roots": [1.0, float("nan")]}), "roots"),
    (dict(smoother={"name": "polynomial", "roots": [1.0, 0.0]}), "zero root"),
    (dict(smoother=("line-gs", {"axis": 5})), "axis"),
    (dict(coarsening="half"), "coarsening"),
    (dict(interpolation="cubic"), "interpolation"),
    (dict(coarse="exact"), "coarse"),
])
def test_bad_solver_options_name_the_argument(kwargs, word):
    with pytest.raises(ValueError, match=word):
        MultigridSolver(poisson2d(n=31), **kwargs)


def test_bad_solve_arguments_checked_before_the_first_cycle():
    s = MultigridSolver(poisson2d(n=31))
    b = np.ones(31 * 31)
    with pytest.raises(TypeError, match="callback"):
        s.solve(b, callback=3)
    with pytest.raises(TypeError, match="residuals"):
        s.solve(b, residuals="history")
    with pytest.raises(ValueError, match="rtol"):
        s.solve(b, rtol="tiny")
    with pytest.raises(ValueError, match="maxiter"):
        s.solve(b, maxiter=2.5)


def test_plot_formats_and_permissions(tmp_path):
    from mgcore.cli import main, plot_history

    for ext in ("png", "svg", "pdf"):
        path = tmp_path / f"h.{ext}"
        plot_history([1.0, 0.1, 0.01], str(path), "t", rtol=1e-8, reason="stagnated")
        head = path.read_bytes()[:8]
        assert {"png": b"\x89PNG", "svg": b"<?xml", "pdf": b"%PDF"}[ext] in head
        mode = stat.S_IMODE(os.stat(path).st_mode)
        umask = os.umask(0)
        os.umask(umask)
        assert mode == 0o666 & ~umask
    with pytest.raises(ValueError, match=r"\.png, \.svg, \.pdf"):
        plot_history([1.0], str(tmp_path / "h.jpeg"), "t")
    assert main(["solve", "--n", "31", "--plot", str(tmp_path / "h.jpeg")]) != 0
    assert not (tmp_path / "h.jpeg").exists()
