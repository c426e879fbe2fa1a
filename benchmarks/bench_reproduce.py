"""The full reproduction run of ``mgcore reproduce`` (the seed papers' tables), as a benchmark script.

Two runs of :func:`mgcore_torch.reproduce.reproduce`: every row of every table
on the digits data (2 seeds, a 3 s training budget per model and seed), and
three tables on a Fashion-MNIST subset (3000 training images at 14x14, 1 seed, 10 s); each writes its report
(``report.md``, one PNG per table, ``report.json``) to
``benchmarks/results/reproduce/<data set>/``.  Prints a summary: the
parameter-count agreement and, per table, the mean measured accuracy beside
the mean paper accuracy (their ratio), and writes it to
``benchmarks/results/reproduce.json``.  A shared CPU makes the times
indicative only.

Usage::

    python benchmarks/bench_reproduce.py                 # full run (about 10 min on one busy core)
    python benchmarks/bench_reproduce.py --quick         # the CI settings
    python benchmarks/bench_reproduce.py --device cuda --budget 30 --seeds 3 --fashion-tables all   # on a GPU
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgcore_torch.reproduce import reproduce  # noqa: E402


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the CI settings of mgcore reproduce --quick")
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "reproduce"))
    ap.add_argument("--seeds", type=int, default=2, help="seeds per model on digits")
    ap.add_argument("--budget", type=float, default=3.0, help="training seconds per model and seed on digits")
    ap.add_argument("--fashion-tables", default="hxzz-table10,poly-table3,cbms-hat",
                    help="tables also run on Fashion-MNIST ('all', or 'none' to skip)")
    ap.add_argument("--fashion-seeds", type=int, default=1)
    ap.add_argument("--fashion-budget", type=float, default=10.0)
    ap.add_argument("--fashion-train", type=int, default=3000)
    ap.add_argument("--fashion-test", type=int, default=1000)
    ap.add_argument("--fashion-size", type=int, default=14, help="image size (28 = full resolution)")
    ap.add_argument("--only", choices=["digits", "fashion-mnist"], default=None, help="run one of the two parts")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    cmd = "python benchmarks/bench_reproduce.py " + " ".join(argv if argv is not None else sys.argv[1:])
    runs = {}
    if args.quick:
        runs["digits"] = reproduce(Path(args.out) / "digits", quick=True, command=cmd.strip())
    else:
        if args.only in (None, "digits"):
            runs["digits"] = reproduce(Path(args.out) / "digits", budget=args.budget, seeds=args.seeds,
                                       datasets=("digits",), threads=args.threads, device=args.device,
                                       command=cmd.strip())
        if args.fashion_tables != "none" and args.only in (None, "fashion-mnist"):
            tables = None if args.fashion_tables == "all" else tuple(args.fashion_tables.split(","))
            runs["fashion-mnist"] = reproduce(
                Path(args.out) / "fashion-mnist", budget=args.fashion_budget, seeds=args.fashion_seeds,
                datasets=("fashion-mnist",), tables=tables, threads=args.threads, device=args.device,
                fashion_train=args.fashion_train, fashion_test=args.fashion_test,
                fashion_size=None if args.fashion_size == 28 else args.fashion_size, command=cmd.strip())
    rep = next(iter(runs.values()))
    counts = rep["counts"]
    status = {s: sum(c["status"] == s for c in counts) for s in sorted({c["status"] for c in counts})}
    print(f"\nparameter counts: {len(counts)} rows: " + ", ".join(f"{k} {v}" for k, v in status.items()))
    print(f"{'data set':<14} {'table':<14} {'rows':>4} {'measured acc':>13} {'paper acc':>10} {'ratio':>6} {'s':>7}")
    summary = []
    for d, run in runs.items():
        for exp in run["experiments"]:
            paper = [r["paper"] for r in exp["rows"] if r["paper"] is not None]
            pm = statistics.fmean(paper) if paper else float("nan")
            acc = statistics.fmean(r["measured"][d]["mean"] for r in exp["rows"])
            sec = sum(r["measured"][d]["seconds"] for r in exp["rows"])
            ratio = acc / pm if paper else float("nan")
            print(f"{d:<14} {exp['key']:<14} {len(exp['rows']):>4} {acc:>13.2f} {pm:>10.2f} {ratio:>6.3f} {sec:>7.1f}")
            summary.append(dict(dataset=d, key=exp["key"], rows=len(exp["rows"]), measured_mean=acc, paper_mean=pm,
                                ratio=ratio, seconds=sec))
    total = time.perf_counter() - t0
    print(f"total {total:.1f} s (shared machine); reports in {args.out}/<data set>/report.md")
    result = dict(benchmark="reproduce", settings={d: r["settings"] for d, r in runs.items()}, count_status=status,
                  tables=summary, seconds=total)
    out = Path(__file__).parent / "results" / "reproduce.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)  # atomic on POSIX
    return result


if __name__ == "__main__":
    main()
