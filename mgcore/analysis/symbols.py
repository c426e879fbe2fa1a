"""Fourier symbols and exact spectra of stencils and periodic convolutions.

A translation-invariant operator is diagonalised by the Fourier modes
``phi_theta(x) = exp(i theta . x)`` on an infinite or periodic grid: it acts
on ``phi_theta`` by multiplication with its **symbol**.  For a scalar stencil
``(A u)(x) = sum_k a_k u(x + k)`` the symbol is the number
``A(theta) = sum_k a_k exp(i theta . k)``; for a convolution with ``C_in``
input and ``C_out`` output channels it is a ``C_out x C_in`` matrix per
frequency.  Hence, exactly:

* on an ``n_1 x ... x n_d`` periodic grid the eigenvalues of the operator are
  those of the symbol at the ``prod n_a`` frequencies ``theta = 2 pi m / n``,
  and its singular values those of the symbol matrices (Sedghi, Gupta & Long,
  *The singular values of convolutional layers*, 2019, Thm. 6);
* with Dirichlet boundary conditions, a stencil that couples only nearest
  neighbours (``|k_a| <= 1``) with coefficients symmetric under reflection in
  every axis (the 3-, 5-, 7- and 9-point Laplacians, anisotropic ones
  included) has the sine products as eigenvectors and the eigenvalues
  ``A(theta)`` at ``theta_a = j_a pi / (n_a + 1)``, ``j_a = 1 .. n_a``.

What is here:

================================ ==============================================
:class:`Stencil`                  constant-coefficient stencil: symbol, matrix
                                  (Dirichlet or periodic), explicit eigenvalues;
                                  built from a gallery problem's level
:func:`stencil_eigenvalues`       exact spectrum of a gallery problem's level
:func:`conv_symbol`               ``C_out x C_in`` symbol of a (multi-channel)
                                  convolution at every frequency (FFT of the
                                  zero-padded kernel)
:func:`conv_eigenvalues`          all eigenvalues of the periodic convolution
                                  (batched ``C x C`` eigenproblems)
:func:`conv_singular_values`      all singular values (batched SVDs)
:func:`conv_matrix`               the assembled operator (periodic or zero
                                  padding), for checks and small cases
:func:`kernel_spectrum`           the flat spectrum used to choose polynomial
                                  roots for a network's ``A`` kernel
================================ ==============================================

Convolutions follow the cross-correlation convention of deep-learning
libraries (``torch.nn.functional.conv2d``): for a weight ``W`` of shape
``(C_out, C_in, k_1, ..., k_d)`` and the centre ``c_a = (k_a - 1) // 2``
("same" padding),

.. math:: (W * u)_o(y) = \\sum_i \\sum_j W_{o,i,j}\\, u_i(y + j - c),

so the symbol is ``W(theta)_{o,i} = sum_j W_{o,i,j} exp(i theta . (j - c))``.
The ``A`` of an MgNet/Poly-MgNet level is such a 3x3 convolution (He & Xu,
*MgNet*, 2019, eq. 3.6-3.13); van Betteray, Rottmann & Kahl, *Poly-MgNet*,
2025, Fig. 3 shows the spectrum of a ``64 x 64 x 3 x 3`` one.

Cost: the eigenvalues need one dense ``C x C`` eigenproblem per frequency;
for real kernels the symbol at ``-theta`` is the complex conjugate of the
one at ``theta``, so only about half of the ``prod n_a`` frequencies are
solved.  The frequencies are processed in chunks (``max_bytes``) so that
memory stays bounded for wide layers; the chunks run on ``workers`` threads
(LAPACK releases the GIL), in complex128 or (``precision="single"``)
complex64, or through ``torch.linalg`` on a GPU (``device="cuda"``).  The
eigenproblems dominate: a ``256 x 256 x 3 x 3`` layer at ``n = 32`` is 514
non-Hermitian eigenproblems of order 256 (about 10^12 floating-point
operations), tens of seconds on one CPU core, while its singular values
(Hermitian SVDs) take a few seconds (``benchmarks/bench_symbols.py --wide``).
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np
import scipy.sparse as sp

__all__ = [
    "Stencil",
    "stencil_eigenvalues",
    "conv_symbol",
    "conv_eigenvalues",
    "conv_singular_values",
    "conv_matrix",
    "kernel_spectrum",
    "check_kernel",
    "fourier_frequencies",
]

BOUNDARIES = ("periodic", "dirichlet")
CONV_BOUNDARIES = ("periodic", "zero")


# --------------------------------------------------------------------- stencils
class Stencil:
    """A constant-coefficient stencil ``(A u)(x) = sum_k a_k u(x + k)``.

    Parameters
    ----------
    entries : mapping
        ``offset -> coefficient``; every offset is a tuple of ``d`` ints (axis
        0 first, the ``x`` axis of :mod:`mgcore.problems.grid`).
    name : str
        Label for reports.
    coarse_scale : float
        Factor by which the stencil changes when re-discretised on a grid of
        twice the mesh width: ``1/4`` for ``h^-2``-scaled second-order
        finite differences, ``1`` for the unscaled P1 stiffness (He & Xu,
        *MgNet*, 2019, eq. 5.3).

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import Stencil
    >>> S = Stencil.laplacian(2)                     # 5-point, h = 1
    >>> S.center, len(S)
    (4.0, 5)
    >>> complex(S.symbol(np.array([np.pi, np.pi])))  # 4 - 2 cos(pi) - 2 cos(pi)
    (8+0j)
    >>> np.allclose(np.sort(S.eigenvalues((3, 3)).ravel()), np.linalg.eigvalsh(S.matrix((3, 3)).toarray()))
    True
    """

    def __init__(self, entries: Mapping[tuple, Any], name: str = "stencil", coarse_scale: float = 0.25):
        if not isinstance(entries, Mapping) or not entries:
            raise ValueError(f"entries must be a non-empty mapping offset -> coefficient, got {entries!r}")
        offs, vals = [], []
        for k, v in entries.items():
            k = (k,) if isinstance(k, (int, np.integer)) else tuple(k)
            if not k or not all(isinstance(c, (int, np.integer)) and not isinstance(c, bool) for c in k):
                raise ValueError(f"stencil offsets must be tuples of ints, got {k!r}")
            offs.append(tuple(int(c) for c in k))
            vals.append(complex(v) if isinstance(v, complex) else float(v))
        d = len(offs[0])
        if any(len(k) != d for k in offs):
            raise ValueError(f"all stencil offsets must have the same length, got {sorted(set(map(len, offs)))}")
        if len(set(offs)) != len(offs):
            raise ValueError("stencil offsets must be distinct")
        if not all(np.isfinite(v) for v in vals):
            raise ValueError("stencil coefficients must be finite")
        self.offsets = np.array(offs, dtype=np.int64).reshape(len(offs), d)
        self.values = np.array(vals)
        self.name = str(name)
        self.coarse_scale = float(coarse_scale)

    # ------------------------------------------------------------ builders
    @classmethod
    def laplacian(cls, dim: int = 2, h: float = 1.0, weights: Sequence[float] | None = None) -> "Stencil":
        """The ``2 dim + 1``-point stencil of ``-sum_a w_a d_aa`` (``h^-2`` scaled).

        ``weights = (eps, 1)`` gives the anisotropic ``-(eps u_xx + u_yy)``.
        """
        if isinstance(dim, bool) or dim not in (1, 2, 3):
            raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
        w = (1.0,) * dim if weights is None else tuple(float(x) for x in weights)
        if len(w) != dim or not all(x > 0 for x in w):
            raise ValueError(f"weights must hold {dim} positive numbers, got {weights!r}")
        if not (h > 0):
            raise ValueError(f"h must be > 0, got {h!r}")
        s = 1.0 / (h * h)
        entries: dict = {(0,) * dim: 2.0 * s * sum(w)}
        for a in range(dim):
            for sgn in (-1, 1):
                k = [0] * dim
                k[a] = sgn
                entries[tuple(k)] = -s * w[a]
        return cls(entries, name=f"laplacian{dim}d", coarse_scale=0.25)

    @classmethod
    def from_level(cls, data: Any, name: str = "level") -> "Stencil":
        """The stencil of a constant-coefficient level (:class:`~mgcore.problems.GridLevelData`).

        Raises
        ------
        ValueError
            If the level's face weights are not one constant per direction
            (variable coefficients, Neumann boundaries).
        """
        dim = len(data.shape)
        w = getattr(data, "uniform", None)
        if w is None:
            if getattr(data, "bc", None) != "dirichlet":
                raise ValueError(
                    f"a stencil (and an explicit spectrum) needs a constant-coefficient Dirichlet level; this one has "
                    f"bc={getattr(data, 'bc', None)!r}"
                )
            w = []
            for ax, f in enumerate(data.faces):
                f = np.asarray(f)
                if f.size == 0 or not np.all(f == f.flat[0]):
                    raise ValueError(
                        "a stencil (and an explicit spectrum) needs constant coefficients; this level's face weights "
                        f"vary along direction {ax}"
                    )
                w.append(float(f.flat[0]))
        s = float(data.scale)
        entries: dict = {(0,) * dim: 2.0 * s * sum(w)}
        for a in range(dim):
            for sgn in (-1, 1):
                k = [0] * dim
                k[a] = sgn
                entries[tuple(k)] = -s * float(w[a])
        fd = abs(s * float(data.h) ** 2 - 1.0) < 1e-9  # h^-2 scaled; else the unscaled P1 stiffness
        return cls(entries, name=name, coarse_scale=0.25 if fd else 1.0)

    @classmethod
    def from_problem(cls, problem: Any, level: int = 1) -> "Stencil":
        """Stencil of level ``level`` (1 = finest) of a gallery problem (re-discretised levels)."""
        return cls.from_level(problem_level(problem, level), name=f"{getattr(problem, 'name', 'problem')} level {level}")

    # ---------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        return int(self.offsets.shape[1])

    def __len__(self) -> int:
        return int(self.offsets.shape[0])

    def __repr__(self) -> str:
        return f"Stencil({self.name!r}, dim={self.dim}, points={len(self)}, center={self.center!r})"

    def entries(self) -> dict:
        """``offset -> coefficient`` as a plain dict."""
        return {tuple(int(c) for c in k): v.item() for k, v in zip(self.offsets, self.values)}

    @property
    def center(self) -> Any:
        """Coefficient at offset 0 (the diagonal of the matrix)."""
        hit = np.flatnonzero(~self.offsets.any(axis=1))
        return self.values[hit[0]].item() if hit.size else 0.0

    def scaled(self, c: float) -> "Stencil":
        """``c A``."""
        return Stencil({k: c * v for k, v in self.entries().items()}, self.name, self.coarse_scale)

    def part(self, mask: np.ndarray) -> "Stencil | None":
        """The sub-stencil of the offsets where ``mask`` is true (``None`` if empty)."""
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return None
        return Stencil({tuple(int(c) for c in k): v.item() for k, v in zip(self.offsets[mask], self.values[mask])},
                       self.name, self.coarse_scale)

    def coarse(self) -> "Stencil":
        """The stencil re-discretised on the grid of twice the mesh width (``coarse_scale``)."""
        return Stencil({k: self.coarse_scale * v for k, v in self.entries().items()}, self.name + " (coarse)",
                       self.coarse_scale)

    @property
    def is_symmetric(self) -> bool:
        """``a_k = a_{-k}`` for every offset (a symmetric matrix, real symbol)."""
        e = self.entries()
        return all(abs(e.get(tuple(-c for c in k), 0.0) - v) <= 1e-14 * max(abs(v), 1.0) for k, v in e.items())

    def _sine_diagonalisable(self) -> bool:
        e = self.entries()
        if any(abs(c) > 1 for k in e for c in k):
            return False
        for k, v in e.items():
            for a in range(self.dim):
                m = list(k)
                m[a] = -m[a]
                if abs(e.get(tuple(m), 0.0) - v) > 1e-14 * max(abs(v), 1.0):
                    return False
        return True

    # --------------------------------------------------------------- maths
    def symbol(self, theta: Any) -> np.ndarray:
        """``A(theta) = sum_k a_k exp(i theta . k)`` for ``theta`` of shape ``(..., d)``."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.shape[-1:] != (self.dim,):
            raise ValueError(f"theta must have shape (..., {self.dim}), got {theta.shape}")
        return np.exp(1j * (theta @ self.offsets.T)) @ self.values

    def matrix(self, shape: Sequence[int], bc: str = "dirichlet") -> sp.csr_matrix:
        """Assemble the stencil on a grid (C-order flattening, axis 0 slowest).

        ``bc="dirichlet"``: neighbours outside the grid are dropped (zero
        boundary values, as in :mod:`mgcore.problems.grid`);
        ``bc="periodic"``: indices wrap around.
        """
        shape = _check_shape(shape, self.dim)
        if bc not in BOUNDARIES:
            raise ValueError(f"bc must be one of {BOUNDARIES}, got {bc!r}")
        N = int(np.prod(shape))
        idx = np.indices(shape).reshape(self.dim, N).T
        flat = np.arange(N)
        rows, cols, vals = [], [], []
        for k, v in zip(self.offsets, self.values):
            nb = idx + k
            if bc == "periodic":
                nb = nb % np.array(shape)
                keep = np.ones(N, dtype=bool)
            else:
                keep = np.all((nb >= 0) & (nb < np.array(shape)), axis=1)
            rows.append(flat[keep])
            cols.append(np.ravel_multi_index(tuple(nb[keep].T), shape))
            vals.append(np.full(int(keep.sum()), v))
        A = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(N, N)).tocsr()
        A.sum_duplicates()
        return A

    def eigenvalues(self, shape: Sequence[int], bc: str = "dirichlet") -> np.ndarray:
        """Exact eigenvalues of :meth:`matrix` ``(shape, bc)``, one per grid point.

        Returns an array of ``shape``: entry ``j`` is the eigenvalue of the
        mode with frequency ``theta_a = (j_a + 1) pi / (n_a + 1)``
        (Dirichlet, sine modes) or ``theta_a = 2 pi j_a / n_a`` (periodic,
        Fourier modes).  Dirichlet needs a nearest-neighbour stencil that is
        symmetric under reflection in every axis (the gallery's Laplacians).
        """
        shape = _check_shape(shape, self.dim)
        if bc not in BOUNDARIES:
            raise ValueError(f"bc must be one of {BOUNDARIES}, got {bc!r}")
        theta = fourier_frequencies(shape, bc)
        if bc == "dirichlet" and not self._sine_diagonalisable():
            raise ValueError(
                "explicit Dirichlet spectra need a nearest-neighbour stencil symmetric in every axis (sine modes are "
                "then eigenvectors); use bc='periodic' or the dense mgcore.analysis.eigenvalues"
            )
        lam = self.symbol(theta)
        if self.is_symmetric and not np.iscomplexobj(self.values):
            lam = lam.real
        return lam


