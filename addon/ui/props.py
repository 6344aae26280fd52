"""The add-on's Blender properties: the panel's settings (one PropertyGroup on the Scene) and
the running job's visible state (one PropertyGroup on the WindowManager).

Why the job state is split this way: the live job (``client.generate_run.GenerateRun``: a
child process, its reader thread and queue, the state machine) is a Python object that Blender
properties cannot hold, so it belongs to the one operator run that owns it — an attribute of
the modal operator instance while the modal runs, a local of ``execute`` in EXEC. Nothing
global points at it, so it cannot outlive that run or be shared by two runs. What the panel
draws and what the Cancel button must reach are plain values, so they live in
``WindowManager.anchorhoi_job``: runtime data of this Blender session (one per window manager,
never per scene, not part of the user's scene data), rewritten by every tick. Cancel only sets
``cancel_requested`` there; the owning operator sees it on its next tick and sends the cancel
line itself.
"""

from __future__ import annotations

import bpy

from ..client.generate_run import RunView
from ..client.job_request import GenerateSettings
from ..portable import protocol

PRESET_LABELS = {
    "tiny": ("Tiny", "Random tiny models on the CPU: a pipeline check in minutes, not a real "
             "motion"),
    "draft": ("Draft", "Real models, fewer steps: minutes on one GPU"),
    "standard": ("Standard", "Real models, the paper's settings (GPU)"),
    "high": ("High", "More steps and resolution (a large GPU)"),
}
PRESET_ITEMS = [(name, *PRESET_LABELS[name]) for name in protocol.PRESET_NAMES]


def _is_mesh(self, obj) -> bool:
    return obj.type == "MESH"


class AnchorHOISettings(bpy.types.PropertyGroup):
    """``scene.anchorhoi``: what the next generation asks for."""

    prompt: bpy.props.StringProperty(
        name="Prompt", description="The interaction in a short sentence, e.g. 'a person sits "
        "down on the chair'", default="")
    target: bpy.props.PointerProperty(
        name="Object", type=bpy.types.Object, poll=_is_mesh,
        description="The scene mesh the person interacts with (exported with its world "
        "transform); empty: the backend generates the object from the prompt")
    object_prompt: bpy.props.StringProperty(
        name="Object Prompt", default="",
        description="Words of the object to generate when no object is picked, e.g. 'a wooden "
        "stool'; empty: the object the prompt names")
    duration: bpy.props.FloatProperty(
        name="Duration", description="Length of the clip in seconds", default=2.0, min=0.1,
        max=100.0, step=10, precision=1, subtype="TIME_ABSOLUTE", unit="TIME_ABSOLUTE")
    fps: bpy.props.IntProperty(name="FPS", description="Frames per second of the clip",
                               default=30, min=1, max=120)
    preset: bpy.props.EnumProperty(name="Preset", items=PRESET_ITEMS, default="draft",
                                   description="Quality and time of the generation")
    seed: bpy.props.IntProperty(name="Seed", default=0, min=0,
                                description="Same seed, same prompt, same settings: same result")
    show_history: bpy.props.BoolProperty(name="Job History", default=False,
                                        description="Show the jobs folder's recent jobs")

    def generate_settings(self, prefs) -> GenerateSettings:
        """These settings with the preferences' device, models and folders."""
        models = {"image": prefs.model_image, "video": prefs.model_video,
                  "detector": prefs.model_detector}
        return GenerateSettings(
            prompt=self.prompt, object_prompt=self.object_prompt, preset=self.preset,
            duration_s=self.duration, fps=float(self.fps), seed=self.seed, device=prefs.device,
            models=models,
            smplx_dir=bpy.path.abspath(prefs.smplx_dir) if prefs.smplx_dir.strip() else None,
            cache_dir=bpy.path.abspath(prefs.cache_dir) if prefs.cache_dir.strip() else None)


class AnchorHOIPreviewItem(bpy.types.PropertyGroup):
    path: bpy.props.StringProperty(description="The preview image's file")
    stage: bpy.props.StringProperty(description="The stage that wrote the preview")


class AnchorHOIJobStatus(bpy.types.PropertyGroup):
    """``window_manager.anchorhoi_job``: the visible state of the running (or last) job."""

    running: bpy.props.BoolProperty(default=False, description="A generation is running")
    cancel_requested: bpy.props.BoolProperty(
        default=False, description="Cancel was pressed; the running job stops at its next tick")
    state: bpy.props.StringProperty(default="", description="The job's state")
    text: bpy.props.StringProperty(default="", description="Stage, step and ETA")
    progress: bpy.props.FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR",
                                      description="Share of the job done")
    message: bpy.props.StringProperty(default="", description="How the last job ended")
    job_dir: bpy.props.StringProperty(default="", description="The job's folder")
    resumed: bpy.props.StringProperty(default="", description="Stages the backend skipped")
    object_prompt: bpy.props.StringProperty(
        default="", description="The words the backend generates the object from (empty: the "
        "picked mesh)")
    exit_code: bpy.props.IntProperty(default=0, description="The backend's exit code")
    previews: bpy.props.CollectionProperty(type=AnchorHOIPreviewItem,
                                           description="Preview images as the stages write them")

    def reset(self, job_dir: str = "") -> None:
        self.running, self.cancel_requested = False, False
        self.state, self.text, self.message, self.resumed = "", "", "", ""
        self.object_prompt = ""
        self.progress, self.exit_code = 0.0, 0
        self.job_dir = job_dir
        self.previews.clear()

    def show(self, view: RunView) -> None:
        """Mirror what the panel shows of the running job (called on every tick)."""
        self.state, self.text, self.progress = view.state, view.text, view.progress
        self.resumed, self.object_prompt = view.resumed, view.object_prompt
        for stage, path in view.previews[len(self.previews):]:
            item = self.previews.add()
            item.stage, item.path = stage, path


CLASSES = (AnchorHOISettings, AnchorHOIPreviewItem, AnchorHOIJobStatus)


def register():
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.anchorhoi = bpy.props.PointerProperty(type=AnchorHOISettings)
    bpy.types.WindowManager.anchorhoi_job = bpy.props.PointerProperty(type=AnchorHOIJobStatus)
    bpy.types.WindowManager.anchorhoi_setup_status = bpy.props.StringProperty(default="")


def unregister():
    del bpy.types.WindowManager.anchorhoi_setup_status
    del bpy.types.WindowManager.anchorhoi_job
    del bpy.types.Scene.anchorhoi
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)
