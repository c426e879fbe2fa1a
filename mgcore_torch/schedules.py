"""Learning-rate schedules of the trainer, evaluated at every optimiser step.

``lr = base_lr * warmup(t) * shape(p)`` where ``t`` is the number of epochs
done so far (fractional: ``epoch + step / steps_per_epoch``) and ``p`` the
progress of the run in ``[0, 1]`` -- ``t / epochs``, or, with a time budget,
``elapsed seconds / budget seconds``:

* ``"cosine"`` -- ``shape = (1 + cos(pi p)) / 2``: cosine annealing to 0 at
  the end of the run (Loshchilov & Hutter, "SGDR: Stochastic Gradient
  Descent with Warm Restarts", ICLR 2017, eq. 5 without restarts), the
  schedule of the Poly-MgNet experiments (van Betteray, Rottmann & Kahl,
  2025, Section 4);
* ``"step"`` -- ``shape = gamma ** (epoch // step_size)``: multiply by
  ``gamma`` every ``step_size`` epochs (He & Xu, MgNet, 2019, Section 9.2:
  divide by 10 every 30 epochs);
* ``"none"`` -- constant.

``warmup(t) = min(1, (t + 1 / steps_per_epoch) / warmup_epochs)`` rises
linearly over the first ``warmup_epochs`` (which may be a fraction).

Because the learning rate is a function of ``(t, p)`` only, a run extended
to more epochs (or a larger budget) continues on the schedule laid out over
the new length, and a resumed run reproduces the uninterrupted one.

Examples
--------
>>> s = LRSchedule("cosine", epochs=4)
>>> [round(s.factor(e, 0, 10), 4) for e in range(5)]
[1.0, 0.8536, 0.5, 0.1464, 0.0]
>>> LRSchedule("step", epochs=9, step_size=3, gamma=0.5).factor(7, 0, 10)
0.25
"""

from __future__ import annotations

import math

from .options import SCHEDULERS

__all__ = ["LRSchedule", "SCHEDULERS"]


class LRSchedule:
    """A per-step learning-rate factor (see the module docstring).

    Parameters
    ----------
    kind : {"cosine", "step", "none"}
        Shape of the schedule.
    epochs : int
        Length of the run in epochs (the progress ``p = t / epochs``).
    step_size : int, optional
        Epochs between decays of ``"step"``; default ``max(1, epochs // 3)``.
    gamma : float
        Decay factor of ``"step"``.
    warmup_epochs : float
        Length of the linear warm-up (0: none).
    budget_seconds : float, optional
        With a time budget the progress is ``elapsed / budget_seconds``.
    """

    def __init__(self, kind: str = "cosine", epochs: int = 10, step_size: int | None = None, gamma: float = 0.1,
                 warmup_epochs: float = 0.0, budget_seconds: float | None = None):
        if kind not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {SCHEDULERS}, got {kind!r}")
        if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
            raise ValueError(f"epochs must be an int >= 1, got {epochs!r}")
        if step_size is None:
            step_size = max(1, epochs // 3)
        if isinstance(step_size, bool) or not isinstance(step_size, int) or step_size < 1:
            raise ValueError(f"step_size must be an int >= 1, got {step_size!r}")
        if not (isinstance(gamma, (int, float)) and math.isfinite(gamma) and gamma > 0):
            raise ValueError(f"gamma must be a finite number > 0, got {gamma!r}")
        if not (isinstance(warmup_epochs, (int, float)) and math.isfinite(warmup_epochs) and warmup_epochs >= 0):
            raise ValueError(f"warmup_epochs must be a finite number >= 0, got {warmup_epochs!r}")
        if budget_seconds is not None and not (isinstance(budget_seconds, (int, float)) and budget_seconds > 0):
            raise ValueError(f"budget_seconds must be > 0 or None, got {budget_seconds!r}")
        self.kind = kind
        self.epochs = epochs
        self.step_size = step_size
        self.gamma = float(gamma)
        self.warmup_epochs = float(warmup_epochs)
        self.budget_seconds = None if budget_seconds is None else float(budget_seconds)

    def progress(self, t: float, elapsed: float | None = None) -> float:
        """Progress ``p`` in ``[0, 1]`` after ``t`` epochs (or ``elapsed`` seconds of a budget)."""
        if self.budget_seconds is not None and elapsed is not None:
            p = elapsed / self.budget_seconds
        else:
            p = t / self.epochs
        return min(1.0, max(0.0, p))

    def factor(self, epoch: int, step: int = 0, steps_per_epoch: int | None = None,
               elapsed: float | None = None) -> float:
        """The learning-rate factor of step ``step`` (0-based) of epoch ``epoch`` (0-based)."""
        spe = steps_per_epoch if steps_per_epoch else None
        t = epoch + (step / spe if spe else 0.0)
        if self.kind == "cosine":
            shape = 0.5 * (1.0 + math.cos(math.pi * self.progress(t, elapsed)))
        elif self.kind == "step":
            shape = self.gamma ** (epoch // self.step_size)
        else:
            shape = 1.0
        if self.warmup_epochs > 0:
            t_end = t + (1.0 / spe if spe else 1.0)
            shape *= min(1.0, t_end / self.warmup_epochs)
        return shape

    def describe(self) -> str:
        """One line for logs, e.g. ``'cosine over 10 epochs, 0.5 warm-up epochs'``."""
        length = (f"a {self.budget_seconds / 60:g}-minute budget" if self.budget_seconds is not None
                  else f"{self.epochs} epochs")
        if self.kind == "cosine":
            text = f"cosine over {length}"
        elif self.kind == "step":
            text = f"x{self.gamma:g} every {self.step_size} epochs"
        else:
            text = "constant"
        if self.warmup_epochs > 0:
            text += f", {self.warmup_epochs:g} warm-up epochs"
        return text

    def state_dict(self) -> dict:
        """The settings as plain data."""
        return {"kind": self.kind, "epochs": self.epochs, "step_size": self.step_size, "gamma": self.gamma,
                "warmup_epochs": self.warmup_epochs, "budget_seconds": self.budget_seconds}

    def __repr__(self) -> str:
        return f"LRSchedule({self.describe()!r})"
