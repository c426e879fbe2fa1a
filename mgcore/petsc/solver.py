"""Multigrid on PETSc: the core's configuration run by ``PCMG`` over MPI.

:class:`PetscMultigridSolver` builds a gallery problem
(:mod:`mgcore.problems`) on a DMDA per level (:mod:`mgcore.petsc.grid`),
with the operators, transfers and smoothers of the sparse backend, and
hands them to PETSc's ``PCMG``: PETSc then runs the V- or W-cycles in C on
every rank.  :class:`PetscHierarchySolver` is the same solver over given
matrices (see :func:`mgcore.petsc.to_petsc`).

What maps to what
-----------------

================================ ==============================================
mgcore                           PETSc
================================ ==============================================
level 1 (finest) .. J            PCMG level J-1 .. 0
``P_l`` (bilinear / linear)      ``PCMGSetInterpolation``
``R_l = P_l^T / 2^d`` or ``P^T``  ``PCMGSetRestriction`` (explicit matrix)
``"rediscretize"`` / Galerkin     level matrices / ``MatPtAP`` (times ``2^-d``)
``nu = (pre, post)``             ``max_it`` of the down / up smoother
``richardson`` (omega)           ``KSPRICHARDSON`` (scale omega) + ``PCNONE``
``jacobi`` (omega)               ``KSPRICHARDSON`` (scale omega) + ``PCJACOBI``
``gauss-seidel`` (sweep)         ``KSPRICHARDSON`` + ``PCSOR`` (omega 1, local
                                 forward/backward/symmetric sweeps)
``chebyshev`` (degree, interval)  ``KSPCHEBYSHEV`` (eigenvalue targets, Jacobi or
                                 no PC), wrapped in ``KSPRICHARDSON`` + ``PCKSP``
                                 when ``nu > 1`` (one polynomial per step)
coarsest level (exact)           ``KSPPREONLY`` + ``PCLU`` (``PCSVD`` for pure
                                 Neumann), ``PCREDUNDANT`` on several ranks
stationary iteration             ``x <- x + PCMG(b - A x)``, history and stop
                                 rule of :func:`mgcore.solve.stationary_solve`
``accel="cg"`` / ``"gmres"``     ``KSPCG`` / ``KSPFGMRES`` (restart 30) with PCMG
================================ ==============================================

On one rank the iterates equal the sparse backend's (``MultigridSolver(...,
fast=False)``) to round-off for Richardson, Jacobi, Chebyshev and
Gauss-Seidel: the grid ordering is mgcore's and the smoother parameters
(Jacobi's ``omega``, the Chebyshev interval from a Lanczos estimate of
``lambda_max``) are computed by the sparse backend's own smoother classes
on levels of at most ``replicate_limit`` unknowns.  On several ranks
Richardson, Jacobi and Chebyshev give the same iterates as on one (up to
the order of sums), while PETSc's SOR is Gauss-Seidel inside each rank's
box and Jacobi between boxes (a rank-dependent, slightly weaker smoother).
Red-black Gauss-Seidel and the polynomial smoothers have no PETSc
counterpart; neither has the F-cycle (``PCMG``'s "full" type is full
multigrid, a different algorithm).
"""

from __future__ import annotations

import itertools
import math
import time
import warnings
from typing import Any, Callable, Sequence

import numpy as np

from ..config import parse_smoother_spec
from ..cycles import CycleKind
from ..hierarchy import parse_nu_pair
from ..problems.grid import GridProblem
from ..solve import SolveResult, StopReason, check_tolerances, stationary_solve
from ._env import import_petsc

__all__ = [
    "PetscMultigridSolver",
    "PetscHierarchySolver",
    "PETSC_SMOOTHERS",
    "PETSC_CYCLES",
    "ACCELERATIONS",
    "GATHER_MODES",
]

#: smoothers with a PETSc counterpart (canonical names of :mod:`mgcore.registry`)
PETSC_SMOOTHERS = ("richardson", "jacobi", "gauss-seidel", "chebyshev")
#: cycles PCMG runs
PETSC_CYCLES = ("V", "W")
#: Krylov accelerations of :meth:`PetscHierarchySolver.solve`
ACCELERATIONS = (None, "cg", "gmres")
#: what :meth:`PetscHierarchySolver.solve` returns as ``x``
GATHER_MODES = ("all", "root", "none")
#: default smoother of the PETSc solvers
DEFAULT_SMOOTHER = "gauss-seidel"

_MISSING = {
    "red-black": "PETSc has no red-black Gauss-Seidel for AIJ matrices",
    "polynomial": "PETSc has no smoother from given polynomial roots or coefficients",
}
_PREFIX = itertools.count()


def _all_smoother_names() -> tuple:
    try:
        from ..registry import smoother_names

        return tuple(smoother_names())
    except ImportError:  # pragma: no cover - older core
        return PETSC_SMOOTHERS + tuple(_MISSING)


