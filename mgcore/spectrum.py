"""Spectral bounds (kept importable; the code lives in :mod:`mgcore.analysis`).

``mgcore.spectrum`` re-exports :func:`estimate_lambda_max`,
:func:`gershgorin_bound`, :func:`eigenvalues` and :func:`as_apply` from
:mod:`mgcore.analysis.bounds`.  New code should import from
:mod:`mgcore.analysis`, which also holds the Fourier symbols, the local
Fourier analysis and the root selection.

Examples
--------
>>> import numpy as np
>>> from mgcore.spectrum import estimate_lambda_max
>>> round(estimate_lambda_max(np.diag([1.0, 2.0, 5.0])), 10)
5.0
"""

from __future__ import annotations

from .analysis.bounds import as_apply, eigenvalues, estimate_lambda_max, gershgorin_bound

__all__ = ["estimate_lambda_max", "gershgorin_bound", "eigenvalues", "as_apply"]
