"""In-place colour-array kernels of the torch solver's red-black levels.

A level of the torch hierarchy pads its grid with zeros to a box whose
lengths along every axis but the first are odd.  Then the parity of a
point's flat (C-order) index is the parity of its index sum, so the red
(even index sum) and the black unknowns are the even and the odd flat
indices: each colour is stored as one contiguous array, and for a
(2d+1)-point stencil the neighbours of all points of one colour are
*shifted slices* of the other colour's array (a flat offset ``+-S_k``, odd,
becomes a compact offset ``(+-S_k + 2 par - 1) / 2``).  A Gauss-Seidel
half-sweep over one colour,

``u_p <- (f_p + sum_q w_pq u_q) / a_pp``   for every ``p`` of the colour,

is then ``2d`` contiguous in-place operations over half the unknowns, with
``D^{-1} f`` computed once per right-hand side (red-black ordering:
Trottenberg, Oosterlee & Schüller, *Multigrid*, 2001, §2.1.2 and §3.3.1).

After red-black pre-smoothing the residual of the colour swept last is zero
up to round-off, so only the other colour's residual is evaluated.  The
full-weighting restriction (the stride-2 convolution with ``K_R / 2^d`` of
He & Xu, MgNet, 2019, Lemma 4.1, eq. 4.13) and the bilinear / trilinear
prolongation (its transpose, eq. 4.7-4.9) are sums over the ``3^d`` kernel
taps: the fine points one tap away from all coarse points form one strided
view of one colour array (:meth:`LevelKernels._taps`).  The arithmetic is
that of the general path (:class:`mgcore_torch.smoothers.RedBlackGaussSeidel`,
:class:`mgcore_torch.operators.StridedConv`, ``TransposedConv``) up to the
order of the floating-point operations (and the round-off residual dropped).
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

    The padded box has an odd length along every axis but the first (one
    extra zero plane where ``n + 2`` is even), so that the parity of a point's
    flat (C-order) index within a sample is the parity of its index sum; the
    points of each flat parity are kept as one contiguous array (the colour
    arrays ``C[0]``, ``C[1]``), and the padded natural buffer ``U`` is used
    only to take an iterate in and give it back.  Buffers are allocated per
    batch size, dtype and device on first use (the last few are kept).

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

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        if any(st.get("stale") for st in self._cache.values()):
            self.sync_all()
        state["_cache"] = {}  # buffers are rebuilt on first use
        return state

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

    def _pad_flat(self) -> np.ndarray:
        """Flat indices (within a sample) of the padding of planes 1..n_0 along the axes >= 1."""
        mask = np.zeros(self.padded, dtype=bool)
        for k in range(1, self.dim):
            for sl in (slice(0, 1), slice(self.shape[k] + 1, None)):
                idx = [slice(1, self.shape[0] + 1)] + [slice(None)] * (self.dim - 1)
                idx[k] = sl
                mask[tuple(idx)] = True
        return np.flatnonzero(mask.reshape(-1))

    def _range(self, par: int) -> tuple[int, int]:
        """Compact index range of parity ``par`` covering planes 1..n_0."""
        return (self.lo_flat - par + 1) // 2, (self.hi_flat - par + 1) // 2

    def _split(self, t: torch.Tensor, par: int) -> torch.Tensor:
        """The points of flat parity ``par`` of a padded tensor, a stride-2 view ``(N, M_par)``."""
        return t.reshape(t.shape[0], -1)[:, par::2]

    def _state(self, N: int, dtype: torch.dtype, device: torch.device) -> dict:
        key = (N, dtype, device)
        st = self._cache.get(key)
        if st is not None:
            return st
        while len(self._cache) >= 4:  # keep the buffers of the last few batch sizes / dtypes
            old = self._cache.pop(next(iter(self._cache)))
            if old.get("stale"):
                self.store(old)
        d, shape, P = self.dim, self.shape, self.padded
        T = int(np.prod(P))
        U = torch.zeros((N, 1) + P, dtype=dtype, device=device)
        G = torch.zeros_like(U)
        st = {"U": U, "Ui": self._interior(U), "G": G, "Gi": self._interior(G), "g_src": None, "g_ver": None,
              "nat_ver": None, "r_pars": set()}
        C = [torch.zeros((N, (T - par + 1) // 2), dtype=dtype, device=device) for par in (0, 1)]
        Gc = [torch.zeros_like(c) for c in C]
        st["C"], st["Gc"] = C, Gc
        pads = self._pad_flat()
        offs = [s for k in range(d) for s in (-self.strides[k], self.strides[k])]
        par_of = [(d + c) % 2 for c in (0, 1)]  # flat parity of red / black
        st["par"] = par_of
        lat = []
        for par in (0, 1):
            r0, r1 = self._range(par)
            other = C[1 - par]
            e = {"r0": r0, "r1": r1, "c": C[par][:, r0:r1], "g": Gc[par][:, r0:r1],
                 "nbrs": [other[:, r0 + (o + 2 * par - 1) // 2 : r1 + (o + 2 * par - 1) // 2] for o in offs]}
            pk = pads[(pads % 2) == par]
            e["pads"] = torch.as_tensor((pk - par) // 2 - r0, dtype=torch.int64, device=device) if pk.size else None
            e["tmp"] = torch.empty((N, r1 - r0), dtype=dtype, device=device)
            e["Rout"] = None
            lat.append(e)
        st["lat"] = lat
        if not self.constant:
            W = [self._padded(w, dtype, device) for w in self._np["w"]]
            for par in (0, 1):
                r0, r1 = lat[par]["r0"], lat[par]["r1"]
                lat[par]["w"] = [self._split(w, par)[:, r0:r1].contiguous() for w in W]
                diag = self._padded(self._np["diag"], dtype, device)
                lat[par]["diag"] = self._split(diag, par)[:, r0:r1].contiguous()
            st["dinv"] = self._interior(self._padded(self._np["dinv"], dtype, device))
        if self.coarse_shape is not None:
            # residual of each colour (zero outside planes 1..n_0 and on the padding)
            st["Rc"] = [torch.zeros_like(c) for c in C]
            for par in (0, 1):
                r0, r1 = lat[par]["r0"], lat[par]["r1"]
                lat[par]["Rout"] = st["Rc"][par][:, r0:r1]
            st["fc"] = torch.empty((N, 1) + self.coarse_shape, dtype=dtype, device=device)
            if self.p == 1:  # Neumann: the prolongation reaches the padding, which is zeroed after it
                allpads = np.flatnonzero(self._interior_mask().reshape(-1) == 0)
                st["allpads"] = [
                    torch.as_tensor((allpads[(allpads % 2) == par] - par) // 2, dtype=torch.int64, device=device)
                    for par in (0, 1)
                ]
        st["Usplit"] = [self._split(U, par) for par in (0, 1)]
        st["Gsplit"] = [self._split(G, par) for par in (0, 1)]
        self._cache[key] = st
        return st

    def load(self, f: torch.Tensor, u: torch.Tensor | None) -> dict:
        """The level's state with the iterate ``u`` (``None``: zero) and ``D^{-1} f`` in the colour arrays."""
        st = self._state(f.shape[0], f.dtype, f.device)
        C = st["C"]
        if u is not None and u is not st["Ui"]:
            st["stale"] = False
        if not (u is not None and u is st["Ui"]):
            st["swept_last"] = None
        if u is None:
            C[0].zero_()
            C[1].zero_()
        elif u is not st["Ui"] or not (st.get("stale") or st["U"]._version == st["nat_ver"]):
            if u is not st["Ui"]:
                st["Ui"].copy_(u)
            for par in (0, 1):
                C[par].copy_(st["Usplit"][par])
        self._load_g(st, f)
        return st

    def _load_g(self, st: dict, f: torch.Tensor) -> None:
        # D^{-1} f, recomputed when f is another tensor or was changed in place (always on CUDA: graph capture)
        if f.is_cuda or f is not st["g_src"] or f._version != st["g_ver"]:
            if self.constant:
                torch.mul(f, 1.0 / self.centre, out=st["Gi"])
            else:
                torch.mul(f, st["dinv"], out=st["Gi"])
            for par in (0, 1):
                st["Gc"][par].copy_(st["Gsplit"][par])
            st["g_src"], st["g_ver"] = f, f._version

    def residual_norms(self, f: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
        """Per-sample ``||f - A x||_2`` from the colour arrays when ``x`` is this level's iterate, else ``None``."""
        st = self._cache.get((f.shape[0], f.dtype, f.device))
        if st is None or x is not st["Ui"] or "Rc" not in st:
            return None
        if not (st.get("stale") or st["U"]._version == st["nat_ver"]):
            return None
        if f is not st["g_src"] or f._version != st["g_ver"]:
            st["swept_last"] = None  # another right-hand side than the one smoothed for
            self._load_g(st, f)
        pars = self._residual_colours(st, st.get("swept_last"))
        norms = [torch.linalg.vector_norm(st["Rc"][par], dim=1) for par in pars]
        out = norms[0] if len(norms) == 1 else torch.hypot(norms[0], norms[1])
        return out * self.centre if self.constant else out

    def store(self, st: dict) -> torch.Tensor:
        """The iterate in the padded natural buffer; its interior view is returned."""
        for par in (0, 1):
            st["Usplit"][par].copy_(st["C"][par])
        st["nat_ver"] = st["U"]._version
        st["stale"] = False
        return st["Ui"]

    def sync_all(self) -> None:
        """Bring every natural buffer up to date."""
        for st in self._cache.values():
            if st.get("stale"):
                self.store(st)

    def sync(self, u: torch.Tensor) -> None:
        """Bring the natural buffer up to date if ``u`` is its (stale) interior view."""
        for st in self._cache.values():
            if u is st["Ui"] and st.get("stale"):
                self.store(st)

    def owns(self, x: torch.Tensor) -> bool:
        """Whether ``x`` is a view of one of this level's iterate buffers."""
        return any(x is st["Ui"] for st in self._cache.values())

    def release(self) -> None:
        """Drop the buffers (and the reference to the last right-hand side)."""
        self._cache.clear()

    # ------------------------------------------------------------------ kernels
    def half_sweep(self, st: dict, colour: int) -> None:
        """Gauss-Seidel over the points of one colour (0 red, 1 black), in place."""
        e = st["lat"][st["par"][colour]]
        c, nb, g = e["c"], e["nbrs"], e["g"]
        if self.constant:
            a = [o / self.centre for o in self.off]
            torch.add(g, nb[0], alpha=a[0], out=c)
            for q in range(1, len(nb)):
                c.add_(nb[q], alpha=a[q // 2])
            if e["pads"] is not None:
                c.index_fill_(1, e["pads"], 0.0)
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
        if nu > 0:  # the residual of the colour swept last is zero up to round-off
            st["swept_last"] = order[-1]

    def _residual_colours(self, st, last_colour) -> list:
        """The residual on the colours that need it (all, or the one not swept last, whose residual is zero up to
        round-off) into ``st["Rc"]``, the other colour's buffer zeroed if it held a residual; returns the colours."""
        pars = [0, 1] if last_colour is None else [st["par"][1 - last_colour]]
        for par in (0, 1):
            if par not in pars and par in st["r_pars"]:
                st["Rc"][par].zero_()
        for par in pars:
            self._residual_colour(st, par)
        st["r_pars"] = set(pars)
        return pars

    def _residual_colour(self, st: dict, par: int) -> None:
        """``(f - A u) / a_pp`` (constant) or ``f - A u`` at the points of flat parity ``par``."""
        e = st["lat"][par]
        t, nb = e["Rout"], e["nbrs"]
        torch.sub(e["g"], e["c"], out=t)
        if self.constant:
            a = [o / self.centre for o in self.off]
            for q in range(len(nb)):
                t.add_(nb[q], alpha=a[q // 2])
            if e["pads"] is not None:
                t.index_fill_(1, e["pads"], 0.0)
        else:
            for q, w in enumerate(e["w"]):
                t.addcmul_(w, nb[q])
            t.mul_(e["diag"])

    def _interior_mask(self) -> np.ndarray:
        m = np.zeros(self.padded, dtype=np.int8)
        m[tuple(slice(1, n + 1) for n in self.shape)] = 1
        return m

    def _taps(self):
        """``(parity, offset, weight)`` of the ``3^d`` taps of ``K_R`` around the coarse points.

        The fine point ``t`` away from coarse point ``I`` has flat index
        ``sum_k (2 I_k + 2 - p + t_k) S_k`` (``S_k`` the odd axis strides), so
        over all ``I`` the points of one tap are the strided view
        ``C_par[offset + sum_k I_k S_k]`` of one colour array.
        """
        d, p, S = self.dim, self.p, self.strides
        for t in itertools.product((-1, 0, 1), repeat=d):
            q0 = sum((2 - p + tk) * Sk for tk, Sk in zip(t, S))
            par = q0 % 2
            w = 1.0
            for tk in t:
                w *= 0.5 if tk else 1.0
            yield par, (q0 - par) // 2, w

    def _tap_view(self, c: torch.Tensor, offset: int) -> torch.Tensor:
        N = c.shape[0]
        return c.as_strided((N, 1) + self.coarse_shape, (c.stride(0), c.stride(0)) + tuple(self.strides),
                            c.storage_offset() + offset)

    def residual_restrict(self, st: dict, last_colour: int | None = None) -> torch.Tensor:
        """``R (f - A u)`` into the level's coarse buffer (returned).

        ``last_colour``: the colour of the last half-sweep, whose residual is
        zero up to round-off (Gauss-Seidel has just solved those equations)
        and is taken as zero; ``None`` computes the residual everywhere.
        """
        pars = self._residual_colours(st, last_colour)
        factor = (self.centre if self.constant else 1.0) * self.r_factor
        fc, first = st["fc"], True
        for par, off, w in self._taps():
            if par not in pars:
                continue
            v = self._tap_view(st["Rc"][par], off)
            if first:
                torch.mul(v, w * factor, out=fc)
                first = False
            else:
                fc.add_(v, alpha=w * factor)
        return fc

    def prolong_add(self, st: dict, e: torch.Tensor) -> None:
        """``u += P e`` (bilinear / trilinear interpolation, the transposed taps) on the colour arrays."""
        C = st["C"]
        for par, off, w in self._taps():
            self._tap_view(C[par], off).add_(e, alpha=w)
        if self.p == 1:
            for par in (0, 1):
                C[par].index_fill_(1, st["allpads"][par], 0.0)
        st["swept_last"] = None


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
        last = None
        if nu > 0:
            k.smooth(st, nu, self.B.red_first)
            last = 1 if self.B.red_first else 0
        fc = k.residual_restrict(st, last)
        st["stale"] = True  # the iterate lives in the colour arrays until correct_smooth
        return st["Ui"], fc

    def _general(self, f: Any, u: Any, e: Any, nu: int) -> Any:
        if self.kernels is not None and isinstance(u, torch.Tensor):
            self.kernels.sync(u)
        return super().correct_smooth(f, u, e, nu)

    def correct_smooth(self, f: Any, u: Any, e: Any, nu: int) -> Any:
        post = self.B_post if self.B_post is not None else self.B
        if self.P is None or not self._fast(f, u, post) or not isinstance(e, torch.Tensor):
            return self._general(f, u, e, nu)
        k = self.kernels
        if tuple(e.shape[2:]) != k.coarse_shape:
            return self._general(f, u, e, nu)
        st = k.load(f, u)
        k.prolong_add(st, e)
        if nu > 0:
            k.smooth(st, nu, post.red_first)
        if self.share_output:  # the driver takes it back as is; the natural buffer is synced at the end
            st["stale"] = True
            return st["Ui"]
        return k.store(st).clone()
