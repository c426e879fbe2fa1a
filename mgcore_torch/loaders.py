"""Batch loaders for in-memory image data sets: reproducible shuffling, sharding for DDP.

:func:`make_loaders` fetches whole batches with one indexing operation and
applies the transforms (:mod:`mgcore_torch.transforms`) per batch, which is
much faster for small images than per-sample collation.  The training
sampler derives each epoch's permutation from ``(seed, epoch)`` only --
:class:`EpochShuffleSampler` in one process, ``torch``'s
:class:`~torch.utils.data.DistributedSampler` (the same permutation, dealt
out round-robin) under ``torchrun`` -- and the trainer calls its
``set_epoch``, so that training is reproducible and can be resumed bit for
bit.  Test sets are split between processes without padding
(:class:`ShardSampler`), so that summed metrics count every image once.

Examples
--------
>>> from mgcore_torch.datasets import load_digits_dataset
>>> train_loader, test_loader = make_loaders(load_digits_dataset(), batch_size=64)
>>> x, y = next(iter(train_loader))
>>> tuple(x.shape), y.dtype
((64, 1, 8, 8), torch.int64)
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, DistributedSampler, Sampler, SequentialSampler

from .datasets import DATASETS, TransformDataset, load_dataset
from .transforms import Compose, Normalize, RandomCropFlip, RandomErasing, channel_stats

__all__ = ["EpochShuffleSampler", "ShardSampler", "make_loaders", "set_epoch", "world_placement"]


class EpochShuffleSampler(Sampler):
    """Shuffle with a permutation that depends only on ``(seed, epoch)``.

    Like ``torch.utils.data.DistributedSampler`` with one replica (the same
    permutation): call :meth:`set_epoch` before each epoch (the trainer does)
    to get a new permutation; the same ``(seed, epoch)`` always gives the
    same order, so a run resumed from a checkpoint sees the same batches as
    an uninterrupted one.

    Parameters
    ----------
    data_source : Sized
        The data set (only its length is used).
    seed : int
        Base seed.
    shuffle : bool
        ``False`` gives the identity order.
    """

    def __init__(self, data_source, seed: int = 0, shuffle: bool = True):
        self.n = len(data_source)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Select the permutation of epoch ``epoch`` (0-based)."""
        self.epoch = int(epoch)

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.n))
        g = torch.Generator()
        g.manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=g).tolist())

    def __len__(self) -> int:
        return self.n


class ShardSampler(Sampler):
    """Indices ``rank, rank + world_size, ...`` of ``range(len(data_source))``: a split without padding.

    The shards of all ranks together hold every index exactly once (unlike
    ``DistributedSampler``, which pads), so evaluation metrics summed over
    the processes are exact.

    Examples
    --------
    >>> list(ShardSampler(range(5), rank=1, world_size=2))
    [1, 3]
    """

    def __init__(self, data_source, rank: int = 0, world_size: int = 1):
        if not isinstance(world_size, int) or world_size < 1 or not isinstance(rank, int) or not 0 <= rank < world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={rank!r}, world_size={world_size!r}")
        self.n, self.rank, self.world_size = len(data_source), rank, world_size

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.n, self.world_size))

    def __len__(self) -> int:
        return len(range(self.rank, self.n, self.world_size))


def world_placement(num_replicas=None, rank=None) -> tuple[int, int]:
    """``(world_size, rank)``: the given values, else those of an initialised process group, else ``(1, 0)``."""
    if num_replicas is None or rank is None:
        import torch.distributed as dist

        if dist.is_available() and dist.is_initialized():
            num_replicas = dist.get_world_size() if num_replicas is None else num_replicas
            rank = dist.get_rank() if rank is None else rank
    num_replicas = 1 if num_replicas is None else num_replicas
    rank = 0 if rank is None else rank
    if not isinstance(num_replicas, int) or num_replicas < 1 or not isinstance(rank, int) or not 0 <= rank < num_replicas:
        raise ValueError(f"need 0 <= rank < num_replicas, got rank={rank!r}, num_replicas={num_replicas!r}")
    return num_replicas, rank


def _batch_loader(dataset, sampler, batch_size, drop_last, num_workers, pin_memory) -> DataLoader:
    batches = BatchSampler(sampler, batch_size=batch_size, drop_last=drop_last)
    # batch_size=None: the data set is indexed once per batch with a list of indices
    return DataLoader(
        dataset,
        sampler=batches,
        batch_size=None,
        num_workers=num_workers,
        pin_memory=pin_memory,
        persistent_workers=False,
    )


