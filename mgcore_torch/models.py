"""Model registry of :mod:`mgcore_torch`: MgNet, V-MgNet, Poly-MgNet and ResNet baselines.

The MgNet-type models do not re-implement the algorithm: each builds a
:class:`mgcore.hierarchy.Hierarchy` once, whose :class:`~mgcore.hierarchy.Level`
objects hold the model's modules (``A`` conv, smoother, ``R``, ``Pi``, ``P``),
and ``forward`` calls :func:`mgcore.cycles.mgnet` (seed 003 Alg. 3) or
:func:`mgcore.cycles.v_mgnet` (Alg. 4) on it.  The hierarchy is kept out of
the module tree (it only references registered submodules), so ``state_dict``,
``.to()``, ``copy.deepcopy`` and pickling behave as for any ``nn.Module``.

Use :func:`get_model` / :func:`list_models` / :func:`model_info`:

>>> from mgcore_torch.models import get_model
>>> net = get_model("mgnet-small", in_channels=1)
>>> sum(p.numel() for p in net.parameters()) > 0
True

Parameter counts of the presets equal those of the reference
implementations (see ``/work/shared/seeds/INDEX.md``): MgNet[2,2,2,2]-[256]-B^l
8,278,794 (8,301,924 with 100 classes), -B^{l,i} 10,638,090, Poly-MgNet^{q2}
1,386,706, MgNet^{A,B} 2,750,666, ResNet-18 11,173,962.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mgcore.cycles import mgnet as mgnet_algorithm
from mgcore.cycles import v_mgnet as v_mgnet_algorithm
from mgcore.hierarchy import Hierarchy, Level

from .blocks import BasicBlock, PreActBlock
from .layers import (
    PI_KINDS,
    ConvBNAct,
    MgNetSmoother,
    PolySmoother,
    Prolongation,
    conv3x3,
    make_projection,
    xavier_root,
)

__all__ = [
    "get_model",
    "list_models",
    "register_model",
    "model_info",
    "MgNet",
    "VMgNet",
    "PolyMgNet",
    "ResNet",
    "SMOOTHER_KINDS",
    "PI_KINDS",
]

#: Smoother sharing of the MgNet family: ``B^l`` ("shared") or ``B^{l,i}`` ("per-step").
SMOOTHER_KINDS = ("shared", "per-step")


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class _Entry:
    name: str
    factory: Callable[..., nn.Module]
    model_class: type
    seed: str
    defaults: tuple


_REGISTRY: dict[str, _Entry] = {}


def register_model(name: str, *, seed: str = "", model_class: type | None = None, defaults: dict | None = None):
    """Decorator registering a model factory under ``name``.

    Parameters
    ----------
    name : str
        Registry name (``get_model(name)``).
    seed : str
        Seed reference (file, equation/algorithm/table) shown by :func:`model_info`.
    model_class : type, optional
        The ``nn.Module`` class the factory returns; its ``__init__`` keywords
        are the allowed configuration keys.
    defaults : dict, optional
        Preset values the factory passes to ``model_class`` (shown by :func:`model_info`).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"register_model: name must be a non-empty str, got {name!r}")

    def deco(fn):
        if name in _REGISTRY:
            raise ValueError(f"register_model: a model named {name!r} is already registered")
        _REGISTRY[name] = _Entry(name, fn, model_class or fn, seed, tuple(sorted((defaults or {}).items())))
        return fn

    return deco


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; allowed names: {', '.join(list_models())}")
    return _REGISTRY[name]


def _allowed_keys(entry: _Entry) -> list[str]:
    sig = inspect.signature(entry.model_class.__init__ if isinstance(entry.model_class, type) else entry.model_class)
    return [p for p in sig.parameters if p != "self" and sig.parameters[p].kind is not inspect.Parameter.VAR_KEYWORD]


def get_model(name: str, **config: Any) -> nn.Module:
    """Build the registered model ``name`` with configuration overrides ``config``.

    Raises
    ------
    ValueError
        Unknown name (the message lists the allowed names) or unknown
        configuration key (lists the allowed keys) or invalid values.
    """
    entry = _entry(name)
    allowed = _allowed_keys(entry)
    bad = sorted(set(config) - set(allowed))
    if bad:
        raise ValueError(f"get_model({name!r}): unknown configuration key(s) {bad}; allowed: {allowed}")
    return entry.factory(**config)


