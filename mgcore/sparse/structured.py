"""Fast matrix-free multigrid levels for structured grids (compiled kernels).

:class:`StructuredLevel` is a :class:`mgcore.hierarchy.Level` whose
operations run compiled numba kernels (:mod:`mgcore.sparse._kernels`) on
preallocated per-level buffers:

* ``smooth`` -- red-black Gauss-Seidel (pre: red then black, post: black
  then red), damped Jacobi, or Jacobi-preconditioned Chebyshev
  semi-iteration (seed 003 eq. 3.23-3.24, ``B = tau D^{-1}``), in place;
* ``restrict_residual`` -- fused ``f^{l+1} = R(f^l - A^l u^l)`` with the full
  weighting ``R = P^T / 2^d`` (seed 003 Lemma 4.1, Alg. 1 line 8), written
  into the coarse level's ``f`` buffer;
* ``correct`` -- fused ``u^l <- u^l + P u^{l+1}`` (seed 003 eq. 4.7-4.9,
  5.13) into the level's ``u`` buffer;
* the coarsest level solves exactly with a precomputed dense inverse
  (pseudo-inverse for the singular Neumann problem).

The operator is read from the face-coefficient arrays of
:class:`mgcore.problems.grid.GridLevelData`, so constant, anisotropic and
variable coefficients with Dirichlet or Neumann boundaries share one code
path (interior points of levels whose faces are constant per direction use
scalar weights).  ``A``, ``R`` and ``P`` remain plain (allocating) callables,
so the generic algorithms of :mod:`mgcore.cycles` (``mg0``, ``mgnet``,
``fmg``, ...) run on these levels unchanged.

Buffer semantics: ``smooth``, ``correct`` and ``coarse_solve`` return the
level's own ``u`` buffer.  An iterate ``u=None`` zero-fills it; an iterate that
is not the level's buffer is copied into it first (the caller's array is never
modified) -- except on a finest level with ``inplace=True`` (set by
:class:`mgcore.sparse.solver.MultigridSolver`), which updates a writable
C-contiguous iterate of its dtype in place and allocates its own buffer only
when a cycle starts from ``u=None``.  Levels whose coefficient is uniform
with Dirichlet boundaries (:attr:`GridLevelData.uniform`) keep no face
arrays.  Iterates are arrays of the grid shape (x = axis 0, C order); flat
vectors are accepted and reshaped.  Copy a returned iterate if it must
survive the next cycle.

Importing this module does not import numba; the kernels are loaded (and
compiled on first use, cached on disk) when a level is built.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..hierarchy import Level
from ..iterations import Smoother, chebyshev_omegas
from ..problems.grid import GridLevelData, GridProblem, coarsen_size

__all__ = [
    "STRUCTURED_SMOOTHERS",
    "RBGS_ORDERS",
    "StructuredLevel",
    "build_structured_levels",
    "structured_support",
    "structured_memory",
]

#: Orders of the red-black Gauss-Seidel post-smoother: ``"symmetric"`` (post:
#: black then red, the adjoint of the pre-smoother, so the cycle is a symmetric
#: preconditioner for CG) or ``"red-black"`` (post: red then black as well).
RBGS_ORDERS = ("symmetric", "red-black")

#: Smoothers with a compiled structured kernel (canonical names).
STRUCTURED_SMOOTHERS = ("rbgs", "jacobi", "chebyshev")
_ALIASES = {
    "rbgs": "rbgs",
    "red-black": "rbgs",
    "red_black": "rbgs",
    "redblack": "rbgs",
    "rb-gs": "rbgs",
    "red-black-gauss-seidel": "rbgs",
    "jacobi": "jacobi",
    "damped-jacobi": "jacobi",
    "chebyshev": "chebyshev",
    "jacobi-chebyshev": "chebyshev",
}
_KWARGS = {"rbgs": ("order",), "jacobi": ("omega",), "chebyshev": ("lower", "upper")}

#: Smallest row length (last axis) of a uniform-coefficient 2D level whose
#: serial red-black Gauss-Seidel runs on colour-split rows
#: (:func:`mgcore.sparse._kernels.rbgs2_split`); shorter rows use the
#: stride-2 kernels.
SPLIT_MIN = 16

#: Largest coarsest level (unknowns) solved with a dense (pseudo-)inverse;
#: larger ones use a sparse LU factorisation.
DENSE_COARSE_MAX = 2048

_K = None


def _kernels():
    """The compiled kernel module (imports numba on first use)."""
    global _K
    if _K is None:
        from . import _kernels as K

        _K = K
    return _K


# --------------------------------------------------------------------------- specs
def _parse_one(spec: Any) -> tuple[str | None, dict, str]:
    """``(canonical name or None, kwargs, reason)`` of one smoother spec."""
    kw: dict = {}
    if isinstance(spec, str):
        name = spec
    elif isinstance(spec, dict) and "name" in spec:
        name = spec["name"]
        kw = {k: v for k, v in spec.items() if k != "name"}
    elif isinstance(spec, (tuple, list)) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], dict):
        name, kw = spec[0], dict(spec[1])
    else:
        return None, {}, f"smoother spec {spec!r} is not a name or (name, kwargs) pair"
    canon = _ALIASES.get(str(name).lower())
    if canon is None:
        return None, {}, f"smoother {name!r} has no structured kernel (supported: {', '.join(STRUCTURED_SMOOTHERS)})"
    bad = sorted(set(kw) - set(_KWARGS[canon]) - {"post"})
    if bad:
        return None, {}, f"smoother {name!r} options {bad} are not supported by the structured kernel (allowed: {list(_KWARGS[canon])})"
    return canon, kw, ""


def _parse_smoothers(smoother: Any, J: int | None) -> tuple[list | None, str]:
    """Per-level ``[(name, kwargs)]`` (or one entry when ``J`` is None) and a reason."""
    is_pair = (
        isinstance(smoother, (tuple, list)) and len(smoother) == 2
        and isinstance(smoother[0], str) and isinstance(smoother[1], dict)
    )
    if isinstance(smoother, (list, tuple)) and not is_pair:
        specs = list(smoother)
        if not specs:
            return None, "smoother list is empty"
        if J is not None and len(specs) != J:
            return None, f"smoother list has {len(specs)} entries, expected one per level (J = {J})"
    else:
        specs = [smoother] * (J if J is not None else 1)
    out = []
    for s in specs:
        name, kw, why = _parse_one(s)
        if name is None:
            return None, why
        out.append((name, kw))
    return out, ""


def structured_support(
    problem: Any,
    smoother: Any = "rbgs",
    coarse: str = "rediscretize",
    interpolation: str = "bilinear",
    restriction: str = "full-weighting",
) -> tuple[bool, str]:
    """Whether the compiled structured path applies, and why not.

    Parameters
    ----------
    problem : GridProblem
        The problem (an assembled matrix is never supported).
    smoother : str, (name, kwargs) or list of those
        Smoother spec (one for all levels or one per level, level 1 = finest);
        supported names: ``"rbgs"`` (red-black Gauss-Seidel), ``"jacobi"``,
        ``"chebyshev"``.
    coarse : {"rediscretize", "galerkin"}
        Only re-discretised coarse operators are supported.
    interpolation, restriction : str
        Only bilinear/trilinear interpolation with full weighting
        (seed 003 eq. 4.9 first case, ``R = P^T/2^d``).

    Returns
    -------
    (bool, str)
        ``(True, "")`` when supported, else ``(False, reason)``.

    Examples
    --------
    >>> from mgcore.problems.grid import GridProblem
    >>> structured_support(GridProblem((7, 7)), "rbgs")
    (True, '')
    >>> structured_support(GridProblem((7, 7)), "rbgs", coarse="galerkin")[0]
    False
    """
    if not isinstance(problem, GridProblem):
        return False, f"problem is a {type(problem).__name__}, not a structured GridProblem"
    if problem.dim not in (2, 3):
        return False, f"structured kernels exist for 2D and 3D grids, the problem is {problem.dim}D"
    if coarse != "rediscretize":
        return False, f"coarse={coarse!r}: the structured kernels need re-discretised coarse operators ('rediscretize')"
    if interpolation != "bilinear":
        return False, f"interpolation={interpolation!r}: only bilinear/trilinear interpolation is compiled (FEM 'linear' uses the sparse path)"
    if restriction != "full-weighting":
        return False, f"restriction={restriction!r}: only full weighting R = P^T/2^d is compiled"
    specs, why = _parse_smoothers(smoother, None)
    if specs is None:
        return False, why
    if any(name == "chebyshev" for name, _ in specs):
        return False, (
            "smoother 'chebyshev': the structured kernel is one polynomial of degree nu on [lower, upper] of "
            "D^-1 A, not the sparse definition (each step one polynomial of `degree` on estimated spectral "
            "bounds); use the sparse path (fast=False) or 'rbgs'/'jacobi'"
        )
    return True, ""


# --------------------------------------------------------------------------- level
class _LevelSmoother(Smoother):
    """The compiled smoother of a :class:`StructuredLevel` as a :class:`Smoother`."""

    def __init__(self, level: "StructuredLevel", post: bool):
        self.level, self.post = level, post

    def smooth(self, A, f, u, nu):
        return self.level.smooth(f, u, nu, post=self.post)

    def __repr__(self) -> str:
        return f"StructuredSmoother({self.level.smoother!r}, post={self.post})"


def _uniform_weights(data: GridLevelData) -> list | None:
    """One face weight per direction if every face (boundary faces included)
    along that direction has it, else ``None``."""
    if data.uniform is not None:
        return list(data.uniform)
    if data.bc != "dirichlet":
        return None
    out = []
    for w in data.faces:
        c = w.flat[0]
        if not bool(np.all(w == c)):
            return None
        out.append(float(c))
    return out


class StructuredLevel(Level):
    """A structured-grid level with compiled in-place operations (level 1 = finest).

    Build the levels of a hierarchy with :func:`build_structured_levels`.

    Parameters
    ----------
    data : GridLevelData
        Face-coefficient operator of this level.
    smoother : {"rbgs", "jacobi", "chebyshev"}
        Compiled smoother.
    smoother_kwargs : dict, optional
        ``rbgs``: ``order`` -- ``"symmetric"`` (default; pre-smoothing red
        then black, post-smoothing black then red, so a V-cycle is a symmetric
        preconditioner) or ``"red-black"`` (post-smoothing also red then
        black; the first red half-sweep of the next cycle is then not wasted,
        which roughly halves the convergence factor of a stationary V(2,2)).
        ``jacobi``: ``omega`` (default 4/5 in 2D, 6/7 in 3D).
        ``chebyshev``: ``upper`` (default 2, a bound of ``spec(D^{-1} A)``)
        and ``lower`` (default ``upper / (2 d)``, the smallest high-frequency
        eigenvalue of ``D^{-1}A`` for the Laplacian); ``nu`` steps are one
        Chebyshev polynomial of degree ``nu`` (seed 003 eq. 3.23).
    dtype : numpy dtype
        ``float64`` or ``float32``.
    threads : int
        Threads of the kernels (``parallel=True`` variants when > 1).
    coarsest : bool
        Whether this is the coarsest level (exact dense solve).

    Attributes
    ----------
    u : ndarray
        The level's iterate buffer (grid shape).
    f : ndarray or None
        The level's data buffer (``None`` on level 1, whose data the caller owns).
    coarse : StructuredLevel or None
        The next coarser level.
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
        name, kw, why = _parse_one(smoother if smoother_kwargs is None else (smoother, dict(smoother_kwargs)))
        if name is None:
            raise ValueError(why)
        kw.pop("post", None)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.dtype(np.float64), np.dtype(np.float32)):
            raise ValueError(f"dtype must be float64 or float32, got {self.dtype}")
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be an int >= 1, got {threads!r}")
        self.data = data
        self.grid_shape = tuple(int(n) for n in data.shape)
        self.dim = data.dim
        self.off = 1 if data.bc == "dirichlet" else 0
        self.smoother = name
        self.smoother_kwargs = kw
        self.threads = threads
        self.coarse: StructuredLevel | None = None
        dt = self.dtype
        cs = _uniform_weights(data)
        self.const = cs is not None
        if self.const:
            # uniform Dirichlet level: scalar weights only, no face arrays
            self.faces = [np.zeros((1,) * self.dim, dtype=dt) for _ in range(self.dim)]
            dsum = 2.0 * sum(cs) * data.scale
            cs = [c * data.scale for c in cs]
        else:
            self.faces = [np.ascontiguousarray(data.scale * w, dtype=dt) for w in data.faces]
            dsum, cs = 0.0, [0.0] * self.dim
        self.cst = np.array(cs + [dsum, 1.0 / dsum if dsum > 0 else 0.0], dtype=dt)
        self.finest = bool(finest)
        #: finest level only: iterate in place in the caller's array (see the module docstring)
        self.inplace = False
        self.track_norm = False
        self._fused = None
        self.u = None if finest else np.zeros(self.grid_shape, dtype=dt)
        self.f = None if finest else np.zeros(self.grid_shape, dtype=dt)
        last = self.grid_shape[-1]
        self._zero = np.zeros(last, dtype=dt)
        self._row = np.zeros(last, dtype=dt)
        self._rows = np.zeros((threads, last), dtype=dt) if threads > 1 else None
        self._tmp = None
        self._split: dict = {}
        self._Minv = None
        self._lu = None
        if name == "rbgs":
            self.order = kw.get("order", "symmetric")
            if self.order not in RBGS_ORDERS:
                raise ValueError(f"rbgs order must be one of {RBGS_ORDERS}, got {self.order!r}")
        elif name == "jacobi":
            self.omega = float(kw.get("omega", 4.0 / 5.0 if self.dim == 2 else 6.0 / 7.0))
            if not 0 < self.omega < 2:
                raise ValueError(f"jacobi omega must be in (0, 2), got {self.omega}")
        elif name == "chebyshev":
            self.upper = float(kw.get("upper", 2.0))
            self.lower = float(kw.get("lower", self.upper / (2 * self.dim)))
            if not 0 < self.lower < self.upper:
                raise ValueError(f"chebyshev needs 0 < lower < upper, got lower={self.lower}, upper={self.upper}")
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
        if coarsest:
            self._factor()

    # ------------------------------------------------------------ internals
    @property
    def size(self) -> int:
        """Number of unknowns of this level."""
        return int(np.prod(self.grid_shape))

    def _buffer(self) -> np.ndarray:
        """The level's own iterate buffer (allocated on first use on level 1)."""
        if self.u is None:
            self.u = np.zeros(self.grid_shape, dtype=self.dtype)
        return self.u

    def _link(self, coarse: "StructuredLevel") -> None:
        """Attach the next coarser level and size the transfer scratch buffers."""
        want = tuple(coarsen_size(n, self.data.bc) for n in self.grid_shape)
        if coarse.grid_shape != want:
            raise ValueError(f"coarse level has shape {coarse.grid_shape}, expected {want} for fine shape {self.grid_shape}")
        self.coarse = coarse
        T = self.threads
        dt = self.dtype
        if self.dim == 2:
            n1 = self.grid_shape[1]
            nc1 = coarse.grid_shape[1]
            self._rbuf = np.zeros((T, 3, n1 + 2) if T > 1 else (3, n1 + 2), dtype=dt)
            self._ebuf = np.zeros((T, nc1 + 2) if T > 1 else (nc1 + 2,), dtype=dt)
            self._rbuf4 = np.zeros((4, n1 + 2), dtype=dt)
        else:
            n1, n2 = self.grid_shape[1:]
            nc1, nc2 = coarse.grid_shape[1:]
            self._rbuf = np.zeros((T, 3, n1 + 2, n2 + 2) if T > 1 else (3, n1 + 2, n2 + 2), dtype=dt)
            self._ebuf = np.zeros((T, nc1 + 2, nc2 + 2) if T > 1 else (nc1 + 2, nc2 + 2), dtype=dt)
            self._t3 = np.zeros((T, 4, n2 + 2) if T > 1 else (4, n2 + 2), dtype=dt)
            self._t31 = self._t3 if T == 1 else self._t3[0]
        self._rbuf1 = self._rbuf if T == 1 else self._rbuf[0]

    def _factor(self) -> None:
        """Precompute the exact coarse solver: a dense (pseudo-)inverse for
        up to ``DENSE_COARSE_MAX`` unknowns, else a sparse LU (Neumann: with
        the first unknown fixed to zero, which is one solution of the
        consistent singular system)."""
        N = self.size
        if N <= DENSE_COARSE_MAX:
            A = self.data.matrix().toarray()
            Minv = np.linalg.pinv(A) if self.data.bc == "neumann" else np.linalg.inv(A)
            self._Minv = np.ascontiguousarray(Minv, dtype=self.dtype)
            self._lu = None
        else:
            from scipy.sparse.linalg import splu

            A = self.data.matrix().tocsc()
            if self.data.bc == "neumann":
                A = A[1:, 1:]
            self._lu = splu(A.tocsc())
            self._Minv = None

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_lu"] = None  # SuperLU objects do not pickle; refactored on use
        return state

    def _grid(self, x: Any, name: str) -> np.ndarray:
        """``x`` as a C-contiguous array of the grid shape and level dtype."""
        if isinstance(x, np.ndarray) and x.dtype == self.dtype and x.flags.c_contiguous:
            if x.shape == self.grid_shape:
                return x
            if x.size == self.size:
                return x.reshape(self.grid_shape)
        arr = np.asarray(x)
        if arr.size != self.size:
            raise ValueError(f"{name} must have {self.size} entries (grid {self.grid_shape}), got shape {arr.shape}")
        return np.ascontiguousarray(arr.reshape(self.grid_shape), dtype=self.dtype)

    def _own(self, u: Any) -> np.ndarray:
        """The array to update in place holding ``u``: the level buffer (zero
        for ``None``; a foreign iterate is copied into it), or ``u`` itself on
        an ``inplace`` finest level when ``u`` is a writable C-contiguous
        array of the level dtype."""
        K = _kernels()
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

    def _args(self) -> tuple:
        return (*self.faces, self.cst, self.const)

    def _split_ring(self, nu: int) -> tuple | None:
        """Scratch ``(ring, residual rows)`` of the colour-split red-black
        kernels for ``nu`` sweeps (allocated once per ``nu``), or ``None`` when
        they do not apply (variable coefficients, 3D, threads, short rows)."""
        if not (self.const and self.dim == 2 and self.threads == 1 and self.grid_shape[1] >= SPLIT_MIN):
            return None
        S = self._split.get(nu)
        if S is None:
            ne = (self.grid_shape[1] + 1) // 2
            S = (np.zeros((2 * nu + 3, 4, ne), dtype=self.dtype), np.zeros((4, 2, ne), dtype=self.dtype))
            self._split[nu] = S
        return S

    def take_fused_norm(self, f: Any, u: Any) -> float | None:
        """``||f - A u||`` summed during the last post-smoothing sweep of ``u``
        with data ``f`` (``track_norm``), or ``None`` if there is none; the
        value is handed out once."""
        fz = self._fused
        self._fused = None
        if fz is None or not isinstance(u, np.ndarray) or not isinstance(f, np.ndarray):
            return None
        if fz[0] == u.ctypes.data and fz[1] == f.ctypes.data:
            return fz[2]
        return None

    def _par(self) -> bool:
        if self.threads > 1:
            _kernels().set_threads(self.threads)
            return True
        return False

    # ------------------------------------------------------ plain operators
    def apply(self, u: Any) -> np.ndarray:
        """``A u`` (matrix-free, allocates the result; flat in, flat out)."""
        K = _kernels()
        U = self._grid(u, "u")
        out = np.empty(self.grid_shape, dtype=self.dtype)
        par = self._par()
        if self.dim == 2:
            (K.stencil2_par if par else K.stencil2)(U, U, *self._args(), out, 0, self._zero)
        else:
            (K.stencil3_par if par else K.stencil3)(U, U, *self._args(), out, 0, self._zero)
        return out.reshape(np.shape(u)) if np.ndim(u) == 1 else out

    def restrict(self, r: Any) -> np.ndarray:
        """``R r`` with ``R = P^T / 2^d`` (full weighting; allocates)."""
        if self.coarse is None:
            raise ValueError("the coarsest level has no restriction")
        K = _kernels()
        Rr = self._grid(r, "r")
        out = np.empty(self.coarse.grid_shape, dtype=self.dtype)
        self._restrict_into(Rr, out)
        return out.reshape(-1) if np.ndim(r) == 1 else out

    def _restrict_into(self, r: np.ndarray, out: np.ndarray) -> None:
        K = _kernels()
        if self.dim == 2:
            K.restrict2(r, out, self.off, self._rbuf1)
        else:
            K.restrict3(r, out, self.off, self._rbuf1, self._t31)

    def prolong(self, e: Any) -> np.ndarray:
        """``P e`` (bi/trilinear interpolation, seed 003 eq. 4.7-4.9; allocates)."""
        if self.coarse is None:
            raise ValueError("the coarsest level has no prolongation")
        E = self.coarse._grid(e, "e")
        out = np.zeros(self.grid_shape, dtype=self.dtype)
        self._prolong_add(out, E)
        return out.reshape(-1) if np.ndim(e) == 1 else out

    def _prolong_add(self, u: np.ndarray, E: np.ndarray) -> None:
        K = _kernels()
        par = self._par()
        if self.dim == 2:
            (K.prolong_add2_par if par else K.prolong_add2)(u, E, self.off, self._ebuf)
        else:
            (K.prolong_add3_par if par else K.prolong_add3)(u, E, self.off, self._ebuf)

    # ---------------------------------------------- overridden level operations
    def residual(self, f: Any, u: Any) -> np.ndarray:
        """``f - A u`` (allocates the result; grid shape)."""
        F = self._grid(f, "f")
        if u is None:
            return F.copy()
        U = self._grid(u, "u")
        K = _kernels()
        out = np.empty(self.grid_shape, dtype=self.dtype)
        par = self._par()
        if self.dim == 2:
            (K.stencil2_par if par else K.stencil2)(U, F, *self._args(), out, 1, self._zero)
        else:
            (K.stencil3_par if par else K.stencil3)(U, F, *self._args(), out, 1, self._zero)
        return out

    def residual_norm(self, f: Any, u: Any) -> float:
        """``||f - A u||_2`` without allocating (fused kernel)."""
        F = self._grid(f, "f")
        if u is None:
            return float(np.linalg.norm(F.reshape(-1)))
        U = self._grid(u, "u")
        K = _kernels()
        if self._par():
            fn = K.resnorm2_par if self.dim == 2 else K.resnorm3_par
            return math.sqrt(fn(U, F, *self._args(), self._rows, self._zero))
        fn = K.resnorm2 if self.dim == 2 else K.resnorm3
        return math.sqrt(fn(U, F, *self._args(), self._row, self._zero))

    def restrict_residual(self, f: Any, u: Any) -> np.ndarray:
        """``f^{l+1} = R(f - A u)`` fused into the coarse level's ``f`` buffer (returned)."""
        if self.coarse is None:
            raise ValueError("the coarsest level has no restriction")
        K = _kernels()
        F = self._grid(f, "f")
        fc = self.coarse.f
        if u is None:
            self._restrict_into(F, fc)
            return fc
        U = self._grid(u, "u")
        par = self._par()
        if self.dim == 2:
            (K.restrict_residual2_par if par else K.restrict_residual2)(
                U, F, *self._args(), fc, self.off, self._rbuf, self._zero
            )
        else:
            (K.restrict_residual3_par if par else K.restrict_residual3)(
                U, F, *self._args(), fc, self.off, self._rbuf, self._zero, self._t3
            )
        return fc

    def correct(self, u: Any, e: Any) -> np.ndarray:
        """``u + P e`` in place in the level's ``u`` buffer (returned)."""
        if self.coarse is None:
            raise ValueError("the coarsest level has no prolongation")
        U = self._own(u)
        E = self.coarse._grid(e, "e")
        self._prolong_add(U, E)
        return U

    def _fusable(self, nu: int) -> bool:
        """Whether the one-pass smoothing + restriction kernel applies (2D red-black, serial).

        (Fusing the prolongation into the post-smoothing pass was measured
        slower than the two kernels one after the other, so it is not done.)"""
        return nu > 0 and self.smoother == "rbgs" and self.dim == 2 and self.coarse is not None and self.threads == 1

    def smooth_restrict(self, f: Any, u: Any, nu: int) -> tuple[Any, Any]:
        """Pre-smoothing and ``f^{l+1} = R(f - A u)`` in one pass over memory (2D red-black)."""
        if not self._fusable(nu):
            return super().smooth_restrict(f, u, nu)
        F = self._grid(f, "f")
        U = self._own(u)
        fc = self.coarse.f
        S = self._split_ring(nu)
        if S is not None:
            _kernels().rbgs2_restrict_split(U, F, *self._args(), nu, True, self._zero, fc, self.off, self._rbuf4, *S)
        else:
            _kernels().rbgs2_restrict(U, F, *self._args(), nu, True, self._zero, fc, self.off, self._rbuf4)
        return U, fc

    def smooth(self, f: Any, u: Any, nu: int, post: bool = False) -> Any:
        """``nu`` compiled smoothing steps in place (pre: red first; post: black first)."""
        if nu <= 0:
            return u
        K = _kernels()
        F = self._grid(f, "f")
        U = self._own(u)
        par = self._par()
        if self.smoother == "rbgs":
            red_first = (not post) or self.order == "red-black"
            if par:
                (K.rbgs2_par if self.dim == 2 else K.rbgs3_par)(U, F, *self._args(), nu, red_first, self._zero)
            else:
                want = bool(post and self.track_norm)
                S = self._split_ring(nu)
                if S is not None:
                    ssq = K.rbgs2_split(U, F, *self._args(), nu, red_first, self._zero, self._row, want, *S)
                else:
                    ssq = (K.rbgs2 if self.dim == 2 else K.rbgs3)(
                        U, F, *self._args(), nu, red_first, self._zero, self._row, want
                    )
                if want:
                    self._fused = (U.ctypes.data, F.ctypes.data, math.sqrt(ssq))
            return U
        if self.smoother == "jacobi":
            tau, omegas = self.omega, [1.0] * nu
        else:
            tau_c, omegas = chebyshev_omegas(nu, self.lower, self.upper)
            tau = tau_c
        if self._tmp is None:
            self._tmp = np.zeros(self.grid_shape, dtype=self.dtype)
        step = K.jacobi2 if self.dim == 2 else K.jacobi3
        a, b = U, self._tmp
        for w in omegas:
            step(a, F, *self._args(), b, b, tau, w, self._row, self._zero)
            a, b = b, a
        if a is not U:
            K.copy_into(U, a)
        return U

    def solve_coarse(self, f: Any) -> np.ndarray:
        """Exact solve ``A u = f`` with the dense (pseudo-)inverse into ``u`` (returned)."""
        if self._Minv is None and self._lu is None:
            self._factor()
        F = self._grid(f, "f")
        self._fused = None
        self._buffer()
        if self._Minv is not None:
            _kernels().dense_solve_into(self._Minv, F, self.u)
        elif self.data.bc == "neumann":
            flat = self.u.reshape(-1)
            flat[0] = 0.0
            flat[1:] = self._lu.solve(np.asarray(F.reshape(-1)[1:], dtype=np.float64))
        else:
            self.u.reshape(-1)[:] = self._lu.solve(np.asarray(F.reshape(-1), dtype=np.float64))
        return self.u

    def nbytes(self) -> dict:
        """Bytes held by this level: iterate/data buffers, faces, scratch."""
        buf = (self.u.nbytes if self.u is not None else 0) + (self.f.nbytes if self.f is not None else 0)
        scratch = self._row.nbytes + self._zero.nbytes + (self._tmp.nbytes if self._tmp is not None else 0)
        scratch += sum(a.nbytes for S in self._split.values() for a in S)
        for name in ("_rbuf", "_ebuf", "_t3", "_rows"):
            a = getattr(self, name, None)
            scratch += a.nbytes if a is not None else 0
        if self._Minv is not None:
            scratch += self._Minv.nbytes
        faces = 0 if self.const else sum(w.nbytes for w in self.faces)
        return {"buffers": buf, "faces": faces, "scratch": scratch}

    def __repr__(self) -> str:
        return (
            f"StructuredLevel(shape={self.grid_shape}, bc={self.data.bc!r}, smoother={self.smoother!r}, "
            f"const={self.const}, dtype={self.dtype.name}, threads={self.threads})"
        )


