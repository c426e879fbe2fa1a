"""One configuration grammar for smoothers, shared by every backend.

A *smoother spec* is one of

* a name: ``"jacobi"``;
* a pair ``(name, options)``: ``("chebyshev", {"degree": 3})``;
* a dict with a ``"name"`` key, the other keys being options:
  ``{"name": "jacobi", "omega": 0.8}``;
* a list of the above, one per level, level 1 (the finest) first.  A list
  shorter than the number of levels ``J`` is extended with its last entry
  (the coarser levels reuse it); a longer one is an error.

Names are case-insensitive, ``_`` and spaces count as ``-``, and a few
aliases are understood (see :data:`ALIASES`); an alias may also fix options,
e.g. ``"sgs"`` is ``("gauss-seidel", {"sweep": "symmetric"})``.  Which names
exist is up to the backend: :func:`parse_smoother_spec` takes the allowed
canonical names (``mgcore.sparse.smoothers.SMOOTHERS`` for the sparse
backend) and reports them in its error messages.

The smoothers themselves are those of He & Xu, MgNet, 2019, §3.4 (eq. 3.20-3.24) and the
polynomial smoothers of van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, (eq. 10-21).

This module is pure Python (no numpy, no torch).

Examples
--------
>>> from mgcore.config import parse_smoother_spec
>>> parse_smoother_spec("jacobi", 2, ["jacobi", "gauss-seidel"])
[('jacobi', {}), ('jacobi', {})]
>>> parse_smoother_spec(["SGS", {"name": "jacobi", "omega": 0.8}], 3, ["jacobi", "gauss-seidel"])
[('gauss-seidel', {'sweep': 'symmetric'}), ('jacobi', {'omega': 0.8}), ('jacobi', {'omega': 0.8})]
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from . import registry as _registry

__all__ = ["ALIASES", "normalize_name", "resolve_name", "parse_smoother_spec", "parse_one_spec"]

#: alias -> (canonical name, options fixed by the alias), from :mod:`mgcore.registry`
ALIASES: dict[str, tuple[str, dict]] = _registry.aliases()


def normalize_name(name: str) -> str:
    """Lower-case ``name`` and spell ``_`` and blanks as ``-``."""
    return "-".join(name.strip().lower().replace("_", "-").split())


def resolve_name(name: Any, allowed: Iterable[str]) -> tuple[str, dict]:
    """Map a (possibly aliased) smoother name to ``(canonical name, fixed options)``.

    Parameters
    ----------
    name : str
        Name or alias, case-insensitive.
    allowed : iterable of str
        Canonical names the backend provides.

    Raises
    ------
    TypeError
        If ``name`` is not a string.
    ValueError
        If the name is unknown; the message lists the allowed names and aliases.
    """
    allowed = [normalize_name(a) for a in allowed]
    if not isinstance(name, str):
        raise TypeError(f"smoother name must be a str, got {type(name).__name__} ({name!r})")
    key = normalize_name(name)
    if key in allowed:
        return key, {}
    if key in ALIASES and ALIASES[key][0] in allowed:
        canon, fixed = ALIASES[key]
        return canon, dict(fixed)
    aliases = sorted(a for a, (c, _) in ALIASES.items() if c in allowed and a not in allowed)
    msg = f"unknown smoother {name!r}; allowed names: {', '.join(allowed)}"
    if aliases:
        msg += f" (aliases: {', '.join(aliases)})"
    raise ValueError(msg)


def parse_one_spec(spec: Any, allowed: Iterable[str]) -> tuple[str, dict]:
    """Parse one (non-list) smoother spec into ``(canonical name, options)``.

    See the module docstring for the grammar.  Options fixed by an alias
    (``"sgs"`` -> ``sweep="symmetric"``) may not be contradicted.
    """
    allowed = list(allowed)
    if isinstance(spec, str):
        name, opts = spec, {}
    elif isinstance(spec, Mapping):
        if "name" not in spec:
            raise ValueError(f"a smoother spec dict needs a 'name' key, got keys {sorted(map(str, spec))}")
        opts = {k: v for k, v in spec.items() if k != "name"}
        name = spec["name"]
    elif isinstance(spec, tuple) and _is_pair(spec):
        name = spec[0]
        opts = {} if len(spec) == 1 else spec[1]
        if opts is None:
            opts = {}
    else:
        raise TypeError(
            "a smoother spec must be a name such as 'jacobi', a pair ('chebyshev', {'degree': 3}), "
            f"a dict {{'name': 'jacobi', 'omega': 0.8}} or a list of those (one per level); got {spec!r}"
        )
    for k in opts:
        if not isinstance(k, str):
            raise TypeError(f"smoother option names must be str, got {k!r}")
    canon, fixed = resolve_name(name, allowed)
    for k, v in fixed.items():
        if k in opts and opts[k] != v:
            raise ValueError(f"smoother {name!r} means {canon!r} with {k}={v!r}; it cannot be combined with {k}={opts[k]!r}")
    merged = dict(fixed)
    merged.update(opts)
    return canon, merged


def _is_pair(spec: tuple) -> bool:
    """Whether a tuple is one ``(name,)`` / ``(name, options)`` spec rather than a per-level sequence."""
    if not spec or not isinstance(spec[0], str):
        return False
    return len(spec) == 1 or (len(spec) == 2 and (spec[1] is None or isinstance(spec[1], Mapping)))


def parse_smoother_spec(spec: Any, J: int, allowed: Iterable[str]) -> list[tuple[str, dict]]:
    """Parse a smoother spec into one ``(name, options)`` pair per level.

    Parameters
    ----------
    spec : str, tuple, dict or list
        The spec (see the module docstring).  A list gives one spec per
        level, level 1 (the finest) first; a shorter list is extended with
        its last entry.
    J : int
        Number of levels (``>= 1``).
    allowed : iterable of str
        Canonical smoother names of the backend.

    Returns
    -------
    list of (str, dict)
        ``J`` entries, entry ``l - 1`` for level ``l``; every entry has its
        own options dict.

    Raises
    ------
    ValueError
        Unknown names (the message lists the allowed ones), an empty list or
        a list longer than ``J``.
    TypeError
        A spec of the wrong type.
    """
    if isinstance(J, bool) or not isinstance(J, int) or J < 1:
        raise ValueError(f"J (number of levels) must be an int >= 1, got {J!r}")
    allowed = [normalize_name(a) for a in allowed]
    if not allowed:
        raise ValueError("allowed must name at least one smoother")
    if isinstance(spec, list) or (isinstance(spec, tuple) and not _is_pair(spec)):
        specs = list(spec)
        if not specs:
            raise ValueError("a per-level smoother list must not be empty")
        if len(specs) > J:
            raise ValueError(f"the smoother list has {len(specs)} entries but the hierarchy has only J = {J} levels")
        parsed = [parse_one_spec(s, allowed) for s in specs]
        parsed += [parsed[-1]] * (J - len(parsed))
    else:
        parsed = [parse_one_spec(spec, allowed)] * J
    return [(name, dict(opts)) for name, opts in parsed]
