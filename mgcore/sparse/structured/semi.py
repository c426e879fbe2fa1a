"""Semi-coarsening on the structured path: re-discretised levels and grid transfers over a subset of axes.

For an operator with one weak direction in 3D (e.g. ``-(eps u_xx + u_yy +
u_zz)``, small ``eps``) point red-black Gauss-Seidel smooths the error only
along the strongly coupled axes; coarsening only those axes keeps the weak
axis at full resolution, so the coarse grid represents what the smoother
leaves, until the per-axis weights ``a_k / h_k^2`` are comparable and full
coarsening takes over (Trottenberg, Oosterlee & Schüller, *Multigrid*, 2001,
Sec. 5.1; hypre's PFMG coarsens the same way).

* :func:`semi_level_data` -- re-discretised levels on semi-coarsened grids:
  the same face-coefficient stencil with per-axis mesh widths ``h_k = h
  2^{c_k}`` (``c_k`` the times axis ``k`` was coarsened), i.e. the face
  weights of axis ``k`` divided by ``4^{c_k}`` at the fine scale ``h^-2``;
  variable coefficients are averaged pairwise along the coarsened axes only.
* :class:`SemiTransfer` -- ``R`` and ``P`` coarsening a subset of the axes:
  linear interpolation along the coarsened axes (identity along the others,
  He & Xu, MgNet, 2019, eq. 4.7-4.8 per axis) and the full weighting
  ``R = P^T / 2^{d'}`` with ``d'`` the number of coarsened axes (Lemma 4.1
  per axis), the transfers of :func:`mgcore.sparse.transfers.prolongation_axes`.

The compiled kernels (:func:`restrict_semi3`, :func:`prolong_semi3`,
:func:`restrict_residual_semi3`) work on 3D arrays; a 2D grid is passed as
a ``(1, n0, n1)`` view.  They gather along the last (contiguous) axis row by
row, so the inner loops have unit stride or stride 2.

Examples
--------
>>> from mgcore.problems import GridProblem
>>> from mgcore.sparse import MultigridSolver
>>> p = GridProblem((31, 31, 31), aniso=(0.01, 1.0, 1.0))
>>> s = MultigridSolver(p)
>>> s.coarsening, s.fast, [lvl.shape for lvl in s.levels][:3]
('semi', True, [(31, 31, 31), (31, 15, 15), (31, 7, 7)])
>>> s.solve(p.rhs(1.0), rtol=1e-8).iterations <= 8
True
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...coarsening import coarsen_size, is_halving, nested, uniform_coarse_size
from ...problems.grid import GridLevelData, GridProblem

__all__ = ["semi_level_data", "semi_support", "coarsened_axes", "SemiTransfer"]


def coarsened_axes(fine_shape: tuple, coarse_shape: tuple) -> tuple:
    """The axes along which ``coarse_shape`` is coarser than ``fine_shape``."""
    return tuple(a for a, (n, c) in enumerate(zip(fine_shape, coarse_shape)) if n != c)


def semi_support(problem: Any, shapes: list) -> tuple[bool, str]:
    """Whether the semi-coarsened ``shapes`` can be re-discretised (and so run on the structured path).

    Every coarsened axis of every step must have an odd size (nested, uniform
    coarse grids), or, for constant-coefficient Dirichlet problems, coarsen
    to :func:`mgcore.coarsening.uniform_coarse_size` (a non-nested uniform
    grid, linked by a :class:`~.nonnested.NonNestedTransfer`); finite
    differences only (the P1 stiffness on a stretched grid is not the
    rescaled 5-point stencil).
    """
    if not isinstance(problem, GridProblem):
        return False, f"problem is a {type(problem).__name__}, not a structured GridProblem"
    if problem.discretization != "fd":
        return False, f"semi-coarsened levels are re-discretised for finite differences only, not {problem.discretization!r}"
    constant = problem.bc == "dirichlet" and problem.uniform_cell_value() is not None
    for prev, shape in zip(shapes[:-1], shapes[1:]):
        for n, c in zip(prev, shape):
            if n == c or (c == coarsen_size(n, problem.bc) and nested(n, problem.bc)):
                continue
            if constant and c == uniform_coarse_size(n, problem.bc):
                continue  # non-nested uniform grid of the same domain (constant coefficients)
            return False, (f"semi-coarsening {tuple(prev)} to {tuple(shape)} does not give a uniform coarse grid "
                           f"(sizes 2^k - 1, Dirichlet, or 2^k + 1, Neumann, per coarsened axis; other sizes for "
                           f"constant-coefficient Dirichlet problems only)")
    return True, ""


def semi_level_data(problem: GridProblem, shapes: list) -> list:
    """Re-discretised level data on (semi-)coarsened grids, level 1 (finest) first.

    Parameters
    ----------
    problem : GridProblem
        A finite-difference problem.
    shapes : list of tuple
        Grid shapes of the levels (:func:`mgcore.coarsening.level_shapes`
        with per-level ``axes``); each step halves some axes, and every
        coarsened axis must have an odd size (:func:`semi_support`).

    Returns
    -------
    list of GridLevelData
        Level ``l`` has the fine scale ``h^-2`` and face weights of axis
        ``k`` divided by ``4^{c_k}``: the stencil re-discretised with the
        mesh width ``h 2^{c_k}`` along axis ``k``.  A full-coarsening step
        gives exactly :meth:`GridProblem.coarse_data`'s operator.

    Examples
    --------
    >>> from mgcore.problems import GridProblem
    >>> p = GridProblem((7, 7, 7), aniso=(0.01, 1.0, 1.0))
    >>> [d.uniform for d in semi_level_data(p, [(7, 7, 7), (7, 3, 3), (3, 1, 1)])]
    [(0.01, 1.0, 1.0), (0.01, 0.25, 0.25), (0.0025, 0.0625, 0.0625)]
    """
    ok, why = semi_support(problem, shapes)
    if not ok:
        raise ValueError(why)
    if tuple(shapes[0]) != tuple(problem.shape):
        raise ValueError(f"shapes[0] is {tuple(shapes[0])}, the problem's grid {problem.shape}")
    fine = problem.level_data()
    out = [fine]
    h, scale, dim = fine.h, fine.scale, problem.dim
    k = problem.uniform_cell_value() if problem.bc == "dirichlet" else None
    fac = [1.0] * dim  # (h / H_k)^2 per axis: 1/4 per nested halving, ((c + 1)/(n + 1))^2 per non-nested step
    cells = None if k is not None else problem.cells
    for prev, shape in zip(shapes[:-1], shapes[1:]):
        axes = coarsened_axes(prev, shape)
        for a in axes:
            fac[a] *= 0.25 if is_halving((prev[a],), (shape[a],), problem.bc) else ((shape[a] + 1) / (prev[a] + 1)) ** 2
        aniso = tuple(float(problem.aniso[a]) * fac[a] for a in range(dim))
        if k is not None:
            out.append(GridLevelData(shape, h, problem.bc, None, scale, None, uniform=tuple(k * w for w in aniso)))
            continue
        for a in axes:  # cell coefficients averaged pairwise along the coarsened axes
            cells = 0.5 * (np.take(cells, np.arange(0, cells.shape[a] - 1, 2), axis=a)
                           + np.take(cells, np.arange(1, cells.shape[a], 2), axis=a))
        from ...problems.grid import _faces_from_cells

        out.append(GridLevelData(shape, h, problem.bc, _faces_from_cells(cells, tuple(shape), problem.bc, aniso), scale, cells))
    return out


def _semi_kernels():
    from . import _semi_kernels as SK

    return SK


class SemiTransfer:
    """``R`` and ``P`` between a fine level and its semi-coarsened next level.

    The interface of :class:`~.transfer.GridTransfer` (``restrict_into``,
    ``restrict_residual_into``, ``prolong_add``); the one-pass smoothing +
    transfer kernels of full coarsening do not apply (``fused`` is False).

    Parameters
    ----------
    fine, coarse : StencilOperator
        The operators of the two levels; ``coarse`` halves a non-empty subset
        of ``fine``'s axes (odd sizes), keeping the others.
    """

    fused = False

    def __init__(self, fine: Any, coarse: Any):
        bc = fine.data.bc
        fs, cs = fine.grid_shape, coarse.grid_shape
        axes = coarsened_axes(fs, cs)
        if len(fs) != len(cs) or not axes or any(
            c != coarsen_size(n, bc) or not nested(n, bc) for a, (n, c) in enumerate(zip(fs, cs)) if a in axes
        ):
            raise ValueError(f"coarse level {cs} is not a semi-coarsening of {fs} (halve odd sizes of some axes, keep the others)")
        self.fine, self.coarse, self.axes = fine, coarse, axes
        self.off = 1 if bc == "dirichlet" else 0
        self.dim = fine.dim
        flags = [a in axes for a in range(self.dim)]
        self.flags = tuple(([False] + flags) if self.dim == 2 else flags)
        self.scale = 0.5 ** len(axes)
        dt = fine.dtype
        self.f3 = fs if self.dim == 3 else (1,) + tuple(fs)
        self.c3 = cs if self.dim == 3 else (1,) + tuple(cs)
        self.frow = np.zeros(self.f3[2], dtype=dt)
        self.crow = np.zeros(self.c3[2], dtype=dt)
        self.ring = np.zeros((3, self.f3[1], self.f3[2]), dtype=dt) if self.dim == 3 else None
        self.res = None if self.dim == 3 else np.zeros(fs, dtype=dt)
        #: placeholders of the fused-kernel scratch of :class:`GridTransfer` (not used)
        self.ebuf = self.rbuf4 = None

    def _v3(self, x: np.ndarray, shape: tuple) -> np.ndarray:
        return x if x.ndim == 3 else x.reshape(shape)

    def restrict_into(self, r: np.ndarray, out: np.ndarray) -> None:
        """``out = R r``."""
        c0, c1, c2 = self.flags
        _semi_kernels().restrict_semi3(self._v3(r, self.f3), self._v3(out, self.c3), self.off, c0, c1, c2, self.frow)

    def restrict_residual_into(self, U: np.ndarray, F: np.ndarray, out: np.ndarray) -> None:
        """``out = R (F - A U)`` (3D: residual planes computed on the fly into a 3-plane ring)."""
        op = self.fine
        if self.dim == 3:
            c0, c1, c2 = self.flags
            _semi_kernels().restrict_residual_semi3(U, F, *op.args(), out, self.off, c0, c1, c2, self.ring, self.frow, op.zero)
            return
        from ._common import kernels

        kernels().stencil2(U, F, *op.args(), self.res, 1, op.zero)
        self.restrict_into(self.res, out)

    def prolong_add(self, u: np.ndarray, E: np.ndarray) -> None:
        """``u += P E`` (``u`` and ``E`` may differ in dtype, e.g. a float64 ``u``)."""
        c0, c1, c2 = self.flags
        row = self.crow if u.dtype == self.crow.dtype else np.zeros(self.c3[2], dtype=u.dtype)
        if E.dtype != u.dtype:
            E = E.astype(u.dtype)
        _semi_kernels().prolong_semi3(self._v3(u, self.f3), self._v3(E, self.c3), self.off, c0, c1, c2, row)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.frow, self.crow, self.ring, self.res) if a is not None)

    def __repr__(self) -> str:
        return f"SemiTransfer({self.fine.grid_shape} -> {self.coarse.grid_shape}, axes={self.axes})"
