"""Torch operators of the MgNet family: ``A``, ``B``, ``R``, ``Pi``, ``P`` as modules.

Every object here is an ``nn.Module`` that plays one role of a multigrid level
(seed 003, He & Xu, *MgNet*, Sections 3-6; seed 001, He, Xu, Zhang & Zhu,
Alg. 2; seed 002, Xu, CBMS slides, "Practical MgNet with batch normalization"):

=========================== ==============================================
:func:`conv3x3`              ``A^l``, ``B^l`` / ``B^{l,i}``: 3x3 conv, no bias
:class:`ConvBNAct`           ``sigma_BN o K *_s``: ``R``, ``Pi`` (stride 2)
:class:`FixedTransfer`       fixed stride-2 ``Pi``: injection / full weighting
:class:`Prolongation`        ``P``: transposed conv (V-MgNet, eq. 6.15)
:class:`MgNetSmoother`       ``u <- u + sigma_BN o B o sigma_BN (f - A u)``
:class:`PolySmoother`        Poly-MgNet polynomial blocks (seed 000)
=========================== ==============================================

The smoothers subclass both ``nn.Module`` and
:class:`mgcore.iterations.Smoother`, so :meth:`mgcore.hierarchy.Level.smooth`
runs them inside the core algorithms (:func:`mgcore.cycles.mgnet`,
:func:`mgcore.cycles.v_mgnet`).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mgcore.iterations import Smoother

__all__ = [
    "conv3x3",
    "ConvBNAct",
    "FixedTransfer",
    "Prolongation",
    "MgNetSmoother",
    "PolySmoother",
    "PolyFactor",
    "PI_KINDS",
    "PLACEMENTS",
    "make_projection",
    "select_roots",
]

#: Kinds of projection ``Pi`` of the iterate (seed 003 §6.3 and §9.1).
PI_KINDS = ("conv", "zero", "depthwise", "injection", "full-weighting")
#: Placements of BN / ReLU allowed at each point of a polynomial block.
PLACEMENTS = ("bn_relu", "bn", "relu", "none")


def conv3x3(c_in: int, c_out: int, stride: int = 1, groups: int = 1) -> nn.Conv2d:
    """3x3 convolution with zero padding 1 and no bias (seed 001 §3, "3x3 convolutions")."""
    return nn.Conv2d(c_in, c_out, kernel_size=3, stride=stride, padding=1, groups=groups, bias=False)


def _check_placement(value: str, name: str) -> str:
    if value not in PLACEMENTS:
        raise ValueError(f"{name} must be one of {PLACEMENTS}, got {value!r}")
    return value


class _Norm(nn.Module):
    """``sigma o BN`` / ``BN`` / ``sigma`` / identity, chosen by a placement string."""

    def __init__(self, channels: int, placement: str):
        super().__init__()
        self.placement = placement
        self.bn = nn.BatchNorm2d(channels) if placement in ("bn_relu", "bn") else None
        self.relu = placement in ("bn_relu", "relu")

    def forward(self, x):
        if self.bn is not None:
            x = self.bn(x)
        if self.relu:
            x = F.relu(x)
        return x


class ConvBNAct(nn.Module):
    """``sigma o BN o (K *_s)``: a convolution followed by optional BN and ReLU.

    Used for the restriction ``R_l^{l+1}`` of the data and the projection
    ``Pi_l^{l+1}`` of the iterate (3x3, stride 2), as in the practical MgNet of
    seed 002 (``u^{l+1,0} = sigma_BN o Pi *_2 u``,
    ``f^{l+1} = sigma_BN o R *_2 (f - A u) + A^{l+1} u^{l+1,0}``), and for the
    CIFAR stem ``f_in = sigma o theta^0`` (seed 003 §9.1).

    Parameters
    ----------
    c_in, c_out : int
        Channels.
    stride : int
        1 or 2.
    bn, act : bool
        Follow the convolution by ``BatchNorm2d`` / ReLU.
    groups : int
        ``groups = c_in`` gives the channel-wise projection (6.24).
    pre_act : bool
        Apply ReLU *before* the convolution instead (Poly-MgNet restriction
        ``R(sigma(f - A u))``, seed 000 Alg. 2 line 13 with the reference
        ReLU placement).
    """

    def __init__(self, c_in, c_out, stride=2, bn=True, act=True, groups=1, pre_act=False, kernel_size=3):
        super().__init__()
        if groups != 1 and (c_in % groups or c_out % groups):
            raise ValueError(f"groups={groups} must divide c_in={c_in} and c_out={c_out}")
        self.conv = nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=kernel_size // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out) if bn else None
        self.act = bool(act)
        self.pre_act = bool(pre_act)

    def forward(self, x):
        if self.pre_act:
            x = F.relu(x)
        x = self.conv(x)
        if self.bn is not None:
            x = self.bn(x)
        if self.act:
            x = F.relu(x)
        return x


class FixedTransfer(nn.Module):
    """A fixed (non-trainable) stride-2 projection ``Pi = Pi_bar (x) I_c`` (seed 003 eq. 6.24).

    ``kind="injection"`` keeps every second pixel (``u[..., 1::2, 1::2]``, the
    coarse node ``i`` = fine node ``2i+1`` convention of :mod:`mgcore.sparse`);
    ``kind="full-weighting"`` applies the kernel ``[1,2,1] (x) [1,2,1] / 16``
    channel by channel with stride 2 (the transpose of bilinear prolongation
    scaled by ``1/4``, seed 003 Lemma 4.1, eq. 4.18).  Channels must not change.
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
    """Prolongation ``P_{l+1}^l`` as a transposed 3x3 convolution, stride 2 (seed 003 §6, eq. 6.15).

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


def make_projection(kind: str, c_in: int, c_out: int, bn: bool = True, act: bool = True) -> nn.Module | None:
    """Build ``Pi_l^{l+1}`` of the given kind (seed 003 §6.3 and §9.1).

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
        return ConvBNAct(c_in, c_out, 2, bn=bn, act=act)
    if kind == "depthwise":
        if c_out % c_in:
            raise ValueError(f"pi='depthwise' needs c_out to be a multiple of c_in, got {c_in} -> {c_out}")
        return ConvBNAct(c_in, c_out, 2, bn=bn, act=act, groups=c_in)
    if c_in != c_out:
        raise ValueError(f"pi={kind!r} is a fixed channel-wise map and needs equal channels, got {c_in} -> {c_out}")
    return FixedTransfer(c_in, kind)


