"""MultigridSolver on the assembled-matrix path: convergence, cycles, errors."""

import pickle

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import cg

from mgcore.cycles import CycleKind, fmg
from mgcore.solve import StopReason
from mgcore.sparse import MultigridSolver, get_problem, poisson, poisson2d, poisson3d
from mgcore.sparse.transfers import prolongation, restriction


def src(*X):
    """A source that is not constant (so that Neumann right-hand sides are non-zero)."""
    return 1.0 + np.cos(np.pi * X[0]) + X[-1] ** 2


def sparse(problem, **kw):
    kw.setdefault("fast", False)
    return MultigridSolver(problem, **kw)


@pytest.mark.parametrize("n", [31, 127, 511])
def test_v22_redblack_factor_is_small_and_h_independent(n):
    p = poisson2d(n)
    res = sparse(p).solve(p.rhs(1.0), rtol=1e-10, maxiter=30)
    assert res.converged
    assert res.convergence_factor <= 0.1
    # mesh independence: within 0.02 of the n = 31 value (0.03-0.05 here)
    ref = sparse(poisson2d(31)).solve(poisson2d(31).rhs(1.0), rtol=1e-10).convergence_factor
    assert abs(res.convergence_factor - ref) <= 0.02


SMOOTHERS = [
    "rbgs",
    "jacobi",
    ("gauss-seidel", {"sweep": "symmetric"}),
    ("gauss-seidel", {"sweep": "forward"}),
    ("chebyshev", {"degree": 3}),
    "richardson",
]
PROBLEMS = [
    ("poisson1d", 63, None),
    ("poisson2d", 63, None),
    ("poisson2d", 65, "neumann"),
    ("poisson3d", 15, None),
    ("poisson2d-fem", 65, "neumann"),
    ("anisotropic2d", 63, None),
    ("variable2d", 63, None),
    ("variable3d", 15, None),
]


# Richardson (one step length for every point) smooths isotropic constant-coefficient problems only.
CASES = [
    (sm, prob) for sm in SMOOTHERS for prob in PROBLEMS
    if not (sm == "richardson" and prob[0].startswith(("variable", "anisotropic")))
]


@pytest.mark.parametrize("smoother,problem", CASES, ids=str)
def test_every_smoother_converges_on_every_problem(smoother, problem):
    name, n, bc = problem
    p = get_problem(name, n, bc=bc)
    res = sparse(p, smoother=smoother).solve(p.rhs(src), rtol=1e-8, maxiter=400, accel="cg")
    assert res.converged, (res.reason, res.residuals[-3:])
    res2 = sparse(p, smoother=smoother).solve(p.rhs(src), rtol=1e-6, maxiter=800)
    assert res2.converged, (res2.reason, res2.residuals[-3:])
    assert res2.convergence_factor < 0.97


@pytest.mark.parametrize("kind", list(CycleKind))
@pytest.mark.parametrize("name,n,bc", [("poisson2d", 63, None), ("poisson3d", 15, None), ("poisson2d", 33, "neumann")])
def test_every_cycle_kind_converges(kind, name, n, bc):
    p = get_problem(name, n, bc=bc)
    res = sparse(p, cycle=kind).solve(p.rhs(src), rtol=1e-10, maxiter=40)
    assert res.converged
    assert res.convergence_factor <= 0.15
    assert res.info["cycle"] == kind.value


def test_w_and_f_cycles_are_at_least_as_good_as_v():
    p = poisson2d(127)
    f = {k: sparse(p, cycle=k, smoother="jacobi").solve(p.rhs(1.0), rtol=1e-10).convergence_factor for k in "VWF"}
    assert f["W"] <= f["V"] + 1e-3 and f["F"] <= f["V"] + 1e-3


def test_solution_is_accurate_against_exact_solution():
    p = poisson2d(63)
    x, y = np.meshgrid(*p.grid(), indexing="ij")
    exact = np.sin(np.pi * x) * np.sin(2 * np.pi * y)
    b = p.level_data().matrix() @ exact.ravel()
    res = sparse(p).solve(b, rtol=1e-12)
    assert np.abs(res.x - exact.ravel()).max() < 1e-9


