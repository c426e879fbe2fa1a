"""Fourier symbols and exact spectra (mgcore.analysis.symbols)."""

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from mgcore.analysis import (
    Stencil,
    check_kernel,
    conv_eigenvalues,
    conv_matrix,
    conv_singular_values,
    conv_symbol,
    fourier_frequencies,
    kernel_spectrum,
    stencil_eigenvalues,
)
from mgcore.problems import anisotropic2d, poisson, poisson1d, poisson2d, poisson3d, variable2d


def matched_distance(a, b):
    """Largest distance after matching two multisets of complex numbers one to one."""
    a, b = np.asarray(a).ravel(), np.asarray(b).ravel()
    assert a.size == b.size
    cost = np.abs(a[:, None] - b[None, :])
    i, j = linear_sum_assignment(cost)
    return float(cost[i, j].max())


# ------------------------------------------------------------- convolutions
@pytest.mark.parametrize(
    "C, k, n, seed",
    [(1, 3, 5, 0), (2, 3, 4, 1), (3, 3, 6, 2), (2, 5, 4, 3), (3, 1, 5, 4), (2, 2, 5, 5), (4, 3, (3, 5), 6)],
)
def test_symbol_eigenvalues_equal_dense_eigenvalues_2d(C, k, n, seed):
    W = np.random.default_rng(seed).standard_normal((C, C, k, k))
    lam = conv_eigenvalues(W, n)
    nn = (n, n) if np.isscalar(n) else n
    assert lam.shape == nn + (C,)
    dense = np.linalg.eigvals(conv_matrix(W, n).toarray())
    assert matched_distance(lam, dense) < 1e-10


@pytest.mark.parametrize("shape, n", [((2, 2, 3), 7), ((3, 3, 3), 6), ((2, 2, 3, 3, 3), 3), ((2, 2, 3, 1, 3), (3, 2, 4))])
def test_symbol_eigenvalues_1d_and_3d(shape, n):
    W = np.random.default_rng(len(shape)).standard_normal(shape)
    dense = np.linalg.eigvals(conv_matrix(W, n).toarray())
    assert matched_distance(conv_eigenvalues(W, n), dense) < 1e-10


def test_complex_kernels_and_small_chunks():
    rng = np.random.default_rng(7)
    W = rng.standard_normal((2, 2, 3, 3)) + 1j * rng.standard_normal((2, 2, 3, 3))
    dense = np.linalg.eigvals(conv_matrix(W, 4).toarray())
    assert matched_distance(conv_eigenvalues(W, 4), dense) < 1e-10
    # chunking (one frequency at a time) gives the same numbers
    Wr = rng.standard_normal((3, 3, 3, 3))
    np.testing.assert_allclose(conv_eigenvalues(Wr, 5, max_bytes=1), conv_eigenvalues(Wr, 5), atol=1e-12)


def test_singular_values_equal_dense_for_rectangular_channels():
    W = np.random.default_rng(8).standard_normal((4, 2, 3, 3))
    s = conv_singular_values(W, 5)
    assert s.shape == (5, 5, 2)
    assert np.all(np.diff(s, axis=-1) <= 1e-12)  # descending per frequency
    dense = np.linalg.svd(conv_matrix(W, 5).toarray(), compute_uv=False)
    np.testing.assert_allclose(np.sort(s.ravel()), np.sort(dense)[-s.size:], atol=1e-10)
    assert s.max() == pytest.approx(np.linalg.norm(conv_matrix(W, 5).toarray(), 2), rel=1e-12)


def test_symbol_acts_on_fourier_modes():
    rng = np.random.default_rng(9)
    W = rng.standard_normal((3, 2, 3, 3))
    n = (4, 6)
    S = conv_symbol(W, n)
    assert S.shape == (4, 6, 3, 2)
    M = conv_matrix(W, n)
    theta = fourier_frequencies(n, "periodic")
    for m in [(0, 0), (1, 2), (3, 5)]:
        phase = np.exp(1j * (np.indices(n).transpose(1, 2, 0) @ theta[m]))
        v = rng.standard_normal(2)
        u = (v[:, None, None] * phase).ravel()
        out = (M @ u).reshape((3,) + n)
        np.testing.assert_allclose(out, (S[m] @ v)[:, None, None] * phase, atol=1e-12)


def test_conv_matrix_matches_torch_conv2d_padding():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    W, x = rng.standard_normal((3, 2, 3, 3)), rng.standard_normal((2, 5, 6))
    xt = torch.tensor(x)[None]
    zero = torch.nn.functional.conv2d(xt, torch.tensor(W), padding=1)[0].numpy()
    np.testing.assert_allclose(conv_matrix(W, (5, 6), boundary="zero") @ x.ravel(), zero.ravel(), atol=1e-12)
    circ = torch.nn.functional.conv2d(torch.nn.functional.pad(xt, (1, 1, 1, 1), mode="circular"), torch.tensor(W))
    np.testing.assert_allclose(conv_matrix(W, (5, 6)) @ x.ravel(), circ[0].numpy().ravel(), atol=1e-12)


