"""Backend-neutral solve drivers: stationary cycling and preconditioned CG.

Both drivers record the residual history, detect divergence and non-finite
values, and say why they stopped.  They need from the backend only the
operations of the algorithms plus a norm / inner product given as functions,
so they import neither numpy nor torch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Callable

__all__ = ["StopReason", "SolveResult", "stationary_solve", "pcg", "check_tolerances"]


class StopReason(str, Enum):
    """Why an iteration stopped."""

    CONVERGED = "converged"
    MAXITER = "maxiter"
    DIVERGED = "diverged"
    NONFINITE = "non-finite"


@dataclass
class SolveResult:
    """Outcome of a solve.

    Attributes
    ----------
    x : array-like
        Final iterate.
    residuals : list of float
        ``||b - A x_k||`` for ``k = 0 .. iterations`` (2-norm).
    reason : StopReason
        Why the iteration stopped.
    iterations : int
        Number of cycles / Krylov steps taken.
    setup_seconds, solve_seconds : float
        Wall-clock times (setup filled in by the solver that built the
        hierarchy).
    info : dict
        Extra data (method, cycle, accel, ...).
    """

    x: Any
    residuals: list[float]
    reason: StopReason
    iterations: int
    setup_seconds: float = 0.0
    solve_seconds: float = 0.0
    info: dict = field(default_factory=dict)

    @property
    def converged(self) -> bool:
        """``True`` iff the tolerance was met."""
        return self.reason is StopReason.CONVERGED

    @property
    def convergence_factor(self) -> float:
        """Average reduction per iteration, ``(r_k / r_0)^(1/k)``.

        ``nan`` without iterations or with a zero/non-finite history.
        """
        k = len(self.residuals) - 1
        if k < 1 or not self.residuals[0] > 0 or not math.isfinite(self.residuals[-1]):
            return float("nan")
        if self.residuals[-1] == 0.0:
            return 0.0
        return (self.residuals[-1] / self.residuals[0]) ** (1.0 / k)

    @property
    def factors(self) -> list[float]:
        """Per-iteration reduction factors ``r_k / r_{k-1}``."""
        r = self.residuals
        return [r[k] / r[k - 1] if r[k - 1] > 0 else float("nan") for k in range(1, len(r))]

    def to_dict(self) -> dict:
        """JSON-ready summary (without ``x``)."""
        return {
            "converged": self.converged,
            "reason": self.reason.value,
            "iterations": self.iterations,
            "residuals": [float(r) for r in self.residuals],
            "convergence_factor": self.convergence_factor,
            "setup_seconds": self.setup_seconds,
            "solve_seconds": self.solve_seconds,
            **{k: v for k, v in self.info.items() if isinstance(v, (int, float, str, bool, type(None)))},
        }


def check_tolerances(rtol: float, atol: float, maxiter: int) -> None:
    """Validate the common solve arguments with clear errors."""
    if not (isinstance(rtol, (int, float)) and math.isfinite(rtol) and rtol >= 0):
        raise ValueError(f"rtol must be a finite number >= 0, got {rtol!r}")
    if not (isinstance(atol, (int, float)) and math.isfinite(atol) and atol >= 0):
        raise ValueError(f"atol must be a finite number >= 0, got {atol!r}")
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol cannot both be 0 (the iteration could never stop)")
    if isinstance(maxiter, bool) or not isinstance(maxiter, int) or maxiter < 0:
        raise ValueError(f"maxiter must be an int >= 0, got {maxiter!r}")


def stationary_solve(
    step: Callable[[Any], Any],
    residual_norm: Callable[[Any], float],
    x0: Any,
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int = 100,
    callback: Callable[[Any, int, float], Any] | None = None,
    divergence_factor: float = 1e4,
    r0: float | None = None,
) -> SolveResult:
    """Iterate ``x <- step(x)`` until ``||r|| <= max(rtol ||r_0||, atol)``.

    Parameters
    ----------
    step : callable
        One iteration (e.g. a multigrid cycle) ``x -> x_new``.
    residual_norm : callable
        ``x -> ||b - A x||``.
    x0 : array-like
        Initial iterate.
    rtol, atol : float
        Relative (to the initial residual) and absolute tolerances.
    maxiter : int
        Maximum number of steps.
    callback : callable, optional
        ``callback(x, k, res)`` after each step.
    divergence_factor : float
        Stop with :attr:`StopReason.DIVERGED` once ``||r_k|| > factor ||r_0||``.
    r0 : float, optional
        Reference norm for ``rtol`` (default ``||r_0||``; solvers pass ``||b||``
        when ``x0`` is zero).

    Returns
    -------
    SolveResult
    """
    check_tolerances(rtol, atol, maxiter)
    x = x0
    res = float(residual_norm(x))
    history = [res]
    ref = res if r0 is None else r0
    tol = max(rtol * ref, atol)
    if not math.isfinite(res):
        return SolveResult(x, history, StopReason.NONFINITE, 0)
    reason = StopReason.MAXITER
    k = 0
    if res <= tol:
        reason = StopReason.CONVERGED
    while reason is StopReason.MAXITER and k < maxiter:
        x = step(x)
        k += 1
        res = float(residual_norm(x))
        history.append(res)
        if callback is not None:
            callback(x, k, res)
        if not math.isfinite(res):
            reason = StopReason.NONFINITE
        elif res <= tol:
            reason = StopReason.CONVERGED
        elif res > divergence_factor * max(history[0], tol):
            reason = StopReason.DIVERGED
    return SolveResult(x, history, reason, k)


def pcg(
    A: Callable[[Any], Any],
    b: Any,
    x0: Any,
    M: Callable[[Any], Any] | None,
    dot: Callable[[Any, Any], float],
    rtol: float = 1e-8,
    atol: float = 0.0,
    maxiter: int = 100,
    callback: Callable[[Any, int, float], Any] | None = None,
    divergence_factor: float = 1e4,
) -> SolveResult:
    """Preconditioned conjugate gradients for SPD ``A`` and SPD ``M``.

    Residual norms are true 2-norms of the recursively updated residual.
    A non-positive curvature ``p^T A p <= 0`` or ``r^T M r < 0`` means the
    operator or preconditioner is not SPD: the solve stops with
    :attr:`StopReason.DIVERGED` and ``info['breakdown']`` says which.
    """
    check_tolerances(rtol, atol, maxiter)
    x = x0
    r = b - A(x) if x is not None else b
    if x is None:
        x = b - b
    res = math.sqrt(max(dot(r, r), 0.0))
    history = [res]
    tol = max(rtol * res, atol)
    if not math.isfinite(res):
        return SolveResult(x, history, StopReason.NONFINITE, 0)
    if res <= tol:
        return SolveResult(x, history, StopReason.CONVERGED, 0)
    z = M(r) if M is not None else r
    rz = dot(r, z)
    p = z
    info: dict = {}
    reason = StopReason.MAXITER
    k = 0
    while k < maxiter:
        if rz < 0 or not math.isfinite(rz):
            reason = StopReason.NONFINITE if not math.isfinite(rz) else StopReason.DIVERGED
            info["breakdown"] = "preconditioner is not positive definite (r^T M r < 0)"
            break
        Ap = A(p)
        pAp = dot(p, Ap)
        if not math.isfinite(pAp):
            reason = StopReason.NONFINITE
            break
        if pAp <= 0:
            reason = StopReason.DIVERGED
            info["breakdown"] = "operator is not positive definite (p^T A p <= 0)"
            break
        alpha = rz / pAp
        x = x + alpha * p
        r = r - alpha * Ap
        k += 1
        res = math.sqrt(max(dot(r, r), 0.0))
        history.append(res)
        if callback is not None:
            callback(x, k, res)
        if not math.isfinite(res):
            reason = StopReason.NONFINITE
            break
        if res <= tol:
            reason = StopReason.CONVERGED
            break
        if res > divergence_factor * history[0]:
            reason = StopReason.DIVERGED
            break
        z = M(r) if M is not None else r
        rz_new = dot(r, z)
        beta = rz_new / rz
        rz = rz_new
        p = z + beta * p
    return SolveResult(x, history, reason, k, info=info)
