"""Image transforms on tensors, for one image ``(C, H, W)`` or a whole batch ``(N, C, H, W)``.

All randomness is drawn per image but vectorised over the batch, so that a
loader can transform a fetched batch in one go (much faster for small images
than per-sample transforms and collation):

* :class:`Normalize` -- ``(x - mean) / std`` per channel (:func:`channel_stats`);
* :class:`RandomCrop` / :func:`random_crop` -- pad (zeros or reflection) and
  cut an ``H x W`` window at a uniformly random offset;
* :class:`RandomFlip` / :func:`random_flip` -- left-right mirror with
  probability 1/2 (only where the data allow it: not for digits);
* :class:`RandomErasing` / :func:`random_erasing` -- with probability ``p``
  replace a random rectangle by zeros (Zhong, Zheng, Kang, Li & Yang,
  "Random Erasing Data Augmentation", AAAI 2020, Alg. 1), applied after
  normalisation so that the erased value is the data mean;
* :class:`RandomCropFlip` -- crop then flip (the customary CIFAR recipe),
  :class:`Compose` -- a picklable chain.

Random numbers come from the global torch RNG unless a ``generator`` is
given; the trainer saves and restores that RNG in its checkpoints.

Examples
--------
>>> import torch
>>> x = torch.rand(4, 1, 8, 8)
>>> tuple(Compose([RandomCrop(1, "reflect"), RandomFlip()])(x).shape)
(4, 1, 8, 8)
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .options import PAD_MODES

__all__ = [
    "channel_stats",
    "Normalize",
    "random_crop",
    "random_flip",
    "random_erasing",
    "random_crop_flip",
    "RandomCrop",
    "RandomFlip",
    "RandomErasing",
    "RandomCropFlip",
    "Compose",
    "PAD_MODES",
]


def _shape_of(x) -> str:
    return str(tuple(x.shape)) if hasattr(x, "shape") else type(x).__name__


def _as_batch(x: torch.Tensor) -> tuple[torch.Tensor, bool]:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    single = x.dim() == 3
    if single:
        x = x.unsqueeze(0)
    if x.dim() != 4:
        raise ValueError(f"x must have shape (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
    return x, single


def _check_padding(padding) -> int:
    if not isinstance(padding, (int, np.integer)) or isinstance(padding, bool) or padding < 0:
        raise ValueError(f"padding must be an int >= 0, got {padding!r}")
    return int(padding)


def _check_pad_mode(mode) -> str:
    if mode not in PAD_MODES:
        raise ValueError(f"pad_mode must be one of {PAD_MODES}, got {mode!r}")
    return mode


def channel_stats(dataset) -> tuple[list[float], list[float]]:
    """Per-channel mean and standard deviation of a data set's images.

    Parameters
    ----------
    dataset : ImageTensorDataset or torch.Tensor
        A data set with ``.images`` or an image tensor ``(N, C, H, W)``.

    Returns
    -------
    mean, std : list of float
        One value per channel (population standard deviation).

    Examples
    --------
    >>> import torch
    >>> channel_stats(torch.ones(2, 1, 3, 3))
    ([1.0], [0.0])
    """
    x = dataset.images if hasattr(dataset, "images") else dataset
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"dataset must hold images of shape (N, C, H, W), got {_shape_of(x)}")
    x = x.to(torch.float64)
    mean = x.mean(dim=(0, 2, 3))
    std = x.std(dim=(0, 2, 3), unbiased=False)
    return [float(v) for v in mean], [float(v) for v in std]


class Normalize:
    """Standard normalisation ``(x - mean) / std`` per channel.

    Parameters
    ----------
    mean, std : sequence of float
        One value per channel (or a single value for all); ``std > 0``.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]):
        mean = [float(mean)] if isinstance(mean, (int, float)) else [float(m) for m in mean]
        std = [float(std)] if isinstance(std, (int, float)) else [float(s) for s in std]
        if len(mean) != len(std) or not mean:
            raise ValueError(f"mean and std must have the same non-zero length, got {len(mean)} and {len(std)}")
        if any(not (s > 0 and math.isfinite(s)) for s in std):
            raise ValueError(f"std must be positive and finite, got {std}")
        self.mean = mean
        self.std = std

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() not in (3, 4):
            raise ValueError(f"x must have shape (C, H, W) or (N, C, H, W), got {tuple(x.shape)}")
        c = x.shape[-3]
        if len(self.mean) not in (1, c):
            raise ValueError(f"Normalize has {len(self.mean)} channel values, image has {c} channels")
        shape = (-1, 1, 1)
        m = torch.tensor(self.mean, dtype=x.dtype, device=x.device).view(shape)
        s = torch.tensor(self.std, dtype=x.dtype, device=x.device).view(shape)
        return (x - m) / s

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean}, std={self.std})"


