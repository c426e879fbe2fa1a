"""Readers of the on-disk image formats: IDX (MNIST, Fashion-MNIST) and binary CIFAR.

Nothing here downloads anything.  The readers parse the standard formats of
the data sets used in the MgNet experiments (He & Xu, "MgNet: A unified
framework of multigrid and convolutional neural network", 2019, Section 9.1:
CIFAR-10/100; He, Xu, Zhang & Zhu, "An interpretive constrained linear model
for ResNet and MgNet", 2022, Section 5: MNIST, CIFAR-10/100) and of
Fashion-MNIST, a drop-in replacement for MNIST:

* :func:`read_idx` / :func:`write_idx` -- the IDX format of MNIST /
  Fashion-MNIST (``*-idx?-ubyte``, optionally gzip-compressed);
* :func:`read_cifar_binary` -- the binary version of CIFAR-10 / CIFAR-100
  (``data_batch_*.bin``, ``test_batch.bin``, ``train.bin``, ``test.bin``).

The data-set loaders built on them are in :mod:`mgcore_torch.datasets`.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import torch

from .checkpoint import atomic_write_bytes

__all__ = ["read_idx", "write_idx", "read_cifar_binary"]

# --------------------------------------------------------------------------- IDX

# IDX type codes -> numpy big-endian dtypes
_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_IDX_CODES = {np.dtype(v).newbyteorder("=").str: k for k, v in _IDX_DTYPES.items()}

_GZIP_MAGIC = b"\x1f\x8b"


def _read_bytes(path) -> bytes:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such file: {str(path)!r}")
    with open(path, "rb") as fh:
        raw = fh.read()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{str(path)!r} is not a valid gzip file: {exc}") from exc
    return raw


def read_idx(path) -> np.ndarray:
    """Read an IDX file (MNIST / Fashion-MNIST format), plain or gzip-compressed.

    The format: two zero bytes, a type byte (0x08 uint8, 0x09 int8, 0x0B
    int16, 0x0C int32, 0x0D float32, 0x0E float64), a byte with the number
    of dimensions ``d``, ``d`` big-endian int32 sizes, then the data in
    C order, big-endian.  Compression is recognised by the gzip magic bytes,
    not by the file name.

    Parameters
    ----------
    path : str or os.PathLike
        ``*-idx3-ubyte``, ``*-idx1-ubyte`` or the same with ``.gz``.

    Returns
    -------
    numpy.ndarray
        Array of the stored shape, native byte order.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        Bad magic number, unknown type code, or a data size that does not
        match the header (truncated file or trailing bytes).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> d = tempfile.mkdtemp()
    >>> p = os.path.join(d, "x-idx3-ubyte.gz")
    >>> write_idx(p, np.arange(24, dtype=np.uint8).reshape(2, 3, 4))
    >>> read_idx(p).shape
    (2, 3, 4)
    """
    raw = _read_bytes(path)
    name = str(path)
    if len(raw) < 4:
        raise ValueError(f"{name!r} is not an IDX file: only {len(raw)} bytes, the header needs at least 4")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(
            f"{name!r} is not an IDX file: bad magic number 0x{raw[:4].hex()} (must start with two zero bytes)"
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        allowed = ", ".join(f"0x{c:02X}" for c in sorted(_IDX_DTYPES))
        raise ValueError(f"{name!r}: unknown IDX type code 0x{code:02X} in the magic number; allowed: {allowed}")
    if ndim == 0:
        raise ValueError(f"{name!r}: IDX header declares 0 dimensions")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"{name!r}: truncated IDX header ({len(raw)} bytes, {header} needed for {ndim} dimensions)")
    dims = tuple(int(v) for v in np.frombuffer(raw, dtype=">i4", count=ndim, offset=4))
    if any(d < 0 for d in dims):
        raise ValueError(f"{name!r}: negative dimension in IDX header {dims}")
    dtype = _IDX_DTYPES[code]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    got = len(raw) - header
    if got != expected:
        what = "truncated" if got < expected else "has trailing bytes"
        raise ValueError(
            f"{name!r}: IDX data {what}: header says shape {dims} of {dtype.name} = {expected} bytes, "
            f"file has {got} data bytes"
        )
    arr = np.frombuffer(raw, dtype=dtype, offset=header).reshape(dims)
    return arr.astype(dtype.newbyteorder("="), copy=True)


def write_idx(path, array) -> None:
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends with ``.gz``), atomically.

    The inverse of :func:`read_idx`; supports the IDX element types uint8,
    int8, int16, int32, float32 and float64.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.
    array : array_like
        At most 255 dimensions, each below 2**31.
    """
    arr = np.asarray(array)
    key = arr.dtype.newbyteorder("=").str
    if key not in _IDX_CODES:
        raise TypeError(
            f"array dtype {arr.dtype} has no IDX type; allowed: uint8, int8, int16, int32, float32, float64"
        )
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"array must have 1..255 dimensions, got {arr.ndim}")
    if any(s >= 2**31 for s in arr.shape):
        raise ValueError(f"array dimensions must be below 2**31, got {arr.shape}")
    code = _IDX_CODES[key]
    payload = (
        bytes([0, 0, code, arr.ndim])
        + np.asarray(arr.shape, dtype=">i4").tobytes()
        + np.ascontiguousarray(arr, dtype=_IDX_DTYPES[code]).tobytes()
    )
    if str(path).endswith(".gz"):
        payload = gzip.compress(payload, mtime=0)
    atomic_write_bytes(path, payload)


