"""``mgcore spectrum`` driven as a user would (fresh processes)."""

import json
import os
import subprocess
import sys

import pytest

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", MPLBACKEND="Agg")
PNG = b"\x89PNG\r\n\x1a\n"


def run(*args, check=True, cwd=None):
    p = subprocess.run([sys.executable, "-m", "mgcore", "spectrum", *args], capture_output=True, text=True, env=ENV,
                       timeout=600, cwd=cwd)
    if check and p.returncode != 0:
        raise AssertionError(f"mgcore spectrum {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def test_help():
    p = run("--help")
    assert "usage: mgcore spectrum" in p.stdout and "--checkpoint" in p.stdout


def test_problem_summary_json_and_pictures(tmp_path):
    out = tmp_path / "pics"
    p = run("--problem", "poisson2d", "--n", "31", "--measure", "--json", "--out", str(out))
    d = json.loads(p.stdout)
    assert d["source"] == "problem" and d["problem"] == "poisson2d" and len(d["levels"]) == 2
    assert d["levels"][0]["spectrum"] == "exact" and d["levels"][0]["unknowns"] == 31 * 31
    ana = d["lfa"]
    assert ana["mu"] == pytest.approx(0.25, abs=1e-6) and ana["rho_2g"] == pytest.approx(2 / 27, abs=1e-4)
    assert ana["measured_V"] == pytest.approx(ana["rho_V_n"], rel=0.1)
    pol = d["polynomial"]
    assert len(pol["roots"]) == 4 and pol["max_q_target"] < 0.2 and pol["max_q_all"] <= 1.0 + 1e-12
    for name in ("eigenvalues.png", "polynomial.png", "smoothing.png"):
        f = out / name
        assert str(f) in d["plots"] and f.read_bytes()[:8] == PNG
    assert not [x for x in os.listdir(out) if x.startswith(".tmp-")]  # written atomically, nothing left over


def test_text_summary_with_options(tmp_path):
    p = run("--problem", "anisotropic2d", "--eps", "0.01", "--n", "31", "--smoother", "line-gs:axis=1",
            "--method", "chebyshev", "--no-plots", cwd=tmp_path)
    assert "smoothing factor mu" in p.stdout and "line-gs" in p.stdout and "chebyshev" in p.stdout
    assert not os.listdir(tmp_path)  # --no-plots writes nothing
    p = run("--problem", "variable2d", "--n", "15", "--no-plots")
    assert "constant coefficients" in p.stdout and "dense" in p.stdout
    p = run("--problem", "poisson2d", "--n", "100", "--no-plots")  # not nested: no predictions for this grid
    assert "not nested" in p.stdout and "infinite grid" in p.stdout


def test_checkpoint_kernels(tmp_path, capsys):
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    sd = {"A.0.weight": torch.randn(4, 4, 3, 3), "A.1.weight": torch.randn(8, 8, 3, 3), "B.0.weight": torch.randn(4, 4, 3, 3)}
    ck = tmp_path / "model.pt"
    torch.save({"model": sd, "epoch": 3}, ck)
    p = run("--checkpoint", str(ck), "--grid", "8", "--degree", "6", "--json", "--out", str(tmp_path / "out"))
    d = json.loads(p.stdout)
    assert d["source"] == "checkpoint" and [e["key"] for e in d["levels"]] == ["A.0.weight", "A.1.weight"]
    assert [e["grid"] for e in d["levels"]] == [[8, 8], [4, 4]] and d["levels"][0]["count"] == 4 * 64
    first = d["levels"][0]["roots"]
    assert len(first) == 4 and isinstance(first[0], float) and all("pair" in r for r in first[2:])
    assert all((tmp_path / "out" / f).read_bytes()[:8] == PNG for f in ("eigenvalues.png", "polynomial.png", "smoothing.png"))
    from mgcore.cli import main  # the text summary, in this process (torch is loaded already)

    assert main(["spectrum", "--checkpoint", str(ck), "--grid", "8", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "A.1.weight" in out and "Alg. 3" in out

def test_bad_input_gives_clear_errors(tmp_path, capsys):
    p = run("--problem", "poisson2d", "--n", "0", "--no-plots", check=False)
    assert p.returncode == 2 and "expected a positive integer" in p.stderr
    p = run("--checkpoint", str(tmp_path / "missing.pt"), check=False)
    assert p.returncode == 2 and "no checkpoint" in p.stderr
    from mgcore.cli import main  # the remaining error paths in this process

    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    cases = [
        (["--problem", "poisson2d", "--n", "15", "--smoother", "nonsense", "--no-plots"], "allowed names"),
        (["--problem", "poisson2d", "--eps", "0.1", "--no-plots"], "--eps applies"),
        (["--checkpoint", str(tmp_path / "junk.pt")], "not a loadable checkpoint"),
        (["--checkpoint", str(tmp_path / "junk.pt"), "--key", "("], "not a valid regular expression"),
    ]
    for argv, msg in cases:
        assert main(["spectrum", *argv]) == 2
        assert msg in capsys.readouterr().err
