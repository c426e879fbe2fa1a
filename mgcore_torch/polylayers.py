"""Poly-MgNet building blocks: polynomial factors, the polynomial smoother, coefficient initialisation.

Van Betteray, Rottmann & Kahl, *Poly-MgNet: polynomial building blocks in
multigrid-inspired ResNets*, ICPRAM 2025 (cited below as "Poly-MgNet"):
the smoother ``B`` of the residual correction is a polynomial in the shared
convolution ``A`` of a level, written as a product of factors, one residual
block per factor (eqs. 10-21, Alg. 2):

============== =============================== ===================================
kind           residual factor                 update of one block (``r = f - A u``)
============== =============================== ===================================
``linear``     ``I - alpha A`` (eq. 15)        ``u += alpha r`` (Alg. 2 line 3)
``squared``    ``I - alpha A^2`` (eq. 20)      ``u += alpha A r``
``quadratic``  ``(I - A/z)(I - A/conj z)``     ``u += (2a r - A r)/(a^2 + b^2)``
               (eq. 17, ``z = a + ib``)        (eq. 19, Alg. 2 line 10)
============== =============================== ===================================

A *real-only* quadratic factor (``real=True``) keeps ``b = 0`` and uses
``a = |alpha|`` of one learnable scalar ``alpha``: the factor ``(I - A/a)^2``,
which is what the authors' code computes (it casts the real coefficient to a
complex number and takes the absolute values of its real and imaginary parts).

Around every block BatchNorm and the activation can be placed at three points
(Poly-MgNet Table 1, eqs. 22-24, Tables 3-4): on the residual (``residual``,
the ``sigma r`` column), on the update (``update``, the ``sigma p_{d-1}(A)``
column) and on the new iterate (``after``, the ``sigma u`` column); each is
one of :data:`PLACEMENTS`.  ``level_end="relu"`` applies the activation once
after the last block of a level ("outside" variants, eq. 23).

Initial coefficients: :func:`reference_coefficients` (the authors' code:
``alpha = 1/u``, ``u ~ U(-t, t)``, ``t = sqrt(6 / (2c))``, Table 2 "Xavier"),
:func:`spectrum_coefficients` (roots from the spectrum of ``A``, Alg. 3 and the
text after eq. 20, via :func:`mgcore.polynomials.select_roots`) and
:func:`uniform_spectrum_coefficients` (Table 2 ``U(lambda_min, lambda_max)``);
:func:`conv_spectrum` gives the exact spectrum of a convolution on a small
periodic grid.

Examples
--------
>>> from mgcore_torch.polylayers import PolyFactor
>>> f = PolyFactor("quadratic", root=2 + 1j)
>>> abs(f.residual_factor(2 + 1j)) < 1e-12
True
"""

from __future__ import annotations

import math
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mgcore.iterations import Smoother, residual_correction
from mgcore.polynomials import select_roots

__all__ = [
    "PLACEMENTS",
    "FACTOR_KINDS",
    "PolyFactor",
    "PolySmoother",
    "conv_spectrum",
    "reference_coefficients",
    "spectrum_coefficients",
    "uniform_spectrum_coefficients",
]

#: Placements of BN / activation allowed at each point of a polynomial block.
PLACEMENTS = ("bn_relu", "bn", "relu", "none")
#: Kinds of factor of a residual polynomial.
FACTOR_KINDS = ("linear", "squared", "quadratic")
#: Once per level after the last block: nothing, or the activation (Poly-MgNet eq. 23).
LEVEL_END = ("none", "relu")


def _check_placement(value: str, name: str) -> str:
    if value not in PLACEMENTS:
        raise ValueError(f"{name} must be one of {PLACEMENTS}, got {value!r}")
    return value


