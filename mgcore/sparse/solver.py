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
from contextlib import nullcontext
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import LinearOperator

from ..cycles import CycleKind
from ..frontend import CyclePreconditioner, MultigridFrontend, check_int
from ..hierarchy import Hierarchy, Level
from ..coarsening import check_memory, level_shapes, nested
from ..problems.grid import GridProblem
from ..solve import SolveResult, StopReason
from .operators import DenseSolve, MatrixOperator, check_matrix
from ..coarsening import is_nonnested_step
from .transfers import injection, prolongation, prolongation_axes, restriction
from .structured._common import norm2

__all__ = ["MultigridSolver", "ACCELERATIONS", "COARSE_OPERATORS", "FastPathWarning"]


class FastPathWarning(UserWarning):
    """A structured problem runs on assembled matrices because its configuration
    is not supported by the compiled matrix-free kernels (the message says why)."""

ACCELERATIONS = (None, "cg", "gmres")
COARSE_OPERATORS = ("rediscretize", "galerkin")
COARSENINGS = (None, "full", "semi")


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


class MultigridSolver(MultigridFrontend):
    """Geometric multigrid solver for structured-grid problems and matrices.

    The sparse backend of :class:`mgcore.frontend.MultigridFrontend`: it
    builds the levels (assembled matrices or compiled matrix-free
    structured levels) and the numpy vector operations; options, defaults,
    drivers and reports are the front-end's.

    Parameters
    ----------
    problem : GridProblem or sparse matrix
        A gallery problem (:mod:`mgcore.problems`) or an assembled
        matrix; a matrix needs ``grid_shape`` (unknowns per dimension, C-order)
        and uses Galerkin coarse operators.
    smoother : str, tuple, dict or list
        Smoother spec in the common grammar (:func:`mgcore.config.parse_smoother_spec`,
        names and options in :mod:`mgcore.registry`): ``"rbgs"``, ``"jacobi"``,
        ``"line-gs"``, ``("chebyshev", {"degree": 3})``, ... or one per level
        (level 1 = finest).  Default on structured problems: red-black
        Gauss-Seidel, or zebra line Gauss-Seidel where the coefficients are
        anisotropic (:meth:`default_smoother`); symmetric Gauss-Seidel for
        matrices.
    nu : int or (int, int)
        ``(nu_pre, nu_post)`` smoothing steps (an int means both).
    cycle : {"V", "W", "F"} or CycleKind
        Default cycle of :meth:`solve`.
    coarse : {"rediscretize", "galerkin"}, optional
        Coarse operators: re-discretisation on the coarse grid (default for
        problems) or ``R A P`` (default for matrices; He & Xu, MgNet, 2019,
        eq. 5.11).
    coarsening : {None, "full", "semi"}
        ``"full"`` halves every axis per level; ``"semi"`` halves only the
        strongly coupled axes of each level until the per-axis weights
        ``a_k / h_k^2`` are comparable, then every axis (semi-coarsening as
        in hypre's PFMG; Trottenberg, Oosterlee & Schüller, *Multigrid*, 2001,
        Sec. 5.1), robust for 3D problems with one weak direction.  With
        odd sizes along the coarsened axes the coarse levels are
        re-discretised (:mod:`mgcore.sparse.structured.semi`) and run on the
        compiled path with red-black Gauss-Seidel by default; other sizes
        use Galerkin levels.  ``None`` chooses ``"semi"`` where two of three
        directions are strong and no ``smoother`` is given, and ``"full"``
        otherwise (one strong direction is handled by line smoothing,
        :meth:`default_smoother`).
    fast : bool or None
        Matrix-free compiled path: ``None`` picks it when it applies,
        ``True`` requires it (error with the reason if it cannot apply),
        ``False`` uses assembled matrices.
    dtype : {numpy.float64, numpy.float32}
    threads : int
        Threads of the compiled kernels (fast path only).
    interpolation : {"bilinear", "linear"}
        Prolongation (He & Xu, MgNet, 2019, eq. 4.9).
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
    precision : {None, "float64", "float32", "mixed"}
        ``"mixed"``: float32 cycles inside a float64 residual refinement
        (``r = b - A x`` in float64, ``e = cycle_32(r)``, ``x += e``), the
        option of :class:`mgcore_torch.TorchMultigridSolver`; reaches float64
        tolerances with about the float64 cycle count while the cycles move
        half the bytes (:mod:`mgcore.sparse.structured.mixed`).
        ``"float64"``: every cycle in float64 (iterates bitwise those of the
        float64 kernels).  ``None`` (default) follows ``dtype`` (which is
        ignored when ``precision`` is given); in float64, stationary V-cycle
        solves (no ``accel``, no ``fmg``) of the problems the compiled
        mixed-precision step covers -- constant coefficients, Dirichlet, 2D
        or 3D nested grids of odd sizes, red-black Gauss-Seidel, one thread -- run on it
        (:class:`mgcore._ckernels.mixed.CMixed`): the residuals that decide
        convergence, the iterate and ``x`` stay float64 and reach the same
        tolerances as float64 cycles (iterative refinement, as LAPACK's
        ``dsgesv``) in 0.5-0.65 of the time; ``result.info["precision"]``
        says which ran.  The levels (``solver.hierarchy``, preconditioners,
        Krylov solves) stay float64.
    fmg : bool
        Stationary solves from a zero guess start with one full-multigrid
        cycle (nested iteration from the coarsest level; Trottenberg,
        Oosterlee & Schüller, *Multigrid*, 2001, Sec. 2.6): it counts as the
        first iteration and ``rtol`` stays relative to ``||b||``; on 2D and
        3D Poisson it saves one V(2,2) cycle at rtol 1e-8
        (:func:`mgcore.sparse.structured.mixed.coarse_fmg`).
    """

    backend = "sparse"
    ACCELERATIONS = ACCELERATIONS

    def __init__(
        self,
        problem: Any,
        smoother: Any = None,
        nu: Any = (2, 2),
        cycle: Any = "V",
        coarse: str | None = None,
        coarsening: str | None = None,
        fast: bool | None = None,
        dtype: Any = np.float64,
        threads: int = 1,
        interpolation: str = "bilinear",
        restriction: str = "full-weighting",
        max_levels: int | None = None,
        coarse_size: int = 500,
        grid_shape: tuple | None = None,
        bc: str = "dirichlet",
        precision: str | None = None,
        fmg: bool = False,
    ):
        t0 = time.perf_counter()
        from .structured.mixed import PRECISIONS

        if not isinstance(fmg, bool):
            raise TypeError(f"fmg must be a bool, got {type(fmg).__name__}")
        self.fmg = fmg
        self._fmg_pending = False
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        self.dtype = np.dtype(dtype if precision is None else (np.float64 if precision == "mixed" else precision))
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}")
        self.precision = "mixed" if precision == "mixed" else self.dtype.name
        #: dtype of the levels (the cycles): float32 for precision "float32" and "mixed"
        self.cycle_dtype = np.dtype(np.float32) if self.precision in ("mixed", "float32") else np.dtype(np.float64)
        self._init_options(nu, cycle)
        if isinstance(threads, bool) or not hasattr(threads, "__index__") or int(threads) < 1:
            raise ValueError(f"threads must be an int >= 1, got {threads!r}")
        self.threads = int(threads)
        max_levels = check_int(max_levels, "max_levels", 1, allow_none=True)
        coarse_size = check_int(coarse_size, "coarse_size", 1)
        if interpolation not in ("bilinear", "linear"):
            raise ValueError(f"interpolation must be 'bilinear' or 'linear', got {interpolation!r}")
        if restriction not in ("full-weighting", "transpose"):
            raise ValueError(f"restriction must be 'full-weighting' (R = P^T / 2^d) or 'transpose' (R = P^T), got {restriction!r}")
        self.interpolation, self.restriction = interpolation, restriction

        if isinstance(problem, GridProblem):
            self.problem = problem
            self.grid_shape = problem.shape
            self.bc = problem.bc
            self.singular = problem.singular
            default_smoother = None  # chosen from the coefficients below
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
        if coarse is not None and coarse not in COARSE_OPERATORS:
            raise ValueError(f"coarse must be one of {COARSE_OPERATORS}, got {coarse!r}")
        if coarsening not in COARSENINGS:
            raise ValueError(f"coarsening must be one of {COARSENINGS}, got {coarsening!r}")
        self.smoother_spec = default_smoother if smoother is None else smoother
        if coarsening is None:
            # part of the robust defaults: not when a smoother is asked for
            coarsening = "semi" if (smoother is None and not hasattr(self, "_matrix")
                                    and self._two_strong_axes(self.problem.level_data())) else "full"
        self.coarsening = coarsening
        self.coarsen_axes = None
        if coarsening == "semi":
            self.coarsen_axes = self._semi_axes(self.problem.level_data(), 64)
        # sizes that do not nest: coarsen to uniform grids (re-discretised, non-nested transfers) where the
        # stencil allows it, else halve them and use Galerkin levels
        self._uniform_coarse = bool(
            coarse in (None, "rediscretize") and not hasattr(self, "_matrix")
            and self.problem.rediscretizes_nonnested(self.problem.level_data(), self.grid_shape)
            and (coarsening == "full" or (self.bc == "dirichlet" and self.problem.uniform_cell_value() is not None))
        )
        shapes = level_shapes(self.grid_shape, self.bc, max_levels, coarse_size, self.coarsen_axes,
                              uniform_coarse=self._uniform_coarse)
        if coarsening == "semi":
            from .structured.semi import semi_support

            uniform, why_semi = semi_support(self.problem, shapes)
        else:
            uniform = self._uniform_coarse or all(nested(n, self.bc) for s in shapes[:-1] for n in s)
        if isinstance(problem, GridProblem):
            if coarse is None:
                coarse = "rediscretize" if uniform else "galerkin"
            elif coarse == "rediscretize" and not uniform:
                why = (why_semi if coarsening == "semi" else
                       f"grid {tuple(self.grid_shape)} does not coarsen to uniform grids (sizes 2^k - 1, Dirichlet, "
                       f"or 2^k + 1, Neumann, per axis)")
                raise ValueError(f"coarse='rediscretize' is not possible: {why}; use coarse='galerkin' (the default then)")
            self.coarse = coarse
        n1 = math.prod(self.grid_shape)
        # vectors of the levels, plus CSR matrices unless the compiled matrix-free path can run
        matrix_free = fast is not False and self.coarse == "rediscretize" and uniform
        per_unknown = 8 * 8 + (0 if matrix_free else 12 * (2 * len(self.grid_shape) + 1) * (3 if self.coarse == "galerkin" else 1))
        check_memory(per_unknown * n1 * 4 / 3, f"MultigridSolver on {'x'.join(map(str, self.grid_shape))} ({n1} unknowns)")
        if coarsening == "semi" and self.coarse == "rediscretize":
            from .structured.semi import semi_level_data

            datas = semi_level_data(self.problem, shapes)
        else:
            datas = self.problem.hierarchy_data(shapes=shapes)
        self.J = len(datas)
        if self.smoother_spec is None:
            # semi-coarsening of the strong axes: point red-black Gauss-Seidel smooths along them
            # (Trottenberg, Oosterlee & Schueller, Multigrid, 2001, Sec. 5.1)
            self.smoother_spec = "rbgs" if coarsening == "semi" else self.default_smoother(datas[0])
        self.smoothers = self._parse_smoothers(self.smoother_spec, self.J)
        self._datas = datas
        self.fast, self.fast_reason = self._choose_fast(fast)
        if self.fast:
            from .structured import build_structured_levels

            levels = build_structured_levels(
                self.problem, datas, smoother=self.smoothers, dtype=self.cycle_dtype, threads=self.threads, inplace=True
            )
        else:
            levels = self._sparse_levels(datas)
        self.hierarchy = Hierarchy(levels)
        self._mixed = self._A64 = None
        if self.precision == "mixed":
            self._build_mixed()
        # precision=None in float64: stationary V-cycle solves of problems the C mixed-precision step covers
        # run on it (built at the first such solve); everything else uses the float64 levels
        self._auto_mixed = precision is None and self.dtype == np.float64 and self.fast
        self._auto = None  # that refinement once built; False where the C step does not apply
        self._run = self._mixed  # the refinement of the current solve, if any
        self.setup_seconds = time.perf_counter() - t0

    # ------------------------------------------------------------------ setup
    @staticmethod
    def _axis_strengths(data: Any) -> list:
        if data.uniform is not None:  # constant coefficients: no per-node arrays needed
            return [2.0 * float(w) for w in data.uniform]
        from .structured.line import direction_strengths

        s = direction_strengths(data)
        return [float(v) for v in s.reshape(s.shape[0], -1).mean(axis=1)]

    @classmethod
    def _two_strong_axes(cls, data: Any) -> bool:
        """3D with exactly two strongly coupled directions (line smoothing alone is not robust there)."""
        if data.dim != 3:
            return False
        from .structured.line import ANISOTROPY_THRESHOLD

        s = cls._axis_strengths(data)
        strong = [v >= max(s) / 2 for v in s]
        return sum(strong) == 2 and min(s) * ANISOTROPY_THRESHOLD < max(s)

    @classmethod
    def _semi_axes(cls, data: Any, levels: int) -> list:
        """Per level the axes to coarsen: those coupled at least half as strongly
        as the strongest (coarsening an axis divides its coupling by 4)."""
        s = cls._axis_strengths(data)
        out = []
        for _ in range(levels):
            axes = tuple(a for a, v in enumerate(s) if v >= max(s) / 2)
            out.append(axes)
            s = [v / 4 if a in axes else v for a, v in enumerate(s)]
        return out

    @staticmethod
    def default_smoother(data: Any) -> Any:
        """The default smoother of a structured level: red-black Gauss-Seidel,
        or zebra line Gauss-Seidel (along the strong direction, or alternating)
        where the couplings of some node differ by more than
        :data:`~mgcore.sparse.structured.line.ANISOTROPY_THRESHOLD` between directions."""
        if data.dim < 2:
            return "rbgs"
        from .structured.line import ANISOTROPY_THRESHOLD, anisotropy

        if data.uniform is not None:  # constant coefficients: the ratio of the face weights, no per-node arrays
            w = [float(v) for v in data.uniform]
            worst = max(w) / min(w) if min(w) > 0 else math.inf
        else:
            worst, _ = anisotropy(data)
        return "line-gs" if worst > ANISOTROPY_THRESHOLD else "rbgs"

    def _choose_fast(self, fast: bool | None) -> tuple[bool, str]:
        if fast not in (None, True, False):
            raise ValueError(f"fast must be None (auto), True or False, got {fast!r}")
        if fast is False:
            return False, "disabled (fast=False)"
        from .structured import structured_support

        ok, reason = structured_support(self.problem, self.smoothers, self.coarse, self.interpolation, self.restriction)
        if fast is True and not ok:
            raise ValueError(f"fast=True but the structured path cannot be used: {reason}")
        if not ok and not hasattr(self, "_matrix") and self.problem.dim in (2, 3):
            warnings.warn(
                f"using assembled sparse matrices (slower) because {reason}; pass fast=False to silence this",
                FastPathWarning,
                stacklevel=3,
            )
        return ok, reason

    def _build_mixed(self) -> None:
        """The float64 fine operator and the refinement loop of ``precision="mixed"``."""
        from .structured.mixed import MatrixResidual, MixedRefinement

        if self.fast:
            from .structured import StencilOperator

            from .._ckernels.mixed import c_mixed

            op = StencilOperator(self._datas[0], np.float64, self.threads)
            self._A64 = op.apply
            c, self.mixed_c_reason = c_mixed(self)
            self._mixed = MixedRefinement(self.hierarchy, op.residual, op64=op, c=c)
        else:
            A = (self._matrix if hasattr(self, "_matrix") else self._datas[0].matrix()).astype(np.float64).tocsr()
            self._A64 = MatrixOperator(A)
            self._mixed = MixedRefinement(self.hierarchy, MatrixResidual(A))

    def _auto_refinement(self) -> Any:
        """The C mixed-precision refinement of ``precision=None`` (built once), or ``None`` where it does not apply."""
        if self._auto is None:
            from .._ckernels.mixed import c_mixed
            from .structured import StencilOperator
            from .structured.mixed import MixedRefinement

            c, self.mixed_c_reason = c_mixed(self)
            if c is None:
                self._auto = False
            else:
                op = StencilOperator(self._datas[0], np.float64, self.threads)
                self._auto = MixedRefinement(self.hierarchy, op.residual, op64=op, c=c)
        return self._auto or None

    def _begin_solve(self, kind, accel):
        self._run = getattr(self, "_mixed", None)
        if (self._run is None and getattr(self, "_auto_mixed", False) and accel is None and kind is CycleKind.V
                and not self.fmg):
            self._run = self._auto_refinement()

    @staticmethod
    def _in_float32_range(norm: float, n: int) -> bool:
        """Whether residual entries of root-mean-square ``norm / sqrt(n)`` are safe for float32 cycles
        (their corrections, ``h^2`` times smaller, stay far from float32's underflow; the sum of
        squares far from its overflow)."""
        rms = norm / math.sqrt(max(n, 1))
        return 1e-20 < rms < 1e15 or norm == 0.0

    def _scale_window(self):
        return self.SCALE_WINDOW_32 if getattr(self, "_run", None) is not None else super()._scale_window()

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_auto"] = None  # compiled-kernel buffers: rebuilt at the next solve
        state["_run"] = state.get("_mixed")
        return state

    def _sparse_levels(self, datas: list) -> list[Level]:
        sm = _smoothers()
        levels: list[Level] = []
        A = self._matrix if hasattr(self, "_matrix") else datas[0].matrix()
        for l, data in enumerate(datas):
            last = l == len(datas) - 1
            if l > 0 and self.coarse == "rediscretize":
                A = data.matrix()
            A = A.astype(self.cycle_dtype)
            name, kw = self.smoothers[l]
            B = sm.build_smoother(name, kw, A, grid=data, post=False)
            B_post = sm.build_smoother(name, kw, A, grid=data, post=True)
            R = P = Pi = None
            if not last and self._uniform_coarse and is_nonnested_step(tuple(data.shape), tuple(datas[l + 1].shape),
                                                                       self.bc):
                # non-nested uniform coarse grid: linear interpolation between the grids (identity along the
                # axes semi-coarsening keeps), no injection
                cs = tuple(datas[l + 1].shape)
                Pm = prolongation(data.shape, self.bc, self.interpolation, coarse_shape=cs).astype(self.cycle_dtype)
                Rm = restriction(data.shape, self.bc, self.interpolation, self.restriction, coarse_shape=cs)
                P, R = MatrixOperator(Pm), MatrixOperator(Rm.astype(self.cycle_dtype))
            elif not last and self.coarsen_axes is not None:
                axes = [a for a, (n, c) in enumerate(zip(data.shape, datas[l + 1].shape)) if n != c]
                Pm = prolongation_axes(data.shape, self.bc, axes)
                scale = 0.5 ** len(axes) if self.restriction == "full-weighting" else 1.0
                P, R = MatrixOperator(Pm.astype(self.cycle_dtype)), MatrixOperator((Pm.T * scale).tocsr().astype(self.cycle_dtype))
            elif not last:
                Pm = prolongation(data.shape, self.bc, self.interpolation).astype(self.cycle_dtype)
                Rm = restriction(data.shape, self.bc, self.interpolation, self.restriction).astype(self.cycle_dtype)
                P, R = MatrixOperator(Pm), MatrixOperator(Rm)
                Pi = MatrixOperator(injection(data.shape, self.bc).astype(self.cycle_dtype))
            coarse_solve = DenseSolve(A, singular=self.singular, dtype=self.cycle_dtype) if last else None
            levels.append(
                Level(
                    A=MatrixOperator(A), B=B, R=R, Pi=Pi, P=P, B_post=B_post, coarse_solve=coarse_solve,
                    shape=tuple(data.shape), meta={"nnz": int(A.nnz), "n": int(A.shape[0])},
                )
            )
            if not last and self.coarse == "galerkin":
                A = (R.M @ A @ P.M).tocsr()
        return levels

    def _symmetric_change(self, l, level, name, options):
        if self.fast:
            return (level, "order", "symmetric")
        post = _smoothers().build_smoother(name, {**options, "order": "symmetric"}, level.A.M, grid=self._datas[l], post=True)
        return (level, "B_post", post)

    # --------------------------------------------------------------- reports
    def _level_sizes(self) -> list[tuple[int, int]]:
        out = []
        for lvl in self.levels:
            n = int(np.prod(lvl.shape)) if lvl.shape else int(lvl.meta.get("n", 0))
            # matrix-free levels: count the stencil entries an assembled matrix would hold
            nnz = int(lvl.meta.get("nnz", 0)) or (2 * len(lvl.shape) + 1) * n
            out.append((n, nnz))
        return out

    _sizes = _level_sizes

    def _header(self) -> str:
        return (
            f"MultigridSolver({self.problem.name if hasattr(self.problem, 'name') else 'matrix'}, "
            f"{'fast structured' if self.fast else 'sparse'} path, dtype={self.dtype.name}"
            + (", precision=mixed)" if self.precision == "mixed" else ")")
        )

    def _extra_repr_lines(self) -> list:
        return [] if self.fast or not self.fast_reason else [f"  (not on the structured path: {self.fast_reason})"]

    # --------------------------------------------------------- vector hooks
    def _to_level(self, b: np.ndarray, dtype: Any = None) -> np.ndarray:
        """Bring a flat or grid-shaped vector into the fine level's layout (default dtype: the solver's)."""
        dt = self.dtype if dtype is None else dtype
        if self.fast:
            return np.ascontiguousarray(b.reshape(self.grid_shape), dtype=dt)
        return np.ascontiguousarray(b.reshape(-1), dtype=dt)

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
        if arr.size and not (math.isfinite(float(arr.max())) and math.isfinite(float(arr.min()))):  # NaN propagates
            raise ValueError(f"{name} contains NaN or Inf")
        return arr

    def _prepare_rhs(self, b, name="b"):
        arr = self._check_rhs(b, name)
        return self._to_level(arr), arr.shape

    def _prepare_x0(self, x0, b, fmt):
        if x0 is None:
            return np.zeros(b.shape, dtype=self.dtype)
        # the solve's own array: level 1 iterates in place in it
        return np.array(self._to_level(self._check_rhs(x0, "x0")), dtype=self.dtype, copy=True)

    def _center(self, x):
        return x - x.mean()

    def _null_fraction(self, b):
        nb = norm2(b)
        return abs(float(b.mean())) * math.sqrt(b.size) / nb if nb > 0 else 0.0

    def _is_zero(self, b):
        return not bool(np.any(b))

    def _absmax(self, b):
        return max(float(b.max()), -float(b.min())) if b.size else 0.0  # no temporary array

    def _residual_norm(self, b, x, fmt, rtol, atol, zero_start):
        self._fmg_pending = bool(getattr(self, "fmg", False) and zero_start and self.J > 1)
        run = getattr(self, "_run", None)
        if run is not None:
            from .structured.mixed import MixedNorm

            return MixedNorm(run, b, run.start(b, x, zero_start))
        first = norm2(b) if zero_start else None  # ||b - A 0|| without the product
        return _Norm(self.levels[0], b, first)

    def _stationary_step(self, kind, b, x):
        fmg, self._fmg_pending = self._fmg_pending, False
        run = getattr(self, "_run", None)
        auto = getattr(self, "_auto", None)
        if run is not None and run is auto and not self._in_float32_range(run.norm(b, x), b.size):
            # residual entries near the float32 limits (an iterate converged far below ||b||): float64 cycles
            run.invalidate()  # they change x in place
            run = None
        if run is not None:
            if fmg:
                return run.fmg_step(kind, b, x, self.nu_pre, self.nu_post, self._prolong64)
            return run.step(kind, b, x, self.nu_pre, self.nu_post)
        if fmg:  # FMG on levels 2..J, x = P u_2 (x is the zero start), then the level-1 cycle
            from .structured.mixed import coarse_fmg

            fine = self.levels[0]
            u2 = coarse_fmg(self.hierarchy, fine.R(b), kind, self.nu_pre, self.nu_post)
            x = fine.correct(x, u2)
        return super()._stationary_step(kind, b, x)

    def _prolong64(self, x, u2):
        """``x += P u2`` in float64 (the fine level's interpolation; mixed-precision FMG)."""
        if self.fast:
            from .structured._common import kernels

            K, t = kernels(), self.levels[0].transfer
            if not getattr(t, "fused", True):  # semi-coarsening transfer
                t.prolong_add(x, u2)
            elif x.ndim == 2:
                K.prolong_add2(x, u2, t.off, np.zeros(u2.shape[1] + 2))
            else:
                K.prolong_add3(x, u2, t.off, np.zeros((u2.shape[1] + 2, u2.shape[2] + 2)))
        else:
            x += self.levels[0].P.M.astype(np.float64) @ u2

    def _stationary_context(self):
        fine = self.levels[0]
        if self.fast and self.nu_post > 0 and getattr(self, "_run", None) is None:
            return fine.fused_norm_tracking()
        return nullcontext()

    def _precondition(self, kind, r):
        shaped = self._to_level(np.asarray(r), getattr(self, "cycle_dtype", self.dtype))
        e = self._run_cycle(kind, shaped, None)
        return np.array(e, dtype=self.dtype, copy=True).reshape(np.shape(r))

    def _operator(self):
        return self.levels[0].A if getattr(self, "_A64", None) is None else self._A64

    def _dot(self, a, b):
        return _dot(a, b)

    def _gmres(self, b, x, M, rtol, atol, maxiter, callback):
        return _fgmres(self._operator(), b, x, M, rtol, atol, maxiter, callback)

    def _finish(self, x, fmt):
        # x is this solve's own array (level 1 iterated in place in it): no copy
        return np.asarray(x, dtype=self.dtype).reshape(fmt)

    def _info(self, fmt):
        run = getattr(self, "_run", None)
        info = {"path": "fast" if self.fast else "sparse", "dtype": self.dtype.name, "fast_reason": self.fast_reason,
                "precision": "mixed" if run is not None else getattr(self, "precision", self.dtype.name)}
        if self.fast:
            info["kernels"] = "c" if run is not None and run.c is not None else "numba"
        return info

    def _check_cg(self) -> None:
        self._check_spd_for_cg()

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
        """One symmetric cycle from a zero guess as a ``scipy.sparse.linalg.LinearOperator``.

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
        return LinearOperator((n, n), matvec=CyclePreconditioner(self, kind, symmetric=True), dtype=self.dtype)


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
