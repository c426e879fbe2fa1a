"""Training a stencil smoother on a class of problems (torch).

The cycle is the core's :func:`mgcore.cycles.cycle` on a torch hierarchy
(:class:`ProblemBatch`: the training problems stacked along the batch
dimension, each level's ``A`` read from the same face arrays as
:class:`mgcore_torch.operators.StencilOperator`, ``R`` and ``P`` those of
:func:`mgcore_torch.hierarchy.poisson_hierarchy`, exact coarse solves).
``A``, ``R``, ``P`` and the coarse solve are fixed; every level's ``B`` is a
:class:`mgcore_torch.smoothers.StencilSmoother` whose kernels are read from
one :class:`StencilParameters` module at each call -- the network-layer view
of the smoother (He & Xu, *MgNet*, 2019, eq. 3.20 and Sec. 5: a smoother is
a convolution of the residual).

The objective is a differentiable estimate of the asymptotic convergence
factor: for the homogeneous problem (``f = 0``, so the iterate is the error)
a batch of random errors is first run through ``warmup`` cycles without
gradients (a few steps of the power method, which leaves mostly the slowest
modes), normalised, and then through ``cycles`` cycles with gradients;

.. math::  J = \\operatorname{mean}_{problems,\\,errors} \\frac{1}{m} \\log \\frac{\\|e_m\\|}{\\|e_0\\|},

and ``exp(J)`` is the geometric mean of the measured factors.  Training on
small grids (``size`` 31 or 63) and using the result on large ones works
because the stencil acts on the Jacobi-scaled residual: it is dimensionless
and the same on every level of a re-discretised hierarchy.

Examples
--------
>>> import torch
>>> from mgcore_torch.learn import ProblemClass, StencilParameters, TrainConfig, train_smoother
>>> torch.set_num_threads(1)
>>> res = train_smoother(ProblemClass("poisson2d"), StencilParameters(kernel_size=3),
...                      TrainConfig(size=15, steps=3, problems=1, batch=2, warmup=1, cycles=2))
>>> len(res.history), res.history[-1] <= res.history[0]
(3, True)
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from mgcore.cycles import CycleKind, cycle
from mgcore.hierarchy import Hierarchy, Level, parse_nu_pair
from mgcore.polynomials import chebyshev_roots

from ..hierarchy import poisson_hierarchy
from ..smoothers import StencilSmoother
from .format import StencilSmootherSpec
from .classes import ProblemClass, ProblemSample

__all__ = [
    "KINDS",
    "COLOURINGS",
    "StencilParameters",
    "TrainConfig",
    "TrainResult",
    "BASELINES",
    "OBJECTIVES",
    "ProblemBatch",
    "LFAObjective",
    "train_smoother",
    "training_factor",
    "rates",
]

#: parametrisations of :class:`StencilParameters`
KINDS = ("stencil", "roots")
#: colourings of a smoothing step: one substep on all points, or red then black
COLOURINGS = ("none", "red-black")
#: training objectives: the measured V-cycle factor, or the LFA two-grid factor (constant coefficients)
OBJECTIVES = ("cycles", "lfa")


def _int(value: Any, name: str, lo: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo:
        raise ValueError(f"{name} must be an int >= {lo}, got {value!r}")
    return int(value)


class StencilParameters(nn.Module):
    """The trainable smoother: kernels ``(L, W, S) + (k,) * d``.

    Parameters
    ----------
    dim : int
        Space dimension (2 for the problem classes of :mod:`.classes`).
    kernel_size : int
        Odd ``k`` of the ``k^d`` stencils (``kind="stencil"``).
    levels : int
        Level sets ``L``: 1 shares the stencils between all levels (the
        default, and what generalises to larger grids); ``L > 1`` gives
        levels ``1 .. L-1`` their own and the coarser ones the last.
    sweeps : int
        ``W``: step ``j`` of a smoothing call uses sweep ``j mod W`` (a
        non-stationary smoother, He & Xu, *MgNet*, 2019, eq. 6.4 with
        ``B^{l,i}``).
    colours : {"none", "red-black"}
        One substep on all points, or a red then a black substep (each with
        its own stencil).
    kind : {"stencil", "roots"}
        ``"stencil"``: free stencil weights, initialised at damped Jacobi
        (``omega delta``, colours ``"none"``) or red-black Gauss-Seidel
        (``delta`` per colour); ``"roots"``: one smoothing step is the
        polynomial ``prod_k (1 - D^{-1} A / zeta_k)`` with trainable real
        roots ``zeta_k`` (``degree`` substeps with ``1^d`` kernels
        ``1/zeta_k``; Poly-MgNet's factored form), initialised at the
        Chebyshev roots on ``[2/ratio, 2]`` (``D^{-1} A`` of an M-matrix
        stencil has its spectrum in ``(0, 2)``).
    degree : int
        Roots per step (``kind="roots"``).
    ratio : float
        Chebyshev interval of the initial roots.
    omega : float, optional
        Damping of the initial Jacobi stencil (default ``2d/(2d+1)``).
    symmetric : bool
        Constrain every stencil to ``K(o) = K(-o)`` (a symmetric ``B`` for
        constant ``D``).
    """

    def __init__(self, dim: int = 2, kernel_size: int = 3, levels: int = 1, sweeps: int = 1, colours: str = "none",
                 kind: str = "stencil", degree: int = 3, ratio: float = 30.0, omega: float | None = None,
                 symmetric: bool = False):
        super().__init__()
        if isinstance(dim, bool) or dim not in (1, 2, 3):
            raise ValueError(f"dim must be 1, 2 or 3, got {dim!r}")
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        if colours not in COLOURINGS:
            raise ValueError(f"colours must be one of {COLOURINGS}, got {colours!r}")
        k = _int(kernel_size, "kernel_size")
        if k % 2 != 1:
            raise ValueError(f"kernel_size must be odd (the stencil is centred), got {k}")
        L, W = _int(levels, "levels"), _int(sweeps, "sweeps")
        if not isinstance(symmetric, bool):
            raise TypeError(f"symmetric must be a bool, got {symmetric!r}")
        self.dim, self.kind, self.colouring, self.symmetric = dim, kind, colours, symmetric
        if kind == "roots":
            if colours != "none":
                raise ValueError("kind='roots' is a polynomial in D^-1 A on all points; use colours='none'")
            d = _int(degree, "degree")
            if not (isinstance(ratio, (int, float)) and not isinstance(ratio, bool) and ratio > 1):
                raise ValueError(f"ratio must be a number > 1, got {ratio!r}")
            roots = torch.tensor(chebyshev_roots(d, 2.0 / float(ratio), 2.0), dtype=torch.float64)
            self.roots = nn.Parameter(roots.reshape(1, 1, d).repeat(L, W, 1).clone())
            self.colour_codes = (0,) * d
            self.kernel_size = 1
            self.register_parameter("weight", None)
        else:
            self.colour_codes = (0,) if colours == "none" else (1, 2)
            S = len(self.colour_codes)
            om = (2.0 * dim / (2.0 * dim + 1.0) if omega is None else float(omega)) if colours == "none" else 1.0
            w = torch.zeros((L, W, S) + (k,) * dim, dtype=torch.float64)
            w[(Ellipsis,) + (k // 2,) * dim] = om
            self.weight = nn.Parameter(w)
            self.kernel_size = k
            self.register_parameter("roots", None)

    @property
    def levels(self) -> int:
        p = self.weight if self.weight is not None else self.roots
        return int(p.shape[0])

    def forward(self) -> torch.Tensor:
        """The kernels ``(L, W, S) + (k,) * d``."""
        if self.roots is not None:
            return (1.0 / self.roots).reshape(tuple(self.roots.shape) + (1,) * self.dim)
        if self.symmetric:
            dims = tuple(range(3, 3 + self.dim))
            return 0.5 * (self.weight + torch.flip(self.weight, dims))
        return self.weight

    def level_kernels(self, l: int) -> "LevelKernels":
        """The callable giving level ``l``'s (0-based) ``(W, S) + (k,) * d`` kernels."""
        return LevelKernels(self, min(int(l), self.levels - 1))

    def spec(self, shapes: Sequence[tuple] | None = None, meta: dict | None = None) -> StencilSmootherSpec:
        """The current smoother as a :class:`StencilSmootherSpec` (detached, float64)."""
        K = self.forward().detach().to(torch.float64).cpu().numpy()
        info = {"kind": self.kind, "colours": self.colouring, "symmetric": self.symmetric}
        if self.roots is not None:
            info["roots"] = self.roots.detach().cpu().numpy().tolist()
        info.update(meta or {})
        if shapes is not None:
            shapes = [tuple(s) for s in shapes][: self.levels]
            if len(shapes) < self.levels:
                raise ValueError(f"shapes must name at least {self.levels} grids (one per level set), got {len(shapes)}")
        elif self.levels > 1:
            raise ValueError("shapes (the training grid of each level set) are needed when levels > 1")
        return StencilSmootherSpec(K, self.colour_codes, shapes, info, "trained smoother")

    def extra_repr(self) -> str:
        return (f"kind={self.kind!r}, kernel_size={self.kernel_size}, levels={self.levels}, "
                f"colours={self.colouring!r}, substeps={len(self.colour_codes)}")


class LevelKernels:
    """``() -> params()[l]``: the trainable kernels of one level (read at every smoothing call)."""

    def __init__(self, params: StencilParameters, l: int):
        self.params, self.l = params, l

    def __call__(self) -> torch.Tensor:
        return self.params()[self.l]


@dataclass
class TrainConfig:
    """Options of :func:`train_smoother` (defaults: a short CPU run).

    Attributes
    ----------
    size : int
        Training grid ``size x size`` (``2^k - 1``).
    steps : int
        Optimiser steps.
    problems : int
        Problems drawn from the class for training (a fixed pool).
    batch : int
        Random errors per problem and step.
    warmup, cycles : int
        Cycles without / with gradients per estimate (see the module docstring).
    nu : int or (int, int)
        Pre- and post-smoothing steps of the V-cycle.
    cycle : {"V", "W", "F"}
    lr : float
        Adam learning rate.
    coarse_size : int
        Coarsening stops at this many unknowns (exact solve there).
    seed : int
        Seeds the problem draw and the random errors.
    objective : {"cycles", "lfa"}
        ``"cycles"``: the measured V-cycle factor (any class); ``"lfa"``: the
        two-grid factor of the local Fourier analysis (:class:`LFAObjective`;
        constant-coefficient classes, one level set), no grids at all.
    lfa_samples : int
        Low frequencies per axis of the LFA objective (``None``-grid sampling
        of :func:`mgcore.analysis.low_frequencies`).
    """

    size: int = 31
    steps: int = 100
    problems: int = 8
    batch: int = 4
    warmup: int = 3
    cycles: int = 3
    nu: Any = (2, 2)
    cycle: str = "V"
    lr: float = 0.01
    coarse_size: int = 9
    seed: int = 0
    objective: str = "cycles"
    lfa_samples: int = 16

    def __post_init__(self) -> None:
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        self.lfa_samples = _int(self.lfa_samples, "lfa_samples", 2)
        for name in ("size", "steps", "problems", "batch", "cycles"):
            setattr(self, name, _int(getattr(self, name), name))
        self.warmup = _int(self.warmup, "warmup", 0)
        self.coarse_size = _int(self.coarse_size, "coarse_size")
        self.seed = _int(self.seed, "seed", 0)
        self.nu = parse_nu_pair(tuple(self.nu) if isinstance(self.nu, list) else self.nu)
        self.cycle = CycleKind.parse(self.cycle).value
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        m = self.size + 1
        if self.size < 3 or m & (m - 1):
            raise ValueError(f"size must be 2^k - 1 >= 3 (a Dirichlet grid that coarsens), got {self.size}")

    def to_dict(self) -> dict:
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.__dict__.items()}


