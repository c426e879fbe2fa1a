"""Image classification data for the MgNet models: readers, splits, transforms, loaders.

Nothing here downloads anything.  The readers parse the standard on-disk
formats of the data sets used in the seed papers' experiments
(003_16cadc847c125d93.txt, Section 9.1 and Table 2: CIFAR-10/100;
001_7660e105f1dc2ba9.txt, Section 5: MNIST, CIFAR-10/100;
000_6ec12cea277464e2.txt, Section 4: CIFAR-10) and of Fashion-MNIST, a
drop-in replacement for MNIST:

* :func:`read_idx` -- the IDX format of MNIST / Fashion-MNIST (``*-idx?-ubyte``,
  optionally gzip-compressed);
* :func:`read_cifar_binary` -- the binary version of CIFAR-10 / CIFAR-100
  (``data_batch_*.bin``, ``test_batch.bin``, ``train.bin``, ``test.bin``);
* :func:`load_digits_dataset` -- the 1797 8x8 grey digits shipped inside
  scikit-learn, the data set used for the small, fast experiments and tests.

Images are returned as float32 tensors of shape ``(N, C, H, W)`` scaled to
``[0, 1]`` -- the data space of the network, the right-hand side ``f`` of
the multigrid reading (003_16cadc847c125d93.txt, Section 3: an image is a
multi-channel function on a grid).  Labels are int64 tensors of shape ``(N,)``.

Transforms (:class:`Normalize`, :class:`RandomCropFlip`, :class:`Compose`)
work on a single image ``(C, H, W)`` and on a batch ``(N, C, H, W)``;
:func:`make_loaders` fetches whole batches with one indexing operation and
applies the transforms per batch, which is much faster for small images than
per-sample collation.  The training sampler :class:`EpochShuffleSampler`
derives each epoch's permutation from ``(seed, epoch)`` only, exactly like
``torch.utils.data.DistributedSampler``; the trainer calls its ``set_epoch``,
so that training is reproducible and can be resumed bit for bit.

Examples
--------
>>> train, test = load_digits_dataset(seed=0)
>>> len(train), len(test), tuple(train.images.shape[1:])
(1437, 360, (1, 8, 8))
>>> train_loader, test_loader = make_loaders((train, test), batch_size=64)
>>> x, y = next(iter(train_loader))
>>> tuple(x.shape), y.dtype
((64, 1, 8, 8), torch.int64)
"""

from __future__ import annotations

import gzip
import math
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import BatchSampler, DataLoader, Dataset, Sampler, SequentialSampler, TensorDataset

__all__ = [
    "ImageTensorDataset",
    "TransformDataset",
    "load_digits_dataset",
    "read_idx",
    "write_idx",
    "load_idx_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "read_cifar_binary",
    "load_cifar10",
    "load_cifar100",
    "load_dataset",
    "DATASETS",
    "channel_stats",
    "Normalize",
    "RandomCropFlip",
    "Compose",
    "random_crop_flip",
    "EpochShuffleSampler",
    "make_loaders",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
]

FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)
DIGIT_CLASSES = tuple(str(i) for i in range(10))

#: Default location of the Debian package ``dataset-fashion-mnist``.
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
#: Conventional location for MNIST IDX files (no Debian package ships them).
MNIST_ROOT = "/usr/share/datasets/mnist"


# --------------------------------------------------------------------------- datasets


