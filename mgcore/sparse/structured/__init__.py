"""Fast matrix-free multigrid levels for structured grids (compiled kernels).

:class:`StructuredLevel` is a :class:`mgcore.hierarchy.Level` whose
operations run compiled numba kernels (:mod:`mgcore.sparse._kernels`) on
preallocated per-level buffers:

* ``smooth`` -- red-black Gauss-Seidel (pre: red then black, post: black
  then red), damped Jacobi, or Jacobi-preconditioned Chebyshev
  semi-iteration (He & Xu, MgNet, 2019, eq. 3.23-3.24, ``B = tau D^{-1}``), in place;
* ``restrict_residual`` -- fused ``f^{l+1} = R(f^l - A^l u^l)`` with the full
  weighting ``R = P^T / 2^d`` (Lemma 4.1, Alg. 1 line 8), written
  into the coarse level's ``f`` buffer;
* ``correct`` -- fused ``u^l <- u^l + P u^{l+1}`` (eq. 4.7-4.9,
  5.13) into the level's ``u`` buffer;
* the coarsest level solves exactly with a precomputed dense inverse
  (pseudo-inverse for the singular Neumann problem).

The operator is read from the face-coefficient arrays of
:class:`mgcore.problems.grid.GridLevelData`, so constant, anisotropic and
variable coefficients with Dirichlet or Neumann boundaries share one code
path (interior points of levels whose faces are constant per direction use
scalar weights).  ``A``, ``R`` and ``P`` remain plain (allocating) callables,
so the generic algorithms of :mod:`mgcore.cycles` (``mg0``, ``mgnet``,
``fmg``, ...) run on these levels unchanged.

Buffer semantics: ``smooth``, ``correct`` and ``coarse_solve`` return the
level's own ``u`` buffer.  An iterate ``u=None`` zero-fills it; an iterate that
is not the level's buffer is copied into it first (the caller's array is never
modified) -- except on a finest level with ``inplace=True`` (set by
:class:`mgcore.sparse.solver.MultigridSolver`), which updates a writable
C-contiguous iterate of its dtype in place and allocates its own buffer only
when a cycle starts from ``u=None``.  Levels whose coefficient is uniform
with Dirichlet boundaries (:attr:`GridLevelData.uniform`) keep no face
arrays.  Iterates are arrays of the grid shape (x = axis 0, C order); flat
vectors are accepted and reshaped.  Copy a returned iterate if it must
survive the next cycle.

The pieces: :mod:`.operator` (``A``), :mod:`.smoother` (``B``),
:mod:`.transfer` (``R``, ``P``), :mod:`.coarse` (exact coarse solve),
:mod:`.level` (the composed :class:`StructuredLevel` and its buffers) and
:mod:`.support` (which configurations the path runs, from the smoother
registry :mod:`mgcore.registry`).

Importing this package does not import numba; the kernels are loaded (and
compiled on first use, cached on disk) when a level is built.
"""

from __future__ import annotations

from .coarse import DENSE_COARSE_MAX, CoarseSolver
from .level import StructuredLevel, build_structured_levels, structured_memory
from .operator import StencilOperator
from .smoother import SPLIT_MIN, CompiledSmoother
from .support import STRUCTURED_SMOOTHERS, structured_support
from .transfer import GridTransfer
from ...registry import RB_ORDERS as RBGS_ORDERS

__all__ = [
    "CoarseSolver",
    "CompiledSmoother",
    "DENSE_COARSE_MAX",
    "GridTransfer",
    "RBGS_ORDERS",
    "SPLIT_MIN",
    "STRUCTURED_SMOOTHERS",
    "StencilOperator",
    "StructuredLevel",
    "build_structured_levels",
    "structured_memory",
    "structured_support",
]
