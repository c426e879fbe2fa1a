"""The default precision: float64 solves run the C mixed-precision step where it covers the problem."""

import json
import pickle
import subprocess
import sys

import numpy as np
import pytest

from mgcore._ckernels import load
from mgcore.sparse import MultigridSolver, poisson2d, poisson3d, variable2d

pytestmark = pytest.mark.skipif(load(quiet=True) is None, reason="no C compiler: the default stays float64 cycles")


def true_relres(p, b, x):
    A = p.level_data().matrix()
    return np.linalg.norm(b - A @ x) / np.linalg.norm(b)


@pytest.mark.parametrize("p", [poisson2d(n=127), poisson3d(n=31)], ids=["2d", "3d"])
def test_default_runs_mixed_and_matches_float64_accuracy(p):
    b = p.rhs(1.0)
    auto = MultigridSolver(p)
    r = auto.solve(b, rtol=1e-10)
    assert r.converged and r.info["precision"] == "mixed" and r.info["kernels"] == "c"
    assert r.x.dtype == np.float64 and true_relres(p, b, r.x) <= 1e-10
    r64 = MultigridSolver(p, precision="float64").solve(b, rtol=1e-10)
    assert r64.info["precision"] == "float64" and r64.info["kernels"] == "numba"
    assert abs(r.iterations - r64.iterations) <= 1
    # the solutions agree to the tolerance, not bitwise (float32 corrections)
    assert np.linalg.norm(r.x - r64.x) / np.linalg.norm(r64.x) < 1e-9
    # the levels stay float64
    assert all(lvl.dtype == np.float64 for lvl in auto.hierarchy.levels)
    assert auto.precision == "float64" and auto.cycle_dtype == np.float64


def test_same_attainable_accuracy_as_float64_cycles():
    p = poisson3d(n=31)
    b = np.random.default_rng(0).standard_normal(31 ** 3)
    r = MultigridSolver(p).solve(b, rtol=1e-14, maxiter=40)
    r64 = MultigridSolver(p, precision="float64").solve(b, rtol=1e-14, maxiter=40)
    assert r.converged and r64.converged and r.info["precision"] == "mixed"
    assert true_relres(p, b, r.x) < 1e-14


@pytest.mark.parametrize("kw, solve_kw", [
    ({}, {"accel": "cg"}),
    ({}, {"cycle": "W"}),
    ({"fmg": True}, {}),
    ({"threads": 2}, {}),
    ({"precision": "float64"}, {}),
], ids=["cg", "W", "fmg", "threads", "float64"])
def test_float64_cycles_where_the_mixed_step_does_not_run(kw, solve_kw):
    p = poisson2d(n=63)
    r = MultigridSolver(p, **kw).solve(p.rhs(1.0), rtol=1e-8, **solve_kw)
    assert r.converged and r.info["precision"] == "float64"


def test_variable_coefficients_stay_float64():
    p = variable2d(n=63)
    r = MultigridSolver(p).solve(p.rhs(1.0), rtol=1e-8)
    assert r.converged and r.info["precision"] == "float64"


def test_one_solver_switches_per_solve():
    p = poisson2d(n=63)
    s = MultigridSolver(p)
    b = p.rhs(1.0)
    assert s.solve(b, accel="cg").info["precision"] == "float64"
    assert s.solve(b).info["precision"] == "mixed"
    assert s.solve(b, cycle="F").info["precision"] == "float64"


@pytest.mark.parametrize("precision", [None, "mixed"])
@pytest.mark.parametrize("scale", [1e-45, 1e-20, 1e20, 1e35])
def test_extreme_right_hand_sides_are_rescaled_into_float32_range(precision, scale):
    p = poisson2d(n=63)
    s = MultigridSolver(p, precision=precision)
    b = p.rhs(1.0)
    ref = s.solve(b, rtol=1e-8)
    r = s.solve(b * scale, rtol=1e-8)
    assert r.converged and r.iterations == ref.iterations
    assert np.allclose(r.x / scale, ref.x, rtol=1e-12, atol=0)
    assert r.residuals[0] == pytest.approx(ref.residuals[0] * scale, rel=1e-12)


