"""The legacy (pre-4.4) F-curve path on a real Blender 4.2, in its own interpreter.

The suite's ``bpy`` is 5.0 (slotted actions). Set ``ANCHORHOI_BPY42_PYTHON`` to a Python 3.11
with ``bpy==4.2.*`` installed (``python3.11 -m venv v42 && v42/bin/pip install "bpy==4.2.*"``)
to run this; without it the test is skipped.
"""

from __future__ import annotations

import os
import subprocess
import textwrap

import numpy as np
import pytest
import torch
from helpers.motions import make_motion, make_object

from anchorhoi.body import BodyModel
from anchorhoi.portable import result_v1
from anchorhoi.portable.motion import MotionClip
from anchorhoi.portable.skeleton import JOINT_NAMES

PYTHON42 = os.environ.get("ANCHORHOI_BPY42_PYTHON")
pytestmark = [pytest.mark.blender, pytest.mark.slow]


@pytest.mark.skipif(not PYTHON42, reason="ANCHORHOI_BPY42_PYTHON (a bpy 4.2 interpreter) not set")
def test_import_reduce_export_on_blender_42(tmp_path, extension_zip):
    body = BodyModel(dtype=torch.float64)
    motion = make_motion(20)
    result_v1.write_result(tmp_path / "job", MotionClip(
        motion=motion, rig=body.rig(motion.betas), obj=make_object(20), name="Leg"))
    c = np.array([[1.0, 0, 0], [0, 0, -1.0], [0, 1.0, 0]])
    np.save(tmp_path / "want.npy", body.forward_motion(motion).joints.numpy() @ c.T)
    script = textwrap.dedent(f"""
        import numpy as np, bpy
        assert bpy.app.version < (4, 4, 0), bpy.app.version
        bpy.ops.extensions.package_install_files(filepath={str(extension_zip)!r},
            repo="user_default", enable_on_install=True)
        bpy.ops.wm.read_homefile(use_empty=True)
        bpy.ops.anchorhoi.import_motion(filepath={str(tmp_path / "job")!r})
        arm = bpy.data.objects["Leg"]
        want = np.load({str(tmp_path / "want.npy")!r})
        err = 0.0
        for f in range(1, 21):
            bpy.context.scene.frame_set(f)
            m = np.array(arm.matrix_world)
            got = np.array([m[:3, :3] @ np.array(arm.pose.bones[n].head) + m[:3, 3]
                            for n in {list(JOINT_NAMES)!r}])
            err = max(err, float(np.abs(got - want[f - 1]).max()))
        action = arm.animation_data.nla_tracks[0].strips[0].action
        bpy.context.view_layer.objects.active = arm
        bpy.ops.anchorhoi.reduce_keys()
        bpy.ops.anchorhoi.export_fbx(filepath={str(tmp_path / "leg.fbx")!r}, target="UNITY")
        # a batch folder without batch.json: its job folder "job" becomes the clip "job"
        assert bpy.ops.anchorhoi.import_batch(directory={str(tmp_path)!r}) == {{"FINISHED"}}
        assert bpy.data.objects["job"].animation_data.nla_tracks[0].strips[0].name == "job"
        print("RESULT", err, len(action.fcurves))
    """)
    env = dict(os.environ, BLENDER_USER_RESOURCES=str(tmp_path / "user"))
    proc = subprocess.run([PYTHON42, "-c", script], capture_output=True, text=True, env=env,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RESULT"))
    _, err, curves = line.split()
    assert float(err) < 1e-3 and int(curves) == 55 * 4 + 3 + 4
    assert (tmp_path / "leg.fbx").is_file()
