"""Robust defaults benchmark: anisotropic, FEM, non-power-of-two and rectangular problems.

Every mgcore solve uses **default settings** (``MultigridSolver(problem)``:
the smoother, the coarsening and the coarse operators are chosen from the
problem), to rtol 1e-8 on one thread; pyamg Ruge-Stüben (``ruge_stuben_solver``
with its defaults, V-cycle, ``accel=None``) runs on the same matrix in the same
round.  The mgcore cases run in ``--repeats`` interleaved rounds (every case
once per round, so a burst of load hits all alike) and the fastest setup +
solve of each is kept (warm: numba kernels compiled/cached before timing);
the ratios to the isotropic reference of the same size are formed from
these totals.  pyamg runs once per case (3D) or ``--repeats`` times (2D).

Cases: ``anisotropic2d`` eps = 1e-2, 1e-3, 1e-4 at n = 511 (strong coupling
in y) and the same with the strong coupling in x, beside isotropic Poisson
511^2; 3D problems with one strong direction (line smoothing; x and z) and
one weak direction (semi-coarsening; x = ``anisotropic3d`` and z) at
``--n3``^3 beside isotropic Poisson; the P1 FEM Laplacian with both coarse-operator choices; Poisson 1000^2
beside 1023^2 and a 300 x 200 rectangle.

Usage::

    python benchmarks/bench_robust.py               # full (a few minutes)
    python benchmarks/bench_robust.py --quick       # small sizes, seconds

Writes ``benchmarks/results/robust.json`` atomically and prints a table.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

from mgcore.problems import GridProblem, anisotropic2d, poisson  # noqa: E402
from mgcore.sparse import MultigridSolver  # noqa: E402

RTOL = 1e-8


def run_mgcore(problem, b, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        s = MultigridSolver(problem, **kw)
        t1 = time.perf_counter()
        r = s.solve(b, rtol=RTOL, maxiter=100)
        t2 = time.perf_counter()
    return {
        "setup": t1 - t0, "solve": t2 - t1, "total": t2 - t0, "iterations": r.iterations,
        "factor": r.convergence_factor, "reason": r.reason.value, "smoother": s.smoothers[0][0],
        "coarsening": s.coarsening, "coarse": s.coarse, "path": "fast" if s.fast else "sparse",
        "relres": r.residuals[-1] / r.residuals[0],
    }


def run_pyamg(A, b):
    import pyamg

    res: list = []
    t0 = time.perf_counter()
    ml = pyamg.ruge_stuben_solver(A)
    t1 = time.perf_counter()
    x = ml.solve(b, tol=RTOL, maxiter=100, residuals=res)
    t2 = time.perf_counter()
    k = len(res) - 1
    return {
        "setup": t1 - t0, "solve": t2 - t1, "total": t2 - t0, "iterations": k,
        "factor": (res[-1] / res[0]) ** (1 / max(k, 1)), "relres": float(np.linalg.norm(b - A @ x) / np.linalg.norm(b)),
    }


def best(fn, repeats):
    runs = [fn() for _ in range(repeats)]
    return min(runs, key=lambda d: d["total"])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--n2", type=int, default=511)
    ap.add_argument("--n3", type=int, default=127)
    ap.add_argument("--no-pyamg", action="store_true")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "robust.json"))
    args = ap.parse_args(argv)
    n2, n3 = (63, 15) if args.quick else (args.n2, args.n3)
    big, odd = ((63, 62) if args.quick else (1023, 1000))
    cases = [
        ("poisson2d (isotropic)", poisson(2, n2), "iso2"),
        *[(f"anisotropic2d eps={e:g}", anisotropic2d(n=n2, eps=e), "iso2") for e in (1e-2, 1e-3, 1e-4)],
        *[(f"2D strong in x, eps={e:g}", GridProblem((n2, n2), aniso=(1.0, e)), "iso2") for e in (1e-2, 1e-3, 1e-4)],
        ("poisson3d (isotropic)", poisson(3, n3), "iso3"),
        ("3D, one strong direction (1, 0.01, 0.01)", GridProblem((n3,) * 3, aniso=(1.0, 0.01, 0.01)), "iso3"),
        ("3D, one strong direction (0.01, 0.01, 1)", GridProblem((n3,) * 3, aniso=(0.01, 0.01, 1.0)), "iso3"),
        ("3D, one weak direction (0.01, 1, 1)", poisson(3, n3, eps=0.01), "iso3"),
        ("3D, one weak direction (1, 1, 0.01)", GridProblem((n3,) * 3, aniso=(1.0, 1.0, 0.01)), "iso3"),
        ("poisson2d-fem rediscretize", poisson(2, n2, discretization="fem"), None),
        ("poisson2d-fem galerkin", poisson(2, n2, discretization="fem"), None),
        (f"poisson2d {big}^2", poisson(2, big), "big"),
        (f"poisson2d {odd}^2 (not 2^k - 1)", poisson(2, odd), "big"),
        ("poisson2d 300x200 rectangle", GridProblem((30, 20) if args.quick else (300, 200)), None),
    ]
    prepared = []
    for name, p, ref in cases:
        b = p.rhs(1.0)
        kw = {"coarse": "galerkin"} if name.endswith("galerkin") else {}
        run_mgcore(p, b, **kw)  # compile / warm
        prepared.append((name, p, ref, b, kw))
    runs: dict = {name: [] for name, *_ in prepared}
    for _ in range(args.repeats):  # interleaved rounds
        for name, p, ref, b, kw in prepared:
            runs[name].append(run_mgcore(p, b, **kw))
    best_total = {name: min(v, key=lambda d: d["total"]) for name, v in runs.items()}
    iso = {ref: best_total[name]["total"] for name, p, ref, b, kw in prepared
           if "(isotropic)" in name or name == f"poisson2d {big}^2"}
    rows = []
    for name, p, ref, b, kw in prepared:
        mg = best_total[name]
        row = {"case": name, "unknowns": int(np.prod(p.shape)), "mgcore": mg}
        if not args.no_pyamg and ("eps" in name or "direction (1, 0.01" in name or "direction (0.01, 1" in name
                                  or "(isotropic)" in name) and "strong in x" not in name:
            A = p.level_data().matrix()
            row["pyamg_rs"] = best(lambda: run_pyamg(A, b), 1 if p.dim == 3 and not args.quick else args.repeats)
            row["pyamg_over_mgcore"] = row["pyamg_rs"]["total"] / mg["total"]
        if ref in iso and not ("(isotropic)" in name or name == f"poisson2d {big}^2"):
            row["total_over_reference"] = mg["total"] / iso[ref]
        rows.append(row)
        m = row["mgcore"]
        line = (f"{name:<42} {row['unknowns']:>9} {m['smoother']:>9} {m['coarsening']:>5} {m['path']:>6} "
                f"{m['iterations']:>4} {m['factor']:7.4f} {m['reason']:>10} {m['total']:8.3f}s")
        if "total_over_reference" in row:
            line += f"  x{row['total_over_reference']:.2f} of reference"
        if "pyamg_rs" in row:
            line += f"  | pyamg RS {row['pyamg_rs']['iterations']:>3} it {row['pyamg_rs']['total']:7.2f}s ({row['pyamg_over_mgcore']:.1f}x)"
        print(line, flush=True)
    out = {"rtol": RTOL, "threads": 1, "repeats": args.repeats, "rows": rows}
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(args.out), suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(out, fh, indent=1)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
