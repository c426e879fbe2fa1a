"""The torch solver's fused red-black levels (mgcore_torch._fast) against the general operators."""

import numpy as np
import pytest
import torch

from mgcore.cycles import cycle
from mgcore.problems import poisson
from mgcore_torch._fast import FusedLevel
from mgcore_torch.hierarchy import poisson_hierarchy
from mgcore_torch.linear import TorchMultigridSolver

CASES = [
    dict(dim=1, n=63),
    dict(dim=2, n=31),
    dict(dim=2, n=33, bc="neumann"),
    dict(dim=2, n=31, eps=0.01),
    dict(dim=2, n=31, coefficient=lambda x, y: 1 + 99 * (x > 0.5)),
    dict(dim=2, n=31, discretization="fem"),
    dict(dim=3, n=15),
    dict(dim=3, n=17, bc="neumann"),
    dict(dim=3, n=15, coefficient=lambda x, y, z: 1 + 9 * (y > 0.5)),
]


def _rhs(problem, batch, dtype, seed=0):
    g = torch.Generator().manual_seed(seed)
    f = torch.randn((batch, 1) + tuple(problem.shape), dtype=torch.float64, generator=g)
    if problem.singular:  # compatible data: zero mean
        f = f - f.mean(dim=tuple(range(1, f.dim())), keepdim=True)
    return f.to(dtype)


def _relerr(a, b):
    return float((a - b).abs().max() / b.abs().max())


@pytest.mark.parametrize("kw", CASES, ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items() if k != "coefficient")
                         + ("-var" if "coefficient" in kw else ""))
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_fused_cycles_equal_general_cycles(kw, dtype):
    problem = poisson(**kw)
    fused = poisson_hierarchy(problem, dtype=dtype, coarse_size=9)
    general = poisson_hierarchy(problem, dtype=dtype, coarse_size=9, fused=False)
    assert sum(getattr(lvl, "kernels", None) is not None for lvl in fused.levels) == len(fused) - 1 >= 2
    assert all(getattr(lvl, "kernels", None) is None for lvl in general.levels)
    f = _rhs(problem, 2, dtype)
    tol = 1e-12 if dtype == torch.float64 else 2e-4
    u0 = u1 = None
    for kind, pre, post in [("V", 2, 2), ("W", 2, 1), ("F", 1, 2), ("V", 0, 2), ("V", 2, 0)]:
        u0 = cycle(general, f, u0, kind, pre, post)
        u1 = cycle(fused, f, u1, kind, pre, post)
        assert _relerr(u1, u0) <= tol, (kind, pre, post)


