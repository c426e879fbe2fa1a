"""Learned stencil smoothers: file round trip, torch == sparse iterates, training, LFA, bad input."""

import os
import zipfile

import numpy as np
import pytest
import torch

from mgcore.analysis import Stencil, two_grid_factor
from mgcore.cycles import cycle
from mgcore.problems import GridProblem, anisotropic2d, poisson2d, poisson3d
from mgcore.sparse import MultigridSolver
from mgcore.sparse.smoothers import StencilSmoother as SparseStencil
from mgcore.sparse.smoothers import build_smoother as build_sparse
from mgcore_torch.learn import (
    ProblemClass, StencilParameters, StencilSmootherSpec, TrainConfig, load_stencil_smoother, save_stencil_smoother,
    train_smoother, training_factor,
)
from mgcore_torch.learn.evaluate import cycle_work, evaluate_smoothers, lfa_two_grid_factor
from mgcore_torch.learn.trainer import BASELINES, ProblemBatch
from mgcore_torch.smoothers import StencilSmoother as TorchStencil
from mgcore_torch.solver import TorchMultigridSolver

torch.set_num_threads(1)


def random_spec(seed=0, k=3, levels=2, sweeps=2, colours=(1, 2), shapes=((31, 31), (15, 15))):
    rng = np.random.default_rng(seed)
    K = np.zeros((levels, sweeps, len(colours)) + (k, k))
    K[..., k // 2, k // 2] = 0.9
    K += 0.05 * rng.standard_normal(K.shape)
    return StencilSmootherSpec(K, colours, shapes[:levels] if levels > 1 else None, {"seed": seed})


@pytest.fixture
def spec_file(tmp_path):
    path = str(tmp_path / "smoother.npz")
    save_stencil_smoother(random_spec(), path)
    return path


# ------------------------------------------------------------------------- file
def test_export_import_round_trip_is_exact(tmp_path):
    spec = random_spec(3, k=5, levels=3, sweeps=2, colours=(0, 1, 2), shapes=((63, 63), (31, 31), (15, 15)))
    path = str(tmp_path / "s.npz")
    save_stencil_smoother(spec, path)
    back = load_stencil_smoother(path)
    assert np.array_equal(back.kernels, spec.kernels) and back.kernels.dtype == np.float64
    assert back.colours == (0, 1, 2) and back.shapes == ((63, 63), (31, 31), (15, 15)) and back.meta == {"seed": 3}
    with np.load(path, allow_pickle=False) as z:  # plain numeric and string arrays only
        assert set(z.files) == {"format", "version", "kernels", "colours", "shapes", "meta"}
    assert sorted(os.listdir(tmp_path)) == ["s.npz"]  # the temporary file was renamed, nothing left behind
    save_stencil_smoother(back, path)  # overwriting is atomic too
    assert np.array_equal(load_stencil_smoother(path).kernels, spec.kernels)


def test_level_sets_are_chosen_by_grid_size():
    spec = random_spec(levels=2)
    assert [spec.select((n, n)) for n in (1023, 63, 31, 15, 7)] == [0, 0, 0, 1, 1]
    assert spec.select((1023, 1023), level=2) == 1
    with pytest.raises(ValueError, match="level=3 but the file holds 2"):
        spec.select((31, 31), level=3)


def test_default_stencil_is_damped_jacobi_and_inline_kernel_works():
    p = poisson2d(15)
    data = p.level_data()
    A = data.matrix()
    rng = np.random.default_rng(0)
    f, u = rng.standard_normal(A.shape[0]), rng.standard_normal(A.shape[0])
    S = build_sparse("stencil", {}, A, grid=data)
    J = build_sparse("jacobi", {}, A, grid=data)
    np.testing.assert_array_equal(S.smooth(None, f, u, 3), J.smooth(None, f, u, 3))
    T = build_sparse("learned", {"kernel": [[0, 0, 0], [0, 0.8, 0], [0, 0, 0]]}, A, grid=data)
    np.testing.assert_allclose(T.smooth(None, f, u, 3), J.smooth(None, f, u, 3), rtol=1e-14, atol=1e-14)


def test_work_per_step():
    assert BASELINES["jacobi"].work_per_step() == 6 and BASELINES["rbgs"].work_per_step() == 6
    assert StencilSmootherSpec(np.ones((1, 1, 1, 3, 3))).work_per_step() == 5 + 1 + 9
    assert StencilSmootherSpec(np.ones((1, 1, 2, 3, 3)), (1, 2)).work_per_step() == 2 * (6 + 4.5)
    assert cycle_work(BASELINES["jacobi"], poisson2d(31), (2, 2)) == 4 * 6 + 11  # two-grid: 31 -> 15 (coarse)


# ------------------------------------------------------------- torch == sparse
def _problems():
    rng = np.random.default_rng(5)
    cells = np.exp(0.5 * rng.standard_normal((32, 32)))  # a mild random coefficient field
    return [poisson2d(31), anisotropic2d(31, eps=0.05), GridProblem((31, 31), aniso=(1.0, 0.2)),
            GridProblem((31, 31), cells=cells)]


@pytest.mark.parametrize("problem", _problems(), ids=lambda p: p.name + str(p.aniso))
def test_torch_and_sparse_iterates_agree_to_round_off(problem, spec_file):
    sm = {"name": "stencil", "file": spec_file}
    S = MultigridSolver(problem, smoother=sm, fast=False, coarse_size=9)
    T = TorchMultigridSolver(problem, smoother=sm, coarse_size=9)
    assert [tuple(l.shape) for l in S.hierarchy] == [tuple(l.shape) for l in T.hierarchy]
    rng = np.random.default_rng(1)
    b = rng.standard_normal(problem.level_data().size)
    x = rng.standard_normal(b.size)
    xs, xt = x.copy(), torch.tensor(x.reshape((1, 1) + problem.shape))
    bt = torch.tensor(b.reshape((1, 1) + problem.shape))
    for _ in range(4):
        xs = np.asarray(cycle(S.hierarchy, b, xs, "V", 2, 1))
        xt = cycle(T.hierarchy, bt, xt, "V", 2, 1)
        err = np.abs(xs - xt.numpy().ravel()).max() / np.abs(xs).max()
        assert err < 1e-12, err


def test_one_level_smoothing_agrees_with_colours_sweeps_and_zero_start(spec_file):
    from mgcore_torch.operators import StencilOperator
    from mgcore_torch.smoothers import build_smoother as build_torch

    data = GridProblem((15, 15), aniso=(0.3, 1.0)).level_data()
    A = data.matrix()
    rng = np.random.default_rng(2)
    f = rng.standard_normal(A.shape[0])
    At = StencilOperator(data)
    for level in (1, 2):
        Bs = build_sparse("stencil", {"file": spec_file, "level": level}, A, grid=data)
        Bt = build_torch("stencil", {"file": spec_file, "level": level}, At, data)
        for u in (None, rng.standard_normal(A.shape[0])):
            for nu in (1, 2, 3):  # sweep j mod 2
                us = Bs.smooth(None, f, u, nu)
                ut = Bt.smooth(At, torch.tensor(f.reshape(1, 1, 15, 15)),
                               None if u is None else torch.tensor(u.reshape(1, 1, 15, 15)), nu)
                np.testing.assert_allclose(ut.numpy().ravel(), us, rtol=1e-13, atol=1e-13 * np.abs(us).max())


# --------------------------------------------------------------------- training
def test_short_training_matches_damped_jacobi_on_its_class(tmp_path):
    """A 3x3 stencil started at damped Jacobi beats it on held-out problems after 25 steps (seeded)."""
    pc = ProblemClass("anisotropic2d", eps_range=(0.05, 1.0))
    cfg = TrainConfig(size=15, steps=25, problems=4, batch=2, warmup=2, cycles=2, lr=0.02, coarse_size=9, seed=0)
    res = train_smoother(pc, StencilParameters(kernel_size=3), cfg)
    assert len(res.history) == 25 and res.final < res.initial
    held = pc.sample(4, np.random.default_rng(123))
    learned = training_factor(held, res.spec, 15, batch=2)
    jacobi = training_factor(held, "jacobi", 15, batch=2)
    assert learned <= jacobi, (learned, jacobi)
    # and in the sparse solver on a larger grid of a held-out problem
    path = str(tmp_path / "s.npz")
    save_stencil_smoother(res.spec, path)
    rows = evaluate_smoothers(held[:1], [31], {"learned": {"name": "stencil", "file": path}, "jacobi": "jacobi"},
                              rtol=1e-6, maxiter=60, lfa=False)
    assert rows[0]["cycles"] <= rows[1]["cycles"], rows


def test_training_objective_decreases_and_is_reproducible():
    pc = ProblemClass("poisson2d")
    cfg = TrainConfig(size=15, steps=6, problems=1, batch=2, warmup=1, cycles=2, lr=0.02)
    a = train_smoother(pc, StencilParameters(kernel_size=3, colours="red-black"), cfg)
    b = train_smoother(pc, StencilParameters(kernel_size=3, colours="red-black"), cfg)
    assert a.history == b.history and np.array_equal(a.spec.kernels, b.spec.kernels)
    assert a.history[-1] < a.history[0]


def test_roots_kind_trains_a_polynomial():
    pc = ProblemClass("poisson2d")
    p = StencilParameters(kind="roots", degree=2)
    assert p().shape == (1, 1, 2, 1, 1)
    res = train_smoother(pc, p, TrainConfig(size=15, steps=4, problems=1, batch=2, warmup=1, cycles=2, lr=0.02))
    assert res.history[-1] < res.history[0] and len(res.spec.meta["roots"][0][0]) == 2


def test_saved_and_loaded_smoother_gives_identical_iterates(tmp_path):
    params = StencilParameters(kernel_size=3, levels=2, sweeps=2, colours="red-black")
    with torch.no_grad():
        params.weight.add_(0.05 * torch.randn(params.weight.shape, generator=torch.Generator().manual_seed(0),
                                              dtype=torch.float64))
    samples = ProblemClass("variable2d", contrast_range=(1, 100)).sample(2, np.random.default_rng(0))
    pb = ProblemBatch(samples, 15, 2)
    path = str(tmp_path / "s.npz")
    save_stencil_smoother(params.spec(pb.shapes), path)
    e = torch.randn((pb.batch, 1, 15, 15), generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    f = torch.zeros_like(e)
    with torch.no_grad():
        a = cycle(pb.hierarchy(params), f, e, "V", 2, 2)
    b = cycle(pb.hierarchy(load_stencil_smoother(path)), f, e, "V", 2, 2)
    assert torch.equal(a, b)
    # the batched training hierarchy is the sparse solver's V-cycle with the saved file
    S = MultigridSolver(samples[1].problem(15), smoother={"name": "stencil", "file": path}, fast=False, coarse_size=9)
    xs = np.asarray(cycle(S.hierarchy, np.zeros(225), e[2, 0].numpy().ravel().copy(), "V", 2, 2))
    np.testing.assert_allclose(a[2, 0].numpy().ravel(), xs, rtol=1e-12, atol=1e-12 * np.abs(xs).max())


def test_baselines_are_the_classical_smoothers():
    samples = ProblemClass("anisotropic2d", eps_range=(0.1, 1)).sample(2, np.random.default_rng(0))
    pb = ProblemBatch(samples, 15, 1)
    rng = np.random.default_rng(0)
    x = rng.standard_normal(225)
    b = rng.standard_normal(225)
    for name, spec in (("jacobi", "jacobi"), ("rbgs", ("red-black", {"order": "red-black"}))):
        S = MultigridSolver(samples[1].problem(15), smoother=spec, fast=False, coarse_size=9)
        xs = np.asarray(cycle(S.hierarchy, b, x.copy(), "V", 2, 2))
        bt = torch.tensor(np.stack([b, b]).reshape(2, 1, 15, 15))
        xt = cycle(pb.hierarchy(name), bt, torch.tensor(np.stack([x, x]).reshape(2, 1, 15, 15)), "V", 2, 2)
        np.testing.assert_allclose(xt[1, 0].numpy().ravel(), xs, rtol=1e-12, atol=1e-12 * np.abs(xs).max())


# ------------------------------------------------------------------------- LFA
def test_lfa_of_stencil_smoothers():
    A = Stencil.laplacian(2, h=1 / 32, weights=(0.2, 1.0))
    assert abs(lfa_two_grid_factor(BASELINES["jacobi"], A, (2, 2), n=31)
               - two_grid_factor(A, ("jacobi", {"omega": 0.8}), (2, 2), n=31)) < 1e-12
    # a symmetric 3x3 stencil: the predicted two-grid factor is the measured one (two levels: 31 -> 15)
    K = np.array([[0.02, 0.08, 0.02], [0.1, 0.55, 0.1], [0.02, 0.08, 0.02]])
    spec = StencilSmootherSpec(K.reshape(1, 1, 1, 3, 3))
    predicted = lfa_two_grid_factor(spec, A, (2, 2), n=31)
    rows = evaluate_smoothers([_Aniso(0.2)], [31], {"k": {"name": "stencil", "kernel": K}}, rtol=1e-13, maxiter=40,
                              lfa=True, tail=10)
    assert abs(rows[0]["lfa"] - predicted) < 1e-12
    assert abs(rows[0]["factor"] - predicted) < 0.05 * predicted, (rows[0]["factor"], predicted)


def test_lfa_objective_is_the_lfa_factor_and_trains():
    from mgcore_torch.learn.trainer import LFAObjective

    samples = ProblemClass("anisotropic2d", eps_range=(0.01, 1.0)).sample(3, np.random.default_rng(0))
    for spec in BASELINES.values():
        obj = LFAObjective(samples, 31, spec.kernel_size, (2, 2), theta_samples=16)
        K = torch.tensor(np.array(spec.kernels[0]))
        exact = obj.log_rho(K, spec.colours, exact=True).exp().numpy()
        ref = [lfa_two_grid_factor(spec, Stencil.from_problem(s.problem(31)), (2, 2), samples=16) for s in samples]
        np.testing.assert_allclose(exact, ref, rtol=1e-10)
        smooth = obj.log_rho(K, spec.colours).exp().numpy()  # an upper bound, close to it
        assert np.all(smooth >= exact * (1 - 1e-9)) and np.all(smooth <= 1.2 * exact)
    res = train_smoother(ProblemClass("anisotropic2d", eps_range=(0.05, 1.0)), StencilParameters(kernel_size=1,
                         colours="red-black", sweeps=2), TrainConfig(size=15, steps=8, problems=3, lr=0.05,
                                                                      objective="lfa"))
    assert res.final < res.initial and res.history[-1] < res.history[0]
    with pytest.raises(ValueError, match="constant-coefficient"):
        train_smoother(ProblemClass("variable2d"), StencilParameters(), TrainConfig(size=15, steps=1, objective="lfa"))
    with pytest.raises(ValueError, match="objective must be one of"):
        TrainConfig(objective="spectral")


class _Aniso:
    def __init__(self, eps):
        self.eps = eps

    def problem(self, n):
        return GridProblem((n, n), aniso=(self.eps, 1.0))

    def label(self):
        return f"eps={self.eps}"


# -------------------------------------------------------------------- bad input
def test_missing_file_is_a_clear_error(tmp_path):
    missing = str(tmp_path / "nope.npz")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        MultigridSolver(poisson2d(15), smoother={"name": "stencil", "file": missing}, fast=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        TorchMultigridSolver(poisson2d(15), smoother={"name": "stencil", "file": missing})


def _write_npz(path, **arrays):
    base = {"format": np.array("mgcore-stencil-smoother"), "version": np.array(1), "kernels": np.ones((1, 1, 1, 3, 3)),
            "colours": np.array([0], dtype=np.int8), "shapes": np.zeros((0, 2), dtype=np.int64), "meta": np.array("{}")}
    base.update(arrays)
    with open(path, "wb") as fh:
        np.savez(fh, **base)


@pytest.mark.parametrize("arrays,match", [
    ({"kernels": np.ones((1, 1, 1, 2, 2))}, "odd k"),
    ({"kernels": np.ones((3, 3))}, "must have shape"),
    ({"kernels": np.full((1, 1, 1, 3, 3), np.nan)}, "non-finite"),
    ({"kernels": np.array([[[[[1.0, np.inf, 0.0]] * 3]]])}, "non-finite"),
    ({"colours": np.array([0, 1], dtype=np.int8)}, "colours"),
    ({"colours": np.array([5], dtype=np.int8)}, "colours"),
    ({"shapes": np.array([[31, 31], [15, 15]])}, "shapes"),
    ({"format": np.array("something-else")}, "not a stencil-smoother file"),
    ({"version": np.array(99)}, "version"),
    ({"meta": np.array("not json")}, "meta"),
    ({"kernels": np.array([None, 1.0], dtype=object)}, "cannot be read"),
])
def test_bad_files_are_clear_errors(tmp_path, arrays, match):
    path = str(tmp_path / "bad.npz")
    _write_npz(path, **arrays)
    with pytest.raises(ValueError, match=match):
        load_stencil_smoother(path)
    with pytest.raises(ValueError, match=match):
        MultigridSolver(poisson2d(15), smoother={"name": "stencil", "file": path}, fast=False)


def test_corrupted_or_foreign_files(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="corrupted or not an .npz"):
        load_stencil_smoother(str(junk))
    good = tmp_path / "good.npz"
    save_stencil_smoother(random_spec(levels=1), str(good))
    data = good.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="corrupted|cannot be read"):
        load_stencil_smoother(str(tmp_path / "cut.npz"))
    other = tmp_path / "other.npz"
    np.savez(str(other), x=np.ones(3))
    with pytest.raises(ValueError, match="missing"):
        load_stencil_smoother(str(other))
    assert zipfile.is_zipfile(good)


def test_mismatched_smoother_and_problem(spec_file, tmp_path):
    with pytest.raises(ValueError, match="2-D but the problem is 3-D"):
        MultigridSolver(poisson3d(7), smoother={"name": "stencil", "file": spec_file}, fast=False)
    with pytest.raises(ValueError, match="level=5 but the file holds 2"):
        MultigridSolver(poisson2d(15), smoother={"name": "stencil", "file": spec_file, "level": 5}, fast=False)
    with pytest.raises(ValueError, match="file or kernel, not both"):
        MultigridSolver(poisson2d(15), smoother={"name": "stencil", "file": spec_file, "kernel": [[1.0]]}, fast=False)
    with pytest.raises(ValueError, match="file must be a file path"):
        MultigridSolver(poisson2d(15), smoother={"name": "stencil", "file": 3}, fast=False)
    with pytest.raises(ValueError, match="odd k"):
        MultigridSolver(poisson2d(15), smoother={"name": "stencil", "kernel": [[1.0, 0.0], [0.0, 1.0]]}, fast=False)
    with pytest.raises(ValueError, match="non-finite"):
        TorchMultigridSolver(poisson2d(15), smoother={"name": "stencil", "kernel": [[float("nan")]]})
    with pytest.raises(ValueError, match="needs the level's grid"):
        SparseStencil(poisson2d(7).level_data().matrix())
    with pytest.raises(ValueError, match="must end in .npz"):
        save_stencil_smoother(random_spec(), str(tmp_path / "s.txt"))
    with pytest.raises(ValueError, match="kernels must have shape"):
        TorchStencil(torch.ones(1, 1, 7, 7, dtype=torch.float64), torch.ones(1, 3, 3, 3, dtype=torch.float64), (0,))


def test_bad_training_options():
    with pytest.raises(ValueError, match="kernel_size must be odd"):
        StencilParameters(kernel_size=4)
    with pytest.raises(ValueError, match="colours must be one of"):
        StencilParameters(colours="zebra")
    with pytest.raises(ValueError, match="size must be 2"):
        TrainConfig(size=30)
    with pytest.raises(ValueError, match="lr must be"):
        TrainConfig(lr=-1.0)
    with pytest.raises(ValueError, match="eps_range"):
        ProblemClass("anisotropic2d", eps_range=(0.0, 1.0))
    with pytest.raises(ValueError, match="problem class must be one of"):
        ProblemClass("helmholtz")
    with pytest.raises(TypeError, match="ProblemClass"):
        train_smoother("anisotropic2d")
