"""Fixed-kernel linear multigrid in torch: the CNN that *is* the sparse solver.

Seed 003 (He & Xu, *MgNet*) shows that a geometric multigrid cycle for the
Poisson equation is a convolutional network with fixed kernels: the operator
is the convolution ``A u = K_A * u`` with zero padding (eq. 5.4-5.5), damped
Jacobi is ``S_0 f = K_S0 * f`` (5.6, 5.8), the restriction is the stride-2
convolution with ``K_R`` and the prolongation its transpose (Lemma 4.1,
eq. 4.12-4.14).  This module builds those operators as small
``torch.nn.Module``\\ s over tensors of shape ``(N, 1, H, W)`` (a batch of
``N`` right-hand sides; ``(N, 1, D, H, W)`` in 3D, ``(N, 1, L)`` in 1D),
puts them into :class:`mgcore.hierarchy.Level`\\ s, and runs the **core**
algorithms (:func:`mgcore.cycles.cycle`, :func:`~mgcore.cycles.mg0`,
:func:`~mgcore.cycles.mgnet`, :func:`~mgcore.cycles.fmg`) and drivers
(:func:`mgcore.solve.stationary_solve`, :func:`mgcore.solve.pcg`) on them.
There is no second copy of the algorithms: with float64 the iterates equal
those of :mod:`mgcore.sparse` to round-off.

Operators (all read the face arrays of :class:`mgcore.sparse.grid.GridLevelData`):

======================== =====================================================
:class:`StencilOperator`  ``A``: constant coefficients -> the kernel ``K_A``
                          (conv or shifted adds); variable coefficients or
                          Neumann boundaries -> a stencil field (shifted
                          multiplies with the face weights, no conv)
:class:`StridedConv`      ``R`` (stride-2 conv with ``K_R / 2^d`` or ``K_R``)
                          and conv projections ``Pi``
:class:`TransposedConv`   ``P`` (transposed stride-2 conv with ``K_R``)
:class:`Injection`        ``Pi`` = nodal injection (seed 003 eq. 4.18)
:class:`MatrixOperator`   a dense matrix over the flattened grid (coarse
                          solve with a precomputed (pseudo-)inverse, random
                          projections)
:class:`PointwiseScaling` ``B(r) = w * r``: Jacobi ``omega / diag`` (5.6,
                          5.8), Richardson ``omega``
:class:`RedBlackGaussSeidel` red-black Gauss-Seidel with colour masks
======================== =====================================================

Boundary conditions follow :mod:`mgcore.sparse.grid`: Dirichlet grids have
``n = 2^k - 1`` interior unknowns and use zero padding (coarse node ``i`` =
fine node ``2 i + 1``, no padding in the stride-2 convolutions); Neumann
grids have ``n = 2^k + 1`` nodes, the face weights at the boundary are zero
(the same face-array formula), coarse node ``i`` = fine node ``2 i`` and the
stride-2 convolutions use padding 1.  Level 1 is the finest.

Examples
--------
>>> import torch
>>> from mgcore.sparse.problems import poisson
>>> from mgcore_torch.linear import TorchMultigridSolver
>>> problem = poisson(dim=2, n=63)
>>> solver = TorchMultigridSolver(problem)
>>> result = solver.solve(problem.rhs(1.0), rtol=1e-8)
>>> result.converged, result.convergence_factor < 0.1
(True, True)
"""

from __future__ import annotations

import math
import time
import warnings
from contextlib import contextmanager
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from mgcore.config import parse_smoother_spec
from mgcore.cycles import CycleKind, cycle as core_cycle
from mgcore.hierarchy import Hierarchy, Level, parse_nu_pair, replaced
from mgcore.iterations import ChebyshevSemiIteration, ResidualCorrection, Smoother
from mgcore.solve import SolveResult, check_tolerances, pcg, stationary_solve
from mgcore.sparse.grid import GridLevelData, GridProblem, can_coarsen, coarsen_size

from ._stencils import colour_masks, conv, conv_transpose, laplacian_kernel, restriction_kernel, transfer_kernel

__all__ = [
    "SMOOTHERS",
    "IMPLEMENTATIONS",
    "PRECISIONS",
    "PROJECTIONS",
    "StencilOperator",
    "StridedConv",
    "TransposedConv",
    "Injection",
    "MatrixOperator",
    "PointwiseScaling",
    "RedBlackGaussSeidel",
    "RepeatedSmoother",
    "build_smoother",
    "poisson_hierarchy",
    "level_data_list",
    "TorchMultigridSolver",
]

#: canonical smoother names of the torch backend (aliases such as ``"rbgs"``
#: are resolved by :func:`mgcore.config.parse_smoother_spec`)
SMOOTHERS = ("red-black", "jacobi", "chebyshev", "richardson")
#: how a constant-coefficient stencil is applied
IMPLEMENTATIONS = ("auto", "conv", "shift")
#: arithmetic of :class:`TorchMultigridSolver`
PRECISIONS = (None, "float64", "float32", "mixed")
#: named projections ``Pi`` of the iterate (MgNet, seed 003 eq. 6.5, 6.23-6.24)
PROJECTIONS = ("injection", "restriction", "zero")
_ACCELERATIONS = (None, "cg")
_SMOOTHER_OPTIONS = {
    "red-black": ("order",),
    "jacobi": ("omega",),
    "richardson": ("omega", "lambda_max"),
    "chebyshev": ("degree", "ratio", "lmax", "safety", "lower", "upper", "precondition"),
}


# --------------------------------------------------------------------------- helpers
def _check_dtype(dtype: Any, name: str = "dtype") -> torch.dtype:
    if dtype in (torch.float64, np.float64, "float64"):
        return torch.float64
    if dtype in (torch.float32, np.float32, "float32"):
        return torch.float32
    raise ValueError(f"{name} must be torch.float64 or torch.float32, got {dtype!r}")


