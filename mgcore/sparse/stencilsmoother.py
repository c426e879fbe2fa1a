"""The learned-stencil smoother of the sparse backend (``{"name": "stencil", "file": ...}``).
Registered in :data:`mgcore.sparse.smoothers.SMOOTHERS`."""

from __future__ import annotations

from __future__ import annotations
import inspect
from typing import Any
import numpy as np
import scipy.sparse as sp
from ..config import parse_one_spec
from ..registry import SMOOTHER_REGISTRY, validate_options
from ..iterations import ChebyshevSemiIteration, Smoother
from ..polynomials import PolynomialSmoother, chebyshev_roots
from ..spectrum import estimate_lambda_max

from .polysmoothers import _same_operator  # noqa: F401
from ._smoother_base import (  # noqa: F401
    SparseSmoother, _DiagScale, _Identity, _MatVec, _as_csr, _check_positive, _grid_shape, _inverse_diagonal, _kernels,
)


class StencilSmoother(SparseSmoother):
    """Stencil smoother ``u += m_c (K * D^{-1}(f - A u))``, ``B = M_c K D^{-1}`` (learned smoothers).

    ``K`` is a ``k^d`` stencil applied as a cross-correlation with zero
    padding, ``m_c`` a colour mask (all, red or black points), one smoothing
    step a sequence of such substeps, and step ``j`` of a smoothing call
    uses sweep ``j mod W``; the format and the choice of a file's level set
    by grid size are those of :mod:`mgcore_torch.learn.format` (numpy only).
    Each substep's ``B`` is assembled once as a sparse matrix, so the
    iterates equal those of the torch smoother
    (:class:`mgcore_torch.smoothers.StencilSmoother`) to round-off.  The
    post-smoother is the same (not its adjoint): use ``accel="gmres"``
    rather than CG.

    Parameters
    ----------
    A : sparse matrix
    file : str, optional
        A stencil-smoother file (``mgcore learn-smoother --out FILE``).
    kernel : array-like, optional
        One ``k^d`` stencil for every step and point, instead of a file.
    level : int, optional
        1-based level set of the file (default: by the grid's size).
    grid : GridLevelData
        The level's grid (its shape places the stencil).

    Without ``file`` and ``kernel`` the stencil is ``2d/(2d+1)``: damped
    Jacobi, the starting point of training.
    """

    name = "stencil"
    symmetric = False

    def __init__(self, A, file: Any = None, kernel: Any = None, level: int | None = None, grid: Any = None):
        super().__init__(A)
        from mgcore_torch.learn.format import resolve_stencil_smoother  # numpy only

        self.shape = _grid_shape(grid, None, self.n, "StencilSmoother")
        if self.shape is None:
            raise ValueError("StencilSmoother needs the level's grid (grid=GridLevelData) to place its stencil")
        spec = resolve_stencil_smoother(file, kernel, len(self.shape))
        self.description = spec.describe()
        K = spec.level_kernels(self.shape, level)
        dinv = _inverse_diagonal(self.A, "StencilSmoother").astype(np.float64)
        red = (np.indices(self.shape).sum(axis=0) % 2 == 0).ravel()
        masks = (None, red, ~red)
        self.B = []
        for w in range(K.shape[0]):
            self.B.append([_stencil_matrix(K[w, s], self.shape, dinv, masks[c]).astype(self.A.dtype)
                           for s, c in enumerate(spec.colours)])

    def smooth(self, A, f, u, nu):
        f, u = self._start(f, u)
        for j in range(nu):
            for B in self.B[j % len(self.B)]:
                u = B @ f if u is None else u + B @ (f - self.A @ u)
        return u

    def __repr__(self) -> str:
        return f"StencilSmoother({self.description}, n={self.n})"


def _stencil_matrix(K: np.ndarray, shape: tuple, dinv: np.ndarray, rows: np.ndarray | None) -> sp.csr_matrix:
    """CSR of ``x -> m * (K * (dinv x))`` (cross-correlation, zero padding, centred) on a C-order grid;
    ``rows`` is the boolean colour mask ``m`` (``None``: every row).  The taps in C order have
    increasing flat offsets, so each row's columns come out sorted (no COO sort)."""
    c = K.shape[0] // 2
    N = int(np.prod(shape))
    grid = np.indices(shape).reshape(len(shape), N)
    taps = [a for a in np.ndindex(*K.shape) if K[a] != 0]
    keep = np.zeros((N, max(len(taps), 1)), dtype=bool)
    cols = np.zeros(keep.shape, dtype=np.int64)
    vals = np.zeros(keep.shape)
    strides = np.cumprod((1,) + tuple(shape[:0:-1]))[::-1]
    for t, a in enumerate(taps):
        off = np.array(a) - c
        q = grid + off[:, None]
        keep[:, t] = np.all((q >= 0) & (q < np.array(shape)[:, None]), axis=0)
        cols[:, t] = np.arange(N) + int(off @ strides)
        vals[:, t] = K[a]
    if rows is not None:
        keep &= rows.reshape(N, 1)
    cols = cols[keep]
    data = vals[keep] * dinv[cols]
    indptr = np.concatenate(([0], np.cumsum(keep.sum(axis=1))))
    return sp.csr_matrix((data, cols, indptr), shape=(N, N))


