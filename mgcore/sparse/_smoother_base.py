"""Shared pieces of the sparse smoothers: the base class and operand helpers."""

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

__all__ = ["SparseSmoother"]


# ------------------------------------------------------------------ helpers
def _as_csr(A: Any, name: str) -> sp.csr_matrix:
    if sp.issparse(A):
        M = A.tocsr()
    elif isinstance(A, np.ndarray) and A.ndim == 2:
        M = sp.csr_matrix(A)
    else:
        raise TypeError(f"{name}: A must be a scipy.sparse matrix or a 2-D numpy array, got {type(A).__name__}")
    if M.shape[0] != M.shape[1] or M.shape[0] == 0:
        raise ValueError(f"{name}: A must be square and non-empty, got shape {M.shape}")
    if M.dtype not in (np.float32, np.float64):
        M = M.astype(np.float64)
    if not M.has_canonical_format:
        M = M.copy()
        M.sum_duplicates()
    return M


def _inverse_diagonal(A: sp.csr_matrix, name: str) -> np.ndarray:
    d = A.diagonal()
    bad = np.flatnonzero(d == 0)
    if bad.size:
        raise ValueError(f"{name}: A has zero diagonal entries (rows {bad[:5].tolist()}...); this smoother divides by diag(A)")
    return (1.0 / d.astype(np.float64)).astype(A.dtype)


def _check_positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) or not (value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _grid_shape(grid: Any, shape: Any, n: int, name: str) -> tuple | None:
    if shape is None and grid is not None:
        shape = getattr(grid, "shape", None)
    if shape is None:
        return None
    shape = tuple(int(s) for s in shape)
    if int(np.prod(shape)) != n:
        raise ValueError(f"{name}: grid shape {shape} has {int(np.prod(shape))} points but A has {n} rows")
    return shape


class _DiagScale:
    """``r -> d * r`` as a picklable callable."""

    def __init__(self, d: np.ndarray):
        self.d = d

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return self.d * r


class _Identity:
    """``r -> r`` as a picklable callable."""

    def __call__(self, r: np.ndarray) -> np.ndarray:
        return r


class _MatVec:
    """``u -> A @ u`` as a picklable callable."""

    def __init__(self, A: sp.csr_matrix):
        self.A = A

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return self.A @ u


# -------------------------------------------------------- compiled kernels
_KERNELS: dict = {}


def _kernels() -> dict:
    """numba kernels for in-place Gauss-Seidel sweeps over a CSR matrix (compiled once, cached)."""
    if not _KERNELS:
        import numba

        @numba.njit(cache=True, nogil=True)
        def gs_range(indptr, indices, data, dinv, f, u, start, stop, step):  # pragma: no cover - compiled
            for i in range(start, stop, step):
                s = f[i]
                for k in range(indptr[i], indptr[i + 1]):
                    s -= data[k] * u[indices[k]]
                u[i] += s * dinv[i]

        @numba.njit(cache=True, nogil=True)
        def gs_order(indptr, indices, data, dinv, f, u, order):  # pragma: no cover - compiled
            for t in range(order.shape[0]):
                i = order[t]
                s = f[i]
                for k in range(indptr[i], indptr[i + 1]):
                    s -= data[k] * u[indices[k]]
                u[i] += s * dinv[i]

        _KERNELS["range"] = gs_range
        _KERNELS["order"] = gs_order
    return _KERNELS


# ----------------------------------------------------------------- classes
class SparseSmoother(Smoother):
    """Base class: holds the CSR matrix ``A``; ``smooth`` copies ``u`` and calls :meth:`_step`.

    Subclasses set ``name`` (the registry key), ``options`` (the keyword
    options a spec may give) and ``symmetric`` (whether one smoothing step is
    self-adjoint in the ``A`` inner product when ``A`` is SPD).
    """

    name = ""
    symmetric = True

    def __init__(self, A: Any):
        self.A = _as_csr(A, type(self).__name__)
        self.n = self.A.shape[0]

    @classmethod
    def options(cls) -> tuple[str, ...]:
        """Keyword options accepted by the constructor (besides ``A`` and ``grid``)."""
        sig = inspect.signature(cls.__init__)
        return tuple(p for p in sig.parameters if p not in ("self", "A", "grid"))

    @classmethod
    def post_options(cls, options: dict) -> dict:
        """Options of the post-smoother that is adjoint to the one built from ``options``."""
        return dict(options)

    def _in_place_operands(self, f: np.ndarray, u: Any) -> tuple[np.ndarray, np.ndarray, Any]:
        """``(f, u, dtype)`` ready for an in-place compiled sweep: a common
        dtype, ``u`` allocated as zero when ``None``, ``f`` contiguous."""
        dtype = np.result_type(self.A.dtype, f.dtype)
        if u is None:
            u = np.zeros(self.n, dtype=dtype)
        elif u.dtype != dtype:
            u = u.astype(dtype)
        return np.ascontiguousarray(f, dtype=dtype), u, dtype

    def _start(self, f: np.ndarray, u: Any) -> tuple[np.ndarray, np.ndarray | None]:
        f = np.asarray(f)
        if f.shape != (self.n,):
            raise ValueError(f"{type(self).__name__}: f must be a vector of shape ({self.n},), got {f.shape}")
        if u is None:
            return f, None
        u = np.asarray(u)
        if u.shape != (self.n,):
            raise ValueError(f"{type(self).__name__}: u must be a vector of shape ({self.n},), got {u.shape}")
        return f, u.copy()

    def smooth(self, A, f, u, nu):
        f, u = self._start(f, u)
        for _ in range(nu):
            u = self._step(f, u)
        return u

    def _step(self, f: np.ndarray, u: np.ndarray | None) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n={self.n})"