@dataclass
class TrainResult:
    """What :func:`train_smoother` returns.

    Attributes
    ----------
    params : StencilParameters
        The trained module.
    spec : StencilSmootherSpec
        The smoother to save (:func:`mgcore_torch.learn.save_stencil_smoother`).
    history : list of float
        ``exp(J)`` at every step, before that step's update (the training curve).
    initial, final : float
        The estimate on the training pool with held-back random errors,
        before and after training.
    samples : list of ProblemSample
        The training pool.
    seconds : float
        Wall time of the training loop.
    """

    params: StencilParameters
    spec: StencilSmootherSpec
    history: list
    initial: float
    final: float
    samples: list
    seconds: float
    config: TrainConfig = field(default_factory=TrainConfig)


#: classical smoothers as stencil smoothers (the same iterates for the (2d+1)-point stencils): damped
#: Jacobi ``omega = 4/5`` and red-black Gauss-Seidel, red first in pre- and post-smoothing (the solvers' default)
BASELINES = {
    "jacobi": StencilSmootherSpec.jacobi(2),
    "rbgs": StencilSmootherSpec(np.ones((1, 1, 2, 1, 1)), (1, 2), None, {"init": "rbgs"}, "red-black stencil"),
}


class _BatchedStencil(nn.Module):
    """``A`` of several problems on one grid, one problem per block of ``repeat`` batch entries."""

    def __init__(self, datas: Sequence[Any], repeat: int):
        super().__init__()
        shape = tuple(datas[0].shape)
        self.shape, self.dim = shape, len(shape)

        def field(arrays: list) -> torch.Tensor:
            t = torch.tensor(np.stack(arrays), dtype=torch.float64)
            return t.repeat_interleave(repeat, dim=0).unsqueeze(1)

        self.register_buffer("diag", field([d.diagonal() for d in datas]))
        for ax in range(self.dim):
            n = shape[ax]
            inner = [d.scale * np.take(d.faces[ax], np.arange(1, n), axis=ax) for d in datas]
            self.register_buffer(f"face{ax}", field(inner))

    def diagonal(self) -> torch.Tensor:
        return self.diag

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        out = self.diag * u
        for ax in range(self.dim):
            w = getattr(self, f"face{ax}")
            n = u.shape[2 + ax]
            hi = u.narrow(2 + ax, 1, n - 1)
            lo = u.narrow(2 + ax, 0, n - 1)
            pad_lo = [0, 0] * self.dim  # F.pad counts from the last axis
            pad_hi = [0, 0] * self.dim
            k = 2 * (self.dim - 1 - ax)
            pad_lo[k + 1], pad_hi[k] = 1, 1
            out = out - F.pad(w * hi, pad_lo) - F.pad(w * lo, pad_hi)
        return out


