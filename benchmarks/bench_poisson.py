"""Poisson benchmark: mgcore against a fast Poisson solver, pyamg and scipy, side by side.

Solves 2D Poisson (1023^2 ≈ 1.05M unknowns) and 3D Poisson (127^3 ≈ 2.05M) to
rtol 1e-8 on one thread and prints setup/solve/total times, iterations,
convergence factors, the relative residual reached and each solver's total
time as a multiple of mgcore's and of the anchor: the direct fast Poisson
solver by the type-I discrete sine transform (``scipy.fft.dstn``, exact to
round-off, applicable only to the constant-coefficient Dirichlet Laplacian).

All solvers of a case are run in interleaved rounds (each solver once per
round, ``--repeats`` rounds) and the fastest run of each is kept, so a burst
of load on a shared machine affects every solver alike; compare the ratios.
Every run records wall time and CPU time (``time.process_time``; all solvers
run on one thread); the ratios are formed from CPU times, which waiting for a
core on a shared machine does not inflate.

The fresh-process figure runs ``mgcore solve --problem poisson2d --n 1023
--json`` in new processes (the C kernels of :mod:`mgcore._ckernels` loaded from
their cache; beside it the numba kernels loaded from theirs, ``MGCORE_CKERNELS=0``)
and reports the wall time of the whole command, its CPU time and the setup + solve
time the command itself reports; pyamg in a new process is timed beside it.
``--cold`` adds runs with empty kernel caches (the first run after
installation, which compiles the kernels), with the C and the numba kernels.

Optional parts: ``--scaling`` (time per unknown from 255^2 to 4095^2 and 63^3
to 255^3, with a PNG plot), the speed-up on 2 threads, and the peak memory of
the fast path.

Usage::

    python benchmarks/bench_poisson.py              # main table + fresh process + memory + threads
    python benchmarks/bench_poisson.py --scaling    # adds the scaling table and plot
    python benchmarks/bench_poisson.py --quick      # small sizes, seconds
    python benchmarks/bench_poisson.py --fast-only  # mgcore and the DST solver only (no pyamg/scipy)
    python benchmarks/bench_poisson.py --fresh-only --cold --repeats 5  # fresh-process and first-run figures only
    python benchmarks/bench_poisson.py --threads-only   # 1 against 2 threads only
    python benchmarks/bench_poisson.py --scaling-only   # the scaling table and plot only

Writes ``benchmarks/results/poisson.json`` (and ``poisson_scaling.png``).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "2")  # serial kernels unless threads=2 is asked for

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
import scipy.fft as sfft  # noqa: E402
import scipy.sparse.linalg as spla  # noqa: E402

from mgcore.sparse import MultigridSolver, poisson  # noqa: E402

RTOL = 1e-8
RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")


def _rhs(problem):
    rng = np.random.default_rng(0)
    return rng.random(int(np.prod(problem.shape)))


def _relres(A, b, x):
    return float(np.linalg.norm(b - A @ x.ravel()) / np.linalg.norm(b))


def _factor(res):
    res = [r for r in res if r > 0]
    if len(res) < 2:
        return float("nan")
    return (res[-1] / res[0]) ** (1.0 / (len(res) - 1))


def run_mgcore(problem, b, A, fast=None, accel=None, threads=1, smoother=None, nu=(2, 2), cycle="V", label=None,
               **options):
    c0, t0 = time.process_time(), time.perf_counter()
    s = MultigridSolver(problem, fast=fast, threads=threads, smoother=smoother, nu=nu, cycle=cycle, **options)
    t1 = time.perf_counter()
    r = s.solve(b, rtol=RTOL, accel=accel, maxiter=200)
    t2, c2 = time.perf_counter(), time.process_time()
    return dict(solver=label or f"mgcore {'fast' if s.fast else 'sparse'}{' +CG' if accel else ''}",
                setup=t1 - t0, solve=t2 - t1, cpu=c2 - c0, iterations=r.iterations, factor=r.convergence_factor,
                relres=_relres(A, b, r.x), converged=r.converged)


def run_mgcore_unfused(problem, b, A):
    """mgcore fast with the kernels of the previous release: 2D prolongation and 3D
    restriction/prolongation as separate passes, 3D smoothing with stride-2 rows (bitwise
    the same iterates as the fused kernels, so only the time differs)."""
    from mgcore.sparse.structured import smoother as sm

    C = sm.CompiledSmoother
    saved = (C.fusable_post, C.zero_start, C.split_ring)
    ring = C.split_ring
    C.fusable_post = lambda self, nu: False
    C.zero_start = lambda self, nu: False
    C.split_ring = lambda self, nu: None if self.op.dim == 3 else ring(self, nu)
    try:
        return run_mgcore(problem, b, A, label="mgcore fast float64, unfused kernels", precision="float64")
    finally:
        C.fusable_post, C.zero_start, C.split_ring = saved


def dst_eigenvalues(problem):
    """Eigenvalues of the constant-coefficient Dirichlet operator on the DST-I basis (grid-shaped)."""
    data = problem.level_data()
    if data.bc != "dirichlet" or data.uniform is None:
        raise ValueError("the DST solver needs a constant-coefficient Dirichlet problem")
    lam = 0.0
    for ax, (n, c) in enumerate(zip(problem.shape, data.uniform)):
        k = np.arange(1, n + 1)
        shape = [1] * problem.dim
        shape[ax] = n
        lam = lam + (data.scale * c * (2.0 - 2.0 * np.cos(k * np.pi / (n + 1)))).reshape(shape)
    return lam


def run_dst(problem, b, A):
    """The fast Poisson solver: ``x = S^-1 (S b / lambda)`` with the DST-I ``S`` (one worker thread).

    Setup = the eigenvalues; solve = two transforms and a division (exact up to round-off)."""
    c0, t0 = time.process_time(), time.perf_counter()
    lam = dst_eigenvalues(problem)
    t1 = time.perf_counter()
    xh = sfft.dstn(b.reshape(problem.shape), type=1, workers=1)
    xh /= lam
    x = sfft.idstn(xh, type=1, workers=1, overwrite_x=True)
    t2, c2 = time.perf_counter(), time.process_time()
    return dict(solver="scipy.fft DST-I (direct)", setup=t1 - t0, solve=t2 - t1, cpu=c2 - c0, iterations=0,
                factor=float("nan"), relres=_relres(A, b, x), converged=True)


def run_pyamg(A, b, method, accel=None, tol=RTOL):
    import pyamg

    c0, t0 = time.process_time(), time.perf_counter()
    ml = pyamg.ruge_stuben_solver(A) if method == "rs" else pyamg.smoothed_aggregation_solver(A)
    t1 = time.perf_counter()
    res: list = []
    x = ml.solve(b, x0=np.zeros_like(b), tol=tol, residuals=res, accel=accel, maxiter=500)
    t2, c2 = time.perf_counter(), time.process_time()
    name = {"rs": "pyamg Ruge-Stuben", "sa": "pyamg smoothed aggr."}[method]
    return dict(solver=name + (f" +{accel.upper()}" if accel else ""), setup=t1 - t0, solve=t2 - t1, cpu=c2 - c0,
                iterations=len(res) - 1, factor=_factor(res), relres=_relres(A, b, x), converged=_relres(A, b, x) <= 1.01 * tol)


def run_scipy_cg(A, b, maxiter=20000):
    its = [0]

    def cb(xk):
        its[0] += 1

    c0, t0 = time.process_time(), time.perf_counter()
    x, info = spla.cg(A, b, rtol=RTOL, maxiter=maxiter, callback=cb)
    t1, c1 = time.perf_counter(), time.process_time()
    rr = _relres(A, b, x)
    return dict(solver="scipy CG (no precond.)", setup=0.0, solve=t1 - t0, cpu=c1 - c0, iterations=its[0],
                factor=rr ** (1.0 / max(its[0], 1)), relres=rr, converged=info == 0)


def run_superlu(A, b):
    c0, t0 = time.process_time(), time.perf_counter()
    lu = spla.splu(A.tocsc())
    t1 = time.perf_counter()
    x = lu.solve(b)
    t2, c2 = time.perf_counter(), time.process_time()
    return dict(solver="scipy SuperLU", setup=t1 - t0, solve=t2 - t1, cpu=c2 - c0, iterations=0, factor=float("nan"),
                relres=_relres(A, b, x), converged=True)


def warm_up():
    """Compile the kernels (cached on disk after the first run) outside the timings."""
    t0 = time.perf_counter()
    for dim, n in ((2, 15), (3, 7)):
        p = poisson(dim, n)
        for threads in (1, 2):  # the parallel kernels too, so the threads table times no compilation
            MultigridSolver(p, coarse_size=1, threads=threads).solve(_rhs(p), rtol=1e-6, accel="cg")
            MultigridSolver(p, coarse_size=1, threads=threads).solve(_rhs(p), rtol=1e-6)
    return time.perf_counter() - t0


def best_of(repeats, fn, *args, **kwargs):
    """Run ``fn`` ``repeats`` times and keep the run with the smallest total time
    (the same rule for every solver, so machine noise affects all alike)."""
    runs = [fn(*args, **kwargs) for _ in range(max(1, repeats))]
    best = min(runs, key=lambda r: r["cpu"])
    best["repeats"] = len(runs)
    return best


def interleaved(repeats, entries):
    """Best run of each ``(fn, args, kwargs)`` entry over ``repeats`` rounds that
    run every entry once (so load bursts on a shared machine hit all alike)."""
    runs = [[] for _ in entries]
    for _ in range(max(1, repeats)):
        for k, (fn, args, kwargs) in enumerate(entries):
            runs[k].append(fn(*args, **kwargs))
    out = []
    for rs in runs:
        best = min(rs, key=lambda r: r["cpu"])
        best["repeats"] = len(rs)
        best["all_cpu"] = [r["cpu"] for r in rs]
        out.append(best)
    return out


def _supports_mixed():
    import inspect

    return "precision" in inspect.signature(MultigridSolver).parameters


def main_table(cases, skip_slow=False, repeats=3, fast_only=False):
    rows = []
    for dim, n in cases:
        p = poisson(dim, n)
        A = p.level_data().matrix()
        b = _rhs(p)
        case = f"{dim}D {n}^{dim} ({A.shape[0]:,} unknowns)"
        R = repeats
        # "mgcore fast": the defaults (float64 solves run the C mixed-precision step where it covers the problem)
        quick = [(run_mgcore, (p, b, A), {"label": "mgcore fast"})]
        if _supports_mixed():
            quick += [(run_mgcore, (p, b, A), {"label": "mgcore fast float64", "precision": "float64"}),
                      (run_mgcore, (p, b, A), {"label": "mgcore fast float64 fmg", "precision": "float64", "fmg": True}),
                      (run_mgcore, (p, b, A), {"label": "mgcore fast mixed fmg", "precision": "mixed", "fmg": True})]
        quick.append((run_mgcore_unfused, (p, b, A), {}))
        quick += [(run_dst, (p, b, A), {}), (run_mgcore, (p, b, A), {"accel": "cg", "label": "mgcore fast +CG"})]
        runs = interleaved(R, quick)
        if not fast_only:
            runs += [best_of(R, run_mgcore, p, b, A, fast=False),
                     best_of(R, run_pyamg, A, b, "rs"), best_of(R, run_pyamg, A, b, "rs", "cg"),
                     best_of(R, run_pyamg, A, b, "sa"), best_of(R, run_pyamg, A, b, "sa", "cg")]
            if not skip_slow:
                runs.append(run_scipy_cg(A, b))
                if dim == 2:
                    runs.append(run_superlu(A, b))
        ref = runs[0]["cpu"]
        dst = next(r for r in runs if r["solver"].startswith("scipy.fft"))
        for r in runs:
            r["case"] = case
            r["total"] = r["setup"] + r["solve"]
            r["x_mgcore"] = r["cpu"] / ref
            r["x_dst"] = r["cpu"] / dst["cpu"]
        rows += runs
    return rows


def variable_table(n, repeats):
    """variable2d (coefficient jump 1e4) to its attainable accuracy: mgcore defaults beside pyamg RS
    asked for the relative residual mgcore reached (no fast Poisson solver applies)."""
    from mgcore.problems import variable2d

    p = variable2d(n=n)
    A = p.level_data().matrix()
    b = _rhs(p)

    def mg():
        c0, t0 = time.process_time(), time.perf_counter()
        s = MultigridSolver(p)
        r = s.solve(b, rtol=RTOL, maxiter=200)
        t1, c1 = time.perf_counter(), time.process_time()
        return dict(solver=f"mgcore {'fast' if s.fast else 'sparse'} (defaults)", setup=0.0, solve=t1 - t0, cpu=c1 - c0,
                    iterations=r.iterations, factor=r.convergence_factor, relres=_relres(A, b, r.x),
                    converged=r.converged, reason=r.reason.value)

    m = best_of(repeats, mg)
    tol = max(RTOL, m["relres"])
    a = best_of(1, run_pyamg, A, b, "rs", None, tol)
    for r in (m, a):
        r["case"] = f"variable2d {n}^2 (jump 1e4)"
        r["total"] = r["setup"] + r["solve"]
        r["x_mgcore"] = r["cpu"] / m["cpu"]
    return [m, a]


def print_table(rows, title):
    print(f"\n{title}")
    hdr = (f"{'case':<32} {'solver':<26} {'setup s':>8} {'solve s':>8} {'total s':>8} {'cpu s':>8} {'its':>5} "
           f"{'factor':>7} {'relres':>9} {'x mgcore':>9} {'x DST':>7}")
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['case']:<32} {r['solver']:<26} {r['setup']:8.3f} {r['solve']:8.3f} {r['total']:8.3f} {r['cpu']:8.3f} "
              f"{r['iterations']:5d} {r['factor']:7.4f} {r['relres']:9.2e} {r['x_mgcore']:9.2f} {r['x_dst']:7.2f}")


def ratio_summary(rows):
    """Per case: the best mgcore fast total over the DST solver's, and pyamg's over mgcore's."""
    out = []
    for case in dict.fromkeys(r["case"] for r in rows):
        rs = {r["solver"]: r for r in rows if r["case"] == case}
        mg = min((r for k, r in rs.items() if k.startswith("mgcore fast") and "unfused" not in k), key=lambda r: r["cpu"])
        d = dict(case=case, best_mgcore=mg["solver"], best_mgcore_cpu=mg["cpu"],
                 dst_cpu=rs["scipy.fft DST-I (direct)"]["cpu"])
        d["mgcore_over_dst"] = mg["cpu"] / d["dst_cpu"]
        d["default_mgcore_over_dst"] = rs["mgcore fast"]["cpu"] / d["dst_cpu"]
        for key, name in (("pyamg Ruge-Stuben", "rs"), ("pyamg smoothed aggr. +CG", "sa_cg")):
            if key in rs:
                d[f"pyamg_{name}_over_mgcore"] = rs[key]["cpu"] / mg["cpu"]
        out.append(d)
    return out


