"""Polynomial smoothers: coefficient form, root form, Chebyshev roots, root selection.

Seed 000 (van Betteray, Rottmann, Kahl, *Poly-MgNet*) replaces the smoother
``B`` of the residual correction ``u <- u + B(f - A u)`` by a polynomial
``p_d(A) = sum_i alpha_i A^i`` (eq. 10-11).  One such step multiplies the
residual by the *residual polynomial*

.. math::  q(A) = I - A\\,p(A), \\qquad q(0) = 1 \\qquad \\text{(eq. 13-14)}

which factors over its roots ``zeta`` (eq. 15-16).  This module holds

=============================== ==============================================
:class:`PolynomialSmoother`      the smoother, from roots (real roots, complex-
                                 conjugate pairs, g-factors) or coefficients
:func:`roots_to_coefficients`    factored form -> ``alpha_0 .. alpha_{d-1}``
:func:`coefficients_to_roots`    ``alpha`` -> real roots and conjugate pairs
:func:`residual_polynomial`      evaluate ``q`` at real or complex points
:func:`chebyshev_roots`          roots of the scaled Chebyshev residual
                                 polynomial on ``[lmin, lmax]``
:func:`select_roots`             van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, Alg. 3 and the g-form choice
                                 (text after eq. 20) from a spectrum
=============================== ==============================================

The factors of ``q`` and how one factor updates the iterate (``r = f - A u``,
``M`` an optional preconditioner, identity by default):

=================== ============================ ===============================
real root ``zeta``  ``1 - x/zeta``  (eq. 15)     ``u += (1/zeta) M r``  (Alg. 2 l. 3)
pair ``a +- ib``    ``(1 - x/z)(1 - x/conj z)``  ``u += (2a/s) M r - (1/s) M A M r``,
                    (eq. 17)                     ``s = a^2 + b^2`` (eq. 19, Alg. 2 l. 10)
g-factor ``alpha``  ``1 - alpha x^2`` (eq. 20)   ``u += alpha M A M r``
=================== ============================ ===============================

with ``x`` standing for ``M A``.  The arithmetic uses only ``+``, ``-``, ``*``
and ``/`` on the stored numbers and never converts them, so the roots may be
Python floats or 0-dim torch tensors (learnable roots in the torch backend).

No numpy or torch import at module level; :func:`coefficients_to_roots`
imports numpy lazily to find polynomial roots.
"""

from __future__ import annotations

import cmath
import math
from typing import Any, Callable, Iterable, Sequence

from .iterations import Smoother

__all__ = [
    "PolynomialSmoother",
    "roots_to_coefficients",
    "coefficients_to_roots",
    "residual_polynomial",
    "chebyshev_roots",
    "select_roots",
]


def _is_number_like(z: Any) -> bool:
    return not isinstance(z, (str, bytes, bool)) and z is not None


def _is_zero(z: Any) -> bool:
    try:
        return bool(z == 0)
    except (TypeError, RuntimeError, ValueError):  # pragma: no cover - exotic scalars
        return False


def _parse_root(z: Any, where: str) -> tuple:
    """One entry of ``roots`` -> ``("linear", zeta)`` or ``("pair", a, b)``."""
    if isinstance(z, (tuple, list)):
        if len(z) != 2 or not all(_is_number_like(v) for v in z):
            raise ValueError(f"{where}: a conjugate pair is given as (a, b) for a +- ib, got {z!r}")
        a, b = z
        if _is_zero(a) and _is_zero(b):
            raise ValueError(f"{where}: the pair (0, 0) is not a valid root (q(0) = 1 by construction)")
        return ("pair", a, b)
    if isinstance(z, complex):  # includes numpy complex scalars
        if z.imag == 0:
            if z.real == 0:
                raise ValueError(f"{where}: 0 is not a valid root (q(0) = 1 by construction)")
            return ("linear", z.real)
        return ("pair", z.real, abs(z.imag))
    if not _is_number_like(z):
        raise TypeError(f"{where}: a root must be a real number, a complex number or a pair (a, b); got {z!r}")
    if _is_zero(z):
        raise ValueError(f"{where}: 0 is not a valid root (q(0) = 1 by construction)")
    return ("linear", z)


