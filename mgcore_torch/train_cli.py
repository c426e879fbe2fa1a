"""The command lines ``mgcore train``, ``mgcore evaluate`` and ``mgcore models``.

Building the parsers imports nothing heavy (the choices and defaults come
from :mod:`mgcore_torch.options`); torch is imported when a command runs.
``mgcore/cli.py`` calls :func:`add_train_parser`, :func:`add_evaluate_parser`
and :func:`add_models_parser`; :func:`train_main` runs ``mgcore train`` on
its own (``python -m mgcore_torch.train``).

The same ``mgcore train ...`` runs data-parallel under torchrun, e.g.
``torchrun --standalone --nproc_per_node=2 -m mgcore train --data digits``:
each process trains on its shard, rank 0 prints and writes the files.

Examples
--------
>>> import argparse
>>> p = argparse.ArgumentParser()
>>> add_train_arguments(p)
>>> resolve_train_args(p.parse_args(["--preset", "fashion-5min", "--lr", "0.2"])).lr
0.2
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time

from .options import DATASET_INFO, DATASETS, OPTIMIZERS, PAD_MODES, SCHEDULERS, TRAIN_PRESETS

__all__ = [
    "TRAIN_DEFAULTS",
    "add_train_arguments",
    "add_train_parser",
    "add_evaluate_parser",
    "add_models_parser",
    "resolve_train_args",
    "run_train",
    "run_evaluate",
    "run_models",
    "train_main",
    "parameter_count",
]

#: Defaults of ``mgcore train`` (a ``--preset`` replaces them, explicit options win over both).
TRAIN_DEFAULTS = {
    "model": "mgnet-small", "model_args": "{}", "data": "digits", "data_root": None, "image_size": None,
    "epochs": 10, "batch_size": 64, "lr": 0.05, "optimizer": "sgd", "momentum": 0.9, "weight_decay": 5e-4,
    "scheduler": "cosine", "step_size": None, "gamma": 0.1, "warmup_epochs": 0.0, "label_smoothing": 0.0,
    "augment": False, "crop_padding": None, "pad_mode": "zero", "flip": None, "erasing": 0.0,
    "normalize": False, "grad_clip": None, "amp": False, "channels_last": True, "compile": False,
    "seed": 0, "budget_minutes": None, "sync_bn": False, "processes": 1, "threads": None,
}
#: ``--epochs`` when a budget is given and no epoch count: the budget decides.
BUDGET_MAX_EPOCHS = 1000
_FORMATTER = argparse.HelpFormatter  # every help text states its default itself


def _needs_torch(command: str):
    """Make a command print a clear error and return 2 when torch is not installed."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(args):
            import importlib.util

            if importlib.util.find_spec("torch") is None:  # not imported here: --omp-wait must precede torch
                print(f"mgcore {command}: error: this command needs torch: pip install 'mgcore[torch]'",
                      file=sys.stderr)
                return 2
            return fn(args)

        return wrapper

    return deco


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def _fraction(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {text!r}") from None
    if not 0.0 <= v <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1], got {v}")
    return v


