"""Small picklable operator wrappers for the sparse backend.

They turn scipy matrices and factorizations into the callables that
:class:`mgcore.hierarchy.Level` expects (``A(u)``, ``R(r)``, ``P(e)``,
``coarse_solve(f)``), without closures, so hierarchies pickle.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp

__all__ = ["MatrixOperator", "DenseSolve", "check_matrix"]


def check_matrix(A, argname: str = "A") -> sp.csr_matrix:
    """Validate a square, finite matrix and return it as CSR (float64).

    Raises
    ------
    TypeError
        If ``A`` is not a matrix.
    ValueError
        If ``A`` is not square, is empty, or holds NaN/Inf.
    """
    if sp.issparse(A):
        M = A.tocsr()
    elif isinstance(A, np.ndarray):
        if A.ndim != 2:
            raise ValueError(f"{argname} must be a 2-D matrix, got an array of shape {A.shape}")
        M = sp.csr_matrix(A)
    else:
        raise TypeError(f"{argname} must be a scipy.sparse matrix or a 2-D numpy array, got {type(A).__name__}")
    if M.shape[0] != M.shape[1]:
        raise ValueError(f"{argname} must be square, got shape {M.shape}")
    if M.shape[0] == 0:
        raise ValueError(f"{argname} must not be empty")
    if not np.issubdtype(M.dtype, np.number) or np.issubdtype(M.dtype, np.complexfloating):
        raise TypeError(f"{argname} must have a real floating dtype, got {M.dtype}")
    M = M.astype(np.float64)
    if not np.all(np.isfinite(M.data)):
        raise ValueError(f"{argname} contains NaN or Inf entries")
    return M


class MatrixOperator:
    """``x -> M @ x`` for a sparse matrix, as a picklable callable."""

    def __init__(self, M: sp.spmatrix):
        self.M = M.tocsr()

    @property
    def shape(self) -> tuple:
        return self.M.shape

    @property
    def nnz(self) -> int:
        return int(self.M.nnz)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.M @ x

    def __repr__(self) -> str:
        return f"MatrixOperator(shape={self.M.shape}, nnz={self.M.nnz})"


class DenseSolve:
    """Exact coarse solve with a dense factorization.

    Cholesky for SPD matrices; the Moore-Penrose pseudo-inverse for singular
    ones (pure Neumann), so that the returned solution has no null-space
    component.
    """

    def __init__(self, A: sp.spmatrix, singular: bool = False, dtype=np.float64):
        Ad = A.toarray() if sp.issparse(A) else np.asarray(A)
        self.singular = singular
        self.dtype = np.dtype(dtype)
        if singular:
            self.inv = np.linalg.pinv(Ad).astype(self.dtype)
            self.chol = None
        else:
            try:
                self.chol = sla.cho_factor(Ad)
                self.inv = None
            except np.linalg.LinAlgError:
                self.chol = None
                self.inv = np.linalg.inv(Ad).astype(self.dtype)

    def __call__(self, f: np.ndarray) -> np.ndarray:
        if self.chol is not None:
            return sla.cho_solve(self.chol, f).astype(f.dtype, copy=False)
        return (self.inv @ f).astype(f.dtype, copy=False)
