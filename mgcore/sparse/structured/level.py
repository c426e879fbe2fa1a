"""``StructuredLevel``: a :class:`mgcore.hierarchy.Level` made of compiled pieces.

The level composes a :class:`~.operator.StencilOperator` (``A``), a
:class:`~.smoother.CompiledSmoother` (``B``), a :class:`~.transfer.GridTransfer`
(``R``, ``P``) to the next coarser level and, on the coarsest level, a
:class:`~.coarse.CoarseSolver`; it owns the iterate/data buffers and
implements the fused level operations the core cycles call
(``smooth_restrict``, ``restrict_residual``, ``correct``).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

import numpy as np

from ...hierarchy import Level
from ...iterations import Smoother
from ...problems.grid import GridLevelData, GridProblem
from ._common import kernels
from .coarse import CoarseSolver
from .operator import StencilOperator
from .smoother import CompiledSmoother
from .support import kernel_options, parse_structured_smoothers, structured_support
from .transfer import GridTransfer

__all__ = ["StructuredLevel", "build_structured_levels", "structured_memory"]


class _LevelSmoother(Smoother):
    """The compiled smoother of a :class:`StructuredLevel` as a :class:`Smoother`."""

    def __init__(self, level: "StructuredLevel", post: bool):
        self.level, self.post = level, post

    def smooth(self, A, f, u, nu):
        return self.level.smooth(f, u, nu, post=self.post)

    def __repr__(self) -> str:
        return f"StructuredSmoother({self.level.smoother!r}, post={self.post})"


def _never(nu: int) -> bool:
    return False


class StructuredLevel(Level):
    """A structured-grid level with compiled in-place operations (level 1 = finest).

    Build the levels of a hierarchy with :func:`build_structured_levels`.

    Parameters
    ----------
    data : GridLevelData
        Face-coefficient operator of this level.
    smoother : {"rbgs", "jacobi", "chebyshev"}
        Compiled smoother (registry names and aliases, :mod:`mgcore.registry`).
    smoother_kwargs : dict, optional
        ``rbgs``: ``order`` -- ``"symmetric"`` (default; pre-smoothing red
        then black, post-smoothing black then red, so a V-cycle is a symmetric
        preconditioner) or ``"red-black"`` (post-smoothing also red then
        black; the first red half-sweep of the next cycle is then not wasted,
        which roughly halves the convergence factor of a stationary V(2,2)).
        ``jacobi``: ``omega`` (default 4/5 in 2D, 6/7 in 3D).
        ``chebyshev``: ``upper`` (default 2, a bound of ``spec(D^{-1} A)``)
        and ``lower`` (default ``upper / (2 d)``); ``nu`` steps are one
        Chebyshev polynomial of degree ``nu`` (He & Xu, MgNet, 2019, eq. 3.23).
    dtype : numpy dtype
        ``float64`` or ``float32``.
    threads : int
        Threads of the kernels (``parallel=True`` variants when > 1).
    coarsest : bool
        Whether this is the coarsest level (exact solve).
    finest : bool
        Level 1: its data buffer is the caller's.

    Attributes
    ----------
    op : StencilOperator
    smoother_impl : CompiledSmoother
    transfer : GridTransfer, SemiTransfer or None
        To the next coarser level (``None`` on the coarsest; a
        :class:`~.semi.SemiTransfer` when only some axes are coarsened).
    coarse_solver : CoarseSolver or None
    u : ndarray
        The level's iterate buffer (grid shape).
    f : ndarray or None
        The level's data buffer (``None`` on level 1, whose data the caller owns).
    coarse : StructuredLevel or None
        The next coarser level.
    inplace : bool
        Level 1 only: iterate in place in the caller's array.
    """

    def __init__(
        self,
        data: GridLevelData,
        smoother: str = "rbgs",
        smoother_kwargs: dict | None = None,
        dtype: Any = np.float64,
        threads: int = 1,
        coarsest: bool = False,
        finest: bool = False,
    ):
        if not isinstance(data, GridLevelData):
            raise TypeError(f"data must be a GridLevelData, got {type(data).__name__}")
        if data.dim not in (2, 3):
            raise ValueError(f"structured levels are 2D or 3D, got a {data.dim}D grid")
        specs, why = parse_structured_smoothers(
            smoother if smoother_kwargs is None else (smoother, dict(smoother_kwargs)), None, kernel=True
        )
        if specs is None:
            raise ValueError(why)
        name, kw = specs[0]
        dt = np.dtype(dtype)
        if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {dt}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an int >= 1, got {threads!r}")
        kernel_options(name)
        self.dtype = dt
        self.data = data
        self.op = StencilOperator(data, dt, threads)
        if name == "line-gs":
            from .line import CompiledLineSmoother

            self.smoother_impl = CompiledLineSmoother(self.op, kw)
        elif name == "polynomial":
            from .polysmoother import StructuredPolynomialSmoother

            self.smoother_impl = StructuredPolynomialSmoother(self.op, kw)
        else:
            self.smoother_impl = CompiledSmoother(self.op, name, kw)
        self.grid_shape = self.op.grid_shape
        self.dim = data.dim
        self.smoother = name
        self.smoother_kwargs = kw
        self.threads = threads
        self.const = self.op.const
        self.coarse: StructuredLevel | None = None
        self.transfer: GridTransfer | None = None
        self.finest = bool(finest)
        self.inplace = False
        self.track_norm = False
        self._fused = None
        self.u = None if finest else np.zeros(self.grid_shape, dtype=dt)
        self.f = None if finest else np.zeros(self.grid_shape, dtype=dt)
        super().__init__(
            A=self.apply,
            B=_LevelSmoother(self, False),
            R=None if coarsest else self.restrict,
            Pi=None,
            P=None if coarsest else self.prolong,
            B_post=_LevelSmoother(self, True),
            coarse_solve=self.solve_coarse if coarsest else None,
            shape=self.grid_shape,
            meta={"structured": True, "smoother": name, "const": self.const, "dtype": dt.name, "bc": data.bc},
        )
        self.coarse_solver = CoarseSolver(self.op) if coarsest else None

    # ------------------------------------------------------------ structure
    @property
    def size(self) -> int:
        """Number of unknowns of this level."""
        return self.op.size

    @property
    def order(self) -> str:
        """Post-smoothing colour order of red-black Gauss-Seidel (``"symmetric"`` or ``"red-black"``)."""
        return self.smoother_impl.order

    @order.setter
    def order(self, value: str) -> None:
        self.smoother_impl.order = value

    @property
    def omega(self) -> float:
        """Jacobi damping of the compiled smoother."""
        return self.smoother_impl.omega

    @property
    def lower(self) -> float:
        """Lower Chebyshev bound of the compiled smoother."""
        return self.smoother_impl.lower

    @property
    def upper(self) -> float:
        """Upper Chebyshev bound of the compiled smoother."""
        return self.smoother_impl.upper

    def link(self, coarse: "StructuredLevel") -> None:
        """Attach the next coarser level and size the transfer scratch buffers.

        A coarse level that halves only some axes (semi-coarsening) gets a
        :class:`~.semi.SemiTransfer`, a uniform coarse grid that does not nest
        in this one a :class:`~.nonnested.NonNestedTransfer`; the one-pass
        smoothing + transfer kernels of nested full coarsening are then not
        used on this level."""
        from ...coarsening import coarsen_size
        from ...coarsening import is_nonnested_step

        full = tuple(coarsen_size(n, self.data.bc) for n in self.grid_shape)
        if is_nonnested_step(tuple(self.grid_shape), tuple(coarse.grid_shape), self.data.bc):
            from .nonnested import NonNestedTransfer

            self.transfer = NonNestedTransfer(self.op, coarse.op)
            self._unfuse()
        elif coarse.grid_shape != full:
            from .semi import SemiTransfer

            self.transfer = SemiTransfer(self.op, coarse.op)
            self._unfuse()
        else:
            self.transfer = GridTransfer(self.op, coarse.op)
        self.coarse = coarse

    _link = link

    def _unfuse(self) -> None:
        """Switch off the smoother's one-pass smoothing + transfer kernels (they restrict and prolong
        between nested grids over every axis)."""
        impl = self.smoother_impl
        for name in ("fusable", "fusable_post", "zero_start"):
            if hasattr(impl, name):
                setattr(impl, name, _never)

    def _buffer(self) -> np.ndarray:
        if self.u is None:
            self.u = np.zeros(self.grid_shape, dtype=self.dtype)
        return self.u

    def _grid(self, x: Any, name: str) -> np.ndarray:
        return self.op.grid(x, name)

    def _own(self, u: Any) -> np.ndarray:
        """The array to update in place holding ``u``: the level buffer (zero
        for ``None``; a foreign iterate is copied into it), or ``u`` itself on
        an ``inplace`` finest level when ``u`` is a writable C-contiguous
        array of the level dtype."""
        K = kernels()
        self._fused = None
        if u is None:
            buf = self._buffer()
            K.fill_zero(buf)
            return buf
        if u is self.u:
            return u
        if (
            self.inplace and isinstance(u, np.ndarray) and u.dtype == self.dtype and u.flags.c_contiguous
            and u.flags.writeable and u.size == self.size
        ):
            return u.reshape(self.grid_shape)
        buf = self._buffer()
        src = self._grid(u, "u")
        if src.ctypes.data != buf.ctypes.data:
            K.copy_into(buf, src)
        return buf

    def _split_ring(self, nu: int) -> tuple | None:
        return self.smoother_impl.split_ring(nu)

    @contextmanager
    def fused_norm_tracking(self):
        """Within the context, post-smoothing sums ``||f - A u||`` during its
        last sweep, handed out once by :meth:`take_fused_norm` (saves one pass
        per cycle in the stationary solver)."""
        self.track_norm = True
        try:
            yield self
        finally:
            self.track_norm = False
            self._fused = None

    def take_fused_norm(self, f: Any, u: Any) -> float | None:
        """``||f - A u||`` summed during the last post-smoothing sweep of ``u``
        with data ``f`` (see :meth:`fused_norm_tracking`), or ``None`` if there
        is none; the value is handed out once."""
        fz = self._fused
        self._fused = None
        if fz is None or not isinstance(u, np.ndarray) or not isinstance(f, np.ndarray):
            return None
        if fz[0] == u.ctypes.data and fz[1] == f.ctypes.data:
            return fz[2]
        return None

    # ------------------------------------------------------ plain operators
    def apply(self, u: Any) -> np.ndarray:
        """``A u`` (matrix-free, allocates the result; flat in, flat out)."""
        return self.op.apply(u)

    def restrict(self, r: Any) -> np.ndarray:
        """``R r`` with ``R = P^T / 2^d`` (full weighting; allocates)."""
        if self.coarse is None:
            raise ValueError("the coarsest level has no restriction")
        Rr = self._grid(r, "r")
        out = np.empty(self.coarse.grid_shape, dtype=self.dtype)
        self.transfer.restrict_into(Rr, out)
        return out.reshape(-1) if np.ndim(r) == 1 else out

    def prolong(self, e: Any) -> np.ndarray:
        """``P e`` (bi/trilinear interpolation, He & Xu, MgNet, 2019, eq. 4.7-4.9; allocates)."""
        if self.coarse is None:
            raise ValueError("the coarsest level has no prolongation")
        E = self.coarse._grid(e, "e")
        out = np.zeros(self.grid_shape, dtype=self.dtype)
        self.transfer.prolong_add(out, E)
        return out.reshape(-1) if np.ndim(e) == 1 else out

    # ---------------------------------------------- overridden level operations
    def residual(self, f: Any, u: Any) -> np.ndarray:
        """``f - A u`` (allocates the result; grid shape)."""
        return self.op.residual(f, u)

    def residual_norm(self, f: Any, u: Any) -> float:
        """``||f - A u||_2`` without allocating (fused kernel)."""
        return self.op.residual_norm(f, u)

    def restrict_residual(self, f: Any, u: Any) -> np.ndarray:
        """``f^{l+1} = R(f - A u)`` fused into the coarse level's ``f`` buffer (returned)."""
        if self.coarse is None:
            raise ValueError("the coarsest level has no restriction")
        F = self._grid(f, "f")
        fc = self.coarse.f
        if u is None:
            self.transfer.restrict_into(F, fc)
        else:
            self.transfer.restrict_residual_into(self._grid(u, "u"), F, fc)
        return fc

    def correct(self, u: Any, e: Any) -> np.ndarray:
        """``u + P e`` in place in the level's ``u`` buffer (returned)."""
        if self.coarse is None:
            raise ValueError("the coarsest level has no prolongation")
        U = self._own(u)
        self.transfer.prolong_add(U, self.coarse._grid(e, "e"))
        return U

    def smooth_restrict(self, f: Any, u: Any, nu: int) -> tuple[Any, Any]:
        """Pre-smoothing and ``f^{l+1} = R(f - A u)`` in one pass over memory (2D red-black)."""
        if self.coarse is None or not self.smoother_impl.fusable(nu):
            return super().smooth_restrict(f, u, nu)
        F = self._grid(f, "f")
        fc = self.coarse.f
        zero_ok = getattr(self.smoother_impl, "zero_start", None)
        if u is None and zero_ok is not None and zero_ok(nu):  # from zero: the buffer is neither filled nor read
            self._fused = None
            U = self._buffer()
            self.smoother_impl.smooth_restrict(U, F, nu, fc, self.transfer.off, self.transfer.rbuf4, zero=True)
            return U, fc
        U = self._own(u)
        self.smoother_impl.smooth_restrict(U, F, nu, fc, self.transfer.off, self.transfer.rbuf4)
        return U, fc

    def correct_smooth(self, f: Any, u: Any, e: Any, nu: int) -> Any:
        """``u + P e`` and ``nu`` post-smoothing steps in one pass over memory
        (red-black Gauss-Seidel on colour-split rows; bitwise :meth:`correct`
        then :meth:`smooth`)."""
        fusable = getattr(self.smoother_impl, "fusable_post", None)
        if self.coarse is None or fusable is None or not fusable(nu):
            return super().correct_smooth(f, u, e, nu)
        F = self._grid(f, "f")
        U = self._own(u)
        want = bool(self.track_norm)
        norm = self.smoother_impl.correct_smooth(U, F, self.coarse._grid(e, "e"), nu, self.transfer.ebuf, want)
        if want and norm is not None:
            self._fused = (U.ctypes.data, F.ctypes.data, norm)
        return U

    def smooth(self, f: Any, u: Any, nu: int, post: bool = False) -> Any:
        """``nu`` compiled smoothing steps in place (pre: red first; post: black first)."""
        if nu <= 0:
            return u
        F = self._grid(f, "f")
        U = self._own(u)
        want = bool(post and self.track_norm)
        norm = self.smoother_impl.smooth(U, F, nu, post, want_norm=want)
        if want and norm is not None:
            self._fused = (U.ctypes.data, F.ctypes.data, norm)
        return U

    def solve_coarse(self, f: Any) -> np.ndarray:
        """Exact solve ``A u = f`` into ``u`` (returned)."""
        F = self._grid(f, "f")
        self._fused = None
        self._buffer()
        self.coarse_solver.solve_into(F, self.u)
        return self.u

    def nbytes(self) -> dict:
        """Bytes held by this level: iterate/data buffers, faces, scratch."""
        buf = (self.u.nbytes if self.u is not None else 0) + (self.f.nbytes if self.f is not None else 0)
        scratch = self.op.row.nbytes + self.op.zero.nbytes + (self.op.rows.nbytes if self.op.rows is not None else 0)
        scratch += self.smoother_impl.nbytes()
        scratch += self.transfer.nbytes() if self.transfer is not None else 0
        scratch += self.coarse_solver.nbytes() if self.coarse_solver is not None else 0
        return {"buffers": buf, "faces": self.op.nbytes(), "scratch": scratch}

    def __repr__(self) -> str:
        return (
            f"StructuredLevel(shape={self.grid_shape}, bc={self.data.bc!r}, smoother={self.smoother!r}, "
            f"const={self.const}, dtype={self.dtype.name}, threads={self.threads})"
        )


