"""Every gallery problem, both boundary conditions, a non-power-of-two size and a
rectangle, through ``mgcore solve`` with default settings: converged to 1e-8, or
stopped as stagnated at an attainable level below 1e-7."""

import json
import warnings

import pytest

from mgcore.cli import main
from mgcore.problems import PROBLEMS

SIZES = {1: ["37", "64"], 2: ["45", "40x24"], 3: ["13", "12x10x9"]}
DIM = {name: (1 if "1d" in name else 3 if "3d" in name else 2) for name in PROBLEMS}
CASES = [(name, bc, n) for name in PROBLEMS for bc in ("dirichlet", "neumann") for n in SIZES[DIM[name]]]


@pytest.mark.parametrize("name,bc,n", CASES, ids=[f"{a}-{b}-{c}" for a, b, c in CASES])
def test_every_gallery_problem_converges_with_defaults(name, bc, n, capsys):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. "using assembled matrices" for non-nested sizes
        rc = main(["solve", "--problem", name, "--n", n, "--bc", bc, "--json"])
    d = json.loads(capsys.readouterr().out)
    rel = d["residuals"][-1] / d["residuals"][0]
    if d["reason"] == "stagnated":
        assert rc == 3 and d["attainable_rtol"] < 1e-7
    else:
        assert rc == 0 and d["reason"] == "converged" and rel <= 1e-8
    assert d["convergence_factor"] < 0.8
    assert d["iterations"] <= 60
