"""The model registry and what all registered models share: validation, hierarchy, description.

Models are built by factories registered by name (:func:`get_model`,
:func:`list_models`, :func:`model_info`).  Every registered preset names the
paper it reproduces (``model_info(name)["seed"]``) and its parameter count is
checked exactly in ``tests/test_models.py`` / ``tests/test_model_family.py``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from mgcore.hierarchy import Hierarchy, Level, broadcast_levels

__all__ = [
    "get_model",
    "list_models",
    "register_model",
    "model_info",
    "describe",
]


# --------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class _Entry:
    name: str
    factory: Callable[..., nn.Module]
    model_class: type
    seed: str
    defaults: tuple


_REGISTRY: dict[str, _Entry] = {}


def register_model(name: str, *, seed: str = "", model_class: type | None = None, defaults: dict | None = None):
    """Decorator registering a model factory under ``name``.

    Parameters
    ----------
    name : str
        Registry name (``get_model(name)``).
    seed : str
        Paper reference (author, title, year, table / equation) shown by :func:`model_info`.
    model_class : type, optional
        The ``nn.Module`` class the factory returns; its ``__init__`` keywords
        are the allowed configuration keys.
    defaults : dict, optional
        Preset values the factory passes to ``model_class`` (shown by :func:`model_info`).
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"register_model: name must be a non-empty str, got {name!r}")

    def deco(fn):
        if name in _REGISTRY:
            raise ValueError(f"register_model: a model named {name!r} is already registered")
        _REGISTRY[name] = _Entry(name, fn, model_class or fn, seed, tuple(sorted((defaults or {}).items())))
        return fn

    return deco


def list_models() -> list[str]:
    """Sorted names of all registered models."""
    return sorted(_REGISTRY)


def _entry(name: str) -> _Entry:
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; allowed names: {', '.join(list_models())}")
    return _REGISTRY[name]


def _allowed_keys(entry: _Entry) -> list[str]:
    sig = inspect.signature(entry.model_class.__init__ if isinstance(entry.model_class, type) else entry.model_class)
    return [p for p in sig.parameters if p != "self" and sig.parameters[p].kind is not inspect.Parameter.VAR_KEYWORD]


def get_model(name: str, **config: Any) -> nn.Module:
    """Build the registered model ``name`` with configuration overrides ``config``.

    Raises
    ------
    ValueError
        Unknown name (the message lists the allowed names) or unknown
        configuration key (lists the allowed keys) or invalid values.
    """
    entry = _entry(name)
    allowed = _allowed_keys(entry)
    bad = sorted(set(config) - set(allowed))
    if bad:
        raise ValueError(f"get_model({name!r}): unknown configuration key(s) {bad}; allowed: {allowed}")
    return entry.factory(**config)


def model_info(name: str) -> dict:
    """Documentation, paper reference, preset values and allowed keys of a registered model."""
    e = _entry(name)
    doc = inspect.getdoc(e.factory) or inspect.getdoc(e.model_class) or ""
    return {
        "name": e.name,
        "doc": doc,
        "seed": e.seed,
        "defaults": dict(e.defaults),
        "config_keys": _allowed_keys(e),
        "class": getattr(e.model_class, "__name__", str(e.model_class)),
    }


class _Factory:
    """Picklable preset factory ``cls(**{**defaults, **config})``."""

    def __init__(self, cls, defaults: dict, doc: str):
        self.cls, self.defaults, self.__doc__ = cls, dict(defaults), doc

    def __call__(self, **config):
        kw = dict(self.defaults)
        kw.update(config)
        return self.cls(**kw)


def _register(name: str, cls, seed: str, doc: str, **defaults) -> None:
    register_model(name, seed=seed, model_class=cls, defaults=defaults)(_Factory(cls, defaults, doc))


# --------------------------------------------------------------------------- validation
def _nu_tuple(nu: Any, name: str = "nu", J: int | None = None) -> tuple[int, ...]:
    """Smoothing steps per level via :func:`mgcore.hierarchy.broadcast_levels` (an int needs ``J``)."""
    if J is None:
        if isinstance(nu, bool) or isinstance(nu, int):
            raise ValueError(f"{name} must be a sequence of non-negative ints (one per level), got {nu!r}")
        try:
            nu = tuple(nu)
        except TypeError:
            raise TypeError(f"{name} must be a sequence of non-negative ints, got {type(nu).__name__}") from None
        if not nu:
            raise ValueError(f"{name} must be a non-empty sequence of non-negative ints (one per level), got ()")
        J = len(nu)
    return broadcast_levels(nu, J, name)


