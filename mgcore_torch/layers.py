"""Torch operators of the MgNet family: ``A``, ``B``, ``R``, ``Pi``, ``P`` and stems as modules.

Every object here is an ``nn.Module`` that plays one role of a multigrid level
(He & Xu, *MgNet*, 2019, Sections 3-6; He, Xu, Zhang & Zhu, *An interpretive
constrained linear model for ResNet and MgNet*, 2023, Alg. 2 and 3; Xu, CBMS
lectures 2023, "Practical MgNet with batch normalization"):

============================= ==============================================
:func:`conv3x3`, :func:`conv` ``A^l``, ``B^l`` / ``B^{l,i}``: convolution, no bias
:class:`ConvBNAct`            ``sigma_BN o K *_s``: ``R``, ``Pi`` (stride 2)
:func:`make_stem`             ``f_in``: CIFAR / ImageNet stems (with max-pool)
:class:`FixedTransfer`        fixed stride-2 ``Pi``: injection / full weighting
:class:`Prolongation`         ``P``: transposed conv (V-MgNet, eq. 6.15)
:class:`MgNetSmoother`        ``u <- u + sigma_BN o B o sigma_BN (f - A u)``
:class:`DataFeatureMap`       nonlinear data-feature maps of GDFI (eq. 4.15)
:class:`PolySmoother`         Poly-MgNet polynomial blocks (:mod:`.polylayers`)
============================= ==============================================

The smoothers subclass both ``nn.Module`` and
:class:`mgcore.iterations.Smoother`, so :meth:`mgcore.hierarchy.Level.smooth`
runs them inside the core algorithms (:func:`mgcore.cycles.mgnet`,
:func:`mgcore.cycles.v_mgnet`), and their steps are the core's residual
correction (:class:`mgcore.iterations.StepwiseResidualCorrection`).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from mgcore.iterations import StepwiseResidualCorrection

__all__ = [
    "conv3x3",
    "conv",
    "ConvBNAct",
    "Stem",
    "make_stem",
    "stem_output_size",
    "STEMS",
    "FixedTransfer",
    "Prolongation",
    "MgNetSmoother",
    "DataFeatureMap",
    "FORMS",
    "PolySmoother",
    "PolyFactor",
    "PI_KINDS",
    "PLACEMENTS",
    "make_projection",
]

#: Kinds of projection ``Pi`` of the iterate (He & Xu 2019, §6.3 and §9.1).
PI_KINDS = ("conv", "zero", "depthwise", "injection", "full-weighting")
#: Stems ``f_in``: CIFAR ``sigma_BN o theta^0 *`` (3x3), the same followed by a
#: 3x3 stride-2 max-pool (the ResNet baseline of the Poly-MgNet code), the
#: ImageNet stem ``R_max o sigma_BN o theta^0 *_2`` (7x7 stride 2, max-pool;
#: He, Xu, Zhang & Zhu 2023, text after Alg. 1), the Poly-MgNet code's
#: ImageNet stem (7x7 stride 1 padding 1, max-pool), or none (``f^1 = x``).
STEMS = ("cifar", "cifar-maxpool", "imagenet", "imagenet-s1", "none")
#: Forms of a data-feature map / feature extractor (He, Xu, Zhang & Zhu 2023, eq. 4.15):
#: ``K*(.)``, ``K*sigma(.)``, ``sigma o K*(.)``, ``sigma o K*sigma(.)``.
FORMS = ("K", "K-sigma", "sigma-K", "sigma-K-sigma")
KERNEL_SIZES = (1, 3, 5)


def conv3x3(c_in: int, c_out: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution with zero padding 1 and no bias (He, Xu, Zhang & Zhu 2023, §3.1)."""
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False)


