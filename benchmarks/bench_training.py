"""Training speed and accuracy of the trainer: options side by side, MgNet variants against baselines.

Two parts, each printing a table and writing JSON to ``benchmarks/results/``:

``--speed`` (default) -- images/s of training steps (forward, backward,
optimiser step; batch 128 of 28x28 grey images, the Fashion-MNIST shape) in
one process, interleaved repetitions, median:

* a plain PyTorch loop (``zero_grad / forward / cross_entropy / backward /
  step``) -- the reference of every ratio;
* :class:`mgcore_torch.trainer.Trainer` on the same batches, plain and with
  channels-last memory, bfloat16 autocast and ``torch.compile`` (the compile
  time is reported on its own);
* the random crop + flip of a batch as one tensor operation against the same
  transform applied image by image (what a per-sample data set does).

``--omp`` -- the plain loop in fresh processes with ``OMP_WAIT_POLICY``
``ACTIVE`` (waiting threads spin) and ``PASSIVE`` (they sleep), alternating:
what the ``mgcore train --omp-wait`` default is based on.

``--accuracy`` -- each model trained with the recipe of ``--preset``
(default ``fashion-5min``: its optimiser, schedule, augmentation, time budget,
processes and threads) by the same ``mgcore train --json`` command line,
started under ``torchrun --standalone`` with the preset's number of
processes, on Fashion-MNIST (``/usr/share/datasets/fashion-mnist`` of the
Debian package ``dataset-fashion-mnist``): test accuracy, parameters, img/s,
epochs done.  The models: the preset's MgNet, MgNet[1,1,1]-[16,32,64],
mgnet-small, plain-torch CNNs of similar sizes (widths 24 and 48) and (``--resnet``) ResNet-18.

Usage::

    python benchmarks/bench_training.py --speed --threads 2
    python benchmarks/bench_training.py --omp --threads 2
    python benchmarks/bench_training.py --accuracy --preset fashion-5min

Timings depend on the machine and on what else runs on it; compare the
ratios of one run, not figures of different runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as mgcore train does (--omp-wait passive); must precede torch

import torch  # noqa: E402
from torch import nn  # noqa: E402

from mgcore_torch.options import DATASET_INFO, TRAIN_PRESETS  # noqa: E402
from mgcore_torch.train_cli import _build_model  # noqa: E402
from mgcore_torch.trainer import Trainer  # noqa: E402
from mgcore_torch.transforms import RandomCropFlip  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results"


def plain_cnn(width: int = 32, in_channels: int = 1, num_classes: int = 10) -> nn.Module:
    """A plain VGG-style CNN (conv-BN-ReLU pairs, two max-pools, global average pool, linear head)."""

    def block(cin, cout):
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    w = width
    return nn.Sequential(
        *block(in_channels, w), *block(w, w), nn.MaxPool2d(2),
        *block(w, 2 * w), *block(2 * w, 2 * w), nn.MaxPool2d(2),
        *block(2 * w, 4 * w), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4 * w, num_classes),
    )


def build(spec: dict) -> nn.Module:
    torch.manual_seed(0)
    if spec["name"] == "plain-cnn":
        return plain_cnn(**spec.get("args", {}))
    return _build_model(spec["name"], 1, 10, spec.get("args", {}))


def count(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


# --------------------------------------------------------------------------- speed


def _plain_step_runner(model, batches):
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    model.train()

    def run():
        for x, y in batches:
            opt.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()

    return run


def _trainer_runner(model, batches, **kw):
    t = Trainer(model, optimizer="nesterov", lr=0.05, epochs=10 ** 6, progress=None, distributed=False, **kw)
    return lambda: t.train_epoch(batches), t


def speed(args) -> dict:
    torch.manual_seed(0)
    bs, steps = args.batch_size, args.steps
    batches = [(torch.rand(bs, 1, 28, 28), torch.randint(0, 10, (bs,))) for _ in range(steps)]
    specs = [{"name": TRAIN_PRESETS[m]["model"], "args": TRAIN_PRESETS[m]["model_args"], "label": f"{m} model"}
             if m in TRAIN_PRESETS else {"name": m, "label": m} for m in args.models.split(",") if m]
    variants = ["plain loop", "trainer", "trainer channels-last", "trainer bf16", "trainer compile"]
    if args.no_compile:
        variants.remove("trainer compile")
    rows = []
    for spec in specs:
        runners, compile_s, batches_of = {}, None, {}
        for v in variants:
            model = build(spec)
            # bfloat16 without hardware support is slow: one batch per measurement keeps the run short
            batches_of[v] = batches[:1] if "bf16" in v else batches
            if v == "plain loop":
                runners[v] = _plain_step_runner(model, batches_of[v])
            else:
                kw = {"channels_last": "channels-last" in v, "amp": "bf16" in v, "compile": "compile" in v}
                runners[v], _ = _trainer_runner(model, batches_of[v], **kw)
            t0 = time.perf_counter()
            runners[v]()  # warm-up (and compilation)
            if v == "trainer compile":
                compile_s = time.perf_counter() - t0
        rates = {v: [] for v in variants}
        for _ in range(args.repeats):
            for v in variants:  # interleaved, so that load changes hit every variant alike
                t0 = time.perf_counter()
                runners[v]()
                rates[v].append(bs * len(batches_of[v]) / (time.perf_counter() - t0))
        ref = statistics.median(rates["plain loop"])
        for v in variants:
            med = statistics.median(rates[v])
            rows.append({"model": spec["label"], "parameters": count(build(spec)), "variant": v,
                         "images_per_s": med, "ratio_to_plain_loop": med / ref,
                         "all_images_per_s": rates[v], "compile_seconds": compile_s if "compile" in v else None})

    # augmentation: one tensor operation per batch vs image by image
    aug = RandomCropFlip(padding=2, flip=True)
    x = torch.rand(bs, 1, 28, 28)
    t_batch, t_single = [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        for _ in range(steps):
            aug(x)
        t_batch.append(bs * steps / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for _ in range(steps):
            torch.stack([aug(img) for img in x])
        t_single.append(bs * steps / (time.perf_counter() - t0))
    augment = {"batched_images_per_s": statistics.median(t_batch),
               "per_image_images_per_s": statistics.median(t_single)}
    augment["ratio"] = augment["batched_images_per_s"] / augment["per_image_images_per_s"]

    print(f"\ntraining steps, batch {bs} x 1 x 28 x 28, {torch.get_num_threads()} threads, median of {args.repeats}")
    print(f"{'model':<20} {'parameters':>10}  {'variant':<22} {'img/s':>8}  {'vs plain loop':>13}")
    for r in rows:
        extra = f"  (compile {r['compile_seconds']:.1f} s)" if r["compile_seconds"] else ""
        print(f"{r['model']:<20} {r['parameters']:>10,d}  {r['variant']:<22} {r['images_per_s']:>8.0f}  "
              f"{r['ratio_to_plain_loop']:>12.2f}x{extra}")
    print(f"random crop + flip: batched {augment['batched_images_per_s']:.0f} img/s, image by image "
          f"{augment['per_image_images_per_s']:.0f} img/s ({augment['ratio']:.1f}x)")
    return {"rows": rows, "augmentation": augment}


# --------------------------------------------------------------------------- OpenMP wait policy


def probe(args) -> None:
    """One process: img/s of the plain loop (the policy is whatever OMP_WAIT_POLICY said at torch's start)."""
    spec = json.loads(args.probe)
    model = build(spec).to(memory_format=torch.channels_last)
    batches = [(torch.rand(args.batch_size, 1, 28, 28).contiguous(memory_format=torch.channels_last),
                torch.randint(0, 10, (args.batch_size,))) for _ in range(args.steps)]
    run = _plain_step_runner(model, batches[:1])
    run()
    run = _plain_step_runner(model, batches)
    t0 = time.perf_counter()
    run()
    print(json.dumps({"images_per_s": args.batch_size * args.steps / (time.perf_counter() - t0)}))


def omp_compare(args) -> dict:
    """OMP_WAIT_POLICY=ACTIVE vs PASSIVE, each in fresh processes, alternating."""
    import subprocess

    m = args.models.split(",")[0]
    spec = ({"name": TRAIN_PRESETS[m]["model"], "args": TRAIN_PRESETS[m]["model_args"], "label": f"{m} model"}
            if m in TRAIN_PRESETS else {"name": m, "label": m})
    rates = {"ACTIVE": [], "PASSIVE": []}
    for _ in range(args.repeats):
        for policy in rates:
            env = dict(os.environ, OMP_WAIT_POLICY=policy, OMP_NUM_THREADS=str(args.threads))
            out = subprocess.run([sys.executable, __file__, "--probe", json.dumps(spec), "--threads", str(args.threads),
                                  "--steps", str(args.steps), "--batch-size", str(args.batch_size)],
                                 capture_output=True, text=True, env=env, check=True).stdout
            rates[policy].append(json.loads(out.strip().splitlines()[-1])["images_per_s"])
    med = {k: statistics.median(v) for k, v in rates.items()}
    print(f"\nOMP_WAIT_POLICY, {spec['label']}, plain loop, {args.threads} threads, fresh processes, median of "
          f"{args.repeats}: ACTIVE {med['ACTIVE']:.0f} img/s, PASSIVE {med['PASSIVE']:.0f} img/s "
          f"({med['PASSIVE'] / med['ACTIVE']:.2f}x)")
    return {"model": spec["label"], "images_per_s": rates, "median": med, "ratio_passive_to_active":
            med["PASSIVE"] / med["ACTIVE"]}


# --------------------------------------------------------------------------- accuracy


def _train_one(args) -> int:
    """One model under the preset's recipe, in this (torchrun) process: ``mgcore train --preset ... --json``."""
    from mgcore_torch.models import list_models, register_model
    from mgcore_torch.train_cli import train_main

    spec = json.loads(args.train_one)
    name = spec["name"]
    if name == "plain-cnn" and name not in list_models():
        register_model("plain-cnn", seed="a plain VGG-style CNN (the baseline of benchmarks/bench_training.py)")(
            lambda width=32, in_channels=1, num_classes=10: plain_cnn(width, in_channels, num_classes))
    argv = ["--preset", args.preset, "--model", name, "--model-args", json.dumps(spec.get("args", {})),
            "--data", args.data, "--json", "--progress", "none", "--seed", "0"]
    argv += ["--budget-minutes", str(args.budget_minutes)] if args.budget_minutes else []
    argv += ["--data-root", args.data_root] if args.data_root else []
    return train_main(argv)


def accuracy(args) -> dict:
    """Every model trained with the recipe of ``--preset`` (the same command line, processes and budget)."""
    import subprocess

    preset = TRAIN_PRESETS[args.preset]
    nproc, threads = preset.get("processes", 1), preset.get("threads") or args.threads
    specs = [{"name": preset["model"], "args": preset["model_args"], "label": f"MgNet ({args.preset} preset)"},
             {"name": "mgnet", "args": {"nu": [1, 1, 1], "channels": [16, 32, 64]}, "label": "MgNet[1,1,1]-[16,32,64]"},
             {"name": "mgnet-small", "label": "mgnet-small"},
             {"name": "plain-cnn", "args": {"width": 24}, "label": "plain CNN (torch) w24"},
             {"name": "plain-cnn", "args": {"width": 48}, "label": "plain CNN (torch) w48"}]
    if args.resnet:
        specs.append({"name": "resnet18", "label": "ResNet-18"})
    if args.only:
        keep = set(args.only.split(","))
        specs = [s for s in specs if s["label"] in keep or s["name"] in keep]
    rows = []
    for spec in specs:
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}",
               __file__, "--train-one", json.dumps(spec), "--preset", args.preset, "--data", args.data,
               "--threads", str(threads)]
        cmd += ["--budget-minutes", str(args.budget_minutes)] if args.budget_minutes else []
        cmd += ["--data-root", args.data_root] if args.data_root else []
        t0 = time.perf_counter()
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if p.returncode != 0:
            raise RuntimeError(f"training {spec['label']} failed ({p.returncode}):\n{p.stderr[-3000:]}")
        r = json.loads([ln for ln in p.stdout.splitlines() if ln.startswith("{")][-1])
        h = r["history"]
        rows.append({"model": spec["label"], "name": spec["name"], "model_args": spec.get("args", {}),
                     "parameters": r["parameters"], "test_accuracy": r["test_accuracy"], "epochs": r["epochs"],
                     "steps": r["steps"], "train_seconds": r["train_seconds"],
                     "wall_seconds": time.perf_counter() - t0, "images_per_s": r["images_per_s"],
                     "val_acc_per_epoch": h.get("val_acc"), "seconds_per_epoch": h.get("seconds")})
        print(f"{spec['label']:<28} {r['parameters']:>10,d}  acc {r['test_accuracy']:.4f}  epochs {r['epochs']}  "
              f"img/s {r['images_per_s'] or 0:.0f}", flush=True)
    budget = args.budget_minutes or preset.get("budget_minutes")
    print(f"\n{args.data}, recipe of --preset {args.preset}, budget {budget:g} min each, {nproc} process(es) x "
          f"{threads} thread(s)")
    print(f"{'model':<28} {'parameters':>10}  {'test acc':>8}  {'epochs':>6}  {'img/s':>7}  {'train s':>7}")
    for r in rows:
        print(f"{r['model']:<28} {r['parameters']:>10,d}  {r['test_accuracy']:>8.4f}  {r['epochs']:>6}  "
              f"{r['images_per_s'] or 0:>7.0f}  {r['train_seconds']:>7.1f}")
    return {"rows": rows, "data": args.data, "preset": args.preset, "budget_minutes": budget, "nproc": nproc,
            "threads": threads}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--speed", action="store_true", help="throughput table (default when no part is chosen)")
    p.add_argument("--accuracy", action="store_true", help="accuracy of each model in the same time budget")
    p.add_argument("--omp", action="store_true", help="OMP_WAIT_POLICY active vs passive (fresh processes)")
    p.add_argument("--probe", default=None, help=argparse.SUPPRESS)
    p.add_argument("--threads", type=int, default=2, help="torch threads (default: 2)")
    p.add_argument("--batch-size", type=int, default=128, help="speed: batch size (default: 128)")
    p.add_argument("--steps", type=int, default=3, help="speed: steps per measurement (default: 3)")
    p.add_argument("--repeats", type=int, default=3, help="speed: interleaved repetitions (default: 3)")
    p.add_argument("--no-compile", action="store_true", help="speed: leave out torch.compile")
    p.add_argument("--models", default="fashion-5min,mgnet-small",
                   help="speed: comma-separated presets or registry names (default: fashion-5min,mgnet-small)")
    p.add_argument("--data", default="fashion-mnist", help="accuracy: data set (default: fashion-mnist)")
    p.add_argument("--data-root", default=None, help="accuracy: data directory (default: the Debian location)")
    p.add_argument("--preset", default="fashion-5min", choices=sorted(TRAIN_PRESETS),
                   help="accuracy: the recipe every model is trained with (default: fashion-5min)")
    p.add_argument("--budget-minutes", type=float, default=None,
                   help="accuracy: budget per model (default: the preset's)")
    p.add_argument("--only", default=None, help="accuracy: comma-separated labels or names of the models to run")
    p.add_argument("--train-one", default=None, help=argparse.SUPPRESS)
    p.add_argument("--resnet", action="store_true", help="accuracy: also ResNet-18 (slow on a CPU)")
    p.add_argument("--json", default=None, help="output file (default: benchmarks/results/training_<part>.json)")
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.probe:
        probe(args)
        return 0
    if args.train_one:
        return _train_one(args)
    meta = {"python": platform.python_version(), "torch": torch.__version__, "threads": torch.get_num_threads(),
            "machine": platform.processor() or platform.machine(), "argv": sys.argv[1:],
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY")}
    parts = [("speed", speed)] if args.speed or not (args.accuracy or args.omp) else []
    if args.omp:
        parts.append(("omp", omp_compare))
    if args.accuracy:
        parts.append(("accuracy", accuracy))
    for name, fn in parts:
        result = {"meta": meta, **fn(args)}
        out = Path(args.json) if args.json else RESULTS / f"training_{name}.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(out)
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
