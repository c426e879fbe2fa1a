"""Training of image classifiers: one import for the trainer, its checkpoints and its command line.

The code lives in :mod:`mgcore_torch.trainer` (:class:`Trainer`),
:mod:`mgcore_torch.records` (:class:`History`, run folders, plots),
:mod:`mgcore_torch.checkpoint` (atomic, weights-only checkpoint I/O),
:mod:`mgcore_torch.schedules`, :mod:`mgcore_torch.distributed` and
:mod:`mgcore_torch.train_cli` (``mgcore train | evaluate | models``); this
module gathers their public names.  ``python -m mgcore_torch.train [options]``
runs ``mgcore train``.
"""

from __future__ import annotations

import os  # noqa: F401  (kept so that ``mgcore_torch.train.os`` is the os module, as before the split)
import sys

import torch  # noqa: F401  (likewise ``mgcore_torch.train.torch``)

from .checkpoint import (CHECKPOINT_FORMAT, CHECKPOINT_VERSION, atomic_copy, atomic_torch_save, atomic_write_bytes,
                         atomic_write_text, read_checkpoint, rng_state, seed_everything, set_rng_state)
from .options import OPTIMIZERS, PROGRESS, SCHEDULERS
from .records import History, RunFolder, plot_confusion, plot_curves
from .schedules import LRSchedule
from .train_cli import _build_model  # noqa: F401  (used as mgcore_torch.train._build_model)
from .train_cli import (add_train_arguments, parameter_count, resolve_train_args, run_evaluate, run_models, run_train,
                        train_main)
from .trainer import Trainer

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "atomic_copy",
    "atomic_write_bytes",
    "atomic_write_text",
    "rng_state",
    "set_rng_state",
    "seed_everything",
    "plot_confusion",
    "plot_curves",
    "History",
    "Trainer",
    "LRSchedule",
    "RunFolder",
    "save_checkpoint",
    "read_checkpoint",
    "atomic_torch_save",
    "OPTIMIZERS",
    "SCHEDULERS",
    "PROGRESS",
    "add_train_arguments",
    "resolve_train_args",
    "run_train",
    "run_evaluate",
    "run_models",
    "train_main",
    "parameter_count",
]


def save_checkpoint(trainer: Trainer, path) -> None:
    """Functional form of :meth:`Trainer.save_checkpoint`."""
    trainer.save_checkpoint(path)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(train_main())
