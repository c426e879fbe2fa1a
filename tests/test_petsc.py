"""PETSc backend (mgcore.petsc): agreement with the sparse backend, MPI rank independence, export, errors.

The tests that run PETSc skip only when petsc4py is not installed (CI installs it, see .ci/run).
"""

import json
import os
import shutil
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

from mgcore.petsc import petsc_available
from mgcore.problems import get_problem, poisson2d
from mgcore.problems.gallery import jump_coefficient

HAVE_PETSC = petsc_available()
needs_petsc = pytest.mark.skipif(not HAVE_PETSC, reason="petsc4py is not installed (install route: docs/petsc.md)")


def mpi_env() -> dict:
    """Environment for mpiexec children: OpenMPI as root, more ranks than cores, no inherited MPI state."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OMPI_", "PMIX_", "ORTE_", "OPAL_"))}
    env.update(
        OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1",
        OMPI_MCA_btl_vader_single_copy_mechanism="none", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
        OMPI_MCA_mpi_yield_when_idle="1",  # a waiting rank yields its core (oversubscribed, shared machine)
    )
    return env


def _source(*X):
    return np.sin(3 * X[0]) + X[-1] ** 2


def _neumann_source(*X):  # zero mean on the Neumann grids: a compatible right-hand side
    return np.cos(np.pi * X[0]) * np.cos(2 * np.pi * X[-1])


def _iterates(solver, b, petsc, maxiter):
    xs = []
    if petsc:
        cb = lambda x, k, r: xs.append(solver.gather(x))  # noqa: E731
    else:
        cb = lambda x, k, r: xs.append(np.array(x, copy=True).reshape(-1))  # noqa: E731
    res = solver.solve(b, rtol=1e-14, maxiter=maxiter, callback=cb)
    return res, np.array(xs)


# ----------------------------------------------------------------------------- without PETSc
def test_import_mgcore_petsc_does_not_load_petsc4py():
    code = "import sys, mgcore, mgcore.petsc; print('petsc4py' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False"]


def test_missing_petsc_is_a_clear_import_error():
    code = textwrap.dedent("""
        import sys
        sys.modules['petsc4py'] = None          # as if it were not installed
        from mgcore.petsc import petsc_available, PetscMultigridSolver
        from mgcore.problems import poisson2d
        from mgcore.sparse import MultigridSolver
        assert not petsc_available()
        try:
            PetscMultigridSolver(poisson2d(n=15))
        except ImportError as exc:
            print("IMPORTERROR", exc)
        r = MultigridSolver(poisson2d(n=15)).solve(poisson2d(n=15).rhs(1.0))
        print("SPARSE", r.converged)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    assert "IMPORTERROR" in p.stdout and "apt-get install -y petsc-dev" in p.stdout and "pip install" in p.stdout
    assert "SPARSE True" in p.stdout


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        ({"cycle": "F"}, ValueError, "V- and W-cycles"),
        ({"cycle": "Q"}, ValueError, "cycle must be one of"),
        ({"smoother": "rbgs"}, ValueError, "no red-black Gauss-Seidel"),
        ({"smoother": "polynomial"}, ValueError, "not available with the PETSc backend"),
        ({"smoother": "nonsense"}, ValueError, "allowed names"),
        ({"smoother": ("jacobi", {"omega": -1})}, ValueError, "omega"),
        ({"coarse": "algebraic"}, ValueError, "coarse must be"),
        ({"restriction": "injection"}, ValueError, "restriction must be"),
        ({"interpolation": "cubic"}, ValueError, "interpolation must be"),
        ({"nu": (0, 0)}, ValueError, "nu_pre \\+ nu_post"),
        ({"coarse_size": 0}, ValueError, "coarse_size"),
        ({"replicate_limit": -1}, ValueError, "replicate_limit"),
    ],
)
def test_bad_options_are_refused_before_any_work(kwargs, exc, match):
    from mgcore.petsc import PetscMultigridSolver

    with pytest.raises(exc, match=match):
        PetscMultigridSolver(poisson2d(n=15), **kwargs)


def test_a_matrix_problem_is_a_type_error():
    from mgcore.petsc import PetscMultigridSolver

    with pytest.raises(TypeError, match="to_petsc"):
        PetscMultigridSolver(poisson2d(n=15).level_data().matrix())


# ---------------------------------------------------------------- serial agreement with sparse
AGREE = [
    ("poisson2d", 63, None, "jacobi", "V", None),
    ("poisson2d", 63, None, ("jacobi", {"omega": 0.7}), "W", None),
    ("poisson3d", 15, None, "jacobi", "V", None),
    ("poisson2d", 63, None, "chebyshev", "V", None),
    ("poisson2d", 63, None, ("chebyshev", {"degree": 2, "ratio": 20.0}), "W", None),
    ("poisson3d", 15, None, "chebyshev", "V", None),
    ("variable2d-contrast100", 63, None, "chebyshev", "V", "galerkin"),
    ("variable3d", 15, None, "jacobi", "V", None),
    ("anisotropic2d", 63, None, ("chebyshev", {"precondition": None}), "V", None),
    ("poisson2d", 65, "neumann", "jacobi", "V", None),
    ("poisson2d", 63, None, "richardson", "V", None),
    ("poisson1d", 1023, None, "chebyshev", "V", None),
]


