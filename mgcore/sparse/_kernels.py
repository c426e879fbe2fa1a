"""Compiled (numba) kernels of the matrix-free structured multigrid path.

This module imports numba and is imported only when a structured level is
built (:func:`mgcore.sparse.structured.build_structured_levels`); every
kernel is compiled lazily on first call and cached on disk.

Operator (seed 003 eq. 5.3-5.5 in face-coefficient form, see
:mod:`mgcore.sparse.grid`): with face weights already multiplied by the level
scale,

.. math:: (A u)_p = d_p u_p - \\sum_{q \\sim p} w_{pq} u_q,
          \\qquad d_p = \\sum_{q \\sim p} w_{pq},

where neighbours outside the unknowns are zero (Dirichlet) and boundary faces
are zero (Neumann), so one code path serves both.  Points on the grid boundary
use a bounds-checked point formula; interior points use a branch-free loop
that either reads the face arrays (variable coefficients) or, when all faces
touching interior points share one value per direction (``const=True``),
scalar weights ``cst = [c_x, c_y(, c_z), d, 1/d]``.

Grid transfers are the tensor-product linear interpolation ``P`` of seed 003
eq. (4.7)-(4.9) and the full-weighting restriction ``R = P^T / 2^d``
(Lemma 4.1 up to the factor ``2^-d``).  ``off`` is 1 for Dirichlet grids
(coarse node ``i`` = fine node ``2i+1``) and 0 for Neumann grids (coarse node
``i`` = fine node ``2i``).

Every kernel works in place on preallocated arrays and allocates nothing.
Kernels whose name ends in ``_par`` are ``parallel=True`` variants that
distribute rows/planes with ``prange`` (used when ``threads > 1``).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import njit, prange

_JIT = dict(cache=True, error_model="numpy", nogil=True)
_PJIT = dict(cache=True, error_model="numpy", nogil=True, parallel=True)

# ---------------------------------------------------------------------------
# 2D point and row helpers
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _pt2(u, wx, wy, i, j):
    """Neighbour sum ``s`` and diagonal ``d`` at ``(i, j)`` (bounds-checked)."""
    n0, n1 = u.shape
    d = wx[i, j] + wx[i + 1, j] + wy[i, j] + wy[i, j + 1]
    s = 0.0
    if i > 0:
        s += wx[i, j] * u[i - 1, j]
    if i < n0 - 1:
        s += wx[i + 1, j] * u[i + 1, j]
    if j > 0:
        s += wy[i, j] * u[i, j - 1]
    if j < n1 - 1:
        s += wy[i, j + 1] * u[i, j + 1]
    return s, d


@njit(**_JIT)
def _gs_row2(u, f, wx, wy, cst, const, i, start):
    """Gauss-Seidel update of the points ``j = start, start+2, ...`` of row ``i``."""
    n0, n1 = u.shape
    if i == 0 or i == n0 - 1 or n1 < 3:
        for j in range(start, n1, 2):
            s, d = _pt2(u, wx, wy, i, j)
            u[i, j] = (f[i, j] + s) / d
        return
    j0 = start
    if start == 0:
        s, d = _pt2(u, wx, wy, i, 0)
        u[i, 0] = (f[i, 0] + s) / d
        j0 = 2
    if const:
        cx, cy, inv = cst[0], cst[1], cst[-1]
        for j in range(j0, n1 - 1, 2):
            u[i, j] = (f[i, j] + cx * (u[i - 1, j] + u[i + 1, j]) + cy * (u[i, j - 1] + u[i, j + 1])) * inv
    else:
        for j in range(j0, n1 - 1, 2):
            a = wx[i, j]
            b = wx[i + 1, j]
            c = wy[i, j]
            e = wy[i, j + 1]
            u[i, j] = (f[i, j] + a * u[i - 1, j] + b * u[i + 1, j] + c * u[i, j - 1] + e * u[i, j + 1]) / (a + b + c + e)
    if (n1 - 1 - start) % 2 == 0:
        s, d = _pt2(u, wx, wy, i, n1 - 1)
        u[i, n1 - 1] = (f[i, n1 - 1] + s) / d


@njit(**_JIT)
def _res_row2(u, f, wx, wy, cst, const, i, out, mode):
    """Row ``i`` of ``f - A u`` (mode 1) or ``A u`` (mode 0) into ``out`` (length n1)."""
    n0, n1 = u.shape
    if i == 0 or i == n0 - 1 or n1 < 3:
        for j in range(n1):
            s, d = _pt2(u, wx, wy, i, j)
            out[j] = f[i, j] - (d * u[i, j] - s) if mode == 1 else d * u[i, j] - s
        return
    for j in (0, n1 - 1):
        s, d = _pt2(u, wx, wy, i, j)
        out[j] = f[i, j] - (d * u[i, j] - s) if mode == 1 else d * u[i, j] - s
    if const:
        cx, cy, dd = cst[0], cst[1], cst[2]
        if mode == 1:
            for j in range(1, n1 - 1):
                out[j] = f[i, j] - dd * u[i, j] + cx * (u[i - 1, j] + u[i + 1, j]) + cy * (u[i, j - 1] + u[i, j + 1])
        else:
            for j in range(1, n1 - 1):
                out[j] = dd * u[i, j] - cx * (u[i - 1, j] + u[i + 1, j]) - cy * (u[i, j - 1] + u[i, j + 1])
    else:
        for j in range(1, n1 - 1):
            a = wx[i, j]
            b = wx[i + 1, j]
            c = wy[i, j]
            e = wy[i, j + 1]
            au = (a + b + c + e) * u[i, j] - a * u[i - 1, j] - b * u[i + 1, j] - c * u[i, j - 1] - e * u[i, j + 1]
            out[j] = f[i, j] - au if mode == 1 else au


# ---------------------------------------------------------------------------
# 2D kernels
# ---------------------------------------------------------------------------


@njit(**_JIT)
def rbgs2(u, f, wx, wy, cst, const, nsweeps, red_first):
    """``nsweeps`` red-black Gauss-Seidel sweeps in place.

    Red = even ``i + j``.  ``red_first=True`` (pre-smoothing) updates red then
    black; ``False`` (post-smoothing) black then red.  The half-sweeps of all
    ``nsweeps`` sweeps are fused into one wavefront over the rows (at step
    ``i``, sweep ``s`` updates colour 1 on row ``i - 2s`` and colour 2 on row
    ``i - 2s - 1``), which gives exactly the unfused result with one pass over
    memory.
    """
    n0 = u.shape[0]
    c1 = 0 if red_first else 1
    for i in range(n0 + 2 * nsweeps - 1):
        for s in range(nsweeps):
            r1 = i - 2 * s
            if 0 <= r1 < n0:
                _gs_row2(u, f, wx, wy, cst, const, r1, (r1 + c1) % 2)
            r2 = r1 - 1
            if 0 <= r2 < n0:
                # colour 2 on row r2 starts at (r2 + 1 - c1) % 2 == (r1 + c1) % 2
                _gs_row2(u, f, wx, wy, cst, const, r2, (r1 + c1) % 2)


@njit(**_PJIT)
def rbgs2_par(u, f, wx, wy, cst, const, nsweeps, red_first):
    """Parallel variant of :func:`rbgs2` (one colour per pass over the rows)."""
    n0 = u.shape[0]
    c1 = 0 if red_first else 1
    for _ in range(nsweeps):
        for colour in (c1, 1 - c1):
            for i in prange(n0):
                _gs_row2(u, f, wx, wy, cst, const, i, (i + colour) % 2)


@njit(**_JIT)
def stencil2(u, f, wx, wy, cst, const, out, mode):
    """``out = f - A u`` (mode 1) or ``out = A u`` (mode 0)."""
    for i in range(u.shape[0]):
        _res_row2(u, f, wx, wy, cst, const, i, out[i], mode)


@njit(**_PJIT)
def stencil2_par(u, f, wx, wy, cst, const, out, mode):
    """Parallel variant of :func:`stencil2`."""
    for i in prange(u.shape[0]):
        _res_row2(u, f, wx, wy, cst, const, i, out[i], mode)


@njit(**_JIT)
def resnorm2(u, f, wx, wy, cst, const, row):
    """``||f - A u||_2^2`` using the scratch row ``row`` (length >= n1)."""
    n1 = u.shape[1]
    acc = 0.0
    r = row[:n1]
    for i in range(u.shape[0]):
        _res_row2(u, f, wx, wy, cst, const, i, r, 1)
        for j in range(n1):
            acc += float(r[j]) * float(r[j])
    return acc


@njit(**_JIT)
def jacobi2(u, f, wx, wy, cst, const, out, prev, tau, w, row):
    """One (Chebyshev-accelerated) Jacobi step.

    ``out = w (u + tau D^{-1}(f - A u)) + (1 - w) prev`` (seed 003 eq. 3.23
    with ``B = tau D^{-1}``); ``w = 1`` is damped Jacobi and ``prev`` is not
    read.  ``out`` may be the same array as ``prev`` but not as ``u``.
    """
    n0, n1 = u.shape
    r = row[:n1]
    for i in range(n0):
        _res_row2(u, f, wx, wy, cst, const, i, r, 1)
        for j in range(n1):
            if const and i > 0 and i < n0 - 1 and j > 0 and j < n1 - 1:
                dinv = cst[-1]
            else:
                dinv = 1.0 / (wx[i, j] + wx[i + 1, j] + wy[i, j] + wy[i, j + 1])
            v = u[i, j] + tau * dinv * r[j]
            if w == 1.0:
                out[i, j] = v
            else:
                out[i, j] = w * v + (1.0 - w) * prev[i, j]


@njit(**_JIT)
def restrict_residual2(u, f, wx, wy, cst, const, fc, off, rows):
    """``fc = R (f - A u)``, fused, ``R = P^T/4`` (full weighting).

    ``rows`` is a scratch array of shape ``(3, n1 + 2)`` holding three fine
    residual rows padded with a zero on each side.
    """
    n0, n1 = u.shape
    nc0, nc1 = fc.shape
    for k in range(3):
        rows[k, 0] = 0.0
        rows[k, n1 + 1] = 0.0
    ia, ib, ic = 0, 1, 2
    for I in range(nc0):
        c = 2 * I + off
        if I == 0:
            if c - 1 >= 0:
                _res_row2(u, f, wx, wy, cst, const, c - 1, rows[ia, 1 : n1 + 1], 1)
            else:
                rows[ia, :] = 0.0
        else:
            ia, ic = ic, ia
        _res_row2(u, f, wx, wy, cst, const, c, rows[ib, 1 : n1 + 1], 1)
        if c + 1 < n0:
            _res_row2(u, f, wx, wy, cst, const, c + 1, rows[ic, 1 : n1 + 1], 1)
        else:
            rows[ic, :] = 0.0
        ra = rows[ia]
        rb = rows[ib]
        rc = rows[ic]
        for J in range(nc1):
            C = 2 * J + off + 1
            fc[I, J] = 0.25 * (
                0.25 * (ra[C - 1] + ra[C + 1] + rc[C - 1] + rc[C + 1])
                + 0.5 * (ra[C] + rc[C] + rb[C - 1] + rb[C + 1])
                + rb[C]
            )


@njit(**_PJIT)
def restrict_residual2_par(u, f, wx, wy, cst, const, fc, off, rows):
    """Parallel variant of :func:`restrict_residual2` (``rows``: ``(threads, 3, n1 + 2)``)."""
    n0, n1 = u.shape
    nc0, nc1 = fc.shape
    for I in prange(nc0):
        buf = rows[numba.get_thread_id()]
        c = 2 * I + off
        for k in range(3):
            buf[k, 0] = 0.0
            buf[k, n1 + 1] = 0.0
            i = c - 1 + k
            if 0 <= i < n0:
                _res_row2(u, f, wx, wy, cst, const, i, buf[k, 1 : n1 + 1], 1)
            else:
                buf[k, :] = 0.0
        ra = buf[0]
        rb = buf[1]
        rc = buf[2]
        for J in range(nc1):
            C = 2 * J + off + 1
            fc[I, J] = 0.25 * (
                0.25 * (ra[C - 1] + ra[C + 1] + rc[C - 1] + rc[C + 1])
                + 0.5 * (ra[C] + rc[C] + rb[C - 1] + rb[C + 1])
                + rb[C]
            )


@njit(**_JIT)
def restrict2(r, fc, off, rows):
    """``fc = R r`` (full weighting) of a given fine vector ``r``."""
    n0, n1 = r.shape
    nc0, nc1 = fc.shape
    for I in range(nc0):
        c = 2 * I + off
        for k in range(3):
            i = c - 1 + k
            rows[k, 0] = 0.0
            rows[k, n1 + 1] = 0.0
            if 0 <= i < n0:
                rows[k, 1 : n1 + 1] = r[i]
            else:
                rows[k, :] = 0.0
        ra = rows[0]
        rb = rows[1]
        rc = rows[2]
        for J in range(nc1):
            C = 2 * J + off + 1
            fc[I, J] = 0.25 * (
                0.25 * (ra[C - 1] + ra[C + 1] + rc[C - 1] + rc[C + 1])
                + 0.5 * (ra[C] + rc[C] + rb[C - 1] + rb[C + 1])
                + rb[C]
            )


@njit(**_JIT)
def _prolong_row_add(urow, erow, off, alpha):
    """``urow += alpha * P_1d erow`` where ``erow`` is padded by one zero per side."""
    n1 = urow.shape[0]
    nc1 = erow.shape[0] - 2
    for m in range(nc1):
        urow[2 * m + off] += alpha * erow[m + 1]
    for j in range(1 - off, n1, 2):
        m0 = (j - off - 1) // 2
        urow[j] += alpha * 0.5 * (erow[m0 + 1] + erow[m0 + 2])


@njit(**_JIT)
def _coarse_row(e, i, off, erow):
    """Row ``i`` of the fine grid interpolated along axis 0 only, padded."""
    nc0, nc1 = e.shape
    erow[0] = 0.0
    erow[nc1 + 1] = 0.0
    if (i - off) % 2 == 0:
        I = (i - off) // 2
        for J in range(nc1):
            erow[J + 1] = e[I, J]
    else:
        I0 = (i - off - 1) // 2
        I1 = I0 + 1
        if I0 >= 0 and I1 < nc0:
            for J in range(nc1):
                erow[J + 1] = 0.5 * (e[I0, J] + e[I1, J])
        elif I0 >= 0:
            for J in range(nc1):
                erow[J + 1] = 0.5 * e[I0, J]
        else:
            for J in range(nc1):
                erow[J + 1] = 0.5 * e[I1, J]


@njit(**_JIT)
def prolong_add2(u, e, off, erow):
    """``u += P e`` (bilinear interpolation, seed 003 eq. 4.9); ``erow``: ``(nc1 + 2,)`` scratch."""
    for i in range(u.shape[0]):
        _coarse_row(e, i, off, erow)
        _prolong_row_add(u[i], erow, off, 1.0)


@njit(**_PJIT)
def prolong_add2_par(u, e, off, erow):
    """Parallel variant of :func:`prolong_add2` (``erow``: ``(threads, nc1 + 2)``)."""
    for i in prange(u.shape[0]):
        buf = erow[numba.get_thread_id()]
        _coarse_row(e, i, off, buf)
        _prolong_row_add(u[i], buf, off, 1.0)


# ---------------------------------------------------------------------------
# 3D point and row helpers
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _pt3(u, wx, wy, wz, i, j, k):
    n0, n1, n2 = u.shape
    d = wx[i, j, k] + wx[i + 1, j, k] + wy[i, j, k] + wy[i, j + 1, k] + wz[i, j, k] + wz[i, j, k + 1]
    s = 0.0
    if i > 0:
        s += wx[i, j, k] * u[i - 1, j, k]
    if i < n0 - 1:
        s += wx[i + 1, j, k] * u[i + 1, j, k]
    if j > 0:
        s += wy[i, j, k] * u[i, j - 1, k]
    if j < n1 - 1:
        s += wy[i, j + 1, k] * u[i, j + 1, k]
    if k > 0:
        s += wz[i, j, k] * u[i, j, k - 1]
    if k < n2 - 1:
        s += wz[i, j, k + 1] * u[i, j, k + 1]
    return s, d


@njit(**_JIT)
def _gs_row3(u, f, wx, wy, wz, cst, const, i, j, start):
    n0, n1, n2 = u.shape
    if i == 0 or i == n0 - 1 or j == 0 or j == n1 - 1 or n2 < 3:
        for k in range(start, n2, 2):
            s, d = _pt3(u, wx, wy, wz, i, j, k)
            u[i, j, k] = (f[i, j, k] + s) / d
        return
    k0 = start
    if start == 0:
        s, d = _pt3(u, wx, wy, wz, i, j, 0)
        u[i, j, 0] = (f[i, j, 0] + s) / d
        k0 = 2
    if const:
        cx, cy, cz, inv = cst[0], cst[1], cst[2], cst[-1]
        for k in range(k0, n2 - 1, 2):
            u[i, j, k] = (
                f[i, j, k]
                + cx * (u[i - 1, j, k] + u[i + 1, j, k])
                + cy * (u[i, j - 1, k] + u[i, j + 1, k])
                + cz * (u[i, j, k - 1] + u[i, j, k + 1])
            ) * inv
    else:
        for k in range(k0, n2 - 1, 2):
            a = wx[i, j, k]
            b = wx[i + 1, j, k]
            c = wy[i, j, k]
            e = wy[i, j + 1, k]
            g = wz[i, j, k]
            h = wz[i, j, k + 1]
            u[i, j, k] = (
                f[i, j, k] + a * u[i - 1, j, k] + b * u[i + 1, j, k] + c * u[i, j - 1, k] + e * u[i, j + 1, k]
                + g * u[i, j, k - 1] + h * u[i, j, k + 1]
            ) / (a + b + c + e + g + h)
    if (n2 - 1 - start) % 2 == 0:
        s, d = _pt3(u, wx, wy, wz, i, j, n2 - 1)
        u[i, j, n2 - 1] = (f[i, j, n2 - 1] + s) / d


@njit(**_JIT)
def _res_row3(u, f, wx, wy, wz, cst, const, i, j, out, mode):
    n0, n1, n2 = u.shape
    if i == 0 or i == n0 - 1 or j == 0 or j == n1 - 1 or n2 < 3:
        for k in range(n2):
            s, d = _pt3(u, wx, wy, wz, i, j, k)
            out[k] = f[i, j, k] - (d * u[i, j, k] - s) if mode == 1 else d * u[i, j, k] - s
        return
    for k in (0, n2 - 1):
        s, d = _pt3(u, wx, wy, wz, i, j, k)
        out[k] = f[i, j, k] - (d * u[i, j, k] - s) if mode == 1 else d * u[i, j, k] - s
    if const:
        cx, cy, cz, dd = cst[0], cst[1], cst[2], cst[3]
        if mode == 1:
            for k in range(1, n2 - 1):
                out[k] = (
                    f[i, j, k] - dd * u[i, j, k]
                    + cx * (u[i - 1, j, k] + u[i + 1, j, k])
                    + cy * (u[i, j - 1, k] + u[i, j + 1, k])
                    + cz * (u[i, j, k - 1] + u[i, j, k + 1])
                )
        else:
            for k in range(1, n2 - 1):
                out[k] = (
                    dd * u[i, j, k]
                    - cx * (u[i - 1, j, k] + u[i + 1, j, k])
                    - cy * (u[i, j - 1, k] + u[i, j + 1, k])
                    - cz * (u[i, j, k - 1] + u[i, j, k + 1])
                )
    else:
        for k in range(1, n2 - 1):
            a = wx[i, j, k]
            b = wx[i + 1, j, k]
            c = wy[i, j, k]
            e = wy[i, j + 1, k]
            g = wz[i, j, k]
            h = wz[i, j, k + 1]
            au = (
                (a + b + c + e + g + h) * u[i, j, k]
                - a * u[i - 1, j, k] - b * u[i + 1, j, k] - c * u[i, j - 1, k] - e * u[i, j + 1, k]
                - g * u[i, j, k - 1] - h * u[i, j, k + 1]
            )
            out[k] = f[i, j, k] - au if mode == 1 else au


@njit(**_JIT)
def _gs_plane3(u, f, wx, wy, wz, cst, const, i, colour):
    for j in range(u.shape[1]):
        _gs_row3(u, f, wx, wy, wz, cst, const, i, j, (i + j + colour) % 2)


@njit(**_JIT)
def _res_plane3(u, f, wx, wy, wz, cst, const, i, out, mode):
    for j in range(u.shape[1]):
        _res_row3(u, f, wx, wy, wz, cst, const, i, j, out[j], mode)


# ---------------------------------------------------------------------------
# 3D kernels
# ---------------------------------------------------------------------------


@njit(**_JIT)
def rbgs3(u, f, wx, wy, wz, cst, const, nsweeps, red_first):
    """3D red-black Gauss-Seidel (red = even ``i + j + k``), all sweeps fused
    into one plane-wise wavefront (see :func:`rbgs2`)."""
    n0 = u.shape[0]
    c1 = 0 if red_first else 1
    for i in range(n0 + 2 * nsweeps - 1):
        for s in range(nsweeps):
            r1 = i - 2 * s
            if 0 <= r1 < n0:
                _gs_plane3(u, f, wx, wy, wz, cst, const, r1, c1)
            r2 = r1 - 1
            if 0 <= r2 < n0:
                _gs_plane3(u, f, wx, wy, wz, cst, const, r2, 1 - c1)


@njit(**_PJIT)
def rbgs3_par(u, f, wx, wy, wz, cst, const, nsweeps, red_first):
    """Parallel variant of :func:`rbgs3` (one colour per pass)."""
    n0 = u.shape[0]
    c1 = 0 if red_first else 1
    for _ in range(nsweeps):
        for colour in (c1, 1 - c1):
            for i in prange(n0):
                _gs_plane3(u, f, wx, wy, wz, cst, const, i, colour)


@njit(**_JIT)
def stencil3(u, f, wx, wy, wz, cst, const, out, mode):
    """``out = f - A u`` (mode 1) or ``A u`` (mode 0)."""
    for i in range(u.shape[0]):
        _res_plane3(u, f, wx, wy, wz, cst, const, i, out[i], mode)


@njit(**_PJIT)
def stencil3_par(u, f, wx, wy, wz, cst, const, out, mode):
    """Parallel variant of :func:`stencil3`."""
    for i in prange(u.shape[0]):
        _res_plane3(u, f, wx, wy, wz, cst, const, i, out[i], mode)


@njit(**_JIT)
def resnorm3(u, f, wx, wy, wz, cst, const, row):
    """``||f - A u||_2^2`` with a scratch row (length >= n2)."""
    n0, n1, n2 = u.shape
    acc = 0.0
    r = row[:n2]
    for i in range(n0):
        for j in range(n1):
            _res_row3(u, f, wx, wy, wz, cst, const, i, j, r, 1)
            for k in range(n2):
                acc += float(r[k]) * float(r[k])
    return acc


@njit(**_JIT)
def jacobi3(u, f, wx, wy, wz, cst, const, out, prev, tau, w, row):
    """3D variant of :func:`jacobi2`."""
    n0, n1, n2 = u.shape
    r = row[:n2]
    for i in range(n0):
        for j in range(n1):
            _res_row3(u, f, wx, wy, wz, cst, const, i, j, r, 1)
            inner = const and 0 < i < n0 - 1 and 0 < j < n1 - 1
            for k in range(n2):
                if inner and 0 < k < n2 - 1:
                    dinv = cst[-1]
                else:
                    dinv = 1.0 / (
                        wx[i, j, k] + wx[i + 1, j, k] + wy[i, j, k] + wy[i, j + 1, k] + wz[i, j, k] + wz[i, j, k + 1]
                    )
                v = u[i, j, k] + tau * dinv * r[k]
                if w == 1.0:
                    out[i, j, k] = v
                else:
                    out[i, j, k] = w * v + (1.0 - w) * prev[i, j, k]


@njit(**_JIT)
def _restrict_planes3(pa, pb, pc, fcI, off):
    """Full weighting of three padded fine planes into one coarse plane ``fcI``."""
    nc1, nc2 = fcI.shape
    for J in range(nc1):
        C = 2 * J + off + 1
        for K in range(nc2):
            D = 2 * K + off + 1
            t = 0.0
            for y in range(C - 1, C + 2):
                wy = 1.0 if y == C else 0.5
                ty = (
                    0.5 * (0.5 * (pa[y, D - 1] + pc[y, D - 1]) + pb[y, D - 1])
                    + (0.5 * (pa[y, D] + pc[y, D]) + pb[y, D])
                    + 0.5 * (0.5 * (pa[y, D + 1] + pc[y, D + 1]) + pb[y, D + 1])
                )
                t += wy * ty
            fcI[J, K] = 0.125 * t


@njit(**_JIT)
def _zero_pad3(p, n1, n2):
    for j in range(n1 + 2):
        p[j, 0] = 0.0
        p[j, n2 + 1] = 0.0
    for k in range(n2 + 2):
        p[0, k] = 0.0
        p[n1 + 1, k] = 0.0


@njit(**_JIT)
def restrict_residual3(u, f, wx, wy, wz, cst, const, fc, off, planes):
    """``fc = R (f - A u)`` fused, ``R = P^T/8``; ``planes``: ``(3, n1+2, n2+2)`` scratch."""
    n0, n1, n2 = u.shape
    nc0 = fc.shape[0]
    for q in range(3):
        _zero_pad3(planes[q], n1, n2)
    ia, ib, ic = 0, 1, 2
    for I in range(nc0):
        c = 2 * I + off
        if I == 0:
            if c - 1 >= 0:
                _res_plane3(u, f, wx, wy, wz, cst, const, c - 1, planes[ia, 1 : n1 + 1, 1 : n2 + 1], 1)
            else:
                planes[ia, :, :] = 0.0
        else:
            ia, ic = ic, ia
        _res_plane3(u, f, wx, wy, wz, cst, const, c, planes[ib, 1 : n1 + 1, 1 : n2 + 1], 1)
        if c + 1 < n0:
            _res_plane3(u, f, wx, wy, wz, cst, const, c + 1, planes[ic, 1 : n1 + 1, 1 : n2 + 1], 1)
        else:
            planes[ic, :, :] = 0.0
        _restrict_planes3(planes[ia], planes[ib], planes[ic], fc[I], off)


@njit(**_PJIT)
def restrict_residual3_par(u, f, wx, wy, wz, cst, const, fc, off, planes):
    """Parallel variant of :func:`restrict_residual3` (``planes``: ``(threads, 3, n1+2, n2+2)``)."""
    n0, n1, n2 = u.shape
    nc0 = fc.shape[0]
    for I in prange(nc0):
        buf = planes[numba.get_thread_id()]
        c = 2 * I + off
        for q in range(3):
            i = c - 1 + q
            if 0 <= i < n0:
                _zero_pad3(buf[q], n1, n2)
                _res_plane3(u, f, wx, wy, wz, cst, const, i, buf[q, 1 : n1 + 1, 1 : n2 + 1], 1)
            else:
                buf[q, :, :] = 0.0
        _restrict_planes3(buf[0], buf[1], buf[2], fc[I], off)


@njit(**_JIT)
def restrict3(r, fc, off, planes):
    """``fc = R r`` (full weighting) of a given fine vector ``r``."""
    n0, n1, n2 = r.shape
    nc0 = fc.shape[0]
    for I in range(nc0):
        c = 2 * I + off
        for q in range(3):
            i = c - 1 + q
            if 0 <= i < n0:
                _zero_pad3(planes[q], n1, n2)
                planes[q, 1 : n1 + 1, 1 : n2 + 1] = r[i]
            else:
                planes[q, :, :] = 0.0
        _restrict_planes3(planes[0], planes[1], planes[2], fc[I], off)


@njit(**_JIT)
def _coarse_plane(e, i, off, eplane):
    """Fine plane ``i`` interpolated along axis 0 only, written padded into ``eplane``."""
    nc0, nc1, nc2 = e.shape
    eplane[:, :] = 0.0
    inner = eplane[1 : nc1 + 1, 1 : nc2 + 1]
    if (i - off) % 2 == 0:
        inner[:, :] = e[(i - off) // 2]
    else:
        I0 = (i - off - 1) // 2
        I1 = I0 + 1
        if I0 >= 0:
            for J in range(nc1):
                for K in range(nc2):
                    inner[J, K] = 0.5 * e[I0, J, K]
        if I1 < nc0:
            for J in range(nc1):
                for K in range(nc2):
                    inner[J, K] += 0.5 * e[I1, J, K]


@njit(**_JIT)
def _prolong_plane_add(uplane, eplane, off):
    """``uplane += P_2d eplane`` (eplane padded along both axes)."""
    n1 = uplane.shape[0]
    nc1 = eplane.shape[0] - 2
    for m in range(nc1):
        _prolong_row_add(uplane[2 * m + off], eplane[m + 1], off, 1.0)
    for j in range(1 - off, n1, 2):
        m0 = (j - off - 1) // 2
        _prolong_row_add(uplane[j], eplane[m0 + 1], off, 0.5)
        _prolong_row_add(uplane[j], eplane[m0 + 2], off, 0.5)


@njit(**_JIT)
def prolong_add3(u, e, off, eplane):
    """``u += P e`` (trilinear interpolation); ``eplane``: ``(nc1+2, nc2+2)`` scratch."""
    for i in range(u.shape[0]):
        _coarse_plane(e, i, off, eplane)
        _prolong_plane_add(u[i], eplane, off)


@njit(**_PJIT)
def prolong_add3_par(u, e, off, eplane):
    """Parallel variant of :func:`prolong_add3` (``eplane``: ``(threads, nc1+2, nc2+2)``)."""
    for i in prange(u.shape[0]):
        buf = eplane[numba.get_thread_id()]
        _coarse_plane(e, i, off, buf)
        _prolong_plane_add(u[i], buf, off)


# ---------------------------------------------------------------------------
# dimension-free helpers
# ---------------------------------------------------------------------------


@njit(**_JIT)
def fill_zero(x):
    """``x[...] = 0`` for a C-contiguous array."""
    y = x.reshape(-1)
    for p in range(y.shape[0]):
        y[p] = 0.0


@njit(**_JIT)
def copy_into(dst, src):
    """``dst[...] = src`` for C-contiguous arrays of equal size."""
    a = dst.reshape(-1)
    b = src.reshape(-1)
    for p in range(a.shape[0]):
        a[p] = b[p]


@njit(**_JIT)
def dense_solve_into(Minv, f, u):
    """``u = Minv f`` for a dense (pseudo-)inverse ``Minv`` (coarsest level)."""
    a = u.reshape(-1)
    b = f.reshape(-1)
    n = a.shape[0]
    for p in range(n):
        s = 0.0
        for q in range(n):
            s += Minv[p, q] * b[q]
        a[p] = s


def set_threads(threads: int) -> None:
    """Set numba's thread count (at most the configured maximum)."""
    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))


__all__ = [name for name in dir() if not name.startswith("_") and name not in ("annotations", "njit", "prange", "numba", "np")]