def fourier_frequencies(shape: Sequence[int], bc: str = "periodic") -> np.ndarray:
    """The frequencies ``theta`` (array ``shape + (d,)``) whose modes diagonalise a grid operator.

    ``"periodic"``: ``theta_a = 2 pi j_a / n_a``, ``j_a = 0 .. n_a - 1``;
    ``"dirichlet"``: ``theta_a = (j_a + 1) pi / (n_a + 1)`` (sine modes).
    """
    shape = tuple(int(n) for n in shape)
    if bc == "periodic":
        axes = [2.0 * np.pi * np.arange(n) / n for n in shape]
    elif bc == "dirichlet":
        axes = [np.pi * np.arange(1, n + 1) / (n + 1) for n in shape]
    else:
        raise ValueError(f"bc must be one of {BOUNDARIES}, got {bc!r}")
    return np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1)


def _check_shape(shape: Any, dim: int) -> tuple:
    if isinstance(shape, (int, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),) * dim
    try:
        shape = tuple(int(n) for n in shape)
    except TypeError:
        raise TypeError(f"shape must be an int or a tuple of {dim} ints, got {shape!r}") from None
    if len(shape) != dim or any(n < 1 for n in shape):
        raise ValueError(f"shape must hold {dim} positive ints, got {shape!r}")
    return shape


