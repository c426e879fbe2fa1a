"""The fused fast paths: bitwise equal to the kernels they fuse, and mixed precision to float64 accuracy."""

import numpy as np
import pytest

from mgcore.problems import variable2d
from mgcore.problems.grid import GridProblem
from mgcore.sparse.solver import MultigridSolver
from mgcore.sparse.structured import smoother as smoother_module
from mgcore.sparse.structured.mixed import MixedRefinement


def _K():
    from mgcore.sparse.structured._common import kernels

    return kernels()


def _cst(dtype):
    return np.array([1.3, 0.7, 4.0, 0.25], dtype)


def _split_scratch(n1, nsweeps, dtype):
    ne = (n1 + 1) // 2
    return np.zeros((2 * nsweeps + 3, 4, ne), dtype), np.zeros((4, 2, ne), dtype)


SHAPES2 = [(31, 31), (15, 33), (63, 17), (3, 19)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES2)
@pytest.mark.parametrize("nsweeps", [1, 2, 3])
@pytest.mark.parametrize("red_first", [True, False])
def test_prolong_fused_into_post_smoothing_is_bitwise(shape, dtype, nsweeps, red_first):
    """``u += P e`` while rows enter the split ring == prolong_add2 then rbgs2_split (iterate and norm)."""
    K = _K()
    n0, n1 = shape
    rng = np.random.default_rng(n0 + 7 * n1 + nsweeps)
    U = rng.standard_normal(shape).astype(dtype)
    F = rng.standard_normal(shape).astype(dtype)
    E = rng.standard_normal(((n0 - 1) // 2, (n1 - 1) // 2)).astype(dtype)
    erow = np.zeros(E.shape[1] + 2, dtype)
    w, z, row = np.zeros((1, 1), dtype), np.zeros(n1, dtype), np.zeros(n1, dtype)
    S, R = _split_scratch(n1, nsweeps, dtype)
    U1, U2 = U.copy(), U.copy()
    K.prolong_add2(U1, E, 1, erow)
    a = K.rbgs2_split(U1, F, w, w, _cst(dtype), True, nsweeps, red_first, z, row, True, S, R)
    b = K.rbgs2_split_prolong(U2, F, _cst(dtype), nsweeps, red_first, E, erow, True, S, R)
    np.testing.assert_array_equal(U1, U2)
    assert a == b and a > 0
    U3 = U.copy()
    assert K.rbgs2_split_prolong(U3, F, _cst(dtype), nsweeps, red_first, E, erow, False, S, R) == 0.0
    np.testing.assert_array_equal(U3, U1)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES2)
@pytest.mark.parametrize("nsweeps", [1, 2])
def test_zero_start_pre_smoothing_is_bitwise(shape, dtype, nsweeps):
    """Pre-smoothing from zero without reading the iterate == rbgs2_restrict_split on a zero-filled one."""
    K = _K()
    n0, n1 = shape
    rng = np.random.default_rng(n0 * n1)
    F = rng.standard_normal(shape).astype(dtype)
    w, z = np.zeros((1, 1), dtype), np.zeros(n1, dtype)
    S, R = _split_scratch(n1, nsweeps, dtype)
    nc = ((n0 - 1) // 2, (n1 - 1) // 2)
    fc1, fc2 = np.zeros(nc, dtype), np.full(nc, 7.0, dtype)
    U1 = np.zeros(shape, dtype)
    K.rbgs2_restrict_split(U1, F, w, w, _cst(dtype), True, nsweeps, True, z, fc1, 1, np.zeros((4, n1 + 2), dtype), S, R)
    U2 = rng.standard_normal(shape).astype(dtype)  # garbage: must be neither read nor kept
    K.split_pre_zero(U2, F, _cst(dtype), nsweeps, fc2, S, R)
    np.testing.assert_array_equal(U1, U2)
    np.testing.assert_array_equal(fc1, fc2)


@pytest.mark.parametrize("shape", [(31, 31), (15, 33), (63, 17)])
@pytest.mark.parametrize("nsweeps", [1, 2])
@pytest.mark.parametrize("red_first", [True, False])
def test_mixed_post_pass_is_bitwise(shape, nsweeps, red_first):
    """The fused last pass of a mixed-precision step == prolong_add2, rbgs2_split (float32),
    ``x += e``, stencil2 cast to float32 and resnorm2 (float64), one after the other."""
    K = _K()
    n0, n1 = shape
    f32, f64 = np.float32, np.float64
    rng = np.random.default_rng(n0 + n1)
    x, b = rng.standard_normal(shape), rng.standard_normal(shape)
    e = rng.standard_normal(shape).astype(f32)
    r = rng.standard_normal(shape).astype(f32)
    ec = rng.standard_normal(((n0 - 1) // 2, (n1 - 1) // 2)).astype(f32)
    erow = np.zeros(ec.shape[1] + 2, f32)
    w32, z32, row32 = np.zeros((1, 1), f32), np.zeros(n1, f32), np.zeros(n1, f32)
    w64, z64, row64 = np.zeros((1, 1)), np.zeros(n1), np.zeros(n1)
    S, R = _split_scratch(n1, nsweeps, f32)
    c32, c64 = _cst(f32), _cst(f64)
    e1 = e.copy()
    K.prolong_add2(e1, ec, 1, erow)
    K.rbgs2_split(e1, r, w32, w32, c32, True, nsweeps, red_first, z32, row32, False, S, R)
    x1 = x.copy()
    x1 += e1
    out = np.empty(shape)
    K.stencil2(x1, b, w64, w64, c64, True, out, 1, z64)
    ssq1 = K.resnorm2(x1, b, w64, w64, c64, True, row64, z64)
    x2, r2 = x.copy(), r.copy()
    ssq2 = K.split_post_update(x2, b, w64, w64, c64, True, z64, row64, e.copy(), r2, c32, nsweeps, red_first, ec, erow, S)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(out.astype(f32), r2)
    assert ssq1 == ssq2
    r3 = np.zeros(shape, f32)
    assert K.residual_cast2(x1, b, w64, w64, c64, True, z64, row64, r3) == ssq1
    np.testing.assert_array_equal(r3, r2)


def _unfused(monkeypatch):
    monkeypatch.setattr(smoother_module.CompiledSmoother, "fusable_post", lambda self, nu: False)
    monkeypatch.setattr(smoother_module.CompiledSmoother, "zero_start", lambda self, nu: False)


@pytest.mark.parametrize("kind", ["V", "W", "F"])
def test_fused_solver_iterates_equal_unfused(kind, monkeypatch):
    """A float64 solve on the fused passes gives bitwise the iterate and residual history of the separate kernels."""
    p = GridProblem((63, 63))
    b = p.rhs()
    r1 = MultigridSolver(p, cycle=kind).solve(b, rtol=1e-10)
    with monkeypatch.context() as m:
        _unfused(m)
        r2 = MultigridSolver(p, cycle=kind).solve(b, rtol=1e-10)
    assert r1.iterations == r2.iterations
    np.testing.assert_array_equal(r1.x, r2.x)
    np.testing.assert_array_equal(r1.residuals, r2.residuals)


def _relres(p, b, x):
    A = p.level_data().matrix()
    return float(np.linalg.norm(b - A @ np.ravel(x)) / np.linalg.norm(b))


MIXED_CASES = [
    ("2D Poisson", lambda: GridProblem((127, 127)), {}),
    ("2D Poisson W", lambda: GridProblem((63, 63)), {"cycle": "W"}),
    ("2D Poisson F", lambda: GridProblem((63, 63)), {"cycle": "F"}),
    ("2D Poisson nu (1, 3)", lambda: GridProblem((63, 63)), {"nu": (1, 3)}),
    ("3D Poisson", lambda: GridProblem((31, 31, 31)), {}),
    ("2D anisotropic", lambda: GridProblem((63, 63), aniso=(1.0, 0.3)), {}),
    ("2D variable (jump 1e4)", lambda: variable2d(63), {}),
    ("2D random coefficients", lambda: GridProblem((63, 63), cells=np.exp(np.random.default_rng(3).uniform(-2, 2, (64, 64)))), {}),
    ("2D Neumann", lambda: GridProblem((65, 65), bc="neumann"), {}),
    ("2D assembled", lambda: GridProblem((63, 63)), {"fast": False}),
    ("2D 2 threads", lambda: GridProblem((63, 63)), {"threads": 2}),
]


@pytest.mark.parametrize("name,make,kw", MIXED_CASES, ids=[c[0] for c in MIXED_CASES])
def test_mixed_precision_reaches_float64_tolerance(name, make, kw):
    """precision="mixed" reaches rtol 1e-8 (true float64 residual) with at most one cycle more than float64."""
    p = make()
    rng = np.random.default_rng(5)
    b = rng.random(p.size if hasattr(p, "size") else int(np.prod(p.shape)))
    if p.bc == "neumann":
        b -= b.mean()
    r64 = MultigridSolver(p, **kw).solve(b, rtol=1e-8)
    s = MultigridSolver(p, precision="mixed", **kw)
    assert s.cycle_dtype == np.float32 and s.levels[0].A is not None
    rm = s.solve(b, rtol=1e-8)
    assert r64.converged and rm.converged
    assert rm.x.dtype == np.float64
    assert rm.iterations <= r64.iterations + 1
    assert _relres(p, b, rm.x) <= 1.05e-8
    assert rm.info["precision"] == "mixed"
    # the reported residual is the float64 one (to the round-off of the summation order), not a float32 estimate
    true = np.linalg.norm(b - p.level_data().matrix() @ rm.x.ravel())
    assert abs(rm.residuals[-1] - true) <= 0.05 * true
    # float32 alone stalls far above the tolerance on the same problem
    if name == "2D Poisson":
        r32 = MultigridSolver(p, precision="float32").solve(b, rtol=1e-8, maxiter=30)
        assert not r32.converged


def test_mixed_fused_step_equals_generic_step(monkeypatch):
    """The two-pass fused refinement step gives bitwise the iterates of r = b - A x, a float32 cycle, x += e."""
    p = GridProblem((127, 127))
    b = np.random.default_rng(1).random(p.shape)
    s = MultigridSolver(p, precision="mixed")
    assert s._mixed.fused(2, 2)
    r1 = s.solve(b, rtol=1e-10)
    with monkeypatch.context() as m:
        m.setattr(MixedRefinement, "fused", lambda self, a, c: False)
        r2 = MultigridSolver(p, precision="mixed").solve(b, rtol=1e-10)
    np.testing.assert_array_equal(r1.x, r2.x)
    np.testing.assert_array_equal(r1.residuals, r2.residuals)


def test_mixed_with_initial_guess_cg_and_gmres():
    p = GridProblem((63, 63))
    b = p.rhs()
    x0 = np.random.default_rng(2).random(p.shape)
    A = p.level_data().matrix()
    s = MultigridSolver(p, precision="mixed")
    r = s.solve(b, x0=x0, rtol=1e-9)
    assert r.converged
    assert np.linalg.norm(b - A @ r.x.ravel()) <= 1.05e-9 * np.linalg.norm(b - A @ x0.ravel())
    for accel in ("cg", "gmres"):
        r = s.solve(b, rtol=1e-9, accel=accel)
        assert r.converged and r.x.dtype == np.float64
        assert np.linalg.norm(b - A @ r.x.ravel()) <= 1.05e-9 * np.linalg.norm(b)
    # the same solver object solves again (buffers reused, nothing stale)
    r2 = s.solve(b, rtol=1e-9)
    r3 = s.solve(b, rtol=1e-9)
    np.testing.assert_array_equal(r2.x, r3.x)


def test_precision_option_validation_and_repr():
    p = GridProblem((15, 15))
    with pytest.raises(ValueError, match="precision"):
        MultigridSolver(p, precision="float16")
    s = MultigridSolver(p, precision="float32", dtype=np.float64)
    assert s.dtype == np.float32 and s.cycle_dtype == np.float32
    s = MultigridSolver(p, precision="mixed")
    assert s.dtype == np.float64 and "precision=mixed" in repr(s)
    assert MultigridSolver(p).precision == "float64"


SHAPES3 = [(15, 15, 17), (7, 17, 31), (17, 9, 19)]


def _cst3(dtype):
    return np.array([1.3, 0.7, 0.9, 5.8, 1 / 5.8], dtype)


def _split3_scratch(shape, nsweeps, dtype, padded=False):
    from mgcore.sparse._split3_kernels import padded_length

    n1, n2 = shape[1], shape[2]
    ne = padded_length(n2) if padded else (n2 + 1) // 2
    return (np.zeros((2 * nsweeps + 3, n1 + 2, 4, ne), dtype), np.zeros((3, n1, 2, ne), dtype),
            np.zeros((4, 2, ne), dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES3)
@pytest.mark.parametrize("nsweeps", [1, 2])
@pytest.mark.parametrize("red_first", [True, False])
@pytest.mark.parametrize("padded", [False, True])
def test_split3_kernels_are_bitwise(shape, dtype, nsweeps, red_first, padded):
    """3D colour-split planes: smoothing, smoothing + restriction, zero start and
    prolongation + smoothing give bitwise the iterates of rbgs3, restrict_residual3, prolong_add3."""
    K = _K()
    n0, n1, n2 = shape
    rng = np.random.default_rng(n0 * n1 + n2 + nsweeps)
    U = rng.standard_normal(shape).astype(dtype)
    F = rng.standard_normal(shape).astype(dtype)
    w, z, row = np.zeros((1, 1, 1), dtype), np.zeros(n2, dtype), np.zeros(n2, dtype)
    cst = _cst3(dtype)
    S, Rp, T = _split3_scratch(shape, nsweeps, dtype, padded)  # padded: whole-chunk middle loops
    U1, U2 = U.copy(), U.copy()
    a = K.rbgs3(U1, F, w, w, w, cst, True, nsweeps, red_first, z, row, True)
    b = K.rbgs3_split(U2, F, cst, nsweeps, red_first, True, S, Rp)
    np.testing.assert_array_equal(U1, U2)
    assert abs(a - b) <= (1e-12 if dtype == np.float64 else 1e-5) * a
    nc = ((n0 - 1) // 2, (n1 - 1) // 2, (n2 - 1) // 2)
    fc1, fc2, fc3 = np.zeros(nc, dtype), np.zeros(nc, dtype), np.zeros(nc, dtype)
    U1, U2 = U.copy(), U.copy()
    K.rbgs3(U1, F, w, w, w, cst, True, nsweeps, True, z, row, False)
    K.restrict_residual3(U1, F, w, w, w, cst, True, fc1, 1, np.zeros((3, n1 + 2, n2 + 2), dtype), z,
                         np.zeros((4, n2 + 2), dtype))
    K.rbgs3_restrict_split(U2, F, cst, nsweeps, True, fc2, S, Rp, T)
    np.testing.assert_array_equal(U1, U2)
    np.testing.assert_array_equal(fc1, fc2)
    U0 = np.zeros(shape, dtype)
    K.rbgs3_restrict_split(U0, F, cst, nsweeps, True, fc1, S, Rp, T)
    U3 = rng.standard_normal(shape).astype(dtype)
    K.split3_pre_zero(U3, F, cst, nsweeps, fc3, S, Rp, T)
    np.testing.assert_array_equal(U0, U3)
    np.testing.assert_array_equal(fc1, fc3)
    E = rng.standard_normal(nc).astype(dtype)
    ep = np.zeros((nc[1] + 2, nc[2] + 2), dtype)
    U1, U2 = U.copy(), U.copy()
    K.prolong_add3(U1, E, 1, ep)
    a = K.rbgs3_split(U1, F, cst, nsweeps, red_first, True, S, Rp)
    b = K.rbgs3_split_prolong(U2, F, cst, nsweeps, red_first, E, ep, True, S, Rp)
    np.testing.assert_array_equal(U1, U2)
    assert a == b


@pytest.mark.parametrize("shape", SHAPES3[:2])
@pytest.mark.parametrize("red_first", [True, False])
def test_split3_mixed_post_pass_is_bitwise(shape, red_first):
    K = _K()
    n0, n1, n2 = shape
    f32 = np.float32
    rng = np.random.default_rng(n2)
    x, b = rng.standard_normal(shape), rng.standard_normal(shape)
    e = rng.standard_normal(shape).astype(f32)
    r = rng.standard_normal(shape).astype(f32)
    nc = ((n0 - 1) // 2, (n1 - 1) // 2, (n2 - 1) // 2)
    ec = rng.standard_normal(nc).astype(f32)
    ep = np.zeros((nc[1] + 2, nc[2] + 2), f32)
    w64, z64, row64 = np.zeros((1, 1, 1)), np.zeros(n2), np.zeros(n2)
    c32 = _cst3(f32)
    c64 = c32.astype(np.float64)
    S, Rp, _ = _split3_scratch(shape, 2, f32, padded=True)
    e1 = e.copy()
    K.prolong_add3(e1, ec, 1, ep)
    K.rbgs3_split(e1, r, c32, 2, red_first, False, S, Rp)
    x1 = x.copy()
    x1 += e1
    out = np.empty(shape)
    K.stencil3(x1, b, w64, w64, w64, c64, True, out, 1, z64)
    ssq1 = K.resnorm3(x1, b, w64, w64, w64, c64, True, row64, z64)
    x2, r2 = x.copy(), r.copy()
    ssq2 = K.split3_post_update(x2, b, w64, w64, w64, c64, True, z64, row64, e.copy(), r2, c32, 2, red_first, ec, ep, S)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(out.astype(f32), r2)
    assert ssq1 == ssq2
    r3 = np.zeros(shape, f32)
    assert K.residual_cast3(x1, b, w64, w64, w64, c64, True, z64, row64, r3) == ssq1
    np.testing.assert_array_equal(r3, r2)


def test_fused_3d_solver_iterates_equal_stride_kernels(monkeypatch):
    """A 3D solve on colour-split planes equals the stride-2 kernels bitwise; the mixed fused step equals the generic one."""
    p = GridProblem((31, 31, 31))
    b = np.random.default_rng(4).random(p.shape)
    s = MultigridSolver(p)
    assert s.levels[0].smoother_impl.split_ring(2) is not None
    r1 = s.solve(b, rtol=1e-10)
    orig = smoother_module.CompiledSmoother.split_ring
    with monkeypatch.context() as m:
        m.setattr(smoother_module.CompiledSmoother, "split_ring", lambda self, nu: None if self.op.dim == 3 else orig(self, nu))
        r2 = MultigridSolver(p).solve(b, rtol=1e-10)
    np.testing.assert_array_equal(r1.x, r2.x)
    np.testing.assert_allclose(r1.residuals, r2.residuals, rtol=1e-12)
    m1 = MultigridSolver(p, precision="mixed")
    assert m1._mixed.fused(2, 2)
    q1 = m1.solve(b, rtol=1e-10)
    with monkeypatch.context() as m:
        m.setattr(MixedRefinement, "fused", lambda self, a, c: False)
        q2 = MultigridSolver(p, precision="mixed").solve(b, rtol=1e-10)
    np.testing.assert_array_equal(q1.x, q2.x)
    np.testing.assert_array_equal(q1.residuals, q2.residuals)
    assert q1.iterations <= r1.iterations + 1


FMG_CASES = [
    ("2D", (127, 127), {}),
    ("2D mixed", (127, 127), {"precision": "mixed"}),
    ("2D assembled", (63, 63), {"fast": False}),
    ("2D assembled mixed", (63, 63), {"fast": False, "precision": "mixed"}),
    ("2D W", (255, 255), {"cycle": "W"}),
    ("3D", (31, 31, 31), {}),
    ("3D mixed", (31, 31, 31), {"precision": "mixed"}),
]


@pytest.mark.parametrize("name,shape,kw", FMG_CASES, ids=[c[0] for c in FMG_CASES])
def test_fmg_start_saves_a_cycle(name, shape, kw):
    """fmg=True: the first iteration is one FMG cycle, rtol stays relative to ||b||, every later residual
    is below the plain solver's, and the V-cycle solves need one cycle less (W-cycles gain 5x in the residual
    but, at rtol 1e-8, not a whole cycle)."""
    p = GridProblem(shape)
    b = np.random.default_rng(0).random(int(np.prod(shape)))
    kw = {"precision": "float64", **kw}  # the default runs the C mixed step without FMG
    r0 = MultigridSolver(p, **kw).solve(b, rtol=1e-8)
    r1 = MultigridSolver(p, fmg=True, **kw).solve(b, rtol=1e-8)
    assert r1.converged and r1.iterations <= r0.iterations - (0 if kw.get("cycle") == "W" else 1)
    k = min(len(r0.residuals), len(r1.residuals))
    assert all(a < c for a, c in zip(r1.residuals[1:k], r0.residuals[1:k]))  # ahead after every cycle
    assert r1.residuals[0] == pytest.approx(np.linalg.norm(b))
    assert r1.residuals[1] < 0.5 * r0.residuals[1]  # FMG lands well below one cycle from zero
    assert _relres(p, b, r1.x) <= 1.05e-8
    # with an initial guess FMG is not used: the iterates are those of the plain solver
    x0 = np.full(p.shape, 0.1)
    np.testing.assert_array_equal(MultigridSolver(p, fmg=True, **kw).solve(b, x0=x0).x,
                                  MultigridSolver(p, **kw).solve(b, x0=x0).x)


def test_fmg_option_validation():
    with pytest.raises(TypeError, match="fmg"):
        MultigridSolver(GridProblem((15, 15)), fmg="yes")