_CLI = ("import sys; from mgcore.cli import main; sys.exit(main())",)
_PYAMG = (
    "import time, numpy as np, pyamg, json; from mgcore.problems import poisson2d; t0 = time.perf_counter(); "
    "p = poisson2d(n={n}); A = p.level_data().matrix().tocsr(); b = p.rhs(1.0); t1 = time.perf_counter(); "
    "ml = pyamg.ruge_stuben_solver(A); x = ml.solve(b, tol=1e-8, maxiter=100); t2 = time.perf_counter(); "
    "print(json.dumps(dict(setup_seconds=t2 - t1, solve_seconds=0.0)))"
)


def _child_env(cache_dir=None, **extra):
    """Environment of a child process; ``cache_dir``: empty numba and C kernel caches (a first run)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    if cache_dir is not None:
        env["NUMBA_CACHE_DIR"] = os.path.join(cache_dir, "numba")
        env["MGCORE_CACHE_DIR"] = os.path.join(cache_dir, "mgcore")
    env.update(extra)
    return env


def _timed_child(code, argv, env):
    """Wall and CPU seconds of one new Python process, and the JSON it printed last."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime)
    if out.returncode not in (0,):
        raise RuntimeError(f"child failed ({out.returncode}): {out.stderr[-2000:]}")
    d = json.loads(out.stdout.strip().splitlines()[-1])
    return dict(wall=wall, cpu=cpu, reported=d.get("setup_seconds", 0.0) + d.get("solve_seconds", 0.0),
                iterations=d.get("iterations"), stderr=out.stderr.strip(), kernels=d.get("kernels", "numba"))


