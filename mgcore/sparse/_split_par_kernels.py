"""Threaded colour-split red-black Gauss-Seidel on uniform 2D and 3D levels (bitwise the serial iterates).

The serial kernels of :mod:`mgcore.sparse._kernels` (``rbgs2_restrict_split``,
``split_pre_zero``, ``rbgs2_split_prolong``) sweep the grid once as a
wavefront: row ``i + 1`` enters a ring of colour-split rows while the
``2 nu`` half-sweeps run on rows ``i, i - 1, ..., i - 2 nu + 1``, so each
row is read and written once for all sweeps (and for the fused restriction
or prolongation).  A wavefront is sequential along the rows; here the rows
are cut into ``T`` blocks, one per thread, and each thread runs the same
wavefront over its block widened by a halo of ``H = 2 nu + 2`` rows on each
side (overlapped tiling; e.g. Wonnacott & Strout, "A Survey of Tiling
Techniques for Stencils", 2013, Sec. 3).  Beyond the halo a row is held at its
value before the sweeps; a half-sweep carries that error one row further, so
after ``2 nu`` half-sweeps the rows, residuals and full-weighting rows a thread
stores (those of its own block) are exactly those of the serial wavefront:
the same operations in the same order, so bitwise the same numbers.  The halo
rows of the neighbours are read from a snapshot taken before the threads
start (a neighbour overwrites them meanwhile); the sum of squares of the
residual (post-smoothing) is summed per block and then added, so it agrees
with the serial one to rounding.

The redundant work is ``2 H`` rows (planes) per cut: under 2 % of a 1023-row
level and about 10 % of a 127-plane level with two threads.

Kernels
-------
:func:`split2_par`
    One pass of ``nu`` sweeps over the blocks in ``prange``; ``mode`` 0 reads
    ``u``, mode 1 starts from zero (``split_pre_zero``), mode 2 adds ``P e``
    as a row enters (``rbgs2_split_prolong``); ``restrict`` fuses
    ``fc = R(f - A u)``, ``want_norm`` returns ``||f - A u||^2``.
:func:`split3_par`
    The same on blocks of planes of a 3D level (the colour-split planes of
    :mod:`mgcore.sparse._split3_kernels`).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from ._kernels import (_JIT, _PJIT, _fw_split, _split_gs, _split_load_f, _split_load_from, _split_load_prolong_from,
                       _split_res, _split_store, _split_zero, _ssq)
from ._split3_kernels import (_s3_gs_plane, _s3_load_f, _s3_load_from, _s3_load_prolong_from, _s3_res_plane,
                              _s3_restrict, _s3_ssq_plane, _s3_store, _s3_zero, _s3_zero_all)

__all__ = ["split2_par", "split3_par", "halo_rows", "block_cuts"]


def halo_rows(nsweeps: int) -> int:
    """Rows of halo on each side of a block for ``nsweeps`` sweeps (see the module docstring)."""
    return 2 * int(nsweeps) + 2


def block_cuts(n0: int, threads: int, nsweeps: int) -> np.ndarray | None:
    """Row cuts ``[0, c_1, ..., n0]`` of ``threads`` blocks of about equal height, or None if the rows are too few
    (each block at least ``4 H`` rows, so the halos stay a small part of the work)."""
    H = halo_rows(nsweeps)
    if threads < 2 or n0 < threads * 4 * H:
        return None
    return np.array([(t * n0) // threads for t in range(threads + 1)], dtype=np.int64)


@njit(**_JIT)
def _load_any(u, f, r, S, mode, e, erow, lo, hi, snap, t, H):
    """Load row ``r`` into its ring slot: own rows from ``u``, rows of the neighbours from their snapshots."""
    slot = r % S.shape[0]
    if mode == 1:  # a cycle from zero: the iterate is not read
        _split_load_f(f, r, S, slot)
        return
    if lo <= r < hi:
        src, sr = u, r
    elif r < lo:
        src, sr = snap[t - 1], r - (lo - H - 1)
    else:
        src, sr = snap[t], r - (hi - H - 1)
    if mode == 2:
        _split_load_prolong_from(src, sr, f, r, S, slot, e, erow)
    else:
        _split_load_from(src, sr, f, r, S, slot)


@njit(**_JIT)
def _block(u, f, cst, nsweeps, c1, lo, hi, snap, t, mode, e, erow, fc, restrict, want_norm, S, R):
    """The wavefront of one block ``[lo, hi)`` with its halo (see the module docstring); returns its ``||r||^2``."""
    n0, n1 = u.shape
    ns = S.shape[0]
    no = n1 // 2
    nc0 = fc.shape[0]
    H = 2 * nsweeps + 2
    a = max(0, lo - H)
    b = min(n0, hi + H)
    for slot in range(ns):
        _split_zero(S, slot)
    for q in range(2):
        zq = R[3, q]
        for m in range(zq.shape[0]):
            zq[m] = 0.0
    zr = R[3]
    if a > 0:  # the row below the window: held fixed
        _load_any(u, f, a - 1, S, mode, e, erow, lo, hi, snap, t, H)
    _load_any(u, f, a, S, mode, e, erow, lo, hi, snap, t, H)
    acc = 0.0
    for i in range(a, b + 2 * nsweeps):
        r = i + 1
        if r < b or (r == b and b < n0):
            _load_any(u, f, r, S, mode, e, erow, lo, hi, snap, t, H)
        elif r == b:
            _split_zero(S, r % ns)
        for s in range(nsweeps):
            r1 = i - 2 * s
            par = (r1 + c1) % 2
            if a <= r1 < b:
                _split_gs(S, (r1 - 1) % ns, r1 % ns, (r1 + 1) % ns, par, r1 == 0 or r1 == n0 - 1, cst, n1)
            r2 = r1 - 1
            if a <= r2 < b:
                _split_gs(S, (r2 - 1) % ns, r2 % ns, (r2 + 1) % ns, par, r2 == 0 or r2 == n0 - 1, cst, n1)
        rf = i - 2 * nsweeps + 1
        if lo <= rf < hi:
            _split_store(u, rf, S, rf % ns)
        rr = i - 2 * nsweeps
        if restrict:
            if max(0, lo - 1) <= rr < min(n0, hi + 1):
                _split_res(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, rr == 0 or rr == n0 - 1, cst, n1, R[rr % 3])
                c = rr - 1
                if lo <= c < hi and c >= 1 and (c - 1) % 2 == 0 and (c - 1) // 2 < nc0:
                    _fw_split(R[(c - 1) % 3], R[c % 3], R[rr % 3], fc[(c - 1) // 2])
                if lo <= rr < hi and rr == n0 - 1 and (rr - 1) % 2 == 0 and (rr - 1) // 2 < nc0:
                    ra = R[(rr - 1) % 3] if rr >= 1 else zr
                    _fw_split(ra, R[rr % 3], zr, fc[(rr - 1) // 2])
        elif want_norm and lo <= rr < hi:
            _split_res(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, rr == 0 or rr == n0 - 1, cst, n1, R[0])
            acc += _ssq(R[0, 0, : n1 - no]) + _ssq(R[0, 1, :no])
    return acc


@njit(**_PJIT)
def split2_par(u, f, cst, nsweeps, red_first, mode, e, erow, fc, restrict, want_norm, S, R, snap, cuts):
    """``nsweeps`` red-black sweeps of ``u`` (data ``f``) on ``T = len(cuts) - 1`` row blocks in parallel.

    Bitwise the serial kernel of the same ``mode`` (module docstring):
    mode 0 / ``restrict`` = :func:`~mgcore.sparse._kernels.rbgs2_restrict_split`,
    mode 0 = :func:`~mgcore.sparse._kernels.rbgs2_split`, mode 1 (red first,
    ``u`` only written) = :func:`~mgcore.sparse._kernels.split_pre_zero`,
    mode 2 = :func:`~mgcore.sparse._kernels.rbgs2_split_prolong` (coarse
    correction ``e``).  Per-thread scratch: ``S`` ``(T, 2 nsweeps + 3, 4,
    (n1 + 1) // 2)``, ``R`` ``(T, 4, 2, (n1 + 1) // 2)``, ``erow`` ``(T,
    nc1 + 2)``; ``snap`` ``(T - 1, 2 H + 2, n1)`` (the halo rows around each
    cut, ``H = 2 nsweeps + 2``).  Returns ``||f - A u||^2`` with
    ``want_norm`` (else 0).
    """
    n0 = u.shape[0]
    T = cuts.shape[0] - 1
    H = 2 * nsweeps + 2
    c1 = 0 if red_first else 1
    if mode != 1:
        for k in range(1, T):
            s0 = cuts[k] - H - 1
            for q in range(2 * H + 2):
                rq = s0 + q
                if 0 <= rq < n0:
                    snap[k - 1, q, :] = u[rq, :]
    acc = np.zeros(T)
    for t in prange(T):
        acc[t] = _block(u, f, cst, nsweeps, c1, cuts[t], cuts[t + 1], snap, t, mode, e, erow[t], fc, restrict,
                        want_norm, S[t], R[t])
    return acc.sum()


# ---------------------------------------------------------------------------
# 3D: blocks of planes (the ring of colour-split planes of
# mgcore.sparse._split3_kernels, halos of H planes)
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _load3_any(u, f, r, S, mode, e, eplane, lo, hi, snap, t, H):
    """Load plane ``r`` into its ring slot: own planes from ``u``, the neighbours' from their snapshots."""
    slot = r % S.shape[0]
    if mode == 1:
        _s3_load_f(f, r, S, slot)
        return
    if lo <= r < hi:
        src, si = u, r
    elif r < lo:
        src, si = snap[t - 1], r - (lo - H - 1)
    else:
        src, si = snap[t], r - (hi - H - 1)
    if mode == 2:
        _s3_load_prolong_from(src, si, f, r, S, slot, e, eplane)
    else:
        _s3_load_from(src, si, f, r, S, slot)


