"""Doctests of mgcore.petsc need petsc4py; without it they are not collected
(the package itself imports without PETSc; tests/test_petsc.py checks the ImportError)."""

import importlib.util

collect_ignore_glob = [] if importlib.util.find_spec("petsc4py") is not None else ["*.py"]
