"""Smoothers for one level of the sparse backend.

Every smoother is a :class:`mgcore.iterations.Smoother` built from a CSR
matrix ``A`` (and, where needed, the level's grid), holds only arrays and
numbers (it pickles), and runs ``smooth(A_op, f, u, nu)`` on 1-D numpy
vectors, ``u = None`` being the zero iterate.  The operator argument
``A_op`` of :meth:`smooth` is ignored: the smoother uses the matrix it holds,
and its iterates equal those of the residual-correction definition
``u <- u + B(f - A u)`` (He & Xu, MgNet, 2019, eq. 3.20) with the ``B`` given per class.
The input ``u`` is never modified.

================ ======================================================== ====================
name             one step                                                  ``B`` (eq. 3.20)
================ ======================================================== ====================
``richardson``   ``u += omega (f - A u)``                                  ``omega I``
``jacobi``       ``u += omega D^{-1} (f - A u)`` (He & Xu 2019, eq. 5.6)   ``omega D^{-1}``
``gauss-seidel`` lexicographic sweep: ``forward``, ``backward`` or         ``(D + L)^{-1}``,
                 ``symmetric`` (forward then backward, two sweeps)         ``(D + U)^{-1}``
``red-black``    Gauss-Seidel in red-black order (structured grids)        ``(D + L_pi)^{-1}``
``chebyshev``    one Chebyshev polynomial of ``degree`` in ``D^{-1} A``    ``p(D^{-1}A) D^{-1}``
                 (He & Xu, MgNet, 2019, eq. 3.23-3.24)
``polynomial``   one polynomial from roots or coefficients, optionally     ``p(M A) M``
                 Jacobi-preconditioned (Poly-MgNet 2025, eq. 10-21)
``stencil``      ``u += m_c (K * D^{-1}(f - A u))``, ``K`` a stencil        ``M_c K D^{-1}``
                 learned by ``mgcore learn-smoother``, ``m_c`` a colour
================ ======================================================== ====================

``D``, ``L``, ``U``: diagonal, strictly lower and strictly upper part of
``A``.  Specs follow :mod:`mgcore.config`; :func:`build_smoother` builds one
smoother of a level from ``(name, options)``.

Pre- and post-smoothing
-----------------------
A solver builds two smoothers per level, ``B`` (``post=False``) and
``B_post`` (``post=True``).  For the post-smoother the sweep order is
reversed, so that the post-smoother is the adjoint (in the ``A`` inner
product) of the pre-smoother and the V-cycle is a symmetric operator:
forward Gauss-Seidel becomes backward and vice versa, red-black sweeps
black first (unless ``order="red-black"`` asks for red first in both).
The others (Richardson, Jacobi, symmetric Gauss-Seidel, Chebyshev,
polynomials in ``D^{-1} A``) are self-adjoint and unchanged.

Red-black ordering (the definition the compiled structured kernels follow)
--------------------------------------------------------------------------
The colour of the unknown with 0-based array indices ``(i_0, ..., i_{d-1})``
in an array of the grid's ``shape`` (x = axis 0, C-order flattening as in
:mod:`mgcore.problems.grid`; for Dirichlet grids unknown ``i`` sits on grid
point ``i + 1``) is **red** if ``i_0 + ... + i_{d-1}`` is even and **black**
if it is odd.

* One pre-smoothing step is a Gauss-Seidel sweep that visits the red
  unknowns in increasing flat index, then the black unknowns in increasing
  flat index, updating in place ``u_i <- u_i + (f_i - sum_j a_ij u_j) / a_ii``.
* One post-smoothing step (``post=True``, default ``order="symmetric"``)
  visits exactly the reverse sequence: black unknowns in decreasing flat
  index, then red unknowns in decreasing flat index.
* With ``order="red-black"`` the post-smoother sweeps like the
  pre-smoother.

For the 3-, 5- and 7-point stencils no two unknowns of one colour are
coupled, so the order inside a colour does not matter: a pre step is "all
red points from the current black values, then all black points from the
new red values", a post step "all black, then all red".  This is the
ordering of the compiled kernels ``rbgs2``/``rbgs3`` of
:mod:`mgcore.sparse._kernels`, which give the same iterates.
"""