def model_info(name: str) -> dict:
    """Documentation, seed reference, preset values and allowed keys of a registered model."""
    e = _entry(name)
    doc = inspect.getdoc(e.factory) or inspect.getdoc(e.model_class) or ""
    return {
        "name": e.name,
        "doc": doc,
        "seed": e.seed,
        "defaults": dict(e.defaults),
        "config_keys": _allowed_keys(e),
        "class": getattr(e.model_class, "__name__", str(e.model_class)),
    }


# --------------------------------------------------------------------------- helpers
def _nu_tuple(nu: Any, name: str = "nu", J: int | None = None) -> tuple[int, ...]:
    if isinstance(nu, int) and not isinstance(nu, bool):
        if J is None:
            raise ValueError(f"{name} must be a sequence of non-negative ints (one per level)")
        nu = (nu,) * J
    try:
        vals = tuple(nu)
    except TypeError:
        raise TypeError(f"{name} must be a sequence of non-negative ints, got {type(nu).__name__}") from None
    if not vals or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in vals):
        raise ValueError(f"{name} must be a non-empty sequence of non-negative ints, got {nu!r}")
    if J is not None and len(vals) != J:
        raise ValueError(f"{name} must have one entry per level (J = {J}), got {len(vals)}: {vals!r}")
    return vals


def _parse_channels(channels: Any, J: int) -> tuple[list[int], list[int]]:
    """``c`` | ``[c_1..c_J]`` | ``[(c_u1, c_f1), ..]`` -> (c_u list, c_f list) (seed 001 eq. 3.8)."""
    if isinstance(channels, int) and not isinstance(channels, bool):
        items = [channels] * J
    else:
        try:
            items = list(channels)
        except TypeError:
            raise TypeError(f"channels must be an int, a list of J ints or of J (c_u, c_f) pairs, got {channels!r}") from None
        if len(items) != J:
            raise ValueError(
                f"channels must give one entry per level: nu has J = {J} levels but channels has {len(items)}: {channels!r}"
            )
    cu, cf = [], []
    for c in items:
        if isinstance(c, (tuple, list)):
            if len(c) != 2:
                raise ValueError(f"channel pairs must be (c_u, c_f), got {c!r}")
            u, f = c
        else:
            u = f = c
        for v in (u, f):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"channels must be positive ints, got {channels!r}")
        cu.append(int(u))
        cf.append(int(f))
    return cu, cf


def _check_choice(value: Any, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


class _HierarchyModel(nn.Module):
    """Base class keeping a :class:`Hierarchy` outside the registered module tree."""

    def _set_hierarchy(self, levels: list[Level]) -> None:
        object.__setattr__(self, "_hierarchy", Hierarchy(levels))

    @property
    def hierarchy(self) -> Hierarchy:
        """The multigrid hierarchy (level 1 = finest) whose levels hold this model's modules."""
        return self.__dict__["_hierarchy"]

    def classify(self, u):
        """Global average pooling of the iterate and the linear head (seed 003 eq. 9.1-9.4)."""
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(u, 1), 1))


@dataclass(eq=False)
class SizedLevel(Level):
    """A :class:`Level` whose prolongation gets the fine-level spatial size (odd image sizes)."""

    def correct(self, u, e):
        if u is None:
            return self.P(e)
        return u + self.P(e, output_size=u.shape[-2:])


