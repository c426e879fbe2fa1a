"""Export an mgcore hierarchy to PETSc: ``to_petsc(solver)``.

Any hierarchy whose levels hold matrices -- a sparse
:class:`mgcore.sparse.MultigridSolver` (geometric, re-discretised or
Galerkin), an algebraic one from :mod:`mgcore.sparse.pyamg_bridge`, or a
:class:`mgcore.hierarchy.Hierarchy` built by hand -- is handed to ``PCMG``
as distributed matrices ``A_l``, ``P_l``, ``R_l``, so it runs on many ranks
with the same cycle, ``nu`` and (where PETSc has it) smoother.  Every rank
must hold the same hierarchy (build it in the same script on every rank);
each rank keeps only its own rows of the PETSc matrices.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from ..cycles import CycleKind
from ..hierarchy import Hierarchy, parse_nu_pair
from ._env import import_petsc
from .solver import (
    DEFAULT_SMOOTHER,
    PetscHierarchySolver,
    _parse_cycle,
    parse_petsc_smoothers,
    smoother_parameters,
)

__all__ = ["to_petsc", "hierarchy_matrices"]


def _matrix(op: Any, what: str, l: int):
    import scipy.sparse as sp

    M = getattr(op, "M", op)
    if sp.issparse(M):
        return M.tocsr()
    if isinstance(M, np.ndarray) and M.ndim == 2:
        return sp.csr_matrix(M)
    raise TypeError(
        f"level {l}: {what} is a {type(op).__name__} without a matrix; to_petsc needs assembled levels "
        "(for a structured mgcore.sparse.MultigridSolver on the compiled path, build it with fast=False, "
        "or use mgcore.petsc.PetscMultigridSolver for the problem)"
    )


def hierarchy_matrices(h: Any) -> tuple[list, list, list, list]:
    """``(As, Ps, Rs, shapes)`` of a hierarchy as scipy CSR matrices (finest first).

    ``h`` is a :class:`~mgcore.hierarchy.Hierarchy` or an object with a
    ``hierarchy`` attribute (a solver).  ``shapes`` are the levels' grid
    shapes (``()`` for algebraic levels).
    """
    hier = h if isinstance(h, Hierarchy) else getattr(h, "hierarchy", None)
    if not isinstance(hier, Hierarchy):
        raise TypeError(
            "to_petsc needs an mgcore solver (with a .hierarchy) or a mgcore.hierarchy.Hierarchy, "
            f"got {type(h).__name__}"
        )
    As, Ps, Rs, shapes = [], [], [], []
    for l, lvl in enumerate(hier.levels, start=1):
        A = _matrix(lvl.A, "A", l)
        As.append(A)
        shape = tuple(lvl.shape) if lvl.shape and math.prod(lvl.shape) == A.shape[0] else ()
        shapes.append(shape)
        if l < hier.J:
            if lvl.P is None or lvl.R is None:
                raise ValueError(f"level {l} has no P or R")
            Ps.append(_matrix(lvl.P, "P", l))
            Rs.append(_matrix(lvl.R, "R", l))
    for l in range(len(Ps)):
        if Ps[l].shape != (As[l].shape[0], As[l + 1].shape[0]) or Rs[l].shape != (As[l + 1].shape[0], As[l].shape[0]):
            raise ValueError(f"level {l + 1}: P {Ps[l].shape} / R {Rs[l].shape} do not connect A {As[l].shape} "
                             f"and A {As[l + 1].shape}")
    return As, Ps, Rs, shapes


def to_petsc(
    solver: Any,
    smoother: Any = None,
    nu: Any = None,
    cycle: Any = None,
    comm: Any = None,
    singular: bool | None = None,
) -> PetscHierarchySolver:
    """Hand an mgcore hierarchy to PETSc's ``PCMG`` (collective).

    Parameters
    ----------
    solver : MultigridSolver, AlgebraicMultigridSolver or Hierarchy
        A solver with assembled levels (``.hierarchy`` of levels whose ``A``,
        ``P``, ``R`` hold matrices) or a hierarchy; the same on every rank.
    smoother : spec, optional
        Default: the solver's smoothers (``solver.smoothers``) where PETSc
        has them; otherwise (or for a bare hierarchy) ``"gauss-seidel"``
        must be chosen explicitly when the solver's smoother is not available.
    nu : int or (int, int), optional
        Default: the solver's ``(nu_pre, nu_post)`` or ``(2, 2)``.
    cycle : {"V", "W"}, optional
        Default: the solver's cycle (``"V"`` for a bare hierarchy).
    comm : PETSc.Comm, optional
    singular : bool, optional
        Whether ``A`` is singular with the constants as null space (pure
        Neumann); default ``solver.singular`` or a check of ``A 1 = 0``.

    Returns
    -------
    PetscHierarchySolver
        ``.solve(b, ...)`` returns a :class:`~mgcore.solve.SolveResult`;
        ``.ksp``/``.pc`` are the PETSc objects (``PCMG`` with the exported
        levels), usable on their own.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.problems import poisson2d
    >>> from mgcore.sparse import MultigridSolver
    >>> from mgcore.petsc import to_petsc
    >>> p = poisson2d(n=31)
    >>> mg = MultigridSolver(p, smoother="jacobi", coarse="galerkin", fast=False)
    >>> solver = to_petsc(mg)
    >>> r1, r2 = mg.solve(p.rhs(1.0)), solver.solve(p.rhs(1.0))
    >>> r1.iterations == r2.iterations
    True
    >>> max(abs(a - b) for a, b in zip(r1.residuals, r2.residuals)) < 1e-10 * r1.residuals[0]
    True
    """
    As, Ps, Rs, shapes = hierarchy_matrices(solver)
    J = len(As)
    spec = smoother
    if spec is None:
        spec = getattr(solver, "smoothers", None) or DEFAULT_SMOOTHER
    try:
        smoothers = parse_petsc_smoothers(list(spec) if isinstance(spec, list) else spec, J)
    except ValueError as exc:
        if smoother is None:
            raise ValueError(f"{exc}; pass smoother= to to_petsc") from None
        raise
    if nu is None:
        nu = (getattr(solver, "nu_pre", 2), getattr(solver, "nu_post", 2))
    nu_pre, nu_post = parse_nu_pair(nu)
    kind = _parse_cycle(cycle if cycle is not None else getattr(solver, "cycle_kind", CycleKind.V))
    if singular is None:
        singular = getattr(solver, "singular", None)
    if singular is None:
        A = As[0]
        singular = bool(np.abs(A @ np.ones(A.shape[0])).max() <= 1e-10 * abs(A).max())
    PETSc = import_petsc()
    t0 = time.perf_counter()
    if comm is not None and not isinstance(comm, PETSc.Comm):
        raise TypeError(f"comm must be a PETSc.Comm or None, got {type(comm).__name__}")
    from .grid import ContiguousLayout, GridLayout, aligned_coarse_widths, matrix_from_scipy

    comm = PETSc.COMM_WORLD if comm is None else comm
    _check_same_on_all_ranks(PETSc, comm, As, Ps, Rs)
    bc = getattr(solver, "bc", None)
    geometric = bc in ("dirichlet", "neumann") and all(shapes)
    if not geometric:
        shapes = [()] * J
    layouts: list = []
    for l, (A, shape) in enumerate(zip(As, shapes)):
        if not geometric:
            layouts.append(ContiguousLayout(PETSc, A.shape[0], comm))
            continue
        widths = None
        if l > 0:
            try:
                widths = aligned_coarse_widths(layouts[-1], shape, bc)
            except ValueError:
                widths = None
        layouts.append(GridLayout(PETSc, shape, comm, widths=widths))
    pA = [matrix_from_scipy(PETSc, A, L, L) for A, L in zip(As, layouts)]
    pP = [matrix_from_scipy(PETSc, P, layouts[l], layouts[l + 1]) for l, P in enumerate(Ps)]
    pR = [matrix_from_scipy(PETSc, R, layouts[l + 1], layouts[l]) for l, R in enumerate(Rs)]
    params = []
    for l, (name, kw) in enumerate(smoothers):
        grid = None
        if shapes[l]:
            grid = _Grid(shapes[l])
        params.append({} if l == J - 1 else smoother_parameters(name, kw, As[l], grid))
    out = PetscHierarchySolver.__new__(PetscHierarchySolver)
    out.nu_pre, out.nu_post, out.cycle_kind = nu_pre, nu_post, kind
    out.comm = comm
    out.source = type(solver).__name__
    out._build(PETSc, layouts, pA, pP, pR, smoothers, params, singular, shapes)
    out.setup_seconds = time.perf_counter() - t0
    return out


def _fingerprint(M) -> float:
    """A number that changes with any entry or position of a sparse matrix."""
    M = M.tocsr()
    w = 1.0 + (M.indices % 7) + 0.5 * (np.repeat(np.arange(M.shape[0]), np.diff(M.indptr)) % 5)
    return float(M.nnz) + float(np.abs(M.data) @ w)


def _check_same_on_all_ranks(PETSc: Any, comm: Any, As: list, Ps: list, Rs: list) -> None:
    """Raise if the ranks hold different hierarchies (each rank exports its own rows)."""
    if comm.getSize() == 1:
        return
    fp = sum(_fingerprint(M) * (l + 1) for l, M in enumerate(As + Ps + Rs))
    v = PETSc.Vec().createMPI((1, comm.getSize()), comm=comm)
    v.getArray()[0] = fp
    lo, hi = v.min()[1], v.max()[1]
    v.destroy()
    if not (hi - lo) <= 1e-12 * max(abs(hi), 1.0):
        raise ValueError(
            "to_petsc: the ranks hold different hierarchies (every rank must build the same one; "
            "pyamg's setup uses random vectors: seed numpy first, e.g. np.random.seed(0))"
        )


class _Grid:
    """The little the sparse smoothers read from a level's grid: its shape and dimension."""

    def __init__(self, shape: tuple):
        self.shape = tuple(shape)
        self.dim = len(self.shape)