def _validate_options(name: str, kw: dict) -> dict:
    try:
        from ..registry import validate_options
    except ImportError:  # pragma: no cover - older core
        return dict(kw)
    return validate_options(name, kw)


def parse_petsc_smoothers(spec: Any, J: int) -> list:
    """Per-level ``(name, options)`` of a smoother spec, checked for PETSc.

    The grammar is :func:`mgcore.config.parse_smoother_spec`'s; names
    without a PETSc counterpart raise ``ValueError`` saying why and what to
    use instead.
    """
    parsed = parse_smoother_spec(spec, J, _all_smoother_names())
    out = []
    for name, kw in parsed:
        if name not in PETSC_SMOOTHERS:
            why = _MISSING.get(name, "PETSc has no counterpart")
            raise ValueError(
                f"smoother {name!r} is not available with the PETSc backend: {why}; "
                f"use one of {', '.join(PETSC_SMOOTHERS)} (e.g. 'gauss-seidel' for PETSc's SOR)"
            )
        out.append((name, _validate_options(name, kw)))
    return out


def _check_int(value: Any, name: str, lo: int, allow_none: bool = False) -> int | None:
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not hasattr(value, "__index__") or int(value.__index__()) < lo:
        raise ValueError(f"{name} must be an int >= {lo}{' or None' if allow_none else ''}, got {value!r}")
    return int(value.__index__())


def _parse_cycle(cycle: Any) -> CycleKind:
    kind = CycleKind.parse(cycle)
    if kind.value not in PETSC_CYCLES:
        raise ValueError(
            f"cycle {kind.value!r} is not available with the PETSc backend: PCMG runs V- and W-cycles "
            "(its 'full' type is full multigrid, not the F-cycle); use cycle='V' or 'W'"
        )
    return kind


class _Options:
    """Set PETSc options under a fresh prefix, let an object read them, remove them."""

    def __init__(self, PETSc: Any, prefix: str):
        self.PETSc, self.prefix, self.items = PETSc, prefix, {}

    def __setitem__(self, key: str, value: Any) -> None:
        self.items[key] = value

    def apply(self, obj: Any) -> None:
        opts = self.PETSc.Options()
        for k, v in self.items.items():
            opts[self.prefix + k] = "" if v is True else v
        try:
            obj.setOptionsPrefix(self.prefix)
            obj.setFromOptions()
        finally:
            for k in self.items:
                opts.delValue(self.prefix + k)


def _reason(PETSc: Any, code: int) -> tuple[StopReason, dict]:
    R = PETSc.KSP.ConvergedReason
    if code > 0:
        return StopReason.CONVERGED, {}
    if code == R.DIVERGED_MAX_IT:
        return StopReason.MAXITER, {}
    if code == R.DIVERGED_NANORINF:
        return StopReason.NONFINITE, {}
    if code == R.DIVERGED_DTOL:
        return StopReason.DIVERGED, {}
    names = {v: k for k, v in vars(R).items() if isinstance(v, int)}
    return StopReason.DIVERGED, {"breakdown": f"PETSc stopped with {names.get(code, code)}"}


