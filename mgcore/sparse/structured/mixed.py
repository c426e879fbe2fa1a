"""Mixed precision: float32 cycles inside a float64 residual refinement.

One step of the stationary iteration ``x <- x + C (b - A x)`` (``C``: one
multigrid cycle from a zero guess) is computed with the residual ``b - A x``
and the iterate ``x`` in float64 and the cycle ``C`` in float32 (classical
iterative refinement, e.g. Higham, *Accuracy and Stability of Numerical
Algorithms*, 2002, Sec. 12.1, with the cycle as the approximate solver).  In
exact arithmetic this is the float64 cycle; the float32 rounding only
perturbs each correction relative to its own size, so the iteration reaches
float64 tolerances with the float64 cycle count (or one more) while the cycle
moves half the bytes.

On uniform-coefficient 2D and 3D levels with red-black Gauss-Seidel on
colour-split rows (planes) the fine level's part of a step runs in two passes
over memory:

1. :func:`~mgcore.sparse._kernels.split_pre_zero` (3D:
   :func:`~mgcore.sparse._split3_kernels.split3_pre_zero`) -- pre-smoothing
   of ``A e = r`` from ``e = 0`` and the restriction ``R(r - A e)``;
2. the coarse levels (float32 structured levels, the core cycle from level 2);
3. :func:`~mgcore.sparse._kernels.split_post_update` (3D:
   :func:`~mgcore.sparse._split3_kernels.split3_post_update`) -- ``e += P e_c``,
   post-smoothing, ``x += e`` and the next residual ``r = b - A x`` (float64
   arithmetic, stored in float32) with its norm.

On constant-coefficient 2D and 3D Dirichlet problems on nested grids (red-black
V-cycles, one thread) a step runs in the C kernels instead
(:class:`mgcore._ckernels.mixed.CMixed`, ``c=``): colour-split float32 levels
and one pass over the finest level per step, which also pre-smooths the next
correction.

Elsewhere (variable coefficients, threads, other smoothers, assembled
matrices) a step is ``r = b - A x`` (float64), one float32 cycle of
:mod:`mgcore.cycles`, ``x += e``; the residual computed for the convergence
test is reused by the next step, so a step costs one float64 residual pass
plus a float32 cycle either way.
"""

from __future__ import annotations

import math
from typing import Any, Callable

import numpy as np

from ...cycles import CycleKind, cycle
from ._common import kernels, norm2

__all__ = ["MixedRefinement", "MixedNorm", "MatrixResidual", "PRECISIONS", "coarse_fmg"]

#: ``precision`` values of :class:`mgcore.sparse.MultigridSolver` (as the torch solver's).
PRECISIONS = (None, "float64", "float32", "mixed")


def _coarse_cycles(h, fc, kind: CycleKind, pre: int, post: int) -> Any:
    """The coarse-grid part of one cycle on level 1 (what :func:`mgcore.cycles.cycle` recurses into)."""
    if kind is CycleKind.V:
        return cycle(h, fc, None, CycleKind.V, pre, post, start=2)
    if kind is CycleKind.W:
        e = cycle(h, fc, None, CycleKind.W, pre, post, start=2)
        return cycle(h, fc, e, CycleKind.W, pre, post, start=2) if h.J > 2 else e
    e = cycle(h, fc, None, CycleKind.F, pre, post, start=2)
    return cycle(h, fc, e, CycleKind.V, pre, post, start=2) if h.J > 2 else e


def coarse_fmg(h, f2: Any, kind: CycleKind, pre: int, post: int) -> Any:
    """Full multigrid on levels 2..J for the level-2 data ``f2``: the level-2 iterate.

    Nested iteration as :func:`mgcore.cycles.fmg` (``f^{l+1} = R f^l``, exact
    coarsest solve, ``u^l = P u^{l+1}`` and one cycle per level), stopping
    on level 2 so that the caller interpolates to level 1 in its own
    precision and runs the level-1 cycle as an ordinary iteration.
    """
    fs = [None, f2]
    for l in range(1, h.J - 1):
        fs.append(h.levels[l].R(fs[-1]))
    u = cycle(h, fs[-1], None, kind, pre, post, start=h.J)
    for l in range(h.J - 2, 0, -1):
        u = h.levels[l].correct(None, u)
        u = cycle(h, fs[l], u, kind, pre, post, start=l + 1)
    return u


