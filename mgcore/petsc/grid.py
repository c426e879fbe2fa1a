"""Structured levels on a PETSc DMDA: layout, operators and transfers.

One :class:`GridLayout` per level distributes the level's grid over the MPI
ranks as a ``DMDA`` (box decomposition).  The DMDA's first dimension is the
*last* axis of the mgcore arrays, so that PETSc's natural ordering (x
fastest) is mgcore's C-order flattening and, on one rank, PETSc's global
ordering is mgcore's: the lexicographic Gauss-Seidel sweeps of PETSc's SOR
then visit the unknowns in the same order as the sparse backend.

Coarse layouts are aligned with the fine one: a rank owns the coarse nodes
that lie on its fine box, so the transfers are local up to one layer of
neighbours; on coarse levels with fewer nodes than ranks along an axis some
ranks own nothing there (PETSc allows empty boxes with stencil width 0).

Operators are assembled row by row from the face coefficients of
:class:`mgcore.problems.GridLevelData` with the same arithmetic as
:meth:`GridLevelData.matrix` (same values to the last bit), restricted to
the rows a rank owns; uniform Dirichlet levels need no global arrays at
all, so the assembly is as distributed as the grid.  The prolongation is
the (bi/tri)linear interpolation of :func:`mgcore.sparse.transfers.prolongation`
(He & Xu, MgNet, 2019, eq. 4.7-4.9), assembled the same way.

Everything here runs on every rank (collective); the functions take the
``PETSc`` module from :func:`mgcore.petsc.import_petsc`.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from ..coarsening import coarsen_size

__all__ = [
    "GridLayout",
    "aligned_coarse_widths",
    "assemble_operator",
    "bilinear_prolongation",
    "matrix_from_scipy",
    "ContiguousLayout",
]


def _ceil_half(v: np.ndarray) -> np.ndarray:
    return -((-v) // 2)


class GridLayout:
    """A structured level distributed over the ranks of ``comm`` (a DMDA).

    Parameters
    ----------
    PETSc : module
        ``petsc4py.PETSc``.
    shape : tuple of int
        Unknowns per dimension (mgcore axis order: axis 0 first).
    comm : PETSc.Comm, optional
        Default ``PETSc.COMM_WORLD``.
    widths : sequence of sequences of int, optional
        Per mgcore axis, the number of nodes each process row owns along it
        (a rank grid of ``len(widths[a])`` processes along axis ``a``).
        Default: PETSc's decomposition.

    Attributes
    ----------
    da : PETSc.DMDA
    shape, dim : tuple, int
    widths : list of ndarray
        Per axis, the nodes of each process row.
    start, stop : tuple of int
        The box this rank owns (half-open, global node indices per axis).
    local_shape : tuple of int
    nlocal, size : int
        Unknowns on this rank / in total.
    """

    def __init__(self, PETSc: Any, shape: Sequence[int], comm: Any = None, widths: Sequence | None = None):
        self.PETSc = PETSc
        self.comm = PETSc.COMM_WORLD if comm is None else comm
        self.shape = tuple(int(s) for s in shape)
        self.dim = len(self.shape)
        kwargs: dict = {}
        sw = 1
        if widths is not None:
            widths = [np.asarray(w, dtype=np.int64) for w in widths]
            if len(widths) != self.dim or any(int(w.sum()) != n for w, n in zip(widths, self.shape)):
                raise ValueError(f"widths must give, per axis, node counts that add up to {self.shape}")
            kwargs["proc_sizes"] = tuple(len(w) for w in reversed(widths))
            kwargs["ownership_ranges"] = tuple(tuple(int(v) for v in w) for w in reversed(widths))
            if any(int(w.min()) == 0 for w in widths):
                sw = 0  # empty boxes are allowed only without ghost layers
        self.da = PETSc.DMDA().create(
            dim=self.dim, dof=1, sizes=tuple(reversed(self.shape)), stencil_width=sw, comm=self.comm, **kwargs
        )
        own = self.da.getOwnershipRanges()
        if self.dim == 1 and not isinstance(own[0], (np.ndarray, list, tuple)):
            own = (own,)
        self.widths = [np.asarray(w, dtype=np.int64) for w in reversed(own)]
        self.proc_shape = tuple(len(w) for w in self.widths)
        self.bounds = [np.concatenate([[0], np.cumsum(w)]) for w in self.widths]
        rank = self.comm.getRank()
        coords = np.unravel_index(rank, self.proc_shape)
        self.coords = tuple(int(c) for c in coords)
        self.start = tuple(int(self.bounds[a][c]) for a, c in enumerate(self.coords))
        self.stop = tuple(int(self.bounds[a][c + 1]) for a, c in enumerate(self.coords))
        self.local_shape = tuple(e - s for s, e in zip(self.start, self.stop))
        self.nlocal = int(math.prod(self.local_shape))
        self.size = int(math.prod(self.shape))
        # first global (PETSc) index of every rank's box, ranks in C order of the process grid
        boxes = np.ones(self.proc_shape, dtype=np.int64)
        for a, w in enumerate(self.widths):
            sh = [1] * self.dim
            sh[a] = len(w)
            boxes = boxes * w.reshape(sh)
        self.offsets = np.concatenate([[0], np.cumsum(boxes.ravel())])
        self.rstart = int(self.offsets[rank])

    # ------------------------------------------------------------ indexing
    @property
    def box(self) -> tuple:
        """Slices of the owned box in a global array of ``shape``."""
        return tuple(slice(s, e) for s, e in zip(self.start, self.stop))

    def local_axes(self) -> list[np.ndarray]:
        """Per axis, the global node indices of the owned box (1-D arrays)."""
        return [np.arange(s, e, dtype=np.int64) for s, e in zip(self.start, self.stop)]

    def global_index(self, idx: Sequence[np.ndarray]) -> np.ndarray:
        """PETSc global indices of nodes given by their per-axis indices.

        ``idx[a]`` are node indices along axis ``a`` (in range); the arrays
        broadcast against each other (pass open-grid arrays such as
        ``np.ix_`` output to index a whole box cheaply).
        """
        coord, loc, width = [], [], []
        for a, i in enumerate(idx):
            i = np.asarray(i, dtype=np.int64)
            c = np.searchsorted(self.bounds[a], i, side="right") - 1
            coord.append(c)
            loc.append(i - self.bounds[a][c])
            width.append(self.widths[a][c])
        rank = coord[0]
        within = loc[0]
        for a in range(1, self.dim):
            rank = rank * self.proc_shape[a] + coord[a]
            within = within * width[a] + loc[a]
        return self.offsets[rank] + within

    def natural_index(self, idx: Sequence[np.ndarray]) -> np.ndarray:
        """mgcore flat (C-order) indices of nodes given per axis (broadcasting)."""
        out = np.asarray(idx[0], dtype=np.int64)
        for a in range(1, self.dim):
            out = out * self.shape[a] + np.asarray(idx[a], dtype=np.int64)
        return out

    def open_box(self) -> list[np.ndarray]:
        """The owned box's per-axis indices as open-grid (broadcastable) arrays."""
        axes = self.local_axes()
        out = []
        for a, ax in enumerate(axes):
            sh = [1] * self.dim
            sh[a] = ax.size
            out.append(ax.reshape(sh))
        return out

    # ------------------------------------------------------------- vectors
    def create_vec(self):
        """A global vector of this level (zero)."""
        v = self.da.createGlobalVec()
        v.set(0.0)
        return v

    def vec_from_array(self, arr: np.ndarray, out: Any = None):
        """Global vector from a *global* array of ``shape`` (or flat); each rank copies its box."""
        v = self.create_vec() if out is None else out
        a = np.asarray(arr, dtype=np.float64).reshape(self.shape)
        v.getArray()[:] = a[self.box].ravel()
        return v

    def local_array(self, v) -> np.ndarray:
        """This rank's part of ``v`` as an array of ``local_shape`` (a view)."""
        return v.getArray().reshape(self.local_shape)

    def gather(self, v, root_only: bool = False) -> np.ndarray | None:
        """The whole vector as a flat array in mgcore order, on every rank
        (``root_only``: on rank 0, ``None`` elsewhere)."""
        PETSc = self.PETSc
        if self.comm.getSize() == 1:
            return v.getArray().copy()
        nat = self.da.createNaturalVec()
        self.da.globalToNatural(v, nat)
        if root_only:
            sc, seq = PETSc.Scatter.toZero(nat)
        else:
            sc, seq = PETSc.Scatter.toAll(nat)
        sc.scatter(nat, seq, addv=PETSc.InsertMode.INSERT_VALUES, mode=PETSc.ScatterMode.FORWARD)
        out = seq.getArray().copy() if (not root_only or self.comm.getRank() == 0) else None
        for obj in (sc, seq, nat):
            obj.destroy()
        return out


