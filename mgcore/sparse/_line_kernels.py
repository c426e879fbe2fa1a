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


@njit(**_JIT)
def line_rows2(u, f, wx, lo, inv, cff, colour, y):
    """2D lines along axis 1 (rows ``i`` of parity ``colour``), residual fused in.

    Solves ``T u_i = f_i + w_{i-1/2} u_{i-1} + w_{i+1/2} u_{i+1}`` for each row:
    ``wx`` holds the scaled face weights along axis 0 (shape ``(n0 + 1, n1)``),
    ``lo``/``inv``/``cff`` the row systems' Thomas factors (shape ``(n0, n1)``).
    """
    n0, n1 = u.shape
    for i in range(colour, n0, 2):
        for j in range(n1):
            g = f[i, j]
            if i > 0:
                g += wx[i, j] * u[i - 1, j]
            if i + 1 < n0:
                g += wx[i + 1, j] * u[i + 1, j]
            if j == 0:
                y[j] = g * inv[i, j]
            else:
                y[j] = (g + lo[i, j] * y[j - 1]) * inv[i, j]
        u[i, n1 - 1] = y[n1 - 1]
        for j in range(n1 - 2, -1, -1):
            y[j] = y[j] + cff[i, j] * y[j + 1]
            u[i, j] = y[j]


@njit(**_JIT)
def line_cols2(u, f, wy, lo, inv, cff, colour, y):
    """2D lines along axis 0 (columns ``j`` of parity ``colour``), residual fused in.

    ``wy``: scaled face weights along axis 1 (shape ``(n0, n1 + 1)``); the
    columns are solved together, row by row, with unit-stride inner loops.
    """
    n0, n1 = u.shape
    for i in range(n0):
        for j in range(colour, n1, 2):
            g = f[i, j]
            if j > 0:
                g += wy[i, j] * u[i, j - 1]
            if j + 1 < n1:
                g += wy[i, j + 1] * u[i, j + 1]
            if i == 0:
                y[i, j] = g * inv[i, j]
            else:
                y[i, j] = (g + lo[i, j] * y[i - 1, j]) * inv[i, j]
    for j in range(colour, n1, 2):
        u[n0 - 1, j] = y[n0 - 1, j]
    for i in range(n0 - 2, -1, -1):
        for j in range(colour, n1, 2):
            y[i, j] = y[i, j] + cff[i, j] * y[i + 1, j]
            u[i, j] = y[i, j]

