"""The one-pass line Gauss-Seidel kernels of the structured path agree with the assembled-matrix line smoother.

Every variant of the compiled half-sweeps (lines along the contiguous axis or
across it, constant coefficients where the interior lines share their
factors, variable coefficients, Dirichlet and Neumann, odd and even line
counts, grids too small for the interleaved groups) is checked against
:class:`mgcore.sparse.smoothers.LineGaussSeidel` (residual by the assembled
matrix, then the Thomas solve): same iterate to 1e-12 relative.
"""

import numpy as np
import pytest

from mgcore.problems import GridProblem
from mgcore.sparse.smoothers import LineGaussSeidel
from mgcore.sparse.structured import StructuredLevel


def _problem(shape, bc, kind, strong):
    aniso = [1e-3] * len(shape)
    aniso[strong] = 1.0
    cells = None
    if kind == "variable":
        cshape = tuple(n + 1 if bc == "dirichlet" else n - 1 for n in shape)
        cells = np.random.default_rng(7).uniform(0.5, 4.0, size=cshape)
    return GridProblem(shape, bc=bc, cells=cells, aniso=tuple(aniso))


def _compare(p, axis, order="red-black", post=False, nu=2, seed=0):
    data = p.level_data()
    lvl = StructuredLevel(data, "line-gs", {"axis": axis, "order": order})
    A = data.matrix()
    ref = LineGaussSeidel(A, axis=axis, order=order, post=post, shape=p.shape)
    rng = np.random.default_rng(seed)
    f = rng.standard_normal(p.shape)
    u0 = rng.standard_normal(p.shape)
    U = u0.copy()
    lvl.smoother_impl.smooth(U, f, nu, post)
    V = u0.reshape(-1).copy()
    for _ in range(nu):
        V = ref.smooth(A, f.reshape(-1), V, 1)
    V = V.reshape(p.shape)
    assert np.abs(U - V).max() <= 1e-12 * np.abs(V).max()
    return lvl


SHAPES_2D = [(17, 16), (16, 17), (24, 24), (9, 31), (31, 9), (2, 5), (3, 3), (1, 6), (6, 1)]


CASES_2D = [(shape, bc, kind) for shape in SHAPES_2D for bc in ("dirichlet", "neumann") for kind in ("uniform", "variable")
            if bc == "dirichlet" or min(shape) >= 2]  # a Neumann grid has at least 2 nodes per axis


@pytest.mark.parametrize("shape,bc,kind", CASES_2D)
@pytest.mark.parametrize("axis", [0, 1])
def test_2d_one_pass_kernels_match_assembled_line_gs(shape, bc, kind, axis):
    p = _problem(shape, bc, kind, axis)
    lvl = _compare(p, axis)
    w, inv, m, cff, const = lvl.smoother_impl.lines._fused[axis]
    if kind == "uniform" and min(shape) >= 3:
        assert const  # interior lines share their factors: the kernels read one line's factors
    if kind == "variable" and min(shape) >= 4:
        assert not const


@pytest.mark.parametrize("axis", [0, 1])
@pytest.mark.parametrize("order,post", [("symmetric", True), ("symmetric", False), ("red-black", True)])
def test_2d_one_pass_kernels_both_orders(axis, order, post):
    _compare(_problem((33, 20), "dirichlet", "uniform", axis), axis, order=order, post=post, nu=3, seed=1)


def test_2d_const_detection_on_neumann_edges():
    # Neumann: the first and last lines have their own factors, the interior ones share theirs
    p = _problem((40, 40), "neumann", "uniform", 1)
    lvl = _compare(p, 1)
    assert lvl.smoother_impl.lines._fused[1][4]


SHAPES_3D = [(9, 8, 7), (8, 9, 10), (12, 5, 6), (6, 19, 5), (19, 6, 5), (5, 18, 17), (3, 3, 3), (2, 5, 4), (7, 1, 6), (5, 6, 1)]
CASES_3D = [(shape, bc, kind) for shape in SHAPES_3D for bc in ("dirichlet", "neumann") for kind in ("uniform", "variable")
            if bc == "dirichlet" or min(shape) >= 2]


@pytest.mark.parametrize("shape,bc,kind", CASES_3D)
@pytest.mark.parametrize("axis", [0, 1, 2])
def test_3d_one_pass_kernels_match_assembled_line_gs(shape, bc, kind, axis):
    p = _problem(shape, bc, kind, axis)
    lvl = _compare(p, axis)
    const = lvl.smoother_impl.lines._fused[axis][-2]
    cross = [n for d, n in enumerate(shape) if d != axis]
    if kind == "uniform" and min(cross) >= 3:
        assert const
    if kind == "variable" and min(cross) >= 4:
        assert not const


@pytest.mark.parametrize("order,post", [("symmetric", True), ("red-black", False)])
def test_3d_one_pass_kernels_alternating(order, post):
    p = _problem((10, 9, 8), "dirichlet", "variable", 0)
    _compare(p, "alternating", order=order, post=post, nu=2, seed=3)