class _BatchedCoarseSolve(nn.Module):
    """Exact solves of the coarsest level of several problems: one matmul per problem block."""

    def __init__(self, datas: Sequence[Any], repeat: int):
        super().__init__()
        inv = np.stack([np.linalg.inv(d.matrix().toarray()) for d in datas])
        self.register_buffer("invT", torch.tensor(inv, dtype=torch.float64).transpose(1, 2).contiguous())
        self.P, self.repeat = len(datas), repeat

    def forward(self, f: torch.Tensor) -> torch.Tensor:
        shape = f.shape
        x = f.reshape(self.P, self.repeat, -1) @ self.invT
        return x.reshape(shape)


class ProblemBatch:
    """A pool of problems on one grid as one batched torch hierarchy.

    Level ``l`` holds ``A`` of every problem (the fields repeated for
    ``repeat`` random errors each), the fixed ``R`` and ``P`` of
    :func:`mgcore_torch.hierarchy.poisson_hierarchy` and the exact coarse
    solves; :meth:`hierarchy` adds the smoother.  Iterates have shape
    ``(len(samples) * repeat, 1, size, size)``, problem ``i`` in rows
    ``i * repeat .. (i + 1) * repeat - 1``.
    """

    def __init__(self, samples: Sequence[ProblemSample], size: int, repeat: int, coarse_size: int = 9):
        if not samples:
            raise ValueError("samples must hold at least one problem")
        self.samples, self.size, self.repeat = list(samples), int(size), _int(repeat, "repeat")
        problems = [s.problem(self.size) for s in self.samples]
        if any(p.singular for p in problems):
            raise ValueError("the training problems must be non-singular (Dirichlet)")
        per_problem = [p.hierarchy_data(None, coarse_size) for p in problems]
        template = poisson_hierarchy(problems[0], smoother="jacobi", coarse_size=coarse_size, projection="zero")
        J = len(template)
        self.shapes = [tuple(lvl.shape) for lvl in template.levels]
        self._levels = []
        for l in range(J):
            datas = [h[l] for h in per_problem]
            A = _BatchedStencil(datas, self.repeat)
            coarse = _BatchedCoarseSolve(datas, self.repeat) if l == J - 1 else None
            t = template.levels[l]
            self._levels.append((A, t.R, t.P, coarse))

    @property
    def batch(self) -> int:
        return len(self.samples) * self.repeat

    def hierarchy(self, smoother: Any) -> Hierarchy:
        """The batched hierarchy with ``smoother`` on every level: a :class:`StencilParameters`
        (trainable, read at every call), a :class:`StencilSmootherSpec`, or a name of :data:`BASELINES`."""
        if isinstance(smoother, str):
            if smoother not in BASELINES:
                raise ValueError(f"smoother must be StencilParameters, a StencilSmootherSpec or one of {sorted(BASELINES)}")
            smoother = BASELINES[smoother]
        levels = []
        for l, (A, R, P, coarse) in enumerate(self._levels):
            if isinstance(smoother, StencilParameters):
                K, colours = smoother.level_kernels(l), smoother.colour_codes
            elif isinstance(smoother, StencilSmootherSpec):
                K = torch.tensor(np.array(smoother.level_kernels(self.shapes[l])), dtype=torch.float64)
                colours = smoother.colours
            else:
                raise TypeError(f"smoother must be StencilParameters, a StencilSmootherSpec or a name, got "
                                f"{type(smoother).__name__}")
            B = StencilSmoother(A.diagonal(), K, colours)
            levels.append(Level(A=A, B=B, R=R, P=P, coarse_solve=coarse, shape=self.shapes[l]))
        return Hierarchy(levels)


