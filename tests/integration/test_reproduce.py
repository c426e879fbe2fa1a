"""``mgcore reproduce --quick``: the CI-sized reproduction report (Markdown + PNGs + JSON)."""

import json
import os
import subprocess
import sys

import pytest

from mgcore_torch.reproduce import paper_matches, reproduce
from mgcore_torch.reproduce_tables import COUNT_ROWS, EXPERIMENTS

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1")


def test_quick_report(tmp_path):
    out = tmp_path / "rep"
    p = subprocess.run([sys.executable, "-m", "mgcore", "reproduce", "--quick", "--out", str(out)],
                       capture_output=True, text=True, env=ENV, timeout=600)
    assert p.returncode == 0, p.stdout + p.stderr
    assert "report written to" in p.stdout
    rep = json.loads((out / "report.json").read_text())
    md = (out / "report.md").read_text()
    assert rep["settings"]["quick"] and rep["settings"]["datasets"] == ["digits"]
    # every count row is there; the rows derived from the authors' code are exact
    assert len(rep["counts"]) == len(COUNT_ROWS)
    exact = {c["label"]: c["ours"] for c in rep["counts"] if c["reference"] is not None}
    assert all(c["status"] == "exact" for c in rep["counts"] if c["reference"] is not None)
    assert exact["Poly-MgNet^{q2}"] == 1_386_706 and exact["MgNet^{A,B}"] == 2_750_666
    assert exact["MgNet[2,2,2,2]-256-B^l (CIFAR-10)"] == 8_278_794
    # every table is there, two rows each, with the paper's figure beside a measured accuracy
    assert [e["key"] for e in rep["experiments"]] == [e.key for e in EXPERIMENTS]
    for exp in rep["experiments"]:
        assert len(exp["rows"]) == 2 and (out / exp["png"]).stat().st_size > 1000
        for row in exp["rows"]:
            m = row["measured"]["digits"]
            assert 0.0 <= m["mean"] <= 100.0 and len(m["accuracies"]) == 1 and m["epochs"] == [1]
            assert row["params"] > 0
        assert f"## {exp['title']}" in md and f"({exp['png']})" in md
    assert "71.36" in md and "93.04" in md  # He, Xu, Zhang & Zhu, 2023, Table 1, first two rows: the paper figures beside
    assert not list(out.glob(".tmp-*"))  # atomic writes leave no temporary files


def test_paper_matches_rounding_and_truncation():
    assert paper_matches("8.2M", 8_278_794)  # truncated
    assert paper_matches("8.3M", 8_278_794)  # rounded
    assert paper_matches("11M", 11_173_962)
    assert not paper_matches("9.7M", 11_183_268)
    assert not paper_matches("", 1)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="datasets must be"):
        reproduce(tmp_path, quick=True, datasets=("cifar10",), log=None)
    with pytest.raises(ValueError, match="tables must be among"):
        reproduce(tmp_path, quick=True, tables=("table99",), log=None)
    with pytest.raises(ValueError, match="budget must be a positive"):
        reproduce(tmp_path, budget=-1.0, log=None)
    with pytest.raises(ValueError, match="seeds must be a positive int"):
        reproduce(tmp_path, quick=True, seeds=0, log=None)
    assert not list(tmp_path.iterdir())  # nothing written before the checks


def test_help_lists_the_options():
    p = subprocess.run([sys.executable, "-m", "mgcore", "reproduce", "--help"], capture_output=True, text=True,
                       env=ENV, timeout=300)
    assert p.returncode == 0 and "usage: mgcore reproduce" in p.stdout
    for opt in ("--quick", "--out", "--data", "--budget", "--seeds", "--tables", "--fashion-size", "--device"):
        assert opt in p.stdout