def fresh_process(n=1023, repeats=3, cold=False, extra=()):
    """``mgcore solve --problem poisson2d --n N --json`` in new processes (best of ``repeats``), pyamg beside it."""
    argv = ["solve", "--problem", "poisson2d", "--n", str(n), "--json", *extra]
    numba = {"MGCORE_CKERNELS": "0"}  # the numba kernels (what runs without a C compiler)
    variants = [("mgcore solve (warm kernel cache)", _CLI[0], argv, {}),
                ("mgcore solve, numba kernels (MGCORE_CKERNELS=0)", _CLI[0], argv, numba)]
    if _supports_mixed():
        variants.append(("mgcore solve --dtype float64", _CLI[0], argv + ["--dtype", "float64"], {}))
        variants.append(("mgcore solve --dtype mixed --fmg", _CLI[0], argv + ["--dtype", "mixed", "--fmg"], {}))
    variants.append(("pyamg RS in a new process", _PYAMG.format(n=n), [], {}))
    for label, code, a, ex in variants[:-1]:
        _timed_child(code, a, _child_env(**ex))  # make sure the kernel caches are filled
    rows = []
    runs = {label: [] for label, _, _, _ in variants}
    for _ in range(max(1, repeats)):
        for label, code, a, ex in variants:
            runs[label].append(_timed_child(code, a, _child_env(**ex)))
    for label, rs in runs.items():
        best = min(rs, key=lambda r: r["wall"])
        rows.append(dict(what=label, wall=best["wall"], cpu=min(r["cpu"] for r in rs), reported=best["reported"],
                         iterations=best["iterations"], walls=[r["wall"] for r in rs], kernels=best["kernels"]))
    if cold:
        for label, ex in (("mgcore solve, empty kernel caches (first run)", {}),
                          ("mgcore solve, numba kernels, empty cache (first run)", numba)):
            with tempfile.TemporaryDirectory() as tmp:
                r = _timed_child(_CLI[0], argv, _child_env(tmp, **ex))
            rows.append(dict(what=label, wall=r["wall"], cpu=r["cpu"], reported=r["reported"], iterations=r["iterations"],
                             walls=[r["wall"]], stderr=r["stderr"], kernels=r["kernels"]))
    return rows


