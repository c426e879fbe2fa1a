"""Property tests of the polynomial smoothers (van Betteray et al., Poly-MgNet, 2025, eq. 10-21).

The checks live in :mod:`mgcore.verify.checks_polynomials` (``mgcore verify``
runs the same functions); hypothesis draws their instances here.
"""

from hypothesis import given, settings

from mgcore.verify import get_check

FACTORS = get_check("poly-factors/core")
SMOOTHER = get_check("poly-smoother/sparse")
SMOOTHER_TORCH = get_check("poly-smoother/torch")
ROOTS = get_check("poly-roots/core")
CHEBYSHEV = get_check("chebyshev-bound/core")


@settings(max_examples=60, deadline=None)
@given(params=FACTORS.strategy())
def test_q_is_the_product_of_its_factors_and_matches_coefficients(params):
    FACTORS.assert_holds(params)


@settings(max_examples=40, deadline=None)
@given(params=SMOOTHER.strategy())
def test_root_form_equals_coefficient_form_on_a_diagonal_operator(params):
    SMOOTHER.assert_holds(params)


@settings(max_examples=10, deadline=None)
@given(params=SMOOTHER_TORCH.strategy())
def test_root_form_equals_coefficient_form_on_torch_tensors(params):
    SMOOTHER_TORCH.assert_holds(params)


@settings(max_examples=40, deadline=None)
@given(params=ROOTS.strategy())
def test_coefficients_to_roots_recovers_separated_real_roots(params):
    ROOTS.assert_holds(params)


@settings(max_examples=40, deadline=None)
@given(params=CHEBYSHEV.strategy())
def test_chebyshev_roots_polynomial_is_bounded_on_the_interval(params):
    CHEBYSHEV.assert_holds(params)
