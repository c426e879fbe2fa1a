"""Polynomial smoothers of the sparse backend: Chebyshev semi-iteration (He & Xu, MgNet, 2019,
eq. 3.23-3.24) and polynomials from roots or coefficients (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025,
eq. 10-21).  Registered in :data:`mgcore.sparse.smoothers.SMOOTHERS`."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from ..iterations import ChebyshevSemiIteration
from ..polynomials import PolynomialSmoother
from ..spectrum import estimate_lambda_max

from ._smoother_base import (  # noqa: F401
    SparseSmoother, _DiagScale, _Identity, _MatVec, _as_csr, _check_positive, _grid_shape, _inverse_diagonal, _kernels,
)


def _same_operator(grid: Any, A: sp.csr_matrix) -> bool:
    """Whether a level's grid data assemble to ``A`` (re-discretised levels; not Galerkin ones)."""
    try:
        G = grid.matrix()
    except Exception:  # pragma: no cover - grid without an assembled form
        return False
    if G.shape != A.shape:
        return False
    diff = abs(G - A).max() if G.nnz or A.nnz else 0.0
    return bool(diff <= 1e-10 * max(abs(A).max(), 1e-300))


class Chebyshev(SparseSmoother):
    """Jacobi-preconditioned Chebyshev smoother (He & Xu, MgNet, 2019, eq. 3.23-3.24).

    One smoothing step is one Chebyshev polynomial of degree ``degree`` in
    ``D^{-1} A``: ``degree`` steps of
    :class:`~mgcore.iterations.ChebyshevSemiIteration` restarted at every
    smoothing step, so ``nu`` smoothing steps cost ``nu * degree`` products
    with ``A`` (a fixed polynomial per step keeps the smoother the same
    operator at every step and for every ``nu``).  The polynomial damps the
    interval ``[lmax/ratio, safety * lmax]``, ``lmax`` the largest eigenvalue
    of ``D^{-1} A`` (estimated by :func:`mgcore.spectrum.estimate_lambda_max`
    unless given), uniformly to ``1/T_degree(...)`` (:meth:`bound`).

    Parameters
    ----------
    A : sparse matrix
    degree : int
        Polynomial degree per smoothing step (default 3).
    ratio : float
        ``lmax / lmin`` of the damped interval (default 30).
    lmax : float, optional
        Largest eigenvalue of ``D^{-1} A`` (of ``A`` with
        ``precondition=None``); estimated when not given.
    safety : float
        Factor on ``lmax`` for the upper end of the interval (default 1.1).
    lower, upper : float, optional
        The interval ``[lower, upper]`` itself (both or none), instead of
        ``ratio``/``lmax``/``safety``; same meaning as in
        :mod:`mgcore.sparse.structured`.
    precondition : {"jacobi", None}
        ``"jacobi"``: polynomial in ``D^{-1} A``; ``None``: in ``A``.
    """

    name = "chebyshev"

    def __init__(
        self,
        A,
        degree: int = 3,
        ratio: float = 30.0,
        lmax: float | None = None,
        safety: float = 1.1,
        lower: float | None = None,
        upper: float | None = None,
        precondition: str | None = "jacobi",
        grid: Any = None,
    ):
        super().__init__(A)
        if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
            raise ValueError(f"Chebyshev: degree must be an int >= 1, got {degree!r}")
        if precondition not in ("jacobi", None):
            raise ValueError(f"Chebyshev: precondition must be 'jacobi' or None, got {precondition!r}")
        self.degree = int(degree)
        self.precondition = precondition
        if precondition == "jacobi":
            self.dinv = _inverse_diagonal(self.A, "Chebyshev")
            M = _DiagScale(self.dinv)
        else:
            self.dinv = None
            M = _Identity()
        if (lower is None) != (upper is None):
            raise ValueError("Chebyshev: give both lower and upper (the damped interval) or neither")
        if lower is not None:
            lo, hi = _check_positive(lower, "lower"), _check_positive(upper, "upper")
            if not lo < hi:
                raise ValueError(f"Chebyshev needs 0 < lower < upper, got lower={lower}, upper={upper}")
            self.lmax = hi
        else:
            ratio = _check_positive(ratio, "ratio")
            if ratio <= 1:
                raise ValueError(f"Chebyshev: ratio must be > 1, got {ratio!r}")
            safety = _check_positive(safety, "safety")
            self.lmax = estimate_lambda_max(self.A, B=self.dinv) if lmax is None else _check_positive(lmax, "lmax")
            lo, hi = self.lmax / ratio, safety * self.lmax
        self.semi = ChebyshevSemiIteration(M, lo, hi)
        self._Aop = _MatVec(self.A)

    @property
    def interval(self) -> tuple[float, float]:
        """The damped interval ``[lmin, lmax]`` of ``D^{-1} A``."""
        return self.semi.lmin, self.semi.lmax

    def bound(self) -> float:
        """Reduction factor of one step on the damped interval, ``1/T_degree``."""
        return self.semi.bound(self.degree)

    def _step(self, f, u):
        return self.semi.smooth(self._Aop, f, u, self.degree)

    def __repr__(self) -> str:
        lo, hi = self.interval
        return f"Chebyshev(degree={self.degree}, interval=[{lo:.4g}, {hi:.4g}], n={self.n})"


