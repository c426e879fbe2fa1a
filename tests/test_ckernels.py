"""The C kernels of the common 2D/3D case: agreement with the numba fast path, build cache, fallback, light CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from mgcore import _ckernels
from mgcore._ckernels.solver import c_solver
from mgcore.problems import get_problem, poisson, poisson2d
from mgcore.sparse import MultigridSolver

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")


def _source(x, y):
    return np.sin(np.pi * x) * np.sin(np.pi * y) + np.cos(2 * np.pi * x) + x * y


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    """An empty kernel cache and a process that has not loaded the library yet."""
    monkeypatch.setenv("MGCORE_CACHE_DIR", str(tmp_path))
    monkeypatch.delenv(_ckernels.ENV_SWITCH, raising=False)
    _ckernels._reset()
    yield tmp_path / "ckernels"
    _ckernels._reset()


def _csolver(problem, **kw):
    solver, why = c_solver(problem, quiet=True, **kw)
    assert solver is not None, f"the C kernels should cover this case: {why}"
    return solver


@pytest.mark.parametrize("shape, nu, smoother", [
    (63, (2, 2), None), (255, (2, 2), None), ((63, 127), (2, 2), None), (127, (1, 1), None),
    (127, (2, 1), "rbgs"), (127, (0, 2), None), (127, (2, 2), ("rbgs", {"order": "symmetric"})), (15, (2, 2), None),
    ((31, 31, 31), (2, 2), None), ((15, 31, 63), (2, 2), None), ((63, 63, 63), (1, 2), None), ((7, 7, 7), (2, 2), None),
    ((31, 31, 31), (2, 2), ("rbgs", {"order": "symmetric"})),
])
def test_iterates_agree_with_the_numba_fast_path(shape, nu, smoother):
    p = poisson(len(shape), shape) if isinstance(shape, tuple) else poisson2d(shape)
    b = p.rhs(_source if p.dim == 2 else (lambda x, y, z: _source(x, y) * (1 + z)))
    cs = _csolver(p, nu=nu, smoother=smoother)
    ns = MultigridSolver(p, nu=nu, smoother=smoother, fast=True, precision="float64")
    assert cs.J == ns.J
    for k in (1, 2, 4):
        rc = cs.solve(b, rtol=1e-14, maxiter=k)
        rn = ns.solve(b, rtol=1e-14, maxiter=k)
        assert rc.iterations == rn.iterations
        err = np.abs(rc.x - rn.x).max() / np.abs(rn.x).max()
        assert err <= 1e-12, f"{k} cycles: relative difference {err:.2e}"
        # the residual history agrees while it is well above round-off
        for a, c in zip(rc.residuals, rn.residuals):
            if c > 1e-6 * rn.residuals[0]:
                assert a == pytest.approx(c, rel=1e-9)


def test_converged_solve_reports_the_kernels_and_matches_numba():
    p = get_problem("poisson2d", 255)
    b = p.rhs(_source)
    rc = _csolver(p).solve(b, rtol=1e-8)
    rn = MultigridSolver(p, precision="float64").solve(b, rtol=1e-8)
    assert rc.converged and rc.iterations == rn.iterations
    assert rc.info["path"] == "fast" and rc.info["kernels"] == "c"
    assert rn.info["path"] == "fast" and rn.info.get("kernels") != "c"
    assert rc.info["levels"] == rn.info["levels"] and rc.info["n_unknowns"] == rn.info["n_unknowns"]
    assert np.abs(rc.x - rn.x).max() <= 1e-12 * np.abs(rn.x).max()
    assert rc.x.shape == b.shape  # flat in, flat out
    xg = _csolver(p).solve(b.reshape(p.shape), rtol=1e-8).x
    assert xg.shape == p.shape


@pytest.mark.parametrize("problem, kw, why", [
    (get_problem("poisson2d", 65, bc="neumann"), {}, "Neumann"),
    (get_problem("poisson1d", 15), {}, "1D"),
    (get_problem("variable3d", 15), {}, "variable"),
    (get_problem("variable2d", 63), {}, "variable"),
    (get_problem("anisotropic2d", 63), {}, "anisotropic"),
    (poisson2d(63), {"cycle": "W"}, "V-cycle"),
    (poisson2d(63), {"dtype": "float32"}, "precision"),
    (poisson2d(63), {"threads": 2}, "threads"),
    (poisson2d(63), {"fmg": True}, "FMG"),
    (poisson2d(63), {"smoother": "jacobi"}, "red-black"),
    (poisson2d(64), {}, "nested"),
])
def test_uncovered_configurations_are_refused_with_the_reason(problem, kw, why):
    solver, reason = c_solver(problem, quiet=True, **kw)
    assert solver is None and why in reason


def test_bad_input_is_refused_before_work():
    s = _csolver(poisson2d(31))
    with pytest.raises(ValueError, match="b must have shape"):
        s.solve(np.ones(5))
    with pytest.raises(ValueError, match="NaN"):
        s.solve(np.full(31 * 31, np.nan))
    with pytest.raises(ValueError, match="accel"):
        s.solve(np.ones(31 * 31), accel="cg")


def test_first_build_is_announced_once_then_reused(fresh_cache, capsys):
    assert _ckernels.load() is not None
    st = _ckernels.status()
    assert st["compiled"] and st["compile_seconds"] > 0 and st["loaded"] is True
    err = capsys.readouterr().err
    assert err.count("mgcore: compiled the C multigrid kernels") == 1 and "\n" == err[-1] and err.count("\n") == 1
    libs = os.listdir(fresh_cache)
    assert len(libs) == 1 and libs[0].startswith("mgkernels-") and libs[0] == os.path.basename(st["path"])
    _ckernels._reset()  # a new process: the cached library is loaded, not rebuilt
    assert _ckernels.load() is not None
    assert not _ckernels.status()["compiled"] and capsys.readouterr().err == ""
    assert os.listdir(fresh_cache) == libs  # written atomically: no temporary files left behind


def test_cache_key_follows_the_compiler(fresh_cache, monkeypatch):
    a = _ckernels.library_path()
    monkeypatch.setenv("CC", _ckernels.compiler()[0] + " -DMGK_OTHER")
    assert _ckernels.library_path() != a


def test_missing_compiler_falls_back_quietly(fresh_cache, monkeypatch, capsys):
    monkeypatch.setenv("CC", "/nonexistent/bin/cc")
    assert _ckernels.load() is None
    assert "no C compiler" in _ckernels.status()["reason"]
    solver, why = c_solver(poisson2d(31))
    assert solver is None and "no C compiler" in why
    assert capsys.readouterr().err == ""  # a debug-level log record, no warning
    assert not fresh_cache.exists() or os.listdir(fresh_cache) == []


def test_failing_compilation_leaves_no_files(fresh_cache, monkeypatch):
    monkeypatch.setenv("CC", "false")  # a "compiler" that always fails
    assert _ckernels.load(quiet=True) is None
    assert "failed" in _ckernels.status()["reason"]
    assert os.listdir(fresh_cache) == []


def test_switch_off(fresh_cache, monkeypatch):
    monkeypatch.setenv(_ckernels.ENV_SWITCH, "0")
    assert _ckernels.load() is None and "switched off" in _ckernels.status()["reason"]


_WRAPPER = (
    "import sys; from mgcore.cli import main; rc = main(sys.argv[1:]); "
    "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'numba', 'torch'}); "
    "print('HEAVY=' + ','.join(heavy), file=sys.stderr); sys.exit(rc)"
)


def _cli(*args, env=None):
    p = subprocess.run([sys.executable, "-c", _WRAPPER, *args], capture_output=True, text=True, env=env or ENV,
                       timeout=600)
    assert p.returncode == 0, p.stderr
    heavy = [ln for ln in p.stderr.splitlines() if ln.startswith("HEAVY=")][0][len("HEAVY="):]
    return json.loads(p.stdout), heavy, p.stderr


def test_cli_common_case_imports_neither_numba_nor_scipy():
    d, heavy, _ = _cli("solve", "--problem", "poisson2d", "--n", "63", "--json")
    assert heavy == ""
    assert d["converged"] and d["path"] == "fast" and d["kernels"] == "c" and d["levels"] == 3
    d3, heavy3, _ = _cli("solve", "--problem", "poisson3d", "--n", "15", "--json")
    assert heavy3 == "" and d3["converged"] and d3["kernels"] == "c"
    dm, heavy_m, _ = _cli("solve", "--problem", "poisson2d", "--n", "63", "--json", "--dtype", "mixed")
    assert heavy_m == "" and dm["converged"] and dm["kernels"] == "c" and dm["precision"] == "mixed"
    assert dm["iterations"] == d["iterations"]
    dm3, heavy_m3, _ = _cli("solve", "--problem", "poisson3d", "--n", "15", "--json", "--dtype", "mixed")
    assert heavy_m3 == "" and dm3["converged"] and dm3["kernels"] == "c" and dm3["iterations"] == d3["iterations"]
    dn, heavy_n, _ = _cli("solve", "--problem", "poisson2d", "--n", "63", "--json", "--fast", "off")
    assert "scipy" in heavy_n and dn["path"] == "sparse"
    assert dn["iterations"] == d["iterations"]


def test_cli_without_compiler_runs_on_numba(tmp_path):
    env = dict(ENV, CC="/nonexistent/bin/cc", MGCORE_CACHE_DIR=str(tmp_path))
    d, heavy, err = _cli("solve", "--problem", "poisson2d", "--n", "63", "--json", env=env)
    assert d["converged"] and d["path"] == "fast" and d.get("kernels") != "c"
    assert "numba" in heavy and "C kernels" not in err