class PolynomialSmoother(Smoother):
    """Polynomial smoother ``u <- u + p(M A) M (f - A u)`` (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, eq. 10).

    Give either the factored form (``roots`` and/or ``g``) or
    ``coefficients``.  One smoothing step (``nu = 1``) applies the whole
    polynomial once, so that the residual (for ``M = I``) is multiplied by
    ``q(A) = I - A p(A)``; ``nu`` steps apply ``q(A)^nu``.

    Parameters
    ----------
    roots : sequence, optional
        Roots of the residual polynomial ``q``, applied in the given order
        after the g-factors (eq. 18, 21).  A real number ``zeta`` is a linear
        factor ``(I - A/zeta)`` (eq. 15), applied as the Richardson step
        ``u += (1/zeta) r`` (Alg. 2 line 3).  A pair ``(a, b)`` or a complex
        number ``a + ib`` (``b != 0``) stands for the conjugate pair
        ``a +- ib``: the real quadratic factor
        ``(I - A/z)(I - A/conj(z)) = I - (2a/s) A + (1/s) A^2``,
        ``s = a^2 + b^2`` (eq. 17), applied in real arithmetic as one step
        ``u += (2a/s) r - (1/s) A r`` (eq. 19, Alg. 2 line 10).  Do not list
        the conjugate as well: one entry is the whole pair.
    g : sequence, optional
        Coefficients ``alpha`` of g-factors ``(I - alpha A^2)`` (eq. 20),
        applied first, as ``u += alpha A r``.
    coefficients : sequence, optional
        ``alpha_0 .. alpha_d`` of ``p(A) = sum_i alpha_i A^i`` (eq. 11),
        applied as ``u += p(A) r`` with Horner's scheme (``d`` products
        with ``A``).  Excludes ``roots`` and ``g``.
    M : callable, optional
        Preconditioner (e.g. ``D^{-1}``): every ``r`` above becomes ``M r``
        and every ``A`` becomes ``M A``, i.e. the polynomial is in ``M A``.

    Notes
    -----
    Cost of one step: one product with ``A`` per real root (the residual),
    two per pair or g-factor, ``d + 1`` for the coefficient form.

    Examples
    --------
    >>> from mgcore.polynomials import PolynomialSmoother
    >>> S = PolynomialSmoother([2.0, (1.0, 1.0)])
    >>> S.degree, S.q(2.0), S.q(1 + 1j)
    (3, 0.0, 0j)
    >>> A = lambda u: 2.0 * u          # the 1x1 "matrix" 2: the root 2 solves exactly
    >>> S.smooth(A, 4.0, None, 1)
    2.0
    """

    def __init__(
        self,
        roots: Sequence[Any] | None = None,
        *,
        g: Sequence[Any] | None = None,
        coefficients: Sequence[Any] | None = None,
        M: Callable[[Any], Any] | None = None,
    ):
        if M is not None and not callable(M):
            raise TypeError(f"PolynomialSmoother: M must be callable or None, got {type(M).__name__}")
        self.M = M
        if coefficients is not None:
            if roots is not None or g is not None:
                raise ValueError("PolynomialSmoother: give either coefficients= or roots=/g=, not both")
            coefficients = list(coefficients)
            if not coefficients:
                raise ValueError("PolynomialSmoother: coefficients must hold at least alpha_0")
            for i, c in enumerate(coefficients):
                if not _is_number_like(c) or isinstance(c, (tuple, list)):
                    raise TypeError(f"PolynomialSmoother: coefficients[{i}] must be a number, got {c!r}")
            self.coefficients: list | None = coefficients
            self.factors: list[tuple] = []
            return
        self.coefficients = None
        factors: list[tuple] = []
        for i, a in enumerate(list(g or [])):
            if not _is_number_like(a) or isinstance(a, (tuple, list, complex)):
                raise TypeError(f"PolynomialSmoother: g[{i}] must be a real number alpha, got {a!r}")
            factors.append(("g", a))
        for i, z in enumerate(list(roots or [])):
            factors.append(_parse_root(z, f"PolynomialSmoother: roots[{i}]"))
        if not factors:
            raise ValueError("PolynomialSmoother: give roots=, g= or coefficients= (at least one factor)")
        self.factors = factors

    # ------------------------------------------------------------ properties
    @property
    def degree(self) -> int:
        """Degree of the residual polynomial ``q`` (that of ``p`` plus one)."""
        if self.coefficients is not None:
            return len(self.coefficients)
        return sum(1 if f[0] == "linear" else 2 for f in self.factors)

    @property
    def roots(self) -> list:
        """Real roots and pairs ``(a, b)`` in application order (empty in coefficient form)."""
        return [f[1] if f[0] == "linear" else (f[1], f[2]) for f in self.factors if f[0] != "g"]

    @property
    def g(self) -> list:
        """g-factor coefficients ``alpha`` (empty in coefficient form)."""
        return [f[1] for f in self.factors if f[0] == "g"]

    def to_coefficients(self) -> list:
        """Coefficients ``alpha_0 .. alpha_{d-1}`` of ``p`` (see :func:`roots_to_coefficients`)."""
        if self.coefficients is not None:
            return list(self.coefficients)
        return roots_to_coefficients(self.roots, g=self.g)

    def q(self, x: Any) -> Any:
        """Residual polynomial ``q(x) = 1 - x p(x)`` at a real or complex point ``x``."""
        if self.coefficients is not None:
            acc = 0.0
            for c in reversed(self.coefficients):
                acc = acc * x + c
            return 1.0 - x * acc
        val = 1.0
        for f in self.factors:
            if f[0] == "linear":
                val = val * (1.0 - x / f[1])
            elif f[0] == "pair":
                s = f[1] * f[1] + f[2] * f[2]
                val = val * (1.0 - (2.0 * f[1] / s) * x + (x * x) / s)
            else:
                val = val * (1.0 - f[1] * x * x)
        return val

    # ------------------------------------------------------------- smoothing
    def _prec(self, r: Any) -> Any:
        return r if self.M is None else self.M(r)

    def step(self, A: Callable[[Any], Any], f: Any, u: Any) -> Any:
        """Apply the whole polynomial once (one smoothing step)."""
        if self.coefficients is not None:
            r = f if u is None else f - A(u)
            z = self._prec(r)
            c = self.coefficients
            y = c[-1] * z
            for a in reversed(c[:-1]):
                y = self._prec(A(y)) + a * z
            return y if u is None else u + y
        for fac in self.factors:
            r = f if u is None else f - A(u)
            z = self._prec(r)
            if fac[0] == "linear":
                upd = (1.0 / fac[1]) * z
            elif fac[0] == "pair":
                s = fac[1] * fac[1] + fac[2] * fac[2]
                upd = (2.0 * fac[1] / s) * z - (1.0 / s) * self._prec(A(z))
            else:
                upd = fac[1] * self._prec(A(z))
            u = upd if u is None else u + upd
        return u

    def smooth(self, A, f, u, nu):
        for _ in range(nu):
            u = self.step(A, f, u)
        return u

    def __repr__(self) -> str:
        pre = "" if self.M is None else ", M=..."
        if self.coefficients is not None:
            return f"PolynomialSmoother(coefficients={self.coefficients!r}{pre})"
        parts = [f"roots={self.roots!r}"] if self.roots else []
        if self.g:
            parts.append(f"g={self.g!r}")
        return f"PolynomialSmoother({', '.join(parts)}{pre})"


