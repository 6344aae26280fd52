"""The bpy-free parts of the game export: the skeleton table, root-motion decomposition, pose
channels from world matrices, clip ranges and retiming."""

from __future__ import annotations

import numpy as np
import pytest

from addon.plan import pose_locals, quaternions, root_motion
from addon.plan.clip_range import ClipRangeError, export_range, retimed, strip_range
from addon.plan.skeleton_map import SKELETONS, bone_names, humanoid_slots, read_table
from addon.portable.skeleton import JOINT_NAMES, PARENTS


def test_every_skeleton_names_every_joint_once():
    for skeleton in SKELETONS:
        names = bone_names(skeleton)
        assert set(names) == {*JOINT_NAMES, "root", "prop"}
        assert len(set(names.values())) == len(names)
        assert names["root"] == "root"


def test_engine_names_avoid_the_smplx_traps():
    ue5, mixamo = bone_names("UE5"), bone_names("MIXAMO")
    assert (ue5["left_hip"], ue5["left_shoulder"], ue5["left_foot"]) == \
        ("thigh_l", "upperarm_l", "ball_l")
    assert (ue5["left_collar"], ue5["left_knee"], ue5["left_ankle"], ue5["right_index1"]) == \
        ("clavicle_l", "calf_l", "foot_l", "index_01_r")
    assert (mixamo["pelvis"], mixamo["left_hip"], mixamo["left_knee"], mixamo["left_foot"],
            mixamo["left_shoulder"], mixamo["left_elbow"]) == \
        ("mixamorig:Hips", "mixamorig:LeftUpLeg", "mixamorig:LeftLeg", "mixamorig:LeftToeBase",
         "mixamorig:LeftArm", "mixamorig:LeftForeArm")


def test_unity_humanoid_gets_its_required_bones():
    required = {"Hips", "Spine", "Head", "LeftUpperLeg", "LeftLowerLeg", "LeftFoot",
                "RightUpperLeg", "RightLowerLeg", "RightFoot", "LeftUpperArm", "LeftLowerArm",
                "LeftHand", "RightUpperArm", "RightLowerArm", "RightHand"}
    for skeleton in SKELETONS:
        slots = humanoid_slots(skeleton)
        assert required <= set(slots.values())
        assert len(set(slots.values())) == len(slots)
    assert humanoid_slots("UE5")["thigh_l"] == "LeftUpperLeg"


def test_an_incomplete_table_is_refused(tmp_path):
    rows = read_table()
    bad = tmp_path / "names.csv"
    keep = [r for r in rows if r["smplx"] != "left_knee"]
    bad.write_text("smplx,ue5,mixamo,unity_humanoid,note\n" + "".join(
        f"{r['smplx']},{r['ue5']},{r['mixamo']},{r['unity_humanoid']},\n" for r in keep))
    with pytest.raises(ValueError, match="left_knee"):
        bone_names("UE5", bad)


def _track(n=20, seed=0):
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)
    yaw = 2.5 * t
    m = np.repeat(np.eye(4)[None], n, axis=0)
    m[:, :3, :3] = root_motion.yaw_matrices(yaw) @ quaternions.to_matrix(
        quaternions.from_axis_angle(rng.normal(scale=0.02, size=(n, 3))))
    m[:, :3, 3] = np.stack([2 * t, np.sin(3 * t), 0.9 + 0.1 * np.sin(5 * t)], axis=1)
    return m, yaw


def test_root_motion_follows_the_ground_projection_and_heading():
    pelvis, yaw = _track()
    rest = np.eye(4)
    root_rest = np.eye(4)
    still = np.repeat(root_rest[None], len(pelvis), axis=0)
    out = root_motion.root_tracks(mode="ROOT_MOTION", pelvis=pelvis, pelvis_rest=rest,
                                  root=still, root_rest=root_rest,
                                  forward=np.array([0.0, -1.0, 0.0]), yaw=True)
    np.testing.assert_allclose(out.root[:, :2, 3], pelvis[:, :2, 3])
    np.testing.assert_allclose(out.root[:, 2, 3], 0.0)
    got = np.arctan2(out.root[:, 1, 0], out.root[:, 0, 0])
    np.testing.assert_allclose(got, yaw, atol=0.05)  # the pelvis wobbles ~0.02 rad
    assert not out.shift.any()
    flat = root_motion.root_tracks(mode="ROOT_MOTION", pelvis=pelvis, pelvis_rest=rest,
                                   root=still, root_rest=root_rest,
                                   forward=np.array([0.0, -1.0, 0.0]), yaw=False)
    np.testing.assert_allclose(flat.root[:, :3, :3], np.eye(3)[None].repeat(len(pelvis), 0))


