"""Properties of GDFI (He, Xu, Zhang & Zhu 2023, Alg. 3) and of the Poly-MgNet blocks, in float64.

* eq. 4.14: with calA = A* (linear) and calB = sigma o B* sigma the residuals
  r^{l,i} = f - A u^{l,i} of GDFI follow r^{l,i} = r^{l,i-1} - A sigma B^{l,i} sigma(r^{l,i-1});
* eq. 4.10: for every pair of forms of eq. 4.15 the model's smoothing is the
  feature iteration u^{i} = u^{i-1} + calB^{i}(f - calA(u^{i-1}));
* Poly-MgNet eqs. 13-21: without BN/activation the blocks apply the residual
  polynomial of :class:`mgcore.polynomials.PolynomialSmoother`.
"""

import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from mgcore.polynomials import PolynomialSmoother
from mgcore_torch.models import GDFI
from mgcore_torch.polylayers import PolyFactor, PolySmoother

torch.set_num_threads(1)
DT = torch.float64
SETTINGS = settings(max_examples=8, deadline=None)
seeds = st.integers(0, 2**31 - 1)
forms = st.sampled_from(["K", "K-sigma", "sigma-K", "sigma-K-sigma"])


def randomise(m, g):
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=DT) * 0.3)


def rel(a, b):
    return ((a - b).norm() / b.norm().clamp_min(1e-300)).item()


@SETTINGS
@given(seed=seeds, nu=st.integers(1, 3), c=st.integers(1, 3), smoother=st.sampled_from(["shared", "per-step"]))
def test_eq_4_14_residual_form(seed, nu, c, smoother):
    g = torch.Generator().manual_seed(seed)
    m = GDFI("K", "sigma-K-sigma", nu=(nu,), channels=c, smoother=smoother, bn=False, stem=False, in_channels=c).to(DT)
    randomise(m, g)
    f = torch.randn(2, c, 5, 5, generator=g, dtype=DT)
    A, sm = m.A[0], m.B["1"]
    r = f.clone()
    for i in range(1, nu + 1):
        u = m.B["1"].smooth(A, f, None, i)
        B = sm.B[0 if smoother == "shared" else i - 1]
        r = r - A(F.relu(B(F.relu(r))))  # (4.14)
        assert rel(f - A(u), r) <= 1e-12


@SETTINGS
@given(seed=seeds, a=forms, b=forms, nu=st.integers(1, 3), A_bn=st.booleans())
def test_eq_4_10_feature_iteration_for_every_form(seed, a, b, nu, A_bn):
    g = torch.Generator().manual_seed(seed)
    m = GDFI(a, b, A_bn=A_bn, nu=(nu,), channels=2, smoother="per-step", bn=False, stem=False, in_channels=2).to(DT)
    randomise(m, g)
    m.eval()
    calA = m.A[0]
    f = torch.randn(2, 2, 6, 6, generator=g, dtype=DT)
    u = torch.randn(2, 2, 6, 6, generator=g, dtype=DT)

    def calB(i, r):
        if b.endswith("-sigma"):
            r = F.relu(r)
        e = m.B["1"].B[i](r)
        return F.relu(e) if b.startswith("sigma-") else e

    ref = u
    for i in range(nu):
        ref = ref + calB(i, f - calA(ref))  # (4.10)
    assert rel(m.hierarchy.levels[0].smooth(f, u, nu), ref) <= 1e-12


@SETTINGS
@given(seed=seeds, n_sq=st.integers(0, 2), reals=st.lists(st.floats(0.5, 4.0), max_size=2),
       pairs=st.lists(st.tuples(st.floats(0.5, 3.0), st.floats(0.1, 2.0)), max_size=2))
def test_poly_blocks_apply_the_core_polynomial(seed, n_sq, reals, pairs):
    if n_sq + len(reals) + len(pairs) == 0:
        reals = [2.0]
    g = torch.Generator().manual_seed(seed)
    A = torch.nn.Conv2d(2, 2, 3, padding=1, bias=False).to(DT)
    randomise(A, g)
    gs = [0.1 * (k + 1) for k in range(n_sq)]
    fs = ([PolyFactor("squared", coefficient=a) for a in gs] + [PolyFactor("linear", root=z) for z in reals]
          + [PolyFactor("quadratic", root=complex(a, b)) for a, b in pairs])
    sm = PolySmoother(2, fs, "none", "none", "none").to(DT)
    # the core smoother with the stored (float32-rounded) coefficients
    k = n_sq + len(reals)
    val = lambda p: float(p.detach())  # noqa: E731
    g_ = [val(f.alpha) for f in fs[:n_sq]]
    roots = [1.0 / val(f.alpha) for f in fs[n_sq:k]] + [(val(f.a), val(f.b)) for f in fs[k:]]
    ref = PolynomialSmoother(roots or None, g=g_ or None)
    f = torch.randn(1, 2, 5, 5, generator=g, dtype=DT)
    u = torch.randn(1, 2, 5, 5, generator=g, dtype=DT)
    assert rel(sm.smooth(A, f, u, len(fs)), ref.smooth(A, f, u, 1)) <= 1e-10