def problem_level(problem: Any, level: int = 1) -> Any:
    """Level data (1 = finest) of a :class:`~mgcore.problems.GridProblem`, re-discretised."""
    if isinstance(level, bool) or not isinstance(level, int) or level < 1:
        raise ValueError(f"level must be an int >= 1 (1 = finest), got {level!r}")
    data = problem.level_data()
    for _ in range(level - 1):
        data = problem.coarse_data(data)
    return data


def stencil_eigenvalues(problem: Any, level: int = 1, bc: str | None = None) -> np.ndarray:
    """Exact eigenvalues (ascending, flat) of level ``level`` of a constant-coefficient gallery problem.

    Parameters
    ----------
    problem : GridProblem
        ``poisson1d/2d/3d``, ``anisotropic2d``, ``poisson2d`` with FEM, ...
        (Dirichlet, constant coefficient).
    level : int
        1 = finest; coarser levels are re-discretised as the solver does.
    bc : {None, "dirichlet", "periodic"}
        ``None``: the problem's own (Dirichlet); ``"periodic"``: the same
        stencil on the periodic grid of the same shape.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.problems import poisson2d
    >>> from mgcore.analysis import stencil_eigenvalues
    >>> p = poisson2d(n=7)
    >>> lam = stencil_eigenvalues(p)
    >>> np.allclose(lam, np.linalg.eigvalsh(p.level_data().matrix().toarray()))
    True
    """
    data = problem_level(problem, level)
    S = Stencil.from_level(data)
    lam = S.eigenvalues(data.shape, bc or "dirichlet").ravel()
    return np.sort(lam) if not np.iscomplexobj(lam) else lam[np.lexsort((lam.imag, lam.real))]


