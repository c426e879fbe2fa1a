"""Trainer features: schedules with warm-up, extension on resume, time budget, run folders, evaluation, errors."""

from __future__ import annotations

import io
import json
import math
import types

import pytest
import torch
from torch import nn

from mgcore_torch.checkpoint import check_weights_fit, read_checkpoint
from mgcore_torch.datasets import load_digits_dataset
from mgcore_torch.loaders import make_loaders
from mgcore_torch.records import History, RunFolder, history_csv
from mgcore_torch.schedules import LRSchedule
from mgcore_torch.trainer import Trainer


def tiny_net(width: int = 8) -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset(seed=0)


def _loader(n=40, batch=10):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 1, 4, 4, generator=g)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    return torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=batch)


# --------------------------------------------------------------------------- schedules


def test_cosine_schedule_per_step_with_warmup():
    s = LRSchedule("cosine", epochs=4, warmup_epochs=0.5)
    # warm-up: linear in the steps of the first half epoch (10 steps per epoch)
    assert [s.factor(0, k, 10) for k in range(6)] == pytest.approx(
        [0.5 * (1 + math.cos(math.pi * (k / 10) / 4)) * min(1.0, ((k + 1) / 10) / 0.5) for k in range(6)])
    assert s.factor(0, 4, 10) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.1)))  # warm-up ends at step 5
    assert s.factor(4, 0, 10) == 0.0
    assert "warm-up" in s.describe() and "cosine over 4 epochs" in s.describe()


def test_step_schedule_step_size_and_gamma_and_budget_progress():
    s = LRSchedule("step", epochs=10, step_size=4, gamma=0.5)
    assert [s.factor(e) for e in (0, 3, 4, 7, 8)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert LRSchedule("step", epochs=9).step_size == 3  # default epochs // 3
    b = LRSchedule("cosine", epochs=1000, budget_seconds=100.0)
    assert b.factor(0, 0, 10, elapsed=50.0) == pytest.approx(0.5)  # the clock, not the epoch, sets the progress
    assert b.factor(0, 0, 10, elapsed=150.0) == 0.0
    for bad in (dict(kind="linear"), dict(epochs=0), dict(step_size=0), dict(gamma=0.0), dict(warmup_epochs=-1)):
        with pytest.raises(ValueError):
            LRSchedule(**{"kind": "cosine", "epochs": 3, **bad})


def test_trainer_records_warmup_and_step_lrs():
    t = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), lr=0.1, epochs=4, scheduler="step", step_size=2,
                gamma=0.1, warmup_epochs=1.0, progress=None)
    h = t.fit(_loader())
    # epoch 1 starts warm-up at step 1 of 4 (lr * 1/4); then 0.1, 0.01, 0.01
    assert h.lr == pytest.approx([0.025, 0.1, 0.01, 0.01])
    assert t.current_lr == pytest.approx(0.001)
    assert h.samples == [40] * 4 and all(v > 0 for v in h.images_per_s)


# --------------------------------------------------------------------------- resume and extension


def test_extend_a_finished_run_continues_the_schedule(tmp_path):
    ck = tmp_path / "c.pt"
    kw = dict(optimizer="sgd", lr=0.1, scheduler="cosine", progress=None, checkpoint=ck, seed=1)
    torch.manual_seed(0)
    a = Trainer(tiny_net(), epochs=2, **kw)
    x = torch.rand(40, 1, 4, 4)
    y = torch.arange(40) % 10
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=10)
    a.fit(loader)
    assert a.current_lr == pytest.approx(0.0) and read_checkpoint(ck)["epoch"] == 2
    with pytest.raises(ValueError, match="epochs=2.*extend=True"):
        Trainer(tiny_net(), epochs=4, **kw).load_checkpoint(ck)
    b = Trainer(tiny_net(), epochs=4, extend=True, resume=True, **kw)
    out = io.StringIO()
    b.stream, b.progress = out, "plain"
    h = b.fit(loader)
    assert b.epoch == 4 and len(h) == 4 and b.global_step == 16
    # epochs 3 and 4 follow the cosine laid out over 4 epochs
    assert h.lr[2] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 2 / 4)))
    assert h.lr[3] == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 3 / 4)))
    text = out.getvalue()
    assert "resumed from" in text and "extending the run (epochs 2 -> 4)" in text and "lr 0.05" in text
    # fewer epochs than done: refused
    with pytest.raises(ValueError, match="completed 4 epochs"):
        Trainer(tiny_net(), epochs=3, extend=True, **kw).load_checkpoint(ck)