def test_in_place_keeps_the_pelvis_over_the_still_root_and_as_is_passes_through():
    pelvis, _ = _track()
    root_rest = np.eye(4)
    root_rest[:2, 3] = (0.3, -0.2)
    still = np.repeat(root_rest[None], len(pelvis), axis=0)
    kw = dict(pelvis=pelvis, pelvis_rest=np.eye(4), root=still + 1.0, root_rest=root_rest,
              forward=np.array([0.0, -1.0, 0.0]))
    out = root_motion.root_tracks(mode="IN_PLACE", **kw)
    np.testing.assert_allclose(out.root, still)
    moved = pelvis[:, :3, 3] + out.shift
    np.testing.assert_allclose(moved[:, :2], np.broadcast_to((0.3, -0.2), moved[:, :2].shape))
    np.testing.assert_allclose(moved[:, 2], pelvis[:, 2, 3])  # height untouched
    same = root_motion.root_tracks(mode="AS_IS", **kw)
    np.testing.assert_array_equal(same.root, still + 1.0)
    with pytest.raises(ValueError, match="ROOT_MOTION"):
        root_motion.root_tracks(mode="SIDEWAYS", **kw)


def test_basis_matrices_invert_blenders_pose_composition():
    rng = np.random.default_rng(3)
    j = len(PARENTS)
    rest = np.repeat(np.eye(4)[None], j, axis=0)
    rest[:, :3, :3] = quaternions.to_matrix(quaternions.from_axis_angle(rng.normal(size=(j, 3))))
    rest[:, :3, 3] = rng.normal(size=(j, 3))
    basis = np.repeat(np.eye(4)[None, None], 5, axis=0).repeat(j, axis=1)
    q = rng.normal(size=(5, j, 4))
    basis[..., :3, :3] = quaternions.to_matrix(q)
    basis[..., :3, 3] = rng.normal(scale=0.1, size=(5, j, 3))
    pose = np.empty_like(basis)
    for b, p in enumerate(PARENTS):  # Blender: P_b = P_p · R_p⁻¹ · R_b · L_b
        pose[:, b] = (rest[b] if p < 0 else
                      pose[:, p] @ np.linalg.inv(rest[p]) @ rest[b]) @ basis[:, b]
    got = pose_locals.basis_matrices(pose, rest, list(PARENTS))
    np.testing.assert_allclose(got, basis, atol=1e-9)
    loc, quat = pose_locals.pose_channels(got)
    np.testing.assert_allclose(loc, basis[..., :3, 3], atol=1e-9)
    np.testing.assert_allclose(quaternions.to_matrix(quat), basis[..., :3, :3], atol=1e-9)
    single = np.array([quaternions.from_matrix(m) for m in basis[0, :, :3, :3]])
    np.testing.assert_allclose(pose_locals.matrix_quaternions(basis[0, :, :3, :3]), single,
                               atol=1e-9)
    assert np.all(np.sum(quat[1:] * quat[:-1], axis=-1) >= 0)  # sign-continuous in time


def test_ranges_cover_the_strips_or_are_refused():
    assert strip_range([(1.0, 24.0), (1.0, 24.0)]) == (1, 24)
    assert strip_range([(0.5, 47.0), (3.0, 47.2)]) == (0, 48)
    with pytest.raises(ClipRangeError, match="no NLA strips"):
        strip_range([])
    assert export_range("Lift", (1, 24), None) == (1, 24)
    assert export_range("Lift", (1, 24), (0, 30)) == (0, 30)
    with pytest.raises(ClipRangeError, match=r"does not cover clip 'Lift' \(frames 1–24\)"):
        export_range("Lift", (1, 24), (1, 20))
    with pytest.raises(ClipRangeError, match="empty"):
        export_range("Lift", (1, 24), (10, 5))


def test_retime_scales_about_the_pivot():
    assert retimed(1.0, 24.0, 1.0, 2.0) == (1.0, 47.0)
    assert retimed(11.0, 20.0, 1.0, 0.5) == (6.0, 10.5)
    with pytest.raises(ClipRangeError, match="positive"):
        retimed(1.0, 24.0, 1.0, 0.0)


def test_the_docs_show_the_shipped_table():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "game-export.md").read_text()
    for row in read_table():
        line = (f"| `{row['smplx']}` | `{row['ue5']}` | `{row['mixamo']}` | "
                f"{row['unity_humanoid'] or '—'} |")
        assert line in doc, f"docs/game-export.md lacks the row of {row['smplx']}"
