"""Data-parallel training under torchrun: 2 CPU processes (gloo, loopback) on the digits data.

One launch checks (a) that the gradient after one DDP step equals the
single-process gradient on the union of the two shards' batches, (b) that
only rank 0 writes files (every write on rank 1 raises) and prints, and (c)
that ``mgcore train`` under torchrun reaches the accuracy of the same run in
one process (global batch 64 in both).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from mgcore_torch.datasets import load_digits_dataset
from mgcore_torch.train_cli import _build_model, train_main

WORKER = textwrap.dedent('''
    import builtins, json, os, sys, tempfile
    sys.dont_write_bytecode = True
    import torch
    from mgcore_torch.distributed import init_distributed
    from mgcore_torch.datasets import load_digits_dataset
    from mgcore_torch.loaders import make_loaders, set_epoch
    from mgcore_torch.train_cli import _build_model, train_main
    from mgcore_torch.trainer import Trainer

    out = sys.argv[1]
    torch.set_num_threads(1)
    place = init_distributed("cpu")
    assert place.world_size == 2 and place.backend == "gloo", place

    # (a) one optimiser step of a model without batch statistics on this rank's shard
    train_loader, _ = make_loaders(load_digits_dataset(seed=0), batch_size=32, seed=3)
    set_epoch(train_loader, 0)
    batch = next(iter(train_loader))
    torch.manual_seed(0)
    model = _build_model("mgnet-small", 1, 10, {"bn": False})
    trainer = Trainer(model, lr=0.1, epochs=1, progress=None, scheduler=None)
    assert trainer.world_size == 2 and trainer.rank == place.rank
    trainer.train_epoch([batch])
    grads = {n: p.grad.clone() for n, p in trainer.model.named_parameters()}
    if place.is_main:
        torch.save({"grads": grads}, os.path.join(out, "grads.pt"))
    torch.distributed.barrier()

    # (b) from here on rank 1 must not write anything
    if not place.is_main:
        def forbidden(*args, **kwargs):
            raise AssertionError(f"rank {place.rank} tried to write: {args[:1]}")
        real_open = builtins.open
        def guarded_open(file, mode="r", *args, **kwargs):
            if any(c in mode for c in "wax+"):
                forbidden(file)
            return real_open(file, mode, *args, **kwargs)
        builtins.open = guarded_open
        os.replace = os.rename = os.makedirs = os.mkdir = forbidden
        tempfile.mkstemp = tempfile.NamedTemporaryFile = forbidden
        torch.save = forbidden

    # (c) the command line under the same launch
    argv = ["--model", "mgnet-small", "--data", "digits", "--epochs", "3", "--batch-size", "32", "--lr", "0.05",
            "--seed", "0", "--threads", "1", "--out", os.path.join(out, "run"), "--json", "--progress", "none"]
    rc = train_main(argv)
    torch.distributed.barrier()
    torch.distributed.destroy_process_group()
    sys.exit(rc)
''')


def _union_gradient(seed_split=0, sampler_seed=3, batch=32):
    """The single-process gradient of the same initial model on both shards' first batches together."""
    from torch.utils.data import DistributedSampler

    train, _ = load_digits_dataset(seed=seed_split)
    idx = []
    for rank in (0, 1):
        s = DistributedSampler(train, num_replicas=2, rank=rank, shuffle=True, seed=sampler_seed)
        s.set_epoch(0)
        idx += list(s)[:batch]
    torch.manual_seed(0)
    model = _build_model("mgnet-small", 1, 10, {"bn": False})
    model.train()
    loss = torch.nn.functional.cross_entropy(model(train.images[idx]), train.labels[idx])
    loss.backward()
    return {n: p.grad for n, p in model.named_parameters()}


