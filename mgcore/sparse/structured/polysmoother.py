"""Polynomial smoothers on the structured path: the compiled stencil for ``A u``, numpy for the updates.

One smoothing step applies ``u <- u + p(M A) M (f - A u)`` with the factors
of :func:`mgcore.analysis.polynomial_factors_from_options` -- given roots, g-factors
or coefficients, roots chosen from the level's spectrum (``"from":
"spectrum"``; van Betteray, Rottmann & Kahl, *Poly-MgNet*, 2025, Alg. 2-3) or
Chebyshev roots -- run by the core's :class:`mgcore.polynomials.PolynomialSmoother`
(eq. 10-21), so the iterates are those of the sparse and torch backends.
The products with ``A`` are the compiled stencil kernels of the level; the
smoothing and the transfers are not fused (one pass per factor).

Examples
--------
>>> from mgcore.problems import poisson2d
>>> from mgcore.sparse import MultigridSolver
>>> p = poisson2d(n=63)
>>> s = MultigridSolver(p, smoother={"name": "polynomial", "from": "spectrum", "degree": 4, "precondition": "jacobi"})
>>> s.fast, s.solve(p.rhs(1.0), rtol=1e-8).converged
(True, True)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .operator import StencilOperator

__all__ = ["StructuredPolynomialSmoother"]


class _Scale:
    """``r -> d * r`` (the Jacobi preconditioner ``D^{-1}``; picklable)."""

    def __init__(self, d: np.ndarray):
        self.d = d

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self.d * r


class _Apply:
    """``u -> A u`` through the level's compiled stencil (picklable)."""

    def __init__(self, op: StencilOperator):
        self.op = op

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return self.op.apply(u)


class StructuredPolynomialSmoother:
    """One level's polynomial smoother (the interface of :class:`~.smoother.CompiledSmoother`).

    Parameters
    ----------
    op : StencilOperator
        The level operator.
    options : dict
        The registry options of ``"polynomial"`` (``roots``, ``g``,
        ``coefficients``, ``precondition``, ``degree``, ``ratio``, ``from``,
        ``method``).
    """

    def __init__(self, op: StencilOperator, options: dict):
        from ...analysis.roots import polynomial_factors_from_options
        from ...polynomials import PolynomialSmoother

        self.op, self.options = op, dict(options)
        data = op.data
        A = data.matrix()
        fac = polynomial_factors_from_options(data, A, options)
        M = None
        if options.get("precondition") == "jacobi":
            M = _Scale((1.0 / A.diagonal()).reshape(op.grid_shape).astype(op.dtype))
        self.poly = PolynomialSmoother(fac["roots"], g=fac["g"], coefficients=fac["coefficients"], M=M)
        self._A = _Apply(op)
        self.order = None

    def smooth(self, U: np.ndarray, F: np.ndarray, nu: int, post: bool = False, want_norm: bool = False) -> Any:
        """``nu`` steps in place on ``U`` (no fused residual norm: returns ``None``)."""
        u = U
        for _ in range(nu):
            u = self.poly.step(self._A, F, u)
        if u is not U:
            U[...] = u
        return None

    def fusable(self, nu: int) -> bool:
        return False

    def split_ring(self, nu: int) -> None:
        return None

    def nbytes(self) -> int:
        M = self.poly.M
        return 0 if M is None else int(M.d.nbytes)

    def __repr__(self) -> str:
        return f"StructuredPolynomialSmoother({self.poly!r})"