# --------------------------------------------------------------------------- MgNet
class MgNet(_HierarchyModel):
    """MgNet[nu]-[c]-B^l / B^{l,i} (seed 001 Alg. 2, notation 3.8; seed 003 Alg. 3).

    ``f^1 = sigma_BN(theta^0 * x)`` (CIFAR-style stem), then per level
    ``u <- u + sigma_BN o B o sigma_BN (f - A^l u)`` (``nu_l`` steps),
    ``u^{l+1,0} = Pi u^l``, ``f^{l+1} = R(f^l - A^l u^l) + A^{l+1} u^{l+1,0}``
    (``R``, ``Pi`` = 3x3 stride-2 conv + ``sigma_BN``, seed 002), run by
    :func:`mgcore.cycles.mgnet`; the output is the global average of ``u^J``
    followed by a linear layer.

    Parameters
    ----------
    nu : sequence of int
        Smoothing steps per level (length J, level 1 = finest).
    channels : int, list of int, or list of (c_u, c_f)
        Channels per level (seed 001 eq. 3.8; seed 003 eq. 6.20).
    smoother : {"shared", "per-step"}
        ``B^l`` shared by the steps of a level, or ``B^{l,i}`` per step.
    pi : {"conv", "zero", "depthwise", "injection", "full-weighting"}
        Projection of the iterate (seed 003 §6.3, §9.1: Pi_1, Pi_0, Pi_2).
    in_channels, num_classes : int
        Input image channels and number of classes.
    bn, act : bool
        BatchNorm and ReLU in the smoothers, ``R``, ``Pi`` and stem; with both
        False every operator is linear (used to check Theorem 6.1).
    a_bn_relu : bool
        Follow ``A`` by BN and ReLU (a nonlinear data-feature map, seed 001
        eq. 4.8, 4.15).  Default False, as in the reference implementation.
    stem : bool
        Use the stem ``sigma_BN(theta^0 * x)``; False takes ``f^1 = x``
        (needs ``in_channels == c_f1``).
    """

    def __init__(
        self,
        nu: Sequence[int] = (2, 2, 2, 2),
        channels: Any = 256,
        smoother: str = "shared",
        pi: str = "conv",
        in_channels: int = 3,
        num_classes: int = 10,
        bn: bool = True,
        act: bool = True,
        a_bn_relu: bool = False,
        stem: bool = True,
    ):
        super().__init__()
        self.nu = _nu_tuple(nu)
        J = len(self.nu)
        cu, cf = _parse_channels(channels, J)
        _check_choice(smoother, SMOOTHER_KINDS, "smoother")
        _check_choice(pi, PI_KINDS, "pi")
        if isinstance(in_channels, bool) or not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(f"in_channels must be a positive int, got {in_channels!r}")
        if isinstance(num_classes, bool) or not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        if not stem and in_channels != cf[0]:
            raise ValueError(f"stem=False needs in_channels == c_f of level 1 ({cf[0]}), got {in_channels}")
        self.config = dict(nu=self.nu, channels=channels, smoother=smoother, pi=pi, in_channels=in_channels,
                           num_classes=num_classes, bn=bn, act=act, a_bn_relu=a_bn_relu, stem=stem)
        self.c_u, self.c_f = cu, cf
        self.stem = ConvBNAct(in_channels, cf[0], 1, bn=bn, act=act) if stem else nn.Identity()
        if a_bn_relu:
            self.A = nn.ModuleList([ConvBNAct(cu[l], cf[l], 1, bn=True, act=True) for l in range(J)])
        else:
            self.A = nn.ModuleList([conv3x3(cu[l], cf[l]) for l in range(J)])
        self.B = nn.ModuleDict({
            str(l + 1): MgNetSmoother(cu[l], cf[l], self.nu[l], shared=(smoother == "shared"), bn=bn, act=act)
            for l in range(J) if self.nu[l] > 0
        })
        self.R = nn.ModuleList([ConvBNAct(cf[l], cf[l + 1], 2, bn=bn, act=act) for l in range(J - 1)])
        pis = [make_projection(pi, cu[l], cu[l + 1], bn=bn, act=act) for l in range(J - 1)]
        self.Pi = nn.ModuleList([p for p in pis if p is not None])
        self.fc = nn.Linear(cu[-1], num_classes)
        self._build_levels(pis)

    def _level_kwargs(self, l: int, pis: list) -> dict:
        J = len(self.nu)
        return dict(
            A=self.A[l],
            B=self.B[str(l + 1)] if str(l + 1) in self.B else None,
            R=self.R[l] if l < J - 1 else None,
            Pi=pis[l] if l < J - 1 else None,
            meta={"level": l + 1, "c_u": self.c_u[l], "c_f": self.c_f[l]},
        )

    def _build_levels(self, pis: list) -> None:
        self._set_hierarchy([Level(**self._level_kwargs(l, pis)) for l in range(len(self.nu))])

    def features(self, x):
        """Run MgNet (seed 003 Alg. 3 via :func:`mgcore.cycles.mgnet`); return the level states."""
        return mgnet_algorithm(self.hierarchy, self.stem(x), self.nu)

    def forward(self, x):
        u = self.features(x)[-1].u
        if u is None:
            raise ValueError("the coarsest level has nu = 0 and a zero projection: u^J is zero")
        return self.classify(u)


