"""``CMixed``: the mixed-precision refinement step of 2D and 3D constant-coefficient problems on the C kernels.

``precision="mixed"`` of :class:`mgcore.sparse.MultigridSolver` iterates
``x <- x + C_32(b - A_64 x)`` (:mod:`mgcore.sparse.structured.mixed`).  On a
constant-coefficient 2D or 3D Dirichlet problem on nested grids with red-black
Gauss-Seidel V-cycles and one thread, :class:`CMixed` runs each step in the C
kernels of ``mgkernels.c`` (``mgk_mixed_step2`` / ``mgk_mixed_step3``): the
float32 levels are stored colour-split (every row along the last axis as its
even points, then its odd points and one zero pad), so each red-black
half-sweep is one unit-stride vector loop, and the
finest level's part of a step is a single pass (over rows, in 3D over planes) that interpolates the coarse
correction, post-smooths, updates ``x`` and computes the next residual in
float64, and already pre-smooths and restricts the next correction.  A step
reads ``x`` and ``b`` once.

The iterates are those of the numba kernels up to float32 rounding (the same
operations, in another order); the residual norms that decide convergence
are computed in float64.

Examples
--------
>>> import numpy as np
>>> from mgcore.sparse import MultigridSolver, poisson2d
>>> s = MultigridSolver(poisson2d(n=255), precision="mixed")
>>> r = s.solve(np.ones(255 * 255), rtol=1e-10)
>>> bool(r.converged), r.x.dtype.name
(True, 'float64')
"""

from __future__ import annotations

import ctypes
import math
from typing import Any

import numpy as np

__all__ = ["CMixed", "c_mixed", "to_split", "from_split"]


def to_split(a: np.ndarray, dtype: Any = np.float32) -> np.ndarray:
    """An array ``(..., n)`` (``n`` odd) in the colour-split row layout ``(..., n + 1)``."""
    n = a.shape[-1]
    ne = (n + 1) // 2
    out = np.zeros(a.shape[:-1] + (n + 1,), dtype=dtype)
    out[..., :ne] = a[..., 0::2]
    out[..., ne:2 * ne - 1] = a[..., 1::2]
    return out


def from_split(s: np.ndarray) -> np.ndarray:
    """The natural layout ``(..., n)`` of a colour-split array ``(..., n + 1)``."""
    w = s.shape[-1]
    n, ne = w - 1, w // 2
    out = np.empty(s.shape[:-1] + (n,), dtype=s.dtype)
    out[..., 0::2] = s[..., :ne]
    out[..., 1::2] = s[..., ne:2 * ne - 1]
    return out


def _split_index(shape: tuple) -> np.ndarray:
    """For every slot of the split layout of ``shape``, the natural (row-major) index, or -1 for a pad."""
    nat = np.arange(math.prod(shape)).reshape(shape)
    idx = np.full(shape[:-1] + (shape[-1] + 1,), -1, dtype=np.int64)
    ne = (shape[-1] + 1) // 2
    idx[..., :ne] = nat[..., 0::2]
    idx[..., ne:2 * ne - 1] = nat[..., 1::2]
    return idx.ravel()


def split_layout_reason(coarsest_shape: tuple) -> str:
    """Why the colour-split levels cannot hold a hierarchy with this coarsest shape, or ``""``
    (every row must hold an odd number of points)."""
    if any(int(n) % 2 == 0 for n in coarsest_shape):
        return "a coarsest level with an even number of points along an axis"
    return ""


