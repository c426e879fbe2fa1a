"""Image classification data sets for the MgNet models: splits, readers, metadata.

Images are float32 tensors of shape ``(N, C, H, W)`` scaled to ``[0, 1]`` --
the data space of the network, the right-hand side ``f`` of the multigrid
reading (He & Xu, "MgNet: A unified framework of multigrid and convolutional
neural network", 2019, Section 3: an image is a multi-channel function on a
grid).  Labels are int64 tensors of shape ``(N,)``.

* :func:`load_digits_dataset` -- the 1797 8x8 grey digits shipped inside
  scikit-learn, the data set of the small, fast experiments and tests;
* :func:`load_fashion_mnist`, :func:`load_mnist`, :func:`load_idx_dataset` --
  IDX directories (Fashion-MNIST from the Debian package
  ``dataset-fashion-mnist`` by default);
* :func:`load_cifar10`, :func:`load_cifar100` -- the binary CIFAR files;
* :func:`load_dataset` -- any of them by name.

Nothing is downloaded.  The file formats are read by
:mod:`mgcore_torch.readers`; transforms are in :mod:`mgcore_torch.transforms`
and loaders in :mod:`mgcore_torch.loaders`.

Examples
--------
>>> train, test = load_digits_dataset(seed=0)
>>> len(train), len(test), tuple(train.images.shape[1:])
(1437, 360, (1, 8, 8))
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, TensorDataset

from .options import DATASET_INFO, DATASETS, FASHION_MNIST_ROOT, MNIST_ROOT
from .readers import read_cifar_binary, read_idx

__all__ = [
    "ImageTensorDataset",
    "TransformDataset",
    "load_digits_dataset",
    "load_idx_dataset",
    "load_fashion_mnist",
    "load_mnist",
    "load_cifar10",
    "load_cifar100",
    "load_dataset",
    "dataset_info",
    "DATASETS",
    "DATASET_INFO",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
    "DIGIT_CLASSES",
    "FASHION_MNIST_ROOT",
    "MNIST_ROOT",
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
    three-level hierarchy 8 -> 4 -> 2 of He & Xu, MgNet, 2019, Alg. 3).

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
        100 fine classes (default, as in He & Xu, MgNet, 2019, Table 2)
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




def dataset_info(name: str) -> dict:
    """Channels, classes, image size and augmentation defaults of a named data set.

    Known without reading any file (used for parameter counts and help).

    Examples
    --------
    >>> dataset_info("cifar100")["classes"]
    100
    """
    if not isinstance(name, str) or name.lower() not in DATASETS:
        raise ValueError(f"dataset name must be one of {DATASETS}, got {name!r}")
    return dict(DATASET_INFO[name.lower()])


def load_dataset(name: str, root=None, *, seed: int = 0, size: int | None = None):
    """Load a named data set as a ``(train, test)`` pair.

    Parameters
    ----------
    name : {"digits", "mnist", "fashion-mnist", "cifar10", "cifar100"}
        Data set name.
    root : str or os.PathLike, optional
        Directory of the files (not used for ``"digits"``); defaults to
        ``/usr/share/datasets/fashion-mnist`` (Debian ``dataset-fashion-mnist``)
        and ``/usr/share/datasets/mnist``.
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
