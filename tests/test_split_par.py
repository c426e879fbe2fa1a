"""Threaded colour-split red-black kernels (row blocks with halos) against the serial wavefront kernels.

Every mode must give bitwise the serial iterate, restriction and (to rounding)
residual norm, for odd and even sizes, 2 and 3 blocks, float64 and float32;
and a threaded solver must take the same cycles to the same iterates.
"""

from __future__ import annotations

import numpy as np
import pytest

from mgcore import _ckernels
from mgcore.cycles import cycle
from mgcore.hierarchy import Hierarchy
from mgcore.problems.grid import GridProblem
from mgcore.sparse import MultigridSolver
from mgcore.sparse import _kernels as K
from mgcore.sparse import _split_par_kernels as KP
from mgcore.sparse.structured import build_structured_levels

SHAPES = [(127, 127), (100, 127), (101, 64), (96, 33), (255, 40)]


def _cst(dtype, cx=1.3, cy=0.7):
    d = 2 * (cx + cy)
    return np.array([cx, cy, d, 1.0 / d], dtype=dtype)


def _serial_ring(n1, nu, dtype):
    ne = (n1 + 1) // 2
    return np.zeros((2 * nu + 3, 4, ne), dtype=dtype), np.zeros((4, 2, ne), dtype=dtype)


def _par_scratch(n0, n1, nu, T, dtype, nc1=1):
    ne = (n1 + 1) // 2
    H = KP.halo_rows(nu)
    cuts = np.array([(t * n0) // T for t in range(T + 1)], dtype=np.int64)
    return (np.zeros((T, 4, 2, ne), dtype=dtype), np.zeros((T, 2 * nu + 3, 4, ne), dtype=dtype),
            np.zeros((T - 1, 2 * H + 2, n1), dtype=dtype), cuts, np.zeros((T, nc1 + 2), dtype=dtype))


def _args(n0, n1, dtype, seed):
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n0, n1)).astype(dtype)
    f = rng.standard_normal((n0, n1)).astype(dtype)
    return u, f


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("T", [2, 3])
@pytest.mark.parametrize("nu", [1, 2, 3])
def test_restrict_and_zero_start_bitwise(shape, T, nu, dtype):
    n0, n1 = shape
    cst = _cst(dtype)
    nc = ((n0 - 1) // 2, (n1 - 1) // 2)
    one = np.zeros(1, dtype=dtype)
    for mode in (0, 1):
        u, f = _args(n0, n1, dtype, 1 + mode)
        fc_s = np.full(nc, 7.0, dtype=dtype)
        u_s = u.copy()
        S, R = _serial_ring(n1, nu, dtype)
        if mode == 0:
            K.rbgs2_restrict_split(u_s, f, one, one, cst, True, nu, True, one, fc_s, 1, np.zeros((4, n1 + 2), dtype),
                                   S, R)
        else:
            K.split_pre_zero(u_s, f, cst, nu, fc_s, S, R)
        R2, S2, snap, cuts, erow = _par_scratch(n0, n1, nu, T, dtype)
        u_p = u.copy() if mode == 0 else np.full_like(u, np.nan)  # mode 1 must not read u
        fc_p = np.full(nc, 7.0, dtype=dtype)
        KP.split2_par(u_p, f, cst, nu, True, mode, np.zeros((1, 1), dtype), erow, fc_p, True, False, S2, R2, snap,
                      cuts)
        np.testing.assert_array_equal(u_p, u_s)
        np.testing.assert_array_equal(fc_p, fc_s)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(127, 127), (101, 63), (63, 255)])
