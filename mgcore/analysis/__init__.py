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

``import mgcore`` does not import this package (it needs numpy and scipy).

Examples
--------
>>> from mgcore.analysis import Stencil, smoothing_factor
>>> round(smoothing_factor(Stencil.laplacian(2), "rbgs"), 4)
0.25
"""

from .bounds import as_apply, eigenvalues, estimate_lambda_max, gershgorin_bound
from .lfa import (
    LFA_SMOOTHERS,
    compare,
    format_table,
    harmonics,
    low_frequencies,
    measure_factor,
    smoother_symbol,
    smoothing_factor,
    smoothing_map,
    two_grid_factor,
    two_grid_symbol,
)
from .roots import (
    alg3_roots,
    chebyshev_roots_for,
    equispaced_roots,
    leja_order,
    leja_points,
    max_residual,
    partial_products,
    poly_roots_for_kernel,
    polynomial_roots_from_spectrum,
    spectrum_part,
)
from .symbols import (
    Stencil,
    check_kernel,
    conv_eigenvalues,
    conv_matrix,
    conv_singular_values,
    conv_symbol,
    fourier_frequencies,
    kernel_spectrum,
    stencil_eigenvalues,
)

__all__ = [
    "LFA_SMOOTHERS",
    "Stencil",
    "alg3_roots",
    "as_apply",
    "check_kernel",
    "chebyshev_roots_for",
    "compare",
    "conv_eigenvalues",
    "conv_matrix",
    "conv_singular_values",
    "conv_symbol",
    "eigenvalues",
    "equispaced_roots",
    "estimate_lambda_max",
    "format_table",
    "fourier_frequencies",
    "gershgorin_bound",
    "harmonics",
    "kernel_spectrum",
    "leja_order",
    "leja_points",
    "low_frequencies",
    "max_residual",
    "partial_products",
    "measure_factor",
    "poly_roots_for_kernel",
    "polynomial_roots_from_spectrum",
    "smoother_symbol",
    "spectrum_part",
    "smoothing_factor",
    "smoothing_map",
    "stencil_eigenvalues",
    "two_grid_factor",
    "two_grid_symbol",
]
