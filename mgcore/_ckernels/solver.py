"""``CPoissonSolver``: the stationary V-cycle solver of constant-coefficient 2D/3D problems on the C kernels.

The configuration it covers is the default of the structured fast path of
:class:`mgcore.sparse.MultigridSolver`: a constant-coefficient 2D or 3D problem
with Dirichlet boundaries on nested grids (``2^k - 1`` unknowns per axis),
re-discretised coarse levels, red-black Gauss-Seidel V(nu1, nu2)-cycles,
float64, one thread, no Krylov acceleration and no FMG start.  It performs
the same operations as that path (one wavefront pass for pre-smoothing with
the restriction of the residual, one for the correction with
post-smoothing and the residual norm, the dense coarsest inverse), so its
iterates agree with it to round-off, and it imports neither scipy nor numba:
a fresh process (``mgcore solve``) starts in a fraction of a second.

:func:`c_solver` returns a solver or ``None`` with the reason; the drivers,
stopping rules and the :class:`~mgcore.solve.SolveResult` are those of
:class:`mgcore.frontend.MultigridFrontend` (``info["path"] == "fast"``,
``info["kernels"] == "c"``).

Examples
--------
>>> from mgcore.problems import poisson2d
>>> from mgcore._ckernels.solver import c_solver
>>> solver, why = c_solver(poisson2d(63))
>>> if solver is not None:  # None without a C compiler
...     r = solver.solve(poisson2d(63).rhs(1.0), rtol=1e-8)
...     assert r.converged and r.info["kernels"] == "c"
"""

from __future__ import annotations

import ctypes
import math
import time
from typing import Any

import numpy as np

from ..coarsening import level_shapes, nested
from ..cycles import CycleKind
from ..frontend import MultigridFrontend
from ..hierarchy import Hierarchy, Level
from ..problems.grid import GridLevelData, GridProblem
from ..registry import RB_ORDERS

__all__ = ["CPoissonSolver", "c_solver", "DENSE_COARSE_MAX"]

#: largest coarsest level (unknowns) the C solver inverts densely (as the numba path)
DENSE_COARSE_MAX = 2048


def _not_here(*args: Any) -> Any:
    raise NotImplementedError("the C-kernel levels run whole V-cycles only (use mgcore.sparse.MultigridSolver)")


def _coverage(problem: Any, nu: Any, cycle: Any, coarse_size: int) -> tuple[list | None, str]:
    """The level data when the C kernels cover ``problem``, else ``(None, why)``."""
    if not isinstance(problem, GridProblem):
        return None, "not a GridProblem"
    if problem.dim not in (2, 3):
        return None, f"{problem.dim}D (the C kernels are 2D and 3D)"
    if problem.bc != "dirichlet":
        return None, "Neumann boundaries"
    if problem.uniform_cell_value() is None:
        return None, "variable coefficients"
    if CycleKind.parse(cycle) is not CycleKind.V:
        return None, "not a V-cycle"
    shapes = level_shapes(problem.shape, problem.bc, None, coarse_size)
    if not all(nested(n, problem.bc) for s in shapes[:-1] for n in s):
        return None, "grid does not coarsen to nested grids"
    if math.prod(shapes[-1]) > DENSE_COARSE_MAX:
        return None, f"coarsest level {shapes[-1]} is larger than {DENSE_COARSE_MAX} unknowns"
    datas = problem.hierarchy_data(shapes=shapes)
    if not all(isinstance(d, GridLevelData) and d.uniform is not None for d in datas):
        return None, "levels without uniform weights"
    return datas, ""


def c_solver(problem: Any, smoother: Any = None, nu: Any = (2, 2), cycle: Any = "V", coarse: str | None = None,
             dtype: Any = "float64", threads: int = 1, fmg: bool = False, coarse_size: int = 500,
             quiet: bool = False) -> tuple["CPoissonSolver | None", str]:
    """A :class:`CPoissonSolver` for this configuration, or ``(None, reason)`` when the C kernels do not cover it.

    The arguments mean what they mean for :class:`mgcore.sparse.MultigridSolver`;
    ``quiet`` suppresses the note of a first compilation.
    """
    mixed = isinstance(dtype, str) and dtype == "mixed"
    if not mixed and str(np.dtype(dtype)) != "float64":
        return None, f"precision {dtype}"
    if threads != 1:
        return None, "threads > 1"
    if fmg:
        return None, "FMG start"
    if coarse not in (None, "rediscretize"):
        return None, f"coarse={coarse!r}"
    datas, why = _coverage(problem, nu, cycle, coarse_size)
    if datas is None:
        return None, why
    w = datas[0].uniform
    if smoother is None and max(w) != min(w):  # MultigridSolver's default there may be line smoothing
        return None, "anisotropic coefficients (the default smoother may be line Gauss-Seidel)"
    from . import load, status

    t0 = time.perf_counter()
    lib = load(quiet=quiet)
    if lib is None:
        return None, status()["reason"]
    try:
        solver = CPoissonSolver(problem, smoother=smoother, nu=nu, mixed=mixed, _datas=datas, _lib=lib)
    except _NotCovered as exc:
        return None, str(exc)
    solver.setup_seconds += solver._t_start - t0  # loading (or compiling) the library is part of the setup
    return solver, ""