@pytest.mark.parametrize("T", [2, 3])
@pytest.mark.parametrize("nu", [1, 2])
@pytest.mark.parametrize("red_first", [True, False])
def test_smooth_and_prolong_bitwise(shape, T, nu, dtype, red_first):
    n0, n1 = shape
    cst = _cst(dtype)
    nc = ((n0 - 1) // 2, (n1 - 1) // 2)
    one = np.zeros(1, dtype=dtype)
    e = np.random.default_rng(5).standard_normal(nc).astype(dtype)
    for mode in (0, 2):
        u, f = _args(n0, n1, dtype, 3)
        u_s = u.copy()
        S, R = _serial_ring(n1, nu, dtype)
        if mode == 0:
            ssq = K.rbgs2_split(u_s, f, one, one, cst, True, nu, red_first, one, np.zeros(n1, dtype), True, S, R)
        else:
            ssq = K.rbgs2_split_prolong(u_s, f, cst, nu, red_first, e, np.zeros(nc[1] + 2, dtype), True, S, R)
        R2, S2, snap, cuts, erow = _par_scratch(n0, n1, nu, T, dtype, nc[1])
        u_p = u.copy()
        ee = e if mode == 2 else np.zeros((1, 1), dtype)
        ssq_p = KP.split2_par(u_p, f, cst, nu, red_first, mode, ee, erow, np.zeros((1, 1), dtype), False, True, S2,
                              R2, snap, cuts)
        np.testing.assert_array_equal(u_p, u_s)
        assert ssq_p == pytest.approx(ssq, rel=1e-5 if dtype == np.float32 else 1e-12)


def test_block_cuts_need_enough_rows():
    assert KP.block_cuts(1023, 2, 2).tolist() == [0, 511, 1023]
    assert KP.block_cuts(40, 2, 2) is None  # fewer than 4 halos per block: the serial kernels
    assert KP.block_cuts(1023, 1, 2) is None


@pytest.mark.parametrize("shape", [(255, 255), (127, 200)])
def test_threaded_solver_same_iterates(shape):
    p = GridProblem(shape)
    b = p.rhs()
    runs = [MultigridSolver(p, threads=t, precision="float64").solve(b, rtol=1e-10) for t in (1, 2)]
    assert runs[0].iterations == runs[1].iterations
    np.testing.assert_array_equal(runs[1].x, runs[0].x)
    np.testing.assert_allclose(runs[1].residuals, runs[0].residuals, rtol=1e-10)


def test_threaded_levels_use_blocked_kernels():
    p = GridProblem((255, 255))
    levels = build_structured_levels(p, p.levels(), threads=2)
    sm = levels[0].smoother_impl
    assert sm.par_ring(2) is not None and sm.split_ring(2) is None and sm.fusable(2) and sm.fusable_post(2)
    small = levels[-2].smoother_impl  # too few rows per thread: the serial colour-split kernels
    assert small.par_ring(2) is None
    b = np.random.default_rng(0).standard_normal(p.shape)
    h2 = Hierarchy(levels)
    h1 = Hierarchy(build_structured_levels(p, p.levels(), threads=1))
    u1 = u2 = None
    for _ in range(2):
        u1 = cycle(h1, b, u1)
        u2 = cycle(h2, b, u2)
    np.testing.assert_array_equal(np.asarray(u2), np.asarray(u1))


SHAPES3 = [(99, 31, 33), (97, 17, 21), (75, 63, 63)]  # at least 4 halos per block


def _par3_scratch(shape, nu, T, dtype, nc=(1, 1)):
    from mgcore.sparse._split3_kernels import padded_length

    n0, n1, n2 = shape
    na = padded_length(n2)
    H = KP.halo_rows(nu)
    cuts = np.array([(t * n0) // T for t in range(T + 1)], dtype=np.int64)
    return (np.zeros((T, 2 * nu + 3, n1 + 2, 4, na), dtype=dtype), np.zeros((T, 3, n1, 2, na), dtype=dtype),
            np.zeros((T, 4, 2, na), dtype=dtype), np.zeros((T - 1, 2 * H + 2, n1, n2), dtype=dtype), cuts,
            np.zeros((T, nc[0] + 2, nc[1] + 2), dtype=dtype))


def _serial3(shape, nu, dtype):
    from mgcore.sparse._split3_kernels import padded_length

    n0, n1, n2 = shape
    na = padded_length(n2)
    return (np.zeros((2 * nu + 3, n1 + 2, 4, na), dtype=dtype), np.zeros((3, n1, 2, na), dtype=dtype),
            np.zeros((4, 2, na), dtype=dtype))


def _cst3(dtype):
    c = np.array([1.1, 0.9, 0.6])
    d = 2 * c.sum()
    return np.array([*c, d, 1.0 / d], dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", SHAPES3)
@pytest.mark.parametrize("T", [2, 3])
@pytest.mark.parametrize("nu", [1, 2])
def test_3d_all_modes_bitwise(shape, T, nu, dtype):
    n0, n1, n2 = shape
    cst = _cst3(dtype)
    nc = tuple((n - 1) // 2 for n in shape)
    rng = np.random.default_rng(7)
    u = rng.standard_normal(shape).astype(dtype)
    f = rng.standard_normal(shape).astype(dtype)
    e = rng.standard_normal(nc).astype(dtype)
    none3 = np.zeros((1, 1, 1), dtype)
    # pre-smoothing + restriction, from u and from zero
    for mode in (0, 1):
        S, R3, Tw = _serial3(shape, nu, dtype)
        u_s, fc_s = u.copy(), np.full(nc, 3.0, dtype)
        if mode == 0:
            K.rbgs3_restrict_split(u_s, f, cst, nu, True, fc_s, S, R3, Tw)
        else:
            K.split3_pre_zero(u_s, f, cst, nu, fc_s, S, R3, Tw)
        S2, R2, T2, snap, cuts, ep = _par3_scratch(shape, nu, T, dtype)
        u_p, fc_p = (u.copy() if mode == 0 else np.full_like(u, np.nan)), np.full(nc, 3.0, dtype)
        KP.split3_par(u_p, f, cst, nu, True, mode, none3, ep, fc_p, True, False, S2, R2, T2, snap, cuts)
        np.testing.assert_array_equal(u_p, u_s)
        np.testing.assert_array_equal(fc_p, fc_s)
    # smoothing and prolongation + smoothing, with the norm
    for mode, red_first in ((0, True), (2, False), (2, True)):
        S, R3, _ = _serial3(shape, nu, dtype)
        u_s = u.copy()
        if mode == 0:
            ssq = K.rbgs3_split(u_s, f, cst, nu, red_first, True, S, R3)
        else:
            ssq = K.rbgs3_split_prolong(u_s, f, cst, nu, red_first, e, np.zeros((nc[1] + 2, nc[2] + 2), dtype), True,
                                        S, R3)
        S2, R2, T2, snap, cuts, ep = _par3_scratch(shape, nu, T, dtype, nc[1:])
        u_p = u.copy()
        ssq_p = KP.split3_par(u_p, f, cst, nu, red_first, mode, e if mode == 2 else none3, ep, none3, False, True,
                              S2, R2, T2, snap, cuts)
        np.testing.assert_array_equal(u_p, u_s)
        assert ssq_p == pytest.approx(ssq, rel=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("shape,precision", [((63, 63, 63), None), ((127, 31, 31), None), ((63, 63, 63), "mixed"),
                                             ((31, 31, 31), "mixed")])
def test_threaded_solver_same_iterates_3d(shape, precision, monkeypatch):
    p = GridProblem(shape)
    b = p.rhs()
    # the serial numba kernels (a one-thread mixed solve would run on the C kernels, in another float32 order)
    monkeypatch.setenv(_ckernels.ENV_SWITCH, "0")
    _ckernels._reset()
    try:
        runs = [MultigridSolver(p, threads=t, precision=precision).solve(b, rtol=1e-9) for t in (1, 2)]
    finally:
        monkeypatch.delenv(_ckernels.ENV_SWITCH)
        _ckernels._reset()
    assert runs[0].iterations == runs[1].iterations
    np.testing.assert_allclose(runs[1].x, runs[0].x, rtol=1e-12, atol=1e-14 * np.abs(runs[0].x).max())
    np.testing.assert_allclose(runs[1].residuals, runs[0].residuals, rtol=1e-8)


def test_threaded_levels_report_their_scratch():
    from mgcore.sparse.structured import structured_memory

    p = GridProblem((255, 255))
    levels = build_structured_levels(p, p.levels(), threads=2)
    MultigridSolver(p, threads=2).solve(p.rhs(), rtol=1e-6)
    h = Hierarchy(levels)
    cycle(h, np.ones(p.shape), None)  # allocates the rings (threaded on the fine levels, serial on the small ones)
    sm = levels[0].smoother_impl
    S, R, snap, cuts = sm.par_ring(2)
    assert sm.nbytes() >= S.nbytes + R.nbytes + snap.nbytes
    assert levels[-2].smoother_impl.par_ring(2) is None and levels[-2].smoother_impl.nbytes() >= 0
    assert structured_memory(levels)["buffers_ratio"] > 1.0
