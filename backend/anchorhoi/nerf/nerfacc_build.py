"""nerfacc's CUDA ops: where torch builds them, whether a finished build is there, stale build
locks, and the build itself — which happens in ``anchorhoi doctor`` (and the add-on's one-click
set-up, which runs it), never inside a job.

nerfacc 0.5.3 JIT-compiles its CUDA code the first time ``nerfacc.cuda._backend`` is imported
(minutes). torch guards the build with a ``lock`` file in the build folder; a build killed
mid-way (a cancelled job, a closed terminal) leaves that file behind, and every later import
waits on it forever — even one that only loads a finished build. So:

- a job loads only a finished build (``load_built``) and otherwise renders with the dense
  sampler (``nerf/samplers.py`` ``make_sampler`` warns once);
- ``build`` (the doctor) writes its pid beside the lock while it builds; a lock whose builder
  is gone, or an anonymous lock older than ``STALE_AFTER_S``, is stale and removed (and
  reported) before anything waits on it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

EXTENSION = "nerfacc_cuda"
"""The name nerfacc builds its extension under (torch's build folder is named after it)."""
LOCK = "lock"
"""torch's build lock (``torch.utils.file_baton.FileBaton``) inside the build folder."""
OWNER = "anchorhoi_build.json"
"""Written by ``build`` beside the lock while it builds: ``{"pid": int, "started": float}``."""
STALE_AFTER_S = 3600.0
"""A lock nobody claims is stale once it is this old (a real build takes minutes)."""


class NerfaccUnavailable(RuntimeError):
    """nerfacc's CUDA ops cannot be used in this process (the message says why and what to do)."""


@dataclass(frozen=True, kw_only=True)
class BuildReport:
    """What ``build`` found and did."""

    ready: bool
    """nerfacc's CUDA ops loaded: jobs use the occupancy-grid sampler."""
    detail: str
    """One line for the doctor's report (why not, when not ready)."""
    cleared_lock: Path | None
    """The stale lock that was removed first, if any."""


def build_directory() -> Path:
    """torch's build folder for nerfacc (``TORCH_EXTENSIONS_DIR`` honoured, as nerfacc does)."""
    from torch.utils.cpp_extension import _get_build_directory

    return Path(_get_build_directory(EXTENSION, verbose=False))


def prebuilt() -> bool:
    """nerfacc was installed with its CUDA code compiled (a wheel or ``setup.py`` build)."""
    return importlib.util.find_spec("nerfacc.csrc") is not None


def is_built(folder: Path) -> bool:
    """A finished JIT build (the compiled library) is in ``folder``."""
    return any(folder.glob(f"{EXTENSION}*.so")) or any(folder.glob(f"{EXTENSION}*.pyd"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def stale_lock(folder: Path, *, now: float | None = None,
               stale_after_s: float = STALE_AFTER_S) -> Path | None:
    """The build lock in ``folder`` if it is stale: its builder (``OWNER``) is no longer
    running, or nobody claims it and it is older than ``stale_after_s``."""
    lock = folder / LOCK
    if not lock.exists():
        return None
    try:
        pid = int(json.loads((folder / OWNER).read_text(encoding="utf-8"))["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        pid = None
    if pid is not None:
        return None if _alive(pid) else lock
    now = time.time() if now is None else now
    return lock if now - lock.stat().st_mtime > stale_after_s else None


def clear_stale_lock(folder: Path, *, now: float | None = None,
                     stale_after_s: float = STALE_AFTER_S) -> Path | None:
    """Remove a stale build lock (and its owner note) from ``folder``; the removed lock, logged
    as a warning, or None."""
    lock = stale_lock(folder, now=now, stale_after_s=stale_after_s)
    if lock is None:
        return None
    lock.unlink(missing_ok=True)
    (folder / OWNER).unlink(missing_ok=True)
    log.warning("removed a stale nerfacc build lock left by an interrupted build: %s", lock)
    return lock


def _import_backend() -> None:
    """Import nerfacc's CUDA backend (building it when no build is there). nerfacc reports its
    build through ``rich`` on stdout, which belongs to the process protocol: sent to stderr."""
    with contextlib.redirect_stdout(sys.stderr):
        from nerfacc.cuda._backend import _C
    if _C is None:
        raise NerfaccUnavailable("nerfacc found no CUDA toolkit (nvcc), so its CUDA ops are "
                                 "disabled; install the CUDA toolkit matching torch")


def load_built() -> None:
    """Load nerfacc's CUDA ops inside a job: only a finished build, never a build (minutes) and
    never a wait on a build lock. Raise ``NerfaccUnavailable`` otherwise."""
    if not prebuilt():
        folder = build_directory()
        clear_stale_lock(folder)
        if (folder / LOCK).exists():
            raise NerfaccUnavailable(f"nerfacc's CUDA ops are being built by another process "
                                     f"(lock {folder / LOCK}); let 'anchorhoi doctor' finish")
        if not is_built(folder):
            raise NerfaccUnavailable("nerfacc's CUDA ops are not built on this machine; run "
                                     "'anchorhoi doctor' once to build them (a few minutes)")
    _import_backend()


def build() -> BuildReport:
    """Build (or load) nerfacc's CUDA ops, for ``anchorhoi doctor``: a stale lock is cleared
    first; the build is claimed with this process's pid so a killed build is recognised."""
    import torch

    if torch.version.cuda is None:
        return BuildReport(ready=False, cleared_lock=None,
                           detail="torch is a CPU build: nerfacc's CUDA ops cannot be built")
    folder = build_directory()
    cleared = clear_stale_lock(folder)
    if (folder / LOCK).exists():
        return BuildReport(ready=False, cleared_lock=cleared,
                           detail=f"another process is building them now (lock {folder / LOCK})")
    owner = folder / OWNER
    if not prebuilt() and not is_built(folder):
        log.info("building nerfacc's CUDA ops in %s (a few minutes, once)", folder)
        owner.write_text(json.dumps({"pid": os.getpid(), "started": time.time()}),
                         encoding="utf-8")
    try:
        _import_backend()
    except Exception as exc:  # a failed JIT build raises anything from ImportError to OSError
        return BuildReport(ready=False, cleared_lock=cleared,
                           detail=f"build failed ({type(exc).__name__}: {exc})")
    finally:
        owner.unlink(missing_ok=True)
    return BuildReport(ready=True, cleared_lock=cleared, detail="ok")
