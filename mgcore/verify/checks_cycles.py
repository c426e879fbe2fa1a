"""Theorem 6.1 of He & Xu (MgNet, 2019): MgNet (Alg. 3) reproduces MG0 (Alg. 1) for any projection ``Pi``.

For linear ``A^l``, ``R`` and ``B^{l,i} = S^l``, with ``f~^l = f^l + A^l u~^{l,0}``
and ``u^{l,i} = u~^{l,i} - u~^{l,0}`` (eq. 6.10).  Checked on sparse matrix
hierarchies (:func:`mgcore.testing.sparse_hierarchy`), on fixed-kernel torch
hierarchies with random convolution projections
(:func:`mgcore.testing.torch_hierarchy`) and on linear torch MgNet models
(:func:`mgcore.testing.linear_mgnet`), all run by :mod:`mgcore.cycles`.

The property tests ``tests/properties/test_theorem61.py`` and
``test_torch_identities.py`` run these same functions on hypothesis instances.
"""

from __future__ import annotations

from ..testing import PROJECTION_KINDS, SEED, SMOOTHER_DOMAIN, Choice, Floats, Integers, Lists, smoother_spec
from .registry import Measure, register

THM61 = "He & Xu, MgNet, 2019, Thm. 6.1, eq. 6.10"
IDENTITY = "MgNet = MG0 for any Pi"
STATEMENT = "MgNet = MG0 for any Pi: f~ = f + A u~0, u = u~ - u~0"


def _norm(x):
    try:
        import torch

        if isinstance(x, torch.Tensor):
            return float(torch.linalg.vector_norm(x.detach()))
    except ImportError:  # pragma: no cover
        pass
    import numpy as np

    return float(np.linalg.norm(x))


def theorem_6_1_errors(h, f, nu, atol=0.0):
    """Run :func:`~mgcore.cycles.mg0` and :func:`~mgcore.cycles.mgnet` on ``h``; return the worst relative errors.

    Returns ``(levels_ok, u_error, f_error, n_nonzero_u0)``: the largest
    ``|u_MG0 - (u_MgNet - u0)| / |u|`` and ``|f_MgNet - (f_MG0 + A u0)| / |f|``
    over the levels (``atol`` is subtracted from the first difference: an
    absolute floor for levels whose iterate is zero), and the number of levels
    whose ``u0 = Pi u`` is not zero.
    """
    from ..cycles import mg0, mgnet

    ref = mg0(h, f, nu)
    net = mgnet(h, f, nu)
    eu = ef = 0.0
    nonzero = 0
    for l, (a, b) in enumerate(zip(ref, net)):
        A = h.levels[l].A
        u_net = b.u if b.u is not None else b.u0
        u_ref = a.u if a.u is not None else 0.0 * a.f
        if b.u0 is None:
            du, f_pred = (u_net if u_net is not None else 0.0 * b.f), a.f
        else:
            du, f_pred = u_net - b.u0, a.f + A(b.u0)
            nonzero += 1
        scale = max(_norm(u_ref), _norm(du), 1e-300)
        eu = max(eu, (_norm(u_ref - du) - atol) / scale)
        ef = max(ef, _norm(b.f - f_pred) / max(_norm(a.f), _norm(b.f), 1e-300))
    return len(ref) == len(net) == h.J, max(eu, 0.0), ef, nonzero


@register("thm-6.1/sparse", identity=IDENTITY, statement=STATEMENT + " (sparse matrices)", reference=THM61,
          backend="sparse",
          params={"dim": Choice([1, 2]), "k": Integers(2, 4), "bc": Choice(["dirichlet", "neumann"]),
                  "eps": Choice([None, 0.1, 10.0]), "pi_kind": Choice(list(PROJECTION_KINDS)),
                  "smoother_kind": Choice(["jacobi", "random"]), "nu": Lists(Integers(0, 4), 1, 5), "seed": Integers(0, 2**16)})
def check_theorem_6_1_sparse(dim, k, bc, eps, pi_kind, smoother_kind, nu, seed):
    import numpy as np

    from ..testing import sparse_hierarchy

    h = sparse_hierarchy(dim, k, bc, eps=eps, projection=pi_kind, smoother=smoother_kind, seed=seed, max_levels=len(nu))
    nu = (list(nu) * h.J)[: h.J]
    f = np.random.default_rng(seed + 1).standard_normal(h.levels[0].A.M.shape[0])
    ok, eu, ef, _ = theorem_6_1_errors(h, f, nu, atol=1e-14)
    return [Measure.fact("one state per level", ok), Measure("u: MG0 vs MgNet - u0 (rel.)", eu, 1e-12),
            Measure("f: MgNet vs MG0 + A u0 (rel.)", ef, 1e-12)]


@register("thm-6.1/torch-poisson", identity=IDENTITY + " (fixed kernels)",
          statement=STATEMENT + " (fixed-kernel torch hierarchy, random conv Pi)", reference=THM61,
          backend="torch", requires=("torch",),
          params={"k": Integers(3, 4), "bc": Choice(["dirichlet", "neumann"]), "pi_kind": Choice(list(PROJECTION_KINDS)),
                  "smoother": SMOOTHER_DOMAIN, "nu": Integers(1, 3), "seed": SEED})