class Polynomial(SparseSmoother):
    """Polynomial smoother from roots or coefficients (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, eq. 10-21).

    Wraps :class:`mgcore.polynomials.PolynomialSmoother`; one smoothing step
    applies the whole polynomial once.  With ``precondition="jacobi"`` the
    polynomial is in ``D^{-1} A`` (roots then refer to the spectrum of
    ``D^{-1} A``, roughly ``(0, 2]`` for Laplacians).

    Parameters
    ----------
    A : sparse matrix
    roots : sequence, optional
        Real roots, pairs ``(a, b)`` or complex numbers (see
        :class:`~mgcore.polynomials.PolynomialSmoother`).
    g : sequence, optional
        g-factor coefficients (eq. 20).
    coefficients : sequence, optional
        ``alpha_0 .. alpha_d`` of ``p`` (eq. 11).
    precondition : {None, "jacobi"}
    degree, ratio : int, float
        Used only when no roots, g or coefficients are given: the roots are
        then :func:`~mgcore.polynomials.chebyshev_roots` of degree
        ``degree`` on ``[lmax/ratio, 1.1 lmax]`` of the (preconditioned)
        operator, ``lmax`` estimated.
    from : {None, "spectrum"}
        (Keyword ``"from"`` of the spec, e.g. ``{"name": "polynomial", "from":
        "spectrum", "degree": 4}``.)  Choose ``degree`` roots from the
        spectrum of the level with
        :func:`mgcore.analysis.polynomial_roots_from_spectrum`: on a
        constant-coefficient grid level the exact eigenvalues of its
        high-frequency modes, else those of the matrix (dense when small,
        else the interval ``[lmax/ratio, lmax]``), in Leja order.
    method : {"alg3", "leja", "chebyshev", "equispaced"}
        Root selection with ``from="spectrum"`` (default Poly-MgNet Alg. 3).
    """

    name = "polynomial"

    def __init__(
        self,
        A,
        roots: Any = None,
        g: Any = None,
        coefficients: Any = None,
        precondition: str | None = None,
        degree: int = 3,
        ratio: float = 30.0,
        method: str = "alg3",
        grid: Any = None,
        **source: Any,
    ):
        super().__init__(A)
        src = source.pop("from", None)
        if source:
            raise TypeError(f"Polynomial: unexpected option(s) {sorted(source)}")
        if precondition not in ("jacobi", None):
            raise ValueError(f"Polynomial: precondition must be 'jacobi' or None, got {precondition!r}")
        if src not in (None, "spectrum"):
            raise ValueError(f"Polynomial: 'from' must be 'spectrum' or None, got {src!r}")
        self.precondition = precondition
        self.dinv = _inverse_diagonal(self.A, "Polynomial") if precondition == "jacobi" else None
        M = None if self.dinv is None else _DiagScale(self.dinv)
        from ..analysis.roots import polynomial_smoother_factors

        level = grid if grid is not None and hasattr(grid, "matrix") and _same_operator(grid, self.A) else None
        fac = polynomial_smoother_factors(level, self.A, roots=roots, g=g, coefficients=coefficients,
                                          precondition=precondition, degree=degree, ratio=ratio, method=method,
                                          source=src)
        roots, g, coefficients = fac["roots"], fac["g"], fac["coefficients"]
        self.poly = PolynomialSmoother(roots, g=g, coefficients=coefficients, M=M)
        self._Aop = _MatVec(self.A)

    @classmethod
    def options(cls) -> tuple[str, ...]:
        return tuple(o for o in super().options() if o != "source") + ("from",)

    def _step(self, f, u):
        return self.poly.step(self._Aop, f, u)

    def __repr__(self) -> str:
        return f"Polynomial({self.poly!r}, precondition={self.precondition!r})"