def test_accelerations_and_history():
    p = poisson2d(127)
    b = p.rhs(1.0)
    s = sparse(p)
    plain = s.solve(b, rtol=1e-10)
    with_cg = s.solve(b, rtol=1e-10, accel="cg")
    with_gmres = s.solve(b, rtol=1e-10, accel="gmres")
    A = p.level_data().matrix()
    for r in (plain, with_cg, with_gmres):
        assert r.converged and r.reason is StopReason.CONVERGED
        assert len(r.residuals) == r.iterations + 1
        assert np.linalg.norm(b - A @ r.x) <= 1.01e-10 * np.linalg.norm(b)
    assert with_cg.iterations <= plain.iterations
    assert with_gmres.iterations <= plain.iterations + 1


def test_aspreconditioner_with_scipy_cg():
    p = poisson2d(127)
    A, b = p.level_data().matrix(), p.rhs(1.0)
    its = []
    x, info = cg(A, b, M=sparse(p).aspreconditioner(), rtol=1e-10, callback=lambda xk: its.append(1))
    assert info == 0 and len(its) <= 8
    its0 = []
    cg(A, b, rtol=1e-10, callback=lambda xk: its0.append(1))
    assert len(its0) > 10 * len(its)


def test_fmg_reaches_discretisation_accuracy_in_one_pass():
    p = poisson2d(255)
    s = sparse(p)
    x, y = np.meshgrid(*p.grid(), indexing="ij")
    exact = np.sin(np.pi * x) * np.sin(np.pi * y)
    b = p.rhs(lambda x, y: 2 * np.pi**2 * np.sin(np.pi * x) * np.sin(np.pi * y))
    u = fmg(s.hierarchy, b, "V", 2, 2)
    disc = np.abs(s.solve(b, rtol=1e-12).x - exact.ravel()).max()  # discretisation error ~ h^2
    assert np.abs(u - exact.ravel()).max() < 2.0 * disc


def test_galerkin_and_matrix_input():
    p = poisson2d(63)
    A = p.level_data().matrix()
    s = MultigridSolver(A, grid_shape=(63, 63), smoother="rbgs", fast=False)
    assert s.coarse == "galerkin"
    res = s.solve(np.ones(A.shape[0]), rtol=1e-10)
    assert res.converged and res.convergence_factor < 0.1
    s2 = sparse(p, coarse="galerkin")
    assert s2.solve(np.ones(A.shape[0]), rtol=1e-10).convergence_factor < 0.1


def test_fem_linear_interpolation_galerkin_is_exact_coarse_stiffness():
    p = poisson(2, 17, "neumann", discretization="fem")
    d = p.levels()
    A0, A1 = d[0].matrix(), d[1].matrix()
    P = prolongation(d[0].shape, "neumann", "linear")
    assert abs((P.T @ A0 @ P) / 4 - A1).max() < 1e-12  # R A P with full weighting R = P^T / 4
    s = sparse(p, interpolation="linear", restriction="transpose", coarse="galerkin")
    assert s.solve(p.rhs(1.0), rtol=1e-10).converged


def test_neumann_solution_has_zero_mean_and_solves_projected_system():
    p = poisson2d(65, bc="neumann")
    b = p.rhs(lambda x, y: np.cos(np.pi * x))
    res = sparse(p).solve(b, rtol=1e-10)
    A = p.level_data().matrix()
    assert res.converged and abs(res.x.mean()) < 1e-12
    assert np.linalg.norm(A @ res.x - b) <= 1e-9 * np.linalg.norm(b)


@pytest.mark.parametrize("dim,bc", [(1, "dirichlet"), (2, "dirichlet"), (2, "neumann"), (3, "dirichlet"), (3, "neumann")])
def test_restriction_is_scaled_transpose_of_prolongation_dot_test(dim, bc):
    n = 15 if bc == "dirichlet" else 17
    shape = (n,) * dim
    P, R = prolongation(shape, bc), restriction(shape, bc)
    rng = np.random.default_rng(dim)
    x, y = rng.standard_normal(P.shape[0]), rng.standard_normal(P.shape[1])
    assert abs((R @ x) @ y * 2**dim - x @ (P @ y)) <= 1e-12 * abs(x @ (P @ y))


def test_matrix_and_matrix_free_operators_agree():
    for p in (poisson2d(31), poisson3d(7), get_problem("variable2d", 31), get_problem("anisotropic2d", 33, bc="neumann")):
        for d in p.levels():
            u = np.random.default_rng(0).standard_normal(d.size)
            assert np.allclose(d.matrix() @ u, d.apply(u), rtol=1e-13, atol=1e-10 * np.abs(d.matrix()).max())


