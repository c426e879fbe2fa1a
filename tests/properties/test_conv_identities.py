"""Convolution identities of seed 003 as property tests.

* Lemma 4.1 (eq. 4.12-4.14): restriction = transposed prolongation = the
  stride-2 convolution with ``K_R``, incl. the boundary rows of both grid
  conventions, and the adjoint (dot) test ``<R x, y> = <x, P y> / 2^d``.
* eq. (5.5): ``A u = K_A * u`` with zero padding equals the assembled matrix.
* eq. (5.7)/(5.9): two damped Jacobi steps from zero are ``K_S1 * f``;
  one step is ``K_S0 * f`` (5.6, 5.8).
"""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mgcore.iterations import ResidualCorrection
from mgcore.problems import poisson
from mgcore.sparse.transfers import prolongation, restriction
from mgcore_torch._stencils import conv, jacobi_kernels, laplacian_kernel, restriction_kernel, transfer_kernel
from mgcore_torch.linear import PointwiseScaling, StencilOperator, StridedConv, TransposedConv

SETTINGS = settings(max_examples=15, deadline=None)


def grid_n(k, bc):
    return 2**k - 1 if bc == "dirichlet" else 2**k + 1


def coarse_shape(shape, bc):
    return tuple((n - 1) // 2 if bc == "dirichlet" else (n + 1) // 2 for n in shape)


transfer_cases = st.one_of(
    st.tuples(st.just(1), st.just("bilinear")),
    st.tuples(st.just(2), st.sampled_from(["bilinear", "linear"])),
    st.tuples(st.just(3), st.just("bilinear")),
)


@SETTINGS
@given(case=transfer_cases, bc=st.sampled_from(["dirichlet", "neumann"]), ks=st.lists(st.integers(2, 4), min_size=3, max_size=3),
       seed=st.integers(0, 2**31 - 1))
def test_lemma_4_1_restriction_is_transposed_prolongation(case, bc, ks, seed):
    dim, interp = case
    if dim == 3:
        ks = [min(k, 3) for k in ks]
    shape = tuple(grid_n(k, bc) for k in ks[:dim])
    cshape = coarse_shape(shape, bc)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    y = rng.standard_normal(cshape)
    xt = torch.tensor(x).reshape((1, 1) + shape)
    yt = torch.tensor(y).reshape((1, 1) + cshape)
    P = prolongation(shape, bc, interp)
    for scaling, factor in (("full-weighting", 0.5**dim), ("transpose", 1.0)):
        R = StridedConv(restriction_kernel(dim, interp, scaling), bc)
        Rx = R(xt).reshape(-1).numpy()
        ref = restriction(shape, bc, interp, scaling) @ x.ravel()
        assert np.abs(Rx - ref).max() <= 1e-14 * max(1.0, np.abs(ref).max())
        assert np.abs(Rx - factor * (P.T @ x.ravel())).max() <= 1e-14 * max(1.0, np.abs(ref).max())
        Py = TransposedConv(transfer_kernel(dim, interp), bc)(yt)
        lhs = float((R(xt) * yt).sum())
        rhs_ = factor * float((xt * Py).sum())
        assert abs(lhs - rhs_) <= 1e-12 * max(1.0, abs(lhs))
    Py = TransposedConv(transfer_kernel(dim, interp), bc)(yt).reshape(-1).numpy()
    assert np.abs(Py - P @ y.ravel()).max() <= 1e-14 * max(1.0, np.abs(Py).max())


def test_lemma_4_1_kernels_are_4_13_and_4_14():
    K413 = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], dtype=torch.float64)
    K414 = torch.tensor([[0.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 0.0]], dtype=torch.float64)
    assert torch.equal(transfer_kernel(2, "bilinear")[0, 0], K413)
    assert torch.equal(transfer_kernel(2, "linear")[0, 0], K414)
    assert torch.equal(restriction_kernel(2)[0, 0], K413 / 4)
    assert float(transfer_kernel(3).sum()) == 8.0
    KA = torch.tensor([[0.0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=torch.float64)  # eq. (5.4)
    assert torch.equal(laplacian_kernel((1.0, 1.0))[0, 0], KA)


@SETTINGS
@given(dim=st.sampled_from([1, 2, 3]), k=st.integers(2, 4), fem=st.booleans(), eps=st.floats(0.05, 5.0),
       impl=st.sampled_from(["conv", "shift"]), seed=st.integers(0, 2**31 - 1))
def test_eq_5_5_stencil_conv_with_zero_padding_is_the_matrix(dim, k, fem, eps, impl, seed):
    if dim == 3:
        k = min(k, 3)
    fem = fem and dim == 2
    problem = poisson(dim, 2**k - 1, discretization="fem" if fem else "fd", eps=eps)
    data = problem.level_data()
    u = np.random.default_rng(seed).standard_normal(data.shape)
    ut = torch.tensor(u).reshape((1, 1) + data.shape)
    ref = data.matrix() @ u.ravel()
    weights = (eps,) + (1.0,) * (dim - 1)
    direct = conv(ut, laplacian_kernel(weights, data.scale), padding=1).reshape(-1).numpy()
    op = StencilOperator(data, impl=impl)(ut).reshape(-1).numpy()
    scale = np.abs(ref).max()
    assert np.abs(direct - ref).max() <= 1e-13 * scale
    assert np.abs(op - ref).max() <= 1e-13 * scale


@SETTINGS
@given(omega=st.floats(0.05, 1.95), k=st.integers(2, 5), seed=st.integers(0, 2**31 - 1))
def test_eq_5_7_5_9_two_jacobi_steps_are_K_S1(omega, k, seed):
    n = 2**k - 1
    data = poisson(2, n, discretization="fem").level_data()  # K_A of eq. (5.4), diagonal 4
    A = StencilOperator(data, impl="shift")
    f = torch.tensor(np.random.default_rng(seed).standard_normal((2, 1, n, n)))
    S = ResidualCorrection(PointwiseScaling(omega / 4.0))
    K0, K1 = jacobi_kernels(omega)
    one = S.smooth(A, f, None, 1)
    two = S.smooth(A, f, None, 2)
    assert torch.allclose(one, conv(f, K0), rtol=0, atol=1e-14)
    assert torch.allclose(two, conv(f, K1, padding=1), rtol=0, atol=1e-13)
    # and the kernel is eq. (5.9) entry by entry
    a, c = omega**2 / 16, omega * (2 - omega) / 4
    assert torch.allclose(K1[0, 0], torch.tensor([[0, a, 0], [a, c, a], [0, a, 0]], dtype=torch.float64), rtol=0, atol=1e-16)
