"""``mgcore spectrum``: spectra, local Fourier analysis and polynomial roots, as text, JSON and PNGs.

Two sources:

* a gallery problem (``--problem``, ``--n``, ``--eps``): the spectrum of every
  level of the solver's hierarchy (exact for constant coefficients,
  :func:`~mgcore.analysis.stencil_eigenvalues`; dense for small other
  levels; Lanczos/Gershgorin bounds otherwise), the smoothing and two-grid
  factors of ``--smoother`` and the predicted V-cycle factor
  (:mod:`mgcore.analysis.lfa`, measured beside them with ``--measure``), and
  the polynomial smoother chosen from the high-frequency part of the
  spectrum of ``D^-1 A`` (:func:`~mgcore.analysis.polynomial_roots_from_spectrum`);
* a saved model checkpoint (``--checkpoint``): the ``A`` kernels of its
  levels (state-dict keys matching ``--key``), their exact periodic spectra on
  the feature-map grid (``--grid``, halved per level;
  :func:`~mgcore.analysis.conv_eigenvalues`), singular values, and the
  Poly-MgNet roots of Alg. 3 (:func:`~mgcore.analysis.poly_roots_for_kernel`).

Pictures (``--out DIR``, PNG via matplotlib's Agg backend, each written to a
temporary file and renamed): ``eigenvalues.png`` (the eigenvalues of every
level in the complex plane), ``polynomial.png`` (``|q(lambda)|`` of the chosen
polynomial over the spectrum) and ``smoothing.png`` (the smoother's
amplification over the frequency square ``[-pi, pi)^2``, the low frequencies
framed).  ``--json`` prints one JSON object instead of the summary.

Only :func:`add_subcommand` runs when the parser is built; numpy, scipy,
matplotlib and torch load when the command runs.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import tempfile
from typing import Any

__all__ = ["add_subcommand", "run_spectrum", "problem_report", "checkpoint_report", "DEFAULT_KEY"]

#: state-dict keys of the ``A`` kernels of an MgNet / Poly-MgNet (``A.<level-1>.weight``)
DEFAULT_KEY = r"(^|\.)A\.(\d+)\.weight$"
_PROBLEMS = ["poisson1d", "poisson2d", "poisson3d", "poisson2d-fem", "anisotropic2d", "variable2d", "variable3d"]
_PLOT_POINTS = 20000


def _smoother_arg(text: str) -> Any:
    from ..cli import parse_smoother_arg

    return parse_smoother_arg(text)


def _positive(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {v}")
    return v


def add_subcommand(sub: Any) -> argparse.ArgumentParser:
    """Add ``spectrum`` to the ``mgcore`` sub-parsers ``sub``."""
    p = sub.add_parser(
        "spectrum", help="spectra, local Fourier analysis and polynomial roots of a problem or a model's A kernels",
        description="Spectra per level, smoothing/two-grid/V-cycle factors (local Fourier analysis) and polynomial "
                    "smoother roots chosen from the spectrum, for a gallery problem or the A kernels of a saved model "
                    "checkpoint. Writes eigenvalues.png, polynomial.png and smoothing.png to --out.")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--problem", choices=_PROBLEMS, default=None, help="gallery problem (default poisson2d)")
    src.add_argument("--checkpoint", metavar="FILE", default=None,
                     help="model checkpoint (trainer checkpoint or state dict; loaded with weights_only=True)")
    p.add_argument("--n", type=_positive, default=63, help="unknowns per dimension (default 63)")
    p.add_argument("--bc", choices=["dirichlet", "neumann"], default=None, help="boundary condition")
    p.add_argument("--eps", type=float, default=None, help="anisotropy of anisotropic2d (default 0.01)")
    p.add_argument("--smoother", type=_smoother_arg, default="rbgs",
                   help="smoother for the analysis, e.g. rbgs, jacobi:omega=0.8, gs, line-gs:axis=1, "
                        "chebyshev:degree=3 (default rbgs)")
    p.add_argument("--nu", type=int, nargs=2, default=(1, 1), metavar=("PRE", "POST"), help="smoothing steps (default 1 1)")
    p.add_argument("--degree", type=_positive, default=4, help="degree of the polynomial from the spectrum (default 4)")
    p.add_argument("--method", choices=["alg3", "leja", "chebyshev", "equispaced"], default="alg3",
                   help="root selection (default alg3: Poly-MgNet Alg. 3)")
    p.add_argument("--kind", choices=["q", "g"], default="q", help="polynomial form q_d or g_d (default q)")
    p.add_argument("--levels", type=_positive, default=None, help="analyse only the finest LEVELS levels")
    p.add_argument("--measure", action="store_true", help="also run the solver and report measured factors")
    p.add_argument("--grid", type=_positive, default=32,
                   help="checkpoint: feature-map size of level 1, halved per level (default 32)")
    p.add_argument("--key", default=DEFAULT_KEY, help=f"checkpoint: regex of the A kernels' keys (default {DEFAULT_KEY!r})")
    p.add_argument("--out", default="spectrum", metavar="DIR", help="directory for the PNGs (default ./spectrum)")
    p.add_argument("--no-plots", action="store_true", help="write no PNGs")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the summary")
    p.set_defaults(func=run_spectrum)
    return p


# ----------------------------------------------------------------------- helpers
def _c(z: complex) -> list:
    return [float(z.real), float(z.imag)]


def _root_json(r: Any) -> Any:
    if isinstance(r, tuple):
        return {"pair": [float(r[0]), float(r[1])]}
    if isinstance(r, complex):
        return {"pair": [float(r.real), float(r.imag)]} if r.imag else float(r.real)
    return float(r)


def _stats(lam) -> dict:
    import numpy as np

    lam = np.asarray(lam)
    out = {"count": int(lam.size), "re_min": float(lam.real.min()), "re_max": float(lam.real.max()),
           "im_max": float(np.abs(lam.imag).max()), "abs_max": float(np.abs(lam).max())}
    pos = lam.real[lam.real > 0]
    if np.abs(lam.imag).max() == 0 and lam.real.min() > 0:
        out["condition"] = float(lam.real.max() / lam.real.min())
    elif pos.size:
        out["condition"] = None
    return out


def _level_spectrum(data: Any, max_dense: int = 4000) -> tuple:
    """``(eigenvalues or None, kind, bounds)`` of one level."""
    import numpy as np

    from .bounds import estimate_lambda_max, gershgorin_bound
    from .symbols import Stencil

    try:
        S = Stencil.from_level(data)
    except ValueError:
        S = None
    if S is not None:
        lam = S.eigenvalues(data.shape, "dirichlet").ravel()
        return lam, "exact", (float(lam.min()), float(lam.max()))
    A = data.matrix()
    if A.shape[0] <= max_dense:
        lam = np.linalg.eigvalsh(A.toarray())
        return lam, "dense", (float(lam.min()), float(lam.max()))
    return None, "bounds", (None, min(estimate_lambda_max(A, iters=30, safety=1.0), gershgorin_bound(A)))


# ----------------------------------------------------------------- problem report
def problem_report(problem: Any, smoother: Any = "rbgs", nu: tuple = (1, 1), degree: int = 4, method: str = "alg3",
                   kind: str = "q", levels: int | None = None, measure: bool = False) -> tuple[dict, dict]:
    """Spectra, LFA and polynomial roots of a gallery problem: ``(json-able report, arrays for the plots)``."""
    import numpy as np

    from . import lfa
    from .roots import max_residual, polynomial_roots_from_spectrum, spectrum_part
    from .symbols import Stencil

    datas = lfa.nested_levels(problem, 500, levels)
    rep: dict = {"source": "problem", "problem": getattr(problem, "name", "problem"), "n": int(problem.shape[0]),
                 "dim": problem.dim, "bc": problem.bc, "levels": []}
    arrays: dict = {"levels": []}
    for l, data in enumerate(datas, start=1):
        lam, how, (lo, hi) = _level_spectrum(data)
        entry = {"level": l, "shape": list(data.shape), "unknowns": int(math.prod(data.shape)), "spectrum": how,
                 "lambda_min": lo, "lambda_max": hi}
        if lam is not None:
            entry["condition"] = float(hi / lo) if lo and lo > 0 else None
        rep["levels"].append(entry)
        arrays["levels"].append(lam)
    constant = all(e["spectrum"] == "exact" for e in rep["levels"])
    nested = all(n % 2 == 1 for n in datas[0].shape)
    nu = tuple(int(v) for v in nu)
    if constant:
        A = Stencil.from_level(datas[0])
        Ac = Stencil.from_level(datas[1]) if len(datas) > 1 else A.coarse()
        ana = {
            "smoother": lfa._label(smoother), "nu": list(nu),
            "mu": lfa.smoothing_factor(A, smoother, max(sum(nu), 1), bc=problem.bc),
            "rho_2g": lfa.two_grid_factor(A, smoother, nu, coarse_stencil=Ac, bc=problem.bc),
        }
        if nested:
            ana["rho_2g_n"] = lfa.two_grid_factor(A, smoother, nu, n=datas[0].shape, coarse_stencil=Ac, bc=problem.bc)
        else:
            rep["note"] = ("the grid is not nested (even n): predictions on this grid's frequencies and the V-cycle "
                           "analysis need n = 2^k - 1")
        if len(datas) > 1 and nested:
            ana["rho_V_n"] = lfa.cycle_factor(problem, smoother, nu, "V", levels=len(datas))
        if measure:
            import warnings

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ana["measured_2g"] = lfa.measure_factor(problem, smoother, nu, two_grid=True)["factor"]
                m = lfa.measure_factor(problem, smoother, nu, max_levels=len(datas))
            ana["measured_V"] = m["factor"]
        rep["lfa"] = ana
        arrays["smoothing_map"] = lfa.smoothing_map(A, smoother, samples=64, bc=problem.bc)
        arrays["stencil"] = A
    else:
        rep["lfa"] = None
        rep["note"] = "local Fourier analysis needs constant coefficients (a Dirichlet gallery problem without k)"
    # the polynomial smoother from the spectrum of D^-1 A (level 1)
    src = problem if constant else datas[0]
    part = "high" if constant else "upper"
    sel = polynomial_roots_from_spectrum(src, degree, method, kind=kind, part=part, precondition="jacobi")
    target = spectrum_part(src, part, None, "jacobi")
    full = spectrum_part(src, "all", None, "jacobi")
    rep["polynomial"] = {
        "method": method, "kind": kind, "degree": degree, "operator": "D^-1 A", "part": part,
        "interval": [float(target.real.min()), float(target.real.max())],
        "roots": [_root_json(r) for r in sel["roots"]], "g": [float(a) for a in sel["g"]],
        "max_q_target": max_residual(sel["roots"], target, sel["g"]),
        "max_q_all": max_residual(sel["roots"], full, sel["g"]),
        "spec": {"name": "polynomial", "roots": [list(r) if isinstance(r, tuple) else r for r in sel["roots"]],
                 "g": sel["g"], "precondition": "jacobi"},
    }
    arrays["poly"] = (sel, np.asarray(full), np.asarray(target))
    return rep, arrays


# -------------------------------------------------------------- checkpoint report
def _load_state_dict(path: str) -> dict:
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - torch is an optional extra
        raise ImportError("reading a checkpoint needs torch: pip install 'mgcore[torch]'") from exc
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise ValueError(f"{path!r} is not a loadable checkpoint (tensors and plain data only, weights_only=True): "
                         f"{exc}") from exc
    if isinstance(ckpt, dict) and isinstance(ckpt.get("model"), dict):
        ckpt = ckpt["model"]
    elif isinstance(ckpt, dict) and isinstance(ckpt.get("state_dict"), dict):
        ckpt = ckpt["state_dict"]
    if not isinstance(ckpt, dict):
        raise ValueError(f"{path!r} holds neither a state dict nor a trainer checkpoint with 'model'")
    return ckpt


def checkpoint_report(path: str, grid: int = 32, degree: int = 4, kind: str = "q", key: str = DEFAULT_KEY,
                      method: str = "alg3") -> tuple[dict, dict]:
    """Spectra and Poly-MgNet roots of the ``A`` kernels of a checkpoint: ``(report, arrays)``."""
    import numpy as np

    from .roots import alg3_roots, leja_points, max_residual
    from .symbols import conv_eigenvalues, conv_singular_values

    if method not in ("alg3", "leja"):
        raise ValueError(f"--method for kernel spectra must be 'alg3' or 'leja' (complex spectra), got {method!r}")
    try:
        pat = re.compile(key)
    except re.error as exc:
        raise ValueError(f"--key {key!r} is not a valid regular expression: {exc}") from None
    sd = _load_state_dict(path)
    found = []
    for k, v in sd.items():
        m = pat.search(k)
        if m and hasattr(v, "ndim") and v.ndim == 4 and v.shape[0] == v.shape[1]:
            idx = next((int(g) for g in m.groups()[::-1] if g and g.isdigit()), len(found))
            found.append((idx, k, v.detach().cpu().double().numpy()))
    if not found:
        raise ValueError(f"no square 4-D kernels with keys matching {key!r} in {path!r} "
                         f"(keys: {', '.join(list(sd)[:8])}{', ...' if len(sd) > 8 else ''})")
    found.sort()
    rep: dict = {"source": "checkpoint", "checkpoint": path, "grid": grid, "levels": []}
    arrays: dict = {"levels": [], "kernels": []}
    for l, (_, k, W) in enumerate(found, start=1):
        n = max(grid // 2 ** (l - 1), 1)
        lam = conv_eigenvalues(W, n)
        sv = conv_singular_values(W, n)
        flat = lam.ravel()
        if method == "alg3":
            sel = alg3_roots(flat, degree, kind=kind, pairs="always")
        else:
            sel = leja_points(flat, degree)
        entry = {"level": l, "key": k, "channels": int(W.shape[0]), "kernel": list(W.shape[2:]), "grid": [n, n],
                 **_stats(flat), "sigma_max": float(sv.max()), "sigma_min": float(sv.min()),
                 "roots": [_root_json(r) for r in sel["roots"]], "g": [float(a) for a in sel["g"]],
                 "max_q": max_residual(sel["roots"], flat, sel["g"])}
        rep["levels"].append(entry)
        arrays["levels"].append(flat)
        arrays["kernels"].append((lam, sel))
    rep["polynomial"] = {"method": method, "kind": kind, "degree": degree, "operator": "A (periodic)"}
    return rep, arrays


# ----------------------------------------------------------------------- plotting
def _save(fig: Any, path: str) -> None:
    d = os.path.dirname(os.path.abspath(path))
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=d)
    os.close(fd)
    try:
        fig.savefig(tmp, dpi=110, format="png")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _thin(lam, k: int = _PLOT_POINTS):
    import numpy as np

    lam = np.asarray(lam).ravel()
    if lam.size <= k:
        return lam
    return lam[np.linspace(0, lam.size - 1, k).astype(int)]


def write_plots(rep: dict, arrays: dict, out: str) -> list[str]:
    """Write ``eigenvalues.png``, ``polynomial.png`` and ``smoothing.png`` to ``out``; return their paths."""
    try:
        import matplotlib
    except ImportError as exc:  # pragma: no cover - matplotlib is an optional extra
        raise ImportError("the pictures need matplotlib: pip install 'mgcore[plot]' (or pass --no-plots)") from exc
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..polynomials import PolynomialSmoother

    paths = []
    # 1. eigenvalues per level in the complex plane
    levs = arrays["levels"]
    k = len(levs)
    cols = min(k, 3)
    rows = math.ceil(k / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for i, (lam, entry) in enumerate(zip(levs, rep["levels"])):
        ax = axes[i // cols][i % cols]
        if lam is None:
            ax.text(0.5, 0.5, f"level {entry['level']}: {entry['unknowns']} unknowns\nbounds only "
                    f"(lambda_max <= {entry['lambda_max']:.4g})", ha="center", va="center", transform=ax.transAxes)
        else:
            z = _thin(lam)
            ax.scatter(np.real(z), np.imag(z), s=3, alpha=0.5)
            span = float(np.ptp(np.real(z))) or 1.0
            h = max(float(np.abs(np.imag(z)).max()) * 1.1, 0.05 * span)
            ax.set_ylim(-h, h)
            ax.axhline(0, color="0.7", lw=0.5)
            ax.axvline(0, color="0.7", lw=0.5)
        title = f"level {entry['level']}"
        if "shape" in entry:
            title += f" ({'x'.join(map(str, entry['shape']))}, {entry['spectrum']})"
        else:
            title += f" ({entry['channels']} ch, {entry['grid'][0]}x{entry['grid'][1]})"
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("Re")
        ax.set_ylabel("Im")
    for j in range(k, rows * cols):
        axes[j // cols][j % cols].axis("off")
    fig.tight_layout()
    p = os.path.join(out, "eigenvalues.png")
    _save(fig, p)
    plt.close(fig)
    paths.append(p)

    # 2. |q(lambda)| over the spectrum
    fig, ax = plt.subplots(figsize=(6, 4))
    if rep["source"] == "problem":
        sel, full, target = arrays["poly"]
        S = PolynomialSmoother(sel["roots"] or None, g=sel["g"] or None)
        x = np.linspace(0.0, float(full.real.max()) * 1.02, 800)
        ax.semilogy(x, np.maximum(np.abs(S.q(x)), 1e-16), lw=1.2, label="|q(x)|")
        z = _thin(full.real)
        ax.semilogy(z, np.maximum(np.abs(S.q(z)), 1e-16), ".", ms=2, alpha=0.4, label="on the spectrum")
        ax.axvspan(float(target.real.min()), float(target.real.max()), color="C2", alpha=0.1, label=rep["polynomial"]["part"] + " part")
        for r in sel["roots"]:
            ax.axvline(r[0] if isinstance(r, tuple) else r, color="C3", lw=0.6)
        ax.set_ylim(1e-5, 2.0)
        ax.set_xlabel("eigenvalue of D^-1 A")
        ax.set_ylabel("|q|")
        ax.legend(fontsize=8)
        pol = rep["polynomial"]
        ax.set_title(f"{pol['method']} roots, degree {pol['degree']}: max |q| = {pol['max_q_target']:.3g} on the "
                     f"{pol['part']} part", fontsize=9)
    else:
        lam, sel = arrays["kernels"][0]
        S = PolynomialSmoother(sel["roots"] or None, g=sel["g"] or None)
        z = _thin(lam.ravel())
        logq = np.log10(np.maximum(np.abs(S.q(z)), 1e-16))
        sc = ax.scatter(z.real, z.imag, c=logq, s=4, cmap="viridis", vmin=max(-4.0, float(logq.min())),
                        vmax=max(float(logq.max()), -3.9))
        fig.colorbar(sc, ax=ax, label="log10 |q(lambda)|")
        for r in sel["roots"]:
            zr = complex(*r) if isinstance(r, tuple) else complex(r)
            ax.plot([zr.real, zr.real], [zr.imag, -zr.imag], "rx", ms=7)
        ax.set_xlabel("Re")
        ax.set_ylabel("Im")
        ax.set_title(f"level 1: Alg. 3 roots (x), degree {rep['polynomial']['degree']}: max |q| = "
                     f"{rep['levels'][0]['max_q']:.3g}", fontsize=9)
    fig.tight_layout()
    p = os.path.join(out, "polynomial.png")
    _save(fig, p)
    plt.close(fig)
    paths.append(p)

    # 3. smoothing factor over the frequency square
    fig, ax = plt.subplots(figsize=(5, 4.2))
    if rep["source"] == "problem" and "smoothing_map" in arrays:
        axis, vals, blocks = arrays["smoothing_map"]
        lim = np.pi / 2 if blocks else np.pi
        label = "rho(Q S) per harmonic block" if blocks else "|S(theta)|"
        if np.ndim(vals) == 1:
            ax.plot(axis, vals)
            if not blocks:
                ax.axvspan(-np.pi / 2, np.pi / 2, color="0.9")
            ax.set_xlabel("theta")
            ax.set_ylabel(label)
        else:
            im = ax.imshow(np.asarray(vals).T, origin="lower", extent=[-lim, lim, -lim, lim], cmap="magma",
                           vmin=0.0, vmax=max(1.0, float(np.nanmax(vals))))
            fig.colorbar(im, ax=ax, label=label)
            if not blocks:
                ax.add_patch(plt.Rectangle((-np.pi / 2, -np.pi / 2), np.pi, np.pi, fill=False, ec="w", ls="--"))
            ax.set_xlabel("theta_1" + (" (low frequency of the block)" if blocks else ""))
            ax.set_ylabel("theta_2" + (" (max over theta_3)" if rep["dim"] == 3 else ""))
        ana = rep["lfa"]
        steps = max(sum(ana["nu"]), 1)
        ax.set_title(f"{ana['smoother']}: mu = {ana['mu']:.3g} for {steps} step{'s' * (steps > 1)} (map: one step)",
                     fontsize=9)
    elif rep["source"] == "checkpoint":
        lam, sel = arrays["kernels"][0]
        S = PolynomialSmoother(sel["roots"] or None, g=sel["g"] or None)
        rho = np.abs(S.q(lam)).max(axis=-1)  # spectral radius of q(W(theta)) per frequency
        n = rho.shape[0]
        im = ax.imshow(np.fft.fftshift(rho).T, origin="lower", extent=[-np.pi, np.pi, -np.pi, np.pi], cmap="magma")
        fig.colorbar(im, ax=ax, label="rho(q(A(theta)))")
        ax.add_patch(plt.Rectangle((-np.pi / 2, -np.pi / 2), np.pi, np.pi, fill=False, ec="w", ls="--"))
        ax.set_xlabel("theta_1")
        ax.set_ylabel("theta_2")
        ax.set_title(f"level 1 ({n}x{n}): q of degree {rep['polynomial']['degree']} per frequency", fontsize=9)
    else:
        ax.text(0.5, 0.5, rep.get("note", "no analysis"), ha="center", va="center", wrap=True, transform=ax.transAxes)
        ax.axis("off")
    fig.tight_layout()
    p = os.path.join(out, "smoothing.png")
    _save(fig, p)
    plt.close(fig)
    paths.append(p)
    return paths


# --------------------------------------------------------------------- text / run
def _fmt(v: Any, spec: str = ".4g") -> str:
    return "-" if v is None else format(v, spec)


def summary(rep: dict) -> str:
    """The report as text."""
    lines = []
    if rep["source"] == "problem":
        lines.append(f"{rep['problem']}, n={rep['n']} ({rep['bc']}), {len(rep['levels'])} levels")
        lines.append(f"{'level':>5}  {'grid':<12} {'unknowns':>9}  {'spectrum':<8} {'lambda_min':>11} {'lambda_max':>11} "
                     f"{'condition':>10}")
        for e in rep["levels"]:
            lines.append(f"{e['level']:>5}  {'x'.join(map(str, e['shape'])):<12} {e['unknowns']:>9}  {e['spectrum']:<8} "
                         f"{_fmt(e['lambda_min']):>11} {_fmt(e['lambda_max']):>11} {_fmt(e.get('condition')):>10}")
        ana = rep["lfa"]
        if ana:
            s = (f"LFA, {ana['smoother']} V({ana['nu'][0]},{ana['nu'][1]}): smoothing factor mu = {ana['mu']:.4f}; "
                 f"predicted two-grid {ana['rho_2g']:.4f} (infinite grid)")
            if "rho_2g_n" in ana:
                s += f", {ana['rho_2g_n']:.4f} (this grid)"
            if "rho_V_n" in ana:
                s += f", V-cycle {ana['rho_V_n']:.4f}"
            lines.append(s)
            if "measured_V" in ana:
                lines.append(f"measured: two-grid {ana['measured_2g']:.4f}, V-cycle {ana['measured_V']:.4f}")
        if rep.get("note"):
            lines.append(rep["note"])
        pol = rep["polynomial"]
        roots = ", ".join(f"{r['pair'][0]:.4g}+-{r['pair'][1]:.4g}i" if isinstance(r, dict) else f"{r:.4g}"
                          for r in pol["roots"])
        lines.append(f"polynomial from the spectrum ({pol['method']}, degree {pol['degree']}, {pol['operator']}, "
                     f"{pol['part']} part [{pol['interval'][0]:.4g}, {pol['interval'][1]:.4g}]): roots {roots}"
                     + (f", g {pol['g']}" if pol["g"] else ""))
        lines.append(f"  max |q| on that part {pol['max_q_target']:.4g}, on the whole spectrum {pol['max_q_all']:.4g}")
    else:
        lines.append(f"{rep['checkpoint']}: {len(rep['levels'])} A kernels, level 1 grid {rep['grid']}x{rep['grid']}")
        lines.append(f"{'level':>5}  {'key':<18} {'C':>4} {'grid':>6}  {'Re min':>9} {'Re max':>9} {'|Im| max':>9} "
                     f"{'sigma_max':>9}  {'max|q|':>8}  roots (Alg. 3)")
        for e in rep["levels"]:
            roots = ", ".join(f"{r['pair'][0]:.3g}+-{r['pair'][1]:.3g}i" if isinstance(r, dict) else f"{r:.3g}"
                              for r in e["roots"])
            lines.append(f"{e['level']:>5}  {e['key'][:18]:<18} {e['channels']:>4} {e['grid'][0]:>6}  {e['re_min']:9.3g} "
                         f"{e['re_max']:9.3g} {e['im_max']:9.3g} {e['sigma_max']:9.3g}  {e['max_q']:8.3g}  {roots}")
    if rep.get("plots"):
        lines.append("plots: " + ", ".join(rep["plots"]))
    return "\n".join(lines)


def run_spectrum(args: argparse.Namespace) -> int:
    """``mgcore spectrum``."""
    if args.checkpoint is not None:
        rep, arrays = checkpoint_report(args.checkpoint, grid=args.grid, degree=args.degree, kind=args.kind,
                                        key=args.key, method=args.method)
    else:
        from ..problems import get_problem

        name = args.problem or "poisson2d"
        kwargs: dict = {}
        if args.eps is not None:
            if name != "anisotropic2d":
                raise ValueError("--eps applies to --problem anisotropic2d only")
            kwargs["eps"] = args.eps
        problem = get_problem(name, args.n, bc=args.bc, **kwargs)
        rep, arrays = problem_report(problem, smoother=args.smoother, nu=tuple(args.nu), degree=args.degree,
                                     method=args.method, kind=args.kind, levels=args.levels, measure=args.measure)
    if not args.no_plots:
        rep["plots"] = write_plots(rep, arrays, args.out)
    if args.json:
        print(json.dumps(rep, allow_nan=True))
    else:
        print(summary(rep))
    sys.stdout.flush()
    return 0
