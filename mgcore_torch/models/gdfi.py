"""GDFI: the general data-feature iterative model (He, Xu, Zhang & Zhu 2023, Alg. 3, eq. 4.8-4.15).

``u^{l,i} = u^{l,i-1} + calB^{l,i}(f^l - calA^l(u^{l,i-1}))`` (4.10),
``u^{l+1,0} = Pi u^l`` (4.11), ``f^{l+1} = R(f^l - calA^l(u^l)) + calA^{l+1}(u^{l+1,0})``
(4.12), with ``calA^l`` and ``calB^{l,i}`` each one of the four forms of
eq. 4.15: ``K*(.)``, ``K*sigma(.)``, ``sigma o K*(.)``, ``sigma o K*sigma(.)``.
The algorithm is MgNet's (He & Xu 2019, Alg. 3) with nonlinear maps, so the
model is :class:`~mgcore_torch.models.mgnet.MgNet` with other level operators,
run by the same :func:`mgcore.cycles.mgnet`.  With ``A_form="K"`` and
``B_form="sigma-K-sigma"`` (eq. 4.13) it *is* MgNet: same modules, same
state dict, same output.

In ``calB`` the activation comes with BatchNorm (``sigma = sigma_BN``, one
BN per step as in MgNet); in ``calA``, which every step and the restriction
share, ``sigma`` is the bare activation, or ``sigma_BN`` with BatchNorms owned
by ``calA^l`` when ``A_bn=True``.  Note that with the bare activation and a
``calB`` ending in ``sigma`` every iterate is non-negative (``u^{l,0} =
sigma_BN(Pi u)`` and each update is ``>= 0``), so ``K * sigma(u) = K * u``:
the forms ``K-sigma`` / ``K`` and ``sigma-K-sigma`` / ``sigma-K`` of ``calA``
then give identical networks; ``A_bn=True`` separates them.
"""

from __future__ import annotations

from typing import Any, Sequence

from torch import nn

from ..layers import FORMS, DataFeatureMap, MgNetSmoother, conv3x3
from .mgnet import MgNet
from .registry import _check_bool, _check_choice, _register

__all__ = ["GDFI", "FORMS"]


class GDFI(MgNet):
    """General data-feature iteration (He, Xu, Zhang & Zhu 2023, Alg. 3) with the forms of eq. 4.15.

    Parameters
    ----------
    A_form : {"K", "K-sigma", "sigma-K", "sigma-K-sigma"}
        The data-feature map ``calA^l``: ``K*``, ``K*sigma``, ``sigma o K*``,
        ``sigma o K*sigma`` (one kernel ``K = A^l`` per level).
    B_form : {"K", "K-sigma", "sigma-K", "sigma-K-sigma"}
        The feature extractor ``calB^{l,i}`` (kernel ``B^l`` or ``B^{l,i}``;
        ``sigma = sigma_BN``).  ``A_form="K"``, ``B_form="sigma-K-sigma"`` is
        MgNet (eq. 4.13).
    A_bn : bool
        ``sigma`` inside ``calA`` is ``sigma_BN`` (BatchNorms shared by the
        uses of ``calA^l``) instead of the bare activation.
    Other parameters as :class:`~mgcore_torch.models.mgnet.MgNet` (without ``a_bn_relu``).
    """

    def __init__(
        self,
        A_form: str = "K",
        B_form: str = "sigma-K-sigma",
        A_bn: bool = False,
        nu: Sequence[int] = (2, 2, 2, 2),
        channels: Any = 256,
        smoother: str = "shared",
        pi: str = "conv",
        in_channels: int = 3,
        num_classes: int = 10,
        bn: bool = True,
        act: bool = True,
        stem: Any = True,
        activation: str = "relu",
        hat_support: Any = None,
        hat_trainable: bool = False,
    ):
        forms = (_check_choice(A_form, FORMS, "A_form"), _check_choice(B_form, FORMS, "B_form"),
                 _check_bool(A_bn, "A_bn"))
        object.__setattr__(self, "_forms", forms)  # read by the hooks during MgNet.__init__
        super().__init__(nu, channels, smoother, pi, in_channels, num_classes, bn, act, False, stem,
                         activation, hat_support, hat_trainable)
        self.config.pop("a_bn_relu")
        self.config.update(A_form=A_form, B_form=B_form, A_bn=A_bn)
        self.A_form, self.B_form, self.A_bn = forms

    def _make_A(self, l: int, bn: bool, act: bool) -> nn.Module:
        form = self.__dict__["_forms"][0]
        if form == "K":
            return conv3x3(self.c_u[l], self.c_f[l])
        return DataFeatureMap(self.c_u[l], self.c_f[l], form, activation=self.sigma[l] if act else _Identity(),
                              bn=self.__dict__["_forms"][2])

    def _make_B(self, l: int, bn: bool, act: bool) -> nn.Module:
        return MgNetSmoother(self.c_u[l], self.c_f[l], self.nu[l], shared=(self.smoother_kind == "shared"),
                             bn=bn, act=act, form=self.__dict__["_forms"][1], activation=self.sigma[l])


class _Identity(nn.Module):
    def forward(self, x):
        return x


_T = "He, Xu, Zhang & Zhu, An interpretive constrained linear model for ResNet and MgNet, 2023"
_register("gdfi", GDFI, f"{_T}, Alg. 3, eq. 4.15, Table 1",
          "GDFI[nu]-[c]: MgNet with calA in {K*, K*sigma, sigma K*, sigma K*sigma} (A_form) and the same four "
          "forms for calB (B_form); A_form='K', B_form='sigma-K-sigma' is MgNet (eq. 4.13).")
_register("gdfi-small", GDFI, f"{_T}, Alg. 3, Table 1 (small instance for CPU runs)",
          "GDFI[1,1,1]-[32] (the Table 1 family at CPU scale; choose A_form / B_form).",
          nu=(1, 1, 1), channels=32)
