"""The seed papers' tables as data, for :mod:`mgcore_torch.reproduce`.

Two kinds of row:

* :class:`CountRow`: a model of a table at the paper's scale (built on the
  ``meta`` device, nothing is allocated) with the paper's parameter count;
* :class:`AccuracyRow`: a model of a table at a scale a CPU trains in
  seconds, with the paper's accuracy printed beside the measured one.

Papers: He, Xu, Zhang & Zhu, *An interpretive constrained linear model for
ResNet and MgNet*, 2023 ("HXZZ"); van Betteray, Rottmann & Kahl,
*Poly-MgNet*, ICPRAM 2025 ("Poly-MgNet"); Xu, CBMS lectures *Deep learning and
numerical PDEs: image classification and MgNet*, 2023 ("Xu, CBMS").

>>> from mgcore_torch.reproduce_tables import COUNT_ROWS, EXPERIMENTS
>>> len(COUNT_ROWS) > 40 and sum(len(e.rows) for e in EXPERIMENTS) > 40
True
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["CountRow", "AccuracyRow", "Experiment", "COUNT_ROWS", "EXPERIMENTS"]

HXZZ = "He, Xu, Zhang & Zhu, An interpretive constrained linear model for ResNet and MgNet, 2023"
POLY = "van Betteray, Rottmann & Kahl, Poly-MgNet, ICPRAM 2025"
CBMS = "Xu, CBMS lectures, Deep learning and numerical PDEs, 2023"


@dataclass(frozen=True)
class CountRow:
    """A table row whose parameter count is reproduced at the paper's scale."""

    table: str
    label: str
    model: str
    config: dict = field(default_factory=dict)
    paper: str = ""  # as printed, e.g. "8.2M"
    reference: int | None = None  # exact count of the authors' code, where derived
    note: str = ""


@dataclass(frozen=True)
class AccuracyRow:
    """A table row trained at small scale; ``paper`` is the paper's accuracy (%) on its data set."""

    label: str
    model: str
    config: dict = field(default_factory=dict)
    paper: float | None = None


@dataclass(frozen=True)
class Experiment:
    """One table reproduced at small scale."""

    key: str
    title: str
    source: str
    paper_data: str
    rows: tuple


_IMNET = dict(stem="imagenet", num_classes=1000)
_C100 = dict(num_classes=100)
_CH = (64, 128, 256, 512)
_CH2 = (128, 256, 512, 1024)
_BLI = dict(smoother="per-step")


def _mg(nu, ch, **kw):
    return dict(nu=nu, channels=ch, **kw)