class PetscHierarchySolver:
    """Multigrid over given PETSc matrices: PCMG with the core's configuration.

    Use :class:`PetscMultigridSolver` for the gallery problems and
    :func:`mgcore.petsc.to_petsc` for an existing mgcore hierarchy; both
    build this solver.  All methods are collective over the communicator.

    Attributes
    ----------
    ksp, pc : PETSc.KSP, PETSc.PC
        The outer KSP and its ``PCMG`` (``ksp`` is re-typed by ``solve``:
        Richardson for stationary cycling, CG or FGMRES for ``accel``).
    layouts : list
        Per level (finest first) the row distribution
        (:class:`~mgcore.petsc.grid.GridLayout` or ``ContiguousLayout``).
    matrices : list of PETSc.Mat
        The level operators ``A_l`` (finest first).
    smoothers : list of (str, dict)
        Per level the smoother and its options.
    smoother_parameters : list of dict
        Per level the numbers handed to PETSc (``omega``, ``interval``).
    nu_pre, nu_post : int
    cycle_kind : CycleKind
    J : int
    comm : PETSc.Comm
    setup_seconds : float
    """

    backend = "petsc"
    ACCELERATIONS = ACCELERATIONS
    display_name = "PetscHierarchySolver"

    # ------------------------------------------------------------ building
    def _build(
        self,
        PETSc: Any,
        layouts: list,
        As: list,
        Ps: list,
        Rs: list,
        smoothers: list,
        parameters: list,
        singular: bool,
        shapes: list,
    ) -> None:
        self.PETSc = PETSc
        self.layouts, self.matrices, self.prolongations, self.restrictions = layouts, As, Ps, Rs
        self.smoothers, self.smoother_parameters = smoothers, parameters
        self.singular = bool(singular)
        self.shapes = shapes
        self.J = len(As)
        comm = self.comm
        ksp = PETSc.KSP().create(comm)
        ksp.setOperators(As[0], As[0])
        pc = ksp.getPC()
        pc.setType(PETSc.PC.Type.MG)
        pc.setMGLevels(self.J)
        pc.setMGType(PETSc.PC.MGType.MULTIPLICATIVE)
        self._set_cycle(pc, self.cycle_kind)
        tag = f"mgcore{next(_PREFIX)}_"
        for l in range(self.J):
            k = self.J - 1 - l  # PETSc numbers levels from the coarsest
            if l < self.J - 1:
                pc.setMGInterpolation(k, Ps[l])
                pc.setMGRestriction(k, Rs[l])
            if l == self.J - 1:
                self._configure_coarse(pc.getMGCoarseSolve(), As[l], f"{tag}coarse_")
                continue
            down = pc.getMGSmootherDown(k)
            up = pc.getMGSmootherUp(k)
            if up.getPC().handle == down.getPC().handle:  # pragma: no cover - PETSc versions that share the PC
                up.setPC(PETSc.PC().create(comm))
            name, kw = smoothers[l]
            for ksp_l, post, nu, side in ((down, False, self.nu_pre, "d"), (up, True, self.nu_post, "u")):
                ksp_l.setOperators(As[l], As[l])
                self._configure_smoother(ksp_l, name, kw, parameters[l], post, nu, f"{tag}l{l + 1}{side}_")
        o = _Options(PETSc, f"{tag}outer_")
        o["ksp_converged_use_initial_residual_norm"] = True
        o.apply(ksp)
        ksp.setUp()
        self.ksp, self.pc = ksp, pc
        self._sizes = []
        for A in As:  # collective: computed once here, so that repr() is not
            info = A.getInfo(PETSc.Mat.InfoType.GLOBAL_SUM)
            self._sizes.append((int(A.getSize()[0]), int(info["nz_used"])))
        self._work = [As[0].createVecLeft() for _ in range(2)]

    def _set_cycle(self, pc: Any, kind: CycleKind) -> None:
        T = self.PETSc.PC.MGCycleType
        pc.setMGCycleType(T.W if kind is CycleKind.W else T.V)

    def _configure_coarse(self, ksp: Any, A: Any, prefix: str) -> None:
        PETSc = self.PETSc
        ksp.setOperators(A, A)
        o = _Options(PETSc, prefix)
        o["ksp_type"] = "preonly"
        direct = "svd" if self.singular else "lu"
        if self.comm.getSize() > 1:
            o["pc_type"] = "redundant"
            o["redundant_pc_type"] = direct
        else:
            o["pc_type"] = direct
        o.apply(ksp)

    def _configure_smoother(self, ksp: Any, name: str, kw: dict, par: dict, post: bool, nu: int, prefix: str) -> None:
        PETSc = self.PETSc
        ksp.setInitialGuessNonzero(True)
        ksp.setNormType(PETSc.KSP.NormType.NONE)
        o = _Options(PETSc, prefix)
        o["ksp_convergence_test"] = "skip"
        o["ksp_max_it"] = str(int(nu))
        if nu == 0:
            o["ksp_type"] = "richardson"
            o["pc_type"] = "none"
        elif name in ("richardson", "jacobi"):
            o["ksp_type"] = "richardson"
            o["ksp_richardson_scale"] = repr(float(par["omega"]))
            o["pc_type"] = "jacobi" if name == "jacobi" else "none"
        elif name == "gauss-seidel":
            sweep = kw.get("sweep", "forward")
            if post:
                sweep = {"forward": "backward", "backward": "forward"}.get(sweep, sweep)
            o["ksp_type"] = "richardson"
            o["pc_type"] = "sor"
            o["pc_sor_omega"] = "1.0"
            o[f"pc_sor_local_{sweep}"] = True
        elif name == "chebyshev":
            lo, hi = par["interval"]
            pc_type = "jacobi" if kw.get("precondition", "jacobi") == "jacobi" else "none"
            cheb = {"ksp_chebyshev_eigenvalues": f"{lo!r},{hi!r}", "pc_type": pc_type}
            if nu == 1:  # one polynomial of `degree`
                o["ksp_type"] = "chebyshev"
                o["ksp_max_it"] = str(int(par["degree"]))
                for k, v in cheb.items():
                    o[k] = v
            else:  # nu restarted polynomials: Richardson over a Chebyshev solve from zero
                o["ksp_type"] = "richardson"
                o["ksp_richardson_scale"] = "1.0"
                o["pc_type"] = "ksp"
                o.apply(ksp)
                inner = ksp.getPC().getKSP()
                inner.setInitialGuessNonzero(False)
                inner.setNormType(PETSc.KSP.NormType.NONE)
                oi = _Options(PETSc, prefix + "in_")
                oi["ksp_type"] = "chebyshev"
                oi["ksp_max_it"] = str(int(par["degree"]))
                oi["ksp_convergence_test"] = "skip"
                for k, v in cheb.items():
                    oi[k] = v
                oi.apply(inner)
                return
        else:  # pragma: no cover - parse_petsc_smoothers rejects the rest
            raise ValueError(f"smoother {name!r} has no PETSc counterpart")
        o.apply(ksp)

    # ------------------------------------------------------------- vectors
    @property
    def fine(self):
        """The finest level's layout."""
        return self.layouts[0]

    def create_vec(self):
        """A zero vector of the finest level (PETSc global layout)."""
        return self.fine.create_vec()

    def vec_from_array(self, arr: Any):
        """A finest-level vector from a global numpy array (flat or grid-shaped, on every rank)."""
        return self.fine.vec_from_array(self._check_array(arr, "b"))

    def gather(self, v: Any, root_only: bool = False) -> np.ndarray | None:
        """A finest-level vector as a flat global numpy array (mgcore order) on every rank
        (``root_only``: on rank 0, ``None`` elsewhere)."""
        return self.fine.gather(v, root_only=root_only)

    def _check_array(self, b: Any, name: str) -> np.ndarray:
        try:
            arr = np.asarray(b)
        except Exception:
            raise TypeError(f"{name} must be array-like or a PETSc Vec, got {type(b).__name__}") from None
        n = self.fine.size
        shapes = ((n,),) + ((tuple(self.shapes[0]),) if self.shapes[0] else ())
        if arr.shape not in shapes:
            raise ValueError(f"{name} must have shape {' or '.join(map(str, shapes))}, got {arr.shape}")
        if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} contains NaN or Inf")
        return arr

    def _to_vec(self, b: Any, name: str) -> tuple[Any, tuple | None]:
        PETSc = self.PETSc
        if isinstance(b, PETSc.Vec):
            if b.getSize() != self.fine.size or b.getLocalSize() != self.fine.nlocal:
                raise ValueError(
                    f"{name}: a PETSc Vec must have the finest level's layout "
                    f"({self.fine.size} entries, {self.fine.nlocal} on this rank; use solver.create_vec())"
                )
            return b.copy(), None
        arr = self._check_array(b, name)
        return self.fine.vec_from_array(arr), arr.shape

    def _center(self, v: Any) -> float:
        mean = v.sum() / v.getSize()
        v.shift(-mean)
        return mean

    # --------------------------------------------------------------- solve
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
        gather: str = "all",
    ) -> SolveResult:
        """Solve ``A x = b`` (collective).

        Parameters
        ----------
        b : array_like or PETSc.Vec
            Right-hand side: a global array (flat or grid-shaped, the same on
            every rank; each rank copies its part) or a finest-level PETSc
            vector (:meth:`create_vec`, :meth:`PetscMultigridSolver.rhs`).
        x0 : array_like or PETSc.Vec, optional
            Initial guess (default zero).
        rtol, atol : float
            Stop when ``||b - A x|| <= max(rtol ||b - A x0||, atol)``.
        maxiter : int
            Maximum cycles (stationary) or Krylov iterations.
        cycle : {"V", "W"}, optional
            Overrides the solver's cycle for this solve.
        accel : {None, "cg", "gmres"}
            ``None``: stationary cycling ``x <- x + PCMG(b - A x)``;
            ``"cg"``: PETSc's CG (the cycle is symmetric: the post-smoother
            is the adjoint of the pre-smoother); ``"gmres"``: FGMRES(30).
        callback : callable, optional
            ``callback(x, k, residual_norm)`` after each stationary iteration
            (``x`` is the PETSc vector).
        residuals : list, optional
            The residual history is appended to it.
        gather : {"all", "root", "none"}
            ``x`` of the result: a numpy array shaped like ``b`` on every
            rank, on rank 0 only (``None`` elsewhere), or the distributed
            PETSc vector (for large problems).

        Returns
        -------
        SolveResult
            History ``||b - A x_k||_2`` (the same number on every rank),
            convergence factor, stop reason; ``info`` has the cycle, the
            number of ranks and ``"path": "petsc"``.
        """
        t0 = time.perf_counter()
        PETSc = self.PETSc
        if accel not in self.ACCELERATIONS:
            raise ValueError(f"accel must be one of {self.ACCELERATIONS}, got {accel!r}")
        check_tolerances(rtol, atol, maxiter)
        if gather not in GATHER_MODES:
            raise ValueError(f"gather must be one of {GATHER_MODES}, got {gather!r}")
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable or None, got {type(callback).__name__}")
        if residuals is not None and not isinstance(residuals, list):
            raise TypeError(f"residuals must be a list or None, got {type(residuals).__name__}")
        kind = self.cycle_kind if cycle is None else _parse_cycle(cycle)
        if accel == "cg":
            self._check_cg()
        bv, fmt = self._to_vec(b, "b")
        info: dict = {}
        if self.singular:
            nb = bv.norm()
            mean = self._center(bv)
            frac = abs(mean) * math.sqrt(bv.getSize()) / nb if nb > 0 else 0.0
            if frac > 1e-10:
                info["projected_rhs_fraction"] = frac
                warnings.warn(
                    f"b is not compatible with the singular (pure Neumann) operator: {frac:.3g} of its norm lies "
                    "in the null space (constants) and was projected out (make sum(b) = 0 to silence this)",
                    _incompatible_warning(),
                    stacklevel=2,
                )
        if x0 is None:
            x = self.create_vec()
        else:
            x, _ = self._to_vec(x0, "x0")
        if kind is not self.cycle_kind:
            self._set_cycle(self.pc, kind)
        try:
            if accel is None:
                res = self._stationary(bv, x, x0 is None, rtol, atol, maxiter, callback)
            else:
                res = self._krylov(accel, bv, x, x0 is not None, rtol, atol, maxiter)
        finally:
            if kind is not self.cycle_kind:
                self._set_cycle(self.pc, self.cycle_kind)
        if self.singular:
            self._center(x)
        if gather == "none":
            res.x = x
        else:
            flat = self.fine.gather(x, root_only=(gather == "root"))
            if flat is not None and fmt is not None:
                flat = flat.reshape(fmt)
            res.x = flat
        res.setup_seconds = self.setup_seconds
        res.solve_seconds = time.perf_counter() - t0
        res.info.update(info)
        res.info.update(
            cycle=kind.value, accel=accel or "none", nu_pre=self.nu_pre, nu_post=self.nu_post, levels=self.J,
            n_unknowns=int(self.fine.size), path="petsc", ranks=int(self.comm.getSize()),
            smoother=self.smoothers[0][0] if self.smoothers else "none", dtype="float64",
        )
        if residuals is not None:
            residuals.extend(res.residuals)
        return res

    def _stationary(self, b, x, zero_start: bool, rtol, atol, maxiter, callback) -> SolveResult:
        A, pc = self.matrices[0], self.pc
        r, e = self._work
        state = {"fresh": False}

        def norm(v):
            if zero_start and not state.get("started"):
                state["started"] = True
                b.copy(r)  # ||b - A 0|| without the product
            else:
                A.mult(v, r)
                r.aypx(-1.0, b)
            state["fresh"] = True
            return r.norm()

        def step(v):
            if not state["fresh"]:
                A.mult(v, r)
                r.aypx(-1.0, b)
            state["fresh"] = False
            pc.apply(r, e)
            v.axpy(1.0, e)
            return v

        return stationary_solve(step, norm, x, rtol=rtol, atol=atol, maxiter=maxiter, callback=callback)

    def _krylov(self, accel: str, b, x, nonzero: bool, rtol, atol, maxiter) -> SolveResult:
        PETSc = self.PETSc
        ksp = self.ksp
        if accel == "cg":
            ksp.setType(PETSc.KSP.Type.CG)
            ksp.setPCSide(PETSc.PC.Side.LEFT)
        else:
            ksp.setType(PETSc.KSP.Type.FGMRES)
            ksp.setGMRESRestart(30)
            ksp.setPCSide(PETSc.PC.Side.RIGHT)
        ksp.setNormType(PETSc.KSP.NormType.UNPRECONDITIONED)
        ksp.setTolerances(rtol=rtol, atol=atol, divtol=1e4, max_it=maxiter)
        ksp.setInitialGuessNonzero(bool(nonzero))
        ksp.setConvergenceHistory(length=maxiter + 1, reset=True)
        ksp.solve(b, x)
        hist = [float(v) for v in ksp.getConvergenceHistory()]
        reason, extra = _reason(PETSc, ksp.getConvergedReason())
        return SolveResult(x, hist, reason, int(ksp.getIterationNumber()), info=extra)

    def _check_cg(self) -> None:
        for name, kw in self.smoothers:
            if name == "gauss-seidel" and kw.get("sweep", "forward") != "symmetric" and self.nu_pre != self.nu_post:
                raise ValueError(
                    "accel='cg' needs a symmetric preconditioner; gauss-seidel with nu_pre != nu_post is not "
                    "(use nu=(k, k), or 'jacobi', 'chebyshev', 'sgs')"
                )

    # ------------------------------------------------------------- reports
    def level_sizes(self) -> list[tuple[int, int]]:
        """Per level ``(unknowns, nonzeros of A)`` (global)."""
        return list(self._sizes)

    @property
    def operator_complexity(self) -> float:
        """``sum_l nnz(A_l) / nnz(A_1)``."""
        s = self.level_sizes()
        return sum(z for _, z in s) / max(s[0][1], 1)

    @property
    def grid_complexity(self) -> float:
        """``sum_l n_l / n_1``."""
        s = self.level_sizes()
        return sum(n for n, _ in s) / max(s[0][0], 1)

    def _header(self) -> str:
        return f"{self.display_name}(PETSc PCMG on {self.comm.getSize()} rank(s))"

    def __repr__(self) -> str:
        s = self.level_sizes()
        names = "/".join(dict.fromkeys(n for n, _ in self.smoothers)) or "-"
        lines = [
            self._header(),
            f"  cycle={self.cycle_kind.value}({self.nu_pre},{self.nu_post}), "
            + (f"coarse={self.coarse}, " if getattr(self, "coarse", None) else "")
            + f"smoother={names}",
            f"  levels={len(s)}, operator complexity={self.operator_complexity:.3f}, "
            f"grid complexity={self.grid_complexity:.3f}",
            "  level   grid            unknowns        nnz",
        ]
        for l, ((n, z), shape) in enumerate(zip(s, self.shapes), start=1):
            grid = "x".join(map(str, shape)) if shape else "-"
            lines.append(f"  {l:>5}   {grid:<14}{n:>10}{z:>11}")
        return "\n".join(lines)

    def destroy(self) -> None:
        """Free the PETSc objects now (they are freed with the solver otherwise)."""
        for obj in [getattr(self, "ksp", None), *getattr(self, "_work", []), *self.matrices,
                    *self.prolongations, *self.restrictions]:
            if obj is not None:
                obj.destroy()


