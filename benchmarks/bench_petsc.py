"""PETSc backend on MPI ranks: strong and weak scaling, time per unknown against mgcore's compiled path.

Solves the 7-point Poisson problem ``-Delta u = 1`` (Dirichlet) with
:class:`mgcore.petsc.PetscMultigridSolver` (DMDA + PCMG, V(2,2) cycles to
``rtol = 1e-8``) under ``mpiexec`` in fresh processes, and in this process
with :class:`mgcore.sparse.MultigridSolver` on its compiled matrix-free path
(red-black Gauss-Seidel, and Jacobi) on the same grid:

* **strong scaling**: ``poisson3d`` ``n = 127`` (2.05 M unknowns) on 1 and 2 ranks;
* **weak scaling**: about 1 M unknowns per rank at a fixed mesh width
  ``h = 1/128``: grid ``127 x 127 x 63`` on 1 rank (the box
  ``[0,1] x [0,1] x [0,1/2]``), ``127^3`` on 2 ranks (the unit cube);
* **correctness on 4 ranks** (oversubscribed on a 2-core machine, not timed):
  the residual history of 4 ranks against 1 for Jacobi and Chebyshev;
* **communication per cycle**: PETSc's ``-log_view`` of the solve stage on 2
  ranks (messages, bytes and reductions per cycle, time in ``MatMult`` /
  ``MatSOR`` / scatters), the evidence for the estimate of a 10^9-unknown
  solve printed at the end (see ``docs/petsc.md``).

Times: solve wall-clock (rank 0, between barriers), best of ``--repeats``
solves after the setup, in seconds and in nanoseconds per unknown and
cycle; ratios to mgcore's compiled path in the same run.  This machine has
2 cores shared with other work, so 2 ranks compete with whatever else runs.

Examples
--------
::

    python benchmarks/bench_petsc.py            # all tables, writes benchmarks/results/petsc.json
    python benchmarks/bench_petsc.py --quick    # n = 63 / smaller weak-scaling grids (a smoke run)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "benchmarks" / "results"


def mpi_env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "ORTE_", "OPAL_"))}
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_btl_vader_single_copy_mechanism="none", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
        OMPI_MCA_mpi_yield_when_idle="1",  # a waiting rank yields its core (the machine is shared)
    )
    env.pop("PETSC_OPTIONS", None)
    return env


# ------------------------------------------------------------------------------ worker (under mpiexec)
def worker(cfg: dict) -> None:
    import numpy as np

    from mgcore.petsc import PetscMultigridSolver, import_petsc
    from mgcore.problems import GridProblem

    PETSc = import_petsc()
    comm = PETSc.COMM_WORLD
    problem = GridProblem(tuple(cfg["shape"]), bc="dirichlet", name="poisson3d")
    import resource

    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    comm.barrier()
    t0 = time.perf_counter()
    solver = PetscMultigridSolver(problem, smoother=cfg["smoother"], nu=(2, 2), cycle="V")
    comm.barrier()
    setup = time.perf_counter() - t0
    b = solver.rhs(1.0)
    best, res = float("inf"), None
    stage = PETSc.Log.Stage("mgcore solve")
    for _ in range(cfg["repeats"]):
        comm.barrier()
        stage.push()
        t0 = time.perf_counter()
        res = solver.solve(b, rtol=cfg["rtol"], maxiter=50, gather="root" if cfg.get("keep_x") else "none")
        comm.barrier()
        dt = time.perf_counter() - t0
        stage.pop()
        best = min(best, dt)
    out = {
        "ranks": comm.getSize(), "shape": cfg["shape"], "smoother": cfg["smoother"], "setup_seconds": setup,
        "solve_seconds": best, "iterations": res.iterations, "convergence_factor": res.convergence_factor,
        "converged": res.converged, "residuals": res.residuals, "levels": solver.J,
        "n_unknowns": solver.fine.size, "local_unknowns_rank0": solver.fine.nlocal,
        "rss_bytes_per_unknown": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - rss0) / solver.fine.nlocal,
    }
    if cfg.get("keep_x") and comm.getRank() == 0:
        out["x_sample"] = np.asarray(res.x)[:: max(1, res.x.size // 2000)].tolist()
    if comm.getRank() == 0:
        print("RESULT " + json.dumps(out), flush=True)


def run_petsc(ranks: int, cfg: dict, log_view: str | None = None) -> dict:
    env = mpi_env()
    if log_view:
        env["PETSC_OPTIONS"] = f"-log_view :{log_view}"
    cmd = ["mpiexec", "-n", str(ranks), sys.executable, __file__, "--worker", json.dumps(cfg)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=1800)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd[:4])} failed:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


# ------------------------------------------------------------------------------ mgcore compiled path
def run_compiled(shape: tuple, smoother: str, repeats: int, rtol: float) -> dict:
    from mgcore.problems import GridProblem
    from mgcore.sparse import MultigridSolver

    problem = GridProblem(tuple(shape), bc="dirichlet", name="poisson3d")
    t0 = time.perf_counter()
    solver = MultigridSolver(problem, smoother=smoother, nu=(2, 2), cycle="V", fast=True)
    setup = time.perf_counter() - t0
    b = problem.rhs(1.0)
    solver.solve(b, rtol=rtol, maxiter=50)  # compile / warm caches
    best, res = float("inf"), None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = solver.solve(b, rtol=rtol, maxiter=50)
        best = min(best, time.perf_counter() - t0)
    return {"ranks": 1, "shape": list(shape), "smoother": smoother, "setup_seconds": setup, "solve_seconds": best,
            "iterations": res.iterations, "convergence_factor": res.convergence_factor, "converged": res.converged,
            "n_unknowns": int(solver.n_unknowns if hasattr(solver, "n_unknowns") else b.size), "path": "compiled"}


# ------------------------------------------------------------------------------ -log_view parsing
_EVENTS = ("MatMult", "MatMultAdd", "MatMultTranspose", "MatSOR", "MatResidual", "VecScatterBegin", "VecScatterEnd",
           "VecNorm", "VecAXPY", "VecAYPX", "VecPointwiseMult", "PCApply", "KSPSolve", "MatLUFactorNum",
           "PCSetUp", "MatPtAP")


def parse_log_view(text: str, stage: str = "mgcore solve") -> dict:
    """Stage totals and per-event rows (count, max time, messages, average length, reductions) of one stage."""
    out: dict = {"stage": stage, "events": {}}
    m = re.search(r"^\s*\d+:\s+" + re.escape(stage) + r":\s+(.*)$", text, re.M)
    if m:
        v = m.group(1).split()
        # time avg, %, flop avg, %, messages count, %, length avg, %, reductions count, %
        out["time"], out["messages"], out["avg_length"], out["reductions"] = float(v[0]), float(v[4]), float(v[6]), float(v[8])
    sec = re.search(r"--- Event Stage \d+: " + re.escape(stage) + r"\s*\n(.*?)(?:\n--- Event Stage|\n-{20,}\n\nObject Type|\Z)",
                    text, re.S)
    if sec:
        for line in sec.group(1).splitlines():
            parts = line.split()
            if len(parts) >= 11 and parts[0] in _EVENTS:
                try:
                    out["events"][parts[0]] = {
                        "count": int(parts[1]), "time_max": float(parts[3]), "messages": float(parts[7]),
                        "avg_length": float(parts[8]), "reductions": float(parts[9]),
                    }
                except ValueError:
                    continue
    return out


# ------------------------------------------------------------------------------ estimate
def estimate_1e9(per_cycle_ns: float, msgs_per_neighbour_level: float, cycles: int, rss_bytes_per_unknown: float,
                 alpha: float = 2e-6, beta: float = 10e9) -> dict:
    """A paper model of the V(2,2) solve of ``1023^3`` (1.07e9) unknowns on 512 ranks (an 8^3 process grid).

    * compute: the measured 1-rank PETSc time per fine unknown and cycle (all levels included) times the
      local fine size (128^3 unknowns per rank): memory-bound stencil work scales with the local size;
    * halo exchange: per level and cycle each rank sends ``msgs_per_neighbour_level`` messages (measured on
      2 ranks with -log_view: smoothing sweeps, residual, restriction, interpolation) to each of its 6
      neighbours, one face of the local box each: ``alpha`` per message plus ``8 * side^2 / beta``;
    * the residual norm: one allreduce per cycle, ``log2(P)`` latencies;
    * the coarsest level (7^3): PCREDUNDANT gathers it on every rank and solves by LU (an allgather and two
      triangular solves of a 343-unknown factor).

    ``alpha`` (2 us) and ``beta`` (10 GB/s) are an InfiniBand-class network's latency and bandwidth.
    """
    import math

    P, n_fine = 512, 1023
    local_side = [128, 64, 32, 16, 8, 4, 2, 1]  # per level: the local box edge on an 8^3 process grid
    local_n = local_side[0] ** 3
    t_comp = per_cycle_ns * 1e-9 * local_n
    halo = []
    for side in local_side[:-1]:  # the coarsest level is the redundant direct solve
        m = 6 * msgs_per_neighbour_level
        halo.append(m * alpha + m * 8.0 * side * side / beta)
    t_halo = sum(halo)
    t_red = math.log2(P) * alpha
    t_coarse = math.log2(P) * alpha + 4e-5  # allgather of 343 values + triangular solves over ~2e4 factor entries
    total = t_comp + t_halo + t_red + t_coarse
    return {
        "unknowns": n_fine ** 3, "grid": n_fine, "ranks": P, "local_unknowns": local_n, "levels": len(local_side),
        "alpha_s": alpha, "beta_Bps": beta, "msgs_per_neighbour_level": msgs_per_neighbour_level,
        "cycle_compute_s": t_comp, "cycle_halo_s": t_halo, "cycle_halo_per_level_s": halo,
        "cycle_reduction_s": t_red, "cycle_coarse_solve_s": t_coarse, "cycle_total_s": total,
        "cycles": cycles, "solve_s": total * cycles, "parallel_efficiency": t_comp / total,
        "memory_per_rank_GB": rss_bytes_per_unknown * local_n / 1e9,
        "memory_total_TB": rss_bytes_per_unknown * n_fine ** 3 / 1e12,
    }


# ------------------------------------------------------------------------------ driver
def write_json(data: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=str(path.parent))
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)


def _row(r: dict, ref: float | None) -> str:
    n = r["n_unknowns"]
    per = r["solve_seconds"] / (n * max(r["iterations"], 1)) * 1e9
    ratio = f"{r['solve_seconds'] / ref:7.2f}" if ref else "      -"
    shape = "x".join(map(str, r["shape"]))
    return (f"  {r.get('path', 'petsc'):9s} {r['smoother']:13s} {r['ranks']:>5} {shape:>12} {n:>10} {r['setup_seconds']:8.2f} "
            f"{r['solve_seconds']:8.3f} {r['iterations']:>4} {r['convergence_factor']:7.4f} {per:10.1f} {ratio}")


HEADER = (f"  {'path':9s} {'smoother':13s} {'ranks':>5} {'grid':>12} {'unknowns':>10} {'setup s':>8} {'solve s':>8} "
          f"{'its':>4} {'factor':>7} {'ns/(N*it)':>10} {'ratio':>7}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--quick", action="store_true", help="small grids (smoke run)")
    ap.add_argument("--repeats", type=int, default=3, help="solves per run; the fastest is reported (default 3)")
    ap.add_argument("--out", default=str(RESULTS / "petsc.json"), help="JSON output path")
    args = ap.parse_args()
    if args.worker:
        worker(json.loads(args.worker))
        return 0
    import numpy as np

    rtol = 1e-8
    n = 63 if args.quick else 127
    weak = [(1, (n, n, (n - 1) // 2)), (2, (n, n, n))]
    out: dict = {"machine": "2 shared cores (other work running)", "load_average_start": os.getloadavg(),
                 "rtol": rtol, "repeats": args.repeats,
                 "strong": [], "weak": [], "compiled": [], "correctness_4_ranks": {}, "log_view": {}}

    print(f"== strong scaling: 3D Poisson {n}^3, V(2,2) to rtol {rtol:g}; ratio = solve time / mgcore compiled rbgs ==")
    print(HEADER)
    comp = {sm: run_compiled((n, n, n), sm, args.repeats, rtol) for sm in ("rbgs", "jacobi")}
    out["compiled"] = list(comp.values())
    ref = comp["rbgs"]["solve_seconds"]
    for r in comp.values():
        print(_row(r, ref))
    for sm in ("gauss-seidel", "chebyshev", "jacobi"):
        for ranks in (1, 2):
            r = run_petsc(ranks, {"shape": [n, n, n], "smoother": sm, "repeats": args.repeats, "rtol": rtol})
            out["strong"].append(r)
            print(_row(r, ref), flush=True)

    print(f"\n== weak scaling: h = 1/{n + 1}, ~{n * n * (n - 1) // 2 / 1e6:.2f} M unknowns per rank; "
          "ratio = solve time / the same smoother on 1 rank ==")
    print(HEADER)
    for sm in ("gauss-seidel", "chebyshev"):
        base = None
        for ranks, shape in weak:
            r = run_petsc(ranks, {"shape": list(shape), "smoother": sm, "repeats": args.repeats, "rtol": rtol})
            base = base or r["solve_seconds"]
            out["weak"].append(r)
            print(_row(r, base), flush=True)

    print("\n== correctness on 4 ranks (oversubscribed, not timed): residual history against 1 rank ==")
    m = 63 if not args.quick else 31
    for sm in ("jacobi", "chebyshev", "gauss-seidel"):
        cfg = {"shape": [m, m, m], "smoother": sm, "repeats": 1, "rtol": rtol, "keep_x": True}
        h1, h4 = run_petsc(1, cfg), run_petsc(4, cfg)
        k = min(len(h1["residuals"]), len(h4["residuals"]))
        d = max(abs(a - b) for a, b in zip(h1["residuals"][:k], h4["residuals"][:k])) / h1["residuals"][0]
        dx = float(np.abs(np.array(h1["x_sample"]) - np.array(h4["x_sample"])).max() / np.abs(h1["x_sample"]).max())
        out["correctness_4_ranks"][sm] = {"iterations_1": h1["iterations"], "iterations_4": h4["iterations"],
                                          "max_history_diff_rel": d, "max_x_diff_rel": dx}
        print(f"  {sm:13s} {m}^3: iterations {h1['iterations']} / {h4['iterations']}, "
              f"max |r1_k - r4_k| / r_0 = {d:.1e}, max |x1 - x4| / |x| = {dx:.1e}"
              + ("  (PETSc's SOR is Gauss-Seidel inside each rank's box: rank-dependent)" if sm == "gauss-seidel" else ""))

    print(f"\n== -log_view of the solve stage, 2 ranks, {n}^3 (one solve) ==")
    for sm in ("gauss-seidel", "chebyshev"):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "log.txt")
            r = run_petsc(2, {"shape": [n, n, n], "smoother": sm, "repeats": 1, "rtol": rtol}, log_view=path)
            text = Path(path).read_text()
        lv = parse_log_view(text)
        cyc = max(r["iterations"], 1)
        lv["iterations"] = r["iterations"]
        lv["levels"] = r["levels"]
        if "messages" in lv:
            lv["messages_per_cycle"] = lv["messages"] / cyc
            lv["bytes_per_cycle"] = lv["messages"] * lv["avg_length"] / cyc
            lv["reductions_per_cycle"] = lv["reductions"] / cyc
            lv["messages_per_cycle_per_level"] = lv["messages_per_cycle"] / 2 / max(r["levels"] - 1, 1)
        out["log_view"][sm] = lv
        print(f"  {sm}: {r['iterations']} cycles, {r['levels']} levels; stage: {lv.get('time', float('nan')):.3f} s, "
              f"{lv.get('messages_per_cycle', float('nan')):.0f} messages/cycle (both ranks), "
              f"{lv.get('bytes_per_cycle', float('nan')) / 1e6:.2f} MB/cycle, "
              f"{lv.get('reductions_per_cycle', float('nan')):.1f} reductions/cycle")
        for ev in ("MatSOR", "MatMult", "MatMultAdd", "MatResidual", "VecScatterBegin", "VecScatterEnd", "VecNorm", "PCApply"):
            e = lv["events"].get(ev)
            if e:
                print(f"    {ev:16s} count {e['count']:>6}  max time {e['time_max']:8.4f} s  messages {e['messages']:>8.0f}"
                      f"  avg length {e['avg_length']:>9.0f} B  reductions {e['reductions']:>5.0f}")

    print("\n== paper estimate: one V(2,2) cycle on 10^9 unknowns (docs/petsc.md explains the model) ==")
    gs1 = [r for r in out["strong"] if r["ranks"] == 1 and r["smoother"] == "gauss-seidel"][0]
    per_ns = gs1["solve_seconds"] / (gs1["n_unknowns"] * gs1["iterations"]) * 1e9
    lv = out["log_view"].get("gauss-seidel", {})
    per_neighbour = lv.get("messages_per_cycle_per_level", 6.0)
    est = estimate_1e9(per_ns, per_neighbour, gs1["iterations"], gs1["rss_bytes_per_unknown"])
    out["estimate_1e9"] = est
    print(f"  measured: {per_ns:.0f} ns per unknown and cycle (1 rank, all levels), {per_neighbour:.1f} messages per "
          f"neighbour, level and cycle (2 ranks), {gs1['rss_bytes_per_unknown']:.0f} bytes per unknown")
    print(f"  model: {est['grid']}^3 = {est['unknowns'] / 1e9:.2f}e9 unknowns on {est['ranks']} ranks x "
          f"{est['local_unknowns']} unknowns, {est['levels']} levels: per cycle compute {est['cycle_compute_s'] * 1e3:.0f} ms, "
          f"halo {est['cycle_halo_s'] * 1e3:.2f} ms, norm allreduce {est['cycle_reduction_s'] * 1e6:.0f} us, "
          f"coarse solve {est['cycle_coarse_solve_s'] * 1e6:.0f} us -> {est['cycle_total_s']:.3f} s per cycle, "
          f"{est['solve_s']:.1f} s for {est['cycles']} cycles, efficiency {est['parallel_efficiency']:.1%}, "
          f"{est['memory_per_rank_GB']:.2f} GB per rank ({est['memory_total_TB']:.2f} TB in all)")
    out["load_average_end"] = os.getloadavg()
    print(f"\nload average (1, 5, 15 min) at start {out['load_average_start']}, at end {out['load_average_end']} "
          f"on {os.cpu_count()} cores: parallel timings on a loaded machine measure waiting as much as work")
    write_json(out, Path(args.out))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