@njit(**_JIT)
def _block3(u, f, cst, nsweeps, c1, lo, hi, snap, t, mode, e, eplane, fc, restrict, want_norm, S, R3, Tw):
    """The 3D wavefront of one block of planes ``[lo, hi)`` with its halo; returns its ``||r||^2``."""
    n0, n1, n2 = f.shape
    ns = S.shape[0]
    H = 2 * nsweeps + 2
    a = max(0, lo - H)
    b = min(n0, hi + H)
    _s3_zero_all(S)
    if a > 0:
        _load3_any(u, f, a - 1, S, mode, e, eplane, lo, hi, snap, t, H)
    _load3_any(u, f, a, S, mode, e, eplane, lo, hi, snap, t, H)
    acc = 0.0
    for i in range(a, b + 2 * nsweeps):
        r = i + 1
        if r < b or (r == b and b < n0):
            _load3_any(u, f, r, S, mode, e, eplane, lo, hi, snap, t, H)
        elif r == b:
            _s3_zero(S, r % ns)
        for s in range(nsweeps):
            r1 = i - 2 * s
            if a <= r1 < b:
                _s3_gs_plane(S, (r1 - 1) % ns, r1 % ns, (r1 + 1) % ns, r1, c1, n0, n1, n2, cst)
            r2 = r1 - 1
            if a <= r2 < b:
                _s3_gs_plane(S, (r2 - 1) % ns, r2 % ns, (r2 + 1) % ns, r2, 1 - c1, n0, n1, n2, cst)
        rf = i - 2 * nsweeps + 1
        if lo <= rf < hi:
            _s3_store(u, rf, S, rf % ns)
        rr = i - 2 * nsweeps
        if restrict:
            if max(0, lo - 1) <= rr < min(n0, hi + 1):
                _s3_res_plane(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, cst, n1, n2, R3[rr % 3])
                # coarse plane I is centred on fine plane 2 I + 1 and needs planes 2 I .. 2 I + 2 = rr
                if rr >= 2 and rr % 2 == 0 and (rr - 2) // 2 < fc.shape[0] and lo <= rr - 1 < hi:
                    _s3_restrict(R3[(rr - 2) % 3], R3[(rr - 1) % 3], R3[rr % 3], fc[(rr - 2) // 2], Tw)
        elif want_norm and lo <= rr < hi:
            _s3_res_plane(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, cst, n1, n2, R3[0])
            acc += _s3_ssq_plane(R3[0], n2)
    return acc


@njit(**_PJIT)
def split3_par(u, f, cst, nsweeps, red_first, mode, e, eplane, fc, restrict, want_norm, S, R3, Tw, snap, cuts):
    """The 3D counterpart of :func:`split2_par` on blocks of planes (bitwise the serial kernels of
    :mod:`mgcore.sparse._split3_kernels`: mode 0 / ``restrict`` = ``rbgs3_restrict_split``, mode 0 =
    ``rbgs3_split``, mode 1 = ``split3_pre_zero``, mode 2 = ``rbgs3_split_prolong``).

    Per-thread scratch: ``S`` ``(T, 2 nsweeps + 3, n1 + 2, 4, na)``, ``R3``
    ``(T, 3, n1, 2, na)``, ``Tw`` ``(T, 4, 2, na)``, ``eplane`` ``(T, nc1 + 2,
    nc2 + 2)``; ``snap`` ``(T - 1, 2 H + 2, n1, n2)``.
    """
    n0 = f.shape[0]
    T = cuts.shape[0] - 1
    H = 2 * nsweeps + 2
    c1 = 0 if red_first else 1
    if mode != 1:
        for k in range(1, T):
            s0 = cuts[k] - H - 1
            for q in range(2 * H + 2):
                rq = s0 + q
                if 0 <= rq < n0:
                    snap[k - 1, q] = u[rq]
    acc = np.zeros(T)
    for t in prange(T):
        acc[t] = _block3(u, f, cst, nsweeps, c1, cuts[t], cuts[t + 1], snap, t, mode, e, eplane[t], fc, restrict,
                         want_norm, S[t], R3[t], Tw[t])
    return acc.sum()
