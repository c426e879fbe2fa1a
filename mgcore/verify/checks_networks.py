"""Identities between MgNet and (pre-act) ResNets, with ReLU, in both backends.

* He & Xu, MgNet, 2019: Theorem 8.1 (MgNet with ``A = xi``, ``B^i = sigma eta^i sigma``
  is the pre-act ResNet ``f^i = f^{i-1} - xi sigma eta^i sigma(f^{i-1})``, eq. 8.1),
  Lemma 8.2 (a ResNet is a sigma-ResNet, eq. 8.3-8.4, 7.8) and Theorem 8.3
  (any CNN layer ``chi`` is an MG-ResNet step, eq. 8.9-8.19).
* He, Xu, Zhang & Zhu, An interpretive constrained linear model for ResNet
  and MgNet, 2023, Theorem 4.1 (feature iteration 4.4 = residual iteration 4.5
  via ``r = f - A u``).

The ``torch`` rows use conv modules of :mod:`mgcore_torch` (the MgNet model
and its smoother); the ``sparse`` rows use random dense matrices as the linear
maps and the core's :func:`mgcore.cycles.mgnet` on numpy vectors (the
theorems hold for any linear maps).  Everything is float64.
"""

from __future__ import annotations

from ..testing import SEED, Booleans, Choice, Integers, Lists
from .registry import Measure, register

MGNET = "He & Xu, MgNet, 2019"
CLM = "He et al., constrained linear model, 2023"
BACKENDS = ("sparse", "torch")


class _SigmaLinearSigma:
    """``r -> relu(L(relu(r)))`` (the smoother ``sigma o eta o sigma`` of Thm 8.1 / 4.1), numpy."""

    def __init__(self, L):
        self.L = L

    def __call__(self, r):
        import numpy as np

        return np.maximum(self.L(np.maximum(r, 0.0)), 0.0)


class _Ops:
    """Random linear maps, data and ReLU of one backend (numpy matrices or torch 3x3 convs)."""

    def __init__(self, backend: str, seed: int, c: int, m: int = 9):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.backend, self.c, self.m = backend, c, m
        if backend == "torch":
            import torch

            self.g = torch.Generator().manual_seed(int(seed))
        else:
            import numpy as np

            self.rng = np.random.default_rng(seed)

    def linear(self, c_in=None, c_out=None, scale=0.3):
        c_in, c_out = c_in or self.c, c_out or self.c
        if self.backend == "torch":
            import torch

            from mgcore_torch.layers import conv3x3

            conv = conv3x3(c_in, c_out).to(torch.float64)
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=self.g, dtype=torch.float64) * scale)
            return conv
        import scipy.sparse as sp

        from ..sparse.operators import MatrixOperator

        n_in, n_out = c_in * self.m, c_out * self.m
        return MatrixOperator(sp.csr_matrix(self.rng.standard_normal((n_out, n_in)) * scale * 3.0 / n_in**0.5))

    def data(self, c=None, hw=6):
        c = c or self.c
        if self.backend == "torch":
            import torch

            return torch.randn(2, c, hw, hw, generator=self.g, dtype=torch.float64)
        return self.rng.standard_normal(c * self.m)

    def relu(self, x):
        if self.backend == "torch":
            import torch.nn.functional as F

            return F.relu(x)
        import numpy as np

        return np.maximum(x, 0.0)

    @staticmethod
    def rel(a, b):
        """``|a - b| / |b|`` (2-norms)."""
        from .checks_cycles import _norm

        return _norm(a - b) / max(_norm(b), 1e-300)


def _thm_8_1(seed, nu, c, backend):
    from ..cycles import mgnet
    from ..hierarchy import Hierarchy, Level

    ops = _Ops(backend, seed, c)
    if backend == "torch":
        import torch

        from mgcore_torch.layers import MgNetSmoother

        sm = MgNetSmoother(c, c, nu, shared=False, bn=False, act=True).to(torch.float64)
        with torch.no_grad():
            for B in sm.B:
                B.weight.copy_(torch.randn(B.weight.shape, generator=ops.g, dtype=torch.float64) * 0.3)
        etas = list(sm.B)
    else:
        from ..iterations import StepwiseResidualCorrection

        etas = [ops.linear() for _ in range(nu)]
        sm = StepwiseResidualCorrection([_SigmaLinearSigma(e) for e in etas])
    xi = ops.linear()
    h = Hierarchy([Level(A=xi, B=sm)])
    f = ops.data()
    r = f
    worst = 0.0
    for i in range(1, nu + 1):
        u = mgnet(h, f, [i])[-1].u
        r = r - xi(ops.relu(etas[i - 1](ops.relu(r))))  # (8.1)
        worst = max(worst, ops.rel(f - xi(u), r))
    return [Measure("f - xi(u^i) of MgNet vs pre-act ResNet f^i (rel.)", worst, 1e-12)]


