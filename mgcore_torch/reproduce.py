"""``mgcore reproduce``: the seed papers' tables at a scale a CPU can run, as one report.

For every table of :mod:`mgcore_torch.reproduce_tables`:

* parameter counts at the paper's scale, exactly (models built on the
  ``meta`` device), beside the paper's printed figure and, where derived
  from the authors' code, its exact count;
* accuracies of the same models at small width, trained on the digits data
  (8x8) and optionally Fashion-MNIST (28x28, a subset) for a fixed time
  budget per model and seed (SGD, momentum 0.9, weight decay 5e-4, cosine
  schedule over as many epochs as the budget allows), mean and spread over
  the seeds, with the paper's full-scale accuracy printed beside.

The report is ``report.md``, one PNG per table and ``report.json``, each
written atomically (temporary file + ``os.replace``).  ``--quick`` (CI)
trains every row on digits for a fraction of a second with one seed.
Training uses the public :class:`mgcore_torch.Trainer` and
:func:`mgcore_torch.make_loaders`.

This module imports torch only when a run starts (``mgcore --help`` stays light).

Examples
--------
>>> from mgcore_torch.reproduce import paper_matches
>>> paper_matches("8.2M", 8_278_794), paper_matches("14.7M", 14_204_712)
(True, False)
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable, Sequence

__all__ = ["reproduce", "paper_matches", "add_subcommand", "add_reproduce_arguments", "run_reproduce", "DATASETS"]

DATASETS = ("digits", "fashion-mnist")
#: ``--quick`` (CI): digits (256 training images), one epoch, one seed, the first two rows of every table.
QUICK = dict(budget=None, epochs=1, seeds=1, datasets=("digits",), rows_per_table=2, train_images=256)
#: The full run: every row, 3 seeds, a 4-second training budget per model and seed.
FULL = dict(budget=4.0, epochs=None, seeds=3, datasets=("digits",), rows_per_table=None, train_images=None)


# --------------------------------------------------------------------------- helpers
def paper_matches(paper: str, count: int) -> bool:
    """Does ``count`` round or truncate to the paper's figure (``"8.2M"``, ``"11M"``)?"""
    if not paper or not paper.endswith("M"):
        return False
    text = paper[:-1]
    decimals = len(text.split(".")[1]) if "." in text else 0
    value, m = float(text), count / 1e6
    scale = 10 ** decimals
    return round(m, decimals) == value or math.floor(m * scale) / scale == value


def _umask_mode() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    os.chmod(tmp, _umask_mode())  # mkstemp creates 0600; give the file the usual permissions
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _atomic_png(fig: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=path.parent)
    os.close(fd)
    os.chmod(tmp, _umask_mode())
    try:
        fig.savefig(tmp, dpi=110)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _check_args(budget, epochs, seeds, datasets, tables, rows_per_table, threads, fashion_train, fashion_test) -> None:
    from .reproduce_tables import EXPERIMENTS

    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0):
        raise ValueError(f"budget must be a positive number of seconds, got {budget!r}")
    checks = [(seeds, "seeds"), (threads, "threads"), (fashion_train, "fashion_train"), (fashion_test, "fashion_test")]
    checks += [(v, n) for v, n in ((epochs, "epochs"), (rows_per_table, "rows_per_table")) if v is not None]
    for value, name in checks:
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    bad = [d for d in datasets if d not in DATASETS]
    if bad or not datasets:
        raise ValueError(f"datasets must be a non-empty subset of {DATASETS}, got {list(datasets)!r}")
    keys = [e.key for e in EXPERIMENTS]
    bad = [t for t in (tables or ()) if t not in keys]
    if bad:
        raise ValueError(f"tables must be among {keys}, got {bad}")