# ----------------------------------------------------------------- convolutions
def check_kernel(weight: Any, dim: int | None = None, square: bool = False, name: str = "weight") -> np.ndarray:
    """Validate a convolution weight; return it as ``(C_out, C_in, k_1, ..., k_d)``.

    ``weight`` may be a numpy array or anything with ``.detach().cpu().numpy()``
    (a torch tensor).  ``dim=None`` infers ``d = weight.ndim - 2`` (rank 3, 4
    or 5); with ``dim`` given a rank-``dim`` array is one single-channel kernel.
    """
    if hasattr(weight, "detach") and hasattr(weight, "cpu"):
        weight = weight.detach().cpu().numpy()
    try:
        W = np.asarray(weight)
    except Exception:
        raise TypeError(f"{name} must be an array, got {type(weight).__name__}") from None
    if not (np.issubdtype(W.dtype, np.number) or W.dtype == bool) or W.dtype == bool:
        raise TypeError(f"{name} must be a real or complex numeric array, got dtype {W.dtype}")
    if dim is None:
        if W.ndim not in (3, 4, 5):
            raise ValueError(
                f"{name} must have rank 3, 4 or 5 (C_out, C_in, k_1[, k_2[, k_3]]), got rank {W.ndim} with shape "
                f"{W.shape}; pass dim= for a single-channel kernel"
            )
        dim = W.ndim - 2
    else:
        if isinstance(dim, bool) or dim not in (1, 2, 3):
            raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
        if W.ndim == dim:
            W = W.reshape((1, 1) + W.shape)
        elif W.ndim != dim + 2:
            raise ValueError(
                f"{name} must have rank {dim + 2} (C_out, C_in, k_1, ..., k_{dim}) or {dim} (one single-channel "
                f"kernel) for dim={dim}, got rank {W.ndim} with shape {W.shape}"
            )
    if W.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {W.shape}")
    if not np.all(np.isfinite(W)):
        raise ValueError(f"{name} contains NaN or Inf")
    if square and W.shape[0] != W.shape[1]:
        raise ValueError(
            f"eigenvalues need square channel blocks (C_out == C_in), got {name} of shape {W.shape} "
            f"(C_out={W.shape[0]}, C_in={W.shape[1]}); singular values work for any shape"
        )
    if not np.iscomplexobj(W):
        W = W.astype(np.float64, copy=False)
    return W