def print_fresh(rows, n=1023):
    print(f"\nFresh process: poisson2d n={n} to rtol 1e-8 (best of the runs; wall = whole command)")
    print(f"{'what':<52} {'wall s':>7} {'cpu s':>7} {'reported s':>10} {'its':>4} {'kernels':>8}")
    for r in rows:
        its = "" if r["iterations"] is None else r["iterations"]
        kern = "" if r["what"].startswith("pyamg") else r.get("kernels", "")
        print(f"{r['what']:<52} {r['wall']:7.3f} {r['cpu']:7.3f} {r['reported']:10.3f} {its:>4} {kern:>8}")
        if r.get("stderr"):
            print(f"    stderr: {r['stderr']}")


def memory_figure(dim, n):
    """Peak traced allocation of setup + solve on the fast path vs the solution vector."""
    p = poisson(dim, n)
    b = _rhs(p)
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    s = MultigridSolver(p)
    s.solve(b, rtol=RTOL)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    sol = b.nbytes
    all_levels = sum(int(np.prod(l.shape)) for l in s.levels) * 8
    return dict(case=f"{dim}D {n}^{dim}", peak_bytes=peak, solution_bytes=sol, all_levels_bytes=all_levels,
                peak_over_solution=peak / sol, peak_over_all_levels=peak / all_levels, path="fast" if s.fast else "sparse")