class ImageTensorDataset(TensorDataset):
    """A :class:`torch.utils.data.TensorDataset` of ``(images, labels)`` with metadata.

    Indexing with an int gives one ``(image, label)`` pair; indexing with a
    list / tensor of indices gives a whole batch (used by :func:`make_loaders`).

    Parameters
    ----------
    images : torch.Tensor
        Float tensor ``(N, C, H, W)``.
    labels : torch.Tensor
        Int64 tensor ``(N,)`` with values in ``[0, len(classes))``.
    classes : sequence of str
        Class names; ``len(classes)`` is the number of classes.
    name : str
        Name of the data set (for logs and checkpoints).
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, classes: Sequence[str], name: str = ""):
        if not isinstance(images, torch.Tensor) or images.dim() != 4:
            raise ValueError(f"images must be a tensor of shape (N, C, H, W), got {_shape_of(images)}")
        if not isinstance(labels, torch.Tensor) or labels.dim() != 1 or labels.shape[0] != images.shape[0]:
            raise ValueError(
                f"labels must be a tensor of shape (N,) with N = {images.shape[0]}, got {_shape_of(labels)}"
            )
        super().__init__(images, labels.to(torch.int64))
        self.classes = tuple(str(c) for c in classes)
        self.name = str(name)
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= len(self.classes)):
            raise ValueError(
                f"labels must lie in [0, {len(self.classes)}) for {len(self.classes)} classes, "
                f"got range [{int(labels.min())}, {int(labels.max())}]"
            )

    @property
    def images(self) -> torch.Tensor:
        """The image tensor ``(N, C, H, W)``."""
        return self.tensors[0]

    @property
    def labels(self) -> torch.Tensor:
        """The label tensor ``(N,)``."""
        return self.tensors[1]

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.classes)

    @property
    def in_channels(self) -> int:
        """Number of image channels ``C``."""
        return int(self.images.shape[1])

    @property
    def image_size(self) -> tuple[int, int]:
        """``(H, W)``."""
        return int(self.images.shape[2]), int(self.images.shape[3])

    def __repr__(self) -> str:
        return (
            f"ImageTensorDataset(name={self.name!r}, n={len(self)}, image_shape={tuple(self.images.shape[1:])}, "
            f"classes={self.num_classes})"
        )


class TransformDataset(Dataset):
    """Apply an image transform on access: ``(transform(x), y)``.

    Works for single indices and for batch indices alike (the transforms of
    this module accept ``(C, H, W)`` and ``(N, C, H, W)``).  Metadata
    (``classes``, ``num_classes``, ``in_channels``, ``image_size``) is taken
    from the wrapped data set.

    Parameters
    ----------
    dataset : Dataset
        Returns ``(image, label)`` pairs.
    transform : callable or None
        Picklable callable (e.g. :class:`Compose`), ``None`` for identity.
    """

    def __init__(self, dataset: Dataset, transform=None):
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        self.dataset = dataset
        self.transform = transform

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index):
        x, y = self.dataset[index]
        if self.transform is not None:
            x = self.transform(x)
        return x, y

    def __getattr__(self, name):
        # only reached for attributes not found normally: forward metadata
        if name in ("classes", "num_classes", "in_channels", "image_size", "name", "images", "labels"):
            return getattr(self.__dict__["dataset"], name)
        raise AttributeError(name)


def _shape_of(x) -> str:
    return str(tuple(x.shape)) if hasattr(x, "shape") else type(x).__name__


def _stratified_split(labels: np.ndarray, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a stratified train/test split; every class keeps its share."""
    rng = np.random.RandomState(seed)
    n = labels.shape[0]
    n_test = int(math.ceil(test_fraction * n))
    classes, counts = np.unique(labels, return_counts=True)
    # largest-remainder allocation of n_test over the classes
    exact = counts * (n_test / n)
    alloc = np.floor(exact).astype(int)
    rest = n_test - int(alloc.sum())
    order = np.argsort(-(exact - alloc), kind="stable")
    alloc[order[:rest]] += 1
    test_idx = []
    for c, k in zip(classes, alloc):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        test_idx.append(idx[:k])
    test = np.sort(np.concatenate(test_idx))
    mask = np.ones(n, dtype=bool)
    mask[test] = False
    train = np.flatnonzero(mask)
    # shuffle the order within the splits so that no loader depends on the class order
    return rng.permutation(train), rng.permutation(test)