from __future__ import annotations
import inspect
from typing import Any
import numpy as np
import scipy.sparse as sp
from ..config import parse_one_spec
from ..registry import SMOOTHER_REGISTRY, validate_options
from ..iterations import ChebyshevSemiIteration, Smoother
from ..polynomials import PolynomialSmoother, chebyshev_roots
from ..spectrum import estimate_lambda_max

__all__ = ["SparseSmoother", "Richardson", "Jacobi", "GaussSeidel", "RedBlackGaussSeidel", "LineGaussSeidel", "Chebyshev",
           "Polynomial", "StencilSmoother", "SMOOTHERS", "build_smoother", "is_symmetric", "jacobi_default_omega"]

from ._smoother_base import (  # noqa: F401
    SparseSmoother, _DiagScale, _Identity, _MatVec, _as_csr, _check_positive, _grid_shape, _inverse_diagonal, _kernels,
)


class Richardson(SparseSmoother):
    """Richardson iteration ``u += omega (f - A u)``, ``B = omega I`` (He & Xu, MgNet, 2019, eq. 3.20).

    Parameters
    ----------
    A : sparse matrix
    omega : float, optional
        Step size; default ``1 / lambda_max(A)`` with ``lambda_max`` from
        :func:`mgcore.spectrum.estimate_lambda_max` (20 Lanczos steps).
    lambda_max : float, optional
        Use this ``lambda_max`` instead of estimating it.
    """

    name = "richardson"

    def __init__(self, A, omega: float | None = None, lambda_max: float | None = None, grid: Any = None):
        super().__init__(A)
        if omega is None:
            lmax = estimate_lambda_max(self.A) if lambda_max is None else _check_positive(lambda_max, "lambda_max")
            omega = 1.0 / lmax
        self.omega = _check_positive(omega, "omega")

    def _step(self, f, u):
        if u is None:
            return (self.omega * f).astype(f.dtype, copy=False)
        return u + self.omega * (f - self.A @ u)

    def __repr__(self) -> str:
        return f"Richardson(omega={self.omega:.4g}, n={self.n})"


def jacobi_default_omega(dim: int | None) -> float:
    """Default damping of Jacobi: ``2d/(2d+1)`` in ``d`` dimensions, 2/3 when unknown.

    ``2/3``, ``4/5`` and ``6/7`` minimise the smoothing factor (the largest
    amplification of the high frequencies) of damped Jacobi for the 3-, 5-
    and 7-point Laplacians: the eigenvalues of ``D^{-1} A`` on the high
    frequencies fill ``[1/d, 2)`` and ``omega = 2/(1/d + 2)`` balances
    ``|1 - omega/d| = |1 - 2 omega|`` (giving smoothing factors 1/3, 3/5, 5/7).
    """
    if dim is None:
        return 2.0 / 3.0
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or dim < 1:
        raise ValueError(f"dim must be a positive int, got {dim!r}")
    return 2.0 * dim / (2.0 * dim + 1.0)


class Jacobi(SparseSmoother):
    """Damped Jacobi ``u += omega D^{-1} (f - A u)``, ``B = omega D^{-1}`` (He & Xu, MgNet, 2019, eq. 5.6).

    Parameters
    ----------
    A : sparse matrix
    omega : float, optional
        Damping; default :func:`jacobi_default_omega` of the grid's dimension
        (4/5 in 2D, 6/7 in 3D, 2/3 in 1D or without grid information).
    dim : int, optional
        Space dimension, when no ``grid`` is given.
    grid : GridLevelData, optional
        Grid of the level (its ``dim`` sets the default ``omega``).
    """

    name = "jacobi"

    def __init__(self, A, omega: float | None = None, dim: int | None = None, grid: Any = None):
        super().__init__(A)
        if dim is None and grid is not None:
            dim = getattr(grid, "dim", None)
        self.omega = _check_positive(jacobi_default_omega(dim) if omega is None else omega, "omega")
        self.dinv = _inverse_diagonal(self.A, "Jacobi")
        self.scaled = (self.omega * self.dinv).astype(self.A.dtype)

    def _step(self, f, u):
        if u is None:
            return self.scaled * f
        return u + self.scaled * (f - self.A @ u)

    def __repr__(self) -> str:
        return f"Jacobi(omega={self.omega:.4g}, n={self.n})"


