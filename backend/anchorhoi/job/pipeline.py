"""``run_job``: one generation job, stage by stage, resumable, reporting as it goes.

Order of events: validate the request → create the job folder, ``request.json`` → pick device
and models, ``NO_GPU`` / ``MODEL_NOT_FOUND`` / ``CUDA_OOM`` (the memory budget) up front →
``accepted`` → for each stage: skip it when ``state.json`` lists it with the fingerprint of its
current inputs, else clear it (and every later stage) and run it, metering time and peak
memory → ``result.json`` at the job root.

A stage's fingerprint chains the previous one's, so changed inputs rerun that stage and the
ones after it. Every random draw of a stage comes from a generator seeded by (seed, stage), so a
resumed job gives the same result as an uninterrupted one.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

from ..anchor.output import AnchorOutput
from ..objects.mesh_io import UNIT_GUESS
from ..portable.arrays import atomic_write, write_text_atomic
from ..portable.result_v1 import MOTION_NPZ, RESULT_JSON
from .context import StageContext
from .errors import Cancelled, JobError, classify
from .folder import JobFolder, JobLog, file_digest, fingerprint
from .memory import MemoryProbe, check_memory, probe_from_env
from .models import choose_models, ensure_tiny_models, preflight
from .object_copy import copy_object
from .ownership import listing, own_dir
from .presets import JobPreset, job_preset
from .reporting import Progress, Reporter
from .request import GenerateRequest, validate
from .resources import StageMeter, stage_threads, torch_threads
from .stages import STAGES

log = logging.getLogger(__name__)

CODE_VERSION = "2"
"""Bumped when a stage's outputs change meaning, so old job folders rerun instead of resuming."""


@dataclass
class JobOutcome:
    result_json: Path
    timings: dict[str, dict[str, float]]
    resumed: list[str] = field(default_factory=list)


def resolve_device(request: GenerateRequest) -> str:
    import torch

    cuda = torch.cuda.is_available()
    if request.device == "cuda" and not cuda:
        raise JobError("NO_GPU", "The device is set to CUDA but torch sees no CUDA GPU "
                       f"(torch {torch.__version__}, CUDA build: {torch.version.cuda}).")
    if request.device == "auto":
        return "cuda" if cuda else "cpu"
    return request.device


def check_device(device: str, preset: JobPreset, requested: str) -> list[str]:
    """``NO_GPU`` up front for a GPU preset without a GPU, unless CPU was asked for explicitly
    (then a warning: expect hours)."""
    if device != "cpu" or not preset.gpu:
        return []
    if requested == "auto":
        raise JobError("NO_GPU", f"No CUDA GPU found, and preset {preset.name!r} needs one.",
                       "Only the 'tiny' preset (a pipeline check) is practical on a CPU; choose "
                       "it, or force --device cpu if you really mean to wait for hours.")
    return [f"preset {preset.name!r} on the CPU will take many hours; only 'tiny' is "
            "practical without a GPU"]


def run_job(request: GenerateRequest, reporter: Reporter, cancel: threading.Event | None = None,
            *, memory: MemoryProbe | None = None) -> JobOutcome:
    """Run (or resume) the job; raises ``JobError`` or ``Cancelled``. ``memory``: where the
    pre-flight reads free GPU and host memory (None: the machine's own probes)."""
    cancel = cancel or threading.Event()
    memory = memory or probe_from_env()
    request = validate(request)
    folder = JobFolder(request.job_dir).create()
    with folder.exclusive(), JobLog(folder):
        try:
            return _run(request, folder, reporter, cancel, memory)
        except Cancelled:
            log.info("cancelled; finished stages stay in %s", folder.root)
            raise
        except JobError as exc:  # the caller reports it; the log file keeps it too
            log.info("failed: %s: %s", exc.code, exc.message)
            raise
        except BaseException as exc:
            err = classify(exc)
            if err.code == "INTERNAL":
                log.exception("job failed")
            else:  # a failure with a hint: the traceback goes to log.txt only
                log.info("job failed: %s", err.code, exc_info=True)
            raise err from exc