def threads_table(cases, repeats=5):
    """1 thread against 2 threads, interleaved rounds, best wall time (setup + solve) of each; one untimed run
    of each first (the threaded kernels compile for the sizes whose blocks they use)."""
    rows = []
    for dim, n in cases:
        p = poisson(dim, n)
        A = p.level_data().matrix()
        b = _rhs(p)
        for threads in (1, 2):
            run_mgcore(p, b, A, threads=threads, precision="float64")
        runs = {1: [], 2: []}
        for _ in range(repeats):
            for threads in (1, 2):
                runs[threads].append(run_mgcore(p, b, A, threads=threads, precision="float64"))
        one, two = (min(runs[t], key=lambda r: r["setup"] + r["solve"]) for t in (1, 2))
        k1, k2 = (_fine_pass_seconds(p, b, t) for t in (1, 2))
        rows.append(dict(case=f"{dim}D {n}^{dim}", t1=one["setup"] + one["solve"], t2=two["setup"] + two["solve"],
                         iterations1=one["iterations"], iterations2=two["iterations"], repeats=repeats,
                         speedup=(one["setup"] + one["solve"]) / (two["setup"] + two["solve"]),
                         pass1=k1, pass2=k2, pass_speedup=k1 / k2))
    return rows


def _fine_pass_seconds(p, b, threads, calls=20):
    """Best time of the finest level's fused pre-smoothing + restriction pass (nu = 2), called back to back."""
    from mgcore.sparse.structured import build_structured_levels

    L = build_structured_levels(p, p.levels(), threads=threads)[0]
    F = np.ascontiguousarray(np.reshape(b, p.shape), dtype=np.float64)
    U = L._buffer()  # the level's own iterate buffer: no copy into it
    U[...] = np.random.default_rng(0).random(p.shape)
    L.smooth_restrict(F, U, 2)
    best = float("inf")
    for _ in range(calls):
        t0 = time.perf_counter()
        L.smooth_restrict(F, U, 2)
        best = min(best, time.perf_counter() - t0)
    return best


