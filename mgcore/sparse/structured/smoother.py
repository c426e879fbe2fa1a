"""Compiled smoothers of the structured path: red-black Gauss-Seidel, damped Jacobi, Chebyshev.

Red-black Gauss-Seidel follows the ordering defined in
:mod:`mgcore.sparse.smoothers` (pre: red then black; post: black then red,
or red first with ``order="red-black"``); Jacobi and Chebyshev are the
residual corrections of He & Xu, MgNet, 2019, eq. 3.20 and 3.23-3.24 with
``B = tau D^{-1}``.
"""

from __future__ import annotations

import math

import numpy as np

from ...iterations import chebyshev_omegas
from ...registry import RB_ORDERS
from ._common import kernels
from .operator import StencilOperator

__all__ = ["CompiledSmoother", "SPLIT_MIN"]

#: Smallest row length (last axis) of a uniform-coefficient 2D level whose
#: serial red-black Gauss-Seidel runs on colour-split rows
#: (:func:`mgcore.sparse._kernels.rbgs2_split`); shorter rows use the
#: stride-2 kernels.
SPLIT_MIN = 16


class CompiledSmoother:
    """One level's compiled smoother, working in place on iterate arrays.

    Parameters
    ----------
    op : StencilOperator
        The level operator.
    name : {"red-black", "jacobi", "chebyshev"}
    options : dict
        ``order`` (red-black), ``omega`` (Jacobi, default 4/5 in 2D, 6/7 in
        3D), ``lower``/``upper`` (Chebyshev bounds of ``spec(D^{-1} A)``,
        default ``upper = 2``, ``lower = upper / (2 d)``).
    """

    def __init__(self, op: StencilOperator, name: str, options: dict):
        self.op, self.name, self.options = op, name, dict(options)
        self._tmp: np.ndarray | None = None
        self._split: dict = {}
        if name == "red-black":
            self.order = options.get("order", "symmetric")
            if self.order not in RB_ORDERS:
                raise ValueError(f"rbgs order must be one of {RB_ORDERS}, got {self.order!r}")
        elif name == "jacobi":
            omega = options.get("omega")
            self.omega = float(4.0 / 5.0 if op.dim == 2 else 6.0 / 7.0) if omega is None else float(omega)
            if not 0 < self.omega < 2:
                raise ValueError(f"jacobi omega must be in (0, 2), got {self.omega}")
        elif name == "chebyshev":
            upper = options.get("upper")
            self.upper = 2.0 if upper is None else float(upper)
            lower = options.get("lower")
            self.lower = self.upper / (2 * op.dim) if lower is None else float(lower)
            if not 0 < self.lower < self.upper:
                raise ValueError(f"chebyshev needs 0 < lower < upper, got lower={self.lower}, upper={self.upper}")
        else:
            raise ValueError(f"smoother {name!r} has no structured kernel (supported: red-black, jacobi, chebyshev)")

    def split_ring(self, nu: int) -> tuple | None:
        """Scratch of the colour-split red-black kernels for ``nu`` sweeps
        (allocated once per ``nu``), or ``None`` when they do not apply
        (variable coefficients, short rows, threads on levels large enough
        for :meth:`par_ring`; in 3D also even sizes).

        2D: ``(ring of split rows, residual rows)``
        (:func:`mgcore.sparse._kernels.rbgs2_split`); 3D: ``(ring of split
        planes, residual planes, restriction rows)``
        (:mod:`mgcore.sparse._split3_kernels`)."""
        from . import smoother as _self  # SPLIT_MIN is read at call time (tests lower it)

        op = self.op
        g = op.grid_shape
        if not (self.name == "red-black" and op.const and g[-1] >= _self.SPLIT_MIN):
            return None
        if op.threads > 1 and self.par_ring(nu) is not None:
            return None  # threads: the blocked kernels of par_ring
        if op.dim == 3 and not all(n % 2 == 1 for n in g):
            return None
        S = self._split.get(nu)
        if S is None:
            ne = (g[-1] + 1) // 2
            dt = op.dtype
            if op.dim == 2:
                S = (np.zeros((2 * nu + 3, 4, ne), dtype=dt), np.zeros((4, 2, ne), dtype=dt))
            else:
                from .._split3_kernels import padded_length

                na = padded_length(g[-1])
                S = (np.zeros((2 * nu + 3, g[1] + 2, 4, na), dtype=dt), np.zeros((3, g[1], 2, na), dtype=dt),
                     np.zeros((4, 2, na), dtype=dt))
            self._split[nu] = S
        return S

    def par_ring(self, nu: int) -> tuple | None:
        """Scratch of the threaded colour-split kernels (:func:`mgcore.sparse._split_par_kernels.split2_par`,
        ``split3_par``) for ``nu`` sweeps on a uniform level with ``threads > 1`` and enough rows (planes) per
        thread, else ``None``: ``(ring per thread, residual rows per thread[, restriction scratch per thread],
        halo snapshots, cuts)``."""
        from . import smoother as _self

        op = self.op
        g = op.grid_shape
        if not (self.name == "red-black" and op.const and op.threads > 1 and nu > 0 and g[-1] >= _self.SPLIT_MIN):
            return None
        if op.dim == 3 and not all(n % 2 == 1 for n in g):
            return None
        key = ("par", nu)
        if key not in self._split:
            from .._split_par_kernels import block_cuts, halo_rows

            cuts = block_cuts(g[0], op.threads, nu)
            T, dt, H2 = op.threads, op.dtype, 2 * halo_rows(nu) + 2
            if cuts is None:
                self._split[key] = None
            elif op.dim == 2:
                ne = (g[-1] + 1) // 2
                self._split[key] = (np.zeros((T, 2 * nu + 3, 4, ne), dtype=dt), np.zeros((T, 4, 2, ne), dtype=dt),
                                    np.zeros((T - 1, H2, g[-1]), dtype=dt), cuts)
            else:
                from .._split3_kernels import padded_length

                na = padded_length(g[-1])
                self._split[key] = (np.zeros((T, 2 * nu + 3, g[1] + 2, 4, na), dtype=dt),
                                    np.zeros((T, 3, g[1], 2, na), dtype=dt), np.zeros((T, 4, 2, na), dtype=dt),
                                    np.zeros((T - 1, H2, g[1], g[2]), dtype=dt), cuts)
        return self._split[key]

    def _par_call(self, U, F, nu, red_first, mode, fc=None, E=None, want_norm=False) -> float:
        """One threaded pass (:func:`~mgcore.sparse._split_par_kernels.split2_par`); returns ``||F - A U||^2``."""
        from .. import _split_par_kernels as KP

        ring = self.par_ring(nu)
        cuts = ring[-1]
        self.op.parallel()  # numba's thread count
        dt, d = self.op.dtype, self.op.dim
        T = cuts.shape[0] - 1
        if E is None:
            E, erow = np.zeros((1,) * d, dtype=dt), np.zeros((T,) + (1,) * (d - 1), dtype=dt)
        else:
            key = ("erow",) + E.shape[1:]
            erow = self._split.get(key)
            if erow is None:
                erow = self._split[key] = np.zeros((T,) + tuple(n + 2 for n in E.shape[1:]), dtype=dt)
        restrict = fc is not None
        if fc is None:
            fc = np.zeros((1,) * d, dtype=dt)
        kernel = KP.split2_par if d == 2 else KP.split3_par
        return kernel(U, F, self.op.cst, nu, red_first, mode, E, erow, fc, restrict, want_norm, *ring)

    def fusable(self, nu: int) -> bool:
        """Whether one-pass smoothing + restriction applies (red-black; serial, or threaded 2D on colour-split
        rows; 3D on colour-split planes)."""
        if not (nu > 0 and self.name == "red-black"):
            return False
        if self.par_ring(nu) is not None:
            return True
        if self.op.threads > 1 and self.split_ring(nu) is None:
            return False
        return self.op.dim == 2 or self.split_ring(nu) is not None

    def zero_start(self, nu: int) -> bool:
        """Whether :meth:`smooth_restrict` can start from a zero iterate without reading it (colour-split rows)."""
        return self.fusable(nu) and (self.split_ring(nu) is not None or self.par_ring(nu) is not None)

    def smooth_restrict(self, U: np.ndarray, F: np.ndarray, nu: int, fc: np.ndarray, off: int, rows4: np.ndarray,
                        zero: bool = False) -> None:
        """``nu`` red-first sweeps of ``U`` and ``fc = R(F - A U)`` in one pass over memory
        (``zero``: ``U`` starts from zero and is only written, see :meth:`zero_start`)."""
        K, op = kernels(), self.op
        if self.par_ring(nu) is not None:
            self._par_call(U, F, nu, True, 1 if zero else 0, fc=fc)
            return
        S = self.split_ring(nu)
        if op.dim == 3:
            (K.split3_pre_zero(U, F, op.cst, nu, fc, *S) if zero else
             K.rbgs3_restrict_split(U, F, op.cst, nu, True, fc, *S))
        elif zero:
            K.split_pre_zero(U, F, op.cst, nu, fc, *S)
        elif S is not None:
            K.rbgs2_restrict_split(U, F, *op.args(), nu, True, op.zero, fc, off, rows4, *S)
        else:
            K.rbgs2_restrict(U, F, *op.args(), nu, True, op.zero, fc, off, rows4)

    def fusable_post(self, nu: int) -> bool:
        """Whether one-pass prolongation + post-smoothing applies (red-black on colour-split rows)."""
        g = self.op.grid_shape
        return (nu > 0 and self.name == "red-black" and all(n % 2 == 1 for n in g)
                and (self.split_ring(nu) is not None or self.par_ring(nu) is not None))

    def correct_smooth(self, U: np.ndarray, F: np.ndarray, E: np.ndarray, nu: int, erow: np.ndarray,
                       want_norm: bool = False) -> float | None:
        """``U += P E`` and ``nu`` post-smoothing sweeps in one pass; with
        ``want_norm`` returns ``||F - A U||`` summed during the last sweep."""
        K = kernels()
        red_first = self.order == "red-black"
        if self.par_ring(nu) is not None:
            ssq = self._par_call(U, F, nu, red_first, 2, E=E, want_norm=want_norm)
            return math.sqrt(ssq) if want_norm else None
        S = self.split_ring(nu)
        if erow.ndim == self.op.dim:  # per-thread rows of the threaded transfer; the serial kernel takes one
            erow = erow[0]
        if self.op.dim == 3:
            ssq = K.rbgs3_split_prolong(U, F, self.op.cst, nu, red_first, E, erow, want_norm, S[0], S[1])
        else:
            ssq = K.rbgs2_split_prolong(U, F, self.op.cst, nu, red_first, E, erow, want_norm, *S)
        return math.sqrt(ssq) if want_norm else None

    def smooth(self, U: np.ndarray, F: np.ndarray, nu: int, post: bool, want_norm: bool = False) -> float | None:
        """``nu`` steps in place on ``U``; with ``want_norm`` (serial red-black)
        returns ``||F - A U||`` summed during the last sweep."""
        K, op = kernels(), self.op
        par = op.parallel()
        if self.name == "red-black":
            red_first = (not post) or self.order == "red-black"
            if self.par_ring(nu) is not None:
                ssq = self._par_call(U, F, nu, red_first, 0, want_norm=want_norm)
                return math.sqrt(ssq) if want_norm else None
            if par and self.split_ring(nu) is None:
                (K.rbgs2_par if op.dim == 2 else K.rbgs3_par)(U, F, *op.args(), nu, red_first, op.zero)
                return None
            S = self.split_ring(nu)
            if S is not None and op.dim == 3:
                ssq = K.rbgs3_split(U, F, op.cst, nu, red_first, want_norm, S[0], S[1])
            elif S is not None:
                ssq = K.rbgs2_split(U, F, *op.args(), nu, red_first, op.zero, op.row, want_norm, *S)
            else:
                ssq = (K.rbgs2 if op.dim == 2 else K.rbgs3)(U, F, *op.args(), nu, red_first, op.zero, op.row, want_norm)
            return math.sqrt(ssq) if want_norm else None
        if self.name == "jacobi":
            tau, omegas = self.omega, [1.0] * nu
        else:
            tau, omegas = chebyshev_omegas(nu, self.lower, self.upper)
        if self._tmp is None:
            self._tmp = np.zeros(op.grid_shape, dtype=op.dtype)
        step = K.jacobi2 if op.dim == 2 else K.jacobi3
        a, b = U, self._tmp
        for w in omegas:
            step(a, F, *op.args(), b, b, tau, w, op.row, op.zero)
            a, b = b, a
        if a is not U:
            K.copy_into(U, a)
        return None

    def nbytes(self) -> int:
        scratch = 0
        for S in self._split.values():  # rings per nu, threaded rings (None: not used), per-thread coarse rows
            if isinstance(S, np.ndarray):
                scratch += S.nbytes
            elif S is not None:
                scratch += sum(a.nbytes for a in S)
        return (self._tmp.nbytes if self._tmp is not None else 0) + scratch