class VMgNet(MgNet):
    """V-MgNet (seed 003 Alg. 4): MgNet down, then prolongation + post-smoothing up.

    After :func:`mgcore.cycles.mgnet`, for ``l = J-1 .. 1``:
    ``u^l = u_bar^l + P(u^{l+1} - u_bar^{l+1,0})`` (6.15, ``P`` a transposed
    3x3 stride-2 conv) and ``nu_post_l`` steps with ``B'`` (6.16).  The
    finest iterate ``u^1`` is pooled and classified.  Runs
    :func:`mgcore.cycles.v_mgnet`.

    Parameters
    ----------
    nu_post : sequence of int
        Post-smoothing steps per level (the entry of level J is unused).
    Other parameters as :class:`MgNet`.
    """

    def __init__(
        self,
        nu: Sequence[int] = (1, 1, 1),
        nu_post: Sequence[int] | None = None,
        channels: Any = 32,
        smoother: str = "shared",
        pi: str = "conv",
        in_channels: int = 3,
        num_classes: int = 10,
        bn: bool = True,
        act: bool = True,
        a_bn_relu: bool = False,
        stem: bool = True,
    ):
        nu_t = _nu_tuple(nu)
        posts = _nu_tuple(nu if nu_post is None else nu_post, "nu_post", len(nu_t))
        super().__init__(nu_t, channels, smoother, pi, in_channels, num_classes, bn, act, a_bn_relu, stem)
        J = len(self.nu)
        self.config["nu_post"] = posts
        self.nu_post = posts
        self.P = nn.ModuleList([Prolongation(self.c_u[l + 1], self.c_u[l]) for l in range(J - 1)])
        self.B_post = nn.ModuleDict({
            str(l + 1): MgNetSmoother(self.c_u[l], self.c_f[l], self.nu_post[l], shared=(smoother == "shared"), bn=bn, act=act)
            for l in range(J - 1) if self.nu_post[l] > 0
        })
        pis = []
        it = iter(self.Pi)
        for l in range(J - 1):
            pis.append(None if pi == "zero" else next(it))
        levels = []
        for l in range(J):
            kw = self._level_kwargs(l, pis)
            kw["P"] = self.P[l] if l < J - 1 else None
            kw["B_post"] = self.B_post[str(l + 1)] if str(l + 1) in self.B_post else None
            levels.append(SizedLevel(**kw))
        self._set_hierarchy(levels)

    def _build_levels(self, pis):  # levels are built once P exists (see __init__)
        pass

    def forward(self, x):
        u = v_mgnet_algorithm(self.hierarchy, self.stem(x), self.nu, self.nu_post)
        return self.classify(u)


