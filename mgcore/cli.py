"""Command-line interface: ``mgcore solve | train | evaluate | demo | warmup | models | verify``.

Every subcommand has ``--help``.  Heavy libraries (scipy, numba, torch) are
imported only by the subcommand that needs them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from typing import Any, Sequence

from .registry import smoother_names

__all__ = ["main", "build_parser", "parse_smoother_arg"]


def parse_smoother_arg(text: str) -> Any:
    """Parse ``name`` or ``name:key=value,key=value`` into a smoother spec.

    Values are parsed as int, float, bool or left as strings.

    >>> parse_smoother_arg("chebyshev:degree=3")
    ('chebyshev', {'degree': 3})
    >>> parse_smoother_arg("jacobi")
    'jacobi'
    """
    if ":" not in text:
        return text
    name, _, rest = text.partition(":")
    kwargs: dict[str, Any] = {}
    for item in filter(None, rest.split(",")):
        if "=" not in item:
            raise argparse.ArgumentTypeError(f"smoother option {item!r} must look like key=value")
        k, _, v = item.partition("=")
        kwargs[k.strip()] = _parse_value(v.strip())
    return (name.strip(), kwargs)


def _parse_value(v: str) -> Any:
    if v.lower() in ("true", "false"):
        return v.lower() == "true"
    for conv in (int, float):
        try:
            return conv(v)
        except ValueError:
            pass
    return v


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _grid_size(text: str) -> Any:
    """``N`` or ``NXxNY[xNZ]`` (a rectangle / box) as an int or a tuple of ints."""
    parts = text.lower().split("x")
    vals = [_positive_int(t) for t in parts]
    return vals[0] if len(vals) == 1 else tuple(vals)


def _add_solve_arguments(p: argparse.ArgumentParser) -> None:
    from_problems = ["poisson1d", "poisson2d", "poisson3d", "poisson2d-fem", "anisotropic2d", "anisotropic3d", "variable2d",
                     "variable3d"]
    p.add_argument("--problem", default="poisson2d", choices=from_problems, help="model problem (default poisson2d)")
    p.add_argument("--n", type=_grid_size, default=255,
                   help="unknowns per dimension, any size; NXxNY[xNZ] for a rectangle (default 255; 2^k-1 Dirichlet "
                        "and 2^k+1 Neumann sizes run on the fastest path)")
    p.add_argument("--bc", choices=["dirichlet", "neumann"], default=None, help="boundary condition")
    p.add_argument("--eps", type=float, default=None, help="anisotropy eps of anisotropic2d/3d, the weak x coupling (default 0.01)")
    p.add_argument("--cycle", default="V", help="cycle kind: V, W or F (default V)")
    p.add_argument("--nu", type=int, nargs=2, default=(2, 2), metavar=("PRE", "POST"), help="smoothing steps (default 2 2)")
    p.add_argument("--smoother", type=parse_smoother_arg, default=None,
                   help="smoother NAME or NAME:key=value,... (default rbgs; symmetric Gauss-Seidel for matrices); "
                        "names: " + ", ".join(smoother_names()) + " (aliases such as rbgs, sgs, gs); "
                        "e.g. gauss-seidel:sweep=symmetric, chebyshev:degree=3")
    p.add_argument("--coarse", choices=["rediscretize", "galerkin"], default=None, help="coarse operators")
    p.add_argument("--accel", choices=["none", "cg", "gmres"], default="none", help="Krylov acceleration")
    p.add_argument("--rtol", type=float, default=1e-8, help="relative tolerance (default 1e-8)")
    p.add_argument("--atol", type=float, default=0.0, help="absolute tolerance (default 0)")
    p.add_argument("--maxiter", type=int, default=100, help="maximum iterations (default 100)")
    p.add_argument("--fmg", action="store_true",
                   help="start from a full-multigrid cycle (sparse backend without --accel: the first iteration, "
                        "rtol relative to ||b||; otherwise an FMG initial guess)")
    p.add_argument("--backend", choices=["sparse", "torch", "petsc"], default="sparse",
                   help="operator backend (petsc: PETSc PCMG over MPI, run under mpiexec)")
    p.add_argument("--device", default="cpu", help="torch device (torch backend)")
    p.add_argument("--fast", choices=["auto", "on", "off"], default="auto", help="compiled matrix-free path (sparse backend)")
    p.add_argument("--dtype", choices=["auto", "float64", "float32", "mixed"], default="auto",
                   help="precision (mixed: float32 cycles inside a float64 residual refinement; auto, the default: "
                        "mixed where the compiled mixed-precision step covers the problem, else float64; float64: "
                        "float64 cycles throughout; sparse and torch backends)")
    p.add_argument("--threads", type=_positive_int, default=1, help="threads for kernels (default 1)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="write the convergence history (with the rtol line) to FILE.png, FILE.svg or FILE.pdf")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The argument parser of the ``mgcore`` command.

    The ``train``, ``evaluate`` and ``models`` subcommands come from
    :mod:`mgcore_torch.train_cli` (torch is imported only when they run).
    """
    parser = argparse.ArgumentParser(prog="mgcore", description="Multigrid solvers and MgNet networks from one core.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"mgcore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    ps = sub.add_parser("solve", help="solve a model PDE with multigrid", description="Solve a model PDE with multigrid.")
    _add_solve_arguments(ps)
    ps.set_defaults(func=run_solve)

    from mgcore_torch import train_cli  # light: builds the train/evaluate/models parsers without torch

    train_cli.add_train_parser(sub)

    pd = sub.add_parser("demo", help="solve a Poisson problem and train a small MgNet on digits",
                        description="Main demo: 2D Poisson solve with its convergence table, then a small MgNet on the digits data.")
    pd.add_argument("--n", type=_positive_int, default=1023, help="Poisson grid size (default 1023)")
    pd.add_argument("--epochs", type=_positive_int, default=15, help="training epochs (default 15)")
    pd.set_defaults(func=run_demo)

    pw = sub.add_parser("warmup", help="compile the solver kernels now (they are cached; the first solve is then fast)",
                        description="Compile (or load from the cache) the compiled multigrid kernels of the common "
                                    "configurations by solving small 2D and 3D problems.")
    pw.add_argument("--dims", type=int, nargs="+", choices=[2, 3], default=[2, 3], help="dimensions (default 2 3)")
    pw.add_argument("--threads", type=_positive_int, default=1, help="also the parallel kernels for this many threads")
    pw.set_defaults(func=run_warmup)

    train_cli.add_models_parser(sub)
    train_cli.add_evaluate_parser(sub)

    from . import verify

    pv = sub.add_parser("verify", help="check the seed papers' identities on random instances (both backends)",
                        description="Run every identity mgcore implements on random instances; exit 1 if one fails.")
    verify.add_arguments(pv)
    pv.set_defaults(func=verify.run_verify)

    from mgcore_torch.reproduce import add_subcommand as add_reproduce  # torch loads only when it runs

    add_reproduce(sub)

    from .analysis import report as spectrum_report  # numpy/matplotlib load only when it runs

    spectrum_report.add_subcommand(sub)

    from mgcore_torch.learn.cli import add_subcommand as add_learn_smoother  # torch loads only when it runs

    add_learn_smoother(sub)
    return parser


#: file formats ``--plot`` writes, by extension
PLOT_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf"}


def _plot_format(path: str) -> str:
    ext = os.path.splitext(path)[1].lower()
    if ext not in PLOT_FORMATS:
        raise ValueError(f"--plot {path!r}: the file name must end in one of {', '.join(PLOT_FORMATS)} (the format written)")
    return PLOT_FORMATS[ext]


def _write_figure_atomically(fig: Any, path: str) -> None:
    """Save ``fig`` in the format its extension names, via a temporary file and
    ``os.replace``; the file gets the usual permissions (0666 less the umask)."""
    fmt = _plot_format(path)
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix="." + fmt, dir=d)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=120, format=fmt)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