def _incompatible_warning() -> type:
    try:
        from ..solve import IncompatibleRHSWarning

        return IncompatibleRHSWarning
    except ImportError:  # pragma: no cover - older core
        return UserWarning


def smoother_parameters(name: str, kw: dict, A_scipy: Any, data: Any = None) -> dict:
    """The numbers a PETSc smoother needs, computed by the sparse backend's smoother class.

    ``A_scipy`` is the level's global matrix; the Lanczos estimate of
    ``lambda_max`` and Jacobi's default damping are those of
    :mod:`mgcore.sparse.smoothers`, so both backends smooth with the same
    parameters.
    """
    out: dict = {}
    if name in ("richardson", "jacobi", "chebyshev"):
        from ..sparse.smoothers import build_smoother

        sm = build_smoother(name, kw, A_scipy, grid=data)
        if name == "chebyshev":
            out["interval"] = tuple(float(v) for v in sm.interval)
            out["degree"] = int(sm.degree)
        else:
            out["omega"] = float(sm.omega)
    return out


def _hashed_start(layout: Any) -> np.ndarray:
    """A start vector in ``[-1, 1)`` that depends only on the global (mgcore) index: the
    same vector on any number of ranks (splitmix64 of the index)."""
    from .grid import ContiguousLayout

    if isinstance(layout, ContiguousLayout):
        nat = layout.local_rows().astype(np.uint64)
    else:
        nat = layout.natural_index(layout.open_box()).reshape(-1).astype(np.uint64)
    with np.errstate(over="ignore"):
        z = nat + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 52) - 1.0


