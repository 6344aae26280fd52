"""What a batch has to run, decided before Ray starts: which jobs already hold their result
(skipped: ``job/pipeline.is_finished``, by the stages' fingerprints) and what each of the others
asks Ray for (its preset's memory budget, ``job/memory.py``).

Importing this module loads the job's stack (torch, the presets): the command does it after
the requests and the ``--ray`` address were checked, so those refusals come at once.
"""

from __future__ import annotations

from ..job.memory import budget
from ..job.presets import job_preset
from ..job.request import GenerateRequest
from .cluster import job_resources


def job_ask(request: GenerateRequest, gpus_per_job: float) -> dict[str, float]:
    """What ``request`` asks Ray for: one CPU; ``gpus_per_job`` GPUs for a GPU preset not
    forced onto the CPU; its preset's host memory budget (none for a model whose size is not
    known here)."""
    preset = job_preset(request.preset)
    models = request.models
    kwargs = {k: models[k] for k in ("image", "video") if models.get(k)}
    need = budget(preset, frames=request.frames, fps=request.fps, **kwargs)
    host = 0.0 if need is None else need.host
    return job_resources(preset.gpu and request.device != "cpu", host, gpus_per_job)