COUNT_ROWS: tuple = (
    # --- HXZZ Table 2 (MNIST) and Table 3 (CIFAR)
    CountRow("HXZZ Table 2", "ResNet18-A^{l,i}-B^{l,i} (MNIST)", "resnet18", dict(in_channels=1), "11M"),
    CountRow("HXZZ Table 2", "ResNet18-A^l-B^{l,i} (MNIST)", "resnet18-Al-Bli", dict(in_channels=1), "8.0M"),
    CountRow("HXZZ Table 2", "pre-act ResNet18-A^l-B^{l,i} (MNIST)", "preact-resnet18-Al-Bli", dict(in_channels=1), "8.0M"),
    *[CountRow("HXZZ Table 3", f"{p}ResNet{d}-{lab}", f"{q}resnet{d}{suf}", _C100, paper,
               note=("B^l can only be shared by the stride-1 blocks of a level: see docs/models.md"
                     if "B^l" in lab and "," not in lab.split("-B")[1] else ""))
      for p, q in (("", ""), ("pre-act ", "preact-"))
      for d, figs in ((18, ("11M", "8.1M", "9.7M", "6.6M")), (34, ("21M", "13M", "15M", "6.7M")))
      for (lab, suf), paper in zip((("A^{l,i}-B^{l,i}", ""), ("A^l-B^{l,i}", "-Al-Bli"), ("A^{l,i}-B^l", "-Ali-Bl"),
                                     ("A^l-B^l", "-Al-Bl")), figs)],
    # --- HXZZ Table 4
    CountRow("HXZZ Table 4", "ResNet18 (CIFAR-10)", "resnet18", {}, "11.2M", 11_173_962),
    CountRow("HXZZ Table 4", "ResNet18 (ImageNet, torchvision layout)", "resnet18-imagenet", {}, "11.2M", 11_689_512,
             "the table repeats the CIFAR figure; torchvision's ImageNet resnet18 has 11.7M"),
    CountRow("HXZZ Table 4", "MgNet[2,2,2,2]-256-B^l (CIFAR-10)", "mgnet-2222-256-Bl", {}, "8.2M", 8_278_794),
    CountRow("HXZZ Table 4", "MgNet[2,2,2,2]-256-B^l (CIFAR-100)", "mgnet-2222-256-Bl", _C100, "8.3M", 8_301_924),
    CountRow("HXZZ Table 4", "MgNet[3,4,6,3]-[128,...,1024]-B^{l,i} (ImageNet)", "mgnet-3463-128-1024-Bli-imagenet", {},
             "71.3M"),
    # --- HXZZ Table 5 (CIFAR-100)
    *[CountRow("HXZZ Table 5", f"MgNet[2,2,2,2]-[{c}]-B^l", "mgnet", _mg((2, 2, 2, 2), c, **_C100), p)
      for c, p in ((256, "8.3M"), (512, "33.1M"), (768, "74.4M"), (1024, "132.2M"))],
    CountRow("HXZZ Table 5", "MgNet[2,2,2,2]-[32,64,128,256]-B^l", "mgnet", _mg((2, 2, 2, 2), (32, 64, 128, 256), **_C100), "2.3M"),
    CountRow("HXZZ Table 5", "MgNet[2,2,2,2]-[64,128,256,512]-B^l", "mgnet", _mg((2, 2, 2, 2), _CH, **_C100, **_BLI), "12.5M",
             note="12.5M is the B^{l,i} model (smoother='per-step'); with B^l it is 9.4M (Table 6 lists the "
                  "same channels at 9.9M with the 1000-class head)"),
    CountRow("HXZZ Table 5", "MgNet[2,2,2,2]-[128,256,512,1024]-B^l", "mgnet", _mg((2, 2, 2, 2), _CH2, **_C100), "37.5M"),
    CountRow("HXZZ Table 5", "MgNet[2,2,2,2]-[256,512,1024,2048]-B^l", "mgnet",
             _mg((2, 2, 2, 2), (256, 512, 1024, 2048), **_C100), "150.0M"),
    # --- HXZZ Table 6, 9 (ImageNet)
    CountRow("HXZZ Table 6", "MgNet[2,2,2,2]-[64,128,256,512]-B^l", "mgnet", _mg((2, 2, 2, 2), _CH, **_IMNET), "9.9M"),
    CountRow("HXZZ Table 6", "MgNet[2,2,2,2]-[128,256,512,1024]-B^l", "mgnet", _mg((2, 2, 2, 2), _CH2, **_IMNET), "38.5M"),
    CountRow("HXZZ Table 9", "MgNet[2,2,16,2]-[64,128,256,512]-B^l", "mgnet", _mg((2, 2, 16, 2), _CH, **_IMNET), "9.9M"),
    # --- HXZZ Tables 7, 8, 10 (CIFAR-100)
    CountRow("HXZZ Table 7", "MgNet[32,2,2,2]-[256]-B^l", "mgnet", _mg((32, 2, 2, 2), 256, **_C100), "8.3M"),
    CountRow("HXZZ Table 7", "MgNet[8,2,2,2]-[1024]-B^l", "mgnet", _mg((8, 2, 2, 2), 1024, **_C100), "132.2M",
             note="every step owns two BNs (the authors' code): 6 more steps add 24,576; the paper repeats the nu=2 count"),
    CountRow("HXZZ Table 8", "MgNet[2,2,2,16]-[256]-B^l", "mgnet", _mg((2, 2, 2, 16), 256, **_C100), "8.3M"),
    *[CountRow("HXZZ Table 10", f"MgNet[{n1},2,2,2]-[256]-B^{{l,i}}", "mgnet", _mg((n1, 2, 2, 2), 256, **_C100, **_BLI), p,
               note="" if n1 == 2 else "each extra B^{1,i} adds 590,848 to 10,661,220; within 0.1M of the table")
      for n1, p in ((2, "10.7M"), (4, "11.9M"), (8, "14.3M"))],
    # --- HXZZ Table 11 (ImageNet)
    CountRow("HXZZ Table 11", "MgNet[2,2,2,2]-[64,...,512]-B^{l,i}", "mgnet", _mg((2, 2, 2, 2), _CH, **_IMNET, **_BLI), "13.0M"),
    CountRow("HXZZ Table 11", "MgNet[2,2,4,2]-[64,...,512]-B^{l,i}", "mgnet", _mg((2, 2, 4, 2), _CH, **_IMNET, **_BLI), "14.7M",
             note="the same construction gives the table's 55.7M for [128,...,1024] exactly; 14.7M is not reachable "
                  "(B^{l,i} adds 9(64^2+128^2+3*256^2+512^2) = 4.3M to 9.9M): likely a misprint of 14.2M"),
    CountRow("HXZZ Table 11", "MgNet[2,2,2,2]-[128,...,1024]-B^{l,i}", "mgnet", _mg((2, 2, 2, 2), _CH2, **_IMNET, **_BLI), "51.1M"),
    CountRow("HXZZ Table 11", "MgNet[2,2,4,2]-[128,...,1024]-B^l", "mgnet", _mg((2, 2, 4, 2), _CH2, **_IMNET), "38.5M"),
    CountRow("HXZZ Table 11", "MgNet[2,2,4,2]-[128,...,1024]-B^{l,i}", "mgnet", _mg((2, 2, 4, 2), _CH2, **_IMNET, **_BLI), "55.7M"),
    # --- Poly-MgNet §4, Tables 2-4 (CIFAR-10); exact counts of the authors' code
    CountRow("Poly-MgNet §4", "ResNet18 (baseline of the code)", "resnet18-maxpool", {}, "11.2M", 11_173_962),
    CountRow("Poly-MgNet §4", "MgNet^{A,B}", "mgnet-AB", {}, "2.7M", 2_750_666),
    CountRow("Poly-MgNet §4", "Poly-MgNet^{q2}", "poly-mgnet-q2", {}, "1.3M", 1_386_706),
    CountRow("Poly-MgNet §4", "Poly-MgNet^{g4}", "poly-mgnet-g4", {}, "1.4M", 1_386_706, "'approximately 1.4M'"),
    CountRow("Poly-MgNet §4", "Poly-MgNet^{g6}", "poly-mgnet-g6", {}, "1.4M", 1_389_526, "'approximately 1.4M'"),
    CountRow("Poly-MgNet Table 4", "Poly-MgNet^{g8}", "poly-mgnet-g8", {}, "", 1_392_346),
    # --- Xu, CBMS: Hat-CNN-MgNet table
    CountRow("Xu CBMS Hat table", "ResNet (CIFAR-10), Hat", "hat-resnet18", {}, "11.2M", 11_173_962),
    CountRow("Xu CBMS Hat table", "MgNet (ImageNet), Hat", "mgnet", _mg((2, 2, 2, 2), _CH, activation="hat", **_IMNET), "9.9M"),
)