def _conv_setup(weight, n, center, square):
    W = check_kernel(weight, None if np.ndim(weight) >= 3 else 2, square=square)
    d = W.ndim - 2
    n = _check_shape(n, d)
    ks = W.shape[2:]
    if center is None:
        c = tuple((k - 1) // 2 for k in ks)
    else:
        try:
            c = (int(center),) * d if np.isscalar(center) else tuple(int(v) for v in center)
        except (TypeError, ValueError):
            raise TypeError(f"center must be an int or a tuple of {d} ints, got {center!r}") from None
        if len(c) != d or any(not 0 <= ci < k for ci, k in zip(c, ks)):
            raise ValueError(f"center must lie inside the kernel {ks}, got {c}")
    taps = np.indices(ks).reshape(d, -1).T - np.array(c)  # (T, d) offsets j - c
    Wt = W.reshape(W.shape[0], W.shape[1], -1)  # (Co, Ci, T)
    return W, Wt, taps, n, c


def conv_symbol(weight: Any, n: Any, center: Any = None) -> np.ndarray:
    """The ``C_out x C_in`` symbol of a convolution at every frequency of an ``n``-periodic grid.

    Computed as the (inverse) FFT of the kernel zero-padded to the grid (taps
    wrap around if the kernel is larger than the grid).

    Parameters
    ----------
    weight : array
        ``(C_out, C_in, k_1, ..., k_d)``, ``d = 1, 2, 3``.
    n : int or tuple of int
        Grid points per dimension.
    center : int or tuple, optional
        Kernel entry applied to ``u(y)`` itself; default ``(k - 1) // 2``.

    Returns
    -------
    ndarray
        Complex, shape ``(n_1, ..., n_d, C_out, C_in)``; entry ``m`` is the
        symbol at ``theta = 2 pi m / n``.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import conv_symbol
    >>> W = np.zeros((1, 1, 3, 3)); W[0, 0] = [[0, -1, 0], [-1, 4, -1], [0, -1, 0]]
    >>> S = conv_symbol(W, 4)
    >>> S.shape, complex(S[2, 2, 0, 0])                 # theta = (pi, pi): 4 + 2 + 2
    ((4, 4, 1, 1), (8+0j))
    """
    W, Wt, taps, n, c = _conv_setup(weight, n, center, square=False)
    d = len(n)
    Z = np.zeros(W.shape[:2] + n, dtype=np.complex128 if np.iscomplexobj(W) else np.float64)
    pos = taps % np.array(n)
    for t in range(taps.shape[0]):
        Z[(slice(None), slice(None)) + tuple(pos[t])] += Wt[:, :, t]
    axes = tuple(range(2, 2 + d))
    S = np.fft.ifftn(Z, axes=axes) * float(np.prod(n))  # sum_x Z[x] exp(+2 pi i m x / n)
    return np.moveaxis(S, (0, 1), (-2, -1))


def _frequency_chunks(n: tuple, real: bool) -> tuple:
    """Frequency indices to solve (one of each conjugate pair for real kernels) and their mirrors."""
    N = int(np.prod(n))
    m = np.indices(n).reshape(len(n), N).T
    flat = np.arange(N)
    if not real:
        return m, flat, None
    mirror = np.ravel_multi_index(tuple(((-m) % np.array(n)).T), n)
    rep = flat <= mirror
    return m[rep], flat[rep], mirror[rep]


#: Precisions of the batched eigen/singular-value solves: LAPACK's complex128 or complex64 routines.
PRECISIONS = ("double", "single")


def _check_spectral_options(precision: Any, workers: Any, device: Any) -> None:
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer)) or workers < 1):
        raise ValueError(f"workers must be an int >= 1 or None (one per CPU core), got {workers!r}")
    if device is not None and not isinstance(device, str) and type(device).__name__ != "device":
        raise TypeError(f"device must be None (numpy) or a torch device such as 'cpu' or 'cuda', got {device!r}")


