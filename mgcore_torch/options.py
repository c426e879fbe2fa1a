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

_FASHION_RECIPE = {
    "model": "mgnet",
    "model_args": {"nu": [1, 1, 1], "channels": [24, 48, 96], "stem": "cifar-maxpool"},
    "data": "fashion-mnist",
    "batch_size": 128,
    "lr": 0.2,
    "optimizer": "nesterov",
    "weight_decay": 5e-4,
    "scheduler": "cosine",
    "warmup_epochs": 0.2,
    "normalize": True,
    "label_smoothing": 0.1,
    "channels_last": True,
    "processes": 2,
    "threads": 1,
}

#: Training recipes for ``mgcore train --preset NAME``: option values that
#: replace the defaults (explicit options still win).  The models are
#: registry entries (``mgnet`` with per-level channels and smoothing steps).
#: The Fashion-MNIST presets train data-parallel in 2 processes of 1 thread
#: (``--processes 2 --threads 1``), which on a 2-core CPU does 1.3x the images per
#: second of one process with 2 threads; the batch is 128 per process.
TRAIN_PRESETS = {
    "fashion-5min": {
        "doc": "Fashion-MNIST in a 5-minute budget on a 2-core CPU (2 processes x 1 thread): "
               "MgNet[1,1,1]-[24,48,96] with a max-pool stem, no augmentation",
        **_FASHION_RECIPE,
        "budget_minutes": 5.0,
        "augment": False,
    },
    "fashion-15min": {
        "doc": "Fashion-MNIST in a 15-minute budget on a 2-core CPU (2 processes x 1 thread): "
               "MgNet[1,1,1]-[32,64,128] with a max-pool stem, horizontal flips",
        **_FASHION_RECIPE,
        "model_args": {"nu": [1, 1, 1], "channels": [32, 64, 128], "stem": "cifar-maxpool"},
        "budget_minutes": 15.0,
        "augment": False,
        "flip": True,
    },
}