class ContiguousLayout:
    """Rows ``0..n-1`` split into contiguous blocks (PETSc's default), for
    levels without a grid (:func:`mgcore.petsc.to_petsc` of an algebraic hierarchy)."""

    def __init__(self, PETSc: Any, n: int, comm: Any = None):
        self.PETSc = PETSc
        self.comm = PETSc.COMM_WORLD if comm is None else comm
        self.size = int(n)
        v = PETSc.Vec().createMPI(self.size, comm=self.comm)
        self.rstart, rend = v.getOwnershipRange()
        v.destroy()
        self.nlocal = rend - self.rstart
        self.shape = ()

    def local_rows(self) -> np.ndarray:
        return np.arange(self.rstart, self.rstart + self.nlocal, dtype=np.int64)

    def create_vec(self):
        v = self.PETSc.Vec().createMPI((self.nlocal, self.size), comm=self.comm)
        v.set(0.0)
        return v

    def vec_from_array(self, arr: np.ndarray, out: Any = None):
        v = self.create_vec() if out is None else out
        v.getArray()[:] = np.asarray(arr, dtype=np.float64).reshape(-1)[self.rstart:self.rstart + self.nlocal]
        return v

    def gather(self, v, root_only: bool = False) -> np.ndarray | None:
        PETSc = self.PETSc
        sc, seq = PETSc.Scatter.toZero(v) if root_only else PETSc.Scatter.toAll(v)
        sc.scatter(v, seq, addv=PETSc.InsertMode.INSERT_VALUES, mode=PETSc.ScatterMode.FORWARD)
        out = seq.getArray().copy() if (not root_only or self.comm.getRank() == 0) else None
        sc.destroy()
        seq.destroy()
        return out


