"""Random instances for property tests: parameter domains, builders and hypothesis strategies.

This module serves two users with one description of the random instances:

* :mod:`mgcore.verify` draws instances from a seeded numpy generator
  (``Domain.sample(rng)``), so ``mgcore verify`` needs no hypothesis;
* property tests draw them with hypothesis (``Domain.strategy()``,
  :func:`from_domains` and the public strategies below), with shrinking.

Three layers:

**Domains** (:class:`Integers`, :class:`Floats`, :class:`Choice`,
:class:`Lists`, :class:`Tuples`, :class:`OneOf`, :class:`Just`,
:class:`Complex`, :data:`SEED`) describe a parameter's allowed values.

**Builders** turn parameters into objects: :func:`spd_problem` (a random SPD
stencil), :func:`sparse_hierarchy` (matrices, any projection ``Pi``),
:func:`torch_hierarchy` (fixed-kernel torch operators),
:func:`linear_mgnet` (a torch MgNet with random linear weights),
:func:`random_projection`.

**Strategies** (hypothesis, imported only when a strategy is asked for, so
``import mgcore`` and ``import mgcore.testing`` stay light):
:func:`spd_stencils`, :func:`sparse_hierarchies`, :func:`torch_hierarchies`,
:func:`smoothers`, :func:`projections`, :func:`polynomial_roots`,
:func:`g_coefficients`.

Level 1 is the finest level of every hierarchy built here.

Examples
--------
>>> import numpy as np
>>> from mgcore.testing import Integers, Choice, sample_params
>>> space = {"k": Integers(2, 4), "bc": Choice(["dirichlet", "neumann"])}
>>> p = sample_params(space, np.random.default_rng(0))
>>> sorted(p), 2 <= p["k"] <= 4
(['bc', 'k'], True)

A property test in a few lines (hypothesis):

>>> from hypothesis import given, settings
>>> from mgcore.cycles import mg0, mgnet
>>> from mgcore.testing import sparse_hierarchies
>>> @settings(max_examples=3, deadline=None)
... @given(h=sparse_hierarchies(dims=(1,), ks=(2, 3)))
... def test_levels(h):
...     assert len(mg0(h, np.ones(h.levels[0].shape), 1)) == h.J
>>> test_levels()
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

__all__ = [
    # domains
    "Domain", "Integers", "Floats", "Choice", "Booleans", "Lists", "Tuples", "OneOf", "Just", "Complex", "SEED",
    "sample_params", "from_domains",
    # builders
    "grid_size", "coarse_shape", "spd_problem", "sparse_hierarchy", "torch_hierarchy", "linear_mgnet",
    "random_projection", "PROJECTION_KINDS", "SMOOTHER_SPECS", "SMOOTHER_DOMAIN",
    "REAL_ROOT", "CONJUGATE_PAIR", "ROOT", "ROOTS", "G_COEFFICIENTS",
    # strategies
    "spd_stencils", "sparse_hierarchies", "torch_hierarchies", "smoothers", "projections",
    "polynomial_roots", "g_coefficients",
]


# ============================================================================ domains
class Domain:
    """Allowed values of one parameter, drawn by numpy (``sample``) or hypothesis (``strategy``)."""

    def sample(self, rng: Any) -> Any:  # pragma: no cover - abstract
        """Draw one value with the numpy ``Generator`` ``rng``."""
        raise NotImplementedError

    def strategy(self) -> Any:  # pragma: no cover - abstract
        """The equivalent hypothesis strategy (imports hypothesis)."""
        raise NotImplementedError


def _st():
    try:
        from hypothesis import strategies as st
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("mgcore.testing strategies need hypothesis: pip install 'mgcore[test]' (or pip install hypothesis)") from exc
    return st


class Integers(Domain):
    """Integers ``lo <= x <= hi``."""

    def __init__(self, lo: int, hi: int):
        if lo > hi:
            raise ValueError(f"Integers: lo must be <= hi, got {lo} > {hi}")
        self.lo, self.hi = int(lo), int(hi)

    def sample(self, rng):
        return int(rng.integers(self.lo, self.hi, endpoint=True))

    def strategy(self):
        return _st().integers(self.lo, self.hi)

    def __repr__(self):
        return f"Integers({self.lo}, {self.hi})"


class Floats(Domain):
    """Floats ``lo <= x <= hi`` (finite)."""

    def __init__(self, lo: float, hi: float):
        if not lo <= hi:
            raise ValueError(f"Floats: lo must be <= hi, got {lo} > {hi}")
        self.lo, self.hi = float(lo), float(hi)

    def sample(self, rng):
        return float(rng.uniform(self.lo, self.hi))

    def strategy(self):
        return _st().floats(self.lo, self.hi, allow_nan=False, allow_infinity=False)

    def __repr__(self):
        return f"Floats({self.lo}, {self.hi})"


class Complex(Domain):
    """Complex numbers with ``|z| <= max_magnitude``."""

    def __init__(self, max_magnitude: float):
        self.max_magnitude = float(max_magnitude)

    def sample(self, rng):
        r = self.max_magnitude * math.sqrt(float(rng.uniform()))
        t = float(rng.uniform(0.0, 2 * math.pi))
        return complex(r * math.cos(t), r * math.sin(t))

    def strategy(self):
        return _st().complex_numbers(max_magnitude=self.max_magnitude, allow_nan=False, allow_infinity=False)


class Choice(Domain):
    """One of ``values`` (hypothesis: ``sampled_from``)."""

    def __init__(self, values: Sequence[Any]):
        self.values = list(values)
        if not self.values:
            raise ValueError("Choice: values must not be empty")

    def sample(self, rng):
        return self.values[int(rng.integers(len(self.values)))]

    def strategy(self):
        return _st().sampled_from(self.values)

    def __repr__(self):
        return f"Choice({self.values!r})"


def Booleans() -> Choice:  # noqa: N802 - reads like the other domains
    """``False`` or ``True``."""
    return Choice([False, True])


class Just(Domain):
    """Always ``value``."""

    def __init__(self, value: Any):
        self.value = value

    def sample(self, rng):
        return self.value

    def strategy(self):
        return _st().just(self.value)


class Lists(Domain):
    """Lists of ``element`` values, ``min_size <= len <= max_size`` (optionally unique)."""

    def __init__(self, element: Domain, min_size: int = 0, max_size: int = 5, unique: bool = False):
        self.element, self.min_size, self.max_size, self.unique = element, int(min_size), int(max_size), unique

    def sample(self, rng):
        n = int(rng.integers(self.min_size, self.max_size, endpoint=True))
        out: list = []
        tries = 0
        while len(out) < n and tries < 100 * (n + 1):
            v = self.element.sample(rng)
            tries += 1
            if self.unique and v in out:
                continue
            out.append(v)
        return out

    def strategy(self):
        return _st().lists(self.element.strategy(), min_size=self.min_size, max_size=self.max_size, unique=self.unique)


class Tuples(Domain):
    """Tuples whose entries are drawn from ``elements`` in turn."""

    def __init__(self, *elements: Domain):
        self.elements = elements

    def sample(self, rng):
        return tuple(e.sample(rng) for e in self.elements)

    def strategy(self):
        return _st().tuples(*(e.strategy() for e in self.elements))


class OneOf(Domain):
    """A value from one of ``domains`` (chosen uniformly)."""

    def __init__(self, *domains: Domain):
        self.domains = domains

    def sample(self, rng):
        return self.domains[int(rng.integers(len(self.domains)))].sample(rng)

    def strategy(self):
        return _st().one_of(*(d.strategy() for d in self.domains))


#: A seed for the builders' own random draws (random matrices, weights).
SEED = Integers(0, 2**31 - 1)


def sample_params(domains: Mapping[str, Domain], rng: Any) -> dict:
    """Draw one value per domain with the numpy generator ``rng`` (in key order)."""
    return {k: d.sample(rng) for k, d in domains.items()}


def from_domains(domains: Mapping[str, Domain]) -> Any:
    """The hypothesis strategy of dicts ``{name: value}`` drawn from ``domains``."""
    return _st().fixed_dictionaries({k: d.strategy() for k, d in domains.items()})


# ============================================================================ shared parameter domains
#: Projection kinds understood by :func:`random_projection` (He & Xu, MgNet, 2019, §6: any ``Pi``).
PROJECTION_KINDS = ("injection", "full-weighting", "zero", "random")

#: Smoother specs in the common grammar (:func:`mgcore.config.parse_smoother_spec`), valid in both backends.
SMOOTHER_SPECS = ("rbgs", "jacobi", "chebyshev", "richardson")

#: Random smoother specs: a name with random options.
SMOOTHER_DOMAIN = OneOf(
    Tuples(Just("jacobi"), Tuples(Floats(0.3, 1.0))),
    Tuples(Just("rbgs"), Tuples(Choice(["red-black", "symmetric"]))),
    Tuples(Just("chebyshev"), Tuples(Integers(1, 4))),
    Tuples(Just("richardson"), Tuples()),
)

#: A real root of ``q`` away from zero (van Betteray et al., Poly-MgNet, 2025, eq. 15).
REAL_ROOT = OneOf(Floats(0.5, 8.0), Floats(-8.0, -0.5))
#: A complex-conjugate pair ``(a, b)``, ``z = a + ib`` (van Betteray et al., Poly-MgNet, 2025, eq. 17).
CONJUGATE_PAIR = Tuples(Floats(-4.0, 4.0), Floats(0.5, 4.0))
#: A root or a pair.
ROOT = OneOf(REAL_ROOT, CONJUGATE_PAIR)
#: Roots of a residual polynomial, 1 to 4 factors.
ROOTS = Lists(ROOT, min_size=1, max_size=4)
#: Coefficients ``alpha`` of the g-factors ``1 - alpha x^2`` (van Betteray et al., Poly-MgNet, 2025, eq. 20).
G_COEFFICIENTS = Lists(Floats(0.001, 0.2), max_size=2)


def smoother_spec(drawn: Any) -> Any:
    """Turn a draw of :data:`SMOOTHER_DOMAIN` into a smoother spec ``(name, options)``."""
    name, opts = drawn
    if name == "jacobi":
        return ("jacobi", {"omega": opts[0]})
    if name == "rbgs":
        return ("rbgs", {"order": opts[0]})
    if name == "chebyshev":
        return ("chebyshev", {"degree": opts[0]})
    return (name, {})


# ============================================================================ builders
def grid_size(k: int, bc: str) -> int:
    """Unknowns per dimension of a grid that coarsens ``k - 1`` times: ``2^k - 1`` (Dirichlet), ``2^k + 1`` (Neumann)."""
    return 2**k - 1 if bc == "dirichlet" else 2**k + 1


def coarse_shape(shape: Sequence[int], bc: str) -> tuple:
    """Shape of the next coarser grid (level ``l + 1``)."""
    return tuple((n - 1) // 2 if bc == "dirichlet" else (n + 1) // 2 for n in shape)


class _RandomCells:
    """A log-normal cell coefficient field with a given contrast (picklable, seeded)."""

    def __init__(self, seed: int, log10_contrast: float):
        self.seed, self.log10_contrast = int(seed), float(log10_contrast)

    def __call__(self, *X):
        import numpy as np

        rng = np.random.default_rng(self.seed)
        z = rng.uniform(-0.5, 0.5, X[0].shape)
        return 10.0 ** (self.log10_contrast * z)


def spd_problem(dim: int = 2, k: int = 3, bc: str = "dirichlet", eps: float | None = None,
                log10_contrast: float = 0.0, seed: int = 0, discretization: str = "fd") -> Any:
    """A random symmetric positive (semi-)definite stencil problem on a structured grid.

    ``-div(k grad u)`` with a cell coefficient ``k`` spanning ``10**log10_contrast``
    and an anisotropy ``eps`` in the first direction; Dirichlet gives an SPD
    matrix, Neumann a positive semi-definite one with the constants as null space.

    Returns
    -------
    mgcore.problems.GridProblem

    Examples
    --------
    >>> import numpy as np
    >>> p = spd_problem(dim=2, k=3, eps=0.5, log10_contrast=2.0, seed=1)
    >>> A = p.level_data().matrix().toarray()
    >>> bool(np.allclose(A, A.T)), bool(np.linalg.eigvalsh(A).min() > 0)
    (True, True)
    """
    from .problems import poisson

    coeff = _RandomCells(seed, log10_contrast) if log10_contrast > 0 else None
    return poisson(dim, grid_size(k, bc), bc, discretization=discretization, eps=eps, coefficient=coeff)


def random_projection(kind: str, shape: Sequence[int], bc: str, seed: int = 0, backend: str = "sparse") -> Any:
    """A projection ``Pi`` from a grid of ``shape`` to its coarse grid (He & Xu, MgNet, 2019, eq. 6.5).

    Parameters
    ----------
    kind : {"injection", "full-weighting", "zero", "random"}
        ``"zero"`` returns ``None`` (``Pi = 0``, eq. 6.23); ``"random"`` is a
        dense Gaussian matrix (sparse backend) or a random 3^d stride-2
        convolution (torch backend).
    shape : tuple of int
        Fine grid shape.
    bc : {"dirichlet", "neumann"}
    seed : int
    backend : {"sparse", "torch"}
    """
    if kind not in PROJECTION_KINDS:
        raise ValueError(f"kind must be one of {PROJECTION_KINDS}, got {kind!r}")
    if backend not in ("sparse", "torch"):
        raise ValueError(f"backend must be 'sparse' or 'torch', got {backend!r}")
    if kind == "zero":
        return None
    import numpy as np

    dim = len(shape)
    if backend == "sparse":
        import scipy.sparse as sp

        from .sparse.operators import MatrixOperator
        from .sparse.transfers import injection, restriction

        if kind == "injection":
            return MatrixOperator(injection(tuple(shape), bc))
        if kind == "full-weighting":
            return MatrixOperator(restriction(tuple(shape), bc))
        nc, n = int(np.prod(coarse_shape(shape, bc))), int(np.prod(shape))
        return MatrixOperator(sp.csr_matrix(np.random.default_rng(seed).standard_normal((nc, n))))
    import torch

    from mgcore_torch._stencils import restriction_kernel
    from mgcore_torch.linear import Injection, StridedConv

    if kind == "injection":
        return Injection(dim, bc)
    if kind == "full-weighting":
        return StridedConv(restriction_kernel(dim), bc)
    K = torch.tensor(np.random.default_rng(seed).standard_normal((3,) * dim)).reshape((1, 1) + (3,) * dim)
    return StridedConv(K, bc)


def sparse_hierarchy(dim: int = 2, k: int = 3, bc: str = "dirichlet", eps: float | None = None,
                     projection: str = "injection", smoother: str = "jacobi", seed: int = 0,
                     max_levels: int | None = None, log10_contrast: float = 0.0) -> Any:
    """A hierarchy of assembled sparse matrices with any projection ``Pi``.

    Each level has ``A`` (the re-discretised operator of :func:`spd_problem`),
    full-weighting ``R``, bilinear ``P`` and ``Pi`` of kind ``projection``
    (:func:`random_projection`), all :class:`mgcore.sparse.operators.MatrixOperator`.

    Parameters
    ----------
    smoother : {"jacobi", "random"}
        ``"jacobi"``: damped Jacobi ``S = 0.8 D^{-1}``; ``"random"``: a different
        random linear ``B^{l,i}`` per step (four steps), which Theorem 6.1 of
        He & Xu (MgNet, 2019) allows.
    max_levels : int, optional
        Cap on the number of levels (level 1 = finest).

    Returns
    -------
    mgcore.hierarchy.Hierarchy
    """
    import numpy as np
    import scipy.sparse as sp

    from .hierarchy import Hierarchy, Level
    from .iterations import ResidualCorrection, StepwiseResidualCorrection
    from .sparse.operators import MatrixOperator
    from .sparse.transfers import prolongation, restriction

    if smoother not in ("jacobi", "random"):
        raise ValueError(f"smoother must be 'jacobi' or 'random', got {smoother!r}")
    prob = spd_problem(dim, k, bc, eps=eps, log10_contrast=log10_contrast, seed=seed)
    rng = np.random.default_rng(seed)
    datas = prob.levels(max_levels=max_levels)
    levels = []
    for l, d in enumerate(datas):
        A = d.matrix()
        if smoother == "jacobi":
            B = ResidualCorrection(MatrixOperator(sp.diags(0.8 / A.diagonal())))
        else:
            N = A.shape[0]
            B = StepwiseResidualCorrection(
                [MatrixOperator(sp.csr_matrix(rng.standard_normal((N, N)) / (N * A.diagonal().max()))) for _ in range(4)]
            )
        R = P = Pi = None
        if l < len(datas) - 1:
            R = MatrixOperator(restriction(d.shape, bc))
            P = MatrixOperator(prolongation(d.shape, bc))
            Pi = random_projection(projection, d.shape, bc, seed=int(rng.integers(2**31)), backend="sparse")
        levels.append(Level(A=MatrixOperator(A), B=B, R=R, P=P, Pi=Pi, shape=d.shape))
    return Hierarchy(levels)


def torch_hierarchy(dim: int = 2, k: int = 4, bc: str = "dirichlet", eps: float | None = None,
                    projection: str = "injection", smoother: Any = "jacobi", seed: int = 0,
                    coarse_size: int = 9, log10_contrast: float = 0.0) -> Any:
    """A fixed-kernel torch hierarchy (:func:`mgcore_torch.linear.poisson_hierarchy`) with any ``Pi``.

    ``projection`` is a kind of :func:`random_projection` (``"random"``: a
    random stride-2 convolution per level); ``smoother`` a spec of the common
    grammar.  Tensors have shape ``(N, 1, *grid)``, float64.
    """
    import numpy as np

    from mgcore_torch.linear import level_data_list, poisson_hierarchy

    if projection not in PROJECTION_KINDS:
        raise ValueError(f"projection must be one of {PROJECTION_KINDS}, got {projection!r}")
    prob = spd_problem(dim, k, bc, eps=eps, log10_contrast=log10_contrast, seed=seed)
    datas = level_data_list(prob, coarse_size=coarse_size)
    rng = np.random.default_rng(seed)
    projs = [random_projection(projection, d.shape, bc, seed=int(rng.integers(2**31)), backend="torch") for d in datas[:-1]]
    return poisson_hierarchy(prob, smoother, projection=projs or "zero", coarse_size=coarse_size)


def linear_mgnet(nu: Sequence[int] = (1, 1), channels: int = 2, pi: str = "conv", seed: int = 0,
                 act: bool = False, smoother: str = "shared", scale: float = 0.3) -> Any:
    """A torch MgNet (He & Xu, MgNet, 2019, Alg. 3) without BN, random float64 weights.

    With ``act=False`` every operator is linear (the setting of Theorem 6.1).
    The model's :attr:`hierarchy` runs with :mod:`mgcore.cycles`; its input
    is ``(N, channels, H, W)``.
    """
    import torch

    from mgcore_torch.models import MgNet

    g = torch.Generator().manual_seed(int(seed))
    m = MgNet(nu=tuple(nu), channels=channels, smoother=smoother, pi=pi, bn=False, act=act, stem=False,
              in_channels=channels).to(torch.float64)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * scale)
    return m


# ============================================================================ hypothesis strategies
def _dom(values: Any, kind: type = Choice) -> Domain:
    return values if isinstance(values, Domain) else kind(values)


def spd_stencils(dims: Sequence[int] = (1, 2, 3), ks: Sequence[int] = (2, 3), bcs: Sequence[str] = ("dirichlet",),
                 anisotropic: bool = True, max_log10_contrast: float = 3.0) -> Any:
    """Strategy of random SPD stencil problems (:func:`spd_problem`).

    Examples
    --------
    >>> s = spd_stencils(dims=(2,))
    >>> p = s.example()  # doctest: +SKIP
    """
    st = _st()
    return st.builds(
        spd_problem, dim=st.sampled_from(list(dims)), k=st.sampled_from(list(ks)), bc=st.sampled_from(list(bcs)),
        eps=st.one_of(st.none(), st.floats(0.05, 20.0)) if anisotropic else st.none(),
        log10_contrast=st.floats(0.0, max_log10_contrast), seed=SEED.strategy(),
    )


def smoothers() -> Any:
    """Strategy of random smoother specs valid in both backends, e.g. ``("jacobi", {"omega": 0.7})``."""
    return SMOOTHER_DOMAIN.strategy().map(smoother_spec)


def projections(shape: Sequence[int], bc: str = "dirichlet", backend: str = "sparse",
                kinds: Sequence[str] = PROJECTION_KINDS) -> Any:
    """Strategy of projections ``Pi`` from ``shape`` to its coarse grid (``None`` = ``Pi = 0``)."""
    st = _st()
    return st.builds(random_projection, st.sampled_from(list(kinds)), st.just(tuple(shape)), st.just(bc),
                     seed=SEED.strategy(), backend=st.just(backend))


def sparse_hierarchies(dims: Sequence[int] = (1, 2), ks: Sequence[int] = (2, 3, 4),
                       bcs: Sequence[str] = ("dirichlet", "neumann"), kinds: Sequence[str] = PROJECTION_KINDS,
                       smoother_kinds: Sequence[str] = ("jacobi", "random")) -> Any:
    """Strategy of sparse hierarchies (:func:`sparse_hierarchy`) with random ``Pi``, smoothers and anisotropy."""
    st = _st()
    return st.builds(
        sparse_hierarchy, dim=st.sampled_from(list(dims)), k=st.sampled_from(list(ks)), bc=st.sampled_from(list(bcs)),
        eps=st.sampled_from([None, 0.1, 10.0]), projection=st.sampled_from(list(kinds)),
        smoother=st.sampled_from(list(smoother_kinds)), seed=SEED.strategy(),
    )


def torch_hierarchies(dims: Sequence[int] = (2,), ks: Sequence[int] = (3, 4),
                      bcs: Sequence[str] = ("dirichlet", "neumann"), kinds: Sequence[str] = PROJECTION_KINDS) -> Any:
    """Strategy of fixed-kernel torch hierarchies (:func:`torch_hierarchy`) with random ``Pi`` and smoothers."""
    st = _st()
    return st.builds(
        torch_hierarchy, dim=st.sampled_from(list(dims)), k=st.sampled_from(list(ks)), bc=st.sampled_from(list(bcs)),
        projection=st.sampled_from(list(kinds)), smoother=smoothers(), seed=SEED.strategy(),
    )


def polynomial_roots(min_size: int = 1, max_size: int = 4) -> Any:
    """Strategy of root lists: real roots ``|r| >= 0.5`` and conjugate pairs ``(a, b)`` (van Betteray et al., 2025, eq. 15, 17)."""
    return Lists(ROOT, min_size=min_size, max_size=max_size).strategy()


def g_coefficients(max_size: int = 2) -> Any:
    """Strategy of g-factor coefficients ``alpha`` of ``1 - alpha x^2`` (van Betteray et al., Poly-MgNet, 2025, eq. 20)."""
    return Lists(Floats(0.001, 0.2), max_size=max_size).strategy()
