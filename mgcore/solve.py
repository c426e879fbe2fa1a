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

__all__ = [
    "StopReason", "SolveResult", "stationary_solve", "pcg", "check_tolerances", "IncompatibleRHSWarning",
    "ZeroRHSWarning", "STAGNATION_WINDOW", "STAGNATION_GAIN",
]

#: Stagnation: the best residual improved by less than ``STAGNATION_GAIN``
#: (relative) over the last ``STAGNATION_WINDOW`` iterations.
STAGNATION_WINDOW = 6
STAGNATION_GAIN = 0.02


class IncompatibleRHSWarning(UserWarning):
    """The right-hand side of a singular (pure Neumann) problem had a
    component in the null space; it was projected out (the message says how much)."""


class ZeroRHSWarning(UserWarning):
    """The right-hand side is zero, so the solution returned is ``x = 0``."""


class StopReason(str, Enum):
    """Why an iteration stopped."""

    CONVERGED = "converged"
    MAXITER = "maxiter"
    DIVERGED = "diverged"
    NONFINITE = "non-finite"
    STAGNATED = "stagnated"


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
        """Average reduction per iteration over the iterations that reduced the residual.

        ``(r_m / r_0)^(1/m)`` with ``m`` the iteration of the smallest
        residual (the whole history when it decreases to the end; a tail
        that stagnated or grew is not averaged in -- the history shows it).
        ``nan`` without iterations or with a zero/non-finite start.
        """
        r = self.residuals
        if len(r) < 2 or not r[0] > 0 or not math.isfinite(r[0]):
            return float("nan")
        finite = [(v, k) for k, v in enumerate(r) if math.isfinite(v)]
        best, m = min(finite)
        if m == 0:
            return (r[-1] / r[0]) ** (1.0 / (len(r) - 1)) if math.isfinite(r[-1]) else float("nan")
        if best == 0.0:
            return 0.0
        return (best / r[0]) ** (1.0 / m)

    @property
    def attainable_rtol(self) -> float:
        """Smallest relative residual reached, ``min_k r_k / r_0``."""
        r = [v for v in self.residuals if math.isfinite(v)]
        return min(r) / self.residuals[0] if r and self.residuals[0] > 0 else float("nan")

    @property
    def message(self) -> str:
        """One line saying how the solve ended, for people."""
        k = self.iterations
        if self.reason is StopReason.CONVERGED:
            return f"converged in {k} iterations (factor {self.convergence_factor:.3g})"
        if self.reason is StopReason.STAGNATED:
            return (
                f"stagnated after {k} iterations: the residual stopped decreasing at {self.attainable_rtol:.2e} of "
                f"the initial one (the attainable accuracy of this problem in this precision); "
                f"rtol >= {_round_up(self.attainable_rtol):.0e} is reachable"
            )
        if self.reason is StopReason.MAXITER:
            return f"not converged in {k} iterations (factor {self.convergence_factor:.3g}); raise maxiter or improve the cycle"
        if self.reason is StopReason.DIVERGED:
            why = self.info.get("breakdown")
            return f"diverged after {k} iterations" + (f": {why}" if why else "")
        return f"non-finite residual after {k} iterations"

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
            "attainable_rtol": self.attainable_rtol,
            "message": self.message,
            "setup_seconds": self.setup_seconds,
            "solve_seconds": self.solve_seconds,
            **{k: v for k, v in self.info.items() if isinstance(v, (int, float, str, bool, type(None)))},
        }


def _round_up(x: float) -> float:
    """The next power of ten at or above ``x`` (for "rtol >= 1e-7 is reachable")."""
    if not (x > 0 and math.isfinite(x)):
        return x
    return 10.0 ** math.ceil(math.log10(x) - 1e-12)


def _real(value: Any, name: str) -> float:
    if isinstance(value, bool) or isinstance(value, str):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return v


def check_tolerances(rtol: float, atol: float, maxiter: int) -> tuple[float, float, int]:
    """Validate the common solve arguments with clear errors (numpy scalars accepted).

    Returns
    -------
    (float, float, int)
        The values as Python numbers.
    """
    rtol, atol = _real(rtol, "rtol"), _real(atol, "atol")
    if rtol == 0 and atol == 0:
        raise ValueError("rtol and atol cannot both be 0 (the iteration could never stop)")
    if isinstance(maxiter, bool) or not hasattr(maxiter, "__index__") or int(maxiter) < 0:
        raise ValueError(f"maxiter must be an int >= 0, got {maxiter!r}")
    return rtol, atol, int(maxiter)


def _stagnated(history: list, window: int = STAGNATION_WINDOW, gain: float = STAGNATION_GAIN) -> bool:
    """Whether the best residual improved by less than ``gain`` over the last ``window`` iterations."""
    if len(history) <= window + 1:
        return False
    before = min(history[: -window])
    recent = min(history[-window:])
    return recent > (1.0 - gain) * before


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
    stagnation: bool = True,
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
    stagnation : bool
        Stop with :attr:`StopReason.STAGNATED` when the best residual improved
        by less than ``STAGNATION_GAIN`` over the last ``STAGNATION_WINDOW``
        steps (the attainable accuracy is reached; see
        :attr:`SolveResult.attainable_rtol`).

    Returns
    -------
    SolveResult
    """
    rtol, atol, maxiter = check_tolerances(rtol, atol, maxiter)
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
        elif stagnation and _stagnated(history):
            reason = StopReason.STAGNATED
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

    Residual norms are 2-norms of the recursively updated residual; before
    success is declared the true residual ``||b - A x||`` is computed, and
    when it misses the tolerance (round-off has made the recursive one drift)
    the iteration restarts from it.  ``info["true_residual"]`` holds the
    final true residual, which is also the last entry of the history.  When
    the true residual stops decreasing the solve ends with
    :attr:`StopReason.STAGNATED`.  A non-positive curvature ``p^T A p <= 0``
    or ``r^T M r < 0`` means the operator or preconditioner is not SPD: the
    solve stops with :attr:`StopReason.DIVERGED` and ``info['breakdown']``
    says which.
    """
    rtol, atol, maxiter = check_tolerances(rtol, atol, maxiter)
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
    last_true = None
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
            r_true = b - A(x)
            true = math.sqrt(max(dot(r_true, r_true), 0.0))
            history[-1] = true
            info["true_residual"] = true
            if true <= tol:
                reason = StopReason.CONVERGED
                break
            if last_true is not None and true > 0.5 * last_true:
                reason = StopReason.STAGNATED
                break
            last_true = true
            info["restarts"] = info.get("restarts", 0) + 1
            r = r_true
            z = M(r) if M is not None else r
            rz = dot(r, z)
            p = z
            continue
        if res > divergence_factor * history[0]:
            reason = StopReason.DIVERGED
            break
        if _stagnated(history):
            reason = StopReason.STAGNATED
            break
        z = M(r) if M is not None else r
        rz_new = dot(r, z)
        beta = rz_new / rz
        rz = rz_new
        p = z + beta * p
    return SolveResult(x, history, reason, k, info=info)
