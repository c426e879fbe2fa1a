"""``mgcore learn-smoother`` as a user runs it: train, save, plot, evaluate; then solve with the file."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MPLBACKEND="Agg")
TINY = ["--size", "15", "--steps", "4", "--problems", "2", "--batch", "2", "--warmup", "1", "--cycles", "2",
        "--eval-problems", "1", "--maxiter", "30", "--rtol", "1e-6"]


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "mgcore", *args], capture_output=True, text=True, env=ENV,
                          timeout=600, cwd=cwd)


@pytest.mark.slow  # two fresh interpreters (torch and matplotlib imports): ~20-50 s on a shared 2-core machine
def test_learn_smoother_json_file_plot_and_solve(tmp_path):
    out = tmp_path / "smoother.npz"
    p = run("learn-smoother", "--problem", "anisotropic2d", "--eps-range", "1e-2", "1", *TINY,
            "--eval-sizes", "31", "63", "--out", str(out), "--json")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["out"] == str(out) and d["plot"] == str(tmp_path / "smoother.png")
    assert out.is_file() and (tmp_path / "smoother.png").stat().st_size > 1000
    assert len(d["history"]) == 4 and all(np.isfinite(d["history"]))
    assert set(d["held_out"]["factors"]) == {"learned", "jacobi", "rbgs"}
    rows = d["evaluation"]
    assert {(r["n"], r["smoother"]) for r in rows} == {(n, s) for n in (31, 63) for s in ("learned", "jacobi", "rbgs")}
    for r in rows:
        assert 0 < r["factor"] < 1 and r["work_per_cycle"] > 0 and r["lfa"] is not None
    with np.load(out, allow_pickle=False) as z:
        assert np.array_equal(z["kernels"], np.asarray(d["kernels"]))
    assert "\r" not in p.stderr  # no progress bar when stderr is not a terminal
    # the file is a smoother of `mgcore solve`
    s = run("solve", "--problem", "anisotropic2d", "--eps", "0.3", "--n", "63", "--smoother", f"stencil:file={out}",
            "--fast", "off", "--json")
    assert s.returncode == 0, s.stderr
    assert json.loads(s.stdout)["converged"] is True


def test_learn_smoother_table_output(tmp_path, monkeypatch, capsys):
    from mgcore.cli import main  # in-process: shares the imports of the test session

    monkeypatch.chdir(tmp_path)
    rc = main(["learn-smoother", "--problem", "variable2d", "--contrast-range", "1", "100", "--colours", "red-black",
               "--kernel-size", "1", "--sweeps", "2", *TINY, "--eval-sizes", "31", "--plot", "none"])
    out = capsys.readouterr().out
    assert rc == 0
    assert "training-pool factor" in out and "held-out problems" in out
    for word in ("learned", "jacobi", "rbgs", "work/digit"):
        assert word in out
    assert (tmp_path / "smoother.npz").is_file() and not (tmp_path / "smoother.png").exists()


@pytest.mark.parametrize("args,message", [
    (["--out", "s.txt"], "--out must end in .npz"),
    (["--size", "30"], "--size must be 2^k - 1"),
    (["--eval-sizes", "100"], "--eval-sizes must be 2^k - 1"),
    (["--eval-sizes", "15"], "solved directly"),
    (["--eps-range", "1", "0.1"], "LOW <= HIGH"),
    (["--plot", "curve.gif"], "must end in one of"),
    (["--kernel-size", "4"], "must be odd"),
    (["--kind", "roots", "--colours", "red-black"], "--kind roots"),
    (["--objective", "lfa", "--problem", "variable2d"], "--objective lfa needs constant coefficients"),
])
def test_learn_smoother_bad_arguments(tmp_path, args, message):
    p = run("learn-smoother", *args, cwd=tmp_path)
    assert p.returncode == 2
    assert message in p.stderr
    assert not any(tmp_path.iterdir())  # refused before any work


def test_solve_with_a_missing_or_corrupted_smoother_file(tmp_path):
    p = run("solve", "--n", "31", "--smoother", f"stencil:file={tmp_path / 'missing.npz'}", "--fast", "off")
    assert p.returncode == 2 and "does not exist" in p.stderr
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    p = run("solve", "--n", "31", "--smoother", f"stencil:file={bad}", "--fast", "off")
    assert p.returncode == 2 and "corrupted" in p.stderr


def test_help_lists_the_subcommand():
    p = run("--help")
    assert "learn-smoother" in p.stdout
    p = run("learn-smoother", "--help")
    assert p.returncode == 0 and "--eps-range" in p.stdout and "--eval-sizes" in p.stdout
