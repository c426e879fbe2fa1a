"""The command line's fast-path options and the first-compilation note."""

import json
import os
import subprocess
import sys

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")


def run(*args, env=None):
    p = subprocess.run([sys.executable, "-m", "mgcore", *args], capture_output=True, text=True, env=env or ENV, timeout=900)
    assert p.returncode == 0, f"mgcore {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}"
    return p


def test_solve_dtype_mixed_and_fmg_on_the_sparse_backend():
    d64 = json.loads(run("solve", "--n", "127", "--json").stdout)
    dm = json.loads(run("solve", "--n", "127", "--dtype", "mixed", "--json").stdout)
    assert dm["converged"] and dm["precision"] == "mixed" and dm["path"] == "fast"
    assert dm["iterations"] <= d64["iterations"] + 1
    assert dm["residuals"][-1] <= 1e-8 * dm["residuals"][0]
    df = json.loads(run("solve", "--n", "127", "--dtype", "mixed", "--fmg", "--json").stdout)
    assert df["converged"] and df["iterations"] <= d64["iterations"] - 1
    assert df["residuals"][0] == dm["residuals"][0]  # rtol relative to ||b||, not to the FMG residual


def test_first_compilation_is_announced_once_and_cached_runs_are_silent(tmp_path):
    """A kernel compiled into an empty cache prints the note once; the next process loads it silently."""
    code = (
        "import numpy as np; from mgcore.sparse import _kernels as K, _jit; "
        "K.fill_zero(np.ones(3)); K.copy_into(np.ones(3), np.ones(3)); "
        "print(_jit.compiled_kernels(), _jit.compile_seconds() > 0)"
    )
    env = dict(ENV, NUMBA_CACHE_DIR=str(tmp_path))
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split() == ["2", "True"]
    assert first.stderr.count("mgcore: compiling the multigrid kernels") == 1
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert second.stdout.split() == ["0", "False"]
    assert "compiling" not in second.stderr


def test_warmup_command():
    p = run("warmup", "--dims", "2")
    assert p.stdout.startswith("mgcore warmup: ")
    # a second warm-up finds everything in the cache
    assert "all kernels were cached" in run("warmup", "--dims", "2").stdout
