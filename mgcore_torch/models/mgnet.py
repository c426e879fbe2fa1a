"""MgNet and V-MgNet: He & Xu, *MgNet*, 2019, Alg. 3 and 4; He, Xu, Zhang & Zhu, 2023, Alg. 2.

The models do not re-implement the algorithm: each builds a
:class:`mgcore.hierarchy.Hierarchy` once, whose levels hold the model's
modules (``A`` conv, smoother, ``R``, ``Pi``, ``P``), and ``forward`` calls
:func:`mgcore.cycles.mgnet` or :func:`mgcore.cycles.v_mgnet` on it.  The layout
is that of the authors' code (github.com/XuTeam/MgNet_Code, ``mgnet.py``):
stem conv3x3 + BN + ReLU; per level one shared ``A``; ``B^l`` shared or
``B^{l,i}`` per step, each step with its own two BNs; ``Pi`` and ``R`` 3x3
stride-2 convs each followed by BN + ReLU;
``f^{l+1} = relu(bn(R(f - A u))) + A^{l+1} u^{l+1,0}``; global average pool of
``u`` and a linear head; no conv biases.
"""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from mgcore.cycles import mgnet as mgnet_algorithm
from mgcore.cycles import v_mgnet as v_mgnet_algorithm
from mgcore.hierarchy import Level

from ..activations import level_activations
from ..layers import (
    PI_KINDS,
    STEMS,
    ConvBNAct,
    FixedTransfer,
    MgNetSmoother,
    Prolongation,
    conv3x3,
    make_projection,
    make_stem,
    stem_output_size,
)
from .registry import (
    SizedLevel,
    _check_bool,
    _check_choice,
    _check_positive_int,
    _fmt,
    _HierarchyModel,
    _nu_tuple,
    _parse_channels,
    _register,
    _stem_lines,
)

__all__ = ["MgNet", "VMgNet", "SMOOTHER_KINDS"]

#: Smoother sharing of the MgNet family: ``B^l`` ("shared") or ``B^{l,i}`` ("per-step").
SMOOTHER_KINDS = ("shared", "per-step")


def _check_stem(stem: Any) -> Any:
    if isinstance(stem, bool):
        return stem
    return _check_choice(stem, STEMS, "stem")


def _min_size(stem: Any) -> int:
    n = 1
    while stem_output_size(stem, n) < 1:
        n += 1
    return n


