"""Grid transfers between non-nested uniform grids on the structured path.

A grid whose size is not ``2^k - 1`` (Dirichlet) does not nest: halving it
gives a coarse grid whose last cell is shorter, so its coarse operator would
have to be the Galerkin product.  Instead the first coarse grid is the
uniform grid of :func:`mgcore.coarsening.uniform_coarse_size` over the same
domain (e.g. ``1000 -> 511``), with mesh widths ``H_k = h_k (n_k + 1) /
(c_k + 1)``; it is re-discretised
(:meth:`mgcore.problems.grid.GridProblem.uniform_coarse_data`) and every
coarser level nests again, so the whole hierarchy runs on the compiled
kernels.  The transfers between the two grids are the tensor products of 1D
linear interpolation ``P`` (:func:`mgcore.sparse.transfers.interpolation_weights`;
He & Xu, MgNet, 2019, eq. 4.7-4.8 on nested grids) and the full weighting
``R = P^T prod_k h_k / H_k`` (``P^T / 2^d`` when ``H = 2 h``, Lemma 4.1).
Multigrid on such non-nested grid pairs converges like the nested one
(Trottenberg, Oosterlee & Schüller, *Multigrid*, 2001, Sec. 2.8 and 5.5 on
coarse grids that are not subsets of the fine grid).

Examples
--------
>>> from mgcore.problems import poisson2d
>>> from mgcore.sparse import MultigridSolver
>>> p = poisson2d(n=100)
>>> s = MultigridSolver(p)
>>> s.fast, [lvl.shape for lvl in s.levels]
(True, [(100, 100), (63, 63), (31, 31), (15, 15)])
>>> r = s.solve(p.rhs(1.0), rtol=1e-8)
>>> r.converged, r.iterations <= 8
(True, True)
"""

from __future__ import annotations

import numpy as np

from ...coarsening import is_nonnested_step

__all__ = ["NonNestedTransfer", "is_nonnested_step"]


def _kernels():
    from . import _nonnested_kernels as NK

    return NK


class NonNestedTransfer:
    """``R`` and ``P`` between a structured level and a uniform coarse grid that does not nest in it.

    The interface of :class:`~.transfer.GridTransfer` (``restrict_into``,
    ``restrict_residual_into``, ``prolong_add``); the one-pass smoothing +
    transfer kernels of nested grids do not apply (``fused`` is False).

    Parameters
    ----------
    fine, coarse : StencilOperator
        The operators of the two levels (same dimension; every axis coarser
        or, semi-coarsening, kept).
    """

    fused = False

    def __init__(self, fine, coarse):
        from ..transfers import interpolation_weights, nonnested_scale

        bc = fine.data.bc
        fs, cs = tuple(fine.grid_shape), tuple(coarse.grid_shape)
        if not is_nonnested_step(fs, cs, bc):
            raise ValueError(f"coarse level {cs} is not a non-nested coarser grid of {fs}")
        self.fine, self.coarse, self.dim = fine, coarse, len(fs)
        self.off = 1 if bc == "dirichlet" else 0
        #: the axes that change (semi-coarsening keeps the others: identity there)
        self.axes = tuple(a for a, (n, c) in enumerate(zip(fs, cs)) if c != n)
        self.w = {a: interpolation_weights(fs[a], cs[a], bc) for a in self.axes}
        self.w = {a: (lo, hi, wlo.astype(fine.dtype), whi.astype(fine.dtype)) for a, (lo, hi, wlo, whi) in self.w.items()}
        self.scale = float(nonnested_scale(fs, cs, bc))
        dt = fine.dtype
        # intermediate shapes: prolongation goes from the last changed axis to the first, restriction the other way
        self._pro = []  # scratch of P after each changed axis but the first (which adds into u)
        shape = list(cs)
        for a in reversed(self.axes[1:]):
            shape[a] = fs[a]
            self._pro.append(np.zeros(shape, dtype=dt))
        self._res = []  # scratch of R after each changed axis but the last (which writes the output)
        shape = list(fs)
        for a in self.axes[:-1]:
            shape[a] = cs[a]
            self._res.append(np.zeros(shape, dtype=dt))
        self.r = np.zeros(fs, dtype=dt)
        #: placeholders of the fused-kernel scratch of :class:`GridTransfer` (not used)
        self.ebuf = self.rbuf4 = None

    @staticmethod
    def _mid(x: np.ndarray, axis: int) -> np.ndarray:
        s = x.shape
        return x.reshape(int(np.prod(s[:axis], dtype=np.int64)), s[axis], int(np.prod(s[axis + 1:], dtype=np.int64)))

    def _interp(self, src, dst, axis, add):
        K = _kernels()
        lo, hi, wlo, whi = self.w[axis]
        if axis == self.dim - 1:
            K.interp_last(src.reshape(-1, src.shape[-1]), dst.reshape(-1, dst.shape[-1]), lo, hi, wlo, whi, add)
        else:
            K.interp_mid(self._mid(src, axis), self._mid(dst, axis), lo, hi, wlo, whi, add)

    def _restrict(self, src, dst, axis, scale):
        K = _kernels()
        lo, hi, wlo, whi = self.w[axis]
        if axis == self.dim - 1:
            K.restrict_last(src.reshape(-1, src.shape[-1]), dst.reshape(-1, dst.shape[-1]), lo, hi, wlo, whi, scale)
        else:
            K.restrict_mid(self._mid(src, axis), self._mid(dst, axis), lo, hi, wlo, whi, scale)

    def restrict_into(self, r: np.ndarray, out: np.ndarray) -> None:
        """``out = R r``."""
        src, last = r, len(self.axes) - 1
        for k, a in enumerate(self.axes):
            dst = out if k == last else self._res[k]
            self._restrict(src, dst, a, self.scale if k == last else 1.0)
            src = dst

    def restrict_residual_into(self, U: np.ndarray, F: np.ndarray, out: np.ndarray) -> None:
        """``out = R (F - A U)``: the residual into a scratch grid, then :meth:`restrict_into`."""
        from ._common import kernels

        op, K = self.fine, kernels()
        par = op.parallel()
        if self.dim == 2:
            (K.stencil2_par if par else K.stencil2)(U, F, *op.args(), self.r, 1, op.zero)
        else:
            (K.stencil3_par if par else K.stencil3)(U, F, *op.args(), self.r, 1, op.zero)
        self.restrict_into(self.r, out)

    def prolong_add(self, u: np.ndarray, E: np.ndarray) -> None:
        """``u += P E`` (``u`` may be float64 while ``E`` is float32)."""
        src = E
        for k, a in enumerate(reversed(self.axes[1:])):
            dst = self._pro[k]
            self._interp(src, dst, a, False)
            src = dst
        self._interp(src, u, self.axes[0], True)

    def nbytes(self) -> int:
        return sum(a.nbytes for a in self._pro + self._res + [self.r])

    def __repr__(self) -> str:
        return f"NonNestedTransfer({tuple(self.fine.grid_shape)} -> {tuple(self.coarse.grid_shape)})"
