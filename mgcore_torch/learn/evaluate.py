"""Learned vs classical smoothers: measured factors, cycles, time and work; LFA predictions.

:func:`evaluate_smoothers` runs :class:`mgcore.sparse.MultigridSolver` (the
assembled sparse path, ``fast=False``, for every smoother alike) on
problems of a class at several grid sizes and reports for each smoother the
V-cycles to the tolerance, the asymptotic factor (the mean reduction of the
last cycles), the time per cycle and the *work*: multiply-adds per fine-grid
unknown and cycle of an ideal implementation
(:meth:`~mgcore_torch.learn.format.StencilSmootherSpec.work_per_step` on
every level, plus residual and transfers), and the work to gain one digit,
``work_per_cycle * ln 10 / -ln factor`` -- the equal-work comparison.

:func:`lfa_two_grid_factor` predicts the two-grid factor of a stencil
smoother for a constant-coefficient stencil with the local Fourier analysis
of :mod:`mgcore.analysis` (Trottenberg, Oosterlee & Schüller, *Multigrid*,
2001, §4.2-4.4): a substep with kernel ``K`` on all points has the symbol
``1 - K(theta) A(theta) / a_0`` on each harmonic, one on the red or black
points ``I + chi_c (S - I)`` with the colour indicator
``chi_c = (I +- Sigma) / 2`` coupling each harmonic with its ``pi (1, 1)``
partner.

Examples
--------
>>> from mgcore.analysis import Stencil, two_grid_factor
>>> from mgcore_torch.learn.trainer import BASELINES
>>> A = Stencil.laplacian(2)
>>> a = lfa_two_grid_factor(BASELINES["rbgs"], A, (2, 2), n=31)
>>> b = two_grid_factor(A, ("red-black", {"order": "red-black"}), (2, 2), n=31)
>>> abs(a - b) < 1e-12
True
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Any, Sequence

import numpy as np

from .format import StencilSmootherSpec
from .classes import ProblemSample

__all__ = ["evaluate_smoothers", "lfa_two_grid_factor", "format_rows", "cycle_work"]


# ------------------------------------------------------------------------- LFA
def _step_symbols(spec: StencilSmootherSpec, stencil: Any, theta: np.ndarray, shape: tuple) -> list:
    from mgcore.analysis import harmonics

    th = harmonics(theta)  # (m, H, d)
    m, H, d = th.shape
    Ah = stencil.symbol(th)
    a0 = stencil.center
    K = spec.level_kernels(shape)  # (W, S) + (k,) * d
    c = spec.kernel_size // 2
    offsets = np.array(list(np.ndindex(*(spec.kernel_size,) * d))) - c  # (taps, d)
    phase = np.exp(1j * (th @ offsets.T))  # (m, H, taps)
    eye = np.broadcast_to(np.eye(H, dtype=np.complex128), (m, H, H))
    shift = np.zeros((H, H))
    shift[np.arange(H), H - 1 - np.arange(H)] = 1.0  # harmonic alpha <-> alpha xor (1, ..., 1)
    s_red = (-1.0) ** d  # red = even 0-based index sum; on a Dirichlet grid index 0 is LFA coordinate 1
    steps = []
    for w in range(spec.sweeps):
        E = eye.copy()
        for s, col in enumerate(spec.colours):
            Khat = phase @ K[w, s].reshape(-1)  # (m, H)
            S = 1.0 - Khat * Ah / a0
            D = S[:, :, None] * np.eye(H)[None]
            if col == 0:
                sub = D
            else:
                chi = 0.5 * (np.eye(H) + (s_red if col == 1 else -s_red) * shift)
                sub = eye + chi[None] @ (D - np.eye(H)[None])
            E = sub @ E
        steps.append(E)
    return steps


def lfa_two_grid_factor(spec: StencilSmootherSpec, stencil: Any, nu: Any = (2, 2), n: Any = None,
                        samples: int = 32) -> float:
    """Predicted two-grid factor of the stencil smoother ``spec`` for a constant ``stencil``.

    Parameters
    ----------
    spec : StencilSmootherSpec
    stencil : mgcore.analysis.Stencil
        E.g. ``Stencil.from_problem(problem)``.
    nu : int or (int, int)
    n : int, optional
        Discrete frequencies of an ``n x n`` Dirichlet grid (else the
        infinite grid, sampled with ``samples`` per axis); also picks the
        file's level set.
    """
    from mgcore.analysis import low_frequencies, two_grid_symbol
    from mgcore.hierarchy import parse_nu_pair

    nu1, nu2 = parse_nu_pair(nu)
    d = stencil.dim
    if spec.dim != d:
        raise ValueError(f"the smoother is {spec.dim}-D but the stencil is {d}-D")
    theta = low_frequencies(d, n=n, samples=samples, exclude_zero=True, bc="dirichlet")
    shape = (int(n),) * d if n is not None else (10 ** 9,) * d
    Kc = two_grid_symbol(stencil, "jacobi", (0, 0), theta)
    steps = _step_symbols(spec, stencil, theta, shape)
    pre = np.broadcast_to(np.eye(Kc.shape[1], dtype=np.complex128), Kc.shape).copy()
    for j in range(nu1):
        pre = steps[j % len(steps)] @ pre
    post = np.broadcast_to(np.eye(Kc.shape[1], dtype=np.complex128), Kc.shape).copy()
    for j in range(nu2):
        post = steps[j % len(steps)] @ post
    M = post @ Kc @ pre
    ok = np.all(np.isfinite(M), axis=(1, 2))
    return float(np.abs(np.linalg.eigvals(M[ok])).max())


# ------------------------------------------------------------------- measuring
def cycle_work(spec: StencilSmootherSpec, problem: Any, nu: tuple, coarse_size: int = 500) -> float:
    """Multiply-adds per fine-grid unknown of one V-cycle (ideal implementation).

    On every level but the coarsest: ``nu_pre + nu_post`` smoothing steps
    (:meth:`StencilSmootherSpec.work_per_step` of the level set used there)
    and ``nnz_row + 6`` for the residual, the full-weighting restriction,
    the bilinear prolongation and the correction; weighted by the level's
    share of unknowns.  The exact coarse solve is not counted.
    """
    datas = problem.hierarchy_data(None, coarse_size)
    n1 = datas[0].size
    nnz = 2 * problem.dim + 1
    total = 0.0
    for data in datas[:-1]:
        level = spec.select(data.shape)
        sub = StencilSmootherSpec(spec.kernels[level:level + 1], spec.colours, None, {}, spec.where)
        total += data.size / n1 * ((nu[0] + nu[1]) * sub.work_per_step(nnz) + nnz + 6)
    return total


def _spec_of(smoother: Any, dim: int) -> StencilSmootherSpec:
    from .format import resolve_stencil_smoother
    from .trainer import BASELINES

    if isinstance(smoother, StencilSmootherSpec):
        return smoother
    if isinstance(smoother, dict) and smoother.get("name") == "stencil":
        return resolve_stencil_smoother(smoother.get("file"), smoother.get("kernel"), dim)
    if smoother in ("jacobi", "rbgs"):
        return BASELINES[smoother]
    raise ValueError(f"cannot describe smoother {smoother!r} as a stencil (use 'jacobi', 'rbgs' or a stencil spec)")


def _solver_spec(smoother: Any) -> Any:
    if smoother == "rbgs":
        return ("red-black", {"order": "red-black"})
    return smoother


def evaluate_smoothers(samples: Sequence[ProblemSample], sizes: Sequence[int], smoothers: dict, nu: Any = (2, 2),
                       rtol: float = 1e-8, maxiter: int = 100, seed: int = 0, coarse_size: int = 500,
                       lfa: bool = True, tail: int = 5, progress: Any = None) -> list[dict]:
    """Solve every problem at every size with every smoother; one row per run.

    Parameters
    ----------
    samples : sequence of ProblemSample
    sizes : sequence of int
        Grid sizes ``n`` (``2^k - 1``).
    smoothers : dict
        ``label -> spec``: ``"jacobi"`` (damped, ``omega = 4/5``), ``"rbgs"``
        (red first in pre- and post-smoothing), or a stencil spec
        ``{"name": "stencil", "file": ...}``.
    nu : (int, int)
    rtol, maxiter : tolerance and cycle cap of each solve (zero initial guess,
        a standard-normal right-hand side seeded by ``seed``).
    coarse_size : int
        The solvers' coarsening rule.
    lfa : bool
        Also predict the two-grid factor (constant-coefficient problems only).
    tail : int
        The factor is ``(r_k / r_{k - tail})^(1/tail)`` over the last cycles.
    progress : callable, optional
        ``progress(row)`` after every run.

    Returns
    -------
    list of dict
        Keys ``problem``, ``n``, ``smoother``, ``converged``, ``cycles``,
        ``factor``, ``seconds``, ``seconds_per_cycle``, ``work_per_cycle``,
        ``work_per_digit``, ``lfa`` (or ``None``).
    """
    from mgcore.analysis import Stencil
    from mgcore.hierarchy import parse_nu_pair
    from mgcore.sparse import MultigridSolver

    nu = parse_nu_pair(nu)
    rows = []
    for sample in samples:
        for n in sizes:
            problem = sample.problem(int(n))
            b = np.random.default_rng(seed).standard_normal(problem.level_data().size)
            stencil = None
            if lfa and problem.uniform_cell_value() is not None:
                stencil = Stencil.from_problem(problem)
            for label, sm in smoothers.items():
                spec = _spec_of(sm, problem.dim)
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    solver = MultigridSolver(problem, smoother=_solver_spec(sm), nu=nu, fast=False, coarse_size=coarse_size)
                    solver.solve(b, rtol=rtol, maxiter=1)  # warm caches and lazy setup outside the timing
                    t0 = time.perf_counter()
                    res = solver.solve(b, rtol=rtol, maxiter=maxiter)
                    seconds = time.perf_counter() - t0
                r = [float(v) for v in res.residuals]
                k = min(tail, len(r) - 1)
                factor = (r[-1] / r[-1 - k]) ** (1.0 / k) if k > 0 and r[-1 - k] > 0 else float("nan")
                work = cycle_work(spec, problem, nu, coarse_size)
                digits = work * math.log(10.0) / -math.log(factor) if 0 < factor < 1 else float("inf")
                row = {
                    "problem": sample.label(), "n": int(n), "smoother": label, "converged": bool(res.converged),
                    "cycles": int(res.iterations), "factor": factor, "seconds": seconds,
                    "seconds_per_cycle": seconds / max(res.iterations, 1), "work_per_cycle": work,
                    "work_per_digit": digits,
                    "lfa": lfa_two_grid_factor(spec, stencil, nu, n=int(n)) if stencil is not None else None,
                }
                rows.append(row)
                if progress is not None:
                    progress(row)
    return rows


def format_rows(rows: Sequence[dict]) -> str:
    """The evaluation rows as a text table (``>`` marks runs that hit ``maxiter``)."""
    head = (f"{'problem':<24} {'n':>5} {'smoother':<10} {'cycles':>7} {'factor':>7} {'LFA':>6} "
            f"{'ms/cycle':>9} {'work/cyc':>8} {'work/digit':>10}")
    lines = [head, "-" * len(head)]
    for r in rows:
        cyc = f"{r['cycles']}" if r["converged"] else f">{r['cycles']}"
        lf = f"{r['lfa']:.3f}" if r.get("lfa") is not None else "-"
        wd = r["work_per_digit"]
        wd = "-" if math.isnan(wd) else (f"{wd:.0f}" if math.isfinite(wd) else "inf")
        lines.append(f"{r['problem']:<24} {r['n']:>5} {r['smoother']:<10} {cyc:>7} {r['factor']:>7.3f} {lf:>6} "
                     f"{1e3 * r['seconds_per_cycle']:>9.1f} {r['work_per_cycle']:>8.1f} {wd:>10}")
    return "\n".join(lines)