def build_structured_levels(
    problem: GridProblem,
    datas: list,
    smoother: Any = "rbgs",
    dtype: Any = np.float64,
    threads: int = 1,
    smoother_kwargs: dict | None = None,
    inplace: bool = False,
) -> list[StructuredLevel]:
    """Build the compiled levels of a re-discretised structured hierarchy.

    Parameters
    ----------
    problem : GridProblem
        The problem (2D or 3D).
    datas : list of GridLevelData
        Fine-to-coarse level operators (``problem.levels()``, or
        :func:`~mgcore.sparse.structured.semi.semi_level_data` for
        semi-coarsened grids, where consecutive levels are linked by a
        :class:`~mgcore.sparse.structured.semi.SemiTransfer`); entry 0 is
        level 1 (the finest).
    smoother : str, (name, kwargs) or list of those (one per level)
        ``"rbgs"``, ``"jacobi"`` or ``"chebyshev"`` (see :class:`StructuredLevel`).
    dtype : {numpy.float64, numpy.float32}
    threads : int
        Kernel threads (``numba.set_num_threads``); 1 = serial kernels.
    smoother_kwargs : dict, optional
        Options merged into every level's smoother options.
    inplace : bool
        Level 1 iterates in place in the caller's array (what
        :class:`mgcore.sparse.MultigridSolver` uses: no copy per cycle).

    Returns
    -------
    list of StructuredLevel
        Level 1 (finest) first; pass to :class:`mgcore.hierarchy.Hierarchy`.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.hierarchy import Hierarchy
    >>> from mgcore.cycles import cycle
    >>> from mgcore.problems.grid import GridProblem
    >>> p = GridProblem((31, 31))
    >>> h = Hierarchy(build_structured_levels(p, p.levels()))
    >>> b = p.rhs().reshape(p.shape)
    >>> u = None
    >>> for _ in range(10):
    ...     u = cycle(h, b, u)
    >>> bool(h[0].residual_norm(b, u) < 1e-8 * np.linalg.norm(b))
    True
    """
    ok, why = structured_support(problem, "rbgs")
    if not ok:
        raise ValueError(f"structured levels cannot be built: {why}")
    if not isinstance(datas, (list, tuple)) or not datas:
        raise ValueError("datas must be a non-empty list of GridLevelData (fine to coarse)")
    for i, d in enumerate(datas):
        if not isinstance(d, GridLevelData):
            raise TypeError(f"datas[{i}] must be a GridLevelData, got {type(d).__name__}")
    if tuple(datas[0].shape) != tuple(problem.shape):
        raise ValueError(f"datas[0] has shape {datas[0].shape}, the problem {problem.shape}")
    dt = np.dtype(dtype)
    if dt not in (np.dtype(np.float64), np.dtype(np.float32)):
        raise ValueError(f"dtype must be float64 or float32, got {dt}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ValueError(f"threads must be an int >= 1, got {threads!r}")
    if smoother_kwargs is not None and not isinstance(smoother_kwargs, dict):
        raise TypeError(f"smoother_kwargs must be a dict or None, got {type(smoother_kwargs).__name__}")
    specs, why = parse_structured_smoothers(smoother, len(datas), kernel=True)
    if specs is None:
        raise ValueError(why)
    if threads > 1:
        import numba

        threads = min(threads, numba.config.NUMBA_NUM_THREADS)
    J = len(datas)
    levels = []
    for l, (d, (name, kw)) in enumerate(zip(datas, specs)):
        kw = {**kw, **(smoother_kwargs or {})}
        levels.append(StructuredLevel(d, name, kw, dtype=dt, threads=threads, coarsest=(l == J - 1), finest=(l == 0)))
    for l in range(J - 1):
        levels[l].link(levels[l + 1])
    levels[0].inplace = bool(inplace)
    return levels


def structured_memory(levels: list[StructuredLevel]) -> dict:
    """Bytes of all levels' buffers/faces/scratch and their ratio to one fine vector."""
    tot = {"buffers": 0, "faces": 0, "scratch": 0}
    for lvl in levels:
        for k, v in lvl.nbytes().items():
            tot[k] += v
    fine = levels[0].size * levels[0].dtype.itemsize
    tot["fine_vector"] = fine
    tot["buffers_ratio"] = tot["buffers"] / fine
    tot["total_ratio"] = (tot["buffers"] + tot["faces"] + tot["scratch"]) / fine
    return tot