_SWEEPS = ("forward", "backward", "symmetric")


class GaussSeidel(SparseSmoother):
    """Lexicographic Gauss-Seidel (compiled in-place sweep over the CSR rows).

    ``forward``: rows ``0 .. n-1``, ``B = (D + L)^{-1}``; ``backward``: rows
    ``n-1 .. 0``, ``B = (D + U)^{-1}``; ``symmetric``: a forward then a
    backward sweep (one step = two sweeps; ``B = (D+U)^{-1} D (D+L)^{-1}``,
    symmetric for symmetric ``A``).  Row ``i`` is updated as
    ``u_i <- u_i + (f_i - sum_j a_ij u_j) / a_ii`` with the newest values.

    Parameters
    ----------
    A : sparse matrix
    sweep : {"forward", "backward", "symmetric"}
    """

    name = "gauss-seidel"

    def __init__(self, A, sweep: str = "forward", grid: Any = None):
        super().__init__(A)
        if sweep not in _SWEEPS:
            raise ValueError(f"GaussSeidel: sweep must be one of {_SWEEPS}, got {sweep!r}")
        self.sweep = sweep
        self.symmetric = sweep == "symmetric"
        self.dinv = _inverse_diagonal(self.A, "GaussSeidel")

    @classmethod
    def post_options(cls, options):
        out = dict(options)
        s = out.get("sweep", "forward")
        out["sweep"] = {"forward": "backward", "backward": "forward"}.get(s, s)
        return out

    def _sweeps(self):
        return {"forward": ("f",), "backward": ("b",), "symmetric": ("f", "b")}[self.sweep]

    def _step(self, f, u):
        f, u, dtype = self._in_place_operands(f, u)
        k = _kernels()["range"]
        A = self.A
        data, dinv = A.data.astype(dtype, copy=False), self.dinv.astype(dtype, copy=False)
        for s in self._sweeps():
            if s == "f":
                k(A.indptr, A.indices, data, dinv, f, u, 0, self.n, 1)
            else:
                k(A.indptr, A.indices, data, dinv, f, u, self.n - 1, -1, -1)
        return u

    def __repr__(self) -> str:
        return f"GaussSeidel(sweep={self.sweep!r}, n={self.n})"


#: ``order`` option of red-black Gauss-Seidel (same meaning as in
#: :mod:`mgcore.sparse.structured`): ``"symmetric"`` -- the post-smoother
#: sweeps in the exact reverse order (black first), the adjoint of the
#: pre-smoother; ``"red-black"`` -- the post-smoother sweeps red first as well.
RB_ORDERS = ("symmetric", "red-black")


