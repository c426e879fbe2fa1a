"""Fixed-kernel torch multigrid vs the sparse multigrid on 2D and 3D Poisson.

Solves ``-Delta u = 1`` (5-point / 7-point stencil, Dirichlet, He & Xu, MgNet, 2019, eq. 5.3-5.5)
with V(2,2) red-black Gauss-Seidel cycles to ``rtol`` (default 1e-8) with

* :class:`mgcore_torch.linear.TorchMultigridSolver` (conv / stencil
  operators in torch, CPU or CUDA, float64 / float32 / mixed precision), and
* :class:`mgcore.sparse.MultigridSolver` (default path: matrix-free compiled
  kernels where available), or, where that solver cannot be built, a
  reference hierarchy of scipy CSR matrices run by the same core cycle
  (labelled ``scipy-csr``),

and prints a table (setup, solve, seconds per cycle, iterations, convergence
factor, ratio of the torch seconds per cycle to the sparse ones, measured in
the same run, best of ``--repeat``) and writes JSON to
``benchmarks/results/torch_solver.json``.

Examples
--------
CPU table (2D n = 255, 511, 1023 and 3D n = 63, 127; 1 and 2 torch threads)::

    python benchmarks/bench_torch_solver.py
    python benchmarks/bench_torch_solver.py --sizes 511 1023 --sizes3d 63 127 --precision float64
    python benchmarks/bench_torch_solver.py --quick

GPU target (one 4095^2 solve; no sparse comparison)::

    python benchmarks/bench_torch_solver.py --size 4095 --device cuda --precision mixed
    python benchmarks/bench_torch_solver.py --size 4095 --device cuda --precision float64 --cuda-graph
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from mgcore.cycles import cycle as core_cycle  # noqa: E402
from mgcore.hierarchy import Hierarchy, Level  # noqa: E402
from mgcore.iterations import Smoother  # noqa: E402
from mgcore.solve import stationary_solve  # noqa: E402
from mgcore.problems import poisson  # noqa: E402
from mgcore.sparse.transfers import prolongation, restriction  # noqa: E402
from mgcore_torch.linear import TorchMultigridSolver, level_data_list  # noqa: E402

DEFAULT_OUT = ROOT / "benchmarks" / "results" / "torch_solver.json"


# ----------------------------------------------------------------------------- scipy fallback
class _CSR:
    def __init__(self, M):
        self.M = M.tocsr()

    def __call__(self, x):
        return self.M @ x


class _DenseInv:
    def __init__(self, A):
        self.inv = np.linalg.inv(A.toarray())

    def __call__(self, f):
        return self.inv @ f


class _RedBlack(Smoother):
    def __init__(self, diag, shape, post):
        parity = sum(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")).ravel() % 2
        red = (parity == 0).astype(float)
        masks = (1 - red, red) if post else (red, 1 - red)
        self.w = [m / diag for m in masks]

    def smooth(self, A, f, u, nu):
        for _ in range(nu):
            for w in self.w:
                u = w * f if u is None else u + w * (f - A(u))
        return u


class _ScipyReference:
    """CSR operators + numpy red-black GS + dense coarse solve, run by the core cycle."""

    name = "scipy-csr"

    def __init__(self, problem):
        t0 = time.perf_counter()
        levels = []
        datas = level_data_list(problem)
        for l, d in enumerate(datas):
            A = d.matrix()
            last = l == len(datas) - 1
            levels.append(
                Level(
                    A=_CSR(A), B=_RedBlack(A.diagonal(), d.shape, False), B_post=_RedBlack(A.diagonal(), d.shape, True),
                    R=None if last else _CSR(restriction(d.shape, d.bc)), P=None if last else _CSR(prolongation(d.shape, d.bc)),
                    coarse_solve=_DenseInv(A) if last else None, shape=d.shape,
                )
            )
        self.hierarchy = Hierarchy(levels)
        self.setup_seconds = time.perf_counter() - t0

    def solve(self, b, rtol):
        t0 = time.perf_counter()
        A = self.hierarchy.levels[0].A
        h = self.hierarchy

        def step(x):
            return core_cycle(h, b, x, "V", 2, 2)

        def norm(x):
            return float(np.linalg.norm(b if x is None else b - A(x)))

        res = stationary_solve(step, norm, None, rtol=rtol, maxiter=100)
        res.solve_seconds = time.perf_counter() - t0
        return res


def sparse_solver(problem, threads):
    """The sparse backend's solver, or the scipy reference when it cannot be built."""
    try:
        from mgcore.sparse import MultigridSolver

        s = MultigridSolver(problem, smoother="rbgs", nu=(2, 2), threads=threads)
        s.name = "sparse-fast" if getattr(s, "fast", False) else "sparse"
        return s, None
    except Exception as exc:  # the sparse solver may be unavailable in a partial checkout
        return _ScipyReference(problem), f"{type(exc).__name__}: {exc}"