def rates(h: Hierarchy, generator: torch.Generator, batch: int, warmup: int, cycles: int, nu: tuple = (2, 2),
          kind: str = "V") -> torch.Tensor:
    """``log(||e_m|| / ||e_0||) / m`` per random error (see the module docstring), shape ``(batch,)``."""
    e = torch.randn((batch, 1) + tuple(h.levels[0].shape), generator=generator, dtype=torch.float64)
    f = torch.zeros_like(e)
    view = (-1,) + (1,) * (e.dim() - 1)
    with torch.no_grad():
        for _ in range(warmup):
            e = cycle(h, f, e, kind, nu[0], nu[1])
            e = e / e.flatten(1).norm(dim=1).clamp_min(1e-300).reshape(view)
    e0 = e.flatten(1).norm(dim=1)
    u = e
    for _ in range(cycles):
        u = cycle(h, f, u, kind, nu[0], nu[1])
    return (torch.log(u.flatten(1).norm(dim=1)) - torch.log(e0)) / cycles


def training_factor(samples: Sequence[ProblemSample], smoother: Any, size: int, nu: Any = (2, 2), kind: str = "V",
                    batch: int = 4, warmup: int = 10, cycles: int = 5, coarse_size: int = 9, seed: int = 1,
                    per_problem: bool = False) -> Any:
    """Measured factor ``exp(J)`` of ``smoother`` on ``samples`` at ``size`` (torch, no gradients).

    ``smoother`` as in :meth:`ProblemBatch.hierarchy`.  The geometric mean
    over the problems, or with ``per_problem=True`` one factor per sample.
    """
    nu = parse_nu_pair(nu)
    pb = ProblemBatch(samples, size, batch, coarse_size)
    with torch.no_grad():
        r = rates(pb.hierarchy(smoother), torch.Generator().manual_seed(seed), pb.batch, warmup, cycles, nu, kind)
    per = r.reshape(len(samples), batch).mean(dim=1)
    if per_problem:
        return [math.exp(float(v)) for v in per]
    return math.exp(float(per.mean()))


