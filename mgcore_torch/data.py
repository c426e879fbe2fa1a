"""Image classification data for the MgNet models: one import for readers, data sets, transforms, loaders.

The code lives in four modules; this one gathers their public names:

* :mod:`mgcore_torch.readers` -- IDX and binary CIFAR files
  (:func:`read_idx`, :func:`write_idx`, :func:`read_cifar_binary`);
* :mod:`mgcore_torch.datasets` -- :class:`ImageTensorDataset`, the digits /
  MNIST / Fashion-MNIST / CIFAR loaders and :func:`load_dataset`;
* :mod:`mgcore_torch.transforms` -- :class:`Normalize`, random crop (zero or
  reflect padding), flip, random erasing;
* :mod:`mgcore_torch.loaders` -- :func:`make_loaders` and the samplers.

Examples
--------
>>> train, test = load_digits_dataset(seed=0)
>>> train_loader, test_loader = make_loaders((train, test), batch_size=64)
>>> x, y = next(iter(train_loader))
>>> tuple(x.shape), y.dtype
((64, 1, 8, 8), torch.int64)
"""

from __future__ import annotations

from .datasets import (
    CIFAR10_CLASSES,
    DATASET_INFO,
    DATASETS,
    DIGIT_CLASSES,
    FASHION_MNIST_CLASSES,
    FASHION_MNIST_ROOT,
    MNIST_ROOT,
    ImageTensorDataset,
    TransformDataset,
    dataset_info,
    load_cifar10,
    load_cifar100,
    load_dataset,
    load_digits_dataset,
    load_fashion_mnist,
    load_idx_dataset,
    load_mnist,
)
from .loaders import EpochShuffleSampler, ShardSampler, _set_epoch, make_loaders, set_epoch  # noqa: F401
from .readers import read_cifar_binary, read_idx, write_idx
from .transforms import (
    Compose,
    Normalize,
    RandomCrop,
    RandomCropFlip,
    RandomErasing,
    RandomFlip,
    channel_stats,
    random_crop,
    random_crop_flip,
    random_erasing,
    random_flip,
)

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
    "dataset_info",
    "DATASETS",
    "DATASET_INFO",
    "channel_stats",
    "Normalize",
    "RandomCrop",
    "RandomFlip",
    "RandomErasing",
    "RandomCropFlip",
    "Compose",
    "random_crop",
    "random_flip",
    "random_erasing",
    "random_crop_flip",
    "EpochShuffleSampler",
    "ShardSampler",
    "make_loaders",
    "set_epoch",
    "FASHION_MNIST_CLASSES",
    "CIFAR10_CLASSES",
    "DIGIT_CLASSES",
    "FASHION_MNIST_ROOT",
    "MNIST_ROOT",
]
