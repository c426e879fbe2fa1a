"""The core algorithms import neither numpy nor torch; ``import mgcore`` is light."""

import subprocess
import sys

import pytest

CORE = ["mgcore.hierarchy", "mgcore.iterations", "mgcore.cycles", "mgcore.solve", "mgcore.config", "mgcore.polynomials",
        "mgcore.registry", "mgcore.coarsening", "mgcore.frontend"]
HEAVY = ["numpy", "scipy", "torch", "numba"]


def _loaded_after(stmt: str) -> set:
    code = f"import sys; {stmt}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_array_library(module):
    loaded = _loaded_after(f"import {module}")
    assert module in loaded
    assert not loaded & set(HEAVY), f"{module} pulled in {sorted(loaded & set(HEAVY))}"


def test_import_mgcore_is_light():
    loaded = _loaded_after("import mgcore, mgcore_torch")
    assert not loaded & set(HEAVY)


def test_lazy_attribute_access_works():
    import mgcore

    assert mgcore.CycleKind.parse("w").value == "W"
    with pytest.raises(AttributeError, match="no attribute"):
        mgcore.not_a_thing  # noqa: B018