def _resize(images: torch.Tensor, size: int | None, argname: str = "size") -> torch.Tensor:
    if size is None or size == images.shape[-1]:
        return images
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or size < 1:
        raise ValueError(f"{argname} must be a positive int or None, got {size!r}")
    out = F.interpolate(images, size=(int(size), int(size)), mode="bilinear", align_corners=False)
    return out.clamp_(0.0, 1.0)


def load_digits_dataset(
    test_fraction: float = 0.2,
    seed: int = 0,
    size: int | None = None,
) -> tuple[ImageTensorDataset, ImageTensorDataset]:
    """The scikit-learn 8x8 digits as a stratified train/test split.

    1797 grey images of the digits 0-9 (16 grey levels), scaled to ``[0, 1]``
    and split with a fixed seed; with the defaults 1437 training and 360 test
    images.  Used for the small, fast MgNet experiments (the 8x8 images give a
    three-level hierarchy 8 -> 4 -> 2, 003_16cadc847c125d93.txt, Algorithm 3).

    Parameters
    ----------
    test_fraction : float
        Share of the images in the test split, in ``(0, 1)``; rounded up.
    seed : int
        Seed of the split (the same seed always gives the same split).
    size : {None, 8, 16, 32} or int
        Upsample the images to ``size x size`` with bilinear
        ``F.interpolate`` (values stay in ``[0, 1]``); ``None`` keeps 8x8.

    Returns
    -------
    train, test : ImageTensorDataset
        Images ``(N, 1, size, size)`` float32, labels ``(N,)`` int64.

    Examples
    --------
    >>> train, test = load_digits_dataset(size=16)
    >>> tuple(train.images.shape), float(train.images.max()) <= 1.0
    ((1437, 1, 16, 16), True)
    """
    if not isinstance(test_fraction, (int, float)) or not 0.0 < float(test_fraction) < 1.0:
        raise ValueError(f"test_fraction must be a float in (0, 1), got {test_fraction!r}")
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    try:
        from sklearn.datasets import load_digits
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("load_digits_dataset needs scikit-learn (pip install 'mgcore[data]')") from exc
    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float32) / 16.0
    labels = np.asarray(bunch.target, dtype=np.int64)
    train_idx, test_idx = _stratified_split(labels, float(test_fraction), int(seed))
    x = torch.from_numpy(images).unsqueeze(1)
    x = _resize(x, size)
    y = torch.from_numpy(labels)
    return (
        ImageTensorDataset(x[train_idx].contiguous(), y[train_idx], DIGIT_CLASSES, name="digits"),
        ImageTensorDataset(x[test_idx].contiguous(), y[test_idx], DIGIT_CLASSES, name="digits"),
    )


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
    """Write ``array`` as an IDX file (gzip-compressed if ``path`` ends with ``.gz``).

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
    with open(path, "wb") as fh:
        fh.write(payload)


def _find_file(root: Path, stem: str) -> Path:
    for cand in (stem + ".gz", stem):
        p = root / cand
        if p.is_file():
            return p
    raise FileNotFoundError(f"neither {stem}.gz nor {stem} found in {str(root)!r}")


def _idx_pair(images_path, labels_path, classes, name) -> ImageTensorDataset:
    images = read_idx(images_path)
    labels = read_idx(labels_path)
    if images.ndim != 3:
        raise ValueError(f"{str(images_path)!r}: image file must have 3 dimensions (N, H, W), got {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{str(labels_path)!r}: label file must have 1 dimension (N,), got {labels.shape}")
    if images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"{str(images_path)!r} has {images.shape[0]} images but {str(labels_path)!r} has {labels.shape[0]} labels"
        )
    if images.dtype != np.uint8:
        raise ValueError(f"{str(images_path)!r}: images must be uint8 (type 0x08), got {images.dtype}")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return ImageTensorDataset(x, y, classes, name=name)


def load_idx_dataset(root, classes: Sequence[str] = DIGIT_CLASSES, name: str = "mnist"):
    """Load a directory with the four MNIST-layout IDX files.

    Looks for ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each plain or
    with ``.gz``.

    Parameters
    ----------
    root : str or os.PathLike
        Directory with the files.
    classes : sequence of str
        Class names (10 for MNIST and Fashion-MNIST).
    name : str
        Data set name.

    Returns
    -------
    train, test : ImageTensorDataset
        Images ``(N, 1, 28, 28)`` float32 in ``[0, 1]``, labels int64.
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"data directory {str(root)!r} does not exist")
    out = []
    for split in ("train", "t10k"):
        ip = _find_file(root, f"{split}-images-idx3-ubyte")
        lp = _find_file(root, f"{split}-labels-idx1-ubyte")
        out.append(_idx_pair(ip, lp, classes, name))
    return out[0], out[1]


