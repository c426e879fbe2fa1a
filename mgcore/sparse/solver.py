"""``MultigridSolver``: the user-facing solver of the sparse backend.

The solver only *builds* a :class:`mgcore.hierarchy.Hierarchy` (operators,
smoothers, transfers) and then runs the core algorithms of
:mod:`mgcore.cycles` and :mod:`mgcore.solve` on it.  Two operator
implementations plug in underneath:

* assembled sparse matrices (any problem; Galerkin ``R A P`` or
  re-discretised coarse operators), and
* the matrix-free structured path of :mod:`mgcore.sparse.structured`
  (compiled red-black Gauss-Seidel, fused residual-restriction and
  prolongation kernels, preallocated buffers), chosen automatically for
  structured problems with re-discretised coarse levels.

Examples
--------
>>> import numpy as np
>>> from mgcore.sparse import MultigridSolver, poisson2d
>>> problem = poisson2d(n=63)
>>> solver = MultigridSolver(problem, fast=False)
>>> result = solver.solve(problem.rhs(1.0), rtol=1e-8)
>>> result.converged, result.convergence_factor < 0.1
(True, True)
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from typing import Any, Callable, Sequence

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ..config import parse_smoother_spec
from ..cycles import CycleKind, cycle as _core_cycle
from ..hierarchy import Hierarchy, Level, parse_nu_pair, replaced
from ..solve import SolveResult, StopReason, check_tolerances, pcg, stationary_solve
from ..problems.grid import GridLevelData, GridProblem
from .operators import DenseSolve, MatrixOperator, check_matrix
from .transfers import injection, prolongation, restriction

__all__ = ["MultigridSolver", "ACCELERATIONS", "COARSE_OPERATORS", "FastPathWarning"]


class FastPathWarning(UserWarning):
    """A structured problem runs on assembled matrices because its configuration
    is not supported by the compiled matrix-free kernels (the message says why)."""

ACCELERATIONS = (None, "cg", "gmres")
COARSE_OPERATORS = ("rediscretize", "galerkin")


def _smoothers():
    from . import smoothers

    return smoothers


class _Norm:
    """``x -> ||b - A x||_2`` on the finest level (picklable).

    ``first``: the known value of the first call (``||b||`` for a zero
    initial guess).  On the structured path the norm summed during the last
    post-smoothing sweep (:meth:`StructuredLevel.take_fused_norm`) is used
    when there is one, else the fused residual-norm kernel.
    """

    def __init__(self, level: Level, b: np.ndarray, first: float | None = None):
        self.level, self.b, self.first = level, b, first

    def __call__(self, x: np.ndarray) -> float:
        if self.first is not None:
            v, self.first = self.first, None
            return v
        take = getattr(self.level, "take_fused_norm", None)
        if take is not None:
            v = take(self.b, x)
            if v is not None:
                return float(v)
            return float(self.level.residual_norm(self.b, x))
        return float(np.linalg.norm(self.level.residual(self.b, x)))


class _Cycle:
    """One cycle ``x -> cycle(h, b, x)`` (picklable step for the driver)."""

    def __init__(self, solver: "MultigridSolver", b: np.ndarray, kind: CycleKind):
        self.solver, self.b, self.kind = solver, b, kind

    def __call__(self, x: np.ndarray) -> np.ndarray:
        s = self.solver
        return _core_cycle(s.hierarchy, self.b, x, self.kind, s.nu_pre, s.nu_post)


class _Preconditioner:
    """``r -> one cycle from zero`` as a picklable callable (returns a fresh array)."""

    def __init__(self, solver: "MultigridSolver", kind: CycleKind):
        self.solver, self.kind = solver, kind

    def __call__(self, r: np.ndarray) -> np.ndarray:
        s = self.solver
        shaped = s._to_level(np.asarray(r, dtype=s.dtype))
        with s.symmetric_cycle():
            e = _core_cycle(s.hierarchy, shaped, None, self.kind, s.nu_pre, s.nu_post)
        return np.array(e, copy=True).reshape(np.shape(r))


class MultigridSolver:
    """Geometric multigrid solver for structured-grid problems and matrices.

    Parameters
    ----------
    problem : GridProblem or sparse matrix
        A gallery problem (:mod:`mgcore.problems`) or an assembled
        matrix; a matrix needs ``grid_shape`` (unknowns per dimension, C-order)
        and uses Galerkin coarse operators.
    smoother : str, tuple, dict or list
        Smoother spec in the common grammar (:func:`mgcore.config.parse_smoother_spec`):
        ``"rbgs"``, ``"jacobi"``, ``("chebyshev", {"degree": 3})``, ... or one per
        level (level 1 = finest).  Default: red-black Gauss-Seidel on structured
        problems, symmetric Gauss-Seidel otherwise.
    nu : int or (int, int)
        ``(nu_pre, nu_post)`` smoothing steps (an int means both).
    cycle : {"V", "W", "F"} or CycleKind
        Default cycle of :meth:`solve`.
    coarse : {"rediscretize", "galerkin"}, optional
        Coarse operators: re-discretisation on the coarse grid (default for
        problems) or ``R A P`` (default for matrices; seed 003 eq. 5.11).
    fast : bool or None
        Matrix-free compiled path: ``None`` picks it when it applies,
        ``True`` requires it (error with the reason if it cannot apply),
        ``False`` uses assembled matrices.
    dtype : {numpy.float64, numpy.float32}
    threads : int
        Threads of the compiled kernels (fast path only).
    interpolation : {"bilinear", "linear"}
        Prolongation (seed 003 eq. 4.9).
    restriction : {"full-weighting", "transpose"}
        ``R = P^T / 2^d`` or ``R = P^T`` (Lemma 4.1).
    max_levels : int, optional
        Cap on the number of levels.
    coarse_size : int
        Stop coarsening once a level has at most this many unknowns; the
        coarsest level is solved exactly.
    grid_shape : tuple of int, optional
        Grid of a matrix ``problem``.
    bc : {"dirichlet", "neumann"}
        Boundary convention of a matrix ``problem``'s grid.
    """

    def __init__(
        self,
        problem: Any,
        smoother: Any = None,
        nu: Any = (2, 2),
        cycle: Any = "V",
        coarse: str | None = None,
        fast: bool | None = None,
        dtype: Any = np.float64,
        threads: int = 1,
        interpolation: str = "bilinear",
        restriction: str = "full-weighting",
        max_levels: int | None = None,
        coarse_size: int = 500,
        grid_shape: tuple | None = None,
        bc: str = "dirichlet",
    ):
        t0 = time.perf_counter()
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}")
        self.nu_pre, self.nu_post = self._parse_nu(nu)
        self.cycle_kind = CycleKind.parse(cycle)
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an int >= 1, got {threads!r}")
        self.threads = threads
        if max_levels is not None and (not isinstance(max_levels, int) or max_levels < 1):
            raise ValueError(f"max_levels must be an int >= 1 or None, got {max_levels!r}")
        if not isinstance(coarse_size, int) or coarse_size < 1:
            raise ValueError(f"coarse_size must be an int >= 1, got {coarse_size!r}")
        self.interpolation, self.restriction = interpolation, restriction

        if isinstance(problem, GridProblem):
            self.problem = problem
            self.grid_shape = problem.shape
            self.bc = problem.bc
            self.singular = problem.singular
            self.coarse = "rediscretize" if coarse is None else coarse
            default_smoother = "rbgs"
        elif sp.issparse(problem) or isinstance(problem, np.ndarray):
            A = check_matrix(problem, "problem")
            if grid_shape is None:
                raise ValueError(
                    "grid_shape (unknowns per dimension) is required for a matrix problem; "
                    "for an unstructured matrix use mgcore.sparse.pyamg_bridge.from_pyamg"
                )
            grid_shape = tuple(int(s) for s in grid_shape)
            if int(np.prod(grid_shape)) != A.shape[0]:
                raise ValueError(f"grid_shape {grid_shape} has {int(np.prod(grid_shape))} points but A has {A.shape[0]} rows")
            self.problem = GridProblem(grid_shape, bc=bc)  # validates the grid sizes
            self._matrix = A
            self.grid_shape, self.bc = grid_shape, bc
            self.singular = bool(np.abs(A @ np.ones(A.shape[0])).max() <= 1e-10 * abs(A).max())
            self.coarse = "galerkin" if coarse is None else coarse
            if self.coarse != "galerkin":
                raise ValueError("coarse must be 'galerkin' for a matrix problem (there is nothing to re-discretise)")
            default_smoother = ("gauss-seidel", {"sweep": "symmetric"})
        else:
            raise TypeError(
                f"problem must be a GridProblem (see mgcore.problems) or a sparse matrix, got {type(problem).__name__}"
            )
        if self.coarse not in COARSE_OPERATORS:
            raise ValueError(f"coarse must be one of {COARSE_OPERATORS}, got {self.coarse!r}")
        self.smoother_spec = default_smoother if smoother is None else smoother

        datas = self._level_data(max_levels, coarse_size)
        self.J = len(datas)
        self.smoothers = parse_smoother_spec(self.smoother_spec, self.J, tuple(_smoothers().SMOOTHERS))
        for name, kw in self.smoothers:
            # Red-black post-smoothing red first as well: V(2,2) factor 0.06 instead of 0.15 with the
            # symmetric (black-first) post-sweep, which is switched on only where symmetry is needed (CG).
            if name == "red-black":
                kw.setdefault("order", "red-black")
        self._datas = datas
        self._sym_posts: list | None = None
        self.fast, self.fast_reason = self._choose_fast(fast)
        if self.fast:
            from .structured import build_structured_levels

            levels = build_structured_levels(
                self.problem, datas, smoother=self.smoothers, dtype=self.dtype, threads=threads
            )
            # level 1 iterates in place in the solver's own solution array
            levels[0].inplace = True
        else:
            levels = self._sparse_levels(datas)
        self.hierarchy = Hierarchy(levels)
        self.setup_seconds = time.perf_counter() - t0

    # ------------------------------------------------------------------ setup
    _parse_nu = staticmethod(parse_nu_pair)

    def _level_data(self, max_levels: int | None, coarse_size: int) -> list:
        """Fine-to-coarse list of GridLevelData (re-discretised) or matrices (Galerkin)."""
        prob = self.problem
        datas = [prob.level_data()]
        from ..problems.grid import can_coarsen, coarsen_size

        def coarsenable(shape):
            return all(can_coarsen(n, prob.bc) and coarsen_size(n, prob.bc) >= 1 for n in shape)

        while (max_levels is None or len(datas) < max_levels) and int(np.prod(datas[-1].shape)) > coarse_size and coarsenable(datas[-1].shape):
            datas.append(prob.coarse_data(datas[-1]))
        return datas

    def _choose_fast(self, fast: bool | None) -> tuple[bool, str]:
        if fast not in (None, True, False):
            raise ValueError(f"fast must be None (auto), True or False, got {fast!r}")
        if fast is False:
            return False, "disabled (fast=False)"
        from .structured import structured_support

        if self.interpolation != "bilinear" or self.restriction != "full-weighting":
            ok, reason = False, "the structured kernels implement bilinear interpolation with full-weighting restriction"
        else:
            ok, reason = structured_support(self.problem, self.smoothers, self.coarse)
        if fast is True and not ok:
            raise ValueError(f"fast=True but the structured path cannot be used: {reason}")
        if not ok and not hasattr(self, "_matrix") and self.problem.dim in (2, 3):
            warnings.warn(
                f"using assembled sparse matrices (slower) because {reason}; pass fast=False to silence this",
                FastPathWarning,
                stacklevel=3,
            )
        return ok, reason

    def _sparse_levels(self, datas: list) -> list[Level]:
        sm = _smoothers()
        levels: list[Level] = []
        A = self._matrix if hasattr(self, "_matrix") else datas[0].matrix()
        for l, data in enumerate(datas):
            last = l == len(datas) - 1
            if l > 0 and self.coarse == "rediscretize":
                A = data.matrix()
            A = A.astype(self.dtype)
            name, kw = self.smoothers[l]
            B = sm.build_smoother(name, kw, A, grid=data, post=False)
            B_post = sm.build_smoother(name, kw, A, grid=data, post=True)
            R = P = Pi = None
            if not last:
                Pm = prolongation(data.shape, self.bc, self.interpolation).astype(self.dtype)
                Rm = restriction(data.shape, self.bc, self.interpolation, self.restriction).astype(self.dtype)
                P, R = MatrixOperator(Pm), MatrixOperator(Rm)
                Pi = MatrixOperator(injection(data.shape, self.bc).astype(self.dtype))
            coarse_solve = DenseSolve(A, singular=self.singular, dtype=self.dtype) if last else None
            levels.append(
                Level(
                    A=MatrixOperator(A), B=B, R=R, Pi=Pi, P=P, B_post=B_post, coarse_solve=coarse_solve,
                    shape=tuple(data.shape), meta={"nnz": int(A.nnz), "n": int(A.shape[0])},
                )
            )
            if not last and self.coarse == "galerkin":
                A = (R.M @ A @ P.M).tocsr()
        return levels

    def _symmetric_posts(self) -> list:
        """Per level: ``None`` or the symmetric post-smoother replacing ``B_post`` under CG."""
        if self._sym_posts is None:
            sm = _smoothers()
            posts: list = []
            for l, (name, kw) in enumerate(self.smoothers):
                if name == "red-black" and kw.get("order") != "symmetric":
                    if self.fast:
                        posts.append("symmetric")
                    else:
                        lvl = self.levels[l]
                        posts.append(sm.build_smoother(name, {**kw, "order": "symmetric"}, lvl.A.M, grid=self._datas[l], post=True))
                else:
                    posts.append(None)
            self._sym_posts = posts
        return self._sym_posts

    @contextmanager
    def symmetric_cycle(self):
        """Context in which a cycle is a symmetric operator (for CG).

        Red-black Gauss-Seidel then post-smooths black first, the adjoint of
        the red-first pre-smoothing; other smoothers already are symmetric in
        a cycle with ``B_post`` built as the adjoint of ``B``.
        """
        changes = [
            (lvl, "order" if isinstance(alt, str) else "B_post", alt)
            for lvl, alt in zip(self.levels, self._symmetric_posts())
            if alt is not None
        ]
        with replaced(changes):
            yield self

    # --------------------------------------------------------------- reports
    @property
    def levels(self) -> list[Level]:
        """The hierarchy's levels (index 0 = level 1, the finest)."""
        return self.hierarchy.levels

    def _sizes(self) -> list[tuple[int, int]]:
        out = []
        for lvl in self.levels:
            n = int(np.prod(lvl.shape)) if lvl.shape else int(lvl.meta.get("n", 0))
            # matrix-free levels: count the stencil entries an assembled matrix would hold
            nnz = int(lvl.meta.get("nnz", 0)) or (2 * len(lvl.shape) + 1) * n
            out.append((n, nnz))
        return out

    @property
    def operator_complexity(self) -> float:
        """``sum_l nnz(A_l) / nnz(A_1)``."""
        s = self._sizes()
        return sum(z for _, z in s) / max(s[0][1], 1)

    @property
    def grid_complexity(self) -> float:
        """``sum_l n_l / n_1``."""
        s = self._sizes()
        return sum(n for n, _ in s) / max(s[0][0], 1)

    def __repr__(self) -> str:
        s = self._sizes()
        lines = [
            f"MultigridSolver({self.problem.name if hasattr(self.problem, 'name') else 'matrix'}, "
            f"{'fast structured' if self.fast else 'sparse'} path, dtype={self.dtype.name})",
            *([] if self.fast or not self.fast_reason else [f"  (not on the structured path: {self.fast_reason})"]),
            f"  cycle={self.cycle_kind.value}({self.nu_pre},{self.nu_post}), coarse={self.coarse}, "
            f"smoother={self.smoothers[0][0]}",
            f"  levels={len(s)}, operator complexity={self.operator_complexity:.3f}, "
            f"grid complexity={self.grid_complexity:.3f}",
            "  level   grid            unknowns        nnz",
        ]
        for l, ((n, z), lvl) in enumerate(zip(s, self.levels), start=1):
            grid = "x".join(map(str, lvl.shape)) if lvl.shape else "-"
            lines.append(f"  {l:>5}   {grid:<14}{n:>10}{z:>11}")
        return "\n".join(lines)

    # ------------------------------------------------------------- solving
    def _to_level(self, b: np.ndarray) -> np.ndarray:
        """Bring a flat or grid-shaped vector into the fine level's layout."""
        if self.fast:
            return np.ascontiguousarray(b.reshape(self.grid_shape), dtype=self.dtype)
        return np.ascontiguousarray(b.reshape(-1), dtype=self.dtype)

    def _check_rhs(self, b: Any, name: str = "b") -> np.ndarray:
        try:
            arr = np.asarray(b)
        except Exception:
            raise TypeError(f"{name} must be array-like, got {type(b).__name__}") from None
        n = int(np.prod(self.grid_shape))
        if arr.shape not in ((n,), tuple(self.grid_shape)):
            raise ValueError(f"{name} must have shape ({n},) or {tuple(self.grid_shape)}, got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or Inf")
        return arr

    def solve(
        self,
        b: Any,
        x0: Any = None,
        rtol: float = 1e-8,
        atol: float = 0.0,
        maxiter: int = 100,
        cycle: Any = None,
        accel: str | None = None,
        callback: Callable[[np.ndarray, int, float], Any] | None = None,
        residuals: list | None = None,
    ) -> SolveResult:
        """Solve ``A x = b``.

        Parameters
        ----------
        b : array_like
            Right-hand side, flat ``(n,)`` or grid-shaped.
        x0 : array_like, optional
            Initial guess (default zero).
        rtol, atol : float
            Stop when ``||b - A x|| <= max(rtol ||b - A x0||, atol)``.
        maxiter : int
            Maximum cycles (stationary) or Krylov iterations.
        cycle : {"V", "W", "F"}, optional
            Overrides the solver's default cycle.
        accel : {None, "cg", "gmres"}
            Krylov acceleration with one cycle as preconditioner.  ``"cg"``
            needs a symmetric positive (semi-)definite operator.
        callback : callable, optional
            ``callback(x, k, residual_norm)`` after each iteration.
        residuals : list, optional
            If given, the residual history is appended to it (pyamg style).

        Returns
        -------
        SolveResult
            ``x`` in the shape of ``b``, the residual history, the average
            convergence factor and the stop reason.
        """
        t0 = time.perf_counter()
        if accel not in ACCELERATIONS:
            raise ValueError(f"accel must be one of {ACCELERATIONS}, got {accel!r}")
        check_tolerances(rtol, atol, maxiter)
        kind = self.cycle_kind if cycle is None else CycleKind.parse(cycle)
        b_arr = self._check_rhs(b)
        out_shape = b_arr.shape
        bl = self._to_level(b_arr)
        if self.singular:
            bl = bl - bl.mean()
        first = None
        if x0 is None:
            x = np.zeros(bl.shape, dtype=self.dtype)
            first = float(np.linalg.norm(bl.reshape(-1)))  # ||b - A 0|| without the product
        else:
            x = np.array(self._to_level(self._check_rhs(x0, "x0")), dtype=self.dtype, copy=True)
        fine = self.levels[0]
        if accel is None:
            track = self.fast and self.nu_post > 0
            if track:
                fine.track_norm = True
            try:
                res = stationary_solve(
                    _Cycle(self, bl, kind), _Norm(fine, bl, first), x, rtol=rtol, atol=atol, maxiter=maxiter,
                    callback=callback,
                )
            finally:
                if track:
                    fine.track_norm = False
                    fine._fused = None
        elif accel == "cg":
            self._check_spd_for_cg()
            res = pcg(
                fine.A, bl, x, _Preconditioner(self, kind), _dot, rtol=rtol, atol=atol, maxiter=maxiter, callback=callback
            )
        else:
            res = _fgmres(fine.A, bl, x, _Preconditioner(self, kind), rtol, atol, maxiter, callback)
        x = res.x
        if self.singular:
            x = x - x.mean()
        # x is this solve's own array (level 1 iterated in place in it): no copy
        res.x = np.asarray(x, dtype=self.dtype).reshape(out_shape)
        res.setup_seconds = self.setup_seconds
        res.solve_seconds = time.perf_counter() - t0
        res.info.update(
            cycle=kind.value, accel=accel or "none", nu_pre=self.nu_pre, nu_post=self.nu_post, levels=self.J,
            n_unknowns=int(np.prod(self.grid_shape)), path="fast" if self.fast else "sparse", dtype=self.dtype.name,
            fast_reason=self.fast_reason,
        )
        if residuals is not None:
            residuals.extend(res.residuals)
        return res

    def _check_spd_for_cg(self) -> None:
        for name, kw in self.smoothers:
            if name == "gauss-seidel" and kw.get("sweep", "forward") != "symmetric" and self.nu_pre != self.nu_post:
                raise ValueError(
                    "accel='cg' needs a symmetric preconditioner; gauss-seidel with nu_pre != nu_post is not "
                    "(use nu=(k, k), or 'rbgs', 'jacobi', 'chebyshev', 'sgs')"
                )
        if hasattr(self, "_matrix"):
            A = self._matrix
            asym = abs(A - A.T).max() if A.nnz else 0.0
            if asym > 1e-10 * max(abs(A).max(), 1e-300):
                raise ValueError("accel='cg' needs a symmetric positive definite A; A is not symmetric (use accel='gmres')")
            if np.any(A.diagonal() <= 0):
                raise ValueError("accel='cg' needs a symmetric positive definite A; A has non-positive diagonal entries")

    def aspreconditioner(self, cycle: Any = None) -> LinearOperator:
        """One cycle from a zero guess as a ``scipy.sparse.linalg.LinearOperator``.

        Examples
        --------
        >>> from scipy.sparse.linalg import cg
        >>> from mgcore.sparse import MultigridSolver, poisson2d
        >>> p = poisson2d(n=31)
        >>> M = MultigridSolver(p, fast=False).aspreconditioner()
        >>> x, info = cg(p.level_data().matrix(), p.rhs(1.0), M=M, rtol=1e-10)
        >>> info
        0
        """
        kind = self.cycle_kind if cycle is None else CycleKind.parse(cycle)
        n = int(np.prod(self.grid_shape))
        return LinearOperator((n, n), matvec=_Preconditioner(self, kind), dtype=self.dtype)


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.vdot(a, b))


