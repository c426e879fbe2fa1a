"""The fixed-kernel multigrid hierarchy of a structured problem in torch."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from mgcore.coarsening import is_nonnested_step
from mgcore.config import parse_smoother_spec
from mgcore.hierarchy import Hierarchy
from mgcore.problems.grid import GridLevelData, GridProblem

from ._fast import FusedLevel, LevelKernels, _standard_factor
from ._stencils import restriction_kernel, transfer_kernel
from .operators import (
    IMPLEMENTATIONS, Injection, MatrixOperator, NonNestedProlongation, NonNestedRestriction, StencilOperator, StridedConv,
    TransposedConv, _check_device, _check_dtype,
)
from .smoothers import SMOOTHERS, build_smoother

#: named projections ``Pi`` of the iterate (He & Xu, MgNet, 2019, eq. 6.5, 6.23-6.24)
PROJECTIONS = ("injection", "restriction", "zero")

# --------------------------------------------------------------------------- hierarchy
def level_data_list(problem: GridProblem, max_levels: int | None = None, coarse_size: int = 500) -> list[GridLevelData]:
    """Re-discretised levels of ``problem``, fine (level 1) to coarse.

    Coarsening stops once a level has at most ``coarse_size`` unknowns, when
    the grid cannot be coarsened, or at ``max_levels`` levels -- the same
    rule as :class:`mgcore.sparse.MultigridSolver`, so both backends build
    the same hierarchy.
    """
    if not isinstance(problem, GridProblem):
        raise TypeError(f"problem must be a GridProblem (see mgcore.problems), got {type(problem).__name__}")
    if max_levels is not None and (isinstance(max_levels, bool) or not isinstance(max_levels, int) or max_levels < 1):
        raise ValueError(f"max_levels must be an int >= 1 or None, got {max_levels!r}")
    if isinstance(coarse_size, bool) or not isinstance(coarse_size, int) or coarse_size < 1:
        raise ValueError(f"coarse_size must be an int >= 1, got {coarse_size!r}")
    from mgcore.coarsening import level_shapes

    # sizes that do not nest coarsen to uniform grids where the stencil can be re-discretised there
    uniform = problem.rediscretizes_nonnested(problem.level_data(), problem.shape)
    datas = problem.hierarchy_data(shapes=level_shapes(problem.shape, problem.bc, max_levels, coarse_size,
                                                       uniform_coarse=uniform))
    bad = [d.shape for d in datas if not isinstance(d, GridLevelData)]
    if bad:
        raise ValueError(
            f"grid {problem.shape} coarsens to {bad[0]}, which is not a uniform grid the torch backend can "
            "re-discretise (variable coefficients on a size that is not 2^k - 1 / 2^k + 1 per axis); use such a "
            "size, or the sparse backend (mgcore.sparse.MultigridSolver: Galerkin coarse levels)"
        )
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
    fused: bool = True,
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
        From :mod:`mgcore.problems`; coarse levels are re-discretised.
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
        ``R = P^T / 2^d`` (default; also for the P1 stiffness, whose coarse levels are scaled to match) or ``R = P^T``.
    projection : {"injection", "restriction", "zero"}, callable or list
        ``Pi`` of each non-coarsest level (used by :func:`mgcore.cycles.mgnet`;
        ``"zero"`` / ``None`` is ``Pi = 0``, eq. 6.23).  A list gives one
        entry per level ``1 .. J-1``.
    max_levels, coarse_size : see :func:`level_data_list`.
    fused : bool
        Run the red-black levels' cycle passes (smoothing, residual and
        restriction, prolongation and smoothing) as in-place strided
        kernels on padded per-level buffers (:mod:`mgcore_torch._fast`;
        default).  ``False``: the general operators for every pass.  Both
        give the same iterates up to round-off.

    Returns
    -------
    mgcore.hierarchy.Hierarchy

    Examples
    --------
    >>> import torch
    >>> from mgcore.cycles import cycle
    >>> from mgcore.problems import poisson
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
        restriction = "full-weighting"
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
    if not isinstance(fused, bool):
        raise TypeError(f"fused must be a bool, got {type(fused).__name__}")
    r_factor = _standard_factor(KR, dim) if interpolation == "bilinear" else None
    p_factor = _standard_factor(KP, dim) if interpolation == "bilinear" else None
    levels = []
    for l, data in enumerate(datas):
        A = StencilOperator(data, impl=impl, dtype=dtype, device=device)
        name, opts = specs[l]
        B = build_smoother(name, opts, A, data, post=False)
        B_post = build_smoother(name, opts, A, data, post=True) if name == "red-black" else None
        R = P = Pi = coarse = None
        if l < J - 1 and is_nonnested_step(tuple(data.shape), tuple(datas[l + 1].shape), data.bc):
            # a uniform coarse grid that does not nest (mgcore.coarsening.uniform_coarse_size)
            if interpolation != "bilinear" or restriction != "full-weighting":
                raise ValueError(f"grid {tuple(data.shape)} coarsens to the non-nested grid {tuple(datas[l + 1].shape)}: "
                                 "only interpolation='bilinear' with restriction='full-weighting' is defined there")
            R = NonNestedRestriction(data.shape, datas[l + 1].shape, data.bc, dtype=dtype, device=device)
            P = NonNestedProlongation(data.shape, datas[l + 1].shape, data.bc, dtype=dtype, device=device)
            spec = projections[l]
            Pi = R if (isinstance(spec, str) and spec == "injection") else _projection(spec, data, R, dtype, device)
        elif l < J - 1:
            R = StridedConv(KR, data.bc)
            P = TransposedConv(KP, data.bc)
            Pi = _projection(projections[l], data, R, dtype, device)
        else:
            coarse = _dense_coarse_solve(data, problem.singular, dtype, device)
        level = FusedLevel(
            A=A, B=B, R=R, Pi=Pi, P=P, B_post=B_post, coarse_solve=coarse, shape=tuple(data.shape),
            meta={"grid": data, "n": data.size, "smoother": name},
        )
        if fused and name == "red-black" and l < J - 1 and r_factor is not None and p_factor == 1.0:
            kernels = LevelKernels(data, tuple(datas[l + 1].shape), r_factor)
            if kernels.applies(tuple(datas[l + 1].shape)):
                level.kernels = kernels
        levels.append(level)
    return Hierarchy(levels)