# --------------------------------------------------------------------------- Poly-MgNet
#: Default factor layout of the polynomial names (seed 000 eqs. 18, 21).
def _poly_factors(polynomial: str) -> list[str]:
    msg = f"polynomial must be 'q<d>' (d even >= 2), 'g<d>' (d even >= 4) or 'AB', got {polynomial!r}"
    if polynomial == "AB":
        return ["conv", "conv"]
    if not isinstance(polynomial, str) or len(polynomial) < 2 or polynomial[0] not in "qg" or not polynomial[1:].isdigit():
        raise ValueError(msg)
    d = int(polynomial[1:])
    if polynomial[0] == "q" and d >= 2 and d % 2 == 0:
        return ["linear", "linear"] + ["quadratic"] * ((d - 2) // 2)
    if polynomial[0] == "g" and d >= 4 and d % 2 == 0:
        return ["squared", "squared"] + ["quadratic"] * ((d - 4) // 2)
    raise ValueError(msg)


#: BN/ReLU placements (residual, update, after) used by the presets: the
#: best rows of seed 000 Table 3 (q2: bn + sigma u, bn r; g4: eq. 22) and Table 4.
POLY_PLACEMENTS = {
    "q": ("bn", "none", "bn_relu"),
    "g4": ("bn_relu", "bn_relu", "none"),
    "g6": ("bn_relu", "none", "bn_relu"),
    "g8": ("bn_relu", "bn", "relu"),
    "AB": ("bn_relu", "bn_relu", "none"),
}


class PolyMgNet(_HierarchyModel):
    """Poly-MgNet (seed 000 Alg. 2) and its MgNet^{A,B} baseline, run by :func:`mgcore.cycles.mgnet`.

    Skeleton of seed 000 §4: channels ``[64, 128, 256, 256]``, CIFAR stem
    (3x3 conv + BN + ReLU), one shared 3x3 ``A_l`` per level, depthwise
    stride-2 ``R`` (applied to ``sigma(f - A u)``) and ``Pi`` without BN
    (seed 000 eqs. 8-9), one smoothing step per factor of the residual
    polynomial with its own two BN/ReLU placements, global average pool and
    linear head.

    Parameters
    ----------
    polynomial : str
        ``"q2"``, ``"q4"``, ... (eq. 18: two real linear factors, then
        complex-conjugate quadratic factors), ``"g4"``, ``"g6"``, ``"g8"``, ...
        (eq. 21: two ``I - alpha A^2`` factors, then quadratic factors), or
        ``"AB"`` (two steps with one shared learnable 3x3 ``B`` per level).
    channels : sequence of int
        Channels per level.
    residual, update, after : str, optional
        BN/ReLU placements (see :class:`~mgcore_torch.layers.PolySmoother`);
        default per polynomial from seed 000 Tables 3 and 4.
    roots : sequence, optional
        Initial roots ``zeta`` of the factors, the same for every level (a
        real number per linear/squared factor, a complex ``a + ib`` per
        quadratic factor; e.g. from :func:`~mgcore_torch.layers.select_roots`).
        Default: the Xavier-type draw of seed 000 Table 2.
    level1_transfers : bool
        The reference implementation allocates the depthwise ``R`` and
        ``Pi`` on every level, level 1 included, where they are never used;
        its counts (1,386,706 for q2, 2,750,666 for MgNet^{A,B}) include
        their ``2 * 9 * c_1`` weights.  True (default) allocates them too
        (unused in ``forward``) so that the counts agree.
    """

    def __init__(
        self,
        polynomial: str = "q2",
        channels: Sequence[int] = (64, 128, 256, 256),
        in_channels: int = 3,
        num_classes: int = 10,
        residual: str | None = None,
        update: str | None = None,
        after: str | None = None,
        roots: Sequence[Any] | None = None,
        level1_transfers: bool = True,
    ):
        super().__init__()
        kinds = _poly_factors(polynomial)
        cs = list(channels) if not isinstance(channels, int) else [channels] * 4
        if any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in cs) or not cs:
            raise ValueError(f"channels must be a non-empty list of positive ints, got {channels!r}")
        for a, b in zip(cs, cs[1:]):
            if b % a:
                raise ValueError(f"depthwise R/Pi need each level's channels to be a multiple of the previous, got {cs}")
        key = "AB" if polynomial == "AB" else ("q" if polynomial[0] == "q" else polynomial)
        defaults = POLY_PLACEMENTS.get(key, POLY_PLACEMENTS["g8"])
        place = [p if p is not None else d for p, d in zip((residual, update, after), defaults)]
        if roots is not None:
            roots = list(roots)
            if len(roots) != len(kinds):
                raise ValueError(f"roots must give one root per factor ({len(kinds)} for {polynomial!r}), got {len(roots)}")
        J = len(cs)
        self.polynomial, self.nu = polynomial, (len(kinds),) * J
        self.config = dict(polynomial=polynomial, channels=tuple(cs), in_channels=in_channels, num_classes=num_classes,
                           residual=place[0], update=place[1], after=place[2], level1_transfers=level1_transfers)
        self.stem = ConvBNAct(in_channels, cs[0], 1)
        self.A = nn.ModuleList([conv3x3(c, c) for c in cs])
        smoothers = []
        for l, c in enumerate(cs):
            if polynomial == "AB":
                smoothers.append(PolySmoother(c, [("linear", 1.0)] * 2, *place, B=conv3x3(c, c)))
            else:
                rs = roots if roots is not None else [self._init_root(k, c) for k in kinds]
                smoothers.append(PolySmoother(c, list(zip(kinds, rs)), *place))
        self.B = nn.ModuleList(smoothers)
        self.R = nn.ModuleList([ConvBNAct(cs[l], cs[l + 1], 2, bn=False, act=False, groups=cs[l], pre_act=True) for l in range(J - 1)])
        self.Pi = nn.ModuleList([ConvBNAct(cs[l], cs[l + 1], 2, bn=False, act=False, groups=cs[l]) for l in range(J - 1)])
        if level1_transfers:
            self.level1_transfers = nn.ModuleList([ConvBNAct(cs[0], cs[0], 2, bn=False, act=False, groups=cs[0]) for _ in range(2)])
        self.fc = nn.Linear(cs[-1], num_classes)
        self._set_hierarchy([
            Level(A=self.A[l], B=self.B[l], R=self.R[l] if l < J - 1 else None, Pi=self.Pi[l] if l < J - 1 else None,
                  meta={"level": l + 1, "channels": cs[l]})
            for l in range(J)
        ])

    @staticmethod
    def _init_root(kind: str, c: int) -> complex:
        z = xavier_root(c, c)
        if kind == "quadratic":
            return complex(abs(z), abs(xavier_root(c, c)))
        return z

    def forward(self, x):
        u = mgnet_algorithm(self.hierarchy, self.stem(x), self.nu)[-1].u
        return self.classify(u)


# --------------------------------------------------------------------------- ResNet
_RESNET_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


class ResNet(nn.Module):
    """CIFAR ResNet / pre-act ResNet and the modified models of seed 001 §4.2, §5.1.

    ``preact=False``: ResNet (seed 001 eq. 3.3-3.4); ``preact=True``:
    pre-act ResNet (Alg. 1, eq. 3.1-3.2; no final BN, ``h = R_ave(r^J)``).
    ``share_A=True`` uses one second convolution ``A^l`` in all blocks of a
    level (eq. 4.6 / 4.7, "-A^l-B^{l,i}"); ``share_B=True`` one first
    convolution ``B^l`` in all stride-1 blocks of a level (eq. 5.4, and with
    ``share_A`` eq. 5.5).  BatchNorms are never shared.

    Parameters
    ----------
    depth : {18, 34}
    preact, share_A, share_B : bool
    in_channels, num_classes : int
    widths : sequence of 4 ints
    """

    def __init__(self, depth: int = 18, preact: bool = False, share_A: bool = False, share_B: bool = False,
                 in_channels: int = 3, num_classes: int = 10, widths: Sequence[int] = (64, 128, 256, 512)):
        super().__init__()
        if depth not in _RESNET_BLOCKS:
            raise ValueError(f"depth must be one of {tuple(_RESNET_BLOCKS)}, got {depth!r}")
        widths = list(widths)
        if len(widths) != 4 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"widths must be 4 positive ints (one per level), got {widths!r}")
        self.config = dict(depth=depth, preact=preact, share_A=share_A, share_B=share_B, in_channels=in_channels,
                           num_classes=num_classes, widths=tuple(widths))
        block = PreActBlock if preact else BasicBlock
        self.stem = nn.Sequential(conv3x3(in_channels, widths[0])) if preact else ConvBNAct(in_channels, widths[0], 1)
        layers, c_in = [], widths[0]
        for l, (n, c) in enumerate(zip(_RESNET_BLOCKS[depth], widths)):
            A = conv3x3(c, c) if share_A else None
            B = conv3x3(c, c) if share_B else None
            blocks = []
            for i in range(n):
                stride = 2 if (i == 0 and l > 0) else 1
                first_changes = stride != 1 or c_in != c
                blocks.append(block(c_in, c, stride, B=None if first_changes else B, A=A))
                c_in = c
            layers.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        r = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(r, 1), 1))