def _fgmres(A, b, x, M, rtol, atol, maxiter, callback, restart: int = 30) -> SolveResult:
    """Right-preconditioned (flexible) restarted GMRES with true-residual history."""
    r = b - A(x)
    beta = float(np.linalg.norm(r))
    history = [beta]
    tol = max(rtol * beta, atol)
    if not math.isfinite(beta):
        return SolveResult(x, history, StopReason.NONFINITE, 0)
    if beta <= tol:
        return SolveResult(x, history, StopReason.CONVERGED, 0)
    k = 0
    reason = StopReason.MAXITER
    shape = b.shape
    while k < maxiter and reason is StopReason.MAXITER:
        m = min(restart, maxiter - k)
        V = np.zeros((m + 1, b.size), dtype=np.float64)
        Z = np.zeros((m, b.size), dtype=np.float64)
        H = np.zeros((m + 1, m))
        cs, sn = np.zeros(m), np.zeros(m)
        g = np.zeros(m + 1)
        g[0] = beta
        V[0] = (r / beta).ravel()
        j_used = 0
        for j in range(m):
            z = M(V[j].reshape(shape))
            Z[j] = np.asarray(z, dtype=np.float64).ravel()
            w = np.asarray(A(np.asarray(z, dtype=b.dtype).reshape(shape)), dtype=np.float64).ravel()
            for i in range(j + 1):
                H[i, j] = V[i] @ w
                w -= H[i, j] * V[i]
            H[j + 1, j] = np.linalg.norm(w)
            if H[j + 1, j] > 0:
                V[j + 1] = w / H[j + 1, j]
            for i in range(j):
                t = cs[i] * H[i, j] + sn[i] * H[i + 1, j]
                H[i + 1, j] = -sn[i] * H[i, j] + cs[i] * H[i + 1, j]
                H[i, j] = t
            den = math.hypot(H[j, j], H[j + 1, j])
            cs[j], sn[j] = (1.0, 0.0) if den == 0 else (H[j, j] / den, H[j + 1, j] / den)
            H[j, j] = cs[j] * H[j, j] + sn[j] * H[j + 1, j]
            H[j + 1, j] = 0.0
            g[j + 1] = -sn[j] * g[j]
            g[j] = cs[j] * g[j]
            k += 1
            j_used = j + 1
            res = abs(g[j + 1])
            history.append(float(res))
            if not math.isfinite(res):
                reason = StopReason.NONFINITE
                break
            if callback is not None:
                callback(x, k, float(res))
            if res <= tol:
                reason = StopReason.CONVERGED
                break
        y = np.linalg.solve(np.triu(H[:j_used, :j_used]), g[:j_used]) if j_used else np.zeros(0)
        x = x + (y @ Z[:j_used]).reshape(shape).astype(b.dtype)
        r = b - A(x)
        beta = float(np.linalg.norm(r))
        history[-1] = beta  # the true residual at the end of the cycle
        if not math.isfinite(beta):
            reason = StopReason.NONFINITE
        elif beta <= tol:
            reason = StopReason.CONVERGED
        elif beta > 1e4 * history[0]:
            reason = StopReason.DIVERGED
        else:
            reason = StopReason.MAXITER
    return SolveResult(x, history, reason, k)
