"""Deterministic test motions with the hard cases: rotations through π (axis-angle wrapping,
so quaternion signs flip between frames), large root turns, moving hands and an object."""

from __future__ import annotations

import numpy as np

from anchorhoi.portable.motion import ObjectTrack, SmplxMotion


def wrap_axis_angle(aa: np.ndarray) -> np.ndarray:
    """The same rotations with angles in [0, π] (how most files store them)."""
    theta = np.linalg.norm(aa, axis=-1, keepdims=True)
    axis = aa / np.maximum(theta, 1e-12)
    wrapped = np.mod(theta + np.pi, 2 * np.pi) - np.pi  # (-π, π]
    return axis * wrapped


def make_motion(num_frames: int = 40, fps: float = 30.0, seed: int = 0) -> SmplxMotion:
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, num_frames)[:, None]
    # Root turns 1.9 turns about Y (up): passes π several times.
    root = wrap_axis_angle(np.concatenate([0.2 * np.sin(3 * t), 1.9 * 2 * np.pi * t,
                                           0.1 * t], axis=1))
    amp, phase = rng.uniform(0.1, 0.6, size=(1, 63)), rng.uniform(0, 6.28, size=(1, 63))
    body = amp * np.sin(2 * np.pi * t + phase)
    body[:, 3 * 3 + 0] = 2.9 + 0.4 * t[:, 0]  # left knee (joint 4) bends through π
    body = np.concatenate([wrap_axis_angle(body[:, 3 * i:3 * i + 3]) for i in range(21)], axis=1)
    hand = 0.4 * np.sin(4 * np.pi * t + rng.uniform(0, 6.28, size=(1, 90)))
    return SmplxMotion(
        trans=np.concatenate([0.5 * t, 0.9 + 0.05 * np.sin(6 * t), -0.3 * t], axis=1),
        root_orient=root, pose_body=body, pose_hand=hand,
        pose_jaw=0.1 * np.sin(5 * t) * np.array([[1.0, 0.0, 0.0]]),
        pose_eye=np.zeros((num_frames, 6)), betas=rng.normal(scale=0.5, size=10),
        gender="neutral", fps=fps)


def make_object(num_frames: int = 40) -> ObjectTrack:
    """A 40 cm box that rises and spins through π about a tilted axis."""
    t = np.linspace(0.0, 1.0, num_frames)
    axis = np.array([0.3, 0.9, 0.1]) / np.linalg.norm([0.3, 0.9, 0.1])
    angle = 1.5 * 2 * np.pi * t
    rot = np.concatenate([np.cos(angle / 2)[:, None], np.sin(angle / 2)[:, None] * axis], axis=1)
    rot[num_frames // 2:] *= -1  # a deliberate sign flip in the stored quaternions
    v = 0.2 * np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], float)
    f = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                  [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    trans = np.stack([0.4 + 0 * t, 0.2 + 0.8 * t, 0.3 * np.sin(3 * t)], axis=1)
    return ObjectTrack(name="Box", vertices=v, faces=f, trans=trans, rot=rot)


def standing_amass(body, num_frames: int = 20, fps: float = 60.0,
                   rate_key: str = "mocap_frame_rate", seed: int = 0, knee_bend: float = 0.0
                   ) -> tuple[dict[str, np.ndarray], SmplxMotion]:
    """A standing, slowly turning and swaying person as a real AMASS SMPL-X (stageii) file holds
    it: Z up (root_orient = yaw about Z after +90° about X), trans = (x, y, ≈0.9) put so the
    soles touch z = 0 (from ``body``, a ``BodyModel``), float64 arrays, 16 betas, the packed
    ``poses (T, 165)`` beside the split keys, the frame rate under ``rate_key``."""
    import torch

    from anchorhoi.portable.kinematics import axis_angle_to_matrix, matrix_to_axis_angle

    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, num_frames)
    yaw = 0.8 * t + 0.3
    stand = axis_angle_to_matrix(np.array([np.pi / 2, 0.0, 0.0]))
    turn = axis_angle_to_matrix(yaw[:, None] * np.array([0.0, 0.0, 1.0]))
    root = matrix_to_axis_angle(turn @ stand)
    body_pose = 0.08 * np.sin(2 * np.pi * t[:, None] + rng.uniform(0, 6.28, size=(1, 63)))
    body_pose[:, 0:6] = 0.0  # hips straight: both feet on the floor
    body_pose[:, 9:15] = 0.0  # knees
    body_pose[:, 18:24] = 0.0  # ankles
    body_pose[:, 27:33] = 0.0  # feet
    body_pose[:, [0, 3]] = -0.5 * knee_bend  # hips flex, knees bend, ankles level the feet
    body_pose[:, [9, 12]] = knee_bend
    body_pose[:, [18, 21]] = -0.5 * knee_bend
    betas = np.concatenate([rng.normal(scale=0.5, size=10), np.zeros(6)])
    motion = SmplxMotion(trans=np.zeros((num_frames, 3)), root_orient=root, pose_body=body_pose,
                         pose_hand=np.zeros((num_frames, 90)), pose_jaw=np.zeros((num_frames, 3)),
                         pose_eye=np.zeros((num_frames, 6)), betas=betas[:10], fps=fps)
    with torch.no_grad():
        lowest = body.forward_motion(motion).vertices.double().numpy()[..., 2].min(axis=1)
    trans = np.stack([0.4 + 0.3 * t, -0.2 + 0.1 * t, -lowest], axis=1)
    motion = SmplxMotion(trans=trans, root_orient=root, pose_body=body_pose,
                         pose_hand=motion.pose_hand, pose_jaw=motion.pose_jaw,
                         pose_eye=motion.pose_eye, betas=betas[:10], fps=fps)
    poses = np.concatenate([root, body_pose, motion.pose_jaw, motion.pose_eye,
                            motion.pose_hand], axis=1)
    arrays = {
        "gender": np.array("neutral"), "surface_model_type": np.array("smplx"),
        rate_key: np.array(fps), "mocap_time_length": np.array(num_frames / fps),
        "trans": trans, "poses": poses, "betas": betas, "num_betas": np.array(16),
        "root_orient": root, "pose_body": body_pose, "pose_hand": motion.pose_hand,
        "pose_jaw": motion.pose_jaw, "pose_eye": motion.pose_eye,
    }
    return arrays, motion
