"""Problem gallery: Poisson-type model problems on structured grids.

Every function returns a :class:`~mgcore.problems.grid.GridProblem`; its
``level_data().matrix()`` is the assembled matrix and ``rhs(f)`` a right-hand
side.  Seed 003 §5 (eq. 5.1-5.5) is the 2D case: the 5-point stencil ``K_A``
(5.4) is both the finite-difference operator (scaled by ``h^-2``) and the
P1 finite-element stiffness matrix.

====================================== ====================================================
``poisson1d/2d/3d``                    ``-u'' = f``, ``-Delta u = f`` (3/5/7-point)
``poisson(..., discretization="fem")`` 2D P1 finite elements (seed 003 eq. 5.1-5.3)
``anisotropic2d``                      ``-(eps u_xx + u_yy) = f``
``anisotropic3d``                      ``-(eps u_xx + u_yy + u_zz) = f`` (one weak direction)
``variable2d / variable3d``            ``-div(k grad u) = f`` with cell-wise ``k``
``bc="neumann"``                       pure Neumann (singular; constants are the null space)
====================================== ====================================================
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .grid import BOUNDARY_CONDITIONS, GridProblem

__all__ = [
    "PROBLEMS",
    "poisson",
    "poisson1d",
    "poisson2d",
    "poisson3d",
    "anisotropic2d",
    "anisotropic3d",
    "variable2d",
    "variable3d",
    "jump_coefficient",
    "get_problem",
]


def _cells_shape(dim: int, n: Any, bc: str) -> tuple:
    return tuple(m + 1 if bc == "dirichlet" else m - 1 for m in _shape(dim, n))


def _shape(dim: int, n: Any) -> tuple:
    """``(n,) * dim`` for an int ``n`` (numpy integers accepted), or ``n`` itself as a tuple of ``dim`` ints."""
    if isinstance(n, (tuple, list)):
        if len(n) != dim or any(isinstance(m, bool) or not isinstance(m, (int, np.integer)) for m in n):
            raise TypeError(f"n must be an int or a tuple of {dim} ints (a rectangle), got {n!r}")
        return tuple(int(m) for m in n)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"n must be an int or a tuple of {dim} ints, got {type(n).__name__}")
    return (int(n),) * dim


def poisson(
    dim: int = 2,
    n: int = 63,
    bc: str = "dirichlet",
    discretization: str = "fd",
    eps: float | None = None,
    coefficient: Any = None,
) -> GridProblem:
    """Poisson-type problem ``-div(k grad u) = f`` on ``(0, 1)^dim``.

    Parameters
    ----------
    dim : {1, 2, 3}
    n : int or tuple of int
        Unknowns per dimension (a tuple: one per axis, a rectangle or box).
        Any size works; ``2^k - 1`` (Dirichlet) and ``2^k + 1`` (Neumann)
        coarsen to uniform grids all the way down and run on the compiled
        path, other sizes use Galerkin coarse operators.
    bc : {"dirichlet", "neumann"}
    discretization : {"fd", "fem"}
        ``"fem"`` (2D) is the unscaled P1 stiffness of seed 003 eq. 5.3.
    eps : float, optional
        Anisotropy: the operator becomes ``-(eps u_xx + u_yy (+ u_zz))``.
    coefficient : array or callable, optional
        Cell-wise coefficient ``k``: an array of shape ``n+1`` (Dirichlet) /
        ``n-1`` (Neumann) per dimension, or a callable of the cell-centre
        coordinates.

    Examples
    --------
    >>> from mgcore.problems import poisson
    >>> p = poisson(dim=2, n=7)
    >>> p.level_data().matrix().shape
    (49, 49)
    """
    if isinstance(dim, bool) or dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
    shape = _shape(dim, n)
    if bc not in BOUNDARY_CONDITIONS:
        raise ValueError(f"bc must be one of {BOUNDARY_CONDITIONS}, got {bc!r}")
    if discretization == "fem" and dim != 2:
        raise ValueError("discretization='fem' is available for dim=2 only (seed 003 §5)")
    aniso = ()
    if eps is not None:
        if not (np.isfinite(eps) and eps > 0):
            raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
        aniso = (float(eps),) + (1.0,) * (dim - 1)
    cells = None
    if coefficient is not None:
        cshape = _cells_shape(dim, shape, bc)
        if callable(coefficient):
            X = np.meshgrid(*[(np.arange(m) + 0.5) / m for m in cshape], indexing="ij")
            cells = np.asarray(coefficient(*X), dtype=np.float64) * np.ones(cshape)
        else:
            cells = np.asarray(coefficient, dtype=np.float64)
    name = f"poisson{dim}d" + ("-fem" if discretization == "fem" else "") + ("-neumann" if bc == "neumann" else "")
    if eps is not None:
        name = f"anisotropic{dim}d"
    if coefficient is not None:
        name = f"variable{dim}d"
    return GridProblem(shape, bc=bc, cells=cells, aniso=aniso, discretization=discretization, name=name)


def poisson1d(n: int = 63, bc: str = "dirichlet") -> GridProblem:
    """``-u'' = f`` with the 3-point stencil."""
    return poisson(1, n, bc)


def poisson2d(n: int = 63, bc: str = "dirichlet", discretization: str = "fd") -> GridProblem:
    """``-Delta u = f`` in 2D with the 5-point stencil (seed 003 eq. 5.3-5.4)."""
    return poisson(2, n, bc, discretization)


def poisson3d(n: int = 31, bc: str = "dirichlet") -> GridProblem:
    """``-Delta u = f`` in 3D with the 7-point stencil."""
    return poisson(3, n, bc)


def anisotropic2d(n: int = 63, eps: float = 0.01, bc: str = "dirichlet") -> GridProblem:
    """``-(eps u_xx + u_yy) = f``."""
    return poisson(2, n, bc, eps=eps)


def anisotropic3d(n: int = 31, eps: float = 0.01, bc: str = "dirichlet") -> GridProblem:
    """``-(eps u_xx + u_yy + u_zz) = f``: one weak direction (semi-coarsened by default).

    Examples
    --------
    >>> from mgcore.problems import anisotropic3d
    >>> from mgcore.sparse import MultigridSolver
    >>> p = anisotropic3d(n=15)
    >>> s = MultigridSolver(p)
    >>> s.coarsening, s.solve(p.rhs(1.0), rtol=1e-8).iterations <= 10
    ('semi', True)
    """
    return poisson(3, n, bc, eps=eps)


def jump_coefficient(x: np.ndarray, *rest: np.ndarray, contrast: float = 1e4) -> np.ndarray:
    """``k = contrast`` in the inner square/cube ``(1/4, 3/4)^d``, ``1`` outside."""
    inside = (x > 0.25) & (x < 0.75)
    for y in rest:
        inside &= (y > 0.25) & (y < 0.75)
    return np.where(inside, contrast, 1.0)


def variable2d(n: int = 63, coefficient: Any = jump_coefficient, bc: str = "dirichlet") -> GridProblem:
    """``-div(k grad u) = f`` in 2D; default ``k`` jumps by 1e4 (:func:`jump_coefficient`)."""
    return poisson(2, n, bc, coefficient=coefficient)


def variable3d(n: int = 31, coefficient: Any = jump_coefficient, bc: str = "dirichlet") -> GridProblem:
    """``-div(k grad u) = f`` in 3D; default ``k`` jumps by 1e4."""
    return poisson(3, n, bc, coefficient=coefficient)


def _poisson2d_fem(n: int = 63, bc: str = "dirichlet") -> GridProblem:
    return poisson(2, n, bc, discretization="fem")


#: name -> factory ``f(n, bc=...)``; used by the CLI ``--problem``.
PROBLEMS: dict[str, Callable[..., GridProblem]] = {
    "poisson1d": poisson1d,
    "poisson2d": poisson2d,
    "poisson3d": poisson3d,
    "poisson2d-fem": _poisson2d_fem,
    "anisotropic2d": anisotropic2d,
    "anisotropic3d": anisotropic3d,
    "variable2d": variable2d,
    "variable3d": variable3d,
}


def get_problem(name: str, n: int, bc: str | None = None, **kwargs: Any) -> GridProblem:
    """Build a gallery problem by name (see :data:`PROBLEMS`)."""
    key = str(name).lower().replace("_", "-")
    if key not in PROBLEMS:
        raise ValueError(f"problem must be one of {sorted(PROBLEMS)}, got {name!r}")
    if bc is not None:
        kwargs["bc"] = bc
    return PROBLEMS[key](n, **kwargs)
