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

from ..testing import PROJECTION_KINDS, SEED, SMOOTHER_DOMAIN, Choice, Integers, Lists, smoother_spec
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
