"""The model family of the papers, checked against the authors' code.

* every registered preset has a paper reference and an exact parameter count;
  the counts of the Poly-MgNet presets (github.com/vanbetteray/Poly-MgNet),
  of MgNet (github.com/XuTeam/MgNet_Code) and of the ResNets (torchvision's
  layout) are also derived here from those codes' allocation rules;
* a structural description (layer kinds and shapes in execution order) per
  reference preset, written from the reference code;
* GDFI with the linear A and sigma B sigma is MgNet (same weights, same output);
* hat activation, stems, Poly-MgNet options, input validation.
"""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from mgcore.polynomials import PolynomialSmoother, select_roots
from mgcore_torch.activations import Hat
from mgcore_torch.models import GDFI, MgNet, PolyMgNet, ResNet, describe, get_model, list_models, model_info
from mgcore_torch.polylayers import PolyFactor, PolySmoother, conv_spectrum, reference_coefficients, spectrum_coefficients

torch.set_num_threads(1)


def nparams(m):
    return sum(p.numel() for p in m.parameters())


def meta(name, **cfg):
    with torch.device("meta"):
        return get_model(name, **cfg)


# --------------------------------------------------------------------------- counts of every preset
PRESET_COUNTS = {
    "gdfi": 8_278_794, "gdfi-small": 94_058, "hat-mgnet-small": 94_058, "hat-resnet18": 11_173_962,
    "mgnet": 8_278_794, "mgnet-2222-256-Bl": 8_278_794, "mgnet-2222-256-Bli": 10_638_090,
    "mgnet-2222-64-512-Bl-imagenet": 9_897_256, "mgnet-3463-128-1024-Bli-imagenet": 71_270_504,
    "mgnet-AB": 2_750_666, "mgnet-small": 94_058, "poly-mgnet": 1_386_706, "poly-mgnet-g4": 1_386_706,
    "poly-mgnet-g6": 1_389_526, "poly-mgnet-g8": 1_392_346, "poly-mgnet-q2": 1_386_706, "poly-mgnet-q4": 1_389_526,
    "preact-resnet18": 11_171_146, "preact-resnet18-Al-Bl": 8_000_842, "preact-resnet18-Al-Bli": 8_037_706,
    "preact-resnet18-Ali-Bl": 11_134_282, "preact-resnet34": 21_279_306, "preact-resnet34-Al-Bl": 8_008_266,
    "preact-resnet34-Al-Bli": 13_095_498, "preact-resnet34-Ali-Bl": 16_192_074, "resnet": 11_173_962,
    "resnet18": 11_173_962, "resnet18-Al-Bl": 8_003_658, "resnet18-Al-Bli": 8_040_522, "resnet18-Ali-Bl": 11_137_098,
    "resnet18-imagenet": 11_689_512, "resnet18-maxpool": 11_173_962, "resnet34": 21_282_122,
    "resnet34-Al-Bl": 8_011_082, "resnet34-Al-Bli": 13_098_314, "resnet34-Ali-Bl": 16_194_890, "v-mgnet": 131_178,
}


def test_every_preset_has_a_count_and_a_paper_reference():
    assert sorted(PRESET_COUNTS) == list_models()
    for name in list_models():
        seed = model_info(name)["seed"]
        assert any(a in seed for a in ("He, Xu, Zhang & Zhu", "He & Xu", "van Betteray", "Xu, CBMS")), name


@pytest.mark.parametrize("name", sorted(PRESET_COUNTS))
def test_preset_parameter_count(name):
    assert nparams(meta(name)) == PRESET_COUNTS[name]


def mgnet_code_count(nu, c, shared=True, in_ch=3, classes=10, stem_k=3):
    """Allocation of XuTeam/MgNet_Code mgnet.py (equal channels c on every level)."""
    J, steps = len(nu), sum(nu)
    n = stem_k * stem_k * in_ch * c + 2 * c  # conv1 + bn1
    n += J * 9 * c * c  # one A per level
    n += (J if shared else steps) * 9 * c * c  # B^l or B^{l,i}
    n += steps * 4 * c  # MgIte: bn1, bn2
    n += (J - 1) * (2 * 9 * c * c + 4 * c)  # MgRestriction: Pi, R, bn1, bn2
    return n + c * classes + classes


def poly_code_count(cs, steps, classes=10, in_ch=3, B=False):
    """Allocation of vanbetteray/Poly-MgNet: stem; per level A, 2 BNs per step, one coefficient per step
    (or one B conv for MgNet^{A,B}), convR and convI (depthwise, level 1 included); fc."""
    n = 9 * in_ch * cs[0] + 2 * cs[0]
    prev = cs[0]
    for c in cs:
        n += 9 * c * c + steps * 2 * 2 * c + (9 * c * c if B else steps) + 2 * 9 * c
        prev = c
    return n + prev * classes + classes