class _Norm(nn.Module):
    """``sigma o BN`` / ``BN`` / ``sigma`` / identity, chosen by a placement string."""

    def __init__(self, channels: int, placement: str, activation: nn.Module | None = None):
        super().__init__()
        self.placement = _check_placement(placement, "placement")
        self.bn = nn.BatchNorm2d(channels) if placement in ("bn_relu", "bn") else None
        self.relu = placement in ("bn_relu", "relu")
        self.sigma = activation if self.relu else None

    def forward(self, x):
        if self.bn is not None:
            x = self.bn(x)
        if self.relu:
            x = F.relu(x) if self.sigma is None else self.sigma(x)
        return x


class PolyFactor(nn.Module):
    """One factor of a Poly-MgNet residual polynomial (eqs. 15-21).

    Parameters
    ----------
    kind : {"linear", "squared", "quadratic"}
        See the module docstring.
    root : number, optional
        ``zeta`` of a linear factor (``alpha = 1/zeta``) or of a squared
        factor (``alpha = 1/zeta^2``); ``z = a + ib`` of a quadratic factor.
    coefficient : float, optional
        ``alpha`` directly (linear / squared), or the scalar whose absolute
        value is ``a`` (real-only quadratic).  Give ``root`` or ``coefficient``.
    real : bool
        Quadratic factor with ``b = 0`` and one scalar (the reference code's form).
    trainable : bool
        False freezes the coefficients (``requires_grad=False``).
    """

    KINDS = FACTOR_KINDS

    def __init__(self, kind: str, root: Any = None, *, coefficient: Any = None, real: bool = False,
                 trainable: bool = True):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"factor kind must be one of {self.KINDS}, got {kind!r}")
        if (root is None) == (coefficient is None):
            raise ValueError("PolyFactor: give exactly one of root= and coefficient=")
        self.kind, self.real = kind, bool(real) and kind == "quadratic"

        def param(v):
            return nn.Parameter(torch.tensor(float(v)), requires_grad=bool(trainable))

        if kind == "quadratic":
            if coefficient is not None:
                z = complex(coefficient)
                if self.real:
                    self.alpha = param(z.real)
                else:
                    self.a, self.b = param(z.real), param(z.imag)
            else:
                z = complex(root)
                if z == 0:
                    raise ValueError("a root z of a quadratic factor must be non-zero")
                if self.real:
                    self.alpha = param(z.real if z.real != 0 else abs(z))
                else:
                    self.a, self.b = param(z.real), param(z.imag)
        else:
            if coefficient is None:
                z = complex(root).real
                if z == 0.0:
                    raise ValueError("a root zeta of a linear/squared factor must be non-zero")
                coefficient = 1.0 / z if kind == "linear" else 1.0 / (z * z)
            self.alpha = param(coefficient)

    def _ab(self):
        if self.real:
            return self.alpha.abs(), None
        return self.a, self.b

    def update(self, A, r):
        """Return ``p(A) r`` for this factor's block (``B = p(A)``, eq. 10)."""
        if self.kind == "linear":
            return self.alpha * r
        if self.kind == "squared":
            return self.alpha * A(r)
        a, b = self._ab()
        s = a * a if b is None else a * a + b * b
        return (2.0 * a / s) * r - A(r) / s

    def residual_factor(self, lam):
        """Scalar residual polynomial of this factor at ``lam`` (complex ok), for tests/analysis."""
        if self.kind == "linear":
            return 1 - self.alpha.item() * lam
        if self.kind == "squared":
            return 1 - self.alpha.item() * lam * lam
        a, b = self._ab()
        z = complex(float(a.detach()), 0.0 if b is None else float(b.detach()))
        return (1 - lam / z) * (1 - lam / z.conjugate())

    def extra_repr(self) -> str:
        return f"kind={self.kind!r}" + (", real=True" if self.real else "")


class _FactorOperator:
    """``r -> rho_e(p_k(A_k) rho_r(r))``: the operator ``B^{(k)}`` of block ``k`` (picklable)."""

    def __init__(self, smoother, k: int, A):
        self.smoother, self.k, self.A = smoother, k, A

    def __call__(self, r):
        s, k = self.smoother, self.k
        r = s.rho_r[k](r)
        e = s.B(r) if s.B is not None else s.factors[k].update(self.A, r)
        return s.rho_e[k](e)


