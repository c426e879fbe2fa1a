"""Records of a training run: the per-epoch :class:`History` and the files of a run folder.

``mgcore train --out DIR`` keeps everything about a run in one folder
(:class:`RunFolder`): ``config.json`` (all settings), ``metrics.csv`` and
``metrics.json`` (one row per epoch), ``last.pt`` and ``best.pt`` (trainer
checkpoints after the last epoch and after the epoch with the best test
accuracy) and ``curves.png`` (loss and accuracy against the epoch).  Every
file is rewritten atomically after each epoch, by the main process only.

Examples
--------
>>> h = History()
>>> h.append({"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "val_loss": 0.4, "val_acc": 0.85,
...           "lr": 0.1, "seconds": 2.0})
>>> history_csv(h).splitlines()[0]
'epoch,train_loss,train_acc,val_loss,val_acc,lr,seconds,samples,images_per_s'
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import asdict, dataclass, field

from .checkpoint import atomic_write_bytes, atomic_write_text

__all__ = ["History", "RunFolder", "history_csv", "plot_curves", "plot_confusion"]


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
        Learning rate (first parameter group) at the first step of the epoch.
    seconds : list of float
        Wall-clock seconds of the epoch (training and validation).
    samples : list of int
        Training images seen in the epoch, summed over the processes (fewer
        than the data set when a time budget ended the epoch early).
    images_per_s : list of float
        Training throughput of the epoch (all processes, training steps only).
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    samples: list = field(default_factory=list)
    images_per_s: list = field(default_factory=list)

    def append(self, record: dict) -> None:
        """Append one epoch's record (a dict with the attribute names as keys)."""
        for k in self.keys():
            getattr(self, k).append(record.get(k))

    @staticmethod
    def keys() -> tuple[str, ...]:
        """The recorded quantities."""
        return ("epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr", "seconds", "samples",
                "images_per_s")

    def __len__(self) -> int:
        return len(self.epoch)

    def records(self) -> list[dict]:
        """One dict per epoch."""
        return [{k: getattr(self, k)[i] for k in self.keys()} for i in range(len(self))]

    def last(self) -> dict:
        """The record of the last epoch (``{}`` when empty)."""
        return self.records()[-1] if len(self) else {}

    def best(self) -> dict:
        """The record with the highest ``val_acc`` (``{}`` without validation)."""
        recs = [r for r in self.records() if r.get("val_acc") is not None]
        return max(recs, key=lambda r: r["val_acc"]) if recs else {}

    def to_dict(self) -> dict:
        """Plain JSON-able dict of lists."""
        return {k: list(v) for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> "History":
        """Inverse of :meth:`to_dict` (missing quantities of older records are filled with ``None``)."""
        if not isinstance(d, dict):
            raise TypeError(f"history must be a dict, got {type(d).__name__}")
        n = len(d.get("epoch", []))
        return cls(**{k: list(d[k]) if k in d else [None] * n for k in cls.keys()})


def history_csv(history: History) -> str:
    """The history as CSV text (header row, then one row per epoch; empty fields for ``None``)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(History.keys())
    for r in history.records():
        w.writerow(["" if r[k] is None else r[k] for k in History.keys()])
    return buf.getvalue()


def _pyplot():
    try:
        import matplotlib
    except ImportError as exc:
        raise ImportError("plots need matplotlib: pip install 'mgcore[plot]'") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_png(fig, path) -> None:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    atomic_write_bytes(path, buf.getvalue())


def plot_curves(history: History, path, title: str = "") -> None:
    """Write loss and accuracy (train and test) against the epoch as a PNG, atomically."""
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    ep = history.epoch
    for ax, key, name in ((ax1, "loss", "loss"), (ax2, "acc", "accuracy")):
        ax.plot(ep, getattr(history, f"train_{key}"), "o-", label="train")
        val = getattr(history, f"val_{key}")
        if any(v is not None for v in val):
            ax.plot([e for e, v in zip(ep, val) if v is not None], [v for v in val if v is not None], "s-",
                    label="test")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.grid(True, alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    _save_png(fig, path)
    plt.close(fig)


def plot_confusion(confusion, classes, path, title: str = "") -> None:
    """Write a confusion matrix (rows: true class, columns: prediction) as a PNG, atomically."""
    plt = _pyplot()
    k = len(confusion)
    fig, ax = plt.subplots(figsize=(1.0 + 0.55 * k, 0.8 + 0.5 * k))
    im = ax.imshow(confusion, cmap="Blues")
    ax.set_xticks(range(k))
    ax.set_yticks(range(k))
    ax.set_xticklabels(classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticklabels(classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    if k <= 20:
        top = max(max(row) for row in confusion) or 1
        for i in range(k):
            for j in range(k):
                v = confusion[i][j]
                ax.text(j, i, str(v), ha="center", va="center", fontsize=7,
                        color="white" if v > 0.6 * top else "black")
    fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    _save_png(fig, path)
    plt.close(fig)


class RunFolder:
    """The files of one training run in ``path`` (created if missing).

    Attributes
    ----------
    config, metrics_csv, metrics_json, last, best, curves : str
        ``config.json``, ``metrics.csv``, ``metrics.json``, ``last.pt``,
        ``best.pt`` and ``curves.png`` in the folder.
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if os.path.exists(self.path) and not os.path.isdir(self.path):
            raise ValueError(f"--out must be a directory, {self.path!r} is a file")
        self.config = os.path.join(self.path, "config.json")
        self.metrics_csv = os.path.join(self.path, "metrics.csv")
        self.metrics_json = os.path.join(self.path, "metrics.json")
        self.last = os.path.join(self.path, "last.pt")
        self.best = os.path.join(self.path, "best.pt")
        self.curves = os.path.join(self.path, "curves.png")

    def write_config(self, config: dict) -> None:
        """``config.json``."""
        atomic_write_text(self.config, json.dumps(config, indent=2, sort_keys=True) + "\n")

    def write_metrics(self, history: History, title: str = "", plot: bool = True) -> None:
        """``metrics.csv``, ``metrics.json`` and (with matplotlib) ``curves.png``."""
        atomic_write_text(self.metrics_csv, history_csv(history))
        atomic_write_text(self.metrics_json, json.dumps(history.records(), indent=1) + "\n")
        if plot and len(history):
            try:
                plot_curves(history, self.curves, title)
            except ImportError:
                pass  # matplotlib missing: the CSV/JSON metrics are still there

    def __repr__(self) -> str:
        return f"RunFolder({self.path!r})"