def distributed_lambda_max(PETSc: Any, A: Any, layout: Any, jacobi: bool, iters: int = 20) -> float:
    """Largest eigenvalue of ``D^-1 A`` (``A`` if not ``jacobi``) by ``iters`` CG-Lanczos steps
    on the distributed matrix, from a rank-independent start vector (the algorithm of
    :func:`mgcore.analysis.estimate_lambda_max`, for levels too large to replicate)."""
    r = layout.create_vec()
    r.getArray()[:] = _hashed_start(layout)
    dinv = None
    if jacobi:
        dinv = A.getDiagonal()
        dinv.reciprocal()
    z = r.copy()
    if dinv is not None:
        z.pointwiseMult(dinv, r)
    p = z.copy()
    Ap = r.duplicate()
    rz = r.dot(z)
    rz0 = rz
    alphas, betas = [], []
    for _ in range(iters):
        A.mult(p, Ap)
        pAp = p.dot(Ap)
        if not pAp > 0:
            break
        alpha = rz / pAp
        alphas.append(alpha)
        r.axpy(-alpha, Ap)
        if dinv is not None:
            z.pointwiseMult(dinv, r)
        else:
            r.copy(z)
        rz_new = r.dot(z)
        if not rz_new > 1e-28 * rz0:
            break
        beta = rz_new / rz
        betas.append(beta)
        p.aypx(beta, z)
        rz = rz_new
    m = len(alphas)
    if m == 0:
        raise ValueError("lambda_max estimate failed: the level operator is not positive definite")
    T = np.zeros((m, m))
    for j in range(m):
        T[j, j] = 1.0 / alphas[j] + (betas[j - 1] / alphas[j - 1] if j > 0 else 0.0)
        if j + 1 < m:
            T[j, j + 1] = T[j + 1, j] = math.sqrt(betas[j]) / alphas[j]
    for v in (r, z, p, Ap) + ((dinv,) if dinv is not None else ()):
        v.destroy()
    return float(np.linalg.eigvalsh(T)[-1])