def _run(request: GenerateRequest, folder: JobFolder, reporter: Reporter,
         cancel: threading.Event, memory: MemoryProbe) -> JobOutcome:
    preset = job_preset(request.preset)
    progress = Progress(reporter, cancel)  # checked between the set-up steps too
    request = _with_object_copy(request, folder)
    folder.write_json("request.json", request.to_json())
    words = _object_words(request)  # BAD_PROMPT now when there is nothing to generate
    progress.check()
    choice = choose_models(request)
    ensure_tiny_models(choice)
    progress.check()
    notes = preflight(choice, request)
    device = resolve_device(request)
    notes += check_device(device, preset, request.device)
    # CUDA_OOM now, not an hour in: the budget of this preset with these models (memory.py)
    notes += check_memory(preset, device=device, image=choice.image, video=choice.video,
                          frames=request.frames or preset.frames,
                          fps=float(request.fps or preset.fps), probe=memory)
    ctx = StageContext(request=request, preset=preset, models=choice, folder=folder,
                       device=device, progress=progress)
    notes += _object_notes(ctx, words)
    progress.check()
    fps = _fingerprints(ctx)
    folder.write_json("config.json", ctx.resolved_config())
    # a prefix of complete stages whose outputs read back is kept; the first other one reruns,
    # with all after it
    resumed = _resumable(ctx, fps, notes)
    for note in notes:
        log.warning("%s", note)
    reporter.emit("accepted", job=str(folder.root), stages=[s.name for s in STAGES],
                  resumed=resumed, device=device, notes=notes, object_prompt=ctx.object_prompt)
    timings: dict[str, dict[str, float]] = {}
    state = folder.read_state()
    for index, stage in enumerate(STAGES):
        if stage.name in resumed:  # its output was loaded by _resumable
            timings[stage.name] = {k: v for k, v in state[stage.name].items()
                                   if k not in ("fingerprint", "files")} | {"resumed": True}
            continue
        if index == len(resumed):  # the first stage to run: clear it and everything after it
            _withdraw_result(folder.root)
            folder.forget_from([s.name for s in STAGES[index:]],
                               {s.name: s.files for s in STAGES[index:]})
        reporter.emit("stage", stage=stage.name, index=index, count=len(STAGES),
                      label=stage.label)
        ctx.progress.begin(stage.name)
        out_dir = own_dir(folder.root, stage.name)
        strangers = listing(out_dir)  # files the job did not write: never recorded as its own
        with StageMeter(device) as meter, torch_threads(stage_threads(device, preset.gpu)):
            ctx.outputs[stage.name] = stage.run(ctx, out_dir)
        for path in stage.output.previews(out_dir):
            ctx.progress.preview(path)
        _release_memory(device)  # the stage's models are gone: hand their VRAM to the next
        timings[stage.name] = meter.record()
        written = sorted((listing(out_dir) - strangers) | set(stage.files) & listing(out_dir))
        folder.mark_complete(stage.name, fps[stage.name], timings[stage.name] | {
            "files": written})
        log.info("stage %s done in %.1f s (peak RSS %.0f MB)", stage.name,
                 meter.seconds, meter.peak_rss_mb)
        ctx.progress.check()
    result = _publish_result(ctx, timings)
    return JobOutcome(result_json=result, timings=timings, resumed=resumed)


def is_finished(request: GenerateRequest) -> bool:
    """Whether the request's job folder holds its result: ``result.json`` and every stage
    complete with the fingerprint of the request's current inputs, so a run would compute
    nothing (``anchorhoi batch`` skips such a job). Reads only; the object's digest is taken
    from the request's own file, which the job's copy equals while it is unchanged."""
    request = validate(request)
    folder = JobFolder(request.job_dir)
    if not (folder.root / RESULT_JSON).is_file():
        return False
    ctx = StageContext(request=request, preset=job_preset(request.preset),
                       models=choose_models(request), folder=folder, device="cpu",
                       progress=Progress(_Unheard(), threading.Event()))
    fps = _fingerprints(ctx)
    return all(folder.is_complete(stage.name, fps[stage.name]) for stage in STAGES)


class _Unheard:
    def emit(self, type_: str, **data: object) -> None:
        return None
def _object_words(request: GenerateRequest) -> str | None:
    """The words of the object to generate (None: the user gave the mesh); ``BAD_PROMPT``
    when the prompt names no object and no object prompt was given: with nothing to generate
    the job stops before any model is loaded (choosing no object instead would make an
    interaction without its object)."""
    if request.object is not None:
        return None
    from ..anchor.object_prompt import NoObjectError, resolve_object_prompt

    try:
        return resolve_object_prompt(request.prompt, request.object_prompt)
    except NoObjectError as exc:
        raise JobError("BAD_PROMPT", f"The prompt '{request.prompt}' names no object to "
                       "generate, and no object mesh was given.", exc.hint) from None


