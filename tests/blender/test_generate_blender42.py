"""Generate Interaction on a real Blender 4.2 (the oldest supported), in its own interpreter:
the extension registers its panel, properties and operators there, a broken backend is
reported, and a result is imported and placed. Skipped without ``ANCHORHOI_BPY42_PYTHON``
(see test_blender42_legacy.py)."""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest
from helpers.broken_backend import fake_interpreter
from helpers.motions import make_motion, make_object

PYTHON42 = os.environ.get("ANCHORHOI_BPY42_PYTHON")
pytestmark = [pytest.mark.blender, pytest.mark.slow]


@pytest.mark.skipif(not PYTHON42, reason="ANCHORHOI_BPY42_PYTHON (a bpy 4.2 interpreter) not set")
def test_generate_on_blender_42(tmp_path, extension_zip):
    from anchorhoi.body import BodyModel
    from anchorhoi.portable import result_v1
    from anchorhoi.portable.motion import MotionClip

    motion = make_motion(12, fps=8.0)
    result_v1.write_result(tmp_path / "template", MotionClip(
        motion=motion, rig=BodyModel().rig(motion.betas), obj=make_object(12), name="Sit"))
    broken, working = (fake_interpreter(tmp_path, m) for m in ("sigkill", "garbage_mixed"))
    script = textwrap.dedent(f"""
        import bpy
        assert bpy.app.version < (4, 4, 0), bpy.app.version
        bpy.ops.extensions.package_install_files(filepath={str(extension_zip)!r},
            repo="user_default", enable_on_install=True)
        bpy.ops.wm.read_homefile(use_empty=True)
        prefs = bpy.context.preferences.addons["bl_ext.user_default.anchorhoi"].preferences
        prefs.jobs_dir = {str(tmp_path / "jobs")!r}
        bpy.ops.mesh.primitive_cube_add(size=0.5)
        s = bpy.context.scene.anchorhoi
        s.prompt, s.target = "a person sits on the box", bpy.context.active_object
        prefs.backend_python = {str(broken)!r}
        try:
            bpy.ops.anchorhoi.generate()
            raise SystemExit("a killed backend must be reported")
        except RuntimeError as exc:
            assert "killed by SIGKILL" in str(exc), exc
        assert sorted(o.name for o in bpy.data.objects) == ["Cube"]
        prefs.backend_python = {str(working)!r}
        assert bpy.ops.anchorhoi.generate() == {{"FINISHED"}}
        print("OBJECTS", sorted(o.name for o in bpy.data.objects))
    """)
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"),
               FAKE_RESULT_TEMPLATE=str(tmp_path / "template"))
    proc = subprocess.run([PYTHON42, "-c", script], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert "OBJECTS ['Box', 'Cube', 'Sit', 'Sit_body']" in proc.stdout