def distributed_parameters(PETSc: Any, name: str, kw: dict, A: Any, layout: Any, dim: int | None) -> dict:
    """Smoother numbers from the distributed matrix (levels above ``replicate_limit``);
    the same formulas as :mod:`mgcore.sparse.smoothers`, with the Lanczos start vector of
    :func:`distributed_lambda_max`."""
    if name == "jacobi":
        om = kw.get("omega")
        d = kw.get("dim") or dim
        return {"omega": float(om) if om is not None else (2.0 * d / (2.0 * d + 1.0) if d else 2.0 / 3.0)}
    if name == "richardson":
        if kw.get("omega") is not None:
            return {"omega": float(kw["omega"])}
        lmax = kw.get("lambda_max") or distributed_lambda_max(PETSc, A, layout, jacobi=False)
        return {"omega": 1.0 / float(lmax)}
    if name == "chebyshev":
        degree = int(kw.get("degree", 3))
        if kw.get("lower") is not None:
            return {"interval": (float(kw["lower"]), float(kw["upper"])), "degree": degree}
        jac = kw.get("precondition", "jacobi") == "jacobi"
        lmax = kw.get("lmax") or distributed_lambda_max(PETSc, A, layout, jacobi=jac)
        ratio, safety = float(kw.get("ratio", 30.0)), float(kw.get("safety", 1.1))
        return {"interval": (lmax / ratio, safety * lmax), "degree": degree}
    return {}


