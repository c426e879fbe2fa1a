"""Training of image classifiers (MgNet and baselines): a reproducible, resumable trainer.

The networks of the seed papers are trained by mini-batch SGD with momentum
on the cross-entropy loss with a decaying learning rate:
003_16cadc847c125d93.txt, Section 9.2 and Algorithm 5 (momentum 0.9, batch
128, learning rate 0.1 divided by 10 every 30 epochs -- the ``"step"``
schedule); 001_7660e105f1dc2ba9.txt, Section 5, "Training" (the same, with
weight decay 5e-4); 000_6ec12cea277464e2.txt, Section 4, "Experimental
Setup" (learning rate 0.05 with cosine annealing, weight decay 1e-4 -- the
``"cosine"`` schedule).  :class:`Trainer` does that for any ``nn.Module``
classifier ``(N, C, H, W) -> (N, classes)``:

* optimisers ``"sgd"``, ``"nesterov"``, ``"adam"``, ``"adamw"``,
  ``"rmsprop"``; per-epoch learning-rate schedules ``"cosine"``, ``"step"``
  or none; optional AMP (bfloat16 on CPU, float16 + gradient scaling on
  CUDA) and gradient-norm clipping;
* a non-finite loss stops training at once with a :class:`FloatingPointError`
  naming the epoch and step;
* checkpoints are written atomically (temporary file in the same directory,
  ``fsync``, ``os.replace``) and hold only tensors and plain data: model,
  optimiser, scheduler and gradient-scaler state, the epoch, the RNG states
  (as tensors), the configuration and the history.  They are read with
  ``torch.load(..., weights_only=True)``, so loading never runs pickled code;
* ``resume=True`` continues from the last checkpoint, and on CPU the result
  is bit-identical to an uninterrupted run (the shuffling depends only on
  ``(seed, epoch)`` and every RNG state is restored).

Device and process rank are decided in one place (:meth:`Trainer._setup_device`):
``rank``, ``world_size`` and ``is_main`` (only the main process logs and
writes checkpoints) are ready for a ``torchrun`` data-parallel launch, and
the per-epoch ``set_epoch`` call works with ``DistributedSampler``.

The command line ``mgcore train`` is :func:`add_train_arguments` +
:func:`run_train` (also runnable on its own with :func:`train_main`).

Examples
--------
>>> import torch
>>> from torch import nn
>>> from mgcore_torch.data import load_digits_dataset, make_loaders
>>> _ = torch.manual_seed(0)
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
>>> train_loader, test_loader = make_loaders(load_digits_dataset(), batch_size=64)
>>> trainer = Trainer(model, optimizer="sgd", lr=0.5, epochs=2, progress=None)
>>> history = trainer.fit(train_loader, test_loader)
>>> len(history), history.val_acc[-1] > 0.8
(2, True)
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

import numpy as np
import torch
from torch import nn

from mgcore_torch.data import DATASETS, _set_epoch, load_dataset, make_loaders

__all__ = [
    "History",
    "Trainer",
    "save_checkpoint",
    "read_checkpoint",
    "atomic_torch_save",
    "OPTIMIZERS",
    "SCHEDULERS",
    "add_train_arguments",
    "run_train",
    "train_main",
]

#: Optimiser names accepted by :class:`Trainer`.
OPTIMIZERS = ("sgd", "nesterov", "adam", "adamw", "rmsprop")
#: Learning-rate schedule names accepted by :class:`Trainer` (``None`` = constant).
SCHEDULERS = ("cosine", "step", "none")
#: Progress display kinds.
PROGRESS = ("plain", "tqdm", "none")

CHECKPOINT_FORMAT = "mgcore-train-checkpoint"
CHECKPOINT_VERSION = 1


# --------------------------------------------------------------------------- history


@dataclass
class History:
    """Per-epoch training record.

    Attributes
    ----------
    epoch : list of int
        1-based epoch numbers.
    train_loss, train_acc : list of float
        Mean training loss and accuracy over the epoch (model in train mode).
    val_loss, val_acc : list of float or None
        Loss and accuracy on the validation loader after the epoch (``None``
        without a validation loader).
    lr : list of float
        Learning rate (first parameter group) used during the epoch.
    seconds : list of float
        Wall-clock seconds of the epoch (training and validation).
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)

    def append(self, record: dict) -> None:
        """Append one epoch's record (a dict with the attribute names as keys)."""
        for k in self.keys():
            getattr(self, k).append(record.get(k))

    @staticmethod
    def keys() -> tuple[str, ...]:
        """The recorded quantities."""
        return ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds")

    def __len__(self) -> int:
        return len(self.epoch)

    def records(self) -> list[dict]:
        """One dict per epoch."""
        return [{k: getattr(self, k)[i] for k in self.keys()} for i in range(len(self))]

    def last(self) -> dict:
        """The record of the last epoch (``{}`` when empty)."""
        return self.records()[-1] if len(self) else {}

    def to_dict(self) -> dict:
        """Plain JSON-able dict of lists."""
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """Inverse of :meth:`to_dict`."""
        if not isinstance(d, dict):
            raise TypeError(f"history must be a dict, got {type(d).__name__}")
        return cls(**{k: list(d.get(k, [])) for k in cls.keys()})


