"""Trainer: accuracy on digits, checkpoints (atomic, weights_only), bit-identical resume, NaN detection, CLI."""

from __future__ import annotations

import argparse
import json
import os
import sys
import types

import pytest
import torch
from torch import nn

import mgcore_torch.train as train_mod
from mgcore_torch.data import RandomCropFlip, load_digits_dataset, make_loaders
from mgcore_torch.train import (
    History,
    Trainer,
    add_train_arguments,
    atomic_torch_save,
    read_checkpoint,
    run_train,
    train_main,
)


def small_convnet(dropout: float = 0.0) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Dropout(dropout), nn.Linear(32, 10),
    )


@pytest.fixture(scope="module")
def digits():
    return load_digits_dataset(seed=0)


def test_small_convnet_reaches_90_percent_on_digits(digits):
    torch.manual_seed(0)
    train_loader, test_loader = make_loaders(digits, batch_size=32, seed=0)
    trainer = Trainer(small_convnet(), optimizer="sgd", lr=0.1, momentum=0.9, weight_decay=5e-4, epochs=8,
                      scheduler="cosine", progress=None, seed=0)
    history = trainer.fit(train_loader, test_loader)
    # measured: 0.97-0.99 in about 1 s on one core
    assert history.val_acc[-1] >= 0.90
    assert len(history) == 8 and history.epoch == list(range(1, 9))
    assert history.train_loss[-1] < history.train_loss[0]
    assert history.lr[0] == pytest.approx(0.1) and history.lr[-1] < 0.01  # cosine decay
    ev = trainer.evaluate(test_loader)
    assert ev["samples"] == 360 and ev["accuracy"] == pytest.approx(history.val_acc[-1])
    # evaluate agrees with a manual count
    trainer.model.eval()
    with torch.no_grad():
        pred = trainer.model(digits[1].images).argmax(1)
    assert ev["accuracy"] == pytest.approx(float((pred == digits[1].labels).float().mean()))


def test_generic_loader_and_step_schedule():
    torch.manual_seed(0)
    x = torch.randn(64, 1, 4, 4)
    y = (x.mean(dim=(1, 2, 3)) > 0).long()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16, shuffle=True)
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2))
    trainer = Trainer(model, optimizer="adam", lr=0.04, weight_decay=0.0, epochs=3, scheduler="step",
                      step_size=1, gamma=0.5, progress=None, grad_clip=1.0)
    h = trainer.fit(loader)
    assert h.lr == pytest.approx([0.04, 0.02, 0.01])
    assert h.val_acc == [None, None, None] and trainer.global_step == 12
    assert trainer.current_lr == pytest.approx(0.005)


def _fresh_run_objects(digits, seed_model):
    torch.manual_seed(seed_model)
    model = small_convnet(dropout=0.2)
    loaders = make_loaders(digits, batch_size=64, seed=5, augment=RandomCropFlip(padding=1, flip=False))
    return model, loaders


def test_resume_is_bit_identical(digits, tmp_path):
    kw = dict(optimizer="sgd", lr=0.05, momentum=0.9, weight_decay=5e-4, epochs=3, scheduler="cosine",
              seed=11, progress=None)
    # uninterrupted: 3 epochs
    model_a, (tl, vl) = _fresh_run_objects(digits, 0)
    ta = Trainer(model_a, checkpoint=tmp_path / "a.pt", **kw)
    ha = ta.fit(tl, vl)

    # interrupted after epoch 1
    model_b, (tl, vl) = _fresh_run_objects(digits, 0)
    tb = Trainer(model_b, checkpoint=tmp_path / "b.pt", **kw)
    tb.fit(tl, vl, stop_epoch=1)
    assert tb.epoch == 1 and read_checkpoint(tmp_path / "b.pt")["epoch"] == 1
    torch.rand(1000)  # disturb the global RNG as another process would

    # resumed in a "new process": new model (other init), new loaders, new trainer
    model_c, (tl, vl) = _fresh_run_objects(digits, 123)
    tc = Trainer(model_c, checkpoint=tmp_path / "b.pt", resume=True, **kw)
    hc = tc.fit(tl, vl)

    assert tc.epoch == 3 and tc.global_step == ta.global_step == 69
    sa, sc = ta.model.state_dict(), tc.model.state_dict()
    assert sa.keys() == sc.keys()
    for k in sa:
        assert torch.equal(sa[k], sc[k]), k
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "lr", "epoch"):
        assert getattr(ha, key) == getattr(hc, key), key
    # and the optimiser state is the same too
    ma = ta.optimizer.state_dict()["state"]
    mc = tc.optimizer.state_dict()["state"]
    assert all(torch.equal(ma[i]["momentum_buffer"], mc[i]["momentum_buffer"]) for i in ma)


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    x = torch.randn(32, 1, 2, 2)
    y = torch.arange(32) % 2
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=8)
    t = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), epochs=1, progress=None,
                checkpoint=tmp_path / "sub" / "c.pt", resume=True)
    t.fit(loader)
    assert t.epoch == 1 and (tmp_path / "sub" / "c.pt").is_file()


