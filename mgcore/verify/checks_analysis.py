"""Local Fourier analysis: predicted convergence factors = measured ones (:mod:`mgcore.analysis`).

The two-grid and V-cycle factors that :func:`mgcore.analysis.compare` predicts
from the Fourier symbols on the problem's own frequencies are compared with
the asymptotic factors measured by running :class:`mgcore.sparse.MultigridSolver`
(40 cycles on ``A e = 0``).  The prediction is not an identity to round-off:
the measurement approaches the asymptotic rate from below, so the tolerance
is a relative 15 % (the largest deviation seen over 40 random instances was
9.4 %).
"""

from __future__ import annotations

from ..testing import SEED, Floats, Integers, Just, OneOf, Tuples
from .registry import Measure, register


@register("lfa/sparse", identity="LFA predicted factor = measured factor",
          statement="two-grid and V-cycle factors predicted by local Fourier analysis on the problem's frequencies "
                    "match the measured asymptotic factors of the solver (relative 15 %)",
          reference="Trottenberg, Oosterlee & Schüller, Multigrid, 2001, ch. 4", backend="sparse", max_examples=5,
          params={"k": Integers(4, 5), "eps": OneOf(Just(None), Floats(0.3, 3.0)),
                  "smoother": OneOf(Just("rbgs"), Floats(0.6, 0.9)), "nu": Tuples(Integers(1, 2), Integers(0, 2)),
                  "seed": SEED})
def check_lfa_predicts_measured(k, eps, smoother, nu, seed):
    from ..analysis import compare
    from ..testing import spd_problem

    spec = smoother if smoother == "rbgs" else ("jacobi", {"omega": smoother})
    p = spd_problem(2, k, "dirichlet", eps=eps)
    r = compare(p, spec, [nu], coarse_size=9, seed=seed)[0]
    return [
        Measure("measured / predicted two-grid factor - 1", abs(r["measured_2g"] / r["rho_2g_n"] - 1.0), 0.15),
        Measure("measured / predicted V-cycle factor - 1", abs(r["measured_V"] / r["rho_V_n"] - 1.0), 0.15),
        Measure.fact("a contraction (0 < factor < 1)", 0.0 < r["measured_V"] < 1.0),
    ]
