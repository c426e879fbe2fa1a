"""Sparse backend of mgcore: numpy/scipy operators for Poisson-type problems.

The algorithms live in the backend-neutral core (:mod:`mgcore.cycles`,
:mod:`mgcore.solve`); this package builds the operators: structured-grid
problems (:mod:`mgcore.problems`), grid transfers (:mod:`.transfers`), smoothers
(:mod:`.smoothers`), the compiled matrix-free path (:mod:`.structured`), the
user-facing :class:`MultigridSolver` and a bridge to pyamg hierarchies
(:mod:`.pyamg_bridge`).
"""

from ..problems import (
    GridLevelData,
    GridProblem,
    PROBLEMS,
    anisotropic2d,
    anisotropic3d,
    get_problem,
    poisson,
    poisson1d,
    poisson2d,
    poisson3d,
    variable2d,
    variable3d,
)
from .solver import MultigridSolver

__all__ = [
    "GridLevelData",
    "GridProblem",
    "MultigridSolver",
    "PROBLEMS",
    "anisotropic2d",
    "anisotropic3d",
    "get_problem",
    "poisson",
    "poisson1d",
    "poisson2d",
    "poisson3d",
    "variable2d",
    "variable3d",
]
