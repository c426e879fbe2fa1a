"""``mgcore verify``: every identity of the seed papers that mgcore implements, on random instances.

Each registered check (:mod:`mgcore.verify.registry`) is run on ``examples``
random instances drawn from ``seed``; the report lists per check the
identity, its reference, the backend, the number of instances, the largest
error, the tolerance and pass/fail.  The property tests in
``tests/properties`` run the very same check functions on hypothesis
instances (:meth:`Check.strategy`, :meth:`Check.assert_holds`).

Adding an identity is one decorated function (see
:func:`mgcore.verify.registry.register`) in a module listed in
:data:`~mgcore.verify.registry.CHECK_MODULES`.

Examples
--------
>>> from mgcore.verify import run_checks, format_table
>>> results = run_checks(["thm-6.1/sparse", "poly-factors/core"], examples=3, seed=0)
>>> [r.passed for r in results]
[True, True]
>>> print(format_table(results).splitlines()[0].split())  # doctest: +NORMALIZE_WHITESPACE
['check', 'identity', 'reference', 'backend', 'instances', 'max', 'error', 'tolerance', 'result']
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import sys
import time
import zlib
from dataclasses import asdict, dataclass, field
from typing import Any, Sequence

from .registry import CHECK_MODULES, Check, CheckFailure, Measure, all_checks, get_check, register

__all__ = [
    "Check", "CheckFailure", "Measure", "register", "get_check", "all_checks", "CHECK_MODULES",
    "CheckResult", "run_check", "run_checks", "format_table", "add_arguments", "run_verify", "DEFAULT_EXAMPLES",
]

#: Random instances per check when ``--examples`` is not given.
DEFAULT_EXAMPLES = 20


@dataclass
class CheckResult:
    """The outcome of one check over its instances.

    ``max_error`` and ``tolerance`` are those of the worst measure (largest
    ``error / tol``) over all instances; ``status`` is ``"pass"``,
    ``"FAIL"`` (a measure over tolerance or an exception) or ``"skip"``
    (a required module such as torch is missing).
    """

    name: str
    identity: str
    reference: str
    backend: str
    instances: int
    max_error: float
    tolerance: float
    status: str
    seconds: float
    worst_measure: str = ""
    failure: str = ""
    measures: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["passed"] = self.passed
        for k in ("max_error", "tolerance"):
            if not math.isfinite(d[k]):
                d[k] = str(d[k])
        d["measures"] = {w: {"max_error": e if math.isfinite(e) else str(e), "tolerance": t}
                         for w, (e, t) in self.measures.items()}
        return d


def _rng(seed: int, name: str):
    import numpy as np

    # per-check stream: adding or removing a check does not change the others' instances
    return np.random.default_rng([int(seed), zlib.crc32(name.encode())])


def run_check(check: Check, examples: int = DEFAULT_EXAMPLES, seed: int = 0) -> CheckResult:
    """Run ``check`` on ``examples`` random instances (one if it is deterministic; at most ``check.max_examples``)."""
    t0 = time.perf_counter()
    base = dict(name=check.name, identity=check.identity, reference=check.reference, backend=check.backend)
    missing = check.missing()
    if missing:
        return CheckResult(**base, instances=0, max_error=math.nan, tolerance=math.nan, status="skip", seconds=0.0,
                           failure=f"needs {', '.join(missing)} (pip install 'mgcore[all]')")
    rng = _rng(seed, check.name)
    n = 1 if check.deterministic else int(examples)
    if check.max_examples is not None:
        n = min(n, check.max_examples)
    worst: Measure | None = None
    per: dict[str, tuple[float, float]] = {}
    failure = ""
    done = 0
    for i in range(n):
        params = check.sample(rng)
        try:
            measures = check.run(params)
        except Exception as exc:  # a crash is a failure of the identity, reported with its instance
            failure = f"instance {i} {params!r}: {type(exc).__name__}: {exc}"
            done += 1
            worst = Measure(f"raised {type(exc).__name__}", math.nan, math.nan)
            break
        done += 1
        for m in measures:
            e0, t0_ = per.get(m.what, (0.0, m.tol))
            e = m.error if math.isnan(m.error) else max(e0, m.error)
            per[m.what] = (e, m.tol)
            if worst is None or (m.ratio, m.tol > 0, m.error) > (worst.ratio, worst.tol > 0, worst.error):
                worst = m
            if not m.ok and not failure:
                failure = f"instance {i} {params!r}: {m.what}: error {m.error:.3e} > tol {m.tol:.1e}"
    status = "FAIL" if failure else "pass"
    assert worst is not None
    return CheckResult(**base, instances=done, max_error=float(worst.error), tolerance=float(worst.tol), status=status,
                       seconds=time.perf_counter() - t0, worst_measure=worst.what, failure=failure, measures=per)


def select(patterns: Sequence[str] | None = None, backends: Sequence[str] | None = None) -> list[Check]:
    """The registered checks whose name matches one of ``patterns`` (shell-style) and whose backend is in ``backends``.

    Raises
    ------
    ValueError
        If a pattern matches no check (the message lists the names).
    """
    checks = all_checks()
    if patterns:
        chosen = []
        for p in patterns:
            hit = [c for c in checks if fnmatch.fnmatch(c.name, p) or c.name == p]
            if not hit:
                raise ValueError(f"--only {p!r} matches no check; known: {', '.join(c.name for c in checks)}")
            chosen += [c for c in hit if c not in chosen]
        checks = [c for c in checks if c in chosen]
    if backends:
        checks = [c for c in checks if any(b in c.backend for b in backends)]
    return checks


def run_checks(names: Sequence[str] | None = None, examples: int = DEFAULT_EXAMPLES, seed: int = 0,
               backends: Sequence[str] | None = None, progress: Any = None) -> list[CheckResult]:
    """Run the selected checks (all by default; names may be shell patterns) and return their results."""
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise ValueError(f"examples must be an int >= 1, got {examples!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0, got {seed!r}")
    out = []
    for c in select(names, backends):
        r = run_check(c, examples, seed)
        if progress is not None:
            progress(r)
        out.append(r)
    return out


def _fmt(x: float) -> str:
    if isinstance(x, float) and math.isnan(x):
        return "-"
    if x == 0:
        return "0"
    return f"{x:.1e}"


def format_table(results: Sequence[CheckResult]) -> str:
    """The results as a plain-text table (one row per check) with a closing summary line."""
    head = ("check", "identity", "reference", "backend", "instances", "max error", "tolerance", "result")
    rows = [(r.name, r.identity, r.reference, r.backend, str(r.instances), _fmt(r.max_error),
             _fmt(r.tolerance), r.status) for r in results]
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(head)]

    def line(cells):
        parts = []
        for i, (c, w) in enumerate(zip(cells, widths)):
            c = c if len(c) <= w else c[: w - 1] + "…"
            parts.append(c.rjust(w) if i in (4, 5, 6) else c.ljust(w))
        return "  ".join(parts).rstrip()

    lines = [line(head), line(["-" * w for w in widths])]
    lines += [line(row) for row in rows]
    n_fail = sum(r.status == "FAIL" for r in results)
    n_skip = sum(r.status == "skip" for r in results)
    lines.append("")
    for r in results:
        if r.status != "pass" and r.failure:
            lines.append(f"{r.status} {r.name}: {r.failure}")
    total = sum(r.seconds for r in results)
    lines.append(f"verify: {len(results) - n_fail - n_skip} checks passed, {n_fail} failed, {n_skip} skipped; "
                 f"{sum(r.instances for r in results)} instances in {total:.1f} s")
    return "\n".join(lines)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``mgcore verify`` (no heavy import)."""
    p.add_argument("--examples", type=int, default=DEFAULT_EXAMPLES,
                   help=f"random instances per check (default {DEFAULT_EXAMPLES}; deterministic checks run once)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random instances (default 0)")
    p.add_argument("--only", action="append", metavar="NAME", default=None,
                   help="run only checks whose name matches (shell pattern, e.g. 'thm-6.1/*'); repeatable")
    p.add_argument("--backend", action="append", choices=["core", "sparse", "torch"], default=None,
                   help="run only checks of this backend (repeatable)")
    p.add_argument("--list", action="store_true", help="list the checks and exit")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def run_verify(args: argparse.Namespace) -> int:
    """``mgcore verify``: 0 when every selected check passes (skips allowed), 1 otherwise."""
    import os

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):  # small instances: threads only add overhead
        os.environ.setdefault(var, "1")
    if args.list:
        for c in select(args.only, args.backend):
            print(f"{c.name:<28} {c.backend:<15} {c.reference}")
        return 0
    t0 = time.perf_counter()
    progress = None
    if not args.json and sys.stderr.isatty():
        def progress(r):
            print(f"  {r.status:<4} {r.name} ({r.seconds:.1f} s)", file=sys.stderr)
    results = run_checks(args.only, examples=args.examples, seed=args.seed, backends=args.backend, progress=progress)
    failed = [r for r in results if r.status == "FAIL"]
    if args.json:
        print(json.dumps({"seed": args.seed, "examples": args.examples, "passed": not failed,
                          "seconds": time.perf_counter() - t0, "checks": [r.to_dict() for r in results]}))
    else:
        print(format_table(results))
    return 1 if failed else 0
