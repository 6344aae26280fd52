"""Errors a job reports: one code from the protocol's list, a message, a hint a person can act on.

``classify`` turns any exception raised while a job runs into a ``JobError`` — the single place
where library exceptions (a missing model, a bad mesh, an out-of-memory GPU, no person in the
video) are mapped onto the protocol's codes.
"""

from __future__ import annotations

import errno

from ..portable.protocol import ERROR_CODES, EXIT_BAD_REQUEST, EXIT_CRASH

BAD_REQUEST_CODES = {"MODEL_NOT_FOUND", "NO_GPU", "BAD_MESH", "BAD_PROMPT", "BAD_REQUEST",
                     "PROTOCOL_MISMATCH", "JOB_BUSY", "CUDA_OOM", "NO_PERSON",
                     "BAD_OUT", "DISK_FULL"}
"""Codes that mean the request cannot run as asked here — another preset, seed, prompt, model
or object is needed (exit code 2); ``INTERNAL`` is a crash (1)."""


DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)})
"""``OSError`` numbers of a full drive (no space left, disk quota exceeded)."""


class JobError(Exception):
    """A failure with a protocol error code; ``str()`` is the message."""

    def __init__(self, code: str, message: str, hint: str | None = None):
        if code not in ERROR_CODES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.message = message
        self.hint = ERROR_CODES[code] if hint is None else hint
        super().__init__(message)

    @property
    def exit_code(self) -> int:
        return EXIT_BAD_REQUEST if self.code in BAD_REQUEST_CODES else EXIT_CRASH


class Cancelled(Exception):
    """The job was asked to stop; raised at a step boundary."""


def classify(exc: BaseException) -> JobError:
    """The ``JobError`` for ``exc`` (``INTERNAL`` when nothing more specific fits)."""
    if isinstance(exc, JobError):
        return exc
    # imported here: these modules pull in torch / trimesh, this one must stay light
    from ..anchor.object_prompt import NoObjectError
    from ..hub import ModelNotFoundError
    from ..keypoints.base import NoPersonFoundError
    from ..objects.extract import NoSurfaceError
    from ..objects.mesh_io import MeshError

    if isinstance(exc, ModelNotFoundError):
        return JobError("MODEL_NOT_FOUND", f"Model {exc.model_id!r} could not be loaded: "
                        f"{exc.reason}.", f"{exc.remedy} Set it in the add-on preferences, or "
                        "with --image-model / --video-model / --detector.")
    if isinstance(exc, NoSurfaceError):  # the generated object came out empty (or solid)
        return JobError("BAD_MESH", str(exc), "Try another seed, name the object more plainly "
                        "(--object-prompt, or the panel's Object Prompt), or give a mesh "
                        "(--object, or pick one in the scene).")
    if isinstance(exc, MeshError):
        return JobError("BAD_MESH", str(exc))
    if isinstance(exc, NoObjectError):
        return JobError("BAD_PROMPT", str(exc), NoObjectError.hint)
    if isinstance(exc, NoPersonFoundError):
        return JobError("NO_PERSON", exc.message + ".", exc.hint[:1].upper() + exc.hint[1:] + ".")
    if isinstance(exc, OSError) and exc.errno in DISK_FULL_ERRNOS:
        return JobError("DISK_FULL", f"The drive is full: {exc}.")
    if _is_cuda_oom(exc):
        return JobError("CUDA_OOM", f"The GPU ran out of memory: {str(exc).splitlines()[0]}")
    return JobError("INTERNAL", f"{type(exc).__name__}: {exc}")


def _is_cuda_oom(exc: BaseException) -> bool:
    import torch

    if isinstance(exc, torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and "CUDA out of memory" in str(exc)
