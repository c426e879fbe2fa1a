"""ResNet / pre-act ResNet baselines and their parameter-sharing variants (He, Xu, Zhang & Zhu 2023, §3.1, §4.2, §5.1).

The layout is torchvision's ``resnet18`` / ``resnet34`` (basic blocks, 1x1
stride-2 shortcut + BN), with the stems of :data:`~mgcore_torch.layers.STEMS`:
``"cifar"`` (3x3 conv + BN + ReLU, default), ``"cifar-maxpool"`` (the same and
a max-pool: torchvision's model with its first conv replaced by a 3x3 one, the
baseline of the Poly-MgNet code), ``"imagenet"`` (torchvision's 7x7 stride-2
stem and max-pool).
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ..activations import level_activations
from ..blocks import BasicBlock, PreActBlock
from ..layers import conv3x3, make_stem
from .mgnet import _check_stem, _min_size
from .registry import _check_bool, _check_choice, _check_positive_int, _fmt, _ModelBase, _register, _stem_lines

__all__ = ["ResNet"]

_RESNET_BLOCKS = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


class ResNet(_ModelBase):
    """CIFAR/ImageNet ResNet, pre-act ResNet and the modified models of He, Xu, Zhang & Zhu 2023, §4.2, §5.1.

    ``preact=False``: ResNet (eq. 3.3-3.4); ``preact=True``: pre-act ResNet
    (Alg. 1, eq. 3.1-3.2; no final BN, ``h = R_ave(r^J)``).  ``share_A=True``
    uses one second convolution ``A^l`` in all blocks of a level (eq. 4.6 /
    4.7, "-A^l-B^{l,i}"); ``share_B=True`` one first convolution ``B^l`` in
    all stride-1 blocks of a level (eq. 5.4, and with ``share_A`` eq. 5.5).
    BatchNorms are never shared.

    Parameters
    ----------
    depth : {18, 34}
    preact, share_A, share_B : bool
    in_channels, num_classes : int
    widths : sequence of 4 ints
    stem : {"cifar", "cifar-maxpool", "imagenet", "imagenet-s1"}
        (The pre-act CIFAR stem is a bare 3x3 conv, as in Alg. 1.)
    activation : {"relu", "hat"}, hat_support, hat_trainable
        ``sigma`` per stage (see :func:`~mgcore_torch.activations.level_activations`).
    """

    def __init__(self, depth: int = 18, preact: bool = False, share_A: bool = False, share_B: bool = False,
                 in_channels: int = 3, num_classes: int = 10, widths: Sequence[int] = (64, 128, 256, 512),
                 stem: Any = "cifar", activation: str = "relu", hat_support: Any = None, hat_trainable: bool = False):
        super().__init__()
        _check_choice(depth, tuple(_RESNET_BLOCKS), "depth")
        try:
            widths = list(widths)
        except TypeError:
            raise ValueError(f"widths must be 4 positive ints (one per level), got {widths!r}") from None
        if len(widths) != 4 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in widths):
            raise ValueError(f"widths must be 4 positive ints (one per level), got {widths!r}")
        for flag, name in ((preact, "preact"), (share_A, "share_A"), (share_B, "share_B"),
                           (hat_trainable, "hat_trainable")):
            _check_bool(flag, name)
        _check_positive_int(in_channels, "in_channels")
        _check_positive_int(num_classes, "num_classes")
        _check_stem(stem)
        if stem in (False, "none"):
            raise ValueError(f"stem must be one of ('cifar', 'cifar-maxpool', 'imagenet', 'imagenet-s1') for ResNet, got {stem!r}")
        sig = level_activations(activation, 4, hat_support, hat_trainable)
        self.config = dict(depth=depth, preact=preact, share_A=share_A, share_B=share_B, in_channels=in_channels,
                           num_classes=num_classes, widths=tuple(widths), stem=stem, activation=activation,
                           hat_support=hat_support, hat_trainable=hat_trainable)
        self.in_channels, self.min_image_size, self.stem_kind = in_channels, _min_size(stem), stem
        self.sigma = nn.ModuleList(sig)
        block = PreActBlock if preact else BasicBlock
        if preact and stem in (True, "cifar"):
            self.stem = nn.Sequential(conv3x3(in_channels, widths[0]))
        else:
            self.stem = make_stem(stem, in_channels, widths[0], activation=sig[0])
        layers, c_in = [], widths[0]
        for l, (n, c) in enumerate(zip(_RESNET_BLOCKS[depth], widths)):
            A = conv3x3(c, c) if share_A else None
            B = conv3x3(c, c) if share_B else None
            blocks = []
            for i in range(n):
                stride = 2 if (i == 0 and l > 0) else 1
                first_changes = stride != 1 or c_in != c
                blocks.append(block(c_in, c, stride, B=None if first_changes else B, A=A, activation=sig[l]))
                c_in = c
            layers.append(nn.Sequential(*blocks))
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], num_classes)

    def forward(self, x):
        self.check_input(x)
        r = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(r, 1), 1))

    def describe(self) -> list[str]:
        """Structure in execution order: stem, every block (B, A, shortcut; shared kernels named), head."""
        lines = _stem_lines(self.stem_kind, self.stem)
        for l, stage in enumerate(self.layers):
            for i, b in enumerate(stage):
                shared = [name for name, mine, all_ in (("B^l", b.B, [x.B for x in stage]), ("A^l", b.A, [x.A for x in stage]))
                          if sum(m is mine for m in all_) > 1]
                if b.shortcut is None:
                    sc = "identity"
                elif isinstance(b.shortcut, nn.Conv2d):
                    sc = _fmt(b.shortcut)
                else:
                    sc = f"{_fmt(b.shortcut[0])}, {_fmt(b.shortcut[1])}"
                if self.config["preact"]:
                    body = f"{_fmt(b.bn1)}, sigma, B {_fmt(b.B)}, {_fmt(b.bn2)}, sigma, A {_fmt(b.A)}; shortcut {sc}"
                else:
                    body = f"B {_fmt(b.B)}, {_fmt(b.bn1)}, sigma, A {_fmt(b.A)}, {_fmt(b.bn2)}; shortcut {sc}; sigma"
                tag = f" (shared {', '.join(shared)})" if shared else ""
                lines.append(f"S{l + 1} block {i + 1}: {body}{tag}")
        lines.append(f"head: avgpool, {_fmt(self.fc)}")
        return lines


# --------------------------------------------------------------------------- presets
_T = "He, Xu, Zhang & Zhu, An interpretive constrained linear model for ResNet and MgNet, 2023"
_register("resnet", ResNet, f"{_T}, eq. 3.1-3.4, 4.6, 4.7, 5.4, 5.5",
          "Generic (pre-act) ResNet with optional A^l / B^l sharing (He, Xu, Zhang & Zhu, 2023, §4.2, §5.1) and stem choice.")
for _d in (18, 34):
    _register(f"resnet{_d}", ResNet, f"{_T}, Table 3 (ResNet{_d}-A^{{l,i}}-B^{{l,i}})", f"ResNet-{_d} (CIFAR).", depth=_d)
    _register(f"preact-resnet{_d}", ResNet, f"{_T}, Alg. 1, Table 3", f"Pre-act ResNet-{_d} (CIFAR).", depth=_d, preact=True)
    for _pre, _pname in ((False, "resnet"), (True, "preact-resnet")):
        for _sa, _sb, _tag, _eq in ((True, False, "Al-Bli", "4.7" if not _pre else "4.6"),
                                    (False, True, "Ali-Bl", "5.4"), (True, True, "Al-Bl", "5.5")):
            _register(f"{_pname}{_d}-{_tag}", ResNet, f"{_T}, eq. {_eq}, Table 3",
                      f"{'Pre-act ' if _pre else ''}ResNet{_d}-{_tag.replace('l', '^l', 1)} (He, Xu, Zhang & Zhu, 2023, eq. {_eq}).",
                      depth=_d, preact=_pre, share_A=_sa, share_B=_sb)
_register("resnet18-maxpool", ResNet,
          "van Betteray, Rottmann & Kahl, Poly-MgNet, ICPRAM 2025, §4 / Fig. 5 (ResNet18 baseline, 11.2M)",
          "ResNet-18 as the Poly-MgNet code builds its baseline: torchvision's resnet18 with a 3x3 first conv "
          "(BN, ReLU and the max-pool kept) and a new head.", depth=18, stem="cifar-maxpool")
_register("resnet18-imagenet", ResNet, f"{_T}, Table 4 (ResNet18 on ImageNet, 11.2M)",
          "ResNet-18 with the ImageNet stem (7x7 stride 2, max-pool) and 1000 classes: torchvision's resnet18 "
          "(11,689,512 parameters).", depth=18, stem="imagenet", num_classes=1000)
_register("hat-resnet18", ResNet, "Xu, CBMS lectures 2023, Hat-CNN-MgNet table (ResNet 11.2M, Hat)",
          "ResNet-18 (CIFAR) with the hat activation, supports [5, 10, 15, 20].", depth=18, activation="hat",
          hat_support=(5.0, 10.0, 15.0, 20.0))