class MgNetSmoother(nn.Module, Smoother):
    """MgNet feature extraction ``u <- u + sigma_BN o B^{l,i} o sigma_BN (f - A^l u)``.

    Seed 001 eq. (3.5) / (3.9) with the BN placement of seed 002 ("Practical
    MgNet with batch normalization"): every step ``i`` owns its two
    BatchNorms, while the convolution ``B`` is shared over the steps of a
    level (``shared=True``, ``B^l``, eq. 3.9) or separate (``B^{l,i}``).
    This is the residual correction (seed 003 eq. 3.20 / 6.4) with the
    nonlinear ``B^{l,i} = sigma o eta^{l,i} o sigma`` (6.26); with
    ``bn=False, act=False`` it is exactly
    :class:`mgcore.iterations.StepwiseResidualCorrection` over linear convs.

    Parameters
    ----------
    c_u, c_f : int
        Channels of the iterate ``u`` and of the data ``f``.
    nu : int
        Number of steps this smoother is built for.
    shared : bool
        One ``B^l`` for all steps (True) or ``B^{l,i}`` per step.
    bn, act : bool
        Use BatchNorm / ReLU (``sigma``).
    """

    def __init__(self, c_u: int, c_f: int, nu: int, shared: bool = True, bn: bool = True, act: bool = True):
        super().__init__()
        if nu < 1:
            raise ValueError(f"MgNetSmoother: nu must be >= 1, got {nu}")
        self.nu, self.shared, self.act = int(nu), bool(shared), bool(act)
        self.B = nn.ModuleList([conv3x3(c_f, c_u) for _ in range(1 if shared else nu)])
        if bn:
            self.bn_r = nn.ModuleList([nn.BatchNorm2d(c_f) for _ in range(nu)])
            self.bn_b = nn.ModuleList([nn.BatchNorm2d(c_u) for _ in range(nu)])
        else:
            self.bn_r = self.bn_b = None

    def extractor(self, i: int, r):
        """``B^{l,i}(r) = sigma_BN o B o sigma_BN (r)`` for step ``i`` (0-based)."""
        if self.bn_r is not None:
            r = self.bn_r[i](r)
        if self.act:
            r = F.relu(r)
        e = self.B[0 if self.shared else i](r)
        if self.bn_b is not None:
            e = self.bn_b[i](e)
        if self.act:
            e = F.relu(e)
        return e

    def smooth(self, A, f, u, nu):
        if nu > self.nu:
            raise ValueError(f"MgNetSmoother was built for nu <= {self.nu} steps, asked for {nu}")
        for i in range(nu):
            r = f if u is None else f - A(u)
            e = self.extractor(i, r)
            u = e if u is None else u + e
        return u

    def forward(self, A, f, u, nu):
        return self.smooth(A, f, u, nu)


