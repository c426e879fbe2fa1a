"""Fixed convolution kernels of the Poisson multigrid (He & Xu, MgNet, 2019, §4-§5).

Every kernel is returned as a torch tensor of shape ``(1, 1, 3, ..., 3)``
(one input and one output channel), ready for ``conv{1,2,3}d``:

=============================== ===============================================
:func:`laplacian_kernel`         ``K_A`` of He & Xu, MgNet, 2019, eq. (5.4), ``A u = K_A * u``
                                 with zero padding (5.5); 3/5/7-point in 1/2/3D
:func:`transfer_kernel`          ``K_R`` of Lemma 4.1: eq. (4.13) (bilinear)
                                 or (4.14) (linear); tensor products in 1D/3D
:func:`restriction_kernel`       ``K_R / 2^d`` (full weighting) or ``K_R``
:func:`jacobi_kernels`           ``K_S0`` and ``K_S1`` of eq. (5.8)-(5.9)
:func:`colour_masks`             red/black masks (red = even ``i + j (+ k)``)
=============================== ===============================================

Indexing follows :mod:`mgcore.problems.grid`: C order, ``x`` = axis 0 of the
grid, which is axis 2 of an ``(N, 1, H, W)`` tensor.  Torch convolutions are
cross-correlations; all kernels here are symmetric under the point reflection
``k -> -k``, so correlation and convolution coincide.
"""

from __future__ import annotations

import itertools

import torch
import torch.nn.functional as F

__all__ = [
    "laplacian_kernel",
    "transfer_kernel",
    "restriction_kernel",
    "jacobi_kernels",
    "colour_masks",
    "conv",
    "conv_transpose",
]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_T = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


def _check_dim(dim: int) -> int:
    if isinstance(dim, bool) or dim not in (1, 2, 3):
        raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
    return dim