class MixedRefinement:
    """``x <- x + C_32(b - A_64 x)`` with the float64 residual reused between steps.

    Parameters
    ----------
    hierarchy : mgcore.hierarchy.Hierarchy
        The levels in the cycle precision (float32).
    residual : callable
        ``(b, x) -> b - A x`` in float64 (an array of ``b``'s shape).
    op64 : StencilOperator, optional
        The float64 fine operator of a structured hierarchy; with it the
        fused two-pass fine-level step is used where it applies.
    c : mgcore._ckernels.mixed.CMixed, optional
        The C step (V-cycles of a problem it covers); it then runs every step.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.sparse import MultigridSolver, poisson2d
    >>> p = poisson2d(n=63)
    >>> s = MultigridSolver(p, precision="mixed")
    >>> r = s.solve(p.rhs(1.0), rtol=1e-10)
    >>> r.converged, r.x.dtype.name
    (True, 'float64')
    """

    def __init__(self, hierarchy, residual: Callable[[Any, Any], Any], op64: Any = None, c: Any = None):
        self.h = hierarchy
        self.c = c
        self._pre: tuple | None = None  # (x, b) key for which the C step's next pre-smoothing is done
        self.residual_fn = residual
        self.op64 = op64
        self.cycle_dtype = np.dtype(np.float32)
        self.r: np.ndarray | None = None  # b - A x in float32, for the x and b in self._valid
        self._valid: tuple | None = None
        self._norm: float | None = None

    # ----------------------------------------------------------------- state
    @staticmethod
    def _key(b: np.ndarray, x: np.ndarray) -> tuple:
        return (x.ctypes.data, b.ctypes.data, x.shape)

    def _rbuf(self, b: np.ndarray) -> np.ndarray:
        if self.r is None or self.r.shape != b.shape:
            self.r = np.empty(b.shape, dtype=self.cycle_dtype)
        return self.r

    def invalidate(self) -> None:
        """Forget the stored residual (the iterate was changed from outside)."""
        self._valid = self._norm = self._pre = None

    def start(self, b: np.ndarray, x: np.ndarray, zero: bool) -> float | None:
        """Before a solve from ``x``; ``zero``: ``x`` is zero, so ``r = b`` and ``||r|| = ||b||``."""
        self.invalidate()
        if zero and self.c is not None:
            self._valid, self._norm = self._key(b, x), math.sqrt(self.c.residual(b, None))
            return self._norm
        if zero:
            r = self._rbuf(b)
            np.copyto(r, b, casting="same_kind")
            self._valid, self._norm = self._key(b, x), norm2(b)
            return self._norm
        return None

    def norm(self, b: np.ndarray, x: np.ndarray) -> float:
        """``||b - A x||`` (float64), computing and keeping the residual unless it is known."""
        if self._valid == self._key(b, x):
            return float(self._norm)
        return self._residual(b, x)

    def _residual(self, b: np.ndarray, x: np.ndarray) -> float:
        if self.c is not None:
            nrm = math.sqrt(self.c.residual(b, x))
            self._valid, self._norm, self._pre = self._key(b, x), nrm, None
            return nrm
        r = self._rbuf(b)
        op = self.op64
        if op is not None and not op.parallel():
            K = kernels()
            fn = K.residual_cast2 if op.dim == 2 else K.residual_cast3
            nrm = math.sqrt(fn(x, b, *op.args(), op.zero, op.row, r))
        else:
            r64 = self.residual_fn(b, x)
            nrm = norm2(r64)
            np.copyto(r, np.reshape(r64, r.shape), casting="same_kind")
        self._valid, self._norm = self._key(b, x), nrm
        return nrm

    # ------------------------------------------------------------------ step
    def fmg_step(self, kind: CycleKind, b: np.ndarray, x: np.ndarray, nu_pre: int, nu_post: int,
                 prolong_into: Callable[[np.ndarray, np.ndarray], None]) -> np.ndarray:
        """The full-multigrid first step from ``x = 0``: FMG in float32 on
        levels 2..J for ``R b``, ``x = P u_2`` (float64, by ``prolong_into(x, u_2)``),
        then one refinement step (the level-1 cycle of FMG)."""
        if self.h.J < 2:
            return self.step(kind, b, x, nu_pre, nu_post)
        if self.c is not None:  # r = b for the zero start
            r0 = np.asarray(b, dtype=self.cycle_dtype).reshape(self.h.levels[0].shape)
        else:
            if self._valid != self._key(b, x):  # r = b - A x = b for the zero start
                self._residual(b, x)
            r0 = self.r
        u2 = coarse_fmg(self.h, self.h.levels[0].R(r0), kind, nu_pre, nu_post)
        prolong_into(x, np.asarray(u2, dtype=np.float64))
        self.invalidate()
        return self.step(kind, b, x, nu_pre, nu_post)

    def fused(self, nu_pre: int, nu_post: int) -> bool:
        """Whether the two-pass fine-level step applies (see the module docstring)."""
        if self.op64 is None or self.h.J < 2 or nu_pre < 1 or nu_post < 1:
            return False
        sm = getattr(self.h.levels[0], "smoother_impl", None)
        fusable = getattr(sm, "fusable_post", None)
        return (fusable is not None and sm.fusable(nu_pre) and fusable(nu_pre) and fusable(nu_post)
                and sm.split_ring(nu_pre) is not None and sm.split_ring(nu_post) is not None)  # serial kernels

    def step(self, kind: CycleKind, b: np.ndarray, x: np.ndarray, nu_pre: int, nu_post: int) -> np.ndarray:
        """One refinement step; updates ``x`` (float64, the solve's own array) in place and returns it."""
        key = self._key(b, x)
        if self._valid != key:
            self._residual(b, x)
        if self.c is not None:
            if self._pre != key:
                self.c.pre()
            ssq = self.c.step(b, x)
            self._valid, self._norm, self._pre = key, math.sqrt(ssq), key
            return x
        r = self.r
        if self.fused(nu_pre, nu_post):
            K = kernels()
            fine = self.h.levels[0]
            sm = fine.smoother_impl
            e = fine._buffer()
            fc = fine.coarse.f
            three = sm.op.dim == 3
            (K.split3_pre_zero if three else K.split_pre_zero)(e, r, sm.op.cst, nu_pre, fc, *sm.split_ring(nu_pre))
            ec = fine.coarse._grid(_coarse_cycles(self.h, fc, kind, nu_pre, nu_post), "e")
            op = self.op64
            ebuf = fine.transfer.ebuf
            if ebuf.ndim == sm.op.dim:  # per-thread rows of a threaded transfer: this kernel is serial
                ebuf = ebuf[0]
            ssq = (K.split3_post_update if three else K.split_post_update)(
                x, b, *op.args(), op.zero, op.row, e, r, sm.op.cst, nu_post, sm.order == "red-black", ec,
                ebuf, sm.split_ring(nu_post)[0],
            )
            self._valid, self._norm = self._key(b, x), math.sqrt(ssq)
            return x
        e = cycle(self.h, r, None, kind, nu_pre, nu_post)
        x += np.reshape(e, x.shape)
        self.invalidate()
        return x


class MixedNorm:
    """``x -> ||b - A x||`` of a mixed-precision solve (the residual is kept for the next step)."""

    def __init__(self, mixed: MixedRefinement, b: np.ndarray, first: float | None = None):
        self.mixed, self.b, self.first = mixed, b, first

    def __call__(self, x: np.ndarray) -> float:
        if self.first is not None:
            v, self.first = self.first, None
            return v
        return self.mixed.norm(self.b, x)


class MatrixResidual:
    """``(b, x) -> b - A x`` for an assembled float64 matrix (picklable)."""

    def __init__(self, A: Any):
        self.A = A

    def __call__(self, b: np.ndarray, x: np.ndarray) -> np.ndarray:
        return b - self.A @ x