class _NotCovered(ValueError):
    pass


class CPoissonSolver(MultigridFrontend):
    """Stationary red-black V-cycles of a constant-coefficient 2D or 3D Dirichlet problem on the C kernels.

    Build it with :func:`c_solver` (which checks the configuration).  Only
    :meth:`solve` with ``accel=None`` and V-cycles is available.
    """

    backend = "sparse"
    ACCELERATIONS = (None,)
    display_name = "MultigridSolver"

    def __init__(self, problem: GridProblem, smoother: Any = None, nu: Any = (2, 2), mixed: bool = False, *,
                 _datas: list, _lib: Any):
        t0 = self._t_start = time.perf_counter()
        self._init_options(nu, "V")
        self.problem = problem
        self.grid_shape = problem.shape
        self.bc = problem.bc
        self.singular = False
        self.coarse = "rediscretize"
        self.precision, self.dtype, self.threads, self.fast = ("mixed" if mixed else "float64"), np.dtype(np.float64), 1, True
        datas = _datas
        self.J = len(datas)
        spec = "red-black" if smoother is None else smoother
        self.smoothers = self._parse_smoothers(spec, self.J)
        orders = {kw.get("order") for _, kw in self.smoothers}
        if any(name != "red-black" for name, _ in self.smoothers) or len(orders) != 1 or not orders <= set(RB_ORDERS):
            raise _NotCovered(f"smoother {smoother!r} (the C kernels run red-black Gauss-Seidel)")
        if self.nu_pre < 0 or self.nu_post < 0:
            raise _NotCovered("negative smoothing steps")
        self.post_red_first = orders == {"red-black"}
        self._lib = _lib
        shapes = [tuple(int(n) for n in d.shape) for d in datas]
        cst = []
        for d in datas:
            cs = [c * d.scale for c in d.uniform]
            dsum = 2.0 * sum(d.uniform) * d.scale
            cst += cs + [dsum, 1.0 / dsum]
        self._shape_arr = np.array([n for s in shapes for n in s], dtype=np.intc)
        self._cst = np.array(cst, dtype=np.float64)
        self.dim = len(shapes[0])
        self._cm = None
        if mixed:
            from .mixed import CMixed, split_layout_reason

            if self.J < 2:
                raise _NotCovered("one level")
            why = split_layout_reason(shapes[-1])
            if why:
                raise _NotCovered(f"mixed precision with {why}")
            self._cm = CMixed(datas, self.nu_pre, self.nu_post, orders.pop(), _lib)
            self._mstate = self._mpre = None  # (x, b) keys: residual in the C buffers / next pre-smoothing done
            self._u = self._f = []
            self._work, self._zero = np.zeros(self.grid_shape[1]), np.zeros(self.grid_shape[1])
            self._resnorm = _lib.mgk_resnorm2
            self._finish_setup(shapes, t0)
            return
        self._u = [None] + [np.zeros(s) for s in shapes[1:]]
        self._f = [None] + [np.zeros(s) for s in shapes[1:]]
        self.dim = len(shapes[0])
        if self.dim == 2:
            n1 = shapes[0][1]
            self._work, self._zero = np.zeros(5 * n1 + 2), np.zeros(n1)
            self._cycle, self._resnorm = _lib.mgk_vcycle2, _lib.mgk_resnorm2
        else:
            n1, n2 = shapes[0][1:]
            self._work = np.zeros(3 * n1 * n2 + ((n1 - 1) // 2) * ((n2 - 1) // 2) + n2 + 2)
            self._zero = np.zeros(n1 * n2)
            self._cycle, self._resnorm = _lib.mgk_vcycle3, _lib.mgk_resnorm3
        self._Minv = np.ascontiguousarray(datas[-1].dirichlet_inverse())
        self._uptr = (ctypes.c_void_p * self.J)(*([0] + [a.ctypes.data for a in self._u[1:]]))
        self._fptr = (ctypes.c_void_p * self.J)(*([0] + [a.ctypes.data for a in self._f[1:]]))
        self._finish_setup(shapes, t0)

    def _finish_setup(self, shapes: list, t0: float) -> None:
        self.hierarchy = Hierarchy([
            Level(A=_not_here, R=None if l == self.J - 1 else _not_here, shape=s,
                  meta={"structured": True, "kernels": "c", "n": math.prod(s)})
            for l, s in enumerate(shapes)
        ])
        self.fast_reason = ""
        self.setup_seconds = time.perf_counter() - t0

    # ------------------------------------------------------------------ cycles
    def vcycle(self, b: np.ndarray, x: np.ndarray) -> float:
        """One V-cycle in place on ``x`` (float64, C-contiguous, grid shape); returns ``||b - A x||`` after it."""
        self._uptr[0] = x.ctypes.data
        self._fptr[0] = b.ctypes.data
        ssq = self._cycle(
            self.J, self._shape_arr.ctypes.data, self._cst.ctypes.data, self._uptr, self._fptr, self._Minv.ctypes.data,
            self.nu_pre, self.nu_post, int(self.post_red_first), self._work.ctypes.data, self._zero.ctypes.data,
        )
        self._last = (x.ctypes.data, b.ctypes.data, math.sqrt(ssq))
        return self._last[2]

    def mixed_step(self, b: np.ndarray, x: np.ndarray) -> float:
        """One mixed-precision refinement step in place on ``x``; returns ``||b - A x||`` after it."""
        cm, key = self._cm, (x.ctypes.data, b.ctypes.data)
        if self._mstate != key:
            cm.residual(b, x)
            self._mstate, self._mpre = key, None
        if self._mpre != key:
            cm.pre()
        nrm = math.sqrt(cm.step(b, x))
        self._mpre = key
        self._last = (x.ctypes.data, b.ctypes.data, nrm)
        return nrm

    def _run_cycle(self, kind, f, u):
        if kind is not CycleKind.V:
            raise ValueError("the C kernels run V-cycles only")
        x = np.zeros(self.grid_shape) if u is None else u
        if self._cm is not None:
            self.mixed_step(f, x)
        else:
            self.vcycle(f, x)
        return x

    def _residual_norm(self, b, x, fmt, rtol, atol, zero_start):
        solver = self
        if zero_start and self._cm is not None:  # r = b into the C buffers, with its norm
            first = [math.sqrt(self._cm.residual(b, None))]
            self._mstate, self._mpre = (x.ctypes.data, b.ctypes.data), None
        else:
            first = [float(np.linalg.norm(b.reshape(-1)))] if zero_start else []

        def norm(v):
            if first:
                return first.pop()
            last = getattr(solver, "_last", None)
            if last is not None and last[0] == v.ctypes.data and last[1] == b.ctypes.data:
                solver._last = None
                return last[2]
            if solver._cm is not None:  # the residual stays in the C buffers for the next step
                solver._mstate, solver._mpre = (v.ctypes.data, b.ctypes.data), None
                return math.sqrt(solver._cm.residual(b, v))
            return math.sqrt(solver._resnorm(v.ctypes.data, b.ctypes.data, *solver.grid_shape, solver._cst.ctypes.data,
                                             solver._work.ctypes.data, solver._zero.ctypes.data))

        return norm

    # ---------------------------------------------------------------- vectors
    def _prepare_rhs(self, b, name="b"):
        try:
            arr = np.asarray(b)
        except Exception:
            raise TypeError(f"{name} must be array-like, got {type(b).__name__}") from None
        n = math.prod(self.grid_shape)
        if arr.shape not in ((n,), tuple(self.grid_shape)):
            raise ValueError(f"{name} must have shape ({n},) or {tuple(self.grid_shape)}, got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        if arr.size and not (math.isfinite(float(arr.max())) and math.isfinite(float(arr.min()))):
            raise ValueError(f"{name} contains NaN or Inf")
        return np.ascontiguousarray(arr.reshape(self.grid_shape), dtype=np.float64), arr.shape

    def _prepare_x0(self, x0, b, fmt):
        if x0 is None:
            return np.zeros(b.shape)
        return np.array(self._prepare_rhs(x0, "x0")[0], dtype=np.float64, copy=True)

    def _center(self, x):
        return x - x.mean()

    def _is_zero(self, b):
        return not bool(np.any(b))

    def _absmax(self, b):
        return max(float(b.max()), -float(b.min())) if b.size else 0.0

    def _scale_window(self):
        return self.SCALE_WINDOW if self._cm is None else self.SCALE_WINDOW_32

    def _finish(self, x, fmt):
        return np.asarray(x, dtype=np.float64).reshape(fmt)

    def _info(self, fmt):
        return {"path": "fast", "kernels": "c", "dtype": "float64", "fast_reason": "", "precision": self.precision}

    # ---------------------------------------------------------------- reports
    def _level_sizes(self):
        return [(math.prod(l.shape), (2 * self.dim + 1) * math.prod(l.shape)) for l in self.levels]

    def _header(self):
        prec = ", precision=mixed" if self._cm is not None else ""
        return (f"MultigridSolver({getattr(self.problem, 'name', 'poisson')}, fast structured path (C kernels), "
                f"dtype=float64{prec})")