def random_crop(x: torch.Tensor, padding: int = 4, pad_mode: str = "zero",
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Pad by ``padding`` pixels and cut an ``H x W`` window at a random offset, per image.

    Parameters
    ----------
    x : torch.Tensor
        ``(C, H, W)`` or ``(N, C, H, W)``.
    padding : int
        Pad width, ``>= 0``; ``0`` returns ``x`` unchanged.
    pad_mode : {"zero", "reflect"}
        Zeros, or the mirror image without repeating the edge
        (``F.pad(mode="reflect")``; needs ``padding < H, W``).
    generator : torch.Generator, optional
        Source of randomness (default: the global torch RNG).

    Returns
    -------
    torch.Tensor
        Same shape and dtype as ``x`` (a new tensor; ``x`` is not modified).

    Examples
    --------
    >>> import torch
    >>> x = torch.arange(9.).view(1, 1, 3, 3)
    >>> y = random_crop(x, 1, "reflect", generator=torch.Generator().manual_seed(0))
    >>> tuple(y.shape), bool(torch.isin(y, x).all())
    ((1, 1, 3, 3), True)
    """
    padding = _check_padding(padding)
    mode = _check_pad_mode(pad_mode)
    xb, single = _as_batch(x)
    if padding == 0:
        return x
    n, c, h, w = xb.shape
    if mode == "reflect" and (padding >= h or padding >= w):
        raise ValueError(f"reflect padding needs padding < image size, got padding={padding} for {h}x{w}")
    dev = xb.device
    xp = F.pad(xb, (padding,) * 4, mode="constant" if mode == "zero" else "reflect")
    oy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(dev)
    ox = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(dev)
    rows = (oy[:, None] + torch.arange(h, device=dev)[None, :])[:, None, :, None]
    cols = (ox[:, None] + torch.arange(w, device=dev)[None, :])[:, None, None, :]
    nidx = torch.arange(n, device=dev)[:, None, None, None]
    cidx = torch.arange(c, device=dev)[None, :, None, None]
    out = xp[nidx, cidx, rows, cols]
    return out[0] if single else out


def random_flip(x: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image left-right with probability ``p`` (returns a new tensor).

    Examples
    --------
    >>> import torch
    >>> random_flip(torch.arange(3.).view(1, 1, 1, 3), p=1.0).flatten().tolist()
    [2.0, 1.0, 0.0]
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    xb, single = _as_batch(x)
    mask = torch.rand(xb.shape[0], generator=generator) < p
    out = xb.clone()
    if bool(mask.any()):
        m = mask.to(xb.device)
        out[m] = xb[m].flip(-1)
    return out[0] if single else out


def random_erasing(x: torch.Tensor, p: float = 0.5, scale: tuple[float, float] = (0.02, 0.33),
                   ratio: tuple[float, float] = (0.3, 3.3), value: float = 0.0,
                   generator: torch.Generator | None = None) -> torch.Tensor:
    """Random erasing (Zhong et al., "Random Erasing Data Augmentation", 2020, Alg. 1), vectorised.

    With probability ``p`` an image gets a rectangle of area ``s * H * W``
    (``s`` uniform in ``scale``) and aspect ratio ``r`` (log-uniform in
    ``ratio``) at a uniformly random position set to ``value`` in all
    channels; the rectangle is clipped to the image.

    Parameters
    ----------
    x : torch.Tensor
        ``(C, H, W)`` or ``(N, C, H, W)``.
    p : float
        Erasing probability per image.
    scale, ratio : (float, float)
        Ranges of the area fraction and of the aspect ratio ``h / w``.
    value : float
        Fill value (0 = the mean after normalisation).
    generator : torch.Generator, optional

    Returns
    -------
    torch.Tensor
        A new tensor of the shape of ``x``.

    Examples
    --------
    >>> import torch
    >>> y = random_erasing(torch.ones(2, 3, 8, 8), p=1.0, generator=torch.Generator().manual_seed(0))
    >>> bool((y == 0).any()), bool(((y == 0).all(dim=1) == (y == 0).any(dim=1)).all())
    (True, True)
    """
    if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
        raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
    lo, hi = (float(v) for v in scale)
    rlo, rhi = (float(v) for v in ratio)
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"scale must be (lo, hi) with 0 < lo <= hi <= 1, got {scale!r}")
    if not 0.0 < rlo <= rhi:
        raise ValueError(f"ratio must be (lo, hi) with 0 < lo <= hi, got {ratio!r}")
    xb, single = _as_batch(x)
    n, _, h, w = xb.shape
    apply = torch.rand(n, generator=generator) < p
    area = (lo + (hi - lo) * torch.rand(n, generator=generator, dtype=torch.float64)) * (h * w)
    logr = math.log(rlo) + (math.log(rhi) - math.log(rlo)) * torch.rand(n, generator=generator, dtype=torch.float64)
    r = torch.exp(logr)
    eh = torch.sqrt(area * r).round().clamp(1, h).long()
    ew = torch.sqrt(area / r).round().clamp(1, w).long()
    top = (torch.rand(n, generator=generator, dtype=torch.float64) * (h - eh + 1)).floor().long()
    left = (torch.rand(n, generator=generator, dtype=torch.float64) * (w - ew + 1)).floor().long()
    dev = xb.device
    rows = torch.arange(h)[None, :]
    cols = torch.arange(w)[None, :]
    in_r = (rows >= top[:, None]) & (rows < (top + eh)[:, None])
    in_c = (cols >= left[:, None]) & (cols < (left + ew)[:, None])
    mask = (in_r[:, :, None] & in_c[:, None, :]) & apply[:, None, None]
    out = xb.masked_fill(mask[:, None].to(dev), float(value))
    return out[0] if single else out


def random_crop_flip(
    x: torch.Tensor, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None,
    pad_mode: str = "zero",
) -> torch.Tensor:
    """Random crop after padding, then a random horizontal flip, per image.

    The customary CIFAR augmentation (the MgNet papers do not spell out
    theirs): :func:`random_crop` followed by :func:`random_flip` when
    ``flip``.  ``x`` is never modified.

    Parameters
    ----------
    x : torch.Tensor
        ``(C, H, W)`` or ``(N, C, H, W)``.
    padding : int
        Pad width, ``>= 0``; ``0`` means no cropping.
    flip : bool
        Apply random horizontal flips.
    generator : torch.Generator, optional
        Source of randomness; default the global torch RNG.
    pad_mode : {"zero", "reflect"}
        Padding of the crop.
    """
    padding = _check_padding(padding)
    out = random_crop(x, padding, pad_mode, generator=generator) if padding else x
    if flip:
        out = random_flip(out, 0.5, generator=generator)
    return out


class RandomCrop:
    """Picklable :func:`random_crop` (global torch RNG).

    Parameters
    ----------
    padding : int
        Pad width (4 for 32x32 CIFAR, 2 for 28x28 Fashion-MNIST, 1 for 8x8 digits).
    pad_mode : {"zero", "reflect"}
    """

    def __init__(self, padding: int = 4, pad_mode: str = "zero"):
        self.padding = _check_padding(padding)
        self.pad_mode = _check_pad_mode(pad_mode)

    def __call__(self, x):
        return random_crop(x, self.padding, self.pad_mode)

    def __repr__(self) -> str:
        return f"RandomCrop(padding={self.padding}, pad_mode={self.pad_mode!r})"


class RandomFlip:
    """Picklable :func:`random_flip` with probability ``p``."""

    def __init__(self, p: float = 0.5):
        if not isinstance(p, (int, float)) or isinstance(p, bool) or not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, x):
        return random_flip(x, self.p)

    def __repr__(self) -> str:
        return f"RandomFlip(p={self.p})"


class RandomErasing:
    """Picklable :func:`random_erasing` (apply it after :class:`Normalize`)."""

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value: float = 0.0):
        random_erasing(torch.zeros(1, 1, 2, 2), p, scale, ratio, value)  # validates the arguments
        self.p, self.scale, self.ratio, self.value = float(p), tuple(scale), tuple(ratio), float(value)

    def __call__(self, x):
        return random_erasing(x, self.p, self.scale, self.ratio, self.value)

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio}, value={self.value})"


class RandomCropFlip:
    """Picklable transform wrapping :func:`random_crop_flip` (uses the global torch RNG).

    Parameters
    ----------
    padding : int
        Padding before the random crop (4 for 32x32 CIFAR images, 1-2 for
        8x8 digits).
    flip : bool
        Random horizontal flips (leave off for digits: mirrored digits are
        other symbols).
    pad_mode : {"zero", "reflect"}
        Padding of the crop.
    """

    def __init__(self, padding: int = 4, flip: bool = True, pad_mode: str = "zero"):
        self.padding = _check_padding(padding)
        self.flip = bool(flip)
        self.pad_mode = _check_pad_mode(pad_mode)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return random_crop_flip(x, self.padding, self.flip, pad_mode=self.pad_mode)

    def __repr__(self) -> str:
        return f"RandomCropFlip(padding={self.padding}, flip={self.flip}, pad_mode={self.pad_mode!r})"


class Compose:
    """Apply transforms in order (a picklable list of callables)."""

    def __init__(self, transforms: Sequence):
        transforms = list(transforms)
        for t in transforms:
            if not callable(t):
                raise TypeError(f"every transform must be callable, got {type(t).__name__}")
        self.transforms = transforms

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self) -> str:
        return f"Compose({self.transforms!r})"