# --------------------------------------------------------------------------- checkpoint I/O


def atomic_torch_save(obj: Any, path) -> None:
    """``torch.save(obj, path)`` so that ``path`` is either the old or the complete new file.

    The data go to a temporary file in the same directory, which is flushed
    and ``fsync``-ed and then renamed over ``path`` with :func:`os.replace`
    (atomic on POSIX and Windows); the directory is ``fsync``-ed too where
    the platform allows.  On any error the temporary file is removed and the
    error propagates; an existing ``path`` is left untouched.

    Parameters
    ----------
    obj : object
        What to save (for checkpoints: only tensors and plain data).
    path : str or os.PathLike
        Target file; its directory is created if missing.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # mkstemp creates the file with mode 0600: give it the mode a plain open() would
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), mode)
            torch.save(obj, fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    if hasattr(os, "O_DIRECTORY"):
        try:
            dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            return
        try:
            os.fsync(dfd)
        except OSError:
            pass
        finally:
            os.close(dfd)


def read_checkpoint(path, map_location=None) -> dict:
    """Read a trainer checkpoint safely (``torch.load(..., weights_only=True)``).

    Only tensors and plain containers/numbers/strings are accepted; a file
    holding any other pickled object (e.g. an instance of a custom class) is
    rejected by torch's restricted unpickler.

    Parameters
    ----------
    path : str or os.PathLike
        Checkpoint file.
    map_location : optional
        Passed to :func:`torch.load`.

    Returns
    -------
    dict
        The checkpoint contents.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a trainer checkpoint or contains disallowed objects.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError / RuntimeError
        raise ValueError(
            f"{path!r} is not a loadable checkpoint (only tensors and plain data are accepted "
            f"with weights_only=True): {exc}"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path!r} is not an mgcore trainer checkpoint (missing format={CHECKPOINT_FORMAT!r})")
    if ckpt.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path!r}: unsupported checkpoint version {ckpt.get('version')!r}")
    return ckpt


