"""The Blender set-up the Blender benches share: a private user folder, the repository on
``sys.path``, the extension built and installed, and the 3,000-frame bench clip."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def private_blender() -> None:
    """Give Blender a private user folder and put the repository on ``sys.path``; call before
    ``import bpy``."""
    os.environ["BLENDER_USER_RESOURCES"] = tempfile.mkdtemp(prefix="anchorhoi-bench-")
    sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "backend")]


def install_extension() -> None:
    """Build the extension zip from this checkout and install it, enabled, into the user repo."""
    import bpy

    import build

    zip_path = build.build(out_dir=Path(tempfile.mkdtemp()))
    bpy.ops.extensions.package_install_files(filepath=str(zip_path), repo="user_default",
                                             enable_on_install=True)


def write_bench_clip(frames: int) -> Path:
    """A ``frames``-long result folder (procedural body, seeded motion, an animated object)."""
    from helpers.motions import make_motion, make_object

    from anchorhoi.portable import result_v1, smplx_files
    from anchorhoi.portable.motion import MotionClip
    from anchorhoi.portable.procedural_body import build_procedural_model

    motion = make_motion(frames, seed=1)
    rig = smplx_files.rig_from_model(build_procedural_model(), motion.betas)
    folder = Path(tempfile.mkdtemp(prefix="anchorhoi-clip-"))
    result_v1.write_result(folder, MotionClip(motion=motion, rig=rig, obj=make_object(frames),
                                              name="Bench"))
    return folder
