"""Polynomial roots from a spectrum: Poly-MgNet Alg. 3, Chebyshev, Leja; stable product order.

A polynomial smoother multiplies the residual by ``q(A) = prod_i (I - A /
zeta_i)`` (van Betteray, Rottmann & Kahl, *Poly-MgNet*, 2025, eq. 13-18),
real roots as linear factors, complex roots as real quadratic factors of a
conjugate pair (eq. 17, 19), applied as in their Alg. 2.  ``q`` is small where
the roots capture the spectrum.  Ways to choose them:

================== ===========================================================
``"alg3"``          Poly-MgNet Alg. 3: ``max Re``, ``min Re``, the pair at
                    ``argmax Im``, then repeatedly the pair at
                    ``argmax |q(Lambda)|`` (:func:`alg3_roots`, the vectorised
                    twin of :func:`mgcore.polynomials.select_roots`); ``kind
                    ="g"`` gives the g-form of eq. 20-21
``"leja"``          discrete Leja points of the spectrum: ``argmax |z|``,
                    then ``argmax prod_j |z - zeta_j|`` (conjugate pairs
                    together) (:func:`leja_points`)
``"chebyshev"``     roots of the scaled Chebyshev polynomial on the real
                    extent of the spectrum (minimax on the interval; He & Xu,
                    *MgNet*, 2019, eq. 3.23-3.24)
``"equispaced"``    equally spaced real roots (a baseline)
================== ===========================================================

The factored form is applied one factor at a time, so the *order* matters in
floating point: the partial products ``prod_{i<=k} (1 - lambda/zeta_i)`` can
grow to ``10^d`` and beyond when the small roots (large steps) come first,
and any run of consecutive factors multiplies the round-off made before it.
:func:`leja_order` orders the roots by the Leja rule (Reichel, *The
application of Leja points to Richardson iteration and polynomial
preconditioning*, 1991), which keeps all these products bounded;
:func:`partial_products` measures them.

Entry points:

* :func:`polynomial_roots_from_spectrum` -- for solvers' smoothers: takes a
  spectrum, an interval ``(lmin, lmax)``, a matrix, a stencil or a gallery
  problem, selects the part to damp (all; the upper part ``Re lambda >=
  lmax / ratio``; or, on structured grids, the eigenvalues of the
  high-frequency modes) and returns ``{"roots": ..., "g": ...}`` for
  :class:`mgcore.polynomials.PolynomialSmoother`;
* :func:`poly_roots_for_kernel` -- for Poly-MgNet: the initial roots of a
  level's factors from the spectrum of its ``A`` kernel (numpy in, Python
  numbers out; no torch).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = [
    "METHODS",
    "alg3_roots",
    "leja_points",
    "chebyshev_roots_for",
    "equispaced_roots",
    "leja_order",
    "partial_products",
    "max_residual",
    "spectrum_part",
    "polynomial_roots_from_spectrum",
    "polynomial_smoother_factors",
    "polynomial_factors_from_options",
    "poly_roots_for_kernel",
]

METHODS = ("alg3", "leja", "chebyshev", "equispaced")
PARTS = ("all", "upper", "high")


def _spectrum(x: Any, name: str = "spectrum") -> np.ndarray:
    try:
        lam = np.asarray(x, dtype=np.complex128).ravel()
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of real or complex numbers, got {type(x).__name__}") from None
    if lam.size == 0:
        raise ValueError(f"{name} is empty: give at least one eigenvalue")
    if not np.all(np.isfinite(lam)):
        raise ValueError(f"{name} contains NaN or Inf")
    return lam


def _degree(degree: Any) -> int:
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
        raise ValueError(f"degree must be an int >= 1, got {degree!r}")
    return int(degree)


def _q_abs(lam: np.ndarray, roots: list, g: list) -> np.ndarray:
    """``|q(lambda)|`` with the arithmetic of :meth:`mgcore.polynomials.PolynomialSmoother.q`."""
    from ..polynomials import PolynomialSmoother

    if not roots and not g:
        return np.ones(lam.shape)
    return np.abs(PolynomialSmoother(roots or None, g=g or None).q(lam))


# ------------------------------------------------------------------ methods
def alg3_roots(spectrum: Any, degree: int, kind: str = "q", pairs: str = "auto", tol: float = 1e-12) -> dict:
    """Poly-MgNet Alg. 3 (and the g-form of eq. 20-21), vectorised over the spectrum.

    The same choice as :func:`mgcore.polynomials.select_roots` (see there for
    the rules and the generalisations to real spectra and odd degrees), in
    numpy, so that spectra of ``10^5``-``10^6`` eigenvalues (a wide
    convolution on a 32x32 grid) take milliseconds per root.

    Parameters
    ----------
    spectrum : array_like
        Eigenvalues (real or complex).
    degree : int
        Degree of ``q`` (a pair counts 2).
    kind : {"q", "g"}
    pairs : {"auto", "always"}
        ``"always"``: after the real roots every choice is a conjugate pair
        ``(Re z, |Im z|)``, also for a real maximiser (then a double real
        root), exactly as Alg. 3 line 3-4 and as Poly-MgNet's quadratic
        factors need; ``"auto"``: a real maximiser adds one real root.
    tol : float
        Relative size below which eigenvalues count as zero (ignored) and
        imaginary parts as zero.

    Returns
    -------
    dict
        ``{"roots": [...], "g": [...]}`` for :class:`~mgcore.polynomials.PolynomialSmoother`.

    Examples
    --------
    >>> from mgcore.analysis import alg3_roots
    >>> alg3_roots([1.0, 2 + 1j, 2 - 1j, 4.0], 4)
    {'roots': [4.0, 1.0, (2.0, 1.0)], 'g': []}
    """
    if kind not in ("q", "g"):
        raise ValueError(f"kind must be 'q' or 'g', got {kind!r}")
    if pairs not in ("auto", "always"):
        raise ValueError(f"pairs must be 'auto' or 'always', got {pairs!r}")
    degree = _degree(degree)
    if kind == "g" and degree % 2:
        raise ValueError(f"kind='g' polynomials have even degree (Poly-MgNet eq. 21: d = 2m + 2n), got degree={degree}")
    lam = _spectrum(spectrum)
    scale = float(np.abs(lam).max())
    if scale == 0.0:
        raise ValueError("the spectrum is all zero: no polynomial with q(0) = 1 can reduce it")
    lam = lam[np.abs(lam) > tol * scale]
    re_max, re_min = float(lam.real.max()), float(lam.real.min())
    roots: list = []
    g: list = []
    if kind == "q":
        for zeta in (re_max, re_min)[: min(degree, 2)]:
            if abs(zeta) <= tol * scale:
                raise ValueError("the extreme real part of the spectrum is 0 and cannot be a root (q(0) = 1); "
                                 "shift the spectrum or use kind='g'")
            roots.append(zeta)
    else:
        zeta = max(abs(re_max), abs(re_min))
        if zeta <= tol * scale:
            raise ValueError("the spectrum has no real extent (max |Re| = 0); g-factors need one")
        g = [1.0 / (zeta * zeta)] * min(2, degree // 2)
    remaining = degree - len(roots) - 2 * len(g)
    first = True
    while remaining > 0:
        max_im = float(lam.imag.max())
        if first and remaining >= 2 and max_im > tol * scale:
            z = lam[int(np.flatnonzero(lam.imag == max_im)[0])]
        else:
            z = lam[int(np.argmax(_q_abs(lam, roots, g)))]
        first = False
        if remaining >= 2 and (abs(z.imag) > tol * scale or pairs == "always"):
            roots.append((float(z.real), float(abs(z.imag))))
            remaining -= 2
        else:
            roots.append(float(z.real) if abs(z.real) > tol * scale else float(abs(z)))
            remaining -= 1
    return {"roots": roots, "g": g}


def leja_points(spectrum: Any, degree: int, tol: float = 1e-12) -> dict:
    """Discrete Leja points of a spectrum as roots (conjugate pairs kept together).

    ``z_1 = argmax |z|``, ``z_{k+1} = argmax_z prod_j |z - z_j|`` (log-sums,
    no overflow); a non-real choice adds the pair ``(Re z, |Im z|)`` when two
    or more degrees are left, else its real part.  Zero eigenvalues are
    ignored (``q(0) = 1``).

    Examples
    --------
    >>> from mgcore.analysis import leja_points
    >>> leja_points([-1.0, -0.5, 0.5, 1.0, 2.0], 3)["roots"]
    [2.0, -1.0, 0.5]
    """
    degree = _degree(degree)
    lam = _spectrum(spectrum)
    scale = float(np.abs(lam).max())
    if scale == 0.0:
        raise ValueError("the spectrum is all zero: no polynomial with q(0) = 1 can reduce it")
    lam = lam[np.abs(lam) > tol * scale]
    logs = np.zeros(lam.size)
    roots: list = []
    remaining = degree
    while remaining > 0:
        i = int(np.argmax(np.abs(lam))) if not roots else int(np.argmax(logs))
        z = lam[i]
        if abs(z.imag) > tol * scale and remaining >= 2:
            roots.append((float(z.real), float(abs(z.imag))))
            chosen = (z, np.conj(z))
            remaining -= 2
        else:
            r = float(z.real) if abs(z.real) > tol * scale else float(abs(z))
            roots.append(r)
            chosen = (complex(r),)
            remaining -= 1
        with np.errstate(divide="ignore"):
            for c in chosen:
                logs = logs + np.log(np.abs(lam - c))
    return {"roots": roots, "g": []}


def chebyshev_roots_for(lmin: float, lmax: float, degree: int) -> dict:
    """Chebyshev roots on ``[lmin, lmax]`` (``0 < lmin < lmax``) as ``{"roots", "g"}``."""
    from ..polynomials import chebyshev_roots

    return {"roots": chebyshev_roots(_degree(degree), float(lmin), float(lmax)), "g": []}


def equispaced_roots(lmin: float, lmax: float, degree: int) -> dict:
    """``degree`` equally spaced real roots from ``lmin`` to ``lmax`` (both included for ``degree >= 2``)."""
    degree = _degree(degree)
    if not (lmax > lmin > 0) and not (degree == 1 and lmax > 0):
        raise ValueError(f"equispaced roots need 0 < lmin < lmax, got lmin={lmin}, lmax={lmax}")
    pts = [float(lmax)] if degree == 1 else np.linspace(lmin, lmax, degree).tolist()
    return {"roots": pts, "g": []}


# ---------------------------------------------------------------- ordering
def _units(roots: Sequence[Any]) -> list:
    out = []
    for r in roots:
        if isinstance(r, (tuple, list)):
            a, b = float(r[0]), float(r[1])
            out.append((r, (complex(a, b), complex(a, -b))))
        elif isinstance(r, complex) and r.imag != 0:
            out.append((r, (r, r.conjugate())))
        else:
            out.append((r, (complex(r),)))
    return out


def leja_order(roots: Sequence[Any]) -> list:
    """The roots in Leja order (Reichel, 1991): a numerically stable application order.

    First the root of largest modulus, then repeatedly the one maximising
    the product of distances to those already taken; a conjugate pair
    (``(a, b)`` or a complex number) moves as one unit.  Returns the same
    entries, reordered.

    Examples
    --------
    >>> from mgcore.analysis import leja_order
    >>> leja_order([0.1, 0.5, 1.0, 2.0])
    [2.0, 0.1, 1.0, 0.5]
    """
    units = _units(list(roots))
    if not units:
        return []
    left = list(range(len(units)))
    order: list[int] = []
    taken: list[complex] = []
    while left:
        if not order:
            best = max(left, key=lambda i: max(abs(z) for z in units[i][1]))
        else:
            def score(i):
                s = 0.0
                for z in units[i][1]:
                    for t in taken:
                        dist = abs(z - t)
                        s += math.log(dist) if dist > 0 else -math.inf
                return s

            best = max(left, key=score)
        order.append(best)
        left.remove(best)
        taken.extend(units[best][1])
    return [units[i][0] for i in order]


def partial_products(roots: Sequence[Any], spectrum: Any, g: Sequence[float] = ()) -> float:
    """Growth of the factored form in the given order: ``max_{j<=k} max_lambda |prod_{i=j..k} q_i(lambda)|``.

    A rounding error made after factor ``j - 1`` is multiplied by the
    product of the factors ``j .. k`` that follow, so this is the
    amplification of round-off by the application order (1 means none);
    ``j = 1`` alone gives the growth of the iterates themselves.
    """
    lam = _spectrum(spectrum)
    from ..polynomials import PolynomialSmoother

    S = PolynomialSmoother(list(roots) or None, g=list(g) or None)
    vals = []
    for f in S.factors:
        if f[0] == "linear":
            vals.append(1.0 - lam / f[1])
        elif f[0] == "pair":
            s = f[1] * f[1] + f[2] * f[2]
            vals.append(1.0 - (2.0 * f[1] / s) * lam + lam * lam / s)
        else:
            vals.append(1.0 - f[1] * lam * lam)
    worst = 1.0
    for j in range(len(vals)):
        acc = np.ones(lam.shape, dtype=np.complex128)
        for v in vals[j:]:
            acc = acc * v
            worst = max(worst, float(np.abs(acc).max()))
    return worst


def max_residual(roots: Sequence[Any], spectrum: Any, g: Sequence[float] = ()) -> float:
    """``max |q(lambda)|`` over the spectrum for the roots (and g-factors)."""
    lam = _spectrum(spectrum)
    return float(_q_abs(lam, list(roots), list(g)).max())


# ------------------------------------------------------- spectrum selection
def _dense_eigenvalues(M: np.ndarray, d: np.ndarray | None) -> np.ndarray:
    if d is not None:
        s = np.sqrt(d)
        if np.allclose(M, M.T, rtol=1e-12, atol=1e-14 * max(np.abs(M).max(), 1e-300)) and np.all(d > 0):
            return np.linalg.eigvalsh(s[:, None] * M * s[None, :]).astype(np.complex128)
        return np.linalg.eigvals(d[:, None] * M)
    if np.allclose(M, M.T, rtol=1e-12, atol=1e-14 * max(np.abs(M).max(), 1e-300)):
        return np.linalg.eigvalsh(M).astype(np.complex128)
    return np.linalg.eigvals(M)


def spectrum_part(source: Any, part: str = "all", ratio: float | None = None, precondition: str | None = None,
                  samples: int = 2001, max_dense: int = 2000) -> np.ndarray:
    """The eigenvalues (flat, complex) that roots are chosen from.

    Parameters
    ----------
    source : array, tuple, matrix, Stencil, GridProblem or GridLevelData
        * 1-D array or list: the spectrum itself;
        * tuple ``(lmin, lmax)``: the interval, sampled at ``samples`` points;
        * sparse matrix / 2-D array: dense eigenvalues when it has at most
          ``max_dense`` rows, else the interval ``[lmax/ratio, lmax]``
          (``lmax`` by Lanczos, :func:`mgcore.analysis.estimate_lambda_max`);
        * :class:`~mgcore.analysis.Stencil`: its symbol on a frequency grid
          (``samples**(1/d)`` per axis);
        * gallery problem or level data with constant coefficients: the
          exact eigenvalues (:meth:`Stencil.eigenvalues`), with the mode of
          each one known (``part="high"``); other levels go the matrix way.
    part : {"all", "upper", "high"}
        ``"upper"``: ``Re lambda >= max Re lambda / ratio``; ``"high"``: the
        eigenvalues of the high-frequency modes (some ``theta_a >= pi/2``),
        those a smoother must damp -- for stencils and grids; for other
        sources ``"high"`` means ``"upper"`` with ``ratio = 30`` by default.
    ratio : float, optional
        For ``"upper"`` (default 30, the Chebyshev smoother's default).
    precondition : {None, "jacobi"}
        Spectrum of ``D^{-1} A`` instead of ``A``.
    """
    from .symbols import Stencil, fourier_frequencies

    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    if precondition not in (None, "jacobi"):
        raise ValueError(f"precondition must be None or 'jacobi', got {precondition!r}")
    if ratio is not None and not (isinstance(ratio, (int, float)) and ratio > 1):
        raise ValueError(f"ratio must be a number > 1, got {ratio!r}")
    high_mask = None
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError(f"an interval is a tuple (lmin, lmax), got {source!r}")
        lo, hi = (float(v) for v in source)
        if not (math.isfinite(lo) and math.isfinite(hi) and hi > lo):
            raise ValueError(f"an interval (lmin, lmax) needs lmin < lmax, got {source!r}")
        lam = np.linspace(lo, hi, int(samples)).astype(np.complex128)
    elif isinstance(source, Stencil):
        d = source.dim
        per = max(8, int(round(samples ** (1.0 / d))))
        ax = -np.pi + (np.arange(per) + 0.5) * 2 * np.pi / per
        th = np.stack(np.meshgrid(*([ax] * d), indexing="ij"), -1).reshape(-1, d)
        lam = source.symbol(th)
        if precondition == "jacobi":
            lam = lam / source.center
        high_mask = np.abs(th).max(axis=1) >= np.pi / 2
    elif hasattr(source, "level_data") or hasattr(source, "faces"):
        data = source.level_data() if hasattr(source, "level_data") else source
        try:
            S = Stencil.from_level(data)
        except ValueError:
            S = None
        if S is not None:
            lam = S.eigenvalues(data.shape, "dirichlet").ravel().astype(np.complex128)
            if precondition == "jacobi":
                lam = lam / S.center
            th = fourier_frequencies(data.shape, "dirichlet").reshape(-1, len(data.shape))
            high_mask = th.max(axis=1) >= np.pi / 2
        else:
            return spectrum_part(data.matrix(), part, ratio, precondition, samples, max_dense)
    elif sp.issparse(source) or (isinstance(source, np.ndarray) and source.ndim == 2):
        from .bounds import estimate_lambda_max

        n = source.shape[0]
        if source.shape[0] != source.shape[1] or n == 0:
            raise ValueError(f"a matrix source must be square and non-empty, got shape {source.shape}")
        dg = None
        if precondition == "jacobi":
            diag = source.diagonal() if sp.issparse(source) else np.diag(source)
            if np.any(diag == 0):
                raise ValueError("precondition='jacobi' needs a non-zero diagonal")
            dg = 1.0 / np.asarray(diag, dtype=np.float64)
        if n <= max_dense:
            M = source.toarray() if sp.issparse(source) else np.asarray(source, dtype=np.float64)
            lam = _dense_eigenvalues(M, dg)
        else:
            lmax = estimate_lambda_max(source, B=dg, iters=30)
            r = 30.0 if ratio is None else float(ratio)
            lam = np.linspace(lmax / r, lmax, int(samples)).astype(np.complex128)
            part = "all"
    elif hasattr(source, "matvec") or callable(source):
        raise TypeError("a LinearOperator or callable source needs its interval: pass (lmin, lmax) "
                        "(e.g. from mgcore.analysis.estimate_lambda_max)")
    else:
        lam = _spectrum(source)
    lam = _spectrum(lam)
    if part == "high" and high_mask is not None:
        lam = lam[high_mask]
    elif part in ("high", "upper"):
        r = 30.0 if ratio is None else float(ratio)
        top = float(lam.real.max())
        lam = lam[lam.real >= top / r]
    if lam.size == 0:
        raise ValueError(f"the selected part ({part!r}) of the spectrum is empty")
    return lam


def polynomial_roots_from_spectrum(
    A_or_bounds: Any,
    degree: int,
    method: str = "alg3",
    *,
    kind: str = "q",
    part: str | None = None,
    ratio: float | None = None,
    precondition: str | None = None,
    order: str = "leja",
    samples: int = 2001,
    max_dense: int = 2000,
) -> dict:
    """Roots of a degree-``degree`` residual polynomial chosen from a spectrum.

    Parameters
    ----------
    A_or_bounds
        A spectrum (1-D array/list), an interval ``(lmin, lmax)``, a matrix,
        a :class:`~mgcore.analysis.Stencil` or a gallery problem / level
        (see :func:`spectrum_part`).
    degree : int
        Degree of ``q`` (a conjugate pair counts 2), ``>= 1``.
    method : {"alg3", "leja", "chebyshev", "equispaced"}
        See the module docstring.  ``"chebyshev"`` and ``"equispaced"`` use
        the real extent ``[min Re, max Re]`` of the selected spectrum.
    kind : {"q", "g"}
        g-form (eq. 20-21) for ``"alg3"``.
    part : {None, "all", "upper", "high"}
        Which eigenvalues to damp; default ``"all"`` for spectra and
        intervals, ``"high"`` (the high-frequency modes) for stencils and
        gallery problems, ``"upper"`` (``Re lambda >= lmax / ratio``) for
        matrices.
    ratio : float, optional
        For ``part="upper"`` (default 30).
    precondition : {None, "jacobi"}
        Choose the roots for ``D^{-1} A`` (the smoother then applies the
        polynomial in ``D^{-1} A``).
    order : {"leja", "given"}
        Reorder the roots by :func:`leja_order` (stable application), or keep
        the order of the method.
    samples, max_dense : int
        See :func:`spectrum_part`.

    Returns
    -------
    dict
        ``{"roots": [...], "g": [...]}``, ready for
        ``PolynomialSmoother(**result)`` and the sparse ``"polynomial"``
        smoother's ``roots=``/``g=``.

    Examples
    --------
    >>> from mgcore.problems import poisson2d
    >>> from mgcore.analysis import polynomial_roots_from_spectrum
    >>> sel = polynomial_roots_from_spectrum(poisson2d(n=31), 4, precondition="jacobi")
    >>> [round(r, 3) for r in sel["roots"]]       # high-frequency part of D^-1 A: [0.5, 2)
    [1.995, 0.502, 1.25, 0.82]
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if order not in ("leja", "given"):
        raise ValueError(f"order must be 'leja' or 'given', got {order!r}")
    degree = _degree(degree)
    if part is None:
        from .symbols import Stencil

        if isinstance(A_or_bounds, Stencil) or hasattr(A_or_bounds, "level_data") or hasattr(A_or_bounds, "faces"):
            part = "high"
        elif sp.issparse(A_or_bounds) or (isinstance(A_or_bounds, np.ndarray) and A_or_bounds.ndim == 2):
            part = "upper"
        else:
            part = "all"
    lam = spectrum_part(A_or_bounds, part, ratio, precondition, samples, max_dense)
    if method == "alg3":
        sel = alg3_roots(lam, degree, kind=kind)
    elif method == "leja":
        sel = leja_points(lam, degree)
    else:
        lo, hi = float(lam.real.min()), float(lam.real.max())
        if not lo > 0:
            raise ValueError(f"method={method!r} needs a spectrum with positive real parts, got min Re = {lo:.4g}")
        if hi <= lo:
            hi = lo * (1.0 + 1e-12) + 1e-300
        sel = chebyshev_roots_for(lo, hi, degree) if method == "chebyshev" else equispaced_roots(lo, hi, degree)
    if order == "leja":
        sel = {"roots": leja_order(sel["roots"]), "g": sel["g"]}
    return sel


def poly_roots_for_kernel(weight: Any, degree: int, n: Any = 32, kind: str = "q", boundary: str = "periodic",
                          order: str = "given") -> list:
    """Initial roots of a Poly-MgNet level from the spectrum of its ``A`` kernel (Alg. 3).

    The spectrum is that of the convolution with ``weight`` on an ``n x n``
    grid (periodic: exact from the symbol, :func:`mgcore.analysis.conv_eigenvalues`;
    ``boundary="zero"``: the zero-padded operator, dense, small sizes).  The
    roots follow Alg. 3 with every further choice a conjugate pair, one entry
    per factor of the polynomial ``q_d`` / ``g_d`` (eq. 18, 21), in the form
    of ``PolyMgNet(roots=...)``:

    * ``kind="q"``: ``[zeta_1, zeta_2, a_1 + i b_1, ...]`` -- two real
      roots (``max Re``, ``min Re``), then ``(d - 2)/2`` complex numbers,
      one per quadratic factor;
    * ``kind="g"``: ``[zeta, zeta, a_1 + i b_1, ...]`` with ``zeta = max(|max
      Re|, |min Re|)`` for the two ``I - A^2/zeta^2`` factors.

    Parameters
    ----------
    weight : array
        ``(C, C, k, k)`` numpy array (``tensor.detach().cpu().numpy()``).
    degree : int
        ``d`` of ``q_d`` (even, ``>= 2``) or ``g_d`` (even, ``>= 4``).
    n : int or (int, int)
        Grid on which the spectrum is taken (the level's feature-map size).
    kind : {"q", "g"}
    boundary : {"periodic", "zero"}
    order : {"given", "leja"}
        ``"given"`` keeps the factor kinds in Poly-MgNet's order (real
        factors first); ``"leja"`` reorders the quadratic factors only.

    Returns
    -------
    list
        Python floats and complex numbers, one per factor.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import poly_roots_for_kernel
    >>> W = np.zeros((1, 1, 3, 3)); W[0, 0] = [[0, -1, 0], [-1, 4, -1], [0, -1, 0]]
    >>> W[0, 0, 1, 2] = -0.5                  # a non-symmetric tap: complex spectrum
    >>> r = poly_roots_for_kernel(W, 4, n=8)
    >>> len(r), type(r[0]).__name__, type(r[2]).__name__
    (3, 'float', 'complex')
    """
    from .symbols import check_kernel, kernel_spectrum

    if kind not in ("q", "g"):
        raise ValueError(f"kind must be 'q' or 'g', got {kind!r}")
    degree = _degree(degree)
    if degree % 2 or degree < (2 if kind == "q" else 4):
        raise ValueError(f"Poly-MgNet's {kind}_d has even degree d >= {2 if kind == 'q' else 4}, got degree={degree}")
    if order not in ("given", "leja"):
        raise ValueError(f"order must be 'given' or 'leja', got {order!r}")
    W = check_kernel(weight, square=True)
    lam = kernel_spectrum(W, n, boundary=boundary)
    sel = alg3_roots(lam, degree, kind=kind, pairs="always")
    reals = [r for r in sel["roots"] if not isinstance(r, tuple)]
    quads = [complex(a, b) for a, b in (r for r in sel["roots"] if isinstance(r, tuple))]
    if order == "leja":
        quads = leja_order(quads)
    if kind == "g":
        zeta = 1.0 / math.sqrt(sel["g"][0])
        return [zeta, zeta] + quads
    return [float(r) for r in reals] + quads


def polynomial_smoother_factors(level: Any, matrix: Any, *, roots: Any = None, g: Any = None, coefficients: Any = None,
                                precondition: str | None = None, degree: int = 3, ratio: float = 30.0,
                                method: str = "alg3", source: str | None = None) -> dict:
    """The factors of the ``"polynomial"`` smoother of one level, as every backend builds it.

    Resolves the registry options of ``{"name": "polynomial", ...}``
    (:mod:`mgcore.registry`) to the arguments of
    :class:`mgcore.polynomials.PolynomialSmoother`: given ``roots`` / ``g`` /
    ``coefficients`` pass through; ``source="spectrum"`` (the spec's
    ``"from"``) chooses ``degree`` roots from the level's spectrum with
    :func:`polynomial_roots_from_spectrum` (van Betteray, Rottmann & Kahl,
    *Poly-MgNet*, 2025, Alg. 2-3; exact high-frequency eigenvalues on a
    constant-coefficient grid level); otherwise the roots are the
    Chebyshev roots of degree ``degree`` on ``[lmax/ratio, 1.1 lmax]``.

    Parameters
    ----------
    level : GridLevelData, matrix or None
        Where the spectrum comes from (a grid level for the exact stencil
        spectrum; else ``matrix``).
    matrix : sparse matrix
        The level matrix (``lambda_max`` estimate, Jacobi diagonal).
    precondition : {None, "jacobi"}
        Polynomial in ``A`` or in ``D^{-1} A``.

    Returns
    -------
    dict
        ``{"roots", "g", "coefficients"}``.

    Examples
    --------
    >>> from mgcore.problems import poisson2d
    >>> d = poisson2d(n=15).level_data()
    >>> f = polynomial_smoother_factors(d, d.matrix(), source="spectrum", degree=3, precondition="jacobi")
    >>> len(f["roots"]) + 2 * len(f["g"] or []) >= 1, f["coefficients"] is None
    (True, True)
    """
    if precondition not in ("jacobi", None):
        raise ValueError(f"polynomial precondition must be 'jacobi' or None, got {precondition!r}")
    if source not in (None, "spectrum"):
        raise ValueError(f"polynomial 'from' must be 'spectrum' or None, got {source!r}")
    if isinstance(ratio, bool) or not isinstance(ratio, (int, float, np.integer, np.floating)) or not (
            np.isfinite(ratio) and ratio > 0):
        raise ValueError(f"polynomial ratio must be a finite number > 0, got {ratio!r}")
    given = roots is not None or g is not None or coefficients is not None
    if source == "spectrum" and given:
        raise ValueError("polynomial: give either from='spectrum' or roots=/g=/coefficients=, not both")
    if not given and (isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1):
        raise ValueError(f"polynomial degree must be an int >= 1, got {degree!r}")
    if source == "spectrum":
        sel = polynomial_roots_from_spectrum(matrix if level is None else level, int(degree), method,
                                             precondition=precondition, ratio=float(ratio))
        return {"roots": sel["roots"], "g": sel["g"] or None, "coefficients": None}
    if not given:
        from ..polynomials import chebyshev_roots
        from .bounds import estimate_lambda_max

        dinv = 1.0 / matrix.diagonal() if precondition == "jacobi" else None
        lmax = estimate_lambda_max(matrix, B=dinv)
        return {"roots": chebyshev_roots(int(degree), lmax / float(ratio), 1.1 * lmax), "g": None, "coefficients": None}
    return {"roots": roots, "g": g, "coefficients": coefficients}


def polynomial_factors_from_options(level: Any, matrix: Any, options: dict) -> dict:
    """:func:`polynomial_smoother_factors` from the registry options of ``"polynomial"`` (``"from"`` included)."""
    return polynomial_smoother_factors(
        level, matrix, roots=options.get("roots"), g=options.get("g"), coefficients=options.get("coefficients"),
        precondition=options.get("precondition"), degree=options.get("degree", 3), ratio=options.get("ratio", 30.0),
        method=options.get("method", "alg3"), source=options.get("from"),
    )