class LFAObjective:
    """The two-grid LFA factor of a stencil smoother, differentiable in its kernels (constant coefficients).

    The symbols of :mod:`mgcore_torch.learn.evaluate` (the same as
    :func:`~mgcore_torch.learn.evaluate.lfa_two_grid_factor`) in torch: per
    low frequency ``theta`` (sampled on ``[-pi/2, pi/2]^2``, Trottenberg,
    Oosterlee & Schüller, *Multigrid*, 2001, §4.4) the ``4 x 4`` two-grid
    matrix ``M(theta) = S_post^nu2 K S_pre^nu1`` with the coarse-grid
    correction ``K`` of :func:`mgcore.analysis.two_grid_symbol`.  Its
    spectral radius is approximated smoothly by ``||M^q||_F^(1/q)``
    (``q = 2^power``, an upper bound that tends to ``rho``), and the
    supremum over ``theta`` by ``tau log sum exp(log rho / tau)`` (at most
    ``tau log m`` above the maximum over the ``m`` frequencies); the
    objective is the mean over the problems of that ``log rho``.

    Parameters
    ----------
    samples : sequence of ProblemSample
        Constant-coefficient problems (their stencil on the ``size`` grid).
    size : int
    kernel_size : int
    nu : (int, int)
    theta_samples : int
    power : int
    tau : float
    """

    def __init__(self, samples: Sequence[ProblemSample], size: int, kernel_size: int, nu: tuple = (2, 2),
                 theta_samples: int = 16, power: int = 4, tau: float = 0.005):
        from mgcore.analysis import Stencil, harmonics, low_frequencies, two_grid_symbol

        self.nu, self.power, self.tau = parse_nu_pair(nu), _int(power, "power"), float(tau)
        theta = low_frequencies(2, n=None, samples=theta_samples, exclude_zero=True)
        th = harmonics(theta)
        m, H, d = th.shape
        c = kernel_size // 2
        offsets = np.array(list(np.ndindex(*(kernel_size,) * d))) - c
        self.phase = torch.tensor(np.exp(1j * (th @ offsets.T)))  # (m, H, taps)
        self.problems = []
        for s in samples:
            problem = s.problem(size)
            if problem.uniform_cell_value() is None:
                raise ValueError("objective='lfa' needs constant-coefficient problems (anisotropic2d, poisson2d); "
                                 f"{s.label()} has variable coefficients: use objective='cycles'")
            st = Stencil.from_problem(problem)
            Ah = torch.tensor(st.symbol(th) / st.center)  # (m, H)
            Kc = torch.tensor(two_grid_symbol(st, "jacobi", (0, 0), theta))  # (m, H, H)
            self.problems.append((Ah, Kc))
        shift = np.zeros((H, H))
        shift[np.arange(H), H - 1 - np.arange(H)] = 1.0
        s_red = (-1.0) ** d
        self.chi = {1: torch.tensor(0.5 * (np.eye(H) + s_red * shift), dtype=torch.complex128),
                    2: torch.tensor(0.5 * (np.eye(H) - s_red * shift), dtype=torch.complex128)}
        self.eye = torch.eye(H, dtype=torch.complex128)

    def _matrices(self, K: torch.Tensor, colours: tuple, Ah: torch.Tensor, Kc: torch.Tensor) -> torch.Tensor:
        Kw = K.to(torch.complex128)
        steps = []
        for w in range(K.shape[0]):
            E = self.eye.expand(Kc.shape).clone()
            for s, col in enumerate(colours):
                S = 1.0 - (self.phase @ Kw[w, s].reshape(-1)) * Ah  # (m, H)
                D = torch.diag_embed(S)
                sub = D if col == 0 else self.eye + self.chi[col] @ (D - self.eye)
                E = sub @ E
            steps.append(E)
        M = Kc
        for j in range(self.nu[0]):
            M = M @ steps[j % len(steps)]
        for j in range(self.nu[1]):
            M = steps[j % len(steps)] @ M
        return M

    def log_rho(self, K: torch.Tensor, colours: tuple, exact: bool = False) -> torch.Tensor:
        """``log`` of the (smoothed) two-grid factor per problem, shape ``(problems,)``; ``K`` is ``(W, S, k, k)``."""
        out = []
        for Ah, Kc in self.problems:
            M = self._matrices(K, colours, Ah, Kc)
            if exact:
                out.append(torch.log(torch.linalg.eigvals(M).abs().max()))
                continue
            for _ in range(self.power):
                M = M @ M
            lr = torch.log(torch.linalg.matrix_norm(M).clamp_min(1e-300)) / 2 ** self.power
            out.append(self.tau * torch.logsumexp(lr / self.tau, dim=0))
        return torch.stack(out)