def test_resume_keeps_the_step_decay_epochs(tmp_path):
    ck = tmp_path / "s.pt"
    loader = _loader()
    Trainer(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), epochs=3, scheduler="step", progress=None,
            checkpoint=ck).fit(loader)  # step_size = 3 // 3 = 1
    t = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), epochs=6, scheduler="step", progress=None,
                checkpoint=ck, resume=True, extend=True)
    h = t.fit(loader)
    assert t.step_size == 1 and h.lr[3] == pytest.approx(0.05 * 0.1 ** 3)


def test_mismatched_model_error_names_both_models(tmp_path):
    ck = tmp_path / "m.pt"
    Trainer(tiny_net(8), epochs=1, progress=None, config={"model": "tiny", "model_args": {"width": 8}}).save_checkpoint(ck)
    other = Trainer(tiny_net(12), epochs=1, progress=None, config={"model": "tiny", "model_args": {"width": 12}})
    with pytest.raises(ValueError) as exc:
        other.load_checkpoint(ck)
    msg = str(exc.value)
    assert "'tiny' {\"width\": 8}" in msg and "'tiny' {\"width\": 12}" in msg and "shape mismatch" in msg
    with pytest.raises(ValueError, match="not in this model"):
        check_weights_fit(nn.Linear(2, 2), {"weight": torch.zeros(2, 2), "bias": torch.zeros(2), "x": torch.zeros(1)},
                          path="p", theirs={}, mine={})


# --------------------------------------------------------------------------- budget


def test_time_budget_stops_cleanly_and_resumes_to_nothing(tmp_path, monkeypatch):
    import mgcore_torch.trainer as trainer_mod

    clock = {"t": 0.0}

    def fake_perf_counter():
        clock["t"] += 1.0  # every call advances one "second"
        return clock["t"]

    monkeypatch.setattr(trainer_mod, "time", types.SimpleNamespace(perf_counter=fake_perf_counter))
    ck = tmp_path / "b.pt"
    t = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), epochs=1000, budget_minutes=1.0, progress=None,
                checkpoint=ck)
    h = t.fit(_loader(), _loader())
    assert t.stop_reason == "budget" and 1 <= t.epoch < 1000
    assert t.elapsed >= 60.0 and h.lr[0] == pytest.approx(0.05, rel=0.2)
    assert read_checkpoint(ck)["stop_reason"] == "budget"
    # the final learning rate is that at the end of the budget: annealed to 0
    assert t.current_lr == pytest.approx(0.0, abs=1e-12)
    again = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), epochs=1000, budget_minutes=1.0, progress=None,
                    checkpoint=ck, resume=True)
    again.fit(_loader())
    assert again.epoch == t.epoch and again.stop_reason == "budget"


# --------------------------------------------------------------------------- evaluation, speed options, records


def test_evaluate_confusion_and_per_class(digits):
    torch.manual_seed(0)
    tl, vl = make_loaders(digits, batch_size=64)
    t = Trainer(tiny_net(16), lr=0.1, epochs=2, progress=None)
    t.fit(tl)
    res = t.evaluate(vl, confusion=True)
    m = torch.tensor(res["confusion"])
    assert m.shape == (10, 10) and int(m.sum()) == 360
    assert int(m.diag().sum()) == round(res["accuracy"] * 360)
    counts = torch.bincount(digits[1].labels, minlength=10)
    assert torch.equal(m.sum(dim=1), counts)
    assert res["per_class_accuracy"] == pytest.approx((m.diag().double() / counts).tolist())


