"""A reproducible, resumable, data-parallel trainer for image classifiers (MgNet and baselines).

The networks of the MgNet papers are trained by mini-batch SGD with momentum
on the cross-entropy loss with a decaying learning rate (He & Xu, "MgNet",
2019, Section 9.2 and Alg. 5: momentum 0.9, batch 128, learning rate 0.1
divided by 10 every 30 epochs -- the ``"step"`` schedule; He, Xu, Zhang &
Zhu, "An interpretive constrained linear model for ResNet and MgNet", 2023,
Section 5: the same with weight decay 5e-4; van Betteray, Rottmann & Kahl,
"Poly-MgNet", 2025, Section 4: learning rate 0.05 with cosine annealing).
:class:`Trainer` does that for any ``nn.Module`` classifier
``(N, C, H, W) -> (N, classes)``:

* optimisers ``"sgd"``, ``"nesterov"``, ``"adam"``, ``"adamw"``,
  ``"rmsprop"``; per-step schedules ``"cosine"``, ``"step"`` or none with a
  linear warm-up (:mod:`mgcore_torch.schedules`); label smoothing, AMP
  (bfloat16 on CPU, float16 + gradient scaling on CUDA), channels-last
  memory, ``torch.compile`` and gradient-norm clipping;
* a time budget (``budget_minutes``): the schedule runs on the clock and
  training stops cleanly at the first step past the budget;
* data parallelism under ``torchrun`` (:mod:`mgcore_torch.distributed`):
  ``DistributedDataParallel`` with gloo on CPU and nccl on CUDA, metrics
  summed over the processes, only rank 0 logs and writes files;
* a non-finite loss stops training at once with a :class:`FloatingPointError`
  naming the epoch and step;
* checkpoints (:mod:`mgcore_torch.checkpoint`) are written atomically and
  hold only tensors and plain data; ``resume=True`` continues after the last
  one, bit-identically on CPU, and ``extend=True`` lets a run continue to a
  larger ``epochs`` (or budget) on the schedule laid out over the new length.

Examples
--------
>>> import torch
>>> from torch import nn
>>> from mgcore_torch.loaders import make_loaders
>>> from mgcore_torch.datasets import load_digits_dataset
>>> _ = torch.manual_seed(0)
>>> model = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
>>> train_loader, test_loader = make_loaders(load_digits_dataset(), batch_size=64)
>>> trainer = Trainer(model, optimizer="sgd", lr=0.5, epochs=2, progress=None)
>>> history = trainer.fit(train_loader, test_loader)
>>> len(history), history.val_acc[-1] > 0.8
(2, True)
"""

from __future__ import annotations

import math
import os
import sys
import time
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import distributed as tdist
from .checkpoint import check_jsonable, seed_everything
from .loaders import is_sharded, set_epoch
from .options import OPTIMIZERS, PROGRESS, SCHEDULERS
from .records import History
from .resume import CheckpointMixin
from .schedules import LRSchedule

__all__ = ["Trainer", "History", "OPTIMIZERS", "SCHEDULERS"]


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


