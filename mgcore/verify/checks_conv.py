"""Multigrid operators as convolutions, and the fixed-kernel torch solver = the sparse solver.

He & Xu, MgNet, 2019: Lemma 4.1 (eq. 4.12-4.14, restriction = transposed
prolongation = a stride-2 convolution), eq. 5.4-5.5 (the stencil ``K_A`` with
zero padding is the matrix), eq. 5.6-5.9 (damped Jacobi steps are the
convolutions ``K_S0``, ``K_S1``); and the whole cycle: the torch hierarchy of
:func:`mgcore_torch.linear.poisson_hierarchy` takes the iterates of
:class:`mgcore.sparse.MultigridSolver` to round-off.

The property tests ``tests/properties/test_conv_identities.py`` and
``test_torch_identities.py`` run these same functions on hypothesis instances.
"""

from __future__ import annotations

from ..testing import SEED, SMOOTHER_DOMAIN, Choice, Floats, Integers, Lists, OneOf, Tuples, Just, Booleans
from ..testing import coarse_shape, grid_size, smoother_spec
from .registry import Measure, register

MGNET = "He & Xu, MgNet, 2019"

TRANSFER_CASES = OneOf(
    Tuples(Just(1), Just("bilinear")),
    Tuples(Just(2), Choice(["bilinear", "linear"])),
    Tuples(Just(3), Just("bilinear")),
)


@register("lemma-4.1/torch=sparse", identity="R = P^T = stride-2 conv",
          statement="R = P^T (/2^d) = stride-2 conv with K_R; <Rx, y> = <x, Py> (/2^d)",
          reference=f"{MGNET}, Lemma 4.1, eq. 4.12-4.14", backend="torch = sparse", requires=("torch",),
          params={"case": TRANSFER_CASES, "bc": Choice(["dirichlet", "neumann"]), "ks": Lists(Integers(2, 4), 3, 3),
                  "seed": SEED})
def check_lemma_4_1(case, bc, ks, seed):
    import numpy as np
    import torch

    from mgcore_torch._stencils import restriction_kernel, transfer_kernel
    from mgcore_torch.linear import StridedConv, TransposedConv

    from ..sparse.transfers import prolongation, restriction

    dim, interp = case
    if dim == 3:
        ks = [min(k, 3) for k in ks]
    shape = tuple(grid_size(k, bc) for k in ks[:dim])
    cshape = coarse_shape(shape, bc)
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape)
    y = rng.standard_normal(cshape)
    xt = torch.tensor(x).reshape((1, 1) + shape)
    yt = torch.tensor(y).reshape((1, 1) + cshape)
    P = prolongation(shape, bc, interp)
    e_mat = e_pt = e_dot = 0.0
    for scaling, factor in (("full-weighting", 0.5**dim), ("transpose", 1.0)):
        R = StridedConv(restriction_kernel(dim, interp, scaling), bc)
        Rx = R(xt).reshape(-1).numpy()
        ref = restriction(shape, bc, interp, scaling) @ x.ravel()
        s = max(1.0, float(np.abs(ref).max()))
        e_mat = max(e_mat, float(np.abs(Rx - ref).max()) / s)
        e_pt = max(e_pt, float(np.abs(Rx - factor * (P.T @ x.ravel())).max()) / s)
        Py = TransposedConv(transfer_kernel(dim, interp), bc)(yt)
        lhs = float((R(xt) * yt).sum())
        rhs = factor * float((xt * Py).sum())
        e_dot = max(e_dot, abs(lhs - rhs) / max(1.0, abs(lhs)))
    Py = TransposedConv(transfer_kernel(dim, interp), bc)(yt).reshape(-1).numpy()
    e_p = float(np.abs(Py - P @ y.ravel()).max()) / max(1.0, float(np.abs(Py).max()))
    return [
        Measure("stride-2 conv R vs sparse R (rel.)", e_mat, 1e-14),
        Measure("conv R vs factor * P^T (rel.)", e_pt, 1e-14),
        Measure("dot test <Rx, y> vs factor <x, Py> (rel.)", e_dot, 1e-12),
        Measure("transposed conv vs sparse P (rel.)", e_p, 1e-14),
    ]


@register("lemma-4.1-kernels/torch", identity="transfer and stencil kernels",
          statement="kernels: bilinear K (4.13), linear K (4.14), K_R = K/4, K_A (5.4)",
          reference=f"{MGNET}, eq. 4.13, 4.14, 5.4", backend="torch", requires=("torch",))
def check_lemma_4_1_kernels():
    import torch

    from mgcore_torch._stencils import laplacian_kernel, restriction_kernel, transfer_kernel

    dt = torch.float64
    K413 = torch.tensor([[0.25, 0.5, 0.25], [0.5, 1.0, 0.5], [0.25, 0.5, 0.25]], dtype=dt)
    K414 = torch.tensor([[0.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 0.0]], dtype=dt)
    KA = torch.tensor([[0.0, -1, 0], [-1, 4, -1], [0, -1, 0]], dtype=dt)

    def diff(a, b):
        return float((a - b).abs().max())

    return [
        Measure("bilinear prolongation kernel vs (4.13)", diff(transfer_kernel(2, "bilinear")[0, 0], K413), 0.0),
        Measure("linear prolongation kernel vs (4.14)", diff(transfer_kernel(2, "linear")[0, 0], K414), 0.0),
        Measure("full-weighting K_R vs (4.13) / 4", diff(restriction_kernel(2)[0, 0], K413 / 4), 0.0),
        Measure("3D trilinear kernel sum vs 8", abs(float(transfer_kernel(3).sum()) - 8.0), 0.0),
        Measure("Laplacian K_A vs (5.4)", diff(laplacian_kernel((1.0, 1.0))[0, 0], KA), 0.0),
    ]


