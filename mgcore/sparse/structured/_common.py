"""Shared helpers of the structured pieces: the lazily imported kernel module."""

from __future__ import annotations

_K = None


def kernels():
    """The compiled kernel module :mod:`mgcore.sparse._kernels` (imports numba on first use)."""
    global _K
    if _K is None:
        from .. import _kernels as K

        _K = K
    return _K
