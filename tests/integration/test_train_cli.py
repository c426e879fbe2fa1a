"""``mgcore train | evaluate | models`` as a user runs them: run folders, resume that extends, evaluation, counts."""

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")


def run(*args, check=True):
    p = subprocess.run([sys.executable, "-m", "mgcore", *args], capture_output=True, text=True, env=ENV, timeout=600)
    if check and p.returncode != 0:
        raise AssertionError(f"mgcore {' '.join(args)} failed ({p.returncode}):\n{p.stdout}\n{p.stderr}")
    return p


def last_json(p):
    return json.loads(p.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("sub", ["train", "evaluate", "models"])
def test_every_option_states_its_default(sub):
    text = run(sub, "--help").stdout
    # one block per option: from a line starting with "  -" to the next such line or group title
    blocks = re.split(r"\n(?=  -|\S)", text.split("\noptions:", 1)[1])
    opts = [b for b in blocks if b.startswith("  --")]
    assert len(opts) >= (35 if sub == "train" else 2)
    missing = [b.split()[0] for b in opts if "(default" not in b and "(required)" not in b]
    assert not missing, missing


def test_train_out_resume_extend_evaluate_and_mismatch(tmp_path):
    out = tmp_path / "run"
    common = ["train", "--model", "mgnet-small", "--data", "digits", "--seed", "0", "--threads", "1",
              "--out", str(out)]
    p = run(*common, "--epochs", "2", "--augment", "--pad-mode", "reflect", "--erasing", "0.2",
            "--warmup-epochs", "0.5", "--json")
    first = last_json(p)
    assert first["epochs"] == 2 and first["out"] == str(out)
    assert sorted(os.listdir(out)) == ["best.pt", "config.json", "curves.png", "last.pt", "metrics.csv",
                                       "metrics.json"]
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["args"]["pad_mode"] == "reflect" and cfg["trainer"]["warmup_epochs"] == 0.5
    assert len((out / "metrics.csv").read_text().splitlines()) == 3

    # --resume with a larger --epochs extends the finished run (plain output says how)
    p = run(*common, "--epochs", "3", "--augment", "--pad-mode", "reflect", "--erasing", "0.2",
            "--warmup-epochs", "0.5", "--resume", "--progress", "plain")
    assert "resumed from" in p.stdout and "extending the run (epochs 2 -> 3)" in p.stdout
    rows = [line.split() for line in p.stdout.splitlines() if re.match(r"\s+\d+\s", line)]
    assert [r[0] for r in rows] == ["3"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert [m["epoch"] for m in metrics] == [1, 2, 3] and metrics[-1]["val_acc"] >= 0.85

    # evaluate the best checkpoint: the accuracy recorded for its epoch, a confusion matrix PNG
    p = run("evaluate", "--checkpoint", str(out / "best.pt"), "--threads", "1", "--json")
    ev = last_json(p)
    best = max(metrics, key=lambda m: m["val_acc"])
    assert ev["epoch"] == best["epoch"] and abs(ev["accuracy"] - best["val_acc"]) < 1e-9
    assert len(ev["confusion"]) == 10 and sum(map(sum, ev["confusion"])) == 360
    assert set(ev["per_class_accuracy"]) == {str(i) for i in range(10)}
    assert (out / "confusion.png").read_bytes()[:4] == b"\x89PNG"

    # another model on the same run folder: a clear error naming both models, nothing overwritten
    before = (out / "last.pt").read_bytes()
    p = run(*common, "--epochs", "4", "--model-args", '{"channels": 16}', "--resume", check=False)
    assert p.returncode == 2 and "Traceback" not in p.stderr
    assert "'mgnet-small' (MgNet, 93,482 parameters)" in p.stderr and '{"channels": 16}' in p.stderr
    assert (out / "last.pt").read_bytes() == before


def test_counts_agree_between_models_and_train(tmp_path):
    from mgcore_torch.train_cli import parameter_count

    listing = run("models", "--counts", "--data", "digits").stdout
    line = next(l for l in listing.splitlines() if l.startswith("mgnet-small "))
    count = int(line.split()[1].replace(",", ""))
    assert count == parameter_count("mgnet-small", 1, 10) < parameter_count("mgnet-small", 3, 10)  # 1 vs 3 channels
    p = run("train", "--model", "mgnet-small", "--data", "digits", "--epochs", "20", "--threads", "1",
            "--budget-minutes", "0.005", "--json")
    res = last_json(p)
    assert res["parameters"] == count == 93482
    # the budget (0.3 s) stops the run cleanly inside the first epochs and the model is still evaluated
    assert res["stop_reason"] == "budget" and res["epochs"] >= 1 and 0 <= res["test_accuracy"] <= 1


def test_fashion_mnist_from_an_idx_folder(tmp_path):
    from mgcore_torch.readers import write_idx

    rng = np.random.default_rng(0)
    for split, n in (("train", 40), ("t10k", 20)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28), dtype=np.uint8))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", (np.arange(n) % 10).astype(np.uint8))
    p = run("train", "--data", "fashion-mnist", "--data-root", str(tmp_path), "--epochs", "1", "--batch-size", "20",
            "--augment", "--normalize", "--threads", "1", "--json")
    res = last_json(p)
    assert res["data"] == "fashion-mnist" and res["history"]["samples"] == [40]
    # torch's OpenMP threads sleep while waiting unless the environment says otherwise (--omp-wait)
    assert res["omp_wait_policy"] == os.environ.get("OMP_WAIT_POLICY", "PASSIVE") and res["threads"] == 1
    p = run("train", "--data", "fashion-mnist", "--data-root", str(tmp_path / "absent"), check=False)
    assert p.returncode == 2 and "dataset-fashion-mnist" in p.stderr