def test_kernel_spectrum_periodic_and_zero_padding():
    W = np.random.default_rng(11).standard_normal((2, 2, 3, 3))
    per = kernel_spectrum(W, 4)
    assert per.shape == (32,)
    zero = kernel_spectrum(W, 4, boundary="zero")
    assert matched_distance(zero, np.linalg.eigvals(conv_matrix(W, 4, boundary="zero").toarray())) < 1e-10
    with pytest.raises(ValueError, match="max_dense"):
        kernel_spectrum(W, 64, boundary="zero")


def test_torch_tensor_weight_is_accepted():
    torch = pytest.importorskip("torch")
    W = torch.randn(2, 2, 3, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    np.testing.assert_allclose(conv_eigenvalues(W, 4), conv_eigenvalues(W.numpy(), 4))


# ----------------------------------------------------------------- stencils
@pytest.mark.parametrize(
    "problem",
    [poisson1d(n=15), poisson2d(n=7), poisson3d(n=7), anisotropic2d(n=15, eps=0.01),
     poisson(2, 7, discretization="fem"), poisson(3, 7, eps=10.0)],
    ids=["1d", "2d", "3d", "aniso2d", "fem2d", "aniso3d"],
)
def test_stencil_spectra_equal_dense_dirichlet(problem):
    for level in (1, 2):
        data = problem.level_data() if level == 1 else problem.coarse_data(problem.level_data())
        dense = np.linalg.eigvalsh(data.matrix().toarray())
        np.testing.assert_allclose(stencil_eigenvalues(problem, level), dense, rtol=1e-12, atol=1e-9 * dense.max())


@pytest.mark.parametrize("dim, weights", [(1, None), (2, (0.01, 1.0)), (3, (1.0, 2.0, 0.5))])
def test_stencil_spectra_equal_dense_periodic(dim, weights):
    S = Stencil.laplacian(dim, h=0.25, weights=weights)
    shape = (6, 5, 4)[:dim]
    lam = S.eigenvalues(shape, "periodic")
    assert lam.shape == shape
    dense = np.linalg.eigvalsh(S.matrix(shape, "periodic").toarray())
    np.testing.assert_allclose(np.sort(lam.ravel()), dense, atol=1e-10 * dense.max())
    # via the problem route as well
    p = poisson(dim, 7, eps=None if weights is None else weights[0]) if dim < 3 else poisson3d(n=7)
    dense_p = np.linalg.eigvalsh(Stencil.from_problem(p).matrix(p.shape, "periodic").toarray())
    np.testing.assert_allclose(stencil_eigenvalues(p, bc="periodic"), dense_p, rtol=1e-12, atol=1e-9 * dense_p.max())


def test_nonsymmetric_stencil_periodic_and_nine_point_dirichlet():
    up = Stencil({(0, 0): 4.5, (-1, 0): -1.5, (1, 0): -1.0, (0, -1): -1.0, (0, 1): -1.0})
    lam = up.eigenvalues((5, 6), "periodic")
    assert np.iscomplexobj(lam)
    assert matched_distance(lam, np.linalg.eigvals(up.matrix((5, 6), "periodic").toarray())) < 1e-10
    with pytest.raises(ValueError, match="symmetric in every axis"):
        up.eigenvalues((5, 5), "dirichlet")
    nine = {(i, j): -1.0 for i in (-1, 0, 1) for j in (-1, 0, 1)}
    nine[(0, 0)] = 8.0
    S9 = Stencil(nine)
    np.testing.assert_allclose(np.sort(S9.eigenvalues((5, 4)).ravel()),
                               np.linalg.eigvalsh(S9.matrix((5, 4)).toarray()), atol=1e-12)


def test_stencil_from_problem_and_coarse_levels():
    p = poisson2d(n=15)
    S = Stencil.from_problem(p)
    assert S.center == pytest.approx(4 * 16**2) and S.dim == 2 and S.is_symmetric
    assert Stencil.from_problem(p, level=2).center == pytest.approx(4 * 8**2)
    assert S.coarse().center == pytest.approx(Stencil.from_problem(p, level=2).center)
    fem = Stencil.from_problem(poisson(2, 15, discretization="fem"))
    assert fem.center == pytest.approx(4.0) and fem.coarse().center == pytest.approx(4.0)
    np.testing.assert_allclose(S.matrix(p.shape).toarray(), p.level_data().matrix().toarray())


# ---------------------------------------------------------------- bad input
def test_bad_kernels_give_clear_errors():
    with pytest.raises(ValueError, match="rank 4 .* or 2"):
        conv_eigenvalues(np.ones(3), 4)
    with pytest.raises(ValueError, match="rank 3, 4 or 5"):
        conv_eigenvalues(np.ones((1, 1, 1, 1, 1, 1)), 4)
    with pytest.raises(ValueError, match="square channel blocks"):
        conv_eigenvalues(np.ones((3, 2, 3, 3)), 4)
    with pytest.raises(ValueError, match="must not be empty"):
        conv_eigenvalues(np.ones((0, 0, 3, 3)), 4)
    with pytest.raises(ValueError, match="NaN or Inf"):
        conv_singular_values(np.full((1, 1, 3, 3), np.nan), 4)
    with pytest.raises(TypeError, match="numeric array"):
        conv_symbol(np.array([[["a"]]]), 4)
    with pytest.raises(ValueError, match="shape must hold 2 positive ints"):
        conv_eigenvalues(np.ones((1, 1, 3, 3)), (4, 0))
    with pytest.raises(ValueError, match="rank 4 .* or 2"):
        check_kernel(np.ones((2, 3, 3)), dim=2)
    assert check_kernel(np.ones((3, 3)), dim=2).shape == (1, 1, 3, 3)
    # a rank-2 array is one single-channel 2D kernel
    np.testing.assert_allclose(conv_eigenvalues(np.ones((3, 3)), 4), conv_eigenvalues(np.ones((1, 1, 3, 3)), 4))
    with pytest.raises(ValueError, match="boundary must be one of"):
        conv_matrix(np.ones((1, 1, 3, 3)), 4, boundary="reflect")
    with pytest.raises(ValueError, match="center must lie inside"):
        conv_symbol(np.ones((1, 1, 3, 3)), 4, center=(3, 0))


def test_bad_stencils_give_clear_errors():
    with pytest.raises(ValueError, match="non-empty mapping"):
        Stencil({})
    with pytest.raises(ValueError, match="same length"):
        Stencil({(0,): 1.0, (0, 1): 1.0})
    with pytest.raises(ValueError, match="constant coefficients"):
        Stencil.from_problem(variable2d(n=7))
    with pytest.raises(ValueError, match="Dirichlet level"):
        Stencil.from_problem(poisson2d(n=9, bc="neumann"))
    with pytest.raises(ValueError, match="bc must be one of"):
        Stencil.laplacian(2).matrix((3, 3), bc="neumann")
    with pytest.raises(ValueError, match=r"theta must have shape \(\.\.\., 2\)"):
        Stencil.laplacian(2).symbol(np.zeros(3))
    with pytest.raises(ValueError, match="level must be an int >= 1"):
        stencil_eigenvalues(poisson2d(n=7), level=0)
    assert isinstance(Stencil.laplacian(1).matrix(4), sp.csr_matrix)


# ------------------------------------------------- precision, threads, device
def test_threads_and_single_precision_agree_with_serial_double():
    W = np.random.default_rng(21).standard_normal((6, 6, 3, 3))
    ref = conv_eigenvalues(W, 6, workers=1)
    np.testing.assert_allclose(conv_eigenvalues(W, 6, workers=3, max_bytes=1), ref, atol=1e-12)
    single = conv_eigenvalues(W, 6, precision="single")
    assert single.dtype == np.complex64
    assert matched_distance(single.astype(np.complex128), ref) < 1e-4 * np.abs(ref).max()
    s = conv_singular_values(W, 6, workers=2, precision="single")
    np.testing.assert_allclose(s, conv_singular_values(W, 6), rtol=1e-4, atol=1e-5)


def test_torch_device_path_matches_numpy():
    pytest.importorskip("torch")
    W = np.random.default_rng(22).standard_normal((3, 3, 3, 3))
    assert matched_distance(conv_eigenvalues(W, 4, device="cpu"), conv_eigenvalues(W, 4)) < 1e-10
    np.testing.assert_allclose(conv_singular_values(W, 4, device="cpu"), conv_singular_values(W, 4), atol=1e-10)


@pytest.mark.parametrize("kw, match", [({"precision": "half"}, "precision"), ({"workers": 0}, "workers"),
                                       ({"workers": 1.5}, "workers"), ({"device": 3}, "device")])
def test_spectral_options_are_validated(kw, match):
    W = np.ones((2, 2, 3, 3))
    with pytest.raises((ValueError, TypeError), match=match):
        conv_eigenvalues(W, 4, **kw)
    with pytest.raises((ValueError, TypeError), match=match):
        conv_singular_values(W, 4, **kw)
