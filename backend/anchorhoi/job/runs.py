"""Each stage run over the job's context: build the stage's models through their package's
registry, hand over the previous stages' outputs, call the stage runner.

The video prior and the detector are built here, inside their stage, so their memory is given
back before the next stage loads its own.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..anchor.output import AnchorOutput
from ..anchor.stage import run_anchor_stages
from ..keypoints.output import AnchorKeypoints
from ..keypoints.registry import make_detector
from ..keypoints.stage import run_keypoint_stage
from ..motion.output import MotionOutput
from ..motion.stage import run_motion_stage
from ..nerf.samplers import SamplerConfig, make_sampler
from ..portable.names import printable
from ..portable.result_v1 import ResultInfo
from ..priors.registry import make_image_prior
from ..video.output import VideoOutput
from ..video.registry import make_video_prior
from ..video.stage import run_video_stage
from .context import StageContext
from .models import hf_cache_dir


def run_anchor(ctx: StageContext, out_dir: Path) -> AnchorOutput:
    """Stages A and B with the image prior of ``ctx.models.image``."""
    prior = make_image_prior(ctx.models.image, device=ctx.device,
                             cache_dir=hf_cache_dir(ctx.request))
    nerf = ctx.preset.anchor.nerf
    # CUDA: nerfacc's occupancy grid (or the dense sampler, with one warning, when no finished
    # build is there: 'anchorhoi doctor' builds it); elsewhere the dense sampler — same image
    sampler = make_sampler(SamplerConfig(kind="auto", box=nerf.box, dense=nerf.sampler),
                           ctx.device, seed=ctx.request.seed)
    # no mesh given: the object is generated from ctx.object_prompt (and handed on as a mesh)
    out = run_anchor_stages(prompt=ctx.request.prompt,
                            obj_mesh=None if ctx.generates_object else ctx.geometry_mesh,
                            object_prompt=ctx.object_prompt, body=ctx.body,
                            config=ctx.preset.anchor, prior=prior, out_dir=out_dir,
                            generator=ctx.generator("anchor"), sampler=sampler,
                            progress=ctx.progress.bind, device=ctx.device)
    return out.hand_off()  # the trained fields stay behind (as in a resumed job)


def run_video(ctx: StageContext, out_dir: Path) -> VideoOutput:
    """Stage C with the video prior of ``ctx.models.video``, from the anchored composition."""
    prior = make_video_prior(ctx.models.video, ctx.preset.video.sampling, device=ctx.device,
                             cache_dir=hf_cache_dir(ctx.request))
    a = ctx.output("anchor", AnchorOutput)
    return run_video_stage(prompt=ctx.request.prompt, key_pose=a.key_pose,
                           obj_mesh=ctx.geometry_mesh, object_placement=a.object_placement,
                           body=ctx.body, config=ctx.preset.video, prior=prior, out_dir=out_dir,
                           generator=ctx.generator("video"), num_frames=ctx.frames, fps=ctx.fps,
                           progress=ctx.progress.bind, device=ctx.device)


def run_keypoints(ctx: StageContext, out_dir: Path) -> AnchorKeypoints:
    """Stage D with the detector of ``ctx.models.detector`` on stage C's frames."""
    v = ctx.output("video", VideoOutput)
    a = ctx.output("anchor", AnchorOutput)
    detector = make_detector(ctx.models.detector, device=ctx.device,
                             cache_dir=hf_cache_dir(ctx.request))
    return run_keypoint_stage(frames=v.video.frames, fps=v.video.fps, camera=v.camera,
                              key_pose=a.key_pose, body=ctx.body, anchor_frame=v.anchor_frame,
                              detector=detector, config=ctx.preset.keypoints, out_dir=out_dir,
                              progress=ctx.progress.bind)


def run_motion(ctx: StageContext, out_dir: Path) -> MotionOutput:
    """Stage E on stage D's keypoints, seen by stage C's camera."""
    a = ctx.output("anchor", AnchorOutput)
    v = ctx.output("video", VideoOutput)
    k = ctx.output("keypoints", AnchorKeypoints)
    name = ctx.object_name
    out = run_motion_stage(keypoints=k.keypoints, camera=v.camera, key_pose=a.key_pose,
                           anchor_frame=v.anchor_frame, obj_mesh=ctx.object_mesh,
                           geometry_mesh=ctx.geometry_mesh,
                           object_placement=a.object_placement, body=ctx.body,
                           config=ctx.preset.motion, fps=ctx.fps, out_dir=out_dir,
                           generator=ctx.generator("motion"), progress=ctx.progress.bind,
                           info=ResultInfo(prompt=ctx.request.prompt, seed=ctx.request.seed,
                                           object_name=name),
                           name=clip_name(ctx.request.prompt), object_name=name)
    colours = ctx.object_mesh.vertex_colors
    if colours is None or out.clip.obj is None:
        return out
    # the result's object carries the mesh's colours (a generated object's are its field's)
    coloured = dataclasses.replace(out, clip=dataclasses.replace(
        out.clip, obj=dataclasses.replace(out.clip.obj, vertex_colors=colours)))
    coloured.save(out_dir)
    return coloured


def clip_name(prompt: str) -> str:
    """The clip's name in Blender: the prompt's words joined by ``_`` (at most 48 chars)."""
    words = [w.strip(".,;:!?\"'") for w in printable(prompt).split()]
    return "_".join(w for w in words if w)[:48] or "AnchorHOI"