def _per_factor(value: Any, n: int, name: str) -> list[str]:
    if isinstance(value, str):
        return [_check_placement(value, name)] * n
    vals = list(value)
    if len(vals) != n:
        raise ValueError(f"{name} must be one placement or one per factor ({n}), got {len(vals)}: {value!r}")
    return [_check_placement(v, name) for v in vals]


class PolySmoother(nn.Module, Smoother):
    """Poly-MgNet smoother: one residual block per polynomial factor (Poly-MgNet Alg. 2).

    Block ``k`` is the core's residual correction
    (:func:`mgcore.iterations.residual_correction`) with the operator
    ``B^{(k)} = rho_e o p_k(A) o rho_r``, followed by ``u <- rho_u(u)``:
    ``r = f - A u``, ``e = rho_e(p_k(A) rho_r(r))``, ``u <- rho_u(u + e)``,
    with ``rho`` given by :data:`PLACEMENTS` per block.  Without BN and
    activation (all ``"none"``) ``nu`` blocks multiply the residual by
    ``prod_k q_k(A)`` (eqs. 13, 15, 18, 21): the same maths as
    :class:`mgcore.polynomials.PolynomialSmoother` in root form.

    Parameters
    ----------
    channels : int
        Channels of ``u`` and ``f`` (equal in Poly-MgNet).
    factors : sequence of PolyFactor or (kind, root)
        One factor per block.
    residual, update, after : str or sequence of str
        Placements (one for all blocks, or one per block).
    B : nn.Module, optional
        Replace the polynomial by a shared conv ``B`` (the MgNet^{A,B}
        baseline of Poly-MgNet §4): ``e = B r``.
    level_end : {"none", "relu"}
        Apply the activation once after the last block (eq. 23).
    activation : nn.Module, optional
        ``sigma`` (default ReLU).
    As : sequence of nn.Module, optional
        A data-feature map per block (A not shared, or shared every k
        blocks); default: the level's ``A`` for every block.  Held as plain
        references: the model registers the modules.
    n_factors : int, optional
        Number of blocks when ``B`` is given (default 2).
    """

    def __init__(self, channels: int, factors: Sequence[Any] = (), residual: Any = "bn", update: Any = "none",
                 after: Any = "bn_relu", B: nn.Module | None = None, level_end: str = "none",
                 activation: nn.Module | None = None, As: Sequence[nn.Module] | None = None,
                 n_factors: int | None = None):
        super().__init__()
        factors = list(factors)
        n = len(factors) if B is None else int(n_factors if n_factors is not None else (len(factors) or 2))
        if n < 1:
            raise ValueError("PolySmoother: factors must hold at least one factor")
        if level_end not in LEVEL_END:
            raise ValueError(f"level_end must be one of {LEVEL_END}, got {level_end!r}")
        self.residual = _per_factor(residual, n, "residual")
        self.update_placement = _per_factor(update, n, "update")
        self.after = _per_factor(after, n, "after")
        self.level_end = level_end
        self.B = B
        if B is None:
            self.factors = nn.ModuleList([f if isinstance(f, PolyFactor) else PolyFactor(f[0], f[1]) for f in factors])
        else:
            self.factors = None
        self.nu = n
        self.rho_r = nn.ModuleList([_Norm(channels, p, activation) for p in self.residual])
        self.rho_e = nn.ModuleList([_Norm(channels, p, activation) for p in self.update_placement])
        self.rho_u = nn.ModuleList([_Norm(channels, p, activation) for p in self.after])
        self.sigma = activation if level_end == "relu" else None
        if As is not None:
            As = list(As)
            if len(As) != n:
                raise ValueError(f"PolySmoother: As must hold one operator per block ({n}), got {len(As)}")
        self._As = As  # plain list: not registered here (the model owns the modules)

    def bn_count(self) -> int:
        """Number of BatchNorms of the blocks."""
        return sum(m.bn is not None for lst in (self.rho_r, self.rho_e, self.rho_u) for m in lst)

    def smooth(self, A, f, u, nu):
        if nu > self.nu:
            raise ValueError(f"PolySmoother has {self.nu} factors, asked for nu = {nu} steps")
        for k in range(nu):
            Ak = A if self._As is None else self._As[k]
            u = self.rho_u[k](residual_correction(Ak, _FactorOperator(self, k, Ak), f, u))
        if nu > 0 and self.level_end == "relu":
            u = F.relu(u) if self.sigma is None else self.sigma(u)
        return u

    def forward(self, A, f, u, nu):
        return self.smooth(A, f, u, nu)