def resnet_count(depth=18, widths=(64, 128, 256, 512), in_ch=3, classes=10, preact=False, share_A=False,
                 share_B=False, stem_k=3):
    """torchvision's resnet18/34 layout (basic blocks, 1x1 conv + BN shortcut; pre-act: bare 1x1 conv, no stem BN)."""
    blocks = {18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}[depth]
    n = stem_k * stem_k * in_ch * widths[0] + (0 if preact and stem_k == 3 else 2 * widths[0])
    c_in = widths[0]
    for l, (nb, c) in enumerate(zip(blocks, widths)):
        shared_B = False
        for i in range(nb):
            stride = 2 if i == 0 and l > 0 else 1
            changes = stride != 1 or c_in != c
            if not (share_B and not changes and shared_B):
                n += 9 * c_in * c
                shared_B = shared_B or (share_B and not changes)
            if not (share_A and i > 0):
                n += 9 * c * c
            n += 2 * (c_in if preact else c) + 2 * c  # bn1, bn2
            if changes:
                n += c_in * c + (0 if preact else 2 * c)
            c_in = c
    return n + widths[-1] * classes + classes


@pytest.mark.parametrize("name,expected", [
    ("mgnet-2222-256-Bl", mgnet_code_count((2, 2, 2, 2), 256)),
    ("mgnet-2222-256-Bli", mgnet_code_count((2, 2, 2, 2), 256, shared=False)),
    ("mgnet-small", mgnet_code_count((1, 1, 1), 32)),
    ("gdfi", mgnet_code_count((2, 2, 2, 2), 256)),
    ("poly-mgnet-q2", poly_code_count((64, 128, 256, 256), 2)),
    ("poly-mgnet-g4", poly_code_count((64, 128, 256, 256), 2)),
    ("poly-mgnet-g6", poly_code_count((64, 128, 256, 256), 3)),
    ("poly-mgnet-g8", poly_code_count((64, 128, 256, 256), 4)),
    ("mgnet-AB", poly_code_count((64, 128, 256, 256), 2, B=True)),
    ("resnet18", resnet_count()),
    ("resnet18-maxpool", resnet_count()),
    ("resnet18-imagenet", resnet_count(classes=1000, stem_k=7)),
    ("resnet34", resnet_count(34)),
    ("preact-resnet18", resnet_count(preact=True)),
    ("resnet18-Al-Bli", resnet_count(share_A=True)),
    ("resnet34-Ali-Bl", resnet_count(34, share_B=True)),
    ("preact-resnet34-Al-Bl", resnet_count(34, preact=True, share_A=True, share_B=True)),
])
def test_counts_follow_the_reference_codes(name, expected):
    assert nparams(meta(name)) == expected


def test_reference_counts_literal():
    assert poly_code_count((64, 128, 256, 256), 2) == 1_386_706  # "1.3M"
    assert poly_code_count((64, 128, 256, 256), 2, B=True) == 2_750_666  # "2.7M"
    assert mgnet_code_count((2, 2, 2, 2), 256, classes=100) == 8_301_924
    assert resnet_count(classes=1000, stem_k=7) == 11_689_512  # torchvision resnet18


@pytest.mark.parametrize("placement", [
    dict(residual="none", update="none", after="bn_relu"),  # Table 3 row "bn sigma u"
    dict(residual="bn_relu", update="bn_relu", after="none"),  # eq. 22
    dict(residual="bn", update="bn", after="none", level_end="relu"),  # "relu-outside"
])
@pytest.mark.parametrize("preset,steps", [("poly-mgnet-q2", 2), ("poly-mgnet-g4", 2), ("poly-mgnet-g6", 3),
                                          ("poly-mgnet-g8", 4)])
def test_table_rows_keep_the_reference_count(preset, steps, placement):
    """The code allocates two BNs per block whatever the placement (Poly-MgNet Tables 3, 4)."""
    assert nparams(meta(preset, **placement)) == poly_code_count((64, 128, 256, 256), steps)


def test_mgnet_table5_and_11_counts():
    """He, Xu, Zhang & Zhu 2023, Table 5's 12.5M is the B^{l,i} model; Table 11's 55.7M exactly."""
    n = nparams(meta("mgnet", nu=(2, 2, 2, 2), channels=(64, 128, 256, 512), smoother="per-step", num_classes=100))
    assert round(n / 1e6, 1) == 12.6 or math.floor(n / 1e5) / 10 == 12.5
    n = nparams(meta("mgnet", nu=(2, 2, 4, 2), channels=(128, 256, 512, 1024), smoother="per-step",
                     num_classes=1000, stem="imagenet"))
    assert round(n / 1e6, 1) == 55.8 and math.floor(n / 1e5) / 10 == 55.7


