"""Grid transfers of the structured path: full weighting ``R = P^T / 2^d`` and bi/trilinear ``P``.

He & Xu, MgNet, 2019, eq. 4.7-4.9 (prolongation) and Lemma 4.1 (the
restriction as the transpose, here scaled by ``2^-d``).  Transfers that
coarsen only some axes (semi-coarsening) are
:class:`mgcore.sparse.structured.semi.SemiTransfer`.
"""

from __future__ import annotations

import numpy as np

from ...coarsening import coarsen_size
from ._common import kernels
from .operator import StencilOperator

__all__ = ["GridTransfer"]


class GridTransfer:
    """``R`` and ``P`` between a fine and the next coarser structured level, with their scratch rows.

    Parameters
    ----------
    fine, coarse : StencilOperator
        The operators of the two levels (their grids and dtype).
    """

    def __init__(self, fine: StencilOperator, coarse: StencilOperator):
        want = tuple(coarsen_size(n, fine.data.bc) for n in fine.grid_shape)
        if coarse.grid_shape != want:
            raise ValueError(f"coarse level has shape {coarse.grid_shape}, expected {want} for fine shape {fine.grid_shape}")
        self.fine, self.coarse = fine, coarse
        self.off = 1 if fine.data.bc == "dirichlet" else 0
        T, dt = fine.threads, fine.dtype
        if fine.dim == 2:
            n1, nc1 = fine.grid_shape[1], coarse.grid_shape[1]
            self.rbuf = np.zeros((T, 3, n1 + 2) if T > 1 else (3, n1 + 2), dtype=dt)
            self.ebuf = np.zeros((T, nc1 + 2) if T > 1 else (nc1 + 2,), dtype=dt)
            self.rbuf4 = np.zeros((4, n1 + 2), dtype=dt)
            self.t3 = self.t31 = None
        else:
            n1, n2 = fine.grid_shape[1:]
            nc1, nc2 = coarse.grid_shape[1:]
            self.rbuf = np.zeros((T, 3, n1 + 2, n2 + 2) if T > 1 else (3, n1 + 2, n2 + 2), dtype=dt)
            self.ebuf = np.zeros((T, nc1 + 2, nc2 + 2) if T > 1 else (nc1 + 2, nc2 + 2), dtype=dt)
            self.t3 = np.zeros((T, 4, n2 + 2) if T > 1 else (4, n2 + 2), dtype=dt)
            self.t31 = self.t3 if T == 1 else self.t3[0]
            self.rbuf4 = None
        self.rbuf1 = self.rbuf if T == 1 else self.rbuf[0]

    def restrict_into(self, r: np.ndarray, out: np.ndarray) -> None:
        """``out = R r``."""
        K = kernels()
        if self.fine.dim == 2:
            K.restrict2(r, out, self.off, self.rbuf1)
        else:
            K.restrict3(r, out, self.off, self.rbuf1, self.t31)

    def restrict_residual_into(self, U: np.ndarray, F: np.ndarray, out: np.ndarray) -> None:
        """``out = R (F - A U)`` in one pass (fused residual and restriction)."""
        K, op = kernels(), self.fine
        par = op.parallel()
        if op.dim == 2:
            (K.restrict_residual2_par if par else K.restrict_residual2)(
                U, F, *op.args(), out, self.off, self.rbuf, op.zero
            )
        else:
            (K.restrict_residual3_par if par else K.restrict_residual3)(
                U, F, *op.args(), out, self.off, self.rbuf, op.zero, self.t3
            )

    def prolong_add(self, u: np.ndarray, E: np.ndarray) -> None:
        """``u += P E``."""
        K = kernels()
        par = self.fine.parallel()
        if self.fine.dim == 2:
            (K.prolong_add2_par if par else K.prolong_add2)(u, E, self.off, self.ebuf)
        else:
            (K.prolong_add3_par if par else K.prolong_add3)(u, E, self.off, self.ebuf)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.rbuf, self.ebuf, self.rbuf4, self.t3) if a is not None)