def load_fashion_mnist(root=FASHION_MNIST_ROOT):
    """Fashion-MNIST from IDX files (60000 train / 10000 test 28x28 grey images).

    Nothing is downloaded.  The Debian package ``dataset-fashion-mnist``
    installs the ``.gz`` files into ``/usr/share/datasets/fashion-mnist``;
    any directory with the MNIST file names works.

    Parameters
    ----------
    root : str or os.PathLike
        Directory with ``train-images-idx3-ubyte[.gz]`` etc.

    Returns
    -------
    train, test : ImageTensorDataset
    """
    try:
        return load_idx_dataset(root, FASHION_MNIST_CLASSES, name="fashion-mnist")
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"Fashion-MNIST not found: {exc}. Install the Debian package dataset-fashion-mnist "
            f"(files in {FASHION_MNIST_ROOT}) or pass root= a directory with the IDX files"
        ) from exc


def load_mnist(root=MNIST_ROOT):
    """MNIST from IDX files in ``root`` (same layout as :func:`load_fashion_mnist`)."""
    return load_idx_dataset(root, DIGIT_CLASSES, name="mnist")


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


def _cifar_dataset(files, fine_labels, label_bytes, classes, name) -> ImageTensorDataset:
    xs, ys = [], []
    for f in files:
        x, y = read_cifar_binary(f, fine_labels=fine_labels, label_bytes=label_bytes)
        xs.append(x)
        ys.append(y)
    x = torch.cat(xs).to(torch.float32).div_(255.0)
    return ImageTensorDataset(x, torch.cat(ys), classes, name=name)


def load_cifar10(root):
    """CIFAR-10 from the binary distribution (``cifar-10-batches-bin``).

    Parameters
    ----------
    root : str or os.PathLike
        Directory with ``data_batch_1.bin`` ... ``data_batch_5.bin`` and
        ``test_batch.bin`` (or its parent containing ``cifar-10-batches-bin``).

    Returns
    -------
    train, test : ImageTensorDataset
        Images ``(N, 3, 32, 32)`` float32 in ``[0, 1]``.
    """
    root = Path(root)
    if (root / "cifar-10-batches-bin").is_dir():
        root = root / "cifar-10-batches-bin"
    train_files = sorted(root.glob("data_batch_*.bin"))
    test_file = root / "test_batch.bin"
    if not train_files or not test_file.is_file():
        raise FileNotFoundError(f"CIFAR-10 binary files (data_batch_*.bin, test_batch.bin) not found in {str(root)!r}")
    return (
        _cifar_dataset(train_files, False, 1, CIFAR10_CLASSES, "cifar10"),
        _cifar_dataset([test_file], False, 1, CIFAR10_CLASSES, "cifar10"),
    )