# --------------------------------------------------------------------------- build
def build_structured_levels(
    problem: GridProblem,
    datas: list,
    smoother: Any = "rbgs",
    dtype: Any = np.float64,
    threads: int = 1,
    smoother_kwargs: dict | None = None,
) -> list[StructuredLevel]:
    """Build the compiled levels of a re-discretised structured hierarchy.

    Parameters
    ----------
    problem : GridProblem
        The problem (2D or 3D).
    datas : list of GridLevelData
        Fine-to-coarse level operators (``problem.levels()``); entry 0 is
        level 1 (the finest).
    smoother : str, (name, kwargs) or list of those (one per level)
        ``"rbgs"``, ``"jacobi"`` or ``"chebyshev"`` (see :class:`StructuredLevel`).
    dtype : {numpy.float64, numpy.float32}
    threads : int
        Kernel threads (``numba.set_num_threads``); 1 = serial kernels.
    smoother_kwargs : dict, optional
        Options merged into every level's smoother options.

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
    ok, why = structured_support(problem, smoother)
    if not ok and not why.startswith("smoother 'chebyshev'"):
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
    specs, why = _parse_smoothers(smoother, len(datas))
    if specs is None:
        raise ValueError(why)
    if threads > 1:
        import numba

        threads = min(threads, numba.config.NUMBA_NUM_THREADS)
    J = len(datas)
    levels = []
    for l, (d, (name, kw)) in enumerate(zip(datas, specs)):
        kw = {**kw, **(smoother_kwargs or {})}
        levels.append(
            StructuredLevel(d, name, kw, dtype=dt, threads=threads, coarsest=(l == J - 1), finest=(l == 0))
        )
    for l in range(J - 1):
        levels[l]._link(levels[l + 1])
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
