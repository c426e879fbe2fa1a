"""mgcore: multigrid solvers and MgNet networks from one abstract core.

The core (:mod:`mgcore.hierarchy`, :mod:`mgcore.iterations`,
:mod:`mgcore.cycles`, :mod:`mgcore.polynomials`, :mod:`mgcore.solve`) writes the
algorithms of the seed papers once, over an abstract hierarchy of operators
``A``, ``B``, ``R``, ``Pi``, ``P`` (level 1 = finest).  Backends only build
operators: :mod:`mgcore.sparse` (numpy/scipy, plus compiled matrix-free kernels)
and :mod:`mgcore_torch` (torch modules: trainable CNNs and a fixed-kernel solver).

Heavy modules are imported lazily: ``import mgcore`` loads no numpy, scipy,
numba or torch.

Examples
--------
>>> import mgcore
>>> problem = mgcore.poisson2d(n=31)
>>> result = mgcore.MultigridSolver(problem).solve(problem.rhs(1.0), rtol=1e-8)
>>> result.converged
True
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_LAZY = {
    "Level": "mgcore.hierarchy",
    "Hierarchy": "mgcore.hierarchy",
    "CycleKind": "mgcore.cycles",
    "mg0": "mgcore.cycles",
    "backslash_mg": "mgcore.cycles",
    "mgnet": "mgcore.cycles",
    "v_mgnet": "mgcore.cycles",
    "cycle": "mgcore.cycles",
    "fmg": "mgcore.cycles",
    "SolveResult": "mgcore.solve",
    "StopReason": "mgcore.solve",
    "MultigridSolver": "mgcore.sparse",
    "GridProblem": "mgcore.problems",
    "poisson": "mgcore.problems",
    "poisson1d": "mgcore.problems",
    "poisson2d": "mgcore.problems",
    "poisson3d": "mgcore.problems",
    "anisotropic2d": "mgcore.problems",
    "variable2d": "mgcore.problems",
    "variable3d": "mgcore.problems",
    "get_problem": "mgcore.problems",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'mgcore' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)


def __dir__():
    return __all__
