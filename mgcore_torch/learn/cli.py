"""``mgcore learn-smoother``: train a stencil smoother on a problem class, save it, compare it.

Building the parser imports nothing heavy; torch, scipy and matplotlib load
when the command runs.  The run

1. draws ``--problems`` training problems of the class (``--problem``,
   ``--eps-range`` / ``--contrast-range``) on the ``--size`` grid and trains
   the smoother (:func:`mgcore_torch.learn.train_smoother`) with a tqdm bar
   (when stderr is a terminal, or ``--progress bar``);
2. writes ``--out`` (``smoother.npz``, atomically) and the training curve
   (``--plot``, default the output name with ``.png``);
3. measures the learned smoother, damped Jacobi and red-black Gauss-Seidel on
   held-out problems of the class: the factor of the torch cycle at the
   training size, then the sparse solver at every ``--eval-sizes`` (cycles to
   ``--rtol``, factor, LFA prediction for constant coefficients, time and
   work per cycle, work per digit), and prints a table (or ``--json``).

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_arguments(p)
>>> a = p.parse_args(["--eps-range", "1e-2", "1", "--steps", "5"])
>>> a.eps_range, a.steps, a.out
([0.01, 1.0], 5, 'smoother.npz')
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from typing import Any

__all__ = ["add_subcommand", "add_arguments", "run_learn_smoother", "plot_curve"]

_PROBLEMS = ("anisotropic2d", "variable2d", "poisson2d")
_PLOT_EXT = (".png", ".svg", ".pdf")


def _pos_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _pos_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise argparse.ArgumentTypeError(f"expected a finite positive number, got {text!r}")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``mgcore learn-smoother`` (each help text states its default)."""
    g = p.add_argument_group("problem class")
    g.add_argument("--problem", choices=_PROBLEMS, default="anisotropic2d",
                   help="class: anisotropic2d (random eps and direction), variable2d (random coefficient jumps on "
                        "rectangles), poisson2d (default anisotropic2d)")
    g.add_argument("--eps-range", type=_pos_float, nargs=2, default=[1e-3, 1.0], metavar=("LOW", "HIGH"),
                   help="anisotropic2d: eps log-uniform in [LOW, HIGH] (default 1e-3 1)")
    g.add_argument("--directions", nargs="+", choices=["x", "y"], default=["x", "y"],
                   help="anisotropic2d: axes whose coupling is eps (default x y)")
    g.add_argument("--contrast-range", type=_pos_float, nargs=2, default=[1.0, 1e4], metavar=("LOW", "HIGH"),
                   help="variable2d: coefficient on each rectangle log-uniform in [LOW, HIGH] (default 1 1e4)")
    g = p.add_argument_group("smoother")
    g.add_argument("--kind", choices=["stencil", "roots"], default="stencil",
                   help="stencil: free k x k weights; roots: polynomial in D^-1 A with trainable roots (default stencil)")
    g.add_argument("--kernel-size", type=_pos_int, default=3, help="odd stencil size k (default 3)")
    g.add_argument("--colours", choices=["none", "red-black"], default="none",
                   help="one substep on all points, or a red and a black substep (default none)")
    g.add_argument("--sweeps", type=_pos_int, default=1, help="stencil sets used in turn by the smoothing steps (default 1)")
    g.add_argument("--levels", type=_pos_int, default=1,
                   help="level sets: 1 shares the smoother between all levels (default 1)")
    g.add_argument("--degree", type=_pos_int, default=3, help="roots per step with --kind roots (default 3)")
    g.add_argument("--symmetric", action="store_true", help="constrain the stencils to K(o) = K(-o)")
    g = p.add_argument_group("training")
    g.add_argument("--objective", choices=["cycles", "lfa"], default="cycles",
                   help="cycles: the measured V-cycle factor of random errors; lfa: the two-grid factor of the local "
                        "Fourier analysis (constant coefficients: anisotropic2d, poisson2d) (default cycles)")
    g.add_argument("--size", type=_pos_int, default=31, help="training grid n x n, n = 2^k - 1 (default 31)")
    g.add_argument("--steps", type=_pos_int, default=100, help="optimiser steps (default 100)")
    g.add_argument("--problems", type=_pos_int, default=8, help="training problems drawn from the class (default 8)")
    g.add_argument("--batch", type=_pos_int, default=4, help="random errors per problem and step (default 4)")
    g.add_argument("--cycles", type=_pos_int, default=3, help="V-cycles per estimate, with gradients (default 3)")
    g.add_argument("--warmup", type=int, default=3, help="V-cycles before each estimate, without gradients (default 3)")
    g.add_argument("--nu", type=int, nargs=2, default=[2, 2], metavar=("PRE", "POST"), help="smoothing steps (default 2 2)")
    g.add_argument("--lr", type=_pos_float, default=0.01, help="Adam learning rate (default 0.01)")
    g.add_argument("--coarse-size", type=_pos_int, default=9,
                   help="training hierarchies coarsen down to this many unknowns (default 9)")
    g.add_argument("--seed", type=int, default=0, help="seed of the problems and random errors (default 0)")
    g.add_argument("--threads", type=_pos_int, default=1, help="torch threads (default 1)")
    g = p.add_argument_group("output")
    g.add_argument("--out", default="smoother.npz", help="the smoother file, .npz (default smoother.npz)")
    g.add_argument("--plot", default=None,
                   help="training curve, .png/.svg/.pdf (default: --out with .png; 'none' to skip)")
    g.add_argument("--eval-sizes", type=_pos_int, nargs="*", default=None,
                   help="grid sizes of the sparse evaluation (default: --size and 4 (size + 1) - 1; the option alone skips it)")
    g.add_argument("--eval-problems", type=_pos_int, default=4, help="held-out problems of the class (default 4)")
    g.add_argument("--eval-coarse-size", type=_pos_int, default=500,
                   help="the evaluation solvers coarsen down to this many unknowns, as MultigridSolver (default 500)")
    g.add_argument("--rtol", type=_pos_float, default=1e-8, help="tolerance of the evaluation solves (default 1e-8)")
    g.add_argument("--maxiter", type=_pos_int, default=100, help="cycle cap of the evaluation solves (default 100)")
    g.add_argument("--progress", choices=["auto", "bar", "none"], default="auto",
                   help="tqdm bar on stderr: auto (when stderr is a terminal), bar, none (default auto)")
    g.add_argument("--json", action="store_true", help="print one JSON object instead of the tables")


