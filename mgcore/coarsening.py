"""The geometric coarsening rule, shared by every backend (pure Python).

Grid conventions (:mod:`mgcore.problems.grid`): a Dirichlet grid has ``n``
interior unknowns per dimension and coarse node ``i`` is fine node
``2 i + 1`` (so ``n = 2 m + 1`` coarsens to ``m``); a Neumann grid has ``n``
nodes including the boundary and coarse node ``i`` is fine node ``2 i``
(``n = 2 m - 1`` coarsens to ``m``).  Standard coarsening halves every
dimension (He & Xu, *MgNet*, 2019, Sec. 4, eq. 4.7-4.9).

Examples
--------
>>> from mgcore.coarsening import level_shapes
>>> level_shapes((63, 63), "dirichlet", coarse_size=9)
[(63, 63), (31, 31), (15, 15), (7, 7), (3, 3)]
"""

from __future__ import annotations

import math

__all__ = ["coarsen_size", "can_coarsen", "level_shapes", "DEFAULT_COARSE_SIZE"]

#: Default largest coarsest level (unknowns), solved exactly.
DEFAULT_COARSE_SIZE = 500


def coarsen_size(n: int, bc: str) -> int:
    """Number of coarse unknowns per dimension for ``n`` fine ones."""
    return (n - 1) // 2 if bc == "dirichlet" else (n + 1) // 2


def can_coarsen(n: int, bc: str) -> bool:
    """Whether a grid of ``n`` unknowns per dimension can be coarsened once."""
    if bc == "dirichlet":
        return n >= 3 and n % 2 == 1
    return n >= 5 and n % 2 == 1


def level_shapes(shape: tuple, bc: str, max_levels: int | None = None, coarse_size: int = DEFAULT_COARSE_SIZE) -> list:
    """Grid shapes of the levels, level 1 (finest, ``shape``) first.

    Coarsening goes on while the coarsest level has more than ``coarse_size``
    unknowns, every dimension can be coarsened and fewer than ``max_levels``
    levels exist.  The coarsest level is solved exactly.

    Parameters
    ----------
    shape : tuple of int
        Unknowns per dimension of level 1.
    bc : {"dirichlet", "neumann"}
    max_levels : int, optional
        Cap on the number of levels.
    coarse_size : int
        Stop once a level has at most this many unknowns.
    """
    if max_levels is not None and (isinstance(max_levels, bool) or not isinstance(max_levels, int) or max_levels < 1):
        raise ValueError(f"max_levels must be an int >= 1 or None, got {max_levels!r}")
    if isinstance(coarse_size, bool) or not isinstance(coarse_size, int) or coarse_size < 1:
        raise ValueError(f"coarse_size must be an int >= 1, got {coarse_size!r}")
    shapes = [tuple(int(n) for n in shape)]
    while (max_levels is None or len(shapes) < max_levels) and math.prod(shapes[-1]) > coarse_size and all(
        can_coarsen(n, bc) and coarsen_size(n, bc) >= 1 for n in shapes[-1]
    ):
        shapes.append(tuple(coarsen_size(n, bc) for n in shapes[-1]))
    return shapes
