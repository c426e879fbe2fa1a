"""The C mixed-precision step (float32 colour-split levels, one fine pass per step): agreement with the numba path."""

import numpy as np
import pytest

from mgcore import _ckernels
from mgcore._ckernels.mixed import CMixed, from_split, to_split
from mgcore._ckernels.solver import c_solver
from mgcore.problems import get_problem, poisson, poisson2d
from mgcore.sparse import MultigridSolver


def _source(x, y):
    return np.sin(np.pi * x) * np.sin(np.pi * y) + np.cos(2 * np.pi * x) + x * y


def _numba_mixed(monkeypatch, p, **kw):
    """The same solver on the numba kernels (the C library switched off while it is built)."""
    monkeypatch.setenv(_ckernels.ENV_SWITCH, "0")
    _ckernels._reset()
    try:
        s = MultigridSolver(p, precision="mixed", **kw)
    finally:
        monkeypatch.delenv(_ckernels.ENV_SWITCH)
        _ckernels._reset()
    assert s._mixed.c is None
    return s


def test_split_layout_round_trip():
    a = np.arange(5 * 7, dtype=np.float32).reshape(5, 7)
    s = to_split(a)
    assert s.shape == (5, 8)
    np.testing.assert_array_equal(s[0], [0, 2, 4, 6, 1, 3, 5, 0])
    np.testing.assert_array_equal(from_split(s), a)


@pytest.mark.parametrize("shape, nu, smoother", [
    (63, (2, 2), None), (255, (2, 2), None), ((63, 127), (2, 2), None), (127, (1, 1), None),
    (127, (2, 1), "rbgs"), (127, (0, 2), None), (127, (2, 0), None), (127, (3, 3), None),
    (127, (2, 2), ("rbgs", {"order": "symmetric"})), (31, (2, 2), None),
    ((31, 31, 31), (2, 2), None), ((15, 31, 63), (2, 2), None), ((31, 31, 31), (1, 2), None),
    ((31, 15, 31), (2, 0), None), ((31, 31, 31), (2, 2), ("rbgs", {"order": "symmetric"})),
])
def test_c_step_agrees_with_the_numba_mixed_path(monkeypatch, shape, nu, smoother):
    p = poisson(len(shape), shape) if isinstance(shape, tuple) else poisson2d(shape)
    b = p.rhs(_source if p.dim == 2 else (lambda x, y, z: _source(x, y) * (1 + z)))
    cs = MultigridSolver(p, precision="mixed", nu=nu, smoother=smoother)
    assert isinstance(cs._mixed.c, CMixed), cs.mixed_c_reason
    ns = _numba_mixed(monkeypatch, p, nu=nu, smoother=smoother)
    for k in (1, 3):
        rc = cs.solve(b, rtol=1e-14, maxiter=k)
        rn = ns.solve(b, rtol=1e-14, maxiter=k)
        assert rc.iterations == rn.iterations == k
        # float32 cycles, operations in another order: the corrections agree to float32 rounding
        err = np.abs(rc.x - rn.x).max() / np.abs(rn.x).max()
        assert err <= 1e-5, f"{k} steps: relative difference {err:.2e}"
        for a, c in zip(rc.residuals, rn.residuals):
            assert a == pytest.approx(c, rel=2e-3)
    rc = cs.solve(b, rtol=1e-10)
    rn = ns.solve(b, rtol=1e-10)
    assert rc.converged and rn.converged
    assert (rc.info["kernels"], rn.info["kernels"]) == ("c", "numba")
    assert abs(rc.iterations - rn.iterations) <= 1
    A = p.level_data().matrix()
    assert np.linalg.norm(b - A @ rc.x) <= 1e-10 * np.linalg.norm(b)


def test_anisotropic_constant_coefficients():
    p = poisson(2, 127, eps=0.05)
    b = p.rhs(_source)
    s = MultigridSolver(p, precision="mixed", smoother="rbgs")
    assert s._mixed.c is not None
    r = s.solve(b, rtol=1e-9, maxiter=300)
    assert r.converged
    A = p.level_data().matrix()
    assert np.linalg.norm(b - A @ r.x) <= 1e-9 * np.linalg.norm(b)


@pytest.mark.parametrize("dim, n", [(2, 255), (3, 63)])
def test_fmg_start_and_nonzero_initial_guess(dim, n):
    p = poisson(dim, n)
    b = p.rhs(1.0)
    A = p.level_data().matrix()
    s = MultigridSolver(p, precision="mixed", fmg=True)
    assert s._mixed.c is not None
    r = s.solve(b, rtol=1e-9)
    assert r.converged and r.iterations <= (6 if dim == 2 else 8)
    assert np.linalg.norm(b - A @ r.x) <= 1e-9 * np.linalg.norm(b)
    x0 = np.random.default_rng(1).random(b.size)
    r2 = MultigridSolver(p, precision="mixed").solve(b, x0=x0, rtol=1e-9)
    assert r2.converged and r2.iterations <= 8
    assert np.linalg.norm(b - A @ r2.x) <= 1e-9 * np.linalg.norm(b - A @ x0)
    assert r2.residuals[-1] == pytest.approx(np.linalg.norm(b - A @ r2.x), rel=1e-6)


@pytest.mark.parametrize("kw, why", [
    ({"threads": 2}, "threads"), ({"cycle": "W"}, "V-cycle"), ({"smoother": "jacobi"}, "red-black"),
])
def test_uncovered_configurations_keep_the_numba_step(kw, why):
    s = MultigridSolver(poisson2d(63), precision="mixed", **kw)
    assert s._mixed.c is None and why in s.mixed_c_reason


def test_other_problems_keep_the_numba_step():
    assert MultigridSolver(poisson(1, 1023), precision="mixed")._mixed.c is None
    assert MultigridSolver(get_problem("variable3d", 15), precision="mixed")._mixed.c is None
    assert MultigridSolver(poisson(2, 65, bc="neumann"), precision="mixed")._mixed.c is None
    assert MultigridSolver(poisson2d(100), precision="mixed")._mixed.c is None


@pytest.mark.parametrize("shape, nu", [(255, (2, 2)), ((63, 127), (1, 2)), ((31, 31, 31), (2, 2)), ((15, 31, 15), (2, 1))])
def test_c_solver_runs_the_same_mixed_steps_without_numba_levels(shape, nu):
    """``mgcore solve --dtype mixed`` builds this solver: the same kernels as MultigridSolver(precision="mixed")."""
    p = poisson(len(shape), shape) if isinstance(shape, tuple) else poisson2d(shape)
    b = p.rhs(_source if p.dim == 2 else (lambda x, y, z: _source(x, y) * (1 + z)))
    cs, why = c_solver(p, nu=nu, dtype="mixed", quiet=True)
    assert cs is not None, why
    ms = MultigridSolver(p, nu=nu, precision="mixed")
    rc, rm = cs.solve(b, rtol=1e-10), ms.solve(b, rtol=1e-10)
    assert rc.converged and rc.iterations == rm.iterations
    assert rc.info["precision"] == "mixed" and rc.info["kernels"] == "c"
    np.testing.assert_array_equal(rc.x, rm.x)
    np.testing.assert_array_equal(rc.residuals, rm.residuals)
    A = p.level_data().matrix()
    x0 = np.random.default_rng(2).random(b.size)
    r0 = cs.solve(b, x0=x0, rtol=1e-9)
    assert r0.converged
    assert r0.residuals[-1] == pytest.approx(np.linalg.norm(b - A @ r0.x), rel=1e-6)
    assert r0.residuals[-1] <= 1e-9 * np.linalg.norm(b - A @ x0)