def conv(c_in: int, c_out: int, kernel_size: int = 3, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """``k x k`` convolution (``k`` in 1, 3, 5) with "same" zero padding ``k // 2`` and no bias.

    ``kernel_size=3`` is :func:`conv3x3`.  (The Poly-MgNet code pads a 1x1
    kernel by 1, which changes the image size and breaks ``f - A u``; here a
    1x1 kernel has padding 0.)
    """
    if kernel_size not in KERNEL_SIZES:
        raise ValueError(f"kernel_size must be one of {KERNEL_SIZES}, got {kernel_size!r}")
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1 or c_in % groups or c_out % groups:
        raise ValueError(f"groups must be a positive int dividing c_in={c_in} and c_out={c_out}, got {groups!r}")
    return nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups, bias=False)


def _sigma(x, activation):
    return F.relu(x) if activation is None else activation(x)


class ConvBNAct(nn.Module):
    """``sigma o BN o (K *_s)``: a convolution followed by optional BN and activation.

    Used for the restriction ``R_l^{l+1}`` of the data and the projection
    ``Pi_l^{l+1}`` of the iterate (3x3, stride 2), as in the practical MgNet of
    Xu's lectures (``u^{l+1,0} = sigma_BN o Pi *_2 u``,
    ``f^{l+1} = sigma_BN o R *_2 (f - A u) + A^{l+1} u^{l+1,0}``), and for the
    stems ``f_in = sigma_BN o theta^0`` (He & Xu 2019, §9.1).

    Parameters
    ----------
    c_in, c_out : int
        Channels.
    stride : int
        1 or 2.
    bn, act : bool
        Follow the convolution by ``BatchNorm2d`` / the activation.
    groups : int
        ``groups = c_in`` gives the channel-wise projection (He & Xu 2019, eq. 6.24).
    pre_act : bool
        Apply the activation *before* the convolution instead (Poly-MgNet
        restriction ``R(sigma(f - A u))``, van Betteray et al. 2025, Alg. 2
        line 13 with the reference code's ReLU placement).
    kernel_size, padding : int
        Kernel size and zero padding (default ``kernel_size // 2``).
    activation : nn.Module, optional
        ``sigma`` (default ReLU), e.g. a :class:`~mgcore_torch.activations.Hat`.
    """

    def __init__(self, c_in, c_out, stride=2, bn=True, act=True, groups=1, pre_act=False, kernel_size=3,
                 padding=None, activation=None):
        super().__init__()
        if groups != 1 and (c_in % groups or c_out % groups):
            raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
        pad = kernel_size // 2 if padding is None else padding
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=pad, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out) if bn else None
        self.act = bool(act)
        self.pre_act = bool(pre_act)
        self.sigma = activation

    def forward(self, x):
        if self.pre_act:
            x = _sigma(x, self.sigma)
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.act:
            x = _sigma(x, self.sigma)
        return x


class Stem(ConvBNAct):
    """A stem ``R_max o sigma_BN o theta^0 *_s``: :class:`ConvBNAct` followed by a 3x3 stride-2 max-pool."""

    def forward(self, x):
        return F.max_pool2d(super().forward(x), kernel_size=3, stride=2, padding=1)


def make_stem(kind: Any, c_in: int, c_out: int, bn: bool = True, act: bool = True, activation=None) -> nn.Module:
    """Build the stem ``f_in`` of :data:`STEMS` (``True`` means ``"cifar"``, ``False`` ``"none"``).

    ``"cifar"``: 3x3 conv + BN + ReLU; ``"cifar-maxpool"``: the same and a
    3x3 stride-2 max-pool (torchvision's ResNet with a 3x3 first conv, the
    baseline of the Poly-MgNet code); ``"imagenet"``: 7x7 stride-2 conv
    (padding 3) + BN + ReLU + max-pool (He, Xu, Zhang & Zhu 2023, text after
    Alg. 1; torchvision's ResNet); ``"imagenet-s1"``: the Poly-MgNet code's
    ImageNet stem (7x7 stride 1 padding 1) + BN + ReLU + max-pool;
    ``"none"``: the identity (``f^1 = x``).
    """
    kind = {True: "cifar", False: "none"}.get(kind, kind) if isinstance(kind, bool) else kind
    if kind not in STEMS:
        raise ValueError(f"stem must be one of {STEMS} (or True / False), got {kind!r}")
    if kind == "none":
        return nn.Identity()
    if kind == "cifar":
        return ConvBNAct(c_in, c_out, 1, bn=bn, act=act, activation=activation)
    if kind == "cifar-maxpool":
        return Stem(c_in, c_out, 1, bn=bn, act=act, activation=activation)
    if kind == "imagenet":
        return Stem(c_in, c_out, 2, bn=bn, act=act, kernel_size=7, activation=activation)
    return Stem(c_in, c_out, 1, bn=bn, act=act, kernel_size=7, padding=1, activation=activation)