# ----------------------------------------------------------------------------- timing
def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_torch(problem, b, device, precision, rtol, repeat, cuda_graph):
    dev = torch.device(device)
    _sync(dev) if dev.type == "cuda" else None
    t0 = time.perf_counter()
    solver = TorchMultigridSolver(problem, smoother="rbgs", nu=(2, 2), device=dev, precision=precision, cuda_graph=cuda_graph)
    bt = torch.as_tensor(b).reshape(problem.shape).to(device=dev, dtype=solver.dtype)
    _sync(dev)
    setup = time.perf_counter() - t0
    best = None
    for i in range(repeat + 1):  # the first run warms up (and captures graphs on CUDA)
        _sync(dev)
        t0 = time.perf_counter()
        res = solver.solve(bt, rtol=rtol, maxiter=100)
        _sync(dev)
        dt = time.perf_counter() - t0
        if i > 0 or repeat == 0:
            best = dt if best is None else min(best, dt)
    return setup, best, res


def time_sparse(problem, b, threads, rtol, repeat):
    t0 = time.perf_counter()
    solver, why = sparse_solver(problem, threads)
    setup = time.perf_counter() - t0
    best = None
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        res = solver.solve(b, rtol=rtol) if why is None else solver.solve(b, rtol)
        dt = time.perf_counter() - t0
        if i > 0 or repeat == 0:
            best = dt if best is None else min(best, dt)
    return solver.name, why, setup, best, res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="*", default=[255, 511, 1023], help="2D grid sizes n (2^k - 1)")
    ap.add_argument("--sizes3d", type=int, nargs="*", default=[63, 127], help="3D grid sizes n (2^k - 1)")
    ap.add_argument("--size", type=int, default=None, help="a single grid size (e.g. 4095 on a GPU); skips the sparse solver")
    ap.add_argument("--device", default="cpu", help="torch device: cpu or cuda")
    ap.add_argument("--precision", nargs="+", default=["float64", "mixed"], choices=["float64", "float32", "mixed"],
                    help="torch arithmetic(s); mixed = float32 cycles in float64 residual refinement")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2], help="torch.set_num_threads values")
    ap.add_argument("--rtol", type=float, default=1e-8)
    ap.add_argument("--repeat", type=int, default=3, help="timed solves per case (best is reported)")
    ap.add_argument("--cuda-graph", action="store_true", help="capture one cycle as a CUDA graph (CUDA only)")
    ap.add_argument("--no-sparse", action="store_true", help="skip the sparse solver")
    ap.add_argument("--quick", action="store_true", help="short run: n = 255 and 511, 1 thread, 1 repeat")
    ap.add_argument("--output", default=str(DEFAULT_OUT))
    args = ap.parse_args(argv)

    cases = [(2, n) for n in args.sizes] + [(3, n) for n in args.sizes3d]
    if args.quick:
        cases, args.threads, args.repeat = [(2, 255), (2, 511), (3, 63)], [1], 1
    skip_sparse = args.no_sparse
    if args.size is not None:
        cases, skip_sparse = [(2, args.size)], True
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        ap.error("--device cuda requested but torch.cuda.is_available() is False")
    device_name = torch.cuda.get_device_name(torch.device(args.device)) if args.device.startswith("cuda") else platform.processor() or "cpu"

    rows = []
    header = f"{'dim':>3} {'n':>6} {'thr':>3} {'backend':<12} {'precision':<9} {'setup s':>8} {'solve s':>8} {'s/cycle':>8} {'iters':>5} {'factor':>7} {'torch/sparse':>12}"
    print(f"# Poisson (2D 5-point, 3D 7-point), V(2,2) RB-GS, rtol={args.rtol:g}, device={args.device} ({device_name}), torch {torch.__version__}")
    print(header)
    print("-" * len(header))
    notes = set()
    for threads in args.threads:
        torch.set_num_threads(threads)
        for dim, n in cases:
            problem = poisson(dim, n)
            b = problem.rhs(1.0)
            s_solve = None
            if not skip_sparse:
                name, why, s_setup, s_solve, s_res = time_sparse(problem, b, threads, args.rtol, args.repeat)
                if why:
                    notes.add(f"sparse solver unavailable ({why}); compared with the scipy CSR reference")
                srec = {
                    "dim": dim, "n": n, "threads": threads, "backend": name, "device": "cpu", "precision": "float64",
                    "setup_seconds": s_setup, "solve_seconds": s_solve, "iterations": s_res.iterations,
                    "convergence_factor": s_res.convergence_factor, "converged": s_res.converged,
                    "seconds_per_cycle": s_solve / max(s_res.iterations, 1),
                }
                rows.append(srec)
                print(f"{dim:>3} {n:>6} {threads:>3} {name:<12} {'float64':<9} {s_setup:8.3f} {s_solve:8.3f} {srec['seconds_per_cycle']:8.4f} "
                      f"{s_res.iterations:>5} {s_res.convergence_factor:7.4f} {'':>12}")
            for precision in args.precision:
                setup, solve, res = time_torch(problem, b, args.device, precision, args.rtol, args.repeat, args.cuda_graph)
                rec = {
                    "dim": dim, "n": n, "threads": threads, "backend": "torch", "device": args.device, "precision": precision,
                    "cuda_graph": bool(args.cuda_graph and args.device.startswith("cuda")), "setup_seconds": setup,
                    "solve_seconds": solve, "iterations": res.iterations, "convergence_factor": res.convergence_factor,
                    "converged": res.converged, "seconds_per_cycle": solve / max(res.iterations, 1),
                }
                ratio = ""
                if s_solve is not None:
                    # per cycle, so that the ratio is at equal cycles even if the counts differ
                    rec["ratio_to_sparse"] = rec["seconds_per_cycle"] / srec["seconds_per_cycle"]
                    rec["ratio_solve_to_sparse"] = solve / s_solve
                    ratio = f"{rec['ratio_to_sparse']:12.2f}"
                rows.append(rec)
                print(f"{dim:>3} {n:>6} {threads:>3} {'torch':<12} {precision:<9} {setup:8.3f} {solve:8.3f} {rec['seconds_per_cycle']:8.4f} "
                      f"{res.iterations:>5} {res.convergence_factor:7.4f} {ratio}")
    for note in sorted(notes):
        print(f"note: {note}")
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "torch fixed-kernel multigrid vs sparse multigrid, 2D/3D Poisson, V(2,2) RB-GS",
        "ratio": "torch seconds per cycle / sparse seconds per cycle (same run, best of --repeat)",
        "rtol": args.rtol, "torch": torch.__version__, "device": args.device, "device_name": device_name,
        "cpu_count": os.cpu_count(), "time": time.strftime("%Y-%m-%d %H:%M:%S"), "notes": sorted(notes), "results": rows,
    }
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2))
    tmp.replace(out)  # atomic on POSIX
    print(f"wrote {out}")
    return payload


if __name__ == "__main__":
    main()
