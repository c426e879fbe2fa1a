"""``mgcore solve --backend petsc`` under mpiexec, as a user runs it (rank 0 prints)."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from mgcore.petsc import petsc_available

needs_petsc = pytest.mark.skipif(not petsc_available(), reason="petsc4py is not installed (install route: docs/petsc.md)")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "ORTE_", "OPAL_"))}
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_btl_vader_single_copy_mechanism="none", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
        OMPI_MCA_mpi_yield_when_idle="1",  # a waiting rank yields its core (oversubscribed, shared machine)
    )
    return env


def mgcore_mpi(ranks: int, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    assert shutil.which("mpiexec"), "petsc4py is installed but mpiexec is not on PATH (apt-get install openmpi-bin)"
    cmd = ["mpiexec", "-n", str(ranks), sys.executable, "-m", "mgcore", "solve", "--backend", "petsc", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}")
    return p


@needs_petsc
def test_json_is_printed_once_by_rank_0_and_histories_agree():
    args = ["--problem", "poisson3d", "--n", "31", "--smoother", "chebyshev", "--json"]
    one = mgcore_mpi(1, *args)
    two = mgcore_mpi(2, *args)
    assert len(two.stdout.strip().splitlines()) == 1
    d1, d2 = json.loads(one.stdout), json.loads(two.stdout)
    assert d1["converged"] and d2["converged"] and d2["ranks"] == 2 and d1["ranks"] == 1
    assert d2["backend"] == "petsc" and d2["path"] == "petsc" and d2["n_unknowns"] == 31 ** 3 and d2["levels"] == 3
    assert d2["convergence_factor"] < 0.2 and d2["residuals"][-1] <= 1e-8 * d2["residuals"][0]
    assert len(d1["residuals"]) == len(d2["residuals"])
    r0 = d1["residuals"][0]
    assert max(abs(a - b) for a, b in zip(d1["residuals"], d2["residuals"])) <= 1e-10 * r0


@needs_petsc
def test_table_output_with_cg_and_w_cycle():
    p = mgcore_mpi(2, "--problem", "poisson2d", "--n", "127", "--cycle", "W", "--accel", "cg", "--smoother", "sgs")
    assert p.stdout.count("PetscMultigridSolver(poisson2d, PETSc PCMG on 2 rank(s)") == 1
    assert p.stdout.count("converged (converged)") == 1 and "127x127" in p.stdout


@needs_petsc
def test_bad_options_exit_with_status_2():
    p = mgcore_mpi(1, "--problem", "poisson2d", "--n", "31", "--smoother", "rbgs", check=False)
    assert p.returncode != 0 and "no red-black Gauss-Seidel" in p.stderr
    p = mgcore_mpi(1, "--problem", "poisson2d", "--n", "31", "--cycle", "F", check=False)
    assert p.returncode != 0 and "V- and W-cycles" in p.stderr


def test_missing_petsc_gives_the_install_hint():
    code = ("import sys; sys.modules['petsc4py'] = None; from mgcore.cli import main; "
            "sys.exit(main(['solve', '--backend', 'petsc', '--problem', 'poisson2d', '--n', '31']))")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 2 and "apt-get install -y petsc-dev" in p.stderr and "Traceback" not in p.stderr
