"""The matrix-free level operator ``A`` of the structured path (face-coefficient stencil)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...problems.grid import GridLevelData
from ._common import kernels, norm2

__all__ = ["StencilOperator", "uniform_weights"]


def uniform_weights(data: GridLevelData) -> list | None:
    """One face weight per direction if every face (boundary faces included)
    along that direction has it, else ``None``."""
    if data.uniform is not None:
        return list(data.uniform)
    if data.bc != "dirichlet":
        return None
    out = []
    for w in data.faces:
        c = w.flat[0]
        if not bool(np.all(w == c)):
            return None
        out.append(float(c))
    return out


class StencilOperator:
    """``A`` of one structured level: ``(A u)_p = d_p u_p - sum_q w_pq u_q``.

    Holds the scaled face weights (or, for uniform Dirichlet levels, only the
    scalar weights ``cst = [c_x, c_y(, c_z), d, 1/d]``) and the scratch rows
    the kernels need.  :meth:`args` is the argument tuple every compiled
    kernel of :mod:`mgcore.sparse._kernels` takes for the operator.

    Parameters
    ----------
    data : GridLevelData
    dtype : numpy dtype
    threads : int
    """

    def __init__(self, data: GridLevelData, dtype: Any, threads: int):
        self.data = data
        self.dtype = np.dtype(dtype)
        self.threads = threads
        self.grid_shape = tuple(int(n) for n in data.shape)
        self.dim = data.dim
        self.size = int(np.prod(self.grid_shape))
        dt = self.dtype
        cs = uniform_weights(data)
        self.const = cs is not None
        if self.const:
            self.faces = [np.zeros((1,) * self.dim, dtype=dt) for _ in range(self.dim)]
            dsum = 2.0 * sum(cs) * data.scale
            cs = [c * data.scale for c in cs]
        else:
            self.faces = [np.ascontiguousarray(data.scale * w, dtype=dt) for w in data.faces]
            dsum, cs = 0.0, [0.0] * self.dim
        self.cst = np.array(cs + [dsum, 1.0 / dsum if dsum > 0 else 0.0], dtype=dt)
        last = self.grid_shape[-1]
        self.zero = np.zeros(last, dtype=dt)
        self.row = np.zeros(last, dtype=dt)
        self.rows = np.zeros((threads, last), dtype=dt) if threads > 1 else None

    def args(self) -> tuple:
        """``(*faces, cst, const)``: the operator arguments of the kernels."""
        return (*self.faces, self.cst, self.const)

    def parallel(self) -> bool:
        """Whether to run the ``_par`` kernels (sets numba's thread count)."""
        if self.threads > 1:
            kernels().set_threads(self.threads)
            return True
        return False

    def grid(self, x: Any, name: str) -> np.ndarray:
        """``x`` as a C-contiguous array of the grid shape and level dtype (no copy when it already is)."""
        if isinstance(x, np.ndarray) and x.dtype == self.dtype and x.flags.c_contiguous:
            if x.shape == self.grid_shape:
                return x
            if x.size == self.size:
                return x.reshape(self.grid_shape)
        arr = np.asarray(x)
        if arr.size != self.size:
            raise ValueError(f"{name} must have {self.size} entries (grid {self.grid_shape}), got shape {arr.shape}")
        return np.ascontiguousarray(arr.reshape(self.grid_shape), dtype=self.dtype)

    def _stencil(self, U: np.ndarray, F: np.ndarray, mode: int) -> np.ndarray:
        K = kernels()
        out = np.empty(self.grid_shape, dtype=self.dtype)
        par = self.parallel()
        if self.dim == 2:
            (K.stencil2_par if par else K.stencil2)(U, F, *self.args(), out, mode, self.zero)
        else:
            (K.stencil3_par if par else K.stencil3)(U, F, *self.args(), out, mode, self.zero)
        return out

    def apply(self, u: Any) -> np.ndarray:
        """``A u`` (allocates the result; flat in, flat out)."""
        U = self.grid(u, "u")
        out = self._stencil(U, U, 0)
        return out.reshape(np.shape(u)) if np.ndim(u) == 1 else out

    def residual(self, f: Any, u: Any) -> np.ndarray:
        """``f - A u`` (allocates; grid shape)."""
        F = self.grid(f, "f")
        if u is None:
            return F.copy()
        return self._stencil(self.grid(u, "u"), F, 1)

    def residual_norm(self, f: Any, u: Any) -> float:
        """``||f - A u||_2`` without allocating (fused kernel)."""
        F = self.grid(f, "f")
        if u is None:
            return norm2(F)
        U = self.grid(u, "u")
        K = kernels()
        if self.parallel():
            fn = K.resnorm2_par if self.dim == 2 else K.resnorm3_par
            return math.sqrt(fn(U, F, *self.args(), self.rows, self.zero))
        fn = K.resnorm2 if self.dim == 2 else K.resnorm3
        return math.sqrt(fn(U, F, *self.args(), self.row, self.zero))

    def nbytes(self) -> int:
        return 0 if self.const else sum(w.nbytes for w in self.faces)
