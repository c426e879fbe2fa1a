"""Fixed-kernel linear multigrid in torch: the CNN that *is* the sparse solver.

He & Xu, *MgNet*, 2019, shows that a geometric multigrid cycle for the
Poisson equation is a convolutional network with fixed kernels: the operator
is the convolution ``A u = K_A * u`` with zero padding (eq. 5.4-5.5), damped
Jacobi is ``S_0 f = K_S0 * f`` (5.6, 5.8), the restriction is the stride-2
convolution with ``K_R`` and the prolongation its transpose (Lemma 4.1,
eq. 4.12-4.14).  This module builds those operators as small
``torch.nn.Module``\\ s over tensors of shape ``(N, 1, H, W)`` (a batch of
``N`` right-hand sides; ``(N, 1, D, H, W)`` in 3D, ``(N, 1, L)`` in 1D),
puts them into :class:`mgcore.hierarchy.Level`\\ s, and runs the **core**
algorithms (:func:`mgcore.cycles.cycle`, :func:`~mgcore.cycles.mg0`,
:func:`~mgcore.cycles.mgnet`, :func:`~mgcore.cycles.fmg`) and drivers
(:func:`mgcore.solve.stationary_solve`, :func:`mgcore.solve.pcg`) on them.
There is no second copy of the algorithms: with float64 the iterates equal
those of :mod:`mgcore.sparse` to round-off.

The code lives in :mod:`mgcore_torch.operators` (``A``, ``R``, ``P``, ``Pi``),
:mod:`mgcore_torch.smoothers`, :mod:`mgcore_torch.hierarchy` and
:mod:`mgcore_torch.solver` (mirroring :mod:`mgcore.sparse`); this module
gathers them.

Operators (all read the face arrays of :class:`mgcore.problems.grid.GridLevelData`):

============================ =====================================================
:class:`StencilOperator`     ``A``: constant coefficients -> the kernel ``K_A``
                             (conv or shifted adds); variable coefficients or
                             Neumann boundaries -> a stencil field (shifted
                             multiplies with the face weights, no conv)
:class:`StridedConv`         ``R`` (stride-2 conv with ``K_R / 2^d`` or ``K_R``)
                             and conv projections ``Pi``
:class:`TransposedConv`      ``P`` (transposed stride-2 conv with ``K_R``)
:class:`Injection`           ``Pi`` = nodal injection (He & Xu, MgNet, 2019, eq. 4.18)
:class:`MatrixOperator`      a dense matrix over the flattened grid (coarse
                             solve with a precomputed (pseudo-)inverse, random
                             projections)
:class:`PointwiseScaling`    ``B(r) = w * r``: Jacobi ``omega / diag`` (5.6,
                             5.8), Richardson ``omega``
:class:`RedBlackGaussSeidel` red-black Gauss-Seidel with colour masks
============================ =====================================================

Boundary conditions follow :mod:`mgcore.problems.grid`: Dirichlet grids have
``n = 2^k - 1`` interior unknowns and use zero padding (coarse node ``i`` =
fine node ``2 i + 1``, no padding in the stride-2 convolutions); Neumann
grids have ``n = 2^k + 1`` nodes, the face weights at the boundary are zero
(the same face-array formula), coarse node ``i`` = fine node ``2 i`` and the
stride-2 convolutions use padding 1.  Level 1 is the finest.

Examples
--------
>>> import torch
>>> from mgcore.problems import poisson
>>> from mgcore_torch.linear import TorchMultigridSolver
>>> problem = poisson(dim=2, n=63)
>>> solver = TorchMultigridSolver(problem)
>>> result = solver.solve(problem.rhs(1.0), rtol=1e-8)
>>> result.converged, result.convergence_factor < 0.1
(True, True)
"""

from __future__ import annotations

from .hierarchy import PROJECTIONS, level_data_list, poisson_hierarchy
from .operators import (
    IMPLEMENTATIONS, Injection, MatrixOperator, PointwiseScaling, StencilOperator, StridedConv, TransposedConv,
)
from .smoothers import SMOOTHERS, RedBlackGaussSeidel, RepeatedSmoother, build_smoother
from .solver import PRECISIONS, TorchMultigridSolver

__all__ = [
    "SMOOTHERS",
    "IMPLEMENTATIONS",
    "PRECISIONS",
    "PROJECTIONS",
    "StencilOperator",
    "StridedConv",
    "TransposedConv",
    "Injection",
    "MatrixOperator",
    "PointwiseScaling",
    "RedBlackGaussSeidel",
    "RepeatedSmoother",
    "build_smoother",
    "poisson_hierarchy",
    "level_data_list",
    "TorchMultigridSolver",
]