def add_subcommand(sub: Any) -> argparse.ArgumentParser:
    """Add ``learn-smoother`` to the ``mgcore`` subcommands (``sub`` from ``add_subparsers``)."""
    p = sub.add_parser("learn-smoother", help="train a stencil smoother on a problem class (torch), save it as .npz",
                       description="Train the smoother of a V-cycle as a convolution on a class of problems, save it "
                                   "for the sparse and torch solvers ({'name': 'stencil', 'file': OUT}) and compare it "
                                   "with damped Jacobi and red-black Gauss-Seidel.")
    add_arguments(p)
    p.set_defaults(func=run_learn_smoother)
    return p


def _check_size(n: int, name: str) -> None:
    if n < 3 or (n + 1) & n:
        raise ValueError(f"{name} must be 2^k - 1 >= 3 (a Dirichlet grid that coarsens), got {n}")


def _check(args: argparse.Namespace) -> tuple[str | None, list]:
    """Validate everything before any work; returns ``(plot path or None, evaluation sizes)``."""
    if not args.out.endswith(".npz"):
        raise ValueError(f"--out must end in .npz, got {args.out!r}")
    plot = args.plot if args.plot is not None else os.path.splitext(args.out)[0] + ".png"
    if plot.lower() == "none":
        plot = None
    elif os.path.splitext(plot)[1].lower() not in _PLOT_EXT:
        raise ValueError(f"--plot {plot!r}: the file name must end in one of {', '.join(_PLOT_EXT)}")
    _check_size(args.size, "--size")
    if args.eval_sizes is None:  # the training size (if the solver smooths there) and a 4x finer grid
        sizes = [n for n in (args.size, 4 * (args.size + 1) - 1) if n * n > args.eval_coarse_size]
    else:
        sizes = list(args.eval_sizes)
    from mgcore.coarsening import level_shapes

    for n in sizes:
        _check_size(n, "--eval-sizes")
        if len(level_shapes((n, n), "dirichlet", None, args.eval_coarse_size)) < 2:
            raise ValueError(f"--eval-sizes {n}: a {n}x{n} grid has at most --eval-coarse-size={args.eval_coarse_size} "
                             "unknowns and is solved directly (no smoothing); use a larger size or a smaller "
                             "--eval-coarse-size")
    for name in ("eps_range", "contrast_range"):
        lo, hi = getattr(args, name)
        if lo > hi:
            raise ValueError(f"--{name.replace('_', '-')} needs LOW <= HIGH, got {lo} {hi}")
    if args.kernel_size % 2 != 1:
        raise ValueError(f"--kernel-size must be odd (the stencil is centred), got {args.kernel_size}")
    if args.objective == "lfa" and (args.problem == "variable2d" or args.levels != 1):
        raise ValueError("--objective lfa needs constant coefficients (anisotropic2d, poisson2d) and --levels 1")
    if args.kind == "roots" and args.colours != "none":
        raise ValueError("--kind roots is a polynomial on all points; it takes --colours none")
    if args.warmup < 0 or min(args.nu) < 0 or sum(args.nu) < 1:
        raise ValueError(f"--warmup must be >= 0 and --nu two ints >= 0, not both 0 (got {args.warmup}, {args.nu})")
    return plot, sizes


