"""The ``--backend petsc`` branch of ``mgcore solve`` (run under ``mpiexec`` on every rank)."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable

__all__ = ["solve_petsc"]


def solve_petsc(args: Any, problem: Any, source: Callable) -> tuple[Any, Any]:
    """Build and run :class:`~mgcore.petsc.PetscMultigridSolver` from parsed ``mgcore solve`` options.

    Every rank builds its part of the right-hand side from ``source``; the
    solution stays distributed.  Ranks other than 0 print nothing (their
    standard output goes to ``os.devnull``) and write no plot.  A missing
    PETSc ends the command with the install hint and exit status 2.
    """
    if args.dtype not in ("auto", "float64"):
        raise ValueError("--backend petsc computes in float64 (PETSc's scalar type); drop --dtype")
    if args.fmg:
        raise ValueError("--fmg is not available with --backend petsc")
    accel = None if args.accel == "none" else args.accel
    try:
        from .solver import PetscMultigridSolver

        solver = PetscMultigridSolver(problem, smoother=args.smoother, nu=tuple(args.nu), cycle=args.cycle,
                                      coarse=args.coarse)
    except ImportError as exc:
        print(f"mgcore solve --backend petsc: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if solver.comm.getRank() != 0:
        sys.stdout = open(os.devnull, "w")
        args.plot = None
    b = solver.rhs(source)
    result = solver.solve(b, rtol=args.rtol, atol=args.atol, maxiter=args.maxiter, accel=accel, gather="none")
    return solver, result
