"""In-place strided kernels of the torch solver's red-black V-cycle levels.

A level of the torch hierarchy keeps its iterate in a zero-padded buffer
``U`` of shape ``(N, 1, n_1 + 2, ..., n_d + 2)``.  For a (2d+1)-point stencil
the red (even index sum) and black unknowns form ``2^(d-1)`` stride-2
sub-lattices each, and their neighbours are shifted stride-2 views of the
same buffer, so a Gauss-Seidel half-sweep over one colour is

``u_p <- (f_p + sum_q w_pq u_q) / a_pp``   for every ``p`` of the colour,

a handful of in-place operations on views that touch only that colour and
allocate nothing (the red-black ordering of Trottenberg, Oosterlee & Schüller,
*Multigrid*, 2001, §2.1 / §3.3.1, written with strided views).  The residual
``f - A u`` is written into a zero-padded buffer, restricted by full weighting
(the stride-2 convolution with ``K_R / 2^d`` of He & Xu, MgNet, 2019,
Lemma 4.1, eq. 4.13) as one separable three-tap sum per axis, and the
bilinear prolongation (its transpose, eq. 4.7-4.9) is added into the interior
of ``U`` in the same separable way.  The arithmetic is that of the general
path (:class:`mgcore_torch.smoothers.RedBlackGaussSeidel`,
:class:`mgcore_torch.operators.StridedConv`, ``TransposedConv``) up to the
order of the floating-point operations.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import torch

from mgcore.hierarchy import Level
from mgcore.problems.grid import GridLevelData

from ._stencils import transfer_kernel

__all__ = ["FusedLevel", "LevelKernels"]

_ALL = slice(None)


def _stride2_sizes(n: int, bc: str) -> tuple[int, int]:
    """(coarse size of the stride-2 conv, fine size of its transpose) for one axis."""
    p = 0 if bc == "dirichlet" else 1
    nc = (n + 2 * p - 3) // 2 + 1
    return nc, (nc - 1) * 2 - 2 * p + 3


def _standard_factor(kernel: torch.Tensor, dim: int) -> float | None:
    """``s`` if ``kernel == s * K_R`` (bilinear / trilinear), else ``None``."""
    K = transfer_kernel(dim, "bilinear", dtype=torch.float64)
    k = kernel.detach().to(device="cpu", dtype=torch.float64)
    if k.shape != K.shape:
        return None
    s = float(k.reshape(-1)[(K.numel() - 1) // 2])
    return s if torch.allclose(k, s * K, rtol=1e-12, atol=0.0) else None


class LevelKernels:
    """Buffers and strided kernels of one level (constant or variable coefficients).

    Parameters
    ----------
    data : GridLevelData
        Face arrays of the level.
    coarse_shape : tuple or None
        Shape of the next coarser level (``None`` on the coarsest level).
    r_factor : float
        ``R = r_factor * K_R`` (``0.5^d`` for full weighting).
    """

    def __init__(self, data: GridLevelData, coarse_shape: tuple | None, r_factor: float = 1.0):
        self.shape = tuple(int(s) for s in data.shape)
        self.dim = len(self.shape)
        self.bc = data.bc
        self.coarse_shape = None if coarse_shape is None else tuple(int(s) for s in coarse_shape)
        self.r_factor = float(r_factor)
        self.p = 0 if self.bc == "dirichlet" else 1
        scale = float(data.scale)
        faces = [np.asarray(w, dtype=np.float64) for w in data.faces]
        consts = []
        for w in faces:
            v = float(w.flat[0])
            consts.append(v if np.all(w == v) else None)
        self.constant = all(c is not None for c in consts)
        d = self.dim
        # lo / hi face weight of every point along axis k: faces[k][i] and faces[k][i + 1]
        lo = [scale * np.take(w, np.arange(0, n), axis=k) for k, (w, n) in enumerate(zip(faces, self.shape))]
        hi = [scale * np.take(w, np.arange(1, n + 1), axis=k) for k, (w, n) in enumerate(zip(faces, self.shape))]
        diag = np.asarray(data.diagonal(), dtype=np.float64).reshape(self.shape)
        self._np = {"lo": lo, "hi": hi, "diag": diag}
        if self.constant:
            self.centre = float(diag.flat[0])
            self.off = [scale * c for c in consts]
        # sub-lattices: parity tuple -> colour (0 red, 1 black)
        self.lattices = [
            par for par in itertools.product((0, 1), repeat=d) if all(n > q for n, q in zip(self.shape, par))
        ]
        self._cache: dict = {}

    # ------------------------------------------------------------------ checks
    def applies(self, coarse_level_shape: tuple | None) -> bool:
        if coarse_level_shape is None:
            return True
        for n, nc in zip(self.shape, coarse_level_shape):
            c, f = _stride2_sizes(n, self.bc)
            if c != nc or f != n:
                return False
        return True

    # ------------------------------------------------------------------ buffers
    def _state(self, N: int, dtype: torch.dtype, device: torch.device) -> dict:
        key = (N, dtype, device)
        st = self._cache.get(key)
        if st is not None:
            return st
        d, shape = self.dim, self.shape
        U = torch.zeros((N, 1) + tuple(n + 2 for n in shape), dtype=dtype, device=device)
        st = {"U": U, "Ui": U[(_ALL, _ALL) + (slice(1, -1),) * d]}
        lat = {}
        for par in self.lattices:
            c = (_ALL, _ALL) + tuple(slice(1 + q, n + 1, 2) for q, n in zip(par, shape))
            nbrs = []
            for k in range(d):
                for off in (0, 2):
                    idx = [_ALL, _ALL] + [slice(1 + q, n + 1, 2) for q, n in zip(par, shape)]
                    idx[2 + k] = slice(off + par[k], shape[k] + off, 2)
                    nbrs.append(U[tuple(idx)])
            fs = (Ellipsis,) + tuple(slice(q, None, 2) for q in par)
            entry = {"c": U[c], "nbrs": nbrs, "fs": fs, "colour": sum(par) % 2}
            if not self.constant:
                sub = tuple(slice(q, None, 2) for q in par)
                dinv = 1.0 / self._np["diag"][sub]
                ws = []
                for k in range(d):
                    ws.append(self._t(self._np["lo"][k][sub] * dinv, dtype, device))
                    ws.append(self._t(self._np["hi"][k][sub] * dinv, dtype, device))
                entry["w"] = ws
                entry["dinv"] = self._t(dinv, dtype, device)
            lat[par] = entry
        st["lat"] = lat
        if self.coarse_shape is not None:
            R = torch.zeros_like(U)
            st["R"] = R
            st["Ri"] = R[(_ALL, _ALL) + (slice(1, -1),) * d]
            full_nbrs = []
            for k in range(d):
                for off in (0, 2):
                    idx = [_ALL, _ALL] + [slice(1, -1)] * d
                    idx[2 + k] = slice(off, shape[k] + off)
                    full_nbrs.append(U[tuple(idx)])
            st["full_nbrs"] = full_nbrs
            if not self.constant:
                st["diag"] = self._t(self._np["diag"], dtype, device)
                st["wfull"] = [
                    self._t(a, dtype, device) for k in range(d) for a in (self._np["lo"][k], self._np["hi"][k])
                ]
            # restriction intermediates: axis k reduced, axes > k still padded
            cs, shapes = self.coarse_shape, []
            cur = [n + 2 for n in shape]
            for k in range(d):
                cur = list(cur)
                cur[k] = cs[k]
                shapes.append(tuple(cur))
            st["rbuf"] = [torch.empty((N, 1) + s, dtype=dtype, device=device) for s in shapes[:-1]]
            st["fc"] = torch.empty((N, 1) + tuple(cs), dtype=dtype, device=device)
            # prolongation: padded coarse error, then axis k expanded (fine, unpadded)
            st["E"] = torch.zeros((N, 1) + tuple(c + 2 for c in cs), dtype=dtype, device=device)
            pshapes, cur = [], [c + 2 for c in cs]
            for k in range(d):
                cur = list(cur)
                cur[k] = shape[k]
                pshapes.append(tuple(cur))
            st["pbuf"] = [torch.empty((N, 1) + s, dtype=dtype, device=device) for s in pshapes[:-1]]
        self._cache[key] = st
        return st

    def _t(self, a: np.ndarray, dtype, device) -> torch.Tensor:
        return torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64).to(dtype=dtype, device=device).reshape(
            (1, 1) + a.shape
        )

    def load(self, f: torch.Tensor, u: torch.Tensor | None) -> dict:
        """The level's state with the iterate ``u`` (``None``: zero) in the padded buffer."""
        st = self._state(f.shape[0], f.dtype, f.device)
        if u is None:
            st["Ui"].zero_()
        elif u is not st["Ui"]:
            st["Ui"].copy_(u)
        return st

    # ------------------------------------------------------------------ kernels
    def half_sweep(self, st: dict, f: torch.Tensor, colour: int) -> None:
        """Gauss-Seidel over the points of one colour (0 red, 1 black), in place."""
        for par, e in st["lat"].items():
            if e["colour"] != colour:
                continue
            c, nb, fs = e["c"], e["nbrs"], f[e["fs"]]
            if self.constant:
                off, d = self.off, self.dim
                torch.add(nb[0], nb[1], out=c)
                for k in range(1, d):
                    a = off[k] / off[0]
                    c.add_(nb[2 * k], alpha=a).add_(nb[2 * k + 1], alpha=a)
                c.mul_(off[0] / self.centre).add_(fs, alpha=1.0 / self.centre)
            else:
                w = e["w"]
                torch.mul(fs, e["dinv"], out=c)
                for q in range(len(nb)):
                    c.addcmul_(w[q], nb[q])

    def smooth(self, st: dict, f: torch.Tensor, nu: int, red_first: bool) -> None:
        order = (0, 1) if red_first else (1, 0)
        for _ in range(nu):
            for colour in order:
                self.half_sweep(st, f, colour)

    def residual_restrict(self, st: dict, f: torch.Tensor) -> torch.Tensor:
        """``R (f - A u)`` into the level's coarse buffer (returned)."""
        Ri, Ui, nb = st["Ri"], st["Ui"], st["full_nbrs"]
        d = self.dim
        if self.constant:
            off = self.off
            torch.add(nb[0], nb[1], out=Ri)
            for k in range(1, d):
                a = off[k] / off[0]
                Ri.add_(nb[2 * k], alpha=a).add_(nb[2 * k + 1], alpha=a)
            Ri.mul_(off[0]).add_(Ui, alpha=-self.centre).add_(f)
        else:
            torch.addcmul(f, st["diag"], Ui, value=-1.0, out=Ri)
            w = st["wfull"]
            for q in range(2 * d):
                Ri.addcmul_(w[q], nb[q])
        s, x = 1 - self.p, st["R"]
        for k in range(d):
            out = st["fc"] if k == d - 1 else st["rbuf"][k]
            nc = self.coarse_shape[k]

            def tap(t, x=x, k=k, nc=nc):
                idx = [_ALL] * x.dim()
                idx[2 + k] = slice(s + t, s + t + 2 * nc - 1, 2)
                return x[tuple(idx)]

            torch.add(tap(0), tap(2), out=out)
            out.add_(tap(1), alpha=2.0)
            x = out
        x.mul_(self.r_factor * 0.5**d)
        return x

    def prolong_add(self, st: dict, e: torch.Tensor) -> None:
        """``U_interior += P e`` (bilinear / trilinear interpolation)."""
        E, d, p = st["E"], self.dim, self.p
        E[(_ALL, _ALL) + (slice(1, -1),) * d].copy_(e)
        x = E
        for k in range(d):
            n = self.shape[k]
            last = k == d - 1
            y = st["Ui"] if last else st["pbuf"][k]
            n_odd = len(range(1 - p, n, 2))
            n_even = len(range(p, n, 2))

            def sl(t, a, b, step=None, k=k):
                idx = [_ALL] * t.dim()
                idx[2 + k] = slice(a, b, step)
                return t[tuple(idx)]

            y_odd, y_even = sl(y, 1 - p, None, 2), sl(y, p, None, 2)
            src_odd = sl(x, 1, 1 + n_odd)
            src_a, src_b = sl(x, p, p + n_even), sl(x, p + 1, p + 1 + n_even)
            if last:
                y_odd.add_(src_odd)
                y_even.add_(src_a, alpha=0.5).add_(src_b, alpha=0.5)
            else:
                y_odd.copy_(src_odd)
                torch.add(src_a, src_b, out=y_even)
                y_even.mul_(0.5)
            x = y