def load_cifar100(root, fine_labels: bool = True):
    """CIFAR-100 from the binary distribution (``cifar-100-binary``: ``train.bin``, ``test.bin``).

    Parameters
    ----------
    root : str or os.PathLike
        Directory with ``train.bin`` and ``test.bin`` (or its parent
        containing ``cifar-100-binary``).
    fine_labels : bool
        100 fine classes (default, as in 003_16cadc847c125d93.txt, Table 2)
        or 20 coarse classes.
    """
    root = Path(root)
    if (root / "cifar-100-binary").is_dir():
        root = root / "cifar-100-binary"
    tr, te = root / "train.bin", root / "test.bin"
    if not tr.is_file() or not te.is_file():
        raise FileNotFoundError(f"CIFAR-100 binary files (train.bin, test.bin) not found in {str(root)!r}")
    n = 100 if fine_labels else 20
    classes = tuple(f"class{i}" for i in range(n))
    return (
        _cifar_dataset([tr], fine_labels, 2, classes, "cifar100"),
        _cifar_dataset([te], fine_labels, 2, classes, "cifar100"),
    )


#: Names accepted by :func:`load_dataset`.
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100")


def load_dataset(name: str, root=None, *, seed: int = 0, size: int | None = None):
    """Load a named data set as a ``(train, test)`` pair.

    Parameters
    ----------
    name : {"digits", "mnist", "fashion-mnist", "cifar10", "cifar100"}
        Data set name.
    root : str or os.PathLike, optional
        Directory of the files (not used for ``"digits"``); defaults to the
        Debian location for Fashion-MNIST.
    seed : int
        Split seed (``"digits"`` only; the others come pre-split).
    size : int, optional
        Resize the images to ``size x size`` (bilinear).

    Returns
    -------
    train, test : ImageTensorDataset
    """
    if not isinstance(name, str) or name.lower() not in DATASETS:
        raise ValueError(f"dataset name must be one of {DATASETS}, got {name!r}")
    name = name.lower()
    if name == "digits":
        return load_digits_dataset(seed=seed, size=size)
    if name in ("mnist", "fashion-mnist"):
        loader = load_mnist if name == "mnist" else load_fashion_mnist
        train, test = loader() if root is None else loader(root)
    else:
        if root is None:
            raise ValueError(f"root must be given for {name!r}: the directory with the binary CIFAR files")
        train, test = (load_cifar10 if name == "cifar10" else load_cifar100)(root)
    if size is not None:
        train, test = (
            ImageTensorDataset(_resize(d.images, size), d.labels, d.classes, d.name) for d in (train, test)
        )
    return train, test


# --------------------------------------------------------------------------- transforms


