"""The check registry of ``mgcore verify`` and the random instances of :mod:`mgcore.testing`."""

import math
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings

import mgcore.testing as mt
from mgcore.verify import CheckResult, Measure, all_checks, format_table, get_check, register, run_check, run_checks
from mgcore.verify import registry

ROOT = pathlib.Path(__file__).resolve().parents[1]


# ----------------------------------------------------------------------------- registry
def test_registry_names_references_and_backends():
    checks = all_checks()
    names = [c.name for c in checks]
    assert len(names) == len(set(names)) >= 20
    for c in checks:
        assert c.backend in ("core", "sparse", "torch", "torch = sparse"), c.name
        assert any(str(y) in c.reference for y in range(1950, 2030)), f"{c.name}: reference needs a year"
        assert c.identity and c.statement and len(c.identity) <= 45, c.name
    # the identities the documentation promises are all there, in both backends where they apply
    for required in ["thm-6.1/sparse", "thm-6.1/torch-mgnet", "lemma-4.1/torch=sparse", "eq-5.5/torch=sparse",
                     "eq-5.7-5.9/torch", "thm-8.1/torch", "thm-8.1/sparse", "lemma-8.2/torch", "lemma-8.2/sparse",
                     "thm-8.3/torch", "thm-8.3/sparse", "thm-4.1/torch", "thm-4.1/sparse", "poly-factors/core",
                     "torch=sparse-iterates"]:
        assert required in names


def test_every_check_is_also_a_property_test():
    """One implementation, two users: each registered check is run by a hypothesis test in tests/properties."""
    text = "\n".join(p.read_text() for p in (ROOT / "tests" / "properties").glob("test_*.py"))
    missing = [c.name for c in all_checks() if f'"{c.name}"' not in text]
    assert not missing, f"checks without a property test: {missing}"


def test_get_check_unknown_name_lists_the_known_ones():
    with pytest.raises(KeyError, match="thm-6.1/sparse"):
        get_check("no-such-identity")


def test_measure_semantics():
    assert Measure("a", 1e-13, 1e-12).ok and not Measure("a", 1e-11, 1e-12).ok
    assert not Measure("nan", math.nan, 1.0).ok and Measure("nan", math.nan, 1.0).ratio == math.inf
    assert Measure.fact("yes", True).ok and not Measure.fact("no", False).ok
    assert Measure.fact("yes", True).ratio == 0.0 and Measure("x", 5e-13, 1e-12).ratio == pytest.approx(0.5)


def test_run_check_is_reproducible_per_seed_and_independent_of_other_checks():
    c = get_check("thm-6.1/sparse")
    a, b = run_check(c, examples=4, seed=3), run_check(c, examples=4, seed=3)
    assert a.passed and a.instances == 4 and a.max_error == b.max_error
    # the instances of one check come from its own stream: selecting others does not change them
    both = run_checks(["poly-factors/core", "thm-6.1/sparse"], examples=4, seed=3)
    by_name = {r.name: r for r in both}
    assert sorted(by_name) == ["poly-factors/core", "thm-6.1/sparse"] and by_name["thm-6.1/sparse"].max_error == a.max_error
    assert run_check(c, examples=4, seed=4).max_error != a.max_error


def test_deterministic_checks_run_once():
    r = run_check(get_check("lemma-4.1-kernels/torch"), examples=7)
    assert r.passed and r.instances == 1 and r.max_error == 0.0


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="examples"):
        run_checks(examples=0)
    with pytest.raises(ValueError, match="seed"):
        run_checks(seed=-1)
    with pytest.raises(ValueError, match="matches no check"):
        run_checks(["nope/*"])


@pytest.fixture
def scratch_registry(monkeypatch):
    """Checks registered inside a test disappear after it."""
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))
    return registry._REGISTRY


def test_a_new_identity_is_one_registered_function(scratch_registry):
    @register("demo/core", identity="x + 0 = x", reference="Peano, Arithmetices principia, 1889", backend="core",
              params={"x": mt.Floats(-1.0, 1.0)})
    def demo(x):
        return [Measure("|x + 0 - x|", abs(x + 0.0 - x), 0.0)]

    (r,) = run_checks(["demo/core"], examples=5)
    assert r.passed and r.instances == 5
    assert get_check("demo/core").statement == "x + 0 = x"
    assert "demo/core" in format_table([r])
    with pytest.raises(ValueError, match="already registered"):
        register("demo/core", identity="other", reference="x, 2000", backend="core")(lambda: [])


def test_failures_crashes_and_missing_modules(scratch_registry):
    @register("broken/core", identity="1 = 2", reference="nobody, 2000", backend="core", params={"x": mt.Integers(0, 3)})
    def broken(x):
        return [Measure("|1 - 2|", 1.0, 1e-12)]

    @register("crash/core", identity="raises", reference="nobody, 2000", backend="core", params={"x": mt.Integers(0, 3)})
    def crash(x):
        raise ZeroDivisionError("on purpose")

    @register("needs/core", identity="needs a module", reference="nobody, 2000", backend="core",
              requires=("no_such_module_for_mgcore_tests",))
    def needs():
        return [Measure("x", 0.0, 0.0)]

    res = {r.name: r for r in run_checks(["broken/core", "crash/core", "needs/core"], examples=3)}
    assert res["broken/core"].status == "FAIL" and "error 1.000e+00 > tol 1.0e-12" in res["broken/core"].failure
    assert res["crash/core"].status == "FAIL" and "ZeroDivisionError: on purpose" in res["crash/core"].failure
    assert res["crash/core"].instances == 1
    assert res["needs/core"].status == "skip" and "no_such_module_for_mgcore_tests" in res["needs/core"].failure
    table = format_table(list(res.values()))
    assert "FAIL broken/core: instance 0" in table and "0 checks passed, 2 failed, 1 skipped" in table
    with pytest.raises(registry.CheckFailure, match="broken/core"):
        get_check("broken/core").assert_holds({"x": 0})