def _progress_bar(total: int, progress: Any):
    if progress is False or progress is None:
        return None
    if progress == "auto" and not sys.stderr.isatty():
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the bar is a convenience: without tqdm, train silently
        return None
    return tqdm(total=total, desc="learn-smoother", leave=False, dynamic_ncols=True, file=sys.stderr)


def train_smoother(problem_class: ProblemClass, params: StencilParameters | None = None,
                   config: TrainConfig | None = None, progress: Any = False,
                   callback: Callable[[int, float], None] | None = None) -> TrainResult:
    """Train ``params`` to minimise the V-cycle factor on ``problem_class``.

    Parameters
    ----------
    problem_class : ProblemClass
    params : StencilParameters, optional
        Default: a ``3 x 3`` stencil shared by all levels, started at damped
        Jacobi.
    config : TrainConfig, optional
    progress : {False, True, "auto"}
        A tqdm bar on stderr (``"auto"``: only when stderr is a terminal).
    callback : callable, optional
        ``callback(step, factor)`` after every step.

    Returns
    -------
    TrainResult

    Raises
    ------
    FloatingPointError
        If the objective becomes NaN or infinite (lower ``lr``).
    """
    if not isinstance(problem_class, ProblemClass):
        raise TypeError(f"problem_class must be a ProblemClass, got {type(problem_class).__name__}")
    params = StencilParameters() if params is None else params
    if not isinstance(params, StencilParameters):
        raise TypeError(f"params must be a StencilParameters, got {type(params).__name__}")
    config = TrainConfig() if config is None else config
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a TrainConfig, got {type(config).__name__}")
    if params.dim != 2:
        raise ValueError(f"the problem classes are 2-D; params has dim={params.dim}")
    rng = np.random.default_rng(config.seed)
    samples = problem_class.sample(config.problems, rng)
    if config.objective == "lfa":
        if params.levels != 1:
            raise ValueError("objective='lfa' trains the smoother of the fine level of a two-grid cycle; use levels=1")
        lfa = LFAObjective(samples, config.size, params.kernel_size, config.nu, config.lfa_samples)
        shapes = None

        def estimate(step: int) -> torch.Tensor:
            return lfa.log_rho(params()[0], params.colour_codes).mean()

        def held_out() -> float:  # the exact spectral radii, geometric mean over the pool
            with torch.no_grad():
                return math.exp(float(lfa.log_rho(params()[0], params.colour_codes, exact=True).mean()))
    else:
        pool = ProblemBatch(samples, config.size, config.batch, config.coarse_size)
        h = pool.hierarchy(params)
        shapes = pool.shapes
        run = dict(batch=pool.batch, cycles=config.cycles, nu=config.nu, kind=config.cycle)
        gen = torch.Generator().manual_seed(config.seed)

        def estimate(step: int) -> torch.Tensor:
            return rates(h, gen, warmup=config.warmup, **run).mean()

        def held_out() -> float:  # fresh random errors, more warm-up cycles
            with torch.no_grad():
                g = torch.Generator().manual_seed(config.seed + 10_000)
                return math.exp(float(rates(h, g, warmup=max(config.warmup, 5), **run).mean()))

    initial = held_out()
    opt = torch.optim.Adam(params.parameters(), lr=config.lr)
    history: list[float] = []
    bar = _progress_bar(config.steps, progress)
    t0 = time.perf_counter()
    try:
        for step in range(config.steps):
            opt.zero_grad(set_to_none=True)
            J = estimate(step)
            if not torch.isfinite(J):
                raise FloatingPointError(
                    f"the training objective became {J.item()} at step {step}; lower the learning rate (lr={config.lr})"
                )
            J.backward()
            opt.step()
            factor = math.exp(J.item())
            history.append(factor)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(factor=f"{factor:.4f}")
            if callback is not None:
                callback(step, factor)
    finally:
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - t0
    final = held_out()
    meta = {"problem_class": problem_class.to_dict(), "config": config.to_dict(), "initial_factor": initial,
            "final_factor": final, "steps": config.steps, "train_seconds": seconds}
    spec = params.spec(shapes if params.levels > 1 else None, meta)
    return TrainResult(params, spec, history, initial, final, samples, seconds, config)