def channel_stats(dataset) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of a data set's images.

    Parameters
    ----------
    dataset : ImageTensorDataset or torch.Tensor
        A data set with ``.images`` or an image tensor ``(N, C, H, W)``.

    Returns
    -------
    mean, std : list of float
        One value per channel (population standard deviation).
    """
    x = dataset.images if hasattr(dataset, "images") else dataset
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"dataset must hold images of shape (N, C, H, W), got {_shape_of(x)}")
    x = x.to(torch.float64)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3), unbiased=False)
    return [float(v) for v in mean], [float(v) for v in std]


class Normalize:
    """Standard normalisation ``(x - mean) / std`` per channel.

    Parameters
    ----------
    mean, std : sequence of float
        One value per channel (or a single value for all); ``std > 0``.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        mean = [float(mean)] if isinstance(mean, (int, float)) else [float(m) for m in mean]
        std = [float(std)] if isinstance(std, (int, float)) else [float(s) for s in std]
        if len(mean) != len(std) or not mean:
            raise ValueError(f"mean and std must have the same non-zero length, got {len(mean)} and {len(std)}")
        if any(not (s > 0 and math.isfinite(s)) for s in std):
            raise ValueError(f"std must be positive and finite, got {std}")
        self.mean = mean
        self.std = std

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (3, 4):
            raise ValueError(f"x must have shape (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
        c = x.shape[-3]
        if len(self.mean) not in (1, c):
            raise ValueError(f"Normalize has {len(self.mean)} channel values, image has {c} channels")
        shape = (-1, 1, 1)
        m = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
        s = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(shape)
        return (x - m) / s

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def random_crop_flip(
    x: torch.Tensor, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Random crop after zero padding and random horizontal flip, per image.

    The customary CIFAR augmentation (the seed papers do not spell out their
    augmentation), vectorised over a batch: each image
    is zero-padded by ``padding`` pixels, an ``H x W`` window at a uniformly
    random offset is cut out, and with probability 1/2 it is mirrored
    left-right.

    Parameters
    ----------
    x : torch.Tensor
        ``(C, H, W)`` or ``(N, C, H, W)``.
    padding : int
        Pad width, ``>= 0``; ``0`` means no cropping.
    flip : bool
        Apply random horizontal flips.
    generator : torch.Generator, optional
        Source of randomness; default the global torch RNG (whose state the
        trainer saves in checkpoints).

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``x``.
    """
    if not isinstance(padding, (int, np.integer)) or isinstance(padding, bool) or padding < 0:
        raise ValueError(f"padding must be an int >= 0, got {padding!r}")
    single = x.dim() == 3
    if single:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"x must have shape (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
    n, c, h, w = x.shape
    dev = x.device
    if padding > 0:
        xp = F.pad(x, (padding, padding, padding, padding))
        oy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(dev)
        ox = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(dev)
        rows = (oy[:, None] + torch.arange(h, device=dev)[None, :])[:, None, :, None]
        cols = (ox[:, None] + torch.arange(w, device=dev)[None, :])[:, None, None, :]
        nidx = torch.arange(n, device=dev)[:, None, None, None]
        cidx = torch.arange(c, device=dev)[None, :, None, None]
        x = xp[nidx, cidx, rows, cols]
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        if bool(mask.any()):
            x = x.clone() if padding == 0 else x
            m = mask.to(dev)
            x[m] = x[m].flip(-1)
    return x[0] if single else x


class RandomCropFlip:
    """Picklable transform wrapping :func:`random_crop_flip` (uses the global torch RNG).

    Parameters
    ----------
    padding : int
        Zero padding before the random crop (4 for 32x32 CIFAR images, 1-2
        for 8x8 digits).
    flip : bool
        Random horizontal flips (leave off for digits: mirrored digits are
        other symbols).
    """

    def __init__(self, padding: int = 4, flip: bool = True):
        if not isinstance(padding, (int, np.integer)) or isinstance(padding, bool) or padding < 0:
            raise ValueError(f"padding must be an int >= 0, got {padding!r}")
        self.padding = int(padding)
        self.flip = bool(flip)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return random_crop_flip(x, self.padding, self.flip)

    def __repr__(self) -> str:
        return f"RandomCropFlip(padding={self.padding}, flip={self.flip})"


class Compose:
    """Apply transforms in order (a picklable list of callables)."""

    def __init__(self, transforms: Sequence):
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"every transform must be callable, got {type(t).__name__}")
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"


# --------------------------------------------------------------------------- loaders


class EpochShuffleSampler(Sampler):
    """Shuffle with a permutation that depends only on ``(seed, epoch)``.

    Like ``torch.utils.data.DistributedSampler`` with one replica: call
    :meth:`set_epoch` before each epoch (the trainer does) to get a new
    permutation; the same ``(seed, epoch)`` always gives the same order, so a
    run resumed from a checkpoint sees the same batches as an uninterrupted one.

    Parameters
    ----------
    data_source : Sized
        The data set (only its length is used).
    seed : int
        Base seed.
    shuffle : bool
        ``False`` gives the identity order.
    """

    def __init__(self, data_source, seed: int = 0, shuffle: bool = True):
        self.n = len(data_source)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of epoch ``epoch`` (0-based)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.n))
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


def _batch_loader(dataset, sampler, batch_size, drop_last, num_workers, pin_memory) -> DataLoader:
    batches = BatchSampler(sampler, batch_size=batch_size, drop_last=drop_last)
    # batch_size=None: the data set is indexed once per batch with a list of indices
    return DataLoader(
        dataset,
        sampler=batches,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=False,
    )


def make_loaders(
    dataset,
    batch_size: int = 64,
    *,
    eval_batch_size: int | None = None,
    seed: int = 0,
    augment=None,
    normalize=False,
    shuffle: bool = True,
    drop_last: bool = False,
    num_workers: int = 0,
    pin_memory: bool = False,
):
    """Training and test loaders for a ``(train, test)`` pair of data sets.

    Parameters
    ----------
    dataset : (Dataset, Dataset) or str
        A train/test pair as returned by the ``load_*`` functions, or a name
        for :func:`load_dataset`.  The data sets must accept a list of
        indices and return a batch (as :class:`ImageTensorDataset` does).
    batch_size : int
        Training batch size.
    eval_batch_size : int, optional
        Test batch size (default ``max(batch_size, 256)``).
    seed : int
        Seed of the shuffling (:class:`EpochShuffleSampler`).
    augment : None, callable or True
        Training-only transform applied per batch before normalisation;
        ``True`` means :class:`RandomCropFlip` with ``padding=4, flip=True``
        for 3-channel images and ``padding=1, flip=False`` for grey images.
    normalize : bool or (mean, std)
        ``True`` normalises with :func:`channel_stats` of the training split;
        a pair gives the values; ``False`` keeps ``[0, 1]``.
    shuffle : bool
        Shuffle the training data every epoch.
    drop_last : bool
        Drop the last incomplete training batch.
    num_workers, pin_memory
        Passed to :class:`torch.utils.data.DataLoader`.

    Returns
    -------
    train_loader, test_loader : torch.utils.data.DataLoader
        Yield ``(images, labels)`` batches.
    """
    if isinstance(dataset, str):
        dataset = load_dataset(dataset, seed=seed)
    if not isinstance(dataset, (tuple, list)) or len(dataset) != 2:
        raise TypeError(
            f"dataset must be a (train, test) pair of data sets or a name in {DATASETS}, got {type(dataset).__name__}"
        )
    train, test = dataset
    for argname, v in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
        if v is None and argname == "eval_batch_size":
            continue
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{argname} must be a positive int, got {v!r}")
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers must be an int >= 0, got {num_workers!r}")
    eval_batch_size = int(eval_batch_size or max(int(batch_size), 256))

    norm = None
    if normalize is True:
        mean, std = channel_stats(train)
        std = [s if s > 0 else 1.0 for s in std]
        norm = Normalize(mean, std)
    elif isinstance(normalize, (tuple, list)) and len(normalize) == 2:
        norm = Normalize(*normalize)
    elif normalize not in (False, None):
        raise ValueError(f"normalize must be True, False or a (mean, std) pair, got {normalize!r}")

    if augment is True:
        channels = getattr(train, "in_channels", 1)
        augment = RandomCropFlip(padding=4, flip=True) if channels == 3 else RandomCropFlip(padding=1, flip=False)
    elif augment in (False, None):
        augment = None
    elif not callable(augment):
        raise TypeError(f"augment must be None, True or a callable transform, got {type(augment).__name__}")

    train_t = [t for t in (augment, norm) if t is not None]
    test_t = [norm] if norm is not None else []
    train_ds = TransformDataset(train, Compose(train_t)) if train_t else train
    test_ds = TransformDataset(test, Compose(test_t)) if test_t else test

    train_loader = _batch_loader(
        train_ds, EpochShuffleSampler(train_ds, seed=seed, shuffle=shuffle), int(batch_size),
        drop_last, num_workers, pin_memory,
    )
    test_loader = _batch_loader(test_ds, SequentialSampler(test_ds), eval_batch_size, False, num_workers, pin_memory)
    return train_loader, test_loader


def _set_epoch(loader, epoch: int) -> None:
    """Call ``set_epoch(epoch)`` on the (possibly batched) sampler of ``loader`` if it has one."""
    seen = set()
    objs = [getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)]
    while objs:
        s = objs.pop()
        if s is None or id(s) in seen:
            continue
        seen.add(id(s))
        if hasattr(s, "set_epoch"):
            s.set_epoch(epoch)
        objs.append(getattr(s, "sampler", None))