def test_fused_smooth_restrict_and_correct_match_level_operations():
    problem = poisson(2, 31, coefficient=lambda x, y: 1 + 9 * (x + y > 1))
    lvl = poisson_hierarchy(problem, coarse_size=9).levels[0]
    ref = poisson_hierarchy(problem, coarse_size=9, fused=False).levels[0]
    f, u = _rhs(problem, 1, torch.float64, 1), _rhs(problem, 1, torch.float64, 2)
    u_in = u.clone()
    x, fc = lvl.smooth_restrict(f, u, 2)
    x0, fc0 = ref.smooth_restrict(f, u.clone(), 2)
    assert torch.equal(u, u_in)  # the caller's iterate is not written
    assert _relerr(fc, fc0) <= 1e-12
    e = torch.randn(fc.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    assert _relerr(lvl.correct_smooth(f, x, e, 1), ref.correct_smooth(f, x0, e, 1)) <= 1e-12


def test_fused_levels_only_for_red_black_and_bilinear_transfers():
    problem = poisson(2, 31)
    assert all(lvl.kernels is None for lvl in poisson_hierarchy(problem, smoother="jacobi").levels)
    assert all(lvl.kernels is None for lvl in poisson_hierarchy(problem, interpolation="linear").levels)
    h = poisson_hierarchy(problem, coarse_size=9)
    assert isinstance(h.levels[0], FusedLevel) and h.levels[-1].kernels is None
    with pytest.raises(TypeError, match="fused must be a bool"):
        poisson_hierarchy(problem, fused="yes")


def test_fused_level_falls_back_when_recording_gradients():
    problem = poisson(2, 15)
    h = poisson_hierarchy(problem, coarse_size=9)
    f = _rhs(problem, 1, torch.float64).requires_grad_(True)
    u = cycle(h, f, None, "V", 2, 2)
    u.sum().backward()
    ref = cycle(poisson_hierarchy(problem, coarse_size=9, fused=False), f.detach(), None, "V", 2, 2)
    assert f.grad is not None and _relerr(u.detach(), ref) <= 1e-12


@pytest.mark.parametrize("kw", [dict(dim=2, n=63), dict(dim=3, n=15), dict(dim=2, n=65, bc="neumann")])
@pytest.mark.parametrize("accel", [None, "cg"])
def test_solver_fused_equals_general(kw, accel):
    problem = poisson(**kw)
    b = _rhs(problem, 1, torch.float64, 5)[0, 0].numpy()
    ref = TorchMultigridSolver(problem, coarse_size=30, fused=False).solve(b, rtol=1e-10, accel=accel)
    out = TorchMultigridSolver(problem, coarse_size=30).solve(b, rtol=1e-10, accel=accel)
    assert out.iterations == ref.iterations and out.converged
    # round-off relative to the first residual (the last ones are 1e-10 of it)
    assert np.allclose(out.residuals, ref.residuals, rtol=1e-6, atol=1e-13 * ref.residuals[0])
    assert np.abs(out.x - ref.x).max() <= 1e-9 * np.abs(ref.x).max()


def test_solver_results_do_not_alias_its_buffers():
    problem = poisson(2, 63)
    solver = TorchMultigridSolver(problem)
    b1, b2 = _rhs(problem, 1, torch.float64, 6)[0, 0], _rhs(problem, 1, torch.float64, 7)[0, 0]
    x0 = torch.zeros_like(b1)
    r1 = solver.solve(b1, x0=x0, rtol=1e-9)
    x1 = r1.x.clone()
    r2 = solver.solve(b2, rtol=1e-9)
    assert torch.equal(r1.x, x1) and torch.equal(x0, torch.zeros_like(b1))
    assert not torch.equal(r1.x, r2.x)
    seen = []
    solver.solve(b1, rtol=1e-9, callback=lambda x, k, res: seen.append(x))
    assert len({id(x) for x in seen}) == len(seen) and not torch.equal(seen[0], seen[-1])
    assert float((b1 - solver.A(r1.x.reshape(1, 1, 63, 63))[0, 0]).norm()) <= 1e-9 * float(b1.norm())


def test_solver_float32_and_mixed_with_fused_levels():
    problem = poisson(2, 63)
    b = _rhs(problem, 1, torch.float64, 8)[0, 0]
    mixed = TorchMultigridSolver(problem, precision="mixed").solve(b, rtol=1e-9)
    single = TorchMultigridSolver(problem, precision="float32").solve(b.float(), rtol=1e-5)
    ref = TorchMultigridSolver(problem, fused=False).solve(b, rtol=1e-9)
    assert mixed.converged and single.converged
    assert float((mixed.x - ref.x).abs().max()) <= 1e-7 * float(ref.x.abs().max())
    assert float((single.x.double() - ref.x).abs().max()) <= 1e-4 * float(ref.x.abs().max())


def test_fused_buffers_per_batch_size_and_dtype():
    problem = poisson(2, 31)
    h = poisson_hierarchy(problem, coarse_size=9)
    ref = poisson_hierarchy(problem, coarse_size=9, fused=False)
    for N in (1, 3, 2, 5, 4, 1):  # more batch sizes than the buffers kept
        f = _rhs(problem, N, torch.float64, N)
        assert _relerr(cycle(h, f, None, "V", 2, 2), cycle(ref, f, None, "V", 2, 2)) <= 1e-12
    assert len(h.levels[0].kernels._cache) <= 4


def test_solver_with_fused_levels_pickles():
    import pickle

    problem = poisson(2, 63)
    solver = TorchMultigridSolver(problem)
    b = _rhs(problem, 1, torch.float64, 9)[0, 0]
    first = solver.solve(b, rtol=1e-9)
    clone = pickle.loads(pickle.dumps(solver))
    again = clone.solve(b, rtol=1e-9)
    assert again.iterations == first.iterations and torch.allclose(again.x, first.x, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw,kind", [
    (dict(dim=2, n=63, coefficient=lambda x, y: 1 + 999 * (x > 0.5)), "V"),
    (dict(dim=3, n=17, bc="neumann"), "W"),
    (dict(dim=2, n=63, eps=0.1), "F"),
])
def test_fused_solver_equals_sparse_assembled_path(kw, kind):
    from mgcore.sparse import MultigridSolver

    problem = poisson(**kw)
    b = _rhs(problem, 1, torch.float64, 10)[0, 0].numpy().ravel()
    sparse = MultigridSolver(problem, smoother="rbgs", coarse="rediscretize", fast=False, coarse_size=30)
    solver = TorchMultigridSolver(problem, smoother="rbgs", coarse_size=30)
    assert all(lvl.kernels is not None for lvl in solver.hierarchy.levels[:-1])
    ref = sparse.solve(b, rtol=1e-30, atol=1e-300, maxiter=4, cycle=kind)
    out = solver.solve(b, rtol=1e-30, atol=1e-300, maxiter=4, cycle=kind)
    assert np.abs(out.x - ref.x).max() <= 1e-11 * np.abs(ref.x).max()
    assert np.allclose(out.residuals, ref.residuals, rtol=1e-8, atol=1e-13 * ref.residuals[0])