def _torch_solver(kind: str, device: Any, precision: str):
    """``symbol chunk -> values`` through ``torch.linalg`` on ``device`` (batched on a GPU)."""
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is an optional dependency
        raise ImportError("device= needs PyTorch: pip install 'mgcore[torch]'") from exc
    dev = torch.device(device)
    cdt = torch.complex64 if precision == "single" else torch.complex128

    def solve(sym: np.ndarray) -> np.ndarray:
        t = torch.from_numpy(np.ascontiguousarray(sym)).to(device=dev, dtype=cdt)
        vals = torch.linalg.eigvals(t) if kind == "eig" else torch.linalg.svdvals(t)
        return vals.cpu().numpy()

    return solve


def _batched(W, Wt, taps, n, fn, out_cols, out_dtype, max_bytes, conj_out, precision="double", workers=None):
    """Evaluate ``fn(symbol chunk)`` over all frequencies, using conjugate symmetry for real kernels.

    The chunks are independent; ``workers`` threads solve them concurrently
    (LAPACK releases the GIL), each chunk's symbols in ``precision``.
    """
    real = not np.iscomplexobj(W)
    m, flat, mirror = _frequency_chunks(n, real)
    Co, Ci = W.shape[:2]
    F = m.shape[0]
    if workers is None:
        import os

        workers = max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1, 8))
    per = max(1, int(max_bytes // max(16 * Co * Ci * 3, 1)))
    per = max(1, min(per, -(-F // workers)))  # at least one chunk per worker
    N = int(np.prod(n))
    out = np.empty((N, out_cols), dtype=out_dtype)
    theta_all = 2.0 * np.pi * m / np.array(n)
    cdt = np.complex64 if precision == "single" else np.complex128

    def chunk(s):
        th = theta_all[s:s + per]
        phase = np.exp(1j * (th @ taps.T))  # (F, T)
        sym = np.tensordot(phase, Wt, axes=([1], [2])).astype(cdt, copy=False)  # (F, Co, Ci)
        vals = fn(sym)
        idx = flat[s:s + per]
        out[idx] = vals
        if mirror is not None:
            mi = mirror[s:s + per]
            out[mi] = np.conj(vals) if conj_out else vals

    starts = range(0, F, per)
    if workers == 1 or len(starts) == 1:
        for s in starts:
            chunk(s)
    else:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=workers) as ex:
            list(ex.map(chunk, starts))
    return out.reshape(n + (out_cols,))


def conv_eigenvalues(weight: Any, n: Any, center: Any = None, max_bytes: float = 2**27, precision: str = "double",
                     workers: int | None = None, device: Any = None) -> np.ndarray:
    """All eigenvalues of the periodic convolution on an ``n``-grid, exactly.

    One ``C x C`` eigenproblem per frequency (batched through
    :func:`numpy.linalg.eigvals`), half of them for real kernels (the symbol
    at ``-theta`` is the conjugate of the one at ``theta``).

    Parameters
    ----------
    weight : array
        ``(C, C, k_1, ..., k_d)`` (square channel blocks).
    n : int or tuple of int
        Grid points per dimension.
    center : int or tuple, optional
        See :func:`conv_symbol`.
    max_bytes : float
        Memory for one chunk of symbol matrices.
    precision : {"double", "single"}
        LAPACK's complex128 (default, ~1e-13 accurate) or complex64 routines
        (about twice as fast, ~1e-5 relative).
    workers : int, optional
        Threads solving chunks of frequencies concurrently (default: one per
        available CPU core, at most 8).
    device : str or torch.device, optional
        Solve with ``torch.linalg.eigvals`` on this device instead of numpy
        (e.g. ``"cuda"``: the batched eigenproblems of a wide layer on a GPU).

    Returns
    -------
    ndarray
        Complex, shape ``(n_1, ..., n_d, C)``: the ``C`` eigenvalues of the
        symbol at frequency ``2 pi m / n``; ``C prod(n)`` eigenvalues in all.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import conv_eigenvalues, conv_matrix
    >>> W = np.random.default_rng(0).standard_normal((2, 2, 3, 3))
    >>> lam = conv_eigenvalues(W, 4).ravel()
    >>> dense = np.linalg.eigvals(conv_matrix(W, 4).toarray())
    >>> lam.size, bool(np.abs(np.sort_complex(lam) - np.sort_complex(dense)).max() < 1e-10)
    (32, True)
    """
    _check_spectral_options(precision, workers, device)
    W, Wt, taps, n, _ = _conv_setup(weight, n, center, square=True)
    fn = np.linalg.eigvals if device is None else _torch_solver("eig", device, precision)
    out_dtype = np.complex64 if precision == "single" else np.complex128
    return _batched(W, Wt, taps, n, fn, W.shape[0], out_dtype, max_bytes, conj_out=True, precision=precision,
                    workers=1 if device is not None else workers)


def conv_singular_values(weight: Any, n: Any, center: Any = None, max_bytes: float = 2**27, precision: str = "double",
                         workers: int | None = None, device: Any = None) -> np.ndarray:
    """All singular values of the periodic convolution on an ``n``-grid (Sedghi, Gupta & Long, 2019).

    Works for any ``C_out x C_in``.  Returns shape ``(n_1, ..., n_d,
    min(C_out, C_in))``, descending per frequency; the operator norm is
    ``.max()``.  ``precision``, ``workers`` and ``device`` as in
    :func:`conv_eigenvalues`.

    Examples
    --------
    >>> import numpy as np
    >>> from mgcore.analysis import conv_singular_values, conv_matrix
    >>> W = np.random.default_rng(1).standard_normal((3, 2, 3, 3))
    >>> s = np.sort(conv_singular_values(W, 4).ravel())
    >>> dense = np.linalg.svd(conv_matrix(W, 4).toarray(), compute_uv=False)
    >>> bool(np.abs(s - np.sort(dense)).max() < 1e-10)
    True
    """
    _check_spectral_options(precision, workers, device)
    W, Wt, taps, n, _ = _conv_setup(weight, n, center, square=False)
    fn = _svdvals if device is None else _torch_solver("svd", device, precision)
    out_dtype = np.float32 if precision == "single" else np.float64
    return _batched(W, Wt, taps, n, fn, min(W.shape[:2]), out_dtype, max_bytes, conj_out=False, precision=precision,
                    workers=1 if device is not None else workers)


def _svdvals(S: np.ndarray) -> np.ndarray:
    return np.linalg.svd(S, compute_uv=False)


def conv_matrix(weight: Any, n: Any, center: Any = None, boundary: str = "periodic") -> sp.csr_matrix:
    """The convolution as a sparse matrix on an ``n``-grid.

    Unknowns are ordered channel-major and then C-order over the grid (the
    layout of a flattened ``(C, n_1, ..., n_d)`` array, as in torch's NCHW).
    ``boundary="periodic"`` wraps around (circular padding), ``"zero"`` drops
    taps outside the grid (zero padding, ``nn.Conv2d(padding=k//2)``).
    """
    if boundary not in CONV_BOUNDARIES:
        raise ValueError(f"boundary must be one of {CONV_BOUNDARIES}, got {boundary!r}")
    W, Wt, taps, n, _ = _conv_setup(weight, n, center, square=False)
    d = len(n)
    Co, Ci = W.shape[:2]
    N = int(np.prod(n))
    pts = np.indices(n).reshape(d, N).T
    rows, cols, vals = [], [], []
    o_idx, i_idx = np.meshgrid(np.arange(Co), np.arange(Ci), indexing="ij")
    o_idx, i_idx = o_idx.ravel(), i_idx.ravel()
    for t in range(taps.shape[0]):
        nb = pts + taps[t]
        if boundary == "periodic":
            nb = nb % np.array(n)
            keep = np.arange(N)
        else:
            keep = np.flatnonzero(np.all((nb >= 0) & (nb < np.array(n)), axis=1))
        if keep.size == 0:
            continue
        src = np.ravel_multi_index(tuple(nb[keep].T), n)
        w = Wt[o_idx, i_idx, t]
        rows.append((o_idx[:, None] * N + keep[None, :]).ravel())
        cols.append((i_idx[:, None] * N + src[None, :]).ravel())
        vals.append(np.repeat(w, keep.size))
    A = sp.coo_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(Co * N, Ci * N))
    A = A.tocsr()
    A.sum_duplicates()
    return A


def kernel_spectrum(weight: Any, n: Any = 32, boundary: str = "periodic", center: Any = None,
                    max_dense: int = 4096) -> np.ndarray:
    """The spectrum (flat, complex) of a square convolution on an ``n``-grid.

    ``boundary="periodic"``: exact, from the symbol (:func:`conv_eigenvalues`);
    ``"zero"``: the zero-padded operator of ``nn.Conv2d(padding=k//2)``,
    dense, for ``C prod(n) <= max_dense`` only.  The periodic spectrum is
    the usual stand-in for the zero-padded one on large grids (both
    operators differ only in the boundary rows).
    """
    if boundary not in CONV_BOUNDARIES:
        raise ValueError(f"boundary must be one of {CONV_BOUNDARIES}, got {boundary!r}")
    if boundary == "periodic":
        return conv_eigenvalues(weight, n, center=center).ravel()
    W = check_kernel(weight, None if np.ndim(weight) >= 3 else 2, square=True)
    nn_ = _check_shape(n, W.ndim - 2)
    size = W.shape[0] * int(np.prod(nn_))
    if size > max_dense:
        raise ValueError(
            f"boundary='zero' assembles a dense matrix of size {size} > max_dense = {max_dense}; use a smaller n, "
            "raise max_dense, or boundary='periodic' (exact from the symbol)"
        )
    return np.linalg.eigvals(conv_matrix(W, nn_, center=center, boundary="zero").toarray())

