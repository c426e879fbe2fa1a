"""Tests of the mgcore_torch model registry (every registered model)."""

import copy
import io
import pickle

import pytest
import torch

from mgcore_torch.models import MgNet, get_model, list_models, model_info

torch.set_num_threads(2)

ALL = list_models()
LARGE = {n for n in ALL if not n.startswith(("mgnet-small", "v-mgnet"))}
EXACT = {
    ("mgnet-2222-256-Bl", 10): 8_278_794,
    ("mgnet-2222-256-Bl", 100): 8_301_924,
    ("mgnet-2222-256-Bli", 10): 10_638_090,
    ("poly-mgnet-q2", 10): 1_386_706,
    ("mgnet-AB", 10): 2_750_666,
    ("resnet18", 10): 11_173_962,
}


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def small_config(name):
    """Cheap configuration of a registered model for functional tests."""
    cls = model_info(name)["class"]
    if cls == "ResNet":
        return {"widths": (4, 8, 8, 8)}
    if cls == "PolyMgNet":
        return {"channels": (4, 8, 8, 8)}
    if name.endswith("-small") or name == "v-mgnet":
        return {}
    return {"channels": 8}


@pytest.mark.parametrize("name,classes", sorted(EXACT))
def test_exact_parameter_counts(name, classes):
    with torch.device("meta"):
        m = get_model(name, num_classes=classes)
    assert nparams(m) == EXACT[(name, classes)]


# Seed tables (rounded counts, in millions): He, Xu, Zhang & Zhu, 2023, Tables 4, 5, 10, 3 (A^l-B^{l,i}) and 2.
SEED_TABLE = [
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=512, num_classes=100), 33.1),
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=768, num_classes=100), 74.4),
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=1024, num_classes=100), 132.2),
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=(32, 64, 128, 256), num_classes=100), 2.3),
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=(256, 512, 1024, 2048), num_classes=100), 150.0),
    # He, Xu, Zhang & Zhu, 2023, Table 6 / Table 11 / Table 4 (ImageNet head, 1000 classes; stem differences are < 0.01M)
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=(64, 128, 256, 512), num_classes=1000), 9.9),
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=(64, 128, 256, 512), smoother="per-step", num_classes=1000), 13.0),
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=(128, 256, 512, 1024), num_classes=1000), 38.5),
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=(128, 256, 512, 1024), smoother="per-step", num_classes=1000), 51.1),
    ("mgnet", dict(nu=(3, 4, 6, 3), channels=(128, 256, 512, 1024), smoother="per-step", num_classes=1000), 71.3),
    ("mgnet", dict(nu=(2, 2, 2, 2), channels=(128, 256, 512, 1024), num_classes=100), 37.5),
    ("mgnet", dict(nu=(4, 2, 2, 2), channels=256, smoother="per-step", num_classes=100), 11.9),
    ("mgnet", dict(nu=(8, 2, 2, 2), channels=256, smoother="per-step", num_classes=100), 14.3),
    ("mgnet-2222-256-Bli", dict(num_classes=100), 10.7),
    ("resnet18-Al-Bli", dict(num_classes=100), 8.1),
    ("preact-resnet18-Al-Bli", dict(num_classes=100), 8.1),
    ("resnet18-Al-Bli", dict(in_channels=1), 8.0),
    ("resnet34-Al-Bli", dict(num_classes=100), 13.1),
    ("resnet34", dict(), 21.3),
]


@pytest.mark.parametrize("name,config,millions", SEED_TABLE)
def test_seed_table_rounded_counts(name, config, millions):
    with torch.device("meta"):
        m = get_model(name, **config)
    # the papers round or truncate to 0.1M
    assert abs(nparams(m) / 1e6 - millions) < 0.1


@pytest.mark.parametrize("name", ALL)
def test_forward_backward_shapes(name):
    torch.manual_seed(0)
    m = get_model(name, num_classes=7, **small_config(name))
    x = torch.randn(2, 3, 32, 32)
    y = m(x)
    assert y.shape == (2, 7)
    y.square().sum().backward()
    unused = {id(p) for p in getattr(m, "level1_transfers", nn_empty()).parameters()}
    unused |= {id(p) for p in getattr(m, "reference_only_parameters", list)()}
    missing = [n for n, p in m.named_parameters() if p.grad is None and id(p) not in unused]
    assert not missing
    assert all(torch.isfinite(p.grad).all() for p in m.parameters() if p.grad is not None)


def nn_empty():
    return torch.nn.Module()


@pytest.mark.parametrize("name", ["mgnet-small", "v-mgnet", "poly-mgnet-q2", "resnet18"])
def test_grey_28x28(name):
    m = get_model(name, in_channels=1, **small_config(name))
    assert m(torch.randn(2, 1, 28, 28)).shape == (2, 10)