def test_checkpoint_contents_are_plain_data(tmp_path):
    t = Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), epochs=3, progress=None, config={"model": "lin"})
    t.save_checkpoint(tmp_path / "c.pt")
    ck = torch.load(tmp_path / "c.pt", weights_only=True)
    assert ck["epoch"] == 0 and ck["config"]["epochs"] == 3 and ck["config"]["user"] == {"model": "lin"}
    json.dumps(ck["config"])
    json.dumps(ck["history"])
    assert isinstance(ck["rng"]["torch"], torch.Tensor)
    assert isinstance(ck["rng"]["numpy"]["keys"], torch.Tensor) and ck["rng"]["numpy"]["keys"].numel() == 624
    assert isinstance(ck["rng"]["python"]["state"], torch.Tensor)
    assert set(ck) >= {"model", "optimizer", "scheduler", "epoch", "rng", "config", "history"}
    with pytest.raises(TypeError, match="JSON"):
        Trainer(nn.Linear(2, 2), config={"f": object()})
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(tmp_path / "c.pt").st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0600


def test_load_checkpoint_rejects_mismatched_settings(tmp_path):
    t = Trainer(nn.Linear(3, 2), epochs=2, progress=None)
    t.save_checkpoint(tmp_path / "c.pt")
    with pytest.raises(ValueError, match="optimizer='sgd'"):
        Trainer(nn.Linear(3, 2), optimizer="adam", epochs=2, progress=None).load_checkpoint(tmp_path / "c.pt")
    with pytest.raises(ValueError, match="epochs=2"):
        Trainer(nn.Linear(3, 2), epochs=5, progress=None).load_checkpoint(tmp_path / "c.pt")
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ValueError, match="not an mgcore trainer checkpoint"):
        read_checkpoint(tmp_path / "other.pt")
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / "missing.pt")


_UNPICKLED = []


def _record_unpickling():
    _UNPICKLED.append(True)
    return "payload"


class _Payload:
    """An object whose unpickling would run code."""

    def __reduce__(self):
        return (_record_unpickling, ())


def test_weights_only_rejects_pickled_custom_class(tmp_path):
    t = Trainer(nn.Linear(3, 2), epochs=1, progress=None)
    state = t.state_dict()
    state["extra"] = _Payload()
    torch.save(state, tmp_path / "evil.pt")  # a plain (non-atomic) pickle with a custom object
    with pytest.raises(ValueError, match="weights_only"):
        read_checkpoint(tmp_path / "evil.pt")
    with pytest.raises(ValueError, match="weights_only"):
        Trainer(nn.Linear(3, 2), epochs=1, progress=None).load_checkpoint(tmp_path / "evil.pt")
    assert _UNPICKLED == []
    # the same file is loadable by a full unpickler, i.e. only weights_only stopped it
    assert torch.load(tmp_path / "evil.pt", weights_only=False)["extra"] == "payload"
    assert _UNPICKLED == [True]