def _rng_state() -> dict:
    """All global RNG states as tensors and plain numbers."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(py_version),
            "state": torch.tensor(py_state, dtype=torch.int64),
            "gauss_next": None if py_gauss is None else float(py_gauss),
        },
        "cuda": [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"].cpu().to(torch.uint8))
    npst = state["numpy"]
    np.random.set_state(
        ("MT19937", npst["keys"].cpu().numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
         npst["cached_gaussian"])
    )
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu().to(torch.uint8) for s in cuda])


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _check_jsonable(config: dict, argname: str = "config") -> dict:
    try:
        return json.loads(json.dumps(config, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{argname} must be plain JSON-able data (dict/list/str/int/float/bool/None): {exc}") from exc


# --------------------------------------------------------------------------- trainer


def _check_choice(name: str, value, allowed) -> str:
    if value is None:
        value = "none"
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")
    return value.lower()


def _check_number(name: str, value, *, minimum=None, positive=False, allow_none=False, integer=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float) if not integer else int):
        kind = "an int" if integer else "a number"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__}")
    if not math.isfinite(value) or (positive and not value > 0) or (minimum is not None and value < minimum):
        cond = "> 0" if positive else f">= {minimum}"
        raise ValueError(f"{name} must be finite and {cond}, got {value!r}")
    return value


class Trainer:
    """Train and evaluate a classifier ``(N, C, H, W) -> (N, classes)`` with cross-entropy.

    Parameters
    ----------
    model : torch.nn.Module
        The network; moved to ``device``.
    optimizer : {"sgd", "nesterov", "adam", "adamw", "rmsprop"}
        Optimiser (SGD with momentum and weight decay is the setting of
        001_7660e105f1dc2ba9.txt, Section 5, and 003_16cadc847c125d93.txt,
        Algorithm 5).
    lr : float
        Initial learning rate.
    momentum : float
        Momentum of SGD / RMSprop (ignored by Adam).
    weight_decay : float
        L2 weight decay (decoupled for AdamW).
    epochs : int
        Total number of epochs (the schedule is laid out over them).
    scheduler : {"cosine", "step", None}
        Per-epoch schedule: cosine annealing to 0 over ``epochs``; or
        multiplication by ``gamma`` every ``step_size`` epochs (default
        ``max(1, epochs // 3)``); ``None``/``"none"`` keeps ``lr``.
    device : str or torch.device, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...; ``None``/``"auto"`` picks
        CUDA when available.
    seed : int
        Seeds the global RNGs (python, numpy, torch) when :meth:`fit` starts
        from epoch 0.  Model initialisation happens before the trainer
        exists: seed that yourself.
    amp : bool
        Automatic mixed precision (bfloat16 autocast on CPU, float16 with a
        gradient scaler on CUDA).
    grad_clip : float, optional
        Clip the global gradient 2-norm to this value.
    log_every : int
        With ``progress="plain"``, also print a line every ``log_every``
        steps (0: only per epoch).
    progress : {"plain", "tqdm", None}
        Per-epoch lines on ``stream``, a tqdm bar (falls back to plain
        without tqdm) or silence.
    checkpoint : str or os.PathLike, optional
        File written (atomically) after every ``checkpoint_every`` epochs
        and after the last one.
    checkpoint_every : int
        Checkpoint period in epochs.
    resume : bool
        At the start of :meth:`fit`, load ``checkpoint`` if it exists and
        continue after its epoch.
    step_size, gamma : int, float
        Parameters of the ``"step"`` schedule.
    label_smoothing : float
        Passed to :func:`torch.nn.functional.cross_entropy`.
    config : dict, optional
        Extra JSON-able data stored in checkpoints (e.g. model name and
        arguments).
    stream : file-like, optional
        Where progress goes (default: ``sys.stdout`` at the time of printing).

    Attributes
    ----------
    epoch : int
        Number of completed epochs.
    global_step : int
        Number of optimiser steps taken.
    history : History
    rank, world_size, is_main, device
        Process placement (single process for now: 0, 1, True).
    """

    def __init__(
        self,
        model: nn.Module,
        optimizer: str = "sgd",
        lr: float = 0.05,
        momentum: float = 0.9,
        weight_decay: float = 5e-4,
        epochs: int = 10,
        scheduler: str | None = "cosine",
        device=None,
        seed: int = 0,
        amp: bool = False,
        grad_clip: float | None = None,
        log_every: int = 0,
        progress: str | None = "plain",
        checkpoint=None,
        checkpoint_every: int = 1,
        resume: bool = False,
        step_size: int | None = None,
        gamma: float = 0.1,
        label_smoothing: float = 0.0,
        config: dict | None = None,
        stream=None,
    ):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.optimizer_name = _check_choice("optimizer", optimizer, OPTIMIZERS)
        self.scheduler_name = _check_choice("scheduler", scheduler, SCHEDULERS)
        if progress is True:
            progress = "plain"
        elif progress is False:
            progress = None
        self.progress = _check_choice("progress", progress, PROGRESS)
        self.lr = float(_check_number("lr", lr, positive=True))
        self.momentum = float(_check_number("momentum", momentum, minimum=0))
        self.weight_decay = float(_check_number("weight_decay", weight_decay, minimum=0))
        self.epochs = int(_check_number("epochs", epochs, minimum=1, integer=True))
        self.seed = int(_check_number("seed", seed, minimum=0, integer=True))
        self.grad_clip = _check_number("grad_clip", grad_clip, positive=True, allow_none=True)
        self.log_every = int(_check_number("log_every", log_every, minimum=0, integer=True))
        self.checkpoint_every = int(_check_number("checkpoint_every", checkpoint_every, minimum=1, integer=True))
        self.gamma = float(_check_number("gamma", gamma, positive=True))
        self.label_smoothing = float(_check_number("label_smoothing", label_smoothing, minimum=0))
        if self.label_smoothing >= 1:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r}")
        if step_size is None:
            step_size = max(1, self.epochs // 3)
        self.step_size = int(_check_number("step_size", step_size, minimum=1, integer=True))
        if not isinstance(amp, bool):
            raise TypeError(f"amp must be a bool, got {type(amp).__name__}")
        if not isinstance(resume, bool):
            raise TypeError(f"resume must be a bool, got {type(resume).__name__}")
        self.amp = amp
        self.resume = resume
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        self.user_config = _check_jsonable(dict(config or {}))
        self.stream = stream

        self._setup_device(device)
        self.model = model.to(self.device)
        self.optimizer = self._build_optimizer()
        self.scheduler = self._build_scheduler()
        self.scaler = torch.amp.GradScaler("cuda") if (self.amp and self.device.type == "cuda") else None
        self.epoch = 0
        self.global_step = 0
        self.history = History()

    # ----------------------------------------------------------------- setup

    def _setup_device(self, device) -> None:
        """Decide device and process placement -- the one place to extend for torchrun/DDP.

        Sets ``device``, ``rank``, ``world_size``, ``local_rank`` and
        ``is_main``.  Single process for now; a data-parallel launch would
        read ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` here, pick
        ``cuda:LOCAL_RANK`` and wrap the model.
        """
        if device is None or (isinstance(device, str) and device.lower() == "auto"):
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            dev = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N', 'auto' or None, got {device!r}") from exc
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device {device!r} requested but CUDA is not available")
        self.device = dev
        self.rank = 0
        self.local_rank = 0
        self.world_size = 1
        self.is_main = self.rank == 0

    def _build_optimizer(self) -> torch.optim.Optimizer:
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise ValueError("model has no trainable parameters")
        name, lr, wd = self.optimizer_name, self.lr, self.weight_decay
        if name in ("sgd", "nesterov"):
            if name == "nesterov" and self.momentum == 0:
                raise ValueError("optimizer='nesterov' needs momentum > 0")
            return torch.optim.SGD(params, lr=lr, momentum=self.momentum, weight_decay=wd,
                                   nesterov=(name == "nesterov"))
        if name == "adam":
            return torch.optim.Adam(params, lr=lr, weight_decay=wd)
        if name == "adamw":
            return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
        return torch.optim.RMSprop(params, lr=lr, momentum=self.momentum, weight_decay=wd)

    def _build_scheduler(self):
        if self.scheduler_name == "cosine":
            return torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=self.epochs)
        if self.scheduler_name == "step":
            return torch.optim.lr_scheduler.StepLR(self.optimizer, step_size=self.step_size, gamma=self.gamma)
        return None

    @property
    def config(self) -> dict:
        """The trainer's settings as plain JSON-able data (stored in checkpoints)."""
        return {
            "optimizer": self.optimizer_name,
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "epochs": self.epochs,
            "scheduler": self.scheduler_name,
            "step_size": self.step_size,
            "gamma": self.gamma,
            "seed": self.seed,
            "amp": self.amp,
            "grad_clip": self.grad_clip,
            "label_smoothing": self.label_smoothing,
            "model_class": type(self.model).__name__,
            "parameters": int(sum(p.numel() for p in self.model.parameters())),
            "user": self.user_config,
        }

    @property
    def current_lr(self) -> float:
        """Learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    # ----------------------------------------------------------------- logging

    def _print(self, msg: str) -> None:
        if self.is_main:
            print(msg, file=self.stream if self.stream is not None else sys.stdout, flush=True)

    def _progress_bar(self, loader, epoch: int):
        if self.progress != "tqdm" or not self.is_main:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            self.progress = "plain"
            return None
        total = len(loader) if hasattr(loader, "__len__") else None
        return tqdm(total=total, desc=f"epoch {epoch}/{self.epochs}", leave=False,
                    file=self.stream if self.stream is not None else sys.stderr)

    # ----------------------------------------------------------------- steps

    def _autocast(self):
        if not self.amp:
            return torch.autocast(device_type=self.device.type, enabled=False)
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _to_device(self, x, y):
        nb = self.device.type == "cuda"
        return x.to(self.device, non_blocking=nb), y.to(self.device, non_blocking=nb)

    def train_epoch(self, loader) -> dict:
        """One pass over ``loader`` with optimiser steps; returns ``{"loss", "accuracy", "samples"}``.

        Raises
        ------
        FloatingPointError
            As soon as a batch loss is NaN or infinite (naming epoch and step).
        """
        self.model.train()
        epoch = self.epoch + 1
        bar = self._progress_bar(loader, epoch)
        loss_sum, correct, count = 0.0, 0, 0
        try:
            for step, (x, y) in enumerate(loader, start=1):
                x, y = self._to_device(x, y)
                self.optimizer.zero_grad(set_to_none=True)
                with self._autocast():
                    out = self.model(x)
                    loss = nn.functional.cross_entropy(out.float(), y, label_smoothing=self.label_smoothing)
                value = float(loss.detach())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"non-finite training loss {value} at epoch {epoch}, step {step} "
                        f"(global step {self.global_step + 1}); lower the learning rate (lr={self.current_lr:g}), "
                        f"enable grad_clip, or check the data/model for NaN"
                    )
                if self.scaler is not None:
                    self.scaler.scale(loss).backward()
                    if self.grad_clip is not None:
                        self.scaler.unscale_(self.optimizer)
                        nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
                    self.scaler.step(self.optimizer)
                    self.scaler.update()
                else:
                    loss.backward()
                    if self.grad_clip is not None:
                        nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
                    self.optimizer.step()
                self.global_step += 1
                n = int(y.shape[0])
                loss_sum += value * n
                correct += int((out.detach().argmax(dim=1) == y).sum())
                count += n
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix(loss=f"{value:.4f}")
                elif self.progress == "plain" and self.log_every and step % self.log_every == 0:
                    self._print(f"  epoch {epoch} step {step}: loss {value:.4f}")
        finally:
            if bar is not None:
                bar.close()
        if count == 0:
            raise ValueError("train_loader yielded no samples")
        return {"loss": loss_sum / count, "accuracy": correct / count, "samples": count}

    @torch.no_grad()
    def evaluate(self, loader) -> dict:
        """Mean loss and accuracy of the model (eval mode) over ``loader``.

        Parameters
        ----------
        loader : iterable of (images, labels)

        Returns
        -------
        dict
            ``{"loss": float, "accuracy": float, "samples": int}``.
        """
        was_training = self.model.training
        self.model.eval()
        loss_sum, correct, count = 0.0, 0, 0
        try:
            for x, y in loader:
                x, y = self._to_device(x, y)
                with self._autocast():
                    out = self.model(x)
                loss_sum += float(nn.functional.cross_entropy(out.float(), y, reduction="sum"))
                correct += int((out.argmax(dim=1) == y).sum())
                count += int(y.shape[0])
        finally:
            self.model.train(was_training)
        if count == 0:
            raise ValueError("evaluation loader yielded no samples")
        return {"loss": loss_sum / count, "accuracy": correct / count, "samples": count}

    # ----------------------------------------------------------------- fit

    def fit(self, train_loader, val_loader=None, *, stop_epoch: int | None = None,
            on_epoch_end: Callable[["Trainer", dict], None] | None = None) -> History:
        """Train until ``epochs`` epochs are complete.

        Parameters
        ----------
        train_loader : iterable of (images, labels)
            Its sampler's ``set_epoch(epoch)`` is called before every epoch
            when present (:class:`mgcore_torch.data.EpochShuffleSampler`,
            ``DistributedSampler``).
        val_loader : iterable, optional
            Evaluated after every epoch.
        stop_epoch : int, optional
            Return after this many completed epochs even if ``epochs`` is
            larger (the schedule stays that of ``epochs``): a time-limited
            run, continued later with ``resume=True``.
        on_epoch_end : callable, optional
            ``on_epoch_end(trainer, record)`` after each epoch (main process).

        Returns
        -------
        History
            All epochs so far (including those restored from a checkpoint).
        """
        if self.resume and self.checkpoint is not None and os.path.isfile(self.checkpoint) and self.epoch == 0:
            self.load_checkpoint(self.checkpoint)
            if self.progress != "none":
                self._print(f"resumed from {self.checkpoint!r} after epoch {self.epoch}")
        elif self.epoch == 0:
            _seed_everything(self.seed)
        last = self.epochs if stop_epoch is None else min(self.epochs, int(stop_epoch))
        while self.epoch < last:
            t0 = time.perf_counter()
            _set_epoch(train_loader, self.epoch)
            lr = self.current_lr
            tr = self.train_epoch(train_loader)
            if self.scheduler is not None:
                self.scheduler.step()
            va = self.evaluate(val_loader) if val_loader is not None else {"loss": None, "accuracy": None}
            self.epoch += 1
            record = {
                "epoch": self.epoch,
                "train_loss": tr["loss"],
                "train_acc": tr["accuracy"],
                "val_loss": va["loss"],
                "val_acc": va["accuracy"],
                "lr": lr,
                "seconds": time.perf_counter() - t0,
            }
            self.history.append(record)
            if self.progress in ("plain", "tqdm"):
                val = "" if va["loss"] is None else f"  val loss {va['loss']:.4f}  val acc {va['accuracy']:.4f}"
                self._print(
                    f"epoch {self.epoch}/{self.epochs}  train loss {tr['loss']:.4f}  train acc {tr['accuracy']:.4f}"
                    f"{val}  lr {lr:.4g}  {record['seconds']:.2f}s"
                )
            if self.checkpoint is not None and (self.epoch % self.checkpoint_every == 0 or self.epoch == last):
                self.save_checkpoint(self.checkpoint)
            if on_epoch_end is not None and self.is_main:
                on_epoch_end(self, record)
        return self.history

    # ----------------------------------------------------------------- checkpoints

    def state_dict(self) -> dict:
        """Everything needed to continue training, as tensors and plain data."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "epoch": self.epoch,
            "global_step": self.global_step,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": None if self.scheduler is None else self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "rng": _rng_state(),
            "config": self.config,
            "history": self.history.to_dict(),
        }

    def save_checkpoint(self, path=None) -> None:
        """Write :meth:`state_dict` to ``path`` atomically (main process only).

        Parameters
        ----------
        path : str or os.PathLike, optional
            Default: the ``checkpoint`` given to the constructor.
        """
        path = path if path is not None else self.checkpoint
        if path is None:
            raise ValueError("path must be given (the trainer has no checkpoint path)")
        if not self.is_main:
            return
        atomic_torch_save(self.state_dict(), path)

    def load_checkpoint(self, path=None, *, restore_rng: bool = True) -> dict:
        """Restore model, optimiser, scheduler, scaler, epoch, history and RNG states.

        Reads with ``torch.load(..., weights_only=True)`` (see
        :func:`read_checkpoint`): nothing but tensors and plain data is
        unpickled.

        Parameters
        ----------
        path : str or os.PathLike, optional
            Default: the ``checkpoint`` given to the constructor.
        restore_rng : bool
            Also restore the global RNG states (needed for bit-identical
            resumption).

        Returns
        -------
        dict
            The raw checkpoint.

        Raises
        ------
        ValueError
            If the checkpoint was written with another optimiser or schedule,
            or (with a schedule) for another number of epochs.
        """
        path = path if path is not None else self.checkpoint
        if path is None:
            raise ValueError("path must be given (the trainer has no checkpoint path)")
        ckpt = read_checkpoint(path, map_location=self.device)
        cfg = ckpt.get("config", {})
        for key, mine in (("optimizer", self.optimizer_name), ("scheduler", self.scheduler_name)):
            if cfg.get(key) != mine:
                raise ValueError(
                    f"checkpoint {os.fspath(path)!r} was written with {key}={cfg.get(key)!r}, "
                    f"this trainer uses {key}={mine!r}"
                )
        if self.scheduler_name != "none" and cfg.get("epochs") != self.epochs:
            raise ValueError(
                f"checkpoint {os.fspath(path)!r} was written for epochs={cfg.get('epochs')!r} with the "
                f"{self.scheduler_name!r} schedule; resuming with epochs={self.epochs} would change the schedule "
                f"(use the same epochs, or scheduler=None)"
            )
        self.model.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scheduler is not None and ckpt.get("scheduler") is not None:
            self.scheduler.load_state_dict(ckpt["scheduler"])
        if self.scaler is not None and ckpt.get("scaler") is not None:
            self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch = int(ckpt["epoch"])
        self.global_step = int(ckpt.get("global_step", 0))
        self.history = History.from_dict(ckpt.get("history", {}))
        if restore_rng and ckpt.get("rng") is not None:
            _set_rng_state(ckpt["rng"])
        return ckpt

    def __repr__(self) -> str:
        return (
            f"Trainer(model={type(self.model).__name__}, optimizer={self.optimizer_name!r}, lr={self.lr:g}, "
            f"epochs={self.epochs}, scheduler={self.scheduler_name!r}, device={str(self.device)!r}, "
            f"epoch={self.epoch})"
        )


def save_checkpoint(trainer: Trainer, path) -> None:
    """Functional form of :meth:`Trainer.save_checkpoint`."""
    trainer.save_checkpoint(path)


# --------------------------------------------------------------------------- command line


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``mgcore train`` to ``parser``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The (sub)command parser.
    """
    parser.add_argument("--model", default="mgnet-small", help="registered model name (default: mgnet-small)")
    parser.add_argument("--model-args", default="{}", metavar="JSON",
                        help="extra model arguments as a JSON object, e.g. '{\"channels\": 32}'")
    parser.add_argument("--data", default="digits", choices=DATASETS, help="data set (default: digits)")
    parser.add_argument("--data-root", default=None, help="directory of the data files (not for digits)")
    parser.add_argument("--image-size", type=int, default=None, help="resize the images to SIZE x SIZE")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--optimizer", default="sgd", choices=OPTIMIZERS)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--scheduler", default="cosine", choices=SCHEDULERS)
    parser.add_argument("--augment", action="store_true", help="random crop (+ flip for colour images)")
    parser.add_argument("--normalize", action="store_true", help="normalise with the training-set channel statistics")
    parser.add_argument("--grad-clip", type=float, default=None)
    parser.add_argument("--amp", action="store_true", help="automatic mixed precision")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--checkpoint", default=None, help="checkpoint file, written after every epoch")
    parser.add_argument("--resume", action="store_true", help="continue from --checkpoint if it exists")
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def _build_model(name: str, in_channels: int, num_classes: int, kwargs: dict) -> nn.Module:
    """``mgcore_torch.models.get_model(name, ...)`` with the data set's channels and classes.

    ``in_channels`` / ``num_classes`` are passed unless ``kwargs`` sets them or
    the registry says the model does not take them.
    """
    from mgcore_torch import models

    full = dict(kwargs)
    keys = None
    info = getattr(models, "model_info", None)
    if info is not None:
        try:
            keys = set(info(name).get("config_keys", ()))
        except (ValueError, KeyError, TypeError):
            keys = None  # unknown name: get_model below raises the registry's error
    for key, value in (("in_channels", in_channels), ("num_classes", num_classes)):
        if key not in full and (keys is None or key in keys):
            full[key] = value
    model = models.get_model(name, **full)
    if not isinstance(model, nn.Module):
        raise TypeError(f"get_model({name!r}) returned {type(model).__name__}, not an nn.Module")
    return model


def _print_row(trainer: Trainer, record: dict) -> None:
    """One row of the ``mgcore train`` table."""
    print(f"{record['epoch']:>5}  {record['train_loss']:>10.4f}  {record['train_acc']:>9.4f}  "
          f"{record['val_acc']:>8.4f}  {record['seconds']:>7.2f}", flush=True)


def run_train(args: argparse.Namespace) -> int:
    """Run ``mgcore train`` with parsed arguments; returns the exit status.

    Prints a per-epoch table (epoch, train loss, train acc, test acc,
    seconds) and the final test accuracy, or with ``--json`` one JSON object
    with ``test_accuracy``, ``test_loss``, ``history``, ``parameters``,
    ``seconds`` and the settings.
    """
    t_start = time.perf_counter()
    if args.resume and args.checkpoint is None:
        raise ValueError("--resume needs --checkpoint")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    try:
        model_args = json.loads(args.model_args) if isinstance(args.model_args, str) else dict(args.model_args or {})
    except json.JSONDecodeError as exc:
        raise ValueError(f"--model-args must be a JSON object: {exc}") from exc
    if not isinstance(model_args, dict):
        raise ValueError(f"--model-args must be a JSON object, got {args.model_args!r}")

    train_set, test_set = load_dataset(args.data, args.data_root, seed=args.seed, size=args.image_size)
    train_loader, test_loader = make_loaders(
        (train_set, test_set), batch_size=args.batch_size, seed=args.seed,
        augment=True if args.augment else None, normalize=bool(args.normalize), num_workers=args.num_workers,
    )
    torch.manual_seed(args.seed)  # model initialisation
    model = _build_model(args.model, train_set.in_channels, train_set.num_classes, model_args)
    with torch.no_grad():
        probe = model.eval()(train_set.images[:2])
    model.train()
    if tuple(probe.shape) != (2, train_set.num_classes):
        raise ValueError(
            f"model {args.model!r} maps a batch {tuple(train_set.images[:2].shape)} to {tuple(probe.shape)}, "
            f"expected (2, {train_set.num_classes}) for {args.data!r}"
        )
    params = int(sum(p.numel() for p in model.parameters()))
    trainer = Trainer(
        model, optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
        epochs=args.epochs, scheduler=args.scheduler, device=args.device, seed=args.seed, amp=args.amp,
        grad_clip=args.grad_clip, progress=None, checkpoint=args.checkpoint, resume=args.resume,
        config={"model": args.model, "model_args": model_args, "data": args.data, "image_size": args.image_size,
                "batch_size": args.batch_size, "augment": bool(args.augment), "normalize": bool(args.normalize)},
    )
    quiet = bool(args.json)
    if not quiet:
        print(f"model {args.model} ({params:,} parameters), data {args.data} "
              f"({len(train_set)} train / {len(test_set)} test), device {trainer.device}")
    if args.resume and os.path.isfile(args.checkpoint):
        trainer.load_checkpoint(args.checkpoint)
        if not quiet:
            print(f"resumed from {args.checkpoint} after epoch {trainer.epoch}")
    if not quiet:
        print(f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}  {'seconds':>7}", flush=True)

    trainer.fit(train_loader, test_loader, on_epoch_end=None if quiet else _print_row)
    final = trainer.evaluate(test_loader)
    seconds = time.perf_counter() - t_start
    if quiet:
        out = {
            "test_accuracy": final["accuracy"],
            "test_loss": final["loss"],
            "history": trainer.history.to_dict(),
            "parameters": params,
            "seconds": seconds,
            "epochs": trainer.epoch,
            "model": args.model,
            "data": args.data,
            "device": str(trainer.device),
            "checkpoint": args.checkpoint,
        }
        print(json.dumps(out))
    else:
        print(f"test accuracy {final['accuracy']:.4f} ({final['samples']} images), {seconds:.1f}s in total")
    return 0


def train_main(argv=None) -> int:
    """``python -m mgcore_torch.train [options]``: the ``mgcore train`` command on its own."""
    parser = argparse.ArgumentParser(prog="mgcore train", description="train an image classifier")
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run_train(args)
    except (ValueError, TypeError, FileNotFoundError, FloatingPointError) as exc:
        print(f"mgcore train: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(train_main())