def check_theorem_6_1_torch_poisson(k, bc, pi_kind, smoother, nu, seed):
    import torch

    from ..testing import torch_hierarchy

    h = torch_hierarchy(2, k, bc, projection=pi_kind, smoother=smoother_spec(smoother), seed=seed)
    f = torch.randn((2, 1) + tuple(h.levels[0].shape), dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    ok, eu, ef, nonzero = theorem_6_1_errors(h, f, nu)
    return [Measure.fact("one state per level", ok), Measure("u: MG0 vs MgNet - u0 (rel.)", eu, 1e-11),
            Measure("f: MgNet vs MG0 + A u0 (rel.)", ef, 1e-11),
            Measure.fact("Pi u is nonzero exactly when Pi != 0", (nonzero > 0) == (pi_kind != "zero"))]


@register("thm-6.1/torch-mgnet", identity=IDENTITY + " (MgNet model)",
          statement=STATEMENT + " (linear torch MgNet model, conv/depthwise/fixed Pi)", reference=THM61,
          backend="torch", requires=("torch",),
          params={"seed": SEED, "pi": Choice(["conv", "zero", "depthwise", "injection", "full-weighting"]),
                  "nu": Lists(Integers(1, 2), 2, 3), "c": Integers(1, 3)})
def check_theorem_6_1_torch_mgnet(seed, pi, nu, c):
    import torch

    from ..testing import linear_mgnet

    m = linear_mgnet(nu=tuple(nu), channels=c, pi=pi, seed=seed)
    h = m.hierarchy
    f = torch.randn(2, c, 16, 16, generator=torch.Generator().manual_seed(seed + 1), dtype=torch.float64)
    ok, eu, ef, nonzero = theorem_6_1_errors(h, f, nu)
    return [Measure.fact("one state per level", ok), Measure("u: MG0 vs MgNet - u0 (rel.)", eu, 1e-12),
            Measure("f: MgNet vs MG0 + A u0 (rel.)", ef, 1e-12),
            Measure.fact("u0 is None on every level exactly when pi='zero'", (pi == "zero") == (nonzero == 0))]


@register("backslash=V(nu,0)/sparse", identity="backslash-MG = V(nu, 0)-cycle from 0",
          statement="backslash-MG (Alg. 2: MG0, then u^l += P u^{l+1} coarse to fine) = one V(nu, 0)-cycle from "
                    "the zero iterate (coarsest level smoothed)",
          reference="He & Xu, MgNet, 2019, Alg. 2, eq. 5.13", backend="sparse",
          params={"dim": Choice([1, 2]), "k": Integers(2, 4), "bc": Choice(["dirichlet", "neumann"]),
                  "smoother_kind": Choice(["jacobi", "random"]), "nu": Lists(Integers(1, 3), 1, 4), "seed": SEED},
          fixed={"backend": "sparse"})
@register("backslash=V(nu,0)/torch", identity="backslash-MG = V(nu, 0)-cycle from 0",
          statement="backslash-MG (Alg. 2) = one V(nu, 0)-cycle from zero, fixed-kernel torch hierarchy",
          reference="He & Xu, MgNet, 2019, Alg. 2, eq. 5.13", backend="torch", requires=("torch",),
          params={"k": Integers(3, 4), "bc": Choice(["dirichlet", "neumann"]), "smoother": SMOOTHER_DOMAIN,
                  "nu": Integers(1, 3), "seed": SEED}, fixed={"backend": "torch"})
def check_backslash_is_v_cycle(backend, seed, nu, k, bc, dim=2, smoother_kind="jacobi", smoother=None):
    import copy

    import numpy as np

    from ..cycles import backslash_mg, cycle
    from ..hierarchy import Hierarchy
    from ..testing import sparse_hierarchy, torch_hierarchy

    if backend == "sparse":
        h = sparse_hierarchy(dim, k, bc, smoother=smoother_kind, seed=seed, max_levels=len(nu))
        nus = (list(nu) * h.J)[: h.J]
        f = np.random.default_rng(seed + 1).standard_normal(h.levels[0].A.M.shape[0])
    else:
        import torch

        h = torch_hierarchy(2, k, bc, smoother=smoother_spec(smoother), seed=seed)
        levels = [copy.copy(lvl) for lvl in h.levels]
        levels[-1].coarse_solve = None  # Alg. 2 smooths the coarsest level, as MG0 does
        h = Hierarchy(levels)
        nus = nu
        f = torch.randn((2, 1) + tuple(h.levels[0].shape), dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    a = backslash_mg(h, f, nus)
    b = cycle(h, f, None, "V", nus, 0)
    return [Measure("backslash_mg vs cycle(V, nu, 0) (rel.)", _norm(a - b) / max(_norm(b), 1e-300), 1e-13),
            Measure.fact("iterate is not zero", _norm(b) > 0)]


@register("eq-3.22/sparse", identity="multi-step scheme -> residual scheme",
          statement="the multi-step scheme (3.21) u^i = sum_j a^i_j (u^j + B^i_j (f - A u^j)) gives the residuals "
                    "r^i = sum_j a^i_j (I - A B^i_j) r^j (3.22)",
          reference="He & Xu, MgNet, 2019, eq. 3.21-3.22", backend="sparse",
          params={"dim": Choice([1, 2]), "k": Integers(2, 4), "nu": Integers(1, 5), "per_step": Choice([False, True]),
                  "seed": SEED})
def check_multistep_residuals(dim, k, nu, per_step, seed):
    import numpy as np
    import scipy.sparse as sp

    from ..iterations import MultiStep
    from ..sparse.operators import MatrixOperator
    from ..testing import spd_problem

    rng = np.random.default_rng(seed)
    A = spd_problem(dim, k, log10_contrast=1.0, seed=seed).level_data().matrix()
    N = A.shape[0]
    alpha = [list(rng.dirichlet(np.ones(i + 1))) for i in range(nu)]
    alpha = [[a / sum(row) for a in row] for row in alpha]

    def rand_B():
        return MatrixOperator(sp.csr_matrix(rng.standard_normal((N, N)) / (N * A.diagonal().max())))

    B = [[rand_B() for _ in range(i + 1)] for i in range(nu)] if per_step else MatrixOperator(sp.diags(0.5 / A.diagonal()))
    f, u0 = rng.standard_normal(N), rng.standard_normal(N)
    Aop = MatrixOperator(A)
    u = MultiStep(alpha, B).smooth(Aop, f, u0, nu)
    rs = [f - A @ u0]
    for i in range(nu):
        r = np.zeros(N)
        for j, a in enumerate(alpha[i]):
            Bij = B[i][j] if per_step else B
            r = r + a * (rs[j] - A @ Bij(rs[j]))
        rs.append(r)
    res = f - A @ u
    return [Measure("f - A u^nu vs residual scheme (3.22) (rel.)", np.linalg.norm(res - rs[-1]) / np.linalg.norm(rs[0]), 1e-12)]


@register("eq-3.23-3.24/sparse", identity="Chebyshev semi-iteration recurrences",
          statement="Chebyshev semi-iteration (3.23): residuals follow (3.24) r^i = w r^{i-1} + (1-w) r^{i-2} - w A tau B "
                    "r^{i-1}, and the A-norm error shrinks by at most 1/T_nu on [lmin, lmax] = spec(BA)",
          reference="He & Xu, MgNet, 2019, eq. 3.23-3.24", backend="sparse",
          params={"dim": Choice([1, 2]), "k": Integers(2, 4), "nu": Integers(1, 6), "log10_contrast": Floats(0.0, 2.0),
                  "seed": SEED})
def check_chebyshev_semi_iteration(dim, k, nu, log10_contrast, seed):
    import numpy as np

    from ..iterations import ChebyshevSemiIteration, chebyshev_bound, chebyshev_omegas
    from ..sparse.operators import MatrixOperator
    from ..testing import spd_problem

    rng = np.random.default_rng(seed)
    A = spd_problem(dim, k, log10_contrast=log10_contrast, seed=seed).level_data().matrix()
    Ad = A.toarray()
    d = A.diagonal()
    lam = np.linalg.eigvals(Ad / d[:, None]).real  # spec(D^-1 A), real and positive
    lmin, lmax = float(lam.min()), float(lam.max())

    class Dinv:
        def __call__(self, r):
            return r / d

    S = ChebyshevSemiIteration(Dinv(), lmin, lmax)
    Aop = MatrixOperator(A)
    f, u0 = rng.standard_normal(A.shape[0]), rng.standard_normal(A.shape[0])
    tau, omegas = chebyshev_omegas(nu, lmin, lmax)
    # the iterates of one nu-step run, step by step (3.23)
    u_prev, u = None, u0
    rs = [f - A @ u0]
    worst = 0.0
    for i, w in enumerate(omegas):
        step = u + tau * (f - A @ u) / d
        new = step if i == 0 else w * step + (1 - w) * u_prev
        u_prev, u = u, new
        rs.append(f - A @ u)
        if i >= 1:
            r_pred = w * rs[i] + (1 - w) * rs[i - 1] - w * (A @ (tau * rs[i] / d))  # (3.24)
            worst = max(worst, np.linalg.norm(rs[i + 1] - r_pred) / np.linalg.norm(rs[0]))
    u_lib = S.smooth(Aop, f, u0, nu)
    x = np.linalg.solve(Ad, f)

    def anorm(e):
        return float(np.sqrt(e @ (A @ e)))

    ratio = anorm(u_lib - x) / anorm(u0 - x)
    return [Measure("library iterate vs (3.23) step by step (rel.)", np.linalg.norm(u_lib - u) / np.linalg.norm(x), 1e-11),
            Measure("residual recurrence (3.24) (rel.)", worst, 1e-12),
            Measure("A-norm error reduction / (1 / T_nu) - 1", max(0.0, ratio / chebyshev_bound(nu, lmin, lmax) - 1.0), 1e-8)]