def make_loaders(
    dataset,
    batch_size: int = 64,
    *,
    eval_batch_size: int | None = None,
    seed: int = 0,
    augment=None,
    normalize=False,
    erasing: float = 0.0,
    shuffle: bool = True,
    drop_last: bool = False,
    num_workers: int = 0,
    pin_memory: bool = False,
    num_replicas: int | None = None,
    rank: int | None = None,
):
    """Training and test loaders for a ``(train, test)`` pair of data sets.

    Parameters
    ----------
    dataset : (Dataset, Dataset) or str
        A train/test pair as returned by the ``load_*`` functions, or a name
        for :func:`~mgcore_torch.datasets.load_dataset`.  The data sets must
        accept a list of indices and return a batch (as
        :class:`~mgcore_torch.datasets.ImageTensorDataset` does).
    batch_size : int
        Training batch size (per process).
    eval_batch_size : int, optional
        Test batch size (default ``max(batch_size, 256)``).
    seed : int
        Seed of the shuffling.
    augment : None, callable or True
        Training-only transform applied per batch before normalisation;
        ``True`` means :class:`~mgcore_torch.transforms.RandomCropFlip` with
        ``padding=4, flip=True`` for 3-channel images and ``padding=1,
        flip=False`` for grey images.
    normalize : bool or (mean, std)
        ``True`` normalises with :func:`~mgcore_torch.transforms.channel_stats`
        of the training split; a pair gives the values; ``False`` keeps ``[0, 1]``.
    erasing : float
        Probability of :class:`~mgcore_torch.transforms.RandomErasing` on a
        training image, applied after normalisation (0: off).
    shuffle : bool
        Shuffle the training data every epoch.
    drop_last : bool
        Drop the last incomplete training batch.
    num_workers, pin_memory
        Passed to :class:`torch.utils.data.DataLoader`.
    num_replicas, rank : int, optional
        Data-parallel placement; default: that of an initialised
        ``torch.distributed`` process group, else one process.  With more
        than one replica the training set is dealt out by
        ``DistributedSampler`` and the test set by :class:`ShardSampler`.

    Returns
    -------
    train_loader, test_loader : torch.utils.data.DataLoader
        Yield ``(images, labels)`` batches.
    """
    if isinstance(dataset, str):
        dataset = load_dataset(dataset, seed=seed)
    if not isinstance(dataset, (tuple, list)) or len(dataset) != 2:
        raise TypeError(
            f"dataset must be a (train, test) pair of data sets or a name in {DATASETS}, got {type(dataset).__name__}"
        )
    train, test = dataset
    for argname, v in (("batch_size", batch_size), ("eval_batch_size", eval_batch_size)):
        if v is None and argname == "eval_batch_size":
            continue
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{argname} must be a positive int, got {v!r}")
    if not isinstance(num_workers, int) or num_workers < 0:
        raise ValueError(f"num_workers must be an int >= 0, got {num_workers!r}")
    if not isinstance(erasing, (int, float)) or isinstance(erasing, bool) or not 0.0 <= erasing <= 1.0:
        raise ValueError(f"erasing must be a probability in [0, 1], got {erasing!r}")
    world, rank = world_placement(num_replicas, rank)
    eval_batch_size = int(eval_batch_size or max(int(batch_size), 256))

    norm = None
    if normalize is True:
        mean, std = channel_stats(train)
        std = [s if s > 0 else 1.0 for s in std]
        norm = Normalize(mean, std)
    elif isinstance(normalize, (tuple, list)) and len(normalize) == 2:
        norm = Normalize(*normalize)
    elif normalize not in (False, None):
        raise ValueError(f"normalize must be True, False or a (mean, std) pair, got {normalize!r}")

    if augment is True:
        channels = getattr(train, "in_channels", 1)
        augment = RandomCropFlip(padding=4, flip=True) if channels == 3 else RandomCropFlip(padding=1, flip=False)
    elif augment in (False, None):
        augment = None
    elif not callable(augment):
        raise TypeError(f"augment must be None, True or a callable transform, got {type(augment).__name__}")

    train_t = [t for t in (augment, norm, RandomErasing(erasing) if erasing > 0 else None) if t is not None]
    test_t = [norm] if norm is not None else []
    train_ds = TransformDataset(train, Compose(train_t)) if train_t else train
    test_ds = TransformDataset(test, Compose(test_t)) if test_t else test

    if world > 1:
        train_sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, shuffle=shuffle, seed=seed)
        test_sampler = ShardSampler(test_ds, rank=rank, world_size=world)
    else:
        train_sampler = EpochShuffleSampler(train_ds, seed=seed, shuffle=shuffle)
        test_sampler = SequentialSampler(test_ds)
    train_loader = _batch_loader(train_ds, train_sampler, int(batch_size), drop_last, num_workers, pin_memory)
    test_loader = _batch_loader(test_ds, test_sampler, eval_batch_size, False, num_workers, pin_memory)
    return train_loader, test_loader


def _samplers(loader):
    """The sampler objects reachable from ``loader`` (sampler, batch sampler, and their ``.sampler``)."""
    seen, found = set(), []
    objs = [getattr(loader, "sampler", None), getattr(loader, "batch_sampler", None)]
    while objs:
        s = objs.pop()
        if s is None or id(s) in seen:
            continue
        seen.add(id(s))
        found.append(s)
        objs.append(getattr(s, "sampler", None))
    return found


def set_epoch(loader, epoch: int) -> None:
    """Call ``set_epoch(epoch)`` on the (possibly batched) sampler of ``loader`` if it has one."""
    for s in _samplers(loader):
        if hasattr(s, "set_epoch"):
            s.set_epoch(epoch)


_set_epoch = set_epoch


def is_sharded(loader) -> bool:
    """Whether ``loader`` draws from a data-parallel sampler (each process sees only its part)."""
    for s in _samplers(loader):
        if isinstance(s, (ShardSampler, DistributedSampler)) and (
            getattr(s, "world_size", None) or getattr(s, "num_replicas", 1)
        ) > 1:
            return True
    return False