def _covered(solver: Any) -> str:
    """Why the C step does not apply to ``solver`` (a MultigridSolver), or ``""``."""
    from ..cycles import CycleKind
    from ..problems.grid import GridLevelData
    from ..registry import RB_ORDERS
    from .solver import DENSE_COARSE_MAX

    if not solver.fast:
        return "not the fast structured path"
    if solver.threads != 1:
        return "threads > 1"
    if len(solver.grid_shape) not in (2, 3) or solver.bc != "dirichlet" or solver.coarse != "rediscretize":
        return "not a 2D or 3D Dirichlet problem with re-discretised levels"
    if solver.coarsening != "full" or solver.interpolation != "bilinear" or solver.restriction != "full-weighting":
        return "not full coarsening with bilinear interpolation and full weighting"
    if solver.cycle_kind is not CycleKind.V:
        return "not a V-cycle"
    if solver.J < 2:
        return "one level"
    datas = solver._datas
    if not all(isinstance(d, GridLevelData) and d.uniform is not None for d in datas):
        return "variable coefficients"
    for d, nxt in zip(datas[:-1], datas[1:]):
        if any(n % 2 == 0 or m != (n - 1) // 2 for n, m in zip(d.shape, nxt.shape)):
            return "grids that do not nest"
    why = split_layout_reason(datas[-1].shape)
    if why:
        return why
    if math.prod(datas[-1].shape) > DENSE_COARSE_MAX:
        return "coarsest level too large for the dense inverse"
    orders = {kw.get("order", "red-black") for _, kw in solver.smoothers}
    if any(name != "red-black" for name, _ in solver.smoothers) or len(orders) != 1 or not orders <= set(RB_ORDERS):
        return "not red-black Gauss-Seidel on every level"
    return ""


def c_mixed(solver: Any) -> tuple["CMixed | None", str]:
    """The C step for ``solver`` (``precision="mixed"``), or ``(None, reason)``."""
    why = _covered(solver)
    if why:
        return None, why
    from . import load, status

    lib = load()
    if lib is None:
        return None, status()["reason"]
    order = {kw.get("order", "red-black") for _, kw in solver.smoothers}.pop()
    # the coarsest inverse of the solver's own float32 levels
    Minv = getattr(getattr(solver.hierarchy.levels[-1], "coarse_solver", None), "_Minv", None)
    return CMixed(solver._datas, solver.nu_pre, solver.nu_post, order, lib, Minv=Minv), ""


class CMixed:
    """Buffers and calls of the C mixed-precision step (see the module docstring).

    Parameters
    ----------
    datas : list of mgcore.problems.grid.GridLevelData
        The levels, finest first (uniform weights, 2D or 3D, Dirichlet, nested, at least two).
    nu_pre, nu_post : int
        Red-black sweeps before and after the coarse-grid correction.
    order : {"red-black", "symmetric"}
        Colour order of the sweeps (``"symmetric"``: post-smoothing black first).
    lib : ctypes.CDLL
        The loaded kernel library (:func:`mgcore._ckernels.load`).
    Minv : ndarray, optional
        The inverse of the coarsest operator (natural numbering); computed when not given.
    """

    def __init__(self, datas: list, nu_pre: int, nu_post: int, order: str, lib: Any, Minv: Any = None):
        self._args = (datas, nu_pre, nu_post, order)
        self.lib = lib
        self.J = len(datas)
        self.shapes = [tuple(int(n) for n in d.shape) for d in datas]
        self.dim = len(self.shapes[0])
        if self.dim == 2:
            self._res, self._pre, self._step = lib.mgk_mixed_residual2, lib.mgk_mixed_pre2, lib.mgk_mixed_step2
        else:
            self._res, self._pre, self._step = lib.mgk_mixed_residual3, lib.mgk_mixed_pre3, lib.mgk_mixed_step3
        cst = []
        for d in datas:
            dsum = 2.0 * sum(d.uniform) * d.scale
            cst += [c * d.scale for c in d.uniform] + [dsum, 1.0 / dsum]
        self.c64 = np.array(cst[:self.dim + 1], dtype=np.float64)
        self.cst = np.array(cst, dtype=np.float32)
        self.shape_arr = np.array([n for s in self.shapes for n in s], dtype=np.intc)
        # every entry (pads included) is written before it is read: e by the pre-smoothing from zero and the
        # coarsest solve, f by the residual and the restrictions
        self.e = [np.empty(s[:-1] + (s[-1] + 1,), dtype=np.float32) for s in self.shapes]
        self.f = [np.empty(s[:-1] + (s[-1] + 1,), dtype=np.float32) for s in self.shapes]
        idx = _split_index(self.shapes[-1])
        nc = math.prod(self.shapes[-1])
        if Minv is None or Minv.shape != (nc, nc):
            Minv = datas[-1].dirichlet_inverse()
        Ms = np.zeros((idx.size, idx.size), dtype=np.float32)
        ok = idx >= 0
        Ms[np.ix_(ok, ok)] = Minv[np.ix_(idx[ok], idx[ok])]
        self.Minv = Ms
        n = self.shapes[0][-1]
        W = n + 1
        P = W * (self.shapes[0][1] if self.dim == 3 else 1)
        rings = 2 * int(nu_pre) + 2 * int(nu_post) + 5  # the old and the new residual, in rows / planes
        self.work = np.zeros((4 + rings) * P + 6 * W + 16, dtype=np.float32)
        self.tmp = np.zeros(n, dtype=np.float64)
        self.zero = np.zeros(W, dtype=np.float32)
        self.zero64 = np.zeros(n, dtype=np.float64)
        self.eptr = (ctypes.c_void_p * self.J)(*[a.ctypes.data for a in self.e])
        self.fptr = (ctypes.c_void_p * self.J)(*[a.ctypes.data for a in self.f])
        self.nu_pre, self.nu_post = int(nu_pre), int(nu_post)
        self.post_c1 = 0 if order == "red-black" else 1

    def __reduce__(self):  # ctypes pointers do not pickle: rebuilt (buffers and all) on the loaded library
        return (_rebuild, self._args)

    @staticmethod
    def _check(a: np.ndarray, shape: tuple, name: str) -> None:
        if a.dtype != np.float64 or not a.flags.c_contiguous or a.size != math.prod(shape):
            raise ValueError(f"{name} must be a C-contiguous float64 array of {math.prod(shape)} entries")

    def residual(self, b: np.ndarray, x: np.ndarray | None) -> float:
        """``r = b - A x`` (``x=None``: ``r = b``) into the finest right-hand side; returns ``||r||^2``."""
        shape = self.shapes[0]
        self._check(b, shape, "b")
        if x is not None:
            self._check(x, shape, "x")
        return float(self._res(
            None if x is None else x.ctypes.data, b.ctypes.data, *shape, self.c64.ctypes.data,
            self.f[0].ctypes.data, self.tmp.ctypes.data, self.zero64.ctypes.data))

    def pre(self) -> None:
        """Pre-smooth the finest correction from zero and restrict its residual (first step of a solve)."""
        self._pre(self.shape_arr.ctypes.data, self.cst.ctypes.data, self.eptr, self.fptr, self.nu_pre,
                                self.work.ctypes.data, self.zero.ctypes.data)

    def step(self, b: np.ndarray, x: np.ndarray) -> float:
        """One refinement step on ``x`` in place (after :meth:`residual` and :meth:`pre`, or a previous step);
        returns ``||b - A x||^2`` of the new ``x``, and leaves the next step's pre-smoothing done."""
        shape = self.shapes[0]
        self._check(b, shape, "b")
        self._check(x, shape, "x")
        return float(self._step(
            self.J, self.shape_arr.ctypes.data, self.c64.ctypes.data, self.cst.ctypes.data, x.ctypes.data,
            b.ctypes.data, self.eptr, self.fptr, self.Minv.ctypes.data, self.nu_pre, self.nu_post, self.post_c1, 1,
            self.work.ctypes.data, self.tmp.ctypes.data, self.zero.ctypes.data, self.zero64.ctypes.data))

    @property
    def nbytes(self) -> int:
        """Bytes of the float32 level arrays, the coarsest inverse and the scratch."""
        return sum(a.nbytes for a in (*self.e, *self.f, self.Minv, self.work, self.tmp, self.zero, self.zero64))


def _rebuild(datas: list, nu_pre: int, nu_post: int, order: str) -> CMixed:
    """A :class:`CMixed` on the loaded kernel library (unpickling)."""
    from . import load, status

    lib = load()
    if lib is None:
        raise RuntimeError(f"the C kernels do not load here: {status()['reason']}")
    return CMixed(datas, nu_pre, nu_post, order, lib)
