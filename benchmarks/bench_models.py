"""Throughput of the registry MgNet and Poly-MgNet vs plain hand-written PyTorch versions.

MgNet[2,2,2,2]-[256]-B^l (He, Xu, Zhang & Zhu 2023, Table 4; the layout of the
authors' code) and Poly-MgNet^{q2} (van Betteray, Rottmann & Kahl 2025, the
layout of their code): the registry models run the core algorithm
``mgcore.cycles.mgnet`` over a ``Hierarchy`` of modules (smoothing steps via
``mgcore.iterations``), the plain ones are the same computations written as
straight-line PyTorch below.  The Poly-MgNet pair is also checked to give the
same output with the same weights.  Forward + backward images/second for
batch 128, 32x32x3, float32, ``torch.set_num_threads(2)``; prints a table and
writes ``benchmarks/results/models.json``.

Usage: ``python benchmarks/bench_models.py [--quick] [--channels C] [--repeats N]``
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import sys

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mgcore_torch.models import get_model


class PlainMgNet(nn.Module):
    """MgNet[nu]-[c]-B^l written directly (no mgcore): same parameters and operations."""

    def __init__(self, nu=(2, 2, 2, 2), c=256, num_classes=10):
        super().__init__()
        J = len(nu)
        self.nu = nu
        conv = lambda s=1: nn.Conv2d(c, c, 3, s, 1, bias=False)  # noqa: E731 (local use only)
        self.stem = nn.Conv2d(3, c, 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(c)
        self.A = nn.ModuleList([conv() for _ in range(J)])
        self.B = nn.ModuleList([conv() for _ in range(J)])
        self.bn1 = nn.ModuleList([nn.ModuleList([nn.BatchNorm2d(c) for _ in range(n)]) for n in nu])
        self.bn2 = nn.ModuleList([nn.ModuleList([nn.BatchNorm2d(c) for _ in range(n)]) for n in nu])
        self.R = nn.ModuleList([conv(2) for _ in range(J - 1)])
        self.Rbn = nn.ModuleList([nn.BatchNorm2d(c) for _ in range(J - 1)])
        self.Pi = nn.ModuleList([conv(2) for _ in range(J - 1)])
        self.Pibn = nn.ModuleList([nn.BatchNorm2d(c) for _ in range(J - 1)])
        self.fc = nn.Linear(c, num_classes)

    def forward(self, x):
        f = F.relu(self.stem_bn(self.stem(x)))
        u = None
        for l, n in enumerate(self.nu):
            A = self.A[l]
            for i in range(n):
                r = f if u is None else f - A(u)
                e = F.relu(self.bn2[l][i](self.B[l](F.relu(self.bn1[l][i](r)))))
                u = e if u is None else u + e
            if l < len(self.nu) - 1:
                fc = F.relu(self.Rbn[l](self.R[l](f - A(u))))
                u = F.relu(self.Pibn[l](self.Pi[l](u)))
                f = fc + self.A[l + 1](u)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(u, 1), 1))


class PlainPolyQ2(nn.Module):
    """Poly-MgNet^{q2} written directly (no mgcore): u <- relu(bn_u(u + alpha bn_r(f - A u))), 2 blocks per level."""

    def __init__(self, cs=(64, 128, 256, 256), num_classes=10):
        super().__init__()
        self.stem = nn.Conv2d(3, cs[0], 3, 1, 1, bias=False)
        self.stem_bn = nn.BatchNorm2d(cs[0])
        self.A = nn.ModuleList([nn.Conv2d(c, c, 3, 1, 1, bias=False) for c in cs])
        self.alpha = nn.ParameterList([nn.Parameter(torch.ones(2)) for _ in cs])
        self.bn_r = nn.ModuleList([nn.ModuleList([nn.BatchNorm2d(c) for _ in range(2)]) for c in cs])
        self.bn_u = nn.ModuleList([nn.ModuleList([nn.BatchNorm2d(c) for _ in range(2)]) for c in cs])
        self.R = nn.ModuleList([nn.Conv2d(a, b, 3, 2, 1, groups=a, bias=False) for a, b in zip(cs, cs[1:])])
        self.Pi = nn.ModuleList([nn.Conv2d(a, b, 3, 2, 1, groups=a, bias=False) for a, b in zip(cs, cs[1:])])
        self.fc = nn.Linear(cs[-1], num_classes)

    def load_from(self, reg):
        """Copy the weights of the registry model ``poly-mgnet-q2`` (same layout)."""
        sd = {"stem.weight": reg.stem.conv.weight, "fc.weight": reg.fc.weight, "fc.bias": reg.fc.bias}
        for name, bn in (("stem_bn", reg.stem.bn),):
            sd.update({f"{name}.{k}": v for k, v in bn.state_dict().items()})
        for l, sm in enumerate(reg.B):
            sd[f"A.{l}.weight"] = reg.A[l].weight
            sd[f"alpha.{l}"] = torch.stack([f.alpha.detach() for f in sm.factors])
            for k in range(2):
                sd.update({f"bn_r.{l}.{k}.{n}": v for n, v in sm.rho_r[k].bn.state_dict().items()})
                sd.update({f"bn_u.{l}.{k}.{n}": v for n, v in sm.rho_u[k].bn.state_dict().items()})
        for l in range(len(self.R)):
            sd[f"R.{l}.weight"], sd[f"Pi.{l}.weight"] = reg.R[l].conv.weight, reg.Pi[l].conv.weight
        self.load_state_dict(sd)

    def forward(self, x):
        f = F.relu(self.stem_bn(self.stem(x)))
        u = None
        for l, A in enumerate(self.A):
            if l > 0:
                u = self.Pi[l - 1](u)
                f = self.R[l - 1](F.relu(f - self.A[l - 1](u_prev))) + A(u)
            for k in range(2):
                r = f if u is None else f - A(u)
                e = self.alpha[l][k] * self.bn_r[l][k](r)
                u = F.relu(self.bn_u[l][k](e if u is None else u + e))
            u_prev = u
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(u, 1), 1))


def throughput(model, x, y, steps, warmup):
    model.train()
    for _ in range(warmup):
        F.cross_entropy(model(x), y).backward()
    t = time.perf_counter()
    for _ in range(steps):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
    return steps * x.shape[0] / (time.perf_counter() - t)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short run (64 channels, 2 steps, 1 repeat)")
    ap.add_argument("--channels", type=int, default=None)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--steps", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", default=str(Path(__file__).parent / "results" / "models.json"))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    c = args.channels or (64 if args.quick else 256)
    steps = args.steps or (2 if args.quick else 5)
    repeats = args.repeats or (1 if args.quick else 3)
    torch.manual_seed(0)
    x = torch.randn(args.batch, 3, 32, 32)
    y = torch.randint(0, 10, (args.batch,))
    reg = get_model("mgnet", nu=(2, 2, 2, 2), channels=c)
    plain = PlainMgNet((2, 2, 2, 2), c)
    n_reg = sum(p.numel() for p in reg.parameters())
    n_plain = sum(p.numel() for p in plain.parameters())
    assert n_reg == n_plain, (n_reg, n_plain)
    rows = {"registry": [], "plain": []}
    for _ in range(repeats):  # interleave to share machine noise
        rows["registry"].append(throughput(reg, x, y, steps, 1))
        rows["plain"].append(throughput(plain, x, y, steps, 1))
    poly, poly_plain = get_model("poly-mgnet-q2"), PlainPolyQ2()
    poly_plain.load_from(poly)
    with torch.no_grad():
        poly.eval(), poly_plain.eval()
        same = float((poly(x[:8]) - poly_plain(x[:8])).abs().max())
    assert same < 1e-4, same  # same weights, same output
    rows["poly-q2 registry"], rows["poly-q2 plain"] = [], []
    for _ in range(repeats):
        rows["poly-q2 registry"].append(throughput(poly, x, y, steps, 1))
        rows["poly-q2 plain"].append(throughput(poly_plain, x, y, steps, 1))
    best = {k: max(v) for k, v in rows.items()}
    ratio = best["registry"] / best["plain"]
    poly_ratio = best["poly-q2 registry"] / best["poly-q2 plain"]
    print(f"MgNet[2,2,2,2]-[{c}]-B^l, batch {args.batch}, 32x32x3, float32, {args.threads} threads, params {n_reg:,}")
    print(f"{'model':<18} {'img/s (best)':>14} {'img/s (all)':>30}")
    for k, v in rows.items():
        print(f"{k:<18} {best[k]:>14.1f} {', '.join(f'{t:.1f}' for t in v):>30}")
    print(f"ratio registry/plain = {ratio:.3f} (MgNet), {poly_ratio:.3f} (Poly-MgNet^q2, outputs equal to {same:.1e})")
    result = {
        "benchmark": "models", "model": f"MgNet[2,2,2,2]-[{c}]-B^l", "batch": args.batch, "image": [3, 32, 32],
        "dtype": "float32", "threads": args.threads, "steps": steps, "repeats": repeats, "quick": args.quick,
        "parameters": n_reg, "img_per_s": rows, "best_img_per_s": best, "ratio": ratio,
        "poly_ratio": poly_ratio, "poly_max_output_difference": same,
        "torch": torch.__version__, "machine": platform.machine(),
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(result, indent=2))
    tmp.replace(out)  # atomic on POSIX
    return result


if __name__ == "__main__":
    main()
