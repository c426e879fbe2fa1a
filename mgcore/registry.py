"""The smoother registry: one declaration per smoother, read by every backend.

Each smoother has one canonical name, its aliases (an alias may fix
options: ``"sgs"`` is Gauss-Seidel with ``sweep="symmetric"``), its options
with defaults and validators, and the backends (and compiled kernels) that
implement it.  The spec grammar (:mod:`mgcore.config`), the CLI, the sparse,
structured and torch backends all read this table, so a name, an option or a
vocabulary (``order``, ``sweep``) is defined once.

The smoothers are those of He & Xu, *MgNet*, 2019, Sec. 3.4 (residual
correction eq. 3.20 with Richardson, damped Jacobi and Gauss-Seidel ``B``,
Chebyshev semi-iteration eq. 3.23-3.24) and the polynomial smoothers of
Poly-MgNet (eq. 10-21).

This module is pure Python (no numpy, no torch).

Examples
--------
>>> from mgcore.registry import SMOOTHER_REGISTRY, smoother_names
>>> smoother_names("torch")
('richardson', 'jacobi', 'red-black', 'chebyshev', 'polynomial', 'stencil')
>>> SMOOTHER_REGISTRY["red-black"].options["order"].choices
('symmetric', 'red-black')
>>> validate_options("jacobi", {"omega": "x"})
Traceback (most recent call last):
...
ValueError: smoother 'jacobi': omega must be a positive number, got 'x'
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any, Mapping

__all__ = [
    "Option",
    "SmootherInfo",
    "SMOOTHER_REGISTRY",
    "BACKENDS",
    "RB_ORDERS",
    "GS_SWEEPS",
    "SOLVER_DEFAULTS",
    "smoother_names",
    "aliases",
    "validate_options",
    "backend_support",
    "needs_symmetric_post",
]

#: backends that build smoothers
BACKENDS = ("sparse", "structured", "torch")

#: ``order`` of red-black Gauss-Seidel: ``"symmetric"`` -- post-smoothing
#: sweeps black then red, the adjoint of the red-first pre-smoothing (a
#: symmetric cycle, for CG); ``"red-black"`` -- the post-smoothing also
#: sweeps red first (V(2,2) factor 0.04 instead of 0.12).
RB_ORDERS = ("symmetric", "red-black")
#: ``axis`` of line Gauss-Seidel
LINE_AXES = ("auto", "alternating", 0, 1, 2)
#: ``sweep`` of lexicographic Gauss-Seidel
GS_SWEEPS = ("forward", "backward", "symmetric")
#: ``precondition`` of Chebyshev and polynomial smoothers
PRECONDITIONS = ("jacobi", None)


# --------------------------------------------------------------------------- validators
class _Number:
    """Validator: a finite real number (numpy scalars accepted) with bounds (picklable)."""

    def __init__(self, positive: bool = True, lo: float | None = None, hi: float | None = None, open_hi: bool = False):
        self.positive, self.lo, self.hi, self.open_hi = positive, lo, hi, open_hi

    def describe(self) -> str:
        if self.hi is not None:
            return f"a number in ({self.lo if self.lo is not None else 0}, {self.hi}{')' if self.open_hi else ']'}"
        if self.lo is not None:
            return f"a finite number > {self.lo}"
        return "a positive number" if self.positive else "a finite number"

    def __call__(self, value: Any) -> float:
        if isinstance(value, bool) or isinstance(value, str):
            raise ValueError
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError from None
        if not math.isfinite(v) or (self.positive and v <= 0):
            raise ValueError
        if self.lo is not None and v <= self.lo:
            raise ValueError
        if self.hi is not None and (v >= self.hi if self.open_hi else v > self.hi):
            raise ValueError
        return v


class _Int:
    """Validator: an int ``>= lo`` (numpy integers accepted, bools refused)."""

    def __init__(self, lo: int = 1):
        self.lo = lo

    def describe(self) -> str:
        return f"an int >= {self.lo}"

    def __call__(self, value: Any) -> int:
        if isinstance(value, bool) or not hasattr(value, "__index__"):
            raise ValueError
        v = int(value.__index__())
        if v < self.lo:
            raise ValueError
        return v


class _Choice:
    def __init__(self, choices: tuple):
        self.choices = choices

    def describe(self) -> str:
        return "one of " + ", ".join(repr(c) for c in self.choices)

    def __call__(self, value: Any) -> Any:
        if value not in self.choices:
            raise ValueError
        return value


class _Sequence:
    """Validator: a non-empty sequence of finite numbers (complex allowed for roots)."""

    def __init__(self, complex_ok: bool = True, nonzero: bool = False):
        self.complex_ok, self.nonzero = complex_ok, nonzero

    def describe(self) -> str:
        return (
            "a non-empty sequence of finite" + (" non-zero" if self.nonzero else "") + " numbers"
            + (" (complex roots in conjugate pairs)" if self.complex_ok else "")
            + ("; a zero root would make the smoother p(A) = prod(1 - A/r) undefined" if self.nonzero else "")
        )

    def __call__(self, value: Any) -> Any:
        if isinstance(value, (str, bytes, Mapping)):
            raise ValueError
        try:
            vals = list(value)
        except TypeError:
            raise ValueError from None
        if not vals:
            raise ValueError
        for v in vals:
            if isinstance(v, bool):
                raise ValueError
            try:
                c = complex(v)
            except (TypeError, ValueError):
                raise ValueError from None
            if not (math.isfinite(c.real) and math.isfinite(c.imag)):
                raise ValueError
            if c.imag != 0 and not self.complex_ok:
                raise ValueError
            if self.nonzero and c == 0:
                raise ValueError
        return value


class _Path:
    """Validator: a non-empty file path (``str`` or ``os.PathLike``)."""

    def describe(self) -> str:
        return "a file path (str)"

    def __call__(self, value: Any) -> str:
        if not isinstance(value, (str, os.PathLike)):
            raise ValueError
        v = os.fspath(value)
        if not isinstance(v, str) or not v:
            raise ValueError
        return v


class _Any:
    def describe(self) -> str:
        return "any value"

    def __call__(self, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class Option:
    """One smoother option: default (``None``: computed by the backend), validator, doc."""

    name: str
    default: Any = None
    validator: Any = field(default_factory=_Any)
    doc: str = ""
    choices: tuple | None = None

    def validate(self, smoother: str, value: Any) -> Any:
        if value is None and (self.default is None or None in (self.choices or ())):
            return None
        try:
            return self.validator(value)
        except ValueError:
            raise ValueError(
                f"smoother {smoother!r}: {self.name} must be {self.validator.describe()}, got {value!r}"
            ) from None


def _choice(name: str, choices: tuple, default: Any, doc: str) -> Option:
    return Option(name, default, _Choice(choices), doc, choices)


@dataclass(frozen=True)
class SmootherInfo:
    """Declaration of one smoother.

    Attributes
    ----------
    name : str
        Canonical name.
    aliases : dict
        ``alias -> options the alias fixes``.
    options : dict
        ``option name -> Option``.
    backends : dict
        ``backend -> option names that backend implements`` (``None``: all);
        a backend missing from the dict does not have the smoother.
    notes : dict
        ``backend -> why it is missing there`` (shown in errors and warnings).
    symmetric : bool
        Whether one step is self-adjoint in the ``A`` inner product (then the
        cycle with ``nu_pre == nu_post`` is symmetric without changes).
    doc : str
        One line for listings (``mgcore solve --help``).
    """

    name: str
    aliases: dict
    options: dict
    backends: dict
    notes: dict = field(default_factory=dict)
    symmetric: bool = True
    doc: str = ""


def _opts(*options: Option) -> dict:
    return {o.name: o for o in options}


_POS = _Number()
_CHEB_BOUNDS = (
    Option("degree", 3, _Int(1), "polynomial degree per smoothing step"),
    Option("ratio", 30.0, _Number(lo=1.0), "damped interval [lmax/ratio, safety*lmax]"),
    Option("lmax", None, _POS, "largest eigenvalue of (D^-1) A (estimated if not given)"),
    Option("safety", 1.1, _POS, "safety factor on lmax"),
    Option("lower", None, _POS, "lower end of the damped interval (with upper)"),
    Option("upper", None, _POS, "upper end of the damped interval (with lower)"),
    _choice("precondition", PRECONDITIONS, "jacobi", "polynomial in D^-1 A ('jacobi') or in A (None)"),
)

#: canonical name -> declaration
SMOOTHER_REGISTRY: dict[str, SmootherInfo] = {
    s.name: s
    for s in (
        SmootherInfo(
            "richardson",
            {},
            _opts(Option("omega", None, _POS, "step (default 1/lambda_max)"),
                  Option("lambda_max", None, _POS, "largest eigenvalue (estimated if not given)")),
            {"sparse": None, "torch": None},
            {"structured": "no compiled Richardson kernel"},
            doc="u += omega (f - A u)",
        ),
        SmootherInfo(
            "jacobi",
            {"damped-jacobi": {}, "jac": {}},
            _opts(Option("omega", None, _POS, "damping (default 2d/(2d+1))"),
                  Option("dim", None, _Int(1), "space dimension when no grid is given (sets the default omega)")),
            {"sparse": None, "structured": ("omega",), "torch": ("omega",)},
            doc="u += omega D^-1 (f - A u)",
        ),
        SmootherInfo(
            "gauss-seidel",
            {"gs": {}, "gaussseidel": {}, "sgs": {"sweep": "symmetric"},
             "symmetric-gauss-seidel": {"sweep": "symmetric"}, "symmetric-gs": {"sweep": "symmetric"}},
            _opts(_choice("sweep", GS_SWEEPS, "forward", "lexicographic sweep direction")),
            {"sparse": None},
            {"structured": "no compiled lexicographic Gauss-Seidel kernel (use 'rbgs')",
             "torch": "lexicographic Gauss-Seidel is sequential (use 'rbgs')"},
            symmetric=False,
            doc="lexicographic Gauss-Seidel",
        ),
        SmootherInfo(
            "red-black",
            {"rbgs": {}, "redblack": {}, "red-black-gauss-seidel": {}, "red-black-gs": {}, "rb-gs": {}},
            _opts(_choice("order", RB_ORDERS, "symmetric", "post-smoothing colour order"),
                  Option("shape", None, _Any(), "grid shape when no grid is given")),
            {"sparse": None, "structured": ("order",), "torch": ("order",)},
            symmetric=False,
            doc="red-black Gauss-Seidel (structured grids)",
        ),
        SmootherInfo(
            "line-gs",
            {"zebra": {}, "line-gauss-seidel": {}, "lgs": {}, "zebra-gs": {}},
            _opts(
                Option("axis", "auto", _Choice(LINE_AXES), "line direction: 'auto' (from the coefficients), "
                       "'alternating' (every axis in turn) or an axis 0/1/2", LINE_AXES),
                _choice("order", RB_ORDERS, "symmetric", "post-smoothing colour order (as red-black)"),
            ),
            {"sparse": None, "structured": ("axis", "order")},
            {"torch": "not yet built for the torch solver"},
            symmetric=False,
            doc="zebra line Gauss-Seidel along the strong direction (anisotropic problems)",
        ),
        SmootherInfo(
            "chebyshev",
            {"cheb": {}},
            _opts(*_CHEB_BOUNDS),
            {"sparse": None, "torch": None},
            {"structured": "the compiled Chebyshev kernel is one polynomial of degree nu on fixed bounds of "
                           "D^-1 A, not the library's definition (one polynomial of `degree` per step on estimated "
                           "bounds); use the sparse path (fast=False) or 'rbgs'/'jacobi'"},
            doc="Chebyshev semi-iteration (He & Xu, MgNet, 2019, eq. 3.23)",
        ),
        SmootherInfo(
            "polynomial",
            {"poly": {}},
            _opts(
                Option("roots", None, _Sequence(nonzero=True), "roots of p (real, or complex-conjugate pairs)"),
                Option("g", None, _Any(), "g-form factors (Poly-MgNet eq. 13-21)"),
                Option("coefficients", None, _Sequence(complex_ok=False), "coefficients of p"),
                _choice("precondition", PRECONDITIONS, None, "polynomial in D^-1 A ('jacobi') or in A (None)"),
                Option("degree", 3, _Int(1), "degree of the default Chebyshev roots"),
                Option("ratio", 30.0, _Number(lo=1.0), "damped interval of the default roots"),
                _choice("from", ("spectrum", None), None, "choose `degree` roots from the level's spectrum"),
                _choice("method", ("alg3", "leja", "chebyshev", "equispaced"), "alg3",
                        "root selection with from='spectrum' (Poly-MgNet Alg. 3, Leja, Chebyshev, equispaced)"),
            ),
            {"sparse": None, "structured": None, "torch": None},
            {},
            doc="polynomial smoother p(A) from roots or coefficients (Poly-MgNet eq. 10-21)",
        ),
        SmootherInfo(
            "stencil",
            {"learned": {}, "learned-stencil": {}},
            _opts(
                Option("file", None, _Path(), "stencil-smoother file (.npz) written by `mgcore learn-smoother`"),
                Option("kernel", None, _Any(), "one inline k x k stencil K instead of a file"),
                Option("level", None, _Int(1), "level set of the file to use (default: chosen by grid size)"),
            ),
            {"sparse": None, "torch": None},
            {"structured": "no compiled kernel for stencil smoothers (the sparse path assembles them; use fast=False)"},
            symmetric=False,
            doc="stencil smoother u += K*(D^-1 (f - A u)), learned by `mgcore learn-smoother` (default K: damped Jacobi)",
        ),
    )
}

#: Options a *solver* sets where the user gave none (the smoothers' own
#: defaults stay those of :data:`SMOOTHER_REGISTRY`): red-black Gauss-Seidel
#: post-smooths red first as well -- V(2,2) factor 0.04 instead of 0.12 with
#: the adjoint (black-first) order, which solvers switch on only where a
#: symmetric cycle is needed (CG, preconditioning; see
#: :func:`needs_symmetric_post`).
SOLVER_DEFAULTS: dict[str, dict] = {"red-black": {"order": "red-black"}, "line-gs": {"order": "red-black"}}


def smoother_names(backend: str | None = None) -> tuple[str, ...]:
    """Canonical names, all or those ``backend`` implements."""
    if backend is not None and backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    return tuple(n for n, s in SMOOTHER_REGISTRY.items() if backend is None or backend in s.backends)


def aliases() -> dict[str, tuple[str, dict]]:
    """``alias -> (canonical name, fixed options)`` over the whole registry."""
    out: dict[str, tuple[str, dict]] = {}
    for s in SMOOTHER_REGISTRY.values():
        for a, fixed in s.aliases.items():
            out[a] = (s.name, dict(fixed))
    return out


def validate_options(name: str, options: Mapping, backend: str | None = None) -> dict:
    """Check ``options`` of smoother ``name``: known names, valid values.

    Parameters
    ----------
    name : str
        Canonical name.
    options : dict
    backend : str, optional
        Also require that ``backend`` implements the smoother and each option.

    Returns
    -------
    dict
        The options with values normalised (numpy scalars -> Python numbers).

    Raises
    ------
    ValueError
        Unknown smoother or option, a value out of range, or a smoother or
        option the backend lacks (the message says which and why).
    """
    info = SMOOTHER_REGISTRY.get(name)
    if info is None:
        raise ValueError(f"unknown smoother {name!r}; allowed names: {', '.join(SMOOTHER_REGISTRY)}")
    unknown = sorted(set(options) - set(info.options))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for smoother {name!r}; allowed: {', '.join(info.options)}")
    out = {k: info.options[k].validate(name, v) for k, v in options.items()}
    if backend is not None:
        ok, why = backend_support(name, out, backend)
        if not ok:
            raise ValueError(why)
    return out


def backend_support(name: str, options: Mapping, backend: str) -> tuple[bool, str]:
    """``(True, "")`` if ``backend`` implements smoother ``name`` with ``options``, else ``(False, reason)``."""
    info = SMOOTHER_REGISTRY.get(name)
    if info is None:
        return False, f"unknown smoother {name!r}"
    if backend not in info.backends:
        have = ", ".join(smoother_names(backend)) if backend in BACKENDS else ""
        why = info.notes.get(backend, f"the {backend} backend does not implement it")
        return False, f"smoother {name!r} is not available on the {backend} path: {why} (available: {have})"
    allowed = info.backends[backend]
    if allowed is not None:
        bad = sorted(k for k in options if k not in allowed and options[k] is not None)
        if bad:
            return False, (
                f"smoother {name!r} options {bad} are not supported on the {backend} path "
                f"(allowed there: {list(allowed)})"
            )
    return True, ""


def needs_symmetric_post(name: str, options: Mapping) -> bool:
    """Whether a cycle with this smoother needs another post-smoother to be symmetric.

    Red-black Gauss-Seidel with ``order="red-black"`` (the solvers' default)
    post-smooths red first, which is not the adjoint of its pre-smoothing;
    in a symmetric cycle it must sweep black first (``order="symmetric"``).
    """
    return name in ("red-black", "line-gs") and options.get("order", "symmetric") != "symmetric"