# --------------------------------------------------------------------------- structure
def poly_lines(cs, blocks, in_ch=3, classes=10, B=False):
    """Expected describe() of a Poly-MgNet preset, written from the reference code:
    blocks = [(op, residual, update, after)] per block with the code's BN/ReLU per smoothing-step class."""
    out = [f"stem: conv3x3 {in_ch}->{cs[0]} s1 p1, bn {cs[0]}, sigma"]
    fmt = {"bn_relu": "bn {c}, sigma", "bn": "bn {c}", "relu": "sigma", "none": "-"}
    for l, c in enumerate(cs):
        out.append(f"L{l + 1} A: conv3x3 {c}->{c} s1 p1")
        for k, (op, r, u, a) in enumerate(blocks):
            op = f"B^{l + 1} conv3x3 {c}->{c} s1 p1" if B else op
            out.append(f"L{l + 1} block {k + 1}: {op}; residual {fmt[r].format(c=c)}; update {fmt[u].format(c=c)}; "
                       f"after {fmt[a].format(c=c)}")
        if l < len(cs) - 1:
            d = cs[l + 1]
            out.append(f"L{l + 1}->L{l + 2} R: sigma, conv3x3 {c}->{d} s2 p1 g{c}")
            out.append(f"L{l + 1}->L{l + 2} Pi: conv3x3 {c}->{d} s2 p1 g{c}")
    out.append(f"unused (reference code): conv3x3 {cs[0]}->{cs[0]} s2 p1 g{cs[0]}, conv3x3 {cs[0]}->{cs[0]} s2 p1 g{cs[0]}")
    return out + [f"head: avgpool, linear {cs[-1]}->{classes}"]


LIN = ("linear (1 coef)", "bn", "none", "bn_relu")  # MgBlock_poly, linear_type 'outside', residual 'bn_only'
SQ = ("squared (1 coef)", "bn_relu", "bn_relu", "none")  # 'double' + 'regular' (LinearPolyStep, regular='')
QUAD6 = ("quadratic real (1 coef)", "bn_relu", "none", "bn_relu")  # quad_type 'outside'
QUAD8 = ("quadratic real (1 coef)", "bn_relu", "bn", "relu")  # quad_type 'relu-outside'
CS = (64, 128, 256, 256)


@pytest.mark.parametrize("name,expected", [
    ("poly-mgnet-q2", poly_lines(CS, [LIN, LIN])),
    ("poly-mgnet-g4", poly_lines(CS, [SQ, SQ])),
    ("poly-mgnet-g6", poly_lines(CS, [SQ, SQ, QUAD6])),
    ("poly-mgnet-g8", poly_lines(CS, [SQ, SQ, SQ, QUAD8])),
    ("mgnet-AB", poly_lines(CS, [("", "bn_relu", "bn_relu", "none")] * 2, B=True)),
])
def test_poly_structure_is_the_reference_codes(name, expected):
    assert describe(meta(name)) == expected


def test_poly_q2_structure_literal_level_1():
    d = describe(meta("poly-mgnet-q2"))
    assert d[:5] == [
        "stem: conv3x3 3->64 s1 p1, bn 64, sigma",
        "L1 A: conv3x3 64->64 s1 p1",
        "L1 block 1: linear (1 coef); residual bn 64; update -; after bn 64, sigma",
        "L1 block 2: linear (1 coef); residual bn 64; update -; after bn 64, sigma",
        "L1->L2 R: sigma, conv3x3 64->128 s2 p1 g64",
    ]


