"""Compiled structured multigrid levels vs their numpy/scipy definitions."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
import scipy.sparse as sp

from mgcore.cycles import cycle, fmg, mg0
from mgcore.hierarchy import Hierarchy, Level
from mgcore.iterations import chebyshev_omegas
from mgcore.problems.grid import GridLevelData, GridProblem
from mgcore.sparse.solver import MultigridSolver
from mgcore.sparse.structured import (
    StructuredLevel,
    build_structured_levels,
    structured_memory,
    structured_support,
)
from mgcore.sparse.transfers import prolongation, restriction


def make_problem(shape, bc, coeff="const", aniso=None):
    dim = len(shape)
    cshape = tuple(n + 1 if bc == "dirichlet" else n - 1 for n in shape)
    cells = None
    if coeff == "jump":
        idx = np.indices(cshape)
        # blocks of 1e4 and 1 (jumps of 1e4 across block faces)
        cells = np.where(((idx // 2).sum(axis=0) % 2) == 0, 1e4, 1.0)
    elif coeff == "random":
        cells = np.exp(np.random.default_rng(3).uniform(-2, 2, cshape))
    return GridProblem(shape, bc=bc, cells=cells, aniso=aniso or (1.0,) * dim)


CASES = [
    ((3, 3), "dirichlet", "const", None),
    ((5, 5), "neumann", "const", None),
    ((7, 7), "dirichlet", "const", (0.01, 1.0)),
    ((15, 7), "dirichlet", "jump", None),
    ((9, 17), "neumann", "jump", (1.0, 0.1)),
    ((3, 3, 3), "dirichlet", "const", None),
    ((5, 5, 5), "neumann", "random", None),
    ((7, 7, 7), "dirichlet", "jump", (1.0, 0.05, 1.0)),
    ((9, 5, 9), "neumann", "jump", None),
]
IDS = [f"{'x'.join(map(str, s))}-{bc}-{c}{'-aniso' if a else ''}" for s, bc, c, a in CASES]


def rel(a, b):
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def rb_masks(shape):
    red = (np.indices(shape).sum(axis=0) % 2 == 0).ravel()
    return red, ~red


def rb_sweep(A, f, u, colours):
    """Red-black Gauss-Seidel written with masks: exact per colour (5/7-point stencil)."""
    u = u.copy()
    d = A.diagonal()
    for m in colours:
        r = f - A @ u
        u[m] += r[m] / d[m]
    return u


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape,bc,coeff,aniso", CASES, ids=IDS)
def test_kernels_match_definitions(shape, bc, coeff, aniso, dtype):
    tol = 1e-12 if dtype == np.float64 else 2e-5
    p = make_problem(shape, bc, coeff, aniso)
    d0 = p.level_data()
    datas = [d0, p.coarse_data(d0)]
    L = build_structured_levels(p, datas, dtype=dtype)
    fine, coarse = L
    A = d0.matrix()
    R = restriction(shape, bc)
    P = prolongation(shape, bc)
    rng = np.random.default_rng(7)
    u = rng.standard_normal(shape).astype(dtype)
    f = rng.standard_normal(shape).astype(dtype)
    e = rng.standard_normal(coarse.grid_shape).astype(dtype)
    u64, f64, e64 = (x.astype(np.float64).ravel() for x in (u, f, e))
    r = f64 - A @ u64
    # operator, matrix-free A of GridLevelData, residual and its norm
    assert rel(fine.A(u), A @ u64) < tol
    assert rel(fine.A(u.ravel()), d0.apply(u64)) < tol
    assert fine.A(u.ravel()).shape == (u.size,)
    assert rel(fine.residual(f, u), r) < tol
    assert abs(fine.residual_norm(f, u) - np.linalg.norm(r)) < tol * np.linalg.norm(r) * 10
    # transfers and the fused residual restriction into the coarse f buffer
    fc = fine.restrict_residual(f, u)
    assert fc is coarse.f
    assert rel(fc, R @ r) < tol * 10
    assert rel(fine.restrict_residual(f, None), R @ f64) < tol
    assert rel(fine.R(f), R @ f64) < tol
    assert rel(fine.P(e), P @ e64) < tol
    out = fine.correct(u, e)
    assert out is fine.u and rel(out, u64 + P @ e64) < tol
    # red-black Gauss-Seidel: pre = red then black, post = black then red
    red, black = rb_masks(shape)
    for nu, post, order in ((1, False, (red, black)), (2, False, (red, black) * 2), (2, True, (black, red) * 2)):
        got = fine.smooth(f, u, nu, post=post)
        assert got is fine.u
        assert rel(got, rb_sweep(A, f64, u64, order)) < tol * 10
    got = fine.smooth(f, None, 1)
    assert rel(got, rb_sweep(A, f64, np.zeros(u.size), (red, black))) < tol * 10
    # the caller's iterate is not modified
    assert np.array_equal(u, u.copy()) and fine.smooth(f, u, 0) is u


@pytest.mark.parametrize("shape,bc,coeff,aniso", [CASES[i] for i in (1, 3, 6, 8)], ids=[IDS[i] for i in (1, 3, 6, 8)])
def test_jacobi_and_chebyshev_match_definitions(shape, bc, coeff, aniso):
    p = make_problem(shape, bc, coeff, aniso)
    d0 = p.level_data()
    A = d0.matrix()
    dg = A.diagonal()
    rng = np.random.default_rng(1)
    u = rng.standard_normal(shape)
    f = rng.standard_normal(shape)
    (lj,) = build_structured_levels(p, [d0], smoother=("jacobi", {"omega": 0.7}))
    x = u.ravel().copy()
    for _ in range(3):
        x = x + 0.7 * (f.ravel() - A @ x) / dg
    assert rel(lj.smooth(f, u, 3), x) < 1e-12
    (lc,) = build_structured_levels(p, [d0], smoother="chebyshev")
    lo, hi = lc.lower, lc.upper
    assert hi == 2.0 and lo == pytest.approx(2.0 / (2 * len(shape)))
    tau, omegas = chebyshev_omegas(4, lo, hi)
    x, prev = u.ravel().copy(), None
    for w in omegas:
        new = x + tau * (f.ravel() - A @ x) / dg
        new = new if prev is None else w * new + (1 - w) * prev
        prev, x = x, new
    assert rel(lc.smooth(f, u, 4), x) < 1e-12


def reference_levels(p, datas, order="symmetric"):
    """Plain Levels from assembled matrices: A = CSR, R/P = transfer matrices,
    red-black smoother via masks, coarse = dense solve."""
    levels = []
    J = len(datas)
    for l, d in enumerate(datas):
        A = d.matrix()
        red, black = rb_masks(d.shape)
        pre = RBSmoother(A, (red, black))
        post = RBSmoother(A, (black, red) if order == "symmetric" else (red, black))
        kw = {}
        if l < J - 1:
            kw["R"] = MatOp(restriction(d.shape, d.bc))
            kw["P"] = MatOp(prolongation(d.shape, d.bc))
        else:
            dense = A.toarray()
            kw["coarse_solve"] = MatOp(np.linalg.pinv(dense) if d.bc == "neumann" else np.linalg.inv(dense))
        levels.append(Level(A=MatOp(A), B=pre, B_post=post, **kw))
    return levels


class MatOp:
    def __init__(self, M):
        self.M = M

    def __call__(self, x):
        return self.M @ np.asarray(x).ravel()


class RBSmoother:
    def __init__(self, A, colours):
        self.A, self.colours = A, colours

    def smooth(self, A, f, u, nu):
        x = np.zeros(self.A.shape[0]) if u is None else np.asarray(u, dtype=np.float64).ravel()
        for _ in range(nu):
            x = rb_sweep(self.A, np.asarray(f).ravel(), x, self.colours)
        return x


@pytest.mark.parametrize(
    "shape,bc,coeff,aniso,kind,order",
    [
        ((31, 31), "dirichlet", "jump", None, "V", "symmetric"),
        ((31, 15), "dirichlet", "random", (0.1, 1.0), "W", "red-black"),
        ((17, 17), "neumann", "jump", None, "F", "symmetric"),
        ((15, 15, 15), "dirichlet", "jump", None, "V", "red-black"),
        ((9, 9, 9), "neumann", "random", None, "W", "symmetric"),
    ],
)
def test_cycle_equals_reference_hierarchy(shape, bc, coeff, aniso, kind, order):
    p = make_problem(shape, bc, coeff, aniso)
    datas = p.levels()
    assert len(datas) >= 3
    hs = Hierarchy(build_structured_levels(p, datas, smoother=("rbgs", {"order": order})))
    hr = Hierarchy(reference_levels(p, datas, order))
    b = np.random.default_rng(5).standard_normal(p.shape)
    if bc == "neumann":
        b -= b.mean()
    us, ur = None, None
    for _ in range(3):
        us = cycle(hs, b, us, kind, 2, 2)
        ur = cycle(hr, b.ravel(), ur, kind, 2, 2)
        assert rel(us, ur) < 1e-12
    # generic algorithms over the plain callables A, R, P
    assert rel(fmg(hs, b, "V", 1, 1).copy(), fmg(hr, b.ravel(), "V", 1, 1)) < 1e-12
    for s_state, r_state in zip(mg0(hs, b, 2), mg0(hr, b.ravel(), 2)):
        assert rel(s_state.u, r_state.u) < 1e-12


def convergence_factor(n, smoother, kind, k=8):
    p = GridProblem((n, n))
    h = Hierarchy(build_structured_levels(p, p.levels(), smoother=smoother))
    b = np.random.default_rng(2).standard_normal(p.shape)
    u, res = None, [np.linalg.norm(b)]
    for _ in range(k):
        u = cycle(h, b, u, kind, 2, 2)
        res.append(h[0].residual_norm(b, u))
    return (res[-1] / res[2]) ** (1.0 / (k - 2))


@pytest.mark.parametrize("n", [63, 255])
def test_convergence_factor_poisson_2d(n):
    # V(2,2) red-black GS (post-smoother red then black): measured 0.053
    assert convergence_factor(n, ("rbgs", {"order": "red-black"}), "V") <= 0.07
    # symmetric smoothing (post black then red): F-cycle 0.089, V-cycle 0.113
    assert convergence_factor(n, "rbgs", "F") <= 0.1
    assert convergence_factor(n, "rbgs", "V") <= 0.13


def test_threads_give_same_iterates():
    p = make_problem((31, 31), "dirichlet", "jump")
    q = make_problem((17, 17, 17), "neumann", "random")
    for prob in (p, q):
        b = np.random.default_rng(0).standard_normal(prob.shape)
        if prob.bc == "neumann":
            b -= b.mean()
        out = []
        for threads in (1, 2):
            h = Hierarchy(build_structured_levels(prob, prob.levels(), threads=threads))
            u = None
            for _ in range(2):
                u = cycle(h, b, u)
            out.append(u.copy())
        assert rel(out[1], out[0]) < 1e-13


def test_pickle_and_memory():
    p = GridProblem((63, 63))
    L = build_structured_levels(p, p.levels())
    h = Hierarchy(L)
    b = p.rhs().reshape(p.shape)
    h2 = pickle.loads(pickle.dumps(h))
    assert isinstance(h2[0], StructuredLevel) and h2[0].coarse is h2[1]
    assert rel(cycle(h2, b, None).copy(), cycle(h, b, None)) < 1e-15
    m = structured_memory(L)
    # u and f over all levels: 1 + 2 (1/4 + 1/16 + ...) fine vectors
    assert 1.6 < m["buffers_ratio"] < 1.7
    assert L[0].const and not build_structured_levels(make_problem((7, 7), "dirichlet", "jump"), [make_problem((7, 7), "dirichlet", "jump").level_data()])[0].const


def test_large_coarsest_level_uses_sparse_lu():
    for bc, n in (("dirichlet", 63), ("neumann", 65)):
        p = GridProblem((n, n), bc=bc)
        (lvl,) = build_structured_levels(p, [p.level_data()])
        assert lvl.coarse_solver._Minv is None and lvl.coarse_solver._lu is not None
        f = np.random.default_rng(0).standard_normal(p.shape)
        f -= f.mean() if bc == "neumann" else 0.0
        u = lvl.coarse_solve(f)
        assert lvl.residual_norm(f, u) < 1e-9 * np.linalg.norm(f)


def test_support_and_errors():
    p2 = GridProblem((7, 7))
    assert structured_support(p2, "rbgs") == (True, "")
    assert structured_support(p2, [("rbgs", {}), ("jacobi", {"omega": 0.8})])[0]
    ok, why = structured_support(p2, [("rbgs", {}), "chebyshev"])
    assert not ok and "chebyshev" in why
    for args, word in (
        ((GridProblem((7,)), "rbgs"), "1D"),
        ((p2, "rbgs", "galerkin"), "galerkin"),
        ((p2, "gauss-seidel"), "gauss-seidel"),
        ((p2, ("jacobi", {"sweeps": 2})), "sweeps"),
        ((sp.eye(4), "rbgs"), "GridProblem"),
    ):
        ok, why = structured_support(*args)
        assert not ok and word in why
    ok, why = structured_support(p2, "rbgs", interpolation="linear")
    assert not ok and "linear" in why
    with pytest.raises(ValueError, match="dtype"):
        build_structured_levels(p2, p2.levels(), dtype=np.int64)
    with pytest.raises(ValueError, match="threads"):
        build_structured_levels(p2, p2.levels(), threads=0)
    with pytest.raises(ValueError, match="order"):
        build_structured_levels(p2, p2.levels(), smoother=("rbgs", {"order": "lex"}))
    with pytest.raises(ValueError, match="one per level"):
        build_structured_levels(p2, p2.levels(), smoother=["rbgs"])
    with pytest.raises(ValueError, match="entries"):
        build_structured_levels(p2, p2.levels())[0].A(np.ones(5))


def test_import_does_not_load_numba():
    code = "import sys, mgcore, mgcore.sparse, mgcore.sparse.structured; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


FAST_CASES = [
    # (shape, bc, coeff, aniso, smoother, cycle)
    ((63, 63), "dirichlet", "const", None, "rbgs", "V"),
    ((31, 31), "dirichlet", "jump", None, "jacobi", "W"),
    ((33, 33), "neumann", "jump", None, "rbgs", "F"),
    ((31, 63), "dirichlet", "const", (0.05, 1.0), "rbgs", "W"),
    ((17, 17), "neumann", "random", (1.0, 0.2), "jacobi", "V"),
    ((15, 15, 15), "dirichlet", "const", None, "rbgs", "V"),
    ((15, 15, 15), "dirichlet", "jump", (1.0, 0.1, 1.0), "jacobi", "F"),
    ((9, 9, 9), "neumann", "jump", None, "rbgs", "W"),
    ((17, 9, 9), "neumann", "const", None, "jacobi", "V"),
]


@pytest.mark.parametrize("shape,bc,coeff,aniso,smoother,kind", FAST_CASES)
def test_fast_path_matches_matrix_path(shape, bc, coeff, aniso, smoother, kind):
    p = make_problem(shape, bc, coeff, aniso)
    b = np.random.default_rng(11).standard_normal(p.shape).ravel()
    out = {}
    for fast in (True, False):
        s = MultigridSolver(p, smoother=smoother, cycle=kind, fast=fast, coarse_size=30, precision="float64")
        assert s.fast is fast
        r = s.solve(b, rtol=1e-9, maxiter=12)
        x0 = np.random.default_rng(4).standard_normal(b.size)
        r2 = s.solve(b.reshape(p.shape), x0=x0, rtol=1e-6, maxiter=5)
        out[fast] = (r, r2)
    (f1, f2), (m1, m2) = out[True], out[False]
    for f, m in ((f1, m1), (f2, m2)):
        assert f.iterations == m.iterations and f.reason == m.reason
        hf, hm = np.array(f.residuals), np.array(m.residuals)
        assert hf.shape == hm.shape
        assert np.abs(hf - hm).max() / hm[0] <= 1e-11
        assert rel(f.x, m.x) <= 1e-10
    assert f1.x.shape == b.shape and f2.x.shape == p.shape
    assert f1.convergence_factor < (0.3 if smoother == "rbgs" and aniso is None else 1.0)


def test_fast_solve_cg_and_in_place_buffers():
    p = GridProblem((63, 63))
    b = np.random.default_rng(0).standard_normal(63 * 63)
    s = MultigridSolver(p)
    assert s.fast and s.levels[0].inplace and s.levels[0].f is None
    # uniform Dirichlet levels keep no face arrays
    assert all(lvl.const and lvl.nbytes()["faces"] == 0 for lvl in s.levels)
    r1 = s.solve(b, rtol=1e-10)
    r2 = s.solve(b, rtol=1e-10)
    assert r1.x is not r2.x and np.array_equal(r1.x, r2.x)  # each solve returns its own array
    assert s.levels[0].u is None  # level 1 iterated in the solve's array, no own buffer
    A = p.level_data().matrix()
    assert np.linalg.norm(b - A @ r1.x) <= 1e-10 * np.linalg.norm(b) * 1.0001
    rc = s.solve(b, rtol=1e-10, accel="cg")
    rm = MultigridSolver(p, fast=False).solve(b, rtol=1e-10, accel="cg")
    assert rc.iterations == rm.iterations
    assert np.abs(np.array(rc.residuals) - np.array(rm.residuals)).max() / rm.residuals[0] <= 1e-11


def test_fast_true_unsupported_raises_and_auto_falls_back():
    p2 = GridProblem((15, 15))
    for kwargs, word in (
        (dict(problem=p2, coarse="galerkin"), "galerkin"),
        (dict(problem=GridProblem((15,))), "1D"),
        (dict(problem=p2, smoother=("chebyshev", {"degree": 3})), "chebyshev"),
        (dict(problem=p2, smoother="gauss-seidel"), "gauss-seidel"),
    ):
        prob = kwargs.pop("problem")
        with pytest.raises(ValueError, match=word):
            MultigridSolver(prob, fast=True, **kwargs)
        s = MultigridSolver(prob, fast=None, **kwargs)
        assert not s.fast and word in s.fast_reason
        b = np.ones(int(np.prod(prob.shape)))
        assert s.solve(b, rtol=1e-6, maxiter=60).converged


def test_uniform_level_data_is_lazy_and_identical():
    for shape, aniso in (((15, 7), (1.0, 1.0)), ((7, 7, 7), (0.1, 1.0, 2.0))):
        lazy = GridProblem(shape, aniso=aniso)
        cells = np.full(tuple(n + 1 for n in shape), 1.0)
        full = GridProblem(shape, aniso=aniso, cells=cells)
        full._uniform_k = None  # force the array path
        for a, b in zip(lazy.levels(), full.levels()):
            assert isinstance(a, GridLevelData) and a.uniform is not None and a._faces is None
            assert b.uniform is None
            u = np.random.default_rng(0).standard_normal(a.shape)
            assert np.array_equal(a.diagonal(), b.diagonal())
            assert np.array_equal(a.apply(u), b.apply(u))
            assert (a.matrix() != b.matrix()).nnz == 0
            assert all(np.array_equal(x, y) for x, y in zip(a.faces, b.faces))
            assert np.array_equal(a.cells, b.cells)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(17, 16), (16, 33), (31, 31), (4, 17)])
@pytest.mark.parametrize("nsweeps", [1, 2, 3])
@pytest.mark.parametrize("red_first", [True, False])
def test_split_rbgs_kernels_are_bitwise_equal(shape, dtype, nsweeps, red_first):
    """The colour-split red-black kernels give bitwise the iterate and the
    restricted residual of the stride-2 kernels; the fused norm agrees to round-off."""
    from mgcore.sparse.structured._common import kernels as _kernels

    K = _kernels()
    n0, n1 = shape
    rng = np.random.default_rng(n0 * 100 + n1)
    U = rng.standard_normal(shape).astype(dtype)
    F = rng.standard_normal(shape).astype(dtype)
    w = np.zeros((1, 1), dtype)
    cst = np.array([1.3, 0.7, 4.0, 0.25], dtype)
    z = np.zeros(n1, dtype)
    row = np.zeros(n1, dtype)
    ne = (n1 + 1) // 2
    S = np.zeros((2 * nsweeps + 3, 4, ne), dtype)
    R = np.zeros((4, 2, ne), dtype)
    U1, U2 = U.copy(), U.copy()
    a = K.rbgs2(U1, F, w, w, cst, True, nsweeps, red_first, z, row, True)
    b = K.rbgs2_split(U2, F, w, w, cst, True, nsweeps, red_first, z, row, True, S, R)
    assert np.array_equal(U1, U2)
    assert not np.array_equal(U1, U)
    assert abs(a - b) <= (1e-12 if dtype == np.float64 else 1e-5) * a
    nc = ((n0 - 1) // 2, (n1 - 1) // 2)
    fc1, fc2 = np.zeros(nc, dtype), np.zeros(nc, dtype)
    U1, U2 = U.copy(), U.copy()
    K.rbgs2_restrict(U1, F, w, w, cst, True, nsweeps, red_first, z, fc1, 1, np.zeros((4, n1 + 2), dtype))
    K.rbgs2_restrict_split(U2, F, w, w, cst, True, nsweeps, red_first, z, fc2, 1, np.zeros((4, n1 + 2), dtype), S, R)
    assert np.array_equal(U1, U2)
    assert np.array_equal(fc1, fc2)
    assert np.abs(fc1).max() > 0


def test_split_path_used_and_matches_stride_path():
    """Uniform 2D levels with rows of at least SPLIT_MIN points take the split
    kernels; a solve gives the same residual history as the stride-2 kernels."""
    from mgcore.sparse.structured import smoother as st

    p = GridProblem((63, 63))
    b = p.rhs()
    s = MultigridSolver(p)
    r1 = s.solve(b, rtol=1e-10)
    levels = s.hierarchy.levels
    assert levels[0]._split_ring(2) is not None
    assert levels[-1]._split_ring(2) is None or levels[-1].grid_shape[1] >= st.SPLIT_MIN
    old = st.SPLIT_MIN
    try:
        st.SPLIT_MIN = 10**9
        r2 = MultigridSolver(p).solve(b, rtol=1e-10)
    finally:
        st.SPLIT_MIN = old
    assert r1.iterations == r2.iterations
    np.testing.assert_allclose(r1.residuals, r2.residuals, rtol=1e-12, atol=0)
    np.testing.assert_array_equal(r1.x, r2.x)