def plot_curve(history: list, path: str, baselines: dict | None = None, title: str = "") -> None:
    """Write the training curve (``exp(J)`` per step) with horizontal baselines, atomically."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.plot(range(len(history)), history, "-", label="learned (training objective)")
    for (label, value), style in zip((baselines or {}).items(), ("--", ":", "-.")):
        ax.axhline(value, color="grey", linestyle=style, label=f"{label} {value:.3f}")
    ax.set_xlabel("step")
    ax.set_ylabel("V-cycle factor exp(J)")
    ax.set_title(title, fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fmt = os.path.splitext(path)[1].lower().lstrip(".")
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
        plt.close(fig)
        if os.path.exists(tmp):
            os.unlink(tmp)


def run_learn_smoother(args: argparse.Namespace) -> int:
    """Run ``mgcore learn-smoother`` (see the module docstring); returns 0."""
    plot, sizes = _check(args)
    import numpy as np
    import torch

    from .evaluate import evaluate_smoothers, format_rows
    from .format import save_stencil_smoother
    from .classes import ProblemClass
    from .trainer import BASELINES, LFAObjective, StencilParameters, TrainConfig, train_smoother, training_factor

    torch.set_num_threads(args.threads)
    pclass = ProblemClass(args.problem, eps_range=args.eps_range, directions=args.directions,
                          contrast_range=args.contrast_range)
    params = StencilParameters(dim=2, kernel_size=args.kernel_size if args.kind == "stencil" else 1, levels=args.levels,
                               sweeps=args.sweeps, colours=args.colours, kind=args.kind, degree=args.degree,
                               symmetric=args.symmetric)
    config = TrainConfig(size=args.size, steps=args.steps, problems=args.problems, batch=args.batch, warmup=args.warmup,
                         cycles=args.cycles, nu=tuple(args.nu), lr=args.lr, coarse_size=args.coarse_size, seed=args.seed,
                         objective=args.objective)
    progress = {"auto": "auto", "bar": True, "none": False}[args.progress]
    result = train_smoother(pclass, params, config, progress=progress)
    save_stencil_smoother(result.spec, args.out)

    held = pclass.sample(args.eval_problems, np.random.default_rng(args.seed + 1))
    nu = tuple(args.nu)
    t0 = time.perf_counter()
    held_factors = {label: training_factor(held, sm, args.size, nu, coarse_size=args.coarse_size)
                    for label, sm in (("learned", result.spec), ("jacobi", "jacobi"), ("rbgs", "rbgs"))}
    pool = {}
    for label, name in (("damped Jacobi", "jacobi"), ("red-black GS", "rbgs")):
        if args.objective == "lfa":  # the quantity of the training curve: the exact two-grid LFA factor
            b = BASELINES[name]
            lfa = LFAObjective(result.samples, args.size, b.kernel_size, nu, config.lfa_samples)
            K = torch.tensor(np.array(b.kernels[0]))
            pool[label] = math.exp(float(lfa.log_rho(K, b.colours, exact=True).mean()))
        else:
            pool[label] = training_factor(result.samples, name, args.size, nu, coarse_size=args.coarse_size)
    if plot:
        plot_curve(result.history, plot, pool, title=f"{args.problem} n={args.size}: {result.spec.describe()}")
    rows = []
    if sizes:
        smoothers = {"learned": {"name": "stencil", "file": args.out}, "jacobi": "jacobi", "rbgs": "rbgs"}
        rows = evaluate_smoothers(held, sizes, smoothers, nu=nu, rtol=args.rtol, maxiter=args.maxiter, seed=args.seed,
                                  coarse_size=args.eval_coarse_size)
    eval_seconds = time.perf_counter() - t0
    payload = {
        "out": args.out, "plot": plot, "smoother": result.spec.describe(), "problem_class": pclass.to_dict(),
        "config": config.to_dict(), "history": result.history, "initial_factor": result.initial,
        "final_factor": result.final, "train_seconds": result.seconds, "pool_baselines": pool,
        "held_out": {"n": args.size, "problems": [s.to_dict() for s in held], "factors": held_factors},
        "evaluation": rows, "eval_seconds": eval_seconds, "kernels": np.asarray(result.spec.kernels).tolist(),
    }
    if args.json:
        print(json.dumps(payload, allow_nan=True))
        return 0
    print(f"trained {result.spec.describe()} on {args.problems} {args.problem} problems at n={args.size}: "
          f"{args.steps} steps in {result.seconds:.1f} s")
    what = f"V({nu[0]},{nu[1]}), torch" if args.objective == "cycles" else f"two-grid LFA, ({nu[0]},{nu[1]})"
    print(f"training-pool factor ({what}): {result.initial:.4f} -> {result.final:.4f}  "
          f"[damped Jacobi {pool['damped Jacobi']:.4f}, red-black GS {pool['red-black GS']:.4f}]")
    print(f"held-out problems of the class at n={args.size} (torch): learned {held_factors['learned']:.4f}, "
          f"damped Jacobi {held_factors['jacobi']:.4f}, red-black GS {held_factors['rbgs']:.4f}")
    if rows:
        print()
        print(format_rows(rows))
        print("(sparse solver, fast=False for every smoother; factor: mean of the last 5 cycles; work: multiply-adds "
              "per fine unknown of an ideal implementation)")
    print(f"\nwrote {args.out}" + (f" and {plot}" if plot else "") +
          f"; use it as smoother={{'name': 'stencil', 'file': {args.out!r}}} or --smoother stencil:file={args.out}")
    return 0