# --------------------------------------------------------------------------- CIFAR

_CIFAR_PIXELS = 3 * 32 * 32


def read_cifar_binary(path, fine_labels: bool = False, label_bytes: int | None = None):
    """Read one file of the binary CIFAR-10 / CIFAR-100 distribution.

    Each record is the label byte(s) followed by 3072 pixel bytes (1024 red,
    1024 green, 1024 blue, each 32x32 in row-major order).  CIFAR-10 records
    have one label byte (3073 bytes per record); CIFAR-100 records have a
    coarse-label byte then a fine-label byte (3074 bytes).

    Parameters
    ----------
    path : str or os.PathLike
        ``data_batch_1.bin`` ... ``test_batch.bin`` (CIFAR-10) or ``train.bin``
        / ``test.bin`` (CIFAR-100); gzip-compressed files are accepted too.
    fine_labels : bool
        CIFAR-100 only: return the 100 fine labels instead of the 20 coarse
        ones.  Implies ``label_bytes=2``.
    label_bytes : {None, 1, 2}
        Record layout: 1 for CIFAR-10, 2 for CIFAR-100.  ``None`` infers it
        from the file size (and raises if the size fits both or neither).

    Returns
    -------
    images : torch.Tensor
        uint8 ``(N, 3, 32, 32)``.
    labels : torch.Tensor
        int64 ``(N,)``.

    Raises
    ------
    ValueError
        If the file size is not a whole number of records, or a label is out
        of range (10 classes for CIFAR-10, 20 coarse / 100 fine for CIFAR-100).
    """
    if label_bytes not in (None, 1, 2):
        raise ValueError(f"label_bytes must be None, 1 (CIFAR-10) or 2 (CIFAR-100), got {label_bytes!r}")
    if not isinstance(fine_labels, bool):
        raise TypeError(f"fine_labels must be a bool, got {type(fine_labels).__name__}")
    if fine_labels:
        if label_bytes == 1:
            raise ValueError("fine_labels=True needs the CIFAR-100 layout (label_bytes=2), got label_bytes=1")
        label_bytes = 2
    raw = _read_bytes(path)
    name = str(path)
    n_bytes = len(raw)
    if n_bytes == 0:
        raise ValueError(f"{name!r} is empty")
    if label_bytes is None:
        fits = [k for k in (1, 2) if n_bytes % (k + _CIFAR_PIXELS) == 0]
        if len(fits) != 1:
            raise ValueError(
                f"{name!r}: cannot tell CIFAR-10 from CIFAR-100 by the size {n_bytes} "
                f"(records of 3073 bytes fit: {1 in fits}, of 3074 bytes: {2 in fits}); pass label_bytes=1 or 2"
            )
        label_bytes = fits[0]
    rec = label_bytes + _CIFAR_PIXELS
    if n_bytes % rec:
        raise ValueError(
            f"{name!r}: size {n_bytes} is not a multiple of the record size {rec} "
            f"({'CIFAR-100' if label_bytes == 2 else 'CIFAR-10'} layout)"
        )
    data = np.frombuffer(raw, dtype=np.uint8).reshape(-1, rec)
    if label_bytes == 1:
        labels, limit, what = data[:, 0], 10, "CIFAR-10 label"
    elif fine_labels:
        labels, limit, what = data[:, 1], 100, "CIFAR-100 fine label"
    else:
        labels, limit, what = data[:, 0], 20, "CIFAR-100 coarse label"
    if labels.size and int(labels.max()) >= limit:
        bad = int(np.flatnonzero(labels >= limit)[0])
        raise ValueError(f"{name!r}: record {bad} has {what} {int(labels[bad])}, must be < {limit}")
    images = data[:, label_bytes:].reshape(-1, 3, 32, 32).copy()
    return torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64))
