"""Checkpoints of the :class:`~mgcore_torch.trainer.Trainer`: what is saved, and how a run is resumed.

A checkpoint holds only tensors and plain data (model, optimiser and
gradient-scaler state, epoch and step counters, the schedule's settings, the
RNG states, the configuration, the history and the seconds spent), is
written atomically by the main process and read with
``torch.load(..., weights_only=True)`` (:mod:`mgcore_torch.checkpoint`).

Resuming checks the checkpoint before any weight is copied: another model
is a ValueError naming both models; another optimiser or schedule kind is
refused; another length (``epochs``, ``budget_minutes``) is refused unless
``extend=True`` -- then the learning rate continues on the schedule laid
out over the new length and :attr:`resume_note` says how.
"""

from __future__ import annotations

import os

import torch

from .checkpoint import (CHECKPOINT_FORMAT, CHECKPOINT_VERSION, atomic_copy, atomic_torch_save, check_weights_fit,
                         read_checkpoint, rng_state, set_rng_state)
from .records import History

__all__ = ["CheckpointMixin"]


class CheckpointMixin:
    """Checkpoint methods of :class:`~mgcore_torch.trainer.Trainer` (see the module docstring)."""

    def _save_best(self) -> None:
        if not self.is_main:
            return
        if self._last_saved == (self.checkpoint, self.epoch) and os.path.isfile(self.checkpoint):
            atomic_copy(self.checkpoint, self.best_checkpoint)  # the checkpoint just written is the best one
        else:
            self.save_checkpoint(self.best_checkpoint)

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
            "scheduler": self.scheduler.state_dict(),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "rng": rng_state(),
            "config": self.config,
            "history": self.history.to_dict(),
            "elapsed_seconds": float(self.elapsed),
            "stop_reason": self.stop_reason,
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
        self._last_saved = (os.fspath(path), self.epoch)

    def _check_resumable(self, path: str, cfg: dict, ckpt: dict) -> None:
        """Refuse checkpoints of other settings; with ``extend``, re-lay the schedule over the new length."""
        for key, mine in (("optimizer", self.optimizer_name), ("scheduler", self.scheduler_name)):
            if cfg.get(key) != mine:
                raise ValueError(
                    f"checkpoint {path!r} was written with {key}={cfg.get(key)!r}, this trainer uses {key}={mine!r}"
                )
        done = int(ckpt["epoch"])
        old_epochs, old_budget = cfg.get("epochs"), cfg.get("budget_minutes")
        changed = []
        if self.scheduler_name != "none" and old_epochs != self.epochs:
            changed.append(("epochs", old_epochs, self.epochs))
        if old_budget != self.budget_minutes:
            changed.append(("budget_minutes", old_budget, self.budget_minutes))
        if changed and not self.extend:
            what = ", ".join(f"{k}={a!r}" for k, a, _ in changed)
            now = ", ".join(f"{k}={b!r}" for k, _, b in changed)
            raise ValueError(
                f"checkpoint {path!r} was written for {what} with the {self.scheduler_name!r} schedule; resuming "
                f"with {now} would change the schedule: pass extend=True to continue on the schedule laid out "
                f"over the new length (mgcore train --resume does), or resume with the same settings"
            )
        if self.epochs < done:
            raise ValueError(f"checkpoint {path!r} has completed {done} epochs, more than epochs={self.epochs}")
        if not self._step_size_given and isinstance(cfg.get("step_size"), int):
            self.step_size = cfg["step_size"]  # the step schedule keeps its decay epochs
            self.scheduler = self._build_schedule()
        if changed:
            spe = getattr(self, "_steps_per_epoch", None)
            old_lr = float(ckpt["optimizer"]["param_groups"][0]["lr"])
            new_lr = self.lr * self.scheduler.factor(done, 0, spe, ckpt.get("elapsed_seconds")
                                                     if self.budget_minutes else None)
            desc = ", ".join(f"{k} {a} -> {b}" for k, a, b in changed)
            self.resume_note = (f"extending the run ({desc}): the schedule is now {self.scheduler.describe()}; "
                                f"epoch {done + 1} starts at lr {new_lr:.4g} (the checkpoint's last lr was "
                                f"{old_lr:.4g})")

    def load_checkpoint(self, path=None, *, restore_rng: bool = True) -> dict:
        """Restore model, optimiser, scaler, epoch, history, elapsed time and RNG states.

        Reads with ``torch.load(..., weights_only=True)``
        (:func:`~mgcore_torch.checkpoint.read_checkpoint`).

        Parameters
        ----------
        path : str or os.PathLike, optional
            Default: the ``checkpoint`` given to the constructor.
        restore_rng : bool
            Also restore the global RNG states (needed for bit-identical resumption).

        Returns
        -------
        dict
            The raw checkpoint.

        Raises
        ------
        ValueError
            If the checkpoint was written with another optimiser or schedule,
            for another length without ``extend=True``, or for another model
            (the message names both models).
        """
        path = path if path is not None else self.checkpoint
        if path is None:
            raise ValueError("path must be given (the trainer has no checkpoint path)")
        path = os.fspath(path)
        ckpt = read_checkpoint(path, map_location=self.device)
        cfg = ckpt.get("config", {})
        check_weights_fit(self.model, ckpt["model"], path=path, theirs=cfg, mine=self.config)
        self._check_resumable(path, cfg, ckpt)
        self.model.load_state_dict(ckpt["model"])
        if self.channels_last:
            self.model.to(memory_format=torch.channels_last)
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if self.scaler is not None and ckpt.get("scaler") is not None:
            self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch = int(ckpt["epoch"])
        self.global_step = int(ckpt.get("global_step", 0))
        self.history = History.from_dict(ckpt.get("history", {}))
        self.elapsed = float(ckpt.get("elapsed_seconds", 0.0))
        self.stop_reason = None
        if self.budget_seconds is not None and self.elapsed >= self.budget_seconds:
            self.stop_reason = "budget"
        if restore_rng and ckpt.get("rng") is not None:
            set_rng_state(ckpt["rng"])
        return ckpt