def mgnet_lines(nu, c, shared=True, classes=10, stem=None, post=None):
    """Expected describe() of MgNet from XuTeam/MgNet_Code (MgIte per step, MgRestriction per transition);
    ``c`` an int or one per level; ``post`` the V-MgNet post-smoothing steps (prolongation + MgIte)."""
    cs = [c] * len(nu) if isinstance(c, int) else list(c)
    out = [stem or f"stem: conv3x3 3->{cs[0]} s1 p1, bn {cs[0]}, sigma"]

    def steps(l, n, tag):
        for i in range(n):
            b = f"B^{l + 1}" if shared else f"B^{l + 1},{i + 1}"
            c = cs[l]
            out.append(f"L{l + 1} {tag} {i + 1}: bn {c}, sigma, {b} conv3x3 {c}->{c} s1 p1, bn {c}, sigma")

    for l, n in enumerate(nu):
        out.append(f"L{l + 1} A: conv3x3 {cs[l]}->{cs[l]} s1 p1")
        steps(l, n, "step")
        if l < len(nu) - 1:
            a, b = cs[l], cs[l + 1]
            out.append(f"L{l + 1}->L{l + 2} R: conv3x3 {a}->{b} s2 p1, bn {b}, sigma")
            out.append(f"L{l + 1}->L{l + 2} Pi: conv3x3 {a}->{b} s2 p1, bn {b}, sigma")
    for l in range(len(nu) - 2, -1, -1) if post else ():
        out.append(f"L{l + 2}->L{l + 1} P: deconv3x3 {cs[l + 1]}->{cs[l]} s2")
        steps(l, post[l], "post-step")
    return out + [f"head: avgpool, linear {cs[-1]}->{classes}"]


def resnet_lines(widths=(64, 128, 256, 512), blocks=(2, 2, 2, 2), stem="stem: conv3x3 3->64 s1 p1, bn 64, sigma",
                 preact=False, share_A=False, share_B=False, classes=10):
    """Expected describe() of torchvision's resnet (BasicBlock; downsample = conv1x1 + BN), of the pre-act
    variant (HXZZ Alg. 1: bare 3x3 stem, bare 1x1 shortcut) and of the A^l / B^l sharing of eq. 4.6-5.5."""
    if preact and stem.startswith("stem: conv3x3 3->64 s1 p1, bn"):
        stem = "stem: conv3x3 3->64 s1 p1"
    out, c_in = [stem], widths[0]
    for l, (nb, c) in enumerate(zip(blocks, widths)):
        n_same = sum(1 for i in range(nb) if not (i == 0 and (l > 0 or c_in != c)))  # blocks that can share B
        for i in range(nb):
            s = 2 if i == 0 and l > 0 else 1
            changes = s != 1 or c_in != c
            shared = (["B^l"] if share_B and not changes and n_same > 1 else []) + (["A^l"] if share_A and nb > 1 else [])
            if changes:
                sc = f"conv1x1 {c_in}->{c} s{s} p0" + ("" if preact else f", bn {c}")
            else:
                sc = "identity"
            if preact:
                body = (f"bn {c_in}, sigma, B conv3x3 {c_in}->{c} s{s} p1, bn {c}, sigma, A conv3x3 {c}->{c} s1 p1; "
                        f"shortcut {sc}")
            else:
                body = (f"B conv3x3 {c_in}->{c} s{s} p1, bn {c}, sigma, A conv3x3 {c}->{c} s1 p1, bn {c}; "
                        f"shortcut {sc}; sigma")
            out.append(f"S{l + 1} block {i + 1}: {body}" + (f" (shared {', '.join(shared)})" if shared else ""))
            c_in = c
    return out + [f"head: avgpool, linear {widths[-1]}->{classes}"]


_IMAGENET_STEM = "stem: conv7x7 3->{c} s2 p3, bn {c}, sigma, maxpool3x3 s2"

REFERENCE_STRUCTURES = {
    "mgnet": mgnet_lines((2, 2, 2, 2), 256),
    "mgnet-2222-256-Bl": mgnet_lines((2, 2, 2, 2), 256),
    "mgnet-2222-256-Bli": mgnet_lines((2, 2, 2, 2), 256, shared=False),
    "mgnet-small": mgnet_lines((1, 1, 1), 32),
    "hat-mgnet-small": mgnet_lines((1, 1, 1), 32),
    "gdfi": mgnet_lines((2, 2, 2, 2), 256),
    "gdfi-small": mgnet_lines((1, 1, 1), 32),
    "v-mgnet": mgnet_lines((1, 1, 1), 32, post=(1, 1, 1)),
    "mgnet-2222-64-512-Bl-imagenet": mgnet_lines((2, 2, 2, 2), (64, 128, 256, 512), classes=1000,
                                                 stem=_IMAGENET_STEM.format(c=64)),
    "mgnet-3463-128-1024-Bli-imagenet": mgnet_lines((3, 4, 6, 3), (128, 256, 512, 1024), shared=False, classes=1000,
                                                    stem=_IMAGENET_STEM.format(c=128)),
    "resnet": resnet_lines(),
    "resnet18": resnet_lines(),
    "hat-resnet18": resnet_lines(),
    "resnet34": resnet_lines(blocks=(3, 4, 6, 3)),
    "resnet18-maxpool": resnet_lines(stem="stem: conv3x3 3->64 s1 p1, bn 64, sigma, maxpool3x3 s2"),
    "resnet18-imagenet": resnet_lines(stem=_IMAGENET_STEM.format(c=64), classes=1000),
    "poly-mgnet": poly_lines(CS, [LIN, LIN]),
    "poly-mgnet-q4": poly_lines(CS, [LIN, LIN, ("quadratic real (1 coef)", "bn", "none", "bn_relu")]),
}
for _d, _blocks in ((18, (2, 2, 2, 2)), (34, (3, 4, 6, 3))):
    for _pre, _p in ((False, "resnet"), (True, "preact-resnet")):
        for _tag, _a, _b in (("", False, False), ("-Al-Bli", True, False), ("-Ali-Bl", False, True), ("-Al-Bl", True, True)):
            REFERENCE_STRUCTURES[f"{_p}{_d}{_tag}"] = resnet_lines(blocks=_blocks, preact=_pre, share_A=_a, share_B=_b)