@needs_petsc
@pytest.mark.parametrize("name, n, bc, smoother, cycle, coarse", AGREE)
def test_serial_iterates_equal_the_sparse_backend(name, n, bc, smoother, cycle, coarse):
    from mgcore.petsc import PetscMultigridSolver
    from mgcore.sparse import MultigridSolver

    if name.endswith("-contrast100"):  # a jump of 1e4 with Galerkin operators amplifies round-off to ~1e-10
        p = get_problem(name.split("-")[0], n, coefficient=lambda *X: jump_coefficient(*X, contrast=100.0))
    else:
        p = get_problem(name, n, bc=bc)
    b = p.rhs(_neumann_source if bc == "neumann" else _source)
    kw = dict(smoother=smoother, nu=(2, 2), cycle=cycle, coarse=coarse, coarse_size=50)
    sparse = MultigridSolver(p, fast=False, **kw)
    petsc = PetscMultigridSolver(p, **kw)
    assert petsc.J == sparse.J >= 2
    rs, xs = _iterates(sparse, b, False, 8)
    rp, xp = _iterates(petsc, b, True, 8)
    assert rp.iterations == rs.iterations == 8
    assert max(abs(a - c) for a, c in zip(rs.residuals, rp.residuals)) <= 1e-10 * rs.residuals[0]
    assert np.abs(xp - xs).max() <= 1e-10 * np.abs(xs).max()
    assert rp.residuals[-1] < 0.5 * rp.residuals[0]


@needs_petsc
@pytest.mark.parametrize(
    "name, n, smoother, cycle",
    [("poisson2d", 63, "gauss-seidel", "V"), ("poisson2d", 63, "sgs", "W"), ("poisson3d", 31, "gauss-seidel", "V"),
     ("variable2d", 63, ("gauss-seidel", {"sweep": "backward"}), "V")],
)
def test_serial_gauss_seidel_factor_agrees(name, n, smoother, cycle):
    from mgcore.petsc import PetscMultigridSolver
    from mgcore.sparse import MultigridSolver

    p = get_problem(name, n)
    b = p.rhs(_source)
    rs = MultigridSolver(p, smoother=smoother, cycle=cycle, fast=False).solve(b, rtol=1e-8)
    rp = PetscMultigridSolver(p, smoother=smoother, cycle=cycle).solve(b, rtol=1e-8)
    assert rs.converged and rp.converged
    assert abs(rp.convergence_factor - rs.convergence_factor) <= 0.02
    # one rank: PETSc's SOR sweeps mgcore's lexicographic order (the DMDA's x is mgcore's last axis)
    assert abs(rp.iterations - rs.iterations) <= 1


@needs_petsc
def test_default_is_gauss_seidel_and_repr_lists_the_levels():
    from mgcore.petsc import PetscMultigridSolver

    p = get_problem("poisson3d", 15)
    s = PetscMultigridSolver(p)
    text = repr(s)
    assert s.smoothers[0][0] == "gauss-seidel" and "15x15x15" in text and "PCMG on 1 rank" in text
    assert s.level_sizes()[0] == (15 ** 3, 15 ** 3 * 7 - 6 * 15 ** 2)
    r = s.solve(p.rhs(1.0), rtol=1e-8)
    assert r.converged and r.convergence_factor < 0.2 and r.info["path"] == "petsc" and r.info["ranks"] == 1


@needs_petsc
@pytest.mark.parametrize("accel, smoother", [("cg", "chebyshev"), ("cg", "gauss-seidel"), ("gmres", "jacobi")])
def test_krylov_acceleration_matches_the_sparse_backend(accel, smoother):
    from mgcore.petsc import PetscMultigridSolver
    from mgcore.sparse import MultigridSolver

    p = get_problem("poisson2d", 63)
    b = p.rhs(_source)
    rs = MultigridSolver(p, smoother=smoother, fast=False).solve(b, rtol=1e-10, accel=accel)
    rp = PetscMultigridSolver(p, smoother=smoother).solve(b, rtol=1e-10, accel=accel)
    assert rs.converged and rp.converged and rp.info["accel"] == accel
    assert abs(rp.iterations - rs.iterations) <= 1
    assert np.abs(rp.x - rs.x).max() <= 1e-8 * np.abs(rs.x).max()


