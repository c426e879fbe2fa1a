"""The solver front-end, written once for every backend (pure Python).

:class:`MultigridFrontend` owns what a multigrid *solver* adds to the
algorithms of :mod:`mgcore.cycles` and the drivers of :mod:`mgcore.solve`:
parsing of ``nu``, the cycle and the smoother spec (through the smoother
registry, :mod:`mgcore.registry`), the solvers' defaults, the coarsening
rule (:mod:`mgcore.coarsening`), the symmetric cycle needed by CG and
preconditioning, driver dispatch (stationary cycling, PCG, flexible GMRES),
the :class:`~mgcore.solve.SolveResult` and its info, ``aspreconditioner``
hooks and a ``repr`` with operator and grid complexity.

A backend subclasses it and implements only what differs: building the
levels, converting vectors in and out, norms and inner products.  The
hooks are the methods whose names start with ``_`` and raise
``NotImplementedError`` here; :class:`mgcore.sparse.MultigridSolver` and
:class:`mgcore_torch.TorchMultigridSolver` are the two backends.

This module imports neither numpy nor torch.
"""

from __future__ import annotations

import time
import warnings
from contextlib import contextmanager, nullcontext
from typing import Any, Callable

from .config import parse_smoother_spec
from .cycles import CycleKind, cycle as core_cycle
from .hierarchy import Hierarchy, Level, parse_nu_pair, replaced
from .registry import SOLVER_DEFAULTS, needs_symmetric_post, smoother_names, validate_options
from .solve import IncompatibleRHSWarning, SolveResult, ZeroRHSWarning, check_tolerances, pcg, stationary_solve

__all__ = ["MultigridFrontend", "CycleStep", "CyclePreconditioner", "check_int"]