@pytest.mark.parametrize("name", sorted(REFERENCE_STRUCTURES))
def test_structure_is_the_reference_codes(name):
    assert describe(meta(name)) == REFERENCE_STRUCTURES[name]


def test_every_preset_has_a_structure_test():
    poly = {"poly-mgnet-q2", "poly-mgnet-g4", "poly-mgnet-g6", "poly-mgnet-g8", "mgnet-AB"}  # see above
    assert sorted(set(REFERENCE_STRUCTURES) | poly) == list_models()


@pytest.mark.parametrize("name", list_models())
def test_every_preset_describes_itself(name):
    d = describe(meta(name))
    assert d[0].startswith("stem: ") and d[-1].startswith("head: avgpool, linear")


# --------------------------------------------------------------------------- GDFI
@pytest.mark.parametrize("cfg", [
    dict(nu=(2, 1), channels=6),
    dict(nu=(1, 2, 1), channels=(4, 8, 8), smoother="per-step", pi="depthwise"),
    dict(nu=(1, 1), channels=5, activation="hat", hat_support=(2.0, 3.0), stem="cifar-maxpool"),
    dict(nu=(2, 0, 1), channels=4, pi="zero", bn=False),
])
def test_gdfi_linear_A_and_sigma_B_sigma_is_mgnet(cfg):
    """He, Xu, Zhang & Zhu 2023, eq. 4.13: Alg. 3 with calA = A*, calB = sigma B* sigma is MgNet."""
    torch.manual_seed(0)
    m = MgNet(**cfg)
    g = GDFI("K", "sigma-K-sigma", **cfg)
    assert list(g.state_dict()) == list(m.state_dict())
    g.load_state_dict(m.state_dict())
    x = torch.randn(3, 3, 12, 12)
    for mode in ("train", "eval"):
        getattr(m, mode)()
        getattr(g, mode)()
        assert torch.equal(g(x), m(x))


@pytest.mark.parametrize("A_bn", [False, True])
def test_gdfi_forms_change_the_maps(A_bn):
    """16 different networks with sigma_BN in calA; with the bare sigma, K*sigma(u) = K*u whenever calB ends
    in sigma (every iterate is then >= 0), so those pairs of forms coincide exactly."""
    x = torch.randn(2, 3, 8, 8)
    outs = {}
    forms = ("K", "K-sigma", "sigma-K", "sigma-K-sigma")
    for a in forms:
        for b in forms:
            torch.manual_seed(0)
            g = GDFI(a, b, nu=(1, 1), channels=4, A_bn=A_bn).eval()
            sm = g.B["1"]
            assert (sm.bn_r is not None) == b.endswith("-sigma") and (sm.bn_b is not None) == b.startswith("sigma-")
            outs[a, b] = g(x)
    assert len({tuple(v.flatten().tolist()) for v in outs.values()}) == (16 if A_bn else 12)
    if not A_bn:
        for b in ("sigma-K", "sigma-K-sigma"):
            assert torch.equal(outs["K", b], outs["K-sigma", b])
            assert torch.equal(outs["sigma-K", b], outs["sigma-K-sigma", b])


def test_gdfi_nonlinear_A_iteration_by_hand():
    """(4.10)-(4.12) with calA = sigma o K * sigma and calB = B * (no BN), one step per level, by hand."""
    torch.manual_seed(1)
    g = GDFI("sigma-K-sigma", "K", nu=(1, 1), channels=3, bn=False, stem=False).double()
    f = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    calA = [lambda u, k=k: F.relu(g.A[k].conv(F.relu(u))) for k in range(2)]
    u1 = g.B["1"].B[0](f)  # u^{1,1} = calB(f - calA(0)); calA(0) = 0
    u0 = g.Pi[0](u1)
    f2 = g.R[0](f - calA[0](u1)) + calA[1](u0)
    u2 = u0 + g.B["2"].B[0](f2 - calA[1](u0))
    assert torch.allclose(g.features(f)[-1].u, u2, atol=1e-12)