def _object_notes(ctx: StageContext, words: str | None) -> list[str]:
    """The user's mesh loaded (a bad one fails here, before any model is loaded; a guessed unit
    is shown, not hidden), or the words of the object to generate logged."""
    request = ctx.request
    if request.object is None:
        log.info("no object mesh given: stage A generates '%s'", words)
        return []
    unused = [f"the object prompt '{request.object_prompt}' is not used: the object mesh "
              f"{request.object.name} is"] if request.object_prompt else []
    return unused + [f"{request.object.name}: {c}" for c in ctx.object_mesh.corrections
                     if UNIT_GUESS in c]


def _resumable(ctx: StageContext, fps: dict[str, str], notes: list[str]) -> list[str]:
    """Names of the leading stages that ``state.json`` lists with their current fingerprint
    and whose outputs read back (loaded into ``ctx.outputs``). A listed stage whose files are
    truncated, missing or of another schema ends the prefix: it is recomputed from its inputs,
    with a note (in ``notes`` and the log)."""
    resumed: list[str] = []
    for stage in STAGES:
        if not ctx.folder.is_complete(stage.name, fps[stage.name]):
            break
        try:
            ctx.outputs[stage.name] = stage.output.load(ctx.folder.stage_dir(stage.name))
        except Exception as exc:  # truncated, missing, another schema: all mean recompute
            notes.append(f"stage {stage.name}: its saved outputs do not read back "
                         f"({type(exc).__name__}: {exc}); recomputing it")
            break
        resumed.append(stage.name)
    return resumed


def _release_memory(device: str) -> None:
    import gc

    gc.collect()
    if device == "cuda":
        import torch

        torch.cuda.empty_cache()


def _withdraw_result(root: Path) -> None:
    """Remove the job's previous result before anything it came from is recomputed, so that
    no reader takes it for the result of the current inputs (result.json first: without it
    the folder holds no result)."""
    for name in (RESULT_JSON, MOTION_NPZ):
        (root / name).unlink(missing_ok=True)


def _with_object_copy(request: GenerateRequest, folder: JobFolder) -> GenerateRequest:
    """The object file copied into ``input/`` (a job folder is self-contained and a later
    change of the user's file does not silently change a resumed job)."""
    import dataclasses

    if request.object is None:
        return request
    src = Path(request.object).resolve()
    dst = copy_object(src, own_dir(folder.root, "input"))
    return dataclasses.replace(request, object=dst)


def _fingerprints(ctx: StageContext) -> dict[str, str]:
    r = ctx.request
    obj = file_digest(r.object) if r.object is not None else None
    # a generated object is made from its words (and the seed and preset, common to all)
    common = {"code": CODE_VERSION, "preset": ctx.preset.name, "seed": r.seed,
              "body": str(r.smplx_dir) if r.smplx_dir else "procedural"}
    inputs = {
        "anchor": {"prompt": r.prompt, "object": obj, "image": ctx.models.image,
                   **({"object_prompt": ctx.object_prompt} if r.object is None else {})},
        "video": {"frames": ctx.frames, "fps": ctx.fps, "video": ctx.models.video},
        "keypoints": {"detector": ctx.models.detector},
        "motion": {},
    }
    out, previous = {}, fingerprint(common)
    for s in STAGES:
        previous = out[s.name] = fingerprint(previous, s.name, inputs[s.name])
    return out


def _publish_result(ctx: StageContext, timings: dict[str, dict[str, float]]) -> Path:
    """Copy the motion stage's result v1 to the job root, with the job's timings, the quality
    figures and how the object maps back to the user's; ``result.json`` last."""
    src = ctx.folder.stage_dir("motion")
    doc = json.loads((src / RESULT_JSON).read_text(encoding="utf-8"))
    doc["timings"] = timings
    doc["preset"] = ctx.preset.name
    doc["device"] = ctx.device
    doc["models"] = ctx.models.to_json()
    if doc.get("object") is not None:
        doc["object"].update(ctx.object_info())
    note = ctx.output("anchor", AnchorOutput).placement_note
    doc["notes"] = [note] if note else []
    root = ctx.folder.root
    with open(src / MOTION_NPZ, "rb") as motion:  # flushed, fsynced, renamed, dir fsynced
        atomic_write(root / MOTION_NPZ, lambda fh: shutil.copyfileobj(motion, fh))
    write_text_atomic(root / RESULT_JSON, json.dumps(doc, indent=2) + "\n")
    return root / RESULT_JSON

