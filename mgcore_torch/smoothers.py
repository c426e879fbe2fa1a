"""Smoothers of the torch solver (names and options from :mod:`mgcore.registry`).

Red-black Gauss-Seidel with colour masks, damped Jacobi and Richardson as
residual corrections (He & Xu, MgNet, 2019, eq. 3.20, 5.6), Chebyshev
semi-iteration (eq. 3.23-3.24), polynomial smoothers from roots, coefficients or
the level's spectrum (van Betteray, Rottmann & Kahl, Poly-MgNet, 2025, eq. 10-21,
Alg. 2-3; the core's :class:`mgcore.polynomials.PolynomialSmoother`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from mgcore.iterations import ChebyshevSemiIteration, ResidualCorrection, Smoother
from mgcore.problems.grid import GridLevelData
from mgcore.registry import smoother_names, validate_options

from ._stencils import colour_masks, conv
from .operators import PointwiseScaling, StencilOperator

#: canonical smoother names of the torch backend (from the registry; aliases
#: such as ``"rbgs"`` are resolved by :func:`mgcore.config.parse_smoother_spec`)
SMOOTHERS = smoother_names("torch")

class RedBlackGaussSeidel(Smoother):
    """Red-black Gauss-Seidel for (2d+1)-point stencils, with colour masks.

    A half-sweep on colour ``c`` is ``u <- u + m_c D^{-1} (f - A u)``
    (``m_c`` the colour mask): for these stencils a red unknown couples only
    to black ones, so this is exactly Gauss-Seidel over the colour.  Red
    points have an even index sum ``i + j (+ k)`` (0-based), the colouring
    of :mod:`mgcore.sparse.smoothers`.  ``red_first=True`` sweeps red then
    black (the pre-smoother, and the post-smoother of the solver's default);
    ``red_first=False`` black then red (the adjoint: the post-smoother of a
    symmetric cycle), as ``RedBlackGaussSeidel.ordering(shape, red_first)`` of
    the sparse backend.  From the zero iterate the first half-sweep is
    ``m_c D^{-1} f``.  One smoothing step = one red and one black half-sweep.

    Parameters
    ----------
    diagonal : tensor
        ``diag(A)``, shape ``(1, 1, *shape)``.
    red_first : bool
        Sweep red first (default) or black first.
    """

    def __init__(self, diagonal: torch.Tensor, red_first: bool = True):
        if not isinstance(red_first, bool):
            raise TypeError(f"red_first must be a bool, got {red_first!r}")
        red, black = colour_masks(diagonal.shape[2:], dtype=diagonal.dtype, device=diagonal.device)
        inv = 1.0 / diagonal
        first, second = (red, black) if red_first else (black, red)
        self.red_first = red_first
        self.weights = (first * inv, second * inv)

    def smooth(self, A, f, u, nu):
        for _ in range(nu):
            for w in self.weights:
                u = w * f if u is None else torch.addcmul(u, w, f - A(u))
        return u

    def __repr__(self) -> str:
        return f"RedBlackGaussSeidel(red_first={self.red_first}, shape={tuple(self.weights[0].shape[2:])})"


class StencilSmoother(Smoother):
    """Stencil smoother ``u <- u + m_c (K * (D^{-1}(f - A u)))`` (learned smoothers).

    One smoothing step is the sequence of substeps ``s`` of sweep
    ``j mod W`` (``j`` the step of this smoothing call): ``K = kernels[w, s]``
    applied as a cross-correlation with zero padding (``conv2d``), ``m_c``
    the mask of colour ``colours[s]`` (0 all, 1 red = even index sum,
    2 black); the format of :mod:`mgcore_torch.learn.format`, the iterates
    of :class:`mgcore.sparse.smoothers.StencilSmoother`.

    Parameters
    ----------
    diagonal : tensor
        ``diag(A)``, shape ``(1, 1, *shape)``.
    kernels : tensor or callable
        ``(W, S) + (k,) * d`` kernels, or a callable returning them (trainable
        kernels, read at every smoothing call: :mod:`mgcore_torch.learn`).
    colours : sequence of int
        One colour code per substep (``S`` of them).
    """

    def __init__(self, diagonal: torch.Tensor, kernels: Any, colours: Any = (0,)):
        self.dinv = 1.0 / diagonal
        red, black = colour_masks(diagonal.shape[2:], dtype=diagonal.dtype, device=diagonal.device)
        self.masks = (None, red, black)
        self.colours = tuple(int(c) for c in colours)
        if any(c not in (0, 1, 2) for c in self.colours):
            raise ValueError(f"colours must be codes 0 (all), 1 (red) or 2 (black), got {self.colours}")
        if isinstance(kernels, torch.Tensor):
            if kernels.dim() != 2 + diagonal.dim() - 2 or kernels.shape[1] != len(self.colours):
                raise ValueError(
                    f"kernels must have shape (sweeps, {len(self.colours)}) + (k,) * {diagonal.dim() - 2}, "
                    f"got {tuple(kernels.shape)}"
                )
        elif not callable(kernels):
            raise TypeError(f"kernels must be a tensor or a callable returning one, got {type(kernels).__name__}")
        self.kernels = kernels

    def smooth(self, A, f, u, nu):
        K = self.kernels if isinstance(self.kernels, torch.Tensor) else self.kernels()
        pad = K.shape[-1] // 2
        for j in range(nu):
            Kw = K[j % K.shape[0]]
            for s, c in enumerate(self.colours):
                r = f if u is None else f - A(u)
                corr = conv(r * self.dinv, Kw[s].reshape((1, 1) + tuple(Kw.shape[1:])), padding=pad)
                if c:
                    corr = corr * self.masks[c]
                u = corr if u is None else u + corr
        return u

    def __repr__(self) -> str:
        k = "trainable" if not isinstance(self.kernels, torch.Tensor) else "x".join(map(str, self.kernels.shape))
        return f"StencilSmoother(kernels={k}, colours={self.colours}, shape={tuple(self.dinv.shape[2:])})"


class RepeatedSmoother(Smoother):
    """``nu`` applications of ``inner.smooth(A, f, u, steps)``.

    With a :class:`~mgcore.iterations.ChebyshevSemiIteration` inside, every
    smoothing step is the same Chebyshev polynomial of degree ``steps``.
    """

    def __init__(self, inner: Smoother, steps: int):
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            raise ValueError(f"degree must be an int >= 1, got {steps!r}")
        self.inner, self.steps = inner, steps

    def smooth(self, A, f, u, nu):
        for _ in range(nu):
            u = self.inner.smooth(A, f, u, self.steps)
        return u

    def __repr__(self) -> str:
        return f"RepeatedSmoother({self.inner!r}, degree={self.steps})"


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def build_smoother(
    name: str, options: dict, A: StencilOperator, data: GridLevelData | None = None, post: bool = False
) -> Smoother:
    """Build one smoother of the torch backend for the level operator ``A``.

    The names and options are those of :mod:`mgcore.sparse.smoothers` (one
    configuration grammar for both backends), with the same defaults, so
    both backends run the same smoother:

    ``red-black``
        red-black Gauss-Seidel (:class:`RedBlackGaussSeidel`); ``order``:
        ``"symmetric"`` (default: the post-smoother sweeps black then red)
        or ``"red-black"`` (red first in both).
    ``jacobi``
        ``u += omega D^{-1} (f - A u)`` (He & Xu, MgNet, 2019, eq. 5.6); ``omega``
        (default ``2d/(2d+1)``: 2/3, 4/5, 6/7 in 1/2/3D).
    ``richardson``
        ``u += omega (f - A u)``; ``omega`` (default ``1/lambda_max``),
        ``lambda_max`` (default: :func:`mgcore.spectrum.estimate_lambda_max`
        of the level matrix).
    ``stencil``
        :class:`StencilSmoother` from ``file`` (``mgcore learn-smoother``)
        or one inline ``kernel``; default damped Jacobi; ``level`` picks a
        level set of the file (default: by grid size).
    ``chebyshev``
        one Chebyshev polynomial of ``degree`` (default 3) in ``D^{-1} A``
        per smoothing step (``precondition="jacobi"``, default; ``None``: in
        ``A``), :class:`mgcore.iterations.ChebyshevSemiIteration` (He & Xu, MgNet, 2019,
        eq. 3.23-3.24) with the bounds ``[lower, upper]`` passed in, default
        ``[lmax/ratio, safety*lmax]`` with ``ratio=30``, ``safety=1.1`` and
        ``lmax`` estimated by :func:`mgcore.spectrum.estimate_lambda_max`
        unless given.
    ``polynomial``
        :class:`mgcore.polynomials.PolynomialSmoother` with the factors of
        :func:`mgcore.analysis.polynomial_smoother_factors` (the same as
        the sparse backend's): ``roots`` / ``g`` / ``coefficients``, or
        ``"from": "spectrum"`` with ``degree`` and ``method``, or Chebyshev
        roots of ``degree``; ``precondition`` ``None`` or ``"jacobi"``.

    Parameters
    ----------
    name : str
        Canonical name (see :func:`mgcore.config.parse_smoother_spec`).
    options : dict
    A : StencilOperator
        The level operator.
    data : GridLevelData, optional
        Face arrays of the level (for the spectral estimates; default ``A``'s).
    post : bool
        Build the post-smoother (red-black: black first).
    """
    if name not in SMOOTHERS:
        raise ValueError(f"smoother must be one of {SMOOTHERS}, got {name!r}")
    options = validate_options(name, options, "torch")
    if not isinstance(A, StencilOperator):
        raise TypeError(f"A must be a StencilOperator, got {type(A).__name__}")
    data = A.data if data is None else data
    diag = A.diagonal()
    if name == "red-black":
        order = options.get("order") or "symmetric"
        return RedBlackGaussSeidel(diag, red_first=not (post and order == "symmetric"))
    if name == "jacobi":
        dim = A.dim
        omega = _positive(options.get("omega", 2.0 * dim / (2.0 * dim + 1.0)), "jacobi omega")
        return ResidualCorrection(PointwiseScaling(omega / diag))
    if name == "stencil":
        from .learn.format import resolve_stencil_smoother  # numpy only

        spec = resolve_stencil_smoother(options.get("file"), options.get("kernel"), A.dim)
        K = torch.tensor(np.array(spec.level_kernels(A.shape, options.get("level"))), dtype=diag.dtype, device=diag.device)
        return StencilSmoother(diag, K, spec.colours)
    if name == "polynomial":
        from mgcore.analysis.roots import polynomial_factors_from_options  # numpy/scipy, lazily
        from mgcore.polynomials import PolynomialSmoother

        fac = polynomial_factors_from_options(data, data.matrix(), options)
        return PolynomialSmoother(fac["roots"], g=fac["g"], coefficients=fac["coefficients"],
                                  M=PointwiseScaling(1.0 / diag) if options.get("precondition") == "jacobi" else None)
    from mgcore.spectrum import estimate_lambda_max  # noqa: E402 (lazy: scipy)

    if name == "richardson":
        omega = options.get("omega")
        if omega is None:
            lmax = options.get("lambda_max")
            lmax = estimate_lambda_max(data.matrix()) if lmax is None else _positive(lmax, "lambda_max")
            omega = 1.0 / lmax
        return ResidualCorrection(PointwiseScaling(_positive(omega, "richardson omega")))
    # chebyshev
    degree = options.get("degree", 3)
    if isinstance(degree, bool) or not isinstance(degree, (int, np.integer)) or degree < 1:
        raise ValueError(f"chebyshev degree must be an int >= 1, got {degree!r}")
    precondition = options.get("precondition", "jacobi")
    if precondition not in ("jacobi", None):
        raise ValueError(f"chebyshev precondition must be 'jacobi' or None, got {precondition!r}")
    lower, upper = options.get("lower"), options.get("upper")
    if (lower is None) != (upper is None):
        raise ValueError("chebyshev: give both lower and upper (the damped interval) or neither")
    if lower is None:
        ratio = _positive(options.get("ratio", 30.0), "chebyshev ratio")
        if ratio <= 1:
            raise ValueError(f"chebyshev ratio must be > 1, got {ratio!r}")
        safety = _positive(options.get("safety", 1.1), "chebyshev safety")
        lmax = options.get("lmax")
        if lmax is None:
            M = data.matrix()
            lmax = estimate_lambda_max(M, B=1.0 / M.diagonal() if precondition == "jacobi" else None)
        lmax = _positive(lmax, "chebyshev lmax")
        lower, upper = lmax / ratio, safety * lmax
    lower, upper = _positive(lower, "chebyshev lower"), _positive(upper, "chebyshev upper")
    if not lower < upper:
        raise ValueError(f"chebyshev needs 0 < lower < upper, got lower={lower}, upper={upper}")
    M = PointwiseScaling(1.0 / diag) if precondition == "jacobi" else PointwiseScaling(1.0)
    return RepeatedSmoother(ChebyshevSemiIteration(M, lower, upper), int(degree))


