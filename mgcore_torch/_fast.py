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

    The padded buffers have an odd length along every axis but the first (one
    extra zero plane where ``n + 2`` is even), so that the parity of a point's
    flat (C-order) index within a sample is the parity of its index sum: the
    points of one colour are the even (or odd) flat indices, a single stride-2
    view, and their neighbours are the same view shifted by ``+-1`` or
    ``+-`` an axis stride.

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
        self.dim = d = len(self.shape)
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
        self.constant = all(c is not None for c in consts) and consts[0] != 0.0
        self.padded = tuple([self.shape[0] + 2] + [n + 2 + (n + 2 + 1) % 2 for n in self.shape[1:]])
        strides = [1] * d
        for k in range(d - 2, -1, -1):
            strides[k] = strides[k + 1] * self.padded[k + 1]
        self.strides = strides
        # flat range of the planes 1..n_0 of axis 0
        self.lo_flat, self.hi_flat = strides[0], (self.shape[0] + 1) * strides[0]
        diag = np.asarray(data.diagonal(), dtype=np.float64).reshape(self.shape)
        if self.constant:
            self.centre = float(diag.flat[0])
            self.off = [scale * c for c in consts]
            self._np = None
        else:
            # lo / hi face weight of every point along axis k (faces[k][i], faces[k][i + 1]) over diag(A)
            w = []
            for k, (f, n) in enumerate(zip(faces, self.shape)):
                w.append(scale * np.take(f, np.arange(0, n), axis=k) / diag)
                w.append(scale * np.take(f, np.arange(1, n + 1), axis=k) / diag)
            self._np = {"w": w, "diag": diag, "dinv": 1.0 / diag}
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
    def _interior(self, t: torch.Tensor) -> torch.Tensor:
        return t[(_ALL, _ALL) + tuple(slice(1, n + 1) for n in self.shape)]

    def _padded(self, a: np.ndarray, dtype, device) -> torch.Tensor:
        out = torch.zeros((1, 1) + self.padded, dtype=dtype, device=device)
        self._interior(out).copy_(torch.as_tensor(np.ascontiguousarray(a), dtype=torch.float64).reshape((1, 1) + a.shape))
        return out

    def _colour_view(self, t: torch.Tensor, colour: int, shift: int = 0) -> torch.Tensor:
        """Points of ``colour`` (0 red, 1 black) in planes 1..n_0, flat indices shifted by ``shift``."""
        flat = t.reshape(t.shape[0], -1)
        lo, hi = self.lo_flat, self.hi_flat
        a = lo + ((self.dim + colour - lo) % 2)
        m = len(range(a, hi, 2))
        return flat[:, a + shift : a + shift + 2 * m - 1 : 2]

    def _range_view(self, t: torch.Tensor, shift: int = 0) -> torch.Tensor:
        flat = t.reshape(t.shape[0], -1)
        return flat[:, self.lo_flat + shift : self.hi_flat + shift]

    def _pad_faces(self, t: torch.Tensor) -> list:
        """Views of the padding of planes 1..n_0 along the axes >= 1 (written by the flat kernels)."""
        out = []
        for k in range(1, self.dim):
            for sl in (slice(0, 1), slice(self.shape[k] + 1, None)):
                idx = [_ALL, _ALL, slice(1, self.shape[0] + 1)] + [_ALL] * (self.dim - 1)
                idx[2 + k] = sl
                out.append(t[tuple(idx)])
        return out

    def _state(self, N: int, dtype: torch.dtype, device: torch.device) -> dict:
        key = (N, dtype, device)
        st = self._cache.get(key)
        if st is not None:
            return st
        d, shape, P = self.dim, self.shape, self.padded
        U = torch.zeros((N, 1) + P, dtype=dtype, device=device)
        G = torch.zeros_like(U)
        st = {"U": U, "Ui": self._interior(U), "G": G, "Gi": self._interior(G), "g_src": None, "g_ver": None}
        offs = [s for k in range(d) for s in (-self.strides[k], self.strides[k])]
        st["pads"] = self._pad_faces(U)
        col = []
        for c in (0, 1):
            e = {"c": self._colour_view(U, c), "g": self._colour_view(G, c),
                 "nbrs": [self._colour_view(U, c, o) for o in offs]}
            if not self.constant:
                W = [self._padded(w, dtype, device) for w in self._np["w"]]
                e["w"] = [self._colour_view(w, c) for w in W]
                st.setdefault("W", W)
            col.append(e)
        st["col"] = col
        if not self.constant:
            st["dinv"] = self._interior(self._padded(self._np["dinv"], dtype, device))
        if self.coarse_shape is not None:
            R = torch.zeros_like(U)
            st["R"] = R
            st["Rr"] = self._range_view(R)
            st["Ur"], st["Gr"] = self._range_view(U), self._range_view(G)
            st["rnbrs"] = [self._range_view(U, o) for o in offs]
            st["rpads"] = self._pad_faces(R)
            if not self.constant:
                st["Wr"] = [self._range_view(w) for w in st["W"]]
                st["diagr"] = self._range_view(self._padded(self._np["diag"], dtype, device))
            # restriction intermediates: axes <= k reduced, axes > k still padded
            cs, shapes, cur = self.coarse_shape, [], list(P)
            for k in range(d):
                cur = list(cur)
                cur[k] = cs[k]
                shapes.append(tuple(cur))
            st["rbuf"] = [torch.empty((N, 1) + s, dtype=dtype, device=device) for s in shapes[:-1]]
            st["fc"] = torch.empty((N, 1) + tuple(cs), dtype=dtype, device=device)
            # prolongation: padded coarse error, then axes <= k expanded (fine, unpadded)
            st["E"] = torch.zeros((N, 1) + tuple(c + 2 for c in cs), dtype=dtype, device=device)
            pshapes, cur = [], [c + 2 for c in cs]
            for k in range(d):
                cur = list(cur)
                cur[k] = shape[k]
                pshapes.append(tuple(cur))
            st["pbuf"] = [torch.empty((N, 1) + s, dtype=dtype, device=device) for s in pshapes[:-1]]
        self._cache[key] = st
        return st

    def load(self, f: torch.Tensor, u: torch.Tensor | None) -> dict:
        """The level's state with the iterate ``u`` (``None``: zero) and ``D^{-1} f`` in the padded buffers."""
        st = self._state(f.shape[0], f.dtype, f.device)
        if u is None:
            st["Ui"].zero_()
        elif u is not st["Ui"]:
            st["Ui"].copy_(u)
        # D^{-1} f, recomputed when f is another tensor or was changed in place (always on CUDA: graph capture)
        if f.is_cuda or f is not st["g_src"] or f._version != st["g_ver"]:
            if self.constant:
                torch.mul(f, 1.0 / self.centre, out=st["Gi"])
            else:
                torch.mul(f, st["dinv"], out=st["Gi"])
            st["g_src"], st["g_ver"] = f, f._version
        return st

    def owns(self, x: torch.Tensor) -> bool:
        """Whether ``x`` is a view of one of this level's iterate buffers."""
        return any(x is st["Ui"] for st in self._cache.values())

    def release(self) -> None:
        """Drop the buffers (and the reference to the last right-hand side)."""
        self._cache.clear()

    # ------------------------------------------------------------------ kernels
    def half_sweep(self, st: dict, colour: int) -> None:
        """Gauss-Seidel over the points of one colour (0 red, 1 black), in place."""
        e = st["col"][colour]
        c, nb, g = e["c"], e["nbrs"], e["g"]
        if self.constant:
            a = [o / self.centre for o in self.off]
            torch.add(g, nb[0], alpha=a[0], out=c)
            for q in range(1, len(nb)):
                c.add_(nb[q], alpha=a[q // 2])
            for t in st["pads"]:
                t.zero_()
        else:
            w = e["w"]
            torch.addcmul(g, w[0], nb[0], out=c)
            for q in range(1, len(nb)):
                c.addcmul_(w[q], nb[q])

    def smooth(self, st: dict, nu: int, red_first: bool) -> None:
        order = (0, 1) if red_first else (1, 0)
        for _ in range(nu):
            for colour in order:
                self.half_sweep(st, colour)

    def residual_restrict(self, st: dict) -> torch.Tensor:
        """``R (f - A u)`` into the level's coarse buffer (returned)."""
        Rr, Ur, Gr, nb = st["Rr"], st["Ur"], st["Gr"], st["rnbrs"]
        d = self.dim
        if self.constant:  # (f - A u) / centre
            a = [o / self.centre for o in self.off]
            torch.sub(Gr, Ur, out=Rr)
            for q in range(len(nb)):
                Rr.add_(nb[q], alpha=a[q // 2])
            for t in st["rpads"]:
                t.zero_()
            factor = self.centre
        else:
            torch.sub(Gr, Ur, out=Rr)
            for q, w in enumerate(st["Wr"]):
                Rr.addcmul_(w, nb[q])
            Rr.mul_(st["diagr"])
            factor = 1.0
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
        x.mul_(factor * self.r_factor * 0.5**d)
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
    #: return the level's own iterate buffer from :meth:`correct_smooth` (set by the solver's driver)
    share_output: bool = False

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
            k.smooth(st, nu, self.B.red_first)
        return st["Ui"], k.residual_restrict(st)

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
            k.smooth(st, nu, post.red_first)
        return st["Ui"] if self.share_output else st["Ui"].clone()
