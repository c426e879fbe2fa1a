"""Data-parallel placement for ``torchrun`` launches (``torch.distributed``, DDP).

``torchrun --nproc_per_node=N [--nnodes ... --rdzv-backend ... --rdzv-endpoint ...]``
starts ``N`` processes per node and gives each ``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK`` and the rendezvous address in its environment.
:func:`init_distributed` reads them once, joins the process group (``gloo``
on CPU, ``nccl`` on CUDA, one GPU per local rank) and returns a
:class:`Placement`; without such an environment it returns the
single-process placement and starts nothing.  The trainer then wraps the
model in :class:`~torch.nn.parallel.DistributedDataParallel`, which averages
the gradients over the processes after every backward pass, so one step on
``N`` shards of a batch equals one step on the whole batch (exactly for
models without batch statistics; BatchNorm normalises per process unless
``SyncBatchNorm`` is used, which torch supports on GPUs only).

Examples
--------
>>> p = init_distributed("cpu")  # not under torchrun: one process
>>> (p.rank, p.world_size, p.is_main, p.distributed)
(0, 1, True, False)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

__all__ = ["Placement", "init_distributed", "env_world_size", "all_reduce_sum", "broadcast", "sync_buffers",
           "shutdown"]


@dataclass(frozen=True)
class Placement:
    """Where this process runs: ``rank`` of ``world_size``, ``local_rank`` on its node, ``device``."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None
    owns_group: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that logs and writes files."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        """More than one process."""
        return self.world_size > 1


def env_world_size() -> int:
    """``WORLD_SIZE`` of a ``torchrun`` launch (1 when absent)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1"))
    except ValueError:
        raise ValueError(f"WORLD_SIZE must be an int, got {os.environ.get('WORLD_SIZE')!r}") from None


def _resolve_device(device) -> torch.device:
    if device is None or (isinstance(device, str) and device.lower() == "auto"):
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N', 'auto' or None, got {device!r}") from exc
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} requested but CUDA is not available")
    return dev


def init_distributed(device=None, backend: str | None = None) -> Placement:
    """Join the ``torchrun`` process group if there is one; return this process's placement.

    Parameters
    ----------
    device : str or torch.device, optional
        ``"cpu"``, ``"cuda"``, ``"cuda:N"``, ``"auto"``/``None`` (CUDA when
        available).  Under a multi-process launch on CUDA each process takes
        ``cuda:LOCAL_RANK``.
    backend : {"gloo", "nccl"}, optional
        Default: ``nccl`` for CUDA, ``gloo`` for CPU.

    Returns
    -------
    Placement
        ``owns_group`` is True when this call created the process group
        (then :func:`shutdown` destroys it).
    """
    dev = _resolve_device(device)
    if dist.is_available() and dist.is_initialized():
        world, rank, owns = dist.get_world_size(), dist.get_rank(), False
        backend = dist.get_backend()
    elif env_world_size() > 1:
        if not dist.is_available():
            raise ValueError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
        backend = backend or ("nccl" if dev.type == "cuda" else "gloo")
        if backend not in ("gloo", "nccl"):
            raise ValueError(f"backend must be 'gloo' or 'nccl', got {backend!r}")
        if dev.type == "cuda":
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend=backend)
        world, rank, owns = dist.get_world_size(), dist.get_rank(), True
    else:
        return Placement(device=dev)
    local = int(os.environ.get("LOCAL_RANK", rank))
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", local % max(1, torch.cuda.device_count()))
    return Placement(rank=rank, world_size=world, local_rank=local, device=dev, backend=backend, owns_group=owns)


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over the processes in place (no-op in one process); returns ``t``."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
    return t


def broadcast(t: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Overwrite ``t`` with rank ``src``'s value in place (no-op in one process)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        dist.broadcast(t, src)
    return t


def sync_buffers(module: torch.nn.Module, src: int = 0) -> None:
    """Give every process rank ``src``'s buffers (e.g. BatchNorm running statistics)."""
    if dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1:
        for b in module.buffers():
            dist.broadcast(b.data, src)


def shutdown(placement: Placement) -> None:
    """Destroy the process group if :func:`init_distributed` created it."""
    if placement.owns_group and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
