"""Throughput of the registry MgNet vs a plain hand-written PyTorch MgNet.

Both networks are MgNet[2,2,2,2]-[256]-B^l (seed 001 Table 4; reference layout
of /work/shared/seeds/INDEX.md): the registry model runs the core algorithm
``mgcore.cycles.mgnet`` over a ``Hierarchy`` of modules, the plain one is the
same computation written as straight-line PyTorch below.  Forward + backward
images/second for batch 128, 32x32x3, float32, ``torch.set_num_threads(2)``;
prints a table and writes ``benchmarks/results/models.json``.

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
    best = {k: max(v) for k, v in rows.items()}
    ratio = best["registry"] / best["plain"]
    print(f"MgNet[2,2,2,2]-[{c}]-B^l, batch {args.batch}, 32x32x3, float32, {args.threads} threads, params {n_reg:,}")
    print(f"{'model':<10} {'img/s (best)':>14} {'img/s (all)':>30}")
    for k, v in rows.items():
        print(f"{k:<10} {best[k]:>14.1f} {', '.join(f'{t:.1f}' for t in v):>30}")
    print(f"ratio registry/plain = {ratio:.3f}")
    result = {
        "benchmark": "models", "model": f"MgNet[2,2,2,2]-[{c}]-B^l", "batch": args.batch, "image": [3, 32, 32],
        "dtype": "float32", "threads": args.threads, "steps": steps, "repeats": repeats, "quick": args.quick,
        "parameters": n_reg, "img_per_s": rows, "best_img_per_s": best, "ratio": ratio,
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