# ---------------------------------------------------------------- conversions
def _poly_mul(p: list, q: list) -> list:
    out = [0.0] * (len(p) + len(q) - 1)
    for i, a in enumerate(p):
        for j, b in enumerate(q):
            out[i + j] = out[i + j] + a * b
    return out


def roots_to_coefficients(roots: Sequence[Any] = (), g: Sequence[Any] = ()) -> list:
    """Coefficients of ``p`` from the roots of ``q = 1 - x p(x)`` (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, eq. 14-15, 18, 21).

    Parameters
    ----------
    roots : sequence
        Real roots, pairs ``(a, b)`` or complex numbers (one per conjugate
        pair), as in :class:`PolynomialSmoother`.
    g : sequence
        g-factor coefficients ``alpha`` (factors ``1 - alpha x^2``).

    Returns
    -------
    list
        ``[alpha_0, ..., alpha_{d-1}]`` with ``q(x) = 1 - sum_i alpha_i x^{i+1}``
        and ``d`` the degree of ``q``.  Pure arithmetic: works with floats and
        0-dim tensors alike.

    Examples
    --------
    >>> from mgcore.polynomials import roots_to_coefficients
    >>> roots_to_coefficients([1.0, 2.0])      # (1 - x)(1 - x/2) = 1 - 1.5 x + 0.5 x^2
    [1.5, -0.5]
    """
    S = PolynomialSmoother(list(roots), g=list(g))
    q = [1.0]
    for f in S.factors:
        if f[0] == "linear":
            q = _poly_mul(q, [1.0, -1.0 / f[1]])
        elif f[0] == "pair":
            s = f[1] * f[1] + f[2] * f[2]
            q = _poly_mul(q, [1.0, -2.0 * f[1] / s, 1.0 / s])
        else:
            q = _poly_mul(q, [1.0, 0.0, -f[1]])
    return [-c for c in q[1:]]