def aligned_coarse_widths(fine: GridLayout, coarse_shape: Sequence[int], bc: str) -> list[np.ndarray]:
    """Per axis, coarse node counts per process row such that each rank owns
    the coarse nodes lying on its fine box (coarse node ``c`` sits on fine node
    ``2 c + 1`` for Dirichlet grids, ``2 c`` for Neumann grids)."""
    off = 1 if bc == "dirichlet" else 0
    out = []
    for a, nc in enumerate(coarse_shape):
        b = np.clip(_ceil_half(fine.bounds[a] - off), 0, int(nc))
        out.append(np.diff(b))
    return out


def _create_aij(PETSc, rows: Any, cols: Any, indptr, indices, data, comm):
    """An MPIAIJ/SeqAIJ matrix from this rank's rows in CSR form (global column indices)."""
    it = PETSc.IntType
    A = PETSc.Mat().createAIJ(
        size=((rows.nlocal, rows.size), (cols.nlocal, cols.size)),
        csr=(np.ascontiguousarray(indptr, dtype=it), np.ascontiguousarray(indices, dtype=it),
             np.ascontiguousarray(data, dtype=PETSc.ScalarType)),
        comm=comm,
    )
    A.assemble()
    return A


class _Slots:
    """Rows with at most ``K`` entries each, filled slot by slot, packed to CSR."""

    def __init__(self, PETSc: Any, nrows: int, K: int):
        self.C = np.zeros((nrows, K), dtype=PETSc.IntType)
        self.V = np.zeros((nrows, K), dtype=PETSc.ScalarType)
        self.M = np.zeros((nrows, K), dtype=bool)
        self.k = 0
        self.shape = None

    def add(self, cols: np.ndarray, vals: Any, mask: Any, full: tuple) -> None:
        k = self.k
        self.C[:, k] = np.broadcast_to(cols, full).reshape(-1)
        self.V[:, k] = np.broadcast_to(vals, full).reshape(-1)
        self.M[:, k] = np.broadcast_to(mask, full).reshape(-1)
        self.k += 1

    def csr(self):
        counts = self.M.sum(axis=1)
        indptr = np.concatenate([[0], np.cumsum(counts)])
        return indptr, self.C[self.M], self.V[self.M]


