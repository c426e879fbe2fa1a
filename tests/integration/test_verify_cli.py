"""``mgcore verify`` as a user runs it: all identities pass; a broken identity exits 1 and shows its row."""

import json
import os
import subprocess
import sys

import numpy as np

import mgcore.cycles
import mgcore.polynomials
from mgcore.cli import main

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run(*args):
    return subprocess.run([sys.executable, "-m", "mgcore", "verify", *args], capture_output=True, text=True, env=ENV,
                          timeout=600)


def test_verify_passes_and_prints_the_table():
    p = run("--examples", "5", "--seed", "1")
    assert p.returncode == 0, p.stdout + p.stderr
    head = p.stdout.splitlines()[0].split()
    assert head == ["check", "identity", "reference", "backend", "instances", "max", "error", "tolerance", "result"]
    for row in ["thm-6.1/sparse", "thm-6.1/torch-mgnet", "lemma-4.1/torch=sparse", "thm-8.3/torch", "thm-4.1/sparse",
                "torch=sparse-iterates", "poly-factors/core"]:
        line = next(ln for ln in p.stdout.splitlines() if ln.startswith(row + " "))
        assert line.rstrip().endswith("pass"), line
    assert " 0 failed, 0 skipped" in p.stdout


def test_verify_json_and_seed_and_examples():
    p = run("--json", "--examples", "2", "--seed", "7", "--only", "thm-6.1/*", "--only", "poly-factors/core")
    assert p.returncode == 0, p.stderr
    d = json.loads(p.stdout)
    assert d["passed"] is True and d["seed"] == 7 and d["examples"] == 2
    names = [c["name"] for c in d["checks"]]
    assert names[0] == "poly-factors/core" or "thm-6.1/sparse" in names
    assert set(names) == {"poly-factors/core", "thm-6.1/sparse", "thm-6.1/torch-poisson", "thm-6.1/torch-mgnet"}
    for c in d["checks"]:
        assert c["instances"] == 2 and c["status"] == "pass" and 0 <= c["max_error"] <= c["tolerance"]
        assert c["reference"] and c["identity"] and c["measures"]


def test_verify_list_help_and_bad_selection():
    p = run("--list")
    assert p.returncode == 0 and "thm-8.1/torch" in p.stdout and "Thm. 8.1" in p.stdout
    p = run("--backend", "core", "--list")
    assert p.returncode == 0 and "thm-8.1" not in p.stdout and "poly-factors/core" in p.stdout
    assert "usage: mgcore verify" in run("--help").stdout
    p = run("--only", "no-such-check")
    assert p.returncode == 2 and "matches no check" in p.stderr and "thm-6.1/sparse" in p.stderr


def test_breaking_theorem_6_1_on_purpose_fails_with_the_row_shown(monkeypatch, capsys):
    """MgNet that forgets the ``+ A^{l+1} u^{l+1,0}`` term of (6.6) no longer equals MG0."""
    real = mgcore.cycles.mgnet

    def broken_mgnet(h, f, nu, u0=None):
        states = real(h, f, nu, u0)
        for s in states[1:]:
            s.f = s.f * (1 + 1e-6)  # a relative perturbation far above the 1e-12 tolerance
        return states

    monkeypatch.setattr(mgcore.cycles, "mgnet", broken_mgnet)
    rc = main(["verify", "--only", "thm-6.1/*", "--only", "thm-8.3/sparse", "--examples", "3"])
    out = capsys.readouterr().out
    assert rc == 1
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith(("thm-6.1/", "thm-8.3/"))}
    assert rows["thm-6.1/sparse"].rstrip().endswith("FAIL")
    assert rows["thm-6.1/torch-mgnet"].rstrip().endswith("FAIL")
    assert rows["thm-8.3/sparse"].rstrip().endswith("pass")  # does not use mgnet
    assert "FAIL thm-6.1/sparse: instance 0" in out and "f: MgNet vs MG0 + A u0" in out
    assert "1 checks passed, 3 failed, 0 skipped" in out


def test_breaking_the_polynomial_identities_fails_in_json(monkeypatch, capsys):
    real = mgcore.polynomials.roots_to_coefficients

    def broken(roots=(), g=()):
        c = list(real(roots, g))
        c[0] = c[0] * 1.01
        return c

    monkeypatch.setattr(mgcore.polynomials, "roots_to_coefficients", broken)
    rc = main(["verify", "--json", "--only", "poly-*", "--examples", "4"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 1 and d["passed"] is False
    status = {c["name"]: c["status"] for c in d["checks"]}
    assert status["poly-factors/core"] == "FAIL" and status["poly-smoother/sparse"] == "FAIL"
    failing = next(c for c in d["checks"] if c["name"] == "poly-factors/core")
    assert failing["max_error"] > failing["tolerance"] and "instance" in failing["failure"]
    assert np.isfinite(failing["max_error"])
