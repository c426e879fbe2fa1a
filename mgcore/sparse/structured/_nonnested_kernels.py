"""Compiled (numba) linear interpolation and its transpose between non-nested uniform grids, one axis at a time.

An array is viewed as ``(p, n, q)`` with the transferred axis in the middle
(``q = 1`` for the last axis, which has kernels of its own).  Fine node ``j``
takes ``wlo[j] e[lo[j]] + whi[j] e[hi[j]]`` (weights of
:func:`mgcore.sparse.transfers.interpolation_weights`); the restriction
scatters the same weights back, times ``scale``.  Nothing is allocated.
"""

from __future__ import annotations

from numba import njit

from .. import _jit  # noqa: F401  (the first-compilation note on stderr)

_JIT = dict(cache=True, error_model="numpy", nogil=True, boundscheck=False)


@njit(**_JIT)
def interp_mid(src, dst, lo, hi, wlo, whi, add):
    """``dst[p, j, :] (+)= wlo[j] src[p, lo[j], :] + whi[j] src[p, hi[j], :]``."""
    P, n, Q = dst.shape
    for p in range(P):
        for j in range(n):
            a, b, wa, wb = lo[j], hi[j], wlo[j], whi[j]
            if add:
                for q in range(Q):
                    dst[p, j, q] += wa * src[p, a, q] + wb * src[p, b, q]
            else:
                for q in range(Q):
                    dst[p, j, q] = wa * src[p, a, q] + wb * src[p, b, q]


@njit(**_JIT)
def interp_last(src, dst, lo, hi, wlo, whi, add):
    """``dst[p, j] (+)= wlo[j] src[p, lo[j]] + whi[j] src[p, hi[j]]``."""
    P, n = dst.shape
    for p in range(P):
        s = src[p]
        d = dst[p]
        if add:
            for j in range(n):
                d[j] += wlo[j] * s[lo[j]] + whi[j] * s[hi[j]]
        else:
            for j in range(n):
                d[j] = wlo[j] * s[lo[j]] + whi[j] * s[hi[j]]


@njit(**_JIT)
def restrict_mid(src, dst, lo, hi, wlo, whi, scale):
    """``dst[p, i, :] = scale sum_j P[j, i] src[p, j, :]`` (the transpose of :func:`interp_mid`)."""
    P, n, Q = src.shape
    for p in range(P):
        for i in range(dst.shape[1]):
            for q in range(Q):
                dst[p, i, q] = 0.0
        for j in range(n):
            a, b = lo[j], hi[j]
            wa, wb = scale * wlo[j], scale * whi[j]
            for q in range(Q):
                v = src[p, j, q]
                dst[p, a, q] += wa * v
                dst[p, b, q] += wb * v


@njit(**_JIT)
def restrict_last(src, dst, lo, hi, wlo, whi, scale):
    """``dst[p, i] = scale sum_j P[j, i] src[p, j]``."""
    P, n = src.shape
    for p in range(P):
        s = src[p]
        d = dst[p]
        for i in range(d.shape[0]):
            d[i] = 0.0
        for j in range(n):
            v = scale * s[j]
            d[lo[j]] += wlo[j] * v
            d[hi[j]] += whi[j] * v
