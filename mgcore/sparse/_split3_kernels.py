"""3D red-black Gauss-Seidel on colour-split planes, with fused transfers (numba).

The 3D counterpart of the colour-split row kernels of
:mod:`mgcore.sparse._kernels` (uniform-coefficient Dirichlet levels,
``off = 1``).  A colour half-sweep touches every second point of a grid row;
here every row of the planes in the wavefront of
:func:`~mgcore.sparse._kernels.rbgs3` is kept in a ring of *split* planes --
the even points (``k = 0, 2, ...``) and the odd points (``k = 1, 3, ...``) of
each row of ``u`` and ``f`` contiguous -- so that every colour update is a
unit-stride (vectorised) loop.  A plane is de-interleaved once when it
enters the wavefront and written back once when it is final.

Ring layout: ``S[slot, 1 + j, q, m]`` with ``q`` = 0/1 the even/odd points of
row ``j`` of ``u`` and 2/3 those of ``f``; rows ``0`` and ``n1 + 1`` of every
slot stay zero (the neighbours outside the grid); shape
``(2 nsweeps + 3, n1 + 2, 4, (n2 + 1) // 2)``.  Plane ``i`` lives in slot
``i % (2 nsweeps + 3)``; planes ``-1`` and ``n0`` are zero planes.

The arithmetic, including the operand order at the row ends of the rows on
the grid boundary, is that of :func:`~mgcore.sparse._kernels._gs_int3`,
:func:`~mgcore.sparse._kernels._gs_row3` and
:func:`~mgcore.sparse._kernels._res_row3`, and the transfers repeat
:func:`~mgcore.sparse._kernels.restrict_residual3` and
:func:`~mgcore.sparse._kernels.prolong_add3` operation by operation, so the
iterates and the restricted residuals are bitwise those of the stride-2
kernels (fused norms are summed in another order: equal to round-off).

The kernels:

* :func:`rbgs3_split` -- ``nsweeps`` sweeps (and the fused residual norm);
* :func:`rbgs3_restrict_split` -- pre-smoothing and ``fc = R(f - A u)``;
* :func:`rbgs3_split_prolong` -- ``u += P e`` and post-smoothing;
* :func:`split3_pre_zero`, :func:`split3_post_update`, :func:`residual_cast3`
  -- the two passes of a mixed-precision refinement step
  (:mod:`mgcore.sparse.structured.mixed`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from ._kernels import _JIT, _U1, _U2, _res_row3, _ssq

__all__ = [
    "rbgs3_split",
    "rbgs3_restrict_split",
    "rbgs3_split_prolong",
    "split3_pre_zero",
    "split3_post_update",
    "residual_cast3",
]


# ---------------------------------------------------------------------------
# ring loads and stores
#
# Rows of 3D grids are short (127 points on a 127^3 grid): every helper below
# indexes the arrays directly with unsigned indices instead of taking per-row
# views, whose reference counting would cost more than the row's arithmetic.
# ---------------------------------------------------------------------------


@njit(**_JIT)
def _s3_zero_all(S):
    """Every slot zero (pad rows included)."""
    y = S.reshape(-1)
    for p in range(y.shape[0]):
        y[p] = 0.0


@njit(**_JIT)
def _s3_zero(S, slot):
    """Slot ``slot`` as a zero plane (outside the grid): the iterate rows zero."""
    n1 = np.uint64(S.shape[1] - 2)
    ne = np.uint64(S.shape[3])
    sl = np.uint64(slot)
    for j in range(_U1, n1 + _U1):
        for m in range(np.uint64(0), ne):
            S[sl, j, 0, m] = 0.0
            S[sl, j, 1, m] = 0.0


@njit(**_JIT)
def _s3_load(u, f, i, S, slot):
    """Plane ``i`` of ``u`` and ``f`` into slot ``slot`` (de-interleaved rows)."""
    _s3_load_from(u, i, f, i, S, slot)


@njit(**_JIT)
def _s3_load_from(u, ui, f, i, S, slot):
    """Plane ``ui`` of ``u`` and plane ``i`` of ``f`` into slot ``slot`` (``u`` may be a snapshot of some planes)."""
    n1, n2 = f.shape[1], f.shape[2]
    no = np.uint64(n2 // 2)
    o = _U1
    I = np.uint64(i)
    UI = np.uint64(ui)
    sl = np.uint64(slot)
    L = np.uint64(n2 - 1)
    for j in range(np.uint64(0), np.uint64(n1)):
        jp = j + o
        for m in range(np.uint64(0), no):
            S[sl, jp, 0, m] = u[UI, j, _U2 * m]
            S[sl, jp, 1, m] = u[UI, j, _U2 * m + o]
        for m in range(np.uint64(0), no):
            S[sl, jp, 2, m] = f[I, j, _U2 * m]
            S[sl, jp, 3, m] = f[I, j, _U2 * m + o]
        if n2 % 2 == 1:
            S[sl, jp, 0, no] = u[UI, j, L]
            S[sl, jp, 2, no] = f[I, j, L]


@njit(**_JIT)
def _s3_load_f(f, i, S, slot):
    """Slot ``slot`` := (zero iterate, plane ``i`` of ``f``): a cycle from zero."""
    n1, n2 = f.shape[1], f.shape[2]
    no = np.uint64(n2 // 2)
    ne = np.uint64(S.shape[3])
    o = _U1
    I = np.uint64(i)
    sl = np.uint64(slot)
    L = np.uint64(n2 - 1)
    for j in range(np.uint64(0), np.uint64(n1)):
        jp = j + o
        for m in range(np.uint64(0), ne):
            S[sl, jp, 0, m] = 0.0
            S[sl, jp, 1, m] = 0.0
        for m in range(np.uint64(0), no):
            S[sl, jp, 2, m] = f[I, j, _U2 * m]
            S[sl, jp, 3, m] = f[I, j, _U2 * m + o]
        if n2 % 2 == 1:
            S[sl, jp, 2, no] = f[I, j, L]


@njit(**_JIT)
def _s3_coarse_plane(e, i, eplane):
    """:func:`_coarse_plane` (``off = 1``; the same arithmetic) without per-row views."""
    nc0, nc1, nc2 = e.shape
    A = np.uint64(nc1 + 2)
    B = np.uint64(nc2 + 2)
    z = np.uint64(0)
    o = _U1
    for j in range(z, A):
        eplane[j, z] = 0.0
        eplane[j, B - o] = 0.0
    for k in range(z, B):
        eplane[z, k] = 0.0
        eplane[A - o, k] = 0.0
    n1 = np.uint64(nc1)
    n2 = np.uint64(nc2)
    if (i - 1) % 2 == 0:
        I = np.uint64((i - 1) // 2)
        for J in range(z, n1):
            for K in range(z, n2):
                eplane[J + o, K + o] = e[I, J, K]
    else:
        I0 = (i - 2) // 2
        I1 = I0 + 1
        if I0 >= 0 and I1 < nc0:
            P = np.uint64(I0)
            Q = np.uint64(I1)
            for J in range(z, n1):
                for K in range(z, n2):
                    eplane[J + o, K + o] = 0.5 * e[P, J, K] + 0.5 * e[Q, J, K]
        elif I0 >= 0:
            P = np.uint64(I0)
            for J in range(z, n1):
                for K in range(z, n2):
                    eplane[J + o, K + o] = 0.5 * e[P, J, K]
        else:
            Q = np.uint64(I1)
            for J in range(z, n1):
                for K in range(z, n2):
                    eplane[J + o, K + o] = 0.5 * e[Q, J, K]


@njit(**_JIT)
def _s3_load_prolong(u, f, i, S, slot, e, eplane):
    """Slot ``slot`` := plane ``i`` of ``u + P e`` and of ``f`` (``off = 1``).

    ``eplane``: ``(nc1 + 2, nc2 + 2)`` scratch holding the coarse correction
    interpolated along axis 0 (the arithmetic of :func:`_coarse_plane`); the
    rows follow :func:`_prolong_plane_add` (a fine row between two coarse
    rows gets the two halves added one after the other, each rounded to the
    dtype), so ``u`` is bitwise that of :func:`prolong_add3`."""
    _s3_load_prolong_from(u, i, f, i, S, slot, e, eplane)


@njit(**_JIT)
def _s3_load_prolong_from(u, ui, f, i, S, slot, e, eplane):
    """:func:`_s3_load_prolong` with the iterate's plane ``ui`` of ``u`` (``u`` may be a snapshot of some planes)."""
    n1, n2 = f.shape[1], f.shape[2]
    _s3_coarse_plane(e, i, eplane)
    no = np.uint64(n2 // 2)
    o = _U1
    I = np.uint64(ui)
    IF = np.uint64(i)
    sl = np.uint64(slot)
    L = np.uint64(n2 - 1)
    odd_n = n2 % 2 == 1
    for jj in range(n1):
        j = np.uint64(jj)
        jp = j + o
        if jj % 2 == 1:
            a = np.uint64((jj - 1) // 2 + 1)
            wa = 1.0
            h = 0.5 * wa
            for m in range(np.uint64(0), no):
                S[sl, jp, 1, m] = u[I, j, _U2 * m + o] + wa * eplane[a, m + o]
                S[sl, jp, 0, m] = u[I, j, _U2 * m] + h * (eplane[a, m] + eplane[a, m + o])
            if odd_n:
                S[sl, jp, 0, no] = u[I, j, L] + h * (eplane[a, no] + eplane[a, no + o])
        else:
            a = np.uint64((jj - 2) // 2 + 1)  # m0 + 1 (the row above; 0 = the zero pad for j = 0)
            b = a + o
            wa = 0.5
            h = 0.5 * wa
            for m in range(np.uint64(0), no):
                S[sl, jp, 1, m] = u[I, j, _U2 * m + o] + wa * eplane[a, m + o]
                S[sl, jp, 0, m] = u[I, j, _U2 * m] + h * (eplane[a, m] + eplane[a, m + o])
            if odd_n:
                S[sl, jp, 0, no] = u[I, j, L] + h * (eplane[a, no] + eplane[a, no + o])
            for m in range(np.uint64(0), no):
                S[sl, jp, 1, m] = S[sl, jp, 1, m] + wa * eplane[b, m + o]
                S[sl, jp, 0, m] = S[sl, jp, 0, m] + h * (eplane[b, m] + eplane[b, m + o])
            if odd_n:
                S[sl, jp, 0, no] = S[sl, jp, 0, no] + h * (eplane[b, no] + eplane[b, no + o])
        for m in range(np.uint64(0), no):
            S[sl, jp, 2, m] = f[IF, j, _U2 * m]
            S[sl, jp, 3, m] = f[IF, j, _U2 * m + o]
        if odd_n:
            S[sl, jp, 2, no] = f[IF, j, L]


@njit(**_JIT)
def _s3_store(u, i, S, slot):
    """Slot ``slot`` back into plane ``i`` of ``u`` (interleaved)."""
    n1, n2 = u.shape[1], u.shape[2]
    no = np.uint64(n2 // 2)
    o = _U1
    I = np.uint64(i)
    sl = np.uint64(slot)
    L = np.uint64(n2 - 1)
    for j in range(np.uint64(0), np.uint64(n1)):
        jp = j + o
        for m in range(np.uint64(0), no):
            u[I, j, _U2 * m] = S[sl, jp, 0, m]
            u[I, j, _U2 * m + o] = S[sl, jp, 1, m]
        if n2 % 2 == 1:
            u[I, j, L] = S[sl, jp, 0, no]


@njit(**_JIT)
def _s3_store_add(x, i, S, slot):
    """``x[i] +=`` the iterate in slot ``slot`` (``x`` may be of a wider dtype)."""
    n1, n2 = x.shape[1], x.shape[2]
    no = np.uint64(n2 // 2)
    o = _U1
    I = np.uint64(i)
    sl = np.uint64(slot)
    L = np.uint64(n2 - 1)
    for j in range(np.uint64(0), np.uint64(n1)):
        jp = j + o
        for m in range(np.uint64(0), no):
            x[I, j, _U2 * m] += S[sl, jp, 0, m]
            x[I, j, _U2 * m + o] += S[sl, jp, 1, m]
        if n2 % 2 == 1:
            x[I, j, L] += S[sl, jp, 0, no]


# ---------------------------------------------------------------------------
# colour updates and residuals of split rows
# ---------------------------------------------------------------------------


#: Middle loops run a multiple of this many iterations when the ring has the
#: room (see :func:`_vstop`): rows of 3D grids are short, and the scalar
#: remainder of a vectorised loop over 62 or 63 points would cost about as
#: much as its vector part.  The extra points are computed into padding
#: entries that nothing reads; the row ends are computed after the loop.
VCHUNK = 32


@njit(**_JIT)
def _vstop(m0, m1, room):
    """End of a middle loop from ``m0`` that must reach ``m1``: rounded up to
    :data:`VCHUNK` iterations where ``room`` (the largest admissible end) allows."""
    stop = m0 + ((m1 - m0 + VCHUNK - 1) // VCHUNK) * VCHUNK
    return stop if stop <= room else m1


def padded_length(n2: int) -> int:
    """Entries per split row for which the middle loops run whole multiples of :data:`VCHUNK`."""
    ne = (n2 + 1) // 2
    return -(-ne // VCHUNK) * VCHUNK + 1


@njit(**_JIT)
def _s3_gs_row(S, sm, sc, sp, jp, par, edge, cst, n2):
    """Update the points of parity ``par`` of the row with padded index ``jp``
    of plane slot ``sc`` (neighbour planes ``sm``, ``sp``; neighbour rows
    ``jp -+ 1``); ``edge``: the row lies on the grid boundary (operand order
    of :func:`_pc3` at the row ends)."""
    cx, cy, cz, inv = cst[0], cst[1], cst[2], cst[4]
    no = n2 // 2
    ne = n2 - no
    odd_n = n2 % 2 == 1
    p = np.uint64(par)
    q = np.uint64(1 - par)
    g = np.uint64(2 + par)
    o = _U1
    SC = np.uint64(sc)
    SM = np.uint64(sm)
    SP = np.uint64(sp)
    J = np.uint64(jp)
    Jm = J - o
    Jp = J + o
    if par == 0:
        m0 = 1
        m1 = ne - 1 if odd_n else ne
    else:
        m0 = 0
        m1 = no if odd_n else no - 1
    # the loop reads N[m + par] and writes T[m]: it may end at S.shape[3] - par
    for m in range(np.uint64(m0), np.uint64(_vstop(m0, m1, S.shape[3] - par))):
        S[SC, J, p, m] = (
            S[SC, J, g, m] + cx * (S[SM, J, p, m] + S[SP, J, p, m]) + cy * (S[SC, Jm, p, m] + S[SC, Jp, p, m])
            + cz * (S[SC, J, q, m + p - o] + S[SC, J, q, m + p])
        ) * inv
    z = np.uint64(0)
    if par == 0:
        if edge:
            t = 0.0
            if n2 > 1:
                t += S[SC, J, q, z]
            S[SC, J, p, z] = (
                S[SC, J, g, z] + (cx * (S[SM, J, p, z] + S[SP, J, p, z]) + cy * (S[SC, Jm, p, z] + S[SC, Jp, p, z]) + cz * t)
            ) * inv
        else:
            t = S[SC, J, q, z] if n2 > 1 else 0.0
            S[SC, J, p, z] = (
                S[SC, J, g, z] + cx * (S[SM, J, p, z] + S[SP, J, p, z]) + cy * (S[SC, Jm, p, z] + S[SC, Jp, p, z]) + cz * t
            ) * inv
    if (n2 - 1) % 2 == par and n2 > 1:
        mL = np.uint64(m1)
        left = S[SC, J, q, np.uint64((n2 - 2) // 2)]
        if edge:
            t = 0.0
            t += left
            S[SC, J, p, mL] = (
                S[SC, J, g, mL]
                + (cx * (S[SM, J, p, mL] + S[SP, J, p, mL]) + cy * (S[SC, Jm, p, mL] + S[SC, Jp, p, mL]) + cz * t)
            ) * inv
        else:
            S[SC, J, p, mL] = (
                S[SC, J, g, mL] + cx * (S[SM, J, p, mL] + S[SP, J, p, mL]) + cy * (S[SC, Jm, p, mL] + S[SC, Jp, p, mL])
                + cz * left
            ) * inv


@njit(**_JIT)
def _s3_gs_plane(S, sm, sc, sp, i, colour, n0, n1, n2, cst):
    """Colour ``colour`` (parity of ``i + j + k``) on plane ``i`` (slot ``sc``)."""
    edge_plane = i == 0 or i == n0 - 1
    for j in range(n1):
        par = (i + j + colour) % 2
        if par < n2:
            _s3_gs_row(S, sm, sc, sp, j + 1, par, edge_plane or j == 0 or j == n1 - 1, cst, n2)


@njit(**_JIT)
def _s3_sweeps(S, cst, nsweeps, c1, i, n0, n1, n2):
    """The half-sweeps of :func:`rbgs3` at wavefront step ``i`` on the ring ``S``."""
    ns = S.shape[0]
    for s in range(nsweeps):
        r1 = i - 2 * s
        if 0 <= r1 < n0:
            _s3_gs_plane(S, (r1 - 1) % ns, r1 % ns, (r1 + 1) % ns, r1, c1, n0, n1, n2, cst)
        r2 = r1 - 1
        if 0 <= r2 < n0:
            _s3_gs_plane(S, (r2 - 1) % ns, r2 % ns, (r2 + 1) % ns, r2, 1 - c1, n0, n1, n2, cst)


@njit(**_JIT)
def _s3_res_row(S, sm, sc, sp, jp, cst, n2, Rp, jr):
    """Residual ``f - A u`` of the row ``jp`` of slot ``sc`` in split form into
    ``Rp[jr, 0]`` (even points) and ``Rp[jr, 1]`` (odd points), with the
    operand order of :func:`_res_row3`."""
    cx, cy, cz, dd = cst[0], cst[1], cst[2], cst[3]
    no = n2 // 2
    ne = n2 - no
    odd_n = n2 % 2 == 1
    o = _U1
    z = np.uint64(0)
    SC = np.uint64(sc)
    SM = np.uint64(sm)
    SP = np.uint64(sp)
    J = np.uint64(jp)
    Jm = J - o
    Jp = J + o
    R = np.uint64(jr)
    mE = ne - 1 if odd_n else ne
    mO = no if odd_n else no - 1
    room = min(S.shape[3], Rp.shape[2])
    for m in range(o, np.uint64(_vstop(1, mE, room))):  # reads O[m]
        Rp[R, z, m] = (
            S[SC, J, 2, m] - dd * S[SC, J, 0, m] + cx * (S[SM, J, 0, m] + S[SP, J, 0, m])
            + cy * (S[SC, Jm, 0, m] + S[SC, Jp, 0, m]) + cz * (S[SC, J, 1, m - o] + S[SC, J, 1, m])
        )
    for m in range(z, np.uint64(_vstop(0, mO, room - 1))):  # reads E[m + 1]
        Rp[R, o, m] = (
            S[SC, J, 3, m] - dd * S[SC, J, 1, m] + cx * (S[SM, J, 1, m] + S[SP, J, 1, m])
            + cy * (S[SC, Jm, 1, m] + S[SC, Jp, 1, m]) + cz * (S[SC, J, 0, m] + S[SC, J, 0, m + o])
        )
    # k = 0 (neighbour k = 1) and k = n2 - 1 (neighbour k = n2 - 2): t accumulated as in _res_row3
    t = 0.0
    t += S[SC, J, 1, z]
    Rp[R, z, z] = S[SC, J, 2, z] - (
        dd * S[SC, J, 0, z] - (cx * (S[SM, J, 0, z] + S[SP, J, 0, z]) + cy * (S[SC, Jm, 0, z] + S[SC, Jp, 0, z]) + cz * t)
    )
    left = np.uint64((n2 - 2) // 2)
    if odd_n:
        mL = np.uint64(ne - 1)
        t = 0.0
        t += S[SC, J, 1, left]
        Rp[R, z, mL] = S[SC, J, 2, mL] - (
            dd * S[SC, J, 0, mL]
            - (cx * (S[SM, J, 0, mL] + S[SP, J, 0, mL]) + cy * (S[SC, Jm, 0, mL] + S[SC, Jp, 0, mL]) + cz * t)
        )
    else:
        mL = np.uint64(no - 1)
        t = 0.0
        t += S[SC, J, 0, left]
        Rp[R, o, mL] = S[SC, J, 3, mL] - (
            dd * S[SC, J, 1, mL]
            - (cx * (S[SM, J, 1, mL] + S[SP, J, 1, mL]) + cy * (S[SC, Jm, 1, mL] + S[SC, Jp, 1, mL]) + cz * t)
        )


@njit(**_JIT)
def _s3_res_plane(S, sm, sc, sp, cst, n1, n2, Rp):
    """Residual of the plane in slot ``sc`` into ``Rp[j, 0/1]`` (split rows)."""
    for j in range(n1):
        _s3_res_row(S, sm, sc, sp, j + 1, cst, n2, Rp, j)


@njit(**dict(_JIT, fastmath=True))
def _s3_ssq_plane(Rp, n2):
    """Sum of squares of a split residual plane (reassociated, vectorised)."""
    no = np.uint64(n2 // 2)
    ne = np.uint64(n2) - no
    acc = 0.0
    for j in range(np.uint64(0), np.uint64(Rp.shape[0])):
        s = 0.0
        for m in range(np.uint64(0), ne):
            v = float(Rp[j, 0, m])
            s += v * v
        for m in range(np.uint64(0), no):
            v = float(Rp[j, 1, m])
            s += v * v
        acc += s
    return acc


@njit(**_JIT)
def _s3_restrict(Pa, Pb, Pc, fcI, T):
    """:func:`_restrict_planes3` (``off = 1``; the same arithmetic) of three
    split residual planes into the coarse plane ``fcI``; ``T``: ``(4, 2, ne)`` scratch."""
    nc1, nc2 = fcI.shape
    ne = np.uint64(T.shape[2])
    o = _U1
    z = np.uint64(0)
    for JJ in range(nc1):
        J = np.uint64(JJ)
        for qq in range(3):
            qu = np.uint64(qq)
            jr = _U2 * J + qu
            for par in range(z, _U2):
                for m in range(z, ne):
                    T[qu, par, m] = 0.5 * (Pa[jr, par, m] + Pc[jr, par, m]) + Pb[jr, par, m]
        for par in range(z, _U2):
            for m in range(z, ne):
                T[np.uint64(3), par, m] = 0.5 * (T[z, par, m] + T[_U2, par, m]) + T[o, par, m]
        t3 = np.uint64(3)
        for K in range(z, np.uint64(nc2)):
            fcI[J, K] = 0.125 * (0.5 * (T[t3, z, K] + T[t3, z, K + o]) + T[t3, o, K])


# ---------------------------------------------------------------------------
# kernels
# ---------------------------------------------------------------------------


@njit(**_JIT)
def rbgs3_split(u, f, cst, nsweeps, red_first, want_norm, S, Rp):
    """:func:`rbgs3` on colour-split planes (uniform Dirichlet level; bitwise the iterate).

    Returns ``||f - A u||^2`` of the result when ``want_norm`` (summed from
    the split residual planes, ``Rp``: ``(3, n1, 2, ne)`` scratch), else 0.
    """
    n0, n1, n2 = u.shape
    c1 = 0 if red_first else 1
    ns = S.shape[0]
    acc = 0.0
    _s3_zero_all(S)
    if n0 > 0:
        _s3_load(u, f, 0, S, 0)
    steps = n0 + 2 * nsweeps - 1 + (1 if want_norm else 0)
    for i in range(steps):
        r = i + 1
        if r < n0:
            _s3_load(u, f, r, S, r % ns)
        elif r == n0:
            _s3_zero(S, r % ns)
        _s3_sweeps(S, cst, nsweeps, c1, i, n0, n1, n2)
        rf = i - 2 * nsweeps + 1
        if 0 <= rf < n0:
            _s3_store(u, rf, S, rf % ns)
        if want_norm:
            rr = i - 2 * nsweeps
            if 0 <= rr < n0:
                _s3_res_plane(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, cst, n1, n2, Rp[0])
                acc += _s3_ssq_plane(Rp[0], n2)
    return acc


@njit(**_JIT)
def _s3_restrict_step(S, cst, n0, n1, n2, rr, fc, R3, T):
    """Residual of the final plane ``rr`` into the ring ``R3``; restrict the coarse plane it completes."""
    ns = S.shape[0]
    _s3_res_plane(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, cst, n1, n2, R3[rr % 3])
    # coarse plane I is centred on fine plane 2 I + 1 and needs planes 2 I .. 2 I + 2 = rr
    if rr >= 2 and rr % 2 == 0 and (rr - 2) // 2 < fc.shape[0]:
        I = (rr - 2) // 2
        _s3_restrict(R3[(rr - 2) % 3], R3[(rr - 1) % 3], R3[rr % 3], fc[I], T)


@njit(**_JIT)
def rbgs3_restrict_split(u, f, cst, nsweeps, red_first, fc, S, R3, T):
    """:func:`rbgs3` followed by :func:`restrict_residual3` (``off = 1``) in one pass,
    on colour-split planes (bitwise the same ``u`` and ``fc``).

    ``R3``: ``(3, n1, 2, ne)`` ring of split residual planes; ``T``: ``(4, 2, ne)``.
    """
    n0, n1, n2 = u.shape
    c1 = 0 if red_first else 1
    ns = S.shape[0]
    _s3_zero_all(S)
    if n0 > 0:
        _s3_load(u, f, 0, S, 0)
    for i in range(n0 + 2 * nsweeps):
        r = i + 1
        if r < n0:
            _s3_load(u, f, r, S, r % ns)
        elif r == n0:
            _s3_zero(S, r % ns)
        _s3_sweeps(S, cst, nsweeps, c1, i, n0, n1, n2)
        rf = i - 2 * nsweeps + 1
        if 0 <= rf < n0:
            _s3_store(u, rf, S, rf % ns)
        rr = i - 2 * nsweeps
        if 0 <= rr < n0:
            _s3_restrict_step(S, cst, n0, n1, n2, rr, fc, R3, T)


@njit(**_JIT)
def split3_pre_zero(e, r, cst, nsweeps, fc, S, R3, T):
    """:func:`rbgs3_restrict_split` (red first) from ``e = 0`` without reading ``e`` (``e`` is written)."""
    n0, n1, n2 = e.shape
    ns = S.shape[0]
    _s3_zero_all(S)
    if n0 > 0:
        _s3_load_f(r, 0, S, 0)
    for i in range(n0 + 2 * nsweeps):
        rl = i + 1
        if rl < n0:
            _s3_load_f(r, rl, S, rl % ns)
        elif rl == n0:
            _s3_zero(S, rl % ns)
        _s3_sweeps(S, cst, nsweeps, 0, i, n0, n1, n2)
        rf = i - 2 * nsweeps + 1
        if 0 <= rf < n0:
            _s3_store(e, rf, S, rf % ns)
        rr = i - 2 * nsweeps
        if 0 <= rr < n0:
            _s3_restrict_step(S, cst, n0, n1, n2, rr, fc, R3, T)


@njit(**_JIT)
def rbgs3_split_prolong(u, f, cst, nsweeps, red_first, e, eplane, want_norm, S, Rp):
    """``u += P e`` (:func:`prolong_add3`, ``off = 1``) and :func:`rbgs3_split` in one pass
    (bitwise the iterate of the two kernels; the norm as :func:`rbgs3_split`)."""
    n0, n1, n2 = u.shape
    c1 = 0 if red_first else 1
    ns = S.shape[0]
    acc = 0.0
    _s3_zero_all(S)
    if n0 > 0:
        _s3_load_prolong(u, f, 0, S, 0, e, eplane)
    steps = n0 + 2 * nsweeps - 1 + (1 if want_norm else 0)
    for i in range(steps):
        r = i + 1
        if r < n0:
            _s3_load_prolong(u, f, r, S, r % ns, e, eplane)
        elif r == n0:
            _s3_zero(S, r % ns)
        _s3_sweeps(S, cst, nsweeps, c1, i, n0, n1, n2)
        rf = i - 2 * nsweeps + 1
        if 0 <= rf < n0:
            _s3_store(u, rf, S, rf % ns)
        if want_norm:
            rr = i - 2 * nsweeps
            if 0 <= rr < n0:
                _s3_res_plane(S, (rr - 1) % ns, rr % ns, (rr + 1) % ns, cst, n1, n2, Rp[0])
                acc += _s3_ssq_plane(Rp[0], n2)
    return acc


@njit(**_JIT)
def _res_cast_plane3(x, b, wx, wy, wz, cst, const, q, row, z, r):
    """Plane ``q`` of ``b - A x`` (wide, :func:`_res_row3`) into ``r[q]`` (narrow); its sum of squares."""
    acc = 0.0
    Q = np.uint64(q)
    n2 = np.uint64(row.shape[0])
    for j in range(x.shape[1]):
        _res_row3(x, b, wx, wy, wz, cst, const, q, j, row, 1, z)
        J = np.uint64(j)
        for k in range(np.uint64(0), n2):
            r[Q, J, k] = row[k]
        acc += _ssq(row)
    return acc


@njit(**_JIT)
def split3_post_update(x, b, wx, wy, wz, cst64, const, z, row, e, r, cst, nsweeps, red_first, ec, eplane, S):
    """The last pass of a 3D mixed-precision refinement step (see
    :func:`~mgcore.sparse._kernels.split_post_update`): ``e += P ec``,
    post-smoothing, ``x += e`` and ``r = b - A x`` (wide arithmetic, narrow
    store) one plane behind; returns ``||b - A x||^2`` summed as :func:`resnorm3`."""
    n0, n1, n2 = e.shape
    c1 = 0 if red_first else 1
    ns = S.shape[0]
    acc = 0.0
    _s3_zero_all(S)
    if n0 > 0:
        _s3_load_prolong(e, r, 0, S, 0, ec, eplane)
    for i in range(n0 + 2 * nsweeps):
        rl = i + 1
        if rl < n0:
            _s3_load_prolong(e, r, rl, S, rl % ns, ec, eplane)
        elif rl == n0:
            _s3_zero(S, rl % ns)
        _s3_sweeps(S, cst, nsweeps, c1, i, n0, n1, n2)
        rf = i - 2 * nsweeps + 1
        if 0 <= rf < n0:
            _s3_store_add(x, rf, S, rf % ns)
        q = rf - 1
        if 0 <= q < n0:
            acc += _res_cast_plane3(x, b, wx, wy, wz, cst64, const, q, row, z, r)
    return acc


@njit(**_JIT)
def residual_cast3(x, b, wx, wy, wz, cst, const, z, row, r):
    """``r = b - A x`` computed in the dtype of ``x``, stored in that of ``r``; returns ``||b - A x||^2``."""
    acc = 0.0
    for q in range(x.shape[0]):
        acc += _res_cast_plane3(x, b, wx, wy, wz, cst, const, q, row, z, r)
    return acc
