"""Residual blocks of (pre-activation) ResNet and their MgNet-style variants.

In the data-space notation of He, Xu, Zhang & Zhu (*An interpretive
constrained linear model for ResNet and MgNet*, 2023) a basic block has a
first convolution ``B^{l,i}`` and a second one ``A^{l,i}``:

* pre-act ResNet (eq. 3.1): ``r <- r + A * sigma o B * sigma(r)``
  (``sigma = sigma_BN``);
* ResNet (eq. 3.3): ``r <- sigma(r + A * sigma o B * r)``;
* pooling blocks (eqs. 3.2, 3.4) add a stride-2 ``B^{l,0}`` and a 1x1
  stride-2 shortcut ``R``.

Passing the *same* convolution module to several blocks of a level gives the
modified models of §4.2 and §5.1: ``A^l`` shared (eq. 4.6, 4.7), ``B^l``
shared (eq. 5.4) or both (eq. 5.5).  ``activation`` replaces ReLU (e.g. the
hat function of Xu's lectures).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import nn

from .layers import conv3x3

__all__ = ["BasicBlock", "PreActBlock"]


def _sigma(x, activation):
    return F.relu(x) if activation is None else activation(x)


class _Block(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, B: nn.Module | None = None, A: nn.Module | None = None,
                 activation: nn.Module | None = None):
        super().__init__()
        self.B = B if B is not None else conv3x3(c_in, c_out, stride)
        self.A = A if A is not None else conv3x3(c_out, c_out)
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
        else:
            self.shortcut = None
        self.sigma = activation


class BasicBlock(_Block):
    """ResNet basic block, eq. (3.3)/(3.4): ``sigma(R r + BN A sigma(BN B r))``.

    ``A`` and ``B`` may be modules shared with other blocks (eq. 4.7, ResNet-A^l).
    """

    def __init__(self, c_in, c_out, stride=1, B=None, A=None, activation=None):
        super().__init__(c_in, c_out, stride, B, A, activation)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.bn2 = nn.BatchNorm2d(c_out)

    def forward(self, x):
        out = _sigma(self.bn1(self.B(x)), self.sigma)
        out = self.bn2(self.A(out))
        sc = x if self.shortcut is None else self.shortcut(x)
        return _sigma(out + sc, self.sigma)


class PreActBlock(_Block):
    """Pre-activation block, eq. (3.1)/(3.2): ``R r + A sigma(BN B sigma(BN r))``.

    ``A`` and ``B`` may be shared (eq. 4.6 pre-act ResNet-A^l-B^{l,i},
    eq. 5.4 A^{l,i}-B^l, eq. 5.5 A^l-B^l).
    """

    def __init__(self, c_in, c_out, stride=1, B=None, A=None, activation=None):
        super().__init__(c_in, c_out, stride, B, A, activation)
        self.bn1 = nn.BatchNorm2d(c_in)
        self.bn2 = nn.BatchNorm2d(c_out)
        if self.shortcut is not None:  # pre-act shortcut: 1x1 stride-2 conv on sigma(BN r), no BN
            self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)

    def forward(self, x):
        out = _sigma(self.bn1(x), self.sigma)
        sc = x if self.shortcut is None else self.shortcut(out)
        out = self.B(out)
        out = self.A(_sigma(self.bn2(out), self.sigma))
        return out + sc