def test_channels_last_gives_the_same_training(digits):
    def run(cl):
        torch.manual_seed(0)
        tl, vl = make_loaders(digits, batch_size=64, seed=0)
        t = Trainer(tiny_net(8), lr=0.1, epochs=1, progress=None, channels_last=cl, seed=0)
        return t.fit(tl, vl), t

    (ha, ta), (hb, tb) = run(False), run(True)
    assert next(tb.model.parameters()).is_contiguous(memory_format=torch.channels_last)
    assert ha.train_loss[0] == pytest.approx(hb.train_loss[0], rel=1e-4)
    assert ha.val_acc == pytest.approx(hb.val_acc, abs=1 / 360 + 1e-9)


def test_progress_bar_has_loss_accuracy_and_rate():
    out = io.StringIO()
    t = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(16, 2)), epochs=1, progress="bar", stream=out)
    t.fit(_loader())
    text = out.getvalue()
    assert "epoch 1/1" in text and "loss=" in text and "acc=" in text and "img_s=" in text


def test_run_folder_files(tmp_path):
    h = History()
    for e in (1, 2):
        h.append({"epoch": e, "train_loss": 1.0 / e, "train_acc": 0.5 * e, "val_loss": 0.9 / e, "val_acc": 0.4 * e,
                  "lr": 0.1, "seconds": 1.0, "samples": 10, "images_per_s": 10.0})
    run = RunFolder(tmp_path / "run")
    run.write_config({"a": 1})
    run.write_metrics(h, "t")
    assert json.loads((tmp_path / "run" / "config.json").read_text()) == {"a": 1}
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert rows[0].split(",")[:5] == ["epoch", "train_loss", "train_acc", "val_loss", "val_acc"] and len(rows) == 3
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())[1]["val_acc"] == 0.8
    assert (tmp_path / "run" / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert history_csv(History()).strip() == ",".join(History.keys())
    assert h.best()["epoch"] == 2
    # an old history without the newer quantities still loads
    old = History.from_dict({"epoch": [1], "train_loss": [0.1], "train_acc": [0.9], "val_loss": [None],
                             "val_acc": [None], "lr": [0.1], "seconds": [1.0]})
    assert old.samples == [None]
    (tmp_path / "file").write_text("x")
    with pytest.raises(ValueError, match="directory"):
        RunFolder(tmp_path / "file")


def test_best_checkpoint_is_the_best_epoch(tmp_path, digits):
    torch.manual_seed(0)
    tl, vl = make_loaders(digits, batch_size=64)
    t = Trainer(tiny_net(8), lr=0.2, epochs=3, progress=None, checkpoint=tmp_path / "last.pt",
                best_checkpoint=tmp_path / "best.pt")
    h = t.fit(tl, vl)
    best = read_checkpoint(tmp_path / "best.pt")
    assert best["epoch"] == h.best()["epoch"]
    assert best["history"]["val_acc"][-1] == max(h.val_acc)


def test_new_bad_arguments():
    m = nn.Linear(2, 2)
    with pytest.raises(ValueError, match="budget_minutes"):
        Trainer(m, budget_minutes=0)
    with pytest.raises(ValueError, match="warmup_epochs"):
        Trainer(m, warmup_epochs=-1.0)
    with pytest.raises(TypeError, match="channels_last must be a bool"):
        Trainer(m, channels_last="yes")
    with pytest.raises(ValueError, match="distributed must be"):
        Trainer(m, distributed="maybe")
    assert Trainer(m, progress="bar").progress == "tqdm"


def test_omp_wait_policy_is_set_only_before_torch_and_never_over_the_environment(monkeypatch):
    from mgcore_torch.train_cli import _set_omp_wait_policy

    monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    assert _set_omp_wait_policy("passive") is None  # torch is imported in this process: too late, left alone
    monkeypatch.setenv("OMP_WAIT_POLICY", "ACTIVE")
    assert _set_omp_wait_policy("passive") == "ACTIVE"
    with pytest.raises(ValueError, match="--omp-wait must be one of"):
        _set_omp_wait_policy("spin")
