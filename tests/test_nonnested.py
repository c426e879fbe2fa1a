"""Non-nested uniform coarsening: any Dirichlet grid size runs re-discretised on the compiled path."""

import numpy as np
import pytest

from mgcore.coarsening import level_shapes, uniform_coarse_size
from mgcore.problems import GridProblem, anisotropic2d, poisson2d, poisson3d, variable2d
from mgcore.sparse import MultigridSolver
from mgcore.sparse.transfers import (
    interpolation_weights,
    nonnested_scale,
    prolongation,
    prolongation_1d,
    prolongation_between,
    restriction,
)


@pytest.mark.parametrize("n, bc", [(7, "dirichlet"), (31, "dirichlet"), (9, "neumann"), (33, "neumann")])
def test_weights_reduce_to_the_nested_interpolation(n, bc):
    from mgcore.coarsening import coarsen_size

    P = prolongation_between(n, coarsen_size(n, bc), bc)
    assert abs(P - prolongation_1d(n, bc)).max() == 0.0


@pytest.mark.parametrize("n", [2, 4, 10, 40, 100, 300, 1000, 1024])
def test_uniform_coarse_size_is_nested_and_coarser(n):
    c = uniform_coarse_size(n, "dirichlet")
    assert 1 <= c < n and ((c + 1) & c) == 0  # 2^k - 1
    assert 0.3 < (c + 1) / (n + 1) < 0.75
    m = n + 1
    cn = uniform_coarse_size(m, "neumann") if m % 2 == 0 else None
    if cn is not None:
        assert 2 <= cn < m and ((cn - 1) & (cn - 2)) == 0  # 2^k + 1


def test_interpolation_is_exact_for_linear_functions_and_zero_at_the_boundary():
    n, nc = 37, 15
    lo, hi, wlo, whi = interpolation_weights(n, nc, "dirichlet")
    x, X = np.arange(1, n + 1) / (n + 1), np.arange(1, nc + 1) / (nc + 1)
    f = lambda t: t * (1 - t) * 0 + t  # noqa: E731  linear; the boundary value at 0 is 0, at 1 it is 1 (not 0)
    fine = wlo * f(X)[lo] + whi * f(X)[hi]
    inner = (x >= X[0]) & (x <= X[-1])
    np.testing.assert_allclose(fine[inner], f(x)[inner], atol=1e-14)
    np.testing.assert_allclose(fine[x < X[0]], f(x)[x < X[0]], atol=1e-14)  # between the boundary 0 and X[0]


def test_level_shapes_jump_to_uniform_sizes_once():
    assert level_shapes((1000, 300), "dirichlet", uniform_coarse=True)[:3] == [(1000, 300), (511, 127), (255, 63)]
    assert level_shapes((1000,), "dirichlet")[1] == (500,)  # the default rule is unchanged