class FusedLevel(Level):
    """A :class:`mgcore.hierarchy.Level` whose V/W/F-cycle passes run in place.

    :meth:`smooth_restrict` and :meth:`correct_smooth` use the strided
    kernels of :class:`LevelKernels` when the level's smoother is red-black
    Gauss-Seidel, its transfers the bilinear (trilinear) full-weighting pair
    and no gradient is being recorded; otherwise (and for every other
    operation) the general path of :class:`mgcore.hierarchy.Level` runs.
    """

    kernels: Any = None

    def _fast(self, f: Any, u: Any, smoother: Any) -> bool:
        from .smoothers import RedBlackGaussSeidel

        if self.kernels is None or not isinstance(f, torch.Tensor) or not isinstance(smoother, RedBlackGaussSeidel):
            return False
        if f.dim() != 2 + self.kernels.dim or tuple(f.shape[1:]) != (1,) + self.kernels.shape:
            return False
        if torch.is_grad_enabled() and (f.requires_grad or (isinstance(u, torch.Tensor) and u.requires_grad)):
            return False
        return u is None or (isinstance(u, torch.Tensor) and u.dtype == f.dtype and u.shape == f.shape)

    def smooth_restrict(self, f: Any, u: Any, nu: int) -> tuple[Any, Any]:
        if self.R is None or not self._fast(f, u, self.B):
            return super().smooth_restrict(f, u, nu)
        k = self.kernels
        st = k.load(f, u)
        if nu > 0:
            k.smooth(st, f, nu, self.B.red_first)
        return st["Ui"], k.residual_restrict(st, f)

    def correct_smooth(self, f: Any, u: Any, e: Any, nu: int) -> Any:
        post = self.B_post if self.B_post is not None else self.B
        if self.P is None or not self._fast(f, u, post) or not isinstance(e, torch.Tensor):
            return super().correct_smooth(f, u, e, nu)
        k = self.kernels
        if tuple(e.shape[2:]) != k.coarse_shape:
            return super().correct_smooth(f, u, e, nu)
        st = k.load(f, u)
        k.prolong_add(st, e)
        if nu > 0:
            k.smooth(st, f, nu, post.red_first)
        return st["Ui"].clone()
