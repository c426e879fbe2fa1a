"""Drive the ``mgcore`` command line as a user would."""

import json
import os
import subprocess
import sys

import pytest

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def run(*args, check=True):
    p = subprocess.run([sys.executable, "-m", "mgcore", *args], capture_output=True, text=True, env=ENV, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"mgcore {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


@pytest.mark.parametrize("sub", [[], ["solve"], ["train"], ["demo"], ["models"]])
def test_every_subcommand_has_help(sub):
    p = run(*sub, "--help")
    assert "usage: mgcore" in p.stdout


def test_solve_json_has_the_documented_fields():
    p = run("solve", "--problem", "poisson2d", "--n", "127", "--rtol", "1e-8", "--json")
    d = json.loads(p.stdout)
    for key in ("converged", "iterations", "residuals", "convergence_factor", "setup_seconds", "solve_seconds", "n_unknowns"):
        assert key in d
    assert d["converged"] is True and d["n_unknowns"] == 127 * 127
    assert d["convergence_factor"] <= 0.1
    assert d["residuals"][-1] <= 1e-8 * d["residuals"][0]
    assert len(d["residuals"]) == d["iterations"] + 1


def test_solve_table_and_plot(tmp_path):
    png = tmp_path / "hist.png"
    p = run("solve", "--problem", "poisson3d", "--n", "15", "--accel", "cg", "--smoother", "jacobi", "--plot", str(png))
    assert "converged" in p.stdout and "iter" in p.stdout and "setup" in p.stdout
    assert png.exists() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_solve_with_options_and_neumann():
    p = run("solve", "--problem", "poisson2d", "--bc", "neumann", "--n", "65", "--cycle", "W",
            "--smoother", "chebyshev:degree=3", "--fast", "off", "--json")
    d = json.loads(p.stdout)
    assert d["converged"] and d["cycle"] == "W"


def test_bad_input_gives_a_clear_error():
    p = run("solve", "--n", "1", "--bc", "neumann", check=False)
    assert p.returncode == 2 and "n = 1 is not allowed" in p.stderr
    p = run("solve", "--smoother", "nonsense", "--n", "15", check=False)
    assert p.returncode == 2 and "allowed names" in p.stderr
    p = run("solve", "--problem", "nope", check=False)
    assert p.returncode == 2 and "invalid choice" in p.stderr


def test_not_converged_returns_nonzero():
    p = run("solve", "--n", "63", "--maxiter", "1", "--rtol", "1e-12", check=False)
    assert p.returncode == 1 and "NOT converged" in p.stdout


def test_train_mgnet_small_on_digits_reaches_high_accuracy(tmp_path):
    ckpt = tmp_path / "ckpt.pt"
    p = run("train", "--model", "mgnet-small", "--data", "digits", "--epochs", "6", "--seed", "0",
            "--threads", "2", "--checkpoint", str(ckpt), "--json")
    d = json.loads(p.stdout.strip().splitlines()[-1])
    assert d["test_accuracy"] >= 0.9, d["test_accuracy"]
    assert ckpt.exists()
    # resuming a finished run trains no further epoch and reports the same accuracy
    p2 = run("train", "--model", "mgnet-small", "--data", "digits", "--epochs", "6", "--seed", "0",
             "--threads", "2", "--checkpoint", str(ckpt), "--resume", "--json")
    d2 = json.loads(p2.stdout.strip().splitlines()[-1])
    assert abs(d2["test_accuracy"] - d["test_accuracy"]) < 1e-12


def test_solve_with_the_torch_backend_matches_the_sparse_backend():
    a = json.loads(run("solve", "--n", "127", "--dtype", "float64", "--json").stdout)
    b = json.loads(run("solve", "--n", "127", "--backend", "torch", "--json").stdout)
    assert a["iterations"] == b["iterations"]
    assert np_allclose(a["residuals"], b["residuals"], 1e-10)
    c = json.loads(run("solve", "--n", "127", "--backend", "torch", "--dtype", "mixed", "--json").stdout)
    assert c["converged"] and c["residuals"][-1] <= 1e-8 * c["residuals"][0]


def np_allclose(x, y, rtol):
    """Equal histories up to round-off relative to the initial residual."""
    return len(x) == len(y) and all(abs(p - q) <= rtol * x[0] for p, q in zip(x, y))


def test_models_lists_the_registry():
    p = run("models")
    names = [line.split()[0] for line in p.stdout.splitlines() if line.strip()]
    for required in ("mgnet-2222-256-Bl", "mgnet-2222-256-Bli", "poly-mgnet-q2", "mgnet-AB", "resnet18", "mgnet-small"):
        assert required in names


def test_demo_runs_end_to_end_small():
    p = run("demo", "--n", "127", "--epochs", "2")
    out = p.stdout
    assert "2D Poisson" in out and "converged" in out and "MgNet on the digits data" in out
    assert "test" in out.lower()
