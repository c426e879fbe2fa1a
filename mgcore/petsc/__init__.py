"""PETSc backend: the core's multigrid configuration run by PETSc over MPI.

When a grid outgrows one machine, the distributed engine is PETSc: the
gallery problems on a ``DMDA`` per level, ``PCMG`` with the V/W-cycles,
``nu``, transfers and smoothers of the core's configuration, ``KSP`` for
the Krylov accelerations -- and mgcore's :class:`~mgcore.solve.SolveResult`
back.  Run the same script on every rank::

    mpiexec -n 4 python my_solve.py
    mpiexec -n 4 mgcore solve --backend petsc --problem poisson3d --n 255

* :class:`PetscMultigridSolver` -- a gallery problem (:mod:`mgcore.problems`)
  distributed over the ranks.
* :func:`to_petsc` -- an existing mgcore hierarchy (a sparse
  ``MultigridSolver``, a pyamg bridge, matrices ``A_l, P_l, R_l``) handed
  to ``PCMG`` as distributed matrices.

This package imports petsc4py only when a solver is built; without it that
raises an ``ImportError`` with the install commands (:data:`INSTALL_HINT`),
and the rest of mgcore is unaffected.  See ``docs/petsc.md``.

Examples
--------
>>> from mgcore.petsc import petsc_available
>>> petsc_available()
True
"""

from __future__ import annotations

import importlib

from ._env import INSTALL_HINT, import_petsc, petsc_available

_LAZY = {
    "PetscMultigridSolver": "mgcore.petsc.solver",
    "PetscHierarchySolver": "mgcore.petsc.solver",
    "PETSC_SMOOTHERS": "mgcore.petsc.solver",
    "PETSC_CYCLES": "mgcore.petsc.solver",
    "to_petsc": "mgcore.petsc.export",
}

__all__ = ["INSTALL_HINT", "import_petsc", "petsc_available", *sorted(_LAZY)]


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'mgcore.petsc' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)


def __dir__():
    return __all__
