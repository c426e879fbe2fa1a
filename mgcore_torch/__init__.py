"""mgcore_torch: the torch backend of mgcore.

The same multigrid graph as :mod:`mgcore` -- operators ``A``, smoothers ``B``,
restrictions ``R``, projections ``Pi`` and prolongations ``P`` per level --
built from ``torch.nn`` modules: trainable CNNs (MgNet family, Poly-MgNet,
ResNet baselines) and, with fixed kernels, a PDE solver whose iterates equal
those of :mod:`mgcore.sparse`.

Attributes are imported lazily so that ``import mgcore_torch`` stays cheap.
"""

from __future__ import annotations

import importlib

__all__ = ["get_model", "list_models", "register_model", "model_info", "TorchMultigridSolver", "poisson_hierarchy",
           "Trainer", "History", "load_dataset", "load_digits_dataset", "make_loaders", "describe", "reproduce",
           "train_smoother", "load_stencil_smoother"]

_LAZY = {
    "get_model": "mgcore_torch.models",
    "list_models": "mgcore_torch.models",
    "register_model": "mgcore_torch.models",
    "model_info": "mgcore_torch.models",
    "describe": "mgcore_torch.models",
    "reproduce": "mgcore_torch.reproduce",
    "TorchMultigridSolver": "mgcore_torch.linear",
    "poisson_hierarchy": "mgcore_torch.linear",
    "Trainer": "mgcore_torch.trainer",
    "History": "mgcore_torch.records",
    "load_dataset": "mgcore_torch.datasets",
    "load_digits_dataset": "mgcore_torch.datasets",
    "make_loaders": "mgcore_torch.loaders",
    "train_smoother": "mgcore_torch.learn.trainer",
    "load_stencil_smoother": "mgcore_torch.learn.format",
}


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'mgcore_torch' has no attribute {name!r}")
    return getattr(importlib.import_module(mod), name)