# --------------------------------------------------------------------------- accuracy rows (small scale)
_GDFI_A = (("A*", "K"), ("A*sigma", "K-sigma"), ("sigma A*", "sigma-K"), ("sigma A*sigma", "sigma-K-sigma"))
_GDFI_B = (("B*", "K"), ("sigma B*", "sigma-K"), ("B*sigma", "K-sigma"), ("sigma B*sigma", "sigma-K-sigma"))
_GDFI_PAPER = ((71.36, 93.04, 93.80, 94.21), (92.90, 92.87, 94.01, 93.98), (92.13, 92.44, 93.79, 93.57),
               (93.20, 93.93, 94.08, 94.11))

_PC = dict(channels=(16, 32, 32, 32))  # Poly-MgNet skeleton at small width
_Q2 = "poly-mgnet-q2"
_G4, _G6, _G8 = "poly-mgnet-g4", "poly-mgnet-g6", "poly-mgnet-g8"
_RW = dict(widths=(16, 32, 32, 32))
_MG = dict(nu=(2, 2, 2), channels=16)


def _sq(**quad):
    """Placements with the squared factors as the best g4 row and the quadratic factor as given."""
    out = {}
    for point, default in (("residual", "bn_relu"), ("update", "bn_relu"), ("after", "none")):
        out[point] = {"squared": default, "quadratic": quad.get(point, "none")}
    return out