# --------------------------------------------------------------------------- counts
def _count_rows() -> list[dict]:
    import torch

    from .models import get_model
    from .reproduce_tables import COUNT_ROWS

    out = []
    for row in COUNT_ROWS:
        with torch.device("meta"):
            model = get_model(row.model, **row.config)
        n = sum(p.numel() for p in model.parameters())
        if row.reference is not None:
            status = "exact" if n == row.reference else "differs from the reference code"
        elif not row.paper:
            status = "-"
        elif paper_matches(row.paper, n):
            status = "matches"
        else:
            rel = abs(n / 1e6 - float(row.paper[:-1])) / float(row.paper[:-1])
            status = "within 1%" if rel <= 0.01 else "differs"
        out.append(dict(table=row.table, label=row.label, model=row.model, config=_jsonable(row.config), paper=row.paper,
                        reference=row.reference, ours=n, status=status, note=row.note))
    return out


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    return obj if isinstance(obj, (int, float, str, bool, type(None))) else repr(obj)


# --------------------------------------------------------------------------- data and training
def _head(ds, n: int | None):
    """The first ``n`` images of a data set (the digits split and the IDX files are shuffled)."""
    if n is None or n >= len(ds.labels):
        return ds
    return type(ds)(ds.images[:n].contiguous(), ds.labels[:n], ds.classes, name=ds.name)


def _load(name: str, fashion_train: int, fashion_test: int, train_images: int | None = None,
          fashion_size: int | None = None):
    from . import load_dataset, load_digits_dataset

    if name == "digits":
        train, test = load_digits_dataset()
        return _head(train, train_images), test
    train, test = load_dataset("fashion-mnist", size=fashion_size)
    return _head(train, train_images or fashion_train), _head(test, fashion_test)


def _epochs_for_budget(model, loader, budget: float, max_epochs: int = 200) -> int:
    """Epochs that fit in ``budget`` seconds, from timing a few forward/backward passes on a copy."""
    import torch
    import torch.nn.functional as F

    probe = copy.deepcopy(model).train()
    batches = []
    for i, (x, y) in enumerate(loader):
        batches.append((x, y))
        if i >= 2:
            break
    times = []
    for x, y in batches:
        t0 = time.perf_counter()
        loss = F.cross_entropy(probe(x), y)
        loss.backward()
        times.append(time.perf_counter() - t0)
    step = statistics.median(times[1:] or times) * 1.2  # optimiser step and loader overhead
    per_epoch = step * max(1, len(loader))
    del probe, torch
    return max(1, min(max_epochs, int(budget / per_epoch)))


def _train(row, data, seed: int, budget: float | None, device: str, epochs: int | None = None) -> dict:
    """Train one row: ``epochs`` epochs, or as many as ``budget`` seconds allow (stopping early if time runs out)."""
    import torch

    from . import Trainer, make_loaders
    from .models import get_model

    train, test = data
    torch.manual_seed(seed)
    model = get_model(row.model, in_channels=int(train.images.shape[1]), num_classes=len(train.classes), **row.config)
    train_loader, test_loader = make_loaders((train, test), batch_size=64, seed=seed, normalize=True)
    t0 = time.perf_counter()
    planned = epochs if epochs is not None else _epochs_for_budget(model, train_loader, budget)
    trainer = Trainer(model, optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4, epochs=planned,
                      scheduler="cosine", device=device, seed=seed, progress="none")
    for e in range(1, planned + 1):  # a shared machine: stop when the budget is spent
        history = trainer.fit(train_loader, stop_epoch=e)
        if budget is not None and time.perf_counter() - t0 > budget:
            break
    epochs = e
    ev = trainer.evaluate(test_loader)
    last = history.last()
    train_loss = float(last["train_loss"])
    return dict(seed=seed, epochs=epochs, planned_epochs=planned, seconds=time.perf_counter() - t0, accuracy=float(ev["accuracy"]),
                train_accuracy=float(last["train_acc"]), train_loss=train_loss,
                diverged=not math.isfinite(train_loss), params=sum(p.numel() for p in model.parameters()))


def _summary(runs: list[dict]) -> dict:
    accs = [100.0 * r["accuracy"] for r in runs]
    return dict(mean=statistics.fmean(accs), std=statistics.stdev(accs) if len(accs) > 1 else 0.0,
                accuracies=accs, epochs=[r["epochs"] for r in runs], seconds=sum(r["seconds"] for r in runs),
                params=runs[0]["params"], diverged=sum(r["diverged"] for r in runs))


