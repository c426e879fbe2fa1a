"""Shared helpers of the structured pieces: the lazily imported kernel module, a BLAS-free vector norm."""

from __future__ import annotations

import math

import numpy as np

_K = None


def kernels():
    """The compiled kernel module :mod:`mgcore.sparse._kernels` (imports numba on first use)."""
    global _K
    if _K is None:
        from .. import _kernels as K

        _K = K
    return _K


def norm2(x) -> float:
    """``||x||_2`` of a float array without BLAS (``np.linalg.norm`` calls BLAS ``dot``).

    A BLAS call wakes OpenBLAS's worker threads, which then spin for a while
    and take cores from the solver's own threads (``threads > 1``); this sum of
    squares runs in numpy's own loop on the calling thread.

    Examples
    --------
    >>> norm2(np.array([3.0, 4.0]))
    5.0
    """
    v = np.ravel(x)
    return math.sqrt(float(np.einsum("i,i->", v, v)))