EXPERIMENTS: tuple = (
    Experiment("hxzz-table1", "GDFI: the 16 forms of calA and calB (eq. 4.15; sigma = sigma_BN)", f"{HXZZ}, Table 1",
               "CIFAR-10",
               tuple(AccuracyRow(f"calA = {an}, calB = {bn}", "gdfi-small",
                                 dict(A_form=af, B_form=bf, A_bn=True, **_MG), _GDFI_PAPER[i][j])
                     for i, (an, af) in enumerate(_GDFI_A) for j, (bn, bf) in enumerate(_GDFI_B))),
    Experiment("hxzz-table3", "ResNet18 / pre-act ResNet18 with A and B sharing", f"{HXZZ}, Table 3", "CIFAR-10",
               tuple(AccuracyRow(f"{p}ResNet18-{lab}", f"{q}resnet18{suf}", _RW, acc)
                     for p, q, accs in (("", "", (94.22, 94.34, 93.95, 93.30)),
                                        ("pre-act ", "preact-", (94.31, 94.54, 93.96, 93.63)))
                     for (lab, suf), acc in zip((("A^{l,i}-B^{l,i}", ""), ("A^l-B^{l,i}", "-Al-Bli"),
                                                 ("A^{l,i}-B^l", "-Ali-Bl"), ("A^l-B^l", "-Al-Bl")), accs))),
    Experiment("hxzz-table10", "MgNet: B^l shared vs B^{l,i} per step", f"{HXZZ}, Table 10", "CIFAR-100",
               (AccuracyRow("MgNet[2,2,2]-B^l", "mgnet", _MG, 79.94),
                AccuracyRow("MgNet[2,2,2]-B^{l,i}", "mgnet", dict(_MG, smoother="per-step"), 80.12))),
    Experiment("poly-table2", "Poly-MgNet coefficient initialisation", f"{POLY}, Table 2", "CIFAR-10",
               (AccuracyRow("q2, U(lambda_min, lambda_max)", _Q2, dict(_PC, init="spectrum-uniform"), 94.89),
                AccuracyRow("q2, Xavier (reference code)", _Q2, dict(_PC, init="reference"), 94.76),
                AccuracyRow("q2, Alg. 3 roots from the spectrum", _Q2, dict(_PC, init="spectrum"), None),
                AccuracyRow("g4, U(lambda_min, lambda_max)", _G4, dict(_PC, init="spectrum-uniform"), 95.28),
                AccuracyRow("g4, Xavier (reference code)", _G4, dict(_PC, init="reference"), 95.32))),
    Experiment("poly-table3", "Poly-MgNet ReLU / BN placements, q2 and g4 (and MgNet^{A,B})", f"{POLY}, Table 3", "CIFAR-10",
               (AccuracyRow("MgNet^{A,B}", "mgnet-AB", _PC, 95.94),
                AccuracyRow("q2: bn sigma u", _Q2, dict(_PC, residual="none", update="none", after="bn_relu"), 65.27),
                AccuracyRow("q2: bn sigma p, bn sigma r (eq. 22)", _Q2,
                            dict(_PC, residual="bn_relu", update="bn_relu", after="none"), 93.04),
                AccuracyRow("q2: bn sigma u, bn sigma r", _Q2, dict(_PC, residual="bn_relu", after="bn_relu"), 94.38),
                AccuracyRow("q2: bn sigma u, bn r (preset)", _Q2, _PC, 94.89),
                AccuracyRow("q2: sigma u (once per level), bn p, bn r", _Q2,
                            dict(_PC, residual="bn", update="bn", after="none", level_end="relu"), 94.71),
                AccuracyRow("g4: bn sigma u", _G4, dict(_PC, residual="none", update="none", after="bn_relu"), 94.65),
                AccuracyRow("g4: bn sigma p, bn sigma r (preset, eq. 22)", _G4, _PC, 95.28),
                AccuracyRow("g4: bn sigma u, bn sigma r", _G4, dict(_PC, update="none", after="bn_relu"), 95.02),
                AccuracyRow("g4: sigma u (once per level), bn p, bn sigma r", _G4,
                            dict(_PC, update="bn", after="none", level_end="relu"), 95.04),
                AccuracyRow("g4: sigma u (once per level), bn p, bn r", _G4,
                            dict(_PC, residual="bn", update="bn", after="none", level_end="relu"), 95.00))),
    Experiment("poly-table4", "Poly-MgNet placements of the quadratic factor, g6 and g8", f"{POLY}, Table 4", "CIFAR-10",
               (AccuracyRow("g6: bn sigma p, bn sigma r", _G6, dict(_PC, **_sq(residual="bn_relu", update="bn_relu")), 95.25),
                AccuracyRow("g6: bn sigma u, bn sigma r (preset)", _G6, _PC, 95.55),
                AccuracyRow("g6: sigma u, bn p, bn sigma r", _G6,
                            dict(_PC, **_sq(residual="bn_relu", update="bn", after="relu")), 95.23),
                AccuracyRow("g8: sigma u, bn p, bn sigma r (preset)", _G8, _PC, 95.33),
                AccuracyRow("g8: bn sigma u, bn r", _G8, dict(_PC, **_sq(residual="bn", after="bn_relu")), 95.00),
                AccuracyRow("g8 with eq. 21's layout (2 squared + 2 quadratic)", _G8,
                            dict(_PC, factors=("squared", "squared", "quadratic", "quadratic")), None),
                AccuracyRow("q4 (2 linear + 1 quadratic)", "poly-mgnet-q4", _PC, None))),
    Experiment("cbms-hat", "Hat vs ReLU activation (Hat-CNN-MgNet)", f"{CBMS}, Hat tables", "CIFAR-10",
               (AccuracyRow("MgNet, ReLU", "mgnet", _MG, 94.74),
                AccuracyRow("MgNet, Hat-[5,10,15] (coarser levels larger; paper Hat-[5,10,15,20])", "mgnet",
                            dict(_MG, activation="hat", hat_support=(5.0, 10.0, 15.0)), 93.23),
                AccuracyRow("MgNet, Hat-[15,10,5] (paper Hat-[20,15,10,5])", "mgnet",
                            dict(_MG, activation="hat", hat_support=(15.0, 10.0, 5.0)), 92.87),
                AccuracyRow("MgNet, trainable Hat from [5,10,15]", "mgnet",
                            dict(_MG, activation="hat", hat_support=(5.0, 10.0, 15.0), hat_trainable=True), 94.15),
                AccuracyRow("MgNet, Hat-[1,2,3] (small supports)", "mgnet",
                            dict(_MG, activation="hat", hat_support=(1.0, 2.0, 3.0)), None),
                AccuracyRow("ResNet18, ReLU", "resnet18", _RW, 94.64),
                AccuracyRow("ResNet18, Hat-[5,10,15,20]", "resnet18", dict(_RW, activation="hat"), 94.79))),
)