class PolyFactor(nn.Module):
    """One factor of a Poly-MgNet residual polynomial (seed 000 eqs. 15-21).

    ``kind="linear"``: ``(I - A/zeta)``, update ``u += alpha r`` with
    ``alpha = 1/zeta`` (eq. 15, Alg. 2 line 3).
    ``kind="squared"``: ``(I - alpha A^2)`` of the g-form (eq. 20), update
    ``u += alpha A r``.
    ``kind="quadratic"``: complex-conjugate pair ``(I - A/z)(I - A/z_bar)``,
    ``z = a + ib`` (eqs. 17, 19; Alg. 2 line 10), update
    ``u += (2a r - A r) / (a^2 + b^2)``.
    The parameters are the learnable coefficient ``alpha`` or the learnable
    real and imaginary parts ``a``, ``b`` (one or two scalars per step).
    """

    KINDS = ("linear", "squared", "quadratic")

    def __init__(self, kind: str, root: complex | float):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"factor kind must be one of {self.KINDS}, got {kind!r}")
        self.kind = kind
        z = complex(root)
        if kind == "quadratic":
            self.a = nn.Parameter(torch.tensor(z.real))
            self.b = nn.Parameter(torch.tensor(z.imag))
        else:
            if z.real == 0.0:
                raise ValueError("a root zeta of a linear/squared factor must be non-zero")
            alpha = 1.0 / z.real if kind == "linear" else 1.0 / (z.real * z.real)
            self.alpha = nn.Parameter(torch.tensor(alpha))

    def update(self, A, r):
        """Return ``p(A) r`` for this factor's block (``B = p(A)``, eq. 10)."""
        if self.kind == "linear":
            return self.alpha * r
        if self.kind == "squared":
            return self.alpha * A(r)
        s = self.a * self.a + self.b * self.b
        return (2.0 * self.a / s) * r - A(r) / s

    def residual_factor(self, lam):
        """Scalar residual polynomial of this factor at ``lam`` (complex ok), for tests/analysis."""
        if self.kind == "linear":
            return 1 - self.alpha.item() * lam
        if self.kind == "squared":
            return 1 - self.alpha.item() * lam * lam
        z = complex(self.a.item(), self.b.item())
        return (1 - lam / z) * (1 - lam / z.conjugate())