def assemble_operator(PETSc: Any, layout: GridLayout, data: Any):
    """The level operator of ``data`` (a :class:`~mgcore.problems.GridLevelData`)
    as a distributed AIJ matrix, rows of ``layout`` (values as in ``data.matrix()``)."""
    dim, shape = layout.dim, layout.shape
    if tuple(data.shape) != shape:
        raise ValueError(f"level data of shape {tuple(data.shape)} on a layout of shape {shape}")
    box = layout.open_box()
    full = layout.local_shape
    scale = data.scale
    slots = _Slots(PETSc, layout.nlocal, 2 * dim + 1)
    rows = layout.global_index(box)
    if data.uniform is not None:
        slots.add(rows, scale * 2.0 * sum(data.uniform), True, full)
        lo_hi = [(-scale * w, -scale * w) for w in data.uniform]
    else:
        d = np.zeros(full)
        lo_hi = []
        for ax, w in enumerate(data.faces):
            sl_lo = layout.box
            sl_hi = tuple(slice(s + 1, e + 1) if a == ax else slice(s, e)
                          for a, (s, e) in enumerate(zip(layout.start, layout.stop)))
            lo, hi = w[sl_lo], w[sl_hi]
            d += lo + hi
            lo_hi.append((-scale * lo, -scale * hi))
        slots.add(rows, scale * d, True, full)
    for ax in range(dim):
        i = box[ax]
        for shift, v in ((-1, lo_hi[ax][0]), (1, lo_hi[ax][1])):
            j = i + shift
            ok = (j >= 0) & (j < shape[ax])
            nb = list(box)
            nb[ax] = np.clip(j, 0, shape[ax] - 1)
            slots.add(layout.global_index(nb), v, ok, full)
    return _create_aij(PETSc, layout, layout, *slots.csr(), layout.comm)


def _interp_1d(i: np.ndarray, nc: int, off: int) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Per fine index ``i``: two (coarse index, weight, valid) candidates of 1D linear interpolation."""
    t = i - off
    even = (t % 2) == 0
    c1 = np.where(even, t // 2, (t - 1) // 2)
    w1 = np.where(even, 1.0, 0.5)
    ok1 = (c1 >= 0) & (c1 < nc)
    c2 = c1 + 1
    w2 = np.where(even, 0.0, 0.5)
    ok2 = (~even) & (c2 >= 0) & (c2 < nc)
    return [(np.clip(c1, 0, nc - 1), w1, ok1), (np.clip(c2, 0, nc - 1), w2, ok2)]


def bilinear_prolongation(PETSc: Any, fine: GridLayout, coarse: GridLayout, bc: str):
    """Tensor-product linear interpolation ``P`` (coarse -> fine) as a distributed AIJ
    matrix; the values of :func:`mgcore.sparse.transfers.prolongation` (``"bilinear"``)."""
    off = 1 if bc == "dirichlet" else 0
    for n, nc in zip(fine.shape, coarse.shape):
        if coarsen_size(n, bc) != nc:
            raise ValueError(f"coarse shape {coarse.shape} is not the coarsening of {fine.shape} ({bc})")
    box = fine.open_box()
    full = fine.local_shape
    per_axis = [_interp_1d(box[a], coarse.shape[a], off) for a in range(fine.dim)]
    slots = _Slots(PETSc, fine.nlocal, 2 ** fine.dim)
    for choice in np.ndindex(*(2,) * fine.dim):
        idx, w, ok = [], None, None
        for a, k in enumerate(choice):
            c, wa, oka = per_axis[a][k]
            idx.append(c)
            w = wa if w is None else w * wa
            ok = oka if ok is None else ok & oka
        slots.add(coarse.global_index(idx), w, ok, full)
    return _create_aij(PETSc, fine, coarse, *slots.csr(), fine.comm)


def _petsc_of_natural(layout: Any, natural: np.ndarray) -> np.ndarray:
    if isinstance(layout, ContiguousLayout):
        return np.asarray(natural, dtype=np.int64)
    idx = np.unravel_index(np.asarray(natural, dtype=np.int64), layout.shape)
    return layout.global_index(idx)


def _local_natural_rows(layout: Any) -> np.ndarray:
    if isinstance(layout, ContiguousLayout):
        return layout.local_rows()
    return layout.natural_index(layout.open_box()).reshape(-1)


def matrix_from_scipy(PETSc: Any, M: Any, rows: Any, cols: Any):
    """A distributed AIJ matrix from a global scipy matrix ``M`` (same on every rank).

    Rows and columns are numbered as mgcore numbers them (C order of the
    grid); ``rows``/``cols`` are the layouts (:class:`GridLayout` or
    :class:`ContiguousLayout`) that say which rows this rank owns and where
    every column lives.
    """
    import scipy.sparse as sp

    M = sp.csr_matrix(M, dtype=np.float64)
    if M.shape != (rows.size, cols.size):
        raise ValueError(f"matrix of shape {M.shape} on layouts of sizes ({rows.size}, {cols.size})")
    mine = M[_local_natural_rows(rows)]
    mine.sort_indices()
    indices = _petsc_of_natural(cols, mine.indices)
    return _create_aij(PETSc, rows, cols, mine.indptr, indices, mine.data, rows.comm)

