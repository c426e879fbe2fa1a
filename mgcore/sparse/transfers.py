"""Geometric grid transfers on structured grids (He & Xu, MgNet, 2019, §4).

* :func:`prolongation` -- (bi/tri)linear interpolation, eq. (4.7)-(4.9)
  (first case of 4.9), or the P1 "linear" variant (second case of 4.9, 2D).
* :func:`restriction` -- ``R = P^T / 2^d`` (full weighting) by default, or
  ``R = P^T`` (``scaling="transpose"``), the stride-2 convolution with the
  kernel ``K_R`` of Lemma 4.1 (eq. 4.12-4.14).
* :func:`injection` -- nodal injection, a projection ``Pi`` (eq. 4.18).
* :func:`interpolation_weights` / :func:`prolongation_between` -- linear
  interpolation between two uniform grids of the same domain whose nodes do
  not nest (the first coarsening of a size that is not ``2^k - 1``,
  :func:`mgcore.coarsening.uniform_coarse_size`); the restriction is then
  ``R = P^T prod_k (h_k / H_k)`` (full weighting for ``H = 2 h``).

Grid conventions are those of :mod:`mgcore.problems.grid`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..coarsening import is_halving
from ..problems.grid import coarsen_size

__all__ = ["prolongation_1d", "prolongation", "restriction", "injection", "interpolation_weights", "prolongation_between",
           "nonnested_scale", "INTERPOLATIONS", "RESTRICTION_SCALINGS"]

INTERPOLATIONS = ("bilinear", "linear")
RESTRICTION_SCALINGS = ("full-weighting", "transpose")


def prolongation_1d(n: int, bc: str) -> sp.csr_matrix:
    """1D linear interpolation from ``coarsen_size(n)`` to ``n`` points (eq. 4.7-4.8).

    Any ``n``: for an even Neumann ``n`` the last fine node takes the last
    coarse value (constants are interpolated exactly).
    """
    nc = coarsen_size(n, bc)
    rows, cols, vals = [], [], []
    off = 1 if bc == "dirichlet" else 0
    for i in range(nc):
        c = 2 * i + off
        for r, v in ((c - 1, 0.5), (c, 1.0), (c + 1, 0.5)):
            if 0 <= r < n:
                rows.append(r)
                cols.append(i)
                vals.append(1.0 if (bc != "dirichlet" and n % 2 == 0 and r == n - 1) else v)
    return sp.csr_matrix((vals, (rows, cols)), shape=(n, nc))


def _positions(n: int, bc: str) -> np.ndarray:
    """Node coordinates of the unknowns on ``[0, 1]`` (Dirichlet: interior nodes; Neumann: all nodes)."""
    return np.arange(1, n + 1) / (n + 1) if bc == "dirichlet" else np.arange(n) / max(n - 1, 1)


def interpolation_weights(n: int, nc: int, bc: str) -> tuple:
    """Linear interpolation from a uniform grid of ``nc`` unknowns to one of ``n`` on the same interval.

    Returns ``(lo, hi, wlo, whi)``: fine node ``j`` gets
    ``wlo[j] * e[lo[j]] + whi[j] * e[hi[j]]``; a neighbour outside the coarse
    grid (the Dirichlet boundary, value 0) has weight 0 and a clipped index.
    For nested sizes these are the weights of :func:`prolongation_1d`
    (``1`` at coinciding nodes, ``1/2`` between).

    Examples
    --------
    >>> lo, hi, wlo, whi = interpolation_weights(4, 1, "dirichlet")   # x = 0.2 .. 0.8, coarse node at 0.5
    >>> [round(float(w), 3) for w in wlo + whi]
    [0.4, 0.8, 0.8, 0.4]
    """
    x = _positions(n, bc)
    if bc == "dirichlet":
        t = x * (nc + 1) - 1.0  # coarse index coordinate; -1 and nc are the boundary
    else:
        t = x * (nc - 1)
    t = np.where(np.abs(t - np.round(t)) < 1e-12, np.round(t), t)
    left = np.floor(t).astype(np.int64)
    frac = t - left
    wlo, whi = 1.0 - frac, frac
    lo, hi = left, left + 1
    wlo = np.where((lo >= 0) & (lo < nc), wlo, 0.0)
    whi = np.where((hi >= 0) & (hi < nc) & (frac > 0), whi, 0.0)
    return np.clip(lo, 0, nc - 1), np.clip(hi, 0, nc - 1), wlo, whi


def prolongation_between(n: int, nc: int, bc: str) -> sp.csr_matrix:
    """1D linear interpolation from a uniform ``nc``-grid to a uniform ``n``-grid (non-nested)."""
    lo, hi, wlo, whi = interpolation_weights(n, nc, bc)
    rows = np.concatenate([np.arange(n), np.arange(n)])
    P = sp.csr_matrix((np.concatenate([wlo, whi]), (rows, np.concatenate([lo, hi]))), shape=(n, nc))
    P.eliminate_zeros()
    return P


def nonnested_scale(shape: tuple, coarse_shape: tuple, bc: str) -> float:
    """``prod_k h_k / H_k``: the factor of the full-weighting restriction ``R = P^T prod_k h_k/H_k``."""
    out = 1.0
    for n, c in zip(shape, coarse_shape):
        out *= ((c + 1) / (n + 1)) if bc == "dirichlet" else ((c - 1) / (n - 1))
    return out


def prolongation_axes(shape: tuple, bc: str, axes: Any) -> sp.csr_matrix:
    """Tensor-product interpolation coarsening only ``axes`` (semi-coarsening; identity on the others)."""
    P = None
    for a, n in enumerate(shape):
        Pa = prolongation_1d(n, bc) if a in axes else sp.identity(n, format="csr")
        P = Pa if P is None else sp.kron(P, Pa, format="csr")
    return P.tocsr()


def prolongation(shape: tuple, bc: str = "dirichlet", interpolation: str = "bilinear",
                 coarse_shape: tuple | None = None) -> sp.csr_matrix:
    """Prolongation ``P`` from the coarse grid of ``shape`` to ``shape``.

    Parameters
    ----------
    shape : tuple of int
        Fine grid unknowns per dimension.
    bc : {"dirichlet", "neumann"}
    interpolation : {"bilinear", "linear"}
        ``"bilinear"``: tensor-product interpolation (eq. 4.9, first case;
        trilinear in 3D).  ``"linear"``: P1 interpolation on the triangulation
        whose diagonals run from ``(i+1, j)`` to ``(i, j+1)`` (eq. 4.9, second
        case; 2D only), for which ``P^T K P`` is the coarse P1 stiffness.
    coarse_shape : tuple of int, optional
        A uniform coarse grid that does not nest in ``shape`` (see
        :func:`mgcore.coarsening.uniform_coarse_size`): tensor-product linear
        interpolation between the grids (:func:`prolongation_between`).
    """
    if interpolation not in INTERPOLATIONS:
        raise ValueError(f"interpolation must be one of {INTERPOLATIONS}, got {interpolation!r}")
    if coarse_shape is not None and not is_halving(shape, coarse_shape, bc):
        if interpolation != "bilinear":
            raise ValueError("interpolation='linear' needs nested grids; non-nested grids use 'bilinear'")
        P = None
        for n, c in zip(shape, coarse_shape):
            Pa = prolongation_between(n, c, bc) if c != n else sp.identity(n, format="csr")
            P = Pa if P is None else sp.kron(P, Pa, format="csr")
        return P.tocsr()
    P = prolongation_1d(shape[0], bc)
    for n in shape[1:]:
        P = sp.kron(P, prolongation_1d(n, bc), format="csr")
    if interpolation == "bilinear" or len(shape) == 1:
        return P.tocsr()
    if len(shape) != 2:
        raise ValueError("interpolation='linear' is defined for 2D grids only")
    # P1: the cell-centre value (fine node (2i+o+1, 2j+o+1)) is the mean of the
    # two coarse nodes on the diagonal (i+1, j) and (i, j+1) instead of all four.
    n0, n1 = shape
    c0, c1 = coarsen_size(n0, bc), coarsen_size(n1, bc)
    off = 1 if bc == "dirichlet" else 0
    P = P.tolil()
    for a in range(-1, c0):
        for b in range(-1, c1):
            r0, r1 = 2 * a + off + 1, 2 * b + off + 1
            if not (0 <= r0 < n0 and 0 <= r1 < n1):
                continue
            row = r0 * n1 + r1
            P.rows[row] = []
            P.data[row] = []
            for (ci, cj) in ((a + 1, b), (a, b + 1)):
                if 0 <= ci < c0 and 0 <= cj < c1:
                    P[row, ci * c1 + cj] = 0.5
    return P.tocsr()


def restriction(shape: tuple, bc: str = "dirichlet", interpolation: str = "bilinear", scaling: str = "full-weighting",
                coarse_shape: tuple | None = None) -> sp.csr_matrix:
    """Restriction ``R = P^T / 2^d`` (full weighting) or ``P^T`` (Lemma 4.1).

    For a non-nested ``coarse_shape`` full weighting is ``P^T prod_k h_k/H_k``
    (:func:`nonnested_scale`)."""
    if scaling not in RESTRICTION_SCALINGS:
        raise ValueError(f"scaling must be one of {RESTRICTION_SCALINGS}, got {scaling!r}")
    nonnested = coarse_shape is not None and not is_halving(shape, coarse_shape, bc)
    R = prolongation(shape, bc, interpolation, coarse_shape if nonnested else None).T.tocsr()
    if scaling == "full-weighting":
        R = R * (nonnested_scale(shape, coarse_shape, bc) if nonnested else 0.5 ** len(shape))
    return R.tocsr()


def injection(shape: tuple, bc: str = "dirichlet") -> sp.csr_matrix:
    """Nodal injection: coarse node value = value at the coinciding fine node."""
    off = 1 if bc == "dirichlet" else 0
    Q = None
    for n in shape:
        nc = coarsen_size(n, bc)
        q = sp.csr_matrix((np.ones(nc), (np.arange(nc), 2 * np.arange(nc) + off)), shape=(nc, n))
        Q = q if Q is None else sp.kron(Q, q, format="csr")
    return Q.tocsr()