def coefficients_to_roots(coefficients: Sequence[float], tol: float = 1e-8) -> list:
    """Roots of ``q(x) = 1 - x p(x)`` for ``p`` with coefficients ``alpha_0 .. alpha_d``.

    Complex roots of the real polynomial come in conjugate pairs; each pair is
    returned once as ``(a, b)`` with ``b > 0`` (a quadratic factor, van Betteray, Rottmann & Kahl, Poly-MgNet, 2025,
    eq. 17), real roots as floats.  A root counts as real when
    ``|Im z| <= tol |z|``.

    Returns
    -------
    list
        Real roots (ascending) followed by pairs (ascending ``a``); usable as
        ``PolynomialSmoother(roots=...)``.  Empty if ``p = 0``.

    Raises
    ------
    ValueError
        If the coefficients are not finite real numbers.

    Examples
    --------
    >>> from mgcore.polynomials import coefficients_to_roots
    >>> [round(r, 12) for r in coefficients_to_roots([1.5, -0.5])]
    [1.0, 2.0]
    """
    import numpy as np  # lazy: conversion helper only

    c = [float(a) for a in coefficients]
    if not all(math.isfinite(a) for a in c):
        raise ValueError(f"coefficients must be finite real numbers, got {coefficients!r}")
    while c and c[-1] == 0.0:
        c.pop()
    if not c:
        return []
    # q(x) = 1 - sum alpha_i x^{i+1}; numpy.roots wants the highest degree first
    qc = [-a for a in reversed(c)] + [1.0]
    zs = np.roots(qc)
    real, pairs, neg = [], [], 0
    for z in zs:
        if abs(z.imag) <= tol * abs(z):
            real.append(float(z.real))
        elif z.imag > 0:
            pairs.append((float(z.real), float(z.imag)))
        else:
            neg += 1
    if neg != len(pairs):  # pragma: no cover - cannot happen for real coefficients
        raise ValueError("complex roots do not pair up into conjugates; increase tol")
    return sorted(real) + sorted(pairs)


