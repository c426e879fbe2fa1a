"""Compiled (numba) grid transfers over a subset of the axes (semi-coarsening), 3D arrays.

``c0, c1, c2`` say which axes are coarsened.  Along a coarsened axis coarse
node ``I`` is fine node ``2 I + off`` (``off`` = 1 Dirichlet, 0 Neumann;
odd sizes), interpolation is linear (weights 1/2, 1, 1/2) and the
restriction is its transpose over 2 (weights 1/4, 1/2, 1/4); along the
other axes both are the identity.  So ``R = P^T / 2^{d'}`` with ``d'`` the
number of coarsened axes, as :func:`mgcore.sparse.transfers.prolongation_axes`
assembles it.  A 2D grid is passed as a ``(1, n0, n1)`` view with ``c0 = False``.

Every kernel gathers row by row along the last (contiguous) axis into one
scratch row and allocates nothing.
"""

from __future__ import annotations

from numba import njit

from .. import _jit  # noqa: F401  (the first-compilation note on stderr)
from .._kernels import _res_plane3

_JIT = dict(cache=True, error_model="numpy", nogil=True, boundscheck=False)


@njit(**_JIT)
def _taps(I, n, coarsened, off):
    """Fine taps ``start + q`` with weights ``(w0, w1, w2)`` of coarse index ``I`` along one axis
    (weights 0 outside ``[0, n)``; the identity along an axis that is not coarsened)."""
    if not coarsened:
        return I - 1, 0.0, 1.0, 0.0
    s = 2 * I + off - 1
    w0 = 0.25 if s >= 0 else 0.0
    w2 = 0.25 if s + 2 < n else 0.0
    return s, w0, 0.5, w2


@njit(**_JIT)
def _restrict_row(frow, dst, c2, off):
    """``dst = R_1 frow`` along the last axis (or a copy when it is not coarsened)."""
    m2 = dst.shape[0]
    n2 = frow.shape[0]
    if not c2:
        for k in range(m2):
            dst[k] = frow[k]
        return
    K0, K1 = 0, m2
    if off == 0:  # Neumann: the end nodes have one neighbour
        dst[0] = 0.5 * frow[0] + (0.25 * frow[1] if n2 > 1 else 0.0)
        if m2 > 1:
            L = 2 * (m2 - 1)
            dst[m2 - 1] = 0.25 * frow[L - 1] + 0.5 * frow[L]
        K0, K1 = 1, m2 - 1
    for K in range(K0, K1):
        k = 2 * K + off
        dst[K] = 0.25 * frow[k - 1] + 0.5 * frow[k] + 0.25 * frow[k + 1]


@njit(**_JIT)
def _restrict_plane(src, p0, pw0, pw1, pw2, np_, dst, c1, c2, off, frow):
    """Coarse plane ``dst`` from fine planes ``src[p0 + q]`` (plane weights ``pw``; ``np_`` = number of fine planes)."""
    m1 = dst.shape[0]
    n1 = src.shape[1]
    n2 = src.shape[2]
    for J in range(m1):
        for k in range(n2):
            frow[k] = 0.0
        j0, jw0, jw1, jw2 = _taps(J, n1, c1, off)
        for q in range(3):
            wp = pw0 if q == 0 else (pw1 if q == 1 else pw2)
            if wp == 0.0:
                continue
            p = p0 + q
            for t in range(3):
                wj = jw0 if t == 0 else (jw1 if t == 1 else jw2)
                if wj == 0.0:
                    continue
                w = wp * wj
                row = src[p, j0 + t]
                for k in range(n2):
                    frow[k] += w * row[k]
        _restrict_row(frow, dst[J], c2, off)


@njit(**_JIT)
def restrict_semi3(r, out, off, c0, c1, c2, frow):
    """``out = R r`` (full weighting over the coarsened axes)."""
    n0 = r.shape[0]
    for I in range(out.shape[0]):
        i0, w0, w1, w2 = _taps(I, n0, c0, off)
        _restrict_plane(r, i0, w0, w1, w2, n0, out[I], c1, c2, off, frow)


@njit(**_JIT)
def restrict_residual_semi3(u, f, wx, wy, wz, cst, const, out, off, c0, c1, c2, ring, frow, z):
    """``out = R (f - A u)``: residual planes computed once each into the 3-plane ``ring``."""
    n0 = u.shape[0]
    done = -1  # last fine plane whose residual is in the ring
    for I in range(out.shape[0]):
        i0, w0, w1, w2 = _taps(I, n0, c0, off)
        lo = i0 if w0 != 0.0 else i0 + 1
        hi = i0 + 2 if w2 != 0.0 else i0 + 1
        for i in range(max(lo, done + 1), hi + 1):
            _res_plane3(u, f, wx, wy, wz, cst, const, i, ring[i % 3], 1, z)
        if hi > done:
            done = hi
        # the ring holds plane i in slot i % 3: gather through a 3-plane view ordered by slot
        m1 = out.shape[1]
        n1 = u.shape[1]
        n2 = u.shape[2]
        dst = out[I]
        for J in range(m1):
            for k in range(n2):
                frow[k] = 0.0
            j0, jw0, jw1, jw2 = _taps(J, n1, c1, off)
            for q in range(3):
                wp = w0 if q == 0 else (w1 if q == 1 else w2)
                if wp == 0.0:
                    continue
                p = (i0 + q) % 3
                for t in range(3):
                    wj = jw0 if t == 0 else (jw1 if t == 1 else jw2)
                    if wj == 0.0:
                        continue
                    w = wp * wj
                    row = ring[p, j0 + t]
                    for k in range(n2):
                        frow[k] += w * row[k]
            _restrict_row(frow, dst[J], c2, off)


@njit(**_JIT)
def _gather(i, m, coarsened, off):
    """Coarse sources ``(I0, w0, w1)`` of fine index ``i`` along one axis: ``w0 E[I0] + w1 E[I0 + 1]`` (0 outside)."""
    if not coarsened:
        return i, 1.0, 0.0
    t = i - off + 2
    if t % 2 == 0:
        return t // 2 - 1, 1.0, 0.0
    I0 = (t - 1) // 2 - 1
    return I0, (0.5 if I0 >= 0 else 0.0), (0.5 if I0 + 1 < m else 0.0)


@njit(**_JIT)
def prolong_semi3(u, e, off, c0, c1, c2, crow):
    """``u += P e`` (linear interpolation along the coarsened axes); ``crow``: one coarse row of scratch."""
    n0, n1, n2 = u.shape
    m0, m1, m2 = e.shape
    for i in range(n0):
        I0, a0, a1 = _gather(i, m0, c0, off)
        for j in range(n1):
            J0, b0, b1 = _gather(j, m1, c1, off)
            for k in range(m2):
                crow[k] = 0.0
            for s in range(2):
                wa = a0 if s == 0 else a1
                if wa == 0.0:
                    continue
                for t in range(2):
                    wb = b0 if t == 0 else b1
                    if wb == 0.0:
                        continue
                    w = wa * wb
                    row = e[I0 + s, J0 + t]
                    for k in range(m2):
                        crow[k] += w * row[k]
            ur = u[i, j]
            if not c2:
                for k in range(n2):
                    ur[k] += crow[k]
                continue
            for K in range(m2):
                ur[2 * K + off] += crow[K]
            for K in range(m2 - 1):
                ur[2 * K + off + 1] += 0.5 * (crow[K] + crow[K + 1])
            if off == 1:
                ur[0] += 0.5 * crow[0]
                ur[n2 - 1] += 0.5 * crow[m2 - 1]
