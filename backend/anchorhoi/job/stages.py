"""The job's four stages over the stage runners, and what each hands on to the next.

| stage | runs | folder holds |
|---|---|---|
| ``anchor`` | A (anchor NeRF) and B (body + object fit), alternated | ``anchor_nerf.safetensors``, ``key_pose.npz``, ``anchor_turntable.png``, ``fit_preview.png`` |
| ``video`` | C, the video prior conditioned on a render of the anchored composition | frames, conditioning render, ``camera.json``, preview |
| ``keypoints`` | D, anchor keypoints | ``keypoints.npz``, overlay preview |
| ``motion`` | E, the 4D motion | the result v1 (copied to the job root) |

Each stage has ``run(ctx, out_dir)`` (compute and write) and ``load(ctx)`` (read what a
previous run wrote, for a resumed job); both return the same kind of object.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from ..portable.arrays import write_text_atomic
from .folder import JobFolder
from .models import ModelChoice, hf_cache_dir
from .presets import JobPreset
from .reporting import Progress
from .request import GenerateRequest

log = logging.getLogger(__name__)

STAGE_FILE = "stage.json"
"""Small facts a stage hands on beyond its files (the video's anchor frame)."""

DEFAULT_BOX = (0.5, 0.45, 0.45)
"""Width, height, depth (m) of the box used when the request names no object."""


@dataclass
class StageContext:
    request: GenerateRequest
    preset: JobPreset
    models: ModelChoice
    folder: JobFolder
    device: str
    progress: Progress
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        return self.request.frames or self.preset.frames

    @property
    def fps(self) -> float:
        return float(self.request.fps or self.preset.fps)

    def generator(self, stage: str):
        """A generator seeded by (request seed, stage name), on the job's device."""
        import torch

        seed = (self.request.seed * 1_000_003 + zlib.crc32(stage.encode())) % 2 ** 63
        return torch.Generator(device=self.device).manual_seed(seed)

    @cached_property
    def body(self):
        from ..body import BodyModel, BodyModelConfig

        return BodyModel(BodyModelConfig(smplx_dir=self.request.smplx_dir), device=self.device)

    @cached_property
    def object_mesh(self):
        from ..objects.mesh_io import load_object_mesh

        if self.request.object is None:
            return default_box()
        return load_object_mesh(self.request.object)

    def object_info(self) -> dict[str, Any]:
        """How the result's object frame maps back to the user's object (result.json)."""
        mesh = self.object_mesh
        return {"to_user": mesh.to_user.as_matrix().tolist(), "reference_frame": 0,
                "source": None if self.request.object is None else str(self.request.object),
                "corrections": list(mesh.corrections)}

    def resolved_config(self) -> dict[str, Any]:
        import dataclasses

        def plain(x):
            if dataclasses.is_dataclass(x):
                return {f.name: plain(getattr(x, f.name)) for f in dataclasses.fields(x)}
            if isinstance(x, (list, tuple)):
                return [plain(v) for v in x]
            if isinstance(x, dict):
                return {str(k): plain(v) for k, v in x.items()}
            return x if isinstance(x, (int, float, str, bool, type(None))) else str(x)

        return {"request": self.request.to_json(), "device": self.device,
                "models": self.models.to_json(), "frames": self.frames, "fps": self.fps,
                "preset": plain(self.preset)}


def default_box():
    """``DEFAULT_BOX`` standing on y = 0, centred in x and z."""
    import trimesh

    from ..objects.mesh_io import ObjectMesh

    box = trimesh.creation.box(extents=DEFAULT_BOX)
    vertices = np.asarray(box.vertices, dtype=np.float64) + [0.0, DEFAULT_BOX[1] / 2, 0.0]
    return ObjectMesh(vertices=vertices, faces=np.asarray(box.faces, dtype=np.int64),
                      corrections=["no object given: a 0.5 × 0.45 × 0.45 m box"])


# -- the stages ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class AnchorResult:
    key_pose: Any  # anchor.key_pose.KeyPose
    object_placement: np.ndarray  # (4, 4) object frame → world at the key pose
    contact_vertices: np.ndarray  # (C,) int
    folder: Path


def run_anchor(ctx: StageContext, out_dir: Path) -> AnchorResult:
    from ..anchor.stage import run_anchor_stages
    from ..nerf.samplers import SamplerConfig, make_sampler
    from ..priors.stable_diffusion import StableDiffusionPrior, StableDiffusionPriorConfig

    prior = StableDiffusionPrior(StableDiffusionPriorConfig(
        model_id=ctx.models.image, cache_dir=hf_cache_dir(ctx.request)), device=ctx.device)
    nerf = ctx.preset.anchor.nerf
    # CUDA: nerfacc's occupancy grid (or the dense sampler, with one warning, if its CUDA ops
    # do not build); elsewhere the dense sampler — the same image either way
    sampler = make_sampler(SamplerConfig(kind="auto", box=nerf.box, dense=nerf.sampler),
                           ctx.device)
    out = run_anchor_stages(prompt=ctx.request.prompt, obj_mesh=ctx.object_mesh, body=ctx.body,
                            preset=ctx.preset.anchor, prior=prior,
                            out_dir=out_dir, generator=ctx.generator("anchor"),
                            sampler=sampler, on_step=ctx.progress, device=ctx.device)
    return AnchorResult(key_pose=out.key_pose, object_placement=out.object_placement,
                        contact_vertices=out.contact_vertices, folder=out_dir)


def load_anchor(ctx: StageContext) -> AnchorResult:
    from ..anchor.stage import read_key_pose

    folder = ctx.folder.stage_dir("anchor")
    pose, placement, contacts = read_key_pose(folder / "key_pose.npz")
    return AnchorResult(key_pose=pose, object_placement=placement, contact_vertices=contacts,
                        folder=folder)


def anchor_previews(out: AnchorResult) -> list[Path]:
    return [p for p in (out.folder / "anchor_turntable.png", out.folder / "fit_preview.png")
            if p.is_file()]


@dataclass(frozen=True)
class VideoResult:
    camera: Any  # nerf.cameras.Cameras, the video's camera
    anchor_frame: int
    folder: Path


def run_video(ctx: StageContext, out_dir: Path) -> VideoResult:
    from ..video.stage import run_video_stage

    from ..motion.presets import make_video_prior

    p = ctx.preset.motion
    prior = make_video_prior(p, model_id=ctx.models.video, device=ctx.device,
                             cache_dir=hf_cache_dir(ctx.request))
    a: AnchorResult = ctx.outputs["anchor"]
    out = run_video_stage(prompt=ctx.request.prompt, key_pose=a.key_pose,
                          obj_mesh=ctx.object_mesh, object_placement=a.object_placement,
                          body=ctx.body, preset=p, prior=prior, out_dir=out_dir,
                          generator=ctx.generator("video"), num_frames=ctx.frames, fps=ctx.fps,
                          on_step=ctx.progress, device=ctx.device)
    write_text_atomic(out_dir / STAGE_FILE, json.dumps({"anchor_frame": out.anchor_frame}))
    return VideoResult(camera=out.camera, anchor_frame=out.anchor_frame, folder=out_dir)


def load_video_result(ctx: StageContext) -> VideoResult:
    from ..nerf.cameras import from_json

    folder = ctx.folder.stage_dir("video")
    camera = from_json(json.loads((folder / "camera.json").read_text(encoding="utf-8")))
    meta = json.loads((folder / STAGE_FILE).read_text(encoding="utf-8"))
    return VideoResult(camera=camera, anchor_frame=int(meta["anchor_frame"]), folder=folder)


def video_previews(out: VideoResult) -> list[Path]:
    return [p for p in (out.folder / "conditioning.png", out.folder / "preview.gif")
            if p.is_file()]


def make_detector(name: str, device: str):
    from ..keypoints import KEYPOINT_DETECTORS
    from ..keypoints.vitpose import VitPoseDetectorConfig

    if name == "mediapipe":
        return KEYPOINT_DETECTORS["mediapipe"]()
    config = VitPoseDetectorConfig() if name == "vitpose" else VitPoseDetectorConfig(
        model_id=name)
    return KEYPOINT_DETECTORS["vitpose"](config, device=device)


@dataclass(frozen=True)
class KeypointResult:
    keypoints: np.ndarray  # (T, 55, 3) camera pixels and confidence
    folder: Path


def run_keypoints(ctx: StageContext, out_dir: Path) -> KeypointResult:
    from ..keypoints.stage import run_keypoint_stage

    v: VideoResult = ctx.outputs["video"]
    out = run_keypoint_stage(video_dir=v.folder, camera=v.camera,
                             key_pose=ctx.outputs["anchor"].key_pose, body=ctx.body,
                             anchor_frame=v.anchor_frame,
                             detector=make_detector(ctx.models.detector, ctx.device),
                             config=ctx.preset.motion.keypoints, out_dir=out_dir,
                             on_step=ctx.progress)
    return KeypointResult(keypoints=np.asarray(out.keypoints.keypoints), folder=out_dir)


def load_keypoint_result(ctx: StageContext) -> KeypointResult:
    from ..keypoints.stage import load_keypoints

    folder = ctx.folder.stage_dir("keypoints")
    return KeypointResult(keypoints=load_keypoints(folder / "keypoints.npz"), folder=folder)


def keypoint_previews(out: KeypointResult) -> list[Path]:
    return sorted(p for p in out.folder.iterdir() if p.suffix in (".png", ".gif"))


@dataclass(frozen=True)
class MotionStageResult:
    folder: Path


def run_motion(ctx: StageContext, out_dir: Path) -> MotionStageResult:
    from ..motion.stage import run_motion_stage
    from ..portable.result_v1 import ResultInfo

    a: AnchorResult = ctx.outputs["anchor"]
    v: VideoResult = ctx.outputs["video"]
    name = ctx.request.object_name or "Object"
    run_motion_stage(keypoints=ctx.outputs["keypoints"].keypoints, camera=v.camera,
                     key_pose=a.key_pose, anchor_frame=v.anchor_frame, obj_mesh=ctx.object_mesh,
                     object_placement=a.object_placement, body=ctx.body,
                     config=ctx.preset.motion.motion, fps=ctx.fps, out_dir=out_dir,
                     generator=ctx.generator("motion"), on_step=ctx.progress,
                     info=ResultInfo(prompt=ctx.request.prompt, seed=ctx.request.seed,
                                     object_name=name),
                     name=_clip_name(ctx.request.prompt), object_name=name)
    return MotionStageResult(folder=out_dir)


def _clip_name(prompt: str) -> str:
    words = [w.strip(".,;:!?\"'") for w in prompt.split()]
    return "_".join(w for w in words if w)[:48] or "AnchorHOI"


@dataclass(frozen=True)
class Stage:
    name: str
    label: str
    run: Callable[[StageContext, Path], Any]
    load: Callable[[StageContext], Any]
    previews: Callable[[Any], list[Path]]


STAGES: tuple[Stage, ...] = (
    Stage("anchor", "Anchor NeRF and body fit", run_anchor, load_anchor, anchor_previews),
    Stage("video", "Video prior", run_video, load_video_result, video_previews),
    Stage("keypoints", "Anchor keypoints", run_keypoints, load_keypoint_result,
          keypoint_previews),
    Stage("motion", "4D motion", run_motion, lambda ctx: MotionStageResult(
        ctx.folder.stage_dir("motion")), lambda out: []),
)
