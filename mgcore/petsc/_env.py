"""Loading petsc4py: one place for the import, the initialisation and the install hint."""

from __future__ import annotations

import importlib
import sys

__all__ = ["INSTALL_HINT", "petsc_available", "import_petsc"]

#: How to install PETSc and a petsc4py that matches the installed numpy (Debian/Ubuntu).
INSTALL_HINT = (
    "mgcore.petsc needs PETSc and petsc4py (not installed here). On Debian/Ubuntu:\n"
    "  apt-get install -y petsc-dev\n"
    "  PETSC_DIR=/usr/lib/petsc CFLAGS='-O1 -g0' \\\n"
    "    NUMPY_INCLUDE=$(python -c 'import numpy; print(numpy.get_include())') \\\n"
    "    PIP_CONSTRAINT=<(echo 'setuptools<70') \\\n"
    "    pip install \"petsc4py==$(sed -n 's/^#define PETSC_VERSION_\\(MAJOR\\|MINOR\\|SUBMINOR\\) *//p' "
    "/usr/lib/petsc/include/petscversion.h | paste -sd.)\"\n"
    "(petsc4py must be built against the installed PETSc and numpy; Debian's python3-petsc4py is built "
    "against Debian's numpy 1.x and does not import with numpy 2). See docs/petsc.md."
)


def petsc_available() -> bool:
    """Whether petsc4py can be imported (without initialising PETSc).

    Examples
    --------
    >>> from mgcore.petsc import petsc_available
    >>> isinstance(petsc_available(), bool)
    True
    """
    if "petsc4py.PETSc" in sys.modules:
        return True
    try:
        importlib.import_module("petsc4py")
    except ImportError:
        return False
    return True


def import_petsc():
    """The ``petsc4py.PETSc`` module, PETSc initialised on first use.

    If petsc4py was not initialised yet, it is initialised with no
    command-line options (PETSc still reads the ``PETSC_OPTIONS``
    environment variable, e.g. ``PETSC_OPTIONS=-log_view``) and without
    PETSc's signal handler, so that Python keeps its own.  A program that
    wants PETSc options from its command line calls ``petsc4py.init(sys.argv)``
    before using :mod:`mgcore.petsc`.

    Raises
    ------
    ImportError
        petsc4py is missing (or does not load); the message has the install
        commands.
    """
    mod = sys.modules.get("petsc4py.PETSc")
    if mod is not None:
        return mod
    try:
        import petsc4py
    except ImportError as exc:
        raise ImportError(INSTALL_HINT) from exc
    try:
        petsc4py.init(["mgcore", "-no_signal_handler"])
        from petsc4py import PETSc
    except (ImportError, ValueError) as exc:  # e.g. built against another numpy ABI
        raise ImportError(f"petsc4py is installed but does not load ({exc}).\n{INSTALL_HINT}") from exc
    return PETSc
