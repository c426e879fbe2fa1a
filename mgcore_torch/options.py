"""Names and defaults shared by the data, trainer and command-line modules (no heavy imports).

Everything here is plain Python, so that the ``mgcore`` command line can
build its parsers (choices, defaults, help) without importing torch.

Examples
--------
>>> DATASET_INFO["fashion-mnist"]["channels"], DATASET_INFO["cifar10"]["flip"]
(1, True)
>>> sorted(TRAIN_PRESETS)[:1]
['fashion-15min']
"""

from __future__ import annotations

__all__ = [
    "DATASETS",
    "DATASET_INFO",
    "OPTIMIZERS",
    "SCHEDULERS",
    "PROGRESS",
    "PAD_MODES",
    "TRAIN_PRESETS",
    "FASHION_MNIST_ROOT",
    "MNIST_ROOT",
]

#: Default location of the Debian package ``dataset-fashion-mnist``.
FASHION_MNIST_ROOT = "/usr/share/datasets/fashion-mnist"
#: Conventional location for MNIST IDX files (no Debian package ships them).
MNIST_ROOT = "/usr/share/datasets/mnist"

#: Names accepted by :func:`mgcore_torch.datasets.load_dataset`.
DATASETS = ("digits", "mnist", "fashion-mnist", "cifar10", "cifar100")

#: Shape and augmentation facts of each data set: input channels, classes,
#: image size, the default random-crop padding of ``--augment`` and whether a
#: horizontal flip keeps the class (it does not for digits and letters).
DATASET_INFO = {
    "digits": {"channels": 1, "classes": 10, "size": 8, "padding": 1, "flip": False},
    "mnist": {"channels": 1, "classes": 10, "size": 28, "padding": 2, "flip": False},
    "fashion-mnist": {"channels": 1, "classes": 10, "size": 28, "padding": 2, "flip": True},
    "cifar10": {"channels": 3, "classes": 10, "size": 32, "padding": 4, "flip": True},
    "cifar100": {"channels": 3, "classes": 100, "size": 32, "padding": 4, "flip": True},
}

#: Optimiser names accepted by :class:`mgcore_torch.trainer.Trainer`.
OPTIMIZERS = ("sgd", "nesterov", "adam", "adamw", "rmsprop")
#: Learning-rate schedule names (``"none"`` = constant).
SCHEDULERS = ("cosine", "step", "none")
#: Progress display kinds of the trainer (``"bar"`` is an alias of ``"tqdm"``).
PROGRESS = ("plain", "tqdm", "bar", "none")
#: Padding modes of the random crop.
PAD_MODES = ("zero", "reflect")

#: Training recipes for ``mgcore train --preset NAME``: option values that
#: replace the defaults (explicit options still win).  The models are
#: registry entries (``mgnet`` with per-level channels and smoothing steps).
TRAIN_PRESETS = {
    "fashion-5min": {
        "doc": "Fashion-MNIST in a 5-minute budget (2 CPU threads): MgNet[1,1,1]-[16,32,64]",
        "model": "mgnet",
        "model_args": {"nu": [1, 1, 1], "channels": [16, 32, 64]},
        "data": "fashion-mnist",
        "budget_minutes": 5.0,
        "batch_size": 128,
        "lr": 0.1,
        "optimizer": "nesterov",
        "weight_decay": 5e-4,
        "scheduler": "cosine",
        "warmup_epochs": 0.2,
        "augment": True,
        "normalize": True,
        "label_smoothing": 0.0,
        "channels_last": True,
    },
    "fashion-15min": {
        "doc": "Fashion-MNIST in a 15-minute budget (2 CPU threads): MgNet[1,1,1]-[16,32,64]",
        "model": "mgnet",
        "model_args": {"nu": [1, 1, 1], "channels": [16, 32, 64]},
        "data": "fashion-mnist",
        "budget_minutes": 15.0,
        "batch_size": 128,
        "lr": 0.1,
        "optimizer": "nesterov",
        "weight_decay": 5e-4,
        "scheduler": "cosine",
        "warmup_epochs": 0.2,
        "augment": True,
        "normalize": True,
        "label_smoothing": 0.0,
        "channels_last": True,
    },
}
