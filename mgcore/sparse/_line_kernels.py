"""Compiled kernels of line (zebra) Gauss-Seidel on structured grids.

A line smoother along axis ``a`` splits ``A = T_a + (A - T_a)``, ``T_a`` the
tridiagonal part that couples the unknowns of each grid line along ``a``
(the diagonal of ``A`` and the couplings along ``a``).  One zebra half-sweep
over the lines of one colour is ``u <- u + T_a^{-1} (f - A u)`` on those
lines; lines of one colour are not coupled by the (2d+1)-point stencil, so
this is exact block Gauss-Seidel over the colour.

Arrays are viewed as ``(n_before, n_line, n_after)`` with the line axis in
the middle (a C-order reshape, no copy), so every loop runs along the
contiguous last axis; the tridiagonal systems are solved by the Thomas
algorithm with factors computed once per level (:func:`thomas_factors`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

_JIT = dict(cache=True, error_model="numpy", nogil=True, boundscheck=False)
#: the one-pass kernels let LLVM contract ``a * b + c`` into FMAs (one rounding
#: less per step, half the latency on the recurrences' dependency chains)
_JITC = dict(_JIT, fastmath={"contract"})


@njit(**_JIT)
def thomas_factors(diag, lo, inv, cff):
    """LU factors of the tridiagonal line systems.

    ``diag[a, i, b]``: diagonal; ``lo[a, i, b]``: coupling ``-(T)_{i, i-1}``
    (a positive face weight times the scale, ``lo[:, 0, :] = 0``).  Writes
    ``inv = 1 / d'_i`` and ``cff = lo_{i+1} / d'_i``.
    """
    A_, L, B = diag.shape
    for a in range(A_):
        for b in range(B):
            inv[a, 0, b] = 1.0 / diag[a, 0, b] if diag[a, 0, b] != 0 else 0.0
        for i in range(L):
            for b in range(B):
                if i > 0:
                    d = diag[a, i, b] - lo[a, i, b] * cff[a, i - 1, b]
                    inv[a, i, b] = 1.0 / d if d != 0 else 0.0
                if i + 1 < L:
                    cff[a, i, b] = lo[a, i + 1, b] * inv[a, i, b]
                else:
                    cff[a, i, b] = 0.0


@njit(**_JIT)
def _line1(u, r, lo, inv, cff, y):
    """One contiguous line: ``u += T^{-1} r`` (1-D views)."""
    L = u.shape[0]
    y[0] = r[0] * inv[0]
    for i in range(1, L):
        y[i] = (r[i] + lo[i] * y[i - 1]) * inv[i]
    u[L - 1] += y[L - 1]
    for i in range(L - 2, -1, -1):
        y[i] = y[i] + cff[i] * y[i + 1]
        u[i] += y[i]


@njit(**_JIT)
def line_correct(u, r, lo, inv, cff, col, colour, y):
    """``u += T^{-1} r`` on the lines whose colour ``col[a, b]`` is ``colour``.

    ``T`` has diagonal ``d`` and off-diagonals ``-lo`` (so the forward sweep
    adds ``lo * y``); ``y`` is scratch of shape ``(n_line, n_after)``.  When
    ``n_after > 1`` the colour alternates along ``b`` (the last grid axis is
    not the line axis), so the lines of one colour are every other ``b``: the
    inner loops run with stride 2 and no branch.
    """
    A_, L, B = u.shape
    if B == 1:
        for a in range(A_):
            if col[a, 0] == colour:
                _line1(u[a, :, 0], r[a, :, 0], lo[a, :, 0], inv[a, :, 0], cff[a, :, 0], y[:, 0])
        return
    for a in range(A_):
        b0 = (colour + col[a, 0]) % 2
        for b in range(b0, B, 2):
            y[0, b] = r[a, 0, b] * inv[a, 0, b]
        for i in range(1, L):
            for b in range(b0, B, 2):
                y[i, b] = (r[a, i, b] + lo[a, i, b] * y[i - 1, b]) * inv[a, i, b]
        for b in range(b0, B, 2):
            u[a, L - 1, b] += y[L - 1, b]
        for i in range(L - 2, -1, -1):
            for b in range(b0, B, 2):
                y[i, b] = y[i, b] + cff[a, i, b] * y[i + 1, b]
                u[a, i, b] += y[i, b]


@njit(**_JIT)
def line_correct_masked(u, r, lo, inv, cff, col, colour, y):
    """As :func:`line_correct` for any colour pattern (a branch per point)."""
    A_, L, B = u.shape
    for a in range(A_):
        for b in range(B):
            if col[a, b] == colour:
                y[0, b] = r[a, 0, b] * inv[a, 0, b]
        for i in range(1, L):
            for b in range(B):
                if col[a, b] == colour:
                    y[i, b] = (r[a, i, b] + lo[a, i, b] * y[i - 1, b]) * inv[a, i, b]
        for b in range(B):
            if col[a, b] == colour:
                u[a, L - 1, b] += y[L - 1, b]
        for i in range(L - 2, -1, -1):
            for b in range(B):
                if col[a, b] == colour:
                    y[i, b] = y[i, b] + cff[a, i, b] * y[i + 1, b]
                    u[a, i, b] += y[i, b]


# ---------------------------------------------------------------------------
# One-pass 2D half-sweeps (the right-hand side formed inside the forward
# substitution, the solution written in place: no residual array, no scratch).
#
# The factors are stored as ``inv_i = 1/d'_i``, ``m_i = lo_i * inv_i`` and
# ``cff_i = lo_{i+1} * inv_i`` (``d'`` the pivots of the LU factorisation of the
# line's tridiagonal part, :func:`thomas_factors`), so that the forward
# recurrence ``y_i = g_i inv_i + m_i y_{i-1}`` has one FMA on its dependency
# chain and no division.  With ``const`` the interior lines (all but the first
# and the last across the line axis) share their factors and their couplings
# to the neighbouring lines (constant coefficients): the kernels then read the
# factors of line 1 only, which stay in cache.
# ---------------------------------------------------------------------------


@njit(**_JITC)
def _row_one(u, f, i, wup, wdn, inv, m, cff):
    """Row ``i``: ``u_i <- T^{-1}(f_i + wup u_{i-1} + wdn u_{i+1})`` (rows outside the grid are skipped)."""
    n0, n1 = u.shape
    has_up = i > 0
    has_dn = i + 1 < n0
    y = 0.0
    for j in range(n1):
        g = f[i, j]
        if has_up:
            g += wup[j] * u[i - 1, j]
        if has_dn:
            g += wdn[j] * u[i + 1, j]
        y = g * inv[j] + m[j] * y
        u[i, j] = y
    for j in range(n1 - 2, -1, -1):
        y = u[i, j] + cff[j] * y
        u[i, j] = y


@njit(**_JITC)
def _rows_four_const(u, f, i, w, inv, m, cff):
    """Rows ``i, i+2, i+4, i+6`` (all interior), same factors and couplings ``w``: four chains interleaved."""
    n1 = u.shape[1]
    a0 = u[i - 1]
    a1 = u[i + 1]
    a2 = u[i + 3]
    a3 = u[i + 5]
    a4 = u[i + 7]
    u0 = u[i]
    u1 = u[i + 2]
    u2 = u[i + 4]
    u3 = u[i + 6]
    f0 = f[i]
    f1 = f[i + 2]
    f2 = f[i + 4]
    f3 = f[i + 6]
    y0 = 0.0
    y1 = 0.0
    y2 = 0.0
    y3 = 0.0
    for j in range(n1):
        wj = w[j]
        ij = inv[j]
        mj = m[j]
        b1 = a1[j]
        b2 = a2[j]
        b3 = a3[j]
        y0 = (f0[j] + wj * (a0[j] + b1)) * ij + mj * y0
        y1 = (f1[j] + wj * (b1 + b2)) * ij + mj * y1
        y2 = (f2[j] + wj * (b2 + b3)) * ij + mj * y2
        y3 = (f3[j] + wj * (b3 + a4[j])) * ij + mj * y3
        u0[j] = y0
        u1[j] = y1
        u2[j] = y2
        u3[j] = y3
    for j in range(n1 - 2, -1, -1):
        cj = cff[j]
        y0 = u0[j] + cj * y0
        y1 = u1[j] + cj * y1
        y2 = u2[j] + cj * y2
        y3 = u3[j] + cj * y3
        u0[j] = y0
        u1[j] = y1
        u2[j] = y2
        u3[j] = y3


@njit(**_JITC)
def _rows_two_var(u, f, i, wx, inv, m, cff):
    """Rows ``i`` and ``i+2`` (interior), each with its own factors and couplings: two chains interleaved."""
    n1 = u.shape[1]
    a0 = u[i - 1]
    a1 = u[i + 1]
    a2 = u[i + 3]
    u0 = u[i]
    u1 = u[i + 2]
    f0 = f[i]
    f1 = f[i + 2]
    w0 = wx[i]
    w1 = wx[i + 1]
    w2 = wx[i + 2]
    w3 = wx[i + 3]
    i0 = inv[i]
    i1 = inv[i + 2]
    m0 = m[i]
    m1 = m[i + 2]
    c0 = cff[i]
    c1 = cff[i + 2]
    y0 = 0.0
    y1 = 0.0
    for j in range(n1):
        b1 = a1[j]
        y0 = (f0[j] + w0[j] * a0[j] + w1[j] * b1) * i0[j] + m0[j] * y0
        y1 = (f1[j] + w2[j] * b1 + w3[j] * a2[j]) * i1[j] + m1[j] * y1
        u0[j] = y0
        u1[j] = y1
    for j in range(n1 - 2, -1, -1):
        y0 = u0[j] + c0[j] * y0
        y1 = u1[j] + c1[j] * y1
        u0[j] = y0
        u1[j] = y1


@njit(**_JITC)
def rows2(u, f, wx, inv, m, cff, colour, const):
    """2D half-sweep over the rows ``i`` of parity ``colour`` (lines along the contiguous axis 1).

    ``u`` (updated in place), ``f``: shape ``(n0, n1)``; ``wx``: scaled face
    weights along axis 0, shape ``(n0 + 1, n1)``; ``inv``/``m``/``cff``: the
    factors of every row, shape ``(n0, n1)``.  Independent rows are solved
    four (``const``) or two at a time so that their recurrences overlap.
    """
    n0, n1 = u.shape
    i = colour
    while i < n0:
        if const and i >= 1 and i + 7 < n0:
            _rows_four_const(u, f, i, wx[1], inv[1], m[1], cff[1])
            i += 8
        elif not const and i >= 1 and i + 3 < n0:
            _rows_two_var(u, f, i, wx, inv, m, cff)
            i += 4
        else:
            r = i if (not const or i == 0 or i == n0 - 1) else 1
            _row_one(u, f, i, wx[i], wx[i + 1], inv[r], m[r], cff[r])
            i += 2


@njit(**_JITC)
def _cols_block(u, f, wy, inv, m, cff, colour, const, jb, je):
    """The columns of parity ``colour`` in ``[jb, je)``: forward over all rows, then backward."""
    n0, n1 = u.shape
    last = n1 - 1
    do0 = colour == 0 and jb == 0
    dol = (last % 2) == colour and last > 0 and je == n1
    js = jb + (colour - jb) % 2
    if js == 0:
        js = 2
    jend = min(je, last)  # interior columns js, js + 2, ... < jend
    for i in range(n0):
        fi = f[i]
        ui = u[i]
        ii = inv[i]
        mi = m[i]
        wi = wy[i]
        first = i == 0
        up = u[i - 1] if i > 0 else u[i]
        if do0:
            g = fi[0]
            if n1 > 1:
                g += wi[1] * ui[1]
            ui[0] = g * ii[0] if first else g * ii[0] + mi[0] * up[0]
        if const:
            w = wi[1]
            ic = ii[1]
            if first:
                for j in range(js, jend, 2):
                    ui[j] = (fi[j] + w * (ui[j - 1] + ui[j + 1])) * ic
            else:
                mc = mi[1]
                for j in range(js, jend, 2):
                    ui[j] = (fi[j] + w * (ui[j - 1] + ui[j + 1])) * ic + mc * up[j]
        else:
            if first:
                for j in range(js, jend, 2):
                    ui[j] = (fi[j] + wi[j] * ui[j - 1] + wi[j + 1] * ui[j + 1]) * ii[j]
            else:
                for j in range(js, jend, 2):
                    ui[j] = (fi[j] + wi[j] * ui[j - 1] + wi[j + 1] * ui[j + 1]) * ii[j] + mi[j] * up[j]
        if dol:
            g = (fi[last] + wi[last] * ui[last - 1]) * ii[last]
            ui[last] = g if first else g + mi[last] * up[last]
    for i in range(n0 - 2, -1, -1):
        ui = u[i]
        dn = u[i + 1]
        ci = cff[i]
        if do0:
            ui[0] = ui[0] + ci[0] * dn[0]
        if const:
            cc = ci[1]
            for j in range(js, jend, 2):
                ui[j] = ui[j] + cc * dn[j]
        else:
            for j in range(js, jend, 2):
                ui[j] = ui[j] + ci[j] * dn[j]
        if dol:
            ui[last] = ui[last] + ci[last] * dn[last]


@njit(**_JITC)
def cols2(u, f, wy, inv, m, cff, colour, const):
    """2D half-sweep over the columns ``j`` of parity ``colour`` (lines along axis 0).

    The columns are solved together row by row (inner loops across the
    columns, stride 2; blocking the columns measured slower: the rows are 4 KiB
    apart, and the hardware prefetchers follow whole rows best).  ``wy``:
    scaled face weights along axis 1, shape ``(n0, n1 + 1)``;
    ``inv``/``m``/``cff``: shape ``(n0, n1)``.  With ``const`` the interior
    columns take the factors of column 1 and the couplings ``wy[i, 1]``
    (scalars per row).
    """
    _cols_block(u, f, wy, inv, m, cff, colour, const, 0, u.shape[1])


@njit(**_JITC)
def lines3(u, f, wp, wq, inv, m, cff, colour, const, zrow):
    """3D half-sweep over the lines ``(p, q)`` along axis 0 of ``u[i, p, q]`` with ``(p + q) % 2 == colour``.

    The right-hand side ``f + `` couplings to the four neighbouring lines is
    formed inside the forward substitution, which runs plane by plane
    (``i``) over all lines of the colour (inner loops along ``q``, stride 2);
    the solution is written in place.  ``wp`` (shape ``(L, P + 1, Q)``) and
    ``wq`` (``(L, P, Q + 1)``): scaled face weights across the lines;
    ``inv``/``m``/``cff``: the factors (``(L, P, Q)``); ``zrow``: zeros of
    length ``Q`` (the neighbour beyond the boundary).  With ``const`` the
    interior lines use the factors of line ``(1, 1)`` and the couplings
    ``wp[i, 1, 1]``, ``wq[i, 1, 1]``.  Lines along axis 1:
    :func:`lines3_mid`; along axis 2: :func:`lines3_contig`.
    """
    L, P, Q = u.shape
    lq = Q - 1
    for i in range(L):
        cy = wp[i, 1, 1] if P > 1 and Q > 1 else 0.0
        cz = wq[i, 1, 1] if P > 1 and Q > 1 else 0.0
        ic = inv[i, 1, 1] if P > 1 and Q > 1 else 0.0
        mc = m[i, 1, 1] if P > 1 and Q > 1 else 0.0
        for p in range(P):
            ks = (colour + p) % 2
            ui = u[i, p]
            fi = f[i, p]
            um = u[i, p - 1] if p > 0 else zrow
            up = u[i, p + 1] if p + 1 < P else zrow
            wm = wp[i, p]
            wpp = wp[i, p + 1]
            wz = wq[i, p]
            ir = inv[i, p]
            mr = m[i, p]
            pv = u[i - 1, p] if i > 0 else zrow
            if ks == 0:
                g = fi[0] + wm[0] * um[0] + wpp[0] * up[0]
                if Q > 1:
                    g += wz[1] * ui[1]
                ui[0] = g * ir[0] + mr[0] * pv[0]
            kb = ks if ks > 0 else 2
            if const and 0 < p < P - 1:
                for k in range(kb, lq, 2):
                    ui[k] = (fi[k] + cy * (um[k] + up[k]) + cz * (ui[k - 1] + ui[k + 1])) * ic + mc * pv[k]
            else:
                for k in range(kb, lq, 2):
                    ui[k] = (fi[k] + wm[k] * um[k] + wpp[k] * up[k] + wz[k] * ui[k - 1] + wz[k + 1] * ui[k + 1]) * ir[k] \
                        + mr[k] * pv[k]
            if lq > 0 and lq % 2 == ks:
                g = fi[lq] + wm[lq] * um[lq] + wpp[lq] * up[lq] + wz[lq] * ui[lq - 1]
                ui[lq] = g * ir[lq] + mr[lq] * pv[lq]
    for i in range(L - 2, -1, -1):
        cc = cff[i, 1, 1] if P > 1 and Q > 1 else 0.0
        for p in range(P):
            ks = (colour + p) % 2
            ui = u[i, p]
            dn = u[i + 1, p]
            cr = cff[i, p]
            if const and 0 < p < P - 1:
                if ks == 0:
                    ui[0] = ui[0] + cr[0] * dn[0]
                for k in range(ks if ks > 0 else 2, lq, 2):
                    ui[k] = ui[k] + cc * dn[k]
                if lq > 0 and lq % 2 == ks:
                    ui[lq] = ui[lq] + cr[lq] * dn[lq]
            else:
                for k in range(ks, Q, 2):
                    ui[k] = ui[k] + cr[k] * dn[k]


@njit(**_JITC)
def _line3_one(u, f, i, j, wx, wy, inv, m, cff, zrow):
    """Line ``(i, j)`` along the contiguous axis 2, its four neighbouring lines
    (``zrow`` beyond the boundary) in the right-hand side."""
    n0, n1, n2 = u.shape
    a = u[i - 1, j] if i > 0 else zrow
    b = u[i + 1, j] if i + 1 < n0 else zrow
    c = u[i, j - 1] if j > 0 else zrow
    d = u[i, j + 1] if j + 1 < n1 else zrow
    wa = wx[i, j]
    wb = wx[i + 1, j]
    wc = wy[i, j]
    wd = wy[i, j + 1]
    ui = u[i, j]
    fi = f[i, j]
    ir = inv[i, j]
    mr = m[i, j]
    cr = cff[i, j]
    y = 0.0
    for k in range(n2):
        y = (fi[k] + wa[k] * a[k] + wb[k] * b[k] + wc[k] * c[k] + wd[k] * d[k]) * ir[k] + mr[k] * y
        ui[k] = y
    for k in range(n2 - 2, -1, -1):
        y = ui[k] + cr[k] * y
        ui[k] = y


@njit(**_JITC)
def _lines3_four_const(u, f, i, j, wx, wy, inv, m, cff):
    """Interior lines ``(i, j + 2t)``, ``t < 4``, sharing factors and couplings: four chains interleaved."""
    n2 = u.shape[2]
    c0 = u[i, j - 1]
    c1 = u[i, j + 1]
    c2 = u[i, j + 3]
    c3 = u[i, j + 5]
    c4 = u[i, j + 7]
    p0 = u[i - 1, j]
    p1 = u[i - 1, j + 2]
    p2 = u[i - 1, j + 4]
    p3 = u[i - 1, j + 6]
    q0 = u[i + 1, j]
    q1 = u[i + 1, j + 2]
    q2 = u[i + 1, j + 4]
    q3 = u[i + 1, j + 6]
    u0 = u[i, j]
    u1 = u[i, j + 2]
    u2 = u[i, j + 4]
    u3 = u[i, j + 6]
    f0 = f[i, j]
    f1 = f[i, j + 2]
    f2 = f[i, j + 4]
    f3 = f[i, j + 6]
    y0 = 0.0
    y1 = 0.0
    y2 = 0.0
    y3 = 0.0
    for k in range(n2):
        ax = wx[k]
        ay = wy[k]
        ik = inv[k]
        mk = m[k]
        b1 = c1[k]
        b2 = c2[k]
        b3 = c3[k]
        y0 = (f0[k] + ay * (c0[k] + b1) + ax * (p0[k] + q0[k])) * ik + mk * y0
        y1 = (f1[k] + ay * (b1 + b2) + ax * (p1[k] + q1[k])) * ik + mk * y1
        y2 = (f2[k] + ay * (b2 + b3) + ax * (p2[k] + q2[k])) * ik + mk * y2
        y3 = (f3[k] + ay * (b3 + c4[k]) + ax * (p3[k] + q3[k])) * ik + mk * y3
        u0[k] = y0
        u1[k] = y1
        u2[k] = y2
        u3[k] = y3
    for k in range(n2 - 2, -1, -1):
        ck = cff[k]
        y0 = u0[k] + ck * y0
        y1 = u1[k] + ck * y1
        y2 = u2[k] + ck * y2
        y3 = u3[k] + ck * y3
        u0[k] = y0
        u1[k] = y1
        u2[k] = y2
        u3[k] = y3


@njit(**_JITC)
def lines3_contig(u, f, wx, wy, inv, m, cff, colour, const, zrow):
    """3D half-sweep over the lines ``(i, j)`` along the contiguous axis 2 with ``(i + j) % 2 == colour``.

    ``wx`` (``(n0 + 1, n1, n2)``), ``wy`` (``(n0, n1 + 1, n2)``): scaled face
    weights across the lines; ``inv``/``m``/``cff``: the factors
    (``(n0, n1, n2)``); ``zrow``: zeros of length ``n2``.  With ``const`` the
    interior lines share the factors of line ``(1, 1)`` and the couplings
    ``wx[1, 1]``, ``wy[1, 1]`` and are solved four at a time (interleaved
    recurrences); the others one by one.
    """
    n0, n1, n2 = u.shape
    for i in range(n0):
        inner = 0 < i < n0 - 1
        j = (colour + i) % 2
        while j < n1:
            if const and inner and j >= 1 and j + 7 < n1:
                _lines3_four_const(u, f, i, j, wx[1, 1], wy[1, 1], inv[1, 1], m[1, 1], cff[1, 1])
                j += 8
            else:
                _line3_one(u, f, i, j, wx, wy, inv, m, cff, zrow)
                j += 2


@njit(**_JITC)
def lines3_mid(u, f, wx, wz, inv, m, cff, colour, const, zrow):
    """3D half-sweep over the lines ``(i, k)`` along axis 1 with ``(i + k) % 2 == colour``.

    As :func:`lines3` in the natural layout: plane ``i`` by plane, the lines
    of the plane solved together (forward over ``j``, then backward; inner
    loops along the contiguous ``k``, stride 2).  ``wx`` (``(n0 + 1, n1,
    n2)``), ``wz`` (``(n0, n1, n2 + 1)``): scaled face weights across the
    lines; with ``const`` the interior lines use the factors of line
    ``(1, 1)`` and the couplings ``wx[1, j, 1]``, ``wz[1, j, 1]``.
    """
    n0, n1, n2 = u.shape
    lq = n2 - 1
    rep = n0 > 1 and n2 > 1
    for i in range(n0):
        ks = (colour + i) % 2
        kb = ks if ks > 0 else 2
        inner = const and 0 < i < n0 - 1
        for j in range(n1):
            ui = u[i, j]
            fi = f[i, j]
            um = u[i - 1, j] if i > 0 else zrow
            up = u[i + 1, j] if i + 1 < n0 else zrow
            pv = u[i, j - 1] if j > 0 else zrow
            wm = wx[i, j]
            wpp = wx[i + 1, j]
            wz_ = wz[i, j]
            ir = inv[i, j]
            mr = m[i, j]
            if ks == 0:
                g = fi[0] + wm[0] * um[0] + wpp[0] * up[0]
                if n2 > 1:
                    g += wz_[1] * ui[1]
                ui[0] = g * ir[0] + mr[0] * pv[0]
            if inner:
                cy = wx[1, j, 1] if rep else 0.0
                cz = wz[1, j, 1] if rep else 0.0
                ic = inv[1, j, 1] if rep else 0.0
                mc = m[1, j, 1] if rep else 0.0
                for k in range(kb, lq, 2):
                    ui[k] = (fi[k] + cy * (um[k] + up[k]) + cz * (ui[k - 1] + ui[k + 1])) * ic + mc * pv[k]
            else:
                for k in range(kb, lq, 2):
                    ui[k] = (fi[k] + wm[k] * um[k] + wpp[k] * up[k] + wz_[k] * ui[k - 1] + wz_[k + 1] * ui[k + 1]) \
                        * ir[k] + mr[k] * pv[k]
            if lq > 0 and lq % 2 == ks:
                g = fi[lq] + wm[lq] * um[lq] + wpp[lq] * up[lq] + wz_[lq] * ui[lq - 1]
                ui[lq] = g * ir[lq] + mr[lq] * pv[lq]
        for j in range(n1 - 2, -1, -1):
            ui = u[i, j]
            dn = u[i, j + 1]
            cr = cff[i, j]
            if inner:
                cc = cff[1, j, 1] if rep else 0.0
                if ks == 0:
                    ui[0] = ui[0] + cr[0] * dn[0]
                for k in range(kb, lq, 2):
                    ui[k] = ui[k] + cc * dn[k]
                if lq > 0 and lq % 2 == ks:
                    ui[lq] = ui[lq] + cr[lq] * dn[lq]
            else:
                for k in range(ks, n2, 2):
                    ui[k] = ui[k] + cr[k] * dn[k]
