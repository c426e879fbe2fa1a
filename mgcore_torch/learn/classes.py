"""Classes of problems a smoother is trained on (numpy only, no torch).

A :class:`ProblemSample` is one member of a class described independently of
the grid -- an anisotropy strength and direction, or coefficient jumps on
rectangles of the unit square -- so that the same problem can be built on
the small training grid and on the large evaluation grids
(:meth:`ProblemSample.problem`).  A :class:`ProblemClass` draws samples
from a distribution with a seeded generator.

================= ==============================================================
``anisotropic2d``  ``-(eps u_xx + u_yy)`` or ``-(u_xx + eps u_yy)`` (direction
                   drawn), ``eps`` log-uniform in ``eps_range``
``variable2d``     ``-div(k grad u)`` with ``k = 1`` outside ``rectangles``
                   random axis-parallel rectangles, on each ``k`` log-uniform
                   in ``contrast_range``
``poisson2d``      ``-Delta u`` (a class of one problem)
================= ==============================================================

The face-coefficient grids of :mod:`mgcore.problems.grid` couple neighbours
along the axes only, so anisotropy directions are the two grid axes (a
rotated anisotropy needs a 9-point stencil, which the grids do not hold).

Examples
--------
>>> import numpy as np
>>> cls = ProblemClass("anisotropic2d", eps_range=(1e-2, 1.0))
>>> s = cls.sample(2, np.random.default_rng(0))
>>> [p.problem(31).shape for p in s]
[(31, 31), (31, 31)]
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from mgcore.problems import GridProblem

__all__ = ["PROBLEM_CLASSES", "ProblemSample", "ProblemClass"]

#: the classes :class:`ProblemClass` draws from
PROBLEM_CLASSES = ("anisotropic2d", "variable2d", "poisson2d")


@dataclass(frozen=True)
class ProblemSample:
    """One problem of a class, independent of the grid.

    Attributes
    ----------
    kind : str
        One of :data:`PROBLEM_CLASSES`.
    eps : float
        Anisotropy strength (``anisotropic2d``).
    axis : int
        The grid axis (0 = x, 1 = y) whose coupling is ``eps``.
    rectangles : tuple
        ``((x0, x1, y0, y1, k), ...)``: coefficient ``k`` on
        ``(x0, x1) x (y0, y1)`` (``variable2d``; later rectangles win).
    """

    kind: str
    eps: float = 1.0
    axis: int = 0
    rectangles: tuple = ()

    def problem(self, n: int) -> GridProblem:
        """The problem on the ``n x n`` Dirichlet grid (``n = 2^k - 1``)."""
        if self.kind == "anisotropic2d":
            aniso = (self.eps, 1.0) if self.axis == 0 else (1.0, self.eps)
            return GridProblem((n, n), aniso=aniso, name="anisotropic2d")
        if self.kind == "variable2d":
            m = n + 1
            c = (np.arange(m) + 0.5) / m
            X, Y = np.meshgrid(c, c, indexing="ij")
            cells = np.ones((m, m))
            for x0, x1, y0, y1, k in self.rectangles:
                cells[(X > x0) & (X < x1) & (Y > y0) & (Y < y1)] = k
            return GridProblem((n, n), cells=cells, name="variable2d")
        return GridProblem((n, n), name="poisson2d")

    def label(self) -> str:
        """A short description for tables."""
        if self.kind == "anisotropic2d":
            return f"aniso eps={self.eps:.2g} ({'xy'[self.axis]})"
        if self.kind == "variable2d":
            ks = ",".join(f"{r[4]:.2g}" for r in self.rectangles)
            return f"jumps k={ks}"
        return "poisson"

    def to_dict(self) -> dict:
        return {"kind": self.kind, "eps": self.eps, "axis": self.axis, "rectangles": [list(r) for r in self.rectangles]}


def _range(value: Any, name: str, lo_min: float) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a pair (low, high) of numbers, got {value!r}") from None
    if not (math.isfinite(lo) and math.isfinite(hi) and lo_min < lo <= hi):
        raise ValueError(f"{name} must satisfy {lo_min} < low <= high (finite), got {value!r}")
    return lo, hi


class ProblemClass:
    """A distribution of problems (see the module docstring).

    Parameters
    ----------
    kind : {"anisotropic2d", "variable2d", "poisson2d"}
    eps_range : (float, float)
        ``anisotropic2d``: ``eps`` log-uniform in ``[low, high]``, ``0 < low <= high``.
    directions : sequence of {"x", "y"}
        ``anisotropic2d``: the axes the weak coupling ``eps`` is drawn from.
    contrast_range : (float, float)
        ``variable2d``: ``k`` on a rectangle log-uniform in ``[low, high]``.
    rectangles : int
        ``variable2d``: rectangles per problem (corners uniform in ``[0.1, 0.9]``).
    """

    def __init__(self, kind: str = "anisotropic2d", eps_range: Any = (1e-3, 1.0), directions: Any = ("x", "y"),
                 contrast_range: Any = (1.0, 1e4), rectangles: int = 2):
        if kind not in PROBLEM_CLASSES:
            raise ValueError(f"problem class must be one of {PROBLEM_CLASSES}, got {kind!r}")
        self.kind = kind
        self.eps_range = _range(eps_range, "eps_range", 0.0)
        dirs = tuple(directions) if not isinstance(directions, str) else (directions,)
        if not dirs or any(d not in ("x", "y") for d in dirs):
            raise ValueError(f"directions must be a non-empty sequence of 'x' and 'y', got {directions!r}")
        self.directions = dirs
        self.contrast_range = _range(contrast_range, "contrast_range", 0.0)
        if isinstance(rectangles, bool) or not isinstance(rectangles, (int, np.integer)) or rectangles < 1:
            raise ValueError(f"rectangles must be an int >= 1, got {rectangles!r}")
        self.rectangles = int(rectangles)

    def sample(self, count: int, rng: np.random.Generator) -> list[ProblemSample]:
        """``count`` independent samples."""
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"count must be an int >= 1, got {count!r}")
        out = []
        for _ in range(int(count)):
            if self.kind == "anisotropic2d":
                lo, hi = np.log(self.eps_range)
                eps = float(np.exp(rng.uniform(lo, hi)))
                axis = "xy".index(self.directions[int(rng.integers(len(self.directions)))])
                out.append(ProblemSample("anisotropic2d", eps=eps, axis=axis))
            elif self.kind == "variable2d":
                rects = []
                lo, hi = np.log(self.contrast_range)
                for _ in range(self.rectangles):
                    x = np.sort(rng.uniform(0.1, 0.9, 2))
                    y = np.sort(rng.uniform(0.1, 0.9, 2))
                    k = float(np.exp(rng.uniform(lo, hi)))
                    rects.append((float(x[0]), float(x[1]), float(y[0]), float(y[1]), k))
                out.append(ProblemSample("variable2d", rectangles=tuple(rects)))
            else:
                out.append(ProblemSample("poisson2d"))
        return out

    def to_dict(self) -> dict:
        d: dict = {"kind": self.kind}
        if self.kind == "anisotropic2d":
            d.update(eps_range=list(self.eps_range), directions=list(self.directions))
        elif self.kind == "variable2d":
            d.update(contrast_range=list(self.contrast_range), rectangles=self.rectangles)
        return d

    def __repr__(self) -> str:
        return f"ProblemClass({self.to_dict()})"
