"""Spectral bounds of operators and preconditioned operators (numpy layer).

==================================== ===========================================
:func:`estimate_lambda_max`           largest eigenvalue of ``B A`` by a few
                                      (preconditioned) Lanczos steps, or the
                                      spectral radius by power iteration
:func:`gershgorin_bound`              a guaranteed upper bound on the spectral
                                      radius of ``diag(d) A``
:func:`eigenvalues`                   all eigenvalues of a small ``A`` or
                                      ``B A``, dense
==================================== ===========================================

They feed the smoothers: ``omega = 1/lambda_max`` for Richardson, the
interval ``[lambda_max/ratio, 1.1 lambda_max]`` of Chebyshev (He & Xu,
*MgNet*, 2019, eq. 3.23-3.24), and the spectrum ``Lambda`` from which
van Betteray, Rottmann & Kahl, *Poly-MgNet*, 2025, Alg. 3 selects polynomial
roots (:mod:`mgcore.analysis.roots`).  Exact spectra of constant-coefficient
stencils and periodic convolutions are in :mod:`mgcore.analysis.symbols`,
local Fourier analysis in :mod:`mgcore.analysis.lfa`.

Operators ``A`` may be scipy sparse matrices, 2-D numpy arrays,
``scipy.sparse.linalg.LinearOperator`` objects or callables ``A(x)``;
``B`` may additionally be a 1-D array ``d`` (``B x = d * x``, e.g. the
inverse diagonal for Jacobi preconditioning).
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import scipy.sparse as sp

__all__ = ["estimate_lambda_max", "gershgorin_bound", "eigenvalues", "as_apply"]


def as_apply(A: Any, argname: str = "A") -> Callable[[np.ndarray], np.ndarray]:
    """Return ``x -> A x`` for a matrix, LinearOperator, 1-D diagonal array or callable."""
    if sp.issparse(A) or (isinstance(A, np.ndarray) and A.ndim == 2):
        return A.__matmul__
    if isinstance(A, np.ndarray) and A.ndim == 1:
        return A.__mul__
    if hasattr(A, "matvec"):
        return A.matvec
    if callable(A):
        return A
    raise TypeError(
        f"{argname} must be a sparse matrix, a 2-D array, a 1-D diagonal array, a LinearOperator "
        f"or a callable, got {type(A).__name__}"
    )


def _size(A: Any) -> int:
    shape = getattr(A, "shape", None)
    if shape is None or len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"A must be a square operator with a .shape, got shape {shape!r}")
    return int(shape[0])


def estimate_lambda_max(
    A: Any,
    B: Any = None,
    iters: int = 20,
    seed: int = 0,
    safety: float = 1.0,
    method: str = "lanczos",
) -> float:
    """Estimate the largest eigenvalue of ``B A`` (``A`` if ``B`` is None).

    ``method="lanczos"`` (for symmetric positive definite ``A`` and ``B``):
    ``iters`` steps of the preconditioned conjugate-gradient method on
    ``A x = b`` (random ``b``) and the largest eigenvalue of its Lanczos
    tridiagonal matrix (built from the CG step lengths), i.e. a Ritz value
    of ``B A``.  The extreme Ritz values converge fast; the estimate is a
    lower bound that approaches ``lambda_max`` from below, hence the
    ``safety`` factor.  Falls back to power iteration if a non-positive
    curvature or inner product shows that ``A`` or ``B`` is not SPD.

    ``method="power"``: ``iters`` steps of power iteration on ``B A``; the
    estimate of the spectral radius (any matrix).

    Parameters
    ----------
    A : matrix, LinearOperator or callable
        Needs a ``.shape`` (or use a matrix).
    B : None, 1-D array, matrix, LinearOperator or callable
        Preconditioner; a 1-D array ``d`` means ``diag(d)``.
    iters : int
        Number of Lanczos/power steps (products with ``A``).
    seed : int
        Seed of the random start vector.
    safety : float
        Factor ``>= 1`` the estimate is multiplied with.
    method : {"lanczos", "power"}

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import estimate_lambda_max
    >>> A = np.diag([1.0, 2.0, 5.0])
    >>> round(estimate_lambda_max(A), 10)
    5.0
    >>> round(estimate_lambda_max(A, B=1.0 / np.diag(A)), 10)      # D^{-1} A = I
    1.0
    """
    if method not in ("lanczos", "power"):
        raise ValueError(f"method must be 'lanczos' or 'power', got {method!r}")
    if isinstance(iters, bool) or not isinstance(iters, int) or iters < 1:
        raise ValueError(f"iters must be an int >= 1, got {iters!r}")
    if not (safety >= 1.0):
        raise ValueError(f"safety must be a float >= 1, got {safety!r}")
    n = _size(A)
    Aop = as_apply(A, "A")
    Bop = None if B is None else as_apply(B, "B")
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(n)
    est = None
    if method == "lanczos":
        est = _lanczos_max(Aop, Bop, b, iters)
    if est is None:
        est = _power_max(Aop, Bop, b, iters)
    return float(safety * est)


def _lanczos_max(Aop, Bop, b, iters) -> float | None:
    r = b.copy()
    z = r if Bop is None else np.asarray(Bop(r), dtype=np.float64)
    p = z.copy()
    rz = float(r @ z)
    if not rz > 0:
        return None
    rz0 = rz
    alphas, betas = [], []
    for _ in range(iters):
        Ap = np.asarray(Aop(p), dtype=np.float64)
        pAp = float(p @ Ap)
        if not pAp > 0:
            return None
        alpha = rz / pAp
        alphas.append(alpha)
        r = r - alpha * Ap
        z = r if Bop is None else np.asarray(Bop(r), dtype=np.float64)
        rz_new = float(r @ z)
        if rz_new < 0:
            return None
        if rz_new <= 1e-28 * rz0:
            break
        beta = rz_new / rz
        betas.append(beta)
        p = z + beta * p
        rz = rz_new
    return _tridiag_max(alphas, betas)


def _tridiag_max(alphas, betas) -> float | None:
    m = len(alphas)
    T = np.zeros((m, m))
    for j in range(m):
        T[j, j] = 1.0 / alphas[j] + (betas[j - 1] / alphas[j - 1] if j > 0 else 0.0)
        if j + 1 < m:
            T[j, j + 1] = T[j + 1, j] = np.sqrt(betas[j]) / alphas[j]
    ritz = np.linalg.eigvalsh(T)
    if not ritz[0] > 0:  # a non-positive Ritz value: A (or B) is not SPD
        return None
    return float(ritz[-1])


def _power_max(Aop, Bop, b, iters) -> float:
    x = b / np.linalg.norm(b)
    est = 0.0
    for _ in range(iters):
        y = np.asarray(Aop(x), dtype=np.float64)
        if Bop is not None:
            y = np.asarray(Bop(y), dtype=np.float64)
        nrm = float(np.linalg.norm(y))
        if nrm == 0.0:
            return 0.0
        est = nrm
        x = y / nrm
    return est


def gershgorin_bound(A: Any, d: np.ndarray | None = None) -> float:
    """Upper bound ``max_i |d_i| sum_j |a_ij|`` on the spectral radius of ``diag(d) A``.

    With ``d = None`` it bounds the spectral radius of ``A`` (Gershgorin's
    circle theorem, all discs inside ``|z| <= max_i sum_j |a_ij|``); with
    ``d = 1/diag(A)`` it bounds ``rho(D^{-1} A)`` (2 for the Laplacians of
    :mod:`mgcore.problems.grid`).

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import gershgorin_bound
    >>> A = np.array([[2.0, -1.0], [-1.0, 2.0]])
    >>> gershgorin_bound(A), gershgorin_bound(A, 1.0 / np.diag(A))
    (3.0, 1.5)
    """
    if sp.issparse(A):
        rows = np.asarray(abs(A).sum(axis=1)).ravel()
    elif isinstance(A, np.ndarray) and A.ndim == 2:
        rows = np.abs(A).sum(axis=1)
    else:
        raise TypeError(f"A must be a sparse matrix or a 2-D array, got {type(A).__name__}")
    if d is not None:
        d = np.asarray(d)
        if d.shape != rows.shape:
            raise ValueError(f"d must have shape {rows.shape} (one entry per row), got {d.shape}")
        rows = np.abs(d) * rows
    return float(rows.max())


def eigenvalues(A: Any, B: Any = None, symmetric: bool | None = None, max_size: int = 4000) -> np.ndarray:
    """All eigenvalues of ``A`` or ``B A`` for a small operator (dense).

    Parameters
    ----------
    A : sparse matrix or 2-D array
    B : None, 1-D array (diagonal) or matrix
    symmetric : bool, optional
        Treat ``A`` (and a diagonal ``B > 0``) as symmetric: the eigenvalues
        are then real and computed with ``eigvalsh`` (for ``B = diag(d)`` via
        the similar matrix ``D^{1/2} A D^{1/2}``).  Default: detect.
    max_size : int
        Refuse larger operators (a dense eigen-decomposition is ``O(n^3)``).

    Returns
    -------
    ndarray
        Real eigenvalues in ascending order (symmetric case) or complex
        eigenvalues sorted by real, then imaginary part.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import eigenvalues
    >>> eigenvalues(np.array([[2.0, -1.0], [-1.0, 2.0]]))
    array([1., 3.])
    """
    M = A.toarray() if sp.issparse(A) else np.asarray(A)
    if M.ndim != 2 or M.shape[0] != M.shape[1]:
        raise ValueError(f"A must be a square matrix, got shape {M.shape}")
    n = M.shape[0]
    if n > max_size:
        raise ValueError(f"eigenvalues is for small operators: n = {n} > max_size = {max_size}")
    M = M.astype(np.float64) if not np.iscomplexobj(M) else M
    diag_B = None
    if B is not None:
        Bd = np.asarray(B) if not sp.issparse(B) else B.toarray()
        if Bd.ndim == 1:
            if Bd.shape != (n,):
                raise ValueError(f"B as a diagonal must have shape ({n},), got {Bd.shape}")
            diag_B = Bd.astype(np.float64)
            BM = diag_B[:, None] * M
        else:
            BM = Bd @ M
    else:
        BM = M
    if symmetric is None:
        sym_A = np.allclose(M, M.T.conj(), rtol=1e-12, atol=1e-14 * max(np.abs(M).max(), 1e-300))
        symmetric = sym_A and (B is None or (diag_B is not None and np.all(diag_B > 0)))
    if symmetric:
        if B is None:
            return np.linalg.eigvalsh(M)
        if diag_B is None or not np.all(diag_B > 0):
            raise ValueError("symmetric=True with B needs B as a positive 1-D diagonal")
        s = np.sqrt(diag_B)
        return np.linalg.eigvalsh(s[:, None] * M * s[None, :])
    ev = np.linalg.eigvals(BM)
    return ev[np.lexsort((ev.imag, ev.real))]