def _check_device(device: Any) -> torch.device:
    try:
        dev = torch.device(device)
    except (TypeError, RuntimeError) as exc:
        raise ValueError(f"device must be a torch device such as 'cpu' or 'cuda', got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} needs CUDA, which this torch build ({torch.__version__}) or machine does not have; "
            "use device='cpu'"
        )
    return dev


def _axis_slice(ndim: int, axis: int, sl: slice) -> tuple:
    idx = [slice(None)] * ndim
    idx[axis] = sl
    return tuple(idx)


def _as_tensor(a: np.ndarray, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64).to(dtype=dtype, device=device)


def _constant_weights(data: GridLevelData) -> tuple[float, ...] | None:
    """Face weight per direction if every face of the level has the same weight, else ``None``."""
    out = []
    for w in data.faces:
        v = float(w.flat[0])
        if not np.all(w == v):
            return None
        out.append(v)
    return tuple(out)


# --------------------------------------------------------------------------- operators
class StencilOperator(nn.Module):
    """The operator ``A`` of one structured level, ``(N, 1, *shape) -> (N, 1, *shape)``.

    ``(A u)_p = scale * sum_{q ~ p} w_pq (u_p - u_q)`` with ``u_q = 0``
    outside the grid (the face-coefficient form of
    :class:`mgcore.sparse.grid.GridLevelData`).

    * Constant face weights (constant coefficients, Dirichlet): the kernel
      ``K_A`` of seed 003 eq. (5.4) (7-point in 3D), ``A u = K_A * u`` with
      zero padding (5.5).  ``impl="conv"`` applies it with ``conv{d}d``,
      ``impl="shift"`` as the same sum of shifted copies (faster on a CPU);
      ``impl="auto"`` uses conv on CUDA and shifts elsewhere.
    * Otherwise (variable coefficients, Neumann boundaries whose boundary
      faces have weight zero): a *stencil field*, ``diag * u`` minus the
      face weights times the shifted neighbours, no convolution.

    Parameters
    ----------
    data : GridLevelData
        Face arrays of the level.
    impl : {"auto", "conv", "shift"}
    dtype, device : torch dtype and device of the buffers.
    """

    def __init__(self, data: GridLevelData, impl: str = "auto", dtype=torch.float64, device="cpu"):
        super().__init__()
        if not isinstance(data, GridLevelData):
            raise TypeError(f"data must be a GridLevelData, got {type(data).__name__}")
        if impl not in IMPLEMENTATIONS:
            raise ValueError(f"impl must be one of {IMPLEMENTATIONS}, got {impl!r}")
        dtype, device = _check_dtype(dtype), _check_device(device)
        self.data = data
        self.shape = tuple(data.shape)
        self.dim = len(self.shape)
        weights = _constant_weights(data)
        self.constant = weights is not None
        if impl == "conv" and not self.constant:
            raise ValueError(
                "impl='conv' needs constant face weights (constant coefficients with Dirichlet boundaries); "
                "use impl='auto' or 'shift' for the stencil-field operator"
            )
        if impl == "auto":
            impl = "conv" if (self.constant and device.type == "cuda") else "shift"
        self.impl = impl
        if self.constant:
            self.register_buffer("kernel", laplacian_kernel(weights, data.scale, dtype=dtype, device=device))
            self.centre = float(data.scale * 2.0 * sum(weights))
            self.offdiag = [float(data.scale * w) for w in weights]
            self.register_buffer("diag_field", None)
        else:
            self.register_buffer("kernel", None)
            self.register_buffer("diag_field", _as_tensor(data.diagonal(), dtype, device).reshape((1, 1) + self.shape))
            for d, w in enumerate(data.faces):
                n = self.shape[d]
                inner = data.scale * np.take(w, np.arange(1, n), axis=d)
                self.register_buffer(f"face{d}", _as_tensor(inner, dtype, device).reshape((1, 1) + inner.shape))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        if self.impl == "conv":
            return conv(u, self.kernel, padding=1)
        nd = u.dim()
        if self.constant:
            out = u * self.centre
            for d in range(self.dim):
                lo = _axis_slice(nd, d + 2, slice(0, -1))
                hi = _axis_slice(nd, d + 2, slice(1, None))
                out[lo].sub_(u[hi], alpha=self.offdiag[d])
                out[hi].sub_(u[lo], alpha=self.offdiag[d])
            return out
        out = self.diag_field * u
        for d in range(self.dim):
            lo = _axis_slice(nd, d + 2, slice(0, -1))
            hi = _axis_slice(nd, d + 2, slice(1, None))
            w = getattr(self, f"face{d}")
            out[lo].addcmul_(w, u[hi], value=-1.0)
            out[hi].addcmul_(w, u[lo], value=-1.0)
        return out

    def diagonal(self) -> torch.Tensor:
        """Diagonal of ``A`` as a tensor of shape ``(1, 1, *shape)``."""
        if self.constant:
            return torch.full((1, 1) + self.shape, self.centre, dtype=self.kernel.dtype, device=self.kernel.device)
        return self.diag_field

    def extra_repr(self) -> str:
        kind = "constant stencil K_A" if self.constant else "stencil field"
        return f"shape={self.shape}, {kind}, impl={self.impl!r}"


class _Stride2(nn.Module):
    """A fixed ``3^d`` kernel applied with stride 2; padding 0 on Dirichlet
    grids (coarse node ``i`` = fine node ``2i+1``), 1 on Neumann grids
    (coarse node ``i`` = fine node ``2i``)."""

    def __init__(self, kernel: torch.Tensor, bc: str = "dirichlet"):
        super().__init__()
        if bc not in ("dirichlet", "neumann"):
            raise ValueError(f"bc must be 'dirichlet' or 'neumann', got {bc!r}")
        if not isinstance(kernel, torch.Tensor) or kernel.dim() not in (3, 4, 5) or any(s != 3 for s in kernel.shape[2:]):
            raise ValueError("kernel must be a tensor of shape (1, 1, 3[, 3[, 3]])")
        self.register_buffer("kernel", kernel)
        self.padding = 0 if bc == "dirichlet" else 1

    def extra_repr(self) -> str:
        return f"kernel={tuple(self.kernel.shape)}, stride=2, padding={self.padding}"