# --------------------------------------------------------------------------- report
def _plot(exp: dict, datasets: Sequence[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = exp["rows"]
    n = len(rows)
    fig, ax = plt.subplots(figsize=(9, 0.42 * n + 1.6))
    height = 0.8 / max(1, len(datasets))
    for k, d in enumerate(datasets):
        ys = [i + k * height for i in range(n)]
        ax.barh(ys, [r["measured"][d]["mean"] for r in rows], height=height,
                xerr=[r["measured"][d]["std"] for r in rows], label=f"measured ({d}, small scale)", alpha=0.75)
    paper = [(i, r["paper"]) for i, r in enumerate(rows) if r["paper"] is not None]
    if paper:
        ax.plot([p for _, p in paper], [i for i, _ in paper], "kD", label=f"paper ({exp['paper_data']}, full scale)")
    ax.set_yticks(range(n))
    ax.set_yticklabels([r["label"] for r in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("test accuracy (%)")
    ax.set_xlim(0, 100)
    ax.set_title(f"{exp['title']}\n{exp['source']}", fontsize=9)
    ax.legend(fontsize=7, loc="lower left")
    fig.tight_layout()
    _atomic_png(fig, path)
    plt.close(fig)


def _markdown(report: dict) -> str:
    s = report["settings"]
    how = f"{s['budget']:g} s per model and seed" if s["budget"] is not None else f"{s['epochs']} epoch(s)"
    if s["train_images"]:
        how += f" on the first {s['train_images']} training images"
    if s["rows_per_table"]:
        how += f", the first {s['rows_per_table']} rows of each table"
    lines = [
        "# Reproduction report: the seed papers' tables at small scale", "",
        f"Command: `{s['command']}`  ", f"Generated {s['date']} on {s['machine']} ({s['threads']} torch thread(s)); "
        f"total {report['seconds']:.1f} s (wall clock, a shared machine: times are indicative).", "",
        "Accuracies are measured at a scale this CPU can train (small widths, "
        f"{', '.join(s['datasets'])}, {how}, {s['seeds']} seed(s): mean +- std); the "
        "paper's figure is the full-scale result on the paper's data set, printed beside for orientation, not as "
        "a target.  Parameter counts are those of the full-scale models and are meant to agree.", "",
        "## Parameter counts at the papers' scale", "",
        "| table | model | paper | authors' code | ours | status | note |", "|---|---|---|---|---|---|---|",
    ]
    for c in report["counts"]:
        ref = f"{c['reference']:,}" if c["reference"] is not None else ""
        lines.append(f"| {c['table']} | {c['label']} | {c['paper']} | {ref} | {c['ours']:,} | {c['status']} | {c['note']} |")
    for exp in report["experiments"]:
        lines += ["", f"## {exp['title']}", "", f"Source: {exp['source']} (paper data: {exp['paper_data']}).", "",
                  f"![{exp['key']}]({exp['png']})", ""]
        head = "| model | params (small) | " + " | ".join(f"{d} acc % (epochs)" for d in s["datasets"]) + " | paper acc % |"
        lines += [head, "|" + "---|" * (3 + len(s["datasets"]))]
        for r in exp["rows"]:
            cells = []
            for d in s["datasets"]:
                m = r["measured"][d]
                flag = " (diverged)" if m["diverged"] else ""
                cells.append(f"{m['mean']:.2f} +- {m['std']:.2f} ({'/'.join(map(str, m['epochs']))}){flag}")
            paper = "" if r["paper"] is None else f"{r['paper']:.2f}"
            lines.append(f"| {r['label']} | {r['params']:,} | " + " | ".join(cells) + f" | {paper} |")
    lines += ["", "Files: `report.json` holds every number of this report (per-seed accuracies included).", ""]
    return "\n".join(lines)


def reproduce(out: str | os.PathLike = "mgcore-reproduce", *, quick: bool = False, budget: float | None = None,
              epochs: int | None = None, seeds: int | None = None, datasets: Sequence[str] | None = None,
              tables: Sequence[str] | None = None, rows_per_table: int | None = None, threads: int = 1,
              device: str = "cpu", fashion_train: int = 6000, fashion_test: int = 2000, fashion_size: int | None = 14,
              command: str = "", log: Callable[[str], None] | None = print) -> dict:
    """Run the reproduction and write ``report.md``, ``report.json`` and one PNG per table into ``out``.

    Parameters
    ----------
    out : path
        Output directory (created).
    quick : bool
        CI settings (:data:`QUICK`): all counts; the first two rows of every
        table trained one epoch on 512 digits images, one seed.
    budget : float
        Training seconds per model and seed (default 4): the epochs are
        estimated from timed passes, and training stops once the budget is
        spent (a shared machine).
    epochs : int, optional
        A fixed number of epochs instead of a budget.
    seeds : int
        Seeds per model (default 3; quick 1).
    datasets : sequence of {"digits", "fashion-mnist"}
        Data sets (default digits).  Fashion-MNIST uses the first
        ``fashion_train`` / ``fashion_test`` images, resized to
        ``fashion_size`` (default 14; None keeps 28x28).
    tables : sequence of str, optional
        Keys of :data:`~mgcore_torch.reproduce_tables.EXPERIMENTS` (default all).
    rows_per_table : int, optional
        Train only the first rows of each table (default all; quick 2).
    threads : int
        ``torch.set_num_threads``.
    device : str
        Training device (``"cpu"``, ``"cuda"``).
    log : callable, optional
        Progress lines (default ``print``; None for silence).

    Returns
    -------
    dict
        The report (also in ``report.json``).
    """
    base = QUICK if quick else FULL
    if epochs is None and budget is None:
        budget, epochs = base["budget"], base["epochs"]
    seeds = base["seeds"] if seeds is None else seeds
    datasets = tuple(base["datasets"] if datasets is None else datasets)
    rows_per_table = base["rows_per_table"] if rows_per_table is None else rows_per_table
    _check_args(budget, epochs, seeds, datasets, tables, rows_per_table, threads, fashion_train, fashion_test)
    if fashion_size is not None and (isinstance(fashion_size, bool) or not isinstance(fashion_size, int)
                                     or fashion_size < 4):
        raise ValueError(f"fashion_size must be an int >= 4 or None, got {fashion_size!r}")
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise ImportError("mgcore reproduce writes PNGs with matplotlib: pip install 'mgcore[plot]'") from exc
    import torch

    from .reproduce_tables import EXPERIMENTS

    say = log or (lambda _msg: None)
    torch.set_num_threads(threads)
    out = Path(out)
    t_start = time.perf_counter()
    say("parameter counts at the papers' scale ...")
    counts = _count_rows()
    data = {d: _load(d, fashion_train, fashion_test, base["train_images"], fashion_size) for d in datasets}
    experiments = []
    for exp in EXPERIMENTS:
        if tables and exp.key not in tables:
            continue
        todo = exp.rows[:rows_per_table] if rows_per_table else exp.rows
        say(f"{exp.key}: {exp.title} ({len(todo)} models x {len(datasets)} data set(s) x {seeds} seed(s))")
        rows = []
        for row in todo:
            measured = {d: _summary([_train(row, data[d], s, budget, device, epochs) for s in range(seeds)])
                        for d in datasets}
            rows.append(dict(label=row.label, model=row.model, config=_jsonable(row.config), paper=row.paper,
                             params=measured[datasets[0]]["params"], measured=measured))
            say("  " + row.label + ": " + ", ".join(f"{d} {m['mean']:.1f}%" for d, m in measured.items())
                + ("" if row.paper is None else f"  (paper {row.paper:.2f})"))
        experiments.append(dict(key=exp.key, title=exp.title, source=exp.source, paper_data=exp.paper_data,
                                png=f"{exp.key}.png", rows=rows))
    report = dict(
        settings=dict(quick=quick, budget=budget, epochs=epochs, seeds=seeds, datasets=list(datasets),
                      tables=list(tables or []), rows_per_table=rows_per_table, train_images=base["train_images"],
                      threads=threads, device=device, fashion_train=fashion_train, fashion_test=fashion_test,
                      fashion_size=fashion_size,
                      command=command or "mgcore reproduce" + (" --quick" if quick else ""),
                      date=time.strftime("%Y-%m-%d %H:%M:%S"), machine=f"{platform.machine()} {platform.system()}",
                      python=platform.python_version(), torch=torch.__version__, cpus=os.cpu_count()),
        counts=counts, experiments=experiments,
    )
    report["seconds"] = time.perf_counter() - t_start
    for exp in experiments:
        _plot(exp, datasets, out / exp["png"])
    _atomic_write(out / "report.json", (json.dumps(report, indent=1) + "\n").encode())
    _atomic_write(out / "report.md", _markdown(report).encode())
    say(f"report written to {out / 'report.md'} ({report['seconds']:.1f} s)")
    return report


# --------------------------------------------------------------------------- CLI
def add_reproduce_arguments(p: argparse.ArgumentParser) -> None:
    """Options of ``mgcore reproduce`` (no torch import)."""
    p.add_argument("--quick", action="store_true",
                   help="CI settings: all counts; 2 rows per table, 1 epoch on 256 digits, 1 seed")
    p.add_argument("--out", default="mgcore-reproduce", help="output directory (default ./mgcore-reproduce)")
    p.add_argument("--data", default=None, help=f"comma-separated data sets from {DATASETS} (default digits)")
    p.add_argument("--budget", type=float, default=None, help="training seconds per model and seed (default 4)")
    p.add_argument("--epochs", type=int, default=None, help="a fixed number of epochs instead of --budget")
    p.add_argument("--rows", type=int, default=None, help="train only the first ROWS rows of each table")
    p.add_argument("--seeds", type=int, default=None, help="seeds per model (default 3)")
    p.add_argument("--tables", default=None, help="comma-separated table keys (default all)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--device", default="cpu", help="training device (default cpu)")
    p.add_argument("--fashion-train", type=int, default=6000, help="Fashion-MNIST training images used (default 6000)")
    p.add_argument("--fashion-test", type=int, default=2000, help="Fashion-MNIST test images used (default 2000)")
    p.add_argument("--fashion-size", type=int, default=14, help="Fashion-MNIST image size (default 14; 28 = full)")
    p.add_argument("--json", action="store_true", help="print the report as JSON instead of progress lines")


def run_reproduce(args: argparse.Namespace) -> int:
    """Run ``mgcore reproduce`` with parsed arguments; returns the exit status."""
    split = (lambda s: None if s is None else tuple(t.strip() for t in s.split(",") if t.strip()))
    report = reproduce(args.out, quick=args.quick, budget=args.budget, epochs=args.epochs, seeds=args.seeds,
                       datasets=split(args.data), tables=split(args.tables), rows_per_table=args.rows,
                       threads=args.threads, device=args.device,
                       fashion_train=args.fashion_train, fashion_test=args.fashion_test,
                       fashion_size=None if args.fashion_size == 28 else args.fashion_size,
                       command="mgcore " + " ".join(sys.argv[1:]) if sys.argv[1:2] == ["reproduce"] else "",
                       log=None if args.json else print)
    if args.json:
        print(json.dumps(report))
    return 0


def add_subcommand(sub: Any) -> argparse.ArgumentParser:
    """Add ``reproduce`` to the ``mgcore`` subcommands (``sub`` from ``add_subparsers``)."""
    p = sub.add_parser("reproduce", help="reproduce the seed papers' tables at small scale (Markdown + PNG + JSON report)",
                       description="Parameter counts of the seed papers' models at full scale and accuracies at small "
                                   "scale, written as report.md, one PNG per table and report.json.")
    add_reproduce_arguments(p)
    p.set_defaults(func=run_reproduce)
    return p
