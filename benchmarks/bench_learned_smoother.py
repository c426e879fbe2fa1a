"""Learned stencil smoothers vs damped Jacobi and red-black Gauss-Seidel, trained small, used large.

For each problem class (anisotropic ``-(eps u_xx + u_yy)`` with random
``eps`` and direction; coefficient jumps on random rectangles) the script
trains, in the same run, the smoother variants

* ``learned-3x3``: one ``3x3`` stencil on all points (started at damped
  Jacobi; replaces it, more work per step),
* ``learned-rb``: red-black ``1x1`` weights, two sweeps (started at red-black
  Gauss-Seidel; the same work per step as the smoother it replaces),
* ``learned-rb-3x3``: a ``3x3`` stencil per colour (more work per step),

on ``--train-size`` grids (:func:`mgcore_torch.learn.train_smoother`), then
solves held-out problems of the class at the training size and at
``--sizes`` (default 255 and 1023) with every smoother in
:class:`mgcore.sparse.MultigridSolver` (assembled sparse path for all, V(2,2),
to ``rtol`` 1e-8; every hierarchy coarsened to ``--coarse-size`` unknowns,
default 9 as in training) and reports per run: V-cycles, the asymptotic factor (last
5 cycles), its LFA prediction (constant coefficients), time per cycle, work
per cycle (multiply-adds per fine unknown, ideal implementation) and the
work per digit of accuracy -- the equal-work comparison; then a summary
(geometric means over the held-out problems) with the ratios of the learned
smoothers to Jacobi and red-black Gauss-Seidel, and the generalisation
ratio ``factor(largest n) / factor(training size)``.  Zebra line Gauss-Seidel
(the solvers' default for anisotropic problems) is listed for reference.

Timings come from one shared machine (few cores, other jobs running);
compare the ratios of one run, not absolute times.  Writes
``benchmarks/results/learned_smoother.json`` and the trained files next to it.

Examples
--------
::

    python benchmarks/bench_learned_smoother.py --quick          # ~2 min smoke run
    python benchmarks/bench_learned_smoother.py                  # trained at 31, evaluated at 31, 255, 1023
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from mgcore_torch.learn import ProblemClass, StencilParameters, TrainConfig, save_stencil_smoother  # noqa: E402
from mgcore_torch.learn import train_smoother, training_factor  # noqa: E402
from mgcore_torch.learn.evaluate import evaluate_smoothers, format_rows  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "learned_smoother.json"
CLASSES = {
    "anisotropic2d": dict(kind="anisotropic2d", eps_range=(1e-3, 1.0)),
    "variable2d": dict(kind="variable2d", contrast_range=(1.0, 1e4)),
}
VARIANTS = {
    "learned-3x3": dict(kernel_size=3),
    "learned-rb": dict(kernel_size=1, colours="red-black", sweeps=2),
    "learned-rb-3x3": dict(kernel_size=3, colours="red-black"),
}


def _geo(values):
    v = [x for x in values if x is not None and math.isfinite(x) and x > 0]
    return math.exp(sum(math.log(x) for x in v) / len(v)) if v else float("nan")


def summarise(rows, smoothers):
    """Per (size, smoother): geometric means over the held-out problems on which every point smoother
    converges at a finite rate (factor < 1), so that all smoothers are compared on the same problems;
    mean cycles over the problems every smoother solved to rtol within maxiter."""
    point = [s for s in smoothers if s != "line-gs"]
    out = []
    for n in sorted({r["n"] for r in rows}):
        at = [r for r in rows if r["n"] == n]
        probs = sorted({r["problem"] for r in at})
        by = {(r["problem"], r["smoother"]): r for r in at}
        common = [p for p in probs if all((p, s) in by and math.isfinite(by[p, s]["work_per_digit"]) for s in point)]
        solved = [p for p in common if all(by[p, s]["converged"] for s in point)]
        for s in smoothers:
            sel = [by[p, s] for p in common if (p, s) in by]
            if not sel:
                continue
            out.append({
                "n": n, "smoother": s, "problems": len(sel), "of": len(probs),
                "factor": _geo(r["factor"] for r in sel),
                "work_per_cycle": float(np.mean([r["work_per_cycle"] for r in sel])),
                "work_per_digit": _geo(r["work_per_digit"] for r in sel),
                "mean_cycles": float(np.mean([by[p, s]["cycles"] for p in solved])) if solved else None,
                "solved": len(solved),
                "seconds_per_cycle": float(np.mean([r["seconds_per_cycle"] for r in sel])),
            })
    return out


def format_summary(summary, learned):
    head = (f"{'n':>5} {'smoother':<15} {'probs':>5} {'factor':>7} {'cycles':>7} {'work/cyc':>8} {'work/digit':>10} "
            f"{'vs jacobi':>9} {'vs rbgs':>8}")
    lines = [head, "-" * len(head)]
    for s in summary:
        ref = {r["smoother"]: r for r in summary if r["n"] == s["n"]}
        ratio_j = s["work_per_digit"] / ref["jacobi"]["work_per_digit"] if "jacobi" in ref else float("nan")
        ratio_r = s["work_per_digit"] / ref["rbgs"]["work_per_digit"] if "rbgs" in ref else float("nan")
        cyc = f"{s['mean_cycles']:.1f}" if s["mean_cycles"] is not None else "-"
        rj = f"{ratio_j:.2f}" if s["smoother"] in learned else ""
        rr = f"{ratio_r:.2f}" if s["smoother"] in learned else ""
        probs = f"{s['problems']}/{s['of']}"
        lines.append(f"{s['n']:>5} {s['smoother']:<15} {probs:>5} {s['factor']:>7.3f} {cyc:>7} "
                     f"{s['work_per_cycle']:>8.1f} {s['work_per_digit']:>10.0f} {rj:>9} {rr:>8}")
    lines.append("(geometric means over the held-out problems on which every point smoother converges at a finite "
                 "rate (probs); cycles: mean over those every smoother solved to rtol; vs: ratio of the work per "
                 "digit, < 1 means the learned smoother needs less work)")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smoke run: train at 15 for 10 steps, evaluate at 15 and 63")
    ap.add_argument("--classes", nargs="+", choices=sorted(CLASSES), default=sorted(CLASSES))
    ap.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    ap.add_argument("--train-size", type=int, default=31)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--problems", type=int, default=8, help="training problems per class")
    ap.add_argument("--lr", type=float, default=0.02)
    ap.add_argument("--sizes", type=int, nargs="+", default=[255, 1023])
    ap.add_argument("--eval-problems", type=int, default=3, help="held-out problems per class")
    ap.add_argument("--maxiter", type=int, default=60)
    ap.add_argument("--coarse-size", type=int, default=9,
                    help="training and evaluation hierarchies coarsen to this many unknowns (default 9: the same "
                         "V-cycle depth rule at every size, so the training size is a V-cycle too)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-line-gs", action="store_true", help="skip the zebra line Gauss-Seidel reference rows")
    ap.add_argument("--output", default=str(DEFAULT_OUT))
    ap.add_argument("--from-json", metavar="FILE", default=None,
                    help="print the tables of a saved run (its JSON) again, recomputing the summaries; no training")
    args = ap.parse_args(argv)
    if args.from_json:
        return reprint(Path(args.from_json))
    if args.quick:
        args.train_size, args.steps, args.problems, args.sizes, args.eval_problems, args.maxiter = 15, 10, 4, [63], 2, 40
    torch.set_num_threads(args.threads)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": {"platform": platform.platform(), "python": platform.python_version(),
                           "torch": torch.__version__, "threads": args.threads,
                           "note": "shared machine; compare ratios within this run"},
               "args": vars(args), "classes": {}}
    t_all = time.perf_counter()
    for cname in args.classes:
        kw = dict(CLASSES[cname])
        pclass = ProblemClass(kw.pop("kind"), **kw)
        held = pclass.sample(args.eval_problems, np.random.default_rng(args.seed + 1))
        smoothers = {"jacobi": "jacobi", "rbgs": "rbgs"}
        trained = {}
        print(f"\n=== {cname}: {pclass.to_dict()} ===")
        for vname in args.variants:
            params = StencilParameters(**VARIANTS[vname])
            cfg = TrainConfig(size=args.train_size, steps=args.steps, problems=args.problems, lr=args.lr, seed=args.seed,
                              coarse_size=args.coarse_size)
            res = train_smoother(pclass, params, cfg)
            path = out.parent / f"learned_smoother_{cname}_{vname}.npz"
            save_stencil_smoother(res.spec, str(path))
            smoothers[vname] = {"name": "stencil", "file": str(path)}
            held_f = training_factor(held, res.spec, args.train_size, coarse_size=args.coarse_size)
            trained[vname] = {"file": str(path), "describe": res.spec.describe(), "train_seconds": res.seconds,
                              "pool_initial": res.initial, "pool_final": res.final, "held_out_factor": held_f,
                              "history": res.history, "kernels": np.asarray(res.spec.kernels).tolist()}
            print(f"{vname:<15} trained in {res.seconds:6.1f} s: pool factor {res.initial:.4f} -> {res.final:.4f}, "
                  f"held-out (torch, n={args.train_size}) {held_f:.4f}")
        for base in ("jacobi", "rbgs"):
            f = training_factor(held, base, args.train_size, coarse_size=args.coarse_size)
            print(f"{base:<15} held-out (torch, n={args.train_size}) {f:.4f}")
        if cname == "anisotropic2d" and not args.no_line_gs:
            smoothers["line-gs"] = ("line-gs", {"order": "red-black"})
        sizes = sorted({args.train_size, *args.sizes})
        rows = evaluate_smoothers(held, sizes, {k: v for k, v in smoothers.items() if k != "line-gs"},
                                  maxiter=args.maxiter, seed=args.seed, coarse_size=args.coarse_size,
                                  progress=lambda r: print(f"  {r['problem']:<24} n={r['n']:<5} {r['smoother']:<15} "
                                                           f"cycles {r['cycles']:>3}{'' if r['converged'] else '+'} "
                                                           f"factor {r['factor']:.3f}", flush=True))
        if "line-gs" in smoothers:
            rows += _line_rows(held, sizes, args)
        print()
        print(format_rows(rows))
        summary = summarise(rows, list(smoothers))
        print()
        print(format_summary(summary, list(trained)))
        big = max(sizes)
        gen = {}
        for vname in trained:
            f_small = [r["factor"] for r in rows if r["smoother"] == vname and r["n"] == args.train_size]
            f_big = [r["factor"] for r in rows if r["smoother"] == vname and r["n"] == big]
            gen[vname] = [b / a for a, b in zip(f_small, f_big)]
            print(f"generalisation {vname}: factor(n={big}) / factor(n={args.train_size}) per problem "
                  + ", ".join(f"{g:.2f}" for g in gen[vname]))
        payload["classes"][cname] = {"problem_class": pclass.to_dict(), "held_out": [s.to_dict() for s in held],
                                     "trained": trained, "rows": rows, "summary": summary, "generalisation": gen}
    payload["seconds"] = time.perf_counter() - t_all
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=True))
    tmp.replace(out)  # atomic on POSIX
    print(f"\nwrote {out} ({payload['seconds']:.0f} s in all)")
    return 0


def reprint(path: Path) -> int:
    """The per-run tables and summaries of a saved run (the summaries recomputed and stored back)."""
    payload = json.loads(path.read_text())
    for cname, c in payload["classes"].items():
        rows, trained = c["rows"], list(c["trained"])
        smoothers = ["jacobi", "rbgs", *trained] + (["line-gs"] if any(r["smoother"] == "line-gs" for r in rows) else [])
        print(f"\n=== {cname}: {c['problem_class']} ===")
        for v, t in c["trained"].items():
            print(f"{v:<15} trained in {t['train_seconds']:6.1f} s: pool factor {t['pool_initial']:.4f} -> "
                  f"{t['pool_final']:.4f}, held-out (torch) {t['held_out_factor']:.4f}")
        print(format_rows(rows))
        c["summary"] = summarise(rows, smoothers)
        print()
        print(format_summary(c["summary"], trained))
        for v, g in c["generalisation"].items():
            print(f"generalisation {v}: factor(largest n) / factor(training n) per problem "
                  + ", ".join(f"{x:.2f}" for x in g))
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, allow_nan=True))
    tmp.replace(path)
    return 0


def _line_rows(held, sizes, args):
    """Zebra line Gauss-Seidel (reference, not a point smoother): same solver path and measurements."""
    import warnings

    from mgcore.sparse import MultigridSolver

    rows = []
    for sample in held:
        for n in sizes:
            problem = sample.problem(n)
            b = np.random.default_rng(args.seed).standard_normal(problem.level_data().size)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                solver = MultigridSolver(problem, smoother=("line-gs", {"order": "red-black"}), fast=False,
                                         coarse_size=args.coarse_size)
                solver.solve(b, rtol=1e-8, maxiter=1)
                t0 = time.perf_counter()
                res = solver.solve(b, rtol=1e-8, maxiter=args.maxiter)
                sec = time.perf_counter() - t0
            r = [float(v) for v in res.residuals]
            k = min(5, len(r) - 1)
            factor = (r[-1] / r[-1 - k]) ** (1.0 / k) if k > 0 and r[-1 - k] > 0 else float("nan")
            rows.append({"problem": sample.label(), "n": n, "smoother": "line-gs", "converged": bool(res.converged),
                         "cycles": int(res.iterations), "factor": factor, "seconds": sec,
                         "seconds_per_cycle": sec / max(res.iterations, 1), "work_per_cycle": float("nan"),
                         "work_per_digit": float("nan"), "lfa": None})
    return rows


if __name__ == "__main__":
    sys.exit(main())