# --------------------------------------------------------------------------- hat activation
def test_hat_values_and_gradients():
    h = Hat(4.0)
    x = torch.tensor([-1.0, 0.5, 1.9, 2.1, 3.5, 4.5], dtype=torch.float64, requires_grad=True)
    y = h(x)
    assert y.tolist() == pytest.approx([0.0, 0.5, 1.9, 1.9, 0.5, 0.0])
    y.sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, -1.0, -1.0, 0.0]
    ht = Hat(4.0, trainable=True).double()
    xs = torch.tensor([0.5, 2.5, 3.0, 5.0], dtype=torch.float64)
    ht(xs).sum().backward()
    assert ht.support.grad.item() == pytest.approx(2.0)  # d/dM (M - x) on (M/2, M): two points there
    assert torch.autograd.gradcheck(Hat(3.0).double(), (torch.tensor([0.3, 1.0, 2.2, 2.9], dtype=torch.float64,
                                                                     requires_grad=True),))
    with pytest.raises(ValueError, match="support"):
        Hat(0.0)


def test_hat_support_per_level_in_every_family():
    m = MgNet(nu=(1, 1, 1), channels=4, activation="hat", hat_support=(1.0, 2.0, 3.0))
    assert float(m.stem.sigma.support) == 1.0 and float(m.B["1"].sigma.support) == 1.0
    assert float(m.R[0].sigma.support) == 2.0 and float(m.B["3"].sigma.support) == 3.0
    r = ResNet(widths=(4, 4, 8, 8), activation="hat", hat_support=(1.0, 2.0, 3.0, 4.0))
    assert float(r.layers[3][0].sigma.support) == 4.0
    p = PolyMgNet(channels=(4, 8), activation="hat", hat_support=(5.0, 7.0))
    assert float(p.B[1].rho_u[0].sigma.support) == 7.0 and float(p.R[0].sigma.support) == 5.0
    for model in (m, r, p):
        y = model(torch.randn(2, 3, 8, 8))
        y.sum().backward()
    with pytest.raises(ValueError, match="one support per level"):
        MgNet(nu=(1, 1), channels=4, activation="hat", hat_support=(1.0,))
    with pytest.raises(ValueError, match="activation must be one of"):
        ResNet(activation="gelu")
    with pytest.raises(ValueError, match="apply to activation='hat'"):
        MgNet(nu=(1,), channels=4, hat_support=3.0)


# --------------------------------------------------------------------------- stems and input validation
@pytest.mark.parametrize("stem,size,out", [("cifar", 32, 32), ("cifar-maxpool", 32, 16), ("imagenet", 224, 56),
                                           ("imagenet-s1", 32, 14)])
def test_stems(stem, size, out):
    m = MgNet(nu=(1,), channels=4, stem=stem)
    assert m.stem(torch.randn(1, 3, size, size)).shape[-1] == out
    assert m(torch.randn(1, 3, size, size)).shape == (1, 10)


@pytest.mark.parametrize("name", ["mgnet-small", "v-mgnet", "gdfi-small", "poly-mgnet-q2", "resnet18"])
def test_input_validation(name):
    m = get_model(name, **({"widths": (4, 4, 4, 4)} if "resnet" in name else {"channels": (4, 8, 8, 8)}
                            if "poly" in name else {"channels": 4}))
    with pytest.raises(ValueError, match="in_channels=3"):
        m(torch.randn(1, 1, 8, 8))
    with pytest.raises(ValueError, match="4-D tensor"):
        m(torch.randn(3, 8, 8))
    with pytest.raises(ValueError, match="too small"):
        get_model(name, stem="imagenet-s1", **({"widths": (4, 4, 4, 4)} if "resnet" in name else
                                                {"channels": (4, 8, 8, 8)} if "poly" in name else {"channels": 4})
                  )(torch.randn(1, 3, 4, 4))