def test_result_to_dict_is_json_safe():
    import json

    r = CheckResult("n", "i", "r, 2019", "core", 0, math.nan, math.nan, "skip", 0.0)
    d = json.loads(json.dumps(r.to_dict(), allow_nan=False))
    assert d["max_error"] == "nan" and d["passed"] is False


# ----------------------------------------------------------------------------- mgcore.testing
def test_domains_sample_inside_their_bounds():
    rng = np.random.default_rng(0)
    for _ in range(50):
        assert 2 <= mt.Integers(2, 4).sample(rng) <= 4
        assert 0.5 <= mt.Floats(0.5, 0.6).sample(rng) <= 0.6
        assert abs(mt.Complex(2.0).sample(rng)) <= 2.0
        roots = mt.ROOTS.sample(rng)
        assert 1 <= len(roots) <= 4
        for r in roots:
            assert (isinstance(r, tuple) and r[1] >= 0.5) or (isinstance(r, float) and abs(r) >= 0.5)
        u = mt.Lists(mt.Integers(0, 100), 3, 3, unique=True).sample(rng)
        assert len(u) == 3 == len(set(u))
    with pytest.raises(ValueError, match="lo must be <= hi"):
        mt.Integers(3, 2)


def test_import_mgcore_testing_and_verify_stay_light():
    code = ("import sys, mgcore.testing, mgcore.verify; "
            "print(sorted(m for m in ('numpy', 'torch', 'hypothesis', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@settings(max_examples=8, deadline=None)
@given(p=mt.spd_stencils(dims=(1, 2), ks=(2, 3)))
def test_spd_stencils_are_symmetric_positive_definite(p):
    A = p.level_data().matrix().toarray()
    assert np.allclose(A, A.T, rtol=0, atol=1e-12 * np.abs(A).max())
    assert np.linalg.eigvalsh(A).min() > 0


@settings(max_examples=8, deadline=None)
@given(spec=mt.smoothers())
def test_smoother_strategy_gives_specs_both_backends_accept(spec):
    from mgcore.sparse import MultigridSolver
    from mgcore_torch.linear import TorchMultigridSolver

    p = mt.spd_problem(2, 3)
    MultigridSolver(p, smoother=spec, coarse_size=9, fast=False)
    TorchMultigridSolver(p, smoother=spec, coarse_size=9)


@settings(max_examples=6, deadline=None)
@given(h=mt.torch_hierarchies(ks=(3,)))
def test_torch_hierarchies_run_the_core_cycles(h):
    import torch

    from mgcore.cycles import cycle

    f = torch.ones((1, 1) + tuple(h.levels[0].shape), dtype=torch.float64)
    x = cycle(h, f, None, "V", 1, 1)
    assert x.shape == f.shape and bool(torch.isfinite(x).all())


@settings(max_examples=8, deadline=None)
@given(Pi=mt.projections((7, 7), "dirichlet", backend="sparse"))
def test_projection_strategy_maps_to_the_coarse_grid(Pi):
    if Pi is not None:
        assert Pi(np.ones(49)).shape == (9,)


@settings(max_examples=20, deadline=None)
@given(roots=mt.polynomial_roots(), g=mt.g_coefficients())
def test_polynomial_roots_strategy_builds_smoothers(roots, g):
    from mgcore.polynomials import PolynomialSmoother

    s = PolynomialSmoother(roots, g=g)
    assert s.q(0.0) == 1.0


def test_random_projection_validates_its_arguments():
    with pytest.raises(ValueError, match="kind must be one of"):
        mt.random_projection("nearest", (7,), "dirichlet")
    with pytest.raises(ValueError, match="backend must be"):
        mt.random_projection("zero", (7,), "dirichlet", backend="jax")
    with pytest.raises(ValueError, match="smoother must be"):
        mt.sparse_hierarchy(smoother="gauss")


def test_with_projection_on_a_pyamg_hierarchy():
    """Pi on a hierarchy imported from pyamg: Theorem 6.1 holds there too."""
    pyamg = pytest.importorskip("pyamg")
    from mgcore.sparse.pyamg_bridge import from_pyamg
    from mgcore.verify.checks_cycles import theorem_6_1_errors

    A = pyamg.gallery.poisson((16, 16), format="csr")
    h = from_pyamg(pyamg.ruge_stuben_solver(A, max_coarse=10)).hierarchy
    assert h.J >= 3 and all(lvl.Pi is None for lvl in h.levels)
    import scipy.sparse as sp

    from mgcore.sparse.operators import MatrixOperator

    rng = np.random.default_rng(0)
    sizes = [lvl.A.M.shape[0] for lvl in h.levels]
    Pis = [MatrixOperator(sp.csr_matrix(rng.standard_normal((sizes[l + 1], sizes[l])) / sizes[l] ** 0.5))
           for l in range(h.J - 1)]
    for hp in (h.with_projection("restriction"), h.with_projection(Pis)):
        ok, eu, ef, nonzero = theorem_6_1_errors(hp, rng.standard_normal(A.shape[0]), 2, atol=1e-14)
        assert ok and eu <= 1e-12 and ef <= 1e-12 and nonzero == h.J - 1
    with pytest.raises(ValueError, match="one entry per level"):
        h.with_projection(Pis[:1])
    with pytest.raises(ValueError, match="'restriction' or 'zero'"):
        h.with_projection("injection")
    with pytest.raises(TypeError, match="Pi must be a callable"):
        h.with_projection(3)
