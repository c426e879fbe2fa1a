"""First-run compilation of the compiled kernels: a note on stderr, its duration, and a warm-up.

numba compiles a kernel the first time it is called with a new signature and
caches the machine code on disk (``cache=True``); later processes only load
it.  The first run after installation therefore takes several seconds more.
Importing :mod:`mgcore.sparse._kernels` installs a listener on numba's
compile events that prints one line to stderr when the first mgcore kernel
of the process has to be compiled (not when it is loaded from the cache) and
adds up the compile time (:func:`compile_seconds`); :func:`warmup` (``mgcore
warmup``) compiles the kernels of the common configurations ahead of time.

This module imports numba; it is imported by the kernel modules only.
"""

from __future__ import annotations

import sys
import time

from numba.core import event as _event

__all__ = ["compile_seconds", "compiled_kernels", "warmup"]


class _CompileNote(_event.Listener):
    """Counts (outermost) compilations of mgcore kernels; notes the first one on stderr."""

    def __init__(self):
        self.depth = 0
        self.t0 = 0.0
        self.total = 0.0
        self.count = 0
        self.noted = False
        self.quiet = False

    @staticmethod
    def _ours(ev) -> bool:
        disp = (ev.data or {}).get("dispatcher")
        mod = getattr(getattr(disp, "py_func", None), "__module__", "") or ""
        return mod.startswith("mgcore.")

    def on_start(self, ev):
        if not self._ours(ev):
            return
        if self.depth == 0:
            self.t0 = time.perf_counter()
            self.count += 1
            if not self.noted and not self.quiet:
                self.noted = True
                print(
                    "mgcore: compiling the multigrid kernels for this machine (first use, up to a minute; "
                    "they are cached on disk and load in well under a second afterwards; `mgcore warmup` does it ahead)",
                    file=sys.stderr,
                    flush=True,
                )
        self.depth += 1

    def on_end(self, ev):
        if not self._ours(ev):
            return
        self.depth -= 1
        if self.depth == 0:
            self.total += time.perf_counter() - self.t0


_NOTE = _CompileNote()
_event.register("numba:compile", _NOTE)


def compile_seconds() -> float:
    """Seconds this process spent compiling mgcore kernels (0 when all came from the cache)."""
    return _NOTE.total


def compiled_kernels() -> int:
    """Number of mgcore kernels this process compiled (not loaded from the cache)."""
    return _NOTE.count


def warmup(dims=(2, 3), precisions=("float64", "mixed"), threads=(1,), quiet: bool = True) -> dict:
    """Compile (or load) the kernels of the default solver configurations by solving small problems.

    Parameters
    ----------
    dims : iterable of {2, 3}
    precisions : iterable of {"float64", "float32", "mixed"}
    threads : iterable of int
        ``threads > 1`` also builds the parallel kernels.
    quiet : bool
        Suppress the first-compilation note (the caller reports instead).

    Returns
    -------
    dict
        ``seconds`` (wall time), ``compile_seconds`` and ``compiled`` (kernels
        compiled by this call; 0 when everything was cached already);
        ``c_kernels`` (whether the C kernels of the common 2D case,
        :mod:`mgcore._ckernels`, are available) and ``c_compile_seconds``
        (their compilation by this call; 0 when cached).
    """
    import numpy as np

    from .. import _ckernels
    from ..problems.grid import GridProblem
    from .solver import MultigridSolver

    t0, c0, k0 = time.perf_counter(), _NOTE.total, _NOTE.count
    cc0 = _ckernels.status()["compile_seconds"]
    c_ok = _ckernels.load(quiet=quiet) is not None
    cc = _ckernels.status()["compile_seconds"] - cc0
    old, _NOTE.quiet = _NOTE.quiet, quiet
    try:
        for dim in dims:
            shape = (31, 31) if dim == 2 else (31, 31, 31)
            p = GridProblem(shape)
            b = np.random.default_rng(0).random(p.shape)
            for prec in precisions:
                for th in threads:
                    for fmg in (False, True):
                        MultigridSolver(p, precision=prec, threads=th, fmg=fmg).solve(b, rtol=1e-6)
                    MultigridSolver(p, precision=prec, threads=th).solve(b, rtol=1e-6, accel="cg")
                    if th > 1:  # enough rows (planes) per thread for the blocked kernels
                        q = GridProblem((63, 31) if dim == 2 else (63, 15, 15))
                        MultigridSolver(q, precision=prec, threads=th).solve(np.ones(q.shape), rtol=1e-6)
            # the robust defaults: line smoothing (anisotropy), semi-coarsening (3D, one weak direction) and the
            # transfers of sizes that do not nest
            aniso = [(1.0, 0.01), (0.01, 1.0)] if dim == 2 else [(1.0, 0.01, 0.01), (0.01, 1.0, 1.0)]
            for shape, an in [(p.shape, a) for a in aniso] + [((30,) * dim, None)]:
                q = GridProblem(shape) if an is None else GridProblem(shape, aniso=an)
                MultigridSolver(q).solve(np.ones(q.shape), rtol=1e-6)
    finally:
        _NOTE.quiet = old
    return {"seconds": time.perf_counter() - t0, "compile_seconds": _NOTE.total - c0, "compiled": _NOTE.count - k0,
            "c_kernels": c_ok, "c_compile_seconds": cc}