def _check_bool(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, got {type(value).__name__}")
    return value


class Trainer(CheckpointMixin):
    """Train and evaluate a classifier ``(N, C, H, W) -> (N, classes)`` with cross-entropy.

    Parameters
    ----------
    model : torch.nn.Module
        The network; moved to ``device`` (and wrapped for DDP under torchrun).
    optimizer : {"sgd", "nesterov", "adam", "adamw", "rmsprop"}
        Optimiser (SGD with momentum and weight decay as in He, Xu, Zhang &
        Zhu, 2023, Section 5).
    lr : float
        Peak learning rate.
    momentum : float
        Momentum of SGD / RMSprop (ignored by Adam).
    weight_decay : float
        L2 weight decay (decoupled for AdamW).
    epochs : int
        Total number of epochs (with ``budget_minutes``: an upper bound).
    scheduler : {"cosine", "step", None}
        Per-step schedule (:class:`~mgcore_torch.schedules.LRSchedule`):
        cosine annealing to 0 over ``epochs`` (or over the budget);
        multiplication by ``gamma`` every ``step_size`` epochs (default
        ``max(1, epochs // 3)``); ``None``/``"none"`` keeps ``lr``.
    device : str or torch.device, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...; ``None``/``"auto"`` picks
        CUDA when available (under torchrun on CUDA: ``cuda:LOCAL_RANK``).
    seed : int
        Seeds the global RNGs when :meth:`fit` starts from epoch 0 (under
        DDP each rank's RNG is reseeded every epoch from ``(seed, epoch,
        rank)``).  Model initialisation happens before the trainer exists:
        seed that yourself.
    amp : bool
        Automatic mixed precision (bfloat16 autocast on CPU, float16 with a
        gradient scaler on CUDA).
    grad_clip : float, optional
        Clip the global gradient 2-norm to this value.
    log_every : int
        With ``progress="plain"``, also print a line every ``log_every`` steps.
    progress : {"plain", "tqdm", "bar", None}
        Per-epoch lines on ``stream``, a tqdm bar per epoch (``"bar"`` is the
        same; plain lines without tqdm) or silence.
    checkpoint : str or os.PathLike, optional
        File written (atomically) after every ``checkpoint_every`` epochs and
        after the last one.
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
        Extra JSON-able data stored in checkpoints (model name and arguments...).
    stream : file-like, optional
        Where progress goes (default: ``sys.stdout`` at the time of printing).
    warmup_epochs : float
        Linear learning-rate warm-up over this many (possibly fractional) epochs.
    budget_minutes : float, optional
        Stop at the first step after this much wall-clock time of :meth:`fit`
        (training, validation, checkpoints; summed over resumed runs); the
        cosine schedule then anneals over the budget instead of ``epochs``.
    extend : bool
        Allow resuming a checkpoint written for fewer ``epochs`` (or a smaller
        budget): the schedule continues as laid out over the new length.
    channels_last : bool
        Keep model and batches in ``torch.channels_last`` memory format.
    compile : bool
        Train through ``torch.compile(model)``.
    distributed : {"auto", True, False}
        ``"auto"``/True: join a torchrun process group when there is one.
    sync_bn : bool
        Under DDP, convert BatchNorm to ``SyncBatchNorm`` (CUDA only).
    best_checkpoint : str or os.PathLike, optional
        Also keep the checkpoint of the epoch with the best validation accuracy.
    log_epochs : bool
        With ``progress`` plain or tqdm, print a line after every epoch.

    Attributes
    ----------
    epoch : int
        Number of completed epochs (an epoch cut short by the budget counts).
    global_step : int
        Number of optimiser steps taken.
    history : History
    elapsed : float
        Seconds spent in :meth:`fit` so far (over all resumed runs).
    stop_reason : str or None
        ``"budget"`` when the time budget ended training.
    rank, world_size, local_rank, is_main, device, placement
        Process placement (single process: 0, 1, 0, True).
    """

    def __init__(self, model: nn.Module, optimizer: str = "sgd", lr: float = 0.05, momentum: float = 0.9,
                 weight_decay: float = 5e-4, epochs: int = 10, scheduler: str | None = "cosine", device=None,
                 seed: int = 0, amp: bool = False, grad_clip: float | None = None, log_every: int = 0,
                 progress: str | None = "plain", checkpoint=None, checkpoint_every: int = 1, resume: bool = False,
                 step_size: int | None = None, gamma: float = 0.1, label_smoothing: float = 0.0,
                 config: dict | None = None, stream=None, warmup_epochs: float = 0.0,
                 budget_minutes: float | None = None, extend: bool = False, channels_last: bool = False,
                 compile: bool = False, distributed="auto", sync_bn: bool = False, best_checkpoint=None,
                 log_epochs: bool = True):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        self.optimizer_name = _check_choice("optimizer", optimizer, OPTIMIZERS)
        self.scheduler_name = _check_choice("scheduler", scheduler, SCHEDULERS)
        progress = {True: "plain", False: None}.get(progress, progress) if isinstance(progress, bool) else progress
        self.progress = _check_choice("progress", progress, PROGRESS + ("none",)).replace("bar", "tqdm")
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
        self._step_size_given = step_size is not None
        self.step_size = int(_check_number("step_size", step_size if step_size is not None else
                                           max(1, self.epochs // 3), minimum=1, integer=True))
        self.warmup_epochs = float(_check_number("warmup_epochs", warmup_epochs, minimum=0))
        budget = _check_number("budget_minutes", budget_minutes, positive=True, allow_none=True)
        self.budget_minutes = None if budget is None else float(budget)
        for name, value in (("amp", amp), ("resume", resume), ("extend", extend), ("channels_last", channels_last),
                            ("compile", compile), ("sync_bn", sync_bn), ("log_epochs", log_epochs)):
            _check_bool(name, value)
        if distributed not in ("auto", True, False):
            raise ValueError(f"distributed must be 'auto', True or False, got {distributed!r}")
        self.amp, self.resume, self.extend = amp, resume, extend
        self.channels_last, self.compile, self.sync_bn = channels_last, compile, sync_bn
        self.checkpoint = None if checkpoint is None else os.fspath(checkpoint)
        self.best_checkpoint = None if best_checkpoint is None else os.fspath(best_checkpoint)
        self.user_config = check_jsonable(dict(config or {}))
        self.stream = stream
        self.log_epochs = log_epochs

        self._setup_device(device, distributed)
        self.model = self._place_model(model)
        self.optimizer = self._build_optimizer()
        self.scheduler = self._build_schedule()
        self.scaler = torch.amp.GradScaler("cuda") if (self.amp and self.device.type == "cuda") else None
        self.epoch = 0
        self.global_step = 0
        self.elapsed = 0.0
        self.stop_reason = None
        self.resume_note = None
        self.history = History()
        self._fit_clock = None
        self._last_saved = None
        self._steps_per_epoch = None

    # ----------------------------------------------------------------- setup

    def _setup_device(self, device, distributed) -> None:
        """Decide device and process placement (the one place that reads torchrun's environment)."""
        if distributed is False:
            self.placement = tdist.Placement(device=tdist._resolve_device(device))
        else:
            self.placement = tdist.init_distributed(device)
        p = self.placement
        self.device, self.rank, self.local_rank, self.world_size = p.device, p.rank, p.local_rank, p.world_size
        self.is_main = p.is_main

    def _place_model(self, model: nn.Module) -> nn.Module:
        if self.sync_bn and self.world_size > 1:
            if self.device.type != "cuda":
                raise ValueError("sync_bn needs CUDA devices: torch's SyncBatchNorm does not run on CPU")
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        model = model.to(self.device)
        if self.channels_last:
            model = model.to(memory_format=torch.channels_last)
        net = model
        if self.world_size > 1:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            net = DistributedDataParallel(model, device_ids=ids)
        if self.compile:
            net = torch.compile(net)
        self.net = net  # what training steps call; ``self.model`` is the plain module (state dicts, evaluation)
        return model

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

    def _build_schedule(self) -> LRSchedule:
        budget = None if self.budget_minutes is None else 60.0 * self.budget_minutes
        return LRSchedule(self.scheduler_name, self.epochs, self.step_size, self.gamma, self.warmup_epochs, budget)

    @property
    def config(self) -> dict:
        """The trainer's settings as plain JSON-able data (stored in checkpoints)."""
        return {
            "optimizer": self.optimizer_name, "lr": self.lr, "momentum": self.momentum,
            "weight_decay": self.weight_decay, "epochs": self.epochs, "scheduler": self.scheduler_name,
            "step_size": self.step_size, "gamma": self.gamma, "warmup_epochs": self.warmup_epochs,
            "budget_minutes": self.budget_minutes, "seed": self.seed, "amp": self.amp, "grad_clip": self.grad_clip,
            "label_smoothing": self.label_smoothing, "channels_last": self.channels_last, "compile": self.compile,
            "world_size": self.world_size, "sync_bn": self.sync_bn, "model_class": type(self.model).__name__,
            "parameters": int(sum(p.numel() for p in self.model.parameters())), "user": self.user_config,
        }

    @property
    def current_lr(self) -> float:
        """Learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])

    def _set_lr(self, factor: float) -> float:
        lr = self.lr * factor
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        return lr

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
        return tqdm(total=total, desc=f"epoch {epoch}/{self.epochs}", leave=False, dynamic_ncols=True,
                    file=self.stream if self.stream is not None else sys.stderr)

    def _postfix(self, bar, loss_sum, correct, count, t0, refresh) -> None:
        rate = count * self.world_size / max(time.perf_counter() - t0, 1e-9)
        bar.set_postfix(loss=f"{loss_sum / count:.4f}", acc=f"{correct / count:.4f}", img_s=f"{rate:.0f}",
                        refresh=refresh)

    # ----------------------------------------------------------------- steps

    def _autocast(self):
        if not self.amp:
            return torch.autocast(device_type=self.device.type, enabled=False)
        dtype = torch.float16 if self.device.type == "cuda" else torch.bfloat16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def _to_device(self, x, y):
        nb = self.device.type == "cuda"
        x, y = x.to(self.device, non_blocking=nb), y.to(self.device, non_blocking=nb)
        if self.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return x, y

    def _clock(self) -> float:
        """Seconds of :meth:`fit` so far, the same on every process (rank 0's clock)."""
        now = self.elapsed + (time.perf_counter() - self._fit_clock if self._fit_clock is not None else 0.0)
        if self.world_size > 1:
            now = float(tdist.broadcast(torch.tensor([now], dtype=torch.float64, device=self.device)).item())
        return now

    @property
    def budget_seconds(self) -> float | None:
        """The time budget in seconds (None without one)."""
        return None if self.budget_minutes is None else 60.0 * self.budget_minutes

    def train_epoch(self, loader) -> dict | None:
        """One pass over ``loader`` with optimiser steps; returns ``{"loss", "accuracy", "samples", "seconds"}``.

        With a time budget the pass ends at the first step after the budget
        (``stop_reason = "budget"``); ``None`` when no step was left.

        Raises
        ------
        FloatingPointError
            As soon as a batch loss is NaN or infinite (naming epoch and step).
        """
        self.net.train()
        epoch = self.epoch + 1
        steps = len(loader) if hasattr(loader, "__len__") else None
        budget = self.budget_seconds
        bar = self._progress_bar(loader, epoch)
        loss_sum, correct, count, t0, first_lr = 0.0, 0, 0, time.perf_counter(), None
        try:
            for step, (x, y) in enumerate(loader, start=1):
                elapsed = self._clock() if budget is not None else None
                if elapsed is not None and elapsed >= budget:
                    self.stop_reason = "budget"
                    break
                lr = self._set_lr(self.scheduler.factor(self.epoch, step - 1, steps, elapsed))
                first_lr = lr if first_lr is None else first_lr
                x, y = self._to_device(x, y)
                self.optimizer.zero_grad(set_to_none=True)
                with self._autocast():
                    out = self.net(x)
                    loss = nn.functional.cross_entropy(out.float(), y, label_smoothing=self.label_smoothing)
                lt = loss.detach().reshape(1).double()
                value = float(tdist.all_reduce_sum(lt).item()) / self.world_size
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
                loss_sum += float(loss.detach()) * n
                correct += int((out.detach().argmax(dim=1) == y).sum())
                count += n
                if bar is not None:
                    bar.update(1)
                    self._postfix(bar, loss_sum, correct, count, t0, refresh=False)
                elif self.progress == "plain" and self.log_every and step % self.log_every == 0:
                    self._print(f"  epoch {epoch} step {step}: loss {value:.4f}")
        finally:
            if bar is not None:
                if count:
                    self._postfix(bar, loss_sum, correct, count, t0, refresh=True)
                bar.close()
        seconds = time.perf_counter() - t0
        totals = tdist.all_reduce_sum(torch.tensor([loss_sum, correct, count], dtype=torch.float64,
                                                   device=self.device)).tolist()
        loss_sum, correct, count = totals[0], int(totals[1]), int(totals[2])
        if count == 0:
            if self.stop_reason == "budget":
                return None
            raise ValueError("train_loader yielded no samples")
        return {"loss": loss_sum / count, "accuracy": correct / count, "samples": count, "seconds": seconds,
                "lr": first_lr}

    @torch.no_grad()
    def evaluate(self, loader, *, confusion: bool = False, reduce: bool | None = None) -> dict:
        """Mean loss and accuracy of the model (eval mode) over ``loader``.

        Parameters
        ----------
        loader : iterable of (images, labels)
        confusion : bool
            Also return the confusion matrix (``confusion[true][predicted]``
            counts) and the accuracy of every class.
        reduce : bool, optional
            Sum the counts over the processes; default: when ``loader`` is
            sharded between them (as the test loader of ``make_loaders`` is
            under torchrun).

        Returns
        -------
        dict
            ``{"loss", "accuracy", "samples"}`` (+ ``"confusion"``, ``"per_class_accuracy"``).
        """
        if self.world_size > 1:
            tdist.sync_buffers(self.model)  # every rank evaluates rank 0's model
        reduce = (self.world_size > 1 and is_sharded(loader)) if reduce is None else reduce
        was_training = self.model.training
        self.model.eval()
        loss_sum, correct, count, matrix = 0.0, 0, 0, None
        try:
            for x, y in loader:
                x, y = self._to_device(x, y)
                with self._autocast():
                    out = self.model(x)
                loss_sum += float(nn.functional.cross_entropy(out.float(), y, reduction="sum"))
                pred = out.argmax(dim=1)
                correct += int((pred == y).sum())
                count += int(y.shape[0])
                if confusion:
                    k = out.shape[1]
                    m = torch.bincount(y * k + pred, minlength=k * k).view(k, k).cpu()
                    matrix = m if matrix is None else matrix + m
        finally:
            self.model.train(was_training)
        if reduce:
            totals = tdist.all_reduce_sum(torch.tensor([loss_sum, correct, count], dtype=torch.float64,
                                                       device=self.device)).tolist()
            loss_sum, correct, count = totals[0], int(totals[1]), int(totals[2])
            if matrix is not None:
                matrix = tdist.all_reduce_sum(matrix.to(self.device, torch.int64)).cpu()  # nccl: device tensors
        if count == 0:
            raise ValueError("evaluation loader yielded no samples")
        result = {"loss": loss_sum / count, "accuracy": correct / count, "samples": count}
        if confusion:
            rows = matrix.sum(dim=1).clamp(min=1)
            result["confusion"] = matrix.tolist()
            result["per_class_accuracy"] = (matrix.diag().double() / rows).tolist()
        return result

    # ----------------------------------------------------------------- fit

    def fit(self, train_loader, val_loader=None, *, stop_epoch: int | None = None,
            on_epoch_end: Callable[["Trainer", dict], None] | None = None) -> History:
        """Train until ``epochs`` epochs are complete (or the time budget is spent).

        Parameters
        ----------
        train_loader : iterable of (images, labels)
            Its sampler's ``set_epoch(epoch)`` is called before every epoch
            when present (``EpochShuffleSampler``, ``DistributedSampler``).
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
        self._steps_per_epoch = len(train_loader) if hasattr(train_loader, "__len__") else None
        if self.resume and self.checkpoint is not None and os.path.isfile(self.checkpoint) and self.epoch == 0:
            self.load_checkpoint(self.checkpoint)
            if self.progress != "none":
                self._print(f"resumed from {self.checkpoint!r} after epoch {self.epoch}")
                if self.resume_note:
                    self._print(self.resume_note)
        elif self.epoch == 0 and self.global_step == 0:
            seed_everything(self.seed)
        last = self.epochs if stop_epoch is None else min(self.epochs, int(stop_epoch))
        best = self.history.best().get("val_acc")
        self._fit_clock = time.perf_counter()
        try:
            while self.epoch < last and self.stop_reason is None:
                if self.budget_seconds is not None and self._clock() >= self.budget_seconds:
                    self.stop_reason = "budget"
                    break
                t0 = time.perf_counter()
                set_epoch(train_loader, self.epoch)
                if self.world_size > 1:
                    seed_everything(int(np.random.SeedSequence([self.seed, self.epoch, self.rank]).generate_state(1)[0]))
                tr = self.train_epoch(train_loader)
                if tr is None:
                    break
                va = self.evaluate(val_loader) if val_loader is not None else {"loss": None, "accuracy": None}
                self.epoch += 1
                record = {
                    "epoch": self.epoch, "train_loss": tr["loss"], "train_acc": tr["accuracy"],
                    "val_loss": va["loss"], "val_acc": va["accuracy"], "lr": tr["lr"],
                    "seconds": time.perf_counter() - t0, "samples": tr["samples"],
                    "images_per_s": tr["samples"] / max(tr["seconds"], 1e-9),
                }
                self.history.append(record)
                self.elapsed += time.perf_counter() - self._fit_clock
                self._fit_clock = time.perf_counter()
                if self.progress in ("plain", "tqdm") and self.log_epochs:
                    val = "" if va["loss"] is None else f"  val loss {va['loss']:.4f}  val acc {va['accuracy']:.4f}"
                    self._print(
                        f"epoch {self.epoch}/{self.epochs}  train loss {tr['loss']:.4f}  train acc "
                        f"{tr['accuracy']:.4f}{val}  lr {record['lr']:.4g}  {record['seconds']:.2f}s"
                    )
                if self.budget_seconds is not None and self._clock() >= self.budget_seconds:
                    self.stop_reason = "budget"  # spent at the end of this epoch: its checkpoint says so
                final = self.epoch == last or self.stop_reason is not None
                if self.checkpoint is not None and (self.epoch % self.checkpoint_every == 0 or final):
                    self.save_checkpoint(self.checkpoint)
                acc = va["accuracy"]
                if self.best_checkpoint is not None and acc is not None and (best is None or acc > best):
                    best = acc
                    self._save_best()
                if on_epoch_end is not None and self.is_main:
                    on_epoch_end(self, record)
        finally:
            if self._fit_clock is not None:
                self.elapsed += time.perf_counter() - self._fit_clock
                self._fit_clock = None
        self._set_lr(self.scheduler.factor(self.epoch, 0, self._steps_per_epoch,
                                           self.elapsed if self.budget_seconds else None))
        return self.history

    def __repr__(self) -> str:
        return (
            f"Trainer(model={type(self.model).__name__}, optimizer={self.optimizer_name!r}, lr={self.lr:g}, "
            f"epochs={self.epochs}, scheduler={self.scheduler_name!r}, device={str(self.device)!r}, "
            f"world_size={self.world_size}, epoch={self.epoch})"
        )