class PolySmoother(nn.Module, Smoother):
    """Poly-MgNet smoother: one residual block per polynomial factor (seed 000 Alg. 2).

    Step ``k`` computes ``r = f - A u``, ``r <- rho_r(r)``, ``e = p_k(A) r``,
    ``e <- rho_e(e)``, ``u <- rho_u(u + e)`` with placements ``rho`` in
    :data:`PLACEMENTS` (seed 000 Table 1, eqs. 22-24, Tables 3 and 4):
    ``residual`` is the ``sigma r`` / ``bn`` column, ``update`` the
    ``sigma p_{d-1}(A)`` column, ``after`` the ``sigma u`` column.  Without
    BN/ReLU (all ``"none"``) ``nu`` steps multiply the residual by
    ``prod_k q_k(A)`` (eq. 13, 15, 18, 21), the same maths as a polynomial
    smoother over an explicit operator (``mgcore.polynomials`` root form).

    Parameters
    ----------
    channels : int
        Channels of ``u`` and ``f`` (equal in Poly-MgNet).
    factors : sequence of (kind, root)
        One :class:`PolyFactor` per step.
    residual, update, after : str
        Placements, each one of :data:`PLACEMENTS`.
    B : nn.Module, optional
        Replace the polynomial by a shared conv ``B`` (the MgNet^{A,B}
        baseline of seed 000 §4): ``e = B r``.
    """

    def __init__(self, channels: int, factors: Sequence[tuple[str, Any]], residual="bn", update="none", after="bn_relu", B=None):
        super().__init__()
        factors = list(factors)
        if not factors:
            raise ValueError("PolySmoother: factors must hold at least one (kind, root) pair")
        self.residual = _check_placement(residual, "residual")
        self.update_placement = _check_placement(update, "update")
        self.after = _check_placement(after, "after")
        self.B = B
        self.factors = nn.ModuleList([PolyFactor(k, z) for k, z in factors]) if B is None else None
        n = len(factors)
        self.nu = n
        self.rho_r = nn.ModuleList([_Norm(channels, residual) for _ in range(n)])
        self.rho_e = nn.ModuleList([_Norm(channels, update) for _ in range(n)])
        self.rho_u = nn.ModuleList([_Norm(channels, after) for _ in range(n)])

    def smooth(self, A, f, u, nu):
        if nu > self.nu:
            raise ValueError(f"PolySmoother has {self.nu} factors, asked for nu = {nu} steps")
        for k in range(nu):
            r = f if u is None else f - A(u)
            r = self.rho_r[k](r)
            e = self.B(r) if self.B is not None else self.factors[k].update(A, r)
            e = self.rho_e[k](e)
            u = e if u is None else u + e
            u = self.rho_u[k](u)
        return u

    def forward(self, A, f, u, nu):
        return self.smooth(A, f, u, nu)


def select_roots(eigenvalues, degree: int) -> list[complex]:
    """Roots of Poly-MgNet's residual polynomial from a spectrum (seed 000 Alg. 3).

    ``zeta_1 = max Re(Lambda)``, ``zeta_2 = min Re(Lambda)``; for
    ``degree >= 4`` the pair ``z, z_bar`` with ``z = argmax Im(Lambda)``; for
    ``d = 6, 8, ...`` the next pair is the eigenvalue maximising
    ``|q_{d-2}(Lambda)|`` and its conjugate.  Returns ``degree`` complex roots
    (real ones first).

    Examples
    --------
    >>> select_roots([1.0, 2.0, 1.5 + 0.5j, 1.5 - 0.5j], 4)
    [(2+0j), (1+0j), (1.5+0.5j), (1.5-0.5j)]
    """
    lam = [complex(v) for v in (eigenvalues.tolist() if hasattr(eigenvalues, "tolist") else eigenvalues)]
    if degree < 1 or not lam:
        raise ValueError("select_roots needs degree >= 1 and a non-empty spectrum")
    roots = [max(lam, key=lambda z: z.real)]
    if degree >= 2:
        roots.append(complex(min(lam, key=lambda z: z.real).real, 0.0))
    roots[0] = complex(roots[0].real, 0.0)
    if degree >= 4:
        z = max(lam, key=lambda z: z.imag)
        roots += [z, z.conjugate()]
    while len(roots) + 2 <= degree:
        def q(x):
            p = 1.0 + 0j
            for zeta in roots:
                p *= (1 - x / zeta) if zeta != 0 else 1.0
            return abs(p)

        z = max(lam, key=q)
        roots += [z, z.conjugate()]
    return roots[:degree]


def xavier_root(c_in: int, c_out: int, generator: torch.Generator | None = None) -> float:
    """A root drawn from ``U(-t, t)``, ``t = sqrt(6/(c_in+c_out))`` (seed 000 Table 2), kept away from 0."""
    t = math.sqrt(6.0 / (c_in + c_out))
    x = float(torch.empty((), device="cpu").uniform_(t / 4, t, generator=generator))
    sign = 1.0 if float(torch.rand((), device="cpu", generator=generator)) < 0.5 else -1.0
    return sign * x