def test_atol_is_rescaled_with_b():
    p = poisson2d(n=63)
    s = MultigridSolver(p)
    b = p.rhs(1.0) * 1e-14  # below the float32 window: solved as b / max|b|
    nb = np.linalg.norm(b)
    r = s.solve(b, rtol=0.0, atol=1e-8 * nb)
    ref = s.solve(b, rtol=1e-8)
    assert r.converged and r.iterations == ref.iterations and r.residuals[-1] <= 1e-8 * nb


def test_pickles_after_a_mixed_solve():
    p = poisson2d(n=63)
    s = MultigridSolver(p)
    b = p.rhs(1.0)
    x = s.solve(b, maxiter=3).x
    s2 = pickle.loads(pickle.dumps(s))
    r2 = s2.solve(b, maxiter=3)
    assert r2.info["precision"] == "mixed" and np.array_equal(x, r2.x)
    sm = MultigridSolver(p, precision="mixed")
    xm = sm.solve(b, maxiter=3).x
    assert np.array_equal(pickle.loads(pickle.dumps(sm)).solve(b, maxiter=3).x, xm)


def _cli(*args):
    out = subprocess.run([sys.executable, "-m", "mgcore", *args], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_cli_default_is_auto():
    d = _cli("solve", "--n", "63", "--json")
    assert d["converged"] and d["precision"] == "mixed" and d["kernels"] == "c"
    d64 = _cli("solve", "--n", "63", "--dtype", "float64", "--json")
    assert d64["converged"] and d64["precision"] == "float64"
    assert abs(d["iterations"] - d64["iterations"]) <= 1
    dv = _cli("solve", "--problem", "variable2d", "--n", "63", "--json")
    assert dv["converged"] and dv["precision"] == "float64"


@pytest.mark.parametrize("scale", [1e-45, 1e-20, 1e35])
def test_torch_mixed_rescales_extreme_right_hand_sides(scale):
    pytest.importorskip("torch")
    from mgcore_torch.linear import TorchMultigridSolver

    p = poisson2d(n=63)
    s = TorchMultigridSolver(p, precision="mixed")
    b = p.rhs(1.0)
    ref = s.solve(b, rtol=1e-8)
    r = s.solve(b * scale, rtol=1e-8)
    assert r.converged and r.iterations == ref.iterations
    assert np.allclose(np.asarray(r.x) / scale, np.asarray(ref.x), rtol=1e-10, atol=0)


def test_deep_convergence_switches_to_float64_cycles():
    """b = 0 from a random x0 to rtol 1e-300: the residual falls below float32's range and the solve
    goes on in float64 cycles at the float64 factor."""
    p = poisson2d(n=31)
    x0 = np.random.default_rng(0).standard_normal(31 * 31)
    kw = dict(nu=(1, 1), coarse_size=1)
    r = MultigridSolver(p, **kw).solve(np.zeros(31 * 31), x0=x0, rtol=1e-300, maxiter=40)
    r64 = MultigridSolver(p, precision="float64", **kw).solve(np.zeros(31 * 31), x0=x0, rtol=1e-300, maxiter=40)
    assert r.info["precision"] == "mixed" and len(r.residuals) == len(r64.residuals) == 41
    f, f64 = ((h[-1] / h[-11]) ** 0.1 for h in (r.residuals, r64.residuals))
    assert f == pytest.approx(f64, rel=0.02) and r.residuals[-1] < 1e-30


@pytest.mark.parametrize("precision", [None, "mixed"])
def test_even_coarsest_grid_runs_without_the_c_step(precision):
    p = poisson2d(n=45)  # 45 -> 22: nested, but an even coarsest grid
    s = MultigridSolver(p, precision=precision)
    r = s.solve(p.rhs(1.0), rtol=1e-8)
    assert r.converged and r.info["kernels"] == "numba" and "even" in s.mixed_c_reason
    assert true_relres(p, p.rhs(1.0), r.x) <= 1e-8
