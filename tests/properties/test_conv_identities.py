"""Convolution identities of He & Xu (MgNet, 2019) as property tests.

* Lemma 4.1 (eq. 4.12-4.14): restriction = transposed prolongation = the
  stride-2 convolution with ``K_R``, incl. the boundary rows of both grid
  conventions, and the adjoint (dot) test ``<R x, y> = <x, P y> / 2^d``.
* eq. (5.5): ``A u = K_A * u`` with zero padding equals the assembled matrix.
* eq. (5.7)/(5.9): two damped Jacobi steps from zero are ``K_S1 * f``;
  one step is ``K_S0 * f`` (5.6, 5.8).

The checks themselves live in :mod:`mgcore.verify.checks_conv` and are the
ones ``mgcore verify`` runs; here hypothesis draws their instances.
"""

from hypothesis import given, settings

from mgcore.verify import get_check

SETTINGS = settings(max_examples=15, deadline=None)
LEMMA_4_1 = get_check("lemma-4.1/torch=sparse")
KERNELS = get_check("lemma-4.1-kernels/torch")
EQ_5_5 = get_check("eq-5.5/torch=sparse")
EQ_5_9 = get_check("eq-5.7-5.9/torch")


@SETTINGS
@given(params=LEMMA_4_1.strategy())
def test_lemma_4_1_restriction_is_transposed_prolongation(params):
    LEMMA_4_1.assert_holds(params)


def test_lemma_4_1_kernels_are_4_13_and_4_14():
    measures = KERNELS.assert_holds()
    assert len(measures) == 5 and all(m.error == 0.0 for m in measures)


@SETTINGS
@given(params=EQ_5_5.strategy())
def test_eq_5_5_stencil_conv_with_zero_padding_is_the_matrix(params):
    EQ_5_5.assert_holds(params)


@SETTINGS
@given(params=EQ_5_9.strategy())
def test_eq_5_7_5_9_two_jacobi_steps_are_K_S1(params):
    EQ_5_9.assert_holds(params)
