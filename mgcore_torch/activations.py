"""Activation functions of the MgNet family: ReLU and the compactly supported hat function.

The hat activation of Xu's CBMS lectures (*Deep learning and numerical PDEs:
image classification and MgNet*, 2023, section "Locally supported activation
for CNNs"; Hat-CNN-MgNet) is the piecewise-linear finite-element basis
function scaled to the support ``[0, M]``::

    hat_M(x) = x       for 0 <= x <= M/2
             = M - x   for M/2 <= x <= M
             = 0       otherwise

i.e. ``hat_M = relu(x) - 2 relu(x - M/2) + relu(x - M)``: near zero it is the
ReLU, and it vanishes beyond ``M``.  The lectures use one support per level
(``Hat-[5,10,15,20]``: a larger support on coarser levels) and also a
trainable support.

Everything that takes ``activation=`` in :mod:`mgcore_torch` accepts
``"relu"`` or ``"hat"`` (see :func:`level_activations`).

Examples
--------
>>> import torch
>>> from mgcore_torch.activations import Hat
>>> Hat(4.0)(torch.tensor([-1.0, 1.0, 2.0, 3.0, 5.0])).tolist()
[0.0, 1.0, 2.0, 1.0, 0.0]
"""

from __future__ import annotations

from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["ACTIVATIONS", "Hat", "ReLU", "level_activations", "check_activation"]

#: Activation kinds accepted by the models (``activation=``).
ACTIVATIONS = ("relu", "hat")


class ReLU(nn.Module):
    """``max(0, x)`` (functional ReLU as a module without state; equal outputs to ``F.relu``)."""

    def forward(self, x):
        return F.relu(x)

    def extra_repr(self) -> str:
        return ""


class Hat(nn.Module):
    """The hat activation with support ``[0, M]`` (Xu, CBMS lectures 2023, Hat-CNN-MgNet).

    Parameters
    ----------
    support : float
        ``M > 0``; the function peaks at ``M/2`` with value ``M/2``.
    trainable : bool
        Make ``M`` a learnable parameter (the lectures' "trainable support").

    Notes
    -----
    Written as ``relu(x) - 2 relu(x - M/2) + relu(x - M)``, so autograd gives
    the derivative ``1`` on ``(0, M/2)``, ``-1`` on ``(M/2, M)`` and ``0``
    outside ``[0, M]`` (and ``d/dM = 1`` on ``(M/2, M)``).
    """

    def __init__(self, support: float = 1.0, trainable: bool = False):
        super().__init__()
        if isinstance(support, bool) or not isinstance(support, (int, float)) or not support > 0:
            raise ValueError(f"hat support must be a positive number, got {support!r}")
        if not isinstance(trainable, bool):
            raise TypeError(f"trainable must be a bool, got {type(trainable).__name__}")
        value = torch.tensor(float(support))
        if trainable:
            self.support = nn.Parameter(value)
        else:
            self.register_buffer("support", value)
        self.trainable = trainable

    def forward(self, x):
        M = self.support.to(dtype=x.dtype)
        return F.relu(x) - 2.0 * F.relu(x - 0.5 * M) + F.relu(x - M)

    def extra_repr(self) -> str:
        return f"support={float(self.support):g}, trainable={self.trainable}"


def check_activation(activation: Any) -> str:
    """Validate ``activation`` (one of :data:`ACTIVATIONS`)."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")
    return activation


def level_activations(activation: str, J: int, hat_support: Any = None, hat_trainable: bool = False) -> list[nn.Module]:
    """One activation module per level (level 1 = finest first).

    ``activation="relu"`` gives stateless :class:`ReLU` modules (no
    parameters, no buffers: models with ReLU keep their state dicts);
    ``activation="hat"`` gives one :class:`Hat` per level with support
    ``hat_support[l]`` (a number is used on every level; default
    ``5, 10, 15, ...``, the lectures' ``Hat-[5,10,15,20]``).

    Raises
    ------
    ValueError
        Unknown activation, or supports that are not positive / not one per level.
    """
    check_activation(activation)
    if activation == "relu":
        if hat_support is not None or hat_trainable:
            raise ValueError("hat_support / hat_trainable apply to activation='hat' only")
        return [ReLU() for _ in range(J)]
    if hat_support is None:
        supports: Sequence[Any] = [5.0 * (l + 1) for l in range(J)]
    elif isinstance(hat_support, (int, float)) and not isinstance(hat_support, bool):
        supports = [hat_support] * J
    else:
        try:
            supports = list(hat_support)
        except TypeError:
            raise ValueError(f"hat_support must be a positive number or one per level (J = {J}), got {hat_support!r}") from None
        if len(supports) != J:
            raise ValueError(f"hat_support must give one support per level (J = {J}), got {len(supports)}: {hat_support!r}")
    return [Hat(s, trainable=hat_trainable) for s in supports]