def test_atomic_save_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    t = Trainer(nn.Linear(3, 2), epochs=1, progress=None)
    t.save_checkpoint(path)
    before = path.read_bytes()
    real_save = torch.save

    def failing_save(obj, f, *a, **k):
        f.write(b"partial data that must never be seen")
        raise OSError("disk full")

    monkeypatch.setattr(train_mod.torch, "save", failing_save)
    with torch.no_grad():
        t.model.weight.add_(1.0)
    with pytest.raises(OSError, match="disk full"):
        t.save_checkpoint(path)
    with pytest.raises(OSError, match="disk full"):
        t.save_checkpoint(tmp_path / "new.pt")
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"]  # no temp files, no new.pt
    assert path.read_bytes() == before
    monkeypatch.setattr(train_mod.torch, "save", real_save)

    # a failing rename also leaves nothing behind
    def failing_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(train_mod.os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        atomic_torch_save({"a": torch.ones(2)}, path)
    assert sorted(os.listdir(tmp_path)) == ["ck.pt"] and path.read_bytes() == before
    monkeypatch.undo()
    ck = read_checkpoint(path)
    assert not torch.equal(ck["model"]["weight"], t.model.weight.detach())  # old weights kept


def test_nan_loss_detected_with_huge_lr(digits):
    torch.manual_seed(0)
    tl, _ = make_loaders(digits, batch_size=32)
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    t = Trainer(model, optimizer="sgd", lr=1e10, momentum=0.9, epochs=3, progress=None)
    with pytest.raises(FloatingPointError, match=r"non-finite training loss .* at epoch 1, step \d+"):
        t.fit(tl)


class _NaNAfter(nn.Module):
    def __init__(self, ok_steps: int):
        super().__init__()
        self.lin = nn.Linear(4, 3)
        self.ok_steps = ok_steps
        self.calls = 0

    def forward(self, x):
        self.calls += 1
        out = self.lin(x.flatten(1))
        return out * float("nan") if self.calls > self.ok_steps else out


def test_nan_model_output_names_epoch_and_step():
    x = torch.randn(40, 1, 2, 2)
    y = torch.arange(40) % 3
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=10)
    t = Trainer(_NaNAfter(ok_steps=6), epochs=3, progress=None, scheduler=None)
    with pytest.raises(FloatingPointError, match=r"epoch 2, step 3 \(global step 7\)"):
        t.fit(loader)


def test_amp_cpu_bfloat16_runs(digits):
    torch.manual_seed(0)
    tl, vl = make_loaders(digits, batch_size=32)
    model = small_convnet()
    dtypes = set()
    model[0].register_forward_hook(lambda mod, inp, out: dtypes.add(out.dtype))
    t = Trainer(model, lr=0.1, epochs=3, amp=True, progress=None, scheduler=None)
    h = t.fit(tl, vl)
    assert dtypes == {torch.bfloat16}
    assert h.train_loss[-1] < 0.5 * h.train_loss[0] and h.val_acc[-1] > 0.5


def test_bad_arguments():
    m = nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"optimizer must be one of \('sgd'"):
        Trainer(m, optimizer="lbfgs")
    with pytest.raises(ValueError, match="scheduler must be one of"):
        Trainer(m, scheduler="linear")
    with pytest.raises(ValueError, match="progress must be one of"):
        Trainer(m, progress="bars")
    with pytest.raises(ValueError, match="lr must be"):
        Trainer(m, lr=-1.0)
    with pytest.raises(TypeError, match="epochs must be an int"):
        Trainer(m, epochs=2.5)
    with pytest.raises(TypeError, match="model must be"):
        Trainer("resnet")
    with pytest.raises(ValueError, match="device"):
        Trainer(m, device="tpu:7")
    t = Trainer(m, progress=None)
    assert t.is_main and t.rank == 0 and t.world_size == 1 and t.device.type in ("cpu", "cuda")


def test_history_round_trip():
    h = History()
    h.append({"epoch": 1, "train_loss": 0.5, "train_acc": 0.8, "val_loss": None, "val_acc": None,
              "lr": 0.1, "seconds": 1.0})
    assert History.from_dict(json.loads(json.dumps(h.to_dict()))) == h
    assert h.last()["train_acc"] == 0.8 and len(h) == 1