def residual_polynomial(
    x: Any,
    roots: Sequence[Any] | None = None,
    *,
    g: Sequence[Any] | None = None,
    coefficients: Sequence[Any] | None = None,
) -> Any:
    """Evaluate ``q(x) = 1 - x p(x)`` (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, eq. 14, 16) at scalars.

    Parameters
    ----------
    x : number or sequence of numbers
        Real or complex evaluation points; a sequence gives a list.
    roots, g, coefficients
        As in :class:`PolynomialSmoother` (or pass a smoother as ``roots``).

    Examples
    --------
    >>> from mgcore.polynomials import residual_polynomial
    >>> residual_polynomial([0.0, 1.0, 3.0], roots=[1.0, 2.0])
    [1.0, 0.0, 1.0]
    >>> residual_polynomial(1 + 2j, roots=[(1.0, 2.0)])
    0j
    """
    S = roots if isinstance(roots, PolynomialSmoother) else PolynomialSmoother(roots, g=g, coefficients=coefficients)
    if isinstance(x, (list, tuple)):
        return [S.q(v) for v in x]
    return S.q(x)


def chebyshev_roots(degree: int, lmin: float, lmax: float) -> list[float]:
    """Roots of the scaled Chebyshev residual polynomial on ``[lmin, lmax]``.

    ``q(x) = T_d((lmax + lmin - 2x)/(lmax - lmin)) / T_d((lmax + lmin)/(lmax - lmin))``
    is the residual polynomial of ``d`` steps of the Chebyshev semi-iteration
    (He & Xu, MgNet, 2019, eq. 3.23-3.24); its roots are
    ``(lmax + lmin)/2 - (lmax - lmin)/2 cos((2k - 1) pi / (2d))``, ``k = 1..d``.
    With them, ``PolynomialSmoother(chebyshev_roots(d, lmin, lmax))`` equals
    :class:`~mgcore.iterations.ChebyshevSemiIteration` with ``nu = d``
    (up to round-off).

    The roots are returned largest, smallest, second largest, second
    smallest, ... which keeps the intermediate iterates of the factored form
    bounded (the small roots, i.e. large steps, are interleaved with
    damping ones).

    Examples
    --------
    >>> from mgcore.polynomials import chebyshev_roots
    >>> [round(r, 12) for r in chebyshev_roots(2, 1.0, 3.0)]
    [2.707106781187, 1.292893218813]
    """
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
        raise ValueError(f"degree must be an int >= 1, got {degree!r}")
    if not (lmax > lmin > 0):
        raise ValueError(f"chebyshev_roots needs 0 < lmin < lmax, got lmin={lmin}, lmax={lmax}")
    c, h = 0.5 * (lmax + lmin), 0.5 * (lmax - lmin)
    asc = sorted(c - h * math.cos((2 * k - 1) * math.pi / (2 * degree)) for k in range(1, degree + 1))
    out = []
    lo, hi = 0, degree - 1
    while lo <= hi:
        out.append(asc[hi])
        hi -= 1
        if lo <= hi:
            out.append(asc[lo])
            lo += 1
    return out


