"""Multigrid algorithms of the seeds, written once over a :class:`Hierarchy`.

He & Xu, *MgNet: a unified framework of multigrid and convolutional neural network*, Sci. China Math., 2019.

==================== =========================================================
:func:`mg0`          He & Xu, MgNet, 2019, Algorithm 1 (MG0, fine-to-coarse smoothing)
:func:`backslash_mg` He & Xu, MgNet, 2019, Algorithm 2 (\\-cycle)
:func:`mgnet`        He & Xu, MgNet, 2019, Algorithm 3 (MgNet, FAS form, any ``Pi``)
:func:`v_mgnet`      He & Xu, MgNet, 2019, Algorithm 4 (V-MgNet)
:func:`cycle`        classical V-, W- and F-cycles with ``nu_pre``/``nu_post``
:func:`fmg`          full multigrid (nested iteration with cycles)
==================== =========================================================

Only ``+``, ``-``, scalar ``*`` and calls of the level's operations are used
(``Level.smooth``, ``Level.restrict_residual``, ``Level.correct``, ``A``,
``R``, ``Pi``, ``P``), so the very same functions run a sparse solver, a
matrix-free numba solver and a torch CNN.  Level 1 is the finest; Python lists
returned here are indexed from 0 (entry ``l - 1`` is level ``l``).

No numpy or torch import is allowed in this module (a test enforces it).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

from .hierarchy import Hierarchy, broadcast_levels

__all__ = [
    "CycleKind",
    "LevelState",
    "mg0",
    "backslash_mg",
    "mgnet",
    "v_mgnet",
    "cycle",
    "fmg",
]


class CycleKind(str, Enum):
    """Kinds of multigrid cycle: ``V``, ``W``, ``F``."""

    V = "V"
    W = "W"
    F = "F"

    @classmethod
    def parse(cls, value: "CycleKind | str") -> "CycleKind":
        """Parse ``"V"``/``"w"``/``CycleKind.F`` etc.; clear error otherwise."""
        if isinstance(value, cls):
            return value
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        allowed = ", ".join(repr(k) for k in cls.__members__)
        raise ValueError(f"cycle must be one of {allowed}, got {value!r}")


@dataclass
class LevelState:
    """What an algorithm leaves on level ``l``.

    Attributes
    ----------
    u0 : object
        Initial iterate ``u^{l,0}`` (``None`` = zero; MgNet: ``Pi u^{l-1}``).
    u : object
        Final iterate ``u^{l,nu_l}`` after smoothing.
    f : object
        Data ``f^l`` of the level.
    """

    u0: Any
    u: Any
    f: Any


def mg0(h: Hierarchy, f: Any, nu: Any) -> list[LevelState]:
    """MG0, He & Xu, MgNet, 2019, Algorithm 1.

    ``f^1 = f``, ``u^{l,0} = 0``; on each level ``l = 1..J`` smooth ``nu_l``
    times with (5.12) and set ``f^{l+1} = R(f^l - A^l u^{l,nu_l})``.

    Parameters
    ----------
    h : Hierarchy
        Levels 1 (finest) .. J.
    f : array-like
        Data on level 1.
    nu : int or sequence of int
        Smoothing steps per level (one int for all levels).

    Returns
    -------
    list of LevelState
        Entry ``l - 1`` holds ``(u^{l,0}=None, u^{l,nu_l}, f^l)``.
    """
    nus = broadcast_levels(nu, h.J, "nu")
    states: list[LevelState] = []
    for l, lvl in enumerate(h.levels):
        u = lvl.smooth(f, None, nus[l])
        states.append(LevelState(None, u, f))
        if l < h.J - 1:
            f = lvl.restrict_residual(f, u)
    return states


def backslash_mg(h: Hierarchy, f: Any, nu: Any) -> Any:
    """Backslash multigrid, He & Xu, MgNet, 2019, Algorithm 2.

    Runs :func:`mg0` and then corrects from coarse to fine with (5.13),
    ``u^l <- u^l + P u^{l+1}``.  Returns ``u^{1}``.
    """
    states = mg0(h, f, nu)
    u = states[-1].u
    for l in range(h.J - 2, -1, -1):
        u = h.levels[l].correct(states[l].u, u)
    return u


def mgnet(h: Hierarchy, f: Any, nu: Any, u0: Any = None) -> list[LevelState]:
    """MgNet, He & Xu, MgNet, 2019, Algorithm 3 (the FAS form of MG0 with any ``Pi``).

    ``u^{1,0} = u0`` (default zero); on each level smooth with (6.4)
    ``u^{l,i} = u^{l,i-1} + B^{l,i}(f^l - A^l u^{l,i-1})``, then
    ``u^{l+1,0} = Pi u^l`` (6.5) and
    ``f^{l+1} = R(f^l - A^l u^l) + A^{l+1} u^{l+1,0}`` (6.6).
    A level whose ``Pi`` is ``None`` uses ``Pi = 0`` (6.23), for which the
    term ``A^{l+1}(0)`` is dropped (exact for linear ``A``; give an explicit
    zero projection for an affine ``A``).

    By Theorem 6.1 (He & Xu, MgNet, 2019), for linear ``A``, ``R`` and ``B^{l,i} = S^l`` the
    result equals :func:`mg0` via ``f~^l = f^l + A u~^{l,0}`` and
    ``u^{l,i} = u~^{l,i} - u~^{l,0}``, for any ``Pi``.

    Returns
    -------
    list of LevelState
        Entry ``l - 1`` holds ``(u~^{l,0}, u~^{l}, f~^{l})``; the network's
        output is ``states[-1].u``.
    """
    nus = broadcast_levels(nu, h.J, "nu")
    states: list[LevelState] = []
    for l, lvl in enumerate(h.levels):
        u = lvl.smooth(f, u0, nus[l])
        states.append(LevelState(u0, u, f))
        if l == h.J - 1:
            break
        nxt = h.levels[l + 1]
        fc = lvl.restrict_residual(f, u)
        if lvl.Pi is None or u is None:  # Pi = 0 (6.23), or the zero iterate (nu_l = 0)
            u0 = None
        else:
            u0 = lvl.Pi(u)
            fc = fc + nxt.A(u0)
        f = fc
    return states


def v_mgnet(h: Hierarchy, f: Any, nu: Any, nu_post: Any, u0: Any = None) -> Any:
    """V-MgNet, He & Xu, MgNet, 2019, Algorithm 4.

    Runs :func:`mgnet`, then for ``l = J-1 .. 1``:
    ``u^{l,0} = u_bar^l + P(u^{l+1} - u_bar^{l+1,0})`` (6.15) followed by
    ``nu_post_l`` post-smoothing steps with ``B'`` (``Level.B_post``, 6.16).
    Returns ``u^1``.
    """
    posts = broadcast_levels(nu_post, h.J, "nu_post")
    states = mgnet(h, f, nu, u0)
    u = states[-1].u
    for l in range(h.J - 2, -1, -1):
        lvl, coarse = h.levels[l], states[l + 1]
        e = u if coarse.u0 is None else u - coarse.u0
        u = lvl.correct(states[l].u, e)
        u = lvl.smooth(states[l].f, u, posts[l], post=True)
    return u


def cycle(
    h: Hierarchy,
    f: Any,
    u: Any = None,
    kind: CycleKind | str = CycleKind.V,
    nu_pre: Any = 2,
    nu_post: Any = 2,
    start: int = 1,
) -> Any:
    """One multigrid cycle for ``A^l u = f`` starting at level ``start``.

    Pre-smooth ``nu_pre``, restrict the residual, recurse once (V), twice (W),
    or with an F-cycle followed by a V-cycle (F), correct with ``P``,
    post-smooth ``nu_post``.  On the coarsest level ``Level.coarse_solve`` is
    used when present, else ``nu_pre + nu_post`` smoothing steps.  With
    ``nu_post = 0`` and a V-cycle this is Algorithm 2 of He & Xu, MgNet, 2019, with an
    iterate.

    Parameters
    ----------
    h : Hierarchy
    f : array-like
        Data on level ``start``.
    u : array-like, optional
        Initial iterate (``None`` = zero).  May be updated in place by
        in-place backends.
    kind : CycleKind or {"V", "W", "F"}
    nu_pre, nu_post : int or sequence of int
        Smoothing steps per level (level 1 = finest).
    start : int
        1-based level to start on (used by :func:`fmg`).

    Returns
    -------
    array-like
        The new iterate.
    """
    kind = CycleKind.parse(kind)
    pre = broadcast_levels(nu_pre, h.J, "nu_pre")
    post = broadcast_levels(nu_post, h.J, "nu_post")
    if not 1 <= start <= h.J:
        raise ValueError(f"start must be a level in 1..{h.J} (1 = finest), got {start}")
    return _cycle(h, start - 1, f, u, kind, pre, post)


def _cycle(h: Hierarchy, l: int, f: Any, u: Any, kind: CycleKind, pre: tuple, post: tuple) -> Any:
    lvl = h.levels[l]
    if l == h.J - 1:
        if lvl.coarse_solve is not None:
            return lvl.coarse_solve(f)
        return lvl.smooth(f, u, max(pre[l] + post[l], 1))
    u, fc = lvl.smooth_restrict(f, u, pre[l])  # pre-smoothing, f^{l+1} = R(f - A u)
    if kind is CycleKind.V:
        e = _cycle(h, l + 1, fc, None, CycleKind.V, pre, post)
    elif kind is CycleKind.W:
        e = _cycle(h, l + 1, fc, None, CycleKind.W, pre, post)
        if l + 1 < h.J - 1:
            e = _cycle(h, l + 1, fc, e, CycleKind.W, pre, post)
    else:  # F: an F-cycle then a V-cycle on the coarse level
        e = _cycle(h, l + 1, fc, None, CycleKind.F, pre, post)
        if l + 1 < h.J - 1:
            e = _cycle(h, l + 1, fc, e, CycleKind.V, pre, post)
    return lvl.correct_smooth(f, u, e, post[l])  # u + P e, then post-smoothing


def fmg(
    h: Hierarchy,
    f: Any,
    kind: CycleKind | str = CycleKind.V,
    nu_pre: Any = 2,
    nu_post: Any = 2,
    cycles_per_level: int = 1,
) -> Any:
    """Full multigrid: nested iteration from the coarsest level up.

    ``f^{l+1} = R f^l`` down to level J; ``u^J`` from the coarse solve (or
    smoothing); then for ``l = J-1 .. 1``: ``u^l = P u^{l+1}`` followed by
    ``cycles_per_level`` cycles of ``kind`` started on level ``l``.

    Returns
    -------
    array-like
        The level-1 iterate.
    """
    kind = CycleKind.parse(kind)
    if cycles_per_level < 1:
        raise ValueError(f"cycles_per_level must be >= 1, got {cycles_per_level}")
    fs = [f]
    for l in range(h.J - 1):
        fs.append(h.levels[l].R(fs[-1]))
    u = cycle(h, fs[-1], None, kind, nu_pre, nu_post, start=h.J)
    for l in range(h.J - 2, -1, -1):
        u = h.levels[l].correct(None, u)
        for _ in range(cycles_per_level):
            u = cycle(h, fs[l], u, kind, nu_pre, nu_post, start=l + 1)
    return u
