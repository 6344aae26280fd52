"""Ray for a batch: an embedded instance on this machine, or an existing cluster.

* **Embedded** (no ``--ray``): a Ray instance started by the command and stopped after it,
  listening on 127.0.0.1 only (Ray replaces a loopback node address with the machine's outward
  one unless ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` is set before it is imported: then every
  server binds to the loopback), without a dashboard, with the machine's CPUs and GPUs.
* **A cluster** (``--ray ADDRESS`` or ``auto``): the address is tried with a plain TCP connect
  first, so an unreachable head answers in seconds, before any job folder is touched.
* **Already connected** (a script or test that called ``ray.init``): used as it is, left
  running.

Each job asks Ray for what its preset needs: one CPU, ``--gpus-per-job`` GPUs for a GPU preset
and the host memory of its budget (``job/memory.py``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..job.errors import JobError

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 3.0
"""How long the TCP check of a ``--ray host:port`` address waits."""
DEFAULT_RAY_PORT = 6379
"""The head's port when ``--ray`` names a host only (``ray start --head``'s default)."""
LOOPBACK_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Set to ``0`` before Ray is imported: the node address stays 127.0.0.1 (Ray 2.60)."""
SHARED_FILESYSTEMS = ("nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "lustre", "gpfs",
                      "beegfs", "glusterfs", "fuse.glusterfs", "fuse.sshfs", "fuse.s3fs",
                      "fuse.juicefs", "fuse.cephfs", "9p", "virtiofs", "afs", "panfs", "wekafs")
"""File system types that other machines can mount too."""
INSTALL_HINT = 'pip install -e ".[batch]"  (Ray core only; not ray[default])'


@dataclass(frozen=True, kw_only=True)
class RaySettings:
    """How the batch reaches Ray."""

    address: str | None = None
    """``None``: an embedded local instance; ``auto`` or ``host:port``: an existing cluster."""
    temp_dir: Path | None = None
    """The embedded instance's session folder (None: Ray's default, ``$RAY_TMPDIR`` or
    ``/tmp/ray``); keep it short, Unix socket paths are limited to about 107 bytes."""


def import_ray() -> Any:
    """The ``ray`` module, or ``JobError(BAD_REQUEST)`` saying how to install it."""
    try:
        import ray
    except ImportError:
        raise JobError("BAD_REQUEST", "anchorhoi batch needs Ray, which is not installed in "
                       "this environment.", f"Install it with: {INSTALL_HINT}") from None
    return ray


def check_reachable(address: str) -> None:
    """A TCP connect to ``host:port`` within ``CONNECT_TIMEOUT_S``; ``JobError`` otherwise
    (``auto`` and ``ray://`` addresses are left to Ray)."""
    if address == "auto" or "://" in address:
        return
    host, _, port_text = address.rpartition(":") if ":" in address else (address, "", "")
    host = host.strip("[]") or address
    try:
        port = int(port_text) if port_text else DEFAULT_RAY_PORT
    except ValueError:
        raise JobError("BAD_REQUEST", f"--ray {address!r} is not an address.",
                       "Give the head's host:port (e.g. 10.0.0.5:6379, as `ray start --head` "
                       "prints it), auto, or leave --ray out for Ray on this machine.") from None
    try:
        with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT_S):
            pass
    except OSError as exc:
        raise JobError("BAD_REQUEST", f"Cannot reach the Ray cluster at {host}:{port} "
                       f"({exc.strerror or type(exc).__name__}); nothing was run.",
                       "Start the head with `ray start --head --port=6379` on that machine and "
                       "check the address and firewall, or leave --ray out to run on this "
                       "machine.") from None


@contextlib.contextmanager
def ray_session(settings: RaySettings, *, num_cpus: int | None = None) -> Iterator[Any]:
    """Ray connected for the block (the ``ray`` module); the embedded instance is stopped after
    it, a cluster is left running."""
    if settings.address is None:
        os.environ.setdefault(LOOPBACK_ONLY_ENV, "0")  # read when ray is first imported
    else:
        check_reachable(settings.address)
    ray = import_ray()
    if ray.is_initialized():  # the caller's own connection
        yield ray
        return
    quiet = {"log_to_driver": False, "logging_level": logging.WARNING}
    try:
        if settings.address is None:
            ray.init(include_dashboard=False, num_cpus=num_cpus or os.cpu_count() or 1,
                     _node_ip_address="127.0.0.1", _temp_dir=_str(settings.temp_dir), **quiet)
        else:
            ray.init(address=settings.address, **quiet)
    except (ConnectionError, TimeoutError, RuntimeError, ValueError) as exc:
        where = "a local Ray instance" if settings.address is None else \
            f"the Ray cluster at {settings.address}"
        raise JobError("BAD_REQUEST", f"Could not start or join {where}: "
                       f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}.",
                       "Check `ray status` on the head (for --ray) or that no other Ray "
                       "instance holds this machine's ports; nothing was run.") from None
    try:
        yield ray
    finally:
        ray.shutdown()


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def job_resources(preset_gpu: bool, host_gib: float, gpus_per_job: float) -> dict[str, float]:
    """What one job asks Ray for: a CPU, its GPUs (a GPU preset) and its host memory."""
    return {"num_cpus": 1.0, "num_gpus": gpus_per_job if preset_gpu else 0.0,
            "memory": float(int(host_gib * 1024 ** 3))}


def capacity(total: dict[str, float], ask: dict[str, float]) -> int:
    """How many jobs asking ``ask`` fit at once into the cluster's ``total`` resources."""
    names = {"num_cpus": "CPU", "num_gpus": "GPU", "memory": "memory"}
    fits = [int(total.get(names[k], 0.0) // v) for k, v in ask.items() if v > 0]
    return max(0, min(fits)) if fits else 1


def storage_note(out_dir: Path, nodes: list[dict[str, Any]]) -> str | None:
    """A warning when the batch folder may not be seen by every node of the cluster (under a
    temporary folder, on a local file system, or one whose kind cannot be read); None on a
    shared file system."""
    path = Path(os.path.abspath(out_dir))
    kind = filesystem_type(path)
    temporary = any(str(path).startswith(p) for p in ("/tmp/", "/var/tmp/", "/dev/shm/"))
    if kind is not None and kind.lower() in SHARED_FILESYSTEMS and not temporary:
        return None
    alive = sum(1 for n in nodes if n.get("Alive", True))
    what = "under a temporary folder" if temporary else (
        f"on a {kind} file system" if kind else "on storage whose kind cannot be read here")
    return (f"the batch folder {path} is {what}; every job writes its folder there from the "
            "node that runs it, so on a cluster it must be shared storage that each node mounts "
            "at the same path (NFS, CephFS, …)" + (
                f": the cluster has {alive} nodes" if alive > 1 else
                ": fine only while every job runs on this machine"))


def filesystem_type(path: Path, mounts: Path = Path("/proc/mounts")) -> str | None:
    """The type of the file system holding ``path`` (the longest mount point above it), None
    where ``/proc/mounts`` cannot be read."""
    try:
        lines = mounts.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    best, kind = "", None
    target = str(path)
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        point = parts[1].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= len(best):
            best, kind = point, parts[2]
    return kind