_write_png_atomically = _write_figure_atomically


def plot_history(residuals: Sequence[float], path: str, title: str, rtol: float | None = None,
                 reason: str | None = None) -> None:
    """Write a semilog plot of a residual history to ``path`` (PNG, SVG or PDF by extension; atomically).

    With ``rtol`` the tolerance is drawn as a line; a run that did not
    converge is marked in the title and at its last point.
    """
    _plot_format(path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    r0 = residuals[0] if residuals and residuals[0] > 0 else 1.0
    rel = [r / r0 for r in residuals]
    ax.semilogy(range(len(residuals)), rel, "o-", label="relative residual")
    if rtol is not None and rtol > 0:
        ax.axhline(rtol, color="grey", linestyle="--", label=f"rtol = {rtol:g}")
    if reason is not None and reason != "converged":
        ax.plot([len(rel) - 1], [rel[-1]], "rx", markersize=12, label=reason)
        title = f"{title} [{reason.upper()}]"
    ax.set_xlabel("iteration")
    ax.set_ylabel("relative residual")
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    _write_figure_atomically(fig, path)
    plt.close(fig)


def _solve(args: argparse.Namespace) -> tuple[Any, Any]:
    import numpy as np

    from .problems import get_problem

    kwargs: dict[str, Any] = {}
    if args.eps is not None:
        if args.problem not in ("anisotropic2d", "anisotropic3d"):
            raise ValueError("--eps applies to --problem anisotropic2d or anisotropic3d only")
        kwargs["eps"] = args.eps
    problem = get_problem(args.problem, args.n, bc=args.bc, **kwargs)
    if args.backend == "petsc":  # every rank builds its own part of b
        from .petsc.cli import solve_petsc

        return solve_petsc(args, problem, _default_source(problem))
    b = problem.rhs(_default_source(problem))
    accel = None if args.accel == "none" else args.accel
    if args.backend == "torch":
        from mgcore_torch.linear import TorchMultigridSolver

        import torch

        torch.set_num_threads(args.threads)
        dtype = torch.float32 if args.dtype == "float32" else torch.float64
        precision = "mixed" if args.dtype == "mixed" else None
        kw = dict(nu=tuple(args.nu), cycle=args.cycle, dtype=dtype, device=args.device)
        if args.smoother is not None:
            kw["smoother"] = args.smoother
        if precision:
            kw["precision"] = precision
        solver = TorchMultigridSolver(problem, **kw)
        result = solver.solve(b, rtol=args.rtol, atol=args.atol, maxiter=args.maxiter, accel=accel)
        return solver, result
    if (accel is None and not args.fmg and args.fast != "off" and args.dtype in ("auto", "float64", "mixed")
            and args.threads == 1):
        # the common case runs on the C kernels when they load: neither scipy nor numba is imported
        from ._ckernels.solver import c_solver

        kw = dict(smoother=args.smoother, nu=tuple(args.nu), cycle=args.cycle, coarse=args.coarse)
        csolver, _ = c_solver(problem, dtype="mixed" if args.dtype == "auto" else args.dtype, **kw)
        if csolver is None and args.dtype == "auto":  # e.g. an even coarsest grid: float64 C kernels
            csolver, _ = c_solver(problem, dtype="float64", quiet=True, **kw)
        if csolver is not None:
            return csolver, csolver.solve(b, rtol=args.rtol, atol=args.atol, maxiter=args.maxiter)
    from .sparse.solver import MultigridSolver

    fast = {"auto": None, "on": True, "off": False}[args.fast]
    precision = None if args.dtype == "auto" else args.dtype
    solver = MultigridSolver(problem, smoother=args.smoother, nu=tuple(args.nu), cycle=args.cycle, coarse=args.coarse,
                             fast=fast, precision=precision, threads=args.threads, fmg=bool(args.fmg and accel is None))
    x0 = None
    if args.fmg and accel is not None:
        from .cycles import fmg

        x0 = np.asarray(fmg(solver.hierarchy, solver._to_level(b), solver.cycle_kind, solver.nu_pre, solver.nu_post)).copy()
        x0 = x0.reshape(b.shape)
    result = solver.solve(b, x0=x0, rtol=args.rtol, atol=args.atol, maxiter=args.maxiter, accel=accel)
    return solver, result


def _default_source(problem: Any) -> Any:
    """A smooth source with zero mean (so that Neumann problems are consistent)."""
    import numpy as np

    if problem.bc == "neumann":  # zero mean: the singular problem is consistent
        if problem.dim == 1:
            return lambda x: np.cos(np.pi * x) + np.cos(2 * np.pi * x)
        if problem.dim == 2:
            return lambda x, y: np.cos(np.pi * x) * np.cos(np.pi * y) + np.cos(2 * np.pi * x)
        return lambda x, y, z: np.cos(np.pi * x) * np.cos(np.pi * y) * np.cos(np.pi * z) + np.cos(2 * np.pi * x)
    if problem.dim == 1:
        return lambda x: np.sin(np.pi * x) + np.cos(2 * np.pi * x)
    if problem.dim == 2:
        return lambda x, y: np.sin(np.pi * x) * np.sin(np.pi * y) + np.cos(2 * np.pi * x)
    return lambda x, y, z: np.sin(np.pi * x) * np.sin(np.pi * y) * np.sin(np.pi * z) + np.cos(2 * np.pi * x)


def format_history(residuals: Sequence[float]) -> str:
    """The residual history as a text table."""
    lines = [f"{'iter':>5}  {'residual':>12}  {'relative':>10}  {'factor':>7}"]
    r0 = residuals[0] if residuals and residuals[0] > 0 else 1.0
    for k, r in enumerate(residuals):
        fac = f"{r / residuals[k - 1]:7.4f}" if k > 0 and residuals[k - 1] > 0 else "      -"
        lines.append(f"{k:>5}  {r:12.4e}  {r / r0:10.3e}  {fac}")
    return "\n".join(lines)


def run_solve(args: argparse.Namespace) -> int:
    """``mgcore solve``: returns 0 when converged, 3 when it stagnated at the attainable accuracy, 1 otherwise
    (2: bad input)."""
    if args.plot:
        _plot_format(args.plot)  # an unknown extension is refused before any work
    solver, result = _solve(args)
    _jit = sys.modules.get("mgcore.sparse._jit")  # loaded with the compiled kernels
    if _jit is not None and _jit.compiled_kernels():
        print(f"mgcore: compiled {_jit.compiled_kernels()} kernels in {_jit.compile_seconds():.1f} s "
              "(first run; cached for later runs)", file=sys.stderr)
    d = result.to_dict()
    d.update(
        problem=args.problem, n=args.n, backend=args.backend, n_unknowns=int(result.info.get("n_unknowns", 0)),
        levels=int(getattr(solver, "J", 0)),
    )
    if args.plot:
        plot_history(result.residuals, args.plot, f"{args.problem} n={args.n} {d.get('cycle', '')}-cycle",
                     rtol=args.rtol, reason=result.reason.value)
        d["plot"] = args.plot
    if args.json:
        print(json.dumps(d, allow_nan=True))
    else:
        print(repr(solver))
        print(format_history(result.residuals))
        print(
            f"{'converged' if result.converged else 'NOT converged'} ({result.reason.value}) after "
            f"{result.iterations} iterations; convergence factor {result.convergence_factor:.4f}"
        )
        if not result.converged:
            print(result.message)
        print(f"setup {result.setup_seconds:.3f} s, solve {result.solve_seconds:.3f} s, "
              f"{d['n_unknowns']} unknowns")
        if args.plot:
            print(f"convergence plot written to {args.plot}")
    return 0 if result.converged else (3 if result.reason.value == "stagnated" else 1)


def run_warmup(args: argparse.Namespace) -> int:
    """``mgcore warmup``: compile the kernels ahead of the first solve."""
    from .sparse._jit import warmup

    threads = (1,) if args.threads == 1 else (1, args.threads)
    r = warmup(dims=tuple(args.dims), threads=threads)
    what = f"compiled {r['compiled']} kernels in {r['compile_seconds']:.1f} s" if r["compiled"] else "all kernels were cached"
    if r.get("c_compile_seconds"):
        what += f"; C kernels compiled in {r['c_compile_seconds']:.1f} s"
    elif not r.get("c_kernels", True):
        what += "; C kernels unavailable (no working C compiler): the numba kernels run everywhere"
    print(f"mgcore warmup: {what} ({r['seconds']:.1f} s in all)")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """``mgcore demo``: a Poisson solve, then a small MgNet trained on digits."""
    print(f"== 1. 2D Poisson, {args.n}x{args.n} unknowns, V(2,2) multigrid to rtol 1e-8 ==")
    solve_args = build_parser(["solve"]).parse_args(["solve", "--problem", "poisson2d", "--n", str(args.n)])
    rc = run_solve(solve_args)
    if rc != 0:
        return rc
    print("\n== 2. MgNet on the digits data (8x8 images, 10 classes) ==")
    targv = ["train", "--model", "mgnet-small", "--data", "digits", "--epochs", str(args.epochs)]
    train_args = build_parser(targv).parse_args(targv)
    return train_args.func(train_args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mgcore`` console script."""
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for commands that start themselves again
    try:
        return int(args.func(args) or 0)
    except (ValueError, TypeError, FileNotFoundError, FloatingPointError) as exc:
        print(f"mgcore {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a program that stopped reading (e.g. head)
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