BAD = [
    ("mgnet", dict(num_classes=0), "num_classes must be a positive int"),
    ("mgnet", dict(in_channels=True), "in_channels must be a positive int"),
    ("mgnet", dict(stem="vgg"), "stem must be one of"),
    ("mgnet", dict(bn="yes"), "bn must be True or False"),
    ("mgnet", dict(activation="tanh"), "activation must be one of"),
    ("v-mgnet", dict(nu_post=(1, 1)), "nu_post must have one entry per level"),
    ("gdfi", dict(A_form="K2"), "A_form must be one of"),
    ("gdfi", dict(B_form="sigma"), "B_form must be one of"),
    ("poly-mgnet", dict(quadratic="imag"), "quadratic must be one of"),
    ("poly-mgnet", dict(init="kaiming"), "init must be one of"),
    ("poly-mgnet", dict(share_A="sometimes"), "share_A must be"),
    ("poly-mgnet", dict(A_groups=0), "A_groups must be a positive int"),
    ("poly-mgnet", dict(kernel_size=7), "kernel_size must be one of"),
    ("poly-mgnet", dict(level_end="bn"), "level_end must be one of"),
    ("poly-mgnet", dict(update={"cubic": "bn"}), "update keys must be factor kinds"),
    ("poly-mgnet", dict(after=["bn"]), "after must give one placement per factor"),
    ("poly-mgnet", dict(factors=["linear", "cubic"]), "factors entries must be one of"),
    ("poly-mgnet", dict(polynomial="g6", factors=["squared", "squared"]), "have degree 4"),
    ("poly-mgnet", dict(A_groups=3), "groups must be a positive int dividing"),
    ("poly-mgnet", dict(channels=(64, 96)), "multiple of the previous"),
    ("poly-mgnet", dict(train_coefficients=1), "train_coefficients must be True or False"),
    ("poly-mgnet", dict(num_classes=-1), "num_classes must be a positive int"),
    ("poly-mgnet", dict(stem="none2"), "stem must be one of"),
    ("resnet", dict(widths=(4, 4)), "widths must be 4 positive ints"),
    ("resnet", dict(stem="none"), "stem must be one of"),
    ("resnet", dict(num_classes=0), "num_classes must be a positive int"),
    ("resnet", dict(in_channels=0), "in_channels must be a positive int"),
    ("resnet", dict(preact="no"), "preact must be True or False"),
]


@pytest.mark.parametrize("name,cfg,match", BAD)
def test_bad_options_name_the_argument(name, cfg, match):
    with pytest.raises(ValueError, match=match):
        with torch.device("meta"):
            get_model(name, **cfg)


# --------------------------------------------------------------------------- Poly-MgNet options
def small_poly(**kw):
    kw.setdefault("channels", (4, 8, 8, 8))
    return PolyMgNet(**kw)


def test_share_A_every_k_blocks_and_grouped_kernels():
    m = small_poly(polynomial="g8", share_A=2, A_groups=2, kernel_size=5)
    assert len(m.A_extra[0]) == 1 and m.A[0].weight.shape == (4, 2, 5, 5)
    assert m.B[0]._As == [m.A[0], m.A[0], m.A_extra[0][0], m.A_extra[0][0]]
    m = small_poly(polynomial="g6", share_A="none")
    assert len(m.A_extra[2]) == 2 and m.B[2]._As[2] is m.A_extra[2][1]
    # every A of a block is used: all get a gradient
    m(torch.randn(2, 3, 8, 8)).sum().backward()
    assert all(p.grad is not None for A in m.A_extra for p in A.parameters())
    assert small_poly(kernel_size=1)(torch.randn(2, 3, 8, 8)).shape == (2, 10)


def test_frozen_and_real_or_complex_quadratic_coefficients():
    m = small_poly(polynomial="g6", train_coefficients=False)
    m(torch.randn(2, 3, 8, 8)).sum().backward()
    coefs = [p for sm in m.B for p in sm.factors.parameters()]
    assert coefs and all(not p.requires_grad and p.grad is None for p in coefs)
    real, cplx = small_poly(polynomial="g6"), small_poly(polynomial="g6", quadratic="complex")
    assert nparams(cplx) - nparams(real) == 4  # one more scalar (b) per level
    f = PolyFactor("quadratic", coefficient=-0.5, real=True)  # a = |alpha| (the code's abs of Re)
    assert f.residual_factor(0.5) == pytest.approx(0.0)


def test_reference_initialisation_rule():
    """The code: alpha = 1/u, u ~ U(-t, t), t = sqrt(6/(2c)); q2/g4 one draw per level, g6/g8 one per block
    with block 0 -> us[0], last -> us[-1], others -> us[1]."""
    t = math.sqrt(6 / 128)
    torch.manual_seed(0)
    q = reference_coefficients(["linear", "linear"], 64)
    assert q[0] == q[1] and abs(1 / q[0]) <= t
    g = reference_coefficients(["squared"] * 3 + ["quadratic"], 64, torch.Generator().manual_seed(3))
    us = (torch.empty(4).uniform_(-1, 1, generator=torch.Generator().manual_seed(3)) * t).tolist()
    assert g[0] == pytest.approx(1 / us[0]) and g[1] == g[2] == pytest.approx(1 / us[1])
    assert g[3].real == pytest.approx(abs(1 / us[3]))
    torch.manual_seed(5)
    m = small_poly(polynomial="q2")
    a = [f.alpha.item() for f in m.B[0].factors]
    assert a[0] == a[1] and abs(1 / a[0]) <= math.sqrt(6 / 8)


