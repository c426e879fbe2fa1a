"""The core's cycles on pyamg hierarchies (Ruge-Stüben and smoothed aggregation)."""

import pickle

import numpy as np
import pyamg
import pytest

from mgcore.cycles import mg0, mgnet
from mgcore.solve import StopReason
from mgcore.sparse.pyamg_bridge import from_pyamg, pyamg_solver


@pytest.fixture(scope="module")
def A():
    return pyamg.gallery.poisson((48, 48), format="csr")


@pytest.mark.parametrize("method", ["ruge_stuben", "smoothed_aggregation"])
@pytest.mark.parametrize("cycle", ["V", "W", "F"])
def test_bridge_converges(A, method, cycle):
    s = pyamg_solver(A, method=method, cycle=cycle)
    b = np.random.default_rng(0).random(A.shape[0])
    res = s.solve(b, rtol=1e-10, maxiter=100)
    assert res.converged and res.reason is StopReason.CONVERGED
    assert np.linalg.norm(b - A @ res.x) <= 1.01e-10 * np.linalg.norm(b)
    assert res.convergence_factor < (0.2 if method == "ruge_stuben" else 0.6)
    cg = s.solve(b, rtol=1e-10, accel="cg")
    assert cg.converged and cg.iterations <= res.iterations


def test_bridge_uses_pyamg_operators_and_matches_pyamg_vcycle(A):
    ml = pyamg.ruge_stuben_solver(A, presmoother=("gauss_seidel", {"sweep": "symmetric"}),
                                  postsmoother=("gauss_seidel", {"sweep": "symmetric"}))
    s = from_pyamg(ml, smoother="sgs", nu=(1, 1))
    assert s.J == len(ml.levels)
    for lvl, ours in zip(ml.levels, s.levels):
        assert (abs(lvl.A - ours.A.M)).max() == 0
    b = np.random.default_rng(1).random(A.shape[0])
    ours = s.solve(b, rtol=1e-10)
    theirs = []
    ml.solve(b, x0=np.zeros_like(b), tol=1e-10, residuals=theirs)
    # same method, same spaces: the convergence factors agree closely
    assert abs(ours.convergence_factor - (theirs[-1] / theirs[0]) ** (1 / (len(theirs) - 1))) < 0.05


def test_core_algorithms_run_on_algebraic_levels(A):
    s = pyamg_solver(A, smoother="jacobi")
    f = np.ones(A.shape[0])
    states = mg0(s.hierarchy, f, 2)
    assert len(states) == s.J
    net = mgnet(s.hierarchy, f, 2)
    assert np.allclose(net[-1].u, states[-1].u)  # Pi = None: identical by Theorem 6.1


def test_bridge_errors_and_pickle(A):
    with pytest.raises(TypeError, match="MultilevelSolver"):
        from_pyamg(object())
    with pytest.raises(ValueError, match="method must be one of"):
        pyamg_solver(A, method="amg")
    with pytest.raises(ValueError, match="structured grid"):
        pyamg_solver(A, smoother="rbgs")
    s = pickle.loads(pickle.dumps(pyamg_solver(A)))
    assert s.solve(np.ones(A.shape[0]), rtol=1e-8).converged
    assert "pyamg" in repr(s)
