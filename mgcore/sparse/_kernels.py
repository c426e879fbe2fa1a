"""Compiled (numba) kernels of the matrix-free structured multigrid path.

This module imports numba and is imported only when a structured level is
built (:func:`mgcore.sparse.structured.build_structured_levels`); every
kernel is compiled lazily on first call and cached on disk.

Operator (seed 003 eq. 5.3-5.5 in face-coefficient form, see
:mod:`mgcore.problems.grid`): with face weights already multiplied by the level
scale,

.. math:: (A u)_p = d_p u_p - \\sum_{q \\sim p} w_{pq} u_q,
          \\qquad d_p = \\sum_{q \\sim p} w_{pq},

where neighbours outside the unknowns are zero (Dirichlet) and boundary faces
are zero (Neumann), so one code path serves both.  Two weight modes:

* ``const=True``: every face along direction ``d`` has the weight
  ``cst[d]`` (uniform Dirichlet levels; ``cst = [c_x, c_y(, c_z), d, 1/d]``),
  the face arrays are not read (one-element placeholders are passed);
* ``const=False``: the weights are read from the face arrays.

All loops run along the last (contiguous) axis.  Interior rows index the
arrays directly with unsigned indices (no negative-index wrap-around code and
no per-row array views, whose reference counting costs more than a short 3D
row), so the inner loops have unit stride and vectorise; only the first and
last point of a row are peeled.  Rows on the grid boundary use 1-D row views
in which a zero row ``z`` stands for a neighbour outside the grid.

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

from . import _jit  # noqa: F401  (the first-compilation note on stderr)

_JIT = dict(cache=True, error_model="numpy", nogil=True, boundscheck=False)
_PJIT = dict(cache=True, error_model="numpy", nogil=True, boundscheck=False, parallel=True)


# ---------------------------------------------------------------------------
# Interior rows: direct indexing with unsigned indices (no negative-index
# wrap-around code, no per-row views), so the inner loops vectorise.
# ---------------------------------------------------------------------------

_U1 = np.uint64(1)
_U2 = np.uint64(2)


@njit(**_JIT)
def _gs_int2(u, f, wx, wy, cst, const, i, start):
    """:func:`_gs_row2` for an interior row ``0 < i < n0 - 1``."""
    n1 = u.shape[1]
    o = _U1
    I = np.uint64(i)
    last = n1 - 1
    peel_last = last > start and (last - start) % 2 == 0
    stop = np.uint64(last if peel_last else n1)
    if const:
        cx, cy, inv = cst[0], cst[1], cst[3]
        k0 = np.uint64(start)
        if start == 0:
            t = u[I, o] if n1 > 1 else 0.0
            u[I, 0] = (f[I, 0] + cx * (u[I - o, 0] + u[I + o, 0]) + cy * t) * inv
            k0 = _U2
        for k in range(k0, stop, _U2):
            u[I, k] = (f[I, k] + cx * (u[I - o, k] + u[I + o, k]) + cy * (u[I, k - o] + u[I, k + o])) * inv
        if peel_last:
            L = np.uint64(last)
            u[I, L] = (f[I, L] + cx * (u[I - o, L] + u[I + o, L]) + cy * u[I, L - o]) * inv
    else:
        k0 = np.uint64(start)
        if start == 0:
            k0 = _U2
            d = wx[I, 0] + wx[I + o, 0] + wy[I, 0] + wy[I, o]
            s = wx[I, 0] * u[I - o, 0] + wx[I + o, 0] * u[I + o, 0]
            if n1 > 1:
                s += wy[I, o] * u[I, o]
            u[I, 0] = (f[I, 0] + s) / d
        for k in range(k0, stop, _U2):
            a = wx[I, k]
            b = wx[I + o, k]
            c = wy[I, k]
            e = wy[I, k + o]
            u[I, k] = (f[I, k] + a * u[I - o, k] + b * u[I + o, k] + c * u[I, k - o] + e * u[I, k + o]) / (a + b + c + e)
        if peel_last:
            L = np.uint64(last)
            d = wx[I, L] + wx[I + o, L] + wy[I, L] + wy[I, L + o]
            s = wx[I, L] * u[I - o, L] + wx[I + o, L] * u[I + o, L] + wy[I, L] * u[I, L - o]
            u[I, L] = (f[I, L] + s) / d


@njit(**_JIT)
def _res_int2(u, f, wx, wy, cst, const, i, out, mode):
    """:func:`_res_row2` for an interior row ``0 < i < n0 - 1`` with ``n1 >= 2``."""
    n1 = u.shape[1]
    o = _U1
    I = np.uint64(i)
    L = np.uint64(n1 - 1)
    if const:
        cx, cy, dd = cst[0], cst[1], cst[2]
        au = dd * u[I, 0] - (cx * (u[I - o, 0] + u[I + o, 0]) + cy * u[I, o])
        out[0] = f[I, 0] - au if mode == 1 else au
        au = dd * u[I, L] - (cx * (u[I - o, L] + u[I + o, L]) + cy * u[I, L - o])
        out[L] = f[I, L] - au if mode == 1 else au
        if mode == 1:
            for k in range(o, L):
                out[k] = f[I, k] - dd * u[I, k] + cx * (u[I - o, k] + u[I + o, k]) + cy * (u[I, k - o] + u[I, k + o])
        else:
            for k in range(o, L):
                out[k] = dd * u[I, k] - cx * (u[I - o, k] + u[I + o, k]) - cy * (u[I, k - o] + u[I, k + o])
    else:
        for k in (np.uint64(0), L):
            a = wx[I, k]
            b = wx[I + o, k]
            c = wy[I, k]
            e = wy[I, k + o]
            s = a * u[I - o, k] + b * u[I + o, k]
            if k > 0:
                s += c * u[I, k - o]
            if k < L:
                s += e * u[I, k + o]
            au = (a + b + c + e) * u[I, k] - s
            out[k] = f[I, k] - au if mode == 1 else au
        for k in range(o, L):
            a = wx[I, k]
            b = wx[I + o, k]
            c = wy[I, k]
            e = wy[I, k + o]
            au = (a + b + c + e) * u[I, k] - a * u[I - o, k] - b * u[I + o, k] - c * u[I, k - o] - e * u[I, k + o]
            out[k] = f[I, k] - au if mode == 1 else au


@njit(**_JIT)
def _gs_int3(u, f, wx, wy, wz, cst, const, i, j, start):
    """:func:`_gs_row3` for an interior row (``0 < i < n0 - 1``, ``0 < j < n1 - 1``)."""
    n2 = u.shape[2]
    o = _U1
    I = np.uint64(i)
    J = np.uint64(j)
    last = n2 - 1
    peel_last = last > start and (last - start) % 2 == 0
    stop = np.uint64(last if peel_last else n2)
    k0 = np.uint64(start)
    if const:
        cx, cy, cz, inv = cst[0], cst[1], cst[2], cst[4]
        if start == 0:
            t = u[I, J, o] if n2 > 1 else 0.0
            u[I, J, 0] = (
                f[I, J, 0] + cx * (u[I - o, J, 0] + u[I + o, J, 0]) + cy * (u[I, J - o, 0] + u[I, J + o, 0]) + cz * t
            ) * inv
            k0 = _U2
        for k in range(k0, stop, _U2):
            u[I, J, k] = (
                f[I, J, k] + cx * (u[I - o, J, k] + u[I + o, J, k]) + cy * (u[I, J - o, k] + u[I, J + o, k])
                + cz * (u[I, J, k - o] + u[I, J, k + o])
            ) * inv
        if peel_last:
            L = np.uint64(last)
            u[I, J, L] = (
                f[I, J, L] + cx * (u[I - o, J, L] + u[I + o, J, L]) + cy * (u[I, J - o, L] + u[I, J + o, L])
                + cz * u[I, J, L - o]
            ) * inv
    else:
        if start == 0:
            k0 = _U2
            d = wx[I, J, 0] + wx[I + o, J, 0] + wy[I, J, 0] + wy[I, J + o, 0] + wz[I, J, 0] + wz[I, J, o]
            s = (wx[I, J, 0] * u[I - o, J, 0] + wx[I + o, J, 0] * u[I + o, J, 0]
                 + wy[I, J, 0] * u[I, J - o, 0] + wy[I, J + o, 0] * u[I, J + o, 0])
            if n2 > 1:
                s += wz[I, J, o] * u[I, J, o]
            u[I, J, 0] = (f[I, J, 0] + s) / d
        for k in range(k0, stop, _U2):
            a = wx[I, J, k]
            b = wx[I + o, J, k]
            c = wy[I, J, k]
            e = wy[I, J + o, k]
            g = wz[I, J, k]
            h = wz[I, J, k + o]
            u[I, J, k] = (
                f[I, J, k] + a * u[I - o, J, k] + b * u[I + o, J, k] + c * u[I, J - o, k] + e * u[I, J + o, k]
                + g * u[I, J, k - o] + h * u[I, J, k + o]
            ) / (a + b + c + e + g + h)
        if peel_last:
            L = np.uint64(last)
            d = wx[I, J, L] + wx[I + o, J, L] + wy[I, J, L] + wy[I, J + o, L] + wz[I, J, L] + wz[I, J, L + o]
            s = (wx[I, J, L] * u[I - o, J, L] + wx[I + o, J, L] * u[I + o, J, L]
                 + wy[I, J, L] * u[I, J - o, L] + wy[I, J + o, L] * u[I, J + o, L] + wz[I, J, L] * u[I, J, L - o])
            u[I, J, L] = (f[I, J, L] + s) / d


@njit(**_JIT)
def _res_int3(u, f, wx, wy, wz, cst, const, i, j, out, mode):
    """:func:`_res_row3` for an interior row with ``n2 >= 2``."""
    n2 = u.shape[2]
    o = _U1
    I = np.uint64(i)
    J = np.uint64(j)
    L = np.uint64(n2 - 1)
    if const:
        cx, cy, cz, dd = cst[0], cst[1], cst[2], cst[3]
        for k in (np.uint64(0), L):
            t = 0.0
            if k > 0:
                t += u[I, J, k - o]
            if k < L:
                t += u[I, J, k + o]
            au = dd * u[I, J, k] - (cx * (u[I - o, J, k] + u[I + o, J, k]) + cy * (u[I, J - o, k] + u[I, J + o, k]) + cz * t)
            out[k] = f[I, J, k] - au if mode == 1 else au
        if mode == 1:
            for k in range(o, L):
                out[k] = (
                    f[I, J, k] - dd * u[I, J, k] + cx * (u[I - o, J, k] + u[I + o, J, k])
                    + cy * (u[I, J - o, k] + u[I, J + o, k]) + cz * (u[I, J, k - o] + u[I, J, k + o])
                )
        else:
            for k in range(o, L):
                out[k] = (
                    dd * u[I, J, k] - cx * (u[I - o, J, k] + u[I + o, J, k])
                    - cy * (u[I, J - o, k] + u[I, J + o, k]) - cz * (u[I, J, k - o] + u[I, J, k + o])
                )
    else:
        for k in range(np.uint64(0), L + o):
            a = wx[I, J, k]
            b = wx[I + o, J, k]
            c = wy[I, J, k]
            e = wy[I, J + o, k]
            g = wz[I, J, k]
            h = wz[I, J, k + o]
            s = a * u[I - o, J, k] + b * u[I + o, J, k] + c * u[I, J - o, k] + e * u[I, J + o, k]
            if k > 0:
                s += g * u[I, J, k - o]
            if k < L:
                s += h * u[I, J, k + o]
            au = (a + b + c + e + g + h) * u[I, J, k] - s
            out[k] = f[I, J, k] - au if mode == 1 else au


@njit(**dict(_JIT, fastmath=True))
def _ssq(r):
    """Sum of squares of a row (reassociated, vectorised)."""
    acc = 0.0
    for j in range(r.shape[0]):
        v = float(r[j])
        acc += v * v
    return acc


# ---------------------------------------------------------------------------
# 2D row helpers (row i, j along the contiguous axis)
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _nb2(u, i, z):
    """Rows ``i - 1`` and ``i + 1`` of ``u`` (the zero row ``z`` outside)."""
    um = u[i - 1] if i > 0 else z
    up = u[i + 1] if i < u.shape[0] - 1 else z
    return um, up


@njit(**_JIT)
def _pv2(uc, um, up, a, b, c, j):
    """Neighbour sum and diagonal at point ``j`` of a row (face weights, ends checked)."""
    n1 = uc.shape[0]
    d = a[j] + b[j] + c[j] + c[j + 1]
    s = a[j] * um[j] + b[j] * up[j]
    if j > 0:
        s += c[j] * uc[j - 1]
    if j < n1 - 1:
        s += c[j + 1] * uc[j + 1]
    return s, d


@njit(**_JIT)
def _pc2(uc, um, up, cx, cy, j):
    """Neighbour sum at point ``j`` of a row (scalar weights, ends checked)."""
    n1 = uc.shape[0]
    t = 0.0
    if j > 0:
        t += uc[j - 1]
    if j < n1 - 1:
        t += uc[j + 1]
    return cx * (um[j] + up[j]) + cy * t


@njit(**_JIT)
def _gs_row2(u, f, wx, wy, cst, const, i, start, z):
    """Gauss-Seidel update of the points ``j = start, start+2, ...`` of row ``i``."""
    n0, n1 = u.shape
    if start >= n1:
        return
    if 0 < i < n0 - 1:
        _gs_int2(u, f, wx, wy, cst, const, i, start)
        return
    uc = u[i]
    fr = f[i]
    um, up = _nb2(u, i, z)
    last = n1 - 1
    peel_last = last > start and (last - start) % 2 == 0
    stop = last if peel_last else n1
    j0 = start
    if const:
        cx, cy, inv = cst[0], cst[1], cst[3]
        if start == 0:
            uc[0] = (fr[0] + _pc2(uc, um, up, cx, cy, 0)) * inv
            j0 = 2
        for j in range(j0, stop, 2):
            uc[j] = (fr[j] + cx * (um[j] + up[j]) + cy * (uc[j - 1] + uc[j + 1])) * inv
        if peel_last:
            uc[last] = (fr[last] + _pc2(uc, um, up, cx, cy, last)) * inv
    else:
        a = wx[i]
        b = wx[i + 1]
        c = wy[i]
        if start == 0:
            s, d = _pv2(uc, um, up, a, b, c, 0)
            uc[0] = (fr[0] + s) / d
            j0 = 2
        for j in range(j0, stop, 2):
            uc[j] = (fr[j] + a[j] * um[j] + b[j] * up[j] + c[j] * uc[j - 1] + c[j + 1] * uc[j + 1]) / (
                a[j] + b[j] + c[j] + c[j + 1]
            )
        if peel_last:
            s, d = _pv2(uc, um, up, a, b, c, last)
            uc[last] = (fr[last] + s) / d


@njit(**_JIT)
def _res_row2(u, f, wx, wy, cst, const, i, out, mode, z):
    """Row ``i`` of ``f - A u`` (mode 1) or ``A u`` (mode 0) into ``out`` (length n1)."""
    n0, n1 = u.shape
    if 0 < i < n0 - 1 and n1 >= 2:
        _res_int2(u, f, wx, wy, cst, const, i, out, mode)
        return
    uc = u[i]
    fr = f[i]
    um, up = _nb2(u, i, z)
    last = n1 - 1
    if const:
        cx, cy, dd = cst[0], cst[1], cst[2]
        for j in (0, last):
            au = dd * uc[j] - _pc2(uc, um, up, cx, cy, j)
            out[j] = fr[j] - au if mode == 1 else au
        if mode == 1:
            for j in range(1, last):
                out[j] = fr[j] - dd * uc[j] + cx * (um[j] + up[j]) + cy * (uc[j - 1] + uc[j + 1])
        else:
            for j in range(1, last):
                out[j] = dd * uc[j] - cx * (um[j] + up[j]) - cy * (uc[j - 1] + uc[j + 1])
    else:
        a = wx[i]
        b = wx[i + 1]
        c = wy[i]
        for j in (0, last):
            s, d = _pv2(uc, um, up, a, b, c, j)
            au = d * uc[j] - s
            out[j] = fr[j] - au if mode == 1 else au
        for j in range(1, last):
            au = (a[j] + b[j] + c[j] + c[j + 1]) * uc[j] - a[j] * um[j] - b[j] * up[j] - c[j] * uc[j - 1] - c[j + 1] * uc[j + 1]
            out[j] = fr[j] - au if mode == 1 else au


# ---------------------------------------------------------------------------
# 2D kernels
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _rb_wavefront_step2(u, f, wx, wy, cst, const, nsweeps, c1, i, z):
    """Step ``i`` of the fused red-black wavefront: sweep ``s`` updates colour 1
    on row ``i - 2s`` and colour 2 on row ``i - 2s - 1`` (``c1`` = parity of
    colour 1)."""
    n0 = u.shape[0]
    for s in range(nsweeps):
        r1 = i - 2 * s
        par = (r1 + c1) % 2
        if 0 <= r1 < n0:
            _gs_row2(u, f, wx, wy, cst, const, r1, par, z)
        r2 = r1 - 1
        if 0 <= r2 < n0:
            # colour 2 on row r2 starts at (r2 + 1 - c1) % 2 == (r1 + c1) % 2
            _gs_row2(u, f, wx, wy, cst, const, r2, par, z)


@njit(**_JIT)
def rbgs2(u, f, wx, wy, cst, const, nsweeps, red_first, z, row, want_norm):
    """``nsweeps`` red-black Gauss-Seidel sweeps in place; returns ``||f - A u||^2``
    of the result when ``want_norm`` (else 0).

    Red = even ``i + j``.  ``red_first=True`` (pre-smoothing) updates red then
    black; ``False`` (post-smoothing) black then red.  The half-sweeps of all
    ``nsweeps`` sweeps are fused into one wavefront over the rows (at step
    ``i``, sweep ``s`` updates colour 1 on row ``i - 2s`` and colour 2 on row
    ``i - 2s - 1``), which gives exactly the unfused result with one pass over
    memory.  The residual of row ``i - 2 nsweeps`` is final at step ``i`` and
    is summed in the same pass (``row``: scratch of length ``n1``).
    """
    n0 = u.shape[0]
    c1 = 0 if red_first else 1
    acc = 0.0
    steps = n0 + 2 * nsweeps - 1 + (1 if want_norm else 0)
    for i in range(steps):
        _rb_wavefront_step2(u, f, wx, wy, cst, const, nsweeps, c1, i, z)
        if want_norm:
            rr = i - 2 * nsweeps
            if 0 <= rr < n0:
                _res_row2(u, f, wx, wy, cst, const, rr, row, 1, z)
                acc += _ssq(row)
    return acc


@njit(**_JIT)
def rbgs2_restrict(u, f, wx, wy, cst, const, nsweeps, red_first, z, fc, off, rows):
    """:func:`rbgs2` followed by :func:`restrict_residual2`, in one pass.

    The wavefront of :func:`rbgs2` leaves row ``i - 2 nsweeps`` final at step
    ``i``; its residual row goes into a ring of three padded rows and every
    coarse row ``I`` (centred on fine row ``c = 2 I + off``) is restricted as
    soon as rows ``c - 1, c, c + 1`` are there.  The arithmetic is that of the
    two separate kernels, so the results are bitwise identical.  ``rows``:
    scratch of shape ``(4, n1 + 2)`` (the fourth row stays zero).
    """
    n0, n1 = u.shape
    nc0 = fc.shape[0]
    c1 = 0 if red_first else 1
    for k in range(4):
        for j in range(n1 + 2):
            rows[k, j] = 0.0
    zr = rows[3]
    for i in range(n0 + 2 * nsweeps):
        _rb_wavefront_step2(u, f, wx, wy, cst, const, nsweeps, c1, i, z)
        rr = i - 2 * nsweeps
        if 0 <= rr < n0:
            _res_row2(u, f, wx, wy, cst, const, rr, rows[rr % 3][1 : n1 + 1], 1, z)
            c = rr - 1  # the coarse row centred on c needs rows c-1, c, c+1 = rr
            if c >= 0 and (c - off) % 2 == 0 and (c - off) // 2 < nc0:
                ra = rows[(c - 1) % 3] if c >= 1 else zr
                _fw_rows2(ra, rows[c % 3], rows[rr % 3], fc[(c - off) // 2], off)
            if rr == n0 - 1 and (rr - off) % 2 == 0 and (rr - off) // 2 < nc0:
                # a coarse row centred on the last fine row: zero row below it
                ra = rows[(rr - 1) % 3] if rr >= 1 else zr
                _fw_rows2(ra, rows[rr % 3], zr, fc[(rr - off) // 2], off)


# ---------------------------------------------------------------------------
# 2D red-black Gauss-Seidel on colour-split rows (uniform Dirichlet levels)
# ---------------------------------------------------------------------------
#
# A colour half-sweep touches every second point of a row; such stride-2
# updates do not vectorise.  The kernels below keep the rows of the
# wavefront of :func:`rbgs2` in a ring of *split* rows -- the even points
# (``k = 0, 2, ...``) and the odd points (``k = 1, 3, ...``) of ``u`` and
# ``f`` each contiguous -- so every colour update is a unit-stride loop.  A
# row is de-interleaved once when it enters the wavefront and written back
# once when it is final, so ``u`` keeps its natural layout.  The arithmetic
# (including the operand order at the row ends) is that of :func:`_gs_int2`
# and :func:`_gs_row2`, so the iterates are bitwise identical.
#
# Ring layout: ``S[slot, 0]`` even points of ``u``, ``S[slot, 1]`` odd points
# of ``u``, ``S[slot, 2]`` / ``S[slot, 3]`` the same of ``f``; shape
# ``(2 nsweeps + 3, 4, (n1 + 1) // 2)``.  Row ``r`` lives in slot
# ``r % (2 nsweeps + 3)``; rows ``-1`` and ``n0`` are zero rows.


@njit(**_JIT)
def _split_load(u, f, r, S, slot):
    """De-interleave row ``r`` of ``u`` and ``f`` into ring slot ``slot``."""
    _split_load_from(u, r, f, r, S, slot)


@njit(**_JIT)
def _split_load_from(u, ur, f, r, S, slot):
    """De-interleave row ``ur`` of ``u`` and row ``r`` of ``f`` into ring slot ``slot``
    (``u`` may be a snapshot of some rows, :mod:`mgcore.sparse._split_par_kernels`)."""
    n1 = f.shape[1]
    no = np.uint64(n1 // 2)
    R = np.uint64(r)
    UR = np.uint64(ur)
    o = _U1
    eu = S[slot, 0]
    ou = S[slot, 1]
    for m in range(np.uint64(0), no):
        eu[m] = u[UR, _U2 * m]
        ou[m] = u[UR, _U2 * m + o]
    ef = S[slot, 2]
    of = S[slot, 3]
    for m in range(np.uint64(0), no):
        ef[m] = f[R, _U2 * m]
        of[m] = f[R, _U2 * m + o]
    if n1 % 2 == 1:
        L = np.uint64(n1 - 1)
        eu[no] = u[UR, L]
        ef[no] = f[R, L]


@njit(**_JIT)
def _split_zero(S, slot):
    """Ring slot ``slot`` as a zero row (outside the grid)."""
    ne = S.shape[2]
    for q in range(2):
        x = S[slot, q]
        for m in range(ne):
            x[m] = 0.0


@njit(**_JIT)
def _split_store(u, r, S, slot):
    """Interleave ring slot ``slot`` back into row ``r`` of ``u``."""
    n1 = u.shape[1]
    no = np.uint64(n1 // 2)
    R = np.uint64(r)
    o = _U1
    eu = S[slot, 0]
    ou = S[slot, 1]
    for m in range(np.uint64(0), no):
        u[R, _U2 * m] = eu[m]
        u[R, _U2 * m + o] = ou[m]
    if n1 % 2 == 1:
        u[R, np.uint64(n1 - 1)] = eu[no]


@njit(**_JIT)
def _split_gs(S, sm, sc, sp, par, edge, cst, n1):
    """Update the points of parity ``par`` (``k % 2``) of the row in slot ``sc``
    (neighbour rows in ``sm``, ``sp``); ``edge``: the row is the first or last
    grid row (the row ends then use the operand order of :func:`_pc2`)."""
    cx, cy, inv = cst[0], cst[1], cst[3]
    no = n1 // 2
    ne = n1 - no
    odd_n = n1 % 2 == 1
    p = np.uint64(par)
    o = _U1
    T = S[sc, par]
    F = S[sc, 2 + par]
    A = S[sm, par]
    B = S[sp, par]
    N = S[sc, 1 - par]
    # middle points: even m in [1, ne - 1 (n1 odd) or ne), odd m in [0, no (n1 odd) or no - 1)
    if par == 0:
        m0 = 1
        m1 = ne - 1 if odd_n else ne
    else:
        m0 = 0
        m1 = no if odd_n else no - 1
    for m in range(np.uint64(m0), np.uint64(m1)):
        T[m] = (F[m] + cx * (A[m] + B[m]) + cy * (N[m + p - o] + N[m + p])) * inv
    # row ends: k = 0 (even) and k = n1 - 1 (parity (n1 - 1) % 2)
    if par == 0:
        if edge:
            t = 0.0
            if n1 > 1:
                t += N[0]
            T[0] = (F[0] + (cx * (A[0] + B[0]) + cy * t)) * inv
        else:
            t = N[0] if n1 > 1 else 0.0
            T[0] = (F[0] + cx * (A[0] + B[0]) + cy * t) * inv
    if (n1 - 1) % 2 == par and n1 > 1:
        mL = m1
        left = N[(n1 - 2) // 2]
        if edge:
            t = 0.0
            t += left
            T[mL] = (F[mL] + (cx * (A[mL] + B[mL]) + cy * t)) * inv
        else:
            T[mL] = (F[mL] + cx * (A[mL] + B[mL]) + cy * left) * inv


@njit(**_JIT)
def _split_res(S, sm, sc, sp, edge, cst, n1, R):
    """Residual ``f - A u`` of the (final) row in slot ``sc`` in split form:
    ``R[0]`` even points, ``R[1]`` odd points (operand order of
    :func:`_res_int2` / :func:`_res_row2`, so bitwise the same values)."""
    cx, cy, dd = cst[0], cst[1], cst[2]
    no = n1 // 2
    ne = n1 - no
    odd_n = n1 % 2 == 1
    o = _U1
    E = S[sc, 0]
    O = S[sc, 1]
    FE = S[sc, 2]
    FO = S[sc, 3]
    AE = S[sm, 0]
    AO = S[sm, 1]
    BE = S[sp, 0]
    BO = S[sp, 1]
    re = R[0]
    ro = R[1]
    mE = ne - 1 if odd_n else ne
    mO = no if odd_n else no - 1
    for m in range(o, np.uint64(mE)):
        re[m] = FE[m] - dd * E[m] + cx * (AE[m] + BE[m]) + cy * (O[m - o] + O[m])
    for m in range(np.uint64(0), np.uint64(mO)):
        ro[m] = FO[m] - dd * O[m] + cx * (AO[m] + BO[m]) + cy * (E[m] + E[m + o])
    # k = 0 (neighbour k = 1) and k = n1 - 1 (neighbour k = n1 - 2)
    if edge:
        t = 0.0
        t += O[0]
        re[0] = FE[0] - (dd * E[0] - (cx * (AE[0] + BE[0]) + cy * t))
    else:
        re[0] = FE[0] - (dd * E[0] - (cx * (AE[0] + BE[0]) + cy * O[0]))
    if odd_n:
        T, F, A, B, N, out, mL = E, FE, AE, BE, O, re, ne - 1
    else:
        T, F, A, B, N, out, mL = O, FO, AO, BO, E, ro, no - 1
    left = N[(n1 - 2) // 2]
    if edge:
        t = 0.0
        t += left
        out[mL] = F[mL] - (dd * T[mL] - (cx * (A[mL] + B[mL]) + cy * t))
    else:
        out[mL] = F[mL] - (dd * T[mL] - (cx * (A[mL] + B[mL]) + cy * left))


@njit(**_JIT)
def _fw_split(ra, rb, rc, fcI):
    """:func:`_fw_rows2` (Dirichlet, ``off = 1``) of three split residual rows."""
    o = _U1
    aE = ra[0]
    aO = ra[1]
    bE = rb[0]
    bO = rb[1]
    cE = rc[0]
    cO = rc[1]
    for J in range(np.uint64(0), np.uint64(fcI.shape[0])):
        fcI[J] = 0.25 * (
            0.25 * (aE[J] + aE[J + o] + cE[J] + cE[J + o])
            + 0.5 * (aO[J] + cO[J] + bE[J] + bE[J + o])
            + bO[J]
        )


@njit(**_JIT)
def _split_sweeps(S, cst, nsweeps, c1, i, n0, n1):
    """The half-sweeps of :func:`rbgs2` at wavefront step ``i`` on the ring ``S``."""
    ns = S.shape[0]
    for s in range(nsweeps):
        r1 = i - 2 * s
        par = (r1 + c1) % 2
        if 0 <= r1 < n0:
            # colour 1 on row r1 starts at k = par
            _split_gs(S, (r1 - 1) % ns, r1 % ns, (r1 + 1) % ns, par, r1 == 0 or r1 == n0 - 1, cst, n1)
        r2 = r1 - 1
        if 0 <= r2 < n0:
            _split_gs(S, (r2 - 1) % ns, r2 % ns, (r2 + 1) % ns, par, r2 == 0 or r2 == n0 - 1, cst, n1)


@njit(**_JIT)
def _split_step(u, f, cst, nsweeps, c1, S, i):
    """Step ``i`` of the split wavefront: load row ``i + 1``, do the
    half-sweeps of :func:`rbgs2` at step ``i``, store the final row
    ``i - 2 nsweeps + 1``."""
    n0, n1 = u.shape
    ns = S.shape[0]
    r = i + 1
    if r < n0:
        _split_load(u, f, r, S, r % ns)
    elif r == n0:
        _split_zero(S, r % ns)
    _split_sweeps(S, cst, nsweeps, c1, i, n0, n1)
    rf = i - 2 * nsweeps + 1
    if 0 <= rf < n0:
        _split_store(u, rf, S, rf % ns)


@njit(**_JIT)
def _split_start(u, f, S):
    """Zero the ring and load row 0."""
    for slot in range(S.shape[0]):
        _split_zero(S, slot)
    if u.shape[0] > 0:
        _split_load(u, f, 0, S, 0)


@njit(**_JIT)
def rbgs2_split(u, f, wx, wy, cst, const, nsweeps, red_first, z, row, want_norm, S, R):
    """:func:`rbgs2` for a uniform-coefficient (``const``) level on colour-split
    rows (unit-stride, vectorised colour updates; bitwise the same iterate).

    The face arrays ``wx``, ``wy``, ``const`` (must be True), ``z`` and ``row``
    are the placeholders of :func:`rbgs2`'s signature.  ``S``: ring scratch of
    shape ``(2 nsweeps + 3, 4, (n1 + 1) // 2)``; ``R``: residual scratch of
    shape ``(4, 2, (n1 + 1) // 2)``.  The fused residual norm is summed from
    the split residual rows (the same values, summed in another order).
    """
    n0, n1 = u.shape
    c1 = 0 if red_first else 1
    acc = 0.0
    ns = S.shape[0]
    no = n1 // 2
    _split_start(u, f, S)
    steps = n0 + 2 * nsweeps - 1 + (1 if want_norm else 0)
    for i in range(steps):
        _split_step(u, f, cst, nsweeps, c1, S, i)
        if want_norm:
            rr = i - 2 * nsweeps
            if 0 <= rr < n0:
                _split_res(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, rr == 0 or rr == n0 - 1, cst, n1, R[0])
                acc += _ssq(R[0, 0, : n1 - no]) + _ssq(R[0, 1, :no])
    return acc


@njit(**_JIT)
def rbgs2_restrict_split(u, f, wx, wy, cst, const, nsweeps, red_first, z, fc, off, rows, S, R):
    """:func:`rbgs2_restrict` for a uniform-coefficient (Dirichlet, ``off = 1``)
    level on colour-split rows (see :func:`rbgs2_split`); the residual rows
    and the full weighting are computed in split form as well (bitwise the
    same ``u`` and ``fc``).  ``rows`` is unused (signature placeholder)."""
    n0, n1 = u.shape
    nc0 = fc.shape[0]
    c1 = 0 if red_first else 1
    ns = S.shape[0]
    for q in range(2):
        zr = R[3, q]
        for m in range(zr.shape[0]):
            zr[m] = 0.0
    zr = R[3]
    _split_start(u, f, S)
    for i in range(n0 + 2 * nsweeps):
        _split_step(u, f, cst, nsweeps, c1, S, i)
        rr = i - 2 * nsweeps
        if 0 <= rr < n0:
            _split_res(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, rr == 0 or rr == n0 - 1, cst, n1, R[rr % 3])
            c = rr - 1  # coarse row centred on fine row c = 2 I + 1 needs rows c-1, c, c+1 = rr
            if c >= 1 and (c - 1) % 2 == 0 and (c - 1) // 2 < nc0:
                _fw_split(R[(c - 1) % 3], R[c % 3], R[rr % 3], fc[(c - 1) // 2])
            if rr == n0 - 1 and (rr - 1) % 2 == 0 and (rr - 1) // 2 < nc0:
                ra = R[(rr - 1) % 3] if rr >= 1 else zr
                _fw_split(ra, R[rr % 3], zr, fc[(rr - 1) // 2])


# ---------------------------------------------------------------------------
# Fused coarse-grid correction + post-smoothing, and the mixed-precision
# refinement step, on colour-split rows (uniform Dirichlet levels, off = 1)
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _split_load_f(f, r, S, slot):
    """Ring slot ``slot`` := (zero iterate, row ``r`` of ``f``) de-interleaved (a cycle from zero)."""
    n1 = f.shape[1]
    no = np.uint64(n1 // 2)
    R = np.uint64(r)
    o = _U1
    eu = S[slot, 0]
    ou = S[slot, 1]
    for m in range(eu.shape[0]):
        eu[m] = 0.0
        ou[m] = 0.0
    ef = S[slot, 2]
    of = S[slot, 3]
    for m in range(np.uint64(0), no):
        ef[m] = f[R, _U2 * m]
        of[m] = f[R, _U2 * m + o]
    if n1 % 2 == 1:
        ef[no] = f[R, np.uint64(n1 - 1)]


@njit(**_JIT)
def _split_load_prolong(u, f, r, S, slot, e, erow):
    """Ring slot ``slot`` := row ``r`` of ``u + P e`` and of ``f``, de-interleaved.

    The correction is the arithmetic of :func:`prolong_add2` (``off = 1``):
    ``erow`` is the coarse row interpolated along axis 0 (:func:`_coarse_row`),
    odd points add ``1.0 * erow[m + 1]``, even points ``0.5 * (erow[m] + erow[m + 1])``,
    so the iterate is bitwise that of :func:`prolong_add2` followed by the sweeps."""
    _split_load_prolong_from(u, r, f, r, S, slot, e, erow)


@njit(**_JIT)
def _split_load_prolong_from(u, ur, f, r, S, slot, e, erow):
    """:func:`_split_load_prolong` with the iterate's row ``ur`` of ``u`` (``u`` may be a snapshot of some rows)."""
    n1 = f.shape[1]
    no = np.uint64(n1 // 2)
    R = np.uint64(r)
    UR = np.uint64(ur)
    o = _U1
    _coarse_row(e, r, 1, erow)
    eu = S[slot, 0]
    ou = S[slot, 1]
    alpha = 1.0
    h = 0.5 * alpha
    for m in range(np.uint64(0), no):
        ou[m] = u[UR, _U2 * m + o] + alpha * erow[m + o]
        eu[m] = u[UR, _U2 * m] + h * (erow[m] + erow[m + o])
    if n1 % 2 == 1:
        eu[no] = u[UR, np.uint64(n1 - 1)] + h * (erow[no] + erow[no + o])
    ef = S[slot, 2]
    of = S[slot, 3]
    for m in range(np.uint64(0), no):
        ef[m] = f[R, _U2 * m]
        of[m] = f[R, _U2 * m + o]
    if n1 % 2 == 1:
        ef[no] = f[R, np.uint64(n1 - 1)]


@njit(**_JIT)
def _split_store_add(x, r, S, slot):
    """``x[r] += `` the iterate in ring slot ``slot`` (interleaved; ``x`` may be of a wider dtype)."""
    n1 = x.shape[1]
    no = np.uint64(n1 // 2)
    R = np.uint64(r)
    o = _U1
    eu = S[slot, 0]
    ou = S[slot, 1]
    for m in range(np.uint64(0), no):
        x[R, _U2 * m] += eu[m]
        x[R, _U2 * m + o] += ou[m]
    if n1 % 2 == 1:
        x[R, np.uint64(n1 - 1)] += eu[no]


@njit(**_JIT)
def rbgs2_split_prolong(u, f, cst, nsweeps, red_first, e, erow, want_norm, S, R):
    """``u += P e`` (:func:`prolong_add2`, ``off = 1``) and :func:`rbgs2_split`, in one pass.

    The correction is added while a row enters the colour-split ring, so
    ``u`` is read and written once for the coarse-grid correction and the
    ``nsweeps`` post-smoothing sweeps together; the iterate and the fused
    residual norm (returned when ``want_norm``, else 0) are bitwise those of
    :func:`prolong_add2` followed by :func:`rbgs2_split`.  ``erow``:
    ``(nc1 + 2,)`` scratch; ``S``, ``R``: as :func:`rbgs2_split`.
    """
    n0, n1 = u.shape
    c1 = 0 if red_first else 1
    acc = 0.0
    ns = S.shape[0]
    no = n1 // 2
    for slot in range(ns):
        _split_zero(S, slot)
    if n0 > 0:
        _split_load_prolong(u, f, 0, S, 0, e, erow)
    steps = n0 + 2 * nsweeps - 1 + (1 if want_norm else 0)
    for i in range(steps):
        r = i + 1
        if r < n0:
            _split_load_prolong(u, f, r, S, r % ns, e, erow)
        elif r == n0:
            _split_zero(S, r % ns)
        _split_sweeps(S, cst, nsweeps, c1, i, n0, n1)
        rf = i - 2 * nsweeps + 1
        if 0 <= rf < n0:
            _split_store(u, rf, S, rf % ns)
        if want_norm:
            rr = i - 2 * nsweeps
            if 0 <= rr < n0:
                _split_res(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, rr == 0 or rr == n0 - 1, cst, n1, R[0])
                acc += _ssq(R[0, 0, : n1 - no]) + _ssq(R[0, 1, :no])
    return acc


@njit(**_JIT)
def split_pre_zero(e, r, cst, nsweeps, fc, S, R):
    """Pre-smoothing of ``A e = r`` from ``e = 0`` and ``fc = R(r - A e)``, in one pass.

    Bitwise :func:`rbgs2_restrict_split` (red first) on a zero-filled ``e``,
    without reading ``e``: the first step of a correction cycle (the
    mixed-precision refinement of :class:`mgcore.sparse.structured.mixed.MixedRefinement`).
    ``e`` is written, ``S``/``R`` as :func:`rbgs2_restrict_split`.
    """
    n0, n1 = e.shape
    nc0 = fc.shape[0]
    ns = S.shape[0]
    for q in range(2):
        zr = R[3, q]
        for m in range(zr.shape[0]):
            zr[m] = 0.0
    zr = R[3]
    for slot in range(ns):
        _split_zero(S, slot)
    if n0 > 0:
        _split_load_f(r, 0, S, 0)
    for i in range(n0 + 2 * nsweeps):
        rl = i + 1
        if rl < n0:
            _split_load_f(r, rl, S, rl % ns)
        elif rl == n0:
            _split_zero(S, rl % ns)
        _split_sweeps(S, cst, nsweeps, 0, i, n0, n1)
        rf = i - 2 * nsweeps + 1
        if 0 <= rf < n0:
            _split_store(e, rf, S, rf % ns)
        rr = i - 2 * nsweeps
        if 0 <= rr < n0:
            _split_res(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, rr == 0 or rr == n0 - 1, cst, n1, R[rr % 3])
            c = rr - 1
            if c >= 1 and (c - 1) % 2 == 0 and (c - 1) // 2 < nc0:
                _fw_split(R[(c - 1) % 3], R[c % 3], R[rr % 3], fc[(c - 1) // 2])
            if rr == n0 - 1 and (rr - 1) % 2 == 0 and (rr - 1) // 2 < nc0:
                ra = R[(rr - 1) % 3] if rr >= 1 else zr
                _fw_split(ra, R[rr % 3], zr, fc[(rr - 1) // 2])


@njit(**_JIT)
def _res_cast_row2(x, b, wx, wy, cst, const, q, row, z, r):
    """Row ``q`` of ``b - A x`` (wide arithmetic, :func:`_res_row2`) into ``r[q]`` (narrow); returns its sum of squares."""
    _res_row2(x, b, wx, wy, cst, const, q, row, 1, z)
    rq = r[q]
    for k in range(row.shape[0]):
        rq[k] = row[k]
    return _ssq(row)


@njit(**_JIT)
def split_post_update(x, b, wx, wy, cst64, const, z, row, e, r, cst, nsweeps, red_first, ec, erow, S):
    """The last pass of a mixed-precision refinement step, fused.

    With the pre-smoothed correction ``e`` (narrow dtype) of ``A e = r`` and
    the coarse correction ``ec``: ``e += P ec`` and ``nsweeps`` post-smoothing
    sweeps (:func:`rbgs2_split_prolong`), ``x += e`` (``x`` wide), and the new
    residual ``r = b - A x`` (computed wide, stored narrow) one row behind;
    returns ``||b - A x||^2`` (wide, summed row by row as :func:`resnorm2`).
    ``e`` is left stale.  Bitwise equal to :func:`prolong_add2`,
    :func:`rbgs2_split`, ``x += e`` and :func:`stencil2` (cast) one after the other.
    ``wx``, ``wy``, ``cst64``, ``const``, ``z``, ``row``: the wide fine
    operator (:meth:`StencilOperator.args`) and its scratch rows.
    """
    n0, n1 = e.shape
    c1 = 0 if red_first else 1
    ns = S.shape[0]
    acc = 0.0
    for slot in range(ns):
        _split_zero(S, slot)
    if n0 > 0:
        _split_load_prolong(e, r, 0, S, 0, ec, erow)
    for i in range(n0 + 2 * nsweeps):
        rl = i + 1
        if rl < n0:
            _split_load_prolong(e, r, rl, S, rl % ns, ec, erow)
        elif rl == n0:
            _split_zero(S, rl % ns)
        _split_sweeps(S, cst, nsweeps, c1, i, n0, n1)
        rf = i - 2 * nsweeps + 1
        if 0 <= rf < n0:
            _split_store_add(x, rf, S, rf % ns)
        q = rf - 1
        if 0 <= q < n0:
            acc += _res_cast_row2(x, b, wx, wy, cst64, const, q, row, z, r)
    return acc


@njit(**_JIT)
def residual_cast2(x, b, wx, wy, cst, const, z, row, r):
    """``r = b - A x`` computed in the dtype of ``x`` and stored in that of ``r``; returns ``||b - A x||^2``."""
    acc = 0.0
    for q in range(x.shape[0]):
        acc += _res_cast_row2(x, b, wx, wy, cst, const, q, row, z, r)
    return acc


@njit(**_PJIT)
def rbgs2_par(u, f, wx, wy, cst, const, nsweeps, red_first, z):
    """Parallel variant of :func:`rbgs2` (one colour per pass over the rows)."""
    n0 = u.shape[0]
    c1 = 0 if red_first else 1
    for _ in range(nsweeps):
        for colour in (c1, 1 - c1):
            for i in prange(n0):
                _gs_row2(u, f, wx, wy, cst, const, i, (i + colour) % 2, z)


@njit(**_JIT)
def stencil2(u, f, wx, wy, cst, const, out, mode, z):
    """``out = f - A u`` (mode 1) or ``out = A u`` (mode 0)."""
    for i in range(u.shape[0]):
        _res_row2(u, f, wx, wy, cst, const, i, out[i], mode, z)


@njit(**_PJIT)
def stencil2_par(u, f, wx, wy, cst, const, out, mode, z):
    """Parallel variant of :func:`stencil2`."""
    for i in prange(u.shape[0]):
        _res_row2(u, f, wx, wy, cst, const, i, out[i], mode, z)


@njit(**_JIT)
def resnorm2(u, f, wx, wy, cst, const, row, z):
    """``||f - A u||_2^2`` using the scratch row ``row`` (length n1)."""
    acc = 0.0
    for i in range(u.shape[0]):
        _res_row2(u, f, wx, wy, cst, const, i, row, 1, z)
        acc += _ssq(row)
    return acc


@njit(**_PJIT)
def resnorm2_par(u, f, wx, wy, cst, const, rows, z):
    """Parallel variant of :func:`resnorm2` (``rows``: ``(threads, n1)``)."""
    acc = 0.0
    for i in prange(u.shape[0]):
        r = rows[numba.get_thread_id()]
        _res_row2(u, f, wx, wy, cst, const, i, r, 1, z)
        acc += _ssq(r)
    return acc


@njit(**_JIT)
def jacobi2(u, f, wx, wy, cst, const, out, prev, tau, w, row, z):
    """One (Chebyshev-accelerated) Jacobi step.

    ``out = w (u + tau D^{-1}(f - A u)) + (1 - w) prev`` (seed 003 eq. 3.23
    with ``B = tau D^{-1}``); ``w = 1`` is damped Jacobi and ``prev`` is not
    read.  ``out`` may be the same array as ``prev`` but not as ``u``.
    """
    n0, n1 = u.shape
    for i in range(n0):
        _res_row2(u, f, wx, wy, cst, const, i, row, 1, z)
        uc = u[i]
        o = out[i]
        pr = prev[i]
        if const:
            ti = tau * cst[3]
            for j in range(n1):
                v = uc[j] + ti * row[j]
                o[j] = v if w == 1.0 else w * v + (1.0 - w) * pr[j]
        else:
            a = wx[i]
            b = wx[i + 1]
            c = wy[i]
            for j in range(n1):
                v = uc[j] + tau * (1.0 / (a[j] + b[j] + c[j] + c[j + 1])) * row[j]
                o[j] = v if w == 1.0 else w * v + (1.0 - w) * pr[j]


@njit(**_JIT)
def _fw_rows2(ra, rb, rc, fcI, off):
    """Full weighting of three padded fine rows into one coarse row."""
    for J in range(fcI.shape[0]):
        C = 2 * J + off + 1
        fcI[J] = 0.25 * (
            0.25 * (ra[C - 1] + ra[C + 1] + rc[C - 1] + rc[C + 1])
            + 0.5 * (ra[C] + rc[C] + rb[C - 1] + rb[C + 1])
            + rb[C]
        )


@njit(**_JIT)
def restrict_residual2(u, f, wx, wy, cst, const, fc, off, rows, z):
    """``fc = R (f - A u)``, fused, ``R = P^T/4`` (full weighting).

    ``rows`` is a scratch array of shape ``(3, n1 + 2)`` holding three fine
    residual rows padded with a zero on each side.
    """
    n0, n1 = u.shape
    nc0 = fc.shape[0]
    for k in range(3):
        rows[k, 0] = 0.0
        rows[k, n1 + 1] = 0.0
    ia, ib, ic = 0, 1, 2
    for I in range(nc0):
        c = 2 * I + off
        if I == 0:
            if c - 1 >= 0:
                _res_row2(u, f, wx, wy, cst, const, c - 1, rows[ia][1 : n1 + 1], 1, z)
            else:
                rows[ia, :] = 0.0
        else:
            ia, ic = ic, ia
        _res_row2(u, f, wx, wy, cst, const, c, rows[ib][1 : n1 + 1], 1, z)
        if c + 1 < n0:
            _res_row2(u, f, wx, wy, cst, const, c + 1, rows[ic][1 : n1 + 1], 1, z)
        else:
            rows[ic, :] = 0.0
        _fw_rows2(rows[ia], rows[ib], rows[ic], fc[I], off)


@njit(**_PJIT)
def restrict_residual2_par(u, f, wx, wy, cst, const, fc, off, rows, z):
    """Parallel variant of :func:`restrict_residual2` (``rows``: ``(threads, 3, n1 + 2)``)."""
    n0, n1 = u.shape
    nc0 = fc.shape[0]
    for I in prange(nc0):
        buf = rows[numba.get_thread_id()]
        c = 2 * I + off
        for k in range(3):
            buf[k, 0] = 0.0
            buf[k, n1 + 1] = 0.0
            i = c - 1 + k
            if 0 <= i < n0:
                _res_row2(u, f, wx, wy, cst, const, i, buf[k][1 : n1 + 1], 1, z)
            else:
                buf[k, :] = 0.0
        _fw_rows2(buf[0], buf[1], buf[2], fc[I], off)


@njit(**_JIT)
def restrict2(r, fc, off, rows):
    """``fc = R r`` (full weighting) of a given fine vector ``r``."""
    n0, n1 = r.shape
    nc0 = fc.shape[0]
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
        _fw_rows2(rows[0], rows[1], rows[2], fc[I], off)


@njit(**_JIT)
def _prolong_row_add(urow, erow, off, alpha):
    """``urow += alpha * P_1d erow`` where ``erow`` is padded by one zero per side."""
    n1 = urow.shape[0]
    nc1 = erow.shape[0] - 2
    for m in range(nc1):
        urow[2 * m + off] += alpha * erow[m + 1]
    h = 0.5 * alpha
    for j in range(1 - off, n1, 2):
        m0 = (j - off - 1) // 2
        urow[j] += h * (erow[m0 + 1] + erow[m0 + 2])


@njit(**_JIT)
def _coarse_row(e, i, off, erow):
    """Row ``i`` of the fine grid interpolated along axis 0 only, padded."""
    nc0, nc1 = e.shape
    erow[0] = 0.0
    erow[nc1 + 1] = 0.0
    if (i - off) % 2 == 0:
        er = e[(i - off) // 2]
        for J in range(nc1):
            erow[J + 1] = er[J]
    else:
        I0 = (i - off - 1) // 2
        I1 = I0 + 1
        if I0 >= 0 and I1 < nc0:
            e0 = e[I0]
            e1 = e[I1]
            for J in range(nc1):
                erow[J + 1] = 0.5 * (e0[J] + e1[J])
        elif I0 >= 0:
            e0 = e[I0]
            for J in range(nc1):
                erow[J + 1] = 0.5 * e0[J]
        else:
            e1 = e[I1]
            for J in range(nc1):
                erow[J + 1] = 0.5 * e1[J]


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
# 3D row helpers (row (i, j), k along the contiguous axis)
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _nb3(u, i, j, z):
    """Rows ``(i -+ 1, j)`` and ``(i, j -+ 1)`` of ``u`` (the zero row ``z`` outside)."""
    n0, n1 = u.shape[0], u.shape[1]
    um = u[i - 1, j] if i > 0 else z
    up = u[i + 1, j] if i < n0 - 1 else z
    us = u[i, j - 1] if j > 0 else z
    un = u[i, j + 1] if j < n1 - 1 else z
    return um, up, us, un


@njit(**_JIT)
def _pv3(uc, um, up, us, un, a, b, c, e, g, k):
    """Neighbour sum and diagonal at point ``k`` of a row (face weights, ends checked)."""
    n2 = uc.shape[0]
    d = a[k] + b[k] + c[k] + e[k] + g[k] + g[k + 1]
    s = a[k] * um[k] + b[k] * up[k] + c[k] * us[k] + e[k] * un[k]
    if k > 0:
        s += g[k] * uc[k - 1]
    if k < n2 - 1:
        s += g[k + 1] * uc[k + 1]
    return s, d


@njit(**_JIT)
def _pc3(uc, um, up, us, un, cx, cy, cz, k):
    """Neighbour sum at point ``k`` of a row (scalar weights, ends checked)."""
    n2 = uc.shape[0]
    t = 0.0
    if k > 0:
        t += uc[k - 1]
    if k < n2 - 1:
        t += uc[k + 1]
    return cx * (um[k] + up[k]) + cy * (us[k] + un[k]) + cz * t


@njit(**_JIT)
def _gs_row3(u, f, wx, wy, wz, cst, const, i, j, start, z):
    """Gauss-Seidel update of the points ``k = start, start+2, ...`` of row ``(i, j)``."""
    n0, n1, n2 = u.shape
    if start >= n2:
        return
    if 0 < i < n0 - 1 and 0 < j < n1 - 1:
        _gs_int3(u, f, wx, wy, wz, cst, const, i, j, start)
        return
    uc = u[i, j]
    fr = f[i, j]
    um, up, us, un = _nb3(u, i, j, z)
    last = n2 - 1
    peel_last = last > start and (last - start) % 2 == 0
    stop = last if peel_last else n2
    k0 = start
    if const:
        cx, cy, cz, inv = cst[0], cst[1], cst[2], cst[4]
        if start == 0:
            uc[0] = (fr[0] + _pc3(uc, um, up, us, un, cx, cy, cz, 0)) * inv
            k0 = 2
        for k in range(k0, stop, 2):
            uc[k] = (fr[k] + cx * (um[k] + up[k]) + cy * (us[k] + un[k]) + cz * (uc[k - 1] + uc[k + 1])) * inv
        if peel_last:
            uc[last] = (fr[last] + _pc3(uc, um, up, us, un, cx, cy, cz, last)) * inv
    else:
        a = wx[i, j]
        b = wx[i + 1, j]
        c = wy[i, j]
        e = wy[i, j + 1]
        g = wz[i, j]
        if start == 0:
            s, d = _pv3(uc, um, up, us, un, a, b, c, e, g, 0)
            uc[0] = (fr[0] + s) / d
            k0 = 2
        for k in range(k0, stop, 2):
            uc[k] = (
                fr[k] + a[k] * um[k] + b[k] * up[k] + c[k] * us[k] + e[k] * un[k]
                + g[k] * uc[k - 1] + g[k + 1] * uc[k + 1]
            ) / (a[k] + b[k] + c[k] + e[k] + g[k] + g[k + 1])
        if peel_last:
            s, d = _pv3(uc, um, up, us, un, a, b, c, e, g, last)
            uc[last] = (fr[last] + s) / d


@njit(**_JIT)
def _res_row3(u, f, wx, wy, wz, cst, const, i, j, out, mode, z):
    """Row ``(i, j)`` of ``f - A u`` (mode 1) or ``A u`` (mode 0) into ``out`` (length n2)."""
    n0, n1, n2 = u.shape
    if 0 < i < n0 - 1 and 0 < j < n1 - 1 and n2 >= 2:
        _res_int3(u, f, wx, wy, wz, cst, const, i, j, out, mode)
        return
    uc = u[i, j]
    fr = f[i, j]
    um, up, us, un = _nb3(u, i, j, z)
    last = n2 - 1
    if const:
        cx, cy, cz, dd = cst[0], cst[1], cst[2], cst[3]
        for k in (0, last):
            au = dd * uc[k] - _pc3(uc, um, up, us, un, cx, cy, cz, k)
            out[k] = fr[k] - au if mode == 1 else au
        if mode == 1:
            for k in range(1, last):
                out[k] = fr[k] - dd * uc[k] + cx * (um[k] + up[k]) + cy * (us[k] + un[k]) + cz * (uc[k - 1] + uc[k + 1])
        else:
            for k in range(1, last):
                out[k] = dd * uc[k] - cx * (um[k] + up[k]) - cy * (us[k] + un[k]) - cz * (uc[k - 1] + uc[k + 1])
    else:
        a = wx[i, j]
        b = wx[i + 1, j]
        c = wy[i, j]
        e = wy[i, j + 1]
        g = wz[i, j]
        for k in (0, last):
            s, d = _pv3(uc, um, up, us, un, a, b, c, e, g, k)
            au = d * uc[k] - s
            out[k] = fr[k] - au if mode == 1 else au
        for k in range(1, last):
            au = (
                (a[k] + b[k] + c[k] + e[k] + g[k] + g[k + 1]) * uc[k]
                - a[k] * um[k] - b[k] * up[k] - c[k] * us[k] - e[k] * un[k]
                - g[k] * uc[k - 1] - g[k + 1] * uc[k + 1]
            )
            out[k] = fr[k] - au if mode == 1 else au


@njit(**_JIT)
def _gs_plane3(u, f, wx, wy, wz, cst, const, i, colour, z):
    for j in range(u.shape[1]):
        _gs_row3(u, f, wx, wy, wz, cst, const, i, j, (i + j + colour) % 2, z)


@njit(**_JIT)
def _res_plane3(u, f, wx, wy, wz, cst, const, i, out, mode, z):
    """Plane ``i`` of the residual (``out[j]`` rows of length n2)."""
    for j in range(u.shape[1]):
        _res_row3(u, f, wx, wy, wz, cst, const, i, j, out[j], mode, z)


@njit(**_JIT)
def _res_plane3_padded(u, f, wx, wy, wz, cst, const, i, pad, z):
    """Plane ``i`` of ``f - A u`` into the interior of the padded plane ``pad``."""
    n2 = u.shape[2]
    for j in range(u.shape[1]):
        _res_row3(u, f, wx, wy, wz, cst, const, i, j, pad[j + 1][1 : n2 + 1], 1, z)


@njit(**_JIT)
def _ssq_plane3(u, f, wx, wy, wz, cst, const, i, row, z):
    acc = 0.0
    for j in range(u.shape[1]):
        _res_row3(u, f, wx, wy, wz, cst, const, i, j, row, 1, z)
        acc += _ssq(row)
    return acc


# ---------------------------------------------------------------------------
# 3D kernels
# ---------------------------------------------------------------------------


@njit(**_JIT)
def rbgs3(u, f, wx, wy, wz, cst, const, nsweeps, red_first, z, row, want_norm):
    """3D red-black Gauss-Seidel (red = even ``i + j + k``), all sweeps fused
    into one plane-wise wavefront (see :func:`rbgs2`, including the fused
    residual norm returned when ``want_norm``)."""
    n0 = u.shape[0]
    c1 = 0 if red_first else 1
    acc = 0.0
    steps = n0 + 2 * nsweeps - 1 + (1 if want_norm else 0)
    for i in range(steps):
        for s in range(nsweeps):
            r1 = i - 2 * s
            if 0 <= r1 < n0:
                _gs_plane3(u, f, wx, wy, wz, cst, const, r1, c1, z)
            r2 = r1 - 1
            if 0 <= r2 < n0:
                _gs_plane3(u, f, wx, wy, wz, cst, const, r2, 1 - c1, z)
        if want_norm:
            rr = i - 2 * nsweeps
            if 0 <= rr < n0:
                acc += _ssq_plane3(u, f, wx, wy, wz, cst, const, rr, row, z)
    return acc


@njit(**_PJIT)
def rbgs3_par(u, f, wx, wy, wz, cst, const, nsweeps, red_first, z):
    """Parallel variant of :func:`rbgs3` (one colour per pass)."""
    n0 = u.shape[0]
    c1 = 0 if red_first else 1
    for _ in range(nsweeps):
        for colour in (c1, 1 - c1):
            for i in prange(n0):
                _gs_plane3(u, f, wx, wy, wz, cst, const, i, colour, z)


@njit(**_JIT)
def stencil3(u, f, wx, wy, wz, cst, const, out, mode, z):
    """``out = f - A u`` (mode 1) or ``A u`` (mode 0)."""
    for i in range(u.shape[0]):
        _res_plane3(u, f, wx, wy, wz, cst, const, i, out[i], mode, z)


@njit(**_PJIT)
def stencil3_par(u, f, wx, wy, wz, cst, const, out, mode, z):
    """Parallel variant of :func:`stencil3`."""
    for i in prange(u.shape[0]):
        _res_plane3(u, f, wx, wy, wz, cst, const, i, out[i], mode, z)


@njit(**_JIT)
def resnorm3(u, f, wx, wy, wz, cst, const, row, z):
    """``||f - A u||_2^2`` with a scratch row (length n2)."""
    acc = 0.0
    for i in range(u.shape[0]):
        acc += _ssq_plane3(u, f, wx, wy, wz, cst, const, i, row, z)
    return acc


@njit(**_PJIT)
def resnorm3_par(u, f, wx, wy, wz, cst, const, rows, z):
    """Parallel variant of :func:`resnorm3` (``rows``: ``(threads, n2)``)."""
    acc = 0.0
    for i in prange(u.shape[0]):
        acc += _ssq_plane3(u, f, wx, wy, wz, cst, const, i, rows[numba.get_thread_id()], z)
    return acc


@njit(**_JIT)
def jacobi3(u, f, wx, wy, wz, cst, const, out, prev, tau, w, row, z):
    """3D variant of :func:`jacobi2`."""
    n0, n1, n2 = u.shape
    for i in range(n0):
        for j in range(n1):
            _res_row3(u, f, wx, wy, wz, cst, const, i, j, row, 1, z)
            uc = u[i, j]
            o = out[i, j]
            pr = prev[i, j]
            if const:
                ti = tau * cst[4]
                for k in range(n2):
                    v = uc[k] + ti * row[k]
                    o[k] = v if w == 1.0 else w * v + (1.0 - w) * pr[k]
            else:
                a = wx[i, j]
                b = wx[i + 1, j]
                c = wy[i, j]
                e = wy[i, j + 1]
                g = wz[i, j]
                for k in range(n2):
                    v = uc[k] + tau * (1.0 / (a[k] + b[k] + c[k] + e[k] + g[k] + g[k + 1])) * row[k]
                    o[k] = v if w == 1.0 else w * v + (1.0 - w) * pr[k]


@njit(**_JIT)
def _restrict_planes3(pa, pb, pc, fcI, off, t3, t):
    """Full weighting of three padded fine planes into one coarse plane ``fcI``.

    ``t3``: ``(3, n2 + 2)`` and ``t``: ``(n2 + 2,)`` scratch rows.  Weights
    1/2 along x (planes), then y (rows), then z (points), times ``1/8``.
    """
    nc1, nc2 = fcI.shape
    m = pa.shape[1]
    for J in range(nc1):
        C = 2 * J + off + 1
        for q in range(3):
            ra = pa[C - 1 + q]
            rb = pb[C - 1 + q]
            rc = pc[C - 1 + q]
            tq = t3[q]
            for k in range(m):
                tq[k] = 0.5 * (ra[k] + rc[k]) + rb[k]
        t0 = t3[0]
        t1 = t3[1]
        t2 = t3[2]
        for k in range(m):
            t[k] = 0.5 * (t0[k] + t2[k]) + t1[k]
        out = fcI[J]
        for K in range(nc2):
            D = 2 * K + off + 1
            out[K] = 0.125 * (0.5 * (t[D - 1] + t[D + 1]) + t[D])


@njit(**_JIT)
def _zero_pad3(p, n1, n2):
    for j in range(n1 + 2):
        p[j, 0] = 0.0
        p[j, n2 + 1] = 0.0
    for k in range(n2 + 2):
        p[0, k] = 0.0
        p[n1 + 1, k] = 0.0


@njit(**_JIT)
def restrict_residual3(u, f, wx, wy, wz, cst, const, fc, off, planes, z, t3):
    """``fc = R (f - A u)`` fused, ``R = P^T/8``; ``planes``: ``(3, n1+2, n2+2)``,
    ``t3``: ``(4, n2 + 2)`` scratch."""
    n0, n1, n2 = u.shape
    nc0 = fc.shape[0]
    for q in range(3):
        _zero_pad3(planes[q], n1, n2)
    ia, ib, ic = 0, 1, 2
    for I in range(nc0):
        c = 2 * I + off
        if I == 0:
            if c - 1 >= 0:
                _res_plane3_padded(u, f, wx, wy, wz, cst, const, c - 1, planes[ia], z)
            else:
                planes[ia, :, :] = 0.0
        else:
            ia, ic = ic, ia
        _res_plane3_padded(u, f, wx, wy, wz, cst, const, c, planes[ib], z)
        if c + 1 < n0:
            _res_plane3_padded(u, f, wx, wy, wz, cst, const, c + 1, planes[ic], z)
        else:
            planes[ic, :, :] = 0.0
        _restrict_planes3(planes[ia], planes[ib], planes[ic], fc[I], off, t3[:3], t3[3])


@njit(**_PJIT)
def restrict_residual3_par(u, f, wx, wy, wz, cst, const, fc, off, planes, z, t3):
    """Parallel variant of :func:`restrict_residual3` (``planes``: ``(threads, 3, n1+2, n2+2)``,
    ``t3``: ``(threads, 4, n2 + 2)``)."""
    n0, n1, n2 = u.shape
    nc0 = fc.shape[0]
    for I in prange(nc0):
        tid = numba.get_thread_id()
        buf = planes[tid]
        tb = t3[tid]
        c = 2 * I + off
        for q in range(3):
            i = c - 1 + q
            if 0 <= i < n0:
                _zero_pad3(buf[q], n1, n2)
                _res_plane3_padded(u, f, wx, wy, wz, cst, const, i, buf[q], z)
            else:
                buf[q, :, :] = 0.0
        _restrict_planes3(buf[0], buf[1], buf[2], fc[I], off, tb[:3], tb[3])


@njit(**_JIT)
def restrict3(r, fc, off, planes, t3):
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
        _restrict_planes3(planes[0], planes[1], planes[2], fc[I], off, t3[:3], t3[3])


@njit(**_JIT)
def _coarse_plane(e, i, off, eplane):
    """Fine plane ``i`` interpolated along axis 0 only, written padded into ``eplane``."""
    nc0, nc1, nc2 = e.shape
    _zero_pad3(eplane, nc1, nc2)
    if (i - off) % 2 == 0:
        I = (i - off) // 2
        for J in range(nc1):
            src = e[I, J]
            dst = eplane[J + 1]
            for K in range(nc2):
                dst[K + 1] = src[K]
    else:
        I0 = (i - off - 1) // 2
        I1 = I0 + 1
        for J in range(nc1):
            dst = eplane[J + 1]
            if I0 >= 0 and I1 < nc0:
                s0 = e[I0, J]
                s1 = e[I1, J]
                for K in range(nc2):
                    dst[K + 1] = 0.5 * s0[K] + 0.5 * s1[K]
            elif I0 >= 0:
                s0 = e[I0, J]
                for K in range(nc2):
                    dst[K + 1] = 0.5 * s0[K]
            else:
                s1 = e[I1, J]
                for K in range(nc2):
                    dst[K + 1] = 0.5 * s1[K]


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


# the 3D colour-split kernels live in their own module (it imports helpers from
# this one), loaded on first access (PEP 562)
_SPLIT3 = (
    "rbgs3_restrict_split",
    "rbgs3_split",
    "rbgs3_split_prolong",
    "residual_cast3",
    "split3_post_update",
    "split3_pre_zero",
)


def __getattr__(name):
    if name in _SPLIT3:
        from . import _split3_kernels

        return getattr(_split3_kernels, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [name for name in dir() if not name.startswith("_") and name not in ("annotations", "njit", "prange", "numba", "np")]
__all__ += list(_SPLIT3)