def conv(x: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """``conv{d}d`` chosen by the kernel's number of spatial dimensions."""
    return _CONV[kernel.dim() - 2](x, kernel, stride=stride, padding=padding)


def conv_transpose(x: torch.Tensor, kernel: torch.Tensor, stride: int = 2, padding: int = 0) -> torch.Tensor:
    """``conv_transpose{d}d`` chosen by the kernel's number of spatial dimensions."""
    return _CONV_T[kernel.dim() - 2](x, kernel, stride=stride, padding=padding)


def laplacian_kernel(weights, scale: float = 1.0, dtype=torch.float64, device=None) -> torch.Tensor:
    """The (2d+1)-point stencil ``K_A`` for constant face weights.

    ``(A u)_p = scale * sum_d w_d (2 u_p - u_{p-e_d} - u_{p+e_d})``; with
    ``weights = (1, 1)`` and ``scale = 1`` this is ``K_A`` of He & Xu, MgNet, 2019,
    eq. (5.4), the P1 finite-element stiffness (5.3) and (times ``h^-2``)
    the 5-point finite-difference Laplacian.

    Parameters
    ----------
    weights : sequence of float
        Face weight per direction (``(eps, 1)`` for ``-(eps u_xx + u_yy)``).
    scale : float
        Factor in front (``h^-2`` for finite differences).

    Examples
    --------
    >>> laplacian_kernel((1.0, 1.0))[0, 0]
    tensor([[ 0., -1.,  0.],
            [-1.,  4., -1.],
            [ 0., -1.,  0.]], dtype=torch.float64)
    """
    weights = [float(w) for w in weights]
    dim = _check_dim(len(weights))
    K = torch.zeros((3,) * dim, dtype=torch.float64)
    centre = (1,) * dim
    K[centre] = scale * 2.0 * sum(weights)
    for d, w in enumerate(weights):
        for s in (0, 2):
            idx = list(centre)
            idx[d] = s
            K[tuple(idx)] = -scale * w
    return K.to(dtype=dtype, device=device).reshape((1, 1) + (3,) * dim)


def transfer_kernel(dim: int, interpolation: str = "bilinear", dtype=torch.float64, device=None) -> torch.Tensor:
    """Kernel ``K_R`` of He & Xu, MgNet, 2019, Lemma 4.1 (unscaled: ``R = P^T``).

    ``"bilinear"``: the tensor product of ``(1/2, 1, 1/2)`` (eq. 4.13 in 2D,
    trilinear in 3D).  ``"linear"`` (2D only): eq. (4.14), the transpose of
    the P1 interpolation whose cell diagonals run from ``(i+1, j)`` to
    ``(i, j+1)`` (second case of eq. 4.9).  The prolongation is the
    transposed stride-2 convolution with the same kernel.

    Examples
    --------
    >>> transfer_kernel(2, "linear")[0, 0]
    tensor([[0.0000, 0.5000, 0.5000],
            [0.5000, 1.0000, 0.5000],
            [0.5000, 0.5000, 0.0000]], dtype=torch.float64)
    """
    _check_dim(dim)
    if interpolation not in ("bilinear", "linear"):
        raise ValueError(f"interpolation must be 'bilinear' or 'linear', got {interpolation!r}")
    k1 = torch.tensor([0.5, 1.0, 0.5], dtype=torch.float64)
    K = k1
    for _ in range(dim - 1):
        K = torch.tensordot(K, k1, dims=0)
    if interpolation == "linear":
        if dim != 2:
            raise ValueError("interpolation='linear' (He & Xu, MgNet, 2019, eq. 4.14) is defined for dim=2 only")
        K = torch.tensor([[0.0, 0.5, 0.5], [0.5, 1.0, 0.5], [0.5, 0.5, 0.0]], dtype=torch.float64)
    return K.to(dtype=dtype, device=device).reshape((1, 1) + (3,) * dim)


def restriction_kernel(
    dim: int, interpolation: str = "bilinear", scaling: str = "full-weighting", dtype=torch.float64, device=None
) -> torch.Tensor:
    """``K_R / 2^d`` (``scaling="full-weighting"``) or ``K_R`` (``"transpose"``).

    Full weighting with the bilinear kernel is ``K_R / 4`` in 2D, i.e.
    ``R = P^T / 4`` as in :func:`mgcore.sparse.transfers.restriction`.
    """
    if scaling not in ("full-weighting", "transpose"):
        raise ValueError(f"scaling must be 'full-weighting' or 'transpose', got {scaling!r}")
    K = transfer_kernel(dim, interpolation, dtype=dtype, device=device)
    return K * (0.5**dim) if scaling == "full-weighting" else K


def jacobi_kernels(omega: float, dtype=torch.float64, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``K_S0`` and ``K_S1`` of He & Xu, MgNet, 2019, eq. (5.8)-(5.9).

    One damped Jacobi step from zero for ``K_A * u = f`` (5.4) is
    ``S_0 f = K_S0 * f`` with ``K_S0 = omega/4`` (5.6, 5.8); two steps give
    ``S_1 f = K_S1 * f`` (5.7, 5.9), both with zero padding (5.10).

    Returns
    -------
    (K_S0, K_S1) : tensors of shape ``(1, 1, 1, 1)`` and ``(1, 1, 3, 3)``
    """
    w = float(omega)
    K0 = torch.full((1, 1, 1, 1), w / 4.0, dtype=dtype, device=device)
    a, c = w * w / 16.0, w * (2.0 - w) / 4.0
    K1 = torch.tensor([[0.0, a, 0.0], [a, c, a], [0.0, a, 0.0]], dtype=dtype, device=device).reshape(1, 1, 3, 3)
    return K0, K1


def colour_masks(shape, dtype=torch.float64, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Red and black masks of a grid, shape ``(1, 1, *shape)``.

    Red points have an even sum of their 0-based indices ``i + j (+ k)``;
    black points an odd one.  For the (2d+1)-point stencil the red unknowns
    couple only to black ones, so a red (black) half-sweep of Gauss-Seidel is
    a masked Jacobi step.
    """
    shape = tuple(int(s) for s in shape)
    parity = torch.zeros(shape, dtype=torch.int64)
    for d, n in enumerate(shape):
        view = [1] * len(shape)
        view[d] = n
        parity = parity + torch.arange(n).reshape(view)
    red = (parity % 2 == 0).to(dtype)
    return red.reshape((1, 1) + shape).to(device), (1 - red).reshape((1, 1) + shape).to(device)


def kernel_taps(kernel: torch.Tensor):
    """Yield ``(offset, value)`` for the non-zero taps of a ``3^d`` kernel (offset in ``{-1,0,1}^d``)."""
    K = kernel.reshape(kernel.shape[2:])
    for idx in itertools.product(range(3), repeat=K.dim()):
        v = float(K[idx])
        if v != 0.0:
            yield tuple(i - 1 for i in idx), v
