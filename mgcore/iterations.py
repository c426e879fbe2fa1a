"""Iterative schemes of He & Xu, MgNet, 2019, §3.4, written once for every backend.

Seed 003 is He & Xu, *MgNet* (``003_16cadc847c125d93.txt`` in the seeds folder).

Every smoother here is an object with one method, ``smooth(A, f, u, nu)``,
that runs ``nu`` steps of an iteration for ``A u = f`` from the iterate ``u``
(``u = None`` is the zero iterate, so that the first step needs no product
with ``A``).  The arithmetic uses only ``+``, ``-``, scalar ``*`` and calls of
``A`` and ``B``: the same code runs on numpy arrays, on numba-backed
structured grids and on torch tensors.

=================================== ==========================================
:class:`ResidualCorrection`         He & Xu, MgNet, 2019, eq. (3.20), ``u += B(f - A u)``
:class:`StepwiseResidualCorrection` eq. (3.20)/(6.4) with ``B^i`` per step
:class:`MultiStep`                  He & Xu, MgNet, 2019, eq. (3.21)-(3.22)
:class:`ChebyshevSemiIteration`     He & Xu, MgNet, 2019, eq. (3.23)-(3.24)
=================================== ==========================================

No numpy or torch import is allowed in this module (a test enforces it).
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

__all__ = [
    "Smoother",
    "ResidualCorrection",
    "StepwiseResidualCorrection",
    "MultiStep",
    "ChebyshevSemiIteration",
    "chebyshev_omegas",
    "as_smoother",
    "residual_correction",
]


class Smoother:
    """Base class of smoothers: ``smooth(A, f, u, nu) -> u``.

    Subclasses implement :meth:`smooth`.  ``u = None`` stands for the zero
    iterate.  Implementations may update ``u`` in place and return it.
    """

    def smooth(self, A: Callable[[Any], Any], f: Any, u: Any, nu: int) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} must implement smooth(A, f, u, nu)")

    def __call__(self, A: Callable[[Any], Any], f: Any, u: Any, nu: int) -> Any:
        return self.smooth(A, f, u, nu)


def residual_correction(A: Callable[[Any], Any], B: Callable[[Any], Any], f: Any, u: Any) -> Any:
    """One step of He & Xu, MgNet, 2019, eq. (3.20): ``u + B(f - A(u))``; ``u=None`` is zero."""
    if u is None:
        return B(f)
    return u + B(f - A(u))


class ResidualCorrection(Smoother):
    """Stationary residual correction ``u^i = u^{i-1} + B(f - A u^{i-1})``.

    Seed 003 eq. (3.20) with ``B^i = B`` for all ``i``; with ``B = S^l`` it is
    the smoothing step (5.12) of MG0 (Alg. 1).

    Parameters
    ----------
    B : callable
        ``B(r) -> correction``; linear (a smoother such as ``omega D^{-1}``) or
        not (a CNN block ``sigma o eta o sigma``, eq. 3.19).
    """

    def __init__(self, B: Callable[[Any], Any]):
        if not callable(B):
            raise TypeError(f"ResidualCorrection: B must be callable, got {type(B).__name__}")
        self.B = B

    def smooth(self, A, f, u, nu):
        for _ in range(nu):
            u = residual_correction(A, self.B, f, u)
        return u

    def __repr__(self) -> str:
        return f"ResidualCorrection(B={self.B!r})"


class StepwiseResidualCorrection(Smoother):
    """Non-stationary residual correction with one ``B^i`` per step.

    Seed 003 eq. (3.20) / MgNet eq. (6.4) with ``B^{l,i}``; van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, Alg. 2
    (Poly-MgNet) with ``B^{(k)} = 1/zeta_k``.  ``nu`` must not exceed the
    number of operators given.
    """

    def __init__(self, Bs: Sequence[Callable[[Any], Any]]):
        Bs = list(Bs)
        if not Bs:
            raise ValueError("StepwiseResidualCorrection: Bs must hold at least one operator")
        for i, B in enumerate(Bs):
            if not callable(B):
                raise TypeError(f"StepwiseResidualCorrection: Bs[{i}] must be callable, got {type(B).__name__}")
        self.Bs = Bs

    def smooth(self, A, f, u, nu):
        if nu > len(self.Bs):
            raise ValueError(f"nu = {nu} smoothing steps requested but only {len(self.Bs)} operators B^i were given")
        for i in range(nu):
            u = residual_correction(A, self.Bs[i], f, u)
        return u


class MultiStep(Smoother):
    """Multi-step scheme of He & Xu, MgNet, 2019, eq. (3.21).

    ``u^i = sum_{j<i} alpha[i-1][j] (u^j + B^i_j (f - A u^j))`` with
    ``alpha[i-1][j] >= 0`` and ``sum_j alpha[i-1][j] = 1`` (checked).

    Parameters
    ----------
    alpha : sequence of sequences of float
        ``alpha[i-1]`` holds the ``i`` weights ``alpha^i_0 .. alpha^i_{i-1}``.
    B : callable or nested sequence
        One operator for all ``(i, j)``, or ``B[i-1][j]``.
    """

    def __init__(self, alpha: Sequence[Sequence[float]], B: Any):
        alpha = [list(map(float, row)) for row in alpha]
        for i, row in enumerate(alpha):
            if len(row) != i + 1:
                raise ValueError(f"MultiStep: alpha[{i}] must have {i + 1} weights, got {len(row)}")
            if any(a < 0 for a in row) or abs(sum(row) - 1.0) > 1e-12:
                raise ValueError(f"MultiStep: alpha[{i}] must be non-negative and sum to 1, got {row}")
        self.alpha = alpha
        self.B = B

    def _B(self, i: int, j: int):
        return self.B if callable(self.B) else self.B[i][j]

    def smooth(self, A, f, u, nu):
        if nu > len(self.alpha):
            raise ValueError(f"MultiStep: nu = {nu} exceeds the {len(self.alpha)} rows of alpha")
        us = [u]
        for i in range(nu):
            acc = None
            for j, a in enumerate(self.alpha[i]):
                if a == 0.0:
                    continue
                term = residual_correction(A, self._B(i, j), f, us[j])
                acc = a * term if acc is None else acc + a * term
            us.append(acc)
        return us[-1]


def chebyshev_omegas(nu: int, lmin: float, lmax: float) -> tuple[float, list[float]]:
    """Step size ``tau`` and weights ``omega^i`` of the Chebyshev semi-iteration.

    For ``B A`` with spectrum in ``[lmin, lmax]`` (``0 < lmin < lmax``) the scheme
    (3.23) with ``B -> tau B``, ``tau = 2/(lmin+lmax)``, ``omega^1 = 1``,
    ``omega^2 = 2/(2 - rho^2)``, ``omega^{i+1} = 1/(1 - rho^2 omega^i/4)``,
    ``rho = (lmax - lmin)/(lmax + lmin)``, has the residual polynomial
    ``T_nu((lmax+lmin-2x)/(lmax-lmin)) / T_nu((lmax+lmin)/(lmax-lmin))``.
    """
    if not (lmax > lmin > 0):
        raise ValueError(f"Chebyshev bounds need 0 < lmin < lmax, got lmin={lmin}, lmax={lmax}")
    tau = 2.0 / (lmin + lmax)
    rho = (lmax - lmin) / (lmax + lmin)
    omegas: list[float] = []
    for i in range(nu):
        if i == 0:
            w = 1.0
        elif i == 1:
            w = 2.0 / (2.0 - rho * rho)
        else:
            w = 1.0 / (1.0 - rho * rho * omegas[-1] / 4.0)
        omegas.append(w)
    return tau, omegas


def chebyshev_bound(nu: int, lmin: float, lmax: float) -> float:
    """``max_{x in [lmin, lmax]} |residual polynomial|`` = ``1/T_nu((lmax+lmin)/(lmax-lmin))``."""
    t = (lmax + lmin) / (lmax - lmin)
    return 1.0 / math.cosh(nu * math.acosh(t))


class _Scaled:
    """``r -> tau * B(r)`` as a picklable object."""

    def __init__(self, B, tau):
        self.B, self.tau = B, tau

    def __call__(self, r):
        return self.tau * self.B(r)


class ChebyshevSemiIteration(Smoother):
    """Chebyshev semi-iterative smoother, He & Xu, MgNet, 2019, eq. (3.23)-(3.24).

    ``u^i = omega^i (u^{i-1} + tau B(f - A u^{i-1})) + (1 - omega^i) u^{i-2}``.
    The weights are those of :func:`chebyshev_omegas` for the interval
    ``[lmin, lmax]`` that is to be damped in the spectrum of ``B A``
    (e.g. ``[lmax/30, 1.1 lmax]`` for a multigrid smoother).  ``nu`` steps
    realise a polynomial of degree ``nu`` in ``B A``.

    Parameters
    ----------
    B : callable
        Preconditioner (identity for plain Chebyshev, ``D^{-1}`` for
        Jacobi-Chebyshev).
    lmin, lmax : float
        Interval of ``spec(B A)`` to damp.
    """

    def __init__(self, B: Callable[[Any], Any], lmin: float, lmax: float):
        if not callable(B):
            raise TypeError(f"ChebyshevSemiIteration: B must be callable, got {type(B).__name__}")
        chebyshev_omegas(1, lmin, lmax)  # validates the bounds
        self.B, self.lmin, self.lmax = B, float(lmin), float(lmax)

    def bound(self, nu: int) -> float:
        """Guaranteed reduction factor on ``[lmin, lmax]`` after ``nu`` steps."""
        return chebyshev_bound(nu, self.lmin, self.lmax)

    def smooth(self, A, f, u, nu):
        tau, omegas = chebyshev_omegas(nu, self.lmin, self.lmax)
        tB = _Scaled(self.B, tau)
        u_prev = None
        for w in omegas:
            step = residual_correction(A, tB, f, u)
            if w == 1.0:
                new = step
            elif u_prev is None:
                new = w * step
            else:
                new = w * step + (1.0 - w) * u_prev
            u_prev, u = u, new
        return u

    def __repr__(self) -> str:
        return f"ChebyshevSemiIteration(lmin={self.lmin:.3g}, lmax={self.lmax:.3g})"


def as_smoother(S: Any, argname: str = "B") -> Smoother:
    """Normalise a smoother argument.

    A :class:`Smoother` (anything with a ``smooth`` method) is returned as is;
    a list/tuple of callables becomes :class:`StepwiseResidualCorrection`;
    a callable becomes :class:`ResidualCorrection`.
    """
    if hasattr(S, "smooth") and callable(getattr(S, "smooth")):
        return S
    if isinstance(S, (list, tuple)):
        return StepwiseResidualCorrection(S)
    if callable(S):
        return ResidualCorrection(S)
    raise TypeError(
        f"{argname} must be a Smoother (with .smooth(A, f, u, nu)), a callable B(r), "
        f"or a list of callables (one B^i per step); got {type(S).__name__}"
    )
