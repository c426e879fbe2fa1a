"""Poly-MgNet (van Betteray, Rottmann & Kahl, *Poly-MgNet*, ICPRAM 2025) and its MgNet^{A,B} baseline.

Built as the authors' code (github.com/vanbetteray/Poly-MgNet: ``models/mgnet.py``,
``mgnet_poly.py``, ``mgnet_poly_quad.py``, ``mgnet_poly_quad_real.py``,
``smoothingstepvariants.py`` and the two train routines) builds them:
channels ``[64, 128, 256, 256]``, CIFAR stem (3x3 conv + BN + ReLU), one shared
3x3 ``A`` per level, depthwise stride-2 ``R`` (applied to ``sigma(f - A u)``)
and ``Pi`` without BN, one residual block per factor of the residual
polynomial with one scalar coefficient and two BatchNorms per block, global
average pool and a linear head.  The presets use the code's defaults:

============ ============================== ======================================================
preset       factors                        placements (residual / update / after)
============ ============================== ======================================================
q2           linear, linear                 bn / - / bn+sigma  (Table 3, best q2 row)
g4           squared x2                     bn+sigma / bn+sigma / -  (Table 3, best g4 row, eq. 22)
g6           squared x2, quadratic          squared as g4; quadratic bn+sigma / - / bn+sigma (Table 4)
g8           squared x3, quadratic          squared as g4; quadratic bn+sigma / bn / sigma (Table 4)
AB           two blocks with a 3x3 ``B``    bn+sigma / bn+sigma / -
============ ============================== ======================================================

The quadratic factor of the code is real-only (``b = 0``, one scalar; see
:mod:`mgcore_torch.polylayers`), its g8 has three squared factors and one
quadratic (eq. 21 with ``m = 2`` would have two of each: ``factors=``), and it
allocates two BatchNorms per block and the depthwise ``R`` / ``Pi`` of level 1
even where they are unused; ``reference_bn`` / ``level1_transfers`` keep those
unused modules so that the parameter counts agree (they sit outside the
forward path and get no gradient).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from torch import nn

from mgcore.cycles import mgnet as mgnet_algorithm
from mgcore.hierarchy import Level

from ..activations import level_activations
from ..layers import ConvBNAct, conv, make_stem
from ..polylayers import (
    FACTOR_KINDS,
    LEVEL_END,
    PLACEMENTS,
    PolyFactor,
    PolySmoother,
    conv_spectrum,
    reference_coefficients,
    spectrum_coefficients,
    uniform_spectrum_coefficients,
)
from .mgnet import _check_stem, _min_size
from .registry import _check_bool, _check_choice, _check_positive_int, _fmt, _HierarchyModel, _register, _stem_lines

__all__ = ["PolyMgNet", "POLY_PLACEMENTS", "INITS", "poly_factors"]

#: Coefficient initialisations (Poly-MgNet Table 2 and Alg. 3), or a callable ``init(weight, kinds) -> roots``.
INITS = ("reference", "spectrum", "spectrum-uniform")
_DEGREE = {"linear": 1, "squared": 2, "quadratic": 2}

#: Default placements (residual, update, after) per polynomial family and factor kind: the authors' code.
POLY_PLACEMENTS = {
    "q": {"linear": ("bn", "none", "bn_relu"), "quadratic": ("bn", "none", "bn_relu"), "squared": ("bn_relu", "bn_relu", "none")},
    "g": {"squared": ("bn_relu", "bn_relu", "none"), "quadratic": ("bn_relu", "none", "bn_relu"), "linear": ("bn", "none", "bn_relu")},
    "g8": {"squared": ("bn_relu", "bn_relu", "none"), "quadratic": ("bn_relu", "bn", "relu"), "linear": ("bn", "none", "bn_relu")},
    "AB": {"conv": ("bn_relu", "bn_relu", "none")},
}


def poly_factors(polynomial: str) -> list[str]:
    """Default factor layout of a polynomial name, as in the authors' code.

    ``"q<d>"`` (d even >= 2): two linear factors, then ``(d-2)/2`` quadratic
    ones (eq. 18).  ``"g<d>"`` (d even >= 4): ``g4`` = two squared factors;
    ``d >= 6``: ``d/2 - 1`` squared factors and one quadratic (the code adds
    one quadratic block after the squared ones).  ``"AB"``: two blocks with a
    convolution ``B``.

    >>> poly_factors("g8")
    ['squared', 'squared', 'squared', 'quadratic']
    """
    msg = f"polynomial must be 'q<d>' (d even >= 2), 'g<d>' (d even >= 4) or 'AB', got {polynomial!r}"
    if polynomial == "AB":
        return ["conv", "conv"]
    if not isinstance(polynomial, str) or len(polynomial) < 2 or polynomial[0] not in "qg" or not polynomial[1:].isdigit():
        raise ValueError(msg)
    d = int(polynomial[1:])
    if polynomial[0] == "q" and d >= 2 and d % 2 == 0:
        return ["linear", "linear"] + ["quadratic"] * ((d - 2) // 2)
    if polynomial[0] == "g" and d >= 4 and d % 2 == 0:
        return ["squared", "squared"] if d == 4 else ["squared"] * (d // 2 - 1) + ["quadratic"]
    raise ValueError(msg)


def _placements(spec: Any, kinds: list[str], defaults: dict, idx: int, name: str) -> list[str]:
    """Per-factor placements from None (defaults) | str | {kind: str} | [str per factor]."""
    if spec is None:
        return [defaults[k][idx] for k in kinds]
    if isinstance(spec, str):
        spec = [spec] * len(kinds)
    elif isinstance(spec, dict):
        bad = sorted(set(spec) - set(FACTOR_KINDS) - {"conv"})
        if bad:
            raise ValueError(f"{name} keys must be factor kinds {FACTOR_KINDS}, got {bad}")
        spec = [spec.get(k, defaults[k][idx]) for k in kinds]
    else:
        try:
            spec = list(spec)
        except TypeError:
            raise ValueError(f"{name} must be one of {PLACEMENTS}, a dict per factor kind or a list per factor") from None
        if len(spec) != len(kinds):
            raise ValueError(f"{name} must give one placement per factor ({len(kinds)}), got {len(spec)}: {spec!r}")
    for v in spec:
        _check_choice(v, PLACEMENTS, name)
    return spec


class PolyMgNet(_HierarchyModel):
    """Poly-MgNet (van Betteray, Rottmann & Kahl 2025, Alg. 2) and MgNet^{A,B}, run by :func:`mgcore.cycles.mgnet`.

    Parameters
    ----------
    polynomial : str
        ``"q2"``, ``"q4"``, ... (eq. 18), ``"g4"``, ``"g6"``, ``"g8"``, ...
        (eq. 21) or ``"AB"`` (two blocks with one shared 3x3 ``B`` per level);
        sets the default layout (:func:`poly_factors`) and placements.
    channels : sequence of int
        Channels per level (each a multiple of the previous: depthwise ``R``, ``Pi``).
    in_channels, num_classes : int
    residual, update, after : str, dict or list, optional
        BN/activation placements (one of ``"bn_relu"``, ``"bn"``, ``"relu"``,
        ``"none"``) for all factors, per factor kind (``{"squared": ...,
        "quadratic": ...}``) or per factor; defaults: the code's (module docstring).
    level_end : {"none", "relu"}
        The activation once after the last block of a level (eq. 23, the
        code's "relu-outside" variants).
    factors : sequence of {"linear", "squared", "quadratic"}, optional
        Factor layout (how many linear / squared / quadratic blocks, in
        order); its degree must be that of ``polynomial``.
    quadratic : {"real", "complex"}
        Quadratic factors with ``b = 0`` and one scalar (the code) or with
        learnable ``a`` and ``b`` (eq. 17, 19).
    init : {"reference", "spectrum", "spectrum-uniform"} or callable
        Initial coefficients: the code's draw (Table 2 "Xavier"), the roots of
        Alg. 3 from the spectrum of the initial ``A`` (exact, on a periodic
        ``spectrum_grid`` x ``spectrum_grid`` grid), roots from
        ``U(lambda_min, lambda_max)`` (Table 2), or ``init(A_weight, kinds)``
        returning one root per factor (as ``roots``).
    roots : sequence, optional
        The same initial roots on every level (overrides ``init``).
    share_A : "level", "none" or int
        One ``A`` per level (default), one per block, or a new ``A`` every
        ``k`` blocks (the code's ``frequency``).  The level's first ``A``
        forms the coarse data and the restricted residual.
    A_groups : int
        Groups of the ``A`` convolutions (grouped A).
    kernel_size : {1, 3, 5}
        Kernel size of ``A`` (and of ``B`` for ``"AB"``).
    train_coefficients : bool
        False freezes the polynomial coefficients.
    reference_bn : bool
        Allocate two BatchNorms per block as the code does, unused ones included.
    level1_transfers : bool
        Allocate the unused depthwise ``R`` and ``Pi`` of level 1 as the code does.
    stem : str or bool
        See :func:`~mgcore_torch.layers.make_stem` (``"imagenet-s1"`` is the code's ImageNet stem).
    activation, hat_support, hat_trainable
        ``"relu"`` or ``"hat"`` (per-level supports), as in :class:`~mgcore_torch.models.mgnet.MgNet`.
    spectrum_grid : int
        Grid size of :func:`~mgcore_torch.polylayers.conv_spectrum` for ``init="spectrum"``.
    """

    def __init__(
        self,
        polynomial: str = "q2",
        channels: Sequence[int] = (64, 128, 256, 256),
        in_channels: int = 3,
        num_classes: int = 10,
        residual: Any = None,
        update: Any = None,
        after: Any = None,
        level_end: str = "none",
        factors: Sequence[str] | None = None,
        quadratic: str = "real",
        init: Any = "reference",
        roots: Sequence[Any] | None = None,
        share_A: Any = "level",
        A_groups: int = 1,
        kernel_size: int = 3,
        train_coefficients: bool = True,
        reference_bn: bool = True,
        level1_transfers: bool = True,
        stem: Any = "cifar",
        activation: str = "relu",
        hat_support: Any = None,
        hat_trainable: bool = False,
        spectrum_grid: int = 4,
    ):
        super().__init__()
        kinds = poly_factors(polynomial)
        is_ab = polynomial == "AB"
        if factors is not None:
            if is_ab:
                raise ValueError("factors applies to polynomials, not to polynomial='AB'")
            kinds = [_check_choice(k, FACTOR_KINDS, "factors entries") for k in list(factors)]
            deg, want = sum(_DEGREE[k] for k in kinds), int(polynomial[1:])
            if not kinds or deg != want:
                raise ValueError(f"factors {kinds} have degree {deg}, but polynomial={polynomial!r} has degree {want}")
        cs = [channels] * 4 if isinstance(channels, int) and not isinstance(channels, bool) else list(channels)
        if not cs or any(isinstance(c, bool) or not isinstance(c, int) or c < 1 for c in cs):
            raise ValueError(f"channels must be a non-empty list of positive ints, got {channels!r}")
        for a, b in zip(cs, cs[1:]):
            if b % a:
                raise ValueError(f"channels: depthwise R/Pi need each level's channels to be a multiple of the previous, got {cs}")
        _check_positive_int(in_channels, "in_channels")
        _check_positive_int(num_classes, "num_classes")
        _check_choice(level_end, LEVEL_END, "level_end")
        _check_choice(quadratic, ("real", "complex"), "quadratic")
        if not callable(init):
            _check_choice(init, INITS, "init")
        if share_A not in ("level", "none") and (isinstance(share_A, bool) or not isinstance(share_A, int) or share_A < 1):
            raise ValueError(f"share_A must be 'level', 'none' or a positive int k (a new A every k blocks), got {share_A!r}")
        _check_positive_int(A_groups, "A_groups")
        _check_choice(kernel_size, (1, 3, 5), "kernel_size")
        _check_positive_int(spectrum_grid, "spectrum_grid")
        for flag, name in ((train_coefficients, "train_coefficients"), (reference_bn, "reference_bn"),
                           (level1_transfers, "level1_transfers"), (hat_trainable, "hat_trainable")):
            _check_bool(flag, name)
        _check_stem(stem)
        family = "AB" if is_ab else ("g8" if polynomial == "g8" else polynomial[0])
        defaults = POLY_PLACEMENTS[family]
        place = [_placements(s, kinds, defaults, i, n)
                 for i, (s, n) in enumerate(((residual, "residual"), (update, "update"), (after, "after")))]
        if roots is not None:
            roots = list(roots)
            if is_ab or len(roots) != len(kinds):
                raise ValueError(f"roots must give one root per factor ({len(kinds)} for {polynomial!r}), got {len(roots)}")
        J, n = len(cs), len(kinds)
        k_share = {"level": n, "none": 1}.get(share_A, share_A)
        n_A = math.ceil(n / k_share)
        sig = level_activations(activation, J, hat_support, hat_trainable)
        self.polynomial, self.kinds, self.nu = polynomial, kinds, (n,) * J
        self.in_channels, self.min_image_size, self.stem_kind = in_channels, _min_size(stem), stem
        self.channels, self.level_end, self.k_share = cs, level_end, k_share
        self.config = dict(polynomial=polynomial, channels=tuple(cs), in_channels=in_channels, num_classes=num_classes,
                           residual=place[0], update=place[1], after=place[2], level_end=level_end, factors=kinds,
                           quadratic=quadratic, init=init if isinstance(init, str) else "callable", share_A=share_A,
                           A_groups=A_groups, kernel_size=kernel_size, train_coefficients=train_coefficients,
                           reference_bn=reference_bn, level1_transfers=level1_transfers, stem=stem,
                           activation=activation, hat_support=hat_support, hat_trainable=hat_trainable)
        self.sigma = nn.ModuleList(sig)
        self.stem = make_stem(stem, in_channels, cs[0], activation=sig[0])
        self.A = nn.ModuleList([conv(c, c, kernel_size, groups=A_groups) for c in cs])
        if n_A > 1:
            self.A_extra = nn.ModuleList([nn.ModuleList([conv(c, c, kernel_size, groups=A_groups) for _ in range(n_A - 1)])
                                          for c in cs])
        smoothers, unused = [], []
        for l, c in enumerate(cs):
            As = None if n_A == 1 else [self._A(l, i // k_share) for i in range(n)]
            if is_ab:
                sm = PolySmoother(c, (), *place, B=conv(c, c, kernel_size), level_end=level_end, activation=sig[l],
                                  As=As, n_factors=n)
            else:
                values = self._initial_values(init, roots, kinds, l, c, spectrum_grid, A_groups)
                fs = [PolyFactor(k, **values[i], real=(quadratic == "real"), trainable=train_coefficients)
                      for i, k in enumerate(kinds)]
                sm = PolySmoother(c, fs, *place, level_end=level_end, activation=sig[l], As=As)
            smoothers.append(sm)
            if reference_bn:
                unused += [nn.BatchNorm2d(c) for _ in range(max(0, 2 * n - sm.bn_count()))]
        self.B = nn.ModuleList(smoothers)
        self.R = nn.ModuleList([ConvBNAct(cs[l], cs[l + 1], 2, bn=False, act=False, groups=cs[l], pre_act=True,
                                          activation=sig[l]) for l in range(J - 1)])
        self.Pi = nn.ModuleList([ConvBNAct(cs[l], cs[l + 1], 2, bn=False, act=False, groups=cs[l]) for l in range(J - 1)])
        if level1_transfers:
            self.level1_transfers = nn.ModuleList([ConvBNAct(cs[0], cs[0], 2, bn=False, act=False, groups=cs[0])
                                                   for _ in range(2)])
        if unused:
            self.unused_bn = nn.ModuleList(unused)
        self.fc = nn.Linear(cs[-1], num_classes)
        self._set_hierarchy([
            Level(A=self.A[l], B=self.B[l], R=self.R[l] if l < J - 1 else None, Pi=self.Pi[l] if l < J - 1 else None,
                  meta={"level": l + 1, "channels": cs[l]})
            for l in range(J)
        ])

    def _A(self, l: int, j: int) -> nn.Module:
        return self.A[l] if j == 0 else self.A_extra[l][j - 1]

    def _initial_values(self, init, roots, kinds, l, c, grid, groups) -> list[dict]:
        if roots is not None:
            return [{"root": z} for z in roots]
        if callable(init):
            got = list(init(self.A[l].weight, list(kinds)))
            if len(got) != len(kinds):
                raise ValueError(f"init callable must return one root per factor ({len(kinds)}), got {len(got)}")
            return [{"root": z} for z in got]
        if init == "reference":
            vals = reference_coefficients(kinds, c)
        elif self.A[l].weight.is_meta:  # no data to take a spectrum of (parameter counting)
            vals = [1.0] * len(kinds)
        else:
            lam = conv_spectrum(self.A[l].weight, grid, groups=groups)
            vals = spectrum_coefficients(kinds, lam) if init == "spectrum" else uniform_spectrum_coefficients(kinds, lam)
        return [{"coefficient": v} for v in vals]

    def reference_only_parameters(self) -> list:
        """Parameters allocated only for count parity with the authors' code (never used in ``forward``)."""
        mods = [getattr(self, n) for n in ("level1_transfers", "unused_bn") if hasattr(self, n)]
        return [p for m in mods for p in m.parameters()]

    def forward(self, x):
        self.check_input(x)
        u = mgnet_algorithm(self.hierarchy, self.stem(x), self.nu)[-1].u
        return self.classify(u)

    def describe(self) -> list[str]:
        """Structure in execution order: stem; per level the ``A`` kernels, one line per block, ``R``, ``Pi``; head."""
        lines = _stem_lines(self.stem_kind, self.stem)
        J = len(self.channels)

        def norm(m):
            parts = ([_fmt(m.bn)] if m.bn is not None else []) + (["sigma"] if m.relu else [])
            return ", ".join(parts) or "-"

        for l in range(J):
            n_A = 1 + (len(self.A_extra[l]) if hasattr(self, "A_extra") else 0)
            for j in range(n_A):
                lines.append(f"L{l + 1} A{j + 1 if n_A > 1 else ''}: {_fmt(self._A(l, j))}")
            sm = self.B[l]
            for k in range(sm.nu):
                if sm.B is not None:
                    op = f"B^{l + 1} {_fmt(sm.B)}"
                else:
                    f = sm.factors[k]
                    op = f"{f.kind}{' real' if f.real else ''} ({sum(p.numel() for p in f.parameters())} coef)"
                a = f" A{k // self.k_share + 1}" if hasattr(self, "A_extra") else ""
                lines.append(f"L{l + 1} block {k + 1}{a}: {op}; residual {norm(sm.rho_r[k])}; "
                             f"update {norm(sm.rho_e[k])}; after {norm(sm.rho_u[k])}")
            if self.level_end == "relu":
                lines.append(f"L{l + 1} end: sigma")
            if l < J - 1:
                lines.append(f"L{l + 1}->L{l + 2} R: sigma, {_fmt(self.R[l].conv)}")
                lines.append(f"L{l + 1}->L{l + 2} Pi: {_fmt(self.Pi[l].conv)}")
        if hasattr(self, "level1_transfers"):
            lines.append("unused (reference code): " + ", ".join(_fmt(m.conv) for m in self.level1_transfers))
        if hasattr(self, "unused_bn"):
            lines.append(f"unused (reference code): {len(self.unused_bn)} BatchNorms")
        lines.append(f"head: avgpool, {_fmt(self.fc)}")
        return lines


# --------------------------------------------------------------------------- presets
_P = "van Betteray, Rottmann & Kahl, Poly-MgNet, ICPRAM 2025"
_register("poly-mgnet", PolyMgNet, f"{_P}, Alg. 2, eqs. 10-21",
          "Generic Poly-MgNet: polynomial='q2'|'q4'|'g4'|'g6'|'g8'|..., placements, factors, init, share_A, ...")
for _p, _ref in [("q2", "§4 (1.3M), Tables 2-3"), ("q4", "eq. 18, Alg. 3"), ("g4", "eq. 20-21, Tables 2-3"),
                 ("g6", "eq. 21, Table 4"), ("g8", "eq. 21, Table 4")]:
    _register(f"poly-mgnet-{_p}", PolyMgNet, f"{_P}, {_ref}",
              f"Poly-MgNet^{{{_p}}} as in the authors' code (github.com/vanbetteray/Poly-MgNet).", polynomial=_p)
_register("mgnet-AB", PolyMgNet, f"{_P}, §4 MgNet^{{A,B}} (2.7M), Table 3",
          "MgNet^{A,B}: the Poly-MgNet skeleton with one shared 3x3 B per level (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, §4).", polynomial="AB")