@needs_petsc
def test_cg_with_a_nonsymmetric_cycle_is_refused():
    from mgcore.petsc import PetscMultigridSolver

    p = get_problem("poisson2d", 31)
    with pytest.raises(ValueError, match="symmetric preconditioner"):
        PetscMultigridSolver(p, smoother="gs", nu=(1, 2)).solve(p.rhs(1.0), accel="cg")


@needs_petsc
def test_rhs_vectors_gather_modes_and_x0():
    from petsc4py import PETSc

    from mgcore.petsc import PetscMultigridSolver

    p = get_problem("poisson2d", 31)
    s = PetscMultigridSolver(p, smoother="jacobi")
    bv = s.rhs(_source)
    assert np.array_equal(s.gather(bv), p.rhs(_source))
    full = s.solve(p.rhs(_source).reshape(31, 31), rtol=1e-9)
    assert full.x.shape == (31, 31)
    vec = s.solve(bv, rtol=1e-9, gather="none")
    assert isinstance(vec.x, PETSc.Vec)
    assert np.abs(s.gather(vec.x) - full.x.ravel()).max() <= 1e-12 * np.abs(full.x).max()
    root = s.solve(bv, rtol=1e-9, gather="root")
    assert root.x.shape == (961,)
    warm = s.solve(bv, x0=full.x, rtol=0.0, atol=1e-6 * full.residuals[0])
    assert warm.converged and warm.iterations == 0
    with pytest.raises(ValueError, match="shape"):
        s.solve(np.ones(7))
    with pytest.raises(ValueError, match="gather"):
        s.solve(bv, gather="some")
    with pytest.raises(ValueError, match="accel"):
        s.solve(bv, accel="bicg")
    with pytest.raises(ValueError, match="W-cycles"):
        s.solve(bv, cycle="F")
    with pytest.raises(ValueError, match="NaN"):
        s.solve(np.full(961, np.nan))


@needs_petsc
def test_neumann_rhs_is_projected_and_solution_centred():
    from mgcore.petsc import PetscMultigridSolver

    p = get_problem("poisson2d", 33, bc="neumann")
    s = PetscMultigridSolver(p, smoother="jacobi")
    b = p.rhs(_neumann_source) + 0.5  # not compatible: the constant part is projected out
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        r = s.solve(b, rtol=1e-9)
    assert any("null space" in str(x.message) for x in w)
    assert r.converged and abs(r.x.mean()) < 1e-12 and r.info["projected_rhs_fraction"] > 0


@needs_petsc
def test_distributed_lambda_estimate_is_close_to_the_replicated_one():
    from mgcore.petsc import PetscMultigridSolver

    p = get_problem("poisson2d", 63)
    a = PetscMultigridSolver(p, smoother="chebyshev")
    b = PetscMultigridSolver(p, smoother="chebyshev", replicate_limit=0)
    for pa, pb in zip(a.smoother_parameters[:-1], b.smoother_parameters[:-1]):
        assert pb["interval"][1] == pytest.approx(pa["interval"][1], rel=0.02)
    ra = a.solve(p.rhs(1.0), rtol=1e-8)
    rb = b.solve(p.rhs(1.0), rtol=1e-8)
    assert abs(ra.convergence_factor - rb.convergence_factor) < 0.02


# ---------------------------------------------------------------------------------- to_petsc
@needs_petsc
@pytest.mark.parametrize("kw", [{"smoother": "jacobi", "coarse": "galerkin"}, {"smoother": "chebyshev", "cycle": "W"},
                                {"smoother": "sgs"}])
def test_to_petsc_runs_the_exported_hierarchy(kw):
    from mgcore.petsc import to_petsc
    from mgcore.sparse import MultigridSolver

    p = get_problem("poisson2d", 63)
    b = p.rhs(_source)
    mg = MultigridSolver(p, fast=False, **kw)
    s = to_petsc(mg)
    r1, r2 = mg.solve(b, rtol=1e-8), s.solve(b, rtol=1e-8)
    assert r2.converged and r2.iterations == r1.iterations
    assert max(abs(a - c) for a, c in zip(r1.residuals, r2.residuals)) <= 1e-10 * r1.residuals[0]
    assert s.J == mg.J and s.shapes[0] == (63, 63)


@needs_petsc
def test_to_petsc_of_an_algebraic_pyamg_hierarchy():
    pyamg = pytest.importorskip("pyamg")
    from mgcore.petsc import to_petsc
    from mgcore.sparse.pyamg_bridge import from_pyamg

    np.random.seed(0)
    A = pyamg.gallery.poisson((48, 48), format="csr")
    mg = from_pyamg(pyamg.smoothed_aggregation_solver(A), smoother="jacobi")
    s = to_petsc(mg)
    b = np.ones(A.shape[0])
    r1, r2 = mg.solve(b, rtol=1e-8), s.solve(b, rtol=1e-8)
    assert r2.converged and r2.iterations == r1.iterations
    assert r2.convergence_factor == pytest.approx(r1.convergence_factor, rel=1e-6)
    assert s.shapes == [()] * s.J