# ------------------------------------------------------------- root selection
def select_roots(eigenvalues: Iterable[Any], degree: int, kind: str = "q", tol: float = 1e-12) -> dict:
    """Choose polynomial roots from a spectrum, van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, Alg. 3 and eq. (20)-(21).

    ``kind="q"`` (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, Alg. 3, polynomials ``q_d`` of eq. 18):

    * ``zeta_1 = max Re(Lambda)``, ``zeta_2 = min Re(Lambda)`` (real roots
      covering the extent of the spectrum on the real axis);
    * ``zeta_3, zeta_4 = z, conj(z)`` with ``z = argmax Im(Lambda)`` (one
      conjugate pair, stored as ``(Re z, |Im z|)``);
    * then recursively: evaluate the current ``q`` on the spectrum and take
      ``z = argmax |q(Lambda)|`` and its conjugate as the next pair
      (Alg. 3 lines 1-4).

    ``kind="g"`` (eq. 20-21, polynomials ``g_d``): ``min(2, d/2)`` g-factors
    ``(1 - alpha x^2)`` with ``alpha = 1/zeta^2``,
    ``zeta = max(|max Re(Lambda)|, |min Re(Lambda)|)`` (so their roots
    ``+-zeta`` lie on or beyond the border of the spectrum), then conjugate
    pairs chosen as above.  ``degree`` must be even.

    Generalisations (not in the seed, which only has even degrees and
    complex spectra): when the maximiser ``z`` is real (e.g. a real spectrum)
    it is added once as a real root, using one degree; when a single degree
    is left, the real part of the maximiser is added.  Ties go to the first
    eigenvalue in the given order.  Eigenvalues with
    ``|lambda| <= tol max|lambda|`` (a null space, where ``q(0) = 1`` cannot be
    changed) are ignored.

    Parameters
    ----------
    eigenvalues : iterable of numbers
        The spectrum ``Lambda`` (plain Python list of complex numbers, or
        anything whose entries convert with ``complex()``).
    degree : int
        Degree ``d`` of the residual polynomial (``>= 1``; even for ``"g"``).
    kind : {"q", "g"}
    tol : float
        Relative tolerance for "zero" eigenvalues and "real" maximisers.

    Returns
    -------
    dict
        ``{"roots": [...], "g": [...]}``, ready for
        ``PolynomialSmoother(**select_roots(...))``.

    Examples
    --------
    >>> from mgcore.polynomials import select_roots
    >>> select_roots([1.0, 2 + 1j, 2 - 1j, 4.0], 4)
    {'roots': [4.0, 1.0, (2.0, 1.0)], 'g': []}
    >>> select_roots([1.0, -2.0], 2, kind="g")
    {'roots': [], 'g': [0.25]}
    """
    if kind not in ("q", "g"):
        raise ValueError(f"kind must be 'q' or 'g', got {kind!r}")
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 1:
        raise ValueError(f"degree must be an int >= 1, got {degree!r}")
    if kind == "g" and degree % 2:
        raise ValueError(f"kind='g' polynomials have even degree (eq. 21: d = 2m + 2n), got degree={degree}")
    lam = [complex(z) for z in eigenvalues]
    if not lam or not all(cmath.isfinite(z) for z in lam):
        raise ValueError("eigenvalues must be a non-empty collection of finite numbers")
    scale = max(abs(z) for z in lam)
    if scale == 0.0:
        raise ValueError("eigenvalues are all zero: no polynomial with q(0) = 1 can reduce them")
    lam = [z for z in lam if abs(z) > tol * scale]
    re_max = max(z.real for z in lam)
    re_min = min(z.real for z in lam)
    roots: list = []
    g: list = []
    if kind == "q":
        for zeta in (re_max, re_min)[: min(degree, 2)]:
            if abs(zeta) <= tol * scale:
                raise ValueError(
                    "select_roots: the extreme real part of the spectrum is 0 and cannot be a root "
                    "(q(0) = 1); shift the spectrum or use kind='g'"
                )
            roots.append(zeta)
    else:
        zeta = max(abs(re_max), abs(re_min))
        if zeta <= tol * scale:
            raise ValueError("select_roots: the spectrum has no real extent (max |Re| = 0); g-factors need one")
        g = [1.0 / (zeta * zeta)] * min(2, degree // 2)
    remaining = degree - len(roots) - 2 * len(g)
    first_pair = True
    while remaining > 0:
        max_im = max(z.imag for z in lam)
        if first_pair and remaining >= 2 and max_im > tol * scale:
            z = next(v for v in lam if v.imag == max_im)
        else:
            S = PolynomialSmoother(roots or None, g=g or None)
            vals = [abs(S.q(v)) for v in lam]
            z = lam[vals.index(max(vals))]
        first_pair = False
        if remaining >= 2 and abs(z.imag) > tol * scale:
            roots.append((z.real, abs(z.imag)))
            remaining -= 2
        else:
            r = z.real if abs(z.real) > tol * scale else abs(z)
            roots.append(r)
            remaining -= 1
    return {"roots": roots, "g": g}