def test_plain_progress_prints_epoch_lines(capsys):
    x = torch.randn(16, 1, 2, 2)
    y = torch.arange(16) % 2
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    Trainer(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), epochs=2, log_every=2).fit(loader, loader)
    out = capsys.readouterr().out
    assert out.count("epoch 1/2  train loss") == 1 and out.count("epoch 2/2") == 1
    assert out.count("step 2: loss") == 2 and "val acc" in out


# --------------------------------------------------------------------------- command line


def _tiny_get_model(name, in_channels=1, num_classes=10, width=8):
    if name != "tiny":
        raise ValueError(f"unknown model {name!r}")
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(4 * width, num_classes),
    )


@pytest.fixture
def fake_registry(monkeypatch):
    mod = types.ModuleType("mgcore_torch.models")
    mod.get_model = _tiny_get_model
    monkeypatch.setitem(sys.modules, "mgcore_torch.models", mod)
    import mgcore_torch

    # once the real registry was imported, ``from mgcore_torch import models`` reads the package attribute
    monkeypatch.setattr(mgcore_torch, "models", mod, raising=False)
    return mod


def test_cli_json_and_resume(fake_registry, tmp_path, capsys):
    ck = tmp_path / "out" / "ckpt.pt"
    argv = ["--model", "tiny", "--model-args", '{"width": 12}', "--data", "digits", "--epochs", "3",
            "--batch-size", "32", "--lr", "0.1", "--seed", "0", "--checkpoint", str(ck), "--json"]
    assert train_main(argv) == 0
    res = json.loads(capsys.readouterr().out)
    assert set(res) >= {"test_accuracy", "history", "parameters", "seconds"}
    assert len(res["history"]["epoch"]) == 3 and res["test_accuracy"] > 0.5
    assert res["test_accuracy"] == res["history"]["val_acc"][-1]
    expected_params = sum(p.numel() for p in _tiny_get_model("tiny", width=12).parameters())
    assert res["parameters"] == expected_params
    assert read_checkpoint(ck)["config"]["user"]["model_args"] == {"width": 12}

    # resuming a finished run trains nothing and reproduces the result
    assert train_main(argv + ["--resume"]) == 0
    res2 = json.loads(capsys.readouterr().out)
    assert res2["history"] == res["history"] and res2["test_accuracy"] == res["test_accuracy"]


def test_cli_table_output(fake_registry, capsys):
    parser = argparse.ArgumentParser()
    add_train_arguments(parser)
    args = parser.parse_args(["--model", "tiny", "--epochs", "2", "--batch-size", "64", "--lr", "0.1"])
    assert run_train(args) == 0
    out = capsys.readouterr().out.splitlines()
    header = [i for i, line in enumerate(out) if line.split()[:2] == ["epoch", "train"]]
    assert len(header) == 1
    rows = out[header[0] + 1: header[0] + 3]
    assert [r.split()[0] for r in rows] == ["1", "2"] and all(len(r.split()) == 5 for r in rows)
    assert out[-1].startswith("test accuracy ")
    assert float(out[-1].split()[2]) == pytest.approx(float(rows[-1].split()[3]), abs=1e-4)


def test_cli_errors(fake_registry, capsys):
    assert train_main(["--model", "nope", "--epochs", "1"]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert train_main(["--model", "tiny", "--resume"]) == 2
    assert "--resume needs --checkpoint" in capsys.readouterr().err
    assert train_main(["--model", "tiny", "--model-args", "[1]"]) == 2
    assert "JSON object" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        train_main(["--data", "imagenet"])


def test_cli_model_builder_with_registry_preset(digits):
    torch.manual_seed(0)
    model = train_mod._build_model("mgnet-small", 1, 10, {})
    with torch.no_grad():
        out = model.eval()(digits[1].images[:5])
    assert tuple(out.shape) == (5, 10)
    model3 = train_mod._build_model("mgnet-small", 3, 7, {})
    with torch.no_grad():
        assert tuple(model3.eval()(torch.rand(2, 3, 8, 8)).shape) == (2, 7)
