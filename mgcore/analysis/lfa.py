"""Local Fourier analysis (LFA) of smoothers and two-grid cycles.

LFA replaces the grid by an infinite (or, with the discrete frequencies of an
``n``-grid, a Dirichlet) grid on which a constant-coefficient stencil is
diagonalised by the Fourier modes ``exp(i theta . x)``.  Standard coarsening
couples each low frequency ``theta in [-pi/2, pi/2)^d`` with its ``2^d - 1``
high *harmonics* ``theta + pi alpha`` (``alpha in {0, 1}^d``, shifted back
into ``[-pi, pi)``): they alias on the coarse grid.  On the ``2^d``-dimensional
space of harmonics every operator of a cycle is a small matrix
(Trottenberg, Oosterlee & Schüller, *Multigrid*, 2001, §4.2-4.4):

============================== ================================================
operator                        symbol on the harmonics of ``theta``
============================== ================================================
``A``                           ``diag(A(theta^alpha))``
Richardson, damped Jacobi       ``diag(1 - omega A / a_0)`` (or ``1 - omega A``)
lexicographic GS                ``diag(-A_+ / A_-)`` (``A_-``: the centre and
                                the offsets already updated in the sweep)
line GS, lexicographic          the same with the whole line in ``A_-``
red-black GS, zebra line GS     ``E_2 E_1``, ``E_c = I + chi_c (K - I)``,
                                ``K = I - M^-1 A`` (point or line Jacobi) and
                                ``chi_c = (I +- Sigma) / 2`` the colour
                                indicator (``Sigma`` couples ``alpha`` with
                                ``alpha xor colour axes``)
Chebyshev / polynomial          ``diag(q(A / a_0))`` or ``diag(q(A))``
full weighting ``R``            row ``prod_a (1 + cos theta^alpha_a) / 2``
bilinear ``P``                  the same as a column
coarse grid correction          ``K = I - P A_H(2 theta)^-1 R A`` with the
                                re-discretised or Galerkin ``A_H``
============================== ================================================

Two numbers come out:

* the **smoothing factor** ``mu(nu) = sup_theta rho(Q S^nu)^(1/nu)``, ``Q``
  the projection onto the high harmonics (for smoothers that are diagonal in
  the Fourier basis simply the largest ``|S|`` over the high frequencies);
* the **two-grid factor** ``rho(nu_1, nu_2) = sup_theta rho(S_post^nu_2 K
  S_pre^nu_1)``, the predicted asymptotic convergence factor.

``n=None`` takes the supremum over the continuous low-frequency square
(sampled, then refined around the maximisers: the infinite-grid value);
``n=`` uses the discrete frequencies ``theta_a = k pi / (n + 1)`` of a
Dirichlet grid of ``n`` unknowns per dimension, which is the prediction for
that grid.  :func:`measure_factor` runs :class:`mgcore.sparse.MultigridSolver`
on the same problem (zero right-hand side, random initial error, many cycles)
and :func:`compare` puts ``predicted`` and ``measured`` side by side.

Smoother specs follow :mod:`mgcore.config` with the sparse backend's names
and options (:mod:`mgcore.registry`), so that one spec drives both the
analysis and the solver.  The ordering conventions are those of
:mod:`mgcore.sparse.smoothers`: C-order (axis 0 slowest) for lexicographic
sweeps; red = even sum of the 0-based array indices, red first in
pre-smoothing; the post-smoother follows the solvers' default (red first
again, ``order="red-black"``) unless ``order="symmetric"`` is given (the
reverse sequence, black first).  ``"line-gs"`` is zebra line Gauss-Seidel:
``axis`` is the direction the lines run along (0/1/2 or ``"x"``/``"y"``/
``"z"``; ``"auto"``: the strongest coupling of the stencil, axis 0 on ties;
``"alternating"``: every axis in turn), lines are coloured by the parity of
the sum of their other 0-based indices, even lines first, and ``order``
is as for red-black.  The analysis also knows the lexicographic line
variant (``pattern="lexicographic"``, lines in C order, with ``sweep``
forward/backward/symmetric), which the solvers do not implement.

Examples
--------
>>> from mgcore.analysis import Stencil, smoothing_factor, two_grid_factor
>>> A = Stencil.laplacian(2)
>>> round(smoothing_factor(A, ("jacobi", {"omega": 0.8})), 6)
0.6
>>> round(smoothing_factor(A, ("gauss-seidel", {})), 6)
0.5
>>> round(two_grid_factor(A, "rbgs", (1, 1), samples=16), 3)
0.074
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from ..config import normalize_name, parse_one_spec
from .symbols import Stencil, problem_level

__all__ = [
    "LFA_SMOOTHERS",
    "harmonics",
    "low_frequencies",
    "smoother_symbol",
    "two_grid_symbol",
    "smoothing_factor",
    "two_grid_factor",
    "cycle_symbol",
    "cycle_factor",
    "coarsest_frequencies",
    "nested_levels",
    "smoothing_map",
    "measure_factor",
    "compare",
    "format_table",
]

#: smoother names the analysis knows (canonical names of mgcore.sparse plus line smoothers)
LFA_SMOOTHERS = ("richardson", "jacobi", "gauss-seidel", "red-black", "line-gs", "chebyshev", "polynomial")
_LINE_ALIASES = {
    "line": ("line-gs", {}),
    "line-gauss-seidel": ("line-gs", {}),
    "lgs": ("line-gs", {}),
    "zebra": ("line-gs", {}),
    "zebra-gs": ("line-gs", {}),
    "line-lex": ("line-gs", {"pattern": "lexicographic"}),
}
_OPTIONS = {
    "richardson": ("omega", "lambda_max"),
    "jacobi": ("omega", "dim"),
    "gauss-seidel": ("sweep",),
    "red-black": ("order", "shape"),
    "line-gs": ("axis", "order", "pattern", "sweep"),
    "chebyshev": ("degree", "ratio", "lmax", "safety", "lower", "upper", "precondition"),
    "polynomial": ("roots", "g", "coefficients", "precondition", "degree", "ratio", "from", "method"),
}
RESTRICTIONS = ("full-weighting", "transpose", "injection")
#: grid conventions: which colour the coarse points have, which discrete frequencies an ``n`` means
BCS = ("dirichlet", "neumann", "periodic")
COARSE = ("rediscretize", "galerkin")


# ------------------------------------------------------------------ frequencies
def _bits(d: int) -> np.ndarray:
    """The ``2^d`` harmonic shifts ``alpha`` (row 0 is the low frequency itself)."""
    return np.array([[(h >> (d - 1 - a)) & 1 for a in range(d)] for h in range(2 ** d)], dtype=np.int64)


def harmonics(theta: np.ndarray) -> np.ndarray:
    """``theta + pi alpha`` for all ``alpha in {0,1}^d``, in ``[-pi, pi)``; shape ``(m, 2^d, d)``."""
    theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    B = _bits(theta.shape[1])
    t = theta[:, None, :] + np.pi * B[None, :, :]
    return (t + np.pi) % (2.0 * np.pi) - np.pi


def low_frequencies(dim: int, n: Any = None, samples: int = 32, exclude_zero: bool = True,
                    bc: str = "dirichlet") -> np.ndarray:
    """Low frequencies ``theta in [-pi/2, pi/2]^d`` (shape ``(m, d)``).

    ``n`` given: the frequencies of a grid with ``n_a`` unknowns per axis --
    ``k pi / (n_a + 1)`` (``k != 0``) for ``bc="dirichlet"`` (``n_a`` odd),
    ``2 pi k / n_a`` for ``bc="periodic"`` (``n_a`` a multiple of 4, ``theta
    = 0`` included).  Else a closed grid of ``samples + 1`` points per axis
    (edges and axes included, where maxima often lie), without ``theta =
    0`` when ``exclude_zero`` (the coarse operator is singular there).
    """
    if bc not in BCS:
        raise ValueError(f"bc must be one of {BCS}, got {bc!r}")
    if n is not None:
        ns = (int(n),) * dim if np.isscalar(n) else tuple(int(v) for v in n)
        if len(ns) != dim:
            raise ValueError(f"n must be an int or {dim} ints, got {n!r}")
        axes = []
        for na in ns:
            if bc == "periodic":
                if na < 4 or na % 4:
                    raise ValueError(f"n must be a multiple of 4 for a periodic grid analysis, got {na}")
                axes.append(2.0 * np.pi * np.arange(-(na // 4), na // 4) / na)
                continue
            if bc != "dirichlet":
                raise ValueError("discrete frequencies (n=) are defined for bc='dirichlet' and bc='periodic'")
            if na < 1 or (na + 1) % 2:
                raise ValueError(f"the analysis assumes nested (standard) coarsening: n must be odd, e.g. 2^k - 1 "
                                 f"unknowns of a Dirichlet grid, got {na}")
            m = (na + 1) // 2
            k = np.arange(-m, m)
            axes.append(np.pi * k[k != 0] / (na + 1))
    else:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 2:
            raise ValueError(f"samples must be an int >= 2, got {samples!r}")
        s = samples + (samples % 2)
        axes = [np.linspace(-np.pi / 2, np.pi / 2, s + 1)] * dim
    theta = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    if n is None and exclude_zero:
        theta = theta[np.abs(theta).max(axis=1) > 0]
    return theta


# --------------------------------------------------------------------- smoothers
def _parse(spec: Any) -> tuple[str, dict]:
    if isinstance(spec, str) and normalize_name(spec) in _LINE_ALIASES:
        name, fixed = _LINE_ALIASES[normalize_name(spec)]
        return name, dict(fixed)
    if isinstance(spec, tuple) and spec and isinstance(spec[0], str) and normalize_name(spec[0]) in _LINE_ALIASES:
        name, fixed = _LINE_ALIASES[normalize_name(spec[0])]
        return name, {**fixed, **dict(spec[1] if len(spec) > 1 and spec[1] else {})}
    if isinstance(spec, dict) and isinstance(spec.get("name"), str) and normalize_name(spec["name"]) in _LINE_ALIASES:
        name, fixed = _LINE_ALIASES[normalize_name(spec["name"])]
        return name, {**fixed, **{k: v for k, v in spec.items() if k != "name"}}
    name, opts = parse_one_spec(spec, LFA_SMOOTHERS)
    unknown = sorted(set(opts) - set(_OPTIONS[name]))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for smoother {name!r}; allowed: {', '.join(_OPTIONS[name])}")
    return name, opts


def _line_axes(axis: Any, stencil: Stencil) -> tuple[int, ...]:
    """The line directions of one step: ``"auto"`` (strongest coupling), ``"alternating"`` or one axis."""
    dim = stencil.dim
    if axis == "alternating":
        return tuple(range(dim))
    if axis in ("auto", None):
        strength = [float(np.abs(stencil.values[(stencil.offsets[:, a] != 0) & (np.count_nonzero(stencil.offsets, axis=1) == 1)]).sum())
                    for a in range(dim)]
        return (int(np.argmax(strength)),)
    names = {"x": 0, "y": 1, "z": 2}
    a = names.get(axis, axis) if isinstance(axis, str) else axis
    if isinstance(a, bool) or not isinstance(a, (int, np.integer)) or not 0 <= int(a) < dim:
        raise ValueError(f"line-gs: axis must be 'auto', 'alternating', one of {list(names)[:dim]} or an int in "
                         f"[0, {dim - 1}], got {axis!r}")
    return (int(a),)


def _lex_negative(offsets: np.ndarray) -> np.ndarray:
    """Offsets whose first non-zero component is negative (visited earlier in a C-order sweep)."""
    out = np.zeros(offsets.shape[0], dtype=bool)
    decided = np.zeros(offsets.shape[0], dtype=bool)
    for a in range(offsets.shape[1]):
        c = offsets[:, a]
        out |= (~decided) & (c < 0)
        decided |= c != 0
    return out


def _symbol_sup(stencil: Stencil, scale: Any = None, samples: int = 65) -> float:
    """``max |A(theta)| (/ |scale|)`` over a grid of frequencies including ``pi``."""
    ax = np.linspace(-np.pi, np.pi, samples)
    th = np.stack(np.meshgrid(*([ax] * stencil.dim), indexing="ij"), -1).reshape(-1, stencil.dim)
    v = np.abs(stencil.symbol(th))
    return float(v.max() / (abs(scale) if scale is not None else 1.0))


class SmootherSymbol:
    """A smoother's symbol on the harmonic spaces: :meth:`matrix` ``(theta) -> (m, 2^d, 2^d)``.

    Built by :func:`smoother_symbol`; ``diagonal`` is True for smoothers that
    keep every Fourier mode (then :meth:`diag` gives their scalar symbol).
    """

    def __init__(self, name: str, dim: int, diag_fn: Callable | None = None,
                 matrix_fn: Callable | None = None, description: str = ""):
        self.name, self.dim, self.description = name, dim, description
        self._diag, self._matrix = diag_fn, matrix_fn
        self.diagonal = diag_fn is not None

    def diag(self, theta: np.ndarray) -> np.ndarray:
        """Scalar symbol at arbitrary frequencies ``theta`` (``(..., d)``); diagonal smoothers only."""
        if self._diag is None:
            raise ValueError(f"{self.name} couples harmonics; use matrix(theta)")
        return self._diag(np.asarray(theta, dtype=np.float64))

    def matrix(self, theta: np.ndarray) -> np.ndarray:
        th = harmonics(theta)
        if self._diag is not None:
            v = self._diag(th)  # (m, H)
            H = v.shape[1]
            out = np.zeros(v.shape + (H,), dtype=np.complex128)
            out[:, np.arange(H), np.arange(H)] = v
            return out
        return self._matrix(th)

    def __repr__(self) -> str:
        return f"SmootherSymbol({self.description or self.name})"


def _pattern(stencil: Stencil, M_mask: np.ndarray, colour_axes: Sequence[int], first_red: bool, bc: str):
    """Two-colour (red-black or zebra) smoother: partial steps ``E_c = I + chi_c (K - I)``."""
    d = stencil.dim
    M = stencil.part(M_mask)
    B = _bits(d)
    P = np.zeros(d, dtype=np.int64)
    P[list(colour_axes)] = 1
    H = 2 ** d
    partner = np.array([int("".join(map(str, (B[h] ^ P))), 2) for h in range(H)])
    # red = even sum of the 0-based array indices over the colour axes; in the LFA frame (coarse points at
    # even coordinates) array index 0 is coordinate 1 for Dirichlet grids, 0 for Neumann ones
    s_red = (-1.0) ** len(list(colour_axes)) if bc == "dirichlet" else 1.0
    signs = (s_red, -s_red) if first_red else (-s_red, s_red)

    def fn(th: np.ndarray) -> np.ndarray:
        m = th.shape[0]
        Kd = 1.0 - stencil.symbol(th) / M.symbol(th)  # (m, H)
        I = np.broadcast_to(np.eye(H, dtype=np.complex128), (m, H, H))
        chi_shift = np.zeros((H, H))
        chi_shift[np.arange(H), partner] = 1.0  # (Sigma u)_beta = u_{beta xor P}
        out = I.copy()
        for s in signs:
            chi = 0.5 * (np.eye(H) + s * chi_shift)
            E = I + chi[None] @ (Kd[:, :, None] * np.eye(H)[None] - np.eye(H)[None])
            out = E @ out
        return out

    return fn


def smoother_symbol(spec: Any, stencil: Stencil, post: bool = False, bc: str = "dirichlet") -> SmootherSymbol:
    """The LFA symbol of one smoothing step of ``spec`` for ``stencil``.

    Parameters
    ----------
    spec : smoother spec
        See the module docstring (names and options of
        :mod:`mgcore.sparse.smoothers` plus ``"line-gs"``).
    stencil : Stencil
    post : bool
        The post-smoother (reversed sweeps as in the solver).
    bc : {"dirichlet", "neumann", "periodic"}
        Grid convention, fixing which colour the coarse points have
        (Dirichlet: array index 0 is grid point 1; else grid point 0).

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import Stencil, smoother_symbol
    >>> S = smoother_symbol("jacobi", Stencil.laplacian(2))        # omega = 4/5
    >>> complex(S.diag(np.array([np.pi, np.pi])))                  # 1 - 0.8 * 8/4
    (-0.6000000000000001+0j)
    """
    if not isinstance(stencil, Stencil):
        raise TypeError(f"stencil must be a mgcore.analysis.Stencil, got {type(stencil).__name__}")
    if bc not in BCS:
        raise ValueError(f"bc must be one of {BCS}, got {bc!r}")
    name, o = _parse(spec)
    d = stencil.dim
    a0 = stencil.center
    if name != "richardson" and a0 == 0:
        raise ValueError(f"{name}: the stencil has a zero centre coefficient (the smoother divides by it)")
    if name == "richardson":
        lmax = o.get("lambda_max") or _symbol_sup(stencil)
        om = float(o.get("omega") or 1.0 / lmax)
        return SmootherSymbol(name, d, lambda th: 1.0 - om * stencil.symbol(th), description=f"richardson omega={om:.4g}")
    if name == "jacobi":
        dim = o.get("dim") or d
        om = float(o["omega"]) if o.get("omega") is not None else 2.0 * dim / (2.0 * dim + 1.0)
        return SmootherSymbol(name, d, lambda th: 1.0 - om * stencil.symbol(th) / a0, description=f"jacobi omega={om:.4g}")
    if name == "gauss-seidel":
        sweep = o.get("sweep", "forward")
        if sweep not in ("forward", "backward", "symmetric"):
            raise ValueError(f"gauss-seidel: sweep must be forward, backward or symmetric, got {sweep!r}")
        if post:
            sweep = {"forward": "backward", "backward": "forward"}.get(sweep, sweep)
        return SmootherSymbol(name, d, _lex(stencil, None, sweep), description=f"gauss-seidel {sweep}")
    if name == "line-gs":
        if d == 1:
            raise ValueError("line-gs in 1D is a direct solve; use a 2D or 3D stencil")
        axes = _line_axes(o.get("axis", "auto"), stencil)
        pattern = o.get("pattern", "zebra")
        if pattern not in ("zebra", "lexicographic"):
            raise ValueError(f"line-gs: pattern must be 'zebra' or 'lexicographic', got {pattern!r}")
        order = o.get("order", "red-black")
        if order not in ("symmetric", "red-black"):
            raise ValueError(f"line-gs: order must be 'symmetric' or 'red-black', got {order!r}")
        names = "".join("xyz"[a] for a in axes)
        if pattern == "lexicographic":
            sweep = o.get("sweep", "forward")
            if sweep not in ("forward", "backward", "symmetric"):
                raise ValueError(f"line-gs: sweep must be forward, backward or symmetric, got {sweep!r}")
            if post:
                sweep = {"forward": "backward", "backward": "forward"}.get(sweep, sweep)
            fns = [_lex(stencil, a, sweep) for a in axes]
            if post and order == "symmetric":
                fns = fns[::-1]

            def lex_all(th, fns=fns):
                out = 1.0
                for f in fns:
                    out = f(th) * out
                return out

            return SmootherSymbol(name, d, lex_all, description=f"{names}-line GS lexicographic {sweep}")
        reverse = post and order == "symmetric"
        steps = []
        for a in axes:
            on_line = np.all(np.delete(stencil.offsets, a, axis=1) == 0, axis=1)
            steps.append(_pattern(stencil, on_line, [b for b in range(d) if b != a], first_red=not reverse, bc=bc))
        if reverse:
            steps = steps[::-1]

        def zebra_all(th, steps=steps):
            out = None
            for f in steps:
                out = f(th) if out is None else f(th) @ out
            return out

        return SmootherSymbol(name, d, matrix_fn=zebra_all, description=f"{names}-line zebra GS")
    if name == "red-black":
        order = o.get("order", "red-black")
        if order not in ("symmetric", "red-black"):
            raise ValueError(f"red-black: order must be 'symmetric' or 'red-black', got {order!r}")
        first_red = (not post) or order == "red-black"
        centre = ~stencil.offsets.any(axis=1)
        fn = _pattern(stencil, centre, range(d), first_red=first_red, bc=bc)
        return SmootherSymbol(name, d, matrix_fn=fn, description=f"red-black GS ({'red' if first_red else 'black'} first)")
    # polynomial smoothers: q(D^-1 A) or q(A)
    from ..polynomials import PolynomialSmoother, chebyshev_roots

    pre = o.get("precondition", "jacobi" if name == "chebyshev" else None)
    if pre not in ("jacobi", None):
        raise ValueError(f"{name}: precondition must be 'jacobi' or None, got {pre!r}")
    scale = a0 if pre == "jacobi" else 1.0
    if name == "chebyshev":
        deg = int(o.get("degree", 3))
        if deg < 1:
            raise ValueError(f"chebyshev: degree must be an int >= 1, got {deg!r}")
        if (o.get("lower") is None) != (o.get("upper") is None):
            raise ValueError("chebyshev: give both lower and upper (the damped interval) or neither")
        if o.get("lower") is not None:
            lo, hi = float(o["lower"]), float(o["upper"])
        else:
            lmax = float(o.get("lmax") or _symbol_sup(stencil, scale))
            lo, hi = lmax / float(o.get("ratio", 30.0)), float(o.get("safety", 1.1)) * lmax
        poly = PolynomialSmoother(chebyshev_roots(deg, lo, hi))
        desc = f"chebyshev degree {deg} on [{lo:.4g}, {hi:.4g}]"
    else:
        roots, g, coef = o.get("roots"), o.get("g"), o.get("coefficients")
        if o.get("from") is not None:
            if o["from"] != "spectrum":
                raise ValueError(f"polynomial: 'from' must be 'spectrum', got {o['from']!r}")
            from .roots import polynomial_roots_from_spectrum

            sel = polynomial_roots_from_spectrum(stencil.scaled(1.0 / scale), int(o.get("degree", 4)),
                                                 method=o.get("method", "alg3"), ratio=o.get("ratio"),
                                                 kind=o.get("kind", "q"))
            roots, g = sel["roots"], sel["g"]
        elif roots is None and g is None and coef is None:
            lmax = _symbol_sup(stencil, scale)
            roots = chebyshev_roots(int(o.get("degree", 3)), lmax / float(o.get("ratio", 30.0)), 1.1 * lmax)
        poly = PolynomialSmoother(roots, g=g, coefficients=coef)
        desc = f"polynomial {poly!r}"
    return SmootherSymbol(name, d, lambda th: poly.q(stencil.symbol(th) / scale), description=desc)


def _lex(stencil: Stencil, line_axis: int | None, sweep: str) -> Callable:
    off = stencil.offsets
    if line_axis is None:
        on_line = ~off.any(axis=1)
        rest = off
    else:
        on_line = np.all(np.delete(off, line_axis, axis=1) == 0, axis=1)
        rest = np.delete(off, line_axis, axis=1)
    earlier = _lex_negative(rest) & ~on_line
    later = ~earlier & ~on_line
    fw = (stencil.part(on_line | earlier), stencil.part(later))
    bw = (stencil.part(on_line | later), stencil.part(earlier))

    def one(pair, th):
        lo, up = pair
        return -(up.symbol(th) if up is not None else 0.0) / lo.symbol(th)

    def fn(th):
        if sweep == "forward":
            return one(fw, th)
        if sweep == "backward":
            return one(bw, th)
        return one(bw, th) * one(fw, th)

    return fn


# ------------------------------------------------------------------ two-grid
def _restriction_row(th: np.ndarray, kind: str) -> np.ndarray:
    """Full-weighting (or injection / transpose) symbols at the harmonics, shape ``(m, H)``."""
    d = th.shape[-1]
    fw = np.prod(0.5 * (1.0 + np.cos(th)), axis=-1)
    if kind == "full-weighting":
        return fw.astype(np.complex128)
    if kind == "transpose":
        return (2.0 ** d * fw).astype(np.complex128)
    return np.ones(th.shape[:-1], dtype=np.complex128)


def two_grid_symbol(
    stencil: Stencil,
    smoother: Any = "rbgs",
    nu: Any = (1, 1),
    theta: np.ndarray | None = None,
    coarse: str = "rediscretize",
    coarse_stencil: Stencil | None = None,
    restriction: str = "full-weighting",
    interpolation: str = "bilinear",
    bc: str = "dirichlet",
) -> np.ndarray:
    """The two-grid error propagator ``S_post^nu2 (I - P A_H^-1 R A) S_pre^nu1`` per low frequency.

    Returns ``(m, 2^d, 2^d)`` complex for the frequencies ``theta``
    (default :func:`low_frequencies` with 32 samples per axis).  ``nu`` may be
    ``(0, 0)`` (the coarse-grid correction alone).
    """
    nu1, nu2 = _nu(nu)
    if coarse not in COARSE:
        raise ValueError(f"coarse must be one of {COARSE}, got {coarse!r}")
    if restriction not in RESTRICTIONS:
        raise ValueError(f"restriction must be one of {RESTRICTIONS}, got {restriction!r}")
    if interpolation != "bilinear":
        raise ValueError(f"interpolation must be 'bilinear' (the analysed prolongation), got {interpolation!r}")
    d = stencil.dim
    theta = low_frequencies(d) if theta is None else np.atleast_2d(np.asarray(theta, dtype=np.float64))
    th = harmonics(theta)
    m, H = th.shape[:2]
    Ah = stencil.symbol(th)  # (m, H)
    R = _restriction_row(th, restriction)  # (m, H)
    P = np.conj(_restriction_row(th, "full-weighting"))  # bilinear interpolation, (m, H)
    if coarse == "galerkin":
        AH = np.sum(R * Ah * P, axis=1)
    else:
        cs = coarse_stencil if coarse_stencil is not None else stencil.coarse()
        AH = cs.symbol(2.0 * theta)
    with np.errstate(divide="ignore", invalid="ignore"):
        K = np.eye(H)[None] - (P[:, :, None] / AH[:, None, None]) * (R * Ah)[:, None, :]
    Mx = K
    if nu1:
        S = smoother_symbol(smoother, stencil, post=False, bc=bc).matrix(theta)
        Mx = Mx @ np.linalg.matrix_power(S, nu1)
    if nu2:
        S = smoother_symbol(smoother, stencil, post=True, bc=bc).matrix(theta)
        Mx = np.linalg.matrix_power(S, nu2) @ Mx
    return Mx


def _nu(nu: Any) -> tuple[int, int]:
    if isinstance(nu, (int, np.integer)) and not isinstance(nu, bool):
        nu = (int(nu), int(nu))
    try:
        a, b = (int(v) for v in nu)
    except (TypeError, ValueError):
        raise ValueError(f"nu must be an int or a pair (nu_pre, nu_post) of ints >= 0, got {nu!r}") from None
    if a < 0 or b < 0:
        raise ValueError(f"nu must be >= 0, got {nu!r}")
    return a, b


def _spectral_radius(M: np.ndarray) -> np.ndarray:
    ok = np.all(np.isfinite(M), axis=(1, 2))
    out = np.full(M.shape[0], np.nan)
    if ok.any():
        out[ok] = np.abs(np.linalg.eigvals(M[ok])).max(axis=1)
    return out


def _sup(fn: Callable[[np.ndarray], np.ndarray], dim: int, n: Any, samples: int, refine: int,
         exclude_zero: bool, bc: str = "dirichlet") -> tuple[float, np.ndarray]:
    """``max fn(theta)`` over the low frequencies (discrete, or sampled and refined)."""
    theta = low_frequencies(dim, n=n, samples=samples, exclude_zero=exclude_zero, bc=bc)
    vals = fn(theta)
    vals = np.where(np.isfinite(vals), vals, -np.inf)
    if n is not None or refine <= 0:
        i = int(np.argmax(vals))
        return float(vals[i]), theta[i]
    cell = np.pi / (samples + samples % 2)
    best_v, best_t = -np.inf, theta[0]
    for i in np.argsort(vals)[::-1][:4]:
        t, v, w = theta[i].copy(), float(vals[i]), cell
        for _ in range(refine):
            ax = np.linspace(-w, w, 5)
            loc = t + np.stack(np.meshgrid(*([ax] * dim), indexing="ij"), -1).reshape(-1, dim)
            loc = np.clip(loc, -np.pi / 2, np.pi / 2)
            if exclude_zero:
                loc = loc[np.abs(loc).max(axis=1) > 1e-6]
            lv = fn(loc)
            lv = np.where(np.isfinite(lv), lv, -np.inf)
            j = int(np.argmax(lv))
            if lv[j] >= v:
                t, v = loc[j], float(lv[j])
            w /= 2.0
        if v > best_v:
            best_v, best_t = v, t
    return best_v, best_t


def smoothing_factor(stencil: Stencil, smoother: Any = "jacobi", nu: int = 1, n: Any = None, samples: int = 32,
                     refine: int = 24, bc: str = "dirichlet", return_theta: bool = False):
    """Smoothing factor ``mu = sup rho(Q S^nu)^(1/nu)`` of ``smoother`` on ``stencil``.

    Parameters
    ----------
    stencil : Stencil
    smoother : smoother spec
    nu : int
        Smoothing steps (pattern smoothers such as red-black depend on it).
    n : int, optional
        Use the discrete frequencies of a grid with ``n`` unknowns per
        dimension (Dirichlet, or periodic with ``bc="periodic"``; see
        :func:`low_frequencies`) instead of the continuous supremum.
    samples, refine : int
        Sampling of the low-frequency square and refinement steps around the
        maximisers (continuous case).
    return_theta : bool
        Also return the maximising low frequency.

    Examples
    --------
    >>> from mgcore.analysis import Stencil, smoothing_factor
    >>> round(smoothing_factor(Stencil.laplacian(1), ("jacobi", {"omega": 2 / 3})), 6)
    0.333333
    """
    if isinstance(nu, bool) or not isinstance(nu, (int, np.integer)) or nu < 1:
        raise ValueError(f"nu must be an int >= 1, got {nu!r}")
    S = smoother_symbol(smoother, stencil, bc=bc)
    d = stencil.dim
    Q = np.eye(2 ** d)
    Q[0, 0] = 0.0

    def fn(theta):
        Sm = S.matrix(theta)
        return _spectral_radius(Q[None] @ np.linalg.matrix_power(Sm, int(nu))) ** (1.0 / nu)

    v, t = _sup(fn, d, n, samples, refine, exclude_zero=False, bc=bc)
    return (v, t) if return_theta else v


def two_grid_factor(stencil: Stencil, smoother: Any = "rbgs", nu: Any = (1, 1), n: Any = None, samples: int = 32,
                    refine: int = 24, coarse: str = "rediscretize", coarse_stencil: Stencil | None = None,
                    restriction: str = "full-weighting", bc: str = "dirichlet", return_theta: bool = False):
    """Predicted two-grid convergence factor ``sup rho(S_post^nu2 K S_pre^nu1)``.

    See :func:`two_grid_symbol` for the operators and :func:`smoothing_factor`
    for ``n``, ``samples`` and ``refine``.

    Examples
    --------
    >>> from mgcore.analysis import Stencil, two_grid_factor
    >>> A = Stencil.laplacian(2)
    >>> round(two_grid_factor(A, ("jacobi", {"omega": 0.8}), (1, 1)), 3)          # infinite grid
    0.36
    >>> round(two_grid_factor(A, ("jacobi", {"omega": 0.8}), (1, 1), n=31), 3)    # frequencies of a 31x31 grid
    0.358
    """
    d = stencil.dim

    def fn(theta):
        return _spectral_radius(two_grid_symbol(stencil, smoother, nu, theta, coarse, coarse_stencil,
                                                restriction, bc=bc))

    v, t = _sup(fn, d, n, samples, refine, exclude_zero=True, bc=bc)
    return (v, t) if return_theta else v


def smoothing_map(stencil: Stencil, smoother: Any = "jacobi", samples: int = 64, bc: str = "dirichlet") -> tuple:
    """The smoother's amplification over the frequency square, for pictures.

    Returns ``(axis, values, blocks)``.  For smoothers that keep every
    Fourier mode (Jacobi, lexicographic GS, polynomials) ``blocks`` is False,
    ``axis`` samples ``[-pi, pi)`` and ``values[i, j] = |S(axis[i], axis[j])|``
    (the smoothing factor is the maximum outside the low square
    ``[-pi/2, pi/2)^2``).  For pattern smoothers (red-black, zebra), which mix
    each low frequency with its harmonics, ``blocks`` is True, ``axis``
    samples the low square and ``values`` is ``rho(Q S)`` on the harmonic
    space of each low frequency.  In 3D the maximum over the third frequency
    is returned, in 1D a line.
    """
    d = stencil.dim
    S = smoother_symbol(smoother, stencil, bc=bc)
    if S.diagonal:
        ax = -np.pi + (np.arange(samples) + 0.5) * 2 * np.pi / samples
        grid = np.stack(np.meshgrid(*([ax] * d), indexing="ij"), -1)
        vals = np.abs(S.diag(grid))
    else:
        ax = -np.pi / 2 + (np.arange(samples) + 0.5) * np.pi / samples
        grid = np.stack(np.meshgrid(*([ax] * d), indexing="ij"), -1).reshape(-1, d)
        Q = np.eye(2 ** d)
        Q[0, 0] = 0.0
        vals = _spectral_radius(Q[None] @ S.matrix(grid)).reshape((samples,) * d)
    if d == 3:
        vals = vals.max(axis=2)
    return ax, vals, not S.diagonal


# ------------------------------------------------------------ k-grid analysis
def _block_diag(blocks: np.ndarray) -> np.ndarray:
    """``(m, P, H, H)`` -> block-diagonal ``(m, P H, P H)``."""
    m, P, H, _ = blocks.shape
    out = np.zeros((m, P * H, P * H), dtype=np.complex128)
    for p in range(P):
        out[:, p * H:(p + 1) * H, p * H:(p + 1) * H] = blocks[:, p]
    return out


def cycle_symbol(stencils: Sequence[Stencil], smoother: Any = "rbgs", nu: Any = (1, 1), theta: np.ndarray | None = None,
                 cycle: str = "V", restriction: str = "full-weighting", bc: str = "dirichlet") -> np.ndarray:
    """k-grid LFA: the error propagator of a whole V- or W-cycle (Wienands & Oosterlee, 2001).

    With ``k = len(stencils)`` levels (level 1 = finest first, the coarsest
    solved exactly), every frequency ``Theta`` of the coarsest grid has
    ``2^(d (k-1))`` descendants on level 1 (each level-``l`` frequency has the
    ``2^d`` harmonics of ``theta/2`` as children on level ``l - 1``); on their
    span the cycle is the matrix
    ``M_l = S_post^nu2 (I - P (I - M_{l+1}^gamma) A_{l+1}^-1 R A_l) S_pre^nu1``,
    ``M_k = 0``, ``gamma = 1`` (V) or 2 (W).  For ``k = 2`` this is
    :func:`two_grid_symbol`.

    Parameters
    ----------
    stencils : sequence of Stencil
        The operator of every level (e.g. the re-discretised levels of a
        gallery problem).
    theta : array (m, d), optional
        Coarsest-level frequencies in ``[-pi, pi)^d`` (not 0).
    cycle : {"V", "W"}

    Returns
    -------
    ndarray
        ``(m, N, N)``, ``N = 2^(d (k-1))``.
    """
    stencils = list(stencils)
    k = len(stencils)
    if k < 2:
        raise ValueError(f"a cycle needs at least 2 levels, got {k}")
    if any(not isinstance(S, Stencil) for S in stencils):
        raise TypeError("stencils must be mgcore.analysis.Stencil objects, level 1 (finest) first")
    d = stencils[0].dim
    if any(S.dim != d for S in stencils):
        raise ValueError("all levels' stencils must have the same dimension")
    cyc = str(cycle).upper()
    if cyc not in ("V", "W"):
        raise ValueError(f"cycle must be 'V' or 'W' for the k-grid analysis, got {cycle!r}")
    gamma = 1 if cyc == "V" else 2
    nu1, nu2 = _nu(nu)
    if restriction not in RESTRICTIONS:
        raise ValueError(f"restriction must be one of {RESTRICTIONS}, got {restriction!r}")
    if theta is None:
        ax = np.linspace(-np.pi, np.pi, 17)[:-1]
        theta = np.stack(np.meshgrid(*([ax] * d), indexing="ij"), -1).reshape(-1, d)
        theta = theta[np.abs(theta).max(axis=1) > 0]
    Theta = np.atleast_2d(np.asarray(theta, dtype=np.float64))
    m = Theta.shape[0]
    H = 2 ** d
    # frequencies per level, coarsest first: freqs[l] has shape (m, N_l, d); children of a parent are contiguous
    freqs = {k: Theta[:, None, :]}
    for l in range(k - 1, 0, -1):
        par = freqs[l + 1]
        ch = harmonics((par / 2.0).reshape(-1, d)).reshape(m, par.shape[1] * H, d)
        freqs[l] = ch
    Mnext = None  # cycle propagator on level l + 1 (None: exact solve)
    for l in range(k - 1, 0, -1):
        th, par = freqs[l], freqs[l + 1]
        Np, N = par.shape[1], th.shape[1]
        A_l = stencils[l - 1].symbol(th)  # (m, N)
        A_c = stencils[l].symbol(par)  # (m, Np)
        R = _restriction_row(th, restriction).reshape(m, Np, H)
        P = np.conj(_restriction_row(th, "full-weighting")).reshape(m, Np, H)
        Rm = np.zeros((m, Np, N), dtype=np.complex128)
        Pm = np.zeros((m, N, Np), dtype=np.complex128)
        for p in range(Np):
            Rm[:, p, p * H:(p + 1) * H] = R[:, p]
            Pm[:, p * H:(p + 1) * H, p] = P[:, p]
        with np.errstate(divide="ignore", invalid="ignore"):
            inner = (Rm * A_l[:, None, :]) / A_c[:, :, None]  # A_c^-1 R A_l
        if Mnext is not None:
            inner = (np.eye(Np)[None] - np.linalg.matrix_power(Mnext, gamma)) @ inner
        M = np.eye(N)[None] - Pm @ inner
        low = (par / 2.0).reshape(-1, d)
        if nu1:
            S = smoother_symbol(smoother, stencils[l - 1], post=False, bc=bc).matrix(low).reshape(m, Np, H, H)
            M = M @ np.linalg.matrix_power(_block_diag(S), nu1)
        if nu2:
            S = smoother_symbol(smoother, stencils[l - 1], post=True, bc=bc).matrix(low).reshape(m, Np, H, H)
            M = np.linalg.matrix_power(_block_diag(S), nu2) @ M
        Mnext = M
    return Mnext


def _half(Theta: np.ndarray) -> np.ndarray:
    """One of each pair ``Theta, -Theta`` (mod 2 pi) of a negation-closed frequency set."""
    neg = (-Theta + np.pi) % (2.0 * np.pi) - np.pi
    diff = np.where(np.isclose(Theta, neg, atol=1e-12), 0.0, Theta - neg)
    first = np.argmax(diff != 0, axis=1)
    lead = diff[np.arange(Theta.shape[0]), first]
    return Theta[lead >= 0]


def nested_levels(problem: Any, coarse_size: int = 500, levels: int | None = None) -> list:
    """Level data of ``problem`` (re-discretised) under standard coarsening, level 1 first.

    Coarsens while a level has more than ``coarse_size`` unknowns (the
    solver's rule) and every dimension is odd (nested grids, coarse point
    ``i`` on fine point ``2 i + 1``), capped at ``levels``.
    """
    datas = [problem.level_data()]
    while (levels is None or len(datas) < levels) and int(np.prod(datas[-1].shape)) > coarse_size and all(
        n >= 3 and n % 2 == 1 for n in datas[-1].shape
    ):
        datas.append(problem.coarse_data(datas[-1]))
    return datas


def coarsest_frequencies(n_coarse: Any, dim: int) -> np.ndarray:
    """Frequencies ``j pi / (n_k + 1)``, ``j in [-(n_k+1), n_k+1)``, ``j != 0``, of a coarsest Dirichlet grid."""
    ns = (int(n_coarse),) * dim if np.isscalar(n_coarse) else tuple(int(v) for v in n_coarse)
    axes = []
    for nk in ns:
        j = np.arange(-(nk + 1), nk + 1)
        axes.append(np.pi * j[j != 0] / (nk + 1))
    return np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, dim)


def cycle_factor(problem_or_stencils: Any, smoother: Any = "rbgs", nu: Any = (1, 1), cycle: str = "V",
                 levels: int | None = None, coarse_size: int = 500, discrete: bool = True,
                 restriction: str = "full-weighting", samples: int | None = None, chunk: int = 64) -> float:
    """Predicted convergence factor of a whole V- or W-cycle (k-grid LFA, :func:`cycle_symbol`).

    Parameters
    ----------
    problem_or_stencils : GridProblem or sequence of Stencil
        A constant-coefficient gallery problem (its levels are re-discretised
        as the solver does; their number follows the solver's rule, coarsening
        while a level has more than ``coarse_size`` unknowns) or the stencils
        of the levels.
    levels : int, optional
        Use only the finest ``levels`` levels (the last one solved exactly).
    discrete : bool
        For a problem: use the frequencies of its grids (the prediction for
        that grid); else ``samples`` coarsest frequencies per axis (default
        32, 12 in 3D).

    Examples
    --------
    >>> from mgcore.problems import poisson2d
    >>> from mgcore.analysis.lfa import cycle_factor
    >>> round(cycle_factor(poisson2d(n=31), "rbgs", (1, 1), coarse_size=50), 3)      # 3 levels: 31, 15, 7
    0.104
    """
    bc = "dirichlet"
    if hasattr(problem_or_stencils, "level_data"):
        problem = problem_or_stencils
        bc = problem.bc
        datas = nested_levels(problem, coarse_size, levels)
        stencils = [Stencil.from_level(dt) for dt in datas]
        n_coarse = datas[-1].shape
    else:
        stencils = list(problem_or_stencils)[: levels or None]
        n_coarse = None
        discrete = False
    d = stencils[0].dim
    if len(stencils) == 1:
        return 0.0
    if discrete and n_coarse is not None:
        Theta = coarsest_frequencies(n_coarse, d)
    else:
        per = samples if samples is not None else (32 if d < 3 else 12)
        ax = np.linspace(-np.pi, np.pi, per + 1)[:-1]
        Theta = np.stack(np.meshgrid(*([ax] * d), indexing="ij"), -1).reshape(-1, d)
        Theta = Theta[np.abs(Theta).max(axis=1) > 0]
    if all(not np.iscomplexobj(S.values) for S in stencils):
        Theta = _half(Theta)  # real operators: the propagator at -Theta is the conjugate one
    best = 0.0
    for s in range(0, Theta.shape[0], chunk):
        M = cycle_symbol(stencils, smoother, nu, Theta[s:s + chunk], cycle, restriction, bc)
        r = _spectral_radius(M)
        if np.isfinite(r).any():
            best = max(best, float(np.nanmax(r)))
    return best


# --------------------------------------------------------------- measurement
def measure_factor(problem: Any, smoother: Any = "rbgs", nu: Any = (1, 1), cycle: str = "V", cycles: int = 40,
                   last: int = 10, two_grid: bool = False, seed: int = 0, **solver_kwargs: Any) -> dict:
    """Measured asymptotic convergence factor of :class:`mgcore.sparse.MultigridSolver`.

    Runs ``cycles`` cycles on ``A x = 0`` from a random initial guess (so the
    iterate is the error) and returns the mean reduction of the residual
    norm over the ``last`` cycles.

    Parameters
    ----------
    problem : GridProblem
    smoother, nu, cycle
        As for the solver.
    cycles, last : int
    two_grid : bool
        Two levels only (exact coarse solve), the setting of the two-grid
        analysis; default the solver's full hierarchy.
    seed : int
    **solver_kwargs
        Passed to :class:`~mgcore.sparse.MultigridSolver` (e.g. ``fast``).

    Returns
    -------
    dict
        ``factor``, ``residuals``, ``levels``.
    """
    from ..sparse.solver import MultigridSolver

    if isinstance(cycles, bool) or not isinstance(cycles, int) or cycles < 2:
        raise ValueError(f"cycles must be an int >= 2, got {cycles!r}")
    if isinstance(last, bool) or not isinstance(last, int) or not 1 <= last < cycles:
        raise ValueError(f"last must be an int in [1, cycles), got {last!r}")
    kw = dict(solver_kwargs)
    if two_grid:
        kw["max_levels"] = 2
    solver = MultigridSolver(problem, smoother=smoother, nu=tuple(_nu(nu)), cycle=cycle, **kw)
    N = int(np.prod(problem.shape))
    x0 = np.random.default_rng(seed).standard_normal(N)
    res = solver.solve(np.zeros(N), x0=x0, rtol=1e-300, maxiter=cycles)
    r = np.asarray(res.residuals, dtype=np.float64)
    r = r[np.isfinite(r) & (r > 0)]
    k = min(last, len(r) - 1)
    factor = float((r[-1] / r[-1 - k]) ** (1.0 / k)) if k >= 1 else float("nan")
    return {"factor": factor, "residuals": r.tolist(), "levels": solver.J}


def compare(problem: Any, smoother: Any = "rbgs", nus: Sequence[Any] = ((1, 1), (2, 2)), cycles: int = 40,
            measure: bool = True, samples: int = 32, **solver_kwargs: Any) -> list[dict]:
    """``predicted`` vs ``measured`` factors for a constant-coefficient gallery problem.

    For each ``nu`` one row: the smoothing factor ``mu`` of ``nu_1 + nu_2``
    steps, the predicted two-grid factor on the infinite grid (``rho_2g``) and
    on the problem's own frequencies (``rho_2g_n``), the predicted V-cycle
    factor over the solver's levels (``rho_V_n``, :func:`cycle_factor`), and
    (``measure=True``) the measured factors of the two-grid solver
    (``measured_2g``, two levels, exact coarse solve) and of the solver's
    V-cycle (``measured_V``).

    Examples
    --------
    >>> from mgcore.problems import poisson2d
    >>> from mgcore.analysis import compare
    >>> row = compare(poisson2d(n=31), "rbgs", [(1, 1)], measure=False)[0]
    >>> round(row["rho_2g"], 3), round(row["mu"], 3)
    (0.074, 0.25)
    """
    data = problem_level(problem, 1)
    A = Stencil.from_level(data, name=getattr(problem, "name", "problem"))
    Ac = Stencil.from_level(problem.coarse_data(data))
    n = data.shape
    coarse_size = int(solver_kwargs.get("coarse_size", 500))
    J = len(nested_levels(problem, coarse_size, solver_kwargs.get("max_levels")))
    solver_kwargs = {**solver_kwargs, "max_levels": J}  # measure on the levels that are analysed
    rows = []
    for nu in nus:
        nu1, nu2 = _nu(nu)
        row = {
            "problem": getattr(problem, "name", "problem"), "n": int(n[0]), "smoother": _label(smoother),
            "nu": [nu1, nu2],
            "mu": smoothing_factor(A, smoother, max(nu1 + nu2, 1), samples=samples, bc=problem.bc),
            "rho_2g": two_grid_factor(A, smoother, (nu1, nu2), samples=samples, coarse_stencil=Ac, bc=problem.bc),
            "rho_2g_n": two_grid_factor(A, smoother, (nu1, nu2), n=n, coarse_stencil=Ac, bc=problem.bc),
            "rho_V_n": cycle_factor(problem, smoother, (nu1, nu2), "V", coarse_size=coarse_size, levels=J),
        }
        if measure:
            row["measured_2g"] = measure_factor(problem, smoother, (nu1, nu2), cycles=cycles, two_grid=True,
                                                **solver_kwargs)["factor"]
            m = measure_factor(problem, smoother, (nu1, nu2), cycles=cycles, **solver_kwargs)
            row["measured_V"], row["levels"] = m["factor"], m["levels"]
        rows.append(row)
    return rows


def _label(spec: Any) -> str:
    if isinstance(spec, str):
        return spec
    try:
        name, opts = _parse(spec)
    except (TypeError, ValueError):
        return str(spec)
    return name + ("" if not opts else ":" + ",".join(f"{k}={v}" for k, v in opts.items()))


def format_table(rows: Sequence[dict]) -> str:
    """Rows of :func:`compare` as a text table (predicted | measured, and their ratios)."""
    head = (f"{'problem':<12} {'n':>4} {'smoother':<16} {'nu':>6} | {'mu':>6} {'2g':>7} {'2g(n)':>7} {'V(n)':>7} |")
    measured = any("measured_V" in r for r in rows)
    if measured:
        head += f" {'2g':>7} {'V':>7} | {'2g/2g(n)':>8} {'V/V(n)':>7}"
    lines = [" " * 44 + "| predicted" + " " * 22 + ("| measured        | ratio" if measured else ""), head]
    for r in rows:
        s = (f"{r['problem'][:12]:<12} {r['n']:>4} {r['smoother'][:16]:<16} {'(%d,%d)' % tuple(r['nu']):>6} | "
             f"{r['mu']:6.3f} {r['rho_2g']:7.4f} {r['rho_2g_n']:7.4f} {r['rho_V_n']:7.4f} |")
        if measured:
            s += (f" {r['measured_2g']:7.4f} {r['measured_V']:7.4f} | {r['measured_2g'] / r['rho_2g_n']:8.3f} "
                  f"{r['measured_V'] / r['rho_V_n']:7.3f}")
        lines.append(s)
    return "\n".join(lines)