class PetscMultigridSolver(PetscHierarchySolver):
    """Geometric multigrid for a gallery problem with PETSc (DMDA + PCMG, MPI).

    The levels, operators, transfers and smoothers are those of
    :class:`mgcore.sparse.MultigridSolver` (see the module docstring for
    the mapping); the problem is distributed over the ranks of ``comm``.
    Run the same script on every rank (``mpiexec -n N python script.py``);
    every method is collective.

    Parameters
    ----------
    problem : GridProblem
        A structured problem (:mod:`mgcore.problems`); for matrices or an
        existing mgcore hierarchy use :func:`mgcore.petsc.to_petsc`.
    smoother : str, tuple, dict or list
        Smoother spec (:func:`mgcore.config.parse_smoother_spec`) with one of
        ``"richardson"``, ``"jacobi"``, ``"gauss-seidel"`` (``"gs"``, ``"sgs"``)
        or ``"chebyshev"``; default ``"gauss-seidel"`` (PETSc's SOR:
        lexicographic inside each rank's box; forward before, backward after
        the coarse-grid correction).
    nu : int or (int, int)
        ``(nu_pre, nu_post)`` smoothing steps.
    cycle : {"V", "W"}
    coarse : {"rediscretize", "galerkin"}, optional
        Re-discretised coarse operators (default) or ``R A P``.
    interpolation : {"bilinear", "linear"}
        Prolongation (He & Xu, MgNet, 2019, eq. 4.9); ``"linear"`` (2D) is
        assembled from the global matrix on every rank.
    restriction : {"full-weighting", "transpose"}
        ``R = P^T / 2^d`` or ``R = P^T``.
    max_levels : int, optional
    coarse_size : int
        Coarsen while a level has more unknowns (the sparse backend's rule).
    comm : PETSc.Comm, optional
        Default ``PETSc.COMM_WORLD``.
    replicate_limit : int
        Levels with at most this many unknowns get their smoother parameters
        from the sparse backend's classes on the global matrix (identical to
        the sparse solver); larger levels estimate ``lambda_max`` on the
        distributed matrix.

    Examples
    --------
    >>> from mgcore.problems import poisson2d
    >>> from mgcore.petsc import PetscMultigridSolver
    >>> p = poisson2d(n=31)
    >>> solver = PetscMultigridSolver(p, smoother="jacobi")
    >>> result = solver.solve(p.rhs(1.0), rtol=1e-8)
    >>> result.converged, result.info["path"], result.x.shape
    (True, 'petsc', (961,))
    """

    display_name = "PetscMultigridSolver"

    def __init__(
        self,
        problem: Any,
        smoother: Any = None,
        nu: Any = (2, 2),
        cycle: Any = "V",
        coarse: str | None = None,
        interpolation: str = "bilinear",
        restriction: str = "full-weighting",
        max_levels: int | None = None,
        coarse_size: int = 500,
        comm: Any = None,
        replicate_limit: int = 2 ** 21,
    ):
        if not isinstance(problem, GridProblem):
            raise TypeError(
                "problem must be a GridProblem (see mgcore.problems); for a matrix or an mgcore hierarchy use "
                f"mgcore.petsc.to_petsc, got {type(problem).__name__}"
            )
        self.nu_pre, self.nu_post = parse_nu_pair(nu)
        self.cycle_kind = _parse_cycle(cycle)
        self.coarse = "rediscretize" if coarse is None else coarse
        if self.coarse not in ("rediscretize", "galerkin"):
            raise ValueError(f"coarse must be 'rediscretize' or 'galerkin', got {coarse!r}")
        if interpolation not in ("bilinear", "linear"):
            raise ValueError(f"interpolation must be 'bilinear' or 'linear', got {interpolation!r}")
        if interpolation == "linear" and problem.dim != 2:
            raise ValueError("interpolation='linear' (P1) is defined for 2D grids only")
        if restriction not in ("full-weighting", "transpose"):
            raise ValueError(
                f"restriction must be 'full-weighting' (R = P^T / 2^d) or 'transpose' (R = P^T), got {restriction!r}"
            )
        max_levels = _check_int(max_levels, "max_levels", 1, allow_none=True)
        coarse_size = _check_int(coarse_size, "coarse_size", 1)
        self.replicate_limit = _check_int(replicate_limit, "replicate_limit", 0)
        self.problem, self.bc = problem, problem.bc
        self.interpolation, self.restriction = interpolation, restriction
        from ..coarsening import level_shapes

        shapes = level_shapes(problem.shape, problem.bc, max_levels, coarse_size)
        J = len(shapes)
        self.smoother_spec = DEFAULT_SMOOTHER if smoother is None else smoother
        smoothers = parse_petsc_smoothers(self.smoother_spec, J)
        PETSc = import_petsc()
        t0 = time.perf_counter()  # setup time without PETSc's (and MPI's) one-off initialisation
        if comm is not None and not isinstance(comm, PETSc.Comm):
            raise TypeError(f"comm must be a PETSc.Comm (e.g. PETSc.COMM_WORLD) or None, got {type(comm).__name__}")
        self.comm = PETSc.COMM_WORLD if comm is None else comm
        from .grid import (GridLayout, aligned_coarse_widths, assemble_operator, bilinear_prolongation,
                           matrix_from_scipy)

        datas = problem.hierarchy_data(max_levels, coarse_size)
        layouts = [GridLayout(PETSc, datas[0].shape, self.comm)]
        for d in datas[1:]:
            layouts.append(GridLayout(PETSc, d.shape, self.comm, widths=aligned_coarse_widths(layouts[-1], d.shape, self.bc)))
        dim = problem.dim
        scale_r = 0.5 ** dim if restriction == "full-weighting" else 1.0
        As, Ps, Rs, params = [], [], [], []
        scipy_chain = None  # global scipy matrices of the Galerkin chain, while small enough
        if self.coarse == "galerkin" and layouts[0].size <= self.replicate_limit:
            scipy_chain = datas[0].matrix()
        for l, data in enumerate(datas):
            if l == 0 or self.coarse == "rediscretize":
                A = assemble_operator(PETSc, layouts[l], data)
            else:
                A = As[-1].ptap(Ps[-1])
                if scale_r != 1.0:
                    A.scale(scale_r)
            As.append(A)
            if l < J - 1:
                if interpolation == "bilinear":
                    P = bilinear_prolongation(PETSc, layouts[l], layouts[l + 1], self.bc)
                else:
                    from ..sparse.transfers import prolongation

                    P = matrix_from_scipy(PETSc, prolongation(data.shape, self.bc, "linear"), layouts[l], layouts[l + 1])
                R = P.transpose(PETSc.Mat())  # a new matrix (without an argument: in place)
                if scale_r != 1.0:
                    R.scale(scale_r)  # full weighting, P^T / 2^d: a power of two, exact
                Ps.append(P)
                Rs.append(R)
            name, kw = smoothers[l]
            if l == J - 1:
                params.append({})
                continue
            small = layouts[l].size <= self.replicate_limit
            if name == "gauss-seidel":
                params.append({})
            elif self.coarse == "rediscretize" and small:
                params.append(smoother_parameters(name, kw, data.matrix(), data))
            elif scipy_chain is not None:
                params.append(smoother_parameters(name, kw, scipy_chain, data))
            else:
                params.append(distributed_parameters(PETSc, name, kw, A, layouts[l], dim))
            if scipy_chain is not None and l < J - 1:
                from ..sparse.transfers import prolongation as _prol, restriction as _restr

                Pm = _prol(data.shape, self.bc, interpolation)
                Rm = _restr(data.shape, self.bc, interpolation, restriction)
                scipy_chain = (Rm @ scipy_chain @ Pm).tocsr()
        self._build(PETSc, layouts, As, Ps, Rs, smoothers, params, problem.singular, [tuple(d.shape) for d in datas])
        self.setup_seconds = time.perf_counter() - t0

    def _header(self) -> str:
        return f"PetscMultigridSolver({self.problem.name}, PETSc PCMG on {self.comm.getSize()} rank(s), DMDA)"

    def rhs(self, f: Any = 1.0):
        """The right-hand side of :meth:`GridProblem.rhs` as a finest-level PETSc vector,
        each rank evaluating ``f`` on its own box only (no global array).

        Parameters
        ----------
        f : callable or float
            Source, a function of the node coordinates (one array per axis)
            or a constant.
        """
        p, L = self.problem, self.fine
        axes = [g[s:e] for g, s, e in zip(p.grid(), L.start, L.stop)]
        X = np.meshgrid(*axes, indexing="ij")
        vals = f(*X) if callable(f) else np.full(L.local_shape, float(f))
        vals = np.asarray(vals, dtype=np.float64) * np.ones(L.local_shape)
        if p.discretization == "fem":
            vals = vals * p.h ** p.dim
        v = L.create_vec()
        v.getArray()[:] = vals.ravel()
        if p.bc == "neumann":
            self._center(v)
        return v
