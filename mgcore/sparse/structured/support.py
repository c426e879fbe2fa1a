"""Which configurations the compiled structured path runs, decided from the smoother registry."""

from __future__ import annotations

from typing import Any

from ...config import _is_pair, parse_one_spec
from ...problems.grid import GridProblem
from ...registry import SMOOTHER_REGISTRY, backend_support, smoother_names, validate_options

__all__ = ["STRUCTURED_SMOOTHERS", "structured_support", "parse_structured_smoothers", "kernel_options"]

#: Smoothers the solvers run on the structured path (canonical names, from the registry).
STRUCTURED_SMOOTHERS = smoother_names("structured")

#: Compiled smoother kernels and the options they take; Chebyshev has a
#: kernel (one polynomial of degree nu on fixed bounds) that direct level
#: construction may use, but solvers do not select it (see the registry's note).
_KERNEL_OPTIONS = {"red-black": ("order",), "jacobi": ("omega",), "chebyshev": ("lower", "upper"), "line-gs": ("axis", "order"),
                   "polynomial": ("roots", "g", "coefficients", "precondition", "degree", "ratio", "from", "method")}


def kernel_options(name: str) -> tuple:
    """Options of the compiled kernel of smoother ``name`` (ValueError if there is none)."""
    if name not in _KERNEL_OPTIONS:
        raise ValueError(
            f"smoother {name!r} has no structured kernel (supported: {', '.join(_KERNEL_OPTIONS)}; aliases such as 'rbgs' work)"
        )
    return _KERNEL_OPTIONS[name]


def _parse_one(spec: Any, kernel: bool) -> tuple[str | None, dict, str]:
    """``(canonical name or None, options, reason)`` of one smoother spec."""
    if isinstance(spec, list) and len(spec) == 2 and isinstance(spec[0], str) and isinstance(spec[1], dict):
        spec = tuple(spec)
    try:
        name, kw = parse_one_spec(spec, smoother_names())
        kw = validate_options(name, kw)
    except (TypeError, ValueError) as exc:
        return None, {}, str(exc)
    if kernel:
        if name not in _KERNEL_OPTIONS:
            return None, {}, f"smoother {name!r} has no structured kernel (supported: {', '.join(_KERNEL_OPTIONS)})"
        bad = sorted(set(kw) - set(_KERNEL_OPTIONS[name]))
        if bad:
            return None, {}, f"smoother {name!r} options {bad} are not supported by the structured kernel (allowed: {list(_KERNEL_OPTIONS[name])})"
        return name, kw, ""
    ok, why = backend_support(name, kw, "structured")
    return (name, kw, "") if ok else (None, {}, why)


def parse_structured_smoothers(smoother: Any, J: int | None, kernel: bool = False) -> tuple[list | None, str]:
    """Per-level ``[(name, options)]`` (one entry when ``J`` is None) and a reason when not supported.

    ``kernel=True`` accepts every compiled kernel (direct level construction);
    otherwise only what the solvers run on the structured path.
    """
    if isinstance(smoother, (list, tuple)) and not (isinstance(smoother, tuple) and _is_pair(smoother)) and not (
        isinstance(smoother, list) and len(smoother) == 2 and isinstance(smoother[0], str) and isinstance(smoother[1], dict)
    ):
        specs = list(smoother)
        if not specs:
            return None, "smoother list is empty"
        if J is not None and len(specs) != J:
            return None, f"smoother list has {len(specs)} entries, expected one per level (J = {J})"
    else:
        specs = [smoother] * (J if J is not None else 1)
    out = []
    for s in specs:
        name, kw, why = _parse_one(s, kernel)
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
        the registry (:mod:`mgcore.registry`) says which smoothers and options
        the structured path has: red-black Gauss-Seidel (``"rbgs"``), damped
        Jacobi, zebra line Gauss-Seidel and polynomial smoothers.
    coarse : {"rediscretize", "galerkin"}
        Only re-discretised coarse operators are supported.
    interpolation, restriction : str
        Only bilinear/trilinear interpolation with full weighting
        (He & Xu, MgNet, 2019, eq. 4.9 first case, ``R = P^T/2^d``).

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
    specs, why = parse_structured_smoothers(smoother, None)
    if specs is None:
        return False, why
    return True, ""


assert set(STRUCTURED_SMOOTHERS) <= set(_KERNEL_OPTIONS) and set(_KERNEL_OPTIONS) <= set(SMOOTHER_REGISTRY)
