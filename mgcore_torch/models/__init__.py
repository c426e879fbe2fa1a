"""Model registry of :mod:`mgcore_torch`: MgNet, V-MgNet, GDFI, Poly-MgNet and ResNet baselines.

The MgNet-type models do not re-implement the algorithm: each builds a
:class:`mgcore.hierarchy.Hierarchy` once, whose :class:`~mgcore.hierarchy.Level`
objects hold the model's modules (``A`` conv, smoother, ``R``, ``Pi``, ``P``),
and ``forward`` calls :func:`mgcore.cycles.mgnet` (He & Xu, *MgNet*, 2019,
Alg. 3) or :func:`mgcore.cycles.v_mgnet` (Alg. 4) on it.  The hierarchy is
kept out of the module tree (it only references registered submodules), so
``state_dict``, ``.to()``, ``copy.deepcopy`` and pickling behave as for any
``nn.Module``.

========================= ==========================================================
module                     models
========================= ==========================================================
:mod:`.registry`           ``get_model``, ``list_models``, ``model_info``, ``describe``
:mod:`.mgnet`              :class:`MgNet`, :class:`VMgNet`
:mod:`.gdfi`               :class:`GDFI` (He, Xu, Zhang & Zhu 2023, Alg. 3)
:mod:`.polymgnet`          :class:`PolyMgNet` (van Betteray, Rottmann & Kahl 2025)
:mod:`.resnet`             :class:`ResNet` (and pre-act, A^l / B^l sharing)
========================= ==========================================================

Use :func:`get_model` / :func:`list_models` / :func:`model_info`:

>>> from mgcore_torch.models import get_model
>>> net = get_model("mgnet-small", in_channels=1)
>>> sum(p.numel() for p in net.parameters()) > 0
True

Parameter counts of the presets equal those of the authors' code (see
``docs/models.md``): MgNet[2,2,2,2]-[256]-B^l 8,278,794 (8,301,924 with 100
classes), -B^{l,i} 10,638,090, Poly-MgNet^{q2} and ^{g4} 1,386,706, ^{g6}
1,389,526, ^{g8} 1,392,346, MgNet^{A,B} 2,750,666, ResNet-18 11,173,962.
"""

from __future__ import annotations

from ..layers import PI_KINDS
from .gdfi import GDFI
from .mgnet import SMOOTHER_KINDS, MgNet, VMgNet
from .polymgnet import POLY_PLACEMENTS, PolyMgNet, poly_factors
from .registry import _nu_tuple, _parse_channels, describe, get_model, list_models, model_info, register_model
from .resnet import ResNet

__all__ = [
    "get_model",
    "list_models",
    "register_model",
    "model_info",
    "describe",
    "MgNet",
    "VMgNet",
    "GDFI",
    "PolyMgNet",
    "ResNet",
    "SMOOTHER_KINDS",
    "PI_KINDS",
    "POLY_PLACEMENTS",
    "poly_factors",
]