def test_conv_spectrum_is_the_periodic_convolution_spectrum():
    torch.manual_seed(0)
    w = torch.randn(3, 3, 3, 3, dtype=torch.float64)
    n = 4
    cols = []
    for k in range(3 * n * n):
        e = torch.zeros(3 * n * n, dtype=torch.float64)
        e[k] = 1.0
        x = e.reshape(1, 3, n, n)
        cols.append(F.conv2d(F.pad(x, (1, 1, 1, 1), mode="circular"), w).reshape(-1))
    dense = torch.linalg.eigvals(torch.stack(cols, 1))
    ours = torch.tensor(conv_spectrum(w, n))
    assert ours.shape == dense.shape
    dist = (ours[:, None] - dense[None, :]).abs()  # every eigenvalue has a partner (non-normal: ~1e-7)
    assert dist.min(1).values.max() < 1e-6 * dense.abs().max() and dist.min(0).values.max() < 1e-6 * dense.abs().max()


def test_spectrum_initialisation_uses_algorithm_3():
    torch.manual_seed(0)
    m = small_poly(polynomial="q4", init="spectrum", quadratic="complex")
    lam = conv_spectrum(m.A[1].weight, 4)
    sel = select_roots(lam, 4, kind="q")
    f = m.B[1].factors
    assert f[0].alpha.item() == pytest.approx(1 / sel["roots"][0], rel=1e-5)
    assert f[1].alpha.item() == pytest.approx(1 / sel["roots"][1], rel=1e-5)
    assert (f[2].a.item(), f[2].b.item()) == pytest.approx(sel["roots"][2], rel=1e-5)
    g = spectrum_coefficients(["squared", "squared", "quadratic"], lam)
    zeta = max(abs(max(z.real for z in lam)), abs(min(z.real for z in lam)))
    assert g[0] == g[1] == pytest.approx(1 / zeta**2)
    seen = []
    small_poly(polynomial="g6", init=lambda w, kinds: seen.append(kinds) or [2.0, 2.0, 1 + 1j])
    assert seen[0] == ["squared", "squared", "quadratic"]


def test_poly_smoother_without_bn_is_the_core_polynomial():
    """All placements 'none': the blocks multiply the residual by prod q_k(A) (Poly-MgNet eqs. 13-21), the
    core's PolynomialSmoother in root form (g-factors first, then roots)."""
    torch.manual_seed(0)
    A = torch.nn.Conv2d(2, 2, 3, padding=1, bias=False).double()
    fs = [PolyFactor("squared", coefficient=0.3), PolyFactor("squared", coefficient=0.2),
          PolyFactor("quadratic", root=2 + 1j)]
    sm = PolySmoother(2, fs, "none", "none", "none").double()
    ref = PolynomialSmoother([(2.0, 1.0)], g=[0.3, 0.2])
    f = torch.randn(1, 2, 5, 5, dtype=torch.float64)
    u0 = torch.randn(1, 2, 5, 5, dtype=torch.float64)
    for u in (None, u0):
        assert torch.allclose(sm.smooth(A, f, u, 3), ref.smooth(A, f, u, 1), atol=1e-12)


def test_level_end_relu_and_unused_modules():
    m = small_poly(polynomial="q2", residual="bn", update="bn", after="none", level_end="relu")
    f = torch.randn(2, 4, 8, 8)
    assert (m.B[0].smooth(m.A[0], f, None, 2) >= 0).all()
    ref = {id(p) for p in m.reference_only_parameters()}
    assert len(ref) == 2 + 0  # level-1 R and Pi; both BNs of every block are used
    m = small_poly(polynomial="q2", residual="none", update="none", after="bn_relu")
    assert len(m.unused_bn) == 4 * 2  # one unused BN per block, 2 blocks, 4 levels
    m(torch.randn(2, 3, 8, 8)).sum().backward()
    assert all(p.grad is None for p in m.reference_only_parameters())
    m2 = copy.deepcopy(m)
    assert m2.B[0]._As is None and m2.hierarchy.levels[0].A is m2.A[0]