def print_threads(thr):
    print("\nThreads (fast path, precision='float64', setup + solve wall time, best of interleaved rounds)")
    for t in thr:
        print(f"{t['case']:<14} 1 thread {t['t1']:.3f} s   2 threads {t['t2']:.3f} s   speed-up {t['speedup']:.2f}x"
              f"   ({t['iterations1']} / {t['iterations2']} cycles);   finest pre-smoothing + restriction pass, back "
              f"to back: {t['pass1'] * 1e3:.2f} -> {t['pass2'] * 1e3:.2f} ms ({t['pass_speedup']:.2f}x)")


def scaling(sizes2d, sizes3d, pyamg_cap):
    rows = []
    for dim, sizes in ((2, sizes2d), (3, sizes3d)):
        for n in sizes:
            p = poisson(dim, n)
            N = n**dim
            A = p.level_data().matrix()
            b = _rhs(p)
            def best(fn, *a, **kw):  # the faster of two runs (the first of a size also pays first touches)
                return min((fn(*a, **kw) for _ in range(2)), key=lambda r: r["cpu"])

            runs = [best(run_mgcore, p, b, A, label="mgcore fast")]
            if _supports_mixed():
                runs.append(best(run_mgcore, p, b, A, label="mgcore fast float64", precision="float64"))
                runs.append(best(run_mgcore, p, b, A, label="mgcore fast mixed fmg", precision="mixed", fmg=True))
            runs.append(best(run_dst, p, b, A))
            if N <= pyamg_cap:
                runs += [run_pyamg(A, b, "rs"), run_pyamg(A, b, "sa", "cg")]
            for r in runs:
                rows.append(dict(dim=dim, n=n, unknowns=N, solver=r["solver"], total=r["setup"] + r["solve"], cpu=r["cpu"],
                                 us_per_unknown=1e6 * r["cpu"] / N, iterations=r["iterations"]))
            del A
    return rows


