"""Spectra, Fourier symbols, local Fourier analysis and root selection (numpy layer).

The numpy/scipy counterpart of the pure core's :mod:`mgcore.polynomials`:

======================== =====================================================
:mod:`.bounds`            Lanczos / power estimates of ``lambda_max``,
                          Gershgorin bounds, dense eigenvalues
:mod:`.symbols`           symbols of stencils and (multi-channel) periodic
                          convolutions; exact spectra and singular values
:mod:`.lfa`               smoothing and two-grid local Fourier analysis,
                          ``predicted`` vs ``measured`` factors
:mod:`.roots`             polynomial roots from a spectrum (Poly-MgNet Alg. 3,
                          Chebyshev, Leja), stable product order, Poly-MgNet
                          initialisation from a kernel's spectrum
:mod:`.report`            the ``mgcore spectrum`` command (summary, PNGs, JSON)
======================== =====================================================

``import mgcore`` does not import this package, and ``import mgcore.analysis``
itself is light: numpy and scipy load with the first name used from it.

Examples
--------
>>> from mgcore.analysis import Stencil, smoothing_factor
>>> round(smoothing_factor(Stencil.laplacian(2), "rbgs"), 4)
0.25
"""

from __future__ import annotations

import importlib

_LAZY = {
    **{n: "bounds" for n in ("as_apply", "eigenvalues", "estimate_lambda_max", "gershgorin_bound")},
    **{n: "lfa" for n in ("LFA_SMOOTHERS", "compare", "cycle_factor", "cycle_symbol", "format_table", "harmonics",
                          "low_frequencies", "measure_factor", "smoother_symbol", "smoothing_factor", "smoothing_map",
                          "two_grid_factor", "two_grid_symbol")},
    **{n: "roots" for n in ("alg3_roots", "chebyshev_roots_for", "equispaced_roots", "leja_order", "leja_points",
                            "max_residual", "partial_products", "poly_roots_for_kernel",
                            "polynomial_factors_from_options", "polynomial_roots_from_spectrum", "polynomial_smoother_factors",
                            "spectrum_part")},
    **{n: "symbols" for n in ("Stencil", "check_kernel", "conv_eigenvalues", "conv_matrix", "conv_singular_values",
                              "conv_symbol", "fourier_frequencies", "kernel_spectrum", "stencil_eigenvalues")},
}

__all__ = sorted(_LAZY)


def __getattr__(name: str):
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'mgcore.analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{mod}"), name)


def __dir__():
    return __all__ + ["bounds", "lfa", "report", "roots", "symbols"]
