"""Theorem 6.1 of He & Xu (MgNet, 2019) as a property test.

For linear ``A^l``, ``R`` and ``B^{l,i} = S^l``, MgNet (Alg. 3) reproduces MG0
(Alg. 1) for *any* projection ``Pi``:
``f~^l = f^l + A^l u~^{l,0}`` and ``u^{l,i} = u~^{l,i} - u~^{l,0}`` (eq. 6.10).

The check is :func:`mgcore.verify.checks_cycles.check_theorem_6_1_sparse`
(``mgcore verify`` runs it too); hypothesis draws its instances here.
"""

import numpy as np
from hypothesis import given, settings

from mgcore.cycles import mgnet
from mgcore.hierarchy import Hierarchy
from mgcore.testing import sparse_hierarchies, sparse_hierarchy
from mgcore.verify import get_check
from mgcore.verify.checks_cycles import theorem_6_1_errors

THM_6_1 = get_check("thm-6.1/sparse")


@given(params=THM_6_1.strategy())
def test_mgnet_equals_mg0_for_any_projection(params):
    THM_6_1.assert_holds(params)


@settings(max_examples=10, deadline=None)
@given(h=sparse_hierarchies())
def test_public_strategy_hierarchies_satisfy_theorem_6_1(h):
    f = np.random.default_rng(0).standard_normal(h.levels[0].A.M.shape[0])
    ok, eu, ef, _ = theorem_6_1_errors(h, f, 2, atol=1e-14)
    assert ok and eu <= 1e-12 and ef <= 1e-12


def test_projection_changes_the_features_but_not_the_correction():
    """The theorem is not vacuous: different Pi give different MgNet iterates."""
    h1 = sparse_hierarchy(2, 4, "dirichlet", None, "injection", "jacobi", 0, 3)
    h2 = sparse_hierarchy(2, 4, "dirichlet", None, "zero", "jacobi", 0, 3)
    f = np.random.default_rng(0).standard_normal(h1.levels[0].A.M.shape[0])
    s1, s2 = mgnet(h1, f, 2), mgnet(h2, f, 2)
    assert np.linalg.norm(s1[1].u - s2[1].u) > 1e-3 * np.linalg.norm(s2[1].u)
    d1 = s1[1].u - s1[1].u0
    assert np.allclose(d1, s2[1].u, rtol=1e-12, atol=1e-14)


def test_with_projection_sets_pi_on_every_level():
    h = sparse_hierarchy(2, 4, "dirichlet", None, "zero", "jacobi", 0, 3)
    h_r = h.with_projection("restriction")
    assert isinstance(h_r, Hierarchy) and h_r.J == h.J
    assert all(a.Pi is a.R for a in h_r.levels[:-1]) and h_r.levels[-1].Pi is None
    assert all(lvl.Pi is None for lvl in h.levels)  # the original is untouched
    f = np.random.default_rng(1).standard_normal(h.levels[0].A.M.shape[0])
    ok, eu, ef, nonzero = theorem_6_1_errors(h_r, f, 2, atol=1e-14)
    assert ok and eu <= 1e-12 and ef <= 1e-12 and nonzero == h.J - 1