# --------------------------------------------------------------------------- factories
def _preset(cls, defaults: dict, config: dict):
    kw = dict(defaults)
    kw.update(config)
    return cls(**kw)


class _Factory:
    """Picklable preset factory ``cls(**{**defaults, **config})``."""

    def __init__(self, cls, defaults: dict, doc: str):
        self.cls, self.defaults, self.__doc__ = cls, dict(defaults), doc

    def __call__(self, **config):
        return _preset(self.cls, self.defaults, config)


def _register(name: str, cls, seed: str, doc: str, **defaults) -> None:
    register_model(name, seed=seed, model_class=cls, defaults=defaults)(_Factory(cls, defaults, doc))


_register("mgnet", MgNet, "001 Alg. 2, eq. 3.8; 003 Alg. 3",
          "Generic MgNet[nu]-[c]-B^l / B^{l,i}: mgnet(nu=(2,2,2,2), channels=256, smoother='shared'|'per-step', "
          "pi='conv'|'zero'|'depthwise'|'injection'|'full-weighting', in_channels=3, num_classes=10).")
_register("mgnet-2222-256-Bl", MgNet, "001 Table 4 (8.2M / 8.3M); INDEX.md: 8,278,794 / 8,301,924",
          "MgNet[2,2,2,2]-[256]-B^l, the reference CIFAR model (seed 001 Table 4).",
          nu=(2, 2, 2, 2), channels=256, smoother="shared")