def _parse_channels(channels: Any, J: int) -> tuple[list[int], list[int]]:
    """``c`` | ``[c_1..c_J]`` | ``[(c_u1, c_f1), ..]`` -> (c_u list, c_f list) (He, Xu, Zhang & Zhu 2023, eq. 3.8)."""
    if isinstance(channels, int) and not isinstance(channels, bool):
        items = [channels] * J
    else:
        try:
            items = list(channels)
        except TypeError:
            raise TypeError(f"channels must be an int, a list of J ints or of J (c_u, c_f) pairs, got {channels!r}") from None
        if len(items) != J:
            raise ValueError(
                f"channels must give one entry per level: nu has J = {J} levels but channels has {len(items)}: {channels!r}"
            )
    cu, cf = [], []
    for c in items:
        if isinstance(c, (tuple, list)):
            if len(c) != 2:
                raise ValueError(f"channel pairs must be (c_u, c_f), got {c!r}")
            u, f = c
        else:
            u = f = c
        for v in (u, f):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"channels must be positive ints, got {channels!r}")
        cu.append(int(u))
        cf.append(int(f))
    return cu, cf


def _check_choice(value: Any, allowed: Sequence[Any], name: str) -> Any:
    if isinstance(value, bool) and not any(isinstance(a, bool) for a in allowed):
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    try:
        ok = value in allowed
    except TypeError:
        ok = False
    if not ok:
        raise ValueError(f"{name} must be one of {tuple(allowed)}, got {value!r}")
    return value


def _check_positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")
    return int(value)


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return value


# --------------------------------------------------------------------------- description
def _fmt(m: nn.Module) -> str:
    if isinstance(m, nn.Conv2d):
        k = m.kernel_size[0]
        s = f"conv{k}x{k} {m.in_channels}->{m.out_channels} s{m.stride[0]} p{m.padding[0]}"
        return s + (f" g{m.groups}" if m.groups > 1 else "")
    if isinstance(m, nn.ConvTranspose2d):
        return f"deconv3x3 {m.in_channels}->{m.out_channels} s{m.stride[0]}"
    if isinstance(m, nn.BatchNorm2d):
        return f"bn {m.num_features}"
    if isinstance(m, nn.Linear):
        return f"linear {m.in_features}->{m.out_features}"
    return type(m).__name__


def describe(model: nn.Module) -> list[str]:
    """A model's structure as lines in execution order (layer kinds and shapes).

    Models of the registry implement ``describe()``; this function calls it.
    """
    if not hasattr(model, "describe"):
        raise TypeError(f"{type(model).__name__} has no describe() method")
    return model.describe()


def _stem_lines(kind: Any, stem: nn.Module) -> list[str]:
    if isinstance(stem, nn.Identity):
        return ["stem: none"]
    if isinstance(stem, nn.Sequential):  # pre-act ResNet CIFAR stem: a bare conv
        return [f"stem: {_fmt(stem[0])}"]
    parts = [_fmt(stem.conv)]
    if stem.bn is not None:
        parts.append(_fmt(stem.bn))
    if stem.act:
        parts.append("sigma")
    if type(stem).__name__ == "Stem":
        parts.append("maxpool3x3 s2")
    return ["stem: " + ", ".join(parts)]


# --------------------------------------------------------------------------- base classes
class _ModelBase(nn.Module):
    """Input checks shared by the registered models: ``(N, in_channels, H, W)``, large enough."""

    in_channels: int = 3
    min_image_size: int = 1

    def check_input(self, x) -> None:
        """Raise a ValueError naming ``x`` unless it is ``(N, in_channels, H, W)`` with ``H, W >= min_image_size``."""
        if not isinstance(x, torch.Tensor) or x.dim() != 4:
            raise ValueError(f"x must be a 4-D tensor (N, in_channels={self.in_channels}, H, W), "
                             f"got {type(x).__name__} of shape {tuple(getattr(x, 'shape', ()))}")
        if x.shape[1] != self.in_channels:
            raise ValueError(f"x has {x.shape[1]} channels but the model was built with in_channels={self.in_channels}")
        if min(x.shape[-2:]) < self.min_image_size:
            raise ValueError(f"image size {tuple(x.shape[-2:])} is too small: H and W must be >= "
                             f"{self.min_image_size} for this stem")


class _HierarchyModel(_ModelBase):
    """Base class keeping a :class:`Hierarchy` outside the registered module tree."""

    def _set_hierarchy(self, levels: list[Level]) -> None:
        object.__setattr__(self, "_hierarchy", Hierarchy(levels))

    @property
    def hierarchy(self) -> Hierarchy:
        """The multigrid hierarchy (level 1 = finest) whose levels hold this model's modules."""
        return self.__dict__["_hierarchy"]

    def classify(self, u):
        """Global average pooling of the iterate and the linear head (He & Xu 2019, eq. 9.1-9.4)."""
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(u, 1), 1))


@dataclass(eq=False)
class SizedLevel(Level):
    """A :class:`Level` whose prolongation gets the fine-level spatial size (odd image sizes)."""

    def correct(self, u, e):
        if u is None:
            return self.P(e)
        return u + self.P(e, output_size=u.shape[-2:])
