"""The geometric coarsening rule, shared by every backend (pure Python).

Grid conventions (:mod:`mgcore.problems.grid`): a Dirichlet grid has ``n``
interior unknowns per dimension and coarse node ``i`` is fine node
``2 i + 1`` (so ``n = 2 m + 1`` coarsens to ``m``); a Neumann grid has ``n``
nodes including the boundary and coarse node ``i`` is fine node ``2 i``
(``n = 2 m - 1`` coarsens to ``m``).  Standard coarsening halves every
dimension (He & Xu, *MgNet*, 2019, Sec. 4, eq. 4.7-4.9).

Those sizes are *nested*: the coarse nodes form a uniform grid again, so
the coarse operator can be re-discretised and the compiled kernels apply.
Other sizes coarsen too (Dirichlet ``n = 2 m`` to ``m``, the last coarse
node one fine step from the boundary; Neumann ``n = 2 m`` to ``m``, the last
fine node taking the last coarse value); their coarse grids are not uniform,
so their coarse operators are the Galerkin products ``R A P``.  With
``uniform_coarse=True`` a size that does not nest coarsens instead to the
uniform grid of :func:`uniform_coarse_size` (``2^k - 1`` or ``2^k + 1``
unknowns, about half as many) that covers the same domain: its nodes do not
coincide with fine nodes, the transfers interpolate linearly between the
two grids, and every coarser level nests again, so all levels can be
re-discretised (non-nested geometric multigrid).

Examples
--------
>>> from mgcore.coarsening import level_shapes
>>> level_shapes((63, 63), "dirichlet", coarse_size=9)
[(63, 63), (31, 31), (15, 15), (7, 7), (3, 3)]
"""

from __future__ import annotations

import math

__all__ = ["coarsen_size", "can_coarsen", "nested", "uniform_coarse_size", "is_nonnested_step", "is_halving", "level_shapes", "DEFAULT_COARSE_SIZE", "InsufficientMemoryError",
           "available_memory", "check_memory"]

#: Default largest coarsest level (unknowns), solved exactly.
DEFAULT_COARSE_SIZE = 500


def coarsen_size(n: int, bc: str) -> int:
    """Number of coarse unknowns per dimension for ``n`` fine ones."""
    return n // 2 if bc == "dirichlet" else (n + 1) // 2


def can_coarsen(n: int, bc: str) -> bool:
    """Whether a grid of ``n`` unknowns per dimension can be coarsened once."""
    return n >= 3 if bc == "dirichlet" else n >= 4


def nested(n: int, bc: str) -> bool:
    """Whether coarsening ``n`` gives a uniform coarse grid (``n`` odd)."""
    return n % 2 == 1


def uniform_coarse_size(n: int, bc: str) -> int:
    """The uniform coarse size for ``n`` unknowns: the nested size nearest to half of ``n``.

    Dirichlet: ``2^k - 1`` unknowns (``2^k`` intervals), Neumann: ``2^k + 1``
    nodes, with ``2^k`` the power of two nearest (in ratio) to half the
    number of fine intervals; always fewer than ``n``.  For a nested ``n``
    this is :func:`coarsen_size`.

    Examples
    --------
    >>> from mgcore.coarsening import uniform_coarse_size
    >>> uniform_coarse_size(1000, "dirichlet"), uniform_coarse_size(300, "dirichlet"), uniform_coarse_size(1023, "dirichlet")
    (511, 127, 511)
    >>> uniform_coarse_size(1000, "neumann")
    513
    """
    if nested(n, bc):
        return coarsen_size(n, bc)
    intervals = (n + 1) if bc == "dirichlet" else (n - 1)
    k = max(0, round(math.log2(intervals / 2)))
    c = 2**k - 1 if bc == "dirichlet" else 2**k + 1
    while c >= n and k > 0:
        k -= 1
        c = 2**k - 1 if bc == "dirichlet" else 2**k + 1
    return max(c, 1)


