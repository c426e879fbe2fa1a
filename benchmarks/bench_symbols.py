"""Exact spectra of multi-channel periodic convolutions: Fourier symbols vs the assembled operator.

The eigenvalues (and singular values) of a ``C x C x 3 x 3`` convolution on an
``n x n`` periodic grid, computed two ways in the same run:

* ``symbol``: :func:`mgcore.analysis.conv_eigenvalues` -- one ``C x C``
  eigenproblem per frequency, half of them for a real kernel (conjugate
  symmetry), batched through LAPACK;
* ``dense``: ``numpy.linalg.eigvals`` of the assembled ``C n^2`` operator
  (:func:`mgcore.analysis.conv_matrix`), the alternative -- only where it fits
  (``C n^2 <= 4096`` by default).

Prints a table (seconds, the ratio dense/symbol and the largest difference of
the matched spectra) and writes ``benchmarks/results/symbols.json``
atomically.  ``--wide`` adds the 256-channel layer at ``n = 32`` (514
eigenproblems of size 256: minutes on one CPU core).  Timings are wall-clock
seconds of the best of ``--repeats`` runs in this process, on whatever machine
runs it (state it with the figures).

Usage: ``python benchmarks/bench_symbols.py [--wide] [--repeats N] [--threads T]``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = [(4, 8), (8, 8), (16, 8), (4, 16), (32, 8), (64, 16), (64, 32), (128, 16), (256, 8)]
WIDE = [(128, 32), (256, 16), (256, 32)]


def _best(fn, repeats):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def _matched(a, b):
    import numpy as np
    from scipy.optimize import linear_sum_assignment

    cost = np.abs(a.ravel()[:, None] - b.ravel()[None, :])
    i, j = linear_sum_assignment(cost)
    return float(cost[i, j].max())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--wide", action="store_true", help="add 128/256-channel layers at n = 16, 32 (slow on a CPU)")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--max-dense", type=int, default=4096, help="largest C n^2 for the dense alternative")
    ap.add_argument("--threads", type=int, default=1, help="BLAS threads per LAPACK call (set before numpy loads)")
    ap.add_argument("--workers", type=int, default=None,
                    help="threads solving chunks of frequencies concurrently (default: one per CPU core)")
    ap.add_argument("--out", default=str(Path(__file__).with_name("results") / "symbols.json"))
    args = ap.parse_args(argv)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)
    import numpy as np

    from mgcore.analysis import conv_eigenvalues, conv_matrix, conv_singular_values

    rng = np.random.default_rng(0)
    rows = []
    wk = args.workers
    print(f"symbol solves on {wk or 'all available'} worker thread(s), {args.threads} BLAS thread(s) each; "
          "'single' = complex64 LAPACK")
    print(f"{'C':>4} {'n':>4} {'eigs':>8} {'symbol s':>9} {'single s':>9} {'svd s':>8} {'svd sgl s':>9} "
          f"{'dense s':>9} {'dense/symbol':>12} {'max diff':>9}")
    for C, n in CASES + (WIDE if args.wide else []):
        W = rng.standard_normal((C, C, 3, 3)) / np.sqrt(9 * C)
        t_sym, lam = _best(lambda: conv_eigenvalues(W, n, workers=wk), args.repeats)
        t_sgl, lam1 = _best(lambda: conv_eigenvalues(W, n, workers=wk, precision="single"), args.repeats)
        t_svd, sv = _best(lambda: conv_singular_values(W, n, workers=wk), args.repeats)
        t_svd1, sv1 = _best(lambda: conv_singular_values(W, n, workers=wk, precision="single"), args.repeats)
        row = {"C": C, "n": n, "eigenvalues": int(lam.size), "symbol_s": t_sym, "single_s": t_sgl, "svd_s": t_svd,
               "svd_single_s": t_svd1, "svd_single_max_rel_diff": float(np.abs(sv1 - sv).max() / sv.max()),
               "eigenproblems": int((n * n + 2) // 2 + 1)}
        if C * n * n <= args.max_dense:
            M = conv_matrix(W, n).toarray()
            t_dense, dense = _best(lambda: np.linalg.eigvals(M), 1)
            row.update(dense_s=t_dense, ratio=t_dense / t_sym, max_diff=_matched(lam, dense))
        rows.append(row)
        d = row.get("dense_s")
        dense_txt = "        -           -         -" if d is None else (
            f"{d:9.3f} {row['ratio']:12.1f} {row['max_diff']:9.1e}")
        print(f"{C:>4} {n:>4} {lam.size:>8} {t_sym:9.3f} {t_sgl:9.3f} {t_svd:8.3f} {t_svd1:9.3f} {dense_txt}")
    out = {"machine": platform.platform(), "processor": platform.processor(), "python": platform.python_version(),
           "numpy": np.__version__, "threads": args.threads,
           "workers": wk or len(os.sched_getaffinity(0)), "repeats": args.repeats, "rows": rows}
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".symbols-", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(out, fh, indent=1)
    os.replace(tmp, path)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