def stem_output_size(kind: Any, n: int) -> int:
    """Image size after the stem ``kind`` for an input of size ``n`` (0 if the stem cannot take it)."""
    kind = {True: "cifar", False: "none"}.get(kind, kind) if isinstance(kind, bool) else kind
    if kind in ("cifar", "none"):
        return n
    if kind == "cifar-maxpool":
        return (n - 1) // 2 + 1
    if kind == "imagenet":
        m = (n - 1) // 2 + 1
        return (m - 1) // 2 + 1
    m = n - 4  # 7x7, stride 1, padding 1
    return 0 if m < 1 else (m - 1) // 2 + 1


class FixedTransfer(nn.Module):
    """A fixed (non-trainable) stride-2 projection ``Pi = Pi_bar (x) I_c`` (He & Xu 2019, eq. 6.24).

    ``kind="injection"`` keeps every second pixel (``u[..., 1::2, 1::2]``, the
    coarse node ``i`` = fine node ``2i+1`` convention of :mod:`mgcore.sparse`);
    ``kind="full-weighting"`` applies the kernel ``[1,2,1] (x) [1,2,1] / 16``
    channel by channel with stride 2 (the transpose of bilinear prolongation
    scaled by ``1/4``, Lemma 4.1, eq. 4.18).  Channels must not change.
    """

    def __init__(self, channels: int, kind: str = "injection"):
        super().__init__()
        if kind not in ("injection", "full-weighting"):
            raise ValueError(f"kind must be 'injection' or 'full-weighting', got {kind!r}")
        self.kind, self.channels = kind, int(channels)
        k = torch.tensor([1.0, 2.0, 1.0])
        w = (k[:, None] * k[None, :]) / 16.0
        self.register_buffer("weight", w.expand(self.channels, 1, 3, 3).clone(), persistent=False)

    def forward(self, x):
        if self.kind == "injection":
            return x[..., 1::2, 1::2]
        w = self.weight.to(dtype=x.dtype)
        return F.conv2d(x, w, stride=2, padding=1, groups=self.channels)


class Prolongation(nn.Module):
    """Prolongation ``P_{l+1}^l`` as a transposed 3x3 convolution, stride 2 (He & Xu 2019, eq. 6.15).

    ``forward(e, output_size)`` produces the fine-level size exactly (odd
    sizes too); without ``output_size`` the result has size ``2 n``.
    """

    def __init__(self, c_coarse: int, c_fine: int):
        super().__init__()
        self.deconv = nn.ConvTranspose2d(c_coarse, c_fine, 3, stride=2, padding=1, output_padding=1, bias=False)

    def forward(self, e, output_size=None):
        if output_size is None:
            return self.deconv(e)
        oh, ow = int(output_size[-2]), int(output_size[-1])
        h, w = e.shape[-2:]
        pad = (ow - (2 * w - 1), oh - (2 * h - 1))
        if not (0 <= pad[0] <= 1 and 0 <= pad[1] <= 1):
            raise ValueError(f"Prolongation: cannot map {tuple(e.shape[-2:])} to {output_size}")
        return F.conv_transpose2d(e, self.deconv.weight, stride=2, padding=1, output_padding=(pad[1], pad[0]))