def _nonneg_float(text: str) -> float:
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not v >= 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {v}")
    return v


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``mgcore train`` to ``parser``.

    Options that a ``--preset`` can set have the parser default ``None``;
    :func:`resolve_train_args` fills them (explicit value, else preset, else
    :data:`TRAIN_DEFAULTS`).  The help of every option shows its default.
    """

    def opt(group, flag, help, **kw):
        key = flag.lstrip("-").replace("-", "_")
        default = TRAIN_DEFAULTS[key]
        shown = {None: "none", True: "on", False: "off"}.get(default, default) \
            if default is None or isinstance(default, bool) else default
        group.add_argument(flag, dest=key, default=None, help=f"{help} (default: {shown})", **kw)

    onoff = argparse.BooleanOptionalAction
    g = parser.add_argument_group("model and data")
    presets = "; ".join(f"{k}: {v['doc']}" for k, v in TRAIN_PRESETS.items())
    g.add_argument("--preset", default=None, choices=sorted(TRAIN_PRESETS),
                   help=f"a training recipe that replaces the defaults of the options below ({presets}); "
                        f"explicit options still win (default: none)")
    opt(g, "--model", "registered model name (see mgcore models)")
    opt(g, "--model-args", "extra model arguments as a JSON object, e.g. '{\"channels\": 32}'", metavar="JSON")
    opt(g, "--data", "data set", choices=DATASETS)
    opt(g, "--data-root", "directory of the data files (fashion-mnist: /usr/share/datasets/fashion-mnist of "
        "the Debian package dataset-fashion-mnist; cifar: required; digits: not used)")
    opt(g, "--image-size", "resize the images to SIZE x SIZE", type=_positive_int, metavar="SIZE")

    o = parser.add_argument_group("optimisation")
    opt(o, "--epochs", f"number of epochs (with --budget-minutes: an upper bound, then {BUDGET_MAX_EPOCHS} unless "
        "given)", type=_positive_int)
    opt(o, "--batch-size", "training batch size per process", type=_positive_int)
    opt(o, "--lr", "peak learning rate", type=float)
    opt(o, "--optimizer", "optimiser", choices=OPTIMIZERS)
    opt(o, "--momentum", "momentum of sgd, nesterov and rmsprop", type=_nonneg_float)
    opt(o, "--weight-decay", "L2 weight decay", type=_nonneg_float)
    opt(o, "--scheduler", "learning-rate schedule: cosine to 0 over the run, step decay, or constant",
        choices=SCHEDULERS)
    o.add_argument("--step-size", dest="step_size", type=_positive_int, default=None, metavar="EPOCHS",
                   help="epochs between the decays of --scheduler step (default: epochs // 3, kept on --resume)")
    opt(o, "--gamma", "decay factor of --scheduler step", type=float)
    opt(o, "--warmup-epochs", "linear learning-rate warm-up over this many (fractional) epochs", type=_nonneg_float)
    opt(o, "--label-smoothing", "label smoothing of the cross-entropy", type=_fraction)
    opt(o, "--grad-clip", "clip the gradient 2-norm to this value", type=float)
    opt(o, "--budget-minutes", "time budget of the training: the cosine schedule runs on the clock, training "
        "stops cleanly at the first step after it and the model is evaluated", type=float, metavar="MIN")
    opt(o, "--seed", "seed of initialisation, shuffling and augmentation", type=int)

    a = parser.add_argument_group("augmentation and input")
    opt(a, "--augment", "random crop, plus horizontal flips where the data allow them (Fashion-MNIST, CIFAR; "
        "not digits or MNIST)", action=onoff)
    opt(a, "--crop-padding", "padding of the random crop in pixels (with --augment: 1 for digits, 2 for 28x28 "
        "images, 4 for CIFAR)", type=int, metavar="PIXELS")
    opt(a, "--pad-mode", "padding of the random crop: zeros or reflection", choices=PAD_MODES)
    opt(a, "--flip", "random horizontal flips (with --augment: as the data allow)", action=onoff)
    opt(a, "--erasing", "probability of random erasing per training image", type=_fraction, metavar="P")
    opt(a, "--normalize", "normalise with the training-set channel statistics", action=onoff)

    s = parser.add_argument_group("speed and placement")
    opt(s, "--amp", "automatic mixed precision (bfloat16 on CPU, float16 on CUDA)", action=onoff)
    opt(s, "--channels-last", "channels-last memory format of model and batches (measured 1.3x faster training "
        "steps on a 2-core CPU)", action=onoff)
    opt(s, "--compile", "train through torch.compile", action=onoff)
    opt(s, "--sync-bn", "SyncBatchNorm under torchrun (CUDA only)", action=onoff)
    s.add_argument("--omp-wait", default="passive", choices=("passive", "active", "inherit"),
                   help="OMP_WAIT_POLICY of torch's CPU threads, set before torch is imported unless the "
                        "environment sets it: waiting threads sleep (passive) or spin (active); spinning threads "
                        "slow a shared, busy CPU down several times (default: passive)")
    s.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    s.add_argument("--threads", type=_positive_int, default=None,
                   help="torch intra-op threads per process (default: torch's choice)")
    s.add_argument("--processes", type=_positive_int, default=None, metavar="N",
                   help="data-parallel processes on this machine: the command starts itself N times under "
                        "torchrun --standalone (DDP, gloo on CPU, nccl on CUDA); on a CPU, N processes of one "
                        "thread train faster than one process of N threads (default: 1)")
    s.add_argument("--num-workers", type=int, default=0, help="DataLoader worker processes (default: 0)")

    f = parser.add_argument_group("files and output")
    f.add_argument("--out", default=None, metavar="DIR",
                   help="run folder: config.json, metrics.csv, metrics.json, last.pt, best.pt, curves.png "
                        "(default: none)")
    f.add_argument("--checkpoint", default=None,
                   help="checkpoint file written after every epoch (default: DIR/last.pt with --out, else none)")
    f.add_argument("--resume", action="store_true",
                   help="continue from the checkpoint if it exists; a larger --epochs or --budget-minutes "
                        "extends the run (default: off)")
    f.add_argument("--progress", default="auto", choices=("auto", "bar", "plain", "none"),
                   help="a tqdm bar per epoch with loss, accuracy and img/s (auto: when stderr is a terminal), "
                        "plain rows, or only the result (default: auto)")
    f.add_argument("--log-every", type=int, default=0, metavar="N",
                   help="with --progress plain, also a line every N steps (default: 0, off)")
    f.add_argument("--json", action="store_true", help="print one JSON object with the final metrics (default: off)")


def resolve_train_args(args: argparse.Namespace) -> argparse.Namespace:
    """Fill the unset options from ``--preset`` and :data:`TRAIN_DEFAULTS`; returns a new namespace."""
    out = argparse.Namespace(**vars(args))
    preset = TRAIN_PRESETS.get(getattr(args, "preset", None) or "", {})
    for key, default in TRAIN_DEFAULTS.items():
        if getattr(out, key, None) is None:
            value = preset.get(key, default)
            setattr(out, key, json.dumps(value) if key == "model_args" and isinstance(value, dict) else value)
    for key in ("checkpoint", "out", "resume", "progress", "log_every", "json", "device", "threads", "num_workers"):
        if not hasattr(out, key):
            setattr(out, key, {"resume": False, "log_every": 0, "json": False, "device": "cpu",
                               "num_workers": 0, "progress": "plain"}.get(key))
    if out.epochs is None or (out.budget_minutes is not None and getattr(args, "epochs", None) is None
                              and "epochs" not in preset):
        out.epochs = BUDGET_MAX_EPOCHS if out.budget_minutes is not None else 10
    return out


def add_train_parser(sub) -> argparse.ArgumentParser:
    """Add ``train`` to the ``mgcore`` subcommands."""
    p = sub.add_parser("train", help="train a classifier (MgNet family)", formatter_class=_FORMATTER,
                       description="Train a classifier from the model registry (also under torchrun).")
    add_train_arguments(p)
    p.set_defaults(func=run_train)
    return p


# --------------------------------------------------------------------------- helpers


def _build_model(name: str, in_channels: int, num_classes: int, kwargs: dict):
    """``mgcore_torch.models.get_model(name, ...)`` with the data set's channels and classes.

    ``in_channels`` / ``num_classes`` are passed unless ``kwargs`` sets them or
    the registry says the model does not take them.
    """
    from torch import nn

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


def parameter_count(name: str, in_channels: int = 3, num_classes: int = 10, model_args: dict | None = None) -> int:
    """Parameters of registry model ``name`` built for ``in_channels`` and ``num_classes``.

    The count depends on the data: the stem sees ``in_channels`` and the head
    has ``num_classes`` outputs (mgnet-small: 93,482 for 1-channel 10-class
    data such as digits or Fashion-MNIST, 94,058 for 3-channel CIFAR-10).

    Examples
    --------
    >>> parameter_count("mgnet-small", in_channels=1), parameter_count("mgnet-small", in_channels=3)
    (93482, 94058)
    """
    model = _build_model(name, in_channels, num_classes, dict(model_args or {}))
    return int(sum(p.numel() for p in model.parameters()))


def _parse_model_args(text) -> dict:
    try:
        value = json.loads(text) if isinstance(text, str) else dict(text or {})
    except json.JSONDecodeError as exc:
        raise ValueError(f"--model-args must be a JSON object: {exc}") from exc
    if not isinstance(value, dict):
        raise ValueError(f"--model-args must be a JSON object, got {text!r}")
    return value


def _augmentation(args, info: dict):
    """The crop/flip transform of the options: ``--augment`` takes the data's defaults for the unset parts."""
    from .transforms import RandomCropFlip

    if args.augment:
        padding = info["padding"] if args.crop_padding is None else args.crop_padding
        flip = info["flip"] if args.flip is None else bool(args.flip)
    else:
        padding, flip = args.crop_padding or 0, bool(args.flip)
    if padding < 0:
        raise ValueError(f"--crop-padding must be >= 0, got {padding}")
    if padding == 0 and not flip:
        return None
    return RandomCropFlip(padding=padding, flip=flip, pad_mode=args.pad_mode)


