"""Checkpoint and run-file I/O of the trainer: atomic writes, safe reads, RNG states.

* Every file is written atomically: the data go to a temporary file in the
  target directory, which is flushed, ``fsync``-ed and renamed over the
  target with :func:`os.replace`, so a reader sees the old or the complete new
  file, never a part (:func:`atomic_write_bytes`, :func:`atomic_torch_save`,
  :func:`atomic_copy`).
* Checkpoints hold only tensors and plain data and are read with
  ``torch.load(..., weights_only=True)`` (:func:`read_checkpoint`), so
  loading never runs pickled code.
* The global RNG states (python, numpy, torch, CUDA) are stored as tensors
  and plain numbers (:func:`rng_state`, :func:`set_rng_state`).
* :func:`check_weights_fit` turns a ``load_state_dict`` failure into an error
  that names the checkpoint's model and this one.

Examples
--------
>>> import os, tempfile, torch
>>> path = os.path.join(tempfile.mkdtemp(), "w.pt")
>>> atomic_torch_save({"format": CHECKPOINT_FORMAT, "version": CHECKPOINT_VERSION, "x": torch.ones(2)}, path)
>>> read_checkpoint(path)["x"].tolist()
[1.0, 1.0]
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from typing import Any, Callable

import numpy as np
import torch

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_torch_save",
    "atomic_copy",
    "read_checkpoint",
    "rng_state",
    "set_rng_state",
    "seed_everything",
    "check_jsonable",
    "check_weights_fit",
    "describe_model",
]

CHECKPOINT_FORMAT = "mgcore-train-checkpoint"
CHECKPOINT_VERSION = 1


def _fsync_dir(directory: str) -> None:
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        dfd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def atomic_write(path, write: Callable[[Any], None]) -> None:
    """Call ``write(fh)`` on a temporary binary file and rename it over ``path``.

    The temporary file lies in the directory of ``path`` (created if
    missing), is flushed and ``fsync``-ed, gets the mode a plain ``open``
    would give (or the mode of the existing file) and is renamed with
    :func:`os.replace`; the directory is ``fsync``-ed where the platform
    allows.  On any error the temporary file is removed and the error
    propagates; an existing ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Target file.
    write : callable
        ``write(fh)`` writes the contents to the open binary file ``fh``.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    # mkstemp creates the file with mode 0600: give it the mode a plain open() would
    if os.path.exists(path):
        mode = os.stat(path).st_mode & 0o777
    else:
        umask = os.umask(0)
        os.umask(umask)
        mode = 0o666 & ~umask
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            if hasattr(os, "fchmod"):
                os.fchmod(fh.fileno(), mode)
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_dir(directory)


