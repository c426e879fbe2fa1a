"""Structured grids and face-coefficient operators shared by every backend.

A :class:`GridProblem` describes ``-div(k grad u) = f`` (with ``k`` possibly
anisotropic, ``eps d_xx + d_yy``) on the unit square/cube discretised on a
uniform grid.  The operator of a level is given by its **face coefficients**:
for every pair of neighbouring nodes ``(p, q)`` in direction ``d`` a weight
``w``; then

.. math::  (A u)_p = h^{-2} \\sum_{q \\sim p} w_{pq} (u_p - u_q)

with ``u_q = 0`` outside the unknowns (Dirichlet).  The weight of a face is the
mean of ``k`` over the ``2^{d-1}`` grid cells that share the face, cells
outside the domain counting zero (this is the P1 finite-element stiffness on
the structured triangulation, seed 003 eq. 5.3-5.5, and a finite-volume
scheme for cell-wise ``k``; a boundary face of a Neumann grid gets half the
weight).  Coarse levels re-discretise with cell coefficients averaged over the
``2^d`` fine cells of a coarse cell.

The sparse matrix (:meth:`GridLevelData.matrix`), the matrix-free numba
kernels (:mod:`mgcore.sparse.structured`) and the torch convolutions all read
the same face arrays, so their iterates agree to round-off.

Grid conventions (per dimension, 0-based node indices):

* ``bc="dirichlet"``: ``n = 2^k - 1`` interior unknowns, ``h = 1/(n+1)``;
  coarse ``n_c = (n - 1)/2``, coarse node ``i`` sits on fine node ``2 i + 1``.
* ``bc="neumann"``: ``n = 2^k + 1`` nodes including the boundary,
  ``h = 1/(n-1)``; coarse ``n_c = (n + 1)/2``, coarse node ``i`` sits on fine
  node ``2 i``.  The operator is singular with the constants as null space.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from ..coarsening import can_coarsen, check_memory, coarsen_size, level_shapes, nested

__all__ = ["GridProblem", "GridLevelData", "BOUNDARY_CONDITIONS", "coarsen_size", "can_coarsen"]

BOUNDARY_CONDITIONS = ("dirichlet", "neumann")


def _valid_size(n: int, bc: str) -> bool:
    return n >= (1 if bc == "dirichlet" else 2)


class GridLevelData:
    """The operator of one structured level in face-coefficient form.

    Parameters / attributes
    -----------------------
    shape : tuple of int
        Unknowns per dimension (x first; arrays are indexed ``[i, j(, k)]``).
    h : float
        Mesh width.
    bc : str
        ``"dirichlet"`` or ``"neumann"``.
    faces : list of ndarray
        ``faces[d]`` has the shape of ``shape`` with one more entry along axis
        ``d``: ``faces[d][.., i, ..]`` is the weight of the face between nodes
        ``i - 1`` and ``i`` along ``d`` (entries 0 and ``n`` are boundary
        faces: the Dirichlet coupling to the boundary; zero for Neumann).
        For a uniform level (``uniform`` given) the arrays are built on first
        access only.
    scale : float
        Factor in front of the sum (``h^-2`` for finite differences, 1 for
        the unscaled FEM stiffness).
    cells : ndarray
        Cell coefficients this level was built from (for coarsening); for a
        uniform level built on first access.
    uniform : tuple of float, optional
        Dirichlet levels whose cell coefficient is one constant ``k``: the
        weight of every face along direction ``d`` (``k * aniso[d]``).  Such
        a level stores no arrays; matrix-free kernels use the scalars (the
        boundary rows follow from the same weights with the out-of-range
        neighbours zero).
    cell_value : float, optional
        The constant cell coefficient ``k`` of a uniform level.
    """

    def __init__(self, shape, h, bc, faces=None, scale=1.0, cells=None, uniform=None, cell_value=None):
        self.shape = tuple(int(n) for n in shape)
        self.h = h
        self.bc = bc
        self.scale = scale
        if faces is None and uniform is None:
            raise ValueError("GridLevelData needs faces (arrays) or uniform (one weight per direction)")
        if uniform is not None:
            uniform = tuple(float(w) for w in uniform)
            if len(uniform) != len(self.shape):
                raise ValueError(f"uniform must hold {len(self.shape)} weights, got {uniform}")
            if bc != "dirichlet":
                raise ValueError("uniform (scalar) face weights describe Dirichlet levels only")
        self.uniform = uniform
        self.cell_value = None if cell_value is None else float(cell_value)
        self._faces = None if faces is None else list(faces)
        self._cells = cells

    @property
    def faces(self) -> list:
        """Face weight arrays (built on first access for a uniform level)."""
        if self._faces is None:
            self._faces = [
                np.full(tuple(s + (1 if d == ax else 0) for d, s in enumerate(self.shape)), w)
                for ax, w in enumerate(self.uniform)
            ]
        return self._faces

    @faces.setter
    def faces(self, value) -> None:
        self._faces = list(value)
        self.uniform = None

    @property
    def cells(self):
        """Cell coefficients (built on first access for a uniform level)."""
        if self._cells is None and self.cell_value is not None:
            cshape = tuple(n + 1 if self.bc == "dirichlet" else n - 1 for n in self.shape)
            self._cells = np.full(cshape, self.cell_value)
        return self._cells

    @cells.setter
    def cells(self, value) -> None:
        self._cells = value

    def __repr__(self) -> str:
        kind = f"uniform={self.uniform}" if self.uniform is not None else "faces=arrays"
        return f"GridLevelData(shape={self.shape}, h={self.h!r}, bc={self.bc!r}, {kind}, scale={self.scale!r})"

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def diagonal(self) -> np.ndarray:
        """Diagonal of ``A`` as an array of ``shape``."""
        if self.uniform is not None:
            return np.full(self.shape, self.scale * 2.0 * sum(self.uniform))
        d = np.zeros(self.shape)
        for ax, w in enumerate(self.faces):
            n = self.shape[ax]
            d += np.take(w, np.arange(n), axis=ax) + np.take(w, np.arange(1, n + 1), axis=ax)
        return self.scale * d

    def apply(self, u: np.ndarray) -> np.ndarray:
        """Matrix-free ``A u`` for ``u`` of shape ``shape`` (or flat)."""
        flat = u.ndim == 1
        U = u.reshape(self.shape)
        out = self.diagonal().astype(U.dtype, copy=False) * U
        for ax, w in enumerate(self.faces):
            n = self.shape[ax]
            inner = np.take(w, np.arange(1, n), axis=ax).astype(U.dtype, copy=False)
            lo = [slice(None)] * self.dim
            hi = [slice(None)] * self.dim
            lo[ax], hi[ax] = slice(0, n - 1), slice(1, n)
            lo, hi = tuple(lo), tuple(hi)
            out[lo] -= self.scale * inner * U[hi]
            out[hi] -= self.scale * inner * U[lo]
        return out.ravel() if flat else out

    def dirichlet_inverse(self) -> np.ndarray:
        """The dense inverse of a uniform Dirichlet level's operator (C-order numbering).

        The operator is a sum of 1D second differences, diagonalised by the
        orthonormal type-I sine transform ``S`` of each axis: ``A = Q diag(lam) Q^T``
        with ``Q = S_0 (x) S_1 (x) ...`` and ``lam`` the sums of the 1D eigenvalues
        ``2 w (1 - cos(k pi / (n + 1)))`` times the level scale, so
        ``A^{-1} = (Q / lam) Q^T``, contracted one axis at a time (``O(N n^{d-1})``
        operations for ``N`` unknowns, ``n`` per axis, against ``O(N^3)`` for a
        general inverse; exact to round-off).  Used for the coarsest level.

        Examples
        --------
        >>> import numpy as np
        >>> from mgcore.problems import poisson2d
        >>> d = poisson2d(7).level_data()
        >>> bool(np.allclose(d.dirichlet_inverse() @ d.matrix().toarray(), np.eye(49)))
        True
        """
        if self.uniform is None or self.bc != "dirichlet":
            raise ValueError("dirichlet_inverse needs a uniform level with Dirichlet boundaries")
        d = len(self.shape)
        lam = np.zeros(())
        Ws = []
        for n, w in zip(self.shape, self.uniform):
            k = np.arange(1, n + 1)
            S = np.sqrt(2.0 / (n + 1)) * np.sin(np.pi * np.outer(k, k) / (n + 1))
            Ws.append(S[:, None, :] * S[None, :, :])  # (i, j, k): S[i, k] S[j, k]
            lam = np.add.outer(lam, 2.0 * w * self.scale * (1.0 - np.cos(np.pi * k / (n + 1))))
        X = 1.0 / lam  # indices k_0 .. k_{d-1}
        for W in Ws:  # replace k_a (always the leading index left) by (i_a, j_a) at the end
            X = np.tensordot(X, W, axes=([0], [2]))
        # X indices: i_0, j_0, i_1, j_1, ...
        X = X.transpose([2 * a for a in range(d)] + [2 * a + 1 for a in range(d)])
        N = self.size
        return np.ascontiguousarray(X.reshape(N, N))

    def matrix(self, dtype=np.float64) -> "scipy.sparse.csr_matrix":
        """Assemble ``A`` as a CSR matrix (C-order flattening of the grid).

        scipy is imported here, on first use: the matrix-free paths need only the face data.
        """
        import scipy.sparse as sp

        N = self.size
        idx = np.arange(N).reshape(self.shape)
        rows = [np.arange(N)]
        cols = [np.arange(N)]
        vals = [self.diagonal().ravel()]
        for ax, w in enumerate(self.faces):
            n = self.shape[ax]
            inner = -self.scale * np.take(w, np.arange(1, n), axis=ax)
            a = np.take(idx, np.arange(0, n - 1), axis=ax).ravel()
            b = np.take(idx, np.arange(1, n), axis=ax).ravel()
            rows += [a, b]
            cols += [b, a]
            vals += [inner.ravel(), inner.ravel()]
        A = sp.csr_matrix(
            (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N, N), dtype=dtype
        )
        A.sum_duplicates()
        A.eliminate_zeros()
        return A


class GridShape:
    """A level known only by its grid (a Galerkin level below a non-nested coarsening)."""

    def __init__(self, shape: tuple, bc: str):
        self.shape = tuple(int(n) for n in shape)
        self.bc = bc

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def __repr__(self) -> str:
        return f"GridShape({self.shape}, bc={self.bc!r})"


def _faces_from_cells(cells: np.ndarray, shape: tuple, bc: str, aniso: tuple) -> list:
    """Face weights = mean of the adjacent cells (zero outside), times ``aniso[d]``.

    ``cells`` has shape ``n_d + 1`` (Dirichlet) or ``n_d - 1`` (Neumann) per
    dimension.  Node ``i`` (Dirichlet: grid point ``i + 1``; Neumann: grid
    point ``i``) has cells ``c-1`` and ``c`` around it with ``c`` its grid
    index.
    """
    dim = len(shape)
    faces = []
    # pad the cells with zeros so that every node has 2 cells per direction
    padded = np.pad(cells, 1) if bc == "neumann" else cells
    # now padded has shape (n_d + 1) per dim in both cases, cell c lies between
    # node-grid points c-1 and c in "unknown index" terms after the shift below
    for ax in range(dim):
        # face between node i-1 and i along ax, i = 0..n: it is the grid edge
        # whose cells along the other axes are (c-1, c) around each node.
        w = padded
        for other in range(dim):
            if other == ax:
                continue
            w = 0.5 * (np.take(w, np.arange(0, w.shape[other] - 1), axis=other)
                       + np.take(w, np.arange(1, w.shape[other]), axis=other))
        # along ax, the cell index equals the face index (0..n)
        faces.append(aniso[ax] * w)
    # shapes: along ax n+1, along others n
    for ax, w in enumerate(faces):
        want = tuple(s + (1 if d == ax else 0) for d, s in enumerate(shape))
        assert w.shape == want, (w.shape, want)
    return faces


@dataclass(eq=False)
class GridProblem:
    """A structured-grid elliptic problem, ``-div(K grad u) = f`` on ``(0,1)^d``.

    Use :func:`mgcore.problems.poisson` and friends rather than this
    class directly.

    Parameters
    ----------
    shape : tuple of int
        Unknowns per dimension on level 1 (finest).
    bc : {"dirichlet", "neumann"}
    cells : ndarray, optional
        Cell-wise coefficient ``k`` (default 1), shape ``n+1`` (Dirichlet) or
        ``n-1`` (Neumann) per dimension.
    aniso : tuple of float
        Direction weights (``(eps, 1)`` for ``-(eps u_xx + u_yy)``).
    discretization : {"fd", "fem"}
        ``"fd"`` scales by ``h^-2``; ``"fem"`` is the unscaled P1 stiffness
        (2D only; seed 003 eq. 5.3).
    name : str
        Problem name for reports.
    """

    shape: tuple
    bc: str = "dirichlet"
    cells: Any = None
    aniso: tuple = ()
    discretization: str = "fd"
    name: str = "poisson"

    def __post_init__(self) -> None:
        self.shape = tuple(int(s) for s in self.shape)
        dim = len(self.shape)
        if dim not in (1, 2, 3):
            raise ValueError(f"shape must have 1, 2 or 3 entries, got {self.shape}")
        if self.bc not in BOUNDARY_CONDITIONS:
            raise ValueError(f"bc must be one of {BOUNDARY_CONDITIONS}, got {self.bc!r}")
        if self.discretization not in ("fd", "fem"):
            raise ValueError(f"discretization must be 'fd' or 'fem', got {self.discretization!r}")
        for n in self.shape:
            if not _valid_size(n, self.bc):
                allowed = ">= 1 interior unknowns" if self.bc == "dirichlet" else ">= 2 nodes"
                raise ValueError(f"grid size n = {n} is not allowed with bc={self.bc!r}: n must be an int {allowed}")
        cshape = tuple(n + 1 if self.bc == "dirichlet" else n - 1 for n in self.shape)
        # cells, faces (one array per direction) and a few vectors of every solver
        check_memory(8.0 * (math.prod(cshape) + (dim + 4) * math.prod(self.shape)),
                     f"a {'x'.join(map(str, self.shape))} grid (n = {self.shape[0]}, {math.prod(self.shape)} unknowns)")
        if self.cells is None:
            self.cells = np.ones(cshape)
        else:
            self.cells = np.asarray(self.cells, dtype=np.float64)
            if self.cells.shape != cshape:
                raise ValueError(f"cells (coefficient k per grid cell) must have shape {cshape}, got {self.cells.shape}")
            if not np.all(np.isfinite(self.cells)) or np.any(self.cells <= 0):
                raise ValueError("cells (coefficient k) must be finite and > 0 everywhere")
        if not self.aniso:
            self.aniso = (1.0,) * dim
        if len(self.aniso) != dim or any(not (a > 0) for a in self.aniso):
            raise ValueError(f"aniso must hold {dim} positive weights, got {self.aniso}")

    @property
    def dim(self) -> int:
        return len(self.shape)

    @property
    def h(self) -> float:
        n = self.shape[0]
        return 1.0 / (n + 1) if self.bc == "dirichlet" else 1.0 / (n - 1)

    @property
    def singular(self) -> bool:
        """Pure Neumann problems have the constants as null space."""
        return self.bc == "neumann"

    def level_data(self, shape: tuple | None = None, cells: np.ndarray | None = None, h: float | None = None) -> GridLevelData:
        """Face-coefficient operator of the finest level (or of given data)."""
        shape = self.shape if shape is None else shape
        h = self.h if h is None else h
        scale = self._scale(h)
        if cells is None:
            k = self.uniform_cell_value() if self.bc == "dirichlet" else None
            if k is not None:
                return self._uniform_data(shape, h, scale, k)
            cells = self.cells
        faces = _faces_from_cells(cells, shape, self.bc, self.aniso)
        return GridLevelData(shape, h, self.bc, faces, scale, cells)

    def _scale(self, h: float) -> float:
        """Scale of the level with mesh width ``h``: ``h^-2`` for finite
        differences; for the P1 stiffness (unscaled on the finest level)
        ``(h_1 / h)^2``, so that every coarse operator equals ``R A P`` with the
        full-weighting ``R = P^T / 2^d`` exactly as for finite differences."""
        if self.discretization == "fem":
            return (self.h / h) ** 2
        return 1.0 / (h * h)

    def _uniform_data(self, shape: tuple, h: float, scale: float, k: float) -> GridLevelData:
        """A Dirichlet level with the constant cell coefficient ``k`` (no arrays)."""
        return GridLevelData(shape, h, self.bc, None, scale, None, uniform=tuple(k * a for a in self.aniso), cell_value=k)

    def uniform_cell_value(self) -> float | None:
        """The cell coefficient if it is one constant (cached), else ``None``."""
        if getattr(self, "_uniform_k", 0) == 0:
            c = self.cells
            k0 = float(c.flat[0])
            self._uniform_k = k0 if bool(np.all(c == k0)) else None
        return self._uniform_k

    def coarse_data(self, fine: GridLevelData) -> GridLevelData:
        """Re-discretise on the next coarser grid (cell coefficients averaged)."""
        shape = tuple(coarsen_size(n, self.bc) for n in fine.shape)
        if fine.uniform is not None and fine.cell_value is not None:
            h = 2 * fine.h
            # the same face weights (per-axis ratios kept, e.g. below a non-nested step of a rectangle)
            return GridLevelData(shape, h, self.bc, None, self._scale(h), None, uniform=fine.uniform,
                                 cell_value=fine.cell_value)
        c = fine.cells
        for ax in range(self.dim):
            c = 0.5 * (np.take(c, np.arange(0, c.shape[ax], 2), axis=ax) + np.take(c, np.arange(1, c.shape[ax], 2), axis=ax))
        axis = getattr(fine, "axis_factors", None)
        if axis is None:
            return self.level_data(shape, c, 2 * fine.h)
        data = GridLevelData(shape, 2 * fine.h, self.bc, _faces_from_cells(c, shape, self.bc, axis),
                             self._scale(2 * fine.h), c)
        data.axis_factors = axis
        return data

    @property
    def nested(self) -> bool:
        """Whether every level of the solvers' hierarchy is a uniform grid (re-discretisable)."""
        shapes = level_shapes(self.shape, self.bc)
        return all(nested(n, self.bc) for s in shapes[:-1] for n in s)

    def hierarchy_data(self, max_levels: int | None = None, coarse_size: int = 500, shapes: list | None = None) -> list:
        """Level data, level 1 (finest) first, coarsened by the solvers' rule
        (:func:`mgcore.coarsening.level_shapes`, or the given ``shapes``).

        Levels reached through nested (uniform) coarsening are re-discretised
        (:class:`GridLevelData`); below the first non-nested step a level is
        only its grid (:class:`GridShape`): its operator is the Galerkin product.
        """
        if shapes is None:
            shapes = level_shapes(self.shape, self.bc, max_levels, coarse_size)
        out: list = [self.level_data()]
        for prev, shape in zip(shapes[:-1], shapes[1:]):
            last = out[-1]
            if isinstance(last, GridLevelData) and all(
                c == coarsen_size(n, self.bc) and nested(n, self.bc) for n, c in zip(prev, shape)
            ):
                out.append(self.coarse_data(last))
            elif isinstance(last, GridLevelData) and self.rediscretizes_nonnested(last, shape):
                out.append(self.uniform_coarse_data(last, shape))
            else:
                out.append(GridShape(tuple(shape), self.bc))
        return out

    def rediscretizes_nonnested(self, fine: "GridLevelData", shape: tuple) -> bool:
        """Whether the level ``fine`` can be re-discretised on the uniform, non-nested grid ``shape``.

        Constant-coefficient finite differences on a uniform coarse grid of
        the same domain (:func:`mgcore.coarsening.uniform_coarse_size`): the
        stencil is the same, only the mesh widths change.  Variable
        coefficients are not re-discretised across non-nested grids (a jump
        that falls inside a coarse cell is smeared and the coarse-grid
        correction degrades: factor 0.76 against 0.40 with Galerkin levels on
        ``variable2d`` 40 x 40, measured); they keep Galerkin levels."""
        if not (self.discretization == "fd" and isinstance(fine, GridLevelData) and len(shape) == len(fine.shape)
                and all(0 < c <= n for n, c in zip(fine.shape, shape))
                and all(c >= (1 if self.bc == "dirichlet" else 2) for c in shape)):
            return False
        if fine.uniform is not None:
            return True
        cells = fine.cells
        return cells is not None and cells.size > 0 and float(np.ptp(cells)) <= 1e-12 * float(np.abs(cells).max())

    def _ratios(self, fine_shape: tuple, shape: tuple) -> list:
        """``h_k / H_k`` per axis between a grid and a coarser uniform grid of the same domain."""
        if self.bc == "dirichlet":
            return [(c + 1) / (n + 1) for n, c in zip(fine_shape, shape)]
        return [(c - 1) / (n - 1) for n, c in zip(fine_shape, shape)]

    def uniform_coarse_data(self, fine: "GridLevelData", shape: tuple) -> "GridLevelData":
        """Re-discretise a level on a uniform grid of ``shape`` over the same domain (non-nested).

        Axis ``k`` of ``n_k`` unknowns and mesh width ``h_k`` becomes ``c_k``
        unknowns of width ``H_k`` (``h_k (n_k + 1)/(c_k + 1)`` Dirichlet,
        ``h_k (n_k - 1)/(c_k - 1)`` Neumann): the face weight ``a_k / h_k^2``
        of the 5-/7-point stencil becomes ``a_k / H_k^2``; the constant cell
        coefficient is kept."""
        if not self.rediscretizes_nonnested(fine, shape):
            raise ValueError(f"level {fine.shape} cannot be re-discretised on {tuple(shape)} (finite differences, "
                             "a coarser grid in every axis)")
        ratio = self._ratios(fine.shape, shape)
        scale = fine.scale * ratio[0] ** 2
        h = fine.h / ratio[0]
        if fine.uniform is not None and fine.cell_value is not None:
            eff = [fine.scale * w * r * r for w, r in zip(fine.uniform, ratio)]
            return GridLevelData(tuple(shape), h, self.bc, None, scale, None,
                                 uniform=tuple(e / scale for e in eff), cell_value=fine.cell_value)
        cshape = tuple(c + 1 if self.bc == "dirichlet" else c - 1 for c in shape)
        cells = np.full(cshape, float(fine.cells.flat[0]))  # constant (rediscretizes_nonnested)
        axis = getattr(fine, "axis_factors", None) or tuple(self.aniso)
        axis = tuple(a * (r / ratio[0]) ** 2 for a, r in zip(axis, ratio))
        data = GridLevelData(tuple(shape), h, self.bc, _faces_from_cells(cells, tuple(shape), self.bc, axis), scale,
                             cells)
        data.axis_factors = axis
        return data

    def levels(self, max_levels: int | None = None, min_size: int = 3) -> list[GridLevelData]:
        """Level data from fine to coarse until a grid cannot be coarsened or
        has at most ``min_size`` unknowns per dimension."""
        out = [self.level_data()]
        while (max_levels is None or len(out) < max_levels) and all(
            can_coarsen(n, self.bc) and coarsen_size(n, self.bc) >= (1 if self.bc == "dirichlet" else 3) for n in out[-1].shape
        ) and min(out[-1].shape) > min_size:
            out.append(self.coarse_data(out[-1]))
        return out

    def grid(self, shape: tuple | None = None) -> list[np.ndarray]:
        """Node coordinates of the unknowns, one 1-D array per dimension."""
        shape = self.shape if shape is None else shape
        out = []
        for n in shape:
            if self.bc == "dirichlet":
                out.append(np.arange(1, n + 1) / (n + 1))
            else:
                out.append(np.arange(n) / (n - 1))
        return out

    def rhs(self, f: Callable | float = 1.0) -> np.ndarray:
        """Right-hand side vector for a source ``f`` (callable of coordinates or constant).

        FEM problems get the lumped-mass scaling ``h^2 f``.  For Neumann
        problems the mean is removed so that the system is consistent.
        """
        X = np.meshgrid(*self.grid(), indexing="ij")
        vals = f(*X) if callable(f) else np.full(self.shape, float(f))
        vals = np.asarray(vals, dtype=np.float64) * np.ones(self.shape)
        if self.discretization == "fem":
            vals = vals * self.h ** self.dim
        if self.bc == "neumann":
            mean = float(vals.mean())
            norm = float(np.linalg.norm(vals))
            if norm > 0 and abs(mean) * math.sqrt(vals.size) > 1e-10 * norm:
                import warnings

                from ..solve import IncompatibleRHSWarning

                rest = float(np.linalg.norm(vals - mean))
                warnings.warn(
                    f"the pure Neumann problem needs a source with zero mean; f has mean {mean:.6g}, which was "
                    f"removed ({abs(mean) * math.sqrt(vals.size) / norm:.3g} of its norm)"
                    + ("; nothing is left: b = 0 and the solution is u = 0" if rest <= 1e-12 * norm else ""),
                    IncompatibleRHSWarning,
                    stacklevel=2,
                )
            vals = vals - vals.mean()
        return vals.ravel()
