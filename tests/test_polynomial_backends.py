"""The polynomial smoother (Poly-MgNet eq. 10-21, roots from the spectrum by Alg. 2-3) on every backend."""

import numpy as np
import pytest

from mgcore.problems import poisson2d, poisson3d
from mgcore.registry import backend_support
from mgcore.sparse import MultigridSolver
from mgcore.sparse.structured import structured_support

SPECS = [
    {"name": "polynomial", "from": "spectrum", "degree": 4, "precondition": "jacobi"},
    {"name": "polynomial", "from": "spectrum", "degree": 3, "method": "leja"},
    {"name": "polynomial", "roots": [0.5, 1.2, 1.8], "precondition": "jacobi"},
    {"name": "polynomial", "coefficients": [0.2, -0.01]},
    {"name": "polynomial", "degree": 3},
]


@pytest.mark.parametrize("backend", ["structured", "torch", "sparse"])
def test_every_backend_has_the_polynomial_smoother(backend):
    ok, why = backend_support("polynomial", {"from": "spectrum", "degree": 4}, backend)
    assert ok, why


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: "-".join(f"{k}" for k in s if k != "name"))
@pytest.mark.parametrize("problem", [poisson2d(n=31), poisson3d(n=15)], ids=["2d", "3d"])
def test_compiled_path_runs_it_with_the_assembled_iterates(problem, spec):
    assert structured_support(problem, spec)[0]
    b = problem.rhs(1.0)
    fast = MultigridSolver(problem, smoother=spec)
    slow = MultigridSolver(problem, smoother=spec, fast=False)
    assert fast.fast and not slow.fast
    rf, rs = fast.solve(b, rtol=1e-8, maxiter=30), slow.solve(b, rtol=1e-8, maxiter=30)
    assert rf.iterations == rs.iterations
    np.testing.assert_allclose(rf.residuals, rs.residuals, rtol=1e-8, atol=1e-13 * rs.residuals[0])
    np.testing.assert_allclose(rf.x, rs.x, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("spec", SPECS[:3], ids=["spectrum", "leja", "roots"])
def test_torch_solver_runs_it_with_the_same_iterates(spec):
    torch = pytest.importorskip("torch")
    from mgcore_torch import TorchMultigridSolver

    p = poisson2d(n=31)
    b = p.rhs(1.0)
    rt = TorchMultigridSolver(p, smoother=spec, dtype=torch.float64).solve(b, rtol=1e-8, maxiter=30)
    rs = MultigridSolver(p, smoother=spec, fast=False).solve(b, rtol=1e-8, maxiter=30)
    assert rt.iterations == rs.iterations
    x = rt.x.numpy() if hasattr(rt.x, "numpy") else np.asarray(rt.x)
    np.testing.assert_allclose(x.ravel(), rs.x, rtol=1e-9, atol=1e-13)


@pytest.mark.parametrize("problem", [poisson2d(n=63), poisson3d(n=31)], ids=["2d", "3d"])
def test_spectrum_roots_are_at_least_as_good_as_chebyshev_on_the_compiled_path(problem):
    b = problem.rhs(1.0)
    spec = MultigridSolver(problem, smoother={"name": "polynomial", "from": "spectrum", "degree": 4,
                                              "precondition": "jacobi"}).solve(b, rtol=1e-8)
    cheb = MultigridSolver(problem, smoother={"name": "chebyshev", "degree": 4}, fast=False).solve(b, rtol=1e-8)
    assert spec.converged and spec.iterations <= cheb.iterations


def test_bad_polynomial_options_are_named():
    p = poisson2d(n=15)
    with pytest.raises(ValueError, match="not both"):
        MultigridSolver(p, smoother={"name": "polynomial", "from": "spectrum", "roots": [1.0]})
    with pytest.raises(ValueError, match="degree"):
        MultigridSolver(p, smoother={"name": "polynomial", "degree": 0})