def atomic_write_bytes(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`)."""
    atomic_write(path, lambda fh: fh.write(data))


def atomic_write_text(path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_torch_save(obj: Any, path) -> None:
    """``torch.save(obj, path)`` so that ``path`` is either the old or the complete new file.

    Parameters
    ----------
    obj : object
        What to save (for checkpoints: only tensors and plain data).
    path : str or os.PathLike
        Target file; its directory is created if missing.
    """
    atomic_write(path, lambda fh: torch.save(obj, fh))


def atomic_copy(src, dst) -> None:
    """Copy the file ``src`` to ``dst`` atomically."""
    with open(src, "rb") as fin:
        atomic_write(dst, lambda fh: shutil.copyfileobj(fin, fh, 1 << 20))


def read_checkpoint(path, map_location=None) -> dict:
    """Read a trainer checkpoint safely (``torch.load(..., weights_only=True)``).

    Only tensors and plain containers/numbers/strings are accepted; a file
    holding any other pickled object (e.g. an instance of a custom class) is
    rejected by torch's restricted unpickler.

    Parameters
    ----------
    path : str or os.PathLike
        Checkpoint file.
    map_location : optional
        Passed to :func:`torch.load`.

    Returns
    -------
    dict
        The checkpoint contents.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not a trainer checkpoint or contains disallowed objects.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError / RuntimeError
        raise ValueError(
            f"{path!r} is not a loadable checkpoint (only tensors and plain data are accepted "
            f"with weights_only=True): {exc}"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(f"{path!r} is not an mgcore trainer checkpoint (missing format={CHECKPOINT_FORMAT!r})")
    if ckpt.get("version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path!r}: unsupported checkpoint version {ckpt.get('version')!r}")
    return ckpt


def rng_state() -> dict:
    """All global RNG states (python, numpy, torch, initialised CUDA) as tensors and plain numbers."""
    _, keys, pos, has_gauss, cached = np.random.get_state()
    py_version, py_state, py_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached_gaussian": float(cached),
        },
        "python": {
            "version": int(py_version),
            "state": torch.tensor(py_state, dtype=torch.int64),
            "gauss_next": None if py_gauss is None else float(py_gauss),
        },
        "cuda": [],
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.cpu() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict) -> None:
    """Restore the states saved by :func:`rng_state`."""
    torch.set_rng_state(state["torch"].cpu().to(torch.uint8))
    npst = state["numpy"]
    np.random.set_state(
        ("MT19937", npst["keys"].cpu().numpy().astype(np.uint32), npst["pos"], npst["has_gauss"],
         npst["cached_gaussian"])
    )
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss_next"]))
    cuda = state.get("cuda") or []
    if cuda and torch.cuda.is_available() and len(cuda) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([s.cpu().to(torch.uint8) for s in cuda])


def seed_everything(seed: int) -> None:
    """Seed python's, numpy's and torch's global RNGs."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def check_jsonable(config: dict, argname: str = "config") -> dict:
    """A JSON round trip of ``config``; TypeError naming ``argname`` if it is not plain data."""
    try:
        return json.loads(json.dumps(config, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{argname} must be plain JSON-able data (dict/list/str/int/float/bool/None): {exc}") from exc


def describe_model(config: dict | None, fallback: str = "?") -> str:
    """The model named in a checkpoint/trainer config, for messages.

    Examples
    --------
    >>> print(describe_model({"user": {"model": "mgnet-small", "model_args": {"channels": 16}},
    ...                       "model_class": "MgNet", "parameters": 23714}))
    'mgnet-small' {"channels": 16} (MgNet, 23,714 parameters)
    """
    config = config or {}
    user = config.get("user") or {}
    name = user.get("model")
    margs = user.get("model_args") or {}
    cls = config.get("model_class")
    params = config.get("parameters")
    head = f"{name!r}" if name else (cls or fallback)
    if name and margs:
        head += f" {json.dumps(margs, sort_keys=True)}"
    extra = [cls] if name and cls else []
    if isinstance(params, int):
        extra.append(f"{params:,} parameters")
    return head + (f" ({', '.join(extra)})" if extra else "")


def check_weights_fit(model: torch.nn.Module, state: dict, *, path: str, theirs: dict | None,
                      mine: dict | None) -> None:
    """Raise a ValueError naming both models when ``state`` does not fit ``model``.

    Compares the parameter and buffer names and shapes before any weight is
    copied; the message gives the model named in the checkpoint's config and
    this one, and a few of the differences.

    Parameters
    ----------
    model : torch.nn.Module
        The model about to receive the weights.
    state : dict
        The checkpoint's ``model`` state dict.
    path : str
        Checkpoint file (for the message).
    theirs, mine : dict, optional
        The checkpoint's and this trainer's configs (see :func:`describe_model`).

    Examples
    --------
    >>> import torch
    >>> try:
    ...     check_weights_fit(torch.nn.Linear(2, 3), torch.nn.Linear(2, 4).state_dict(), path="c.pt",
    ...                       theirs={"user": {"model": "a"}}, mine={"user": {"model": "b"}})
    ... except ValueError as exc:
    ...     print(str(exc)[:60])
    checkpoint 'c.pt' holds the weights of 'a', which do not fit
    """
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and hasattr(state[k], "shape") and tuple(state[k].shape) != tuple(own[k].shape)]
    if not (missing or unexpected or shapes):
        return
    details = []
    for what, items in (("missing in the checkpoint", missing), ("not in this model", unexpected),
                        ("shape mismatch", shapes)):
        if items:
            more = f" and {len(items) - 3} more" if len(items) > 3 else ""
            details.append(f"{what}: {', '.join(items[:3])}{more}")
    raise ValueError(
        f"checkpoint {path!r} holds the weights of {describe_model(theirs)}, which do not fit this model "
        f"{describe_model(mine)}; " + "; ".join(details)
        + ". Use the checkpoint's --model/--model-args, or another --checkpoint/--out"
    )
