"""Semi-coarsening on the compiled structured path (mgcore.sparse.structured.semi)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mgcore.coarsening import level_shapes
from mgcore.problems import GridProblem, poisson
from mgcore.sparse import MultigridSolver
from mgcore.sparse.structured.semi import semi_level_data, semi_support
from mgcore.sparse.transfers import prolongation_axes


def _weak(axis, dim=3, eps=0.01):
    a = [1.0] * dim
    a[axis] = eps
    return tuple(a)


def _pair(p, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the structured path is taken: no FastPathWarning
        fast = MultigridSolver(p, coarsening="semi", **kw)
    ref = MultigridSolver(p, coarsening="semi", coarse="rediscretize", fast=False, **kw)
    return fast, ref


# ------------------------------------------------------------- transfers
@pytest.mark.parametrize("bc", ["dirichlet", "neumann"])
@pytest.mark.parametrize("shape,axes", [
    ((9, 7, 5), (1, 2)), ((9, 7, 5), (0, 2)), ((9, 7, 5), (0, 1)), ((7, 9, 5), (0,)), ((5, 7, 9), (2,)),
    ((5, 7, 9), (0, 1, 2)), ((9, 7), (0,)), ((9, 7), (1,)),
])
def test_semi_transfers_equal_assembled(bc, shape, axes):
    """R = P^T / 2^d' and P of the kernels equal prolongation_axes (odd sizes, both boundary conventions)."""
    from mgcore.sparse.structured.operator import StencilOperator
    from mgcore.sparse.structured.semi import SemiTransfer

    if bc == "neumann" and min(shape[a] for a in axes) < 5:
        shape = tuple(n + 2 for n in shape)
    p = GridProblem(shape, bc=bc)
    cshape = tuple((n // 2 if bc == "dirichlet" else (n + 1) // 2) if a in axes else n for a, n in enumerate(shape))
    fine, coarse = semi_level_data(p, [shape, cshape])
    t = SemiTransfer(StencilOperator(fine, np.float64, 1), StencilOperator(coarse, np.float64, 1))
    P = prolongation_axes(shape, bc, axes)
    R = P.T.tocsr() * 0.5 ** len(axes)
    rng = np.random.default_rng(1)
    r = rng.standard_normal(shape)
    out = np.empty(cshape)
    t.restrict_into(r, out)
    np.testing.assert_allclose(out.ravel(), R @ r.ravel(), rtol=1e-13, atol=1e-13)
    e = rng.standard_normal(cshape)
    u = rng.standard_normal(shape)
    want = u.ravel() + P @ e.ravel()
    t.prolong_add(u, e)
    np.testing.assert_allclose(u.ravel(), want, rtol=1e-13, atol=1e-13)
    # fused residual + restriction
    U, F = rng.standard_normal(shape), rng.standard_normal(shape)
    A = fine.matrix()
    t.restrict_residual_into(U, F, out)
    np.testing.assert_allclose(out.ravel(), R @ (F.ravel() - A @ U.ravel()), rtol=1e-12, atol=1e-12)


def test_semi_level_data_is_the_rescaled_stencil():
    p = GridProblem((15, 15, 15), aniso=(0.01, 1.0, 1.0))
    shapes = [(15, 15, 15), (15, 7, 7), (7, 3, 3)]
    d = semi_level_data(p, shapes)
    assert d[1].uniform == (0.01, 0.25, 0.25) and d[2].uniform == (0.0025, 0.0625, 0.0625)
    # a full-coarsening step gives GridProblem.coarse_data's operator; variable coefficients too
    q = GridProblem((15, 15, 15), cells=np.random.default_rng(0).uniform(1, 2, (16, 16, 16)))
    a = semi_level_data(q, [(15, 15, 15), (7, 7, 7)])[1].matrix()
    b = q.coarse_data(q.level_data()).matrix()
    assert abs(a - b).max() <= 1e-12 * abs(b).max()
    ok, why = semi_support(p, [(15, 15, 15), (15, 8, 8)])
    assert not ok and "uniform" in why
    with pytest.raises(ValueError, match="uniform"):
        semi_level_data(GridProblem((16, 16, 16)), [(16, 16, 16), (16, 8, 8)])


# ------------------------------------------------- iterates: fast == assembled
@pytest.mark.parametrize("shape,aniso,bc", [
    ((31, 31, 31), _weak(0), "dirichlet"),
    ((31, 31, 31), _weak(1), "dirichlet"),
    ((31, 31, 31), _weak(2), "dirichlet"),
    ((15, 31, 23), _weak(0, eps=0.02), "dirichlet"),  # a rectangle
    ((33, 33, 17), _weak(2), "neumann"),
])
def test_semi_structured_iterates_equal_assembled(shape, aniso, bc):
    p = GridProblem(shape, bc=bc, aniso=aniso)
    fast, ref = _pair(p)
    assert fast.fast and not ref.fast and fast.coarsening == ref.coarsening == "semi"
    assert [lvl.shape for lvl in fast.levels] == [lvl.shape for lvl in ref.levels]
    assert any(c != f for f, c in zip(fast.levels[0].shape, fast.levels[1].shape))
    weak = int(np.argmin(aniso))
    assert fast.levels[1].shape[weak] == shape[weak]
    b = p.rhs(1.0) if bc == "dirichlet" else p.rhs(lambda x, y, z: np.cos(np.pi * x) * np.cos(np.pi * z))
    rf = fast.solve(b, rtol=1e-9, maxiter=12)
    rr = ref.solve(b, rtol=1e-9, maxiter=12)
    assert rf.iterations == rr.iterations
    h0 = rr.residuals[0]
    np.testing.assert_allclose(rf.residuals, rr.residuals, rtol=1e-8, atol=1e-10 * h0)
    err = np.abs(rf.x - rr.x).max() / np.abs(rr.x).max()
    assert err <= 1e-10


def test_semi_structured_variable_coefficients_and_2d():
    rng = np.random.default_rng(3)
    p = GridProblem((15, 31, 31), cells=rng.uniform(1, 2, (16, 32, 32)), aniso=(0.01, 1.0, 1.0))
    fast, ref = _pair(p)
    assert fast.fast and not fast.levels[0].const
    rf, rr = fast.solve(p.rhs(1.0), rtol=1e-9), ref.solve(p.rhs(1.0), rtol=1e-9)
    assert rf.converged and rf.iterations == rr.iterations
    assert np.abs(rf.x - rr.x).max() <= 1e-10 * np.abs(rr.x).max()
    q = GridProblem((63, 63), aniso=(1.0, 0.01))  # 2D: coarsen the strong x only, point smoothing
    fast, ref = _pair(q, smoother="rbgs")
    assert fast.levels[1].shape == (31, 63)
    rf, rr = fast.solve(q.rhs(1.0), rtol=1e-9, maxiter=30), ref.solve(q.rhs(1.0), rtol=1e-9, maxiter=30)
    assert rf.converged and rf.iterations == rr.iterations
    assert np.abs(rf.x - rr.x).max() <= 1e-10 * np.abs(rr.x).max()


# ------------------------------------------------------------ defaults
@pytest.mark.parametrize("weak", [0, 1, 2])
def test_default_semi_coarsening_is_structured_and_converges(weak):
    p = GridProblem((63, 63, 63), aniso=_weak(weak))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = MultigridSolver(p)
    assert s.coarsening == "semi" and s.coarse == "rediscretize" and s.fast
    assert s.smoothers[0][0] == "red-black"
    shapes = [lvl.shape for lvl in s.levels]
    assert shapes[1][weak] == 63 and all(shapes[1][a] == 31 for a in range(3) if a != weak)
    assert any(sh[weak] < 63 for sh in shapes)  # full coarsening once the grid is about isotropic
    r = s.solve(p.rhs(1.0), rtol=1e-8)
    assert r.converged and r.iterations <= 12
    assert np.linalg.norm(p.rhs(1.0) - p.level_data().matrix() @ r.x.ravel()) <= 1e-8 * np.linalg.norm(p.rhs(1.0))


def test_default_semi_with_cg_mixed_fmg_and_fallbacks():
    p = poisson(3, 31, eps=0.01)
    b = p.rhs(1.0)
    for kw in (dict(accel="cg"),):
        r = MultigridSolver(p).solve(b, rtol=1e-8, **kw)
        assert r.converged and r.iterations <= 8
    for kw in (dict(precision="mixed"), dict(fmg=True), dict(precision="mixed", fmg=True), dict(fast=True)):
        s = MultigridSolver(p, **kw)
        assert s.fast and s.coarsening == "semi"
        r = s.solve(b, rtol=1e-8)
        assert r.converged and r.iterations <= 8, kw
    # sizes that do not nest: constant coefficients jump to uniform grids (compiled), variable ones keep
    # Galerkin levels on the assembled path
    s = MultigridSolver(GridProblem((30, 30, 30), aniso=(0.01, 1.0, 1.0)))
    assert s.coarsening == "semi" and s.coarse == "rediscretize" and s.fast
    cells = np.ones((31, 31, 31))
    cells[10:20] = 100.0
    q = GridProblem((30, 30, 30), aniso=(0.01, 1.0, 1.0), cells=cells)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        s = MultigridSolver(q)
    assert s.coarsening == "semi" and s.coarse == "galerkin" and not s.fast
    with pytest.raises(ValueError, match="uniform coarse grid"):
        MultigridSolver(q, coarse="rediscretize")
    with pytest.raises(ValueError, match="structured path cannot be used"):
        MultigridSolver(p, coarse="galerkin", fast=True)
    assert level_shapes((31, 31, 31), "dirichlet", axes=[(1, 2)]) == [(31, 31, 31), (31, 15, 15), (15, 7, 7), (7, 3, 3)]


def test_semi_structured_threads_and_float32():
    p = GridProblem((31, 31, 31), aniso=_weak(1))
    b = p.rhs(1.0)
    r1 = MultigridSolver(p).solve(b, rtol=1e-9)
    s2 = MultigridSolver(p, threads=2)
    assert s2.fast and s2.coarsening == "semi"
    r2 = s2.solve(b, rtol=1e-9)
    assert r2.iterations == r1.iterations
    assert np.abs(r2.x - r1.x).max() <= 1e-10 * np.abs(r1.x).max()
    s4 = MultigridSolver(p, dtype=np.float32)
    assert s4.fast and s4.levels[1].u.dtype == np.float32
    r4 = s4.solve(b, rtol=1e-5)
    assert r4.converged and r4.iterations <= 6