def _set_omp_wait_policy(policy: str) -> str | None:
    """Set ``OMP_WAIT_POLICY`` for the OpenMP runtime torch starts, if still possible; returns the policy in force.

    Only takes effect when torch is not imported yet and the environment does
    not set the variable (an explicit environment wins).
    """
    if policy not in ("passive", "active", "inherit"):
        raise ValueError(f"--omp-wait must be one of ('passive', 'active', 'inherit'), got {policy!r}")
    if policy != "inherit" and "OMP_WAIT_POLICY" not in os.environ and "torch" not in sys.modules:
        os.environ["OMP_WAIT_POLICY"] = policy.upper()
    return os.environ.get("OMP_WAIT_POLICY")


def _launch_processes(args: argparse.Namespace) -> int:
    """Run the same ``mgcore train`` command line in ``args.processes`` processes under ``torchrun --standalone``.

    Each process sees ``LOCAL_RANK`` and trains on its shard
    (:mod:`mgcore_torch.distributed`); the exit status is torchrun's.
    """
    argv = getattr(args, "argv", None)
    if argv is None:
        raise ValueError(f"--processes {args.processes} starts the command line again under torchrun, which needs the "
                         "command's arguments: run it as `mgcore train ...`, or start torchrun yourself")
    import subprocess

    env = dict(os.environ)
    # one thread per process unless told otherwise (also silences torchrun's OMP_NUM_THREADS notice)
    env.setdefault("OMP_NUM_THREADS", str(args.threads or 1))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={args.processes}",
           "-m", "mgcore", *argv]
    return subprocess.call(cmd, env=env)