def make_projection(kind: str, c_in: int, c_out: int, bn: bool = True, act: bool = True,
                    activation=None) -> nn.Module | None:
    """Build ``Pi_l^{l+1}`` of the given kind (He & Xu 2019, §6.3 and §9.1).

    ``"conv"`` (Pi_1: trained 3x3 stride-2 conv, ``sigma_BN`` after it),
    ``"zero"`` (Pi_0, eq. 6.23: returns ``None``, the convention of
    :func:`mgcore.cycles.mgnet`), ``"depthwise"`` (Pi_2, eq. 6.24: trained
    channel-wise conv with ``groups = c_in``), ``"injection"`` and
    ``"full-weighting"`` (fixed, :class:`FixedTransfer`; need ``c_in == c_out``).
    """
    if kind not in PI_KINDS:
        raise ValueError(f"pi must be one of {PI_KINDS}, got {kind!r}")
    if kind == "zero":
        return None
    if kind == "conv":
        return ConvBNAct(c_in, c_out, 2, bn=bn, act=act, activation=activation)
    if kind == "depthwise":
        if c_out % c_in:
            raise ValueError(f"pi='depthwise' needs c_out to be a multiple of c_in, got {c_in} -> {c_out}")
        return ConvBNAct(c_in, c_out, 2, bn=bn, act=act, groups=c_in, activation=activation)
    if c_in != c_out:
        raise ValueError(f"pi={kind!r} is a fixed channel-wise map and needs equal channels, got {c_in} -> {c_out}")
    return FixedTransfer(c_in, kind)


class _StepOperator:
    """``r -> smoother.extractor(i, r)``: the operator ``B^{l,i}`` of step ``i`` (picklable)."""

    def __init__(self, smoother, i: int):
        self.smoother, self.i = smoother, i

    def __call__(self, r):
        return self.smoother.extractor(self.i, r)


