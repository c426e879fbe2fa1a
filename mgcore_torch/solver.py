"""``TorchMultigridSolver``: the torch backend of the solver front-end.

The fixed-kernel hierarchy of :mod:`mgcore_torch.hierarchy` driven by the
core cycles and drivers through :class:`mgcore.frontend.MultigridFrontend`;
this module adds only tensors in and out, batched norms, mixed precision and
CUDA-graph capture.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Callable

import numpy as np
import torch

from mgcore.cycles import CycleKind, cycle as core_cycle
from mgcore.frontend import CyclePreconditioner, MultigridFrontend
from mgcore.hierarchy import Hierarchy
from mgcore.problems.grid import GridProblem
from mgcore.solve import SolveResult

from .hierarchy import level_data_list, poisson_hierarchy
from .operators import StencilOperator, _check_device, _check_dtype
from .smoothers import RedBlackGaussSeidel

__all__ = ["TorchMultigridSolver", "PRECISIONS"]

#: arithmetic of :class:`TorchMultigridSolver`
PRECISIONS = (None, "float64", "float32", "mixed")


class _CycleFn:
    """``(f, u) -> cycle(h, f, u)`` as a picklable callable (``u = None``: zero start)."""

    def __init__(self, h: Hierarchy, kind: CycleKind, pre: int, post: int):
        self.h, self.kind, self.pre, self.post = h, kind, pre, post

    def __call__(self, f: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        return core_cycle(self.h, f, u, self.kind, self.pre, self.post)


class _GraphedCycle:
    """One cycle captured as a CUDA graph; replays on static input buffers.

    ``with_iterate=False`` captures ``f -> cycle(h, f, 0)`` (preconditioner,
    mixed-precision correction); ``True`` captures ``(f, u) -> cycle(h, f, u)``.
    """

    def __init__(self, fn: _CycleFn, f: torch.Tensor, with_iterate: bool):
        self.fn, self.with_iterate = fn, with_iterate
        self.static = [torch.zeros_like(f)] + ([torch.zeros_like(f)] if with_iterate else [])
        self.static[0].copy_(f)
        side = torch.cuda.Stream(device=f.device)
        side.wait_stream(torch.cuda.current_stream(f.device))
        with torch.no_grad(), torch.cuda.stream(side):
            for _ in range(2):
                self._run()
        torch.cuda.current_stream(f.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.no_grad(), torch.cuda.graph(self.graph):
            self.out = self._run()

    def _run(self) -> torch.Tensor:
        if self.with_iterate:
            return self.fn(self.static[0], self.static[1])
        return self.fn(self.static[0], None)

    def __call__(self, f: torch.Tensor, u: torch.Tensor | None = None) -> torch.Tensor:
        self.static[0].copy_(f)
        if self.with_iterate:
            if u is None:
                self.static[1].zero_()
            else:
                self.static[1].copy_(u)
        self.graph.replay()
        return self.out.clone()


class _ResidualNorm:
    """Residual measure of the driver; records per-sample 2-norms.

    Single right-hand side: ``||b - A x||_2``.  Batch: the largest relative
    residual ``max_n ||b_n - A x_n|| / ref_n``; a sample whose absolute
    residual is ``<= atol`` counts as ``min(relative, rtol)``.
    """

    def __init__(self, A: Callable, b: torch.Tensor, batched: bool, rtol: float, atol: float, kernels: Any = None):
        self.A, self.b, self.batched, self.rtol, self.atol = A, b, batched, rtol, atol
        self.kernels = kernels  # the fine level's fused kernels: residuals from its colour arrays
        self.history: list[list[float]] = []
        self.ref: torch.Tensor | None = None

    def norms(self, x: torch.Tensor | None) -> torch.Tensor:
        if x is not None and self.kernels is not None:
            nrm = self.kernels.residual_norms(self.b, x)
            if nrm is not None:
                return nrm
        if x is None:
            r = self.b
        elif hasattr(self.A, "residual"):
            r = self.A.residual(self.b, x)  # into a reused buffer
        else:
            r = self.b - self.A(x)
        return torch.linalg.vector_norm(r.reshape(r.shape[0], -1), dim=1)

    def __call__(self, x: torch.Tensor | None) -> float:
        nrm = self.norms(x)
        self.history.append(nrm.double().cpu().tolist())  # one host sync per iteration
        if not self.batched:
            return float(nrm.double().sum())
        if self.ref is None:
            self.ref = torch.where(nrm > 0, nrm, torch.ones_like(nrm))
        rel = nrm / self.ref
        if self.atol > 0:
            rel = torch.where(nrm <= self.atol, torch.clamp(rel, max=self.rtol), rel)
        return float(rel.max())


    def after_solve(self, res) -> None:
        res.info["residuals_per_sample"] = [list(col) for col in zip(*self.history)]


class _SharedOutput:
    """Context in which the given fused levels return their own iterate buffer from a cycle."""

    def __init__(self, levels):
        self.levels = [lvl for lvl in levels if getattr(lvl, "kernels", None) is not None]

    def __enter__(self):
        for lvl in self.levels:
            lvl.share_output = True
        return self

    def __exit__(self, *exc):
        for lvl in self.levels:
            lvl.share_output = False
            lvl.kernels.sync_all()  # the iterate into the natural buffer the driver's result views
        return False


class _BatchDot:
    """Inner product over the whole batch (the block-diagonal system), float64."""

    def __call__(self, a: torch.Tensor, b: torch.Tensor) -> float:
        return float(torch.sum(a.double() * b.double()))



class TorchMultigridSolver(MultigridFrontend):
    """Geometric multigrid solver on torch tensors (CPU or CUDA).

    The torch backend of :class:`mgcore.frontend.MultigridFrontend`: the
    fixed-kernel network of :func:`poisson_hierarchy` driven by the core
    cycles (:func:`mgcore.cycles.cycle`) and drivers
    (:func:`mgcore.solve.stationary_solve`, :func:`mgcore.solve.pcg`).  With
    ``dtype=torch.float64`` its iterates equal those of
    ``mgcore.sparse.MultigridSolver(problem, smoother=..., fast=False)`` to
    round-off (same levels, smoother, transfers and coarse solve).

    Parameters
    ----------
    problem : GridProblem
        Structured problem (:mod:`mgcore.problems`).
    smoother : spec
        ``"rbgs"`` (default), ``"jacobi"``, ``"chebyshev"``, ``"richardson"``,
        with options, or one per level; see :func:`build_smoother`.  As in
        :class:`mgcore.sparse.MultigridSolver`, red-black Gauss-Seidel
        post-smooths red first as well (``order="red-black"``) unless
        ``order="symmetric"`` is given; ``accel="cg"`` and
        :meth:`aspreconditioner` switch to the symmetric order (black first
        after the coarse-grid correction) so that the cycle is symmetric.
    nu : int or (int, int)
        ``(nu_pre, nu_post)`` smoothing steps per level.
    cycle : {"V", "W", "F"}
        Default cycle of :meth:`solve`.
    dtype : {torch.float64, torch.float32}
        Arithmetic (ignored when ``precision`` is given).
    device : str or torch.device
    precision : {None, "float64", "float32", "mixed"}
        ``"mixed"``: float32 cycles inside a float64 residual refinement
        (``r = b - A x`` in float64, ``e = cycle_32(r)``, ``x += e``); reaches
        float64 tolerances where a float32 solve stalls.  ``None`` follows
        ``dtype``.
    cuda_graph : bool
        On a CUDA device, capture one cycle as a CUDA graph (per batch size
        and cycle kind) and replay it; the cycle has no host synchronisation.
        Ignored with a warning on other devices.
    impl, interpolation, restriction, projection, max_levels, coarse_size, fused
        See :func:`poisson_hierarchy` (``fused=True``, the default, runs the
        red-black levels' cycle passes as in-place strided kernels; the
        iterates are those of ``fused=False`` up to round-off).

    Attributes
    ----------
    hierarchy : mgcore.hierarchy.Hierarchy
        The levels (in the cycle precision); level 1 = ``hierarchy.levels[0]``.
    A : StencilOperator
        The fine-level operator in the outer precision.
    setup_seconds : float
    """

    backend = "torch"
    ACCELERATIONS = (None, "cg")
    display_name = "TorchMultigridSolver"

    def __init__(
        self,
        problem: GridProblem,
        smoother: Any = "rbgs",
        nu: Any = (2, 2),
        cycle: Any = "V",
        dtype=torch.float64,
        device="cpu",
        precision: str | None = None,
        cuda_graph: bool = False,
        impl: str = "auto",
        interpolation: str = "bilinear",
        restriction: str | None = None,
        projection: Any = "injection",
        max_levels: int | None = None,
        coarse_size: int = 500,
        fused: bool = True,
    ):
        t0 = time.perf_counter()
        if not isinstance(problem, GridProblem):
            raise TypeError(f"problem must be a GridProblem (see mgcore.problems), got {type(problem).__name__}")
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if precision is None:
            dtype = _check_dtype(dtype)
            precision = "float64" if dtype == torch.float64 else "float32"
        self.precision = precision
        self.dtype = torch.float32 if precision == "float32" else torch.float64
        self.cycle_dtype = torch.float64 if precision == "float64" else torch.float32
        self.device = _check_device(device)
        self.problem = problem
        self.shape = tuple(problem.shape)
        self.singular = problem.singular
        self._init_options(nu, cycle)
        if not isinstance(cuda_graph, bool):
            raise TypeError(f"cuda_graph must be a bool, got {type(cuda_graph).__name__}")
        if cuda_graph and self.device.type != "cuda":
            warnings.warn(f"cuda_graph=True needs a CUDA device; running without graphs on {self.device}", stacklevel=2)
            cuda_graph = False
        self.cuda_graph = cuda_graph
        self.smoother_spec = smoother
        J = len(level_data_list(problem, max_levels, coarse_size))
        self.smoothers = self._parse_smoothers(smoother, J)
        specs = self.smoothers
        self.hierarchy = poisson_hierarchy(
            problem, [(name, kw) for name, kw in specs], dtype=self.cycle_dtype, device=self.device, impl=impl, interpolation=interpolation,
            restriction=restriction, projection=projection, max_levels=max_levels, coarse_size=coarse_size,
            fused=fused,
        )
        self.J = len(self.hierarchy)
        fine = self.hierarchy.levels[0]
        if self.cycle_dtype == self.dtype:
            self.A = fine.A
        else:
            self.A = StencilOperator(fine.meta["grid"], impl=impl, dtype=self.dtype, device=self.device)
        self._graphs: dict = {}
        self._share_output = False
        self.setup_seconds = time.perf_counter() - t0

    @property
    def _symmetric(self) -> bool:
        return self._in_symmetric

    def _level_sizes(self) -> list:
        return [(int(np.prod(lvl.shape)), (2 * len(lvl.shape) + 1) * int(np.prod(lvl.shape))) for lvl in self.hierarchy]

    def _header(self) -> str:
        return (
            f"TorchMultigridSolver({self.problem.name}, device={self.device}, precision={self.precision}, "
            f"cycle={self.cycle_kind.value}({self.nu_pre},{self.nu_post}), levels={self.J})"
        )

    def __repr__(self) -> str:
        lines = [self._header()]
        for l, lvl in enumerate(self.hierarchy, start=1):
            lines.append(f"  level {l}: {'x'.join(map(str, lvl.shape))}  A={lvl.A.extra_repr()}")
        return "\n".join(lines)

    # ----------------------------------------------------------------- cycles
    def _symmetric_change(self, l, level, name, options):
        return (level, "B_post", RedBlackGaussSeidel(level.A.diagonal(), red_first=False))

    def _run_cycle(self, kind: CycleKind, f: torch.Tensor, u: torch.Tensor | None) -> torch.Tensor:
        fn = _CycleFn(self.hierarchy, kind, self.nu_pre, self.nu_post)
        if not self.cuda_graph:
            return fn(f, u)
        key = (kind, tuple(f.shape), u is not None, self._symmetric)
        g = self._graphs.get(key)
        if g is None:
            g = self._graphs[key] = _GraphedCycle(fn, f, with_iterate=u is not None)
        return g(f, u)

    def _stationary_step(self, kind, b, x):
        if self.precision == "mixed":
            r = b if x is None else self.A.residual(b, x)  # a reused buffer, copied by the cast
            e = self._run_cycle(kind, r.to(self.cycle_dtype), None).to(self.dtype)
            return e if x is None else x + e
        return self._run_cycle(kind, b, x)

    def _precondition(self, kind, r):
        return self._run_cycle(kind, r.to(self.cycle_dtype), None).to(r.dtype)

    # ------------------------------------------------------------ input/output
    def _to_internal(self, b: Any, name: str) -> tuple[torch.Tensor, tuple]:
        """``b`` -> ``(N, 1, *shape)`` tensor in the outer dtype; plus how to give it back."""
        n = int(np.prod(self.shape))
        if isinstance(b, torch.Tensor):
            kind, t = "torch", b
        else:
            try:
                arr = np.asarray(b)
            except Exception:
                raise TypeError(f"{name} must be a numpy array or a torch tensor, got {type(b).__name__}") from None
            if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
                raise TypeError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
            kind, t = "numpy", torch.as_tensor(np.ascontiguousarray(arr, dtype=np.float64))
        if t.is_complex() or not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
            raise TypeError(f"{name} must be real, got dtype {t.dtype}")
        shp = tuple(t.shape)
        if shp in ((n,), self.shape):
            batched, N = False, 1
        elif len(shp) >= 2 and shp[1:] in ((n,), self.shape, (1,) + self.shape):
            batched, N = True, shp[0]
        else:
            raise ValueError(
                f"{name} must have shape ({n},), {self.shape}, or a batch (N, {n}), (N, *{self.shape}) "
                f"or (N, 1, *{self.shape}); got {shp}"
            )
        if N < 1:
            raise ValueError(f"{name} must hold at least one right-hand side, got a batch of {N}")
        t = t.to(device=self.device, dtype=self.dtype).reshape((N, 1) + self.shape)
        mn, mx = self._range(t)
        if not (np.isfinite(mn) and np.isfinite(mx)):
            raise ValueError(f"{name} contains NaN or Inf")
        return t, (kind, shp, batched)

    @staticmethod
    def _from_internal(x: torch.Tensor, fmt: tuple) -> Any:
        kind, shp, _ = fmt
        x = x.reshape(shp)
        return x.cpu().numpy() if kind == "numpy" else x

    def _center(self, t: torch.Tensor) -> torch.Tensor:
        dims = tuple(range(1, t.dim()))
        return t - t.mean(dim=dims, keepdim=True)

    def _null_fraction(self, b):
        flat = b.reshape(b.shape[0], -1).double()
        nb = torch.linalg.vector_norm(flat, dim=1)
        null = flat.mean(dim=1).abs() * flat.shape[1] ** 0.5
        frac = torch.where(nb > 0, null / torch.where(nb > 0, nb, torch.ones_like(nb)), torch.zeros_like(nb))
        return float(frac.max())

    def _range(self, t: torch.Tensor) -> tuple[float, float]:
        """``(min, max)`` of ``t`` in one pass without a temporary (NaN if it holds one); cached per tensor."""
        if t.numel() == 0:
            return 0.0, 0.0
        key = getattr(self, "_range_key", None)
        if key is not None and key[0] is t and key[1] == t._version:
            return key[2]
        mn, mx = torch.aminmax(t)
        out = (float(mn), float(mx))
        self._range_key = (t, t._version, out)
        return out

    def _absmax(self, b):
        mn, mx = self._range(b)
        return max(abs(mn), abs(mx))

    def _is_zero(self, b):
        return self._range(b) == (0.0, 0.0)

    def _prepare_rhs(self, b, name="b"):
        return self._to_internal(b, name)

    def _prepare_x0(self, x0, b, fmt):
        if x0 is None:
            return None
        x, _ = self._to_internal(x0, "x0")
        if x.shape != b.shape:
            raise ValueError(f"x0 must match b: {tuple(b.shape)} internally, got {tuple(x.shape)}")
        return x

    def _residual_norm(self, b, x, fmt, rtol, atol, zero_start):
        fine = self.hierarchy.levels[0]
        kernels = getattr(fine, "kernels", None) if fine.A is self.A else None
        return _ResidualNorm(self.A, b, fmt[2], rtol, atol, kernels)

    def _stationary_options(self, fmt, rtol, atol):
        if fmt[2]:  # a batch: every sample to its own relative tolerance
            return {"rtol": rtol, "atol": 0.0 if rtol > 0 else 1e-300, "r0": 1.0}
        return {"rtol": rtol, "atol": atol}

    def _operator(self):
        return self.A

    def _dot(self, a, b):
        return float(torch.sum(a.double() * b.double()))

    def _solve_context(self):
        return torch.no_grad()

    def _stationary_context(self):
        # cycles may return (and take back) the fine level's own buffer instead of a copy: only the driver
        # sees the iterate (no callback) and it passes it straight to the next cycle
        share = self._share_output and self.precision != "mixed" and not self.cuda_graph
        return _SharedOutput(self.hierarchy.levels[:1] if share else [])

    def _owns(self, x) -> bool:
        k = getattr(self.hierarchy.levels[0], "kernels", None)
        return k is not None and isinstance(x, torch.Tensor) and k.owns(x)

    def _finish(self, x, fmt):
        if self._owns(x):
            x = x.clone()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return self._from_internal(x, fmt)

    def _info(self, fmt):
        return dict(
            path="torch", dtype=str(self.dtype).replace("torch.", ""), precision=self.precision, device=str(self.device),
            batch=int(np.prod(fmt[1][:1])) if fmt[2] else 1, batched=fmt[2], cuda_graph=self.cuda_graph,
        )

    def solve(self, b: Any, x0: Any = None, rtol: float = 1e-8, atol: float = 0.0, maxiter: int = 100, cycle: Any = None,
              accel: str | None = None, callback: Callable | None = None, residuals: list | None = None) -> SolveResult:
        """Solve ``A x = b`` for one right-hand side or a batch.

        Parameters
        ----------
        b : numpy array or torch tensor
            Flat ``(n,)``, grid-shaped ``shape``, or a batch ``(N, n)``,
            ``(N, *shape)`` or ``(N, 1, *shape)``.
        x0 : same kind as ``b``, optional
            Initial guess (default zero).
        rtol, atol : float
            Single right-hand side: stop when ``||b - A x|| <= max(rtol
            ||b - A x0||, atol)`` (as :class:`mgcore.sparse.MultigridSolver`).
            Batch, stationary: stop when every sample ``n`` has
            ``||r_n|| <= max(rtol ||r_n^0||, atol)``.
        maxiter : int
            Maximum number of cycles (or CG iterations).
        cycle : {"V", "W", "F"}, optional
            Overrides the solver's default cycle.
        accel : {None, "cg"}
            ``"cg"``: conjugate gradients preconditioned with one symmetric
            cycle from zero.  A batch is solved as one block-diagonal system
            (inner products over the whole batch).
        callback : callable, optional
            ``callback(x, k, res)`` after each iteration; ``x`` is the internal
            ``(N, 1, *shape)`` tensor.
        residuals : list, optional
            If given, the residual history is appended to it.

        Returns
        -------
        SolveResult
            ``x`` in the layout and kind of ``b`` (numpy in, numpy out) in the
            outer precision.  ``residuals``: for one right-hand side the
            2-norms ``||b - A x_k||``; for a batch the largest relative
            residual over the batch, ``max_n ||r_n^k|| / ||r_n^0||`` (with
            ``accel="cg"``: the 2-norm of the whole batch's residual).
            ``info["residuals_per_sample"]`` holds the per-sample 2-norms
            (stationary solves).
        """
        self._share_output = callback is None
        try:
            return super().solve(b, x0=x0, rtol=rtol, atol=atol, maxiter=maxiter, cycle=cycle, accel=accel,
                                 callback=callback, residuals=residuals)
        finally:
            self._share_output = False
            self._range_key = None

    def aspreconditioner(self, cycle: Any = None) -> Callable[[torch.Tensor], torch.Tensor]:
        """One symmetric cycle from a zero guess, ``r -> e``, on ``(N, 1, *shape)`` tensors (picklable)."""
        kind = self.cycle_kind if cycle is None else CycleKind.parse(cycle)
        return CyclePreconditioner(self, kind, symmetric=True)