def _lemma_8_2(seed, steps, c, backend):
    ops = _Ops(backend, seed, c)
    xis = [ops.linear() for _ in range(steps + 1)]
    etas = [ops.linear() for _ in range(steps + 1)]
    ft = ops.data()  # f~^0
    f = ops.relu(ft)  # f^0 = sigma(f~^0)
    worst = 0.0
    for i in range(1, steps + 1):
        ft_resnet = f - xis[i](ops.relu(etas[i](f)))  # (8.4)
        f = ops.relu(ft_resnet)  # (7.8)
        ft = ops.relu(ft) - xis[i](ops.relu(etas[i](ops.relu(ft))))  # (8.3)
        worst = max(worst, ops.rel(ft, ft_resnet))
    return [Measure("sigma-ResNet f~^i vs ResNet pre-activation (rel.)", worst, 1e-12)]


def delta_hat_kernel(c):
    """``xi = delta_hat`` (8.12, 8.19) as a 3x3 kernel ``2c -> c``: ``[X, Y] -> -(X - Y)`` channel-wise.

    He & Xu write (8.16) as ``-(X + Y)`` with the identity (8.17)
    ``ReLU(x) + ReLU(-x) = x``; that sum is ``|x|``.  The proof goes through
    with ``ReLU(x) - ReLU(-x) = x``, i.e. with the sign of the ``Y`` block
    flipped, which is what this kernel uses (with the printed sign the check
    fails).
    """
    import torch

    w = torch.zeros(c, 2 * c, 3, 3, dtype=torch.float64)
    for k in range(c):
        w[k, k, 1, 1] = -1.0
        w[k, c + k, 1, 1] = 1.0
    return w


def eta_from_chi_kernel(chi_w):
    """``eta = [id, -id] o (chi - id)`` (8.13) as one ``c -> 2c`` 3x3 kernel."""
    import torch

    c = chi_w.shape[0]
    d = chi_w.clone()
    for k in range(c):
        d[k, k, 1, 1] -= 1.0
    return torch.cat([d, -d], dim=0)


def _thm_8_3(seed, c, backend):
    ops = _Ops(backend, seed, c)
    if backend == "torch":
        import torch
        import torch.nn.functional as F

        chi_w = torch.randn(c, c, 3, 3, generator=ops.g, dtype=torch.float64)
        x = torch.randn(2, c, 6, 6, generator=ops.g, dtype=torch.float64)
        xi_w, eta_w = delta_hat_kernel(c), eta_from_chi_kernel(chi_w)

        def chi(t):
            return F.conv2d(t, chi_w, padding=1)

        def xi(t):
            return F.conv2d(t, xi_w, padding=1)

        def eta(t):
            return F.conv2d(t, eta_w, padding=1)
    else:
        import numpy as np
        import scipy.sparse as sp

        from ..sparse.operators import MatrixOperator

        n = c * ops.m
        C = ops.rng.standard_normal((n, n))
        x = ops.rng.standard_normal(n)
        I = np.eye(n)
        chi = MatrixOperator(sp.csr_matrix(C))
        xi = MatrixOperator(sp.csr_matrix(np.hstack([-I, I])))  # delta_hat with the corrected sign
        eta = MatrixOperator(sp.csr_matrix(np.vstack([C - I, -(C - I)])))  # (8.13)
    s = ops.relu
    lhs1, rhs1 = chi(s(x)), s(x) - xi(s(eta(s(x))))  # (8.9)
    lhs2, rhs2 = s(chi(x)), s(x - xi(s(eta(x))))  # (8.11)
    return [Measure("chi o sigma vs (8.9) with xi = delta_hat, eta (8.13) (rel.)", ops.rel(rhs1, lhs1), 1e-12),
            Measure("sigma o chi vs (8.11) (rel.)", ops.rel(rhs2, lhs2), 1e-12)]


def _thm_4_1(seed, nu, c, backend):
    ops = _Ops(backend, seed, c)
    if backend == "torch":
        import torch

        from ..testing import linear_mgnet

        m = linear_mgnet(nu=(nu,), channels=c, pi="conv", seed=seed, act=True, smoother="per-step")
        with torch.no_grad():
            m.A[0].weight[:, :, 1, 1] += torch.eye(c, dtype=torch.float64) * 2.0
        f = torch.randn(2, c, 5, 5, generator=ops.g, dtype=torch.float64)
        A, sm = m.A[0], m.B["1"]
        u = m.features(f)[-1].u
        Bs = [sm.B[i] for i in range(nu)]
        extra = []
    else:
        import numpy as np
        import scipy.sparse as sp

        from ..cycles import mgnet
        from ..hierarchy import Hierarchy, Level
        from ..iterations import StepwiseResidualCorrection
        from ..sparse.operators import MatrixOperator

        n = c * ops.m
        Am = 2.0 * np.eye(n) + ops.rng.standard_normal((n, n)) * 0.3 / n**0.5  # invertible
        A = MatrixOperator(sp.csr_matrix(Am))
        Bs = [ops.linear() for _ in range(nu)]
        f = ops.data()
        h = Hierarchy([Level(A=A, B=StepwiseResidualCorrection([_SigmaLinearSigma(B) for B in Bs]))])
        u = mgnet(h, f, [nu])[-1].u
        extra = [None]
    r = f
    for i in range(nu):
        r = r - A(ops.relu(Bs[i](ops.relu(r))))  # (4.5)
    ms = [Measure("f - A u^nu of the feature iteration (4.4) vs residual iteration (4.5) (rel.)", ops.rel(f - A(u), r), 1e-12)]
    if extra:
        import numpy as np

        u_from_r = np.linalg.solve(Am, f - r)
        ms.append(Measure("u recovered from r: A^{-1}(f - r) vs u (rel.)", ops.rel(u_from_r, u), 1e-12))
    return ms