def plot_scaling(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, dim in zip(axes, (2, 3)):
        for solver in sorted({r["solver"] for r in rows if r["dim"] == dim}):
            pts = [(r["unknowns"], r["total"]) for r in rows if r["dim"] == dim and r["solver"] == solver]
            ax.loglog(*zip(*pts), "o-", label=solver)
        ax.set_title(f"{dim}D Poisson, rtol 1e-8, 1 thread")
        ax.set_xlabel("unknowns")
        ax.set_ylabel("setup + solve [s]")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fd, tmp = tempfile.mkstemp(suffix=".png", dir=os.path.dirname(path))
    os.close(fd)
    fig.savefig(tmp, dpi=110)
    os.replace(tmp, path)


def write_json(data, path):
    fd, tmp = tempfile.mkstemp(suffix=".json", dir=os.path.dirname(path))
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=1)
    os.replace(tmp, path)


def scaling_section(args) -> list:
    """Run, print and plot the scaling table; returns its rows."""
    s2 = [63, 127, 255] if args.quick else [255, 511, 1023, 2047, 4095]
    s3 = [15, 31] if args.quick else [63, 127, 255]
    sc = scaling(s2, s3, args.pyamg_cap)
    print("\nScaling: setup + solve CPU time per unknown (best of two runs; pyamg one run)")
    print(f"{'dim':>3} {'n':>6} {'unknowns':>11} {'solver':<26} {'total s':>8} {'cpu s':>8} {'us/unknown':>10} {'its':>4}")
    for r in sc:
        print(f"{r['dim']:>3} {r['n']:>6} {r['unknowns']:>11,} {r['solver']:<26} {r['total']:8.3f} {r['cpu']:8.3f} "
              f"{r['us_per_unknown']:10.3f} {r['iterations']:>4}")
    png = os.path.join(RESULTS, "poisson_scaling.png")
    plot_scaling(sc, png)
    print(f"plot written to {png}")
    return sc


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run)")
    ap.add_argument("--scaling", action="store_true", help="also the time-per-unknown table and plot")
    ap.add_argument("--pyamg-cap", type=int, default=4_300_000, help="largest problem given to pyamg in --scaling")
    ap.add_argument("--skip-slow", action="store_true", help="skip unpreconditioned CG and SuperLU")
    ap.add_argument("--repeats", type=int, default=3, help="runs per solver; the fastest is reported (default 3)")
    ap.add_argument("--fast-only", action="store_true", help="only mgcore and the DST solver (no pyamg, scipy, memory, threads)")
    ap.add_argument("--no-fresh", action="store_true", help="skip the fresh-process figures")
    ap.add_argument("--cold", action="store_true", help="also one fresh-process run with an empty kernel cache")
    ap.add_argument("--threads-only", action="store_true", help="only the 1- against 2-thread table")
    ap.add_argument("--fresh-only", action="store_true", help="only the fresh-process figures (with --cold: first runs)")
    ap.add_argument("--scaling-only", action="store_true", help="only the time-per-unknown table and plot")
    args = ap.parse_args(argv)
    os.makedirs(RESULTS, exist_ok=True)
    if args.fresh_only:
        nf = 255 if args.quick else 1023
        fr = fresh_process(nf, repeats=args.repeats, cold=args.cold)
        print_fresh(fr, nf)
        path = os.path.join(RESULTS, "poisson_fresh.json")
        write_json(dict(machine=platform.platform(), cpus=os.cpu_count(), repeats=args.repeats, fresh_process=fr), path)
        print(f"\nJSON written to {path}")
        return
    if args.scaling_only:
        warm_up()
        sc = scaling_section(args)
        path = os.path.join(RESULTS, "poisson_scaling.json")
        write_json(dict(machine=platform.platform(), cpus=os.cpu_count(), scaling=sc), path)
        print(f"\nJSON written to {path}")
        return
    cases = [(2, 255), (3, 31)] if args.quick else [(2, 1023), (3, 127)]
    if args.threads_only:
        thr = threads_table(cases, repeats=args.repeats)
        print_threads(thr)
        path = os.path.join(RESULTS, "poisson_threads.json")
        write_json(dict(machine=platform.platform(), cpus=os.cpu_count(), threads=thr), path)
        print(f"\nJSON written to {path}")
        return
    jit = warm_up()
    print(f"kernel compilation / cache load before timing: {jit:.2f} s")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores (possibly shared: compare ratios)")
    rows = main_table(cases, skip_slow=args.skip_slow, repeats=args.repeats, fast_only=args.fast_only)
    print_table(rows, f"Poisson to rtol {RTOL:g}, one thread, best of {args.repeats} interleaved rounds "
                      "(x mgcore = total / mgcore fast total; x DST = total / DST solver total)")
    summary = ratio_summary(rows)
    for d in summary:
        extra = "".join(f", {k.replace('_over_mgcore', '')} / mgcore = {v:.1f}" for k, v in d.items() if k.endswith("_over_mgcore"))
        print(f"{d['case']}: {d['best_mgcore']} / DST = {d['mgcore_over_dst']:.2f} (default mgcore fast / DST = "
              f"{d['default_mgcore_over_dst']:.2f}){extra}  [CPU-time ratios]")
    out = dict(machine=platform.platform(), processor=platform.processor(), cpus=os.cpu_count(), rtol=RTOL,
               jit_seconds=jit, repeats=args.repeats, table=rows, summary=summary)
    if not args.no_fresh:
        nf = 255 if args.quick else 1023
        fr = fresh_process(nf, repeats=args.repeats, cold=args.cold)
        print_fresh(fr, nf)
        out["fresh_process"] = fr
    if args.fast_only:
        path = os.path.join(RESULTS, "poisson_fast.json")
        write_json(out, path)
        print(f"\nJSON written to {path}")
        return
    var = variable_table(255 if args.quick else 1023, args.repeats)
    print("\nvariable2d (jump 1e4) to the attainable accuracy (pyamg RS asked for the relative residual mgcore reached)")
    for r in var:
        print(f"{r['solver']:<28} {r['cpu']:8.3f} s cpu  {r['iterations']:4d} its  relres {r['relres']:.2e}  "
              f"x mgcore {r['x_mgcore']:.1f}" + (f"  ({r['reason']})" if "reason" in r else ""))
    out["variable2d"] = var
    mem = [memory_figure(d, n) for d, n in cases]
    print("\nPeak memory of the fast path (tracemalloc, setup + solve)")
    for m in mem:
        print(f"{m['case']:<14} peak {m['peak_bytes'] / 2**20:8.1f} MiB = {m['peak_over_solution']:.2f} x solution vector "
              f"= {m['peak_over_all_levels']:.2f} x solution vectors of all levels ({m['path']} path)")
    thr = threads_table(cases)
    print_threads(thr)
    out.update(memory=mem, threads=thr)
    if args.scaling:
        out["scaling"] = scaling_section(args)
    path = os.path.join(RESULTS, "poisson.json")
    write_json(out, path)
    print(f"\nJSON written to {path}")


if __name__ == "__main__":
    main()
