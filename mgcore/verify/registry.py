"""The check registry of :mod:`mgcore.verify`: one entry per identity and backend.

A check is a plain function ``check(**params) -> list[Measure]``; the
:func:`register` decorator adds it under a name together with what it
proves (``identity``), where the mathematics comes from (``reference``), the
backend it runs in and the parameter domains of its random instances
(:mod:`mgcore.testing`).  The same function is registered once per backend
by stacking decorators with different ``fixed`` arguments.

``mgcore verify`` draws the instances with numpy from ``--seed``; the
property tests in ``tests/properties`` draw them with hypothesis from the
same domains (:meth:`Check.strategy`) and call :meth:`Check.assert_holds`,
so the command and the tests share one implementation of every check.

This module imports neither numpy nor torch.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping

__all__ = ["Measure", "Check", "register", "get_check", "all_checks", "load_checks", "CHECK_MODULES", "CheckFailure"]

#: Modules whose import registers checks.  A new identity is one decorated
#: function in one of these (or in a module appended here).
CHECK_MODULES = [
    "mgcore.verify.checks_polynomials",
    "mgcore.verify.checks_conv",
    "mgcore.verify.checks_cycles",
    "mgcore.verify.checks_networks",
    "mgcore.verify.checks_analysis",
]

_REGISTRY: dict[str, "Check"] = {}
_LOADED = False


class CheckFailure(AssertionError):
    """A check's measure exceeded its tolerance (raised by :meth:`Check.assert_holds`)."""


@dataclass(frozen=True)
class Measure:
    """One measured error of a check and the tolerance it must not exceed.

    ``error <= tol`` passes; NaN fails.  Structural facts (a list has J
    entries, an iterate is not zero) are measures with error ``0`` (true) or
    ``inf`` (false) and tolerance ``0``: see :meth:`fact`.
    """

    what: str
    error: float
    tol: float

    @property
    def ok(self) -> bool:
        e = float(self.error)
        return not math.isnan(e) and e <= self.tol

    @property
    def ratio(self) -> float:
        """``error / tol`` (0 for an exact fact); the worst measure of a check has the largest."""
        e = float(self.error)
        if math.isnan(e):
            return math.inf
        if self.tol == 0:
            return 0.0 if e == 0 else math.inf
        return e / self.tol

    @classmethod
    def fact(cls, what: str, holds: bool) -> "Measure":
        """A yes/no condition as a measure (error 0 if it holds, inf otherwise; tolerance 0)."""
        return cls(what, 0.0 if holds else math.inf, 0.0)


@dataclass(frozen=True)
class Check:
    """A registered identity check (see :func:`register`)."""

    name: str
    identity: str
    reference: str
    backend: str
    func: Callable[..., Iterable[Measure]]
    params: Mapping[str, Any] = field(default_factory=dict)
    fixed: Mapping[str, Any] = field(default_factory=dict)
    requires: tuple = ()
    deterministic: bool = False
    statement: str = ""
    max_examples: int | None = None

    def missing(self) -> list[str]:
        """The required modules that cannot be imported here (e.g. ``["torch"]``)."""
        return [m for m in self.requires if importlib.util.find_spec(m) is None]

    def sample(self, rng: Any) -> dict:
        """One random instance (parameters) drawn with the numpy generator ``rng``."""
        return {k: d.sample(rng) for k, d in self.params.items()}

    def strategy(self) -> Any:
        """The hypothesis strategy of this check's instances (dicts of parameters)."""
        from ..testing import from_domains

        return from_domains(self.params)

    def run(self, params: Mapping[str, Any] | None = None) -> list[Measure]:
        """Run the check on one instance and return its measures."""
        kwargs = dict(self.fixed)
        kwargs.update(params or {})
        measures = list(self.func(**kwargs))
        if not measures:
            raise RuntimeError(f"check {self.name!r} measured nothing")
        return measures

    def assert_holds(self, params: Mapping[str, Any] | None = None) -> list[Measure]:
        """Run on one instance; raise :class:`CheckFailure` naming every measure over its tolerance."""
        measures = self.run(params)
        bad = [m for m in measures if not m.ok]
        if bad:
            lines = "; ".join(f"{m.what}: error {m.error:.3e} > tol {m.tol:.1e}" for m in bad)
            raise CheckFailure(f"{self.name} ({self.reference}) fails for {dict(params or {})!r}: {lines}")
        return measures


def register(name: str, *, identity: str, reference: str, backend: str, params: Mapping[str, Any] | None = None,
             fixed: Mapping[str, Any] | None = None, requires: Iterable[str] = (), deterministic: bool = False,
             statement: str = "", max_examples: int | None = None):
    """Decorator: register ``func`` as the check ``name``.

    Parameters
    ----------
    name : str
        Unique id, ``"<identity>/<backend>"`` by convention (e.g. ``"thm-6.1/sparse"``).
    identity : str
        What is checked, in a few words (a column of the table).
    reference : str
        Author, title, year and equation/theorem number.
    backend : str
        ``"core"``, ``"sparse"``, ``"torch"`` or ``"torch = sparse"`` (a cross-backend identity).
    params : dict of mgcore.testing.Domain
        Domains of the random parameters.
    fixed : dict
        Constant keyword arguments (e.g. ``{"backend": "torch"}`` to register one
        function for several backends).
    requires : iterable of str
        Importable modules the check needs (``"torch"``, ``"pyamg"``); without
        them ``mgcore verify`` lists the row as skipped.
    deterministic : bool
        No random parameters: run once, whatever ``--examples`` says.
    statement : str
        The identity in full (JSON); default ``func``'s docstring summary, else ``identity``.
    max_examples : int, optional
        Cap on the instances ``mgcore verify`` runs (for expensive checks).
    """

    def deco(func):
        if name in _REGISTRY and _REGISTRY[name].func is not func:
            raise ValueError(f"a check named {name!r} is already registered")
        _REGISTRY[name] = Check(name=name, identity=identity, reference=reference, backend=backend, func=func,
                                params=dict(params or {}), fixed=dict(fixed or {}), requires=tuple(requires),
                                deterministic=deterministic or not params,
                                statement=statement or (func.__doc__ or "").strip().split("\n\n")[0] or identity,
                                max_examples=max_examples)
        return func

    return deco


def load_checks() -> None:
    """Import every module of :data:`CHECK_MODULES` (idempotent).

    A module that cannot be imported because an optional dependency is
    missing is skipped; its checks are then absent.
    """
    global _LOADED
    if _LOADED:
        return
    for mod in CHECK_MODULES:
        try:
            importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name and not mod.startswith(exc.name) and exc.name.split(".")[0] in ("torch", "pyamg", "hypothesis"):
                continue
            raise
    _LOADED = True


def all_checks() -> list[Check]:
    """All registered checks, in registration order."""
    load_checks()
    return list(_REGISTRY.values())


def get_check(name: str) -> Check:
    """The check registered as ``name``; ``KeyError`` lists the known names."""
    load_checks()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no check named {name!r}; known: {', '.join(_REGISTRY)}") from None
