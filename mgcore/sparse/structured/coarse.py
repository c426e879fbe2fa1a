"""Exact solve on the coarsest structured level."""

from __future__ import annotations

import numpy as np

from ._common import kernels
from .operator import StencilOperator

__all__ = ["CoarseSolver", "DENSE_COARSE_MAX"]

#: Largest coarsest level (unknowns) solved with a dense (pseudo-)inverse;
#: larger ones use a sparse LU factorisation.
DENSE_COARSE_MAX = 2048


class CoarseSolver:
    """``u = A^{-1} f`` (pseudo-inverse for the singular Neumann problem).

    A dense (pseudo-)inverse for up to :data:`DENSE_COARSE_MAX` unknowns,
    else a sparse LU (Neumann: with the first unknown fixed to zero, which is
    one solution of the consistent singular system).
    """

    def __init__(self, op: StencilOperator):
        self.op = op
        self._Minv = None
        self._lu = None
        self.factor()

    def factor(self) -> None:
        data = self.op.data
        if self.op.size <= DENSE_COARSE_MAX:
            if data.uniform is not None and data.bc == "dirichlet":
                Minv = data.dirichlet_inverse()
            else:
                A = data.matrix().toarray()
                Minv = np.linalg.pinv(A) if data.bc == "neumann" else np.linalg.inv(A)
            self._Minv = np.ascontiguousarray(Minv, dtype=self.op.dtype)
            self._lu = None
        else:
            from scipy.sparse.linalg import splu

            A = data.matrix().tocsc()
            if data.bc == "neumann":
                A = A[1:, 1:]
            self._lu = splu(A.tocsc())
            self._Minv = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lu"] = None  # SuperLU objects do not pickle; refactored on use
        return state

    def solve_into(self, F: np.ndarray, u: np.ndarray) -> None:
        if self._Minv is None and self._lu is None:
            self.factor()
        if self._Minv is not None:
            kernels().dense_solve_into(self._Minv, F, u)
        elif self.op.data.bc == "neumann":
            flat = u.reshape(-1)
            flat[0] = 0.0
            flat[1:] = self._lu.solve(np.asarray(F.reshape(-1)[1:], dtype=np.float64))
        else:
            u.reshape(-1)[:] = self._lu.solve(np.asarray(F.reshape(-1), dtype=np.float64))

    def nbytes(self) -> int:
        return self._Minv.nbytes if self._Minv is not None else 0
