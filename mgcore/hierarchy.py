"""Typed, picklable multigrid hierarchies.

Seed 003 is He & Xu, *MgNet* (``003_16cadc847c125d93.txt`` in the seeds folder).

A hierarchy is a sequence of :class:`Level` objects, **level 1 is the finest**
(as in the seed papers and pyamg).  Python indexing of ``Hierarchy.levels`` is
0-based, so level ``l`` lives at ``hierarchy.levels[l - 1]``; use
:meth:`Hierarchy.level` for the mathematical 1-based index.

Each level holds the objects of He & Xu, *MgNet*, 2019, Sections 3-6:

====== =====================================================================
``A``   data-feature map / discretised operator, ``A(u) -> f``  (3.4, 5.5)
``B``   smoother (a :class:`~mgcore.iterations.Smoother`), or a plain
        callable operator ``B(r) -> correction`` used in the residual
        correction form (3.20), or a list of them, one per step (B^{l,i})
``R``   restriction of data/residuals to level ``l + 1``  (4.10, Lemma 4.1)
``Pi``  projection of the iterate to level ``l + 1``     (6.5, 6.23, 6.24)
``P``   prolongation from level ``l + 1``                 (4.6-4.9)
====== =====================================================================

This module imports neither numpy nor torch: the operators are whatever
objects the backend builds (sparse matrices wrapped as callables, numba
stencils, ``torch.nn.Module``).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator, Sequence

from .iterations import Smoother, as_smoother

__all__ = ["Level", "Hierarchy"]


@dataclass(eq=False)
class Level:
    """One level of a multigrid hierarchy (level 1 = finest).

    Parameters
    ----------
    A : callable
        The operator ``A(u) -> f`` of this level.
    B : Smoother, callable, or sequence of callables
        Pre-smoother.  A :class:`~mgcore.iterations.Smoother` is used as is;
        a callable ``B`` is wrapped as the residual-correction smoother
        ``u <- u + B(f - A u)`` (He & Xu, MgNet, 2019, eq. 3.20); a list/tuple of callables
        gives one ``B^{l,i}`` per step (He & Xu, MgNet, 2019, Alg. 3, eq. 6.4).
    R : callable, optional
        Restriction to level ``l + 1``.  ``None`` on the coarsest level.
    Pi : callable, optional
        Projection of the iterate to level ``l + 1`` (MgNet, eq. 6.5).
        ``None`` means ``Pi = 0`` (eq. 6.23).
    P : callable, optional
        Prolongation from level ``l + 1``.  ``None`` on the coarsest level.
    B_post : Smoother or callable, optional
        Post-smoother (V-MgNet ``B'``, eq. 6.16; the "up" smoother of a
        V-cycle).  Defaults to ``B``.
    coarse_solve : callable, optional
        ``coarse_solve(f) -> u`` solving ``A u = f`` on this level; used
        only on the coarsest level of a cycle.  Without it the coarsest level
        is smoothed.
    shape : tuple, optional
        Shape of an iterate on this level (grid points), for reporting.
    meta : dict
        Backend information (grid size, matrix, ...), free form.
    """

    A: Callable[[Any], Any]
    B: Any = None
    R: Callable[[Any], Any] | None = None
    Pi: Callable[[Any], Any] | None = None
    P: Callable[[Any], Any] | None = None
    B_post: Any = None
    coarse_solve: Callable[[Any], Any] | None = None
    shape: tuple = ()
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not callable(self.A):
            raise TypeError(f"Level: A must be callable (A(u) -> f), got {type(self.A).__name__}")
        for name in ("R", "Pi", "P", "coarse_solve"):
            op = getattr(self, name)
            if op is not None and not callable(op):
                raise TypeError(f"Level: {name} must be callable or None, got {type(op).__name__}")
        self.B = as_smoother(self.B, argname="B") if self.B is not None else None
        self.B_post = as_smoother(self.B_post, argname="B_post") if self.B_post is not None else None

    # -- operations the algorithms use; a backend may override them with
    # -- fused, in-place kernels (see mgcore.sparse.structured).
    def residual(self, f: Any, u: Any) -> Any:
        """Return ``f - A(u)``; ``u = None`` stands for the zero iterate."""
        return f if u is None else f - self.A(u)

    def restrict_residual(self, f: Any, u: Any) -> Any:
        """Return ``R(f - A(u))``, the data of level ``l + 1`` (Alg. 1 line 8)."""
        return self.R(self.residual(f, u))

    def correct(self, u: Any, e: Any) -> Any:
        """Return ``u + P(e)``, the coarse-grid correction (Alg. 2, eq. 5.13)."""
        if u is None:
            return self.P(e)
        return u + self.P(e)

    def smooth_restrict(self, f: Any, u: Any, nu: int) -> tuple[Any, Any]:
        """Pre-smooth ``nu`` steps, then also return ``R(f - A u)``.

        The default is :meth:`smooth` followed by :meth:`restrict_residual`;
        a backend may fuse the two into one pass over memory.
        """
        u = self.smooth(f, u, nu)
        return u, self.restrict_residual(f, u)

    def correct_smooth(self, f: Any, u: Any, e: Any, nu: int) -> Any:
        """Coarse-grid correction ``u + P e`` followed by ``nu`` post-smoothing steps.

        The default is :meth:`correct` followed by :meth:`smooth` with
        ``post=True``; a backend may fuse the two.
        """
        return self.smooth(f, self.correct(u, e), nu, post=True)

    def smooth(self, f: Any, u: Any, nu: int, post: bool = False) -> Any:
        """Apply ``nu`` smoothing steps to ``A u = f`` starting from ``u``.

        ``u = None`` stands for the zero initial iterate.  ``post=True`` uses
        ``B_post`` when one is set.
        """
        if nu <= 0:
            return u
        S: Smoother | None = self.B_post if (post and self.B_post is not None) else self.B
        if S is None:
            raise ValueError("Level has no smoother B; pass B= when building the level")
        return S.smooth(self.A, f, u, nu)


@dataclass(eq=False)
class Hierarchy:
    """A multigrid hierarchy: levels 1 (finest) to J (coarsest).

    Parameters
    ----------
    levels : sequence of Level
        ``levels[0]`` is level 1, the finest.

    Examples
    --------
    >>> from mgcore.hierarchy import Level, Hierarchy
    >>> h = Hierarchy([Level(A=abs, B=abs)])
    >>> len(h), h.J
    (1, 1)
    """

    levels: Sequence[Level]

    def __post_init__(self) -> None:
        self.levels = list(self.levels)
        if not self.levels:
            raise ValueError("Hierarchy: levels must contain at least one Level")
        for i, lvl in enumerate(self.levels):
            if not isinstance(lvl, Level):
                raise TypeError(f"Hierarchy: levels[{i}] must be a Level, got {type(lvl).__name__}")
            if i < len(self.levels) - 1 and lvl.R is None:
                raise ValueError(f"Hierarchy: level {i + 1} is not the coarsest and needs a restriction R")

    @property
    def J(self) -> int:
        """Number of levels (the coarsest level's 1-based index)."""
        return len(self.levels)

    def level(self, l: int) -> Level:
        """Return level ``l`` with the papers' 1-based numbering (1 = finest)."""
        if not 1 <= l <= self.J:
            raise IndexError(f"level l must be in 1..{self.J} (1 = finest), got {l}")
        return self.levels[l - 1]

    def __len__(self) -> int:
        return len(self.levels)

    def __iter__(self) -> Iterator[Level]:
        return iter(self.levels)

    def __getitem__(self, i: int) -> Level:
        return self.levels[i]

    def nu_tuple(self, nu: Any, name: str = "nu") -> tuple[int, ...]:
        """Broadcast ``nu`` (an int or one int per level) to a tuple of length J."""
        return broadcast_levels(nu, self.J, name)

    def with_projection(self, Pi: Any) -> "Hierarchy":
        """A copy of this hierarchy whose levels ``1 .. J-1`` project the iterate with ``Pi``.

        MgNet (He & Xu, MgNet, 2019, Alg. 3) projects ``u^{l+1,0} = Pi u^l``;
        by Theorem 6.1 of that paper any ``Pi`` gives MG0's correction.  Works
        on any hierarchy, e.g. one imported from pyamg
        (:func:`mgcore.sparse.pyamg_bridge.from_pyamg`).  The levels are
        shallow copies (operators shared); this hierarchy is not changed.

        Parameters
        ----------
        Pi : callable, None, "restriction", "zero", or a sequence of those
            One ``Pi`` for every non-coarsest level, or a list with one entry
            per level ``1 .. J-1`` (level 1 = finest).  ``"restriction"``
            uses each level's ``R``; ``None`` or ``"zero"`` is ``Pi = 0``
            (eq. 6.23).

        Examples
        --------
        >>> h = Hierarchy([Level(A=abs, B=abs, R=abs), Level(A=abs, B=abs)])
        >>> h2 = h.with_projection("restriction")
        >>> h2.levels[0].Pi is h2.levels[0].R, h.levels[0].Pi is None
        (True, True)
        """
        import copy

        n = self.J - 1
        if isinstance(Pi, (list, tuple)):
            specs = list(Pi)
            if len(specs) != n:
                raise ValueError(f"Pi: a list needs one entry per level 1..J-1 (J = {self.J}), got {len(specs)}")
        else:
            specs = [Pi] * n
        levels = []
        for l, lvl in enumerate(self.levels):
            new = copy.copy(lvl)
            if l < n:
                spec = specs[l]
                if isinstance(spec, str) and spec not in ("restriction", "zero"):
                    raise ValueError(f"Pi must be a callable, None, 'restriction' or 'zero', got {spec!r}")
                if spec is not None and not isinstance(spec, str) and not callable(spec):
                    raise TypeError(f"Pi must be a callable, None, 'restriction' or 'zero', got {type(spec).__name__}")
                new.Pi = lvl.R if spec == "restriction" else (None if spec == "zero" else spec)
            levels.append(new)
        return Hierarchy(levels)


def broadcast_levels(value: Any, J: int, name: str) -> tuple[int, ...]:
    """Broadcast an int or per-level sequence of ints to a tuple of length ``J``.

    Raises
    ------
    ValueError
        If a sequence of the wrong length or a negative count is given.
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be an int or a sequence of {J} ints, got bool")
    if isinstance(value, int):
        vals = (value,) * J
    else:
        try:
            vals = tuple(value)
        except TypeError:
            raise TypeError(f"{name} must be an int or a sequence of {J} ints, got {type(value).__name__}") from None
        if len(vals) != J:
            raise ValueError(f"{name} must have one entry per level (J = {J}), got {len(vals)}: {vals!r}")
    for v in vals:
        if isinstance(v, bool) or not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} entries must be non-negative ints, got {vals!r}")
    return vals


def parse_nu_pair(nu: Any) -> tuple[int, int]:
    """``(nu_pre, nu_post)`` from an int (both) or a pair, validated.

    Raises
    ------
    TypeError, ValueError
        For a bool, a non-pair, negative counts, or no smoothing at all.
    """
    if isinstance(nu, bool):
        raise TypeError("nu must be an int or a pair (nu_pre, nu_post)")
    if hasattr(nu, "__index__") and not isinstance(nu, (str, bytes)):
        nu = (nu, nu)
    try:
        pre, post = nu
    except (TypeError, ValueError):
        raise ValueError(f"nu must be an int or a pair (nu_pre, nu_post), got {nu!r}") from None
    for v in (pre, post):
        if isinstance(v, bool) or not hasattr(v, "__index__") or int(v.__index__()) < 0:
            raise ValueError(f"nu entries must be ints >= 0, got {nu!r}")
    pre, post = int(pre.__index__()), int(post.__index__())
    if pre + post == 0:
        raise ValueError("nu_pre + nu_post must be >= 1 (a cycle without smoothing does not converge)")
    return pre, post


@contextmanager
def replaced(changes: Iterable[tuple[Any, str, Any]]) -> Iterator[None]:
    """Set ``obj.attr = value`` for each ``(obj, attr, value)`` and restore on exit.

    Solvers use it to run a cycle with other level operations, e.g. the
    adjoint post-smoother that makes a cycle symmetric for CG.
    """
    saved = []
    try:
        for obj, attr, value in changes:
            saved.append((obj, attr, getattr(obj, attr)))
            setattr(obj, attr, value)
        yield
    finally:
        for obj, attr, value in reversed(saved):
            setattr(obj, attr, value)
