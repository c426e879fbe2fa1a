"""Fixed-kernel operators of the torch solver: ``A``, ``R``, ``P``, ``Pi`` and pointwise ``B``.

He & Xu, *MgNet*, 2019: the operator is the convolution ``A u = K_A * u``
with zero padding (eq. 5.4-5.5), damped Jacobi is ``K_S0 * f`` (5.6, 5.8),
the restriction a stride-2 convolution and the prolongation its transpose
(Lemma 4.1, eq. 4.12-4.14).  All read the face arrays of
:class:`mgcore.problems.grid.GridLevelData`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from mgcore.problems.grid import GridLevelData

from ._stencils import conv, conv_transpose, laplacian_kernel

#: how a constant-coefficient stencil is applied
IMPLEMENTATIONS = ("auto", "conv", "shift")

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
    :class:`mgcore.problems.grid.GridLevelData`).

    * Constant face weights (constant coefficients, Dirichlet): the kernel
      ``K_A`` of He & Xu, MgNet, 2019, eq. (5.4) (7-point in 3D), ``A u = K_A * u`` with
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

    def residual(self, f: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """``f - A u`` written into a buffer of the operator (reused by the next call).

        The same arithmetic as ``f - self(u)`` with one pass fewer and no
        allocation; for measuring residuals, not for recording gradients
        (falls back to ``f - self(u)`` when gradients are recorded).
        """
        if self.impl == "conv" or (torch.is_grad_enabled() and (f.requires_grad or u.requires_grad)):
            return f - self(u)
        out = getattr(self, "_res_buf", None)
        if out is None or out.shape != u.shape or out.dtype != u.dtype or out.device != u.device:
            out = self._res_buf = torch.empty_like(u, memory_format=torch.contiguous_format)
        nd = u.dim()
        if self.constant:
            torch.add(f, u, alpha=-self.centre, out=out)
        else:
            torch.addcmul(f, self.diag_field, u, value=-1.0, out=out)
        for d in range(self.dim):
            lo = _axis_slice(nd, d + 2, slice(0, -1))
            hi = _axis_slice(nd, d + 2, slice(1, None))
            if self.constant:
                out[lo].add_(u[hi], alpha=self.offdiag[d])
                out[hi].add_(u[lo], alpha=self.offdiag[d])
            else:
                w = getattr(self, f"face{d}")
                out[lo].addcmul_(w, u[hi])
                out[hi].addcmul_(w, u[lo])
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
    """Stride-2 convolution ``x -> K *_2 x`` (He & Xu, MgNet, 2019, eq. 4.12).

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
    trilinear interpolation, He & Xu, MgNet, 2019, eq. 4.7-4.9; the P1 "linear" variant
    with kernel 4.14), so ``P = R^T`` for the unscaled kernel (Lemma 4.1).
    """

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return conv_transpose(e, self.kernel, stride=2, padding=self.padding)


class Injection(nn.Module):
    """Nodal injection: the coarse value is the value at the coinciding fine node.

    A projection ``Pi`` of He & Xu, MgNet, 2019, eq. (4.18); equals
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

    ``w = omega / diag(A)`` is damped Jacobi (He & Xu, MgNet, 2019, eq. 5.6, kernel
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




class _AxisInterpolation(nn.Module):
    """Linear interpolation between two uniform grids that do not nest, one axis at a time.

    The weights are :func:`mgcore.sparse.transfers.interpolation_weights`
    (fine node ``j`` gets ``wlo[j] e[lo[j]] + whi[j] e[hi[j]]``); axes that
    keep their size are the identity.  Tensors are ``(N, C, *grid)``.
    """

    def __init__(self, fine_shape: tuple, coarse_shape: tuple, bc: str, dtype=torch.float64, device="cpu"):
        super().__init__()
        from mgcore.sparse.transfers import interpolation_weights  # numpy only

        self.fine_shape, self.coarse_shape = tuple(fine_shape), tuple(coarse_shape)
        self.axes = tuple(a for a, (n, c) in enumerate(zip(fine_shape, coarse_shape)) if n != c)
        dt, dev = _check_dtype(dtype), _check_device(device)
        for a in self.axes:
            lo, hi, wlo, whi = interpolation_weights(fine_shape[a], coarse_shape[a], bc)
            shape = [1] * (len(fine_shape) + 2)
            shape[a + 2] = fine_shape[a]
            self.register_buffer(f"lo{a}", torch.as_tensor(lo, device=dev))
            self.register_buffer(f"hi{a}", torch.as_tensor(hi, device=dev))
            self.register_buffer(f"wlo{a}", torch.as_tensor(wlo, dtype=dt, device=dev).reshape(shape))
            self.register_buffer(f"whi{a}", torch.as_tensor(whi, dtype=dt, device=dev).reshape(shape))

    def _w(self, a: int):
        return getattr(self, f"lo{a}"), getattr(self, f"hi{a}"), getattr(self, f"wlo{a}"), getattr(self, f"whi{a}")

    def interpolate(self, e: torch.Tensor) -> torch.Tensor:
        for a in reversed(self.axes):
            lo, hi, wlo, whi = self._w(a)
            e = wlo * e.index_select(a + 2, lo) + whi * e.index_select(a + 2, hi)
        return e

    def transpose(self, r: torch.Tensor) -> torch.Tensor:
        for a in self.axes:
            lo, hi, wlo, whi = self._w(a)
            shape = list(r.shape)
            shape[a + 2] = self.coarse_shape[a]
            out = r.new_zeros(shape)
            out.index_add_(a + 2, lo, wlo * r)
            out.index_add_(a + 2, hi, whi * r)
            r = out
        return r


class NonNestedRestriction(_AxisInterpolation):
    """Full weighting ``R = P^T prod_k h_k / H_k`` onto a uniform grid that does not nest in the fine one.

    The counterpart of :class:`StridedConv` for sizes that are not ``2^k - 1``
    (:func:`mgcore.coarsening.uniform_coarse_size`); equals
    :func:`mgcore.sparse.transfers.restriction` with ``coarse_shape``.
    """

    def __init__(self, fine_shape: tuple, coarse_shape: tuple, bc: str, dtype=torch.float64, device="cpu"):
        super().__init__(fine_shape, coarse_shape, bc, dtype, device)
        from mgcore.sparse.transfers import nonnested_scale

        self.scale = float(nonnested_scale(self.fine_shape, self.coarse_shape, bc))

    def forward(self, r: torch.Tensor) -> torch.Tensor:
        return self.scale * self.transpose(r)


class NonNestedProlongation(_AxisInterpolation):
    """Linear interpolation ``P`` from a uniform grid that does not nest in the fine one (the counterpart of
    :class:`TransposedConv`; equals :func:`mgcore.sparse.transfers.prolongation` with ``coarse_shape``)."""

    def forward(self, e: torch.Tensor) -> torch.Tensor:
        return self.interpolate(e)