class RedBlackGaussSeidel(SparseSmoother):
    """Red-black Gauss-Seidel on a structured grid.

    The ordering is defined precisely in the module docstring: red = even
    sum of the 0-based array indices; a pre-smoothing step sweeps red then
    black in increasing flat index; a post-smoothing step (``post=True``
    with ``order="symmetric"``) the exact reverse, black then red in
    decreasing flat index.  A step equals the residual correction with
    ``B = (D + L_pi)^{-1}``, the forward Gauss-Seidel operator of ``A``
    permuted to the visiting order (:meth:`ordering`).

    Parameters
    ----------
    A : sparse matrix
    order : {"symmetric", "red-black"}
        Order of the post-smoother (see :data:`RB_ORDERS`); default
        ``"symmetric"``.
    post : bool
        Whether this is the post-smoother (set by :func:`build_smoother`).
    shape : tuple of int, optional
        Grid shape (unknowns per dimension), when no ``grid`` is given.
    grid : GridLevelData, optional
        Grid of the level; its ``shape`` defines the colouring.
    """

    name = "red-black"
    symmetric = False

    def __init__(self, A, order: str = "symmetric", post: bool = False, shape: tuple | None = None, grid: Any = None):
        super().__init__(A)
        if order not in RB_ORDERS:
            raise ValueError(f"RedBlackGaussSeidel: order must be one of {RB_ORDERS}, got {order!r}")
        if not isinstance(post, bool):
            raise TypeError(f"RedBlackGaussSeidel: post must be a bool, got {post!r}")
        self.shape = _grid_shape(grid, shape, self.n, "RedBlackGaussSeidel")
        if self.shape is None:
            raise ValueError("RedBlackGaussSeidel needs the grid shape for its colouring: pass grid= (GridLevelData) or shape=")
        self.order, self.post = order, post
        self.red_first = (not post) or order == "red-black"
        self.dinv = _inverse_diagonal(self.A, "RedBlackGaussSeidel")
        self.visit = self.ordering(self.shape, self.red_first)

    @classmethod
    def options(cls) -> tuple[str, ...]:
        return tuple(o for o in super().options() if o != "post")

    @staticmethod
    def colours(shape: tuple) -> np.ndarray:
        """Colour of every unknown (flat C order): 0 = red (even index sum), 1 = black."""
        idx = np.indices(shape).sum(axis=0)
        return (idx % 2).ravel().astype(np.int8)

    @classmethod
    def ordering(cls, shape: tuple, red_first: bool = True) -> np.ndarray:
        """Flat indices in the order one step visits them (see the module docstring).

        ``red_first=True``: red ascending, then black ascending;
        ``False``: the reverse sequence (black descending, then red descending).
        """
        c = cls.colours(shape)
        seq = np.concatenate([np.flatnonzero(c == 0), np.flatnonzero(c == 1)])
        return np.ascontiguousarray(seq if red_first else seq[::-1]).astype(np.int64)

    def _step(self, f, u):
        f, u, dtype = self._in_place_operands(f, u)
        A = self.A
        _kernels()["order"](
            A.indptr, A.indices, A.data.astype(dtype, copy=False), self.dinv.astype(dtype, copy=False), f, u, self.visit
        )
        return u

    def __repr__(self) -> str:
        first = "red" if self.red_first else "black"
        return f"RedBlackGaussSeidel({first} first, order={self.order!r}, shape={self.shape})"


class LineGaussSeidel(SparseSmoother):
    """Zebra line Gauss-Seidel on a structured grid (anisotropic problems).

    One step sweeps, for each axis of the ``axis`` option, the grid lines of
    colour 0 then of colour 1 (colour = parity of the index sum across the
    line), solving each line's tridiagonal part of ``A`` exactly:
    ``u <- u + T^{-1}(f - A u)`` on the lines of one colour.  The
    post-smoother of ``order="symmetric"`` runs the reverse sequence (the
    adjoint).  See :mod:`mgcore.sparse.structured.line` (the same kernels).

    Parameters
    ----------
    A : sparse matrix
    axis : {"auto", "alternating", 0, 1, 2}
        ``"auto"``: the strong direction of ``A`` (every axis in turn where
        different regions are strong in different directions).
    order : {"symmetric", "red-black"}
    post : bool
    shape : tuple of int, optional
        Grid shape, when no ``grid`` is given.
    grid : GridLevelData, optional
    """

    name = "line-gs"
    symmetric = False

    def __init__(self, A, axis: Any = "auto", order: str = "symmetric", post: bool = False, shape: tuple | None = None,
                 grid: Any = None):
        super().__init__(A)
        from .structured.line import LineSweeps

        if order not in RB_ORDERS:
            raise ValueError(f"LineGaussSeidel: order must be one of {RB_ORDERS}, got {order!r}")
        self.shape = _grid_shape(grid, shape, self.n, "LineGaussSeidel")
        if self.shape is None:
            raise ValueError("LineGaussSeidel needs the grid shape of its lines: pass grid= (GridLevelData) or shape=")
        self.order, self.post = order, bool(post)
        self.lines = LineSweeps((self.A, self.shape), axis, order, np.float64)

    @classmethod
    def options(cls) -> tuple[str, ...]:
        return tuple(o for o in super().options() if o not in ("post", "shape"))

    def _step(self, f, u):
        dtype = np.result_type(self.A.dtype, f.dtype)
        U = np.zeros(self.shape, dtype=np.float64) if u is None else np.array(u, dtype=np.float64).reshape(self.shape)
        F = np.asarray(f, dtype=np.float64)
        A = self.A

        def res(V):
            return (F - A @ V.reshape(-1)).reshape(self.shape)

        self.lines.step(U, res, self.post)
        return U.reshape(-1).astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"LineGaussSeidel(axes={self.lines.axes}, order={self.order!r}, post={self.post}, shape={self.shape})"