for _b in BACKENDS:
    _req = ("torch",) if _b == "torch" else ()
    register(f"thm-8.1/{_b}", identity="MgNet = pre-act ResNet",
             statement="MgNet with A = xi, B^i = sigma eta^i sigma is the pre-act ResNet",
             reference=f"{MGNET}, Thm. 8.1, eq. 8.1", backend=_b, requires=_req, fixed={"backend": _b},
             params={"seed": SEED, "nu": Integers(1, 3), "c": Integers(1, 3)})(_thm_8_1)
    register(f"lemma-8.2/{_b}", identity="ResNet = sigma-ResNet",
             statement="a ResNet is a sigma-ResNet on the pre-activations f~",
             reference=f"{MGNET}, Lemma 8.2, eq. 8.3-8.4", backend=_b, requires=_req, fixed={"backend": _b},
             params={"seed": SEED, "steps": Integers(1, 3), "c": Integers(1, 3)})(_lemma_8_2)
    register(f"thm-8.3/{_b}", identity="any CNN layer = MG-ResNet step",
             statement="any CNN layer chi o sigma, sigma o chi is an MG-ResNet step",
             reference=f"{MGNET}, Thm. 8.3, eq. 8.9-8.19", backend=_b, requires=_req, fixed={"backend": _b},
             params={"seed": SEED, "c": Integers(1, 3)})(_thm_8_3)
    register(f"thm-4.1/{_b}", identity="feature iteration = residual iteration",
             statement="constrained linear model: feature iteration (4.4) = residual iteration (4.5), r = f - A u",
             reference=f"{CLM}, Thm. 4.1, eq. 4.4-4.5", backend=_b, requires=_req, fixed={"backend": _b},
             params={"seed": SEED, "nu": Integers(1, 3), "c": Integers(1, 3)})(_thm_4_1)


GDFI = "He et al., constrained linear model, 2023, Alg. 3, eq. 4.13"


@register("gdfi=mgnet/torch", identity="GDFI with (4.13) forms is MgNet",
          statement="GDFI (Alg. 3) with calA = K*, calB = sigma o K * sigma (eq. 4.13) is MgNet: same parameters, "
                    "same features and logits",
          reference=GDFI, backend="torch", requires=("torch",),
          params={"seed": SEED, "nu": Lists(Integers(1, 2), 1, 3), "c": Integers(2, 4), "in_channels": Integers(1, 3),
                  "smoother": Choice(["shared", "per-step"]), "pi": Choice(["conv", "zero", "depthwise", "injection"]),
                  "bn": Booleans()})
def check_gdfi_is_mgnet(seed, nu, c, in_channels, smoother, pi, bn):
    import torch

    from mgcore_torch.models.gdfi import GDFI as GDFIModel
    from mgcore_torch.models.mgnet import MgNet

    cfg = dict(nu=tuple(nu), channels=c, smoother=smoother, pi=pi, in_channels=in_channels, num_classes=5, bn=bn)
    g = GDFIModel(A_form="K", B_form="sigma-K-sigma", **cfg).to(torch.float64)
    m = MgNet(**cfg).to(torch.float64)
    gen = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for t in list(g.parameters()) + [b for b in g.buffers() if b.is_floating_point()]:
            t.copy_(torch.rand(t.shape, generator=gen, dtype=torch.float64) * 0.6 + 0.2 if t.ndim == 1
                    else torch.randn(t.shape, generator=gen, dtype=torch.float64) * 0.3)
    sg, sm = g.state_dict(), m.state_dict()
    same_keys = list(sg) == list(sm) and all(sg[k].shape == sm[k].shape for k in sg)
    if same_keys:
        m.load_state_dict(sg)
    g.eval(), m.eval()
    x = torch.randn(2, in_channels, 8, 8, generator=gen, dtype=torch.float64)
    with torch.no_grad():
        out_g, out_m = g(x), m(x)
        fg, fm = g.features(x), m.features(x)
    feat = max(_Ops.rel(a.u, b.u) for a, b in zip(fg, fm)) if len(fg) == len(fm) else float("inf")
    return [Measure.fact("same parameter names and shapes", same_keys),
            Measure("logits GDFI vs MgNet (rel.)", _Ops.rel(out_g, out_m), 1e-12),
            Measure("features u^l GDFI vs MgNet (rel., worst level)", feat, 1e-12)]