@pytest.mark.parametrize("name", ALL)
def test_state_dict_deepcopy_pickle_channels_last(name):
    torch.manual_seed(1)
    cfg = small_config(name)
    m = get_model(name, **cfg).eval()
    x = torch.randn(2, 3, 16, 16)
    y = m(x)
    torch.manual_seed(2)
    m2 = get_model(name, **cfg).eval()
    assert not torch.allclose(m2(x), y)
    m2.load_state_dict(m.state_dict())
    assert torch.equal(m2(x), y)
    assert torch.equal(m(x), y)  # deterministic eval output
    m3 = copy.deepcopy(m)
    assert torch.equal(m3(x), y)
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    m4 = torch.load(buf, weights_only=False)
    assert torch.equal(m4(x), y)
    m5 = pickle.loads(pickle.dumps(m))
    assert torch.equal(m5(x), y)
    m6 = copy.deepcopy(m).to(memory_format=torch.channels_last)
    torch.testing.assert_close(m6(x.to(memory_format=torch.channels_last)), y, rtol=1e-4, atol=1e-5)
    # copies own their parameters: the hierarchy of a copy uses the copy's modules
    if hasattr(m3, "hierarchy"):
        with torch.no_grad():
            for p in m3.parameters():
                p.add_(0.1)
        assert not torch.allclose(m3(x), y)
        assert torch.equal(m(x), y)
        assert m3.hierarchy.levels[0].A is m3.A[0]


def test_large_presets_forward_one_image():
    torch.manual_seed(0)
    for name in ("mgnet-2222-256-Bl", "poly-mgnet-g6"):
        m = get_model(name).eval()
        with torch.no_grad():
            assert m(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_hierarchy_not_registered_and_levels_hold_modules():
    m = get_model("mgnet-small")
    h = m.hierarchy
    assert "_hierarchy" not in dict(m.named_modules())
    assert len(h) == 3 and h.levels[0].A is m.A[0] and h.levels[0].B is m.B["1"] and h.levels[0].R is m.R[0]
    keys = list(m.state_dict())
    assert not any("hierarchy" in k for k in keys)


def test_bad_config_errors():
    with pytest.raises(ValueError, match="allowed names"):
        get_model("no-such-model")
    with pytest.raises(ValueError, match="one entry per level"):
        get_model("mgnet", nu=(2, 2), channels=(8, 8, 8))
    with pytest.raises(ValueError, match="smoother must be one of"):
        get_model("mgnet", smoother="sometimes")
    with pytest.raises(ValueError, match="pi must be one of"):
        get_model("mgnet", pi="bicubic")
    with pytest.raises(ValueError, match="allowed"):
        get_model("mgnet", colour=True)
    with pytest.raises(ValueError, match="polynomial must be"):
        get_model("poly-mgnet", polynomial="q3")
    with pytest.raises(ValueError, match="residual must be one of"):
        get_model("poly-mgnet", residual="gelu")
    with pytest.raises(ValueError, match="depth must be one of"):
        get_model("resnet", depth=50)
    with pytest.raises(ValueError, match="non-negative"):
        get_model("mgnet", nu=(2, -1))
    with pytest.raises(ValueError, match="needs equal channels"):
        get_model("mgnet", nu=(1, 1), channels=(8, 16), pi="injection")


def test_model_info():
    info = model_info("mgnet-2222-256-Bl")
    assert "He, Xu, Zhang & Zhu" in info["seed"] and info["defaults"]["channels"] == 256 and "nu" in info["config_keys"]
    assert all(model_info(n)["doc"] for n in ALL)


@pytest.mark.parametrize("pi", ["conv", "zero", "depthwise", "injection", "full-weighting"])
def test_pi_kinds_run(pi):
    m = MgNet(nu=(1, 1, 1), channels=8, pi=pi)
    assert m(torch.randn(2, 3, 12, 12)).shape == (2, 10)


def test_mgnet_small_learns_digits_quickly():
    torch.manual_seed(0)
    n = 256
    y = torch.randint(0, 4, (n,))
    x = torch.zeros(n, 1, 8, 8)
    for k in range(4):  # a bar at a class-dependent position
        x[y == k, 0, 2 * k : 2 * k + 2, :] = 1.0
    x += 0.3 * torch.randn_like(x)
    m = get_model("mgnet-small", in_channels=1, num_classes=4, channels=8)
    opt = torch.optim.Adam(m.parameters(), lr=1e-2)
    for _ in range(30):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(m(x), y)
        loss.backward()
        opt.step()
    m.eval()
    acc = (m(x).argmax(1) == y).float().mean().item()
    assert acc > 0.9