from .polysmoothers import Chebyshev, Polynomial  # noqa: E402
from .stencilsmoother import StencilSmoother  # noqa: E402

#: registry: canonical smoother name -> class
SMOOTHERS: dict[str, type] = {
    cls.name: cls for cls in (Richardson, Jacobi, GaussSeidel, RedBlackGaussSeidel, LineGaussSeidel, Chebyshev, Polynomial,
                              StencilSmoother)
}


assert set(SMOOTHERS) == {n for n, s in SMOOTHER_REGISTRY.items() if "sparse" in s.backends}
assert all(set(cls.options()) == set(SMOOTHER_REGISTRY[n].options) for n, cls in SMOOTHERS.items())


def build_smoother(name: str, kwargs: dict | None, A: Any, grid: Any = None, post: bool = False) -> Smoother:
    """Build the smoother ``name`` of one level.

    Parameters
    ----------
    name : str
        A name of :data:`SMOOTHERS` or an alias (:data:`mgcore.config.ALIASES`).
    kwargs : dict or None
        Options (see each class); unknown ones raise ``ValueError``.
    A : sparse matrix
        The level's operator.
    grid : GridLevelData, optional
        The level's grid (needed by ``red-black``; sets Jacobi's default
        ``omega``).
    post : bool
        Build the post-smoother: the sweep order is reversed (forward <->
        backward Gauss-Seidel, red-black sweeps black first) so that it is the
        adjoint of the pre-smoother.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> from mgcore.sparse.smoothers import build_smoother
    >>> A = sp.diags([-1.0, 2.0, -1.0], [-1, 0, 1], shape=(5, 5), format="csr")
    >>> build_smoother("gs", {}, A, post=True)
    GaussSeidel(sweep='backward', n=5)
    """
    canon, opts = parse_one_spec((name, dict(kwargs or {})), tuple(SMOOTHERS))
    cls = SMOOTHERS[canon]
    if "post" in opts:
        raise ValueError("'post' is not a smoother option: build_smoother(..., post=True) builds the post-smoother")
    opts = validate_options(canon, opts, "sparse")
    if post:
        opts = cls.post_options(opts)
    if cls in (RedBlackGaussSeidel, LineGaussSeidel):
        opts["post"] = bool(post)
    return cls(A, grid=grid, **opts)


def is_symmetric(name: str, kwargs: dict | None = None) -> bool:
    """Whether one step of the smoother is self-adjoint in the ``A`` inner product (SPD ``A``).

    True for Richardson, Jacobi, symmetric Gauss-Seidel, Chebyshev and
    polynomials; False for forward/backward Gauss-Seidel and red-black.  A
    V- or W-cycle with ``B_post`` built by ``build_smoother(..., post=True)``
    and ``nu_pre == nu_post`` is symmetric for every smoother here.
    """
    canon, opts = parse_one_spec((name, dict(kwargs or {})), tuple(SMOOTHERS))
    if canon == "gauss-seidel":
        return opts.get("sweep", "forward") == "symmetric"
    return bool(SMOOTHERS[canon].symmetric)
