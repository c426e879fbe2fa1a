"""Theorem 6.1 of seed 003 (He & Xu, MgNet) as a property test.

For linear ``A^l``, ``R`` and ``B^{l,i} = S^l``, MgNet (Alg. 3) reproduces MG0
(Alg. 1) for *any* projection ``Pi``:
``f~^l = f^l + A^l u~^{l,0}`` and ``u^{l,i} = u~^{l,i} - u~^{l,0}`` (eq. 6.10).
"""

import numpy as np
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st

from mgcore.cycles import mg0, mgnet
from mgcore.hierarchy import Hierarchy, Level
from mgcore.iterations import ResidualCorrection, StepwiseResidualCorrection
from mgcore.sparse.operators import MatrixOperator
from mgcore.problems import poisson
from mgcore.sparse.transfers import injection, prolongation, restriction

PI_KINDS = ["injection", "full-weighting", "zero", "random"]


def build(dim, k, bc, eps, pi_kind, smoother_kind, seed, J_max):
    n = 2**k - 1 if bc == "dirichlet" else 2**k + 1
    prob = poisson(dim, n, bc, eps=eps)
    rng = np.random.default_rng(seed)
    datas = prob.levels(max_levels=J_max)
    levels = []
    for l, d in enumerate(datas):
        A = d.matrix()
        if smoother_kind == "jacobi":
            S = MatrixOperator(sp.diags(0.8 / A.diagonal()))
            B = ResidualCorrection(S)
        else:  # a random linear smoother per step: B^{l,i} = S^{l,i} (Theorem 6.1 needs linearity only)
            N = A.shape[0]
            B = StepwiseResidualCorrection(
                [MatrixOperator(sp.csr_matrix(rng.standard_normal((N, N)) / (N * A.diagonal().max()))) for _ in range(4)]
            )
        last = l == len(datas) - 1
        R = P = Pi = None
        if not last:
            R = MatrixOperator(restriction(d.shape, bc))
            P = MatrixOperator(prolongation(d.shape, bc))
            nc = R.M.shape[0]
            if pi_kind == "injection":
                Pi = MatrixOperator(injection(d.shape, bc))
            elif pi_kind == "full-weighting":
                Pi = MatrixOperator(restriction(d.shape, bc))
            elif pi_kind == "random":
                Pi = MatrixOperator(sp.csr_matrix(rng.standard_normal((nc, A.shape[0]))))
        levels.append(Level(A=MatrixOperator(A), B=B, R=R, P=P, Pi=Pi, shape=d.shape))
    return Hierarchy(levels)


@given(
    dim=st.sampled_from([1, 2]),
    k=st.integers(2, 4),
    bc=st.sampled_from(["dirichlet", "neumann"]),
    eps=st.sampled_from([None, 0.1, 10.0]),
    pi_kind=st.sampled_from(PI_KINDS),
    smoother_kind=st.sampled_from(["jacobi", "random"]),
    nu=st.lists(st.integers(0, 4), min_size=1, max_size=5),
    seed=st.integers(0, 2**16),
)
def test_mgnet_equals_mg0_for_any_projection(dim, k, bc, eps, pi_kind, smoother_kind, nu, seed):
    h = build(dim, k, bc, eps, pi_kind, smoother_kind, seed, J_max=len(nu))
    nu = (nu * h.J)[: h.J]
    f = np.random.default_rng(seed + 1).standard_normal(h.levels[0].A.M.shape[0])
    ref = mg0(h, f, nu)
    net = mgnet(h, f, nu)
    assert len(ref) == len(net) == h.J
    for l, (a, b) in enumerate(zip(ref, net)):
        lvl = h.levels[l]
        u0 = b.u0 if b.u0 is not None else 0.0 * b.f
        u_net = b.u if b.u is not None else u0
        u_ref = a.u if a.u is not None else 0.0 * a.f
        scale = max(np.linalg.norm(u_ref), np.linalg.norm(u_net), 1e-300)
        assert np.linalg.norm(u_ref - (u_net - u0)) <= 1e-12 * scale + 1e-14, f"u differs on level {l + 1}"
        fscale = max(np.linalg.norm(a.f), 1e-300)
        assert np.linalg.norm(b.f - (a.f + lvl.A(u0))) <= 1e-12 * max(fscale, np.linalg.norm(b.f))


def test_projection_changes_the_features_but_not_the_correction():
    """The theorem is not vacuous: different Pi give different MgNet iterates."""
    h1 = build(2, 4, "dirichlet", None, "injection", "jacobi", 0, 3)
    h2 = build(2, 4, "dirichlet", None, "zero", "jacobi", 0, 3)
    f = np.random.default_rng(0).standard_normal(h1.levels[0].A.M.shape[0])
    s1, s2 = mgnet(h1, f, 2), mgnet(h2, f, 2)
    assert np.linalg.norm(s1[1].u - s2[1].u) > 1e-3 * np.linalg.norm(s2[1].u)
    d1 = s1[1].u - s1[1].u0
    assert np.allclose(d1, s2[1].u, rtol=1e-12, atol=1e-14)