def test_solver_pickles_and_repr_reports_complexity():
    p = poisson2d(63)
    s = sparse(p)
    s2 = pickle.loads(pickle.dumps(s))
    b = p.rhs(1.0)
    assert np.allclose(s.solve(b, maxiter=3).x, s2.solve(b, maxiter=3).x, rtol=0, atol=0)
    text = repr(s)
    assert "operator complexity" in text and "63x63" in text
    assert 1.0 < s.grid_complexity < 1.4 and 1.0 < s.operator_complexity < 1.5


def test_float32():
    p = poisson2d(127)
    # float32 residuals of an h^-2-scaled operator bottom out near 1e-4 relative at n = 127
    res = sparse(p, dtype=np.float32).solve(p.rhs(1.0), rtol=3e-4)
    assert res.converged and res.x.dtype == np.float32


def test_divergence_is_detected_and_reported():
    p = poisson2d(31)
    s = sparse(p, smoother=("richardson", {"omega": 1.0}))  # omega * lambda_max >> 2
    res = s.solve(p.rhs(1.0), rtol=1e-8, maxiter=200)
    assert res.reason in (StopReason.DIVERGED, StopReason.NONFINITE)
    assert not res.converged


def test_maxiter_is_reported():
    p = poisson2d(63)
    res = sparse(p, smoother="jacobi").solve(p.rhs(1.0), rtol=1e-14, maxiter=2)
    assert res.reason is StopReason.MAXITER and res.iterations == 2


# ---------------------------------------------------------------- bad input
def test_bad_matrices():
    with pytest.raises(ValueError, match="square"):
        MultigridSolver(sp.random(10, 12, format="csr"), grid_shape=(10,))
    A = poisson2d(7).level_data().matrix().tolil()
    A[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MultigridSolver(A.tocsr(), grid_shape=(7, 7))
    with pytest.raises(TypeError, match="GridProblem"):
        MultigridSolver("poisson")
    with pytest.raises(ValueError, match="grid_shape"):
        MultigridSolver(poisson2d(7).level_data().matrix())


def test_bad_rhs():
    p = poisson2d(15)
    s = sparse(p)
    with pytest.raises(ValueError, match=r"b must have shape \(225,\)"):
        s.solve(np.ones(224))
    b = p.rhs(1.0)
    b[3] = np.inf
    with pytest.raises(ValueError, match="b contains NaN or Inf"):
        s.solve(b)
    b[3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        s.solve(b)
    with pytest.raises(ValueError, match="rtol"):
        s.solve(p.rhs(1.0), rtol=-1)


def test_bad_names_and_sizes():
    with pytest.raises(ValueError, match="n = 0 is not allowed"):
        poisson2d(0)
    with pytest.raises(ValueError, match="n = 1 is not allowed with bc='neumann'"):
        poisson2d(1, bc="neumann")
    with pytest.raises(ValueError, match="allowed names"):
        sparse(poisson2d(15), smoother="sor-magic")
    with pytest.raises(ValueError, match="cycle must be one of"):
        sparse(poisson2d(15), cycle="X")
    with pytest.raises(ValueError, match="problem must be one of"):
        get_problem("helmholtz", 15)
    with pytest.raises(ValueError, match="accel must be one of"):
        sparse(poisson2d(15)).solve(np.ones(225), accel="bicg")
    with pytest.raises(ValueError, match="bc must be one of"):
        poisson2d(15, bc="robin")


def test_cg_refuses_non_spd_operator():
    A = poisson2d(15).level_data().matrix().tolil()
    A[0, 1] = A[0, 1] * 3.0  # non-symmetric
    s = MultigridSolver(A.tocsr(), grid_shape=(15, 15), fast=False)
    with pytest.raises(ValueError, match="symmetric positive definite"):
        s.solve(np.ones(225), accel="cg")
    res = s.solve(np.ones(225), accel="gmres", rtol=1e-8)
    assert res.converged


def test_structured_problem_falls_back_with_a_clear_message():
    from mgcore.sparse.solver import FastPathWarning

    p = poisson2d(31)
    with pytest.warns(FastPathWarning, match="chebyshev"):
        s = MultigridSolver(p, smoother="chebyshev")
    assert not s.fast and "chebyshev" in s.fast_reason and "not on the structured path" in repr(s)
    with pytest.warns(FastPathWarning, match="rediscretize"):
        MultigridSolver(p, coarse="galerkin")
    res = s.solve(p.rhs(1.0), rtol=1e-8)
    assert res.converged and res.info["path"] == "sparse"
    assert MultigridSolver(p).fast  # the default configuration is compiled