# --------------------------------------------------------------------------- initialisation
def conv_spectrum(weight: torch.Tensor, n: int = 4, groups: int = 1) -> list[complex]:
    """Eigenvalues of the convolution ``u -> weight * u`` on an ``n x n`` periodic grid.

    On a periodic grid the convolution is block-circulant: its spectrum is the
    union over the ``n^2`` Fourier modes ``theta`` of the eigenvalues of the
    ``c x c`` symbol ``A(theta) = sum_{p,q} W[:, :, p, q] exp(i theta.(p, q))``
    (the spectrum of a CNN layer ``A``, Poly-MgNet Fig. 3), computed by
    :func:`mgcore.analysis.conv_eigenvalues` (``n^2`` eigenvalue problems of
    size ``c``); grouped kernels are expanded to their block-diagonal form.

    Parameters
    ----------
    weight : Tensor ``(c, c / groups, k, k)``
    n : int
        Grid size (>= the kernel size for a faithful symbol).
    groups : int
        Groups of the convolution (block-diagonal symbol).

    Examples
    --------
    >>> import torch
    >>> w = torch.zeros(1, 1, 3, 3); w[0, 0, 1, 1] = 2.0
    >>> sorted({round(z.real, 6) for z in conv_spectrum(w, 4)})
    [2.0]
    """
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        raise ValueError("conv_spectrum: weight must be a 4-D tensor (c_out, c_in / groups, k, k)")
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    w = weight.detach().to("cpu", torch.float64)
    c_out, c_g, kh, kw = w.shape
    if groups > 1:
        full = torch.zeros(c_out, c_g * groups, kh, kw, dtype=torch.float64)
        step = c_out // groups
        for g in range(groups):
            full[g * step:(g + 1) * step, g * c_g:(g + 1) * c_g] = w[g * step:(g + 1) * step]
        w = full
    if w.shape[0] != w.shape[1]:
        raise ValueError(f"conv_spectrum needs a square kernel (c_out == c_in), got {tuple(weight.shape)}")
    from mgcore.analysis import conv_eigenvalues  # exact, from the block Fourier symbol (numpy)

    return [complex(z) for z in conv_eigenvalues(w.numpy(), n).ravel().tolist()]


def _layout(kinds: Sequence[str]) -> tuple[int, int, int]:
    return kinds.count("linear"), kinds.count("squared"), kinds.count("quadratic")


def reference_coefficients(kinds: Sequence[str], channels: int, generator: torch.Generator | None = None) -> list[Any]:
    """Initial coefficients as in the authors' Poly-MgNet code (Table 2 "Xavier").

    Draw ``u ~ U(-t, t)``, ``t = sqrt(6 / (c + c))``; every block gets the
    coefficient ``alpha = 1/u``.  Layouts without quadratic factors (q2, g4)
    draw one ``u`` for all blocks of a level; layouts with one (g6, g8) draw
    one per block and give block 0 the first, the last block the last and
    every other block the second draw (the code's rule).  Quadratic factors
    get the complex number ``|1/u| + i |1/u'|`` (``u'`` an extra draw): its
    real part is the coefficient of a real-only factor.

    Returns
    -------
    list
        One coefficient per factor (``PolyFactor(kind, coefficient=...)``).
    """
    n = len(kinds)
    t = math.sqrt(6.0 / (channels + channels))
    if "quadratic" in kinds:
        us = (torch.empty(n, device="cpu").uniform_(-1.0, 1.0, generator=generator) * t).tolist()
        vals = [us[0] if s == 0 else (us[-1] if s == n - 1 else us[min(1, n - 1)]) for s in range(n)]
    else:
        u = float(torch.empty(1, device="cpu").uniform_(-1.0, 1.0, generator=generator)[0]) * t
        vals = [u] * n
    out: list[Any] = []
    for kind, v in zip(kinds, vals):
        v = v if v != 0.0 else t  # 1/0 cannot be a coefficient
        if kind == "quadratic":
            extra = float(torch.empty(1, device="cpu").uniform_(-1.0, 1.0, generator=generator)[0]) * t or t
            out.append(complex(abs(1.0 / v), abs(1.0 / extra)))
        else:
            out.append(1.0 / v)
    return out


