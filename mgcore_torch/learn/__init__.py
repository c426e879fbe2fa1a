"""Learned smoothers: train the smoother ``B`` of a multigrid cycle as a convolution, use it in the solvers.

The smoother of a geometric multigrid cycle is a convolution of the residual
(He & Xu, *MgNet*, 2019, eq. 3.20 and 5.6-5.8), so it can be trained like a
network layer: :func:`train_smoother` fixes ``A`` (each level's stencil),
``R`` and ``P`` of the torch hierarchy (:func:`mgcore_torch.hierarchy.poisson_hierarchy`),
makes ``B`` a trainable stencil (:class:`StencilParameters`: a ``k x k``
stencil per level set, per colour and per sweep, or a polynomial in
``D^{-1} A`` with trainable roots) and minimises the measured convergence
factor of the V-cycle of the core (:func:`mgcore.cycles.cycle`) over a class
of problems (:class:`ProblemClass`).  The result is saved as
``smoother.npz`` (:mod:`.format`, numpy only) and used by both solvers as the
smoother spec ``{"name": "stencil", "file": "smoother.npz"}``.

===================== ===========================================================
:mod:`.format`         the file format, loading and validation (numpy only)
:mod:`.classes`        problem classes: anisotropy, coefficient jumps (numpy only)
:mod:`.trainer`        :class:`StencilParameters`, :func:`train_smoother` (torch)
:mod:`.evaluate`       measured and LFA factors of learned vs classical smoothers
:mod:`.cli`            ``mgcore learn-smoother``
===================== ===========================================================

Attributes are imported lazily (``import mgcore_torch.learn`` imports no torch).
"""

from __future__ import annotations

import importlib

__all__ = [
    "StencilSmootherSpec", "load_stencil_smoother", "save_stencil_smoother", "ProblemClass", "ProblemSample",
    "StencilParameters", "TrainConfig", "TrainResult", "train_smoother", "training_factor", "evaluate_smoothers",
    "lfa_two_grid_factor",
]

_LAZY = {
    "StencilSmootherSpec": "format",
    "load_stencil_smoother": "format",
    "save_stencil_smoother": "format",
    "ProblemClass": "classes",
    "ProblemSample": "classes",
    "StencilParameters": "trainer",
    "TrainConfig": "trainer",
    "TrainResult": "trainer",
    "train_smoother": "trainer",
    "training_factor": "trainer",
    "evaluate_smoothers": "evaluate",
    "lfa_two_grid_factor": "evaluate",
}


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'mgcore_torch.learn' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)