def _progress_mode(choice: str) -> str:
    if choice == "auto":
        return "bar" if (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()) else "plain"
    return choice


def _print_row(trainer, record: dict) -> None:
    """One row of the ``mgcore train`` table."""
    val = record["val_acc"]
    print(f"{record['epoch']:>5}  {record['train_loss']:>10.4f}  {record['train_acc']:>9.4f}  "
          f"{val if val is not None else float('nan'):>8.4f}  {record['seconds']:>7.2f}", flush=True)


# --------------------------------------------------------------------------- train


@_needs_torch("train")
def run_train(args: argparse.Namespace) -> int:
    """Run ``mgcore train`` with parsed arguments; returns the exit status.

    Prints a per-epoch table (epoch, train loss, train acc, test acc,
    seconds) and the final test accuracy, or with ``--json`` one JSON object
    with ``test_accuracy``, ``test_loss``, ``history``, ``parameters``,
    ``seconds`` and the settings.  Under torchrun only rank 0 prints and
    writes files.
    """
    t_start = time.perf_counter()
    args = resolve_train_args(args)
    if args.processes > 1 and "LOCAL_RANK" not in os.environ:
        return _launch_processes(args)
    if args.resume and args.checkpoint is None and args.out is None:
        raise ValueError("--resume needs --checkpoint or --out")
    if args.budget_minutes is not None and not args.budget_minutes > 0:
        raise ValueError(f"--budget-minutes must be > 0, got {args.budget_minutes}")
    if args.log_every < 0:
        raise ValueError(f"--log-every must be >= 0, got {args.log_every}")
    model_args = _parse_model_args(args.model_args)
    progress = _progress_mode(args.progress)
    omp_wait = _set_omp_wait_policy(getattr(args, "omp_wait", "inherit"))

    import torch

    from . import distributed as tdist
    from .datasets import load_dataset
    from .loaders import make_loaders
    from .records import RunFolder
    from .trainer import Trainer
    from .transforms import channel_stats

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    placement = tdist.init_distributed(args.device)
    try:
        main = placement.is_main
        run = RunFolder(args.out) if args.out is not None else None
        checkpoint = args.checkpoint or (run.last if run is not None else None)
        info = DATASET_INFO[args.data]
        train_set, test_set = load_dataset(args.data, args.data_root, seed=args.seed, size=args.image_size)
        norm = False
        if args.normalize:
            mean, std = channel_stats(train_set)
            norm = (mean, [s if s > 0 else 1.0 for s in std])
        augment = _augmentation(args, info)
        train_loader, test_loader = make_loaders(
            (train_set, test_set), batch_size=args.batch_size, seed=args.seed, augment=augment, normalize=norm,
            erasing=float(args.erasing), num_workers=args.num_workers, num_replicas=placement.world_size,
            rank=placement.rank,
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
        user_config = {
            "model": args.model, "model_args": model_args, "data": args.data, "image_size": args.image_size,
            "in_channels": train_set.in_channels, "num_classes": train_set.num_classes,
            "classes": list(train_set.classes), "batch_size": args.batch_size, "augment": repr(augment),
            "erasing": float(args.erasing), "normalize": norm if norm is False else [list(norm[0]), list(norm[1])],
            "preset": args.preset, "omp_wait_policy": omp_wait, "threads": torch.get_num_threads(),
        }
        trainer = Trainer(
            model, optimizer=args.optimizer, lr=args.lr, momentum=args.momentum, weight_decay=args.weight_decay,
            epochs=args.epochs, scheduler=args.scheduler, device=placement.device, seed=args.seed, amp=args.amp,
            grad_clip=args.grad_clip, progress="tqdm" if progress == "bar" else ("plain" if progress == "plain"
                                                                                 else None),
            log_every=args.log_every, checkpoint=checkpoint, step_size=args.step_size, gamma=args.gamma,
            label_smoothing=args.label_smoothing, config=user_config, warmup_epochs=args.warmup_epochs,
            budget_minutes=args.budget_minutes, extend=True, channels_last=bool(args.channels_last),
            compile=bool(args.compile), sync_bn=bool(args.sync_bn), best_checkpoint=run.best if run else None,
            log_epochs=False, stream=sys.stderr if args.json else None,
        )
        quiet = bool(args.json) or progress == "none" or not main
        say = (lambda msg: print(msg, flush=True)) if not quiet else (lambda msg: None)
        world = f", {placement.world_size} processes ({placement.backend})" if placement.distributed else ""
        say(f"model {args.model}: {params:,} parameters for {train_set.in_channels}-channel "
            f"{train_set.num_classes}-class input; data {args.data} ({len(train_set)} train / {len(test_set)} test), "
            f"device {trainer.device}{world}")
        if args.resume and checkpoint is not None and os.path.isfile(checkpoint):
            trainer.load_checkpoint(checkpoint)
            say(f"resumed from {checkpoint} after epoch {trainer.epoch}")
            if trainer.resume_note:
                say(trainer.resume_note)
        say(f"schedule: {trainer.scheduler.describe()}, lr {args.lr:g}, {args.optimizer}, batch {args.batch_size}"
            + (f" x {placement.world_size}" if placement.distributed else ""))
        if run is not None and main:
            run.write_config({"argv": sys.argv, "args": {k: v for k, v in vars(args).items() if k != "func"},
                              "trainer": trainer.config, "parameters": params})
        say(f"{'epoch':>5}  {'train loss':>10}  {'train acc':>9}  {'test acc':>8}  {'seconds':>7}")

        title = f"{args.model} on {args.data}"

        def on_epoch_end(tr, record):
            if not quiet:
                _print_row(tr, record)
            if run is not None:
                run.write_metrics(tr.history, title)

        trainer.fit(train_loader, test_loader, on_epoch_end=on_epoch_end)
        if trainer.stop_reason == "budget":
            say(f"budget of {args.budget_minutes:g} min reached after {trainer.epoch} epochs "
                f"({trainer.global_step} steps, {trainer.elapsed:.1f} s); evaluating")
        final = trainer.evaluate(test_loader)
        if run is not None and main:
            run.write_metrics(trainer.history, title)
        seconds = time.perf_counter() - t_start
        best = trainer.history.best()
        ips = [v for v in trainer.history.images_per_s if v]
        if main and args.json:
            out = {
                "test_accuracy": final["accuracy"], "test_loss": final["loss"], "history": trainer.history.to_dict(),
                "parameters": params, "seconds": seconds, "train_seconds": trainer.elapsed, "epochs": trainer.epoch,
                "steps": trainer.global_step, "stop_reason": trainer.stop_reason, "model": args.model,
                "model_args": model_args, "data": args.data, "in_channels": train_set.in_channels,
                "device": str(trainer.device), "world_size": placement.world_size, "checkpoint": checkpoint,
                "out": args.out, "best_epoch": best.get("epoch"), "best_test_accuracy": best.get("val_acc"),
                "images_per_s": (sum(ips) / len(ips)) if ips else None, "preset": args.preset,
                "threads": torch.get_num_threads(), "omp_wait_policy": omp_wait,
            }
            print(json.dumps(out))
        else:
            say(f"test accuracy {final['accuracy']:.4f} ({final['samples']} images), {seconds:.1f}s in total")
            if run is not None:
                say(f"run folder {args.out}: config.json, metrics.csv, metrics.json, last.pt, best.pt, curves.png")
        return 0
    finally:
        tdist.shutdown(placement)


def train_main(argv=None) -> int:
    """``python -m mgcore_torch.train [options]``: the ``mgcore train`` command on its own."""
    parser = argparse.ArgumentParser(prog="mgcore train", description="train an image classifier",
                                     formatter_class=_FORMATTER)
    add_train_arguments(parser)
    args = parser.parse_args(argv)
    args.argv = ["train", *(sys.argv[1:] if argv is None else argv)]  # for --processes
    try:
        return run_train(args)
    except (ValueError, TypeError, FileNotFoundError, FloatingPointError) as exc:
        print(f"mgcore train: error: {exc}", file=sys.stderr)
        return 2


# --------------------------------------------------------------------------- evaluate


def add_evaluate_parser(sub) -> argparse.ArgumentParser:
    """Add ``evaluate`` to the ``mgcore`` subcommands."""
    p = sub.add_parser("evaluate", help="evaluate a trained checkpoint", formatter_class=_FORMATTER,
                       description="Test accuracy, per-class accuracy and confusion matrix of a checkpoint "
                                   "written by mgcore train.")
    p.add_argument("--checkpoint", required=True, help="checkpoint file, e.g. last.pt or best.pt of a run folder (required)")
    p.add_argument("--data", default=None, choices=DATASETS, help="data set (default: the checkpoint's)")
    p.add_argument("--data-root", default=None, help="directory of the data files (default: the standard place)")
    p.add_argument("--batch-size", type=_positive_int, default=256, help="evaluation batch size (default: 256)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:N or auto (default: cpu)")
    p.add_argument("--threads", type=_positive_int, default=None, help="torch intra-op threads (default: torch's)")
    p.add_argument("--plot", default=None, metavar="FILE.png",
                   help="confusion-matrix PNG (default: confusion.png beside the checkpoint; 'none': no plot)")
    p.add_argument("--json", action="store_true", help="print one JSON object (default: off)")
    p.set_defaults(func=run_evaluate)
    return p


@_needs_torch("evaluate")
def run_evaluate(args: argparse.Namespace) -> int:
    """``mgcore evaluate``: accuracy, per-class accuracy and a confusion-matrix PNG of a checkpoint."""
    import torch

    from .checkpoint import check_weights_fit, describe_model, read_checkpoint
    from .datasets import load_dataset
    from .loaders import make_loaders
    from .records import plot_confusion
    from .trainer import Trainer

    if args.threads is not None:
        torch.set_num_threads(args.threads)
    ckpt = read_checkpoint(args.checkpoint, map_location="cpu")
    cfg = ckpt.get("config", {})
    user = cfg.get("user") or {}
    if "model" not in user:
        raise ValueError(f"checkpoint {args.checkpoint!r} does not name its model (not written by mgcore train)")
    data = args.data or user.get("data")
    if data not in DATASETS:
        raise ValueError(f"--data must be one of {DATASETS}, the checkpoint says {data!r}")
    train_set, test_set = load_dataset(data, args.data_root, seed=cfg.get("seed", 0), size=user.get("image_size"))
    norm = user.get("normalize") or False
    _, test_loader = make_loaders((train_set, test_set), batch_size=args.batch_size,
                                  normalize=tuple(norm) if norm else False, num_replicas=1, rank=0)
    model = _build_model(user["model"], user.get("in_channels", train_set.in_channels),
                         user.get("num_classes", train_set.num_classes), user.get("model_args") or {})
    check_weights_fit(model, ckpt["model"], path=args.checkpoint, theirs=cfg,
                      mine={"user": user, "model_class": type(model).__name__})
    model.load_state_dict(ckpt["model"])
    trainer = Trainer(model, progress=None, device=args.device, distributed=False)
    res = trainer.evaluate(test_loader, confusion=True)
    classes = list(test_set.classes)
    plot = args.plot
    if plot is None:
        plot = os.path.join(os.path.dirname(os.path.abspath(args.checkpoint)), "confusion.png")
    if plot.lower() == "none":
        plot = None
    if plot is not None:
        plot_confusion(res["confusion"], classes, plot,
                       f"{user['model']} on {data}: accuracy {res['accuracy']:.4f} (epoch {ckpt.get('epoch')})")
    if args.json:
        print(json.dumps({
            "checkpoint": args.checkpoint, "model": user["model"], "data": data, "epoch": ckpt.get("epoch"),
            "accuracy": res["accuracy"], "loss": res["loss"], "samples": res["samples"], "classes": classes,
            "per_class_accuracy": dict(zip(classes, res["per_class_accuracy"])), "confusion": res["confusion"],
            "plot": plot,
        }))
        return 0
    print(f"checkpoint {args.checkpoint}: {describe_model(cfg)}, epoch {ckpt.get('epoch')}, data {data}")
    print(f"test accuracy {res['accuracy']:.4f}, loss {res['loss']:.4f} ({res['samples']} images)")
    print(f"{'class':<14} {'accuracy':>8} {'images':>7}")
    for name, acc, row in zip(classes, res["per_class_accuracy"], res["confusion"]):
        print(f"{name:<14} {acc:>8.4f} {sum(row):>7d}")
    if plot is not None:
        print(f"confusion matrix written to {plot}")
    return 0


# --------------------------------------------------------------------------- models


def add_models_parser(sub) -> argparse.ArgumentParser:
    """Add ``models`` to the ``mgcore`` subcommands."""
    p = sub.add_parser("models", help="list the registered models", formatter_class=_FORMATTER,
                       description="List the model registry, optionally with parameter counts.")
    p.add_argument("--counts", action="store_true",
                   help="build each model and count its parameters (for 1- and 3-channel 10-class input, or "
                        "for --data) (default: off)")
    p.add_argument("--data", default=None, choices=DATASETS,
                   help="count for this data set's channels and classes (default: both 1 and 3 channels)")
    p.set_defaults(func=run_models)
    return p


@_needs_torch("models")
def run_models(args: argparse.Namespace) -> int:
    """``mgcore models``: the registry, with parameter counts that match ``mgcore train``."""
    from mgcore_torch import list_models, model_info

    data = getattr(args, "data", None)
    counts = bool(getattr(args, "counts", False))
    names = list_models()
    width = max([len(n) for n in names] + [4]) + 2
    if not counts:
        for name in names:
            print(f"{name:<{width}} seed {model_info(name).get('seed', '')}")
        return 0
    cols = ([(DATASET_INFO[data]["channels"], DATASET_INFO[data]["classes"], data)] if data else
            [(1, 10, "1 channel"), (3, 10, "3 channels")])
    print(f"{'name':<{width}}" + "".join(f"{label:>14}" for _, _, label in cols) + "  seed")
    for name in names:
        line = f"{name:<{width}}" + "".join(f"{parameter_count(name, ch, k):>14,d}" for ch, k, _ in cols)
        print(f"{line}  {model_info(name).get('seed', '')}")
    what = f"{data} ({cols[0][0]}-channel, {cols[0][1]} classes)" if data else "1- and 3-channel input, 10 classes"
    print(f"parameters for {what}; mgcore train builds each model for its data's channels and classes")
    return 0