def spectrum_coefficients(kinds: Sequence[str], eigenvalues: Sequence[complex]) -> list[Any]:
    """Initial coefficients from the spectrum ``Lambda`` of ``A`` (Poly-MgNet Alg. 3, text after eq. 20).

    Linear factors: ``alpha = 1/zeta`` with ``zeta`` the extreme real parts
    (``max Re``, then ``min Re``); squared factors: ``alpha = 1/zeta^2`` with
    ``zeta = max(|max Re|, |min Re|)``; quadratic factors: the conjugate pairs
    of Alg. 3 (first ``argmax Im``, then the maximisers of the current
    ``|q(Lambda)|``).  The choices are those of
    :func:`mgcore.polynomials.select_roots`.  Where the spectrum yields fewer
    pairs than quadratic factors (a real spectrum), the remaining quadratic
    factors get the double root at the largest real part.
    """
    n_lin, n_sq, n_quad = _layout(kinds)
    lam = list(eigenvalues)
    if n_sq:
        sel = select_roots(lam, 2 * min(n_sq, 2) + 2 * n_quad, kind="g")
        g_alpha = sel["g"][0]
        reals: list = []
    else:
        sel = select_roots(lam, n_lin + 2 * n_quad, kind="q")
        g_alpha = None
        reals = [z for z in sel["roots"] if not isinstance(z, tuple)]
    pairs = [complex(*z) for z in sel["roots"] if isinstance(z, tuple)]
    re_max = max(complex(z).real for z in lam)
    out: list[Any] = []
    for kind in kinds:
        if kind == "squared":
            out.append(g_alpha)
        elif kind == "linear":
            zeta = reals.pop(0) if reals else re_max
            out.append(1.0 / zeta)
        else:
            out.append(pairs.pop(0) if pairs else complex(reals.pop(0) if reals else re_max, 0.0))
    return out


def uniform_spectrum_coefficients(kinds: Sequence[str], eigenvalues: Sequence[complex],
                                  generator: torch.Generator | None = None) -> list[Any]:
    """Roots drawn from ``U(lambda_min, lambda_max)`` of the real parts of the spectrum (Poly-MgNet Table 2).

    Linear factors get ``alpha = 1/zeta``, squared ``alpha = 1/zeta^2``,
    quadratic ``z = zeta + i U(0, max Im)``.
    """
    re = [complex(z).real for z in eigenvalues]
    im_max = max(abs(complex(z).imag) for z in eigenvalues)
    lo, hi = min(re), max(re)
    out: list[Any] = []
    for kind in kinds:
        zeta = 0.0
        while zeta == 0.0:
            zeta = lo + (hi - lo) * float(torch.rand((), device="cpu", generator=generator))
        if kind == "linear":
            out.append(1.0 / zeta)
        elif kind == "squared":
            out.append(1.0 / (zeta * zeta))
        else:
            out.append(complex(zeta, im_max * float(torch.rand((), device="cpu", generator=generator)) or 1e-3))
    return out


#: ``init=`` callables: ``init(weight, kinds) -> roots`` (one per factor, as ``roots=``).
InitCallable = Callable[[torch.Tensor, list], Sequence[Any]]
