"""Line (zebra) Gauss-Seidel on structured grids: the anisotropy-robust smoother.

For ``-(eps u_xx + u_yy)`` with small ``eps`` a point smoother leaves error
that is smooth along the strong direction but oscillatory across it; a
coarse grid cannot represent it and the V-cycle factor tends to 1.  Solving
for whole lines along the strong direction at once removes it (Trottenberg,
Oosterlee & Schüller, *Multigrid*, 2001, Sec. 5.1-5.2): zebra line
Gauss-Seidel, with the axis chosen from the stencil's coefficients, or
alternating over all axes where different regions are strong in different
directions.  The kernels are in :mod:`mgcore.sparse._line_kernels`; the
same kernels drive the assembled-matrix smoother of
:mod:`mgcore.sparse.smoothers`, so both paths have the same iterates up to
the summation order of the residual.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...problems.grid import GridLevelData

__all__ = ["LineSweeps", "resolve_line_axes", "ANISOTROPY_THRESHOLD"]

#: Ratio of the strongest to the weakest coupling (per node, by direction)
#: above which solvers choose line smoothing by default.
ANISOTROPY_THRESHOLD = 4.0


def _lk():
    from .. import _line_kernels as LK

    return LK


def direction_strengths(data: GridLevelData) -> np.ndarray:
    """Per node and direction the coupling ``w_lo + w_hi``, shape ``(dim, *shape)``."""
    if data.uniform is not None:
        return np.array([np.full(data.shape, 2.0 * w) for w in data.uniform])
    out = []
    for ax, w in enumerate(data.faces):
        n = data.shape[ax]
        out.append(np.take(w, np.arange(n), axis=ax) + np.take(w, np.arange(1, n + 1), axis=ax))
    return np.array(out)


def _strengths(data: Any) -> np.ndarray:
    """Direction strengths of a level or a given strengths array; one node for constant coefficients."""
    if isinstance(data, GridLevelData) and data.uniform is not None:
        return np.array([[2.0 * float(w)] for w in data.uniform])  # constant coefficients: no per-node arrays
    return direction_strengths(data) if isinstance(data, GridLevelData) else np.asarray(data)


def anisotropy(data: Any) -> tuple[float, list]:
    """``(largest per-node ratio strongest/weakest direction, axes that are strongest somewhere strongly)``.

    ``data``: a :class:`GridLevelData` or the strengths array of
    :func:`direction_strengths` / :func:`strengths_from_matrix`.
    """
    s = _strengths(data)
    s = s.reshape(s.shape[0], -1)
    hi, lo = s.max(axis=0), s.min(axis=0)
    ok = lo > 0
    ratio = np.where(ok, hi / np.where(ok, lo, 1.0), np.inf)
    worst = float(ratio.max()) if ratio.size else 1.0
    strong = ratio > ANISOTROPY_THRESHOLD
    axes = [int(a) for a in np.unique(np.argmax(s[:, strong], axis=0))] if strong.any() else []
    return worst, axes


def resolve_line_axes(axis: Any, data: Any) -> tuple[int, ...]:
    """The axes swept by one smoothing step for the ``axis`` option.

    ``"auto"``: the strong direction where one direction dominates the
    anisotropic nodes, else all axes in turn (alternating); ``"alternating"``:
    every axis in turn; an int: that axis.
    """
    s = _strengths(data)
    dim = s.shape[0]
    if axis == "alternating":
        return tuple(range(dim))
    if axis == "auto" or axis is None:
        _, axes = anisotropy(s)
        if len(axes) == 1:
            return (axes[0],)
        if not axes:
            return (int(np.argmax(s.reshape(dim, -1).mean(axis=1))),)
        return tuple(range(dim))
    a = int(axis)
    if not 0 <= a < dim:
        raise ValueError(f"line-gs axis must be 'auto', 'alternating' or an int in [0, {dim - 1}], got {axis!r}")
    return (a,)


def couplings_from_faces(data: GridLevelData, axis: int) -> np.ndarray:
    """``lo[p]``: the coupling ``-a_{p, p-e_axis}`` of every unknown to its predecessor along ``axis``."""
    L = data.shape[axis]
    return np.take(data.faces[axis], np.arange(0, L), axis=axis) * data.scale  # face between i-1 and i


def couplings_from_matrix(A: Any, shape: tuple, axis: int) -> np.ndarray:
    """``lo[p] = -A[p, p - stride_axis]`` (zero where ``p`` starts a line) from a CSR matrix."""
    stride = math.prod(shape[axis + 1:])
    n = math.prod(shape)
    p = np.arange(n)
    idx = np.unravel_index(p, shape)
    has = idx[axis] > 0
    lo = np.zeros(n)
    rows = p[has]
    lo[rows] = -np.asarray(A[rows, rows - stride]).ravel()
    return lo.reshape(shape)


def strengths_from_matrix(A: Any, shape: tuple) -> np.ndarray:
    """Per node and direction ``|a_{p,p-e}| + |a_{p,p+e}|`` of a matrix on the grid, shape ``(dim, *shape)``."""
    out = []
    for ax in range(len(shape)):
        lo = np.abs(couplings_from_matrix(A, shape, ax))
        hi = np.zeros_like(lo)
        sl = [slice(None)] * len(shape)
        sl2 = [slice(None)] * len(shape)
        sl[ax], sl2[ax] = slice(0, -1), slice(1, None)
        hi[tuple(sl)] = lo[tuple(sl2)]
        out.append(lo + hi)
    return np.array(out)


class _AxisSweep:
    """Thomas factors, colours and scratch of the line systems along one axis."""

    def __init__(self, shape: tuple, axis: int, dtype: Any, diag: np.ndarray, couplings: np.ndarray):
        A_ = math.prod(shape[:axis])
        L = shape[axis]
        B = math.prod(shape[axis + 1:])
        self.view = (A_, L, B)
        lo = np.ascontiguousarray(couplings, dtype=np.float64).reshape(self.view).copy()
        lo[:, 0, :] = 0.0
        d = np.ascontiguousarray(diag, dtype=np.float64).reshape(self.view)
        inv = np.zeros(self.view)
        cff = np.zeros(self.view)
        _lk().thomas_factors(d, lo, inv, cff)
        self.lo = lo.astype(dtype, copy=False)
        self.inv = inv.astype(dtype, copy=False)
        self.cff = cff.astype(dtype, copy=False)
        # colour of a line: parity of the index sum over the other axes (small index arrays, not the whole grid)
        before = np.indices(shape[:axis]).sum(axis=0).reshape(A_) if axis > 0 else np.zeros(1, dtype=np.int64)
        after = np.indices(shape[axis + 1:]).sum(axis=0).reshape(B) if axis + 1 < len(shape) else np.zeros(1, dtype=np.int64)
        self.col = np.ascontiguousarray((before[:, None] + after[None, :]) % 2, dtype=np.int8)
        self.y = np.zeros((L, B), dtype=dtype)
        alternating = B == 1 or bool(np.all(self.col[:, 1:] != self.col[:, :-1]))
        self._kernel = "line_correct" if alternating else "line_correct_masked"

    def correct(self, u: np.ndarray, r: np.ndarray, colour: int) -> None:
        getattr(_lk(), self._kernel)(u.reshape(self.view), r.reshape(self.view), self.lo, self.inv, self.cff, self.col, colour, self.y)

    def nbytes(self) -> int:
        return self.lo.nbytes + self.inv.nbytes + self.cff.nbytes + self.col.nbytes + self.y.nbytes


class LineSweeps:
    """Zebra line Gauss-Seidel of one level, independent of how the residual is computed.

    One smoothing step sweeps, for each axis of :func:`resolve_line_axes`,
    the lines of colour 0 then colour 1 (colour = parity of the index sum
    across the line); the post-smoother of ``order="symmetric"`` runs the
    exact reverse (axes reversed, colour 1 first), the adjoint, so that the
    cycle is symmetric for CG.

    Parameters
    ----------
    data : GridLevelData or (CSR matrix, grid shape)
        The level: face coefficients, or an assembled matrix on a grid (the
        line systems are then taken from the matrix).
    axis : "auto", "alternating" or int
    order : {"symmetric", "red-black"}
    dtype : numpy dtype
    """

    def __init__(self, data: Any, axis: Any = "auto", order: str = "symmetric", dtype: Any = np.float64):
        self.dtype = np.dtype(dtype)
        self.order = order
        if isinstance(data, GridLevelData):
            shape = data.shape
            self.axes = resolve_line_axes(axis, data)
            diag = data.diagonal()
            lows = {a: couplings_from_faces(data, a) for a in self.axes}
        else:
            A, shape = data
            shape = tuple(shape)
            self.axes = resolve_line_axes(axis, strengths_from_matrix(A, shape))
            diag = A.diagonal().reshape(shape)
            lows = {a: couplings_from_matrix(A, shape, a) for a in self.axes}
        self.shape = shape
        self.sweeps = {a: _AxisSweep(shape, a, self.dtype, diag, lows[a]) for a in self.axes}
        self._fused = None

    def schedule(self, post: bool) -> list:
        """``[(axis, colour), ...]`` of one step."""
        steps = [(a, c) for a in self.axes for c in (0, 1)]
        if post and self.order == "symmetric":
            steps.reverse()
        return steps

    def step(self, u: np.ndarray, residual, post: bool, f: np.ndarray | None = None) -> None:
        """One step in place on ``u``; ``residual(u) -> r`` (an array of the grid shape).

        With ``f`` given on a grid with face data, each half-sweep solves its
        lines in one pass with the residual fused in (same step, another
        rounding)."""
        fused = f is not None and self._fused is not None
        for a, c in self.schedule(post):
            if fused and a in self._fused:
                self._fused_half_sweep(u, f, a, c)
            else:
                self.sweeps[a].correct(u, residual(u), c)

    def enable_fused(self, data: GridLevelData) -> None:
        """Prepare the one-pass 2D kernels: the scaled face weights across each
        line axis, the factors ``m = lo / d'`` of the division-free forward
        recurrence, and whether the interior lines share factors and couplings
        (constant coefficients: the kernels then read one line's factors)."""
        if data.dim == 3:
            self._enable_fused3(data)
            return
        if data.dim != 2:
            return
        n0, n1 = data.shape
        self._fused = {}
        for a in self.axes:
            sw = self.sweeps[a]
            w = np.ascontiguousarray(data.faces[1 - a] * data.scale, dtype=self.dtype)
            inv = sw.inv.reshape(n0, n1)
            cff = sw.cff.reshape(n0, n1)
            m = np.ascontiguousarray((sw.lo.astype(np.float64) * sw.inv.astype(np.float64)).reshape(n0, n1), dtype=self.dtype)
            if data.shape[1 - a] < 3:  # no interior lines
                const = False
            elif a == 1:  # rows: interior rows 1 .. n0-2 and interior faces 1 .. n0-1 alike
                const = all(bool(np.all(x[1:-1] == x[1])) for x in (inv, m, cff)) and bool(np.all(w[1:n0] == w[1]))
            else:  # columns: interior columns alike, interior faces constant along each row
                const = all(bool(np.all(x[:, 1:-1] == x[:, 1:2])) for x in (inv, m, cff)) and bool(
                    np.all(w[:, 1:n1] == w[:, 1:2]))
            self._fused[a] = (w, inv, m, cff, const)

    def _enable_fused3(self, data: GridLevelData) -> None:
        """3D: per line axis the kernel (:func:`~mgcore.sparse._line_kernels.lines3`,
        ``lines3_mid`` or ``lines3_contig`` for lines along axis 0, 1, 2), the
        face weights across the lines, the factors and whether the interior
        lines share them."""
        self._fused = {}
        shape = data.shape
        for a in self.axes:
            sw = self.sweeps[a]
            inv, cff = (np.ascontiguousarray(x.reshape(shape)) for x in (sw.inv, sw.cff))
            m = np.ascontiguousarray((sw.lo.astype(np.float64) * sw.inv.astype(np.float64)).reshape(shape), dtype=self.dtype)
            cross = [d for d in range(3) if d != a]
            wp, wq = (np.ascontiguousarray(data.faces[d] * data.scale, dtype=self.dtype) for d in cross)
            # interior lines: index 1 .. n-2 along both cross axes; the faces they use: 1 .. n-1 along
            # their own axis, 1 .. n-2 along the other
            inner = [slice(None)] * 3
            rep = [slice(None)] * 3
            for d in cross:
                inner[d], rep[d] = slice(1, -1), slice(1, 2)
            const = all(shape[d] >= 3 for d in cross)
            if const:
                const = all(bool(np.all(x[tuple(inner)] == x[tuple(rep)])) for x in (inv, m, cff))
                for d, w in zip(cross, (wp, wq)):
                    sl = list(inner)
                    sl[d] = slice(1, shape[d])
                    const = const and bool(np.all(w[tuple(sl)] == w[tuple(rep)]))
            kind = ("lines3", "lines3_mid", "lines3_contig")[a]
            self._fused[a] = (kind, wp, wq, inv, m, cff, const, np.zeros(shape[2], dtype=self.dtype))

    def _fused_half_sweep(self, u, f, axis, colour):
        L = _lk()
        if u.ndim == 3:
            kind, wp, wq, inv, m, cff, const, zrow = self._fused[axis]
            getattr(L, kind)(u, f, wp, wq, inv, m, cff, colour, const, zrow)
            return
        w, inv, m, cff, const = self._fused[axis]
        (L.rows2 if axis == 1 else L.cols2)(u, f, w, inv, m, cff, colour, const)

    def nbytes(self) -> int:
        return sum(s.nbytes() for s in self.sweeps.values())

    def __repr__(self) -> str:
        return f"LineSweeps(axes={self.axes}, order={self.order!r})"


class CompiledLineSmoother:
    """Line Gauss-Seidel as the compiled smoother of a :class:`StructuredLevel`.

    Same interface as :class:`.smoother.CompiledSmoother`; the residual of
    each half-sweep comes from the compiled stencil kernel into a level
    buffer.
    """

    name = "line-gs"

    def __init__(self, op, options: dict):
        self.op = op
        self.options = dict(options)
        self.lines = LineSweeps(op.data, "auto" if options.get("axis") is None else options["axis"],
                                options.get("order") or "symmetric", op.dtype)
        self.lines.enable_fused(op.data)
        self._r = np.zeros(op.grid_shape, dtype=op.dtype)

    @property
    def order(self) -> str:
        return self.lines.order

    @order.setter
    def order(self, value: str) -> None:
        self.lines.order = value

    def _residual(self, F: np.ndarray):
        from .._kernels import stencil2, stencil3

        op, r = self.op, self._r
        kern = stencil2 if op.dim == 2 else stencil3

        def res(U):
            kern(U, F, *op.args(), r, 1, op.zero)
            return r

        return res

    def split_ring(self, nu: int):
        return None

    def fusable(self, nu: int) -> bool:
        return False

    def smooth(self, U: np.ndarray, F: np.ndarray, nu: int, post: bool, want_norm: bool = False):
        res = self._residual(F)
        for _ in range(nu):
            self.lines.step(U, res, post, f=F)
        return None

    def nbytes(self) -> int:
        return self.lines.nbytes() + self._r.nbytes