def test_torchrun_two_cpu_processes(tmp_path, capsys):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo",
               MASTER_ADDR="127.0.0.1", PYTHONDONTWRITEBYTECODE="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", str(script),
           str(tmp_path)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, f"torchrun failed ({p.returncode}):\n{p.stdout}\n{p.stderr[-4000:]}"

    # (a) DDP's averaged gradient == the gradient on the union of the shards' batches
    ddp = torch.load(tmp_path / "grads.pt", weights_only=True)["grads"]
    ref = _union_gradient()
    assert ddp.keys() == ref.keys()
    for name in ref:
        scale = float(ref[name].abs().max()) + 1e-12
        assert torch.allclose(ddp[name], ref[name], rtol=1e-4, atol=1e-5 * scale), name

    # (b) one JSON result (rank 0 prints), and the run folder holds exactly rank 0's files
    results = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    assert len(results) == 1, p.stdout
    res = results[0]
    assert res["world_size"] == 2 and res["epochs"] == 3
    files = sorted(os.listdir(tmp_path / "run"))
    assert files == ["best.pt", "config.json", "curves.png", "last.pt", "metrics.csv", "metrics.json"], files
    # the shards together cover the training set every epoch (DistributedSampler pads 1437 to 2 x 719)
    assert res["history"]["samples"] == [1438] * 3

    # (c) the same run in one process (batch 64 = 2 x 32): accuracy in the same band
    capsys.readouterr()
    rc = train_main(["--model", "mgnet-small", "--data", "digits", "--epochs", "3", "--batch-size", "64",
                     "--lr", "0.05", "--seed", "0", "--threads", "1", "--json", "--progress", "none"])
    assert rc == 0
    single = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert single["world_size"] == 1
    assert res["test_accuracy"] >= 0.9 and single["test_accuracy"] >= 0.9, (res["test_accuracy"],
                                                                             single["test_accuracy"])
    assert abs(res["test_accuracy"] - single["test_accuracy"]) <= 0.03
    worst = max(float((ddp[n] - ref[n]).abs().max() / (ref[n].abs().max() + 1e-12)) for n in ref)
    print(f"\nDDP gradient vs union gradient: max relative difference {worst:.2e}; test accuracy 2 processes "
          f"{res['test_accuracy']:.4f}, 1 process {single['test_accuracy']:.4f}")


def test_processes_starts_the_command_under_torchrun(tmp_path):
    """``mgcore train --processes 2`` (as a user types it) trains in 2 processes and prints one result."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", GLOO_SOCKET_IFNAME="lo", MASTER_ADDR="127.0.0.1")
    env.pop("OMP_NUM_THREADS", None)
    cmd = [sys.executable, "-m", "mgcore", "train", "--model", "mgnet-small", "--data", "digits", "--epochs", "2",
           "--batch-size", "32", "--processes", "2", "--threads", "1", "--json", "--progress", "none",
           "--out", str(tmp_path / "run")]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert p.returncode == 0, f"--processes 2 failed ({p.returncode}):\n{p.stdout}\n{p.stderr[-4000:]}"
    results = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    assert len(results) == 1, p.stdout
    res = results[0]
    assert res["world_size"] == 2 and res["threads"] == 1 and res["epochs"] == 2
    assert res["history"]["samples"] == [1438] * 2
    assert res["test_accuracy"] >= 0.8, res["test_accuracy"]
    assert "OMP_NUM_THREADS" not in p.stderr  # torchrun's notice is not shown: the thread count is set
    assert (tmp_path / "run" / "best.pt").is_file()


def test_processes_needs_the_command_line():
    import argparse

    from mgcore_torch.train_cli import add_train_arguments, run_train

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    args = parser.parse_args(["--data", "digits", "--processes", "2"])  # no argv: not from the command line
    with pytest.raises(ValueError, match="--processes 2 starts the command line again under torchrun"):
        run_train(args)


def test_fashion_presets_train_in_two_single_thread_processes():
    import argparse

    from mgcore_torch.train_cli import add_train_arguments, resolve_train_args

    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    for name in ("fashion-5min", "fashion-15min"):
        args = resolve_train_args(parser.parse_args(["--preset", name]))
        assert (args.processes, args.threads, args.data) == (2, 1, "fashion-mnist")
        assert args.budget_minutes in (5.0, 15.0)
    args = resolve_train_args(parser.parse_args(["--preset", "fashion-5min", "--processes", "1", "--threads", "2"]))
    assert (args.processes, args.threads) == (1, 2)  # explicit options win
    assert resolve_train_args(parser.parse_args([])).processes == 1


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    yield
    torch.set_num_threads(n)