def is_nonnested_step(fine_shape: tuple, coarse_shape: tuple, bc: str) -> bool:
    """Whether ``coarse_shape`` is a coarser grid of ``fine_shape`` that some coarsened axis does not nest in.

    Every axis keeps its size or gets coarser (semi-coarsening keeps some);
    the step is non-nested when an axis that changes is not the nested
    halving ``2 m + 1 -> m`` (Dirichlet) / ``2 m - 1 -> m`` (Neumann)."""
    if len(fine_shape) != len(coarse_shape) or not all(0 < c <= n for n, c in zip(fine_shape, coarse_shape)):
        return False
    changed = [(n, c) for n, c in zip(fine_shape, coarse_shape) if c != n]
    return bool(changed) and not is_halving([n for n, _ in changed], [c for _, c in changed], bc)


def is_halving(fine_shape: tuple, coarse_shape: tuple, bc: str) -> bool:
    """Whether every axis of ``coarse_shape`` is the nested halving of ``fine_shape`` (``2 m + 1 -> m``
    Dirichlet, ``2 m - 1 -> m`` Neumann)."""
    return all(c == coarsen_size(n, bc) and nested(n, bc) for n, c in zip(fine_shape, coarse_shape))


def level_shapes(shape: tuple, bc: str, max_levels: int | None = None, coarse_size: int = DEFAULT_COARSE_SIZE,
                 axes: list | None = None, uniform_coarse: bool = False) -> list:
    """Grid shapes of the levels, level 1 (finest, ``shape``) first.

    Coarsening goes on while the coarsest level has more than ``coarse_size``
    unknowns, every dimension can be coarsened and fewer than ``max_levels``
    levels exist.  The coarsest level is solved exactly.

    Parameters
    ----------
    shape : tuple of int
        Unknowns per dimension of level 1.
    bc : {"dirichlet", "neumann"}
    max_levels : int, optional
        Cap on the number of levels.
    coarse_size : int
        Stop once a level has at most this many unknowns.
    axes : list of tuple, optional
        Semi-coarsening: ``axes[l]`` are the axes coarsened from level
        ``l + 1`` to ``l + 2`` (default: every axis; an axis that cannot be
        coarsened any more is kept).
    uniform_coarse : bool
        A size that does not nest coarsens to :func:`uniform_coarse_size`
        (a uniform grid again) instead of ``n // 2`` (along the coarsened
        axes of semi-coarsening too).

    Examples
    --------
    >>> level_shapes((1000, 300), "dirichlet", uniform_coarse=True)
    [(1000, 300), (511, 127), (255, 63), (127, 31), (63, 15), (31, 7)]
    """
    if max_levels is not None and (isinstance(max_levels, bool) or not isinstance(max_levels, int) or max_levels < 1):
        raise ValueError(f"max_levels must be an int >= 1 or None, got {max_levels!r}")
    if isinstance(coarse_size, bool) or not isinstance(coarse_size, int) or coarse_size < 1:
        raise ValueError(f"coarse_size must be an int >= 1, got {coarse_size!r}")
    shapes = [tuple(int(n) for n in shape)]
    while (max_levels is None or len(shapes) < max_levels) and math.prod(shapes[-1]) > coarse_size:
        if axes is None:
            if not all(can_coarsen(n, bc) for n in shapes[-1]):
                break
            size = uniform_coarse_size if uniform_coarse else coarsen_size
            shapes.append(tuple(size(n, bc) for n in shapes[-1]))
            continue
        l = len(shapes) - 1
        todo = set(axes[l]) if l < len(axes) else set(range(len(shape)))
        size = uniform_coarse_size if uniform_coarse else coarsen_size
        new = tuple(size(n, bc) if (a in todo and can_coarsen(n, bc)) else n for a, n in enumerate(shapes[-1]))
        if new == shapes[-1]:
            break
        shapes.append(new)
    return shapes


class InsufficientMemoryError(MemoryError, ValueError):
    """A problem or solver would need more memory than the machine has available
    (raised before anything is allocated; the message names the size and the bytes)."""


def available_memory() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable``), or ``None`` if unknown."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import os

        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def check_memory(nbytes: float, what: str) -> None:
    """Raise :class:`InsufficientMemoryError` if ``nbytes`` exceed the available memory."""
    avail = available_memory()
    if avail is not None and nbytes > avail:
        raise InsufficientMemoryError(
            f"{what} needs about {nbytes / 2**30:.1f} GiB but only {avail / 2**30:.1f} GiB of memory is available; "
            "use a smaller n"
        )
