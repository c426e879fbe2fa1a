"""The stencil-smoother file ``smoother.npz`` and its meaning (numpy only, no torch).

A *stencil smoother* is the residual correction (He & Xu, *MgNet*, 2019,
eq. 3.20) whose ``B`` is a convolution of the Jacobi-scaled residual,

.. math::  u \\leftarrow u + m_c \\odot \\big(K \\star (D^{-1}(f - A u))\\big),

``D = diag(A)``, ``K`` a ``k^d`` stencil applied as a cross-correlation
with zero padding (``(K * x)_p = sum_o K[c + o] x_{p + o}``, ``c = k // 2``;
what ``torch.nn.functional.conv2d`` computes) and ``m_c`` a colour mask
(all points, red points -- even sum of the 0-based indices -- or black
points, the colouring of :mod:`mgcore.sparse.smoothers`).  ``K`` is
dimensionless (the stencil of ``B D``), so one stencil serves every mesh
width and coefficient scale: ``K = omega delta`` is damped Jacobi, and the
red-then-black pair ``K = delta`` is red-black Gauss-Seidel for the
``(2d+1)``-point stencils.

One *smoothing step* is ``S`` such *substeps* (each with its own kernel and
colour); with ``W`` *sweeps* the ``j``-th step of a smoothing call
(``j = 0, 1, ...``, counted afresh in pre- and post-smoothing) uses sweep
``j mod W``.  A file holds ``L`` such sets, one per *level set*: level set
``i`` was trained on grids of shape ``shapes[i]`` (finest first), and a
level of shape ``s`` uses the first set whose shape is no larger than ``s``
in every direction (the last set if none is), unless the smoother option
``level`` names one.  A file trained with one set shared by all levels
(the default of :func:`mgcore_torch.learn.train_smoother`) applies it on
every level of every grid.

File layout (``numpy.savez``; read with ``allow_pickle=False``):

============ ===================================== =============================
key          dtype, shape                          meaning
============ ===================================== =============================
``format``   str                                   ``"mgcore-stencil-smoother"``
``version``  int                                   ``1``
``kernels``  float64, ``(L, W, S) + (k,) * d``     the stencils
``colours``  int8, ``(S,)``                        ``0`` all points, ``1`` red,
                                                   ``2`` black
``shapes``   int64, ``(L, d)``                     grid shape each level set
                                                   was trained on
``meta``     str (JSON)                            training information
============ ===================================== =============================

Examples
--------
>>> import os, tempfile
>>> import numpy as np
>>> from mgcore_torch.learn.format import StencilSmootherSpec, load_stencil_smoother, save_stencil_smoother
>>> spec = StencilSmootherSpec.jacobi(dim=2)
>>> spec.kernels.shape, float(spec.kernels.sum())
((1, 1, 1, 1, 1), 0.8)
>>> path = os.path.join(tempfile.mkdtemp(), "smoother.npz")
>>> save_stencil_smoother(spec, path)
>>> back = load_stencil_smoother(path)
>>> np.array_equal(back.kernels, spec.kernels), back.colours
(True, (0,))
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "FORMAT",
    "VERSION",
    "COLOURS",
    "StencilSmootherSpec",
    "save_stencil_smoother",
    "load_stencil_smoother",
    "resolve_stencil_smoother",
]

FORMAT = "mgcore-stencil-smoother"
VERSION = 1
#: colour codes of the substeps: 0 all points, 1 red (even index sum), 2 black
COLOURS = ("all", "red", "black")
_KEYS = ("format", "version", "kernels", "colours", "shapes", "meta")


def _fail(where: str, what: str) -> ValueError:
    return ValueError(f"{where}: {what}")


@dataclass(frozen=True, eq=False)
class StencilSmootherSpec:
    """A validated stencil smoother: kernels, colours, trained shapes, metadata.

    Parameters
    ----------
    kernels : array, shape ``(L, W, S) + (k,) * d``
        ``L`` level sets, ``W`` sweeps, ``S`` substeps per smoothing step,
        odd ``k``, ``d`` in 1..3; finite.
    colours : sequence of int, length ``S``
        Colour of each substep (see :data:`COLOURS`).
    shapes : sequence of tuples, length ``L``
        Grid shape each level set was trained on (finest first); ``None``:
        no preference (only for ``L = 1``).
    meta : dict
        Free-form information (JSON-serialisable).
    where : str
        Name used in error messages (the file, or ``"kernel"``).

    Raises
    ------
    ValueError
        Wrong shapes, non-finite weights, unknown colours.
    """

    kernels: np.ndarray
    colours: tuple = (0,)
    shapes: tuple | None = None
    meta: dict = field(default_factory=dict)
    where: str = "stencil smoother"

    def __post_init__(self) -> None:
        w = self.where
        try:
            K = np.array(self.kernels, dtype=np.float64)
        except (TypeError, ValueError):
            raise _fail(w, f"kernels must be an array of numbers, got {type(self.kernels).__name__}") from None
        if K.ndim not in (4, 5, 6):
            raise _fail(w, f"kernels must have shape (levels, sweeps, substeps) + (k,)*dim with dim 1..3, got {K.shape}")
        dim = K.ndim - 3
        ks = K.shape[3:]
        if len(set(ks)) != 1 or ks[0] % 2 != 1:
            raise _fail(w, f"every stencil must be k x ... x k with odd k, got {ks}")
        if min(K.shape[:3]) < 1:
            raise _fail(w, f"kernels needs at least one level set, sweep and substep, got shape {K.shape}")
        if not np.all(np.isfinite(K)):
            bad = np.argwhere(~np.isfinite(K))[0].tolist()
            raise _fail(w, f"kernels contain non-finite weights (first at index {bad})")
        cols = np.asarray(self.colours).reshape(-1)
        if cols.size != K.shape[2] or not np.issubdtype(cols.dtype, np.integer) or not np.isin(cols, (0, 1, 2)).all():
            raise _fail(w, f"colours must hold one code in {{0 (all), 1 (red), 2 (black)}} per substep "
                           f"({K.shape[2]}), got {cols.tolist()}")
        L = K.shape[0]
        if self.shapes is None:
            if L != 1:
                raise _fail(w, f"shapes (the grid of each of the {L} level sets) are needed when there is more than one")
            shapes = None
        else:
            S = np.asarray(self.shapes)
            if S.shape != (L, dim) or not np.issubdtype(S.dtype, np.integer) or np.any(S < 1):
                raise _fail(w, f"shapes must be {L} grid shapes of {dim} positive ints, got {S.tolist()}")
            shapes = tuple(tuple(int(v) for v in row) for row in S)
        K.setflags(write=False)
        object.__setattr__(self, "kernels", K)
        object.__setattr__(self, "colours", tuple(int(c) for c in cols))
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "meta", dict(self.meta))

    # ------------------------------------------------------------ builders
    @classmethod
    def jacobi(cls, dim: int = 2, omega: float | None = None) -> "StencilSmootherSpec":
        """Damped Jacobi as a ``1^d`` stencil ``omega`` (default ``2d/(2d+1)``)."""
        if isinstance(dim, bool) or dim not in (1, 2, 3):
            raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
        om = 2.0 * dim / (2.0 * dim + 1.0) if omega is None else float(omega)
        return cls(np.full((1, 1, 1) + (1,) * dim, om), (0,), None, {"init": "jacobi"}, "jacobi stencil")

    @classmethod
    def from_kernel(cls, kernel: Any, dim: int | None = None, where: str = "kernel") -> "StencilSmootherSpec":
        """One stencil for every level, sweep and point (an inline ``kernel`` option)."""
        try:
            K = np.array(kernel, dtype=np.float64)
        except (TypeError, ValueError):
            raise _fail(where, f"must be a k x k (x k) array of numbers, got {kernel!r}") from None
        if K.ndim not in (1, 2, 3) or (dim is not None and K.ndim != dim):
            want = f"{dim}-D" if dim is not None else "1-, 2- or 3-D"
            raise _fail(where, f"must be a {want} array (one k per grid direction), got shape {K.shape}")
        return cls(K.reshape((1, 1, 1) + K.shape), (0,), None, {}, where)

    # ---------------------------------------------------------- properties
    @property
    def dim(self) -> int:
        return self.kernels.ndim - 3

    @property
    def kernel_size(self) -> int:
        return int(self.kernels.shape[-1])

    @property
    def levels(self) -> int:
        return int(self.kernels.shape[0])

    @property
    def sweeps(self) -> int:
        return int(self.kernels.shape[1])

    @property
    def substeps(self) -> int:
        return int(self.kernels.shape[2])

    def select(self, shape: Any, level: int | None = None) -> int:
        """0-based level set for a grid of ``shape`` (or the 1-based ``level`` given).

        Examples
        --------
        >>> import numpy as np
        >>> s = StencilSmootherSpec(np.ones((3, 1, 1, 1, 1)), shapes=[(31, 31), (15, 15), (7, 7)])
        >>> [s.select((n, n)) for n in (1023, 31, 15, 9, 3)]
        [0, 0, 1, 2, 2]
        """
        if level is not None:
            if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or level < 1:
                raise ValueError(f"{self.where}: level must be an int >= 1 (1 = the finest level set), got {level!r}")
            if level > self.levels:
                raise ValueError(f"{self.where}: level={level} but the file holds {self.levels} level set(s)")
            return int(level) - 1
        shape = tuple(int(s) for s in shape)
        if len(shape) != self.dim:
            raise ValueError(f"{self.where}: the stencils are {self.dim}-D but the grid {shape} is {len(shape)}-D")
        if self.shapes is None:
            return 0
        for i, s in enumerate(self.shapes):
            if all(a <= b for a, b in zip(s, shape)):
                return i
        return self.levels - 1

    def level_kernels(self, shape: Any, level: int | None = None) -> np.ndarray:
        """``(W, S) + (k,) * d`` kernels of the level set for a grid of ``shape``."""
        return self.kernels[self.select(shape, level)]

    def with_meta(self, **meta: Any) -> "StencilSmootherSpec":
        """A copy with ``meta`` updated."""
        m = dict(self.meta)
        m.update(meta)
        return StencilSmootherSpec(self.kernels, self.colours, self.shapes, m, self.where)

    def work_per_step(self, row_nnz: int | None = None) -> float:
        """Multiply-adds per unknown of one smoothing step (an ideal implementation).

        Each substep forms the Jacobi-scaled residual (``row_nnz`` + 1; only on
        its colour when the kernel is ``1^d``) and applies the non-zero taps
        of its stencil on its colour; averaged over the sweeps.  Damped
        Jacobi and red-black Gauss-Seidel both cost ``row_nnz + 1``.
        """
        nnz = 2 * self.dim + 1 if row_nnz is None else int(row_nnz)
        total = 0.0
        for w in range(self.sweeps):
            for s, c in enumerate(self.colours):
                frac = 1.0 if c == 0 else 0.5
                taps = int(np.count_nonzero(self.kernels[:, w, s].reshape(self.levels, -1).any(axis=0)))
                if self.kernel_size == 1:  # residual and update on the colour only
                    total += frac * (nnz + 1)
                else:  # the residual everywhere (the stencil reads the neighbours'), the taps on the colour
                    total += (nnz + 1) + frac * taps
        return total / self.sweeps

    def describe(self) -> str:
        cols = "/".join(COLOURS[c] for c in self.colours)
        return (f"{self.kernel_size}^{self.dim} stencil, {self.levels} level set(s), {self.sweeps} sweep(s), "
                f"{self.substeps} substep(s) per step ({cols})")

    def __repr__(self) -> str:
        return f"StencilSmootherSpec({self.describe()})"


# ----------------------------------------------------------------------- I/O
def save_stencil_smoother(spec: StencilSmootherSpec, path: Any) -> None:
    """Write ``spec`` to ``path`` (``.npz``) atomically: a temporary file, then ``os.replace``.

    The file gets the usual permissions (0666 less the umask) and holds only
    numeric and string arrays (no pickles).
    """
    if not isinstance(spec, StencilSmootherSpec):
        raise TypeError(f"spec must be a StencilSmootherSpec, got {type(spec).__name__}")
    path = os.fspath(path)
    if not path.endswith(".npz"):
        raise ValueError(f"path must end in .npz (numpy.savez writes that format), got {path!r}")
    try:
        meta = json.dumps(spec.meta, allow_nan=False, default=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"spec.meta must be JSON-serialisable with finite numbers: {exc}") from None
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".npz", dir=d)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.savez(
                fh, format=np.array(FORMAT), version=np.array(VERSION, dtype=np.int64),
                kernels=np.asarray(spec.kernels, dtype=np.float64), colours=np.asarray(spec.colours, dtype=np.int8),
                shapes=np.asarray(spec.shapes if spec.shapes is not None else np.zeros((0, spec.dim)), dtype=np.int64),
                meta=np.array(meta),
            )
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_stencil_smoother(path: Any) -> StencilSmootherSpec:
    """Read and validate a stencil-smoother file (``allow_pickle=False``).

    Raises
    ------
    FileNotFoundError
        If there is no such file.
    ValueError
        If the file is not a stencil-smoother file of a supported version,
        or its arrays have the wrong shapes, dtypes or non-finite weights.
    """
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"the smoother file must be a path (str or os.PathLike), got {type(path).__name__}") from None
    where = f"smoother file {path!r}"
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where} does not exist (write one with `mgcore learn-smoother --out {path}`)")
    if not zipfile.is_zipfile(path):
        raise _fail(where, "is corrupted or not an .npz file (not a zip archive)")
    try:
        with np.load(path, allow_pickle=False) as z:
            keys = set(z.files)
            missing = [k for k in _KEYS if k not in keys]
            if missing:
                raise _fail(where, f"is not a stencil-smoother file: missing {missing}")
            arrays = {k: z[k] for k in _KEYS}
    except ValueError as exc:
        if str(exc).startswith(where):
            raise
        raise _fail(where, f"cannot be read as a stencil-smoother file ({exc})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise _fail(where, f"is corrupted or not an .npz file ({type(exc).__name__}: {exc})") from None
    fmt = arrays["format"]
    if fmt.dtype.kind != "U" or fmt.shape != () or str(fmt) != FORMAT:
        raise _fail(where, f"is not a stencil-smoother file (format {fmt!r}, expected {FORMAT!r})")
    ver = arrays["version"]
    if ver.shape != () or not np.issubdtype(ver.dtype, np.integer) or int(ver) != VERSION:
        raise _fail(where, f"has version {ver.tolist()!r}; this mgcore reads version {VERSION}")
    kernels = arrays["kernels"]
    if not np.issubdtype(kernels.dtype, np.floating):
        raise _fail(where, f"kernels must be floating point, got dtype {kernels.dtype}")
    shapes = arrays["shapes"]
    meta_arr = arrays["meta"]
    try:
        meta = json.loads(str(meta_arr)) if meta_arr.dtype.kind == "U" else None
    except json.JSONDecodeError:
        meta = None
    if not isinstance(meta, dict):
        raise _fail(where, "meta must be a JSON object")
    return StencilSmootherSpec(kernels, arrays["colours"], shapes if shapes.size else None, meta, where)


def resolve_stencil_smoother(file: Any = None, kernel: Any = None, dim: int = 2) -> StencilSmootherSpec:
    """The spec the smoother options ``file`` / ``kernel`` describe (neither: Jacobi, the trainer's start).

    Examples
    --------
    >>> resolve_stencil_smoother(kernel=[[0, 0.1, 0], [0.1, 0.6, 0.1], [0, 0.1, 0]]).kernel_size
    3
    """
    if file is not None and kernel is not None:
        raise ValueError("smoother 'stencil': give file or kernel, not both")
    if file is not None:
        spec = load_stencil_smoother(file)
    elif kernel is not None:
        spec = StencilSmootherSpec.from_kernel(kernel, dim, where="smoother 'stencil' kernel")
    else:
        return StencilSmootherSpec.jacobi(dim)
    if spec.dim != dim:
        raise ValueError(f"{spec.where}: the stencils are {spec.dim}-D but the problem is {dim}-D")
    return spec