@register("eq-5.5/torch=sparse", identity="stencil convolution = matrix",
          statement="A u = K_A * u with zero padding = assembled matrix (FD, FEM, anisotropic)",
          reference=f"{MGNET}, eq. 5.3-5.5", backend="torch = sparse", requires=("torch",),
          params={"dim": Choice([1, 2, 3]), "k": Integers(2, 4), "fem": Booleans(), "eps": Floats(0.05, 5.0),
                  "impl": Choice(["conv", "shift"]), "seed": SEED})
def check_eq_5_5(dim, k, fem, eps, impl, seed):
    import numpy as np
    import torch

    from mgcore_torch._stencils import conv, laplacian_kernel
    from mgcore_torch.linear import StencilOperator

    from ..problems import poisson

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
    scale = float(np.abs(ref).max())
    return [
        Measure("conv(K_A, u, padding=1) vs matrix (rel.)", float(np.abs(direct - ref).max()) / scale, 1e-13),
        Measure(f"StencilOperator(impl={impl}) vs matrix (rel.)", float(np.abs(op - ref).max()) / scale, 1e-13),
    ]


@register("eq-5.7-5.9/torch", identity="Jacobi steps = convs K_S0, K_S1",
          statement="one/two damped Jacobi steps from 0 = K_S0 * f / K_S1 * f",
          reference=f"{MGNET}, eq. 5.6-5.9", backend="torch", requires=("torch",),
          params={"omega": Floats(0.05, 1.95), "k": Integers(2, 5), "seed": SEED})
def check_eq_5_7_5_9(omega, k, seed):
    import numpy as np
    import torch

    from mgcore_torch._stencils import conv, jacobi_kernels
    from mgcore_torch.linear import PointwiseScaling, StencilOperator

    from ..iterations import ResidualCorrection
    from ..problems import poisson

    n = 2**k - 1
    data = poisson(2, n, discretization="fem").level_data()  # K_A of eq. (5.4), diagonal 4
    A = StencilOperator(data, impl="shift")
    f = torch.tensor(np.random.default_rng(seed).standard_normal((2, 1, n, n)))
    S = ResidualCorrection(PointwiseScaling(omega / 4.0))
    K0, K1 = jacobi_kernels(omega)
    one = S.smooth(A, f, None, 1)
    two = S.smooth(A, f, None, 2)
    a, c = omega**2 / 16, omega * (2 - omega) / 4
    K59 = torch.tensor([[0, a, 0], [a, c, a], [0, a, 0]], dtype=torch.float64)
    return [
        Measure("one step vs K_S0 * f (abs.)", float((one - conv(f, K0)).abs().max()), 1e-14),
        Measure("two steps vs K_S1 * f (abs.)", float((two - conv(f, K1, padding=1)).abs().max()), 1e-13),
        Measure("K_S1 vs (5.9) entrywise (abs.)", float((K1[0, 0] - K59).abs().max()), 1e-16),
    ]


@register("torch=sparse-iterates", identity="torch cycles = sparse cycles",
          statement="fixed-kernel torch multigrid takes the sparse solver's iterates (V/W/F cycles)",
          reference=f"{MGNET}, §4-§6 (the CNN is the solver)", backend="torch = sparse", requires=("torch",),
          params={"dim": Choice([1, 2, 3]), "k": Integers(3, 5), "bc": Choice(["dirichlet", "neumann"]),
                  "eps": OneOf(Just(None), Floats(0.1, 10.0)), "log10_contrast": Floats(0.0, 2.0),
                  "smoother": SMOOTHER_DOMAIN, "cycle": Choice(["V", "W", "F"]), "nu": Tuples(Integers(1, 2), Integers(0, 2)),
                  "seed": SEED})
def check_torch_equals_sparse(dim, k, bc, eps, log10_contrast, smoother, cycle, nu, seed):
    import warnings

    import numpy as np
    import torch

    from mgcore_torch.linear import TorchMultigridSolver

    from ..cycles import cycle as run_cycle
    from ..sparse import MultigridSolver
    from ..testing import spd_problem

    if dim == 3:
        k = min(k, 4)
    if sum(nu) == 0:
        nu = (1, 0)
    spec = smoother_spec(smoother)
    problem = spd_problem(dim, k, bc, eps=eps, log10_contrast=log10_contrast, seed=seed)
    cs = 3**dim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        hs = MultigridSolver(problem, smoother=spec, nu=nu, coarse_size=cs, fast=False).hierarchy
    ht = TorchMultigridSolver(problem, smoother=spec, nu=nu, coarse_size=cs).hierarchy
    rng = np.random.default_rng(seed)
    b = rng.standard_normal(int(np.prod(problem.shape)))
    if problem.singular:
        b -= b.mean()
    bt = torch.tensor(b.reshape((1, 1) + problem.shape))
    xs = xt = None
    err = 0.0
    for _ in range(2):
        xs = run_cycle(hs, b, xs, cycle, *nu)
        xt = run_cycle(ht, bt, xt, cycle, *nu)
        a = xt.detach().reshape(-1).numpy()
        err = max(err, float(np.linalg.norm(a - xs) / max(np.linalg.norm(xs), 1e-300)))
    return [
        Measure.fact("same number of levels", len(hs) == len(ht)),
        Measure("torch vs sparse iterate, 2 cycles (rel. 2-norm)", err, 1e-12),
        Measure.fact("iterate is not zero", float(np.linalg.norm(xs)) > 0),
    ]
