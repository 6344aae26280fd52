"""Add-on preferences (Edit › Preferences › Add-ons › AnchorHOI): the backend and its models."""

from __future__ import annotations

from pathlib import Path

import bpy

from ..client import backend_setup
from ..portable import protocol

ADDON_PACKAGE = __name__.rsplit(".", 2)[0]
"""The add-on's package (``bl_ext.<repository>.anchorhoi`` once installed): this module is
``<package>.ui.preferences``."""

DEVICE_LABELS = {"auto": ("Auto", "The GPU when there is one, else the CPU"),
                 "cuda": ("CUDA GPU", "Fail early when no CUDA GPU is available"),
                 "cpu": ("CPU", "Only the 'tiny' preset is practical on a CPU")}
DEVICE_ITEMS = [(name, *DEVICE_LABELS[name]) for name in protocol.DEVICES]


class AnchorHOIPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON_PACKAGE

    backend_python: bpy.props.StringProperty(
        name="Backend Python", subtype="FILE_PATH", default="",
        description=("The python executable of an environment with the anchorhoi backend "
                     "installed (it is started as '<python> -m anchorhoi serve'). Empty: the "
                     "one made by 'Set Up Backend', if any"))
    device: bpy.props.EnumProperty(name="Device", items=DEVICE_ITEMS, default="auto",
                                   description="Where the backend runs the models")
    model_image: bpy.props.StringProperty(
        name="Image Model", default="",
        description="Hub id or local folder of the image diffusion model; empty: the default")
    model_video: bpy.props.StringProperty(
        name="Video Model", default="",
        description="Hub id or local folder of the video diffusion model; empty: the default")
    model_detector: bpy.props.StringProperty(
        name="Keypoint Detector", default="",
        description="Name of the 2D keypoint detector; empty: the default")
    smplx_dir: bpy.props.StringProperty(
        name="SMPL-X folder",
        description=("Folder with the official SMPLX_NEUTRAL/MALE/FEMALE.npz files (licensed, "
                     "download them from the SMPL-X website). Empty: the bundled procedural body"),
        subtype="DIR_PATH",
        default="",
    )
    cache_dir: bpy.props.StringProperty(
        name="Model Cache", subtype="DIR_PATH", default="",
        description="Where downloaded model weights are kept; empty: the Hugging Face default "
                    "(~/.cache/huggingface)")
    jobs_dir: bpy.props.StringProperty(
        name="Jobs Folder", subtype="DIR_PATH", default="",
        description="Where each generation gets its folder; empty: 'jobs' in the extension's "
                    "user folder")
    backend_source: bpy.props.StringProperty(
        name="Backend Package", default=backend_setup.DEFAULT_BACKEND_SPEC,
        description="What 'Set Up Backend' installs with pip: empty for the backend bundled "
                    "with this extension, or a requirement, a wheel, or a folder with the "
                    "backend's source")
    setup_torch: bpy.props.EnumProperty(
        name="Torch Build", default="cuda",
        description="Which torch build the backend set-up installs",
        items=[("cuda", "CUDA", "For an NVIDIA GPU (about 2.5–5 GB)"),
               ("cpu", "CPU only", "About 200 MB; only the 'tiny' preset is practical")])

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "backend_python")
        interpreter = resolved_backend_python(self)
        if interpreter:
            col.label(text=f"Backend: {interpreter}", icon="CHECKMARK")
        else:
            col.label(text="No backend yet: set 'Backend Python' or set one up below.",
                      icon="ERROR")
        col.prop(self, "device")
        box = col.box()
        box.label(text="Models (empty: the backend's defaults)")
        box.prop(self, "model_image")
        box.prop(self, "model_video")
        box.prop(self, "model_detector")
        col.prop(self, "smplx_dir")
        if not self.smplx_dir:
            col.label(text="No SMPL-X folder: motions play on the procedural body.", icon="INFO")
        col.prop(self, "cache_dir")
        col.prop(self, "jobs_dir")
        col.label(text=f"Jobs: {jobs_folder(self)}")
        box = col.box()
        box.label(text="One-click backend set-up (a virtual environment in the extension's "
                       "user folder)")
        for line in backend_setup.summary_lines(self.setup_torch):
            box.label(text=line)
        box.prop(self, "backend_source")
        box.prop(self, "setup_torch")
        row = box.row()
        row.enabled = bool(bpy.app.online_access)
        row.operator("anchorhoi.setup_backend", icon="IMPORT")
        if not bpy.app.online_access:
            box.label(text="Online access is off (Preferences › System › Network): the set-up "
                           "cannot download.", icon="LOCKED")
        status = context.window_manager.anchorhoi_setup_status
        if status:
            box.label(text=status)


def user_folder() -> Path:
    return Path(bpy.utils.extension_path_user(ADDON_PACKAGE, create=True))


def jobs_folder(prefs) -> Path:
    if prefs.jobs_dir.strip():
        return Path(bpy.path.abspath(prefs.jobs_dir.strip()))
    return user_folder() / "jobs"


def resolved_backend_python(prefs) -> str:
    """The interpreter to start: the preference, else the set-up venv's if it exists."""
    if prefs.backend_python.strip():
        return bpy.path.abspath(prefs.backend_python.strip())
    venv = backend_setup.venv_python(user_folder() / backend_setup.VENV_NAME)
    return str(venv) if venv.is_file() else ""


def get(context) -> AnchorHOIPreferences:
    return context.preferences.addons[ADDON_PACKAGE].preferences
