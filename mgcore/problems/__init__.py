"""Backend-neutral problem descriptions: structured grids and the problem gallery.

A :class:`GridProblem` describes a second-order elliptic problem
``-div(k grad u) = f`` on a structured grid by its face coefficients
(:class:`GridLevelData`); every backend (:mod:`mgcore.sparse`, the compiled
structured path, :mod:`mgcore_torch`) reads these same arrays, which is why
their iterates agree to round-off.  The gallery (:mod:`.gallery`) builds the
advertised problems by name.

Examples
--------
>>> from mgcore.problems import poisson2d
>>> p = poisson2d(n=7)
>>> p.shape, p.bc
((7, 7), 'dirichlet')
"""

from .gallery import (
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
from .grid import BOUNDARY_CONDITIONS, GridLevelData, GridProblem, can_coarsen, coarsen_size

__all__ = [
    "BOUNDARY_CONDITIONS",
    "GridLevelData",
    "GridProblem",
    "PROBLEMS",
    "anisotropic2d",
    "anisotropic3d",
    "can_coarsen",
    "coarsen_size",
    "get_problem",
    "poisson",
    "poisson1d",
    "poisson2d",
    "poisson3d",
    "variable2d",
    "variable3d",
]