@pytest.mark.parametrize("shape", [(20, 20), (12, 17), (10, 9, 14)])
def test_transfers_match_the_assembled_matrices(shape):
    from mgcore.sparse.structured import build_structured_levels

    p = GridProblem(shape)
    shapes = level_shapes(shape, "dirichlet", coarse_size=10, uniform_coarse=True)
    datas = p.hierarchy_data(shapes=shapes)
    levels = build_structured_levels(p, datas)
    T = levels[0].transfer
    assert type(T).__name__ == "NonNestedTransfer"
    cs = tuple(datas[1].shape)
    rng = np.random.default_rng(0)
    r = rng.standard_normal(shape)
    e = rng.standard_normal(cs)
    out = np.zeros(cs)
    T.restrict_into(r, out)
    R = restriction(shape, "dirichlet", coarse_shape=cs)
    np.testing.assert_allclose(out.ravel(), R @ r.ravel(), rtol=1e-13, atol=1e-13)
    u = rng.standard_normal(shape)
    want = u.ravel() + prolongation(shape, "dirichlet", coarse_shape=cs) @ e.ravel()
    T.prolong_add(u, e)
    np.testing.assert_allclose(u.ravel(), want, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(R.toarray(), prolongation(shape, "dirichlet", coarse_shape=cs).T.toarray()
                               * nonnested_scale(shape, cs, "dirichlet"))


@pytest.mark.parametrize("shape", [(40, 40), (30, 21), (12, 10, 14)])
def test_compiled_and_assembled_paths_give_the_same_iterates(shape):
    p = GridProblem(shape)
    b = p.rhs(1.0)
    fast = MultigridSolver(p, coarse_size=20)
    slow = MultigridSolver(p, fast=False, coarse_size=20)
    assert fast.fast and not slow.fast
    assert [lvl.shape for lvl in fast.levels] == [lvl.shape for lvl in slow.levels]
    rf, rs = fast.solve(b, rtol=1e-10), slow.solve(b, rtol=1e-10)
    assert rf.iterations == rs.iterations
    np.testing.assert_allclose(rf.residuals, rs.residuals, rtol=1e-6, atol=1e-12 * rs.residuals[0])
    np.testing.assert_allclose(rf.x, rs.x, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("problem, cycles", [
    (poisson2d(n=100), 7), (poisson2d(n=256), 7), (GridProblem((300, 200)), 9), (anisotropic2d(n=200, eps=0.01), 8),
    (poisson3d(n=40), 11),
])
def test_defaults_converge_on_sizes_that_do_not_nest(problem, cycles):
    s = MultigridSolver(problem)
    r = s.solve(problem.rhs(1.0), rtol=1e-8)
    assert s.fast and s.coarse == "rediscretize"
    assert r.converged and r.iterations <= cycles, (r.iterations, r.convergence_factor)
    b = problem.rhs(1.0)
    assert np.linalg.norm(b - problem.level_data().matrix() @ r.x) <= 1.01e-8 * np.linalg.norm(b)


def test_variable_coefficients_keep_galerkin_levels():
    p = variable2d(n=40)
    s = MultigridSolver(p, fast=False)
    assert s.coarse == "galerkin" and [lvl.shape for lvl in s.levels][1] == (20, 20)
    assert s.solve(p.rhs(1.0), rtol=1e-8).converged


@pytest.mark.parametrize("shape", [(40, 40), (30, 21), (12, 10, 14)])
def test_neumann_constant_coefficients_are_rediscretised(shape):
    p = GridProblem(shape, bc="neumann")
    b = p.rhs(lambda *x: np.prod([np.cos(np.pi * xi) for xi in x], axis=0))
    fast, slow = MultigridSolver(p, coarse_size=20), MultigridSolver(p, fast=False, coarse_size=20)
    assert fast.fast and fast.coarse == "rediscretize"
    rf, rs = fast.solve(b, rtol=1e-9), slow.solve(b, rtol=1e-9)
    assert rf.converged and rf.iterations <= 12 and rf.iterations == rs.iterations
    np.testing.assert_allclose(rf.residuals, rs.residuals, rtol=1e-6, atol=1e-12 * rs.residuals[0])


def test_explicit_galerkin_keeps_halving():
    s = MultigridSolver(poisson2d(n=100), coarse="galerkin", fast=False)
    assert [lvl.shape for lvl in s.levels][1] == (50, 50)


@pytest.mark.parametrize("shape, aniso", [((20, 20, 20), (0.01, 1.0, 1.0)), ((18, 21, 12), (1.0, 1.0, 0.01)),
                                          ((16, 9, 22), (1.0, 0.01, 1.0))])
def test_semi_coarsening_of_sizes_that_do_not_nest_runs_compiled(shape, aniso):
    p = GridProblem(shape, aniso=aniso)
    b = p.rhs(1.0)
    fast = MultigridSolver(p, coarse_size=20)
    slow = MultigridSolver(p, fast=False, coarse_size=20)
    assert fast.coarsening == "semi" and fast.fast and fast.coarse == "rediscretize"
    assert [lvl.shape for lvl in fast.levels] == [lvl.shape for lvl in slow.levels]
    kinds = {type(lvl.transfer).__name__ for lvl in fast.levels[:-1]}
    assert "NonNestedTransfer" in kinds
    rf, rs = fast.solve(b, rtol=1e-10), slow.solve(b, rtol=1e-10)
    assert rf.converged and rf.iterations <= 14 and rf.iterations == rs.iterations
    np.testing.assert_allclose(rf.residuals, rs.residuals, rtol=1e-6, atol=1e-12 * rs.residuals[0])
    np.testing.assert_allclose(rf.x, rs.x, rtol=1e-9, atol=1e-12)


def test_one_axis_nonnested_transfer_matches_the_matrices():
    from mgcore.sparse.structured import build_structured_levels
    from mgcore.sparse.structured.semi import semi_level_data

    p = GridProblem((9, 10, 12), aniso=(0.01, 1.0, 1.0))
    shapes = [(9, 10, 12), (9, 3, 12)]  # one axis non-nested, the others kept
    datas = semi_level_data(p, shapes)
    T = build_structured_levels(p, datas)[0].transfer
    assert type(T).__name__ == "NonNestedTransfer" and T.axes == (1,)
    rng = np.random.default_rng(1)
    r, e, u = rng.standard_normal(shapes[0]), rng.standard_normal(shapes[1]), rng.standard_normal(shapes[0])
    out = np.zeros(shapes[1])
    T.restrict_into(r, out)
    np.testing.assert_allclose(out.ravel(), restriction(shapes[0], "dirichlet", coarse_shape=shapes[1]) @ r.ravel(),
                               rtol=1e-13, atol=1e-13)
    want = u.ravel() + prolongation(shapes[0], "dirichlet", coarse_shape=shapes[1]) @ e.ravel()
    T.prolong_add(u, e)
    np.testing.assert_allclose(u.ravel(), want, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("shape, bc", [((100, 100), "dirichlet"), ((60, 41), "dirichlet"), ((20, 20, 20), "dirichlet"),
                                       ((40, 40), "neumann")])
def test_torch_backend_runs_sizes_that_do_not_nest_with_the_same_iterates(shape, bc):
    torch = pytest.importorskip("torch")
    from mgcore_torch import TorchMultigridSolver

    p = GridProblem(shape, bc=bc)
    b = p.rhs(lambda *x: np.prod([np.cos(np.pi * xi) for xi in x], axis=0)) if bc == "neumann" else p.rhs(1.0)
    rt = TorchMultigridSolver(p, dtype=torch.float64).solve(b, rtol=1e-8)
    rs = MultigridSolver(p).solve(b, rtol=1e-8)
    assert rt.converged and rt.iterations == rs.iterations
    x = rt.x.numpy() if hasattr(rt.x, "numpy") else np.asarray(rt.x)
    np.testing.assert_allclose(x.ravel(), rs.x, rtol=1e-9, atol=1e-12)


def test_torch_backend_names_what_it_cannot_rediscretise():
    pytest.importorskip("torch")
    from mgcore_torch import TorchMultigridSolver

    with pytest.raises(ValueError, match="sparse backend"):
        TorchMultigridSolver(variable2d(n=40))
