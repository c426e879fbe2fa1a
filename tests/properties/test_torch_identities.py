"""Identities of He & Xu (MgNet, 2019) and He, Xu, Zhang & Zhu (2023) checked on torch modules, in float64.

Theorem 8.1, Lemma 8.2, Theorem 8.3, Theorem 6.1 (MgNet model and
fixed-kernel hierarchies with random convolution projections), Theorem 4.1
of the constrained linear model, GDFI (their Alg. 3) with the forms of eq.
4.13 = MgNet, and the fixed-kernel torch solver = sparse solver; each also on the sparse backend where the theorem allows.  The
checks live in :mod:`mgcore.verify` (``mgcore verify`` runs the same
functions); hypothesis draws the instances here.
"""

import pytest
import torch
from hypothesis import given, settings

from mgcore.verify import get_check
from mgcore.verify.checks_networks import delta_hat_kernel, eta_from_chi_kernel

torch.set_num_threads(1)
SETTINGS = settings(max_examples=6, deadline=None)

NAMES = [
    "thm-8.1/torch", "thm-8.1/sparse",
    "lemma-8.2/torch", "lemma-8.2/sparse",
    "thm-8.3/torch", "thm-8.3/sparse",
    "thm-4.1/torch", "thm-4.1/sparse",
    "thm-6.1/torch-mgnet", "thm-6.1/torch-poisson",
    "torch=sparse-iterates",
    "gdfi=mgnet/torch",
]


@pytest.mark.parametrize("name", NAMES)
def test_identity(name):
    check = get_check(name)

    @SETTINGS
    @given(params=check.strategy())
    def run(params):
        check.assert_holds(params)

    run()


def test_theorem_8_3_fails_with_the_printed_sign_of_8_16():
    """delta_hat = -(X + Y) as printed in (8.16) does not give chi o sigma; -(X - Y) does."""
    import torch.nn.functional as F

    g = torch.Generator().manual_seed(0)
    c = 2
    chi = torch.randn(c, c, 3, 3, generator=g, dtype=torch.float64)
    x = torch.randn(2, c, 6, 6, generator=g, dtype=torch.float64)
    xi, eta = delta_hat_kernel(c), eta_from_chi_kernel(chi)
    printed = xi.clone()
    printed[:, c:] *= -1.0
    lhs = F.conv2d(F.relu(x), chi, padding=1)
    good = F.relu(x) - F.conv2d(F.relu(F.conv2d(F.relu(x), eta, padding=1)), xi, padding=1)
    bad = F.relu(x) - F.conv2d(F.relu(F.conv2d(F.relu(x), eta, padding=1)), printed, padding=1)
    assert (good - lhs).norm() <= 1e-12 * lhs.norm()
    assert (bad - lhs).norm() > 1e-2 * lhs.norm()
