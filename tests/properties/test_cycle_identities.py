"""Iterations and cycles of He & Xu (MgNet, 2019) as property tests, and LFA predicted = measured.

* Alg. 2 (backslash-MG) is one V(nu, 0)-cycle from the zero iterate (sparse and torch);
* the multi-step scheme (3.21) gives the residual scheme (3.22);
* the Chebyshev semi-iteration (3.23) gives the residual recurrence (3.24)
  and reduces the A-norm error by at most ``1 / T_nu``;
* local Fourier analysis predicts the measured two-grid and V-cycle factors.

The checks live in :mod:`mgcore.verify` (``mgcore verify`` runs the same
functions); hypothesis draws their instances here.
"""

import pytest
from hypothesis import given, settings

from mgcore.verify import get_check

CASES = [("backslash=V(nu,0)/sparse", 20), ("backslash=V(nu,0)/torch", 8), ("eq-3.22/sparse", 20),
         ("eq-3.23-3.24/sparse", 20), ("lfa/sparse", 3)]


@pytest.mark.parametrize("name,examples", CASES, ids=[c[0] for c in CASES])
def test_identity(name, examples):
    check = get_check(name)

    @settings(max_examples=examples, deadline=None)
    @given(params=check.strategy())
    def run(params):
        check.assert_holds(params)

    run()