class StridedConv(_Stride2):
    """Stride-2 convolution ``x -> K *_2 x`` (seed 003 eq. 4.12).

    With ``K = K_R / 2^d`` (eq. 4.13 scaled) this is the full-weighting
    restriction ``P^T / 2^d`` of :func:`mgcore.sparse.transfers.restriction`;
    padding is 0 on Dirichlet grids (coarse node ``i`` = fine node ``2i+1``)
    and 1 on Neumann grids (coarse node ``i`` = fine node ``2i``), which
    reproduces the boundary rows of the sparse matrix exactly.  Any other
    ``3^d`` kernel gives a convolutional projection ``Pi``.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return conv(x, self.kernel, stride=2, padding=self.padding)


class TransposedConv(_Stride2):
    """Transposed stride-2 convolution with ``K_R``: the prolongation ``P``.

    Equals :func:`mgcore.sparse.transfers.prolongation` (bilinear /
    trilinear interpolation, seed 003 eq. 4.7-4.9; the P1 "linear" variant
    with kernel 4.14), so ``P = R^T`` for the unscaled kernel (Lemma 4.1).
    """

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return conv_transpose(e, self.kernel, stride=2, padding=self.padding)


class Injection(nn.Module):
    """Nodal injection: the coarse value is the value at the coinciding fine node.

    A projection ``Pi`` of seed 003 eq. (4.18); equals
    :func:`mgcore.sparse.transfers.injection`.
    """

    def __init__(self, dim: int, bc: str = "dirichlet"):
        super().__init__()
        if bc not in ("dirichlet", "neumann"):
            raise ValueError(f"bc must be 'dirichlet' or 'neumann', got {bc!r}")
        self.dim = int(dim)
        self.offset = 1 if bc == "dirichlet" else 0

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        sl = (slice(None), slice(None)) + (slice(self.offset, None, 2),) * self.dim
        return u[sl]


class MatrixOperator(nn.Module):
    """A dense matrix over the C-order flattened grid, applied to a batch by one matmul.

    ``(N, 1, *in_shape) -> (N, 1, *out_shape)``, ``y_n = M x_n``.  Used for
    the exact coarse solve (``M = A^{-1}``, or the pseudo-inverse for a
    singular Neumann operator) and for arbitrary linear projections ``Pi``.
    """

    def __init__(self, M: Any, out_shape: tuple, dtype=torch.float64, device="cpu"):
        super().__init__()
        M = torch.as_tensor(np.asarray(M, dtype=np.float64)) if not isinstance(M, torch.Tensor) else M.double()
        if M.dim() != 2:
            raise ValueError(f"M must be a 2-D matrix, got shape {tuple(M.shape)}")
        self.out_shape = tuple(int(s) for s in out_shape)
        if int(np.prod(self.out_shape)) != M.shape[0]:
            raise ValueError(f"out_shape {self.out_shape} does not match the {M.shape[0]} rows of M")
        self.register_buffer("MT", M.T.contiguous().to(dtype=_check_dtype(dtype), device=_check_device(device)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N = x.shape[0]
        return (x.reshape(N, -1) @ self.MT).reshape((N, 1) + self.out_shape)

    def extra_repr(self) -> str:
        return f"shape={tuple(self.MT.shape[::-1])}"


class PointwiseScaling(nn.Module):
    """``B(r) = w * r`` with a scalar or a field ``w`` (a ``1 x 1`` convolution).

    ``w = omega / diag(A)`` is damped Jacobi (seed 003 eq. 5.6, kernel
    ``K_S0 = omega/4`` of 5.8 for ``K_A``); ``w = omega`` is Richardson.
    """

    def __init__(self, weight: Any):
        super().__init__()
        if isinstance(weight, torch.Tensor):
            self.register_buffer("weight", weight)
            self.scalar = None
        else:
            self.register_buffer("weight", None)
            self.scalar = float(weight)

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return (self.scalar if self.weight is None else self.weight) * r


class RedBlackGaussSeidel(Smoother):
    """Red-black Gauss-Seidel for (2d+1)-point stencils, with colour masks.

    A half-sweep on colour ``c`` is ``u <- u + m_c D^{-1} (f - A u)``
    (``m_c`` the colour mask): for these stencils a red unknown couples only
    to black ones, so this is exactly Gauss-Seidel over the colour.  Red
    points have an even index sum ``i + j (+ k)`` (0-based), the colouring
    of :mod:`mgcore.sparse.smoothers`.  ``order="red-black"`` sweeps red then
    black (the pre-smoother, and the post-smoother of the solver's default);
    ``order="black-red"`` black then red (the adjoint: the post-smoother of a
    symmetric cycle).  From the zero iterate the first half-sweep is
    ``m_c D^{-1} f``.  One smoothing step = one red and one black half-sweep.

    Parameters
    ----------
    diagonal : tensor
        ``diag(A)``, shape ``(1, 1, *shape)``.
    order : {"red-black", "black-red"}
    """

    def __init__(self, diagonal: torch.Tensor, order: str = "red-black"):
        if order not in ("red-black", "black-red"):
            raise ValueError(f"order must be 'red-black' or 'black-red', got {order!r}")
        red, black = colour_masks(diagonal.shape[2:], dtype=diagonal.dtype, device=diagonal.device)
        inv = 1.0 / diagonal
        first, second = (red, black) if order == "red-black" else (black, red)
        self.order = order
        self.weights = (first * inv, second * inv)

    def smooth(self, A, f, u, nu):
        for _ in range(nu):
            for w in self.weights:
                u = w * f if u is None else torch.addcmul(u, w, f - A(u))
        return u

    def __repr__(self) -> str:
        return f"RedBlackGaussSeidel(order={self.order!r}, shape={tuple(self.weights[0].shape[2:])})"


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
        ``u += omega D^{-1} (f - A u)`` (seed 003 eq. 5.6); ``omega``
        (default ``2d/(2d+1)``: 2/3, 4/5, 6/7 in 1/2/3D).
    ``richardson``
        ``u += omega (f - A u)``; ``omega`` (default ``1/lambda_max``),
        ``lambda_max`` (default: :func:`mgcore.spectrum.estimate_lambda_max`
        of the level matrix).
    ``chebyshev``
        one Chebyshev polynomial of ``degree`` (default 3) in ``D^{-1} A``
        per smoothing step (``precondition="jacobi"``, default; ``None``: in
        ``A``), :class:`mgcore.iterations.ChebyshevSemiIteration` (seed 003
        eq. 3.23-3.24) with the bounds ``[lower, upper]`` passed in, default
        ``[lmax/ratio, safety*lmax]`` with ``ratio=30``, ``safety=1.1`` and
        ``lmax`` estimated by :func:`mgcore.spectrum.estimate_lambda_max`
        unless given.

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
    if name not in _SMOOTHER_OPTIONS:
        raise ValueError(f"smoother must be one of {SMOOTHERS}, got {name!r}")
    unknown = sorted(set(options) - set(_SMOOTHER_OPTIONS[name]))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for smoother {name!r}; allowed: {', '.join(_SMOOTHER_OPTIONS[name])}")
    if not isinstance(A, StencilOperator):
        raise TypeError(f"A must be a StencilOperator, got {type(A).__name__}")
    data = A.data if data is None else data
    diag = A.diagonal()
    if name == "red-black":
        order = options.get("order", "symmetric")
        if order not in ("symmetric", "red-black"):
            raise ValueError(f"red-black order must be 'symmetric' or 'red-black', got {order!r}")
        black_first = post and order == "symmetric"
        return RedBlackGaussSeidel(diag, "black-red" if black_first else "red-black")
    if name == "jacobi":
        dim = A.dim
        omega = _positive(options.get("omega", 2.0 * dim / (2.0 * dim + 1.0)), "jacobi omega")
        return ResidualCorrection(PointwiseScaling(omega / diag))
    from mgcore.spectrum import estimate_lambda_max

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


# --------------------------------------------------------------------------- hierarchy
def level_data_list(problem: GridProblem, max_levels: int | None = None, coarse_size: int = 500) -> list[GridLevelData]:
    """Re-discretised levels of ``problem``, fine (level 1) to coarse.

    Coarsening stops once a level has at most ``coarse_size`` unknowns, when
    the grid cannot be coarsened, or at ``max_levels`` levels -- the same
    rule as :class:`mgcore.sparse.MultigridSolver`, so both backends build
    the same hierarchy.
    """
    if not isinstance(problem, GridProblem):
        raise TypeError(f"problem must be a GridProblem (see mgcore.sparse.problems), got {type(problem).__name__}")
    if max_levels is not None and (isinstance(max_levels, bool) or not isinstance(max_levels, int) or max_levels < 1):
        raise ValueError(f"max_levels must be an int >= 1 or None, got {max_levels!r}")
    if isinstance(coarse_size, bool) or not isinstance(coarse_size, int) or coarse_size < 1:
        raise ValueError(f"coarse_size must be an int >= 1, got {coarse_size!r}")
    datas = [problem.level_data()]

    def coarsenable(shape):
        return all(can_coarsen(n, problem.bc) and coarsen_size(n, problem.bc) >= 1 for n in shape)

    while (max_levels is None or len(datas) < max_levels) and int(np.prod(datas[-1].shape)) > coarse_size and coarsenable(
        datas[-1].shape
    ):
        datas.append(problem.coarse_data(datas[-1]))
    return datas


def _dense_coarse_solve(data: GridLevelData, singular: bool, dtype, device) -> MatrixOperator:
    Ad = data.matrix().toarray()
    inv = np.linalg.pinv(Ad) if singular else np.linalg.inv(Ad)
    return MatrixOperator(inv, data.shape, dtype=dtype, device=device)


def _projection(spec: Any, data: GridLevelData, R: nn.Module, dtype, device) -> Any:
    if spec is None or (isinstance(spec, str) and spec == "zero"):
        return None
    if isinstance(spec, str):
        if spec == "injection":
            return Injection(data.dim, data.bc)
        if spec == "restriction":
            return R
        raise ValueError(f"projection must be one of {PROJECTIONS}, a callable, or a list of those per level; got {spec!r}")
    if callable(spec):
        return spec
    raise TypeError(f"projection must be one of {PROJECTIONS}, a callable, or a list of those per level; got {type(spec).__name__}")


def poisson_hierarchy(
    problem: GridProblem,
    smoother: Any = "rbgs",
    dtype=torch.float64,
    device="cpu",
    impl: str = "auto",
    interpolation: str = "bilinear",
    restriction: str | None = None,
    projection: Any = "injection",
    max_levels: int | None = None,
    coarse_size: int = 500,
) -> Hierarchy:
    """Build the fixed-kernel multigrid hierarchy of ``problem`` in torch.

    Every level holds ``A`` (:class:`StencilOperator`), the pre-smoother
    ``B`` and post-smoother ``B_post``, the restriction ``R``
    (:class:`StridedConv`, Lemma 4.1), the prolongation ``P``
    (:class:`TransposedConv`), the projection ``Pi`` and, on the coarsest
    level, an exact solve with the precomputed dense inverse (pseudo-inverse
    for Neumann) applied as one matmul over the batch.  Level 1 (``levels[0]``)
    is the finest.  Run it with the core algorithms
    (:func:`mgcore.cycles.cycle`, :func:`~mgcore.cycles.mg0`,
    :func:`~mgcore.cycles.mgnet`, :func:`~mgcore.cycles.fmg`) on tensors of
    shape ``(N, 1, *problem.shape)``.

    Parameters
    ----------
    problem : GridProblem
        From :mod:`mgcore.sparse.problems`; coarse levels are re-discretised.
    smoother : str, tuple, dict or list
        Smoother spec (grammar of :func:`mgcore.config.parse_smoother_spec`,
        one per level allowed): ``"rbgs"`` (alias of ``"red-black"``),
        ``"jacobi"``, ``"chebyshev"``, ``"richardson"``; options see
        :func:`build_smoother`.
    dtype : {torch.float64, torch.float32}
    device : str or torch.device
    impl : {"auto", "conv", "shift"}
        Implementation of constant-coefficient stencils (:class:`StencilOperator`).
    interpolation : {"bilinear", "linear"}
        Prolongation kernel: eq. (4.13) or (4.14, 2D only).
    restriction : {"full-weighting", "transpose"}, optional
        ``R = P^T / 2^d`` or ``R = P^T``; default full weighting for finite
        differences and ``"transpose"`` for the unscaled FEM stiffness.
    projection : {"injection", "restriction", "zero"}, callable or list
        ``Pi`` of each non-coarsest level (used by :func:`mgcore.cycles.mgnet`;
        ``"zero"`` / ``None`` is ``Pi = 0``, eq. 6.23).  A list gives one
        entry per level ``1 .. J-1``.
    max_levels, coarse_size : see :func:`level_data_list`.

    Returns
    -------
    mgcore.hierarchy.Hierarchy

    Examples
    --------
    >>> import torch
    >>> from mgcore.cycles import cycle
    >>> from mgcore.sparse.problems import poisson
    >>> h = poisson_hierarchy(poisson(dim=2, n=31), coarse_size=9)
    >>> [lvl.shape for lvl in h]
    [(31, 31), (15, 15), (7, 7), (3, 3)]
    >>> f = torch.ones(2, 1, 31, 31, dtype=torch.float64)
    >>> cycle(h, f, None, "V", 2, 2).shape
    torch.Size([2, 1, 31, 31])
    """
    dtype, device = _check_dtype(dtype), _check_device(device)
    if impl not in IMPLEMENTATIONS:
        raise ValueError(f"impl must be one of {IMPLEMENTATIONS}, got {impl!r}")
    if interpolation not in ("bilinear", "linear"):
        raise ValueError(f"interpolation must be 'bilinear' or 'linear', got {interpolation!r}")
    if restriction is None:
        restriction = "transpose" if problem.discretization == "fem" else "full-weighting"
    if restriction not in ("full-weighting", "transpose"):
        raise ValueError(f"restriction must be 'full-weighting' or 'transpose', got {restriction!r}")
    datas = level_data_list(problem, max_levels, coarse_size)
    J = len(datas)
    specs = parse_smoother_spec(smoother, J, SMOOTHERS)
    if isinstance(projection, (list, tuple)):
        projections = list(projection)
        if len(projections) != max(J - 1, 0):
            raise ValueError(f"a projection list needs one entry per level 1..J-1 (J = {J}), got {len(projections)}")
    else:
        projections = [projection] * max(J - 1, 0)
    for spec in projections if isinstance(projection, (list, tuple)) else [projection]:
        if isinstance(spec, str) and spec not in PROJECTIONS:
            raise ValueError(f"projection must be one of {PROJECTIONS}, a callable, or a list of those per level; got {spec!r}")
        if spec is not None and not isinstance(spec, str) and not callable(spec):
            raise TypeError(
                f"projection must be one of {PROJECTIONS}, a callable, or a list of those per level; got {type(spec).__name__}"
            )
    dim = problem.dim
    KR = restriction_kernel(dim, interpolation, restriction, dtype=dtype, device=device)
    KP = transfer_kernel(dim, interpolation, dtype=dtype, device=device)
    levels = []
    for l, data in enumerate(datas):
        A = StencilOperator(data, impl=impl, dtype=dtype, device=device)
        name, opts = specs[l]
        B = build_smoother(name, opts, A, data, post=False)
        B_post = build_smoother(name, opts, A, data, post=True) if name == "red-black" else None
        R = P = Pi = coarse = None
        if l < J - 1:
            R = StridedConv(KR, data.bc)
            P = TransposedConv(KP, data.bc)
            Pi = _projection(projections[l], data, R, dtype, device)
        else:
            coarse = _dense_coarse_solve(data, problem.singular, dtype, device)
        levels.append(
            Level(
                A=A, B=B, R=R, Pi=Pi, P=P, B_post=B_post, coarse_solve=coarse, shape=tuple(data.shape),
                meta={"grid": data, "n": data.size, "smoother": name},
            )
        )
    return Hierarchy(levels)


# --------------------------------------------------------------------------- solver pieces
class _CycleFn:
    """``(f, u) -> cycle(h, f, u)`` as a picklable callable (``u = None``: zero start)."""

    def __init__(self, h: Hierarchy, kind: CycleKind, pre: int, post: int):
        self.h, self.kind, self.pre, self.post = h, kind, pre, post

    def __call__(self, f: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return core_cycle(self.h, f, u, self.kind, self.pre, self.post)


class _GraphedCycle:
    """One cycle captured as a CUDA graph; replays on static input buffers.

    ``with_iterate=False`` captures ``f -> cycle(h, f, 0)`` (preconditioner,
    mixed-precision correction); ``True`` captures ``(f, u) -> cycle(h, f, u)``.
    """

    def __init__(self, fn: _CycleFn, f: torch.Tensor, with_iterate: bool):
        self.fn, self.with_iterate = fn, with_iterate
        self.static = [torch.zeros_like(f)] + ([torch.zeros_like(f)] if with_iterate else [])
        self.static[0].copy_(f)
        side = torch.cuda.Stream(device=f.device)
        side.wait_stream(torch.cuda.current_stream(f.device))
        with torch.no_grad(), torch.cuda.stream(side):
            for _ in range(2):
                self._run()
        torch.cuda.current_stream(f.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.no_grad(), torch.cuda.graph(self.graph):
            self.out = self._run()

    def _run(self) -> torch.Tensor:
        if self.with_iterate:
            return self.fn(self.static[0], self.static[1])
        return self.fn(self.static[0], None)

    def __call__(self, f: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        self.static[0].copy_(f)
        if self.with_iterate:
            if u is None:
                self.static[1].zero_()
            else:
                self.static[1].copy_(u)
        self.graph.replay()
        return self.out.clone()


class _Step:
    """One stationary step ``x -> x_new`` of the solver (plain or mixed precision)."""

    def __init__(self, solver: "TorchMultigridSolver", b: torch.Tensor, kind: CycleKind):
        self.solver, self.b, self.kind = solver, b, kind

    def __call__(self, x: torch.Tensor | None) -> torch.Tensor:
        s = self.solver
        if s.precision == "mixed":
            r = self.b if x is None else self.b - s.A(x)
            e = s._run_cycle(self.kind, r.to(s.cycle_dtype), None).to(s.dtype)
            return e if x is None else x + e
        return s._run_cycle(self.kind, self.b, x)


class _Preconditioner:
    """``r -> one cycle from zero`` (in the cycle precision), picklable.

    ``symmetric=True`` runs the cycle inside :meth:`TorchMultigridSolver.symmetric_cycle`.
    """

    def __init__(self, solver: "TorchMultigridSolver", kind: CycleKind, symmetric: bool = False):
        self.solver, self.kind, self.symmetric = solver, kind, symmetric

    def __call__(self, r: torch.Tensor) -> torch.Tensor:
        s = self.solver
        if self.symmetric and not s._symmetric:
            with s.symmetric_cycle():
                return s._run_cycle(self.kind, r.to(s.cycle_dtype), None).to(r.dtype)
        return s._run_cycle(self.kind, r.to(s.cycle_dtype), None).to(r.dtype)


class _ResidualNorm:
    """Residual measure of the driver; records per-sample 2-norms.

    Single right-hand side: ``||b - A x||_2``.  Batch: the largest relative
    residual ``max_n ||b_n - A x_n|| / ref_n``; a sample whose absolute
    residual is ``<= atol`` counts as ``min(relative, rtol)``.
    """

    def __init__(self, A: Callable, b: torch.Tensor, batched: bool, rtol: float, atol: float):
        self.A, self.b, self.batched, self.rtol, self.atol = A, b, batched, rtol, atol
        self.history: list[list[float]] = []
        self.ref: torch.Tensor | None = None

    def norms(self, x: torch.Tensor | None) -> torch.Tensor:
        r = self.b if x is None else self.b - self.A(x)
        return torch.linalg.vector_norm(r.reshape(r.shape[0], -1), dim=1)

    def __call__(self, x: torch.Tensor | None) -> float:
        nrm = self.norms(x)
        self.history.append(nrm.double().cpu().tolist())  # one host sync per iteration
        if not self.batched:
            return float(nrm.double().sum())
        if self.ref is None:
            self.ref = torch.where(nrm > 0, nrm, torch.ones_like(nrm))
        rel = nrm / self.ref
        if self.atol > 0:
            rel = torch.where(nrm <= self.atol, torch.clamp(rel, max=self.rtol), rel)
        return float(rel.max())


class _BatchDot:
    """Inner product over the whole batch (the block-diagonal system), float64."""

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> float:
        return float(torch.sum(a.double() * b.double()))


class TorchMultigridSolver:
    """Geometric multigrid solver on torch tensors (CPU or CUDA).

    The fixed-kernel network of :func:`poisson_hierarchy` driven by the core
    cycles (:func:`mgcore.cycles.cycle`) and drivers
    (:func:`mgcore.solve.stationary_solve`, :func:`mgcore.solve.pcg`).  With
    ``dtype=torch.float64`` its iterates equal those of
    ``mgcore.sparse.MultigridSolver(problem, smoother=..., fast=False)`` to
    round-off (same levels, smoother, transfers and coarse solve).

    Parameters
    ----------
    problem : GridProblem
        Structured problem (:mod:`mgcore.sparse.problems`).
    smoother : spec
        ``"rbgs"`` (default), ``"jacobi"``, ``"chebyshev"``, ``"richardson"``,
        with options, or one per level; see :func:`build_smoother`.  As in
        :class:`mgcore.sparse.MultigridSolver`, red-black Gauss-Seidel
        post-smooths red first as well (``order="red-black"``) unless
        ``order="symmetric"`` is given; ``accel="cg"`` and
        :meth:`aspreconditioner` switch to the symmetric order (black first
        after the coarse-grid correction) so that the cycle is symmetric.
    nu : int or (int, int)
        ``(nu_pre, nu_post)`` smoothing steps per level.
    cycle : {"V", "W", "F"}
        Default cycle of :meth:`solve`.
    dtype : {torch.float64, torch.float32}
        Arithmetic (ignored when ``precision`` is given).
    device : str or torch.device
    precision : {None, "float64", "float32", "mixed"}
        ``"mixed"``: float32 cycles inside a float64 residual refinement
        (``r = b - A x`` in float64, ``e = cycle_32(r)``, ``x += e``); reaches
        float64 tolerances where a float32 solve stalls.  ``None`` follows
        ``dtype``.
    cuda_graph : bool
        On a CUDA device, capture one cycle as a CUDA graph (per batch size
        and cycle kind) and replay it; the cycle has no host synchronisation.
        Ignored with a warning on other devices.
    impl, interpolation, restriction, projection, max_levels, coarse_size
        See :func:`poisson_hierarchy`.

    Attributes
    ----------
    hierarchy : mgcore.hierarchy.Hierarchy
        The levels (in the cycle precision); level 1 = ``hierarchy.levels[0]``.
    A : StencilOperator
        The fine-level operator in the outer precision.
    setup_seconds : float
    """

    def __init__(
        self,
        problem: GridProblem,
        smoother: Any = "rbgs",
        nu: Any = (2, 2),
        cycle: Any = "V",
        dtype=torch.float64,
        device="cpu",
        precision: str | None = None,
        cuda_graph: bool = False,
        impl: str = "auto",
        interpolation: str = "bilinear",
        restriction: str | None = None,
        projection: Any = "injection",
        max_levels: int | None = None,
        coarse_size: int = 500,
    ):
        t0 = time.perf_counter()
        if not isinstance(problem, GridProblem):
            raise TypeError(f"problem must be a GridProblem (see mgcore.sparse.problems), got {type(problem).__name__}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if precision is None:
            dtype = _check_dtype(dtype)
            precision = "float64" if dtype == torch.float64 else "float32"
        self.precision = precision
        self.dtype = torch.float32 if precision == "float32" else torch.float64
        self.cycle_dtype = torch.float64 if precision == "float64" else torch.float32
        self.device = _check_device(device)
        self.problem = problem
        self.shape = tuple(problem.shape)
        self.singular = problem.singular
        self.nu_pre, self.nu_post = self._parse_nu(nu)
        self.cycle_kind = CycleKind.parse(cycle)
        if not isinstance(cuda_graph, bool):
            raise TypeError(f"cuda_graph must be a bool, got {type(cuda_graph).__name__}")
        if cuda_graph and self.device.type != "cuda":
            warnings.warn(f"cuda_graph=True needs a CUDA device; running without graphs on {self.device}", stacklevel=2)
            cuda_graph = False
        self.cuda_graph = cuda_graph
        self.smoother_spec = smoother
        J = len(level_data_list(problem, max_levels, coarse_size))
        specs = parse_smoother_spec(smoother, J, SMOOTHERS)
        for name, kw in specs:
            # as mgcore.sparse.MultigridSolver: red-black post-smoothing sweeps red first as well
            # (V(2,2) factor ~0.04 instead of ~0.12); CG switches to the symmetric order
            if name == "red-black":
                kw.setdefault("order", "red-black")
        self.smoothers = specs
        self.hierarchy = poisson_hierarchy(
            problem, [(name, kw) for name, kw in specs], dtype=self.cycle_dtype, device=self.device, impl=impl, interpolation=interpolation,
            restriction=restriction, projection=projection, max_levels=max_levels, coarse_size=coarse_size,
        )
        self.J = len(self.hierarchy)
        fine = self.hierarchy.levels[0]
        if self.cycle_dtype == self.dtype:
            self.A = fine.A
        else:
            self.A = StencilOperator(fine.meta["grid"], impl=impl, dtype=self.dtype, device=self.device)
        self._graphs: dict = {}
        self._sym_posts: list | None = None
        self._symmetric = False
        self.setup_seconds = time.perf_counter() - t0

    _parse_nu = staticmethod(parse_nu_pair)

    def __repr__(self) -> str:
        lines = [
            f"TorchMultigridSolver({self.problem.name}, device={self.device}, precision={self.precision}, "
            f"cycle={self.cycle_kind.value}({self.nu_pre},{self.nu_post}), levels={self.J})"
        ]
        for l, lvl in enumerate(self.hierarchy, start=1):
            lines.append(f"  level {l}: {'x'.join(map(str, lvl.shape))}  A={lvl.A.extra_repr()}")
        return "\n".join(lines)

    # ----------------------------------------------------------------- cycles
    def _symmetric_posts(self) -> list:
        """Per level ``None`` or the black-first post-smoother that makes the cycle symmetric."""
        if self._sym_posts is None:
            posts: list = []
            for lvl, (name, kw) in zip(self.hierarchy.levels, self.smoothers):
                if name == "red-black" and kw.get("order") != "symmetric":
                    posts.append(RedBlackGaussSeidel(lvl.A.diagonal(), "black-red"))
                else:
                    posts.append(None)
            self._sym_posts = posts
        return self._sym_posts

    @contextmanager
    def symmetric_cycle(self):
        """Context in which one cycle is a symmetric operator (used by ``accel="cg"``).

        Red-black Gauss-Seidel then post-smooths black first, the adjoint of
        the red-first pre-smoothing (as :meth:`mgcore.sparse.MultigridSolver.symmetric_cycle`).
        """
        changes = [(lvl, "B_post", alt) for lvl, alt in zip(self.hierarchy.levels, self._symmetric_posts()) if alt is not None]
        with replaced(changes + [(self, "_symmetric", True)]):
            yield self

    def _run_cycle(self, kind: CycleKind, f: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        fn = _CycleFn(self.hierarchy, kind, self.nu_pre, self.nu_post)
        if not self.cuda_graph:
            return fn(f, u)
        key = (kind, tuple(f.shape), u is not None, self._symmetric)
        g = self._graphs.get(key)
        if g is None:
            g = self._graphs[key] = _GraphedCycle(fn, f, with_iterate=u is not None)
        return g(f, u)

    # ------------------------------------------------------------ input/output
    def _to_internal(self, b: Any, name: str) -> tuple[torch.Tensor, tuple]:
        """``b`` -> ``(N, 1, *shape)`` tensor in the outer dtype; plus how to give it back."""
        n = int(np.prod(self.shape))
        if isinstance(b, torch.Tensor):
            kind, t = "torch", b
        else:
            try:
                arr = np.asarray(b)
            except Exception:
                raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(b).__name__}") from None
            if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
                raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
            kind, t = "numpy", torch.as_tensor(np.ascontiguousarray(arr, dtype=np.float64))
        if t.is_complex() or not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"{name} must be real, got dtype {t.dtype}")
        shp = tuple(t.shape)
        if shp in ((n,), self.shape):
            batched, N = False, 1
        elif len(shp) >= 2 and shp[1:] in ((n,), self.shape, (1,) + self.shape):
            batched, N = True, shp[0]
        else:
            raise ValueError(
                f"{name} must have shape ({n},), {self.shape}, or a batch (N, {n}), (N, *{self.shape}) "
                f"or (N, 1, *{self.shape}); got {shp}"
            )
        if N < 1:
            raise ValueError(f"{name} must hold at least one right-hand side, got a batch of {N}")
        t = t.to(device=self.device, dtype=self.dtype).reshape((N, 1) + self.shape)
        if not bool(torch.isfinite(t).all()):
            raise ValueError(f"{name} contains NaN or Inf")
        return t, (kind, shp, batched)

    @staticmethod
    def _from_internal(x: torch.Tensor, fmt: tuple) -> Any:
        kind, shp, _ = fmt
        x = x.reshape(shp)
        return x.cpu().numpy() if kind == "numpy" else x

    def _center(self, t: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, t.dim()))
        return t - t.mean(dim=dims, keepdim=True)

    # ------------------------------------------------------------------ solve
    def solve(
        self,
        b: Any,
        x0: Any = None,
        rtol: float = 1e-8,
        atol: float = 0.0,
        maxiter: int = 100,
        cycle: Any = None,
        accel: str | None = None,
        callback: Callable[[torch.Tensor, int, float], Any] | None = None,
    ) -> SolveResult:
        """Solve ``A x = b`` for one right-hand side or a batch.

        Parameters
        ----------
        b : numpy array or torch tensor
            Flat ``(n,)``, grid-shaped ``shape``, or a batch ``(N, n)``,
            ``(N, *shape)`` or ``(N, 1, *shape)``.
        x0 : same kind as ``b``, optional
            Initial guess (default zero).
        rtol, atol : float
            Single right-hand side: stop when ``||b - A x|| <= max(rtol
            ||b - A x0||, atol)`` (as :class:`mgcore.sparse.MultigridSolver`).
            Batch, stationary: stop when every sample ``n`` has
            ``||r_n|| <= max(rtol ||r_n^0||, atol)``.
        maxiter : int
            Maximum number of cycles (or CG iterations).
        cycle : {"V", "W", "F"}, optional
            Overrides the solver's default cycle.
        accel : {None, "cg"}
            ``"cg"``: conjugate gradients preconditioned with one cycle from
            zero (needs a symmetric smoother pair: all smoothers here are).
            A batch is solved as one block-diagonal system (inner products
            over the whole batch).
        callback : callable, optional
            ``callback(x, k, res)`` after each iteration; ``x`` is the internal
            ``(N, 1, *shape)`` tensor.

        Returns
        -------
        SolveResult
            ``x`` in the layout and kind of ``b`` (numpy in, numpy out) in the
            outer precision.  ``residuals``: for one right-hand side the
            2-norms ``||b - A x_k||``; for a batch the largest relative
            residual over the batch, ``max_n ||r_n^k|| / ||r_n^0||`` (with
            ``accel="cg"``: the 2-norm of the whole batch's residual).
            ``info["residuals_per_sample"]`` holds the per-sample 2-norms
            (stationary solves).
        """
        t0 = time.perf_counter()
        if accel not in _ACCELERATIONS:
            raise ValueError(f"accel must be one of {_ACCELERATIONS}, got {accel!r}")
        check_tolerances(rtol, atol, maxiter)
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, got {type(callback).__name__}")
        kind = self.cycle_kind if cycle is None else CycleKind.parse(cycle)
        bt, fmt = self._to_internal(b, "b")
        batched = fmt[2]
        if self.singular:
            bt = self._center(bt)
        x = None
        if x0 is not None:
            x, fmt0 = self._to_internal(x0, "x0")
            if x.shape != bt.shape:
                raise ValueError(f"x0 must match b: {tuple(bt.shape)} internally, got {tuple(x.shape)}")
        with torch.no_grad():
            if accel is None:
                norm = _ResidualNorm(self.A, bt, batched, rtol, atol)
                if batched:
                    res = stationary_solve(
                        _Step(self, bt, kind), norm, x, rtol=rtol, atol=0.0 if rtol > 0 else 1e-300,
                        maxiter=maxiter, callback=callback, r0=1.0,
                    )
                else:
                    res = stationary_solve(_Step(self, bt, kind), norm, x, rtol=rtol, atol=atol, maxiter=maxiter, callback=callback)
                res.info["residuals_per_sample"] = [list(col) for col in zip(*norm.history)]
            else:
                with self.symmetric_cycle():
                    res = pcg(
                        self.A, bt, x, _Preconditioner(self, kind), _BatchDot(), rtol=rtol, atol=atol, maxiter=maxiter,
                        callback=callback,
                    )
            xt = res.x if res.x is not None else torch.zeros_like(bt)
            if self.singular:
                xt = self._center(xt)
            if self.device.type == "cuda":
                torch.cuda.synchronize(self.device)
        res.x = self._from_internal(xt, fmt)
        res.setup_seconds = self.setup_seconds
        res.solve_seconds = time.perf_counter() - t0
        res.info.update(
            cycle=kind.value, accel=accel or "none", nu_pre=self.nu_pre, nu_post=self.nu_post, levels=self.J,
            n_unknowns=int(np.prod(self.shape)), path="torch", dtype=str(self.dtype).replace("torch.", ""),
            precision=self.precision, device=str(self.device), batch=int(bt.shape[0]), batched=batched,
            cuda_graph=self.cuda_graph,
        )
        return res

    def aspreconditioner(self, cycle: Any = None) -> Callable[[torch.Tensor], torch.Tensor]:
        """One symmetric cycle from a zero guess, ``r -> e``, on ``(N, 1, *shape)`` tensors (picklable)."""
        kind = self.cycle_kind if cycle is None else CycleKind.parse(cycle)
        return _Preconditioner(self, kind, symmetric=True)