class MgNetSmoother(nn.Module, StepwiseResidualCorrection):
    """MgNet feature extraction ``u <- u + sigma_BN o B^{l,i} o sigma_BN (f - A u)``.

    He, Xu, Zhang & Zhu 2023, eq. (3.5) / (3.9), with the BN placement of
    Xu's lectures ("Practical MgNet with batch normalization"): every step
    ``i`` owns its two BatchNorms, while the convolution ``B`` is shared over
    the steps of a level (``shared=True``, ``B^l``, eq. 3.9) or separate
    (``B^{l,i}``).  Each step is the core's residual correction
    (He & Xu 2019, eq. 3.20 / 6.4; :class:`mgcore.iterations.StepwiseResidualCorrection`)
    with the nonlinear ``B^{l,i} = sigma o eta^{l,i} o sigma`` (6.26); with
    ``bn=False, act=False`` it is that iteration over linear convolutions.

    Parameters
    ----------
    c_u, c_f : int
        Channels of the iterate ``u`` and of the data ``f``.
    nu : int
        Number of steps this smoother is built for.
    shared : bool
        One ``B^l`` for all steps (True) or ``B^{l,i}`` per step.
    bn, act : bool
        Use BatchNorm / the activation (``sigma``).
    form : {"sigma-K-sigma", "K", "K-sigma", "sigma-K"}
        Where ``sigma_BN`` acts around ``B`` (He, Xu, Zhang & Zhu 2023,
        eq. 4.15 for the GDFI of Alg. 3); the default is MgNet's.
    activation : nn.Module, optional
        ``sigma`` (default ReLU).
    kernel_size : int
        Kernel size of ``B`` (1, 3 or 5).
    """

    def __init__(self, c_u: int, c_f: int, nu: int, shared: bool = True, bn: bool = True, act: bool = True,
                 form: str = "sigma-K-sigma", activation=None, kernel_size: int = 3):
        nn.Module.__init__(self)
        if nu < 1:
            raise ValueError(f"MgNetSmoother: nu must be >= 1, got {nu}")
        if form not in FORMS:
            raise ValueError(f"form must be one of {FORMS}, got {form!r}")
        self.nu, self.shared, self.act, self.form = int(nu), bool(shared), bool(act), form
        # "K-sigma" = K * sigma(r): sigma_BN before B; "sigma-K" = sigma(K * r): after B
        self.pre, self.post = form.endswith("-sigma"), form.startswith("sigma-")
        self.B = nn.ModuleList([conv(c_f, c_u, kernel_size) for _ in range(1 if shared else nu)])
        if bn and self.pre:
            self.bn_r = nn.ModuleList([nn.BatchNorm2d(c_f) for _ in range(nu)])
        else:
            self.bn_r = None
        if bn and self.post:
            self.bn_b = nn.ModuleList([nn.BatchNorm2d(c_u) for _ in range(nu)])
        else:
            self.bn_b = None
        self.sigma = activation

    @property
    def Bs(self) -> list:
        """The step operators ``B^{l,i}`` of :class:`~mgcore.iterations.StepwiseResidualCorrection`."""
        return [_StepOperator(self, i) for i in range(self.nu)]

    def extractor(self, i: int, r):
        """``B^{l,i}(r)``, e.g. ``sigma_BN o B o sigma_BN (r)``, for step ``i`` (0-based)."""
        if self.pre:
            if self.bn_r is not None:
                r = self.bn_r[i](r)
            if self.act:
                r = _sigma(r, self.sigma)
        e = self.B[0 if self.shared else i](r)
        if self.post:
            if self.bn_b is not None:
                e = self.bn_b[i](e)
            if self.act:
                e = _sigma(e, self.sigma)
        return e

    def smooth(self, A, f, u, nu):
        if nu > self.nu:
            raise ValueError(f"MgNetSmoother was built for nu <= {self.nu} steps, asked for {nu}")
        return StepwiseResidualCorrection.smooth(self, A, f, u, nu)

    def forward(self, A, f, u, nu):
        return self.smooth(A, f, u, nu)


class DataFeatureMap(nn.Module):
    """A nonlinear data-feature map ``calA(u)`` of GDFI (He, Xu, Zhang & Zhu 2023, eq. 4.8, 4.15).

    ``form="K-sigma"``: ``K * sigma(u)``; ``"sigma-K"``: ``sigma(K * u)``;
    ``"sigma-K-sigma"``: ``sigma(K * sigma(u))``.  (The linear form ``"K"``
    is the plain convolution, built by the models as a bare ``nn.Conv2d``.)
    With ``bn=False`` ``sigma`` is the bare activation; with ``bn=True`` it
    is ``sigma_BN`` (Xu's lectures: "sigma = sigma_BN by default") with
    BatchNorms owned by the map, i.e. shared, like the kernel ``A^l``, by all
    steps of a level and by the restriction.
    """

    def __init__(self, c_u: int, c_f: int, form: str, kernel_size: int = 3, activation=None, bn: bool = False):
        super().__init__()
        if form not in FORMS or form == "K":
            raise ValueError(f"DataFeatureMap form must be one of {FORMS[1:]}, got {form!r}")
        self.form = form
        self.bn_in = nn.BatchNorm2d(c_u) if bn and form.endswith("-sigma") else None
        self.conv = conv(c_u, c_f, kernel_size)
        self.bn_out = nn.BatchNorm2d(c_f) if bn and form.startswith("sigma-") else None
        self.sigma = activation

    def forward(self, u):
        if self.form.endswith("-sigma"):
            u = _sigma(u if self.bn_in is None else self.bn_in(u), self.sigma)
        u = self.conv(u)
        if self.form.startswith("sigma-"):
            u = _sigma(u if self.bn_out is None else self.bn_out(u), self.sigma)
        return u


from .polylayers import PLACEMENTS, PolyFactor, PolySmoother  # noqa: E402  (re-exported)