def check_int(value: Any, name: str, lo: int = 1, allow_none: bool = False) -> int | None:
    """``value`` as an int ``>= lo`` (numpy integers accepted, bools refused)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be an int >= {lo}{' or None' if allow_none else ''}, got {value!r}")
    v = int(value.__index__())
    if v < lo:
        raise ValueError(f"{name} must be an int >= {lo}{' or None' if allow_none else ''}, got {value!r}")
    return v


class CycleStep:
    """One cycle ``x -> cycle(h, b, x)`` of a solver (picklable driver step)."""

    def __init__(self, solver: "MultigridFrontend", b: Any, kind: CycleKind):
        self.solver, self.b, self.kind = solver, b, kind

    def __call__(self, x: Any) -> Any:
        return self.solver._stationary_step(self.kind, self.b, x)


class CyclePreconditioner:
    """``r -> e``: one symmetric cycle from a zero guess (picklable preconditioner).

    With ``symmetric=True`` the cycle runs inside
    :meth:`MultigridFrontend.symmetric_cycle` (for use outside a solve,
    e.g. as a scipy ``LinearOperator``); inside ``solve(accel="cg")`` the
    front-end has already switched.
    """

    def __init__(self, solver: "MultigridFrontend", kind: CycleKind, symmetric: bool = False):
        self.solver, self.kind, self.symmetric = solver, kind, symmetric

    def __call__(self, r: Any) -> Any:
        s = self.solver
        ctx = s.symmetric_cycle() if self.symmetric else nullcontext()
        with ctx:
            return s._precondition(self.kind, r)


class MultigridFrontend:
    """Backend-neutral multigrid solver: options, defaults, drivers, reports.

    Subclasses call :meth:`_init_options` early in their constructor, build
    the level data with :meth:`level_count` / the problem's
    ``hierarchy_data``, parse the smoothers with :meth:`_parse_smoothers`,
    build ``self.hierarchy`` and implement the hooks.

    Attributes
    ----------
    nu_pre, nu_post : int
        Smoothing steps before and after the coarse-grid correction.
    cycle_kind : CycleKind
        Default cycle of :meth:`solve`.
    smoothers : list of (str, dict)
        Per level (level 1 = finest first) the canonical smoother name and
        its options, solver defaults applied.
    hierarchy : Hierarchy
        The levels.
    J : int
        Number of levels.
    setup_seconds : float
    """

    #: registry backend whose smoothers this solver builds
    backend: str = "sparse"
    #: ``accel`` values :meth:`solve` accepts
    ACCELERATIONS: tuple = (None, "cg", "gmres")
    #: human name in ``repr``
    display_name: str = "MultigridSolver"

    hierarchy: Hierarchy
    smoothers: list

    # ------------------------------------------------------------------ options
    def _init_options(self, nu: Any, cycle: Any) -> None:
        self.nu_pre, self.nu_post = parse_nu_pair(nu)
        self.cycle_kind = CycleKind.parse(cycle)
        self._sym_cache: list | None = None
        self._in_symmetric = False

    def _parse_smoothers(self, spec: Any, J: int, backend: str | None = None) -> list:
        """Per-level ``(name, options)``: grammar, registry validation, solver defaults.

        Options are validated for ``backend`` (default: this solver's);
        :data:`mgcore.registry.SOLVER_DEFAULTS` fill options the user did not give.
        """
        backend = self.backend if backend is None else backend
        parsed = parse_smoother_spec(spec, J, smoother_names(backend))
        out = []
        for name, kw in parsed:
            kw = validate_options(name, kw, backend)
            for k, v in SOLVER_DEFAULTS.get(name, {}).items():
                kw.setdefault(k, v)
            out.append((name, kw))
        return out

    # ------------------------------------------------------------ symmetric cycle
    def _symmetric_change(self, l: int, level: Level, name: str, options: dict) -> tuple:
        """Hook: ``(obj, attr, value)`` that makes level ``l`` (0-based) post-smooth adjointly."""
        raise NotImplementedError

    @contextmanager
    def symmetric_cycle(self):
        """Context in which one cycle is a symmetric operator (CG, preconditioning).

        Red-black Gauss-Seidel post-smooths red first by default (the faster
        stationary cycle); here it post-smooths black first, the adjoint of
        its red-first pre-smoothing.  The other smoothers are already
        symmetric with the post-smoother built as the adjoint of the
        pre-smoother (see :func:`mgcore.registry.needs_symmetric_post`).
        """
        if self._sym_cache is None:
            self._sym_cache = [
                self._symmetric_change(l, lvl, name, kw)
                for l, (lvl, (name, kw)) in enumerate(zip(self.levels, self.smoothers))
                if needs_symmetric_post(name, kw)
            ]
        with replaced(list(self._sym_cache) + [(self, "_in_symmetric", True)]):
            yield self

    # ------------------------------------------------------------------ reports
    @property
    def levels(self) -> list:
        """The hierarchy's levels (index 0 = level 1, the finest)."""
        return self.hierarchy.levels

    def _level_sizes(self) -> list:
        """Hook: per level ``(unknowns, nonzeros of A)``."""
        raise NotImplementedError

    @property
    def operator_complexity(self) -> float:
        """``sum_l nnz(A_l) / nnz(A_1)``."""
        s = self._level_sizes()
        return sum(z for _, z in s) / max(s[0][1], 1)

    @property
    def grid_complexity(self) -> float:
        """``sum_l n_l / n_1``."""
        s = self._level_sizes()
        return sum(n for n, _ in s) / max(s[0][0], 1)

    def cycle_complexity(self, cycle: Any = None) -> float:
        """Work of one cycle in units of one fine-level matrix-vector product.

        Counts ``nu_pre + nu_post`` smoothing steps and one residual per
        visit of a level (``nnz(A_l)`` each) times the number of visits of
        that level in the cycle (V: 1, W: ``2^(l-1)``, F: ``l``).
        """
        kind = self.cycle_kind if cycle is None else CycleKind.parse(cycle)
        s = self._level_sizes()
        work = 0.0
        for l, (_, nnz) in enumerate(s):
            visits = {CycleKind.V: 1, CycleKind.W: 2 ** l, CycleKind.F: l + 1}[kind]
            steps = (self.nu_pre + self.nu_post + 1) if l < len(s) - 1 else 1
            work += visits * steps * nnz
        return work / max(s[0][1], 1)

    def _header(self) -> str:
        """Hook: first line of ``repr``."""
        return f"{self.display_name}()"

    def _extra_repr_lines(self) -> list:
        return []

    def __repr__(self) -> str:
        s = self._level_sizes()
        names = sorted({name for name, _ in self.smoothers}, key=[n for n, _ in self.smoothers].index)
        lines = [
            self._header(),
            *self._extra_repr_lines(),
            f"  cycle={self.cycle_kind.value}({self.nu_pre},{self.nu_post}), "
            + (f"coarse={self.coarse}, " if getattr(self, "coarse", None) else "")
            + f"smoother={'/'.join(names)}",
            f"  levels={len(s)}, operator complexity={self.operator_complexity:.3f}, "
            f"grid complexity={self.grid_complexity:.3f}, cycle complexity={self.cycle_complexity():.2f}",
            "  level   grid            unknowns        nnz",
        ]
        for l, ((n, z), lvl) in enumerate(zip(s, self.levels), start=1):
            grid = "x".join(map(str, lvl.shape)) if lvl.shape else "-"
            lines.append(f"  {l:>5}   {grid:<14}{n:>10}{z:>11}")
        return "\n".join(lines)

    # ------------------------------------------------------------------- hooks
    def _run_cycle(self, kind: CycleKind, f: Any, u: Any) -> Any:
        """One cycle (a backend may capture or fuse it)."""
        return core_cycle(self.hierarchy, f, u, kind, self.nu_pre, self.nu_post)

    def _stationary_step(self, kind: CycleKind, b: Any, x: Any) -> Any:
        """One step of the stationary iteration (a backend may refine in another precision)."""
        return self._run_cycle(kind, b, x)

    def _precondition(self, kind: CycleKind, r: Any) -> Any:
        """One cycle from zero applied to an internal residual (backends may copy/reshape)."""
        return self._run_cycle(kind, r, None)

    def _prepare_rhs(self, b: Any, name: str = "b") -> tuple:
        """Hook: validated internal right-hand side and how to give results back."""
        raise NotImplementedError

    def _prepare_x0(self, x0: Any, b: Any, fmt: Any) -> Any:
        """Hook: the internal initial iterate (``None`` when ``x0`` is None: zero)."""
        raise NotImplementedError

    def _center(self, x: Any) -> Any:
        """Hook: remove the null-space component (singular problems)."""
        raise NotImplementedError

    def _null_fraction(self, b: Any) -> float:
        """Hook: ``||b - center(b)|| / ||b||`` (largest over a batch)."""
        return 0.0

    def _absmax(self, b: Any) -> float | None:
        """Hook: ``max |b|`` (``None``: no rescaling of extreme right-hand sides)."""
        return None

    #: ``max |b|`` outside this open interval: the solve runs on ``b / max |b|`` (norms square it)
    SCALE_WINDOW = (1e-100, 1e100)
    #: the same for cycles in float32 (range 1e-38 .. 3e38): residuals ``rtol ||b||`` and the products
    #: ``A x`` of a fine grid stay far inside it
    SCALE_WINDOW_32 = (1e-12, 1e12)

    def _scale_window(self) -> tuple:
        """Hook: ``(lo, hi)``; ``b`` is rescaled unless ``lo < max |b| < hi``."""
        if str(getattr(self, "cycle_dtype", "")).endswith("float32"):
            return self.SCALE_WINDOW_32
        return self.SCALE_WINDOW

    def _begin_solve(self, kind: CycleKind, accel: str | None) -> None:
        """Hook: called once the arguments of a solve are checked (a backend may choose its kernels here)."""

    def _is_zero(self, b: Any) -> bool:
        """Hook: whether every entry of ``b`` is zero."""
        return False

    def _residual_norm(self, b: Any, x: Any, fmt: Any, rtol: float, atol: float, zero_start: bool) -> Callable:
        """Hook: ``x -> ||b - A x||`` for the stationary driver (``zero_start``: ``x0`` was zero)."""
        raise NotImplementedError

    def _stationary_options(self, fmt: Any, rtol: float, atol: float) -> dict:
        return {"rtol": rtol, "atol": atol}

    def _operator(self) -> Callable:
        """Hook: the fine-level operator ``x -> A x`` on internal vectors."""
        raise NotImplementedError

    def _dot(self, a: Any, b: Any) -> float:
        """Hook: inner product of internal vectors."""
        raise NotImplementedError

    def _gmres(self, b: Any, x: Any, M: Callable, rtol: float, atol: float, maxiter: int, callback) -> SolveResult:
        raise ValueError(f"accel='gmres' is not available on the {self.backend} backend")

    def _check_cg(self) -> None:
        """Hook: raise if a CG solve cannot work (non-symmetric operator or smoother)."""

    def _solve_context(self):
        return nullcontext()

    def _stationary_context(self):
        return nullcontext()

    def _finish(self, x: Any, fmt: Any) -> Any:
        """Hook: the internal iterate in the user's layout."""
        raise NotImplementedError

    def _info(self, fmt: Any) -> dict:
        return {}

    @property
    def n_unknowns(self) -> int:
        return self._level_sizes()[0][0]

    # ------------------------------------------------------------------- solve
    def solve(
        self,
        b: Any,
        x0: Any = None,
        rtol: float = 1e-8,
        atol: float = 0.0,
        maxiter: int = 100,
        cycle: Any = None,
        accel: str | None = None,
        callback: Callable[[Any, int, float], Any] | None = None,
        residuals: list | None = None,
    ) -> SolveResult:
        """Solve ``A x = b``.

        Parameters
        ----------
        b : array_like
            Right-hand side, flat ``(n,)`` or grid-shaped (backends may also
            take a batch).
        x0 : array_like, optional
            Initial guess (default zero).
        rtol, atol : float
            Stop when ``||b - A x|| <= max(rtol ||b - A x0||, atol)``.
        maxiter : int
            Maximum cycles (stationary) or Krylov iterations.
        cycle : {"V", "W", "F"}, optional
            Overrides the solver's default cycle.
        accel : {None, "cg", "gmres"}
            Krylov acceleration with one cycle as preconditioner (a backend
            lists what it has in ``ACCELERATIONS``).  ``"cg"`` needs a
            symmetric positive (semi-)definite operator; the cycle is made
            symmetric (:meth:`symmetric_cycle`).
        callback : callable, optional
            ``callback(x, k, residual_norm)`` after each iteration.
        residuals : list, optional
            If given, the residual history is appended to it (pyamg style).

        Returns
        -------
        SolveResult
            ``x`` in the layout of ``b``, the residual history, the average
            convergence factor and the stop reason.
        """
        t0 = time.perf_counter()
        if accel not in self.ACCELERATIONS:
            raise ValueError(f"accel must be one of {self.ACCELERATIONS}, got {accel!r}")
        rtol, atol, maxiter = check_tolerances(rtol, atol, maxiter)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
        if residuals is not None and not isinstance(residuals, list):
            raise TypeError(f"residuals must be a list (the history is appended to it) or None, got {type(residuals).__name__}")
        kind = self.cycle_kind if cycle is None else CycleKind.parse(cycle)
        bl, fmt = self._prepare_rhs(b, "b")
        self._begin_solve(kind, accel)
        projected = 0.0
        if getattr(self, "singular", False):
            projected = self._null_fraction(bl)
            bl = self._center(bl)
            if projected > 1e-10:
                warnings.warn(
                    f"b is not compatible with the singular (pure Neumann) operator: {projected:.3g} of its norm lies "
                    "in the null space (constants) and was projected out; the solution solves the projected system "
                    "(make sum(b) = 0 to silence this)",
                    IncompatibleRHSWarning,
                    stacklevel=2,
                )
        if self._is_zero(bl) and x0 is None:
            warnings.warn(
                "b is zero" + (" after projecting out the null space" if projected > 0 else "")
                + ": the solution returned is x = 0",
                ZeroRHSWarning,
                stacklevel=2,
            )
        x = self._prepare_x0(x0, bl, fmt)
        # a linear problem: solve for b / s when |b| is near overflow or underflow (norms square it)
        s = self._absmax(bl) if x0 is None else None
        lo, hi = self._scale_window()
        scaled = s is not None and s > 0 and not (lo < s < hi)
        if scaled:
            bl = bl * (1.0 / s)
            atol = atol / s
        with self._solve_context():
            if accel is None:
                norm = self._residual_norm(bl, x, fmt, rtol, atol, x0 is None)
                with self._stationary_context():
                    res = stationary_solve(
                        CycleStep(self, bl, kind), norm, x, maxiter=maxiter, callback=callback,
                        **self._stationary_options(fmt, rtol, atol),
                    )
                after = getattr(norm, "after_solve", None)
                if after is not None:
                    after(res)
            elif accel == "cg":
                self._check_cg()
                with self.symmetric_cycle():
                    res = pcg(
                        self._operator(), bl, x, CyclePreconditioner(self, kind), self._dot, rtol=rtol, atol=atol,
                        maxiter=maxiter, callback=callback,
                    )
            else:
                res = self._gmres(bl, x, CyclePreconditioner(self, kind), rtol, atol, maxiter, callback)
            xi = res.x
            if xi is None:
                xi = bl - bl
            if getattr(self, "singular", False):
                xi = self._center(xi)
            if scaled:
                xi = xi * s
                res.residuals = [r * s for r in res.residuals]
                res.info["rhs_scale"] = s
            res.x = self._finish(xi, fmt)
        res.setup_seconds = getattr(self, "setup_seconds", 0.0)
        res.solve_seconds = time.perf_counter() - t0
        if projected > 1e-10:
            res.info["projected_rhs_fraction"] = projected
        res.info.update(
            cycle=kind.value, accel=accel or "none", nu_pre=self.nu_pre, nu_post=self.nu_post, levels=self.J,
            n_unknowns=self.n_unknowns, **self._info(fmt),
        )
        if residuals is not None:
            residuals.extend(res.residuals)
        return res