_register("mgnet-2222-256-Bli", MgNet, "001 Table 10 (10.7M); INDEX.md: 10,638,090",
          "MgNet[2,2,2,2]-[256]-B^{l,i}: one smoother conv per step (seed 001 Table 10).",
          nu=(2, 2, 2, 2), channels=256, smoother="per-step")
_register("mgnet-small", MgNet, "001 Alg. 2 (small instance)",
          "MgNet[1,1,1]-[32]-B^l: trains in seconds on 8x8 digits.", nu=(1, 1, 1), channels=32, smoother="shared")
_register("v-mgnet", VMgNet, "003 Alg. 4",
          "V-MgNet[1,1,1]-[32] with transposed-conv prolongation and post-smoothing (seed 003 Alg. 4).",
          nu=(1, 1, 1), nu_post=(1, 1, 1), channels=32)
_register("poly-mgnet", PolyMgNet, "000 Alg. 2, eqs. 10-21", "Generic Poly-MgNet (seed 000); polynomial='q2'|'q4'|'g4'|...")
for _p, _seed in [("q2", "000 §4 (1.3M); INDEX.md: 1,386,706"), ("q4", "000 eq. 18, Alg. 3"),
                  ("g4", "000 eq. 20-21, Table 3"), ("g6", "000 eq. 21, Table 4"), ("g8", "000 eq. 21, Table 4")]:
    _register(f"poly-mgnet-{_p}", PolyMgNet, _seed, f"Poly-MgNet^{{{_p}}} (seed 000).", polynomial=_p)
_register("mgnet-AB", PolyMgNet, "000 §4 MgNet^{A,B} (2.7M); INDEX.md: 2,750,666",
          "MgNet^{A,B}: the Poly-MgNet skeleton with one shared 3x3 B per level (seed 000 §4).", polynomial="AB")
_register("resnet", ResNet, "001 eq. 3.1-3.4, 4.6, 4.7, 5.4, 5.5",
          "Generic (pre-act) ResNet with optional A^l / B^l sharing (seed 001 §4.2, §5.1).")
for _d in (18, 34):
    _register(f"resnet{_d}", ResNet, f"001 Table 3 (ResNet{_d}-A^{{l,i}}-B^{{l,i}})", f"ResNet-{_d} (CIFAR).", depth=_d)
    _register(f"preact-resnet{_d}", ResNet, f"001 Alg. 1, Table 3", f"Pre-act ResNet-{_d} (CIFAR).", depth=_d, preact=True)
    for _pre, _pname in ((False, "resnet"), (True, "preact-resnet")):
        for _sa, _sb, _tag, _eq in ((True, False, "Al-Bli", "4.7" if not _pre else "4.6"),
                                    (False, True, "Ali-Bl", "5.4"), (True, True, "Al-Bl", "5.5")):
            _register(f"{_pname}{_d}-{_tag}", ResNet, f"001 eq. {_eq}, Table 3",
                      f"{'Pre-act ' if _pre else ''}ResNet{_d}-{_tag.replace('l', '^l', 1)} (seed 001 eq. {_eq}).",
                      depth=_d, preact=_pre, share_A=_sa, share_B=_sb)