class MgNet(_HierarchyModel):
    """MgNet[nu]-[c]-B^l / B^{l,i} (He, Xu, Zhang & Zhu 2023, Alg. 2, notation 3.8; He & Xu 2019, Alg. 3).

    ``f^1 = sigma_BN(theta^0 * x)`` (CIFAR stem), then per level
    ``u <- u + sigma_BN o B o sigma_BN (f - A^l u)`` (``nu_l`` steps),
    ``u^{l+1,0} = Pi u^l``, ``f^{l+1} = R(f^l - A^l u^l) + A^{l+1} u^{l+1,0}``
    (``R``, ``Pi`` = 3x3 stride-2 conv + ``sigma_BN``, Xu's lectures), run by
    :func:`mgcore.cycles.mgnet`; the output is the global average of ``u^J``
    followed by a linear layer.

    Parameters
    ----------
    nu : sequence of int
        Smoothing steps per level (length J, level 1 = finest).
    channels : int, list of int, or list of (c_u, c_f)
        Channels per level (eq. 3.8; He & Xu 2019, eq. 6.20).
    smoother : {"shared", "per-step"}
        ``B^l`` shared by the steps of a level, or ``B^{l,i}`` per step.
    pi : {"conv", "zero", "depthwise", "injection", "full-weighting"}
        Projection of the iterate (He & Xu 2019, §6.3, §9.1: Pi_1, Pi_0, Pi_2).
    in_channels, num_classes : int
        Input image channels and number of classes.
    bn, act : bool
        BatchNorm and activation in the smoothers, ``R``, ``Pi`` and stem;
        with both False every operator is linear (Theorem 6.1).
    a_bn_relu : bool
        Follow ``A`` by BN and the activation (a nonlinear data-feature map,
        eq. 4.8).  Default False, as in the authors' code.
    stem : {"cifar", "cifar-maxpool", "imagenet", "imagenet-s1", "none"} or bool
        The stem ``f_in`` (:func:`~mgcore_torch.layers.make_stem`); True is
        ``"cifar"``, False ``"none"`` (``f^1 = x``, needs ``in_channels == c_f1``).
    activation : {"relu", "hat"}
        ``sigma`` (Xu's lectures: Hat-CNN-MgNet uses the hat function).
    hat_support : float or sequence of float, optional
        Support of the hat function per level (default ``[5, 10, 15, ...]``).
    hat_trainable : bool
        Learn the hat supports.
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
        stem: Any = True,
        activation: str = "relu",
        hat_support: Any = None,
        hat_trainable: bool = False,
    ):
        super().__init__()
        self.nu = _nu_tuple(nu)
        J = len(self.nu)
        cu, cf = _parse_channels(channels, J)
        _check_choice(smoother, SMOOTHER_KINDS, "smoother")
        _check_choice(pi, PI_KINDS, "pi")
        _check_positive_int(in_channels, "in_channels")
        _check_positive_int(num_classes, "num_classes")
        for flag, name in ((bn, "bn"), (act, "act"), (a_bn_relu, "a_bn_relu"), (hat_trainable, "hat_trainable")):
            _check_bool(flag, name)
        _check_stem(stem)
        if stem in (False, "none") and in_channels != cf[0]:
            raise ValueError(f"stem={stem!r} needs in_channels == c_f of level 1 ({cf[0]}), got {in_channels}")
        sig = level_activations(activation, J, hat_support, hat_trainable)
        self.config = dict(nu=self.nu, channels=channels, smoother=smoother, pi=pi, in_channels=in_channels,
                           num_classes=num_classes, bn=bn, act=act, a_bn_relu=a_bn_relu, stem=stem,
                           activation=activation, hat_support=hat_support, hat_trainable=hat_trainable)
        self.in_channels, self.min_image_size = in_channels, _min_size(stem)
        self.c_u, self.c_f, self.smoother_kind, self.stem_kind = cu, cf, smoother, stem
        self.sigma = nn.ModuleList(sig)
        self.stem = make_stem(stem, in_channels, cf[0], bn=bn, act=act, activation=sig[0])
        self.A = nn.ModuleList([self._make_A(l, bn, act) for l in range(J)])
        self.B = nn.ModuleDict({
            str(l + 1): self._make_B(l, bn, act) for l in range(J) if self.nu[l] > 0
        })
        self.R = nn.ModuleList([ConvBNAct(cf[l], cf[l + 1], 2, bn=bn, act=act, activation=sig[l + 1])
                                for l in range(J - 1)])
        pis = [make_projection(pi, cu[l], cu[l + 1], bn=bn, act=act, activation=sig[l + 1]) for l in range(J - 1)]
        self.Pi = nn.ModuleList([p for p in pis if p is not None])
        self.fc = nn.Linear(cu[-1], num_classes)
        self._build_levels(pis)

    # -- hooks for the data-feature map A^l and the smoother B^l (GDFI overrides them)
    def _make_A(self, l: int, bn: bool, act: bool) -> nn.Module:
        if self.config["a_bn_relu"]:
            return ConvBNAct(self.c_u[l], self.c_f[l], 1, bn=True, act=True, activation=self.sigma[l])
        return conv3x3(self.c_u[l], self.c_f[l])

    def _make_B(self, l: int, bn: bool, act: bool) -> nn.Module:
        return MgNetSmoother(self.c_u[l], self.c_f[l], self.nu[l], shared=(self.smoother_kind == "shared"),
                             bn=bn, act=act, activation=self.sigma[l])

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
        """Run MgNet (He & Xu 2019, Alg. 3 via :func:`mgcore.cycles.mgnet`); return the level states."""
        return mgnet_algorithm(self.hierarchy, self.stem(x), self.nu)

    def forward(self, x):
        self.check_input(x)
        u = self.features(x)[-1].u
        if u is None:
            raise ValueError("the coarsest level has nu = 0 and a zero projection: u^J is zero")
        return self.classify(u)

    # -- structure
    @staticmethod
    def _describe_op(m: nn.Module | None) -> str:
        if m is None:
            return "zero"
        if isinstance(m, FixedTransfer):
            return f"fixed {m.kind} {m.channels}"
        if isinstance(m, nn.Conv2d):
            return _fmt(m)
        parts = []
        if getattr(m, "bn_in", None) is not None:
            parts.append(_fmt(m.bn_in))
        if getattr(m, "pre_act", False) or getattr(m, "form", "").endswith("-sigma"):
            parts.append("sigma")
        parts.append(_fmt(m.conv))
        for bn in (getattr(m, "bn", None), getattr(m, "bn_out", None)):
            if bn is not None:
                parts.append(_fmt(bn))
        if getattr(m, "act", False) or getattr(m, "form", "").startswith("sigma-"):
            parts.append("sigma")
        return ", ".join(parts)

    def _describe_smoother(self, l: int, sm: MgNetSmoother, tag: str = "step") -> list[str]:
        lines = []
        for i in range(sm.nu):
            parts = []
            if sm.pre:
                parts += ([_fmt(sm.bn_r[i])] if sm.bn_r is not None else []) + (["sigma"] if sm.act else [])
            name = f"B^{l + 1}" if sm.shared else f"B^{l + 1},{i + 1}"
            parts.append(f"{name} {_fmt(sm.B[0 if sm.shared else i])}")
            if sm.post:
                parts += ([_fmt(sm.bn_b[i])] if sm.bn_b is not None else []) + (["sigma"] if sm.act else [])
            lines.append(f"L{l + 1} {tag} {i + 1}: " + ", ".join(parts))
        return lines

    def describe(self) -> list[str]:
        """The structure in execution order: stem, per level ``A``, smoothing steps, ``R``, ``Pi``; head."""
        J = len(self.nu)
        lines = _stem_lines(self.stem_kind, self.stem)
        pis = iter(self.Pi)
        for l in range(J):
            lines.append(f"L{l + 1} A: {self._describe_op(self.A[l])}")
            if str(l + 1) in self.B:
                lines += self._describe_smoother(l, self.B[str(l + 1)])
            if l < J - 1:
                lines.append(f"L{l + 1}->L{l + 2} R: {self._describe_op(self.R[l])}")
                pi = None if self.config["pi"] == "zero" else next(pis)
                lines.append(f"L{l + 1}->L{l + 2} Pi: {self._describe_op(pi)}")
        lines.append(f"head: avgpool, {_fmt(self.fc)}")
        return lines


class VMgNet(MgNet):
    """V-MgNet (He & Xu 2019, Alg. 4): MgNet down, then prolongation + post-smoothing up.

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
        stem: Any = True,
        activation: str = "relu",
        hat_support: Any = None,
        hat_trainable: bool = False,
    ):
        nu_t = _nu_tuple(nu)
        posts = _nu_tuple(nu if nu_post is None else nu_post, "nu_post", len(nu_t))
        super().__init__(nu_t, channels, smoother, pi, in_channels, num_classes, bn, act, a_bn_relu, stem,
                         activation, hat_support, hat_trainable)
        J = len(self.nu)
        self.config["nu_post"] = posts
        self.nu_post = posts
        self.P = nn.ModuleList([Prolongation(self.c_u[l + 1], self.c_u[l]) for l in range(J - 1)])
        self.B_post = nn.ModuleDict({
            str(l + 1): MgNetSmoother(self.c_u[l], self.c_f[l], self.nu_post[l], shared=(smoother == "shared"),
                                      bn=bn, act=act, activation=self.sigma[l])
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
        self.check_input(x)
        u = v_mgnet_algorithm(self.hierarchy, self.stem(x), self.nu, self.nu_post)
        return self.classify(u)

    def describe(self) -> list[str]:
        lines = super().describe()[:-1]
        for l in range(len(self.nu) - 2, -1, -1):
            lines.append(f"L{l + 2}->L{l + 1} P: {_fmt(self.P[l].deconv)}")
            if str(l + 1) in self.B_post:
                lines += self._describe_smoother(l, self.B_post[str(l + 1)], tag="post-step")
        lines.append(f"head: avgpool, {_fmt(self.fc)}")
        return lines


# --------------------------------------------------------------------------- presets
_T = "He, Xu, Zhang & Zhu, An interpretive constrained linear model for ResNet and MgNet, 2023"
_HX = "He & Xu, MgNet, 2019"
_register("mgnet", MgNet, f"{_T}, Alg. 2, eq. 3.8; {_HX}, Alg. 3",
          "Generic MgNet[nu]-[c]-B^l / B^{l,i}: mgnet(nu=(2,2,2,2), channels=256, smoother='shared'|'per-step', "
          "pi='conv'|'zero'|'depthwise'|'injection'|'full-weighting', stem='cifar'|'imagenet'|..., "
          "activation='relu'|'hat', in_channels=3, num_classes=10).")
_register("mgnet-2222-256-Bl", MgNet, f"{_T}, Table 4 (8.2M CIFAR-10 / 8.3M CIFAR-100)",
          "MgNet[2,2,2,2]-[256]-B^l, the reference CIFAR model (He, Xu, Zhang & Zhu, 2023, Table 4); 8,278,794 parameters.",
          nu=(2, 2, 2, 2), channels=256, smoother="shared")
_register("mgnet-2222-256-Bli", MgNet, f"{_T}, Table 10 (10.7M)",
          "MgNet[2,2,2,2]-[256]-B^{l,i}: one smoother conv per step (He, Xu, Zhang & Zhu, 2023, Table 10); 10,638,090 parameters.",
          nu=(2, 2, 2, 2), channels=256, smoother="per-step")
_register("mgnet-2222-64-512-Bl-imagenet", MgNet, f"{_T}, Table 6 (9.9M, ImageNet)",
          "MgNet[2,2,2,2]-[64,128,256,512]-B^l with the ImageNet stem and 1000 classes (He, Xu, Zhang & Zhu, 2023, Table 6).",
          nu=(2, 2, 2, 2), channels=(64, 128, 256, 512), smoother="shared", stem="imagenet", num_classes=1000)
_register("mgnet-3463-128-1024-Bli-imagenet", MgNet, f"{_T}, Table 4 (71.3M, ImageNet)",
          "MgNet[3,4,6,3]-[128,256,512,1024]-B^{l,i} with the ImageNet stem and 1000 classes (He, Xu, Zhang & Zhu, 2023, Table 4).",
          nu=(3, 4, 6, 3), channels=(128, 256, 512, 1024), smoother="per-step", stem="imagenet", num_classes=1000)
_register("mgnet-small", MgNet, f"{_T}, Alg. 2 (small instance for CPU tests)",
          "MgNet[1,1,1]-[32]-B^l: trains in seconds on 8x8 digits.", nu=(1, 1, 1), channels=32, smoother="shared")
_register("hat-mgnet-small", MgNet, "Xu, CBMS lectures 2023, Hat-CNN-MgNet (Hat-[5,10,15,20]; small instance)",
          "MgNet[1,1,1]-[32]-B^l with the hat activation, supports [5, 10, 15] (coarser levels larger).",
          nu=(1, 1, 1), channels=32, smoother="shared", activation="hat", hat_support=(5.0, 10.0, 15.0))
_register("v-mgnet", VMgNet, f"{_HX}, Alg. 4",
          "V-MgNet[1,1,1]-[32] with transposed-conv prolongation and post-smoothing (He & Xu, MgNet, 2019, Alg. 4).",
          nu=(1, 1, 1), nu_post=(1, 1, 1), channels=32)
