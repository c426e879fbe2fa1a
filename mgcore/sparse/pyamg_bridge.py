"""Run the core's cycles on algebraic hierarchies built by pyamg.

pyamg builds the coarse spaces (Ruge-Stüben or smoothed aggregation); mgcore
supplies smoothers, cycles (V/W/F), Krylov acceleration and reporting.  The
levels become ordinary :class:`mgcore.hierarchy.Level` objects, so every
algorithm of :mod:`mgcore.cycles` (MG0, MgNet, ...) runs on them too.

Examples
--------
>>> import pyamg
>>> from mgcore.sparse.pyamg_bridge import from_pyamg
>>> A = pyamg.gallery.poisson((32, 32), format="csr")
>>> solver = from_pyamg(pyamg.ruge_stuben_solver(A))
>>> import numpy as np
>>> solver.solve(np.ones(A.shape[0]), rtol=1e-8).converged
True
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from ..hierarchy import Hierarchy, Level
from .operators import DenseSolve, MatrixOperator, check_matrix
from .solver import MultigridSolver

__all__ = ["from_pyamg", "pyamg_solver", "AlgebraicMultigridSolver", "PYAMG_METHODS"]

PYAMG_METHODS = ("ruge_stuben", "smoothed_aggregation")


class AlgebraicMultigridSolver(MultigridSolver):
    """A :class:`MultigridSolver` over given matrices ``A_l``, ``P_l``, ``R_l``.

    Parameters
    ----------
    As : list of sparse matrices
        ``A_1`` (finest) .. ``A_J``.
    Ps, Rs : list of sparse matrices
        Prolongations/restrictions between consecutive levels (``J - 1`` each).
    smoother : spec
        Smoother spec (grammar of :func:`mgcore.config.parse_smoother_spec`);
        default symmetric Gauss-Seidel.
    nu, cycle, dtype :
        As for :class:`MultigridSolver`.
    name : str
        Name shown by ``repr``.
    """

    def __init__(self, As, Ps, Rs, smoother: Any = None, nu: Any = (1, 1), cycle: Any = "V",
                 dtype: Any = np.float64, name: str = "algebraic"):
        from . import smoothers as sm

        t0 = time.perf_counter()
        if len(As) < 1 or len(Ps) != len(As) - 1 or len(Rs) != len(As) - 1:
            raise ValueError(f"need J matrices A and J-1 of P and R, got {len(As)}, {len(Ps)}, {len(Rs)}")
        self.dtype = np.dtype(dtype)
        self.precision = self.dtype.name
        self.cycle_dtype = self.dtype
        self._mixed = self._A64 = None
        self.coarsening, self.coarsen_axes = "algebraic", None
        self._init_options(nu, cycle)
        self.smoother_spec = ("gauss-seidel", {"sweep": "symmetric"}) if smoother is None else smoother
        self.J = len(As)
        self.smoothers = self._parse_smoothers(self.smoother_spec, self.J)
        for l, (name_l, _) in enumerate(self.smoothers):
            if name_l == "red-black":
                raise ValueError("smoother 'red-black' needs a structured grid; algebraic levels have none")
        A1 = check_matrix(As[0], "As[0]")
        self._matrix = A1
        self.grid_shape = (A1.shape[0],)
        self.bc = "none"
        self.singular = bool(np.abs(A1 @ np.ones(A1.shape[0])).max() <= 1e-10 * abs(A1).max())
        self.coarse = "galerkin"
        self.fast, self.fast_reason = False, "algebraic hierarchy"
        self.interpolation = self.restriction = "algebraic"
        self.threads = 1
        self.problem = _Named(name)
        self._datas = [None] * self.J
        levels = []
        for l in range(self.J):
            A = check_matrix(As[l], f"As[{l}]").astype(self.dtype)
            nm, kw = self.smoothers[l]
            last = l == self.J - 1
            levels.append(Level(
                A=MatrixOperator(A),
                B=sm.build_smoother(nm, kw, A, grid=None, post=False),
                B_post=sm.build_smoother(nm, kw, A, grid=None, post=True),
                R=None if last else MatrixOperator(Rs[l].tocsr().astype(self.dtype)),
                P=None if last else MatrixOperator(Ps[l].tocsr().astype(self.dtype)),
                coarse_solve=DenseSolve(A, singular=self.singular, dtype=self.dtype) if last else None,
                shape=(A.shape[0],),
                meta={"nnz": int(A.nnz), "n": int(A.shape[0])},
            ))
        self.hierarchy = Hierarchy(levels)
        self.setup_seconds = time.perf_counter() - t0


class _Named:
    def __init__(self, name: str):
        self.name = name


def from_pyamg(ml: Any, smoother: Any = None, nu: Any = (1, 1), cycle: Any = "V", dtype: Any = np.float64) -> AlgebraicMultigridSolver:
    """Wrap a pyamg ``MultilevelSolver`` so that mgcore's cycles run on it.

    The coarse operators and transfers are pyamg's; smoothing, cycling,
    acceleration and the coarse solve are mgcore's.
    """
    levels = getattr(ml, "levels", None)
    if not levels or not hasattr(levels[0], "A"):
        raise TypeError(f"ml must be a pyamg MultilevelSolver (with .levels[i].A), got {type(ml).__name__}")
    As = [lvl.A for lvl in levels]
    Ps = [lvl.P for lvl in levels[:-1]]
    Rs = [lvl.R for lvl in levels[:-1]]
    t0 = time.perf_counter()
    solver = AlgebraicMultigridSolver(As, Ps, Rs, smoother=smoother, nu=nu, cycle=cycle, dtype=dtype,
                                      name=f"pyamg {type(ml).__name__}")
    solver.setup_seconds = time.perf_counter() - t0
    return solver


def pyamg_solver(A: Any, method: str = "ruge_stuben", smoother: Any = None, nu: Any = (1, 1), cycle: Any = "V",
                 **pyamg_kwargs: Any) -> AlgebraicMultigridSolver:
    """Build a pyamg hierarchy (``method`` in :data:`PYAMG_METHODS`) and wrap it."""
    import pyamg

    if method not in PYAMG_METHODS:
        raise ValueError(f"method must be one of {PYAMG_METHODS}, got {method!r}")
    A = check_matrix(A, "A")
    t0 = time.perf_counter()
    build = pyamg.ruge_stuben_solver if method == "ruge_stuben" else pyamg.smoothed_aggregation_solver
    ml = build(A, **pyamg_kwargs)
    solver = from_pyamg(ml, smoother=smoother, nu=nu, cycle=cycle)
    solver.setup_seconds = time.perf_counter() - t0
    return solver