@needs_petsc
def test_to_petsc_errors():
    from mgcore.petsc import to_petsc
    from mgcore.sparse import MultigridSolver

    p = get_problem("poisson2d", 31)
    with pytest.raises(ValueError, match="pass smoother="):
        to_petsc(MultigridSolver(p, fast=False))  # red-black Gauss-Seidel: PETSc has none
    assert to_petsc(MultigridSolver(p, fast=False), smoother="gs").solve(p.rhs(1.0)).converged
    with pytest.raises(TypeError, match="fast=False"):
        to_petsc(MultigridSolver(p, fast=True))
    with pytest.raises(TypeError, match="hierarchy"):
        to_petsc(object())


# ------------------------------------------------------------------------------- MPI ranks
DRIVER = textwrap.dedent("""
    import json, sys, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    from mgcore.petsc import PetscMultigridSolver, to_petsc
    from mgcore.problems import get_problem
    from mgcore.sparse import MultigridSolver
    out = {}
    src = lambda *X: np.sin(3 * X[0]) + X[-1] ** 2
    nsrc = lambda *X: np.cos(np.pi * X[0]) * np.cos(2 * np.pi * X[-1])
    for key, name, n, bc, sm, cyc, coarse, accel in [
        ("jac2d", "poisson2d", 63, None, "jacobi", "V", None, None),
        ("cheb3d", "poisson3d", 15, None, "chebyshev", "V", None, None),
        ("chebW-galerkin", "variable2d", 31, None, ("chebyshev", {"degree": 2}), "W", "galerkin", None),
        ("jac-neumann", "poisson2d", 33, "neumann", "jacobi", "V", None, None),
        ("cheb-cg", "poisson3d", 15, None, "chebyshev", "V", None, "cg"),
        ("cheb-dist-lmax", "poisson2d", 63, None, "chebyshev", "V", None, None),
    ]:
        p = get_problem(name, n, bc=bc)
        extra = {"replicate_limit": 0} if key == "cheb-dist-lmax" else {}
        s = PetscMultigridSolver(p, smoother=sm, cycle=cyc, coarse=coarse, coarse_size=50, **extra)
        r = s.solve(s.rhs(nsrc if bc else src), rtol=1e-9, maxiter=40, accel=accel, gather="root")
        out[key] = {"res": r.residuals, "x": None if r.x is None else r.x.tolist(), "ranks": r.info["ranks"]}
    mg = MultigridSolver(get_problem("poisson2d", 63), smoother="jacobi", coarse="galerkin", fast=False)
    r = to_petsc(mg).solve(get_problem("poisson2d", 63).rhs(src), rtol=1e-9, gather="root")
    out["export"] = {"res": r.residuals, "x": None if r.x is None else r.x.tolist(), "ranks": r.info["ranks"]}
    if r.x is not None:
        json.dump(out, open(sys.argv[1], "w"))
""")


@pytest.fixture(scope="module")
def mpi_histories(tmp_path_factory):
    assert shutil.which("mpiexec"), "petsc4py is installed but mpiexec is not on PATH (apt-get install openmpi-bin)"
    d = tmp_path_factory.mktemp("mpi")
    script = d / "driver.py"
    script.write_text(DRIVER)
    out = {}
    for n in (1, 2, 4):
        f = d / f"h{n}.json"
        p = subprocess.run(["mpiexec", "-n", str(n), sys.executable, str(script), str(f)], capture_output=True,
                           text=True, env=mpi_env(), timeout=600)
        assert p.returncode == 0, f"mpiexec -n {n} failed:\n{p.stdout[-3000:]}\n{p.stderr[-3000:]}"
        out[n] = json.loads(f.read_text())
    return out


@needs_petsc
@pytest.mark.slow  # three mpiexec runs (1, 2 and 4 ranks, the last oversubscribed): ~40 s on 2 cores
@pytest.mark.parametrize("ranks", [2, 4])
def test_mpi_residual_history_equals_one_rank(mpi_histories, ranks):
    one, many = mpi_histories[1], mpi_histories[ranks]
    assert set(one) == set(many)
    for key in one:
        assert many[key]["ranks"] == ranks and one[key]["ranks"] == 1
        r1, rn = np.array(one[key]["res"]), np.array(many[key]["res"])
        assert len(r1) == len(rn), key
        assert np.abs(r1 - rn).max() <= 1e-10 * r1[0], key
        x1, xn = np.array(one[key]["x"]), np.array(many[key]["x"])
        assert np.abs(x1 - xn).max() <= 1e-10 * np.abs(x1).max(), key
        assert rn[-1] <= 1e-9 * rn[0], key
