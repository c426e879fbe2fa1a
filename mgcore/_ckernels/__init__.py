"""C kernels of the common case, compiled on first use and loaded with ctypes.

The V-cycle of constant-coefficient 2D and 3D Poisson problems on nested
Dirichlet grids (red-black Gauss-Seidel wavefront sweeps with the fused full-weighting
restriction of the residual, the bilinear correction fused with
post-smoothing, the residual norm summed in the last sweep, the dense
coarsest solve) is a small C source shipped in the package
(``mgkernels.c``).  The first call of :func:`load` compiles it with the
system C compiler (``$CC``, else the compiler Python was built with, else
``cc``/``gcc``/``clang``; ``-O3 -march=native -shared -fPIC``) into a per-user
cache directory, keyed by a hash of the source, the compiler and the CPU
flags, and writes the library atomically (temporary file + ``os.replace``);
later processes load it with :mod:`ctypes` in about a millisecond, where
loading numba and its cached kernels takes about a second.  The first
compilation prints one line on stderr with its duration.

Without a working compiler (or with ``MGCORE_CKERNELS=0``) :func:`load`
returns ``None`` and the callers keep the numba kernels; the reason is logged
at debug level (logger ``mgcore.ckernels``) and kept in :func:`status`.

Cache directory: ``$MGCORE_CACHE_DIR/ckernels``, else
``$XDG_CACHE_HOME/mgcore/ckernels``, else ``~/.cache/mgcore/ckernels``.

This module imports neither numpy nor numba.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import sys
import time

__all__ = ["load", "status", "cache_dir", "compiler", "library_path", "SOURCE", "ENV_SWITCH"]

#: the C source shipped in the package
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mgkernels.c")
#: environment variable that switches the C kernels off (``0``/``off``/``false``/``no``)
ENV_SWITCH = "MGCORE_CKERNELS"
#: compiler flags (the CPU flags of this machine are part of the cache key because of -march=native)
CFLAGS = ("-O3", "-march=native", "-std=c99", "-ffp-contract=off", "-shared", "-fPIC")

#: MGK_VERSION of the source this module expects
VERSION = 3

_LIB = None
_STATE: dict = {"loaded": False, "reason": "not loaded yet", "compile_seconds": 0.0, "compiled": False, "path": None}


def _log(msg: str) -> None:
    import logging

    logging.getLogger("mgcore.ckernels").debug(msg)


def cache_dir() -> str:
    """The per-user directory of compiled kernel libraries."""
    base = os.environ.get("MGCORE_CACHE_DIR")
    if not base:
        xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = os.path.join(xdg, "mgcore")
    return os.path.join(base, "ckernels")


def compiler() -> list | None:
    """The C compiler command (a list: executable and its own flags), or ``None`` when none is found."""
    cands = []
    env = os.environ.get("CC")
    if env:
        cands.append(env)
    else:
        try:
            import sysconfig

            cc = sysconfig.get_config_var("CC")
            if cc:
                cands.append(cc)
        except Exception:  # pragma: no cover - unusual Python builds
            pass
        cands += ["cc", "gcc", "clang"]
    for c in cands:
        parts = c.split()
        exe = _which(parts[0]) if parts else None
        if exe:
            return [exe] + parts[1:]
    return None


def _which(name: str) -> str | None:
    """``shutil.which`` without importing shutil (this runs in every process that loads the kernels)."""
    if os.path.dirname(name):
        return name if os.path.isfile(name) and os.access(name, os.X_OK) else None
    for d in os.environ.get("PATH", os.defpath).split(os.pathsep):
        p = os.path.join(d or ".", name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def _cpu_flags() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith(("flags", "Features")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform

    return platform.machine() + " " + platform.processor()


def _key(cc: list, src: bytes) -> str:
    h = hashlib.sha256(src)
    st = os.stat(cc[0])
    for part in (*cc, str(st.st_size), str(int(st.st_mtime)), *CFLAGS, _cpu_flags(), sys.platform):
        h.update(b"\0" + part.encode())
    return h.hexdigest()[:20]


def library_path(cc: list | None = None) -> str | None:
    """Where the library for this source, compiler and CPU lives (``None`` without a compiler)."""
    cc = compiler() if cc is None else cc
    if cc is None:
        return None
    with open(SOURCE, "rb") as fh:
        src = fh.read()
    ext = ".dll" if sys.platform == "win32" else ".so"
    return os.path.join(cache_dir(), f"mgkernels-{_key(cc, src)}{ext}")


def _compile(cc: list, path: str, quiet: bool) -> None:
    import subprocess
    import tempfile

    d = os.path.dirname(path)
    os.makedirs(d, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=d)
    os.close(fd)
    t0 = time.perf_counter()
    try:
        cmd = [*cc, *CFLAGS, "-o", tmp, SOURCE]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if p.returncode != 0:
            raise OSError(f"{' '.join(cmd)} failed ({p.returncode}): {p.stderr.strip()[-500:]}")
        ctypes.CDLL(tmp)  # refuse a library that does not load before it enters the cache
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    dt = time.perf_counter() - t0
    _STATE.update(compile_seconds=_STATE["compile_seconds"] + dt, compiled=True)
    if not quiet:
        print(f"mgcore: compiled the C multigrid kernels for this machine in {dt:.1f} s (first use; cached in "
              f"{d}, later runs load them instantly; `mgcore warmup` does it ahead)", file=sys.stderr, flush=True)


def _declare(lib: ctypes.CDLL) -> ctypes.CDLL:
    P, I, D = ctypes.c_void_p, ctypes.c_int, ctypes.c_double
    lib.mgk_version.restype = I
    lib.mgk_version.argtypes = []
    lib.mgk_vcycle2.restype = D
    lib.mgk_vcycle2.argtypes = [I, P, P, P, P, P, I, I, I, P, P]
    lib.mgk_resnorm2.restype = D
    lib.mgk_resnorm2.argtypes = [P, P, I, I, P, P, P]
    lib.mgk_rbgs2.restype = None
    lib.mgk_rbgs2.argtypes = [P, P, I, I, P, I, I, P]
    lib.mgk_vcycle3.restype = D
    lib.mgk_vcycle3.argtypes = [I, P, P, P, P, P, I, I, I, P, P]
    lib.mgk_resnorm3.restype = D
    lib.mgk_resnorm3.argtypes = [P, P, I, I, I, P, P, P]
    lib.mgk_mixed_residual2.restype = D
    lib.mgk_mixed_residual2.argtypes = [P, P, I, I, P, P, P, P]
    lib.mgk_mixed_pre2.restype = None
    lib.mgk_mixed_pre2.argtypes = [P, P, P, P, I, P, P]
    lib.mgk_mixed_step2.restype = D
    lib.mgk_mixed_step2.argtypes = [I, P, P, P, P, P, P, P, P, I, I, I, I, P, P, P, P]
    lib.mgk_mixed_residual3.restype = D
    lib.mgk_mixed_residual3.argtypes = [P, P, I, I, I, P, P, P, P]
    lib.mgk_mixed_pre3.restype = None
    lib.mgk_mixed_pre3.argtypes = [P, P, P, P, I, P, P]
    lib.mgk_mixed_step3.restype = D
    lib.mgk_mixed_step3.argtypes = [I, P, P, P, P, P, P, P, P, I, I, I, I, P, P, P, P]
    return lib


def disabled() -> bool:
    """Whether ``MGCORE_CKERNELS`` switches the C kernels off."""
    return os.environ.get(ENV_SWITCH, "").strip().lower() in ("0", "off", "false", "no")


def load(quiet: bool = False):
    """The loaded kernel library (compiled first if needed), or ``None`` when unavailable.

    Parameters
    ----------
    quiet : bool
        Do not print the one-line note of a first compilation.

    Returns
    -------
    ctypes.CDLL or None
        ``None`` when switched off (``MGCORE_CKERNELS=0``), without a C
        compiler, or when compiling or loading failed; :func:`status` says why.
    """
    global _LIB
    if _LIB is not None:
        return _LIB
    if disabled():
        _STATE["reason"] = f"switched off ({ENV_SWITCH}={os.environ.get(ENV_SWITCH)})"
        return None
    if _STATE["loaded"] is None:  # failed before in this process
        return None
    try:
        cc = compiler()
        if cc is None:
            raise OSError("no C compiler found ($CC, cc, gcc, clang)")
        path = library_path(cc)
        _STATE["path"] = path
        if not os.path.exists(path):
            _compile(cc, path, quiet)
        lib = _declare(ctypes.CDLL(path))
        if lib.mgk_version() != VERSION:
            raise OSError(f"{path} is version {lib.mgk_version()}, expected {VERSION}")
    except Exception as exc:  # any failure: the numba kernels run instead
        _STATE.update(loaded=None, reason=f"C kernels unavailable: {exc}")
        _log(_STATE["reason"] + "; using the numba kernels")
        return None
    _LIB = lib
    _STATE.update(loaded=True, reason="")
    return lib


def status() -> dict:
    """``loaded`` (True, False: not tried, None: failed), ``reason``, ``compiled`` (by this process),
    ``compile_seconds`` and the library ``path``."""
    return dict(_STATE)


def _reset() -> None:
    """Forget the loaded library and any failure (tests)."""
    global _LIB
    _LIB = None
    _STATE.update(loaded=False, reason="not loaded yet", compile_seconds=0.0, compiled=False, path=None)
